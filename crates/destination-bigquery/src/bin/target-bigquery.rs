//! `target-bigquery`: the Singer target name of the same program (`target-bigquery --config F`).

fn main() {
    destination_bigquery::entry::main("target-bigquery", true)
}
