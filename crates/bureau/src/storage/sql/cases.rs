//! 后处理 cases: the imported result and the case's state machine as canonical
//! JSON, with copies of the columns lists and the deadline board filter on.

use crate::storage::db::{p, Db, DbResult, Row};
use fieldlead_domain::postprocess::{Case, ServiceDetails};
use fieldlead_domain::CaseId;

use super::codec::{
    district_at, fmt_time, from_json, insert_audit, parse, parse_opt, parse_time, to_json,
};
use crate::storage::{
    AuditEntry, CaseFilter, CaseSummary, NewCase, PostCase, Scope, ServiceRecord, StorageResult,
};

pub(super) fn insert_cases(
    c: &mut dyn Db,
    cases: &[NewCase],
) -> StorageResult<Result<(), Vec<String>>> {
    let mut held = Vec::new();
    for n in cases {
        let sql = "SELECT 1 FROM pp_cases WHERE report_no = ?1";
        if c.query_opt(sql, p![n.result.report_no], |_| Ok(()))?
            .is_some()
        {
            held.push(n.result.report_no.clone());
        }
    }
    if !held.is_empty() {
        return Ok(Err(held));
    }
    let insert =
        "INSERT INTO pp_cases (id, district_id, report_no, result_json, case_json, state, verdict,
            business_name, product_name, report_received, final, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)";
    for n in cases {
        c.execute(
            insert,
            p![
                n.id.to_string(),
                n.district_id,
                n.result.report_no,
                to_json(&n.result)?,
                to_json(&n.case)?,
                n.case.state.name(),
                n.case.verdict.as_str(),
                n.result.business_name,
                n.result.product_name,
                n.case.report_received.to_string(),
                n.case.state.is_final(),
                fmt_time(n.audit.at),
            ],
        )?;
        insert_audit(c, &n.audit)?;
    }
    Ok(Ok(()))
}

pub(super) fn case(c: &mut dyn Db, id: CaseId) -> DbResult<Option<PostCase>> {
    c.query_opt(
        "SELECT k.id, d.id, d.code, d.name, k.result_json, k.case_json, k.created_at, k.updated_at,
                k.assignee
         FROM pp_cases k JOIN districts d ON d.id = k.district_id WHERE k.id = ?1",
        p![id.to_string()],
        |r| {
            Ok(PostCase {
                id: parse(&r.get::<String>(0)?)?,
                district: district_at(r, 1)?,
                result: from_json(&r.get::<String>(4)?)?,
                case: from_json(&r.get::<String>(5)?)?,
                services: Vec::new(),
                documents: Vec::new(),
                reports: Vec::new(),
                enforcement: None,
                assignee: r.get(8)?,
                created_at: parse_time(&r.get::<String>(6)?)?,
                updated_at: parse_time(&r.get::<String>(7)?)?,
            })
        },
    )?
    .map(|mut found| {
        found.services = services(c, id)?;
        found.documents = super::documents::of_case(c, id)?;
        found.reports = super::documents::reports(c, id)?;
        found.enforcement = super::enforcement::lead_of_case(c, id)?;
        Ok(found)
    })
    .transpose()
}

fn services(c: &mut dyn Db, id: CaseId) -> DbResult<Vec<ServiceRecord>> {
    c.query_all(
        "SELECT document, recipient, served_on, method, served_by, proof_json, recorded_at,
                recorded_by, document_id
         FROM pp_services WHERE case_id = ?1 ORDER BY id",
        p![id.to_string()],
        |r| {
            Ok(ServiceRecord {
                document: parse(&r.get::<String>(0)?)?,
                recipient: parse(&r.get::<String>(1)?)?,
                served_on: parse(&r.get::<String>(2)?)?,
                details: ServiceDetails {
                    method: parse(&r.get::<String>(3)?)?,
                    by: r.get(4)?,
                    proof: from_json(&r.get::<String>(5)?)?,
                },
                recorded_at: parse_time(&r.get::<String>(6)?)?,
                recorded_by: r.get(7)?,
                issued: parse_opt(r.get(8)?)?,
            })
        },
    )
}

fn summary(r: &Row) -> DbResult<CaseSummary> {
    Ok(CaseSummary {
        id: parse(&r.get::<String>(0)?)?,
        district: district_at(r, 1)?,
        report_no: r.get(4)?,
        business_name: r.get(5)?,
        product_name: r.get(6)?,
        case: from_json(&r.get::<String>(7)?)?,
        updated_at: parse_time(&r.get::<String>(8)?)?,
        assignee: r.get(9)?,
    })
}

pub(super) fn cases(
    c: &mut dyn Db,
    scope: Scope,
    filter: &CaseFilter,
) -> DbResult<Vec<CaseSummary>> {
    c.query_all(
        "SELECT k.id, d.id, d.code, d.name, k.report_no, k.business_name, k.product_name,
                k.case_json, k.updated_at, k.assignee
         FROM pp_cases k JOIN districts d ON d.id = k.district_id
         WHERE (CAST(?1 AS BIGINT) IS NULL OR k.district_id = ?1) AND (?2 = 0 OR k.final = 0)
           AND (CAST(?4 AS TEXT) IS NULL OR k.assignee = ?4)
         ORDER BY k.report_received, k.report_no LIMIT ?3",
        p![
            scope.district(),
            filter.open_only,
            filter.limit.map_or(i64::MAX, i64::from),
            filter.assignee
        ],
        summary,
    )
}

pub(super) fn update_case(
    c: &mut dyn Db,
    id: CaseId,
    before: &Case,
    after: &Case,
    service: Option<&ServiceRecord>,
    audit: &AuditEntry,
) -> StorageResult<bool> {
    let n = c.execute(
        "UPDATE pp_cases SET case_json = ?3, state = ?4, final = ?5, updated_at = ?6
         WHERE id = ?1 AND case_json = ?2",
        p![
            id.to_string(),
            to_json(before)?,
            to_json(after)?,
            after.state.name(),
            after.state.is_final(),
            fmt_time(audit.at)
        ],
    )?;
    if n == 1 {
        if let Some(s) = service {
            c.execute(
                "INSERT INTO pp_services (case_id, document, recipient, served_on, method,
                    served_by, proof_json, recorded_at, recorded_by, document_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                p![
                    id.to_string(),
                    s.document.as_str(),
                    s.recipient.as_str(),
                    s.served_on.to_string(),
                    s.details.method.as_str(),
                    s.details.by,
                    to_json(&s.details.proof)?,
                    fmt_time(s.recorded_at),
                    s.recorded_by,
                    s.issued.map(|d| d.to_string())
                ],
            )?;
        }
        insert_audit(c, audit)?;
    }
    Ok(n == 1)
}

pub(super) fn assign(
    c: &mut dyn Db,
    id: CaseId,
    before: Option<&str>,
    after: Option<&str>,
    audit: &AuditEntry,
) -> StorageResult<bool> {
    let n = c.execute(
        "UPDATE pp_cases SET assignee = ?3 WHERE id = ?1 AND assignee IS NOT DISTINCT FROM ?2",
        p![id.to_string(), before, after],
    )?;
    if n == 1 {
        insert_audit(c, audit)?;
    }
    Ok(n == 1)
}
