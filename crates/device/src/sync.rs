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

use std::io::{Seek, SeekFrom};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use fieldlead_domain::{
    manifest_blobs, BlobKind, BlobRef, BlobStatus, DeviceId, EnrolmentCode, EnrolmentInvite,
    EnrolmentRequest, EnrolmentResponse, ErrorBody, KeyError, KeyFingerprint, LeadId, LeadState,
    LeadStatus, LeadUpload, PublicKey, PutLeadResponse, Receipt, ReceiptError, Sha256,
    SignedLeadStatus, SignedManifest, StatusError, UPLOAD_OFFSET_HEADER,
};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::bureau_url::{BureauUrl, BureauUrlError};
use crate::error::DeviceError;
use crate::Device;

/// A device clock further than this from the bureau's is flagged on the receipt.
pub const CLOCK_SKEW_FLAG_SECS: i64 = 300;
/// First retry delay; doubles per failed attempt up to [`BACKOFF_CAP_SECS`].
pub const BACKOFF_BASE_SECS: u64 = 2;
pub const BACKOFF_CAP_SECS: u64 = 600;
/// Size of each piece read from an evidence file into the request body.
const BODY_CHUNK: usize = 64 * 1024;
/// Requests other than blob bodies must finish within this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often progress is reported while a blob streams.
const PROGRESS_TICK: Duration = Duration::from_millis(200);
/// Largest body the tablet reads from the bureau, answer or refusal. The biggest
/// real one, a status with its receipt and missing-blob list, is a few kilobytes;
/// a larger body is an error, read no further, never a large allocation.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// What went wrong while enrolling or syncing. `code()` is stable for the UI; the
/// message says, in Chinese, what to do.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("本设备尚未向区局注册，请先扫描区局的注册二维码")]
    NotEnrolled,
    #[error(transparent)]
    BureauUrl(#[from] BureauUrlError),
    #[error("请填写注册码旁印的区局密钥指纹（32位十六进制）：没有它，本机无法确认回应的是区局")]
    FingerprintMissing,
    #[error(transparent)]
    Fingerprint(#[from] KeyError),
    #[error("服务器的密钥指纹是 {got}，与注册单上印的 {expected} 不符：回应的不是发放注册码的区局，注册未保存；请核对服务器地址，或向区局索取新的注册码")]
    BureauKeyMismatch {
        expected: KeyFingerprint,
        got: KeyFingerprint,
    },
    #[error("区局服务器的回应超过 {} KB，已停止读取；稍后将自动重试", MAX_ANSWER_BYTES / 1024)]
    AnswerTooLarge,
    #[error(transparent)]
    Status(#[from] StatusError),
    #[error("本设备已注册到 {0}，不能重复注册")]
    AlreadyEnrolled(String),
    #[error("无法连接区局服务器（{0}）；线索已保存在本机，联网后会自动报送")]
    Offline(String),
    #[error("区局服务器没有及时回应，稍后将自动重试")]
    Timeout,
    #[error("与区局服务器的连接中断（{0}），稍后将自动续传")]
    Network(String),
    #[error("本设备已被区局停用，请联系区局重新注册；线索仍保存在本机")]
    DeviceRevoked,
    #[error("该服务器不认识本设备（可能是其他区县的服务器，或注册已失效），请核对区局服务器地址或重新注册；未发送任何线索")]
    NotRecognised,
    #[error("区县不符：二维码上是“{expected}”，服务器回应的是“{got}”，未保存注册")]
    WrongDistrict { expected: String, got: String },
    #[error("回执来自“{got}”，不是本设备所属的“{expected}”，回执未保存")]
    ReceiptDistrict { expected: String, got: String },
    #[error("照片“{caption}”（{}）在封存后被改动，不能报送；请保留原始文件并联系区局", .sha256.short())]
    EvidenceAltered {
        lead_id: LeadId,
        sha256: Sha256,
        caption: String,
        kind: BlobKind,
    },
    #[error("照片“{caption}”（{}）在本机已缺失，不能报送", .sha256.short())]
    EvidenceMissing {
        lead_id: LeadId,
        sha256: Sha256,
        caption: String,
        kind: BlobKind,
    },
    #[error("区局回执无效，未保存：{0}")]
    Receipt(#[from] ReceiptError),
    #[error("区局拒收：{message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    #[error("请求过于频繁，{0} 秒后重试")]
    RateLimited(u64),
    #[error("区局服务器出错（{status}）：{message}；稍后将自动重试")]
    Server { status: u16, message: String },
    #[error("区局服务器的回应无法解析：{0}")]
    BadResponse(String),
    #[error("{0}")]
    Enrolment(String),
    #[error(transparent)]
    Device(#[from] DeviceError),
}

impl SyncError {
    pub fn code(&self) -> &str {
        match self {
            SyncError::NotEnrolled => "not_enrolled",
            SyncError::BureauUrl(e) => e.code(),
            SyncError::FingerprintMissing => "fingerprint_missing",
            SyncError::Fingerprint(e) => e.code(),
            SyncError::BureauKeyMismatch { .. } => "bureau_key_mismatch",
            SyncError::AnswerTooLarge => "answer_too_large",
            SyncError::Status(e) => e.code(),
            SyncError::AlreadyEnrolled(_) => "already_enrolled",
            SyncError::Offline(_) => "offline",
            SyncError::Timeout => "timeout",
            SyncError::Network(_) => "network",
            SyncError::DeviceRevoked => "device_revoked",
            SyncError::NotRecognised => "device_not_recognised",
            SyncError::WrongDistrict { .. } => "wrong_district",
            SyncError::ReceiptDistrict { .. } => "receipt_district",
            SyncError::EvidenceAltered { .. } => "evidence_altered",
            SyncError::EvidenceMissing { .. } => "evidence_missing",
            SyncError::Receipt(e) => e.code(),
            SyncError::Refused { code, .. } => code,
            SyncError::RateLimited(_) => "rate_limited",
            SyncError::Server { .. } => "server_error",
            SyncError::BadResponse(_) => "bad_response",
            SyncError::Enrolment(_) => "enrolment",
            SyncError::Device(e) => e.code(),
        }
    }

    /// Errors that end the whole sync round: nothing else can go through either.
    fn stops_round(&self) -> bool {
        matches!(
            self,
            SyncError::Offline(_)
                | SyncError::BureauUrl(_)
                | SyncError::DeviceRevoked
                | SyncError::NotRecognised
                | SyncError::NotEnrolled
                | SyncError::Device(_)
        )
    }

    /// Errors that retrying cannot fix for this lead: it is marked failed.
    fn is_final_for_lead(&self) -> bool {
        match self {
            SyncError::EvidenceAltered { .. }
            | SyncError::EvidenceMissing { .. }
            | SyncError::Receipt(_)
            | SyncError::ReceiptDistrict { .. } => true,
            // 422 (invalid manifest, bad blob) and 409 lead_conflict are answers, not accidents.
            SyncError::Refused { status, code, .. } => {
                (*status == 422 && code != "blob_hash_mismatch") || code == "lead_conflict"
            }
            _ => false,
        }
    }
}

/// This tablet's enrolment, as the app shows it (the token is not part of it).
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    pub bureau_url: String,
    pub device_id: DeviceId,
    pub district_code: String,
    pub district_name: String,
    /// The bureau's Ed25519 public key, hex: receipts and statuses are checked
    /// against it.
    pub bureau_key: String,
    /// Its fingerprint as printed on the bureau's invite (`3F2A-91C0-…`).
    pub bureau_key_fingerprint: String,
    pub enrolled_at: DateTime<Utc>,
    /// When the bureau first answered that this tablet is revoked. A fresh code
    /// may then replace this enrolment ([`Device::enrol`]).
    pub revoked_at: Option<DateTime<Utc>>,
}

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

impl OutboxState {
    pub(crate) fn parse(s: &str) -> Result<Self, DeviceError> {
        Ok(match s {
            "queued" => OutboxState::Queued,
            "manifest_sent" => OutboxState::ManifestSent,
            "delivered" => OutboxState::Delivered,
            "failed" => OutboxState::Failed,
            other => return Err(DeviceError::Corrupt(format!("outbox state {other}"))),
        })
    }
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

/// What the sync is doing for one lead.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncPhase {
    Manifest,
    Blobs,
    Receipt,
    Delivered,
    Failed,
}

/// A progress event: bytes the bureau has (or is receiving) of one lead's blobs.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    pub lead_id: LeadId,
    pub phase: SyncPhase,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes_sent: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes_total: u64,
}

/// A lead that did not get through in this round.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadFailure {
    pub lead_id: LeadId,
    pub code: String,
    pub message: String,
    /// The photo or signature image at fault, if one is.
    pub sha256: Option<Sha256>,
    /// True if the lead will not be retried (refused or altered).
    pub final_failure: bool,
}

/// The outcome of one sync round.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    pub delivered: Vec<LeadId>,
    pub failed: Vec<LeadFailure>,
    /// Leads skipped because their backoff has not expired.
    pub waiting: u32,
    /// Body bytes of blobs handed to the network in this round.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes_uploaded: u64,
    /// Largest device-minus-bureau clock difference seen, in seconds.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub clock_skew_secs: Option<i64>,
    pub clock_skew_flagged: bool,
}

/// What the tablet reads of `GET /api/v1/server` before it enrols.
#[derive(Deserialize)]
struct ServerKey {
    bureau_key: PublicKey,
}

/// The enrolment as stored, token included; never leaves this module.
struct Credentials {
    url: BureauUrl,
    token: String,
    district_code: String,
    bureau_key: PublicKey,
}

impl Device {
    // ------------------------------------------------------------------
    // Enrolment

    /// Enrols with the invite scanned from the bureau's QR code. The bureau's key
    /// must match the invite's fingerprint and the district it answers with must be
    /// the one printed on the invite; if not, or on any error, nothing is stored on
    /// the tablet.
    pub async fn enrol(
        &mut self,
        invite: &EnrolmentInvite,
        label: &str,
    ) -> Result<Enrolment, SyncError> {
        self.enrol_inner(
            &invite.server,
            invite.code.clone(),
            invite.bureau_key_fingerprint,
            label,
            Some(&invite.district),
        )
        .await
    }

    /// Enrols with the bureau's address, code and key fingerprint typed from paper.
    /// The fingerprint is required: it is what tells the bureau from a server at a
    /// mistyped address.
    pub async fn enrol_with_code(
        &mut self,
        bureau_url: &str,
        code: &str,
        fingerprint: &str,
        label: &str,
    ) -> Result<Enrolment, SyncError> {
        let code = EnrolmentCode::parse(code).map_err(|e| SyncError::Enrolment(e.to_string()))?;
        if fingerprint.trim().is_empty() {
            return Err(SyncError::FingerprintMissing);
        }
        let fingerprint = KeyFingerprint::parse(fingerprint)?;
        self.enrol_inner(bureau_url, code, fingerprint, label, None)
            .await
    }

    async fn enrol_inner(
        &mut self,
        bureau_url: &str,
        code: EnrolmentCode,
        fingerprint: KeyFingerprint,
        label: &str,
        expected_district: Option<&str>,
    ) -> Result<Enrolment, SyncError> {
        let replaces_revoked = match self.enrolment()? {
            Some(e) if e.revoked_at.is_none() => {
                return Err(SyncError::AlreadyEnrolled(e.district_name))
            }
            Some(_) => true,
            None => false,
        };
        // Before anything is sent: not even the code goes over plain http.
        let url = BureauUrl::parse(bureau_url, self.insecure_http)?;
        let request = EnrolmentRequest::new(code, label, &self.key);
        request
            .validate()
            .map_err(|e| SyncError::Enrolment(e.to_string()))?;
        let http = http_client()?;
        // Before the code and the key go anywhere: is this the bureau the invite
        // names? A mistyped address or fingerprint is refused here, and the
        // one-time code stays unused.
        let resp = http
            .get(format!("{url}/api/v1/server"))
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(transport)?;
        let (_, body, _) = answer(resp).await?;
        let server: ServerKey = parse_json(&body)?;
        if !fingerprint.matches(&server.bureau_key) {
            return Err(SyncError::BureauKeyMismatch {
                expected: fingerprint,
                got: server.bureau_key.fingerprint(),
            });
        }
        let resp = http
            .post(format!("{url}/api/v1/enrol"))
            .timeout(REQUEST_TIMEOUT)
            .json(&request)
            .send()
            .await
            .map_err(transport)?;
        let (_, body, _) = answer(resp).await?;
        let response: EnrolmentResponse = parse_json(&body)?;
        // The key kept is the one in this answer: it must match too.
        if !fingerprint.matches(&response.bureau_key) {
            return Err(SyncError::BureauKeyMismatch {
                expected: fingerprint,
                got: response.bureau_key.fingerprint(),
            });
        }
        if let Some(expected) = expected_district {
            if response.district.name != expected && response.district.code != expected {
                return Err(SyncError::WrongDistrict {
                    expected: expected.to_string(),
                    got: response.district.name,
                });
            }
        }
        let enrolled_at = Utc::now();
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(DeviceError::from)?;
        if replaces_revoked {
            // Only now that the bureau has accepted the fresh code: a failed attempt
            // leaves the revoked enrolment (and its explanation) as it was.
            tx.execute("DELETE FROM enrolment WHERE id = 1", [])
                .map_err(DeviceError::from)?;
        }
        tx.execute(
            "INSERT INTO enrolment (id, bureau_url, device_id, token, district_code, district_name, bureau_key, enrolled_at)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                url.as_str(),
                response.device_id.to_string(),
                response.token,
                response.district.code,
                response.district.name,
                response.bureau_key.to_hex(),
                enrolled_at.to_rfc3339(),
            ],
        ).map_err(DeviceError::from)?;
        if replaces_revoked {
            // Leads that failed for good only because the tablet was revoked get
            // another chance under the new enrolment.
            tx.execute(
                "UPDATE outbox SET next_attempt_at = NULL WHERE state IN ('queued', 'manifest_sent')",
                [],
            )
            .map_err(DeviceError::from)?;
        }
        tx.commit().map_err(DeviceError::from)?;
        let mut settings = self.settings()?;
        settings.bureau_url = url.as_str().to_string();
        self.save_settings(&settings)?;
        Ok(self.enrolment()?.expect("just stored"))
    }

    /// This tablet's enrolment, if it has one.
    pub fn enrolment(&self) -> Result<Option<Enrolment>, DeviceError> {
        let row = self
            .conn
            .query_row(
                "SELECT bureau_url, device_id, district_code, district_name, bureau_key, enrolled_at, revoked_at
                 FROM enrolment WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, Option<String>>(6)?,
                    ))
                },
            )
            .optional()?;
        row.map(
            |(bureau_url, device_id, district_code, district_name, bureau_key, at, revoked)| {
                let key: PublicKey = bureau_key
                    .parse()
                    .map_err(|e| DeviceError::Corrupt(format!("bureau key: {e}")))?;
                Ok(Enrolment {
                    bureau_url,
                    device_id: device_id
                        .parse()
                        .map_err(|_| DeviceError::Corrupt(format!("device id {device_id}")))?,
                    district_code,
                    district_name,
                    bureau_key,
                    bureau_key_fingerprint: key.fingerprint().display_grouped(),
                    enrolled_at: parse_time(&at)?,
                    revoked_at: revoked.as_deref().map(parse_time).transpose()?,
                })
            },
        )
        .transpose()
    }

    fn credentials(&self) -> Result<Credentials, SyncError> {
        let row = self
            .conn
            .query_row(
                "SELECT bureau_url, token, district_code, bureau_key FROM enrolment WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()
            .map_err(DeviceError::from)?
            .ok_or(SyncError::NotEnrolled)?;
        let settings_url = self.settings()?.bureau_url;
        // The address in the settings wins: a bureau may move. Either may have been
        // stored by an older build that allowed plain http: checked again here,
        // before every round.
        let url = if settings_url.is_empty() {
            row.0
        } else {
            settings_url
        };
        Ok(Credentials {
            url: BureauUrl::parse(&url, self.insecure_http)?,
            token: row.1,
            district_code: row.2,
            bureau_key: row
                .3
                .parse::<PublicKey>()
                .map_err(|e| DeviceError::Corrupt(format!("bureau key: {e}")))?,
        })
    }

    // ------------------------------------------------------------------
    // Outbox

    /// Puts every sealed lead not yet in the outbox into it. Sealing is durable, so
    /// a lead sealed just before a kill is picked up here on the next round.
    pub fn enqueue_sealed(&mut self) -> Result<u32, DeviceError> {
        let ids: Vec<String> = {
            let mut stmt = self.conn.prepare(
                "SELECT r.id FROM records r
                 WHERE r.state <> 'draft' AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.lead_id = r.id)
                 ORDER BY r.sealed_at",
            )?;
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
                "INSERT INTO outbox (lead_id, state, enqueued_at, bytes_total) VALUES (?1, 'queued', ?2, ?3)",
                params![id.to_string(), Utc::now().to_rfc3339(), total as i64],
            )?;
            for b in &blobs {
                tx.execute(
                    "INSERT INTO outbox_blobs (lead_id, sha256, bytes, kind) VALUES (?1, ?2, ?3, ?4)",
                    params![id.to_string(), b.sha256.to_hex(), b.bytes as i64, kind_str(b.kind)],
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
                lead_id: id
                    .parse()
                    .map_err(|_| DeviceError::Corrupt(format!("lead id {id}")))?,
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
            "SELECT min(coalesce(next_attempt_at, '')) FROM outbox WHERE state IN ('queued', 'manifest_sent')",
            [],
            |r| r.get(0),
        )?;
        match next.as_deref() {
            None => Ok(None),
            Some("") => Ok(Some(Utc::now())),
            Some(t) => Ok(Some(parse_time(t)?)),
        }
    }

    // ------------------------------------------------------------------
    // Sync

    /// "Sync now": forgets every backoff, then runs a round.
    pub async fn sync_now(
        &mut self,
        progress: impl FnMut(SyncProgress) + Send,
    ) -> Result<SyncReport, SyncError> {
        self.conn
            .execute(
                "UPDATE outbox SET next_attempt_at = NULL WHERE state IN ('queued', 'manifest_sent')",
                [],
            )
            .map_err(DeviceError::from)?;
        self.sync_once(progress).await
    }

    /// One round: delivers every due lead of the outbox, then polls the bureau's
    /// status of delivered leads. Offline, revoked or unknown to the bureau ends
    /// the round with that error; a lead's own failure is in the report.
    pub async fn sync_once(
        &mut self,
        mut progress: impl FnMut(SyncProgress) + Send,
    ) -> Result<SyncReport, SyncError> {
        let creds = self.credentials()?;
        self.enqueue_sealed()?;
        let http = http_client()?;
        let mut report = SyncReport::default();
        let now = Utc::now().to_rfc3339();
        let (due, waiting): (Vec<String>, u32) = {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT lead_id FROM outbox WHERE state IN ('queued', 'manifest_sent')
                   AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)
                 ORDER BY enqueued_at, lead_id",
                )
                .map_err(DeviceError::from)?;
            let due = stmt
                .query_map([&now], |r| r.get(0))
                .map_err(DeviceError::from)?
                .collect::<Result<Vec<String>, _>>()
                .map_err(DeviceError::from)?;
            let waiting: u32 = self
                .conn
                .query_row(
                    "SELECT count(*) FROM outbox WHERE state IN ('queued', 'manifest_sent') AND next_attempt_at > ?1",
                    [&now],
                    |r| r.get(0),
                )
                .map_err(DeviceError::from)?;
            (due, waiting)
        };
        report.waiting = waiting;
        for id in due {
            let id: LeadId = id
                .parse()
                .map_err(|_| DeviceError::Corrupt(format!("lead id {id}")))?;
            match self
                .deliver(&http, &creds, id, &mut progress, &mut report)
                .await
            {
                Ok(()) => report.delivered.push(id),
                Err(e) => {
                    let final_failure = e.is_final_for_lead();
                    self.record_failure(id, &e, final_failure)?;
                    progress(SyncProgress {
                        lead_id: id,
                        phase: SyncPhase::Failed,
                        bytes_sent: 0,
                        bytes_total: 0,
                    });
                    if matches!(e, SyncError::DeviceRevoked) {
                        self.conn
                            .execute(
                                "UPDATE enrolment SET revoked_at = coalesce(revoked_at, ?1)",
                                [Utc::now().to_rfc3339()],
                            )
                            .map_err(DeviceError::from)?;
                    }
                    if e.stops_round() {
                        // Nothing else can get through either: every waiting lead
                        // backs off with this one, so an offline tablet does not
                        // retry lead after lead.
                        self.defer_pending(id)?;
                        return Err(e);
                    }
                    report.failed.push(LeadFailure {
                        lead_id: id,
                        code: e.code().to_string(),
                        message: e.to_string(),
                        sha256: match &e {
                            SyncError::EvidenceAltered { sha256, .. }
                            | SyncError::EvidenceMissing { sha256, .. } => Some(*sha256),
                            _ => None,
                        },
                        final_failure,
                    });
                }
            }
        }
        // Status is informational: a failed poll is retried next round and does not
        // hide what was delivered; only a local database error is reported.
        if let Err(SyncError::Device(e)) = self.poll_statuses(&http, &creds).await {
            return Err(SyncError::Device(e));
        }
        Ok(report)
    }

    /// Gives every other pending lead the backoff `id` just got.
    fn defer_pending(&self, id: LeadId) -> Result<(), DeviceError> {
        self.conn.execute(
            "UPDATE outbox SET next_attempt_at = (SELECT next_attempt_at FROM outbox WHERE lead_id = ?1)
             WHERE state IN ('queued', 'manifest_sent') AND lead_id <> ?1
               AND (next_attempt_at IS NULL
                    OR next_attempt_at < (SELECT next_attempt_at FROM outbox WHERE lead_id = ?1))",
            [id.to_string()],
        )?;
        Ok(())
    }

    fn record_failure(
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
                    last_error = ?4, state = CASE WHEN ?5 THEN 'failed' ELSE state END
             WHERE lead_id = ?1 AND state <> 'delivered'",
            params![
                id.to_string(),
                next.to_rfc3339(),
                e.code(),
                e.to_string(),
                final_failure
            ],
        )?;
        Ok(())
    }

    async fn deliver(
        &mut self,
        http: &reqwest::Client,
        creds: &Credentials,
        id: LeadId,
        progress: &mut (impl FnMut(SyncProgress) + Send),
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let signed = self
            .manifest(id)?
            .ok_or_else(|| DeviceError::Corrupt(format!("outbox lead {id} has no manifest")))?;
        let log = self.audit_log(id)?;
        let blobs =
            manifest_blobs(&signed.manifest).map_err(|e| DeviceError::Corrupt(e.to_string()))?;
        let total: u64 = blobs.iter().map(|b| b.bytes).sum();
        let tell = |phase, sent| SyncProgress {
            lead_id: id,
            phase,
            bytes_sent: sent,
            bytes_total: total,
        };
        // Nothing leaves the tablet if a sealed photo no longer matches its hash.
        let pending = self.pending_blobs(id)?;
        for b in blobs
            .iter()
            .filter(|b| pending.iter().any(|p| p.0 == b.sha256))
        {
            self.check_local(&signed, id, b)?;
        }
        progress(tell(SyncPhase::Manifest, self.held_bytes(id)?));
        let body = serde_json::to_vec(&LeadUpload {
            manifest: signed.clone(),
            log,
        })
        .map_err(DeviceError::from)?;
        let resp = http
            .put(format!("{}/api/v1/leads/{id}", creds.url))
            .bearer_auth(&creds.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .timeout(REQUEST_TIMEOUT)
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        let (_, body, date) = answer(resp).await?;
        let put: PutLeadResponse = parse_json(&body)?;
        if put.manifest_hash != signed.manifest_hash || put.lead_id != id {
            return Err(SyncError::BadResponse(
                "区局回应的清单哈希与本机不符".into(),
            ));
        }
        {
            let tx = self.conn.transaction().map_err(DeviceError::from)?;
            tx.execute(
                "UPDATE outbox SET state = 'manifest_sent', received_at = ?2 WHERE lead_id = ?1 AND state = 'queued'",
                params![id.to_string(), put.received_at.to_rfc3339()],
            )
            .map_err(DeviceError::from)?;
            for b in &blobs {
                if !put.missing_blobs.iter().any(|m| m.sha256 == b.sha256) {
                    tx.execute(
                        "UPDATE outbox_blobs SET done = 1, offset = bytes WHERE lead_id = ?1 AND sha256 = ?2",
                        params![id.to_string(), b.sha256.to_hex()],
                    )
                    .map_err(DeviceError::from)?;
                }
            }
            update_sent(&tx, id)?;
            tx.commit().map_err(DeviceError::from)?;
        }
        if let Some(receipt) = put.receipt {
            return self.accept_receipt(creds, &signed, receipt, date, progress, report);
        }
        for b in &put.missing_blobs {
            progress(tell(SyncPhase::Blobs, self.held_bytes(id)?));
            self.upload_blob(http, creds, &signed, id, b, total, progress, report)
                .await?;
        }
        progress(tell(SyncPhase::Receipt, total));
        let resp = http
            .get(format!("{}/api/v1/leads/{id}", creds.url))
            .bearer_auth(&creds.token)
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(transport)?;
        let (_, body, date) = answer(resp).await?;
        let status = verified_status(&body, creds, id)?;
        self.store_status(id, &status)?;
        match status.receipt {
            Some(receipt) => self.accept_receipt(creds, &signed, receipt, date, progress, report),
            None => Err(SyncError::BadResponse(format!(
                "区局仍缺 {} 个文件，稍后续传",
                status.missing_blobs.len()
            ))),
        }
    }

    /// Blobs of a lead the bureau does not hold yet: (sha256, offset held, started).
    fn pending_blobs(&self, id: LeadId) -> Result<Vec<(Sha256, u64)>, DeviceError> {
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

    fn held_bytes(&self, id: LeadId) -> Result<u64, DeviceError> {
        let sent: i64 = self.conn.query_row(
            "SELECT bytes_sent FROM outbox WHERE lead_id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )?;
        Ok(sent as u64)
    }

    fn check_local(
        &self,
        signed: &SignedManifest,
        id: LeadId,
        b: &BlobRef,
    ) -> Result<(), SyncError> {
        let caption = caption_of(signed, b);
        let intact = match self.store.verify(&b.sha256) {
            Ok(ok) => ok,
            Err(_) => {
                return Err(SyncError::EvidenceMissing {
                    lead_id: id,
                    sha256: b.sha256,
                    caption,
                    kind: b.kind,
                })
            }
        };
        let len = std::fs::metadata(self.store.object_path(&b.sha256))
            .map(|m| m.len())
            .unwrap_or(0);
        if !intact || len != b.bytes {
            return Err(SyncError::EvidenceAltered {
                lead_id: id,
                sha256: b.sha256,
                caption,
                kind: b.kind,
            });
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn upload_blob(
        &mut self,
        http: &reqwest::Client,
        creds: &Credentials,
        signed: &SignedManifest,
        id: LeadId,
        b: &BlobRef,
        total: u64,
        progress: &mut (impl FnMut(SyncProgress) + Send),
        report: &mut SyncReport,
    ) -> Result<BlobStatus, SyncError> {
        let url = format!("{}/api/v1/blobs/{}", creds.url, b.sha256);
        // Ask the bureau what it holds: after an interrupted body only it knows.
        let resp = http
            .get(&url)
            .bearer_auth(&creds.token)
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(transport)?;
        let (_, body, _) = answer(resp).await?;
        let mut status: BlobStatus = parse_json(&body)?;
        self.store_blob_status(id, &status)?;
        let mut mismatches = 0;
        while !status.complete {
            let offset = status.offset.min(b.bytes);
            let base = self.held_bytes(id)?;
            let counter = Arc::new(AtomicU64::new(0));
            let body = file_body(
                &self.store.object_path(&b.sha256),
                offset,
                b.bytes,
                Arc::clone(&counter),
            )
            .map_err(|e| SyncError::Device(DeviceError::Io(e)))?;
            let send = http
                .put(&url)
                .bearer_auth(&creds.token)
                .header(UPLOAD_OFFSET_HEADER, offset.to_string())
                .header(
                    reqwest::header::CONTENT_LENGTH,
                    (b.bytes - offset).to_string(),
                )
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(body)
                .send();
            tokio::pin!(send);
            let mut tick = tokio::time::interval(PROGRESS_TICK);
            let sent = loop {
                tokio::select! {
                    r = &mut send => break r,
                    _ = tick.tick() => progress(SyncProgress {
                        lead_id: id,
                        phase: SyncPhase::Blobs,
                        bytes_sent: (base + counter.load(Ordering::Relaxed)).min(total),
                        bytes_total: total,
                    }),
                }
            };
            report.bytes_uploaded += counter.load(Ordering::Relaxed);
            let resp = sent.map_err(transport)?;
            match answer(resp).await {
                Ok((_, body, _)) => {
                    status = parse_json(&body)?;
                    self.store_blob_status(id, &status)?;
                }
                Err(SyncError::Refused { code, .. })
                    if code == "offset_mismatch" && mismatches < 3 =>
                {
                    mismatches += 1;
                    let resp = http
                        .get(&url)
                        .bearer_auth(&creds.token)
                        .timeout(REQUEST_TIMEOUT)
                        .send()
                        .await
                        .map_err(transport)?;
                    let (_, body, _) = answer(resp).await?;
                    status = parse_json(&body)?;
                    self.store_blob_status(id, &status)?;
                }
                Err(e @ SyncError::Refused { .. }) if e.code() == "blob_hash_mismatch" => {
                    // Changed on the tablet since the check before sending? Then say
                    // which photo; otherwise the bytes were damaged on the way and a
                    // retry starts the blob afresh.
                    self.check_local(signed, id, b)?;
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(status)
    }

    fn store_blob_status(&mut self, id: LeadId, s: &BlobStatus) -> Result<(), DeviceError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE outbox_blobs SET offset = ?3, done = ?4 WHERE lead_id = ?1 AND sha256 = ?2",
            params![
                id.to_string(),
                s.sha256.to_hex(),
                s.offset as i64,
                s.complete
            ],
        )?;
        update_sent(&tx, id)?;
        tx.commit()?;
        Ok(())
    }

    fn accept_receipt(
        &mut self,
        creds: &Credentials,
        signed: &SignedManifest,
        receipt: Receipt,
        server_date: Option<DateTime<Utc>>,
        progress: &mut (impl FnMut(SyncProgress) + Send),
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let id = signed.manifest.lead_id;
        receipt.verify_for(&creds.bureau_key, signed)?;
        if receipt.receipt.district != creds.district_code {
            return Err(SyncError::ReceiptDistrict {
                expected: creds.district_code.clone(),
                got: receipt.receipt.district.clone(),
            });
        }
        let server_now = server_date.unwrap_or(receipt.receipt.completed_at);
        let skew = ((self.clock)().with_timezone(&Utc) - server_now).num_seconds();
        let tx = self.conn.transaction().map_err(DeviceError::from)?;
        tx.execute(
            "UPDATE outbox SET state = 'delivered', receipt_json = ?2, received_at = ?3,
                    clock_skew_secs = ?4, bytes_sent = bytes_total, next_attempt_at = NULL,
                    last_error_code = NULL, last_error = NULL
             WHERE lead_id = ?1",
            params![
                id.to_string(),
                serde_json::to_string(&receipt).map_err(DeviceError::from)?,
                receipt.receipt.received_at.to_rfc3339(),
                skew
            ],
        )
        .map_err(DeviceError::from)?;
        tx.execute(
            "UPDATE outbox_blobs SET done = 1, offset = bytes WHERE lead_id = ?1",
            [id.to_string()],
        )
        .map_err(DeviceError::from)?;
        tx.execute(
            "UPDATE records SET state = 'delivered' WHERE id = ?1 AND state = 'sealed'",
            [id.to_string()],
        )
        .map_err(DeviceError::from)?;
        tx.commit().map_err(DeviceError::from)?;
        if report.clock_skew_secs.is_none_or(|s| s.abs() < skew.abs()) {
            report.clock_skew_secs = Some(skew);
        }
        report.clock_skew_flagged |= skew.abs() > CLOCK_SKEW_FLAG_SECS;
        let total: u64 = manifest_blobs(&signed.manifest)
            .map(|v| v.iter().map(|b| b.bytes).sum())
            .unwrap_or(0);
        progress(SyncProgress {
            lead_id: id,
            phase: SyncPhase::Delivered,
            bytes_sent: total,
            bytes_total: total,
        });
        Ok(())
    }

    fn store_status(&self, id: LeadId, status: &LeadStatus) -> Result<(), DeviceError> {
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
        // The bureau's handling states are shown on the record itself once delivered.
        if status.receipt.is_some() && status.state != LeadState::Sealed {
            let state = serde_json::to_value(status.state)?;
            self.conn.execute(
                "UPDATE records SET state = ?2 WHERE id = ?1 AND state <> 'draft'
                   AND EXISTS (SELECT 1 FROM outbox WHERE lead_id = ?1 AND state = 'delivered')",
                params![id.to_string(), state.as_str().unwrap_or("delivered")],
            )?;
        }
        Ok(())
    }

    /// Polls the bureau's status of delivered leads not yet in a final state.
    async fn poll_statuses(
        &mut self,
        http: &reqwest::Client,
        creds: &Credentials,
    ) -> Result<(), SyncError> {
        let ids: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT o.lead_id FROM outbox o JOIN records r ON r.id = o.lead_id
                     WHERE o.state = 'delivered' AND r.state NOT IN ('declined', 'reported_to_city')",
                )
                .map_err(DeviceError::from)?;
            let rows = stmt
                .query_map([], |r| r.get(0))
                .map_err(DeviceError::from)?;
            rows.collect::<Result<_, _>>().map_err(DeviceError::from)?
        };
        for id in ids {
            let resp = http
                .get(format!("{}/api/v1/leads/{id}", creds.url))
                .bearer_auth(&creds.token)
                .timeout(REQUEST_TIMEOUT)
                .send()
                .await
                .map_err(transport)?;
            let Ok((_, body, _)) = answer(resp).await else {
                continue;
            };
            let id: LeadId = id
                .parse()
                .map_err(|_| DeviceError::Corrupt(format!("lead id {id}")))?;
            match verified_status(&body, creds, id) {
                Ok(status) => self.store_status(id, &status)?,
                // Kept out, and said so beside the last status that did verify.
                Err(e) => self.store_status_refusal(id, &e)?,
            }
        }
        Ok(())
    }

    fn store_status_refusal(&self, id: LeadId, e: &SyncError) -> Result<(), DeviceError> {
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

fn caption_of(signed: &SignedManifest, b: &BlobRef) -> String {
    let m = &signed.manifest;
    if let Some(e) = m.evidence.iter().find(|e| e.sha256 == b.sha256) {
        return e.caption.clone();
    }
    m.signoffs
        .iter()
        .find(|s| {
            matches!(s.signoff, fieldlead_domain::SignoffKind::Signed { image_sha256, .. } if image_sha256 == b.sha256)
        })
        .map(|s| format!("{}的签名", s.party.label_zh()))
        .unwrap_or_default()
}

fn kind_str(kind: BlobKind) -> &'static str {
    match kind {
        BlobKind::Photo => "photo",
        BlobKind::Signature => "signature",
    }
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, DeviceError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| DeviceError::Corrupt(format!("time {s}")))
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

/// A status answer, taken only if the bureau key stored at enrolment signed it and
/// it is about `lead`.
fn verified_status(
    body: &[u8],
    creds: &Credentials,
    lead: LeadId,
) -> Result<LeadStatus, SyncError> {
    let signed: SignedLeadStatus = parse_json(body)?;
    Ok(signed.verify(&creds.bureau_key, lead)?)
}

fn http_client() -> Result<reqwest::Client, SyncError> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        // The bureau API never redirects; following one could lead off https.
        .redirect(reqwest::redirect::Policy::none())
        .use_rustls_tls()
        .build()
        .map_err(|e| SyncError::Network(e.to_string()))
}

fn transport(e: reqwest::Error) -> SyncError {
    if e.is_connect() {
        SyncError::Offline(root_cause(&e))
    } else if e.is_timeout() {
        SyncError::Timeout
    } else {
        SyncError::Network(root_cause(&e))
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Reads a whole answer; a refusal becomes the matching error.
async fn answer(resp: reqwest::Response) -> Result<(u16, Bytes, Option<DateTime<Utc>>), SyncError> {
    let status = resp.status().as_u16();
    let date = resp
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
        .map(|t| t.with_timezone(&Utc));
    let body = read_capped(resp).await?;
    if (200..300).contains(&status) {
        return Ok((status, body, date));
    }
    let err: Option<ErrorBody> = serde_json::from_slice(&body).ok();
    let (code, message) = match err {
        Some(e) => {
            if e.code == "rate_limited" {
                let secs = e
                    .detail
                    .as_ref()
                    .and_then(|d| d.get("retry_after_secs"))
                    .and_then(|v| v.as_u64())
                    .unwrap_or(BACKOFF_BASE_SECS);
                return Err(SyncError::RateLimited(secs));
            }
            (e.code, e.message)
        }
        None => (
            format!("http_{status}"),
            String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
        ),
    };
    Err(match (status, code.as_str()) {
        (_, "device_revoked") => SyncError::DeviceRevoked,
        (401, _) | (_, "bad_token") => SyncError::NotRecognised,
        (500.., _) | (408, _) => SyncError::Server { status, message },
        _ => SyncError::Refused {
            status,
            code,
            message,
        },
    })
}

/// The body, piece by piece as it arrives, up to [`MAX_ANSWER_BYTES`]: a longer
/// one (declared or actual) is refused and the connection dropped unread.
async fn read_capped(mut resp: reqwest::Response) -> Result<Bytes, SyncError> {
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
    {
        return Err(SyncError::AnswerTooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(SyncError::AnswerTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, SyncError> {
    serde_json::from_slice(body).map_err(|e| SyncError::BadResponse(e.to_string()))
}

/// The bytes of a file from `offset` to `len`, read in pieces as the connection
/// takes them (never the whole file in memory); `counter` counts what was read.
fn file_body(
    path: &std::path::Path,
    offset: u64,
    len: u64,
    counter: Arc<AtomicU64>,
) -> std::io::Result<reqwest::Body> {
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let file = tokio::fs::File::from_std(file);
    let stream = futures_util::stream::try_unfold(
        (file, len.saturating_sub(offset), counter),
        |(mut file, remaining, counter)| async move {
            use tokio::io::AsyncReadExt;
            if remaining == 0 {
                return Ok(None);
            }
            let mut buf = vec![0u8; BODY_CHUNK.min(remaining as usize)];
            let n = file.read(&mut buf).await?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "文件比封存时短",
                ));
            }
            buf.truncate(n);
            counter.fetch_add(n as u64, Ordering::Relaxed);
            Ok::<_, std::io::Error>(Some((
                Bytes::from(buf),
                (file, remaining - n as u64, counter),
            )))
        },
    );
    Ok(reqwest::Body::wrap_stream(stream))
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
    fn error_codes_are_stable() {
        assert_eq!(SyncError::NotEnrolled.code(), "not_enrolled");
        assert_eq!(SyncError::DeviceRevoked.code(), "device_revoked");
        assert!(SyncError::Offline("x".into()).stops_round());
        let altered = SyncError::EvidenceAltered {
            lead_id: LeadId::new(),
            sha256: Sha256::digest(b"x"),
            caption: "货架".into(),
            kind: BlobKind::Photo,
        };
        assert!(altered.is_final_for_lead());
        assert!(altered.to_string().contains("货架"));
        assert!(!SyncError::Network("reset".into()).is_final_for_lead());
        // An address the tablet will not use ends the round before anything is sent.
        let insecure = SyncError::from(BureauUrlError::Insecure("http://192.0.2.1".into()));
        assert_eq!(insecure.code(), "bureau_url_insecure");
        assert!(insecure.stops_round());
        assert_eq!(SyncError::AnswerTooLarge.code(), "answer_too_large");
        assert!(SyncError::AnswerTooLarge.to_string().contains("1024 KB"));
        // A status that does not verify is retried, not a verdict on the lead.
        let forged = SyncError::from(StatusError::Signature);
        assert_eq!(forged.code(), "status_signature");
        assert!(!forged.is_final_for_lead());
    }
}
