//! Advanced Server Access readers that are not plain lists: audit events (newest first, down to the
//! saved cursor) and the team (settings and statistics as one record).

use crate::error::{Error, Result};
use crate::okta::page::{fetch, Extract, Pager};
use crate::output::Row;
use crate::streams::context::StreamRun;
use crate::streams::cursor::{self, AuditState, Cursor, Ts};
use crate::streams::list::column;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashSet;

#[derive(Deserialize)]
struct AuditProbe<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow, default)]
    timestamp: Option<Cow<'a, str>>,
}

/// Audit events, read newest first until the saved cursor (or the start date), deduplicated on `id`.
/// The state is written once at the end: events come newest first, so no earlier point is safe.
pub async fn read_audits(run: &mut StreamRun<'_>) -> Result<()> {
    let incremental = run.incremental();
    let saved_state: AuditState = cursor::load(run)?;
    let saved = saved_state.timestamp.get();
    let stop_at: Option<Ts> = saved.or(if incremental {
        run.ctx.settings.start_date.map(Ts::from)
    } else {
        None
    });
    // The saved ids keep their order (they were collected from a hash set before, in any order).
    let saved_ids = saved_state.ids_at_cursor;
    let at_cursor: HashSet<String> = saved_ids.iter().cloned().collect();
    let client = run.ctx.client_for(run.def.api)?;
    let path = run.ctx.expand(
        run.def.api,
        "/v1/teams/{team}/auditsV2?count=100&descending=true",
    );
    let mut pager = Pager::new(client.url(&path)?, Extract::Field("list"));
    let (mut newest, mut newest_ids): (Option<Ts>, Vec<String>) = (saved, saved_ids);
    let mut seen = HashSet::new();
    'pages: while let Some(page) = pager.next_page(client).await? {
        let mut rows = Vec::with_capacity(page.items.len());
        for raw in &page.items {
            let p: AuditProbe<'_> = serde_json::from_str(raw.get()).map_err(|_| {
                crate::streams::list::bad_record(
                    run.def.name,
                    "auditsV2",
                    raw.get(),
                    "id",
                    &["id", "timestamp"],
                )
            })?;
            let ts = p.timestamp.as_deref().and_then(Ts::parse);
            if let (Some(t), Some(stop)) = (ts, stop_at) {
                if t < stop || (t == stop && at_cursor.contains(p.id.as_ref())) {
                    run.emit(rows)?;
                    break 'pages;
                }
            }
            if !seen.insert(p.id.to_string()) {
                continue;
            }
            if let Some(t) = ts {
                match newest {
                    Some(n) if t < n => {}
                    Some(n) if t == n => newest_ids.push(p.id.to_string()),
                    _ => {
                        newest = Some(t);
                        newest_ids = vec![p.id.to_string()];
                    }
                }
            }
            rows.push(Row {
                raw: raw.get(),
                prefix: None,
            });
        }
        run.emit(rows)?;
    }
    if incremental {
        run.checkpoint(&cursor::to_value(&AuditState {
            ids_at_cursor: newest_ids,
            timestamp: Cursor::new(newest),
        }))
    } else {
        run.finish_full_refresh()
    }
}

/// The team's settings and statistics (`/settings`, `/team_stats`) as one record keyed by `team_name`.
pub async fn read_team(run: &mut StreamRun<'_>) -> Result<()> {
    let client = run.ctx.client_for(run.def.api)?;
    let mut record: Map<String, Value> = Map::new();
    for path in ["/v1/teams/{team}/settings", "/v1/teams/{team}/team_stats"] {
        let url = client.url(&run.ctx.expand(run.def.api, path))?;
        match fetch(client, &url, Extract::Object).await {
            Ok(page) => {
                for raw in &page.items {
                    let m: Map<String, Value> =
                        serde_json::from_str(raw.get()).map_err(|source| Error::Json {
                            what: "decoding an ASA team document",
                            source,
                        })?;
                    record.extend(m);
                }
            }
            // Team statistics need a more privileged role than settings; keep what we can read.
            Err(e) if e.is_stream_unavailable() && !record.is_empty() => {
                tracing::warn!(error = %e, "cannot read the ASA team statistics; the record carries the settings only");
            }
            Err(e) => return Err(e),
        }
    }
    let text = serde_json::to_string(&record).map_err(|source| Error::Json {
        what: "encoding the ASA team record",
        source,
    })?;
    let prefix = column("team_name", run.ctx.asa_team().unwrap_or_default());
    run.emit([Row {
        raw: &text,
        prefix: Some(&prefix),
    }])?;
    run.finish_full_refresh()
}
