//! Turns a record type into the JSON Schema the connector publishes: draft-07, every subschema
//! inlined, every non-key property nullable, objects open, and nothing Airbyte's acceptance tests
//! reject (`$ref`, `definitions`, `allOf`, `anyOf`, `oneOf`, `not`, formats on non-strings).
//!
//! schemars describes the Rust types faithfully; this module only rewrites the shape:
//! * `anyOf: [X, {"type": "null"}]` (how schemars spells `Option<X>`) becomes `X` with `"null"`
//!   added to its `type`;
//! * every property except the top-level key columns (the non-`Option` fields, which schemars
//!   lists in the root `required`) gets `"null"` in its `type`, and nested `required` lists go;
//! * objects get `additionalProperties: true` (Okta adds fields; custom profile attributes);
//! * `format` is kept on strings only (schemars puts `int64`/`double` on numbers);
//! * `title`s and `default`s are dropped, boolean schemas become `{}`;
//! * a schema that accepts any JSON (no `type`: `serde_json::Value`) gets `airbyte_type: object`
//!   ([`ANY_JSON_AIRBYTE_TYPE`]), so that a column of any JSON is a JSON column everywhere.

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::{json, Map, Value};

/// The draft-07 meta-schema URI put at the top of every stream schema.
pub const DRAFT_07: &str = "http://json-schema.org/draft-07/schema#";

/// The `airbyte_type` put on a schema without `type` (a value that may be any JSON: Okta's polymorphic
/// properties such as network zone `asns`, an attribute's `default`).
///
/// PyAirbyte (0.71, `airbyte/types.py` `_get_airbyte_type`) cannot type a column whose schema has no
/// single non-null `type` and warns "Could not determine airbyte type" on every read; it reads
/// `airbyte_type` first, and `object` maps to its JSON column type. Destinations that ignore the
/// hint see `{}` (Airbyte's "unknown", a JSON column; target-postgres' untyped JSON-text column).
pub const ANY_JSON_AIRBYTE_TYPE: &str = "object";

/// The schema of a property that may hold any JSON value (see [`ANY_JSON_AIRBYTE_TYPE`]).
#[must_use]
pub fn any_json() -> Value {
    json!({ "airbyte_type": ANY_JSON_AIRBYTE_TYPE })
}

/// The Airbyte JSON Schema of a record type (see the module docs for the rules).
///
/// # Panics
/// If the record type is not an object (every record type is a struct).
#[must_use]
pub fn airbyte_schema<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft07()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();
    let raw = generator.into_root_schema_for::<T>().to_value();
    let Value::Object(mut root) = raw else {
        panic!("record schemas are objects")
    };
    // The key columns: the fields that are not `Option`.
    let keys: Vec<String> = match root.remove("required") {
        Some(Value::Array(a)) => a
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    root.remove("definitions");
    root.remove("$defs");
    let mut root = Value::Object(root);
    normalise(&mut root);
    let Value::Object(mut root) = root else {
        unreachable!()
    };
    if let Some(Value::Object(props)) = root.get_mut("properties") {
        for (name, prop) in props.iter_mut() {
            if keys.iter().any(|k| k == name) {
                remove_null(prop);
            }
        }
    }

    let mut out = Map::new();
    out.insert("$schema".into(), Value::String(DRAFT_07.into()));
    if let Some(d) = root.remove("description") {
        out.insert("description".into(), d);
    }
    out.insert("type".into(), json!("object"));
    if !keys.is_empty() {
        out.insert("required".into(), json!(keys));
    }
    out.insert(
        "properties".into(),
        root.remove("properties").unwrap_or_else(|| json!({})),
    );
    out.insert("additionalProperties".into(), Value::Bool(true));
    Value::Object(out)
}

/// Rewrites one (sub)schema in place; makes it nullable.
fn normalise(schema: &mut Value) {
    if let Value::Bool(_) = schema {
        *schema = any_json();
        return;
    }
    let Value::Object(obj) = schema else { return };

    // Option<X>: anyOf/oneOf [X, {"type": "null"}] -> X (+ null).
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = obj.get(key) {
            let non_null: Vec<&Value> = branches.iter().filter(|b| !is_null_schema(b)).collect();
            if non_null.len() == 1 && branches.len() == 2 {
                let inner = non_null[0].clone();
                obj.remove(key);
                if let Value::Object(inner) = inner {
                    for (k, v) in inner {
                        // the outer description (the field's doc) wins over the type's
                        obj.entry(k).or_insert(v);
                    }
                }
            }
        }
    }
    // Flattened structs that schemars could not merge: fold allOf object parts together.
    if let Some(Value::Array(parts)) = obj.remove("allOf") {
        for part in parts {
            if let Value::Object(part) = part {
                for (k, v) in part {
                    match (k.as_str(), obj.get_mut(&k)) {
                        ("properties", Some(Value::Object(existing))) => {
                            if let Value::Object(more) = v {
                                for (pk, pv) in more {
                                    existing.entry(pk).or_insert(pv);
                                }
                            }
                        }
                        (_, Some(_)) => {}
                        (_, None) => {
                            obj.insert(k, v);
                        }
                    }
                }
            }
        }
    }

    obj.remove("title");
    obj.remove("default");
    obj.remove("required");

    let is_string = type_names(obj).iter().any(|t| t == "string");
    if !is_string {
        obj.remove("format");
    }
    let is_object = type_names(obj).iter().any(|t| t == "object") || obj.contains_key("properties");
    if is_object {
        obj.insert("additionalProperties".into(), Value::Bool(true));
    }

    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        for prop in props.values_mut() {
            normalise(prop);
        }
    }
    if let Some(items) = obj.get_mut("items") {
        normalise(items);
        remove_null(items);
    }
    if !obj.contains_key("type") && !obj.contains_key("anyOf") && !obj.contains_key("oneOf") {
        obj.entry("airbyte_type")
            .or_insert_with(|| Value::String(ANY_JSON_AIRBYTE_TYPE.into()));
    }
    add_null(obj);
}

fn is_null_schema(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
}

fn type_names(obj: &Map<String, Value>) -> Vec<String> {
    match obj.get("type") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// `"type": X` -> `"type": ["null", X]` (schemas without a type already accept null).
fn add_null(obj: &mut Map<String, Value>) {
    let mut names = type_names(obj);
    if names.is_empty() || names.iter().any(|t| t == "null") {
        if !names.is_empty() {
            names.retain(|t| t != "null");
            names.insert(0, "null".into());
            obj.insert("type".into(), json!(names));
        }
        return;
    }
    names.insert(0, "null".into());
    obj.insert("type".into(), json!(names));
}

/// Undo `add_null` for key columns and array items: `["null", X]` -> `X`.
fn remove_null(schema: &mut Value) {
    let Value::Object(obj) = schema else { return };
    let mut names = type_names(obj);
    if names.iter().any(|t| t == "null") {
        names.retain(|t| t != "null");
        let t = if names.len() == 1 {
            Value::String(names.remove(0))
        } else {
            json!(names)
        };
        obj.insert("type".into(), t);
    }
}
