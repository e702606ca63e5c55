//! Tolerant readers of what arrives on stdin: Airbyte messages (RECORD, STATE, TRACE) and Singer messages
//! (SCHEMA, RECORD, STATE). Unknown keys are ignored; other message types are skipped.

use serde::Deserialize;
use serde_json::{Map, Value};

/// One Airbyte message. The record's `data` stays raw JSON borrowed from the line (see
/// [`crate::encoder::RawRecord`]), so nested objects are never built as trees.
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
    #[serde(default)]
    pub emitted_at: Option<f64>,
    #[serde(default)]
    pub meta: Option<Value>,
}

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

/// The stream a per-stream Airbyte STATE belongs to: `(namespace, name)`.
pub fn state_stream(state: &Value) -> Option<(Option<&str>, &str)> {
    if state.get("type").and_then(Value::as_str) != Some("STREAM") {
        return None;
    }
    let d = state.pointer("/stream/stream_descriptor")?;
    Some((
        d.get("namespace").and_then(Value::as_str),
        d.get("name")?.as_str()?,
    ))
}

/// `(namespace, name, status)` of a TRACE STREAM_STATUS.
pub fn stream_status(trace: &Value) -> Option<(Option<&str>, &str, &str)> {
    let s = trace.get("stream_status")?;
    let d = s.get("stream_descriptor")?;
    Some((
        d.get("namespace").and_then(Value::as_str),
        d.get("name")?.as_str()?,
        s.get("status")?.as_str()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_airbyte_messages_tolerantly() {
        let m: AirbyteIn = serde_json::from_str(
            r#"{"type":"RECORD","record":{"stream":"users","namespace":null,"data":{"id":"1"},"emitted_at":5.0},"x":1}"#,
        )
        .unwrap();
        assert_eq!(m.record.unwrap().emitted_at, Some(5.0));
        let st = json!({"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":null},"stream_state":{}}});
        assert_eq!(state_stream(&st), Some((None, "users")));
        assert_eq!(state_stream(&json!({"type":"GLOBAL"})), None);
        let tr = json!({"type":"STREAM_STATUS","stream_status":{"stream_descriptor":{"name":"users"},"status":"COMPLETE"}});
        assert_eq!(stream_status(&tr), Some((None, "users", "COMPLETE")));
    }
}
