//! A complete, valid draft to start each test from.

use chrono::DateTime;
use fieldlead_domain::{BusinessRole, GeoPoint, Ground, OutcomeKind, RecordDraft};

pub fn valid_draft() -> RecordDraft {
    RecordDraft {
        sending_unit: "重庆市某某质量检验检测研究院".into(),
        task_year: Some(2026),
        task_name: "2026年重庆市电线电缆产品质量监督抽查".into(),
        task_number: "CQ-2026-017".into(),
        product_category: "电线电缆".into(),
        business_name: "重庆某某五金经营部".into(),
        business_uscc: "914403001922038216".into(),
        business_address: "重庆市渝中区解放碑民族路 88 号".into(),
        business_person: "张三".into(),
        business_phone: "023-6380 1234".into(),
        business_role: Some(BusinessRole::Seller),
        product_name: "聚氯乙烯绝缘电线".into(),
        product_brand: String::new(),
        product_spec_model: "BV 2.5mm²".into(),
        product_batch: "2026-09".into(),
        producer_none: true,
        sampler1_name: "李四".into(),
        sampler1_credential: "CQ50001234".into(),
        sampler2_name: "王五".into(),
        sampler2_credential: "CQ50005678".into(),
        place_address: "重庆市渝中区解放碑民族路 88 号门市".into(),
        place_gps: Some(GeoPoint::new(295_630_000, 1_065_510_000).unwrap()),
        started_at: Some(DateTime::parse_from_rfc3339("2026-11-20T10:15:00+08:00").unwrap()),
        outcome: Some(OutcomeKind::Terminated),
        grounds: vec![Ground::NoFactoryAddress, Ground::NoFactoryName],
        situation: "货架上的电线无厂名厂址，经营者无法提供进货票据。".into(),
        ..RecordDraft::default()
    }
}
