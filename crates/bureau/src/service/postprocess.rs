//! 后处理 (notice section 三): inspection results taken in as cases, each step of a
//! case applied through the domain's state machine by whoever the notice gives it
//! to (the district or the city), and the deadline board of what is due.

use fieldlead_domain::inspection::InspectionResult;
use fieldlead_domain::postprocess::{Case, CaseStep, Deadline, ServiceDetails};
use fieldlead_domain::text::FieldProblem;
use fieldlead_domain::time::china_date;
use fieldlead_domain::{CaseId, ErrorCode};

use super::*;
use crate::model::{CaseSummary, PostCase, Scope, ServiceRecord};
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

/// How many of the board's deadlines a page shows at most, soonest first; the
/// counts always cover every one.
pub const BOARD_PAGE: usize = 500;

/// The board, or why a case's deadline cannot be counted (a year the calendar
/// does not hold): such cases are listed, never dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Board {
    /// The soonest deadlines, at most [`BOARD_PAGE`].
    pub rows: Vec<BoardRow>,
    /// Every deadline on the board.
    pub total: usize,
    /// Past their day.
    pub overdue: usize,
    /// Due today.
    pub due_today: usize,
    /// Due within the next 2 working days.
    pub due_soon: usize,
    /// Cases whose deadline needs a year not loaded, with the message.
    pub not_counted: Vec<(CaseSummary, String)>,
    /// The counts by district and officer, most overdue first.
    pub groups: Vec<BoardGroup>,
}

/// The board's counts for one district's cases of one officer (or unassigned).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BoardGroup {
    pub district: String,
    pub assignee: Option<String>,
    pub total: usize,
    pub overdue: usize,
    pub due_today: usize,
    pub due_soon: usize,
}

impl Board {
    pub fn overdue(&self) -> usize {
        self.overdue
    }
}

/// How long the header's overdue count is reused before it is counted again
/// (any change to a case counts it again at once).
const OVERDUE_COUNT_TTL: std::time::Duration = std::time::Duration::from_secs(30);

impl Bureau {
    /// How many deadlines in the user's scope are past their day, for the
    /// console's header: only for those who act on cases (后处理 officers and the
    /// city). Counted at most every 30 seconds per scope, and again after any
    /// change to a case; a calendar problem shows on the board, not here.
    pub fn overdue_count(&self, user: &User) -> Option<usize> {
        if !matches!(user.role, Role::Officer | Role::CityAdmin) {
            return None;
        }
        let key = user.scope().district();
        if let Ok(cache) = self.overdue_cache.lock() {
            if let Some((at, n)) = cache.get(&key) {
                if at.elapsed() < OVERDUE_COUNT_TTL {
                    return Some(*n);
                }
            }
        }
        let n = self.deadline_board_up_to(user, 0, None).ok()?.overdue;
        if let Ok(mut cache) = self.overdue_cache.lock() {
            cache.insert(key, (std::time::Instant::now(), n));
        }
        Some(n)
    }

    /// Forgets the counted overdue deadlines: a case changed.
    pub(crate) fn cases_changed(&self) {
        if let Ok(mut cache) = self.overdue_cache.lock() {
            cache.clear();
        }
    }

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
            Ok(()) => {
                self.cases_changed();
                Ok(ids)
            }
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

    /// Keeps a scan or photo proving a service, hashed like any evidence: an
    /// image or a PDF, never anything else.
    pub fn store_service_scan(&self, bytes: &[u8]) -> Result<fieldlead_domain::Sha256> {
        let is_pdf = bytes.starts_with(b"%PDF-");
        if !is_pdf && fieldlead_evidence::content_type(bytes) == "application/octet-stream" {
            return Err(FieldProblem::new(
                "service_scan",
                "service_scan",
                "送达证明应为照片（JPEG、PNG、WebP）或 PDF 扫描件",
            )
            .into());
        }
        Ok(self.blobs.put(bytes)?)
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
    /// steps, the city's quality division. A step that serves a document needs
    /// its 送达 details, recorded with it. Audited with the case before and after.
    pub fn apply_case_step(
        &self,
        user: &User,
        id: CaseId,
        step: CaseStep,
        service: Option<ServiceDetails>,
    ) -> Result<PostCase> {
        let found = self.case_for(user, id)?;
        let allowed = match user.role {
            Role::CityAdmin => step.by_city(),
            Role::Officer => !step.by_city(),
            Role::Reviewer | Role::Enforcement => false,
        };
        if !allowed {
            return Err(BureauError::Forbidden);
        }
        let now = now();
        let after = found.case.apply(&step, &self.calendar, china_date(now))?;
        let service = match (step.serves(&found.case), service) {
            (Some((document, recipient, served_on)), Some(details)) => Some(ServiceRecord {
                document,
                recipient,
                // The copy this system issued, if it did (the paper may have been
                // made elsewhere).
                issued: found
                    .documents
                    .iter()
                    .rev()
                    .find(|d| {
                        d.document == document
                            && d.recipient == recipient
                            && d.superseded_by.is_none()
                    })
                    .map(|d| d.id),
                served_on,
                details,
                recorded_at: now,
                recorded_by: user.username.clone(),
            }),
            (Some((document, ..)), None) => {
                return Err(FieldProblem::new(
                    "service_method",
                    "required",
                    format!("请登记{}的送达方式、送达人和送达证明", document.label_zh()),
                )
                .into())
            }
            (None, _) => None,
        };
        let changed = self.storage.update_case(
            id,
            &found.case,
            &after,
            service.as_ref(),
            AuditEntry {
                at: now,
                ..audit(
                    &Actor::User(user.username.clone()),
                    Some(found.district.id),
                    step.action(),
                    format!("case:{id}"),
                    serde_json::to_value(&found.case).ok(),
                    serde_json::to_value(&after).ok().map(|mut v| {
                        v["service"] = serde_json::to_value(&service).unwrap_or_default();
                        v
                    }),
                )
            },
        )?;
        if !changed {
            return Err(BureauError::Concurrent);
        }
        self.cases_changed();
        self.case_for(user, id)
    }

    /// What is due on every open case in the user's scope, soonest first; the
    /// first [`BOARD_PAGE`] deadlines, with counts of all.
    pub fn deadline_board(&self, user: &User) -> Result<Board> {
        self.deadline_board_up_to(user, BOARD_PAGE, None)
    }

    /// The board of the cases one officer works (`assignee`), or of all; the
    /// city may narrow it to one district (`district`, its code).
    pub fn deadline_board_of(
        &self,
        user: &User,
        assignee: Option<&str>,
        district: Option<&str>,
    ) -> Result<Board> {
        match district {
            Some(code) if user.role == Role::CityAdmin => {
                let d = self
                    .storage
                    .district_by_code(code)?
                    .ok_or(BureauError::NotFound { what: "区县" })?;
                self.board_in(user, Scope::District(d.id), BOARD_PAGE, assignee)
            }
            _ => self.deadline_board_up_to(user, BOARD_PAGE, assignee),
        }
    }

    /// The whole board as a spreadsheet: every deadline, soonest first.
    pub fn deadline_board_xlsx(&self, user: &User) -> Result<Vec<u8>> {
        let board = self.deadline_board_up_to(user, usize::MAX, None)?;
        board_xlsx(&board).map_err(|e| BureauError::Internal(format!("xlsx: {e}")))
    }

    fn deadline_board_up_to(
        &self,
        user: &User,
        page: usize,
        assignee: Option<&str>,
    ) -> Result<Board> {
        self.board_in(user, user.scope(), page, assignee)
    }

    fn board_in(
        &self,
        user: &User,
        scope: Scope,
        page: usize,
        assignee: Option<&str>,
    ) -> Result<Board> {
        if user.role == Role::Reviewer {
            return Err(BureauError::Forbidden);
        }
        let today = china_date(now());
        let anchor = self.config.rectification_anchor;
        let open = self.storage.cases(
            scope,
            &CaseFilter {
                open_only: true,
                assignee: assignee.map(str::to_owned),
                ..CaseFilter::default()
            },
        )?;
        let mut board = Board::default();
        let mut due = Vec::new();
        for case in open {
            match case.case.deadlines(&self.calendar, anchor) {
                Ok(deadlines) => due.extend(deadlines.into_iter().map(|d| (case.clone(), d))),
                Err(e) => board.not_counted.push((case, e.to_string())),
            }
        }
        let first = due
            .iter()
            .map(|(_, d)| d.due)
            .min()
            .unwrap_or(today)
            .min(today);
        let last = due
            .iter()
            .map(|(_, d)| d.due)
            .max()
            .unwrap_or(today)
            .max(today);
        let counter = self.calendar.span(first, last);
        due.sort_by(|a, b| (a.1.due, &a.0.report_no).cmp(&(b.1.due, &b.0.report_no)));
        let mut groups = std::collections::BTreeMap::new();
        for (case, deadline) in due {
            match counter.between(today, deadline.due) {
                Ok(left) => {
                    let (overdue, due_today, due_soon) = (
                        usize::from(left < 0),
                        usize::from(left == 0 && deadline.due == today),
                        usize::from((0..=2).contains(&left)),
                    );
                    board.total += 1;
                    board.overdue += overdue;
                    board.due_today += due_today;
                    board.due_soon += due_soon;
                    let key = (case.district.name.clone(), case.assignee.clone());
                    let group = groups.entry(key).or_insert_with(|| BoardGroup {
                        district: case.district.name.clone(),
                        assignee: case.assignee.clone(),
                        ..BoardGroup::default()
                    });
                    group.total += 1;
                    group.overdue += overdue;
                    group.due_today += due_today;
                    group.due_soon += due_soon;
                    if board.rows.len() < page {
                        board.rows.push(BoardRow {
                            state_label: case.case.state.label_zh(),
                            case,
                            deadline,
                            working_days_left: left,
                        });
                    }
                }
                Err(e) => board.not_counted.push((case, e)),
            }
        }
        board.groups = groups.into_values().collect();
        board
            .groups
            .sort_by(|a, b| b.overdue.cmp(&a.overdue).then(b.total.cmp(&a.total)));
        Ok(board)
    }
}

/// The board's deadlines as an .xlsx sheet, dates as dates so they sort and filter.
fn board_xlsx(board: &Board) -> std::result::Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use chrono::Datelike;
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("后处理期限")?;
    let bold = Format::new().set_bold();
    let day = Format::new().set_num_format("yyyy-mm-dd");
    let headers = [
        "期限",
        "不早于",
        "剩余工作日",
        "应办事项",
        "依据",
        "起算事件",
        "起算日期",
        "区县",
        "承办人",
        "报告编号",
        "受检单位",
        "产品",
        "状态",
    ];
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    let date = |d: chrono::NaiveDate| {
        ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
    };
    for (i, r) in board.rows.iter().enumerate() {
        let row = (i + 1) as u32;
        sheet.write_datetime_with_format(row, 0, &date(r.deadline.due)?, &day)?;
        if let Some(nb) = r.deadline.not_before {
            sheet.write_datetime_with_format(row, 1, &date(nb)?, &day)?;
        }
        sheet.write_number(row, 2, r.working_days_left as f64)?;
        sheet.write_string(row, 3, &r.deadline.what)?;
        sheet.write_string(row, 4, r.deadline.clause)?;
        sheet.write_string(row, 5, r.deadline.anchor)?;
        sheet.write_datetime_with_format(row, 6, &date(r.deadline.anchor_date)?, &day)?;
        sheet.write_string(row, 7, &r.case.district.name)?;
        sheet.write_string(row, 8, r.case.assignee.as_deref().unwrap_or(""))?;
        sheet.write_string(row, 9, &r.case.report_no)?;
        sheet.write_string(row, 10, &r.case.business_name)?;
        sheet.write_string(row, 11, &r.case.product_name)?;
        sheet.write_string(row, 12, r.state_label)?;
    }
    sheet.autofit();
    workbook.save_to_buffer()
}
