//! Sync protocol v1 between a tablet and its district bureau: the messages both
//! sides serialise, and the bureau's signed receipt with the one function that
//! verifies it.
//!
//! The flow: enrol once with a one-time code ([`EnrolmentRequest`] ->
//! [`EnrolmentResponse`]), taken from an [`EnrolmentInvite`] that also carries the
//! fingerprint of the bureau's key, so the tablet knows the answer came from that
//! bureau; `PUT /api/v1/leads/{id}` with a [`LeadUpload`] ->
//! [`PutLeadResponse`] naming the missing blobs; `PUT /api/v1/blobs/{sha256}` for
//! each, resumable from the [`BlobStatus::offset`] the bureau reports (send the
//! offset in [`UPLOAD_OFFSET_HEADER`]); once every blob is present the bureau
//! returns a [`Receipt`] signed with its key; `GET /api/v1/leads/{id}` gives the
//! [`LeadStatus`], signed the same way ([`SignedLeadStatus`]). Every refusal
//! carries an [`ErrorBody`] with a stable code.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::audit::SignedEntry;
use crate::canonical::{canonical_hash, CanonicalError};
use crate::crypto::{KeyFingerprint, PublicKey, Signature, SigningKey};
use crate::ids::{DeviceId, LeadId, Sha256};
use crate::lead::LeadState;
use crate::manifest::{Manifest, SignedManifest, SignoffKind};

/// The protocol version this build speaks; also the path prefix `/api/v1`.
pub const PROTOCOL_VERSION: u32 = 1;
/// The version of the receipt layout.
pub const RECEIPT_FORMAT: u32 = 1;
/// The version of the signed lead status layout.
pub const LEAD_STATUS_FORMAT: u32 = 1;
/// Request header with the byte offset a blob upload body starts at (0 if absent).
pub const UPLOAD_OFFSET_HEADER: &str = "upload-offset";
/// Longest device label accepted at enrolment.
pub const MAX_DEVICE_LABEL_CHARS: usize = 100;

/// Why a protocol message is malformed. `code()` is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("注册码应为12位字母数字（可带连字符），例如 ABCD-EFGH-JKMN；不含 0、1、I、L、O")]
    EnrolmentCodeFormat,
    #[error("二维码内容不是 fieldlead 设备注册码")]
    InviteFormat,
    #[error("这是旧版的注册二维码，没有区局密钥指纹，不能用来注册；请向区局索取新的注册二维码")]
    InviteOutdated,
    #[error("设备名称不能为空，且最多 {MAX_DEVICE_LABEL_CHARS} 个字")]
    DeviceLabel,
    #[error("注册请求的密钥证明无效：请在本机重新生成密钥后再注册")]
    EnrolmentProof,
    #[error("文件 {0} 在清单中出现两次且大小不同")]
    BlobSizeConflict(Sha256),
}

impl ProtocolError {
    pub fn code(&self) -> &'static str {
        match self {
            ProtocolError::EnrolmentCodeFormat => "enrolment_code_format",
            ProtocolError::InviteFormat => "invite_format",
            ProtocolError::InviteOutdated => "invite_outdated",
            ProtocolError::DeviceLabel => "device_label",
            ProtocolError::EnrolmentProof => "enrolment_proof",
            ProtocolError::BlobSizeConflict(_) => "blob_size_conflict",
        }
    }
}

// ---------------------------------------------------------------------------
// Enrolment

/// Characters of an enrolment code: digits and capitals without 0, 1, I, L, O,
/// which are misread when typed from paper.
const CODE_ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const CODE_CHARS: usize = 12;

/// A one-time enrolment code, e.g. `ABCD-EFGH-JKMN` (about 59 bits).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EnrolmentCode(String);

impl EnrolmentCode {
    /// Builds a code from caller-supplied randomness (the domain makes none): two
    /// bytes per character, so the modulo bias is below 1/30000.
    pub fn from_random(random: &[u8; 2 * CODE_CHARS]) -> Self {
        let chars: String = random
            .chunks(2)
            .map(|p| {
                let v = u16::from_le_bytes([p[0], p[1]]) as usize % CODE_ALPHABET.len();
                CODE_ALPHABET[v] as char
            })
            .collect();
        EnrolmentCode(chars)
    }

    /// Accepts lower case, spaces and hyphens, as typed from a printout.
    pub fn parse(input: &str) -> Result<Self, ProtocolError> {
        let s: String = input
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if s.len() != CODE_CHARS || !s.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
            return Err(ProtocolError::EnrolmentCodeFormat);
        }
        Ok(EnrolmentCode(s))
    }

    /// The twelve characters without separators (what is hashed and stored).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Grouped for reading aloud and typing: `ABCD-EFGH-JKMN`.
    pub fn display_grouped(&self) -> String {
        format!("{}-{}-{}", &self.0[..4], &self.0[4..8], &self.0[8..])
    }
}

impl fmt::Debug for EnrolmentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A code is a secret until used.
        f.write_str("EnrolmentCode(..)")
    }
}
impl fmt::Display for EnrolmentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_grouped())
    }
}
impl FromStr for EnrolmentCode {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, ProtocolError> {
        EnrolmentCode::parse(s)
    }
}
impl Serialize for EnrolmentCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.display_grouped())
    }
}
impl<'de> Deserialize<'de> for EnrolmentCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What the enrolment QR code carries: where the bureau is, the code to send it,
/// and the fingerprint of the bureau's key. The same three are printed beside the
/// QR code for typing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentInvite {
    /// Always [`EnrolmentInvite::KIND`], so a tablet can tell this QR from others.
    pub kind: String,
    pub version: u32,
    /// Base URL of the bureau, e.g. `https://fieldlead.example.gov.cn`.
    pub server: String,
    pub code: EnrolmentCode,
    /// The district's name, shown on the tablet before it enrols.
    pub district: String,
    /// [`PublicKey::fingerprint`] of the bureau's key: the tablet keeps the key the
    /// bureau answers with only if it matches, so a server at a mistyped or
    /// hijacked address cannot pose as the bureau.
    pub bureau_key_fingerprint: KeyFingerprint,
}

impl EnrolmentInvite {
    pub const KIND: &'static str = "fieldlead-enrolment";
    const FINGERPRINT_FIELD: &'static str = "bureau_key_fingerprint";

    pub fn new(
        server: &str,
        code: EnrolmentCode,
        district: &str,
        bureau_key_fingerprint: KeyFingerprint,
    ) -> Self {
        EnrolmentInvite {
            kind: Self::KIND.to_string(),
            version: PROTOCOL_VERSION,
            server: server.trim_end_matches('/').to_string(),
            code,
            district: district.to_string(),
            bureau_key_fingerprint,
        }
    }

    /// The QR payload: compact JSON.
    pub fn to_qr_text(&self) -> String {
        serde_json::to_string(self).expect("an invite always serialises")
    }

    /// Reads a scanned QR text. An invite printed before invites carried the
    /// bureau's fingerprint is refused as outdated, so the sampler asks for a new
    /// one rather than enrolling with nothing to check the bureau against.
    pub fn parse_qr_text(text: &str) -> Result<Self, ProtocolError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|_| ProtocolError::InviteFormat)?;
        let fields = value.as_object().ok_or(ProtocolError::InviteFormat)?;
        if fields.get("kind").and_then(|k| k.as_str()) != Some(Self::KIND) {
            return Err(ProtocolError::InviteFormat);
        }
        if !fields.contains_key(Self::FINGERPRINT_FIELD) {
            return Err(ProtocolError::InviteOutdated);
        }
        let invite: EnrolmentInvite =
            serde_json::from_value(value).map_err(|_| ProtocolError::InviteFormat)?;
        if invite.version != PROTOCOL_VERSION {
            return Err(ProtocolError::InviteFormat);
        }
        Ok(invite)
    }
}

/// A tablet asks to enrol: the code, its new public key, a label for the bureau's
/// device list, and a signature proving it holds the private key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentRequest {
    pub code: EnrolmentCode,
    pub public_key: PublicKey,
    pub label: String,
    pub proof: Signature,
}

impl EnrolmentRequest {
    /// The bytes the device key signs: binds the key to this one code.
    pub fn proof_message(code: &EnrolmentCode, public_key: &PublicKey) -> Vec<u8> {
        format!("fieldlead-enrol-v1\n{}\n{}", code.as_str(), public_key).into_bytes()
    }

    pub fn new(code: EnrolmentCode, label: &str, key: &SigningKey) -> Self {
        let public_key = key.public_key();
        let proof = key.sign(&Self::proof_message(&code, &public_key));
        EnrolmentRequest {
            code,
            public_key,
            label: label.to_string(),
            proof,
        }
    }

    /// Checks the label and the proof of possession.
    pub fn validate(&self) -> Result<(), ProtocolError> {
        let label = self.label.trim();
        if label.is_empty()
            || label.chars().count() > MAX_DEVICE_LABEL_CHARS
            || label.chars().any(char::is_control)
        {
            return Err(ProtocolError::DeviceLabel);
        }
        if !self.public_key.verify(
            &Self::proof_message(&self.code, &self.public_key),
            &self.proof,
        ) {
            return Err(ProtocolError::EnrolmentProof);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistrictInfo {
    /// Short stable code, e.g. `yuzhong`.
    pub code: String,
    /// e.g. `渝中区市场监督管理局`.
    pub name: String,
}

/// The bureau's answer to an enrolment. The token is shown once; the bureau keeps
/// only its hash. The tablet keeps the bureau key to verify receipts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentResponse {
    pub device_id: DeviceId,
    pub token: String,
    pub district: DistrictInfo,
    pub bureau_key: PublicKey,
    pub server_time: DateTime<Utc>,
}

// ---------------------------------------------------------------------------
// Leads and blobs

/// The body of `PUT /api/v1/leads/{id}`: the signed manifest and the whole audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadUpload {
    pub manifest: SignedManifest,
    pub log: Vec<SignedEntry>,
}

/// What a blob is to its lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlobKind {
    /// An evidence photo.
    Photo,
    /// A handwritten signature image.
    Signature,
}

crate::wire_names!(BlobKind, "材料类型", {
    Photo => "photo",
    Signature => "signature",
});

impl BlobKind {
    /// How the console and forms name the kind.
    pub fn label_zh(self) -> &'static str {
        match self {
            BlobKind::Photo => "照片",
            BlobKind::Signature => "签名",
        }
    }
}

/// One blob a manifest names, with the size the bureau expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobRef {
    pub sha256: Sha256,
    pub bytes: u64,
    pub kind: BlobKind,
}

/// Every blob a manifest names (photos and signature images), sorted by hash,
/// each once. The same bytes named twice with different sizes is refused.
pub fn manifest_blobs(manifest: &Manifest) -> Result<Vec<BlobRef>, ProtocolError> {
    let mut all: Vec<BlobRef> = manifest
        .evidence
        .iter()
        .map(|e| BlobRef {
            sha256: e.sha256,
            bytes: e.bytes,
            kind: BlobKind::Photo,
        })
        .chain(manifest.signoffs.iter().filter_map(|s| match &s.signoff {
            SignoffKind::Signed {
                image_sha256,
                image_bytes,
            } => Some(BlobRef {
                sha256: *image_sha256,
                bytes: *image_bytes,
                kind: BlobKind::Signature,
            }),
            SignoffKind::Refused { .. } => None,
        }))
        .collect();
    all.sort_by_key(|b| (b.sha256, b.kind == BlobKind::Signature));
    let mut out: Vec<BlobRef> = Vec::with_capacity(all.len());
    for b in all {
        match out.last() {
            Some(prev) if prev.sha256 == b.sha256 => {
                if prev.bytes != b.bytes {
                    return Err(ProtocolError::BlobSizeConflict(b.sha256));
                }
            }
            _ => out.push(b),
        }
    }
    Ok(out)
}

/// The answer to `PUT /api/v1/leads/{id}`: 201 the first time, 200 for the same
/// manifest again. `receipt` is present once every blob is held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutLeadResponse {
    pub lead_id: LeadId,
    pub manifest_hash: Sha256,
    /// When the bureau first accepted this manifest (server clock).
    pub received_at: DateTime<Utc>,
    pub missing_blobs: Vec<BlobRef>,
    pub receipt: Option<Receipt>,
}

/// How much of a blob the bureau holds: `GET /api/v1/blobs/{sha256}` and the
/// answer to each `PUT`. Resume an upload from `offset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobStatus {
    pub sha256: Sha256,
    /// The size the manifest declared.
    pub bytes: u64,
    /// Bytes held so far; equals `bytes` once complete.
    pub offset: u64,
    pub complete: bool,
    /// Leads whose every blob is now present (their receipts are ready).
    #[serde(default)]
    pub completed_leads: Vec<LeadId>,
}

// ---------------------------------------------------------------------------
// Receipt

/// What the bureau attests: this lead, this manifest, these blobs, received then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBody {
    pub format: u32,
    pub lead_id: LeadId,
    pub device_id: DeviceId,
    /// The receiving district's code.
    pub district: String,
    pub manifest_hash: Sha256,
    /// Every blob of the manifest, sorted.
    pub blobs: Vec<Sha256>,
    /// When the manifest was first accepted: the time the lead was reported.
    pub received_at: DateTime<Utc>,
    /// When the last blob arrived.
    pub completed_at: DateTime<Utc>,
}

/// The bureau's signed receipt. The signature is over the SHA-256 of the RFC 8785
/// canonical JSON of the body, like every other signature in fieldlead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub receipt: ReceiptBody,
    pub signature: Signature,
}

/// Why a receipt does not prove delivery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("回执格式版本 {0} 不受支持")]
    Format(u32),
    #[error("回执签名无效（不是本区局签发，或已被修改）")]
    Signature,
    #[error("回执的线索编号与本记录不符")]
    Lead,
    #[error("回执的清单哈希与本记录的封存清单不符")]
    ManifestHash,
    #[error("回执所列文件与清单不符")]
    Blobs,
    #[error("{0}")]
    Canonical(String),
}

impl ReceiptError {
    pub fn code(&self) -> &'static str {
        match self {
            ReceiptError::Format(_) => "receipt_format",
            ReceiptError::Signature => "receipt_signature",
            ReceiptError::Lead => "receipt_lead",
            ReceiptError::ManifestHash => "receipt_manifest_hash",
            ReceiptError::Blobs => "receipt_blobs",
            ReceiptError::Canonical(_) => "receipt_canonical",
        }
    }
}

impl Receipt {
    pub fn sign(body: ReceiptBody, key: &SigningKey) -> Result<Self, CanonicalError> {
        let digest = canonical_hash(&body)?;
        Ok(Receipt {
            signature: key.sign(digest.as_bytes()),
            receipt: body,
        })
    }

    /// Checks the bureau's signature only.
    pub fn verify(&self, bureau_key: &PublicKey) -> Result<(), ReceiptError> {
        if self.receipt.format != RECEIPT_FORMAT {
            return Err(ReceiptError::Format(self.receipt.format));
        }
        let digest =
            canonical_hash(&self.receipt).map_err(|e| ReceiptError::Canonical(e.to_string()))?;
        if !bureau_key.verify(digest.as_bytes(), &self.signature) {
            return Err(ReceiptError::Signature);
        }
        Ok(())
    }

    /// Checks the signature and that the receipt covers exactly this sealed lead:
    /// what a tablet does before it shows the lead as delivered.
    pub fn verify_for(
        &self,
        bureau_key: &PublicKey,
        signed: &SignedManifest,
    ) -> Result<(), ReceiptError> {
        self.verify(bureau_key)?;
        if self.receipt.lead_id != signed.manifest.lead_id {
            return Err(ReceiptError::Lead);
        }
        if self.receipt.manifest_hash != signed.manifest_hash {
            return Err(ReceiptError::ManifestHash);
        }
        let expected: Vec<Sha256> = manifest_blobs(&signed.manifest)
            .map_err(|_| ReceiptError::Blobs)?
            .iter()
            .map(|b| b.sha256)
            .collect();
        if self.receipt.blobs != expected {
            return Err(ReceiptError::Blobs);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Status and errors

/// The district's decision on a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// 立案
    CaseFiled,
    /// 不予立案
    Declined,
}

crate::wire_names!(Decision, "处理决定", {
    CaseFiled => "case_filed",
    Declined => "declined",
});

impl Decision {
    pub fn label_zh(self) -> &'static str {
        match self {
            Decision::CaseFiled => "已立案",
            Decision::Declined => "不予立案",
        }
    }
}

/// What the bureau says about a lead: the body of [`SignedLeadStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadStatus {
    pub lead_id: LeadId,
    pub manifest_hash: Sha256,
    /// `sealed` while blobs are missing, then `delivered` and the bureau's states.
    pub state: LeadState,
    pub state_label: String,
    pub received_at: DateTime<Utc>,
    pub missing_blobs: Vec<BlobRef>,
    pub receipt: Option<Receipt>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub decision: Option<Decision>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decline_reason: Option<String>,
    pub reported_to_city_on: Option<NaiveDate>,
    pub updated_at: DateTime<Utc>,
}

/// The answer to `GET /api/v1/leads/{id}`: the lead's status signed with the
/// bureau's key, because what it says (delivered, declined, reported to the city)
/// changes what the sampler sees and whether the tablet keeps asking. The signature
/// is over the SHA-256 of the RFC 8785 canonical JSON of this object without its
/// `signature`, i.e. of `{"format", "status"}`, like the receipt's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedLeadStatus {
    /// Always [`LEAD_STATUS_FORMAT`].
    pub format: u32,
    pub status: LeadStatus,
    pub signature: Signature,
}

/// What the signature covers: every field but the signature.
#[derive(Serialize)]
struct SignedStatusBody<'a> {
    format: u32,
    status: &'a LeadStatus,
}

/// Why a status answer is not taken as the bureau's word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    #[error("区局状态的格式版本 {0} 不受支持，未采用；请升级应用")]
    Format(u32),
    #[error("区局状态的签名无效（不是本区局签发，或在途中被改动），未采用")]
    Signature,
    #[error("区局回应的是另一条线索的状态，未采用")]
    Lead,
    #[error("{0}")]
    Canonical(String),
}

impl StatusError {
    pub fn code(&self) -> &'static str {
        match self {
            StatusError::Format(_) => "status_format",
            StatusError::Signature => "status_signature",
            StatusError::Lead => "status_lead",
            StatusError::Canonical(_) => "status_canonical",
        }
    }
}

impl SignedLeadStatus {
    pub fn sign(status: LeadStatus, key: &SigningKey) -> Result<Self, CanonicalError> {
        let digest = canonical_hash(&SignedStatusBody {
            format: LEAD_STATUS_FORMAT,
            status: &status,
        })?;
        Ok(SignedLeadStatus {
            format: LEAD_STATUS_FORMAT,
            signature: key.sign(digest.as_bytes()),
            status,
        })
    }

    /// The status, once the bureau's signature checks and it is about `lead`:
    /// what the tablet does before it stores or shows anything of it.
    pub fn verify(self, bureau_key: &PublicKey, lead: LeadId) -> Result<LeadStatus, StatusError> {
        if self.format != LEAD_STATUS_FORMAT {
            return Err(StatusError::Format(self.format));
        }
        let digest = canonical_hash(&SignedStatusBody {
            format: self.format,
            status: &self.status,
        })
        .map_err(|e| StatusError::Canonical(e.to_string()))?;
        if !bureau_key.verify(digest.as_bytes(), &self.signature) {
            return Err(StatusError::Signature);
        }
        if self.status.lead_id != lead {
            return Err(StatusError::Lead);
        }
        Ok(self.status)
    }
}

/// Every refusal's body: a stable code for programs and a Chinese message that
/// says what to do. `detail` carries structured facts (an offset, an entry index).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

impl ErrorBody {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ErrorBody {
            code: code.to_string(),
            message: message.into(),
            detail: None,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn wire_names_are_the_serde_names() {
        crate::wire::assert_names_match_serde(&super::BlobKind::ALL, |k| k.as_str());
        crate::wire::assert_names_match_serde(&super::Decision::ALL, |d| d.as_str());
        crate::wire::assert_names_match_serde(&crate::Party::ALL, |p| p.as_str());
    }

    use super::*;
    use chrono::TimeZone;

    #[test]
    fn enrolment_code_roundtrip_and_refusals() {
        let code = EnrolmentCode::from_random(&[7u8; 24]);
        let again = EnrolmentCode::parse(&code.display_grouped().to_lowercase()).unwrap();
        assert_eq!(code, again);
        assert_eq!(code.display_grouped().len(), 14);
        assert!(EnrolmentCode::parse("ABCD-EFGH-JKM").is_err());
        // O and 0 are never in a code: a typo is refused, not silently accepted.
        assert!(EnrolmentCode::parse("ABCD-EFGH-JKMO").is_err());
        assert_eq!(format!("{code:?}"), "EnrolmentCode(..)");
    }

    #[test]
    fn enrolment_proof_binds_key_and_code() {
        let key = SigningKey::from_seed(&[3u8; 32]);
        let code = EnrolmentCode::parse("ABCD-EFGH-JKMN").unwrap();
        let req = EnrolmentRequest::new(code.clone(), "平板 01", &key);
        req.validate().unwrap();
        let mut other_code = req.clone();
        other_code.code = EnrolmentCode::parse("ABCD-EFGH-JKMP").unwrap();
        assert_eq!(other_code.validate(), Err(ProtocolError::EnrolmentProof));
        let mut stolen = req.clone();
        stolen.public_key = SigningKey::from_seed(&[4u8; 32]).public_key();
        assert_eq!(stolen.validate(), Err(ProtocolError::EnrolmentProof));
        let mut blank = req;
        blank.label = "  ".into();
        assert_eq!(blank.validate(), Err(ProtocolError::DeviceLabel));
    }

    #[test]
    fn invite_qr_roundtrip_carries_the_bureau_fingerprint() {
        let code = EnrolmentCode::parse("ABCD-EFGH-JKMN").unwrap();
        let fp = SigningKey::from_seed(&[5u8; 32]).public_key().fingerprint();
        let inv = EnrolmentInvite::new("http://127.0.0.1:8080/", code, "渝中区", fp);
        let text = inv.to_qr_text();
        assert!(text.contains(&fp.display_grouped()), "{text}");
        let parsed = EnrolmentInvite::parse_qr_text(&text).unwrap();
        assert_eq!(parsed.server, "http://127.0.0.1:8080");
        assert_eq!(parsed.bureau_key_fingerprint, fp);
        assert_eq!(parsed, inv);
        assert_eq!(
            EnrolmentInvite::parse_qr_text(r#"{"kind":"wifi"}"#),
            Err(ProtocolError::InviteFormat)
        );
        // A damaged fingerprint is not a usable invite.
        let damaged = text.replace(&fp.display_grouped(), "3F2A-91C0");
        assert_eq!(
            EnrolmentInvite::parse_qr_text(&damaged),
            Err(ProtocolError::InviteFormat)
        );
    }

    #[test]
    fn an_invite_printed_before_fingerprints_is_refused_as_outdated() {
        let old = r#"{"kind":"fieldlead-enrolment","version":1,"server":"https://lead.example.gov.cn","code":"ABCD-EFGH-JKMN","district":"渝中区"}"#;
        let err = EnrolmentInvite::parse_qr_text(old).unwrap_err();
        assert_eq!(err, ProtocolError::InviteOutdated);
        assert_eq!(err.code(), "invite_outdated");
        assert!(err.to_string().contains("新的注册二维码"), "{err}");
    }

    fn status(lead_id: LeadId, state: LeadState) -> LeadStatus {
        let at = Utc.with_ymd_and_hms(2026, 11, 20, 2, 30, 0).unwrap();
        LeadStatus {
            lead_id,
            manifest_hash: Sha256::digest(b"m"),
            state,
            state_label: state.label_zh().into(),
            received_at: at,
            missing_blobs: vec![],
            receipt: None,
            acknowledged_at: None,
            decision: None,
            decided_at: None,
            decline_reason: None,
            reported_to_city_on: None,
            updated_at: at,
        }
    }

    #[test]
    fn a_signed_status_verifies_only_unchanged_for_its_lead_and_key() {
        let key = SigningKey::from_seed(&[9u8; 32]);
        let lead = LeadId::new();
        let signed = SignedLeadStatus::sign(status(lead, LeadState::Delivered), &key).unwrap();
        // Through JSON, as it travels.
        let wire: SignedLeadStatus =
            serde_json::from_str(&serde_json::to_string(&signed).unwrap()).unwrap();
        assert_eq!(
            wire.clone().verify(&key.public_key(), lead).unwrap().state,
            LeadState::Delivered
        );
        // Declined in transit: the signature no longer covers it.
        let mut forged = wire.clone();
        forged.status.state = LeadState::Declined;
        assert_eq!(
            forged.verify(&key.public_key(), lead),
            Err(StatusError::Signature)
        );
        // Signed by another key.
        let other = SigningKey::from_seed(&[10u8; 32]);
        assert_eq!(
            wire.clone()
                .verify(&other.public_key(), lead)
                .unwrap_err()
                .code(),
            "status_signature"
        );
        // Another lead's genuine status in place of this one's.
        assert_eq!(
            wire.clone().verify(&key.public_key(), LeadId::new()),
            Err(StatusError::Lead)
        );
        // A layout this build does not know is not guessed at.
        let mut unknown = wire;
        unknown.format = 2;
        assert_eq!(
            unknown.verify(&key.public_key(), lead),
            Err(StatusError::Format(2))
        );
    }

    #[test]
    fn receipt_signature_covers_every_field() {
        let key = SigningKey::from_seed(&[9u8; 32]);
        let body = ReceiptBody {
            format: RECEIPT_FORMAT,
            lead_id: LeadId::new(),
            device_id: DeviceId::new(),
            district: "yuzhong".into(),
            manifest_hash: Sha256::digest(b"m"),
            blobs: vec![Sha256::digest(b"a")],
            received_at: Utc.with_ymd_and_hms(2026, 11, 20, 2, 30, 0).unwrap(),
            completed_at: Utc.with_ymd_and_hms(2026, 11, 20, 2, 31, 0).unwrap(),
        };
        let r = Receipt::sign(body, &key).unwrap();
        r.verify(&key.public_key()).unwrap();
        let mut later = r.clone();
        later.receipt.received_at = Utc.with_ymd_and_hms(2026, 11, 21, 2, 30, 0).unwrap();
        assert_eq!(
            later.verify(&key.public_key()),
            Err(ReceiptError::Signature)
        );
        let other = SigningKey::from_seed(&[10u8; 32]);
        assert_eq!(
            r.verify(&other.public_key()).unwrap_err().code(),
            "receipt_signature"
        );
    }
}
