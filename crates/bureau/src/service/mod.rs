//! The bureau's use-cases: enrolment, receiving leads and blobs, receipts, the
//! tablet's status, and everything the console does, each checked against the
//! caller's role and district. HTTP handlers and CLI commands only call these.
//!
//! One [`Bureau`], its use-cases by family: [`admin`] (the command line),
//! [`intake`] (what tablets do), [`analysis`] (photos in the background),
//! [`sessions`] (console login), [`handling`] (what the console reads and
//! changes). Receiving blob bytes is in `crate::uploads`.

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use fieldlead_domain::text::check_text;
use fieldlead_domain::{
    manifest_blobs, BlobStatus, Decision, DeviceId, DistrictInfo, EnrolmentCode, EnrolmentInvite,
    EnrolmentRequest, EnrolmentResponse, LeadId, LeadState, LeadStatus, LeadUpload, PublicKey,
    PutLeadResponse, Receipt, ReceiptBody, Sha256, SigningKey, RECEIPT_FORMAT,
};

use crate::blobs::{BlobStore, LocalBlobStore};
use crate::config::{Config, DataPaths};
use crate::error::{BureauError, Result};
use crate::lock::{self, DataLock};
use crate::ratelimit::{now_ms, LoginThrottle, RateLimiter, SharedLimiter};
use crate::secrets;
mod admin;
mod analysis;
mod documents;
mod enforcement;
mod handling;
mod intake;
mod postprocess;
mod sessions;

pub use documents::{DocumentForm, MAX_DOCUMENT_TEXT_CHARS};
pub use enforcement::{EnforcementList, MAX_REPORT_BYTES};
pub use fieldlead_domain::handling::HandlingStep;
pub use postprocess::{Board, BoardGroup, BoardRow};

use crate::model::{
    BlobAnalysis, District, EnrolledDevice, Handling, Lead, LeadSummary, ReenrolRefusal, Review,
    ReviewState, Role, User,
};
use crate::storage::{
    AuditEntry, BlobHolder, Enrolment, LeadFilter, LeadInsert, NewDevice, NewLead, NewUser,
    SqliteStorage, Storage,
};

/// The server clock at the precision the database keeps (microseconds), so a time
/// returned in a response equals the one stored and signed.
pub fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

/// Who did something, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User(String),
    Device(DeviceId),
    /// The operator at the server's command line.
    Cli,
    /// Someone not signed in, known only by their address.
    Anonymous(IpAddr),
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Actor::User(u) => format!("user:{u}"),
            Actor::Device(d) => format!("device:{d}"),
            Actor::Cli => "cli".into(),
            Actor::Anonymous(ip) => format!("ip:{ip}"),
        }
    }
}

fn audit(
    actor: &Actor,
    district_id: Option<i64>,
    action: &str,
    subject: String,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> AuditEntry {
    AuditEntry {
        at: now(),
        actor: actor.label(),
        district_id,
        action: action.to_string(),
        subject,
        before,
        after,
    }
}

/// A new enrolment code with what goes on paper and in the QR code.
#[derive(Debug, Clone)]
pub struct IssuedCode {
    pub code: EnrolmentCode,
    pub invite: EnrolmentInvite,
    pub district: District,
    pub expires_at: DateTime<Utc>,
}

/// The bureau: storage, blobs, key, settings and in-memory limits.
pub struct Bureau {
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) blobs: Arc<dyn BlobStore>,
    key: SigningKey,
    config: Config,
    paths: DataPaths,
    /// Working days for every 后处理 deadline: the built-in notices and the data
    /// folder's own table.
    calendar: fieldlead_domain::calendar::Calendar,
    /// Uploads running in this process, by uploader and hash.
    uploads: Mutex<HashSet<(String, Sha256)>>,
    /// Devices revoked while this process runs: their uploads in flight stop.
    revoked: Mutex<HashSet<DeviceId>>,
    device_limiter: RateLimiter<DeviceId>,
    /// Enrolment attempts by client address, counted across instances.
    enrol_limiter: SharedLimiter,
    /// All enrolment attempts together, whatever address they claim to come from.
    enrol_global: RateLimiter<()>,
    login_throttle: LoginThrottle,
    /// Failed logins by client address, counted across instances.
    login_by_address: SharedLimiter,
    login_global: RateLimiter<()>,
    /// Argon2 hashes running at once (each takes ~19 MiB and a core for ~50 ms).
    password_slots: Arc<tokio::sync::Semaphore>,
    /// List exports built at once (each lays out the whole list in memory).
    export_slots: Arc<tokio::sync::Semaphore>,
    analysis: Mutex<Option<tokio::sync::mpsc::UnboundedSender<analysis::Queued>>>,
    /// Bytes of received blobs waiting in the analysis queue (see [`analysis::Handed`]).
    analysis_bytes: Arc<std::sync::atomic::AtomicU64>,
    /// This process among the instances on one database: its claims on
    /// background work carry this name.
    instance: String,
    /// The header's overdue counts by scope (district id, or `None` for the city).
    overdue_cache: Mutex<std::collections::HashMap<Option<i64>, (std::time::Instant, usize)>>,
    /// Held while this instance serves the data folder.
    _lock: Option<DataLock>,
}

impl std::fmt::Debug for Bureau {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bureau")
            .field("storage", &self.storage)
            .field("public_key", &self.key.public_key())
            .finish_non_exhaustive()
    }
}

/// Marks an uploader's upload of a blob as running; cleared on drop.
pub(crate) struct UploadSlot<'a> {
    bureau: &'a Bureau,
    key: (String, Sha256),
}

impl Drop for UploadSlot<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.bureau.uploads.lock() {
            set.remove(&self.key);
        }
    }
}

/// The answer of [`Bureau::health`]: `ok` or `unavailable` per part.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Health {
    pub database: &'static str,
    pub blobs: &'static str,
}

impl Health {
    pub fn ok(&self) -> bool {
        self.database == "ok" && self.blobs == "ok"
    }
}

impl Bureau {
    /// Creates the data folder's files if absent: config, key, database, blob
    /// folders; the folder is the bureau account's alone (0700, files 0600).
    pub fn init(data: &Path) -> Result<()> {
        std::fs::create_dir_all(data).map_err(crate::error::StorageError::io(data.display()))?;
        lock::restrict(data, true)?;
        let paths = DataPaths::new(data);
        if !paths.config().exists() {
            std::fs::write(paths.config(), Config::default_file_text())
                .map_err(crate::error::StorageError::io(paths.config().display()))?;
            lock::restrict(&paths.config(), false)?;
        }
        secrets::load_or_create_key(&paths.key())?;
        SqliteStorage::open(&paths.database())?;
        lock::restrict(&paths.database(), false)?;
        LocalBlobStore::open(&paths.blobs(), &paths.uploads(), false)?;
        Ok(())
    }

    /// Opens an initialised data folder to serve it: takes the folder's lock (a
    /// second server is refused), clears what a crash left in its temp folders.
    pub fn open(data: &Path, config: Config) -> Result<Bureau> {
        let lock = DataLock::acquire(data, Duration::from_secs(10))?;
        Self::open_with(data, config, Some(lock))
    }

    /// Opens a data folder for a command run beside a live server: no lock, and
    /// nothing the server owns (its temp files) is touched.
    pub fn open_beside(data: &Path, config: Config) -> Result<Bureau> {
        Self::open_with(data, config, None)
    }

    fn open_with(data: &Path, config: Config, lock: Option<DataLock>) -> Result<Bureau> {
        let paths = DataPaths::new(data);
        if config.database_url.is_none() && !paths.database().exists() {
            return Err(BureauError::invalid(
                fieldlead_domain::ErrorCode::NotInitialised,
                format!(
                    "{} 不是已初始化的数据目录，请先运行 fieldlead-bureau init --data {}",
                    data.display(),
                    data.display()
                ),
            ));
        }
        lock::check_private(&paths.key())?;
        let key = secrets::load_or_create_key(&paths.key())?;
        let storage = crate::storage::open(config.database_url.as_deref(), data)?;
        let ours = key.public_key();
        let recorded = storage.pin_signing_key(&ours.to_hex())?;
        if recorded != ours.to_hex() {
            let recorded = recorded
                .parse::<PublicKey>()
                .map(|k| k.fingerprint().to_string())
                .unwrap_or(recorded);
            return Err(crate::error::StorageError::SigningKeyMismatch {
                ours: ours.fingerprint().to_string(),
                recorded,
            }
            .into());
        }
        let owner = lock.is_some();
        if owner {
            lock::restrict(data, true)?;
            lock::restrict(&paths.database(), false)?;
        }
        let blobs = crate::blobs::open(&config, &paths, owner)?;
        let calendar = paths.load_calendar().map_err(|message| {
            BureauError::invalid(fieldlead_domain::ErrorCode::CalendarFormat, message)
        })?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Bureau {
            calendar,
            storage,
            blobs,
            key,
            paths,
            device_limiter: RateLimiter::new(config.device_rate_per_sec, config.device_burst),
            // Enrolment codes are guessable only by brute force: a handful a minute
            // from one address, and a bound on all addresses together.
            enrol_limiter: SharedLimiter::new("enrol-address", 0.2, 10),
            enrol_global: RateLimiter::new(1.0, 30),
            login_throttle: LoginThrottle::new(
                config.login_failures_per_15min,
                Duration::from_secs(config.login_max_delay_secs),
                Duration::from_secs(900),
            ),
            login_by_address: SharedLimiter::new(
                "login-address",
                f64::from(config.login_failures_per_address_per_hour) / 3600.0,
                config.login_failures_per_address_per_hour,
            ),
            login_global: RateLimiter::new(10.0, 30),
            password_slots: Arc::new(tokio::sync::Semaphore::new(cores)),
            export_slots: Arc::new(tokio::sync::Semaphore::new(1)),
            instance: format!("{}-{}", std::process::id(), &secrets::new_token()[..12]),
            overdue_cache: Mutex::new(Default::default()),
            config,
            uploads: Mutex::new(HashSet::new()),
            revoked: Mutex::new(HashSet::new()),
            analysis: Mutex::new(None),
            analysis_bytes: Arc::default(),
            _lock: lock,
        })
    }

    /// Where this bureau keeps its files.
    pub fn paths(&self) -> &DataPaths {
        &self.paths
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The working-day calendar deadlines are counted with.
    pub fn calendar(&self) -> &fieldlead_domain::calendar::Calendar {
        &self.calendar
    }

    /// What a load balancer asks before it sends this instance requests: does
    /// its database answer, and its blob store? Each failure is logged with its
    /// cause and named (not explained) in the answer.
    pub fn health(&self) -> Health {
        let check =
            |part: &'static str, r: std::result::Result<(), crate::error::StorageError>| match r {
                Ok(()) => "ok",
                Err(e) => {
                    tracing::warn!(part, error = %e, "health check failed");
                    "unavailable"
                }
            };
        Health {
            database: check("database", self.storage.ping()),
            blobs: check("blobs", self.blobs.ping()),
        }
    }

    /// Applies a shared limit's rule to its counter: refused with the seconds to
    /// wait, or let through.
    fn shared_limit(&self, key: &str, rule: crate::storage::CounterRule) -> Result<()> {
        match self.storage.update_counter(key, rule)? {
            Some(retry_after_secs) => Err(BureauError::RateLimited { retry_after_secs }),
            None => Ok(()),
        }
    }

    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    pub fn blob_store(&self) -> &dyn BlobStore {
        self.blobs.as_ref()
    }

    pub fn storage(&self) -> &dyn Storage {
        self.storage.as_ref()
    }
}

/// The name a device's partial uploads are kept under.
pub(crate) fn uploader(device: DeviceId) -> String {
    device.to_string()
}
