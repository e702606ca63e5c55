//! Every timestamp is typed as one: a string of Okta's examples (the spec's response examples and
//! schema examples) that is a timestamp, RFC 3339 or Okta's `2021-11-09 20:38:10.0`, sits where the
//! schema says `airbyte_type: timestamp_with_timezone` (and, for RFC 3339 values that are always RFC
//! 3339, `format: date-time`).

use serde_json::Value;

use super::{fixtures, read_json};
use crate::types::{is_okta_timestamp, is_rfc3339};

/// Properties whose examples hold a timestamp that are not timestamps: (stream, pointer, why).
const NOT_TIMESTAMPS: &[(&str, &str, &str)] = &[
    (
        "device_assurances",
        "/gracePeriod/expiry",
        "a timestamp (`BY_DATE_TIME`) or an ISO 8601 duration (`BY_DURATION`, `P7D`)",
    ),
    (
        "policies",
        "/settings/authenticators/[]/enroll/gracePeriod/expiry",
        "a timestamp (`BY_DATE_TIME`) or an ISO 8601 duration (`BY_DURATION`)",
    ),
];

fn is_timestamp_schema(schema: &Value) -> bool {
    schema.get("airbyte_type").and_then(Value::as_str) == Some("timestamp_with_timezone")
}

/// Checks the strings of `value` against `schema`, collecting `stream pointer: value` problems.
/// Undeclared properties and free-form objects (no sub-schema) are not entered.
pub(crate) fn check(stream: &str, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(m) => {
            let Some(Value::Object(props)) = schema.get("properties") else {
                return;
            };
            for (k, v) in m {
                if let Some(sub) = props.get(k) {
                    check(stream, sub, v, &format!("{at}/{k}"), out);
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = schema.get("items") {
                for v in a {
                    check(stream, items, v, &format!("{at}/[]"), out);
                }
            }
        }
        Value::String(s) if is_rfc3339(s) || is_okta_timestamp(s) => {
            let typed = is_timestamp_schema(schema)
                || schema.get("airbyte_type").and_then(Value::as_str) == Some("object");
            let listed = NOT_TIMESTAMPS
                .iter()
                .any(|(st, p, _)| *st == stream && *p == at);
            if !typed && !listed {
                out.push(format!("{stream} {at}: {s:?} is not typed a timestamp"));
            }
        }
        _ => {}
    }
}

/// The sub-schema at `path` (property names, `[]` for items); `None` inside free-form objects.
fn subschema<'a>(schema: &'a Value, path: &[Value]) -> Option<&'a Value> {
    let mut at = schema;
    for step in path {
        let step = step.as_str()?;
        at = if step == "[]" {
            at.get("items")?
        } else {
            at.get("properties")?.get(step)?
        };
    }
    Some(at)
}

#[test]
fn the_shapes_are_recognised() {
    for ok in [
        "2013-07-02T21:36:25.344Z",
        "2024-12-01T00:00:00.00Z",
        "2025-05-20T20:04:26+02:00",
        "2021-01-01T00:00:00.123456789z",
    ] {
        assert!(is_rfc3339(ok), "{ok}");
    }
    for no in [
        "2021-11-09 20:38:10.0",
        "2021-11-09",
        "P7D",
        "2021-11-09T20:38:10",
        "2021-11-09T20:38:10.Z",
    ] {
        assert!(!is_rfc3339(no), "{no}");
    }
    assert!(is_okta_timestamp("2021-11-09 20:38:10.0"));
    assert!(!is_okta_timestamp("2021-11-09T20:38:10.0Z"));
    let mut out = Vec::new();
    let schema = serde_json::json!({"properties": {"a": {"type": "string"}, "b": {"type": "string", "format": "date-time", "airbyte_type": "timestamp_with_timezone"}}});
    check(
        "s",
        &schema,
        &serde_json::json!({"a": "2021-11-09 20:38:10.0", "b": "2021-11-09T20:38:10Z"}),
        "",
        &mut out,
    );
    assert_eq!(out.len(), 1, "{out:?}");
}

#[test]
fn every_timestamp_in_the_spec_examples_is_typed_a_timestamp() {
    let dir = fixtures().join("spec-examples");
    let mut problems = Vec::new();
    let mut strings = 0;
    for s in crate::streams() {
        let fixture = read_json(&dir.join(format!("{}.json", s.name)));
        let schema = (s.schema)();
        for ex in fixture["records"].as_array().into_iter().flatten() {
            check(s.name, &schema, &ex["record"], "", &mut problems);
            strings += 1;
        }
        for v in fixture["values"].as_array().into_iter().flatten() {
            let (Some(path), Some(value)) = (v["path"].as_array(), v["value"].as_str()) else {
                continue;
            };
            let Some(sub) = subschema(&schema, path) else {
                continue;
            };
            let at: String = path
                .iter()
                .filter_map(Value::as_str)
                .map(|p| format!("/{p}"))
                .collect();
            check(
                s.name,
                sub,
                &Value::String(value.into()),
                &at,
                &mut problems,
            );
        }
    }
    assert!(strings > 250, "only {strings} example records");
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
