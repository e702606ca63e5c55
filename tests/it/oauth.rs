//! OAuth 2.0 service app with `private_key_jwt`: one token per hour (not per call), DPoP when demanded,
//! and the private key never printed.

use crate::harness::{ids, read_cfg, repo_root, sim_with};
use serde_json::json;

fn key(name: &str) -> String {
    std::fs::read_to_string(
        repo_root()
            .join("crates/okta-sim/tests/fixtures")
            .join(name),
    )
    .unwrap()
}

fn oauth_sim(require_dpop: bool) -> okta_sim::SimServer {
    sim_with(|c| {
        c.oauth = Some(okta_sim::OAuthConfig {
            client_id: "0oaservice123".into(),
            public_key_pem: key("oauth_client_key.pub.pem"),
            require_dpop,
            token_lifetime_secs: 3600,
            scopes: vec![
                "okta.users.read".into(),
                "okta.groups.read".into(),
                "okta.apps.read".into(),
            ],
        });
    })
}

fn config(sim: &okta_sim::SimServer) -> serde_json::Value {
    json!({"base_url": sim.base_url(), "credentials": {"auth_type": "oauth2.0_private_key", "client_id": "0oaservice123",
        "key_id": "kid-1", "private_key": key("oauth_client_key.pem"),
        "scope": "okta.users.read okta.groups.read okta.apps.read"}})
}

fn token_requests(sim: &okta_sim::SimServer) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.path == "/oauth2/v1/token" && r.status == 200)
        .count()
}

#[test]
fn one_bearer_token_serves_the_whole_sync() {
    let sim = oauth_sim(false);
    let run = read_cfg(
        &config(&sim),
        &["users", "groups", "applications", "group_members"],
        false,
        None,
    )
    .ok();
    assert_eq!(ids(&run.records("users")), ids(&sim.users()));
    assert_eq!(token_requests(&sim), 1);
    assert!(sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .all(|r| r.auth_scheme == "Bearer"));
    let pem = key("oauth_client_key.pem");
    let secret_line = pem.lines().nth(1).unwrap();
    run.assert_no_secret(&[secret_line]);
}

#[test]
fn dpop_is_negotiated_when_the_app_requires_it() {
    let sim = oauth_sim(true);
    let run = read_cfg(&config(&sim), &["users", "applications"], false, None).ok();
    assert_eq!(ids(&run.records("applications")), ids(&sim.apps()));
    assert_eq!(token_requests(&sim), 1);
    assert!(sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .all(|r| r.auth_scheme == "DPoP"));
}

#[test]
fn a_missing_scope_skips_the_stream() {
    let sim = oauth_sim(false);
    let run = read_cfg(&config(&sim), &["users", "system_log"], false, None).ok();
    assert_eq!(
        run.statuses("system_log").last(),
        Some(&airbyte_protocol::StreamStatus::Incomplete)
    );
    assert!(!run.records("users").is_empty());
}

#[test]
fn a_wrong_key_fails_check_with_advice() {
    let sim = oauth_sim(false);
    let mut cfg = config(&sim);
    cfg["credentials"]["client_id"] = json!("0oaother");
    let dir = crate::harness::Dir::new();
    let p = dir.write("c.json", &cfg);
    let r = crate::harness::run(&["check", "--config", p.to_str().unwrap()]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("FAILED"), "{}", r.stdout);
}
