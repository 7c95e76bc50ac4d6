//! Rate limiting of failed authentications per client address.
//!
//! Each address has a bucket of `burst` failures that refills at `burst`
//! per `window`. A failed authentication takes one; an address whose bucket
//! is empty is answered `RATE_LIMITED` (429, `Retry-After`) before any
//! database or Argon2 work for keys it has not proven. Successful requests
//! take nothing, so a burst of legitimate first requests is never refused.
//! (Charging before verifying would also bound parallel guesses, but it
//! refused honest bursts of new keys; that needs single-flight verification
//! per key first.)

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Addresses tracked at most; beyond it the fullest buckets (those that
/// would allow requests anyway) are forgotten first.
const MAX_TRACKED: usize = 100_000;

struct Bucket {
    tokens: f64,
    updated: Instant,
}

pub struct FailureLimiter {
    burst: f64,
    per_sec: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl FailureLimiter {
    /// `burst` failures allowed at once, refilled over `window`.
    pub fn new(burst: u32, window: Duration) -> Self {
        let burst = f64::from(burst.max(1));
        FailureLimiter {
            burst,
            per_sec: burst / window.as_secs_f64().max(0.001),
            buckets: Mutex::default(),
        }
    }

    fn refill(&self, b: &mut Bucket, now: Instant) {
        let elapsed = now.saturating_duration_since(b.updated).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.per_sec).min(self.burst);
        b.updated = now;
    }

    /// `Err(seconds to wait)` if `ip` has no failures left now.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let Some(b) = buckets.get_mut(&ip) else {
            return Ok(());
        };
        self.refill(b, now);
        if b.tokens < 1.0 {
            Err(((1.0 - b.tokens) / self.per_sec).ceil().max(1.0) as u64)
        } else {
            Ok(())
        }
    }

    /// Records a failed authentication from `ip`.
    pub fn failed(&self, ip: IpAddr) {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&ip) {
            for b in buckets.values_mut() {
                self.refill(b, now);
            }
            let burst = self.burst;
            buckets.retain(|_, b| b.tokens < burst);
            if buckets.len() >= MAX_TRACKED {
                buckets.clear();
            }
        }
        let b = buckets.entry(ip).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        self.refill(b, now);
        b.tokens = (b.tokens - 1.0).max(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_burst_and_recovers() {
        let l = FailureLimiter::new(3, Duration::from_millis(300));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(l.check(ip), Ok(()));
            l.failed(ip);
        }
        assert!(l.check(ip).is_err_and(|s| s >= 1));
        assert_eq!(l.check(other), Ok(()), "other addresses are not affected");
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(l.check(ip), Ok(()), "the bucket refills over the window");
    }

    #[test]
    fn checking_costs_nothing() {
        let l = FailureLimiter::new(1, Duration::from_secs(60));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..100 {
            assert_eq!(l.check(ip), Ok(()));
        }
    }
}
