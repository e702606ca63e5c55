//! Incremental syncs: only changes come back, resumed syncs lose and duplicate nothing, odd states work.

use crate::harness::{config_json, ids, read, read_cfg, sim, state_file, unique_keys};
use airbyte_protocol::AirbyteMessage;
use serde_json::{json, Value};
use std::collections::HashSet;

#[test]
fn users_second_sync_returns_only_changes_including_deprovisioned() {
    let sim = sim();
    let first = read(&sim, &["users"], true, None).ok();
    assert_eq!(ids(&first.records("users")), ids(&sim.users()));
    let state = first.last_state("users");
    assert!(state["lastUpdated"].is_string(), "{state}");

    // No change: nothing new, and a STATE all the same.
    let idle = read(
        &sim,
        &["users"],
        true,
        Some(&state_file(&[("users", state.clone())])),
    )
    .ok();
    assert!(
        idle.records("users").is_empty(),
        "unchanged org re-emitted {:?}",
        ids(&idle.records("users"))
    );
    assert!(!idle.states("users").is_empty());

    let all = sim.users();
    let a = all[0]["id"].as_str().unwrap().to_string();
    let b = all[1]["id"].as_str().unwrap().to_string();
    sim.update_user(&a);
    sim.deactivate_user(&b);
    let created = sim.create_user();
    let second = read(
        &sim,
        &["users"],
        true,
        Some(&state_file(&[("users", state)])),
    )
    .ok();
    let got = second.records("users");
    unique_keys(&got, &["id"]);
    let want: HashSet<String> = [a, b.clone(), created["id"].as_str().unwrap().to_string()]
        .into_iter()
        .collect();
    assert_eq!(ids(&got), want);
    assert!(got
        .iter()
        .any(|u| u["id"] == b.as_str() && u["status"] == "DEPROVISIONED"));
}

/// Resuming from any checkpoint: records before it plus the resumed run are the org, exactly once.
#[test]
fn a_sync_resumed_from_any_checkpoint_loses_and_duplicates_nothing() {
    let sim = crate::harness::sim_with(|c| c.users = 700);
    let streams = ["users", "group_members", "system_log"];
    let full = read(&sim, &streams, true, None).ok();
    for stream in streams {
        let n_states = full.states(stream).len();
        assert!(
            n_states >= 3,
            "{stream} checkpoints every page ({n_states} states)"
        );
        // Cut after the first, a middle and the second-to-last checkpoint, as a kill would.
        for cut in [1, n_states / 2, n_states - 1] {
            let mut before = Vec::new();
            let mut seen_states = 0;
            let mut state = Value::Null;
            let mut pending = Vec::new();
            for m in &full.messages {
                match m {
                    AirbyteMessage::Record { record } if record.stream == stream => {
                        pending.push(record.data.clone())
                    }
                    AirbyteMessage::State { state: s }
                        if s.stream.stream_descriptor.name == stream =>
                    {
                        seen_states += 1;
                        before.append(&mut pending);
                        state = s.stream.stream_state.clone();
                        if seen_states == cut {
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let resumed = read(&sim, &[stream], true, Some(&state_file(&[(stream, state)]))).ok();
            let mut all = before;
            all.extend(resumed.records(stream));
            let key: &[&str] = match stream {
                "group_members" => &["group_id", "user_id"],
                "system_log" => &["uuid"],
                _ => &["id"],
            };
            let keys = unique_keys(&all, key);
            let want = unique_keys(&full.records(stream), key);
            assert_eq!(keys, want, "{stream} resumed after checkpoint {cut}");
        }
    }
}

#[test]
fn a_killed_sync_resumes_from_its_last_state() {
    let sim = crate::harness::sim_with(|c| c.users = 600);
    sim.add_fault(okta_sim::Fault {
        method: None,
        path_prefix: "/api/v1/users".into(),
        kind: okta_sim::FaultKind::Delay(std::time::Duration::from_millis(300)),
        times: 100,
    });
    let dir = crate::harness::Dir::new();
    let cfg = dir.write("config.json", &config_json(&sim));
    let cat = dir.write(
        "catalog.json",
        &crate::harness::configured(&["users"], true),
    );
    let mut child = std::process::Command::new(crate::harness::BIN)
        .args([
            "read",
            "--config",
            cfg.to_str().unwrap(),
            "--catalog",
            cat.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    let mut states = 0;
    for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
        let line = line.unwrap();
        if line.contains("\"type\":\"STATE\"") {
            states += 1;
        }
        lines.push(line);
        if states == 2 {
            break;
        }
    }
    child.kill().unwrap();
    let _ = child.wait();
    let messages = crate::harness::parse_messages(&lines.join("\n"));
    let before: Vec<Value> = messages
        .iter()
        .filter_map(|m| match m {
            AirbyteMessage::Record { record } => Some(record.data.clone()),
            _ => None,
        })
        .collect();
    let state = messages
        .iter()
        .rev()
        .find_map(|m| match m {
            AirbyteMessage::State { state } => Some(state.stream.stream_state.clone()),
            _ => None,
        })
        .unwrap();
    assert!(before.len() < 600, "killed before the end");
    let resumed = read(
        &sim,
        &["users"],
        true,
        Some(&state_file(&[("users", state)])),
    )
    .ok();
    let mut all = before;
    all.extend(resumed.records("users"));
    unique_keys(&all, &["id"]);
    assert_eq!(ids(&all), ids(&sim.users()));
}

#[test]
fn group_members_rereads_only_groups_whose_membership_moved() {
    let sim = sim();
    let first = read(&sim, &["group_members", "groups"], true, None).ok();
    let state = first.last_state("group_members");
    let groups = sim.groups();
    let g = groups[0]["id"].as_str().unwrap().to_string();
    let members: HashSet<String> = sim
        .group_members()
        .into_iter()
        .filter(|(gid, _)| *gid == g)
        .map(|(_, u)| u)
        .collect();
    let newcomer = sim
        .users()
        .into_iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .find(|u| !members.contains(u))
        .unwrap();
    sim.add_group_member(&g, &newcomer);
    // The groups stream's own cursor must not limit the members stream.
    let groups_state = json!({"lastUpdated": "2999-01-01T00:00:00.000Z"});
    sim.clear_requests();
    let second = read(
        &sim,
        &["group_members"],
        true,
        Some(&state_file(&[
            ("group_members", state),
            ("groups", groups_state),
        ])),
    )
    .ok();
    let got = second.records("group_members");
    assert!(!got.is_empty());
    assert!(
        got.iter().all(|r| r["group_id"] == g.as_str()),
        "only the changed group is re-read"
    );
    assert!(got.iter().any(|r| r["user_id"] == newcomer.as_str()));
    assert_eq!(got.len(), members.len() + 1);
    let member_reads = sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/groups/") && r.path.ends_with("/users"))
        .count();
    assert_eq!(member_reads, 1, "one member list read");
}

#[test]
fn system_log_resumes_from_the_saved_cursor() {
    let sim = sim();
    let first = read(&sim, &["system_log"], true, None).ok();
    let state = first.last_state("system_log");
    assert!(
        state["next"].is_string() && state["published"].is_string(),
        "{state}"
    );
    let new = sim.append_log_events(7);
    let second = read(
        &sim,
        &["system_log"],
        true,
        Some(&state_file(&[("system_log", state)])),
    )
    .ok();
    let got: HashSet<String> = second
        .records("system_log")
        .iter()
        .map(|e| e["uuid"].as_str().unwrap().to_string())
        .collect();
    let want: HashSet<String> = new
        .iter()
        .map(|e| e["uuid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, want);
    let logs_calls: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/logs")
        .collect();
    assert!(
        logs_calls.iter().all(|r| r.query.contains("limit=1000")),
        "{:?}",
        logs_calls.iter().map(|r| &r.query).collect::<Vec<_>>()
    );
}

#[test]
fn a_start_date_beyond_retention_is_clamped_with_a_warning() {
    let sim = sim();
    let mut cfg = config_json(&sim);
    cfg["start_date"] = json!("2001-01-01T00:00:00Z");
    let run = read_cfg(&cfg, &["system_log"], true, None).ok();
    assert_eq!(run.records("system_log").len(), sim.log_events().len());
    assert!(
        run.logs().iter().any(|l| l.contains("90 days")),
        "{:?}",
        run.logs()
    );
}

#[test]
fn an_abnormal_far_future_state_is_ignored_with_a_warning() {
    let sim = sim();
    let state = state_file(&[
        ("users", json!({"lastUpdated": "2100-01-01T00:00:00.000Z"})),
        ("groups", json!({"lastUpdated": "2100-01-01T00:00:00.000Z"})),
        (
            "system_log",
            json!({"published": "2100-01-01T00:00:00.000Z"}),
        ),
        (
            "group_members",
            json!({"lastMembershipUpdated": "2100-01-01T00:00:00.000Z"}),
        ),
    ]);
    let run = read(
        &sim,
        &["users", "groups", "system_log", "group_members"],
        true,
        Some(&state),
    )
    .ok();
    // A cursor from the future would hide every change until then (issue 11): it is ignored with a
    // warning and the stream reads as on a first sync.
    for s in ["users", "groups", "system_log", "group_members"] {
        assert!(!run.records(s).is_empty(), "{s}");
        assert!(!run.states(s).is_empty(), "{s}");
    }
    assert!(run.logs().iter().any(|l| l.contains("in the future")));
}

#[test]
fn pyairbyte_style_state_and_catalog_are_accepted() {
    let sim = sim();
    let first = read(&sim, &["users"], true, None).ok();
    let state = json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": "users", "namespace": null},
        "stream_state": first.last_state("users")}, "global_": null, "data": null,
        "sourceStats": {"recordCount": 3.0}, "destinationStats": null}]);
    // PyAirbyte asks incremental for full-refresh-only streams too.
    let run = read(&sim, &["users", "applications"], true, Some(&state)).ok();
    assert!(run.records("users").is_empty());
    assert_eq!(ids(&run.records("applications")), ids(&sim.apps()));
}
