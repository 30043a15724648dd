//! Section 四: every failed product's result, once the first report is served, is
//! passed by the 后处理 side to the bureau's 执法办案部门 as a case lead on a 附件6
//! 不合格产品线索移交清单; the enforcement side answers each lead with 立案 and its
//! result (罚款, 没收 in 万元) or 不予立案 with its 理由 and 原因, and those answers
//! make 附件7 and 附件8.

use serde::{Deserialize, Serialize};

use super::{Case, Verdict};
use crate::money::Fen;
use crate::text::{check_text, FieldProblem};

/// Longest 立案编号.
pub const MAX_FILE_NUMBER_CHARS: usize = 100;
/// Longest 不予立案理由 or 原因, or 备注.
pub const MAX_ANSWER_TEXT_CHARS: usize = 1000;

/// The enforcement side's answer on one transferred lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum EnforcementAnswer {
    /// 立案, with the result once the case is decided.
    Filed {
        /// 立案编号, when known.
        file_number: Option<String>,
        /// 罚款.
        fine: Option<Fen>,
        /// 没收 (goods and illegal gains).
        confiscation: Option<Fen>,
        /// 备注.
        remark: Option<String>,
    },
    /// 不予立案: 附件8 has both the 理由 (the facts and legal basis) and the 原因.
    Declined { grounds: String, reason: String },
}

impl EnforcementAnswer {
    pub fn label_zh(&self) -> &'static str {
        match self {
            EnforcementAnswer::Filed { .. } => "立案",
            EnforcementAnswer::Declined { .. } => "不予立案",
        }
    }
}

impl Case {
    /// Whether the case is a lead for enforcement now (四): a failed product
    /// whose first report has been served on the sampled business.
    pub fn may_transfer_to_enforcement(&self) -> bool {
        self.verdict == Verdict::Fail && self.served_business.is_some()
    }
}

/// The answer form as posted: every field text.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EnforcementAnswerForm {
    /// `filed` or `declined`.
    pub answer: String,
    pub file_number: String,
    /// Amounts in 万元, as typed.
    pub fine_wan: String,
    pub confiscation_wan: String,
    pub remark: String,
    pub grounds: String,
    pub reason: String,
}

fn wan(field: &str, value: &str) -> Result<Option<Fen>, FieldProblem> {
    Fen::parse_wan_opt(value).map_err(|e| FieldProblem::new(field, e.code(), e.to_string()))
}

impl EnforcementAnswerForm {
    /// The answer, or the first field that breaks its rule.
    pub fn answer(&self) -> Result<EnforcementAnswer, FieldProblem> {
        let text = |field, label, value: &str, required| {
            check_text(field, label, value, MAX_ANSWER_TEXT_CHARS, required)
        };
        Ok(match self.answer.as_str() {
            "filed" => EnforcementAnswer::Filed {
                file_number: check_text(
                    "file_number",
                    "立案编号",
                    &self.file_number,
                    MAX_FILE_NUMBER_CHARS,
                    false,
                )?,
                fine: wan("fine_wan", &self.fine_wan)?,
                confiscation: wan("confiscation_wan", &self.confiscation_wan)?,
                remark: text("remark", "备注", &self.remark, false)?,
            },
            "declined" => EnforcementAnswer::Declined {
                grounds: text("grounds", "不予立案理由", &self.grounds, true)?.unwrap_or_default(),
                reason: text("reason", "不予立案原因", &self.reason, true)?.unwrap_or_default(),
            },
            _ => {
                return Err(FieldProblem::new(
                    "answer",
                    "required",
                    "请选择立案或不予立案",
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn a_failed_product_is_a_lead_once_its_first_report_is_served() {
        let day = NaiveDate::from_ymd_opt(2026, 5, 6).unwrap();
        let mut case = Case::new(Verdict::Fail, day, true);
        assert!(!case.may_transfer_to_enforcement());
        case.served_producer = Some(day);
        assert!(!case.may_transfer_to_enforcement(), "the producer alone");
        case.served_business = Some(day);
        assert!(case.may_transfer_to_enforcement());
        let mut passed = Case::new(Verdict::Pass, day, false);
        passed.served_business = Some(day);
        assert!(!passed.may_transfer_to_enforcement());
    }

    #[test]
    fn an_answer_needs_its_fields() {
        let form = |answer: &str| EnforcementAnswerForm {
            answer: answer.into(),
            ..Default::default()
        };
        assert_eq!(form("").answer().unwrap_err().field, "answer");
        assert_eq!(form("declined").answer().unwrap_err().field, "grounds");
        let declined = EnforcementAnswerForm {
            grounds: "经查，当事人已停止销售并召回".into(),
            ..form("declined")
        };
        assert_eq!(declined.answer().unwrap_err().field, "reason");
        let declined = EnforcementAnswerForm {
            reason: " 违法行为轻微并及时改正 ".into(),
            ..declined
        };
        assert_eq!(
            declined.answer().unwrap(),
            EnforcementAnswer::Declined {
                grounds: "经查，当事人已停止销售并召回".into(),
                reason: "违法行为轻微并及时改正".into(),
            }
        );
        let filed = EnforcementAnswerForm {
            fine_wan: "1.5".into(),
            confiscation_wan: "-1".into(),
            ..form("filed")
        };
        assert_eq!(filed.answer().unwrap_err().field, "confiscation_wan");
        let filed = EnforcementAnswerForm {
            confiscation_wan: "0.32".into(),
            ..filed
        };
        let EnforcementAnswer::Filed {
            fine, confiscation, ..
        } = filed.answer().unwrap()
        else {
            panic!()
        };
        assert_eq!(fine, Some(Fen::new(1_500_000).unwrap()));
        assert_eq!(confiscation, Some(Fen::new(320_000).unwrap()));
    }
}
