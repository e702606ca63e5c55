//! Google credentials: service-account keys (JWT bearer grant, RS256 signed with the shared kit's
//! `jsonwebtoken` signer), authorized users (refresh
//! token), external accounts (workload identity federation: a file- or URL-sourced subject token exchanged at
//! STS, optionally impersonating a service account), impersonated service accounts, the metadata server
//! (`GCE_METADATA_HOST`), or nothing (a loopback emulator). Tokens are cached (the kit's `TokenCache`) and
//! refreshed five minutes before expiry; every token request is retried on network errors, 408, 429 and
//! 5xx under the kit's retry policy.
//!
//! Why not a crate: `gcp_auth` has no external-account support, and `google-cloud-auth` brings a second HTTP
//! stack and its own retry rules; each grant here is one form or JSON POST on the client we already use,
//! tested against a loopback fake of every endpoint (tests/it/auth.rs).

use crate::config::Secret;
use crate::error::{Error, Result};
use connector_kit::jwt::{JwtHeader, SigningKey};
use connector_kit::{RetryPolicy, TokenCache};
use serde::Deserialize;
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The only scope needed for datasets, tables, load, query and copy jobs.
pub const SCOPE: &str = "https://www.googleapis.com/auth/bigquery";
/// The scope a token needs to call the IAM credentials API (impersonation) and STS.
pub const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// Environment variable naming the metadata server's host (and port), as Google's libraries read it.
pub const METADATA_HOST_ENV: &str = "GCE_METADATA_HOST";
const DEFAULT_METADATA_HOST: &str = "metadata.google.internal";
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Token requests: attempts and backoff (full jitter) before a failure is reported.
const TOKEN_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 5,
    base: Duration::from_millis(400),
    cap: Duration::from_secs(5),
    max_elapsed: Duration::from_secs(120),
};

/// The fields of a service-account key we use.
#[derive(Clone, Deserialize)]
pub struct ServiceAccountKey {
    pub client_email: String,
    private_key: String,
    #[serde(default)]
    pub token_uri: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .finish_non_exhaustive()
    }
}

/// A user's refresh token from `gcloud auth application-default login`.
#[derive(Clone, Deserialize)]
struct AuthorizedUser {
    client_id: String,
    client_secret: String,
    refresh_token: String,
    #[serde(default)]
    token_uri: Option<String>,
}

/// Workload identity federation (`"type": "external_account"`).
#[derive(Clone, Deserialize)]
struct ExternalAccount {
    audience: String,
    subject_token_type: String,
    token_url: String,
    credential_source: CredentialSource,
    #[serde(default)]
    service_account_impersonation_url: Option<String>,
}

#[derive(Clone, Deserialize)]
struct CredentialSource {
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    headers: Option<HashMap<String, String>>,
    #[serde(default)]
    format: Option<SourceFormat>,
    #[serde(default)]
    environment_id: Option<String>,
    #[serde(default)]
    executable: Option<serde_json::Value>,
}

#[derive(Clone, Deserialize)]
struct SourceFormat {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    subject_token_field_name: Option<String>,
}

#[derive(Clone)]
enum Source {
    None,
    ServiceAccount(ServiceAccountKey, Box<SigningKey>),
    AuthorizedUser(AuthorizedUser),
    Metadata(String),
    External(Box<ExternalAccount>),
    /// `"type": "impersonated_service_account"`: a token of `source` buys one of the target account.
    Impersonated {
        source: Box<Source>,
        url: String,
        delegates: Vec<String>,
    },
}

/// Hands out bearer tokens; cheap to share behind an `Arc`.
pub struct TokenProvider {
    source: Source,
    http: reqwest::Client,
    cached: TokenCache<Secret>,
}

/// A token and how long it is valid.
struct Token {
    access_token: String,
    lifetime: Duration,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<f64>,
}

impl TokenResponse {
    fn token(self) -> Token {
        Token {
            access_token: self.access_token,
            lifetime: Duration::from_secs_f64(self.expires_in.unwrap_or(3600.0).max(0.0)),
        }
    }
}

impl TokenProvider {
    /// No credentials: requests carry no `Authorization` header (emulators only).
    pub fn none() -> Self {
        Self::with_source(Source::None)
    }

    /// The metadata server at `host` (`GCE_METADATA_HOST`, else metadata.google.internal).
    pub fn metadata(host: Option<String>) -> Self {
        Self::with_source(Source::Metadata(
            host.filter(|h| !h.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_METADATA_HOST.to_string()),
        ))
    }

    /// From `credentials_json`: a service-account key, an authorized user, an external account or an
    /// impersonated service account.
    pub fn from_json(json: &Secret) -> Result<Self> {
        let v: serde_json::Value = serde_json::from_str(json.expose())
            .map_err(|_| Error::Config("`credentials_json` is not a valid JSON document".into()))?;
        Ok(Self::with_source(parse_source(v, true)?))
    }

    /// Application Default Credentials: `GOOGLE_APPLICATION_CREDENTIALS`, then gcloud's well-known file,
    /// then the metadata server of the machine we run on (`GCE_METADATA_HOST`).
    pub fn application_default() -> Result<Self> {
        let path = std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS")
            .filter(|p| !p.is_empty())
            .map(std::path::PathBuf::from)
            .or_else(|| {
                let home = std::env::var_os("HOME")?;
                let p = std::path::Path::new(&home)
                    .join(".config/gcloud/application_default_credentials.json");
                p.exists().then_some(p)
            });
        match path {
            Some(p) => {
                let text = std::fs::read_to_string(&p).map_err(|e| {
                    Error::Config(format!("cannot read credentials {}: {e}", p.display()))
                })?;
                Self::from_json(&Secret::new(text))
            }
            None => Ok(Self::metadata(std::env::var(METADATA_HOST_ENV).ok())),
        }
    }

    fn with_source(source: Source) -> Self {
        TokenProvider {
            source,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap_or_default(),
            cached: TokenCache::new(REFRESH_MARGIN),
        }
    }

    pub fn is_none(&self) -> bool {
        matches!(self.source, Source::None)
    }

    /// The project of a service-account key, used when the config does not name one.
    pub fn key_project(&self) -> Option<&str> {
        match &self.source {
            Source::ServiceAccount(k, _) => k.project_id.as_deref(),
            _ => None,
        }
    }

    /// A valid bearer token (`None` for unauthenticated emulators).
    pub async fn token(&self) -> Result<Option<Secret>> {
        if self.is_none() {
            return Ok(None);
        }
        let token = self
            .cached
            .get(|| async {
                let t = match &self.source {
                    Source::Impersonated {
                        source,
                        url,
                        delegates,
                    } => {
                        let base = self.base_token(source, CLOUD_PLATFORM).await?;
                        self.impersonate(url, &base.access_token, delegates).await?
                    }
                    other => self.base_token(other, SCOPE).await?,
                };
                Ok::<_, Error>((Secret::new(t.access_token), t.lifetime))
            })
            .await?;
        Ok(Some(token))
    }

    /// Forgets the cached token (after a 401), so the next call fetches a new one.
    pub async fn invalidate(&self) {
        self.cached.invalidate().await;
    }

    /// A token from a source that needs no other token first.
    async fn base_token(&self, source: &Source, scope: &str) -> Result<Token> {
        match source {
            Source::None | Source::Impersonated { .. } => {
                Err(Error::Internal("no direct token for this source".into()))
            }
            Source::ServiceAccount(key, pk) => {
                let uri = key
                    .token_uri
                    .clone()
                    .unwrap_or_else(|| DEFAULT_TOKEN_URI.into());
                let jwt = sign_jwt_scoped(key, pk, &uri, scope, now_secs())?;
                let r: TokenResponse = self
                    .send("the token endpoint", || {
                        self.http.post(&uri).form(&[
                            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                            ("assertion", jwt.as_str()),
                        ])
                    })
                    .await?;
                Ok(r.token())
            }
            Source::AuthorizedUser(u) => {
                let uri = u
                    .token_uri
                    .clone()
                    .unwrap_or_else(|| DEFAULT_TOKEN_URI.into());
                let r: TokenResponse = self
                    .send("the token endpoint", || {
                        self.http.post(&uri).form(&[
                            ("grant_type", "refresh_token"),
                            ("client_id", u.client_id.as_str()),
                            ("client_secret", u.client_secret.as_str()),
                            ("refresh_token", u.refresh_token.as_str()),
                        ])
                    })
                    .await?;
                Ok(r.token())
            }
            Source::Metadata(host) => {
                let url = format!(
                    "http://{host}/computeMetadata/v1/instance/service-accounts/default/token?scopes={scope}"
                );
                let r: TokenResponse = self
                    .send("the metadata server", || {
                        self.http.get(&url).header("Metadata-Flavor", "Google")
                    })
                    .await
                    .map_err(|e| match e {
                        Error::RetriesExhausted { last, .. } if matches!(*last, Error::Network(_)) => {
                            Error::Auth(format!(
                                "no Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS is not set, \
                                 there is no gcloud credentials file, and the metadata server at {host} does not \
                                 answer ({last}); set `credentials_json`"
                            ))
                        }
                        e => e,
                    })?;
                Ok(r.token())
            }
            Source::External(x) => {
                let subject = self.subject_token(&x.credential_source).await?;
                let sts_scope = if x.service_account_impersonation_url.is_some() {
                    CLOUD_PLATFORM
                } else {
                    scope
                };
                let r: TokenResponse = self
                    .send("the STS token exchange", || {
                        self.http.post(&x.token_url).form(&[
                            (
                                "grant_type",
                                "urn:ietf:params:oauth:grant-type:token-exchange",
                            ),
                            ("audience", x.audience.as_str()),
                            ("scope", sts_scope),
                            (
                                "requested_token_type",
                                "urn:ietf:params:oauth:token-type:access_token",
                            ),
                            ("subject_token_type", x.subject_token_type.as_str()),
                            ("subject_token", subject.expose()),
                        ])
                    })
                    .await?;
                match &x.service_account_impersonation_url {
                    Some(url) => self.impersonate(url, &r.access_token, &[]).await,
                    None => Ok(r.token()),
                }
            }
        }
    }

    /// The subject token of an external account: a file's content or a URL's answer, as text or a JSON
    /// field.
    async fn subject_token(&self, src: &CredentialSource) -> Result<Secret> {
        let raw = if let Some(path) = &src.file {
            std::fs::read_to_string(path).map_err(|e| {
                Error::Auth(format!("cannot read the subject token file {path}: {e}"))
            })?
        } else if let Some(url) = &src.url {
            let resp = self
                .send_raw("the subject token URL", || {
                    let mut req = self.http.get(url);
                    for (k, v) in src.headers.iter().flatten() {
                        req = req.header(k, v);
                    }
                    req
                })
                .await?;
            resp
        } else if src.environment_id.is_some() || src.executable.is_some() {
            return Err(Error::Config(
                "external_account: AWS and executable-sourced credentials are not supported; use a file- or \
                 URL-sourced credential_source"
                    .into(),
            ));
        } else {
            return Err(Error::Config(
                "external_account: `credential_source` has neither `file` nor `url`".into(),
            ));
        };
        let format = src.format.as_ref();
        match format.and_then(|f| f.kind.as_deref()) {
            Some("json") => {
                let field = format
                    .and_then(|f| f.subject_token_field_name.as_deref())
                    .ok_or_else(|| {
                        Error::Config(
                            "external_account: format `json` needs `subject_token_field_name`"
                                .into(),
                        )
                    })?;
                let v: serde_json::Value = serde_json::from_str(&raw).map_err(|_| {
                    Error::Auth("the subject token source did not hold JSON".into())
                })?;
                v.get(field)
                    .and_then(|t| t.as_str())
                    .map(Secret::new)
                    .ok_or_else(|| {
                        Error::Auth(format!("the subject token JSON has no string `{field}`"))
                    })
            }
            _ => Ok(Secret::new(raw.trim().to_string())),
        }
    }

    /// `generateAccessToken` of the IAM credentials API: a token of the target service account.
    async fn impersonate(&self, url: &str, token: &str, delegates: &[String]) -> Result<Token> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Answer {
            access_token: String,
            #[serde(default)]
            expire_time: Option<String>,
        }
        let body =
            serde_json::json!({"scope": [SCOPE], "delegates": delegates, "lifetime": "3600s"});
        let a: Answer = self
            .send("the service-account impersonation endpoint", || {
                self.http.post(url).bearer_auth(token).json(&body)
            })
            .await?;
        let lifetime = a
            .expire_time
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .and_then(|t| {
                (t.with_timezone(&chrono::Utc) - chrono::Utc::now())
                    .to_std()
                    .ok()
            })
            .unwrap_or(Duration::from_secs(3600));
        Ok(Token {
            access_token: a.access_token,
            lifetime,
        })
    }

    /// Sends a token request built by `build`, retrying network errors, 408, 429 and 5xx; parses JSON.
    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<T> {
        let body = self.send_raw(what, build).await?;
        serde_json::from_str(&body).map_err(|e| {
            Error::Auth(format!(
                "unreadable answer from {what}: {}",
                strip_secret(&e)
            ))
        })
    }

    async fn send_raw(
        &self,
        what: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<String> {
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let last = match build().send().await {
                Err(e) => Error::Network(format!("{what}: {e}")),
                Ok(resp) => {
                    let status = resp.status();
                    let body = resp.text().await.unwrap_or_default();
                    if status.is_success() {
                        return Ok(body);
                    }
                    let detail: String = body.chars().take(300).collect();
                    let retryable = status.is_server_error()
                        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                        || status == reqwest::StatusCode::REQUEST_TIMEOUT;
                    if !retryable {
                        return Err(Error::Auth(format!("{what} answered {status}: {detail}")));
                    }
                    Error::Api {
                        status: status.as_u16(),
                        reason: String::new(),
                        message: format!("{what} answered {status}: {detail}"),
                        retryable: true,
                    }
                }
            };
            let Some(wait) = TOKEN_RETRY.next_delay(attempt, started) else {
                return Err(Error::RetriesExhausted {
                    attempts: attempt,
                    elapsed_s: started.elapsed().as_secs_f64(),
                    last: Box::new(last),
                });
            };
            tracing::warn!(
                "{last}; retrying the token request in {:.1}s (attempt {})",
                wait.as_secs_f64(),
                attempt + 1
            );
            tokio::time::sleep(wait).await;
        }
    }
}

/// Reads one credentials document; `top` is false inside `source_credentials` (no nested impersonation).
fn parse_source(v: serde_json::Value, top: bool) -> Result<Source> {
    match v.get("type").and_then(|t| t.as_str()) {
        Some("authorized_user") => {
            let u: AuthorizedUser = serde_json::from_value(v).map_err(|e| {
                Error::Config(format!("authorized-user credentials: {}", strip_secret(&e)))
            })?;
            Ok(Source::AuthorizedUser(u))
        }
        Some("external_account") => {
            let x: ExternalAccount = serde_json::from_value(v).map_err(|e| {
                Error::Config(format!(
                    "external_account credentials: {}",
                    strip_secret(&e)
                ))
            })?;
            Ok(Source::External(Box::new(x)))
        }
        Some("impersonated_service_account") if top => {
            let url = v
                .get("service_account_impersonation_url")
                .and_then(|u| u.as_str())
                .ok_or_else(|| {
                    Error::Config(
                        "impersonated_service_account: missing `service_account_impersonation_url`"
                            .into(),
                    )
                })?
                .to_string();
            let delegates = v
                .get("delegates")
                .and_then(|d| d.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|d| d.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let inner = v.get("source_credentials").cloned().ok_or_else(|| {
                Error::Config("impersonated_service_account: missing `source_credentials`".into())
            })?;
            Ok(Source::Impersonated {
                source: Box::new(parse_source(inner, false)?),
                url,
                delegates,
            })
        }
        Some("impersonated_service_account") => Err(Error::Config(
            "impersonated_service_account: `source_credentials` may not itself be impersonated"
                .into(),
        )),
        _ => {
            let key: ServiceAccountKey = serde_json::from_value(v).map_err(|e| {
                Error::Config(format!(
                    "`credentials_json` is not a service-account key: {}",
                    strip_secret(&e)
                ))
            })?;
            let pk = SigningKey::from_rsa_pem(&key.private_key).map_err(|_| {
                Error::Config(
                    "the `private_key` of `credentials_json` is not an RSA PEM key".into(),
                )
            })?;
            Ok(Source::ServiceAccount(key, Box::new(pk)))
        }
    }
}

fn strip_secret(e: &serde_json::Error) -> String {
    // serde's messages name fields, never values; keep only the first line to be safe.
    e.to_string().lines().next().unwrap_or_default().to_string()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The JWT of the bearer grant: `{iss, scope, aud, iat, exp}` signed with RS256, valid one hour.
pub fn sign_jwt(key: &ServiceAccountKey, pk: &SigningKey, aud: &str, now: u64) -> Result<String> {
    sign_jwt_scoped(key, pk, aud, SCOPE, now)
}

fn sign_jwt_scoped(
    key: &ServiceAccountKey,
    pk: &SigningKey,
    aud: &str,
    scope: &str,
    now: u64,
) -> Result<String> {
    let claims = serde_json::json!({
        "iss": key.client_email, "scope": scope, "aud": aud, "iat": now, "exp": now + 3600,
    });
    let header = JwtHeader {
        typ: Some("JWT"),
        ..JwtHeader::default()
    };
    pk.sign(&header, &claims)
        .map_err(|e| Error::Auth(format!("cannot sign the JWT: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};

    #[test]
    fn jwt_is_rs256_and_verifies() {
        use rsa::signature::Verifier;
        let pk = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
        let pem = pk.to_pkcs8_pem(LineEnding::LF).unwrap();
        let json = serde_json::json!({"type": "service_account", "client_email": "sa@p.iam.gserviceaccount.com",
            "private_key": pem.as_str(), "token_uri": "http://127.0.0.1:1/token", "project_id": "p"});
        let provider = TokenProvider::from_json(&Secret::new(json.to_string())).unwrap();
        assert_eq!(provider.key_project(), Some("p"));
        let Source::ServiceAccount(key, signer) = &provider.source else {
            panic!()
        };
        let jwt = sign_jwt(key, signer, "http://127.0.0.1:1/token", 1000).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let claims: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "sa@p.iam.gserviceaccount.com");
        assert_eq!(claims["exp"], 4600);
        assert_eq!(claims["scope"], SCOPE);
        let header: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, serde_json::json!({"alg": "RS256", "typ": "JWT"}));
        let verifier = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(pk.to_public_key());
        let sig =
            rsa::pkcs1v15::Signature::try_from(b64.decode(parts[2]).unwrap().as_slice()).unwrap();
        verifier
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
            .unwrap();
    }

    #[test]
    fn bad_keys_do_not_echo_secrets() {
        let e = TokenProvider::from_json(&Secret::new(
            r#"{"client_email":"a","private_key":"-----BEGIN PRIVATE KEY-----\nsupersecret\n-----END PRIVATE KEY-----"}"#,
        ))
        .err()
        .unwrap();
        assert!(!e.to_string().contains("supersecret"));
        assert!(
            TokenProvider::from_json(&Secret::new("not json supersecret"))
                .err()
                .unwrap()
                .to_string()
                .contains("not a valid")
        );
    }
}
