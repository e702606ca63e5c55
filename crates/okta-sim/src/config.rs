//! Configuration of a simulated org: size, seed, credentials, OAuth, rate limiting and link style.
//!
//! Everything the simulator does is derived from one [`SimConfig`]; the defaults give a small org
//! (50 users) that answers an API token and never throttles.

use std::time::Duration;

/// The API token a default [`SimConfig`] accepts as `Authorization: SSWS <token>`.
pub const DEFAULT_API_TOKEN: &str = "sim-ssws-token-0000";

/// How a simulated org is built and how it behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seed of every generated value (ids, names, memberships, events). Default 42.
    pub seed: u64,
    /// Number of users; every other collection's size is derived from it. Default 50.
    pub users: usize,
    /// Accepted as `Authorization: SSWS <token>`. Default [`DEFAULT_API_TOKEN`].
    pub api_token: String,
    /// Enables `POST /oauth2/v1/token` (client credentials with `private_key_jwt`).
    pub oauth: Option<OAuthConfig>,
    /// Rate limiting. Default [`RateLimitMode::Off`]: headers are sent, nothing is throttled.
    pub rate_limits: RateLimitMode,
    /// Maximum number of requests in flight; beyond it a 429 with `X-Rate-Limit-Limit: 0`.
    pub concurrency_limit: Option<usize>,
    /// How `link` headers are written. Default [`LinkStyle::Separate`], like Okta.
    pub link_style: LinkStyle,
    /// How many days back System Log events are seeded. Default 100 (beyond the 90-day retention).
    pub log_days: u32,
    /// Advanced Server Access team served under `/v1/teams/{team}/…` on the same server.
    /// Default `Some(AsaConfig::default())`; `None`: every ASA path answers 404.
    pub asa: Option<AsaConfig>,
    /// Serve `/api/v1/risk/providers` (deprecated: by default it answers 404 `E0000007`).
    pub risk_providers: bool,
    /// The System Log's eventual consistency: an event written by a mutation becomes visible in
    /// `/api/v1/logs` (and in the ground truth) this long after its `published` time. Default
    /// zero: at once. See [`crate::SimServer::set_log_delay`] and
    /// [`crate::SimServer::release_logs`].
    pub log_delay: Duration,
    /// Serve the admin endpoints `POST /__sim/churn`, `POST /__sim/release-logs` and
    /// `GET /__sim/stats` (no authentication; the binary turns them on, it listens on loopback).
    /// Default off: they answer 404 like any unknown path.
    pub admin: bool,
}

/// The Advanced Server Access team and its service user's API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsaConfig {
    /// Team name (the `{team}` path segment). Default `sim-team`.
    pub team: String,
    /// Service user key id. Default `sim-asa-key`.
    pub key_id: String,
    /// Service user key secret. Default `sim-asa-secret`.
    pub key_secret: String,
}

impl Default for AsaConfig {
    fn default() -> Self {
        AsaConfig {
            team: "sim-team".to_string(),
            key_id: "sim-asa-key".to_string(),
            key_secret: "sim-asa-secret".to_string(),
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 42,
            users: 50,
            api_token: DEFAULT_API_TOKEN.to_string(),
            oauth: None,
            rate_limits: RateLimitMode::Off,
            concurrency_limit: None,
            link_style: LinkStyle::Separate,
            log_days: 100,
            asa: Some(AsaConfig::default()),
            risk_providers: false,
            log_delay: Duration::ZERO,
            admin: false,
        }
    }
}

/// An OAuth 2.0 service app registered in the simulated org.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// The app's client id: `iss` and `sub` of the client assertion.
    pub client_id: String,
    /// The RSA public key that verifies client assertions, PKCS#8 (`PUBLIC KEY`) or PKCS#1
    /// (`RSA PUBLIC KEY`) PEM.
    pub public_key_pem: String,
    /// The app requires DPoP-bound tokens (RFC 9449), with the nonce dance on the token endpoint.
    pub require_dpop: bool,
    /// Lifetime of issued access tokens in seconds. Default 3600.
    pub token_lifetime_secs: u64,
    /// Scopes granted to the app; a token request for any other scope fails with `invalid_scope`.
    pub scopes: Vec<String>,
}

impl OAuthConfig {
    /// An app with `client_id` and `public_key_pem`, no DPoP, 1 h tokens and every read scope the
    /// simulator serves ([`all_read_scopes`]).
    pub fn new(client_id: impl Into<String>, public_key_pem: impl Into<String>) -> Self {
        OAuthConfig {
            client_id: client_id.into(),
            public_key_pem: public_key_pem.into(),
            require_dpop: false,
            token_lifetime_secs: 3600,
            scopes: all_read_scopes(),
        }
    }
}

/// Every `okta.*.read` scope used by the simulator's endpoints.
pub fn all_read_scopes() -> Vec<String> {
    [
        "okta.users.read",
        "okta.groups.read",
        "okta.apps.read",
        "okta.logs.read",
        "okta.roles.read",
        "okta.userTypes.read",
        "okta.schemas.read",
        "okta.orgs.read",
        "okta.devices.read",
        "okta.policies.read",
        "okta.authenticators.read",
        "okta.authorizationServers.read",
        "okta.idps.read",
        "okta.networkZones.read",
        "okta.trustedOrigins.read",
        "okta.behaviors.read",
        "okta.brands.read",
        "okta.domains.read",
        "okta.emailDomains.read",
        "okta.templates.read",
        "okta.clients.read",
        "okta.eventHooks.read",
        "okta.inlineHooks.read",
        "okta.features.read",
        "okta.logStreams.read",
        "okta.profileMappings.read",
        "okta.pushProviders.read",
        "okta.riskProviders.read",
        "okta.securityEventsProviders.read",
        "okta.threatInsights.read",
        "okta.apiTokens.read",
        "okta.realms.read",
        "okta.uischemas.read",
        "okta.linkedObjects.read",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect()
}

/// Whether requests are throttled.
#[derive(Debug, Clone)]
pub enum RateLimitMode {
    /// Rate-limit headers are sent but no request is ever refused (except by faults).
    Off,
    /// Headers advertise buckets too large to matter (1,000,000 per window): for CPU-bound benchmarks.
    Unlimited,
    /// Each principal (API token or OAuth client) may use `token_share × limit` requests per
    /// `window` in each bucket; beyond that a 429 `E0000047`.
    Enforce {
        /// Length of a window; a window starts at the first request in it (not wall-clock aligned).
        window: Duration,
        /// Share of each bucket one principal may use (Okta's default is 0.5).
        token_share: f64,
        /// Per-bucket limits.
        limits: BucketLimits,
    },
}

impl RateLimitMode {
    /// Okta's Workforce defaults: 60 s windows, 50 % per token.
    pub fn workforce() -> Self {
        RateLimitMode::Enforce {
            window: Duration::from_secs(60),
            token_share: 0.5,
            limits: BucketLimits::workforce(),
        }
    }
}

/// Requests per window for each rate-limit bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketLimits {
    /// `/api/v1/apps` and every `/api/v1/apps/*`.
    pub apps: u32,
    /// `/api/v1/groups` and its sub-resources.
    pub groups: u32,
    /// `/api/v1/users` and its sub-resources.
    pub users: u32,
    /// `/api/v1/logs`.
    pub logs: u32,
    /// `/api/v1/devices`.
    pub devices: u32,
    /// `/oauth2/v1/clients`.
    pub oauth2_clients: u32,
    /// Every other `/api/v1/*` path.
    pub other: u32,
}

impl BucketLimits {
    /// Okta's Workforce per-minute defaults (API.md §3).
    pub fn workforce() -> Self {
        BucketLimits {
            apps: 100,
            groups: 500,
            users: 600,
            logs: 120,
            devices: 100,
            oauth2_clients: 100,
            other: 1200,
        }
    }
}

impl Default for BucketLimits {
    fn default() -> Self {
        Self::workforce()
    }
}

/// How a response's `link` relations are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkStyle {
    /// One `link` header line per relation, as Okta does.
    #[default]
    Separate,
    /// One `link` header whose value joins the relations with `, ` (RFC 8288 allows both).
    Joined,
}
