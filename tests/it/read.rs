//! Full reads of every stream: exact record sets against the simulator's truth, schema-valid records,
//! stream statuses, and no secret anywhere.

use crate::harness::{all_streams, ids, read, sim, unique_keys, validate_records};
use airbyte_protocol::{AirbyteMessage, StreamStatus, TraceBody};
use serde_json::Value;
use std::collections::HashSet;

fn pairs(records: &[Value], a: &str, b: &str) -> HashSet<(String, String)> {
    records
        .iter()
        .map(|r| {
            (
                r[a].as_str().unwrap().to_string(),
                r[b].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_stream_reads_exactly_the_org() {
    let sim = sim();
    let streams = all_streams();
    let names: Vec<&str> = streams.iter().map(String::as_str).collect();
    let run = read(&sim, &names, false, None).ok();
    run.assert_no_secret(&[&sim.api_token()]);

    let users = run.records("users");
    unique_keys(&users, &["id"]);
    assert_eq!(
        ids(&users),
        ids(&sim.users()),
        "users, DEPROVISIONED included"
    );
    assert!(
        users.iter().any(|u| u["status"] == "DEPROVISIONED"),
        "the seeded org has DEPROVISIONED users"
    );

    let groups = run.records("groups");
    unique_keys(&groups, &["id"]);
    assert_eq!(ids(&groups), ids(&sim.groups()));

    let members = run.records("group_members");
    unique_keys(&members, &["group_id", "user_id"]);
    let truth: HashSet<(String, String)> = sim.group_members().into_iter().collect();
    assert_eq!(pairs(&members, "group_id", "user_id"), truth);

    let apps = run.records("applications");
    assert_eq!(ids(&apps), ids(&sim.apps()));
    let app_users = run.records("application_users");
    unique_keys(&app_users, &["app_id", "id"]);
    let truth: HashSet<(String, String)> = sim
        .app_users()
        .into_iter()
        .map(|(a, u)| (a, u["id"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(pairs(&app_users, "app_id", "id"), truth);
    let app_groups = run.records("application_groups");
    let truth: HashSet<(String, String)> = sim
        .app_groups()
        .into_iter()
        .map(|(a, g)| (a, g["id"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(pairs(&app_groups, "app_id", "id"), truth);

    let logs = run.records("system_log");
    unique_keys(&logs, &["uuid"]);
    let truth: HashSet<String> = sim
        .log_events()
        .iter()
        .map(|e| e["uuid"].as_str().unwrap().to_string())
        .collect();
    let got: HashSet<String> = logs
        .iter()
        .map(|e| e["uuid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, truth);
    // `published` is kept exactly as Okta sent it.
    let by_uuid: std::collections::HashMap<&str, &Value> = logs
        .iter()
        .map(|e| (e["uuid"].as_str().unwrap(), e))
        .collect();
    for e in sim.log_events() {
        assert_eq!(
            by_uuid[e["uuid"].as_str().unwrap()]["published"],
            e["published"]
        );
    }

    assert_eq!(ids(&run.records("user_types")), ids(&sim.user_types()));
    assert_eq!(ids(&run.records("custom_roles")), ids(&sim.custom_roles()));
    let perms = run.records("custom_role_permissions");
    unique_keys(&perms, &["role_id", "label"]);
    assert_eq!(perms.len(), sim.custom_role_permissions().len());

    // Role targets (fan-outs of fan-outs): exactly the simulator's, for every kind of principal.
    for (s, principal) in [
        ("user_role_targets", "user_id"),
        ("group_role_targets", "group_id"),
        ("service_app_role_targets", "client_id"),
    ] {
        let key = [principal, "role_assignment_id", "target_type", "target_id"];
        let got: std::collections::BTreeSet<Vec<String>> =
            unique_keys(&run.records(s), &key).into_iter().collect();
        let want = sim.keys(s);
        assert!(!want.is_empty(), "{s}: the simulator has no targets");
        assert_eq!(got, want, "{s}");
    }

    let n = validate_records(&run);
    assert!(n > 500, "validated {n} records");

    for s in &names {
        let st = run.statuses(s);
        assert_eq!(st.first(), Some(&StreamStatus::Started), "{s}: {st:?}");
        if *s == "risk_providers" {
            // Deprecated by Okta: the simulated org answers 404 like current orgs, and the stream is skipped.
            assert_eq!(st.last(), Some(&StreamStatus::Incomplete), "{s}: {st:?}");
            continue;
        }
        assert_eq!(st.last(), Some(&StreamStatus::Complete), "{s}: {st:?}");
        assert!(!run.states(s).is_empty(), "{s} emitted no STATE");
    }
    // Okta tells us group sizes: an estimate for the members stream.
    assert!(run.messages.iter().any(|m| matches!(m, AirbyteMessage::Trace { trace } if matches!(&trace.body,
        TraceBody::Estimate { estimate } if estimate.name == "group_members" && estimate.row_estimate.unwrap_or(0) > 0))));
}

#[test]
fn two_full_refreshes_return_the_same_keys_with_later_emitted_at() {
    let sim = sim();
    let first = read(&sim, &["users", "applications"], false, None).ok();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let second = read(&sim, &["users", "applications"], false, None).ok();
    assert_eq!(ids(&first.records("users")), ids(&second.records("users")));
    let last_first = first
        .messages
        .iter()
        .filter_map(|m| match m {
            AirbyteMessage::Record { record } => Some(record.emitted_at),
            _ => None,
        })
        .max()
        .unwrap();
    for m in &second.messages {
        if let AirbyteMessage::Record { record } = m {
            assert!(record.emitted_at > last_first);
        }
    }
}

#[test]
fn pages_are_followed_through_comma_joined_link_headers() {
    let sim = crate::harness::sim_with(|c| c.link_style = okta_sim::LinkStyle::Joined);
    let run = read(&sim, &["users"], false, None).ok();
    assert_eq!(ids(&run.records("users")), ids(&sim.users()));
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let sim = sim();
    let dir = crate::harness::Dir::new();
    let cfg = dir.write("config.json", &crate::harness::config_json(&sim));
    let cat = dir.write(
        "catalog.json",
        &crate::harness::configured(&["users", "system_log"], false),
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
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Quiet (no error on stderr) but non-zero, as a Unix tool killed by SIGPIPE: the output was cut.
    assert!(!stderr.contains("ERROR"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}

/// Every stream of the catalog, ASA included, against the simulator's ground truth: the exact key
/// tuples (parent columns and derived keys included), schema-valid records, every stream COMPLETE.
#[test]
fn every_stream_matches_the_simulator_truth() {
    // The deprecated risk providers endpoint answers 404 by default; serve it here so every
    // stream has data to compare.
    let sim = crate::harness::sim_with(|c| c.risk_providers = true);
    let catalog = crate::harness::discover_catalog();
    let names: Vec<&str> = catalog
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("asa_")),
        "ASA streams are discovered"
    );
    let mut config = crate::harness::config_json(&sim);
    config["asa"] = crate::harness::asa_config(&sim);
    let run = crate::harness::read_cfg(&config, &names, false, None).ok();
    // The ASA cloud accounts' EventBridge secrets are served and left out.
    run.assert_no_secret(&[
        &sim.api_token(),
        "sim-asa-secret",
        okta_sim::asa::CLOUD_SECRET,
    ]);
    assert!(
        run.records("asa_project_cloud_accounts")
            .iter()
            .all(|r| r.get("client_secret").is_none() && r["client_id"].is_string()),
        "cloud accounts carry their client id, not their secret"
    );

    let mut mismatches = Vec::new();
    for s in &catalog {
        let name = s["name"].as_str().unwrap();
        let key: Vec<&str> = s["source_defined_primary_key"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k[0].as_str().unwrap())
            .collect();
        let records = run.records(name);
        let got: std::collections::BTreeSet<Vec<String>> =
            unique_keys(&records, &key).into_iter().collect();
        let want = sim.keys(name);
        assert!(!want.is_empty(), "{name}: the simulator has no records");
        if got != want {
            let missing: Vec<_> = want.difference(&got).take(3).collect();
            let extra: Vec<_> = got.difference(&want).take(3).collect();
            mismatches.push(format!(
                "{name}: got {} keys, expected {}; missing e.g. {missing:?}; unexpected e.g. {extra:?}",
                got.len(),
                want.len()
            ));
        }
        let st = run.statuses(name);
        if st.last() != Some(&StreamStatus::Complete) {
            mismatches.push(format!("{name}: statuses {st:?}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    let n = validate_records(&run);
    assert!(n > 1000, "validated {n} records");
}

/// The deprecated risk providers endpoint (404 by default) is skipped; everything else completes.
#[test]
fn a_missing_deprecated_endpoint_skips_only_its_stream() {
    let sim = sim();
    let run = read(
        &sim,
        &["risk_providers", "realms", "api_tokens"],
        false,
        None,
    )
    .ok();
    assert_eq!(
        run.statuses("risk_providers").last(),
        Some(&StreamStatus::Incomplete)
    );
    assert!(run.records("risk_providers").is_empty());
    for s in ["realms", "api_tokens"] {
        assert_eq!(run.statuses(s).last(), Some(&StreamStatus::Complete), "{s}");
        assert_eq!(run.records(s).len(), sim.collection(s).len(), "{s}");
    }
}

/// An ASA bearer token that expires mid-sync is renewed once and the read goes on.
#[test]
fn an_expired_asa_token_is_renewed_once() {
    let sim = std::sync::Arc::new(sim());
    // Hold one request long enough to expire the token it carries.
    sim.add_fault(okta_sim::Fault::new(
        "/v1/teams/sim-team/groups",
        okta_sim::FaultKind::Delay(std::time::Duration::from_millis(1500)),
    ));
    let s2 = sim.clone();
    // Expire the token once it has been issued and the delayed request carries it (however slowly
    // the connector starts on a loaded machine).
    let expirer = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while s2.asa_tokens_issued() == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        s2.expire_asa_tokens();
    });
    let mut config = crate::harness::config_json(&sim);
    config["asa"] = crate::harness::asa_config(&sim);
    let streams = ["asa_users", "asa_groups", "asa_group_members"];
    let run = crate::harness::read_cfg(&config, &streams, false, None).ok();
    expirer.join().unwrap();
    for s in streams {
        assert_eq!(run.statuses(s).last(), Some(&StreamStatus::Complete), "{s}");
        let key: &[&str] = if s == "asa_group_members" {
            &["group_name", "id"]
        } else {
            &["id"]
        };
        let got: std::collections::BTreeSet<Vec<String>> =
            unique_keys(&run.records(s), key).into_iter().collect();
        assert_eq!(got, sim.keys(s), "{s}");
    }
    assert_eq!(sim.asa_tokens_issued(), 2, "one token, renewed once");
    assert!(sim.requests().iter().any(|r| r.status == 401));
}

#[test]
fn a_selected_parent_stream_feeds_its_children() {
    let sim = sim();
    let lists = |sim: &okta_sim::SimServer, path: &str| {
        sim.requests().iter().filter(|r| r.path == path).count()
    };
    // Apps and two of their fan-outs: the apps list is read once, by `applications` itself.
    let run = read(
        &sim,
        &["applications", "app_user_schemas", "application_groups"],
        false,
        None,
    )
    .ok();
    assert_eq!(lists(&sim, "/api/v1/apps"), 1, "one listing of the apps");
    for s in ["applications", "app_user_schemas", "application_groups"] {
        assert_eq!(run.statuses(s).last(), Some(&StreamStatus::Complete), "{s}");
        let key: &[&str] = if s == "applications" {
            &["id"]
        } else {
            &["app_id", "id"]
        };
        let got: std::collections::BTreeSet<Vec<String>> =
            unique_keys(&run.records(s), key).into_iter().collect();
        assert_eq!(got, sim.keys(s), "{s}");
    }
    // Without the parent stream, each sync lists the parents itself, once for all its children.
    sim.clear_requests();
    read(
        &sim,
        &["app_user_schemas", "application_groups"],
        false,
        None,
    )
    .ok();
    assert_eq!(
        lists(&sim, "/api/v1/apps"),
        1,
        "one listing shared by the children"
    );
}

/// ASA audit events name their actor and target: the opaque keys in `details` are resolved from the
/// page's `related_objects` into `actor_*`, `target_*` and the event's own `related_objects`.
#[test]
fn asa_audit_events_carry_their_actor_and_target() {
    let sim = sim();
    let mut config = crate::harness::config_json(&sim);
    config["asa"] = crate::harness::asa_config(&sim);
    let run = crate::harness::read_cfg(&config, &["asa_audits"], false, None).ok();
    let events = run.records("asa_audits");
    let names = |stream: &str, field: &str| -> HashSet<String> {
        sim.collection(stream)
            .iter()
            .map(|o| o[field].as_str().unwrap().to_string())
            .collect()
    };
    let users = names("asa_users", "name");
    let hosts = names("asa_project_servers", "hostname");
    let (mut actors, mut targets) = (0, 0);
    for e in &events {
        let d = &e["details"];
        match d["actor"].as_str() {
            Some(k) => {
                assert_eq!(e["actor_kind"], "user", "{e}");
                assert!(users.contains(e["actor_name"].as_str().unwrap()), "{e}");
                assert_eq!(e["related_objects"][k]["type"], "user", "{e}");
                actors += 1;
            }
            None => assert!(e.get("actor_name").is_none(), "{e}"),
        }
        if d["type"] == "server.enroll" {
            assert_eq!(e["target_kind"], "server", "{e}");
            assert!(hosts.contains(e["target_name"].as_str().unwrap()), "{e}");
            let k = d["target_server"].as_str().unwrap();
            assert_eq!(e["related_objects"][k]["type"], "server", "{e}");
            targets += 1;
        } else {
            assert!(e.get("target_kind").is_none(), "{e}");
        }
    }
    assert!(
        actors > 10 && targets > 2,
        "{actors} actors, {targets} targets"
    );
}

/// Role targets are a fan-out of a fan-out (admin → role assignment → targets): with the assignments
/// selected too, their own read hands the (user, assignment) keys over and no admin's roles are listed
/// twice; alone, the targets stream lists them once itself. Role types that take no targets are never
/// asked for them (the simulator answers Okta's 400 for those).
#[test]
fn role_targets_nest_under_the_role_assignments_they_are_handed() {
    let sim = sim();
    let role_lists = |sim: &okta_sim::SimServer| {
        sim.requests()
            .iter()
            .filter(|r| r.path.starts_with("/api/v1/users/") && r.path.ends_with("/roles"))
            .count()
    };
    let target_reads = |sim: &okta_sim::SimServer| {
        let reqs: Vec<_> = sim
            .requests()
            .into_iter()
            .filter(|r| r.path.contains("/targets/"))
            .collect();
        assert!(
            reqs.iter().all(|r| r.status == 200),
            "a role type without targets was asked for them: {:?}",
            reqs.iter()
                .filter(|r| r.status != 200)
                .map(|r| (&r.path, r.status))
                .collect::<Vec<_>>()
        );
        reqs.len()
    };
    let admins = sim.collection("user_role_assignments");
    let users: HashSet<&str> = admins
        .iter()
        .map(|a| a["user_id"].as_str().unwrap())
        .collect();
    let key = ["user_id", "role_assignment_id", "target_type", "target_id"];
    for incremental in [false, true] {
        sim.clear_requests();
        let streams = ["user_role_assignments", "user_role_targets"];
        let run = read(&sim, &streams, incremental, None).ok();
        for s in streams {
            assert_eq!(run.statuses(s).last(), Some(&StreamStatus::Complete), "{s}");
        }
        let got: std::collections::BTreeSet<Vec<String>> =
            unique_keys(&run.records("user_role_targets"), &key)
                .into_iter()
                .collect();
        assert_eq!(got, sim.keys("user_role_targets"));
        assert_eq!(role_lists(&sim), users.len(), "incremental: {incremental}");
        assert!(target_reads(&sim) > 0);
    }
    // Alone, the targets stream lists each admin's assignments itself, once.
    sim.clear_requests();
    let run = read(&sim, &["user_role_targets"], false, None).ok();
    let rows = run.records("user_role_targets");
    assert_eq!(role_lists(&sim), users.len());
    // One request per target kind the assignment's role type takes, none for the others.
    let takes = |t: &str| {
        okta_manifest::GROUP_TARGET_ROLES.contains(&t)
            || okta_manifest::APP_TARGET_ROLES.contains(&t)
    };
    let narrowable = admins
        .iter()
        .filter(|a| takes(a["type"].as_str().unwrap()))
        .count();
    assert!(narrowable > 0 && narrowable < admins.len(), "{narrowable}");
    assert_eq!(target_reads(&sim), narrowable);
    // Each row joins to a group or an app of the org, or names a whole catalog app.
    let groups = ids(&sim.groups());
    let apps = ids(&sim.apps());
    assert!(rows.iter().any(|r| r["target_type"] == "GROUP"));
    assert!(rows.iter().any(|r| r["target_type"] == "APP"));
    for r in &rows {
        let id = r["target_id"].as_str().unwrap();
        match r["target_type"].as_str().unwrap() {
            "GROUP" => assert!(groups.contains(id), "{r}"),
            _ => assert!(apps.contains(id) || r.get("id").is_none(), "{r}"),
        }
    }
}

/// A fan-out three levels down (user → role assignment → governance grant → resources) reads exactly
/// the org, alone (listing its parents' chains itself) and handed its parent's keys; the chain of
/// keys fills one path parameter and one key column per level.
#[test]
fn a_fan_out_of_a_fan_out_of_a_fan_out_reads_the_chain() {
    let sim = sim();
    let key = ["user_id", "role_assignment_id", "grant_id", "resource"];
    let truth = sim.keys("user_role_governance_resources");
    assert!(!truth.is_empty());
    for streams in [
        &["user_role_governance_resources"][..],
        &[
            "user_role_governance_grants",
            "user_role_governance_resources",
        ][..],
    ] {
        let run = read(&sim, streams, false, None).ok();
        for s in streams {
            assert_eq!(run.statuses(s).last(), Some(&StreamStatus::Complete), "{s}");
        }
        let got: std::collections::BTreeSet<Vec<String>> =
            unique_keys(&run.records("user_role_governance_resources"), &key)
                .into_iter()
                .collect();
        assert_eq!(got, truth, "{streams:?}");
    }
}
