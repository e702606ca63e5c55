//! Rate-limit buckets and per-principal windows (API.md §3).
//!
//! A request is attributed to a bucket by Okta's most-specific-prefix rule. Each (principal,
//! bucket) pair has a window that starts at its first request (not aligned to wall-clock minutes).
//! In `Off` mode the counts only feed the `X-Rate-Limit-*` headers; in `Enforce` mode a principal
//! may use `token_share × limit` requests per window, and the next one is refused.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::{BucketLimits, RateLimitMode};

/// Bucket prefixes, most specific first; a path matches a prefix exactly or followed by `/`.
const BUCKETS: &[(&str, &str)] = &[
    ("/oauth2/v1/token", "oauth2_token"),
    ("/oauth2/v1/clients", "oauth2_clients"),
    ("/api/v1/apps", "apps"),
    ("/api/v1/groups", "groups"),
    ("/api/v1/users", "users"),
    ("/api/v1/logs", "logs"),
    ("/api/v1/devices", "devices"),
    ("/v1/teams", "asa"),
];

/// The bucket a request path counts against.
pub fn bucket_for(path: &str) -> &'static str {
    for (prefix, name) in BUCKETS {
        if let Some(rest) = path.strip_prefix(prefix) {
            if rest.is_empty() || rest.starts_with('/') {
                return name;
            }
        }
    }
    "other"
}

/// The per-window limit of `bucket`.
pub fn bucket_limit(limits: &BucketLimits, bucket: &str) -> u32 {
    match bucket {
        "apps" => limits.apps,
        "groups" => limits.groups,
        "users" => limits.users,
        "logs" => limits.logs,
        "devices" => limits.devices,
        "oauth2_clients" => limits.oauth2_clients,
        _ => limits.other,
    }
}

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The request may proceed.
    pub allowed: bool,
    /// `X-Rate-Limit-Limit`: the bucket's limit.
    pub limit: u32,
    /// `X-Rate-Limit-Remaining`: requests this principal has left in the window.
    pub remaining: u32,
    /// `X-Rate-Limit-Reset`: end of the window, epoch seconds (rounded up).
    pub reset: u64,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    used: u32,
}

/// Counts requests per (principal, bucket) and window.
#[derive(Debug)]
pub struct RateLimiter {
    enforce: bool,
    window: Duration,
    share: f64,
    limits: BucketLimits,
    windows: Mutex<HashMap<(String, &'static str), Window>>,
}

/// Epoch seconds (rounded up) of `at`, given the pair (`now`, `now_sys`) describing the present.
pub fn epoch_secs_at(at: Instant, now: Instant, now_sys: SystemTime) -> u64 {
    let sys = if at >= now {
        now_sys + (at - now)
    } else {
        now_sys - (now - at)
    };
    let d = sys.duration_since(UNIX_EPOCH).unwrap_or_default();
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The per-window limit `RateLimitMode::Unlimited` advertises.
pub const UNLIMITED: u32 = 1_000_000;

impl RateLimiter {
    /// A limiter for `mode`. In `Off` mode Workforce limits and 60 s windows feed the headers.
    pub fn new(mode: &RateLimitMode) -> Self {
        match mode {
            RateLimitMode::Off => RateLimiter {
                enforce: false,
                window: Duration::from_secs(60),
                share: 1.0,
                limits: BucketLimits::workforce(),
                windows: Mutex::new(HashMap::new()),
            },
            RateLimitMode::Unlimited => RateLimiter {
                enforce: false,
                window: Duration::from_secs(60),
                share: 1.0,
                limits: BucketLimits {
                    apps: UNLIMITED,
                    groups: UNLIMITED,
                    users: UNLIMITED,
                    logs: UNLIMITED,
                    devices: UNLIMITED,
                    oauth2_clients: UNLIMITED,
                    other: UNLIMITED,
                },
                windows: Mutex::new(HashMap::new()),
            },
            RateLimitMode::Enforce {
                window,
                token_share,
                limits,
            } => RateLimiter {
                enforce: true,
                window: (*window).max(Duration::from_millis(1)),
                share: token_share.clamp(0.0, 1.0),
                limits: *limits,
                windows: Mutex::new(HashMap::new()),
            },
        }
    }

    /// The bucket's limit.
    pub fn limit_of(&self, bucket: &str) -> u32 {
        bucket_limit(&self.limits, bucket)
    }

    /// How many requests one principal may make per window in `bucket`.
    pub fn allowance(&self, bucket: &str) -> u32 {
        let limit = self.limit_of(bucket);
        // f64 → u32: the product is within [0, limit].
        ((f64::from(limit) * self.share).floor() as u32).max(1)
    }

    /// Count one request of `principal` in `bucket` at `now` (`count == false` only reads the
    /// state, for requests that aren't attributed to a principal).
    pub fn check(
        &self,
        principal: &str,
        bucket: &'static str,
        now: Instant,
        now_sys: SystemTime,
        count: bool,
    ) -> Decision {
        let limit = self.limit_of(bucket);
        let allowance = if self.enforce {
            self.allowance(bucket)
        } else {
            limit
        };
        let mut windows = match self.windows.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let key = (principal.to_string(), bucket);
        let w = windows.entry(key).or_insert(Window {
            start: now,
            used: 0,
        });
        if now.duration_since(w.start) >= self.window {
            *w = Window {
                start: now,
                used: 0,
            };
        }
        let reset = epoch_secs_at(w.start + self.window, now, now_sys);
        if !count {
            return Decision {
                allowed: true,
                limit,
                remaining: allowance.saturating_sub(w.used),
                reset,
            };
        }
        if self.enforce && w.used >= allowance {
            return Decision {
                allowed: false,
                limit,
                remaining: 0,
                reset,
            };
        }
        w.used = w.used.saturating_add(1);
        Decision {
            allowed: true,
            limit,
            remaining: allowance.saturating_sub(w.used),
            reset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_by_prefix() {
        assert_eq!(bucket_for("/api/v1/apps"), "apps");
        assert_eq!(bucket_for("/api/v1/apps/0oa1/users"), "apps");
        assert_eq!(bucket_for("/api/v1/appsx"), "other");
        assert_eq!(bucket_for("/api/v1/groups/00g1/users"), "groups");
        assert_eq!(bucket_for("/api/v1/users"), "users");
        assert_eq!(bucket_for("/api/v1/logs"), "logs");
        assert_eq!(bucket_for("/api/v1/devices"), "devices");
        assert_eq!(bucket_for("/oauth2/v1/clients"), "oauth2_clients");
        assert_eq!(bucket_for("/api/v1/iam/roles"), "other");
        assert_eq!(bucket_for("/api/v1/meta/types/user"), "other");
    }

    #[test]
    fn enforce_counts_share_per_principal_and_window() {
        let mut limits = BucketLimits::workforce();
        limits.logs = 10;
        let rl = RateLimiter::new(&RateLimitMode::Enforce {
            window: Duration::from_secs(60),
            token_share: 0.5,
            limits,
        });
        let t0 = Instant::now();
        let sys = SystemTime::now();
        for i in 0..5 {
            let d = rl.check("a", "logs", t0, sys, true);
            assert!(d.allowed);
            assert_eq!(d.limit, 10);
            assert_eq!(d.remaining, 4 - i);
        }
        let d = rl.check(
            "a",
            "logs",
            t0 + Duration::from_secs(1),
            sys + Duration::from_secs(1),
            true,
        );
        assert!(!d.allowed);
        assert_eq!(d.remaining, 0);
        let expect_reset = epoch_secs_at(t0 + Duration::from_secs(60), t0, sys);
        assert_eq!(d.reset, expect_reset);
        // another principal and another bucket are separate
        assert!(rl.check("b", "logs", t0, sys, true).allowed);
        assert!(rl.check("a", "users", t0, sys, true).allowed);
        // a new window starts after the old one ends
        let later = t0 + Duration::from_secs(61);
        let d = rl.check("a", "logs", later, sys, true);
        assert!(d.allowed);
        assert_eq!(d.remaining, 4);
    }

    #[test]
    fn off_mode_never_refuses() {
        let rl = RateLimiter::new(&RateLimitMode::Off);
        let t0 = Instant::now();
        let sys = SystemTime::now();
        let mut last = None;
        for _ in 0..200 {
            last = Some(rl.check("a", "logs", t0, sys, true));
        }
        let d = last.unwrap_or(Decision {
            allowed: false,
            limit: 0,
            remaining: 0,
            reset: 0,
        });
        assert!(d.allowed);
        assert_eq!(d.limit, 120);
        assert_eq!(d.remaining, 0);
    }
}
