//! Enrolment: the one-time code, the invite behind the bureau's QR code, the
//! tablet's request with its proof of key possession, and the bureau's answer.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{ProtocolError, MAX_DEVICE_LABEL_CHARS, PROTOCOL_VERSION};
use crate::crypto::{KeyFingerprint, PublicKey, Signature, SigningKey};
use crate::ids::DeviceId;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
