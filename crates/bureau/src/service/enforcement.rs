//! Section 四 at the bureau: the 后处理 officer passes failed products' leads to
//! the district's 执法办案部门 on a 附件6; the enforcement side answers each (立案
//! and its result, or 不予立案 with 理由 and 原因); the answers make 附件7 and 附件8.
//! Also the case's own paperwork around it: the institute's report files and who
//! works the case.

use std::collections::HashSet;

use chrono::NaiveDate;
use fieldlead_domain::postprocess::EnforcementAnswer;
use fieldlead_domain::text::FieldProblem;
use fieldlead_domain::time::china_date;
use fieldlead_domain::{CaseId, TransferId};
use fieldlead_forms::{CaseResultRow, DeclinedRow, LeadList, ListFooter, TransferListRow};

use super::*;
use crate::model::{CaseReport, CaseSummary, EnforcementLead, ReportKind, Transfer};
use crate::storage::{CaseFilter, EnforcementFilter, NewTransfer};

/// Largest report file attached to a case.
pub const MAX_REPORT_BYTES: usize = 50 * 1024 * 1024;

/// Which enforcement list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnforcementList {
    /// 附件7: every answered lead.
    CaseResults,
    /// 附件8: the leads not filed as cases.
    Declined,
}

impl Bureau {
    /// Failed products of the officer's scope whose first report was served and
    /// that are on no 附件6 yet.
    pub fn leads_to_transfer(&self, user: &User) -> Result<Vec<CaseSummary>> {
        if !matches!(user.role, Role::Officer | Role::CityAdmin) {
            return Err(BureauError::Forbidden);
        }
        let on_a_list: HashSet<CaseId> = self
            .storage
            .enforcement_leads(user.scope(), &EnforcementFilter::default())?
            .into_iter()
            .map(|l| l.case_id)
            .collect();
        Ok(self
            .storage
            .cases(user.scope(), &CaseFilter::default())?
            .into_iter()
            .filter(|c| c.case.may_transfer_to_enforcement() && !on_a_list.contains(&c.id))
            .collect())
    }

    /// Puts the chosen cases on a new 附件6 of the officer's district, dated `on`.
    pub fn transfer_to_enforcement(
        &self,
        user: &User,
        cases: &[CaseId],
        on: NaiveDate,
    ) -> Result<Transfer> {
        let (Role::Officer, Some(district)) = (user.role, &user.district) else {
            return Err(BureauError::Forbidden);
        };
        if cases.is_empty() {
            return Err(FieldProblem::new("cases", "required", "请选择要移交的线索").into());
        }
        let now = now();
        if on > china_date(now) {
            return Err(FieldProblem::new("on", "case_date", "移交日期不能晚于今天").into());
        }
        let mut audits = Vec::new();
        let mut seen = HashSet::new();
        for id in cases {
            if !seen.insert(*id) {
                continue;
            }
            let case = self.case_for(user, *id)?;
            if !case.case.may_transfer_to_enforcement() {
                return Err(BureauError::State(format!(
                    "报告编号 {}：只有初检报告已送达受检单位的不合格产品才作为案件线索移交",
                    case.result.report_no
                )));
            }
            audits.push(AuditEntry {
                at: now,
                ..audit(
                    &Actor::User(user.username.clone()),
                    Some(district.id),
                    "lead_transferred",
                    format!("case:{id}"),
                    None,
                    Some(serde_json::json!({"transferred_on": on})),
                )
            });
        }
        let transfer = Transfer {
            id: TransferId::new(),
            district: district.clone(),
            transferred_on: on,
            created_at: now,
            created_by: user.username.clone(),
        };
        let new = NewTransfer {
            transfer: transfer.clone(),
            cases: seen.into_iter().collect(),
            audits,
        };
        match self.storage.insert_transfer(new)? {
            Ok(()) => Ok(transfer),
            Err(held) => Err(BureauError::State(format!(
                "{} 条线索已在其他移交清单上，本次未移交任何线索，请刷新后重新选择",
                held.len()
            ))),
        }
    }

    /// The leads at the enforcement side in the user's scope.
    pub fn enforcement_leads(
        &self,
        user: &User,
        filter: &EnforcementFilter,
    ) -> Result<Vec<EnforcementLead>> {
        if !user.role.sees_cases() {
            return Err(BureauError::Forbidden);
        }
        Ok(self.storage.enforcement_leads(user.scope(), filter)?)
    }

    /// The enforcement side's answer on one lead; a later answer replaces an
    /// earlier one (the fines come after the 立案), audited with both.
    pub fn answer_lead(
        &self,
        user: &User,
        id: CaseId,
        answer: EnforcementAnswer,
    ) -> Result<EnforcementLead> {
        if user.role != Role::Enforcement {
            return Err(BureauError::Forbidden);
        }
        let case = self.case_for(user, id)?;
        let Some(lead) = case.enforcement else {
            return Err(BureauError::State("该案件尚未移交执法办案部门".into()));
        };
        let at = now();
        let changed = self.storage.answer_lead(
            id,
            lead.answer.as_ref(),
            &answer,
            &user.username,
            AuditEntry {
                at,
                ..audit(
                    &Actor::User(user.username.clone()),
                    Some(case.district.id),
                    "lead_answered",
                    format!("case:{id}"),
                    lead.answer
                        .as_ref()
                        .and_then(|a| serde_json::to_value(a).ok()),
                    serde_json::to_value(&answer).ok(),
                )
            },
        )?;
        if !changed {
            return Err(BureauError::Concurrent);
        }
        self.case_for(user, id)?
            .enforcement
            .ok_or(BureauError::NotFound { what: "线索" })
    }

    /// 附件6 of one transfer.
    pub fn transfer_list(&self, user: &User, id: TransferId) -> Result<LeadList> {
        let leads = self.enforcement_leads(
            user,
            &EnforcementFilter {
                transfer: Some(id),
                answered: None,
            },
        )?;
        let first = leads.first().ok_or(BureauError::NotFound {
            what: "移交清单"
        })?;
        let footer = ListFooter {
            sending_unit: Some(format!(
                "{}（后处理）",
                self.district_issuer_name(&first.transfer.district)
            )),
            receiving_unit: Some(format!(
                "{}（执法办案部门）",
                self.district_issuer_name(&first.transfer.district)
            )),
            date: Some(first.transfer.transferred_on),
            ..ListFooter::default()
        };
        let rows = leads
            .iter()
            .map(|l| TransferListRow {
                brand: l.result.brand.clone(),
                product_name: l.result.product_name.clone(),
                spec_model: l.result.spec_model.clone(),
                report_no: Some(l.result.report_no.clone()),
                remark: l
                    .result
                    .failed_items
                    .clone()
                    .map(|f| format!("不合格项目：{f}")),
            })
            .collect();
        Ok(LeadList::Transfer { footer, rows })
    }

    /// 附件7 or 附件8 over the answered leads of the user's scope (one transfer's
    /// when given).
    pub fn enforcement_list(
        &self,
        user: &User,
        which: EnforcementList,
        transfer: Option<TransferId>,
    ) -> Result<LeadList> {
        let leads = self.enforcement_leads(
            user,
            &EnforcementFilter {
                transfer,
                answered: Some(true),
            },
        )?;
        let footer = ListFooter {
            sending_unit: Some(match &user.district {
                Some(d) => format!("{}（执法办案部门）", self.district_issuer_name(d)),
                None => "重庆市市场监督管理局".into(),
            }),
            date: Some(china_date(now())),
            ..ListFooter::default()
        };
        let mut results = Vec::new();
        let mut declined = Vec::new();
        for l in leads {
            let r = &l.result;
            match l.answer {
                Some(EnforcementAnswer::Filed {
                    file_number,
                    fine,
                    confiscation,
                    remark,
                }) => results.push(CaseResultRow {
                    brand: r.brand.clone(),
                    product_name: r.product_name.clone(),
                    report_no: Some(r.report_no.clone()),
                    fine_fen: fine,
                    confiscation_fen: confiscation,
                    remark: match (file_number, remark) {
                        (Some(n), Some(m)) => Some(format!("立案编号 {n}；{m}")),
                        (Some(n), None) => Some(format!("立案编号 {n}")),
                        (None, m) => m,
                    },
                    decline_reason: None,
                }),
                Some(EnforcementAnswer::Declined { grounds, reason }) => {
                    results.push(CaseResultRow {
                        brand: r.brand.clone(),
                        product_name: r.product_name.clone(),
                        report_no: Some(r.report_no.clone()),
                        decline_reason: Some(reason.clone()),
                        ..CaseResultRow::default()
                    });
                    declined.push(DeclinedRow {
                        brand: r.brand.clone(),
                        product_name: r.product_name.clone(),
                        spec_model: r.spec_model.clone(),
                        report_no: Some(r.report_no.clone()),
                        transferred_on: Some(l.transfer.transferred_on),
                        decline_grounds: Some(grounds),
                        decline_reason: Some(reason),
                    });
                }
                None => {}
            }
        }
        Ok(match which {
            EnforcementList::CaseResults => LeadList::CaseResults {
                footer,
                rows: results,
            },
            EnforcementList::Declined => LeadList::Declined {
                footer,
                rows: declined,
            },
        })
    }

    fn district_issuer_name(&self, d: &District) -> String {
        self.district_bureau(d).name
    }

    /// Attaches the institute's report file (a PDF) to a case, kept hashed in the
    /// blob store like any evidence.
    pub fn attach_report(
        &self,
        user: &User,
        id: CaseId,
        kind: ReportKind,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<CaseReport> {
        if !matches!(user.role, Role::Officer | Role::CityAdmin) {
            return Err(BureauError::Forbidden);
        }
        let case = self.case_for(user, id)?;
        if !bytes.starts_with(b"%PDF-") {
            return Err(
                FieldProblem::new("report_file", "report_file", "检验报告应为 PDF 文件").into(),
            );
        }
        if bytes.len() > MAX_REPORT_BYTES {
            return Err(FieldProblem::new(
                "report_file",
                "report_file",
                format!("检验报告文件不能超过 {} MB", MAX_REPORT_BYTES / 1024 / 1024),
            )
            .into());
        }
        let name: String = file_name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        let sha256 = self.blobs.put(bytes)?;
        let report = CaseReport {
            kind,
            sha256,
            file_name: if name.trim().is_empty() {
                format!("{}.pdf", case.result.report_no)
            } else {
                name
            },
            size: bytes.len() as u64,
            added_at: now(),
            added_by: user.username.clone(),
        };
        let added = self.storage.add_case_report(
            id,
            &report,
            AuditEntry {
                at: report.added_at,
                ..audit(
                    &Actor::User(user.username.clone()),
                    Some(case.district.id),
                    "report_attached",
                    format!("case:{id}"),
                    None,
                    serde_json::to_value(&report).ok(),
                )
            },
        )?;
        if !added {
            return Err(BureauError::State("该报告文件已附在本案件上".into()));
        }
        Ok(report)
    }

    /// A report file of a case the user may see.
    pub fn case_report(
        &self,
        user: &User,
        id: CaseId,
        sha256: &Sha256,
    ) -> Result<(CaseReport, Vec<u8>)> {
        let case = self.case_for(user, id)?;
        let report = case
            .reports
            .into_iter()
            .find(|r| &r.sha256 == sha256)
            .ok_or(BureauError::NotFound {
                what: "报告文件"
            })?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut self.blobs.open(sha256)?, &mut bytes)
            .map_err(|e| BureauError::Internal(format!("读取报告文件失败：{e}")))?;
        Ok((report, bytes))
    }

    /// The 后处理 officers of a district a case can be assigned to.
    pub fn officers_of(&self, district_id: i64) -> Result<Vec<User>> {
        Ok(self
            .storage
            .users()?
            .into_iter()
            .filter(|u| {
                u.role == Role::Officer && u.district.as_ref().map(|d| d.id) == Some(district_id)
            })
            .collect())
    }

    /// Assigns a case to one of its district's 后处理 officers (or to nobody).
    pub fn assign_case(&self, user: &User, id: CaseId, to: Option<&str>) -> Result<()> {
        if !matches!(user.role, Role::Officer | Role::CityAdmin) {
            return Err(BureauError::Forbidden);
        }
        let case = self.case_for(user, id)?;
        if let Some(name) = to {
            let ok = self
                .officers_of(case.district.id)?
                .iter()
                .any(|u| u.username == name);
            if !ok {
                return Err(FieldProblem::new(
                    "assignee",
                    "assignee",
                    format!("{name} 不是{}的后处理人员", case.district.name),
                )
                .into());
            }
        }
        let changed = self.storage.assign_case(
            id,
            case.assignee.as_deref(),
            to,
            audit(
                &Actor::User(user.username.clone()),
                Some(case.district.id),
                "case_assigned",
                format!("case:{id}"),
                Some(serde_json::json!({"assignee": case.assignee})),
                Some(serde_json::json!({"assignee": to})),
            ),
        )?;
        if !changed {
            return Err(BureauError::Concurrent);
        }
        self.cases_changed();
        Ok(())
    }
}
