//! Per-partner rate limiting: a token bucket per partner tenant, in this instance's memory.
//! Each authenticated request takes one token; a partner with none left is answered 429 with
//! the seconds until the next token in `Retry-After`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// Buckets kept before full (idle) ones are dropped; a full bucket is the same as none.
const PRUNE_ABOVE: usize = 10_000;

/// How many requests a partner may make.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    /// Tokens added per second, sustained.
    pub per_second: f64,
    /// The bucket's size: requests a partner may make at once after being idle.
    pub burst: f64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The buckets of every partner seen.
#[derive(Debug)]
pub struct RateLimiter {
    quota: Quota,
    buckets: Mutex<HashMap<Uuid, Bucket>>,
}

impl RateLimiter {
    pub fn new(quota: Quota) -> Self {
        RateLimiter {
            quota,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `partner` at `now`, or says how long until one is available.
    pub fn check(&self, partner: Uuid, now: Instant) -> Result<(), Duration> {
        let Quota { per_second, burst } = self.quota;
        // A poisoned map still holds whole buckets: each update is a single assignment.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, bucket| refilled(bucket, now, self.quota) < burst);
        }
        let bucket = buckets.entry(partner).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        bucket.tokens = refilled(bucket, now, self.quota);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }
}

fn refilled(bucket: &Bucket, now: Instant, quota: Quota) -> f64 {
    let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
    (bucket.tokens + elapsed * quota.per_second).min(quota.burst)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARTNER: Uuid = Uuid::from_u128(1);
    const OTHER: Uuid = Uuid::from_u128(2);

    fn limiter(per_second: f64, burst: f64) -> RateLimiter {
        RateLimiter::new(Quota { per_second, burst })
    }

    #[test]
    fn a_partner_may_spend_the_burst_at_once_then_waits_for_the_next_token() {
        let limiter = limiter(2.0, 3.0);
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check(PARTNER, start), Ok(()));
        }
        assert_eq!(
            limiter.check(PARTNER, start),
            Err(Duration::from_millis(500))
        );
        assert_eq!(
            limiter.check(PARTNER, start + Duration::from_millis(500)),
            Ok(())
        );
    }

    #[test]
    fn partners_have_buckets_of_their_own() {
        let limiter = limiter(1.0, 1.0);
        let now = Instant::now();
        assert_eq!(limiter.check(PARTNER, now), Ok(()));
        assert!(limiter.check(PARTNER, now).is_err());
        assert_eq!(limiter.check(OTHER, now), Ok(()));
    }

    #[test]
    fn an_idle_bucket_refills_only_up_to_the_burst() {
        let limiter = limiter(10.0, 2.0);
        let start = Instant::now();
        assert_eq!(limiter.check(PARTNER, start), Ok(()));
        let later = start + Duration::from_secs(60);
        assert_eq!(limiter.check(PARTNER, later), Ok(()));
        assert_eq!(limiter.check(PARTNER, later), Ok(()));
        assert!(limiter.check(PARTNER, later).is_err());
    }

    #[test]
    fn refused_requests_take_no_token() {
        let limiter = limiter(1.0, 1.0);
        let start = Instant::now();
        assert_eq!(limiter.check(PARTNER, start), Ok(()));
        for _ in 0..5 {
            assert!(limiter.check(PARTNER, start).is_err());
        }
        assert_eq!(
            limiter.check(PARTNER, start + Duration::from_secs(1)),
            Ok(())
        );
    }

    #[test]
    fn idle_partners_are_forgotten_when_the_map_grows_large() {
        let limiter = limiter(1000.0, 1.0);
        let start = Instant::now();
        for n in 0..=PRUNE_ABOVE as u128 {
            limiter.check(Uuid::from_u128(n + 10), start).unwrap();
        }
        limiter
            .check(PARTNER, start + Duration::from_secs(1))
            .unwrap();
        assert_eq!(limiter.buckets.lock().unwrap().len(), 1);
    }
}
