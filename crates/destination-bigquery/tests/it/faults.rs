//! Fault injection against a scripted loopback HTTP server standing in for BigQuery and Google's token
//! endpoint: retries on 503, job errors reported with HTTP 200, one TRACE error and no STATE on a failed load,
//! and service-account tokens fetched once and sent as bearer tokens.

use crate::common::*;
use destination_bigquery::auth::TokenProvider;
use destination_bigquery::client::{BigQuery, RetryPolicy};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub type Handler = Arc<dyn Fn(&Req, usize) -> (u16, Vec<(String, String)>, String) + Send + Sync>;

/// A one-request-per-connection HTTP/1.1 server on 127.0.0.1; records every request.
pub struct Fake {
    pub base: String,
    pub log: Arc<Mutex<Vec<Req>>>,
}

impl Fake {
    pub async fn start(handler: Handler) -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let log: Arc<Mutex<Vec<Req>>> = Arc::default();
        let log2 = log.clone();
        let base2 = base.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let handler = handler.clone();
                let log = log2.clone();
                let base = base2.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut tmp = [0u8; 65536];
                    let head_end = loop {
                        let n = sock.read(&mut tmp).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&tmp[..n]);
                        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break p + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let mut lines = head.split("\r\n");
                    let first: Vec<&str> = lines.next().unwrap_or_default().split(' ').collect();
                    let headers: Vec<(String, String)> = lines
                        .filter_map(|l| {
                            l.split_once(':')
                                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                        })
                        .collect();
                    let len: usize = headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        let n = sock.read(&mut tmp).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&tmp[..n]);
                    }
                    let req = Req {
                        method: first.first().unwrap_or(&"").to_string(),
                        path: first.get(1).unwrap_or(&"").to_string(),
                        headers,
                        body: buf[head_end..].to_vec(),
                    };
                    let n = {
                        let mut l = log.lock().unwrap();
                        l.push(req.clone());
                        l.len()
                    };
                    let (status, extra, body) = handler(&req, n);
                    let mut resp = format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                        body.len()
                    );
                    for (k, v) in extra {
                        resp.push_str(&format!("{k}: {}\r\n", v.replace("{base}", &base)));
                    }
                    resp.push_str("Content-Type: application/json\r\n\r\n");
                    resp.push_str(&body);
                    let _ = sock.write_all(resp.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Fake { base, log }
    }

    pub fn requests(&self) -> Vec<Req> {
        self.log.lock().unwrap().clone()
    }
}

fn quick() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
        max_elapsed: Duration::from_secs(10),
    }
}

#[tokio::test]
async fn query_retries_503_then_succeeds() {
    let fake = Fake::start(Arc::new(|_req, n| {
        if n <= 2 {
            (
                503,
                vec![],
                json!({"error": {"code": 503, "message": "backend unavailable"}}).to_string(),
            )
        } else {
            (
                200,
                vec![],
                json!({"jobComplete": true, "rows": [{"f": [{"v": "1"}]}]}).to_string(),
            )
        }
    }))
    .await;
    let mut bq = BigQuery::new(&fake.base, "p", "US", Arc::new(TokenProvider::none())).unwrap();
    bq.retry = quick();
    let rows = bq.query_rows("SELECT 1").await.unwrap();
    assert_eq!(rows, vec![vec![json!("1")]]);
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn persistent_503_gives_up_with_the_attempt_count() {
    let fake = Fake::start(Arc::new(|_req, _| (503, vec![], "{}".to_string()))).await;
    let mut bq = BigQuery::new(&fake.base, "p", "US", Arc::new(TokenProvider::none())).unwrap();
    bq.retry = quick();
    let e = bq.query("SELECT 1").await.unwrap_err();
    assert!(e.to_string().starts_with("gave up after 4 attempts"), "{e}");
    assert_eq!(fake.requests().len(), 4);
}

#[tokio::test]
async fn query_errors_in_a_200_answer_fail() {
    let fake = Fake::start(Arc::new(|_req, _| {
        (200, vec![], json!({"jobComplete": true, "errors": [{"reason": "invalidQuery", "message": "Syntax error at 1:1"}]}).to_string())
    }))
    .await;
    let bq = BigQuery::new(&fake.base, "p", "US", Arc::new(TokenProvider::none())).unwrap();
    let e = bq.query("SELEC 1").await.unwrap_err();
    assert!(e.to_string().contains("Syntax error"), "{e}");
}

/// A fake BigQuery for a whole `write`: the load job ends DONE with `errorResult` when `fail_load` is set.
fn bigquery(fail_load: bool, seen_auth: Arc<Mutex<Vec<String>>>) -> Handler {
    Arc::new(move |req: &Req, _| {
        if let Some(a) = req.header("authorization") {
            seen_auth.lock().unwrap().push(a.to_string());
        }
        let p = req.path.as_str();
        if p == "/token" {
            let body = String::from_utf8_lossy(&req.body).to_string();
            assert!(
                body.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"),
                "{body}"
            );
            return (
                200,
                vec![],
                json!({"access_token": "tok-1", "expires_in": 3599, "token_type": "Bearer"})
                    .to_string(),
            );
        }
        match req.method.as_str() {
            "GET" if p.contains("/datasets/") && !p.contains("/tables/") => {
                (200, vec![], json!({"datasetReference": {"datasetId": "okta"}, "location": "US"}).to_string())
            }
            "GET" if p.contains("/tables/") => (404, vec![], json!({"error": {"code": 404, "errors": [{"reason": "notFound"}]}}).to_string()),
            "POST" if p.ends_with("/tables") => (200, vec![], "{}".to_string()),
            "POST" if p.contains("uploadType=resumable") => {
                (200, vec![("Location".to_string(), "{base}/upload/session/1".to_string())], String::new())
            }
            "PUT" if p.starts_with("/upload/session/") => {
                let status = if fail_load {
                    json!({"state": "DONE", "errorResult": {"reason": "invalid", "message": "Error while reading data: bad row 3"}})
                } else {
                    json!({"state": "DONE"})
                };
                (200, vec![], json!({"jobReference": {"jobId": "j1", "location": "US"}, "status": status,
                    "statistics": {"load": {"outputRows": "2"}}}).to_string())
            }
            "DELETE" => (204, vec![], String::new()),
            _ => (404, vec![], json!({"error": {"code": 404, "message": format!("unexpected {} {p}", req.method)}}).to_string()),
        }
    })
}

/// Writes [`write_input`] through the fake at `base` (project `p`, dataset `okta`, loads at once, plus
/// `extra` settings) into `users`, appended by `id`, from a blocking task.
async fn write_to_fake(name: &str, base: &str, extra: Value) -> Run {
    let dir = tmpdir(name);
    let cfg = write_json(
        &dir,
        "config.json",
        &merged(
            json!({"project_id": "p", "dataset_id": "okta", "endpoint": base,
                "min_load_interval_seconds": 0}),
            extra,
        ),
    );
    let cat = write_catalog(
        &dir,
        vec![configured("users", users_schema(), "append", &["id"], &[])],
    );
    tokio::task::spawn_blocking(move || {
        run(
            &["write", "--config", &cfg, "--catalog", &cat],
            &write_input(),
        )
    })
    .await
    .unwrap()
}

/// A service-account key with a fresh RSA key whose `token_uri` is the fake at `base`.
fn service_account_key(base: &str) -> Value {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let pk = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
    json!({"type": "service_account", "client_email": "sa@p.iam.gserviceaccount.com", "project_id": "p",
        "private_key": pk.to_pkcs8_pem(LineEnding::LF).unwrap().as_str(), "token_uri": format!("{base}/token")})
}

fn write_input() -> String {
    lines(&[
        record("users", user("u1", "2024-01-01T00:00:00Z", "ACTIVE"), 1),
        record("users", user("u2", "2024-01-01T00:00:00Z", "ACTIVE"), 1),
        state("users", json!({"c": 1})),
    ])
}

#[tokio::test]
async fn a_load_job_failing_with_http_200_is_one_trace_error_and_no_state() {
    let fake = Fake::start(bigquery(true, Arc::default())).await;
    let r = write_to_fake("fault-load", &fake.base, json!({})).await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.states().is_empty(),
        "no STATE after a failed load: {}",
        r.stdout_raw
    );
    let traces = r.of_type("TRACE");
    assert_eq!(traces.len(), 1);
    let msg = traces[0]["trace"]["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("bad row 3") && msg.contains("invalid"),
        "{msg}"
    );
}

#[tokio::test]
async fn service_account_tokens_are_fetched_once_and_sent_as_bearer() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let fake = Fake::start(bigquery(false, seen.clone())).await;
    let key = service_account_key(&fake.base);
    // A loopback endpoint *with* a key still authenticates.
    let r = write_to_fake(
        "fault-token",
        &fake.base,
        json!({"credentials_json": key.to_string()}),
    )
    .await;
    assert_eq!(r.code, 0, "{}\n{}", r.stdout_raw, r.stderr);
    assert_eq!(r.states().len(), 1);
    let token_requests = fake
        .requests()
        .iter()
        .filter(|q| q.path == "/token")
        .count();
    assert_eq!(token_requests, 1, "the token is cached");
    let seen = seen.lock().unwrap();
    assert!(seen.len() >= 4, "{seen:?}");
    assert!(seen.iter().all(|a| a == "Bearer tok-1"), "{seen:?}");
    assert!(!r.stdout_raw.contains("PRIVATE KEY") && !r.stderr.contains("PRIVATE KEY"));
}

#[tokio::test]
async fn a_load_whose_job_already_exists_is_awaited_not_repeated() {
    // The first upload's answer was lost; the retried request finds the job by its derived id (409) and
    // waits for it instead of loading the file a second time.
    let fake = Fake::start(Arc::new(|req: &Req, _| {
        let p = req.path.as_str();
        match req.method.as_str() {
            "POST" if p.contains("uploadType=resumable") => {
                (200, vec![("Location".to_string(), "{base}/upload/session/1".to_string())], String::new())
            }
            "PUT" => (409, vec![], json!({"error": {"code": 409, "message": "Already Exists: Job p:US.job-7",
                "errors": [{"reason": "duplicate"}]}}).to_string()),
            "GET" if p.contains("/jobs/job-7") => (200, vec![], json!({"jobReference": {"jobId": "job-7", "location": "US"},
                "status": {"state": "DONE"}, "statistics": {"load": {"outputRows": "3"}}}).to_string()),
            _ => (404, vec![], json!({"error": {"code": 404, "message": format!("unexpected {} {p}", req.method)}}).to_string()),
        }
    }))
    .await;
    let dir = tmpdir("fault-409");
    let file = dir.join("batch.ndjson");
    std::fs::write(&file, "{}\n{}\n{}\n").unwrap();
    let bq = BigQuery::new(&fake.base, "p", "US", Arc::new(TokenProvider::none())).unwrap();
    let t = destination_bigquery::sql::TableRef::new("p", "d", "t");
    let stats = bq
        .load_file(&t, &json!({"fields": []}), &file, "job-7", "WRITE_APPEND")
        .await
        .unwrap();
    assert_eq!(stats.output_rows, 3);
    let reqs = fake.requests();
    let puts = reqs.iter().filter(|r| r.method == "PUT").count();
    assert_eq!(puts, 1, "the bytes are sent once");
    let start: serde_json::Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(
        start["jobReference"]["jobId"], "job-7",
        "the job id is the caller's, so retries collide"
    );
    assert!(reqs.iter().any(|r| r
        .path
        .starts_with("/bigquery/v2/projects/p/jobs/job-7?location=US")));
}

#[tokio::test]
async fn a_401_on_an_upload_fetches_a_new_token_once() {
    let inner = bigquery(false, Arc::default());
    let refused = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let fake = Fake::start(Arc::new(move |req: &Req, n| {
        if req.path.contains("uploadType=resumable")
            && !refused.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return (
                401,
                vec![],
                json!({"error": {"code": 401, "message": "expired",
                "errors": [{"reason": "authError"}]}})
                .to_string(),
            );
        }
        inner(req, n)
    }))
    .await;
    let key = service_account_key(&fake.base);
    let r = write_to_fake(
        "fault-401",
        &fake.base,
        json!({"credentials_json": key.to_string()}),
    )
    .await;
    assert_eq!(r.code, 0, "{}\n{}", r.stdout_raw, r.stderr);
    assert_eq!(r.states().len(), 1);
    let reqs = fake.requests();
    let tokens = reqs.iter().filter(|q| q.path == "/token").count();
    assert_eq!(tokens, 2, "the refused token is replaced once");
    let uploads = reqs
        .iter()
        .filter(|q| q.path.contains("uploadType=resumable"))
        .count();
    assert_eq!(uploads, 2);
}
