//! Inspection results in (issue 12, item 2): the testing institute's list of
//! sampled products and their 检验结论, which the district bureau receives with the
//! reports (notice section 三.1) and from which each product's 后处理 starts.
//!
//! [`results_from_table`] turns a table already read from a file (the bureau reads
//! xlsx and CSV) into [`InspectionResult`]s: columns are found by their Chinese
//! headers (a few usual variants accepted, extra columns ignored), every cell is
//! held to the same text rules as typed input ([`crate::text`]), dates and the
//! closed sets are parsed, and the rules across cells are checked (不合格 needs its
//! 不合格项目, a report is not received before its sample was taken, one report
//! number once per file). Every problem is collected with the row and column the
//! officer sees in the sheet, and nothing is returned unless every row is good:
//! a file with errors is never half-imported.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::postprocess::Verdict;
use crate::text::check_text;

/// At most this many result rows in one file.
pub const MAX_RESULT_ROWS: usize = 20_000;
/// 报告编号.
pub const MAX_REPORT_NO_CHARS: usize = 100;
/// Names, addresses, product details, the task.
pub const MAX_RESULT_LINE_CHARS: usize = 300;
/// 不合格项目 may list many items.
pub const MAX_FAILED_ITEMS_CHARS: usize = 2000;

/// The role of the sampled business (受检单位类型), as the institute's list writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BusinessKind {
    /// 生产者
    Producer,
    /// 销售者
    Seller,
    /// 电子商务平台内经营者
    PlatformSeller,
}

crate::wire_names!(BusinessKind, "受检单位类型", {
    Producer => "producer",
    Seller => "seller",
    PlatformSeller => "platform_seller",
});

impl BusinessKind {
    /// The same business role as the sampling record's, so the tablet, the forms
    /// and the console say it one way.
    pub fn role(self) -> crate::BusinessRole {
        match self {
            BusinessKind::Producer => crate::BusinessRole::Producer,
            BusinessKind::Seller => crate::BusinessRole::Seller,
            BusinessKind::PlatformSeller => crate::BusinessRole::EcommerceShop,
        }
    }

    pub fn label_zh(self) -> &'static str {
        self.role().label_zh()
    }

    /// The kind whose [`label_zh`](Self::label_zh) is `s`.
    pub fn from_label_zh(s: &str) -> Option<BusinessKind> {
        BusinessKind::ALL.into_iter().find(|k| k.label_zh() == s)
    }
}

/// 检验结论 as the institute writes it.
fn verdict_from_zh(s: &str) -> Option<Verdict> {
    match s {
        "合格" => Some(Verdict::Pass),
        "不合格" => Some(Verdict::Fail),
        _ => None,
    }
}

/// One sampled product's result, one row of the institute's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectionResult {
    /// 报告编号, unique within a file.
    pub report_no: String,
    /// 任务 (the spot-check task's name).
    pub task: String,
    pub product_name: String,
    /// 品牌 / 商标.
    pub brand: Option<String>,
    /// 规格型号.
    pub spec_model: Option<String>,
    /// 生产日期或批号, as printed.
    pub batch: Option<String>,
    /// 受检单位.
    pub business_name: String,
    /// 受检单位地址.
    pub business_address: String,
    /// 受检单位类型.
    pub business_kind: BusinessKind,
    /// 标称生产厂家.
    pub nominal_producer: Option<String>,
    /// 电子商务平台.
    pub platform: Option<String>,
    /// 抽样日期.
    pub sampled_on: NaiveDate,
    /// 检验结论.
    pub verdict: Verdict,
    /// 不合格项目: present exactly when the verdict is 不合格.
    pub failed_items: Option<String>,
    /// 报告收到日期: the district's receipt of the report, from which 三.1's
    /// 5 working days run.
    pub report_received: NaiveDate,
}

impl InspectionResult {
    /// Whether the city serves the result on a nominal producer too (三.1): the
    /// sample came from a seller (销售者 or 电子商务平台内经营者) that names one.
    pub fn serve_producer(&self) -> bool {
        self.business_kind != BusinessKind::Producer && self.nominal_producer.is_some()
    }
}

/// One problem with one cell (or a column, or the whole file) of a result list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellProblem {
    /// The row as the officer sees it in the sheet: the header is row 1.
    pub row: usize,
    /// The column's header as in the file (trimmed), or the expected name when
    /// the column is missing; empty when the problem is with the whole file.
    pub column: String,
    /// What is wrong and what to do, in Chinese.
    pub reason: String,
}

impl CellProblem {
    fn new(row: usize, column: &str, reason: impl Into<String>) -> Self {
        CellProblem {
            row,
            column: column.to_string(),
            reason: reason.into(),
        }
    }
}

/// The columns of a result list, in the order of [`InspectionResult`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    ReportNo,
    Task,
    ProductName,
    Brand,
    SpecModel,
    Batch,
    BusinessName,
    BusinessAddress,
    BusinessKind,
    NominalProducer,
    Platform,
    SampledOn,
    Verdict,
    FailedItems,
    ReportReceived,
}

struct ColumnSpec {
    col: Col,
    /// The first name is the one the notice uses; the others are accepted too.
    names: &'static [&'static str],
    /// A required column must be in the file and filled on every row.
    required: bool,
    max_chars: usize,
}

const fn spec(
    col: Col,
    names: &'static [&'static str],
    required: bool,
    max_chars: usize,
) -> ColumnSpec {
    ColumnSpec {
        col,
        names,
        required,
        max_chars,
    }
}

const COLUMNS: [ColumnSpec; 15] = [
    spec(Col::ReportNo, &["报告编号"], true, MAX_REPORT_NO_CHARS),
    spec(
        Col::Task,
        &["任务", "任务名称"],
        true,
        MAX_RESULT_LINE_CHARS,
    ),
    spec(Col::ProductName, &["产品名称"], true, MAX_RESULT_LINE_CHARS),
    spec(Col::Brand, &["品牌", "商标"], false, MAX_RESULT_LINE_CHARS),
    spec(Col::SpecModel, &["规格型号"], false, MAX_RESULT_LINE_CHARS),
    spec(
        Col::Batch,
        &["生产日期或批号", "生产日期/批号"],
        false,
        MAX_RESULT_LINE_CHARS,
    ),
    spec(
        Col::BusinessName,
        &["受检单位"],
        true,
        MAX_RESULT_LINE_CHARS,
    ),
    spec(
        Col::BusinessAddress,
        &["受检单位地址"],
        true,
        MAX_RESULT_LINE_CHARS,
    ),
    spec(
        Col::BusinessKind,
        &["受检单位类型"],
        true,
        MAX_RESULT_LINE_CHARS,
    ),
    spec(
        Col::NominalProducer,
        &["标称生产厂家"],
        false,
        MAX_RESULT_LINE_CHARS,
    ),
    spec(
        Col::Platform,
        &["电子商务平台"],
        false,
        MAX_RESULT_LINE_CHARS,
    ),
    spec(Col::SampledOn, &["抽样日期"], true, MAX_RESULT_LINE_CHARS),
    spec(Col::Verdict, &["检验结论"], true, MAX_RESULT_LINE_CHARS),
    spec(
        Col::FailedItems,
        &["不合格项目"],
        false,
        MAX_FAILED_ITEMS_CHARS,
    ),
    spec(
        Col::ReportReceived,
        &["报告收到日期"],
        true,
        MAX_RESULT_LINE_CHARS,
    ),
];

/// The column headers a result list has, in order, as the notice names them: the
/// header row of a blank template. Each is `(name, required)`; an optional column
/// may be left out of a file (a list of passed products needs no 不合格项目).
pub fn result_columns() -> impl Iterator<Item = (&'static str, bool)> {
    COLUMNS.iter().map(|s| (s.names[0], s.required))
}

fn column_spec(col: Col) -> &'static ColumnSpec {
    &COLUMNS[col as usize]
}

/// How an institute writes "nothing here" in an optional cell.
fn is_placeholder(v: &str) -> bool {
    matches!(v, "/" | "／" | "-" | "—" | "——")
}

/// A header cell as compared: surrounding whitespace (full-width too) and a
/// byte-order mark left by a spreadsheet are not part of the name.
fn clean_header(h: &str) -> &str {
    h.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// A date as institutes write it: 2024-03-05, 2024/3/5 or 2024年3月5日.
pub fn parse_result_date(s: &str) -> Option<NaiveDate> {
    let parts: Vec<&str> = if let Some(rest) = s.strip_suffix('日') {
        let (y, rest) = rest.split_once('年')?;
        let (m, d) = rest.split_once('月')?;
        vec![y, m, d]
    } else if s.contains('-') {
        s.split('-').collect()
    } else {
        s.split('/').collect()
    };
    let [y, m, d] = parts.as_slice() else {
        return None;
    };
    let digits = |p: &str, min: usize, max: usize| {
        (min..=max).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(y, 4, 4) || !digits(m, 1, 2) || !digits(d, 1, 2) {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// Where each field's column is in the file.
struct Layout<'h> {
    header: &'h [String],
    index: [Option<usize>; COLUMNS.len()],
}

impl Layout<'_> {
    fn header_of(&self, col: Col) -> &str {
        match self.index[col as usize] {
            Some(i) => clean_header(&self.header[i]),
            None => column_spec(col).names[0],
        }
    }
}

fn layout(header_row: usize, header: &[String]) -> (Layout<'_>, Vec<CellProblem>) {
    let mut index = [None; COLUMNS.len()];
    let mut problems = Vec::new();
    for (i, h) in header.iter().enumerate() {
        let h = clean_header(h);
        let Some(spec) = COLUMNS.iter().find(|s| s.names.contains(&h)) else {
            continue;
        };
        match index[spec.col as usize] {
            None => index[spec.col as usize] = Some(i),
            Some(first) => problems.push(CellProblem::new(
                header_row,
                h,
                format!(
                    "「{h}」与第{}列「{}」是同一列，请只保留一列",
                    first + 1,
                    clean_header(&header[first])
                ),
            )),
        }
    }
    for spec in &COLUMNS {
        if spec.required && index[spec.col as usize].is_none() {
            let names = spec.names.join("」或「");
            problems.push(CellProblem::new(
                header_row,
                spec.names[0],
                format!("缺少「{names}」列"),
            ));
        }
    }
    (Layout { header, index }, problems)
}

/// One row's cells, read and checked.
struct RowReader<'a> {
    layout: &'a Layout<'a>,
    cells: &'a [String],
    row: usize,
    problems: Vec<CellProblem>,
}

impl RowReader<'_> {
    fn problem(&mut self, col: Col, reason: impl Into<String>) {
        let column = self.layout.header_of(col).to_string();
        self.problems.push(CellProblem {
            row: self.row,
            column,
            reason: reason.into(),
        });
    }

    /// The cell's text, checked by the text rules: `None` when blank (a problem
    /// when the column is required) or when the column is absent.
    fn text(&mut self, col: Col) -> Option<String> {
        let spec = column_spec(col);
        let i = self.layout.index[col as usize]?;
        let raw = self.cells.get(i).map(String::as_str).unwrap_or("");
        let label = self.layout.header_of(col).to_string();
        match check_text(&label, &label, raw, spec.max_chars, spec.required) {
            Ok(Some(v)) if !spec.required && is_placeholder(&v) => None,
            Ok(v) => v,
            Err(p) => {
                self.problem(col, p.message);
                None
            }
        }
    }

    fn date(&mut self, col: Col) -> Option<NaiveDate> {
        let v = self.text(col)?;
        let d = parse_result_date(&v);
        if d.is_none() {
            let label = self.layout.header_of(col).to_string();
            self.problem(
                col,
                format!("{label}「{v}」不是有效日期，请写成2024-03-05、2024/3/5或2024年3月5日"),
            );
        }
        d
    }
}

/// The results in a table read from the institute's list: `header` is the sheet's
/// row 1, `rows[i]` its row `i + 2`. Blank rows are skipped; every problem of
/// every row is collected, and no result is returned unless there is none.
pub fn results_from_table(
    header: &[String],
    rows: &[Vec<String>],
) -> Result<Vec<InspectionResult>, Vec<CellProblem>> {
    results_from_table_at(1, header, rows)
}

/// [`results_from_table`] for a sheet whose header is on row `header_row` (a
/// file with blank or title rows above the table): `rows[i]` is row
/// `header_row + 1 + i`, and every row number in a problem, its reason included,
/// is the sheet's.
pub fn results_from_table_at(
    header_row: usize,
    header: &[String],
    rows: &[Vec<String>],
) -> Result<Vec<InspectionResult>, Vec<CellProblem>> {
    let blank = |r: &Vec<String>| r.iter().all(|c| c.trim().is_empty());
    let filled = rows.iter().filter(|r| !blank(r)).count();
    if filled > MAX_RESULT_ROWS {
        let first_over = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| !blank(r))
            .nth(MAX_RESULT_ROWS)
            .map(|(i, _)| header_row + 1 + i)
            .unwrap_or(header_row);
        return Err(vec![CellProblem::new(
            first_over,
            "",
            format!(
                "一个文件最多{MAX_RESULT_ROWS}行检验结果，本文件有{filled}行，请分成几个文件导入"
            ),
        )]);
    }

    let (layout, mut problems) = layout(header_row, header);
    let mut results = Vec::with_capacity(filled);
    // Report number → the row it first appeared on.
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(filled);
    for (i, cells) in rows.iter().enumerate() {
        if blank(cells) {
            continue;
        }
        let mut r = RowReader {
            layout: &layout,
            cells,
            row: header_row + 1 + i,
            problems: Vec::new(),
        };
        let report_no = r.text(Col::ReportNo);
        if let Some(no) = &report_no {
            if let Some(first) = seen.get(no) {
                r.problem(Col::ReportNo, format!("报告编号「{no}」与第{first}行重复"));
            } else {
                seen.insert(no.clone(), r.row);
            }
        }
        let task = r.text(Col::Task);
        let product_name = r.text(Col::ProductName);
        let brand = r.text(Col::Brand);
        let spec_model = r.text(Col::SpecModel);
        let batch = r.text(Col::Batch);
        let business_name = r.text(Col::BusinessName);
        let business_address = r.text(Col::BusinessAddress);
        let business_kind = r.text(Col::BusinessKind).and_then(|v| {
            let k = BusinessKind::from_label_zh(&v);
            if k.is_none() {
                r.problem(
                    Col::BusinessKind,
                    format!("受检单位类型「{v}」应为生产者、销售者或电子商务平台内经营者"),
                );
            }
            k
        });
        let nominal_producer = r.text(Col::NominalProducer);
        let platform = r.text(Col::Platform);
        let sampled_on = r.date(Col::SampledOn);
        let verdict = r.text(Col::Verdict).and_then(|v| {
            let verdict = verdict_from_zh(&v);
            if verdict.is_none() {
                r.problem(Col::Verdict, format!("检验结论「{v}」应为合格或不合格"));
            }
            verdict
        });
        let failed_items = r.text(Col::FailedItems);
        let report_received = r.date(Col::ReportReceived);

        match (verdict, &failed_items) {
            (Some(Verdict::Fail), None) => {
                r.problem(Col::FailedItems, "检验结论为不合格，请填写不合格项目")
            }
            (Some(Verdict::Pass), Some(_)) => r.problem(
                Col::FailedItems,
                "检验结论为合格，不合格项目应为空，请核对该行是否错列",
            ),
            _ => {}
        }
        if business_kind == Some(BusinessKind::PlatformSeller) && platform.is_none() {
            r.problem(
                Col::Platform,
                "受检单位为电子商务平台内经营者，请填写电子商务平台",
            );
        }
        if let (Some(s), Some(rec)) = (sampled_on, report_received) {
            if rec < s {
                r.problem(
                    Col::ReportReceived,
                    format!("报告收到日期{rec}早于抽样日期{s}，请核对"),
                );
            }
        }

        if !r.problems.is_empty() {
            problems.append(&mut r.problems);
            continue;
        }
        if !problems.is_empty() {
            // Nothing is returned anyway: only keep checking.
            continue;
        }
        if let (
            Some(report_no),
            Some(task),
            Some(product_name),
            Some(business_name),
            Some(business_address),
            Some(business_kind),
            Some(sampled_on),
            Some(verdict),
            Some(report_received),
        ) = (
            report_no,
            task,
            product_name,
            business_name,
            business_address,
            business_kind,
            sampled_on,
            verdict,
            report_received,
        ) {
            results.push(InspectionResult {
                report_no,
                task,
                product_name,
                brand,
                spec_model,
                batch,
                business_name,
                business_address,
                business_kind,
                nominal_producer,
                platform,
                sampled_on,
                verdict,
                failed_items,
                report_received,
            });
        }
        // Otherwise a required column is missing, which is a problem already.
    }
    if problems.is_empty() {
        Ok(results)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests;
