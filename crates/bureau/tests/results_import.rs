//! Inspection results in (issue 12, item 2): the institute's result list read
//! from real files, CSV in UTF-8 and GB18030 and xlsx written as Excel writes
//! it (date cells, numeric report numbers), and bad files refused whole with
//! every problem's row and column as the officer sees them in Excel.

use chrono::NaiveDate;
use fieldlead_bureau::results_import::{read_results, ResultsImportError, MAX_RESULTS_FILE_BYTES};
use fieldlead_domain::inspection::{BusinessKind, CellProblem, InspectionResult};
use fieldlead_domain::postprocess::Verdict;
use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};

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

const TASK: &str = "2024年重庆市电热水壶产品质量监督抽查";

/// Three good rows: a failed product from a seller naming its producer, a passed
/// one from its producer, a failed one from a platform shop.
fn good_rows() -> Vec<[&'static str; 15]> {
    vec![
        [
            "2024001",
            TASK,
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
            "泄漏电流和电气强度\n标志和说明",
            "2024-04-01",
        ],
        [
            "2024002",
            TASK,
            "电热水壶",
            "苏泊尔",
            "SWF17E",
            "20240112",
            "重庆某某电器有限公司",
            "重庆市江北区观音桥1号",
            "生产者",
            "",
            "",
            "2024-03-06",
            "合格",
            "",
            "2024-04-02",
        ],
        [
            "2024003",
            TASK,
            "电热水壶",
            "",
            "1.5",
            "",
            "某某小家电专营店",
            "浙江省杭州市余杭区某路1号",
            "电子商务平台内经营者",
            "",
            "某东",
            "2024-03-07",
            "不合格",
            "耐热和耐燃",
            "2024-04-03",
        ],
    ]
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn assert_good(results: &[InspectionResult]) {
    assert_eq!(results.len(), 3, "{results:#?}");
    let a = &results[0];
    assert_eq!(a.report_no, "2024001");
    assert_eq!(a.task, TASK);
    assert_eq!(a.product_name, "电热水壶");
    assert_eq!(a.brand.as_deref(), Some("美的"));
    assert_eq!(a.spec_model.as_deref(), Some("MK-15E01"));
    assert_eq!(a.batch.as_deref(), Some("2024-01-08"));
    assert_eq!(a.business_name, "重庆某某商贸有限公司");
    assert_eq!(a.business_address, "重庆市渝中区解放碑步行街1号");
    assert_eq!(a.business_kind, BusinessKind::Seller);
    assert_eq!(a.nominal_producer.as_deref(), Some("广东某某电器有限公司"));
    assert_eq!(a.platform, None);
    assert_eq!(a.sampled_on, date(2024, 3, 5));
    assert_eq!(a.verdict, Verdict::Fail);
    assert_eq!(
        a.failed_items.as_deref(),
        Some("泄漏电流和电气强度\n标志和说明")
    );
    assert_eq!(a.report_received, date(2024, 4, 1));
    assert!(a.serve_producer());

    let b = &results[1];
    assert_eq!(b.report_no, "2024002");
    assert_eq!(b.batch.as_deref(), Some("20240112"));
    assert_eq!(b.business_kind, BusinessKind::Producer);
    assert_eq!(b.verdict, Verdict::Pass);
    assert_eq!(b.failed_items, None);
    assert_eq!(b.nominal_producer, None);
    assert_eq!(b.sampled_on, date(2024, 3, 6));
    assert_eq!(b.report_received, date(2024, 4, 2));
    assert!(!b.serve_producer());

    let c = &results[2];
    assert_eq!(c.report_no, "2024003");
    assert_eq!(c.brand, None);
    assert_eq!(c.spec_model.as_deref(), Some("1.5"));
    assert_eq!(c.business_kind, BusinessKind::PlatformSeller);
    assert_eq!(c.platform.as_deref(), Some("某东"));
    assert_eq!(c.failed_items.as_deref(), Some("耐热和耐燃"));
    assert_eq!(c.sampled_on, date(2024, 3, 7));
    assert_eq!(c.report_received, date(2024, 4, 3));
}

/// A CSV as Excel writes it: CRLF, quotes only where needed.
fn csv_text<R: AsRef<[&'static str]>>(header: &[&str], rows: &[R]) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(header).unwrap();
    for r in rows {
        w.write_record(r.as_ref()).unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

fn with_bom(text: &str) -> Vec<u8> {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

fn gb18030(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::GB18030.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

fn problems(e: ResultsImportError) -> Vec<CellProblem> {
    assert_eq!(e.code(), "results_rows", "{e}");
    match e {
        ResultsImportError::Rows(p) => p,
        other => panic!("{other:?}"),
    }
}

fn places(problems: &[CellProblem]) -> Vec<(usize, &str)> {
    problems
        .iter()
        .map(|p| (p.row, p.column.as_str()))
        .collect()
}

#[test]
fn a_good_csv_in_utf8_with_a_byte_order_mark() {
    let text = csv_text(&HEADER, &good_rows());
    assert!(text.contains("\"泄漏电流和电气强度\n标志和说明\""));
    let results = read_results(&with_bom(&text), "结果清单.csv").unwrap();
    assert_good(&results);
    // And without the mark.
    assert_eq!(
        read_results(text.as_bytes(), "结果清单.csv").unwrap(),
        results
    );
}

#[test]
fn the_same_csv_in_gb18030_as_excel_on_chinese_windows_saves_it() {
    let text = csv_text(&HEADER, &good_rows());
    let bytes = gb18030(&text);
    assert!(std::str::from_utf8(&bytes).is_err(), "really GB18030");
    let results = read_results(&bytes, "结果清单.csv").unwrap();
    assert_good(&results);
    assert_eq!(
        results,
        read_results(&with_bom(&text), "结果清单.csv").unwrap()
    );
}

#[test]
fn a_tab_separated_utf16_file_as_excel_saves_unicode_text() {
    let text = good_rows().iter().fold(HEADER.join("\t"), |acc, r| {
        let cells: Vec<String> = r
            .iter()
            .map(|c| {
                if c.contains('\n') {
                    format!("\"{c}\"")
                } else {
                    c.to_string()
                }
            })
            .collect();
        acc + "\r\n" + &cells.join("\t")
    });
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    assert_good(&read_results(&bytes, "结果清单.txt").unwrap());
}

/// An xlsx as an institute's Excel writes it: report numbers typed as numbers,
/// dates as real date cells in two display formats, `top` blank rows first.
fn xlsx(rows: &[[&str; 15]], top: u32, header: &[&str]) -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("检验结果").unwrap();
    let iso = Format::new().set_num_format("yyyy-mm-dd");
    let zh = Format::new().set_num_format("yyyy\"年\"m\"月\"d\"日\"");
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(top, c as u16, *h).unwrap();
    }
    for (i, r) in rows.iter().enumerate() {
        let row = top + 1 + i as u32;
        for (c, v) in r.iter().enumerate() {
            let c16 = c as u16;
            let name = HEADER[c];
            let as_date = || {
                let d = NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()?;
                use chrono::Datelike;
                ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8).ok()
            };
            match name {
                _ if v.is_empty() => {}
                "报告编号" | "规格型号" if v.parse::<f64>().is_ok() => {
                    sheet
                        .write_number(row, c16, v.parse::<f64>().unwrap())
                        .unwrap();
                }
                "抽样日期" | "报告收到日期" if as_date().is_some() => {
                    let fmt = if name == "抽样日期" { &iso } else { &zh };
                    sheet
                        .write_datetime_with_format(row, c16, as_date().unwrap(), fmt)
                        .unwrap();
                }
                _ => {
                    sheet.write_string(row, c16, *v).unwrap();
                }
            }
        }
    }
    // A second sheet is never read.
    book.add_worksheet()
        .write_string(0, 0, "说明：本表由检验机构填写")
        .unwrap();
    book.save_to_buffer().unwrap()
}

#[test]
fn a_good_xlsx_with_date_cells_and_numeric_report_numbers() {
    let bytes = xlsx(&good_rows(), 0, &HEADER);
    assert!(bytes.starts_with(b"PK\x03\x04"));
    // The name does not decide: content does.
    let results = read_results(&bytes, "结果清单.csv").unwrap();
    assert_good(&results);
}

#[test]
fn the_xlsx_header_may_start_below_blank_rows() {
    let results = read_results(&xlsx(&good_rows(), 2, &HEADER), "结果.xlsx").unwrap();
    assert_good(&results);
}

/// Rows 2.. of a file whose every row has one thing wrong.
fn bad_rows() -> Vec<[&'static str; 15]> {
    let good = good_rows();
    let mut bad_date = good[0];
    bad_date[0] = "2024011";
    bad_date[11] = "2024-02-30";
    let mut no_items = good[0];
    no_items[0] = "2024012";
    no_items[13] = "";
    let mut duplicate = good[1];
    duplicate[0] = "2024001";
    let mut control = good[1];
    control[0] = "2024013";
    control[6] = "重庆\u{202E}某某电器有限公司";
    vec![good[0], bad_date, no_items, duplicate, control, good[2]]
}

fn assert_bad(found: &[CellProblem], first: usize) {
    assert_eq!(
        places(found),
        [
            (first + 1, "抽样日期"),
            (first + 2, "不合格项目"),
            (first + 3, "报告编号"),
            (first + 4, "受检单位"),
        ],
        "{found:#?}"
    );
    assert!(
        found[0].reason.contains("2024-02-30"),
        "{}",
        found[0].reason
    );
    assert_eq!(found[1].reason, "检验结论为不合格，请填写不合格项目");
    assert_eq!(
        found[2].reason,
        format!("报告编号「2024001」与第{first}行重复")
    );
    assert!(found[3].reason.contains("控制字符"), "{}", found[3].reason);
}

#[test]
fn a_bad_csv_lists_every_problem_and_gives_nothing() {
    let text = csv_text(&HEADER, &bad_rows());
    let err = read_results(&with_bom(&text), "结果清单.csv").unwrap_err();
    assert!(err.to_string().contains("4处错误"), "{err}");
    assert_bad(&problems(err), 2);
    let err = read_results(&gb18030(&text), "结果清单.csv").unwrap_err();
    assert_bad(&problems(err), 2);
}

#[test]
fn a_bad_xlsx_lists_every_problem_at_its_excel_row() {
    let err = read_results(&xlsx(&bad_rows(), 0, &HEADER), "结果.xlsx").unwrap_err();
    assert_bad(&problems(err), 2);
    // Header on Excel's row 4: every row number follows.
    let err = read_results(&xlsx(&bad_rows(), 3, &HEADER), "结果.xlsx").unwrap_err();
    assert_bad(&problems(err), 5);
}

#[test]
fn csv_rows_count_as_excel_shows_them() {
    // Row 1 blank, header on row 2, a good row 3 whose cell spans two lines, row 4
    // blank, row 5 bad.
    let good = good_rows();
    let mut bad = good[1];
    bad[12] = "基本合格";
    let body = csv_text(&HEADER, &[good[0], bad]);
    // The cell's own line break is a bare LF, so split on CRLF gives: header,
    // row 3 (both its lines), row 5.
    let mut lines: Vec<&str> = body.split("\r\n").collect();
    assert!(lines[1].contains('\n'));
    lines.insert(2, "");
    let text = format!("\r\n{}", lines.join("\r\n"));
    let found = problems(read_results(text.as_bytes(), "r.csv").unwrap_err());
    assert_eq!(places(&found), [(5, "检验结论")], "{found:#?}");
    assert_eq!(found[0].reason, "检验结论「基本合格」应为合格或不合格");
}

#[test]
fn missing_columns_are_one_problem_each_on_the_header_row() {
    let header: Vec<&str> = HEADER
        .iter()
        .copied()
        .filter(|h| *h != "检验结论" && *h != "受检单位地址")
        .collect();
    let rows: Vec<Vec<&'static str>> = good_rows()
        .iter()
        .map(|r| {
            HEADER
                .iter()
                .zip(r)
                .filter(|(h, _)| **h != "检验结论" && **h != "受检单位地址")
                .map(|(_, v)| *v)
                .collect()
        })
        .collect();
    let text = csv_text(&header, &rows);
    let found = problems(read_results(text.as_bytes(), "r.csv").unwrap_err());
    assert_eq!(places(&found), [(1, "受检单位地址"), (1, "检验结论")]);
    assert_eq!(found[1].reason, "缺少「检验结论」列");

    // In an xlsx whose header is on row 3, the header's row is named.
    let mut blank = HEADER;
    blank[6] = "单位名称";
    let found = problems(read_results(&xlsx(&good_rows(), 2, &blank), "r.xlsx").unwrap_err());
    assert_eq!(places(&found), [(3, "受检单位")]);
}

#[test]
fn an_error_cell_in_an_xlsx_is_a_problem() {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in HEADER.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (c, v) in good_rows()[1].iter().enumerate() {
        sheet.write_string(1, c as u16, *v).unwrap();
    }
    sheet
        .write_formula(
            1,
            3,
            Formula::new("=VLOOKUP(A2,B:C,2,0)").set_result("#N/A"),
        )
        .unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let found = problems(read_results(&bytes, "r.xlsx").unwrap_err());
    assert_eq!(places(&found), [(2, "品牌")], "{found:#?}");
    assert!(found[0].reason.contains("#N/A"), "{}", found[0].reason);
}

#[test]
fn empty_files_and_header_only_files_are_empty() {
    for bytes in [
        Vec::new(),
        b"\xEF\xBB\xBF".to_vec(),
        b"\r\n\r\n".to_vec(),
        with_bom(&csv_text::<[&str; 15]>(&HEADER, &[])),
        xlsx(&[], 0, &[]),
        xlsx(&[], 0, &HEADER),
    ] {
        let err = read_results(&bytes, "空.csv").unwrap_err();
        assert_eq!(err.code(), "results_empty", "{err:?}");
        assert_eq!(err.to_string(), "「空.csv」中没有检验结果");
    }
}

#[test]
fn too_large_unreadable_and_old_excel_files_are_refused() {
    let big = vec![b'a'; MAX_RESULTS_FILE_BYTES + 1];
    let err = read_results(&big, "大.csv").unwrap_err();
    assert_eq!(err.code(), "results_too_large");
    assert!(err.to_string().contains("20MB"), "{err}");

    let mut broken = xlsx(&good_rows(), 0, &HEADER);
    broken.truncate(broken.len() / 2);
    let err = read_results(&broken, "坏.xlsx").unwrap_err();
    assert_eq!(err.code(), "results_unreadable", "{err:?}");
    assert!(err.to_string().contains("「坏.xlsx」"), "{err}");

    let err =
        read_results(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1], "旧.xls").unwrap_err();
    assert_eq!(err.code(), "results_unreadable");
    assert!(err.to_string().contains(".xls"), "{err}");

    // Neither UTF-8 nor GB18030.
    let err = read_results(&[0x81, 0x20, 0xFF, 0xFF], "乱码.csv").unwrap_err();
    assert_eq!(err.code(), "results_unreadable", "{err:?}");

    // A bad file's problems are also reachable without matching.
    let err = read_results(csv_text(&HEADER, &bad_rows()).as_bytes(), "r.csv").unwrap_err();
    assert_eq!(err.problems().len(), 4);
}
