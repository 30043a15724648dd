//! Leads: the verified upload with the blobs it names, the receipt, QA reviews and
//! the district's handling, each change compare-and-set where two officers could
//! race.

use crate::storage::db::{p, Db, DbResult, ToValue, Value};
use chrono::{DateTime, Utc};
use fieldlead_domain::{DeviceId, LeadId, Receipt, Sha256};

use super::codec::{
    district_at, fmt_date, fmt_time, handling_from_row, insert_audit, lead_columns, lead_from_row,
    opt_time, parse, parse_opt, parse_time, to_json, HANDLING_COLUMNS,
};
use crate::storage::{
    AuditEntry, Handling, Lead, LeadBlob, LeadFilter, LeadInsert, LeadSummary, NewLead, Review,
    Scope, StorageResult,
};

/// Rows of `lead_blobs` written by one statement (three placeholders each).
const BLOB_ROWS_PER_INSERT: usize = 100;

pub(super) fn insert_lead(
    c: &mut dyn Db,
    lead: &NewLead,
    audit: &AuditEntry,
) -> StorageResult<LeadInsert> {
    let id = lead.id.to_string();
    let received = fmt_time(lead.received_at);
    // Written unless the id is taken; only then is the stored row read.
    let inserted = c.execute(
        "INSERT INTO leads (id, district_id, device_id, manifest_hash, upload_json,
            business_name, product_name, sealed_at, received_at, state, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'sealed', ?9)
         ON CONFLICT (id) DO NOTHING",
        p![
            id,
            lead.district_id,
            lead.device_id.to_string(),
            lead.manifest_hash.to_hex(),
            lead.upload.as_str(),
            lead.business_name,
            lead.product_name,
            fmt_time(lead.sealed_at),
            received
        ],
    )?;
    if inserted == 0 {
        let (hash, received_at): (String, String) = c.query_one(
            "SELECT manifest_hash, received_at FROM leads WHERE id = ?1",
            p![&id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        return Ok(if hash == lead.manifest_hash.to_hex() {
            LeadInsert::Same {
                received_at: parse_time(&received_at)?,
            }
        } else {
            LeadInsert::Conflict
        });
    }
    // The lead's blobs in as few statements as the placeholders allow: on
    // PostgreSQL each statement is a round trip.
    for rows in lead.blobs.chunks(BLOB_ROWS_PER_INSERT) {
        let values: Vec<String> = (0..rows.len())
            .map(|i| format!("(?1, ?{}, ?{}, ?{})", 3 * i + 2, 3 * i + 3, 3 * i + 4))
            .collect();
        let mut params: Vec<Value> = vec![Value::Text(id.clone())];
        for b in rows {
            params.push(Value::Text(b.sha256.to_hex()));
            params.push(Value::Int(b.bytes as i64));
            params.push(Value::Text(b.kind.as_str().to_string()));
        }
        let bound: Vec<&dyn ToValue> = params.iter().map(|v| v as &dyn ToValue).collect();
        c.execute(
            &format!(
                "INSERT INTO lead_blobs (lead_id, sha256, bytes, kind) VALUES {}",
                values.join(", ")
            ),
            &bound,
        )?;
    }
    insert_audit(c, audit)?;
    Ok(LeadInsert::Created)
}

pub(super) fn lead(c: &mut dyn Db, id: LeadId) -> DbResult<Option<Lead>> {
    c.query_opt(
        &format!(
            "SELECT {} FROM leads l JOIN districts d ON d.id = l.district_id WHERE l.id = ?1",
            lead_columns()
        ),
        p![id.to_string()],
        lead_from_row,
    )
}

pub(super) fn leads(
    c: &mut dyn Db,
    scope: Scope,
    filter: &LeadFilter,
) -> DbResult<Vec<LeadSummary>> {
    c.query_all(
        "SELECT l.id, d.id, d.code, d.name, l.business_name, l.product_name, l.sealed_at,
                l.received_at, l.completed_at, l.state, l.review_state,
                (SELECT COUNT(*) FROM lead_blobs x LEFT JOIN district_blobs b
                    ON b.sha256 = x.sha256 AND b.district_id = l.district_id
                  WHERE x.lead_id = l.id AND b.sha256 IS NULL)
         FROM leads l JOIN districts d ON d.id = l.district_id
         WHERE (CAST(?1 AS BIGINT) IS NULL OR l.district_id = ?1)
           AND (CAST(?2 AS TEXT) IS NULL OR l.state = ?2)
           AND (CAST(?3 AS TEXT) IS NULL OR l.completed_at < ?3)
         ORDER BY l.received_at DESC LIMIT ?4",
        p![
            scope.district(),
            filter.state.map(|s| s.as_str()),
            filter.completed_before.map(fmt_time),
            filter.limit.unwrap_or(500)
        ],
        |r| {
            Ok(LeadSummary {
                id: parse(&r.get::<String>(0)?)?,
                district: district_at(r, 1)?,
                business_name: r.get(4)?,
                product_name: r.get(5)?,
                sealed_at: parse_time(&r.get::<String>(6)?)?,
                received_at: parse_time(&r.get::<String>(7)?)?,
                completed_at: opt_time(r.get(8)?)?,
                state: parse(&r.get::<String>(9)?)?,
                review_state: parse_opt(r.get(10)?)?,
                missing_blobs: r.get(11)?,
            })
        },
    )
}

pub(super) fn lead_blobs(c: &mut dyn Db, id: LeadId) -> DbResult<Vec<LeadBlob>> {
    c.query_all(
        "SELECT x.sha256, x.bytes, x.kind, b.sha256 IS NOT NULL FROM lead_blobs x
         JOIN leads l ON l.id = x.lead_id
         LEFT JOIN district_blobs b ON b.sha256 = x.sha256 AND b.district_id = l.district_id
         WHERE x.lead_id = ?1 ORDER BY x.sha256",
        p![id.to_string()],
        |r| {
            Ok(LeadBlob {
                sha256: parse(&r.get::<String>(0)?)?,
                bytes: r.get::<i64>(1)? as u64,
                kind: parse(&r.get::<String>(2)?)?,
                present: r.get(3)?,
            })
        },
    )
}

pub(super) fn expected_blob(
    c: &mut dyn Db,
    sha256: Sha256,
    district_id: i64,
) -> DbResult<Option<u64>> {
    // The blob's leads first, then each one's district by its key (see
    // blobs::blob_stored for why not one join).
    let held = c.query_all(
        "SELECT lead_id, bytes FROM lead_blobs WHERE sha256 = ?1",
        p![sha256.to_hex()],
        |r| Ok((r.get::<String>(0)?, r.get::<i64>(1)?)),
    )?;
    for (lead_id, bytes) in held {
        let ours = c.query_one(
            "SELECT EXISTS (SELECT 1 FROM leads WHERE id = ?1 AND district_id = ?2)",
            p![lead_id, district_id],
            |r| r.get::<bool>(0),
        )?;
        if ours {
            return Ok(Some(bytes as u64));
        }
    }
    Ok(None)
}

/// The lead if it is stored, and how many leads `device` sent since `since`,
/// in one statement.
pub(super) fn lead_and_device_count(
    c: &mut dyn Db,
    id: LeadId,
    device: DeviceId,
    since: DateTime<Utc>,
) -> DbResult<(Option<Lead>, u64)> {
    c.query_one(
        &format!(
            "SELECT {}, (SELECT COUNT(*) FROM leads WHERE device_id = ?2 AND received_at >= ?3)
             FROM (SELECT 1 AS one) AS one
             LEFT JOIN leads l ON l.id = ?1
             LEFT JOIN districts d ON d.id = l.district_id",
            lead_columns()
        ),
        p![id.to_string(), device.to_string(), fmt_time(since)],
        |r| {
            let sent = r.get::<i64>(r.0.len() - 1)? as u64;
            let lead = match r.get::<Option<String>>(0)? {
                Some(_) => Some(lead_from_row(r)?),
                None => None,
            };
            Ok((lead, sent))
        },
    )
}

fn handling(c: &mut dyn Db, id: LeadId) -> DbResult<Option<Handling>> {
    c.query_opt(
        &format!("SELECT {HANDLING_COLUMNS} FROM leads l WHERE l.id = ?1"),
        p![id.to_string()],
        |r| handling_from_row(r, 0),
    )
}

/// Writes `after` if the lead still has `before`; `false` if not.
fn swap_handling(
    c: &mut dyn Db,
    id: LeadId,
    before: &Handling,
    after: &Handling,
    at: DateTime<Utc>,
) -> StorageResult<bool> {
    if handling(c, id)?.as_ref() != Some(before) {
        return Ok(false);
    }
    let h = after;
    c.execute(
        "UPDATE leads SET state = ?2, acknowledged_at = ?3, acknowledged_by = ?4, decision = ?5,
            decided_at = ?6, decided_by = ?7, case_number = ?8, decline_reason = ?9,
            fine_fen = ?10, confiscation_fen = ?11, remark = ?12, reported_to_city_on = ?13,
            updated_at = ?14
         WHERE id = ?1",
        p![
            id.to_string(),
            h.state.as_str(),
            h.acknowledged_at.map(fmt_time),
            h.acknowledged_by,
            h.decision.map(|d| d.as_str()),
            h.decided_at.map(fmt_time),
            h.decided_by,
            h.case_number,
            h.decline_reason,
            h.fine.map(|f| f.get()),
            h.confiscation.map(|f| f.get()),
            h.remark,
            h.reported_to_city_on.map(fmt_date),
            fmt_time(at)
        ],
    )?;
    Ok(true)
}

pub(super) fn update_handling(
    c: &mut dyn Db,
    id: LeadId,
    before: &Handling,
    after: &Handling,
    audit: &AuditEntry,
) -> StorageResult<bool> {
    let swapped = swap_handling(c, id, before, after, audit.at)?;
    if swapped {
        insert_audit(c, audit)?;
    }
    Ok(swapped)
}

pub(super) fn complete_lead(
    c: &mut dyn Db,
    id: LeadId,
    receipt: &Receipt,
    before: &Handling,
    after: &Handling,
    audit: &AuditEntry,
) -> StorageResult<bool> {
    let n = c.execute(
        "UPDATE leads SET receipt_json = ?2, completed_at = ?3
             WHERE id = ?1 AND receipt_json IS NULL",
        p![id.to_string(), to_json(receipt)?, fmt_time(audit.at)],
    )?;
    if n == 0 || !swap_handling(c, id, before, after, audit.at)? {
        // The receipt goes only with its handling: the savepoint rolls back both.
        return if n == 0 {
            Ok(false)
        } else {
            Err(crate::error::StorageError::Conflict(format!(
                "lead {id} changed while its receipt was issued"
            )))
        };
    }
    insert_audit(c, audit)?;
    Ok(true)
}

pub(super) fn add_review(
    c: &mut dyn Db,
    id: LeadId,
    review: &Review,
    audit: &AuditEntry,
) -> StorageResult<()> {
    c.execute(
        "INSERT INTO reviews (lead_id, reviewer, state, comment, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        p![
            id.to_string(),
            review.reviewer,
            review.state.as_str(),
            review.comment,
            fmt_time(review.at)
        ],
    )?;
    c.execute(
        "UPDATE leads SET review_state = ?2, updated_at = ?3 WHERE id = ?1",
        p![id.to_string(), review.state.as_str(), fmt_time(review.at)],
    )?;
    insert_audit(c, audit)?;
    Ok(())
}

pub(super) fn reviews(c: &mut dyn Db, id: LeadId) -> DbResult<Vec<Review>> {
    c.query_all(
        "SELECT reviewer, state, comment, at FROM reviews WHERE lead_id = ?1 ORDER BY id",
        p![id.to_string()],
        |r| {
            Ok(Review {
                reviewer: r.get(0)?,
                state: parse(&r.get::<String>(1)?)?,
                comment: r.get(2)?,
                at: parse_time(&r.get::<String>(3)?)?,
            })
        },
    )
}
