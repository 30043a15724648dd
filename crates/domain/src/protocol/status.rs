//! A lead's status as the bureau reports it (`GET /api/v1/leads/{id}`): the
//! district's decision, the status body and its signed envelope.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{BlobRef, Receipt, LEAD_STATUS_FORMAT};
use crate::canonical::{canonical_hash, CanonicalError};
use crate::crypto::{PublicKey, Signature, SigningKey};
use crate::ids::{LeadId, Sha256};
use crate::lead::LeadState;

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
    #[error("区县局状态的格式版本 {0} 不受支持，未采用；请升级应用")]
    Format(u32),
    #[error("区县局状态的签名无效（不是本区县局签发，或在途中被改动），未采用")]
    Signature,
    #[error("区县局回应的是另一条线索的状态，未采用")]
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

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
}
