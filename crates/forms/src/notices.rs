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
use serde_json::{json, Value};

use crate::error::FormError;
use crate::fonts::FontChoice;
use crate::qr::qr_svg;
use crate::text::{breakable, date};

mod check;
#[cfg(test)]
mod tests;

pub(crate) use check::check;

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

const QR_PREFIX: &str = "FIELDLEAD:DOC:";
const QR_DATA: &str = ":DATA:";

/// The longest document id a QR code carries.
const MAX_DOCUMENT_ID_CHARS: usize = 64;

/// The text in an issued notice's QR code: the document id and the hash of the
/// data it was printed from, `FIELDLEAD:DOC:<document id>:DATA:<64 hex>`. Upper
/// case, like [`qr_payload`](crate::qr_payload), for the QR alphanumeric mode;
/// document ids are therefore read back in lower case (the bureau's document ids
/// are lower-case UUIDs).
pub fn notice_qr_payload(document_id: &str, data_sha256: &Sha256) -> String {
    format!("{QR_PREFIX}{document_id}{QR_DATA}{}", data_sha256.to_hex()).to_uppercase()
}

/// Reads a scanned notice QR text back into the document id (lower case) and the
/// data hash; `None` for anything else, a transfer form's code included.
pub fn parse_notice_qr_payload(text: &str) -> Option<(String, Sha256)> {
    let text = text.trim().to_uppercase();
    let rest = text.strip_prefix(QR_PREFIX)?;
    let (id, hash) = rest.split_once(QR_DATA)?;
    if !is_document_id(id) {
        return None;
    }
    Some((id.to_lowercase(), hash.to_lowercase().parse().ok()?))
}

/// Letters, digits and hyphens: what a QR code's alphanumeric mode holds and what
/// survives the round trip through upper case.
fn is_document_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_DOCUMENT_ID_CHARS
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// SHA-256 of the RFC 8785 canonical JSON of the data, as
/// [`NoticeSeal::Issued::data_sha256`](NoticeSeal::Issued) records it: the same
/// data gives the same hash on every machine, whatever the field order.
pub fn notice_data_sha256(data: &NoticeData) -> Sha256 {
    fieldlead_domain::canonical_hash(data)
        .expect("NoticeData holds only strings, dates, integers and names: it always canonicalises")
}

/// The template that prints a document.
pub(crate) fn template(document: Document) -> &'static str {
    match document {
        Document::ResultNotice => "notice_1.typ",
        Document::ReinspectionAgency => "notice_2.typ",
        Document::NoReinspection => "notice_3.typ",
        Document::ReinspectionResult => "notice_4.typ",
        Document::RectificationOrder => "notice_5.typ",
    }
}

pub(crate) struct Prepared {
    pub data: Value,
    pub files: Vec<(String, Vec<u8>)>,
    /// The PDF's identifier: the document id, or a preview's.
    pub ident: String,
}

/// Checks the data (see [`check`]) and formats everything the template prints.
pub(crate) fn prepare(
    data: &NoticeData,
    seal: &NoticeSeal,
    fonts: &FontChoice,
) -> Result<Prepared, FormError> {
    check(data, seal)?;
    let mut files = Vec::new();
    let (number, qr, document_id, ident) = match seal {
        NoticeSeal::Preview => (
            None,
            None,
            None,
            format!("preview-{}", data.document.as_str()),
        ),
        NoticeSeal::Issued {
            number,
            document_id,
            data_sha256,
        } => {
            files.push((
                "/qr.svg".to_string(),
                qr_svg(&notice_qr_payload(document_id, data_sha256))?,
            ));
            (
                Some(breakable(number.trim())),
                Some("/qr.svg"),
                Some(document_id.clone()),
                document_id.clone(),
            )
        }
    };
    let p = &data.product;
    let agency = data.agency.clone().unwrap_or_default();
    let contact = |c: &NoticeContact| {
        json!({
            "name": shown(c.name.as_deref()),
            "person": shown(c.person.as_deref()),
            "phone": shown(c.phone.as_deref()),
            "address": shown(c.address.as_deref()),
            "postcode": shown(c.postcode.as_deref()),
        })
    };
    let value = json!({
        "fonts": fonts,
        "document": data.document.as_str(),
        "preview": matches!(seal, NoticeSeal::Preview),
        "number": number,
        "qr": qr,
        "document_id": document_id,
        "issuer": breakable(data.issuer.trim()),
        "addressee": breakable(data.addressee.trim()),
        "task_phrase": breakable(&task_phrase(data.year, &data.task)),
        "kind": kind(data),
        "verdict": match data.verdict {
            Verdict::Pass => "合格",
            Verdict::Fail => "不合格",
        },
        "product": {
            "name": breakable(p.product_name.trim()),
            "brand": shown(p.brand.as_deref()),
            "spec_model": shown(p.spec_model.as_deref()),
            "batch": shown(p.batch.as_deref()),
            "business_name": shown(Some(&p.business_name)),
            "producer_name": shown(p.producer_name.as_deref()),
            "platform": shown(p.platform.as_deref()),
            "platform_applies": p.business_kind == BusinessKind::PlatformSeller || p.platform.is_some(),
            "report_no": breakable(p.report_no.trim()),
            "failed_items": shown(p.failed_items.as_deref()),
        },
        "institute": shown(data.institute.as_deref()),
        "agency": contact(&agency),
        "commissioned_on": data.commissioned_on.as_ref().map(date),
        "refusal_grounds": data.refusal_grounds.as_deref().map(|g| breakable(&refusal_grounds(g))),
        "rectification": shown(data.rectification.as_deref()),
        "anchor": match data.anchor {
            RectificationAnchor::Served => "served",
            RectificationAnchor::Ordered => "ordered",
        },
        "reports_to_city": reports_to_city(&data.issuer),
        "contact": contact(&data.contact),
        "appeal": {
            "government": data.appeal.government.as_deref().and_then(|g| named(g, "人民政府")),
            "department": shown(data.appeal.department.as_deref()),
            "court": data.appeal.court.as_deref().and_then(|c| named(c, "法院")),
        },
        "cc": shown(data.cc.as_deref()),
        "date": date(&data.date),
    });
    Ok(Prepared {
        data: value,
        files,
        ident,
    })
}

/// A value as printed: trimmed, breakable; `None` (a blank line) when empty.
fn shown(v: Option<&str>) -> Option<String> {
    v.map(str::trim).filter(|s| !s.is_empty()).map(breakable)
}

/// A body's full name: "重庆市" and "重庆市人民政府" both print as 重庆市人民政府.
fn named(v: &str, suffix: &str) -> Option<String> {
    let v = v.trim();
    match v {
        "" => None,
        v if v.ends_with(suffix) => Some(breakable(v)),
        v => Some(breakable(&format!("{v}{suffix}"))),
    }
}

/// "生产" or "销售", for "你单位生产（销售）的产品". A seller's sample is the
/// nominal producer's product too: a notice addressed to that producer says 生产.
fn kind(data: &NoticeData) -> &'static str {
    let p = &data.product;
    let addressee = data.addressee.trim();
    let to_producer = p.producer_name.as_deref().map(str::trim) == Some(addressee)
        && p.business_name.trim() != addressee;
    if p.business_kind == BusinessKind::Producer || to_producer {
        "生产"
    } else {
        "销售"
    }
}

/// The spot check as the notice names it in "根据2020年产品质量监督抽查工作部署"
/// and "在 年 产品质量监督抽查工作中": the year, then the task without a year of
/// its own, ending in 抽查.
fn task_phrase(year: i32, task: &str) -> String {
    let t = task.trim();
    let rest = t
        .strip_prefix(&format!("{year}年度"))
        .or_else(|| t.strip_prefix(&format!("{year}年")))
        .unwrap_or(t)
        .trim();
    if rest.ends_with("抽查") {
        format!("{year}年{rest}")
    } else {
        format!("{year}年{rest}产品质量监督抽查")
    }
}

/// 附件3's facts as they fit "经调查，…，不符合复检条件。": without a leading
/// 经调查, a closing 不符合复检条件 or closing punctuation the officer typed.
fn refusal_grounds(g: &str) -> String {
    const END: &[char] = &['。', '，', '；', ',', '.', ';', ' ', '\n', '\t'];
    let g = g.trim();
    let g = ["经调查，", "经调查,", "经调查"]
        .iter()
        .find_map(|p| g.strip_prefix(p))
        .unwrap_or(g);
    let g = g.trim_end_matches(END);
    let g = g
        .strip_suffix("不符合复检条件")
        .or_else(|| g.strip_suffix("不具备复检条件"))
        .unwrap_or(g);
    g.trim_end_matches(END).trim().to_string()
}

/// A district or county bureau reports a product still failing to the city,
/// which publishes it: 附件5's "（上报市局）". The city's own order does not.
fn reports_to_city(issuer: &str) -> bool {
    issuer.contains('区') || issuer.contains('县')
}
