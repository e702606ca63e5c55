//! `check`: SUCCEEDED with good credentials, FAILED (exit 0) with bad ones, never a secret in the output.

use crate::harness::{config_json, run, sim, Dir};
use airbyte_protocol::{AirbyteMessage, ConnectionStatusKind, FailureType};
use serde_json::json;

fn check(cfg: &serde_json::Value) -> (crate::harness::Run, ConnectionStatusKind, String) {
    let dir = Dir::new();
    let p = dir.write("config.json", cfg);
    let r = run(&["check", "--config", p.to_str().unwrap()]);
    let statuses: Vec<_> = r
        .messages
        .iter()
        .filter_map(|m| match m {
            AirbyteMessage::ConnectionStatus { connection_status } => {
                Some(connection_status.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses.len(),
        1,
        "exactly one CONNECTION_STATUS; stdout:\n{}",
        r.stdout
    );
    assert_eq!(r.code, 0, "check exits 0; stderr:\n{}", r.stderr);
    let s = statuses[0].clone();
    (r, s.status, s.message.unwrap_or_default())
}

#[test]
fn good_credentials_succeed() {
    let sim = sim();
    let (_, status, msg) = check(&config_json(&sim));
    assert_eq!(status, ConnectionStatusKind::Succeeded, "{msg}");
}

#[test]
fn a_wrong_token_fails_with_advice_and_no_secret() {
    let sim = sim();
    let cfg = json!({"base_url": sim.base_url(), "credentials": {"auth_type": "api_token", "api_token": "wrong-token-123456"}});
    let (r, status, msg) = check(&cfg);
    assert_eq!(status, ConnectionStatusKind::Failed);
    assert!(msg.contains("API token"), "{msg}");
    r.assert_no_secret(&["wrong-token-123456"]);
}

#[test]
fn a_revoked_token_fails() {
    let sim = sim();
    sim.revoke_token();
    let (r, status, _) = check(&config_json(&sim));
    assert_eq!(status, ConnectionStatusKind::Failed);
    r.assert_no_secret(&[&sim.api_token()]);
}

#[test]
fn an_unreachable_org_fails() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = json!({"base_url": format!("http://127.0.0.1:{port}"), "max_retries": 0,
        "credentials": {"auth_type": "api_token", "api_token": "tok-abcdef"}});
    let (_, status, msg) = check(&cfg);
    assert_eq!(status, ConnectionStatusKind::Failed);
    assert!(msg.contains("reach"), "{msg}");
}

#[test]
fn an_invalid_config_fails_and_an_unreadable_one_is_a_config_error() {
    let (_, status, msg) = check(
        &json!({"domain": "acme", "credentials": {"auth_type": "nope", "api_token": "s3cret-value"}}),
    );
    assert_eq!(status, ConnectionStatusKind::Failed);
    assert!(!msg.contains("s3cret-value"));
    let r = run(&["check", "--config", "/nonexistent/config.json"]);
    r.failed_with(FailureType::ConfigError);
}

#[test]
fn check_names_the_streams_the_credentials_cannot_read() {
    let sim = sim();
    sim.add_fault(okta_sim::Fault {
        method: None,
        path_prefix: "/api/v1/iam/roles".into(),
        kind: okta_sim::FaultKind::Status(403),
        times: 100,
    });
    let (r, status, msg) = check(&config_json(&sim));
    assert_eq!(status, ConnectionStatusKind::Succeeded, "{msg}");
    assert!(msg.contains("custom_roles"), "{msg}");
    assert!(
        msg.contains("risk_providers"),
        "deprecated endpoint answers 404: {msg}"
    );
    assert!(!msg.contains("users ("), "{msg}");
    r.assert_no_secret(&[&sim.api_token()]);
}
