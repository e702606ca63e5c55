//! The simulated org: seeded data, its indexes, the System Log's commit path, and the ground
//! truth tests compare against (the mutations tests drive are in [`crate::changes`]).
//!
//! Seeding is a pure function of the config's seed and size (plus the start time and base URL,
//! which timestamps and links are relative to). Large collections are generated in independent
//! chunks, each from its own derived random stream, on all cores; the result does not depend on
//! the number of threads. Every object's JSON is serialized once and served by concatenation.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound::{self, Excluded, Included, Unbounded};

use bytes::Bytes;
use serde_json::{json, Value};

use crate::clock::{self, DAY_MS};
use crate::config::SimConfig;
use crate::logs::{LogTemplates, Scratch};
use crate::model::{
    okta_id, write_app_user, AppUserSpec, Group, GroupProfile, LogEvent, LogRefs, Profile, Rng,
    User, DEPARTMENTS, DIVISIONS, FIRST_NAMES, LAST_NAMES, PLACES, SKILLS, TITLES,
};

/// System Log retention: 90 days.
pub const RETENTION_MS: i64 = 90 * DAY_MS;

// Random stream and id-kind numbers (stable: changing them changes every seeded org).
const S_USERS: u64 = 1;
const S_STATUS: u64 = 2;
const S_GROUPS: u64 = 3;
const S_MEMBERS: u64 = 4;
const S_APPS: u64 = 5;
const S_APP_USERS: u64 = 6;
const S_LOGS: u64 = 7;
const S_ROLES: u64 = 8;
const S_TYPES: u64 = 9;
const S_MUTATE: u64 = 10;
const K_USER: u64 = 1;
const K_GROUP: u64 = 2;
const K_APP: u64 = 3;
const K_TYPE: u64 = 4;
const K_SCHEMA: u64 = 5;
const K_ROLE: u64 = 6;
const K_ORG: u64 = 7;
const K_ADMIN: u64 = 8;

/// A pre-serialized object of a simple (read-only) list.
#[derive(Debug, Clone)]
pub struct Item {
    /// Its id (lists are kept sorted by it).
    pub id: String,
    /// Its JSON.
    pub json: Bytes,
}

/// A record kept in an [`Indexed`] collection.
pub trait Record {
    /// Id.
    fn id(&self) -> &str;
    /// `lastUpdated`.
    fn last_updated(&self) -> i64;
    /// `created`.
    fn created(&self) -> i64;
}

/// Implements [`Record`] for types with `id`, `last_updated` and `created` fields.
macro_rules! impl_record {
    ($($t:ty),*) => {$(
        impl Record for $t {
            fn id(&self) -> &str {
                &self.id
            }
            fn last_updated(&self) -> i64 {
                self.last_updated
            }
            fn created(&self) -> i64 {
                self.created
            }
        }
    )*};
}

impl_record!(User, Group);

/// The orders a collection can be listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// By id.
    Id,
    /// By `lastUpdated`, then id.
    LastUpdated,
    /// By `created`, then id.
    Created,
}

/// Records by id, with sorted indexes on `lastUpdated` and `created`.
#[derive(Debug)]
pub struct Indexed<T> {
    /// Records by id.
    pub by_id: BTreeMap<String, T>,
    by_updated: BTreeSet<(i64, String)>,
    by_created: BTreeSet<(i64, String)>,
}

impl<T> Default for Indexed<T> {
    fn default() -> Self {
        Indexed {
            by_id: BTreeMap::new(),
            by_updated: BTreeSet::new(),
            by_created: BTreeSet::new(),
        }
    }
}

/// One page of an [`Indexed`] listing.
pub struct Page<'a, T> {
    /// The records.
    pub items: Vec<&'a T>,
    /// More records match after the last one.
    pub more: bool,
}

impl<T: Record> Indexed<T> {
    /// Build from records with distinct ids (bulk-loaded: one sort per index).
    pub fn from_vec(v: Vec<T>) -> Self {
        let by_updated = v
            .iter()
            .map(|t| (t.last_updated(), t.id().to_string()))
            .collect();
        let by_created = v
            .iter()
            .map(|t| (t.created(), t.id().to_string()))
            .collect();
        Indexed {
            by_id: v.into_iter().map(|t| (t.id().to_string(), t)).collect(),
            by_updated,
            by_created,
        }
    }

    /// Insert or replace a record.
    pub fn insert(&mut self, t: T) {
        if let Some(old) = self.by_id.get(t.id()) {
            self.by_updated
                .remove(&(old.last_updated(), old.id().to_string()));
            self.by_created
                .remove(&(old.created(), old.id().to_string()));
        }
        self.by_updated
            .insert((t.last_updated(), t.id().to_string()));
        self.by_created.insert((t.created(), t.id().to_string()));
        self.by_id.insert(t.id().to_string(), t);
    }

    /// Remove a record.
    pub fn remove(&mut self, id: &str) -> Option<T> {
        let old = self.by_id.remove(id)?;
        self.by_updated
            .remove(&(old.last_updated(), old.id().to_string()));
        self.by_created
            .remove(&(old.created(), old.id().to_string()));
        Some(old)
    }

    /// Change a record in place, keeping the indexes right.
    pub fn update(&mut self, id: &str, f: impl FnOnce(&mut T)) -> Option<&T> {
        let mut t = self.remove(id)?;
        f(&mut t);
        let key = t.id().to_string();
        self.insert(t);
        self.by_id.get(&key)
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Up to `limit` records matching `pred`, in `sort` order (`desc` for descending), after the
    /// position `after` = (sort key, id). `bounds` are inclusive limits on the sort key that let
    /// the scan start late and stop early (ignored for id order).
    pub fn page<'a>(
        &'a self,
        sort: SortKey,
        desc: bool,
        after: Option<(i64, &str)>,
        bounds: (Option<i64>, Option<i64>),
        limit: usize,
        pred: impl Fn(&T) -> bool,
    ) -> Page<'a, T> {
        let mut items = Vec::with_capacity(limit.min(1024));
        let mut more = false;
        let mut take = |t: &'a T| -> bool {
            if pred(t) {
                if items.len() >= limit {
                    more = true;
                    return true;
                }
                items.push(t);
            }
            false
        };
        match sort {
            SortKey::Id => {
                let range = match after {
                    Some((_, id)) if desc => (Unbounded, Excluded(id)),
                    Some((_, id)) => (Excluded(id), Unbounded),
                    None => (Unbounded, Unbounded),
                };
                let it = self.by_id.range::<str, _>(range).map(|(_, v)| v);
                if desc {
                    for t in it.rev() {
                        if take(t) {
                            break;
                        }
                    }
                } else {
                    for t in it {
                        if take(t) {
                            break;
                        }
                    }
                }
            }
            SortKey::LastUpdated | SortKey::Created => {
                let set = if sort == SortKey::LastUpdated {
                    &self.by_updated
                } else {
                    &self.by_created
                };
                let (lo, hi) = bounds;
                let cur = after.map(|(k, id)| (k, id.to_string()));
                if desc {
                    let mut upper: Bound<(i64, String)> = Unbounded;
                    if let Some(h) = hi {
                        upper = Excluded((h.saturating_add(1), String::new()));
                    }
                    if let Some(c) = cur {
                        let tighter = match &upper {
                            Excluded(u) => c < *u,
                            _ => true,
                        };
                        if tighter {
                            upper = Excluded(c);
                        }
                    }
                    for (k, id) in set.range((Unbounded, upper)).rev() {
                        if lo.is_some_and(|l| *k < l) {
                            break;
                        }
                        if let Some(t) = self.by_id.get(id) {
                            if take(t) {
                                break;
                            }
                        }
                    }
                } else {
                    let mut lower: Bound<(i64, String)> = Unbounded;
                    if let Some(l) = lo {
                        lower = Included((l, String::new()));
                    }
                    if let Some(c) = cur {
                        let later = match &lower {
                            Included(l) => c >= *l,
                            _ => true,
                        };
                        if later {
                            lower = Excluded(c);
                        }
                    }
                    for (k, id) in set.range((lower, Unbounded)) {
                        if hi.is_some_and(|h| *k > h) {
                            break;
                        }
                        if let Some(t) = self.by_id.get(id) {
                            if take(t) {
                                break;
                            }
                        }
                    }
                }
            }
        }
        Page { items, more }
    }
}

/// The whole simulated org.
#[derive(Debug)]
pub struct Org {
    /// Seed.
    pub seed: u64,
    /// Base URL baked into `_links`.
    pub base: String,
    /// When the org was seeded (epoch ms); seeded timestamps are before it.
    pub start_ms: i64,
    /// Users.
    pub users: Indexed<User>,
    /// Groups.
    pub groups: Indexed<Group>,
    /// Group id → member user ids.
    pub members: HashMap<String, BTreeSet<String>>,
    /// User id → group ids.
    pub user_groups: HashMap<String, BTreeSet<String>>,
    /// Group id → number of apps it is assigned to.
    pub group_apps: HashMap<String, usize>,
    /// Simple lists by name (`apps`, `user_types`, `custom_roles`), sorted by id.
    pub lists: HashMap<&'static str, Vec<Item>>,
    /// Child lists by name (`app_users`, `app_groups`, `role_permissions`) and parent id.
    pub children: HashMap<&'static str, HashMap<String, Vec<Item>>>,
    /// Single objects by (name, key).
    pub objects: HashMap<(&'static str, String), Bytes>,
    /// System Log events in persistence order (the position is the polling cursor).
    pub logs: Vec<LogEvent>,
    /// (published, position) sorted, for bounded queries.
    pub logs_by_published: Vec<(i64, u32)>,
    /// Actors and targets of log events.
    pub log_refs: LogRefs,
    /// Generator of log event JSON.
    pub log_templates: LogTemplates,
    user_type_ids: Vec<(String, String)>,
    next_user_n: u64,
    pub(crate) mutations: u64,
    pub(crate) next_log_n: u64,
    /// Events written but not visible yet ([`SimConfig::log_delay`]), by `persisted` time.
    pub pending_logs: Vec<LogEvent>,
    /// How long after `published` a new event becomes visible, in ms.
    pub log_delay_ms: i64,
    /// Factors of users whose factors changed (replacing the generated ones), by user id.
    pub factor_overrides: HashMap<String, Vec<Value>>,
    /// Counter of ids minted by mutations.
    pub(crate) minted: u64,
    /// The rest of the catalog (devices, policies, ASA, …; see [`crate::catalog`]).
    pub catalog: crate::catalog::Catalog,
}

fn par_chunks<T: Send>(
    n: usize,
    chunk: usize,
    f: impl Fn(usize, std::ops::Range<usize>) -> Vec<T> + Sync,
) -> Vec<T> {
    let chunks: Vec<(usize, std::ops::Range<usize>)> = (0..n.div_ceil(chunk.max(1)))
        .map(|c| (c, c * chunk..((c + 1) * chunk).min(n)))
        .collect();
    let threads = std::thread::available_parallelism()
        .map(|p| p.get())
        .unwrap_or(1)
        .clamp(1, 8)
        .min(chunks.len().max(1));
    if threads <= 1 {
        return chunks.into_iter().flat_map(|(c, r)| f(c, r)).collect();
    }
    let mut results: Vec<Vec<Vec<T>>> = Vec::new();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let chunks = &chunks;
                let f = &f;
                s.spawn(move || {
                    chunks
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| i % threads == t)
                        .map(|(_, (c, r))| f(*c, r.clone()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            // A panicking generator is a bug; surface it on the caller's thread.
            match h.join() {
                Ok(v) => results.push(v),
                Err(e) => std::panic::resume_unwind(e),
            }
        }
    });
    // Re-interleave: chunk i was produced by thread i % threads as its (i / threads)-th result.
    let mut per_thread: Vec<std::vec::IntoIter<Vec<T>>> =
        results.into_iter().map(|v| v.into_iter()).collect();
    let mut out = Vec::with_capacity(n);
    for i in 0..chunks.len() {
        if let Some(v) = per_thread[i % threads].next() {
            out.extend(v);
        }
    }
    out
}

/// Zipf-like cumulative weights over `n` items, in a seeded random order (so the big groups/apps
/// aren't simply the first ids).
fn zipf_cumulative(n: usize, exponent: f64, rng: &mut Rng) -> (Vec<f64>, Vec<usize>) {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.below(i + 1);
        order.swap(i, j);
    }
    let mut acc = 0.0;
    let cum = (0..n)
        .map(|r| {
            acc += 1.0 / ((r + 1) as f64).powf(exponent);
            acc
        })
        .collect();
    (cum, order)
}

fn weighted_pick(cum: &[f64], order: &[usize], rng: &mut Rng) -> usize {
    let total = cum.last().copied().unwrap_or(0.0);
    let x = rng.unit() * total;
    let r = cum
        .partition_point(|c| *c <= x)
        .min(cum.len().saturating_sub(1));
    order[r]
}

/// `k` distinct items drawn by weight (fewer when there aren't `k`).
fn distinct_picks(cum: &[f64], order: &[usize], k: usize, rng: &mut Rng) -> Vec<usize> {
    let n = cum.len();
    let k = k.min(n);
    let mut out: Vec<usize> = Vec::with_capacity(k);
    let mut tries = 0;
    while out.len() < k && tries < k * 8 {
        tries += 1;
        let p = weighted_pick(cum, order, rng);
        if !out.contains(&p) {
            out.push(p);
        }
    }
    let mut i = rng.below(n.max(1));
    while out.len() < k {
        if !out.contains(&i) {
            out.push(i);
        }
        i = (i + 1) % n;
    }
    out
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

const USER_TYPES: &[(&str, &str, &str)] = &[
    ("user", "User", "Okta User"),
    ("contractor", "Contractor", "External contractors"),
    ("partner", "Partner", "Partner company staff"),
];

const APP_TEMPLATES: &[(&str, &str, &str)] = &[
    ("active_directory", "corp.example.com", ""),
    ("salesforce", "Salesforce.com", "SAML_2_0"),
    ("slack", "Slack", "SAML_2_0"),
    ("zoomus", "Zoom", "SAML_2_0"),
    (
        "github_enterprise_cloud",
        "GitHub Enterprise Cloud",
        "SAML_2_0",
    ),
    ("workday", "Workday", "SAML_2_0"),
    ("office365", "Microsoft Office 365", "WS_FEDERATION"),
    ("google", "Google Workspace", "SAML_2_0"),
    ("oidc_client", "Internal Portal", "OPENID_CONNECT"),
    ("bookmark", "Company Wiki", "BOOKMARK"),
    ("template_swa", "Expense Tool", "BROWSER_PLUGIN"),
    ("amazon_aws", "AWS Account Federation", "SAML_2_0"),
    ("jira_onprem", "Jira", "AUTO_LOGIN"),
    ("zendesk", "Zendesk", "SAML_2_0"),
    ("box", "Box", "SAML_2_0"),
];

const APP_ROLES: &[&str] = &["User", "Viewer", "Editor", "Admin", "Standard User"];

const PERMISSIONS: &[&str] = &[
    "okta.users.read",
    "okta.users.manage",
    "okta.users.create",
    "okta.users.userprofile.manage",
    "okta.users.credentials.resetPassword",
    "okta.users.lifecycle.manage",
    "okta.groups.read",
    "okta.groups.manage",
    "okta.groups.members.manage",
    "okta.apps.read",
    "okta.apps.manage",
    "okta.apps.assignment.manage",
    "okta.policies.read",
    "okta.authzservers.read",
    "okta.devices.read",
    "okta.logs.read",
];

const ROLE_NAMES: &[&str] = &[
    "Help Desk",
    "Group Auditor",
    "App Owner",
    "HR Partner",
    "Security Reviewer",
    "Password Resetter",
    "Onboarding",
    "Device Admin",
    "Policy Viewer",
    "Log Reader",
    "Access Certifier",
    "Support Tier 2",
];

fn user_schema(base: &str, schema_id: &str, type_name: &str, created: i64) -> Value {
    let perm = json!([{"principal": "SELF", "action": "READ_WRITE"}]);
    let s = |title: &str, required: bool| {
        json!({"title": title, "type": "string", "required": required, "mutability": "READ_WRITE",
               "scope": "NONE", "permissions": perm.clone(), "master": {"type": "PROFILE_MASTER"}})
    };
    let mut base_props = serde_json::Map::new();
    base_props.insert("login".into(), {
        let mut v = s("Username", true);
        v["minLength"] = json!(5);
        v["maxLength"] = json!(100);
        v["unique"] = json!("UNIQUE_VALIDATED");
        v
    });
    base_props.insert("firstName".into(), s("First name", true));
    base_props.insert("lastName".into(), s("Last name", true));
    base_props.insert("email".into(), {
        let mut v = s("Primary email", true);
        v["format"] = json!("email");
        v
    });
    for (k, t) in [
        ("mobilePhone", "Mobile phone"),
        ("secondEmail", "Secondary email"),
        ("displayName", "Display name"),
        ("nickName", "Nickname"),
        ("title", "Title"),
        ("department", "Department"),
        ("division", "Division"),
        ("organization", "Organization"),
        ("costCenter", "Cost center"),
        ("employeeNumber", "Employee number"),
        ("city", "City"),
        ("state", "State"),
        ("countryCode", "Country code"),
        ("zipCode", "Zip code"),
        ("preferredLanguage", "Preferred language"),
        ("userType", "User type"),
    ] {
        base_props.insert(k.into(), s(t, false));
    }
    let mut custom = serde_json::Map::new();
    custom.insert(
        "employeeLevel".into(),
        json!({"title": "Employee level", "description": "Career level", "type": "integer",
               "required": false, "minimum": 1, "maximum": 10, "mutability": "READ_WRITE",
               "scope": "NONE", "permissions": perm.clone(), "master": {"type": "PROFILE_MASTER"}}),
    );
    custom.insert(
        "isContractor".into(),
        json!({"title": "Is contractor", "type": "boolean", "required": false,
               "mutability": "READ_WRITE", "scope": "NONE", "permissions": perm.clone(),
               "master": {"type": "PROFILE_MASTER"}}),
    );
    custom.insert(
        "fte".into(),
        json!({"title": "FTE", "description": "Full-time equivalent", "type": "number",
               "required": false, "mutability": "READ_WRITE", "scope": "NONE",
               "permissions": perm.clone(), "master": {"type": "PROFILE_MASTER"}}),
    );
    custom.insert(
        "skills".into(),
        json!({"title": "Skills", "type": "array", "items": {"type": "string"}, "union": "DISABLE",
               "required": false, "mutability": "READ_WRITE", "scope": "NONE",
               "permissions": perm.clone(), "master": {"type": "PROFILE_MASTER"}}),
    );
    custom.insert(
        "badgeId".into(),
        json!({"title": "Badge id", "type": "string", "required": false, "minLength": 1,
               "maxLength": 20, "unique": "UNIQUE_VALIDATED", "mutability": "READ_WRITE",
               "scope": "NONE", "permissions": perm.clone(), "master": {"type": "PROFILE_MASTER"}}),
    );
    match type_name {
        "contractor" => {
            custom.insert(
                "contractorAgency".into(),
                json!({"title": "Contractor agency", "type": "string", "required": false,
                       "mutability": "READ_WRITE", "scope": "NONE", "permissions": perm.clone(),
                       "master": {"type": "PROFILE_MASTER"}}),
            );
        }
        "partner" => {
            custom.insert(
                "partnerCompany".into(),
                json!({"title": "Partner company", "type": "string", "required": false,
                       "mutability": "READ_WRITE", "scope": "NONE", "permissions": perm.clone(),
                       "master": {"type": "PROFILE_MASTER"}}),
            );
        }
        _ => {}
    }
    json!({
        "id": format!("{base}/meta/schemas/user/{schema_id}"),
        "$schema": "http://json-schema.org/draft-04/schema#",
        "name": "user",
        "title": if type_name == "user" { "Okta User".to_string() } else { format!("{type_name} user") },
        "description": "Okta user profile template",
        "lastUpdated": clock::iso(created + 3_600_000),
        "created": clock::iso(created),
        "definitions": {
            "base": {"id": "#base", "type": "object", "properties": base_props,
                     "required": ["login", "firstName", "lastName", "email"]},
            "custom": {"id": "#custom", "type": "object", "properties": custom, "required": []}
        },
        "type": "object",
        "properties": {"profile": {"allOf": [{"$ref": "#/definitions/custom"}, {"$ref": "#/definitions/base"}]}},
        "_links": {"self": {"rel": "self", "href": format!("{base}/api/v1/meta/schemas/user/{schema_id}"), "method": "GET"}}
    })
}

fn group_schema(base: &str, created: i64) -> Value {
    let perm = json!([{"principal": "SELF", "action": "READ_ONLY"}]);
    json!({
        "id": format!("{base}/meta/schemas/group/default"),
        "$schema": "http://json-schema.org/draft-04/schema#",
        "name": "group",
        "title": "Okta group",
        "description": "Okta group profile template",
        "lastUpdated": clock::iso(created + 7_200_000),
        "created": clock::iso(created),
        "definitions": {
            "base": {"id": "#base", "type": "object", "properties": {
                "name": {"title": "Name", "type": "string", "required": true, "mutability": "READ_WRITE",
                         "scope": "NONE", "maxLength": 255, "permissions": perm.clone(), "master": {"type": "OKTA"}},
                "description": {"title": "Description", "type": "string", "mutability": "READ_WRITE",
                                "scope": "NONE", "maxLength": 1024, "permissions": perm.clone(), "master": {"type": "OKTA"}}
            }, "required": ["name"]},
            "custom": {"id": "#custom", "type": "object", "properties": {
                "costCenter": {"title": "Cost center", "type": "string", "required": false, "permissions": perm.clone(), "master": {"type": "PROFILE_MASTER"}},
                "isPrivileged": {"title": "Privileged", "type": "boolean", "required": false, "permissions": perm.clone(), "master": {"type": "PROFILE_MASTER"}},
                "tier": {"title": "Tier", "type": "integer", "required": false, "minimum": 0, "maximum": 5, "permissions": perm.clone(), "master": {"type": "PROFILE_MASTER"}},
                "budget": {"title": "Budget", "type": "number", "required": false, "permissions": perm.clone(), "master": {"type": "PROFILE_MASTER"}},
                "tags": {"title": "Tags", "type": "array", "items": {"type": "string"}, "required": false, "permissions": perm.clone(), "master": {"type": "PROFILE_MASTER"}}
            }, "required": []}
        },
        "type": "object",
        "properties": {"profile": {"allOf": [{"$ref": "#/definitions/custom"}, {"$ref": "#/definitions/base"}]}},
        "_links": {"self": {"rel": "self", "href": format!("{base}/api/v1/meta/schemas/group/default"), "method": "GET"}}
    })
}

fn to_bytes(v: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec()))
}

/// Parse stored JSON back into a value (ground-truth accessors).
pub fn parse(b: &Bytes) -> Value {
    serde_json::from_slice(b).unwrap_or(Value::Null)
}

struct UserGen<'a> {
    seed: u64,
    start: i64,
    types: &'a [(String, String)],
    bulk: &'a [i64],
}

impl UserGen<'_> {
    fn user(&self, n: u64, status: &'static str, rng: &mut Rng) -> User {
        let first = *rng.pick(FIRST_NAMES);
        let last = *rng.pick(LAST_NAMES);
        let (city, state, country, zip) = *rng.pick(PLACES);
        let type_idx = if self.types.len() > 1 && rng.chance(0.2) {
            1 + rng.below(self.types.len() - 1)
        } else {
            0
        };
        let type_name = self.types[type_idx].1.as_str();
        let created = self.start - rng.range(DAY_MS, 730 * DAY_MS);
        let mut last_updated = rng.range(created + 1000, self.start - 60_000);
        if !self.bulk.is_empty() && rng.chance(0.05) {
            let b = *rng.pick(self.bulk);
            if b > created {
                last_updated = b;
            }
        }
        let staged = status == "STAGED";
        let activated =
            (!staged && status != "PROVISIONED").then(|| created + rng.range(500, 5000));
        let status_changed = match status {
            "STAGED" => None,
            "ACTIVE" => activated,
            _ => Some(last_updated),
        };
        let password_changed = activated.map(|a| rng.range(a, last_updated.max(a + 1)));
        let last_login = match status {
            "ACTIVE" | "LOCKED_OUT" | "PASSWORD_EXPIRED" | "RECOVERY" if rng.chance(0.9) => {
                activated.map(|a| rng.range(a, self.start - 1000))
            }
            _ => None,
        };
        let login = format!("{}.{}{}@example.com", lower(first), lower(last), n);
        let mut skills: Vec<String> = Vec::new();
        for _ in 0..rng.below(4) {
            let s = (*rng.pick(SKILLS)).to_string();
            if !skills.contains(&s) {
                skills.push(s);
            }
        }
        let profile = Profile {
            first_name: first.to_string(),
            last_name: last.to_string(),
            mobile_phone: rng
                .chance(0.6)
                .then(|| format!("+1-555-{:03}-{:04}", rng.below(1000), rng.below(10000))),
            second_email: rng
                .chance(0.2)
                .then(|| format!("{}{}@example.org", lower(first), n)),
            email: login.clone(),
            login,
            display_name: format!("{first} {last}"),
            nick_name: rng.chance(0.3).then(|| lower(first)),
            title: (*rng.pick(TITLES)).to_string(),
            department: (*rng.pick(DEPARTMENTS)).to_string(),
            division: (*rng.pick(DIVISIONS)).to_string(),
            organization: "Example Corp".to_string(),
            cost_center: format!("CC-{}", 100 + rng.below(40)),
            employee_number: format!("{}", 10_000 + n),
            city: city.to_string(),
            state: state.to_string(),
            country_code: country.to_string(),
            zip_code: zip.to_string(),
            preferred_language: "en-US".to_string(),
            user_type: self.types[type_idx].1.clone(),
            employee_level: 1 + rng.below(10) as i64,
            is_contractor: type_name == "contractor",
            fte: [1.0, 1.0, 1.0, 0.8, 0.5][rng.below(5)],
            skills,
            badge_id: format!("B{:07}", mix_badge(self.seed, n)),
            contractor_agency: (type_name == "contractor").then(|| {
                (*rng.pick(&["Acme Staffing", "Globex Talent", "Initech Contractors"])).to_string()
            }),
            partner_company: (type_name == "partner")
                .then(|| (*rng.pick(&["Umbrella Partners", "Stark Industries"])).to_string()),
        };
        User {
            id: okta_id("00u", self.seed, K_USER, n),
            status,
            created,
            activated,
            status_changed,
            last_login,
            last_updated,
            password_changed,
            type_id: self.types[type_idx].0.clone(),
            profile,
            json: Bytes::new(),
        }
    }
}

fn mix_badge(seed: u64, n: u64) -> u64 {
    // Distinct for distinct n below 10^7 (unique badge ids, as the schema says).
    (n.wrapping_mul(7_919).wrapping_add(seed % 1000)) % 10_000_000
}

/// Statuses of `n` users: exact shares (at least one of each uncommon status once there are 20
/// users), shuffled deterministically.
fn user_statuses(seed: u64, n: usize) -> Vec<&'static str> {
    let share = |pct_tenths: usize, min: usize| ((n * pct_tenths) / 1000).max(min);
    let min = usize::from(n >= 20);
    let mut v: Vec<&'static str> = Vec::with_capacity(n);
    let counts = [
        ("DEPROVISIONED", share(30, usize::from(n >= 5))),
        ("STAGED", share(20, min)),
        ("PROVISIONED", share(30, min)),
        ("SUSPENDED", share(10, min)),
        ("LOCKED_OUT", share(10, min)),
        ("PASSWORD_EXPIRED", share(5, 0)),
        ("RECOVERY", share(5, 0)),
    ];
    for (s, c) in counts {
        for _ in 0..c {
            if v.len() < n {
                v.push(s);
            }
        }
    }
    while v.len() < n {
        v.push("ACTIVE");
    }
    let mut rng = Rng::derive(seed, S_STATUS, 0);
    for i in (1..n).rev() {
        let j = rng.below(i + 1);
        v.swap(i, j);
    }
    v
}

/// Objects serialized back to back into one buffer, then handed out as `Bytes` views of it: one
/// allocation per chunk instead of one (plus regrowth) per object.
struct Arena {
    buf: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

impl Arena {
    fn with_capacity(objects: usize, bytes: usize) -> Self {
        Arena {
            buf: Vec::with_capacity(bytes),
            spans: Vec::with_capacity(objects),
        }
    }

    fn push(&mut self, f: impl FnOnce(&mut Vec<u8>)) {
        let start = self.buf.len();
        f(&mut self.buf);
        self.spans.push((start, self.buf.len()));
    }

    fn finish(self) -> impl Iterator<Item = Bytes> {
        let buf = Bytes::from(self.buf);
        self.spans.into_iter().map(move |(s, e)| buf.slice(s..e))
    }
}

/// Seeding phase durations, printed to stderr when `OKTA_SIM_TIMING` is set.
struct Phase {
    enabled: bool,
    last: std::time::Instant,
}

impl Phase {
    fn new() -> Self {
        Phase {
            enabled: std::env::var_os("OKTA_SIM_TIMING").is_some(),
            last: std::time::Instant::now(),
        }
    }

    fn done(&mut self, name: &str) {
        if self.enabled {
            eprintln!("okta-sim: seeded {name} in {:?}", self.last.elapsed());
        }
        self.last = std::time::Instant::now();
    }
}

impl Org {
    /// Seed an org for `cfg`, with links under `base` and timestamps before `start_ms`.
    pub fn seed(cfg: &SimConfig, base: &str, start_ms: i64) -> Org {
        let seed = cfg.seed;
        let n_users = cfg.users;
        let start = start_ms;
        let mut phase = Phase::new();

        // User types and their schemas.
        let mut trng = Rng::derive(seed, S_TYPES, 0);
        let n_types = 2 + trng.below(2);
        let admin_id = okta_id("00u", seed, K_ADMIN, 0);
        let mut types: Vec<(String, String)> = Vec::new();
        let mut type_items = Vec::new();
        let mut objects: HashMap<(&'static str, String), Bytes> = HashMap::new();
        for (i, (name, display, desc)) in USER_TYPES.iter().take(n_types).enumerate() {
            let id = okta_id("oty", seed, K_TYPE, i as u64);
            let schema_id = okta_id("osc", seed, K_SCHEMA, i as u64);
            let created = start - 800 * DAY_MS + (i as i64) * 30 * DAY_MS;
            let v = json!({
                "id": id,
                "displayName": display,
                "name": name,
                "description": desc,
                "createdBy": admin_id,
                "lastUpdatedBy": admin_id,
                "created": clock::iso(created),
                "lastUpdated": clock::iso(created + 3_600_000),
                "default": i == 0,
                "_links": {
                    "schema": {"rel": "full", "href": format!("{base}/api/v1/meta/schemas/user/{schema_id}"), "method": "GET"},
                    "self": {"rel": "self", "href": format!("{base}/api/v1/meta/types/user/{id}"), "method": "GET"}
                }
            });
            type_items.push(Item {
                id: id.clone(),
                json: to_bytes(&v),
            });
            let schema = to_bytes(&user_schema(base, &schema_id, name, created));
            if i == 0 {
                objects.insert(("user_schema", "default".into()), schema.clone());
            }
            objects.insert(("user_schema", schema_id), schema);
            types.push((id, (*name).to_string()));
        }
        type_items.sort_by(|a, b| a.id.cmp(&b.id));
        objects.insert(
            ("group_schema", "default".into()),
            to_bytes(&group_schema(base, start - 800 * DAY_MS)),
        );

        phase.done("types");
        // Users.
        let statuses = user_statuses(seed, n_users);
        let mut brng = Rng::derive(seed, S_USERS, u64::MAX);
        let bulk: Vec<i64> = (0..8)
            .map(|_| start - brng.range(2 * DAY_MS, 600 * DAY_MS))
            .collect();
        let ugen = UserGen {
            seed,
            start,
            types: &types,
            bulk: &bulk,
        };
        let users_vec: Vec<User> = par_chunks(n_users, 4096, |_, r| {
            let mut users: Vec<User> = r
                .map(|i| {
                    let mut rng = Rng::derive(seed, S_USERS, i as u64);
                    ugen.user(i as u64, statuses[i], &mut rng)
                })
                .collect();
            let mut arena = Arena::with_capacity(users.len(), users.len() * 1300);
            for u in &users {
                arena.push(|out| u.write(base, out));
            }
            for (u, json) in users.iter_mut().zip(arena.finish()) {
                u.json = json;
            }
            users
        });

        phase.done("users");
        // Groups (ids of apps are needed for APP_GROUP sources).
        let n_groups = (n_users / 20).max(5);
        let n_apps = (n_users / 100).max(5);
        let app_ids: Vec<String> = (0..n_apps)
            .map(|j| okta_id("0oa", seed, K_APP, j as u64))
            .collect();
        let mut groups_vec: Vec<Group> = (0..n_groups)
            .map(|i| {
                let mut rng = Rng::derive(seed, S_GROUPS, i as u64);
                let dept = *rng.pick(DEPARTMENTS);
                let app_group = i % 10 == 9;
                let created = start - rng.range(DAY_MS, 730 * DAY_MS);
                let last_updated = rng.range(created, start - 60_000);
                let name = if app_group {
                    format!("{dept} Directory Group {i}")
                } else {
                    format!(
                        "{dept} {} {i}",
                        rng.pick(&["Team", "Project", "Access", "Admins"])
                    )
                };
                let profile = if app_group {
                    GroupProfile {
                        description: format!("{dept} users synced from Active Directory"),
                        cost_center: None,
                        is_privileged: None,
                        tier: None,
                        budget: None,
                        tags: None,
                        group_type: Some("Security".into()),
                        sam_account_name: Some(name.replace(' ', "_")),
                        dn: Some(format!("CN={name},OU={dept},DC=corp,DC=example,DC=com")),
                        windows_domain_qualified_name: Some(format!("CORP\\{name}")),
                        name,
                    }
                } else {
                    GroupProfile {
                        description: format!("{dept} group number {i}"),
                        cost_center: Some(format!("CC-{}", 100 + rng.below(40))),
                        is_privileged: Some(rng.chance(0.1)),
                        tier: Some(rng.below(6) as i64),
                        budget: Some((rng.below(1_000_000) as f64) / 100.0),
                        tags: Some(
                            (0..rng.below(3))
                                .map(|_| {
                                    (*rng.pick(&["core", "temp", "audit", "emea", "amer"]))
                                        .to_string()
                                })
                                .collect(),
                        ),
                        group_type: None,
                        sam_account_name: None,
                        dn: None,
                        windows_domain_qualified_name: None,
                        name,
                    }
                };
                Group {
                    id: okta_id("00g", seed, K_GROUP, i as u64),
                    created,
                    last_updated,
                    last_membership_updated: rng.range(created, start - 60_000),
                    kind: if app_group { "APP_GROUP" } else { "OKTA_GROUP" },
                    source_app: app_group.then(|| app_ids[0].clone()),
                    profile,
                    json: Bytes::new(),
                }
            })
            .collect();
        for g in &mut groups_vec {
            g.render(base);
        }

        phase.done("groups");
        // Memberships: ~5 groups per user, Zipf-distributed group sizes.
        let mut mrng = Rng::derive(seed, S_MEMBERS, u64::MAX);
        let (gcum, gorder) = zipf_cumulative(n_groups, 0.8, &mut mrng);
        let mut member_lists: Vec<Vec<String>> = vec![Vec::new(); n_groups];
        let mut user_gidx: Vec<Vec<usize>> = Vec::with_capacity(n_users);
        let mut user_groups: HashMap<String, BTreeSet<String>> = HashMap::with_capacity(n_users);
        for (i, u) in users_vec.iter().enumerate() {
            let mut rng = Rng::derive(seed, S_MEMBERS, i as u64);
            let k = 3 + rng.below(5);
            let picks = distinct_picks(&gcum, &gorder, k, &mut rng);
            for gi in &picks {
                member_lists[*gi].push(u.id.clone());
            }
            user_groups.insert(
                u.id.clone(),
                picks.iter().map(|gi| groups_vec[*gi].id.clone()).collect(),
            );
            user_gidx.push(picks);
        }
        // Bulk-built sets (collecting sorts once) instead of half a million inserts.
        let members: HashMap<String, BTreeSet<String>> = groups_vec
            .iter()
            .zip(member_lists)
            .map(|(g, list)| (g.id.clone(), list.into_iter().collect()))
            .collect();

        phase.done("members");
        // Apps.
        let mut app_items: Vec<Item> = Vec::with_capacity(n_apps);
        let mut app_meta: Vec<(String, String, i64)> = Vec::with_capacity(n_apps);
        for (j, id) in app_ids.iter().enumerate() {
            let mut rng = Rng::derive(seed, S_APPS, j as u64);
            let (tname, tlabel, mode) = APP_TEMPLATES[j % APP_TEMPLATES.len()];
            let round = j / APP_TEMPLATES.len();
            let (name, label) = if round == 0 {
                (tname.to_string(), tlabel.to_string())
            } else {
                (format!("{tname}_{round}"), format!("{tlabel} {round}"))
            };
            let created = start - rng.range(30 * DAY_MS, 730 * DAY_MS);
            let last_updated = rng.range(created, start - 60_000);
            let status = if j > 0 && rng.chance(0.1) {
                "INACTIVE"
            } else {
                "ACTIVE"
            };
            let link_name = format!("{name}_link");
            let v = json!({
                "id": id,
                "orn": format!("orn:okta:idp:{}:apps:{name}:{id}", okta_id("00o", seed, K_ORG, 0)),
                "name": name,
                "label": label,
                "status": status,
                "lastUpdated": clock::iso(last_updated),
                "created": clock::iso(created),
                "accessibility": {"selfService": false, "errorRedirectUrl": null, "loginRedirectUrl": null},
                "visibility": {"autoSubmitToolbar": false, "hide": {"iOS": false, "web": false}, "appLinks": {link_name.clone(): true}},
                "features": if mode == "SAML_2_0" { json!(["PUSH_NEW_USERS", "PUSH_PROFILE_UPDATES"]) } else { json!([]) },
                "signOnMode": if mode.is_empty() { Value::Null } else { json!(mode) },
                "credentials": {"userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"}, "signing": {}},
                "settings": {"app": {}, "notifications": {"vpn": {"network": {"connection": "DISABLED"}, "message": null, "helpUrl": null}}},
                "_links": {
                    "logo": [{"name": "medium", "href": format!("{base}/assets/img/logos/default.png"), "type": "image/png"}],
                    "appLinks": [{"name": link_name, "href": format!("{base}/home/{name}/{id}/aln{}", &id[3..]), "type": "text/html"}],
                    "users": {"href": format!("{base}/api/v1/apps/{id}/users")},
                    "groups": {"href": format!("{base}/api/v1/apps/{id}/groups")},
                    "deactivate": {"href": format!("{base}/api/v1/apps/{id}/lifecycle/deactivate")}
                }
            });
            app_items.push(Item {
                id: id.clone(),
                json: to_bytes(&v),
            });
            app_meta.push((id.clone(), label, created));
        }

        phase.done("apps");
        // App group assignments: ~2 per app.
        let mut app_groups: HashMap<String, Vec<Item>> = HashMap::with_capacity(n_apps);
        let mut app_group_ids: Vec<Vec<usize>> = Vec::with_capacity(n_apps);
        let mut group_apps: HashMap<String, usize> = HashMap::new();
        for (j, (aid, _, acreated)) in app_meta.iter().enumerate() {
            let mut rng = Rng::derive(seed, S_APPS, (1 << 32) + j as u64);
            let k = 1 + rng.below(3);
            let picks = distinct_picks(&gcum, &gorder, k, &mut rng);
            let mut items: Vec<Item> = picks
                .iter()
                .enumerate()
                .map(|(prio, gi)| {
                    let g = &groups_vec[*gi];
                    *group_apps.entry(g.id.clone()).or_default() += 1;
                    let v = json!({
                        "id": g.id,
                        "priority": prio,
                        "lastUpdated": clock::iso(rng.range((*acreated).max(g.created), start - 60_000)),
                        "profile": {"role": *rng.pick(APP_ROLES), "department": null},
                        "_links": {
                            "app": {"href": format!("{base}/api/v1/apps/{aid}")},
                            "self": {"href": format!("{base}/api/v1/apps/{aid}/groups/{}", g.id)},
                            "group": {"href": format!("{base}/api/v1/groups/{}", g.id)}
                        }
                    });
                    Item {
                        id: g.id.clone(),
                        json: to_bytes(&v),
                    }
                })
                .collect();
            items.sort_by(|a, b| a.id.cmp(&b.id));
            app_groups.insert(aid.clone(), items);
            app_group_ids.push(picks);
        }

        phase.done("app groups");
        // App users: ~5 apps per user; GROUP scope when assigned through one of its groups.
        let mut arng = Rng::derive(seed, S_APP_USERS, u64::MAX);
        let (acum, aorder) = zipf_cumulative(n_apps, 0.6, &mut arng);
        let assignments: Vec<(usize, Item)> = par_chunks(n_users, 2048, |_, r| {
            let mut out = Vec::with_capacity(r.len() * 5);
            let mut arena = Arena::with_capacity(r.len() * 5, r.len() * 5 * 700);
            for i in r {
                let u = &users_vec[i];
                let mut rng = Rng::derive(seed, S_APP_USERS, i as u64);
                let k = 3 + rng.below(5);
                let ugroups = &user_gidx[i];
                for aj in distinct_picks(&acum, &aorder, k, &mut rng) {
                    let (aid, _, acreated) = &app_meta[aj];
                    let via = app_group_ids[aj].iter().find_map(|gi| {
                        let g = &groups_vec[*gi];
                        ugroups
                            .contains(gi)
                            .then_some((g.id.as_str(), g.profile.name.as_str()))
                    });
                    let created = rng.range((*acreated).max(u.created), start - 60_000);
                    let provisioned = rng.chance(0.7);
                    let ext = provisioned.then(|| okta_id("ext", seed, 100 + aj as u64, i as u64));
                    let spec = AppUserSpec {
                        app_id: aid,
                        user: u,
                        scope: if via.is_some() { "GROUP" } else { "USER" },
                        via_group: via,
                        created,
                        last_updated: rng.range(created, start - 30_000),
                        provisioned,
                        role: APP_ROLES[rng.below(APP_ROLES.len())],
                        external_id: ext.as_deref(),
                    };
                    arena.push(|buf| write_app_user(base, &spec, buf));
                    out.push((
                        aj,
                        Item {
                            id: u.id.clone(),
                            json: Bytes::new(),
                        },
                    ));
                }
            }
            for ((_, item), json) in out.iter_mut().zip(arena.finish()) {
                item.json = json;
            }
            out
        });
        let mut app_users: HashMap<String, Vec<Item>> = app_meta
            .iter()
            .map(|(id, _, _)| (id.clone(), Vec::new()))
            .collect();
        for (aj, item) in assignments {
            if let Some(v) = app_users.get_mut(&app_meta[aj].0) {
                v.push(item);
            }
        }
        for v in app_users.values_mut() {
            v.sort_by(|a, b| a.id.cmp(&b.id));
        }

        phase.done("app users");
        // System Log: ≈10 events per user over `log_days` days, none within an hour of the
        // retention boundary (so ground truth and the API can't disagree about an event that
        // ages out between two calls); ~3 % are committed a few seconds late.
        let n_logs = (n_users * 10).max(200);
        let log_days = i64::from(cfg.log_days.max(1));
        let log_refs = LogRefs {
            people: users_vec
                .iter()
                .map(|u| {
                    (
                        u.id.clone(),
                        u.profile.login.clone(),
                        u.profile.display_name.clone(),
                    )
                })
                .collect(),
            apps: app_meta
                .iter()
                .map(|(id, label, _)| (id.clone(), label.clone()))
                .collect(),
            groups: groups_vec
                .iter()
                .map(|g| (g.id.clone(), g.profile.name.clone()))
                .collect(),
        };
        let lgen = LogTemplates::new(seed, &log_refs);
        let boundary = start - RETENTION_MS;
        let logs: Vec<LogEvent> = par_chunks(n_logs, 8192, |_, r| {
            let mut scratch = Scratch::default();
            r.map(|i| {
                // Events come in bursts of four within a few seconds (a sign-in, its MFA, an
                // SSO…), so a late commit overtakes its neighbours.
                let mut brng = Rng::derive(seed, S_LOGS ^ 0xb0b, (i / 4) as u64);
                let mut base_t;
                loop {
                    base_t = brng.range(start - log_days * DAY_MS, start - 20_000);
                    if (base_t - boundary).abs() > 3_600_000 {
                        break;
                    }
                }
                let mut rng = Rng::derive(seed, S_LOGS, i as u64);
                let published = base_t + rng.range(0, 4_000);
                let persisted = if rng.chance(0.03) {
                    published + rng.range(2_000, 8_000)
                } else {
                    published + rng.range(0, 300)
                };
                lgen.event(i as u64, published, persisted, &mut rng, &mut scratch, None)
            })
            .collect()
        });
        // Persistence order (ties keep generation order); permuting via a key vector is much
        // cheaper than a stable sort moving the events themselves.
        let mut order: Vec<(i64, u32)> = logs
            .iter()
            .enumerate()
            .map(|(i, e)| (e.persisted, i as u32))
            .collect();
        order.sort_unstable();
        let mut slots: Vec<Option<LogEvent>> = logs.into_iter().map(Some).collect();
        let logs: Vec<LogEvent> = order
            .iter()
            .filter_map(|(_, i)| slots[*i as usize].take())
            .collect();
        let mut logs_by_published: Vec<(i64, u32)> = logs
            .iter()
            .enumerate()
            .map(|(i, e)| (e.published, i as u32))
            .collect();
        logs_by_published.sort_unstable();

        phase.done("logs");
        // Custom roles and their permissions.
        let mut roles = Vec::new();
        let mut role_perms: HashMap<String, Vec<Item>> = HashMap::new();
        for (i, label) in ROLE_NAMES.iter().enumerate() {
            let mut rng = Rng::derive(seed, S_ROLES, i as u64);
            let id = okta_id("cr0", seed, K_ROLE, i as u64);
            let created = start - rng.range(DAY_MS, 700 * DAY_MS);
            let updated = rng.range(created, start - 60_000);
            let v = json!({
                "id": id,
                "label": label,
                "description": format!("{label} (custom role)"),
                "created": clock::iso(created),
                "lastUpdated": clock::iso(updated),
                "_links": {
                    "permissions": {"href": format!("{base}/api/v1/iam/roles/{id}/permissions")},
                    "self": {"href": format!("{base}/api/v1/iam/roles/{id}")}
                }
            });
            roles.push(Item {
                id: id.clone(),
                json: to_bytes(&v),
            });
            let k = 3 + rng.below(4);
            let mut labels: Vec<&str> = Vec::new();
            while labels.len() < k {
                let p = *rng.pick(PERMISSIONS);
                if !labels.contains(&p) {
                    labels.push(p);
                }
            }
            labels.sort_unstable();
            let perms = labels
                .iter()
                .map(|p| Item {
                    id: (*p).to_string(),
                    json: to_bytes(&json!({
                        "label": p,
                        "created": clock::iso(created),
                        "lastUpdated": clock::iso(updated),
                        "conditions": null,
                        "_links": {
                            "role": {"href": format!("{base}/api/v1/iam/roles/{id}")},
                            "self": {"href": format!("{base}/api/v1/iam/roles/{id}/permissions/{p}")}
                        }
                    })),
                })
                .collect();
            role_perms.insert(id, perms);
        }
        roles.sort_by(|a, b| a.id.cmp(&b.id));

        phase.done("roles");
        // The org singleton.
        let org_id = okta_id("00o", seed, K_ORG, 0);
        let org_created = start - 900 * DAY_MS;
        objects.insert(
            ("org", String::new()),
            to_bytes(&json!({
                "id": org_id,
                "subdomain": format!("sim-{seed}"),
                "companyName": format!("Simulated Org {seed}"),
                "website": "https://www.example.com",
                "status": "ACTIVE",
                "endUserSupportHelpURL": "https://support.example.com",
                "supportPhoneNumber": "+1-555-555-0100",
                "phoneNumber": "+1-555-555-0199",
                "address1": "301 Brannan St.",
                "address2": null,
                "city": "San Francisco",
                "state": "CA",
                "country": "United States",
                "postalCode": "94107",
                "created": clock::iso(org_created),
                "lastUpdated": clock::iso(org_created + 86_400_000),
                "expiresAt": null,
                "_links": {
                    "preferences": {"href": format!("{base}/api/v1/org/preferences")},
                    "contacts": {"href": format!("{base}/api/v1/org/contacts")},
                    "oktaSupport": {"href": format!("{base}/api/v1/org/privacy/oktaSupport")},
                    "oktaCommunication": {"href": format!("{base}/api/v1/org/privacy/oktaCommunication")}
                }
            })),
        );

        phase.done("org");
        let users = Indexed::from_vec(users_vec);
        let groups = Indexed::from_vec(groups_vec);
        phase.done("indexes");
        let mut lists = HashMap::new();
        app_items.sort_by(|a, b| a.id.cmp(&b.id));
        lists.insert("apps", app_items);
        lists.insert("user_types", type_items);
        lists.insert("custom_roles", roles);
        let mut children = HashMap::new();
        children.insert("app_users", app_users);
        children.insert("app_groups", app_groups);
        children.insert("role_permissions", role_perms);

        let mut org = Org {
            seed,
            base: base.to_string(),
            start_ms: start,
            users,
            groups,
            members,
            user_groups,
            group_apps,
            lists,
            children,
            objects,
            logs,
            logs_by_published,
            log_refs,
            log_templates: lgen,
            user_type_ids: types,
            next_user_n: n_users as u64,
            mutations: 0,
            next_log_n: n_logs as u64,
            pending_logs: Vec::new(),
            log_delay_ms: i64::try_from(cfg.log_delay.as_millis()).unwrap_or(i64::MAX / 4),
            factor_overrides: HashMap::new(),
            minted: 0,
            catalog: Default::default(),
        };
        crate::catalog::seed(&mut org, cfg);
        phase.done("catalog");
        org
    }

    // -----------------------------------------------------------------------------------------
    // Ground truth

    /// Every user as served, by id.
    pub fn users_json(&self) -> Vec<Value> {
        self.users.by_id.values().map(|u| parse(&u.json)).collect()
    }

    /// Every group as served, by id.
    pub fn groups_json(&self) -> Vec<Value> {
        self.groups.by_id.values().map(|g| parse(&g.json)).collect()
    }

    /// (group id, user id) for every membership, by group then user.
    pub fn member_pairs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for gid in self.groups.by_id.keys() {
            if let Some(m) = self.members.get(gid) {
                out.extend(m.iter().map(|u| (gid.clone(), u.clone())));
            }
        }
        out
    }

    /// Items of list `name`.
    pub fn list_json(&self, name: &str) -> Vec<Value> {
        self.list(name).iter().map(|i| parse(&i.json)).collect()
    }

    /// The simple list `name` (empty when the org has none).
    pub fn list(&self, name: &str) -> &[Item] {
        self.lists.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// (parent id, item) of child list `name`, by parent then item id.
    pub fn children_json(&self, name: &str) -> Vec<(String, Value)> {
        let Some(map) = self.children.get(name) else {
            return Vec::new();
        };
        let mut parents: Vec<&String> = map.keys().collect();
        parents.sort();
        parents
            .into_iter()
            .flat_map(|p| map[p].iter().map(move |i| (p.clone(), parse(&i.json))))
            .collect()
    }

    /// Events the API can return at `now_ms` (inside retention), in persistence order.
    pub fn log_events_json(&self, now_ms: i64) -> Vec<Value> {
        let cutoff = now_ms - RETENTION_MS;
        let mut scratch = Scratch::default();
        let mut buf = Vec::with_capacity(2048);
        self.logs
            .iter()
            .filter(|e| e.published >= cutoff)
            .map(|e| {
                buf.clear();
                self.log_templates.write(e, &mut scratch, &mut buf);
                serde_json::from_slice(&buf).unwrap_or(Value::Null)
            })
            .collect()
    }

    // -----------------------------------------------------------------------------------------
    // Mutations (the rest are in crate::changes)

    /// A new ACTIVE user created at `now` (not yet inserted).
    pub(crate) fn generate_user(&mut self, now: i64) -> User {
        let n = self.next_user_n;
        self.next_user_n += 1;
        let mut rng = Rng::derive(self.seed, S_MUTATE, n);
        let types = self.user_type_ids.clone();
        let gen = UserGen {
            seed: self.seed,
            start: now,
            types: &types,
            bulk: &[],
        };
        let mut u = gen.user(n, "ACTIVE", &mut rng);
        u.created = now;
        u.activated = Some(now);
        u.status_changed = Some(now);
        u.last_login = None;
        u.password_changed = Some(now);
        u.last_updated = now;
        u.render(&self.base);
        u
    }

    /// Append `e` to the log in persistence order (its `persisted` is at or after every
    /// committed event's).
    fn commit_event(&mut self, e: LogEvent) {
        let pos = self.logs.len() as u32;
        let key = (e.published, pos);
        let at = self.logs_by_published.partition_point(|x| *x < key);
        self.logs_by_published.insert(at, key);
        self.logs.push(e);
    }

    /// Write `e` to the System Log: committed now when its `persisted` time has come, else held
    /// until then (eventual consistency).
    pub(crate) fn publish_event(&mut self, e: LogEvent, now: i64) {
        self.flush_logs(now);
        if e.persisted <= now {
            self.commit_event(e);
        } else {
            let at = self
                .pending_logs
                .partition_point(|p| p.persisted <= e.persisted);
            self.pending_logs.insert(at, e);
        }
    }

    /// Whether held events are due at `now`.
    pub fn logs_due(&self, now: i64) -> bool {
        self.pending_logs
            .first()
            .is_some_and(|e| e.persisted <= now)
    }

    /// Commit the held events that are due at `now`.
    pub fn flush_logs(&mut self, now: i64) {
        let due = self.pending_logs.partition_point(|e| e.persisted <= now);
        let ready: Vec<LogEvent> = self.pending_logs.drain(..due).collect();
        for e in ready {
            self.commit_event(e);
        }
    }

    /// Commit every held event at `now` (in the order they were due); how many.
    pub fn release_logs(&mut self, now: i64) -> usize {
        self.flush_logs(now);
        let held: Vec<LogEvent> = std::mem::take(&mut self.pending_logs);
        let n = held.len();
        for mut e in held {
            e.persisted = now;
            self.commit_event(e);
        }
        n
    }

    /// Publish `n` new events, each committed at the next instant of `tick` (plus
    /// [`Org::log_delay_ms`]); every fifth is published 3 s before it is committed (late commit,
    /// out of `published` order).
    pub fn append_log_events(&mut self, n: usize, tick: impl FnMut() -> i64) -> Vec<Value> {
        self.append_generated(n, None, tick)
    }

    /// Publish `n` new events `lag` ms older than the next instants of `tick`: they arrive
    /// after events published later than them.
    pub fn append_late_log_events(
        &mut self,
        n: usize,
        lag: i64,
        tick: impl FnMut() -> i64,
    ) -> Vec<Value> {
        self.append_generated(n, Some(lag), tick)
    }

    fn append_generated(
        &mut self,
        n: usize,
        lag: Option<i64>,
        mut tick: impl FnMut() -> i64,
    ) -> Vec<Value> {
        let mut out = Vec::with_capacity(n);
        let mut scratch = Scratch::default();
        for _ in 0..n {
            let k = self.next_log_n;
            self.next_log_n += 1;
            let persisted = tick();
            let published = match lag {
                Some(l) => persisted - l,
                None if k % 5 == 3 => persisted - 3_000,
                None => persisted,
            };
            let mut rng = Rng::derive(self.seed, S_LOGS, k);
            let mut buf = Vec::with_capacity(2048);
            let e = self.log_templates.event(
                k,
                published,
                persisted,
                &mut rng,
                &mut scratch,
                Some(&mut buf),
            );
            out.push(serde_json::from_slice(&buf).unwrap_or(Value::Null));
            let mut e = e;
            e.persisted += self.log_delay_ms;
            self.publish_event(e, persisted);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(users: usize, seed: u64) -> Org {
        let cfg = SimConfig {
            users,
            seed,
            ..SimConfig::default()
        };
        Org::seed(&cfg, "http://sim", 1_750_000_000_000)
    }

    #[test]
    fn seeding_is_deterministic_and_scaled() {
        let a = org(200, 7);
        let b = org(200, 7);
        assert_eq!(a.users_json(), b.users_json());
        assert_eq!(a.member_pairs(), b.member_pairs());
        assert_eq!(a.log_events_json(a.start_ms), b.log_events_json(b.start_ms));
        assert_eq!(a.children_json("app_users"), b.children_json("app_users"));
        let c = org(200, 8);
        assert_ne!(a.users_json(), c.users_json());

        assert_eq!(a.users.len(), 200);
        assert_eq!(a.groups.len(), 10);
        assert_eq!(a.lists["apps"].len(), 5);
        let members = a.member_pairs().len();
        assert!((600..=1400).contains(&members), "{members}");
        let app_users = a.children_json("app_users").len();
        assert!(app_users >= 600, "{app_users}");
        assert!(a
            .children_json("app_users")
            .iter()
            .any(|(_, v)| v["scope"] == "GROUP"));
        assert_eq!(a.logs.len(), 2000);
        assert_eq!(a.lists["custom_roles"].len(), 12);
        let deprov = a
            .users
            .by_id
            .values()
            .filter(|u| u.status == "DEPROVISIONED")
            .count();
        assert_eq!(deprov, 6);
        for s in ["STAGED", "PROVISIONED", "SUSPENDED", "LOCKED_OUT"] {
            assert!(a.users.by_id.values().any(|u| u.status == s), "{s}");
        }
    }

    #[test]
    fn tiny_orgs_seed() {
        for n in [0, 1, 2, 7] {
            let mut o = org(n, 5);
            assert_eq!(o.users.len(), n);
            assert_eq!(o.groups.len(), 5);
            assert_eq!(o.logs.len(), 200);
            assert!(o
                .log_events_json(o.start_ms)
                .iter()
                .all(|e| e["uuid"].is_string()));
            let added = o.append_log_events(3, || 1_750_000_000_001);
            assert_eq!(added.len(), 3);
            let v = o.create_user(1_750_000_000_002);
            assert!(v["id"].is_string());
        }
    }

    #[test]
    fn logs_are_in_persistence_order_with_some_late_commits() {
        let o = org(100, 1);
        assert!(o.logs.windows(2).all(|w| w[0].persisted <= w[1].persisted));
        let out_of_order = o
            .logs
            .windows(2)
            .filter(|w| w[1].published < w[0].published)
            .count();
        assert!(out_of_order > 0);
        let retained = o.log_events_json(o.start_ms).len();
        assert!(retained < o.logs.len() && retained > o.logs.len() * 8 / 10);
    }

    #[test]
    fn paging_by_updated_is_stable_with_ties() {
        let o = org(300, 3);
        for desc in [false, true] {
            let mut seen = Vec::new();
            let mut after: Option<(i64, String)> = None;
            loop {
                let p = o.users.page(
                    SortKey::LastUpdated,
                    desc,
                    after.as_ref().map(|(k, id)| (*k, id.as_str())),
                    (None, None),
                    7,
                    |_| true,
                );
                seen.extend(p.items.iter().map(|u| u.id.clone()));
                match p.items.last() {
                    Some(u) if p.more => after = Some((u.last_updated, u.id.clone())),
                    _ => break,
                }
            }
            assert_eq!(seen.len(), 300);
            let mut dedup = seen.clone();
            dedup.sort();
            dedup.dedup();
            assert_eq!(dedup.len(), 300);
        }
    }

    #[test]
    fn mutations_keep_indexes_consistent() {
        let mut o = org(50, 2);
        let id = o.users.by_id.keys().next().cloned().unwrap_or_default();
        let v = o.update_user(&id, o.start_ms + 10).unwrap_or_default();
        assert_eq!(v["lastUpdated"], clock::iso(o.start_ms + 10));
        let p = o
            .users
            .page(SortKey::LastUpdated, true, None, (None, None), 1, |_| true);
        assert_eq!(p.items[0].id, id);
        let gid = o.user_groups[&id]
            .iter()
            .next()
            .cloned()
            .unwrap_or_default();
        let before = o.groups.by_id[&gid].last_membership_updated;
        assert!(o.delete_user(&id, o.start_ms + 20));
        assert!(!o.members[&gid].contains(&id));
        assert_eq!(
            o.groups.by_id[&gid].last_membership_updated, before,
            "Okta logs the deletion, not each removed membership"
        );
        assert!(o
            .children_json("app_users")
            .iter()
            .all(|(_, v)| v["id"] != id.as_str()));
        let new = o.create_user(o.start_ms + 30);
        assert_eq!(new["status"], "ACTIVE");
        assert_eq!(o.users.len(), 50);
    }
}
