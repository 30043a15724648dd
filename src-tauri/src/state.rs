//! The app's state: the tablet's data, opened once at start-up.

use std::sync::{Mutex, MutexGuard};

use fieldlead_device::{Device, DeviceError};

use crate::error::CommandError;

/// The device, or why it could not be opened (a newer database, a broken key file):
/// the UI then shows that message instead of a blank window.
#[derive(Debug)]
pub struct AppState {
    device: Result<Mutex<Device>, CommandError>,
}

impl AppState {
    pub fn new(device: Result<Device, DeviceError>) -> Self {
        AppState {
            device: device.map(Mutex::new).map_err(CommandError::from),
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
}
