//! Incremental reads by `lastUpdated` through Okta's search, sorted ascending so every page can be
//! checkpointed (users, groups).
//!
//! Okta's search index is eventually consistent and `lastUpdated` has millisecond precision, so each
//! read starts [`CURSOR_OVERLAP`] before the saved cursor. Records already emitted in that window are
//! remembered in the state (`recent`: id → lastUpdated) and skipped, so the overlap catches late
//! arrivals without duplicating anything.

use crate::error::Result;
use crate::okta::page::{Extract, Pager};
use crate::output::Row;
use crate::streams::context::StreamRun;
use crate::streams::cursor::{self, SearchState, Ts};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::borrow::Cow;

/// How far before the saved cursor each incremental read starts.
pub const CURSOR_OVERLAP: chrono::Duration = chrono::Duration::seconds(60);
/// The cursor of a first read (`start_date` does not apply to entities): the beginning of time, so search (which, unlike the
/// plain list, includes DEPROVISIONED users) returns everything.
pub const EPOCH_CURSOR: &str = "1970-01-01T00:00:00.000Z";

#[derive(Deserialize)]
struct CursorProbe<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(rename = "lastUpdated", borrow, default)]
    last_updated: Option<Cow<'a, str>>,
}

/// Okta's timestamp form: milliseconds, `Z`.
pub fn format_ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Reads `path` through `search=lastUpdated gt "…"`. With `sorted`, Okta sorts by the cursor and every
/// page is checkpointed; without it (endpoints that cannot sort) the state is written once at the end.
pub async fn read_search(
    run: &mut StreamRun<'_>,
    path: &str,
    limit: u32,
    sorted: bool,
    extra: &str,
) -> Result<()> {
    const FIELD: &str = "lastUpdated";
    let incremental = run.incremental();
    let mut st: SearchState = cursor::load(run)?;
    let saved = st.last_updated.get();
    // `start_date` bounds history (event streams), never current state: an entity stream's first
    // read is complete whatever it says.
    if incremental && run.def.cdc {
        let since = st.changes_since.or(saved);
        st.changes_since = crate::streams::changes::emit_entity_tombstones(run, since).await?;
    }
    let lower = match saved {
        Some(c) => format_ts(c.at() - CURSOR_OVERLAP),
        None => EPOCH_CURSOR.to_string(),
    };
    let search = format!("{FIELD} gt \"{lower}\"");
    let query = {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("search", &search);
        if sorted {
            q.append_pair("sortBy", FIELD)
                .append_pair("sortOrder", "asc");
        }
        q.append_pair("limit", &limit.to_string());
        q.finish()
    };
    let mut pager = Pager::new(
        run.ctx.client.url(&format!("{path}?{query}{extra}"))?,
        Extract::Array,
    );
    while let Some(page) = pager.next_page(&run.ctx.client).await? {
        let mut rows = Vec::with_capacity(page.items.len());
        for raw in &page.items {
            let p: CursorProbe<'_> = serde_json::from_str(raw.get()).map_err(|_| {
                crate::streams::list::bad_record(
                    run.def.name,
                    path,
                    raw.get(),
                    "id",
                    &["id", FIELD],
                )
            })?;
            let ts = p.last_updated.as_deref().and_then(Ts::parse);
            if let (Some(seen), Some(lu)) =
                (st.recent.get(p.id.as_ref()), p.last_updated.as_deref())
            {
                if seen == lu {
                    continue;
                }
            }
            if let (Some(t), Some(lu)) = (ts, p.last_updated.as_deref()) {
                st.last_updated.advance(t);
                if incremental {
                    st.recent.insert(p.id.into_owned(), lu.to_string());
                }
            }
            rows.push(Row {
                raw: raw.get(),
                prefix: None,
            });
        }
        run.emit(rows)?;
        if incremental && sorted {
            prune(&mut st);
            run.checkpoint(&cursor::to_value(&st))?;
        }
    }
    if incremental {
        prune(&mut st);
        run.checkpoint(&cursor::to_value(&st))
    } else {
        run.finish_full_refresh()
    }
}

/// Keeps only the ids inside the overlap window below the cursor.
fn prune(st: &mut SearchState) {
    if let Some(c) = st.last_updated.get() {
        let floor = Ts::from(c.at() - CURSOR_OVERLAP);
        st.recent
            .retain(|_, ts| Ts::parse(ts).is_some_and(|t| t >= floor));
    }
}
