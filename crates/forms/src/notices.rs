//! The 后处理 documents of the notice, 附件1 to 附件5: 结果通知书, 复检机构确定通知书,
//! 不予复检通知书, 复检结果通知书 and 责令改正通知书. The bureau fills a
//! [`NoticeData`] from the case, the result and its own settings; the officer can
//! change the free-text parts before issuing. A preview prints 预览 across every
//! page and no number; an issued document carries its 编号 and a QR code that
//! names the document and the hash of the data it was printed from.

use chrono::NaiveDate;
use fieldlead_domain::inspection::BusinessKind;
use fieldlead_domain::postprocess::{Document, RectificationAnchor, Verdict};
use fieldlead_domain::text::{is_forbidden_char, text_problems};
use fieldlead_domain::Sha256;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::FormError;
use crate::fonts::FontChoice;
use crate::qr::qr_svg;
use crate::text::{breakable, date};

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
/// Names, addresses, the task, the appeal bodies.
const MAX_LINE_CHARS: usize = 200;
/// Numbers, phones, postcodes.
const MAX_CODE_CHARS: usize = 64;
/// Free text: 不合格项目, 不予复检的理由, 改正内容及要求, 抄送.
const MAX_FREE_CHARS: usize = 2000;
/// The spot-check years a notice may name.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

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

/// The template that prints a document, and its annex number.
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
            "name": shown(&c.name),
            "person": shown(&c.person),
            "phone": shown(&c.phone),
            "address": shown(&c.address),
            "postcode": shown(&c.postcode),
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
            "brand": shown(&p.brand),
            "spec_model": shown(&p.spec_model),
            "batch": shown(&p.batch),
            "business_name": shown(&Some(p.business_name.clone())),
            "producer_name": shown(&p.producer_name),
            "platform": shown(&p.platform),
            "platform_applies": p.business_kind == BusinessKind::PlatformSeller || p.platform.is_some(),
            "report_no": breakable(p.report_no.trim()),
            "failed_items": shown(&p.failed_items),
        },
        "institute": shown(&data.institute),
        "agency": contact(&agency),
        "commissioned_on": data.commissioned_on.as_ref().map(date),
        "refusal_grounds": data.refusal_grounds.as_deref().map(|g| breakable(&refusal_grounds(g))),
        "rectification": shown(&data.rectification),
        "anchor": match data.anchor {
            RectificationAnchor::Served => "served",
            RectificationAnchor::Ordered => "ordered",
        },
        "reports_to_city": reports_to_city(&data.issuer),
        "contact": contact(&data.contact),
        "appeal": {
            "government": data.appeal.government.as_deref().and_then(|g| named(g, "人民政府")),
            "department": shown(&data.appeal.department),
            "court": data.appeal.court.as_deref().and_then(|c| named(c, "法院")),
        },
        "cc": shown(&data.cc),
        "date": date(&data.date),
    });
    Ok(Prepared {
        data: value,
        files,
        ident,
    })
}

/// A value as printed: trimmed, breakable; `None` (a blank line) when empty.
fn shown(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(breakable)
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

/// What each document cannot be printed without, and what no document may hold.
pub(crate) fn check(data: &NoticeData, seal: &NoticeSeal) -> Result<(), FormError> {
    let doc = data.document;
    let needs = |wanted: &[Document]| wanted.contains(&doc);
    let p = &data.product;
    let agency = data.agency.as_ref();
    let c = Checker { doc };

    c.text("issuer", "发文机关", Some(&data.issuer), Line, true)?;
    c.text("addressee", "主送单位", Some(&data.addressee), Line, true)?;
    c.text("task", "抽查任务", Some(&data.task), Line, false)?;
    if !YEARS.contains(&data.year) {
        return Err(notice_error(
            "year",
            format!(
                "抽查年度应在{}年至{}年之间，现为{}年",
                YEARS.start(),
                YEARS.end(),
                data.year
            ),
        ));
    }
    c.text(
        "product.product_name",
        "产品名称",
        Some(&p.product_name),
        Line,
        true,
    )?;
    c.text(
        "product.brand",
        "商标（品牌）",
        p.brand.as_deref(),
        Line,
        false,
    )?;
    c.text(
        "product.spec_model",
        "规格型号",
        p.spec_model.as_deref(),
        Line,
        false,
    )?;
    c.text(
        "product.batch",
        "生产日期或批号",
        p.batch.as_deref(),
        Line,
        false,
    )?;
    c.text(
        "product.business_name",
        "受检单位",
        Some(&p.business_name),
        Line,
        false,
    )?;
    c.text(
        "product.producer_name",
        "生产单位",
        p.producer_name.as_deref(),
        Line,
        false,
    )?;
    c.text(
        "product.platform",
        "电子商务平台",
        p.platform.as_deref(),
        Line,
        false,
    )?;
    c.text(
        "product.report_no",
        "检验报告编号",
        Some(&p.report_no),
        Code,
        true,
    )?;
    c.text(
        "product.failed_items",
        "不合格项目",
        p.failed_items.as_deref(),
        Free,
        false,
    )?;
    c.text(
        "institute",
        "承检机构",
        data.institute.as_deref(),
        Line,
        false,
    )?;
    let agency_needed = needs(&[Document::ReinspectionAgency, Document::ReinspectionResult]);
    c.text(
        "agency.name",
        "复检机构名称",
        agency.and_then(|a| a.name.as_deref()),
        Line,
        agency_needed,
    )?;
    c.contact(AGENCY_FIELDS, "复检机构", agency)?;
    if needs(&[Document::ReinspectionResult]) && data.commissioned_on.is_none() {
        return Err(c.missing("commissioned_on", "委托复检日期"));
    }
    c.text(
        "refusal_grounds",
        "不予复检的理由（经调查…）",
        data.refusal_grounds.as_deref(),
        Free,
        needs(&[Document::NoReinspection]),
    )?;
    c.text(
        "rectification",
        "改正内容及要求",
        data.rectification.as_deref(),
        Free,
        needs(&[Document::RectificationOrder]),
    )?;
    c.text(
        "contact.name",
        "联系单位",
        data.contact.name.as_deref(),
        Line,
        false,
    )?;
    c.contact(CONTACT_FIELDS, "", Some(&data.contact))?;
    c.text(
        "appeal.government",
        "行政复议的人民政府",
        data.appeal.government.as_deref(),
        Line,
        false,
    )?;
    c.text(
        "appeal.department",
        "行政复议的部门",
        data.appeal.department.as_deref(),
        Line,
        false,
    )?;
    c.text(
        "appeal.court",
        "行政诉讼的法院",
        data.appeal.court.as_deref(),
        Line,
        false,
    )?;
    c.text("cc", "抄送", data.cc.as_deref(), Line, false)?;

    if let NoticeSeal::Issued {
        number,
        document_id,
        data_sha256,
    } = seal
    {
        c.text("seal.number", "文书编号", Some(number), Code, true)?;
        if !is_document_id(document_id) {
            return Err(notice_error(
                "seal.document_id",
                format!("文书标识只能由字母、数字和连字符组成，最多{MAX_DOCUMENT_ID_CHARS}个字符"),
            ));
        }
        if *data_sha256 != notice_data_sha256(data) {
            return Err(notice_error(
                "seal.data_sha256",
                "签发时记录的数据哈希与本文书的数据不符（数据在签发后有改动），请按当前数据重新签发"
                    .to_string(),
            ));
        }
    }
    Ok(())
}

/// How long a value may be and whether it may break lines.
#[derive(Clone, Copy)]
enum Kind {
    /// One line: a name, an address.
    Line,
    /// A number, phone or postcode.
    Code,
    /// Paragraphs.
    Free,
}
use Kind::*;

struct Checker {
    doc: Document,
}

impl Checker {
    fn missing(&self, field: &'static str, label: &str) -> FormError {
        notice_error(
            field,
            format!("请填写{label}：{}不能缺少此项", self.doc.label_zh()),
        )
    }

    fn text(
        &self,
        field: &'static str,
        label: &str,
        value: Option<&str>,
        kind: Kind,
        required: bool,
    ) -> Result<(), FormError> {
        let value = value.unwrap_or("");
        if value.trim().is_empty() {
            return if required {
                Err(self.missing(field, label))
            } else {
                Ok(())
            };
        }
        let max = match kind {
            Line => MAX_LINE_CHARS,
            Code => MAX_CODE_CHARS,
            Free => MAX_FREE_CHARS,
        };
        if let Some(problem) = text_problems(field, label, value.trim(), max)
            .into_iter()
            .next()
        {
            return Err(notice_error(field, problem.message));
        }
        if !matches!(kind, Free)
            && value
                .chars()
                .any(|c| c.is_control() || is_forbidden_char(c))
        {
            return Err(notice_error(
                field,
                format!("{label}只能写一行，不能含换行或制表符"),
            ));
        }
        Ok(())
    }

    /// A contact block's person, phone, address and postcode.
    fn contact(
        &self,
        fields: [&'static str; 4],
        owner: &str,
        contact: Option<&NoticeContact>,
    ) -> Result<(), FormError> {
        let Some(c) = contact else { return Ok(()) };
        let [person, phone, address, postcode] = fields;
        self.text(
            person,
            &format!("{owner}联系人"),
            c.person.as_deref(),
            Line,
            false,
        )?;
        self.text(
            phone,
            &format!("{owner}联系电话"),
            c.phone.as_deref(),
            Code,
            false,
        )?;
        self.text(
            address,
            &format!("{owner}联系地址"),
            c.address.as_deref(),
            Line,
            false,
        )?;
        self.text(
            postcode,
            &format!("{owner}邮政编码"),
            c.postcode.as_deref(),
            Code,
            false,
        )
    }
}

const AGENCY_FIELDS: [&str; 4] = [
    "agency.person",
    "agency.phone",
    "agency.address",
    "agency.postcode",
];
const CONTACT_FIELDS: [&str; 4] = [
    "contact.person",
    "contact.phone",
    "contact.address",
    "contact.postcode",
];

fn notice_error(field: &'static str, reason: String) -> FormError {
    FormError::Notice { field, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(document: Document) -> NoticeData {
        NoticeData {
            document,
            issuer: "重庆市渝中区市场监督管理局".into(),
            addressee: "重庆渝中区顺达五金电器经营部".into(),
            task: "2026年重庆市产品质量监督抽查".into(),
            year: 2026,
            product: NoticeProduct {
                product_name: "电热水壶".into(),
                brand: Some("美厨乐".into()),
                spec_model: Some("MK-1788 1.8L".into()),
                batch: None,
                business_name: "重庆渝中区顺达五金电器经营部".into(),
                business_kind: BusinessKind::PlatformSeller,
                producer_name: Some("佛山市顺德区美厨乐电器有限公司".into()),
                platform: Some("某某商城".into()),
                report_no: "CQ2026-0001".into(),
                failed_items: None,
            },
            verdict: Verdict::Fail,
            institute: None,
            agency: None,
            commissioned_on: None,
            refusal_grounds: None,
            rectification: None,
            anchor: RectificationAnchor::Served,
            contact: NoticeContact::default(),
            appeal: NoticeAppeal::default(),
            cc: None,
            date: NaiveDate::from_ymd_opt(2026, 3, 5).unwrap(),
        }
    }

    #[test]
    fn notice_qr_payload_round_trips() {
        let id = "0b6c3f0e-8a7d-4e21-9d55-5f1a2b3c4d5e";
        let h = Sha256::digest(b"notice data");
        let text = notice_qr_payload(id, &h);
        assert!(text.starts_with("FIELDLEAD:DOC:0B6C3F0E-"));
        assert!(text.ends_with(&h.to_hex().to_uppercase()));
        assert!(text
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || "-:".contains(c)));
        assert_eq!(parse_notice_qr_payload(&text), Some((id.to_string(), h)));
        assert_eq!(
            parse_notice_qr_payload(&format!(" {} ", text.to_lowercase())),
            Some((id.to_string(), h))
        );
        assert_eq!(parse_notice_qr_payload("FIELDLEAD:DOC:X:DATA:00"), None);
        assert_eq!(
            parse_notice_qr_payload(&format!("FIELDLEAD:DOC::DATA:{}", h.to_hex())),
            None
        );
        // A transfer form's code is not a notice's, nor the other way round.
        let lead = fieldlead_domain::LeadId::new();
        assert_eq!(parse_notice_qr_payload(&crate::qr_payload(&lead, &h)), None);
        assert_eq!(crate::parse_qr_payload(&text), None);
    }

    #[test]
    fn the_data_hash_is_of_the_canonical_json() {
        let a = data(Document::ResultNotice);
        let h = notice_data_sha256(&a);
        assert_eq!(h, fieldlead_domain::canonical_hash(&a).unwrap());
        // Field order of the JSON it came from does not matter.
        let v: serde_json::Value = serde_json::to_value(&a).unwrap();
        let back: NoticeData = serde_json::from_value(v).unwrap();
        assert_eq!(notice_data_sha256(&back), h);
        let mut b = a.clone();
        b.product.report_no = "CQ2026-0002".into();
        assert_ne!(notice_data_sha256(&b), h);
    }

    #[test]
    fn the_task_reads_as_the_notice_names_it() {
        assert_eq!(
            task_phrase(2026, "2026年重庆市产品质量监督抽查"),
            "2026年重庆市产品质量监督抽查"
        );
        assert_eq!(task_phrase(2026, ""), "2026年产品质量监督抽查");
        assert_eq!(
            task_phrase(2026, "2026年度重庆市电器产品"),
            "2026年重庆市电器产品产品质量监督抽查"
        );
        assert_eq!(
            task_phrase(2026, "重庆市电热水壶专项抽查"),
            "2026年重庆市电热水壶专项抽查"
        );
    }

    #[test]
    fn refusal_grounds_fit_the_sentence_around_them() {
        assert_eq!(
            refusal_grounds("经调查，该样品已超过保质期，不符合复检条件。\n"),
            "该样品已超过保质期"
        );
        assert_eq!(refusal_grounds("备样已用完。"), "备样已用完");
        assert_eq!(named("重庆市", "人民政府").unwrap(), "重庆市人民政府");
        assert_eq!(
            named("重庆市人民政府", "人民政府").unwrap(),
            "重庆市人民政府"
        );
        assert_eq!(named(" ", "法院"), None);
    }

    #[test]
    fn seller_or_producer_follows_the_addressee() {
        let mut d = data(Document::ResultNotice);
        assert_eq!(kind(&d), "销售");
        d.addressee = "佛山市顺德区美厨乐电器有限公司".into();
        assert_eq!(kind(&d), "生产");
        let mut d = data(Document::ResultNotice);
        d.product.business_kind = BusinessKind::Producer;
        assert_eq!(kind(&d), "生产");
        assert!(reports_to_city("重庆市渝中区市场监督管理局"));
        assert!(!reports_to_city("重庆市市场监督管理局"));
    }

    fn field_of(e: FormError) -> &'static str {
        assert_eq!(e.code(), "notice_field");
        match e {
            FormError::Notice { field, .. } => field,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn each_document_names_what_it_cannot_do_without() {
        let p = NoticeSeal::Preview;
        for doc in Document::ALL {
            check(&data(doc), &p).map_or_else(
                |e| {
                    let expected = match doc {
                        Document::ReinspectionAgency | Document::ReinspectionResult => {
                            "agency.name"
                        }
                        Document::NoReinspection => "refusal_grounds",
                        Document::RectificationOrder => "rectification",
                        Document::ResultNotice => "none",
                    };
                    assert_eq!(field_of(e), expected, "{doc:?}");
                },
                |()| assert_eq!(doc, Document::ResultNotice),
            );
        }
        let mut d = data(Document::ReinspectionResult);
        d.agency = Some(NoticeContact {
            name: Some("国家电器产品质量检验检测中心".into()),
            ..Default::default()
        });
        let e = check(&d, &p).unwrap_err();
        assert!(e.to_string().contains("委托复检日期"), "{e}");
        assert_eq!(field_of(e), "commissioned_on");

        let mut d = data(Document::ResultNotice);
        d.addressee = "  ".into();
        let e = check(&d, &p).unwrap_err();
        assert!(e.to_string().contains("请填写主送单位"), "{e}");
        assert_eq!(field_of(e), "addressee");
        let mut d = data(Document::ResultNotice);
        d.product.report_no = String::new();
        assert_eq!(field_of(check(&d, &p).unwrap_err()), "product.report_no");
        let mut d = data(Document::ResultNotice);
        d.issuer = String::new();
        assert_eq!(field_of(check(&d, &p).unwrap_err()), "issuer");
    }

    #[test]
    fn control_characters_and_overlong_text_are_refused() {
        let p = NoticeSeal::Preview;
        let mut d = data(Document::ResultNotice);
        d.product.brand = Some("美厨\u{202E}乐".into());
        let e = check(&d, &p).unwrap_err();
        assert!(e.to_string().contains("控制字符"), "{e}");
        assert_eq!(field_of(e), "product.brand");

        let mut d = data(Document::ResultNotice);
        d.addressee = "顺达\n五金".into();
        assert_eq!(field_of(check(&d, &p).unwrap_err()), "addressee");

        // Free text may hold line breaks, up to 2000 characters.
        let mut d = data(Document::RectificationOrder);
        d.rectification = Some("一、下架。\n二、召回。".into());
        check(&d, &p).unwrap();
        d.rectification = Some("改".repeat(2001));
        let e = check(&d, &p).unwrap_err();
        assert!(e.to_string().contains("2000"), "{e}");
        assert_eq!(field_of(e), "rectification");

        let mut d = data(Document::ResultNotice);
        d.year = 26;
        assert_eq!(field_of(check(&d, &p).unwrap_err()), "year");
    }

    #[test]
    fn an_issued_seal_must_match_its_data() {
        let d = data(Document::ResultNotice);
        let issued = |number: &str, id: &str, h: Sha256| NoticeSeal::Issued {
            number: number.into(),
            document_id: id.into(),
            data_sha256: h,
        };
        let h = notice_data_sha256(&d);
        let id = "0b6c3f0e-8a7d-4e21-9d55-5f1a2b3c4d5e";
        check(&d, &issued("渝中市监〔2026〕12号", id, h)).unwrap();
        let stale = Sha256::digest(b"other data");
        assert_eq!(
            field_of(check(&d, &issued("渝中市监〔2026〕12号", id, stale)).unwrap_err()),
            "seal.data_sha256"
        );
        assert_eq!(
            field_of(check(&d, &issued(" ", id, h)).unwrap_err()),
            "seal.number"
        );
        assert_eq!(
            field_of(check(&d, &issued("12号", "文书:1", h)).unwrap_err()),
            "seal.document_id"
        );
    }
}
