//! A case step as the console's form posts it: every field text, only the chosen
//! step's fields read, each checked with a message naming the field.

use chrono::NaiveDate;
use serde::Deserialize;

use super::{CaseStep, Recipient, Verdict};
use crate::inspection::parse_result_date;
use crate::text::FieldProblem;

/// The step form as posted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CaseStepForm {
    /// The step's audit name, e.g. `result_served` ([`CaseStep::action`]).
    pub step: String,
    pub on: String,
    /// `business` or `producer`.
    pub party: String,
    pub served: String,
    pub ordered: String,
    pub until: String,
    /// `pass` or `fail`.
    pub verdict: String,
    /// `yes` if the re-check found the product rectified.
    pub passed: String,
}

fn date(field: &str, label: &str, value: &str) -> Result<NaiveDate, FieldProblem> {
    if value.trim().is_empty() {
        return Err(FieldProblem::new(
            field,
            "required",
            format!("请填写{label}"),
        ));
    }
    parse_result_date(value.trim()).ok_or_else(|| {
        FieldProblem::new(
            field,
            "case_date",
            format!("{label}应为日期，例如 2026-03-09"),
        )
    })
}

impl CaseStepForm {
    /// The step the form asks for, or the first field that breaks its rule.
    pub fn step(&self) -> Result<CaseStep, FieldProblem> {
        let party = || {
            self.party
                .parse::<Recipient>()
                .map_err(|_| FieldProblem::new("party", "required", "请选择送达对象或申请人"))
        };
        Ok(match self.step.as_str() {
            "result_served" => CaseStep::ServeResult {
                to: party()?,
                on: date("on", "送达日期", &self.on)?,
            },
            "objection_period_ended" => CaseStep::EndObjectionPeriod {
                on: date("on", "确认日期", &self.on)?,
            },
            "objection_lodged" => CaseStep::LodgeObjection {
                by: party()?,
                received: date("on", "收到书面申请的日期", &self.on)?,
            },
            "reinspection_granted" => CaseStep::GrantReinspection {
                served: date("served", "复检机构确定通知书送达日期", &self.served)?,
            },
            "reinspection_refused" => CaseStep::RefuseReinspection {
                served: date("served", "不予复检通知书送达日期", &self.served)?,
            },
            "applicant_appeared" => CaseStep::ApplicantAppeared {
                on: date("on", "办理复检手续的日期", &self.on)?,
            },
            "reinspection_abandoned" => CaseStep::ReinspectionAbandoned {
                on: date("on", "确认日期", &self.on)?,
            },
            "reinspection_result" => CaseStep::ReinspectionResult {
                verdict: self
                    .verdict
                    .parse::<Verdict>()
                    .map_err(|_| FieldProblem::new("verdict", "required", "请选择复检结论"))?,
                served: date("served", "复检结果通知书送达日期", &self.served)?,
            },
            "rectification_ordered" => CaseStep::OrderRectification {
                ordered: date("ordered", "责令改正通知书日期", &self.ordered)?,
                served: date("served", "责令改正通知书送达日期", &self.served)?,
            },
            "rechecked" => CaseStep::Recheck {
                on: date("on", "复查日期", &self.on)?,
                passed: match self.passed.as_str() {
                    "yes" => true,
                    "no" => false,
                    _ => return Err(FieldProblem::new("passed", "required", "请选择复查结论")),
                },
            },
            "published" => CaseStep::Publish {
                on: date("on", "公告日期", &self.on)?,
            },
            "suspension_ordered" => CaseStep::OrderSuspension {
                ordered: date("ordered", "责令停业整顿的日期", &self.ordered)?,
                until: date("until", "整顿期限", &self.until)?,
            },
            _ => return Err(FieldProblem::new("step", "step", "未知的后处理操作")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_becomes_its_step_and_a_missing_field_is_named() {
        let form = CaseStepForm {
            step: "result_served".into(),
            party: "producer".into(),
            on: "2026-03-09".into(),
            ..CaseStepForm::default()
        };
        assert_eq!(
            form.step(),
            Ok(CaseStep::ServeResult {
                to: Recipient::Producer,
                on: NaiveDate::from_ymd_opt(2026, 3, 9).unwrap()
            })
        );
        let mut f = form.clone();
        f.on = "下周一".into();
        assert_eq!(f.step().unwrap_err().field, "on");
        let f = CaseStepForm {
            step: "rechecked".into(),
            on: "2026-03-09".into(),
            ..CaseStepForm::default()
        };
        assert_eq!(f.step().unwrap_err().field, "passed");
        let f = CaseStepForm {
            step: "drop".into(),
            ..CaseStepForm::default()
        };
        assert_eq!(f.step().unwrap_err().field, "step");
        // Every step's action name is a form step name.
        for action in [
            "result_served",
            "objection_period_ended",
            "objection_lodged",
            "reinspection_granted",
            "reinspection_refused",
            "applicant_appeared",
            "reinspection_abandoned",
            "reinspection_result",
            "rectification_ordered",
            "rechecked",
            "published",
            "suspension_ordered",
        ] {
            let f = CaseStepForm {
                step: action.into(),
                ..CaseStepForm::default()
            };
            assert_ne!(f.step().unwrap_err().field, "step", "{action}");
        }
    }
}
