//! The HTTP side: accept loop, per-request pipeline (request log → concurrency limit → faults →
//! token endpoint → authentication → route → scope → rate limit → handler) and Okta's response
//! headers (`Date`, `X-Okta-Request-Id`, `X-Rate-Limit-*`, `link`).
//!
//! Built on hyper directly: a `Reset` fault must close the connection without writing anything,
//! which is what hyper does when the service returns an error.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

use crate::clock::Clock;
use crate::config::{LinkStyle, SimConfig};
use crate::fault::{status_error, FaultKind, Faults};
use crate::model::request_id;
use crate::oauth::OAuthState;
use crate::org::Org;
use crate::paging::Query;
use crate::ratelimit::{bucket_for, Decision, RateLimiter};
use crate::routes::{self, ApiError, Ctx};
use crate::{LoggedRequest, SimStats};

/// State shared by the server and the [`crate::SimServer`] handle.
#[derive(Debug)]
pub struct Shared {
    /// Configuration.
    pub cfg: SimConfig,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The org.
    pub org: RwLock<Org>,
    /// Mutation clock.
    pub clock: Clock,
    /// Rate limiter (replaceable at run time, for benchmarks that change the limits between syncs).
    pub limiter: RwLock<Arc<RateLimiter>>,
    /// Active faults.
    pub faults: Faults,
    /// OAuth app, when configured.
    pub oauth: Option<OAuthState>,
    /// Credentials revoked.
    pub revoked: AtomicBool,
    /// Advanced Server Access bearer tokens issued.
    pub asa_tokens: crate::asa::TokenStore,
    in_flight: AtomicUsize,
    seq: AtomicU64,
    log: Mutex<Vec<(u64, LoggedRequest)>>,
    stats: Mutex<SimStats>,
}

/// The request log keeps at most this many entries (the oldest half is dropped beyond it).
pub const MAX_LOGGED: usize = 1_000_000;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Shared {
    /// The rate limiter in force.
    pub fn limiter(&self) -> Arc<RateLimiter> {
        self.limiter
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// New shared state.
    pub fn new(
        cfg: SimConfig,
        base_url: String,
        org: Org,
        clock: Clock,
        oauth: Option<OAuthState>,
    ) -> Self {
        Shared {
            limiter: RwLock::new(Arc::new(RateLimiter::new(&cfg.rate_limits))),
            cfg,
            base_url,
            org: RwLock::new(org),
            clock,
            faults: Faults::default(),
            oauth,
            revoked: AtomicBool::new(false),
            asa_tokens: crate::asa::TokenStore::default(),
            in_flight: AtomicUsize::new(0),
            seq: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
            stats: Mutex::new(SimStats::default()),
        }
    }

    /// The request log, in arrival order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.log).iter().map(|(_, r)| r.clone()).collect()
    }

    /// Forget the request log.
    pub fn clear_requests(&self) {
        lock(&self.log).clear();
    }

    /// Counters.
    pub fn stats(&self) -> SimStats {
        lock(&self.stats).clone()
    }

    fn log_start(&self, r: LoggedRequest) -> u64 {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let mut log = lock(&self.log);
        if log.len() >= MAX_LOGGED {
            // A long-running demo server must not grow without bound: forget the oldest half.
            log.drain(..MAX_LOGGED / 2);
        }
        log.push((seq, r));
        seq
    }

    fn log_status(&self, seq: u64, status: u16) {
        let mut log = lock(&self.log);
        if let Ok(i) = log.binary_search_by_key(&seq, |(s, _)| *s) {
            log[i].1.status = status;
        }
    }

    fn count(&self, bucket: &'static str) {
        let mut s = lock(&self.stats);
        s.requests += 1;
        *s.by_bucket.entry(bucket.to_string()).or_default() += 1;
    }

    fn count_429(&self) {
        lock(&self.stats).rate_limited += 1;
    }
}

struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The error that makes hyper drop the connection (the `Reset` fault).
#[derive(Debug)]
pub struct ResetConnection;

impl std::fmt::Display for ResetConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by fault injection")
    }
}

impl std::error::Error for ResetConnection {}

pub(crate) type Resp = Response<Full<Bytes>>;

/// A JSON response of `status` with `content-type` and `date`; `headers` adds the rest through the
/// `put(name, value)` it is given (a name or value that is not a valid header is left out).
pub(crate) fn json_response(
    status: u16,
    body: Bytes,
    headers: impl FnOnce(&mut dyn FnMut(&str, &str)),
) -> Resp {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    let mut put = |name: &str, value: &str| {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            h.append(n, v);
        }
    };
    put("content-type", "application/json");
    put("date", &httpdate::fmt_http_date(SystemTime::now()));
    headers(&mut put);
    r
}

/// Serve connections from `listener` until `shutdown` fires.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((s, _)) => s,
                    Err(_) => {
                        // Out of file descriptors or similar: back off a little.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let shared = shared.clone();
                        async move { handle(shared, req).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        }
    }
}

fn canonical_scheme(auth: Option<&str>) -> (&'static str, &str) {
    let Some(auth) = auth else {
        return ("", "");
    };
    let (scheme, rest) = auth.split_once(' ').unwrap_or((auth, ""));
    let canon = if scheme.eq_ignore_ascii_case("SSWS") {
        "SSWS"
    } else if scheme.eq_ignore_ascii_case("Bearer") {
        "Bearer"
    } else if scheme.eq_ignore_ascii_case("DPoP") {
        "DPoP"
    } else {
        ""
    };
    (canon, rest.trim())
}

/// Handle one request.
pub async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Resp, ResetConnection> {
    let at = Instant::now();
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let raw_query = req.uri().query().unwrap_or("").to_string();
    if shared.cfg.admin && path.starts_with("/__sim/") {
        // Test-harness endpoints: not logged, counted or rate limited.
        return Ok(admin(&shared, &method, &path, &raw_query));
    }
    let mut headers = BTreeMap::new();
    for (k, v) in req.headers() {
        let name = k.as_str();
        if name == "authorization" || name == "dpop" {
            continue;
        }
        headers.insert(
            name.to_string(),
            String::from_utf8_lossy(v.as_bytes()).into_owned(),
        );
    }
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let dpop = req
        .headers()
        .get("dpop")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (scheme, credential) = canonical_scheme(auth.as_deref());
    let credential = credential.to_string();
    let host = headers
        .get("host")
        .cloned()
        .unwrap_or_else(|| shared.base_url.trim_start_matches("http://").to_string());
    let base = format!("http://{host}");
    let seq = shared.log_start(LoggedRequest {
        method: method.clone(),
        path: path.clone(),
        query: raw_query.clone(),
        status: 0,
        auth_scheme: scheme.to_string(),
        headers,
        at,
    });
    shared.in_flight.fetch_add(1, Ordering::SeqCst);
    let guard = InFlight(&shared.in_flight);
    let bucket = bucket_for(&path);
    shared.count(bucket);
    let rid = request_id(seq ^ 0x5157_0000);

    let p = Pipeline {
        shared: &shared,
        rid: &rid,
        bucket,
    };

    // Concurrency limit.
    if let Some(max) = shared.cfg.concurrency_limit {
        if shared.in_flight.load(Ordering::SeqCst) > max {
            let d = Decision {
                allowed: false,
                limit: 0,
                remaining: 0,
                reset: crate::ratelimit::epoch_secs_at(
                    at + Duration::from_secs(1),
                    at,
                    SystemTime::now(),
                ),
            };
            let r = p.rate_limited(d);
            shared.log_status(seq, 429);
            drop(guard);
            return Ok(r);
        }
    }

    // Faults.
    let mut next_override = None;
    if let Some(kind) = shared.faults.take(&method, &path) {
        match kind {
            FaultKind::Delay(d) => tokio::time::sleep(d).await,
            FaultKind::Reset => {
                shared.log_status(seq, 0);
                return Err(ResetConnection);
            }
            FaultKind::Status(s) => {
                let (code, summary) = status_error(s);
                let d = p.peek_rl();
                let r = p.error(&ApiError::new(s, code, summary), Some(d));
                if s == 429 {
                    shared.count_429();
                }
                shared.log_status(seq, s);
                return Ok(r);
            }
            FaultKind::RateLimited => {
                let mut d = p.peek_rl();
                d.remaining = 0;
                d.reset = crate::ratelimit::epoch_secs_at(
                    at + Duration::from_secs(2),
                    at,
                    SystemTime::now(),
                );
                let r = p.rate_limited(d);
                shared.log_status(seq, 429);
                return Ok(r);
            }
            FaultKind::Garbage => {
                let r = p.response(
                    200,
                    Bytes::from_static(b"[{\"id\":\"00u<html><body>502 Bad Gateway</body></html>"),
                    Some(p.peek_rl()),
                    &[],
                    &[],
                );
                shared.log_status(seq, 200);
                return Ok(r);
            }
            FaultKind::NextLink(u) => next_override = Some(u),
        }
    }

    let resp = if path == "/oauth2/v1/token" {
        token_endpoint(&p, req, &method, &base, dpop.as_deref()).await
    } else if path.starts_with("/v1/teams/") {
        crate::asa::handle(
            &shared,
            req,
            &method,
            &path,
            &raw_query,
            &base,
            scheme,
            &credential,
        )
        .await
    } else {
        api(
            &p,
            &method,
            &path,
            &raw_query,
            &base,
            scheme,
            &credential,
            dpop.as_deref(),
            next_override,
        )
    };
    shared.log_status(seq, resp.status().as_u16());
    drop(guard);
    Ok(resp)
}

struct Pipeline<'a> {
    shared: &'a Shared,
    rid: &'a str,
    bucket: &'static str,
}

impl Pipeline<'_> {
    fn peek_rl(&self) -> Decision {
        self.shared.limiter().check(
            "anonymous",
            self.bucket,
            Instant::now(),
            SystemTime::now(),
            false,
        )
    }

    fn response(
        &self,
        status: u16,
        body: Bytes,
        rl: Option<Decision>,
        links: &[(&str, String)],
        extra: &[(&str, String)],
    ) -> Resp {
        json_response(status, body, |put| {
            put("x-okta-request-id", self.rid);
            put("cache-control", "no-cache, no-store");
            if let Some(d) = rl {
                put("x-rate-limit-limit", &d.limit.to_string());
                put("x-rate-limit-remaining", &d.remaining.to_string());
                put("x-rate-limit-reset", &d.reset.to_string());
            }
            match self.shared.cfg.link_style {
                LinkStyle::Separate => {
                    for (rel, url) in links {
                        put("link", &format!("<{url}>; rel=\"{rel}\""));
                    }
                }
                LinkStyle::Joined => {
                    if !links.is_empty() {
                        let joined: Vec<String> = links
                            .iter()
                            .map(|(rel, url)| format!("<{url}>; rel=\"{rel}\""))
                            .collect();
                        put("link", &joined.join(", "));
                    }
                }
            }
            for (k, v) in extra {
                put(k, v);
            }
        })
    }

    fn error(&self, e: &ApiError, rl: Option<Decision>) -> Resp {
        let body = json!({
            "errorCode": e.code,
            "errorSummary": e.summary,
            "errorLink": e.code,
            "errorId": format!("oae{}", &self.rid[..self.rid.len().min(22)]),
            "errorCauses": e.causes.iter().map(|c| json!({"errorSummary": c})).collect::<Vec<_>>(),
        });
        let mut extra: Vec<(&str, String)> = Vec::new();
        if e.status == 401 {
            extra.push(("www-authenticate", "SSWS realm=\"okta\"".to_string()));
        }
        self.response(e.status, Bytes::from(body.to_string()), rl, &[], &extra)
    }

    fn rate_limited(&self, d: Decision) -> Resp {
        self.shared.count_429();
        self.error(
            &ApiError::new(
                429,
                "E0000047",
                "API call exceeded rate limit due to too many requests.",
            ),
            Some(d),
        )
    }
}

async fn token_endpoint(
    p: &Pipeline<'_>,
    req: Request<Incoming>,
    method: &str,
    base: &str,
    dpop: Option<&str>,
) -> Resp {
    let shared = p.shared;
    let rl = Some(p.peek_rl());
    let Some(oauth) = &shared.oauth else {
        return p.error(
            &ApiError::new(
                404,
                "E0000007",
                "Not found: Resource not found: /oauth2/v1/token",
            ),
            rl,
        );
    };
    if method != "POST" {
        return p.error(
            &ApiError::new(
                405,
                "E0000022",
                "The endpoint does not support the provided HTTP method",
            ),
            rl,
        );
    }
    let body = match Limited::new(req.into_body(), 64 * 1024).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let urls = vec![
        format!("{}/oauth2/v1/token", shared.base_url),
        format!("{base}/oauth2/v1/token"),
    ];
    let r = oauth.token_request(&body, dpop, &urls, shared.clock.now());
    let mut extra: Vec<(&str, String)> = r.headers.clone();
    extra.push(("pragma", "no-cache".into()));
    p.response(r.status, Bytes::from(r.body.to_string()), rl, &[], &extra)
}

#[allow(clippy::too_many_arguments)]
fn api(
    p: &Pipeline<'_>,
    method: &str,
    path: &str,
    raw_query: &str,
    base: &str,
    scheme: &str,
    credential: &str,
    dpop: Option<&str>,
    next_override: Option<String>,
) -> Resp {
    let shared = p.shared;
    let now_ms = shared.clock.now();

    // Authentication.
    let invalid = |why: &str| ApiError::new(401, "E0000011", "Invalid token provided").cause(why);
    let principal: Result<(String, Option<Vec<String>>), ApiError> =
        if shared.revoked.load(Ordering::SeqCst) {
            Err(invalid("The token has been revoked"))
        } else {
            match scheme {
                "SSWS" if credential == shared.cfg.api_token => Ok(("ssws".to_string(), None)),
                "SSWS" => Err(invalid("Unknown API token")),
                "Bearer" | "DPoP" => match &shared.oauth {
                    Some(o) => o
                        .check_access(scheme, credential, dpop, method, path, now_ms)
                        .map(|g| (format!("oauth:{}", g.client_id), Some(g.scopes)))
                        .map_err(|e| invalid(&e)),
                    None => Err(invalid("OAuth is not enabled")),
                },
                _ => Err(invalid("Missing or unsupported Authorization header")),
            }
        };
    let (principal, scopes) = match principal {
        Ok(x) => x,
        Err(e) => return p.error(&e, Some(p.peek_rl())),
    };

    // Route.
    let Some((route, params)) = routes::find(path) else {
        return p.error(&ApiError::not_found(path), Some(p.peek_rl()));
    };
    if method != "GET" {
        return p.error(
            &ApiError::new(
                405,
                "E0000022",
                "The endpoint does not support the provided HTTP method",
            ),
            Some(p.peek_rl()),
        );
    }
    if let Some(scopes) = &scopes {
        let manage = route.scope.replace(".read", ".manage");
        if !scopes.iter().any(|s| s == route.scope || *s == manage) {
            return p.error(
                &ApiError::new(
                    403,
                    "E0000006",
                    "You do not have permission to perform the requested action",
                )
                .cause(format!(
                    "The access token is missing the scope {}",
                    route.scope
                )),
                Some(p.peek_rl()),
            );
        }
    }

    // Rate limit.
    let d = shared.limiter().check(
        &principal,
        p.bucket,
        Instant::now(),
        SystemTime::now(),
        true,
    );
    if !d.allowed {
        return p.rate_limited(d);
    }

    let query = Query::parse(raw_query);
    let due = match shared.org.read() {
        Ok(g) => g.logs_due(now_ms),
        Err(p) => p.into_inner().logs_due(now_ms),
    };
    if due {
        match shared.org.write() {
            Ok(mut g) => g.flush_logs(now_ms),
            Err(p) => p.into_inner().flush_logs(now_ms),
        }
    }
    let result = {
        let org = match shared.org.read() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let ctx = Ctx {
            org: &org,
            route,
            params: &params,
            path,
            raw_query,
            query: &query,
            base,
            now_ms,
        };
        routes::dispatch(&ctx)
    };
    match result {
        Ok(reply) => {
            let mut links: Vec<(&str, String)> = Vec::new();
            if let Some(s) = reply.self_link {
                links.push(("self", s));
            }
            if let Some(n) = next_override.or(reply.next_link) {
                links.push(("next", n));
            }
            p.response(200, reply.body, Some(d), &links, &[])
        }
        Err(e) => p.error(&e, Some(d)),
    }
}

/// `POST /__sim/churn?fraction=F[&seed=S]` (default 0.01 and 1): [`crate::SimServer::churn`], the
/// report as JSON. `POST /__sim/release-logs`: [`crate::SimServer::release_logs`]. `GET
/// /__sim/stats`: the request counters.
fn admin(shared: &Shared, method: &str, path: &str, raw_query: &str) -> Resp {
    let query = Query::parse(raw_query);
    let reply = |status: u16, body: Value| {
        let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
        *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        r.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    };
    match (method, path) {
        ("POST", "/__sim/churn") => {
            let fraction = match query.get("fraction").map(str::parse::<f64>) {
                None => 0.01,
                Some(Ok(f)) if (0.0..=1.0).contains(&f) => f,
                Some(_) => return reply(400, json!({"error": "fraction must be in [0, 1]"})),
            };
            let seed = match query.get("seed").map(str::parse::<u64>) {
                None => 1,
                Some(Ok(s)) => s,
                Some(Err(_)) => return reply(400, json!({"error": "seed must be an integer"})),
            };
            let report = crate::churn(shared, fraction, seed);
            reply(200, serde_json::to_value(report).unwrap_or(Value::Null))
        }
        ("POST", "/__sim/release-logs") => {
            reply(200, json!({"released": crate::release_logs(shared)}))
        }
        ("GET", "/__sim/stats") => {
            let s = shared.stats();
            reply(
                200,
                json!({"requests": s.requests, "rate_limited": s.rate_limited, "by_bucket": s.by_bucket}),
            )
        }
        _ => reply(
            404,
            json!({"error": format!("no admin endpoint {method} {path}")}),
        ),
    }
}
