//! Enrolment codes and the devices they enrolled. Who may enrol is the
//! service's rule ([`crate::model::EnrolledDevice::may_reenrol`]); this file only
//! writes the decision, atomically with spending the code.

use crate::storage::db::{p, Db, DbResult};
use chrono::{DateTime, Utc};
use fieldlead_domain::{DeviceId, PublicKey};

use super::codec::{device_from_row, fmt_time, insert_audit, DEVICE_COLUMNS};
use crate::error::StorageError;
use crate::storage::{AuditEntry, EnrolledDevice, Enrolment, Scope, StorageResult};

pub(super) fn create_enrolment_code(
    c: &mut dyn Db,
    code_hash: &str,
    district_id: i64,
    expires_at: DateTime<Utc>,
    audit: &AuditEntry,
) -> StorageResult<()> {
    c.execute(
        "INSERT INTO enrolment_codes (code_hash, district_id, created_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        p![
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
    c: &mut dyn Db,
    code_hash: &str,
    now: DateTime<Utc>,
) -> DbResult<Option<i64>> {
    c.query_opt(
        "SELECT district_id FROM enrolment_codes
         WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
        p![code_hash, fmt_time(now)],
        |r| r.get(0),
    )
}

pub(super) fn enrol_device(
    c: &mut dyn Db,
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
        p![code_hash, at, id, e.district_id],
    )?;
    if spent == 0 {
        return Ok(None);
    }
    if e.returning {
        let n = c.execute(
            "UPDATE devices SET district_id = ?2, token_hash = ?3, label = ?4,
                    enrolled_at = ?5, revoked_at = NULL, revoked_by = NULL
             WHERE id = ?1 AND public_key = ?6 AND revoked_at IS NOT NULL",
            p![
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
            p![
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
    c: &mut dyn Db,
    column: &'static str,
    value: &str,
) -> DbResult<Option<EnrolledDevice>> {
    c.query_opt(
        &format!(
            "SELECT {DEVICE_COLUMNS} FROM devices v JOIN districts d ON d.id = v.district_id
         WHERE v.{column} = ?1"
        ),
        p![value],
        device_from_row,
    )
}

pub(super) fn device_by_token(
    c: &mut dyn Db,
    token_hash: &str,
) -> DbResult<Option<EnrolledDevice>> {
    device_where(c, "token_hash", token_hash)
}

pub(super) fn device_by_key(c: &mut dyn Db, key: &PublicKey) -> DbResult<Option<EnrolledDevice>> {
    device_where(c, "public_key", &key.to_hex())
}

pub(super) fn device(c: &mut dyn Db, id: DeviceId) -> DbResult<Option<EnrolledDevice>> {
    device_where(c, "id", &id.to_string())
}

pub(super) fn devices(c: &mut dyn Db, scope: Scope) -> DbResult<Vec<EnrolledDevice>> {
    c.query_all(
        &format!(
            "SELECT {DEVICE_COLUMNS} FROM devices v JOIN districts d ON d.id = v.district_id
         WHERE CAST(?1 AS BIGINT) IS NULL OR v.district_id = ?1 ORDER BY v.enrolled_at DESC"
        ),
        p![scope.district()],
        device_from_row,
    )
}

pub(super) fn revoke_device(
    c: &mut dyn Db,
    id: DeviceId,
    audit: &AuditEntry,
) -> StorageResult<bool> {
    let n = c.execute(
        "UPDATE devices SET revoked_at = ?2, revoked_by = ?3 WHERE id = ?1 AND revoked_at IS NULL",
        p![id.to_string(), fmt_time(audit.at), audit.actor],
    )?;
    if n == 1 {
        insert_audit(c, audit)?;
    }
    Ok(n == 1)
}
