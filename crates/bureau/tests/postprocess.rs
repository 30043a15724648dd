//! 后处理 through the bureau's service: results imported as cases (all or none),
//! each step by the district or the city as the notice gives it, every step
//! audited with the case before and after, and the deadline board.

mod support;

use chrono::NaiveDate;
use fieldlead_bureau::storage::Scope;
use fieldlead_domain::inspection::InspectionResult;
use fieldlead_domain::postprocess::{
    CaseState, CaseStep, Document, Recipient, ServiceMethod, Verdict,
};
use support::{posted, TestBureau};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn result(report_no: &str, verdict: Verdict, received: &str) -> InspectionResult {
    fieldlead_domain::sample::inspection_result(report_no, verdict, d(received))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_result_goes_through_district_and_city_steps_with_every_step_audited() {
    let tb = TestBureau::start().await;
    let (officer, city) = (tb.user("officer_a"), tb.user("city"));
    let b = &tb.bureau;
    let ids = b
        .import_results(
            &officer,
            None,
            vec![
                result("CQ2026-0001", Verdict::Fail, "2026-10-09"),
                result("CQ2026-0002", Verdict::Pass, "2026-10-09"),
            ],
        )
        .unwrap();
    assert_eq!(ids.len(), 2);

    // The board lists both: the district serves the business, the city the producer,
    // 5 working days from Fri 9 Oct 2026 (Sat 10 Oct is a 调休 working day).
    let board = b.deadline_board(&officer).unwrap();
    assert_eq!(board.rows.len(), 4);
    assert!(board.rows.iter().all(|r| r.deadline.due == d("2026-10-15")));
    assert!(board.rows.iter().all(|r| r.deadline.clause == "三.1"));
    assert_eq!(board.overdue(), 4, "all long past by now");

    let id = ids[0];
    // The officer may not record the city's step, nor the city the district's.
    let producer = CaseStep::ServeResult {
        to: Recipient::Producer,
        on: d("2026-10-12"),
    };
    let business = CaseStep::ServeResult {
        to: Recipient::Business,
        on: d("2026-10-13"),
    };
    assert_eq!(
        b.apply_case_step(&officer, id, producer, posted())
            .unwrap_err()
            .status(),
        403
    );
    assert_eq!(
        b.apply_case_step(&city, id, business, posted())
            .unwrap_err()
            .status(),
        403
    );
    // Serving a document without its 送达 details is refused, and changes nothing.
    let e = b.apply_case_step(&city, id, producer, None).unwrap_err();
    assert_eq!(e.status(), 422);
    assert!(e.to_string().contains("送达方式"), "{e}");
    b.apply_case_step(&city, id, producer, posted()).unwrap();
    let case = b.apply_case_step(&officer, id, business, posted()).unwrap();
    assert_eq!(case.case.state, CaseState::ObjectionPeriod);
    // Both services are on the case, each with its date, method, server and proof.
    let services: Vec<_> = case
        .services
        .iter()
        .map(|s| (s.document, s.recipient, s.served_on, s.details.method))
        .collect();
    assert_eq!(
        services,
        [
            (
                Document::ResultNotice,
                Recipient::Producer,
                d("2026-10-12"),
                ServiceMethod::Post
            ),
            (
                Document::ResultNotice,
                Recipient::Business,
                d("2026-10-13"),
                ServiceMethod::Post
            ),
        ]
    );
    assert_eq!(case.services[1].recorded_by, "officer_a");

    // A step out of turn is a 409 and changes nothing.
    let e = b
        .apply_case_step(
            &officer,
            id,
            CaseStep::Recheck {
                on: d("2026-10-20"),
                passed: true,
            },
            None,
        )
        .unwrap_err();
    assert_eq!((e.status(), e.code().as_str()), (409, "case_state"));
    // A date in the future is refused.
    let e = b
        .apply_case_step(
            &officer,
            id,
            CaseStep::EndObjectionPeriod {
                on: d("2027-01-04"),
            },
            None,
        )
        .unwrap_err();
    assert_eq!(e.code().as_str(), "case_date");

    let case = b
        .apply_case_step(
            &officer,
            id,
            CaseStep::EndObjectionPeriod {
                on: d("2026-10-30"),
            },
            None,
        )
        .unwrap();
    assert_eq!(
        case.case.state,
        CaseState::RectificationToOrder {
            since: d("2026-10-30")
        }
    );

    // Every step is in the audit log with the case before and after.
    let events = b
        .storage()
        .audit_events(Scope::All, Some(&format!("case:{id}")), 100)
        .unwrap();
    let actions: Vec<&str> = events.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "result_imported",
            "result_served",
            "result_served",
            "objection_period_ended"
        ]
    );
    assert_eq!(
        events[0].before.as_ref().unwrap()["state"]["state"],
        "objection_period"
    );
    assert_eq!(
        events[0].after.as_ref().unwrap()["state"]["state"],
        "rectification_to_order"
    );

    // The passed result closes once both are served; closed cases leave the board.
    let passed = ids[1];
    b.apply_case_step(&city, passed, producer, posted())
        .unwrap();
    let closed = b
        .apply_case_step(&officer, passed, business, posted())
        .unwrap();
    assert!(closed.case.state.is_final());
    let board = b.deadline_board(&officer).unwrap();
    assert!(board.rows.iter().all(|r| r.case.id == id));
    assert_eq!(board.rows[0].deadline.clause, "三.3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_is_all_or_nothing_and_cases_stay_in_their_district() {
    let tb = TestBureau::start().await;
    let (officer_a, officer_b, city) =
        (tb.user("officer_a"), tb.user("officer_b"), tb.user("city"));
    let b = &tb.bureau;
    let ids = b
        .import_results(
            &officer_a,
            None,
            vec![result("CQ2026-0101", Verdict::Fail, "2026-11-02")],
        )
        .unwrap();
    // A file holding a report number already imported is refused whole.
    let e = b
        .import_results(
            &officer_a,
            None,
            vec![
                result("CQ2026-0102", Verdict::Fail, "2026-11-02"),
                result("CQ2026-0101", Verdict::Fail, "2026-11-02"),
            ],
        )
        .unwrap_err();
    assert_eq!(e.code().as_str(), "report_no_taken");
    assert!(e.to_string().contains("CQ2026-0101"));
    assert_eq!(
        b.deadline_board(&city).unwrap().rows.len(),
        2,
        "only the first import"
    );

    // Another district neither sees nor changes the case; the city must name a district.
    assert_eq!(b.case_for(&officer_b, ids[0]).unwrap_err().status(), 404);
    assert!(b.deadline_board(&officer_b).unwrap().rows.is_empty());
    assert_eq!(
        b.import_results(
            &city,
            None,
            vec![result("CQ2026-0103", Verdict::Pass, "2026-11-02")]
        )
        .unwrap_err()
        .code()
        .as_str(),
        "district_required"
    );
    b.import_results(
        &city,
        Some("jiangbei"),
        vec![result("CQ2026-0103", Verdict::Pass, "2026-11-02")],
    )
    .unwrap();
    assert_eq!(b.deadline_board(&officer_b).unwrap().rows.len(), 2);
    assert_eq!(
        b.import_results(
            &officer_a,
            Some("jiangbei"),
            vec![result("CQ2026-0104", Verdict::Pass, "2026-11-02")]
        )
        .unwrap_err()
        .status(),
        403
    );
}
