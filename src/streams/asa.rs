//! Advanced Server Access readers that are not plain lists: audit events (newest first, down to the
//! saved cursor) and the team (settings and statistics as one record).

use crate::error::{Error, Result};
use crate::okta::page::{fetch, Extract, Pager};
use crate::output::Row;
use crate::streams::context::StreamRun;
use crate::streams::cursor::{self, AuditState, Cursor, Ts};
use crate::streams::list::column;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

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
        let resolved = Related::of_page(page.items.body());
        let mut rows: Vec<(&str, Option<String>)> = Vec::with_capacity(page.items.len());
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
                    run.emit(rows.iter().map(|(raw, prefix)| Row {
                        raw,
                        prefix: prefix.as_deref(),
                    }))?;
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
            rows.push((raw.get(), resolved.columns(raw.get())));
        }
        run.emit(rows.iter().map(|(raw, prefix)| Row {
            raw,
            prefix: prefix.as_deref(),
        }))?;
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

/// A page's `related_objects`: the objects (users, clients, servers, ...) its events' `details` refer
/// to by opaque keys.
struct Related<'a>(HashMap<&'a str, &'a RawValue>);

/// What the connector reads of one related object: its kind and a name to show.
#[derive(Deserialize)]
struct RelatedProbe<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    object: Option<NameProbe<'a>>,
}

#[derive(Deserialize)]
struct NameProbe<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    hostname: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct DetailsProbe {
    #[serde(default)]
    details: Option<Map<String, Value>>,
}

impl<'a> Related<'a> {
    /// The page's `related_objects`; a page without them (or with a malformed map) resolves nothing.
    fn of_page(body: &'a str) -> Self {
        #[derive(Deserialize)]
        struct Body<'a> {
            #[serde(borrow, default)]
            related_objects: Option<HashMap<&'a str, &'a RawValue>>,
        }
        match serde_json::from_str::<Body<'a>>(body) {
            Ok(b) => Self(b.related_objects.unwrap_or_default()),
            Err(e) => {
                tracing::warn!(error = %e, "an ASA audit page's related_objects cannot be read; its events keep their opaque references");
                Self(HashMap::new())
            }
        }
    }

    /// The kind and name of the object `key` refers to.
    fn describe(&self, key: &str) -> Option<(String, Option<String>)> {
        let p: RelatedProbe<'_> = serde_json::from_str(self.0.get(key)?.get()).ok()?;
        let name = p
            .object
            .and_then(|o| o.name.or(o.hostname).or(o.id))
            .map(Cow::into_owned);
        Some((p.kind.map(Cow::into_owned).unwrap_or_default(), name))
    }

    /// The columns an event gets: `actor_kind`/`actor_name`, `target_kind`/`target_name` (the first
    /// `target_*` detail that resolves) and the `related_objects` its details refer to.
    fn columns(&self, raw: &str) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        let details = serde_json::from_str::<DetailsProbe>(raw).ok()?.details?;
        let mut out: Vec<String> = Vec::new();
        let mut push = |role: &str, key: &str| {
            if let Some((kind, name)) = self.describe(key) {
                out.push(column(&format!("{role}_kind"), &kind));
                if let Some(n) = name {
                    out.push(column(&format!("{role}_name"), &n));
                }
            }
        };
        if let Some(Value::String(k)) = details.get("actor") {
            push("actor", k);
        }
        // `details` is a sorted map, so "the first target" is the same on every read.
        if let Some(k) = details.iter().find_map(|(f, v)| match v {
            Value::String(k) if f.starts_with("target_") && self.0.contains_key(k.as_str()) => {
                Some(k)
            }
            _ => None,
        }) {
            push("target", k);
        }
        let mut related: Vec<(&str, &RawValue)> = details
            .values()
            .filter_map(Value::as_str)
            .filter_map(|k| self.0.get_key_value(k).map(|(k, v)| (*k, *v)))
            .collect();
        related.sort_unstable_by_key(|(k, _)| *k);
        related.dedup_by_key(|(k, _)| *k);
        if !related.is_empty() {
            let body: Vec<String> = related
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}:{}",
                        serde_json::to_string(k).unwrap_or_default(),
                        v.get()
                    )
                })
                .collect();
            out.push(format!("\"related_objects\":{{{}}}", body.join(",")));
        }
        (!out.is_empty()).then(|| out.join(","))
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
