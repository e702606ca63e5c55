//! Incremental reads by `lastUpdated` through Okta's search, sorted ascending so every page can be
//! checkpointed (users, groups).
//!
//! Okta's search index is eventually consistent and `lastUpdated` has millisecond precision, so each
//! read starts [`CURSOR_OVERLAP`] before the saved cursor. Records already emitted in that window are
//! remembered in the state (`recent`: id → lastUpdated) and skipped, so the overlap catches late
//! arrivals without duplicating anything.

use crate::error::{Error, Result};
use crate::okta::page::{Extract, Pager};
use crate::output::Row;
use crate::streams::context::StreamRun;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;

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

/// A stream's saved cursor, read from its state (errors name the stream and the bad value).
pub fn saved_cursor(run: &StreamRun<'_>, field: &str) -> Result<Option<DateTime<Utc>>> {
    match run.state.as_ref().and_then(|s| s.get(field)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let t = parse_ts(s).ok_or_else(|| {
                Error::Input(format!(
                    "the state of stream {} has an invalid {field}: {s:?}",
                    run.def.name
                ))
            })?;
            // A cursor from the future would skip every change until then: ignore it.
            if t > Utc::now() + crate::config::CLOCK_SKEW_ALLOWANCE {
                tracing::warn!(
                    stream = run.def.name,
                    cursor = s.as_str(),
                    "the saved {field} is in the future; ignoring it and reading as on a first sync"
                );
                return Ok(None);
            }
            Ok(Some(t))
        }
        Some(other) => Err(Error::Input(format!(
            "the state of stream {} has an invalid {field}: {other}",
            run.def.name
        ))),
    }
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
    let saved = if incremental {
        saved_cursor(run, FIELD)?
    } else {
        None
    };
    // `start_date` bounds history (event streams), never current state: an entity stream's first
    // read is complete whatever it says.
    let changes_since = if incremental && run.def.cdc {
        crate::streams::changes::emit_entity_tombstones(run, saved).await?
    } else {
        None
    };
    let mut recent: BTreeMap<String, String> = if incremental {
        saved_recent(run)
    } else {
        BTreeMap::new()
    };
    let lower = match saved {
        Some(c) => format_ts(c - CURSOR_OVERLAP),
        None => EPOCH_CURSOR.to_string(),
    };
    let mut cursor: Option<DateTime<Utc>> = None;
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
            let ts = p.last_updated.as_deref().and_then(parse_ts);
            if let (Some(seen), Some(lu)) = (recent.get(p.id.as_ref()), p.last_updated.as_deref()) {
                if seen == lu {
                    continue;
                }
            }
            if let (Some(t), Some(lu)) = (ts, p.last_updated.as_deref()) {
                if cursor.is_none_or(|c| t > c) {
                    cursor = Some(t);
                }
                if incremental {
                    recent.insert(p.id.into_owned(), lu.to_string());
                }
            }
            rows.push(Row {
                raw: raw.get(),
                prefix: None,
            });
        }
        run.emit(rows)?;
        if incremental && sorted {
            prune(&mut recent, cursor);
            run.checkpoint(&state_of(FIELD, cursor, &recent, changes_since.as_deref()))?;
        }
    }
    if incremental {
        prune(&mut recent, cursor);
        run.checkpoint(&state_of(
            FIELD,
            cursor.or(saved),
            &recent,
            changes_since.as_deref(),
        ))
    } else {
        run.finish_full_refresh()
    }
}

fn saved_recent(run: &StreamRun<'_>) -> BTreeMap<String, String> {
    run.state
        .as_ref()
        .and_then(|s| s.get("recent"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Keeps only the ids inside the overlap window below the cursor.
fn prune(recent: &mut BTreeMap<String, String>, cursor: Option<DateTime<Utc>>) {
    if let Some(c) = cursor {
        let floor = c - CURSOR_OVERLAP;
        recent.retain(|_, ts| parse_ts(ts).is_some_and(|t| t >= floor));
    }
}

fn state_of(
    field: &str,
    cursor: Option<DateTime<Utc>>,
    recent: &BTreeMap<String, String>,
    changes_since: Option<&str>,
) -> Value {
    let mut m = Map::new();
    if let Some(c) = cursor {
        m.insert(field.to_string(), json!(format_ts(c)));
    }
    if let Some(c) = changes_since {
        m.insert(crate::streams::changes::SINCE_KEY.into(), json!(c));
    }
    m.insert("recent".into(), json!(recent));
    Value::Object(m)
}
