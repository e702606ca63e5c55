//! CDC tombstones (`_ab_cdc_deleted_at`) and undeclared fields (`_airbyte_additional_properties`), in local
//! mode and against the emulator: the same input gives the same table.

use crate::common::*;
use crate::emulator::emulator;
use serde_json::{json, Value};
use std::path::Path;

pub fn cdc_schema() -> Value {
    let mut s = users_schema();
    s["properties"]["_ab_cdc_deleted_at"] = json!({"type": ["null", "string"], "format": "date-time",
        "airbyte_type": "timestamp_with_timezone"});
    s
}

pub fn tombstone(id: &str, at: &str) -> Value {
    json!({"id": id, "_ab_cdc_deleted_at": at})
}

/// Three syncs of one stream: u1, u2, u3 created; then u1 deleted, u4 inserted and deleted in one batch (same
/// cursor, same extraction millisecond: arrival decides), u5 deleted before it was ever seen, u3 deleted but
/// re-created with a newer cursor in the same batch; then a late, older copy of u3, which must not win.
/// `users` with the CDC column, deduplicated by `id`, `lastUpdated` as the cursor.
fn users_cdc() -> Value {
    configured(
        "users",
        cdc_schema(),
        "append_dedup",
        &["id"],
        &["lastUpdated"],
    )
}

/// Writes each of `runs` as its own sync; each succeeds and echoes its one STATE.
fn write_runs(cfg: &str, cat: &str, runs: &[String]) {
    for (i, input) in runs.iter().enumerate() {
        let r = run(&["write", "--config", cfg, "--catalog", cat], input);
        assert_eq!(r.code, 0, "run {i}: {}", r.stderr);
        assert_eq!(r.states().len(), 1, "run {i}");
    }
}

fn cdc_runs() -> Vec<String> {
    vec![
        lines(&[
            record("users", user("u1", "2024-01-01T00:00:00Z", "ACTIVE"), 1_000),
            record("users", user("u2", "2024-01-01T00:00:00Z", "ACTIVE"), 1_000),
            record("users", user("u3", "2024-01-01T00:00:00Z", "ACTIVE"), 1_000),
            state("users", json!({"n": 1})),
        ]),
        lines(&[
            record("users", tombstone("u1", "2024-02-01T00:00:00Z"), 2_000),
            record("users", user("u4", "2024-02-01T00:00:00Z", "ACTIVE"), 2_000),
            record("users", tombstone("u4", "2024-02-01T00:00:00Z"), 2_000),
            record("users", tombstone("u5", "2024-02-01T00:00:00Z"), 2_000),
            record("users", tombstone("u3", "2024-02-01T00:00:00Z"), 2_000),
            record(
                "users",
                user("u3", "2024-02-02T00:00:00Z", "REVIVED"),
                2_000,
            ),
            state("users", json!({"n": 2})),
        ]),
        lines(&[
            record("users", user("u3", "2024-01-15T00:00:00Z", "LATE"), 3_000),
            state("users", json!({"n": 3})),
        ]),
    ]
}

fn local_cfg(dir: &Path, extra: Value) -> String {
    local_config(
        dir,
        merged(json!({"project_id": "demo", "dataset_id": "okta"}), extra),
    )
}

fn by_id(rows: &[Value]) -> Vec<(String, String, bool)> {
    let mut out: Vec<(String, String, bool)> = rows
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap_or("<null>").to_string(),
                !r["_ab_cdc_deleted_at"].is_null(),
            )
        })
        .collect();
    out.sort();
    out
}

fn owned(v: &[(&str, &str, bool)]) -> Vec<(String, String, bool)> {
    v.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
        .collect()
}

/// What the table holds after `cdc_runs`, by deletion mode.
fn expected(mode: &str) -> Vec<(String, String, bool)> {
    match mode {
        "hard" => owned(&[("u2", "ACTIVE", false), ("u3", "REVIVED", false)]),
        // Soft: u1 keeps its values with the deletion time set; u4 and u5 are kept as tombstones (u4 was
        // inserted and deleted within one batch, so only its tombstone reaches the table).
        _ => owned(&[
            ("u1", "ACTIVE", true),
            ("u2", "ACTIVE", false),
            ("u3", "REVIVED", false),
            ("u4", "<null>", true),
            ("u5", "<null>", true),
        ]),
    }
}

fn local_dedup(mode: &str) {
    let dir = tmpdir(&format!("cdc-local-{mode}"));
    let cfg = local_cfg(&dir, json!({"cdc_deletion_mode": mode}));
    let cat = write_catalog(&dir, vec![users_cdc()]);
    write_runs(&cfg, &cat, &cdc_runs());
    let rows = read_dir_rows(&dir.join("out/okta/users"));
    assert_eq!(by_id(&rows), expected(mode));
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/summary.json")).unwrap())
            .unwrap();
    assert_eq!(
        summary["tables"]["okta.users"]["rows_in_table"],
        expected(mode).len()
    );
}

#[test]
fn local_hard_delete_removes_rows_in_cursor_and_arrival_order() {
    local_dedup("hard");
}

#[test]
fn local_soft_delete_keeps_rows_with_the_deletion_time() {
    local_dedup("soft");
}

#[test]
fn append_keeps_tombstones_as_rows() {
    let dir = tmpdir("cdc-local-append");
    let cfg = local_cfg(&dir, json!({}));
    let cat = write_catalog(
        &dir,
        vec![configured("users", cdc_schema(), "append", &["id"], &[])],
    );
    for input in cdc_runs() {
        let r = run(&["write", "--config", &cfg, "--catalog", &cat], &input);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let rows = read_dir_rows(&dir.join("out/okta/users"));
    assert_eq!(rows.len(), 10);
    assert_eq!(
        rows.iter()
            .filter(|r| !r["_ab_cdc_deleted_at"].is_null())
            .count(),
        4
    );
}

#[test]
fn undeclared_fields_are_kept_in_additional_properties() {
    let dir = tmpdir("additional-local");
    let cfg = local_cfg(&dir, json!({}));
    let cat = write_catalog(&dir, vec![users_dedup()]);
    let mut u = user("u1", "2024-01-01T00:00:00Z", "ACTIVE");
    u["zNew"] = json!({"a": [1, "x"]});
    u["aNew"] = json!(5);
    let r = run(
        &["write", "--config", &cfg, "--catalog", &cat],
        &lines(&[
            record("users", u, 1),
            record("users", user("u2", "2024-01-01T00:00:00Z", "ACTIVE"), 1),
            state("users", json!({})),
        ]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = read_dir_rows(&dir.join("out/okta/users"));
    let u1 = rows.iter().find(|r| r["id"] == "u1").unwrap();
    assert_eq!(
        u1["_airbyte_additional_properties"],
        json!({"aNew": 5, "zNew": {"a": [1, "x"]}})
    );
    let u2 = rows.iter().find(|r| r["id"] == "u2").unwrap();
    assert!(u2.get("_airbyte_additional_properties").is_none());
    let schema = std::fs::read_to_string(dir.join("out/okta/users.schema.json")).unwrap();
    assert!(schema.contains("_airbyte_additional_properties"));
    assert!(
        r.stderr
            .contains("2 undeclared values kept in _airbyte_additional_properties"),
        "{}",
        r.stderr
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["tables"]["okta.users"]["additional_values"], 2);

    // Off: no column, and the fields are named on stderr as not loaded.
    let dir = tmpdir("additional-local-off");
    let cfg = local_cfg(&dir, json!({"additional_properties_column": false}));
    let cat = write_catalog(
        &dir,
        vec![configured("users", users_schema(), "append", &[], &[])],
    );
    let mut u = user("u1", "2024-01-01T00:00:00Z", "ACTIVE");
    u["zNew"] = json!(1);
    let r = run(
        &["write", "--config", &cfg, "--catalog", &cat],
        &lines(&[record("users", u, 1)]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let schema = std::fs::read_to_string(dir.join("out/okta/users.schema.json")).unwrap();
    assert!(!schema.contains("_airbyte_additional_properties"));
    assert!(r
        .stderr
        .contains("\"zNew\" is not in the stream's schema and is not loaded"));
}

async fn emulator_dedup(mode: &str) {
    let test = format!("cdc_{mode}");
    let Some(endpoint) = emulator(&test).await else {
        return;
    };
    let env = crate::emulator::Env::with_endpoint(&test, endpoint);
    let cfg = env.config(json!({"cdc_deletion_mode": mode}));
    let cat = env.catalog(vec![users_cdc()]);
    write_runs(&cfg, &cat, &cdc_runs());
    let rows = env
        .rows("SELECT id, status, _ab_cdc_deleted_at IS NOT NULL FROM $ds.users")
        .await;
    let mut got: Vec<(String, String, bool)> = rows
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_string(),
                r[1].as_str().unwrap_or("<null>").to_string(),
                r[2].as_str() == Some("true") || r[2] == json!(true),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, expected(mode));
}

#[tokio::test]
async fn emulator_hard_delete_removes_rows_in_cursor_and_arrival_order() {
    emulator_dedup("hard").await;
}

#[tokio::test]
async fn emulator_soft_delete_keeps_rows_with_the_deletion_time() {
    emulator_dedup("soft").await;
}

#[tokio::test]
async fn emulator_keeps_undeclared_fields_as_json() {
    let Some(endpoint) = emulator("additional").await else {
        return;
    };
    let env = crate::emulator::Env::with_endpoint("additional", endpoint);
    let cfg = env.config(json!({}));
    let cat = env.catalog(vec![users_dedup()]);
    let mut u = user("u1", "2024-01-01T00:00:00Z", "ACTIVE");
    u["zNew"] = json!({"a": [1, "x"]});
    let r = run(
        &["write", "--config", &cfg, "--catalog", &cat],
        &lines(&[record("users", u, 1_000), state("users", json!({}))]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = env
        .rows("SELECT TO_JSON_STRING(_airbyte_additional_properties) FROM $ds.users")
        .await;
    let v: Value = serde_json::from_str(rows[0][0].as_str().unwrap()).unwrap();
    assert_eq!(v, json!({"zNew": {"a": [1, "x"]}}));
}

/// A membership stream: key (group_id, user_id), cursor `c`.
fn members_schema() -> Value {
    json!({"type": "object", "properties": {
        "group_id": {"type": "string"}, "user_id": {"type": "string"},
        "c": {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"},
        "_ab_cdc_deleted_at": {"type": ["null", "string"], "format": "date-time",
            "airbyte_type": "timestamp_with_timezone"}}})
}

fn member(g: &str, u: &str, c: &str) -> Value {
    json!({"group_id": g, "user_id": u, "c": c})
}

/// Two syncs: memberships; then a deleted user and a deleted group, which Okta logs as one event each,
/// arrive as scoped tombstones (`user_id` or `group_id` alone). An older row of the deleted user in the
/// same batch goes too; a newer one (added again after the deletion event) stays.
fn scoped_runs() -> Vec<String> {
    let t1 = "2024-01-01T00:00:00Z";
    let t2 = "2024-02-01T00:00:00Z";
    vec![
        lines(&[
            record("members", member("g1", "u1", t1), 1_000),
            record("members", member("g1", "u2", t1), 1_000),
            record("members", member("g2", "u1", t1), 1_000),
            record("members", member("g2", "u3", t1), 1_000),
            state("members", json!({"n": 1})),
        ]),
        lines(&[
            record("members", member("g4", "u1", "2024-01-15T00:00:00Z"), 2_000),
            record(
                "members",
                json!({"user_id": "u1", "c": t2, "_ab_cdc_deleted_at": t2}),
                2_000,
            ),
            record("members", member("g3", "u1", "2024-03-01T00:00:00Z"), 2_000),
            record(
                "members",
                json!({"group_id": "g2", "c": t2, "_ab_cdc_deleted_at": t2}),
                2_000,
            ),
            state("members", json!({"n": 2})),
        ]),
    ]
}

fn scoped_expected(mode: &str) -> Vec<(String, String, bool)> {
    let v: &[(&str, &str, bool)] = match mode {
        "hard" => &[("g1", "u2", false), ("g3", "u1", false)],
        _ => &[
            ("g1", "u1", true),
            ("g1", "u2", false),
            ("g2", "u1", true),
            ("g2", "u3", true),
            ("g3", "u1", false),
        ],
    };
    owned(v)
}

fn member_rows(rows: impl Iterator<Item = (String, String, bool)>) -> Vec<(String, String, bool)> {
    let mut v: Vec<_> = rows.collect();
    v.sort();
    v
}

fn scoped_local(mode: &str) {
    let dir = tmpdir(&format!("cdc-scoped-{mode}"));
    let cfg = local_cfg(&dir, json!({"cdc_deletion_mode": mode}));
    let cat = write_catalog(
        &dir,
        vec![configured(
            "members",
            members_schema(),
            "append_dedup",
            &["group_id", "user_id"],
            &["c"],
        )],
    );
    write_runs(&cfg, &cat, &scoped_runs());
    let rows = read_dir_rows(&dir.join("out/okta/members"));
    let got = member_rows(rows.iter().map(|r| {
        (
            r["group_id"].as_str().unwrap().to_string(),
            r["user_id"].as_str().unwrap().to_string(),
            !r["_ab_cdc_deleted_at"].is_null(),
        )
    }));
    assert_eq!(got, scoped_expected(mode));
}

#[test]
fn local_scoped_tombstones_delete_every_row_of_a_deleted_parent() {
    scoped_local("hard");
}

#[test]
fn local_soft_scoped_tombstones_mark_every_row_of_a_deleted_parent() {
    scoped_local("soft");
}

async fn scoped_emulator(mode: &str) {
    let test = format!("cdc_scoped_{mode}");
    let Some(endpoint) = emulator(&test).await else {
        return;
    };
    let env = crate::emulator::Env::with_endpoint(&test, endpoint);
    let cfg = env.config(json!({"cdc_deletion_mode": mode}));
    let cat = env.catalog(vec![configured(
        "members",
        members_schema(),
        "append_dedup",
        &["group_id", "user_id"],
        &["c"],
    )]);
    for (i, input) in scoped_runs().iter().enumerate() {
        let r = run(&["write", "--config", &cfg, "--catalog", &cat], input);
        assert_eq!(r.code, 0, "run {i}: {}", r.stderr);
    }
    let rows = env
        .rows("SELECT group_id, user_id, _ab_cdc_deleted_at IS NOT NULL FROM $ds.members")
        .await;
    let got = member_rows(rows.iter().map(|r| {
        (
            r[0].as_str().unwrap().to_string(),
            r[1].as_str().unwrap().to_string(),
            r[2].as_str() == Some("true") || r[2] == json!(true),
        )
    }));
    assert_eq!(got, scoped_expected(mode));
}

#[tokio::test]
async fn emulator_scoped_tombstones_delete_every_row_of_a_deleted_parent() {
    scoped_emulator("hard").await;
}

#[tokio::test]
async fn emulator_soft_scoped_tombstones_mark_every_row_of_a_deleted_parent() {
    scoped_emulator("soft").await;
}
