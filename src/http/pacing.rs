//! Client-side pacing against Okta's rate-limit buckets, from `X-Rate-Limit-*` headers and the response `Date`.
//!
//! Each request belongs to a bucket family (Okta matches buckets by longest path prefix). Before a
//! request is sent, its family must have room: requests already counted by Okta (`Limit − Remaining`)
//! plus requests in flight must stay under `share × Limit`. When the share is used up, callers wait
//! until the window resets, computed as `Reset − Date` from the response that told us, so local clock
//! skew does not matter.

use reqwest::header::HeaderMap;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Margin added to every computed reset, covering the one-second granularity of `Reset` and `Date`.
pub const RESET_MARGIN: Duration = Duration::from_millis(250);
/// Longest reset believed from a response without a `Date` header: the reset is then measured against
/// the local clock, which may be off by any amount, and Okta's windows last one minute.
pub const UNDATED_RESET_MAX: Duration = Duration::from_secs(60);
/// How long to wait when a window is exhausted but no reset time is known.
pub const UNKNOWN_RESET_WAIT: Duration = Duration::from_secs(1);

/// Okta's bucket families, by longest-prefix rules: declared beside the streams, in the manifest.
pub use okta_manifest::bucket_of;

/// What the last response of a bucket said about its window.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitHeaders {
    pub limit: u32,
    pub remaining: u32,
    /// How long until the window resets, from `Reset − Date`.
    pub reset_in: Option<Duration>,
}

impl RateLimitHeaders {
    /// Reads `X-Rate-Limit-*` (Okta) or `X-RateLimit-*` (ASA) headers.
    pub fn parse(headers: &HeaderMap) -> Option<Self> {
        let num = |names: &[&str]| -> Option<u64> {
            names
                .iter()
                .find_map(|n| headers.get(*n)?.to_str().ok()?.trim().parse::<u64>().ok())
        };
        let limit = num(&["x-rate-limit-limit", "x-ratelimit-limit"])?;
        let remaining = num(&["x-rate-limit-remaining", "x-ratelimit-remaining"]).unwrap_or(0);
        let reset = num(&["x-rate-limit-reset", "x-ratelimit-reset"]);
        let date = headers
            .get(reqwest::header::DATE)
            .and_then(|d| d.to_str().ok())
            .and_then(|d| httpdate::parse_http_date(d).ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs());
        let reset_in = match (reset, date) {
            (Some(r), Some(d)) => Some(Duration::from_secs(r.saturating_sub(d))),
            // No `Date`: the local clock, and no more than one window, whatever the header says.
            (Some(r), None) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .map(|n| Duration::from_secs(r.saturating_sub(n.as_secs())).min(UNDATED_RESET_MAX)),
            (None, _) => None,
        };
        Some(Self {
            limit: u32::try_from(limit).unwrap_or(u32::MAX),
            remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
            reset_in,
        })
    }
}

#[derive(Debug, Default)]
struct Bucket {
    limit: Option<u32>,
    /// What the latest answer of the current window said is left (Okta's count, ours and others').
    remaining: Option<u32>,
    reset_at: Option<Instant>,
    in_flight: u32,
    /// Requests this process sent in the current window (in flight included).
    sent: u32,
}

/// Shared pacing state for all buckets.
#[derive(Debug)]
pub struct Pacer {
    share: f64,
    buckets: Mutex<HashMap<&'static str, Bucket>>,
}

/// A reserved slot in a bucket; give it back with [`Pacer::release`] once the response is in.
#[derive(Debug)]
pub struct Slot {
    pub bucket: &'static str,
}

impl Pacer {
    pub fn new(share: f64) -> Self {
        Self {
            share,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Reserves room for one request in `bucket`, or says how long to wait first. A request fits while
    /// this process has sent fewer than `share × Limit` requests in the window and Okta still reports
    /// room beyond the requests in flight (whether `Remaining` counts the org or only this token).
    pub fn try_acquire(&self, bucket: &'static str) -> Result<Slot, Duration> {
        let mut map = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let b = map.entry(bucket).or_default();
        let now = Instant::now();
        if b.reset_at.is_some_and(|reset| now >= reset) {
            // A fresh window: nothing counted in it yet, as far as we know.
            b.remaining = None;
            b.reset_at = None;
            b.sent = b.in_flight;
        }
        if let Some(limit) = b.limit {
            let allowed = ((f64::from(limit) * self.share).floor() as u32).max(1);
            let exhausted = b.remaining.is_some_and(|r| r <= b.in_flight);
            if b.sent >= allowed || exhausted {
                return Err(match b.reset_at {
                    Some(reset) => reset.saturating_duration_since(now),
                    None if b.in_flight > 0 => Duration::from_millis(20),
                    None => UNKNOWN_RESET_WAIT,
                });
            }
        }
        b.in_flight += 1;
        b.sent += 1;
        Ok(Slot { bucket })
    }

    /// Returns a slot, folding in what the response said about the window.
    pub fn release(&self, slot: Slot, headers: Option<RateLimitHeaders>) {
        let mut map = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let b = map.entry(slot.bucket).or_default();
        b.in_flight = b.in_flight.saturating_sub(1);
        let Some(h) = headers else { return };
        if h.limit == 0 {
            // A concurrency 429: the numbers describe nothing about the per-minute window.
            return;
        }
        b.limit = Some(h.limit);
        let Some(reset_at) = h.reset_in.map(|d| Instant::now() + d + RESET_MARGIN) else {
            b.remaining = Some(b.remaining.map_or(h.remaining, |r| r.min(h.remaining)));
            return;
        };
        match b.reset_at {
            // Answers of one window may arrive out of order: the smallest remaining is the latest.
            Some(old) if old.max(reset_at).duration_since(old.min(reset_at)) < SAME_WINDOW => {
                b.remaining = Some(b.remaining.map_or(h.remaining, |r| r.min(h.remaining)));
            }
            // A late answer from a window that is over.
            Some(old) if reset_at < old => {}
            // A newer window than we knew of: this answer and those in flight belong to it.
            Some(_) => {
                b.remaining = Some(h.remaining);
                b.reset_at = Some(reset_at);
                b.sent = b.in_flight + 1;
            }
            None => {
                b.remaining = Some(h.remaining);
                b.reset_at = Some(reset_at);
            }
        }
    }
}

/// Two resets closer than this describe the same window (`Reset` has one-second granularity).
const SAME_WINDOW: Duration = Duration::from_millis(1500);

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(limit: u32, remaining: u32, reset_in: u64) -> RateLimitHeaders {
        RateLimitHeaders {
            limit,
            remaining,
            reset_in: Some(Duration::from_secs(reset_in)),
        }
    }

    #[test]
    fn stops_at_the_share_until_reset() {
        let p = Pacer::new(0.5);
        let s = p.try_acquire("logs").unwrap();
        p.release(s, Some(headers(10, 9, 30)));
        // 1 used of 5 allowed: four more fit, the fifth must wait for the reset.
        for _ in 0..4 {
            let s = p.try_acquire("logs").unwrap();
            p.release(s, None);
        }
        let wait = p.try_acquire("logs").unwrap_err();
        assert!(
            wait > Duration::from_secs(29) && wait <= Duration::from_secs(31),
            "{wait:?}"
        );
        // Other buckets are not affected.
        assert!(p.try_acquire("apps").is_ok());
    }

    #[test]
    fn in_flight_requests_count() {
        let p = Pacer::new(0.5);
        let s = p.try_acquire("users").unwrap();
        p.release(s, Some(headers(4, 4, 60)));
        // One request of the two allowed was sent; one more fits, then the window is full.
        let a = p.try_acquire("users").unwrap();
        assert!(p.try_acquire("users").is_err());
        p.release(a, None);
    }

    #[test]
    fn a_per_token_remaining_stops_before_zero() {
        // Okta may report Remaining against this token's share rather than the whole bucket.
        let p = Pacer::new(0.5);
        let s = p.try_acquire("logs").unwrap();
        p.release(s, Some(headers(120, 1, 30)));
        let s = p.try_acquire("logs").unwrap();
        assert!(
            p.try_acquire("logs").is_err(),
            "the last unit of Remaining is in flight"
        );
        p.release(s, Some(headers(120, 0, 30)));
        assert!(p.try_acquire("logs").is_err());
    }

    #[test]
    fn parses_headers_against_date() {
        let mut h = HeaderMap::new();
        h.insert("x-rate-limit-limit", "600".parse().unwrap());
        h.insert("x-rate-limit-remaining", "599".parse().unwrap());
        h.insert("x-rate-limit-reset", "1609459260".parse().unwrap());
        h.insert("date", "Fri, 01 Jan 2021 00:00:00 GMT".parse().unwrap());
        let r = RateLimitHeaders::parse(&h).unwrap();
        assert_eq!(
            (r.limit, r.remaining, r.reset_in),
            (600, 599, Some(Duration::from_secs(60)))
        );
        // Without a Date header, a reset an hour ahead of the local clock is not believed.
        h.remove("date");
        let in_an_hour = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3600;
        h.insert(
            "x-rate-limit-reset",
            in_an_hour.to_string().parse().unwrap(),
        );
        let r = RateLimitHeaders::parse(&h).unwrap();
        assert_eq!(r.reset_in, Some(UNDATED_RESET_MAX));
    }
}
