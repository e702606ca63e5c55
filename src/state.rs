//! Input state: reads per-stream, GLOBAL, legacy and Singer (`{"bookmarks":…}`) state documents into one
//! map of stream name → stream state, tolerating the nulls, extra keys and float counts hosts add.

use crate::error::{Error, Result};
use airbyte_protocol::InputStateEntry;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Stream name → that stream's saved state object.
pub type StreamStates = HashMap<String, Value>;

pub fn read_file(path: &std::path::Path) -> Result<StreamStates> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Input(format!(
            "cannot read the state file {}: {e}",
            path.display()
        ))
    })?;
    parse(&text)
        .map_err(|e| Error::Input(format!("the state file {} is invalid: {e}", path.display())))
}

/// Parses a state document in any of the accepted shapes.
pub fn parse(text: &str) -> std::result::Result<StreamStates, String> {
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

fn add_entry(e: Value, out: &mut StreamStates) -> std::result::Result<(), String> {
    // Entries may be whole AirbyteMessages ({"type":"STATE","state":{…}}).
    let e = match e {
        Value::Object(mut m)
            if m.get("type").and_then(Value::as_str) == Some("STATE")
                && m.contains_key("state") =>
        {
            m.remove("state").unwrap_or_default()
        }
        other => other,
    };
    let entry: InputStateEntry =
        serde_json::from_value(e).map_err(|e| format!("bad state entry: {e}"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_shape() {
        assert!(parse("[]").unwrap().is_empty());
        assert!(parse("").unwrap().is_empty());
        let s = parse(
            r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":null},
            "stream_state":{"lastUpdated":"2024-01-01T00:00:00.000Z"}},"global_":null,"data":null,
            "sourceStats":{"recordCount":3.0},"destinationStats":null}]"#,
        )
        .unwrap();
        assert_eq!(s["users"]["lastUpdated"], "2024-01-01T00:00:00.000Z");
        let s = parse(
            r#"{"type":"GLOBAL","global":{"shared_state":{},"stream_states":[
            {"stream_descriptor":{"name":"groups"},"stream_state":{"lastUpdated":"x"}}]}}"#,
        )
        .unwrap();
        assert_eq!(s["groups"]["lastUpdated"], "x");
        let s = parse(r#"{"users":{"lastUpdated":"y"}}"#).unwrap();
        assert_eq!(s["users"]["lastUpdated"], "y");
        let s = parse(r#"{"bookmarks":{"users":{"lastUpdated":"z"}}}"#).unwrap();
        assert_eq!(s["users"]["lastUpdated"], "z");
        let s = parse(r#"[{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"k":1}}}}]"#).unwrap();
        assert_eq!(s["a"]["k"], 1);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse("not json").is_err());
        assert!(parse("42").is_err());
        assert!(parse(r#"[{"type":"STREAM"}]"#).is_err());
    }
}
