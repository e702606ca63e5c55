//! The one tolerant reader of what a connector is given: input state documents (for a source's
//! `--state`) and message lines (for a destination's stdin), Airbyte or Singer.
//!
//! State arrives in many shapes: a list of AirbyteStateMessage (per-stream, GLOBAL or LEGACY), one such
//! message, a whole envelope line (`{"type":"STATE","state":{…}}`), a legacy object keyed by stream name, or
//! a Singer state (`{"bookmarks":{…}}`). Hosts add explicit nulls, unknown keys and float counts
//! (PyAirbyte re-serialises our own STATE with `global_: null`, `sourceStats.recordCount: 3.0`). All of
//! that reads into one map of stream name → stream state, and every message reader ignores unknown keys.

use crate::{InputStateEntry, StreamDescriptor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Stream name → that stream's saved state object.
pub type StreamStates = HashMap<String, Value>;

/// Reads a state document in any of the accepted shapes. An empty document or `null` is no state.
pub fn read_states(text: &str) -> Result<StreamStates, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(StreamStates::new());
    }
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let mut out = StreamStates::new();
    match doc {
        Value::Null => {}
        Value::Array(entries) => {
            for e in entries {
                add_entry(e, &mut out)?;
            }
        }
        Value::Object(ref m)
            if m.contains_key("type") || m.contains_key("stream") || m.contains_key("global") =>
        {
            add_entry(doc, &mut out)?;
        }
        Value::Object(m) if m.contains_key("bookmarks") => match m.get("bookmarks") {
            Some(Value::Object(b)) => add_legacy(b, &mut out),
            Some(Value::Null) | None => {}
            Some(_) => return Err("`bookmarks` must be an object".into()),
        },
        Value::Object(m) => add_legacy(&m, &mut out),
        _ => return Err("expected an array of state messages or an object".into()),
    }
    Ok(out)
}

fn add_legacy(m: &Map<String, Value>, out: &mut StreamStates) {
    for (k, v) in m {
        if v.is_object() {
            out.insert(k.clone(), v.clone());
        }
    }
}

/// The state message inside an envelope line (`{"type":"STATE","state":{…}}`), or the value itself.
fn unwrap_envelope(e: Value) -> Value {
    match e {
        Value::Object(mut m)
            if m.get("type").and_then(Value::as_str) == Some("STATE")
                && m.contains_key("state") =>
        {
            m.remove("state").unwrap_or_default()
        }
        other => other,
    }
}

fn add_entry(e: Value, out: &mut StreamStates) -> Result<(), String> {
    let entry: InputStateEntry =
        serde_json::from_value(unwrap_envelope(e)).map_err(|e| format!("bad state entry: {e}"))?;
    match entry
        .state_type
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("GLOBAL") => {
            for s in entry.global.map(|g| g.stream_states).unwrap_or_default() {
                if let Some(v) = s.stream_state.filter(Value::is_object) {
                    out.insert(s.stream_descriptor.name, v);
                }
            }
        }
        Some("LEGACY") => {
            if let Some(Value::Object(m)) = entry.data {
                add_legacy(&m, out);
            }
        }
        _ => {
            if let Some(s) = entry.stream {
                if let Some(v) = s.stream_state.filter(Value::is_object) {
                    out.insert(s.stream_descriptor.name, v);
                }
            } else if let Some(Value::Object(m)) = entry.data {
                add_legacy(&m, out);
            } else {
                return Err("a state entry has neither `stream`, `global` nor `data`".into());
            }
        }
    }
    Ok(())
}

/// The stream a per-stream Airbyte state message (the `state` of a STATE line) belongs to; `None` for
/// GLOBAL and LEGACY states. Read with the same tolerance as [`read_states`].
pub fn state_stream(state: &Value) -> Option<StreamDescriptor> {
    let entry = InputStateEntry::deserialize(state).ok()?;
    if !entry
        .state_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("STREAM"))
    {
        return None;
    }
    entry.stream.map(|s| s.stream_descriptor)
}

/// Airbyte message types a destination may receive and ignore.
pub const AIRBYTE_IGNORED: &[&str] = &[
    "LOG",
    "SPEC",
    "CONNECTION_STATUS",
    "CATALOG",
    "CONTROL",
    "DESTINATION_CATALOG",
];

/// Singer message types a target may receive and ignore.
pub const SINGER_IGNORED: &[&str] = &["ACTIVATE_VERSION", "BATCH"];

/// One Airbyte message line. The record's `data` stays raw JSON borrowed from the line, so a destination
/// never builds nested objects as trees; `state` and `trace` are kept as they came.
#[derive(Debug, Deserialize)]
pub struct AirbyteIn<'a> {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, borrow)]
    pub record: Option<AirbyteRecordIn<'a>>,
    #[serde(default)]
    pub state: Option<Value>,
    #[serde(default)]
    pub trace: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct AirbyteRecordIn<'a> {
    pub stream: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(borrow)]
    pub data: &'a serde_json::value::RawValue,
    /// Milliseconds; hosts may send a float.
    #[serde(default)]
    pub emitted_at: Option<f64>,
    #[serde(default)]
    pub meta: Option<Value>,
}

/// One Singer message line (SCHEMA, RECORD, STATE, or a type a target ignores).
#[derive(Debug, Deserialize)]
pub struct SingerIn {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub stream: Option<String>,
    #[serde(default)]
    pub record: Option<Map<String, Value>>,
    #[serde(default)]
    pub schema: Option<Value>,
    #[serde(default)]
    pub key_properties: Option<Vec<String>>,
    #[serde(default)]
    pub bookmark_properties: Option<Vec<String>>,
    #[serde(default)]
    pub value: Option<Value>,
    #[serde(default)]
    pub time_extracted: Option<String>,
}

/// `(stream, status)` of a TRACE STREAM_STATUS (the `trace` of a TRACE line), status as sent.
pub fn stream_status(trace: &Value) -> Option<(StreamDescriptor, &str)> {
    let s = trace.get("stream_status")?;
    let d = StreamDescriptor::deserialize(s.get("stream_descriptor")?).ok()?;
    Some((d, s.get("status")?.as_str()?))
}

/// Says why a line is not a message of the expected shape, without quoting any of its content: serde's
/// "invalid type: string \"…\"" would print a record value, so values are cut out.
pub fn describe_json_error(e: &serde_json::Error, what: &str) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => format!(
            "the line ends in the middle of a JSON value at column {} (truncated?)",
            e.column()
        ),
        Category::Syntax => format!("not valid JSON (syntax error at column {})", e.column()),
        Category::Io => format!("cannot read the line: {e}"),
        Category::Data => {
            let text = e.to_string();
            let text = text.split(" at line ").next().unwrap_or_default();
            let text = if text.starts_with("invalid type") || text.starts_with("invalid value") {
                // "invalid type: string \"secret\", expected a map" -> "invalid type, expected a map"
                let head = text.split(':').next().unwrap_or_default();
                match text.rsplit_once(", expected") {
                    Some((_, expected)) => format!("{head}, expected{expected}"),
                    None => head.to_string(),
                }
            } else if text.starts_with("missing field") {
                text.to_string()
            } else {
                "unexpected shape".to_string()
            };
            format!("not {what}: {text} (at column {})", e.column())
        }
    }
}

/// Reads an explicit `null` as the type's default (`deserialize_with` of the tolerant input types, which
/// hosts fill with nulls: `"stream_states": null`, `"metadata": null`).
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::singer::SingerMessage;
    use crate::{AirbyteMessage, StateMessage, StateStats, StateType, StreamState};
    use serde_json::json;

    #[test]
    fn states_in_every_shape() {
        assert!(read_states("[]").unwrap().is_empty());
        assert!(read_states("").unwrap().is_empty());
        assert!(read_states("null").unwrap().is_empty());
        let s = read_states(
            r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":null},
            "stream_state":{"lastUpdated":"2024-01-01T00:00:00.000Z"}},"global_":null,"data":null,
            "sourceStats":{"recordCount":3.0},"destinationStats":null}]"#,
        )
        .unwrap();
        assert_eq!(s["users"]["lastUpdated"], "2024-01-01T00:00:00.000Z");
        let s = read_states(
            r#"{"type":"GLOBAL","global":{"shared_state":{},"stream_states":[
            {"stream_descriptor":{"name":"groups"},"stream_state":{"lastUpdated":"x"}}]}}"#,
        )
        .unwrap();
        assert_eq!(s["groups"]["lastUpdated"], "x");
        let s = read_states(r#"[{"type":"LEGACY","data":{"apps":{"k":1},"junk":3}}]"#).unwrap();
        assert_eq!((s["apps"]["k"].as_i64(), s.len()), (Some(1), 1));
        let s = read_states(r#"{"users":{"lastUpdated":"y"}}"#).unwrap();
        assert_eq!(s["users"]["lastUpdated"], "y");
        let s = read_states(r#"{"bookmarks":{"users":{"lastUpdated":"z"}}}"#).unwrap();
        assert_eq!(s["users"]["lastUpdated"], "z");
        let s = read_states(r#"[{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"k":1}}}}]"#).unwrap();
        assert_eq!(s["a"]["k"], 1);
    }

    #[test]
    fn states_we_write_read_back() {
        // Airbyte: our own STATE line, as an envelope and as the bare state message.
        let msg = AirbyteMessage::State {
            state: StateMessage {
                state_type: StateType::Stream,
                stream: StreamState {
                    stream_descriptor: StreamDescriptor::named("users"),
                    stream_state: json!({"lastUpdated": "t"}),
                },
                source_stats: Some(StateStats { record_count: 2.0 }),
            },
        };
        let line = serde_json::to_string(&msg).unwrap();
        assert_eq!(read_states(&line).unwrap()["users"]["lastUpdated"], "t");
        let AirbyteMessage::State { state } = &msg else {
            unreachable!()
        };
        let bare = serde_json::to_value(state).unwrap();
        assert_eq!(state_stream(&bare), Some(StreamDescriptor::named("users")));
        let list = format!("[{bare}]");
        assert_eq!(read_states(&list).unwrap()["users"]["lastUpdated"], "t");
        // Singer: the `value` of our last STATE.
        let SingerMessage::State { value } = SingerMessage::bookmarks(
            json!({"users": {"lastUpdated": "u"}})
                .as_object()
                .unwrap()
                .clone(),
        ) else {
            unreachable!()
        };
        assert_eq!(
            read_states(&value.to_string()).unwrap()["users"]["lastUpdated"],
            "u"
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(read_states("not json").is_err());
        assert!(read_states("42").is_err());
        assert!(read_states(r#"[{"type":"STREAM"}]"#).is_err());
        assert!(read_states(r#"{"bookmarks":[1]}"#).is_err());
    }

    #[test]
    fn reads_airbyte_messages_tolerantly() {
        let m: AirbyteIn = serde_json::from_str(
            r#"{"type":"RECORD","record":{"stream":"users","namespace":null,"data":{"id":"1"},"emitted_at":5.0},"x":1}"#,
        )
        .unwrap();
        let r = m.record.unwrap();
        assert_eq!((r.emitted_at, r.data.get()), (Some(5.0), r#"{"id":"1"}"#));
        let st = json!({"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":null},"stream_state":{}},"global_":null});
        assert_eq!(state_stream(&st), Some(StreamDescriptor::named("users")));
        assert_eq!(state_stream(&json!({"type":"GLOBAL"})), None);
        assert_eq!(state_stream(&json!({"type":"STREAM"})), None);
        let tr = json!({"type":"STREAM_STATUS","stream_status":{"stream_descriptor":{"name":"users","namespace":"n"},"status":"COMPLETE"}});
        let (d, status) = stream_status(&tr).unwrap();
        assert_eq!(
            (d.name.as_str(), d.namespace.as_deref(), status),
            ("users", Some("n"), "COMPLETE")
        );
    }

    #[test]
    fn json_errors_never_quote_values() {
        let e = serde_json::from_str::<SingerIn>(r#"{"type":"RECORD","record":"hunter2"}"#)
            .unwrap_err();
        let d = describe_json_error(&e, "a Singer message");
        assert!(!d.contains("hunter2") && d.contains("invalid type"), "{d}");
    }
}
