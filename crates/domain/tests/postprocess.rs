//! The 后处理 state machine: the whole path of a failed product with every
//! deadline checked around Spring Festival and 端午, each transition refused where
//! the notice does not allow it (and the case unchanged), and the choice of the
//! anchor for 附件5's 60 and 75 days.

use chrono::NaiveDate;
use fieldlead_domain::calendar::{Calendar, Period};
use fieldlead_domain::postprocess::{
    Case, CaseError, CaseState, CaseStep, Closure, Recipient, RectificationAnchor, Verdict,
};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

const TODAY: &str = "2026-11-29";

fn step(case: &Case, s: CaseStep) -> Case {
    case.apply(&s, &Calendar::builtin(), d(TODAY))
        .unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn refused(case: &Case, s: CaseStep) -> CaseError {
    case.apply(&s, &Calendar::builtin(), d(TODAY)).unwrap_err()
}

fn dues(case: &Case, anchor: RectificationAnchor) -> Vec<(NaiveDate, &'static str)> {
    case.deadlines(&Calendar::builtin(), anchor)
        .unwrap()
        .into_iter()
        .map(|dl| (dl.due, dl.clause))
        .collect()
}

#[test]
fn a_failed_product_from_report_to_enforcement_with_every_deadline() {
    let a = RectificationAnchor::Served;
    // Report received on the Friday before Spring Festival 2026: the 调休 Saturday
    // counts, the nine days off do not.
    let case = Case::new(Verdict::Fail, d("2026-02-13"), false);
    assert_eq!(dues(&case, a), [(d("2026-02-27"), "三.1")]);

    let case = step(
        &case,
        CaseStep::ServeResult {
            to: Recipient::Business,
            on: d("2026-02-26"),
        },
    );
    assert_eq!(case.state, CaseState::ObjectionPeriod);
    assert_eq!(dues(&case, a), [(d("2026-03-13"), "附件1")]);

    let case = step(
        &case,
        CaseStep::LodgeObjection {
            by: Recipient::Business,
            received: d("2026-03-10"),
        },
    );
    assert_eq!(dues(&case, a), [(d("2026-03-24"), "三.2")]);

    let case = step(
        &case,
        CaseStep::GrantReinspection {
            served: d("2026-03-20"),
        },
    );
    assert_eq!(dues(&case, a), [(d("2026-03-27"), "附件2")]);

    let case = step(
        &case,
        CaseStep::ApplicantAppeared {
            on: d("2026-03-25"),
        },
    );
    assert!(matches!(case.state, CaseState::Reinspecting { .. }));
    assert!(dues(&case, a).is_empty(), "the institute's turn");

    let case = step(
        &case,
        CaseStep::ReinspectionResult {
            verdict: Verdict::Fail,
            served: d("2026-04-20"),
        },
    );
    assert_eq!(dues(&case, a), [(d("2026-04-20"), "三.3")], "附件5 at once");

    let case = step(
        &case,
        CaseStep::OrderRectification {
            ordered: d("2026-04-21"),
            served: d("2026-04-23"),
        },
    );
    // From the 送达 date: 60 days end Mon 22 Jun, 75 days Tue 7 Jul.
    assert_eq!(
        dues(&case, a),
        [(d("2026-06-22"), "附件5"), (d("2026-07-07"), "附件5")]
    );
    // From the order's date: day 60 is Sat 20 Jun inside 端午, moved to Mon 22 Jun;
    // day 75 is Sun 5 Jul, moved to Mon 6 Jul.
    let ordered = case
        .deadlines(&Calendar::builtin(), RectificationAnchor::Ordered)
        .unwrap();
    assert_eq!(ordered[1].due, d("2026-07-06"));
    assert_eq!(ordered[1].anchor, "下达责令改正通知书");
    assert_eq!(ordered[1].period, Some(Period::Days(75)));
    assert_eq!(ordered[0].due, d("2026-06-22"));

    let case = step(
        &case,
        CaseStep::Recheck {
            on: d("2026-07-01"),
            passed: false,
        },
    );
    assert!(matches!(case.state, CaseState::ReportedToCity { .. }));
    let case = step(
        &case,
        CaseStep::Publish {
            on: d("2026-07-10"),
        },
    );
    let window = case.deadlines(&Calendar::builtin(), a).unwrap();
    assert_eq!(window[0].not_before, Some(d("2026-09-09")));
    assert_eq!(window[0].due, d("2026-10-07"));
    // Too early for the second re-check, then in its window.
    assert_eq!(
        refused(
            &case,
            CaseStep::Recheck {
                on: d("2026-09-08"),
                passed: true
            }
        )
        .code(),
        "case_rule"
    );
    let case = step(
        &case,
        CaseStep::Recheck {
            on: d("2026-09-15"),
            passed: false,
        },
    );
    assert_eq!(
        case.state,
        CaseState::SuspensionToOrder {
            since: d("2026-09-15")
        }
    );

    let case = step(
        &case,
        CaseStep::OrderSuspension {
            ordered: d("2026-09-16"),
            until: d("2026-10-31"),
        },
    );
    assert_eq!(
        refused(
            &case,
            CaseStep::Recheck {
                on: d("2026-10-31"),
                passed: false
            }
        )
        .code(),
        "case_rule",
        "not before the period ends"
    );
    let case = step(
        &case,
        CaseStep::Recheck {
            on: d("2026-11-02"),
            passed: false,
        },
    );
    assert_eq!(
        case.state,
        CaseState::Transferred {
            on: d("2026-11-02")
        }
    );
    assert!(case.state.is_final());
    assert!(dues(&case, a).is_empty());
}

#[test]
fn a_passed_product_closes_once_everyone_is_served() {
    let case = Case::new(Verdict::Pass, d("2026-09-28"), true);
    // National Day 2026: the 调休 Sunday 20 Sep is before; 1-7 Oct off; Sat 10 Oct works.
    let dl = case
        .deadlines(&Calendar::builtin(), RectificationAnchor::Served)
        .unwrap();
    assert_eq!(
        dl.len(),
        2,
        "business by the district, producer by the city"
    );
    assert_eq!(dl[0].due, d("2026-10-10"));
    let case = step(
        &case,
        CaseStep::ServeResult {
            to: Recipient::Producer,
            on: d("2026-10-09"),
        },
    );
    assert_eq!(
        case.state,
        CaseState::ResultToServe,
        "the business is not served yet"
    );
    let case = step(
        &case,
        CaseStep::ServeResult {
            to: Recipient::Business,
            on: d("2026-10-12"),
        },
    );
    assert_eq!(
        case.state,
        CaseState::Closed {
            on: d("2026-10-12"),
            why: Closure::Passed
        }
    );
}

#[test]
fn no_objection_ends_the_period_only_after_every_party_s_window() {
    let case = Case::new(Verdict::Fail, d("2026-03-02"), true);
    let case = step(
        &case,
        CaseStep::ServeResult {
            to: Recipient::Business,
            on: d("2026-03-03"),
        },
    );
    let case = step(
        &case,
        CaseStep::ServeResult {
            to: Recipient::Producer,
            on: d("2026-03-06"),
        },
    );
    // Business until Wed 18 Mar; producer: day 15 is Sat 21 Mar, moved to Mon 23.
    let dl = dues(&case, RectificationAnchor::Served);
    assert_eq!(dl, [(d("2026-03-18"), "附件1"), (d("2026-03-23"), "附件1")]);
    let e = refused(
        &case,
        CaseStep::EndObjectionPeriod {
            on: d("2026-03-23"),
        },
    );
    assert!(
        e.to_string()
            .contains("标称生产厂家的异议期到2026年3月23日才届满"),
        "{e}"
    );
    // The producer may still object on its last day; the business may not.
    assert!(refused(
        &case,
        CaseStep::LodgeObjection {
            by: Recipient::Business,
            received: d("2026-03-19")
        }
    )
    .to_string()
    .contains("视为认可抽查结果"));
    let objected = step(
        &case,
        CaseStep::LodgeObjection {
            by: Recipient::Producer,
            received: d("2026-03-23"),
        },
    );
    assert!(matches!(
        objected.state,
        CaseState::ObjectionLodged {
            by: Recipient::Producer,
            ..
        }
    ));
    let ended = step(
        &case,
        CaseStep::EndObjectionPeriod {
            on: d("2026-03-24"),
        },
    );
    assert_eq!(
        ended.state,
        CaseState::RectificationToOrder {
            since: d("2026-03-24")
        }
    );
}

#[test]
fn refused_or_abandoned_re_inspection_makes_the_first_result_final() {
    let case = Case::new(Verdict::Fail, d("2026-03-02"), false);
    let case = step(
        &case,
        CaseStep::ServeResult {
            to: Recipient::Business,
            on: d("2026-03-03"),
        },
    );
    let case = step(
        &case,
        CaseStep::LodgeObjection {
            by: Recipient::Business,
            received: d("2026-03-05"),
        },
    );
    let refused_case = step(
        &case,
        CaseStep::RefuseReinspection {
            served: d("2026-03-12"),
        },
    );
    assert_eq!(
        refused_case.state,
        CaseState::RectificationToOrder {
            since: d("2026-03-12")
        }
    );
    let granted = step(
        &case,
        CaseStep::GrantReinspection {
            served: d("2026-03-12"),
        },
    );
    // Seven days from Thu 12 Mar end Thu 19 Mar.
    let e = refused(
        &granted,
        CaseStep::ApplicantAppeared {
            on: d("2026-03-20"),
        },
    );
    assert!(e.to_string().contains("视为放弃复检"), "{e}");
    assert_eq!(
        refused(
            &granted,
            CaseStep::ReinspectionAbandoned {
                on: d("2026-03-19")
            }
        )
        .code(),
        "case_rule"
    );
    let abandoned = step(
        &granted,
        CaseStep::ReinspectionAbandoned {
            on: d("2026-03-20"),
        },
    );
    assert_eq!(
        abandoned.state,
        CaseState::RectificationToOrder {
            since: d("2026-03-20")
        }
    );
    let passed = step(
        &step(
            &granted,
            CaseStep::ApplicantAppeared {
                on: d("2026-03-19"),
            },
        ),
        CaseStep::ReinspectionResult {
            verdict: Verdict::Pass,
            served: d("2026-04-30"),
        },
    );
    assert_eq!(
        passed.state,
        CaseState::Closed {
            on: d("2026-04-30"),
            why: Closure::ReinspectionPassed
        }
    );
}

#[test]
fn every_step_out_of_turn_is_refused_and_changes_nothing() {
    let on = d("2026-05-06");
    let all = [
        CaseStep::ServeResult {
            to: Recipient::Business,
            on,
        },
        CaseStep::EndObjectionPeriod { on },
        CaseStep::LodgeObjection {
            by: Recipient::Business,
            received: on,
        },
        CaseStep::GrantReinspection { served: on },
        CaseStep::RefuseReinspection { served: on },
        CaseStep::ApplicantAppeared { on },
        CaseStep::ReinspectionAbandoned { on },
        CaseStep::ReinspectionResult {
            verdict: Verdict::Fail,
            served: on,
        },
        CaseStep::OrderRectification {
            ordered: on,
            served: on,
        },
        CaseStep::Recheck { on, passed: false },
        CaseStep::Publish { on },
        CaseStep::OrderSuspension {
            ordered: on,
            until: d("2026-06-30"),
        },
    ];
    // A fresh case allows only serving the result.
    let fresh = Case::new(Verdict::Fail, d("2026-05-06"), false);
    for s in &all[1..] {
        let before = fresh.clone();
        let e = fresh.apply(s, &Calendar::builtin(), d(TODAY)).unwrap_err();
        assert_eq!(e.code(), "case_state", "{s:?}");
        assert!(e.to_string().contains("待送达结果通知书"), "{e}");
        assert_eq!(fresh, before);
    }
    // A producer is not served when none is named, nor anyone twice.
    assert_eq!(
        refused(
            &fresh,
            CaseStep::ServeResult {
                to: Recipient::Producer,
                on
            }
        )
        .code(),
        "case_state"
    );
    // A final case allows nothing.
    let closed = step(
        &Case::new(Verdict::Pass, on, false),
        CaseStep::ServeResult {
            to: Recipient::Business,
            on,
        },
    );
    for s in &all {
        assert_eq!(refused(&closed, *s).code(), "case_state", "{s:?}");
    }
}

#[test]
fn dates_cannot_be_in_the_future_or_before_the_last_step_and_need_a_loaded_year() {
    let case = Case::new(Verdict::Fail, d("2026-05-06"), false);
    let e = refused(
        &case,
        CaseStep::ServeResult {
            to: Recipient::Business,
            on: d("2026-12-01"),
        },
    );
    assert!(matches!(e, CaseError::Future { .. }), "{e}");
    let e = refused(
        &case,
        CaseStep::ServeResult {
            to: Recipient::Business,
            on: d("2026-05-05"),
        },
    );
    assert!(matches!(e, CaseError::BeforeLast { .. }), "{e}");
    let served = step(
        &case,
        CaseStep::ServeResult {
            to: Recipient::Business,
            on: d("2026-05-06"),
        },
    );
    let e = refused(
        &served,
        CaseStep::OrderRectification {
            ordered: d("2026-05-08"),
            served: d("2026-05-07"),
        },
    );
    assert_eq!(e.code(), "case_state");

    // A case whose deadline falls in a year the calendar does not hold.
    let late = Case::new(Verdict::Fail, d("2026-12-28"), false);
    let e = late
        .deadlines(&Calendar::builtin(), RectificationAnchor::Served)
        .unwrap_err();
    assert!(e.to_string().contains("2027 年"), "{e}");
}

#[test]
fn the_anchor_setting_quotes_the_notice() {
    assert!(RectificationAnchor::Served
        .wording()
        .contains("送达之日起六十日内"));
    assert!(RectificationAnchor::Ordered
        .wording()
        .contains("自责令之日起六十日内"));
    assert_eq!(RectificationAnchor::default(), RectificationAnchor::Served);
}

#[test]
fn a_state_s_name_is_its_serde_tag() {
    let d0 = d("2026-05-06");
    for s in [
        CaseState::ResultToServe,
        CaseState::ObjectionPeriod,
        CaseState::ObjectionLodged {
            by: Recipient::Business,
            received: d0,
        },
        CaseState::ReinspectionGranted {
            by: Recipient::Producer,
            served: d0,
        },
        CaseState::Reinspecting {
            by: Recipient::Business,
            since: d0,
        },
        CaseState::RectificationToOrder { since: d0 },
        CaseState::Rectifying {
            ordered: d0,
            served: d0,
        },
        CaseState::ReportedToCity { on: d0 },
        CaseState::Published { on: d0 },
        CaseState::SuspensionToOrder { since: d0 },
        CaseState::Suspended {
            ordered: d0,
            until: d0,
        },
        CaseState::Transferred { on: d0 },
        CaseState::Closed {
            on: d0,
            why: Closure::Passed,
        },
    ] {
        assert_eq!(serde_json::to_value(s).unwrap()["state"], s.name());
    }
}
