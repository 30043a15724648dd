//! The lead lists of the notice, from rows the bureau fills in:
//! 附件6 产品质量监督抽查不合格产品线索移交清单, 附件7 产品质量监督抽查移交线索立案案件结果清单
//! and 附件8 不予立案线索清单. Columns follow the notice (which, for 附件7, has no
//! 规格型号 column). Each list renders as PDF (a template per list) and as .xlsx.

use chrono::{Datelike, NaiveDate};
use fieldlead_domain::money::Fen;
use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::error::FormError;
use crate::fonts::FontChoice;
use crate::text::{breakable, date};

/// A row of 附件6 不合格产品线索移交清单.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransferListRow {
    pub brand: Option<String>,
    pub product_name: String,
    pub spec_model: Option<String>,
    pub report_no: Option<String>,
    pub remark: Option<String>,
}

/// A row of 附件7 移交线索立案案件结果清单. Amounts are in fen (分) so sums are
/// exact; they print in 万元 as the notice's columns ask.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaseResultRow {
    pub brand: Option<String>,
    pub product_name: String,
    pub report_no: Option<String>,
    /// 罚款, in fen.
    pub fine_fen: Option<Fen>,
    /// 没收 (confiscated goods and illegal gains), in fen.
    pub confiscation_fen: Option<Fen>,
    pub remark: Option<String>,
    /// 不予立案原因, when the lead was not filed as a case.
    pub decline_reason: Option<String>,
}

/// A row of 附件8 不予立案线索清单.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeclinedRow {
    pub brand: Option<String>,
    pub product_name: String,
    pub spec_model: Option<String>,
    pub report_no: Option<String>,
    /// 移交日期: when the lead was transferred.
    pub transferred_on: Option<NaiveDate>,
    /// 不予立案理由: the reasoning (facts, legal basis).
    pub decline_grounds: Option<String>,
    /// 不予立案原因: the kind of reason.
    pub decline_reason: Option<String>,
}

/// A row of the termination leads' own 产品违法线索办理情况清单: a lead the
/// sampler transferred on the spot (产品违法线索移交表) and how the district
/// handled it. Not one of the notice's annexes: 附件7 and 附件8 are the failed
/// products' lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HandlingListRow {
    pub business_name: String,
    pub product_name: String,
    pub brand: Option<String>,
    /// 终止抽样情形, as the transfer form ticks them.
    pub grounds: Option<String>,
    /// 报送日期: the day the bureau received the lead.
    pub received_on: Option<NaiveDate>,
    /// 签收日期.
    pub acknowledged_on: Option<NaiveDate>,
    /// 办理结果: 立案, 不予立案, or nothing yet.
    pub result: Option<String>,
    pub case_number: Option<String>,
    pub fine_fen: Option<Fen>,
    pub confiscation_fen: Option<Fen>,
    pub decline_reason: Option<String>,
    /// 报告市局质监处日期.
    pub reported_on: Option<NaiveDate>,
}

/// The signing block and dates around a list; all optional, blank lines when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListFooter {
    /// 移交单位 (附件6) or 填报单位 (附件7/8).
    pub sending_unit: Option<String>,
    pub sender_phone: Option<String>,
    /// 资料接收单位.
    pub receiving_unit: Option<String>,
    pub receiver_phone: Option<String>,
    pub date: Option<NaiveDate>,
}

/// A list with its rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LeadList {
    /// 附件6.
    Transfer {
        #[serde(default)]
        footer: ListFooter,
        rows: Vec<TransferListRow>,
    },
    /// 附件7.
    CaseResults {
        #[serde(default)]
        footer: ListFooter,
        rows: Vec<CaseResultRow>,
    },
    /// 附件8.
    Declined {
        #[serde(default)]
        footer: ListFooter,
        rows: Vec<DeclinedRow>,
    },
    /// The termination leads' 产品违法线索办理情况清单 (no annex of the notice).
    Handling {
        #[serde(default)]
        footer: ListFooter,
        rows: Vec<HandlingListRow>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListKind {
    Transfer,
    CaseResults,
    Declined,
    Handling,
}

/// One column: JSON key, header, .xlsx width in characters.
struct Column {
    key: &'static str,
    header: &'static str,
    width: f64,
}

const fn col(key: &'static str, header: &'static str, width: f64) -> Column {
    Column { key, header, width }
}

const TRANSFER_COLUMNS: &[Column] = &[
    col("index", "序号", 6.0),
    col("brand", "品牌", 16.0),
    col("product_name", "产品名称", 28.0),
    col("spec_model", "规格型号", 18.0),
    col("report_no", "报告编号", 20.0),
    col("remark", "备注", 28.0),
];
const CASE_RESULT_COLUMNS: &[Column] = &[
    col("index", "序号", 6.0),
    col("brand", "品牌", 14.0),
    col("product_name", "产品名称", 24.0),
    col("report_no", "报告编号", 18.0),
    col("fine", "罚款（万元）", 12.0),
    col("confiscation", "没收（万元）", 12.0),
    col("remark", "备注", 20.0),
    col("decline_reason", "不予立案原因", 24.0),
];
const HANDLING_COLUMNS: &[Column] = &[
    col("index", "序号", 6.0),
    col("business_name", "被抽样单位", 22.0),
    col("product_name", "产品名称", 18.0),
    col("brand", "品牌", 12.0),
    col("grounds", "终止抽样情形", 26.0),
    col("received_on", "报送日期", 13.0),
    col("acknowledged_on", "签收日期", 13.0),
    col("result", "办理结果", 10.0),
    col("case_number", "立案编号", 16.0),
    col("fine", "罚款（万元）", 11.0),
    col("confiscation", "没收（万元）", 11.0),
    col("decline_reason", "不予立案理由", 24.0),
    col("reported_on", "报告市局质监处日期", 14.0),
];
const DECLINED_COLUMNS: &[Column] = &[
    col("index", "序号", 6.0),
    col("brand", "品牌", 14.0),
    col("product_name", "产品名称", 22.0),
    col("spec_model", "规格型号", 16.0),
    col("report_no", "报告编号", 18.0),
    col("transferred_on", "移交日期", 14.0),
    col("decline_grounds", "不予立案理由", 28.0),
    col("decline_reason", "不予立案原因", 20.0),
];

impl ListKind {
    /// The notice's annex number, or "" for a list of fieldlead's own.
    pub fn annex(self) -> &'static str {
        match self {
            ListKind::Transfer => "附件6",
            ListKind::CaseResults => "附件7",
            ListKind::Declined => "附件8",
            ListKind::Handling => "",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ListKind::Transfer => "产品质量监督抽查不合格产品线索移交清单",
            ListKind::CaseResults => "产品质量监督抽查移交线索立案案件结果清单",
            ListKind::Declined => "不予立案线索清单",
            ListKind::Handling => "产品违法线索办理情况清单",
        }
    }

    pub(crate) fn template(self) -> &'static str {
        match self {
            ListKind::Transfer => "list_6.typ",
            ListKind::CaseResults => "list_7.typ",
            ListKind::Declined => "list_8.typ",
            ListKind::Handling => "list_handling.typ",
        }
    }

    fn columns(self) -> &'static [Column] {
        match self {
            ListKind::Transfer => TRANSFER_COLUMNS,
            ListKind::CaseResults => CASE_RESULT_COLUMNS,
            ListKind::Declined => DECLINED_COLUMNS,
            ListKind::Handling => HANDLING_COLUMNS,
        }
    }
}

/// A cell before formatting: PDF prints text, .xlsx keeps numbers and dates typed.
enum Cell {
    Text(Option<String>),
    /// Shown in 万元.
    Amount(Option<Fen>),
    Date(Option<NaiveDate>),
}

impl Cell {
    fn text(s: &Option<String>) -> Cell {
        Cell::Text(s.clone())
    }
    fn shown(&self) -> String {
        match self {
            Cell::Text(s) => s.as_deref().map(breakable).unwrap_or_default(),
            Cell::Amount(a) => a.map(|a| a.wan_with_decimals(2)).unwrap_or_default(),
            Cell::Date(d) => d.as_ref().map(date).unwrap_or_default(),
        }
    }
}

impl LeadList {
    pub fn kind(&self) -> ListKind {
        match self {
            LeadList::Transfer { .. } => ListKind::Transfer,
            LeadList::CaseResults { .. } => ListKind::CaseResults,
            LeadList::Declined { .. } => ListKind::Declined,
            LeadList::Handling { .. } => ListKind::Handling,
        }
    }

    pub fn footer(&self) -> &ListFooter {
        match self {
            LeadList::Transfer { footer, .. }
            | LeadList::CaseResults { footer, .. }
            | LeadList::Declined { footer, .. }
            | LeadList::Handling { footer, .. } => footer,
        }
    }

    /// The cells of every row, in column order after 序号; checks each row.
    fn rows(&self) -> Result<Vec<Vec<Cell>>, FormError> {
        let need_name = |row: usize, name: &str| {
            if name.trim().is_empty() {
                Err(FormError::ListRow {
                    row,
                    reason: "产品名称不能为空".to_string(),
                })
            } else {
                Ok(())
            }
        };
        let mut out = Vec::new();
        match self {
            LeadList::Transfer { rows, .. } => {
                for (i, r) in rows.iter().enumerate() {
                    need_name(i + 1, &r.product_name)?;
                    out.push(vec![
                        Cell::text(&r.brand),
                        Cell::Text(Some(r.product_name.clone())),
                        Cell::text(&r.spec_model),
                        Cell::text(&r.report_no),
                        Cell::text(&r.remark),
                    ]);
                }
            }
            LeadList::CaseResults { rows, .. } => {
                for (i, r) in rows.iter().enumerate() {
                    need_name(i + 1, &r.product_name)?;
                    out.push(vec![
                        Cell::text(&r.brand),
                        Cell::Text(Some(r.product_name.clone())),
                        Cell::text(&r.report_no),
                        Cell::Amount(r.fine_fen),
                        Cell::Amount(r.confiscation_fen),
                        Cell::text(&r.remark),
                        Cell::text(&r.decline_reason),
                    ]);
                }
            }
            LeadList::Handling { rows, .. } => {
                for (i, r) in rows.iter().enumerate() {
                    need_name(i + 1, &r.product_name)?;
                    out.push(vec![
                        Cell::Text(Some(r.business_name.clone())),
                        Cell::Text(Some(r.product_name.clone())),
                        Cell::text(&r.brand),
                        Cell::text(&r.grounds),
                        Cell::Date(r.received_on),
                        Cell::Date(r.acknowledged_on),
                        Cell::text(&r.result),
                        Cell::text(&r.case_number),
                        Cell::Amount(r.fine_fen),
                        Cell::Amount(r.confiscation_fen),
                        Cell::text(&r.decline_reason),
                        Cell::Date(r.reported_on),
                    ]);
                }
            }
            LeadList::Declined { rows, .. } => {
                for (i, r) in rows.iter().enumerate() {
                    need_name(i + 1, &r.product_name)?;
                    out.push(vec![
                        Cell::text(&r.brand),
                        Cell::Text(Some(r.product_name.clone())),
                        Cell::text(&r.spec_model),
                        Cell::text(&r.report_no),
                        Cell::Date(r.transferred_on),
                        Cell::text(&r.decline_grounds),
                        Cell::text(&r.decline_reason),
                    ]);
                }
            }
        }
        Ok(out)
    }

    /// The JSON the list templates read: rows as objects keyed by column.
    pub(crate) fn template_data(&self, fonts: &FontChoice) -> Result<Value, FormError> {
        let kind = self.kind();
        let rows: Vec<Value> = self
            .rows()?
            .iter()
            .enumerate()
            .map(|(i, cells)| {
                let mut row = Map::new();
                row.insert("index".into(), json!((i + 1).to_string()));
                for (column, cell) in kind.columns()[1..].iter().zip(cells) {
                    row.insert(column.key.into(), json!(cell.shown()));
                }
                Value::Object(row)
            })
            .collect();
        let f = self.footer();
        let opt = |v: &Option<String>| v.as_deref().map(breakable);
        Ok(json!({
            "fonts": fonts,
            "annex": kind.annex(),
            "title": kind.title(),
            "rows": rows,
            "footer": {
                "sending_unit": opt(&f.sending_unit),
                "sender_phone": opt(&f.sender_phone),
                "receiving_unit": opt(&f.receiving_unit),
                "receiver_phone": opt(&f.receiver_phone),
                "date": f.date.as_ref().map(date),
            },
        }))
    }
}

/// The list as an .xlsx workbook: title, header row, one row per lead; amounts as
/// numbers in 万元 and dates as dates, so the bureau can sum and sort them.
pub fn lead_list_xlsx(list: &LeadList) -> Result<Vec<u8>, FormError> {
    let kind = list.kind();
    let columns = kind.columns();
    let rows = list.rows()?;
    let last_col = (columns.len() - 1) as u16;

    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(if kind.annex().is_empty() {
        "办理情况"
    } else {
        kind.annex()
    })?;
    let font = "宋体";
    let title = Format::new()
        .set_font_name("黑体")
        .set_font_size(16)
        .set_bold()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter);
    let plain = Format::new().set_font_name(font).set_font_size(11);
    let header = Format::new()
        .set_font_name(font)
        .set_font_size(11)
        .set_bold()
        .set_text_wrap()
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter);
    let cell = Format::new()
        .set_font_name(font)
        .set_font_size(11)
        .set_text_wrap()
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::VerticalCenter);
    let amount = cell.clone().set_num_format("0.00####");
    let day = cell.clone().set_num_format("yyyy\"年\"m\"月\"d\"日\"");

    if !kind.annex().is_empty() {
        sheet.write_string_with_format(0, 0, kind.annex(), &plain)?;
    }
    sheet.merge_range(1, 0, 1, last_col, kind.title(), &title)?;
    sheet.set_row_height(1, 30)?;
    for (c, column) in columns.iter().enumerate() {
        sheet.set_column_width(c as u16, column.width)?;
        sheet.write_string_with_format(2, c as u16, column.header, &header)?;
    }
    sheet.set_freeze_panes(3, 0)?;
    for (i, cells) in rows.iter().enumerate() {
        let r = (i + 3) as u32;
        sheet.write_number_with_format(r, 0, (i + 1) as f64, &cell)?;
        for (c, value) in cells.iter().enumerate() {
            let c = (c + 1) as u16;
            match value {
                Cell::Text(Some(s)) => {
                    sheet.write_string_with_format(r, c, s, &cell)?;
                }
                Cell::Amount(Some(fen)) => {
                    sheet.write_number_with_format(r, c, fen.wan_number(), &amount)?;
                }
                Cell::Date(Some(d)) => {
                    let dt =
                        ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?;
                    sheet.write_datetime_with_format(r, c, &dt, &day)?;
                }
                _ => {
                    sheet.write_blank(r, c, &cell)?;
                }
            }
        }
    }

    let f = list.footer();
    let blank = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut r = (rows.len() + 4) as u32;
    let mut line = |text: String| -> Result<(), FormError> {
        sheet.write_string_with_format(r, 0, text, &plain)?;
        r += 1;
        Ok(())
    };
    let shown_date = f
        .date
        .as_ref()
        .map(date)
        .unwrap_or_else(|| "    年  月  日".to_string());
    match kind {
        ListKind::Transfer => {
            line(format!("移交单位：{}", blank(&f.sending_unit)))?;
            line(format!(
                "移交人：（签名）        联系方式：{}",
                blank(&f.sender_phone)
            ))?;
            line(format!("资料接收单位：{}", blank(&f.receiving_unit)))?;
            line(format!(
                "接收人：（签名）        联系方式：{}",
                blank(&f.receiver_phone)
            ))?;
            line(shown_date)?;
            line("本清单一式两份，一份移交单位留存，一份资料接收单位留存。".to_string())?;
        }
        ListKind::CaseResults | ListKind::Declined | ListKind::Handling => {
            line(format!("填报单位：{}", blank(&f.sending_unit)))?;
            line(format!(
                "填报人：（签名）        联系方式：{}",
                blank(&f.sender_phone)
            ))?;
            line(format!("填报日期：{shown_date}"))?;
        }
    }
    sheet.set_landscape();
    sheet.set_paper_size(9); // A4
    sheet.set_repeat_rows(2, 2)?;

    Ok(workbook.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_without_product_name_is_refused_with_its_number() {
        let list = LeadList::Transfer {
            footer: ListFooter::default(),
            rows: vec![
                TransferListRow {
                    product_name: "电热水壶".into(),
                    ..Default::default()
                },
                TransferListRow::default(),
            ],
        };
        let e = lead_list_xlsx(&list).unwrap_err();
        assert_eq!(e.code(), "list_row");
        assert!(e.to_string().contains("第 2 行"));
    }
}
