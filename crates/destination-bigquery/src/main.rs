//! `destination-bigquery`: parse the command line, run, map the outcome to an exit code.

use clap::Parser;

fn main() {
    destination_bigquery_main(false)
}

fn destination_bigquery_main(singer: bool) {
    init_logging();
    let cli = destination_bigquery::cli::Cli::parse();
    let code = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(destination_bigquery::cli::run(cli, singer)),
        Err(e) => {
            eprintln!("destination-bigquery: cannot start the runtime: {e}");
            1
        }
    };
    std::process::exit(code)
}

fn init_logging() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false)
        .init();
}
