//! What a sync costs: one MERGE per dedup stream per sync (or per commit window while a STATE waits), each
//! reading only the window's partitions of the temp table, with the bytes processed logged and totalled.

use crate::common::*;
use crate::emulator::{emulator, Env};
use serde_json::{json, Value};

/// Five batches of a dedup stream, each followed by its STATE; `u0` is updated in every batch.
fn batches() -> String {
    let mut msgs = Vec::new();
    for b in 0..5 {
        for i in 0..4 {
            let id = if i == 0 {
                "u0".to_string()
            } else {
                format!("u{b}_{i}")
            };
            msgs.push(record(
                "users",
                user(&id, &format!("2024-01-0{}T00:00:00Z", b + 1), "ACTIVE"),
                1_700_000_000_000 + b * 1000,
            ));
        }
        msgs.push(state("users", json!({"n": b})));
    }
    lines(&msgs)
}

fn merges_in(jobs: &str) -> Vec<Value> {
    jobs.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["query"].as_str().is_some_and(|q| q.starts_with("MERGE")))
        .collect()
}

fn local_run(extra: Value) -> (Run, String) {
    let dir = tmpdir("cost-local");
    let cfg = local_config(
        &dir,
        merged(
            json!({"project_id": "demo", "dataset_id": "okta", "min_load_interval_seconds": 0}),
            extra,
        ),
    );
    let cat = write_catalog(&dir, vec![users_dedup()]);
    let r = run(&["write", "--config", &cfg, "--catalog", &cat], &batches());
    let jobs = std::fs::read_to_string(dir.join("out/okta/users.jobs.jsonl")).unwrap();
    (r, jobs)
}

#[test]
fn a_dedup_stream_is_merged_once_per_sync_by_default() {
    let (r, jobs) = local_run(json!({}));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let states: Vec<i64> = r
        .states()
        .iter()
        .map(|s| s["state"]["stream"]["stream_state"]["n"].as_i64().unwrap())
        .collect();
    assert_eq!(
        states,
        [0, 1, 2, 3, 4],
        "every state, in order, after the MERGE"
    );
    let merges = merges_in(&jobs);
    assert_eq!(merges.len(), 1, "{jobs}");
    // The MERGE reads only the window's extraction times from the temp table.
    let q = merges[0]["query"].as_str().unwrap();
    assert!(
        q.contains("WHERE `_airbyte_extracted_at` BETWEEN TIMESTAMP '2023-11-14 22:13:20.000+00' AND TIMESTAMP '2023-11-14 22:13:24.000+00'"),
        "{q}"
    );
    assert!(
        r.stderr
            .contains("1 MERGE jobs, 0 bytes processed in total"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("16 rows in table"), "{}", r.stderr);
}

#[test]
fn a_zero_commit_window_merges_for_every_state() {
    let (r, jobs) = local_run(json!({"merge_interval_seconds": 0}));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.states().len(), 5);
    assert_eq!(merges_in(&jobs).len(), 5, "{jobs}");
    assert!(r.stderr.contains("16 rows in table"), "{}", r.stderr);
}

#[tokio::test]
async fn emulator_merges_once_and_reports_bytes_processed() {
    let Some(endpoint) = emulator("cost").await else {
        return;
    };
    let env = Env::with_endpoint("cost", endpoint);
    let cfg = env.config(json!({}));
    let cat = env.catalog(vec![users_dedup()]);
    let r = run(&["write", "--config", &cfg, "--catalog", &cat], &batches());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.states().len(), 5);
    let merges: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("merged into") && l.contains("bytes processed (job "))
        .collect();
    assert_eq!(merges.len(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("1 MERGE jobs,"), "{}", r.stderr);
    let rows = env
        .rows("SELECT COUNT(*), COUNT(DISTINCT id), MAX(lastUpdated) FROM $ds.users")
        .await;
    assert_eq!(rows[0][0], "16");
    assert_eq!(rows[0][1], "16");
}
