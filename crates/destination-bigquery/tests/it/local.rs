//! Local mode: the exact load files and table schemas, per-table row counts, STATE echo (no BigQuery).

use crate::common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn local_demo_config(dir: &Path) -> String {
    local_config(dir, json!({"project_id": "demo", "dataset_id": "okta"}))
}

/// A local-mode folder whose catalog overwrites `groups` (key `id`): the folder, config and catalog.
fn overwrite_groups(name: &str) -> (PathBuf, String, String) {
    let dir = tmpdir(name);
    let cfg = local_demo_config(&dir);
    let cat = write_catalog(
        &dir,
        vec![configured(
            "groups",
            groups_schema(),
            "overwrite",
            &["id"],
            &[],
        )],
    );
    (dir, cfg, cat)
}

#[test]
fn writes_load_files_schemas_and_counts() {
    let dir = tmpdir("local-write");
    let cfg = local_demo_config(&dir);
    let cat = write_catalog(
        &dir,
        vec![
            configured("users", users_schema(), "append", &["id"], &["lastUpdated"]),
            configured("groups", groups_schema(), "overwrite", &["id"], &[]),
        ],
    );
    let mut msgs = vec![
        record(
            "users",
            user("u1", "2024-01-01T00:00:00.000Z", "ACTIVE"),
            1_704_067_200_000,
        ),
        record(
            "users",
            json!({"id": "u2", "lastUpdated": "2024-01-02T00:00:00Z", "loginCount": "many", "status": null}),
            1_704_067_200_000,
        ),
        state("users", json!({"lastUpdated": "2024-01-02T00:00:00Z"})),
    ];
    for i in 0..3 {
        msgs.push(record(
            "groups",
            json!({"id": format!("g{i}"), "name": "n", "lastUpdated": "2024-01-01T00:00:00Z"}),
            1,
        ));
    }
    msgs.push(state("groups", json!({})));
    let r = run(
        &["write", "--config", &cfg, "--catalog", &cat],
        &lines(&msgs),
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout_raw, r.stderr);
    let states = r.states();
    assert_eq!(states.len(), 2);
    assert_eq!(states[0]["state"]["destinationStats"]["recordCount"], 2.0);
    assert_eq!(states[1]["state"]["destinationStats"]["recordCount"], 3.0);
    assert_eq!(
        states[0]["state"]["stream"]["stream_state"]["lastUpdated"],
        "2024-01-02T00:00:00Z"
    );

    let out = dir.join("out/okta");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("users.schema.json")).unwrap())
            .unwrap();
    let fields: Vec<(String, String)> = schema["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_string(),
                f["type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (name, ty) in [
        ("_airbyte_raw_id", "STRING"),
        ("_airbyte_extracted_at", "TIMESTAMP"),
        ("_airbyte_meta", "JSON"),
        ("_airbyte_generation_id", "INT64"),
        ("id", "STRING"),
        ("created", "TIMESTAMP"),
        ("profile", "JSON"),
        ("loginCount", "INT64"),
        ("score", "NUMERIC"),
        ("verified", "BOOL"),
        ("birthday", "DATE"),
        ("groups", "JSON"),
    ] {
        assert!(
            fields.contains(&(name.to_string(), ty.to_string())),
            "{name} {ty} not in {fields:?}"
        );
    }
    assert_eq!(
        schema["timePartitioning"],
        json!({"type": "DAY", "field": "_airbyte_extracted_at"})
    );
    assert_eq!(
        schema["clustering"]["fields"],
        json!(["id", "_airbyte_extracted_at"])
    );

    let rows = read_dir_rows(&out.join("users"));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["profile"]["nested"]["a"], json!([1, 2]));
    assert_eq!(rows[0]["created"], "2023-05-01T10:00:00.000000Z");
    assert!(rows[1].get("loginCount").is_none());
    assert_eq!(
        rows[1]["_airbyte_meta"]["changes"][0]["field"],
        "loginCount"
    );
    assert_eq!(
        rows[1]["_airbyte_meta"]["changes"][0]["reason"],
        "DESTINATION_SERIALIZATION_ERROR"
    );
    assert_eq!(read_dir_rows(&out.join("groups")).len(), 3);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["tables"]["okta.users"]["rows_in_table"], 2);
    assert_eq!(summary["tables"]["okta.groups"]["mode"], "overwrite");
    assert_eq!(summary["tables"]["okta.groups"]["load_jobs"], 1);
    // The jobs log names the load job configurations that would run.
    let jobs = std::fs::read_to_string(out.join("users.jobs.jsonl")).unwrap();
    assert!(jobs.contains("NEWLINE_DELIMITED_JSON") && jobs.contains("WRITE_APPEND"));
    assert!(
        r.stderr
            .contains("okta.users (append): 2 rows loaded in 1 load jobs, 2 rows in table"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("okta.groups (overwrite): 3 rows loaded in 1 load jobs, 3 rows in table"),
        "{}",
        r.stderr
    );
}

#[test]
fn dedup_and_overwrite_across_runs() {
    let dir = tmpdir("local-runs");
    let cfg = local_demo_config(&dir);
    let cat = write_catalog(
        &dir,
        vec![
            users_dedup(),
            configured("groups", groups_schema(), "overwrite", &["id"], &[]),
        ],
    );
    let run1 = lines(&[
        record("users", user("u1", "2024-01-01T00:00:00Z", "STAGED"), 1),
        record("users", user("u2", "2024-01-01T00:00:00Z", "ACTIVE"), 1),
        record("groups", json!({"id": "g1", "name": "a"}), 1),
        record("groups", json!({"id": "g2", "name": "b"}), 1),
        state("users", json!({"cursor": 1})),
    ]);
    let r = run(&["write", "--config", &cfg, "--catalog", &cat], &run1);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let run2 = lines(&[
        record("users", user("u1", "2024-02-01T00:00:00Z", "ACTIVE"), 2),
        record("users", user("u3", "2024-02-01T00:00:00Z", "ACTIVE"), 2),
        record("groups", json!({"id": "g9", "name": "z"}), 2),
        state("users", json!({"cursor": 2})),
    ]);
    let r = run(&["write", "--config", &cfg, "--catalog", &cat], &run2);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.states().len(), 1);
    assert!(
        r.stderr
            .contains("okta.users (append_dedup): 2 rows loaded in 1 load jobs, 1 MERGE (0 bytes processed), 3 rows in table"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("okta.groups (overwrite): 1 rows loaded in 1 load jobs, 1 rows in table"),
        "{}",
        r.stderr
    );
    let jobs = std::fs::read_to_string(dir.join("out/okta/users.jobs.jsonl")).unwrap();
    assert!(
        jobs.contains("MERGE"),
        "dedup records the MERGE it would run"
    );
    let jobs = std::fs::read_to_string(dir.join("out/okta/groups.jobs.jsonl")).unwrap();
    assert!(
        jobs.contains("WRITE_TRUNCATE") && jobs.contains("\"copy\""),
        "overwrite swaps with a copy job"
    );
    // Temp tables are dropped.
    let raw: Vec<_> = std::fs::read_dir(dir.join("out/airbyte_internal"))
        .unwrap()
        .flatten()
        .collect();
    assert!(raw.is_empty(), "{raw:?}");
}

#[test]
fn added_column_is_recorded_in_the_schema() {
    let dir = tmpdir("local-add-column");
    let cfg = local_demo_config(&dir);
    let cat1 = write_json(
        &dir,
        "c1.json",
        &catalog(vec![configured(
            "groups",
            groups_schema(),
            "append",
            &[],
            &[],
        )]),
    );
    let r = run(
        &["write", "--config", &cfg, "--catalog", &cat1],
        &lines(&[record("groups", json!({"id": "g1"}), 1)]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut schema2 = groups_schema();
    schema2["properties"]["description"] = json!({"type": ["null", "string"]});
    let cat2 = write_json(
        &dir,
        "c2.json",
        &catalog(vec![configured("groups", schema2, "append", &[], &[])]),
    );
    let r = run(
        &["write", "--config", &cfg, "--catalog", &cat2],
        &lines(&[record("groups", json!({"id": "g2", "description": "d"}), 2)]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let schema = std::fs::read_to_string(dir.join("out/okta/groups.schema.json")).unwrap();
    assert!(schema.contains("\"description\""));
    let jobs = std::fs::read_to_string(dir.join("out/okta/groups.jobs.jsonl")).unwrap();
    assert!(
        jobs.contains("ADD COLUMN IF NOT EXISTS `description` STRING"),
        "{jobs}"
    );
}

#[test]
fn incompatible_type_change_stops_with_a_clear_message() {
    let dir = tmpdir("local-type-change");
    let cfg = local_demo_config(&dir);
    let s1 = json!({"properties": {"id": {"type": "string"}, "n": {"type": "integer"}}});
    let s2 = json!({"properties": {"id": {"type": "string"}, "n": {"type": "object"}}});
    let cat1 = write_json(
        &dir,
        "c1.json",
        &catalog(vec![configured("t", s1, "append", &[], &[])]),
    );
    let cat2 = write_json(
        &dir,
        "c2.json",
        &catalog(vec![configured("t", s2, "append", &[], &[])]),
    );
    assert_eq!(
        run(
            &["write", "--config", &cfg, "--catalog", &cat1],
            &lines(&[record("t", json!({"id": "a", "n": 1}), 1)])
        )
        .code,
        0
    );
    let r = run(
        &["write", "--config", &cfg, "--catalog", &cat2],
        &lines(&[record("t", json!({"id": "b", "n": {"x": 1}}), 2)]),
    );
    assert_ne!(r.code, 0);
    let t = r.of_type("TRACE");
    assert_eq!(t.len(), 1);
    let msg = t[0]["trace"]["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("okta.t.n") && msg.contains("INT64") && msg.contains("JSON"),
        "{msg}"
    );
    assert!(r.states().is_empty());
}

#[test]
fn singer_target_mode_echoes_state_values_after_commit() {
    let dir = tmpdir("local-singer");
    let cfg = write_json(
        &dir,
        "config.json",
        &json!({"dataset_id": "okta", "loading_method": "local",
        "local_path": dir.join("out")}),
    );
    let input = lines(&[
        json!({"type": "SCHEMA", "stream": "users", "schema": users_schema(), "key_properties": ["id"],
            "bookmark_properties": ["lastUpdated"]})
        .to_string(),
        json!({"type": "RECORD", "stream": "users", "record": user("u1", "2024-01-01T00:00:00Z", "ACTIVE")})
            .to_string(),
        json!({"type": "RECORD", "stream": "users", "record": user("u1", "2024-01-05T00:00:00Z", "SUSPENDED"),
            "time_extracted": "2024-03-01T00:00:00Z"})
        .to_string(),
        json!({"type": "STATE", "value": {"bookmarks": {"users": {"lastUpdated": "2024-01-05T00:00:00Z"}}}}).to_string(),
    ]);
    for bin in [TARGET_BIN, BIN] {
        let r = run_bin(bin, &["--config", &cfg], &input);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(
            r.stdout,
            vec![json!({"bookmarks": {"users": {"lastUpdated": "2024-01-05T00:00:00Z"}}})]
        );
        assert!(
            r.stderr.contains(
                "okta.users (append_dedup): 2 rows loaded in 1 load jobs, 1 MERGE (0 bytes processed), 1 rows in table"
            ),
            "{}",
            r.stderr
        );
    }
    // The table holds the winning row, with its `time_extracted`.
    let rows = read_dir_rows(&dir.join("out/okta/users"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status"], "SUSPENDED");
    assert_eq!(rows[0]["_airbyte_extracted_at"], "2024-03-01T00:00:00.000Z");
}

#[test]
fn singer_record_before_schema_fails() {
    let dir = tmpdir("local-singer-noschema");
    let cfg = write_json(
        &dir,
        "config.json",
        &json!({"dataset_id": "okta", "loading_method": "local",
        "local_path": dir.join("out")}),
    );
    let r = run_bin(
        TARGET_BIN,
        &["--config", &cfg],
        &lines(&[json!({"type": "RECORD", "stream": "users", "record": {"id": 1}}).to_string()]),
    );
    assert_ne!(r.code, 0);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr.contains("before the stream's SCHEMA"),
        "{}",
        r.stderr
    );
}

#[test]
fn no_state_is_echoed_for_an_overwrite_stream_the_source_did_not_complete() {
    let (dir, cfg, cat) = overwrite_groups("local-incomplete");
    let status = |s: &str| stream_status("groups", s);
    // Run 1 completes: the table holds g1.
    let r = run(
        &["write", "--config", &cfg, "--catalog", &cat],
        &lines(&[
            status("STARTED"),
            record("groups", json!({"id": "g1"}), 1),
            state("groups", json!({"p": 1})),
            status("COMPLETE"),
        ]),
    );
    assert_eq!(r.states().len(), 1, "{}", r.stderr);
    // Run 2 dies mid-stream: the old table stays, no state is echoed.
    let r = run(
        &["write", "--config", &cfg, "--catalog", &cat],
        &lines(&[
            status("STARTED"),
            record("groups", json!({"id": "g2"}), 2),
            state("groups", json!({"p": 2})),
            status("INCOMPLETE"),
        ]),
    );
    assert_eq!(r.code, 0);
    assert!(r.states().is_empty(), "{}", r.stdout_raw);
    let rows = read_dir_rows(&dir.join("out/okta/groups"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["id"], "g1");
}

#[test]
fn an_unfinished_overwrite_does_not_hold_back_other_streams_states() {
    let dir = tmpdir("local-state-order");
    let cfg = local_demo_config(&dir);
    let cat = write_catalog(
        &dir,
        vec![
            configured("groups", groups_schema(), "overwrite", &["id"], &[]),
            configured("users", users_schema(), "append", &["id"], &[]),
        ],
    );
    let r = run(
        &["write", "--config", &cfg, "--catalog", &cat],
        &lines(&[
            record("groups", json!({"id": "g1"}), 1),
            state("groups", json!({"g": 1})),
            record("users", user("u1", "2024-01-01T00:00:00Z", "ACTIVE"), 1),
            state("users", json!({"u": 1})),
            json!({"type": "STATE", "state": {"type": "GLOBAL", "global": {"shared_state": {"x": 1}, "stream_states": []}}})
                .to_string(),
        ]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let order: Vec<String> = r
        .stdout
        .iter()
        .filter_map(|m| match m["type"].as_str() {
            Some("STATE") => Some(format!(
                "state:{}",
                m["state"]["stream"]["stream_descriptor"]["name"]
                    .as_str()
                    .unwrap_or("global")
            )),
            Some("LOG")
                if m["log"]["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("replaced") =>
            {
                Some("swap".into())
            }
            _ => None,
        })
        .collect();
    // The users state goes out at once; the groups state waits for the swap; the global state waits for both.
    assert_eq!(
        order,
        ["state:users", "swap", "state:groups", "state:global"]
    );
}

#[test]
fn an_empty_input_does_not_wipe_an_overwrite_table() {
    let (dir, cfg, cat) = overwrite_groups("local-empty");
    let r = run(
        &["write", "--config", &cfg, "--catalog", &cat],
        &lines(&[record("groups", json!({"id": "g1"}), 1)]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(&["write", "--config", &cfg, "--catalog", &cat], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(read_dir_rows(&dir.join("out/okta/groups")).len(), 1);
    // With a COMPLETE status an empty stream does replace the table.
    let r = run(
        &["write", "--config", &cfg, "--catalog", &cat],
        &lines(&[stream_status("groups", "COMPLETE")]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(read_dir_rows(&dir.join("out/okta/groups")).len(), 0);
}
