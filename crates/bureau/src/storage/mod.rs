//! The bureau's records behind a backend-neutral trait, [`Storage`]: the embedded
//! SQLite one ([`SqliteStorage`]), and PostgreSQL ([`PgStorage`]) for a city. [`open`] picks
//! the backend from a URL in the config. Every method that changes state takes the
//! [`AuditEntry`] describing the change and writes both in one transaction. Errors
//! are [`StorageError`]s whatever the backend: a uniqueness race is `Conflict`
//! (409), never a backend's own error type.
//!
//! **Synchronous, on purpose.** Every caller already runs off the async threads
//! (`api::blocking`, the CLI, the analysis worker), SQLite is a synchronous
//! library, and a blocking trait needs no boxed futures or `async_trait`. A
//! PostgreSQL backend fits the same shape with a blocking client over a connection
//! pool (the `postgres` crate drives `tokio-postgres` on its own small runtime),
//! one pooled connection per blocking call. Should profiling ever show the
//! blocking pool to be the limit, the trait can grow async twins then.
//!
//! `tests/storage_story.rs` is the one story every backend must tell.

mod db;
mod pool;
mod postgres;
mod sql;
mod sqlite;

use chrono::{DateTime, Utc};
use fieldlead_domain::inspection::InspectionResult;
use fieldlead_domain::postprocess::Case;
use fieldlead_domain::{
    BlobKind, BlobRef, CanonicalUpload, CaseId, DeviceId, LeadId, LeadState, PublicKey, Receipt,
    Sha256,
};
use serde::Serialize;

pub use crate::model::{
    BlobAnalysis, CaseReport, CaseSummary, District, EnforcementLead, EnrolledDevice, Handling,
    IssuedDocument, Lead, LeadSummary, PostCase, Review, ReviewState, Role, Scope, ServiceRecord,
    Transfer, User,
};

pub use postgres::PgStorage;
pub use sqlite::SqliteStorage;

/// Opens the storage a URL names. `sqlite:PATH` (relative to the data folder, or
/// absolute) is the embedded default; `None` means `sqlite:bureau.sqlite3`;
/// `postgres://user:password@host:port/database` is a city's PostgreSQL.
pub fn open(
    url: Option<&str>,
    data: &std::path::Path,
) -> StorageResult<std::sync::Arc<dyn Storage>> {
    match sqlite_path(url, data)? {
        Some(path) => Ok(std::sync::Arc::new(SqliteStorage::open(&path)?)),
        None => Ok(std::sync::Arc::new(PgStorage::open(
            url.unwrap_or_default(),
        )?)),
    }
}

/// The SQLite file a database address names (relative to the data folder;
/// unset is `bureau.sqlite3`), or `None` for a PostgreSQL address.
pub fn sqlite_path(
    url: Option<&str>,
    data: &std::path::Path,
) -> StorageResult<Option<std::path::PathBuf>> {
    let url = url.unwrap_or("sqlite:bureau.sqlite3");
    match url.split_once(':') {
        Some(("sqlite", path)) => {
            let path = path.trim_start_matches("//");
            if path.is_empty() {
                return Err(StorageError::Backend(format!(
                    "数据库地址 {url} 缺少文件路径"
                )));
            }
            Ok(Some(data.join(path)))
        }
        Some(("postgres" | "postgresql", _)) => Ok(None),
        _ => Err(StorageError::Backend(format!(
            "无法识别的数据库地址“{}”，应为 sqlite:文件路径 或 postgres://用户:密码@主机:端口/数据库",
            url.chars().take(80).collect::<String>()
        ))),
    }
}

use crate::error::StorageError;

/// A counter every instance shares ([`Storage::update_counter`]): a value, when
/// it was counted, and when it is spent and may be pruned (milliseconds since
/// the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub value: i64,
    pub at_ms: i64,
    pub expires_ms: i64,
}

/// What [`Storage::update_counter`] does to a counter: its next state (`None`
/// removes it) and the verdict (`Some(seconds)` to wait before trying again).
pub type CounterRule =
    std::sync::Arc<dyn Fn(Option<Counter>) -> (Option<Counter>, Option<u64>) + Send + Sync>;

pub type StorageResult<T> = Result<T, StorageError>;

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub district_id: Option<i64>,
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct NewDevice {
    pub id: DeviceId,
    pub public_key: PublicKey,
    pub token_hash: String,
    pub label: String,
}

/// One line of the audit log, as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// `user:NAME`, `device:ID` or `cli`.
    pub actor: String,
    pub district_id: Option<i64>,
    pub action: String,
    /// What was changed: `lead:ID`, `device:ID`, `user:NAME`, ...
    pub subject: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// One line of the audit log, as read back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub district_id: Option<i64>,
    pub action: String,
    pub subject: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, Clone)]
pub struct NewLead {
    pub id: LeadId,
    pub district_id: i64,
    pub device_id: DeviceId,
    pub manifest_hash: Sha256,
    /// The verified signed manifest and log, in the canonical form that is
    /// stored: one spelling of the signed content.
    pub upload: CanonicalUpload,
    pub business_name: String,
    pub product_name: String,
    pub sealed_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub blobs: Vec<BlobRef>,
}

/// What happened to a pushed manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadInsert {
    /// First time: stored.
    Created,
    /// The same manifest was already stored: nothing changed.
    Same { received_at: DateTime<Utc> },
    /// A different manifest already has this id: refused.
    Conflict,
}

#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    pub state: Option<LeadState>,
    /// Only leads whose receipt was issued before this time.
    pub completed_before: Option<DateTime<Utc>>,
    pub limit: Option<u32>,
}

/// A case to create from an imported inspection result.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub id: CaseId,
    pub district_id: i64,
    pub result: InspectionResult,
    pub case: Case,
    pub audit: AuditEntry,
}

/// Which cases a list holds.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Only cases still running (not transferred or closed).
    pub open_only: bool,
    /// Only the cases assigned to this officer.
    pub assignee: Option<String>,
    pub limit: Option<u32>,
}

/// How inserting an issued document went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentInsert {
    Inserted,
    /// Another document took the number meanwhile: number again and retry.
    NumberTaken,
    /// The document to correct was corrected meanwhile.
    AlreadySuperseded,
    /// A valid document of this kind for this case and recipient was issued
    /// meanwhile (a second one must be a correction).
    AlreadyIssued,
}

/// A 附件6 to create: its failed products' cases move to the enforcement side.
#[derive(Debug, Clone)]
pub struct NewTransfer {
    pub transfer: Transfer,
    pub cases: Vec<CaseId>,
    /// One entry per case.
    pub audits: Vec<AuditEntry>,
}

/// Which leads the enforcement side lists.
#[derive(Debug, Clone, Default)]
pub struct EnforcementFilter {
    pub transfer: Option<fieldlead_domain::TransferId>,
    /// `Some(false)`: only leads still waiting for an answer; `Some(true)`: only answered.
    pub answered: Option<bool>,
}

/// A device's enrolment, as the service decided it: a new device, or a revoked
/// one coming back under its old id with a new token.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub device: NewDevice,
    pub district_id: i64,
    /// `device.id` is an existing, revoked device's id: update it, don't insert.
    pub returning: bool,
}

/// A blob a lead names; `present` once the lead's district proved it holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LeadBlob {
    pub sha256: Sha256,
    pub bytes: u64,
    pub kind: BlobKind,
    pub present: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlobInfo {
    pub sha256: Sha256,
    pub bytes: u64,
    pub received_at: DateTime<Utc>,
    /// What the background analysis learnt; `None` until it ran.
    pub analysis: Option<BlobAnalysis>,
    pub phash: Option<u64>,
    /// When the stored bytes were last hashed and found to match (or not).
    pub verified_at: Option<DateTime<Utc>>,
    pub intact: Option<bool>,
}

/// Who proved they hold a blob's bytes: a district, through one of its devices'
/// uploads or an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobHolder {
    pub district_id: i64,
    /// `None` for an import from a bundle.
    pub device_id: Option<DeviceId>,
}

/// A lead that holds a given blob, for "the same photo in other leads".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlobUse {
    pub lead_id: LeadId,
    pub district_id: i64,
    pub business_name: String,
}

/// The bureau's database. Implementations must make each method atomic.
pub trait Storage: Send + Sync + std::fmt::Debug {
    // Districts and users
    fn create_district(&self, code: &str, name: &str, audit: AuditEntry)
        -> StorageResult<District>;
    fn district_by_code(&self, code: &str) -> StorageResult<Option<District>>;
    fn districts(&self) -> StorageResult<Vec<District>>;
    /// `None` if the user name is taken.
    fn add_user(&self, user: NewUser, audit: AuditEntry) -> StorageResult<Option<User>>;
    fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        audit: AuditEntry,
    ) -> StorageResult<bool>;
    /// The user and their password hash.
    fn user_credentials(&self, username: &str) -> StorageResult<Option<(User, String)>>;
    fn users(&self) -> StorageResult<Vec<User>>;

    // Console sessions
    /// Deletes every session expired at `now`; returns how many.
    fn delete_expired_sessions(&self, now: DateTime<Utc>) -> StorageResult<u64>;
    fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf_token: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StorageResult<()>;
    /// The live session's user and CSRF token.
    fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StorageResult<Option<(User, String)>>;
    fn delete_session(&self, token_hash: &str) -> StorageResult<()>;

    // Devices
    fn create_enrolment_code(
        &self,
        code_hash: &str,
        district_id: i64,
        expires_at: DateTime<Utc>,
        audit: AuditEntry,
    ) -> StorageResult<()>;
    /// The district of an unused, unexpired enrolment code.
    fn enrolment_code_district(
        &self,
        code_hash: &str,
        now: DateTime<Utc>,
    ) -> StorageResult<Option<i64>>;
    fn device_by_key(&self, key: &PublicKey) -> StorageResult<Option<EnrolledDevice>>;
    /// Spends the code and writes the enrolment, in one transaction, at
    /// `audit.at`. `None` if the code is no longer unused, unexpired and of
    /// `enrolment.district_id` (nothing is written then); `Conflict` if the device
    /// changed meanwhile (its key taken, or a returning device no longer revoked).
    fn enrol_device(
        &self,
        code_hash: &str,
        enrolment: Enrolment,
        audit: AuditEntry,
    ) -> StorageResult<Option<EnrolledDevice>>;
    fn device_by_token(&self, token_hash: &str) -> StorageResult<Option<EnrolledDevice>>;
    fn device(&self, id: DeviceId) -> StorageResult<Option<EnrolledDevice>>;
    fn devices(&self, scope: Scope) -> StorageResult<Vec<EnrolledDevice>>;
    /// `false` if it was already revoked.
    fn revoke_device(&self, id: DeviceId, audit: AuditEntry) -> StorageResult<bool>;

    // Leads and blobs
    /// Stores a new lead with its audit entry; also returns the lead's blobs as
    /// its district holds them after the change (read in the same transaction,
    /// so a new lead's answer needs no second trip to the database).
    fn insert_lead(
        &self,
        lead: NewLead,
        audit: AuditEntry,
    ) -> StorageResult<(LeadInsert, Vec<LeadBlob>)>;
    fn lead(&self, id: LeadId) -> StorageResult<Option<Lead>>;
    /// What a lead's intake checks before verifying it, in one read: the lead
    /// if it is stored, and how many leads the device sent since `since`.
    fn lead_and_device_count(
        &self,
        id: LeadId,
        device: DeviceId,
        since: DateTime<Utc>,
    ) -> StorageResult<(Option<Lead>, u64)>;
    fn leads(&self, scope: Scope, filter: &LeadFilter) -> StorageResult<Vec<LeadSummary>>;
    fn lead_blobs(&self, id: LeadId) -> StorageResult<Vec<LeadBlob>>;
    /// The size a lead of this district declared for the blob, if any lead did.
    fn expected_blob(&self, sha256: Sha256, district_id: i64) -> StorageResult<Option<u64>>;
    fn blob(&self, sha256: Sha256) -> StorageResult<Option<BlobInfo>>;
    /// Records that `holder`'s district proved it holds a blob in full (its bytes
    /// hashed to `sha256` on the way in); returns that district's leads whose every
    /// blob is now present and which have no receipt yet.
    fn blob_stored(
        &self,
        sha256: Sha256,
        bytes: u64,
        holder: BlobHolder,
        now: DateTime<Utc>,
    ) -> StorageResult<Vec<LeadId>>;
    /// Whether the district proved it holds the blob.
    fn district_holds(&self, district_id: i64, sha256: Sha256) -> StorageResult<bool>;
    /// Records a re-check of a held blob's bytes against its hash.
    fn set_blob_verified(
        &self,
        sha256: Sha256,
        intact: bool,
        audit: AuditEntry,
    ) -> StorageResult<()>;
    /// Stores the receipt with the handling it brings, compare-and-set like
    /// [`Storage::update_handling`]: only if the lead has no receipt yet and still
    /// has `before`.
    fn complete_lead(
        &self,
        id: LeadId,
        receipt: &Receipt,
        before: &Handling,
        after: &Handling,
        audit: AuditEntry,
    ) -> StorageResult<bool>;
    fn set_blob_analysis(
        &self,
        sha256: Sha256,
        analysis: &BlobAnalysis,
        now: DateTime<Utc>,
    ) -> StorageResult<()>;
    fn unanalysed_blobs(&self) -> StorageResult<Vec<Sha256>>;
    fn blob_uses(&self, sha256: Sha256) -> StorageResult<Vec<BlobUse>>;
    /// Every analysed blob's perceptual hash.
    fn phashes(&self) -> StorageResult<Vec<(Sha256, u64)>>;

    // Review and handling
    fn add_review(&self, id: LeadId, review: Review, audit: AuditEntry) -> StorageResult<()>;
    fn reviews(&self, id: LeadId) -> StorageResult<Vec<Review>>;
    /// Compare-and-set: writes `after` only if the lead still has `before`.
    fn update_handling(
        &self,
        id: LeadId,
        before: &Handling,
        after: &Handling,
        audit: AuditEntry,
    ) -> StorageResult<bool>;

    // 后处理 cases
    /// Creates every case, or none: if any report number is already held, the
    /// numbers are returned and nothing is written.
    fn insert_cases(&self, cases: Vec<NewCase>) -> StorageResult<Result<(), Vec<String>>>;
    fn case(&self, id: CaseId) -> StorageResult<Option<PostCase>>;
    /// Cases in scope, oldest report first.
    fn cases(&self, scope: Scope, filter: &CaseFilter) -> StorageResult<Vec<CaseSummary>>;
    /// Compare-and-set: writes `after` only if the case is still `before`, with
    /// the service record the step brings, in one transaction.
    fn update_case(
        &self,
        id: CaseId,
        before: &Case,
        after: &Case,
        service: Option<&ServiceRecord>,
        audit: AuditEntry,
    ) -> StorageResult<bool>;

    /// Assigns a case to a 后处理 officer (or none), if it is still assigned to `before`.
    fn assign_case(
        &self,
        id: CaseId,
        before: Option<&str>,
        after: Option<&str>,
        audit: AuditEntry,
    ) -> StorageResult<bool>;

    // 后处理 documents and report files
    /// The next free sequence number of an issuer's documents in a year.
    fn next_document_seq(&self, issuer_key: &str, year: i32) -> StorageResult<u32>;
    /// Stores an issued document with its audit entry, unless its number or the
    /// document it corrects was taken meanwhile.
    fn insert_document(
        &self,
        doc: &IssuedDocument,
        audit: AuditEntry,
    ) -> StorageResult<DocumentInsert>;
    fn document(&self, id: fieldlead_domain::DocumentId) -> StorageResult<Option<IssuedDocument>>;
    /// Attaches a report file to a case; `false` if the same file is attached already.
    fn add_case_report(
        &self,
        case: CaseId,
        report: &CaseReport,
        audit: AuditEntry,
    ) -> StorageResult<bool>;

    // Section 四: failed products' leads at the enforcement side
    /// Creates a 附件6 with its cases, all or none: the cases already on a 附件6
    /// are returned and nothing is written.
    fn insert_transfer(&self, transfer: NewTransfer) -> StorageResult<Result<(), Vec<CaseId>>>;
    fn enforcement_leads(
        &self,
        scope: Scope,
        filter: &EnforcementFilter,
    ) -> StorageResult<Vec<EnforcementLead>>;
    /// Records the enforcement side's answer, if the lead's answer is still `before`.
    fn answer_lead(
        &self,
        case: CaseId,
        before: Option<&fieldlead_domain::postprocess::EnforcementAnswer>,
        after: &fieldlead_domain::postprocess::EnforcementAnswer,
        by: &str,
        audit: AuditEntry,
    ) -> StorageResult<bool>;

    /// Whether the database answers, for a load balancer's health probe.
    fn ping(&self) -> StorageResult<()>;

    // What several instances on one database share
    /// Reads the counter `key`, applies `rule` and stores what it returns (in one
    /// change, so every instance counts the same attempts); the rule's verdict.
    /// The rule may run more than once: it must depend only on its argument.
    fn update_counter(&self, key: &str, rule: CounterRule) -> StorageResult<Option<u64>>;
    /// Records `public_key` (hex) as the key every instance signs receipts
    /// with, if none is yet; the one recorded.
    fn pin_signing_key(&self, public_key: &str) -> StorageResult<String>;
    /// Removes counters spent before `now_ms`; how many went.
    fn prune_counters(&self, now_ms: i64) -> StorageResult<usize>;
    /// Claims a blob's background analysis for `holder` until `now_ms + lease_ms`:
    /// false if it is analysed already or another holder's claim still runs.
    fn claim_analysis(
        &self,
        sha256: Sha256,
        holder: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> StorageResult<bool>;

    // Audit
    fn record_audit(&self, audit: AuditEntry) -> StorageResult<()>;
    fn audit_events(
        &self,
        scope: Scope,
        subject: Option<&str>,
        limit: u32,
    ) -> StorageResult<Vec<AuditEvent>>;
}
