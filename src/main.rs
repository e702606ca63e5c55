//! The `source-okta` binary: everything happens in the library.

fn main() -> std::process::ExitCode {
    source_okta::cli::main_with(std::env::args_os().collect(), false)
}
