//! The protocol output: owns stdout, speaks Airbyte or Singer, and keeps each stream's records in order with
//! the STATE that covers them. Every message is one whole line; STATE flushes.
//!
//! Records travel as raw JSON text from the Okta response to stdout (parent-id columns are spliced in
//! front), so a record is parsed once and never re-encoded unless Singer field selection drops fields.

use crate::error::{Error, Result};
use airbyte_protocol::singer::SingerMessage;
use airbyte_protocol::{
    AirbyteMessage, ErrorTrace, EstimateTrace, EstimateType, FailureType, LogLevel, LogMessage,
    MessageWriter, StateMessage, StateStats, StateType, StreamDescriptor, StreamState,
    StreamStatus, StreamStatusTrace, TraceBody, TraceMessage,
};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// One record ready to print: its raw JSON object text, and columns to add in front (`"app_id":"0oa1"`).
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub raw: &'a str,
    pub prefix: Option<&'a str>,
}

/// What Singer mode needs per stream.
#[derive(Debug, Clone)]
pub struct SingerStream {
    pub schema: Value,
    pub key_properties: Vec<String>,
    pub bookmark_properties: Vec<String>,
    /// Fields to keep; `None` keeps all.
    pub selected_fields: Option<HashSet<String>>,
}

pub enum Protocol {
    Airbyte,
    Singer(HashMap<String, SingerStream>),
}

struct Inner {
    w: MessageWriter<Box<dyn Write + Send>>,
    schemas_sent: HashSet<String>,
    bookmarks: Map<String, Value>,
    closed: bool,
}

pub struct Output {
    protocol: Protocol,
    inner: Mutex<Inner>,
}

static GLOBAL: OnceLock<Arc<Output>> = OnceLock::new();

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Output {
    pub fn new(protocol: Protocol, sink: Box<dyn Write + Send>) -> Arc<Self> {
        Arc::new(Self {
            protocol,
            inner: Mutex::new(Inner {
                w: MessageWriter::new(sink),
                schemas_sent: HashSet::new(),
                bookmarks: Map::new(),
                closed: false,
            }),
        })
    }

    /// Makes this output the target of LOG messages forwarded from `tracing`.
    pub fn install_global(self: &Arc<Self>) {
        let _ = GLOBAL.set(self.clone());
    }

    pub fn global() -> Option<&'static Arc<Output>> {
        GLOBAL.get()
    }

    pub fn is_airbyte(&self) -> bool {
        matches!(self.protocol, Protocol::Airbyte)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn guard(
        inner: &mut Inner,
        r: std::result::Result<(), airbyte_protocol::WriteError>,
    ) -> Result<()> {
        if let Err(e) = r {
            let e = Error::from(e);
            if matches!(e, Error::OutputClosed) {
                inner.closed = true;
            }
            return Err(e);
        }
        Ok(())
    }

    /// Prints records of one stream, in order.
    pub fn records<'a>(
        &self,
        stream: &str,
        rows: impl IntoIterator<Item = Row<'a>>,
    ) -> Result<u64> {
        let mut inner = self.lock();
        if inner.closed {
            return Err(Error::OutputClosed);
        }
        let mut n = 0;
        match &self.protocol {
            Protocol::Airbyte => {
                let head = format!(
                    "{{\"type\":\"RECORD\",\"record\":{{\"stream\":{},\"data\":",
                    json_str(stream)
                );
                let tail = format!(",\"emitted_at\":{}}}}}", now_ms());
                for row in rows {
                    let r = write_spliced(&mut inner.w, head.as_bytes(), row, tail.as_bytes());
                    Self::guard(&mut inner, r)?;
                    n += 1;
                }
            }
            Protocol::Singer(streams) => {
                let meta = streams.get(stream);
                if !inner.schemas_sent.contains(stream) {
                    if let Some(m) = meta {
                        let msg = SingerMessage::Schema {
                            stream: stream.to_string(),
                            schema: m.schema.clone(),
                            key_properties: m.key_properties.clone(),
                            bookmark_properties: m.bookmark_properties.clone(),
                        };
                        let r = inner.w.write(&msg);
                        Self::guard(&mut inner, r)?;
                    }
                    inner.schemas_sent.insert(stream.to_string());
                }
                let head = format!(
                    "{{\"type\":\"RECORD\",\"stream\":{},\"record\":",
                    json_str(stream)
                );
                let tail = format!(
                    ",\"time_extracted\":{}}}",
                    json_str(
                        &chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                    )
                );
                let selected = meta.and_then(|m| m.selected_fields.as_ref());
                for row in rows {
                    let r = match selected {
                        None => write_spliced(&mut inner.w, head.as_bytes(), row, tail.as_bytes()),
                        Some(keep) => match project(row, keep) {
                            Ok(text) => write_spliced(
                                &mut inner.w,
                                head.as_bytes(),
                                Row {
                                    raw: &text,
                                    prefix: None,
                                },
                                tail.as_bytes(),
                            ),
                            Err(e) => {
                                return Err(Error::Output(format!(
                                    "cannot project a {stream} record: {e}"
                                )))
                            }
                        },
                    };
                    Self::guard(&mut inner, r)?;
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    /// Prints a stream's STATE (after every record it covers) and flushes.
    pub fn state(&self, stream: &str, state: &Value, record_count: u64) -> Result<()> {
        let mut inner = self.lock();
        if inner.closed {
            return Err(Error::OutputClosed);
        }
        let r = match &self.protocol {
            Protocol::Airbyte => inner.w.write(&AirbyteMessage::State {
                state: StateMessage {
                    state_type: StateType::Stream,
                    stream: StreamState {
                        stream_descriptor: StreamDescriptor::named(stream),
                        stream_state: state.clone(),
                    },
                    source_stats: Some(StateStats {
                        record_count: record_count as f64,
                    }),
                },
            }),
            Protocol::Singer(_) => {
                inner.bookmarks.insert(stream.to_string(), state.clone());
                let value = serde_json::json!({"bookmarks": inner.bookmarks.clone()});
                inner.w.write(&SingerMessage::State { value })
            }
        };
        Self::guard(&mut inner, r)?;
        let r = inner.w.flush();
        Self::guard(&mut inner, r)
    }

    /// Seeds Singer bookmarks with the input state so every STATE carries all streams.
    pub fn seed_bookmarks(&self, bookmarks: Map<String, Value>) {
        self.lock().bookmarks = bookmarks;
    }

    /// Prints any Airbyte message (SPEC, CATALOG, CONNECTION_STATUS…) and flushes.
    pub fn message(&self, msg: &AirbyteMessage) -> Result<()> {
        let mut inner = self.lock();
        let r = inner.w.write(msg);
        Self::guard(&mut inner, r)?;
        let r = inner.w.flush();
        Self::guard(&mut inner, r)
    }

    fn trace(&self, body: TraceBody) -> Result<()> {
        if !self.is_airbyte() {
            return Ok(());
        }
        self.message(&AirbyteMessage::Trace {
            trace: TraceMessage {
                emitted_at: now_ms() as f64,
                body,
            },
        })
    }

    pub fn stream_status(&self, stream: &str, status: StreamStatus) -> Result<()> {
        self.trace(TraceBody::StreamStatus {
            stream_status: StreamStatusTrace {
                stream_descriptor: StreamDescriptor::named(stream),
                status,
            },
        })
    }

    pub fn estimate(&self, stream: &str, rows: u64) -> Result<()> {
        self.trace(TraceBody::Estimate {
            estimate: EstimateTrace {
                name: stream.to_string(),
                namespace: None,
                estimate_type: EstimateType::Stream,
                row_estimate: Some(rows),
                byte_estimate: None,
            },
        })
    }

    /// The one TRACE error of a failed run.
    pub fn error(
        &self,
        message: String,
        internal: String,
        failure_type: FailureType,
        stream: Option<&str>,
    ) -> Result<()> {
        self.trace(TraceBody::Error {
            error: ErrorTrace {
                message,
                internal_message: Some(internal),
                stack_trace: None,
                failure_type,
                stream_descriptor: stream.map(StreamDescriptor::named),
            },
        })
    }

    /// A LOG message (Airbyte mode only; Singer has none and logs go to stderr).
    pub fn log(&self, level: LogLevel, message: String) {
        if !self.is_airbyte() {
            return;
        }
        let mut inner = self.lock();
        if inner.closed {
            return;
        }
        let r = inner.w.write(&AirbyteMessage::Log {
            log: LogMessage { level, message },
        });
        let _ = Self::guard(&mut inner, r);
    }

    pub fn flush(&self) -> Result<()> {
        let mut inner = self.lock();
        if inner.closed {
            return Err(Error::OutputClosed);
        }
        let r = inner.w.flush();
        Self::guard(&mut inner, r)
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn write_spliced(
    w: &mut MessageWriter<Box<dyn Write + Send>>,
    head: &[u8],
    row: Row<'_>,
    tail: &[u8],
) -> std::result::Result<(), airbyte_protocol::WriteError> {
    let raw = row.raw.trim();
    match row.prefix {
        None => w.write_raw_line(&[head, raw.as_bytes(), tail]),
        Some(prefix) => {
            let body = raw.strip_prefix('{').unwrap_or(raw);
            let sep: &[u8] = if body.trim_start().starts_with('}') {
                b""
            } else {
                b","
            };
            w.write_raw_line(&[head, b"{", prefix.as_bytes(), sep, body.as_bytes(), tail])
        }
    }
}

/// Re-encodes a row keeping only the selected top-level fields.
fn project(row: Row<'_>, keep: &HashSet<String>) -> serde_json::Result<String> {
    let full = match row.prefix {
        None => row.raw.to_string(),
        Some(p) => {
            let body = row.raw.trim().strip_prefix('{').unwrap_or(row.raw);
            let sep = if body.trim_start().starts_with('}') {
                ""
            } else {
                ","
            };
            format!("{{{p}{sep}{body}")
        }
    };
    let mut obj: Map<String, Value> = serde_json::from_str(&full)?;
    obj.retain(|k, _| keep.contains(k));
    serde_json::to_string(&obj)
}

/// A `tracing` layer that forwards INFO and above as Airbyte LOG messages.
pub struct LogLayer;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for LogLayer {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let Some(out) = Output::global() else { return };
        let level = match *event.metadata().level() {
            tracing::Level::ERROR => LogLevel::Error,
            tracing::Level::WARN => LogLevel::Warn,
            tracing::Level::INFO => LogLevel::Info,
            _ => return,
        };
        let mut v = MessageVisitor::default();
        event.record(&mut v);
        out.log(level, v.finish());
    }
}

#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: Vec<String>,
}

impl tracing::field::Visit for MessageVisitor {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.fields.push(format!("{}={value:?}", field.name()));
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.fields.push(format!("{}={value}", field.name()));
        }
    }
}

impl MessageVisitor {
    fn finish(self) -> String {
        if self.fields.is_empty() {
            self.message
        } else {
            format!("{} ({})", self.message, self.fields.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn splices_parent_columns_into_raw_records() {
        let buf = Buf::default();
        let out = Output::new(Protocol::Airbyte, Box::new(buf.clone()));
        out.records(
            "application_users",
            [
                Row {
                    raw: r#"{"id":"00u1","scope":"USER"}"#,
                    prefix: Some(r#""app_id":"0oa1""#),
                },
                Row {
                    raw: "{}",
                    prefix: Some(r#""app_id":"0oa2""#),
                },
            ],
        )
        .unwrap();
        out.flush().unwrap();
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<AirbyteMessage> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let AirbyteMessage::Record { record } = &lines[0] else {
            panic!()
        };
        assert_eq!(
            record.data,
            serde_json::json!({"app_id":"0oa1","id":"00u1","scope":"USER"})
        );
        let AirbyteMessage::Record { record } = &lines[1] else {
            panic!()
        };
        assert_eq!(record.data, serde_json::json!({"app_id":"0oa2"}));
    }

    #[test]
    fn singer_schema_precedes_records_and_state_holds_all_bookmarks() {
        let buf = Buf::default();
        let mut streams = HashMap::new();
        streams.insert(
            "users".to_string(),
            SingerStream {
                schema: serde_json::json!({"type":"object"}),
                key_properties: vec!["id".into()],
                bookmark_properties: vec![],
                selected_fields: Some(["id".to_string()].into_iter().collect()),
            },
        );
        let out = Output::new(Protocol::Singer(streams), Box::new(buf.clone()));
        out.seed_bookmarks(
            serde_json::json!({"groups": {"x": 1}})
                .as_object()
                .unwrap()
                .clone(),
        );
        out.records(
            "users",
            [Row {
                raw: r#"{"id":"1","secret":"x"}"#,
                prefix: None,
            }],
        )
        .unwrap();
        out.state("users", &serde_json::json!({"c": 2}), 1).unwrap();
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["type"], "SCHEMA");
        assert_eq!(lines[1]["record"], serde_json::json!({"id":"1"}));
        assert_eq!(
            lines[2]["value"]["bookmarks"],
            serde_json::json!({"groups":{"x":1},"users":{"c":2}})
        );
    }
}
