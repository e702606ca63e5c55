//! `okta-sim`: serve a simulated Okta org until killed (SIGTERM/SIGINT), for demos and benchmarks.
//!
//! Prints one JSON line `{"base_url":…,"api_token":…}` to stdout once listening; everything else
//! goes to stderr. Serves the admin endpoints (`POST /__sim/churn?fraction=F&seed=S`,
//! `POST /__sim/release-logs`, `GET /__sim/stats`) unless `--no-admin`; it listens on loopback only.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use okta_sim::{
    all_read_scopes, BucketLimits, OAuthConfig, RateLimitMode, SimConfig, SimServer,
    DEFAULT_API_TOKEN,
};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RateLimits {
    /// Send rate-limit headers, never throttle.
    Off,
    /// Advertise buckets too large to matter (CPU-bound benchmarks).
    Unlimited,
    /// Enforce Okta's Workforce bucket limits per token.
    Workforce,
}

/// Serve a seeded, simulated Okta org on 127.0.0.1.
#[derive(Debug, Parser)]
#[command(name = "okta-sim", version)]
struct Args {
    /// Number of users (everything else scales with it).
    #[arg(long, default_value_t = 50)]
    users: usize,
    /// Seed of the generated org.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The API token to accept (`Authorization: SSWS <token>`).
    #[arg(long, default_value = DEFAULT_API_TOKEN)]
    api_token: String,
    /// Rate limiting.
    #[arg(long, value_enum, default_value_t = RateLimits::Off)]
    rate_limits: RateLimits,
    /// Rate-limit window in seconds (with --rate-limits workforce).
    #[arg(long, default_value_t = 60)]
    window_secs: u64,
    /// Share of each bucket one token may use (with --rate-limits workforce).
    #[arg(long, default_value_t = 0.5)]
    token_share: f64,
    /// Maximum concurrent requests; beyond it 429 with X-Rate-Limit-Limit: 0.
    #[arg(long)]
    concurrency_limit: Option<usize>,
    /// How many days back System Log events go.
    #[arg(long, default_value_t = 100)]
    log_days: u32,
    /// Enable OAuth: the RSA public key (PEM) that verifies client assertions.
    #[arg(long, requires = "oauth_client_id")]
    oauth_public_key: Option<PathBuf>,
    /// Enable OAuth: the service app's client id.
    #[arg(long, requires = "oauth_public_key")]
    oauth_client_id: Option<String>,
    /// Require DPoP-bound tokens.
    #[arg(long, requires = "oauth_public_key")]
    require_dpop: bool,
    /// Granted scopes, space-separated (default: every okta.*.read scope served).
    #[arg(long)]
    oauth_scopes: Option<String>,
    /// System Log eventual consistency: new events become visible this many ms after `published`.
    #[arg(long, default_value_t = 0)]
    log_delay_ms: u64,
    /// Don't serve the admin endpoints (`POST /__sim/churn`, `POST /__sim/release-logs`,
    /// `GET /__sim/stats`).
    #[arg(long)]
    no_admin: bool,
}

fn config(a: &Args) -> Result<SimConfig, String> {
    let oauth = match (&a.oauth_public_key, &a.oauth_client_id) {
        (Some(path), Some(id)) => {
            let pem = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let mut o = OAuthConfig::new(id.clone(), pem);
            o.require_dpop = a.require_dpop;
            if let Some(s) = &a.oauth_scopes {
                o.scopes = s.split_whitespace().map(str::to_string).collect();
            } else {
                o.scopes = all_read_scopes();
            }
            Some(o)
        }
        _ => None,
    };
    if !(a.token_share > 0.0 && a.token_share <= 1.0) {
        return Err("--token-share must be in (0, 1]".into());
    }
    Ok(SimConfig {
        seed: a.seed,
        users: a.users,
        api_token: a.api_token.clone(),
        oauth,
        rate_limits: match a.rate_limits {
            RateLimits::Off => RateLimitMode::Off,
            RateLimits::Unlimited => RateLimitMode::Unlimited,
            RateLimits::Workforce => RateLimitMode::Enforce {
                window: Duration::from_secs(a.window_secs.max(1)),
                token_share: a.token_share,
                limits: BucketLimits::workforce(),
            },
        },
        concurrency_limit: a.concurrency_limit,
        link_style: okta_sim::LinkStyle::Separate,
        log_days: a.log_days,
        log_delay: Duration::from_millis(a.log_delay_ms),
        admin: !a.no_admin,
        ..SimConfig::default()
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let cfg = match config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("okta-sim: {e}");
            return ExitCode::from(2);
        }
    };
    let t0 = Instant::now();
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let sim = match SimServer::try_start_on(cfg, addr) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("okta-sim: {e}");
            return ExitCode::from(1);
        }
    };
    eprintln!(
        "okta-sim: seeded {} users (seed {}) in {:.2}s, listening on {}",
        args.users,
        args.seed,
        t0.elapsed().as_secs_f64(),
        sim.base_url()
    );
    let line = serde_json::json!({"base_url": sim.base_url(), "api_token": sim.api_token()});
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        // The one line a launcher waits for; if stdout is gone there is nobody to serve.
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            return ExitCode::from(1);
        }
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("okta-sim: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(wait_for_signal());
    let t_stop = Instant::now();
    let stats = sim.stats();
    eprintln!(
        "okta-sim: stopping after {} requests ({} rate-limited)",
        stats.requests, stats.rate_limited
    );
    drop(sim);
    drop(rt);
    eprintln!(
        "okta-sim: stopped in {:.2}s",
        t_stop.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}
