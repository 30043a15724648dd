//! The tablet's use-cases, with no UI framework in sight: a SQLite database of
//! records (drafts saved as edited, sealed records read-only), the content-addressed
//! evidence store, the hash-chained audit log of every change, sealing with the
//! device's Ed25519 key, and the key itself; the sync client that delivers sealed
//! leads to the district bureau from a durable outbox ([`Device::sync_once`]), over
//! https only ([`BureauUrl`]), with the policy of when rounds run ([`policy`]); and
//! the 产品违法线索移交表 of a sealed lead ([`form`]). The Tauri shell is a thin layer over [`Device`].

mod bureau_url;
mod db;
mod error;
pub mod form;
mod key;
mod list;
mod records;
mod settings;
mod signoffs;
mod sync;

use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};
use fieldlead_domain::{PublicKey, SigningKey};
use fieldlead_evidence::EvidenceStore;

pub use bureau_url::{BureauUrl, BureauUrlError, ALLOW_INSECURE_HTTP_ENV};
pub use error::DeviceError;
/// The `Content-Type` a stored photo or signature is served to the web view under.
pub use fieldlead_evidence::content_type;
pub use list::{ListQuery, RecordSummary};
pub use records::{EvidenceItem, RecordView, MAX_CAPTION_CHARS};
pub use settings::Settings;
pub use signoffs::{SignoffView, MAX_SIGNATURE_BYTES};
pub use sync::{
    backoff, policy, Enrolment, LeadFailure, OutboxItem, OutboxState, SyncError, SyncPhase,
    SyncProgress, SyncReport, BACKOFF_BASE_SECS, BACKOFF_CAP_SECS, CLOCK_SKEW_FLAG_SECS,
    MAX_ANSWER_BYTES,
};

/// File name of the database inside the app data dir.
pub const DB_FILE: &str = "fieldlead.sqlite3";
/// Folder of the evidence store inside the app data dir.
pub const EVIDENCE_DIR: &str = "evidence";

/// One tablet's data: database, evidence store and key, all under one folder.
pub struct Device {
    conn: rusqlite::Connection,
    store: EvidenceStore,
    key: SigningKey,
    dir: PathBuf,
    clock: fn() -> DateTime<FixedOffset>,
    /// Plain http to any host (development only); see [`Device::allow_insecure_http`].
    insecure_http: bool,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("dir", &self.dir)
            .field("key", &self.key)
            .field("insecure_http", &self.insecure_http)
            .finish_non_exhaustive()
    }
}

fn local_now() -> DateTime<FixedOffset> {
    chrono::Local::now().fixed_offset()
}

impl Device {
    /// Opens (creating if needed) the tablet's data in `dir`: the app data dir.
    pub fn open(dir: &Path) -> Result<Device, DeviceError> {
        std::fs::create_dir_all(dir)?;
        let key = key::load_or_create(dir)?;
        let conn = db::open(&dir.join(DB_FILE))?;
        let store = EvidenceStore::open(&dir.join(EVIDENCE_DIR))?;
        Ok(Device {
            conn,
            store,
            key,
            dir: dir.to_path_buf(),
            clock: local_now,
            insecure_http: false,
        })
    }

    /// Development only: lets the sync client use plain `http://` to any host, not
    /// only to this machine. Off unless the app shell is started with
    /// [`ALLOW_INSECURE_HTTP_ENV`]`=1`; a tablet in the field never has it.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.insecure_http = allow;
        self
    }

    /// Replaces the clock, for tests of a tablet whose time is wrong.
    pub fn with_clock(mut self, clock: fn() -> DateTime<FixedOffset>) -> Self {
        self.clock = clock;
        self
    }

    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    pub fn evidence_store(&self) -> &EvidenceStore {
        &self.store
    }

    /// The schema version this build writes.
    pub fn schema_version() -> i64 {
        db::latest_version()
    }
}
