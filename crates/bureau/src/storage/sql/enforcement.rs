//! Section 四: 附件6 transfers of failed products' leads to the 执法办案部门 and
//! the answers that make 附件7 and 附件8.

use crate::storage::db::{p, Db, DbResult, Row};
use fieldlead_domain::postprocess::EnforcementAnswer;
use fieldlead_domain::CaseId;

use super::codec::{
    district_at, fmt_date, fmt_time, from_json, insert_audit, opt_time, parse, parse_time, to_json,
};
use crate::storage::{
    AuditEntry, EnforcementFilter, EnforcementLead, NewTransfer, Scope, StorageResult, Transfer,
};

pub(super) fn insert_transfer(
    c: &mut dyn Db,
    t: &NewTransfer,
) -> StorageResult<Result<(), Vec<CaseId>>> {
    let mut held = Vec::new();
    for id in &t.cases {
        let sql = "SELECT 1 FROM pp_enforcement WHERE case_id = ?1";
        if c.query_opt(sql, p![id.to_string()], |_| Ok(()))?.is_some() {
            held.push(*id);
        }
    }
    if !held.is_empty() {
        return Ok(Err(held));
    }
    let tr = &t.transfer;
    c.execute(
        "INSERT INTO pp_transfers (id, district_id, transferred_on, created_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        p![
            tr.id.to_string(),
            tr.district.id,
            fmt_date(tr.transferred_on),
            fmt_time(tr.created_at),
            tr.created_by
        ],
    )?;
    for id in &t.cases {
        c.execute(
            "INSERT INTO pp_enforcement (case_id, transfer_id) VALUES (?1, ?2)",
            p![id.to_string(), tr.id.to_string()],
        )?;
    }
    for a in &t.audits {
        insert_audit(c, a)?;
    }
    Ok(Ok(()))
}

const LEAD_COLUMNS: &str = "e.case_id, t.id, d.id, d.code, d.name, t.transferred_on, t.created_at,
    t.created_by, k.result_json, e.answer_json, e.answered_at, e.answered_by";

fn lead_row(r: &Row) -> DbResult<EnforcementLead> {
    Ok(EnforcementLead {
        case_id: parse(&r.get::<String>(0)?)?,
        transfer: Transfer {
            id: parse(&r.get::<String>(1)?)?,
            district: district_at(r, 2)?,
            transferred_on: parse(&r.get::<String>(5)?)?,
            created_at: parse_time(&r.get::<String>(6)?)?,
            created_by: r.get(7)?,
        },
        result: from_json(&r.get::<String>(8)?)?,
        answer: r
            .get::<Option<String>>(9)?
            .as_deref()
            .map(from_json)
            .transpose()?,
        answered_at: opt_time(r.get(10)?)?,
        answered_by: r.get(11)?,
    })
}

pub(super) fn leads(
    c: &mut dyn Db,
    scope: Scope,
    filter: &EnforcementFilter,
) -> DbResult<Vec<EnforcementLead>> {
    c.query_all(&format!(
        "SELECT {LEAD_COLUMNS}
         FROM pp_enforcement e JOIN pp_transfers t ON t.id = e.transfer_id
              JOIN pp_cases k ON k.id = e.case_id JOIN districts d ON d.id = t.district_id
         WHERE (CAST(?1 AS BIGINT) IS NULL OR t.district_id = ?1) AND (CAST(?2 AS TEXT) IS NULL OR t.id = ?2)
           AND (CAST(?3 AS BIGINT) IS NULL OR (CASE WHEN e.answer_json IS NULL THEN 0 ELSE 1 END) = ?3)
         ORDER BY t.transferred_on, t.created_at, k.report_no"
    ), p![
            scope.district(),
            filter.transfer.map(|t| t.to_string()),
            filter.answered
        ], lead_row)
}

pub(super) fn lead_of_case(c: &mut dyn Db, id: CaseId) -> DbResult<Option<EnforcementLead>> {
    c.query_opt(
        &format!(
            "SELECT {LEAD_COLUMNS}
         FROM pp_enforcement e JOIN pp_transfers t ON t.id = e.transfer_id
              JOIN pp_cases k ON k.id = e.case_id JOIN districts d ON d.id = t.district_id
         WHERE e.case_id = ?1"
        ),
        p![id.to_string()],
        lead_row,
    )
}

pub(super) fn answer(
    c: &mut dyn Db,
    case: CaseId,
    before: Option<&EnforcementAnswer>,
    after: &EnforcementAnswer,
    by: &str,
    audit: &AuditEntry,
) -> StorageResult<bool> {
    let before = before.map(to_json).transpose()?;
    let n = c.execute(
        "UPDATE pp_enforcement SET answer_json = ?3, answered_at = ?4, answered_by = ?5
         WHERE case_id = ?1 AND answer_json IS NOT DISTINCT FROM ?2",
        p![
            case.to_string(),
            before,
            to_json(after)?,
            fmt_time(audit.at),
            by
        ],
    )?;
    if n == 1 {
        insert_audit(c, audit)?;
    }
    Ok(n == 1)
}
