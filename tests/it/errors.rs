//! Bad inputs: every one is exactly one TRACE error with the right failure type and a non-zero exit.

use crate::harness::{config_json, configured, read, run, sim, Dir};
use airbyte_protocol::FailureType;
use serde_json::json;

fn read_with(
    cfg: &std::path::Path,
    cat: &std::path::Path,
    state: Option<&std::path::Path>,
) -> crate::harness::Run {
    let mut args = vec![
        "read",
        "--config",
        cfg.to_str().unwrap(),
        "--catalog",
        cat.to_str().unwrap(),
    ];
    if let Some(s) = state {
        args.extend(["--state", s.to_str().unwrap()]);
    }
    run(&args)
}

#[test]
fn bad_config_catalog_and_state_files() {
    let sim = sim();
    let dir = Dir::new();
    let good_cfg = dir.write("config.json", &config_json(&sim));
    let good_cat = dir.write("catalog.json", &configured(&["users"], false));

    let not_json = dir.write_text("bad.json", "{not json");
    read_with(&not_json, &good_cat, None).failed_with(FailureType::ConfigError);
    let no_creds = dir.write("nocreds.json", &json!({"domain": "acme"}));
    read_with(&no_creds, &good_cat, None).failed_with(FailureType::ConfigError);
    read_with(&dir.0.path().join("missing.json"), &good_cat, None)
        .failed_with(FailureType::ConfigError);

    read_with(&good_cfg, &not_json, None).failed_with(FailureType::ConfigError);
    let unknown = dir.write(
        "unknown.json",
        &json!({"streams": [{"stream": {"name": "nope", "json_schema": {}},
        "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]}),
    );
    let msg = read_with(&good_cfg, &unknown, None).failed_with(FailureType::ConfigError);
    assert!(msg.contains("nope"), "{msg}");
    let bad_mode = dir.write(
        "mode.json",
        &json!({"streams": [{"stream": {"name": "users", "json_schema": {}},
        "sync_mode": "sometimes", "destination_sync_mode": "overwrite"}]}),
    );
    read_with(&good_cfg, &bad_mode, None).failed_with(FailureType::ConfigError);

    read_with(&good_cfg, &good_cat, Some(&not_json)).failed_with(FailureType::ConfigError);
    let bad_cursor = dir.write(
        "state.json",
        &json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"},
        "stream_state": {"lastUpdated": "last tuesday"}}}]),
    );
    let inc_cat = dir.write("inc.json", &configured(&["users"], true));
    let msg =
        read_with(&good_cfg, &inc_cat, Some(&bad_cursor)).failed_with(FailureType::ConfigError);
    assert!(msg.contains("lastUpdated"), "{msg}");
}

#[test]
fn a_revoked_token_is_one_config_error() {
    let sim = sim();
    sim.revoke_token();
    let run = read(&sim, &["users", "groups", "applications"], false, None);
    let msg = run.failed_with(FailureType::ConfigError);
    assert!(msg.contains("rejected"), "{msg}");
    run.assert_no_secret(&[&sim.api_token()]);
}

#[test]
fn no_secret_in_output_for_bad_configs() {
    let dir = Dir::new();
    let cfg = dir.write("c.json", &json!({"domain": "acme", "credentials": {"auth_type": "api_token", "api_token": 12345678901234i64}}));
    let cat = dir.write("cat.json", &configured(&["users"], false));
    let r = read_with(&cfg, &cat, None);
    r.failed_with(FailureType::ConfigError);
    assert!(!r.stdout.contains("12345678901234"));
    let cfg = dir.write("d.json", &json!({"base_url": "http://evil.example.com", "credentials": {"auth_type": "api_token", "api_token": "tok-123456789"}}));
    let r = read_with(&cfg, &cat, None);
    r.failed_with(FailureType::ConfigError);
    r.assert_no_secret(&["tok-123456789"]);
}
