//! The bureau's use-cases: enrolment, receiving leads and blobs, receipts, the
//! tablet's status, and everything the console does, each checked against the
//! caller's role and district. HTTP handlers and CLI commands only call these.

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use fieldlead_domain::canonical_json;
use fieldlead_domain::money::Fen;
use fieldlead_domain::text::FieldProblem;
use fieldlead_domain::{
    manifest_blobs, verify_lead, BlobStatus, Decision, DeviceId, DistrictInfo, EnrolmentCode,
    EnrolmentInvite, EnrolmentRequest, EnrolmentResponse, LeadId, LeadState, LeadStatus,
    LeadUpload, PublicKey, PutLeadResponse, Receipt, ReceiptBody, Sha256, SigningKey,
    RECEIPT_FORMAT,
};
use serde::{Deserialize, Serialize};

use crate::blobs::{BlobStore, LocalBlobStore};
use crate::config::{Config, DataPaths};
use crate::error::{BureauError, Result};
use crate::lock::{self, DataLock};
use crate::ratelimit::{LoginThrottle, RateLimiter};
use crate::secrets;
use crate::storage::{
    AuditEntry, BlobHolder, Device, District, EnrolOutcome, Handling, LeadFilter, LeadInsert,
    LeadRow, LeadSummary, NewDevice, NewLead, NewUser, Review, ReviewState, Role, SqliteStorage,
    Storage, User,
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

/// What the background analysis learnt from a received blob's bytes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlobAnalysis {
    pub format: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub exif: fieldlead_evidence::ExifSummary,
    pub phash: Option<String>,
    pub thumbnail: Option<Sha256>,
    /// Set when the bytes are not a usable image: `{code, message}`.
    pub error: Option<(String, String)>,
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
    /// Uploads running in this process, by uploader and hash.
    uploads: Mutex<HashSet<(String, Sha256)>>,
    /// Devices revoked while this process runs: their uploads in flight stop.
    revoked: Mutex<HashSet<DeviceId>>,
    device_limiter: RateLimiter<DeviceId>,
    enrol_limiter: RateLimiter<IpAddr>,
    /// All enrolment attempts together, whatever address they claim to come from.
    enrol_global: RateLimiter<()>,
    login_throttle: LoginThrottle,
    login_by_address: RateLimiter<IpAddr>,
    login_global: RateLimiter<()>,
    /// Argon2 hashes running at once (each takes ~19 MiB and a core for ~50 ms).
    password_slots: Arc<tokio::sync::Semaphore>,
    /// List exports built at once (each lays out the whole list in memory).
    export_slots: Arc<tokio::sync::Semaphore>,
    analysis: Mutex<Option<tokio::sync::mpsc::UnboundedSender<Sha256>>>,
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

/// A console text field by the domain's text rules, as a bureau error.
pub(crate) fn check_text(
    field: &'static str,
    label: &str,
    value: &str,
    max: usize,
    required: bool,
) -> Result<Option<String>> {
    fieldlead_domain::text::check_text(field, label, value, max, required)
        .map_err(BureauError::Field)
}

/// An optional amount in 万元 from a console form, in fen.
pub(crate) fn parse_wan(field: &'static str, input: &str) -> Result<Option<i64>> {
    Fen::parse_wan_opt(input)
        .map(|f| f.map(Fen::get))
        .map_err(|e| BureauError::Field(FieldProblem::new(field, e.code(), e.to_string())))
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
                "not_initialised",
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
        let owner = lock.is_some();
        if owner {
            lock::restrict(data, true)?;
            lock::restrict(&paths.database(), false)?;
        }
        let blobs: Arc<dyn BlobStore> = Arc::new(LocalBlobStore::open(
            &paths.blobs(),
            &paths.uploads(),
            owner,
        )?);
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Bureau {
            storage,
            blobs,
            key,
            paths,
            device_limiter: RateLimiter::new(config.device_rate_per_sec, config.device_burst),
            // Enrolment codes are guessable only by brute force: a handful a minute
            // from one address, and a bound on all addresses together.
            enrol_limiter: RateLimiter::new(0.2, 10),
            enrol_global: RateLimiter::new(1.0, 30),
            login_throttle: LoginThrottle::new(
                config.login_failures_per_15min,
                Duration::from_secs(config.login_max_delay_secs),
                Duration::from_secs(900),
            ),
            login_by_address: RateLimiter::new(
                f64::from(config.login_failures_per_address_per_hour) / 3600.0,
                config.login_failures_per_address_per_hour,
            ),
            login_global: RateLimiter::new(10.0, 30),
            password_slots: Arc::new(tokio::sync::Semaphore::new(cores)),
            export_slots: Arc::new(tokio::sync::Semaphore::new(1)),
            config,
            uploads: Mutex::new(HashSet::new()),
            revoked: Mutex::new(HashSet::new()),
            analysis: Mutex::new(None),
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

    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    pub fn storage(&self) -> &dyn Storage {
        self.storage.as_ref()
    }

    // ------------------------------------------------------------------
    // Administration (CLI)

    pub fn create_district(&self, code: &str, name: &str, actor: &Actor) -> Result<District> {
        let code = code.trim();
        if code.is_empty()
            || code.len() > 40
            || !code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(BureauError::invalid(
                "district_code",
                "区县代码只能用小写字母、数字和连字符，例如 yuzhong",
            ));
        }
        let name = check_text("district_name", "区县局名称", name, 100, true)?.unwrap_or_default();
        if self.storage.district_by_code(code)?.is_some() {
            return Err(BureauError::invalid(
                "district_exists",
                format!("区县 {code} 已存在"),
            ));
        }
        Ok(self.storage.create_district(
            code,
            &name,
            audit(
                actor,
                None,
                "district_created",
                format!("district:{code}"),
                None,
                Some(serde_json::json!({"code": code, "name": name})),
            ),
        )?)
    }

    pub fn district(&self, code: &str) -> Result<District> {
        self.storage
            .district_by_code(code)?
            .ok_or(BureauError::NotFound { what: "区县" })
    }

    pub fn add_user(
        &self,
        username: &str,
        display_name: &str,
        role: Role,
        district_code: Option<&str>,
        password: &str,
        actor: &Actor,
    ) -> Result<User> {
        let username = username.trim();
        if username.is_empty()
            || username.len() > 64
            || !username
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err(BureauError::invalid(
                "username",
                "用户名只能用字母、数字和 . _ -，最多 64 位",
            ));
        }
        let display =
            check_text("display_name", "姓名", display_name, 50, true)?.unwrap_or_default();
        if password.chars().count() < 10 {
            return Err(BureauError::invalid("password_short", "密码至少 10 位"));
        }
        let district = match (role, district_code) {
            (Role::CityAdmin, None) => None,
            (Role::CityAdmin, Some(_)) => {
                return Err(BureauError::invalid(
                    "district_for_city_admin",
                    "市局管理员不属于任何区县，请不要指定区县",
                ))
            }
            (_, Some(code)) => Some(self.district(code)?),
            (_, None) => {
                return Err(BureauError::invalid(
                    "district_required",
                    "区局办案人员和证据审核员必须指定区县",
                ))
            }
        };
        let user = NewUser {
            username: username.to_string(),
            display_name: display.clone(),
            role,
            district_id: district.as_ref().map(|d| d.id),
            password_hash: secrets::hash_password(password)?,
        };
        self.storage
            .add_user(
                user,
                audit(
                    actor,
                    district.as_ref().map(|d| d.id),
                    "user_added",
                    format!("user:{username}"),
                    None,
                    Some(serde_json::json!({"display_name": display, "role": role.as_str()})),
                ),
            )?
            .ok_or_else(|| {
                BureauError::invalid("username_taken", format!("用户名 {username} 已存在"))
            })
    }

    pub fn set_password(&self, username: &str, password: &str, actor: &Actor) -> Result<()> {
        if password.chars().count() < 10 {
            return Err(BureauError::invalid("password_short", "密码至少 10 位"));
        }
        let hash = secrets::hash_password(password)?;
        let changed = self.storage.set_password(
            username,
            &hash,
            audit(
                actor,
                None,
                "password_set",
                format!("user:{username}"),
                None,
                None,
            ),
        )?;
        if !changed {
            return Err(BureauError::NotFound { what: "用户" });
        }
        Ok(())
    }

    /// Issues a one-time enrolment code for a district.
    pub fn issue_enrolment_code(&self, district: &District, actor: &Actor) -> Result<IssuedCode> {
        let code = EnrolmentCode::from_random(&secrets::random_bytes::<24>());
        let expires_at =
            now() + chrono::Duration::hours(i64::from(self.config.enrolment_code_hours));
        self.storage.create_enrolment_code(
            &secrets::token_hash(code.as_str()),
            district.id,
            expires_at,
            audit(
                actor,
                Some(district.id),
                "enrolment_code_issued",
                format!("district:{}", district.code),
                None,
                Some(serde_json::json!({"expires_at": expires_at})),
            ),
        )?;
        Ok(IssuedCode {
            // The fingerprint lets the tablet check that the key it is answered
            // with is this bureau's.
            invite: EnrolmentInvite::new(
                &self.config.public_url(),
                code.clone(),
                &district.name,
                self.key.public_key().fingerprint(),
            ),
            code,
            district: district.clone(),
            expires_at,
        })
    }

    // ------------------------------------------------------------------
    // Devices (API)

    pub fn enrol(&self, request: &EnrolmentRequest, from: IpAddr) -> Result<EnrolmentResponse> {
        let limited = |retry_after_secs| BureauError::RateLimited { retry_after_secs };
        self.enrol_limiter.check(&from).map_err(limited)?;
        self.enrol_global.check(&()).map_err(limited)?;
        request.validate()?;
        let token = secrets::new_token();
        let device = NewDevice {
            id: DeviceId::new(),
            public_key: request.public_key,
            token_hash: secrets::token_hash(&token),
            label: request.label.trim().to_string(),
        };
        let code_hash = secrets::token_hash(request.code.as_str());
        match self.storage.enrol_device(&code_hash, device, now())? {
            EnrolOutcome::Enrolled(d) => {
                // The printed QR code has done its job: it should not lie around.
                let _ = std::fs::remove_file(self.paths.enrolment_png(&code_hash));
                // A revoked tablet that came back with a fresh code uploads again.
                if let Ok(mut set) = self.revoked.lock() {
                    set.remove(&d.id);
                }
                Ok(EnrolmentResponse {
                device_id: d.id,
                token,
                district: DistrictInfo {
                    code: d.district.code,
                    name: d.district.name,
                },
                bureau_key: self.key.public_key(),
                server_time: now(),
            })
            }
            EnrolOutcome::BadCode => Err(BureauError::EnrolmentCode),
            EnrolOutcome::KeyTaken => Err(BureauError::KeyTaken),
            EnrolOutcome::OtherDistrict => Err(BureauError::invalid(
                "device_other_district",
                "该设备原属其他区县，不能用本区县的注册码恢复；如确需调往本区县，请在设备上清除注册并生成新密钥后再注册",
            )),
        }
    }

    /// The device behind a bearer token, within its rate limit.
    pub fn authenticate_device(&self, token: &str) -> Result<Device> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(BureauError::BadToken);
        }
        let device = self
            .storage
            .device_by_token(&secrets::token_hash(token))?
            .ok_or(BureauError::BadToken)?;
        if device.revoked_at.is_some() {
            return Err(BureauError::DeviceRevoked);
        }
        self.device_limiter
            .check(&device.id)
            .map_err(|retry_after_secs| BureauError::RateLimited { retry_after_secs })?;
        Ok(device)
    }

    /// `PUT /api/v1/leads/{id}`: verifies and stores a sealed lead. Returns whether
    /// it was new.
    pub fn submit_lead(
        &self,
        device: &Device,
        path_id: LeadId,
        body: &[u8],
    ) -> Result<(bool, PutLeadResponse)> {
        let upload: LeadUpload = fieldlead_domain::parse_strict(body).map_err(|e| match e {
            fieldlead_domain::StrictJsonError::Syntax(_) => BureauError::Malformed(e.to_string()),
            other => BureauError::invalid(other.code(), format!("清单{other}")),
        })?;
        let m = &upload.manifest.manifest;
        if m.lead_id != path_id {
            return Err(BureauError::invalid(
                "path_lead_id_mismatch",
                "地址中的线索编号与清单中的编号不一致",
            ));
        }
        if m.device_key != device.public_key {
            return Err(BureauError::invalid(
                "device_key_mismatch",
                "清单不是由本设备的密钥签名的",
            ));
        }
        // A retry is answered from what is stored, before any signature work: a
        // tablet resending the same lead costs a lookup, not a verification.
        if let Some(row) = self.storage.lead(path_id)? {
            if parse_upload(&row)? != upload {
                return Err(BureauError::LeadConflict);
            }
            return self.lead_answer(&row, false);
        }
        let since = now() - chrono::Duration::hours(24);
        if self.storage.device_leads_since(device.id, since)?
            >= u64::from(self.config.device_leads_per_day)
        {
            return Err(BureauError::Quota(format!(
                "本设备 24 小时内已报送 {} 条线索，达到上限；如确有需要请联系区县局调整",
                self.config.device_leads_per_day
            )));
        }
        verify_lead(&upload.manifest, &upload.log)?;
        let blobs = manifest_blobs(m)?;
        if let Some(b) = blobs
            .iter()
            .find(|b| b.bytes == 0 || b.bytes > self.config.max_blob_bytes)
        {
            return Err(BureauError::invalid(
                "blob_size",
                format!(
                    "文件 {} 的大小 {} 字节不在允许范围（1 至 {} 字节）",
                    b.sha256.short(),
                    b.bytes,
                    self.config.max_blob_bytes
                ),
            ));
        }
        let now = now();
        let insert = self.storage.insert_lead(
            NewLead {
                id: m.lead_id,
                district_id: device.district.id,
                device_id: device.id,
                manifest_hash: upload.manifest.manifest_hash,
                // The canonical form of what was verified: one spelling of the signed
                // content, whatever whitespace or key order the tablet sent.
                upload_json: String::from_utf8(
                    canonical_json(&upload).map_err(|e| BureauError::Internal(e.to_string()))?,
                )
                .map_err(|e| BureauError::Internal(e.to_string()))?,
                business_name: m.record.business.name.clone(),
                product_name: m.record.product.name.clone(),
                sealed_at: m.sealed_at.with_timezone(&Utc),
                received_at: now,
                blobs: blobs.clone(),
            },
            audit(
                &Actor::Device(device.id),
                Some(device.district.id),
                "lead_received",
                format!("lead:{}", m.lead_id),
                None,
                Some(serde_json::json!({
                    "manifest_hash": upload.manifest.manifest_hash,
                    "blobs": blobs.len(),
                })),
            ),
        )?;
        if insert == LeadInsert::Conflict {
            return Err(BureauError::LeadConflict);
        }
        // Blobs this district already holds (shared with an earlier lead of its own)
        // may all be here already.
        if self.storage.lead_blobs(path_id)?.iter().all(|b| b.present) {
            self.issue_receipt(path_id)?;
        }
        let row = self.load_lead(path_id)?;
        self.lead_answer(&row, insert == LeadInsert::Created)
    }

    /// The answer to `PUT /api/v1/leads/{id}` for a stored lead.
    fn lead_answer(&self, row: &LeadRow, created: bool) -> Result<(bool, PutLeadResponse)> {
        let upload = parse_upload(row)?;
        let blobs = manifest_blobs(&upload.manifest.manifest)?;
        let missing: Vec<Sha256> = self
            .storage
            .lead_blobs(row.id)?
            .into_iter()
            .filter(|b| !b.present)
            .map(|b| b.sha256)
            .collect();
        Ok((
            created,
            PutLeadResponse {
                lead_id: row.id,
                manifest_hash: row.manifest_hash,
                received_at: row.received_at,
                missing_blobs: blobs
                    .into_iter()
                    .filter(|b| missing.contains(&b.sha256))
                    .collect(),
                receipt: receipt_of(row)?,
            },
        ))
    }

    fn load_lead(&self, id: LeadId) -> Result<LeadRow> {
        self.storage
            .lead(id)?
            .ok_or(BureauError::NotFound { what: "线索" })
    }

    /// Signs and stores the receipt of a lead whose every blob is present.
    fn issue_receipt(&self, id: LeadId) -> Result<()> {
        let row = self.load_lead(id)?;
        if row.receipt_json.is_some() {
            return Ok(());
        }
        let blobs = self.storage.lead_blobs(id)?;
        if blobs.iter().any(|b| !b.present) {
            return Ok(());
        }
        let body = ReceiptBody {
            format: RECEIPT_FORMAT,
            lead_id: id,
            device_id: row.device_id,
            district: row.district.code.clone(),
            manifest_hash: row.manifest_hash,
            blobs: blobs.iter().map(|b| b.sha256).collect(),
            received_at: row.received_at,
            completed_at: now(),
        };
        let receipt =
            Receipt::sign(body, &self.key).map_err(|e| BureauError::Internal(e.to_string()))?;
        let json =
            serde_json::to_string(&receipt).map_err(|e| BureauError::Internal(e.to_string()))?;
        self.storage.complete_lead(
            id,
            &json,
            AuditEntry {
                at: receipt.receipt.completed_at,
                ..audit(
                    &Actor::Device(row.device_id),
                    Some(row.district.id),
                    "lead_delivered",
                    format!("lead:{id}"),
                    Some(serde_json::json!({"state": "sealed"})),
                    Some(serde_json::json!({"state": "delivered", "receipt_signature": receipt.signature})),
                )
            },
        )?;
        Ok(())
    }

    /// The size the device's district expects for a blob, or 404.
    pub fn expected_blob(&self, device: &Device, sha256: Sha256) -> Result<u64> {
        self.storage
            .expected_blob(sha256, device.district.id)?
            .ok_or(BureauError::NotFound {
                what: "该文件（不属于本区县任何已提交的线索）",
            })
    }

    pub fn blob_status(&self, device: &Device, sha256: Sha256) -> Result<BlobStatus> {
        let bytes = self.expected_blob(device, sha256)?;
        let complete = self.storage.district_holds(device.district.id, sha256)?;
        Ok(BlobStatus {
            sha256,
            bytes,
            offset: if complete {
                bytes
            } else {
                self.blobs
                    .partial_len(&uploader(device.id), &sha256)?
                    .min(bytes)
            },
            complete,
            completed_leads: Vec::new(),
        })
    }

    pub(crate) fn claim_upload(&self, uploader: &str, sha256: Sha256) -> Result<UploadSlot<'_>> {
        let mut set = self
            .uploads
            .lock()
            .map_err(|_| BureauError::Internal("upload registry poisoned".into()))?;
        let key = (uploader.to_string(), sha256);
        if !set.insert(key.clone()) {
            return Err(BureauError::UploadInProgress);
        }
        Ok(UploadSlot { bureau: self, key })
    }

    /// Whether a device was revoked while this process runs (checked between the
    /// chunks of an upload; the database is asked again before the upload counts).
    pub(crate) fn revoked_here(&self, id: DeviceId) -> bool {
        self.revoked
            .lock()
            .map(|s| s.contains(&id))
            .unwrap_or(false)
    }

    /// After `holder`'s district proved it holds a blob: record it, issue the
    /// receipts it completes, queue its analysis.
    pub fn blob_stored(
        &self,
        sha256: Sha256,
        bytes: u64,
        holder: BlobHolder,
    ) -> Result<Vec<LeadId>> {
        let completed = self.storage.blob_stored(sha256, bytes, holder, now())?;
        for id in &completed {
            self.issue_receipt(*id)?;
        }
        self.queue_analysis(sha256);
        Ok(completed)
    }

    /// Deletes partial uploads abandoned longer than the configured age.
    pub fn sweep_partials(&self) -> Result<usize> {
        let age = Duration::from_secs(u64::from(self.config.partial_upload_max_age_hours) * 3600);
        Ok(self.blobs.sweep_partials(age)?)
    }

    pub fn lead_status(&self, device: &Device, id: LeadId) -> Result<LeadStatus> {
        let row = self.load_lead(id)?;
        // Another device's lead is not this device's business: same answer as absent.
        if row.device_id != device.id {
            return Err(BureauError::NotFound { what: "线索" });
        }
        let upload = parse_upload(&row)?;
        let blobs = manifest_blobs(&upload.manifest.manifest)?;
        let present = self.storage.lead_blobs(id)?;
        Ok(LeadStatus {
            lead_id: id,
            manifest_hash: row.manifest_hash,
            state: row.handling.state,
            state_label: row.handling.state.label_zh().to_string(),
            received_at: row.received_at,
            missing_blobs: blobs
                .into_iter()
                .filter(|b| present.iter().any(|p| p.sha256 == b.sha256 && !p.present))
                .collect(),
            receipt: receipt_of(&row)?,
            acknowledged_at: row.handling.acknowledged_at,
            decision: row.handling.decision,
            decided_at: row.handling.decided_at,
            decline_reason: row.handling.decline_reason.clone(),
            reported_to_city_on: row.handling.reported_to_city_on,
            updated_at: row.updated_at,
        })
    }

    /// [`Bureau::lead_status`] signed with the bureau key, as the API answers it:
    /// the tablet shows nothing of a status it cannot verify.
    pub fn signed_lead_status(
        &self,
        device: &Device,
        id: LeadId,
    ) -> Result<fieldlead_domain::SignedLeadStatus> {
        let status = self.lead_status(device, id)?;
        fieldlead_domain::SignedLeadStatus::sign(status, &self.key)
            .map_err(|e| BureauError::Internal(e.to_string()))
    }

    // ------------------------------------------------------------------
    // Analysis of received photos (EXIF, perceptual hash, thumbnail)

    /// Starts the background analysis worker and queues every blob not yet
    /// analysed. The worker holds the bureau: abort it to let the bureau go.
    pub fn start_analysis(self: &Arc<Self>) -> Result<tokio::task::JoinHandle<()>> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Sha256>();
        for sha in self.storage.unanalysed_blobs()? {
            let _ = tx.send(sha);
        }
        *self
            .analysis
            .lock()
            .map_err(|_| BureauError::Internal("analysis queue poisoned".into()))? = Some(tx);
        let bureau = Arc::clone(self);
        Ok(tokio::spawn(async move {
            while let Some(sha) = rx.recv().await {
                let b = Arc::clone(&bureau);
                let result = tokio::task::spawn_blocking(move || b.analyse(sha)).await;
                if let Ok(Err(e)) = result {
                    tracing::warn!(%sha, error = %e, "blob analysis failed");
                }
            }
        }))
    }

    fn queue_analysis(&self, sha256: Sha256) {
        if let Ok(guard) = self.analysis.lock() {
            if let Some(tx) = guard.as_ref() {
                let _ = tx.send(sha256);
            }
        }
    }

    /// Decodes one held blob and stores what it says. Runs on a blocking thread.
    pub fn analyse(&self, sha256: Sha256) -> Result<()> {
        let analysis = match self.blobs.analyse(&sha256) {
            Ok(a) => BlobAnalysis {
                format: Some(a.inspection.format.to_string()),
                width: a.inspection.width,
                height: a.inspection.height,
                exif: a.inspection.exif,
                phash: a.inspection.phash.map(|p| format!("{p:016x}")),
                thumbnail: a.thumbnail,
                error: None,
            },
            Err(e) => BlobAnalysis {
                error: Some((e.code().to_string(), e.to_string())),
                ..BlobAnalysis::default()
            },
        };
        let phash = analysis
            .phash
            .as_deref()
            .and_then(|p| u64::from_str_radix(p, 16).ok());
        let json =
            serde_json::to_string(&analysis).map_err(|e| BureauError::Internal(e.to_string()))?;
        self.storage
            .set_blob_analysis(sha256, &json, phash, now())?;
        Ok(())
    }

    // ------------------------------------------------------------------
    // Console: sessions

    /// Waits (briefly) for a free password-hashing slot: Argon2 takes a core and
    /// ~19 MiB for each check, so only as many run at once as there are cores.
    pub async fn password_slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit> {
        let slots = Arc::clone(&self.password_slots);
        match tokio::time::timeout(Duration::from_secs(10), slots.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(BureauError::Busy),
        }
    }

    /// A slot to build a list export in, or 503 while another is being built.
    pub fn export_slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.export_slots)
            .try_acquire_owned()
            .map_err(|_| BureauError::Busy)
    }

    /// Checks a password; returns the session token and its CSRF token. Call it
    /// holding a [`password_slot`](Self::password_slot).
    pub fn login(
        &self,
        username: &str,
        password: &str,
        from: IpAddr,
    ) -> Result<(String, String, User)> {
        let limited = |retry_after_secs| BureauError::RateLimited { retry_after_secs };
        let username = username.trim();
        // Names are at most 64 characters (see add_user): anything longer is no
        // account, refused before any lookup, hashing or logging.
        if username.is_empty() || username.chars().count() > 64 || password.len() > 1024 {
            return Err(BureauError::BadCredentials);
        }
        self.login_global.check(&()).map_err(limited)?;
        self.login_by_address.peek(&from).map_err(limited)?;
        let found = self.storage.user_credentials(username)?;
        if let Some((user, _)) = &found {
            self.login_throttle.begin(user.id).map_err(limited)?;
        }
        // Hash even for an unknown name, so timing does not tell which names exist.
        let ok = match &found {
            Some((_, hash)) => secrets::verify_password(password, hash),
            None => {
                let _ = secrets::verify_password(password, dummy_hash());
                false
            }
        };
        if let Some((user, _)) = &found {
            self.login_throttle.finish(user.id, ok);
        }
        let Some((user, _)) = found.filter(|_| ok) else {
            // Counts against the address; the bucket refills over the hour.
            let _ = self.login_by_address.check(&from);
            // Only an existing account's name goes into the append-only log: a
            // stranger's typing (any length, any text) never does.
            let (subject, district) = match self.storage.user_credentials(username)? {
                Some((u, _)) => (format!("user:{}", u.username), u.district.map(|d| d.id)),
                None => ("user:?".to_string(), None),
            };
            self.storage.record_audit(audit(
                &Actor::Anonymous(from),
                district,
                "login_failed",
                subject,
                None,
                None,
            ))?;
            return Err(BureauError::BadCredentials);
        };
        let token = secrets::new_token();
        let csrf = secrets::new_token();
        let now = now();
        self.storage.create_session(
            &secrets::token_hash(&token),
            user.id,
            &csrf,
            now,
            now + chrono::Duration::hours(i64::from(self.config.session_hours)),
        )?;
        self.storage.record_audit(audit(
            &Actor::User(user.username.clone()),
            user.district.as_ref().map(|d| d.id),
            "login",
            format!("user:{}", user.username),
            None,
            None,
        ))?;
        Ok((token, csrf, user))
    }

    /// The user and CSRF token of a live session.
    pub fn session(&self, token: &str) -> Result<(User, String)> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(BureauError::Unauthenticated);
        }
        self.storage
            .session(&secrets::token_hash(token), now())?
            .ok_or(BureauError::Unauthenticated)
    }

    pub fn logout(&self, token: &str) -> Result<()> {
        Ok(self.storage.delete_session(&secrets::token_hash(token))?)
    }

    // ------------------------------------------------------------------
    // Console: reading

    pub fn leads_for(&self, user: &User, filter: &LeadFilter) -> Result<Vec<LeadSummary>> {
        Ok(self.storage.leads(user.scope(), filter)?)
    }

    pub fn overdue_for(&self, user: &User) -> Result<Vec<LeadSummary>> {
        let before = now() - chrono::Duration::hours(i64::from(self.config.overdue_hours));
        self.leads_for(
            user,
            &LeadFilter {
                overdue_before: Some(before),
                ..LeadFilter::default()
            },
        )
    }

    /// A lead the user may see, or 404 (never 403: other districts' ids stay unknown).
    pub fn lead_for(&self, user: &User, id: LeadId) -> Result<LeadRow> {
        let row = self.load_lead(id)?;
        if !user.scope().allows(row.district.id) {
            return Err(BureauError::NotFound { what: "线索" });
        }
        Ok(row)
    }

    pub fn devices_for(&self, user: &User) -> Result<Vec<Device>> {
        if user.role == Role::Reviewer {
            return Err(BureauError::Forbidden);
        }
        Ok(self.storage.devices(user.scope())?)
    }

    // ------------------------------------------------------------------
    // Console: changes

    pub fn revoke_device(&self, user: Option<&User>, id: DeviceId) -> Result<Device> {
        let device = self
            .storage
            .device(id)?
            .ok_or(BureauError::NotFound { what: "设备" })?;
        let actor = match user {
            Some(u) => {
                if u.role == Role::Reviewer {
                    return Err(BureauError::Forbidden);
                }
                if !u.scope().allows(device.district.id) {
                    return Err(BureauError::NotFound { what: "设备" });
                }
                Actor::User(u.username.clone())
            }
            None => Actor::Cli,
        };
        let changed = self.storage.revoke_device(
            id,
            audit(
                &actor,
                Some(device.district.id),
                "device_revoked",
                format!("device:{id}"),
                Some(serde_json::json!({"revoked": false})),
                Some(serde_json::json!({"revoked": true})),
            ),
        )?;
        if !changed {
            return Err(BureauError::State("该设备已停用".into()));
        }
        if let Ok(mut set) = self.revoked.lock() {
            set.insert(id);
        }
        self.storage
            .device(id)?
            .ok_or(BureauError::NotFound { what: "设备" })
    }

    pub fn issue_code_for(&self, user: &User, district_code: Option<&str>) -> Result<IssuedCode> {
        let district = match (user.role, &user.district, district_code) {
            (Role::Officer, Some(d), _) => d.clone(),
            (Role::CityAdmin, _, Some(code)) => self.district(code)?,
            (Role::CityAdmin, _, None) => {
                return Err(BureauError::invalid("district_required", "请选择区县"))
            }
            _ => return Err(BureauError::Forbidden),
        };
        self.issue_enrolment_code(&district, &Actor::User(user.username.clone()))
    }

    pub fn review(&self, user: &User, id: LeadId, state: ReviewState, comment: &str) -> Result<()> {
        if user.role != Role::Reviewer {
            return Err(BureauError::Forbidden);
        }
        let row = self.lead_for(user, id)?;
        let comment = check_text(
            "comment",
            "审核意见",
            comment,
            2000,
            state != ReviewState::Approved,
        )?
        .unwrap_or_default();
        self.storage.add_review(
            id,
            Review {
                reviewer: user.username.clone(),
                state,
                comment: comment.clone(),
                at: now(),
            },
            audit(
                &Actor::User(user.username.clone()),
                Some(row.district.id),
                "lead_reviewed",
                format!("lead:{id}"),
                Some(serde_json::json!({"review_state": row.review_state})),
                Some(serde_json::json!({"review_state": state, "comment": comment})),
            ),
        )?;
        Ok(())
    }

    /// Applies one handling step for a district officer.
    pub fn handle(&self, user: &User, id: LeadId, step: HandlingStep) -> Result<Handling> {
        if user.role != Role::Officer {
            return Err(BureauError::Forbidden);
        }
        let row = self.lead_for(user, id)?;
        let before = row.handling.clone();
        let mut after = before.clone();
        let now = now();
        let who = Some(user.username.clone());
        let to = |next: LeadState| -> Result<LeadState> {
            if before.state.can_become(next) {
                Ok(next)
            } else {
                Err(BureauError::State(format!(
                    "线索当前为“{}”，不能变为“{}”",
                    before.state.label_zh(),
                    next.label_zh()
                )))
            }
        };
        let action = match step {
            HandlingStep::Acknowledge => {
                after.state = to(LeadState::Acknowledged)?;
                after.acknowledged_at = Some(now);
                after.acknowledged_by = who;
                "lead_acknowledged"
            }
            HandlingStep::FileCase { case_number } => {
                after.state = to(LeadState::CaseFiled)?;
                after.decision = Some(Decision::CaseFiled);
                after.decided_at = Some(now);
                after.decided_by = who;
                after.case_number =
                    check_text("case_number", "立案编号", &case_number, 100, false)?;
                "lead_case_filed"
            }
            HandlingStep::Decline { reason } => {
                after.state = to(LeadState::Declined)?;
                after.decision = Some(Decision::Declined);
                after.decided_at = Some(now);
                after.decided_by = who;
                after.decline_reason =
                    check_text("decline_reason", "不予立案理由", &reason, 1000, true)?;
                "lead_declined"
            }
            HandlingStep::Outcome {
                fine_wan,
                confiscation_wan,
                remark,
            } => {
                if before.decision != Some(Decision::CaseFiled)
                    || before.state == LeadState::ReportedToCity
                {
                    return Err(BureauError::State(
                        "只有已立案、尚未报市局的线索才能登记罚没金额".into(),
                    ));
                }
                after.fine_fen = parse_wan("fine_wan", &fine_wan)?;
                after.confiscation_fen = parse_wan("confiscation_wan", &confiscation_wan)?;
                after.remark = check_text("remark", "备注", &remark, 1000, false)?;
                "lead_outcome_recorded"
            }
            HandlingStep::ReportToCity { on } => {
                after.state = to(LeadState::ReportedToCity)?;
                let today = now
                    .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset"))
                    .date_naive();
                let decided = before.decided_at.map(|d| {
                    d.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset"))
                        .date_naive()
                });
                if on > today || decided.is_some_and(|d| on < d) {
                    return Err(BureauError::invalid(
                        "report_date",
                        "报市局日期不能晚于今天，也不能早于立案或不予立案的日期",
                    ));
                }
                after.reported_to_city_on = Some(on);
                "lead_reported_to_city"
            }
        };
        let changed = self.storage.update_handling(
            id,
            &before,
            &after,
            audit(
                &Actor::User(user.username.clone()),
                Some(row.district.id),
                action,
                format!("lead:{id}"),
                serde_json::to_value(&before).ok(),
                serde_json::to_value(&after).ok(),
            ),
        )?;
        if !changed {
            return Err(BureauError::Concurrent);
        }
        Ok(after)
    }

    pub fn audit_for(
        &self,
        user: &User,
        subject: Option<&str>,
    ) -> Result<Vec<crate::storage::AuditEvent>> {
        Ok(self.storage.audit_events(user.scope(), subject, 500)?)
    }

    /// A blob of a lead the user may see, once the lead's district proved it holds
    /// the bytes: evidence is served only through a lead, never across districts.
    /// Returns a reader, so a 200 MB original is streamed, never held in memory.
    pub fn blob_for(
        &self,
        user: &User,
        id: LeadId,
        sha256: Sha256,
    ) -> Result<(u64, Box<dyn std::io::Read + Send>)> {
        self.lead_for(user, id)?;
        let blob = self
            .storage
            .lead_blobs(id)?
            .into_iter()
            .find(|b| b.sha256 == sha256 && b.present)
            .ok_or(BureauError::NotFound { what: "文件" })?;
        Ok((blob.bytes, self.blobs.open(&sha256)?))
    }

    fn read_blob(&self, sha256: &Sha256) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut self.blobs.open(sha256)?, &mut out)
            .map_err(crate::error::StorageError::io(sha256))?;
        Ok(out)
    }

    /// The thumbnail of a lead's blob (small: read whole).
    pub fn thumbnail_for(&self, user: &User, id: LeadId, sha256: Sha256) -> Result<Vec<u8>> {
        self.lead_for(user, id)?;
        if !self
            .storage
            .lead_blobs(id)?
            .iter()
            .any(|b| b.sha256 == sha256 && b.present)
        {
            return Err(BureauError::NotFound { what: "文件" });
        }
        let analysis = self
            .storage
            .blob(sha256)?
            .and_then(|b| b.analysis_json)
            .and_then(|j| serde_json::from_str::<BlobAnalysis>(&j).ok());
        match analysis.and_then(|a| a.thumbnail) {
            Some(t) => self.read_blob(&t),
            None => Err(BureauError::NotFound { what: "缩略图" }),
        }
    }

    /// Re-hashes every held blob of a lead now and records the result: the lead
    /// page shows the last check instead of re-reading every photo on each view.
    pub fn reverify_blobs(&self, user: &User, id: LeadId) -> Result<usize> {
        let row = self.lead_for(user, id)?;
        let mut checked = 0;
        for b in self
            .storage
            .lead_blobs(id)?
            .into_iter()
            .filter(|b| b.present)
        {
            let intact = self.blobs.verify(&b.sha256)?;
            self.storage.set_blob_verified(
                b.sha256,
                intact,
                audit(
                    &Actor::User(user.username.clone()),
                    Some(row.district.id),
                    "blob_verified",
                    format!("lead:{id}"),
                    None,
                    Some(serde_json::json!({"sha256": b.sha256, "intact": intact})),
                ),
            )?;
            checked += 1;
        }
        Ok(checked)
    }
}

/// A real Argon2id hash of a random password, verified against for unknown user
/// names so both paths cost the same.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| secrets::hash_password(&secrets::new_token()).unwrap_or_default())
}

/// The name a device's partial uploads are kept under.
pub(crate) fn uploader(device: DeviceId) -> String {
    device.to_string()
}

/// One step of a district officer's handling of a lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandlingStep {
    Acknowledge,
    FileCase {
        case_number: String,
    },
    Decline {
        reason: String,
    },
    Outcome {
        fine_wan: String,
        confiscation_wan: String,
        remark: String,
    },
    ReportToCity {
        on: NaiveDate,
    },
}

pub(crate) fn parse_upload(row: &LeadRow) -> Result<LeadUpload> {
    serde_json::from_str(&row.upload_json)
        .map_err(|e| BureauError::Internal(format!("stored lead {} unreadable: {e}", row.id)))
}

fn receipt_of(row: &LeadRow) -> Result<Option<Receipt>> {
    row.receipt_json
        .as_deref()
        .map(|j| {
            serde_json::from_str(j)
                .map_err(|e| BureauError::Internal(format!("stored receipt unreadable: {e}")))
        })
        .transpose()
}
