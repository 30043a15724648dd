//! Ed25519 keys and signatures, with hex encodings for JSON.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::Signer;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("公钥应为64位十六进制（32字节 Ed25519 公钥）")]
    PublicKeyFormat,
    #[error("签名应为128位十六进制（64字节 Ed25519 签名）")]
    SignatureFormat,
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

/// An Ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(ed25519_dalek::Signature);

impl Signature {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
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
}
