//! spec, check and error handling (no emulator needed).

use crate::common::*;
use serde_json::json;

#[test]
fn spec_is_valid_and_marks_the_key_secret() {
    let r = run(&["spec"], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.len(), 1);
    let spec = &r.stdout[0]["spec"]["connectionSpecification"];
    assert_eq!(
        spec["properties"]["credentials_json"]["airbyte_secret"],
        true
    );
    for key in [
        "project_id",
        "dataset_id",
        "dataset_location",
        "raw_data_dataset",
        "loading_method",
        "endpoint",
    ] {
        assert!(
            spec["properties"].get(key).is_some(),
            "{key} missing from the spec"
        );
    }
    for variant in spec["properties"]["loading_method"]["oneOf"]
        .as_array()
        .unwrap()
    {
        assert!(variant["properties"]["method"].get("const").is_some());
    }
    let modes = &r.stdout[0]["spec"]["supported_destination_sync_modes"];
    assert!(modes.as_array().unwrap().contains(&json!("append_dedup")));
}

#[test]
fn check_local_mode_succeeds() {
    let dir = tmpdir("check-local");
    let cfg = local_config(&dir, json!({"dataset_id": "okta"}));
    let r = run(&["check", "--config", &cfg], "");
    assert_eq!(r.code, 0);
    assert_eq!(
        r.stdout[0]["connectionStatus"]["status"], "SUCCEEDED",
        "{}",
        r.stdout_raw
    );
}

#[test]
fn check_with_bad_credentials_fails_cleanly_without_leaking_them() {
    let dir = tmpdir("check-bad");
    let cfg = write_json(
        &dir,
        "config.json",
        &json!({"project_id": "p", "dataset_id": "okta",
        "credentials_json": "{\"client_email\":\"x@y\",\"private_key\":\"supersecretvalue\"}",
        "endpoint": "http://127.0.0.1:9"}),
    );
    let r = run(&["check", "--config", &cfg], "");
    assert_eq!(
        r.code, 0,
        "check reports failures in CONNECTION_STATUS, exit 0"
    );
    assert_eq!(r.stdout.len(), 1);
    assert_eq!(r.stdout[0]["connectionStatus"]["status"], "FAILED");
    assert!(!r.stdout_raw.contains("supersecretvalue") && !r.stderr.contains("supersecretvalue"));
}

#[test]
fn check_unreachable_endpoint_fails() {
    let dir = tmpdir("check-unreachable");
    let cfg = write_json(
        &dir,
        "config.json",
        &json!({"project_id": "p", "dataset_id": "okta",
        "endpoint": "http://127.0.0.1:9"}),
    );
    let r = run(&["check", "--config", &cfg], "");
    assert_eq!(r.stdout[0]["connectionStatus"]["status"], "FAILED");
}

#[test]
fn unknown_stream_is_one_trace_error_and_nonzero_exit() {
    let dir = tmpdir("unknown-stream");
    let cfg = local_config(&dir, json!({"dataset_id": "okta"}));
    let cat = write_catalog(
        &dir,
        vec![configured("users", users_schema(), "append", &[], &[])],
    );
    let r = run(
        &["write", "--config", &cfg, "--catalog", &cat],
        &lines(&[record("nope", json!({"a": 1}), 1)]),
    );
    assert_ne!(r.code, 0);
    let traces = r.of_type("TRACE");
    assert_eq!(traces.len(), 1, "{}", r.stdout_raw);
    assert_eq!(traces[0]["trace"]["type"], "ERROR");
    assert!(traces[0]["trace"]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("nope"));
    assert_eq!(traces[0]["trace"]["error"]["failure_type"], "config_error");
}

#[test]
fn dedup_without_primary_key_is_a_config_error() {
    let dir = tmpdir("dedup-nopk");
    let cfg = local_config(&dir, json!({"dataset_id": "okta"}));
    let cat = write_catalog(
        &dir,
        vec![configured(
            "users",
            users_schema(),
            "append_dedup",
            &[],
            &[],
        )],
    );
    let r = run(&["write", "--config", &cfg, "--catalog", &cat], "");
    assert_ne!(r.code, 0);
    assert_eq!(r.of_type("TRACE").len(), 1);
}

#[test]
fn invalid_config_is_a_trace_error() {
    let dir = tmpdir("bad-config");
    let cfg = write_json(&dir, "config.json", &json!({"project_id": "p"}));
    let cat = write_catalog(&dir, vec![]);
    let r = run(&["write", "--config", &cfg, "--catalog", &cat], "");
    assert_ne!(r.code, 0);
    let t = r.of_type("TRACE");
    assert_eq!(t.len(), 1);
    assert!(t[0]["trace"]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("dataset_id"));
}
