//! First run from the README: `read --streams`/`--all-streams` without a hand-written catalog, a `--state`
//! file that does not exist yet, and help text on every flag.

use crate::harness::{config_json, ids, run, run_env, sim, Dir, BIN, TAP_BIN};
use airbyte_protocol::{AirbyteMessage, FailureType, StreamStatus};
use serde_json::Value;

#[test]
fn read_streams_builds_the_catalog_and_a_missing_state_file_is_a_first_run() {
    let sim = sim();
    let dir = Dir::new();
    let cfg = dir.write("config.json", &config_json(&sim));
    let state = dir.0.path().join("state.json");
    let r = run(&[
        "read",
        "--config",
        cfg.to_str().unwrap(),
        "--streams",
        "users,groups",
        "--state",
        state.to_str().unwrap(),
    ])
    .ok();
    assert!(
        r.stderr.contains("first run"),
        "no first-run notice on stderr:\n{}",
        r.stderr
    );
    assert_eq!(ids(&r.records("users")), ids(&sim.users()));
    assert_eq!(ids(&r.records("groups")), ids(&sim.groups()));
    let streams: std::collections::HashSet<String> =
        r.all_records().into_iter().map(|(s, _)| s).collect();
    assert_eq!(streams.len(), 2, "only the named streams: {streams:?}");
    // Incremental where the stream supports it: the STATE holds the users cursor.
    assert!(
        r.last_state("users")["lastUpdated"].is_string(),
        "{}",
        r.last_state("users")
    );

    // Saved and passed back, the state makes the next read incremental.
    let states: Vec<Value> = r
        .messages
        .iter()
        .filter_map(|m| match m {
            AirbyteMessage::State { state } => Some(serde_json::to_value(state).unwrap()),
            _ => None,
        })
        .collect();
    std::fs::write(&state, serde_json::to_string(&states).unwrap()).unwrap();
    let r = run(&[
        "read",
        "--config",
        cfg.to_str().unwrap(),
        "--streams",
        "users",
        "--state",
        state.to_str().unwrap(),
    ])
    .ok();
    assert!(!r.stderr.contains("first run"), "{}", r.stderr);
    assert!(r.records("users").is_empty(), "nothing changed");
}

#[test]
fn read_all_streams_reads_every_discovered_stream() {
    let sim = sim();
    let dir = Dir::new();
    let cfg = dir.write("config.json", &config_json(&sim));
    let r = run(&["read", "--config", cfg.to_str().unwrap(), "--all-streams"]).ok();
    for name in crate::harness::all_streams() {
        if name.starts_with("asa_") {
            assert!(
                r.statuses(&name).is_empty(),
                "{name}: ASA is not configured"
            );
            continue;
        }
        let statuses = r.statuses(&name);
        assert!(
            statuses.contains(&StreamStatus::Complete)
                || (name == "risk_providers" && statuses.contains(&StreamStatus::Incomplete)),
            "{name}: {statuses:?}"
        );
    }
    assert_eq!(ids(&r.records("users")), ids(&sim.users()));
}

#[test]
fn read_needs_exactly_one_selection_and_known_stream_names() {
    let sim = sim();
    let dir = Dir::new();
    let cfg = dir.write("config.json", &config_json(&sim));
    let cfg = cfg.to_str().unwrap();
    let r = run(&["read", "--config", cfg]);
    assert_eq!(r.code, 2, "no selection is a usage error");
    assert!(r.stderr.contains("--streams"), "{}", r.stderr);
    let r = run(&[
        "read",
        "--config",
        cfg,
        "--all-streams",
        "--streams",
        "users",
    ]);
    assert_eq!(r.code, 2, "two selections are a usage error");
    let r = run(&["read", "--config", cfg, "--streams", "users,nope"]);
    let msg = r.failed_with(FailureType::ConfigError);
    assert!(msg.contains("nope"), "{msg}");
    assert!(r.all_records().is_empty());
}

#[test]
fn every_flag_has_help_text() {
    let mut checked = 0;
    for (bin, args) in [
        (BIN, vec!["--help"]),
        (BIN, vec!["spec", "--help"]),
        (BIN, vec!["check", "--help"]),
        (BIN, vec!["discover", "--help"]),
        (BIN, vec!["read", "--help"]),
        (TAP_BIN, vec!["--help"]),
    ] {
        // Help is text, not protocol messages: run the binary directly.
        let out = std::process::Command::new(bin)
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{bin} {args:?}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        let mut in_options = false;
        for line in stdout.lines() {
            if line.ends_with(':') && !line.starts_with(' ') {
                in_options = line == "Options:" || line == "Commands:";
                continue;
            }
            let l = line.trim();
            if !in_options || l.is_empty() {
                continue;
            }
            // `--flag <VALUE>  Help text`, `-h, --help  Print help`, `read  Read the…`
            let parts: Vec<&str> = l.splitn(2, "  ").collect();
            assert!(
                parts.len() == 2 && !parts[1].trim().is_empty(),
                "{bin} {args:?}: no help text for {l:?}\n{stdout}"
            );
            checked += 1;
        }
    }
    assert!(checked > 15, "only {checked} flags and commands seen");
}

#[test]
fn singer_state_file_that_does_not_exist_yet_is_a_first_run() {
    let sim = sim();
    let dir = Dir::new();
    let cfg = dir.write(
        "config.json",
        &serde_json::json!({"base_url": sim.base_url(), "api_token": sim.api_token()}),
    );
    let state = dir.0.path().join("state.json");
    let r = run_env(
        TAP_BIN,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("first run"), "{}", r.stderr);
    assert!(r.stdout.contains("\"RECORD\""));
}
