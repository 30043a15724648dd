//! What each notice cannot be printed without, and what no notice may hold:
//! required fields per document, length limits, no control characters, and an
//! issued seal that matches its data.

use fieldlead_domain::postprocess::Document;
use fieldlead_domain::text::{is_forbidden_char, text_problems};

use super::{is_document_id, notice_data_sha256, NoticeData, NoticeSeal, MAX_DOCUMENT_ID_CHARS};
use crate::error::FormError;

/// Names, addresses, the task, the appeal bodies, 抄送.
const MAX_LINE_CHARS: usize = 200;
/// Numbers, phones, postcodes.
const MAX_CODE_CHARS: usize = 64;
/// Free text: 不合格项目, 不予复检的理由, 改正内容及要求.
const MAX_FREE_CHARS: usize = 2000;
/// The spot-check years a notice may name.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// How long a value may be and whether it may break lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One line: a name, an address.
    Line,
    /// One line: a number, phone or postcode.
    Code,
    /// Paragraphs.
    Free,
}
use Kind::*;

/// A text field: its path, its Chinese label, its value, its kind, and the
/// documents that cannot be printed without it (`ALL` for every one).
type Field<'a> = (
    &'static str,
    &'static str,
    Option<&'a str>,
    Kind,
    &'static [Document],
);

const ALL: &[Document] = &Document::ALL;
const NONE: &[Document] = &[];

/// What each document cannot be printed without, and what no document may hold.
/// The first problem found is returned.
pub(crate) fn check(data: &NoticeData, seal: &NoticeSeal) -> Result<(), FormError> {
    use Document::*;
    let p = &data.product;
    let agency = data.agency.clone().unwrap_or_default();
    let (c, a) = (&data.contact, &agency);
    // One row per field, as a table: easier to check against the documents so.
    #[rustfmt::skip]
    let fields: Vec<Field> = vec![
        ("issuer", "发文机关", Some(&data.issuer), Line, ALL),
        ("addressee", "主送单位", Some(&data.addressee), Line, ALL),
        ("task", "抽查任务", Some(&data.task), Line, NONE),
        ("product.product_name", "产品名称", Some(&p.product_name), Line, ALL),
        ("product.brand", "商标（品牌）", p.brand.as_deref(), Line, NONE),
        ("product.spec_model", "规格型号", p.spec_model.as_deref(), Line, NONE),
        ("product.batch", "生产日期或批号", p.batch.as_deref(), Line, NONE),
        ("product.business_name", "受检单位", Some(&p.business_name), Line, NONE),
        ("product.producer_name", "生产单位", p.producer_name.as_deref(), Line, NONE),
        ("product.platform", "电子商务平台", p.platform.as_deref(), Line, NONE),
        ("product.report_no", "检验报告编号", Some(&p.report_no), Code, ALL),
        ("product.failed_items", "不合格项目", p.failed_items.as_deref(), Free, NONE),
        ("institute", "承检机构", data.institute.as_deref(), Line, NONE),
        ("agency.name", "复检机构名称", a.name.as_deref(), Line, &[ReinspectionAgency, ReinspectionResult]),
        ("agency.person", "复检机构联系人", a.person.as_deref(), Line, NONE),
        ("agency.phone", "复检机构联系电话", a.phone.as_deref(), Code, NONE),
        ("agency.address", "复检机构联系地址", a.address.as_deref(), Line, NONE),
        ("agency.postcode", "复检机构邮政编码", a.postcode.as_deref(), Code, NONE),
        ("refusal_grounds", "不予复检的理由（经调查…）", data.refusal_grounds.as_deref(), Free, &[NoReinspection]),
        ("rectification", "改正内容及要求", data.rectification.as_deref(), Free, &[RectificationOrder]),
        ("contact.name", "联系单位", c.name.as_deref(), Line, NONE),
        ("contact.person", "联系人", c.person.as_deref(), Line, NONE),
        ("contact.phone", "联系电话", c.phone.as_deref(), Code, NONE),
        ("contact.address", "联系地址", c.address.as_deref(), Line, NONE),
        ("contact.postcode", "邮政编码", c.postcode.as_deref(), Code, NONE),
        ("appeal.government", "行政复议的人民政府", data.appeal.government.as_deref(), Line, NONE),
        ("appeal.department", "行政复议的部门", data.appeal.department.as_deref(), Line, NONE),
        ("appeal.court", "行政诉讼的法院", data.appeal.court.as_deref(), Line, NONE),
        ("cc", "抄送", data.cc.as_deref(), Line, NONE),
    ];
    for (field, label, value, kind, needed_by) in fields {
        text(data.document, field, label, value, kind, needed_by)?;
    }
    if data.document == ReinspectionResult && data.commissioned_on.is_none() {
        return Err(missing(data.document, "commissioned_on", "委托复检日期"));
    }
    if !YEARS.contains(&data.year) {
        let reason = format!(
            "抽查年度应在{}年至{}年之间，现为{}年",
            YEARS.start(),
            YEARS.end(),
            data.year
        );
        return Err(notice_error("year", reason));
    }

    if let NoticeSeal::Issued {
        number,
        document_id,
        data_sha256,
    } = seal
    {
        text(
            data.document,
            "seal.number",
            "文书编号",
            Some(number),
            Code,
            ALL,
        )?;
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

/// One text field: present when `document` needs it, within its length, free of
/// control characters (and of line breaks, unless it is free text).
fn text(
    document: Document,
    field: &'static str,
    label: &str,
    value: Option<&str>,
    kind: Kind,
    needed_by: &[Document],
) -> Result<(), FormError> {
    let value = value.unwrap_or("").trim();
    if value.is_empty() {
        return if needed_by.contains(&document) {
            Err(missing(document, field, label))
        } else {
            Ok(())
        };
    }
    let max = match kind {
        Line => MAX_LINE_CHARS,
        Code => MAX_CODE_CHARS,
        Free => MAX_FREE_CHARS,
    };
    if let Some(problem) = text_problems(field, label, value, max).into_iter().next() {
        return Err(notice_error(field, problem.message));
    }
    if kind != Free
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

fn missing(document: Document, field: &'static str, label: &str) -> FormError {
    notice_error(
        field,
        format!("请填写{label}：{}不能缺少此项", document.label_zh()),
    )
}

fn notice_error(field: &'static str, reason: String) -> FormError {
    FormError::Notice { field, reason }
}
