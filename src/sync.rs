//! A `read`: validates the configured catalog against the registry, runs every selected stream
//! concurrently over one paced client, and reports each stream's status. The first fatal error stops
//! the sync; a stream the credentials cannot read is skipped with a warning.

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::http::client::OktaClient;
use crate::output::{Output, Row};
use crate::state::StreamStates;
use crate::streams::{self, Api, Parent, Reader, StreamDef};
use airbyte_protocol::{ConfiguredCatalog, StreamStatus, SyncMode};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// A parent list's ids, filled once per sync by whichever child stream needs it first.
pub type ParentIds = Arc<OnceCell<Arc<Vec<String>>>>;

/// What a sync shares between its streams.
pub struct Ctx {
    pub client: OktaClient,
    /// The Advanced Server Access client, when ASA is configured.
    pub asa: Option<OktaClient>,
    pub out: Arc<Output>,
    pub settings: Settings,
    parents: Mutex<HashMap<&'static str, ParentIds>>,
    /// The change feed, read once per sync by the first stream that needs it.
    feed: OnceCell<streams::changes::FeedResult>,
    /// The oldest saved feed position of the selected consumers (`None`: no consumer needs the log).
    feed_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Where this sync's feed window ends.
    feed_until: chrono::DateTime<chrono::Utc>,
    /// The selected streams that take deletions from the feed.
    feed_consumers: Vec<&'static str>,
}

impl Ctx {
    pub fn new(settings: Settings, out: Arc<Output>) -> Result<Self> {
        let asa = match &settings.asa {
            Some(a) => Some(OktaClient::with(
                &settings,
                a.base_url.clone(),
                crate::okta::auth::Authenticator::asa(a)?,
            )?),
            None => None,
        };
        let feed_until = chrono::Utc::now()
            - chrono::Duration::from_std(settings.system_log_settle).unwrap_or_default();
        Ok(Self {
            client: OktaClient::new(&settings)?,
            asa,
            out,
            settings,
            parents: Mutex::new(HashMap::new()),
            feed: OnceCell::new(),
            feed_since: None,
            feed_until,
            feed_consumers: Vec::new(),
        })
    }

    pub fn feed_cell(&self) -> &OnceCell<streams::changes::FeedResult> {
        &self.feed
    }

    pub fn feed_since(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.feed_since
    }

    pub fn feed_until(&self) -> chrono::DateTime<chrono::Utc> {
        self.feed_until
    }

    pub fn feed_consumers(&self) -> &[&'static str] {
        &self.feed_consumers
    }

    /// The client of a stream's API.
    pub fn client_for(&self, api: Api) -> Result<&OktaClient> {
        match api {
            Api::Okta => Ok(&self.client),
            Api::Asa => self.asa.as_ref().ok_or_else(|| {
                Error::Input("an Advanced Server Access stream was selected but the config has no `asa` block".into())
            }),
        }
    }

    /// The ASA team name, when configured.
    pub fn asa_team(&self) -> Option<&str> {
        self.settings.asa.as_ref().map(|a| a.team.as_str())
    }

    /// A path with `{team}` filled in (ASA paths).
    pub fn expand(&self, api: Api, path: &str) -> String {
        match (api, self.asa_team()) {
            (Api::Asa, Some(team)) => {
                path.replace("{team}", &crate::streams::list::encode_segment(team))
            }
            _ => path.to_string(),
        }
    }

    /// The once-per-sync cell holding a parent list's ids.
    pub fn parent_cell(&self, parent: Parent) -> ParentIds {
        let mut map = self
            .parents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(parent.name).or_default().clone()
    }
}

/// One stream being read: emits its records and checkpoints its state.
pub struct StreamRun<'a> {
    pub ctx: &'a Arc<Ctx>,
    pub def: &'static StreamDef,
    pub mode: SyncMode,
    /// The saved state this run started from (incremental only).
    pub state: Option<Value>,
    pub records: u64,
    /// Why the stream, although read to its end, is not complete (it could not see deletions).
    pub incomplete: Option<String>,
    /// The `_ab_cdc_updated_at` every row of a feed-driven stream carries (when this sync read it).
    pub stamp: Option<String>,
    since_checkpoint: u64,
    running: bool,
}

impl<'a> StreamRun<'a> {
    pub fn new(
        ctx: &'a Arc<Ctx>,
        def: &'static StreamDef,
        mode: SyncMode,
        state: Option<Value>,
    ) -> Self {
        Self {
            ctx,
            def,
            mode,
            state,
            records: 0,
            incomplete: None,
            stamp: None,
            since_checkpoint: 0,
            running: false,
        }
    }

    pub fn incremental(&self) -> bool {
        self.mode == SyncMode::Incremental
    }

    /// Prints records of this stream.
    pub fn emit<'r>(&mut self, rows: impl IntoIterator<Item = Row<'r>>) -> Result<()> {
        if !self.running {
            self.running = true;
            self.ctx
                .out
                .stream_status(self.def.name, StreamStatus::Running)?;
        }
        let n = self.ctx.out.records(self.def.name, rows)?;
        self.records += n;
        self.since_checkpoint += n;
        Ok(())
    }

    /// Prints a STATE covering every record emitted so far.
    pub fn checkpoint(&mut self, state: &Value) -> Result<()> {
        self.ctx
            .out
            .state(self.def.name, state, self.since_checkpoint)?;
        self.since_checkpoint = 0;
        Ok(())
    }

    /// Ends a full-refresh read with one STATE, so hosts can count and commit it.
    pub fn finish_full_refresh(&mut self) -> Result<()> {
        self.checkpoint(&serde_json::json!({}))
    }
}

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
    let ctx = Arc::new(ctx);
    let started = std::time::Instant::now();
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
        tasks.spawn(async move {
            let name = s.def.name;
            statuses.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(name, StreamStatus::Started);
            ctx.out.stream_status(name, StreamStatus::Started)?;
            let mut run = StreamRun::new(&ctx, s.def, s.mode, state);
            let result = read_stream(&mut run).await;
            let status = match &result {
                Ok(()) if run.incomplete.is_some() => StreamStatus::Incomplete,
                Ok(()) => StreamStatus::Complete,
                Err(e) if e.is_stream_unavailable() => {
                    tracing::warn!(stream = name, reason = %e, "stream INCOMPLETE: the org or the credentials do not allow reading all of it; skipping the rest");
                    if !matches!(e, Error::Partial(_)) {
                        skipped.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(format!("{name}: {e}"));
                    }
                    StreamStatus::Incomplete
                }
                Err(_) => StreamStatus::Incomplete,
            };
            statuses.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(name, status);
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
        });
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

async fn read_stream(run: &mut StreamRun<'_>) -> Result<()> {
    use streams::{asa, incremental, list, members, system_log};
    match run.def.reader {
        Reader::List {
            path,
            extract,
            types,
            more_types,
            type_column,
        } => list::read_list(run, path, extract, types, more_types, type_column).await,
        Reader::FanOut {
            parent,
            path,
            extract,
            column: Some(column),
        } if run.def.cdc => streams::delta::read(run, parent, path, extract, column).await,
        Reader::FanOut {
            parent,
            path,
            extract,
            column,
        } => list::read_fan_out(run, parent, path, extract, column).await,
        Reader::ListThenDetail { path, detail } => {
            list::read_list_then_detail(run, path, detail).await
        }
        Reader::Search {
            path,
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

/// This process's peak resident set size (KiB), from `/proc/self/status` (Linux; `None` elsewhere).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
