//! 后处理 (notice section 三): inspection results taken in as cases, each step of a
//! case applied through the domain's state machine by whoever the notice gives it
//! to (the district or the city), and the deadline board of what is due.

use fieldlead_domain::inspection::InspectionResult;
use fieldlead_domain::postprocess::{Case, CaseStep, Deadline};
use fieldlead_domain::time::china_date;
use fieldlead_domain::{CaseId, ErrorCode};

use super::*;
use crate::model::{CaseSummary, PostCase};
use crate::storage::{CaseFilter, NewCase};

/// One line of the deadline board: a case and one thing due on it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BoardRow {
    pub case: CaseSummary,
    pub deadline: Deadline,
    /// Working days from today to the due day: 0 is today, negative is overdue.
    pub working_days_left: i64,
    /// The case's state as the board shows it.
    pub state_label: &'static str,
}

/// The board, or why a case's deadline cannot be counted (a year the calendar
/// does not hold): such cases are listed, never dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Board {
    pub rows: Vec<BoardRow>,
    /// Cases whose deadline needs a year not loaded, with the message.
    pub not_counted: Vec<(CaseSummary, String)>,
}

impl Board {
    pub fn overdue(&self) -> usize {
        self.rows.iter().filter(|r| r.working_days_left < 0).count()
    }
}

impl Bureau {
    /// Takes a district's inspection results in, one case each, all or none. A
    /// district officer imports for their own district; the city names one.
    pub fn import_results(
        &self,
        user: &User,
        district_code: Option<&str>,
        results: Vec<InspectionResult>,
    ) -> Result<Vec<CaseId>> {
        let district = self.district_for_import(user, district_code)?;
        let now = now();
        let cases: Vec<NewCase> = results
            .into_iter()
            .map(|result| {
                let id = CaseId::new();
                let case = Case::new(
                    result.verdict,
                    result.report_received,
                    result.serve_producer(),
                );
                let audit = AuditEntry {
                    at: now,
                    ..audit(
                        &Actor::User(user.username.clone()),
                        Some(district.id),
                        "result_imported",
                        format!("case:{id}"),
                        None,
                        serde_json::to_value(&result).ok(),
                    )
                };
                NewCase {
                    id,
                    district_id: district.id,
                    result,
                    case,
                    audit,
                }
            })
            .collect();
        let ids = cases.iter().map(|c| c.id).collect();
        match self.storage.insert_cases(cases)? {
            Ok(()) => Ok(ids),
            Err(held) => Err(BureauError::invalid(
                ErrorCode::ReportNoTaken,
                format!(
                    "以下报告编号已导入过，整份清单未导入：{}",
                    held.iter().take(20).cloned().collect::<Vec<_>>().join("、")
                ),
            )),
        }
    }

    fn district_for_import(&self, user: &User, code: Option<&str>) -> Result<District> {
        match (user.role, &user.district, code) {
            (Role::Officer, Some(d), None) => Ok(d.clone()),
            (Role::Officer, Some(d), Some(c)) if c == d.code => Ok(d.clone()),
            (Role::CityAdmin, _, Some(c)) => self
                .storage
                .district_by_code(c)?
                .ok_or(BureauError::NotFound { what: "区县" }),
            (Role::CityAdmin, _, None) => Err(BureauError::invalid(
                ErrorCode::DistrictRequired,
                "请选择检验结果所属的区县",
            )),
            _ => Err(BureauError::Forbidden),
        }
    }

    /// A case the user may see, or 404.
    pub fn case_for(&self, user: &User, id: CaseId) -> Result<PostCase> {
        if user.role == Role::Reviewer {
            return Err(BureauError::Forbidden);
        }
        match self.storage.case(id)? {
            Some(c) if user.scope().allows(c.district.id) => Ok(c),
            _ => Err(BureauError::NotFound {
                what: "后处理案件"
            }),
        }
    }

    /// Applies one step of a case, by the district's officer or, for the city's
    /// steps, the city's quality division. Audited with the case before and after.
    pub fn apply_case_step(&self, user: &User, id: CaseId, step: CaseStep) -> Result<PostCase> {
        let found = self.case_for(user, id)?;
        let allowed = match user.role {
            Role::CityAdmin => step.by_city(),
            Role::Officer => !step.by_city(),
            Role::Reviewer => false,
        };
        if !allowed {
            return Err(BureauError::Forbidden);
        }
        let now = now();
        let after = found.case.apply(&step, &self.calendar, china_date(now))?;
        let changed = self.storage.update_case(
            id,
            &found.case,
            &after,
            AuditEntry {
                at: now,
                ..audit(
                    &Actor::User(user.username.clone()),
                    Some(found.district.id),
                    step.action(),
                    format!("case:{id}"),
                    serde_json::to_value(&found.case).ok(),
                    serde_json::to_value(&after).ok(),
                )
            },
        )?;
        if !changed {
            return Err(BureauError::Concurrent);
        }
        self.case_for(user, id)
    }

    /// What is due on every open case in the user's scope, soonest first.
    pub fn deadline_board(&self, user: &User) -> Result<Board> {
        if user.role == Role::Reviewer {
            return Err(BureauError::Forbidden);
        }
        let today = china_date(now());
        let anchor = self.config.rectification_anchor;
        let open = self.storage.cases(
            user.scope(),
            &CaseFilter {
                open_only: true,
                limit: None,
            },
        )?;
        let mut board = Board::default();
        for case in open {
            match case.case.deadlines(&self.calendar, anchor) {
                Ok(deadlines) => {
                    for deadline in deadlines {
                        match self.working_days_between(today, deadline.due) {
                            Ok(left) => board.rows.push(BoardRow {
                                state_label: case.case.state.label_zh(),
                                case: case.clone(),
                                deadline,
                                working_days_left: left,
                            }),
                            Err(e) => board.not_counted.push((case.clone(), e.to_string())),
                        }
                    }
                }
                Err(e) => board.not_counted.push((case, e.to_string())),
            }
        }
        board.rows.sort_by(|a, b| {
            (a.deadline.due, &a.case.report_no).cmp(&(b.deadline.due, &b.case.report_no))
        });
        Ok(board)
    }

    /// Working days after `from` up to and including `to` (negative when `to`
    /// is earlier: how many working days overdue).
    fn working_days_between(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> std::result::Result<i64, fieldlead_domain::calendar::CalendarError> {
        let (a, b, sign) = if to >= from {
            (from, to, 1)
        } else {
            (to, from, -1)
        };
        let mut n = 0i64;
        let mut d = a;
        while d < b {
            d = d
                .succ_opt()
                .ok_or(fieldlead_domain::calendar::CalendarError::OutOfRange)?;
            if self.calendar.is_workday(d)? {
                n += 1;
            }
        }
        Ok(sign * n)
    }
}
