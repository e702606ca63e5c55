//! The System Log, read with Okta's polling cursor (API.md §5): ascending, no `until`, `limit=1000`,
//! following `next` until a short page, saving the last `next` link as the state so the next sync
//! resumes exactly there. A rejected saved cursor falls back to `since = published − overlap`, and
//! events are deduplicated on `uuid` within a sync.

use crate::config::SYSTEM_LOG_RETENTION_DAYS;
use crate::error::{Error, Result};
use crate::okta::page::{fetch, Extract, Progress};
use crate::output::Row;
use crate::streams::context::StreamRun;
use crate::streams::cursor::{self, LogState, Ts};
use crate::streams::incremental::format_ts;
use crate::streams::members::relative;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{HashSet, VecDeque};

/// Page size: the maximum, since the `/logs` bucket is small.
pub const LOG_PAGE_SIZE: usize = 1000;
/// How far back a fallback read starts when Okta rejects a saved cursor.
pub const CURSOR_FALLBACK_OVERLAP: chrono::Duration = chrono::Duration::minutes(15);
/// How many recent `uuid`s are remembered for deduplication (a few pages: Okta repeats events only
/// across nearby pages).
pub const DEDUPE_WINDOW: usize = 4_000;
/// A start date is moved this far inside the retention window, so the query is not rejected as too old
/// while it travels.
const RETENTION_MARGIN: chrono::Duration = chrono::Duration::minutes(5);

#[derive(Deserialize)]
struct EventProbe<'a> {
    #[serde(borrow)]
    uuid: Cow<'a, str>,
    #[serde(borrow, default)]
    published: Option<Cow<'a, str>>,
}

/// The recent `uuid`s, as 64-bit hashes (a 36-byte string each would cost more than the page).
struct Dedupe {
    seen: HashSet<u64>,
    order: VecDeque<u64>,
}

impl Dedupe {
    fn first_time(&mut self, uuid: &str) -> bool {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        uuid.hash(&mut h);
        let key = h.finish();
        if !self.seen.insert(key) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > DEDUPE_WINDOW {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        true
    }
}

pub async fn read_system_log(run: &mut StreamRun<'_>) -> Result<()> {
    let incremental = run.incremental();
    let now = Utc::now();
    let saved: LogState = cursor::load(run)?;
    let saved_published = saved.published.get().map(Ts::at);
    let saved_next = saved.next;
    let mut published = saved.published;
    if saved_next.is_none() && saved_published.is_some_and(|p| p > now) {
        tracing::warn!("the saved System Log cursor is in the future; nothing to read");
        return run.checkpoint(&cursor::to_value(&LogState {
            published,
            next: None,
        }));
    }
    let oldest = now - chrono::Duration::days(SYSTEM_LOG_RETENTION_DAYS) + RETENTION_MARGIN;
    let since_url = |since: DateTime<Utc>| -> String {
        // Okta rejects a `since` older than 180 days and returns nothing older than 90.
        let since = since.max(oldest);
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("since", &format_ts(since))
            .append_pair("limit", &LOG_PAGE_SIZE.to_string())
            .append_pair("sortOrder", "ASCENDING")
            .finish();
        format!("/api/v1/logs?{q}")
    };
    // A saved `next` must be a System Log link on the org; anything else is treated as rejected.
    let saved_next = saved_next.and_then(|n| match run.ctx.client.url(&n) {
        Ok(u) if u.path() == "/api/v1/logs" && run.ctx.client.check_origin(&u).is_ok() => Some(u),
        _ => {
            tracing::warn!("the saved System Log `next` is not a System Log link; re-reading from shortly before the last event");
            None
        }
    });
    let (mut url, resumed) = match (&saved_next, saved_published) {
        (Some(next), _) => (next.clone(), true),
        (None, Some(p)) => (
            run.ctx
                .client
                .url(&since_url(p - CURSOR_FALLBACK_OVERLAP))?,
            false,
        ),
        (None, None) => (
            run.ctx.client.url(&since_url(first_since(run, now)))?,
            false,
        ),
    };
    let mut dedupe = Dedupe {
        seen: HashSet::new(),
        order: VecDeque::new(),
    };
    let mut first = true;
    let mut progress = Progress::default();
    loop {
        let page = match fetch(&run.ctx.client, &url, Extract::Array).await {
            // Okta rejects a cursor it no longer knows (400), or a garbage one (404…): restart from the
            // saved timestamp minus the overlap rather than skip the stream on every later run.
            Err(e) if first && resumed && !fatal_for_fallback(&e) => {
                let message = e.to_string();
                let since = saved_published.unwrap_or_else(|| first_since(run, now))
                    - CURSOR_FALLBACK_OVERLAP;
                tracing::warn!(%message, since = %format_ts(since), "Okta rejected the saved System Log cursor; re-reading from shortly before the last event");
                url = run.ctx.client.url(&since_url(since))?;
                first = false;
                continue;
            }
            other => other?,
        };
        first = false;
        let mut rows = Vec::with_capacity(page.items.len());
        for raw in &page.items {
            let p: EventProbe<'_> = serde_json::from_str(raw.get()).map_err(|_| {
                crate::streams::list::bad_record(
                    run.def.name,
                    "/api/v1/logs",
                    raw.get(),
                    "uuid",
                    &["uuid", "published"],
                )
            })?;
            if !dedupe.first_time(&p.uuid) {
                continue;
            }
            if let Some(t) = p.published.as_deref().and_then(Ts::parse) {
                published.advance(t);
            }
            rows.push(Row {
                raw: raw.get(),
                prefix: None,
            });
        }
        progress.note(
            &page.url,
            page.items.iter().map(|i| i.get()),
            page.next.as_ref(),
        )?;
        run.emit(rows)?;
        // Resume from the next link, or from this very page when Okta gave none.
        let resume = page.next.clone().unwrap_or_else(|| page.url.clone());
        if incremental {
            run.checkpoint(&cursor::to_value(&LogState {
                published,
                next: Some(relative(&resume)),
            }))?;
        }
        match page.next.filter(|n| n != &page.url) {
            Some(n) if page.items.len() >= LOG_PAGE_SIZE => url = n,
            _ => break,
        }
    }
    if incremental {
        Ok(())
    } else {
        run.finish_full_refresh()
    }
}

/// Errors a restart from the saved timestamp cannot cure (the whole sync fails on them anyway).
fn fatal_for_fallback(e: &Error) -> bool {
    matches!(
        e,
        Error::Auth { .. }
            | Error::Exhausted { .. }
            | Error::RateLimitWait { .. }
            | Error::Unreachable { .. }
            | Error::TooLarge { .. }
            | Error::OutputClosed
            | Error::Output(_)
            | Error::ClientClosed
            | Error::Internal(_)
            | Error::TaskFailed { .. }
            | Error::Runtime(_)
            | Error::Json { .. }
    )
}

/// The `since` of a first read: the start date, clamped to the 90-day retention with a warning.
fn first_since(run: &StreamRun<'_>, now: DateTime<Utc>) -> DateTime<Utc> {
    let oldest = now - chrono::Duration::days(SYSTEM_LOG_RETENTION_DAYS) + RETENTION_MARGIN;
    match run.ctx.settings.start_date {
        Some(s) if s < oldest => {
            tracing::warn!(
                start_date = %format_ts(s),
                since = %format_ts(oldest),
                "Okta keeps System Log events for 90 days; reading from the oldest retained event instead of the start date"
            );
            oldest
        }
        Some(s) => s,
        None => oldest,
    }
}
