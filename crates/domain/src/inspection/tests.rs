//! The result list's rules, cell by cell.

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
            "品牌" | "规格型号" | "生产日期或批号" | "标称生产厂家" | "电子商务平台" | "不合格项目"
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
fn a_result_round_trips_through_json() {
    let r = results_from_table(&header(), &[failed_row("J-1")]).unwrap();
    let json = serde_json::to_value(&r[0]).unwrap();
    assert_eq!(json["business_kind"], "seller");
    assert_eq!(json["verdict"], "fail");
    assert_eq!(json["sampled_on"], "2024-03-05");
    let back: InspectionResult = serde_json::from_value(json).unwrap();
    assert_eq!(back, r[0]);
}
