//! Delivering sealed leads to the district bureau over sync protocol v1.
//!
//! Enrolment stores the device id, bearer token, district and bureau key in the
//! tablet database (the token never leaves it); the key is kept only if it matches
//! the fingerprint on the bureau's invite. Every sealed lead enters a durable
//! outbox; [`Device::sync_once`] sends each due lead's manifest, then the blobs the
//! bureau is missing (streamed from the evidence files, resumed from the offset the
//! bureau holds), verifies the signed receipt with the bureau key and keeps it: its
//! `received_at` is the report time. Each step is committed to SQLite before the
//! next starts, and each step is safe to repeat, so a kill at any point loses
//! nothing and duplicates nothing. Failed attempts back off exponentially with
//! jitter, per lead.
//!
//! What the tablet trusts: it talks only to https addresses (or this machine,
//! [`crate::BureauUrl`]), follows no redirect, reads every answer with a size cap
//! ([`MAX_ANSWER_BYTES`]), and takes receipts and lead statuses only with the
//! bureau's signature.
//!
//! One job per file: [`error`] classifies what went wrong (final for a lead, ends
//! the round), [`client`] is the bureau's HTTP API, [`outbox`] holds every SQL
//! statement of the outbox and its named state sets, [`enrolment`] enrols the
//! tablet, [`round`] is one sync round, and [`policy`] decides when the next round
//! runs (offline probing, backoff reset) for whatever shell drives the rounds.
//!
//! [`Device::sync_once`]: crate::Device::sync_once

mod client;
mod enrolment;
mod error;
mod outbox;
pub mod policy;
mod round;

use chrono::{DateTime, Utc};

use crate::error::DeviceError;

pub use client::MAX_ANSWER_BYTES;
pub use enrolment::Enrolment;
pub use error::SyncError;
pub use outbox::{backoff, OutboxItem, OutboxState, BACKOFF_BASE_SECS, BACKOFF_CAP_SECS};
pub use round::{LeadFailure, SyncPhase, SyncProgress, SyncReport};

/// A device clock further than this from the bureau's is flagged on the receipt.
pub const CLOCK_SKEW_FLAG_SECS: i64 = 300;

fn parse_time(s: &str) -> Result<DateTime<Utc>, DeviceError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| DeviceError::Corrupt(format!("time {s}")))
}
