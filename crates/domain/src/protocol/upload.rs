//! Uploading a sealed lead: the `PUT /api/v1/leads/{id}` body and answer, the
//! blobs a manifest names ([`manifest_blobs`]) and how much of each the bureau holds.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ProtocolError, Receipt};
use crate::audit::SignedEntry;
use crate::canonical::{canonical_json, CanonicalError};
use crate::ids::{push_hex, LeadId, Sha256};
use crate::manifest::{
    verify_lead_keeping, HashedForms, Manifest, SignedManifest, SignoffKind, VerifyError,
};

/// The body of `PUT /api/v1/leads/{id}`: the signed manifest and the whole audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadUpload {
    pub manifest: SignedManifest,
    pub log: Vec<SignedEntry>,
}

impl LeadUpload {
    /// Verifies the lead ([`verify_lead`](crate::verify_lead)) and returns the
    /// upload's canonical JSON, put together from the canonical forms of the
    /// manifest and of each log entry that the verification hashed anyway:
    /// storing the signed bytes then costs a copy instead of a second
    /// canonicalisation of the whole upload (which had been half of the
    /// bureau's database-writer thread's work per lead).
    pub fn verify(&self) -> Result<CanonicalUpload, VerifyError> {
        let hashed = verify_lead_keeping(&self.manifest, &self.log)?;
        let text = assemble(self, hashed);
        debug_assert_eq!(
            Some(text.as_str()),
            CanonicalUpload::of(self)
                .ok()
                .as_ref()
                .map(CanonicalUpload::as_str),
            "the canonical upload put together from its parts differs from RFC 8785's"
        );
        Ok(CanonicalUpload(text))
    }
}

/// The canonical (RFC 8785) JSON of a [`LeadUpload`]: the one spelling of the
/// signed content that the bureau stores, whatever whitespace or key order the
/// tablet sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalUpload(String);

impl CanonicalUpload {
    /// Canonicalises an upload without verifying it (storage tests, imports).
    pub fn of(upload: &LeadUpload) -> Result<Self, CanonicalError> {
        let bytes = canonical_json(upload)?;
        // Canonical JSON is serialised from strings: always UTF-8.
        Ok(CanonicalUpload(
            String::from_utf8(bytes).expect("canonical JSON is UTF-8"),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `{"log":[{"entry":…,"entry_hash":…,"signature":…},…],"manifest":{"manifest":…,
/// "manifest_hash":…,"signature":…}}`, keys in RFC 8785's order, from the
/// canonical forms of the manifest and the entries. The destructuring below
/// stops the build when a field is added to one of these types; the
/// `debug_assert` in [`LeadUpload::verify`] and the tests compare the result
/// with a full canonicalisation.
fn assemble(upload: &LeadUpload, hashed: HashedForms) -> String {
    let LeadUpload { manifest, log } = upload;
    let SignedManifest {
        manifest: _,
        manifest_hash,
        signature,
    } = manifest;
    let entries: usize = hashed.entries.iter().map(|e| e.len() + 200).sum();
    let mut out = Vec::with_capacity(hashed.manifest.len() + entries + 256);
    out.extend_from_slice(b"{\"log\":[");
    for (i, (e, canonical)) in log.iter().zip(&hashed.entries).enumerate() {
        let SignedEntry {
            entry: _,
            entry_hash,
            signature,
        } = e;
        if i > 0 {
            out.push(b',');
        }
        push_signed(&mut out, "entry", canonical, entry_hash, signature);
    }
    out.extend_from_slice(b"],\"manifest\":");
    push_signed(
        &mut out,
        "manifest",
        &hashed.manifest,
        manifest_hash,
        signature,
    );
    out.push(b'}');
    String::from_utf8(out).expect("canonical JSON pieces and hex are UTF-8")
}

/// `{"NAME":CANONICAL,"NAME_hash":"…","signature":"…"}`: a signed entry or
/// manifest, its keys in RFC 8785's order for both names.
fn push_signed(
    out: &mut Vec<u8>,
    name: &str,
    canonical: &[u8],
    hash: &Sha256,
    signature: &crate::crypto::Signature,
) {
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
    out.extend_from_slice(canonical);
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"_hash\":\"");
    push_hex(out, hash.as_bytes());
    out.extend_from_slice(b"\",\"signature\":\"");
    push_hex(out, &signature.to_bytes());
    out.extend_from_slice(b"\"}");
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
