//! A seeded, deterministic, fast simulated Okta org for integration tests, demos and benchmarks.
//!
//! [`SimServer::start`] seeds an org from a [`SimConfig`] and serves the Okta management API
//! subset a source connector reads (users, groups, members, apps, app assignments, System Log,
//! user types and schemas, custom roles, org) on `127.0.0.1`, from its own OS thread and tokio
//! runtime, so plain `#[test]` functions and tests that spawn processes can use it alike. It
//! behaves like Okta where a connector can tell: SSWS and OAuth (with DPoP) authentication, link
//! and body paging with opaque cursors, `search`/`filter` expressions, System Log polling,
//! rate-limit headers and 429s, Okta error bodies. Faults can be injected, every request is
//! logged, and the ground truth is available for comparison.
//!
//! ```no_run
//! use okta_sim::{SimConfig, SimServer};
//! let sim = SimServer::start(SimConfig { users: 200, ..SimConfig::default() });
//! let url = format!("{}/api/v1/users?limit=200", sim.base_url());
//! // GET url with `Authorization: SSWS {sim.api_token()}` …
//! assert_eq!(sim.users().len(), 200);
//! ```

pub mod asa;
pub mod catalog;
pub mod changes;
pub mod clock;
pub mod config;
pub mod fault;
pub mod filter;
pub mod logs;
pub mod model;
pub mod oauth;
pub mod org;
pub mod paging;
pub mod ratelimit;
pub mod routes;
pub mod server;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use serde_json::Value;

pub use changes::ChurnReport;
pub use config::{
    all_read_scopes, AsaConfig, BucketLimits, LinkStyle, OAuthConfig, RateLimitMode, SimConfig,
    DEFAULT_API_TOKEN,
};
pub use fault::{Fault, FaultKind};

use crate::server::Shared;

/// One request as the simulator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// HTTP method.
    pub method: String,
    /// Path (without query).
    pub path: String,
    /// Raw query string (without `?`), as sent.
    pub query: String,
    /// Status served; 0 when the connection was reset by a fault.
    pub status: u16,
    /// `SSWS`, `Bearer`, `DPoP` or empty — never the credential itself.
    pub auth_scheme: String,
    /// Request headers with lower-case names, except `authorization` and `dpop`.
    pub headers: BTreeMap<String, String>,
    /// Arrival time.
    pub at: Instant,
}

/// Counters of served requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Every request, including token requests and faulted ones.
    pub requests: u64,
    /// 429 responses served (rate limit, concurrency limit, faults).
    pub rate_limited: u64,
    /// Requests per rate-limit bucket (`users`, `groups`, `apps`, `logs`, `other`, …).
    pub by_bucket: BTreeMap<String, u64>,
}

/// A running simulated org. Dropping it stops the server.
#[derive(Debug)]
pub struct SimServer {
    shared: Arc<Shared>,
    base_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Why a server could not start.
#[derive(Debug)]
pub enum StartError {
    /// Binding the listener or starting the runtime failed.
    Io(std::io::Error),
    /// The configuration is unusable (e.g. an unreadable OAuth public key).
    Config(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Io(e) => write!(f, "cannot start the simulator: {e}"),
            StartError::Config(m) => write!(f, "invalid simulator configuration: {m}"),
        }
    }
}

impl std::error::Error for StartError {}

impl From<std::io::Error> for StartError {
    fn from(e: std::io::Error) -> Self {
        StartError::Io(e)
    }
}

impl SimServer {
    /// Seed an org and serve it on `127.0.0.1` on a free port.
    ///
    /// # Panics
    /// When the port can't be bound or the configuration is invalid (see [`SimServer::try_start_on`]).
    pub fn start(cfg: SimConfig) -> SimServer {
        Self::start_on(cfg, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Seed an org and serve it on `addr`.
    ///
    /// # Panics
    /// When the address can't be bound or the configuration is invalid.
    pub fn start_on(cfg: SimConfig, addr: SocketAddr) -> SimServer {
        match Self::try_start_on(cfg, addr) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    /// Seed an org and serve it on `addr`, reporting failures.
    pub fn try_start_on(cfg: SimConfig, addr: SocketAddr) -> Result<SimServer, StartError> {
        let oauth = match &cfg.oauth {
            Some(o) => Some(oauth::OAuthState::new(o).map_err(StartError::Config)?),
            None => None,
        };
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        let host = if local.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else if local.is_ipv6() {
            format!("[{}]", local.ip())
        } else {
            local.ip().to_string()
        };
        let base_url = format!("http://{host}:{}", local.port());
        let start_ms = clock::wall_ms();
        let org = org::Org::seed(&cfg, &base_url, start_ms);
        let shared = Arc::new(Shared::new(
            cfg,
            base_url.clone(),
            org,
            clock::Clock::new(start_ms),
            oauth,
        ));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("okta-sim")
            .enable_all()
            .build()?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let s2 = shared.clone();
        let thread = std::thread::Builder::new()
            .name("okta-sim-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => {
                            let _ = ready_tx.send(Ok(()));
                            server::serve(l, s2, rx).await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
                // Don't wait for connections still open (keep-alive clients, delayed requests).
                runtime.shutdown_timeout(std::time::Duration::from_millis(100));
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(StartError::Io(e)),
            Err(_) => {
                return Err(StartError::Io(std::io::Error::other(
                    "server thread exited before listening",
                )))
            }
        }
        Ok(SimServer {
            shared,
            base_url,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The API token accepted as `Authorization: SSWS <token>`.
    pub fn api_token(&self) -> String {
        self.shared.cfg.api_token.clone()
    }

    fn org(&self) -> std::sync::RwLockReadGuard<'_, org::Org> {
        match self.shared.org.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn org_mut(&self) -> std::sync::RwLockWriteGuard<'_, org::Org> {
        match self.shared.org.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The org, after committing the System Log events whose delay has passed.
    fn org_now(&self) -> (std::sync::RwLockReadGuard<'_, org::Org>, i64) {
        let now = self.shared.clock.now();
        if self.org().logs_due(now) {
            self.org_mut().flush_logs(now);
        }
        (self.org(), now)
    }

    /// Apply `f` to the org at the next instant of the clock.
    fn mutate<R>(&self, f: impl FnOnce(&mut org::Org, i64) -> R) -> R {
        let now = self.shared.clock.tick();
        f(&mut self.org_mut(), now)
    }

    // ---- ground truth -------------------------------------------------------------------

    /// Every user as the API serves it, DEPROVISIONED included, by id.
    pub fn users(&self) -> Vec<Value> {
        self.org().users_json()
    }

    /// Every group as the API serves it (without `expand`), by id.
    pub fn groups(&self) -> Vec<Value> {
        self.org().groups_json()
    }

    /// Every membership as (group id, user id), by group then user.
    pub fn group_members(&self) -> Vec<(String, String)> {
        self.org().member_pairs()
    }

    /// Every app, by id.
    pub fn apps(&self) -> Vec<Value> {
        self.org().list_json("apps")
    }

    /// Every app-user object as (app id, object), by app then user.
    pub fn app_users(&self) -> Vec<(String, Value)> {
        self.org().children_json("app_users")
    }

    /// Every app group assignment as (app id, object), by app then group.
    pub fn app_groups(&self) -> Vec<(String, Value)> {
        self.org().children_json("app_groups")
    }

    /// The System Log events the API can return now (inside the 90-day retention), in
    /// persistence (polling) order.
    pub fn log_events(&self) -> Vec<Value> {
        let (org, now) = self.org_now();
        org.log_events_json(now)
    }

    /// The System Log events written but not visible yet ([`SimConfig::log_delay`]), in the order
    /// they will become visible.
    pub fn pending_log_events(&self) -> Vec<Value> {
        let (org, _) = self.org_now();
        let mut scratch = logs::Scratch::default();
        org.pending_logs
            .iter()
            .map(|e| {
                let mut buf = Vec::new();
                org.log_templates.write(e, &mut scratch, &mut buf);
                serde_json::from_slice(&buf).unwrap_or(Value::Null)
            })
            .collect()
    }

    /// Every user type.
    pub fn user_types(&self) -> Vec<Value> {
        self.org().list_json("user_types")
    }

    /// Every custom role, by id.
    pub fn custom_roles(&self) -> Vec<Value> {
        self.org().list_json("custom_roles")
    }

    /// Every permission of every custom role as (role id, permission).
    pub fn custom_role_permissions(&self) -> Vec<(String, Value)> {
        self.org().children_json("role_permissions")
    }

    /// The records the connector should produce for stream `stream` of its registry (names as in
    /// `okta_records::streams()`), with the columns it adds (parent ids, derived keys); empty for
    /// an unknown stream. ASA streams describe the configured team.
    pub fn collection(&self, stream: &str) -> Vec<Value> {
        let (org, now) = self.org_now();
        catalog::collection(&org, now, stream).unwrap_or_default()
    }

    /// The primary-key tuples of [`SimServer::collection`] (keys from `okta_records::streams()`).
    ///
    /// # Panics
    /// When `stream` is not a stream of the registry.
    pub fn keys(&self, stream: &str) -> std::collections::BTreeSet<Vec<String>> {
        let def = okta_records::streams()
            .iter()
            .find(|s| s.name == stream)
            .unwrap_or_else(|| panic!("no stream {stream} in the registry"));
        self.collection(stream)
            .iter()
            .map(|r| {
                def.primary_key
                    .iter()
                    .map(|k| match &r[*k] {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .collect()
    }

    /// From now on every ASA bearer token issued so far gets 401 `authentication_error` (a new
    /// token from `POST /v1/teams/{team}/service_token` works).
    pub fn expire_asa_tokens(&self) {
        self.shared.asa_tokens.expire_all();
    }

    /// How many ASA service tokens were issued.
    pub fn asa_tokens_issued(&self) -> u64 {
        self.shared.asa_tokens.issued()
    }

    // ---- mutations ----------------------------------------------------------------------
    //
    // Each applies at its own instant (the clock's next tick), updates every affected collection
    // and writes the System Log events Okta writes for it (see `changes.rs` and the README).
    // Those returning `bool` say whether anything changed; nothing is logged when not.

    /// Change a profile field (`title`) of user `id` and move its `lastUpdated`; the new object,
    /// or `Value::Null` when there is no such user. Logs `user.account.update_profile`.
    pub fn update_user(&self, id: &str) -> Value {
        self.mutate(|o, now| o.update_user(id, now))
            .unwrap_or(Value::Null)
    }

    /// Create an ACTIVE user (in no group, no app) created and updated now; the new object. Logs
    /// `user.lifecycle.create` and `user.lifecycle.activate`.
    pub fn create_user(&self) -> Value {
        self.mutate(|o, now| o.create_user(now))
    }

    /// Set user `id` to DEPROVISIONED and move its `lastUpdated`. Logs
    /// `user.lifecycle.deactivate`.
    pub fn deactivate_user(&self, id: &str) -> bool {
        self.mutate(|o, now| o.deactivate_user(id, now))
    }

    /// Delete user `id` (deactivating it first when needed): it leaves users, memberships, app
    /// assignments, factors, role assignments, device users and group owners. Logs
    /// `user.lifecycle.delete.initiated` and `.completed` only; groups' `lastMembershipUpdated`
    /// does not move.
    pub fn delete_user(&self, id: &str) -> bool {
        self.mutate(|o, now| o.delete_user(id, now))
    }

    /// Change group `id`'s description and move its `lastUpdated`. Logs `group.profile.update`.
    pub fn update_group(&self, id: &str) -> bool {
        self.mutate(|o, now| o.update_group(id, now))
    }

    /// Delete group `id` with its memberships, owners, roles, app assignments and the app users
    /// assigned through it. Logs `group.lifecycle.delete` only.
    pub fn delete_group(&self, id: &str) -> bool {
        self.mutate(|o, now| o.delete_group(id, now))
    }

    /// Add user `user_id` to group `group_id`, moving the group's `lastMembershipUpdated`. Logs
    /// `group.user_membership.add`.
    pub fn add_group_member(&self, group_id: &str, user_id: &str) -> bool {
        self.mutate(|o, now| o.add_group_member(group_id, user_id, now))
    }

    /// Remove user `user_id` from group `group_id`, moving the group's `lastMembershipUpdated`.
    /// Logs `group.user_membership.remove`.
    pub fn remove_group_member(&self, group_id: &str, user_id: &str) -> bool {
        self.mutate(|o, now| o.remove_group_member(group_id, user_id, now))
    }

    /// Deactivate app `id` (INACTIVE). Logs `application.lifecycle.deactivate`.
    pub fn deactivate_app(&self, id: &str) -> bool {
        self.mutate(|o, now| o.deactivate_app(id, now))
    }

    /// Delete app `id` (deactivated first) with its user and group assignments. Logs
    /// `application.lifecycle.deactivate` (if it was active) and `application.lifecycle.delete`.
    pub fn delete_app(&self, id: &str) -> bool {
        self.mutate(|o, now| o.delete_app(id, now))
    }

    /// Assign user `user_id` to app `app_id` (scope USER). Logs
    /// `application.user_membership.add`.
    pub fn assign_app_user(&self, app_id: &str, user_id: &str) -> bool {
        self.mutate(|o, now| o.assign_app_user(app_id, user_id, now))
    }

    /// Remove user `user_id`'s assignment to app `app_id`. Logs
    /// `application.user_membership.remove`.
    pub fn unassign_app_user(&self, app_id: &str, user_id: &str) -> bool {
        self.mutate(|o, now| o.unassign_app_user(app_id, user_id, now))
    }

    /// Assign group `group_id` to app `app_id`. Logs `group.application_assignment.add`.
    pub fn assign_app_group(&self, app_id: &str, group_id: &str) -> bool {
        self.mutate(|o, now| o.assign_app_group(app_id, group_id, now))
    }

    /// Remove group `group_id`'s assignment to app `app_id`. Logs
    /// `group.application_assignment.remove`.
    pub fn unassign_app_group(&self, app_id: &str, group_id: &str) -> bool {
        self.mutate(|o, now| o.unassign_app_group(app_id, group_id, now))
    }

    /// Deactivate (remove) factor `factor_id` of user `user_id`. Logs
    /// `user.mfa.factor.deactivate`.
    pub fn deactivate_factor(&self, user_id: &str, factor_id: &str) -> bool {
        self.mutate(|o, now| o.deactivate_factor(user_id, factor_id, now))
    }

    /// Reset every factor of user `user_id`. Logs `user.mfa.factor.reset_all`.
    pub fn reset_factors(&self, user_id: &str) -> bool {
        self.mutate(|o, now| o.reset_factors(user_id, now))
    }

    /// Enroll user `user_id` in a factor type it lacks; the new factor (`None` when it has them
    /// all or doesn't exist). Logs `user.mfa.factor.activate`.
    pub fn enroll_factor(&self, user_id: &str) -> Option<Value> {
        self.mutate(|o, now| o.enroll_factor(user_id, now))
    }

    /// Delete device `id` (deactivated first). Logs `device.lifecycle.deactivate` (if it was
    /// active) and `device.lifecycle.delete`.
    pub fn delete_device(&self, id: &str) -> bool {
        self.mutate(|o, now| o.delete_device(id, now))
    }

    /// Remove user `user_id` from device `device_id`. Logs `device.user.remove`.
    pub fn remove_device_user(&self, device_id: &str, user_id: &str) -> bool {
        self.mutate(|o, now| o.remove_device_user(device_id, user_id, now))
    }

    /// Delete policy `id` and its rules. Logs `policy.lifecycle.delete`.
    pub fn delete_policy(&self, id: &str) -> bool {
        self.mutate(|o, now| o.delete_policy(id, now))
    }

    /// Delete rule `rule_id` of policy `policy_id`. Logs `policy.rule.delete`.
    pub fn delete_policy_rule(&self, policy_id: &str, rule_id: &str) -> bool {
        self.mutate(|o, now| o.delete_policy_rule(policy_id, rule_id, now))
    }

    /// Delete network zone `id` (deactivated first). Logs `zone.deactivate` (if it was active)
    /// and `zone.delete`.
    pub fn delete_zone(&self, id: &str) -> bool {
        self.mutate(|o, now| o.delete_zone(id, now))
    }

    /// Delete custom role `id` with its permissions and subscriptions. Logs `iam.role.delete`.
    pub fn delete_custom_role(&self, id: &str) -> bool {
        self.mutate(|o, now| o.delete_custom_role(id, now))
    }

    /// Delete resource set `id` with its resources. Logs `iam.resourceset.delete`.
    pub fn delete_resource_set(&self, id: &str) -> bool {
        self.mutate(|o, now| o.delete_resource_set(id, now))
    }

    /// Delete identity provider `id`. Logs `system.idp.lifecycle.delete`.
    pub fn delete_idp(&self, id: &str) -> bool {
        self.mutate(|o, now| o.delete_idp(id, now))
    }

    /// Change about `fraction` of the org (seeded by `seed`): profile updates, a few
    /// deactivations, deletions and creations, membership adds and removes, app assignments added
    /// and removed, factors deactivated, reset and enrolled, each with its events (see
    /// [`org::Org::churn`]).
    pub fn churn(&self, fraction: f64, seed: u64) -> ChurnReport {
        churn(&self.shared, fraction, seed)
    }

    /// From now on, new System Log events become visible `delay` after their `published` time
    /// (events already held keep their time). With a long delay and [`SimServer::release_logs`],
    /// a test decides exactly when an event arrives, e.g. after later events are already visible.
    pub fn set_log_delay(&self, delay: std::time::Duration) {
        self.org_mut().log_delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 4);
    }

    /// Make every held System Log event visible now (committed after the visible ones, with its
    /// original `published`); how many.
    pub fn release_logs(&self) -> usize {
        release_logs(&self.shared)
    }

    /// Publish `n` new System Log events now (each committed at its own instant; every fifth
    /// with a `published` 3 s before its commit); the new events.
    pub fn append_log_events(&self, n: usize) -> Vec<Value> {
        let clock = &self.shared.clock;
        self.org_mut().append_log_events(n, || clock.tick())
    }

    /// Publish `n` new System Log events with `published` `lag` before now: late arrivals, older
    /// than events already visible (committed now, or after [`SimConfig::log_delay`]).
    pub fn append_late_log_events(&self, n: usize, lag: std::time::Duration) -> Vec<Value> {
        let clock = &self.shared.clock;
        let lag = i64::try_from(lag.as_millis()).unwrap_or(0);
        self.org_mut()
            .append_late_log_events(n, lag, || clock.tick())
    }

    /// Replaces the rate-limit mode for later requests (a benchmark seeds and reads a large org
    /// unlimited, then measures an incremental sync under real limits).
    pub fn set_rate_limits(&self, mode: RateLimitMode) {
        *self
            .shared
            .limiter
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            std::sync::Arc::new(crate::ratelimit::RateLimiter::new(&mode));
    }

    /// From now on every API request with the API token or an OAuth token gets 401 `E0000011`.
    pub fn revoke_token(&self) {
        self.shared
            .revoked
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    // ---- faults and observation ---------------------------------------------------------

    /// Inject a fault.
    pub fn add_fault(&self, fault: Fault) {
        self.shared.faults.add(fault);
    }

    /// Every request since the start (or the last [`SimServer::clear_requests`]), in arrival order
    /// (at most [`server::MAX_LOGGED`]; beyond that the oldest half is forgotten).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.requests()
    }

    /// Forget the request log (counters in [`SimServer::stats`] are kept).
    pub fn clear_requests(&self) {
        self.shared.clear_requests();
    }

    /// Request counters.
    pub fn stats(&self) -> SimStats {
        self.shared.stats()
    }
}

/// [`SimServer::churn`], also served as `POST /__sim/churn`.
pub(crate) fn churn(shared: &Shared, fraction: f64, seed: u64) -> ChurnReport {
    let clock = &shared.clock;
    let mut org = match shared.org.write() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    org.churn(fraction, seed, || clock.tick())
}

/// [`SimServer::release_logs`], also served as `POST /__sim/release-logs`.
pub(crate) fn release_logs(shared: &Shared) -> usize {
    let now = shared.clock.tick();
    let mut org = match shared.org.write() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    org.release_logs(now)
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
