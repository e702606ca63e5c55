//! The rest of the Okta catalog: every collection the connector reads besides users, groups,
//! memberships, apps, app assignments, the System Log, user types/schemas and custom roles —
//! factors, role assignments, group owners/rules/roles, devices, schemas, resource sets, role
//! subscriptions, policies and rules, authenticators, authorization servers, identity providers,
//! zones, origins, behaviors, brands, domains, templates, OAuth clients, hooks, features, log
//! streams, profile mappings, push/risk/security-event providers, ThreatInsight, API tokens, realms.
//!
//! Objects are built from the OpenAPI specs' own example payloads (extracted under
//! `okta-records/tests/fixtures/spec-examples/`): each generated object is an example with its ids,
//! names, timestamps and links re-derived from the seed, so the shapes are Okta's. Small lists are
//! serialized once into [`Org::lists`]/[`Org::children`]/[`Org::objects`]; the per-user and
//! per-device fan-outs (factors, devices, device users, app user schemas) are rendered on demand,
//! so seeding 100 000 users stays fast.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use bytes::Bytes;
use serde_json::{json, Value};

use crate::clock::{self, DAY_MS};
use crate::config::SimConfig;
use crate::filter::{AttrKind, Op, Subject, Val};
use crate::model::{mix64, okta_id, Rng};
use crate::org::{parse, Item, Org};
use crate::paging::{self, json_array};
use crate::routes::{self, ApiError, Ctx, Paging, Reply};

/// Policy types the simulated org has (with 1–3 policies each, `CLIENT_UPDATE` with none).
pub const ORG_POLICY_TYPES: &[&str] = &[
    "OKTA_SIGN_ON",
    "PASSWORD",
    "MFA_ENROLL",
    "IDP_DISCOVERY",
    "ACCESS_POLICY",
    "PROFILE_ENROLLMENT",
    "POST_AUTH_SESSION",
    "DEVICE_SIGNAL_COLLECTION",
    "SESSION_VIOLATION_DETECTION",
    "CLIENT_UPDATE",
];

/// The standard admin role types whose notification subscriptions are served: Okta's fixed list, the
/// same one the manifest declares.
pub use okta_manifest::ADMIN_ROLE_TYPES;

const NOTIFICATION_TYPES: &[&str] = &[
    "AD_AGENT",
    "APP_IMPORT",
    "CONNECTOR_AGENT",
    "IWA_AGENT",
    "LDAP_AGENT",
    "OKTA_ANNOUNCEMENT",
    "OKTA_ISSUE",
    "OKTA_UPDATE",
    "RATELIMIT_NOTIFICATION",
    "REPORT_SUSPICIOUS_ACTIVITY",
    "USER_DEPROVISION",
    "USER_LOCKED_OUT",
];

const EMAIL_TEMPLATES: &[&str] = &[
    "ADForgotPassword",
    "ChangeEmailConfirmation",
    "EmailChallenge",
    "ForgotPassword",
    "NewSignOnNotification",
    "PasswordChanged",
    "SelfServiceUnlock",
    "UserActivation",
    "UserSuspended",
    "UserUnlocked",
];

// Random stream numbers of this module (the org's are below 100).
const S_CATALOG: u64 = 1_000;
const S_FACTORS: u64 = 1_001;
const S_DEVICES: u64 = 1_002;

/// The spec examples used as templates, by stream: every file of
/// `okta-records/tests/fixtures/spec-examples/` (listed by `build.rs`).
static FIXTURES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));

/// (source, record) of every example of `stream`.
pub fn examples(stream: &str) -> &'static [(String, Value)] {
    static PARSED: OnceLock<HashMap<&'static str, Vec<(String, Value)>>> = OnceLock::new();
    let map = PARSED.get_or_init(|| {
        FIXTURES
            .iter()
            .map(|(name, text)| {
                let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
                let recs = v["records"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|r| {
                                let mut rec = r["record"].clone();
                                fix_spec_errors(&mut rec);
                                (r["source"].as_str().unwrap_or("").to_string(), rec)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (*name, recs)
            })
            .collect()
    });
    map.get(stream).map(Vec::as_slice).unwrap_or(&[])
}

/// Repairs the spec examples' known typos (see okta-records' `SPEC_EXAMPLE_ERRORS`), so served
/// objects match the spec's own types.
fn fix_spec_errors(v: &mut Value) {
    if let Some(c) = v.pointer_mut("/actions/appSignOn/verificationMethod/constraints") {
        if c.is_object() {
            *c = Value::Array(vec![c.take()]);
        }
    }
    if let Some(p) = v.pointer_mut("/protocol/credentials/client/pkce_required") {
        if let Some(b) = p.as_str().map(|s| s == "true") {
            *p = Value::Bool(b);
        }
    }
    // The agent pool example has one agent object for the `agents` array.
    if let Some(a) = v.pointer_mut("/agents") {
        if a.is_object() {
            *a = Value::Array(vec![a.take()]);
        }
    }
    // The refresh token examples spell the schema's `clientId` `client_id` (which would shadow the
    // `client_id` key column the connector adds to a client's tokens).
    if let Some(m) = v.as_object_mut() {
        if m.contains_key("issuer") && m.contains_key("userId") {
            if let Some(c) = m.remove("client_id") {
                m.entry("clientId").or_insert(c);
            }
        }
    }
    if let Some(a) = v.pointer_mut("/settings/accountId") {
        if a.is_number() {
            *a = Value::String(a.to_string());
        }
    }
}

/// The examples of `stream` from its list endpoint (all of them when there is none).
pub fn list_examples(stream: &str) -> Vec<&'static Value> {
    let all = examples(stream);
    let list_path = all
        .iter()
        .map(|(s, _)| s.split(' ').nth(1).unwrap_or(""))
        .min_by_key(|p| p.matches('/').count())
        .unwrap_or("");
    let list: Vec<&Value> = all
        .iter()
        .filter(|(s, _)| s.split(' ').nth(1) == Some(list_path))
        .map(|(_, v)| v)
        .collect();
    if list.is_empty() {
        all.iter().map(|(_, v)| v).collect()
    } else {
        list
    }
}

/// An example re-based: the placeholder domain becomes `base`, and every occurrence of each
/// `(old, new)` pair is replaced (ids inside links and ORNs follow the object's new id).
pub fn instantiate(tpl: &Value, base: &str, replace: &[(&str, &str)]) -> Value {
    let mut text = tpl.to_string();
    let host = base
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    text = text
        .replace("https://{yourOktaDomain}", base)
        .replace("http://your-subdomain.okta.com", base)
        .replace("https://your-subdomain.okta.com", base)
        .replace("{yourOktaDomain}", host);
    for (old, new) in replace {
        if old.len() >= 4 && old != new {
            text = text.replace(old, new);
        }
    }
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Sets `created`/`lastUpdated` where the object has them.
fn set_times(v: &mut Value, created: i64, updated: i64) {
    if let Some(m) = v.as_object_mut() {
        if m.contains_key("created") {
            m.insert("created".into(), json!(clock::iso(created)));
        }
        if m.contains_key("lastUpdated") {
            m.insert("lastUpdated".into(), json!(clock::iso(updated)));
        }
    }
}

fn to_bytes(v: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec()))
}

fn item(id: impl Into<String>, v: &Value) -> Item {
    Item {
        id: id.into(),
        json: to_bytes(v),
    }
}

fn sorted(mut v: Vec<Item>) -> Vec<Item> {
    v.sort_by(|a, b| a.id.cmp(&b.id));
    v
}

/// A stable number for a name (id kinds of this module's collections).
pub fn kind_of(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    1_000 + h % 1_000_000
}

/// A device of the org (rendered on demand).
#[derive(Debug, Clone)]
pub struct Device {
    /// Id.
    pub id: String,
    /// Index (template and name).
    pub n: u64,
    /// `status`.
    pub status: &'static str,
    /// `created`, epoch ms.
    pub created: i64,
    /// `lastUpdated`, epoch ms.
    pub last_updated: i64,
    /// Its users (ids).
    pub users: Vec<String>,
}

impl Subject for Device {
    fn value(&self, attr: &str) -> Val<'_> {
        match attr {
            "id" => Val::Str(&self.id),
            "status" => Val::Str(self.status),
            "created" => Val::Time(self.created),
            "lastUpdated" => Val::Time(self.last_updated),
            _ => Val::Missing,
        }
    }
}

fn device_search_rules(attr: &str, op: Op) -> Result<AttrKind, String> {
    let kind = match attr {
        "lastUpdated" | "created" => AttrKind::Time,
        "id" | "status" => AttrKind::Str,
        _ => return Err(format!("Invalid search attribute '{attr}'")),
    };
    match op {
        Op::Eq | Op::Pr => Ok(kind),
        Op::Gt | Op::Ge | Op::Lt | Op::Le if kind == AttrKind::Time => Ok(kind),
        Op::Sw if kind == AttrKind::Str => Ok(kind),
        _ => Err(format!("Operator '{op:?}' is not supported for '{attr}'")),
    }
}

/// The generated parts of the catalog that are not plain lists.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Users with admin role assignments (the `iam/assignees/users` list), by id.
    pub admins: Vec<String>,
    /// Devices, by id.
    pub devices: Vec<Device>,
    /// Policies by type (types the org supports; an empty list for a type without policies).
    pub policies: BTreeMap<&'static str, Vec<Item>>,
    /// `/api/v1/risk/providers` is served (else 404).
    pub risk_providers: bool,
    /// Advanced Server Access.
    pub asa: crate::asa::AsaData,
}

struct Gen<'a> {
    seed: u64,
    base: &'a str,
    start: i64,
    rng: Rng,
}

impl Gen<'_> {
    fn id(&self, prefix: &str, what: &str, n: u64) -> String {
        okta_id(prefix, self.seed, kind_of(what), n)
    }

    fn times(&mut self) -> (i64, i64) {
        let created = self.start - self.rng.range(30 * DAY_MS, 700 * DAY_MS);
        let updated = self.rng.range(created, self.start - 60_000);
        (created, updated)
    }

    /// `n` objects of `stream` from its list examples, round-robin, each with a new id (prefix
    /// `prefix`), timestamps, and `f` applied.
    fn objects(
        &mut self,
        stream: &str,
        prefix: &str,
        n: usize,
        mut f: impl FnMut(&mut Self, usize, &mut Value),
    ) -> Vec<Value> {
        let tpls = list_examples(stream);
        if tpls.is_empty() {
            return Vec::new();
        }
        (0..n)
            .map(|i| {
                let tpl = tpls[i % tpls.len()];
                let id = self.id(prefix, stream, i as u64);
                let old = tpl["id"].as_str().unwrap_or("");
                let mut v = instantiate(tpl, self.base, &[(old, &id)]);
                set(&mut v, "id", json!(id));
                let (c, u) = self.times();
                set_times(&mut v, c, u);
                f(self, i, &mut v);
                v
            })
            .collect()
    }

    fn items(
        &mut self,
        stream: &str,
        prefix: &str,
        n: usize,
        f: impl FnMut(&mut Self, usize, &mut Value),
    ) -> Vec<Item> {
        sorted(
            self.objects(stream, prefix, n, f)
                .iter()
                .map(|v| item(v["id"].as_str().unwrap_or(""), v))
                .collect(),
        )
    }
}

/// The field of a fan-out's records that tells the children of one parent apart: the primary key's
/// last column that the connector does not add (`id`, `kid`, ...).
fn child_key(s: &okta_manifest::Stream) -> &'static str {
    if s.derive == okta_manifest::Derive::NotificationType {
        return "notificationType";
    }
    s.primary_key
        .iter()
        .rev()
        .find(|k| Some(**k) != s.parent_column)
        .copied()
        .unwrap_or("id")
}

impl Gen<'_> {
    /// `n` children of the `p`-th parent for fan-out `stream`, from its list
    /// examples, the template rotating with the parent; the `key` field of each gets a new value
    /// (unique in the org), and every occurrence of the template's key follows.
    fn children(&mut self, stream: &str, key: &str, p: usize, n: usize) -> Vec<Item> {
        let tpls = list_examples(stream);
        if tpls.is_empty() {
            return Vec::new();
        }
        let prefix = stream.get(..3).unwrap_or("chi");
        sorted(
            (0..n)
                .map(|j| {
                    let tpl = tpls[(p + j) % tpls.len()];
                    let id = self.id(prefix, stream, (p * 4 + j) as u64);
                    let old = tpl[key].as_str().unwrap_or("");
                    let mut v = instantiate(tpl, self.base, &[(old, &id)]);
                    set(&mut v, key, json!(id));
                    let (c, u) = self.times();
                    set_times(&mut v, c, u);
                    item(id, &v)
                })
                .collect(),
        )
    }
}

fn set(v: &mut Value, key: &str, value: Value) {
    if let Some(m) = v.as_object_mut() {
        m.insert(key.to_string(), value);
    }
}

/// Generate the catalog into `org`.
pub fn seed(org: &mut Org, cfg: &SimConfig) {
    let base = org.base.clone();
    let mut g = Gen {
        seed: org.seed,
        base: &base,
        start: org.start_ms,
        rng: Rng::derive(org.seed, S_CATALOG, 0),
    };
    let user_ids: Vec<String> = org.users.by_id.keys().cloned().collect();
    let active: Vec<String> = org
        .users
        .by_id
        .values()
        .filter(|u| u.status == "ACTIVE")
        .map(|u| u.id.clone())
        .collect();
    let group_ids: Vec<String> = org.groups.by_id.keys().cloned().collect();
    let app_ids: Vec<String> = org
        .lists
        .get("apps")
        .map(|v| v.iter().map(|i| i.id.clone()).collect())
        .unwrap_or_default();
    let org_id = okta_id("00o", org.seed, 7, 0);
    let mut lists: Vec<(&'static str, Vec<Item>)> = Vec::new();
    let mut children: Vec<(&'static str, HashMap<String, Vec<Item>>)> = Vec::new();

    // Admins and their role assignments.
    let n_admins = active.len().min(5);
    let stride = (active.len() / n_admins.max(1)).max(1);
    let admins: Vec<String> = (0..n_admins).map(|i| active[i * stride].clone()).collect();
    let role_tpls: Vec<&Value> = examples("user_role_assignments")
        .iter()
        .filter(|(s, _)| s.contains("/roles 200 Standard roles"))
        .map(|(_, v)| v)
        .collect();
    let mut user_roles = HashMap::new();
    let mut assignees = Vec::new();
    for (i, uid) in admins.iter().enumerate() {
        let k = if i == 0 { 1 } else { 1 + g.rng.below(2) };
        let mut items = Vec::new();
        for j in 0..k {
            let tpl = role_tpls[(i + j) % role_tpls.len().max(1)];
            let rid = g.id("ra1", "user_roles", (i * 4 + j) as u64);
            let old = tpl["id"].as_str().unwrap_or("");
            let mut v = instantiate(tpl, &base, &[(old, &rid)]);
            if i == 0 {
                v["type"] = json!("SUPER_ADMIN");
                v["label"] = json!("Super Administrator");
            }
            v["id"] = json!(rid);
            let (c, u) = g.times();
            set_times(&mut v, c, u);
            fix_user_links(&mut v, &base, uid);
            items.push(item(rid, &v));
        }
        user_roles.insert(uid.clone(), sorted(items));
        assignees.push(item(
            uid.clone(),
            &json!({
                "id": uid,
                "orn": format!("orn:okta:directory:{org_id}:users:{uid}"),
                "_links": {
                    "self": {"href": format!("{base}/api/v1/users/{uid}")},
                    "roles": {"href": format!("{base}/api/v1/users/{uid}/roles")}
                }
            }),
        ));
    }
    lists.push(("role_assignees", sorted(assignees)));
    children.push(("user_roles", user_roles));

    // Group owners (every third group), group role assignments (every fifth), group rules.
    let owner_tpls = list_examples("group_owners");
    let user_owner = owner_tpls
        .iter()
        .find(|v| v["type"] == "USER")
        .copied()
        .unwrap_or(&Value::Null);
    let mut owners = HashMap::new();
    let mut group_roles = HashMap::new();
    let grole_tpls = list_examples("group_role_assignments");
    for (i, gid) in group_ids.iter().enumerate() {
        if i % 3 == 0 && !active.is_empty() {
            let k = 1 + g.rng.below(2);
            let mut items = Vec::new();
            for _ in 0..k {
                let uid = &active[g.rng.below(active.len())];
                if items.iter().any(|it: &Item| &it.id == uid) {
                    continue;
                }
                let u = &org.users.by_id[uid];
                let mut v = user_owner.clone();
                set(&mut v, "id", json!(uid));
                set(&mut v, "displayName", json!(u.profile.display_name));
                set(&mut v, "originId", Value::Null);
                let (_, upd) = g.times();
                set(&mut v, "lastUpdated", json!(clock::iso(upd)));
                items.push(item(uid.clone(), &v));
            }
            owners.insert(gid.clone(), sorted(items));
        }
        if i % 5 == 1 && !grole_tpls.is_empty() {
            let tpl = grole_tpls[(i / 5) % grole_tpls.len()];
            let rid = g.id("gra", "group_roles", i as u64);
            let old = tpl["id"].as_str().unwrap_or("");
            let mut v = instantiate(tpl, &base, &[(old, &rid)]);
            v["id"] = json!(rid);
            let (c, u) = g.times();
            set_times(&mut v, c, u);
            group_roles.insert(gid.clone(), vec![item(rid, &v)]);
        }
    }
    children.push(("group_owners", owners));
    children.push(("group_roles", group_roles));
    let n_rules = (3 + group_ids.len() / 20).min(500);
    let gids = group_ids.clone();
    let rules = g.items("group_rules", "0pr", n_rules, |g, i, v| {
        set(v, "name", json!(format!("Auto-assign rule {i}")));
        if !gids.is_empty() {
            let gid = &gids[g.rng.below(gids.len())];
            v["actions"] = json!({"assignUserToGroups": {"groupIds": [gid]}});
        }
        v["status"] = json!(if i % 4 == 3 { "INACTIVE" } else { "ACTIVE" });
        if let Some(m) = v.as_object_mut() {
            m.remove("_embedded");
        }
    });
    lists.push(("group_rules", rules));

    // Devices: about one per four users, each with one or two users.
    let n_devices = user_ids.len() / 4;
    let mut drng = Rng::derive(g.seed, S_DEVICES, 0);
    let mut devices: Vec<Device> = (0..n_devices)
        .map(|i| {
            let created = g.start - drng.range(DAY_MS, 600 * DAY_MS);
            let last_updated = drng.range(created, g.start - 60_000);
            let k = if drng.chance(0.1) { 2 } else { 1 };
            let mut users: Vec<String> = Vec::new();
            for _ in 0..k {
                let u = user_ids[drng.below(user_ids.len())].clone();
                if !users.contains(&u) {
                    users.push(u);
                }
            }
            users.sort();
            Device {
                id: okta_id("guo", g.seed, kind_of("devices"), i as u64),
                n: i as u64,
                status: if drng.chance(0.9) {
                    "ACTIVE"
                } else {
                    "DEACTIVATED"
                },
                created,
                last_updated,
                users,
            }
        })
        .collect();
    devices.sort_by(|a, b| a.id.cmp(&b.id));

    // Schemas and linked objects.
    let ui = g.items("ui_schemas", "uis", 2, |_, _, _| {});
    lists.push(("ui_schemas", ui));
    let linked: Vec<Item> = [
        ("manager", "subordinate", "Manager", "Subordinate"),
        ("mentor", "mentee", "Mentor", "Mentee"),
    ]
    .iter()
    .map(|(p, a, pt, at)| {
        item(
            *p,
            &json!({
                "primary": {"name": p, "title": pt, "description": format!("{pt} link property"), "type": "USER"},
                "associated": {"name": a, "title": at, "description": format!("{at} link property"), "type": "USER"},
                "_links": {"self": {"href": format!("{base}/api/v1/meta/schemas/user/linkedObjects/{p}")}}
            }),
        )
    })
    .collect();
    lists.push(("linked_objects", sorted(linked)));

    // Resource sets and their resources.
    let res_tpls = list_examples("resource_set_resources");
    let mut set_resources = HashMap::new();
    let sets = g.objects("resource_sets", "iam", 5, |g, i, v| {
        set(v, "label", json!(format!("RS-{i}")));
        set(v, "description", json!(format!("Resource set {i}")));
        let _ = g;
    });
    for (i, s) in sets.iter().enumerate() {
        let sid = s["id"].as_str().unwrap_or("").to_string();
        let k = 1 + g.rng.below(3);
        let mut items = Vec::new();
        for j in 0..k {
            if res_tpls.is_empty() {
                break;
            }
            let tpl = res_tpls[(i + j) % res_tpls.len()];
            let rid = g.id("ire", "resource_set_resources", (i * 8 + j) as u64);
            let old = tpl["id"].as_str().unwrap_or("");
            let target = if j % 2 == 0 && !group_ids.is_empty() {
                format!(
                    "orn:okta:directory:{org_id}:groups:{}",
                    group_ids[g.rng.below(group_ids.len())]
                )
            } else if !app_ids.is_empty() {
                format!(
                    "orn:okta:idp:{org_id}:apps:app:{}",
                    app_ids[g.rng.below(app_ids.len())]
                )
            } else {
                format!("orn:okta:directory:{org_id}:users")
            };
            let mut v = instantiate(tpl, &base, &[(old, &rid)]);
            v["id"] = json!(rid);
            set(&mut v, "orn", json!(target));
            let (c, u) = g.times();
            set_times(&mut v, c, u);
            items.push(item(rid, &v));
        }
        set_resources.insert(sid, sorted(items));
    }
    lists.push((
        "resource_sets",
        sorted(
            sets.iter()
                .map(|v| item(v["id"].as_str().unwrap_or(""), v))
                .collect(),
        ),
    ));
    children.push(("resource_set_resources", set_resources));

    // Role subscriptions.
    let mut subs = HashMap::new();
    for (i, rt) in ADMIN_ROLE_TYPES.iter().enumerate() {
        let items = NOTIFICATION_TYPES
            .iter()
            .enumerate()
            .map(|(j, nt)| {
                item(
                    *nt,
                    &json!({
                        "notificationType": nt,
                        "channels": ["email"],
                        "status": if (i + j) % 3 == 0 { "unsubscribed" } else { "subscribed" },
                        "_links": {
                            "self": {"href": format!("{base}/api/v1/roles/{rt}/subscriptions/{nt}")},
                            "subscribe": {"href": format!("{base}/api/v1/roles/{rt}/subscriptions/{nt}/subscribe"), "method": "POST"}
                        }
                    }),
                )
            })
            .collect();
        subs.insert((*rt).to_string(), items);
    }
    // Custom roles have subscriptions too (`roleRef` is a role type or a custom role id).
    let custom_roles: Vec<String> = org
        .lists
        .get("custom_roles")
        .map(|v| v.iter().map(|i| i.id.clone()).collect())
        .unwrap_or_default();
    for (i, rid) in custom_roles.iter().enumerate() {
        let items = NOTIFICATION_TYPES
            .iter()
            .enumerate()
            .filter(|(j, _)| (i + j) % 4 != 3)
            .map(|(j, nt)| {
                item(
                    *nt,
                    &json!({
                        "notificationType": nt,
                        "channels": ["email"],
                        "status": if (i + j) % 2 == 0 { "subscribed" } else { "unsubscribed" },
                        "_links": {
                            "self": {"href": format!("{base}/api/v1/roles/{rid}/subscriptions/{nt}")},
                            "subscribe": {"href": format!("{base}/api/v1/roles/{rid}/subscriptions/{nt}/subscribe"), "method": "POST"}
                        }
                    }),
                )
            })
            .collect();
        subs.insert(rid.clone(), items);
    }
    children.push(("role_subscriptions", subs));

    // Policies and their rules.
    let pol_tpls = list_examples("policies");
    let rule_tpls = list_examples("policy_rules");
    let mut policies: BTreeMap<&'static str, Vec<Item>> = BTreeMap::new();
    let mut policy_rules = HashMap::new();
    let mut pn = 0u64;
    for ptype in ORG_POLICY_TYPES {
        let tpl = pol_tpls.iter().find(|v| v["type"] == *ptype).copied();
        let rule_type = if *ptype == "OKTA_SIGN_ON" {
            "SIGN_ON"
        } else {
            ptype
        };
        let rtpls: Vec<&Value> = rule_tpls
            .iter()
            .filter(|v| v["type"] == rule_type)
            .copied()
            .collect();
        let k = match tpl {
            Some(_) => 1 + g.rng.below(3),
            None => 0,
        };
        let mut items = Vec::new();
        for j in 0..k {
            let Some(tpl) = tpl else { break };
            let pid = g.id("00p", "policies", pn);
            pn += 1;
            let old = tpl["id"].as_str().unwrap_or("");
            let mut v = instantiate(tpl, &base, &[(old, &pid)]);
            v["id"] = json!(pid);
            v["priority"] = json!(j + 1);
            v["system"] = json!(j + 1 == k);
            v["name"] = json!(if j + 1 == k {
                "Default Policy".to_string()
            } else {
                format!("{} policy {}", title_case(ptype), j + 1)
            });
            let (c, u) = g.times();
            v["created"] = json!(clock::iso(c));
            v["lastUpdated"] = json!(clock::iso(u));
            v["_links"] = json!({
                "self": {"href": format!("{base}/api/v1/policies/{pid}"), "hints": {"allow": ["GET", "PUT", "DELETE"]}},
                "rules": {"href": format!("{base}/api/v1/policies/{pid}/rules"), "hints": {"allow": ["GET", "POST"]}}
            });
            let nr = if rtpls.is_empty() {
                0
            } else {
                1 + g.rng.below(3)
            };
            let mut rules = Vec::new();
            for r in 0..nr {
                let rt = rtpls[r % rtpls.len()];
                let rid = g.id("0pr", "policy_rules", pn * 8 + r as u64);
                let old = rt["id"].as_str().unwrap_or("");
                let mut rv = instantiate(rt, &base, &[(old, &rid)]);
                rv["id"] = json!(rid);
                rv["priority"] = json!(r + 1);
                rv["name"] = json!(if r + 1 == nr {
                    "Default Rule".to_string()
                } else {
                    format!("Rule {}", r + 1)
                });
                let (c, u) = g.times();
                set_times(&mut rv, c, u);
                if let Some(m) = rv.as_object_mut() {
                    m.insert(
                        "_links".into(),
                        json!({
                            "self": {"href": format!("{base}/api/v1/policies/{pid}/rules/{rid}")},
                            "policy": {"href": format!("{base}/api/v1/policies/{pid}")}
                        }),
                    );
                }
                rules.push(item(rid, &rv));
            }
            policy_rules.insert(pid.clone(), sorted(rules));
            items.push(item(pid, &v));
        }
        policies.insert(ptype, sorted(items));
    }
    children.push(("policy_rules", policy_rules));

    // Security and identity configuration.
    let auths = g.items("authenticators", "aut", 4, |_, _, _| {});
    lists.push(("authenticators", auths));
    let servers = g.objects("authorization_servers", "aus", 2, |_, i, v| {
        if i == 0 {
            set(v, "name", json!("default"));
            set(v, "description", json!("Default Authorization Server"));
        } else {
            set(v, "name", json!("Internal API"));
            set(v, "description", json!("Internal API authorization server"));
        }
    });
    let mut as_scopes = HashMap::new();
    let mut as_claims = HashMap::new();
    let mut as_policies = HashMap::new();
    for (i, s) in servers.iter().enumerate() {
        let sid = s["id"].as_str().unwrap_or("").to_string();
        let old_sid = list_examples("authorization_servers")
            .first()
            .and_then(|v| v["id"].as_str())
            .unwrap_or("")
            .to_string();
        let sub = |g: &mut Gen<'_>, stream: &str, prefix: &str, names: &[&str]| {
            let tpls = list_examples(stream);
            let mut items = Vec::new();
            for (j, name) in names.iter().enumerate() {
                let Some(tpl) = tpls.get(j % tpls.len().max(1)) else {
                    break;
                };
                let id = g.id(prefix, stream, (i * 16 + j) as u64);
                let old = tpl["id"].as_str().unwrap_or("");
                let mut v = instantiate(tpl, &base, &[(old, &id), (&old_sid, &sid)]);
                v["id"] = json!(id);
                v["name"] = json!(name);
                let (c, u) = g.times();
                set_times(&mut v, c, u);
                items.push(item(id, &v));
            }
            sorted(items)
        };
        let scope_names: &[&str] = if i == 0 {
            &["openid", "profile", "email", "offline_access"]
        } else {
            &["api:read", "api:write", "api:admin"]
        };
        as_scopes.insert(
            sid.clone(),
            sub(&mut g, "authorization_server_scopes", "scp", scope_names),
        );
        as_claims.insert(
            sid.clone(),
            sub(
                &mut g,
                "authorization_server_claims",
                "ocl",
                &["groups", "department"],
            ),
        );
        let pols: &[&str] = if i == 0 {
            &["Default Policy"]
        } else {
            &["Service apps", "Web apps"]
        };
        as_policies.insert(
            sid.clone(),
            sub(&mut g, "authorization_server_policies", "00p", pols),
        );
    }
    lists.push((
        "authorization_servers",
        sorted(
            servers
                .iter()
                .map(|v| item(v["id"].as_str().unwrap_or(""), v))
                .collect(),
        ),
    ));
    children.push(("authorization_server_scopes", as_scopes));
    children.push(("authorization_server_claims", as_claims));
    children.push(("authorization_server_policies", as_policies));
    let idps = g.items("identity_providers", "0oa", 4, |_, i, v| {
        let name = v["name"].as_str().unwrap_or("IdP").to_string();
        set(v, "name", json!(format!("{name} {i}")));
    });
    lists.push(("identity_providers", idps));
    let zone_tpls = list_examples("network_zones").len().min(6);
    let zones = g.items("network_zones", "nzo", zone_tpls, |_, i, v| {
        let name = v["name"].as_str().unwrap_or("Zone").to_string();
        set(v, "name", json!(format!("{name} {i}")));
    });
    lists.push(("network_zones", zones));
    let origins = g.items("trusted_origins", "tos", 3, |_, i, v| {
        set(v, "name", json!(format!("Trusted origin {i}")));
        set(v, "origin", json!(format!("https://app{i}.example.com")));
    });
    lists.push(("trusted_origins", origins));
    let behaviors = g.items("behaviors", "abr", 4, |_, i, v| {
        let (ty, name) = [
            ("ANOMALOUS_LOCATION", "New Geo-Location"),
            ("ANOMALOUS_DEVICE", "New Device"),
            ("ANOMALOUS_IP", "New IP"),
            ("VELOCITY", "Velocity"),
        ][i % 4];
        set(v, "type", json!(ty));
        set(v, "name", json!(name));
    });
    lists.push(("behaviors", behaviors));

    // Branding.
    let brands = g.objects("brands", "bnd", 2, |_, i, v| {
        set(
            v,
            "name",
            json!(if i == 0 {
                "Default Brand"
            } else {
                "Partner Brand"
            }),
        );
        set(v, "isDefault", json!(i == 0));
    });
    let old_brand = list_examples("brands")
        .first()
        .and_then(|v| v["id"].as_str())
        .unwrap_or("")
        .to_string();
    let mut themes = HashMap::new();
    let mut templates = HashMap::new();
    let mut domains = Vec::new();
    for (i, b) in brands.iter().enumerate() {
        let bid = b["id"].as_str().unwrap_or("").to_string();
        let theme_tpls = list_examples("brand_themes");
        if let Some(tpl) = theme_tpls.first() {
            let tid = g.id("thm", "brand_themes", i as u64);
            let old = tpl["id"].as_str().unwrap_or("");
            let mut v = instantiate(tpl, &base, &[(old, &tid), (&old_brand, &bid)]);
            v["id"] = json!(tid);
            themes.insert(bid.clone(), vec![item(tid, &v)]);
        }
        let et = list_examples("email_templates");
        if let Some(tpl) = et.first() {
            let items = EMAIL_TEMPLATES
                .iter()
                .map(|name| {
                    let mut v =
                        instantiate(tpl, &base, &[("UserActivation", name), ("{brandId}", &bid)]);
                    v["name"] = json!(name);
                    item(*name, &v)
                })
                .collect();
            templates.insert(bid.clone(), sorted(items));
        }
        let did = g.id("OcD", "domains", i as u64);
        let domain = format!(
            "login{}.example.com",
            if i == 0 { String::new() } else { i.to_string() }
        );
        domains.push(item(
            did.clone(),
            &json!({
                "id": did,
                "domain": domain,
                "brandId": bid,
                "certificateSourceType": if i == 0 { "OKTA_MANAGED" } else { "MANUAL" },
                "validationStatus": "VERIFIED",
                "dnsRecords": [
                    {"fqdn": format!("_oktaverification.{domain}"), "recordType": "TXT", "values": [format!("{:032x}", mix64(g.seed ^ i as u64))]},
                    {"fqdn": domain, "recordType": "CNAME", "values": [format!("sim-{}.customdomains.okta.com", g.seed)]}
                ],
                "publicCertificate": {
                    "subject": format!("CN={domain}"),
                    "fingerprint": "73:68:82:7B:83:2E:48:29:A5:5E:E8:40:41:80:B3:AA:03:C4:42:43:05:73:45:BC:AA:47:00:23:A3:70:E5:C4",
                    "expiration": clock::iso(g.start + 200 * DAY_MS)
                },
                "_links": {
                    "self": {"href": format!("{base}/api/v1/domains/{did}"), "hints": {"allow": ["GET", "PUT", "DELETE"]}},
                    "brand": {"href": format!("{base}/api/v1/brands/{bid}"), "hints": {"allow": ["GET"]}}
                }
            }),
        ));
    }
    lists.push((
        "brands",
        sorted(
            brands
                .iter()
                .map(|v| item(v["id"].as_str().unwrap_or(""), v))
                .collect(),
        ),
    ));
    children.push(("brand_themes", themes));
    children.push(("email_templates", templates));
    lists.push(("domains", sorted(domains)));
    let email_domains = g.items("email_domains", "OeD", 1, |_, _, _| {});
    lists.push(("email_domains", email_domains));
    let sms = g.items("sms_templates", "cst", 2, |_, i, v| {
        set(v, "name", json!(format!("Custom SMS {i}")));
    });
    lists.push(("sms_templates", sms));

    // OAuth clients (keyed by client_id).
    let n_clients = 4 + app_ids.len() / 10;
    let client_tpls = list_examples("oauth_clients");
    let clients: Vec<Item> = (0..n_clients)
        .filter_map(|i| {
            let tpl = client_tpls.get(i % client_tpls.len().max(1))?;
            let cid = g.id("0oa", "oauth_clients", i as u64);
            let old = tpl["client_id"].as_str().unwrap_or("");
            let mut v = instantiate(tpl, &base, &[(old, &cid)]);
            v["client_id"] = json!(cid);
            v["client_name"] = json!(format!("Client app {i}"));
            Some(item(cid, &v))
        })
        .collect();
    lists.push(("oauth_clients", sorted(clients)));

    // Hooks, features, log streams.
    let eh = g.items("event_hooks", "who", 2, |_, i, v| {
        set(v, "name", json!(format!("Event hook {i}")));
    });
    lists.push(("event_hooks", eh));
    let ih = g.items("inline_hooks", "cal", 3, |_, i, v| {
        set(v, "name", json!(format!("Inline hook {i}")));
    });
    lists.push(("inline_hooks", ih));
    let hk = g.items("hook_keys", "HKY", 2, |_, i, v| {
        set(v, "name", json!(format!("hook-key-{i}")));
    });
    lists.push(("hook_keys", hk));
    let features = g.items("features", "ftr", 4, |_, i, v| {
        let name = v["name"].as_str().unwrap_or("Feature").to_string();
        set(v, "name", json!(format!("{name} {i}")));
    });
    lists.push(("features", features));
    let ls = g.items("log_streams", "0oa", 2, |_, i, v| {
        set(v, "name", json!(format!("Log stream {i}")));
    });
    lists.push(("log_streams", ls));

    // Profile mappings: user → each app (capped), summary list and detail.
    let map_tpls = examples("profile_mappings");
    let detail_tpl = map_tpls
        .iter()
        .find(|(_, v)| v.get("properties").is_some())
        .or(map_tpls.first())
        .map(|(_, v)| v.clone())
        .unwrap_or(Value::Null);
    let default_type = org
        .lists
        .get("user_types")
        .and_then(|l| l.first())
        .map(|i| i.id.clone())
        .unwrap_or_default();
    let mut mappings = Vec::new();
    let mut mapping_details = Vec::new();
    for (i, aid) in app_ids.iter().take(200).enumerate() {
        let mid = g.id("prm", "profile_mappings", i as u64);
        let old = detail_tpl["id"].as_str().unwrap_or("");
        let old_app = detail_tpl["target"]["id"].as_str().unwrap_or("");
        let old_type = detail_tpl["source"]["id"].as_str().unwrap_or("");
        let mut v = instantiate(
            &detail_tpl,
            &base,
            &[(old, &mid), (old_app, aid), (old_type, &default_type)],
        );
        v["id"] = json!(mid);
        v["_links"] = json!({"self": {"href": format!("{base}/api/v1/mappings/{mid}")}});
        mapping_details.push(item(mid.clone(), &v));
        if let Some(m) = v.as_object_mut() {
            m.remove("properties");
        }
        mappings.push(item(mid, &v));
    }
    lists.push(("mappings", sorted(mappings)));
    lists.push(("mapping_details", sorted(mapping_details)));

    // Providers, tokens, realms.
    let pp = g.items("push_providers", "ppc", 2, |_, i, v| {
        set(v, "name", json!(format!("Push provider {i}")));
    });
    lists.push(("push_providers", pp));
    let risk: Vec<Item> = (0..2)
        .map(|i| {
            let id = g.id("rap", "risk_providers", i);
            let (c, u) = g.times();
            item(
                id.clone(),
                &json!({
                    "id": id,
                    "name": format!("Risk provider {i}"),
                    "action": if i == 0 { "log_only" } else { "enforce_and_log" },
                    "clientId": g.id("0oa", "risk_provider_clients", i),
                    "created": clock::iso(c),
                    "lastUpdated": clock::iso(u),
                    "_links": {"self": {"href": format!("{base}/api/v1/risk/providers/{id}"), "hints": {"allow": ["GET", "PUT"]}}}
                }),
            )
        })
        .collect();
    lists.push(("risk_providers", sorted(risk)));
    let sep = g.items("security_events_providers", "sse", 2, |_, i, v| {
        set(v, "name", json!(format!("Security events provider {i}")));
    });
    lists.push(("security_events_providers", sep));
    let tokens = g.items("api_tokens", "00T", 3, |g, i, v| {
        set(v, "name", json!(format!("Integration token {i}")));
        if !admins.is_empty() {
            set(v, "userId", json!(admins[i % admins.len()]));
        }
        let _ = g;
    });
    lists.push(("api_tokens", tokens));
    let realms = g.items("realms", "guo", 2, |_, i, v| {
        if let Some(p) = v.get_mut("profile").and_then(Value::as_object_mut) {
            p.insert(
                "name".into(),
                json!(if i == 0 { "Default Realm" } else { "Partners" }),
            );
        }
        set(v, "isDefault", json!(i == 0));
    });
    lists.push(("realms", realms));
    if let Some(tpl) = list_examples("threat_insight").first() {
        let mut v = instantiate(tpl, &base, &[]);
        let (c, u) = g.times();
        set_times(&mut v, c, u);
        v["action"] = json!("audit");
        org.objects
            .insert(("threat_insight", String::new()), to_bytes(&v));
    }

    // Singletons without an id of their own: the first example of each.
    for name in ["org_captcha", "okta_personal_export_blocklist"] {
        if let Some(tpl) = list_examples(name).first() {
            let v = instantiate(tpl, &base, &[]);
            org.objects.insert((name, String::new()), to_bytes(&v));
        }
    }

    // Principal rate limits: both principal types (the list answers one type per request).
    let prl = g.items("principal_rate_limits", "prl", 4, |_, _, _| {});
    lists.push(("principal_rate_limits", prl));

    // Every other plain list of the manifest: a few objects made from its spec examples.
    for s in routes::derived_lists() {
        if !lists.iter().any(|(k, _)| *k == s.name) {
            let items = match s.primary_key {
                ["id"] => g.items(s.name, &s.name[..3], 3, |_, _, _| {}),
                // Keyed by another field (`kid`): that field gets the new values.
                _ => g.children(s.name, child_key(s), 0, 3),
            };
            lists.push((s.name, items));
        }
    }
    for (k, v) in lists {
        org.lists.insert(k, v);
    }
    // Every other fan-out over such a list: 0–3 children per parent from its spec examples. A
    // fan-out under a fan-out comes after its parent (by depth), its parents being the chains of
    // ids of the parent's children.
    let mut derived: Vec<_> = routes::derived_fan_outs().collect();
    derived.sort_by_key(|s| s.key_columns().len());
    for s in derived {
        let parent_name = s.parent.unwrap_or("");
        let nested = okta_manifest::stream(parent_name)
            .is_some_and(|p| p.reader == okta_manifest::Reader::FanOut);
        let parent = routes::sim_list(parent_name);
        let parents: Vec<String> = match parent {
            _ if nested => {
                let held = routes::sim_children(parent);
                let mut chains: Vec<String> = children
                    .iter()
                    .filter(|(k, _)| *k == held)
                    .flat_map(|(_, map)| map.iter())
                    .flat_map(|(pk, items)| {
                        items
                            .iter()
                            .map(move |i| routes::chain_key(&[pk.as_str(), &i.id]))
                    })
                    .collect();
                chains.sort();
                chains
            }
            "users" => {
                let mut ids: Vec<String> = org.users.by_id.keys().cloned().collect();
                ids.sort();
                ids
            }
            "policies" => policies
                .values()
                .flat_map(|v| v.iter().map(|i| i.id.clone()))
                .collect(),
            _ => org
                .lists
                .get(parent)
                .map(|v| v.iter().map(|i| i.id.clone()).collect())
                .unwrap_or_default(),
        };
        let key = child_key(s);
        let mut map = HashMap::new();
        if let okta_manifest::Derive::StringAs(_) = s.derive {
            // Bare ids of other parents (interclient trust: other apps of the org), 0–2 per parent.
            for (i, pid) in parents.iter().enumerate() {
                let others = parents
                    .iter()
                    .cycle()
                    .skip(i + 1)
                    .take(parents.len().saturating_sub(1));
                let ids = others
                    .take(i % 3)
                    .map(|o| item(o.clone(), &json!(o)))
                    .collect();
                map.insert(pid.clone(), sorted(ids));
            }
            children.push((s.name, map));
            continue;
        }
        for (i, pid) in parents.iter().enumerate() {
            // Under a fan-out parent, whose few parents may number one, the first has children.
            let n = if nested { (i + 1) % 4 } else { i % 4 };
            map.insert(pid.clone(), g.children(s.name, key, i, n));
        }
        children.push((s.name, map));
    }
    let (group_targets, app_targets) = role_targets(org, &children);
    children.push((ROLE_GROUP_TARGETS, group_targets));
    children.push((ROLE_APP_TARGETS, app_targets));
    children.push((LINKED_OBJECTS, linked_objects(org)));
    for (k, v) in children {
        org.children.insert(k, v);
    }
    org.catalog = Catalog {
        admins,
        devices,
        policies,
        risk_providers: cfg.risk_providers,
        asa: crate::asa::AsaData::seed(org, cfg),
    };
}

/// The [`Org::children`] name of the linked object values: keyed by the chain (associated user id,
/// primary relationship name), each list holding the one primary user's link.
pub const LINKED_OBJECTS: &str = "user_linked_objects";

/// Seeds the linked object values of the seeded users (in id order): every user but the first and
/// every seventh has a `manager` (a tree, four subordinates each); every fifth has a `mentor` (the
/// user five before it).
fn linked_objects(org: &Org) -> HashMap<String, Vec<Item>> {
    let mut ids: Vec<&String> = org.users.by_id.keys().collect();
    ids.sort();
    let mut map = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        let mut link = |name: &str, primary: &str| {
            let href = format!("{}/api/v1/users/{primary}", org.base);
            let v = json!({"_links": {"self": {"href": href}}});
            map.insert(
                routes::chain_key(&[id.as_str(), name]),
                vec![item(primary.to_string(), &v)],
            );
        };
        if i > 0 && i % 7 != 0 {
            link("manager", ids[(i - 1) / 4]);
        }
        if i >= 5 && i % 5 == 0 {
            link("mentor", ids[i - 5]);
        }
    }
    map
}

/// `GET /api/v1/users/{id}/linkedObjects/{relationshipName}`: for a primary name, the user's primary
/// (its manager's self link, if any); for an associated name, every user whose primary it is (its
/// subordinates). An unknown user or relationship name is a 404.
pub fn linked_objects_handler(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let [user, name] = c.params else {
        return Err(ApiError::not_found(c.path));
    };
    if !c.org.users.by_id.contains_key(user) {
        return Err(ApiError::not_found(&format!("{user} (User)")));
    }
    let definitions = c.org.list("linked_objects");
    let values = c.org.children.get(LINKED_OBJECTS);
    if definitions.iter().any(|d| &d.id == name) {
        let items = values
            .and_then(|m| m.get(&routes::chain_key(&[user.as_str(), name])))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        return routes::list_reply(c, LINKED_OBJECTS, items);
    }
    let primary = definitions.iter().find_map(|d| {
        let v = parse(&d.json);
        (v["associated"]["name"].as_str() == Some(name.as_str()))
            .then(|| v["primary"]["name"].as_str().unwrap_or("").to_string())
    });
    let Some(primary) = primary else {
        return Err(ApiError::not_found(&format!("{name} (LinkedObject)")));
    };
    let suffix = format!("/{primary}");
    let mut associated: Vec<Item> = values
        .into_iter()
        .flatten()
        .filter(|(k, v)| k.ends_with(&suffix) && v.iter().any(|i| &i.id == user))
        .filter_map(|(k, _)| k.strip_suffix(&suffix))
        .map(|a| {
            let href = format!("{}/api/v1/users/{a}", c.org.base);
            item(a.to_string(), &json!({"_links": {"self": {"href": href}}}))
        })
        .collect();
    associated.sort_by(|a, b| a.id.cmp(&b.id));
    routes::list_reply(c, LINKED_OBJECTS, &associated)
}

/// The rows of `user_linked_objects`: one per (associated user, relationship, primary user).
fn linked_object_vals(org: &Org) -> Vec<Value> {
    org.children_json(LINKED_OBJECTS)
        .into_iter()
        .map(|(key, v)| {
            let (user, name) = key.split_once('/').unwrap_or((&key, ""));
            let linked = v["_links"]["self"]["href"]
                .as_str()
                .and_then(|h| h.rsplit('/').next())
                .unwrap_or("")
                .to_string();
            let v = with_col(v, "user_id", user);
            let v = with_col(v, "relationship_name", name);
            with_col(v, "linked_user_id", &linked)
        })
        .collect()
}

/// The role assignments of each kind of principal: (their [`Org::children`] name, the connector's
/// principal column, the principal's path prefix).
pub const ROLE_ASSIGNMENTS: &[(&str, &str, &str)] = &[
    ("user_roles", "user_id", "/api/v1/users/"),
    ("group_roles", "group_id", "/api/v1/groups/"),
    (
        "service_app_role_assignments",
        "client_id",
        "/oauth2/v1/clients/",
    ),
];
/// The group targets of role assignments, by assignment id (sorted by group id).
const ROLE_GROUP_TARGETS: &str = "role_group_targets";
/// The app targets of role assignments, by assignment id: app instances (`id`) and whole catalog
/// apps (`name` only), sorted by that key.
const ROLE_APP_TARGETS: &str = "role_app_targets";

/// OIN catalog apps a role may target as a whole: (name, display name, category, sign-on mode).
const CATALOG_APPS: &[(&str, &str, &str, &str)] = &[
    ("salesforce", "Salesforce.com", "CRM", "SAML_2_0"),
    ("box", "Box", "CONTENT_MANAGEMENT", "SAML_2_0"),
    ("slack", "Slack", "COLLABORATION", "SAML_2_0"),
];

/// The targets of every role assignment whose type takes them (Okta's narrowing of an admin role to
/// some groups or apps): 0–2 per assignment (0: the whole org), at least one on the first such
/// assignment of each kind of principal, from the org's groups and apps and a few catalog apps.
type ByParent = HashMap<String, Vec<Item>>;
fn role_targets(org: &Org, children: &[(&'static str, ByParent)]) -> (ByParent, ByParent) {
    let base = &org.base;
    let groups: Vec<Value> = org.groups_json();
    let apps: Vec<Value> = org.list_json("apps");
    let (mut by_group, mut by_app) = (HashMap::new(), HashMap::new());
    for (roles, _, _) in ROLE_ASSIGNMENTS {
        let Some((_, map)) = children.iter().find(|(k, _)| k == roles) else {
            continue;
        };
        let mut principals: Vec<&String> = map.keys().collect();
        principals.sort();
        let mut first = true;
        for a in principals.into_iter().flat_map(|p| &map[p]) {
            let v = parse(&a.json);
            let kind = v["type"].as_str().unwrap_or("");
            let h = id_hash(&a.id);
            let group_role = okta_manifest::GROUP_TARGET_ROLES.contains(&kind);
            let app_role = okta_manifest::APP_TARGET_ROLES.contains(&kind);
            if !group_role && !app_role {
                continue;
            }
            let n = if first { 2 } else { (h % 3) as usize };
            first = false;
            let mut items = Vec::new();
            for j in 0..n {
                let pick = (h / 3) as usize + j * 7;
                if group_role && !groups.is_empty() {
                    let g = &groups[pick % groups.len()];
                    let id = g["id"].as_str().unwrap_or("").to_string();
                    items.push(item(id, g));
                } else if app_role && j == 0 && !apps.is_empty() {
                    let app = &apps[pick % apps.len()];
                    let id = app["id"].as_str().unwrap_or("").to_string();
                    // The catalog entry of the instance: its app's fields, its own `id`.
                    let mut v = json!({
                        "id": id,
                        "_links": {"self": {"href": format!("{base}/api/v1/apps/{id}")}}
                    });
                    for (to, from) in [
                        ("name", "name"),
                        ("displayName", "label"),
                        ("status", "status"),
                        ("lastUpdated", "lastUpdated"),
                        ("features", "features"),
                    ] {
                        if !app[from].is_null() {
                            v[to] = app[from].clone();
                        }
                    }
                    if let Some(mode) = app["signOnMode"].as_str() {
                        v["signOnModes"] = json!([mode]);
                    }
                    items.push(item(id, &v));
                } else if app_role {
                    let (name, display, category, mode) = CATALOG_APPS[pick % CATALOG_APPS.len()];
                    let v = json!({
                        "name": name,
                        "displayName": display,
                        "description": format!("{display} from the Okta Integration Network"),
                        "category": category,
                        "status": "ACTIVE",
                        "verificationStatus": "OKTA_VERIFIED",
                        "website": format!("https://www.{name}.example"),
                        "signOnModes": [mode],
                        "features": [],
                        "lastUpdated": clock::iso(org.start_ms),
                        "_links": {"self": {"href": format!("{base}/api/v1/catalog/apps/{name}")}}
                    });
                    items.push(item(name, &v));
                }
            }
            items.dedup_by(|a, b| a.id == b.id);
            let target = if group_role {
                &mut by_group
            } else {
                &mut by_app
            };
            target.insert(a.id.clone(), sorted(items));
        }
    }
    (by_group, by_app)
}

/// `GET /api/v1/{users,groups}/{id}/roles/{roleAssignmentId}/targets/{groups,catalog/apps}` and the
/// same under `/oauth2/v1/clients/{clientId}`: the assignment's targets, paged with Link headers. An
/// unknown principal or assignment is a 404; a role type that takes no such targets is Okta's 400.
/// Its routes are the manifest's role target variants (`routes::role_target_routes`).
pub fn role_targets_handler(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let [principal, rid] = c.params else {
        return Err(ApiError::not_found(c.path));
    };
    let Some((roles, _, _)) = ROLE_ASSIGNMENTS
        .iter()
        .find(|(_, _, prefix)| c.path.starts_with(prefix))
    else {
        return Err(ApiError::not_found(c.path));
    };
    let Some(a) = c
        .org
        .children
        .get(roles)
        .and_then(|m| m.get(principal))
        .and_then(|v| v.iter().find(|i| &i.id == rid))
    else {
        return Err(ApiError::not_found(&format!("{rid} (RoleAssignment)")));
    };
    let groups = c.path.ends_with("/targets/groups");
    let (name, takes) = if groups {
        (ROLE_GROUP_TARGETS, okta_manifest::GROUP_TARGET_ROLES)
    } else {
        (ROLE_APP_TARGETS, okta_manifest::APP_TARGET_ROLES)
    };
    let kind = parse(&a.json)["type"].as_str().unwrap_or("").to_string();
    if !takes.contains(&kind.as_str()) {
        return Err(ApiError::new(
            400,
            "E0000091",
            "The provided role type was not the same as required role type.",
        ));
    }
    let items = c
        .org
        .children
        .get(name)
        .and_then(|m| m.get(rid))
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    routes::list_reply(c, name, items)
}

/// The rows of a role target stream: one per (assignment, target) of every principal.
fn role_target_vals(org: &Org, roles: &str) -> Vec<Value> {
    let col = ROLE_ASSIGNMENTS
        .iter()
        .find(|(r, _, _)| *r == roles)
        .map_or("parent_id", |(_, c, _)| c);
    let mut out = Vec::new();
    for (principal, assignments) in org.children.get(roles).into_iter().flatten() {
        for a in assignments {
            for (name, target_type) in [(ROLE_GROUP_TARGETS, "GROUP"), (ROLE_APP_TARGETS, "APP")] {
                for t in org
                    .children
                    .get(name)
                    .and_then(|m| m.get(&a.id))
                    .into_iter()
                    .flatten()
                {
                    let v = with_col(parse(&t.json), col, principal);
                    let v = with_col(v, "role_assignment_id", &a.id);
                    let v = with_col(v, "target_type", target_type);
                    out.push(with_col(v, "target_id", &t.id));
                }
            }
        }
    }
    out
}

fn title_case(s: &str) -> String {
    s.split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn fix_user_links(v: &mut Value, base: &str, uid: &str) {
    if let Some(l) = v.get_mut("_links").and_then(Value::as_object_mut) {
        l.insert(
            "assignee".into(),
            json!({"href": format!("{base}/api/v1/users/{uid}")}),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Rendered on demand

pub(crate) fn id_hash(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The factors of user `uid`: the changed ones ([`Org::factor_overrides`]) when its factors were
/// changed, else 1–3 generated ones for an ACTIVE or DEPROVISIONED user (deactivating a user
/// keeps its enrollments) and none otherwise.
pub fn user_factors(org: &Org, uid: &str) -> Vec<Value> {
    let Some(u) = org.users.by_id.get(uid) else {
        return Vec::new();
    };
    if let Some(f) = org.factor_overrides.get(uid) {
        return f.clone();
    }
    if !matches!(u.status, "ACTIVE" | "DEPROVISIONED") {
        return Vec::new();
    }
    let tpls = list_examples("user_factors");
    if tpls.is_empty() {
        return Vec::new();
    }
    let h = id_hash(uid);
    let mut rng = Rng::derive(org.seed, S_FACTORS, h);
    let k = 1 + rng.below(3);
    let first = rng.below(tpls.len());
    let activated = u.activated.unwrap_or(u.created);
    (0..k.min(tpls.len()))
        .map(|j| {
            let tpl = tpls[(first + j) % tpls.len()];
            let old = tpl["id"].as_str().unwrap_or("");
            let prefix = old.get(..3).unwrap_or("ufs");
            let fid = okta_id(
                prefix,
                org.seed,
                kind_of("user_factors"),
                h.wrapping_add(j as u64),
            );
            let old_user = "00u15s1KDETTQMQYABRL";
            let mut v = instantiate(tpl, &org.base, &[(old, &fid), (old_user, uid)]);
            v["id"] = json!(fid);
            let created = rng.range(activated, org.start_ms - 1000);
            set_times(&mut v, created, rng.range(created, org.start_ms));
            if let Some(p) = v.get_mut("profile").and_then(Value::as_object_mut) {
                if p.contains_key("credentialId") {
                    p.insert("credentialId".into(), json!(u.profile.login));
                }
                if p.contains_key("phoneNumber") {
                    p.insert(
                        "phoneNumber".into(),
                        json!(format!("+1-555-{:03}-{:04}", h % 1000, (h >> 10) % 10_000)),
                    );
                }
            }
            v
        })
        .collect()
}

fn lock_type(d: &Device) -> &'static str {
    ["BIOMETRIC", "PASSCODE", "NONE"][(d.n % 3) as usize]
}

/// The device-user objects of device `d`.
pub fn device_users(org: &Org, d: &Device) -> Vec<Value> {
    d.users
        .iter()
        .filter_map(|uid| org.users.by_id.get(uid))
        .enumerate()
        .map(|(j, u)| {
            json!({
                "created": clock::iso(d.created + 60_000 * (j as i64 + 1)),
                "managementStatus": if d.n.is_multiple_of(3) { "MANAGED" } else { "NOT_MANAGED" },
                "screenLockType": lock_type(d),
                "user": parse(&u.json),
            })
        })
        .collect()
}

/// Device `d` as listed, with `_embedded.users` summaries when `expand=userSummary`.
pub fn render_device(org: &Org, d: &Device, expand: bool) -> Value {
    let tpls = list_examples("devices");
    let Some(tpl) = tpls.get((d.n as usize) % tpls.len().max(1)) else {
        return Value::Null;
    };
    let old = tpl["id"].as_str().unwrap_or("");
    let mut v = instantiate(tpl, &org.base, &[(old, &d.id)]);
    v["id"] = json!(d.id);
    v["resourceId"] = json!(d.id);
    v["status"] = json!(d.status);
    set_times(&mut v, d.created, d.last_updated);
    let name = format!("Device {}", d.n);
    if let Some(p) = v.get_mut("profile").and_then(Value::as_object_mut) {
        p.insert("displayName".into(), json!(name));
        if p.contains_key("serialNumber") {
            p.insert(
                "serialNumber".into(),
                json!(format!("SN{:010}", mix64(d.n ^ org.seed) % 10_000_000_000)),
            );
        }
    }
    v["resourceDisplayName"] = json!({"value": name, "sensitive": false});
    if let Some(m) = v.as_object_mut() {
        if expand {
            let users: Vec<Value> = d
                .users
                .iter()
                .filter_map(|uid| org.users.by_id.get(uid))
                .enumerate()
                .map(|(j, u)| {
                    json!({
                        "managementStatus": if d.n.is_multiple_of(3) { "MANAGED" } else { "NOT_MANAGED" },
                        "created": clock::iso(d.created + 60_000 * (j as i64 + 1)),
                        "screenLockType": lock_type(d),
                        "user": {
                            "id": u.id,
                            "profile": {"firstName": u.profile.first_name, "lastName": u.profile.last_name,
                                        "login": u.profile.login, "email": u.profile.email},
                            "_links": {"self": {"href": format!("{}/api/v1/users/{}", org.base, u.id)}}
                        }
                    })
                })
                .collect();
            m.insert("_embedded".into(), json!({ "users": users }));
        } else {
            m.remove("_embedded");
        }
    }
    v
}

/// The user schema of app `aid`.
pub fn app_user_schema(org: &Org, aid: &str) -> Option<Value> {
    let apps = org.lists.get("apps")?;
    let i = apps.binary_search_by(|i| i.id.as_str().cmp(aid)).ok()?;
    let tpl = list_examples("app_user_schemas").first().copied()?;
    let old_id = tpl["id"].as_str().unwrap_or("");
    let new_id = format!("{}/meta/schemas/apps/{aid}/default", org.base);
    let mut v = instantiate(tpl, &org.base, &[(old_id, &new_id)]);
    v["id"] = json!(new_id);
    let created = org.start_ms - 400 * DAY_MS + i as i64 * DAY_MS / 10;
    set_times(&mut v, created, created + 3_600_000);
    v["_links"] = json!({"self": {"rel": "self", "href": format!("{}/api/v1/meta/schemas/apps/{aid}/default", org.base), "method": "GET"}});
    // Custom app-user attributes as admins add them: one in every app, one typed differently by
    // different apps and one of the first app only (what discovery merges into `application_users`).
    if let Some(custom) = v
        .pointer_mut("/definitions/custom/properties")
        .and_then(Value::as_object_mut)
    {
        custom.insert(
            "costCenter".into(),
            json!({"title": "Cost center", "type": "string", "scope": "NONE"}),
        );
        let seats = if i % 2 == 0 { "integer" } else { "string" };
        custom.insert(
            "seats".into(),
            json!({"title": "Seats", "type": seats, "scope": "NONE"}),
        );
        if i == 0 {
            custom.insert(
                "licenseTier".into(),
                json!({"title": "License tier", "type": "string", "scope": "NONE"}),
            );
        }
    }
    Some(v)
}

// ---------------------------------------------------------------------------------------------
// Handlers

fn param<'a>(c: &'a Ctx<'_>) -> &'a str {
    c.params.first().map(String::as_str).unwrap_or("")
}

fn whole(c: &Ctx<'_>, values: &[Value]) -> Reply {
    let parts: Vec<Vec<u8>> = values
        .iter()
        .map(|v| serde_json::to_vec(v).unwrap_or_default())
        .collect();
    let size = parts.iter().map(|p| p.len() + 1).sum();
    Reply {
        body: json_array(parts.iter().map(Vec::as_slice), size),
        self_link: Some(paging::self_url(c.base, c.path, c.raw_query)),
        next_link: None,
    }
}

fn children_or_empty(c: &Ctx<'_>, name: &str, exists: bool, what: &str) -> Result<Reply, ApiError> {
    let id = param(c);
    if !exists {
        return Err(ApiError::not_found(&format!("{id} ({what})")));
    }
    let items = c
        .org
        .children
        .get(name)
        .and_then(|m| m.get(id))
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    routes::list_reply(c, name, items)
}

/// `GET /api/v1/users/{id}/factors`.
pub fn factors_handler(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let id = param(c);
    if !c.org.users.by_id.contains_key(id) {
        return Err(ApiError::not_found(&format!("{id} (User)")));
    }
    Ok(whole(c, &user_factors(c.org, id)))
}

/// `GET /api/v1/users/{id}/roles`.
pub fn user_roles_handler(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let exists = c.org.users.by_id.contains_key(param(c));
    children_or_empty(c, "user_roles", exists, "User")
}

/// `GET /api/v1/groups/{id}/owners`.
pub fn group_owners_handler(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let exists = c.org.groups.by_id.contains_key(param(c));
    children_or_empty(c, "group_owners", exists, "UserGroup")
}

/// `GET /api/v1/groups/{id}/roles`.
pub fn group_roles_handler(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let exists = c.org.groups.by_id.contains_key(param(c));
    children_or_empty(c, "group_roles", exists, "UserGroup")
}

/// `GET /api/v1/devices` (`search`, `expand=userSummary`, link paging by id).
pub fn devices_handler(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let Paging::Link { default, max } = c.route.paging else {
        return Err(ApiError::not_found(c.path));
    };
    let limit = routes::page_limit(c, default, max)?;
    let expr = match c.query.get("search") {
        Some(s) => Some(routes::parse_expr(s, device_search_rules)?),
        None => None,
    };
    let expand = c
        .query
        .get("expand")
        .is_some_and(|e| e.split(',').any(|x| x.trim() == "userSummary"));
    let kind = "devices";
    let devices = &c.org.catalog.devices;
    let start = match c.query.get("after") {
        Some(a) => {
            let cur = paging::decode(kind, a).ok_or_else(ApiError::bad_cursor)?;
            devices.partition_point(|d| d.id.as_str() <= cur.id.as_str())
        }
        None => 0,
    };
    let mut out: Vec<&Device> = Vec::with_capacity(limit.min(200));
    let mut more = false;
    for d in &devices[start..] {
        if expr.as_ref().is_none_or(|e| e.matches(d)) {
            if out.len() == limit {
                more = true;
                break;
            }
            out.push(d);
        }
    }
    let values: Vec<Value> = out
        .iter()
        .map(|d| render_device(c.org, d, expand))
        .collect();
    let mut r = whole(c, &values);
    if more {
        if let Some(last) = out.last() {
            let cur = paging::encode(kind, 0, &last.id);
            r.next_link = Some(paging::next_url(c.base, c.path, c.raw_query, &cur, &[]));
        }
    }
    Ok(r)
}

/// `GET /api/v1/devices/{id}/users`.
pub fn device_users_handler(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let id = param(c);
    let devices = &c.org.catalog.devices;
    let d = devices
        .binary_search_by(|d| d.id.as_str().cmp(id))
        .ok()
        .map(|i| &devices[i])
        .ok_or_else(|| ApiError::not_found(&format!("{id} (Device)")))?;
    Ok(whole(c, &device_users(c.org, d)))
}

/// `GET /api/v1/meta/schemas/apps/{id}/default`.
pub fn app_schema_handler(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let id = param(c);
    let v =
        app_user_schema(c.org, id).ok_or_else(|| ApiError::not_found(&format!("{id} (App)")))?;
    Ok(Reply {
        body: to_bytes(&v),
        ..Reply::default()
    })
}

/// `GET /api/v1/policies?type=T`: 400 `E0000001` for a missing, invalid or unsupported type.
pub fn policies_handler(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let invalid = |t: &str| {
        ApiError::new(400, "E0000001", "Api validation failed: type")
            .cause(format!("type: Invalid or unsupported policy type '{t}'"))
    };
    let t = c.query.get("type").ok_or_else(|| invalid(""))?;
    let items = c.org.catalog.policies.get(t).ok_or_else(|| invalid(t))?;
    let mut r = routes::list_reply(c, "policies", items)?;
    r.next_link = None;
    Ok(r)
}

/// `GET /api/v1/risk/providers`: 404 unless configured.
pub fn risk_providers_handler(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    if !c.org.catalog.risk_providers {
        return Err(ApiError::not_found(c.path));
    }
    routes::list_reply(c, "risk_providers", c.org.list("risk_providers"))
}

/// `GET /api/v1/principal-rate-limits`: `filter=principalType eq "SSWS_TOKEN"` (or
/// `"OAUTH_CLIENT"`) is required, as in Okta.
pub fn principal_rate_limits_handler(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let filter = c.query.get("filter").unwrap_or("");
    let Some(ptype) = filter
        .strip_prefix("principalType eq \"")
        .and_then(|r| r.strip_suffix('"'))
    else {
        return Err(
            ApiError::new(400, "E0000031", "Invalid search criteria.").cause(format!(
                "filter: {filter:?} (principalType eq \"...\" is required)"
            )),
        );
    };
    let items: Vec<Item> = c
        .org
        .lists
        .get("principal_rate_limits")
        .map(|v| {
            v.iter()
                .filter(|i| parse(&i.json)["principalType"] == ptype)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    routes::list_reply(c, "principal_rate_limits", &items)
}

// ---------------------------------------------------------------------------------------------
// Ground truth

fn with_col(mut v: Value, col: &str, value: &str) -> Value {
    if let Some(m) = v.as_object_mut() {
        m.insert(col.to_string(), json!(value));
    }
    v
}

fn list_vals(org: &Org, name: &str) -> Vec<Value> {
    org.list_json(name)
}

fn child_vals(org: &Org, name: &str, col: &str) -> Vec<Value> {
    org.children_json(name)
        .into_iter()
        .map(|(p, v)| with_col(v, col, &p))
        .collect()
}

/// The rows of a derived fan-out, each with its chain of parent ids ([`routes::chain_key`]) written
/// to `cols`, one column per level (a level without a column is not written).
/// A bare string row (`Derive::StringAs`) becomes the record the connector makes of it, `{column: id}`.
fn chain_vals(org: &Org, name: &str, cols: &[Option<&str>]) -> Vec<Value> {
    let wrap = match okta_manifest::find(name).map(|m| m.derive) {
        Some(okta_manifest::Derive::StringAs(col)) => Some(col),
        _ => None,
    };
    org.children_json(name)
        .into_iter()
        .map(|(key, v)| {
            let v = match (wrap, v) {
                (Some(col), Value::String(id)) => json!({ col: id }),
                (_, v) => v,
            };
            key.splitn(cols.len().max(1), '/')
                .zip(cols)
                .fold(v, |v, (id, col)| match col {
                    Some(col) => with_col(v, col, id),
                    None => v,
                })
        })
        .collect()
}

/// The records the connector should produce for `stream` (with the columns it adds), or `None`
/// for a stream name the simulator doesn't know.
pub fn collection(org: &Org, now_ms: i64, stream: &str) -> Option<Vec<Value>> {
    let base = &org.base;
    Some(match stream {
        "users" => org.users_json(),
        "user_factors" => org
            .users
            .by_id
            .values()
            .flat_map(|u| {
                user_factors(org, &u.id)
                    .into_iter()
                    .map(|f| with_col(f, "user_id", &u.id))
            })
            .collect(),
        "user_role_assignments" => child_vals(org, "user_roles", "user_id"),
        "user_linked_objects" => linked_object_vals(org),
        "user_role_targets" => role_target_vals(org, "user_roles"),
        "group_role_targets" => role_target_vals(org, "group_roles"),
        "service_app_role_targets" => role_target_vals(org, "service_app_role_assignments"),
        "groups" => org.groups_json(),
        "group_members" => org
            .member_pairs()
            .into_iter()
            .filter_map(|(g, u)| {
                let user = parse(&org.users.by_id.get(&u)?.json);
                Some(with_col(with_col(user, "group_id", &g), "user_id", &u))
            })
            .collect(),
        "group_owners" => child_vals(org, "group_owners", "group_id"),
        "group_rules" => list_vals(org, "group_rules"),
        "group_role_assignments" => child_vals(org, "group_roles", "group_id"),
        "applications" => list_vals(org, "apps"),
        "application_users" => child_vals(org, "app_users", "app_id"),
        "application_groups" => child_vals(org, "app_groups", "app_id"),
        "system_log" => org.log_events_json(now_ms),
        "devices" => org
            .catalog
            .devices
            .iter()
            .map(|d| render_device(org, d, true))
            .collect(),
        "device_users" => org
            .catalog
            .devices
            .iter()
            .flat_map(|d| {
                device_users(org, d).into_iter().map(|v| {
                    let uid = v["user"]["id"].as_str().unwrap_or("").to_string();
                    with_col(with_col(v, "device_id", &d.id), "user_id", &uid)
                })
            })
            .collect(),
        "user_types" => list_vals(org, "user_types"),
        "user_schemas" => {
            let mut out: Vec<Value> = Vec::new();
            for t in list_vals(org, "user_types") {
                let href = t["_links"]["schema"]["href"].as_str().unwrap_or("");
                let sid = href.rsplit('/').next().unwrap_or("");
                if let Some(b) = org.objects.get(&("user_schema", sid.to_string())) {
                    out.push(parse(b));
                }
            }
            out
        }
        "group_schemas" => org
            .objects
            .get(&("group_schema", "default".to_string()))
            .map(|b| vec![parse(b)])
            .unwrap_or_default(),
        "app_user_schemas" => org
            .lists
            .get("apps")
            .map(|apps| {
                apps.iter()
                    .filter_map(|a| {
                        app_user_schema(org, &a.id).map(|v| with_col(v, "app_id", &a.id))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        "ui_schemas" => list_vals(org, "ui_schemas"),
        "linked_object_definitions" => list_vals(org, "linked_objects")
            .into_iter()
            .map(|v| {
                let p = v["primary"]["name"].as_str().unwrap_or("").to_string();
                with_col(v, "primary_name", &p)
            })
            .collect(),
        "custom_roles" => list_vals(org, "custom_roles"),
        "custom_role_permissions" => child_vals(org, "role_permissions", "role_id"),
        "resource_sets" => list_vals(org, "resource_sets"),
        "resource_set_resources" => child_vals(org, "resource_set_resources", "resource_set_id"),
        "role_subscriptions" => child_vals(org, "role_subscriptions", "role_type")
            .into_iter()
            .map(|v| {
                let nt = v["notificationType"].as_str().unwrap_or("").to_string();
                with_col(v, "notification_type", &nt)
            })
            .collect(),
        "policies" => org
            .catalog
            .policies
            .values()
            .flat_map(|v| v.iter().map(|i| parse(&i.json)))
            .collect(),
        "policy_rules" => child_vals(org, "policy_rules", "policy_id"),
        "authenticators" => list_vals(org, "authenticators"),
        "authorization_servers" => list_vals(org, "authorization_servers"),
        "authorization_server_scopes" => {
            child_vals(org, "authorization_server_scopes", "auth_server_id")
        }
        "authorization_server_claims" => {
            child_vals(org, "authorization_server_claims", "auth_server_id")
        }
        "authorization_server_policies" => {
            child_vals(org, "authorization_server_policies", "auth_server_id")
        }
        "identity_providers" => list_vals(org, "identity_providers"),
        "network_zones" => list_vals(org, "network_zones"),
        "trusted_origins" => list_vals(org, "trusted_origins"),
        "behaviors" => list_vals(org, "behaviors"),
        "brands" => list_vals(org, "brands"),
        "brand_themes" => child_vals(org, "brand_themes", "brand_id"),
        "email_templates" => child_vals(org, "email_templates", "brand_id"),
        "domains" => list_vals(org, "domains"),
        "email_domains" => list_vals(org, "email_domains"),
        "sms_templates" => list_vals(org, "sms_templates"),
        "oauth_clients" => list_vals(org, "oauth_clients"),
        "event_hooks" => list_vals(org, "event_hooks"),
        "inline_hooks" => list_vals(org, "inline_hooks"),
        "hook_keys" => list_vals(org, "hook_keys"),
        "features" => list_vals(org, "features"),
        "log_streams" => list_vals(org, "log_streams"),
        "profile_mappings" => list_vals(org, "mapping_details"),
        "org" => org
            .objects
            .get(&("org", String::new()))
            .map(|b| vec![parse(b)])
            .unwrap_or_default(),
        "push_providers" => list_vals(org, "push_providers"),
        "risk_providers" => {
            if org.catalog.risk_providers {
                list_vals(org, "risk_providers")
            } else {
                Vec::new()
            }
        }
        "security_events_providers" => list_vals(org, "security_events_providers"),
        "threat_insight" => org
            .objects
            .get(&("threat_insight", String::new()))
            .map(|b| vec![with_col(parse(b), "id", "threat_insight")])
            .unwrap_or_default(),
        "org_captcha" | "okta_personal_export_blocklist" => org
            .objects
            .get(&(
                if stream == "org_captcha" {
                    "org_captcha"
                } else {
                    "okta_personal_export_blocklist"
                },
                String::new(),
            ))
            .map(|b| vec![with_col(parse(b), "id", stream)])
            .unwrap_or_default(),
        "api_tokens" => list_vals(org, "api_tokens"),
        "realms" => list_vals(org, "realms"),
        s if s.starts_with("asa_") => return org.catalog.asa.collection(s),
        s if org.lists.contains_key(s) => list_vals(org, s),
        s if org.children.contains_key(s) => match okta_manifest::find(s) {
            Some(m) => {
                let vals = chain_vals(org, s, &m.key_columns());
                if m.derive == okta_manifest::Derive::NotificationType {
                    vals.into_iter()
                        .map(|v| {
                            let nt = v["notificationType"].as_str().unwrap_or("").to_string();
                            with_col(v, "notification_type", &nt)
                        })
                        .collect()
                } else {
                    vals
                }
            }
            None => return None,
        },
        _ => {
            let _ = base;
            return None;
        }
    })
}
