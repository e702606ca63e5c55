//! Request authentication: SSWS API tokens, and OAuth 2.0 access tokens (private-key client credentials or
//! a refresh token) cached until shortly before expiry, with DPoP when the org demands it.

use crate::config::Auth;
use crate::error::{Error, Result, Transient};
use crate::http::client::{
    classify_send_error, read_capped, SendFailure, MAX_TOKEN_RESPONSE_BYTES,
};
pub use crate::http::AuthHeaders;
use crate::http::RequestAuth;
use crate::okta::jwt::{client_assertion, dpop_proof, ephemeral_key, signing_key, SigningKey};
use crate::secret::Secret;
use connector_kit::{RetryPolicy, TokenCache};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};
use std::time::Duration;
use tokio::sync::Mutex;
use url::Url;

/// A cached token is renewed this long before it expires.
pub const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Attempts of one token request (the DPoP nonce dance takes up to three).
pub const TOKEN_REQUEST_ATTEMPTS: u32 = 4;
/// The wait after a token endpoint's 5xx: full jitter up to one second.
const TOKEN_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: TOKEN_REQUEST_ATTEMPTS,
    base: Duration::from_secs(1),
    cap: Duration::from_secs(1),
    max_elapsed: Duration::from_secs(60),
};
/// Lifetime of a token whose answer does not say.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// Adds credentials to requests.
pub struct Authenticator {
    kind: Kind,
}

enum Kind {
    Ssws(Secret),
    OAuth(Box<OAuthSession>),
    Asa(Box<AsaSession>),
}

/// An Advanced Server Access service user: key id and secret exchanged for a bearer token.
struct AsaSession {
    token_url: Url,
    key_id: String,
    key_secret: Secret,
    token: TokenCache<Secret>,
}

struct OAuthSession {
    grant: Grant,
    token_url: Url,
    token: TokenCache<Token>,
    dpop: Mutex<DpopState>,
}

enum Grant {
    PrivateKey {
        client_id: String,
        key_id: Option<String>,
        key: Box<SigningKey>,
        scopes: String,
    },
    RefreshToken {
        client_id: String,
        client_secret: Secret,
        refresh_token: Secret,
    },
}

/// The DPoP key (once the org asked for DPoP) and the server's latest nonce.
#[derive(Default)]
struct DpopState {
    key: Option<SigningKey>,
    nonce: Option<String>,
}

#[derive(Clone)]
struct Token {
    access: Secret,
    dpop: bool,
}

impl Authenticator {
    pub fn new(auth: &Auth, base_url: &Url) -> Result<Self> {
        let token_url = base_url
            .join("/oauth2/v1/token")
            .map_err(|e| Error::Config(format!("bad base URL: {e}")))?;
        let kind = match auth {
            Auth::ApiToken(t) => Kind::Ssws(t.clone()),
            Auth::PrivateKey {
                client_id,
                key_id,
                private_key,
                scopes,
            } => Kind::OAuth(Box::new(OAuthSession {
                grant: Grant::PrivateKey {
                    client_id: client_id.clone(),
                    key_id: key_id.clone(),
                    key: Box::new(signing_key(private_key.expose())?),
                    scopes: scopes.clone(),
                },
                token_url,
                token: TokenCache::new(TOKEN_REFRESH_MARGIN),
                dpop: Mutex::new(DpopState::default()),
            })),
            Auth::RefreshToken {
                client_id,
                client_secret,
                refresh_token,
            } => Kind::OAuth(Box::new(OAuthSession {
                grant: Grant::RefreshToken {
                    client_id: client_id.clone(),
                    client_secret: client_secret.clone(),
                    refresh_token: refresh_token.clone(),
                },
                token_url,
                token: TokenCache::new(TOKEN_REFRESH_MARGIN),
                dpop: Mutex::new(DpopState::default()),
            })),
        };
        Ok(Self { kind })
    }

    /// ASA's service-token exchange (`POST /v1/teams/{team}/service_token`).
    pub fn asa(asa: &crate::config::AsaSettings) -> Result<Self> {
        let token_url = asa
            .base_url
            .join(&format!(
                "/v1/teams/{}/service_token",
                crate::http::url::encode_segment(&asa.team)
            ))
            .map_err(|e| Error::Config(format!("bad asa.base_url: {e}")))?;
        Ok(Self {
            kind: Kind::Asa(Box::new(AsaSession {
                token_url,
                key_id: asa.key_id.clone(),
                key_secret: asa.key_secret.clone(),
                token: TokenCache::new(TOKEN_REFRESH_MARGIN),
            })),
        })
    }

    /// The headers for one API request.
    pub async fn headers(
        &self,
        http: &reqwest::Client,
        method: &str,
        url: &Url,
    ) -> Result<AuthHeaders> {
        match &self.kind {
            Kind::Ssws(t) => Ok(vec![(
                AUTHORIZATION,
                header_value(&format!("SSWS {}", t.expose()))?,
            )]),
            Kind::OAuth(s) => s.headers(http, method, url).await,
            Kind::Asa(s) => s.headers(http).await,
        }
    }

    /// Forgets a cached token after Okta rejected it, so the next request gets a new one.
    /// Returns false when there is nothing to renew (SSWS): the rejection is final.
    pub async fn invalidate(&self) -> bool {
        match &self.kind {
            Kind::Ssws(_) => false,
            Kind::OAuth(s) => {
                s.token.invalidate().await;
                true
            }
            Kind::Asa(s) => {
                s.token.invalidate().await;
                true
            }
        }
    }
}

impl RequestAuth for Authenticator {
    fn headers<'a>(
        &'a self,
        http: &'a reqwest::Client,
        method: &'a str,
        url: &'a Url,
    ) -> BoxFuture<'a, Result<AuthHeaders>> {
        Authenticator::headers(self, http, method, url).boxed()
    }

    fn invalidate(&self) -> BoxFuture<'_, bool> {
        Authenticator::invalidate(self).boxed()
    }
}

fn header_value(s: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(s).map_err(|_| {
        Error::Config("the credentials contain characters not allowed in a header".into())
    })
}

impl OAuthSession {
    async fn headers(
        &self,
        http: &reqwest::Client,
        method: &str,
        url: &Url,
    ) -> Result<AuthHeaders> {
        let token = self.token.get(|| self.fetch_token(http)).await?;
        if token.dpop {
            let st = self.dpop.lock().await;
            let key = st.key.as_ref().ok_or_else(|| Error::Auth {
                message: "DPoP token without a DPoP key".into(),
                internal: String::new(),
            })?;
            let proof = dpop_proof(
                key,
                method,
                url,
                st.nonce.as_deref(),
                Some(token.access.expose()),
            )?;
            Ok(vec![
                (
                    AUTHORIZATION,
                    header_value(&format!("DPoP {}", token.access.expose()))?,
                ),
                (HeaderName::from_static("dpop"), header_value(&proof)?),
            ])
        } else {
            Ok(vec![(
                AUTHORIZATION,
                header_value(&format!("Bearer {}", token.access.expose()))?,
            )])
        }
    }

    /// Gets a new access token and how long it is valid (the cache holds the one fetch at a time).
    async fn fetch_token(&self, http: &reqwest::Client) -> Result<(Token, Duration)> {
        let mut st = self.dpop.lock().await;
        let mut last = String::new();
        for attempt in 0..TOKEN_REQUEST_ATTEMPTS {
            let mut form: Vec<(&str, String)> = Vec::new();
            let mut req = http
                .post(self.token_url.clone())
                .header("Accept", "application/json");
            match &self.grant {
                Grant::PrivateKey {
                    client_id,
                    key_id,
                    key,
                    scopes,
                } => {
                    form.push(("grant_type", "client_credentials".into()));
                    form.push(("scope", scopes.clone()));
                    form.push((
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                    ));
                    form.push((
                        "client_assertion",
                        client_assertion(
                            key,
                            client_id,
                            key_id.as_deref(),
                            self.token_url.as_str(),
                        )?,
                    ));
                }
                Grant::RefreshToken {
                    client_id,
                    client_secret,
                    refresh_token,
                } => {
                    form.push(("grant_type", "refresh_token".into()));
                    form.push(("refresh_token", refresh_token.expose().to_string()));
                    req = req.basic_auth(client_id, Some(client_secret.expose()));
                }
            }
            if let Some(key) = &st.key {
                req = req.header(
                    "DPoP",
                    dpop_proof(key, "POST", &self.token_url, st.nonce.as_deref(), None)?,
                );
            }
            let resp = req
                .form(&form)
                .send()
                .await
                .map_err(|e| token_send_error(&e, &self.token_url, "token request"))?;
            let status = resp.status();
            let nonce = resp
                .headers()
                .get("dpop-nonce")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body: serde_json::Value = read_capped(resp, MAX_TOKEN_RESPONSE_BYTES)
                .await
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            if status.is_success() {
                let access = body["access_token"].as_str().unwrap_or_default();
                if access.is_empty() {
                    return Err(Error::Auth {
                        message: "the token endpoint returned no access_token".into(),
                        internal: String::new(),
                    });
                }
                let lifetime = body["expires_in"]
                    .as_u64()
                    .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs);
                let token = Token {
                    access: Secret::new(access),
                    dpop: body["token_type"]
                        .as_str()
                        .is_some_and(|t| t.eq_ignore_ascii_case("dpop")),
                };
                tracing::info!(
                    expires_in = lifetime.as_secs(),
                    dpop = st.key.is_some(),
                    "obtained an OAuth access token"
                );
                return Ok((token, lifetime));
            }
            let error = body["error"].as_str().unwrap_or_default().to_string();
            let description = body["error_description"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            last = format!("HTTP {status}: {error} {description}");
            match error.as_str() {
                "invalid_dpop_proof" if st.key.is_none() => {
                    tracing::info!(
                        "the OAuth app requires DPoP; retrying the token request with a DPoP proof"
                    );
                    st.key = Some(ephemeral_key()?);
                }
                "use_dpop_nonce" => {
                    if st.key.is_none() {
                        st.key = Some(ephemeral_key()?);
                    }
                    st.nonce = nonce;
                }
                _ if status.is_server_error() => {
                    tokio::time::sleep(TOKEN_RETRY.delay(attempt)).await;
                }
                _ => {
                    return Err(Error::Auth {
                        message: format!("{error}: {description}")
                            .trim_matches([' ', ':'])
                            .to_string(),
                        internal: last,
                    })
                }
            }
        }
        Err(Error::Auth {
            message: format!("could not obtain an access token ({last})"),
            internal: last,
        })
    }
}

impl AsaSession {
    async fn headers(&self, http: &reqwest::Client) -> Result<AuthHeaders> {
        let token = self.token.get(|| self.fetch(http)).await?;
        Ok(vec![(
            AUTHORIZATION,
            header_value(&format!("Bearer {}", token.expose()))?,
        )])
    }

    /// Gets a new service token and how long it is valid.
    async fn fetch(&self, http: &reqwest::Client) -> Result<(Secret, Duration)> {
        let body =
            serde_json::json!({"key_id": self.key_id, "key_secret": self.key_secret.expose()});
        let resp = http
            .post(self.token_url.clone())
            .header("Accept", "application/json")
            .json(&body)
            .send()
            .await
            .map_err(|e| token_send_error(&e, &self.token_url, "ASA service token request"))?;
        let status = resp.status();
        let v: serde_json::Value = read_capped(resp, MAX_TOKEN_RESPONSE_BYTES)
            .await
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let token = v["bearer_token"].as_str().unwrap_or_default();
        if !status.is_success() || token.is_empty() {
            let kind = v["type"]
                .as_str()
                .or_else(|| v["error"].as_str())
                .unwrap_or("no token");
            return Err(Error::Auth {
                message: format!(
                    "Advanced Server Access rejected the service user key ({kind}, HTTP {})",
                    status.as_u16()
                ),
                internal: format!(
                    "POST {} answered HTTP {}",
                    self.token_url.path(),
                    status.as_u16()
                ),
            });
        }
        let lifetime = v["expires_at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .and_then(|t| {
                (t.with_timezone(&chrono::Utc) - chrono::Utc::now())
                    .to_std()
                    .ok()
            })
            .unwrap_or(DEFAULT_TOKEN_LIFETIME);
        tracing::info!("obtained an ASA service token");
        Ok((Secret::new(token), lifetime))
    }
}

/// A failed token request: DNS, certificate and redirect failures as the API client classifies them,
/// anything else a transient failure.
fn token_send_error(e: &reqwest::Error, url: &Url, what: &str) -> Error {
    match classify_send_error(e, url) {
        SendFailure::Fatal(e) => e,
        SendFailure::Retry(_, reason) => Error::Exhausted {
            path: url.path().into(),
            attempts: 1,
            elapsed_secs: 0,
            last: format!("{what} failed: {reason}"),
            kind: Transient::TokenRequest,
        },
    }
}

pub use crate::http::client::without_url;
