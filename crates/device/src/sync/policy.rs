//! When the next sync round runs, for whatever drives the rounds (the app's
//! background task): right away when woken, when the earliest backoff expires,
//! at least every [`STATUS_POLL`] to refresh the bureau's statuses, and, while the
//! bureau cannot be reached, every [`OFFLINE_PROBE`] with every backoff forgotten,
//! so the tablet notices at once when the network is back. The [`Scheduler`] holds
//! the one piece of state this needs: whether the next round forgets backoff.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{SyncError, SyncProgress, SyncReport};
use crate::Device;

/// How often an offline tablet tries the bureau again.
pub const OFFLINE_PROBE: Duration = Duration::from_secs(30);
/// How often the bureau's status of delivered leads is refreshed while the app runs.
pub const STATUS_POLL: Duration = Duration::from_secs(300);

/// Whether a round's outcome says the bureau was reachable: only the network
/// failing (not a refusal, not a local error) counts as offline.
pub fn reached_bureau(result: &Result<SyncReport, SyncError>) -> bool {
    !matches!(result, Err(e) if e.is_offline())
}

/// How long to wait before the next automatic round, from what the last round
/// found (`online`: `None` before any), whether the tablet is enrolled and when the
/// outbox's next lead falls due. The second value: whether that round should
/// forget every backoff (it is an offline probe).
pub fn next_wait(
    online: Option<bool>,
    enrolled: bool,
    next_due: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (Duration, bool) {
    if online == Some(false) {
        // The outbox's own backoff grows to many minutes; the network coming
        // back should not have to wait for it.
        return (OFFLINE_PROBE, true);
    }
    if !enrolled {
        return (STATUS_POLL, false);
    }
    let wait = match next_due {
        Some(due) => (due - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(STATUS_POLL),
        None => STATUS_POLL,
    };
    (wait, false)
}

/// The sync policy's state, shared between whoever asks for a round ("sync now",
/// a seal, an enrolment) and the task that runs them.
#[derive(Debug, Default)]
pub struct Scheduler {
    /// Set by "sync now" and by offline probes: the next round ignores backoff.
    forget_backoff: AtomicBool,
}

impl Scheduler {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next round sends every pending lead, whatever backoff it is in.
    pub fn forget_backoff(&self) {
        self.forget_backoff.store(true, Ordering::SeqCst);
    }

    /// One round on `dev`: `sync_now` if backoff is to be forgotten (once), else
    /// `sync_once`.
    pub async fn round(
        &self,
        dev: &mut Device,
        progress: impl FnMut(SyncProgress) + Send,
    ) -> Result<SyncReport, SyncError> {
        if self.forget_backoff.swap(false, Ordering::SeqCst) {
            dev.sync_now(progress).await
        } else {
            dev.sync_once(progress).await
        }
    }

    /// How long to sleep before the next automatic round; see [`next_wait`]. An
    /// offline probe is armed to forget backoff.
    pub fn wait(&self, dev: &Device, online: Option<bool>) -> Duration {
        let enrolled = matches!(dev.enrolment(), Ok(Some(_)));
        let next_due = if enrolled && online != Some(false) {
            dev.next_sync_due().ok().flatten()
        } else {
            None
        };
        let (wait, forget) = next_wait(online, enrolled, next_due, Utc::now());
        if forget {
            self.forget_backoff();
        }
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn offline_probes_often_and_forgets_backoff() {
        let (wait, forget) = next_wait(Some(false), true, Some(at(3_000)), at(0));
        assert_eq!(wait, OFFLINE_PROBE);
        assert!(forget);
    }

    #[test]
    fn online_waits_for_the_earliest_due_lead_at_most_a_status_poll() {
        assert_eq!(
            next_wait(Some(true), true, Some(at(42)), at(0)),
            (Duration::from_secs(42), false)
        );
        assert_eq!(
            next_wait(None, true, Some(at(3_000)), at(0)),
            (STATUS_POLL, false)
        );
        // Already due: at once.
        assert_eq!(
            next_wait(Some(true), true, Some(at(-5)), at(0)),
            (Duration::ZERO, false)
        );
        assert_eq!(
            next_wait(Some(true), true, None, at(0)),
            (STATUS_POLL, false)
        );
    }

    #[test]
    fn not_enrolled_only_polls_slowly() {
        assert_eq!(next_wait(None, false, None, at(0)), (STATUS_POLL, false));
    }

    #[test]
    fn only_the_network_failing_is_offline() {
        assert!(!reached_bureau(&Err(SyncError::Offline("refused".into()))));
        assert!(!reached_bureau(&Err(SyncError::Timeout)));
        assert!(!reached_bureau(&Err(SyncError::Network("reset".into()))));
        assert!(reached_bureau(&Err(SyncError::DeviceRevoked)));
        assert!(reached_bureau(&Ok(SyncReport::default())));
    }

    #[test]
    fn forgetting_backoff_is_for_one_round() {
        let s = Scheduler::new();
        assert!(!s.forget_backoff.load(Ordering::SeqCst));
        s.forget_backoff();
        assert!(s.forget_backoff.swap(false, Ordering::SeqCst));
        assert!(!s.forget_backoff.load(Ordering::SeqCst));
    }
}
