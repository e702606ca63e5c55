//! Deletions in Singer's terms. Tombstones carry Airbyte's `_ab_cdc_deleted_at`; Singer SDK targets
//! read `_sdc_deleted_at` (and delete or mark the row of that key). In Singer mode the column is
//! renamed, in the schema each stream declares and in every record, so a deletion reaches the target.
//!
//! A tombstone carries its key and nothing else (a scoped one only part of it: `user_id` alone for
//! every membership of a deleted user). Singer SDK targets validate every record against the SCHEMA
//! and insist that every key property be present, so in Singer mode a stream with tombstones declares
//! no `required` properties, its key properties may be null, and a scoped tombstone carries the key
//! parts it lacks as null. Applying a scoped tombstone (every row matching its non-null key parts)
//! is up to the target; one that cannot keeps those rows until a full refresh (see the README).

use crate::output::RecordTransform;
use crate::streams::changes::DELETED_AT;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The column Singer SDK targets read a deletion from.
pub const SDC_DELETED_AT: &str = "_sdc_deleted_at";

/// The schema with `_ab_cdc_deleted_at` declared as `_sdc_deleted_at` (same type and place), no
/// `required` properties and nullable `key` properties; other schemas unchanged.
pub fn schema(mut schema: Value, key: &[&str]) -> Value {
    let has_tombstones = schema
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| p.contains_key(DELETED_AT));
    if has_tombstones {
        if let Some(m) = schema.as_object_mut() {
            m.remove("required");
        }
    }
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        if has_tombstones {
            for k in key {
                if let Some(Value::Object(p)) = props.get_mut(*k) {
                    nullable(p);
                }
            }
            *props = std::mem::take(props)
                .into_iter()
                .map(|(k, v)| {
                    if k == DELETED_AT {
                        (SDC_DELETED_AT.to_string(), v)
                    } else {
                        (k, v)
                    }
                })
                .collect();
        }
    }
    schema
}

fn nullable(p: &mut Map<String, Value>) {
    match p.get_mut("type") {
        Some(Value::String(t)) if t != "null" => {
            let t = std::mem::take(t);
            p.insert("type".into(), json!(["null", t]));
        }
        Some(Value::Array(ts)) if !ts.iter().any(|t| t == "null") => ts.insert(0, json!("null")),
        _ => {}
    }
}

/// Renames the column of a tombstone (live rows do not carry it) and gives it every `key` property,
/// null where it has none (a scoped tombstone).
pub fn rename(mut record: Map<String, Value>, key: &[String]) -> Map<String, Value> {
    if let Some(v) = record.remove(DELETED_AT) {
        for k in key {
            record.entry(k.clone()).or_insert(Value::Null);
        }
        record.insert(SDC_DELETED_AT.to_string(), v);
    }
    record
}

/// The record transform of a stream with tombstones: the rename, then `then` (stream maps, which see
/// the Singer names).
pub fn transform(key: Vec<String>, then: Option<RecordTransform>) -> RecordTransform {
    match then {
        None => Arc::new(move |r| rename(r, &key)),
        Some(f) => Arc::new(move |r| f(rename(r, &key))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_column_is_renamed_in_place_in_the_schema_and_in_records() {
        let s = schema(
            json!({"required": ["id", "z"], "properties": {
                "id": {"type": "string"}, DELETED_AT: {"type": ["null", "string"]}, "z": {}
            }}),
            &["id"],
        );
        let keys: Vec<&String> = s["properties"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", SDC_DELETED_AT, "z"]);
        assert_eq!(
            s["properties"][SDC_DELETED_AT]["type"],
            json!(["null", "string"])
        );
        assert!(s.get("required").is_none(), "a tombstone has only its key");
        assert_eq!(s["properties"]["id"]["type"], json!(["null", "string"]));
        let live_only = json!({"required": ["id"], "properties": {"id": {"type": "string"}}});
        assert_eq!(schema(live_only.clone(), &["id"]), live_only);

        let t = transform(vec!["g".into(), "id".into()], None);
        let tombstone = json!({"id": "u1", DELETED_AT: "2026-01-01T00:00:00.000Z"});
        assert_eq!(
            Value::Object(t(tombstone.as_object().unwrap().clone())),
            json!({"id": "u1", "g": null, SDC_DELETED_AT: "2026-01-01T00:00:00.000Z"})
        );
        let live = json!({"id": "u2"}).as_object().unwrap().clone();
        assert_eq!(t(live.clone()), live, "a live row is left alone");
    }
}
