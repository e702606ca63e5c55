//! `spec.json` and `catalogs/<stream>.json` are generated from the Rust types; these tests fail when the
//! committed files drift. Regenerate with `UPDATE_SNAPSHOTS=1 cargo test --test it snapshots`.

use crate::harness::{repo_root, run};
use airbyte_protocol::AirbyteMessage;
use serde_json::Value;

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap() + "\n"
}

fn check_file(rel: &str, generated: &Value, drift: &mut Vec<String>) {
    let path = repo_root().join(rel);
    let want = pretty(generated);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &want).unwrap();
        return;
    }
    match std::fs::read_to_string(&path) {
        Ok(have) if have == want => {}
        Ok(_) => drift.push(format!("{rel} differs from the code")),
        Err(_) => drift.push(format!("{rel} is missing")),
    }
}

#[test]
fn spec_and_catalogs_match_the_code() {
    let spec = run(&["spec"]).ok();
    let spec = spec
        .messages
        .iter()
        .find_map(|m| match m {
            AirbyteMessage::Spec { spec } => Some(serde_json::to_value(spec).unwrap()),
            _ => None,
        })
        .expect("a SPEC message");
    let mut drift = Vec::new();
    check_file("spec.json", &spec, &mut drift);
    // The committed catalogs are the schemas of the Rust types; discover refines users and groups with
    // each org's custom attributes on top of them.
    let catalog: Vec<Value> = serde_json::to_value(source_okta::discover::static_catalog())
        .unwrap()["streams"]
        .as_array()
        .unwrap()
        .clone();
    let names: Vec<&str> = catalog
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for s in &catalog {
        check_file(
            &format!("catalogs/{}.json", s["name"].as_str().unwrap()),
            &s["json_schema"],
            &mut drift,
        );
    }
    // Acceptance-test catalogs: every stream in full refresh, and the incremental streams incrementally.
    // The acceptance tests run against an org without ASA.
    let names_owned: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !n.starts_with("asa_"))
        .collect();
    check_file(
        "integration_tests/configured_catalog.json",
        &crate::harness::configured(&names_owned, false),
        &mut drift,
    );
    let incremental: Vec<&str> = catalog
        .iter()
        .filter(|s| !s["name"].as_str().unwrap().starts_with("asa_"))
        .filter(|s| {
            s["supported_sync_modes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m == "incremental")
        })
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    check_file(
        "integration_tests/configured_catalog_incremental.json",
        &crate::harness::configured(&incremental, true),
        &mut drift,
    );
    // No stale catalog files for streams that no longer exist.
    if std::env::var_os("UPDATE_SNAPSHOTS").is_none() {
        for entry in std::fs::read_dir(repo_root().join("catalogs")).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let stream = name.trim_end_matches(".json");
            if !names.contains(&stream) {
                drift.push(format!("catalogs/{name} has no stream"));
            }
        }
    }
    assert!(
        drift.is_empty(),
        "{drift:?}\nregenerate with: UPDATE_SNAPSHOTS=1 cargo test --test it snapshots"
    );
}
