//! Rules for free text typed by a person, the same on the tablet and the bureau:
//! trimmed, bounded in characters, and free of control and bidirectional-override
//! characters. A right-to-left override in a business name can make the console
//! show "ABC" for a string whose bytes say "CBA", and control characters break
//! exported forms and lists; neither has any business in a record.

use serde::{Deserialize, Serialize};

/// One problem with one field. `field` names the field (a draft field such as
/// `business_uscc`, or a path such as `evidence[2].caption`), `code` is stable,
/// `message` is Chinese and says what to do.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldProblem {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldProblem {
    pub fn new(field: &str, code: &str, message: impl Into<String>) -> Self {
        FieldProblem {
            field: field.to_string(),
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// Characters no text field may hold: C0/C1 controls other than line feed and tab,
/// and the Unicode bidirectional formatting characters (embeddings, overrides,
/// isolates and the invisible direction marks).
pub fn is_forbidden_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// The problems of one text value, or none: too long (in characters, not bytes),
/// or holding a forbidden character. `value` is judged as given (callers trim).
pub fn text_problems(field: &str, label: &str, value: &str, max_chars: usize) -> Vec<FieldProblem> {
    let mut out = Vec::new();
    let n = value.chars().count();
    if n > max_chars {
        out.push(FieldProblem::new(
            field,
            "too_long",
            format!("{label}最多{max_chars}个字，现有{n}个字"),
        ));
    }
    if value.chars().any(is_forbidden_char) {
        out.push(FieldProblem::new(
            field,
            "control_character",
            format!("{label}含有不可见的控制字符或文字方向控制符，请重新输入"),
        ));
    }
    out
}

/// A text field of a console form: trimmed; `None` when empty and optional; the
/// first problem otherwise.
pub fn check_text(
    field: &str,
    label: &str,
    value: &str,
    max_chars: usize,
    required: bool,
) -> Result<Option<String>, FieldProblem> {
    // Browsers send a textarea's line breaks as CRLF.
    let v = value.replace("\r\n", "\n");
    let v = v.trim();
    if v.is_empty() {
        return if required {
            Err(FieldProblem::new(
                field,
                "required",
                format!("请填写{label}"),
            ))
        } else {
            Ok(None)
        };
    }
    match text_problems(field, label, v, max_chars).into_iter().next() {
        Some(p) => Err(p),
        None => Ok(Some(v.to_string())),
    }
}

/// Removes forbidden characters from text that no person typed (EXIF strings
/// written by a camera), so it can travel in a sealed manifest.
pub fn strip_forbidden(s: &str) -> String {
    s.chars().filter(|c| !is_forbidden_char(*c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_overrides_and_controls_are_refused_but_newlines_and_tabs_pass() {
        for bad in [
            "ABC\u{202E}DEF",
            "a\u{2066}b",
            "x\u{200F}",
            "nul\0",
            "bell\u{7}",
            "c1\u{85}",
            "esc\u{1b}[31m",
            "cr\r",
        ] {
            assert_eq!(
                text_problems("f", "字段", bad, 100)
                    .iter()
                    .map(|p| p.code.as_str())
                    .collect::<Vec<_>>(),
                ["control_character"],
                "{bad:?}"
            );
        }
        assert!(text_problems("f", "字段", "第一行\n第二行\t完", 100).is_empty());
        assert_eq!(strip_forbidden("A\u{202E}B\0C"), "ABC");
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(text_problems("f", "名称", &"重".repeat(10), 10).is_empty());
        assert_eq!(
            text_problems("f", "名称", &"重".repeat(11), 10)[0].code,
            "too_long"
        );
    }

    #[test]
    fn console_text_is_trimmed_and_required_when_asked() {
        assert_eq!(
            check_text("r", "理由", "  有理由 ", 10, true),
            Ok(Some("有理由".into()))
        );
        assert_eq!(check_text("r", "理由", "   ", 10, false), Ok(None));
        assert_eq!(
            check_text("r", "理由", "", 10, true).unwrap_err().code,
            "required"
        );
    }
}
