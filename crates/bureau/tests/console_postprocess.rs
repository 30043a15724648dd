//! The 后处理 pages as an officer uses them over HTTP: a result list uploaded
//! (a bad one shown back cell by cell, nothing taken), the deadline board, a case
//! page and a step recorded from its form.

mod support;

use support::{Console, TestBureau};

/// A multipart/form-data post as a browser sends a form with a file: the session's
/// CSRF token, the text fields, and one file field.
async fn multipart(
    tb: &TestBureau,
    s: &Console,
    path: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, &str, &[u8])>,
) -> reqwest::Response {
    let boundary = "----fieldlead-test-boundary";
    let mut body = Vec::new();
    for (name, value) in [("csrf", s.csrf.as_str())].iter().chain(fields) {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((field, name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    tb.client
        .post(format!("{}{path}", tb.url))
        .header("cookie", &s.cookie)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn upload(tb: &TestBureau, s: &Console, name: &str, bytes: &[u8]) -> reqwest::Response {
    multipart(tb, s, "/cases/import", &[], Some(("file", name, bytes))).await
}

const HEADER: &str = "报告编号,任务,产品名称,品牌,规格型号,生产日期或批号,受检单位,受检单位地址,受检单位类型,标称生产厂家,电子商务平台,抽样日期,检验结论,不合格项目,报告收到日期";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_imports_results_sees_the_board_and_records_a_step() {
    let tb = TestBureau::start().await;
    let s = tb.login("officer_a").await;

    // A bad list: every problem named by row and column, nothing taken.
    let bad = format!(
        "{HEADER}\nCQ-1,抽查,电线,,,,某某经营部,某某路1号,销售者,,,2026-09-01,不合格,,2026-10-09\nCQ-2,抽查,电线,,,,某某经营部,某某路1号,销售者,,,2026/13/40,合格,,2026-10-09\n"
    );
    let r = upload(&tb, &s, "bad.csv", bad.as_bytes()).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("未导入任何一行"), "{page}");
    assert!(page.contains("<td>2</td><td>不合格项目</td>"), "{page}");
    assert!(page.contains("<td>3</td><td>抽样日期</td>"), "{page}");
    assert!(!tb.page(&s, "/cases").await.contains("CQ-1"));

    // Without the session's CSRF token the upload is refused.
    let mut forged = s.clone();
    forged.csrf = "0".repeat(64);
    assert_eq!(upload(&tb, &forged, "x.csv", b"x").await.status(), 403);

    // A good list: imported, and the board shows 三.1's due date for both parties.
    let good = format!(
        "\u{feff}{HEADER}\nCQ-1,抽查,聚氯乙烯绝缘电线,某某牌,BV 2.5,2026-09,重庆某某五金经营部,重庆市渝中区民族路88号,销售者,某某电线厂,,2026-09-01,不合格,导体电阻,2026-10-09\n"
    );
    let r = upload(&tb, &s, "good.csv", good.as_bytes()).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/cases?imported=1");
    let board = tb.page(&s, "/cases?imported=1").await;
    assert!(board.contains("已导入 1 条检验结果"));
    assert!(
        board.contains("2026年10月15日"),
        "5 working days after 9 Oct 2026"
    );
    assert!(board.contains("三.1"));
    let id = board
        .split("class=\"case-link\" href=\"/cases/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();

    // The whole board as a spreadsheet, dates as dates.
    let r = tb.get("/cases/deadlines.xlsx", Some(&s.cookie)).await;
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap().to_vec();
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = calamine::Reader::worksheet_range(&mut book, "后处理期限").unwrap();
    let rows: Vec<_> = sheet.rows().collect();
    assert_eq!(
        rows.len(),
        3,
        "header and the two parties' service of 附件1"
    );
    assert_eq!(rows[0][0].to_string(), "期限");
    // 2026-10-15 as an Excel date serial (days since 1899-12-30).
    let serial = (chrono::NaiveDate::from_ymd_opt(2026, 10, 15).unwrap()
        - chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap())
    .num_days() as f64;
    match &rows[1][0] {
        calamine::Data::DateTime(d) => assert_eq!(d.as_f64(), serial),
        other => panic!("the due date is not a date cell: {other:?}"),
    }
    assert_eq!(rows[1][9].to_string(), "CQ-1");
    assert_eq!(rows[1][4].to_string(), "三.1");

    // The case page offers the district's step; recording it moves the case on.
    let page = tb.page(&s, &format!("/cases/{id}")).await;
    assert!(page.contains("待送达结果通知书"));
    assert!(page.contains("data-step=\"result_served\""));
    let step = format!("/cases/{id}/step");
    let serve_business = [
        ("step", "result_served"),
        ("party", "business"),
        ("on", "2026-10-12"),
        ("service_method", "direct"),
        ("service_by", "李四"),
    ];
    // Without a proof of service it is refused; a file that is no image or PDF too.
    let r = multipart(&tb, &s, &step, &serve_business, None).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("送达回证"));
    let r = multipart(
        &tb,
        &s,
        &step,
        &serve_business,
        Some(("service_scan", "x.exe", b"MZ\x90\x00")),
    )
    .await;
    assert_eq!(r.status(), 422);
    let scan = fieldlead_domain::sample::photo(3, 80);
    let r = multipart(
        &tb,
        &s,
        &step,
        &serve_business,
        Some(("service_scan", "回证.jpg", &scan)),
    )
    .await;
    assert_eq!(r.status(), 303);
    assert!(
        tb.bureau
            .storage()
            .case(id.parse().unwrap())
            .unwrap()
            .unwrap()
            .services
            .len()
            == 1
    );
    // The producer is the city's to serve: the officer is refused.
    let r = multipart(
        &tb,
        &s,
        &format!("/cases/{id}/step"),
        &[
            ("step", "result_served"),
            ("party", "producer"),
            ("on", "2026-10-12"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status(), 403);
    let city = tb.login("city").await;
    // The city's page offers it the producer's service, the business's being done.
    let page = tb.page(&city, &format!("/cases/{id}")).await;
    assert!(page.contains("data-party=\"producer\""), "{page}");
    assert!(!page.contains("data-party=\"business\""));
    let r = multipart(
        &tb,
        &city,
        &step,
        &[
            ("step", "result_served"),
            ("party", "producer"),
            ("on", "2026-10-13"),
            ("service_method", "post"),
            ("service_by", "市局 王五"),
            ("service_tracking", "SF1234567890"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status(), 303);
    let page = tb.page(&s, &format!("/cases/{id}")).await;
    assert!(page.contains("异议期"), "{page}");
    assert!(page.contains("登记结果通知书送达"), "history in Chinese");
    assert!(page.contains("邮寄单号 SF1234567890"), "{page}");
    assert!(page.contains("直接送达"));
    assert!(page.contains(&format!(
        "扫描件 SHA-256 {}",
        fieldlead_domain::Sha256::digest(&scan).short()
    )));
    // A bad date is named, and changes nothing.
    let r = multipart(
        &tb,
        &s,
        &format!("/cases/{id}/step"),
        &[("step", "objection_period_ended"), ("on", "下周")],
        None,
    )
    .await;
    assert_eq!(r.status(), 422);
    // One result typed on the page, checked like a row of a list.
    let mut fields: Vec<(&str, &str)> = vec![
        ("报告编号", "CQ-9"),
        ("任务", "抽查"),
        ("产品名称", "插座"),
        ("受检单位", "重庆某某电器行"),
        ("受检单位地址", "重庆市江北区观音桥 1 号"),
        ("受检单位类型", "生产者"),
        ("抽样日期", "2026-09-01"),
        ("检验结论", "不合格"),
        ("报告收到日期", "2026-10-09"),
    ];
    let r = tb.submit(&s, "/cases/enter", &fields).await;
    assert_eq!(r.status(), 422, "不合格 without 不合格项目");
    assert!(r.text().await.unwrap().contains("不合格项目"));
    fields.push(("不合格项目", "标志和说明"));
    let r = tb.submit(&s, "/cases/enter", &fields).await;
    assert_eq!(r.status(), 303);
    let entered = r.headers()["location"].to_str().unwrap().to_string();
    assert!(tb.page(&s, &entered).await.contains("CQ-9"));

    // Another district's officer does not see the case.
    let other = tb.login("officer_b").await;
    assert_eq!(
        tb.get(&format!("/cases/{id}"), Some(&other.cookie))
            .await
            .status(),
        404
    );
}
