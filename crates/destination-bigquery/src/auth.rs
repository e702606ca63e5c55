//! Google credentials: service-account keys (JWT bearer grant, RS256 signed here), Application Default
//! Credentials, or nothing (a loopback emulator). Tokens are cached and refreshed five minutes before expiry.

use crate::config::Secret;
use crate::error::{Error, Result};
use base64::Engine;
use serde::Deserialize;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

/// The only scope needed for datasets, tables, load, query and copy jobs.
pub const SCOPE: &str = "https://www.googleapis.com/auth/bigquery";
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
const METADATA_TOKEN_URL: &str =
    "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token";
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

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

#[derive(Clone)]
enum Source {
    None,
    ServiceAccount(ServiceAccountKey, Box<rsa::RsaPrivateKey>),
    AuthorizedUser(AuthorizedUser),
    Metadata,
}

/// Hands out bearer tokens; cheap to share behind an `Arc`.
pub struct TokenProvider {
    source: Source,
    http: reqwest::Client,
    cached: Mutex<Option<(Secret, Instant)>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<f64>,
}

impl TokenProvider {
    /// No credentials: requests carry no `Authorization` header (emulators only).
    pub fn none() -> Self {
        Self::with_source(Source::None)
    }

    /// From `credentials_json` (a service-account key or an authorized-user file).
    pub fn from_json(json: &Secret) -> Result<Self> {
        let v: serde_json::Value = serde_json::from_str(json.expose())
            .map_err(|_| Error::Config("`credentials_json` is not a valid JSON document".into()))?;
        match v.get("type").and_then(|t| t.as_str()) {
            Some("authorized_user") => {
                let u: AuthorizedUser = serde_json::from_value(v)
                    .map_err(|e| Error::Config(format!("authorized-user credentials: {e}")))?;
                Ok(Self::with_source(Source::AuthorizedUser(u)))
            }
            _ => {
                let key: ServiceAccountKey = serde_json::from_value(v).map_err(|e| {
                    Error::Config(format!(
                        "`credentials_json` is not a service-account key: {}",
                        strip_secret(&e)
                    ))
                })?;
                let pk = parse_private_key(&key.private_key)?;
                Ok(Self::with_source(Source::ServiceAccount(key, Box::new(pk))))
            }
        }
    }

    /// Application Default Credentials: `GOOGLE_APPLICATION_CREDENTIALS`, then gcloud's well-known file,
    /// then the metadata server of the machine we run on.
    pub fn application_default() -> Result<Self> {
        let path = std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS")
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
            None => Ok(Self::with_source(Source::Metadata)),
        }
    }

    fn with_source(source: Source) -> Self {
        TokenProvider {
            source,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap_or_default(),
            cached: Mutex::new(None),
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
        let mut cached = self.cached.lock().await;
        if let Some((tok, expires)) = cached.as_ref() {
            if Instant::now() + REFRESH_MARGIN < *expires {
                return Ok(Some(tok.clone()));
            }
        }
        let resp = self.fetch().await?;
        let lifetime = Duration::from_secs_f64(resp.expires_in.unwrap_or(3600.0).max(0.0));
        let tok = Secret::new(resp.access_token);
        *cached = Some((tok.clone(), Instant::now() + lifetime));
        Ok(Some(tok))
    }

    /// Forgets the cached token (after a 401), so the next call fetches a new one.
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    async fn fetch(&self) -> Result<TokenResponse> {
        let req = match &self.source {
            Source::None => return Err(Error::Internal("no credentials".into())),
            Source::ServiceAccount(key, pk) => {
                let uri = key
                    .token_uri
                    .clone()
                    .unwrap_or_else(|| DEFAULT_TOKEN_URI.into());
                let jwt = sign_jwt(key, pk, &uri, now_secs())?;
                self.http.post(&uri).form(&[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    ("assertion", jwt.as_str()),
                ])
            }
            Source::AuthorizedUser(u) => {
                let uri = u
                    .token_uri
                    .clone()
                    .unwrap_or_else(|| DEFAULT_TOKEN_URI.into());
                self.http.post(uri).form(&[
                    ("grant_type", "refresh_token"),
                    ("client_id", u.client_id.as_str()),
                    ("client_secret", u.client_secret.as_str()),
                    ("refresh_token", u.refresh_token.as_str()),
                ])
            }
            Source::Metadata => self
                .http
                .get(METADATA_TOKEN_URL)
                .header("Metadata-Flavor", "Google"),
        };
        let resp = req
            .send()
            .await
            .map_err(|e| Error::Auth(format!("token request failed: {e}")))?;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            let detail: String = body.chars().take(300).collect();
            return Err(Error::Auth(format!(
                "the token endpoint answered {status}: {detail}"
            )));
        }
        serde_json::from_str(&body)
            .map_err(|e| Error::Auth(format!("unreadable token response: {e}")))
    }
}

fn strip_secret(e: &serde_json::Error) -> String {
    // serde's messages name fields, never values; keep only the first line to be safe.
    e.to_string().lines().next().unwrap_or_default().to_string()
}

fn parse_private_key(pem: &str) -> Result<rsa::RsaPrivateKey> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    rsa::RsaPrivateKey::from_pkcs8_pem(pem)
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem))
        .map_err(|_| {
            Error::Config("the `private_key` of `credentials_json` is not an RSA PEM key".into())
        })
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The JWT of the bearer grant: `{iss, scope, aud, iat, exp}` signed with RS256, valid one hour.
pub fn sign_jwt(
    key: &ServiceAccountKey,
    pk: &rsa::RsaPrivateKey,
    aud: &str,
    now: u64,
) -> Result<String> {
    use rsa::signature::{SignatureEncoding, Signer};
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": key.client_email, "scope": SCOPE, "aud": aud, "iat": now, "exp": now + 3600,
    });
    let claims = b64.encode(claims.to_string());
    let signing_input = format!("{header}.{claims}");
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(pk.clone());
    let sig = signer
        .try_sign(signing_input.as_bytes())
        .map_err(|e| Error::Auth(format!("cannot sign the JWT: {e}")))?;
    Ok(format!("{signing_input}.{}", b64.encode(sig.to_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let Source::ServiceAccount(key, pk) = &provider.source else {
            panic!()
        };
        let jwt = sign_jwt(key, pk, "http://127.0.0.1:1/token", 1000).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let claims: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "sa@p.iam.gserviceaccount.com");
        assert_eq!(claims["exp"], 4600);
        assert_eq!(claims["scope"], SCOPE);
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
