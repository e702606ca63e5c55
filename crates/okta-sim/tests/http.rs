//! Integration tests of the simulator over real HTTP: paging, filters, System Log polling, link
//! styles, faults, rate limits, OAuth with DPoP, the request log and the binary.

#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use connector_kit::jwt::{JwtHeader, SigningKey};
use okta_sim::{
    BucketLimits, Fault, FaultKind, LinkStyle, OAuthConfig, RateLimitMode, SimConfig, SimServer,
};
use serde_json::{json, Value};

mod support;
use support::{get, get_with, link_pages, runtime, sim, spawn_binary};

const KEY_PEM: &str = include_str!("fixtures/oauth_client_key.pem");
const PUB_PEM: &str = include_str!("fixtures/oauth_client_key.pub.pem");
const PUB_PKCS1_PEM: &str = include_str!("fixtures/oauth_client_key.pub.pkcs1.pem");

fn ids(v: &[Value]) -> Vec<String> {
    v.iter()
        .map(|x| x["id"].as_str().unwrap_or("").to_string())
        .collect()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn users_page_exactly_once_under_each_sort() {
    let sim = sim(300);
    let truth = sim.users();
    assert_eq!(truth.len(), 300);
    let all: BTreeSet<String> = ids(&truth).into_iter().collect();
    let active: BTreeSet<String> = truth
        .iter()
        .filter(|u| u["status"] != "DEPROVISIONED")
        .map(|u| u["id"].as_str().unwrap_or("").to_string())
        .collect();

    // Default listing: id order, DEPROVISIONED omitted.
    let (items, pages) = link_pages(&sim, "/api/v1/users?limit=37").await;
    let got = ids(&items);
    assert!(pages > 1);
    assert_eq!(got.len(), active.len());
    assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), active);
    assert!(got.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        items,
        truth
            .iter()
            .filter(|u| u["status"] != "DEPROVISIONED")
            .cloned()
            .collect::<Vec<_>>()
    );

    let search = enc(r#"lastUpdated gt "2000-01-01T00:00:00.000Z""#);
    for (sort, order) in [
        ("lastUpdated", "asc"),
        ("lastUpdated", "desc"),
        ("created", "asc"),
        ("created", "desc"),
        ("id", "asc"),
        ("id", "desc"),
    ] {
        let path =
            format!("/api/v1/users?search={search}&sortBy={sort}&sortOrder={order}&limit=23");
        let (items, _) = link_pages(&sim, &path).await;
        let got = ids(&items);
        let set: BTreeSet<String> = got.iter().cloned().collect();
        assert_eq!(got.len(), 300, "{sort} {order}: duplicates or missing");
        assert_eq!(set, all, "{sort} {order}");
        let keys: Vec<(String, String)> = items
            .iter()
            .map(|u| {
                let k = if sort == "id" {
                    String::new()
                } else {
                    u[sort].as_str().unwrap_or("").to_string()
                };
                (k, u["id"].as_str().unwrap_or("").to_string())
            })
            .collect();
        let sorted = keys.windows(2).all(|w| {
            if order == "asc" {
                w[0] < w[1]
            } else {
                w[0] > w[1]
            }
        });
        assert!(sorted, "{sort} {order} not sorted");
    }

    // filter includes DEPROVISIONED too.
    let filter = enc(r#"lastUpdated ge "2000-01-01T00:00:00.000Z""#);
    let (items, _) = link_pages(&sim, &format!("/api/v1/users?filter={filter}&limit=50")).await;
    assert_eq!(ids(&items).into_iter().collect::<BTreeSet<_>>(), all);
}

#[tokio::test]
async fn paging_is_stable_while_records_change() {
    let sim = sim(120);
    let search = enc(r#"lastUpdated gt "2000-01-01T00:00:00.000Z""#);
    let first = get(
        &sim,
        &format!("/api/v1/users?search={search}&sortBy=lastUpdated&sortOrder=asc&limit=40"),
    )
    .await;
    let page1 = ids(first.json().as_array().map(Vec::as_slice).unwrap_or(&[]));
    // Update a user not yet seen: it moves to the end and is still seen exactly once.
    let truth = sim.users();
    let unseen = truth
        .iter()
        .map(|u| u["id"].as_str().unwrap_or("").to_string())
        .find(|id| !page1.contains(id))
        .unwrap_or_default();
    let updated = sim.update_user(&unseen);
    assert_ne!(updated, Value::Null);
    let mut got = page1.clone();
    let mut next = first.next();
    while let Some(u) = next {
        let r = get(&sim, &u).await;
        got.extend(ids(r.json().as_array().map(Vec::as_slice).unwrap_or(&[])));
        next = r.next();
    }
    assert_eq!(got.len(), 120);
    assert_eq!(got.last().cloned(), Some(unseen));
}

#[tokio::test]
async fn deprovisioned_visibility_and_mutations() {
    let sim = sim(100);
    let truth = sim.users();
    let deprov: BTreeSet<String> = truth
        .iter()
        .filter(|u| u["status"] == "DEPROVISIONED")
        .map(|u| u["id"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(deprov.len(), 3);
    let f = enc(r#"status eq "DEPROVISIONED""#);
    let r = get(&sim, &format!("/api/v1/users?filter={f}")).await;
    assert_eq!(
        ids(r.json().as_array().map(Vec::as_slice).unwrap_or(&[]))
            .into_iter()
            .collect::<BTreeSet<_>>(),
        deprov
    );
    let r = get(&sim, &format!("/api/v1/users?search={f}")).await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(3));

    // Deactivate one more: gone from the plain list, visible through search with a cursor.
    let before = get(&sim, "/api/v1/users?limit=200").await.json();
    let victim = before[0]["id"].as_str().unwrap_or("").to_string();
    let stamp = before[0]["lastUpdated"].as_str().unwrap_or("").to_string();
    let t0 = okta_sim::clock::iso(okta_sim::clock::wall_ms() - 1);
    sim.deactivate_user(&victim);
    let after = get(&sim, "/api/v1/users?limit=200").await.json();
    assert!(!ids(after.as_array().map(Vec::as_slice).unwrap_or(&[])).contains(&victim));
    let s = enc(&format!(r#"lastUpdated gt "{t0}""#));
    let changed = get(
        &sim,
        &format!("/api/v1/users?search={s}&sortBy=lastUpdated"),
    )
    .await
    .json();
    assert_eq!(changed.as_array().map(Vec::len), Some(1));
    assert_eq!(changed[0]["status"], "DEPROVISIONED");
    assert!(changed[0]["lastUpdated"].as_str().unwrap_or("") > stamp.as_str());

    // Timestamps of successive mutations strictly increase, with milliseconds.
    let a = sim.update_user(&victim);
    let b = sim.update_user(&victim);
    let (ta, tb) = (
        a["lastUpdated"].as_str().unwrap_or(""),
        b["lastUpdated"].as_str().unwrap_or(""),
    );
    assert!(ta < tb, "{ta} {tb}");
    assert_eq!(tb.len(), 24);
    assert_ne!(a["profile"]["title"], before[0]["profile"]["title"]);

    // create + delete
    let new = sim.create_user();
    let nid = new["id"].as_str().unwrap_or("").to_string();
    assert_eq!(nid.len(), 20);
    assert_eq!(get(&sim, &format!("/api/v1/users/{nid}")).await.json(), new);
    sim.delete_user(&nid);
    let r = get(&sim, &format!("/api/v1/users/{nid}")).await;
    assert_eq!((r.status, r.error_code()), (404, "E0000007".into()));

    // q: prefix search, no DEPROVISIONED, not paged
    let now_users = sim.users();
    let active = now_users
        .iter()
        .find(|u| u["status"] == "ACTIVE")
        .cloned()
        .unwrap_or_default();
    let first = active["profile"]["firstName"].as_str().unwrap_or("");
    let r = get(&sim, &format!("/api/v1/users?q={first}")).await;
    assert!(r.next().is_none());
    let hits = r.json();
    assert!(hits
        .as_array()
        .is_some_and(|h| !h.is_empty() && h.len() <= 10));
    assert!(hits
        .as_array()
        .is_some_and(|h| h.iter().all(|u| u["status"] != "DEPROVISIONED")));
}

#[tokio::test]
async fn filter_and_paging_errors_are_okta_errors() {
    let sim = sim(30);
    let cases = [
        (
            format!(
                "/api/v1/users?search={}",
                enc(r#"lastUpdated gt 2024-01-01T00:00:00.000Z"#)
            ),
            400,
            "E0000031",
        ),
        (
            format!(
                "/api/v1/users?filter={}",
                enc(r#"lastUpdated gt 2024-01-01T00:00:00.000Z"#)
            ),
            400,
            "E0000031",
        ),
        (
            format!("/api/v1/users?search={}", enc(r#"status eq "ACTIVE" and"#)),
            400,
            "E0000031",
        ),
        (
            format!("/api/v1/users?search={}", enc(r#"status ne "ACTIVE""#)),
            400,
            "E0000031",
        ),
        (
            format!("/api/v1/users?filter={}", enc(r#"profile.title eq "x""#)),
            400,
            "E0000031",
        ),
        (
            format!(
                "/api/v1/users?search={}",
                enc(r#"lastUpdated gt "yesterday""#)
            ),
            400,
            "E0000030",
        ),
        (
            format!(
                "/api/v1/users?search={}&filter={}",
                enc(r#"status eq "ACTIVE""#),
                enc(r#"status eq "ACTIVE""#)
            ),
            400,
            "E0000033",
        ),
        ("/api/v1/users?after=12345".to_string(), 400, "E0000029"),
        ("/api/v1/users?limit=ten".to_string(), 400, "E0000001"),
        (
            format!("/api/v1/groups?filter={}", enc(r#"lastUpdated gt 2024"#)),
            400,
            "E0000031",
        ),
        (
            format!(
                "/api/v1/logs?filter={}",
                enc(r#"published gt "2024-01-01T00:00:00Z""#)
            ),
            400,
            "E0000031",
        ),
        ("/api/v1/nothing/here".to_string(), 404, "E0000007"),
        (
            "/api/v1/groups/00gdoesnotexist0000/users".to_string(),
            404,
            "E0000007",
        ),
    ];
    for (path, status, code) in cases {
        let r = get(&sim, &path).await;
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (status, code),
            "{path}: {}",
            r.text
        );
        let body = r.json();
        for k in [
            "errorCode",
            "errorSummary",
            "errorLink",
            "errorId",
            "errorCauses",
        ] {
            assert!(body.get(k).is_some(), "{path}: no {k}");
        }
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/json")
        );
        assert!(r.header("x-okta-request-id").is_some());
    }
    // Search on a custom attribute, and `or`.
    let s = enc(r#"profile.employeeLevel ge 5 or profile.isContractor eq true"#);
    let r = get(&sim, &format!("/api/v1/users?search={s}")).await;
    assert_eq!(r.status, 200);
    let want = sim
        .users()
        .iter()
        .filter(|u| {
            u["profile"]["employeeLevel"].as_i64().unwrap_or(0) >= 5
                || u["profile"]["isContractor"] == true
        })
        .count();
    assert_eq!(r.json().as_array().map(Vec::len), Some(want));
}

#[tokio::test]
async fn headers_and_auth() {
    let sim = sim(20);
    let r = get(&sim, "/api/v1/users").await;
    assert_eq!(r.status, 200);
    for h in [
        "date",
        "x-okta-request-id",
        "x-rate-limit-limit",
        "x-rate-limit-remaining",
        "x-rate-limit-reset",
    ] {
        assert!(r.header(h).is_some(), "missing {h}");
    }
    assert_eq!(r.header("x-rate-limit-limit").as_deref(), Some("600"));
    let reset: u64 = r
        .header("x-rate-limit-reset")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let now = okta_sim::clock::wall_ms() as u64 / 1000;
    assert!(reset >= now && reset <= now + 61);
    let self_link = r
        .links()
        .into_iter()
        .find(|(rel, _)| rel == "self")
        .map(|(_, u)| u);
    assert_eq!(self_link, Some(format!("{}/api/v1/users", sim.base_url())));

    for auth in ["SSWS wrong", "Bearer nope", "Basic abc", ""] {
        let r = get_with(&format!("{}/api/v1/users", sim.base_url()), auth, &[]).await;
        assert_eq!(
            (r.status, r.error_code()),
            (401, "E0000011".into()),
            "{auth}"
        );
    }
    let lg = get(&sim, "/api/v1/logs").await;
    assert_eq!(lg.header("x-rate-limit-limit").as_deref(), Some("120"));
    let ap = get(&sim, "/api/v1/apps").await;
    assert_eq!(ap.header("x-rate-limit-limit").as_deref(), Some("100"));
    let gr = get(&sim, "/api/v1/groups").await;
    assert_eq!(gr.header("x-rate-limit-limit").as_deref(), Some("500"));
    let org = get(&sim, "/api/v1/org").await;
    assert_eq!(org.header("x-rate-limit-limit").as_deref(), Some("1200"));
    assert!(org.json()["id"]
        .as_str()
        .is_some_and(|i| i.starts_with("00o")));

    sim.revoke_token();
    let r = get(&sim, "/api/v1/users").await;
    assert_eq!((r.status, r.error_code()), (401, "E0000011".into()));
    let stats = sim.stats();
    assert!(stats.by_bucket.get("users").copied().unwrap_or(0) >= 6);
    assert_eq!(stats.by_bucket.get("logs").copied(), Some(1));
}

#[tokio::test]
async fn groups_members_apps_roles_and_schemas_match_ground_truth() {
    let sim = sim(400);
    let (groups, pages) = link_pages(&sim, "/api/v1/groups?limit=7").await;
    assert!(pages > 1);
    assert_eq!(groups, sim.groups());
    assert_eq!(groups.len(), 20);
    assert!(groups
        .iter()
        .all(|g| g["lastMembershipUpdated"].is_string()));

    let r = get(&sim, "/api/v1/groups?expand=stats&limit=200")
        .await
        .json();
    let truth_members = sim.group_members();
    for g in r.as_array().cloned().unwrap_or_default() {
        let gid = g["id"].as_str().unwrap_or("");
        let n = truth_members.iter().filter(|(x, _)| x == gid).count();
        assert_eq!(
            g["_embedded"]["stats"]["usersCount"].as_u64(),
            Some(n as u64)
        );
    }

    let mut members = Vec::new();
    for g in &groups {
        let gid = g["id"].as_str().unwrap_or("");
        let (users, _) = link_pages(&sim, &format!("/api/v1/groups/{gid}/users?limit=50")).await;
        members.extend(
            users
                .iter()
                .map(|u| (gid.to_string(), u["id"].as_str().unwrap_or("").to_string())),
        );
    }
    assert_eq!(members, truth_members);
    let per_user = members.len() as f64 / 400.0;
    assert!((3.5..=6.5).contains(&per_user), "{per_user}");

    // Membership changes bump lastMembershipUpdated, findable with a filter.
    let gid = groups[0]["id"].as_str().unwrap_or("").to_string();
    let uid = sim.users()[0]["id"].as_str().unwrap_or("").to_string();
    let t0 = okta_sim::clock::iso(okta_sim::clock::wall_ms() - 1);
    sim.remove_group_member(&gid, &uid);
    sim.add_group_member(&gid, &uid);
    let f = enc(&format!(r#"lastMembershipUpdated gt "{t0}""#));
    let r = get(&sim, &format!("/api/v1/groups?filter={f}"))
        .await
        .json();
    assert_eq!(
        ids(r.as_array().map(Vec::as_slice).unwrap_or(&[])),
        vec![gid.clone()]
    );
    sim.update_group(&gid);
    let f = enc(&format!(r#"lastUpdated gt "{t0}""#));
    let r = get(&sim, &format!("/api/v1/groups?search={f}"))
        .await
        .json();
    assert_eq!(
        ids(r.as_array().map(Vec::as_slice).unwrap_or(&[])),
        vec![gid]
    );

    // Apps and assignments.
    let (apps, _) = link_pages(&sim, "/api/v1/apps?limit=2").await;
    assert_eq!(apps, sim.apps());
    assert_eq!(apps.len(), 5);
    let mut app_users = Vec::new();
    let mut app_groups = Vec::new();
    for a in &apps {
        let aid = a["id"].as_str().unwrap_or("");
        let (u, _) = link_pages(&sim, &format!("/api/v1/apps/{aid}/users?limit=500")).await;
        app_users.extend(u.into_iter().map(|x| (aid.to_string(), x)));
        let (g, _) = link_pages(&sim, &format!("/api/v1/apps/{aid}/groups")).await;
        app_groups.extend(g.into_iter().map(|x| (aid.to_string(), x)));
    }
    let mut truth_au = sim.app_users();
    truth_au.sort_by(|a, b| a.0.cmp(&b.0));
    let mut got_au = app_users.clone();
    got_au.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got_au, truth_au);
    assert!(app_users.iter().any(|(_, u)| u["scope"] == "GROUP"));
    assert!(app_users
        .iter()
        .all(|(_, u)| u["id"].as_str().is_some_and(|i| i.starts_with("00u"))));
    let mut truth_ag = sim.app_groups();
    truth_ag.sort_by(|a, b| a.0.cmp(&b.0));
    app_groups.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(app_groups, truth_ag);
    // Default page size of app users is 50.
    let big = apps
        .iter()
        .map(|a| a["id"].as_str().unwrap_or(""))
        .find(|aid| truth_au.iter().filter(|(x, _)| x == aid).count() > 50);
    if let Some(aid) = big {
        let r = get(&sim, &format!("/api/v1/apps/{aid}/users")).await;
        assert_eq!(r.json().as_array().map(Vec::len), Some(50));
        assert!(r.next().is_some());
    }

    // Custom roles: body paging over several pages.
    let mut url = format!("{}/api/v1/iam/roles", sim.base_url());
    let mut roles = Vec::new();
    let mut pages = 0;
    loop {
        let r = get(&sim, &url).await;
        assert!(r.next().is_none());
        let body = r.json();
        roles.extend(body["roles"].as_array().cloned().unwrap_or_default());
        pages += 1;
        match body["_links"]["next"]["href"].as_str() {
            Some(n) => url = n.to_string(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(roles, sim.custom_roles());
    let mut perms = Vec::new();
    for r in &roles {
        let rid = r["id"].as_str().unwrap_or("");
        let body = get(&sim, &format!("/api/v1/iam/roles/{rid}/permissions"))
            .await
            .json();
        let p = body["permissions"].as_array().cloned().unwrap_or_default();
        assert!((3..=6).contains(&p.len()));
        perms.extend(p.into_iter().map(|x| (rid.to_string(), x)));
    }
    let mut truth_p = sim.custom_role_permissions();
    truth_p.sort_by(|a, b| a.0.cmp(&b.0));
    perms.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(perms, truth_p);

    // User types → schemas, whose custom attributes the users carry.
    let types = get(&sim, "/api/v1/meta/types/user").await.json();
    assert_eq!(types, json!(sim.user_types()));
    let types = types.as_array().cloned().unwrap_or_default();
    assert!((2..=3).contains(&types.len()));
    for t in &types {
        let href = t["_links"]["schema"]["href"].as_str().unwrap_or("");
        let schema = get(&sim, href).await.json();
        let custom = &schema["definitions"]["custom"]["properties"];
        for (attr, kind) in [
            ("employeeLevel", "integer"),
            ("isContractor", "boolean"),
            ("fte", "number"),
            ("skills", "array"),
            ("badgeId", "string"),
        ] {
            assert_eq!(custom[attr]["type"], kind, "{attr}");
        }
    }
    let default = get(&sim, "/api/v1/meta/schemas/user/default").await;
    assert_eq!(default.status, 200);
    let u = &sim.users()[0];
    assert!(u["profile"]["employeeLevel"].is_i64() && u["profile"]["skills"].is_array());
    let gs = get(&sim, "/api/v1/meta/schemas/group/default").await.json();
    assert_eq!(
        gs["definitions"]["custom"]["properties"]["tier"]["type"],
        "integer"
    );
}

#[tokio::test]
async fn system_log_polling_retention_and_bounds() {
    let sim = SimServer::start(SimConfig {
        users: 40,
        log_days: 100,
        ..SimConfig::default()
    });
    let truth = sim.log_events();
    assert!(truth.len() >= 300 && truth.len() < 400, "{}", truth.len());
    let now = okta_sim::clock::wall_ms();
    let since = okta_sim::clock::iso(now - 100 * 86_400_000);
    let mut url = format!(
        "{}/api/v1/logs?since={}&limit=75",
        sim.base_url(),
        enc(&since)
    );
    let mut got = Vec::new();
    let mut empty_next = None;
    for _ in 0..100 {
        let r = get(&sim, &url).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let page = r.json().as_array().cloned().unwrap_or_default();
        let next = r.next().expect("polling always has a next link");
        assert!(!next.contains("since="));
        if page.is_empty() {
            empty_next = Some(next);
            break;
        }
        got.extend(page);
        url = next;
    }
    assert_eq!(
        got, truth,
        "polling returns exactly the retained events in persistence order"
    );
    let cutoff = okta_sim::clock::iso(now - 90 * 86_400_000);
    assert!(got
        .iter()
        .all(|e| e["published"].as_str().unwrap_or("") >= cutoff.as_str()));
    let uuids: HashSet<&str> = got.iter().filter_map(|e| e["uuid"].as_str()).collect();
    assert_eq!(uuids.len(), got.len());
    assert!(
        got.windows(2)
            .any(|w| w[1]["published"].as_str() < w[0]["published"].as_str()),
        "some events commit out of order"
    );

    // The empty page's next link picks up events published later, and still has a next.
    let saved = empty_next.unwrap_or_default();
    let again = get(&sim, &saved).await;
    assert_eq!(again.json(), json!([]));
    assert!(again.next().is_some());
    let new = sim.append_log_events(7);
    let r = get(&sim, &saved).await;
    assert_eq!(r.json(), json!(new));
    assert!(r.next().is_some());

    // Bounded queries: finite, ordered by published, both directions.
    let until = okta_sim::clock::iso(now - 86_400_000);
    let (asc, pages) = link_pages(
        &sim,
        &format!(
            "/api/v1/logs?since={}&until={}&limit=50",
            enc(&since),
            enc(&until)
        ),
    )
    .await;
    assert!(pages > 1);
    assert!(asc
        .windows(2)
        .all(|w| w[0]["published"].as_str() <= w[1]["published"].as_str()));
    let want = truth
        .iter()
        .filter(|e| e["published"].as_str().unwrap_or("") < until.as_str())
        .count();
    assert_eq!(asc.len(), want);
    let (desc, _) = link_pages(
        &sim,
        &format!(
            "/api/v1/logs?since={}&until={}&limit=50&sortOrder=DESCENDING",
            enc(&since),
            enc(&until)
        ),
    )
    .await;
    let mut rev = desc.clone();
    rev.reverse();
    assert_eq!(ids_of(&rev, "uuid").len(), asc.len());
    assert!(desc
        .windows(2)
        .all(|w| w[0]["published"].as_str() >= w[1]["published"].as_str()));

    // Filter on actor and target ids.
    let actor = truth[0]["actor"]["id"].as_str().unwrap_or("").to_string();
    let f = enc(&format!(r#"actor.id eq "{actor}""#));
    let (by_actor, _) = collect_polling(
        &sim,
        &format!("/api/v1/logs?since={}&filter={f}&limit=1000", enc(&since)),
    )
    .await;
    assert!(!by_actor.is_empty() && by_actor.iter().all(|e| e["actor"]["id"] == actor.as_str()));
    let with_target = truth
        .iter()
        .find(|e| e["target"].as_array().is_some_and(|t| !t.is_empty()))
        .cloned()
        .unwrap_or_default();
    let target = with_target["target"][0]["id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let f = enc(&format!(
        r#"target.id eq "{target}" and eventType sw "user.""#
    ));
    let (by_target, _) = collect_polling(
        &sim,
        &format!("/api/v1/logs?since={}&filter={f}&limit=1000", enc(&since)),
    )
    .await;
    assert!(by_target.iter().all(|e| e["eventType"]
        .as_str()
        .is_some_and(|t| t.starts_with("user."))
        && e["target"]
            .as_array()
            .is_some_and(|ts| ts.iter().any(|t| t["id"] == target.as_str()))));

    // Filter, default since (7 days), errors.
    let f = enc(r#"eventType eq "user.session.start""#);
    let (ss, _) = collect_polling(
        &sim,
        &format!("/api/v1/logs?since={}&filter={f}&limit=1000", enc(&since)),
    )
    .await;
    assert_eq!(
        ss.len(),
        truth
            .iter()
            .filter(|e| e["eventType"] == "user.session.start")
            .count()
            + new
                .iter()
                .filter(|e| e["eventType"] == "user.session.start")
                .count()
    );
    let r = get(&sim, "/api/v1/logs?limit=1000").await;
    let week = okta_sim::clock::iso(now - 7 * 86_400_000);
    assert!(r.json().as_array().is_some_and(|a| a
        .iter()
        .all(|e| e["published"].as_str().unwrap_or("") >= week.as_str())));
    let old = okta_sim::clock::iso(now - 181 * 86_400_000);
    let r = get(&sim, &format!("/api/v1/logs?since={}", enc(&old))).await;
    assert_eq!((r.status, r.error_code()), (400, "E0000053".into()));
    let r = get(&sim, "/api/v1/logs?since=last-tuesday").await;
    assert_eq!((r.status, r.error_code()), (400, "E0000030".into()));
    let r = get(&sim, "/api/v1/logs?limit=5000&since=2100-01-01T00:00:00Z").await;
    assert_eq!(r.status, 200);
}

fn ids_of(v: &[Value], key: &str) -> HashSet<String> {
    v.iter()
        .filter_map(|e| e[key].as_str().map(str::to_string))
        .collect()
}

async fn collect_polling(sim: &SimServer, path: &str) -> (Vec<Value>, usize) {
    let mut url = format!("{}{}", sim.base_url(), path);
    let mut out = Vec::new();
    for pages in 1..1000 {
        let r = get(sim, &url).await;
        let page = r.json().as_array().cloned().unwrap_or_default();
        if page.is_empty() {
            return (out, pages);
        }
        out.extend(page);
        url = r.next().unwrap_or_default();
    }
    (out, 1000)
}

#[tokio::test]
async fn link_styles() {
    let sep = sim(30);
    let r = get(&sep, "/api/v1/users?limit=5").await;
    assert_eq!(r.headers.get_all("link").iter().count(), 2);
    let joined = SimServer::start(SimConfig {
        users: 30,
        link_style: LinkStyle::Joined,
        ..SimConfig::default()
    });
    let r = get(&joined, "/api/v1/users?limit=5").await;
    assert_eq!(r.headers.get_all("link").iter().count(), 1);
    let rels: Vec<String> = r.links().into_iter().map(|(rel, _)| rel).collect();
    assert_eq!(rels, vec!["self".to_string(), "next".to_string()]);
    let next = r.next().unwrap_or_default();
    assert!(next.starts_with(&joined.base_url()) && next.contains("limit=5&after="));
    // The Host header decides the links' authority.
    let port = joined
        .base_url()
        .rsplit(':')
        .next()
        .unwrap_or("")
        .to_string();
    let r = get_with(
        &format!("http://localhost:{port}/api/v1/users?limit=5"),
        &format!("SSWS {}", joined.api_token()),
        &[],
    )
    .await;
    assert!(r
        .next()
        .unwrap_or_default()
        .starts_with(&format!("http://localhost:{port}/")));
    // The last page has no next.
    let (items, _) = link_pages(&joined, "/api/v1/users?limit=200").await;
    assert!(!items.is_empty());
}

#[tokio::test]
async fn faults_of_each_kind() {
    let sim = sim(20);
    let url = format!("{}/api/v1/users", sim.base_url());

    sim.add_fault(Fault::new("/api/v1/users", FaultKind::Status(500)).times(2));
    for _ in 0..2 {
        let r = get(&sim, &url).await;
        assert_eq!((r.status, r.error_code()), (500, "E0000009".into()));
    }
    assert_eq!(get(&sim, &url).await.status, 200);
    for (status, code) in [
        (503, "E0000100"),
        (403, "E0000006"),
        (401, "E0000015"),
        (404, "E0000007"),
    ] {
        sim.add_fault(Fault::new("/api/v1/users", FaultKind::Status(status)));
        let r = get(&sim, &url).await;
        assert_eq!((r.status, r.error_code().as_str()), (status, code));
    }

    sim.add_fault(Fault::new("/api/v1/users", FaultKind::Reset));
    let err = reqwest::Client::new()
        .get(&url)
        .header("Authorization", format!("SSWS {}", sim.api_token()))
        .send()
        .await;
    assert!(err.is_err(), "reset must fail the request");
    assert_eq!(get(&sim, &url).await.status, 200);

    sim.add_fault(Fault::new(
        "/api/v1/users",
        FaultKind::Delay(Duration::from_millis(300)),
    ));
    let t = Instant::now();
    assert_eq!(get(&sim, &url).await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));

    sim.add_fault(Fault::new("/api/v1/users", FaultKind::RateLimited));
    let r = get(&sim, &url).await;
    assert_eq!((r.status, r.error_code()), (429, "E0000047".into()));
    assert_eq!(r.header("x-rate-limit-remaining").as_deref(), Some("0"));
    let reset: u64 = r
        .header("x-rate-limit-reset")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let date = r
        .header("date")
        .and_then(|d| httpdate::parse_http_date(&d).ok())
        .expect("date header");
    let date_s = date
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    assert!(reset > date_s && reset <= date_s + 3, "{reset} vs {date_s}");

    sim.add_fault(Fault::new("/api/v1/users", FaultKind::Garbage));
    let r = get(&sim, &url).await;
    assert_eq!(r.status, 200);
    assert!(serde_json::from_str::<Value>(&r.text).is_err());

    let bogus = format!("{}/api/v1/users?after=loop", sim.base_url());
    sim.add_fault(Fault::new(
        "/api/v1/users",
        FaultKind::NextLink(bogus.clone()),
    ));
    let r = get(&sim, &format!("{url}?limit=200")).await;
    assert_eq!(r.next(), Some(bogus));
    assert!(r.json().is_array());

    // Method filter: a POST-only fault doesn't hit GETs.
    sim.add_fault(Fault::new("/api/v1/users", FaultKind::Status(500)).method("POST"));
    assert_eq!(get(&sim, &url).await.status, 200);

    let log = sim.requests();
    assert!(
        log.iter().any(|r| r.status == 0),
        "the reset request is logged with status 0"
    );
    assert_eq!(sim.stats().rate_limited, 1);
}

#[tokio::test]
async fn enforce_mode_throttles_per_bucket() {
    let mut limits = BucketLimits::workforce();
    limits.users = 6;
    let sim = SimServer::start(SimConfig {
        users: 10,
        rate_limits: RateLimitMode::Enforce {
            window: Duration::from_secs(30),
            token_share: 0.5,
            limits,
        },
        ..SimConfig::default()
    });
    let mut statuses = Vec::new();
    let mut last = None;
    for _ in 0..4 {
        let r = get(&sim, "/api/v1/users").await;
        statuses.push(r.status);
        last = Some(r);
    }
    assert_eq!(statuses, vec![200, 200, 200, 429]);
    let r = last.expect("a response");
    assert_eq!(r.error_code(), "E0000047");
    assert_eq!(r.header("x-rate-limit-limit").as_deref(), Some("6"));
    assert_eq!(r.header("x-rate-limit-remaining").as_deref(), Some("0"));
    let reset: u64 = r
        .header("x-rate-limit-reset")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let now = okta_sim::clock::wall_ms() as u64 / 1000;
    assert!(reset > now && reset <= now + 31);
    // Other buckets are unaffected.
    assert_eq!(get(&sim, "/api/v1/groups").await.status, 200);
    let st = sim.stats();
    assert_eq!(st.rate_limited, 1);
    assert_eq!(st.by_bucket.get("users"), Some(&4));
}

#[tokio::test]
async fn concurrency_limit_refuses_with_limit_zero() {
    let sim = SimServer::start(SimConfig {
        users: 10,
        concurrency_limit: Some(1),
        ..SimConfig::default()
    });
    sim.add_fault(Fault::new(
        "/api/v1/users",
        FaultKind::Delay(Duration::from_millis(600)),
    ));
    let base = sim.base_url();
    let auth = format!("SSWS {}", sim.api_token());
    let slow = {
        let (b, a) = (base.clone(), auth.clone());
        tokio::spawn(async move { get_with(&format!("{b}/api/v1/users"), &a, &[]).await.status })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = get_with(&format!("{base}/api/v1/groups"), &auth, &[]).await;
    assert_eq!((r.status, r.error_code()), (429, "E0000047".into()));
    assert_eq!(r.header("x-rate-limit-limit").as_deref(), Some("0"));
    assert_eq!(slow.await.unwrap_or(0), 200);
    assert_eq!(get(&sim, "/api/v1/groups").await.status, 200);
}

#[tokio::test]
async fn request_log_records_requests_without_credentials() {
    let sim = sim(10);
    sim.clear_requests();
    let r = get_with(
        &format!(
            "{}/api/v1/users?limit=3&search={}",
            sim.base_url(),
            enc(r#"status eq "ACTIVE""#)
        ),
        &format!("SSWS {}", sim.api_token()),
        &[
            ("User-Agent", "okta-sim-test/1.0"),
            ("X-Okta-Retry-Count", "2"),
        ],
    )
    .await;
    assert_eq!(r.status, 200);
    let _ = get(&sim, "/api/v1/nope").await;
    let log = sim.requests();
    assert_eq!(log.len(), 2);
    let first = &log[0];
    assert_eq!(first.method, "GET");
    assert_eq!(first.path, "/api/v1/users");
    assert!(first.query.starts_with("limit=3&search="));
    assert_eq!(first.status, 200);
    assert_eq!(first.auth_scheme, "SSWS");
    assert_eq!(
        first.headers.get("user-agent").map(String::as_str),
        Some("okta-sim-test/1.0")
    );
    assert_eq!(
        first.headers.get("x-okta-retry-count").map(String::as_str),
        Some("2")
    );
    assert!(!first.headers.contains_key("authorization"));
    assert!(first.headers.keys().all(|k| k == &k.to_ascii_lowercase()));
    assert!(!format!("{log:?}").contains(&sim.api_token()));
    assert_eq!(log[1].status, 404);
    assert!(log[0].at <= log[1].at);
    sim.clear_requests();
    assert!(sim.requests().is_empty());
}

// ---- OAuth ----------------------------------------------------------------------------------

fn private_key() -> rsa::RsaPrivateKey {
    use rsa::pkcs8::DecodePrivateKey;
    rsa::RsaPrivateKey::from_pkcs8_pem(KEY_PEM).expect("fixture key")
}

/// Signs with the shared kit's signer; `header` names the `typ` and `kid` to set, and whether to embed
/// the public key (`"jwk": true`); `alg` follows from the key.
fn rs256(key: &rsa::RsaPrivateKey, header: &Value, claims: &Value) -> String {
    let signer = SigningKey::from_rsa(key).expect("RSA key");
    sign(&signer, header, claims)
}

fn sign(signer: &SigningKey, header: &Value, claims: &Value) -> String {
    let h = JwtHeader {
        typ: header["typ"].as_str(),
        kid: header["kid"].as_str(),
        with_jwk: header.get("jwk").is_some(),
    };
    signer.sign(&h, claims).expect("sign")
}

fn now_s() -> i64 {
    okta_sim::clock::wall_ms() / 1000
}

fn assertion(key: &rsa::RsaPrivateKey, base: &str, client_id: &str, jti: &str) -> String {
    rs256(
        key,
        &json!({"alg": "RS256", "typ": "JWT", "kid": "k1"}),
        &json!({"iss": client_id, "sub": client_id, "aud": format!("{base}/oauth2/v1/token"),
                "iat": now_s(), "exp": now_s() + 3600, "jti": jti}),
    )
}

struct DpopKey(SigningKey);

impl DpopKey {
    fn new() -> Self {
        let k = p256::SecretKey::from_slice(&[7u8; 32]).expect("p256 key");
        DpopKey(SigningKey::from_ec(&k).expect("p256 key"))
    }

    fn proof(
        &self,
        htm: &str,
        htu: &str,
        nonce: Option<&str>,
        token: Option<&str>,
        jti: &str,
    ) -> String {
        let mut claims = json!({"htm": htm, "htu": htu, "iat": now_s(), "jti": jti});
        if let Some(n) = nonce {
            claims["nonce"] = json!(n);
        }
        if let Some(t) = token {
            claims["ath"] = json!(okta_sim::oauth::ath(t));
        }
        sign(&self.0, &json!({"typ": "dpop+jwt", "jwk": true}), &claims)
    }
}

struct TokenResp {
    status: u16,
    body: Value,
    nonce: Option<String>,
}

impl TokenResp {
    /// The status and the OAuth `error` code.
    fn error(&self) -> (u16, Option<&str>) {
        (self.status, self.body["error"].as_str())
    }
}

/// A simulator of ten users whose token endpoint is `oauth`.
fn oauth_sim(oauth: OAuthConfig) -> SimServer {
    SimServer::start(SimConfig {
        users: 10,
        oauth: Some(oauth),
        ..SimConfig::default()
    })
}

async fn token(base: &str, form: &[(&str, &str)], dpop: Option<&str>) -> TokenResp {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut req = reqwest::Client::new()
        .post(format!("{base}/oauth2/v1/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json")
        .body(body);
    if let Some(p) = dpop {
        req = req.header("DPoP", p);
    }
    let r = req.send().await.expect("token request");
    let status = r.status().as_u16();
    let nonce = r
        .headers()
        .get("dpop-nonce")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null);
    TokenResp {
        status,
        body,
        nonce,
    }
}

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[tokio::test]
async fn oauth_bearer_tokens_and_scopes() {
    let mut oauth = OAuthConfig::new("0oaSimClient0000000", PUB_PEM);
    oauth.scopes = vec!["okta.users.read".into(), "okta.logs.read".into()];
    oauth.token_lifetime_secs = 2;
    let sim = oauth_sim(oauth);
    let base = sim.base_url();
    let key = private_key();
    let cid = "0oaSimClient0000000";

    let a = assertion(&key, &base, cid, "jti-1");
    // Every assertion is signed before the first token is issued: the token lives two seconds, and RSA
    // signing in a debug build under load must not eat into them.
    let a3 = assertion(&key, &base, cid, "jti-3");
    // Wrong audience, wrong issuer, signature by another key.
    let bad_aud = rs256(
        &key,
        &json!({"alg": "RS256"}),
        &json!({"iss": cid, "sub": cid, "aud": "https://elsewhere/oauth2/v1/token", "exp": now_s() + 600, "jti": "j4"}),
    );
    let bad_iss = rs256(
        &key,
        &json!({"alg": "RS256"}),
        &json!({"iss": "other", "sub": cid, "aud": format!("{base}/oauth2/v1/token"), "exp": now_s() + 600, "jti": "j5"}),
    );
    let too_long = rs256(
        &key,
        &json!({"alg": "RS256"}),
        &json!({"iss": cid, "sub": cid, "aud": format!("{base}/oauth2/v1/token"), "exp": now_s() + 7200, "jti": "j6"}),
    );
    let expired = rs256(
        &key,
        &json!({"alg": "RS256"}),
        &json!({"iss": cid, "sub": cid, "aud": format!("{base}/oauth2/v1/token"), "exp": now_s() - 5, "jti": "j7"}),
    );
    // Change a character in the middle of the signature: the last one of base64url may carry only
    // padding bits, so replacing it can leave the signature valid.
    let tampered = {
        let a = assertion(&key, &base, cid, "j8");
        let at = a.rfind('.').unwrap_or(0) + 20;
        let flipped = if &a[at..=at] == "A" { "B" } else { "A" };
        format!("{}{flipped}{}", &a[..at], &a[at + 1..])
    };
    let form = |a: &str, scope: &str| -> Vec<(String, String)> {
        vec![
            ("grant_type".into(), "client_credentials".into()),
            ("scope".into(), scope.into()),
            ("client_assertion_type".into(), ASSERTION_TYPE.into()),
            ("client_assertion".into(), a.into()),
        ]
    };
    let as_ref = |f: &[(String, String)]| {
        f.iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>()
    };
    let f = as_ref(&form(&a, "okta.users.read"));
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let t = token(&base, &pairs, None).await;
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(t.body["token_type"], "Bearer");
    assert_eq!(t.body["expires_in"], 2);
    assert_eq!(t.body["scope"], "okta.users.read");
    let at = t.body["access_token"].as_str().unwrap_or("").to_string();

    // The same assertion again: jti replay.
    let t2 = token(&base, &pairs, None).await;
    assert_eq!(t2.error(), (401, Some("invalid_client")));

    // A scope the app wasn't granted.
    let f3 = form(&a3, "okta.users.read okta.apps.read");
    let p3: Vec<(&str, &str)> = f3.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let t3 = token(&base, &p3, None).await;
    assert_eq!(t3.error(), (400, Some("invalid_scope")));

    for bad in [bad_aud, bad_iss, too_long, expired, tampered] {
        let f = form(&bad, "okta.users.read");
        let p: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let t = token(&base, &p, None).await;
        assert_eq!(t.error(), (401, Some("invalid_client")), "{}", t.body);
    }
    let t = token(&base, &[("grant_type", "password")], None).await;
    assert_eq!(t.body["error"], "unsupported_grant_type");

    // Use the token.
    let bearer = format!("Bearer {at}");
    let r = get_with(&format!("{base}/api/v1/users"), &bearer, &[]).await;
    assert_eq!(r.status, 200);
    let r = get_with(&format!("{base}/api/v1/groups"), &bearer, &[]).await;
    assert_eq!((r.status, r.error_code()), (403, "E0000006".into()));
    let r = get_with(&format!("{base}/api/v1/users"), &format!("DPoP {at}"), &[]).await;
    assert_eq!(r.status, 401);
    let log = sim.requests();
    assert!(log
        .iter()
        .any(|r| r.path == "/oauth2/v1/token" && r.status == 200));
    assert!(log.iter().any(|r| r.auth_scheme == "Bearer"));
    assert!(
        sim.stats()
            .by_bucket
            .get("oauth2_token")
            .copied()
            .unwrap_or(0)
            >= 9
    );

    // Expiry.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = get_with(&format!("{base}/api/v1/users"), &bearer, &[]).await;
    assert_eq!((r.status, r.error_code()), (401, "E0000011".into()));
}

#[tokio::test]
async fn oauth_dpop_nonce_dance_and_bound_tokens() {
    let mut oauth = OAuthConfig::new("0oaDpopClient000000", PUB_PKCS1_PEM);
    oauth.require_dpop = true;
    let sim = oauth_sim(oauth);
    let base = sim.base_url();
    let key = private_key();
    let cid = "0oaDpopClient000000";
    let a = assertion(&key, &base, cid, "dpop-jti-1");
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "okta.users.read okta.groups.read"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", a.as_str()),
    ];
    let token_url = format!("{base}/oauth2/v1/token");

    let t = token(&base, &form, None).await;
    assert_eq!(t.error(), (400, Some("invalid_dpop_proof")));

    let dk = DpopKey::new();
    let t = token(
        &base,
        &form,
        Some(&dk.proof("POST", &token_url, None, None, "p1")),
    )
    .await;
    assert_eq!(t.error(), (400, Some("use_dpop_nonce")));
    let nonce = t.nonce.expect("dpop-nonce header");

    let t = token(
        &base,
        &form,
        Some(&dk.proof("POST", &token_url, Some(&nonce), None, "p2")),
    )
    .await;
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(t.body["token_type"], "DPoP");
    let at = t.body["access_token"].as_str().unwrap_or("").to_string();

    let users_url = format!("{base}/api/v1/users");
    let proof = dk.proof("GET", &users_url, None, Some(&at), "p3");
    let r = get_with(
        &format!("{users_url}?limit=5"),
        &format!("DPoP {at}"),
        &[("DPoP", &proof)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        sim.requests()
            .last()
            .map(|r| r.auth_scheme.clone())
            .as_deref(),
        Some("DPoP")
    );
    assert!(sim
        .requests()
        .iter()
        .all(|r| !r.headers.contains_key("dpop")));

    // Replayed proof, wrong ath, wrong htu, missing proof, Bearer scheme: all 401.
    let bad = [
        (format!("DPoP {at}"), Some(proof.clone())),
        (
            format!("DPoP {at}"),
            Some(dk.proof("GET", &users_url, None, Some("other-token"), "p4")),
        ),
        (
            format!("DPoP {at}"),
            Some(dk.proof(
                "GET",
                &format!("{base}/api/v1/groups"),
                None,
                Some(&at),
                "p5",
            )),
        ),
        (format!("DPoP {at}"), None),
        (format!("Bearer {at}"), None),
    ];
    for (auth, proof) in bad {
        let extra: Vec<(&str, &str)> = proof
            .as_deref()
            .map(|p| vec![("DPoP", p)])
            .unwrap_or_default();
        let r = get_with(&users_url, &auth, &extra).await;
        assert_eq!(
            (r.status, r.error_code()),
            (401, "E0000011".into()),
            "{auth}"
        );
    }

    // An RS256 proof works as well (the Go SDK uses an ephemeral RSA key).
    let a2 = assertion(&key, &base, cid, "dpop-jti-2");
    let form2 = [
        ("grant_type", "client_credentials"),
        ("scope", "okta.users.read"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", a2.as_str()),
    ];
    let rsa_proof = |htm: &str, htu: &str, nonce: Option<&str>, token: Option<&str>, jti: &str| {
        let mut claims = json!({"htm": htm, "htu": htu, "iat": now_s(), "jti": jti});
        if let Some(n) = nonce {
            claims["nonce"] = json!(n);
        }
        if let Some(t) = token {
            claims["ath"] = json!(okta_sim::oauth::ath(t));
        }
        rs256(&key, &json!({"typ": "dpop+jwt", "jwk": true}), &claims)
    };
    let t = token(
        &base,
        &form2,
        Some(&rsa_proof("POST", &token_url, Some(&nonce), None, "r1")),
    )
    .await;
    assert_eq!(
        (t.status, t.body["token_type"].as_str()),
        (200, Some("DPoP")),
        "{}",
        t.body
    );
    let at2 = t.body["access_token"].as_str().unwrap_or("").to_string();
    let proof = rsa_proof("GET", &users_url, None, Some(&at2), "r2");
    let r = get_with(&users_url, &format!("DPoP {at2}"), &[("DPoP", &proof)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The proof key is bound to the token: the EC key's proof doesn't fit the RSA-bound token.
    let wrong_key = dk.proof("GET", &users_url, None, Some(&at2), "r3");
    let r = get_with(&users_url, &format!("DPoP {at2}"), &[("DPoP", &wrong_key)]).await;
    assert_eq!(r.status, 401);

    // Scope check still applies (apps weren't requested).
    let apps_url = format!("{base}/api/v1/apps");
    let proof = dk.proof("GET", &apps_url, None, Some(&at), "p6");
    let r = get_with(&apps_url, &format!("DPoP {at}"), &[("DPoP", &proof)]).await;
    assert_eq!((r.status, r.error_code()), (403, "E0000006".into()));
}

#[test]
fn binary_prints_its_address_and_serves() {
    let (mut child, v) = spawn_binary(&["--users", "25", "--seed", "7"]);
    let base = v["base_url"].as_str().unwrap_or("").to_string();
    assert!(base.starts_with("http://127.0.0.1:"));
    assert_eq!(v["api_token"], okta_sim::DEFAULT_API_TOKEN);
    let rt = runtime();
    let r = rt.block_on(get_with(
        &format!("{base}/api/v1/users?limit=200"),
        &format!("SSWS {}", okta_sim::DEFAULT_API_TOKEN),
        &[],
    ));
    assert_eq!(r.status, 200);
    assert!(r.json().as_array().is_some_and(|a| a.len() >= 20));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn same_seed_same_org_across_servers() {
    let a = sim(60);
    let b = sim(60);
    let strip = |v: Vec<Value>| -> Vec<String> {
        v.iter()
            .map(|u| format!("{}{}{}", u["id"], u["profile"]["login"], u["status"]))
            .collect()
    };
    assert_eq!(strip(a.users()), strip(b.users()));
    assert_eq!(a.group_members(), b.group_members());
    let c = SimServer::start(SimConfig {
        users: 60,
        seed: 43,
        ..SimConfig::default()
    });
    assert_ne!(strip(a.users()), strip(c.users()));
}

#[test]
fn the_handle_can_be_shared_across_threads() {
    fn check<T: Send + Sync>() {}
    check::<SimServer>();
    let sim = std::sync::Arc::new(sim(10));
    let s2 = sim.clone();
    let t = std::thread::spawn(move || s2.create_user());
    let created = t.join().unwrap_or_default();
    assert!(sim.users().contains(&created));
}

#[tokio::test]
async fn one_app_assignment_is_served_alone_and_404s_once_removed() {
    let sim = sim(60);
    let (app, row) = sim.app_users().into_iter().next().expect("an assignment");
    let uid = row["id"].as_str().unwrap().to_string();
    let r = get(&sim, &format!("/api/v1/apps/{app}/users/{uid}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), row, "the same object as in the app's user list");
    assert!(sim.unassign_app_user(&app, &uid));
    let r = get(&sim, &format!("/api/v1/apps/{app}/users/{uid}")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["errorCode"], "E0000007");
    let r = get(&sim, &format!("/api/v1/apps/0oaNoSuchApp/users/{uid}")).await;
    assert_eq!(r.status, 404);
}
