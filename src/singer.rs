//! Singer tap mode (`tap-okta --config F --discover`, `--catalog F --state F`): same streams, state and
//! errors as the Airbyte mode, spoken as SCHEMA/RECORD/STATE.

use std::ffi::OsString;
use std::process::ExitCode;

/// Singer invocations start with flags (`--config`), Airbyte ones with a subcommand.
pub fn looks_like_singer(args: &[OsString]) -> bool {
    args.get(1).and_then(|a| a.to_str()).is_some_and(|a| a.starts_with("--") && !matches!(a, "--help" | "--version"))
}

pub fn main(_args: Vec<OsString>) -> ExitCode {
    tracing::error!("the Singer tap mode is not available yet");
    ExitCode::FAILURE
}
