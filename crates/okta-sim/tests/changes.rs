//! Changes between two syncs, over real HTTP: each mutation changes the served lists as Okta
//! does and writes Okta's System Log events (type, actor, target ids); churn; the System Log's
//! eventual consistency and late events; the admin endpoints.

#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use okta_sim::{SimConfig, SimServer};
use serde_json::Value;

mod support;
use support::{get, link_pages, runtime, sim, spawn_binary};

/// Every item of a link-paged list.
async fn all(sim: &SimServer, path: &str) -> Vec<Value> {
    link_pages(sim, path).await.0
}

/// The System Log polling position after every event visible now.
async fn log_tail(sim: &SimServer) -> String {
    let mut url = format!("/api/v1/logs?since={}&limit=1000", recent());
    loop {
        let r = get(sim, &url).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let next = r.next().expect("polling always has a next link");
        if r.items().is_empty() {
            return next;
        }
        url = next;
    }
}

/// The events visible after `tail` (and the new tail).
async fn events_after(sim: &SimServer, tail: &str) -> (Vec<Value>, String) {
    let mut out = Vec::new();
    let mut url = tail.to_string();
    loop {
        let r = get(sim, &url).await;
        let page = r.items();
        let next = r.next().expect("polling always has a next link");
        if page.is_empty() {
            return (out, next);
        }
        out.extend(page);
        url = next;
    }
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or("").to_string()
}

fn types(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| s(&e["eventType"])).collect()
}

/// (type, id) of every target of `e`.
fn targets(e: &Value) -> Vec<(String, String)> {
    e["target"]
        .as_array()
        .map(|a| a.iter().map(|t| (s(&t["type"]), s(&t["id"]))).collect())
        .unwrap_or_default()
}

/// Every event has Okta's shape: uuid, published, an admin actor, a display message.
fn assert_okta_shaped(events: &[Value]) {
    for e in events {
        assert_eq!(e["uuid"].as_str().map(str::len), Some(36), "{e}");
        assert_eq!(e["published"].as_str().map(str::len), Some(24), "{e}");
        assert_eq!(e["actor"]["type"], "User", "{e}");
        assert!(e["displayMessage"].is_string(), "{e}");
        assert_eq!(e["outcome"]["result"], "SUCCESS", "{e}");
        assert!(e["target"].as_array().is_some_and(|t| !t.is_empty()), "{e}");
    }
}

fn lmu(groups: &[Value], gid: &str) -> String {
    groups
        .iter()
        .find(|g| g["id"] == gid)
        .map(|g| s(&g["lastMembershipUpdated"]))
        .unwrap_or_default()
}

#[tokio::test]
async fn deleting_a_user_removes_it_everywhere_and_logs_only_the_deletion() {
    let sim = sim(400);
    // The non-admin user with the most kinds of relationships.
    let admins: HashSet<String> = sim
        .collection("user_role_assignments")
        .iter()
        .map(|r| s(&r["user_id"]))
        .collect();
    let owners: HashSet<String> = sim
        .collection("group_owners")
        .iter()
        .map(|r| s(&r["id"]))
        .collect();
    let device_users: HashSet<String> = sim
        .collection("device_users")
        .iter()
        .map(|r| s(&r["user_id"]))
        .collect();
    let app_users: HashSet<String> = sim.app_users().iter().map(|(_, v)| s(&v["id"])).collect();
    let uid = sim
        .users()
        .iter()
        .filter(|u| u["status"] == "ACTIVE" && !admins.contains(&s(&u["id"])))
        .map(|u| s(&u["id"]))
        .max_by_key(|id| {
            usize::from(owners.contains(id))
                + usize::from(device_users.contains(id))
                + usize::from(app_users.contains(id))
        })
        .expect("a user");
    assert!(owners.contains(&uid) && app_users.contains(&uid), "{uid}");
    let groups: Vec<String> = sim
        .group_members()
        .into_iter()
        .filter(|(_, u)| *u == uid)
        .map(|(g, _)| g)
        .collect();
    assert!(!groups.is_empty());
    let factors = get(&sim, &format!("/api/v1/users/{uid}/factors"))
        .await
        .items();
    assert!(!factors.is_empty());
    let groups_before = sim.groups();
    let tail = log_tail(&sim).await;

    assert!(sim.delete_user(&uid));
    assert!(!sim.delete_user(&uid), "a second delete finds nothing");

    assert_eq!(get(&sim, &format!("/api/v1/users/{uid}")).await.status, 404);
    assert_eq!(
        get(&sim, &format!("/api/v1/users/{uid}/factors"))
            .await
            .status,
        404
    );
    let search = "/api/v1/users?search=id%20pr&limit=200";
    assert!(!all(&sim, search)
        .await
        .iter()
        .any(|u| u["id"] == uid.as_str()));
    for g in &groups {
        let members = all(&sim, &format!("/api/v1/groups/{g}/users")).await;
        assert!(!members.iter().any(|u| u["id"] == uid.as_str()));
        assert_eq!(
            lmu(&sim.groups(), g),
            lmu(&groups_before, g),
            "lastMembershipUpdated doesn't move on a user deletion"
        );
    }
    for (app, v) in sim.app_users() {
        assert_ne!(s(&v["id"]), uid, "still assigned to {app}");
    }
    for stream in [
        "group_members",
        "application_users",
        "user_factors",
        "device_users",
    ] {
        assert!(
            !sim.keys(stream).iter().any(|k| k.contains(&uid)),
            "{stream} still has {uid}"
        );
    }
    assert!(!sim
        .collection("group_owners")
        .iter()
        .any(|o| o["id"] == uid.as_str()));
    for d in sim.collection("devices") {
        let did = s(&d["id"]);
        let users = get(&sim, &format!("/api/v1/devices/{did}/users"))
            .await
            .items();
        assert!(!users.iter().any(|u| u["user"]["id"] == uid.as_str()));
    }

    let (events, _) = events_after(&sim, &tail).await;
    assert_eq!(
        types(&events),
        [
            "user.lifecycle.deactivate",
            "user.lifecycle.delete.initiated",
            "user.lifecycle.delete.completed"
        ]
    );
    assert_okta_shaped(&events);
    for e in &events {
        assert_eq!(targets(e), [("User".to_string(), uid.clone())]);
    }
    // The same events, found by filter as a connector would.
    let f = format!(
        "/api/v1/logs?since={}&limit=1000&filter={}",
        recent(),
        url_enc(&format!(
            "eventType eq \"user.lifecycle.delete.completed\" and target.id eq \"{uid}\""
        ))
    );
    let hits = get(&sim, &f).await.items();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["uuid"], events[2]["uuid"]);
}

/// An hour ago, URL-encoded (polling from there reaches the end of the log quickly).
fn recent() -> String {
    url_enc(&okta_sim::clock::iso(
        okta_sim::clock::wall_ms() - 3_600_000,
    ))
}

fn url_enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn user_lifecycle_events() {
    let sim = sim(60);
    let tail = log_tail(&sim).await;
    let created = sim.create_user();
    let id = s(&created["id"]);
    let updated = sim.update_user(&id);
    assert!(updated["lastUpdated"].as_str() > created["lastUpdated"].as_str());
    assert!(sim.deactivate_user(&id));
    assert!(!sim.deactivate_user(&id), "already DEPROVISIONED");
    let (events, _) = events_after(&sim, &tail).await;
    assert_eq!(
        types(&events),
        [
            "user.lifecycle.create",
            "user.lifecycle.activate",
            "user.account.update_profile",
            "user.lifecycle.deactivate"
        ]
    );
    assert_okta_shaped(&events);
    assert!(events
        .iter()
        .all(|e| targets(e) == [("User".to_string(), id.clone())]));
    assert_eq!(
        events[0]["target"][0]["alternateId"],
        created["profile"]["login"]
    );
    assert_eq!(events[2]["published"], updated["lastUpdated"]);
    assert_eq!(
        events[0]["legacyEventType"],
        "core.user.config.user_creation.success"
    );
    let user = get(&sim, &format!("/api/v1/users/{id}")).await.json();
    assert_eq!(user["status"], "DEPROVISIONED");
    assert_eq!(user["lastUpdated"], events[3]["published"]);
}

#[tokio::test]
async fn membership_changes_move_last_membership_updated_and_log_user_and_group() {
    let sim = sim(80);
    let (gid, members) = {
        let pairs = sim.group_members();
        let g = pairs[0].0.clone();
        let m: BTreeSet<String> = pairs
            .iter()
            .filter(|(x, _)| *x == g)
            .map(|(_, u)| u.clone())
            .collect();
        (g, m)
    };
    let outsider = sim
        .users()
        .iter()
        .map(|u| s(&u["id"]))
        .find(|u| !members.contains(u))
        .expect("an outsider");
    let leaver = members.iter().next().cloned().expect("a member");
    let tail = log_tail(&sim).await;
    let before = lmu(&sim.groups(), &gid);
    let t0 = okta_sim::clock::iso(okta_sim::clock::wall_ms() - 1);
    assert!(sim.add_group_member(&gid, &outsider));
    assert!(!sim.add_group_member(&gid, &outsider), "already a member");
    assert!(sim.remove_group_member(&gid, &leaver));
    assert!(
        !sim.remove_group_member(&gid, &leaver),
        "not a member any more"
    );
    let after = lmu(&sim.groups(), &gid);
    assert!(after > before);
    let served: BTreeSet<String> = all(&sim, &format!("/api/v1/groups/{gid}/users"))
        .await
        .iter()
        .map(|u| s(&u["id"]))
        .collect();
    assert!(served.contains(&outsider) && !served.contains(&leaver));
    let (events, _) = events_after(&sim, &tail).await;
    assert_eq!(
        types(&events),
        ["group.user_membership.add", "group.user_membership.remove"]
    );
    assert_okta_shaped(&events);
    assert_eq!(
        targets(&events[0]),
        [
            ("User".to_string(), outsider.clone()),
            ("UserGroup".to_string(), gid.clone())
        ]
    );
    assert_eq!(
        targets(&events[1]),
        [
            ("User".to_string(), leaver),
            ("UserGroup".to_string(), gid.clone())
        ]
    );
    assert_eq!(events[1]["published"].as_str(), Some(after.as_str()));
    // A changed-since filter on lastMembershipUpdated finds the group.
    let f = url_enc(&format!("lastMembershipUpdated gt \"{t0}\""));
    let changed = get(&sim, &format!("/api/v1/groups?filter={f}"))
        .await
        .items();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0]["id"], gid.as_str());
}

#[tokio::test]
async fn deleting_a_group_removes_its_memberships_and_assignments() {
    let sim = sim(200);
    let assigned: Vec<(String, String)> = sim
        .app_groups()
        .iter()
        .map(|(a, v)| (a.clone(), s(&v["id"])))
        .collect();
    let (app, gid) = assigned[0].clone();
    let members: Vec<String> = sim
        .group_members()
        .into_iter()
        .filter(|(g, _)| *g == gid)
        .map(|(_, u)| u)
        .collect();
    assert!(!members.is_empty());
    let tail = log_tail(&sim).await;
    assert!(sim.delete_group(&gid));
    assert_eq!(
        get(&sim, &format!("/api/v1/groups/{gid}")).await.status,
        404
    );
    assert_eq!(
        get(&sim, &format!("/api/v1/groups/{gid}/users"))
            .await
            .status,
        404
    );
    let groups = get(&sim, &format!("/api/v1/users/{}/groups", members[0]))
        .await
        .items();
    assert!(!groups.iter().any(|g| g["id"] == gid.as_str()));
    let app_groups = all(&sim, &format!("/api/v1/apps/{app}/groups")).await;
    assert!(!app_groups.iter().any(|g| g["id"] == gid.as_str()));
    let via = format!("/api/v1/groups/{gid}");
    assert!(!sim
        .app_users()
        .iter()
        .any(|(_, v)| s(&v["_links"]["group"]["href"]).ends_with(&via)));
    assert!(!sim.keys("group_members").iter().any(|k| k[0] == gid));
    let (events, _) = events_after(&sim, &tail).await;
    assert_eq!(types(&events), ["group.lifecycle.delete"]);
    assert_eq!(targets(&events[0]), [("UserGroup".to_string(), gid)]);
}

#[tokio::test]
async fn app_assignments_and_app_deletion() {
    let sim = sim(200);
    let apps = all(&sim, "/api/v1/apps").await;
    let app = s(&apps[1]["id"]);
    let assigned: BTreeSet<String> = all(&sim, &format!("/api/v1/apps/{app}/users?limit=500"))
        .await
        .iter()
        .map(|u| s(&u["id"]))
        .collect();
    let newcomer = sim
        .users()
        .iter()
        .map(|u| s(&u["id"]))
        .find(|u| !assigned.contains(u))
        .expect("an unassigned user");
    let leaver = assigned.iter().next().cloned().expect("an assigned user");
    let group_assigned: BTreeSet<String> = sim
        .app_groups()
        .iter()
        .filter(|(a, _)| *a == app)
        .map(|(_, v)| s(&v["id"]))
        .collect();
    let new_group = s(&sim
        .groups()
        .iter()
        .find(|g| !group_assigned.contains(&s(&g["id"])))
        .expect("an unassigned group")["id"]);
    let old_group = group_assigned
        .iter()
        .next()
        .cloned()
        .expect("an assigned group");
    let tail = log_tail(&sim).await;

    assert!(sim.assign_app_user(&app, &newcomer));
    assert!(!sim.assign_app_user(&app, &newcomer));
    assert!(sim.unassign_app_user(&app, &leaver));
    assert!(sim.assign_app_group(&app, &new_group));
    assert!(sim.unassign_app_group(&app, &old_group));
    let users: BTreeSet<String> = all(&sim, &format!("/api/v1/apps/{app}/users?limit=500"))
        .await
        .iter()
        .map(|u| s(&u["id"]))
        .collect();
    assert!(users.contains(&newcomer) && !users.contains(&leaver));
    let groups: BTreeSet<String> = all(&sim, &format!("/api/v1/apps/{app}/groups"))
        .await
        .iter()
        .map(|g| s(&g["id"]))
        .collect();
    assert!(groups.contains(&new_group) && !groups.contains(&old_group));
    assert!(sim
        .keys("application_users")
        .contains(&vec![app.clone(), newcomer.clone()]));

    let (events, tail) = events_after(&sim, &tail).await;
    assert_eq!(
        types(&events),
        [
            "application.user_membership.add",
            "application.user_membership.remove",
            "group.application_assignment.add",
            "group.application_assignment.remove"
        ]
    );
    assert_okta_shaped(&events);
    let t = targets(&events[0]);
    assert_eq!(t[0].0, "AppUser");
    assert_ne!(t[0].1, newcomer, "the AppUser id is Okta's app-user id");
    assert_eq!(
        t[1..],
        [
            ("AppInstance".to_string(), app.clone()),
            ("User".to_string(), newcomer)
        ]
    );
    assert_eq!(targets(&events[1])[2], ("User".to_string(), leaver));
    assert_eq!(
        targets(&events[2]),
        [
            ("AppInstance".to_string(), app.clone()),
            ("UserGroup".to_string(), new_group)
        ]
    );
    assert_eq!(
        targets(&events[3]),
        [
            ("AppInstance".to_string(), app.clone()),
            ("UserGroup".to_string(), old_group)
        ]
    );

    assert!(sim.delete_app(&app));
    assert_eq!(get(&sim, &format!("/api/v1/apps/{app}")).await.status, 404);
    assert_eq!(
        get(&sim, &format!("/api/v1/apps/{app}/users")).await.status,
        404
    );
    assert!(!sim.apps().iter().any(|a| a["id"] == app.as_str()));
    assert!(!sim.keys("application_groups").iter().any(|k| k[0] == app));
    let (events, _) = events_after(&sim, &tail).await;
    assert_eq!(
        types(&events),
        [
            "application.lifecycle.deactivate",
            "application.lifecycle.delete"
        ]
    );
    for e in &events {
        assert_eq!(targets(e), [("AppInstance".to_string(), app.clone())]);
    }
}

#[tokio::test]
async fn factors_of_deprovisioned_users_and_factor_changes() {
    let sim = sim(200);
    let deprov: Vec<String> = sim
        .users()
        .iter()
        .filter(|u| u["status"] == "DEPROVISIONED")
        .map(|u| s(&u["id"]))
        .collect();
    let mut served = 0;
    for id in &deprov {
        let f = get(&sim, &format!("/api/v1/users/{id}/factors")).await;
        assert_eq!(f.status, 200);
        served += f.items().len();
    }
    assert!(served > 0, "DEPROVISIONED users keep their factors");
    let truth = sim.collection("user_factors");
    assert!(truth.iter().any(|f| deprov.contains(&s(&f["user_id"]))));

    let uid = sim
        .users()
        .iter()
        .map(|u| s(&u["id"]))
        .find(|id| {
            !deprov.contains(id)
                && truth.iter().filter(|f| f["user_id"] == id.as_str()).count() >= 2
        })
        .expect("a user with two factors");
    let before = get(&sim, &format!("/api/v1/users/{uid}/factors"))
        .await
        .items();
    let fid = s(&before[0]["id"]);
    let tail = log_tail(&sim).await;
    assert!(sim.deactivate_factor(&uid, &fid));
    assert!(!sim.deactivate_factor(&uid, &fid));
    let after = get(&sim, &format!("/api/v1/users/{uid}/factors"))
        .await
        .items();
    assert_eq!(after.len(), before.len() - 1);
    assert!(!after.iter().any(|f| f["id"] == fid.as_str()));
    let enrolled = sim.enroll_factor(&uid).expect("a factor type left");
    let after = get(&sim, &format!("/api/v1/users/{uid}/factors"))
        .await
        .items();
    assert!(after.contains(&enrolled));
    assert_eq!(enrolled["status"], "ACTIVE");
    assert!(sim.reset_factors(&uid));
    assert!(!sim.reset_factors(&uid), "nothing left to reset");
    assert!(get(&sim, &format!("/api/v1/users/{uid}/factors"))
        .await
        .items()
        .is_empty());
    assert!(!sim.keys("user_factors").iter().any(|k| k.contains(&uid)));

    let (events, _) = events_after(&sim, &tail).await;
    assert_eq!(
        types(&events),
        [
            "user.mfa.factor.deactivate",
            "user.mfa.factor.activate",
            "user.mfa.factor.reset_all"
        ]
    );
    assert_okta_shaped(&events);
    assert_eq!(
        targets(&events[0]),
        [
            ("User".to_string(), uid.clone()),
            ("AuthenticatorEnrollment".to_string(), fid)
        ]
    );
    assert_eq!(targets(&events[1])[1].1, s(&enrolled["id"]));
    assert_eq!(targets(&events[2]), [("User".to_string(), uid)]);
}

#[tokio::test]
async fn devices_lose_users_and_get_deleted() {
    let sim = sim(200);
    let devices = sim.collection("devices");
    let d = devices
        .iter()
        .find(|d| {
            d["status"] == "ACTIVE"
                && d["_embedded"]["users"]
                    .as_array()
                    .is_some_and(|u| !u.is_empty())
        })
        .expect("an active device with a user");
    let did = s(&d["id"]);
    let uid = s(&d["_embedded"]["users"][0]["user"]["id"]);
    let tail = log_tail(&sim).await;
    assert!(sim.remove_device_user(&did, &uid));
    assert!(!sim.remove_device_user(&did, &uid));
    let users = get(&sim, &format!("/api/v1/devices/{did}/users"))
        .await
        .items();
    assert!(!users.iter().any(|u| u["user"]["id"] == uid.as_str()));
    assert!(
        sim.users().iter().any(|u| u["id"] == uid.as_str()),
        "the user stays"
    );
    assert!(sim.delete_device(&did));
    assert_eq!(
        get(&sim, &format!("/api/v1/devices/{did}/users"))
            .await
            .status,
        404
    );
    assert!(!all(&sim, "/api/v1/devices")
        .await
        .iter()
        .any(|x| x["id"] == did.as_str()));
    let (events, _) = events_after(&sim, &tail).await;
    assert_eq!(
        types(&events),
        [
            "device.user.remove",
            "device.lifecycle.deactivate",
            "device.lifecycle.delete"
        ]
    );
    assert_eq!(
        targets(&events[0]),
        [
            ("Device".to_string(), did.clone()),
            ("User".to_string(), uid)
        ]
    );
    assert_eq!(targets(&events[2]), [("Device".to_string(), did)]);
}

#[tokio::test]
async fn configuration_deletions_and_their_events() {
    let sim = sim(100);
    let policy = sim
        .collection("policy_rules")
        .iter()
        .map(|r| (s(&r["policy_id"]), s(&r["id"])))
        .next()
        .expect("a policy rule");
    let other_policy = s(&sim
        .collection("policies")
        .iter()
        .find(|p| p["id"] != policy.0.as_str())
        .expect("another policy")["id"]);
    let zone = s(&sim.collection("network_zones")[0]["id"]);
    let role = s(&sim.custom_roles()[0]["id"]);
    let rset = s(&sim.collection("resource_sets")[0]["id"]);
    let idp = s(&sim.collection("identity_providers")[0]["id"]);
    let tail = log_tail(&sim).await;

    assert!(sim.delete_policy_rule(&policy.0, &policy.1));
    assert!(sim.delete_policy(&other_policy));
    assert!(sim.delete_zone(&zone));
    assert!(sim.delete_custom_role(&role));
    assert!(sim.delete_resource_set(&rset));
    assert!(sim.delete_idp(&idp));
    assert!(!sim.delete_idp(&idp));

    let rules = get(&sim, &format!("/api/v1/policies/{}/rules", policy.0))
        .await
        .items();
    assert!(!rules.iter().any(|r| r["id"] == policy.1.as_str()));
    assert!(!sim.keys("policies").contains(&vec![other_policy.clone()]));
    assert!(!sim
        .keys("policy_rules")
        .iter()
        .any(|k| k.contains(&other_policy)));
    let zones = get(&sim, "/api/v1/zones").await.items();
    assert!(!zones.iter().any(|z| z["id"] == zone.as_str()));
    assert_eq!(
        get(&sim, &format!("/api/v1/iam/roles/{role}")).await.status,
        404
    );
    assert_eq!(
        get(&sim, &format!("/api/v1/roles/{role}/subscriptions"))
            .await
            .status,
        404
    );
    assert!(!sim
        .keys("custom_role_permissions")
        .iter()
        .any(|k| k.contains(&role)));
    assert!(!sim.keys("resource_sets").contains(&vec![rset.clone()]));
    assert!(!sim.keys("identity_providers").contains(&vec![idp.clone()]));

    let (events, _) = events_after(&sim, &tail).await;
    let want = [
        "policy.rule.delete",
        "policy.lifecycle.delete",
        "zone.deactivate",
        "zone.delete",
        "iam.role.delete",
        "iam.resourceset.delete",
        "system.idp.lifecycle.delete",
    ];
    let got = types(&events);
    let got: Vec<&str> = got
        .iter()
        .map(String::as_str)
        .filter(|t| *t != "zone.deactivate")
        .collect();
    let want: Vec<&str> = want
        .into_iter()
        .filter(|t| *t != "zone.deactivate")
        .collect();
    assert_eq!(got, want);
    assert_okta_shaped(&events);
    let by_type = |t: &str| {
        events
            .iter()
            .find(|e| e["eventType"] == t)
            .map(targets)
            .unwrap_or_default()
    };
    assert_eq!(
        by_type("policy.rule.delete"),
        [
            ("PolicyEntity".to_string(), policy.0.clone()),
            ("PolicyRule".to_string(), policy.1.clone())
        ]
    );
    assert_eq!(
        by_type("policy.lifecycle.delete"),
        [("PolicyEntity".to_string(), other_policy)]
    );
    assert_eq!(by_type("zone.delete"), [("Zone".to_string(), zone)]);
    assert_eq!(by_type("iam.role.delete"), [("ROLE".to_string(), role)]);
    assert_eq!(
        by_type("iam.resourceset.delete"),
        [("RESOURCE_SET".to_string(), rset)]
    );
    assert_eq!(
        by_type("system.idp.lifecycle.delete"),
        [("IdentityProvider".to_string(), idp)]
    );
}

#[tokio::test]
async fn custom_roles_have_subscriptions_too() {
    let sim = sim(50);
    let role = s(&sim.custom_roles()[0]["id"]);
    let r = get(&sim, &format!("/api/v1/roles/{role}/subscriptions")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let subs = r.items();
    assert!(!subs.is_empty());
    assert!(s(&subs[0]["_links"]["self"]["href"]).contains(&role));
    let truth = sim.collection("role_subscriptions");
    let of_role: Vec<&Value> = truth
        .iter()
        .filter(|v| v["role_type"] == role.as_str())
        .collect();
    assert_eq!(of_role.len(), subs.len());
    assert!(truth.iter().any(|v| v["role_type"] == "SUPER_ADMIN"));
}

#[tokio::test]
async fn churn_changes_a_fraction_with_events_and_a_consistent_truth() {
    let sim = sim(1000);
    let users_before: BTreeSet<String> = sim.users().iter().map(|u| s(&u["id"])).collect();
    let log_before = sim.log_events().len();
    let r = sim.churn(0.02, 7);
    assert_eq!(r.users_updated, 20);
    assert!(r.users_deleted >= 1 && r.users_created == 2, "{r:?}");
    assert!(
        r.memberships_added >= 15 && r.memberships_removed >= 5,
        "{r:?}"
    );
    assert!(r.app_users_added >= 5 && r.app_users_removed >= 5, "{r:?}");
    assert!(
        r.factors_deactivated >= 1 && r.factors_enrolled >= 1,
        "{r:?}"
    );
    assert_eq!(sim.log_events().len() - log_before, r.events);
    let users_after: BTreeSet<String> = sim.users().iter().map(|u| s(&u["id"])).collect();
    assert_eq!(
        users_before.difference(&users_after).count(),
        r.users_deleted
    );
    assert_eq!(
        users_after.difference(&users_before).count(),
        r.users_created
    );
    // Every relationship refers to a live user.
    for (stream, col) in [
        ("group_members", "user_id"),
        ("application_users", "id"),
        ("user_factors", "user_id"),
        ("device_users", "user_id"),
    ] {
        for r in sim.collection(stream) {
            assert!(users_after.contains(&s(&r[col])), "{stream} {r}");
        }
    }
    // Every deletion is in the log.
    let completed: BTreeSet<String> = sim
        .log_events()
        .iter()
        .filter(|e| e["eventType"] == "user.lifecycle.delete.completed")
        .map(|e| s(&e["target"][0]["id"]))
        .collect();
    for gone in users_before.difference(&users_after) {
        assert!(completed.contains(gone), "{gone}");
    }
    // Same seed, same changes.
    let other = sim_churned(1000, 0.02, 7);
    assert_eq!(other, r);
}

fn sim_churned(users: usize, fraction: f64, seed: u64) -> okta_sim::ChurnReport {
    sim(users).churn(fraction, seed)
}

#[tokio::test]
async fn events_become_visible_after_the_log_delay_and_can_arrive_late() {
    let sim = SimServer::start(SimConfig {
        users: 60,
        log_delay: Duration::from_secs(3600),
        ..SimConfig::default()
    });
    let tail = log_tail(&sim).await;
    let visible_before = sim.log_events().len();
    let uid = s(&sim.users()[0]["id"]);
    let updated = sim.update_user(&uid);
    // The entity changed at once; its event is not visible yet.
    let served = get(&sim, &format!("/api/v1/users/{uid}")).await.json();
    assert_eq!(served["lastUpdated"], updated["lastUpdated"]);
    let (events, tail) = events_after(&sim, &tail).await;
    assert!(events.is_empty(), "{:?}", types(&events));
    assert_eq!(sim.log_events().len(), visible_before);
    let pending = sim.pending_log_events();
    assert_eq!(types(&pending), ["user.account.update_profile"]);
    let bounded = get(
        &sim,
        &format!(
            "/api/v1/logs?since={}&until={}",
            url_enc(&okta_sim::clock::iso(
                okta_sim::clock::wall_ms() - 3_600_000
            )),
            url_enc(&okta_sim::clock::iso(okta_sim::clock::wall_ms() + 60_000))
        ),
    )
    .await;
    assert!(!bounded
        .items()
        .iter()
        .any(|e| e["uuid"] == pending[0]["uuid"]));

    // A later change whose event is visible at once, then the held one arrives late.
    sim.set_log_delay(Duration::ZERO);
    let group = sim.group_members()[0].0.clone();
    let outsider = sim
        .users()
        .iter()
        .map(|u| s(&u["id"]))
        .find(|u| !sim.group_members().contains(&(group.clone(), u.clone())))
        .expect("an outsider");
    assert!(sim.add_group_member(&group, &outsider));
    let (events, tail) = events_after(&sim, &tail).await;
    assert_eq!(types(&events), ["group.user_membership.add"]);
    assert_eq!(sim.release_logs(), 1);
    let (late, _) = events_after(&sim, &tail).await;
    assert_eq!(types(&late), ["user.account.update_profile"]);
    assert_eq!(late[0]["published"], updated["lastUpdated"]);
    assert!(
        late[0]["published"].as_str() < events[0]["published"].as_str(),
        "published before an event already seen"
    );
    assert!(sim.pending_log_events().is_empty());

    // Generated late events, too.
    let tail = log_tail(&sim).await;
    let newest = s(&sim.log_events().last().expect("events")["published"]);
    let old = sim.append_late_log_events(2, Duration::from_secs(600));
    let (got, _) = events_after(&sim, &tail).await;
    assert_eq!(got, old);
    assert!(old.iter().all(|e| s(&e["published"]) < newest));
}

async fn post(url: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(url)
        .send()
        .await
        .expect("request failed");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

#[tokio::test]
async fn admin_endpoints_churn_and_release() {
    let off = sim(30);
    let (status, _) = post(&format!("{}/__sim/churn", off.base_url())).await;
    assert_ne!(status, 200, "admin endpoints are off by default");

    let sim = SimServer::start(SimConfig {
        users: 300,
        admin: true,
        ..SimConfig::default()
    });
    let base = sim.base_url();
    let before = sim.stats().requests;
    let (status, body) = post(&format!("{base}/__sim/churn?fraction=0.05&seed=3")).await;
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).expect("JSON report");
    assert_eq!(report["users_updated"], 15);
    assert!(report["events"].as_u64().is_some_and(|n| n >= 15));
    assert_eq!(sim.stats().requests, before, "admin calls aren't counted");
    let (status, _) = post(&format!("{base}/__sim/churn?fraction=2")).await;
    assert_eq!(status, 400);
    let (status, body) = post(&format!("{base}/__sim/release-logs")).await;
    assert_eq!((status, body.as_str()), (200, r#"{"released":0}"#));
}

#[test]
fn the_binary_serves_the_churn_endpoint() {
    let (mut child, v) = spawn_binary(&["--users", "200", "--seed", "7"]);
    let base = s(&v["base_url"]);
    let rt = runtime();
    let (status, body) = rt.block_on(post(&format!("{base}/__sim/churn?fraction=0.1")));
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).expect("JSON report");
    assert_eq!(report["users_updated"], 20);
}
