//! Request authentication: SSWS API tokens, and OAuth 2.0 access tokens (private-key client credentials or
//! a refresh token) cached until shortly before expiry, with DPoP when the org demands it.

use crate::config::Auth;
use crate::error::{Error, Result};
use crate::http::client::{
    classify_send_error, read_capped, SendFailure, MAX_TOKEN_RESPONSE_BYTES,
};
use crate::okta::jwt::{client_assertion, dpop_proof, SigningKey};
use crate::secret::Secret;
use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use url::Url;

/// A cached token is renewed this long before it expires.
pub const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Attempts of one token request (the DPoP nonce dance takes up to three).
pub const TOKEN_REQUEST_ATTEMPTS: u32 = 4;

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
    token: Mutex<Option<Token>>,
}

struct OAuthSession {
    grant: Grant,
    token_url: Url,
    state: Mutex<TokenState>,
}

enum Grant {
    PrivateKey {
        client_id: String,
        key_id: Option<String>,
        key: SigningKey,
        scopes: String,
    },
    RefreshToken {
        client_id: String,
        client_secret: Secret,
        refresh_token: Secret,
    },
}

#[derive(Default)]
struct TokenState {
    token: Option<Token>,
    dpop: Option<SigningKey>,
    nonce: Option<String>,
}

struct Token {
    access: Secret,
    dpop: bool,
    expires_at: Instant,
}

/// The headers that authenticate one request.
pub type AuthHeaders = Vec<(HeaderName, HeaderValue)>;

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
                    key: SigningKey::from_pem(private_key.expose())?,
                    scopes: scopes.clone(),
                },
                token_url,
                state: Mutex::new(TokenState::default()),
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
                state: Mutex::new(TokenState::default()),
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
                crate::streams::list::encode_segment(&asa.team)
            ))
            .map_err(|e| Error::Config(format!("bad asa.base_url: {e}")))?;
        Ok(Self {
            kind: Kind::Asa(Box::new(AsaSession {
                token_url,
                key_id: asa.key_id.clone(),
                key_secret: asa.key_secret.clone(),
                token: Mutex::new(None),
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
                s.state.lock().await.token = None;
                true
            }
            Kind::Asa(s) => {
                *s.token.lock().await = None;
                true
            }
        }
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
        let mut st = self.state.lock().await;
        let fresh = st
            .token
            .as_ref()
            .is_some_and(|t| t.expires_at > Instant::now() + TOKEN_REFRESH_MARGIN);
        if !fresh {
            self.fetch_token(http, &mut st).await?;
        }
        let token = st.token.as_ref().ok_or_else(|| Error::Auth {
            message: "no access token".into(),
            internal: "token endpoint returned nothing usable".into(),
        })?;
        if token.dpop {
            let key = st.dpop.as_ref().ok_or_else(|| Error::Auth {
                message: "DPoP token without a DPoP key".into(),
                internal: String::new(),
            })?;
            let proof = dpop_proof(
                key,
                method,
                url,
                st.nonce.as_deref(),
                Some(token.access.expose()),
            );
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

    async fn fetch_token(&self, http: &reqwest::Client, st: &mut TokenState) -> Result<()> {
        let mut last = String::new();
        for _ in 0..TOKEN_REQUEST_ATTEMPTS {
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
                        ),
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
            if let Some(key) = &st.dpop {
                req = req.header(
                    "DPoP",
                    dpop_proof(key, "POST", &self.token_url, st.nonce.as_deref(), None),
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
                let lifetime = body["expires_in"].as_u64().unwrap_or(3600);
                st.token = Some(Token {
                    access: Secret::new(access),
                    dpop: body["token_type"]
                        .as_str()
                        .is_some_and(|t| t.eq_ignore_ascii_case("dpop")),
                    expires_at: Instant::now() + Duration::from_secs(lifetime),
                });
                tracing::info!(
                    expires_in = lifetime,
                    dpop = st.dpop.is_some(),
                    "obtained an OAuth access token"
                );
                return Ok(());
            }
            let error = body["error"].as_str().unwrap_or_default().to_string();
            let description = body["error_description"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            last = format!("HTTP {status}: {error} {description}");
            match error.as_str() {
                "invalid_dpop_proof" if st.dpop.is_none() => {
                    tracing::info!(
                        "the OAuth app requires DPoP; retrying the token request with a DPoP proof"
                    );
                    st.dpop = Some(SigningKey::ephemeral_ec());
                }
                "use_dpop_nonce" => {
                    if st.dpop.is_none() {
                        st.dpop = Some(SigningKey::ephemeral_ec());
                    }
                    st.nonce = nonce;
                }
                _ if status.is_server_error() => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
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
        let mut guard = self.token.lock().await;
        let fresh = guard
            .as_ref()
            .is_some_and(|t| t.expires_at > Instant::now() + TOKEN_REFRESH_MARGIN);
        if !fresh {
            *guard = Some(self.fetch(http).await?);
        }
        let token = guard
            .as_ref()
            .map(|t| t.access.expose().to_string())
            .unwrap_or_default();
        Ok(vec![(
            AUTHORIZATION,
            header_value(&format!("Bearer {token}"))?,
        )])
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<Token> {
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
        let expires_at = v["expires_at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .and_then(|t| {
                (t.with_timezone(&chrono::Utc) - chrono::Utc::now())
                    .to_std()
                    .ok()
            })
            .map_or_else(
                || Instant::now() + Duration::from_secs(3600),
                |d| Instant::now() + d,
            );
        tracing::info!("obtained an ASA service token");
        Ok(Token {
            access: Secret::new(token),
            dpop: false,
            expires_at,
        })
    }
}

/// A failed token request: DNS, certificate and redirect failures as the API client classifies them,
/// anything else a transient failure.
fn token_send_error(e: &reqwest::Error, url: &Url, what: &str) -> Error {
    match classify_send_error(e, url) {
        SendFailure::Fatal(e) => e,
        SendFailure::Retry(reason) => Error::Exhausted {
            path: url.path().into(),
            attempts: 1,
            elapsed_secs: 0,
            last: format!("{what} failed: {reason}"),
        },
    }
}

/// A reqwest error's text without the URL (which is fine) and without anything else request-specific.
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
