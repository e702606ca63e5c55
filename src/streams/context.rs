//! The context a stream reader works in: the sync's shared clients, output, parent lists and change
//! feed (`Ctx`), and the one stream being read, which emits records and checkpoints state (`StreamRun`).
//!
//! The orchestration in `sync` builds these; the readers in this module's siblings only use them.

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::http::client::OktaClient;
use crate::output::{Output, Row};
use crate::progress::{Progress, StreamProgress};
use crate::streams::{self, Api, Parent, ParentKey, StreamDef};
use airbyte_protocol::{StreamStatus, SyncMode};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// A parent list's keys, filled once per sync by whichever child stream needs it first.
pub type ParentIds = Arc<OnceCell<Arc<Vec<ParentKey>>>>;

/// A parent list a selected stream hands to its children when its own read has listed all of it, so
/// the list is not requested twice. `Failed`: the children list it themselves.
#[derive(Debug, Clone)]
pub enum Handoff {
    Pending,
    Ready(Arc<Vec<ParentKey>>),
    Failed,
}

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
    pub(crate) feed_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Where this sync's feed window ends.
    feed_until: chrono::DateTime<chrono::Utc>,
    /// The selected streams that take deletions from the feed.
    pub(crate) feed_consumers: Vec<&'static str>,
    /// Per-stream counters for the progress line and the summary.
    pub progress: Arc<Progress>,
    /// The parent lists selected streams hand over, by stream name.
    pub(crate) handoffs: HashMap<&'static str, tokio::sync::watch::Sender<Handoff>>,
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
            progress: Progress::new(&[]),
            handoffs: HashMap::new(),
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

    /// Where stream `name` hands its keys to its children, when it does.
    pub fn handoff(&self, name: &str) -> Option<&tokio::sync::watch::Sender<Handoff>> {
        self.handoffs.get(name)
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
    /// The last STATE this run printed (what a skipped stream repeats).
    last_state: Option<Value>,
    pub(crate) progress: Option<Arc<StreamProgress>>,
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
            last_state: None,
            progress: ctx.progress.stream(def.name).cloned(),
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
        if let Some(p) = &self.progress {
            p.add_records(n);
        }
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
        self.last_state = Some(state.clone());
        Ok(())
    }

    /// Ends a stream that is skipped (the org or the credentials do not allow reading it) with a STATE
    /// that moves nothing forward, so hosts see the stream end and its saved position survives the sync: an
    /// incremental stream repeats its last position (the one it started from when it printed none); a full
    /// refresh that printed no record prints `{}`. A full refresh that printed some records before it was
    /// stopped prints no STATE: its records are not the whole table, and a STATE would present them as one.
    pub fn checkpoint_unchanged(&mut self) -> Result<()> {
        let position = match (&self.last_state, self.incremental()) {
            (Some(s), true) => s.clone(),
            (None, true) => self.state.clone().unwrap_or_else(|| serde_json::json!({})),
            (_, false) if self.records == 0 => serde_json::json!({}),
            (_, false) => return Ok(()),
        };
        self.checkpoint(&position)
    }

    /// Ends a full-refresh read with one STATE, so hosts can count and commit it.
    pub fn finish_full_refresh(&mut self) -> Result<()> {
        self.checkpoint(&serde_json::json!({}))
    }
}
