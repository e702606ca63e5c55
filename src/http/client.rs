//! The one HTTP client: every request is paced, authenticated, sent, and its response classified as
//! success, retry (with a reason), rate-limited wait, re-authenticate, or fatal.

use crate::config::Settings;
use crate::error::{ApiResponse, Error, Result, Transient};
use crate::http::link::next_link;
use crate::http::pacing::{bucket_of, Pacer, RateLimitHeaders};
use crate::http::RequestAuth;
use bytes::Bytes;
use connector_kit::retry::{bounded_hint, HintedWait};
use connector_kit::RetryPolicy;
use reqwest::header::{HeaderMap, ACCEPT};
use reqwest::StatusCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use url::Url;

/// First backoff ceiling for retries; doubled per attempt, full jitter. Tests shorten it with
/// [`RETRY_BASE_ENV`].
pub const RETRY_BASE_DELAY: Duration = Duration::from_millis(1000);
/// Longest single backoff.
pub const RETRY_MAX_DELAY: Duration = Duration::from_secs(30);
/// Environment variable (milliseconds) overriding [`RETRY_BASE_DELAY`]; meant for tests.
pub const RETRY_BASE_ENV: &str = "SOURCE_OKTA_RETRY_BASE_MS";
/// How many 429 answers one request may receive before the sync gives up.
pub const RATE_LIMIT_MAX_RETRIES: u32 = 20;
/// Pacing waits at least this long are logged at INFO (shorter ones at DEBUG).
pub const PACING_LOG_THRESHOLD: Duration = Duration::from_secs(1);
/// Wait after a concurrency 429 (whose reset time is only an estimate).
pub const CONCURRENCY_BACKOFF: Duration = Duration::from_millis(500);
/// Redirects followed per request (all on the configured origin).
pub const MAX_REDIRECTS: usize = 5;
/// Largest body of an OAuth or ASA token answer.
pub const MAX_TOKEN_RESPONSE_BYTES: usize = 1024 * 1024;

/// A successful answer.
#[derive(Debug)]
pub struct Response {
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The `rel="next"` link, already checked to stay on the configured origin.
    pub next: Option<Url>,
}

/// Counters for the end-of-sync summary and the benchmark.
#[derive(Debug, Default)]
pub struct ClientStats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub rate_limited: AtomicU64,
    pub paced_waits: AtomicU64,
}

pub struct OktaClient {
    http: reqwest::Client,
    base: Url,
    auth: Box<dyn RequestAuth>,
    pacer: Pacer,
    in_flight: Semaphore,
    retry: RetryPolicy,
    max_rate_limit_wait: Duration,
    max_response_bytes: usize,
    pub stats: ClientStats,
}

enum Verdict {
    Success,
    /// The request failed in a way the outcome itself describes (not retried).
    Failed,
    Retry(Transient, String),
    RateLimited {
        wait: Duration,
        request_id: Option<String>,
    },
    Reauthenticate(String),
    Fatal(Error),
}

impl OktaClient {
    /// A client of the API at `base` (the Okta org, or ASA) with the settings' timeouts, retries and
    /// pacing share, authenticating with `auth`.
    pub fn with(settings: &Settings, base: Url, auth: impl RequestAuth + 'static) -> Result<Self> {
        let origin = base.origin();
        // Redirects stay on the configured origin: records from elsewhere are not Okta's, and the
        // credentials must not travel.
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.url().origin() != origin {
                let to = attempt.url().origin().ascii_serialization();
                attempt.error(ForeignRedirect(to))
            } else if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
            } else {
                attempt.follow()
            }
        });
        let http = reqwest::Client::builder()
            .redirect(redirects)
            .user_agent(concat!("source-okta/", env!("CARGO_PKG_VERSION")))
            .timeout(settings.request_timeout)
            .connect_timeout(Duration::from_secs(20))
            .pool_max_idle_per_host(settings.max_concurrency.max(4))
            .gzip(true)
            .build()
            .map_err(|e| {
                Error::Config(format!("cannot set up the HTTP client (TLS roots?): {e}"))
            })?;
        let retry_base = std::env::var(RETRY_BASE_ENV)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(RETRY_BASE_DELAY, Duration::from_millis);
        let attempts = settings.max_retries.saturating_add(1);
        let retry = RetryPolicy {
            max_attempts: attempts,
            base: retry_base,
            cap: RETRY_MAX_DELAY,
            // Every attempt may take the whole request timeout and every backoff the longest one: a
            // bound the attempts already imply, now also enforced.
            max_elapsed: (RETRY_MAX_DELAY + settings.request_timeout).saturating_mul(attempts),
        };
        Ok(Self {
            auth: Box::new(auth),
            http,
            base,
            pacer: Pacer::new(settings.rate_limit_share),
            in_flight: Semaphore::new(settings.max_concurrency),
            retry,
            max_rate_limit_wait: settings.max_rate_limit_wait,
            max_response_bytes: settings.max_response_bytes,
            stats: ClientStats::default(),
        })
    }

    /// An absolute URL on the org for a path with query, e.g. `/api/v1/users?limit=200`.
    pub fn url(&self, path_and_query: &str) -> Result<Url> {
        self.base
            .join(path_and_query)
            .map_err(|e| Error::Config(format!("bad request path {path_and_query}: {e}")))
    }

    /// Fails unless `url` is on the configured origin (scheme, host and port).
    pub fn check_origin(&self, url: &Url) -> Result<()> {
        if url.origin() == self.base.origin() {
            Ok(())
        } else {
            Err(Error::ForeignLink {
                kind: "next link",
                origin: url.origin().ascii_serialization(),
            })
        }
    }

    /// The backoff before retry `attempt` (0-based): the retry policy's full jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        self.retry.delay(attempt)
    }

    /// GET with pacing, retries and classification. Only 2xx answers come back as `Ok`.
    pub async fn get(&self, url: &Url) -> Result<Response> {
        self.check_origin(url)?;
        let bucket = bucket_of(url.path());
        let started = Instant::now();
        // The retry budget runs from the first retryable failure (rate-limit waits have their own bound).
        let mut retrying_since: Option<Instant> = None;
        let (mut attempts, mut limited, mut reauthed) = (0u32, 0u32, false);
        let mut retry_for: Option<String> = None;
        loop {
            let slot = loop {
                match self.pacer.try_acquire(bucket) {
                    Ok(slot) => break slot,
                    Err(wait) => {
                        if wait > self.max_rate_limit_wait + crate::http::pacing::RESET_MARGIN {
                            return Err(self.wait_too_long(url, bucket, wait));
                        }
                        self.stats.paced_waits.fetch_add(1, Ordering::Relaxed);
                        // One log per wait, however many requests queue behind it.
                        let first = crate::progress::paced_wait(bucket, url.path(), wait);
                        if wait >= PACING_LOG_THRESHOLD && first {
                            tracing::info!(bucket, wait_ms = wait.as_millis() as u64, "pacing: this bucket's share is used up; waiting for its window to reset");
                        } else {
                            tracing::debug!(
                                bucket,
                                wait_ms = wait.as_millis() as u64,
                                "pacing: waiting for the rate-limit window"
                            );
                        }
                        tokio::time::sleep(wait).await;
                    }
                }
            };
            let permit = self
                .in_flight
                .acquire()
                .await
                .map_err(|_| Error::ClientClosed)?;
            let auth = match self.auth.headers(&self.http, "GET", url).await {
                Ok(h) => h,
                Err(e) => {
                    self.pacer.release(slot, None);
                    return Err(e);
                }
            };
            let mut req = self
                .http
                .get(url.clone())
                .header(ACCEPT, "application/json");
            for (k, v) in auth {
                req = req.header(k, v);
            }
            if let Some(id) = &retry_for {
                req = req
                    .header("X-Okta-Retry-For", id)
                    .header("X-Okta-Retry-Count", (attempts + limited).to_string());
            }
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            crate::progress::count_request(url.path());
            let sent = req.send().await;
            let outcome = match sent {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    match read_capped(resp, self.max_response_bytes).await {
                        Ok(body) => Ok((status, headers, body)),
                        Err(BodyError::TooLarge) => Err(SendFailure::Fatal(Error::TooLarge {
                            path: url.path().to_string(),
                            limit_mb: (self.max_response_bytes / (1024 * 1024)) as u64,
                        })),
                        Err(BodyError::Read(e)) => Err(SendFailure::Retry(
                            Transient::Body,
                            format!("reading the body failed: {}", without_url(&e)),
                        )),
                    }
                }
                Err(e) => Err(classify_send_error(&e, url)),
            };
            drop(permit);
            let verdict = match &outcome {
                Ok((status, headers, body)) => {
                    self.pacer.release(slot, RateLimitHeaders::parse(headers));
                    self.classify(*status, headers, body, url)
                }
                Err(failure) => {
                    self.pacer.release(slot, None);
                    match failure {
                        SendFailure::Retry(kind, reason) => Verdict::Retry(*kind, reason.clone()),
                        SendFailure::Fatal(_) => Verdict::Failed,
                    }
                }
            };
            match verdict {
                Verdict::Failed => {
                    return Err(match outcome {
                        Err(SendFailure::Fatal(e)) => e,
                        _ => Error::Internal("inconsistent request outcome"),
                    })
                }
                Verdict::Success => {
                    let Ok((_, headers, body)) = outcome else {
                        return Err(Error::Internal("inconsistent request outcome"));
                    };
                    let next = next_link(&headers, url);
                    if let Some(n) = &next {
                        self.check_origin(n)?;
                    }
                    return Ok(Response {
                        url: url.clone(),
                        headers,
                        body,
                        next,
                    });
                }
                Verdict::Retry(kind, reason) => {
                    let since = *retrying_since.get_or_insert_with(Instant::now);
                    let Some(delay) = self.retry.next_delay(attempts + 1, since) else {
                        return Err(Error::Exhausted {
                            path: url.path().to_string(),
                            attempts: attempts + 1,
                            elapsed_secs: started.elapsed().as_secs(),
                            last: reason,
                            kind,
                        });
                    };
                    attempts += 1;
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(path = url.path(), attempt = attempts, delay_ms = delay.as_millis() as u64, %reason, "retrying");
                    tokio::time::sleep(delay).await;
                }
                Verdict::RateLimited { wait, request_id } => {
                    self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                    if limited >= RATE_LIMIT_MAX_RETRIES {
                        return Err(Error::Exhausted {
                            path: url.path().to_string(),
                            attempts: attempts + limited + 1,
                            elapsed_secs: started.elapsed().as_secs(),
                            last: "rate limited (429 E0000047) every time".into(),
                            kind: Transient::RateLimited,
                        });
                    }
                    limited += 1;
                    retry_for = request_id.or(retry_for);
                    tracing::warn!(
                        path = url.path(),
                        bucket,
                        wait_ms = wait.as_millis() as u64,
                        "rate limited by Okta (429); waiting for the window to reset"
                    );
                    tokio::time::sleep(wait).await;
                }
                Verdict::Reauthenticate(reason) => {
                    if reauthed || !self.auth.invalidate().await {
                        return Err(Error::Auth {
                            message: reason.clone(),
                            internal: reason,
                        });
                    }
                    reauthed = true;
                    tracing::info!(
                        path = url.path(),
                        "access token rejected; getting a new one and retrying once"
                    );
                }
                Verdict::Fatal(e) => return Err(e),
            }
        }
    }

    /// The error for a wait longer than `max_rate_limit_wait_seconds`.
    fn wait_too_long(&self, url: &Url, bucket: &'static str, wait: Duration) -> Error {
        Error::RateLimitWait {
            path: url.path().to_string(),
            bucket,
            asked_secs: wait.as_secs(),
            max_secs: self.max_rate_limit_wait.as_secs(),
        }
    }

    fn classify(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Bytes,
        url: &Url,
    ) -> Verdict {
        if status.is_success() {
            return Verdict::Success;
        }
        let request_id = headers
            .get("x-okta-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let err = OktaErrorBody::parse(body);
        let path = url.path().to_string();
        let response = || {
            Box::new(ApiResponse {
                status: status.as_u16(),
                code: (!err.code.is_empty()).then(|| err.code.clone()),
                method: "GET",
                path: path.clone(),
                request_id: request_id.clone(),
                detail: err.describe(),
            })
        };
        match status.as_u16() {
            429 => {
                let wait = match RateLimitHeaders::parse(headers) {
                    Some(h) if h.limit == 0 => CONCURRENCY_BACKOFF,
                    Some(RateLimitHeaders {
                        reset_in: Some(d), ..
                    }) => d + crate::http::pacing::RESET_MARGIN,
                    _ => self.backoff(2),
                };
                match bounded_hint(
                    wait,
                    self.max_rate_limit_wait,
                    crate::http::pacing::RESET_MARGIN,
                ) {
                    HintedWait::TooLong(wait) => {
                        Verdict::Fatal(self.wait_too_long(url, bucket_of(url.path()), wait))
                    }
                    HintedWait::Wait(wait) => Verdict::RateLimited { wait, request_id },
                }
            }
            401 if err.code == "E0000015" => Verdict::Fatal(Error::FeatureDisabled {
                message: err.summary_or("feature not enabled for this org"),
                response: response(),
                path,
            }),
            401 => Verdict::Reauthenticate(if err.code.is_empty() {
                format!("{} (HTTP 401)", err.summary_or("authentication failed"))
            } else {
                // `summary_or` already names the code once.
                err.summary_or("authentication failed")
            }),
            403 => Verdict::Fatal(Error::Forbidden {
                message: err.summary_or("access denied"),
                response: response(),
                path,
            }),
            404 | 410 => Verdict::Fatal(Error::NotFound {
                message: err.summary_or("not found"),
                response: response(),
                path,
            }),
            408 | 500 | 502 | 503 | 504 => Verdict::Retry(
                Transient::Status(status.as_u16()),
                format!("HTTP {}: {}", status.as_u16(), err.describe()),
            ),
            _ => Verdict::Fatal(Error::Rejected {
                message: err.summary_or(status.canonical_reason().unwrap_or("error")),
                response: response(),
                path,
            }),
        }
    }
}

/// Why a response body could not be read.
pub enum BodyError {
    /// It grew past the cap (counted after decompression).
    TooLarge,
    Read(reqwest::Error),
}

/// Reads a body chunk by chunk (decompressed when gzip), failing as soon as it exceeds `cap` bytes:
/// memory never follows the server's choice.
pub async fn read_capped(
    mut resp: reqwest::Response,
    cap: usize,
) -> std::result::Result<Bytes, BodyError> {
    if resp
        .content_length()
        .is_some_and(|n| n > u64::try_from(cap).unwrap_or(u64::MAX))
    {
        return Err(BodyError::TooLarge);
    }
    let hint = resp.content_length().map_or(0, |n| n as usize).min(cap);
    let mut buf = bytes::BytesMut::with_capacity(hint.min(1024 * 1024));
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Read)? {
        if buf.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// The error a redirect policy raises for a redirect off the configured origin.
#[derive(Debug)]
struct ForeignRedirect(String);

impl std::fmt::Display for ForeignRedirect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "redirect to another origin ({})", self.0)
    }
}

impl std::error::Error for ForeignRedirect {}

/// How a request that got no response failed.
pub enum SendFailure {
    /// Worth another attempt (refused, reset, timed out), with the reason to log.
    Retry(Transient, String),
    /// Retrying cannot help (no such host, an untrusted certificate, a foreign redirect).
    Fatal(Error),
}

/// `host:port` of a URL, as the error messages name it.
pub fn host_port(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port_or_known_default() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// Classifies a request that failed before any response: DNS and certificate failures are
/// configuration errors (retrying for a minute helps nobody), the rest transient.
pub fn classify_send_error(e: &reqwest::Error, url: &Url) -> SendFailure {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(inner) = source {
        if let Some(r) = inner.downcast_ref::<ForeignRedirect>() {
            return SendFailure::Fatal(Error::ForeignLink {
                kind: "redirect",
                origin: r.0.clone(),
            });
        }
        source = inner.source();
    }
    let chain = without_url(e);
    let host = host_port(url);
    if let Some(fatal) = unreachable_from_chain(&chain, &host) {
        return SendFailure::Fatal(fatal);
    }
    if e.is_redirect() {
        return SendFailure::Fatal(Error::Api {
            path: url.path().to_string(),
            message: "too many redirects".into(),
            internal: chain,
        });
    }
    if e.is_connect() {
        return SendFailure::Retry(
            Transient::Connect,
            format!("cannot connect to {host}: {chain}"),
        );
    }
    if e.is_timeout() {
        return SendFailure::Retry(Transient::Timeout, format!("request to {host} timed out"));
    }
    SendFailure::Retry(
        Transient::Request,
        format!("request to {host} failed: {chain}"),
    )
}

/// DNS and certificate failures, recognised in the text of an error chain (hyper and rustls do not
/// expose them as types through reqwest).
fn unreachable_from_chain(chain: &str, host: &str) -> Option<Error> {
    let lower = chain.to_ascii_lowercase();
    let (reason, hint) = if lower.contains("dns error")
        || lower.contains("failed to lookup address")
    {
        (
            "the host name does not resolve",
            "Check `domain` (or `base_url`) for typos, and the DNS settings of this machine.",
        )
    } else if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        (
            "its TLS certificate is signed by an unknown issuer",
            "If a proxy or a private CA signs the traffic, point SSL_CERT_FILE at a PEM bundle that \
             includes its CA certificate.",
        )
    } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        (
            "its TLS certificate is not valid for this host name",
            "Check `domain` (or `base_url`): use the org's own Okta host or its configured custom domain.",
        )
    } else if lower.contains("invalid peer certificate") || lower.contains("certificate") {
        (
            "its TLS certificate is not trusted",
            "Check the address, the system clock, and SSL_CERT_FILE if a private CA is in use.",
        )
    } else {
        return None;
    };
    Some(Error::Unreachable {
        host: host.to_string(),
        reason: reason.to_string(),
        hint: hint.to_string(),
    })
}

/// A reqwest error's text without the URL's query (the path is fine) and with its whole source chain.
pub fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(u.as_str(), u.path());
    }
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// Okta's error body: `errorCode`, `errorSummary`, `errorCauses` (may echo input; logged, never rendered as HTML).
#[derive(Debug, Default)]
pub struct OktaErrorBody {
    pub code: String,
    pub summary: String,
    pub causes: Vec<String>,
}

impl OktaErrorBody {
    pub fn parse(body: &[u8]) -> Self {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        Self {
            code: v["errorCode"].as_str().unwrap_or_default().to_string(),
            summary: v["errorSummary"].as_str().unwrap_or_default().to_string(),
            causes: v["errorCauses"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c["errorSummary"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    fn summary_or(&self, fallback: &str) -> String {
        let base = if self.summary.is_empty() {
            fallback.to_string()
        } else {
            self.summary.clone()
        };
        match (self.code.is_empty(), self.causes.is_empty()) {
            (true, _) => base,
            (false, true) => format!("{base} ({})", self.code),
            (false, false) => format!("{base} ({}): {}", self.code, self.causes.join("; ")),
        }
    }

    fn describe(&self) -> String {
        if self.code.is_empty() && self.summary.is_empty() {
            "no Okta error body".into()
        } else {
            self.summary_or("")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_and_certificate_failures_are_config_errors() {
        let cases = [
            (
                "error sending request: client error (Connect): dns error: failed to lookup address \
                 information: Name or service not known",
                "does not resolve",
            ),
            (
                "error sending request: client error (Connect): invalid peer certificate: UnknownIssuer",
                "SSL_CERT_FILE",
            ),
            (
                "error sending request: client error (Connect): invalid peer certificate: \
                 NotValidForName",
                "not valid for this host name",
            ),
            (
                "error sending request: client error (Connect): invalid peer certificate: Expired",
                "not trusted",
            ),
        ];
        for (chain, want) in cases {
            let e = unreachable_from_chain(chain, "acme.okta.com:443").expect(chain);
            assert_eq!(e.failure_type(), airbyte_protocol::FailureType::ConfigError);
            let msg = e.user_message();
            assert!(
                msg.contains(want) && msg.contains("acme.okta.com:443"),
                "{msg}"
            );
        }
        assert!(unreachable_from_chain(
            "error sending request: client error (Connect): tcp connect error: Connection refused",
            "h:1"
        )
        .is_none());
    }
}
