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
    pub fn label_zh(self) -> &'static str {
        match self {
            BusinessKind::Producer => "生产者",
            BusinessKind::Seller => "销售者",
            BusinessKind::PlatformSeller => "电子商务平台内经营者",
        }
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

<<<<<<< HEAD
fn layout(header: &[String]) -> (Layout<'_>, Vec<CellProblem>) {
=======
fn layout(header_row: usize, header: &[String]) -> (Layout<'_>, Vec<CellProblem>) {
>>>>>>> results-import
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
<<<<<<< HEAD
                1,
=======
                header_row,
>>>>>>> results-import
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
<<<<<<< HEAD
                1,
=======
                header_row,
>>>>>>> results-import
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
<<<<<<< HEAD
=======
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
>>>>>>> results-import
    let blank = |r: &Vec<String>| r.iter().all(|c| c.trim().is_empty());
    let filled = rows.iter().filter(|r| !blank(r)).count();
    if filled > MAX_RESULT_ROWS {
        let first_over = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| !blank(r))
            .nth(MAX_RESULT_ROWS)
<<<<<<< HEAD
            .map(|(i, _)| i + 2)
            .unwrap_or(1);
=======
            .map(|(i, _)| header_row + 1 + i)
            .unwrap_or(header_row);
>>>>>>> results-import
        return Err(vec![CellProblem::new(
            first_over,
            "",
            format!(
                "一个文件最多{MAX_RESULT_ROWS}行检验结果，本文件有{filled}行，请分成几个文件导入"
            ),
        )]);
    }

<<<<<<< HEAD
    let (layout, mut problems) = layout(header);
=======
    let (layout, mut problems) = layout(header_row, header);
>>>>>>> results-import
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
<<<<<<< HEAD
            row: i + 2,
=======
            row: header_row + 1 + i,
>>>>>>> results-import
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
mod tests {
    use super::*;

    const HEADER: [&str; 15] = [
        "报告编号",
        "任务",
        "产品名称",
        "品牌",
        "规格型号",
        "生产日期或批号",
        "受检单位",
        "受检单位地址",
        "受检单位类型",
        "标称生产厂家",
        "电子商务平台",
        "抽样日期",
        "检验结论",
        "不合格项目",
        "报告收到日期",
    ];

    fn strings(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| c.to_string()).collect()
    }

    fn header() -> Vec<String> {
        strings(&HEADER)
    }

    /// A good row: a failed product sampled from a seller naming its producer.
    fn failed_row(no: &str) -> Vec<String> {
        strings(&[
            no,
            "2024年重庆市电热水壶产品质量监督抽查",
            "电热水壶",
            "美的",
            "MK-15E01",
            "2024-01-08",
            "重庆某某商贸有限公司",
            "重庆市渝中区解放碑步行街1号",
            "销售者",
            "广东某某电器有限公司",
            "",
            "2024-03-05",
            "不合格",
            "泄漏电流和电气强度",
            "2024-04-01",
        ])
    }

    /// A good row: a passed product from its producer.
    fn passed_row(no: &str) -> Vec<String> {
        strings(&[
            no,
            "2024年重庆市电热水壶产品质量监督抽查",
            "电热水壶",
            "/",
            "",
            "",
            "重庆某某电器有限公司",
            "重庆市江北区观音桥1号",
            "生产者",
            "",
            "",
            "2024/3/5",
            "合格",
            "/",
            "2024年4月1日",
        ])
    }

    fn set(row: &mut [String], column: &str, value: &str) {
        let i = HEADER.iter().position(|h| *h == column).unwrap();
        row[i] = value.to_string();
    }

    /// The problems as (row, column) pairs.
    fn places(problems: &[CellProblem]) -> Vec<(usize, &str)> {
        problems
            .iter()
            .map(|p| (p.row, p.column.as_str()))
            .collect()
    }

    #[test]
    fn business_kind_names_match_serde_and_labels_parse_back() {
        crate::wire::assert_names_match_serde(&BusinessKind::ALL, |k| k.as_str());
        for k in BusinessKind::ALL {
            assert_eq!(BusinessKind::from_label_zh(k.label_zh()), Some(k));
        }
        assert_eq!(BusinessKind::from_label_zh("电子商务平台经营者"), None);
    }

    #[test]
    fn a_good_table_gives_every_field() {
        let results = results_from_table(
            &header(),
            &[failed_row("W2024-001"), passed_row("W2024-002")],
        )
        .unwrap();
        assert_eq!(results.len(), 2);
        let f = &results[0];
        assert_eq!(f.report_no, "W2024-001");
        assert_eq!(f.task, "2024年重庆市电热水壶产品质量监督抽查");
        assert_eq!(f.product_name, "电热水壶");
        assert_eq!(f.brand.as_deref(), Some("美的"));
        assert_eq!(f.spec_model.as_deref(), Some("MK-15E01"));
        assert_eq!(f.batch.as_deref(), Some("2024-01-08"));
        assert_eq!(f.business_name, "重庆某某商贸有限公司");
        assert_eq!(f.business_address, "重庆市渝中区解放碑步行街1号");
        assert_eq!(f.business_kind, BusinessKind::Seller);
        assert_eq!(f.nominal_producer.as_deref(), Some("广东某某电器有限公司"));
        assert_eq!(f.platform, None);
        assert_eq!(f.sampled_on, NaiveDate::from_ymd_opt(2024, 3, 5).unwrap());
        assert_eq!(f.verdict, Verdict::Fail);
        assert_eq!(f.failed_items.as_deref(), Some("泄漏电流和电气强度"));
        assert_eq!(
            f.report_received,
            NaiveDate::from_ymd_opt(2024, 4, 1).unwrap()
        );
        assert!(f.serve_producer());

        let p = &results[1];
        assert_eq!(p.verdict, Verdict::Pass);
        assert_eq!(p.brand, None, "「/」 means nothing in an optional cell");
        assert_eq!(p.failed_items, None);
        assert_eq!(p.spec_model, None);
        assert_eq!(p.sampled_on, NaiveDate::from_ymd_opt(2024, 3, 5).unwrap());
        assert_eq!(
            p.report_received,
            NaiveDate::from_ymd_opt(2024, 4, 1).unwrap()
        );
        assert!(!p.serve_producer());
    }

    #[test]
    fn serve_producer_only_for_a_seller_naming_a_producer() {
        let mut r = results_from_table(&header(), &[failed_row("A")]).unwrap()[0].clone();
        for (kind, producer, serve) in [
            (BusinessKind::Producer, Some("厂"), false),
            (BusinessKind::Seller, Some("厂"), true),
            (BusinessKind::PlatformSeller, Some("厂"), true),
            (BusinessKind::Seller, None, false),
            (BusinessKind::PlatformSeller, None, false),
        ] {
            r.business_kind = kind;
            r.nominal_producer = producer.map(String::from);
            assert_eq!(r.serve_producer(), serve, "{kind:?} {producer:?}");
        }
    }

    #[test]
    fn headers_are_trimmed_variants_accepted_columns_in_any_order_extras_ignored() {
        let mut h = header();
        h[1] = " 任务名称 ".into();
        h[3] = "\u{feff}商标\u{3000}".into();
        h[5] = "生产日期/批号".into();
        // Swap two columns and add an unknown one at the end.
        h.swap(0, 2);
        h.push("备注".into());
        let mut row = failed_row("B-1");
        row.swap(0, 2);
        row.push("随便写点什么".into());
        let r = &results_from_table(&h, &[row]).unwrap()[0];
        assert_eq!(r.report_no, "B-1");
        assert_eq!(r.product_name, "电热水壶");
        assert_eq!(r.brand.as_deref(), Some("美的"));
        assert_eq!(r.batch.as_deref(), Some("2024-01-08"));
        assert_eq!(r.task, "2024年重庆市电热水壶产品质量监督抽查");
    }

    #[test]
    fn optional_columns_may_be_left_out_of_a_file_of_passed_products() {
        let keep = |h: &str| {
            !matches!(
                h,
                "品牌"
                    | "规格型号"
                    | "生产日期或批号"
                    | "标称生产厂家"
                    | "电子商务平台"
                    | "不合格项目"
            )
        };
        let h: Vec<String> = HEADER
            .iter()
            .filter(|h| keep(h))
            .map(|h| h.to_string())
            .collect();
        let row: Vec<String> = HEADER
            .iter()
            .zip(passed_row("C-1"))
            .filter(|(h, _)| keep(h))
            .map(|(_, v)| v)
            .collect();
        let r = &results_from_table(&h, std::slice::from_ref(&row)).unwrap()[0];
        assert_eq!((r.brand.as_ref(), r.failed_items.as_ref()), (None, None));

        // A failed row then lacks its 不合格项目 column: named as expected.
        let mut failed = row;
        failed[h.iter().position(|c| c == "检验结论").unwrap()] = "不合格".into();
        let problems = results_from_table(&h, &[failed]).unwrap_err();
        assert_eq!(places(&problems), [(2, "不合格项目")]);
    }

    #[test]
    fn each_missing_required_column_is_one_problem_on_row_1() {
        let h: Vec<String> = header()
            .into_iter()
            .filter(|c| c != "报告编号" && c != "抽样日期")
            .collect();
        let rows: Vec<Vec<String>> = (0..3)
            .map(|i| {
                HEADER
                    .iter()
                    .zip(failed_row(&format!("D-{i}")))
                    .filter(|(h, _)| **h != "报告编号" && **h != "抽样日期")
                    .map(|(_, v)| v)
                    .collect()
            })
            .collect();
        let problems = results_from_table(&h, &rows).unwrap_err();
        assert_eq!(places(&problems), [(1, "报告编号"), (1, "抽样日期")]);
        assert_eq!(problems[0].reason, "缺少「报告编号」列");
        let task_missing: Vec<String> = header().into_iter().filter(|c| c != "任务").collect();
        assert_eq!(
            results_from_table(&task_missing, &[]).unwrap_err()[0].reason,
            "缺少「任务」或「任务名称」列"
        );
    }

    #[test]
    fn a_column_given_twice_is_a_problem() {
        let mut h = header();
        h.push("商标".into());
        let mut row = failed_row("E-1");
        row.push("美的".into());
        let problems = results_from_table(&h, &[row]).unwrap_err();
        assert_eq!(places(&problems), [(1, "商标")]);
        assert!(problems[0].reason.contains("第4列「品牌」"), "{problems:?}");
    }

    #[test]
    fn every_problem_of_every_row_is_listed_with_its_row_and_column() {
        let mut rows = vec![failed_row("F-1")]; // row 2: good
        let mut r3 = failed_row("F-2");
        set(&mut r3, "抽样日期", "2024-02-30");
        set(&mut r3, "检验结论", "基本合格");
        rows.push(r3);
        rows.push(vec![String::new(); 15]); // row 4: blank, skipped
        rows.push(vec![" ".into(), "\t".into()]); // row 5: blank too
        let mut r6 = failed_row("F-3");
        set(&mut r6, "不合格项目", "  ");
        set(&mut r6, "受检单位类型", "经销商");
        rows.push(r6);
        rows.push(failed_row("F-1")); // row 7: duplicate of row 2
        let mut r8 = passed_row("F-4");
        set(&mut r8, "受检单位", "ABC\u{202E}DEF");
        set(&mut r8, "产品名称", "");
        set(&mut r8, "报告收到日期", "2024-03-04");
        rows.push(r8);
        let mut r9 = passed_row("F-5");
        set(&mut r9, "不合格项目", "外观");
        set(&mut r9, "受检单位类型", "电子商务平台内经营者");
        set(&mut r9, "规格型号", &"型".repeat(MAX_RESULT_LINE_CHARS + 1));
        rows.push(r9);

        let problems = results_from_table(&header(), &rows).unwrap_err();
        assert_eq!(
            places(&problems),
            [
                (3, "抽样日期"),
                (3, "检验结论"),
                (6, "受检单位类型"),
                (6, "不合格项目"),
                (7, "报告编号"),
                (8, "产品名称"),
                (8, "受检单位"),
                (8, "报告收到日期"),
                (9, "规格型号"),
                (9, "不合格项目"),
                (9, "电子商务平台"),
            ]
        );
        let reason = |row: usize, column: &str| {
            problems
                .iter()
                .find(|p| p.row == row && p.column == column)
                .unwrap()
                .reason
                .clone()
        };
        assert!(reason(3, "抽样日期").contains("2024-02-30"));
        assert_eq!(
            reason(3, "检验结论"),
            "检验结论「基本合格」应为合格或不合格"
        );
        assert_eq!(
            reason(6, "不合格项目"),
            "检验结论为不合格，请填写不合格项目"
        );
        assert_eq!(reason(7, "报告编号"), "报告编号「F-1」与第2行重复");
        assert_eq!(reason(8, "产品名称"), "请填写产品名称");
        assert!(reason(8, "受检单位").contains("控制字符"));
        assert!(reason(8, "报告收到日期").contains("早于抽样日期"));
        assert!(reason(9, "规格型号").contains("最多300个字"));
    }

    #[test]
    fn problems_name_the_header_as_the_file_writes_it() {
        let mut h = header();
        h[0] = "  报告编号 ".into();
        h[3] = "商标".into();
        let mut row = failed_row("");
        set(&mut row, "品牌", "a\u{7}b");
        let problems = results_from_table(&h, &[row]).unwrap_err();
        assert_eq!(places(&problems), [(2, "报告编号"), (2, "商标")]);
    }

    #[test]
    fn short_rows_read_as_blank_cells() {
        let row = strings(&["G-1", "任务"]);
        let problems = results_from_table(&header(), &[row]).unwrap_err();
        assert_eq!(
            places(&problems),
            [
                (2, "产品名称"),
                (2, "受检单位"),
                (2, "受检单位地址"),
                (2, "受检单位类型"),
                (2, "抽样日期"),
                (2, "检验结论"),
                (2, "报告收到日期"),
            ]
        );
    }

    #[test]
    fn dates_in_the_three_usual_spellings_and_nothing_else() {
        let d = NaiveDate::from_ymd_opt(2024, 3, 5).unwrap();
        for ok in [
            "2024-03-05",
            "2024-3-5",
            "2024/03/05",
            "2024/3/5",
            "2024年3月5日",
            "2024年03月05日",
        ] {
            assert_eq!(parse_result_date(ok), Some(d), "{ok}");
        }
        for bad in [
            "",
            "2024-3",
            "24-03-05",
            "2024-03-05 00:00:00",
            "2024.03.05",
            "20240305",
            "45356",
            "2024-02-30",
            "2024年3月5",
            "2024-003-05",
            "2024/3-5",
            "２０２４-03-05",
            "+2024-03-05",
        ] {
            assert_eq!(parse_result_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn cells_are_trimmed() {
        let mut row = failed_row(" H-1 ");
        set(&mut row, "检验结论", " 不合格\u{3000}");
        set(&mut row, "抽样日期", " 2024-03-05\n");
        set(&mut row, "受检单位类型", "\t销售者 ");
        let r = &results_from_table(&header(), &[row]).unwrap()[0];
        assert_eq!(r.report_no, "H-1");
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(r.business_kind, BusinessKind::Seller);
    }

    #[test]
    fn an_empty_table_is_no_results() {
        assert_eq!(results_from_table(&header(), &[]), Ok(vec![]));
        assert_eq!(
            results_from_table(&header(), &[vec![], vec![String::new()]]),
            Ok(vec![])
        );
    }

    #[test]
    fn more_than_the_cap_is_one_problem() {
        let mut rows: Vec<Vec<String>> = (0..MAX_RESULT_ROWS)
            .map(|i| passed_row(&format!("N{i}")))
            .collect();
        assert_eq!(
            results_from_table(&header(), &rows).unwrap().len(),
            MAX_RESULT_ROWS
        );
        rows.insert(0, vec![]); // a blank row does not count, but shifts the rows
        rows.push(passed_row("N-over"));
        let problems = results_from_table(&header(), &rows).unwrap_err();
        assert_eq!(places(&problems), [(MAX_RESULT_ROWS + 3, "")]);
        assert!(problems[0].reason.contains("20001行"));
    }

    #[test]
<<<<<<< HEAD
=======
    fn a_header_below_row_1_numbers_every_problem_as_the_sheet_does() {
        let mut dup = failed_row("K-1");
        set(&mut dup, "抽样日期", "昨天");
        let rows = vec![failed_row("K-1"), vec![], dup];
        let mut h = header();
        h[2] = "品名".into(); // 产品名称 missing
        let problems = results_from_table_at(4, &h, &rows).unwrap_err();
        assert_eq!(
            places(&problems),
            [(4, "产品名称"), (7, "报告编号"), (7, "抽样日期")]
        );
        assert_eq!(problems[1].reason, "报告编号「K-1」与第5行重复");
    }

    #[test]
>>>>>>> results-import
    fn a_result_round_trips_through_json() {
        let r = results_from_table(&header(), &[failed_row("J-1")]).unwrap();
        let json = serde_json::to_value(&r[0]).unwrap();
        assert_eq!(json["business_kind"], "seller");
        assert_eq!(json["verdict"], "fail");
        assert_eq!(json["sampled_on"], "2024-03-05");
        let back: InspectionResult = serde_json::from_value(json).unwrap();
        assert_eq!(back, r[0]);
    }
}
