//! Prints the manifest as JSON for the Python generators: `cargo run -q -p okta-manifest --example dump`.

fn main() {
    let json =
        serde_json::to_string_pretty(okta_manifest::STREAMS).expect("the manifest serialises");
    #[allow(clippy::print_stdout)]
    {
        println!("{json}");
    }
}
