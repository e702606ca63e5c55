//! Every column of every stream is one PyAirbyte, target-postgres and the BigQuery destination can type:
//! the committed catalogs and `discover` against the simulator (custom profile attributes included).
//!
//! The rules are PyAirbyte's, the strictest of the three: `airbyte/types.py` of PyAirbyte 0.71.3
//! (`_get_airbyte_type` and `SQLTypeConverter.to_sql_type`), replicated in [`pyairbyte_type`]. PyAirbyte
//! types the top-level properties (`SqlProcessorBase._get_sql_column_definitions`); a Singer tap with
//! `flattening_enabled` turns nested object properties into columns too, so those are held to the
//! same rules. Array items are not checked: PyAirbyte ignores an item type it cannot determine.

use crate::harness::{all_streams, config_json, discover_catalog, read, repo_root, run, sim, Dir};
use airbyte_protocol::AirbyteMessage;
use okta_sim::{Fault, FaultKind};
use serde_json::{json, Value};

/// PyAirbyte's `CONVERSION_MAP` keys: the Airbyte types it has a SQL type for.
const CONVERSION_MAP: &[&str] = &[
    "string",
    "integer",
    "number",
    "boolean",
    "date",
    "timestamp_with_timezone",
    "timestamp_without_timezone",
    "time_with_timezone",
    "time_without_timezone",
    "object",
    "array",
    "vector_array",
];

/// The Airbyte type PyAirbyte gives a property, or the warning it prints ("Could not determine airbyte
/// type from JSON schema" / "Could not find SQL type for airbyte type").
fn pyairbyte_type(prop: &Value) -> Result<String, String> {
    // `airbyte_type` wins outright.
    let ty = if let Some(t) = prop.get("airbyte_type").and_then(Value::as_str) {
        t.to_string()
    } else {
        // `["null", X]` (exactly one non-null member) counts as X; any other list stays a list.
        let json_type = match prop.get("type") {
            Some(Value::String(t)) => Some(t.as_str()),
            Some(Value::Array(ts)) => {
                let non_null: Vec<&str> = ts
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|t| *t != "null")
                    .collect();
                match non_null.as_slice() {
                    [one] => Some(*one),
                    _ => None,
                }
            }
            _ => None,
        };
        let format = prop.get("format").and_then(Value::as_str);
        match (json_type, format) {
            (Some("string"), Some("date")) => "date".into(),
            (Some("string"), Some("date-time")) => "timestamp_with_timezone".into(),
            (Some("string"), Some("time")) => "time_without_timezone".into(),
            (Some(t @ ("string" | "number" | "boolean" | "integer" | "object" | "array")), _) => {
                t.into()
            }
            (Some("vector_array"), _) => "vector_array".into(),
            _ => return Err(format!("could not determine airbyte type from {prop}")),
        }
    };
    if CONVERSION_MAP.contains(&ty.as_str()) {
        Ok(ty)
    } else {
        Err(format!("could not find SQL type for airbyte type {ty}"))
    }
}

/// The columns of a stream schema (top-level properties, and nested object properties as flattened
/// columns) that PyAirbyte's rules cannot type.
fn untyped_columns(stream: &str, schema: &Value) -> Vec<String> {
    fn walk(props: &Value, at: &str, out: &mut Vec<String>) {
        for (name, prop) in props.as_object().into_iter().flatten() {
            let path = format!("{at}.{name}");
            if let Err(e) = pyairbyte_type(prop) {
                out.push(format!("{path}: {e}"));
            }
            if let Some(nested) = prop.get("properties") {
                walk(nested, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&schema["properties"], stream, &mut out);
    out
}

#[test]
fn the_rules_are_pyairbytes() {
    for (prop, want) in [
        (json!({"type": ["null", "string"]}), Ok("string")),
        (json!({"type": "integer"}), Ok("integer")),
        (
            json!({"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"}),
            Ok("timestamp_with_timezone"),
        ),
        (
            json!({"type": ["null", "string"], "format": "date"}),
            Ok("date"),
        ),
        (json!({"type": ["null", "array"], "items": {}}), Ok("array")),
        (json!({"airbyte_type": "object"}), Ok("object")),
        (
            json!({"type": ["null", "string", "number"], "airbyte_type": "string"}),
            Ok("string"),
        ),
        // what PyAirbyte warned about before: system_log.version, network_zones.asns
        (json!({"type": ["null", "string", "number"]}), Err(())),
        (json!({}), Err(())),
        (json!({"description": "any JSON"}), Err(())),
        (json!({"type": "null"}), Err(())),
        (
            json!({"type": "string", "airbyte_type": "big_integer"}),
            Err(()),
        ),
    ] {
        assert_eq!(
            pyairbyte_type(&prop).map_err(|_| ()),
            want.map(str::to_string),
            "{prop}"
        );
    }
    let s = json!({"properties": {"a": {"type": "object", "properties": {"b": {}}}, "c": {"type": "array", "items": {}}}});
    assert_eq!(untyped_columns("s", &s).len(), 1, "{s}");
}

#[test]
fn every_committed_catalog_column_is_typed_for_pyairbyte() {
    let dir = repo_root().join("catalogs");
    let mut problems = Vec::new();
    let mut streams = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        problems.extend(untyped_columns(&name, &schema));
        streams += 1;
    }
    assert!(streams > 50, "only {streams} catalogs in {}", dir.display());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_discovered_column_is_typed_for_pyairbyte() {
    let catalog = discover_catalog();
    let mut problems = Vec::new();
    for s in &catalog {
        problems.extend(untyped_columns(
            s["name"].as_str().unwrap(),
            &s["json_schema"],
        ));
    }
    // The walk sees the org's custom attributes (typed by discover, absent from the static schema).
    let users = catalog.iter().find(|s| s["name"] == "users").unwrap();
    let static_users = okta_records::stream_schema("users").unwrap();
    let custom: Vec<&String> = users["json_schema"]["properties"]["profile"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| {
            static_users["properties"]["profile"]["properties"]
                .get(k.as_str())
                .is_none()
        })
        .collect();
    assert!(
        !custom.is_empty(),
        "discover typed no custom user attribute"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Properties whose values may look like a timestamp but are not always one: (stream, pointer, why).
const NOT_TIMESTAMPS: &[(&str, &str, &str)] = &[
    (
        "device_assurances",
        "/gracePeriod/expiry",
        "a timestamp (`BY_DATE_TIME`) or an ISO 8601 duration (`BY_DURATION`)",
    ),
    (
        "policies",
        "/settings/authenticators/[]/enroll/gracePeriod/expiry",
        "a timestamp (`BY_DATE_TIME`) or an ISO 8601 duration (`BY_DURATION`)",
    ),
];

/// Strings of `value` that are timestamps (RFC 3339 or Okta's `2021-11-09 20:38:10.0`) where `schema`
/// does not say `airbyte_type: timestamp_with_timezone`; free-form and undeclared parts are not entered.
fn untyped_timestamps(
    stream: &str,
    schema: &Value,
    value: &Value,
    at: &str,
    out: &mut Vec<String>,
) {
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                if let Some(sub) = schema.get("properties").and_then(|p| p.get(k)) {
                    untyped_timestamps(stream, sub, v, &format!("{at}/{k}"), out);
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = schema.get("items") {
                for v in a {
                    untyped_timestamps(stream, items, v, &format!("{at}/[]"), out);
                }
            }
        }
        Value::String(s)
            if okta_records::types::is_rfc3339(s) || okta_records::types::is_okta_timestamp(s) =>
        {
            let typed = schema.get("airbyte_type").and_then(Value::as_str);
            if !matches!(typed, Some("timestamp_with_timezone" | "object"))
                && !NOT_TIMESTAMPS
                    .iter()
                    .any(|(st, p, _)| *st == stream && *p == at)
            {
                out.push(format!("{stream} {at}: {s:?}"));
            }
        }
        _ => {}
    }
}

#[test]
fn every_timestamp_the_simulator_sends_is_typed_a_timestamp() {
    let mut probe = Vec::new();
    untyped_timestamps(
        "s",
        &json!({"properties": {"a": {"type": "string"}}}),
        &json!({"a": "2021-11-09T20:38:10.000Z"}),
        "",
        &mut probe,
    );
    assert_eq!(probe.len(), 1, "the check sees an untyped timestamp");

    let sim = sim();
    let streams = all_streams();
    let names: Vec<&str> = streams.iter().map(String::as_str).collect();
    let run = read(&sim, &names, false, None).ok();
    let catalog = discover_catalog();
    let mut problems = std::collections::BTreeSet::new();
    let mut records = 0;
    for (stream, record) in run.all_records() {
        let schema = &catalog
            .iter()
            .find(|s| s["name"] == stream.as_str())
            .unwrap()["json_schema"];
        let mut out = Vec::new();
        untyped_timestamps(&stream, schema, &record, "", &mut out);
        problems.extend(out);
        records += 1;
    }
    assert!(records > 100, "only {records} records read");
    assert!(
        problems.is_empty(),
        "timestamps not typed as timestamps:\n{}",
        problems.into_iter().collect::<Vec<_>>().join("\n")
    );
}

fn stream_schema<'a>(catalog: &'a [Value], name: &str) -> &'a Value {
    &catalog
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no stream {name}"))["json_schema"]
}

/// The profile schemas that hold a user's profile: its own stream and where it is embedded.
const USER_PROFILES: &[(&str, &str)] = &[
    ("users", "/properties/profile"),
    ("group_members", "/properties/profile"),
    ("device_users", "/properties/user/properties/profile"),
    (
        "devices",
        "/properties/_embedded/properties/users/items/properties/user/properties/profile",
    ),
];

#[test]
fn app_user_and_embedded_user_profiles_are_typed_from_the_orgs_schemas() {
    let catalog = discover_catalog();
    let profile = &stream_schema(&catalog, "application_users")["properties"]["profile"];
    assert_eq!(profile["additionalProperties"], true, "{profile}");
    let p = &profile["properties"];
    // in every app's schema (custom, and `email` of the base template): typed
    assert_eq!(p["costCenter"]["type"], json!(["null", "string"]), "{p}");
    assert_eq!(p["email"]["type"], json!(["null", "string"]), "{p}");
    // in one app only: typed as that app types it
    assert_eq!(p["licenseTier"]["type"], json!(["null", "string"]), "{p}");
    // integer in some apps, string in others: any JSON
    assert!(p["seats"].get("type").is_none(), "{p}");
    assert_eq!(p["seats"]["airbyte_type"], "object", "{p}");

    // The org's custom user attributes (the simulator's `badgeId`) wherever a user profile is.
    for (stream, at) in USER_PROFILES {
        let profile = stream_schema(&catalog, stream)
            .pointer(at)
            .unwrap_or_else(|| panic!("{stream} has no {at}"));
        assert_eq!(
            profile["properties"]["badgeId"]["type"],
            json!(["null", "string"]),
            "{stream} {at}"
        );
    }
}

#[test]
fn app_user_profiles_stay_open_when_the_app_schemas_cannot_be_read() {
    let sim = sim();
    sim.add_fault(Fault::new("/api/v1/meta/schemas/apps", FaultKind::Status(403)).times(100_000));
    let dir = Dir::new();
    let cfg = dir.write("config.json", &config_json(&sim));
    let r = run(&["discover", "--config", cfg.to_str().unwrap()]).ok();
    let catalog: Vec<Value> = r
        .messages
        .iter()
        .find_map(|m| match m {
            AirbyteMessage::Catalog { catalog } => Some(serde_json::to_value(catalog).unwrap()),
            _ => None,
        })
        .expect("a CATALOG")["streams"]
        .as_array()
        .unwrap()
        .clone();
    let profile = &stream_schema(&catalog, "application_users")["properties"]["profile"];
    assert_eq!(profile["additionalProperties"], true, "{profile}");
    assert!(
        profile["properties"].get("costCenter").is_none(),
        "{profile}"
    );
    let logs = r.logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("app-user profile attributes stay untyped")),
        "{logs:?}\n{}",
        r.stderr
    );
    // the users' own attributes are still typed
    let users = stream_schema(&catalog, "users");
    assert_eq!(
        users["properties"]["profile"]["properties"]["badgeId"]["type"],
        json!(["null", "string"])
    );
}
