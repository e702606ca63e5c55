//! The loading core shared by the Airbyte and Singer modes: per-stream buffers, the flush policy, load jobs
//! per sync mode, and the rule that a STATE is echoed only after every record before it is committed.
//!
//! Flow per stream: records are encoded into a spool file (NDJSON, on disk so memory stays flat). A buffer
//! is loaded when it is big (`target_bytes`), old (`max_age`) or a STATE waits on it, but at most once per
//! `min_load_interval` per table (BigQuery allows 1,500 table modifications per table per day), unless it
//! reaches `max_bytes`. Then, by mode:
//! - append: load job into the final table (`WRITE_APPEND`); committed when the job is DONE;
//! - append_dedup: load jobs into a per-run, expiring temporary table (the first load of a commit window
//!   truncates it), then one `MERGE` into the final table on the primary key keeping the newest row by cursor
//!   and applying CDC tombstones; committed after the MERGE. A MERGE scans the final table, so it runs once
//!   per stream at the end of the sync, or earlier only when a STATE waits on the stream and the commit
//!   window (`merge_interval`, default one hour) has passed;
//! - overwrite: load jobs into a temporary table; when the stream is complete, one copy job
//!   (`WRITE_TRUNCATE`) swaps it into place, so readers never see an empty table; committed after the swap.
//!
//! A STATE is held until the records received before it are committed: its own stream's for a per-stream
//! state, every stream's for a global one.

use crate::config::{Batching, SchemaChangePolicy};
use crate::encoder::{Encoder, Fields};
use crate::error::{Error, Result};
use crate::output::Output;
use crate::schema::{self, BqType, TableSchema};
use crate::sql::TableRef;
use crate::warehouse::{Disposition, Load, Warehouse};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long a temporary table lives if a run dies before dropping it (a later run drops it sooner, see
/// [`STALE_TEMP_AGE`]).
const TEMP_TABLE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// A temporary table of another run of the same table, unmodified for this long, belongs to a run that
/// died: no run resumes another's temp tables, so it is dropped. (A live run loads at least every
/// `flush_interval_seconds` while it has data.)
const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

/// A spool folder without a live owner and older than this is removed at start (when liveness is unknown).
const STALE_SPOOL_AGE: Duration = Duration::from_secs(24 * 3600);

/// The file in a spool folder naming the process that owns it.
const OWNER_FILE: &str = "owner.pid";

/// The destination sync mode as this sink implements it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Append,
    Dedup,
    Overwrite,
    /// Overwrite whose result is deduplicated on the primary key (a truncate refresh of a dedup stream).
    OverwriteDedup,
}

impl Mode {
    fn uses_temp(self) -> bool {
        self != Mode::Append
    }
    fn swaps(self) -> bool {
        matches!(self, Mode::Overwrite | Mode::OverwriteDedup)
    }
}

/// A stream as configured: where it lands and how.
#[derive(Debug, Clone)]
pub struct StreamSpec {
    pub name: String,
    pub namespace: Option<String>,
    pub table: TableRef,
    pub schema: TableSchema,
    pub mode: Mode,
    pub generation_id: i64,
    pub sync_id: Option<i64>,
}

/// Settings of the sink (a subset of the config, plus the run id).
#[derive(Debug, Clone)]
pub struct SinkOptions {
    pub project: String,
    pub raw_dataset: String,
    pub batching: Batching,
    pub schema_change: SchemaChangePolicy,
    /// What a CDC tombstone does to a deduplicated table.
    pub deletes: crate::sql::Deletes,
    /// The shortest time between two MERGEs into one table while a STATE waits (the commit window).
    pub merge_interval: Duration,
    pub spool_dir: PathBuf,
    /// Unique per process: makes temp-table names and job ids unique per run, deterministic within it.
    pub run_id: String,
}

struct Spool {
    path: PathBuf,
    file: std::io::BufWriter<std::fs::File>,
    rows: u64,
    bytes: u64,
    started: Instant,
    max_seq: u64,
    /// The smallest and largest extraction time (ms) in the file.
    extracted: Option<(i64, i64)>,
}

/// Rows loaded into a dedup stream's temp table and not merged yet (the open commit window).
#[derive(Default)]
struct Window {
    open: bool,
    rows: u64,
    max_seq: u64,
    extracted: Option<(i64, i64)>,
}

struct Prepared {
    effective: TableSchema,
    encoder: Encoder,
    temp: Option<TableRef>,
}

struct StreamRt {
    spec: StreamSpec,
    prepared: Option<Prepared>,
    spool: Option<Spool>,
    load_seq: u32,
    last_load: Option<Instant>,
    /// Global sequence number of the last record received / committed.
    last_seq: u64,
    committed_seq: u64,
    since_state: u64,
    rows_received: u64,
    rows_committed: u64,
    loads: u32,
    window: Window,
    last_merge: Option<Instant>,
    merges: u32,
    bytes_processed: u64,
    nulled_values: u64,
    /// Undeclared fields kept in `_airbyte_additional_properties`.
    additional_values: u64,
    status_seen: bool,
    /// Undeclared fields already warned about.
    undeclared_warned: std::collections::HashSet<String>,
    complete: bool,
    incomplete: bool,
    swapped: bool,
}

struct PendingState {
    /// Where the state's JSON text is in [`HeldTexts`]: thousands may wait for one MERGE, and memory
    /// keeps only this.
    at: (u64, u32),
    count: u64,
    /// The stream of a per-stream state; `None` for a global, legacy or Singer state (covers every stream).
    stream: Option<usize>,
    /// `(stream, sequence number)` that must be committed before the state may be echoed.
    needs: Needs,
}

/// What a held state waits for: one stream's records (a per-stream state, no allocation), or several.
enum Needs {
    One((usize, u64)),
    Many(Box<[(usize, u64)]>),
}

impl Needs {
    fn of(mut v: Vec<(usize, u64)>) -> Self {
        match v.len() {
            1 => Needs::One(v.swap_remove(0)),
            _ => Needs::Many(v.into_boxed_slice()),
        }
    }

    fn iter(&self) -> std::slice::Iter<'_, (usize, u64)> {
        match self {
            Needs::One(n) => std::slice::from_ref(n).iter(),
            Needs::Many(v) => v.iter(),
        }
    }
}

/// The texts of held STATEs, in a file of the spool folder (emptied whenever no state is held), so
/// memory stays flat however many STATEs a sync holds until its MERGE.
struct HeldTexts {
    path: PathBuf,
    file: Option<std::fs::File>,
    end: u64,
}

impl HeldTexts {
    fn new(path: PathBuf) -> Self {
        HeldTexts {
            path,
            file: None,
            end: 0,
        }
    }

    /// Writes a state's text; answers where it is.
    fn put(&mut self, text: &str) -> Result<(u64, u32)> {
        use std::os::unix::fs::FileExt;
        let io = |e| Error::io(self.path.display(), e);
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(
                std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&self.path)
                    .map_err(io)?,
            ),
        };
        let len = u32::try_from(text.len())
            .map_err(|_| Error::Internal("a STATE larger than 4 GiB".into()))?;
        file.write_all_at(text.as_bytes(), self.end)
            .map_err(|e| Error::io(self.path.display(), e))?;
        let at = (self.end, len);
        self.end += u64::from(len);
        Ok(at)
    }

    /// Reads a state's text back.
    fn get(&self, (offset, len): (u64, u32)) -> Result<String> {
        use std::os::unix::fs::FileExt;
        let file = self
            .file
            .as_ref()
            .ok_or_else(|| Error::Internal("a held state without its file".into()))?;
        let mut text = vec![0u8; len as usize];
        file.read_exact_at(&mut text, offset)
            .map_err(|e| Error::io(self.path.display(), e))?;
        String::from_utf8(text).map_err(|e| Error::Internal(format!("a held state: {e}")))
    }

    /// No state is held any more: the file starts over.
    fn clear(&mut self) -> Result<()> {
        if let Some(f) = &self.file {
            if self.end > 0 {
                f.set_len(0)
                    .map_err(|e| Error::io(self.path.display(), e))?;
            }
        }
        self.end = 0;
        Ok(())
    }
}

/// Per-table figures at the end of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSummary {
    pub table: String,
    pub mode: Mode,
    pub rows: u64,
    pub loads: u32,
    /// MERGE statements run, and the bytes the warehouse reported processing for them.
    pub merges: u32,
    pub bytes_processed: u64,
    pub nulled_values: u64,
    pub additional_values: u64,
}

pub struct Sink {
    wh: Warehouse,
    out: Output,
    opts: SinkOptions,
    streams: Vec<StreamRt>,
    index: HashMap<(Option<String>, String), usize>,
    /// The last stream a record named and where it was found: consecutive records mostly name the same
    /// stream, and this answers them without building the index's owned key.
    last_lookup: Option<(Option<String>, String, usize)>,
    pending: VecDeque<PendingState>,
    held: HeldTexts,
    seq: u64,
    since_state_total: u64,
    datasets: BTreeSet<String>,
    line: Vec<u8>,
    source_failed: bool,
    started: Instant,
    /// Temp tables found in each internal dataset at its first use: `(table, last modified ms)`.
    temp_listing: HashMap<String, Vec<(TableRef, i64)>>,
}

impl Sink {
    pub fn new(wh: Warehouse, out: Output, opts: SinkOptions) -> Result<Self> {
        remove_stale_spools(&opts.spool_dir);
        std::fs::create_dir_all(&opts.spool_dir)
            .map_err(|e| Error::io(opts.spool_dir.display(), e))?;
        let owner = opts.spool_dir.join(OWNER_FILE);
        std::fs::write(&owner, std::process::id().to_string())
            .map_err(|e| Error::io(owner.display(), e))?;
        let held = HeldTexts::new(opts.spool_dir.join("held-states.json"));
        Ok(Sink {
            wh,
            out,
            opts,
            streams: Vec::new(),
            index: HashMap::new(),
            last_lookup: None,
            pending: VecDeque::new(),
            held,
            seq: 0,
            since_state_total: 0,
            datasets: BTreeSet::new(),
            line: Vec::with_capacity(4096),
            source_failed: false,
            started: Instant::now(),
            temp_listing: HashMap::new(),
        })
    }

    pub fn output(&mut self) -> &mut Output {
        &mut self.out
    }

    pub fn warehouse(&self) -> &Warehouse {
        &self.wh
    }

    /// Adds a stream, or replaces its schema (a new Singer SCHEMA): the buffer so far is loaded first.
    pub async fn register(&mut self, spec: StreamSpec) -> Result<()> {
        let key = (spec.namespace.clone(), spec.name.clone());
        if let Some(&i) = self.index.get(&key) {
            if self.streams[i].spec.schema == spec.schema && self.streams[i].spec.mode == spec.mode
            {
                return Ok(());
            }
            check_keys(&spec)?;
            if self.streams[i].spec.mode.swaps() {
                return Err(Error::Catalog(format!(
                    "stream {}: a new schema in the middle of an overwrite is not supported",
                    spec.name
                )));
            }
            self.commit_stream(i).await?;
            self.release_states()?;
            // The next record prepares the stream again (ALTER for new columns, a fresh temp table).
            if let Some(temp) = self.streams[i].prepared.take().and_then(|p| p.temp) {
                self.wh.drop_table(&temp).await?;
            }
            self.streams[i].spec = spec;
            return Ok(());
        }
        check_keys(&spec)?;
        self.index.insert(key, self.streams.len());
        // A new (namespace, name) may change where a namespaced lookup falls back to.
        self.last_lookup = None;
        self.streams.push(StreamRt {
            spec,
            prepared: None,
            spool: None,
            load_seq: 0,
            last_load: None,
            last_seq: 0,
            committed_seq: 0,
            since_state: 0,
            rows_received: 0,
            rows_committed: 0,
            loads: 0,
            window: Window::default(),
            last_merge: None,
            merges: 0,
            bytes_processed: 0,
            nulled_values: 0,
            additional_values: 0,
            status_seen: false,
            undeclared_warned: Default::default(),
            complete: false,
            incomplete: false,
            swapped: false,
        });
        Ok(())
    }

    fn lookup(&mut self, namespace: Option<&str>, name: &str) -> Result<usize> {
        if let Some((ns, n, i)) = &self.last_lookup {
            if ns.as_deref() == namespace && n == name {
                return Ok(*i);
            }
        }
        let i = self.lookup_index(namespace, name)?;
        self.last_lookup = Some((namespace.map(str::to_string), name.to_string(), i));
        Ok(i)
    }

    fn lookup_index(&self, namespace: Option<&str>, name: &str) -> Result<usize> {
        self.index
            .get(&(namespace.map(str::to_string), name.to_string()))
            .or_else(|| self.index.get(&(None, name.to_string())))
            .copied()
            .ok_or_else(|| {
                Error::Catalog(format!(
                    "received a record for stream {name:?}, which is not in the catalog"
                ))
            })
    }

    /// Buffers one record.
    pub async fn record<F: Fields + ?Sized>(
        &mut self,
        namespace: Option<&str>,
        stream: &str,
        data: &F,
        emitted_at_ms: i64,
        source_changes: Option<&Value>,
    ) -> Result<()> {
        let i = self.lookup(namespace, stream)?;
        if self.streams[i].prepared.is_none() {
            self.prepare(i).await?;
        }
        self.seq += 1;
        self.since_state_total += 1;
        let seq = self.seq;
        let spool_dir = &self.opts.spool_dir;
        let s = &mut self.streams[i];
        s.last_seq = seq;
        s.since_state += 1;
        s.rows_received += 1;
        self.line.clear();
        let enc = s.prepared.as_mut().expect("prepared above").encoder.encode(
            data,
            emitted_at_ms,
            source_changes,
            &mut self.line,
        );
        // A scoped tombstone (Okta logged the deletion of a parent, not each row it removed) names only
        // part of the key: it deletes every row whose present key columns match.
        let scoped_tombstone = data
            .field(schema::CDC_DELETED_AT)
            .is_some_and(|f| !f.is_null())
            && s.spec
                .schema
                .primary_key
                .iter()
                .any(|k| data.field(k).is_some_and(|f| !f.is_null()));
        if let (Some(field), true, false) =
            (&enc.null_key, s.spec.mode != Mode::Append, scoped_tombstone)
        {
            return Err(Error::Record {
                stream: s.spec.name.clone(),
                message: format!(
                    "primary key field {field:?} is missing or null (or not of its declared type); \
                     a deduplicated stream cannot merge a row without its key"
                ),
            });
        }
        s.nulled_values += enc.nulled as u64;
        s.additional_values += enc.additional as u64;
        if enc.undeclared {
            for k in data.field_names() {
                let declared = s
                    .spec
                    .schema
                    .columns
                    .iter()
                    .any(|c| c.field.as_deref() == Some(k));
                if !declared
                    && !s.undeclared_warned.contains(k)
                    && s.undeclared_warned.insert(k.to_string())
                {
                    if enc.additional > 0 {
                        tracing::info!(
                            "stream {}: field {k:?} is not in the stream's schema; it is kept in {}",
                            s.spec.name,
                            schema::ADDITIONAL_PROPERTIES
                        );
                    } else {
                        tracing::warn!(
                            "stream {}: field {k:?} is not in the stream's schema and is not loaded \
                             (`additional_properties_column` is off); add it to the schema to load it",
                            s.spec.name
                        );
                    }
                }
            }
        }
        if s.spool.is_none() {
            s.load_seq += 1;
            let path = spool_dir.join(format!("{}-{:06}.ndjson", s.spec.table.table, s.load_seq));
            let file = std::fs::File::create(&path).map_err(|e| Error::io(path.display(), e))?;
            s.spool = Some(Spool {
                path,
                file: std::io::BufWriter::with_capacity(1 << 20, file),
                rows: 0,
                bytes: 0,
                started: Instant::now(),
                max_seq: 0,
                extracted: None,
            });
        }
        let sp = s.spool.as_mut().expect("spool was just created");
        sp.file
            .write_all(&self.line)
            .map_err(|e| Error::io(sp.path.display(), e))?;
        sp.rows += 1;
        sp.bytes += self.line.len() as u64;
        sp.max_seq = seq;
        sp.extracted = Some(match sp.extracted {
            None => (emitted_at_ms, emitted_at_ms),
            Some((lo, hi)) => (lo.min(emitted_at_ms), hi.max(emitted_at_ms)),
        });
        let b = &self.opts.batching;
        if sp.bytes >= b.max_bytes || (sp.bytes >= b.target_bytes && s.may_load(b)) {
            self.flush_stream(i).await?;
            self.release_states()?;
        }
        Ok(())
    }

    /// A STATE from the source: queued until the records before it are committed.
    /// `stream` names the stream of a per-stream state (for its record count); `None` for global/legacy.
    pub async fn state(
        &mut self,
        state: Value,
        stream: Option<(Option<&str>, &str)>,
    ) -> Result<()> {
        let owner = stream.and_then(|(ns, n)| self.lookup(ns, n).ok());
        let count = match owner {
            Some(i) => std::mem::take(&mut self.streams[i].since_state),
            None => {
                for s in &mut self.streams {
                    s.since_state = 0;
                }
                std::mem::take(&mut self.since_state_total)
            }
        };
        // A per-stream state covers its own stream's records; any other state covers every stream's.
        let needs: Vec<(usize, u64)> = self
            .streams
            .iter()
            .enumerate()
            .filter(|(i, s)| owner.is_none_or(|o| o == *i) && s.last_seq > s.committed_seq)
            .map(|(i, s)| (i, s.last_seq))
            .collect();
        let at = self.held.put(&state.to_string())?;
        self.pending.push_back(PendingState {
            at,
            count,
            stream: owner,
            needs: Needs::of(needs),
        });
        self.release_states()?;
        self.tick().await
    }

    /// A stream status from the source (TRACE STREAM_STATUS): COMPLETE lets an overwrite stream swap now.
    pub async fn stream_status(
        &mut self,
        namespace: Option<&str>,
        stream: &str,
        status: &str,
    ) -> Result<()> {
        let Ok(i) = self.lookup(namespace, stream) else {
            return Ok(());
        };
        self.streams[i].status_seen = true;
        match status {
            "COMPLETE" => {
                self.streams[i].complete = true;
                if self.streams[i].spec.mode.swaps() {
                    self.finish_swap(i).await?;
                    self.release_states()?;
                }
            }
            "INCOMPLETE" => self.streams[i].incomplete = true,
            _ => {}
        }
        Ok(())
    }

    /// The source reported a fatal error: overwrite streams must not be swapped with partial data.
    pub fn source_failed(&mut self) {
        self.source_failed = true;
    }

    /// Called regularly (and after each STATE): loads buffers that are due.
    pub async fn tick(&mut self) -> Result<()> {
        let waiting: BTreeSet<usize> = self
            .pending
            .iter()
            .flat_map(|p| p.needs.iter().map(|(i, _)| *i))
            .collect();
        for i in 0..self.streams.len() {
            let s = &self.streams[i];
            let dedup = s.spec.mode == Mode::Dedup;
            if dedup
                && waiting.contains(&i)
                && (s.window.open || s.spool.is_some())
                && s.last_merge.unwrap_or(self.started).elapsed() >= self.opts.merge_interval
            {
                self.merge_stream(i).await?;
                continue;
            }
            let Some(sp) = &s.spool else { continue };
            let b = &self.opts.batching;
            let due = sp.bytes >= b.max_bytes
                || (s.may_load(b)
                    && (sp.bytes >= b.target_bytes
                        || sp.started.elapsed() >= b.max_age
                        || (waiting.contains(&i) && s.spec.mode == Mode::Append)));
            if due {
                self.flush_stream(i).await?;
            }
        }
        self.release_states()
    }

    /// End of input: loads everything, swaps complete overwrite streams, drops temp tables, echoes the
    /// states that are committed. Returns the per-table summary.
    pub async fn finish(&mut self) -> Result<Vec<TableSummary>> {
        for i in 0..self.streams.len() {
            self.commit_stream(i).await?;
        }
        self.release_states()?;
        for i in 0..self.streams.len() {
            let s = &self.streams[i];
            if !s.spec.mode.swaps() || s.swapped {
                continue;
            }
            // Replace only what the source finished: a COMPLETE status, or (for sources that send no stream
            // statuses) records and a clean end of input. An empty, status-less stream keeps its table: an
            // empty pipe from a source that died silently must not wipe it.
            let ok = !self.source_failed
                && !s.incomplete
                && (s.complete || (!s.status_seen && s.rows_received > 0));
            if ok {
                self.finish_swap(i).await?;
            } else {
                let msg = format!(
                    "not replacing {}: the source did not complete the stream (its states were not echoed)",
                    s.spec.table
                );
                self.out.log(airbyte_protocol::LogLevel::Warn, msg);
            }
        }
        self.release_states()?;
        for i in 0..self.streams.len() {
            if let Some(temp) = self.streams[i]
                .prepared
                .as_ref()
                .and_then(|p| p.temp.clone())
            {
                if self.streams[i].spec.mode == Mode::Dedup || self.streams[i].swapped {
                    self.wh.drop_table(&temp).await?;
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.opts.spool_dir);
        Ok(self
            .streams
            .iter()
            .filter(|s| s.prepared.is_some())
            .map(|s| TableSummary {
                table: format!("{}.{}", s.spec.table.dataset, s.spec.table.table),
                mode: s.spec.mode,
                rows: s.rows_committed,
                loads: s.loads,
                merges: s.merges,
                bytes_processed: s.bytes_processed,
                nulled_values: s.nulled_values,
                additional_values: s.additional_values,
            })
            .collect())
    }

    /// The streams that were written, for the local row counts.
    pub fn tables(&self) -> Vec<(TableRef, TableSchema, bool)> {
        self.streams
            .iter()
            .filter(|s| s.prepared.is_some())
            .map(|s| {
                (
                    s.spec.table.clone(),
                    s.spec.schema.clone(),
                    matches!(s.spec.mode, Mode::Dedup | Mode::OverwriteDedup),
                )
            })
            .collect()
    }

    /// Echoes every pending state whose records are committed. States of one stream keep their order, and a
    /// global state keeps its place relative to all others; states of different streams do not wait for each
    /// other (so a long overwrite, committed only at its swap, does not hold back other streams' states).
    fn release_states(&mut self) -> Result<()> {
        let mut blocked_streams: BTreeSet<usize> = BTreeSet::new();
        let mut blocked_all = false;
        let mut i = 0;
        while i < self.pending.len() {
            let p = &self.pending[i];
            let committed = p
                .needs
                .iter()
                .all(|(s, seq)| self.streams[*s].committed_seq >= *seq);
            let in_order = match p.stream {
                Some(s) => !blocked_all && !blocked_streams.contains(&s),
                None => !blocked_all && blocked_streams.is_empty(),
            };
            if committed && in_order {
                let p = self.pending.remove(i).expect("index is in range");
                let state: Value = serde_json::from_str(&self.held.get(p.at)?)
                    .map_err(|e| Error::Internal(format!("a held state: {e}")))?;
                self.out.state(&state, p.count)?;
                if self.pending.is_empty() {
                    self.held.clear()?;
                }
                continue;
            }
            match p.stream {
                Some(s) => {
                    blocked_streams.insert(s);
                }
                None => blocked_all = true,
            }
            i += 1;
        }
        Ok(())
    }

    async fn ensure_dataset(&mut self, dataset: &str) -> Result<()> {
        if self.datasets.insert(dataset.to_string()) {
            self.wh.ensure_dataset(dataset).await?;
        }
        Ok(())
    }

    /// Creates or evolves the final table and the temp table before the first record of a stream.
    async fn prepare(&mut self, i: usize) -> Result<()> {
        let spec = self.streams[i].spec.clone();
        let final_t = spec.table.clone();
        self.ensure_dataset(&final_t.dataset).await?;
        let mut effective = spec.schema.clone();
        if !spec.mode.swaps() {
            match self.wh.table_columns(&final_t).await? {
                None => self.wh.create_table(&final_t, &spec.schema, None).await?,
                Some(existing) => {
                    let (diff, mut eff) = schema::diff(&existing, &spec.schema);
                    if !diff.widen.is_empty() {
                        let what: Vec<String> = diff
                            .widen
                            .iter()
                            .map(|(c, had, to)| format!("{c} {had} -> {}", to.sql_name()))
                            .collect();
                        self.out.info(format!(
                            "widening in place in {final_t}: {}",
                            what.join(", ")
                        ));
                        let cols: Vec<(String, BqType)> = diff
                            .widen
                            .iter()
                            .map(|(c, _, to)| (c.clone(), *to))
                            .collect();
                        self.wh.alter_types(&final_t, &cols).await?;
                    }
                    if let Some((col, had, wanted)) = diff.incompatible.first() {
                        if self.opts.schema_change == SchemaChangePolicy::Fail {
                            return Err(Error::SchemaChange {
                                table: final_t.to_string(),
                                column: col.clone(),
                                existing: had.clone(),
                                wanted: wanted.sql_name().into(),
                                hint: "Nothing was loaded. Set \"schema_change\": \"widen_to_json\" to convert the column \
                                       to JSON, run an overwrite sync, or drop the column."
                                    .into(),
                            });
                        }
                        let cols: Vec<String> = diff
                            .incompatible
                            .iter()
                            .map(|(c, _, _)| c.clone())
                            .collect();
                        let what: Vec<String> = diff
                            .incompatible
                            .iter()
                            .map(|(c, had, _)| format!("{c} ({had})"))
                            .collect();
                        self.out.info(format!(
                            "converting {} of {final_t} to JSON (one CREATE OR REPLACE TABLE … AS SELECT)",
                            what.join(", ")
                        ));
                        self.wh
                            .convert_to_json(&final_t, &cols, &spec.schema.clustering())
                            .await?;
                        for col in &cols {
                            if let Some(c) = eff
                                .columns
                                .iter_mut()
                                .find(|c| c.name.eq_ignore_ascii_case(col))
                            {
                                c.name = col.clone();
                                c.ty = BqType::Json;
                            }
                        }
                        // The replaced table's columns are NULLABLE: loads must declare them so.
                        for c in &mut eff.columns {
                            c.required = false;
                        }
                    }
                    if !diff.add.is_empty() {
                        let names: Vec<&str> = diff.add.iter().map(|c| c.name.as_str()).collect();
                        self.out
                            .info(format!("adding columns {} to {final_t}", names.join(", ")));
                        self.wh.add_columns(&final_t, &diff.add).await?;
                    }
                    effective = eff;
                }
            }
        }
        let temp = if spec.mode.uses_temp() {
            let raw = self.opts.raw_dataset.clone();
            self.ensure_dataset(&raw).await?;
            self.drop_stale_temps(&raw, &final_t).await?;
            let t = TableRef::new(
                &self.opts.project,
                &raw,
                &format!(
                    "_airbyte_tmp_{}_{}_{}",
                    final_t.dataset, final_t.table, self.opts.run_id
                ),
            );
            self.wh
                .create_table(&t, &effective, Some(TEMP_TABLE_TTL))
                .await?;
            Some(t)
        } else {
            None
        };
        let encoder = Encoder::new(&effective, spec.generation_id, spec.sync_id);
        self.streams[i].prepared = Some(Prepared {
            effective,
            encoder,
            temp,
        });
        Ok(())
    }

    /// Drops the temp tables that earlier runs left for `final_t` (killed, or failed while unreachable):
    /// nothing resumes them, and they would otherwise be kept until they expire.
    async fn drop_stale_temps(&mut self, raw: &str, final_t: &TableRef) -> Result<()> {
        if !self.temp_listing.contains_key(raw) {
            let found = self
                .wh
                .tables_with_prefix(&self.opts.project, raw, "_airbyte_tmp_")
                .await?;
            self.temp_listing.insert(raw.to_string(), found);
        }
        let prefix = format!("_airbyte_tmp_{}_{}_", final_t.dataset, final_t.table);
        let now = chrono::Utc::now().timestamp_millis();
        let stale: Vec<(TableRef, i64)> = self.temp_listing[raw]
            .iter()
            .filter(|(t, modified)| {
                t.table
                    .strip_prefix(&prefix)
                    .is_some_and(|rest| is_run_suffix(rest, &self.opts.run_id))
                    && now - modified >= STALE_TEMP_AGE.as_millis() as i64
            })
            .cloned()
            .collect();
        for (t, modified) in stale {
            let msg = format!(
                "dropping {t}: a temporary table of an earlier run that did not finish (unchanged for {} min)",
                (now - modified) / 60_000
            );
            self.out.info(msg);
            self.wh.drop_table(&t).await?;
        }
        Ok(())
    }

    /// After a failure: drops this run's temp tables (nothing can resume them; what they held was not
    /// acknowledged) and the spool folder. Best effort, bounded in time.
    pub async fn abort(&mut self) {
        let temps: Vec<TableRef> = self
            .streams
            .iter()
            .filter(|s| !s.swapped)
            .filter_map(|s| s.prepared.as_ref().and_then(|p| p.temp.clone()))
            .flat_map(|t| {
                let dedup = TableRef::new(&t.project, &t.dataset, &format!("{}_dedup", t.table));
                [t, dedup]
            })
            .collect();
        let drop_all = async {
            for t in &temps {
                if let Err(e) = self.wh.drop_table(t).await {
                    tracing::warn!("cannot drop {t} after the failure: {e}");
                }
            }
        };
        if tokio::time::timeout(Duration::from_secs(30), drop_all)
            .await
            .is_err()
        {
            tracing::warn!("gave up dropping temporary tables after 30 s; the next run drops them");
        }
        let _ = std::fs::remove_dir_all(&self.opts.spool_dir);
    }

    fn job_id(&self, i: usize, what: &str) -> String {
        let s = &self.streams[i];
        let base = format!(
            "airbyte_{}_{}_{}_{}_{:06}",
            self.opts.run_id, s.spec.table.dataset, s.spec.table.table, what, s.load_seq
        );
        base.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(1000)
            .collect()
    }

    /// Loads the stream's buffer (if any) and commits it as its mode requires.
    async fn flush_stream(&mut self, i: usize) -> Result<()> {
        let Some(sp) = self.streams[i].spool.take() else {
            return Ok(());
        };
        let Spool {
            path,
            file,
            rows,
            bytes,
            max_seq,
            extracted,
            ..
        } = sp;
        // Flushed, not synced: the file is read back from the page cache by the load, and removed after
        // it (an fsync would only wait for a disk write nobody needs).
        drop(
            file.into_inner()
                .map_err(|e| Error::io(path.display(), e.into_error()))?,
        );
        let job_id = self.job_id(i, "load");
        let s = &self.streams[i];
        let prepared = s.prepared.as_ref().expect("a stream with rows is prepared");
        let final_t = s.spec.table.clone();
        let mode = s.spec.mode;
        let target = prepared.temp.clone().unwrap_or_else(|| final_t.clone());
        let effective = prepared.effective.clone();
        // A dedup window starts with an empty temp table: its first load truncates what the last MERGE read.
        let disposition = if mode == Mode::Dedup && !s.window.open {
            Disposition::Truncate
        } else {
            Disposition::Append
        };
        let started = Instant::now();
        let loaded = self
            .wh
            .load(Load {
                target: &target,
                final_table: &final_t,
                schema: &effective,
                file: &path,
                rows,
                job_id: &job_id,
                disposition,
            })
            .await?;
        let _ = std::fs::remove_file(&path);
        let s = &mut self.streams[i];
        s.loads += 1;
        s.last_load = Some(Instant::now());
        match mode {
            Mode::Append => {
                s.committed_seq = max_seq;
                s.rows_committed += loaded;
            }
            Mode::Dedup => {
                let w = &mut s.window;
                w.open = true;
                w.rows += loaded;
                w.max_seq = max_seq;
                w.extracted = match (w.extracted, extracted) {
                    (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
                    (a, b) => a.or(b),
                };
            }
            Mode::Overwrite | Mode::OverwriteDedup => s.rows_committed += loaded,
        }
        let verb = match mode {
            Mode::Append => "appended to",
            Mode::Dedup | Mode::Overwrite | Mode::OverwriteDedup => "staged for",
        };
        let msg = format!(
            "{verb} {final_t}: {loaded} rows, {:.1} MiB in {:.1}s (job {job_id})",
            bytes as f64 / 1048576.0,
            started.elapsed().as_secs_f64()
        );
        self.out.info(msg);
        Ok(())
    }

    /// Loads the buffer and commits everything received so far: a MERGE for a dedup stream.
    async fn commit_stream(&mut self, i: usize) -> Result<()> {
        if self.streams[i].spec.mode == Mode::Dedup {
            self.merge_stream(i).await
        } else {
            self.flush_stream(i).await
        }
    }

    /// Dedup: loads the buffer, then merges the window's rows into the final table in one MERGE that reads
    /// only the temp table's partitions of the window's extraction times.
    async fn merge_stream(&mut self, i: usize) -> Result<()> {
        self.flush_stream(i).await?;
        let s = &self.streams[i];
        if !s.window.open {
            return Ok(());
        }
        let prepared = s.prepared.as_ref().expect("a stream with rows is prepared");
        let temp = prepared
            .temp
            .clone()
            .expect("dedup streams have a temp table");
        let effective = prepared.effective.clone();
        let final_t = s.spec.table.clone();
        let filter = s.window.extracted.map(|(lo, hi)| {
            format!(
                "{} BETWEEN {} AND {}",
                crate::sql::quote(schema::EXTRACTED_AT),
                crate::sql::timestamp_literal(lo),
                crate::sql::timestamp_literal(hi)
            )
        });
        let started = Instant::now();
        let stats = self
            .wh
            .merge(
                &final_t,
                &temp,
                &effective,
                self.opts.deletes,
                filter.as_deref(),
            )
            .await?;
        let s = &mut self.streams[i];
        let rows = std::mem::take(&mut s.window.rows);
        s.window.open = false;
        s.window.extracted = None;
        s.committed_seq = s.window.max_seq;
        s.rows_committed += rows;
        s.merges += 1;
        s.bytes_processed += stats.bytes_processed;
        s.last_merge = Some(Instant::now());
        let msg = format!(
            "merged into {final_t}: {rows} rows in {:.1}s, {} bytes processed (job {})",
            started.elapsed().as_secs_f64(),
            stats.bytes_processed,
            if stats.job_id.is_empty() {
                "local"
            } else {
                &stats.job_id
            }
        );
        self.out.info(msg);
        Ok(())
    }

    /// Overwrite: loads what is left, then swaps the temp table into place with one copy job.
    async fn finish_swap(&mut self, i: usize) -> Result<()> {
        if self.streams[i].swapped {
            return Ok(());
        }
        self.flush_stream(i).await?;
        if self.streams[i].prepared.is_none() {
            // An overwrite stream without records still replaces the table (with an empty one).
            self.prepare(i).await?;
        }
        let s = &self.streams[i];
        let prepared = s.prepared.as_ref().expect("prepared above");
        let temp = prepared
            .temp
            .clone()
            .expect("overwrite streams have a temp table");
        let effective = prepared.effective.clone();
        let final_t = s.spec.table.clone();
        let mut source = temp.clone();
        if s.spec.mode == Mode::OverwriteDedup {
            let dedup = TableRef::new(
                &temp.project,
                &temp.dataset,
                &format!("{}_dedup", temp.table),
            );
            self.wh
                .create_table(&dedup, &effective, Some(TEMP_TABLE_TTL))
                .await?;
            let stats = self
                .wh
                .merge(&dedup, &temp, &effective, self.opts.deletes, None)
                .await?;
            self.streams[i].merges += 1;
            self.streams[i].bytes_processed += stats.bytes_processed;
            source = dedup;
        }
        let job_id = self.job_id(i, "swap");
        self.wh.replace(&source, &final_t, &job_id).await?;
        if source != temp {
            self.wh.drop_table(&source).await?;
        }
        self.wh.drop_table(&temp).await?;
        let s = &mut self.streams[i];
        s.swapped = true;
        s.committed_seq = s.last_seq;
        let msg = format!(
            "replaced {final_t} with {} rows (copy job {job_id})",
            s.rows_committed
        );
        self.out.info(msg);
        Ok(())
    }
}

impl Drop for Sink {
    /// The spool folder never outlives the process that wrote it (a kill -9 leaves it for the next start).
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.opts.spool_dir);
    }
}

/// Whether `rest` (a temp table's name after `_airbyte_tmp_<dataset>_<table>_`) is another run's id
/// (`YYYYmmddHHMMSS_xxxxxxxx`, optionally `_dedup`), so a table of a stream whose name merely extends
/// this one is never taken for it.
fn is_run_suffix(rest: &str, own: &str) -> bool {
    let id = rest.strip_suffix("_dedup").unwrap_or(rest);
    let b = id.as_bytes();
    id != own
        && b.len() == 23
        && b[..14].iter().all(u8::is_ascii_digit)
        && b[14] == b'_'
        && b[15..].iter().all(|c| c.is_ascii_hexdigit())
}

/// Removes spool folders (`destination-bigquery-*` next to `own`) whose owner process is gone: a kill -9
/// leaves its folder behind.
fn remove_stale_spools(own: &std::path::Path) {
    let Some(parent) = own.parent() else { return };
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let proc_fs = std::path::Path::new("/proc/self").exists();
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if path == own || !name.starts_with("destination-bigquery-") || !path.is_dir() {
            continue;
        }
        let Ok(pid) = std::fs::read_to_string(path.join(OWNER_FILE)) else {
            continue;
        };
        let pid = pid.trim();
        let alive = if pid == std::process::id().to_string() {
            // Our own id in another folder: a container restarted with the same pid.
            false
        } else if proc_fs {
            std::path::Path::new("/proc").join(pid).exists()
        } else {
            e.metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_none_or(|age| age < STALE_SPOOL_AGE)
        };
        if !alive {
            tracing::info!(
                "removing {}: the spool folder of a run that did not finish",
                path.display()
            );
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

fn check_keys(spec: &StreamSpec) -> Result<()> {
    // Append and plain overwrite need no key; deduplication does.
    if matches!(spec.mode, Mode::Dedup | Mode::OverwriteDedup) && spec.schema.primary_key.is_empty()
    {
        return Err(Error::Catalog(format!(
            "stream {} is configured for {:?} but has no primary key",
            spec.name, spec.mode
        )));
    }
    Ok(())
}

impl StreamRt {
    fn may_load(&self, b: &Batching) -> bool {
        self.last_load
            .is_none_or(|t| t.elapsed() >= b.min_load_interval)
    }
}
