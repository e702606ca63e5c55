//! `target-bigquery`: the Singer target name of the same program (`target-bigquery --config F`).

use clap::Parser;

fn main() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false)
        .init();
    let cli = destination_bigquery::cli::Cli::parse();
    let code = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => {
            let code = rt.block_on(destination_bigquery::cli::run(cli, true));
            // A stdin read may still be blocked in its thread (the input was not at its end: a bad line or
            // a signal stopped the run); do not wait for it.
            rt.shutdown_background();
            code
        }
        Err(e) => {
            eprintln!("target-bigquery: cannot start the runtime: {e}");
            1
        }
    };
    std::process::exit(code)
}
