//! The `main` of both binaries (`destination-bigquery` and its Singer name `target-bigquery`): logging,
//! the runtime, the command, the exit code — through the shared kit's logging setup and main wrapper.

use clap::Parser;
use connector_kit::log::{Ansi, LogOptions};
use connector_kit::run::{block_on, RuntimeOptions};

/// Two workers; a stdin read may still be blocked in its thread when the run ends (the input was not at
/// its end: a bad line or a signal stopped the run), so the runtime does not wait for it.
const RUNTIME: RuntimeOptions = RuntimeOptions {
    worker_threads: Some(2),
    detach_on_exit: true,
};

/// Parses the command line, runs it and exits with its code; `singer` makes Singer the default protocol.
pub fn main(program: &str, singer: bool) -> ! {
    connector_kit::log::init(
        &LogOptions {
            ansi: Ansi::Always,
            ..LogOptions::default()
        },
        None,
    );
    let cli = crate::cli::Cli::parse();
    let code = match block_on(RUNTIME, crate::cli::run(cli, singer)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{program}: {e}");
            1
        }
    };
    std::process::exit(code)
}
