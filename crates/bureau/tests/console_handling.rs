//! Console black-box tests of a district's handling of its leads: the workflow
//! steps in order (and what the tablet then sees), the overdue list, and the
//! attachment 7 and 8 exports of the decided leads.

mod support;

use fieldlead_domain::{LeadId, LeadState, SignedLeadStatus};
use support::*;

/// Sends one handling step of the lead as this user; the answer's status.
async fn handle(tb: &TestBureau, s: &Console, lead: LeadId, step: &[(&str, &str)]) -> u16 {
    tb.submit(s, &format!("/leads/{lead}/handling"), step)
        .await
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handling_moves_forward_only_and_the_tablet_sees_it() {
    let w = world(test_config()).await;
    let tb = &w.tb;
    let s = tb.login("officer_a").await;
    let lead = w.lead_a.id();
    let session = &s;
    let post = move |form: &'static [(&'static str, &'static str)]| handle(tb, session, lead, form);
    // Not yet acknowledged: no decision.
    assert_eq!(post(&[("step", "file_case")]).await, 409);
    assert_eq!(post(&[("step", "acknowledge")]).await, 303);
    assert_eq!(post(&[("step", "acknowledge")]).await, 409);
    // Declining needs a reason.
    assert_eq!(post(&[("step", "decline"), ("reason", "  ")]).await, 422);
    assert_eq!(
        post(&[
            ("step", "file_case"),
            ("case_number", "渝中市监立〔2026〕17号")
        ])
        .await,
        303
    );
    assert_eq!(post(&[("step", "outcome"), ("fine_wan", "-1")]).await, 422);
    assert_eq!(
        post(&[
            ("step", "outcome"),
            ("fine_wan", "1.5"),
            ("confiscation_wan", "0.0321"),
            ("remark", "没收违法产品 120 卷")
        ])
        .await,
        303
    );
    assert_eq!(
        post(&[("step", "report"), ("reported_on", "2099-01-01")]).await,
        422
    );
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(
        handle(
            tb,
            &s,
            lead,
            &[("step", "report"), ("reported_on", today.as_str())]
        )
        .await,
        303
    );
    assert_eq!(post(&[("step", "decline"), ("reason", "晚了")]).await, 409);
    // After the report to the city the fines may still be recorded: a
    // correction, with its reason, that the city sees in the audit trail.
    assert_eq!(
        post(&[
            ("step", "outcome"),
            ("fine_wan", "2"),
            ("confiscation_wan", "0.0321")
        ])
        .await,
        422,
        "a correction needs its reason"
    );
    assert!(tb
        .page(&s, &format!("/leads/{lead}"))
        .await
        .contains("更正罚没金额"));
    assert_eq!(
        post(&[
            ("step", "outcome"),
            ("fine_wan", "1.5"),
            ("confiscation_wan", "0.0321"),
            ("remark", "复核后罚款金额不变，补记没收数量 120 卷")
        ])
        .await,
        303
    );

    let row = tb.bureau.storage().lead(lead).unwrap().unwrap();
    assert_eq!(row.handling.state, LeadState::ReportedToCity);
    assert_eq!(row.handling.fine.map(|f| f.get()), Some(1_500_000));
    assert_eq!(row.handling.confiscation.map(|f| f.get()), Some(32_100));
    let page = tb.page(&s, &format!("/leads/{lead}")).await;
    assert!(
        page.contains("1.5") && page.contains("0.0321") && page.contains("渝中市监立〔2026〕17号")
    );

    // The tablet polls its lead's status.
    let status: SignedLeadStatus = tb.lead_status(&w.tablet_a_token, lead).await;
    let status = status.verify(&tb.bureau.public_key(), lead).unwrap();
    assert_eq!(status.state, LeadState::ReportedToCity);
    assert_eq!(status.decision, Some(fieldlead_domain::Decision::CaseFiled));
    assert_eq!(status.reported_to_city_on.unwrap().to_string(), today);
    assert!(status.acknowledged_at.is_some());

    // Every change is in the audit log with who, before and after.
    let events = tb
        .bureau
        .storage()
        .audit_events(
            fieldlead_bureau::storage::Scope::All,
            Some(&format!("lead:{lead}")),
            50,
        )
        .unwrap();
    let actions: Vec<&str> = events.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "lead_received",
            "lead_delivered",
            "lead_acknowledged",
            "lead_case_filed",
            "lead_outcome_recorded",
            "lead_reported_to_city",
            "lead_outcome_corrected"
        ]
    );
    let corrected = events
        .iter()
        .find(|e| e.action == "lead_outcome_corrected")
        .unwrap();
    assert_eq!(
        corrected.before.as_ref().unwrap()["remark"],
        "没收违法产品 120 卷"
    );
    let city = tb.login("city").await;
    assert!(tb
        .page(&city, &format!("/leads/{lead}"))
        .await
        .contains("报告市局后更正处罚结果"));
    let filed = events
        .iter()
        .find(|e| e.action == "lead_case_filed")
        .unwrap();
    assert_eq!(filed.actor, "user:officer_a");
    assert_eq!(filed.before.as_ref().unwrap()["state"], "acknowledged");
    assert_eq!(filed.after.as_ref().unwrap()["state"], "case_filed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overdue_lists_delivered_leads_not_acknowledged_in_time() {
    let config = fieldlead_bureau::Config {
        overdue_hours: 0,
        ..test_config()
    };
    let w = world(config).await;
    let tb = &w.tb;
    let s = tb.login("officer_a").await;
    let page = tb.page(&s, "/overdue").await;
    assert!(page.contains(&w.lead_a.id().to_string()));
    assert!(!page.contains(&w.lead_b.id().to_string()), "other district");
    let path = format!("/leads/{}/handling", w.lead_a.id());
    tb.submit(&s, &path, &[("step", "acknowledge")]).await;
    let page = tb.page(&s, "/overdue").await;
    assert!(!page.contains(&w.lead_a.id().to_string()));

    // With the default 24 hours, a lead delivered just now is not overdue.
    let fresh = world(test_config()).await;
    let s = fresh.tb.login("city").await;
    let page = fresh.tb.page(&s, "/overdue").await;
    assert!(!page.contains(&fresh.lead_a.id().to_string()));
}

/// The rows of an exported workbook's first sheet, each row's cells joined by `|`.
fn sheet(bytes: Vec<u8>) -> Vec<String> {
    use calamine::Reader;
    let mut book =
        calamine::open_workbook_from_rs::<calamine::Xlsx<_>, _>(std::io::Cursor::new(bytes))
            .unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

/// The rows of the workbook this user downloads from `path`.
async fn export_rows(tb: &TestBureau, s: &Console, path: &str) -> Vec<String> {
    let resp = tb.get(path, Some(&s.cookie)).await;
    sheet(resp.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lead_handling_list_exports_the_decided_leads_of_the_district_under_its_own_title() {
    let tb = TestBureau::start().await;
    let a = tb.enrol("yuzhong", 1).await;
    let mut d = draft();
    d.product_name = "移动式插座".into();
    d.product_brand = "某牌".into();
    let filed = seal_with(&a.key, &[photo(1, 90)], d);
    let declined = seal(&a.key, &[photo(2, 90)]);
    tb.deliver(&a, &filed).await;
    tb.deliver(&a, &declined).await;
    let s = tb.login("officer_a").await;
    let (bureau, session) = (&tb, &s);
    let step = move |lead: LeadId, form: &'static [(&'static str, &'static str)]| async move {
        assert_eq!(handle(bureau, session, lead, form).await, 303)
    };
    step(filed.id(), &[("step", "acknowledge")]).await;
    step(filed.id(), &[("step", "file_case")]).await;
    step(
        filed.id(),
        &[
            ("step", "outcome"),
            ("fine_wan", "1.5"),
            ("confiscation_wan", "0.2"),
        ],
    )
    .await;
    step(declined.id(), &[("step", "acknowledge")]).await;
    step(
        declined.id(),
        &[
            ("step", "decline"),
            ("reason", "经查该批产品已由生产者召回"),
        ],
    )
    .await;

    let resp = tb.get("/exports/lead-handling.xlsx", Some(&s.cookie)).await;
    assert_eq!(resp.status(), 200);
    let rows = sheet(resp.bytes().await.unwrap().to_vec());
    // Its own title, not the failed products' 附件7 or 附件8.
    assert!(rows.iter().any(|r| r.contains("产品违法线索办理情况清单")));
    assert!(!rows.iter().any(|r| r.contains("附件")), "{rows:?}");
    let plug = rows
        .iter()
        .find(|r| r.contains("移动式插座"))
        .expect("filed lead listed");
    assert!(
        plug.contains("某牌")
            && plug.contains("立案")
            && plug.contains("1.5")
            && plug.contains("0.2"),
        "{plug}"
    );
    assert!(rows.iter().any(|r| r.contains("不予立案")
        && r.contains("经查该批产品已由生产者召回")
        && r.contains("聚氯乙烯绝缘电线")));

    let pdf = tb.get("/exports/lead-handling.pdf", Some(&s.cookie)).await;
    assert_eq!(pdf.status(), 200);
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));

    // Another district's officer exports only their own (empty) list.
    let b = tb.login("officer_b").await;
    let rows = export_rows(&tb, &b, "/exports/lead-handling.xlsx").await;
    assert!(!rows.iter().any(|r| r.contains("移动式插座")));
    for gone in ["/exports/attachment7.xlsx", "/exports/attachment8.pdf"] {
        assert_eq!(tb.get(gone, Some(&b.cookie)).await.status(), 404);
    }
    assert_eq!(
        tb.get("/exports/lead-handling.xlsx", None).await.status(),
        303
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_time_from_locking_to_the_receipt_is_shown_and_flagged_past_the_bureaus_limit() {
    // The sample lead was locked on 20 Nov 2026 and reaches the bureau days later.
    for (limit, flagged) in [(24, true), (24 * 365 * 10, false)] {
        let w = world(fieldlead_bureau::Config {
            report_limit_hours: limit,
            ..test_config()
        })
        .await;
        let s = w.tb.login("officer_a").await;
        let page = w.tb.page(&s, &format!("/leads/{}", w.lead_a.id())).await;
        assert!(page.contains("报送用时"), "{page}");
        assert!(page.contains("锁定于 2026年11月20日 10:30"), "{page}");
        // What the tablet recorded, labelled as the notice's users say it.
        for label in [
            "抽样地点",
            "抽样时间",
            "生产许可证编号",
            "CCC 证书编号",
            "（销售者）",
            "抽样单编号",
            "<code>CQ-2026-017-0042</code>",
            "市局下达 · 任务文号 渝市监发〔2026〕12号",
        ] {
            assert!(page.contains(label), "{label}");
        }
        assert!(
            page.contains("class=\"signature zoomable\""),
            "signature images"
        );
        assert_eq!(
            page.contains("id=\"report-time\" class=\"flag\""),
            flagged,
            "limit {limit} h"
        );
        let list = w.tb.page(&s, "/").await;
        assert!(list.contains("class=\"report-time\""));
        assert_eq!(list.contains("超过本局设定的 24 小时\">"), flagged);
        assert!(list.contains("天"), "days since 20 Nov: {list}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lead_page_and_the_lists_speak_chinese_only() {
    let w = world(test_config()).await;
    w.tb.wait_for_analysis().await;
    let s = w.tb.login("officer_a").await;
    // Names every reader of these pages knows, and what the sampler typed (the
    // sample's spec BV 2.5mm², its task and certificate numbers) or a user's
    // login name: everything else is Chinese.
    let allowed: Vec<&str> = CONSOLE_ASCII
        .iter()
        .copied()
        .chain(["BV", "5mm", "CQ-2026-017", "CQ50001234", "CQ50005678"])
        .collect();
    for path in [
        format!("/leads/{}", w.lead_a.id()),
        "/".to_string(),
        "/overdue".to_string(),
        "/audit".to_string(),
        "/cases".to_string(),
        "/enforcement".to_string(),
    ] {
        let page = w.tb.page(&s, &path).await;
        let words = english_words(&page, &allowed);
        assert!(words.is_empty(), "{path} shows {words:?}");
    }
}
