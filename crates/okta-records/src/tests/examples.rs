//! Every example payload of `shared/okta/examples/` that is a stream's object validates against
//! that stream's schema and deserialises into its Rust type.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{check_roundtrip, errors, fixtures, read_json, shared, to_record, validator};

/// Example file -> (streams its objects belong to, where the objects are in the file).
const EXAMPLES: &[(&str, &[&str], Shape)] = &[
    (
        "app_group_assignments_list.json",
        &["application_groups"],
        Shape::Array,
    ),
    ("app_users_list.json", &["application_users"], Shape::Array),
    ("application.json", &["applications"], Shape::Object),
    ("asa_audits_v2.json", &["asa_audits"], Shape::List),
    ("asa_groups_list.json", &["asa_groups"], Shape::List),
    ("asa_projects_list.json", &["asa_projects"], Shape::List),
    (
        "asa_users_list.json",
        &["asa_users", "asa_group_members", "asa_service_users"],
        Shape::List,
    ),
    ("devices_list.json", &["devices"], Shape::Array),
    ("group.json", &["groups"], Shape::Object),
    ("groups_list.json", &["groups"], Shape::Array),
    ("log_event.json", &["system_log"], Shape::Object),
    ("log_event_list.json", &["system_log"], Shape::Array),
    (
        "log_event_list_security_context.json",
        &["system_log"],
        Shape::Object,
    ),
    ("user.json", &["users", "group_members"], Shape::Object),
    ("users_list.json", &["users", "group_members"], Shape::Array),
    ("user_schema.json", &["user_schemas"], Shape::Object),
];

/// Example files that are not stream records.
const NOT_RECORDS: &[&str] = &[
    // The ASA token exchange (request and response): authentication, not data.
    "asa_service_token.json",
];

#[derive(Clone, Copy)]
enum Shape {
    /// The file is one object.
    Object,
    /// The file is an array of objects.
    Array,
    /// ASA's `{"list": [...]}` envelope.
    List,
}

fn objects(file: &Value, shape: Shape) -> Vec<Value> {
    match shape {
        Shape::Object => vec![file.clone()],
        Shape::Array => file.as_array().expect("an array").clone(),
        Shape::List => file["list"].as_array().expect("a list").clone(),
    }
}

#[test]
fn example_payloads_validate_and_deserialise() {
    let dir = fixtures().join("examples");
    let mut failures = Vec::new();
    let mut count = 0;
    for (file, streams, shape) in EXAMPLES {
        let payload = read_json(&dir.join(file));
        for stream in *streams {
            let schema = crate::stream_schema(stream).expect("stream");
            let v = validator(&schema);
            for (i, item) in objects(&payload, *shape).iter().enumerate() {
                let record = to_record(stream, item);
                for e in errors(&v, &record) {
                    failures.push(format!("{file}[{i}] as {stream}: {e}"));
                }
                if let Err(e) = check_roundtrip(stream, &record) {
                    failures.push(format!("{file}[{i}] as {stream}: {e}"));
                }
                count += 1;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // 16 files; the user and ASA user files count once per stream they feed.
    assert_eq!(count, 30, "example records checked");
}

/// Every example file is either mapped above or listed as not a record, and the committed
/// copies equal `shared/okta/examples/` when that folder is available.
#[test]
fn every_example_file_is_covered() {
    let dir = fixtures().join("examples");
    let committed: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("fixtures/examples")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let covered: BTreeSet<String> = EXAMPLES
        .iter()
        .map(|(f, _, _)| *f)
        .chain(NOT_RECORDS.iter().copied())
        .map(str::to_owned)
        .collect();
    assert_eq!(committed, covered);
    if let Some(shared) = shared() {
        let src = shared.join("okta/examples");
        let upstream: BTreeSet<String> = std::fs::read_dir(&src)
            .expect("shared examples")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(upstream, committed, "re-run tools/extract_spec_examples.py");
        for f in &upstream {
            assert_eq!(
                std::fs::read(src.join(f)).expect("read"),
                std::fs::read(dir.join(f)).expect("read"),
                "{f} differs from shared/okta/examples: re-run tools/extract_spec_examples.py"
            );
        }
    }
}
