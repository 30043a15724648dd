//! The blob index: one row per stored hash (size, integrity checks, analysis) and
//! one per district that proved it holds the bytes.

use chrono::{DateTime, Utc};
use fieldlead_domain::{LeadId, Sha256};
use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{
    conversion, fmt_phash, fmt_time, from_json, insert_audit, opt_time, parse, parse_phash,
    parse_time,
};
use crate::storage::{AuditEntry, BlobAnalysis, BlobHolder, BlobInfo, BlobUse, StorageResult};

pub(super) fn blob(c: &Connection, sha256: Sha256) -> rusqlite::Result<Option<BlobInfo>> {
    c.prepare_cached(
        "SELECT sha256, bytes, received_at, analysis_json, phash, verified_at, intact
         FROM blobs WHERE sha256 = ?1",
    )?
    .query_row([sha256.to_hex()], |r| {
        Ok(BlobInfo {
            sha256: parse(&r.get::<_, String>(0)?)?,
            bytes: r.get::<_, i64>(1)? as u64,
            received_at: parse_time(&r.get::<_, String>(2)?)?,
            analysis: r
                .get::<_, Option<String>>(3)?
                .map(|j| from_json(&j))
                .transpose()?,
            phash: parse_phash(r.get(4)?)?,
            verified_at: opt_time(r.get(5)?)?,
            intact: r.get(6)?,
        })
    })
    .optional()
}

pub(super) fn blob_stored(
    c: &Connection,
    sha256: Sha256,
    bytes: u64,
    holder: BlobHolder,
    now: DateTime<Utc>,
) -> StorageResult<Vec<LeadId>> {
    let hex = sha256.to_hex();
    let at = fmt_time(now);
    // The bytes were hashed on the way in: verified as they arrived.
    c.prepare_cached(
        "INSERT INTO blobs (sha256, bytes, received_at, verified_at, intact)
         VALUES (?1, ?2, ?3, ?3, 1) ON CONFLICT (sha256) DO NOTHING",
    )?
    .execute(params![hex, bytes as i64, at])?;
    c.prepare_cached(
        "INSERT INTO district_blobs (district_id, sha256, received_at, device_id)
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (district_id, sha256) DO NOTHING",
    )?
    .execute(params![
        holder.district_id,
        hex,
        at,
        holder.device_id.map(|d| d.to_string())
    ])?;
    let ids = c
        .prepare_cached(
            "SELECT l.id FROM leads l JOIN lead_blobs lb ON lb.lead_id = l.id
             WHERE lb.sha256 = ?1 AND l.district_id = ?2 AND l.receipt_json IS NULL
               AND NOT EXISTS (SELECT 1 FROM lead_blobs x LEFT JOIN district_blobs b
                                 ON b.sha256 = x.sha256 AND b.district_id = l.district_id
                               WHERE x.lead_id = l.id AND b.sha256 IS NULL)",
        )?
        .query_map(params![hex, holder.district_id], |r| {
            parse(&r.get::<_, String>(0)?)
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

pub(super) fn district_holds(
    c: &Connection,
    district_id: i64,
    sha256: Sha256,
) -> rusqlite::Result<bool> {
    c.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM district_blobs WHERE district_id = ?1 AND sha256 = ?2)",
    )?
    .query_row(params![district_id, sha256.to_hex()], |r| r.get(0))
}

pub(super) fn set_blob_verified(
    c: &Connection,
    sha256: Sha256,
    intact: bool,
    audit: &AuditEntry,
) -> StorageResult<()> {
    c.execute(
        "UPDATE blobs SET verified_at = ?2, intact = ?3 WHERE sha256 = ?1",
        params![sha256.to_hex(), fmt_time(audit.at), intact],
    )?;
    insert_audit(c, audit)?;
    Ok(())
}

pub(super) fn set_blob_analysis(
    c: &Connection,
    sha256: Sha256,
    analysis: &BlobAnalysis,
    now: DateTime<Utc>,
) -> StorageResult<()> {
    c.execute(
        "UPDATE blobs SET analysis_json = ?2, phash = ?3, analysed_at = ?4 WHERE sha256 = ?1",
        params![
            sha256.to_hex(),
            serde_json::to_string(analysis).map_err(conversion)?,
            analysis.phash_bits().map(fmt_phash),
            fmt_time(now)
        ],
    )?;
    Ok(())
}

pub(super) fn unanalysed_blobs(c: &Connection) -> rusqlite::Result<Vec<Sha256>> {
    c.prepare("SELECT sha256 FROM blobs WHERE analysed_at IS NULL")?
        .query_map([], |r| parse(&r.get::<_, String>(0)?))?
        .collect()
}

pub(super) fn blob_uses(c: &Connection, sha256: Sha256) -> rusqlite::Result<Vec<BlobUse>> {
    c.prepare_cached(
        "SELECT l.id, l.district_id, l.business_name FROM lead_blobs x
         JOIN leads l ON l.id = x.lead_id WHERE x.sha256 = ?1 ORDER BY l.received_at",
    )?
    .query_map([sha256.to_hex()], |r| {
        Ok(BlobUse {
            lead_id: parse(&r.get::<_, String>(0)?)?,
            district_id: r.get(1)?,
            business_name: r.get(2)?,
        })
    })?
    .collect()
}

pub(super) fn phashes(c: &Connection) -> rusqlite::Result<Vec<(Sha256, u64)>> {
    c.prepare_cached("SELECT sha256, phash FROM blobs WHERE phash IS NOT NULL")?
        .query_map([], |r| {
            Ok((
                parse(&r.get::<_, String>(0)?)?,
                parse_phash(r.get(1)?)?.unwrap_or_default(),
            ))
        })?
        .collect()
}
