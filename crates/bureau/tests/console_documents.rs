//! The console's 后处理 documents and section 四 pages over HTTP: a document
//! prepared on the case page, previewed as images, issued and opened as a PDF
//! and as its check page; the header's overdue count; a 附件6 made on the
//! transfer page and answered by the enforcement side, its lists downloaded.

mod support;

use fieldlead_domain::postprocess::{Recipient, ServiceDetails, ServiceMethod, ServiceProof};
use support::*;

fn d(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_is_previewed_and_issued_and_a_lead_goes_to_enforcement_on_the_console() {
    let tb = TestBureau::start().await;
    let officer = tb.user("officer_a");
    let result = fieldlead_domain::sample::inspection_result(
        "CQ-DOC-1",
        fieldlead_domain::postprocess::Verdict::Fail,
        d("2026-10-09"),
    );
    let id = tb
        .bureau
        .import_results(&officer, None, vec![result])
        .unwrap()[0];
    let s = tb.login("officer_a").await;

    // The header counts what is overdue: 附件1 for the business and the producer.
    let page = tb.page(&s, &format!("/cases/{id}")).await;
    assert!(page.contains("id=\"header-overdue\""), "{page}");
    assert!(page.contains("超期 2"));
    // The district's form for 附件1 to the business; the producer's is the city's.
    assert!(page.contains("data-document=\"result_notice\" data-recipient=\"business\""));
    assert!(!page.contains("data-recipient=\"producer\""));

    let fields = [
        ("document", "result_notice"),
        ("recipient", "business"),
        ("cc", "重庆市市场监督管理局质量监督处"),
    ];
    let r = tb
        .submit(&s, &format!("/cases/{id}/documents/preview"), &fields)
        .await;
    assert_eq!(r.status(), 200);
    let preview = r.text().await.unwrap();
    // Each page an SVG image (the attribute's '/' HTML-escaped by the template).
    assert!(
        preview.contains("<img class=\"page\" src=\"data:image&#x2f;svg+xml;charset=utf-8,"),
        "{preview}"
    );
    assert!(preview.contains("name=\"cc\" value=\"重庆市市场监督管理局质量监督处\""));
    // The sample result's report number and spec (BV 2.5mm²), as the institute typed them.
    let allowed: Vec<&str> = CONSOLE_ASCII
        .iter()
        .copied()
        .chain(["CQ-DOC-1", "BV", "5mm"])
        .collect();
    for (what, page) in [
        ("case", tb.page(&s, &format!("/cases/{id}")).await),
        ("preview", preview.clone()),
    ] {
        let words = english_words(&page, &allowed);
        assert!(words.is_empty(), "{what} shows {words:?}");
    }
    // A bad date changes nothing and says why.
    let r = tb
        .submit(
            &s,
            &format!("/cases/{id}/documents"),
            &[
                ("document", "result_notice"),
                ("recipient", "business"),
                ("date", "2026-13-01"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(tb
        .bureau
        .case_for(&officer, id)
        .unwrap()
        .documents
        .is_empty());

    let r = tb
        .submit(&s, &format!("/cases/{id}/documents"), &fields)
        .await;
    assert_eq!(r.status(), 303);
    let doc = tb.bureau.case_for(&officer, id).unwrap().documents[0].clone();
    let page = tb.page(&s, &format!("/cases/{id}")).await;
    assert!(page.contains(&doc.number));
    assert!(
        page.contains("更正 "),
        "an issued document offers its correction"
    );
    let check = tb.page(&s, &format!("/documents/{}", doc.id)).await;
    assert!(check.contains("文书与签发时的记录一致"), "{check}");
    let words = english_words(&check, &allowed);
    assert!(words.is_empty(), "the check page shows {words:?}");
    let r = tb
        .get(&format!("/documents/{}/pdf", doc.id), Some(&s.cookie))
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF-"));
    let other = tb.login("officer_b").await;
    let r = tb
        .get(&format!("/documents/{}", doc.id), Some(&other.cookie))
        .await;
    assert_eq!(r.status(), 404);

    // Served: the failed product is a lead for enforcement.
    tb.bureau
        .apply_case_step(
            &officer,
            id,
            fieldlead_domain::postprocess::CaseStep::ServeResult {
                to: Recipient::Business,
                on: d("2026-10-13"),
            },
            Some(
                ServiceDetails::new(
                    ServiceMethod::Post,
                    "李四",
                    ServiceProof::Tracking {
                        number: "SF1".into(),
                    },
                )
                .unwrap(),
            ),
        )
        .unwrap();
    let page = tb.page(&s, "/enforcement").await;
    assert!(page.contains(&format!("name=\"case_{id}\"")), "{page}");
    let key = format!("case_{id}");
    let r = tb
        .submit(
            &s,
            "/enforcement/transfers",
            &[(key.as_str(), "on"), ("on", "2026-10-14")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let transfer = tb
        .bureau
        .case_for(&officer, id)
        .unwrap()
        .enforcement
        .unwrap();
    for file in ["list6.pdf", "list6.xlsx"] {
        let r = tb
            .get(
                &format!("/enforcement/transfers/{}/{file}", transfer.transfer.id),
                Some(&s.cookie),
            )
            .await;
        assert_eq!(r.status(), 200, "{file}");
    }

    // The enforcement side answers; the officer may not.
    let answer = [
        ("answer", "declined"),
        ("grounds", "经查，涉案产品已全部召回"),
        ("reason", "违法行为轻微并及时改正"),
    ];
    let path = format!("/enforcement/leads/{id}/answer");
    assert_eq!(tb.submit(&s, &path, &answer).await.status(), 403);
    let e = tb.login("enforcement_a").await;
    let r = tb.submit(&e, &path, &[("answer", "declined")]).await;
    assert_eq!(r.status(), 422, "理由 and 原因 are required");
    assert_eq!(tb.submit(&e, &path, &answer).await.status(), 303);
    let page = tb.page(&e, "/enforcement").await;
    assert!(page.contains("不予立案：违法行为轻微并及时改正"), "{page}");
    for file in ["list7.pdf", "list7.xlsx", "list8.pdf", "list8.xlsx"] {
        let r = tb
            .get(&format!("/enforcement/lists/{file}"), Some(&e.cookie))
            .await;
        assert_eq!(r.status(), 200, "{file}");
    }
    // The enforcement side has no header count: it does not work the deadlines.
    assert!(!page.contains("id=\"header-overdue\""));
}
