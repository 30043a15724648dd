//! Errors as the UI receives them: a stable code to tell them apart, a message to
//! show (Chinese), and, for an incomplete record, the problem of each field.

use fieldlead_device::DeviceError;
use fieldlead_domain::FieldProblem;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct CommandError {
    pub code: String,
    pub message: String,
    pub problems: Vec<FieldProblem>,
}

impl CommandError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        CommandError {
            code: code.to_string(),
            message: message.into(),
            problems: Vec::new(),
        }
    }
}

impl From<DeviceError> for CommandError {
    fn from(e: DeviceError) -> Self {
        // The message is for the sampler; the cause underneath (a database's or
        // the system's own words) is for whoever reads the app's log.
        if let Some(cause) = std::error::Error::source(&e) {
            eprintln!("fieldlead: {} ({}): {cause}", e, e.code());
        }
        let problems = match &e {
            DeviceError::InvalidDraft(p) => p.clone(),
            _ => Vec::new(),
        };
        CommandError {
            code: e.code().to_string(),
            message: e.to_string(),
            problems,
        }
    }
}

pub type CmdResult<T> = Result<T, CommandError>;
