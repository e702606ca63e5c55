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
        Ok(rt) => {
            let code = rt.block_on(destination_bigquery::cli::run(cli, singer));
            // A stdin read may still be blocked in its thread (the input was not at its end: a bad line or
            // a signal stopped the run); do not wait for it.
            rt.shutdown_background();
            code
        }
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
