//! What is due on a case: the action, the last day, the clause of the notice
//! and the event the period runs from ([`Case::deadlines`]).

use chrono::NaiveDate;
use serde::Serialize;

use super::{
    Case, CaseState, Recipient, RectificationAnchor, APPLICANT_APPEARS, DECIDE_REINSPECTION,
    OBJECTION, RECHECK, RECTIFY, SERVE_RESULT,
};
use crate::calendar::{Calendar, CalendarError, Period};

/// What is due next on a case: the action, by which day, under which clause,
/// counted from which event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadline {
    /// What must be done, e.g. "向被抽样单位送达结果通知书（附件1）".
    pub what: String,
    /// Where the notice sets it, e.g. "三.1".
    pub clause: &'static str,
    /// The event the period runs from, and its date.
    pub anchor: &'static str,
    pub anchor_date: NaiveDate,
    /// The period as the notice words it; `None` for "at once" (立即).
    pub period: Option<Period>,
    /// Not before this day (the second re-check's window).
    pub not_before: Option<NaiveDate>,
    /// The last day.
    pub due: NaiveDate,
}

impl Case {
    /// What is due on the case now; empty once it is final or waits on others
    /// (the institute's re-inspection, the city's 公告).
    pub fn deadlines(
        &self,
        calendar: &Calendar,
        anchor: RectificationAnchor,
    ) -> Result<Vec<Deadline>, CalendarError> {
        let deadline = |what: String,
                        clause: &'static str,
                        anchor: &'static str,
                        anchor_date: NaiveDate,
                        period: Option<Period>|
         -> Result<Deadline, CalendarError> {
            Ok(Deadline {
                what,
                clause,
                anchor,
                anchor_date,
                period,
                not_before: None,
                due: match period {
                    Some(p) => calendar.due(anchor_date, p)?,
                    None => anchor_date,
                },
            })
        };
        Ok(match self.state {
            CaseState::ResultToServe => {
                let mut out = Vec::new();
                for r in self.recipients() {
                    if self.served(r).is_none() {
                        let (who, clause) = match r {
                            Recipient::Business => ("区县局", "三.1"),
                            Recipient::Producer => ("市局", "三.1"),
                        };
                        out.push(deadline(
                            format!("{who}向{}送达检验报告和结果通知书（附件1）", r.label_zh()),
                            clause,
                            "收到检验报告和结果通知书",
                            self.report_received,
                            Some(SERVE_RESULT),
                        )?);
                    }
                }
                out
            }
            CaseState::ObjectionPeriod => {
                let mut out = Vec::new();
                for r in self.recipients() {
                    if let Some(served) = self.served(r) {
                        out.push(deadline(
                            format!("{}提出书面异议的期限届满", r.label_zh()),
                            "附件1",
                            "结果通知书送达",
                            served,
                            Some(OBJECTION),
                        )?);
                    }
                }
                out
            }
            CaseState::ObjectionLodged { by, received } => vec![deadline(
                format!(
                    "市局对{}的复检申请作出是否准予复检的决定（附件2或附件3）",
                    by.label_zh()
                ),
                "三.2",
                "收到书面复检申请",
                received,
                Some(DECIDE_REINSPECTION),
            )?],
            CaseState::ReinspectionGranted { by, served } => vec![deadline(
                format!("{}到复检机构办理复检手续，逾期视为放弃复检", by.label_zh()),
                "附件2",
                "复检机构确定通知书送达",
                served,
                Some(APPLICANT_APPEARS),
            )?],
            CaseState::Reinspecting { .. }
            | CaseState::ReportedToCity { .. }
            | CaseState::Transferred { .. }
            | CaseState::Closed { .. } => Vec::new(),
            CaseState::RectificationToOrder { since } => vec![deadline(
                "立即制作并送达责令改正通知书（附件5）".into(),
                "三.3",
                "异议期届满或复检、异议结果送达",
                since,
                None,
            )?],
            CaseState::Rectifying { ordered, served } => {
                let (name, date) = match anchor {
                    RectificationAnchor::Served => ("责令改正通知书送达", served),
                    RectificationAnchor::Ordered => ("下达责令改正通知书", ordered),
                };
                let clause = match anchor {
                    RectificationAnchor::Served => "附件5",
                    RectificationAnchor::Ordered => "三.3",
                };
                vec![
                    deadline(
                        "被抽样生产者、销售者改正期限届满".into(),
                        clause,
                        name,
                        date,
                        Some(RECTIFY),
                    )?,
                    deadline("组织复查".into(), clause, name, date, Some(RECHECK))?,
                ]
            }
            CaseState::Published { on } => {
                let (from, until) = second_recheck_window(on)?;
                vec![Deadline {
                    what: "公告后再次组织复查（六十日后、九十日前）".into(),
                    clause: "三.3",
                    anchor: "公告",
                    anchor_date: on,
                    period: Some(Period::Days(90)),
                    not_before: Some(from),
                    due: until,
                }]
            }
            CaseState::SuspensionToOrder { since } => vec![deadline(
                "责令停业，限期整顿（产品质量法第十七条）".into(),
                "三.3",
                "公告后复查仍不合格",
                since,
                None,
            )?],
            CaseState::Suspended { until, .. } => vec![Deadline {
                what: "整顿期满后复查；仍不合格的移交办案机构".into(),
                clause: "三.3",
                anchor: "整顿期满",
                anchor_date: until,
                period: None,
                not_before: until.succ_opt(),
                due: until.succ_opt().unwrap_or(until),
            }],
        })
    }
}

/// "在公告之日起六十日后九十日前": from the 61st day to the 89th, both included
/// ("后" and "前" exclude the day named, 民法典 第一千二百五十九条).
pub(super) fn second_recheck_window(
    published: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), CalendarError> {
    let add = |n: u64| {
        published
            .checked_add_days(chrono::Days::new(n))
            .ok_or(CalendarError::OutOfRange)
    };
    Ok((add(61)?, add(89)?))
}
