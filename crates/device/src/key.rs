//! The device key pair: generated once, the private seed kept in a file only the
//! app's user can read.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use fieldlead_domain::SigningKey;

use crate::error::DeviceError;

pub const KEY_FILE: &str = "device.key";

/// Loads the key from `dir/device.key`, creating it the first time.
pub fn load_or_create(dir: &Path) -> Result<SigningKey, DeviceError> {
    let path = dir.join(KEY_FILE);
    match File::open(&path) {
        Ok(mut f) => {
            let mut seed = [0u8; 32];
            let mut extra = [0u8; 1];
            f.read_exact(&mut seed)
                .map_err(|e| DeviceError::KeyFile(format!("{}: {e}", path.display())))?;
            if f.read(&mut extra)? != 0 {
                return Err(DeviceError::KeyFile(format!(
                    "{}: 长度不是32字节，文件已损坏",
                    path.display()
                )));
            }
            restrict_permissions(&path)?;
            Ok(SigningKey::from_seed(&seed))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(dir, &path),
        Err(e) => Err(DeviceError::KeyFile(format!("{}: {e}", path.display()))),
    }
}

fn create(dir: &Path, path: &Path) -> Result<SigningKey, DeviceError> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed)
        .map_err(|e| DeviceError::KeyFile(format!("无法取得随机数: {e}")))?;
    let tmp = dir.join(format!("{KEY_FILE}.tmp"));
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(&seed)?;
    f.sync_all()?;
    drop(f);
    restrict_permissions(&tmp)?;
    // A key that exists must be whole: write aside, then rename into place.
    fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()?;
    Ok(SigningKey::from_seed(&seed))
}

fn restrict_permissions(path: &Path) -> Result<(), DeviceError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)?.permissions().mode() & 0o777;
        if mode != 0o600 {
            fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
