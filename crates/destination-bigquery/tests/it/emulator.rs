//! Loads into the bqemulator BigQuery emulator for real and checks the result with SQL through its query API.
//!
//! Start it with `bash crates/destination-bigquery/ci/emulator.sh install && bash … start`, then run with
//! `BQ_EMULATOR_ENDPOINT=http://127.0.0.1:9050`. Without that variable (and without `CI`) these tests print
//! a skip line and pass; with either, an unreachable emulator fails them.

use crate::common::*;
use destination_bigquery::auth::TokenProvider;
use destination_bigquery::client::BigQuery;
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PROJECT: &str = "it-project";

/// The emulator endpoint, or `None` (with a skip line) when none is configured.
pub async fn emulator(test: &str) -> Option<String> {
    let configured = std::env::var("BQ_EMULATOR_ENDPOINT")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let ci = std::env::var("CI")
        .map(|v| !v.is_empty() && v != "0" && v != "false")
        .unwrap_or(false);
    let endpoint = match (configured, ci) {
        (Some(e), _) => e,
        (None, true) => "http://127.0.0.1:9050".to_string(),
        (None, false) => {
            // Written straight to stderr so the line shows even though libtest captures test output.
            let _ = writeln!(
                std::io::stderr(),
                "SKIP {test}: BQ_EMULATOR_ENDPOINT is not set (start the emulator with crates/destination-bigquery/ci/emulator.sh)"
            );
            return None;
        }
    };
    let url = format!(
        "{}/bigquery/v2/projects/{PROJECT}/datasets",
        endpoint.trim_end_matches('/')
    );
    let ok = reqwest::Client::new()
        .get(&url)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map(|r| r.status().is_success())
        .unwrap_or(false);
    assert!(
        ok,
        "{test}: the BigQuery emulator at {endpoint} does not answer (BQ_EMULATOR_ENDPOINT or CI is set). \
         Start it: bash crates/destination-bigquery/ci/emulator.sh install && bash crates/destination-bigquery/ci/emulator.sh start"
    );
    Some(endpoint)
}

pub struct Env {
    endpoint: String,
    dataset: String,
    raw: String,
    dir: std::path::PathBuf,
    bq: BigQuery,
}

impl Env {
    async fn new(test: &str) -> Option<Env> {
        let endpoint = emulator(test).await?;
        Some(Self::with_endpoint(test, endpoint))
    }

    pub fn with_endpoint(test: &str, endpoint: String) -> Env {
        let bq = BigQuery::new(&endpoint, PROJECT, "US", Arc::new(TokenProvider::none())).unwrap();
        Env {
            dataset: unique(test),
            raw: unique(&format!("{test}_raw")),
            dir: tmpdir(test),
            endpoint,
            bq,
        }
    }

    pub fn config(&self, extra: Value) -> String {
        let mut cfg = json!({"project_id": PROJECT, "dataset_id": self.dataset, "dataset_location": "US",
            "raw_data_dataset": self.raw, "endpoint": self.endpoint, "loading_method": {"method": "Standard"},
            "min_load_interval_seconds": 0});
        for (k, v) in extra.as_object().unwrap() {
            cfg[k] = v.clone();
        }
        let name = format!("config-{}.json", uuid::Uuid::new_v4().simple());
        write_json(&self.dir, &name, &cfg)
    }

    pub fn catalog(&self, streams: Vec<Value>) -> String {
        let name = format!("catalog-{}.json", uuid::Uuid::new_v4().simple());
        write_json(&self.dir, &name, &catalog(streams))
    }

    pub async fn rows(&self, sql: &str) -> Vec<Vec<Value>> {
        let sql = sql.replace("$ds", &format!("`{PROJECT}`.`{}`", self.dataset));
        self.bq
            .query_rows(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    async fn count(&self, table: &str) -> i64 {
        let r = self
            .rows(&format!("SELECT COUNT(*) FROM $ds.`{table}`"))
            .await;
        r[0][0].as_str().unwrap().parse().unwrap()
    }

    async fn column_types(&self, table: &str) -> Vec<(String, String)> {
        let t = destination_bigquery::sql::TableRef::new(PROJECT, &self.dataset, table);
        let v = self.bq.get_table(&t).await.unwrap().expect("table exists");
        v["schema"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["name"].as_str().unwrap().to_string(),
                    f["type"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// `(column, type)` of a query's result, with type names normalised to Standard SQL.
    async fn query_types(&self, sql: &str) -> Vec<(String, String)> {
        let sql = sql.replace("$ds", &format!("`{PROJECT}`.`{}`", self.dataset));
        let v = self.bq.query(&sql).await.unwrap();
        v["schema"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let ty = f["type"].as_str().unwrap();
                let ty = destination_bigquery::schema::BqType::from_api_name(ty)
                    .map(|t| t.sql_name())
                    .unwrap_or(ty);
                (f["name"].as_str().unwrap().to_string(), ty.to_string())
            })
            .collect()
    }

    /// Asserts that no temporary table is left in the raw dataset.
    async fn assert_no_raw_tables(&self) {
        let tables = self.raw_tables().await;
        assert!(tables.is_empty(), "temp tables are dropped: {tables:?}");
    }

    async fn raw_tables(&self) -> Vec<Vec<Value>> {
        self.bq
            .query_rows(&format!(
                "SELECT table_name FROM `{PROJECT}`.`{}`.INFORMATION_SCHEMA.TABLES",
                self.raw
            ))
            .await
            .unwrap_or_default()
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("<null>")
}

/// RECORDs of the active users `u{from}` … `u{to - 1}`.
fn batch(from: usize, to: usize) -> Vec<String> {
    (from..to)
        .map(|i| {
            record(
                "users",
                user(&format!("u{i}"), "2024-01-01T00:00:00Z", "ACTIVE"),
                1,
            )
        })
        .collect()
}

/// Writes `{"id": "a", "n": 1}` into `t` with `n` an integer, then `{"id": "b", "n": {"x": 1}}` and a
/// STATE with `n` an object; returns the second run.
fn write_n_as_integer_then_object(env: &Env, cfg: &str) -> Run {
    let s1 = json!({"properties": {"id": {"type": "string"}, "n": {"type": "integer"}}});
    let s2 = json!({"properties": {"id": {"type": "string"}, "n": {"type": "object"}}});
    let cat1 = env.catalog(vec![configured("t", s1, "append", &[], &[])]);
    let cat2 = env.catalog(vec![configured("t", s2, "append", &[], &[])]);
    let r = run(
        &["write", "--config", cfg, "--catalog", &cat1],
        &lines(&[record("t", json!({"id": "a", "n": 1}), 1)]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    run(
        &["write", "--config", cfg, "--catalog", &cat2],
        &lines(&[
            record("t", json!({"id": "b", "n": {"x": 1}}), 2),
            state("t", json!({})),
        ]),
    )
}

/// The config and catalog of [`write_50_users`]: `users` appended with key `id`, one load per table per hour.
fn hourly_users(env: &Env) -> (String, String) {
    let cfg = env.config(json!({"min_load_interval_seconds": 3600}));
    let cat = env.catalog(vec![configured(
        "users",
        users_schema(),
        "append",
        &["id"],
        &[],
    )]);
    (cfg, cat)
}

/// Starts a `write` that is kept open, sends it users `u0` … `u49` and a STATE `{"n": 50}`; returns the
/// child, its stdout as messages, and its stdin for more.
fn write_50_users(
    cfg: &str,
    cat: &str,
    stderr: Stdio,
) -> (
    std::process::Child,
    std::sync::mpsc::Receiver<Value>,
    std::process::ChildStdin,
) {
    let mut child = Command::new(BIN)
        .args(["write", "--config", cfg, "--catalog", cat])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let rx = stdout_lines(&mut child);
    let mut stdin = child.stdin.take().unwrap();
    let mut msgs = batch(0, 50);
    msgs.push(state("users", json!({"n": 50})));
    stdin.write_all(lines(&msgs).as_bytes()).unwrap();
    stdin.flush().unwrap();
    (child, rx, stdin)
}

/// The first three columns of each row, as text.
fn triples(rows: &[Vec<Value>]) -> Vec<(&str, &str, &str)> {
    rows.iter()
        .map(|r| (s(&r[0]), s(&r[1]), s(&r[2])))
        .collect()
}

#[tokio::test]
async fn append_lands_typed_columns_with_meta_partitioning_and_clustering() {
    let Some(env) = Env::new("append_typed").await else {
        return;
    };
    let cfg = env.config(json!({}));
    let cat = env.catalog(vec![configured(
        "users",
        users_schema(),
        "append",
        &["id"],
        &["lastUpdated"],
    )]);
    let input = lines(&[
        record(
            "users",
            user("u1", "2024-01-01T00:00:00.000Z", "ACTIVE"),
            1_704_067_200_000,
        ),
        record(
            "users",
            json!({"id": "u2", "lastUpdated": "2024-01-02T00:00:00Z", "status": null, "loginCount": "lots",
            "created": "not a date", "profile": null}),
            1_704_067_200_000,
        ),
        state("users", json!({"lastUpdated": "2024-01-02T00:00:00Z"})),
    ]);
    let r = run(&["write", "--config", &cfg, "--catalog", &cat], &input);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout_raw, r.stderr);
    assert_eq!(r.states().len(), 1);
    assert_eq!(
        r.states()[0]["state"]["destinationStats"]["recordCount"],
        2.0
    );

    let types = env.column_types("users").await;
    for (name, ty) in [
        ("_airbyte_raw_id", "STRING"),
        ("_airbyte_extracted_at", "TIMESTAMP"),
        ("_airbyte_meta", "JSON"),
        ("_airbyte_generation_id", "INT64"),
        ("id", "STRING"),
        ("created", "TIMESTAMP"),
        ("lastUpdated", "TIMESTAMP"),
        ("profile", "JSON"),
        ("loginCount", "INT64"),
        ("score", "NUMERIC"),
        ("verified", "BOOL"),
        ("birthday", "DATE"),
        ("groups", "JSON"),
    ] {
        assert!(
            types.contains(&(name.to_string(), ty.to_string())),
            "{name} {ty} not in {types:?}"
        );
    }
    let t = env
        .bq
        .get_table(&destination_bigquery::sql::TableRef::new(
            PROJECT,
            &env.dataset,
            "users",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t["timePartitioning"]["field"], "_airbyte_extracted_at");
    assert_eq!(
        t["clustering"]["fields"],
        json!(["id", "_airbyte_extracted_at"])
    );

    let rows = env
        .rows(
            "SELECT id, status, loginCount, score, verified, birthday, JSON_VALUE(profile, '$.login'), \
             TO_JSON_STRING(`groups`), created, TO_JSON_STRING(_airbyte_meta), UNIX_MILLIS(_airbyte_extracted_at) \
             FROM $ds.users ORDER BY id",
        )
        .await;
    assert_eq!(rows.len(), 2);
    let u1 = &rows[0];
    assert_eq!(s(&u1[0]), "u1");
    assert_eq!(s(&u1[2]), "7");
    assert_eq!(s(&u1[3]).parse::<f64>().unwrap(), 1.25);
    assert_eq!(s(&u1[4]), "true");
    assert_eq!(s(&u1[5]), "1990-02-03");
    assert_eq!(s(&u1[6]), "u1@example.com");
    assert_eq!(
        serde_json::from_str::<Value>(s(&u1[7])).unwrap(),
        json!(["g1", "g2"])
    );
    assert_eq!(
        s(&u1[8]),
        "1682935200000000",
        "TIMESTAMP comes back as int64 microseconds"
    );
    assert_eq!(s(&u1[10]), "1704067200000");
    let u2 = &rows[1];
    assert!(
        u2[1].is_null() && u2[2].is_null() && u2[8].is_null(),
        "{u2:?}"
    );
    let meta: Value = serde_json::from_str(s(&u2[9])).unwrap();
    let fields: Vec<&str> = meta["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["created", "loginCount"]);
    assert_eq!(meta["changes"][0]["change"], "NULLED");
}

#[tokio::test]
async fn dedup_keeps_the_newest_row_after_an_incremental_resync() {
    let Some(env) = Env::new("dedup").await else {
        return;
    };
    let cfg = env.config(json!({}));
    let cat = env.catalog(vec![users_dedup()]);
    let run1 = lines(&[
        record("users", user("u1", "2024-01-01T00:00:00Z", "STAGED"), 1_000),
        record("users", user("u2", "2024-01-01T00:00:00Z", "ACTIVE"), 1_000),
        // A key seen twice in one batch: the later cursor wins inside the batch.
        record("users", user("u4", "2024-01-03T00:00:00Z", "NEWER"), 1_000),
        record("users", user("u4", "2024-01-02T00:00:00Z", "OLDER"), 1_000),
        state("users", json!({"lastUpdated": "2024-01-03T00:00:00Z"})),
    ]);
    let r = run(&["write", "--config", &cfg, "--catalog", &cat], &run1);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(env.count("users").await, 3);
    let run2 = lines(&[
        record("users", user("u1", "2024-02-01T00:00:00Z", "ACTIVE"), 2_000),
        record("users", user("u3", "2024-02-01T00:00:00Z", "ACTIVE"), 2_000),
        // An older version arriving late must not win.
        record("users", user("u2", "2023-12-01T00:00:00Z", "STALE"), 2_000),
        state("users", json!({"lastUpdated": "2024-02-01T00:00:00Z"})),
    ]);
    let r = run(&["write", "--config", &cfg, "--catalog", &cat], &run2);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.states().len(), 1);
    let rows = env
        .rows("SELECT id, status FROM $ds.users ORDER BY id")
        .await;
    let got: Vec<(&str, &str)> = rows.iter().map(|r| (s(&r[0]), s(&r[1]))).collect();
    assert_eq!(
        got,
        [
            ("u1", "ACTIVE"),
            ("u2", "ACTIVE"),
            ("u3", "ACTIVE"),
            ("u4", "NEWER")
        ]
    );
    env.assert_no_raw_tables().await;
}

#[tokio::test]
async fn overwrite_replaces_the_table() {
    let Some(env) = Env::new("overwrite").await else {
        return;
    };
    let cfg = env.config(json!({}));
    let cat = env.catalog(vec![configured(
        "groups",
        groups_schema(),
        "overwrite",
        &["id"],
        &[],
    )]);
    let g = |id: &str| {
        record(
            "groups",
            json!({"id": id, "name": format!("group {id}")}),
            1,
        )
    };
    let r = run(
        &["write", "--config", &cfg, "--catalog", &cat],
        &lines(&[g("g1"), g("g2"), g("g3"), state("groups", json!({}))]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(env.count("groups").await, 3);
    let r = run(
        &["write", "--config", &cfg, "--catalog", &cat],
        &lines(&[g("g7"), g("g8"), state("groups", json!({}))]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.states().len(), 1);
    let ids: Vec<String> = env
        .rows("SELECT id FROM $ds.groups ORDER BY id")
        .await
        .iter()
        .map(|r| s(&r[0]).to_string())
        .collect();
    assert_eq!(ids, ["g7", "g8"]);
    env.assert_no_raw_tables().await;
}

#[tokio::test]
async fn a_column_added_in_a_second_run_is_added_to_the_table() {
    let Some(env) = Env::new("add_column").await else {
        return;
    };
    let cfg = env.config(json!({}));
    let cat1 = env.catalog(vec![configured(
        "groups",
        groups_schema(),
        "append",
        &["id"],
        &[],
    )]);
    let r = run(
        &["write", "--config", &cfg, "--catalog", &cat1],
        &lines(&[record("groups", json!({"id": "g1", "name": "a"}), 1)]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut schema2 = groups_schema();
    schema2["properties"]["memberCount"] = json!({"type": ["null", "integer"]});
    schema2["properties"]["profile"] = json!({"type": ["null", "object"]});
    let cat2 = env.catalog(vec![configured("groups", schema2, "append", &["id"], &[])]);
    let r = run(
        &["write", "--config", &cfg, "--catalog", &cat2],
        &lines(&[record(
            "groups",
            json!({"id": "g2", "name": "b", "memberCount": 5, "profile": {"d": "x"}}),
            2,
        )]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The column types as a query sees them (bqemulator's tables.get does not reflect DDL changes).
    let types = env.query_types("SELECT * FROM $ds.groups").await;
    assert!(
        types.contains(&("memberCount".into(), "INT64".into())),
        "{types:?}"
    );
    assert!(
        types.contains(&("profile".into(), "JSON".into())),
        "{types:?}"
    );
    let rows = env
        .rows("SELECT id, memberCount, JSON_VALUE(profile, '$.d') FROM $ds.groups ORDER BY id")
        .await;
    assert_eq!(rows.len(), 2);
    assert!(rows[0][1].is_null());
    assert_eq!(s(&rows[1][1]), "5");
    assert_eq!(s(&rows[1][2]), "x");
    // A third run with the same schema finds nothing to change and still loads.
    let r = run(
        &["write", "--config", &cfg, "--catalog", &cat2],
        &lines(&[record("groups", json!({"id": "g3", "memberCount": 1}), 3)]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(env.count("groups").await, 3);
}

#[tokio::test]
async fn incompatible_type_change_fails_with_one_trace_error() {
    let Some(env) = Env::new("type_change").await else {
        return;
    };
    let cfg = env.config(json!({}));
    let r = write_n_as_integer_then_object(&env, &cfg);
    assert_ne!(r.code, 0);
    assert!(r.states().is_empty());
    let traces = r.of_type("TRACE");
    assert_eq!(traces.len(), 1, "{}", r.stdout_raw);
    assert!(traces[0]["trace"]["error"]["message"]
        .as_str()
        .unwrap()
        .contains(".t.n"));
    assert_eq!(env.count("t").await, 1, "nothing was loaded");
}

/// Reads the destination's stdout on a thread, so the test can wait for one line with a deadline.
pub fn stdout_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<Value> {
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let v: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
            if tx.send(v).is_err() {
                break;
            }
        }
    });
    rx
}

pub fn next_state(rx: &std::sync::mpsc::Receiver<Value>, within: Duration) -> Option<Value> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match rx.recv_timeout(left) {
            Ok(v) if v["type"] == "STATE" => return Some(v),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn state_is_echoed_only_after_its_rows_are_queryable() {
    let Some(env) = Env::new("state_order").await else {
        return;
    };
    // One load per table per hour: the first STATE may load at once, the second must wait for the end.
    let (cfg, cat) = hourly_users(&env);
    let (mut child, rx, mut stdin) = write_50_users(&cfg, &cat, Stdio::piped());
    let st = next_state(&rx, Duration::from_secs(60)).expect("first STATE within 60s");
    assert_eq!(st["state"]["stream"]["stream_state"]["n"], 50);
    // The moment the STATE is out, its rows are queryable.
    assert_eq!(env.count("users").await, 50);

    let mut msgs = batch(50, 80);
    msgs.push(state("users", json!({"n": 80})));
    stdin.write_all(lines(&msgs).as_bytes()).unwrap();
    stdin.flush().unwrap();
    // Inside the minimum load interval nothing is loaded, so the STATE must not be echoed yet.
    assert!(
        next_state(&rx, Duration::from_secs(3)).is_none(),
        "STATE echoed before its rows were loaded"
    );
    assert_eq!(env.count("users").await, 50);
    drop(stdin);
    let Some(st) = next_state(&rx, Duration::from_secs(60)) else {
        let out = child.wait_with_output().unwrap();
        panic!(
            "no second STATE after the final load; exit {:?}; stderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    };
    assert_eq!(st["state"]["stream"]["stream_state"]["n"], 80);
    assert_eq!(st["state"]["destinationStats"]["recordCount"], 30.0);
    assert_eq!(env.count("users").await, 80);
    assert!(child.wait().unwrap().success());
}

#[tokio::test]
async fn singer_target_loads_and_dedups_by_key_properties() {
    let Some(env) = Env::new("singer").await else {
        return;
    };
    let cfg = env.config(json!({}));
    let schema = json!({"type": "SCHEMA", "stream": "users", "schema": users_schema(), "key_properties": ["id"],
        "bookmark_properties": ["lastUpdated"]})
    .to_string();
    let rec = |id: &str, updated: &str, status: &str| {
        json!({"type": "RECORD", "stream": "users", "record": user(id, updated, status)})
            .to_string()
    };
    let st =
        |v: i64| json!({"type": "STATE", "value": {"bookmarks": {"users": {"v": v}}}}).to_string();
    let r = run_bin(
        TARGET_BIN,
        &["--config", &cfg],
        &lines(&[
            schema.clone(),
            rec("a", "2024-01-01T00:00:00Z", "OLD"),
            rec("b", "2024-01-01T00:00:00Z", "X"),
            st(1),
        ]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, vec![json!({"bookmarks": {"users": {"v": 1}}})]);
    let r = run_bin(
        TARGET_BIN,
        &["--config", &cfg],
        &lines(&[schema, rec("a", "2024-02-01T00:00:00Z", "NEW"), st(2)]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, vec![json!({"bookmarks": {"users": {"v": 2}}})]);
    let rows = env
        .rows("SELECT id, status FROM $ds.users ORDER BY id")
        .await;
    let got: Vec<(&str, &str)> = rows.iter().map(|r| (s(&r[0]), s(&r[1]))).collect();
    assert_eq!(got, [("a", "NEW"), ("b", "X")]);
}

#[tokio::test]
async fn check_succeeds_and_rejects_a_dataset_in_another_location() {
    let Some(env) = Env::new("check").await else {
        return;
    };
    let r = run(&["check", "--config", &env.config(json!({}))], "");
    assert_eq!(
        r.stdout[0]["connectionStatus"]["status"], "SUCCEEDED",
        "{}\n{}",
        r.stdout_raw, r.stderr
    );
    let r = run(
        &[
            "check",
            "--config",
            &env.config(json!({"dataset_location": "EU"})),
        ],
        "",
    );
    assert_eq!(r.stdout[0]["connectionStatus"]["status"], "FAILED");
    assert!(
        r.stdout[0]["connectionStatus"]["message"]
            .as_str()
            .unwrap()
            .contains("location"),
        "{}",
        r.stdout_raw
    );
    // The internal dataset is checked too: one in another location fails `check`, naming it.
    let eu_raw = unique("check_eu_raw");
    let eu = env.config(
        json!({"dataset_location": "EU", "dataset_id": unique("check_eu"),
        "raw_data_dataset": eu_raw}),
    );
    let r = run(&["check", "--config", &eu], "");
    assert_eq!(
        r.stdout[0]["connectionStatus"]["status"], "SUCCEEDED",
        "{}",
        r.stdout_raw
    );
    let r = run(
        &[
            "check",
            "--config",
            &env.config(json!({"raw_data_dataset": eu_raw})),
        ],
        "",
    );
    assert_eq!(r.stdout[0]["connectionStatus"]["status"], "FAILED");
    let msg = r.stdout[0]["connectionStatus"]["message"].as_str().unwrap();
    assert!(
        msg.contains(&format!("dataset {eu_raw}:")) && msg.contains("location"),
        "{msg}"
    );
}

#[tokio::test]
async fn job_errors_reported_with_http_200_fail_the_query() {
    let Some(env) = Env::new("bad_sql").await else {
        return;
    };
    let e = env
        .bq
        .query("SELEC nonsense FROM nowhere")
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            destination_bigquery::error::Error::Job { .. }
                | destination_bigquery::error::Error::Api { .. }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn widen_to_json_converts_the_column_and_keeps_old_values() {
    let Some(env) = Env::new("widen").await else {
        return;
    };
    let cfg = env.config(json!({"schema_change": "widen_to_json"}));
    let r = write_n_as_integer_then_object(&env, &cfg);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.states().len(), 1);
    let types = env.query_types("SELECT * FROM $ds.t").await;
    assert!(types.contains(&("n".into(), "JSON".into())), "{types:?}");
    let rows = env
        .rows("SELECT id, TO_JSON_STRING(n) FROM $ds.t ORDER BY id")
        .await;
    let got: Vec<Value> = rows
        .iter()
        .map(|r| serde_json::from_str(s(&r[1])).unwrap())
        .collect();
    assert_eq!(got, [json!(1), json!({"x": 1})]);
}

#[tokio::test]
async fn batch_priority_runs_the_merge_as_a_query_job() {
    let Some(env) = Env::new("batch_prio").await else {
        return;
    };
    let cfg = env.config(json!({"transformation_priority": "batch"}));
    let cat = env.catalog(vec![users_dedup()]);
    for (status, updated) in [
        ("OLD", "2024-01-01T00:00:00Z"),
        ("NEW", "2024-02-01T00:00:00Z"),
    ] {
        let r = run(
            &["write", "--config", &cfg, "--catalog", &cat],
            &lines(&[record("users", user("u1", updated, status), 1)]),
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let rows = env.rows("SELECT id, status FROM $ds.users").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(s(&rows[0][1]), "NEW");
}

#[tokio::test]
async fn a_killed_sync_resumed_from_the_last_echoed_state_loses_and_duplicates_nothing() {
    let Some(env) = Env::new("killed").await else {
        return;
    };
    let (cfg, cat) = hourly_users(&env);
    let (mut child, rx, mut stdin) = write_50_users(&cfg, &cat, Stdio::null());
    let last = next_state(&rx, Duration::from_secs(60)).expect("first STATE");
    // More records arrive, then the process is killed before it could load them.
    stdin.write_all(lines(&batch(50, 80)).as_bytes()).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(env.count("users").await, 50);
    // The source resumes from the last echoed state and sends what came after it.
    assert_eq!(last["state"]["stream"]["stream_state"]["n"], 50);
    let mut msgs = batch(50, 80);
    msgs.push(state("users", json!({"n": 80})));
    let r = run(
        &["write", "--config", &cfg, "--catalog", &cat],
        &lines(&msgs),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = env
        .rows("SELECT COUNT(*), COUNT(DISTINCT id) FROM $ds.users")
        .await;
    assert_eq!((s(&rows[0][0]), s(&rows[0][1])), ("80", "80"));
}

#[tokio::test]
async fn a_truncate_refresh_of_a_dedup_stream_replaces_the_table_with_deduplicated_rows() {
    let Some(env) = Env::new("refresh_dedup").await else {
        return;
    };
    let cfg = env.config(json!({}));
    let mut stream = users_dedup();
    let r = run(
        &[
            "write",
            "--config",
            &cfg,
            "--catalog",
            &env.catalog(vec![stream.clone()]),
        ],
        &lines(&[record(
            "users",
            user("old", "2024-01-01T00:00:00Z", "ACTIVE"),
            1,
        )]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Generation 2 with minimum generation 2: a truncate refresh.
    stream["generation_id"] = json!(2);
    stream["minimum_generation_id"] = json!(2);
    let r = run(
        &[
            "write",
            "--config",
            &cfg,
            "--catalog",
            &env.catalog(vec![stream]),
        ],
        &lines(&[
            record("users", user("u1", "2024-01-01T00:00:00Z", "OLD"), 1),
            record("users", user("u1", "2024-02-01T00:00:00Z", "NEW"), 1),
            record("users", user("u2", "2024-02-01T00:00:00Z", "ACTIVE"), 1),
            state("users", json!({})),
        ]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.states().len(), 1);
    let rows = env
        .rows("SELECT id, status, _airbyte_generation_id FROM $ds.users ORDER BY id")
        .await;
    let got = triples(&rows);
    assert_eq!(got, [("u1", "NEW", "2"), ("u2", "ACTIVE", "2")]);
    env.assert_no_raw_tables().await;
}

#[tokio::test]
async fn a_singer_schema_change_mid_stream_adds_the_column_and_keeps_deduplicating() {
    let Some(env) = Env::new("singer_schema").await else {
        return;
    };
    let cfg = env.config(json!({}));
    let schema = |extra: bool| {
        let mut s = groups_schema();
        if extra {
            s["properties"]["memberCount"] = json!({"type": ["null", "integer"]});
        }
        json!({"type": "SCHEMA", "stream": "groups", "schema": s, "key_properties": ["id"]})
            .to_string()
    };
    let rec = |v: Value| json!({"type": "RECORD", "stream": "groups", "record": v}).to_string();
    let r = run_bin(
        TARGET_BIN,
        &["--config", &cfg],
        &lines(&[
            schema(false),
            rec(json!({"id": "g1", "name": "a"})),
            schema(true),
            rec(json!({"id": "g1", "name": "b", "memberCount": 3})),
            rec(json!({"id": "g2", "name": "c", "memberCount": 4})),
            json!({"type": "STATE", "value": {"bookmarks": {}}}).to_string(),
        ]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.len(), 1);
    let rows = env
        .rows("SELECT id, name, memberCount FROM $ds.groups ORDER BY id")
        .await;
    let got = triples(&rows);
    assert_eq!(got, [("g1", "b", "3"), ("g2", "c", "4")]);
    env.assert_no_raw_tables().await;
}

#[tokio::test]
async fn integer_to_number_is_widened_in_place_and_keeps_values() {
    let Some(env) = Env::new("widen_numeric").await else {
        return;
    };
    let s1 = json!({"properties": {"id": {"type": "string"}, "n": {"type": "integer"}}});
    let s2 = json!({"properties": {"id": {"type": "string"}, "n": {"type": "number"}}});
    let cfg = env.config(json!({}));
    let cat1 = env.catalog(vec![configured("t", s1, "append", &[], &[])]);
    let cat2 = env.catalog(vec![configured("t", s2, "append", &[], &[])]);
    let r = run(
        &["write", "--config", &cfg, "--catalog", &cat1],
        &lines(&[record("t", json!({"id": "a", "n": 7}), 1)]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The default `schema_change: fail` does not stop this one: BigQuery widens INT64 to NUMERIC in place.
    let r = run(
        &["write", "--config", &cfg, "--catalog", &cat2],
        &lines(&[
            record("t", json!({"id": "b", "n": 1.5}), 2),
            state("t", json!({})),
        ]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("widening in place"), "{}", r.stderr);
    let types = env.query_types("SELECT n FROM $ds.t").await;
    assert_eq!(types, [("n".to_string(), "NUMERIC".to_string())]);
    let rows = env
        .rows("SELECT id, CAST(n AS STRING) FROM $ds.t ORDER BY id")
        .await;
    let got: Vec<(&str, f64)> = rows
        .iter()
        .map(|r| (s(&r[0]), s(&r[1]).parse::<f64>().unwrap()))
        .collect();
    assert_eq!(got, [("a", 7.0), ("b", 1.5)]);
}

#[tokio::test]
async fn overwrite_without_a_primary_key_replaces_the_table() {
    let Some(env) = Env::new("overwrite_nopk").await else {
        return;
    };
    let cfg = env.config(json!({}));
    let cat = env.catalog(vec![configured(
        "g",
        groups_schema(),
        "overwrite",
        &[],
        &[],
    )]);
    for (n, ids) in [(1, vec!["a", "b", "c"]), (2, vec!["d"])] {
        let mut msgs: Vec<String> = ids
            .iter()
            .map(|id| record("g", json!({"id": id, "name": "x"}), n))
            .collect();
        msgs.push(state("g", json!({"n": n})));
        let r = run(
            &["write", "--config", &cfg, "--catalog", &cat],
            &lines(&msgs),
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.states().len(), 1);
    }
    assert_eq!(env.count("g").await, 1);
}

#[tokio::test]
async fn time_without_timezone_and_type_unions_map_as_airbyte() {
    let Some(env) = Env::new("time_union").await else {
        return;
    };
    let schema = json!({"properties": {"id": {"type": "string"},
        "at": {"type": "string", "format": "time", "airbyte_type": "time_without_timezone"},
        "either": {"type": ["null", "string", "integer"]}}});
    let cat = env.catalog(vec![configured("t", schema, "append", &[], &[])]);
    let r = run(
        &[
            "write",
            "--config",
            &env.config(json!({})),
            "--catalog",
            &cat,
        ],
        &lines(&[
            record("t", json!({"id": "a", "at": "13:45:06.5", "either": 5}), 1),
            record("t", json!({"id": "b", "at": "07:08", "either": "x"}), 1),
        ]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let types = env.query_types("SELECT `at`, `either` FROM $ds.t").await;
    assert_eq!(
        types,
        [
            ("at".to_string(), "TIME".to_string()),
            ("either".to_string(), "STRING".to_string())
        ]
    );
    let rows = env
        .rows("SELECT id, CAST(`at` AS STRING), `either` FROM $ds.t ORDER BY id")
        .await;
    let got = triples(&rows);
    // BigQuery prints six fraction digits, the emulator as few as needed: compare the times.
    let t = |v: &str| chrono::NaiveTime::parse_from_str(v, "%H:%M:%S%.f").unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(
        (got[0].0, t(got[0].1), got[0].2),
        ("a", t("13:45:06.5"), "5")
    );
    assert_eq!((got[1].0, t(got[1].1), got[1].2), ("b", t("07:08:00"), "x"));
}
