//! Sync in the app: the thread and event wiring only. One background task delivers
//! the outbox: when a lead falls due, right after a seal, when the sampler taps
//! "sync now", and, while the bureau cannot be reached, every
//! [`policy::OFFLINE_PROBE`]; when is the device crate's [`policy`], and each round
//! is its `Scheduler::round`. The task works on a connection of its own to the
//! tablet's data, so a long upload never holds up the form; SQLite's WAL lets both
//! run side by side.
//!
//! The web view hears `sync://progress` (a [`SyncProgress`]) as bytes go out and
//! `sync://status` (a [`SyncRuntime`]) when a round starts and ends.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use fieldlead_device::policy::{self, Scheduler};
use fieldlead_device::{Device, Enrolment, OutboxItem, SyncError, SyncProgress, SyncReport};
use serde::Serialize;
use tokio::sync::Notify;

use crate::error::CommandError;

pub const EVENT_PROGRESS: &str = "sync://progress";
pub const EVENT_STATUS: &str = "sync://status";

/// What the sync task is doing, as the sync screen shows it.
#[derive(Debug, Clone, Default, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct SyncRuntime {
    /// A round is under way.
    pub running: bool,
    /// `None` until a round has tried the bureau; `false` if the last one could not
    /// reach it.
    pub online: Option<bool>,
    pub last_round_at: Option<DateTime<Utc>>,
    /// Why the last round stopped (offline, revoked...), in Chinese.
    pub last_error: Option<CommandError>,
    pub last_report: Option<SyncReport>,
    /// The latest progress of each lead in the current or last round.
    pub progress: Vec<SyncProgress>,
    /// When the next automatic round is due, if a lead waits.
    pub next_due: Option<DateTime<Utc>>,
}

/// Everything the sync screen shows.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct SyncStatus {
    pub enrolment: Option<Enrolment>,
    pub outbox: Vec<OutboxItem>,
    pub runtime: SyncRuntime,
}

/// What the sync task tells the web view.
#[derive(Debug, Clone)]
pub enum SyncEvent {
    Progress(SyncProgress),
    Status(SyncRuntime),
}

pub struct SyncService {
    device: tokio::sync::Mutex<Device>,
    kick: Notify,
    /// When rounds run and whether the next forgets backoff.
    scheduler: Scheduler,
    runtime: Mutex<SyncRuntime>,
}

impl std::fmt::Debug for SyncService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncService").finish_non_exhaustive()
    }
}

impl SyncService {
    pub fn new(device: Device) -> Self {
        SyncService {
            device: tokio::sync::Mutex::new(device),
            kick: Notify::new(),
            scheduler: Scheduler::new(),
            runtime: Mutex::new(SyncRuntime::default()),
        }
    }

    pub fn runtime(&self) -> SyncRuntime {
        self.runtime.lock().map(|r| r.clone()).unwrap_or_default()
    }

    fn update(&self, f: impl FnOnce(&mut SyncRuntime)) -> SyncRuntime {
        match self.runtime.lock() {
            Ok(mut r) => {
                f(&mut r);
                r.clone()
            }
            Err(_) => SyncRuntime::default(),
        }
    }

    /// Wakes the task for a round now. With `forget_backoff`, leads waiting out a
    /// backoff go too ("sync now").
    pub fn kick(&self, forget_backoff: bool) {
        if forget_backoff {
            self.scheduler.forget_backoff();
        }
        self.kick.notify_one();
    }

    /// Enrols with the text of the bureau's QR code, or with its address, a code
    /// and the bureau's key fingerprint typed from paper; a revoked enrolment may be
    /// replaced this way.
    pub async fn enrol(
        &self,
        invite_or_url: &str,
        code: Option<&str>,
        fingerprint: Option<&str>,
        label: &str,
    ) -> Result<Enrolment, CommandError> {
        use fieldlead_domain::{EnrolmentInvite, ProtocolError};
        let text = invite_or_url.trim();
        let mut dev = self.device.lock().await;
        let enrolment = match code.map(str::trim).filter(|c| !c.is_empty()) {
            Some(code) => {
                dev.enrol_with_code(text, code, fingerprint.unwrap_or(""), label)
                    .await
            }
            None => {
                let invite = EnrolmentInvite::parse_qr_text(text).map_err(|e| match e {
                    ProtocolError::InviteOutdated => CommandError::new(e.code(), e.to_string()),
                    _ => CommandError::new(
                        "invite_invalid",
                        format!(
                            "不是区县局的注册二维码：{e}；也可以填写服务器地址、注册码和区县局密钥指纹"
                        ),
                    ),
                })?;
                dev.enrol(&invite, label).await
            }
        }?;
        drop(dev);
        self.update(|r| {
            r.last_error = None;
            r.online = Some(true);
        });
        self.kick(true);
        Ok(enrolment)
    }

    /// One round, reporting through `emit`. Not enrolled: nothing to do.
    pub async fn round(&self, emit: &(dyn Fn(SyncEvent) + Send + Sync)) {
        let mut dev = self.device.lock().await;
        match dev.enrolment() {
            Ok(Some(_)) => {}
            _ => return,
        }
        let status = self.update(|r| {
            r.running = true;
            r.progress.clear();
        });
        emit(SyncEvent::Status(status));
        let on_progress = |p: SyncProgress| {
            self.update(
                |r| match r.progress.iter_mut().find(|x| x.lead_id == p.lead_id) {
                    Some(x) => *x = p.clone(),
                    None => r.progress.push(p.clone()),
                },
            );
            emit(SyncEvent::Progress(p));
        };
        let result = self.scheduler.round(&mut dev, on_progress).await;
        let online = policy::reached_bureau(&result);
        let next_due = dev.next_sync_due().ok().flatten();
        let status = self.update(|r| {
            r.running = false;
            r.last_round_at = Some(Utc::now());
            r.next_due = next_due;
            match result {
                Ok(report) => {
                    r.online = Some(true);
                    r.last_error = None;
                    r.last_report = Some(report);
                }
                Err(e) => {
                    r.online = Some(online);
                    r.last_error = Some(e.into());
                }
            }
        });
        emit(SyncEvent::Status(status));
    }

    /// How long to sleep before the next automatic round: the device's policy.
    async fn wait_time(&self) -> std::time::Duration {
        let online = self.runtime().online;
        let dev = self.device.lock().await;
        self.scheduler.wait(&dev, online)
    }

    /// The task: a round at start, then whenever woken or due. Never returns.
    pub async fn run(&self, emit: &(dyn Fn(SyncEvent) + Send + Sync)) {
        loop {
            self.round(emit).await;
            let wait = self.wait_time().await;
            tokio::select! {
                _ = self.kick.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// The enrolment and outbox for the sync screen.
    pub fn status(&self, dev: &mut Device) -> Result<SyncStatus, CommandError> {
        Ok(SyncStatus {
            enrolment: dev.enrolment()?,
            outbox: dev.outbox()?,
            runtime: self.runtime(),
        })
    }
}

impl From<SyncError> for CommandError {
    fn from(e: SyncError) -> Self {
        CommandError::new(e.code(), e.to_string())
    }
}
