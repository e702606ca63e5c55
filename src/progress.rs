//! Progress of a read, for people watching a long sync: per-stream counters (records, requests, pacing
//! waits, an estimate when one is knowable), the periodic progress line, the end-of-sync summary table,
//! and the rule that one pacing wait is logged once, not once per request that waits.
//!
//! Requests are attributed to the stream whose task sends them (a tokio task-local set by `sync`). Requests
//! sent from tasks a reader spawns itself (a fan-out's prefetches) carry no task-local; they are attributed
//! by matching their path against the selected fan-out streams' child path templates (`/api/v1/apps/{id}/users`).
//!
//! This module is a leaf: `http` calls [`count_request`] and [`paced_wait`], `sync` and `output` feed it,
//! and it imports none of them.

use airbyte_protocol::StreamStatus;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Seconds between two progress lines (`0` turns them off). Default [`DEFAULT_PROGRESS_INTERVAL`].
pub const PROGRESS_INTERVAL_ENV: &str = "SOURCE_OKTA_PROGRESS_SECONDS";
pub const DEFAULT_PROGRESS_INTERVAL: Duration = Duration::from_secs(30);

/// The progress interval from [`PROGRESS_INTERVAL_ENV`]; `None` when progress lines are off.
pub fn interval_from_env() -> Option<Duration> {
    match std::env::var(PROGRESS_INTERVAL_ENV) {
        Err(_) => Some(DEFAULT_PROGRESS_INTERVAL),
        Ok(v) => match v.trim().parse::<f64>() {
            Ok(s) if s > 0.0 && s.is_finite() => Some(Duration::from_secs_f64(s)),
            Ok(_) => None,
            Err(_) => {
                tracing::warn!(
                    value = v.as_str(),
                    "{PROGRESS_INTERVAL_ENV} is not a number of seconds; using the default"
                );
                Some(DEFAULT_PROGRESS_INTERVAL)
            }
        },
    }
}

/// What an estimate counts: rows, or parents of a fan-out (about one request each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EstimateUnit {
    Records,
    Parents,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One stream's counters.
#[derive(Debug)]
pub struct StreamProgress {
    pub name: &'static str,
    records: AtomicU64,
    requests: AtomicU64,
    waits: AtomicU64,
    estimate: Mutex<Option<(u64, EstimateUnit)>>,
    started: Mutex<Option<Instant>>,
    end: Mutex<Option<(StreamStatus, Duration)>>,
    /// The bucket this stream's requests last waited on, and until when.
    waiting: Mutex<Option<(&'static str, Instant)>>,
}

impl StreamProgress {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            records: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            waits: AtomicU64::new(0),
            estimate: Mutex::new(None),
            started: Mutex::new(None),
            end: Mutex::new(None),
            waiting: Mutex::new(None),
        }
    }

    pub fn start(&self) {
        lock(&self.started).get_or_insert_with(Instant::now);
    }

    pub fn add_records(&self, n: u64) {
        self.records.fetch_add(n, Ordering::Relaxed);
    }

    pub fn set_estimate(&self, n: u64, unit: EstimateUnit) {
        *lock(&self.estimate) = Some((n, unit));
    }

    pub fn finish(&self, status: StreamStatus) {
        let took = lock(&self.started).map_or(Duration::ZERO, |s| s.elapsed());
        lock(&self.end).get_or_insert((status, took));
    }

    pub fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn elapsed(&self) -> Duration {
        match *lock(&self.end) {
            Some((_, took)) => took,
            None => lock(&self.started).map_or(Duration::ZERO, |s| s.elapsed()),
        }
    }

    /// Seconds left at the current rate, when an estimate exists and the stream has made progress.
    fn eta(&self) -> Option<Duration> {
        let (total, unit) = (*lock(&self.estimate))?;
        let done = match unit {
            EstimateUnit::Records => self.records(),
            EstimateUnit::Parents => self.requests(),
        };
        let secs = self.elapsed().as_secs_f64();
        if done == 0 || secs <= 0.0 {
            return None;
        }
        let rate = done as f64 / secs;
        Some(Duration::from_secs_f64(
            total.saturating_sub(done) as f64 / rate,
        ))
    }

    /// One stream's part of the progress line.
    fn describe(&self, now: Instant) -> String {
        let records = self.records();
        let secs = self.elapsed().as_secs_f64().max(0.001);
        let mut s = format!(
            "{}: {records} records ({:.1}/s), {} requests",
            self.name,
            records as f64 / secs,
            self.requests()
        );
        if let Some((n, unit)) = *lock(&self.estimate) {
            let what = match unit {
                EstimateUnit::Records => "records",
                EstimateUnit::Parents => "parents",
            };
            let _ = write!(s, ", estimate {n} {what}");
        }
        if let Some(eta) = self.eta() {
            let _ = write!(s, ", ETA {}", human(eta));
        }
        if let Some((bucket, until)) = *lock(&self.waiting) {
            if until > now {
                let _ = write!(
                    s,
                    ", waiting on the {bucket} rate limit for {}",
                    human(until - now)
                );
            }
        }
        s
    }
}

/// `95 s`, `12 min 5 s`, `2 h 3 min`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "<1 s".to_string(),
        1..=119 => format!("{s} s"),
        120..=7199 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// A path template split into segments; `{…}` segments match any one segment.
type Template = Vec<String>;

fn matches(template: &Template, path: &str) -> bool {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    segs.len() == template.len()
        && template
            .iter()
            .zip(&segs)
            .all(|(t, s)| t.starts_with('{') || t == s)
}

/// The counters of one read.
#[derive(Debug)]
pub struct Progress {
    started: Instant,
    streams: Vec<Arc<StreamProgress>>,
    /// Child path templates of the selected fan-out streams → index in `streams`.
    templates: Vec<(Template, usize)>,
}

static SYNC: OnceLock<Arc<Progress>> = OnceLock::new();

tokio::task_local! {
    static CURRENT: Arc<StreamProgress>;
}

impl Progress {
    /// The counters of these streams; `child_path` is a fan-out stream's child path template.
    pub fn new(streams: &[(&'static str, Option<&str>)]) -> Arc<Self> {
        let mut templates = Vec::new();
        for (i, (_, path)) in streams.iter().enumerate() {
            if let Some(p) = path {
                let t: Template = p
                    .split('?')
                    .next()
                    .unwrap_or_default()
                    .trim_matches('/')
                    .split('/')
                    .map(str::to_string)
                    .collect();
                templates.push((t, i));
            }
        }
        Arc::new(Self {
            started: Instant::now(),
            streams: streams
                .iter()
                .map(|(n, _)| Arc::new(StreamProgress::new(n)))
                .collect(),
            templates,
        })
    }

    /// Makes these the counters that [`count_request`] and [`paced_wait`] feed (once per process).
    pub fn install_global(self: &Arc<Self>) {
        let _ = SYNC.set(self.clone());
    }

    pub fn stream(&self, name: &str) -> Option<&Arc<StreamProgress>> {
        self.streams.iter().find(|s| s.name == name)
    }

    fn by_path(&self, path: &str) -> Option<&Arc<StreamProgress>> {
        self.templates
            .iter()
            .find(|(t, _)| matches(t, path))
            .map(|(_, i)| &self.streams[*i])
    }

    /// The periodic progress line: totals, then each running stream.
    pub fn line(&self) -> String {
        let now = Instant::now();
        let total: u64 = self.streams.iter().map(|s| s.records()).sum();
        let done = self
            .streams
            .iter()
            .filter(|s| lock(&s.end).is_some())
            .count();
        let mut line = format!(
            "progress: {total} records in {}, {done} of {} streams done",
            human(self.started.elapsed()),
            self.streams.len()
        );
        for s in &self.streams {
            if lock(&s.started).is_some() && lock(&s.end).is_none() {
                let _ = write!(line, "; {}", s.describe(now));
            }
        }
        line
    }

    /// The end-of-sync table: one row per stream, then the totals.
    pub fn summary(&self) -> String {
        let width = self
            .streams
            .iter()
            .map(|s| s.name.len())
            .max()
            .unwrap_or(0)
            .max("stream".len());
        let mut t = format!(
            "sync summary by stream:\n{:<width$}  {:<10}  {:>10}  {:>8}  {:>5}  {:>9}\n",
            "stream", "status", "records", "requests", "waits", "seconds"
        );
        let (mut records, mut requests, mut waits) = (0, 0, 0);
        for s in &self.streams {
            let status = match *lock(&s.end) {
                Some((StreamStatus::Complete, _)) => "COMPLETE",
                Some(_) => "INCOMPLETE",
                None if lock(&s.started).is_some() => "INCOMPLETE",
                None => "NOT STARTED",
            };
            let (r, q, w) = (s.records(), s.requests(), s.waits.load(Ordering::Relaxed));
            records += r;
            requests += q;
            waits += w;
            let _ = writeln!(
                t,
                "{:<width$}  {status:<10}  {r:>10}  {q:>8}  {w:>5}  {:>9.1}",
                s.name,
                s.elapsed().as_secs_f64()
            );
        }
        let _ = write!(
            t,
            "{:<width$}  {:<10}  {records:>10}  {requests:>8}  {waits:>5}  {:>9.1}",
            "total",
            "",
            self.started.elapsed().as_secs_f64()
        );
        t
    }
}

/// Runs `f` as the work of stream `s`: requests it sends count for `s`.
pub async fn scope<F: std::future::Future>(s: Arc<StreamProgress>, f: F) -> F::Output {
    CURRENT.scope(s, f).await
}

/// The stream a request on `path` is sent for, if any.
fn attributed(path: &str) -> Option<Arc<StreamProgress>> {
    CURRENT
        .try_with(Arc::clone)
        .ok()
        .or_else(|| SYNC.get().and_then(|p| p.by_path(path).cloned()))
}

/// Counts one request sent (called by the HTTP client for every attempt).
pub fn count_request(path: &str) {
    if let Some(s) = attributed(path) {
        s.requests.fetch_add(1, Ordering::Relaxed);
    }
}

/// Records the estimate of the stream whose task calls this.
pub fn estimated(rows: u64, unit: EstimateUnit) {
    let _ = CURRENT.try_with(|s| s.set_estimate(rows, unit));
}

/// Ends of the pacing waits announced so far, by bucket.
static ANNOUNCED: Mutex<Option<HashMap<&'static str, Instant>>> = Mutex::new(None);

/// Records that a request on `path` waits `wait` for `bucket`'s window. True for the first request
/// that waits for this window (the one that should log it); the requests that queue behind it while the
/// wait lasts get false, so one wait is one log line, not one per request.
pub fn paced_wait(bucket: &'static str, path: &str, wait: Duration) -> bool {
    let now = Instant::now();
    let until = now + wait;
    if let Some(s) = attributed(path) {
        s.waits.fetch_add(1, Ordering::Relaxed);
        *lock(&s.waiting) = Some((bucket, until));
    }
    let mut announced = lock(&ANNOUNCED);
    let map = announced.get_or_insert_with(HashMap::new);
    match map.get(bucket) {
        Some(end) if *end > now => {
            if until > *end {
                map.insert(bucket, until);
            }
            false
        }
        _ => {
            map.insert(bucket, until);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_wait_is_announced_once_per_bucket() {
        let wait = Duration::from_millis(200);
        assert!(paced_wait("test-a", "/x", wait));
        assert!(
            !paced_wait("test-a", "/x", wait),
            "same wait, second request"
        );
        assert!(paced_wait("test-b", "/x", wait), "another bucket");
        std::thread::sleep(wait + Duration::from_millis(20));
        assert!(
            paced_wait("test-a", "/x", wait),
            "a later wait is a new one"
        );
    }

    #[test]
    fn requests_outside_a_stream_task_are_matched_by_path() {
        let p = Progress::new(&[
            ("applications", None),
            ("application_users", Some("/api/v1/apps/{id}/users")),
        ]);
        assert_eq!(
            p.by_path("/api/v1/apps/0oa1/users").map(|s| s.name),
            Some("application_users")
        );
        assert!(p.by_path("/api/v1/apps").is_none());
        assert!(p.by_path("/api/v1/apps/0oa1/groups").is_none());
    }

    #[test]
    fn eta_follows_the_rate_and_the_summary_has_every_stream() {
        let p = Progress::new(&[("users", None), ("groups", None)]);
        let users = p.stream("users").unwrap();
        users.start();
        users.set_estimate(1000, EstimateUnit::Records);
        assert_eq!(users.eta(), None, "no progress yet: no ETA");
        std::thread::sleep(Duration::from_millis(50));
        users.add_records(500);
        let eta = users.eta().unwrap();
        assert!(
            eta >= Duration::from_millis(30) && eta <= Duration::from_secs(5),
            "{eta:?}"
        );
        let line = p.line();
        assert!(
            line.contains("users: 500 records") && line.contains("ETA"),
            "{line}"
        );
        users.finish(StreamStatus::Complete);
        let table = p.summary();
        let rows: Vec<&str> = table.lines().collect();
        assert_eq!(rows.len(), 5, "{table}");
        assert!(rows[2].starts_with("users ") && rows[2].contains("COMPLETE"));
        assert!(rows[3].starts_with("groups ") && rows[3].contains("NOT STARTED"));
        assert!(rows[4].starts_with("total") && rows[4].contains(" 500 "));
    }
}
