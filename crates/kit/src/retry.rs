//! The one retry policy: bounded attempts, exponential backoff with full jitter, a total time bound,
//! and server wait hints (`Retry-After`, rate-limit reset) honoured up to a configured limit.
//!
//! Full jitter (AWS architecture blog, "Exponential Backoff and Jitter"): the delay before retry `n`
//! (0-based) is uniform in `[0, min(cap, base * 2^n)]`.

use rand::Rng;
use std::time::{Duration, Instant, SystemTime};

/// Bounded retries with full jitter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (so `max_attempts - 1` retries).
    pub max_attempts: u32,
    /// The ceiling of the first backoff; doubled per retry.
    pub base: Duration,
    /// The largest ceiling of one backoff.
    pub cap: Duration,
    /// No retry starts after this much time since the first attempt, and no backoff sleeps past it.
    pub max_elapsed: Duration,
}

impl RetryPolicy {
    /// The ceiling of the backoff before retry `attempt` (0-based): `min(cap, base * 2^attempt)`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        self.base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.cap)
    }

    /// The backoff before retry `attempt` (0-based): uniform in `[0, ceiling(attempt)]`.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, &mut rand::thread_rng())
    }

    /// [`RetryPolicy::delay`] with a given random source (for tests).
    pub fn delay_with(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = u64::try_from(self.ceiling(attempt).as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(rng.gen_range(0..=ceiling))
    }

    /// The wait before the next attempt after `attempts_made` attempts that began at `started`, or `None`
    /// when the attempts or the time budget are used up. The wait never reaches past the time budget.
    pub fn next_delay(&self, attempts_made: u32, started: Instant) -> Option<Duration> {
        let elapsed = started.elapsed();
        if attempts_made >= self.max_attempts || elapsed >= self.max_elapsed {
            return None;
        }
        let delay = self.delay(attempts_made.saturating_sub(1));
        Some(delay.min(self.max_elapsed - elapsed))
    }
}

/// What to do with a wait a server asked for (`Retry-After`, a rate-limit window's reset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HintedWait {
    /// Wait this long (the hint, at most `limit`).
    Wait(Duration),
    /// The server asked for more than `limit + slack`: waiting is not allowed by the configuration.
    TooLong(Duration),
}

/// Honours a server's wait hint up to `limit` (from the configuration); a hint within `slack` over the
/// limit is shortened to it, a longer one is refused.
pub fn bounded_hint(hint: Duration, limit: Duration, slack: Duration) -> HintedWait {
    if hint > limit.saturating_add(slack) {
        HintedWait::TooLong(hint)
    } else {
        HintedWait::Wait(hint.min(limit))
    }
}

/// A `Retry-After` value: delta-seconds or an HTTP date (RFC 9110 §10.2.3), relative to `now`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
            max_elapsed: Duration::from_millis(300),
        }
    }

    #[test]
    fn ceiling_doubles_up_to_the_cap() {
        let p = policy();
        assert_eq!(p.ceiling(0), Duration::from_millis(100));
        assert_eq!(p.ceiling(1), Duration::from_millis(200));
        assert_eq!(p.ceiling(3), Duration::from_millis(800));
        assert_eq!(p.ceiling(4), Duration::from_secs(1));
        assert_eq!(p.ceiling(40), Duration::from_secs(1));
    }

    #[test]
    fn full_jitter_spans_zero_to_the_ceiling() {
        let p = policy();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for attempt in 0..6 {
            let ceiling = p.ceiling(attempt);
            let samples: Vec<Duration> =
                (0..2000).map(|_| p.delay_with(attempt, &mut rng)).collect();
            assert!(samples.iter().all(|d| *d <= ceiling));
            // Full jitter, not equal jitter: the lower half of the range is used, down to near zero.
            assert!(samples.iter().any(|d| *d < ceiling / 10), "{attempt}");
            assert!(samples.iter().any(|d| *d > ceiling * 9 / 10), "{attempt}");
            let below_half = samples.iter().filter(|d| **d < ceiling / 2).count();
            assert!((800..1200).contains(&below_half), "{below_half}");
        }
    }

    #[test]
    fn attempts_and_total_time_are_bounded() {
        let p = policy();
        let started = Instant::now();
        for made in 1..5 {
            let d = p.next_delay(made, started).expect("within budget");
            assert!(d <= p.max_elapsed);
        }
        assert_eq!(p.next_delay(5, started), None);
        let long_ago = Instant::now()
            .checked_sub(Duration::from_millis(290))
            .expect("monotonic clock far enough from its origin");
        for _ in 0..100 {
            let d = p.next_delay(1, long_ago).unwrap_or_default();
            assert!(d <= Duration::from_millis(10), "{d:?}");
        }
        let spent = Instant::now()
            .checked_sub(Duration::from_millis(300))
            .expect("monotonic clock far enough from its origin");
        assert_eq!(p.next_delay(1, spent), None);
    }

    #[test]
    fn server_hints_are_bounded_by_config() {
        let limit = Duration::from_secs(60);
        let slack = Duration::from_secs(1);
        assert_eq!(
            bounded_hint(Duration::from_secs(5), limit, slack),
            HintedWait::Wait(Duration::from_secs(5))
        );
        assert_eq!(
            bounded_hint(Duration::from_millis(60_500), limit, slack),
            HintedWait::Wait(limit)
        );
        assert_eq!(
            bounded_hint(Duration::from_secs(90), limit, slack),
            HintedWait::TooLong(Duration::from_secs(90))
        );
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
