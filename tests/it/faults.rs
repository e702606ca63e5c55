//! Faults and rate limits: retries with backoff, waits on 429, pacing under the configured share,
//! and a clear transient error when retries run out.

use crate::harness::{config_json, ids, read, read_cfg, sim, sim_with};
use airbyte_protocol::FailureType;
use okta_sim::{Fault, FaultKind, RateLimitMode};
use std::time::Duration;

fn fault(path: &str, kind: FaultKind, times: usize) -> Fault {
    Fault {
        method: None,
        path_prefix: path.into(),
        kind,
        times,
    }
}

#[test]
fn server_errors_resets_and_garbage_are_retried() {
    let sim = sim();
    sim.add_fault(fault("/api/v1/users", FaultKind::Status(500), 2));
    sim.add_fault(fault("/api/v1/apps", FaultKind::Reset, 1));
    sim.add_fault(fault("/api/v1/groups", FaultKind::Garbage, 1));
    sim.add_fault(fault("/api/v1/logs", FaultKind::Status(503), 1));
    let run = read(
        &sim,
        &["users", "applications", "groups", "system_log"],
        false,
        None,
    )
    .ok();
    assert_eq!(ids(&run.records("users")), ids(&sim.users()));
    assert_eq!(ids(&run.records("applications")), ids(&sim.apps()));
    assert_eq!(ids(&run.records("groups")), ids(&sim.groups()));
    assert!(
        run.logs().iter().any(|l| l.contains("retrying")),
        "retries are logged"
    );
}

#[test]
fn a_429_waits_for_the_reset_and_marks_the_retry() {
    let sim = sim();
    sim.add_fault(fault("/api/v1/users", FaultKind::RateLimited, 1));
    let run = read(&sim, &["users"], false, None).ok();
    assert_eq!(ids(&run.records("users")), ids(&sim.users()));
    let reqs: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/users")
        .collect();
    assert_eq!(reqs[0].status, 429);
    assert!(
        reqs[1].headers.contains_key("x-okta-retry-for"),
        "{:?}",
        reqs[1].headers
    );
    assert_eq!(
        reqs[1]
            .headers
            .get("x-okta-retry-count")
            .map(String::as_str),
        Some("1")
    );
    assert!(
        reqs[1].at.duration_since(reqs[0].at) >= Duration::from_millis(500),
        "waited for the reset"
    );
    assert!(run.logs().iter().any(|l| l.contains("rate limited")));
}

#[test]
fn pacing_keeps_the_sync_under_the_share_without_429s() {
    let sim = sim_with(|c| {
        c.users = 300;
        c.rate_limits = RateLimitMode::Enforce {
            window: Duration::from_secs(2),
            token_share: 0.5,
            limits: okta_sim::BucketLimits {
                users: 6,
                ..okta_sim::BucketLimits::workforce()
            },
        };
    });
    let mut cfg = config_json(&sim);
    cfg["rate_limit_share"] = serde_json::json!(0.5);
    let run = read_cfg(&cfg, &["users"], false, None).ok();
    assert_eq!(ids(&run.records("users")), ids(&sim.users()));
    assert_eq!(sim.stats().rate_limited, 0, "no 429 served");
}

#[test]
fn exhausted_retries_are_one_transient_error() {
    let sim = sim();
    sim.add_fault(fault("/api/v1/users", FaultKind::Status(500), 1000));
    let mut cfg = config_json(&sim);
    cfg["max_retries"] = serde_json::json!(2);
    let run = read_cfg(&cfg, &["users"], false, None);
    let msg = run.failed_with(FailureType::TransientError);
    assert!(msg.contains("3 attempts"), "{msg}");
    assert!(run
        .statuses("users")
        .contains(&airbyte_protocol::StreamStatus::Incomplete));
}

#[test]
fn a_next_link_to_another_origin_is_never_followed() {
    let sim = sim_with(|c| c.users = 450);
    let trap = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let evil = format!(
        "http://127.0.0.1:{}/api/v1/users?after=x",
        trap.local_addr().unwrap().port()
    );
    sim.add_fault(fault("/api/v1/users", FaultKind::NextLink(evil), 1));
    let run = read(&sim, &["users"], false, None);
    let msg = run.failed_with(FailureType::SystemError);
    assert!(msg.contains("another origin"), "{msg}");
    assert!(
        trap.accept().is_err(),
        "no connection reached the other origin"
    );
    run.assert_no_secret(&[&sim.api_token()]);
}

#[test]
fn a_forbidden_stream_is_skipped_and_the_sync_succeeds() {
    let sim = sim();
    sim.add_fault(fault("/api/v1/iam/roles", FaultKind::Status(403), 1000));
    let run = read(
        &sim,
        &["custom_roles", "custom_role_permissions", "users"],
        false,
        None,
    )
    .ok();
    assert_eq!(
        run.statuses("custom_roles").last(),
        Some(&airbyte_protocol::StreamStatus::Incomplete)
    );
    assert_eq!(
        run.statuses("users").last(),
        Some(&airbyte_protocol::StreamStatus::Complete)
    );
    assert!(run.logs().iter().any(|l| l.contains("skipping")));
}
