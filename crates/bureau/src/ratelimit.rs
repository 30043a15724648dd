//! In-memory limits: token buckets (per device, per client address, global) and
//! the login throttle of each console account. Every map here is bounded.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.rate_per_sec).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.rate_per_sec).ceil().max(1.0) as u64)
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
        let tokens =
            (tokens + now.duration_since(*at).as_secs_f64() * self.rate_per_sec).min(self.burst);
        if tokens >= 1.0 {
            Ok(())
        } else {
            Err(((1.0 - tokens) / self.rate_per_sec).ceil().max(1.0) as u64)
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

/// Guards each console account against password guessing without letting a
/// stranger lock its owner out.
///
/// The first `free` failures in a window cost nothing; after that each attempt must
/// wait twice as long as the one before (1 s, 2 s, 4 s, ... up to `max_delay`)
/// since the last attempt. There is no hard lockout: the owner can always log in
/// after at most `max_delay`, while a guesser gets a few dozen tries an hour. An
/// attempt is counted when it starts, under the lock, so parallel requests cannot
/// all slip in before the first failure is recorded. Only real accounts are kept
/// here, so the map is bounded by the number of users.
#[derive(Debug)]
pub struct LoginThrottle {
    free: u32,
    max_delay: Duration,
    window: Duration,
    accounts: Mutex<HashMap<i64, Attempts>>,
}

#[derive(Debug, Clone, Copy)]
struct Attempts {
    /// Failures plus attempts still being checked.
    counted: u32,
    last: Instant,
}

impl LoginThrottle {
    pub fn new(free: u32, max_delay: Duration, window: Duration) -> Self {
        LoginThrottle {
            free,
            max_delay,
            window,
            accounts: Mutex::new(HashMap::new()),
        }
    }

    fn delay_after(&self, counted: u32) -> Duration {
        if counted < self.free {
            return Duration::ZERO;
        }
        let doublings = (counted - self.free).min(20);
        Duration::from_secs(1u64 << doublings).min(self.max_delay)
    }

    /// Starts an attempt on an account, or says how many seconds to wait.
    pub fn begin(&self, account: i64) -> Result<(), u64> {
        let now = Instant::now();
        let mut map = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        let a = map.entry(account).or_insert(Attempts {
            counted: 0,
            last: now,
        });
        if a.counted > 0 && now.duration_since(a.last) > self.window {
            a.counted = 0;
        }
        let wait = self.delay_after(a.counted);
        let since = now.duration_since(a.last);
        if a.counted > 0 && since < wait {
            let left = wait - since;
            return Err(left.as_secs() + u64::from(left.subsec_nanos() > 0));
        }
        a.counted += 1;
        a.last = now;
        Ok(())
    }

    /// Ends an attempt begun with [`begin`](Self::begin): a success forgets the
    /// account's failures, a failure stays counted.
    pub fn finish(&self, account: i64, success: bool) {
        if success {
            let mut map = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
            map.remove(&account);
        }
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

    #[test]
    fn an_account_gets_free_tries_then_growing_delays_and_a_success_clears() {
        let t = LoginThrottle::new(2, Duration::from_secs(60), Duration::from_secs(900));
        assert!(t.begin(1).is_ok());
        t.finish(1, false);
        assert!(t.begin(1).is_ok());
        t.finish(1, false);
        // The third try must wait, and parallel tries are counted as they start.
        assert_eq!(t.begin(1), Err(1));
        assert!(t.begin(2).is_ok(), "another account is not affected");
        t.finish(1, true);
        assert!(t.begin(1).is_ok());
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
}
