//! Received blobs: the [`BlobStore`] trait, its S3-compatible implementation for a
//! city's several instances ([`s3`]), and the local one over the evidence crate's
//! content-addressed layout
//! (`blobs/objects/ab/cdef...`). Partial uploads live in
//! `uploads/{uploader}/{sha256}.part`, one per uploader (a device, or an import),
//! so one tablet's wrong size or junk bytes never stand in the way of another's
//! upload of the same photo. They survive restarts, so an interrupted upload
//! resumes where it stopped, until [`BlobStore::sweep_partials`] removes those
//! abandoned for too long.

use bytes::Bytes;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use fieldlead_domain::Sha256;
use fieldlead_evidence::EvidenceStore;
use sha2::Digest;

use crate::config::DataPaths;
use crate::error::{BureauError, StorageError};

pub mod s3;

/// Opens the blob store the configuration names: `s3://bucket/prefix` for a
/// city's object store, or (unset) the data folder's own `blobs/` and
/// `uploads/`. `owner` as for [`LocalBlobStore::open`].
pub fn open(
    config: &crate::config::Config,
    paths: &DataPaths,
    owner: bool,
) -> Result<std::sync::Arc<dyn BlobStore>, StorageError> {
    Ok(match &config.blobs_url {
        Some(url) => std::sync::Arc::new(s3::S3BlobStore::open(url, &config.object_store_env.0)?),
        None => std::sync::Arc::new(LocalBlobStore::open(
            &paths.blobs(),
            &paths.uploads(),
            owner,
        )?),
    })
}

/// Where received blobs are kept.
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// Whether the whole, verified blob is held.
    fn contains(&self, sha256: &Sha256) -> Result<bool, StorageError>;
    /// Bytes of `uploader`'s unfinished upload held so far (0 if none).
    fn partial_len(&self, uploader: &str, sha256: &Sha256) -> Result<u64, StorageError>;
    /// Bytes of all of `uploader`'s unfinished uploads (for its quota).
    fn partial_bytes(&self, uploader: &str) -> Result<u64, StorageError>;
    /// Opens `uploader`'s upload for appending at its current end.
    fn open_upload(&self, uploader: &str, sha256: &Sha256)
        -> Result<Box<dyn Upload>, StorageError>;
    /// Opens the upload as [`open_upload`](Self::open_upload) does, with the
    /// bytes of `uploader`'s other unfinished uploads (for its quota).
    fn open_upload_with_others(
        &self,
        uploader: &str,
        sha256: &Sha256,
    ) -> Result<(Box<dyn Upload>, u64), StorageError> {
        let upload = self.open_upload(uploader, sha256)?;
        let others = self
            .partial_bytes(uploader)?
            .saturating_sub(upload.offset());
        Ok((upload, others))
    }
    /// Deletes unfinished uploads untouched for longer than `max_age`; returns how
    /// many went.
    fn sweep_partials(&self, max_age: std::time::Duration) -> Result<usize, StorageError>;
    /// Reads a held blob.
    fn open(&self, sha256: &Sha256) -> Result<Box<dyn Read + Send>, StorageError>;
    /// Re-hashes a held blob: `false` if its bytes no longer match its name.
    fn verify(&self, sha256: &Sha256) -> Result<bool, StorageError>;
    /// Stores bytes the bureau made itself (a thumbnail) under their hash.
    fn put(&self, bytes: &[u8]) -> Result<Sha256, StorageError>;
    /// Whether the store answers, for a load balancer's health probe: cheap, no
    /// blob read or written.
    fn ping(&self) -> Result<(), StorageError>;
}

/// Size and SHA-256 of everything `reader` yields.
pub(crate) fn hash_reader(reader: &mut dyn Read) -> std::io::Result<(u64, Sha256)> {
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((bytes, Sha256::from_bytes(hasher.finalize().into())))
}

/// Sends all of `reader` as `uploader`'s upload of `sha256` from its first byte
/// (what an earlier attempt that died left is dropped) and finishes it: the
/// digest decides whether the blob is kept. For bytes the bureau reads itself (a
/// bundle, a data folder being migrated); `read_error` says what a failed read
/// means there.
pub(crate) fn upload_whole(
    store: &dyn BlobStore,
    uploader: &str,
    sha256: &Sha256,
    reader: &mut dyn Read,
    read_error: impl Fn(std::io::Error) -> BureauError,
) -> Result<(), BureauError> {
    let mut upload = store.open_upload(uploader, sha256)?;
    if upload.offset() > 0 {
        upload.abandon_to(0)?;
        upload = store.open_upload(uploader, sha256)?;
    }
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf).map_err(&read_error)?;
        if n == 0 {
            break;
        }
        upload.write(&buf[..n])?;
    }
    upload.finish().map(drop)
}

/// One upload in progress. Hashes as it writes, so finishing needs no re-read.
pub trait Upload: Send {
    fn offset(&self) -> u64;
    fn write(&mut self, bytes: &[u8]) -> Result<(), StorageError>;
    /// Makes what was written durable and keeps it for a later resume.
    fn pause(self: Box<Self>) -> Result<(), StorageError>;
    /// Cuts the partial upload back to `len` bytes: 0, or what it held when opened
    /// (before a refused request).
    fn abandon_to(self: Box<Self>, len: u64) -> Result<(), StorageError>;
    /// Checks the digest: on a match the blob becomes visible (if the store already
    /// held those bytes, the partial copy is simply dropped), on a mismatch the
    /// partial file is deleted and nothing is kept. Returns the whole blob when
    /// the store had it in memory anyway (a small one sent in one piece to an
    /// object store), so its analysis need not fetch it back.
    fn finish(self: Box<Self>) -> Result<Option<Bytes>, BureauError>;
}

#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    store: EvidenceStore,
    uploads: PathBuf,
}

/// An uploader's name is a folder name: a device id or `import-PID`.
fn check_uploader(uploader: &str) -> Result<(), StorageError> {
    if uploader.is_empty()
        || uploader.len() > 64
        || !uploader
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(StorageError::Corrupt(format!("uploader name {uploader:?}")));
    }
    Ok(())
}

impl LocalBlobStore {
    /// Opens the store. `owner` is true only for the process that holds the data
    /// folder's lock (`serve`): it alone clears temp files left by a crash, so a
    /// command run beside a live server never deletes the server's work in progress.
    pub fn open(blobs: &Path, uploads: &Path, owner: bool) -> Result<Self, StorageError> {
        let opened = if owner {
            EvidenceStore::open(blobs)
        } else {
            EvidenceStore::open_shared(blobs)
        };
        let store = opened.map_err(|e| StorageError::Io {
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

    fn partial_path(&self, uploader: &str, sha256: &Sha256) -> Result<PathBuf, StorageError> {
        check_uploader(uploader)?;
        Ok(self
            .uploads
            .join(uploader)
            .join(format!("{}.part", sha256.to_hex())))
    }
}

impl BlobStore for LocalBlobStore {
    fn contains(&self, sha256: &Sha256) -> Result<bool, StorageError> {
        Ok(self.store.contains(sha256))
    }

    fn ping(&self) -> Result<(), StorageError> {
        for dir in [self.store.root(), self.uploads.as_path()] {
            let meta = std::fs::metadata(dir).map_err(StorageError::io(dir.display()))?;
            if !meta.is_dir() || meta.permissions().readonly() {
                return Err(StorageError::Io {
                    path: dir.display().to_string(),
                    source: std::io::Error::other("not a writable folder"),
                });
            }
        }
        Ok(())
    }

    fn partial_len(&self, uploader: &str, sha256: &Sha256) -> Result<u64, StorageError> {
        let path = self.partial_path(uploader, sha256)?;
        match fs::metadata(&path) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(StorageError::io(path.display())(e)),
        }
    }

    fn partial_bytes(&self, uploader: &str) -> Result<u64, StorageError> {
        check_uploader(uploader)?;
        let dir = self.uploads.join(uploader);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(StorageError::io(dir.display())(e)),
        };
        let mut total = 0u64;
        for entry in entries {
            let entry = entry.map_err(StorageError::io(dir.display()))?;
            if let Ok(m) = entry.metadata() {
                total = total.saturating_add(m.len());
            }
        }
        Ok(total)
    }

    fn sweep_partials(&self, max_age: std::time::Duration) -> Result<usize, StorageError> {
        let now = std::time::SystemTime::now();
        let io = |p: &Path| StorageError::io(p.display().to_string());
        let mut removed = 0;
        for folder in fs::read_dir(&self.uploads).map_err(io(&self.uploads))? {
            let folder = folder.map_err(io(&self.uploads))?.path();
            if !folder.is_dir() {
                continue;
            }
            for entry in fs::read_dir(&folder).map_err(io(&folder))? {
                let path = entry.map_err(io(&folder))?.path();
                let old = fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| now.duration_since(t).ok())
                    .is_some_and(|age| age > max_age);
                if old && fs::remove_file(&path).is_ok() {
                    removed += 1;
                }
            }
            // An empty folder goes too; a folder in use again is simply not empty.
            let _ = fs::remove_dir(&folder);
        }
        Ok(removed)
    }

    fn open_upload(
        &self,
        uploader: &str,
        sha256: &Sha256,
    ) -> Result<Box<dyn Upload>, StorageError> {
        let path = self.partial_path(uploader, sha256)?;
        let folder = path.parent().expect("partial path has a folder");
        fs::create_dir_all(folder).map_err(StorageError::io(folder.display()))?;
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

    fn put(&self, bytes: &[u8]) -> Result<Sha256, StorageError> {
        self.store.put_bytes(bytes).map_err(|e| StorageError::Io {
            path: self.store.root().display().to_string(),
            source: std::io::Error::other(e.to_string()),
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
            fs::remove_file(&self.path).map_err(io)?;
            remove_if_empty(&self.path);
            return Ok(());
        }
        self.file
            .set_len(len)
            .and_then(|()| self.file.sync_data())
            .map_err(io)
    }

    fn finish(self: Box<Self>) -> Result<Option<Bytes>, BureauError> {
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
            remove_if_empty(&path);
            return Err(BureauError::HashMismatch);
        }
        if target.exists() {
            // The store holds these bytes already (another district's upload): the
            // digest proved this copy identical, and one copy per hash is enough.
            drop(file);
            fs::remove_file(&path).map_err(StorageError::io(path.display()))?;
            remove_if_empty(&path);
            return Ok(None);
        }
        file.sync_all().map_err(StorageError::io(path.display()))?;
        drop(file);
        let fan_out = target.parent().expect("object path has a fan-out folder");
        fs::create_dir_all(fan_out).map_err(StorageError::io(fan_out.display()))?;
        fs::rename(&path, &target).map_err(StorageError::io(target.display()))?;
        sync_dir(fan_out)?;
        remove_if_empty(&path);
        // On disk, and in the page cache: the analysis reads it back cheaply.
        Ok(None)
    }
}

/// Removes an uploader's folder once its last partial file is gone (best effort:
/// a folder in use again is simply not empty).
fn remove_if_empty(partial: &Path) {
    if let Some(folder) = partial.parent() {
        let _ = fs::remove_dir(folder);
    }
}

/// Persists a rename across power loss.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StorageError> {
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
        let store =
            LocalBlobStore::open(&dir.path().join("b"), &dir.path().join("u"), true).unwrap();
        let data = b"photo bytes that arrive in two parts".to_vec();
        let sha = Sha256::digest(&data);
        let mut up = store.open_upload("dev-a", &sha).unwrap();
        up.write(&data[..10]).unwrap();
        up.pause().unwrap();
        assert_eq!(store.partial_len("dev-a", &sha).unwrap(), 10);
        // Another uploader's partial of the same hash is its own.
        assert_eq!(store.partial_len("dev-b", &sha).unwrap(), 0);
        let mut junk = store.open_upload("dev-b", &sha).unwrap();
        junk.write(b"junk").unwrap();
        junk.pause().unwrap();
        let mut up = store.open_upload("dev-a", &sha).unwrap();
        assert_eq!(up.offset(), 10);
        up.write(&data[10..]).unwrap();
        up.finish().unwrap();
        assert!(store.contains(&sha).unwrap());
        assert!(store.verify(&sha).unwrap());
        assert_eq!(store.partial_len("dev-a", &sha).unwrap(), 0);
        assert_eq!(store.partial_bytes("dev-b").unwrap(), 4);

        // A second full, correct copy is accepted and dropped.
        let mut again = store.open_upload("dev-c", &sha).unwrap();
        again.write(&data).unwrap();
        again.finish().unwrap();
        assert_eq!(store.partial_bytes("dev-c").unwrap(), 0);

        let wrong = Sha256::digest(b"something else");
        let mut up = store.open_upload("dev-a", &wrong).unwrap();
        up.write(b"not it").unwrap();
        assert!(matches!(up.finish(), Err(BureauError::HashMismatch)));
        assert!(!store.contains(&wrong).unwrap());
        assert_eq!(store.partial_len("dev-a", &wrong).unwrap(), 0);

        assert_eq!(
            store
                .sweep_partials(std::time::Duration::from_secs(3600))
                .unwrap(),
            0
        );
        assert_eq!(store.sweep_partials(std::time::Duration::ZERO).unwrap(), 1);
        assert_eq!(store.partial_bytes("dev-b").unwrap(), 0);
        assert!(store.partial_path("../x", &sha).is_err());
    }
}
