//! Progress for long syncs (issue 14): an ESTIMATE for fan-out streams, the periodic progress line, one
//! pacing log per wait, the end-of-sync summary table, and skipped streams that still end with a STATE.

use crate::harness::{config_json, read, sim, sim_with, state_file, Run};
use airbyte_protocol::{AirbyteMessage, StreamStatus, TraceBody};
use okta_sim::{Fault, FaultKind, RateLimitMode};
use serde_json::{json, Value};
use std::time::Duration;

fn read_env(config: &Value, streams: &[&str], state: Option<&Value>, env: &[(&str, &str)]) -> Run {
    crate::harness::read_cfg_env(config, streams, true, state, env)
}

fn estimates(run: &Run) -> Vec<(String, u64)> {
    run.messages
        .iter()
        .filter_map(|m| match m {
            AirbyteMessage::Trace { trace } => match &trace.body {
                TraceBody::Estimate { estimate } => {
                    Some((estimate.name.clone(), estimate.row_estimate?))
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The row of `stream` in the end-of-sync table on stderr, split into cells.
fn summary_row(run: &Run, stream: &str) -> Vec<String> {
    let table = run
        .stderr
        .split("sync summary by stream:")
        .nth(1)
        .unwrap_or_else(|| panic!("no summary table on stderr:\n{}", run.stderr));
    table
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .find(|cells| cells.first().map(String::as_str) == Some(stream))
        .unwrap_or_else(|| panic!("no row for {stream} in:\n{table}"))
}

#[test]
fn fan_outs_estimate_their_parents_and_the_summary_counts_what_was_sent() {
    let sim = sim();
    let run = read(
        &sim,
        &[
            "applications",
            "app_user_schemas",
            "custom_roles",
            "custom_role_permissions",
            "users",
        ],
        false,
        None,
    )
    .ok();
    let est = estimates(&run);
    for (child, parent) in [
        ("app_user_schemas", "applications"),
        ("custom_role_permissions", "custom_roles"),
    ] {
        let parents = run.records(parent).len() as u64;
        assert!(parents > 0, "{parent} has records");
        let mine: Vec<u64> = est
            .iter()
            .filter(|(n, _)| n == child)
            .map(|(_, e)| *e)
            .collect();
        assert_eq!(mine, [parents], "one ESTIMATE of {child}: its parent count");
        // Every parent's child list was requested and counted for this stream.
        let row = summary_row(&run, child);
        assert_eq!(row[1], "COMPLETE", "{row:?}");
        let requests: u64 = row[3].parse().unwrap();
        assert!(
            requests >= parents,
            "{child}: {requests} requests for {parents} parents"
        );
    }
    for stream in ["applications", "users", "custom_roles"] {
        let row = summary_row(&run, stream);
        assert_eq!(
            row[2],
            run.records(stream).len().to_string(),
            "{stream}: {row:?}"
        );
        assert!(row[3].parse::<u64>().unwrap() >= 1, "{row:?}");
    }
    // The table is also a LOG message in Airbyte mode.
    assert!(run
        .logs()
        .iter()
        .any(|l| l.contains("sync summary by stream")));
}

#[test]
fn a_long_sync_shows_progress_and_logs_each_pacing_wait_once() {
    let sim = sim_with(|c| {
        c.users = 12;
        c.rate_limits = RateLimitMode::Enforce {
            window: Duration::from_secs(2),
            token_share: 1.0,
            limits: okta_sim::BucketLimits {
                users: 8,
                ..okta_sim::BucketLimits::workforce()
            },
        };
    });
    let mut cfg = config_json(&sim);
    cfg["rate_limit_share"] = json!(0.5);
    let run = read_env(
        &cfg,
        &["user_factors"],
        None,
        &[("SOURCE_OKTA_PROGRESS_SECONDS", "0.5")],
    )
    .ok();
    let keys = crate::harness::unique_keys(&run.records("user_factors"), &["user_id", "id"]);
    assert_eq!(
        keys.into_iter().collect::<std::collections::BTreeSet<_>>(),
        sim.keys("user_factors")
    );
    assert_eq!(estimates(&run), [("user_factors".to_string(), 12)]);
    let progress: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("progress: "))
        .collect();
    assert!(!progress.is_empty(), "no progress line:\n{}", run.stderr);
    assert!(
        progress
            .iter()
            .any(|l| l.contains("user_factors: ") && l.contains("ETA")),
        "a running stream with an estimate shows an ETA: {progress:#?}"
    );
    assert!(
        run.logs().iter().any(|l| l.starts_with("progress: ")),
        "also as LOG"
    );
    // Several requests queue behind each wait; each wait is logged once.
    let paced: u64 = run
        .stderr
        .split("paced_waits=")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .expect("paced_waits in the sync summary");
    let logged = run
        .stderr
        .lines()
        .filter(|l| l.contains("this bucket's share is used up"))
        .count();
    assert!(logged >= 1, "the long waits are announced:\n{}", run.stderr);
    assert!(
        paced > logged as u64,
        "{paced} paced requests, {logged} log lines"
    );
    let windows = summary_row(&run, "total")[4].parse::<f64>().unwrap() / 2.0;
    assert!(
        (logged as f64) <= windows.ceil() + 1.0,
        "{logged} pacing logs in {windows} windows"
    );
}

#[test]
fn skipped_streams_end_with_an_unchanged_state_and_incomplete() {
    let sim = sim();
    for path in ["/api/v1/iam/roles", "/api/v1/groups"] {
        sim.add_fault(Fault {
            method: None,
            path_prefix: path.into(),
            kind: FaultKind::Status(403),
            times: 1000,
        });
    }
    let saved = json!({"lastUpdated": "2024-01-02T03:04:05.000Z"});
    let state = state_file(&[("groups", saved.clone())]);
    let run = read_env(
        &config_json(&sim),
        &[
            "custom_roles",
            "custom_role_permissions",
            "groups",
            "user_types",
        ],
        Some(&state),
        &[],
    )
    .ok();
    for (stream, position) in [
        ("custom_roles", json!({})),
        ("custom_role_permissions", json!({})),
        // Incremental: the position it started from, so the next sync resumes there.
        ("groups", saved),
    ] {
        assert_eq!(
            run.statuses(stream).last(),
            Some(&StreamStatus::Incomplete),
            "{stream}"
        );
        assert!(run.records(stream).is_empty());
        assert_eq!(
            run.states(stream),
            [position],
            "{stream}: one STATE, unchanged"
        );
        // The STATE comes before the INCOMPLETE status that ends the stream.
        let at = |f: &dyn Fn(&AirbyteMessage) -> bool| run.messages.iter().position(f).unwrap();
        let state_at = at(
            &|m| matches!(m, AirbyteMessage::State { state } if state.stream.stream_descriptor.name == stream),
        );
        let end_at = at(&|m| {
            matches!(m, AirbyteMessage::Trace { trace } if matches!(&trace.body,
            TraceBody::StreamStatus { stream_status } if stream_status.stream_descriptor.name == stream
                && stream_status.status == StreamStatus::Incomplete))
        });
        assert!(state_at < end_at, "{stream}");
        assert_eq!(summary_row(&run, stream)[1], "INCOMPLETE");
    }
    assert_eq!(
        run.statuses("user_types").last(),
        Some(&StreamStatus::Complete)
    );
}
