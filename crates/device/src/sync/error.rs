//! What can go wrong while enrolling or syncing, and how the round treats it:
//! [`SyncError::stops_round`] (nothing else can get through either) and
//! [`SyncError::is_final_for_lead`] (retrying cannot fix this lead). The bureau's
//! refusals are told apart by their [`ErrorCode`], never by string.

use fieldlead_domain::{
    BlobKind, ErrorCode, KeyError, KeyFingerprint, LeadId, ReceiptError, Sha256, StatusError,
    WireCode,
};

use super::client::MAX_ANSWER_BYTES;
use crate::bureau_url::BureauUrlError;
use crate::error::DeviceError;

/// What went wrong while enrolling or syncing. `code()` is stable for the UI; the
/// message says, in Chinese, what to do.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("本设备尚未向区县局注册，请先扫描区县局的注册二维码")]
    NotEnrolled,
    #[error(transparent)]
    BureauUrl(#[from] BureauUrlError),
    #[error(
        "请填写注册码旁印的区县局密钥指纹（32位十六进制）：没有它，本机无法确认回应的是区县局"
    )]
    FingerprintMissing,
    #[error(transparent)]
    Fingerprint(#[from] KeyError),
    #[error("服务器的密钥指纹是 {got}，与注册单上印的 {expected} 不符：回应的不是发放注册码的区县局，注册未保存；请核对服务器地址，或向区县局索取新的注册码")]
    BureauKeyMismatch {
        expected: KeyFingerprint,
        got: KeyFingerprint,
    },
    #[error("区县局服务器的回应超过 {} KB，已停止读取；稍后将自动重试", MAX_ANSWER_BYTES / 1024)]
    AnswerTooLarge,
    #[error(transparent)]
    Status(#[from] StatusError),
    #[error("本设备已注册到 {0}，不能重复注册")]
    AlreadyEnrolled(String),
    #[error("无法连接区县局服务器（{0}）；线索已保存在本机，联网后会自动报送")]
    Offline(String),
    #[error("区县局服务器没有及时回应，稍后将自动重试")]
    Timeout,
    #[error("与区县局服务器的连接中断（{0}），稍后将自动续传")]
    Network(String),
    #[error("本设备已被区县局停用，请联系区县局重新注册；线索仍保存在本机")]
    DeviceRevoked,
    #[error("该服务器不认识本设备（可能是其他区县的服务器，或注册已失效），请核对区县局服务器地址或重新注册；未发送任何线索")]
    NotRecognised,
    #[error("区县不符：二维码上是“{expected}”，服务器回应的是“{got}”，未保存注册")]
    WrongDistrict { expected: String, got: String },
    #[error("回执来自“{got}”，不是本设备所属的“{expected}”，回执未保存")]
    ReceiptDistrict { expected: String, got: String },
    /// `label` names the blob as [`fieldlead_domain::Manifest::blob_label`] does.
    #[error("{label}（{}）在锁定后被改动，不能报送；请保留原始文件并联系区县局", .sha256.short())]
    EvidenceAltered {
        lead_id: LeadId,
        sha256: Sha256,
        label: String,
        kind: BlobKind,
    },
    #[error("{label}（{}）在本机已缺失，不能报送", .sha256.short())]
    EvidenceMissing {
        lead_id: LeadId,
        sha256: Sha256,
        label: String,
        kind: BlobKind,
    },
    #[error("区县局回执无效，未保存：{0}")]
    Receipt(#[from] ReceiptError),
    /// The bureau refused with its code: one of this build's [`ErrorCode`]s, or a
    /// newer bureau's, kept as sent.
    #[error("区县局拒收：{message}")]
    Refused {
        status: u16,
        code: WireCode,
        message: String,
    },
    #[error("请求过于频繁，{0} 秒后重试")]
    RateLimited(u64),
    #[error("区县局服务器出错（{status}）：{message}；稍后将自动重试")]
    Server { status: u16, message: String },
    #[error("区县局服务器的回应无法解析：{0}")]
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
            SyncError::Refused { code, .. } => code.as_str(),
            SyncError::RateLimited(_) => "rate_limited",
            SyncError::Server { .. } => "server_error",
            SyncError::BadResponse(_) => "bad_response",
            SyncError::Enrolment(_) => "enrolment",
            SyncError::Device(e) => e.code(),
        }
    }

    /// Whether the bureau refused with this code.
    pub fn is_refusal(&self, code: ErrorCode) -> bool {
        matches!(self, SyncError::Refused { code: c, .. } if *c == code)
    }

    /// The bureau could not be reached or did not answer in time: the network, not
    /// the bureau, is the problem.
    pub fn is_offline(&self) -> bool {
        matches!(
            self,
            SyncError::Offline(_) | SyncError::Timeout | SyncError::Network(_)
        )
    }

    /// Errors that end the whole sync round: nothing else can go through either.
    pub(crate) fn stops_round(&self) -> bool {
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
    pub(crate) fn is_final_for_lead(&self) -> bool {
        match self {
            SyncError::EvidenceAltered { .. }
            | SyncError::EvidenceMissing { .. }
            | SyncError::Receipt(_)
            | SyncError::ReceiptDistrict { .. } => true,
            // 422 (invalid manifest, bad blob) and 409 lead_conflict are answers, not
            // accidents. A manifest format the bureau does not know yet is not: the
            // tablet was upgraded before its bureau, and the lead goes once it is.
            SyncError::Refused { status, code, .. } => {
                (*status == 422
                    && *code != ErrorCode::BlobHashMismatch
                    && *code != ErrorCode::ManifestFormat)
                    || *code == ErrorCode::LeadConflict
            }
            _ => false,
        }
    }

    /// The photo or signature image at fault, if one is.
    pub(crate) fn blob(&self) -> Option<Sha256> {
        match self {
            SyncError::EvidenceAltered { sha256, .. }
            | SyncError::EvidenceMissing { sha256, .. } => Some(*sha256),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_stable() {
        assert_eq!(SyncError::NotEnrolled.code(), "not_enrolled");
        assert_eq!(SyncError::DeviceRevoked.code(), "device_revoked");
        assert!(SyncError::Offline("x".into()).stops_round());
        let altered = SyncError::EvidenceAltered {
            lead_id: LeadId::new(),
            sha256: Sha256::digest(b"x"),
            label: "照片“货架”".into(),
            kind: BlobKind::Photo,
        };
        assert!(altered.is_final_for_lead());
        assert!(altered.to_string().starts_with("照片“货架”（"));
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

    fn refused(status: u16, code: &str) -> SyncError {
        SyncError::Refused {
            status,
            code: WireCode::parse(code),
            message: "m".into(),
        }
    }

    #[test]
    fn refusals_are_classified_by_their_code() {
        assert!(refused(422, "manifest_signature").is_final_for_lead());
        assert!(refused(409, "lead_conflict").is_final_for_lead());
        // Damaged on the way: the next round uploads the blob afresh.
        assert!(!refused(422, "blob_hash_mismatch").is_final_for_lead());
        assert!(!refused(409, "offset_mismatch").is_final_for_lead());
        assert!(refused(409, "offset_mismatch").is_refusal(ErrorCode::OffsetMismatch));
        // A bureau not yet upgraded to the tablet's manifest format: retried, not lost.
        assert!(!refused(422, "manifest_format").is_final_for_lead());
        // A code from a newer bureau is kept as sent and treated by its status.
        let newer = refused(409, "post_processing_pending");
        assert_eq!(newer.code(), "post_processing_pending");
        assert!(!newer.is_final_for_lead());
        assert!(refused(422, "post_processing_refused").is_final_for_lead());
    }
}
