//! Command line: `spec`, `check --config F`, `write --config F --catalog F` (Airbyte), and
//! `--config F` without a command (Singer target mode, also the `target-bigquery` binary).

use crate::auth::TokenProvider;
use crate::client::BigQuery;
use crate::config::{Loading, Settings};
use crate::error::{Error, Result};
use crate::input::{self, AirbyteIn, SingerIn};
use crate::local::LocalWarehouse;
use crate::output::{Output, Protocol};
use crate::schema::{table_name, TableSchema};
use crate::sink::{Mode, Sink, SinkOptions, StreamSpec, TableSummary};
use crate::sql::TableRef;
use crate::warehouse::{Disposition, Load, Warehouse};
use airbyte_protocol::{
    AirbyteMessage, ConfiguredCatalog, ConnectionStatus, ConnectionStatusKind, DestinationSyncMode,
};
use clap::{Parser, Subcommand};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// BigQuery destination: an Airbyte destination and a Singer target.
#[derive(Debug, Parser)]
#[command(name = "destination-bigquery", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Singer target mode: the config file (SCHEMA/RECORD/STATE are read from stdin).
    #[arg(long, global = false)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the connector specification.
    Spec,
    /// Check the dataset is reachable in the configured location and tables can be created and loaded.
    Check {
        #[arg(long)]
        config: PathBuf,
    },
    /// Load the Airbyte messages read from stdin.
    Write {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        catalog: PathBuf,
    },
}

/// Runs the program; returns the process exit code. Fatal errors are reported once (TRACE or stderr).
pub async fn run(cli: Cli, singer_default: bool) -> i32 {
    match cli.command {
        Some(Command::Spec) => {
            let mut out = Output::stdout(Protocol::Airbyte);
            let spec = AirbyteMessage::Spec {
                spec: Box::new(crate::spec::specification()),
            };
            if out.write(&spec).and_then(|_| out.flush()).is_err() {
                return 1;
            }
            0
        }
        Some(Command::Check { config }) => {
            let mut out = Output::stdout(Protocol::Airbyte);
            let status = match check(&config).await {
                Ok(()) => ConnectionStatus {
                    status: ConnectionStatusKind::Succeeded,
                    message: None,
                },
                Err(e) => ConnectionStatus {
                    status: ConnectionStatusKind::Failed,
                    message: Some(e.to_string()),
                },
            };
            let _ = out.write(&AirbyteMessage::ConnectionStatus {
                connection_status: status,
            });
            let _ = out.flush();
            0
        }
        Some(Command::Write { config, catalog }) => {
            let mut out = Output::stdout(Protocol::Airbyte);
            match write_airbyte(&config, &catalog, &mut out).await {
                Ok(()) => 0,
                Err(e) => {
                    out.error(&e);
                    1
                }
            }
        }
        None => match cli.config {
            Some(config) => {
                let mut out = Output::stdout(Protocol::Singer);
                match write_singer(&config, &mut out).await {
                    Ok(()) => 0,
                    Err(e) => {
                        out.error(&e);
                        1
                    }
                }
            }
            None => {
                let name = if singer_default {
                    "target-bigquery"
                } else {
                    "destination-bigquery"
                };
                tracing::error!("usage: {name} spec | check --config F | write --config F --catalog F | --config F (Singer)");
                2
            }
        },
    }
}

/// Builds the warehouse a config points at.
pub fn warehouse(settings: &Settings) -> Result<Warehouse> {
    match &settings.loading {
        Loading::Local(path) => Ok(Warehouse::Local(LocalWarehouse::new(path)?)),
        Loading::Standard => {
            let auth = if settings.unauthenticated {
                TokenProvider::none()
            } else if let Some(json) = &settings.credentials_json {
                TokenProvider::from_json(json)?
            } else {
                TokenProvider::application_default()?
            };
            let mut bq = BigQuery::new(
                &settings.endpoint,
                &settings.project_id,
                &settings.location,
                Arc::new(auth),
            )?;
            bq.batch_priority = settings.batch_priority;
            Ok(Warehouse::BigQuery(bq))
        }
    }
}

fn run_id() -> String {
    let u = uuid::Uuid::new_v4().simple().to_string();
    format!("{}_{}", chrono::Utc::now().format("%Y%m%d%H%M%S"), &u[..8])
}

fn sink_options(settings: &Settings) -> SinkOptions {
    let run_id = run_id();
    let spool_dir = settings
        .buffer_dir
        .clone()
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("destination-bigquery-{run_id}"));
    SinkOptions {
        project: settings.project_id.clone(),
        raw_dataset: settings.raw_dataset.clone(),
        batching: settings.batching.clone(),
        schema_change: settings.schema_change,
        deletes: match settings.cdc_deletion {
            crate::config::CdcDeletion::Hard => crate::sql::Deletes::Hard,
            crate::config::CdcDeletion::Soft => crate::sql::Deletes::Soft,
        },
        merge_interval: settings.merge_interval,
        spool_dir,
        run_id,
    }
}

/// `check`: every dataset a sync writes to (the default dataset and the internal one) exists in the
/// configured location (or is created there), and in each a table can be created, loaded by a load job,
/// read by a query job, and dropped. The first failure names the dataset and the step.
pub async fn check(config: &Path) -> Result<()> {
    let settings = Settings::from_file(config)?;
    let mut wh = warehouse(&settings)?;
    if let Warehouse::BigQuery(bq) = &mut wh {
        // A check answers within seconds: a few quick retries, not a sync's patience.
        bq.retry = crate::client::RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(2),
            max_elapsed: Duration::from_secs(20),
        };
    }
    let mut datasets = vec![settings.dataset_id.clone()];
    if settings.raw_dataset != settings.dataset_id {
        datasets.push(settings.raw_dataset.clone());
    }
    for dataset in &datasets {
        check_dataset(&mut wh, &settings, dataset)
            .await
            .map_err(|e| match e {
                Error::Config(m) => Error::Config(format!("dataset {dataset}: {m}")),
                e => Error::Config(format!("dataset {dataset}: {e}")),
            })?;
    }
    Ok(())
}

async fn check_dataset(wh: &mut Warehouse, settings: &Settings, dataset: &str) -> Result<()> {
    wh.ensure_dataset(dataset).await?;
    let Warehouse::BigQuery(_) = wh else {
        return Ok(());
    };
    let schema = TableSchema::from_json_schema(
        &serde_json::json!({"properties": {"ok": {"type": "boolean"}}}),
        &[],
        &[],
    );
    let u = uuid::Uuid::new_v4().simple().to_string();
    let t = TableRef::new(
        &settings.project_id,
        dataset,
        &format!("_airbyte_connection_test_{}", &u[..12]),
    );
    wh.create_table(&t, &schema, Some(Duration::from_secs(3600)))
        .await
        .map_err(|e| Error::Config(format!("cannot create a table: {e}")))?;
    let outcome = check_load_and_query(wh, &schema, &t, &u).await;
    let dropped = wh.drop_table(&t).await;
    outcome?;
    dropped.map_err(|e| Error::Config(format!("cannot drop the test table: {e}")))
}

async fn check_load_and_query(
    wh: &mut Warehouse,
    schema: &TableSchema,
    t: &TableRef,
    u: &str,
) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("destination-bigquery-check-{u}"));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
    let file = dir.join("check.ndjson");
    let mut line = Vec::new();
    let mut enc = crate::encoder::Encoder::new(schema, 0, None);
    let data = serde_json::json!({"ok": true});
    enc.encode(
        data.as_object().expect("object"),
        chrono::Utc::now().timestamp_millis(),
        None,
        &mut line,
    );
    std::fs::write(&file, &line).map_err(|e| Error::io(file.display(), e))?;
    let job_id = format!("airbyte_check_{u}");
    let loaded = wh
        .load(Load {
            target: t,
            final_table: t,
            schema,
            file: &file,
            rows: 1,
            job_id: &job_id,
            disposition: Disposition::Append,
        })
        .await;
    let _ = std::fs::remove_dir_all(&dir);
    loaded.map_err(|e| Error::Config(format!("cannot run a load job: {e}")))?;
    if let Warehouse::BigQuery(bq) = wh {
        let rows = bq
            .query_rows(&format!("SELECT COUNT(*) FROM {}", t.sql()))
            .await
            .map_err(|e| Error::Config(format!("cannot run a query job: {e}")))?;
        let n = rows.first().and_then(|r| r.first()).and_then(|v| {
            v.as_str()
                .and_then(|s| s.parse::<i64>().ok())
                .or_else(|| v.as_i64())
        });
        if n != Some(1) {
            return Err(Error::Config(format!(
                "a query of the test table found {n:?} rows, expected 1"
            )));
        }
    }
    Ok(())
}

fn mode_of(s: &airbyte_protocol::ConfiguredStream) -> Mode {
    let truncate_refresh = matches!((s.generation_id, s.minimum_generation_id), (Some(g), Some(m)) if g > 0.0 && g == m);
    match (s.destination_sync_mode, truncate_refresh) {
        (Some(DestinationSyncMode::Overwrite), _) => Mode::Overwrite,
        (Some(DestinationSyncMode::OverwriteDedup), _)
        | (Some(DestinationSyncMode::AppendDedup), true) => Mode::OverwriteDedup,
        (Some(DestinationSyncMode::AppendDedup), false) => Mode::Dedup,
        (_, true) => Mode::Overwrite,
        _ => Mode::Append,
    }
}

/// The streams of a configured catalog as the sink takes them.
pub fn airbyte_specs(settings: &Settings, catalog: &ConfiguredCatalog) -> Result<Vec<StreamSpec>> {
    let mut out = Vec::new();
    for s in &catalog.streams {
        let json_schema = s
            .stream
            .json_schema
            .clone()
            .unwrap_or(Value::Object(Default::default()));
        let dataset = s
            .stream
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| settings.dataset_id.clone());
        let mode = mode_of(s);
        let schema = settings.table_schema(&json_schema, &s.primary_key, &s.cursor_field);
        if matches!(mode, Mode::Dedup | Mode::OverwriteDedup)
            && schema.primary_key.len() != s.primary_key.len()
        {
            return Err(Error::Catalog(format!(
                "stream {}: primary key {:?} is not a top-level property of its schema",
                s.stream.name, s.primary_key
            )));
        }
        out.push(StreamSpec {
            name: s.stream.name.clone(),
            namespace: s.stream.namespace.clone(),
            table: TableRef::new(&settings.project_id, &dataset, &table_name(&s.stream.name)),
            schema,
            mode,
            generation_id: s.generation_id.unwrap_or_default() as i64,
            sync_id: s.sync_id.map(|v| v as i64),
        });
    }
    Ok(out)
}

fn print_summary(summary: &[TableSummary], sink: &Sink) {
    let local_counts = match sink.warehouse() {
        Warehouse::Local(l) => Some((l.row_counts(&sink.tables()), l.root().display().to_string())),
        _ => None,
    };
    for t in summary {
        let mode = mode_name(t.mode);
        let table_rows = local_counts
            .as_ref()
            .and_then(|(c, _)| c.get(&t.table))
            .map(|n| format!(", {n} rows in table"))
            .unwrap_or_default();
        eprintln!(
            "destination-bigquery: {} ({mode}): {} rows loaded in {} load jobs{}{table_rows}{}{}",
            t.table,
            t.rows,
            t.loads,
            if t.merges > 0 {
                format!(
                    ", {} MERGE ({} bytes processed)",
                    t.merges, t.bytes_processed
                )
            } else {
                String::new()
            },
            if t.nulled_values > 0 {
                format!(", {} values nulled (see _airbyte_meta)", t.nulled_values)
            } else {
                String::new()
            },
            if t.additional_values > 0 {
                format!(
                    ", {} undeclared values kept in {}",
                    t.additional_values,
                    crate::schema::ADDITIONAL_PROPERTIES
                )
            } else {
                String::new()
            }
        );
    }
    let (merges, bytes): (u32, u64) = summary
        .iter()
        .fold((0, 0), |(m, b), t| (m + t.merges, b + t.bytes_processed));
    eprintln!(
        "destination-bigquery: {merges} MERGE jobs, {bytes} bytes processed in total (what on-demand pricing bills)"
    );
    if let Some(kib) = peak_rss_kib() {
        eprintln!(
            "destination-bigquery: peak memory {:.1} MiB (VmHWM)",
            kib as f64 / 1024.0
        );
    }
    if let Some((counts, root)) = local_counts {
        // A machine-readable copy for scripts (the demo prints it): rows per table as a reader would see them.
        let tables: serde_json::Map<String, Value> = summary
            .iter()
            .map(|t| {
                let v = serde_json::json!({"mode": mode_name(t.mode), "rows_loaded": t.rows, "load_jobs": t.loads,
                    "rows_in_table": counts.get(&t.table), "values_nulled": t.nulled_values,
                    "additional_values": t.additional_values, "merges": t.merges,
                    "bytes_processed": t.bytes_processed});
                (t.table.clone(), v)
            })
            .collect();
        let path = Path::new(&root).join("summary.json");
        let text = serde_json::to_string_pretty(&serde_json::json!({ "tables": tables }))
            .unwrap_or_default();
        if let Err(e) = std::fs::write(&path, text + "\n") {
            tracing::warn!("cannot write {}: {e}", path.display());
        }
        eprintln!("destination-bigquery: local mode: load files and schemas under {root} (row counts in summary.json)");
    }
}

/// The process's peak resident memory (Linux `VmHWM`), for the summary and the benchmark.
fn peak_rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Append => "append",
        Mode::Dedup => "append_dedup",
        Mode::Overwrite => "overwrite",
        Mode::OverwriteDedup => "overwrite_dedup",
    }
}

async fn write_airbyte(config: &Path, catalog: &Path, out: &mut Output) -> Result<()> {
    let settings = Settings::from_file(config)?;
    let text = std::fs::read_to_string(catalog)
        .map_err(|e| Error::Config(format!("cannot read {}: {e}", catalog.display())))?;
    let cat: ConfiguredCatalog = serde_json::from_str(&text)
        .map_err(|e| Error::Catalog(format!("{}: {e}", catalog.display())))?;
    let specs = airbyte_specs(&settings, &cat)?;
    let wh = warehouse(&settings)?;
    let output = std::mem::replace(out, Output::stdout(Protocol::Airbyte));
    let mut sink = Sink::new(wh, output, sink_options(&settings))?;
    for w in &settings.warnings {
        sink.output()
            .log(airbyte_protocol::LogLevel::Warn, w.clone());
    }
    for s in specs {
        sink.register(s).await?;
    }
    let result = pump(&mut sink, &settings, Protocol::Airbyte).await;
    let result = match result {
        Ok(()) => sink
            .finish()
            .await
            .map(|summary| print_summary(&summary, &sink)),
        Err(e) => Err(e),
    };
    if result.is_err() {
        sink.abort().await;
    }
    *out = std::mem::replace(sink.output(), Output::stdout(Protocol::Airbyte));
    result
}

async fn write_singer(config: &Path, out: &mut Output) -> Result<()> {
    let settings = Settings::from_file(config)?;
    let wh = warehouse(&settings)?;
    let output = std::mem::replace(out, Output::stdout(Protocol::Singer));
    let mut sink = Sink::new(wh, output, sink_options(&settings))?;
    let result = match pump(&mut sink, &settings, Protocol::Singer).await {
        Ok(()) => sink
            .finish()
            .await
            .map(|summary| print_summary(&summary, &sink)),
        Err(e) => Err(e),
    };
    if result.is_err() {
        sink.abort().await;
    }
    *out = std::mem::replace(sink.output(), Output::stdout(Protocol::Singer));
    result
}

/// Reads stdin line by line, ticking the sink every second while input is idle. The first bad line ends the
/// run with its error: nothing after it is loaded, and no STATE from it on is echoed.
///
/// Lines already in the read buffer are handled in a batch of up to [`READY_BATCH`] without going back to
/// the `select!` (whose timer and signal polls cost more than a small record); the tick and the signals
/// are still seen between batches, a few milliseconds apart at most.
async fn pump(sink: &mut Sink, settings: &Settings, protocol: Protocol) -> Result<()> {
    use futures_util::FutureExt;
    let stdin = tokio::io::BufReader::with_capacity(1 << 20, tokio::io::stdin());
    let mut lines = input::LineReader::new(stdin, settings.max_line_bytes);
    let mut line_no = 0u64;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            signal = &mut stop => return Err(Error::Interrupted(signal)),
            line = lines.next_line() => {
                line_no += 1;
                let Some(line) = line.map_err(|e| bad_line(line_no, None, e.to_string()))? else {
                    return Ok(());
                };
                handle_line(sink, settings, protocol, line, line_no).await?;
                for _ in 0..READY_BATCH {
                    // `next_line` is cancel-safe: a line not complete yet stays in the reader.
                    let Some(line) = lines.next_line().now_or_never() else { break };
                    line_no += 1;
                    let Some(line) = line.map_err(|e| bad_line(line_no, None, e.to_string()))? else {
                        return Ok(());
                    };
                    handle_line(sink, settings, protocol, line, line_no).await?;
                }
            }
            _ = tick.tick() => sink.tick().await?,
        }
    }
}

/// Lines handled between two looks at the timer and the signals.
const READY_BATCH: usize = 256;

async fn handle_line(
    sink: &mut Sink,
    settings: &Settings,
    protocol: Protocol,
    line: &[u8],
    line_no: u64,
) -> Result<()> {
    let text = std::str::from_utf8(line).map_err(|e| {
        bad_line(
            line_no,
            None,
            format!("not UTF-8 (invalid byte at offset {})", e.valid_up_to()),
        )
    })?;
    match protocol {
        Protocol::Airbyte => handle_airbyte(sink, text, line_no).await,
        Protocol::Singer => handle_singer(sink, settings, text, line_no).await,
    }
}

/// Resolves with the signal's name on SIGTERM or SIGINT (the orchestrator stopping the sync).
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

/// A broken input line (the source's fault): `system_error`.
fn bad_line(line: u64, stream: Option<&str>, message: String) -> Error {
    Error::Input {
        line,
        stream: stream.map(str::to_string),
        message,
        category: crate::error::Category::Internal,
    }
}

/// Adds the line number to what the sink refused: an unconfigured stream (`config_error`) or a record it
/// cannot take (`system_error`).
fn at_line(line: u64, stream: &str, e: Error) -> Error {
    match e {
        Error::Catalog(message) => Error::Input {
            line,
            stream: Some(stream.to_string()),
            message,
            category: crate::error::Category::Config,
        },
        Error::Record { message, .. } => bad_line(line, Some(stream), message),
        e => e,
    }
}

fn emitted_ms(v: Option<f64>) -> i64 {
    v.filter(|f| f.is_finite() && *f > 0.0)
        .map(|f| f as i64)
        .unwrap_or_else(|| chrono::Utc::now().timestamp_millis())
}

async fn handle_airbyte(sink: &mut Sink, line: &str, line_no: u64) -> Result<()> {
    if line.trim().is_empty() {
        return Ok(());
    }
    // The common case, a well-formed RECORD, in one pass; anything else is read below.
    if let Some(r) = input::record_line(line) {
        let changes = r.meta.as_ref().and_then(|m| m.get("changes"));
        return sink
            .record(
                r.namespace.as_deref(),
                &r.stream,
                &r.data,
                emitted_ms(r.emitted_at),
                changes,
            )
            .await
            .map_err(|e| at_line(line_no, &r.stream, e));
    }
    let msg: AirbyteIn = serde_json::from_str(line).map_err(|e| {
        bad_line(
            line_no,
            None,
            input::describe_json_error(&e, "an Airbyte message"),
        )
    })?;
    match msg.kind.as_str() {
        "RECORD" => {
            let r = msg
                .record
                .ok_or_else(|| bad_line(line_no, None, "RECORD without `record`".into()))?;
            let Some(data) = crate::encoder::RawRecord::parse(r.data) else {
                return Err(bad_line(
                    line_no,
                    Some(&r.stream),
                    "the record's `data` is not a JSON object".into(),
                ));
            };
            let changes = r.meta.as_ref().and_then(|m| m.get("changes"));
            sink.record(
                r.namespace.as_deref(),
                &r.stream,
                &data,
                emitted_ms(r.emitted_at),
                changes,
            )
            .await
            .map_err(|e| at_line(line_no, &r.stream, e))
        }
        "STATE" => {
            let state = msg
                .state
                .filter(Value::is_object)
                .ok_or_else(|| bad_line(line_no, None, "STATE without a `state` object".into()))?;
            let stream = input::state_stream(&state).map(|d| (d.namespace, d.name));
            sink.state(
                state.clone(),
                stream.as_ref().map(|(ns, n)| (ns.as_deref(), n.as_str())),
            )
            .await
        }
        "TRACE" => {
            let trace = msg.trace.unwrap_or(Value::Null);
            match trace.get("type").and_then(Value::as_str) {
                Some("ERROR") => {
                    tracing::warn!(
                        "the source reported an error; overwrite streams will not be replaced"
                    );
                    sink.source_failed();
                    Ok(())
                }
                Some("STREAM_STATUS") => match input::stream_status(&trace) {
                    Some((d, status)) => {
                        let status = status.to_string();
                        sink.stream_status(d.namespace.as_deref(), &d.name, &status)
                            .await
                    }
                    None => Ok(()),
                },
                _ => Ok(()),
            }
        }
        kind if input::AIRBYTE_IGNORED.contains(&kind) => Ok(()),
        kind => Err(bad_line(
            line_no,
            None,
            format!("unknown Airbyte message type {:?}", truncate(kind, 40)),
        )),
    }
}

/// At most `n` characters of `s` (message types are short; a long one is not worth printing whole).
fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

async fn handle_singer(
    sink: &mut Sink,
    settings: &Settings,
    line: &str,
    line_no: u64,
) -> Result<()> {
    if line.trim().is_empty() {
        return Ok(());
    }
    let msg: SingerIn = serde_json::from_str(line).map_err(|e| {
        bad_line(
            line_no,
            None,
            input::describe_json_error(&e, "a Singer message"),
        )
    })?;
    let stream = || {
        msg.stream
            .clone()
            .ok_or_else(|| bad_line(line_no, None, format!("{} without `stream`", msg.kind)))
    };
    match msg.kind.as_str() {
        "SCHEMA" => {
            let name = stream()?;
            let keys: Vec<Vec<String>> = msg
                .key_properties
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|k| vec![k])
                .collect();
            let cursor: Vec<String> = msg
                .bookmark_properties
                .clone()
                .unwrap_or_default()
                .into_iter()
                .take(1)
                .collect();
            let Some(json_schema) = msg.schema.as_ref().filter(|s| s.is_object()) else {
                return Err(bad_line(
                    line_no,
                    Some(&name),
                    "SCHEMA without a `schema` object".into(),
                ));
            };
            let schema = settings.table_schema(json_schema, &keys, &cursor);
            if schema.primary_key.len() != keys.len() {
                return Err(bad_line(
                    line_no,
                    Some(&name),
                    format!(
                        "key_properties {:?} are not all properties of the schema",
                        msg.key_properties.clone().unwrap_or_default()
                    ),
                ));
            }
            let mode = if schema.primary_key.is_empty() {
                Mode::Append
            } else {
                Mode::Dedup
            };
            sink.register(StreamSpec {
                table: TableRef::new(
                    &settings.project_id,
                    &settings.dataset_id,
                    &table_name(&name),
                ),
                name: name.clone(),
                namespace: None,
                schema,
                mode,
                generation_id: 0,
                sync_id: None,
            })
            .await
            .map_err(|e| at_line(line_no, &name, e))
        }
        "RECORD" => {
            let name = stream()?;
            let record = msg.record.as_ref().ok_or_else(|| {
                bad_line(
                    line_no,
                    Some(&name),
                    "RECORD without a `record` object".into(),
                )
            })?;
            let ms = msg
                .time_extracted
                .as_deref()
                .and_then(crate::encoder::parse_timestamp)
                .map(|t| t.timestamp_millis())
                .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
            sink.record(None, &name, record, ms, None)
                .await
                .map_err(|e| match e {
                    Error::Catalog(_) => bad_line(
                        line_no,
                        Some(&name),
                        "RECORD before the stream's SCHEMA".into(),
                    ),
                    e => at_line(line_no, &name, e),
                })
        }
        "STATE" => {
            let value = msg
                .value
                .clone()
                .ok_or_else(|| bad_line(line_no, None, "STATE without `value`".into()))?;
            sink.state(value, None).await
        }
        kind if input::SINGER_IGNORED.contains(&kind) => Ok(()),
        kind => Err(bad_line(
            line_no,
            None,
            format!("unknown Singer message type {:?}", truncate(kind, 40)),
        )),
    }
}
