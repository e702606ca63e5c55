//! Command-line entry: parses arguments once (Airbyte subcommands, or Singer flags), sets up logging and
//! the output, runs the command, and turns every fatal error into one TRACE error and an exit code.

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::launch::{
    configured_stream, finish, load_catalog, load_config, load_state, parse_args, RUNTIME,
};
use crate::output::{LogLayer, Output, Protocol};
use crate::secret::scrub;
use crate::streams::StreamDef;
use airbyte_protocol::{AirbyteMessage, ConfiguredCatalog, SyncMode};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
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
