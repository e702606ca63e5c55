//! Changes to the simulated org between two syncs, each made as Okta makes it: every affected
//! collection is updated (a deleted user leaves every list and relationship), `lastUpdated` /
//! `lastMembershipUpdated` move where Okta's do, and the System Log gets the event(s) Okta writes
//! for the change, with its real `eventType`, an admin `actor` and Okta-shaped `target[]`.
//!
//! Okta logs the change that was asked for, not its consequences: deleting a user logs
//! `user.lifecycle.delete.initiated` and `.completed` only, not each membership, app assignment,
//! factor, role assignment, device link or group ownership the deletion removed, and it does not
//! move those groups' `lastMembershipUpdated` (the docs don't say it does; a connector must not
//! rely on it). [`Org::churn`] applies a seeded mix of changes for benchmarks.

use bytes::Bytes;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;

use crate::catalog::{id_hash, kind_of, list_examples};
use crate::clock;
use crate::model::{
    event_uuid, mix64, okta_id, write_app_user, AppUserSpec, CustomEvent, LogEvent, Party, Rng,
    User, TITLES,
};
use crate::org::{parse, Item, Org};

/// Random stream of [`Org::churn`] (the org's are below 100, the catalog's from 1 000).
const S_CHURN: u64 = 50;

/// (eventType, displayMessage) of every event a mutation writes (messages from Okta's catalog).
const EVENTS: &[(&str, &str)] = &[
    ("user.lifecycle.create", "Create Okta user"),
    ("user.lifecycle.activate", "Activate Okta user"),
    (
        "user.account.update_profile",
        "Update user profile for Okta",
    ),
    ("user.lifecycle.deactivate", "Deactivate Okta user"),
    (
        "user.lifecycle.delete.initiated",
        "Delete Okta user initiated",
    ),
    (
        "user.lifecycle.delete.completed",
        "Delete Okta user completed",
    ),
    ("group.profile.update", "Okta group profile updated"),
    ("group.lifecycle.delete", "Delete Okta group"),
    ("group.user_membership.add", "Add user to group membership"),
    (
        "group.user_membership.remove",
        "Remove user from group membership",
    ),
    ("application.lifecycle.deactivate", "Deactivate application"),
    ("application.lifecycle.delete", "Delete application"),
    (
        "application.user_membership.add",
        "Add user to application membership",
    ),
    (
        "application.user_membership.remove",
        "Remove user's application membership",
    ),
    (
        "group.application_assignment.add",
        "Add assigned application to group",
    ),
    (
        "group.application_assignment.remove",
        "Remove assigned application from group",
    ),
    (
        "user.mfa.factor.activate",
        "Activate factor or authenticator enrollment method for user",
    ),
    (
        "user.mfa.factor.deactivate",
        "Reset factor or authenticator enrollment method for user",
    ),
    (
        "user.mfa.factor.reset_all",
        "Reset all factors or authenticator enrollments for user",
    ),
    ("device.lifecycle.deactivate", "Deactivate device"),
    ("device.lifecycle.delete", "Delete device"),
    ("device.user.remove", "Remove device from user"),
    ("policy.lifecycle.delete", "Delete policy"),
    ("policy.rule.delete", "Delete policy rule"),
    ("zone.deactivate", "Network zone deactivate"),
    ("zone.delete", "Network zone delete"),
    ("iam.role.delete", "Custom admin role is deleted"),
    ("iam.resourceset.delete", "Resource set is deleted"),
    ("system.idp.lifecycle.delete", "Identity provider deleted"),
];

/// The legacy event types Okta still sends for the older events.
fn legacy(event_type: &str) -> Option<&'static str> {
    Some(match event_type {
        "user.lifecycle.create" => "core.user.config.user_creation.success",
        "user.lifecycle.activate" => "core.user.config.user_activated",
        "user.account.update_profile" => "core.user.config.profile_update.success",
        "user.lifecycle.deactivate" => "core.user.config.user_deactivated",
        "group.user_membership.add" => "core.user_group_member.user_add",
        "group.user_membership.remove" => "core.user_group_member.user_remove",
        "application.user_membership.add" => "app.generic.provision.assign_user_to_app",
        "application.user_membership.remove" => "app.generic.unprovision.user",
        "user.mfa.factor.activate" => "core.user.factor.activate",
        "user.mfa.factor.deactivate" => "core.user.factor.deactivate",
        "user.mfa.factor.reset_all" => "core.user.factor.reset_all",
        _ => return None,
    })
}

/// What [`Org::churn`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChurnReport {
    /// Profiles updated.
    pub users_updated: usize,
    /// Users created (each added to a few groups).
    pub users_created: usize,
    /// Users deactivated (and kept).
    pub users_deactivated: usize,
    /// Users deleted (deactivated first when they weren't).
    pub users_deleted: usize,
    /// Group memberships added (the new users' included).
    pub memberships_added: usize,
    /// Group memberships removed.
    pub memberships_removed: usize,
    /// Direct app assignments added.
    pub app_users_added: usize,
    /// App assignments removed.
    pub app_users_removed: usize,
    /// Single factors deactivated.
    pub factors_deactivated: usize,
    /// Users whose factors were all reset.
    pub factors_reset: usize,
    /// Factors enrolled.
    pub factors_enrolled: usize,
    /// System Log events written.
    pub events: usize,
}

fn user_party(u: &User) -> Party {
    Party::new(&u.id, "User", &u.profile.login, &u.profile.display_name)
}

fn system_party() -> Party {
    Party::new(
        "0oa1okta0system0000",
        "PublicClientApp",
        "Okta System",
        "Okta System",
    )
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

fn app_party(app: &Value) -> Party {
    let label = str_of(app, "label");
    Party::new(str_of(app, "id"), "AppInstance", label, label)
}

fn factor_name(factor_type: &str) -> &'static str {
    match factor_type {
        "question" => "Security Question",
        "sms" => "Phone",
        "call" => "Phone",
        "email" => "Email",
        "push" => "Okta Verify",
        "token:software:totp" => "Google Authenticator",
        "webauthn" => "Security Key or Biometric",
        _ => "Authenticator",
    }
}

/// Remove the item `id` from an id-sorted list.
fn take(items: &mut Vec<Item>, id: &str) -> Option<Item> {
    let i = items.binary_search_by(|x| x.id.as_str().cmp(id)).ok()?;
    Some(items.remove(i))
}

/// Remove the item `id` from the `list` children of `parent`.
fn take_child(
    children: &mut HashMap<&'static str, HashMap<String, Vec<Item>>>,
    list: &str,
    parent: &str,
    id: &str,
) -> Option<Item> {
    take(children.get_mut(list)?.get_mut(parent)?, id)
}

/// Insert (or replace) an item in an id-sorted list.
fn put(items: &mut Vec<Item>, item: Item) {
    match items.binary_search_by(|x| x.id.as_str().cmp(&item.id)) {
        Ok(i) => items[i] = item,
        Err(i) => items.insert(i, item),
    }
}

fn item(id: &str, v: &Value) -> Item {
    Item {
        id: id.to_string(),
        json: Bytes::from(serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec())),
    }
}

impl Org {
    // -----------------------------------------------------------------------------------------
    // The System Log

    /// The admin making the changes: the org's super admin (the first role assignee), or Okta
    /// itself when there is none.
    fn admin(&self) -> Party {
        self.catalog
            .admins
            .first()
            .and_then(|id| self.users.by_id.get(id))
            .map_or_else(system_party, user_party)
    }

    /// Write one event of a mutation made at `now`: `published` is `now`, it becomes visible
    /// [`Org::log_delay_ms`] later.
    pub(crate) fn log(
        &mut self,
        now: i64,
        event_type: &'static str,
        targets: Vec<Party>,
        uri: &str,
    ) {
        let n = self.next_log_n;
        self.next_log_n += 1;
        let display = EVENTS
            .iter()
            .find(|(t, _)| *t == event_type)
            .map_or(event_type, |(_, m)| *m);
        let actor = self.admin();
        let uuid_s = event_uuid(self.seed, n, now);
        let h = mix64(n ^ self.seed.rotate_left(17));
        let rid = format!("{:016x}{:011x}", h, mix64(h) >> 20);
        let ip = format!(
            "10.{}.{}.{}",
            (h >> 8) % 256,
            (h >> 16) % 256,
            1 + (h >> 24) % 254
        );
        let geo = json!({"city": "San Francisco", "state": "California", "country": "United States",
                         "postalCode": "94107", "geolocation": {"lat": 37.7749, "lon": -122.4194}});
        let legacy = legacy(event_type);
        let v = json!({
            "actor": actor,
            "client": {
                "userAgent": {"rawUserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36", "os": "Mac OS X", "browser": "CHROME"},
                "zone": "null", "device": "Computer", "id": null, "ipAddress": ip,
                "geographicalContext": geo
            },
            "authenticationContext": {"authenticationProvider": null, "credentialProvider": null,
                "credentialType": null, "issuer": null, "interface": null, "authenticationStep": 0,
                "rootSessionId": format!("idx{:022x}", h >> 10), "externalSessionId": format!("idx{:022x}", h >> 10)},
            "displayMessage": display,
            "eventType": event_type,
            "outcome": {"result": "SUCCESS", "reason": null},
            "published": clock::iso(now),
            "securityContext": {"asNumber": 394_089, "asOrg": "example isp", "isp": "example", "domain": null, "isProxy": false},
            "severity": "INFO",
            "debugContext": {"debugData": {"requestId": rid, "requestUri": uri, "url": uri}},
            "legacyEventType": legacy,
            "transaction": {"type": "WEB", "id": rid, "detail": {}},
            "uuid": uuid_s,
            "version": "0",
            "request": {"ipChain": [{"ip": ip, "geographicalContext": geo, "version": "V4", "source": null}]},
            "target": targets,
        });
        let mut uuid = [b'0'; 36];
        uuid.copy_from_slice(&uuid_s.as_bytes()[..36]);
        let e = LogEvent {
            published: now,
            persisted: now.saturating_add(self.log_delay_ms),
            uuid,
            kind: 0,
            outcome: "SUCCESS",
            actor: u32::MAX,
            targets: [crate::model::TargetRef::None; 2],
            n,
            rng: 0,
            custom: Some(Box::new(CustomEvent {
                event_type,
                legacy,
                severity: "INFO",
                actor,
                targets,
                json: Bytes::from(serde_json::to_vec(&v).unwrap_or_default()),
            })),
        };
        self.publish_event(e, now);
    }

    fn user_party(&self, uid: &str) -> Option<Party> {
        self.users.by_id.get(uid).map(user_party)
    }

    fn group_party(&self, gid: &str) -> Option<Party> {
        self.groups
            .by_id
            .get(gid)
            .map(|g| Party::new(&g.id, "UserGroup", "unknown", &g.profile.name))
    }

    /// Removes `id` from app `aid`'s `list` children (`app_users`, `app_groups`); the app's JSON when
    /// both exist, else `None` and nothing changes.
    fn take_app_child(&mut self, list: &str, aid: &str, id: &str) -> Option<Value> {
        let app = self.list_value("apps", aid)?;
        take_child(&mut self.children, list, aid, id)?;
        Some(app)
    }

    fn list_value(&self, list: &str, id: &str) -> Option<Value> {
        let items = self.lists.get(list)?;
        let i = items.binary_search_by(|x| x.id.as_str().cmp(id)).ok()?;
        Some(parse(&items[i].json))
    }

    // -----------------------------------------------------------------------------------------
    // Users

    /// Change a profile field of user `id` (its title) at `now`; the new object. Logs
    /// `user.account.update_profile` [User].
    pub fn update_user(&mut self, id: &str, now: i64) -> Option<Value> {
        self.mutations += 1;
        let m = self.mutations as usize;
        let base = self.base.clone();
        let u = self.users.update(id, |u| {
            let cur = TITLES
                .iter()
                .position(|t| *t == u.profile.title)
                .unwrap_or(0);
            u.profile.title = TITLES[(cur + 1 + m % (TITLES.len() - 1)) % TITLES.len()].to_string();
            if u.profile.title == TITLES[cur] {
                u.profile.title = TITLES[(cur + 1) % TITLES.len()].to_string();
            }
            u.last_updated = now;
            u.render(&base);
        })?;
        let (v, party) = (parse(&u.json), user_party(u));
        self.log(
            now,
            "user.account.update_profile",
            vec![party],
            &format!("/api/v1/users/{id}"),
        );
        Some(v)
    }

    /// Create an ACTIVE user at `now` (in no group, no app); the new object. Logs
    /// `user.lifecycle.create` then `user.lifecycle.activate`, each [User].
    pub fn create_user(&mut self, now: i64) -> Value {
        let u = self.generate_user(now);
        let v = parse(&u.json);
        let party = user_party(&u);
        self.user_groups
            .insert(u.id.clone(), std::collections::BTreeSet::new());
        self.users.insert(u);
        self.log(
            now,
            "user.lifecycle.create",
            vec![party.clone()],
            "/api/v1/users",
        );
        self.log(now, "user.lifecycle.activate", vec![party], "/api/v1/users");
        v
    }

    /// Deactivate user `id` (status DEPROVISIONED) at `now`; false when there is no such user or
    /// it already is. Its memberships, assignments and factors stay, as in Okta. Logs
    /// `user.lifecycle.deactivate` [User].
    pub fn deactivate_user(&mut self, id: &str, now: i64) -> bool {
        let base = self.base.clone();
        if self
            .users
            .by_id
            .get(id)
            .is_none_or(|u| u.status == "DEPROVISIONED")
        {
            return false;
        }
        let Some(u) = self.users.update(id, |u| {
            u.status = "DEPROVISIONED";
            u.status_changed = Some(now);
            u.last_updated = now;
            u.render(&base);
        }) else {
            return false;
        };
        let party = user_party(u);
        self.log(
            now,
            "user.lifecycle.deactivate",
            vec![party],
            &format!("/api/v1/users/{id}/lifecycle/deactivate"),
        );
        true
    }

    /// Delete user `id` at `now` (deactivating it first when it isn't DEPROVISIONED, as a first
    /// `DELETE` does in Okta). It leaves every list and relationship: group memberships, app
    /// assignments, factors, role assignments, device users, group owners. Logs
    /// `user.lifecycle.delete.initiated` and `user.lifecycle.delete.completed` [User] only; the
    /// groups' `lastMembershipUpdated` does not move.
    pub fn delete_user(&mut self, id: &str, now: i64) -> bool {
        if !self.users.by_id.contains_key(id) {
            return false;
        }
        self.deactivate_user(id, now);
        let Some(u) = self.users.remove(id) else {
            return false;
        };
        let party = user_party(&u);
        let groups = self.user_groups.remove(id).unwrap_or_default();
        for gid in groups {
            if let Some(m) = self.members.get_mut(&gid) {
                m.remove(id);
            }
        }
        if let Some(apps) = self.children.get_mut("app_users") {
            for items in apps.values_mut() {
                take(items, id);
            }
        }
        // The user's rows of every per-user list derived from the manifest (grants, blocks, ...),
        // and of the lists under them (keyed by the chain of ids from the user's: a client's grants).
        let under = format!("{id}/");
        for s in crate::routes::derived_fan_outs()
            .filter(|s| s.key_columns().first() == Some(&Some("user_id")))
        {
            if let Some(per_user) = self.children.get_mut(s.name) {
                per_user.retain(|k, _| k != id && !k.starts_with(&under));
            }
        }
        // Its linked object values, and its links as another user's primary (a manager gone).
        if let Some(links) = self.children.get_mut(crate::catalog::LINKED_OBJECTS) {
            links.retain(|k, _| !k.starts_with(&under));
            for values in links.values_mut() {
                take(values, id);
            }
            links.retain(|_, v| !v.is_empty());
        }
        if let Some(owners) = self.children.get_mut("group_owners") {
            for items in owners.values_mut() {
                take(items, id);
            }
        }
        if let Some(roles) = self.children.get_mut("user_roles") {
            roles.remove(id);
        }
        if let Some(l) = self.lists.get_mut("role_assignees") {
            take(l, id);
        }
        self.catalog.admins.retain(|a| a != id);
        for d in &mut self.catalog.devices {
            d.users.retain(|x| x != id);
        }
        self.factor_overrides.remove(id);
        let uri = format!("/api/v1/users/{id}");
        self.log(
            now,
            "user.lifecycle.delete.initiated",
            vec![party.clone()],
            &uri,
        );
        self.log(now, "user.lifecycle.delete.completed", vec![party], &uri);
        true
    }

    // -----------------------------------------------------------------------------------------
    // Groups

    fn touch_membership(&mut self, gid: &str, now: i64) {
        let base = self.base.clone();
        self.groups.update(gid, |g| {
            g.last_membership_updated = now;
            g.render(&base);
        });
    }

    /// Change group `id`'s description at `now`. Logs `group.profile.update` [UserGroup].
    pub fn update_group(&mut self, id: &str, now: i64) -> bool {
        self.mutations += 1;
        let m = self.mutations;
        let base = self.base.clone();
        if self
            .groups
            .update(id, |g| {
                g.profile.description = format!("{} (edited {m})", g.profile.name);
                g.last_updated = now;
                g.render(&base);
            })
            .is_none()
        {
            return false;
        }
        let party = self.group_party(id).into_iter().collect();
        self.log(
            now,
            "group.profile.update",
            party,
            &format!("/api/v1/groups/{id}"),
        );
        true
    }

    /// Add user `uid` to group `gid` at `now`, moving the group's `lastMembershipUpdated`; false
    /// when either is unknown or it already is a member. Logs `group.user_membership.add`
    /// [User, UserGroup].
    pub fn add_group_member(&mut self, gid: &str, uid: &str, now: i64) -> bool {
        if !self.users.by_id.contains_key(uid) {
            return false;
        }
        let Some(m) = self.members.get_mut(gid) else {
            return false;
        };
        if !m.insert(uid.to_string()) {
            return false;
        }
        self.user_groups
            .entry(uid.to_string())
            .or_default()
            .insert(gid.to_string());
        self.touch_membership(gid, now);
        let targets = [self.user_party(uid), self.group_party(gid)]
            .into_iter()
            .flatten()
            .collect();
        self.log(
            now,
            "group.user_membership.add",
            targets,
            &format!("/api/v1/groups/{gid}/users/{uid}"),
        );
        true
    }

    /// Remove user `uid` from group `gid` at `now`, moving the group's `lastMembershipUpdated`;
    /// false when it isn't a member. Logs `group.user_membership.remove` [User, UserGroup].
    pub fn remove_group_member(&mut self, gid: &str, uid: &str, now: i64) -> bool {
        let Some(m) = self.members.get_mut(gid) else {
            return false;
        };
        if !m.remove(uid) {
            return false;
        }
        if let Some(s) = self.user_groups.get_mut(uid) {
            s.remove(gid);
        }
        self.touch_membership(gid, now);
        let targets = [self.user_party(uid), self.group_party(gid)]
            .into_iter()
            .flatten()
            .collect();
        self.log(
            now,
            "group.user_membership.remove",
            targets,
            &format!("/api/v1/groups/{gid}/users/{uid}"),
        );
        true
    }

    /// Delete group `gid` at `now`: its memberships, owners, role assignments, app assignments
    /// and the app users assigned through it go with it. Logs `group.lifecycle.delete`
    /// [UserGroup] only.
    pub fn delete_group(&mut self, gid: &str, now: i64) -> bool {
        let Some(party) = self.group_party(gid) else {
            return false;
        };
        self.groups.remove(gid);
        for uid in self.members.remove(gid).unwrap_or_default() {
            if let Some(s) = self.user_groups.get_mut(&uid) {
                s.remove(gid);
            }
        }
        self.group_apps.remove(gid);
        for name in ["group_owners", "group_roles"] {
            if let Some(c) = self.children.get_mut(name) {
                c.remove(gid);
            }
        }
        if let Some(c) = self.children.get_mut("app_groups") {
            for items in c.values_mut() {
                take(items, gid);
            }
        }
        let via = format!("/api/v1/groups/{gid}\"");
        if let Some(c) = self.children.get_mut("app_users") {
            for items in c.values_mut() {
                items.retain(|i| {
                    !(i.json.windows(via.len()).any(|w| w == via.as_bytes())
                        && parse(&i.json)["scope"] == "GROUP")
                });
            }
        }
        self.log(
            now,
            "group.lifecycle.delete",
            vec![party],
            &format!("/api/v1/groups/{gid}"),
        );
        true
    }

    // -----------------------------------------------------------------------------------------
    // Apps

    /// Deactivate app `aid` at `now` (status INACTIVE, `lastUpdated` moves); false when unknown or
    /// already inactive. Logs `application.lifecycle.deactivate` [AppInstance].
    pub fn deactivate_app(&mut self, aid: &str, now: i64) -> bool {
        let Some(mut v) = self.list_value("apps", aid) else {
            return false;
        };
        if v["status"] == "INACTIVE" {
            return false;
        }
        v["status"] = json!("INACTIVE");
        v["lastUpdated"] = json!(clock::iso(now));
        if let Some(l) = self.lists.get_mut("apps") {
            put(l, item(aid, &v));
        }
        self.log(
            now,
            "application.lifecycle.deactivate",
            vec![app_party(&v)],
            &format!("/api/v1/apps/{aid}/lifecycle/deactivate"),
        );
        true
    }

    /// Delete app `aid` at `now` (deactivating it first, as Okta requires): its user and group
    /// assignments go with it. Logs `application.lifecycle.deactivate` (when it was active) and
    /// `application.lifecycle.delete` [AppInstance].
    pub fn delete_app(&mut self, aid: &str, now: i64) -> bool {
        if self.list_value("apps", aid).is_none() {
            return false;
        }
        self.deactivate_app(aid, now);
        let Some(v) = self
            .lists
            .get_mut("apps")
            .and_then(|l| take(l, aid))
            .map(|i| parse(&i.json))
        else {
            return false;
        };
        if let Some(c) = self.children.get_mut("app_users") {
            c.remove(aid);
        }
        let groups = self
            .children
            .get_mut("app_groups")
            .and_then(|c| c.remove(aid))
            .unwrap_or_default();
        for g in groups {
            if let Some(n) = self.group_apps.get_mut(&g.id) {
                *n = n.saturating_sub(1);
            }
        }
        self.log(
            now,
            "application.lifecycle.delete",
            vec![app_party(&v)],
            &format!("/api/v1/apps/{aid}"),
        );
        true
    }

    fn app_user_party(&self, aid: &str, u: &User) -> Party {
        let n = id_hash(aid) ^ id_hash(&u.id).rotate_left(29);
        Party::new(
            okta_id("0ua", self.seed, kind_of("app_user_targets"), n),
            "AppUser",
            &u.profile.login,
            &u.profile.display_name,
        )
    }

    /// Assign user `uid` to app `aid` directly (scope USER) at `now`; false when either is
    /// unknown or it already is assigned. Logs `application.user_membership.add`
    /// [AppUser, AppInstance, User] (the AppUser target's id is Okta's internal app-user id, not
    /// the user id).
    pub fn assign_app_user(&mut self, aid: &str, uid: &str, now: i64) -> bool {
        let (Some(app), Some(u)) = (self.list_value("apps", aid), self.users.by_id.get(uid)) else {
            return false;
        };
        let exists = self
            .children
            .get("app_users")
            .and_then(|c| c.get(aid))
            .is_some_and(|l| l.binary_search_by(|x| x.id.as_str().cmp(uid)).is_ok());
        if exists {
            return false;
        }
        let mut buf = Vec::with_capacity(1024);
        let spec = AppUserSpec {
            app_id: aid,
            user: u,
            scope: "USER",
            via_group: None,
            created: now,
            last_updated: now,
            provisioned: false,
            role: "User",
            external_id: None,
        };
        write_app_user(&self.base, &spec, &mut buf);
        let targets = vec![self.app_user_party(aid, u), app_party(&app), user_party(u)];
        let it = Item {
            id: uid.to_string(),
            json: Bytes::from(buf),
        };
        put(
            self.children
                .entry("app_users")
                .or_default()
                .entry(aid.to_string())
                .or_default(),
            it,
        );
        self.log(
            now,
            "application.user_membership.add",
            targets,
            &format!("/api/v1/apps/{aid}/users"),
        );
        true
    }

    /// Remove user `uid`'s assignment to app `aid` at `now` (whatever its scope); false when it
    /// has none. Logs `application.user_membership.remove` [AppUser, AppInstance, User].
    pub fn unassign_app_user(&mut self, aid: &str, uid: &str, now: i64) -> bool {
        let Some(app) = self.take_app_child("app_users", aid, uid) else {
            return false;
        };
        let targets = match self.users.by_id.get(uid) {
            Some(u) => vec![self.app_user_party(aid, u), app_party(&app), user_party(u)],
            None => vec![app_party(&app)],
        };
        self.log(
            now,
            "application.user_membership.remove",
            targets,
            &format!("/api/v1/apps/{aid}/users/{uid}"),
        );
        true
    }

    /// Assign group `gid` to app `aid` at `now` (the assignment only: no app users are created
    /// for its members); false when either is unknown or it already is. Logs
    /// `group.application_assignment.add` [AppInstance, UserGroup].
    pub fn assign_app_group(&mut self, aid: &str, gid: &str, now: i64) -> bool {
        let (Some(app), Some(gp)) = (self.list_value("apps", aid), self.group_party(gid)) else {
            return false;
        };
        let base = self.base.clone();
        let list = self
            .children
            .entry("app_groups")
            .or_default()
            .entry(aid.to_string())
            .or_default();
        if list.binary_search_by(|x| x.id.as_str().cmp(gid)).is_ok() {
            return false;
        }
        let v = json!({
            "id": gid,
            "priority": list.len(),
            "lastUpdated": clock::iso(now),
            "profile": {"role": "User", "department": null},
            "_links": {
                "app": {"href": format!("{base}/api/v1/apps/{aid}")},
                "self": {"href": format!("{base}/api/v1/apps/{aid}/groups/{gid}")},
                "group": {"href": format!("{base}/api/v1/groups/{gid}")}
            }
        });
        put(list, item(gid, &v));
        *self.group_apps.entry(gid.to_string()).or_default() += 1;
        self.log(
            now,
            "group.application_assignment.add",
            vec![app_party(&app), gp],
            &format!("/api/v1/apps/{aid}/groups/{gid}"),
        );
        true
    }

    /// Remove group `gid`'s assignment to app `aid` at `now` (app users assigned through it are
    /// kept); false when there is none. Logs `group.application_assignment.remove`
    /// [AppInstance, UserGroup].
    pub fn unassign_app_group(&mut self, aid: &str, gid: &str, now: i64) -> bool {
        let Some(app) = self.take_app_child("app_groups", aid, gid) else {
            return false;
        };
        if let Some(n) = self.group_apps.get_mut(gid) {
            *n = n.saturating_sub(1);
        }
        let targets = std::iter::once(app_party(&app))
            .chain(self.group_party(gid))
            .collect();
        self.log(
            now,
            "group.application_assignment.remove",
            targets,
            &format!("/api/v1/apps/{aid}/groups/{gid}"),
        );
        true
    }

    // -----------------------------------------------------------------------------------------
    // Factors

    /// User `uid`'s factors, made explicit so they can change.
    fn factors_mut(&mut self, uid: &str) -> Option<&mut Vec<Value>> {
        if !self.users.by_id.contains_key(uid) {
            return None;
        }
        if !self.factor_overrides.contains_key(uid) {
            let f = crate::catalog::user_factors(self, uid);
            self.factor_overrides.insert(uid.to_string(), f);
        }
        self.factor_overrides.get_mut(uid)
    }

    /// Deactivate (remove) factor `fid` of user `uid` at `now`; false when it has no such factor.
    /// Logs `user.mfa.factor.deactivate` [User, AuthenticatorEnrollment].
    pub fn deactivate_factor(&mut self, uid: &str, fid: &str, now: i64) -> bool {
        let Some(list) = self.factors_mut(uid) else {
            return false;
        };
        let Some(i) = list.iter().position(|f| f["id"] == fid) else {
            return false;
        };
        let f = list.remove(i);
        let enrollment = Party::new(
            fid,
            "AuthenticatorEnrollment",
            "unknown",
            factor_name(str_of(&f, "factorType")),
        );
        let targets = self
            .user_party(uid)
            .into_iter()
            .chain([enrollment])
            .collect();
        self.log(
            now,
            "user.mfa.factor.deactivate",
            targets,
            &format!("/api/v1/users/{uid}/factors/{fid}"),
        );
        true
    }

    /// Reset every factor of user `uid` at `now`; false when it has none. Logs
    /// `user.mfa.factor.reset_all` [User].
    pub fn reset_factors(&mut self, uid: &str, now: i64) -> bool {
        let Some(list) = self.factors_mut(uid) else {
            return false;
        };
        if list.is_empty() {
            return false;
        }
        list.clear();
        let targets = self.user_party(uid).into_iter().collect();
        self.log(
            now,
            "user.mfa.factor.reset_all",
            targets,
            &format!("/api/v1/users/{uid}/lifecycle/reset_factors"),
        );
        true
    }

    /// Enroll user `uid` in a factor type it doesn't have yet, ACTIVE, created at `now`; the new
    /// factor, or `None` when the user is unknown or has every type. Logs
    /// `user.mfa.factor.activate` [User, AuthenticatorEnrollment].
    pub fn enroll_factor(&mut self, uid: &str, now: i64) -> Option<Value> {
        self.minted += 1;
        let n = self.minted;
        let (seed, base) = (self.seed, self.base.clone());
        let list = self.factors_mut(uid)?;
        let tpl = list_examples("user_factors")
            .into_iter()
            .find(|t| !list.iter().any(|f| f["factorType"] == t["factorType"]))?;
        let old = str_of(tpl, "id");
        let fid = okta_id(
            old.get(..3).unwrap_or("ufs"),
            seed,
            kind_of("enrolled_factors"),
            n,
        );
        let mut v =
            crate::catalog::instantiate(tpl, &base, &[(old, &fid), ("00u15s1KDETTQMQYABRL", uid)]);
        v["id"] = json!(fid);
        v["status"] = json!("ACTIVE");
        if let Some(m) = v.as_object_mut() {
            for k in ["created", "lastUpdated"] {
                if m.contains_key(k) {
                    m.insert(k.into(), json!(clock::iso(now)));
                }
            }
        }
        list.push(v.clone());
        let enrollment = Party::new(
            &fid,
            "AuthenticatorEnrollment",
            "unknown",
            factor_name(str_of(&v, "factorType")),
        );
        let targets = self
            .user_party(uid)
            .into_iter()
            .chain([enrollment])
            .collect();
        self.log(
            now,
            "user.mfa.factor.activate",
            targets,
            &format!("/api/v1/users/{uid}/factors/{fid}/lifecycle/activate"),
        );
        Some(v)
    }

    // -----------------------------------------------------------------------------------------
    // Devices

    fn device_party(&self, i: usize) -> Party {
        let d = &self.catalog.devices[i];
        let name = format!("Device {}", d.n);
        Party::new(&d.id, "Device", &d.id, name)
    }

    /// Delete device `did` at `now` (deactivating it first, as Okta requires). Logs
    /// `device.lifecycle.deactivate` (when it was active) and `device.lifecycle.delete` [Device].
    pub fn delete_device(&mut self, did: &str, now: i64) -> bool {
        let Ok(i) = self
            .catalog
            .devices
            .binary_search_by(|d| d.id.as_str().cmp(did))
        else {
            return false;
        };
        let party = self.device_party(i);
        if self.catalog.devices[i].status == "ACTIVE" {
            let d = &mut self.catalog.devices[i];
            d.status = "DEACTIVATED";
            d.last_updated = now;
            self.log(
                now,
                "device.lifecycle.deactivate",
                vec![party.clone()],
                &format!("/api/v1/devices/{did}/lifecycle/deactivate"),
            );
        }
        self.catalog.devices.remove(i);
        self.log(
            now,
            "device.lifecycle.delete",
            vec![party],
            &format!("/api/v1/devices/{did}"),
        );
        true
    }

    /// Remove user `uid` from device `did` at `now` (the device stays, its `lastUpdated` doesn't
    /// move); false when it isn't a user of it. Logs `device.user.remove` [Device, User].
    pub fn remove_device_user(&mut self, did: &str, uid: &str, now: i64) -> bool {
        let Ok(i) = self
            .catalog
            .devices
            .binary_search_by(|d| d.id.as_str().cmp(did))
        else {
            return false;
        };
        let users = &mut self.catalog.devices[i].users;
        let Some(j) = users.iter().position(|u| u == uid) else {
            return false;
        };
        users.remove(j);
        let targets = std::iter::once(self.device_party(i))
            .chain(self.user_party(uid))
            .collect();
        self.log(
            now,
            "device.user.remove",
            targets,
            &format!("/api/v1/devices/{did}/users/{uid}"),
        );
        true
    }

    // -----------------------------------------------------------------------------------------
    // Configuration objects

    /// Delete policy `pid` (any type) and its rules at `now`. Logs `policy.lifecycle.delete`
    /// [PolicyEntity] only.
    pub fn delete_policy(&mut self, pid: &str, now: i64) -> bool {
        let mut found = None;
        for items in self.catalog.policies.values_mut() {
            if let Some(it) = take(items, pid) {
                found = Some(parse(&it.json));
                break;
            }
        }
        let Some(v) = found else {
            return false;
        };
        if let Some(c) = self.children.get_mut("policy_rules") {
            c.remove(pid);
        }
        let party = Party::new(pid, "PolicyEntity", "unknown", str_of(&v, "name"))
            .detail(json!({"policyType": str_of(&v, "type")}));
        self.log(
            now,
            "policy.lifecycle.delete",
            vec![party],
            &format!("/api/v1/policies/{pid}"),
        );
        true
    }

    /// Delete rule `rid` of policy `pid` at `now`. Logs `policy.rule.delete`
    /// [PolicyEntity, PolicyRule] (the rule's `alternateId` is its policy id).
    pub fn delete_policy_rule(&mut self, pid: &str, rid: &str, now: i64) -> bool {
        let Some(rule) =
            take_child(&mut self.children, "policy_rules", pid, rid).map(|i| parse(&i.json))
        else {
            return false;
        };
        let policy = self
            .catalog
            .policies
            .values()
            .find_map(|l| {
                l.binary_search_by(|x| x.id.as_str().cmp(pid))
                    .ok()
                    .map(|i| parse(&l[i].json))
            })
            .unwrap_or(Value::Null);
        let targets = vec![
            Party::new(pid, "PolicyEntity", "unknown", str_of(&policy, "name"))
                .detail(json!({"policyType": str_of(&policy, "type")})),
            Party::new(rid, "PolicyRule", pid, str_of(&rule, "name")),
        ];
        self.log(
            now,
            "policy.rule.delete",
            targets,
            &format!("/api/v1/policies/{pid}/rules/{rid}"),
        );
        true
    }

    fn delete_listed(
        &mut self,
        list: &'static str,
        children: &[&'static str],
        id: &str,
    ) -> Option<Value> {
        let v = self
            .lists
            .get_mut(list)
            .and_then(|l| take(l, id))
            .map(|i| parse(&i.json))?;
        for c in children {
            if let Some(m) = self.children.get_mut(c) {
                m.remove(id);
            }
        }
        Some(v)
    }

    /// Delete network zone `zid` at `now` (deactivating it first, as Okta requires). Logs
    /// `zone.deactivate` (when it was active) and `zone.delete` [Zone].
    pub fn delete_zone(&mut self, zid: &str, now: i64) -> bool {
        let Some(v) = self.delete_listed("network_zones", &[], zid) else {
            return false;
        };
        let party = Party::new(zid, "Zone", str_of(&v, "name"), str_of(&v, "name"));
        let uri = format!("/api/v1/zones/{zid}");
        if v["status"] == "ACTIVE" {
            self.log(
                now,
                "zone.deactivate",
                vec![party.clone()],
                &format!("{uri}/lifecycle/deactivate"),
            );
        }
        self.log(now, "zone.delete", vec![party], &uri);
        true
    }

    /// Delete custom role `rid` with its permissions and subscriptions at `now`. Logs
    /// `iam.role.delete` [ROLE].
    pub fn delete_custom_role(&mut self, rid: &str, now: i64) -> bool {
        let Some(v) = self.delete_listed(
            "custom_roles",
            &["role_permissions", "role_subscriptions"],
            rid,
        ) else {
            return false;
        };
        let party = Party::new(rid, "ROLE", rid, str_of(&v, "label"));
        self.log(
            now,
            "iam.role.delete",
            vec![party],
            &format!("/api/v1/iam/roles/{rid}"),
        );
        true
    }

    /// Delete resource set `sid` with its resources at `now`. Logs `iam.resourceset.delete`
    /// [RESOURCE_SET].
    pub fn delete_resource_set(&mut self, sid: &str, now: i64) -> bool {
        let Some(v) = self.delete_listed("resource_sets", &["resource_set_resources"], sid) else {
            return false;
        };
        let party = Party::new(sid, "RESOURCE_SET", sid, str_of(&v, "label"));
        self.log(
            now,
            "iam.resourceset.delete",
            vec![party],
            &format!("/api/v1/iam/resource-sets/{sid}"),
        );
        true
    }

    /// Delete identity provider `iid` at `now`. Logs `system.idp.lifecycle.delete`
    /// [IdentityProvider].
    pub fn delete_idp(&mut self, iid: &str, now: i64) -> bool {
        let Some(v) = self.delete_listed("identity_providers", &[], iid) else {
            return false;
        };
        let name = str_of(&v, "name");
        let party = Party::new(iid, "IdentityProvider", name, name)
            .detail(json!({"type": str_of(&v, "type")}));
        self.log(
            now,
            "system.idp.lifecycle.delete",
            vec![party],
            &format!("/api/v1/idps/{iid}"),
        );
        true
    }

    // -----------------------------------------------------------------------------------------
    // Churn

    /// Change about `fraction` of the org, seeded by `seed`, each change at its own instant from
    /// `tick`: profile updates (`fraction` of the users), deactivations, deletions and creations
    /// (a tenth of that each), membership adds (as many) and removes (half), direct app
    /// assignments added and removed (half each), single factors deactivated (half), factor
    /// resets and enrollments (a tenth and a quarter). Admins are never deleted or deactivated.
    pub fn churn(
        &mut self,
        fraction: f64,
        seed: u64,
        mut tick: impl FnMut() -> i64,
    ) -> ChurnReport {
        let mut r = ChurnReport::default();
        let events_before = self.next_log_n;
        let mut rng = Rng::derive(self.seed ^ seed, S_CHURN, seed);
        let users: Vec<String> = self.users.by_id.keys().cloned().collect();
        let groups: Vec<String> = self.groups.by_id.keys().cloned().collect();
        let apps: Vec<String> = self
            .lists
            .get("apps")
            .map(|l| l.iter().map(|i| i.id.clone()).collect())
            .unwrap_or_default();
        if users.is_empty() {
            return r;
        }
        let f = fraction.clamp(0.0, 1.0);
        let n = ((users.len() as f64) * f).round() as usize;
        let tenth = n.div_ceil(10).min(n);
        let pick = |rng: &mut Rng, v: &[String]| -> Option<String> {
            (!v.is_empty()).then(|| v[rng.below(v.len())].clone())
        };
        let protected: Vec<String> = self.catalog.admins.clone();
        for _ in 0..n {
            if let Some(u) = pick(&mut rng, &users) {
                if self.update_user(&u, tick()).is_some() {
                    r.users_updated += 1;
                }
            }
        }
        for _ in 0..tenth {
            if let Some(u) = pick(&mut rng, &users) {
                if !protected.contains(&u) && self.deactivate_user(&u, tick()) {
                    r.users_deactivated += 1;
                }
            }
        }
        for _ in 0..tenth {
            if let Some(u) = pick(&mut rng, &users) {
                if !protected.contains(&u) && self.delete_user(&u, tick()) {
                    r.users_deleted += 1;
                }
            }
        }
        for _ in 0..tenth {
            let v = self.create_user(tick());
            r.users_created += 1;
            let uid = str_of(&v, "id").to_string();
            for _ in 0..2 {
                if let Some(g) = pick(&mut rng, &groups) {
                    if self.add_group_member(&g, &uid, tick()) {
                        r.memberships_added += 1;
                    }
                }
            }
        }
        // Live users only from here on (some were deleted above).
        let users: Vec<String> = self.users.by_id.keys().cloned().collect();
        for _ in 0..n {
            if let (Some(g), Some(u)) = (pick(&mut rng, &groups), pick(&mut rng, &users)) {
                if self.add_group_member(&g, &u, tick()) {
                    r.memberships_added += 1;
                }
            }
        }
        for _ in 0..n / 2 {
            if let Some(u) = pick(&mut rng, &users) {
                let gs: Vec<String> = self
                    .user_groups
                    .get(&u)
                    .map(|s| s.iter().cloned().collect())
                    .unwrap_or_default();
                if let Some(g) = pick(&mut rng, &gs) {
                    if self.remove_group_member(&g, &u, tick()) {
                        r.memberships_removed += 1;
                    }
                }
            }
        }
        for _ in 0..n / 2 {
            if let (Some(a), Some(u)) = (pick(&mut rng, &apps), pick(&mut rng, &users)) {
                if self.assign_app_user(&a, &u, tick()) {
                    r.app_users_added += 1;
                }
            }
        }
        for _ in 0..n / 2 {
            let Some(a) = pick(&mut rng, &apps) else {
                break;
            };
            let assigned: Vec<String> = self
                .children
                .get("app_users")
                .and_then(|c| c.get(&a))
                .map(|l| l.iter().map(|i| i.id.clone()).collect())
                .unwrap_or_default();
            if let Some(u) = pick(&mut rng, &assigned) {
                if self.unassign_app_user(&a, &u, tick()) {
                    r.app_users_removed += 1;
                }
            }
        }
        for _ in 0..n / 2 {
            if let Some(u) = pick(&mut rng, &users) {
                let fids: Vec<String> = crate::catalog::user_factors(self, &u)
                    .iter()
                    .map(|f| str_of(f, "id").to_string())
                    .collect();
                if let Some(fid) = pick(&mut rng, &fids) {
                    if self.deactivate_factor(&u, &fid, tick()) {
                        r.factors_deactivated += 1;
                    }
                }
            }
        }
        for _ in 0..tenth {
            if let Some(u) = pick(&mut rng, &users) {
                if self.reset_factors(&u, tick()) {
                    r.factors_reset += 1;
                }
            }
        }
        for _ in 0..n / 4 {
            if let Some(u) = pick(&mut rng, &users) {
                if self.enroll_factor(&u, tick()).is_some() {
                    r.factors_enrolled += 1;
                }
            }
        }
        r.events = (self.next_log_n - events_before) as usize;
        r
    }
}
