//! The whole pipeline for real: `source-okta` reading the simulated org, piped into this destination,
//! loading into the BigQuery emulator; SQL proves every table's rows, and that an incremental re-sync
//! from the echoed states leaves no duplicates.

use crate::common::*;
use crate::emulator::emulator;
use destination_bigquery::auth::TokenProvider;
use destination_bigquery::client::BigQuery;
use okta_sim::{SimConfig, SimServer};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

const PROJECT: &str = "pipeline-project";

/// The `source-okta` binary of this workspace, built on demand (cargo makes it a no-op when fresh).
fn source_bin() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "source-okta", "--bin", "source-okta"])
        .status()
        .expect("run cargo build");
    assert!(status.success(), "building source-okta failed");
    let target = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    target.join("source-okta")
}

fn source(bin: &PathBuf, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .expect("run source-okta");
    assert!(out.status.success(), "source-okta {args:?} failed");
    String::from_utf8(out.stdout).unwrap()
}

/// Records per stream in a source output.
fn record_counts(messages: &str) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for line in messages.lines() {
        let m: Value = serde_json::from_str(line).unwrap();
        if m["type"] == "RECORD" {
            *counts
                .entry(m["record"]["stream"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    counts
}

/// The discovered catalog configured as a host would (incremental + dedup where supported, else
/// overwrite; risk_providers, skipped by design, left out), and each stream's primary-key columns.
fn configured_streams(catalog: &Value) -> (Vec<Value>, BTreeMap<String, Vec<String>>) {
    let mut keys = BTreeMap::new();
    let streams = catalog["catalog"]["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] != "risk_providers")
        .map(|s| {
            let inc = s["supported_sync_modes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m == "incremental");
            keys.insert(
                s["name"].as_str().unwrap().to_string(),
                s["source_defined_primary_key"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k[0].as_str().unwrap().to_string())
                    .collect(),
            );
            json!({"stream": s, "sync_mode": if inc { "incremental" } else { "full_refresh" },
                "destination_sync_mode": if inc { "append_dedup" } else { "overwrite" },
                "cursor_field": s.get("default_cursor_field").cloned().unwrap_or(json!([])),
                "primary_key": s["source_defined_primary_key"]})
        })
        .collect();
    (streams, keys)
}

/// Runs the source's `read` again from the states the destination echoed in `loaded`.
fn read_from_echoed_states(
    bin: &PathBuf,
    dir: &Path,
    source_cfg: &str,
    catalog_path: &str,
    loaded: &Run,
) -> String {
    let states: Vec<Value> = loaded
        .states()
        .into_iter()
        .map(|s| s["state"].clone())
        .collect();
    let state_path = write_json(dir, "state.json", &Value::Array(states));
    source(
        bin,
        &[
            "read",
            "--config",
            source_cfg,
            "--catalog",
            catalog_path,
            "--state",
            &state_path,
        ],
    )
}

/// The source's discovered catalog.
fn discover(bin: &PathBuf, source_cfg: &str) -> Value {
    let discovered = source(bin, &["discover", "--config", source_cfg]);
    serde_json::from_str(
        discovered
            .lines()
            .find(|l| l.contains("\"CATALOG\""))
            .unwrap(),
    )
    .unwrap()
}

/// Writes `dir/destination.json` loading into `dataset` on the emulator at `endpoint` at once, and a client
/// of that emulator.
fn destination(dir: &Path, endpoint: &str, dataset: &str) -> (String, BigQuery) {
    let cfg = write_json(
        dir,
        "destination.json",
        &json!({"project_id": PROJECT, "dataset_id": dataset,
        "dataset_location": "US", "endpoint": endpoint, "min_load_interval_seconds": 0}),
    );
    let bq = BigQuery::new(endpoint, PROJECT, "US", Arc::new(TokenProvider::none())).unwrap();
    (cfg, bq)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_simulated_org_lands_in_bigquery_and_resyncs_without_duplicates() {
    let Some(endpoint) = emulator("pipeline").await else {
        return;
    };
    let bin = source_bin();
    let sim = SimServer::start(SimConfig::default());
    let dir = tmpdir("pipeline");
    let source_cfg = write_json(
        &dir,
        "source.json",
        &json!({"base_url": sim.base_url(),
        "credentials": {"auth_type": "api_token", "api_token": sim.api_token()}}),
    );
    let catalog = discover(&bin, &source_cfg);
    let (streams, _) = configured_streams(&catalog);
    let catalog_path = write_json(&dir, "catalog.json", &json!({"streams": streams}));
    let dataset = unique("okta_pipeline");
    let (dest_cfg, bq) = destination(&dir, &endpoint, &dataset);
    let count = |sql: String| {
        let bq = &bq;
        async move {
            let rows = bq
                .query_rows(&sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            rows[0][0].as_str().unwrap().parse::<i64>().unwrap()
        }
    };
    let table = |t: &str| format!("`{PROJECT}`.`{dataset}`.`{t}`");

    // First sync: every stream's table holds exactly what the source read.
    let first = source(
        &bin,
        &["read", "--config", &source_cfg, "--catalog", &catalog_path],
    );
    let counts = record_counts(&first);
    assert!(counts.len() >= 50, "{} streams had records", counts.len());
    let loaded = run(
        &["write", "--config", &dest_cfg, "--catalog", &catalog_path],
        &first,
    );
    assert_eq!(loaded.code, 0, "{}", loaded.stderr);
    for (stream, n) in &counts {
        assert_eq!(
            count(format!("SELECT COUNT(*) FROM {}", table(stream))).await,
            *n,
            "{stream}"
        );
    }
    assert_eq!(
        count(format!("SELECT COUNT(*) FROM {}", table("users"))).await,
        sim.users().len() as i64
    );

    // Changes, then an incremental sync from the states the destination committed.
    let users = sim.users();
    sim.update_user(users[0]["id"].as_str().unwrap());
    sim.create_user();
    let group = sim.groups()[0]["id"].as_str().unwrap().to_string();
    let member = sim.users().last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    sim.add_group_member(&group, &member);
    let second = read_from_echoed_states(&bin, &dir, &source_cfg, &catalog_path, &loaded);
    let changed = record_counts(&second);
    assert_eq!(
        changed.get("users"),
        Some(&2),
        "only the changed and the new user are re-read"
    );
    let reloaded = run(
        &["write", "--config", &dest_cfg, "--catalog", &catalog_path],
        &second,
    );
    assert_eq!(reloaded.code, 0, "{}", reloaded.stderr);
    let users_table = table("users");
    assert_eq!(
        count(format!("SELECT COUNT(*) FROM {users_table}")).await,
        sim.users().len() as i64
    );
    assert_eq!(
        count(format!("SELECT COUNT(DISTINCT id) FROM {users_table}")).await,
        sim.users().len() as i64
    );
    let members = table("group_members");
    let truth = sim.group_members().len() as i64;
    assert_eq!(
        count(format!("SELECT COUNT(*) FROM {members}")).await,
        truth
    );
    assert_eq!(
        count(format!(
            "SELECT COUNT(DISTINCT CONCAT(group_id, '/', user_id)) FROM {members}"
        ))
        .await,
        truth
    );
    // Overwritten streams were replaced, not appended to.
    assert_eq!(
        count(format!("SELECT COUNT(*) FROM {}", table("applications"))).await,
        sim.apps().len() as i64
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The change-feed promise, end to end: a first sync, then users, groups, apps, memberships,
/// assignments, factors and devices deleted or removed in the simulated org (and a seeded churn), then
/// an incremental sync from the states the destination committed. Afterwards every table in BigQuery
/// holds exactly the org's keys: no deleted row left, nothing missing.
#[tokio::test(flavor = "multi_thread")]
async fn after_deletions_and_an_incremental_sync_every_table_equals_the_org() {
    let Some(endpoint) = emulator("pipeline_changes").await else {
        return;
    };
    let bin = source_bin();
    let sim = SimServer::start(SimConfig {
        users: 200,
        rate_limits: okta_sim::RateLimitMode::Unlimited,
        ..SimConfig::default()
    });
    let dir = tmpdir("pipeline-changes");
    let source_cfg = write_json(
        &dir,
        "source.json",
        &json!({"base_url": sim.base_url(), "system_log_settle_seconds": 0,
        "credentials": {"auth_type": "api_token", "api_token": sim.api_token()}}),
    );
    let catalog = discover(&bin, &source_cfg);
    let (streams, keys) = configured_streams(&catalog);
    let catalog_path = write_json(&dir, "catalog.json", &json!({"streams": streams}));
    let dataset = unique("okta_changes");
    let (dest_cfg, bq) = destination(&dir, &endpoint, &dataset);

    let first = source(
        &bin,
        &["read", "--config", &source_cfg, "--catalog", &catalog_path],
    );
    let loaded = run(
        &["write", "--config", &dest_cfg, "--catalog", &catalog_path],
        &first,
    );
    assert_eq!(loaded.code, 0, "{}", loaded.stderr);

    // Changes between the two syncs.
    let members = sim.group_members();
    let (g0, u0) = members[0].clone();
    assert!(sim.remove_group_member(&g0, &u0));
    let victim = members
        .iter()
        .find(|(g, u)| *g != g0 && *u != u0)
        .unwrap()
        .1
        .clone();
    assert!(sim.delete_user(&victim));
    let doomed_group = members
        .iter()
        .find(|(g, u)| *g != g0 && *u != u0 && *u != victim)
        .unwrap()
        .0
        .clone();
    assert!(sim.delete_group(&doomed_group));
    let (doomed_app, _) = sim.app_users()[0].clone();
    assert!(sim.delete_app(&doomed_app));
    let factors: Vec<Vec<String>> = sim.keys("user_factors").into_iter().collect();
    assert!(sim.reset_factors(&factors[0][0]));
    if let Some(d) = sim.keys("device_users").into_iter().next() {
        assert!(sim.delete_device(&d[0]));
    }
    sim.churn(0.02, 11);

    let second = read_from_echoed_states(&bin, &dir, &source_cfg, &catalog_path, &loaded);
    let reloaded = run(
        &["write", "--config", &dest_cfg, "--catalog", &catalog_path],
        &second,
    );
    assert_eq!(reloaded.code, 0, "{}", reloaded.stderr);

    for (stream, key) in &keys {
        let want = sim.keys(stream);
        let cols: Vec<String> = key.iter().map(|k| format!("`{k}`")).collect();
        let sql = format!(
            "SELECT {} FROM `{PROJECT}`.`{dataset}`.`{stream}`",
            cols.join(", ")
        );
        let got: std::collections::BTreeSet<Vec<String>> = match bq.query_rows(&sql).await {
            Ok(rows) => rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|v| v.as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .collect(),
            Err(e) => {
                assert!(want.is_empty(), "{stream}: {e}");
                continue;
            }
        };
        let extra: Vec<_> = got.difference(&want).take(3).collect();
        let missing: Vec<_> = want.difference(&got).take(3).collect();
        assert!(
            extra.is_empty() && missing.is_empty(),
            "{stream}: extra {extra:?}, missing {missing:?} ({} rows vs {} in the org)",
            got.len(),
            want.len()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
