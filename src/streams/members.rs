//! Group memberships. Incremental reads visit only the groups whose `lastMembershipUpdated` moved past
//! the saved cursor (never limited by the `groups` stream's cursor), one group at a time in cursor order.
//! Each record carries its group's `lastMembershipUpdated` as the cursor.
//!
//! A changed group costs requests in proportion to what changed when the System Log says exactly what
//! changed: the `group.user_membership.add` / `.remove` events of the change feed name each membership,
//! removals become tombstones and each added member is one `GET /api/v1/users/{id}`. The log is trusted
//! for a group only when all of these hold (else the group is read again in full, checkpointed after
//! every page with its next link so a killed sync resumes exactly where it stopped):
//!
//! * the previous sync ended complete (its state says `"complete": true`): an interrupted read, or a
//!   state saved by an earlier release, may hold groups never read in full;
//! * the feed was read, from a position within the log's retention, and holds no group rule event
//!   (`group.user_membership.rule.*`: rules change memberships in bulk);
//! * the group's latest membership event is exactly its `lastMembershipUpdated` (a change the log has
//!   not shown yet, or never logs, makes them differ) and lies inside the feed's window.

use crate::error::{Error, Result};
use crate::okta::page::{fetch, Extract, Pager};
use crate::output::Row;
use crate::streams::changes::{self, Change};
use crate::streams::context::StreamRun;
use crate::streams::cursor::{self, InProgress, MembersState, Ts};
use crate::streams::list::{column, encode_segment, id_of};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

const FIELD: &str = "lastMembershipUpdated";
/// Group rule events: memberships changed in bulk, not each logged; a window holding one re-reads
/// every changed group in full.
pub const RULE_EVENTS: &[&str] = &[
    "group.user_membership.rule.add_exclusion",
    "group.user_membership.rule.deactivated",
    "group.user_membership.rule.evaluation",
    "group.user_membership.rule.invalidate",
    "group.user_membership.rule.trigger",
];
/// Up to this many added members of one group are read one by one even when the group's own pages
/// would cost fewer requests (each added row is one row, not the whole group, at the destination).
pub const MAX_SINGLE_READS: usize = 20;
/// Page size of a group's member list (Okta's default of 1000 is "very high for historical reasons").
pub const MEMBERS_PAGE_SIZE: u32 = 200;

#[derive(Deserialize)]
struct GroupProbe<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(rename = "lastMembershipUpdated", borrow, default)]
    last_membership_updated: Option<Cow<'a, str>>,
    #[serde(rename = "_embedded", default)]
    embedded: Option<Embedded>,
}

#[derive(Deserialize)]
struct Embedded {
    #[serde(default)]
    stats: Option<Stats>,
}

#[derive(Deserialize)]
struct Stats {
    #[serde(rename = "usersCount", default)]
    users_count: Option<u64>,
}

struct Group {
    id: String,
    lmu: Option<Ts>,
    /// Its member count (`expand=stats`), when Okta gave it: what a full read of it costs.
    users_count: Option<u64>,
    /// `lastMembershipUpdated` exactly as Okta sent it; every member record carries it as the cursor.
    lmu_raw: Option<String>,
}

/// What the typed state answers about groups (an inherent impl: the state type lives in `cursor`).
impl MembersState {
    fn is_done(&self, g: &Group) -> bool {
        match (self.last_membership_updated.get(), g.lmu) {
            (Some(c), Some(t)) => t < c || (t == c && self.groups_at_cursor.contains(&g.id)),
            _ => false,
        }
    }

    fn complete(&mut self, g: &Group) {
        self.current = None;
        let Some(t) = g.lmu else { return };
        if self.last_membership_updated.get() == Some(t) {
            self.groups_at_cursor.push(g.id.clone());
        } else if self.last_membership_updated.advance(t) {
            self.groups_at_cursor = vec![g.id.clone()];
        }
    }
}

pub async fn read_group_members(run: &mut StreamRun<'_>) -> Result<()> {
    let incremental = run.incremental();
    let mut st: MembersState = cursor::load(run)?;
    // Whether the state vouches for every group up to its position; intermediate checkpoints do not.
    let vouched = std::mem::take(&mut st.complete);
    let exact = if incremental {
        emit_tombstones(run, &mut st, vouched).await?
    } else {
        None
    };
    let groups = list_groups(run, st.last_membership_updated.get()).await?;
    // A group interrupted mid-way resumes from its saved next page.
    let resumed = st.current.clone().map(|c| c.group_id);
    if let Some(InProgress { group_id, next }) = st.current.clone() {
        if let Some(g) = groups.iter().find(|g| g.id == group_id) {
            let url = run.ctx.client.url(&next)?;
            read_members(run, &mut st, g, url).await?;
        } else {
            st.current = None;
        }
    }
    for g in &groups {
        if st.is_done(g) || resumed.as_deref() == Some(g.id.as_str()) {
            continue;
        }
        if let Some(adds) = exact.as_ref().and_then(|e| e.adds_of(g)) {
            apply_adds(run, &mut st, g, adds).await?;
            continue;
        }
        let url = run.ctx.client.url(&format!(
            "/api/v1/groups/{}/users?limit={MEMBERS_PAGE_SIZE}",
            encode_segment(&g.id)
        ))?;
        read_members(run, &mut st, g, url).await?;
    }
    if incremental {
        st.complete = true;
        run.checkpoint(&cursor::to_value(&st))
    } else {
        run.finish_full_refresh()
    }
}

/// What the change feed says exactly about this sync's membership changes.
struct Exact {
    /// The end of the feed's window.
    until: Ts,
    /// Per group: the time of its latest membership event in the window.
    latest: HashMap<String, Ts>,
    /// Per group: the members whose latest event is an add, in id order.
    adds: BTreeMap<String, Vec<String>>,
}

impl Exact {
    /// The members added to `g`, when the log accounts for its latest change and reading them one by
    /// one costs no more than [`MAX_SINGLE_READS`] requests or than reading the group's pages;
    /// `None`: read it in full.
    fn adds_of(&self, g: &Group) -> Option<&[String]> {
        let lmu = g.lmu?;
        if lmu > self.until || self.latest.get(&g.id) != Some(&lmu) {
            return None;
        }
        let adds = self.adds.get(&g.id).map_or(&[][..], Vec::as_slice);
        let pages = g
            .users_count
            .map_or(u64::MAX, |n| n.div_ceil(u64::from(MEMBERS_PAGE_SIZE)));
        let cheap = adds.len() <= MAX_SINGLE_READS || adds.len() as u64 <= pages;
        cheap.then_some(adds)
    }
}

/// Emits the rows of the members the log says were added to `g` (one user read each), then marks the
/// group done. A member whose user is gone (404) was deleted: its scoped tombstone covers it.
async fn apply_adds(
    run: &mut StreamRun<'_>,
    st: &mut MembersState,
    g: &Group,
    adds: &[String],
) -> Result<()> {
    let prefix_of = |uid: &str| {
        let mut p = column("group_id", &g.id);
        if let Some(lmu) = &g.lmu_raw {
            p = format!("{p},{}", column(FIELD, lmu));
        }
        format!("{p},{}", column("user_id", uid))
    };
    for uid in adds {
        let url = run
            .ctx
            .client
            .url(&format!("/api/v1/users/{}", encode_segment(uid)))?;
        match fetch(&run.ctx.client, &url, Extract::Object).await {
            Ok(page) => {
                let prefix = prefix_of(uid);
                run.emit(page.items.iter().map(|r| Row {
                    raw: r.get(),
                    prefix: Some(&prefix),
                }))?;
            }
            Err(Error::NotFound { .. }) => {
                tracing::info!(
                    group = g.id.as_str(),
                    user = uid.as_str(),
                    "an added member no longer exists"
                );
            }
            Err(e) => return Err(e),
        }
    }
    st.complete(g);
    run.checkpoint(&cursor::to_value(&st))
}

/// Groups whose membership changed since `since` (all groups without it), oldest change first.
async fn list_groups(run: &mut StreamRun<'_>, since: Option<Ts>) -> Result<Vec<Group>> {
    let mut path = "/api/v1/groups?limit=200&expand=stats".to_string();
    if let Some(c) = since {
        let filter = format!("{FIELD} ge \"{c}\"");
        path.push_str("&filter=");
        path.push_str(&url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>());
    }
    let mut pager = Pager::new(run.ctx.client.url(&path)?, Extract::Array);
    let (mut groups, mut estimate) = (Vec::new(), 0u64);
    while let Some(page) = pager.next_page(&run.ctx.client).await? {
        for raw in &page.items {
            let p: GroupProbe<'_> = serde_json::from_str(raw.get()).map_err(|_| {
                crate::streams::list::bad_record(
                    "groups (for group_members)",
                    "/api/v1/groups",
                    raw.get(),
                    "id",
                    &["id", FIELD],
                )
            })?;
            let users_count = p
                .embedded
                .as_ref()
                .and_then(|e| e.stats.as_ref())
                .and_then(|s| s.users_count);
            estimate += users_count.unwrap_or(0);
            let lmu_raw = p.last_membership_updated.map(Cow::into_owned);
            groups.push(Group {
                id: p.id.into_owned(),
                lmu: lmu_raw.as_deref().and_then(Ts::parse),
                lmu_raw,
                users_count,
            });
        }
    }
    groups.sort_by(|a, b| a.lmu.cmp(&b.lmu).then_with(|| a.id.cmp(&b.id)));
    run.ctx.out.estimate(run.def.name, estimate)?;
    Ok(groups)
}

async fn read_members(
    run: &mut StreamRun<'_>,
    st: &mut MembersState,
    g: &Group,
    first: url::Url,
) -> Result<()> {
    let mut group_col = column("group_id", &g.id);
    if let Some(lmu) = &g.lmu_raw {
        group_col = format!("{group_col},{}", column(FIELD, lmu));
    }
    let mut pager = Pager::new(first, Extract::Array);
    loop {
        let page = match pager.next_page(&run.ctx.client).await {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(Error::NotFound { .. }) => {
                tracing::warn!(
                    group = g.id.as_str(),
                    "group no longer exists; skipping its members"
                );
                break;
            }
            Err(e) => return Err(e),
        };
        let mut prefixes = Vec::with_capacity(page.items.len());
        for raw in &page.items {
            prefixes.push(format!(
                "{group_col},{}",
                column("user_id", &id_of(raw.get())?)
            ));
        }
        run.emit(page.items.iter().zip(&prefixes).map(|(r, p)| Row {
            raw: r.get(),
            prefix: Some(p),
        }))?;
        if run.incremental() {
            st.current = pager.pending().map(|n| InProgress {
                group_id: g.id.clone(),
                next: relative(n),
            });
            if st.current.is_some() {
                run.checkpoint(&cursor::to_value(&st))?;
            }
        }
    }
    st.complete(g);
    if run.incremental() {
        run.checkpoint(&cursor::to_value(&st))?;
    }
    Ok(())
}

/// Path and query of a URL, so saved state survives a change of base URL.
pub fn relative(u: &url::Url) -> String {
    match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    }
}

/// Emits the tombstones of removed memberships since the saved feed position, sets the position to
/// save, and says what the log knows exactly (`None` when it cannot be trusted this sync).
///
/// Per membership only the latest add or remove of the window counts: a removal undone by a later add
/// (even one applied by the previous sync, replayed through the feed's overlap) is no deletion. Okta
/// logs a user's or a group's deletion, not each membership it removed: those get one scoped tombstone
/// (`user_id` or `group_id` alone) that removes every row of the deleted user or group.
async fn emit_tombstones(
    run: &mut StreamRun<'_>,
    st: &mut MembersState,
    vouched: bool,
) -> Result<Option<Exact>> {
    let until = run.ctx.feed_until();
    let Some(since) = st.changes_since.or(st.last_membership_updated.get()) else {
        st.changes_since = Some(until.into());
        return Ok(None);
    };
    let result = changes::feed(run.ctx).await;
    st.changes_since = changes::next_since(Some(&result), Some(since), until);
    let feed = match result {
        Ok(f) => f,
        Err(reason) => {
            run.incomplete = Some(reason);
            return Ok(None);
        }
    };
    let window: Vec<&Change> = feed.since(since.at()).collect();
    let mut rows: Vec<String> = Vec::new();
    for c in &window {
        let scoped = match c.event_type.as_str() {
            changes::USER_DELETED => c.target("User").map(|u| ("user_id", u)),
            changes::GROUP_DELETED => c.target("UserGroup").map(|g| ("group_id", g)),
            _ => None,
        };
        if let Some(key) = scoped {
            rows.push(changes::tombstone(&[key], Some(FIELD), &c.published));
        }
    }
    let latest = changes::latest_by_key(
        window.iter().copied().filter(|c| {
            c.event_type == changes::MEMBERSHIP_REMOVED || c.event_type == changes::MEMBERSHIP_ADDED
        }),
        |c| {
            Some((
                c.target("UserGroup")?.to_string(),
                c.target("User")?.to_string(),
            ))
        },
    );
    let mut exact = Exact {
        until: feed.until.into(),
        latest: HashMap::new(),
        adds: BTreeMap::new(),
    };
    let mut removed: Vec<(&(String, String), &Change)> = Vec::new();
    for (key, c) in &latest {
        let at = Ts::from(c.at);
        let group_latest = exact.latest.entry(key.0.clone()).or_insert(at);
        *group_latest = (*group_latest).max(at);
        if c.event_type == changes::MEMBERSHIP_REMOVED {
            removed.push((key, c));
        } else {
            exact
                .adds
                .entry(key.0.clone())
                .or_default()
                .push(key.1.clone());
        }
    }
    for users in exact.adds.values_mut() {
        users.sort();
    }
    removed.sort_by(|a, b| a.0.cmp(b.0));
    for ((g, u), c) in &removed {
        rows.push(changes::tombstone(
            &[("group_id", g), ("user_id", u)],
            Some(FIELD),
            &c.published,
        ));
    }
    if !rows.is_empty() {
        changes::emit_tombstones(run, &rows)?;
    }
    let retained = chrono::Utc::now()
        - chrono::Duration::days(crate::config::SYSTEM_LOG_RETENTION_DAYS)
        + changes::FEED_OVERLAP;
    let rules = window
        .iter()
        .any(|c| RULE_EVENTS.contains(&c.event_type.as_str()));
    let trusted = vouched && !rules && since.at() - changes::FEED_OVERLAP >= retained;
    if !trusted {
        tracing::info!(
            stream = run.def.name,
            vouched,
            group_rules = rules,
            "changed groups are read in full this sync"
        );
    }
    Ok(trusted.then_some(exact))
}
