//! The bureau console's form posts (application/x-www-form-urlencoded), parsed as
//! the console parses them: axum's `Form` (serde_urlencoded) into the CSRF wrapper
//! with the page's form flattened into it, every field a String that defaults; then
//! the same domain rules the console applies: text fields by
//! `fieldlead_domain::text::check_text`, amounts in 万元 by `Fen::parse_wan_opt`, the
//! report date as YYYY-MM-DD. Does not depend on the bureau crate (Typst would make
//! the instrumented build far too slow), so the structs are copied here field for
//! field from crates/bureau/src/console/mod.rs (`WithCsrf`) and console/leads.rs.
#![no_main]

use chrono::NaiveDate;
use fieldlead_domain::money::Fen;
use fieldlead_domain::text::{check_text, is_forbidden_char};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct WithCsrf<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: T,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HandlingForm {
    step: String,
    case_number: String,
    reason: String,
    fine_wan: String,
    confiscation_wan: String,
    remark: String,
    reported_on: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
#[allow(dead_code)]
struct ReviewForm {
    state: String,
    comment: String,
}

/// `check_text` as the console calls it; what it accepts is trimmed, non-empty,
/// within the limit and free of control and direction-override characters.
fn text(field: &str, value: &str, max: usize, required: bool) {
    match check_text(field, field, value, max, required) {
        Ok(Some(v)) => {
            assert!(!v.is_empty());
            assert_eq!(v.trim(), v, "accepted text is trimmed");
            assert!(
                v.chars().count() <= max,
                "accepted text is within the limit"
            );
            assert!(!v.chars().any(is_forbidden_char), "{v:?}");
        }
        Ok(None) => assert!(!required, "a required field is never absent"),
        Err(problem) => assert_eq!(problem.field, field),
    }
}

/// An amount in 万元: what is accepted is non-negative and shown back as text
/// that parses to the same number of fen.
fn amount(value: &str) {
    if let Ok(Some(fen)) = Fen::parse_wan_opt(value) {
        assert!(fen.get() >= 0);
        assert_eq!(Fen::parse_wan(&fen.wan()), Ok(fen), "{value:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(posted) = serde_urlencoded::from_bytes::<WithCsrf<HandlingForm>>(data) {
        let f = posted.form;
        match f.step.as_str() {
            "file_case" => text("case_number", &f.case_number, 100, false),
            "decline" => text("decline_reason", &f.reason, 1000, true),
            "outcome" => {
                amount(&f.fine_wan);
                amount(&f.confiscation_wan);
                text("remark", &f.remark, 1000, false);
            }
            "report" => {
                let _ = NaiveDate::parse_from_str(f.reported_on.trim(), "%Y-%m-%d");
            }
            // Any other step is refused before a field is looked at; check them
            // all anyway, so the rules see every field whatever the step says.
            _ => {
                text("case_number", &f.case_number, 100, false);
                text("decline_reason", &f.reason, 1000, true);
                text("remark", &f.remark, 1000, false);
                amount(&f.fine_wan);
                amount(&f.confiscation_wan);
                let _ = NaiveDate::parse_from_str(f.reported_on.trim(), "%Y-%m-%d");
            }
        }
    }
    if let Ok(posted) = serde_urlencoded::from_bytes::<WithCsrf<ReviewForm>>(data) {
        // Required unless the review approves.
        let required = posted.form.state != "approved";
        text("comment", &posted.form.comment, 2000, required);
    }
});
