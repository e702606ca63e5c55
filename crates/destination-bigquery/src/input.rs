//! What arrives on stdin: a bounded line reader. The messages on those lines (Airbyte RECORD, STATE, TRACE;
//! Singer SCHEMA, RECORD, STATE) are read by the protocol crate's tolerant readers, re-exported here, which
//! also describe bad lines without quoting their content. Unknown keys are ignored; message types a
//! destination does not act on are skipped.

use crate::encoder::RawRecord;
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Default for the longest input line accepted: BigQuery's maximum row size for JSON load jobs (100 MB).
pub const DEFAULT_MAX_LINE_BYTES: usize = 100 * 1024 * 1024;

// The message readers are the protocol crate's, shared with the source's state loading.
pub use airbyte_protocol::reader::{
    describe_json_error, state_stream, stream_status, AirbyteIn, AirbyteRecordIn, SingerIn,
    AIRBYTE_IGNORED, SINGER_IGNORED,
};

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
            let (take, end) = match memchr::memchr(b'\n', available) {
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

/// A RECORD line read in one pass: the record's `data` is split into its top-level fields while the
/// message is parsed (its values stay raw text borrowed from the line), and names are borrowed. It reads
/// exactly what [`AirbyteIn`] reads; any line it does not take (another message type, a malformed line)
/// is read again by [`AirbyteIn`], which reports what is wrong.
#[derive(Debug, Deserialize)]
struct RecordLine<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    record: Option<RecordIn<'a>>,
    // Read (and checked) as `AirbyteIn` reads them, so that a line one reader takes the other takes too.
    #[serde(default)]
    #[allow(dead_code)]
    state: Option<Value>,
    #[serde(default)]
    #[allow(dead_code)]
    trace: Option<Value>,
}

/// The record of a RECORD line, as [`record_line`] reads it.
#[derive(Debug, Deserialize)]
pub struct RecordIn<'a> {
    #[serde(borrow)]
    pub stream: Cow<'a, str>,
    #[serde(default, borrow)]
    pub namespace: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub data: RawRecord<'a>,
    /// Milliseconds; hosts may send a float.
    #[serde(default)]
    pub emitted_at: Option<f64>,
    #[serde(default)]
    pub meta: Option<Value>,
}

/// The record of an Airbyte RECORD line whose `data` is an object; `None` for anything else (the caller
/// then reads the line with [`AirbyteIn`]).
pub fn record_line(text: &str) -> Option<RecordIn<'_>> {
    let line: RecordLine<'_> = serde_json::from_str(text).ok()?;
    if line.kind != "RECORD" {
        return None;
    }
    line.record
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoder::Fields;

    #[test]
    fn record_line_reads_what_airbyte_in_reads() {
        let takes = [
            r#"{"type":"RECORD","record":{"stream":"users","data":{"id":"u1","n":1,"o":{"a":[1]}},"emitted_at":1700000000000}}"#,
            r#"{"record":{"namespace":"ns","stream":"us\u0065rs","data":{"a\u0062":2,"b":1,"b":3},"emitted_at":1.5e3,"meta":{"changes":[{"field":"x"}]}},"type":"RECORD","extra":[1]}"#,
            r#"{"type":"RECORD","record":{"stream":"s","data":{}},"state":null}"#,
        ];
        for line in takes {
            let fast = record_line(line).expect(line);
            let general: AirbyteIn = serde_json::from_str(line).unwrap();
            let r = general.record.unwrap();
            let data = RawRecord::parse(r.data).unwrap();
            assert_eq!(fast.stream, r.stream.as_str());
            assert_eq!(fast.namespace.as_deref(), r.namespace.as_deref());
            assert_eq!(fast.emitted_at, r.emitted_at);
            assert_eq!(fast.meta, r.meta);
            assert_eq!(fast.data.field_names(), data.field_names());
            for (name, v) in data.entries() {
                let f = fast.data.field(name).unwrap();
                assert_eq!(format!("{f:?}"), format!("{v:?}"), "{line}");
            }
        }
        // Everything else is left to `AirbyteIn`, which names the fault.
        for line in [
            r#"{"type":"STATE","state":{"type":"LEGACY","data":{}}}"#,
            r#"{"type":"RECORD","record":{"stream":"s","data":[1]}}"#,
            r#"{"type":"RECORD","record":{"stream":"s"}}"#,
            r#"{"type":"RECORD"}"#,
            r#"{"type":"RECORD","record":{"stream":"s","data":{"a":1}"#,
            r#"{"type":"RECORD","record":{"stream":"s","data":{"a":1}}} x"#,
            r#"{"type":"RECORD","record":{"stream":"s","data":{"a":1},"data":{}}}"#,
        ] {
            assert!(record_line(line).is_none(), "{line}");
        }
    }
}
