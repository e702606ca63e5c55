//! The `tap-okta` binary: `source-okta` in Singer tap mode.

fn main() -> std::process::ExitCode {
    source_okta::cli::main_with(std::env::args_os().collect(), true)
}
