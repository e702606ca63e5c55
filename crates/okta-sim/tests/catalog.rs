//! The rest of the catalog over real HTTP: every stream of the connector's registry has schema-valid
//! ground truth, each paging style (link, `_links.next` body, wrapped, whole, ASA `offset`/`count`)
//! serves exactly that truth, policy type errors, deprecated risk providers, and ASA service tokens.

#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::collections::BTreeSet;

use okta_sim::{SimConfig, SimServer};
use serde_json::{json, Value};

mod support;
use support::{get, link_pages, send, url, Resp};

async fn asa_get(sim: &SimServer, path: &str, token: &str) -> Resp {
    send(
        reqwest::Client::new()
            .get(url(sim, path))
            .header("Authorization", format!("Bearer {token}")),
    )
    .await
}

async fn asa_token(sim: &SimServer, key_id: &str, secret: &str) -> Resp {
    send(
        reqwest::Client::new()
            .post(url(sim, "/v1/teams/sim-team/service_token"))
            .header("Content-Type", "application/json")
            .body(json!({"key_id": key_id, "key_secret": secret}).to_string()),
    )
    .await
}

/// Every item of a body-paged list (`{key: [...], _links: {next}}`), and the number of pages.
async fn body_pages(sim: &SimServer, path: &str, key: &str) -> (Vec<Value>, usize) {
    let mut next = Some(url(sim, path));
    let (mut items, mut pages) = (Vec::new(), 0);
    while let Some(u) = next {
        let r = get(sim, &u).await;
        assert_eq!(r.status, 200, "{u}: {}", r.text);
        let v = r.json();
        items.extend(v[key].as_array().cloned().unwrap_or_default());
        pages += 1;
        next = v["_links"]["next"]["href"].as_str().map(str::to_string);
        assert!(r.next().is_none(), "body paging has no link header");
        assert!(pages < 1000);
    }
    (items, pages)
}

fn key_set(items: &[Value], field: &str) -> BTreeSet<String> {
    items
        .iter()
        .map(|v| v[field].as_str().unwrap_or("").to_string())
        .collect()
}

fn keys_of(sim: &SimServer, stream: &str) -> BTreeSet<String> {
    sim.keys(stream)
        .into_iter()
        .map(|k| k.last().cloned().unwrap_or_default())
        .collect()
}

#[test]
fn every_registry_stream_has_unique_schema_valid_truth() {
    let sim = SimServer::start(SimConfig {
        users: 120,
        risk_providers: true,
        ..SimConfig::default()
    });
    for s in okta_records::streams() {
        let records = sim.collection(s.name);
        assert!(!records.is_empty(), "{}: no records", s.name);
        assert_eq!(
            sim.keys(s.name).len(),
            records.len(),
            "{}: primary keys are not unique",
            s.name
        );
        let schema = okta_records::stream_schema(s.name).expect("schema");
        let v = jsonschema::draft7::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("valid schema");
        for r in &records {
            let errors: Vec<String> = v
                .iter_errors(r)
                .take(3)
                .map(|e| format!("{e} at {}", e.instance_path))
                .collect();
            assert!(errors.is_empty(), "{}: {errors:?}\n{r}", s.name);
        }
    }
    // The ASA team is one record: settings and statistics.
    let team = &sim.collection("asa_teams")[0];
    assert_eq!(team["team_name"], "sim-team");
    assert!(team["num_human_users"].as_u64().unwrap_or(0) > 0);
    assert!(team["client_session_duration"].is_number());
    // Derived keys.
    assert!(sim
        .collection("device_users")
        .iter()
        .all(|r| r["user_id"] == r["user"]["id"]));
    assert!(sim
        .collection("role_subscriptions")
        .iter()
        .all(|r| r["notification_type"] == r["notificationType"]));
    assert_eq!(sim.collection("threat_insight")[0]["id"], "threat_insight");
}

#[test]
fn the_org_is_deterministic_and_scaled() {
    let a = SimServer::start(SimConfig::default());
    let b = SimServer::start(SimConfig::default());
    for s in [
        "user_factors",
        "devices",
        "policies",
        "asa_users",
        "asa_audits",
    ] {
        assert_eq!(a.keys(s), b.keys(s), "{s}");
    }
    let users = a.users().len();
    let devices = a.collection("devices").len();
    assert_eq!(devices, users / 4);
    let active = a.users().iter().filter(|u| u["status"] == "ACTIVE").count();
    let factors = a.collection("user_factors").len();
    assert!(factors >= active && factors <= 3 * active, "{factors}");
    let admins = a.collection("user_role_assignments");
    let admin_users: BTreeSet<&str> = admins
        .iter()
        .map(|r| r["user_id"].as_str().unwrap_or(""))
        .collect();
    assert!((1..=5).contains(&admin_users.len()));
}

#[tokio::test]
async fn link_paged_lists_serve_exactly_the_truth() {
    let sim = SimServer::start(SimConfig {
        users: 200,
        ..SimConfig::default()
    });
    // Devices: search + expand, small pages.
    let (devices, pages) = link_pages(
        &sim,
        "/api/v1/devices?search=lastUpdated%20gt%20%221970-01-01T00%3A00%3A00.000Z%22&expand=userSummary&limit=7",
    )
    .await;
    assert_eq!(key_set(&devices, "id"), keys_of(&sim, "devices"));
    assert_eq!(devices.len(), 50);
    assert_eq!(pages, 8);
    assert!(devices.iter().all(|d| d["_embedded"]["users"]
        .as_array()
        .is_some_and(|u| !u.is_empty())));
    // A later lower bound returns fewer; without expand there is no _embedded.
    let mid = {
        let mut t: Vec<String> = devices
            .iter()
            .map(|d| d["lastUpdated"].as_str().unwrap_or("").to_string())
            .collect();
        t.sort();
        t[t.len() / 2].clone()
    };
    let (later, _) = link_pages(
        &sim,
        &format!(
            "/api/v1/devices?search={}",
            url::form_urlencoded::byte_serialize(format!("lastUpdated gt \"{mid}\"").as_bytes())
                .collect::<String>()
        ),
    )
    .await;
    assert!(!later.is_empty() && later.len() < devices.len());
    assert!(later
        .iter()
        .all(|d| d["lastUpdated"].as_str().unwrap_or("") > mid.as_str()));
    assert!(later.iter().all(|d| d.get("_embedded").is_none()));
    let bad = get(&sim, "/api/v1/devices?search=profile.foo%20eq%20%22x%22").await;
    assert_eq!(bad.status, 400);
    // The devices list pages at 200 at most.
    let r = get(&sim, "/api/v1/devices?limit=1000").await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(50));

    // Device users.
    let d0 = devices[0]["id"].as_str().unwrap_or("");
    let r = get(&sim, &format!("/api/v1/devices/{d0}/users")).await;
    assert_eq!(r.status, 200);
    let du = r.json();
    assert!(du[0]["user"]["id"].is_string() && du[0]["managementStatus"].is_string());
    assert_eq!(get(&sim, "/api/v1/devices/guoNOPE/users").await.status, 404);

    for (path, stream, key) in [
        ("/api/v1/groups/rules?limit=2", "group_rules", "id"),
        ("/api/v1/idps?limit=1", "identity_providers", "id"),
        ("/oauth2/v1/clients?limit=2", "oauth_clients", "client_id"),
        ("/api/v1/mappings?limit=1", "profile_mappings", "id"),
        ("/api/v1/trustedOrigins?limit=2", "trusted_origins", "id"),
        ("/api/v1/realms?limit=1", "realms", "id"),
        (
            "/api/v1/authorizationServers?limit=1",
            "authorization_servers",
            "id",
        ),
    ] {
        let (items, pages) = link_pages(&sim, path).await;
        assert_eq!(key_set(&items, key), keys_of(&sim, stream), "{path}");
        assert!(pages > 1, "{path} pages");
    }
    // Email templates, keyed by name, for each brand.
    for b in sim.collection("brands") {
        let bid = b["id"].as_str().unwrap_or("");
        let (items, pages) = link_pages(
            &sim,
            &format!("/api/v1/brands/{bid}/templates/email?limit=3"),
        )
        .await;
        assert_eq!(items.len(), 10);
        assert!(pages >= 4);
        let truth: BTreeSet<String> = sim
            .keys("email_templates")
            .into_iter()
            .filter(|k| k[0] == bid)
            .map(|k| k[1].clone())
            .collect();
        assert_eq!(key_set(&items, "name"), truth);
    }
    // Mapping detail has properties, the list doesn't.
    let (maps, _) = link_pages(&sim, "/api/v1/mappings").await;
    assert!(maps.iter().all(|m| m.get("properties").is_none()));
    let mid = maps[0]["id"].as_str().unwrap_or("");
    let d = get(&sim, &format!("/api/v1/mappings/{mid}")).await.json();
    assert!(d["properties"].is_object());
}

#[tokio::test]
async fn body_wrapped_and_whole_lists_serve_exactly_the_truth() {
    let sim = SimServer::start(SimConfig::default());
    let (sets, pages) = body_pages(&sim, "/api/v1/iam/resource-sets", "resource-sets").await;
    assert_eq!(key_set(&sets, "id"), keys_of(&sim, "resource_sets"));
    assert_eq!(pages, 2, "3 per page by default");
    let (admins, pages) = body_pages(&sim, "/api/v1/iam/assignees/users?limit=2", "value").await;
    assert!(pages >= 2);
    let truth: BTreeSet<String> = sim
        .keys("user_role_assignments")
        .into_iter()
        .map(|k| k[0].clone())
        .collect();
    assert_eq!(key_set(&admins, "id"), truth);
    for s in &sets {
        let sid = s["id"].as_str().unwrap_or("");
        let (res, _) = body_pages(
            &sim,
            &format!("/api/v1/iam/resource-sets/{sid}/resources"),
            "resources",
        )
        .await;
        assert!(!res.is_empty());
        assert!(res
            .iter()
            .all(|r| r["orn"].as_str().unwrap_or("").starts_with("orn:okta:")));
    }
    let r = get(&sim, "/api/v1/domains").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        key_set(r.json()["domains"].as_array().unwrap_or(&Vec::new()), "id"),
        keys_of(&sim, "domains")
    );
    let linked = get(&sim, "/api/v1/meta/schemas/user/linkedObjects")
        .await
        .json();
    assert_eq!(linked[0]["primary"]["name"], "manager");
    // Factors: 1–3 for an ACTIVE or DEPROVISIONED user (deactivation keeps enrollments), none
    // for the others, 404 for an unknown user.
    for u in sim.users() {
        let uid = u["id"].as_str().unwrap_or("");
        let f = get(&sim, &format!("/api/v1/users/{uid}/factors"))
            .await
            .json();
        let n = f.as_array().map_or(0, Vec::len);
        if u["status"] == "ACTIVE" || u["status"] == "DEPROVISIONED" {
            assert!((1..=3).contains(&n), "{n}");
        } else {
            assert_eq!(n, 0);
        }
    }
    assert_eq!(get(&sim, "/api/v1/users/00uNOPE/factors").await.status, 404);
    // Group roles and owners: [] for most groups, 404 for an unknown group.
    let g = sim.groups();
    let gid = g[2]["id"].as_str().unwrap_or("");
    let r = get(&sim, &format!("/api/v1/groups/{gid}/roles")).await;
    assert_eq!((r.status, r.text.as_str()), (200, "[]"));
    assert_eq!(get(&sim, "/api/v1/groups/00gNOPE/owners").await.status, 404);
    // Singletons.
    let t = get(&sim, "/api/v1/threats/configuration").await.json();
    assert!(t["action"].is_string());
    let aid = sim.apps()[0]["id"].as_str().unwrap_or("").to_string();
    let s = get(&sim, &format!("/api/v1/meta/schemas/apps/{aid}/default"))
        .await
        .json();
    assert!(s["id"]
        .as_str()
        .unwrap_or("")
        .ends_with(&format!("/apps/{aid}/default")));
    // Role subscriptions: every admin role type, 404 for an unknown one.
    for rt in ["SUPER_ADMIN", "GROUP_MEMBERSHIP_ADMIN"] {
        let r = get(&sim, &format!("/api/v1/roles/{rt}/subscriptions")).await;
        assert_eq!(r.status, 200);
        assert!(r.json()[0]["notificationType"].is_string());
    }
    let r = get(&sim, "/api/v1/roles/NOT_A_ROLE/subscriptions").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["errorCode"], "E0000007");
}

#[tokio::test]
async fn policies_by_type_and_unsupported_types() {
    let sim = SimServer::start(SimConfig::default());
    let mut all = BTreeSet::new();
    for t in ["OKTA_SIGN_ON", "PASSWORD", "MFA_ENROLL", "ACCESS_POLICY"] {
        let r = get(&sim, &format!("/api/v1/policies?type={t}")).await;
        assert_eq!(r.status, 200, "{t}");
        let items = r.json().as_array().cloned().unwrap_or_default();
        assert!((1..=3).contains(&items.len()), "{t}");
        assert!(items.iter().all(|p| p["type"] == t));
        for p in &items {
            let pid = p["id"].as_str().unwrap_or("");
            all.insert(pid.to_string());
            let rules = get(&sim, &format!("/api/v1/policies/{pid}/rules")).await;
            assert_eq!(rules.status, 200);
            assert!(!rules.json().as_array().unwrap_or(&Vec::new()).is_empty());
        }
    }
    assert!(all.is_subset(&keys_of(&sim, "policies")));
    let r = get(&sim, "/api/v1/policies?type=CLIENT_UPDATE").await;
    assert_eq!((r.status, r.text.as_str()), (200, "[]"));
    for t in ["ENTITY_RISK", "IDENTITY_CLAIM_SOURCING", "NOPE"] {
        let r = get(&sim, &format!("/api/v1/policies?type={t}")).await;
        assert_eq!(r.status, 400, "{t}");
        assert_eq!(r.json()["errorCode"], "E0000001");
    }
    assert_eq!(get(&sim, "/api/v1/policies").await.status, 400);
}

#[tokio::test]
async fn risk_providers_are_deprecated_unless_configured() {
    let sim = SimServer::start(SimConfig::default());
    let r = get(&sim, "/api/v1/risk/providers").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["errorCode"], "E0000007");
    assert!(sim.collection("risk_providers").is_empty());
    let sim = SimServer::start(SimConfig {
        risk_providers: true,
        ..SimConfig::default()
    });
    let r = get(&sim, "/api/v1/risk/providers").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        key_set(&r.json().as_array().cloned().unwrap_or_default(), "id"),
        keys_of(&sim, "risk_providers")
    );
}

#[tokio::test]
async fn oauth_clients_have_their_own_bucket() {
    let sim = SimServer::start(SimConfig::default());
    let r = get(&sim, "/oauth2/v1/clients").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-rate-limit-limit").as_deref(), Some("100"));
    let r = get(&sim, "/api/v1/brands").await;
    assert_eq!(r.header("x-rate-limit-limit").as_deref(), Some("1200"));
    assert_eq!(sim.stats().by_bucket.get("oauth2_clients"), Some(&1));
}

#[tokio::test]
async fn asa_service_tokens_bearer_auth_and_expiry() {
    let sim = SimServer::start(SimConfig::default());
    let bad = asa_token(&sim, "sim-asa-key", "wrong").await;
    assert_eq!(bad.status, 401);
    assert_eq!(bad.json()["type"], "authentication_error");
    let r = asa_token(&sim, "sim-asa-key", "sim-asa-secret").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    assert_eq!(body["team_name"], "sim-team");
    assert!(body["expires_at"].as_str().unwrap_or("").ends_with('Z'));
    let token = body["bearer_token"].as_str().unwrap_or("").to_string();

    let none = asa_get(&sim, "/v1/teams/sim-team/users", "nope").await;
    assert_eq!(none.status, 401);
    assert_eq!(none.json()["type"], "authentication_error");
    let ok = asa_get(&sim, "/v1/teams/sim-team/users", &token).await;
    assert_eq!(ok.status, 200);
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(ok.header(h).is_some(), "{h}");
    }
    assert!(ok.header("x-rate-limit-limit").is_none());
    assert_eq!(
        asa_get(&sim, "/v1/teams/other-team/users", &token)
            .await
            .status,
        404
    );

    sim.expire_asa_tokens();
    assert_eq!(
        asa_get(&sim, "/v1/teams/sim-team/users", &token)
            .await
            .status,
        401
    );
    let fresh = asa_token(&sim, "sim-asa-key", "sim-asa-secret")
        .await
        .json();
    let token = fresh["bearer_token"].as_str().unwrap_or("").to_string();
    assert_eq!(
        asa_get(&sim, "/v1/teams/sim-team/users", &token)
            .await
            .status,
        200
    );
    assert_eq!(sim.asa_tokens_issued(), 2);
}

/// Every item of an ASA list, following `Link` headers, and the number of pages.
async fn asa_pages(sim: &SimServer, path: &str, token: &str) -> (Vec<Value>, usize, Value) {
    let mut next = Some(url(sim, path));
    let (mut items, mut pages, mut related) = (Vec::new(), 0, json!({}));
    while let Some(u) = next {
        let r = asa_get(sim, &u, token).await;
        assert_eq!(r.status, 200, "{u}: {}", r.text);
        let v = r.json();
        items.extend(v["list"].as_array().cloned().unwrap_or_default());
        if let (Some(m), Some(add)) = (related.as_object_mut(), v["related_objects"].as_object()) {
            m.extend(add.clone());
        }
        pages += 1;
        next = r.next();
        assert!(pages < 1000);
    }
    (items, pages, related)
}

#[tokio::test]
async fn asa_lists_page_with_offset_and_count() {
    let sim = SimServer::start(SimConfig {
        users: 300,
        ..SimConfig::default()
    });
    let r = asa_token(&sim, "sim-asa-key", "sim-asa-secret")
        .await
        .json();
    let token = r["bearer_token"].as_str().unwrap_or("").to_string();
    let mut by_status = BTreeSet::new();
    for status in ["ACTIVE", "DISABLED", "DELETED"] {
        let (users, pages, _) = asa_pages(
            &sim,
            &format!("/v1/teams/sim-team/users?count=7&status={status}"),
            &token,
        )
        .await;
        assert!(!users.is_empty(), "{status}");
        assert!(users.iter().all(|u| u["status"] == status));
        if users.len() > 7 {
            assert!(pages > 1);
        }
        by_status.extend(key_set(&users, "id"));
    }
    assert_eq!(by_status, keys_of(&sim, "asa_users"));
    let (users, _, _) = asa_pages(&sim, "/v1/teams/sim-team/users?count=100", &token).await;
    assert_eq!(users.len(), by_status.len());

    for (path, stream) in [
        (
            "/v1/teams/sim-team/groups?count=2&include_deleted=true",
            "asa_groups",
        ),
        ("/v1/teams/sim-team/projects?count=2", "asa_projects"),
        ("/v1/teams/sim-team/clients?count=5&all=true", "asa_clients"),
        (
            "/v1/teams/sim-team/service_users?count=1",
            "asa_service_users",
        ),
        (
            "/v1/teams/sim-team/entitlements/sudo?count=1",
            "asa_entitlements",
        ),
        ("/v1/teams/sim-team/servers?count=1", "asa_servers"),
        ("/v1/teams/sim-team/services?count=1", "asa_services"),
        (
            "/v1/teams/sim-team/integrations/ad_connections?count=1",
            "asa_ad_connections",
        ),
    ] {
        let (items, pages, _) = asa_pages(&sim, path, &token).await;
        assert_eq!(key_set(&items, "id"), keys_of(&sim, stream), "{path}");
        assert!(pages > 1, "{path}");
    }
    // Without `all=true` only the caller's clients: the service user has none.
    let (mine, _, _) = asa_pages(&sim, "/v1/teams/sim-team/clients", &token).await;
    assert!(mine.is_empty() && !keys_of(&sim, "asa_clients").is_empty());
    // Without `include_deleted=true` no deleted group.
    let (groups, _, _) = asa_pages(&sim, "/v1/teams/sim-team/groups", &token).await;
    assert!(groups.iter().all(|g| g["deleted_at"].is_null()));
    assert_eq!(groups.len() + 1, keys_of(&sim, "asa_groups").len());
    // Fan-outs by name.
    let mut members = BTreeSet::new();
    for g in &groups {
        let name = g["name"].as_str().unwrap_or("");
        let (m, _, _) = asa_pages(
            &sim,
            &format!("/v1/teams/sim-team/groups/{name}/users?count=10"),
            &token,
        )
        .await;
        members.extend(
            m.iter()
                .map(|u| vec![name.to_string(), u["id"].as_str().unwrap_or("").to_string()]),
        );
    }
    assert_eq!(members, sim.keys("asa_group_members"));
    let r = asa_get(&sim, "/v1/teams/sim-team/groups/nope/users", &token).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["type"], "resource_does_not_exist");
    // The team's servers are those of its projects; each service runs on one of them, for a
    // service user of the team; project groups are groups of the team.
    let servers = key_set(
        &asa_pages(&sim, "/v1/teams/sim-team/servers", &token)
            .await
            .0,
        "id",
    );
    let project_servers: BTreeSet<String> = sim
        .keys("asa_project_servers")
        .into_iter()
        .map(|k| k[1].clone())
        .collect();
    assert_eq!(servers, project_servers);
    let (services, _, _) = asa_pages(&sim, "/v1/teams/sim-team/services", &token).await;
    let service_users = key_set(
        &asa_pages(&sim, "/v1/teams/sim-team/service_users", &token)
            .await
            .0,
        "id",
    );
    assert!(services.iter().all(|s| {
        servers.contains(s["server_id"].as_str().unwrap_or(""))
            && service_users.contains(s["service_user_id"].as_str().unwrap_or(""))
    }));
    let group_ids = key_set(&groups, "id");
    let (projects, _, _) = asa_pages(&sim, "/v1/teams/sim-team/projects", &token).await;
    for project in key_set(&projects, "name") {
        let (g, _, _) = asa_pages(
            &sim,
            &format!("/v1/teams/sim-team/projects/{project}/groups?count=1"),
            &token,
        )
        .await;
        assert!(!g.is_empty());
        assert!(g
            .iter()
            .all(|g| group_ids.contains(g["group_id"].as_str().unwrap_or(""))));
    }
    // Preauthorizations: the expired ones only with `include_expired=true`, each for a user of
    // the team and its own project.
    let asa_users = key_set(&users, "name");
    let truth = sim.collection("asa_project_preauthorizations");
    let mut expired = 0;
    for project in key_set(&projects, "name") {
        let path = format!("/v1/teams/sim-team/projects/{project}/preauthorizations");
        let (all, pages, _) = asa_pages(
            &sim,
            &format!("{path}?count=1&include_expired=true"),
            &token,
        )
        .await;
        let want: BTreeSet<String> = truth
            .iter()
            .filter(|r| r["project_name"] == project.as_str())
            .map(|r| r["id"].as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(key_set(&all, "id"), want, "{project}");
        assert_eq!(pages, all.len().max(1), "{project}");
        assert!(all.iter().all(|p| {
            p["projects"] == json!([project])
                && asa_users.contains(p["user_name"].as_str().unwrap_or(""))
        }));
        // Without `include_expired`: the ones expiring after every one left out.
        let (current, _, _) = asa_pages(&sim, &path, &token).await;
        let gone: Vec<&Value> = all.iter().filter(|p| !current.contains(p)).collect();
        assert_eq!(gone.len() + current.len(), all.len(), "{project}");
        for (g, c) in gone
            .iter()
            .flat_map(|g| current.iter().map(move |c| (g, c)))
        {
            assert!(
                g["expires_at"].as_str() < c["expires_at"].as_str(),
                "{project}"
            );
        }
        expired += gone.len();
    }
    assert!(expired > 0, "no expired preauthorization");
    let mut per_server = BTreeSet::new();
    for k in sim.keys("asa_project_servers") {
        let (s, _, _) = asa_pages(
            &sim,
            &format!(
                "/v1/teams/sim-team/projects/{}/servers/{}/services",
                k[0], k[1]
            ),
            &token,
        )
        .await;
        per_server.extend(s.iter().map(|s| s["id"].as_str().unwrap_or("").to_string()));
    }
    assert_eq!(per_server, key_set(&services, "id"));
    for path in [
        "/v1/teams/sim-team/projects/nope/groups",
        "/v1/teams/sim-team/projects/nope/server_users",
        "/v1/teams/sim-team/projects/nope/cloud_accounts",
        "/v1/teams/sim-team/projects/nope/client_config_options",
        "/v1/teams/sim-team/projects/nope/preauthorizations",
        "/v1/teams/sim-team/projects/project-0/servers/nope/services",
        "/v1/teams/sim-team/service_users/nope/keys",
    ] {
        let r = asa_get(&sim, path, &token).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.json()["type"], "resource_does_not_exist", "{path}");
    }

    // Audits, newest first with related objects; count is capped at 100.
    let (audits, pages, related) = asa_pages(
        &sim,
        "/v1/teams/sim-team/auditsV2?count=1000&descending=true",
        &token,
    )
    .await;
    assert_eq!(key_set(&audits, "id"), keys_of(&sim, "asa_audits"));
    assert_eq!(pages, audits.len().div_ceil(100));
    let ts: Vec<&str> = audits
        .iter()
        .map(|a| a["timestamp"].as_str().unwrap_or(""))
        .collect();
    assert!(ts.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let actor = audits[0]["details"]["actor"].as_str().unwrap_or("");
    assert_eq!(related[actor]["type"], "user");
    let (asc, _, _) = asa_pages(&sim, "/v1/teams/sim-team/auditsV2", &token).await;
    assert!(asc[0]["timestamp"].as_str() <= asc[asc.len() - 1]["timestamp"].as_str());

    let s = asa_get(&sim, "/v1/teams/sim-team/settings", &token)
        .await
        .json();
    assert_eq!(s["team"], "sim-team");
    let st = asa_get(&sim, "/v1/teams/sim-team/team_stats", &token)
        .await
        .json();
    assert_eq!(st["num_groups"].as_u64(), Some(groups.len() as u64));
    let bad = asa_get(&sim, "/v1/teams/sim-team/users?offset=nope", &token).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["type"], "invalid_request");
}

#[tokio::test]
async fn asa_can_be_disabled() {
    let sim = SimServer::start(SimConfig {
        asa: None,
        ..SimConfig::default()
    });
    assert_eq!(
        asa_token(&sim, "sim-asa-key", "sim-asa-secret")
            .await
            .status,
        404
    );
    assert!(sim.collection("asa_users").is_empty());
}

/// `path` with its `{placeholders}` filled with `ids` in order.
fn fill(path: &str, ids: &[String]) -> String {
    let mut out = String::new();
    let mut ids = ids.iter();
    let mut rest = path;
    while let (Some(open), Some(close)) = (rest.find('{'), rest.find('}')) {
        out.push_str(&rest[..open]);
        out.push_str(ids.next().map_or("", String::as_str));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Every fan-out the simulator derives from the manifest serves, per parent, exactly its truth in
/// the stream's paging style (one item per page here, so every paged one takes several pages);
/// an unknown parent answers Okta's 404 `E0000007`; a parent without children an empty list. Under
/// a parent that is itself a fan-out (a grandparent fan-out), a parent is the chain of ids from the
/// top, one path parameter and one key column each.
#[tokio::test]
async fn derived_fan_outs_serve_exactly_the_truth_per_parent() {
    let sim = SimServer::start(SimConfig::default());
    let derived: Vec<_> = okta_sim::routes::derived_fan_outs().collect();
    for name in [
        "application_grants",
        "resource_set_bindings",
        "identity_provider_keys",
        "authorization_server_policy_rules",
        "email_template_customizations",
        "resource_set_binding_members",
        "user_client_grants",
        "user_role_governance_resources",
        "application_interclient_allowed_apps",
        "application_interclient_target_apps",
    ] {
        assert!(
            derived.iter().any(|s| s.name == name),
            "{name} is not derived"
        );
    }
    for s in derived {
        let parent = okta_manifest::stream(s.parent.unwrap_or("")).expect("parent");
        let parent_key = match parent.key_from {
            okta_manifest::IdFrom::Field(f) => f,
            okta_manifest::IdFrom::SchemaLink | okta_manifest::IdFrom::Nested(..) => "id",
        };
        // A parent's chain of ids: its own key columns (a nested parent's), then its key.
        let parent_cols: Vec<&str> = parent
            .key_columns()
            .into_iter()
            .map(|c| c.expect("a key column per level"))
            .collect();
        // The key after the parent columns: one field, or several (user blocks: type and appliesTo).
        let child_key = &s.primary_key[parent_cols.len() + 1..];
        let parents: Vec<Vec<String>> = sim
            .collection(parent.name)
            .iter()
            .map(|p| {
                parent_cols
                    .iter()
                    .chain([&parent_key])
                    .map(|c| p[*c].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .collect();
        // A grandparent fan-out may have a single parent (one client of one server).
        assert!(
            parents.len() > usize::from(parent_cols.is_empty()),
            "{}: parents",
            s.name
        );
        let base = s.endpoint.split('?').next().unwrap_or("");
        let mut served = BTreeSet::new();
        let mut empty = 0;
        for chain in &parents {
            let path = format!("{}?limit=1", fill(base, chain));
            let (items, pages) = match s.extract {
                okta_manifest::Extract::Field(key) => body_pages(&sim, &path, key).await,
                _ => link_pages(&sim, &path).await,
            };
            // Paged as Okta's spec says: one item a page under `limit=1`, or the whole list at once.
            if okta_sim::routes::spec_limit(s.endpoint).is_some() {
                assert!(pages >= items.len(), "{}: {pages} pages", s.name);
            } else {
                assert_eq!(pages, 1, "{}: an unpaged list", s.name);
            }
            empty += usize::from(items.is_empty());
            for it in items {
                let mut key = chain.clone();
                key.extend(child_key.iter().map(|f| {
                    // A column the connector derives is read from the field it comes from.
                    let field = match (s.derive, *f) {
                        (okta_manifest::Derive::NotificationType, "notification_type") => {
                            "notificationType"
                        }
                        _ => f,
                    };
                    // A bare string item (app ids) is the value of its one column.
                    match (s.derive, &it) {
                        (okta_manifest::Derive::StringAs(c), serde_json::Value::String(id))
                            if c == field =>
                        {
                            id.clone()
                        }
                        _ => it[field].as_str().unwrap_or("").to_string(),
                    }
                }));
                assert!(served.insert(key), "{}: twice", s.name);
            }
        }
        assert_eq!(served, sim.keys(s.name), "{}", s.name);
        // Every fourth parent has no children (under a nested parent: from the fourth on).
        assert!(empty > 0 || parents.len() < 4, "{}", s.name);
        assert!(!served.is_empty(), "{}", s.name);
        let mut unknown = parents[0].clone();
        if let Some(last) = unknown.last_mut() {
            *last = "0oaNOSUCHPARENT".into();
        }
        let r = get(&sim, &fill(base, &unknown)).await;
        assert_eq!(r.status, 404, "{}", s.name);
        assert_eq!(r.json()["errorCode"], "E0000007");
    }
}

/// `GET /api/v1/users/{id}/linkedObjects/{name}`: under a primary name, the user's one primary (its
/// manager's self link); under the associated name, every user whose primary it is (the manager's
/// subordinates), both agreeing with the truth. An unknown user or name is a 404, and deleting a
/// manager removes its links from both sides.
#[tokio::test]
async fn linked_objects_answer_both_sides_and_follow_deletions() {
    let sim = SimServer::start(SimConfig::default());
    let truth = sim.collection("user_linked_objects");
    let pairs = |truth: &[Value], name: &str| -> BTreeSet<(String, String)> {
        truth
            .iter()
            .filter(|r| r["relationship_name"] == name)
            .map(|r| {
                let col = |c: &str| r[c].as_str().unwrap_or("").to_string();
                (col("user_id"), col("linked_user_id"))
            })
            .collect()
    };
    let linked = |v: &Value| -> String {
        let href = v["_links"]["self"]["href"].as_str().unwrap_or("");
        href.rsplit('/').next().unwrap_or("").to_string()
    };
    let path = |user: &str, name: &str| format!("/api/v1/users/{user}/linkedObjects/{name}");
    for (primary, associated) in [("manager", "subordinate"), ("mentor", "mentee")] {
        let want = pairs(&truth, primary);
        assert!(want.len() > 1, "{primary}: {}", want.len());
        let mut seen = BTreeSet::new();
        for user in keys_of(&sim, "users") {
            let r = get(&sim, &path(&user, primary)).await;
            assert_eq!(r.status, 200, "{}", r.text);
            let items = r.json().as_array().cloned().unwrap_or_default();
            assert!(items.len() <= 1, "one {primary} at most");
            seen.extend(items.iter().map(|v| (user.clone(), linked(v))));
        }
        assert_eq!(seen, want, "{primary}");
        // The other side: a primary user's associated users are those naming it.
        let (_, boss) = want.iter().next().cloned().unwrap_or_default();
        let r = get(&sim, &path(&boss, associated)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let got: BTreeSet<String> = r.json().as_array().unwrap().iter().map(linked).collect();
        let expect: BTreeSet<String> = want
            .iter()
            .filter(|(_, b)| *b == boss)
            .map(|(u, _)| u.clone())
            .collect();
        assert_eq!(got, expect, "{associated}");
    }
    let user = keys_of(&sim, "users").into_iter().next().unwrap();
    for p in [
        path(&user, "nosuchrelation"),
        path("00uNOSUCHUSER", "manager"),
    ] {
        let r = get(&sim, &p).await;
        assert_eq!(r.status, 404, "{p}");
        assert_eq!(r.json()["errorCode"], "E0000007");
    }
    // A manager deleted: none of its subordinates names it, from either side.
    let (sub, boss) = pairs(&truth, "manager").into_iter().next().unwrap();
    assert!(sim.delete_user(&boss));
    let after = sim.collection("user_linked_objects");
    assert!(after
        .iter()
        .all(|r| r["linked_user_id"] != boss.as_str() && r["user_id"] != boss.as_str()));
    assert!(after.len() < truth.len());
    let r = get(&sim, &path(&sub, "manager")).await;
    assert_eq!(r.json(), json!([]));
}

/// Derived routes page as the spec's `limit` says: its default and maximum, `-1` for everything, and
/// no paging at all for an operation without a `limit`.
#[test]
fn derived_paging_follows_the_spec_limits() {
    use okta_sim::routes::spec_limit;
    assert_eq!(
        spec_limit("/api/v1/iam/governance/bundles/{b}/entitlements/{e}/values?limit=200"),
        Some((20, 200))
    );
    assert_eq!(spec_limit("/api/v1/apps/{id}/grants"), None);
    assert_eq!(spec_limit("/api/v1/zones"), Some((10_000, 10_000)));
    assert_eq!(spec_limit("/api/v1/apps"), Some((200, 200)));
}
