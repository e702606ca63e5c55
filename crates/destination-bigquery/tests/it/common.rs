//! Helpers: run the binaries, build Airbyte/Singer message streams and catalogs, find the emulator.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_destination-bigquery");
pub const TARGET_BIN: &str = env!("CARGO_BIN_EXE_target-bigquery");

pub struct Run {
    pub code: i32,
    pub stdout: Vec<Value>,
    pub stdout_raw: String,
    pub stderr: String,
}

impl Run {
    pub fn of_type(&self, t: &str) -> Vec<&Value> {
        self.stdout.iter().filter(|m| m["type"] == t).collect()
    }
    pub fn states(&self) -> Vec<&Value> {
        self.of_type("STATE")
    }
}

/// Runs a binary with `args`, feeding `stdin`.
pub fn run_bin(bin: &str, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the destination");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_string();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(data.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let stdout_raw = String::from_utf8_lossy(&out.stdout).to_string();
    let stdout = stdout_raw
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}"))
        })
        .collect();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout,
        stdout_raw,
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    }
}

pub fn run(args: &[&str], stdin: &str) -> Run {
    run_bin(BIN, args, stdin)
}

/// A fresh folder under the system temp dir.
pub fn tmpdir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let p = std::env::temp_dir().join(format!("dbq-it-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&p).unwrap();
    p
}

pub fn write_json(dir: &Path, name: &str, v: &Value) -> String {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(v).unwrap()).unwrap();
    p.to_string_lossy().to_string()
}

/// A unique, valid dataset name for one test.
pub fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("it_{name}_{}", nanos % 10_000_000_000)
}

pub fn users_schema() -> Value {
    json!({"type": "object", "properties": {
        "id": {"type": "string"},
        "status": {"type": ["null", "string"]},
        "created": {"type": ["null", "string"], "format": "date-time"},
        "lastUpdated": {"type": "string", "format": "date-time"},
        "profile": {"type": ["null", "object"], "properties": {"login": {"type": "string"}}},
        "loginCount": {"type": ["null", "integer"]},
        "score": {"type": ["null", "number"]},
        "verified": {"type": ["null", "boolean"]},
        "birthday": {"type": ["null", "string"], "format": "date"},
        "groups": {"type": ["null", "array"], "items": {"type": "string"}}
    }})
}

pub fn groups_schema() -> Value {
    json!({"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"},
        "lastUpdated": {"type": "string", "format": "date-time"}}})
}

pub fn configured(name: &str, schema: Value, mode: &str, pk: &[&str], cursor: &[&str]) -> Value {
    json!({
        "stream": {"name": name, "json_schema": schema, "supported_sync_modes": ["full_refresh", "incremental"]},
        "sync_mode": if mode == "overwrite" { "full_refresh" } else { "incremental" },
        "destination_sync_mode": mode,
        "primary_key": pk.iter().map(|k| vec![*k]).collect::<Vec<_>>(),
        "cursor_field": cursor,
    })
}

pub fn catalog(streams: Vec<Value>) -> Value {
    json!({ "streams": streams })
}

pub fn record(stream: &str, data: Value, emitted_at: i64) -> String {
    json!({"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": emitted_at}})
        .to_string()
}

pub fn state(stream: &str, value: Value) -> String {
    json!({"type": "STATE", "state": {"type": "STREAM",
        "stream": {"stream_descriptor": {"name": stream}, "stream_state": value}}})
    .to_string()
}

/// A STREAM_STATUS trace of `stream` with `status` (STARTED, COMPLETE, INCOMPLETE).
pub fn stream_status(stream: &str, status: &str) -> String {
    json!({"type": "TRACE", "trace": {"type": "STREAM_STATUS", "emitted_at": 1.0,
        "stream_status": {"stream_descriptor": {"name": stream}, "status": status}}})
    .to_string()
}

pub fn user(id: &str, updated: &str, status: &str) -> Value {
    json!({"id": id, "status": status, "created": "2023-05-01T10:00:00.000Z", "lastUpdated": updated,
        "profile": {"login": format!("{id}@example.com"), "nested": {"a": [1, 2]}},
        "loginCount": 7, "score": 1.25, "verified": true, "birthday": "1990-02-03", "groups": ["g1", "g2"]})
}

pub fn lines(msgs: &[String]) -> String {
    let mut s = msgs.join("\n");
    s.push('\n');
    s
}

/// `settings` with the keys of `extra` added or replaced.
pub fn merged(mut settings: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        settings[k] = v.clone();
    }
    settings
}

/// Writes `dir/config.json`: `settings` in local mode, the load files under `dir/out`.
pub fn local_config(dir: &Path, settings: Value) -> String {
    let mut cfg = settings;
    cfg["loading_method"] = json!({"method": "Local", "path": dir.join("out")});
    write_json(dir, "config.json", &cfg)
}

/// Writes `dir/catalog.json` with `streams`.
pub fn write_catalog(dir: &Path, streams: Vec<Value>) -> String {
    write_json(dir, "catalog.json", &catalog(streams))
}

/// `users` deduplicated by `id`, `lastUpdated` as the cursor.
pub fn users_dedup() -> Value {
    configured(
        "users",
        users_schema(),
        "append_dedup",
        &["id"],
        &["lastUpdated"],
    )
}

/// Every JSON line of the files in `dir`, files in name order.
pub fn read_dir_rows(dir: &Path) -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect()
}
