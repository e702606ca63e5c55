//! Every stream's schema is one Airbyte accepts (the `discover` checks of its acceptance tests).

use serde_json::Value;

use super::shared;

const SCALARS: &[&str] = &["string", "integer", "number", "boolean"];

fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Walks every subschema, collecting violations with their JSON pointer.
fn walk(schema: &Value, at: &str, problems: &mut Vec<String>) {
    let Value::Object(obj) = schema else {
        problems.push(format!("{at}: boolean schema"));
        return;
    };
    for banned in [
        "$ref",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "definitions",
        "$defs",
        "patternProperties",
        "if",
    ] {
        if obj.contains_key(banned) {
            problems.push(format!("{at}: has {banned}"));
        }
    }
    let t = types(schema);
    if obj.contains_key("format") && !t.contains(&"string") {
        problems.push(format!("{at}: format on a non-string"));
    }
    if obj.get("format").and_then(Value::as_str) == Some("date-time")
        && obj.get("airbyte_type").and_then(Value::as_str) != Some("timestamp_with_timezone")
    {
        problems.push(format!("{at}: date-time without airbyte_type"));
    }
    if (t.contains(&"object") || obj.contains_key("properties"))
        && obj.get("additionalProperties") != Some(&Value::Bool(true))
    {
        problems.push(format!("{at}: object not open"));
    }
    if !t.is_empty()
        && t.iter().any(|x| !["null", "object", "array"].contains(x))
        && t.iter().any(|x| ["object", "array"].contains(x))
    {
        problems.push(format!("{at}: mixes scalar and container types {t:?}"));
    }
    if let Some(Value::Object(props)) = obj.get("properties") {
        for (name, prop) in props {
            walk(prop, &format!("{at}/properties/{name}"), problems);
        }
    }
    if let Some(items) = obj.get("items") {
        walk(items, &format!("{at}/items"), problems);
    }
}

#[test]
fn every_schema_is_airbyte_compatible() {
    let mut problems = Vec::new();
    for s in crate::streams() {
        let schema = (s.schema)();
        if let Err(e) = jsonschema::draft7::meta::validate(&schema) {
            problems.push(format!("{}: not a draft-07 schema: {e}", s.name));
        }
        assert_eq!(
            schema["$schema"], "http://json-schema.org/draft-07/schema#",
            "{}",
            s.name
        );
        assert_eq!(schema["type"], "object", "{}", s.name);
        let mut p = Vec::new();
        walk(&schema, "", &mut p);
        problems.extend(p.into_iter().map(|x| format!("{}: {x}", s.name)));

        // Key and cursor columns: top-level scalars; keys required and never null.
        let props = schema["properties"].as_object().expect("properties");
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for key in s.primary_key {
            match props.get(*key) {
                None => problems.push(format!("{}: key {key} is not a property", s.name)),
                Some(p) => {
                    if types(p) != ["string"] {
                        problems.push(format!("{}: key {key} is {:?}", s.name, types(p)));
                    }
                    if !required.contains(key) {
                        problems.push(format!("{}: key {key} not required", s.name));
                    }
                }
            }
        }
        // `_ab_cdc_updated_at` is a column the connector adds to feed-driven streams, not a field.
        if let Some(cursor) = s.cursor_field.filter(|c| *c != okta_manifest::UPDATED_AT) {
            match props.get(cursor) {
                None => problems.push(format!("{}: cursor {cursor} is not a property", s.name)),
                Some(p) => {
                    if !types(p).iter().any(|t| SCALARS.contains(t)) {
                        problems.push(format!("{}: cursor {cursor} not scalar", s.name));
                    }
                }
            }
        }
        // Every other property is nullable.
        for (name, p) in props {
            if !s.primary_key.contains(&name.as_str())
                && !required.contains(&name.as_str())
                && !types(p).is_empty()
                && !types(p).contains(&"null")
            {
                problems.push(format!("{}: {name} not nullable", s.name));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_manifest_stream_has_a_record_type() {
    let names: Vec<&str> = crate::streams().iter().map(|s| s.name).collect();
    let manifest: Vec<&str> = okta_manifest::catalog().map(|s| s.name).collect();
    assert_eq!(
        names, manifest,
        "a catalog stream without a record type: run tools/gen_records.py"
    );
    assert!(crate::stream_schema("nope").is_none());
    for name in &names {
        assert!(crate::stream_schema(name).is_some());
    }

    // Every stream STREAMS.md lists is in the manifest.
    let Some(shared) = shared() else { return };
    let md = std::fs::read_to_string(shared.join("okta/STREAMS.md")).expect("STREAMS.md");
    let mut expected = Vec::new();
    for line in md.lines() {
        let Some(first) = line.strip_prefix("| ").and_then(|l| l.split(" |").next()) else {
            continue;
        };
        if first == "stream" || first.starts_with("---") {
            continue;
        }
        let first = first.split(" (").next().unwrap_or(first);
        let parts: Vec<&str> = first.split(", ").collect();
        let stem = parts[0].rsplit_once('_').map_or(parts[0], |(s, _)| s);
        for (i, part) in parts.iter().enumerate() {
            if i > 0 && part.starts_with('_') {
                expected.push(format!("{stem}{part}"));
            } else {
                expected.push((*part).to_owned());
            }
        }
    }
    let missing: Vec<&String> = expected
        .iter()
        .filter(|e| !names.contains(&e.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "STREAMS.md streams not in the manifest: {missing:?}"
    );
}
