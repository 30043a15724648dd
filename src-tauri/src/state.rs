//! The app's state: the tablet's data, opened once at start-up.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use fieldlead_device::form::{Forms, FormsConfig};
use fieldlead_device::{Device, ALLOW_INSECURE_HTTP_ENV};

use crate::error::CommandError;
use crate::sync::SyncService;

/// The device, or why it could not be opened (a newer database, a broken key file):
/// the UI then shows that message instead of a blank window. Sync has a second
/// connection to the same data of its own.
#[derive(Debug)]
pub struct AppState {
    device: Result<Mutex<Device>, CommandError>,
    sync: Result<Arc<SyncService>, CommandError>,
    /// Fonts are found once, on the first form.
    forms: OnceLock<Result<Forms, CommandError>>,
}

impl AppState {
    /// Opens the tablet's data in `dir` (the app data dir). Plain http to hosts
    /// other than this machine is allowed only if the app was started with
    /// `FIELDLEAD_ALLOW_INSECURE_HTTP=1` (development).
    pub fn open(dir: &Path) -> Self {
        let insecure_http = std::env::var(ALLOW_INSECURE_HTTP_ENV).as_deref() == Ok("1");
        if insecure_http {
            eprintln!("{ALLOW_INSECURE_HTTP_ENV}=1: plain http allowed to any bureau address (development only)");
        }
        let device = Device::open(dir)
            .map(|d| d.allow_insecure_http(insecure_http))
            .map_err(CommandError::from);
        // Opened second: the first open created the key and ran the migrations.
        let sync = match &device {
            Ok(_) => Device::open(dir)
                .map(|d| Arc::new(SyncService::new(d.allow_insecure_http(insecure_http))))
                .map_err(CommandError::from),
            Err(e) => Err(e.clone()),
        };
        AppState {
            device: device.map(Mutex::new),
            sync,
            forms: OnceLock::new(),
        }
    }

    pub fn device(&self) -> Result<MutexGuard<'_, Device>, CommandError> {
        match &self.device {
            Ok(m) => m.lock().map_err(|_| {
                CommandError::new("internal", "内部错误，请重启应用；已保存的内容不会丢失")
            }),
            Err(e) => Err(e.clone()),
        }
    }

    /// The form renderer, with the system's fonts (Noto CJK on Debian and Android).
    pub fn forms(&self) -> Result<&Forms, CommandError> {
        self.forms
            .get_or_init(|| {
                // The renderer's own code (no_cjk_font...), so the UI can tell why.
                Forms::new(&FormsConfig::default())
                    .map_err(|e| CommandError::from(fieldlead_device::DeviceError::from(e)))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    pub fn sync(&self) -> Result<&Arc<SyncService>, CommandError> {
        self.sync.as_ref().map_err(Clone::clone)
    }
}
