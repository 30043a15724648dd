//! Received blobs: a trait so an S3-compatible store can follow, and the local
//! implementation over the evidence crate's content-addressed layout
//! (`blobs/objects/ab/cdef...`). Partial uploads live in `uploads/{sha256}.part`
//! and survive restarts, so an interrupted upload resumes where it stopped.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use fieldlead_domain::Sha256;
use fieldlead_evidence::{inspect_path, EvidenceStore, Inspection, IntakeError};
use sha2::Digest;

use crate::error::{BureauError, StorageError};

/// What a held photo's bytes say, and where its thumbnail is.
#[derive(Debug, Clone)]
pub struct Analysed {
    pub inspection: Inspection,
    pub thumbnail: Option<Sha256>,
}

/// Where received blobs are kept.
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// Whether the whole, verified blob is held.
    fn contains(&self, sha256: &Sha256) -> bool;
    /// Bytes of an unfinished upload held so far (0 if none).
    fn partial_len(&self, sha256: &Sha256) -> Result<u64, StorageError>;
    /// Opens the upload for appending at its current end.
    fn open_upload(&self, sha256: &Sha256) -> Result<Box<dyn Upload>, StorageError>;
    /// Reads a held blob.
    fn open(&self, sha256: &Sha256) -> Result<Box<dyn Read + Send>, StorageError>;
    /// Re-hashes a held blob: `false` if its bytes no longer match its name.
    fn verify(&self, sha256: &Sha256) -> Result<bool, StorageError>;
    /// Decodes a held photo (format, EXIF, perceptual hash) with the evidence
    /// crate's inspection, and keeps its thumbnail as a blob of its own.
    fn analyse(&self, sha256: &Sha256) -> Result<Analysed, IntakeError>;
}

/// One upload in progress. Hashes as it writes, so finishing needs no re-read.
pub trait Upload: Send {
    fn offset(&self) -> u64;
    fn write(&mut self, bytes: &[u8]) -> Result<(), StorageError>;
    /// Makes what was written durable and keeps it for a later resume.
    fn pause(self: Box<Self>) -> Result<(), StorageError>;
    /// Cuts the partial file back to `len` bytes (what it held before a refused request).
    fn abandon_to(self: Box<Self>, len: u64) -> Result<(), StorageError>;
    /// Checks the digest: on a match the blob becomes visible, on a mismatch the
    /// partial file is deleted and nothing is kept.
    fn finish(self: Box<Self>) -> Result<(), BureauError>;
}

#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    store: EvidenceStore,
    uploads: PathBuf,
}

impl LocalBlobStore {
    pub fn open(blobs: &Path, uploads: &Path) -> Result<Self, StorageError> {
        let store = EvidenceStore::open(blobs).map_err(|e| StorageError::Io {
            path: blobs.display().to_string(),
            source: std::io::Error::other(e.to_string()),
        })?;
        fs::create_dir_all(uploads).map_err(StorageError::io(uploads.display()))?;
        Ok(LocalBlobStore {
            store,
            uploads: uploads.to_path_buf(),
        })
    }

    /// Where a held blob lives on disk (for the console's file responses).
    pub fn object_path(&self, sha256: &Sha256) -> PathBuf {
        self.store.object_path(sha256)
    }

    fn partial_path(&self, sha256: &Sha256) -> PathBuf {
        self.uploads.join(format!("{}.part", sha256.to_hex()))
    }
}

impl BlobStore for LocalBlobStore {
    fn contains(&self, sha256: &Sha256) -> bool {
        self.store.contains(sha256)
    }

    fn partial_len(&self, sha256: &Sha256) -> Result<u64, StorageError> {
        let path = self.partial_path(sha256);
        match fs::metadata(&path) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(StorageError::io(path.display())(e)),
        }
    }

    fn open_upload(&self, sha256: &Sha256) -> Result<Box<dyn Upload>, StorageError> {
        let path = self.partial_path(sha256);
        let io = |e| StorageError::io(path.display())(e);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        // Resuming: the digest state is not stored, so re-hash what is held. It is
        // on local disk, which reads far faster than any tablet uploads.
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut offset = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            offset += n as u64;
        }
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        Ok(Box::new(LocalUpload {
            sha256: *sha256,
            file,
            path: path.clone(),
            hasher,
            offset,
            target: self.store.object_path(sha256),
        }))
    }

    fn open(&self, sha256: &Sha256) -> Result<Box<dyn Read + Send>, StorageError> {
        let path = self.store.object_path(sha256);
        File::open(&path)
            .map(|f| Box::new(f) as Box<dyn Read + Send>)
            .map_err(StorageError::io(path.display()))
    }

    fn verify(&self, sha256: &Sha256) -> Result<bool, StorageError> {
        self.store.verify(sha256).map_err(|e| StorageError::Io {
            path: self.store.object_path(sha256).display().to_string(),
            source: std::io::Error::other(e.to_string()),
        })
    }

    fn analyse(&self, sha256: &Sha256) -> Result<Analysed, IntakeError> {
        // Inspect rather than intake: the original is already stored, and intake
        // would stage a second copy of it only to discard it.
        let inspection = inspect_path(&self.store.object_path(sha256))?;
        let thumbnail = match &inspection.thumbnail {
            Some(t) => Some(self.store.put_bytes(&t.jpeg)?),
            None => None,
        };
        Ok(Analysed {
            inspection,
            thumbnail,
        })
    }
}

struct LocalUpload {
    sha256: Sha256,
    file: File,
    path: PathBuf,
    hasher: sha2::Sha256,
    offset: u64,
    target: PathBuf,
}

impl Upload for LocalUpload {
    fn offset(&self) -> u64 {
        self.offset
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), StorageError> {
        self.file
            .write_all(bytes)
            .map_err(StorageError::io(self.path.display()))?;
        self.hasher.update(bytes);
        self.offset += bytes.len() as u64;
        Ok(())
    }

    fn pause(self: Box<Self>) -> Result<(), StorageError> {
        self.file
            .sync_data()
            .map_err(StorageError::io(self.path.display()))
    }

    fn abandon_to(self: Box<Self>, len: u64) -> Result<(), StorageError> {
        let io = StorageError::io(self.path.display());
        if len == 0 {
            drop(self.file);
            return fs::remove_file(&self.path).map_err(io);
        }
        self.file
            .set_len(len)
            .and_then(|()| self.file.sync_data())
            .map_err(io)
    }

    fn finish(self: Box<Self>) -> Result<(), BureauError> {
        let LocalUpload {
            sha256,
            file,
            path,
            hasher,
            target,
            ..
        } = *self;
        let digest = Sha256::from_bytes(hasher.finalize().into());
        if digest != sha256 {
            drop(file);
            fs::remove_file(&path).map_err(StorageError::io(path.display()))?;
            return Err(BureauError::HashMismatch);
        }
        file.sync_all().map_err(StorageError::io(path.display()))?;
        drop(file);
        let fan_out = target.parent().expect("object path has a fan-out folder");
        fs::create_dir_all(fan_out).map_err(StorageError::io(fan_out.display()))?;
        fs::rename(&path, &target).map_err(StorageError::io(target.display()))?;
        sync_dir(fan_out)?;
        Ok(())
    }
}

/// Persists a rename across power loss.
fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StorageError::io(dir.display()))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_resumes_and_only_a_matching_digest_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(&dir.path().join("b"), &dir.path().join("u")).unwrap();
        let data = b"photo bytes that arrive in two parts".to_vec();
        let sha = Sha256::digest(&data);
        let mut up = store.open_upload(&sha).unwrap();
        up.write(&data[..10]).unwrap();
        up.pause().unwrap();
        assert_eq!(store.partial_len(&sha).unwrap(), 10);
        let mut up = store.open_upload(&sha).unwrap();
        assert_eq!(up.offset(), 10);
        up.write(&data[10..]).unwrap();
        up.finish().unwrap();
        assert!(store.contains(&sha));
        assert!(store.verify(&sha).unwrap());
        assert_eq!(store.partial_len(&sha).unwrap(), 0);

        let wrong = Sha256::digest(b"something else");
        let mut up = store.open_upload(&wrong).unwrap();
        up.write(b"not it").unwrap();
        assert!(matches!(up.finish(), Err(BureauError::HashMismatch)));
        assert!(!store.contains(&wrong));
        assert_eq!(store.partial_len(&wrong).unwrap(), 0);
    }
}
