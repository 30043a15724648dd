//! A district officer's handling of a lead as the console's form posts it, and the
//! field rules that turn it into a [`HandlingStep`]: one place for the limits, so
//! the console and the fuzz target parse a post the same way. Whether the step
//! fits the lead's state is the bureau's question, answered with
//! [`crate::LeadState::can_become`].

use chrono::NaiveDate;
use serde::Deserialize;

use crate::money::Fen;
use crate::text::{check_text, FieldProblem};

/// Longest case number (立案编号).
pub const MAX_CASE_NUMBER_CHARS: usize = 100;
/// Longest reason for not filing a case (不予立案理由).
pub const MAX_DECLINE_REASON_CHARS: usize = 1000;
/// Longest remark on a case's outcome.
pub const MAX_REMARK_CHARS: usize = 1000;
/// Longest QA review comment.
pub const MAX_REVIEW_COMMENT_CHARS: usize = 2000;

/// The handling form as posted: every field text, absent ones empty.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HandlingForm {
    /// `acknowledge`, `file_case`, `decline`, `outcome` or `report`.
    pub step: String,
    pub case_number: String,
    pub reason: String,
    /// Amounts in 万元, as typed.
    pub fine_wan: String,
    pub confiscation_wan: String,
    pub remark: String,
    /// `YYYY-MM-DD`.
    pub reported_on: String,
}

/// One step of a district officer's handling of a lead, its fields checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandlingStep {
    /// 签收.
    Acknowledge,
    /// 立案, with the case number when it is known.
    FileCase { case_number: Option<String> },
    /// 不予立案, with the reason.
    Decline { reason: String },
    /// The case's fines and confiscations (罚没金额).
    Outcome {
        fine: Option<Fen>,
        confiscation: Option<Fen>,
        remark: Option<String>,
    },
    /// The outcome was reported to the city's quality division on this day.
    ReportToCity { on: NaiveDate },
}

fn wan(field: &str, value: &str) -> Result<Option<Fen>, FieldProblem> {
    Fen::parse_wan_opt(value).map_err(|e| FieldProblem::new(field, e.code(), e.to_string()))
}

impl HandlingForm {
    /// The step the form asks for, or the first field that breaks its rule.
    /// Only the chosen step's fields are read.
    pub fn step(&self) -> Result<HandlingStep, FieldProblem> {
        Ok(match self.step.as_str() {
            "acknowledge" => HandlingStep::Acknowledge,
            "file_case" => HandlingStep::FileCase {
                case_number: check_text(
                    "case_number",
                    "立案编号",
                    &self.case_number,
                    MAX_CASE_NUMBER_CHARS,
                    false,
                )?,
            },
            "decline" => HandlingStep::Decline {
                reason: check_text(
                    "decline_reason",
                    "不予立案理由",
                    &self.reason,
                    MAX_DECLINE_REASON_CHARS,
                    true,
                )?
                .unwrap_or_default(),
            },
            "outcome" => HandlingStep::Outcome {
                fine: wan("fine_wan", &self.fine_wan)?,
                confiscation: wan("confiscation_wan", &self.confiscation_wan)?,
                remark: check_text("remark", "备注", &self.remark, MAX_REMARK_CHARS, false)?,
            },
            "report" => HandlingStep::ReportToCity {
                on: NaiveDate::parse_from_str(self.reported_on.trim(), "%Y-%m-%d").map_err(
                    |_| {
                        FieldProblem::new(
                            "reported_on",
                            "report_date",
                            "报告市局质监处的日期应为日期，例如 2026-03-09",
                        )
                    },
                )?,
            },
            _ => return Err(FieldProblem::new("step", "step", "未知的办理操作")),
        })
    }
}

/// The QA reviewer's comment: required unless the review approves.
pub fn review_comment(comment: &str, approves: bool) -> Result<String, FieldProblem> {
    Ok(check_text(
        "comment",
        "审核意见",
        comment,
        MAX_REVIEW_COMMENT_CHARS,
        !approves,
    )?
    .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(step: &str) -> HandlingForm {
        HandlingForm {
            step: step.into(),
            ..HandlingForm::default()
        }
    }

    #[test]
    fn each_step_reads_only_its_own_fields() {
        assert_eq!(form("acknowledge").step(), Ok(HandlingStep::Acknowledge));
        let mut f = form("outcome");
        f.fine_wan = "1.5".into();
        f.reason = "\u{1b}".into(); // not read by this step
        assert_eq!(
            f.step(),
            Ok(HandlingStep::Outcome {
                fine: Some(Fen::new(1_500_000).unwrap()),
                confiscation: None,
                remark: None,
            })
        );
        let mut f = form("file_case");
        f.case_number = "  渝中市监罚立〔2026〕17号 ".into();
        assert_eq!(
            f.step(),
            Ok(HandlingStep::FileCase {
                case_number: Some("渝中市监罚立〔2026〕17号".into())
            })
        );
    }

    #[test]
    fn a_broken_field_is_named() {
        let field = |f: HandlingForm| f.step().unwrap_err().field;
        assert_eq!(field(form("decline")), "decline_reason");
        assert_eq!(field(form("report")), "reported_on");
        assert_eq!(field(form("drop_table")), "step");
        let mut f = form("outcome");
        f.confiscation_wan = "-1".into();
        assert_eq!(field(f), "confiscation_wan");
        let mut f = form("file_case");
        f.case_number = "号".repeat(MAX_CASE_NUMBER_CHARS + 1);
        assert_eq!(field(f), "case_number");
    }

    #[test]
    fn a_review_comment_is_required_unless_it_approves() {
        assert_eq!(review_comment("  ", true), Ok(String::new()));
        assert!(review_comment("  ", false).is_err());
        assert_eq!(review_comment(" 照片清晰 ", false), Ok("照片清晰".into()));
    }
}
