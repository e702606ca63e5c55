//! The change feed: deletions and removals between two syncs reach the warehouse as tombstones, so a
//! table that applies them (hard delete, as Airbyte's dedup does) equals the org afterwards.

use crate::harness::{config_json, read_cfg, sim_with, state_file, Run};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const STREAMS: [(&str, &[&str]); 10] = [
    ("users", &["id"]),
    ("groups", &["id"]),
    ("devices", &["id"]),
    ("group_members", &["group_id", "user_id"]),
    ("user_factors", &["user_id", "id"]),
    ("user_role_assignments", &["user_id", "id"]),
    ("group_owners", &["group_id", "id"]),
    ("application_users", &["app_id", "id"]),
    ("application_groups", &["app_id", "id"]),
    ("device_users", &["device_id", "user_id"]),
];

/// A warehouse table in append_dedup with hard deletes, in arrival order: the last record of a key
/// wins, a tombstone removes it, and a scoped tombstone (some key columns absent) removes every row
/// whose present key columns match.
#[derive(Default)]
struct Table(BTreeMap<Vec<String>, Value>);

impl Table {
    fn apply(&mut self, records: &[Value], key: &[&str]) {
        for r in records {
            let k: Vec<Option<String>> = key
                .iter()
                .map(|c| r[*c].as_str().map(str::to_string))
                .collect();
            if r["_ab_cdc_deleted_at"].is_string() {
                assert!(
                    k.iter().any(Option::is_some),
                    "a tombstone without a key: {r}"
                );
                self.0.retain(|row, _| {
                    !row.iter()
                        .zip(&k)
                        .all(|(have, want)| want.as_ref().is_none_or(|w| w == have))
                });
            } else {
                let k: Vec<String> = k
                    .into_iter()
                    .map(|v| v.unwrap_or_else(|| panic!("a row without its key: {r}")))
                    .collect();
                self.0.insert(k, r.clone());
            }
        }
    }

    fn keys(&self) -> BTreeSet<Vec<String>> {
        self.0.keys().cloned().collect()
    }
}

/// Equal key sets, or a message naming the extra and the missing keys (not the whole sets).
fn assert_same(got: &BTreeSet<Vec<String>>, want: &BTreeSet<Vec<String>>, what: &str) {
    let extra: Vec<_> = got.difference(want).take(5).collect();
    let missing: Vec<_> = want.difference(got).take(5).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "{what}: extra {extra:?}, missing {missing:?}"
    );
}

fn config(sim: &okta_sim::SimServer) -> Value {
    let mut c = config_json(sim);
    c["system_log_settle_seconds"] = json!(0);
    c
}

fn states(run: &Run) -> Value {
    state_file(
        &STREAMS
            .iter()
            .map(|(s, _)| (*s, run.last_state(s)))
            .collect::<Vec<_>>(),
    )
}

fn names() -> Vec<&'static str> {
    STREAMS.iter().map(|(s, _)| *s).collect()
}

#[test]
fn a_first_incremental_sync_with_an_old_start_date_reads_every_entity() {
    let sim = sim_with(|c| {
        c.users = 300;
        c.rate_limits = okta_sim::RateLimitMode::Unlimited;
    });
    let mut cfg = config(&sim);
    let start = chrono::Utc::now() - chrono::Duration::days(85);
    cfg["start_date"] = json!(start.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    let run = read_cfg(&cfg, &names(), true, None).ok();
    for (s, key) in STREAMS {
        let mut t = Table::default();
        t.apply(&run.records(s), key);
        assert_same(&t.keys(), &sim.keys(s), s);
    }
}

/// Applies one sync's records to the tables and checks every table equals the org.
fn apply_and_compare(
    tables: &mut BTreeMap<&'static str, Table>,
    run: &Run,
    sim: &okta_sim::SimServer,
    when: &str,
) {
    for (s, key) in STREAMS {
        tables.entry(s).or_default().apply(&run.records(s), key);
        assert_same(&tables[s].keys(), &sim.keys(s), &format!("{s} {when}"));
    }
}

fn pick<'a>(v: &'a [(String, String)], avoid: &[&str]) -> &'a (String, String) {
    v.iter()
        .find(|(a, b)| !avoid.contains(&a.as_str()) && !avoid.contains(&b.as_str()))
        .expect("a candidate")
}

#[test]
fn every_deletion_and_removal_between_two_syncs_reaches_the_warehouse() {
    let sim = sim_with(|c| {
        c.users = 300;
        c.rate_limits = okta_sim::RateLimitMode::Unlimited;
    });
    let cfg = config(&sim);
    let first = read_cfg(&cfg, &names(), true, None).ok();
    let mut tables: BTreeMap<&str, Table> = BTreeMap::new();
    apply_and_compare(&mut tables, &first, &sim, "after the first sync");

    // Memberships: one member leaves; a member user is deleted (Okta logs only the deletion); a group
    // is deleted with its members.
    let members = sim.group_members();
    let (g0, u0) = members[0].clone();
    assert!(sim.remove_group_member(&g0, &u0));
    let (_, victim) = pick(&members, &[&g0, &u0]).clone();
    assert!(sim.delete_user(&victim));
    let (doomed_group, _) = pick(&members, &[&g0, &u0, &victim]).clone();
    assert!(sim.delete_group(&doomed_group));
    // Apps: an app is deleted, a user and a group unassigned elsewhere.
    let app_users = sim.app_users();
    let (doomed_app, _) = app_users[0].clone();
    assert!(sim.delete_app(&doomed_app));
    if let Some((a, u)) = app_users
        .iter()
        .find(|(a, u)| *a != doomed_app && u["id"] != victim.as_str())
    {
        assert!(sim.unassign_app_user(a, u["id"].as_str().unwrap()));
    }
    if let Some((a, g)) = sim
        .app_groups()
        .iter()
        .find(|(a, g)| g["id"] != doomed_group.as_str() && *a != doomed_app)
    {
        assert!(sim.unassign_app_group(a, g["id"].as_str().unwrap()));
    }
    // Factors: one deactivated, one user's reset, one enrolled.
    let factors: Vec<Vec<String>> = sim.keys("user_factors").into_iter().collect();
    let f = &factors[0];
    assert!(sim.deactivate_factor(&f[0], &f[1]));
    let other = factors
        .iter()
        .find(|k| k[0] != f[0] && k[0] != victim)
        .unwrap();
    assert!(sim.reset_factors(&other[0]));
    // Devices: one deleted, a user removed from another.
    let device_users: Vec<Vec<String>> = sim.keys("device_users").into_iter().collect();
    if let Some(d) = device_users.first() {
        assert!(sim.delete_device(&d[0]));
        if let Some(o) = device_users.iter().find(|k| k[0] != d[0] && k[1] != victim) {
            assert!(sim.remove_device_user(&o[0], &o[1]));
        }
    }
    // And a seeded mix of everything else.
    sim.churn(0.02, 7);

    let second = read_cfg(&cfg, &names(), true, Some(&states(&first))).ok();
    apply_and_compare(&mut tables, &second, &sim, "after the second sync");
    let users = second.records("users");
    assert!(
        users
            .iter()
            .any(|u| u["id"] == victim.as_str() && u["_ab_cdc_deleted_at"].is_string()),
        "a tombstone for the deleted user"
    );
    // A third sync with no change keeps the tables equal to the org; the only tombstones it may emit
    // are replays of the second sync's (the feed re-reads a few minutes of overlap for late events).
    let third = read_cfg(&cfg, &names(), true, Some(&states(&second))).ok();
    for (s, _) in STREAMS {
        let before: BTreeSet<String> = second
            .records(s)
            .iter()
            .filter(|r| r["_ab_cdc_deleted_at"].is_string())
            .map(Value::to_string)
            .collect();
        for r in third
            .records(s)
            .iter()
            .filter(|r| r["_ab_cdc_deleted_at"].is_string())
        {
            let mut r = r.clone();
            // A replayed scoped tombstone of a re-read parent carries the same event time.
            assert!(
                before.contains(&r.to_string()) || {
                    r.as_object_mut().map(|m| m.remove("_ab_cdc_updated_at"));
                    before.iter().any(|b| {
                        let mut b: Value = serde_json::from_str(b).unwrap();
                        b.as_object_mut().map(|m| m.remove("_ab_cdc_updated_at"));
                        b == r
                    })
                },
                "{s}: a new tombstone without a change: {r}"
            );
        }
    }
    apply_and_compare(&mut tables, &third, &sim, "after the third sync");
}

#[test]
fn an_incremental_fan_out_reads_only_the_parents_that_changed() {
    let sim = sim_with(|c| {
        c.users = 400;
        c.rate_limits = okta_sim::RateLimitMode::Unlimited;
    });
    let cfg = config(&sim);
    let first = read_cfg(&cfg, &["user_factors"], true, None).ok();
    let factor_reads = |sim: &okta_sim::SimServer| {
        sim.requests()
            .iter()
            .filter(|r| r.path.ends_with("/factors"))
            .count()
    };
    assert!(factor_reads(&sim) >= 400, "the first sync reads every user");
    let keys: Vec<Vec<String>> = sim.keys("user_factors").into_iter().collect();
    sim.clear_requests();
    assert!(sim.reset_factors(&keys[0][0]));
    assert!(sim.enroll_factor(&keys.last().unwrap()[0]).is_some());
    let second = read_cfg(
        &cfg,
        &["user_factors"],
        true,
        Some(&state_file(&[(
            "user_factors",
            first.last_state("user_factors"),
        )])),
    )
    .ok();
    assert_eq!(
        factor_reads(&sim),
        2,
        "only the two users whose factors changed"
    );
    let mut t = Table::default();
    t.apply(&first.records("user_factors"), &["user_id", "id"]);
    t.apply(&second.records("user_factors"), &["user_id", "id"]);
    assert_same(&t.keys(), &sim.keys("user_factors"), "user_factors");
}

#[test]
fn without_the_log_scope_streams_read_but_end_incomplete_and_keep_their_position() {
    let sim = sim_with(|c| {
        c.users = 100;
        c.rate_limits = okta_sim::RateLimitMode::Unlimited;
    });
    let cfg = config(&sim);
    let first = read_cfg(&cfg, &["users"], true, None).ok();
    let saved = first.last_state("users");
    sim.add_fault(
        okta_sim::Fault::new("/api/v1/logs", okta_sim::FaultKind::Status(403)).times(100),
    );
    let second = read_cfg(
        &cfg,
        &["users"],
        true,
        Some(&state_file(&[("users", saved.clone())])),
    );
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(
        second.statuses("users").last(),
        Some(&airbyte_protocol::StreamStatus::Incomplete)
    );
    assert_eq!(
        second.last_state("users")["changes_since"],
        saved["changes_since"],
        "the feed position does not move past what was not seen"
    );
    assert!(
        second.stderr.contains("cannot see deletions"),
        "{}",
        second.stderr
    );
}

/// The seam between two syncs: an event Okta makes visible only after the sync that should have seen
/// it (eventual consistency) is still applied by the next one, because each feed read starts a few
/// minutes before the previous one ended.
#[test]
fn an_event_that_arrives_late_is_applied_by_the_next_sync() {
    let sim = sim_with(|c| {
        c.users = 100;
        c.rate_limits = okta_sim::RateLimitMode::Unlimited;
    });
    let cfg = config(&sim);
    let streams = ["users", "group_members"];
    let first = read_cfg(&cfg, &streams, true, None).ok();
    let state = |run: &Run| {
        state_file(
            &streams
                .iter()
                .map(|s| (*s, run.last_state(s)))
                .collect::<Vec<_>>(),
        )
    };
    // The deletion happens now, but its events stay invisible until released.
    sim.set_log_delay(std::time::Duration::from_secs(3600));
    let (_, victim) = sim.group_members()[0].clone();
    assert!(sim.delete_user(&victim));
    let second = read_cfg(&cfg, &streams, true, Some(&state(&first))).ok();
    let tombstones = |run: &Run, s: &str| {
        run.records(s)
            .into_iter()
            .filter(|r| r["_ab_cdc_deleted_at"].is_string())
            .count()
    };
    assert_eq!(
        tombstones(&second, "users"),
        0,
        "the event is not visible yet"
    );
    assert!(sim.release_logs() > 0);
    sim.set_log_delay(std::time::Duration::ZERO);
    let third = read_cfg(&cfg, &streams, true, Some(&state(&second))).ok();
    assert!(third
        .records("users")
        .iter()
        .any(|u| u["id"] == victim.as_str() && u["_ab_cdc_deleted_at"].is_string()));
    assert!(third
        .records("group_members")
        .iter()
        .any(|m| m["user_id"] == victim.as_str() && m["_ab_cdc_deleted_at"].is_string()));
    let mut users = Table::default();
    for run in [&first, &second, &third] {
        users.apply(&run.records("users"), &["id"]);
    }
    assert_same(&users.keys(), &sim.keys("users"), "users");
}

/// The largest group, a member of it and a user outside it.
fn big_group(sim: &okta_sim::SimServer) -> (String, String, String, usize) {
    let members = sim.group_members();
    let mut sizes: BTreeMap<&str, usize> = BTreeMap::new();
    for (g, _) in &members {
        *sizes.entry(g.as_str()).or_default() += 1;
    }
    let (g, n) = sizes.iter().max_by_key(|(_, n)| **n).unwrap();
    let member = members.iter().find(|(x, _)| x == g).unwrap().1.clone();
    let outsider = sim
        .users()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .find(|u| !members.contains(&(g.to_string(), u.clone())))
        .unwrap();
    (g.to_string(), member, outsider, *n)
}

fn group_member_requests(sim: &okta_sim::SimServer, g: &str) -> usize {
    let path = format!("/api/v1/groups/{g}/users");
    sim.requests().iter().filter(|r| r.path == path).count()
}

/// Issue 10: when the System Log names the added and removed memberships, an incremental sync emits
/// exactly those rows (one user read per added member), not the whole group again.
#[test]
fn a_membership_change_the_log_names_costs_its_rows_not_the_group() {
    let sim = sim_with(|c| {
        c.users = 1000;
        c.rate_limits = okta_sim::RateLimitMode::Unlimited;
    });
    let cfg = config(&sim);
    let first = read_cfg(&cfg, &["group_members"], true, None).ok();
    assert_eq!(first.last_state("group_members")["complete"], true);
    let (g, leaver, newcomer, size) = big_group(&sim);
    assert!(size > 200, "the group spans several pages ({size} members)");
    let first_reads = group_member_requests(&sim, &g);
    assert!(first_reads >= 2);
    assert!(sim.remove_group_member(&g, &leaver));
    assert!(sim.add_group_member(&g, &newcomer));
    sim.clear_requests();
    let saved = state_file(&[("group_members", first.last_state("group_members"))]);
    let second = read_cfg(&cfg, &["group_members"], true, Some(&saved)).ok();
    let rows = second.records("group_members");
    assert_eq!(rows.len(), 2, "exactly the two changed rows: {rows:?}");
    let tomb = rows
        .iter()
        .find(|r| r["_ab_cdc_deleted_at"].is_string())
        .expect("a tombstone");
    assert_eq!(
        (tomb["group_id"].as_str(), tomb["user_id"].as_str()),
        (Some(g.as_str()), Some(leaver.as_str()))
    );
    let added = rows
        .iter()
        .find(|r| r["_ab_cdc_deleted_at"].is_null())
        .expect("the added row");
    assert_eq!(added["group_id"], g.as_str());
    assert_eq!(added["user_id"], newcomer.as_str());
    assert_eq!(
        added["id"],
        newcomer.as_str(),
        "the row is the user, as in the member list"
    );
    let group = sim
        .groups()
        .into_iter()
        .find(|x| x["id"] == g.as_str())
        .unwrap();
    assert_eq!(
        added["lastMembershipUpdated"],
        group["lastMembershipUpdated"]
    );
    assert_eq!(
        group_member_requests(&sim, &g),
        0,
        "the group is not read again"
    );
    let user_reads = sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/users/"))
        .count();
    assert_eq!(user_reads, 1, "one read of the added member");
    eprintln!(
        "group_members after 1 add + 1 remove in a {size}-member group: {} requests (first sync read the group in {first_reads})",
        sim.requests().len()
    );
    let mut t = Table::default();
    t.apply(&first.records("group_members"), &["group_id", "user_id"]);
    t.apply(&rows, &["group_id", "user_id"]);
    assert_same(&t.keys(), &sim.keys("group_members"), "group_members");
    assert_eq!(second.last_state("group_members")["complete"], true);
}

/// Where the log cannot say exactly what changed, the group is read again in full: a state that does
/// not vouch for every group (an earlier release's, or an interrupted sync's), and events Okta has not
/// made visible yet.
#[test]
fn a_membership_change_the_log_cannot_account_for_rereads_the_group() {
    let sim = sim_with(|c| {
        c.users = 600;
        c.rate_limits = okta_sim::RateLimitMode::Unlimited;
    });
    let cfg = config(&sim);
    let first = read_cfg(&cfg, &["group_members"], true, None).ok();
    let mut t = Table::default();
    t.apply(&first.records("group_members"), &["group_id", "user_id"]);
    let (g, leaver, newcomer, _) = big_group(&sim);
    // 1. A state without `complete`.
    assert!(sim.remove_group_member(&g, &leaver));
    sim.clear_requests();
    let mut old = first.last_state("group_members");
    old.as_object_mut().unwrap().remove("complete");
    let second = read_cfg(
        &cfg,
        &["group_members"],
        true,
        Some(&state_file(&[("group_members", old)])),
    )
    .ok();
    assert!(group_member_requests(&sim, &g) >= 2, "read in full");
    t.apply(&second.records("group_members"), &["group_id", "user_id"]);
    assert_same(
        &t.keys(),
        &sim.keys("group_members"),
        "after an unvouched state",
    );
    // 2. An add whose event is not visible yet: the group's lastMembershipUpdated moved past every
    //    event the log shows.
    sim.set_log_delay(std::time::Duration::from_secs(3600));
    assert!(sim.add_group_member(&g, &newcomer));
    sim.clear_requests();
    let third = read_cfg(
        &cfg,
        &["group_members"],
        true,
        Some(&state_file(&[(
            "group_members",
            second.last_state("group_members"),
        )])),
    )
    .ok();
    assert!(group_member_requests(&sim, &g) >= 2, "read in full");
    t.apply(&third.records("group_members"), &["group_id", "user_id"]);
    assert_same(
        &t.keys(),
        &sim.keys("group_members"),
        "after an invisible event",
    );
}

/// Issue 10: an added or updated app assignment is read alone (`GET /api/v1/apps/{appId}/users/{userId}`),
/// not with the app's whole user list; one that vanished before it could be read (404) is a tombstone.
#[test]
fn an_app_assignment_change_reads_that_row_not_the_app() {
    let sim = sim_with(|c| {
        c.users = 400;
        c.rate_limits = okta_sim::RateLimitMode::Unlimited;
    });
    let cfg = config(&sim);
    let first = read_cfg(&cfg, &["application_users"], true, None).ok();
    let assignments = sim.app_users();
    let mut sizes: BTreeMap<&str, usize> = BTreeMap::new();
    for (a, _) in &assignments {
        *sizes.entry(a.as_str()).or_default() += 1;
    }
    let (app, size) = sizes
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(a, n)| (a.to_string(), *n))
        .unwrap();
    let assigned: BTreeSet<String> = assignments
        .iter()
        .filter(|(a, _)| *a == app)
        .map(|(_, u)| u["id"].as_str().unwrap().to_string())
        .collect();
    let mut outsiders = sim
        .users()
        .into_iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .filter(|u| !assigned.contains(u));
    let (newcomer, doomed) = (outsiders.next().unwrap(), outsiders.next().unwrap());
    let leaver = assigned.iter().next().unwrap().clone();
    assert!(sim.assign_app_user(&app, &newcomer));
    assert!(sim.unassign_app_user(&app, &leaver));
    // Assigned, then deleted: Okta logs the deletion, not the assignment's end.
    assert!(sim.assign_app_user(&app, &doomed));
    assert!(sim.delete_user(&doomed));
    sim.clear_requests();
    let saved = state_file(&[("application_users", first.last_state("application_users"))]);
    let second = read_cfg(&cfg, &["application_users"], true, Some(&saved)).ok();
    let requests = sim.requests();
    let list = format!("/api/v1/apps/{app}/users");
    assert_eq!(
        requests.iter().filter(|r| r.path == list).count(),
        0,
        "the app's user list ({size} rows) is not read again"
    );
    let singles: BTreeSet<String> = requests
        .iter()
        .filter_map(|r| r.path.strip_prefix(&format!("{list}/")).map(str::to_string))
        .collect();
    assert_eq!(
        singles,
        [newcomer.clone(), doomed.clone()].into_iter().collect(),
        "one read per added assignment"
    );
    eprintln!(
        "application_users after 2 adds + 1 remove in a {size}-user app: {} requests, {} records",
        requests.len(),
        second.records("application_users").len()
    );
    let rows = second.records("application_users");
    let live: Vec<&Value> = rows
        .iter()
        .filter(|r| r["_ab_cdc_deleted_at"].is_null())
        .collect();
    assert_eq!(live.len(), 1, "{rows:?}");
    assert_eq!(live[0]["app_id"], app.as_str());
    assert_eq!(live[0]["id"], newcomer.as_str());
    assert!(live[0]["_ab_cdc_updated_at"].is_string());
    let gone = |app_id: Option<&str>, id: &str| {
        rows.iter().any(|r| {
            r["_ab_cdc_deleted_at"].is_string() && r["app_id"].as_str() == app_id && r["id"] == id
        })
    };
    assert!(gone(Some(&app), &leaver), "the removal's tombstone");
    assert!(gone(Some(&app), &doomed), "the 404's tombstone");
    let mut t = Table::default();
    t.apply(&first.records("application_users"), &["app_id", "id"]);
    t.apply(&rows, &["app_id", "id"]);
    assert_same(
        &t.keys(),
        &sim.keys("application_users"),
        "application_users",
    );
}
