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
        Ok(rt) => rt.block_on(destination_bigquery::cli::run(cli, true)),
        Err(e) => {
            eprintln!("target-bigquery: cannot start the runtime: {e}");
            1
        }
    };
    std::process::exit(code)
}
