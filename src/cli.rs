//! Command-line entry: parses arguments once (Airbyte subcommands, or Singer flags), sets up logging and
//! the output, runs the command, and turns every fatal error into one TRACE error and an exit code.

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::output::{LogLayer, Output, Protocol};
use crate::secret::{scrub, secrets_in};
use crate::streams::StreamDef;
use airbyte_protocol::{
    AirbyteMessage, ConfiguredCatalog, ConfiguredStream, ConfiguredStreamRef, DestinationSyncMode,
    SyncMode,
};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Okta source connector (Airbyte protocol; run with `--config F --discover` etc. for the Singer tap mode).
#[derive(Debug, Parser)]
#[command(name = "source-okta", version, about)]
pub struct AirbyteArgs {
    /// The protocol command to run.
    #[command(subcommand)]
    pub command: AirbyteCommand,
}

#[derive(Debug, Subcommand)]
pub enum AirbyteCommand {
    /// Print the connector specification.
    Spec,
    /// Check the credentials and print CONNECTION_STATUS.
    Check {
        /// The config file (JSON; its schema is the `spec` output).
        #[arg(long)]
        config: PathBuf,
    },
    /// Print the catalog of streams.
    Discover {
        /// The config file (JSON; its schema is the `spec` output).
        #[arg(long)]
        config: PathBuf,
    },
    /// Read the configured streams and print RECORD, STATE, LOG and TRACE messages.
    #[command(group(clap::ArgGroup::new("selection").required(true).args(["catalog", "streams", "all_streams"])))]
    Read {
        /// The config file (JSON; its schema is the `spec` output).
        #[arg(long)]
        config: PathBuf,
        /// The configured catalog (JSON): which streams to read and how.
        #[arg(long)]
        catalog: Option<PathBuf>,
        /// Read these streams (comma-separated names from `discover`) without writing a catalog:
        /// incremental where the stream supports it, full refresh otherwise.
        #[arg(long, value_delimiter = ',')]
        streams: Vec<String>,
        /// Read every stream `discover` lists (incremental where supported), without writing a catalog.
        #[arg(long)]
        all_streams: bool,
        /// The state of the previous read (its STATE messages). A missing file is a first read.
        #[arg(long)]
        state: Option<PathBuf>,
    },
}

/// Sets up stderr logging (and LOG forwarding for Airbyte).
fn init_logging() {
    use tracing_subscriber::{filter, Layer};
    let log_layer = LogLayer
        .with_filter(filter::filter_fn(|m| {
            m.target().starts_with("source_okta") && *m.level() <= tracing::Level::INFO
        }))
        .boxed();
    connector_kit::log::init(&connector_kit::log::LogOptions::default(), Some(log_layer));
}

/// Runs the program for these arguments; `argv0` decides the mode when the flags don't.
pub fn main_with(args: Vec<std::ffi::OsString>, force_singer: bool) -> ExitCode {
    init_logging();
    let singer = force_singer || crate::singer::looks_like_singer(&args);
    if singer {
        return crate::singer::main(args);
    }
    let parsed: AirbyteArgs = match parse_args(&args) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let out = Output::new(Protocol::Airbyte, airbyte_protocol::writer::stdout());
    out.install_global();
    let mut secrets = Vec::new();
    let result =
        connector_kit::run::block_on(RUNTIME, run_airbyte(parsed.command, &out, &mut secrets))
            .map_err(Error::from)
            .and_then(|r| r);
    finish(&out, result, &secrets)
}

/// Parses arguments once; `--help`, `--version` and usage errors print themselves and end the program.
pub fn parse_args<T: Parser>(args: &[std::ffi::OsString]) -> Result<T, ExitCode> {
    T::try_parse_from(args).map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        }
    })
}

/// Reads a JSON config file (any shape; validation is the caller's).
pub fn read_config_doc(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigUnreadable {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| {
        Error::Config(format!(
            "the config file {} is not valid JSON: {e}",
            path.display()
        ))
    })
}

/// Exit status when the reader closed stdout: what a shell reports for a process killed by SIGPIPE
/// (128 + 13), so a pipeline sees that the output was cut short.
pub const EXIT_OUTPUT_CLOSED: u8 = connector_kit::run::EXIT_OUTPUT_CLOSED;

/// The runtime of every command: one worker per core, waiting for every task on the way out.
pub const RUNTIME: connector_kit::run::RuntimeOptions = connector_kit::run::RuntimeOptions {
    worker_threads: None,
    detach_on_exit: false,
};

/// Prints the one TRACE error of a failed run and picks the exit code; a closed stdout prints nothing
/// (nobody is reading) but exits with [`EXIT_OUTPUT_CLOSED`].
pub fn finish(out: &Arc<Output>, result: Result<()>, secrets: &[String]) -> ExitCode {
    connector_kit::run::exit_code(result, |e| {
        let message = scrub(&e.user_message(), secrets);
        let internal = scrub(&e.internal_message(), secrets);
        tracing::error!("{message}");
        let _ = out.error(message, internal, e.failure_type(), None);
        let _ = out.flush();
        ExitCode::FAILURE
    })
}

/// A runtime for commands that drive it themselves (Singer mode).
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Runtime(connector_kit::run::RuntimeError(e)))
}

/// Reads a config file, remembering its secrets so no error message can print them.
pub fn load_config(path: &Path, secrets: &mut Vec<String>) -> Result<Settings> {
    let doc = read_config_doc(path)?;
    secrets.extend(secrets_in(&doc));
    Settings::from_value(doc)
}

pub fn load_catalog(path: &Path) -> Result<ConfiguredCatalog> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Input(format!(
            "cannot read the catalog file {}: {e}",
            path.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| {
        Error::Input(format!(
            "the catalog file {} is not a configured catalog: {e}",
            path.display()
        ))
    })
}

async fn run_airbyte(
    cmd: AirbyteCommand,
    out: &Arc<Output>,
    secrets: &mut Vec<String>,
) -> Result<()> {
    match cmd {
        AirbyteCommand::Spec => out.message(&AirbyteMessage::Spec {
            spec: Box::new(crate::commands::spec()),
        }),
        AirbyteCommand::Check { config } => {
            let status = match load_config(&config, secrets) {
                Ok(settings) => crate::commands::check(settings).await,
                // A config that does not validate is a failed check, not a crash; an unreadable file is fatal.
                Err(Error::Config(m)) => airbyte_protocol::ConnectionStatus {
                    status: airbyte_protocol::ConnectionStatusKind::Failed,
                    message: Some(m),
                },
                Err(e) => return Err(e),
            };
            let status = airbyte_protocol::ConnectionStatus {
                message: status.message.map(|m| scrub(&m, secrets)),
                ..status
            };
            out.message(&AirbyteMessage::ConnectionStatus {
                connection_status: status,
            })
        }
        AirbyteCommand::Discover { config } => {
            let settings = load_config(&config, secrets)?;
            let catalog = crate::discover::catalog(&settings).await?;
            out.message(&AirbyteMessage::Catalog { catalog })
        }
        AirbyteCommand::Read {
            config,
            catalog,
            streams,
            all_streams,
            state,
        } => {
            let settings = load_config(&config, secrets)?;
            let catalog = match catalog {
                Some(p) => load_catalog(&p)?,
                None => catalog_of(&settings, &streams, all_streams)?,
            };
            let states = match state {
                Some(p) => load_state(&p)?,
                None => Default::default(),
            };
            crate::sync::read(settings, &catalog, states, out.clone()).await
        }
    }
}

/// Reads a state file; a file that does not exist yet is the first run.
pub fn load_state(path: &Path) -> Result<crate::state::StreamStates> {
    if !path.exists() {
        tracing::info!(
            path = %path.display(),
            "the state file does not exist yet: this is a first run, every stream is read from the start"
        );
        return Ok(Default::default());
    }
    crate::state::read_file(path)
}

/// The configured catalog of `read --streams a,b` or `--all-streams`.
fn catalog_of(settings: &Settings, names: &[String], all: bool) -> Result<ConfiguredCatalog> {
    let defs: Vec<&'static StreamDef> = if all {
        crate::discover::available(Some(settings)).collect()
    } else {
        names
            .iter()
            .map(|n| n.trim())
            .filter(|n| !n.is_empty())
            .map(|n| {
                crate::streams::find(n).ok_or_else(|| {
                    Error::Input(format!(
                        "--streams names {n:?}, which this connector does not have (run discover for the list)"
                    ))
                })
            })
            .collect::<Result<_>>()?
    };
    if defs.is_empty() {
        return Err(Error::Input("--streams names no stream".into()));
    }
    let streams = defs
        .into_iter()
        .map(|d| {
            let mode = if d.supports_incremental() {
                SyncMode::Incremental
            } else {
                SyncMode::FullRefresh
            };
            configured_stream(d, mode)
        })
        .collect();
    Ok(ConfiguredCatalog { streams })
}

/// One stream of a configured catalog built by the connector itself (Singer mode, `--streams`).
pub fn configured_stream(def: &StreamDef, mode: SyncMode) -> ConfiguredStream {
    let incremental = mode == SyncMode::Incremental;
    ConfiguredStream {
        stream: ConfiguredStreamRef {
            name: def.name.into(),
            namespace: None,
            json_schema: None,
            supported_sync_modes: vec![],
        },
        sync_mode: mode,
        cursor_field: match def.cursor_field {
            Some(c) if incremental => vec![c.to_string()],
            _ => vec![],
        },
        destination_sync_mode: Some(if incremental {
            DestinationSyncMode::AppendDedup
        } else {
            DestinationSyncMode::Overwrite
        }),
        primary_key: def
            .primary_key
            .iter()
            .map(|k| vec![(*k).to_string()])
            .collect(),
        generation_id: None,
        minimum_generation_id: None,
        sync_id: None,
    }
}
