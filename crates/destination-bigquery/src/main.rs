//! `destination-bigquery`: parse the command line, run, map the outcome to an exit code.

fn main() {
    destination_bigquery::entry::main("destination-bigquery", false)
}
