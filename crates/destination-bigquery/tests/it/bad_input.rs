//! Bad input lines: each fails the sync with one TRACE error naming the line (and stream) but never the
//! record's content, a non-zero exit, and no STATE echoed from the bad line on. Local mode, both protocols.

use crate::common::*;
use serde_json::{json, Value};

/// A value that must never appear in any output.
const MARKER: &str = "s3cr3t-record-content";

fn setup(name: &str, extra: Value) -> (std::path::PathBuf, String, String) {
    let dir = tmpdir(name);
    // A zero commit window: states before the bad line are acknowledged as soon as they arrive.
    let cfg = local_config(
        &dir,
        merged(
            json!({"project_id": "demo", "dataset_id": "okta", "merge_interval_seconds": 0}),
            extra,
        ),
    );
    let cat = write_catalog(&dir, vec![users_dedup()]);
    (dir, cfg, cat)
}

/// Writes the one user `u` and a STATE in local mode: the sync succeeds and echoes the STATE; returns
/// the run and the rows written.
fn write_one_user(name: &str, u: Value) -> (Run, Vec<Value>) {
    let (dir, cfg, cat) = setup(name, json!({}));
    let r = write(
        &cfg,
        &cat,
        &lines(&[record("users", u, 1), state("users", json!({"n": 1}))]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.states().len(), 1);
    let rows = read_dir_rows(&dir.join("out/okta/users"));
    (r, rows)
}

fn secret_user(id: &str) -> Value {
    let mut u = user(id, "2024-01-01T00:00:00Z", "ACTIVE");
    u["status"] = json!(MARKER);
    u
}

/// Asserts the run failed on `line` with one TRACE error of `failure_type` whose message contains `what`,
/// echoed only the states whose `stream_state.n` is below `first_unacked`, and printed no record content.
fn assert_failed(r: &Run, line: u64, what: &str, failure_type: &str, first_unacked: i64) {
    assert_ne!(r.code, 0, "{}\n{}", r.stdout_raw, r.stderr);
    let traces = r.of_type("TRACE");
    assert_eq!(traces.len(), 1, "{}", r.stdout_raw);
    let err = &traces[0]["trace"]["error"];
    let msg = err["message"].as_str().unwrap();
    assert!(msg.contains(&format!("line {line}")), "{msg}");
    assert!(msg.contains(what), "{msg}");
    assert_eq!(err["failure_type"], failure_type, "{msg}");
    for s in r.states() {
        let n = s["state"]["stream"]["stream_state"]["n"].as_i64().unwrap();
        assert!(n < first_unacked, "state {n} echoed after the bad line");
    }
    assert!(!r.stdout_raw.contains(MARKER) && !r.stderr.contains(MARKER));
    // The TRACE is the last message: nothing is acknowledged after it.
    assert_eq!(r.stdout.last().unwrap()["type"], "TRACE");
}

fn write(cfg: &str, cat: &str, input: &str) -> Run {
    run(&["write", "--config", cfg, "--catalog", cat], input)
}

#[test]
fn a_truncated_line_fails_the_sync_and_acknowledges_nothing_after_it() {
    let (_dir, cfg, cat) = setup("bad-truncated", json!({}));
    let full = record("users", secret_user("u2"), 2);
    let cut = &full[..full.len() / 2];
    let input = lines(&[
        record("users", secret_user("u1"), 1),
        state("users", json!({"n": 1})),
        cut.to_string(),
        state("users", json!({"n": 2})),
        record("users", secret_user("u3"), 3),
        state("users", json!({"n": 3})),
    ]);
    let r = write(&cfg, &cat, &input);
    assert_failed(&r, 3, "truncated", "system_error", 2);
    assert_eq!(
        r.states().len(),
        1,
        "the state before the bad line is committed"
    );
}

#[test]
fn a_truncated_last_line_without_newline_fails() {
    let (_dir, cfg, cat) = setup("bad-truncated-end", json!({}));
    let full = record("users", secret_user("u2"), 2);
    let input = format!(
        "{}\n{}\n{}",
        record("users", secret_user("u1"), 1),
        state("users", json!({"n": 1})),
        &full[..full.len() - 3]
    );
    let r = write(&cfg, &cat, &input);
    assert_failed(&r, 3, "truncated", "system_error", 2);
}

#[test]
fn a_record_for_an_unconfigured_stream_fails_with_its_line_and_stream() {
    let (_dir, cfg, cat) = setup("bad-unconfigured", json!({}));
    let input = lines(&[
        record("users", secret_user("u1"), 1),
        state("users", json!({"n": 1})),
        record("groupz", json!({"id": MARKER}), 2),
        state("users", json!({"n": 2})),
    ]);
    let r = write(&cfg, &cat, &input);
    assert_failed(&r, 3, "\"groupz\"", "config_error", 2);
    assert!(r.of_type("TRACE")[0]["trace"]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not in the catalog"));
}

#[test]
fn a_record_whose_data_is_not_an_object_fails() {
    let (_dir, cfg, cat) = setup("bad-not-object", json!({}));
    let input = lines(&[
        record("users", secret_user("u1"), 1),
        state("users", json!({"n": 1})),
        record("users", json!([MARKER]), 2),
        state("users", json!({"n": 2})),
    ]);
    let r = write(&cfg, &cat, &input);
    assert_failed(&r, 3, "not a JSON object", "system_error", 2);
}

#[test]
fn a_message_of_the_wrong_shape_is_described_without_its_values() {
    let (_dir, cfg, cat) = setup("bad-shape", json!({}));
    let input = lines(&[
        state("users", json!({"n": 1})),
        json!({"type": "RECORD", "record": {"stream": MARKER, "data": {}}, "emitted_at": 1})
            .to_string()
            .replace(&format!("\"{MARKER}\""), &format!("[\"{MARKER}\"]")),
    ]);
    let r = write(&cfg, &cat, &input);
    assert_failed(&r, 2, "invalid type", "system_error", 2);
}

#[test]
fn an_unknown_message_type_fails() {
    let (_dir, cfg, cat) = setup("bad-type", json!({}));
    let input = lines(&[json!({"type": "RECORDS"}).to_string()]);
    let r = write(&cfg, &cat, &input);
    assert_failed(&r, 1, "unknown Airbyte message type", "system_error", 0);
}

#[test]
fn a_record_without_its_primary_key_fails_a_dedup_stream() {
    let (_dir, cfg, cat) = setup("bad-null-key", json!({}));
    let mut keyless = secret_user("u2");
    keyless["id"] = Value::Null;
    let mut missing = secret_user("u3");
    missing.as_object_mut().unwrap().remove("id");
    for bad in [keyless, missing] {
        let input = lines(&[
            record("users", secret_user("u1"), 1),
            state("users", json!({"n": 1})),
            record("users", bad, 2),
            state("users", json!({"n": 2})),
        ]);
        let r = write(&cfg, &cat, &input);
        assert_failed(&r, 3, "primary key field \"id\"", "system_error", 2);
    }
}

#[test]
fn a_value_of_the_wrong_type_is_nulled_and_recorded_not_fatal() {
    // Airbyte's rule: the row is kept, the value nulled, and `_airbyte_meta.changes` says so.
    let mut u = user("u1", "2024-01-01T00:00:00Z", "ACTIVE");
    u["loginCount"] = json!("many");
    let (r, rows) = write_one_user("bad-value-type", u);
    assert_eq!(rows.len(), 1);
    assert!(rows[0].get("loginCount").is_none());
    assert_eq!(
        rows[0]["_airbyte_meta"]["changes"][0]["field"],
        "loginCount"
    );
    assert!(r.stderr.contains("1 values nulled"), "{}", r.stderr);
}

#[test]
fn a_10_mb_record_is_loaded_whole() {
    let mut u = user("u1", "2024-01-01T00:00:00Z", "ACTIVE");
    let big = "x".repeat(10 * 1024 * 1024);
    u["profile"] = json!({"blob": big});
    let (_, rows) = write_one_user("big-record", u);
    assert_eq!(
        rows[0]["profile"]["blob"].as_str().unwrap().len(),
        big.len()
    );
}

#[test]
fn a_record_over_max_record_size_fails_without_reading_it_whole() {
    let (_dir, cfg, cat) = setup("big-record-limit", json!({"max_record_size_mb": 1}));
    let mut u = secret_user("u2");
    u["profile"] = json!({"blob": "x".repeat(10 * 1024 * 1024)});
    let input = lines(&[
        record("users", secret_user("u1"), 1),
        state("users", json!({"n": 1})),
        record("users", u, 2),
        state("users", json!({"n": 2})),
    ]);
    let r = write(&cfg, &cat, &input);
    assert_failed(&r, 3, "longer than 1048576 bytes", "system_error", 2);
}

fn singer(cfg: &str, input: &str) -> Run {
    run_bin(TARGET_BIN, &["--config", cfg], input)
}

fn singer_schema() -> String {
    json!({"type": "SCHEMA", "stream": "users", "schema": users_schema(), "key_properties": ["id"]})
        .to_string()
}

fn singer_record(id: &str) -> String {
    json!({"type": "RECORD", "stream": "users", "record": secret_user(id)}).to_string()
}

fn singer_state(n: i64) -> String {
    json!({"type": "STATE", "value": {"n": n}}).to_string()
}

/// Singer: no TRACE exists, so the error is one line on stderr; stdout holds only the committed states.
fn assert_singer_failed(r: &Run, line: u64, what: &str, acked: &[i64]) {
    assert_ne!(r.code, 0, "{}", r.stderr);
    let states: Vec<i64> = r.stdout.iter().map(|v| v["n"].as_i64().unwrap()).collect();
    assert_eq!(states, acked, "{}", r.stderr);
    let errors: Vec<&str> = r.stderr.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(errors.len(), 1, "{}", r.stderr);
    assert!(errors[0].contains(&format!("line {line}")), "{}", errors[0]);
    assert!(errors[0].contains(what), "{}", errors[0]);
    assert!(!r.stdout_raw.contains(MARKER) && !r.stderr.contains(MARKER));
}

#[test]
fn singer_record_before_schema_fails_with_its_line() {
    let (_dir, cfg, _) = setup("singer-before-schema", json!({}));
    let input = lines(&[
        singer_state(0),
        singer_record("u1"),
        singer_schema(),
        singer_state(1),
    ]);
    let r = singer(&cfg, &input);
    assert_singer_failed(&r, 2, "before the stream's SCHEMA", &[0]);
}

#[test]
fn singer_truncated_line_fails() {
    let (_dir, cfg, _) = setup("singer-truncated", json!({}));
    let rec = singer_record("u2");
    let input = lines(&[
        singer_schema(),
        singer_record("u1"),
        singer_state(1),
        rec[..rec.len() / 2].to_string(),
        singer_state(2),
    ]);
    let r = singer(&cfg, &input);
    assert_singer_failed(&r, 4, "truncated", &[1]);
}

#[test]
fn singer_null_key_fails() {
    let (_dir, cfg, _) = setup("singer-null-key", json!({}));
    let mut bad = secret_user("u2");
    bad["id"] = Value::Null;
    let input = lines(&[
        singer_schema(),
        singer_record("u1"),
        singer_state(1),
        json!({"type": "RECORD", "stream": "users", "record": bad}).to_string(),
        singer_state(2),
    ]);
    let r = singer(&cfg, &input);
    assert_singer_failed(&r, 4, "primary key field \"id\"", &[1]);
}
