//! Enrolment codes and the devices they enrolled. Who may enrol is the
//! service's rule ([`crate::model::EnrolledDevice::may_reenrol`]); this file only
//! writes the decision, atomically with spending the code.

use chrono::{DateTime, Utc};
use fieldlead_domain::{DeviceId, PublicKey};
use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{device_from_row, fmt_time, insert_audit, DEVICE_COLUMNS};
use crate::error::StorageError;
use crate::storage::{AuditEntry, EnrolledDevice, Enrolment, Scope, StorageResult};

pub(super) fn create_enrolment_code(
    c: &Connection,
    code_hash: &str,
    district_id: i64,
    expires_at: DateTime<Utc>,
    audit: &AuditEntry,
) -> StorageResult<()> {
    c.execute(
        "INSERT INTO enrolment_codes (code_hash, district_id, created_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            code_hash,
            district_id,
            audit.actor,
            fmt_time(audit.at),
            fmt_time(expires_at)
        ],
    )?;
    insert_audit(c, audit)?;
    Ok(())
}

pub(super) fn enrolment_code_district(
    c: &Connection,
    code_hash: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<Option<i64>> {
    c.query_row(
        "SELECT district_id FROM enrolment_codes
         WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
        params![code_hash, fmt_time(now)],
        |r| r.get(0),
    )
    .optional()
}

pub(super) fn enrol_device(
    c: &Connection,
    code_hash: &str,
    e: &Enrolment,
    audit: &AuditEntry,
) -> StorageResult<Option<EnrolledDevice>> {
    let at = fmt_time(audit.at);
    let id = e.device.id.to_string();
    // Spending the code comes first: if another request spent it meanwhile,
    // nothing at all is written.
    let spent = c.execute(
        "UPDATE enrolment_codes SET used_at = ?2, device_id = ?3
         WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2 AND district_id = ?4",
        params![code_hash, at, id, e.district_id],
    )?;
    if spent == 0 {
        return Ok(None);
    }
    if e.returning {
        let n = c.execute(
            "UPDATE devices SET district_id = ?2, token_hash = ?3, label = ?4,
                    enrolled_at = ?5, revoked_at = NULL, revoked_by = NULL
             WHERE id = ?1 AND public_key = ?6 AND revoked_at IS NOT NULL",
            params![
                id,
                e.district_id,
                e.device.token_hash,
                e.device.label,
                at,
                e.device.public_key.to_hex()
            ],
        )?;
        if n == 0 {
            return Err(StorageError::Conflict(format!(
                "device {id} is no longer revoked"
            )));
        }
    } else {
        c.execute(
            "INSERT INTO devices (id, district_id, public_key, token_hash, label, enrolled_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                id,
                e.district_id,
                e.device.public_key.to_hex(),
                e.device.token_hash,
                e.device.label,
                at
            ],
        )?;
    }
    insert_audit(c, audit)?;
    Ok(device(c, e.device.id)?)
}

/// The device whose `column` holds `value`; `column` is one of this file's
/// constants, never input.
fn device_where(
    c: &Connection,
    column: &'static str,
    value: &str,
) -> rusqlite::Result<Option<EnrolledDevice>> {
    c.prepare_cached(&format!(
        "SELECT {DEVICE_COLUMNS} FROM devices v JOIN districts d ON d.id = v.district_id
         WHERE v.{column} = ?1"
    ))?
    .query_row([value], device_from_row)
    .optional()
}

pub(super) fn device_by_token(
    c: &Connection,
    token_hash: &str,
) -> rusqlite::Result<Option<EnrolledDevice>> {
    device_where(c, "token_hash", token_hash)
}

pub(super) fn device_by_key(
    c: &Connection,
    key: &PublicKey,
) -> rusqlite::Result<Option<EnrolledDevice>> {
    device_where(c, "public_key", &key.to_hex())
}

pub(super) fn device(c: &Connection, id: DeviceId) -> rusqlite::Result<Option<EnrolledDevice>> {
    device_where(c, "id", &id.to_string())
}

pub(super) fn devices(c: &Connection, scope: Scope) -> rusqlite::Result<Vec<EnrolledDevice>> {
    c.prepare(&format!(
        "SELECT {DEVICE_COLUMNS} FROM devices v JOIN districts d ON d.id = v.district_id
         WHERE ?1 IS NULL OR v.district_id = ?1 ORDER BY v.enrolled_at DESC"
    ))?
    .query_map([scope.district()], device_from_row)?
    .collect()
}

pub(super) fn revoke_device(
    c: &Connection,
    id: DeviceId,
    audit: &AuditEntry,
) -> StorageResult<bool> {
    let n = c.execute(
        "UPDATE devices SET revoked_at = ?2, revoked_by = ?3 WHERE id = ?1 AND revoked_at IS NULL",
        params![id.to_string(), fmt_time(audit.at), audit.actor],
    )?;
    if n == 1 {
        insert_audit(c, audit)?;
    }
    Ok(n == 1)
}
