//! Token buckets that bound how fast one connection may send, and how long it may keep
//! flooding before it is closed.

use std::time::{Duration, Instant};

use crate::config::RateLimit;

/// A token bucket: `capacity` tokens, refilled at `per_second`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(capacity: u32, per_second: u32, now: Instant) -> Self {
        Self {
            capacity: f64::from(capacity.max(1)),
            per_second: f64::from(per_second),
            tokens: f64::from(capacity.max(1)),
            last: now,
        }
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last);
        self.last = now;
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.per_second).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What to do with one incoming message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Process it.
    Allow,
    /// Refuse it with `rate_limited`.
    Limited,
    /// The sender keeps flooding: close the connection.
    Close,
}

/// Per-connection limiter: a bucket for messages, one for in-meeting app requests (so an
/// app flooding its channel never costs its member chat or controls), and one for refusals
/// of either.
#[derive(Debug, Clone)]
pub struct ConnectionLimiter {
    messages: TokenBucket,
    apps: TokenBucket,
    refusals: TokenBucket,
}

impl ConnectionLimiter {
    /// A limiter with full buckets.
    pub fn new(limit: RateLimit, now: Instant) -> Self {
        Self {
            messages: TokenBucket::new(limit.burst, limit.per_second, now),
            apps: TokenBucket::new(limit.app_burst, limit.app_per_second, now),
            refusals: TokenBucket::new(limit.flood_tolerance, limit.per_second, now),
        }
    }

    /// Judges one message arriving at `now`.
    pub fn check(&mut self, now: Instant) -> Verdict {
        if self.messages.try_take(now) {
            Verdict::Allow
        } else if self.refusals.try_take(now) {
            Verdict::Limited
        } else {
            Verdict::Close
        }
    }

    /// Judges one app request arriving at `now`: allowed or refused, never a reason to
    /// close. An app flooding its channel is the app's fault, not its member's, and each
    /// refusal answers a well-formed request (garbage counts on the messages' budget).
    pub fn check_app(&mut self, now: Instant) -> Verdict {
        if self.apps.try_take(now) {
            Verdict::Allow
        } else {
            Verdict::Limited
        }
    }
}

/// How long a bucket of `per_second` takes to earn one token; used by tests and docs.
pub fn token_interval(per_second: u32) -> Duration {
    Duration::from_secs_f64(1.0 / f64::from(per_second.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: RateLimit = RateLimit {
        per_second: 20,
        burst: 50,
        flood_tolerance: 100,
        app_per_second: 30,
        app_burst: 60,
    };

    #[test]
    fn burst_then_limited_then_closed() {
        let start = Instant::now();
        let mut limiter = ConnectionLimiter::new(LIMIT, start);
        let verdicts: Vec<Verdict> = (0..200).map(|_| limiter.check(start)).collect();
        assert!(verdicts[..50].iter().all(|v| *v == Verdict::Allow));
        assert!(verdicts[50..150].iter().all(|v| *v == Verdict::Limited));
        assert!(verdicts[150..].iter().all(|v| *v == Verdict::Close));
    }

    #[test]
    fn app_requests_have_their_own_budget() {
        let start = Instant::now();
        let mut limiter = ConnectionLimiter::new(LIMIT, start);
        let apps: Vec<Verdict> = (0..1000).map(|_| limiter.check_app(start)).collect();
        assert!(apps[..60].iter().all(|v| *v == Verdict::Allow));
        // Refused however long it goes on, never closed.
        assert!(apps[60..].iter().all(|v| *v == Verdict::Limited));
        // The app flood spent neither the messages' budget nor the refusals'.
        let rest: Vec<Verdict> = (0..150).map(|_| limiter.check(start)).collect();
        assert!(rest[..50].iter().all(|v| *v == Verdict::Allow));
        assert!(rest[50..].iter().all(|v| *v == Verdict::Limited));
    }

    #[test]
    fn sustained_rate_is_allowed() {
        let start = Instant::now();
        let mut limiter = ConnectionLimiter::new(LIMIT, start);
        let step = token_interval(LIMIT.per_second);
        // Ten simulated seconds at exactly the sustained rate never hit the limit.
        for i in 0..200u32 {
            assert_eq!(
                limiter.check(start + step * i),
                Verdict::Allow,
                "message {i}"
            );
        }
    }
}
