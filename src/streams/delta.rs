//! Incremental fan-outs driven by the change feed (`user_factors`, `user_role_assignments`,
//! `group_owners`, `application_users`, `application_groups`, `device_users`).
//!
//! The first incremental read is a complete fan-out over every parent, checkpointed after each parent
//! (`done_through`), so a killed read resumes after the last finished parent. Later reads cost requests in
//! proportion to what changed: the change feed names the parents to read again and the rows that are
//! gone, by the [`rules`] of each stream:
//!
//! * `Replace`: the parent's rows are replaced: a scoped tombstone (the parent column only), then the
//!   parent's current rows (factors after a factor change, admin roles after a privilege change);
//! * `Reread`: the parent's current rows (an app created);
//! * `Fetch`: one row changed, its whole key named by the event's targets: that row alone is read
//!   (`GET /api/v1/apps/{appId}/users/{userId}` after an assignment is added or updated), and a 404
//!   means it is gone: a tombstone;
//! * `Remove`: one row is gone, its whole key named by the event's targets, unless a later event of the
//!   same key restored it;
//! * `Scoped`: every row of a deleted entity is gone: a scoped tombstone carrying only that column (the
//!   deleted user's `user_id`), because Okta logs the deletion, not each row it removed.
//!
//! Every row carries `_ab_cdc_updated_at` (when it was read; a tombstone's is the event time), the cursor
//! by which a destination orders a row after the tombstones that precede it. Tombstones come before the
//! rows read again in the same sync.

use crate::error::Result;
use crate::okta::page::Extract;
use crate::output::Row;
use crate::streams::changes::{self, Change, DELETED_AT};
use crate::streams::context::StreamRun;
use crate::streams::cursor::{self, DeltaState, Ts};
use crate::streams::incremental::format_ts;
use crate::streams::list::{
    column, emit_page, encode_segment, fan_out_over, parent_keys, HandoffKeys,
};
use crate::streams::{Parent, ParentKey};
use chrono::Utc;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The cursor column of these streams.
pub const UPDATED_AT: &str = "_ab_cdc_updated_at";

/// Beyond this many changed rows of one parent (`Fetch`), the parent is read again instead: a page of
/// its list holds hundreds of rows.
pub const MAX_SINGLE_READS: usize = 20;

/// What one event means for a stream's rows.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    /// Replace the rows of the parent named by the target of this kind.
    Replace(&'static str),
    /// Read the rows of the parent named by the target of this kind again.
    Reread(&'static str),
    /// One row is gone: (column, target kind) for every key column, the parent column first.
    Remove(&'static [(&'static str, &'static str)]),
    /// One row changed: (column, target kind) for every key column, the parent column first; the row
    /// is read alone at the parent's path followed by `/{the last key value}`.
    Fetch(&'static [(&'static str, &'static str)]),
    /// Every row whose `column` is the target of this kind is gone.
    Scoped(&'static str, &'static str),
    /// Replace the rows of every parent (Okta removed rows it does not log: a deleted group's app users).
    ReplaceAll,
}

use Action::{Fetch, Remove, Replace, ReplaceAll, Reread, Scoped};

/// (column, target kind) for each key column of a removed row.
type KeyTargets = &'static [(&'static str, &'static str)];

const USER_DELETED: (&str, Action) = (changes::USER_DELETED, Scoped("user_id", "User"));
/// An app assignment: (`app_id`, `id`) = the `AppInstance` and `User` targets.
const APP_USER: KeyTargets = &[("app_id", "AppInstance"), ("id", "User")];

/// The events each feed-driven stream follows.
pub fn rules(stream: &str) -> &'static [(&'static str, Action)] {
    match stream {
        "user_factors" => &[
            ("user.mfa.factor.activate", Replace("User")),
            ("user.mfa.factor.deactivate", Replace("User")),
            ("user.mfa.factor.reset_all", Replace("User")),
            ("user.mfa.factor.suspend", Replace("User")),
            ("user.mfa.factor.unsuspend", Replace("User")),
            ("user.mfa.factor.update", Replace("User")),
            ("user.lifecycle.create", Reread("User")),
            USER_DELETED,
        ],
        "user_role_assignments" => &[
            ("user.account.privilege.grant", Replace("User")),
            ("user.account.privilege.revoke", Replace("User")),
            USER_DELETED,
        ],
        "group_owners" => &[
            ("resource.owner.update", Replace("UserGroup")),
            ("group.lifecycle.create", Reread("UserGroup")),
            (changes::GROUP_DELETED, Scoped("group_id", "UserGroup")),
            (changes::USER_DELETED, Scoped("id", "User")),
        ],
        "application_users" => &[
            ("application.user_membership.add", Fetch(APP_USER)),
            ("application.user_membership.update", Fetch(APP_USER)),
            (
                "application.user_membership.change_username",
                Fetch(APP_USER),
            ),
            ("application.user_membership.provision", Fetch(APP_USER)),
            ("application.user_membership.deprovision", Fetch(APP_USER)),
            ("application.user_membership.approve", Fetch(APP_USER)),
            ("application.user_membership.revoke", Fetch(APP_USER)),
            ("application.user_membership.restore", Fetch(APP_USER)),
            ("application.user_membership.remove", Remove(APP_USER)),
            ("application.lifecycle.create", Reread("AppInstance")),
            (
                "application.lifecycle.delete",
                Scoped("app_id", "AppInstance"),
            ),
            (changes::USER_DELETED, Scoped("id", "User")),
            // Users assigned to apps through a deleted group lose those assignments, unlogged.
            (changes::GROUP_DELETED, ReplaceAll),
        ],
        "application_groups" => &[
            ("group.application_assignment.add", Reread("AppInstance")),
            ("group.application_assignment.update", Reread("AppInstance")),
            (
                "group.application_assignment.remove",
                Remove(&[("app_id", "AppInstance"), ("id", "UserGroup")]),
            ),
            (
                "application.lifecycle.delete",
                Scoped("app_id", "AppInstance"),
            ),
            (changes::GROUP_DELETED, Scoped("id", "UserGroup")),
        ],
        "device_users" => &[
            ("device.user.add", Reread("Device")),
            (
                "device.user.remove",
                Remove(&[("device_id", "Device"), ("user_id", "User")]),
            ),
            (changes::DEVICE_DELETED, Scoped("device_id", "Device")),
            USER_DELETED,
        ],
        _ => &[],
    }
}

/// The feed-driven streams and their parent column.
pub const STREAMS: &[(&str, &str)] = &[
    ("user_factors", "user_id"),
    ("user_role_assignments", "user_id"),
    ("group_owners", "group_id"),
    ("application_users", "app_id"),
    ("application_groups", "app_id"),
    ("device_users", "device_id"),
];

/// Every event type some feed-driven stream follows.
pub fn event_types() -> BTreeSet<&'static str> {
    STREAMS
        .iter()
        .flat_map(|(s, _)| rules(s).iter().map(|(e, _)| *e))
        .collect()
}

/// What an action does, for the README's table.
pub fn describe(action: Action, parent_col: &str) -> String {
    match action {
        Replace(kind) => format!(
            "scoped tombstone on `{parent_col}` = the `{kind}` target, then that parent is read again"
        ),
        Reread(kind) => format!("the parent `{parent_col}` = the `{kind}` target is read again"),
        Remove(cols) => format!("tombstone ({})", key_text(cols)),
        Fetch(cols) => format!(
            "the row ({}) is read alone; gone (404): tombstone",
            key_text(cols)
        ),
        Scoped(col, kind) => format!("scoped tombstone: `{col}` = the `{kind}` target"),
        ReplaceAll => format!("every `{parent_col}` is replaced and read again"),
    }
}

fn key_text(cols: KeyTargets) -> String {
    let k: Vec<String> = cols
        .iter()
        .map(|(c, kind)| format!("`{c}` = `{kind}`"))
        .collect();
    k.join(", ")
}

fn state(since: Option<Ts>, progress: Option<(Ts, &str)>) -> Value {
    cursor::to_value(&DeltaState::new(since, progress))
}

/// Reads a feed-driven fan-out: complete the first time, then only what the feed says changed.
pub async fn read(
    run: &mut StreamRun<'_>,
    parent: Parent,
    path: &str,
    extract: Extract,
    col: &str,
) -> Result<()> {
    let now = format_ts(Utc::now());
    run.stamp = Some(now.clone());
    let saved: DeltaState = cursor::load(run)?;
    let interrupted = saved.interrupted();
    let Some(since) = saved.changes_since else {
        return read_all(run, parent, path, extract, interrupted).await;
    };
    let retained = Utc::now() - chrono::Duration::days(crate::config::SYSTEM_LOG_RETENTION_DAYS);
    if since.at() < retained {
        // Changes in the gap cannot be known: read every parent again (rows deleted meanwhile can only
        // go with a full refresh, which the change feed's warning recommends).
        return read_all(run, parent, path, extract, None).await;
    }
    let result = changes::feed(run.ctx).await;
    let feed = match result {
        Ok(f) => f,
        Err(reason) => {
            // Nothing can be known to have changed: keep the position so nothing is lost.
            run.incomplete = Some(reason);
            return run.checkpoint(&state(Some(since), None));
        }
    };
    let until = Ts::from(feed.until);
    let rules = rules(run.def.name);
    let window: Vec<&Change> = feed.since(since.at()).collect();
    // Parents finished in an interrupted read of this window only need what came after it.
    let skip = |parent: &str, c: &Change| match &interrupted {
        Some((cut, done)) => parent <= done.as_str() && Ts::from(c.at) <= *cut,
        None => false,
    };
    let mut scoped: Vec<String> = Vec::new();
    let mut per_parent: BTreeMap<String, (bool, Vec<String>)> = BTreeMap::new();
    // A ReplaceAll event replaces every parent the first time it is seen (resumes skip done parents).
    let mut replace_all: Option<&Change> = None;
    // Removed or changed rows, one per key: the latest event of a key decides (a removal undone by a
    // later add is no deletion; an add undone by a later removal is one). A removed key added again
    // by a `Reread` event is safe too: its parent is then read again, after the tombstone.
    let mut keyed: HashMap<Vec<String>, (&Change, KeyTargets, bool)> = HashMap::new();
    for c in &window {
        for (_, action) in rules.iter().filter(|(e, _)| *e == c.event_type) {
            match *action {
                Replace(kind) | Reread(kind) => {
                    let Some(p) = c.target(kind) else { continue };
                    if skip(p, c) {
                        continue;
                    }
                    let entry = per_parent.entry(p.to_string()).or_default();
                    entry.0 = true;
                    if matches!(action, Replace(_)) {
                        entry.1.push(changes::tombstone(
                            &[(col, p)],
                            Some(UPDATED_AT),
                            &c.published,
                        ));
                    }
                }
                Remove(key) | Fetch(key) => {
                    let Some(values) = key
                        .iter()
                        .map(|(_, kind)| c.target(kind).map(str::to_string))
                        .collect::<Option<Vec<String>>>()
                    else {
                        continue;
                    };
                    if skip(&values[0], c) {
                        continue;
                    }
                    keyed.insert(values, (c, key, matches!(action, Fetch(_))));
                }
                ReplaceAll => {
                    replace_all = Some(c);
                }
                Scoped(column, kind) => {
                    if let Some(id) = c.target(kind) {
                        scoped.push(changes::tombstone(
                            &[(column, id)],
                            Some(UPDATED_AT),
                            &c.published,
                        ));
                    }
                }
            }
        }
    }
    if let Some(c) = replace_all {
        for p in parent_keys(run.ctx, parent).await?.iter() {
            let p = p.last();
            if skip(p, c) {
                continue;
            }
            let entry = per_parent.entry(p.to_string()).or_default();
            entry.0 = true;
            entry.1.push(changes::tombstone(
                &[(col, p)],
                Some(UPDATED_AT),
                &c.published,
            ));
        }
    }
    // Scoped tombstones of deleted entities first (they never come back), then per parent in key order:
    // its removals and replacement tombstones, then its current rows.
    let mut removals: BTreeMap<Vec<String>, String> = BTreeMap::new();
    let mut fetches: BTreeMap<Vec<String>, KeyTargets> = BTreeMap::new();
    for (k, (c, cols, fetch)) in &keyed {
        if *fetch {
            fetches.insert(k.clone(), cols);
            continue;
        }
        let key: Vec<(&str, &str)> = cols
            .iter()
            .zip(k)
            .map(|((col, _), v)| (*col, v.as_str()))
            .collect();
        removals.insert(
            k.clone(),
            changes::tombstone(&key, Some(UPDATED_AT), &c.published),
        );
    }
    emit_raw(run, &scoped)?;
    let mut parents: BTreeSet<String> = per_parent.keys().cloned().collect();
    parents.extend(removals.keys().map(|k| k[0].clone()));
    parents.extend(fetches.keys().map(|k| k[0].clone()));
    let removed_rows = removals.len();
    let mut fetched_rows = 0usize;
    for p in parents {
        let rows: Vec<String> = removals
            .range(vec![p.clone()]..)
            .take_while(|(k, _)| k[0] == p)
            .map(|(_, t)| t.clone())
            .collect();
        emit_raw(run, &rows)?;
        let changed: Vec<(&Vec<String>, &KeyTargets)> = fetches
            .range(vec![p.clone()]..)
            .take_while(|(k, _)| k[0] == p)
            .collect();
        // Many changed rows of one parent cost fewer requests as one read of the parent.
        let many = changed.len() > MAX_SINGLE_READS;
        let (reread, tombstones) = match per_parent.get(&p) {
            Some((r, t)) => (*r || many, t.as_slice()),
            None => (many, &[][..]),
        };
        emit_raw(run, tombstones)?;
        if reread {
            fan_out_over(
                run,
                parent.name,
                &[ParentKey::one(p.clone())],
                path,
                extract,
                &mut HandoffKeys::none(),
                |_, _| Ok(()),
            )
            .await?;
        } else {
            // The parent is not read again: each changed row alone.
            for (k, cols) in changed {
                fetch_row(run, path, extract, col, k, cols, &now).await?;
                fetched_rows += 1;
            }
        }
        run.checkpoint(&state(Some(since), Some((until, p.as_str()))))?;
    }
    tracing::info!(
        stream = run.def.name,
        parents = per_parent.len(),
        removed = removed_rows,
        fetched = fetched_rows,
        scoped = scoped.len(),
        "applied the change feed"
    );
    run.checkpoint(&state(Some(until), None))
}

/// The first read: every parent, checkpointed after each one; resumes after `interrupted`'s parent.
async fn read_all(
    run: &mut StreamRun<'_>,
    parent: Parent,
    path: &str,
    extract: Extract,
    interrupted: Option<(Ts, String)>,
) -> Result<()> {
    let mut keys: Vec<ParentKey> = parent_keys(run.ctx, parent).await?.as_ref().clone();
    keys.sort();
    keys.dedup();
    // A read of every parent hands its keys to the children waiting for it; a resumed one does not.
    let mut handoff = match interrupted {
        None => HandoffKeys::new(run),
        Some(_) => HandoffKeys::none(),
    };
    let (until, done) = match interrupted {
        Some((u, d)) => (u, Some(d)),
        None => (Ts::from(run.ctx.feed_until()), None),
    };
    if let Some(d) = &done {
        keys.retain(|k| k.last() > d.as_str());
    }
    let incremental = run.incremental();
    let mut since_checkpoint = 0usize;
    fan_out_over(
        run,
        parent.name,
        &keys,
        path,
        extract,
        &mut handoff,
        |run, key| {
            since_checkpoint += 1;
            // A checkpoint per parent would flood the output for 100k users: one per 100 parents.
            if incremental && since_checkpoint >= 100 {
                since_checkpoint = 0;
                run.checkpoint(&state(None, Some((until, key.last()))))?;
            }
            Ok(())
        },
    )
    .await?;
    handoff.hand_over();
    if incremental {
        run.checkpoint(&state(Some(until), None))
    } else {
        run.finish_full_refresh()
    }
}

/// Reads one row alone (the parent's path, then `/{the last key value}`); a 404 means it is gone and
/// becomes a tombstone stamped with this sync's time (when its absence was seen).
async fn fetch_row(
    run: &mut StreamRun<'_>,
    path: &str,
    extract: Extract,
    col: &str,
    key: &[String],
    cols: KeyTargets,
    now: &str,
) -> Result<()> {
    let (parent, child) = (&key[0], &key[key.len() - 1]);
    let ctx = run.ctx;
    let client = ctx.client_for(run.def.api)?;
    let base = ctx.expand(run.def.api, path);
    let base = base.split_once('?').map_or(base.as_str(), |(p, _)| p);
    let one = format!(
        "{}/{}",
        base.replace("{id}", &encode_segment(parent)),
        encode_segment(child)
    );
    let url = client.url(&one)?;
    let single = match extract {
        Extract::Array => Extract::Object,
        other => other,
    };
    match crate::okta::page::fetch(client, &url, single).await {
        Ok(page) => emit_page(run, &page.items, Some(&column(col, parent))),
        Err(crate::error::Error::NotFound { .. }) => {
            let k: Vec<(&str, &str)> = cols
                .iter()
                .zip(key)
                .map(|((c, _), v)| (*c, v.as_str()))
                .collect();
            emit_raw(run, &[changes::tombstone(&k, Some(UPDATED_AT), now)])
        }
        Err(e) => Err(e),
    }
}

fn emit_raw(run: &mut StreamRun<'_>, rows: &[String]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    debug_assert!(rows.iter().all(|r| r.contains(DELETED_AT)));
    run.emit(rows.iter().map(|r| Row {
        raw: r,
        prefix: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_names_an_event_of_okta_s_catalog() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/crates/okta-records/tests/fixtures/event-types.txt"
        );
        let Ok(known) = std::fs::read_to_string(path) else {
            panic!("{path} is missing");
        };
        let known: BTreeSet<&str> = known.lines().collect();
        for e in event_types() {
            assert!(known.contains(e), "{e} is not an Okta event type");
        }
    }
}
