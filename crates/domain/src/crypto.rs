//! Ed25519 keys and signatures, with hex encodings for JSON, and the fingerprint
//! by which a person compares a key read from paper with the one a server sent.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::Signer;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ids::Sha256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("公钥应为64位十六进制（32字节 Ed25519 公钥）")]
    PublicKeyFormat,
    #[error("签名应为128位十六进制（64字节 Ed25519 签名）")]
    SignatureFormat,
    #[error(
        "区县局密钥指纹应为32位十六进制（0-9、A-F），可按原样带空格或连字符，例如 3F2A-91C0-…"
    )]
    FingerprintFormat,
}

impl KeyError {
    pub fn code(&self) -> &'static str {
        match self {
            KeyError::PublicKeyFormat => "public_key_format",
            KeyError::SignatureFormat => "signature_format",
            KeyError::FingerprintFormat => "fingerprint_format",
        }
    }
}

/// A device's or the bureau's Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl PublicKey {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }
    /// Strict verification: rejects malleable and small-order signatures. It checks
    /// the same equation as plain `verify` and more, so one call is enough (a second,
    /// plain check used to double the bureau's verification cost for nothing).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> bool {
        self.0.verify_strict(message, &signature.0).is_ok()
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }
    /// The key's fingerprint: what an enrolment invite carries so the tablet can
    /// tell the bureau it meant from any other server.
    pub fn fingerprint(&self) -> KeyFingerprint {
        let digest = Sha256::digest(self.0.as_bytes());
        let mut out = [0u8; FINGERPRINT_BYTES];
        out.copy_from_slice(&digest.as_bytes()[..FINGERPRINT_BYTES]);
        KeyFingerprint(out)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}
impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl FromStr for PublicKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let mut b = [0u8; 32];
        if s.len() != 64 || s.bytes().any(|c| c.is_ascii_uppercase()) {
            return Err(KeyError::PublicKeyFormat);
        }
        hex::decode_to_slice(s, &mut b).map_err(|_| KeyError::PublicKeyFormat)?;
        let key =
            ed25519_dalek::VerifyingKey::from_bytes(&b).map_err(|_| KeyError::PublicKeyFormat)?;
        if key.is_weak() {
            return Err(KeyError::PublicKeyFormat);
        }
        Ok(PublicKey(key))
    }
}

/// Bytes of a fingerprint: 128 bits, so finding another key with the same
/// fingerprint (a second preimage) takes about 2^128 tries.
pub const FINGERPRINT_BYTES: usize = 16;

/// The first 128 bits of the SHA-256 of a public key's 32 bytes, written as eight
/// groups of four upper-case hex digits (`3F2A-91C0-…`) so it can be read aloud,
/// printed beside a QR code and typed on a tablet.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyFingerprint([u8; FINGERPRINT_BYTES]);

impl KeyFingerprint {
    /// Whether `key` is the key this fingerprint was taken of.
    pub fn matches(&self, key: &PublicKey) -> bool {
        key.fingerprint() == *self
    }

    /// Accepts either case, and spaces, hyphens or colons anywhere, as typed from
    /// a printout.
    pub fn parse(input: &str) -> Result<Self, KeyError> {
        let hex_digits: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | ':'))
            .collect();
        if hex_digits.len() != 2 * FINGERPRINT_BYTES {
            return Err(KeyError::FingerprintFormat);
        }
        let mut b = [0u8; FINGERPRINT_BYTES];
        hex::decode_to_slice(&hex_digits, &mut b).map_err(|_| KeyError::FingerprintFormat)?;
        Ok(KeyFingerprint(b))
    }

    /// `3F2A-91C0-…`: eight groups of four.
    pub fn display_grouped(&self) -> String {
        let hex = hex::encode_upper(self.0);
        let groups: Vec<&str> = (0..hex.len()).step_by(4).map(|i| &hex[i..i + 4]).collect();
        groups.join("-")
    }
}

impl fmt::Debug for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyFingerprint({})", self.display_grouped())
    }
}
impl fmt::Display for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_grouped())
    }
}
impl FromStr for KeyFingerprint {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        KeyFingerprint::parse(s)
    }
}
impl Serialize for KeyFingerprint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.display_grouped())
    }
}
impl<'de> Deserialize<'de> for KeyFingerprint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An Ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(ed25519_dalek::Signature);

impl Signature {
    pub fn to_hex(&self) -> String {
        let mut out = Vec::with_capacity(128);
        crate::ids::push_hex(&mut out, &self.0.to_bytes());
        String::from_utf8(out).expect("hex is ASCII")
    }
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0.to_bytes()
    }
}
impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}
impl FromStr for Signature {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let mut b = [0u8; 64];
        if s.len() != 128 || s.bytes().any(|c| c.is_ascii_uppercase()) {
            return Err(KeyError::SignatureFormat);
        }
        hex::decode_to_slice(s, &mut b).map_err(|_| KeyError::SignatureFormat)?;
        Ok(Signature(ed25519_dalek::Signature::from_bytes(&b)))
    }
}

macro_rules! hex_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
hex_serde!(PublicKey);
hex_serde!(Signature);

/// A signing key. The domain never makes randomness: the caller supplies the seed.
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(seed))
    }
    pub fn seed(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        write!(f, "SigningKey(public: {})", self.public_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_roundtrip_and_tamper() {
        let k = SigningKey::from_seed(&[7u8; 32]);
        let sig = k.sign(b"lead");
        assert!(k.public_key().verify(b"lead", &sig));
        assert!(!k.public_key().verify(b"leaf", &sig));
        let other = SigningKey::from_seed(&[8u8; 32]);
        assert!(!other.public_key().verify(b"lead", &sig));
        let pk: PublicKey = k.public_key().to_hex().parse().unwrap();
        assert_eq!(pk, k.public_key());
        let s2: Signature = sig.to_hex().parse().unwrap();
        assert_eq!(s2, sig);
        assert!("zz".parse::<Signature>().is_err());
        assert!(k
            .public_key()
            .to_hex()
            .to_uppercase()
            .parse::<PublicKey>()
            .is_err());
    }

    #[test]
    fn fingerprint_is_128_bits_of_sha256_grouped_and_typed_back_in_any_form() {
        let key = SigningKey::from_seed(&[7u8; 32]).public_key();
        let fp = key.fingerprint();
        let grouped = fp.display_grouped();
        // Eight groups of four upper-case hex digits: 128 bits.
        assert_eq!(grouped.len(), 8 * 4 + 7);
        assert_eq!(grouped.split('-').count(), 8);
        let expected = hex::encode_upper(&Sha256::digest(key.as_bytes()).as_bytes()[..16]);
        assert_eq!(grouped.replace('-', ""), expected);
        // As typed from paper: lower case, spaces, no separators at all.
        for typed in [
            grouped.to_lowercase(),
            grouped.replace('-', " "),
            grouped.replace('-', ""),
        ] {
            assert_eq!(KeyFingerprint::parse(&typed), Ok(fp), "{typed}");
        }
        assert!(fp.matches(&key));
        let other = SigningKey::from_seed(&[8u8; 32]).public_key();
        assert!(!fp.matches(&other));
        // One digit short, or a letter that is not hex (O for 0): refused.
        let short = &grouped[..grouped.len() - 1];
        assert_eq!(
            KeyFingerprint::parse(short),
            Err(KeyError::FingerprintFormat)
        );
        let typo = grouped.replacen(|c: char| c.is_ascii_digit(), "O", 1);
        assert_eq!(
            KeyFingerprint::parse(&typo).unwrap_err().code(),
            "fingerprint_format"
        );
        let json = serde_json::to_string(&fp).unwrap();
        assert_eq!(json, format!("\"{grouped}\""));
        assert_eq!(serde_json::from_str::<KeyFingerprint>(&json).unwrap(), fp);
    }
}
