//! 后处理: what happens to a sampled product's result after the testing institute
//! reports it (notice section 三), as a state machine: a [`Case`] moves only by a
//! [`CaseStep`] its state allows, each step's dates checked against the deadlines
//! the notice sets, and [`Case::deadlines`] says what is due next, by which day,
//! under which clause, counted from which event.
//!
//! - 三.1: 附件1 结果通知书 served on the sampled business within 5 working days of
//!   the report's receipt (a nominal producer behind a seller is served by the city).
//! - 附件1: each party may object within 15 days of its receipt.
//! - 三.2: the city decides on a re-inspection within 10 working days of the
//!   application: 附件2 (the applicant has 7 days to go to the institute, else it is
//!   deemed abandoned) or 附件3; 附件4 brings the re-inspection's final result.
//! - 三.3: a failed product gets 附件5 责令改正 at once: 60 days to rectify, a re-check
//!   within 75 days; a failed re-check goes to the city for 公告, a second re-check
//!   after day 60 and before day 90 of it; still failing, 责令停业，限期整顿; failing
//!   again after the period, the case goes to the enforcement agency.
//!
//! The notice counts 三.3's periods from the order's date ("自责令之日起", "下达…后")
//! but 附件5 from its service ("本通知送达之日起"): [`RectificationAnchor`] is the
//! bureau's choice, and every deadline names the anchor it used.

use chrono::NaiveDate;

mod deadlines;
mod enforcement;
mod form;
mod service;
use deadlines::second_recheck_window;
pub use deadlines::Deadline;
pub use enforcement::{
    EnforcementAnswer, EnforcementAnswerForm, MAX_ANSWER_TEXT_CHARS, MAX_FILE_NUMBER_CHARS,
};
pub use form::CaseStepForm;
use serde::{Deserialize, Serialize};
pub use service::{
    Document, ServiceDetails, ServiceMethod, ServiceProof, MAX_SERVER_CHARS, MAX_TRACKING_CHARS,
};

use crate::calendar::{Calendar, CalendarError, Period};
use crate::time::day_zh;

/// 检验结论.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// 合格
    Pass,
    /// 不合格
    Fail,
}

crate::wire_names!(Verdict, "检验结论", { Pass => "pass", Fail => "fail" });

/// Who the result is served on, and who may object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    /// 被抽样单位 (受检单位), served by the district.
    Business,
    /// 标称生产厂家 of a sample taken from a seller, served by the city.
    Producer,
}

crate::wire_names!(Recipient, "送达对象", { Business => "business", Producer => "producer" });

impl Recipient {
    pub fn label_zh(self) -> &'static str {
        match self {
            Recipient::Business => "被抽样单位",
            Recipient::Producer => "标称生产厂家",
        }
    }
}

/// Which event 三.3's 60 and 75 days run from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RectificationAnchor {
    /// 附件5: "在本通知送达之日起六十日内改正……送达之日起七十五日内……复查".
    #[default]
    Served,
    /// 三.3: "自责令之日起六十日内予以改正", "下达责令改正通知书后七十五日内组织开展复查".
    Ordered,
}

impl RectificationAnchor {
    /// The notice's own words for this choice, shown beside the setting.
    pub fn wording(self) -> &'static str {
        match self {
            RectificationAnchor::Served => {
                "附件5：责令你（单位）在本通知送达之日起六十日内改正。我局将于本通知送达之日起七十五日内对你（单位）组织复查。"
            }
            RectificationAnchor::Ordered => {
                "三.3：自责令之日起六十日内予以改正；应在下达责令改正通知书后七十五日内组织开展复查。"
            }
        }
    }
}

/// Why a case ended without enforcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Closure {
    /// A passed product, once 附件1 was served.
    Passed,
    /// The re-inspection passed (附件4).
    ReinspectionPassed,
    /// A re-check found the product rectified.
    Rectified,
}

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CaseState {
    /// The report is in; 附件1 is to be served.
    ResultToServe,
    /// 附件1 served on everyone it goes to: the objection periods run.
    ObjectionPeriod,
    /// An objection and application for re-inspection, received on `received`.
    ObjectionLodged {
        by: Recipient,
        received: NaiveDate,
    },
    /// 附件2 served on the applicant: 7 days to go to the institute.
    ReinspectionGranted {
        by: Recipient,
        served: NaiveDate,
    },
    /// The applicant went to the institute: the re-inspection runs.
    Reinspecting {
        by: Recipient,
        since: NaiveDate,
    },
    /// The failed result is final: 附件5 is due at once.
    RectificationToOrder {
        since: NaiveDate,
    },
    /// 附件5 issued on `ordered`, served on `served`.
    Rectifying {
        ordered: NaiveDate,
        served: NaiveDate,
    },
    /// The re-check failed and was reported to the city for 公告.
    ReportedToCity {
        on: NaiveDate,
    },
    /// The city's 公告 of `on`.
    Published {
        on: NaiveDate,
    },
    /// The second re-check failed: 责令停业，限期整顿 is due at once.
    SuspensionToOrder {
        since: NaiveDate,
    },
    /// 责令停业，限期整顿 until `until`.
    Suspended {
        ordered: NaiveDate,
        until: NaiveDate,
    },
    /// 移交办案机构.
    Transferred {
        on: NaiveDate,
    },
    Closed {
        on: NaiveDate,
        why: Closure,
    },
}

impl CaseState {
    /// The state's wire name (its serde tag), for lists and filters.
    pub fn name(&self) -> &'static str {
        match self {
            CaseState::ResultToServe => "result_to_serve",
            CaseState::ObjectionPeriod => "objection_period",
            CaseState::ObjectionLodged { .. } => "objection_lodged",
            CaseState::ReinspectionGranted { .. } => "reinspection_granted",
            CaseState::Reinspecting { .. } => "reinspecting",
            CaseState::RectificationToOrder { .. } => "rectification_to_order",
            CaseState::Rectifying { .. } => "rectifying",
            CaseState::ReportedToCity { .. } => "reported_to_city",
            CaseState::Published { .. } => "published",
            CaseState::SuspensionToOrder { .. } => "suspension_to_order",
            CaseState::Suspended { .. } => "suspended",
            CaseState::Transferred { .. } => "transferred",
            CaseState::Closed { .. } => "closed",
        }
    }

    pub fn label_zh(&self) -> &'static str {
        match self {
            CaseState::ResultToServe => "待送达结果通知书",
            CaseState::ObjectionPeriod => "异议期",
            CaseState::ObjectionLodged { .. } => "异议待决定",
            CaseState::ReinspectionGranted { .. } => "准予复检，待办理",
            CaseState::Reinspecting { .. } => "复检中",
            CaseState::RectificationToOrder { .. } => "待责令改正",
            CaseState::Rectifying { .. } => "责令改正中",
            CaseState::ReportedToCity { .. } => "已上报市局待公告",
            CaseState::Published { .. } => "已公告待再次复查",
            CaseState::SuspensionToOrder { .. } => "待责令停业整顿",
            CaseState::Suspended { .. } => "停业整顿中",
            CaseState::Transferred { .. } => "已移交办案机构",
            CaseState::Closed { .. } => "已结案",
        }
    }

    /// The steps (by [`CaseStep::action`] name) this state allows, whoever
    /// records them.
    pub fn next_steps(&self) -> &'static [&'static str] {
        match self {
            CaseState::ResultToServe => &["result_served"],
            CaseState::ObjectionPeriod => &["objection_lodged", "objection_period_ended"],
            CaseState::ObjectionLodged { .. } => &["reinspection_granted", "reinspection_refused"],
            CaseState::ReinspectionGranted { .. } => {
                &["applicant_appeared", "reinspection_abandoned"]
            }
            CaseState::Reinspecting { .. } => &["reinspection_result"],
            CaseState::RectificationToOrder { .. } => &["rectification_ordered"],
            CaseState::Rectifying { .. }
            | CaseState::Published { .. }
            | CaseState::Suspended { .. } => &["rechecked"],
            CaseState::ReportedToCity { .. } => &["published"],
            CaseState::SuspensionToOrder { .. } => &["suspension_ordered"],
            CaseState::Transferred { .. } | CaseState::Closed { .. } => &[],
        }
    }

    /// Whether nothing more can happen to the case.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            CaseState::Transferred { .. } | CaseState::Closed { .. }
        )
    }
}

/// One step of a case, with the dates the officer records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum CaseStep {
    /// 附件1 served on `to` on `on` (送达 date).
    ServeResult { to: Recipient, on: NaiveDate },
    /// Every objection period ran out without an objection.
    EndObjectionPeriod { on: NaiveDate },
    /// A written objection and application for re-inspection, received on `received`.
    LodgeObjection { by: Recipient, received: NaiveDate },
    /// 附件2 served on the applicant.
    GrantReinspection { served: NaiveDate },
    /// 附件3 served on the applicant: the first result stands.
    RefuseReinspection { served: NaiveDate },
    /// The applicant went to the institute within the 7 days.
    ApplicantAppeared { on: NaiveDate },
    /// The 7 days passed without the applicant: deemed abandoned.
    ReinspectionAbandoned { on: NaiveDate },
    /// 附件4 with the re-inspection's result, served on the applicant.
    ReinspectionResult { verdict: Verdict, served: NaiveDate },
    /// 附件5 issued on `ordered`, served on `served`.
    OrderRectification {
        ordered: NaiveDate,
        served: NaiveDate,
    },
    /// A re-check (复查) and its finding.
    Recheck { on: NaiveDate, passed: bool },
    /// The city's 公告.
    Publish { on: NaiveDate },
    /// 责令停业，限期整顿 until `until`.
    OrderSuspension {
        ordered: NaiveDate,
        until: NaiveDate,
    },
}

impl CaseStep {
    /// Whether the city's quality division records this step rather than the
    /// district (三.1: the producer is served by the city; 三.2: objections and
    /// re-inspection are the city's; 三.3: the city publishes).
    pub fn by_city(&self) -> bool {
        matches!(
            self,
            CaseStep::ServeResult {
                to: Recipient::Producer,
                ..
            } | CaseStep::LodgeObjection { .. }
                | CaseStep::GrantReinspection { .. }
                | CaseStep::RefuseReinspection { .. }
                | CaseStep::ApplicantAppeared { .. }
                | CaseStep::ReinspectionAbandoned { .. }
                | CaseStep::ReinspectionResult { .. }
                | CaseStep::Publish { .. }
        )
    }

    /// The step's name in the audit log.
    pub fn action(&self) -> &'static str {
        match self {
            CaseStep::ServeResult { .. } => "result_served",
            CaseStep::EndObjectionPeriod { .. } => "objection_period_ended",
            CaseStep::LodgeObjection { .. } => "objection_lodged",
            CaseStep::GrantReinspection { .. } => "reinspection_granted",
            CaseStep::RefuseReinspection { .. } => "reinspection_refused",
            CaseStep::ApplicantAppeared { .. } => "applicant_appeared",
            CaseStep::ReinspectionAbandoned { .. } => "reinspection_abandoned",
            CaseStep::ReinspectionResult { .. } => "reinspection_result",
            CaseStep::OrderRectification { .. } => "rectification_ordered",
            CaseStep::Recheck { .. } => "rechecked",
            CaseStep::Publish { .. } => "published",
            CaseStep::OrderSuspension { .. } => "suspension_ordered",
        }
    }

    /// The dates the step records, for the "not in the future, not before the
    /// case's last event" check.
    fn dates(&self) -> Vec<NaiveDate> {
        match *self {
            CaseStep::ServeResult { on, .. }
            | CaseStep::EndObjectionPeriod { on }
            | CaseStep::ApplicantAppeared { on }
            | CaseStep::ReinspectionAbandoned { on }
            | CaseStep::Recheck { on, .. }
            | CaseStep::Publish { on } => vec![on],
            CaseStep::LodgeObjection { received, .. } => vec![received],
            CaseStep::GrantReinspection { served }
            | CaseStep::RefuseReinspection { served }
            | CaseStep::ReinspectionResult { served, .. } => vec![served],
            CaseStep::OrderRectification { ordered, served } => vec![ordered, served],
            CaseStep::OrderSuspension { ordered, .. } => vec![ordered],
        }
    }
}

/// Why a step is refused. Nothing of the case changes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    #[error("案件当前为“{state}”，不能{step}")]
    NotNow {
        state: &'static str,
        step: &'static str,
    },
    #[error("{what}（{}）不能晚于今天（{}）", day_zh(*.date), day_zh(*.today))]
    Future {
        what: &'static str,
        date: NaiveDate,
        today: NaiveDate,
    },
    #[error("{what}（{}）不能早于上一步的日期（{}）", day_zh(*.date), day_zh(*.last))]
    BeforeLast {
        what: &'static str,
        date: NaiveDate,
        last: NaiveDate,
    },
    #[error("{0}")]
    Rule(String),
    #[error(transparent)]
    Calendar(#[from] CalendarError),
}

impl CaseError {
    pub fn code(&self) -> &'static str {
        match self {
            CaseError::NotNow { .. } => "case_state",
            CaseError::Future { .. } | CaseError::BeforeLast { .. } => "case_date",
            CaseError::Rule(_) => "case_rule",
            CaseError::Calendar(e) => e.code(),
        }
    }
}

/// One product's 后处理.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// The first report's 检验结论.
    pub verdict: Verdict,
    /// 报告收到日期: when the district received the report and 附件1.
    pub report_received: NaiveDate,
    /// Whether a nominal producer behind a seller must be served too (by the city).
    pub serve_producer: bool,
    pub state: CaseState,
    /// 附件1's 送达 dates.
    pub served_business: Option<NaiveDate>,
    pub served_producer: Option<NaiveDate>,
    /// The date of the last step, which no later step may precede.
    pub last_event: NaiveDate,
}

/// The objection period of 附件1.
pub(super) const OBJECTION: Period = Period::Days(15);
/// 三.1: serving 附件1.
pub(super) const SERVE_RESULT: Period = Period::WorkingDays(5);
/// 三.2: the city's decision on a re-inspection.
pub(super) const DECIDE_REINSPECTION: Period = Period::WorkingDays(10);
/// 附件2: the applicant's days to go to the institute.
pub(super) const APPLICANT_APPEARS: Period = Period::Days(7);
/// 三.3 / 附件5.
pub(super) const RECTIFY: Period = Period::Days(60);
pub(super) const RECHECK: Period = Period::Days(75);

impl Case {
    /// A new case for a report received on `report_received`.
    pub fn new(verdict: Verdict, report_received: NaiveDate, serve_producer: bool) -> Case {
        Case {
            verdict,
            report_received,
            serve_producer,
            state: CaseState::ResultToServe,
            served_business: None,
            served_producer: None,
            last_event: report_received,
        }
    }

    pub(super) fn served(&self, r: Recipient) -> Option<NaiveDate> {
        match r {
            Recipient::Business => self.served_business,
            Recipient::Producer => self.served_producer,
        }
    }

    /// Everyone 附件1 goes to.
    pub(super) fn recipients(&self) -> Vec<Recipient> {
        if self.serve_producer {
            vec![Recipient::Business, Recipient::Producer]
        } else {
            vec![Recipient::Business]
        }
    }

    /// The last day `r` may object on, once served.
    pub fn objection_until(
        &self,
        r: Recipient,
        calendar: &Calendar,
    ) -> Result<Option<NaiveDate>, CalendarError> {
        self.served(r)
            .map(|s| calendar.due(s, OBJECTION))
            .transpose()
    }

    /// The case after `step`, or why not. `today` bounds every date recorded.
    pub fn apply(
        &self,
        step: &CaseStep,
        calendar: &Calendar,
        today: NaiveDate,
    ) -> Result<Case, CaseError> {
        let what = step_label(step);
        for date in step.dates() {
            if date > today {
                return Err(CaseError::Future { what, date, today });
            }
            if date < self.last_event {
                return Err(CaseError::BeforeLast {
                    what,
                    date,
                    last: self.last_event,
                });
            }
        }
        let not_now = || CaseError::NotNow {
            state: self.state.label_zh(),
            step: what,
        };
        let mut next = self.clone();
        next.last_event = step.dates().into_iter().max().unwrap_or(self.last_event);
        next.state = match (self.state, *step) {
            (CaseState::ResultToServe, CaseStep::ServeResult { to, on }) => {
                if !self.recipients().contains(&to) || self.served(to).is_some() {
                    return Err(not_now());
                }
                match to {
                    Recipient::Business => next.served_business = Some(on),
                    Recipient::Producer => next.served_producer = Some(on),
                }
                let all_served = next.recipients().iter().all(|r| next.served(*r).is_some());
                match (all_served, self.verdict) {
                    (false, _) => CaseState::ResultToServe,
                    (true, Verdict::Pass) => CaseState::Closed {
                        on,
                        why: Closure::Passed,
                    },
                    (true, Verdict::Fail) => CaseState::ObjectionPeriod,
                }
            }
            (CaseState::ObjectionPeriod, CaseStep::EndObjectionPeriod { on }) => {
                for r in self.recipients() {
                    if let Some(until) = self.objection_until(r, calendar)? {
                        if on <= until {
                            return Err(CaseError::Rule(format!(
                                "{}的异议期到{}才届满",
                                r.label_zh(),
                                day_zh(until)
                            )));
                        }
                    }
                }
                CaseState::RectificationToOrder { since: on }
            }
            (CaseState::ObjectionPeriod, CaseStep::LodgeObjection { by, received }) => {
                match self.objection_until(by, calendar)? {
                    Some(until) if received <= until => {}
                    Some(until) => {
                        return Err(CaseError::Rule(format!(
                            "{}的异议期已于{}届满，逾期未提出书面异议的视为认可抽查结果",
                            by.label_zh(),
                            day_zh(until)
                        )))
                    }
                    None => return Err(not_now()),
                }
                CaseState::ObjectionLodged { by, received }
            }
            (CaseState::ObjectionLodged { by, .. }, CaseStep::GrantReinspection { served }) => {
                CaseState::ReinspectionGranted { by, served }
            }
            (CaseState::ObjectionLodged { .. }, CaseStep::RefuseReinspection { served }) => {
                CaseState::RectificationToOrder { since: served }
            }
            (CaseState::ReinspectionGranted { by, served }, CaseStep::ApplicantAppeared { on }) => {
                let until = calendar.due(served, APPLICANT_APPEARS)?;
                if on > until {
                    return Err(CaseError::Rule(format!(
                        "办理复检手续的期限已于{}届满，视为放弃复检",
                        day_zh(until)
                    )));
                }
                CaseState::Reinspecting { by, since: on }
            }
            (
                CaseState::ReinspectionGranted { served, .. },
                CaseStep::ReinspectionAbandoned { on },
            ) => {
                let until = calendar.due(served, APPLICANT_APPEARS)?;
                if on <= until {
                    return Err(CaseError::Rule(format!(
                        "办理复检手续的期限到{}才届满",
                        day_zh(until)
                    )));
                }
                CaseState::RectificationToOrder { since: on }
            }
            (CaseState::Reinspecting { .. }, CaseStep::ReinspectionResult { verdict, served }) => {
                match verdict {
                    Verdict::Pass => CaseState::Closed {
                        on: served,
                        why: Closure::ReinspectionPassed,
                    },
                    Verdict::Fail => CaseState::RectificationToOrder { since: served },
                }
            }
            (
                CaseState::RectificationToOrder { .. },
                CaseStep::OrderRectification { ordered, served },
            ) => {
                if served < ordered {
                    return Err(CaseError::Rule(format!(
                        "送达日期（{}）不能早于责令改正通知书的日期（{}）",
                        day_zh(served),
                        day_zh(ordered)
                    )));
                }
                CaseState::Rectifying { ordered, served }
            }
            (CaseState::Rectifying { .. }, CaseStep::Recheck { on, passed }) => {
                if passed {
                    CaseState::Closed {
                        on,
                        why: Closure::Rectified,
                    }
                } else {
                    CaseState::ReportedToCity { on }
                }
            }
            (CaseState::ReportedToCity { .. }, CaseStep::Publish { on }) => {
                CaseState::Published { on }
            }
            (CaseState::Published { on: published }, CaseStep::Recheck { on, passed }) => {
                let (from, until) = second_recheck_window(published)?;
                if on < from || on > until {
                    return Err(CaseError::Rule(format!(
                        "公告后的再次复查应在公告之日起六十日后、九十日前（{}至{}）",
                        day_zh(from),
                        day_zh(until)
                    )));
                }
                if passed {
                    CaseState::Closed {
                        on,
                        why: Closure::Rectified,
                    }
                } else {
                    CaseState::SuspensionToOrder { since: on }
                }
            }
            (CaseState::SuspensionToOrder { .. }, CaseStep::OrderSuspension { ordered, until }) => {
                if until <= ordered {
                    return Err(CaseError::Rule(format!(
                        "整顿期限（{}）应晚于责令停业的日期（{}）",
                        day_zh(until),
                        day_zh(ordered)
                    )));
                }
                CaseState::Suspended { ordered, until }
            }
            (CaseState::Suspended { until, .. }, CaseStep::Recheck { on, passed }) => {
                if on <= until {
                    return Err(CaseError::Rule(format!(
                        "整顿期满（{}）后才能复查",
                        day_zh(until)
                    )));
                }
                if passed {
                    CaseState::Closed {
                        on,
                        why: Closure::Rectified,
                    }
                } else {
                    CaseState::Transferred { on }
                }
            }
            _ => return Err(not_now()),
        };
        Ok(next)
    }
}

fn step_label(step: &CaseStep) -> &'static str {
    match step {
        CaseStep::ServeResult { .. } => "登记结果通知书送达",
        CaseStep::EndObjectionPeriod { .. } => "确认异议期届满",
        CaseStep::LodgeObjection { .. } => "登记异议和复检申请",
        CaseStep::GrantReinspection { .. } => "准予复检（附件2）",
        CaseStep::RefuseReinspection { .. } => "不予复检（附件3）",
        CaseStep::ApplicantAppeared { .. } => "登记申请人办理复检手续",
        CaseStep::ReinspectionAbandoned { .. } => "登记视为放弃复检",
        CaseStep::ReinspectionResult { .. } => "登记复检结果（附件4）",
        CaseStep::OrderRectification { .. } => "责令改正（附件5）",
        CaseStep::Recheck { .. } => "登记复查结果",
        CaseStep::Publish { .. } => "登记公告",
        CaseStep::OrderSuspension { .. } => "责令停业整顿",
    }
}
