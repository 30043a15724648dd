//! Issued 后处理 documents (append-only, enforced by triggers) and the report
//! files attached to a case.

use crate::storage::db::{p, Db, DbError, DbResult, Row};
use fieldlead_domain::{CaseId, DocumentId};

use super::codec::{fmt_time, from_json, insert_audit, parse, parse_opt, parse_time, to_json};
use crate::storage::{AuditEntry, CaseReport, DocumentInsert, IssuedDocument, StorageResult};

const DOCUMENT_COLUMNS: &str = "p.id, p.case_id, p.document, p.recipient, p.issuer_key, p.year,
    p.seq, p.number, p.data_json, p.data_sha256, p.pdf_sha256, p.supersedes, p.correction,
    (SELECT n.id FROM pp_documents n WHERE n.supersedes = p.id), p.issued_at, p.issued_by";

fn document_row(r: &Row) -> DbResult<IssuedDocument> {
    Ok(IssuedDocument {
        id: parse(&r.get::<String>(0)?)?,
        case_id: parse(&r.get::<String>(1)?)?,
        document: parse(&r.get::<String>(2)?)?,
        recipient: parse(&r.get::<String>(3)?)?,
        issuer_key: r.get(4)?,
        year: r.get(5)?,
        seq: r.get(6)?,
        number: r.get(7)?,
        data: from_json(&r.get::<String>(8)?)?,
        data_sha256: parse(&r.get::<String>(9)?)?,
        pdf_sha256: parse(&r.get::<String>(10)?)?,
        supersedes: parse_opt(r.get(11)?)?,
        correction: r.get(12)?,
        superseded_by: parse_opt(r.get(13)?)?,
        issued_at: parse_time(&r.get::<String>(14)?)?,
        issued_by: r.get(15)?,
    })
}

pub(super) fn next_seq(c: &mut dyn Db, issuer_key: &str, year: i32) -> DbResult<u32> {
    c.query_one(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM pp_documents WHERE issuer_key = ?1 AND year = ?2",
        p![issuer_key, year],
        |r| r.get(0),
    )
}

pub(super) fn insert(
    c: &mut dyn Db,
    d: &IssuedDocument,
    audit: &AuditEntry,
) -> StorageResult<DocumentInsert> {
    let taken = c
        .query_opt(
            "SELECT 1 FROM pp_documents WHERE issuer_key = ?1 AND year = ?2 AND seq = ?3",
            p![d.issuer_key, d.year, d.seq],
            |_| Ok(()),
        )?
        .is_some();
    if taken {
        return Ok(DocumentInsert::NumberTaken);
    }
    if d.supersedes.is_none() {
        // One valid document per case, kind and recipient: a second is a correction.
        let issued = c
            .query_opt(
                "SELECT 1 FROM pp_documents p WHERE p.case_id = ?1 AND p.document = ?2
                   AND p.recipient = ?3
                   AND NOT EXISTS (SELECT 1 FROM pp_documents n WHERE n.supersedes = p.id)",
                p![
                    d.case_id.to_string(),
                    d.document.as_str(),
                    d.recipient.as_str()
                ],
                |_| Ok(()),
            )?
            .is_some();
        if issued {
            return Ok(DocumentInsert::AlreadyIssued);
        }
    }
    if let Some(old) = d.supersedes {
        let corrected = c
            .query_opt(
                "SELECT 1 FROM pp_documents WHERE supersedes = ?1",
                p![old.to_string()],
                |_| Ok(()),
            )?
            .is_some();
        if corrected {
            return Ok(DocumentInsert::AlreadySuperseded);
        }
    }
    let inserted = c.execute(
        "INSERT INTO pp_documents (id, case_id, document, recipient, issuer_key, year, seq,
                number, data_json, data_sha256, pdf_sha256, supersedes, correction, issued_at,
                issued_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        p![
            d.id.to_string(),
            d.case_id.to_string(),
            d.document.as_str(),
            d.recipient.as_str(),
            d.issuer_key,
            d.year,
            d.seq,
            d.number,
            to_json(&d.data)?,
            d.data_sha256.to_hex(),
            d.pdf_sha256.to_hex(),
            d.supersedes.map(|s| s.to_string()),
            d.correction,
            fmt_time(d.issued_at),
            d.issued_by,
        ],
    );
    match inserted {
        Ok(_) => {}
        // A writer on another connection (another instance) won the race.
        Err(DbError::Unique(_)) => return Ok(DocumentInsert::NumberTaken),
        Err(e) => return Err(e.into()),
    }
    insert_audit(c, audit)?;
    Ok(DocumentInsert::Inserted)
}

pub(super) fn document(c: &mut dyn Db, id: DocumentId) -> DbResult<Option<IssuedDocument>> {
    c.query_opt(
        &format!("SELECT {DOCUMENT_COLUMNS} FROM pp_documents p WHERE p.id = ?1"),
        p![id.to_string()],
        document_row,
    )
}

pub(super) fn of_case(c: &mut dyn Db, id: CaseId) -> DbResult<Vec<IssuedDocument>> {
    c.query_all(
        &format!(
            "SELECT {DOCUMENT_COLUMNS} FROM pp_documents p WHERE p.case_id = ?1
         ORDER BY p.issued_at, p.id"
        ),
        p![id.to_string()],
        document_row,
    )
}

pub(super) fn add_report(
    c: &mut dyn Db,
    case: CaseId,
    r: &CaseReport,
    audit: &AuditEntry,
) -> StorageResult<bool> {
    let n = c.execute(
        "INSERT INTO pp_reports (case_id, kind, sha256, file_name, size, added_at,
                added_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (case_id, sha256) DO NOTHING",
        p![
            case.to_string(),
            r.kind.as_str(),
            r.sha256.to_hex(),
            r.file_name,
            r.size as i64,
            fmt_time(r.added_at),
            r.added_by
        ],
    )?;
    if n == 1 {
        insert_audit(c, audit)?;
    }
    Ok(n == 1)
}

pub(super) fn reports(c: &mut dyn Db, case: CaseId) -> DbResult<Vec<CaseReport>> {
    c.query_all(
        "SELECT kind, sha256, file_name, size, added_at, added_by FROM pp_reports
         WHERE case_id = ?1 ORDER BY id",
        p![case.to_string()],
        |r| {
            Ok(CaseReport {
                kind: parse(&r.get::<String>(0)?)?,
                sha256: parse(&r.get::<String>(1)?)?,
                file_name: r.get(2)?,
                size: r.get::<i64>(3)? as u64,
                added_at: parse_time(&r.get::<String>(4)?)?,
                added_by: r.get(5)?,
            })
        },
    )
}
