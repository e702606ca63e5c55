//! The benchmark: runs the release `source-okta` binary against an in-process simulated org and prints,
//! per scenario, records, requests, 429s served, wall time, records/s and the connector's peak RSS.
//!
//! `cargo build --release --bins && cargo run --release --example bench -- [--scenario 1|2|3|all]`
//!
//! 1. CPU bound: no effective rate limits, 100k users (~2M records over the core streams).
//! 2. Memory: ~10k records vs ~1M records, peak RSS side by side.
//! 3. Rate bound: Workforce limits, 50 % per token, a shortened window; the sync time against the floor
//!    the limits allow (requests per bucket ÷ allowed rate, the busiest bucket dominating) and the 429s.
//! 4. Change feed: a 100k-user org read incrementally (users, groups, memberships, factors, app
//!    assignments, devices, roles, owners) without effective limits, its Workforce floor computed; then
//!    about 1 % of users, memberships, assignments and factors change (`churn`), and a second
//!    incremental sync runs under real Workforce limits (60 s windows, 50 % share): its requests and
//!    wall time next to the first's. `--users N` changes the org size.

#![allow(clippy::print_stdout)] // printing the figures is what the benchmark is for

use okta_sim::{BucketLimits, RateLimitMode, SimConfig, SimServer};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Streams of the CPU and memory scenarios (the bulk of an org's records).
const CORE_STREAMS: &[&str] = &[
    "users",
    "groups",
    "group_members",
    "applications",
    "application_users",
    "application_groups",
    "system_log",
    "user_types",
    "custom_roles",
    "custom_role_permissions",
];
/// Users of the CPU-bound scenario.
const CPU_USERS: usize = 100_000;
/// Users giving ~10k and ~1M records in the memory scenario.
const SMALL_USERS: usize = 500;
const LARGE_USERS: usize = 50_000;
/// The connector's default `max_concurrency`, used by the memory scenario.
const MEMORY_CONCURRENCY: u32 = 4;
/// The rate-bound scenario: org size, window and per-token share.
const RATE_USERS: usize = 10_000;
const RATE_WINDOW: Duration = Duration::from_secs(15);
const RATE_SHARE: f64 = 0.5;

struct Outcome {
    records: u64,
    wall: Duration,
    peak_rss_kib: u64,
    requests: u64,
    rate_limited: u64,
    by_bucket: std::collections::BTreeMap<String, u64>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let scenario = args
        .iter()
        .position(|a| a == "--scenario")
        .and_then(|i| args.get(i + 1))
        .map_or("all", String::as_str);
    let bin = std::env::current_exe()
        .expect("exe")
        .parent()
        .and_then(|p| p.parent())
        .expect("target dir")
        .join("source-okta");
    assert!(
        bin.exists(),
        "build the connector first: cargo build --release --bins ({} missing)",
        bin.display()
    );
    println!(
        "{:<34} {:>10} {:>9} {:>6} {:>9} {:>11} {:>12}",
        "scenario", "records", "requests", "429s", "wall s", "records/s", "peak RSS MB"
    );
    if matches!(scenario, "1" | "all") {
        let o = run(
            &bin,
            SimConfig {
                users: CPU_USERS,
                rate_limits: RateLimitMode::Unlimited,
                ..SimConfig::default()
            },
            1.0,
            8,
        );
        report(&format!("1 cpu-bound ({CPU_USERS} users)"), &o);
    }
    if matches!(scenario, "2" | "all") {
        let small = run(
            &bin,
            SimConfig {
                users: SMALL_USERS,
                rate_limits: RateLimitMode::Unlimited,
                ..SimConfig::default()
            },
            1.0,
            MEMORY_CONCURRENCY,
        );
        report(&format!("2 memory, small ({SMALL_USERS} users)"), &small);
        let large = run(
            &bin,
            SimConfig {
                users: LARGE_USERS,
                rate_limits: RateLimitMode::Unlimited,
                ..SimConfig::default()
            },
            1.0,
            MEMORY_CONCURRENCY,
        );
        report(&format!("2 memory, large ({LARGE_USERS} users)"), &large);
        let ratio = large.peak_rss_kib as f64 / small.peak_rss_kib.max(1) as f64;
        println!(
            "   peak RSS large/small: {ratio:.2} ({} vs {} records)",
            large.records, small.records
        );
    }
    if matches!(scenario, "4" | "all") {
        let users = args
            .iter()
            .position(|a| a == "--users")
            .and_then(|i| args.get(i + 1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(CPU_USERS);
        change_feed(&bin, users);
    }
    if matches!(scenario, "3" | "all") {
        let limits = BucketLimits::workforce();
        let cfg = SimConfig {
            users: RATE_USERS,
            rate_limits: RateLimitMode::Enforce {
                window: RATE_WINDOW,
                token_share: RATE_SHARE,
                limits,
            },
            ..SimConfig::default()
        };
        let o = run(&bin, cfg, RATE_SHARE, 4);
        report(
            &format!(
                "3 rate-bound ({RATE_USERS} users, {}s window)",
                RATE_WINDOW.as_secs()
            ),
            &o,
        );
        let mut floor = Duration::ZERO;
        let mut busiest = String::new();
        for (bucket, n) in &o.by_bucket {
            let limit = bucket_limit(&limits, bucket);
            let allowed = ((f64::from(limit) * RATE_SHARE).floor() as u64).max(1);
            let windows = n.div_ceil(allowed).saturating_sub(1);
            let t = RATE_WINDOW * u32::try_from(windows).unwrap_or(u32::MAX);
            println!("   bucket {bucket:<14} {n:>6} requests, {allowed:>4} allowed per window -> floor {:>6.1}s", t.as_secs_f64());
            if t > floor {
                floor = t;
                busiest = bucket.clone();
            }
        }
        println!(
            "   floor {:.1}s (bucket {busiest}); sync {:.1}s = {:.1}% of the floor; 429s served: {}",
            floor.as_secs_f64(),
            o.wall.as_secs_f64(),
            100.0 * o.wall.as_secs_f64() / floor.as_secs_f64().max(0.001),
            o.rate_limited
        );
    }
}

fn bucket_limit(l: &BucketLimits, bucket: &str) -> u32 {
    match bucket {
        "apps" => l.apps,
        "groups" => l.groups,
        "users" => l.users,
        "logs" => l.logs,
        "devices" => l.devices,
        "oauth2_clients" => l.oauth2_clients,
        _ => l.other,
    }
}

fn report(name: &str, o: &Outcome) {
    let secs = o.wall.as_secs_f64();
    println!(
        "{name:<34} {:>10} {:>9} {:>6} {:>9.2} {:>11.0} {:>12.1}",
        o.records,
        o.requests,
        o.rate_limited,
        secs,
        o.records as f64 / secs.max(0.001),
        o.peak_rss_kib as f64 / 1024.0
    );
}

/// The incremental streams of the change-feed scenario.
const FEED_STREAMS: &[&str] = &[
    "users",
    "groups",
    "group_members",
    "devices",
    "device_users",
    "user_factors",
    "user_role_assignments",
    "group_owners",
    "application_users",
    "application_groups",
];

/// Scenario 4: a first incremental sync, ~1 % churn, a second incremental sync under Workforce limits.
fn change_feed(bin: &std::path::Path, users: usize) {
    let sim = SimServer::start(SimConfig {
        users,
        rate_limits: RateLimitMode::Unlimited,
        ..SimConfig::default()
    });
    let limits = BucketLimits::workforce();
    let window = Duration::from_secs(60);
    let (first, states) = sync(bin, &sim, None);
    report(&format!("4 first sync ({users} users, unlimited)"), &first);
    let floor = workforce_floor(&first, &limits, window);
    println!(
        "   first sync under Workforce limits at 50 %: floor {:.0} min ({} requests)",
        floor.as_secs_f64() / 60.0,
        first.requests
    );
    let churn = sim.churn(0.01, 42);
    println!(
        "   churn: {} profile updates, {} created, {} deleted, {}+{} memberships, {}+{} app users, {}+{}+{} factor changes ({} events)",
        churn.users_updated,
        churn.users_created,
        churn.users_deleted,
        churn.memberships_added,
        churn.memberships_removed,
        churn.app_users_added,
        churn.app_users_removed,
        churn.factors_deactivated,
        churn.factors_reset,
        churn.factors_enrolled,
        churn.events
    );
    sim.set_rate_limits(RateLimitMode::Enforce {
        window,
        token_share: RATE_SHARE,
        limits,
    });
    let (second, _) = sync(bin, &sim, Some(&states));
    report("4 second sync (Workforce, 50 %)", &second);
    println!(
        "   second sync: {} requests in {:.1} s, against {} requests (floor {:.0} min) for the first; 429s: {}",
        second.requests,
        second.wall.as_secs_f64(),
        first.requests,
        floor.as_secs_f64() / 60.0,
        second.rate_limited
    );
    for (bucket, n) in &second.by_bucket {
        println!("   second sync bucket {bucket:<14} {n:>6} requests");
    }
}

/// The time Workforce limits at 50 % would need for `o`'s requests, the busiest bucket dominating.
fn workforce_floor(o: &Outcome, limits: &BucketLimits, window: Duration) -> Duration {
    o.by_bucket
        .iter()
        .map(|(bucket, n)| {
            let allowed =
                ((f64::from(bucket_limit(limits, bucket)) * RATE_SHARE).floor() as u64).max(1);
            window * u32::try_from(n.div_ceil(allowed).saturating_sub(1)).unwrap_or(u32::MAX)
        })
        .max()
        .unwrap_or_default()
}

/// One incremental sync of [`FEED_STREAMS`] from `state` (a JSON array of STATE messages); returns the
/// outcome and the last STATE of every stream.
fn sync(bin: &std::path::Path, sim: &SimServer, state: Option<&Value>) -> (Outcome, Value) {
    let dir = std::env::temp_dir().join(format!("okta-bench-feed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = json!({"base_url": sim.base_url(), "rate_limit_share": RATE_SHARE,
        "max_concurrency": 4, "system_log_settle_seconds": 0,
        "credentials": {"auth_type": "api_token", "api_token": sim.api_token()}});
    let streams: Vec<Value> = FEED_STREAMS
        .iter()
        .map(|s| json!({"stream": {"name": s, "json_schema": {}}, "sync_mode": "incremental", "destination_sync_mode": "append_dedup"}))
        .collect();
    let cfg_path = dir.join("config.json");
    let cat_path = dir.join("catalog.json");
    let state_path = dir.join("state.json");
    std::fs::write(&cfg_path, config.to_string()).expect("write config");
    std::fs::write(&cat_path, json!({"streams": streams}).to_string()).expect("write catalog");
    let mut args = vec![
        "read".to_string(),
        "--config".into(),
        cfg_path.display().to_string(),
        "--catalog".into(),
        cat_path.display().to_string(),
    ];
    if let Some(s) = state {
        std::fs::write(&state_path, s.to_string()).expect("write state");
        args.extend(["--state".into(), state_path.display().to_string()]);
    }
    let before = sim.stats();
    let started = Instant::now();
    let out = Command::new(bin)
        .args(&args)
        .env("RUST_LOG", "warn")
        .stderr(Stdio::inherit())
        .output()
        .expect("run source-okta");
    let wall = started.elapsed();
    let mut records = 0u64;
    let mut last: std::collections::BTreeMap<String, Value> = std::collections::BTreeMap::new();
    for line in out.stdout.split(|b| *b == b'\n') {
        if line.starts_with(b"{\"type\":\"RECORD\"") {
            records += 1;
        } else if line.starts_with(b"{\"type\":\"STATE\"") {
            if let Ok(m) = serde_json::from_slice::<Value>(line) {
                let name = m["state"]["stream"]["stream_descriptor"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                last.insert(name, m["state"].clone());
            }
        }
    }
    let after = sim.stats();
    let _ = std::fs::remove_dir_all(&dir);
    let by_bucket = after
        .by_bucket
        .iter()
        .map(|(k, v)| (k.clone(), v - before.by_bucket.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect();
    let outcome = Outcome {
        records,
        wall,
        peak_rss_kib: 0,
        requests: after.requests - before.requests,
        rate_limited: after.rate_limited - before.rate_limited,
        by_bucket,
    };
    (outcome, Value::Array(last.into_values().collect()))
}

/// Seeds a simulator, runs one full read of the core streams, and measures the connector process.
fn run(bin: &std::path::Path, cfg: SimConfig, share: f64, concurrency: u32) -> Outcome {
    let sim = SimServer::start(cfg);
    let dir = std::env::temp_dir().join(format!("okta-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = json!({"base_url": sim.base_url(), "rate_limit_share": share, "max_concurrency": concurrency,
        "credentials": {"auth_type": "api_token", "api_token": sim.api_token()}});
    let streams: Vec<Value> = CORE_STREAMS
        .iter()
        .map(|s| json!({"stream": {"name": s, "json_schema": {}}, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}))
        .collect();
    let cfg_path = dir.join("config.json");
    let cat_path = dir.join("catalog.json");
    std::fs::write(&cfg_path, config.to_string()).expect("write config");
    std::fs::write(&cat_path, json!({"streams": streams}).to_string()).expect("write catalog");
    let before = sim.stats();
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args([
            "read",
            "--config",
            cfg_path.to_str().unwrap_or_default(),
            "--catalog",
            cat_path.to_str().unwrap_or_default(),
        ])
        .env("RUST_LOG", "warn,source_okta::sync=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn source-okta");
    let stdout = child.stdout.take().expect("stdout");
    // The connector reports its own peak RSS (VmHWM) in its closing summary line on stderr.
    let stderr = child.stderr.take().expect("stderr");
    let summary = std::thread::spawn(move || {
        let mut peak = 0u64;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(v) = line.split("peak_rss_kib=").nth(1) {
                peak = v
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
            } else if !line.contains(" INFO ") {
                eprintln!("{line}");
            }
        }
        peak
    });
    let mut records = 0u64;
    for line in BufReader::with_capacity(1 << 20, stdout).split(b'\n') {
        let line = line.expect("read stdout");
        if line.starts_with(b"{\"type\":\"RECORD\"") {
            records += 1;
        }
    }
    let wall = started.elapsed();
    let _ = child.wait();
    let peak_rss_kib = summary.join().unwrap_or(0);
    let after = sim.stats();
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::io::stdout().flush();
    let by_bucket = after
        .by_bucket
        .iter()
        .map(|(k, v)| (k.clone(), v - before.by_bucket.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect();
    Outcome {
        records,
        wall,
        peak_rss_kib,
        requests: after.requests - before.requests,
        rate_limited: after.rate_limited - before.rate_limited,
        by_bucket,
    }
}
