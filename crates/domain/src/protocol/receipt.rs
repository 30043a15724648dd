//! The bureau's signed receipt: what it attests, how a tablet checks the signature,
//! and the one check that a receipt covers a given sealed lead ([`Receipt::covers`]),
//! used by the tablet and by the bundle verifier alike.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{manifest_blobs, RECEIPT_FORMAT};
use crate::canonical::{canonical_hash, CanonicalError};
use crate::crypto::{PublicKey, Signature, SigningKey};
use crate::ids::{DeviceId, LeadId, Sha256};
use crate::manifest::SignedManifest;

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
    #[error("回执签名无效（不是本区县局签发，或已被修改）")]
    Signature,
    #[error("回执的线索编号与本记录不符")]
    Lead,
    #[error("回执的存证摘要与本记录锁定时的存证摘要不符")]
    ManifestHash,
    #[error("回执所列文件与锁定记录不符")]
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
        self.covers(signed)
    }

    /// Without the bureau's key: the receipt names this lead, this manifest and
    /// exactly its blobs. [`Receipt::verify_for`] adds the signature check; a bundle
    /// verified without the key checks only this.
    pub fn covers(&self, signed: &SignedManifest) -> Result<(), ReceiptError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

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
