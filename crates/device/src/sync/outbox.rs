//! The outbox: every sealed lead on its way to the bureau, in SQLite, and every
//! SQL statement that reads or moves it. Which leads are still to send is one
//! named set ([`OutboxState::PENDING`]); which delivered leads are still polled
//! follows [`LeadState::is_final`]. Each write is one transaction, so a kill
//! between two steps leaves the outbox where the last finished step put it.

use chrono::{DateTime, Utc};
use fieldlead_domain::{
    manifest_blobs, BlobStatus, LeadId, LeadState, LeadStatus, PutLeadResponse, Receipt, Sha256,
};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{parse_time, SyncError, CLOCK_SKEW_FLAG_SECS};
use crate::error::DeviceError;
use crate::Device;

/// First retry delay; doubles per failed attempt up to [`BACKOFF_CAP_SECS`].
pub const BACKOFF_BASE_SECS: u64 = 2;
pub const BACKOFF_CAP_SECS: u64 = 600;

/// Where a lead stands in the outbox.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Not yet accepted by the bureau.
    Queued,
    /// The bureau holds the manifest; blobs are still on their way.
    ManifestSent,
    /// A verified receipt is stored.
    Delivered,
    /// Refused for a reason retrying cannot fix (see `last_error`).
    Failed,
}

fieldlead_domain::wire_names!(OutboxState, "报送状态", {
    Queued => "queued",
    ManifestSent => "manifest_sent",
    Delivered => "delivered",
    Failed => "failed",
});

impl OutboxState {
    /// Still to be delivered: sent in a round, backed off on failure.
    pub const PENDING: [OutboxState; 2] = [OutboxState::Queued, OutboxState::ManifestSent];

    pub(crate) fn parse(s: &str) -> Result<Self, DeviceError> {
        s.parse()
            .map_err(|_| DeviceError::Corrupt(format!("outbox state {s}")))
    }
}

/// `('a', 'b')`: a set of wire names for an SQL `IN`. The names are the enum's
/// own constants, never input.
fn sql_set<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = names.into_iter().map(|n| format!("'{n}'")).collect();
    format!("({})", quoted.join(", "))
}

/// `('queued', 'manifest_sent')`.
fn pending() -> String {
    sql_set(OutboxState::PENDING.iter().map(|s| s.as_str()))
}

/// The record states after which nothing more can happen to a lead.
fn final_lead_states() -> String {
    sql_set(
        LeadState::ALL
            .iter()
            .filter(|s| s.is_final())
            .map(|s| s.as_str()),
    )
}

/// One lead in the outbox, for the sync screen.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    pub lead_id: LeadId,
    pub state: OutboxState,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes_total: u64,
    /// Bytes the bureau holds, as it last reported.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes_sent: u64,
    pub attempts: u32,
    /// When the next automatic attempt is due (backoff), if waiting.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error_code: Option<String>,
    pub last_error: Option<String>,
    /// From the bureau's signed receipt (bureau clock): the report time.
    pub received_at: Option<DateTime<Utc>>,
    /// Device clock minus bureau clock when the receipt arrived, in seconds.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub clock_skew_secs: Option<i64>,
    /// The device clock was off by more than [`CLOCK_SKEW_FLAG_SECS`].
    pub clock_skew_flagged: bool,
    /// What the bureau did with the lead, as last polled and verified.
    pub bureau_state: Option<LeadState>,
    pub bureau_state_label: Option<String>,
    /// Why the last status answer was refused (a signature that did not check
    /// with the bureau key): `bureau_state` is then the last one that did.
    pub status_error_code: Option<String>,
    pub status_error: Option<String>,
}

/// Exponential backoff with full jitter between half and the whole delay.
pub fn backoff(attempts: u32) -> chrono::Duration {
    let ceiling = BACKOFF_BASE_SECS
        .saturating_mul(1u64 << attempts.min(20))
        .min(BACKOFF_CAP_SECS) as f64;
    let mut r = [0u8; 4];
    let unit = match getrandom::getrandom(&mut r) {
        Ok(()) => f64::from(u32::from_le_bytes(r)) / f64::from(u32::MAX),
        Err(_) => 0.5,
    };
    chrono::Duration::milliseconds((ceiling * (0.5 + 0.5 * unit) * 1000.0) as i64)
}

fn parse_lead(id: &str) -> Result<LeadId, DeviceError> {
    id.parse()
        .map_err(|_| DeviceError::Corrupt(format!("lead id {id}")))
}

impl Device {
    /// Puts every sealed lead not yet in the outbox into it. Sealing is durable, so
    /// a lead sealed just before a kill is picked up here on the next round.
    pub fn enqueue_sealed(&mut self) -> Result<u32, DeviceError> {
        let ids: Vec<String> = {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT r.id FROM records r
                 WHERE r.state <> '{}' AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.lead_id = r.id)
                 ORDER BY r.sealed_at",
                LeadState::Draft.as_str()
            ))?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut added = 0;
        for id in ids {
            let id: LeadId = id
                .parse()
                .map_err(|_| DeviceError::Corrupt(format!("record id {id}")))?;
            let Some(signed) = self.manifest(id)? else {
                continue;
            };
            if !signed.manifest.record.outcome.is_lead() {
                continue;
            }
            let blobs = manifest_blobs(&signed.manifest)
                .map_err(|e| DeviceError::Corrupt(e.to_string()))?;
            let total: u64 = blobs.iter().map(|b| b.bytes).sum();
            let tx = self.conn.transaction()?;
            tx.execute(
                "INSERT INTO outbox (lead_id, state, enqueued_at, bytes_total) VALUES (?1, ?2, ?3, ?4)",
                params![
                    id.to_string(),
                    OutboxState::Queued.as_str(),
                    Utc::now().to_rfc3339(),
                    total as i64
                ],
            )?;
            for b in &blobs {
                tx.execute(
                    "INSERT INTO outbox_blobs (lead_id, sha256, bytes, kind) VALUES (?1, ?2, ?3, ?4)",
                    params![id.to_string(), b.sha256.to_hex(), b.bytes as i64, b.kind.as_str()],
                )?;
            }
            tx.commit()?;
            added += 1;
        }
        Ok(added)
    }

    /// Every lead in the outbox, oldest first.
    pub fn outbox(&mut self) -> Result<Vec<OutboxItem>, DeviceError> {
        self.enqueue_sealed()?;
        let mut stmt = self.conn.prepare(
            "SELECT lead_id, state, bytes_total, bytes_sent, attempts, next_attempt_at, last_error_code,
                    last_error, received_at, clock_skew_secs, status_json, status_error_code,
                    status_error
             FROM outbox ORDER BY enqueued_at, lead_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, Option<i64>>(9)?,
                r.get::<_, Option<String>>(10)?,
                r.get::<_, Option<String>>(11)?,
                r.get::<_, Option<String>>(12)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (
                id,
                state,
                total,
                sent,
                attempts,
                next,
                code,
                error,
                received,
                skew,
                status,
                status_error_code,
                status_error,
            ) = row?;
            let status: Option<LeadStatus> =
                status.map(|s| serde_json::from_str(&s)).transpose()?;
            out.push(OutboxItem {
                lead_id: parse_lead(&id)?,
                state: OutboxState::parse(&state)?,
                bytes_total: total as u64,
                bytes_sent: sent as u64,
                attempts: attempts as u32,
                next_attempt_at: next.as_deref().map(parse_time).transpose()?,
                last_error_code: code,
                last_error: error,
                received_at: received.as_deref().map(parse_time).transpose()?,
                clock_skew_secs: skew,
                clock_skew_flagged: skew.is_some_and(|s| s.abs() > CLOCK_SKEW_FLAG_SECS),
                bureau_state: status.as_ref().map(|s| s.state),
                bureau_state_label: status.map(|s| s.state_label),
                status_error_code,
                status_error,
            });
        }
        Ok(out)
    }

    /// The bureau's verified receipt for a lead, once delivered.
    pub fn receipt(&self, id: LeadId) -> Result<Option<Receipt>, DeviceError> {
        let json: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT receipt_json FROM outbox WHERE lead_id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(json
            .flatten()
            .map(|j| serde_json::from_str(&j))
            .transpose()?)
    }

    /// Writes a sealed lead as one bundle file (manifest, log, receipt if any,
    /// every blob) for a USB stick; see `fieldlead_evidence::bundle`.
    pub fn export_bundle(&self, id: LeadId, out: &std::path::Path) -> Result<(), DeviceError> {
        let signed = self.manifest(id)?.ok_or(DeviceError::NotSealed(id))?;
        let log = self.audit_log(id)?;
        let receipt = self.receipt(id)?;
        fieldlead_evidence::bundle::write_bundle(out, &signed, &log, receipt.as_ref(), |sha| {
            self.store.object_path(sha)
        })?;
        Ok(())
    }

    /// When the next automatic round should run (the earliest backoff expiry), or
    /// `None` if nothing waits.
    pub fn next_sync_due(&self) -> Result<Option<DateTime<Utc>>, DeviceError> {
        let next: Option<String> = self.conn.query_row(
            &format!(
                "SELECT min(coalesce(next_attempt_at, '')) FROM outbox WHERE state IN {}",
                pending()
            ),
            [],
            |r| r.get(0),
        )?;
        match next.as_deref() {
            None => Ok(None),
            Some("") => Ok(Some(Utc::now())),
            Some(t) => Ok(Some(parse_time(t)?)),
        }
    }

    /// Makes every pending lead due now: "sync now", and a fresh enrolment after a
    /// revoked one.
    pub(super) fn forget_backoff(&self) -> Result<(), DeviceError> {
        self.conn.execute(
            &format!(
                "UPDATE outbox SET next_attempt_at = NULL WHERE state IN {}",
                pending()
            ),
            [],
        )?;
        Ok(())
    }

    /// The pending leads due by `now`, oldest first, and how many wait out a backoff.
    pub(super) fn due_leads(&self, now: DateTime<Utc>) -> Result<(Vec<LeadId>, u32), DeviceError> {
        let now = now.to_rfc3339();
        let mut stmt = self.conn.prepare(&format!(
            "SELECT lead_id FROM outbox WHERE state IN {}
               AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)
             ORDER BY enqueued_at, lead_id",
            pending()
        ))?;
        let due = stmt
            .query_map([&now], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<String>, _>>()?;
        let waiting: u32 = self.conn.query_row(
            &format!(
                "SELECT count(*) FROM outbox WHERE state IN {} AND next_attempt_at > ?1",
                pending()
            ),
            [&now],
            |r| r.get(0),
        )?;
        let due = due
            .iter()
            .map(|id| parse_lead(id))
            .collect::<Result<_, _>>()?;
        Ok((due, waiting))
    }

    /// Gives every other pending lead the backoff `id` just got.
    pub(super) fn defer_pending(&self, id: LeadId) -> Result<(), DeviceError> {
        self.conn.execute(
            &format!(
                "UPDATE outbox SET next_attempt_at = (SELECT next_attempt_at FROM outbox WHERE lead_id = ?1)
                 WHERE state IN {} AND lead_id <> ?1
                   AND (next_attempt_at IS NULL
                        OR next_attempt_at < (SELECT next_attempt_at FROM outbox WHERE lead_id = ?1))",
                pending()
            ),
            [id.to_string()],
        )?;
        Ok(())
    }

    /// Counts a failed attempt and sets the next one; a final failure marks the
    /// lead failed.
    pub(super) fn record_failure(
        &self,
        id: LeadId,
        e: &SyncError,
        final_failure: bool,
    ) -> Result<(), DeviceError> {
        let attempts: i64 = self.conn.query_row(
            "SELECT attempts FROM outbox WHERE lead_id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )?;
        let next = match e {
            SyncError::RateLimited(secs) => Utc::now() + chrono::Duration::seconds(*secs as i64),
            _ => Utc::now() + backoff(attempts as u32),
        };
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error_code = ?3,
                    last_error = ?4, state = CASE WHEN ?5 THEN ?6 ELSE state END
             WHERE lead_id = ?1 AND state <> ?7",
            params![
                id.to_string(),
                next.to_rfc3339(),
                e.code(),
                e.to_string(),
                final_failure,
                OutboxState::Failed.as_str(),
                OutboxState::Delivered.as_str(),
            ],
        )?;
        Ok(())
    }

    /// The bureau answered that the tablet is revoked: kept from the first time.
    pub(super) fn mark_revoked(&self) -> Result<(), DeviceError> {
        self.conn.execute(
            "UPDATE enrolment SET revoked_at = coalesce(revoked_at, ?1)",
            [Utc::now().to_rfc3339()],
        )?;
        Ok(())
    }

    /// The bureau holds the manifest: the lead is `manifest_sent`, and every blob
    /// the bureau did not ask for is done.
    pub(super) fn manifest_accepted(
        &mut self,
        id: LeadId,
        put: &PutLeadResponse,
        blobs: &[Sha256],
    ) -> Result<(), DeviceError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE outbox SET state = ?3, received_at = ?2 WHERE lead_id = ?1 AND state = ?4",
            params![
                id.to_string(),
                put.received_at.to_rfc3339(),
                OutboxState::ManifestSent.as_str(),
                OutboxState::Queued.as_str(),
            ],
        )?;
        for sha in blobs {
            if !put.missing_blobs.iter().any(|m| m.sha256 == *sha) {
                tx.execute(
                    "UPDATE outbox_blobs SET done = 1, offset = bytes WHERE lead_id = ?1 AND sha256 = ?2",
                    params![id.to_string(), sha.to_hex()],
                )?;
            }
        }
        update_sent(&tx, id)?;
        tx.commit()?;
        Ok(())
    }

    /// Blobs of a lead the bureau does not hold yet: (sha256, offset held).
    pub(super) fn pending_blobs(&self, id: LeadId) -> Result<Vec<(Sha256, u64)>, DeviceError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT sha256, offset FROM outbox_blobs WHERE lead_id = ?1 AND done = 0",
        )?;
        let rows = stmt.query_map([id.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (sha, offset) = row?;
            out.push((
                sha.parse()
                    .map_err(|_| DeviceError::Corrupt(format!("sha256 {sha}")))?,
                offset as u64,
            ));
        }
        Ok(out)
    }

    /// Bytes of a lead's blobs the bureau holds, as it last reported.
    pub(super) fn held_bytes(&self, id: LeadId) -> Result<u64, DeviceError> {
        let sent: i64 = self.conn.query_row(
            "SELECT bytes_sent FROM outbox WHERE lead_id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )?;
        Ok(sent as u64)
    }

    pub(super) fn store_blob_status(
        &mut self,
        id: LeadId,
        s: &BlobStatus,
    ) -> Result<(), DeviceError> {
        let tx = self.conn.transaction()?;
        // Only a change is written: the status before each blob usually repeats
        // what is stored, and every commit here costs an fsync.
        let changed = tx.execute(
            "UPDATE outbox_blobs SET offset = ?3, done = ?4
             WHERE lead_id = ?1 AND sha256 = ?2 AND (offset != ?3 OR done != ?4)",
            params![
                id.to_string(),
                s.sha256.to_hex(),
                s.offset as i64,
                s.complete
            ],
        )?;
        if changed > 0 {
            update_sent(&tx, id)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// A verified receipt: the lead is delivered, at the receipt's report time.
    pub(super) fn store_receipt(
        &mut self,
        id: LeadId,
        receipt: &Receipt,
        clock_skew_secs: i64,
    ) -> Result<(), DeviceError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE outbox SET state = ?5, receipt_json = ?2, received_at = ?3,
                    clock_skew_secs = ?4, bytes_sent = bytes_total, next_attempt_at = NULL,
                    last_error_code = NULL, last_error = NULL
             WHERE lead_id = ?1",
            params![
                id.to_string(),
                serde_json::to_string(receipt)?,
                receipt.receipt.received_at.to_rfc3339(),
                clock_skew_secs,
                OutboxState::Delivered.as_str(),
            ],
        )?;
        tx.execute(
            "UPDATE outbox_blobs SET done = 1, offset = bytes WHERE lead_id = ?1",
            [id.to_string()],
        )?;
        tx.execute(
            "UPDATE records SET state = ?2 WHERE id = ?1 AND state = ?3",
            params![
                id.to_string(),
                LeadState::Delivered.as_str(),
                LeadState::Sealed.as_str()
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// A verified status of the bureau's: kept, and, once delivered, the record
    /// shows the bureau's handling state.
    pub(super) fn store_status(&self, id: LeadId, status: &LeadStatus) -> Result<(), DeviceError> {
        self.conn.execute(
            "UPDATE outbox SET status_json = ?2, status_checked_at = ?3, status_error_code = NULL,
                    status_error = NULL
             WHERE lead_id = ?1",
            params![
                id.to_string(),
                serde_json::to_string(status)?,
                Utc::now().to_rfc3339()
            ],
        )?;
        if status.receipt.is_some() && status.state != LeadState::Sealed {
            self.conn.execute(
                "UPDATE records SET state = ?2 WHERE id = ?1 AND state <> ?3
                   AND EXISTS (SELECT 1 FROM outbox WHERE lead_id = ?1 AND state = ?4)",
                params![
                    id.to_string(),
                    status.state.as_str(),
                    LeadState::Draft.as_str(),
                    OutboxState::Delivered.as_str(),
                ],
            )?;
        }
        Ok(())
    }

    /// Delivered leads whose state is not final: the bureau may still move them
    /// (a declined lead may yet be reported to the city), so they are polled.
    pub(super) fn leads_to_poll(&self) -> Result<Vec<LeadId>, DeviceError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT o.lead_id FROM outbox o JOIN records r ON r.id = o.lead_id
             WHERE o.state = '{}' AND r.state NOT IN {}",
            OutboxState::Delivered.as_str(),
            final_lead_states()
        ))?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let ids: Vec<String> = rows.collect::<Result<_, _>>()?;
        ids.iter().map(|id| parse_lead(id)).collect()
    }

    /// A status answer that was not taken: said beside the last one that was.
    pub(super) fn store_status_refusal(
        &self,
        id: LeadId,
        e: &SyncError,
    ) -> Result<(), DeviceError> {
        self.conn.execute(
            "UPDATE outbox SET status_error_code = ?2, status_error = ?3, status_checked_at = ?4
             WHERE lead_id = ?1",
            params![
                id.to_string(),
                e.code(),
                e.to_string(),
                Utc::now().to_rfc3339()
            ],
        )?;
        Ok(())
    }
}

fn update_sent(tx: &rusqlite::Transaction<'_>, id: LeadId) -> Result<(), DeviceError> {
    tx.execute(
        "UPDATE outbox SET bytes_sent = (SELECT coalesce(sum(min(offset, bytes)), 0) FROM outbox_blobs WHERE lead_id = ?1)
         WHERE lead_id = ?1",
        [id.to_string()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        for attempts in 0..5u32 {
            let ceiling = (BACKOFF_BASE_SECS << attempts) as i64 * 1000;
            for _ in 0..20 {
                let d = backoff(attempts).num_milliseconds();
                assert!(d >= ceiling / 2 && d <= ceiling, "{attempts}: {d}");
            }
        }
        let far = backoff(40).num_milliseconds();
        assert!(far <= BACKOFF_CAP_SECS as i64 * 1000 && far >= BACKOFF_CAP_SECS as i64 * 500);
        let spread: std::collections::HashSet<i64> =
            (0..20).map(|_| backoff(3).num_milliseconds()).collect();
        assert!(spread.len() > 1, "jitter varies the delay");
    }

    #[test]
    fn named_state_sets_spell_the_wire_names() {
        assert_eq!(pending(), "('queued', 'manifest_sent')");
        // Declined may still be reported to the city: only that is final.
        assert_eq!(final_lead_states(), "('reported_to_city')");
    }

    #[test]
    fn outbox_wire_names_are_the_serde_names() {
        for s in OutboxState::ALL {
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::Value::String(s.as_str().into())
            );
            assert_eq!(OutboxState::parse(s.as_str()).unwrap(), s);
        }
        assert!(OutboxState::parse("sent").is_err());
    }
}
