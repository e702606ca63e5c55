//! The SPEC and CATALOG obey what Airbyte's acceptance tests check.

use crate::harness::{discover_catalog, run};
use airbyte_protocol::AirbyteMessage;
use serde_json::Value;

fn spec() -> Value {
    let r = run(&["spec"]).ok();
    assert_eq!(r.messages.len(), 1);
    match &r.messages[0] {
        AirbyteMessage::Spec { spec } => spec.connection_specification.clone(),
        other => panic!("not a SPEC: {other:?}"),
    }
}

fn walk<'a>(v: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
    out.push((path.clone(), v));
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, v)| walk(v, format!("{path}/{k}"), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, v)| walk(v, format!("{path}/{i}"), out)),
        _ => {}
    }
}

#[test]
fn spec_is_valid_draft7_and_marks_secrets() {
    let s = spec();
    jsonschema::draft7::new(&s).expect("valid draft-07");
    let mut nodes = Vec::new();
    walk(&s, String::new(), &mut nodes);
    for (path, v) in &nodes {
        if let Value::Object(m) = v {
            for banned in ["anyOf", "allOf", "not", "patternProperties", "if", "$ref"] {
                assert!(!m.contains_key(banned), "{banned} at {path}");
            }
            if let Some(ap) = m.get("additionalProperties") {
                assert_eq!(ap, &Value::Bool(true), "additionalProperties at {path}");
            }
        }
        let last = path.rsplit('/').next().unwrap_or_default();
        if ["api_token", "private_key", "client_secret", "refresh_token"].contains(&last)
            && path.contains("/properties/")
        {
            assert_eq!(
                v["airbyte_secret"],
                Value::Bool(true),
                "{path} must be airbyte_secret"
            );
        }
        if v.get("airbyte_secret") == Some(&Value::Bool(true)) {
            assert_eq!(v["type"], "string", "non-string secret at {path}");
        }
    }
    let variants = s["properties"]["credentials"]["oneOf"]
        .as_array()
        .expect("credentials oneOf");
    assert_eq!(variants.len(), 3);
    for v in variants {
        let consts: Vec<_> = v["properties"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, p)| p.get("const").is_some())
            .collect();
        assert_eq!(consts.len(), 1, "one const per variant: {v}");
        assert!(consts[0].1.get("default").is_none() && consts[0].1.get("enum").is_none());
    }
}

#[test]
fn airbyte_source_okta_configs_validate_against_the_spec() {
    let s = spec();
    let v = jsonschema::draft7::new(&s).unwrap();
    for cfg in [
        serde_json::json!({"domain": "acme", "start_date": "2022-07-22T00:00:00Z",
            "credentials": {"auth_type": "api_token", "api_token": "x"}}),
        serde_json::json!({"domain": "acme", "credentials": {"auth_type": "oauth2.0", "client_id": "a",
            "client_secret": "b", "refresh_token": "c"}}),
        serde_json::json!({"domain": "acme", "credentials": {"auth_type": "oauth2.0_private_key", "client_id": "a",
            "key_id": "k", "private_key": "-----BEGIN PRIVATE KEY-----", "scope": "okta.users.read"}}),
    ] {
        assert!(v.is_valid(&cfg), "{cfg}");
    }
}

/// Schema keywords Airbyte forbids in stream schemas (`$ref`, `allOf`, `not`), skipping property names
/// (Okta's own schema objects have a property called `$ref`).
fn banned_keywords(v: &Value, path: String, out: &mut Vec<String>) {
    if let Value::Object(m) = v {
        for (k, child) in m {
            if ["$ref", "allOf", "not"].contains(&k.as_str()) {
                out.push(format!("{path}/{k}"));
            }
            if k == "properties" {
                for (prop, schema) in child.as_object().into_iter().flatten() {
                    banned_keywords(schema, format!("{path}/properties/{prop}"), out);
                }
            } else {
                banned_keywords(child, format!("{path}/{k}"), out);
            }
        }
    } else if let Value::Array(a) = v {
        for (i, child) in a.iter().enumerate() {
            banned_keywords(child, format!("{path}/{i}"), out);
        }
    }
}

#[test]
fn catalog_streams_are_well_formed() {
    let catalog = discover_catalog();
    let mut names = std::collections::HashSet::new();
    for s in &catalog {
        let name = s["name"].as_str().unwrap();
        assert!(names.insert(name.to_string()), "duplicate stream {name}");
        assert!(!s["supported_sync_modes"].as_array().unwrap().is_empty());
        let schema = &s["json_schema"];
        jsonschema::draft7::new(schema).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut found = Vec::new();
        banned_keywords(schema, String::new(), &mut found);
        assert!(found.is_empty(), "{name} uses {found:?}");
        for key in s["source_defined_primary_key"].as_array().unwrap() {
            let field = key[0].as_str().unwrap();
            let prop = &schema["properties"][field];
            assert!(
                prop.is_object(),
                "{name}: primary key {field} not in schema"
            );
            assert!(
                !prop.to_string().contains("\"object\""),
                "{name}: key {field} not scalar"
            );
        }
        if let Some(c) = s["default_cursor_field"].as_array().and_then(|a| a.first()) {
            let prop = &schema["properties"][c.as_str().unwrap()];
            assert_eq!(
                prop["format"], "date-time",
                "{name}: cursor {c} is not a date-time"
            );
        }
        let mut nodes = Vec::new();
        walk(schema, String::new(), &mut nodes);
        for (path, v) in nodes {
            if v.get("format") == Some(&Value::String("date-time".into())) {
                assert!(
                    v["type"].to_string().contains("string"),
                    "{name}: date-time on a non-string at {path}"
                );
                assert_eq!(
                    v["airbyte_type"], "timestamp_with_timezone",
                    "{name}: {path}"
                );
            }
        }
    }
}
