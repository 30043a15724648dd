//! The bureau console's form posts (application/x-www-form-urlencoded), parsed as
//! the console parses them: axum's `Form` (serde_urlencoded) into the CSRF wrapper
//! with the page's form flattened into it, then the domain's own rules: the
//! handling form by `fieldlead_domain::handling::HandlingForm::step`, the review
//! comment by `review_comment`. Does not depend on the bureau crate (Typst would
//! make the instrumented build far too slow), so only the CSRF wrapper is copied
//! here from crates/bureau/src/console/mod.rs (`WithCsrf`).
#![no_main]

use fieldlead_domain::handling::{
    review_comment, HandlingForm, HandlingStep, MAX_CASE_NUMBER_CHARS, MAX_DECLINE_REASON_CHARS,
    MAX_REMARK_CHARS, MAX_REVIEW_COMMENT_CHARS,
};
use fieldlead_domain::money::Fen;
use fieldlead_domain::text::is_forbidden_char;
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
struct ReviewForm {
    state: String,
    comment: String,
}

/// Accepted text is trimmed, non-empty, within the limit and free of control and
/// direction-override characters.
fn accepted(v: &str, max: usize) {
    assert!(!v.is_empty());
    assert_eq!(v.trim(), v, "accepted text is trimmed");
    assert!(
        v.chars().count() <= max,
        "accepted text is within the limit"
    );
    assert!(!v.chars().any(is_forbidden_char), "{v:?}");
}

/// An accepted amount is non-negative and shown back as text that parses to the
/// same number of fen.
fn amount(fen: Option<Fen>) {
    if let Some(fen) = fen {
        assert!(fen.get() >= 0);
        assert_eq!(Fen::parse_wan(&fen.wan()), Ok(fen));
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(posted) = serde_urlencoded::from_bytes::<WithCsrf<HandlingForm>>(data) {
        match posted.form.step() {
            Ok(HandlingStep::FileCase { case_number }) => {
                if let Some(n) = case_number {
                    accepted(&n, MAX_CASE_NUMBER_CHARS);
                }
            }
            Ok(HandlingStep::Decline { reason }) => accepted(&reason, MAX_DECLINE_REASON_CHARS),
            Ok(HandlingStep::Outcome {
                fine,
                confiscation,
                remark,
            }) => {
                amount(fine);
                amount(confiscation);
                if let Some(r) = remark {
                    accepted(&r, MAX_REMARK_CHARS);
                }
            }
            Ok(HandlingStep::Acknowledge | HandlingStep::ReportToCity { .. }) => {}
            Err(problem) => assert!(!problem.field.is_empty() && !problem.message.is_empty()),
        }
    }
    if let Ok(posted) = serde_urlencoded::from_bytes::<WithCsrf<ReviewForm>>(data) {
        let approves = posted.form.state == "approved";
        match review_comment(&posted.form.comment, approves) {
            Ok(c) if c.is_empty() => assert!(approves, "a required comment is never empty"),
            Ok(c) => accepted(&c, MAX_REVIEW_COMMENT_CHARS),
            Err(problem) => assert_eq!(problem.field, "comment"),
        }
    }
});
