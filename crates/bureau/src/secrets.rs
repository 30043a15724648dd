//! Randomness, tokens and passwords. Bearer tokens and session tokens are 256-bit
//! random values, so the database keeps only their SHA-256; passwords, which are
//! guessable, are hashed with Argon2id.

use std::path::Path;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use fieldlead_domain::{Sha256, SigningKey};

use crate::error::{BureauError, StorageError};

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).expect("the operating system provides randomness");
    b
}

/// A new bearer or session token: 64 hex characters.
pub fn new_token() -> String {
    hex::encode(random_bytes::<32>())
}

/// What the database stores for a token.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).to_hex()
}

/// A readable random password for demo and new users: 16 characters.
pub fn new_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    random_bytes::<16>()
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

pub fn hash_password(password: &str) -> Result<String, BureauError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>())
        .map_err(|e| BureauError::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| BureauError::Internal(e.to_string()))
}

pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Equality that takes the same time wherever the first difference is.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Loads the bureau's receipt-signing key, creating it (mode 0600) if absent.
pub fn load_or_create_key(path: &Path) -> Result<SigningKey, StorageError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let mut seed = [0u8; 32];
            hex::decode_to_slice(text.trim(), &mut seed).map_err(|_| {
                StorageError::Corrupt(format!("{} 不是有效的密钥文件", path.display()))
            })?;
            Ok(SigningKey::from_seed(&seed))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let seed = random_bytes::<32>();
            write_private(path, hex::encode(seed).as_bytes())?;
            Ok(SigningKey::from_seed(&seed))
        }
        Err(e) => Err(StorageError::io(path.display())(e)),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .map_err(StorageError::io(path.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(StorageError::io(path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hash_verifies_only_the_same_password() {
        let h = hash_password("正确的密码 1").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("正确的密码 1", &h));
        assert!(!verify_password("正确的密码 2", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn key_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bureau.key");
        let a = load_or_create_key(&p).unwrap();
        let b = load_or_create_key(&p).unwrap();
        assert_eq!(a.public_key(), b.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn tokens_are_distinct_and_hashes_stable() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), a);
        assert!(constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd"));
    }
}
