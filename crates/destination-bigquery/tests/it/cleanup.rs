//! Nothing is left behind after a failure: spool folders go on exit, on SIGTERM, and (after a kill -9) at the
//! next start; this run's temp tables are dropped when it fails, and a dead run's at the next start.

use crate::common::*;
use crate::emulator::{next_state, stdout_lines};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

struct Setup {
    dir: PathBuf,
    cfg: String,
    cat: String,
}

fn setup(name: &str) -> Setup {
    let dir = tmpdir(name);
    let cfg = local_config(
        &dir,
        json!({"project_id": "demo", "dataset_id": "okta", "buffer_dir": dir.join("spool"),
            "merge_interval_seconds": 0, "min_load_interval_seconds": 0}),
    );
    let cat = write_catalog(
        &dir,
        vec![
            users_dedup(),
            configured("groups", groups_schema(), "overwrite", &["id"], &[]),
        ],
    );
    Setup { dir, cfg, cat }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Temp tables in the local internal dataset.
fn temp_tables(s: &Setup) -> Vec<String> {
    entries(&s.dir.join("out/airbyte_internal"))
        .into_iter()
        .filter(|n| n.ends_with(".schema.json"))
        .collect()
}

fn some_records() -> Vec<String> {
    vec![
        record("groups", json!({"id": "g1", "name": "a"}), 1),
        record("users", user("u1", "2024-01-01T00:00:00Z", "ACTIVE"), 1),
        state("users", json!({"n": 1})),
    ]
}

#[test]
fn a_failed_run_removes_its_spool_folder_and_temp_tables() {
    let s = setup("cleanup-failed");
    let mut msgs = some_records();
    msgs.push(record("groups", json!({"id": "g2", "name": "b"}), 2));
    msgs.push("{\"type\":\"RECORD\",\"record\":{".to_string());
    let r = run(
        &["write", "--config", &s.cfg, "--catalog", &s.cat],
        &lines(&msgs),
    );
    assert_ne!(r.code, 0);
    assert_eq!(r.of_type("TRACE").len(), 1, "{}", r.stdout_raw);
    assert_eq!(entries(&s.dir.join("spool")), Vec::<String>::new());
    assert_eq!(temp_tables(&s), Vec::<String>::new());
}

/// Starts a `write` that is kept open and sends it [`some_records`]; returns the child, its stdout as
/// messages, and its stdin (open until dropped).
fn spawn_with_records(
    s: &Setup,
) -> (
    std::process::Child,
    std::sync::mpsc::Receiver<Value>,
    std::process::ChildStdin,
) {
    let mut child = Command::new(BIN)
        .args(["write", "--config", &s.cfg, "--catalog", &s.cat])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = stdout_lines(&mut child);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(lines(&some_records()).as_bytes()).unwrap();
    stdin.flush().unwrap();
    (child, rx, stdin)
}

#[test]
fn sigterm_stops_with_one_trace_error_and_cleans_up() {
    let s = setup("cleanup-sigterm");
    let (mut child, rx, stdin) = spawn_with_records(&s);
    // The STATE is out: the process is running its loop, with a spool folder and a temp table.
    next_state(&rx, Duration::from_secs(60)).expect("STATE");
    assert_eq!(entries(&s.dir.join("spool")).len(), 1);
    assert_eq!(
        temp_tables(&s).len(),
        2,
        "the dedup and overwrite temp tables"
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    let rest: Vec<Value> = rx.iter().collect();
    let traces: Vec<&Value> = rest.iter().filter(|m| m["type"] == "TRACE").collect();
    assert_eq!(traces.len(), 1, "{rest:?}");
    assert!(traces[0]["trace"]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("SIGTERM"));
    assert_eq!(
        traces[0]["trace"]["error"]["failure_type"],
        "transient_error"
    );
    assert!(rest.iter().all(|m| m["type"] != "STATE"));
    drop(stdin);
    assert_eq!(entries(&s.dir.join("spool")), Vec::<String>::new());
    assert_eq!(temp_tables(&s), Vec::<String>::new());
}

#[test]
fn the_next_run_removes_what_a_killed_run_left() {
    let s = setup("cleanup-kill9");
    let (mut child, rx, _stdin) = spawn_with_records(&s);
    next_state(&rx, Duration::from_secs(60)).expect("STATE");
    child.kill().unwrap();
    child.wait().unwrap();
    let spool = entries(&s.dir.join("spool"));
    assert_eq!(spool.len(), 1, "kill -9 leaves the spool folder");
    let temps = temp_tables(&s);
    assert_eq!(temps.len(), 2, "and the dedup and overwrite temp tables");
    // Make the dead run's temp tables look untouched for two hours.
    let tables: Vec<&str> = temps
        .iter()
        .map(|t| t.trim_end_matches(".schema.json"))
        .collect();
    for (file, table) in temps.iter().zip(&tables) {
        for p in [
            s.dir.join("out/airbyte_internal").join(file),
            s.dir.join("out/airbyte_internal").join(table),
        ] {
            if p.exists() {
                let ok = Command::new("touch")
                    .args(["-d", "2 hours ago"])
                    .arg(&p)
                    .status()
                    .unwrap();
                assert!(ok.success());
            }
        }
    }
    let r = run(
        &["write", "--config", &s.cfg, "--catalog", &s.cat],
        &lines(&some_records()),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(entries(&s.dir.join("spool")), Vec::<String>::new());
    assert_eq!(temp_tables(&s), Vec::<String>::new());
    for table in tables {
        let dropped = r
            .of_type("LOG")
            .iter()
            .filter(|m| {
                m["log"]["message"].as_str().is_some_and(|t| {
                    t.starts_with(&format!("dropping demo.airbyte_internal.{table}:"))
                })
            })
            .count();
        assert_eq!(dropped, 1, "{table}: {}", r.stdout_raw);
    }
}
