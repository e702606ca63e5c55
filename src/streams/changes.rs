//! The change feed: deletions and removals read from the System Log once per sync, shared by every
//! stream that turns them into tombstones (records whose `_ab_cdc_deleted_at` is set).
//!
//! Okta reports a deleted user, group or device, or a removed membership, only in its System Log
//! (API.md §5, §7). Each consuming stream saves in its state `changes_since`: the log position up to
//! which it has applied changes. The sync reads the log once, from the oldest such position (minus
//! [`FEED_OVERLAP`], for events that arrive late) up to `now − system_log_settle_seconds` (the log is
//! eventually consistent: younger events are left to the next sync, which starts where this one
//! stopped). Every consumer then takes the events of its own window. A stream's first sync needs no
//! feed: it reads everything that exists, and starts its window at this sync's end.
//!
//! Without `okta.logs.read` the feed is unavailable: the streams still read, say once per sync that
//! they cannot see deletions, keep their old `changes_since` (so nothing is lost once the scope is
//! granted, within the log's retention) and end INCOMPLETE.

use crate::config::SYSTEM_LOG_RETENTION_DAYS;
use crate::error::{Error, Result};
use crate::okta::page::{Extract, Pager};
use crate::output::Row;
use crate::streams::context::{Ctx, StreamRun};
use crate::streams::cursor::Ts;
use crate::streams::incremental::{format_ts, parse_ts};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// How far before a stream's saved position the feed reads again, for events that became visible late.
pub const FEED_OVERLAP: chrono::Duration = chrono::Duration::minutes(5);
/// The column that marks a tombstone (Airbyte's CDC convention).
pub const DELETED_AT: &str = "_ab_cdc_deleted_at";
/// The state key of a consumer's feed position.
pub const SINCE_KEY: &str = "changes_since";

/// Every event type some stream derives deletions or removals from.
pub const EVENT_TYPES: &[&str] = &[
    USER_DELETED,
    GROUP_DELETED,
    DEVICE_DELETED,
    MEMBERSHIP_ADDED,
    MEMBERSHIP_REMOVED,
];
pub const USER_DELETED: &str = "user.lifecycle.delete.completed";
pub const GROUP_DELETED: &str = "group.lifecycle.delete";
pub const DEVICE_DELETED: &str = "device.lifecycle.delete";
pub const MEMBERSHIP_ADDED: &str = "group.user_membership.add";
pub const MEMBERSHIP_REMOVED: &str = "group.user_membership.remove";

/// Which deletion events remove a row of an entity stream or of `group_members`: the README's mapping
/// table is generated from this and from the feed-driven fan-outs' rules ([`crate::streams::delta`]).
pub const MAPPING: &[(&str, &str, &str)] = &[
    ("users", USER_DELETED, "`id` = the `User` target"),
    ("groups", GROUP_DELETED, "`id` = the `UserGroup` target"),
    ("devices", DEVICE_DELETED, "`id` = the `Device` target"),
    (
        "group_members",
        MEMBERSHIP_REMOVED,
        "(`group_id`, `user_id`) = the `UserGroup` and `User` targets, unless a later add restored it",
    ),
    (
        "group_members",
        USER_DELETED,
        "scoped: `user_id` alone (every membership of the deleted user)",
    ),
    (
        "group_members",
        GROUP_DELETED,
        "scoped: `group_id` alone (every membership of the deleted group)",
    ),
];

/// The README's table of [`MAPPING`].
pub fn mapping_table() -> String {
    let mut t = String::from("| stream | System Log event | effect |\n|---|---|---|\n");
    for (stream, event, key) in MAPPING {
        t.push_str(&format!("| {stream} | `{event}` | tombstone {key} |\n"));
    }
    for (stream, parent_col) in crate::streams::delta::STREAMS {
        for (event, action) in crate::streams::delta::rules(stream) {
            t.push_str(&format!(
                "| {stream} | `{event}` | {} |\n",
                crate::streams::delta::describe(*action, parent_col)
            ));
        }
    }
    t
}

/// One target of an event.
#[derive(Debug, Clone, Deserialize)]
pub struct Target {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// One event of the feed.
#[derive(Debug, Clone)]
pub struct Change {
    pub at: DateTime<Utc>,
    /// `published` exactly as Okta wrote it (it becomes the tombstone's `_ab_cdc_deleted_at`).
    pub published: String,
    pub event_type: String,
    pub targets: Vec<Target>,
}

impl Change {
    /// The id of the first target of `kind`.
    pub fn target(&self, kind: &str) -> Option<&str> {
        self.targets
            .iter()
            .find(|t| t.kind.as_deref() == Some(kind))
            .and_then(|t| t.id.as_deref())
    }
}

#[derive(Deserialize)]
struct EventProbe {
    #[serde(default)]
    uuid: Option<String>,
    #[serde(rename = "eventType", default)]
    event_type: Option<String>,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    target: Option<Vec<Target>>,
}

/// The events of one sync's window, oldest first.
#[derive(Debug)]
pub struct Feed {
    /// Where the window ends: every consumer's next `changes_since`.
    pub until: DateTime<Utc>,
    pub changes: Vec<Change>,
}

impl Feed {
    /// The events a stream whose saved position is `since` has not applied yet.
    pub fn since(&self, since: DateTime<Utc>) -> impl Iterator<Item = &Change> {
        let from = since - FEED_OVERLAP;
        self.changes.iter().filter(move |c| c.at >= from)
    }
}

/// What a consumer gets: the feed, or why there is none.
pub type FeedResult = std::result::Result<Arc<Feed>, String>;

/// The feed of this sync, read on first use (once, whichever stream asks first).
pub async fn feed(ctx: &Ctx) -> FeedResult {
    ctx.feed_cell()
        .get_or_init(|| async {
            match read(ctx).await {
                Ok(f) => Ok(Arc::new(f)),
                Err(e) => {
                    let reason = if e.is_stream_unavailable() {
                        format!("the credentials cannot read the System Log (okta.logs.read): {e}")
                    } else {
                        format!("the System Log could not be read: {e}")
                    };
                    tracing::warn!(
                        streams = %ctx.feed_consumers().join(", "),
                        "{reason}; these streams cannot see deletions and removals this sync"
                    );
                    Err(reason)
                }
            }
        })
        .await
        .clone()
}

/// Reads the window `[oldest saved position − overlap, now − settle)`.
async fn read(ctx: &Ctx) -> Result<Feed> {
    let until = ctx.feed_until();
    let Some(since) = ctx.feed_since() else {
        return Ok(Feed {
            until,
            changes: Vec::new(),
        });
    };
    let oldest = Utc::now() - chrono::Duration::days(SYSTEM_LOG_RETENTION_DAYS);
    let mut from = since - FEED_OVERLAP;
    if from < oldest {
        tracing::warn!(
            since = %format_ts(since),
            retained_from = %format_ts(oldest),
            "the saved change-feed position is older than the System Log's 90-day retention: deletions and \
             removals in the gap cannot be derived; run a full refresh (overwrite) of users, groups, devices \
             and group_members to drop rows deleted meanwhile"
        );
        from = oldest + chrono::Duration::minutes(5);
    }
    if from >= until {
        return Ok(Feed {
            until,
            changes: Vec::new(),
        });
    }
    let mut types: std::collections::BTreeSet<&str> = EVENT_TYPES.iter().copied().collect();
    types.extend(crate::streams::delta::event_types());
    types.extend(crate::streams::members::RULE_EVENTS);
    let filter = types
        .iter()
        .map(|t| format!("eventType eq \"{t}\""))
        .collect::<Vec<_>>()
        .join(" or ");
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("since", &format_ts(from))
        .append_pair("until", &format_ts(until))
        .append_pair("filter", &filter)
        .append_pair("sortOrder", "ASCENDING")
        .append_pair("limit", "1000")
        .finish();
    let mut pager = Pager::new(
        ctx.client.url(&format!("/api/v1/logs?{query}"))?,
        Extract::Array,
    );
    let mut changes = Vec::new();
    let mut seen = std::collections::HashSet::new();
    while let Some(page) = pager.next_page(&ctx.client).await? {
        let mut fresh = 0usize;
        for raw in &page.items {
            let e: EventProbe = serde_json::from_str(raw.get()).map_err(|e| Error::Api {
                path: "/api/v1/logs".into(),
                message: format!("a System Log event is malformed: {e}"),
                internal: raw.get().chars().take(200).collect(),
            })?;
            let (Some(published), Some(event_type)) = (e.published, e.event_type) else {
                continue;
            };
            if let Some(u) = e.uuid {
                if !seen.insert(u) {
                    continue;
                }
            }
            fresh += 1;
            let Some(at) = parse_ts(&published) else {
                continue;
            };
            changes.push(Change {
                at,
                published,
                event_type,
                targets: e.target.unwrap_or_default(),
            });
        }
        // A bounded window ends with a short page; a page of only repeats makes no progress.
        if page.items.len() < 1000 || fresh == 0 {
            break;
        }
    }
    changes.sort_by_key(|c| c.at);
    tracing::info!(
        since = %format_ts(from),
        until = %format_ts(until),
        events = changes.len(),
        "read the change feed"
    );
    Ok(Feed { until, changes })
}

/// The saved feed position of a stream's state; `fallback` (its entity cursor) for states written
/// before the feed existed.
pub fn saved_since(
    state: Option<&Value>,
    fallback: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    state
        .and_then(|s| s.get(SINCE_KEY))
        .and_then(Value::as_str)
        .and_then(parse_ts)
        .or(fallback)
}

/// A tombstone: the key columns, the cursor (so dedup by cursor orders it after the row it deletes)
/// and `_ab_cdc_deleted_at`.
pub fn tombstone(key: &[(&str, &str)], cursor_field: Option<&str>, published: &str) -> String {
    let mut m = Map::new();
    for (k, v) in key {
        m.insert((*k).to_string(), Value::String((*v).to_string()));
    }
    if let Some(c) = cursor_field {
        m.insert(c.to_string(), Value::String(published.to_string()));
    }
    m.insert(DELETED_AT.into(), Value::String(published.to_string()));
    Value::Object(m).to_string()
}

/// The latest event per key among `events` of the given types, for relationships that can come back
/// (a membership removed then added again): only a removal that is the latest event is a deletion.
pub fn latest_by_key<'a, K: std::hash::Hash + Eq>(
    events: impl Iterator<Item = &'a Change>,
    key: impl Fn(&Change) -> Option<K>,
) -> HashMap<K, &'a Change> {
    let mut out: HashMap<K, &Change> = HashMap::new();
    for c in events {
        if let Some(k) = key(c) {
            out.insert(k, c);
        }
    }
    out
}

/// The position a stream saves: the feed's end when it was read, else (unavailable) the old one.
pub fn next_since(
    feed: Option<&FeedResult>,
    saved: Option<Ts>,
    until: DateTime<Utc>,
) -> Option<Ts> {
    match feed {
        Some(Ok(f)) => Some(f.until.into()),
        Some(Err(_)) => saved,
        None => Some(until.into()),
    }
}

/// The deletion event and target type of an entity stream's rows.
fn entity_event(stream: &str) -> Option<(&'static str, &'static str)> {
    match stream {
        "users" => Some((USER_DELETED, "User")),
        "groups" => Some((GROUP_DELETED, "UserGroup")),
        "devices" => Some((DEVICE_DELETED, "Device")),
        _ => None,
    }
}

/// Emits tombstone rows built by [`tombstone`], logging how many there are when there are any.
pub fn emit_tombstones(run: &mut StreamRun<'_>, rows: &[String]) -> Result<()> {
    if !rows.is_empty() {
        tracing::info!(
            stream = run.def.name,
            tombstones = rows.len(),
            "tombstones from the change feed"
        );
    }
    run.emit(rows.iter().map(|r| Row {
        raw: r,
        prefix: None,
    }))
}

/// Emits the tombstones of an entity stream (users, groups, devices) for the deletions since its saved
/// position `since` (its saved `changes_since`, else its entity cursor for states written before the
/// feed existed), and returns the position to save; a first sync reads no feed.
pub async fn emit_entity_tombstones(
    run: &mut StreamRun<'_>,
    since: Option<Ts>,
) -> Result<Option<Ts>> {
    let Some((event, kind)) = entity_event(run.def.name) else {
        return Ok(None);
    };
    let until = run.ctx.feed_until();
    let Some(since) = since else {
        return Ok(next_since(None, None, until));
    };
    let result = feed(run.ctx).await;
    if let Ok(f) = &result {
        let rows: Vec<String> = f
            .since(since.at())
            .filter(|c| c.event_type == event)
            .filter_map(|c| {
                c.target(kind)
                    .map(|id| tombstone(&[("id", id)], run.def.cursor_field, &c.published))
            })
            .collect();
        emit_tombstones(run, &rows)?;
    }
    if let Err(reason) = &result {
        run.incomplete = Some(reason.clone());
    }
    Ok(next_since(Some(&result), Some(since), until))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_lists_the_mapping() {
        crate::streams::readme::check_section("deletions", &mapping_table(), "deletion table");
    }

    #[test]
    fn a_tombstone_has_the_key_the_cursor_and_the_deletion_time() {
        let t = tombstone(
            &[("group_id", "g1"), ("user_id", "u\"1")],
            Some("lastMembershipUpdated"),
            "2026-01-02T03:04:05.006Z",
        );
        let v: Value = serde_json::from_str(&t).unwrap();
        assert_eq!(v["group_id"], "g1");
        assert_eq!(v["user_id"], "u\"1");
        assert_eq!(v["lastMembershipUpdated"], "2026-01-02T03:04:05.006Z");
        assert_eq!(v[DELETED_AT], "2026-01-02T03:04:05.006Z");
    }

    #[test]
    fn only_the_latest_event_of_a_key_counts() {
        let mk = |ty: &str, ms: i64| Change {
            at: DateTime::from_timestamp_millis(ms).unwrap(),
            published: String::new(),
            event_type: ty.into(),
            targets: vec![Target {
                id: Some("u".into()),
                kind: Some("User".into()),
            }],
        };
        let events = [mk(MEMBERSHIP_REMOVED, 1), mk(MEMBERSHIP_ADDED, 2)];
        let latest = latest_by_key(events.iter(), |c| c.target("User").map(str::to_string));
        assert_eq!(latest["u"].event_type, MEMBERSHIP_ADDED);
    }

    #[test]
    fn a_state_without_a_feed_position_falls_back_to_the_cursor() {
        let t = parse_ts("2026-01-01T00:00:00.000Z");
        assert_eq!(saved_since(None, t), t);
        let s = serde_json::json!({SINCE_KEY: "2026-02-01T00:00:00.000Z"});
        assert_eq!(
            saved_since(Some(&s), t),
            parse_ts("2026-02-01T00:00:00.000Z")
        );
    }
}
