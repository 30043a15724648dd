//! Refusals: why a protocol message is malformed ([`ProtocolError`]), every code
//! the bureau's API can answer with ([`ErrorCode`]), a code as received
//! ([`WireCode`], tolerant of a newer bureau's codes) and the body of every refusal
//! ([`ErrorBody`]).

use serde::{Deserialize, Serialize};

use super::MAX_DEVICE_LABEL_CHARS;
use crate::ids::Sha256;

/// Why a protocol message is malformed. `code()` is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("注册码应为12位字母数字（可带连字符），例如 ABCD-EFGH-JKMN；不含 0、1、I、L、O")]
    EnrolmentCodeFormat,
    #[error("二维码内容不是 fieldlead 设备注册码")]
    InviteFormat,
    #[error(
        "这是旧版的注册二维码，没有区县局密钥指纹，不能用来注册；请向区县局索取新的注册二维码"
    )]
    InviteOutdated,
    #[error("设备名称不能为空，且最多 {MAX_DEVICE_LABEL_CHARS} 个字")]
    DeviceLabel,
    #[error("注册请求的密钥证明无效：请在本机重新生成密钥后再注册")]
    EnrolmentProof,
    #[error("文件 {0} 在锁定记录中出现两次且大小不同")]
    BlobSizeConflict(Sha256),
}

impl ProtocolError {
    pub fn error_code(&self) -> ErrorCode {
        match self {
            ProtocolError::EnrolmentCodeFormat => ErrorCode::EnrolmentCodeFormat,
            ProtocolError::InviteFormat => ErrorCode::InviteFormat,
            ProtocolError::InviteOutdated => ErrorCode::InviteOutdated,
            ProtocolError::DeviceLabel => ErrorCode::DeviceLabel,
            ProtocolError::EnrolmentProof => ErrorCode::EnrolmentProof,
            ProtocolError::BlobSizeConflict(_) => ErrorCode::BlobSizeConflict,
        }
    }

    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }
}

/// Every code the bureau answers a refusal with, in [`ErrorBody::code`]: a client
/// matches these, never strings. A newer bureau may send a code this build does
/// not know; a client reads codes as [`WireCode`] for that reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // Who is asking (401, 403)
    Unauthenticated,
    BadToken,
    DeviceRevoked,
    Forbidden,
    Csrf,
    BadCredentials,
    // The request itself
    NotFound,
    MalformedId,
    MalformedBody,
    MethodNotAllowed,
    DuplicateKey,
    InvalidFields,
    TooLarge,
    RateLimited,
    QuotaExceeded,
    Busy,
    Timeout,
    // Enrolment
    EnrolmentCodeInvalid,
    DeviceKeyTaken,
    DeviceOtherDistrict,
    EnrolmentCodeFormat,
    InviteFormat,
    InviteOutdated,
    DeviceLabel,
    EnrolmentProof,
    // A lead's upload
    PathLeadIdMismatch,
    DeviceKeyMismatch,
    LeadConflict,
    BlobSize,
    BlobSizeConflict,
    OffsetMismatch,
    UploadInProgress,
    BlobHashMismatch,
    // A lead that does not verify (`VerifyError`, its chain faults)
    ManifestFormat,
    LeadIdMismatch,
    ManifestHash,
    ManifestSignature,
    NotALead,
    NoGrounds,
    EvidenceOrder,
    EvidenceCaption,
    Signoff,
    LogHead,
    SealEntry,
    TooManyEvidence,
    TooManyLogEntries,
    ChainEmpty,
    EntryUnparsable,
    EntryWrongLead,
    EntrySequence,
    EntryPrevHash,
    EntryHash,
    EntrySignature,
    // Importing a bundle file
    BundleInvalid,
    DeviceUnknown,
    BundleBlobMissing,
    BundleIo,
    BundleZip,
    BundleMissingEntry,
    BundleUnreadable,
    // The console's forms and a lead's handling
    InvalidState,
    ConcurrentChange,
    Conflict,
    DistrictRequired,
    DistrictCode,
    DistrictExists,
    Username,
    UsernameTaken,
    PasswordShort,
    DistrictForCityAdmin,
    State,
    ReviewState,
    Step,
    ReportDate,
    // 后处理: the working-day calendar and the case state machine
    CalendarYearNotLoaded,
    CalendarFormat,
    CalendarOutOfRange,
    CaseState,
    CaseDate,
    CaseRule,
    ReportNoTaken,
    ResultsUnreadable,
    ResultsEmpty,
    ResultsTooLarge,
    ResultsRows,
    // One field of a console form (`FieldProblem::code` of text and amounts)
    Required,
    TooLong,
    ControlCharacter,
    AmountFormat,
    AmountNegative,
    // Documents (`FormError`)
    NoCjkFont,
    TemplateDir,
    Template,
    FormNumberPattern,
    FormNumber,
    ListRow,
    NoticeField,
    Pdf,
    QrCode,
    Xlsx,
    // The server itself
    DataFolderInUse,
    KeyPermissions,
    NotInitialised,
    Storage,
    Internal,
}

crate::wire_names!(ErrorCode, "错误代码", {
    Unauthenticated => "unauthenticated",
    BadToken => "bad_token",
    DeviceRevoked => "device_revoked",
    Forbidden => "forbidden",
    Csrf => "csrf",
    BadCredentials => "bad_credentials",
    NotFound => "not_found",
    MalformedId => "malformed_id",
    MalformedBody => "malformed_body",
    MethodNotAllowed => "method_not_allowed",
    DuplicateKey => "duplicate_key",
    InvalidFields => "invalid_fields",
    TooLarge => "too_large",
    RateLimited => "rate_limited",
    QuotaExceeded => "quota_exceeded",
    Busy => "busy",
    Timeout => "timeout",
    EnrolmentCodeInvalid => "enrolment_code_invalid",
    DeviceKeyTaken => "device_key_taken",
    DeviceOtherDistrict => "device_other_district",
    EnrolmentCodeFormat => "enrolment_code_format",
    InviteFormat => "invite_format",
    InviteOutdated => "invite_outdated",
    DeviceLabel => "device_label",
    EnrolmentProof => "enrolment_proof",
    PathLeadIdMismatch => "path_lead_id_mismatch",
    DeviceKeyMismatch => "device_key_mismatch",
    LeadConflict => "lead_conflict",
    BlobSize => "blob_size",
    BlobSizeConflict => "blob_size_conflict",
    OffsetMismatch => "offset_mismatch",
    UploadInProgress => "upload_in_progress",
    BlobHashMismatch => "blob_hash_mismatch",
    ManifestFormat => "manifest_format",
    LeadIdMismatch => "lead_id_mismatch",
    ManifestHash => "manifest_hash",
    ManifestSignature => "manifest_signature",
    NotALead => "not_a_lead",
    NoGrounds => "no_grounds",
    EvidenceOrder => "evidence_order",
    EvidenceCaption => "evidence_caption",
    Signoff => "signoff",
    LogHead => "log_head",
    SealEntry => "seal_entry",
    TooManyEvidence => "too_many_evidence",
    TooManyLogEntries => "too_many_log_entries",
    ChainEmpty => "chain_empty",
    EntryUnparsable => "entry_unparsable",
    EntryWrongLead => "entry_wrong_lead",
    EntrySequence => "entry_sequence",
    EntryPrevHash => "entry_prev_hash",
    EntryHash => "entry_hash",
    EntrySignature => "entry_signature",
    BundleInvalid => "bundle_invalid",
    DeviceUnknown => "device_unknown",
    BundleBlobMissing => "bundle_blob_missing",
    BundleIo => "bundle_io",
    BundleZip => "bundle_zip",
    BundleMissingEntry => "bundle_missing_entry",
    BundleUnreadable => "bundle_unreadable",
    InvalidState => "invalid_state",
    ConcurrentChange => "concurrent_change",
    Conflict => "conflict",
    DistrictRequired => "district_required",
    DistrictCode => "district_code",
    DistrictExists => "district_exists",
    Username => "username",
    UsernameTaken => "username_taken",
    PasswordShort => "password_short",
    DistrictForCityAdmin => "district_for_city_admin",
    State => "state",
    ReviewState => "review_state",
    Step => "step",
    ReportDate => "report_date",
    CalendarYearNotLoaded => "calendar_year_not_loaded",
    CalendarFormat => "calendar_format",
    CalendarOutOfRange => "calendar_out_of_range",
    CaseState => "case_state",
    CaseDate => "case_date",
    CaseRule => "case_rule",
    ReportNoTaken => "report_no_taken",
    ResultsUnreadable => "results_unreadable",
    ResultsEmpty => "results_empty",
    ResultsTooLarge => "results_too_large",
    ResultsRows => "results_rows",
    Required => "required",
    TooLong => "too_long",
    ControlCharacter => "control_character",
    AmountFormat => "amount_format",
    AmountNegative => "amount_negative",
    NoCjkFont => "no_cjk_font",
    TemplateDir => "template_dir",
    Template => "template",
    FormNumberPattern => "form_number_pattern",
    FormNumber => "form_number",
    ListRow => "list_row",
    NoticeField => "notice_field",
    Pdf => "pdf",
    QrCode => "qr_code",
    Xlsx => "xlsx",
    DataFolderInUse => "data_folder_in_use",
    KeyPermissions => "key_permissions",
    NotInitialised => "not_initialised",
    Storage => "storage",
    Internal => "internal",
});

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A code as it travels: one of this build's [`ErrorCode`]s, or one a newer
/// bureau added, kept as sent so an unknown code is a refusal like any other and
/// never a failure to read the answer. Serialised as the bare code string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WireCode {
    Known(ErrorCode),
    Other(String),
}

impl WireCode {
    /// Never fails: what this build does not know is [`WireCode::Other`].
    pub fn parse(s: &str) -> Self {
        match s.parse() {
            Ok(code) => WireCode::Known(code),
            Err(_) => WireCode::Other(s.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            WireCode::Known(c) => c.as_str(),
            WireCode::Other(s) => s,
        }
    }

    /// The known code, if this build knows it.
    pub fn known(&self) -> Option<ErrorCode> {
        match self {
            WireCode::Known(c) => Some(*c),
            WireCode::Other(_) => None,
        }
    }
}

impl From<ErrorCode> for WireCode {
    fn from(c: ErrorCode) -> Self {
        WireCode::Known(c)
    }
}

impl std::fmt::Display for WireCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<ErrorCode> for WireCode {
    fn eq(&self, other: &ErrorCode) -> bool {
        *self == WireCode::Known(*other)
    }
}

impl PartialEq<&str> for WireCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for WireCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for WireCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(WireCode::parse(&s))
    }
}

/// Every refusal's body: a stable code for programs and a Chinese message that
/// says what to do. `detail` carries structured facts (an offset, an entry index).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: WireCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorBody {
            code: WireCode::Known(code),
            message: message.into(),
            detail: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_its_serde_name_and_parses_back() {
        crate::wire::assert_names_match_serde(&ErrorCode::ALL, |c| c.as_str());
    }

    #[test]
    fn a_code_from_a_newer_bureau_is_read_not_refused() {
        let body: ErrorBody =
            serde_json::from_str(r#"{"code":"lead_conflict","message":"m"}"#).unwrap();
        assert_eq!(body.code, ErrorCode::LeadConflict);
        assert_eq!(body.code, "lead_conflict");
        let newer: ErrorBody =
            serde_json::from_str(r#"{"code":"post_processing_pending","message":"m"}"#).unwrap();
        assert_eq!(
            newer.code,
            WireCode::Other("post_processing_pending".into())
        );
        assert_eq!(newer.code.known(), None);
        // Written back exactly as read.
        assert_eq!(
            serde_json::to_value(&newer).unwrap()["code"],
            "post_processing_pending"
        );
        assert_eq!(
            serde_json::to_value(ErrorBody::new(ErrorCode::OffsetMismatch, "m")).unwrap()["code"],
            "offset_mismatch"
        );
    }

    #[test]
    fn protocol_errors_name_their_codes() {
        assert_eq!(ProtocolError::InviteOutdated.code(), "invite_outdated");
        assert_eq!(
            ProtocolError::BlobSizeConflict(Sha256::digest(b"x")).error_code(),
            ErrorCode::BlobSizeConflict
        );
    }
}
