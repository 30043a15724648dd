//! A bounded pool of database connections, for both backends (PostgreSQL's
//! connections, SQLite's read connections): at most `max` open, idle ones
//! reused, and a caller that finds them all busy waits for one handed back.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use super::{StorageError, StorageResult};

pub(crate) struct Pool<C> {
    state: Mutex<State<C>>,
    freed: Condvar,
    max: usize,
    wait: Duration,
    /// What a connection is, for the message when none comes free in time.
    what: &'static str,
}

impl<C> std::fmt::Debug for Pool<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("what", &self.what)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

struct State<C> {
    idle: Vec<C>,
    open: usize,
}

impl<C> Pool<C> {
    pub(crate) fn new(max: usize, wait: Duration, what: &'static str) -> Self {
        Pool {
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
            max,
            wait,
            what,
        }
    }

    /// An idle connection that is still `usable` (the others are let go), a
    /// new one from `open` while fewer than `max` are open, or the next one
    /// handed back within the wait.
    pub(crate) fn checkout(
        &self,
        usable: impl Fn(&C) -> bool,
        open: impl FnOnce() -> StorageResult<C>,
    ) -> StorageResult<C> {
        let deadline = Instant::now() + self.wait;
        let mut state = self.state.lock().map_err(|_| StorageError::WriterGone)?;
        loop {
            if let Some(conn) = state.idle.pop() {
                if !usable(&conn) {
                    state.open -= 1;
                    continue;
                }
                return Ok(conn);
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                let conn = open();
                if conn.is_err() {
                    if let Ok(mut state) = self.state.lock() {
                        state.open -= 1;
                    }
                    self.freed.notify_one();
                }
                return conn;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StorageError::Backend(format!(
                    "{} 秒内没有空闲的{}",
                    self.wait.as_secs(),
                    self.what
                )));
            }
            state = self
                .freed
                .wait_timeout(state, left)
                .map_err(|_| StorageError::WriterGone)?
                .0;
        }
    }

    /// Hands a connection back; one no longer `usable` is let go.
    pub(crate) fn checkin(&self, conn: C, usable: bool) {
        if let Ok(mut state) = self.state.lock() {
            if usable {
                state.idle.push(conn);
            } else {
                state.open -= 1;
            }
        }
        self.freed.notify_one();
    }

    /// The idle connections, taken out (for a storage being dropped).
    pub(crate) fn take_idle(&mut self) -> Vec<C> {
        self.state
            .get_mut()
            .map(|s| std::mem::take(&mut s.idle))
            .unwrap_or_default()
    }
}
