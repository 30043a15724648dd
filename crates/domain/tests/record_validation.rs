//! Draft validation: each rule a sampler can trip is named by field.

use fieldlead_domain::sample::terminated_draft as valid_draft;
use fieldlead_domain::{FieldProblem, Ground, LeadId, Outcome, OutcomeKind, RecordDraft};

fn problems(d: &RecordDraft) -> Vec<FieldProblem> {
    d.validate(LeadId::new())
        .expect_err("draft should be refused")
}

fn has(problems: &[FieldProblem], field: &str, code: &str) -> bool {
    problems.iter().any(|p| p.field == field && p.code == code)
}

#[test]
fn valid_draft_becomes_a_record_with_sorted_grounds() {
    let r = valid_draft().validate(LeadId::new()).unwrap();
    match r.outcome {
        Outcome::Terminated { grounds, .. } => {
            assert_eq!(
                grounds,
                vec![Ground::NoFactoryName, Ground::NoFactoryAddress]
            )
        }
        o => panic!("{o:?}"),
    }
    assert!(r.nominal_producer.name.is_none());
}

#[test]
fn empty_draft_lists_every_missing_field() {
    let p = problems(&RecordDraft::default());
    for f in [
        "task_year",
        "task_name",
        "business_name",
        "business_uscc",
        "business_role",
        "product_name",
        "producer_name",
        "sampler1_name",
        "sampler2_credential",
        "place_address",
        "started_at",
        "outcome",
    ] {
        assert!(has(&p, f, "required"), "{f} not reported: {p:#?}");
    }
    assert!(p.iter().all(|x| !x.message.is_empty()));
}

#[test]
fn bad_uscc_reports_the_check_character_in_chinese() {
    let mut d = valid_draft();
    d.business_uscc = "914403001922038217".into();
    let p = problems(&d);
    assert!(has(&p, "business_uscc", "uscc_check"));
    assert!(p[0].message.contains("校验位"));
}

#[test]
fn termination_needs_grounds_and_situation() {
    let mut d = valid_draft();
    d.grounds.clear();
    d.situation = "  ".into();
    let p = problems(&d);
    assert!(has(&p, "grounds", "required"));
    assert!(has(&p, "situation", "required"));
}

#[test]
fn other_ground_needs_its_text() {
    let mut d = valid_draft();
    d.grounds = vec![Ground::Other { text: " ".into() }];
    assert!(has(&problems(&d), "grounds", "required"));
    d.grounds = vec![Ground::Other {
        text: "标注执行已废止标准".into(),
    }];
    assert!(d.validate(LeadId::new()).is_ok());
}

#[test]
fn ground_contradicting_printed_producer_is_flagged() {
    let mut d = valid_draft();
    d.producer_none = false;
    d.producer_name = "某某电缆厂".into();
    let p = problems(&d);
    assert!(has(&p, "grounds", "contradiction"));
}

#[test]
fn the_two_samplers_must_be_different_people() {
    let mut d = valid_draft();
    d.sampler2_credential = d.sampler1_credential.clone();
    assert!(has(&problems(&d), "sampler2_credential", "same_sampler"));
}

#[test]
fn overlong_and_control_characters_are_refused() {
    let mut d = valid_draft();
    d.business_name = "厂".repeat(301);
    d.product_name = "电线\u{0007}".into();
    let p = problems(&d);
    assert!(has(&p, "business_name", "too_long"));
    assert!(has(&p, "product_name", "control_character"));
    // 300 characters is the limit, inclusive: 200-character names must fit.
    let mut d = valid_draft();
    d.business_name = "厂".repeat(300);
    assert!(d.validate(LeadId::new()).is_ok());
}

#[test]
fn end_before_start_is_refused() {
    let mut d = valid_draft();
    d.ended_at = Some(chrono::DateTime::parse_from_rfc3339("2026-11-20T09:00:00+08:00").unwrap());
    assert!(has(&problems(&d), "ended_at", "ends_before_start"));
}

#[test]
fn outcomes_that_are_not_leads_stay_distinct() {
    let mut d = valid_draft();
    d.outcome = Some(OutcomeKind::MustNotSample);
    assert!(has(&problems(&d), "must_not_sample", "required"));
    d.must_not_sample = Some(fieldlead_domain::MustNotSampleGround::InsufficientStock);
    let r = d.validate(LeadId::new()).unwrap();
    assert!(!r.outcome.is_lead());

    let mut d = valid_draft();
    d.outcome = Some(OutcomeKind::RefusedOrObstructed);
    d.refusal = Some(fieldlead_domain::RefusalKind::Refused);
    let r = d.validate(LeadId::new()).unwrap();
    assert!(matches!(r.outcome, Outcome::RefusedOrObstructed { .. }));
    assert!(!r.outcome.is_lead());
}

#[test]
fn bad_licence_and_ccc_numbers_are_named() {
    let mut d = valid_draft();
    d.production_licence = "XK12-01-00018".into();
    d.ccc_certificate = "2021".into();
    let p = problems(&d);
    assert!(has(&p, "production_licence", "licence_format"));
    assert!(has(&p, "ccc_certificate", "ccc_format"));
}

#[test]
fn draft_json_with_unknown_fields_is_refused() {
    assert!(serde_json::from_str::<RecordDraft>(r#"{"task_name":"x","colour":"red"}"#).is_err());
    let d: RecordDraft = serde_json::from_str(r#"{"task_name":"x"}"#).unwrap();
    assert_eq!(d.task_name, "x");
}
