//! The 后处理 pages as an officer uses them over HTTP: a result list uploaded
//! (a bad one shown back cell by cell, nothing taken), the deadline board, a case
//! page and a step recorded from its form.

mod support;

use support::{Console, TestBureau};

/// A multipart/form-data upload as a browser sends the import form.
async fn upload(tb: &TestBureau, s: &Console, name: &str, bytes: &[u8]) -> reqwest::Response {
    let boundary = "----fieldlead-test-boundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n",
            s.csrf
        )
        .as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    tb.client
        .post(format!("{}/cases/import", tb.url))
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
        board.contains("2026-10-15"),
        "5 working days after 9 Oct 2026"
    );
    assert!(board.contains("三.1"));
    let id = board
        .split("href=\"/cases/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();

    // The case page offers the district's step; recording it moves the case on.
    let page = tb.page(&s, &format!("/cases/{id}")).await;
    assert!(page.contains("待送达结果通知书"));
    assert!(page.contains("data-step=\"result_served\""));
    let r = tb
        .submit(
            &s,
            &format!("/cases/{id}/step"),
            &[
                ("step", "result_served"),
                ("party", "business"),
                ("on", "2026-10-12"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    // The producer is the city's to serve: the officer is refused.
    let r = tb
        .submit(
            &s,
            &format!("/cases/{id}/step"),
            &[
                ("step", "result_served"),
                ("party", "producer"),
                ("on", "2026-10-12"),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);
    let city = tb.login("city").await;
    let r = tb
        .submit(
            &city,
            &format!("/cases/{id}/step"),
            &[
                ("step", "result_served"),
                ("party", "producer"),
                ("on", "2026-10-13"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = tb.page(&s, &format!("/cases/{id}")).await;
    assert!(page.contains("异议期"), "{page}");
    assert!(page.contains("result_served"), "history");
    // A bad date is named, and changes nothing.
    let r = tb
        .submit(
            &s,
            &format!("/cases/{id}/step"),
            &[("step", "objection_period_ended"), ("on", "下周")],
        )
        .await;
    assert_eq!(r.status(), 422);
    // Another district's officer does not see the case.
    let other = tb.login("officer_b").await;
    assert_eq!(
        tb.get(&format!("/cases/{id}"), Some(&other.cookie))
            .await
            .status(),
        404
    );
}
