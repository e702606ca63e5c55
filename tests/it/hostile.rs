//! Hostile and broken servers (issue 11): a scripted HTTP server on 127.0.0.1 (not the simulator's happy
//! path) and simulator faults, each outcome asserted on the exit code, the statuses, the TRACE error, peak
//! memory where it matters, and every output grepped for the secrets.

use crate::harness::{
    config_json, configured, ids, parse_messages, read, read_cfg, run, run_env, sim, sim_with,
    state_file, Dir, Run, BIN, TAP_BIN,
};
use airbyte_protocol::{AirbyteMessage, ConnectionStatusKind, FailureType, StreamStatus};
use okta_sim::{Fault, FaultKind};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const TOKEN: &str = "hostile-secret-token-1234";

// ---- the scripted server ---------------------------------------------------------------------------

/// One request as the scripted server saw it.
pub struct Req {
    /// Path and query.
    pub target: String,
    /// Which request this is (0-based) since the server started.
    pub n: usize,
}

pub enum Body {
    Bytes(Vec<u8>),
    /// A chunked body that never ends (until the client hangs up).
    Endless,
}

pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
}

impl Reply {
    fn new(status: u16, body: Body) -> Self {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body,
        }
    }

    fn json(status: u16, v: &Value) -> Self {
        Self::new(status, Body::Bytes(v.to_string().into_bytes()))
    }

    fn header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.to_string(), v.into()));
        self
    }
}

type Handler = dyn Fn(&Req) -> Reply + Send + Sync;

/// A raw HTTP/1.1 server on 127.0.0.1 answering every request with the script; one connection per
/// request (`Connection: close`).
pub struct Hostile {
    pub port: u16,
    hits: Arc<AtomicUsize>,
}

impl Hostile {
    pub fn start(handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        let h = hits.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (handler, h) = (handler.clone(), h.clone());
                std::thread::spawn(move || serve(conn, &*handler, &h));
            }
        });
        Hostile { port, hits }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn config(&self) -> Value {
        json!({"base_url": self.base_url(), "max_retries": 1,
            "credentials": {"auth_type": "api_token", "api_token": TOKEN}})
    }
}

fn serve(mut conn: TcpStream, handler: &Handler, hits: &AtomicUsize) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
        match conn.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head);
    let target = text.split_whitespace().nth(1).unwrap_or("/").to_string();
    let n = hits.fetch_add(1, Ordering::SeqCst);
    let reply = handler(&Req { target, n });
    let mut out = format!("HTTP/1.1 {} X\r\nconnection: close\r\n", reply.status);
    for (k, v) in &reply.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    match reply.body {
        Body::Bytes(b) => {
            if !reply.headers.iter().any(|(k, _)| k == "content-length") {
                out.push_str(&format!("content-length: {}\r\n", b.len()));
            }
            out.push_str("\r\n");
            let _ = conn.write_all(out.as_bytes());
            let _ = conn.write_all(&b);
        }
        Body::Endless => {
            out.push_str("transfer-encoding: chunked\r\n\r\n");
            let _ = conn.write_all(out.as_bytes());
            let chunk = vec![b' '; 64 * 1024];
            loop {
                let mut c = format!("{:x}\r\n", chunk.len()).into_bytes();
                c.extend_from_slice(&chunk);
                c.extend_from_slice(b"\r\n");
                if conn.write_all(&c).is_err() {
                    return;
                }
            }
        }
    }
    let _ = conn.flush();
}

/// A gzip body of `len` spaces, built by hand (fixed-Huffman deflate: one literal, then copies of 258
/// bytes at distance 1), so a gigabyte costs a few MB on the wire and no time to compress. The trailer's
/// CRC is not computed: a reader that respects its cap stops long before it.
fn gzip_bomb(len: usize) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u32,
        n: u32,
    }
    impl Bits {
        fn put(&mut self, value: u32, count: u32) {
            // Deflate packs bits from the least significant end.
            for i in 0..count {
                self.acc |= ((value >> i) & 1) << self.n;
                self.n += 1;
                if self.n == 8 {
                    self.out.push(self.acc as u8);
                    self.acc = 0;
                    self.n = 0;
                }
            }
        }
        /// Huffman codes go most significant bit first.
        fn code(&mut self, code: u32, count: u32) {
            for i in (0..count).rev() {
                self.put((code >> i) & 1, 1);
            }
        }
    }
    let mut b = Bits {
        out: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff],
        acc: 0,
        n: 0,
    };
    b.put(1, 1); // final block
    b.put(1, 2); // fixed Huffman
    b.code(0x30 + u32::from(b' '), 8); // literal ' '
    for _ in 0..(len - 1) / 258 {
        b.code(0b1100_0101, 8); // length code 285 = 258 bytes
        b.code(0, 5); // distance code 0 = 1 byte back
    }
    b.code(0, 7); // end of block
    b.put(0, 7);
    b.out.extend_from_slice(&[0; 8]);
    b.out
}

// ---- helpers -----------------------------------------------------------------------------------------

fn users_page(ids: &[&str]) -> Value {
    Value::Array(
        ids.iter()
            .map(|id| {
                json!({"id": id, "status": "ACTIVE", "lastUpdated": "2024-01-01T00:00:00.000Z",
                "profile": {"login": format!("{id}@example.com")}})
            })
            .collect(),
    )
}

/// The peak RSS the connector reports in its end-of-sync summary, in MiB.
fn peak_rss_mib(run: &Run) -> u64 {
    let kib: u64 = run
        .stderr
        .split("peak_rss_kib=")
        .nth(1)
        .and_then(|s| {
            s.split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or_else(|| panic!("no peak_rss_kib in stderr:\n{}", run.stderr));
    kib / 1024
}

fn last_status(run: &Run, stream: &str) -> Option<StreamStatus> {
    run.statuses(stream).last().copied()
}

fn check_status(cfg: &Value) -> (Run, ConnectionStatusKind, String) {
    let dir = Dir::new();
    let p = dir.write("config.json", cfg);
    let r = run(&["check", "--config", p.to_str().unwrap()]);
    let status = r
        .messages
        .iter()
        .find_map(|m| match m {
            AirbyteMessage::ConnectionStatus { connection_status } => {
                Some(connection_status.clone())
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no CONNECTION_STATUS; stdout:\n{}", r.stdout));
    assert_eq!(r.code, 0, "check exits 0; stderr:\n{}", r.stderr);
    (r, status.status, status.message.unwrap_or_default())
}

fn discover(cfg: &Value) -> Run {
    let dir = Dir::new();
    let p = dir.write("config.json", cfg);
    run(&["discover", "--config", p.to_str().unwrap()])
}

/// A port on 127.0.0.1 that accepts nothing but records whether anyone tried.
struct Trap(TcpListener);

impl Trap {
    fn new() -> Self {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        Trap(l)
    }

    fn port(&self) -> u16 {
        self.0.local_addr().unwrap().port()
    }

    fn assert_untouched(&self) {
        assert!(self.0.accept().is_err(), "a connection reached the trap");
    }
}

// ---- 1. completeness ---------------------------------------------------------------------------------

/// Every fan-out stream with the path of its parent list.
const FAN_OUTS: &[(&str, &str)] = &[
    ("user_factors", "/api/v1/users"),
    ("user_role_assignments", "/api/v1/iam/assignees/users"),
    ("group_owners", "/api/v1/groups"),
    ("group_role_assignments", "/api/v1/groups"),
    ("application_users", "/api/v1/apps"),
    ("application_groups", "/api/v1/apps"),
    ("device_users", "/api/v1/devices"),
    ("user_schemas", "/api/v1/meta/types/user"),
    ("app_user_schemas", "/api/v1/apps"),
    ("custom_role_permissions", "/api/v1/iam/roles"),
    ("resource_set_resources", "/api/v1/iam/resource-sets"),
    ("policy_rules", "/api/v1/policies"),
    (
        "authorization_server_scopes",
        "/api/v1/authorizationServers",
    ),
    (
        "authorization_server_claims",
        "/api/v1/authorizationServers",
    ),
    (
        "authorization_server_policies",
        "/api/v1/authorizationServers",
    ),
    ("brand_themes", "/api/v1/brands"),
    ("email_templates", "/api/v1/brands"),
];

#[test]
fn a_forbidden_parent_never_leaves_a_child_complete() {
    let sim = sim();
    for (_, parent) in FAN_OUTS {
        sim.add_fault(Fault::new(*parent, FaultKind::Status(403)).times(100_000));
    }
    let mut streams: Vec<&str> = FAN_OUTS.iter().map(|(c, _)| *c).collect();
    streams.extend(["policies", "org"]);
    let run = read(&sim, &streams, false, None).ok();
    for (child, parent) in FAN_OUTS {
        assert_eq!(
            last_status(&run, child),
            Some(StreamStatus::Incomplete),
            "{child} (parent {parent} answered 403)"
        );
    }
    // The case: policies 403 must not turn policy_rules into a "complete, 0 rows" table.
    assert_eq!(
        last_status(&run, "policies"),
        Some(StreamStatus::Incomplete)
    );
    assert!(run.records("policy_rules").is_empty());
    assert!(
        run.logs()
            .iter()
            .any(|l| l.contains("policy_rules") && l.contains("parent list policies")),
        "the reason is logged with the INCOMPLETE status: {:?}",
        run.logs()
    );
    // A readable stream beside them is still complete and the sync succeeds.
    assert_eq!(last_status(&run, "org"), Some(StreamStatus::Complete));
    run.assert_no_secret(&[&sim.api_token()]);
}

#[test]
fn one_forbidden_policy_type_makes_policies_and_rules_incomplete() {
    let sim = sim();
    // Only the first page of one type is denied: the others are read, but the stream is not complete.
    sim.add_fault(Fault::new("/api/v1/policies", FaultKind::Status(403)));
    let run = read(&sim, &["policies", "org"], false, None).ok();
    assert!(
        !run.records("policies").is_empty(),
        "readable types are read"
    );
    assert_eq!(
        last_status(&run, "policies"),
        Some(StreamStatus::Incomplete)
    );
    assert!(run.states("policies").is_empty(), "no final STATE");
    // The same for the child: one type of its parent list denied.
    sim.add_fault(Fault::new("/api/v1/policies", FaultKind::Status(403)));
    let run = read(&sim, &["policy_rules", "org"], false, None).ok();
    assert_eq!(
        last_status(&run, "policy_rules"),
        Some(StreamStatus::Incomplete)
    );
}

#[test]
fn a_sync_where_every_stream_is_forbidden_fails_as_a_whole() {
    let sim = sim();
    sim.add_fault(Fault::new("/api", FaultKind::Status(403)).times(100_000));
    let run = read(&sim, &["users", "groups", "applications"], false, None);
    let msg = run.failed_with(FailureType::ConfigError);
    assert!(msg.contains("no selected stream could be read"), "{msg}");
    run.assert_no_secret(&[&sim.api_token()]);
}

#[test]
fn a_server_that_is_not_okta_fails_the_sync() {
    let h = Hostile::start(|_| {
        Reply::new(404, Body::Bytes(b"<html>not here</html>".to_vec()))
            .header("content-type", "text/html")
    });
    let run = read_cfg(&h.config(), &["users", "groups", "org"], false, None);
    run.failed_with(FailureType::ConfigError);
    run.assert_no_secret(&[TOKEN]);
}

// ---- 2. bounded waits --------------------------------------------------------------------------------

fn far_reset_headers(reply: Reply, with_date: bool) -> Reply {
    let now = std::time::SystemTime::now();
    let reset = now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 86_400;
    let reply = reply
        .header("x-rate-limit-limit", "600")
        .header("x-rate-limit-remaining", "0")
        .header("x-rate-limit-reset", reset.to_string());
    if with_date {
        reply.header("date", httpdate::fmt_http_date(now))
    } else {
        reply
    }
}

#[test]
fn a_reset_a_day_ahead_fails_with_what_okta_asked_for() {
    // A 200 that says the window is used up until tomorrow, then a 429 that says the same.
    for status in [200, 429] {
        let h = Hostile::start(move |r| {
            let body = users_page(&[&format!("00u{}", r.n)]);
            let reply = Reply::json(status, &body).header(
                "link",
                format!("</api/v1/users?after={}>; rel=\"next\"", r.n),
            );
            far_reset_headers(reply, true)
        });
        let mut cfg = h.config();
        cfg["max_rate_limit_wait_seconds"] = json!(5);
        let run = read_cfg(&cfg, &["users"], false, None);
        let msg = run.failed_with(FailureType::TransientError);
        assert!(msg.contains("max_rate_limit_wait_seconds"), "{msg}");
        assert!(msg.contains("8640") || msg.contains("8639"), "{msg}");
        assert!(h.hits() <= 2, "{status}: {} requests", h.hits());
        run.assert_no_secret(&[TOKEN]);
    }
}

#[test]
fn check_does_not_hang_on_a_far_reset() {
    let h = Hostile::start(|_| far_reset_headers(Reply::json(429, &json!({})), true));
    let mut cfg = h.config();
    cfg["max_rate_limit_wait_seconds"] = json!(5);
    let (r, status, msg) = check_status(&cfg);
    assert_eq!(status, ConnectionStatusKind::Failed, "{msg}");
    assert!(msg.contains("max_rate_limit_wait_seconds"), "{msg}");
    r.assert_no_secret(&[TOKEN]);
}

// ---- 3. bounded bodies -------------------------------------------------------------------------------

#[test]
fn a_gzip_bomb_stops_at_the_cap_and_memory_stays_low() {
    // 1 GiB of spaces in about 6.6 MB of gzip.
    let bomb = Arc::new(gzip_bomb(1 << 30));
    let b = bomb.clone();
    let h = Hostile::start(move |_| {
        Reply::new(200, Body::Bytes(b.to_vec())).header("content-encoding", "gzip")
    });
    let run = read_cfg(&h.config(), &["users"], false, None);
    let msg = run.failed_with(FailureType::SystemError);
    assert!(msg.contains("max_response_mb (64 MB)"), "{msg}");
    let peak = peak_rss_mib(&run);
    eprintln!("gzip bomb (1 GiB inflated, default cap 64 MB): peak RSS {peak} MiB");
    assert!(peak < 200, "peak RSS {peak} MiB for a 1 GiB gzip bomb");
    assert_eq!(h.hits(), 1, "a body over the cap is not fetched again");
    run.assert_no_secret(&[TOKEN]);
}

#[test]
fn an_endless_body_stops_at_the_configured_cap() {
    let h = Hostile::start(|_| Reply::new(200, Body::Endless));
    let mut cfg = h.config();
    cfg["max_response_mb"] = json!(2);
    let run = read_cfg(&cfg, &["users"], false, None);
    let msg = run.failed_with(FailureType::SystemError);
    assert!(msg.contains("max_response_mb (2 MB)"), "{msg}");
    let peak = peak_rss_mib(&run);
    eprintln!("endless chunked body (cap 2 MB): peak RSS {peak} MiB");
    assert!(peak < 100, "peak RSS {peak} MiB");
    run.assert_no_secret(&[TOKEN]);
    // A declared length over the cap fails before reading anything.
    let h = Hostile::start(|_| {
        Reply::new(200, Body::Bytes(Vec::new())).header("content-length", "10000000000")
    });
    let run = read_cfg(&h.config(), &["users"], false, None);
    let msg = run.failed_with(FailureType::SystemError);
    assert!(msg.contains("max_response_mb"), "{msg}");
}

// ---- 4. no secret in any error -----------------------------------------------------------------------

const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgHostileSecretKeyMaterial\nhRANCAAEhostileSecretKeyMaterialLine2xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n-----END PRIVATE KEY-----\n";

/// Configs with every field of the wrong type (or URL syntax hiding a password), each carrying a secret.
fn poisoned_configs() -> Vec<Value> {
    let creds = json!({"auth_type": "api_token", "api_token": TOKEN});
    let base = |k: &str, v: Value| {
        let mut c = json!({"domain": "acme", "credentials": creds.clone()});
        c[k] = v;
        c
    };
    let mut out = vec![
        json!({"domain": "acme", "credentials": TOKEN}),
        json!({"domain": "acme", "credentials": [TOKEN]}),
        json!({"domain": "acme", "credentials": PEM}),
        json!({"domain": "acme", "credentials": 12345678987654321u64}),
        json!({"domain": "acme", "credentials": {"auth_type": "api_token", "api_token": [TOKEN]}}),
        json!({"domain": "acme", "credentials": {"auth_type": "api_token", "api_token": {"t": TOKEN}}}),
        json!({"domain": "acme", "credentials": {"auth_type": TOKEN, "api_token": TOKEN}}),
        json!({"domain": "acme", "credentials": {"auth_type": "oauth2.0_private_key", "client_id": [TOKEN], "private_key": PEM}}),
        json!({"domain": "acme", "credentials": {"auth_type": "oauth2.0_private_key", "client_id": "c", "private_key": [PEM]}}),
        json!({"domain": "acme", "credentials": {"auth_type": "oauth2.0_private_key", "client_id": "c", "private_key": PEM, "scope": [TOKEN]}}),
        json!({"domain": "acme", "credentials": {"auth_type": "oauth2.0", "client_id": "c", "client_secret": {"s": TOKEN}, "refresh_token": TOKEN}}),
        json!({"domain": "acme", "credentials": {"auth_type": "oauth2.0", "client_id": "c", "client_secret": TOKEN, "refresh_token": 1234567898765u64}}),
        json!({"domain": format!("admin:{TOKEN}@acme.okta.com"), "credentials": creds.clone()}),
        json!({"base_url": format!("https://admin:{TOKEN}@acme.okta.com"), "credentials": creds.clone()}),
        json!({"base_url": format!("ftp://admin:{TOKEN}@acme.okta.com/"), "credentials": creds.clone()}),
    ];
    for (k, v) in [
        ("domain", json!([TOKEN])),
        ("base_url", json!({"u": TOKEN})),
        ("start_date", json!([TOKEN])),
        ("rate_limit_share", json!(TOKEN)),
        ("max_concurrency", json!(TOKEN)),
        ("request_timeout_seconds", json!(TOKEN)),
        ("max_retries", json!(TOKEN)),
        ("max_rate_limit_wait_seconds", json!(TOKEN)),
        ("max_response_mb", json!(TOKEN)),
        ("asa", json!(TOKEN)),
        (
            "asa",
            json!({"team": [TOKEN], "key_id": "k", "key_secret": TOKEN}),
        ),
        (
            "asa",
            json!({"team": "t", "key_id": {"k": TOKEN}, "key_secret": TOKEN}),
        ),
        (
            "asa",
            json!({"team": "t", "key_id": "k", "key_secret": [TOKEN]}),
        ),
        (
            "asa",
            json!({"team": "t", "key_id": "k", "key_secret": TOKEN, "base_url": [TOKEN]}),
        ),
    ] {
        out.push(base(k, v));
    }
    out
}

fn assert_clean(r: &Run, what: &str) {
    for needle in [
        TOKEN,
        "HostileSecretKeyMaterial",
        "12345678987654321",
        "1234567898765",
    ] {
        assert!(
            !r.stdout.contains(needle) && !r.stderr.contains(needle),
            "{what}: a secret was printed\nstdout:\n{}\nstderr:\n{}",
            r.stdout,
            r.stderr
        );
    }
}

#[test]
fn no_config_error_prints_a_secret_in_any_command() {
    let dir = Dir::new();
    let cat = dir.write("catalog.json", &configured(&["users"], false));
    for (i, cfg) in poisoned_configs().into_iter().enumerate() {
        let p = dir.write(&format!("c{i}.json"), &cfg);
        let p = p.to_str().unwrap();
        let what = format!("config {cfg}");
        let (r, status, _) = check_status(&cfg);
        assert_eq!(status, ConnectionStatusKind::Failed, "{what}");
        assert_clean(&r, &what);
        let r = run(&["discover", "--config", p]);
        r.failed_with(FailureType::ConfigError);
        assert_clean(&r, &what);
        let r = run(&["read", "--config", p, "--catalog", cat.to_str().unwrap()]);
        r.failed_with(FailureType::ConfigError);
        assert_clean(&r, &what);
        for args in [vec!["--config", p, "--discover"], vec!["--config", p]] {
            let r = run_env(TAP_BIN, &args, &[]);
            assert_ne!(r.code, 0, "tap-okta {args:?} with {what}");
            assert_clean(&r, &what);
        }
    }
}

// ---- 5. pagination must progress ---------------------------------------------------------------------

#[test]
fn new_cursors_over_the_same_records_stop_with_an_error() {
    let port = Arc::new(AtomicUsize::new(0));
    let p = port.clone();
    let h = Hostile::start(move |r| {
        Reply::json(200, &users_page(&["00u1", "00u2", "00u3"])).header(
            "link",
            format!(
                "<http://127.0.0.1:{}/api/v1/users?after=c{}>; rel=\"next\"",
                p.load(Ordering::SeqCst),
                r.n
            ),
        )
    });
    port.store(usize::from(h.port), Ordering::SeqCst);
    let run = read_cfg(&h.config(), &["users"], false, None);
    let msg = run.failed_with(FailureType::SystemError);
    assert!(msg.contains("no progress"), "{msg}");
    assert!(h.hits() <= 5, "{} requests", h.hits());
    run.assert_no_secret(&[TOKEN]);
    assert!(
        run.states("users").is_empty(),
        "no STATE for an endless list"
    );
    assert_eq!(last_status(&run, "users"), Some(StreamStatus::Incomplete));
}

#[test]
fn a_next_link_seen_before_is_an_error_not_the_end() {
    let port = Arc::new(AtomicUsize::new(0));
    let p = port.clone();
    // Two pages pointing at each other.
    let h = Hostile::start(move |r| {
        let (ids, next) = if r.target.contains("after=b") {
            (["00u3", "00u4"], "a")
        } else {
            (["00u1", "00u2"], "b")
        };
        Reply::json(200, &users_page(&ids)).header(
            "link",
            format!(
                "<http://127.0.0.1:{}/api/v1/users?after={next}>; rel=\"next\"",
                p.load(Ordering::SeqCst)
            ),
        )
    });
    port.store(usize::from(h.port), Ordering::SeqCst);
    let run = read_cfg(&h.config(), &["users"], false, None);
    let msg = run.failed_with(FailureType::SystemError);
    assert!(msg.contains("no progress"), "{msg}");
    assert!(h.hits() <= 6, "{} requests", h.hits());
    run.assert_no_secret(&[TOKEN]);
}

// ---- 6. the smaller ones -----------------------------------------------------------------------------

fn closed_stdout_exit(bin: &str, args: &[&str]) -> (Option<i32>, String) {
    let mut child = std::process::Command::new(bin)
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_exits_quietly_and_non_zero_in_both_binaries() {
    let sim = sim_with(|c| c.users = 2000);
    let dir = Dir::new();
    let cfg = dir.write("config.json", &config_json(&sim));
    let cat = dir.write("catalog.json", &configured(&["users"], false));
    let (code, stderr) = closed_stdout_exit(
        BIN,
        &[
            "read",
            "--config",
            cfg.to_str().unwrap(),
            "--catalog",
            cat.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(141), "{stderr}");
    assert!(
        !stderr.contains("ERROR") && !stderr.contains("panicked"),
        "{stderr}"
    );
    let (code, stderr) = closed_stdout_exit(TAP_BIN, &["--config", cfg.to_str().unwrap()]);
    assert_eq!(code, Some(141), "{stderr}");
    assert!(
        !stderr.contains("ERROR") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

#[test]
fn a_rejected_system_log_next_restarts_from_the_saved_time_minus_the_overlap() {
    let sim = sim();
    let first = read(&sim, &["system_log"], true, None).ok();
    let saved = first.last_state("system_log");
    let published = saved["published"].as_str().unwrap().to_string();
    let all = first.records("system_log").len();
    assert!(all > 0);
    for bad_next in [
        "/api/v1/logs?after=garbage&limit=1000",
        "/api/v1/users?after=x",
        "https://evil.example.com/api/v1/logs?after=x",
        "::not a link::",
    ] {
        sim.clear_requests();
        let state = state_file(&[(
            "system_log",
            json!({"published": published, "next": bad_next}),
        )]);
        let run = read(&sim, &["system_log"], true, Some(&state)).ok();
        assert_eq!(
            last_status(&run, "system_log"),
            Some(StreamStatus::Complete),
            "{bad_next}"
        );
        let new_state = run.last_state("system_log");
        assert!(new_state["next"].as_str().is_some_and(|n| n != bad_next));
        let t = chrono::DateTime::parse_from_rfc3339(&published).unwrap()
            - chrono::Duration::minutes(15);
        let want = t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        assert!(
            sim.requests()
                .iter()
                .any(|r| r.path == "/api/v1/logs" && r.query.contains(&want.replace(':', "%3A"))),
            "{bad_next}: a restart at {want}: {:?}",
            sim.requests().iter().map(|r| &r.query).collect::<Vec<_>>()
        );
        assert!(
            sim.requests().iter().all(|r| r.path == "/api/v1/logs"),
            "{bad_next}: only System Log requests"
        );
    }
}

#[test]
fn a_future_start_date_is_refused_and_a_future_cursor_ignored() {
    let sim = sim();
    let mut cfg = config_json(&sim);
    cfg["start_date"] = json!("2999-01-01T00:00:00Z");
    let (_, status, msg) = check_status(&cfg);
    assert_eq!(status, ConnectionStatusKind::Failed);
    assert!(msg.contains("future"), "{msg}");
    let run = read_cfg(&cfg, &["users"], true, None);
    run.failed_with(FailureType::ConfigError);

    let state = state_file(&[
        (
            "users",
            json!({"lastUpdated": "2999-01-01T00:00:00.000Z", "recent": {}}),
        ),
        (
            "system_log",
            json!({"published": "2999-01-01T00:00:00.000Z"}),
        ),
    ]);
    let run = read(&sim, &["users", "system_log"], true, Some(&state)).ok();
    assert_eq!(ids(&run.records("users")), ids(&sim.users()));
    assert!(!run.records("system_log").is_empty());
    assert!(run.stderr.contains("in the future"), "{}", run.stderr);
    let saved = run.last_state("users");
    assert!(
        saved["lastUpdated"].as_str().is_some_and(|c| c < "2999"),
        "{saved}"
    );
}

#[test]
fn a_redirect_to_another_origin_is_refused_and_one_on_the_origin_followed() {
    let trap = Trap::new();
    let to = format!("http://127.0.0.1:{}/api/v1/users", trap.port());
    let h = Hostile::start(move |r| {
        if r.target.starts_with("/api/v1/org-moved") {
            Reply::json(200, &json!({"id": "00o1", "subdomain": "acme"}))
        } else if r.target.starts_with("/api/v1/org") {
            Reply::new(307, Body::Bytes(Vec::new())).header("location", "/api/v1/org-moved")
        } else {
            Reply::new(302, Body::Bytes(Vec::new())).header("location", to.clone())
        }
    });
    let run = read_cfg(&h.config(), &["org"], false, None).ok();
    assert_eq!(run.records("org").len(), 1);
    let run = read_cfg(&h.config(), &["users"], false, None);
    let msg = run.failed_with(FailureType::SystemError);
    assert!(msg.contains("redirect to another origin"), "{msg}");
    assert!(run.records("users").is_empty());
    trap.assert_untouched();
    run.assert_no_secret(&[TOKEN]);
}

#[test]
fn url_syntax_in_domain_never_reaches_another_host() {
    let trap = Trap::new();
    for domain in [
        format!("acme.okta.com@127.0.0.1:{}", trap.port()),
        format!("acme.okta.com\\@127.0.0.1:{}", trap.port()),
        format!("127.0.0.1:{}/x?", trap.port()),
    ] {
        let cfg = json!({"domain": domain,
            "credentials": {"auth_type": "api_token", "api_token": TOKEN}});
        let (r, status, msg) = check_status(&cfg);
        assert_eq!(status, ConnectionStatusKind::Failed, "{domain}");
        assert!(msg.contains("domain must be a host name"), "{msg}");
        r.assert_no_secret(&[TOKEN]);
    }
    trap.assert_untouched();
}

#[test]
fn an_untrusted_certificate_is_a_config_error_at_the_first_attempt() {
    let root = crate::harness::repo_root().join("tests/fixtures/hostile");
    let cert = rustls::pki_types::CertificateDer::from(
        std::fs::read(root.join("self-signed.der")).unwrap(),
    );
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(
        std::fs::read(root.join("self-signed.key.der"))
            .unwrap()
            .into(),
    );
    let tls = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handshakes = Arc::new(AtomicUsize::new(0));
    let hs = handshakes.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            hs.fetch_add(1, Ordering::SeqCst);
            let tls = tls.clone();
            std::thread::spawn(move || {
                let mut s =
                    rustls::StreamOwned::new(rustls::ServerConnection::new(tls).unwrap(), conn);
                let _ = s.read(&mut [0u8; 1024]);
            });
        }
    });
    let cfg = json!({"base_url": format!("https://127.0.0.1:{port}"), "max_retries": 5,
        "credentials": {"auth_type": "api_token", "api_token": TOKEN}});
    let run = read_cfg(&cfg, &["users"], false, None);
    let msg = run.failed_with(FailureType::ConfigError);
    assert!(msg.contains("SSL_CERT_FILE"), "{msg}");
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    assert_eq!(handshakes.load(Ordering::SeqCst), 1, "no retry: {msg}");
    run.assert_no_secret(&[TOKEN]);
    let d = discover(&cfg);
    d.failed_with(FailureType::ConfigError);
}

#[test]
fn an_unreachable_host_is_named_with_its_port() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = json!({"base_url": format!("http://127.0.0.1:{port}"), "max_retries": 0,
        "credentials": {"auth_type": "api_token", "api_token": TOKEN}});
    let run = read_cfg(&cfg, &["users"], false, None);
    let msg = run.failed_with(FailureType::TransientError);
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    let d = discover(&cfg);
    let msg = d.failed_with(FailureType::ConfigError);
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    d.assert_no_secret(&[TOKEN]);
    let (_, status, msg) = check_status(&cfg);
    assert_eq!(status, ConnectionStatusKind::Failed);
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
}

#[test]
fn a_field_of_the_wrong_type_names_the_stream_the_field_and_the_key() {
    let h = Hostile::start(|_| {
        Reply::json(
            200,
            &json!([{"id": "00u1", "lastUpdated": "2024-01-01T00:00:00.000Z"},
                {"id": "00u2", "lastUpdated": 1_704_067_200_000u64}]),
        )
    });
    let run = read_cfg(&h.config(), &["users"], true, None);
    let msg = run.failed_with(FailureType::SystemError);
    for part in ["users", "lastUpdated", "00u2", "a number"] {
        assert!(msg.contains(part), "{part}: {msg}");
    }
    run.assert_no_secret(&[TOKEN]);
}

#[test]
fn okta_error_codes_appear_once() {
    let sim = sim();
    sim.revoke_token();
    let run = read(&sim, &["users"], false, None);
    let msg = run.failed_with(FailureType::ConfigError);
    assert_eq!(msg.matches("E0000011").count(), 1, "{msg}");
    let (_, _, msg) = check_status(&config_json(&sim));
    assert_eq!(msg.matches("E0000011").count(), 1, "{msg}");
}

#[test]
fn the_legacy_airbyte_config_is_migrated() {
    let sim = sim();
    let cfg = json!({"base_url": sim.base_url(), "token": sim.api_token()});
    let run = read_cfg(&cfg, &["users"], false, None).ok();
    assert_eq!(ids(&run.records("users")), ids(&sim.users()));
    run.assert_no_secret(&[&sim.api_token()]);
}

#[test]
fn singer_config_messages_use_the_keys_the_user_wrote() {
    let dir = Dir::new();
    let p = dir.write("flat.json", &json!({"domain": "acme"}));
    let r = run_env(
        TAP_BIN,
        &["--config", p.to_str().unwrap(), "--discover"],
        &[],
    );
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("`api_token`"), "{}", r.stderr);
    assert!(!r.stderr.contains("missing field"), "{}", r.stderr);
    let p = dir.write("flat2.json", &json!({"domain": "acme", "api_token": 42}));
    let r = run_env(
        TAP_BIN,
        &["--config", p.to_str().unwrap(), "--discover"],
        &[],
    );
    assert!(
        r.stderr.contains("`api_token` must be a string"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("credentials"), "{}", r.stderr);
}

#[test]
fn discover_fails_on_bad_credentials_but_falls_back_without_schema_permission() {
    let sim = sim();
    let mut cfg = config_json(&sim);
    cfg["credentials"]["api_token"] = json!("wrong-token-5678");
    let d = discover(&cfg);
    d.failed_with(FailureType::ConfigError);
    d.assert_no_secret(&["wrong-token-5678"]);

    sim.add_fault(Fault::new("/api/v1/meta", FaultKind::Status(403)).times(100));
    let d = discover(&config_json(&sim));
    assert_eq!(d.code, 0, "{}", d.stderr);
    let catalog = parse_messages(&d.stdout)
        .into_iter()
        .find_map(|m| match m {
            AirbyteMessage::Catalog { catalog } => Some(catalog),
            _ => None,
        })
        .expect("a CATALOG");
    assert!(catalog.streams.iter().any(|s| s.name == "users"));
}

#[test]
fn a_parent_without_a_usable_key_is_never_skipped_silently() {
    let h = Hostile::start(|r| {
        if r.target.starts_with("/api/v1/iam/roles?") || r.target == "/api/v1/iam/roles" {
            Reply::json(
                200,
                &json!({"roles": [{"id": "cr1", "label": "a"}, {"id": 5, "label": "b"}], "_links": {}}),
            )
        } else {
            Reply::json(200, &json!({"permissions": [], "_links": {}}))
        }
    });
    let run = read_cfg(&h.config(), &["custom_role_permissions"], false, None);
    let msg = run.failed_with(FailureType::SystemError);
    for part in ["custom_roles", "`id`", "a number"] {
        assert!(msg.contains(part), "{part}: {msg}");
    }
    assert_ne!(
        last_status(&run, "custom_role_permissions"),
        Some(StreamStatus::Complete)
    );
    run.assert_no_secret(&[TOKEN]);
}
