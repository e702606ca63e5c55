//! The connector configuration: the document users write (its JSON Schema is `spec.json`) and the
//! validated, immutable [`Settings`] the rest of the program reads.
//!
//! The document accepts Airbyte's own `source-okta` configuration unchanged (`domain`, `credentials`,
//! `start_date`) so users can swap connectors, plus the options a production sync needs.

use crate::error::{Error, Result};
use crate::secret::{scrub, secrets_in, Secret};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use url::Url;

/// Default age a System Log event must reach before the change feed uses it.
pub const DEFAULT_SYSTEM_LOG_SETTLE_SECS: u64 = 60;
/// Default share of each Okta rate-limit bucket this sync may use.
pub const DEFAULT_RATE_LIMIT_SHARE: f64 = 0.5;
/// Default number of requests in flight at once (Okta's org-wide concurrency cap is 75).
pub const DEFAULT_MAX_CONCURRENCY: u32 = 4;
/// Default per-request timeout.
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 60;
/// Default number of retries of one request on 5xx, timeouts and resets.
pub const DEFAULT_MAX_RETRIES: u32 = 6;
/// Default longest wait for a rate-limit window to reset before retrying anyway.
pub const DEFAULT_MAX_RATE_LIMIT_WAIT_SECS: u64 = 120;
/// Default largest decompressed response body, in MB (a real Okta page is well under 10 MB).
pub const DEFAULT_MAX_RESPONSE_MB: u64 = 64;
/// How far ahead of the local clock a start date or a saved cursor may be before it counts as "in the
/// future" (clock skew between this machine, Okta and whoever wrote the state).
pub const CLOCK_SKEW_ALLOWANCE: chrono::Duration = chrono::Duration::minutes(5);
/// Okta keeps System Log events for 90 days.
pub const SYSTEM_LOG_RETENTION_DAYS: i64 = 90;
/// Default OAuth scopes requested for a service app when the config names none.
pub const DEFAULT_OAUTH_SCOPES: &str =
    "okta.users.read okta.groups.read okta.apps.read okta.logs.read \
    okta.roles.read okta.userTypes.read okta.schemas.read";

/// Okta source configuration.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(title = "Okta Source Spec", extend("additionalProperties" = true))]
pub struct ConfigDoc {
    /// The Okta domain: the org's subdomain (`acme` for acme.okta.com) or a full host such as
    /// `acme.okta-emea.com`, `acme.oktapreview.com` or a custom domain.
    #[serde(default)]
    #[schemars(title = "Okta domain", extend("order" = 0))]
    pub domain: Option<String>,

    /// How to authenticate to Okta.
    #[schemars(title = "Authorization method", extend("order" = 1, "type" = "object"))]
    pub credentials: Credentials,

    /// UTC date and time (`2024-01-01T00:00:00Z`) from which the event streams (`system_log`,
    /// `asa_audits`) start on their first sync; it bounds history only. Entity and relationship streams
    /// always read everything that exists on their first sync. System Log reads are clamped to Okta's
    /// 90-day retention. Empty: every event Okta keeps.
    #[serde(default)]
    #[schemars(title = "Start date", extend("order" = 2, "format" = "date-time",
        "examples" = ["2024-01-01T00:00:00Z"]))]
    pub start_date: Option<String>,

    /// Full base URL of the org (`https://acme.okta.com`); overrides `domain`. Plain `http` is accepted
    /// only for loopback hosts (local simulators).
    #[serde(default)]
    #[schemars(title = "Base URL", extend("order" = 3))]
    pub base_url: Option<String>,

    /// Share of each Okta rate-limit bucket (per minute) this sync may use, between 0.05 and 1.
    /// Leave headroom for the org's other integrations. Default 0.5.
    #[serde(default)]
    #[schemars(title = "Rate-limit share", range(min = 0.05, max = 1.0), extend("order" = 4))]
    pub rate_limit_share: Option<f64>,

    /// Largest number of requests in flight at once (1-50). Default 4.
    #[serde(default)]
    #[schemars(title = "Maximum concurrency", range(min = 1, max = 50), extend("order" = 5))]
    pub max_concurrency: Option<u32>,

    /// Timeout of one HTTP request, in seconds. Default 60.
    #[serde(default)]
    #[schemars(title = "Request timeout (seconds)", range(min = 1, max = 600), extend("order" = 6))]
    pub request_timeout_seconds: Option<u64>,

    /// How many times one request is retried on server errors, timeouts and resets. Default 6.
    #[serde(default)]
    #[schemars(title = "Maximum retries", range(min = 0, max = 20), extend("order" = 7))]
    pub max_retries: Option<u32>,

    /// Longest wait, in seconds, for a rate-limit window to reset. Default 120.
    #[serde(default)]
    #[schemars(title = "Maximum rate-limit wait (seconds)", range(min = 1, max = 3600), extend("order" = 8))]
    pub max_rate_limit_wait_seconds: Option<u64>,

    /// How old, in seconds, a System Log event must be before the change feed (deletions and removals)
    /// uses it: the log is eventually consistent, so younger events are left to the next sync. Default 60.
    #[serde(default)]
    #[schemars(title = "System Log settling time (seconds)", range(min = 0, max = 3600), extend("order" = 9))]
    pub system_log_settle_seconds: Option<u64>,
    /// Largest response body accepted, in MB after decompression; a larger page fails the stream
    /// instead of filling memory. Default 64 (real Okta pages are far smaller).
    #[serde(default)]
    #[schemars(title = "Maximum response size (MB)", range(min = 1, max = 4096), extend("order" = 10))]
    pub max_response_mb: Option<u64>,

    /// Okta Advanced Server Access (or its successor Okta Privileged Access): its streams appear only
    /// when this is set.
    #[serde(default)]
    #[schemars(title = "Advanced Server Access", extend("order" = 11))]
    pub asa: Option<AsaConfig>,
}

/// Default ASA API base URL; Okta Privileged Access uses `https://{org}.pam.okta.com` with the same paths.
pub const DEFAULT_ASA_BASE_URL: &str = "https://app.scaleft.com";

/// Credentials of an ASA service user.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct AsaConfig {
    /// The ASA team name.
    #[schemars(title = "Team")]
    pub team: String,
    /// The service user's API key id.
    #[schemars(title = "Key ID")]
    pub key_id: String,
    /// The service user's API key secret.
    #[schemars(title = "Key secret")]
    pub key_secret: Secret,
    /// API base URL: `https://app.scaleft.com` (ASA) or `https://{org}.pam.okta.com` (Okta Privileged Access).
    #[serde(default)]
    #[schemars(title = "Base URL")]
    pub base_url: Option<String>,
}

/// Validated ASA settings.
#[derive(Debug, Clone)]
pub struct AsaSettings {
    pub base_url: Url,
    pub team: String,
    pub key_id: String,
    pub key_secret: Secret,
}

/// The three ways Airbyte's `source-okta` authenticates, accepted unchanged.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "auth_type")]
pub enum Credentials {
    /// An Okta API token (SSWS) created by a read-only administrator.
    #[serde(rename = "api_token")]
    #[schemars(title = "API Token")]
    ApiToken {
        /// The API token (Security > API > Tokens).
        #[schemars(title = "Personal API Token")]
        api_token: Secret,
    },
    /// An OAuth 2.0 API Services app authenticating with a private key (client credentials and
    /// `private_key_jwt`); recommended by Okta.
    #[serde(rename = "oauth2.0_private_key")]
    #[schemars(title = "OAuth 2.0 with private key")]
    OAuthPrivateKey {
        /// The client id of the API Services app.
        #[schemars(title = "Client ID")]
        client_id: String,
        /// The key id (`kid`) of the registered public key.
        #[serde(default)]
        #[schemars(title = "Key ID")]
        key_id: Option<String>,
        /// The PEM private key (RSA or EC P-256) matching the registered public key.
        #[schemars(title = "Private key", extend("multiline" = true))]
        private_key: Secret,
        /// Space-separated `okta.*.read` scopes granted to the app.
        #[serde(default)]
        #[schemars(title = "Scopes")]
        scope: Option<String>,
    },
    /// An OAuth 2.0 app with a refresh token (Airbyte Cloud's flow).
    #[serde(rename = "oauth2.0")]
    #[schemars(title = "OAuth 2.0 with refresh token")]
    OAuthRefreshToken {
        /// The OAuth app's client id.
        #[schemars(title = "Client ID")]
        client_id: String,
        /// The OAuth app's client secret.
        #[schemars(title = "Client Secret")]
        client_secret: Secret,
        /// A refresh token issued to the app.
        #[schemars(title = "Refresh Token")]
        refresh_token: Secret,
    },
}

/// How requests are authenticated, validated.
#[derive(Debug, Clone)]
pub enum Auth {
    ApiToken(Secret),
    PrivateKey {
        client_id: String,
        key_id: Option<String>,
        private_key: Secret,
        scopes: String,
    },
    RefreshToken {
        client_id: String,
        client_secret: Secret,
        refresh_token: Secret,
    },
}

/// The validated configuration every other module reads.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Scheme, host and port of the org; every request and every followed link stays on it.
    pub base_url: Url,
    pub auth: Auth,
    pub start_date: Option<DateTime<Utc>>,
    pub rate_limit_share: f64,
    pub max_concurrency: usize,
    pub request_timeout: Duration,
    pub max_retries: u32,
    pub max_rate_limit_wait: Duration,
    /// Events younger than this are left to the next sync's change feed.
    pub system_log_settle: Duration,
    /// Largest decompressed response body, in bytes.
    pub max_response_bytes: usize,
    pub asa: Option<AsaSettings>,
}

/// How the user wrote the config, so messages name the keys they wrote: Airbyte nests the credentials
/// (`credentials.api_token`), Singer/Meltano configs are flat (`api_token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStyle {
    Airbyte,
    Singer,
}

impl KeyStyle {
    /// The name of a credentials field as the user wrote it.
    fn cred(self, field: &str) -> String {
        match self {
            KeyStyle::Airbyte => format!("credentials.{field}"),
            KeyStyle::Singer => field.to_string(),
        }
    }
}

impl Settings {
    /// Validates a config document already parsed as JSON (Airbyte's nested shape).
    pub fn from_value(doc: serde_json::Value) -> Result<Self> {
        Self::from_value_styled(doc, KeyStyle::Airbyte)
    }

    /// Validates a Singer config (flat keys already nested by the caller); messages use flat key names.
    pub fn from_singer_value(doc: serde_json::Value) -> Result<Self> {
        Self::from_value_styled(doc, KeyStyle::Singer)
    }

    /// Validates a config document. No message ever echoes a value of the document: a value of the wrong
    /// type may be a token or a private key pasted into the wrong field.
    pub fn from_value_styled(doc: serde_json::Value, style: KeyStyle) -> Result<Self> {
        let secrets = secrets_in(&doc);
        let serde_json::Value::Object(mut map) = doc else {
            return Err(Error::Config("the config must be a JSON object".into()));
        };
        migrate_legacy(&mut map);
        check_credentials(map.get("credentials"), style)?;
        let parsed: ConfigDoc = serde_path_to_error::deserialize(serde_json::Value::Object(map))
            .map_err(|e| {
                let path = e.path().to_string();
                let what = describe_serde_error(&e.inner().to_string());
                Error::Config(scrub(&format!("invalid config: `{path}` {what}"), &secrets))
            })?;
        parsed.validate_styled(style)
    }
}

/// Airbyte's own connector once took `{"base_url", "token"}`; it migrates that shape, and so do we.
fn migrate_legacy(map: &mut serde_json::Map<String, serde_json::Value>) {
    if map.contains_key("credentials") {
        return;
    }
    if let Some(token) = map.remove("token") {
        tracing::info!(
            "migrating the legacy config (`token`) to `credentials` with auth_type api_token"
        );
        map.insert(
            "credentials".into(),
            serde_json::json!({"auth_type": "api_token", "api_token": token}),
        );
    }
}

/// What kind of JSON value this is, for messages that must not print the value itself.
fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The fields of each `auth_type`: (name, required). All are strings.
const AUTH_TYPES: &[(&str, &[(&str, bool)])] = &[
    ("api_token", &[("api_token", true)]),
    (
        "oauth2.0_private_key",
        &[
            ("client_id", true),
            ("key_id", false),
            ("private_key", true),
            ("scope", false),
        ],
    ),
    (
        "oauth2.0",
        &[
            ("client_id", true),
            ("client_secret", true),
            ("refresh_token", true),
        ],
    ),
];

/// Checks the shape of `credentials` before serde sees it, so every message names the field (as the
/// user wrote it) and the kind of value, never the value.
fn check_credentials(creds: Option<&serde_json::Value>, style: KeyStyle) -> Result<()> {
    let types = AUTH_TYPES
        .iter()
        .map(|(t, _)| format!("`{t}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let creds = match creds {
        None | Some(serde_json::Value::Null) => {
            return Err(Error::Config(match style {
                KeyStyle::Airbyte => "missing `credentials`: set credentials.auth_type and its fields \
                    (api_token; or client_id and private_key; or client_id, client_secret and refresh_token)"
                    .into(),
                KeyStyle::Singer => "no credentials: set `api_token`; or `client_id` and `private_key`; \
                    or `client_id`, `client_secret` and `refresh_token`"
                    .into(),
            }))
        }
        Some(serde_json::Value::Object(m)) => m,
        Some(other) => {
            return Err(Error::Config(format!(
                "`credentials` must be an object with `auth_type` and its fields, not {}",
                kind_of(other)
            )))
        }
    };
    let auth_type = style.cred("auth_type");
    let fields = match creds.get("auth_type") {
        None | Some(serde_json::Value::Null) => {
            return Err(Error::Config(format!(
                "`{auth_type}` is missing; it must be one of {types}"
            )))
        }
        Some(serde_json::Value::String(t)) => AUTH_TYPES
            .iter()
            .find(|(name, _)| name == t)
            .map(|(_, f)| *f)
            .ok_or_else(|| {
                Error::Config(format!(
                    "`{auth_type}` has an unknown value; it must be one of {types}"
                ))
            })?,
        Some(other) => {
            return Err(Error::Config(format!(
                "`{auth_type}` must be one of {types}, not {}",
                kind_of(other)
            )))
        }
    };
    for (field, required) in fields {
        match creds.get(*field) {
            Some(serde_json::Value::String(_)) => {}
            None | Some(serde_json::Value::Null) if !required => {}
            None | Some(serde_json::Value::Null) => {
                return Err(Error::Config(format!("`{}` is missing", style.cred(field))))
            }
            Some(other) => {
                return Err(Error::Config(format!(
                    "`{}` must be a string, not {}",
                    style.cred(field),
                    kind_of(other)
                )))
            }
        }
    }
    Ok(())
}

/// Rewrites a serde message so it says what was expected and what kind of value came, without the
/// value (`invalid type: string "hunter2", expected u32` → `must be a whole number, not a string`).
fn describe_serde_error(msg: &str) -> String {
    let expected = |m: &str| {
        m.rfind(", expected ").map(|i| {
            let e = m[i + ", expected ".len()..].trim();
            match e {
                "u8" | "u16" | "u32" | "u64" | "usize" | "i32" | "i64" => "a whole number".into(),
                "f32" | "f64" => "a number".into(),
                other => other.to_string(),
            }
        })
    };
    if let Some(rest) = msg.strip_prefix("invalid type: ") {
        let got = match rest.split([' ', ',']).next().unwrap_or_default() {
            "string" => "a string",
            "integer" | "floating" => "a number",
            "sequence" => "an array",
            "map" => "an object",
            "boolean" => "a boolean",
            "null" | "unit" => "null",
            _ => "a value of another type",
        };
        return match expected(rest) {
            Some(e) => format!("must be {e}, not {got}"),
            None => format!("has the wrong type ({got})"),
        };
    }
    if let Some(rest) = msg.strip_prefix("invalid value: ") {
        return match expected(rest) {
            Some(e) => format!("has an invalid value; expected {e}"),
            None => "has an invalid value".into(),
        };
    }
    if msg.starts_with("unknown variant") {
        return match msg.find("expected ") {
            Some(i) => format!("has an unknown value; {}", &msg[i..]),
            None => "has an unknown value".into(),
        };
    }
    if msg.starts_with("missing field") {
        return format!(
            "is incomplete: {}",
            msg.split(" at line").next().unwrap_or(msg)
        );
    }
    "is invalid".into()
}

impl ConfigDoc {
    pub fn validate(self) -> Result<Settings> {
        self.validate_styled(KeyStyle::Airbyte)
    }

    fn validate_styled(self, style: KeyStyle) -> Result<Settings> {
        let base_url = resolve_base_url(self.domain.as_deref(), self.base_url.as_deref())?;
        let auth = match self.credentials {
            Credentials::ApiToken { api_token } => {
                if api_token.is_empty() {
                    return Err(Error::Config(format!(
                        "`{}` is empty",
                        style.cred("api_token")
                    )));
                }
                Auth::ApiToken(api_token)
            }
            Credentials::OAuthPrivateKey {
                client_id,
                key_id,
                private_key,
                scope,
            } => {
                if client_id.trim().is_empty() || private_key.is_empty() {
                    return Err(Error::Config(format!(
                        "`{}` and `{}` are required",
                        style.cred("client_id"),
                        style.cred("private_key")
                    )));
                }
                let scopes = scope
                    .filter(|s| !s.trim().is_empty())
                    .unwrap_or_else(|| DEFAULT_OAUTH_SCOPES.into());
                Auth::PrivateKey {
                    client_id,
                    key_id: key_id.filter(|k| !k.is_empty()),
                    private_key,
                    scopes: normalize_scopes(&scopes),
                }
            }
            Credentials::OAuthRefreshToken {
                client_id,
                client_secret,
                refresh_token,
            } => {
                if client_id.trim().is_empty()
                    || client_secret.is_empty()
                    || refresh_token.is_empty()
                {
                    return Err(Error::Config(format!(
                        "`{}`, `{}` and `{}` are required",
                        style.cred("client_id"),
                        style.cred("client_secret"),
                        style.cred("refresh_token")
                    )));
                }
                Auth::RefreshToken {
                    client_id,
                    client_secret,
                    refresh_token,
                }
            }
        };
        let start_date = self
            .start_date
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(parse_start_date)
            .transpose()?;
        if let Some(s) = start_date {
            if s > Utc::now() + CLOCK_SKEW_ALLOWANCE {
                return Err(Error::Config(format!(
                    "start_date {} is in the future; use a past date, or leave it empty to read everything",
                    s.to_rfc3339()
                )));
            }
        }
        let rate_limit_share = self.rate_limit_share.unwrap_or(DEFAULT_RATE_LIMIT_SHARE);
        if !(0.05..=1.0).contains(&rate_limit_share) {
            return Err(Error::Config(format!(
                "rate_limit_share must be between 0.05 and 1, got {rate_limit_share}"
            )));
        }
        let max_concurrency = self.max_concurrency.unwrap_or(DEFAULT_MAX_CONCURRENCY);
        if !(1..=50).contains(&max_concurrency) {
            return Err(Error::Config(format!(
                "max_concurrency must be between 1 and 50, got {max_concurrency}"
            )));
        }
        let timeout = self
            .request_timeout_seconds
            .unwrap_or(DEFAULT_REQUEST_TIMEOUT_SECS);
        if !(1..=600).contains(&timeout) {
            return Err(Error::Config(format!(
                "request_timeout_seconds must be between 1 and 600, got {timeout}"
            )));
        }
        let max_retries = self.max_retries.unwrap_or(DEFAULT_MAX_RETRIES);
        if max_retries > 20 {
            return Err(Error::Config(format!(
                "max_retries must be at most 20, got {max_retries}"
            )));
        }
        let max_wait = self
            .max_rate_limit_wait_seconds
            .unwrap_or(DEFAULT_MAX_RATE_LIMIT_WAIT_SECS);
        if !(1..=3600).contains(&max_wait) {
            return Err(Error::Config(format!(
                "max_rate_limit_wait_seconds must be between 1 and 3600, got {max_wait}"
            )));
        }
        let settle = self
            .system_log_settle_seconds
            .unwrap_or(DEFAULT_SYSTEM_LOG_SETTLE_SECS);
        if settle > 3600 {
            return Err(Error::Config(format!(
                "system_log_settle_seconds must be between 0 and 3600, got {settle}"
            )));
        }
        let max_response_mb = self.max_response_mb.unwrap_or(DEFAULT_MAX_RESPONSE_MB);
        if !(1..=4096).contains(&max_response_mb) {
            return Err(Error::Config(format!(
                "max_response_mb must be between 1 and 4096, got {max_response_mb}"
            )));
        }
        let asa = match self.asa {
            None => None,
            Some(a) => {
                if a.team.trim().is_empty() || a.key_id.trim().is_empty() || a.key_secret.is_empty()
                {
                    return Err(Error::Config(
                        "asa.team, asa.key_id and asa.key_secret are required".into(),
                    ));
                }
                let base = a
                    .base_url
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .unwrap_or(DEFAULT_ASA_BASE_URL);
                Some(AsaSettings {
                    base_url: resolve_base_url(None, Some(base))
                        .map_err(|e| Error::Config(format!("asa.base_url: {e}")))?,
                    team: a.team.trim().to_string(),
                    key_id: a.key_id,
                    key_secret: a.key_secret,
                })
            }
        };
        Ok(Settings {
            asa,
            base_url,
            auth,
            start_date,
            rate_limit_share,
            max_concurrency: max_concurrency as usize,
            request_timeout: Duration::from_secs(timeout),
            max_retries,
            max_rate_limit_wait: Duration::from_secs(max_wait),
            system_log_settle: Duration::from_secs(settle),
            max_response_bytes: usize::try_from(max_response_mb * 1024 * 1024)
                .unwrap_or(usize::MAX),
        })
    }
}

fn normalize_scopes(s: &str) -> String {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Accepts `2024-01-01T00:00:00Z`, fractional seconds, offsets, and a bare date `2024-01-01`.
pub fn parse_start_date(s: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    Err(Error::Config(format!(
        "start_date must be a UTC date-time such as 2024-01-01T00:00:00Z, got {s:?}"
    )))
}

/// Turns `domain` (or `base_url`) into the org origin. `http` is allowed only for loopback hosts.
/// A domain is a host name with an optional port, nothing else: `acme.okta.com@evil.example` would
/// otherwise send the token to `evil.example`. Messages never print a user name or password.
pub fn resolve_base_url(domain: Option<&str>, base_url: Option<&str>) -> Result<Url> {
    let raw = match (
        base_url.map(str::trim).filter(|s| !s.is_empty()),
        domain.map(str::trim).filter(|s| !s.is_empty()),
    ) {
        (Some(b), _) => b.to_string(),
        (None, Some(d)) => {
            let host = d
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_end_matches('/');
            check_domain(host)?;
            if d.starts_with("http://") {
                format!("http://{host}")
            } else if host.contains('.') || host.contains(':') {
                format!("https://{host}")
            } else {
                format!("https://{host}.okta.com")
            }
        }
        (None, None) => {
            return Err(Error::Config(
                "set either domain (e.g. acme or acme.okta.com) or base_url".into(),
            ))
        }
    };
    let shown = without_userinfo(&raw);
    let url = Url::parse(&raw)
        .map_err(|e| Error::Config(format!("base URL {shown:?} is not a valid URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Config(format!(
            "base URL {shown:?} contains a user name or password; put credentials in `credentials` only"
        )));
    }
    let host = url.host_str().unwrap_or_default().to_string();
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => {
            return Err(Error::Config(format!(
                "{shown} uses plain http; Okta is only reached over https (http is allowed for loopback hosts only)"
            )))
        }
        other => return Err(Error::Config(format!("{shown}: unsupported scheme {other}"))),
    }
    if host.is_empty() {
        return Err(Error::Config(format!("{shown} has no host")));
    }
    let mut origin = url.clone();
    origin.set_path("");
    origin.set_query(None);
    origin.set_fragment(None);
    Ok(origin)
}

/// A domain is letters, digits, `-` and `.`, with an optional `:port`; anything else is URL syntax
/// (`@`, `\`, `/`, `?`, `#`, `%`, spaces…) that could change which host is reached.
fn check_domain(host: &str) -> Result<()> {
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (host, None),
    };
    let bad_char = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'));
    let bad = if let Some(c) = bad_char {
        Some(format!("it contains {c:?}"))
    } else if name.is_empty() || name.starts_with(['.', '-']) || name.contains("..") {
        Some("it is not a host name".to_string())
    } else if port
        .is_some_and(|p| p.is_empty() || p.len() > 5 || !p.chars().all(|c| c.is_ascii_digit()))
    {
        Some("its port is not a number".to_string())
    } else {
        None
    };
    match bad {
        // The value itself is not printed: it may hold a password (`user:pass@host`).
        Some(why) => Err(Error::Config(format!(
            "domain must be a host name such as acme or acme.okta.com (optionally with :port), but {why}; \
             use base_url for a full URL"
        ))),
        None => Ok(()),
    }
}

/// A URL as text with any `user:password@` removed from its authority.
pub fn without_userinfo(raw: &str) -> String {
    let Some(scheme_end) = raw.find("://") else {
        return raw.to_string();
    };
    let rest = &raw[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}://***@{}", &raw[..scheme_end], &rest[at + 1..]),
        None => raw.to_string(),
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<std::net::Ipv6Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn token_cfg(extra: serde_json::Value) -> serde_json::Value {
        let mut v =
            json!({"credentials": {"auth_type": "api_token", "api_token": "tok-secret-1234"}});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    }

    #[test]
    fn domains_resolve() {
        for (d, want) in [
            ("acme", "https://acme.okta.com/"),
            ("acme.okta-emea.com", "https://acme.okta-emea.com/"),
            (
                "https://acme.oktapreview.com/",
                "https://acme.oktapreview.com/",
            ),
            ("login.example.com", "https://login.example.com/"),
        ] {
            assert_eq!(
                resolve_base_url(Some(d), None).unwrap().as_str(),
                want,
                "{d}"
            );
        }
        assert_eq!(
            resolve_base_url(None, Some("http://127.0.0.1:9000/x"))
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9000/"
        );
        assert!(resolve_base_url(None, Some("http://evil.example.com")).is_err());
        assert!(resolve_base_url(None, None).is_err());
    }

    #[test]
    fn airbyte_config_is_accepted() {
        let s = Settings::from_value(token_cfg(
            json!({"domain": "acme", "start_date": "2024-01-01T00:00:00Z"}),
        ))
        .unwrap();
        assert_eq!(s.base_url.as_str(), "https://acme.okta.com/");
        assert!(matches!(s.auth, Auth::ApiToken(_)));
        assert_eq!(s.rate_limit_share, DEFAULT_RATE_LIMIT_SHARE);
        let s = Settings::from_value(
            json!({"domain": "acme", "credentials": {"auth_type": "oauth2.0",
            "client_id": "c", "client_secret": "s", "refresh_token": "r"}}),
        )
        .unwrap();
        assert!(matches!(s.auth, Auth::RefreshToken { .. }));
    }

    #[test]
    fn errors_never_echo_secrets() {
        let err = Settings::from_value(
            json!({"domain": "acme", "credentials": {"auth_type": "api_token",
            "api_token": ["tok-secret-1234"]}}),
        )
        .unwrap_err();
        assert!(!err.to_string().contains("tok-secret-1234"), "{err}");
        let err = Settings::from_value(
            json!({"domain": "acme", "credentials": {"auth_type": "nope",
            "api_token": "tok-secret-1234"}}),
        )
        .unwrap_err();
        assert!(!err.to_string().contains("tok-secret-1234"), "{err}");
        assert!(
            err.to_string().contains("auth_type") || err.to_string().contains("variant"),
            "{err}"
        );
    }

    #[test]
    fn url_syntax_in_domain_is_rejected_without_echo() {
        for d in [
            "acme.okta.com@127.0.0.1:9",
            "acme.okta.com\\@evil",
            "user:hunter2-password@acme.okta.com",
            "acme.okta.com?x=1",
            "acme.okta.com#frag",
            "acme okta",
            "acme.okta.com:80x",
            "%61cme",
        ] {
            let err = resolve_base_url(Some(d), None).unwrap_err().to_string();
            assert!(err.contains("domain must be a host name"), "{d}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
        assert_eq!(
            resolve_base_url(Some("localhost:8443"), None)
                .unwrap()
                .as_str(),
            "https://localhost:8443/"
        );
        let err = resolve_base_url(None, Some("https://admin:hunter2-password@acme.okta.com"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("user name or password"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let err = resolve_base_url(None, Some("ftp://admin:hunter2-password@acme.okta.com/x"))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn wrong_types_never_echo_values_and_name_the_field() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";
        for (doc, field) in [
            (
                json!({"domain": "acme", "credentials": "tok-secret-1234"}),
                "credentials",
            ),
            (
                json!({"domain": "acme", "credentials": ["tok-secret-1234"]}),
                "credentials",
            ),
            (json!({"domain": "acme", "credentials": pem}), "credentials"),
            (
                json!({"domain": "acme", "credentials": {"auth_type": "api_token", "api_token": {"v": "tok-secret-1234"}}}),
                "credentials.api_token",
            ),
            (
                json!({"domain": "acme", "credentials": {"auth_type": "tok-secret-1234"}}),
                "credentials.auth_type",
            ),
            (
                json!({"domain": "acme", "credentials": {"auth_type": "api_token", "api_token": "xyz-other-token"},
                    "max_retries": "tok-secret-1234"}),
                "max_retries",
            ),
            (
                json!({"domain": "acme", "credentials": {"auth_type": "api_token", "api_token": "xyz-other-token"},
                    "asa": {"team": "t", "key_id": "k", "key_secret": ["tok-secret-1234"]}}),
                "asa.key_secret",
            ),
            (
                json!({"domain": ["tok-secret-1234"], "credentials": {"auth_type": "api_token", "api_token": "xyz-other-token"}}),
                "domain",
            ),
        ] {
            let err = Settings::from_value(doc.clone()).unwrap_err().to_string();
            assert!(!err.contains("tok-secret"), "{doc}: {err}");
            assert!(!err.contains("MIIEvQ"), "{doc}: {err}");
            assert!(err.contains(field), "{doc}: {err}");
        }
    }

    #[test]
    fn singer_messages_use_flat_keys() {
        let err = Settings::from_singer_value(json!({"domain": "acme"}))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`api_token`") && !err.contains("`credentials`"),
            "{err}"
        );
        let err = Settings::from_singer_value(
            json!({"domain": "acme", "credentials": {"auth_type": "api_token", "api_token": 5}}),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`api_token` must be a string"), "{err}");
    }

    #[test]
    fn the_legacy_airbyte_config_is_migrated() {
        let s = Settings::from_value(
            json!({"base_url": "https://acme.okta.com", "token": "tok-secret-1234"}),
        )
        .unwrap();
        assert!(matches!(&s.auth, Auth::ApiToken(t) if t.expose() == "tok-secret-1234"));
        assert_eq!(s.base_url.as_str(), "https://acme.okta.com/");
    }

    #[test]
    fn a_future_start_date_is_rejected() {
        let err = Settings::from_value(token_cfg(
            json!({"domain": "acme", "start_date": "2999-01-01T00:00:00Z"}),
        ))
        .unwrap_err();
        assert!(err.to_string().contains("future"), "{err}");
    }

    #[test]
    fn bad_values_are_config_errors() {
        for bad in [
            json!({"domain": "acme", "rate_limit_share": 3.0}),
            json!({"domain": "acme", "max_concurrency": 0}),
            json!({"domain": "acme", "start_date": "yesterday"}),
            json!({"base_url": "ftp://x"}),
        ] {
            assert!(
                matches!(
                    Settings::from_value(token_cfg(bad.clone())),
                    Err(Error::Config(_))
                ),
                "{bad}"
            );
        }
    }
}
