//! Uploading a sealed lead: the `PUT /api/v1/leads/{id}` body and answer, the
//! blobs a manifest names ([`manifest_blobs`]) and how much of each the bureau holds.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ProtocolError, Receipt};
use crate::audit::SignedEntry;
use crate::ids::{LeadId, Sha256};
use crate::manifest::{Manifest, SignedManifest, SignoffKind};

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
