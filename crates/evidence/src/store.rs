//! The content-addressed blob store: `objects/ab/cdef...` under a root directory,
//! written through `tmp/` so a crash never leaves a half-written object.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use fieldlead_domain::Sha256;
use sha2::Digest;

use crate::error::StoreError;
use crate::intake::IntakeLimits;

/// Hash and write in pieces of this size so the digest and the page cache work on
/// data that is still in the CPU cache.
const CHUNK: usize = 1 << 20;

static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// The `tmp/` directories this process has opened a store on.
static OPENED: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// A content-addressed store of evidence blobs (originals, thumbnails, signature
/// images). One process owns a store at a time: opening it removes temp files that
/// other (crashed) processes left behind.
#[derive(Debug, Clone)]
pub struct EvidenceStore {
    root: PathBuf,
    pub(crate) limits: IntakeLimits,
}

/// A blob written and fsynced under `tmp/`, not yet visible as an object.
#[derive(Debug)]
pub(crate) struct StagedBlob {
    pub(crate) sha256: Sha256,
    path: PathBuf,
}

impl EvidenceStore {
    /// Opens (creating if needed) the store at `root` with default intake limits.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let store = Self::open_shared(root)?;
        store.remove_stale_temps()?;
        Ok(store)
    }

    /// Opens the store without clearing temp files: for a process running beside the
    /// store's owner (a command next to a live server), whose temp files are the
    /// owner's work in progress.
    pub fn open_shared(root: &Path) -> Result<Self, StoreError> {
        let store = EvidenceStore {
            root: root.to_path_buf(),
            limits: IntakeLimits::default(),
        };
        fs::create_dir_all(store.objects_dir())
            .map_err(StoreError::io("创建目录", store.objects_dir()))?;
        fs::create_dir_all(store.tmp_dir()).map_err(StoreError::io("创建目录", store.tmp_dir()))?;
        Ok(store)
    }

    /// The same store with other intake limits.
    pub fn with_limits(mut self, limits: IntakeLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn limits(&self) -> &IntakeLimits {
        &self.limits
    }

    /// Where the blob with this digest lives (whether or not it is stored).
    pub fn object_path(&self, sha: &Sha256) -> PathBuf {
        let hex = sha.to_hex();
        self.objects_dir().join(&hex[..2]).join(&hex[2..])
    }

    pub fn contains(&self, sha: &Sha256) -> bool {
        self.object_path(sha).is_file()
    }

    /// Reads a whole blob; meant for small ones such as thumbnails.
    pub fn read(&self, sha: &Sha256) -> Result<Vec<u8>, StoreError> {
        let path = self.object_path(sha);
        fs::read(&path).map_err(|e| self.missing_or(sha, "读取", path, e))
    }

    /// Re-hashes the stored bytes: `false` means the blob no longer matches its name.
    pub fn verify(&self, sha: &Sha256) -> Result<bool, StoreError> {
        let path = self.object_path(sha);
        let mut file =
            File::open(&path).map_err(|e| self.missing_or(sha, "读取", path.clone(), e))?;
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = file.read(&mut buf).map_err(StoreError::io("读取", &path))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(Sha256::from_bytes(hasher.finalize().into()) == *sha)
    }

    /// Stores `bytes` durably and returns their digest; identical bytes are stored once.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<Sha256, StoreError> {
        let staged = self.stage(bytes)?;
        let sha = staged.sha256;
        self.commit(staged)?;
        Ok(sha)
    }

    /// Hashes `bytes` while writing them to a temp file, then fsyncs it.
    pub(crate) fn stage(&self, bytes: &[u8]) -> Result<StagedBlob, StoreError> {
        let name = format!(
            "{}-{}.part",
            std::process::id(),
            TEMP_SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let path = self.tmp_dir().join(name);
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)?;
            let mut hasher = sha2::Sha256::new();
            for chunk in bytes.chunks(CHUNK) {
                hasher.update(chunk);
                file.write_all(chunk)?;
            }
            file.sync_all()?;
            Ok::<_, io::Error>(Sha256::from_bytes(hasher.finalize().into()))
        })();
        match written {
            Ok(sha256) => Ok(StagedBlob { sha256, path }),
            Err(e) => {
                let _ = fs::remove_file(&path);
                Err(StoreError::io("写入临时文件", path)(e))
            }
        }
    }

    /// Gives up a staged blob: the refused photo leaves nothing behind.
    pub(crate) fn discard(&self, staged: StagedBlob) {
        // Best effort: a leftover is removed the next time the store opens.
        let _ = fs::remove_file(&staged.path);
    }

    /// Makes a staged blob visible as its object, durably.
    pub(crate) fn commit(&self, staged: StagedBlob) -> Result<(), StoreError> {
        failpoint("evidence_before_rename");
        let target = self.object_path(&staged.sha256);
        if target.is_file() {
            self.discard(staged);
            return Ok(());
        }
        let fan_out = target
            .parent()
            .expect("object path has a fan-out directory");
        if !fan_out.is_dir() {
            fs::create_dir_all(fan_out).map_err(StoreError::io("创建目录", fan_out))?;
            sync_dir(&self.objects_dir())?;
        }
        if let Err(e) = fs::rename(&staged.path, &target) {
            let _ = fs::remove_file(&staged.path);
            return Err(StoreError::io("保存", target)(e));
        }
        sync_dir(fan_out)
    }

    fn objects_dir(&self) -> PathBuf {
        self.root.join("objects")
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Temp files of another process were left by a crash. Those named with this
    /// process's id may belong to an intake running on another thread, unless this is
    /// the first open of the store in this process: then they are from an earlier
    /// process that had the same id (ids are reused after a reboot).
    fn remove_stale_temps(&self) -> Result<(), StoreError> {
        let dir = self.tmp_dir();
        let first_open = {
            let key = fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
            let mut opened = OPENED
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            opened.insert(key)
        };
        let own = format!("{}-", std::process::id());
        let entries = fs::read_dir(&dir).map_err(StoreError::io("读取目录", &dir))?;
        for entry in entries {
            let entry = entry.map_err(StoreError::io("读取目录", &dir))?;
            if !first_open && entry.file_name().to_string_lossy().starts_with(&own) {
                continue;
            }
            let path = entry.path();
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io("清理临时文件", path)(e)),
            }
        }
        Ok(())
    }

    fn missing_or(
        &self,
        sha: &Sha256,
        action: &'static str,
        path: PathBuf,
        e: io::Error,
    ) -> StoreError {
        if e.kind() == io::ErrorKind::NotFound {
            StoreError::Missing(*sha)
        } else {
            StoreError::io(action, path)(e)
        }
    }
}

/// Persists a directory entry (a created file, a rename) across power loss.
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(StoreError::io("同步目录", dir))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Crash-test hook: with the `failpoints` feature, abort where the environment says.
#[cfg(feature = "failpoints")]
pub(crate) fn failpoint(name: &str) {
    if std::env::var("FIELDLEAD_FAILPOINT").is_ok_and(|v| v == name) {
        std::process::abort();
    }
}

#[cfg(not(feature = "failpoints"))]
pub(crate) fn failpoint(_name: &str) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_is_content_addressed_and_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let store = EvidenceStore::open(dir.path()).unwrap();
        let a = store.put_bytes(b"signature").unwrap();
        let b = store.put_bytes(b"signature").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, Sha256::digest(b"signature"));
        let hex = a.to_hex();
        assert_eq!(
            store.object_path(&a),
            dir.path().join("objects").join(&hex[..2]).join(&hex[2..])
        );
        assert_eq!(store.read(&a).unwrap(), b"signature");
        assert!(store.verify(&a).unwrap());
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn verify_detects_a_tampered_blob_and_read_reports_missing() {
        let dir = tempfile::tempdir().unwrap();
        let store = EvidenceStore::open(dir.path()).unwrap();
        let sha = store.put_bytes(b"original").unwrap();
        fs::write(store.object_path(&sha), b"tampered").unwrap();
        assert!(!store.verify(&sha).unwrap());
        let absent = Sha256::digest(b"never stored");
        assert!(!store.contains(&absent));
        assert!(matches!(store.read(&absent), Err(StoreError::Missing(s)) if s == absent));
        assert_eq!(store.verify(&absent).unwrap_err().code(), "blob_missing");
    }

    #[test]
    fn open_removes_temps_of_other_processes_but_not_its_own() {
        let dir = tempfile::tempdir().unwrap();
        EvidenceStore::open(dir.path()).unwrap();
        let stale = dir.path().join("tmp").join("999999999-0.part");
        let own = dir
            .path()
            .join("tmp")
            .join(format!("{}-77.part", std::process::id()));
        fs::write(&stale, b"half").unwrap();
        fs::write(&own, b"in flight").unwrap();
        EvidenceStore::open(dir.path()).unwrap();
        assert!(!stale.exists());
        assert!(own.exists());
    }

    #[test]
    fn first_open_in_a_process_removes_temps_named_with_a_reused_process_id() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("tmp")).unwrap();
        let earlier_life = dir
            .path()
            .join("tmp")
            .join(format!("{}-3.part", std::process::id()));
        fs::write(&earlier_life, b"before the reboot").unwrap();
        EvidenceStore::open(dir.path()).unwrap();
        assert!(!earlier_life.exists());
    }
}
