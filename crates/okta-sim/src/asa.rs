//! Advanced Server Access (ScaleFT) on the same server, under `/v1/teams/{team}/…` (API.md §1.3,
//! §2.3, §7.4): the service-token exchange, Bearer authentication, `{"list":[…]}` pages with
//! `offset`/`count` and `Link` headers, `X-RateLimit-*` headers and ASA error bodies
//! (`{"type":…,"message":…}`).
//!
//! The team is derived from the org: ASA users are the first Okta users (about one in five),
//! with groups, attributes, projects, servers, clients, service users, sudo entitlements, audit
//! events, settings and statistics, team servers and services, AD connections, project groups,
//! server users, cloud accounts, client options and preauthorizations and the service users' API
//! keys, generated from the ASA spec's examples.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::Request;
use serde_json::{json, Map, Value};

use crate::catalog::list_examples;
use crate::clock::{self, DAY_MS};
use crate::config::SimConfig;
use crate::model::{mix64, Rng};
use crate::org::{parse, Item, Org};
use crate::paging::{json_array, Query};
use crate::server::{json_response, Resp, Shared};

const S_ASA: u64 = 2_000;

/// Page size of ASA lists (default and maximum).
pub const MAX_COUNT: usize = 100;

/// Issued bearer tokens.
#[derive(Debug, Default)]
pub struct TokenStore {
    tokens: Mutex<HashSet<String>>,
    issued: AtomicU64,
}

impl TokenStore {
    /// Forget every issued token (their next use gets 401 `authentication_error`).
    pub fn expire_all(&self) {
        match self.tokens.lock() {
            Ok(mut t) => t.clear(),
            Err(p) => p.into_inner().clear(),
        }
    }

    /// Number of tokens issued so far.
    pub fn issued(&self) -> u64 {
        self.issued.load(Ordering::SeqCst)
    }

    fn issue(&self) -> String {
        let n = self.issued.fetch_add(1, Ordering::SeqCst);
        let t = format!(
            "asa.{:016x}{:016x}",
            mix64(n ^ 0xa5a5),
            mix64(n.wrapping_add(clock::wall_ms() as u64))
        );
        match self.tokens.lock() {
            Ok(mut s) => s.insert(t.clone()),
            Err(p) => p.into_inner().insert(t.clone()),
        };
        t
    }

    fn valid(&self, t: &str) -> bool {
        match self.tokens.lock() {
            Ok(s) => s.contains(t),
            Err(p) => p.into_inner().contains(t),
        }
    }
}

/// The ASA team's data.
#[derive(Debug, Default)]
pub struct AsaData {
    /// Team name (`None`: ASA disabled).
    pub team: Option<String>,
    /// Users in list order (by name), each with its status.
    pub users: Vec<(Item, &'static str)>,
    /// Top-level lists by name (`groups`, `projects`, `clients`, `service_users`, `entitlements`,
    /// `servers`, `services`, `ad_connections`).
    pub lists: HashMap<&'static str, Vec<Item>>,
    /// Child lists by name (`group_members`, `user_attributes`, `group_attributes`,
    /// `project_servers`, `project_groups`, `project_server_users`, `project_cloud_accounts`,
    /// `project_client_config_options`, `project_preauthorizations`, `service_user_keys`) and
    /// parent name; `server_services` by server id; `project_current_preauthorizations`: the
    /// unexpired ones (listed without `include_expired=true`).
    pub children: HashMap<&'static str, HashMap<String, Vec<Item>>>,
    /// Audit events, oldest first.
    pub audits: Vec<Item>,
    /// `related_objects` of the audit events, by key.
    pub related: Map<String, Value>,
    /// `/settings`.
    pub settings: Value,
    /// `/team_stats`.
    pub stats: Value,
}

fn uuid(rng: &mut Rng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

fn b64_id(rng: &mut Rng, bytes: usize) -> String {
    use base64::Engine as _;
    let raw: Vec<u8> = (0..bytes).map(|_| (rng.next_u64() & 0xff) as u8).collect();
    base64::engine::general_purpose::STANDARD.encode(raw)
}

fn to_item(id: &str, v: &Value) -> Item {
    Item {
        id: id.to_string(),
        json: Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
    }
}

fn tpl(stream: &str, i: usize) -> Value {
    let t = list_examples(stream);
    t.get(i % t.len().max(1))
        .map(|v| (*v).clone())
        .unwrap_or_else(|| json!({}))
}

fn ts(ms: i64) -> String {
    // ASA writes RFC 3339 with seconds ("2018-04-07T00:00:00Z").
    let s = clock::iso(ms);
    format!("{}Z", &s[..19])
}

impl AsaData {
    /// Generate the team for `org`.
    pub fn seed(org: &Org, cfg: &SimConfig) -> AsaData {
        let Some(asa) = &cfg.asa else {
            return AsaData::default();
        };
        let team = asa.team.clone();
        let start = org.start_ms;
        let mut rng = Rng::derive(org.seed, S_ASA, 0);
        let n_users = (org.users.len() / 5)
            .clamp(3, 5_000)
            .min(org.users.len().max(3));
        let okta_users: Vec<&crate::model::User> = org.users.by_id.values().take(n_users).collect();
        let mut users: Vec<(Item, &'static str)> = Vec::new();
        let mut user_names = Vec::new();
        let mut user_attrs = HashMap::new();
        for (i, u) in okta_users.iter().enumerate() {
            let status: &'static str = match i % 20 {
                3 | 11 | 17 => "DISABLED",
                7 => "DELETED",
                _ => "ACTIVE",
            };
            let name = format!("{}.{}{}", u.profile.first_name, u.profile.last_name, i);
            let id = uuid(&mut rng);
            let v = json!({
                "team_name": team,
                "id": id,
                "name": name,
                "status": status,
                "details": {
                    "first_name": u.profile.first_name,
                    "last_name": u.profile.last_name,
                    "full_name": u.profile.display_name,
                    "email": u.profile.email
                },
                "user_type": "human",
                "oauth_client_application_id": null,
                "role_grants": null,
                "deleted_at": if status == "DELETED" { json!(ts(start - rng.range(DAY_MS, 90 * DAY_MS))) } else { Value::Null }
            });
            if status != "DELETED" {
                let uname = name.to_ascii_lowercase().replace('.', "_");
                let attrs = vec![
                    ("unix_user_name", json!(uname)),
                    ("unix_uid", json!(60_001 + i as i64)),
                    ("unix_gid", json!(63_001 + i as i64)),
                ];
                let k = 1 + rng.below(3);
                let items: Vec<Item> = attrs
                    .into_iter()
                    .take(k)
                    .map(|(n, val)| {
                        let aid = uuid(&mut rng);
                        to_item(
                            &aid,
                            &json!({"id": aid, "attribute_name": n, "attribute_value": val, "managed": rng.chance(0.7)}),
                        )
                    })
                    .collect();
                user_attrs.insert(name.clone(), items);
            } else {
                user_attrs.insert(name.clone(), Vec::new());
            }
            user_names.push((name.clone(), status, v.clone()));
            users.push((to_item(&name, &v), status));
        }
        users.sort_by(|a, b| a.0.id.cmp(&b.0.id));

        // Groups and members.
        let n_groups = (3 + n_users / 20).min(100);
        let roles_sets: [&[&str]; 3] = [
            &["access_user", "reporting_user"],
            &["access_user"],
            &["access_user", "reporting_user", "access_admin"],
        ];
        let mut groups = Vec::new();
        let mut members = HashMap::new();
        let mut group_attrs = HashMap::new();
        let live: Vec<&(String, &str, Value)> =
            user_names.iter().filter(|u| u.1 != "DELETED").collect();
        for gi in 0..n_groups {
            let name = match gi {
                0 => "everyone".to_string(),
                1 => "owners".to_string(),
                _ => format!("team-{gi}"),
            };
            let id = uuid(&mut rng);
            let mut v = tpl("asa_groups", gi);
            v["id"] = json!(id);
            v["name"] = json!(name);
            v["roles"] = json!(roles_sets[gi % 3]);
            v["federated_from_team"] = Value::Null;
            v["federation_approved_at"] = Value::Null;
            v["deleted_at"] = Value::Null;
            groups.push(to_item(&name, &v));
            let mut mem: Vec<Item> = Vec::new();
            for (j, u) in live.iter().enumerate() {
                let inside = gi == 0 || (j + gi) % (gi + 2) == 0;
                if inside {
                    mem.push(to_item(&u.0, &u.2));
                }
            }
            mem.sort_by(|a, b| a.id.cmp(&b.id));
            members.insert(name.clone(), mem);
            let attrs: Vec<Item> = [
                ("unix_group_name", json!(name.replace('-', "_"))),
                ("unix_gid", json!(63_500 + gi as i64)),
            ]
            .into_iter()
            .take(1 + gi % 2)
            .map(|(n, val)| {
                let aid = uuid(&mut rng);
                to_item(
                    &aid,
                    &json!({"id": aid, "attribute_name": n, "attribute_value": val, "managed": gi % 2 == 0}),
                )
            })
            .collect();
            group_attrs.insert(name, attrs);
        }
        groups.sort_by(|a, b| a.id.cmp(&b.id));

        // Projects and servers.
        let n_projects = (2 + n_users / 50).min(50);
        let mut projects = Vec::new();
        let mut servers = HashMap::new();
        let mut n_servers = 0;
        for pi in 0..n_projects {
            let name = format!("project-{pi}");
            let id = uuid(&mut rng);
            let mut v = tpl("asa_projects", pi);
            v["id"] = json!(id);
            v["name"] = json!(name);
            v["team"] = json!(team);
            v["next_unix_uid"] = json!(60_001 + 100 * pi as i64);
            projects.push(to_item(&name, &v));
            let k = 1 + rng.below(4);
            let mut items = Vec::new();
            for s in 0..k {
                let sid = uuid(&mut rng);
                let mut v = tpl("asa_project_servers", s);
                v["id"] = json!(sid);
                v["team_name"] = json!(team);
                v["project_name"] = json!(name);
                v["hostname"] = json!(format!("{name}-host-{s}"));
                v["registered_at"] = json!(ts(start - rng.range(DAY_MS, 300 * DAY_MS)));
                v["last_seen"] = json!(ts(start - rng.range(60_000, DAY_MS)));
                v["state"] = json!(if s % 4 == 3 { "INACTIVE" } else { "ACTIVE" });
                items.push(to_item(&sid, &v));
                n_servers += 1;
            }
            items.sort_by(|a, b| a.id.cmp(&b.id));
            servers.insert(name, items);
        }
        projects.sort_by(|a, b| a.id.cmp(&b.id));

        // Clients, service users, entitlements.
        let mut clients = Vec::new();
        for (i, u) in live.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
            let cid = uuid(&mut rng);
            let mut v = tpl("asa_clients", i);
            v["id"] = json!(cid);
            v["user_name"] = json!(u.0);
            v["hostname"] = json!(format!("laptop-{i}"));
            v["state"] = json!(if i % 6 == 4 { "PENDING" } else { "ACTIVE" });
            v["deleted_at"] = Value::Null;
            clients.push(to_item(&cid, &v));
        }
        clients.sort_by(|a, b| a.id.cmp(&b.id));
        let mut service_users = Vec::new();
        for i in 0..2 {
            let sid = uuid(&mut rng);
            let mut v = tpl("asa_service_users", i);
            v["id"] = json!(sid);
            v["team_name"] = json!(team);
            v["name"] = json!(format!("svc-reporting-{i}"));
            service_users.push(to_item(&sid, &v));
        }
        service_users.sort_by(|a, b| a.id.cmp(&b.id));
        let mut entitlements = Vec::new();
        for (i, name) in ["read-logs", "restart-services", "package-admin"]
            .iter()
            .enumerate()
        {
            let eid = uuid(&mut rng);
            let mut v = tpl("asa_entitlements", i);
            v["id"] = json!(eid);
            v["name"] = json!(name);
            v["description"] = json!(format!("sudo entitlement {name}"));
            let c = start - rng.range(30 * DAY_MS, 400 * DAY_MS);
            v["created_at"] = json!(ts(c));
            v["updated_at"] = json!(ts(rng.range(c, start - 60_000)));
            entitlements.push(to_item(&eid, &v));
        }
        entitlements.sort_by(|a, b| a.id.cmp(&b.id));

        // Audit events (oldest first) and their related objects.
        let n_audits = (30 + org.users.len() / 2).min(20_000);
        let kinds = [
            "auth_token.issue",
            "user_creds.issue",
            "server.enroll",
            "client.enroll",
            "user.login",
        ];
        let mut times: Vec<i64> = (0..n_audits)
            .map(|_| start - rng.range(60_000, 30 * DAY_MS))
            .collect();
        times.sort_unstable();
        let mut related = Map::new();
        let mut audits = Vec::with_capacity(n_audits);
        // Server enrollments name their server (`target_server`), a key into `related_objects`.
        let mut all_servers: Vec<Value> =
            servers.values().flatten().map(|i| parse(&i.json)).collect();
        all_servers.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        for (i, t) in times.iter().enumerate() {
            let id = b64_id(&mut rng, 16);
            let actor = if live.is_empty() {
                None
            } else {
                Some(live[i % live.len()])
            };
            let actor_key = actor.map(|a| {
                let k = format!(
                    "{}=",
                    &b64_id(&mut Rng::derive(org.seed, S_ASA + 1, id_hash(&a.0)), 32)[..43]
                );
                related
                    .entry(k.clone())
                    .or_insert_with(|| json!({"object": a.2, "type": "user"}));
                k
            });
            let kind = kinds[i % kinds.len()];
            let target_server = match all_servers.get(i % all_servers.len().max(1)) {
                Some(server) if kind == "server.enroll" => {
                    let sid = server["id"].as_str().unwrap_or_default();
                    let k = format!(
                        "{}=",
                        &b64_id(&mut Rng::derive(org.seed, S_ASA + 2, id_hash(sid)), 32)[..43]
                    );
                    related
                        .entry(k.clone())
                        .or_insert_with(|| json!({"object": server, "type": "server"}));
                    k
                }
                _ => String::new(),
            };
            let nanos = rng.below(1_000_000);
            let iso = clock::iso(*t);
            let stamp = format!("{}{:06}Z", &iso[..23], nanos);
            let v = json!({
                "details": {
                    "actor": actor_key,
                    "client": null,
                    "session_type": "authenticated_client",
                    "target_server": target_server,
                    "team_id": "",
                    "team_name": team,
                    "trace_id": b64_id(&mut rng, 6),
                    "type": kind,
                    "via": null
                },
                "id": id,
                "timestamp": stamp
            });
            audits.push(to_item(&id, &v));
        }

        let mut settings = tpl("asa_teams", 0);
        settings["team"] = json!(team);
        let stats = json!({
            "num_af_applications": 0,
            "num_clients": clients.len(),
            "num_gateways": 1,
            "num_groups": groups.len(),
            "num_human_users": users.iter().filter(|u| u.1 != "DELETED").count(),
            "num_oidc_applications": 0,
            "num_projects": projects.len(),
            "num_servers": n_servers,
            "num_service_users": service_users.len()
        });
        // One deleted group (its own random stream, so the rest of the team stays as it was):
        // listed only with `include_deleted=true`.
        let mut drng = Rng::derive(org.seed, S_ASA + 2, 0);
        let mut deleted_groups = Vec::new();
        {
            let mut v = tpl("asa_groups", 0);
            v["id"] = json!(uuid(&mut drng));
            v["name"] = json!("retired-team");
            v["roles"] = json!(roles_sets[0]);
            v["federated_from_team"] = Value::Null;
            v["federation_approved_at"] = Value::Null;
            v["deleted_at"] = json!(ts(start - drng.range(DAY_MS, 90 * DAY_MS)));
            deleted_groups.push(to_item("retired-team", &v));
        }
        let extra = ProjectData::seed(
            &mut Rng::derive(org.seed, S_ASA + 3, 0),
            start,
            &groups,
            &projects,
            &servers,
            &service_users,
            &user_names,
        );
        let (preauths, current_preauths) = seed_preauthorizations(
            &mut Rng::derive(org.seed, S_ASA + 4, 0),
            start,
            &projects,
            &servers,
            &live,
        );
        let mut lists = HashMap::new();
        lists.insert("servers", extra.servers);
        lists.insert("services", extra.services);
        lists.insert("ad_connections", extra.ad_connections);
        lists.insert("deleted_groups", deleted_groups);
        lists.insert("groups", groups);
        lists.insert("projects", projects);
        lists.insert("clients", clients);
        lists.insert("service_users", service_users);
        lists.insert("entitlements", entitlements);
        let mut children = HashMap::new();
        children.insert("group_members", members);
        children.insert("user_attributes", user_attrs);
        children.insert("group_attributes", group_attrs);
        children.insert("project_servers", servers);
        children.insert("server_services", extra.server_services);
        children.insert("project_groups", extra.project_groups);
        children.insert("project_server_users", extra.server_users);
        children.insert("project_cloud_accounts", extra.cloud_accounts);
        children.insert("project_client_config_options", extra.config_options);
        children.insert("service_user_keys", extra.keys);
        children.insert("project_preauthorizations", preauths);
        children.insert("project_current_preauthorizations", current_preauths);
        AsaData {
            team: Some(team),
            users,
            lists,
            children,
            audits,
            related,
            settings,
            stats,
        }
    }

    /// The records the connector should produce for ASA stream `stream`.
    pub fn collection(&self, stream: &str) -> Option<Vec<Value>> {
        let list = |name: &str| -> Vec<Value> {
            self.lists
                .get(name)
                .map(|v| v.iter().map(|i| parse(&i.json)).collect())
                .unwrap_or_default()
        };
        let child = |name: &str, col: &str| -> Vec<Value> {
            let Some(m) = self.children.get(name) else {
                return Vec::new();
            };
            let mut parents: Vec<&String> = m.keys().collect();
            parents.sort();
            parents
                .into_iter()
                .flat_map(|p| {
                    m[p].iter().map(move |i| {
                        let mut v = parse(&i.json);
                        v[col] = json!(p);
                        v
                    })
                })
                .collect()
        };
        Some(match stream {
            "asa_users" => self.users.iter().map(|(i, _)| parse(&i.json)).collect(),
            "asa_groups" => {
                let mut v = list("groups");
                v.extend(list("deleted_groups"));
                v
            }
            "asa_group_members" => child("group_members", "group_name"),
            "asa_user_attributes" => child("user_attributes", "user_name"),
            "asa_group_attributes" => child("group_attributes", "group_name"),
            "asa_projects" => list("projects"),
            "asa_project_servers" => child("project_servers", "project_name"),
            "asa_servers" => list("servers"),
            "asa_services" => list("services"),
            "asa_ad_connections" => list("ad_connections"),
            "asa_project_groups" => child("project_groups", "project_name"),
            "asa_project_server_users" => child("project_server_users", "project_name"),
            "asa_project_cloud_accounts" => child("project_cloud_accounts", "project_name")
                .into_iter()
                .map(|mut v| {
                    // The connector leaves the EventBridge secret out.
                    if let Some(o) = v.as_object_mut() {
                        o.remove("client_secret");
                    }
                    v
                })
                .collect(),
            "asa_project_client_config_options" => {
                child("project_client_config_options", "project_name")
            }
            "asa_service_user_keys" => child("service_user_keys", "user_name"),
            // The expired ones too: the connector asks for them (`include_expired=true`).
            "asa_project_preauthorizations" => child("project_preauthorizations", "project_name"),
            "asa_project_server_services" => {
                // Project → server → services, each row with both keys.
                let servers = child("project_servers", "project_name");
                let services = self.children.get("server_services");
                servers
                    .iter()
                    .flat_map(|srv| {
                        let sid = srv["id"].as_str().unwrap_or_default().to_string();
                        let project = srv["project_name"].clone();
                        services
                            .and_then(|m| m.get(&sid))
                            .into_iter()
                            .flatten()
                            .map(move |i| {
                                let mut v = parse(&i.json);
                                v["project_name"] = project.clone();
                                v["server_id"] = json!(sid);
                                v
                            })
                    })
                    .collect()
            }
            "asa_clients" => list("clients"),
            "asa_service_users" => list("service_users"),
            "asa_entitlements" => list("entitlements"),
            "asa_audits" => self.audits.iter().map(|i| parse(&i.json)).collect(),
            "asa_teams" => {
                let Some(team) = &self.team else {
                    return Some(Vec::new());
                };
                let mut m = self.settings.as_object().cloned().unwrap_or_default();
                if let Some(s) = self.stats.as_object() {
                    m.extend(s.clone());
                }
                m.insert("team_name".into(), json!(team));
                vec![Value::Object(m)]
            }
            _ => return None,
        })
    }
}

/// The team's lists added for issue 13 (team servers and services, AD connections, the project
/// groups, server users, cloud accounts and client options, the service users' API keys), from
/// their own random stream so the rest of the team stays as it was.
struct ProjectData {
    servers: Vec<Item>,
    services: Vec<Item>,
    ad_connections: Vec<Item>,
    /// By server id.
    server_services: HashMap<String, Vec<Item>>,
    /// By project name.
    project_groups: HashMap<String, Vec<Item>>,
    server_users: HashMap<String, Vec<Item>>,
    cloud_accounts: HashMap<String, Vec<Item>>,
    config_options: HashMap<String, Vec<Item>>,
    /// By service user name.
    keys: HashMap<String, Vec<Item>>,
}

fn sorted(mut items: Vec<Item>) -> Vec<Item> {
    items.sort_by(|a, b| a.id.cmp(&b.id));
    items
}

impl ProjectData {
    fn seed(
        rng: &mut Rng,
        start: i64,
        groups: &[Item],
        projects: &[Item],
        servers: &HashMap<String, Vec<Item>>,
        service_users: &[Item],
        users: &[(String, &'static str, Value)],
    ) -> ProjectData {
        let groups: Vec<Value> = groups.iter().map(|g| parse(&g.json)).collect();
        let service_users: Vec<Value> = service_users.iter().map(|u| parse(&u.json)).collect();
        let mut all_servers: Vec<Item> = servers.values().flatten().cloned().collect();
        all_servers.sort_by(|a, b| a.id.cmp(&b.id));

        // Services: service users' accounts on every other server.
        let mut services = Vec::new();
        let mut server_services: HashMap<String, Vec<Item>> = HashMap::new();
        let mut uid = 9_001;
        for (k, srv) in all_servers.iter().enumerate() {
            let mut items = Vec::new();
            for (j, su) in service_users.iter().enumerate() {
                if (k + j) % 2 != 0 {
                    continue;
                }
                let id = uuid(rng);
                let mut v = tpl("asa_services", j);
                v["id"] = json!(id);
                v["service_user_id"] = su["id"].clone();
                v["service_user_name"] = su["name"].clone();
                v["server_id"] = json!(srv.id);
                v["server_uid"] = json!(uid.to_string());
                uid += 1;
                let item = to_item(&id, &v);
                services.push(item.clone());
                items.push(item);
            }
            server_services.insert(srv.id.clone(), sorted(items));
        }

        let mut ad_connections = Vec::new();
        for i in 0..2 {
            let id = uuid(rng);
            let mut v = tpl("asa_ad_connections", i);
            v["id"] = json!(id);
            v["name"] = json!(format!("corp-ad-{i}"));
            v["gateway_id"] = json!(uuid(rng));
            v["domain"] = json!(format!("ad{i}.example.com"));
            ad_connections.push(to_item(&id, &v));
        }

        let mut project_groups = HashMap::new();
        let mut server_users = HashMap::new();
        let mut cloud_accounts = HashMap::new();
        let mut config_options = HashMap::new();
        for (pi, p) in projects.iter().enumerate() {
            let project = p.id.clone();
            // Groups: `everyone` and every other group.
            let mut items = Vec::new();
            for (gi, g) in groups.iter().enumerate() {
                if gi != 0 && (gi + pi) % 2 != 0 {
                    continue;
                }
                let name = g["name"].clone();
                let id = uuid(rng);
                let mut v = tpl("asa_project_groups", 0);
                v["id"] = json!(id);
                v["group"] = name.clone();
                v["name"] = name.clone();
                v["group_id"] = g["id"].clone();
                v["project"] = json!(project);
                v["server_access"] = json!(true);
                v["server_admin"] = json!(gi % 3 == 1);
                v["profile_attributes"] = json!({
                    "unix_gid": 63_500 + gi as i64,
                    "unix_group_name": format!("sft_{}", name.as_str().unwrap_or_default().replace('-', "_")),
                    "windows_group_name": format!("sft_{}", name.as_str().unwrap_or_default().replace('-', "_")),
                });
                items.push(to_item(&id, &v));
            }
            project_groups.insert(project.clone(), sorted(items));

            // Server users: some of the team's users (the deleted ones too, as ASA keeps them).
            let mut items = Vec::new();
            for (j, u) in users.iter().enumerate() {
                if (j + pi) % 3 != 0 || items.len() >= 8 {
                    continue;
                }
                let id = uuid(rng);
                let unix = u.0.to_ascii_lowercase().replace('.', "_");
                let mut v = tpl("asa_project_server_users", j);
                v["id"] = json!(id);
                v["user_name"] = json!(u.0);
                v["server_user_name"] = json!(unix);
                v["windows_server_user_name"] = json!(unix);
                v["status"] = json!(u.1);
                v["type"] = json!("human");
                v["unix_uid"] = json!(60_001 + j as i64);
                v["unix_gid"] = json!(63_001 + j as i64);
                v["admin"] = json!(j % 4 == 0);
                items.push(to_item(&id, &v));
            }
            server_users.insert(project.clone(), sorted(items));

            // Cloud accounts (their EventBridge secret is served, and left out by the connector).
            let mut items = Vec::new();
            for c in 0..(1 + pi % 2) {
                let id = uuid(rng);
                let mut v = tpl("asa_project_cloud_accounts", c);
                v["id"] = json!(id);
                v["project_name"] = json!(project);
                v["account_id"] = json!(format!("{:012}", rng.below(1_000_000_000_000)));
                v["description"] = json!(format!("{project} account {c}"));
                v["client_id"] = json!(format!("eventbridge-{pi}-{c}"));
                v["client_secret"] = json!(format!("{CLOUD_SECRET}-{pi}-{c}"));
                v["updated_at"] = json!(ts(start - rng.range(DAY_MS, 200 * DAY_MS)));
                v["deleted_at"] = Value::Null;
                items.push(to_item(&id, &v));
            }
            cloud_accounts.insert(project.clone(), sorted(items));

            // Client configuration options: both of the examples' on even projects.
            let mut items = Vec::new();
            for o in 0..(1 + (pi + 1) % 2) {
                let id = uuid(rng);
                let mut v = tpl("asa_project_client_config_options", o);
                v["id"] = json!(id);
                items.push(to_item(&id, &v));
            }
            config_options.insert(project, sorted(items));
        }

        // API key metadata of each service user.
        let mut keys = HashMap::new();
        for su in &service_users {
            let name = su["name"].as_str().unwrap_or_default().to_string();
            let mut items = Vec::new();
            for k in 0..2 {
                let id = uuid(rng);
                let issued = start - rng.range(DAY_MS, 300 * DAY_MS);
                let mut v = tpl("asa_service_user_keys", k);
                v["id"] = json!(id);
                v["issued_at"] = json!(ts(issued));
                v["expires_at"] = json!(ts(issued + 365 * DAY_MS));
                v["last_used"] = if k == 0 {
                    json!(ts(start - rng.range(60_000, DAY_MS)))
                } else {
                    Value::Null
                };
                items.push(to_item(&id, &v));
            }
            keys.insert(name, sorted(items));
        }

        ProjectData {
            servers: all_servers,
            services: sorted(services),
            ad_connections: sorted(ad_connections),
            server_services,
            project_groups,
            server_users,
            cloud_accounts,
            config_options,
            keys,
        }
    }
}

/// Items by project name.
type ByProject = HashMap<String, Vec<Item>>;

/// Preauthorizations by project name, all of them and the unexpired ones: 0 to 2 per project (by
/// its position: 1, 2, 0, 1, …), each for a user of the team, on every server of the project
/// (`servers: null`) or on some of them (by hostname); the second of a project expired. From their
/// own random stream so the rest of the team stays as it was.
fn seed_preauthorizations(
    rng: &mut Rng,
    start: i64,
    projects: &[Item],
    servers: &HashMap<String, Vec<Item>>,
    users: &[&(String, &'static str, Value)],
) -> (ByProject, ByProject) {
    let mut all = HashMap::new();
    let mut current = HashMap::new();
    for (pi, p) in projects.iter().enumerate() {
        let project = p.id.clone();
        let hosts: Vec<Value> = servers
            .get(&project)
            .into_iter()
            .flatten()
            .map(|i| parse(&i.json)["hostname"].clone())
            .collect();
        let (mut items, mut live) = (Vec::new(), Vec::new());
        for k in 0..(pi + 1) % 3 {
            let id = uuid(rng);
            let expired = k == 1;
            let mut v = tpl("asa_project_preauthorizations", k);
            v["id"] = json!(id);
            v["user_name"] = match users.get(rng.below(users.len().max(1))) {
                Some(u) => json!(u.0),
                None => v["user_name"].clone(),
            };
            v["projects"] = json!([project]);
            v["servers"] = if k == 0 || hosts.is_empty() {
                Value::Null
            } else {
                Value::Array(hosts.iter().take(2).cloned().collect())
            };
            v["expires_at"] = json!(ts(if expired {
                start - rng.range(DAY_MS, 60 * DAY_MS)
            } else {
                start + rng.range(DAY_MS, 30 * DAY_MS)
            }));
            v["disabled"] = json!((pi + k) % 4 == 3);
            let item = to_item(&id, &v);
            if !expired {
                live.push(item.clone());
            }
            items.push(item);
        }
        all.insert(project.clone(), sorted(items));
        current.insert(project, sorted(live));
    }
    (all, current)
}

/// The prefix of the cloud accounts' EventBridge `client_secret`s (tests look for it in outputs).
pub const CLOUD_SECRET: &str = "sim-asa-eventbridge-secret";

fn id_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn respond(status: u16, body: Bytes, headers: &[(&str, String)]) -> Resp {
    json_response(status, body, |put| {
        for (k, v) in headers {
            put(k, v);
        }
    })
}

fn error(status: u16, kind: &str, message: &str, headers: &[(&str, String)]) -> Resp {
    let body = json!({"type": kind, "message": message, "id": format!("{:016x}", mix64(clock::wall_ms() as u64))});
    respond(status, Bytes::from(body.to_string()), headers)
}

/// Handle a request under `/v1/teams/`.
#[allow(clippy::too_many_arguments)]
pub async fn handle(
    shared: &Shared,
    req: Request<Incoming>,
    method: &str,
    path: &str,
    raw_query: &str,
    base: &str,
    scheme: &str,
    credential: &str,
) -> Resp {
    let Some(cfg) = &shared.cfg.asa else {
        return error(404, "resource_does_not_exist", "Not found", &[]);
    };
    let rest = &path["/v1/teams/".len()..];
    let (team, sub) = rest.split_once('/').unwrap_or((rest, ""));
    let team = percent_decode(team);
    if team != cfg.team {
        return error(
            404,
            "resource_does_not_exist",
            "The team does not exist",
            &[],
        );
    }
    if sub == "service_token" {
        if method != "POST" {
            return error(405, "invalid_request", "Method not allowed", &[]);
        }
        let body = match Limited::new(req.into_body(), 64 * 1024).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => Bytes::new(),
        };
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if v["key_id"].as_str() != Some(cfg.key_id.as_str())
            || v["key_secret"].as_str() != Some(cfg.key_secret.as_str())
        {
            return error(
                401,
                "authentication_error",
                "Invalid key id or key secret",
                &[],
            );
        }
        let token = shared.asa_tokens.issue();
        let expires = clock::wall_ms() + 3_600_000;
        let body = json!({"bearer_token": token, "expires_at": ts(expires), "team_name": cfg.team});
        return respond(200, Bytes::from(body.to_string()), &[]);
    }
    if scheme != "Bearer" || !shared.asa_tokens.valid(credential) {
        return error(
            401,
            "authentication_error",
            "The bearer token is missing, invalid or expired",
            &[],
        );
    }
    if method != "GET" {
        return error(405, "invalid_request", "Method not allowed", &[]);
    }
    let d = shared.limiter().check(
        &format!("asa:{}", cfg.key_id),
        "asa",
        Instant::now(),
        SystemTime::now(),
        true,
    );
    let rl = vec![
        ("x-ratelimit-limit", d.limit.to_string()),
        ("x-ratelimit-remaining", d.remaining.to_string()),
        ("x-ratelimit-reset", d.reset.to_string()),
    ];
    if !d.allowed {
        let mut h = rl.clone();
        h.push(("x-ratelimit-retry-at", d.reset.to_string()));
        return error(429, "too_many_requests", "Too many requests", &h);
    }
    let org = match shared.org.read() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    let data = &org.catalog.asa;
    let q = Query::parse(raw_query);
    let segs: Vec<String> = sub.split('/').map(percent_decode).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let not_found = || error(404, "resource_does_not_exist", "Resource not found", &rl);
    let child = |name: &str, key: &str| -> Option<&[Item]> {
        data.children
            .get(name)
            .and_then(|m| m.get(key))
            .map(Vec::as_slice)
    };
    let page_of = |items: &[Item]| list_page(items, &q, base, path, raw_query, &rl);
    match segs.as_slice() {
        ["users"] => {
            let status = q.get("status");
            if let Some(s) = status {
                if !["ACTIVE", "DISABLED", "DELETED"].contains(&s) {
                    return error(400, "invalid_request", "Invalid status", &rl);
                }
            }
            let items: Vec<Item> = data
                .users
                .iter()
                .filter(|(_, st)| status.is_none_or(|s| s == *st))
                .map(|(i, _)| i.clone())
                .collect();
            page_of(&items)
        }
        ["users", name, "attributes"] => match child("user_attributes", name) {
            Some(items) => page_of(items),
            None => not_found(),
        },
        ["groups"] => {
            let list = |n: &str| data.lists.get(n).map(Vec::as_slice).unwrap_or(&[]);
            if q.get("include_deleted") == Some("true") {
                let mut all = [list("groups"), list("deleted_groups")].concat();
                all.sort_by(|a, b| a.id.cmp(&b.id));
                page_of(&all)
            } else {
                page_of(list("groups"))
            }
        }
        ["groups", name, "users"] => match child("group_members", name) {
            Some(items) => page_of(items),
            None => not_found(),
        },
        ["groups", name, "attributes"] => match child("group_attributes", name) {
            Some(items) => page_of(items),
            None => not_found(),
        },
        ["projects"] => page_of(data.lists.get("projects").map(Vec::as_slice).unwrap_or(&[])),
        ["projects", name, "servers"] => match child("project_servers", name) {
            Some(items) => page_of(items),
            None => not_found(),
        },
        ["projects", name, "servers", sid, "services"] => match child("project_servers", name) {
            Some(servers) if servers.iter().any(|i| i.id == *sid) => {
                page_of(child("server_services", sid).unwrap_or(&[]))
            }
            _ => not_found(),
        },
        ["projects", name, list @ ("groups" | "server_users" | "cloud_accounts" | "client_config_options")] => {
            match child(&format!("project_{list}"), name) {
                Some(items) => page_of(items),
                None => not_found(),
            }
        }
        // Expired preauthorizations are listed only with `include_expired=true`.
        ["projects", name, "preauthorizations"] => {
            let which = if q.get("include_expired") == Some("true") {
                "project_preauthorizations"
            } else {
                "project_current_preauthorizations"
            };
            match child(which, name) {
                Some(items) => page_of(items),
                None => not_found(),
            }
        }
        ["servers"] => page_of(data.lists.get("servers").map(Vec::as_slice).unwrap_or(&[])),
        ["services"] => page_of(data.lists.get("services").map(Vec::as_slice).unwrap_or(&[])),
        ["integrations", "ad_connections"] => page_of(
            data.lists
                .get("ad_connections")
                .map(Vec::as_slice)
                .unwrap_or(&[]),
        ),
        ["service_users", name, "keys"] => match child("service_user_keys", name) {
            Some(items) => page_of(items),
            None => not_found(),
        },
        // Without `all=true` ASA lists the caller's own clients: a service user has none.
        ["clients"] if q.get("all") == Some("true") => {
            page_of(data.lists.get("clients").map(Vec::as_slice).unwrap_or(&[]))
        }
        ["clients"] => page_of(&[]),
        ["service_users"] => page_of(
            data.lists
                .get("service_users")
                .map(Vec::as_slice)
                .unwrap_or(&[]),
        ),
        ["entitlements", "sudo"] => page_of(
            data.lists
                .get("entitlements")
                .map(Vec::as_slice)
                .unwrap_or(&[]),
        ),
        ["auditsV2"] => {
            let desc = q.get("descending").is_some_and(|d| d == "true" || d == "1");
            let items: Vec<Item> = if desc {
                data.audits.iter().rev().cloned().collect()
            } else {
                data.audits.clone()
            };
            let (range, headers) = match window(&items, &q, base, path, raw_query, &rl) {
                Ok(x) => x,
                Err(r) => return r,
            };
            let page = &items[range];
            let mut rel = Map::new();
            let list: Vec<Value> = page.iter().map(|i| parse(&i.json)).collect();
            // Every object the page's events refer to (actor, target server, ...), once.
            for e in &list {
                let refs = e["details"]
                    .as_object()
                    .into_iter()
                    .flat_map(|d| d.values());
                for k in refs.filter_map(Value::as_str) {
                    if let Some(o) = data.related.get(k) {
                        rel.insert(k.to_string(), o.clone());
                    }
                }
            }
            let body = json!({"list": list, "related_objects": rel});
            respond(200, Bytes::from(body.to_string()), &headers)
        }
        ["settings"] => respond(200, Bytes::from(data.settings.to_string()), &rl),
        ["team_stats"] => respond(200, Bytes::from(data.stats.to_string()), &rl),
        _ => not_found(),
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

/// The range of one page (`offset` is the id of the last item of the previous page) and the
/// response headers with its `next` link.
#[allow(clippy::type_complexity, clippy::result_large_err)]
fn window<'a>(
    items: &[Item],
    q: &Query,
    base: &str,
    path: &str,
    raw_query: &str,
    rl: &[(&'a str, String)],
) -> Result<(std::ops::Range<usize>, Vec<(&'a str, String)>), Resp> {
    let count = match q.get("count") {
        None => MAX_COUNT,
        Some(c) => match c.parse::<usize>() {
            Ok(n) if n > 0 => n.min(MAX_COUNT),
            _ => {
                return Err(error(
                    400,
                    "invalid_request",
                    "count must be a positive integer",
                    rl,
                ))
            }
        },
    };
    let start = match q.get("offset") {
        None | Some("") => 0,
        Some(o) => match items.iter().position(|i| i.id == o) {
            Some(p) => p + 1,
            None => return Err(error(400, "invalid_request", "Invalid offset", rl)),
        },
    };
    let end = (start + count).min(items.len());
    let mut headers: Vec<(&str, String)> = rl.to_vec();
    if end < items.len() && end > start {
        let last = &items[end - 1];
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in url::form_urlencoded::parse(raw_query.as_bytes()) {
            if k != "offset" && k != "count" {
                ser.append_pair(&k, &v);
            }
        }
        ser.append_pair("count", &count.to_string());
        ser.append_pair("offset", &last.id);
        headers.push((
            "link",
            format!("<{base}{path}?{}>; rel=\"next\"", ser.finish()),
        ));
    }
    Ok((start..end, headers))
}

/// One `{"list":[…]}` page.
fn list_page(
    items: &[Item],
    q: &Query,
    base: &str,
    path: &str,
    raw_query: &str,
    rl: &[(&str, String)],
) -> Resp {
    let (range, headers) = match window(items, q, base, path, raw_query, rl) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let page = &items[range];
    let size = page.iter().map(|i| i.json.len() + 1).sum::<usize>() + 16;
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(b"{\"list\":");
    body.extend_from_slice(&json_array(page.iter().map(|i| &i.json[..]), size));
    body.push(b'}');
    respond(200, Bytes::from(body), &headers)
}
