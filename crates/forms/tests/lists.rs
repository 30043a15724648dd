//! The lead lists of the notice (附件6/7/8) as PDF and .xlsx: headers as the notice
//! has them, every value back out of the PDF text and out of the reopened workbook.

mod common;

use std::io::Cursor;

use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use chrono::NaiveDate;
use common::*;
use fieldlead_domain::money::Fen;
use fieldlead_forms::{
    lead_list_xlsx, CaseResultRow, DeclinedRow, Forms, FormsConfig, HandlingListRow, LeadList,
    ListFooter, TransferListRow,
};

fn forms() -> Forms {
    Forms::new(&FormsConfig::default()).unwrap()
}

fn footer() -> ListFooter {
    ListFooter {
        sending_unit: Some("重庆市渝中区市场监督管理局质量监督科".into()),
        sender_phone: Some("023-63700001".into()),
        receiving_unit: Some("重庆市渝中区市场监督管理局执法支队".into()),
        receiver_phone: Some("023-63700002".into()),
        date: NaiveDate::from_ymd_opt(2026, 3, 9),
    }
}

fn transfer_list() -> LeadList {
    LeadList::Transfer {
        footer: footer(),
        rows: vec![
            TransferListRow {
                brand: Some("美厨乐".into()),
                product_name: "多功能电热水壶".into(),
                spec_model: Some("MK-1788 1.8L".into()),
                report_no: Some("CQJD2026-E0173".into()),
                remark: Some("无厂址、无合格证".into()),
            },
            TransferListRow {
                brand: None,
                product_name: "儿童保温杯".into(),
                spec_model: None,
                report_no: Some("CQJD2026-E0174".into()),
                remark: None,
            },
        ],
    }
}

fn case_results() -> LeadList {
    LeadList::CaseResults {
        footer: footer(),
        rows: vec![
            CaseResultRow {
                brand: Some("美厨乐".into()),
                product_name: "多功能电热水壶".into(),
                report_no: Some("CQJD2026-E0173".into()),
                fine_fen: Some(Fen::new(500_000).unwrap()),
                confiscation_fen: Some(Fen::new(1_234_567).unwrap()),
                remark: Some("已结案".into()),
                decline_reason: None,
            },
            CaseResultRow {
                brand: Some("暖阳".into()),
                product_name: "电暖器".into(),
                report_no: Some("CQJD2026-E0190".into()),
                fine_fen: None,
                confiscation_fen: None,
                remark: None,
                decline_reason: Some("违法行为轻微并及时改正，没有造成危害后果".into()),
            },
        ],
    }
}

fn declined() -> LeadList {
    LeadList::Declined {
        footer: footer(),
        rows: vec![DeclinedRow {
            brand: Some("暖阳".into()),
            product_name: "电暖器".into(),
            spec_model: Some("NY-2000".into()),
            report_no: Some("CQJD2026-E0190".into()),
            transferred_on: NaiveDate::from_ymd_opt(2026, 3, 6),
            decline_grounds: Some("《中华人民共和国行政处罚法》第三十三条第一款".into()),
            decline_reason: Some("初次违法且危害后果轻微".into()),
        }],
    }
}

fn sheet(xlsx: Vec<u8>, name: &str) -> calamine::Range<Data> {
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(xlsx)).unwrap();
    book.worksheet_range(name).unwrap()
}

fn s(range: &calamine::Range<Data>, r: u32, c: u32) -> String {
    match range.get_value((r, c)) {
        Some(Data::String(s)) => s.clone(),
        other => panic!("({r},{c}) is {other:?}, not text"),
    }
}

#[test]
fn transfer_list_xlsx_has_the_notice_columns_and_every_row() {
    let range = sheet(lead_list_xlsx(&transfer_list()).unwrap(), "附件6");
    assert_eq!(s(&range, 0, 0), "附件6");
    assert_eq!(s(&range, 1, 0), "产品质量监督抽查不合格产品线索移交清单");
    let headers: Vec<String> = (0..6).map(|c| s(&range, 2, c)).collect();
    assert_eq!(
        headers,
        ["序号", "品牌", "产品名称", "规格型号", "报告编号", "备注"]
    );
    assert_eq!(range.get_value((3, 0)), Some(&Data::Float(1.0)));
    assert_eq!(s(&range, 3, 1), "美厨乐");
    assert_eq!(s(&range, 3, 2), "多功能电热水壶");
    assert_eq!(s(&range, 3, 3), "MK-1788 1.8L");
    assert_eq!(s(&range, 3, 4), "CQJD2026-E0173");
    assert_eq!(s(&range, 3, 5), "无厂址、无合格证");
    assert_eq!(range.get_value((4, 0)), Some(&Data::Float(2.0)));
    assert!(matches!(range.get_value((4, 1)), Some(Data::Empty) | None));
    assert_eq!(s(&range, 4, 2), "儿童保温杯");
    assert_eq!(
        s(&range, 6, 0),
        "移交单位：重庆市渝中区市场监督管理局质量监督科"
    );
}

#[test]
fn case_results_xlsx_keeps_amounts_as_numbers_in_wan_yuan() {
    let range = sheet(lead_list_xlsx(&case_results()).unwrap(), "附件7");
    assert_eq!(s(&range, 1, 0), "产品质量监督抽查移交线索立案案件结果清单");
    let headers: Vec<String> = (0..8).map(|c| s(&range, 2, c)).collect();
    assert_eq!(
        headers,
        [
            "序号",
            "品牌",
            "产品名称",
            "报告编号",
            "罚款（万元）",
            "没收（万元）",
            "备注",
            "不予立案原因"
        ]
    );
    assert_eq!(range.get_value((3, 4)), Some(&Data::Float(0.5)));
    assert_eq!(range.get_value((3, 5)), Some(&Data::Float(1.234567)));
    assert_eq!(s(&range, 3, 6), "已结案");
    assert!(matches!(range.get_value((4, 4)), Some(Data::Empty) | None));
    assert_eq!(s(&range, 4, 7), "违法行为轻微并及时改正，没有造成危害后果");
}

#[test]
fn declined_xlsx_writes_the_transfer_date_as_a_date() {
    let range = sheet(lead_list_xlsx(&declined()).unwrap(), "附件8");
    assert_eq!(s(&range, 1, 0), "不予立案线索清单");
    let headers: Vec<String> = (0..8).map(|c| s(&range, 2, c)).collect();
    assert_eq!(
        headers,
        [
            "序号",
            "品牌",
            "产品名称",
            "规格型号",
            "报告编号",
            "移交日期",
            "不予立案理由",
            "不予立案原因"
        ]
    );
    let serial = (NaiveDate::from_ymd_opt(2026, 3, 6).unwrap()
        - NaiveDate::from_ymd_opt(1899, 12, 30).unwrap())
    .num_days() as f64;
    match range.get_value((3, 5)) {
        Some(Data::DateTime(d)) => assert_eq!(d.as_f64(), serial),
        other => panic!("移交日期 is {other:?}"),
    }
    assert_eq!(
        s(&range, 3, 6),
        "《中华人民共和国行政处罚法》第三十三条第一款"
    );
}

#[test]
fn list_pdfs_are_landscape_and_print_every_value() {
    let cases: Vec<(LeadList, Vec<&str>)> = vec![
        (
            transfer_list(),
            vec![
                "附件6",
                "产品质量监督抽查不合格产品线索移交清单",
                "序号",
                "规格型号",
                "报告编号",
                "备注",
                "美厨乐",
                "多功能电热水壶",
                "MK-1788 1.8L",
                "CQJD2026-E0173",
                "无厂址、无合格证",
                "儿童保温杯",
                "移交单位：重庆市渝中区市场监督管理局质量监督科",
                "023-63700002",
                "2026年3月9日",
                "本清单一式两份，一份移交单位留存，一份资料接收单位留存。",
            ],
        ),
        (
            case_results(),
            vec![
                "附件7",
                "产品质量监督抽查移交线索立案案件结果清单",
                "罚款（万元）",
                "没收（万元）",
                "不予立案原因",
                "0.50",
                "1.234567",
                "已结案",
                "违法行为轻微并及时改正，没有造成危害后果",
                "电暖器",
            ],
        ),
        (
            declined(),
            vec![
                "附件8",
                "不予立案线索清单",
                "移交日期",
                "不予立案理由",
                "不予立案原因",
                "NY-2000",
                "2026年3月6日",
                "《中华人民共和国行政处罚法》第三十三条第一款",
                "初次违法且危害后果轻微",
            ],
        ),
    ];
    for (list, expected) in cases {
        let pdf = forms().lead_list_pdf(&list).unwrap();
        let flat = squash(&pdftotext(&pdf));
        for v in expected {
            assert!(
                flat.contains(&squash(v)),
                "{}: {v} missing in {flat}",
                list.kind().annex()
            );
        }
        assert!(words_past_right_margin(&pdf, 56.0).is_empty());
        let (w, h) = page_size(&pdf);
        assert!(
            (w - 841.89).abs() < 0.5 && (h - 595.28).abs() < 0.5,
            "A4 landscape, got {w} x {h}"
        );
    }
    let pdf = forms().lead_list_pdf(&case_results()).unwrap();
    first_page_png(&pdf, "list_7_page1");
}

/// The termination leads' own list: its own title, no annex number, every value.
#[test]
fn the_lead_handling_list_has_its_own_title_and_no_annex_number() {
    let list = LeadList::Handling {
        footer: footer(),
        rows: vec![
            HandlingListRow {
                business_name: "重庆某某五金经营部".into(),
                product_name: "电线".into(),
                brand: Some("某某牌".into()),
                grounds: Some("无厂名厂址；涉嫌无工业产品生产许可证".into()),
                received_on: NaiveDate::from_ymd_opt(2026, 3, 2),
                acknowledged_on: NaiveDate::from_ymd_opt(2026, 3, 3),
                result: Some("立案".into()),
                case_number: Some("渝中市监立〔2026〕8号".into()),
                fine_fen: Some(Fen::new(1_500_000).unwrap()),
                confiscation_fen: None,
                decline_reason: None,
                reported_on: NaiveDate::from_ymd_opt(2026, 4, 1),
            },
            HandlingListRow {
                business_name: "某某电器商行".into(),
                product_name: "插座".into(),
                result: Some("不予立案".into()),
                decline_reason: Some("经查产品已由生产者召回".into()),
                ..HandlingListRow::default()
            },
        ],
    };
    let pdf = forms().lead_list_pdf(&list).unwrap();
    let flat = squash(&pdftotext(&pdf));
    for v in [
        "产品违法线索办理情况清单",
        "终止抽样情形",
        "报告市局质监处日期",
        "重庆某某五金经营部",
        "无厂名厂址；涉嫌无工业产品生产许可证",
        "2026年3月2日",
        "渝中市监立〔2026〕8号",
        "1.50",
        "2026年4月1日",
        "经查产品已由生产者召回",
    ] {
        assert!(flat.contains(&squash(v)), "{v} missing in {flat}");
    }
    assert!(
        !flat.contains("附件"),
        "not one of the notice's annexes: {flat}"
    );
    let rows = sheet(lead_list_xlsx(&list).unwrap(), "办理情况");
    assert_eq!(s(&rows, 1, 0), "产品违法线索办理情况清单");
}

#[test]
fn a_long_list_with_long_names_breaks_over_pages_with_the_header_repeated() {
    let rows: Vec<TransferListRow> = (1..=120)
        .map(|i| TransferListRow {
            brand: Some(format!("品牌{i}")),
            product_name: format!("{}第{i}号", "超长产品名称".repeat(33)),
            spec_model: Some("MODEL-".repeat(10)),
            report_no: Some(format!("CQJD2026-{i:05}")),
            remark: None,
        })
        .collect();
    let list = LeadList::Transfer {
        footer: ListFooter::default(),
        rows,
    };
    let pdf = forms().lead_list_pdf(&list).unwrap();
    let pages = page_count(&pdf);
    assert!(pages > 10, "{pages} pages");
    let text = pdftotext(&pdf);
    assert!(squash(&text).contains("CQJD2026-00120"));
    assert_eq!(
        text.matches("报告编号").count(),
        pages,
        "header on every page"
    );
    assert!(words_past_right_margin(&pdf, 56.0).is_empty());
    // Blank footer lines are left for the signatures.
    assert!(squash(&text).contains("移交人：（签名）"));
}

#[test]
fn a_list_round_trips_through_json_as_the_bureau_sends_it() {
    let json = serde_json::to_string(&case_results()).unwrap();
    assert!(json.contains("\"kind\":\"case_results\""));
    let back: LeadList = serde_json::from_str(&json).unwrap();
    assert_eq!(back, case_results());
    let bad = r#"{"kind":"declined","rows":[{"product_name":"x","colour":"red"}]}"#;
    assert!(serde_json::from_str::<LeadList>(bad).is_err());
}
