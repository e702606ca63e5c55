//! What arrives on stdin: a bounded line reader, tolerant readers of Airbyte messages (RECORD, STATE, TRACE)
//! and Singer messages (SCHEMA, RECORD, STATE), and descriptions of bad lines that never quote their content.
//! Unknown keys are ignored; message types of the protocol that a destination does not act on are skipped.

use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Default for the longest input line accepted: BigQuery's maximum row size for JSON load jobs (100 MB).
pub const DEFAULT_MAX_LINE_BYTES: usize = 100 * 1024 * 1024;

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

/// Why a line could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the line is longer than {max} bytes (the limit is `max_record_size_mb`)")]
    TooLong { max: usize },
    #[error("cannot read stdin: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads lines of at most `max` bytes (without the newline), never holding more than that in memory.
/// Cancel-safe: a partial line survives a cancelled `next_line` (it is used inside `select!`).
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    max: usize,
    /// The buffer holds a line that was returned and must be cleared first.
    returned: bool,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    pub fn new(inner: R, max: usize) -> Self {
        LineReader {
            inner,
            buf: Vec::new(),
            max,
            returned: false,
        }
    }

    /// The next line without its `\n` (a final line without one included); `None` at the end of input.
    pub async fn next_line(&mut self) -> Result<Option<&[u8]>, ReadError> {
        if self.returned {
            self.buf.clear();
            self.returned = false;
        }
        loop {
            let available = self.inner.fill_buf().await?;
            if available.is_empty() {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                self.returned = true;
                return Ok(Some(&self.buf));
            }
            let (take, end) = match available.iter().position(|b| *b == b'\n') {
                Some(i) => (i, Some(i + 1)),
                None => (available.len(), None),
            };
            if self.buf.len() + take > self.max {
                return Err(ReadError::TooLong { max: self.max });
            }
            self.buf.extend_from_slice(&available[..take]);
            self.inner.consume(end.unwrap_or(take));
            if end.is_some() {
                if self.buf.last() == Some(&b'\r') {
                    self.buf.pop();
                }
                self.returned = true;
                return Ok(Some(&self.buf));
            }
        }
    }
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
