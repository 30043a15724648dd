//! A filled 后处理 document for tests and examples (the `sample` feature): a
//! failed 电热水壶 sampled from a seller's shop on a platform, every field set.

use chrono::NaiveDate;
use fieldlead_domain::inspection::BusinessKind;
use fieldlead_domain::postprocess::{Document, RectificationAnchor, Verdict};

use crate::{NoticeAppeal, NoticeContact, NoticeData, NoticeProduct};

/// The document `document` of the sample case, every field filled.
pub fn notice(document: Document) -> NoticeData {
    NoticeData {
        document,
        issuer: "重庆市渝中区市场监督管理局".into(),
        addressee: "重庆渝中区顺达五金电器经营部".into(),
        task: "2026年重庆市产品质量监督抽查".into(),
        year: 2026,
        product: NoticeProduct {
            product_name: "多功能电热水壶".into(),
            brand: Some("美厨乐".into()),
            spec_model: Some("MK-1788 1.8L 220V~ 1500W".into()),
            batch: Some("20251108".into()),
            business_name: "重庆渝中区顺达五金电器经营部".into(),
            business_kind: BusinessKind::PlatformSeller,
            producer_name: Some("佛山市顺德区美厨乐电器有限公司".into()),
            platform: Some("山城优选商城".into()),
            report_no: "CQ2026-0001".into(),
            failed_items: Some("泄漏电流和电气强度；标志和说明".into()),
        },
        verdict: Verdict::Fail,
        institute: Some("重庆市计量质量检测研究院".into()),
        agency: Some(NoticeContact {
            name: Some("国家电器产品质量检验检测中心（广东）".into()),
            person: Some("陈立新".into()),
            phone: Some("020-87654321".into()),
            address: Some("广东省广州市黄埔区科学大道288号".into()),
            postcode: Some("510663".into()),
        }),
        commissioned_on: NaiveDate::from_ymd_opt(2026, 2, 16),
        refusal_grounds: Some("你单位提出复检申请时已超过收到检验结果之日起十五日的期限".into()),
        rectification: Some(
            "立即停止销售该批次电热水壶，对库存产品下架封存，查明进货来源并向我局书面报告整改情况"
                .into(),
        ),
        anchor: RectificationAnchor::Served,
        contact: NoticeContact {
            name: None,
            person: Some("刘晓红".into()),
            phone: Some("023-63700123".into()),
            address: Some("重庆市渝中区中山一路218号质量监督科".into()),
            postcode: Some("400013".into()),
        },
        appeal: NoticeAppeal {
            government: Some("重庆市渝中区".into()),
            department: Some("重庆市市场监督管理局".into()),
            court: Some("重庆市渝中区人民法院".into()),
        },
        cc: Some("重庆市市场监督管理局质量监督处".into()),
        date: NaiveDate::from_ymd_opt(2026, 3, 5).unwrap(),
    }
}
