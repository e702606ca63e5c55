//! Unit tests of the registry and the published schemas: structure (Airbyte's rules), the example
//! payloads of `shared/okta/examples/` and the examples embedded in Okta's OpenAPI specs.
//!
//! The examples are read from fixtures committed under `tests/fixtures/` (written by
//! `tools/extract_spec_examples.py`), so the tests need no checkout of `shared/`; when
//! `../../../shared` (next to the repo checkout) exists, the fixtures are also checked against it.

mod examples;
mod spec_examples;
mod structural;
mod timestamps;

use std::path::PathBuf;

use serde_json::{Map, Value};

/// `crates/okta-records/tests/fixtures`.
fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The `shared/` folder next to the repo checkout, if present.
fn shared() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    p.is_dir().then_some(p)
}

fn read_json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The record the connector emits for API object `item` of `stream`: the item plus the key
/// columns it adds (parent ids get a placeholder; derived keys are derived like the connector).
fn to_record(stream: &str, item: &Value) -> Value {
    let mut rec = match item {
        Value::Object(m) => m.clone(),
        other => panic!("{stream}: not an object: {other}"),
    };
    let def = crate::streams()
        .iter()
        .find(|s| s.name == stream)
        .unwrap_or_else(|| panic!("unknown stream {stream}"));
    for key in def.primary_key {
        if rec.contains_key(*key) {
            continue;
        }
        let derived = match (stream, *key) {
            ("group_members", "user_id") => item.get("id").cloned(),
            ("device_users", "user_id") => item.pointer("/user/id").cloned(),
            ("linked_object_definitions", "primary_name") => item.pointer("/primary/name").cloned(),
            ("role_subscriptions", "notification_type") => item.get("notificationType").cloned(),
            ("threat_insight", "id") => Some(Value::String(crate::THREAT_INSIGHT_ID.into())),
            _ => None,
        };
        let value = derived.unwrap_or_else(|| Value::String(format!("example-{key}")));
        rec.insert((*key).to_owned(), value);
    }
    Value::Object(rec)
}

/// A draft-07 validator for `schema`, asserting formats (`date-time`, `date`).
fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(schema)
        .expect("valid draft-07 schema")
}

/// Validation errors of `instance`, as readable lines (empty when valid).
fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

/// Deserialises `record` into its Rust type and back; the result must equal the input up to
/// nulls (absent `Option`s are skipped) and number spelling (`1` vs `1.0`).
fn check_roundtrip(stream: &str, record: &Value) -> Result<(), String> {
    let back = crate::registry::roundtrip(stream, record.clone())
        .ok_or_else(|| format!("no type for {stream}"))?
        .map_err(|e| format!("does not deserialise: {e}"))?;
    let (a, b) = (strip_nulls(record), strip_nulls(&back));
    if same(&a, &b) {
        Ok(())
    } else {
        Err(format!(
            "round trip changed the record:\n  in:  {a}\n  out: {b}"
        ))
    }
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w))
        }
        _ => a == b,
    }
}

/// Properties of `value` that the schema does not declare (kept in `extra` by the Rust types),
/// as JSON pointers; free-form objects (no declared properties) are not entered.
fn undeclared(schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(m) => {
            let Some(Value::Object(props)) = schema.get("properties") else {
                return;
            };
            for (k, v) in m {
                match props.get(k) {
                    Some(sub) => undeclared(sub, v, &format!("{at}/{k}"), out),
                    None => out.push(format!("{at}/{k}")),
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = schema.get("items") {
                for v in a {
                    undeclared(items, v, &format!("{at}/[]"), out);
                }
            }
        }
        _ => {}
    }
}
