//! The 后处理 documents of the notice, 附件1 to 附件5: 结果通知书, 复检机构确定通知书,
//! 不予复检通知书, 复检结果通知书 and 责令改正通知书. The bureau fills a
//! [`NoticeData`] from the case, the result and its own settings; the officer can
//! change the free-text parts before issuing. A preview prints 预览 across every
//! page and no number; an issued document carries its 编号 and a QR code that
//! names the document and the hash of the data it was printed from.

use chrono::NaiveDate;
use fieldlead_domain::inspection::BusinessKind;
use fieldlead_domain::postprocess::{Document, RectificationAnchor, Verdict};
use fieldlead_domain::Sha256;
use serde::{Deserialize, Serialize};

/// The product and parties as the result reported them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeProduct {
    pub product_name: String,
    pub brand: Option<String>,
    pub spec_model: Option<String>,
    /// 生产日期或批号.
    pub batch: Option<String>,
    /// 受检单位.
    pub business_name: String,
    pub business_kind: BusinessKind,
    /// 生产单位 / 标称生产厂家.
    pub producer_name: Option<String>,
    /// 电子商务平台.
    pub platform: Option<String>,
    /// 检验报告编号.
    pub report_no: String,
    /// 不合格项目.
    pub failed_items: Option<String>,
}

/// A contact block: the bureau's (异议受理, 联系人) or the re-inspection agency's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoticeContact {
    /// The unit's name (复检机构名称 for an agency; unused for the bureau).
    pub name: Option<String>,
    /// 联系人.
    pub person: Option<String>,
    /// 联系电话.
    pub phone: Option<String>,
    /// 联系地址 / 异议材料寄送地址.
    pub address: Option<String>,
    /// 邮政编码.
    pub postcode: Option<String>,
}

/// Where a decision may be appealed (附件3 and 附件5): 行政复议 to a people's
/// government or a department, 行政诉讼 before a court.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoticeAppeal {
    /// e.g. 重庆市 (for "重庆市人民政府").
    pub government: Option<String>,
    /// e.g. 国家市场监督管理总局.
    pub department: Option<String>,
    /// e.g. 重庆市渝中区人民法院.
    pub court: Option<String>,
}

/// Everything one of 附件1 to 附件5 prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeData {
    pub document: Document,
    /// The issuing bureau as it heads the document and signs it, e.g.
    /// 重庆市市场监督管理局 or 重庆市渝中区市场监督管理局.
    pub issuer: String,
    /// Who the document is addressed to (受检单位, 标称生产厂家 or the applicant).
    pub addressee: String,
    /// 任务: the spot-check the sample belongs to, e.g. 2026年重庆市产品质量监督抽查.
    pub task: String,
    /// The year of the spot check (附件2/3: "在 年 产品质量监督抽查工作中").
    pub year: i32,
    pub product: NoticeProduct,
    /// 附件1: the first result; 附件4: the re-inspection's 复检结论.
    pub verdict: Verdict,
    /// 附件2/3: the testing institute the bureau commissioned (我局委托…（机构）).
    pub institute: Option<String>,
    /// 附件2/4: the re-inspection agency and its contact.
    pub agency: Option<NoticeContact>,
    /// 附件4: when the bureau commissioned the re-inspection.
    pub commissioned_on: Option<NaiveDate>,
    /// 附件3: 经调查… (the facts, ending before "不符合复检条件").
    pub refusal_grounds: Option<String>,
    /// 附件5: 改正内容及要求.
    pub rectification: Option<String>,
    /// 附件5: which day its 60 and 75 days run from, printed in its own words.
    pub anchor: RectificationAnchor,
    /// The bureau's contact: 附件1 异议受理联系电话 and 异议材料寄送地址; 附件4/5 联系人.
    pub contact: NoticeContact,
    pub appeal: NoticeAppeal,
    /// 抄送.
    pub cc: Option<String>,
    /// The document's date (落款日期).
    pub date: NaiveDate,
}

/// How a notice is printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeSeal {
    /// Before issuing: 预览 across every page, no number, no QR code.
    Preview,
    /// Issued: its 编号 and the QR code binding the paper to the record.
    Issued {
        number: String,
        /// The bureau's id of the issued document.
        document_id: String,
        /// SHA-256 of the canonical JSON of the [`NoticeData`] it was printed from.
        data_sha256: Sha256,
    },
}
