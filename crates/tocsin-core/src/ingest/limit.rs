//! Per-integration rate limiting: a token bucket per integration, so one
//! runaway sender is told to slow down (429 with Retry-After) instead of
//! crowding out every other team's alerts or exhausting the queue. In
//! memory, per instance.

use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;
use std::sync::Mutex;
use tocsin_domain::Name;

/// Events per second an integration may send on average, and how many it
/// may send at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

impl Default for RateLimit {
    /// Far above what one real source sends (an Alertmanager storm of
    /// 10,000 alerts passes at once); `tocsin serve --ingest-rate-limit`
    /// lowers it so that a sender gone wrong cannot take the whole ingest
    /// capacity (about 12,000 events/s on SQLite on two cores).
    fn default() -> Self {
        RateLimit::per_second(20_000.0)
    }
}

impl RateLimit {
    /// `n` events per second on average, bursts of up to `2.5 n`.
    pub fn per_second(n: f64) -> Self {
        RateLimit {
            per_second: n,
            burst: n * 2.5,
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Timestamp,
}

#[derive(Debug, Default)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<Name, Bucket>>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> Self {
        RateLimiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `n` events' worth from the integration's bucket, or says how
    /// long to wait before the request would fit.
    pub fn check(
        &self,
        integration: &Name,
        n: usize,
        now: Timestamp,
    ) -> Result<(), SignedDuration> {
        let want = n as f64;
        let RateLimit { per_second, burst } = self.limit;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = buckets.entry(integration.clone()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.duration_since(b.at).as_secs_f64().max(0.0);
        b.tokens = (b.tokens + elapsed * per_second).min(burst);
        b.at = now;
        if want <= b.tokens {
            b.tokens -= want;
            return Ok(());
        }
        if want > burst {
            // Never fits: wait for a full bucket and let the sender split it.
            return Err(SignedDuration::from_secs_f64(burst / per_second));
        }
        Err(SignedDuration::from_secs_f64(
            (want - b.tokens) / per_second,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills() {
        let l = RateLimiter::new(RateLimit {
            per_second: 10.0,
            burst: 20.0,
        });
        let i = Name::parse("am").unwrap();
        let other = Name::parse("pd").unwrap();
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        assert!(l.check(&i, 15, t0).is_ok());
        assert!(l.check(&i, 5, t0).is_ok());
        let wait = l.check(&i, 1, t0).unwrap_err();
        assert_eq!(wait, SignedDuration::from_millis(100));
        assert!(
            l.check(&other, 20, t0).is_ok(),
            "buckets are per integration"
        );
        let later = t0.checked_add(SignedDuration::from_secs(1)).unwrap();
        assert!(l.check(&i, 10, later).is_ok(), "10 per second refill");
        assert!(l.check(&i, 1, later).is_err());
        assert_eq!(
            l.check(&i, 50, later).unwrap_err(),
            SignedDuration::from_secs(2)
        );
    }
}
