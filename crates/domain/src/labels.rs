//! The words and limits the tablet's UI shows, written once here and generated
//! into `ui/src/bindings/labels.ts` (by a test under the `ts` feature, like the
//! type bindings; CI fails if the committed file differs): lead states in their
//! order, business roles, the GPS range, and examples of the time format the
//! UI's own formatter is tested against.

use chrono::{DateTime, Utc};

use crate::geo::{MAX_LAT_DEG, MAX_LON_DEG};
use crate::ids::USCC_CHARS;
use crate::lead::LeadState;
use crate::manifest::MAX_CAPTION_CHARS;
use crate::record::{BusinessRole, TaskLevel, MAX_SITUATION_CHARS};
use crate::time::minute_zh;

/// Instants whose Chinese rendering the UI's formatter must reproduce: a
/// morning, a UTC evening that is already the next day (and year) in China,
/// single-digit months and days.
const TIME_EXAMPLES: [&str; 4] = [
    "2026-03-05T06:30:59Z",
    "2026-12-31T16:05:00Z",
    "2026-11-29T05:13:36.250Z",
    "2027-01-09T23:59:00+08:00",
];

fn wire<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .expect("a fieldless enum serialises as its name")
}

fn js(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// The text of `labels.ts`.
pub fn ui_labels_ts() -> String {
    let mut out = String::from(
        "// Generated from the Rust domain crate (crates/domain/src/labels.rs) by\n\
         // `cargo test -p fieldlead-domain --features ts`. Do not edit by hand.\n\n\
         import type { BusinessRole } from \"./BusinessRole\";\n\
         import type { LeadState } from \"./LeadState\";\n\
         import type { TaskLevel } from \"./TaskLevel\";\n\n",
    );
    out.push_str("/** Every lead state, in the order a lead passes through them. */\n");
    out.push_str("export const LEAD_STATES: readonly LeadState[] = [\n");
    for s in LeadState::ALL {
        out.push_str(&format!("  {},\n", js(s.as_str())));
    }
    out.push_str("];\n\n/** Each lead state as the tablet, the console and the forms say it. */\n");
    out.push_str("export const LEAD_STATE_LABELS: Record<LeadState, string> = {\n");
    for s in LeadState::ALL {
        out.push_str(&format!("  {}: {},\n", s.as_str(), js(s.label_zh())));
    }
    out.push_str("};\n\n/** The sampled business's role, one wording everywhere. */\n");
    out.push_str("export const BUSINESS_ROLE_LABELS: Record<BusinessRole, string> = {\n");
    for r in BusinessRole::ALL {
        out.push_str(&format!("  {}: {},\n", wire(r), js(r.label_zh())));
    }
    out.push_str("};\n\n/** Who issued a spot-check task (任务来源), in the form's order. */\n");
    out.push_str("export const TASK_LEVELS: readonly TaskLevel[] = [\n");
    for l in TaskLevel::ALL {
        out.push_str(&format!("  {},\n", js(&wire(l))));
    }
    out.push_str("];\n\n/** Each issuing body as the notice names it. */\n");
    out.push_str("export const TASK_LEVEL_LABELS: Record<TaskLevel, string> = {\n");
    for l in TaskLevel::ALL {
        out.push_str(&format!("  {}: {},\n", wire(l), js(l.label_zh())));
    }
    out.push_str(&format!(
        "}};\n\n/** The GPS range a point must lie in, in degrees either way. */\n\
         export const MAX_LAT_DEG = {MAX_LAT_DEG};\nexport const MAX_LON_DEG = {MAX_LON_DEG};\n\n"
    ));
    out.push_str(&format!(
        "/** The form's text limits, in characters, as the core checks them. */\n\
         export const MAX_SITUATION_CHARS = {MAX_SITUATION_CHARS};\n\
         export const MAX_CAPTION_CHARS = {MAX_CAPTION_CHARS};\n\
         export const USCC_CHARS = {USCC_CHARS};\n\n"
    ));
    out.push_str(
        "/** Instants and how every screen shows them (China Standard Time). */\n\
         export const TIME_EXAMPLES: readonly (readonly [string, string])[] = [\n",
    );
    for t in TIME_EXAMPLES {
        let at: DateTime<Utc> = DateTime::parse_from_rfc3339(t)
            .expect("a valid example")
            .with_timezone(&Utc);
        out.push_str(&format!("  [{}, {}],\n", js(t), js(&minute_zh(at))));
    }
    out.push_str("];\n");
    out
}

#[cfg(all(test, feature = "ts"))]
mod tests {
    /// Writes `labels.ts` beside the type bindings, as ts-rs writes those.
    #[test]
    fn export_bindings_labels() {
        let dir = std::env::var("TS_RS_EXPORT_DIR").unwrap_or_else(|_| "bindings".into());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            std::path::Path::new(&dir).join("labels.ts"),
            super::ui_labels_ts(),
        )
        .unwrap();
    }
}

#[cfg(test)]
mod always {
    #[test]
    fn every_state_and_role_is_labelled_once() {
        let ts = super::ui_labels_ts();
        assert!(ts.contains("delivered: \"区县局已接收\""), "{ts}");
        assert!(ts.contains("ecommerce_shop: \"电子商务平台内经营者\""));
        assert!(ts.contains("[\"2026-12-31T16:05:00Z\", \"2027年1月1日 00:05\"]"));
        assert!(!ts.contains("封存") && !ts.contains("已送达"));
    }
}
