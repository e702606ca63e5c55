//! Every credential type against a loopback fake of Google's token, STS, IAM credentials and metadata
//! endpoints: the grant sent, the token used, retries on 5xx, and errors that never show a secret.

use crate::faults::{Fake, Handler, Req};
use destination_bigquery::auth::TokenProvider;
use destination_bigquery::config::Secret;
use destination_bigquery::error::{Category, Error};
use serde_json::{json, Value};
use std::sync::Arc;

fn form(req: &Req) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(&req.body)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn ok(token: &str) -> (u16, Vec<(String, String)>, String) {
    (
        200,
        vec![],
        json!({"access_token": token, "expires_in": 3600}).to_string(),
    )
}

fn unavailable() -> (u16, Vec<(String, String)>, String) {
    (503, vec![], json!({"error": "unavailable"}).to_string())
}

fn service_account(token_uri: &str) -> (Value, String) {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let pk = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
    let pem = pk.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
    (
        json!({"type": "service_account", "client_email": "sa@p.iam.gserviceaccount.com",
            "private_key": pem, "token_uri": token_uri}),
        pem,
    )
}

async fn token(creds: &Value) -> Result<String, Error> {
    let p = TokenProvider::from_json(&Secret::new(creds.to_string()))?;
    p.token().await.map(|t| t.unwrap().expose().to_string())
}

#[tokio::test]
async fn service_account_token_requests_are_retried_on_503() {
    let fake = Fake::start(Arc::new(
        |_: &Req, n| if n <= 2 { unavailable() } else { ok("sa-tok") },
    ))
    .await;
    let (key, _) = service_account(&format!("{}/token", fake.base));
    assert_eq!(token(&key).await.unwrap(), "sa-tok");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3);
    let f = form(&reqs[2]);
    assert_eq!(
        f["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    let claims = f["assertion"].split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["scope"], "https://www.googleapis.com/auth/bigquery");
}

#[tokio::test]
async fn a_token_endpoint_that_stays_down_is_a_transient_error() {
    let fake = Fake::start(Arc::new(|_: &Req, _| unavailable())).await;
    let (key, pem) = service_account(&format!("{}/token", fake.base));
    let e = token(&key).await.unwrap_err();
    assert_eq!(e.category(), Category::Transient, "{e}");
    assert!(e.to_string().contains("gave up after 5 attempts"), "{e}");
    assert_eq!(fake.requests().len(), 5);
    assert!(!e.to_string().contains(&pem[40..80]));
}

#[tokio::test]
async fn a_refused_grant_fails_at_once_as_an_auth_error() {
    let fake = Fake::start(Arc::new(|_: &Req, _| {
        (400, vec![], json!({"error": "invalid_grant"}).to_string())
    }))
    .await;
    let (key, _) = service_account(&format!("{}/token", fake.base));
    let e = token(&key).await.unwrap_err();
    assert_eq!(e.category(), Category::Auth, "{e}");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn authorized_user_uses_the_refresh_grant() {
    let fake = Fake::start(Arc::new(|_: &Req, _| ok("user-tok"))).await;
    let creds = json!({"type": "authorized_user", "client_id": "cid", "client_secret": "csecret",
        "refresh_token": "rtok", "token_uri": format!("{}/token", fake.base)});
    assert_eq!(token(&creds).await.unwrap(), "user-tok");
    let f = form(&fake.requests()[0]);
    assert_eq!(f["grant_type"], "refresh_token");
    assert_eq!(f["refresh_token"], "rtok");
    assert_eq!(f["client_id"], "cid");
}

#[tokio::test]
async fn external_account_with_a_file_subject_token_exchanges_it_at_sts() {
    let fake = Fake::start(Arc::new(|_: &Req, _| ok("sts-tok"))).await;
    let dir = crate::common::tmpdir("auth-external-file");
    let subject = dir.join("token.txt");
    std::fs::write(&subject, "subject-jwt\n").unwrap();
    let creds = json!({"type": "external_account",
        "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": format!("{}/v1/token", fake.base),
        "credential_source": {"file": subject}});
    assert_eq!(token(&creds).await.unwrap(), "sts-tok");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, "/v1/token");
    let f = form(&reqs[0]);
    assert_eq!(
        f["grant_type"],
        "urn:ietf:params:oauth:grant-type:token-exchange"
    );
    assert_eq!(f["subject_token"], "subject-jwt");
    assert_eq!(
        f["subject_token_type"],
        "urn:ietf:params:oauth:token-type:jwt"
    );
    assert!(f["audience"].ends_with("/providers/x"));
    assert_eq!(f["scope"], "https://www.googleapis.com/auth/bigquery");
}

#[tokio::test]
async fn external_account_with_a_url_subject_token_and_impersonation() {
    let handler: Handler = Arc::new(|req: &Req, _| match req.path.as_str() {
        "/subject" if req.header("X-Flavor") == Some("oidc") => {
            (200, vec![], json!({"id_token": "url-subject"}).to_string())
        }
        "/subject" => (403, vec![], "{}".into()),
        "/sts" => ok("sts-tok"),
        "/impersonate" if req.header("Authorization") == Some("Bearer sts-tok") => (
            200,
            vec![],
            json!({"accessToken": "imp-tok", "expireTime": "2099-01-01T00:00:00Z"}).to_string(),
        ),
        _ => (401, vec![], "{}".into()),
    });
    let fake = Fake::start(handler).await;
    let creds = json!({"type": "external_account", "audience": "aud",
        "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
        "token_url": format!("{}/sts", fake.base),
        "service_account_impersonation_url": format!("{}/impersonate", fake.base),
        "credential_source": {"url": format!("{}/subject", fake.base), "headers": {"X-Flavor": "oidc"},
            "format": {"type": "json", "subject_token_field_name": "id_token"}}});
    assert_eq!(token(&creds).await.unwrap(), "imp-tok");
    let reqs = fake.requests();
    let paths: Vec<&str> = reqs.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/subject", "/sts", "/impersonate"]);
    let f = form(&reqs[1]);
    assert_eq!(f["subject_token"], "url-subject");
    assert_eq!(f["scope"], "https://www.googleapis.com/auth/cloud-platform");
    let body: Value = serde_json::from_slice(&reqs[2].body).unwrap();
    assert_eq!(
        body["scope"],
        json!(["https://www.googleapis.com/auth/bigquery"])
    );
}

#[tokio::test]
async fn impersonated_service_account_uses_its_source_credentials() {
    let handler: Handler = Arc::new(|req: &Req, _| match req.path.as_str() {
        "/token" => ok("source-tok"),
        "/impersonate" if req.header("Authorization") == Some("Bearer source-tok") => (
            200,
            vec![],
            json!({"accessToken": "target-tok", "expireTime": "2099-01-01T00:00:00Z"}).to_string(),
        ),
        _ => (401, vec![], "{}".into()),
    });
    let fake = Fake::start(handler).await;
    let creds = json!({"type": "impersonated_service_account",
        "service_account_impersonation_url": format!("{}/impersonate", fake.base),
        "delegates": ["projects/-/serviceAccounts/d@p.iam.gserviceaccount.com"],
        "source_credentials": {"type": "authorized_user", "client_id": "c", "client_secret": "s",
            "refresh_token": "r", "token_uri": format!("{}/token", fake.base)}});
    assert_eq!(token(&creds).await.unwrap(), "target-tok");
    let reqs = fake.requests();
    let body: Value = serde_json::from_slice(&reqs[1].body).unwrap();
    assert_eq!(
        body["delegates"],
        json!(["projects/-/serviceAccounts/d@p.iam.gserviceaccount.com"])
    );
}

#[tokio::test]
async fn the_metadata_server_is_asked_with_its_header_and_retried() {
    let fake = Fake::start(Arc::new(|req: &Req, n| {
        if req.header("Metadata-Flavor") != Some("Google") {
            (403, vec![], "{}".into())
        } else if n == 1 {
            unavailable()
        } else {
            ok("md-tok")
        }
    }))
    .await;
    let host = fake.base.trim_start_matches("http://").to_string();
    let p = TokenProvider::metadata(Some(host));
    assert_eq!(p.token().await.unwrap().unwrap().expose(), "md-tok");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[1]
        .path
        .starts_with("/computeMetadata/v1/instance/service-accounts/default/token"));
}

#[tokio::test]
async fn unsupported_and_malformed_credentials_are_config_errors_without_secrets() {
    let aws = json!({"type": "external_account", "audience": "a", "subject_token_type": "t",
        "token_url": "http://127.0.0.1:1/sts", "credential_source": {"environment_id": "aws1"}});
    let e = token(&aws).await.unwrap_err();
    assert_eq!(e.category(), Category::Config, "{e}");
    let bad = json!({"type": "impersonated_service_account", "source_credentials": {"refresh_token": "hunter2"}});
    let e = token(&bad).await.unwrap_err();
    assert_eq!(e.category(), Category::Config, "{e}");
    assert!(!e.to_string().contains("hunter2"));
}
