//! 送达: how each document of a case reached its recipient. Every clock that runs
//! from receipt runs from the date recorded here (the step's own date), never
//! from the date the document was printed; the record says how (method), who
//! served it, and what proves it (a photo or scan of the 送达回证, kept hashed
//! like any evidence, or a postal tracking number).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{Case, CaseState, CaseStep, Recipient};
use crate::text::{check_text, FieldProblem};
use crate::Sha256;

/// The documents of a case, 附件1 to 附件5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Document {
    /// 附件1 产品质量监督抽查结果通知书
    ResultNotice,
    /// 附件2 复检机构确定通知书
    ReinspectionAgency,
    /// 附件3 不予复检通知书
    NoReinspection,
    /// 附件4 复检结果通知书
    ReinspectionResult,
    /// 附件5 责令改正通知书
    RectificationOrder,
}

crate::wire_names!(Document, "文书", {
    ResultNotice => "result_notice",
    ReinspectionAgency => "reinspection_agency",
    NoReinspection => "no_reinspection",
    ReinspectionResult => "reinspection_result",
    RectificationOrder => "rectification_order",
});

impl Document {
    pub fn label_zh(self) -> &'static str {
        match self {
            Document::ResultNotice => "产品质量监督抽查结果通知书（附件1）",
            Document::ReinspectionAgency => "产品质量监督抽查复检机构确定通知书（附件2）",
            Document::NoReinspection => "产品质量监督抽查不予复检通知书（附件3）",
            Document::ReinspectionResult => "产品质量监督抽查复检结果通知书（附件4）",
            Document::RectificationOrder => "责令改正通知书（附件5）",
        }
    }

    /// The annex number, 1 to 5.
    pub fn annex(self) -> u8 {
        match self {
            Document::ResultNotice => 1,
            Document::ReinspectionAgency => 2,
            Document::NoReinspection => 3,
            Document::ReinspectionResult => 4,
            Document::RectificationOrder => 5,
        }
    }

    /// Whether the city (市局) issues and serves this document on `to`, rather
    /// than the district: 三.1 has the city serve a nominal producer, 三.2 makes
    /// 附件2 to 附件4 the city's, and 附件5 is the district's.
    pub fn by_city(self, to: Recipient) -> bool {
        match self {
            Document::ResultNotice => to == Recipient::Producer,
            Document::ReinspectionAgency
            | Document::NoReinspection
            | Document::ReinspectionResult => true,
            Document::RectificationOrder => false,
        }
    }
}

impl Case {
    /// The documents the case's state calls for now, and on whom: what the
    /// console offers to print and issue. A document already issued may still be
    /// corrected by a new one that supersedes it; that is not this list's business.
    pub fn documents_due(&self) -> Vec<(Document, Recipient)> {
        match self.state {
            CaseState::ResultToServe => self
                .recipients()
                .into_iter()
                .filter(|r| self.served(*r).is_none())
                .map(|r| (Document::ResultNotice, r))
                .collect(),
            CaseState::ObjectionLodged { by, .. } => vec![
                (Document::ReinspectionAgency, by),
                (Document::NoReinspection, by),
            ],
            CaseState::Reinspecting { by, .. } => vec![(Document::ReinspectionResult, by)],
            CaseState::RectificationToOrder { .. } => {
                vec![(Document::RectificationOrder, Recipient::Business)]
            }
            _ => Vec::new(),
        }
    }
}

/// 送达方式.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceMethod {
    /// 直接送达
    Direct,
    /// 邮寄送达
    Post,
    /// 电子送达
    Electronic,
    /// 留置送达
    Left,
    /// 公告送达
    Public,
}

crate::wire_names!(ServiceMethod, "送达方式", {
    Direct => "direct",
    Post => "post",
    Electronic => "electronic",
    Left => "left",
    Public => "public",
});

impl ServiceMethod {
    pub fn label_zh(self) -> &'static str {
        match self {
            ServiceMethod::Direct => "直接送达",
            ServiceMethod::Post => "邮寄送达",
            ServiceMethod::Electronic => "电子送达",
            ServiceMethod::Left => "留置送达",
            ServiceMethod::Public => "公告送达",
        }
    }
}

/// How a service is proved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ServiceProof {
    /// A photo or scan of the signed 送达回证 (or of the 留置 or 公告), stored hashed.
    Scan { sha256: Sha256 },
    /// A postal tracking number (邮寄).
    Tracking { number: String },
}

/// How one document reached its recipient; the date is the step's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceDetails {
    pub method: ServiceMethod,
    /// Who served it (送达人).
    pub by: String,
    pub proof: ServiceProof,
}

/// Longest name of who served a document.
pub const MAX_SERVER_CHARS: usize = 50;
/// Longest tracking number.
pub const MAX_TRACKING_CHARS: usize = 40;

impl ServiceDetails {
    /// Checks the details as typed: who served it, and a proof that fits the
    /// method (a tracking number only for 邮寄; a scan for every other method).
    pub fn new(
        method: ServiceMethod,
        by: &str,
        proof: ServiceProof,
    ) -> Result<ServiceDetails, FieldProblem> {
        let by =
            check_text("service_by", "送达人", by, MAX_SERVER_CHARS, true)?.unwrap_or_default();
        let proof = match proof {
            ServiceProof::Tracking { number } => {
                if method != ServiceMethod::Post {
                    return Err(FieldProblem::new(
                        "service_proof",
                        "service_proof",
                        format!(
                            "{}须上传送达回证等证明材料，邮寄单号只适用于邮寄送达",
                            method.label_zh()
                        ),
                    ));
                }
                let number = check_text(
                    "service_tracking",
                    "邮寄单号",
                    &number,
                    MAX_TRACKING_CHARS,
                    true,
                )?
                .unwrap_or_default();
                if !number.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(FieldProblem::new(
                        "service_tracking",
                        "service_tracking",
                        "邮寄单号只能由字母和数字组成",
                    ));
                }
                ServiceProof::Tracking { number }
            }
            scan @ ServiceProof::Scan { .. } => scan,
        };
        Ok(ServiceDetails { method, by, proof })
    }
}

impl CaseStep {
    /// The steps (by [`CaseStep::action`] name) that record a document served:
    /// the ones [`CaseStep::serves`] names a document for.
    pub const SERVING: [&'static str; 5] = [
        "result_served",
        "reinspection_granted",
        "reinspection_refused",
        "reinspection_result",
        "rectification_ordered",
    ];

    /// The document this step records as served, on whom and on which day, if it
    /// serves one: such a step needs its [`ServiceDetails`].
    pub fn serves(&self, case: &Case) -> Option<(Document, Recipient, NaiveDate)> {
        let applicant = match case.state {
            CaseState::ObjectionLodged { by, .. }
            | CaseState::ReinspectionGranted { by, .. }
            | CaseState::Reinspecting { by, .. } => by,
            _ => Recipient::Business,
        };
        match *self {
            CaseStep::ServeResult { to, on } => Some((Document::ResultNotice, to, on)),
            CaseStep::GrantReinspection { served } => {
                Some((Document::ReinspectionAgency, applicant, served))
            }
            CaseStep::RefuseReinspection { served } => {
                Some((Document::NoReinspection, applicant, served))
            }
            CaseStep::ReinspectionResult { served, .. } => {
                Some((Document::ReinspectionResult, applicant, served))
            }
            CaseStep::OrderRectification { served, .. } => {
                Some((Document::RectificationOrder, Recipient::Business, served))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postprocess::Verdict;

    #[test]
    fn a_tracking_number_proves_only_a_posted_service() {
        let tracking = || ServiceProof::Tracking {
            number: " SF1234567890 ".into(),
        };
        let posted = ServiceDetails::new(ServiceMethod::Post, " 张三 ", tracking()).unwrap();
        assert_eq!(posted.by, "张三");
        assert_eq!(
            posted.proof,
            ServiceProof::Tracking {
                number: "SF1234567890".into()
            }
        );
        let e = ServiceDetails::new(ServiceMethod::Direct, "张三", tracking()).unwrap_err();
        assert_eq!(e.field, "service_proof");
        let e = ServiceDetails::new(
            ServiceMethod::Post,
            "张三",
            ServiceProof::Tracking {
                number: "SF-12 34".into(),
            },
        )
        .unwrap_err();
        assert_eq!(e.field, "service_tracking");
        let e = ServiceDetails::new(
            ServiceMethod::Left,
            " ",
            ServiceProof::Scan {
                sha256: Sha256::digest(b"scan"),
            },
        )
        .unwrap_err();
        assert_eq!(e.field, "service_by");
    }

    #[test]
    fn the_steps_that_serve_a_document_name_it_and_its_recipient() {
        let on = NaiveDate::from_ymd_opt(2026, 5, 6).unwrap();
        let mut case = Case::new(Verdict::Fail, on, true);
        assert_eq!(
            CaseStep::ServeResult {
                to: Recipient::Producer,
                on
            }
            .serves(&case),
            Some((Document::ResultNotice, Recipient::Producer, on))
        );
        case.state = CaseState::ObjectionLodged {
            by: Recipient::Producer,
            received: on,
        };
        assert_eq!(
            CaseStep::GrantReinspection { served: on }.serves(&case),
            Some((Document::ReinspectionAgency, Recipient::Producer, on))
        );
        assert_eq!(CaseStep::Publish { on }.serves(&case), None);
        let serving = [
            CaseStep::ServeResult {
                to: Recipient::Business,
                on,
            },
            CaseStep::ServeResult {
                to: Recipient::Producer,
                on,
            },
            CaseStep::GrantReinspection { served: on },
            CaseStep::RefuseReinspection { served: on },
            CaseStep::ReinspectionResult {
                verdict: Verdict::Fail,
                served: on,
            },
            CaseStep::OrderRectification {
                ordered: on,
                served: on,
            },
        ];
        let others = [
            CaseStep::EndObjectionPeriod { on },
            CaseStep::Recheck { on, passed: true },
        ];
        for step in serving.iter().chain(&others) {
            assert_eq!(
                CaseStep::SERVING.contains(&step.action()),
                step.serves(&case).is_some(),
                "{step:?}"
            );
        }
        for d in Document::ALL {
            assert!(d.label_zh().contains(&format!("附件{}", d.annex())));
        }
        // Whoever records a serving step is whoever issues its document.
        for step in serving {
            let (document, to, _) = step.serves(&case).unwrap();
            assert_eq!(document.by_city(to), step.by_city(), "{step:?}");
        }
    }
}
