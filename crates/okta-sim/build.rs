//! Lists the spec-example fixtures of `okta-records` for `catalog.rs` to embed, one per stream.

use std::{env, fs, path::Path};

fn main() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../okta-records/tests/fixtures/spec-examples");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .filter_map(|n| n.strip_suffix(".json").map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut out = String::from("&[\n");
    for n in names {
        out.push_str(&format!(
            "    ({n:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/../okta-records/tests/fixtures/spec-examples/{n}.json\"))),\n"
        ));
    }
    out.push(']');
    let dest = Path::new(&env::var("OUT_DIR").unwrap_or_default()).join("fixtures.rs");
    if let Err(e) = fs::write(&dest, out) {
        panic!("cannot write {}: {e}", dest.display());
    }
}
