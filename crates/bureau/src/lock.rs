//! The data folder belongs to one server at a time, and holds evidence and personal
//! data, so only the account that runs the bureau may read it.
//!
//! `serve` takes an exclusive lock on `serve.lock` for as long as it runs; a second
//! server on the same folder is refused. Commands run beside a live server (adding a
//! user, issuing a code, importing a bundle) take no lock, and never touch what the
//! server alone owns: its temp files and the other uploaders' partial uploads.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{BureauError, StorageError};

/// Held by the serving process; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct DataLock {
    _file: File,
    path: PathBuf,
}

impl DataLock {
    /// Takes the lock, waiting up to `wait` for a server that is shutting down.
    pub fn acquire(data: &Path, wait: Duration) -> Result<DataLock, BureauError> {
        let path = data.join("serve.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(StorageError::io(path.display()))?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(DataLock { _file: file, path }),
                Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(BureauError::invalid(fieldlead_domain::ErrorCode::DataFolderInUse,
                        format!(
                            "数据目录 {} 正由另一个 fieldlead-bureau serve 使用；同一数据目录只能运行一个服务",
                            data.display()
                        ),
                    ))
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(StorageError::io(path.display())(e).into())
                }
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Folder 0700, files 0600: evidence and personal data are for the bureau's own
/// account only.
pub fn restrict(path: &Path, folder: bool) -> Result<(), StorageError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if folder { 0o700 } else { 0o600 };
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .map_err(StorageError::io(path.display()))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, folder);
    Ok(())
}

/// The signing key must not be readable by anyone else: refuse to run with it.
pub fn check_private(path: &Path) -> Result<(), BureauError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(StorageError::io(path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(BureauError::invalid(
                fieldlead_domain::ErrorCode::KeyPermissions,
                format!(
                    "密钥文件 {} 的权限为 {:o}，其他用户可读；请执行 chmod 600 {} 后再启动",
                    path.display(),
                    mode & 0o777,
                    path.display()
                ),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_server_on_the_same_folder_is_refused_and_the_first_release_frees_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataLock::acquire(dir.path(), Duration::ZERO).unwrap();
        let e = DataLock::acquire(dir.path(), Duration::from_millis(100)).unwrap_err();
        assert_eq!(e.code(), "data_folder_in_use");
        drop(first);
        DataLock::acquire(dir.path(), Duration::ZERO).unwrap();
    }
}
