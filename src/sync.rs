//! A `read`: validates the configured catalog against the registry, runs every selected stream
//! concurrently over one paced client, and reports each stream's status. The first fatal error stops
//! the sync; a stream the credentials cannot read is skipped with a warning.

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::output::Output;
use crate::progress::{EstimateUnit, Progress};
use crate::state::StreamStates;
pub use crate::streams::context::{Ctx, ParentIds, StreamRun};
use crate::streams::{self, Reader, StreamDef};
use airbyte_protocol::{ConfiguredCatalog, StreamStatus, SyncMode};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// A configured stream checked against the registry.
struct Selected {
    def: &'static StreamDef,
    mode: SyncMode,
}

/// Checks the configured catalog: every stream must exist; incremental on a full-refresh-only stream is
/// read as a full refresh (PyAirbyte asks incremental for everything).
fn select(catalog: &ConfiguredCatalog) -> Result<Vec<Selected>> {
    let mut out: Vec<Selected> = Vec::new();
    for cs in &catalog.streams {
        let name = cs.stream.name.as_str();
        let def = streams::find(name).ok_or_else(|| {
            Error::Input(format!(
                "the catalog asks for stream {name:?}, which this connector does not have (run discover for the list)"
            ))
        })?;
        if out.iter().any(|s| s.def.name == name) {
            return Err(Error::Input(format!(
                "the catalog lists stream {name:?} twice"
            )));
        }
        let mode = match cs.sync_mode {
            SyncMode::Incremental if !def.supports_incremental() => {
                tracing::info!(
                    stream = name,
                    "stream supports full refresh only; reading it in full"
                );
                SyncMode::FullRefresh
            }
            m => m,
        };
        if mode == SyncMode::Incremental {
            if let (Some(c), Some(asked)) = (def.cursor_field, cs.cursor_field.first()) {
                if cs.cursor_field.len() != 1 || asked != c {
                    return Err(Error::Input(format!(
                        "stream {name:?} has the source-defined cursor {c:?}; the catalog asks for {:?}",
                        cs.cursor_field
                    )));
                }
            }
        }
        out.push(Selected { def, mode });
    }
    Ok(out)
}

/// Runs a read. Fatal errors come back as `Err` for the caller to report; skipped streams do not.
pub async fn read(
    settings: Settings,
    catalog: &ConfiguredCatalog,
    states: StreamStates,
    out: Arc<Output>,
) -> Result<()> {
    let selected = select(catalog)?;
    if let Some(start) = settings.start_date {
        tracing::info!(start_date = %start.to_rfc3339(), "start date");
    }
    let mut ctx = Ctx::new(settings, out.clone())?;
    for s in &selected {
        if s.def.cdc && s.mode == SyncMode::Incremental {
            ctx.feed_consumers.push(s.def.name);
            let state = states.get(s.def.name);
            if let Some(since) = streams::changes::saved_since(
                state,
                s.def.cursor_field.and_then(|c| {
                    state
                        .and_then(|v| v.get(c))
                        .and_then(Value::as_str)
                        .and_then(streams::incremental::parse_ts)
                }),
            ) {
                ctx.feed_since = Some(ctx.feed_since.map_or(since, |m| m.min(since)));
            }
        }
    }
    let counted: Vec<(&'static str, Option<&str>)> = selected
        .iter()
        .map(|s| {
            let child = match s.def.reader {
                Reader::FanOut => Some(s.def.endpoint),
                _ => None,
            };
            (s.def.name, child)
        })
        .collect();
    ctx.handoffs = handoffs(&selected);
    ctx.progress = Progress::new(&counted);
    ctx.progress.install_global();
    let ctx = Arc::new(ctx);
    let started = std::time::Instant::now();
    let ticker = crate::progress::interval_from_env().map(|every| {
        let progress = ctx.progress.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                tracing::info!("{}", progress.line());
            }
        })
    });
    let mut tasks = tokio::task::JoinSet::new();
    let statuses: Arc<Mutex<HashMap<&'static str, StreamStatus>>> = Arc::default();
    // Why each skipped stream was skipped: when every stream is, the sync fails as a whole.
    let skipped: Arc<Mutex<Vec<String>>> = Arc::default();
    let selected_count = selected.len();
    for s in selected {
        let ctx = ctx.clone();
        let state = if s.mode == SyncMode::Incremental {
            states.get(s.def.name).cloned()
        } else {
            None
        };
        let statuses = statuses.clone();
        let skipped = skipped.clone();
        let counters = ctx.progress.stream(s.def.name).cloned();
        let task = async move {
            let name = s.def.name;
            statuses
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(name, StreamStatus::Started);
            ctx.out.stream_status(name, StreamStatus::Started)?;
            let mut run = StreamRun::new(&ctx, s.def, s.mode, state);
            if let Some(p) = &run.progress {
                p.start();
            }
            let mut result = read_stream(&mut run).await;
            if let Err(e) = &result {
                if e.is_stream_unavailable() && !matches!(e, Error::Partial(_)) {
                    // A skipped stream still ends with a STATE (its position unchanged), then INCOMPLETE.
                    // A partly read one (`Partial`) keeps the checkpoints its reader printed.
                    if let Err(out) = run.checkpoint_unchanged() {
                        result = Err(out);
                    }
                }
            }
            let status = match &result {
                Ok(()) if run.incomplete.is_some() => StreamStatus::Incomplete,
                Ok(()) => StreamStatus::Complete,
                Err(e) if e.is_stream_unavailable() => {
                    tracing::warn!(stream = name, reason = %e, "stream INCOMPLETE: the org or the credentials do not allow reading all of it; skipping the rest");
                    if !matches!(e, Error::Partial(_)) {
                        skipped
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push(format!("{name}: {e}"));
                    }
                    StreamStatus::Incomplete
                }
                Err(_) => StreamStatus::Incomplete,
            };
            statuses
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(name, status);
            if let Some(p) = &run.progress {
                p.finish(status);
            }
            if let Ok(()) = &result {
                tracing::info!(stream = name, records = run.records, "stream done");
            }
            if !matches!(result, Err(Error::OutputClosed)) {
                ctx.out.stream_status(name, status)?;
            }
            match result {
                Err(e) if !e.is_stream_unavailable() => Err(e),
                _ => Ok(()),
            }
        };
        match counters {
            Some(c) => tasks.spawn(crate::progress::scope(c, task)),
            None => tasks.spawn(task),
        };
    }
    let mut failure = None;
    while let Some(joined) = tasks.join_next().await {
        let result = joined.unwrap_or_else(|source| {
            Err(Error::TaskFailed {
                what: "a stream task",
                source,
            })
        });
        if let Err(e) = result {
            failure = Some(e);
            tasks.abort_all();
            break;
        }
    }
    while tasks.join_next().await.is_some() {}
    if let Some(t) = ticker {
        t.abort();
    }
    let stats = &ctx.client.stats;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        requests = stats.requests.load(Ordering::Relaxed),
        retries = stats.retries.load(Ordering::Relaxed),
        rate_limited = stats.rate_limited.load(Ordering::Relaxed),
        paced_waits = stats.paced_waits.load(Ordering::Relaxed),
        peak_rss_kib = peak_rss_kib().unwrap_or(0),
        "sync summary"
    );
    tracing::info!("{}", ctx.progress.summary());
    if let Some(e) = failure {
        if !matches!(e, Error::OutputClosed) {
            let statuses = statuses
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            for (name, status) in statuses {
                if matches!(status, StreamStatus::Started | StreamStatus::Running) {
                    let _ = out.stream_status(name, StreamStatus::Incomplete);
                }
            }
        }
        return Err(e);
    }
    let skipped = skipped
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    if selected_count > 0 && skipped.len() == selected_count {
        return Err(Error::NothingReadable {
            count: skipped.len(),
            first: skipped.first().cloned().unwrap_or_default(),
        });
    }
    out.flush()
}

/// The selected parent streams whose own read lists exactly what a selected child fans out over (a
/// whole list, read with the same request): they hand their keys over instead of a second listing.
fn handoffs(
    selected: &[Selected],
) -> HashMap<&'static str, tokio::sync::watch::Sender<streams::context::Handoff>> {
    use streams::Catalogued;
    let wanted: Vec<&'static str> = selected
        .iter()
        .flat_map(|s| [s.def.parent_list(), s.def.more_types_list()])
        .flatten()
        .map(|p| p.name)
        .collect();
    selected
        .iter()
        .map(|s| s.def)
        .filter(|d| {
            wanted.contains(&d.name)
                && match d.reader {
                    Reader::List => d.more_types.is_none() && d.parent_listing() == d.endpoint,
                    // A fan-out parent (role assignments under role targets): its read of every parent.
                    Reader::FanOut => d.variants.is_empty(),
                    _ => false,
                }
        })
        .map(|d| {
            let (tx, _) = tokio::sync::watch::channel(streams::context::Handoff::Pending);
            (d.name, tx)
        })
        .collect()
}

async fn read_stream(run: &mut StreamRun<'_>) -> Result<()> {
    let result = read_with_reader(run).await;
    // A read that handed no keys over (a change-feed or resumed read collects none) leaves the
    // children waiting on it to list the parents themselves, never waiting for ever.
    if let Some(to) = run.ctx.handoff(run.def.name) {
        to.send_if_modified(|h| {
            let pending = matches!(h, streams::context::Handoff::Pending);
            if pending {
                *h = streams::context::Handoff::Failed;
            }
            pending
        });
    }
    result
}

async fn read_with_reader(run: &mut StreamRun<'_>) -> Result<()> {
    use streams::{asa, incremental, list, members, system_log, Catalogued};
    let def = run.def;
    let (path, extract) = (def.endpoint, def.extract);
    match def.reader {
        Reader::List => {
            let more_types = def.more_types_list();
            list::read_list(run, path, extract, def.types, more_types, def.type_column).await
        }
        Reader::FanOut => {
            let parent = def.parent_list().ok_or_else(|| {
                Error::Config(format!(
                    "{}: its parent stream is not in the manifest",
                    def.name
                ))
            })?;
            match def.parent_column {
                Some(column) if def.cdc => {
                    // Without a saved position every parent is read: the parent count is the estimate.
                    if run.state.is_none() {
                        estimate_parents(run, parent).await?;
                    }
                    streams::delta::read(run, parent, path, extract, column).await
                }
                _ => {
                    estimate_parents(run, parent).await?;
                    list::read_fan_out(run, parent, path, extract).await
                }
            }
        }
        Reader::ListThenDetail { detail } => list::read_list_then_detail(run, path, detail).await,
        Reader::Search {
            limit,
            sorted,
            extra,
        } => incremental::read_search(run, path, limit, sorted, extra).await,
        Reader::GroupMembers => members::read_group_members(run).await,
        Reader::SystemLog => system_log::read_system_log(run).await,
        Reader::AsaAudits => asa::read_audits(run).await,
        Reader::AsaTeam => asa::read_team(run).await,
    }
}

/// The ESTIMATE of a fan-out that reads one child list per parent: the parent count. The parent list is
/// fetched once per sync and cached, so the reader reuses it (and a failure is the one it would report).
async fn estimate_parents(run: &mut StreamRun<'_>, parent: streams::Parent) -> Result<()> {
    let parents = streams::list::parent_keys(run.ctx, parent).await?.len() as u64;
    run.ctx.out.estimate(run.def.name, parents)?;
    crate::progress::estimated(parents, EstimateUnit::Parents);
    Ok(())
}

/// This process's peak resident set size (KiB), from `/proc/self/status` (Linux; `None` elsewhere).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
