//! Limits: token buckets and the login throttle of each console account.
//!
//! The limits on guessing (enrolment codes and passwords by client address, each
//! account's password) are kept in the database ([`SharedLimiter`],
//! [`LoginThrottle`]), so every instance of a city's bureau counts the same
//! attempts: two instances do not give a guesser twice the tries. The limits on
//! load (per device, and each instance's overall caps) stay in memory
//! ([`RateLimiter`]), where every map is bounded.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::storage::{Counter, CounterRule};

/// Milliseconds since the epoch: the clock shared limits count in (each
/// instance's own, kept by NTP like every server's).
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A bucket's tokens after `elapsed_secs` of refilling.
fn refill(tokens: f64, elapsed_secs: f64, rate_per_sec: f64, burst: f64) -> f64 {
    (tokens + elapsed_secs.max(0.0) * rate_per_sec).min(burst)
}

/// Seconds until a bucket holding `tokens` has one whole token.
fn wait_for_one(tokens: f64, rate_per_sec: f64) -> u64 {
    ((1.0 - tokens) / rate_per_sec).ceil().max(1.0) as u64
}

/// Buckets beyond this many are pruned of full (idle) ones.
const MAX_BUCKETS: usize = 100_000;

#[derive(Debug)]
pub struct RateLimiter<K> {
    rate_per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn new(rate_per_sec: f64, burst: u32) -> Self {
        RateLimiter {
            rate_per_sec,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token, or says how many seconds until one is free.
    pub fn check(&self, key: &K) -> Result<(), u64> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        self.prune(&mut buckets, now);
        let (tokens, at) = buckets.entry(key.clone()).or_insert((self.burst, now));
        let elapsed = now.duration_since(*at).as_secs_f64();
        *tokens = refill(*tokens, elapsed, self.rate_per_sec, self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(wait_for_one(*tokens, self.rate_per_sec))
        }
    }

    /// Whether a token is free, without taking it: for limits that count only
    /// failures (take one with [`check`](Self::check) after the failure).
    pub fn peek(&self, key: &K) -> Result<(), u64> {
        let now = Instant::now();
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let Some((tokens, at)) = buckets.get(key) else {
            return Ok(());
        };
        let elapsed = now.duration_since(*at).as_secs_f64();
        let tokens = refill(*tokens, elapsed, self.rate_per_sec, self.burst);
        if tokens >= 1.0 {
            Ok(())
        } else {
            Err(wait_for_one(tokens, self.rate_per_sec))
        }
    }

    /// Keeps the map bounded: full (idle) buckets go first; if many keys are busy
    /// at once (addresses of a spread-out attack), the least recently used half go.
    fn prune(&self, buckets: &mut HashMap<K, (f64, Instant)>, now: Instant) {
        if buckets.len() < MAX_BUCKETS {
            return;
        }
        let (rate, burst) = (self.rate_per_sec, self.burst);
        buckets.retain(|_, (tokens, at)| {
            *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
        });
        if buckets.len() >= MAX_BUCKETS {
            let mut ages: Vec<Instant> = buckets.values().map(|(_, at)| *at).collect();
            ages.sort_unstable();
            let cutoff = ages[ages.len() / 2];
            buckets.retain(|_, (_, at)| *at > cutoff);
        }
    }
}

/// A token bucket kept in the database ([`crate::storage::Storage::update_counter`]),
/// shared by every instance: for limits on guessing, by client address.
#[derive(Debug, Clone)]
pub struct SharedLimiter {
    /// Names the limit in the counter's key (`enrol-address:…`).
    kind: &'static str,
    rate_per_sec: f64,
    burst: f64,
}

impl SharedLimiter {
    pub fn new(kind: &'static str, rate_per_sec: f64, burst: u32) -> Self {
        SharedLimiter {
            kind,
            rate_per_sec,
            burst: f64::from(burst.max(1)),
        }
    }

    /// The counter of `who` (a client address).
    pub fn key(&self, who: &str) -> String {
        format!("{}:{who}", self.kind)
    }

    /// Takes one token at `now_ms` (or, with `take` false, only checks that one
    /// is free: for limits that count failures alone).
    pub fn rule(&self, now_ms: i64, take: bool) -> CounterRule {
        let (rate, burst) = (self.rate_per_sec, self.burst);
        Arc::new(move |current: Option<Counter>| {
            let tokens = current.map_or(burst, |c| {
                let elapsed = (now_ms - c.at_ms) as f64 / 1000.0;
                refill(c.value as f64 / 1000.0, elapsed, rate, burst)
            });
            if tokens < 1.0 {
                return (current, Some(wait_for_one(tokens, rate)));
            }
            if !take {
                return (current, None);
            }
            let left = tokens - 1.0;
            let full_in_ms = ((burst - left) / rate * 1000.0).ceil() as i64;
            let next = Counter {
                value: (left * 1000.0).floor() as i64,
                at_ms: now_ms,
                expires_ms: now_ms.saturating_add(full_in_ms),
            };
            (Some(next), None)
        })
    }
}

/// Guards each console account against password guessing without letting a
/// stranger lock its owner out. Its count is a shared counter, so it holds
/// whichever instance the attempts reach.
///
/// The first `free` failures in a window cost nothing; after that each attempt must
/// wait twice as long as the one before (1 s, 2 s, 4 s, ... up to `max_delay`)
/// since the last attempt. There is no hard lockout: the owner can always log in
/// after at most `max_delay`, while a guesser gets a few dozen tries an hour. An
/// attempt is counted when it starts, in one change, so parallel requests cannot
/// all slip in before the first failure is recorded.
#[derive(Debug, Clone)]
pub struct LoginThrottle {
    free: u32,
    max_delay: Duration,
    window: Duration,
}

impl LoginThrottle {
    pub fn new(free: u32, max_delay: Duration, window: Duration) -> Self {
        LoginThrottle {
            free,
            max_delay,
            window,
        }
    }

    /// The counter of a console account.
    pub fn key(account: i64) -> String {
        format!("login-account:{account}")
    }

    fn delay_after(&self, counted: u32) -> Duration {
        if counted < self.free {
            return Duration::ZERO;
        }
        let doublings = (counted - self.free).min(20);
        Duration::from_secs(1u64 << doublings).min(self.max_delay)
    }

    /// Starts an attempt on the account at `now_ms`, or says how many seconds to
    /// wait.
    pub fn begin(&self, now_ms: i64) -> CounterRule {
        let this = self.clone();
        let window_ms = i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX);
        Arc::new(move |current: Option<Counter>| {
            let (mut counted, last) = current.map_or((0, now_ms), |c| {
                (u32::try_from(c.value).unwrap_or(u32::MAX), c.at_ms)
            });
            let since = now_ms.saturating_sub(last).max(0);
            if counted > 0 && since > window_ms {
                counted = 0;
            }
            let wait = i64::try_from(this.delay_after(counted).as_millis()).unwrap_or(i64::MAX);
            if counted > 0 && since < wait {
                let left_ms = (wait - since) as u64;
                return (current, Some(left_ms.div_ceil(1000)));
            }
            let next = Counter {
                value: i64::from(counted.saturating_add(1)),
                at_ms: now_ms,
                expires_ms: now_ms.saturating_add(window_ms),
            };
            (Some(next), None)
        })
    }

    /// Ends an attempt begun with [`begin`](Self::begin) that succeeded: the
    /// account's failures are forgotten. (A failure stays counted.)
    pub fn success() -> CounterRule {
        Arc::new(|_| (None, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refuses() {
        let l = RateLimiter::new(0.001, 3);
        for _ in 0..3 {
            assert!(l.check(&"dev").is_ok());
        }
        assert!(l.check(&"dev").unwrap_err() >= 1);
        assert!(l.check(&"other").is_ok());
    }

    #[test]
    fn the_map_stays_bounded_when_many_addresses_are_busy_at_once() {
        let l = RateLimiter::new(0.0001, 1);
        for i in 0..(MAX_BUCKETS as u32 + 10) {
            let _ = l.check(&i);
        }
        let n = l.buckets.lock().unwrap().len();
        assert!(n <= MAX_BUCKETS, "{n}");
    }

    /// Applies a rule to a counter held here, as the database does.
    fn apply(state: &mut Option<Counter>, rule: CounterRule) -> Result<(), u64> {
        let (next, verdict) = rule(*state);
        *state = next;
        verdict.map_or(Ok(()), Err)
    }

    #[test]
    fn an_account_gets_free_tries_then_growing_delays_and_a_success_clears() {
        let t = LoginThrottle::new(2, Duration::from_secs(60), Duration::from_secs(900));
        let (mut one, mut two) = (None, None);
        assert!(apply(&mut one, t.begin(1_000)).is_ok());
        assert!(apply(&mut one, t.begin(1_000)).is_ok());
        // The third try must wait, and parallel tries are counted as they start.
        assert_eq!(apply(&mut one, t.begin(1_000)), Err(1));
        assert!(apply(&mut two, t.begin(1_000)).is_ok(), "another account");
        // A second later the wait is over; the next one is twice as long.
        assert!(apply(&mut one, t.begin(2_000)).is_ok());
        assert_eq!(apply(&mut one, t.begin(2_500)), Err(2));
        assert!(apply(&mut one, LoginThrottle::success()).is_ok());
        assert_eq!(one, None);
        assert!(apply(&mut one, t.begin(2_600)).is_ok());
        // A quiet window forgets the failures; the counter says when it may go.
        let mut three = None;
        for _ in 0..5 {
            let _ = apply(&mut three, t.begin(10_000));
        }
        assert!(apply(&mut three, t.begin(10_000 + 901_000)).is_ok());
        assert_eq!(three.unwrap().value, 1);
        assert_eq!(three.unwrap().expires_ms, 10_000 + 901_000 + 900_000);
    }

    #[test]
    fn delays_double_up_to_the_cap_so_the_owner_is_never_locked_out_for_good() {
        let t = LoginThrottle::new(5, Duration::from_secs(60), Duration::from_secs(900));
        assert_eq!(t.delay_after(4), Duration::ZERO);
        assert_eq!(t.delay_after(5), Duration::from_secs(1));
        assert_eq!(t.delay_after(7), Duration::from_secs(4));
        assert_eq!(t.delay_after(12), Duration::from_secs(60));
        assert_eq!(t.delay_after(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn a_shared_bucket_allows_its_burst_refills_and_peeks_without_taking() {
        let l = SharedLimiter::new("test", 0.5, 3);
        let mut c = None;
        assert!(apply(&mut c, l.rule(0, false)).is_ok());
        assert_eq!(c, None, "a look writes nothing");
        for _ in 0..3 {
            assert!(apply(&mut c, l.rule(0, true)).is_ok());
        }
        assert_eq!(apply(&mut c, l.rule(0, true)), Err(2));
        assert_eq!(apply(&mut c, l.rule(0, false)), Err(2));
        // Two seconds refill one token at 0.5/s.
        assert!(apply(&mut c, l.rule(2_000, true)).is_ok());
        assert_eq!(apply(&mut c, l.rule(2_000, true)), Err(2));
        // Spent when full again: three tokens at 0.5/s.
        assert_eq!(c.unwrap().expires_ms, 2_000 + 6_000);
        assert_eq!(l.key("10.0.0.1"), "test:10.0.0.1");
    }
}
