//! The blob index: one row per stored hash (size, integrity checks, analysis) and
//! one per district that proved it holds the bytes.

use crate::storage::db::{p, Db, DbResult};
use chrono::{DateTime, Utc};
use fieldlead_domain::{LeadId, Sha256};

use super::codec::{
    conversion, fmt_phash, fmt_time, from_json, insert_audit, opt_time, parse, parse_phash,
    parse_time,
};
use crate::storage::{AuditEntry, BlobAnalysis, BlobHolder, BlobInfo, BlobUse, StorageResult};

pub(super) fn blob(c: &mut dyn Db, sha256: Sha256) -> DbResult<Option<BlobInfo>> {
    c.query_opt(
        "SELECT sha256, bytes, received_at, analysis_json, phash, verified_at, intact
         FROM blobs WHERE sha256 = ?1",
        p![sha256.to_hex()],
        |r| {
            Ok(BlobInfo {
                sha256: parse(&r.get::<String>(0)?)?,
                bytes: r.get::<i64>(1)? as u64,
                received_at: parse_time(&r.get::<String>(2)?)?,
                analysis: r
                    .get::<Option<String>>(3)?
                    .map(|j| from_json(&j))
                    .transpose()?,
                phash: parse_phash(r.get(4)?)?,
                verified_at: opt_time(r.get(5)?)?,
                intact: r.get(6)?,
            })
        },
    )
}

pub(super) fn blob_stored(
    c: &mut dyn Db,
    sha256: Sha256,
    bytes: u64,
    holder: BlobHolder,
    now: DateTime<Utc>,
) -> StorageResult<Vec<LeadId>> {
    let hex = sha256.to_hex();
    let at = fmt_time(now);
    // The bytes were hashed on the way in: verified as they arrived.
    c.execute(
        "INSERT INTO blobs (sha256, bytes, received_at, verified_at, intact)
         VALUES (?1, ?2, ?3, ?3, 1) ON CONFLICT (sha256) DO NOTHING",
        p![hex, bytes as i64, at],
    )?;
    c.execute(
        "INSERT INTO district_blobs (district_id, sha256, received_at, device_id)
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (district_id, sha256) DO NOTHING",
        p![
            holder.district_id,
            hex,
            at,
            holder.device_id.map(|d| d.to_string())
        ],
    )?;
    // From the blob's few leads, never from all the district's: as one join,
    // SQLite (always) and PostgreSQL (with statistics from when the district
    // had few leads, even with the blob's leads in a materialised CTE) walked
    // every lead of the district for every blob received, so ingest slowed as
    // the district grew. So: the blob's leads by their index, then each lead by
    // its key.
    let held = c.query_all(
        "SELECT lead_id FROM lead_blobs WHERE sha256 = ?1",
        p![hex],
        |r| r.get::<String>(0),
    )?;
    let mut ids = Vec::new();
    for lead_id in held {
        let complete = c.query_one(
            "SELECT EXISTS (SELECT 1 FROM leads l
                 WHERE l.id = ?1 AND l.district_id = ?2 AND l.receipt_json IS NULL
                   AND NOT EXISTS (SELECT 1 FROM lead_blobs x LEFT JOIN district_blobs b
                                     ON b.sha256 = x.sha256 AND b.district_id = l.district_id
                                   WHERE x.lead_id = l.id AND b.sha256 IS NULL))",
            p![lead_id.clone(), holder.district_id],
            |r| r.get::<bool>(0),
        )?;
        if complete {
            ids.push(parse(&lead_id)?);
        }
    }
    Ok(ids)
}

pub(super) fn district_holds(c: &mut dyn Db, district_id: i64, sha256: Sha256) -> DbResult<bool> {
    c.query_one(
        "SELECT EXISTS (SELECT 1 FROM district_blobs WHERE district_id = ?1 AND sha256 = ?2)",
        p![district_id, sha256.to_hex()],
        |r| r.get(0),
    )
}

pub(super) fn set_blob_verified(
    c: &mut dyn Db,
    sha256: Sha256,
    intact: bool,
    audit: &AuditEntry,
) -> StorageResult<()> {
    c.execute(
        "UPDATE blobs SET verified_at = ?2, intact = ?3 WHERE sha256 = ?1",
        p![sha256.to_hex(), fmt_time(audit.at), intact],
    )?;
    insert_audit(c, audit)?;
    Ok(())
}

pub(super) fn set_blob_analysis(
    c: &mut dyn Db,
    sha256: Sha256,
    analysis: &BlobAnalysis,
    now: DateTime<Utc>,
) -> StorageResult<()> {
    c.execute(
        "UPDATE blobs SET analysis_json = ?2, phash = ?3, analysed_at = ?4 WHERE sha256 = ?1",
        p![
            sha256.to_hex(),
            serde_json::to_string(analysis).map_err(conversion)?,
            analysis.phash_bits().map(fmt_phash),
            fmt_time(now)
        ],
    )?;
    Ok(())
}

pub(super) fn claim_analysis(
    c: &mut dyn Db,
    sha256: Sha256,
    holder: &str,
    now_ms: i64,
    lease_ms: i64,
) -> DbResult<bool> {
    let claimed = c.execute(
        "UPDATE blobs SET analysis_claimed_by = ?2, analysis_claimed_until_ms = ?3
         WHERE sha256 = ?1 AND analysed_at IS NULL
           AND (analysis_claimed_until_ms IS NULL OR analysis_claimed_until_ms < ?4
                OR analysis_claimed_by = ?2)",
        p![
            sha256.to_hex(),
            holder,
            now_ms.saturating_add(lease_ms),
            now_ms
        ],
    )?;
    Ok(claimed == 1)
}

pub(super) fn unanalysed_blobs(c: &mut dyn Db) -> DbResult<Vec<Sha256>> {
    c.query_all(
        "SELECT sha256 FROM blobs WHERE analysed_at IS NULL",
        p![],
        |r| parse(&r.get::<String>(0)?),
    )
}

pub(super) fn blob_uses(c: &mut dyn Db, sha256: Sha256) -> DbResult<Vec<BlobUse>> {
    c.query_all(
        "SELECT l.id, l.district_id, l.business_name FROM lead_blobs x
         JOIN leads l ON l.id = x.lead_id WHERE x.sha256 = ?1 ORDER BY l.received_at",
        p![sha256.to_hex()],
        |r| {
            Ok(BlobUse {
                lead_id: parse(&r.get::<String>(0)?)?,
                district_id: r.get(1)?,
                business_name: r.get(2)?,
            })
        },
    )
}

pub(super) fn phashes(c: &mut dyn Db) -> DbResult<Vec<(Sha256, u64)>> {
    c.query_all(
        "SELECT sha256, phash FROM blobs WHERE phash IS NOT NULL",
        p![],
        |r| {
            Ok((
                parse(&r.get::<String>(0)?)?,
                parse_phash(r.get(1)?)?.unwrap_or_default(),
            ))
        },
    )
}
