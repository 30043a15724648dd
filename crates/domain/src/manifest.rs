//! The sealed manifest of a lead, and the one verify function the tablet and the
//! bureau both use.
//!
//! Sealing: the record, the sorted evidence list and the head of the audit log are
//! put in a [`Manifest`]; its canonical hash is signed by the device key; then a
//! final `sealed` entry naming that hash closes the log. The manifest pins the log
//! before it, and the log's last entry pins the manifest.

use crate::protocol::ErrorCode;
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::audit::{verify_chain_keeping, ChainError, LogEvent, SignedEntry};
use crate::canonical::{canonical_hash, canonical_json, CanonicalError};
use crate::crypto::{PublicKey, Signature, SigningKey};
use crate::geo::GeoPoint;
use crate::ids::{LeadId, Sha256};
use crate::record::{Record, MAX_LINE_CHARS};
use crate::text::{text_problems, FieldProblem};

/// The version of the manifest layout a tablet seals with. Format 2 added the
/// record's 任务来源 (level and 任务文号), 抽样单编号 and a platform shop's
/// 电子商务平台.
pub const MANIFEST_FORMAT: u32 = 2;
/// Every layout the bureau accepts: a lead sealed before a tablet's upgrade is
/// still reported, judged by its own format's rules. Others are refused.
pub const ACCEPTED_MANIFEST_FORMATS: [u32; 2] = [1, 2];
/// Longest caption of a photo.
pub const MAX_CAPTION_CHARS: usize = 200;
/// Most photos one lead may carry. A visit that needs more is several records.
pub const MAX_EVIDENCE: usize = 100;
/// Most entries one record's audit log may hold (each save of the form adds one).
pub const MAX_LOG_ENTRIES: usize = 10_000;
/// Longest camera-written text (make, model, EXIF time fields) in an entry.
const MAX_EXIF_TEXT_CHARS: usize = 200;

/// One photo in the evidence list, as sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceEntry {
    pub sha256: Sha256,
    pub bytes: u64,
    /// `jpeg`, `png`, `webp` or `heic`.
    pub format: String,
    /// What the photo shows.
    pub caption: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The capture time as the tablet read it, in EXIF's form: EXIF
    /// DateTimeOriginal, else CreateDate, else XMP (the evidence crate's
    /// `ExifSummary`). Records sealed before XMP and CreateDate were read have
    /// only DateTimeOriginal here.
    pub exif_datetime: Option<String>,
    pub exif_offset: Option<String>,
    pub exif_gps: Option<GeoPoint>,
    pub make: Option<String>,
    pub model: Option<String>,
    /// 64-bit perceptual hash as 16 hex characters.
    pub phash: Option<String>,
    /// When the photo was taken into the app (device clock).
    pub added_at: DateTime<FixedOffset>,
}

/// Who signs the transfer form on site.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    Sampler1,
    Sampler2,
    /// The sampled business's person on site.
    Business,
}

crate::wire_names!(Party, "签字方", {
    Sampler1 => "sampler1",
    Sampler2 => "sampler2",
    Business => "business",
});

impl Party {
    pub fn label_zh(self) -> &'static str {
        match self {
            Party::Sampler1 => "抽样人员一",
            Party::Sampler2 => "抽样人员二",
            Party::Business => "被抽样单位人员",
        }
    }
}

/// How one party signed: a handwritten signature image (a PNG blob, delivered like
/// the photos), or, for the business only, a refusal with a witness.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum SignoffKind {
    Signed {
        image_sha256: Sha256,
        image_bytes: u64,
    },
    /// 拒签: the business's person refused to sign; a witness attests it.
    Refused { witness: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signoff {
    pub party: Party,
    /// The signer's name as printed beside the signature.
    pub name: String,
    pub signoff: SignoffKind,
    pub at: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogHead {
    pub seq: u64,
    pub entry_hash: Sha256,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub lead_id: LeadId,
    pub device_key: PublicKey,
    pub record: Record,
    /// Sorted by SHA-256, no duplicates.
    pub evidence: Vec<EvidenceEntry>,
    /// One per party, in [`Party`] order.
    pub signoffs: Vec<Signoff>,
    pub log_head: LogHead,
    pub sealed_at: DateTime<FixedOffset>,
}

impl Manifest {
    pub fn hash(&self) -> Result<Sha256, CanonicalError> {
        canonical_hash(self)
    }

    /// How messages name one of the lead's blobs: 照片“caption”, or whose
    /// signature image it is; a hash the manifest does not name, by its short form.
    pub fn blob_label(&self, sha256: Sha256) -> String {
        if let Some(e) = self.evidence.iter().find(|e| e.sha256 == sha256) {
            return format!("照片“{}”", e.caption);
        }
        self.signoffs
            .iter()
            .find(|s| {
                matches!(s.signoff, SignoffKind::Signed { image_sha256, .. } if image_sha256 == sha256)
            })
            .map(|s| format!("{}的签名图片", s.party.label_zh()))
            .unwrap_or_else(|| format!("文件 {}", sha256.short()))
    }

    /// The content rules of a sealed lead, the same for the tablet before it signs
    /// and the bureau on receipt: the record passes the form's field rules, a
    /// terminated sampling has at least one photo, and no text anywhere in it
    /// (captions, names, camera fields) holds control or bidi-override characters.
    pub fn problems(&self) -> Vec<FieldProblem> {
        let mut out = self.record.problems(self.format);
        if self.record.outcome.is_lead() && self.evidence.is_empty() {
            out.push(FieldProblem::new(
                "evidence",
                "no_evidence",
                "终止抽样须至少附一张现场照片",
            ));
        }
        for (i, e) in self.evidence.iter().enumerate() {
            let n = i + 1;
            let field = |name: &str| format!("evidence[{i}].{name}");
            out.extend(text_problems(
                &field("caption"),
                &format!("第 {n} 张照片的说明"),
                &e.caption,
                MAX_CAPTION_CHARS,
            ));
            if !matches!(e.format.as_str(), "jpeg" | "png" | "webp" | "heic") {
                out.push(FieldProblem::new(
                    &field("format"),
                    "format",
                    format!(
                        "第 {n} 张照片的格式“{}”不受支持",
                        crate::text::strip_forbidden(&e.format)
                    ),
                ));
            }
            for (name, value) in [
                ("exif_datetime", &e.exif_datetime),
                ("exif_offset", &e.exif_offset),
                ("make", &e.make),
                ("model", &e.model),
                ("phash", &e.phash),
            ] {
                if let Some(v) = value {
                    out.extend(text_problems(
                        &field(name),
                        &format!("第 {n} 张照片的 {name}"),
                        v,
                        MAX_EXIF_TEXT_CHARS,
                    ));
                }
            }
        }
        for s in &self.signoffs {
            let field = format!(
                "signoffs.{}",
                serde_json::to_value(s.party)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            );
            out.extend(text_problems(
                &format!("{field}.name"),
                &format!("{}姓名", s.party.label_zh()),
                &s.name,
                MAX_LINE_CHARS,
            ));
            if let SignoffKind::Refused { witness } = &s.signoff {
                out.extend(text_problems(
                    &format!("{field}.witness"),
                    "见证人",
                    witness,
                    MAX_LINE_CHARS,
                ));
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedManifest {
    pub manifest: Manifest,
    pub manifest_hash: Sha256,
    pub signature: Signature,
}

impl SignedManifest {
    pub fn sign(manifest: Manifest, key: &SigningKey) -> Result<Self, CanonicalError> {
        let manifest_hash = manifest.hash()?;
        let signature = key.sign(manifest_hash.as_bytes());
        Ok(SignedManifest {
            manifest,
            manifest_hash,
            signature,
        })
    }
}

/// Why a lead failed verification. `code()` is the machine-readable reason the
/// bureau returns with a 422.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("锁定记录的格式版本 {0} 不受支持，请升级区县局服务器")]
    UnknownFormat(u32),
    #[error("锁定记录的线索编号与记录编号不一致")]
    LeadIdMismatch,
    #[error("锁定记录的内容与其存证摘要不符（记录被修改）")]
    ManifestHash,
    #[error("锁定记录的签名无效")]
    ManifestSignature,
    #[error("记录不是终止抽样，不构成违法线索")]
    NotALead,
    #[error("终止抽样未列明任何涉嫌情形")]
    NoGrounds,
    #[error("证据列表未按哈希排序或有重复")]
    EvidenceOrder,
    #[error("第 {0} 张照片缺少说明")]
    EvidenceCaption(usize),
    #[error("{}的签名缺失或不完整", .0.label_zh())]
    Signoff(Party),
    #[error("{0}")]
    Chain(#[from] ChainError),
    #[error("锁定记录所载的日志头与审计日志不符")]
    LogHead,
    #[error("审计日志未以锁定条目结束，或锁定条目与存证摘要不符")]
    SealEntry,
    #[error("一条线索最多 {max} 张照片，本记录有 {found} 张")]
    TooManyEvidence { found: usize, max: usize },
    #[error("一条记录的审计日志最多 {max} 条，本记录有 {found} 条")]
    TooManyLogEntries { found: usize, max: usize },
    #[error("{}", problems_text(.0))]
    Fields(Vec<FieldProblem>),
}

fn problems_text(problems: &[FieldProblem]) -> String {
    let all: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
    format!("记录内容不符合填写规则：{}", all.join("；"))
}

impl VerifyError {
    /// The code the bureau answers with.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            VerifyError::UnknownFormat(_) => ErrorCode::ManifestFormat,
            VerifyError::LeadIdMismatch => ErrorCode::LeadIdMismatch,
            VerifyError::ManifestHash => ErrorCode::ManifestHash,
            VerifyError::ManifestSignature => ErrorCode::ManifestSignature,
            VerifyError::NotALead => ErrorCode::NotALead,
            VerifyError::NoGrounds => ErrorCode::NoGrounds,
            VerifyError::EvidenceOrder => ErrorCode::EvidenceOrder,
            VerifyError::EvidenceCaption(_) => ErrorCode::EvidenceCaption,
            VerifyError::Signoff(_) => ErrorCode::Signoff,
            VerifyError::Chain(e) => e.fault.error_code(),
            VerifyError::LogHead => ErrorCode::LogHead,
            VerifyError::SealEntry => ErrorCode::SealEntry,
            VerifyError::TooManyEvidence { .. } => ErrorCode::TooManyEvidence,
            VerifyError::TooManyLogEntries { .. } => ErrorCode::TooManyLogEntries,
            VerifyError::Fields(_) => ErrorCode::InvalidFields,
        }
    }

    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }
}

/// Verifies a sealed lead: manifest hash and signature, the record is a lead with
/// grounds, the evidence list is well-formed, the audit chain is intact and signed by
/// the same key, and the manifest and the log pin each other. Whether the key belongs
/// to an enrolled device is the caller's question.
pub fn verify_lead(signed: &SignedManifest, log: &[SignedEntry]) -> Result<(), VerifyError> {
    verify_lead_keeping(signed, log).map(drop)
}

/// The canonical JSON a verified lead's hashes were checked against: the
/// manifest's and each log entry's, in log order.
pub(crate) struct HashedForms {
    pub manifest: Vec<u8>,
    pub entries: Vec<Vec<u8>>,
}

/// [`verify_lead`], keeping the canonical forms it hashed.
pub(crate) fn verify_lead_keeping(
    signed: &SignedManifest,
    log: &[SignedEntry],
) -> Result<HashedForms, VerifyError> {
    let m = &signed.manifest;
    if !ACCEPTED_MANIFEST_FORMATS.contains(&m.format) {
        return Err(VerifyError::UnknownFormat(m.format));
    }
    // Bounds first, before any hashing or signature work scales with them.
    if m.evidence.len() > MAX_EVIDENCE {
        return Err(VerifyError::TooManyEvidence {
            found: m.evidence.len(),
            max: MAX_EVIDENCE,
        });
    }
    if log.len() > MAX_LOG_ENTRIES {
        return Err(VerifyError::TooManyLogEntries {
            found: log.len(),
            max: MAX_LOG_ENTRIES,
        });
    }
    if m.record.id != m.lead_id {
        return Err(VerifyError::LeadIdMismatch);
    }
    let manifest = match canonical_json(m) {
        Ok(c) if Sha256::digest(&c) == signed.manifest_hash => c,
        _ => return Err(VerifyError::ManifestHash),
    };
    if !m
        .device_key
        .verify(signed.manifest_hash.as_bytes(), &signed.signature)
    {
        return Err(VerifyError::ManifestSignature);
    }
    match &m.record.outcome {
        crate::record::Outcome::Terminated { grounds, .. } if grounds.is_empty() => {
            return Err(VerifyError::NoGrounds)
        }
        crate::record::Outcome::Terminated { .. } => {}
        _ => return Err(VerifyError::NotALead),
    }
    if m.evidence.windows(2).any(|w| w[0].sha256 >= w[1].sha256) {
        return Err(VerifyError::EvidenceOrder);
    }
    if let Some(i) = m.evidence.iter().position(|e| e.caption.trim().is_empty()) {
        return Err(VerifyError::EvidenceCaption(i + 1));
    }
    check_signoffs(&m.signoffs)?;
    let problems = m.problems();
    if !problems.is_empty() {
        return Err(VerifyError::Fields(problems));
    }
    let mut entries = Vec::with_capacity(log.len());
    verify_chain_keeping(m.lead_id, log, &m.device_key, |c| entries.push(c))?;
    let head_index = usize::try_from(m.log_head.seq).map_err(|_| VerifyError::LogHead)?;
    match log.get(head_index) {
        Some(e) if e.entry_hash == m.log_head.entry_hash => {}
        _ => return Err(VerifyError::LogHead),
    }
    // The sealed entry must follow the head immediately and end the log.
    match log.get(head_index + 1) {
        Some(e)
            if log.len() == head_index + 2
                && e.entry.event == LogEvent::Sealed
                && e.entry
                    .payload
                    .get("manifest_hash")
                    .and_then(|v| v.as_str())
                    == Some(signed.manifest_hash.to_hex().as_str()) => {}
        _ => return Err(VerifyError::SealEntry),
    }
    Ok(HashedForms { manifest, entries })
}

/// Both samplers signed; the business signed or refused before a named witness.
/// Exactly one signoff per party, in party order.
pub fn check_signoffs(signoffs: &[Signoff]) -> Result<(), VerifyError> {
    for (i, party) in Party::ALL.into_iter().enumerate() {
        let ok = match signoffs.get(i) {
            Some(s) if s.party == party && !s.name.trim().is_empty() => match &s.signoff {
                SignoffKind::Signed { image_bytes, .. } => *image_bytes > 0,
                SignoffKind::Refused { witness } => {
                    party == Party::Business && !witness.trim().is_empty()
                }
            },
            _ => false,
        };
        if !ok {
            return Err(VerifyError::Signoff(party));
        }
    }
    if signoffs.len() != Party::ALL.len() {
        return Err(VerifyError::Signoff(Party::Business));
    }
    Ok(())
}
