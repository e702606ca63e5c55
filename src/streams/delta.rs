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
//! * `Reread`: the parent's current rows (an app after an assignment);
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
use crate::streams::cursor::{self, DeltaState, Ts};
use crate::streams::incremental::format_ts;
use crate::streams::list::{fan_out_over, parent_keys};
use crate::streams::Parent;
use crate::sync::StreamRun;
use chrono::Utc;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The cursor column of these streams.
pub const UPDATED_AT: &str = "_ab_cdc_updated_at";

/// What one event means for a stream's rows.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    /// Replace the rows of the parent named by the target of this kind.
    Replace(&'static str),
    /// Read the rows of the parent named by the target of this kind again.
    Reread(&'static str),
    /// One row is gone: (column, target kind) for every key column, the parent column first.
    Remove(&'static [(&'static str, &'static str)]),
    /// Every row whose `column` is the target of this kind is gone.
    Scoped(&'static str, &'static str),
    /// Replace the rows of every parent (Okta removed rows it does not log: a deleted group's app users).
    ReplaceAll,
}

use Action::{Remove, Replace, ReplaceAll, Reread, Scoped};

/// (column, target kind) for each key column of a removed row.
type KeyTargets = &'static [(&'static str, &'static str)];

const USER_DELETED: (&str, Action) = (changes::USER_DELETED, Scoped("user_id", "User"));

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
            ("application.user_membership.add", Reread("AppInstance")),
            ("application.user_membership.update", Reread("AppInstance")),
            (
                "application.user_membership.change_username",
                Reread("AppInstance"),
            ),
            (
                "application.user_membership.provision",
                Reread("AppInstance"),
            ),
            (
                "application.user_membership.deprovision",
                Reread("AppInstance"),
            ),
            ("application.user_membership.approve", Reread("AppInstance")),
            ("application.user_membership.revoke", Reread("AppInstance")),
            ("application.user_membership.restore", Reread("AppInstance")),
            (
                "application.user_membership.remove",
                Remove(&[("app_id", "AppInstance"), ("id", "User")]),
            ),
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
        Remove(cols) => {
            let k: Vec<String> = cols
                .iter()
                .map(|(c, kind)| format!("`{c}` = `{kind}`"))
                .collect();
            format!("tombstone ({})", k.join(", "))
        }
        Scoped(col, kind) => format!("scoped tombstone: `{col}` = the `{kind}` target"),
        ReplaceAll => format!("every `{parent_col}` is replaced and read again"),
    }
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
        return read_all(run, parent, path, extract, col, interrupted).await;
    };
    let retained = Utc::now() - chrono::Duration::days(crate::config::SYSTEM_LOG_RETENTION_DAYS);
    if since.at() < retained {
        // Changes in the gap cannot be known: read every parent again (rows deleted meanwhile can only
        // go with a full refresh, which the change feed's warning recommends).
        return read_all(run, parent, path, extract, col, None).await;
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
    // Removals, one per key. A key added again later is safe: its parent is then read again, after
    // the tombstone.
    let mut removed: HashMap<Vec<String>, (&Change, KeyTargets)> = HashMap::new();
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
                Remove(key) => {
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
                    removed.insert(values, (c, key));
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
            if skip(p, c) {
                continue;
            }
            let entry = per_parent.entry(p.clone()).or_default();
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
    for (k, (c, cols)) in &removed {
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
    let removed_rows = removals.len();
    for p in parents {
        let rows: Vec<String> = removals
            .range(vec![p.clone()]..)
            .take_while(|(k, _)| k[0] == p)
            .map(|(_, t)| t.clone())
            .collect();
        emit_raw(run, &rows)?;
        if let Some((reread, tombstones)) = per_parent.get(&p) {
            emit_raw(run, tombstones)?;
            if *reread {
                fan_out_over(
                    run,
                    parent.name,
                    std::slice::from_ref(&p),
                    path,
                    extract,
                    Some(col),
                    |_, _| Ok(()),
                )
                .await?;
            }
        }
        run.checkpoint(&state(Some(since), Some((until, p.as_str()))))?;
    }
    tracing::info!(
        stream = run.def.name,
        parents = per_parent.len(),
        removed = removed_rows,
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
    col: &str,
    interrupted: Option<(Ts, String)>,
) -> Result<()> {
    let mut keys: Vec<String> = parent_keys(run.ctx, parent).await?.as_ref().clone();
    keys.sort();
    keys.dedup();
    let (until, done) = match interrupted {
        Some((u, d)) => (u, Some(d)),
        None => (Ts::from(run.ctx.feed_until()), None),
    };
    if let Some(d) = &done {
        keys.retain(|k| k > d);
    }
    let incremental = run.incremental();
    let mut since_checkpoint = 0usize;
    fan_out_over(
        run,
        parent.name,
        &keys,
        path,
        extract,
        Some(col),
        |run, key| {
            since_checkpoint += 1;
            // A checkpoint per parent would flood the output for 100k users: one per 100 parents.
            if incremental && since_checkpoint >= 100 {
                since_checkpoint = 0;
                run.checkpoint(&state(None, Some((until, key))))?;
            }
            Ok(())
        },
    )
    .await?;
    if incremental {
        run.checkpoint(&state(Some(until), None))
    } else {
        run.finish_full_refresh()
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
