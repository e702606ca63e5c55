//! What both front-ends share: argument parsing, loading the config, catalog and state files, the
//! runtime, a stream's configured form, and ending a run (one TRACE error and the exit code).
//!
//! The Airbyte front-end (`cli`) and the Singer one (`singer`) sit above this module; it knows neither.

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::output::Output;
use crate::secret::{scrub, secrets_in};
use crate::streams::StreamDef;
use airbyte_protocol::{
    ConfiguredCatalog, ConfiguredStream, ConfiguredStreamRef, DestinationSyncMode, SyncMode,
};
use clap::Parser;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

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
