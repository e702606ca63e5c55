//! The protocol output: owns stdout, speaks Airbyte or Singer, and keeps each stream's records in order with
//! the STATE that covers them. Every message is one whole line; STATE flushes.
//!
//! Records travel as raw JSON text from the Okta response to stdout (parent-id columns are spliced in
//! front), so a record is parsed once and never re-encoded unless Singer field selection drops fields.

use crate::error::{Error, Result};
use airbyte_protocol::singer::SingerMessage;
use airbyte_protocol::{
    AirbyteMessage, ErrorTrace, EstimateTrace, EstimateType, FailureType, LogLevel, LogMessage,
    MessageWriter, RecordEnvelope, StateMessage, StateStats, StateType, StreamDescriptor,
    StreamState, StreamStatus, StreamStatusTrace, TraceBody, TraceMessage,
};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// One record ready to print: its raw JSON object text, and columns to add in front (`"app_id":"0oa1"`).
/// The protocol crate splices it into its envelope ([`airbyte_protocol::record`]).
pub use airbyte_protocol::RawRecord as Row;

/// Rewrites a Singer record before it is printed (field selection, stream maps, flattening).
pub type RecordTransform = Arc<dyn Fn(Map<String, Value>) -> Map<String, Value> + Send + Sync>;

/// What Singer mode needs per stream.
#[derive(Clone)]
pub struct SingerStream {
    pub schema: Value,
    pub key_properties: Vec<String>,
    pub bookmark_properties: Vec<String>,
    /// Applied to every record; `None` prints records as Okta sent them (no re-encoding).
    pub transform: Option<RecordTransform>,
    /// The table version of a FULL_TABLE stream: announced by ACTIVATE_VERSION before its first record
    /// and again after its last, and carried on each RECORD. `None` for incremental streams.
    pub version: Option<i64>,
}

/// The selected Singer streams, by name (SCHEMA messages go out in this order).
pub type SingerStreams = BTreeMap<String, SingerStream>;

pub enum Protocol {
    Airbyte,
    Singer(SingerStreams),
}

struct Inner {
    w: MessageWriter<Box<dyn Write + Send>>,
    schemas_sent: HashSet<String>,
    /// FULL_TABLE streams whose opening ACTIVATE_VERSION went out, and those whose closing one did.
    versions_opened: HashSet<String>,
    versions_closed: HashSet<String>,
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
                versions_opened: HashSet::new(),
                versions_closed: HashSet::new(),
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
                let envelope = RecordEnvelope::airbyte(stream, now_ms());
                for row in rows {
                    let r = inner.w.write_record(&envelope, row);
                    Self::guard(&mut inner, r)?;
                    n += 1;
                }
            }
            Protocol::Singer(streams) => {
                let meta = streams.get(stream);
                if let Some(m) = meta {
                    Self::singer_schema(&mut inner, stream, m)?;
                    Self::open_version(&mut inner, stream, m)?;
                }
                let envelope = RecordEnvelope::singer(
                    stream,
                    meta.and_then(|m| m.version),
                    &chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                );
                let transform = meta.and_then(|m| m.transform.as_ref());
                for row in rows {
                    let r = match transform {
                        None => inner.w.write_record(&envelope, row),
                        Some(f) => {
                            let text = row
                                .to_object()
                                .and_then(|obj| serde_json::to_string(&f(obj)))
                                .map_err(|e| {
                                    Error::Output(format!("cannot rewrite a {stream} record: {e}"))
                                })?;
                            let row = Row {
                                raw: &text,
                                prefix: None,
                            };
                            inner.w.write_record(&envelope, row)
                        }
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
                let message = SingerMessage::bookmarks(inner.bookmarks.clone());
                inner.w.write(&message)
            }
        };
        Self::guard(&mut inner, r)?;
        let r = inner.w.flush();
        Self::guard(&mut inner, r)
    }

    /// Prints the SCHEMA of every selected Singer stream, so targets create a table for each one,
    /// also for streams that turn out to have no records.
    pub fn singer_schemas(&self) -> Result<()> {
        let Protocol::Singer(streams) = &self.protocol else {
            return Ok(());
        };
        let mut inner = self.lock();
        for (name, m) in streams {
            Self::singer_schema(&mut inner, name, m)?;
        }
        let r = inner.w.flush();
        Self::guard(&mut inner, r)
    }

    fn singer_schema(inner: &mut Inner, stream: &str, m: &SingerStream) -> Result<()> {
        if inner.schemas_sent.contains(stream) {
            return Ok(());
        }
        let r = inner.w.write(&SingerMessage::Schema {
            stream: stream.to_string(),
            schema: m.schema.clone(),
            key_properties: m.key_properties.clone(),
            bookmark_properties: m.bookmark_properties.clone(),
        });
        Self::guard(inner, r)?;
        inner.schemas_sent.insert(stream.to_string());
        Ok(())
    }

    /// The ACTIVATE_VERSION before a FULL_TABLE stream's first record (once).
    fn open_version(inner: &mut Inner, stream: &str, m: &SingerStream) -> Result<()> {
        let Some(version) = m.version else {
            return Ok(());
        };
        if !inner.versions_opened.insert(stream.to_string()) {
            return Ok(());
        }
        let r = inner.w.write(&SingerMessage::ActivateVersion {
            stream: stream.to_string(),
            version,
        });
        Self::guard(inner, r)
    }

    /// The ACTIVATE_VERSION after a FULL_TABLE stream's last record (once; opened first if it had none).
    fn close_version(inner: &mut Inner, stream: &str, m: &SingerStream) -> Result<()> {
        let Some(version) = m.version else {
            return Ok(());
        };
        Self::singer_schema(inner, stream, m)?;
        Self::open_version(inner, stream, m)?;
        if !inner.versions_closed.insert(stream.to_string()) {
            return Ok(());
        }
        let r = inner.w.write(&SingerMessage::ActivateVersion {
            stream: stream.to_string(),
            version,
        });
        Self::guard(inner, r)
    }

    /// Seeds Singer bookmarks with the input state so every STATE carries all streams.
    pub fn seed_bookmarks(&self, bookmarks: Map<String, Value>) {
        self.lock().bookmarks = bookmarks;
    }

    /// Prints one document as indented JSON (Singer `--discover` and `--about`) and flushes.
    pub fn document<T: serde::Serialize>(&self, doc: &T) -> Result<()> {
        let mut inner = self.lock();
        let r = inner.w.write_pretty(doc);
        Self::guard(&mut inner, r)?;
        let r = inner.w.flush();
        Self::guard(&mut inner, r)
    }

    /// Prints text for people (`--about --format markdown`) and flushes.
    pub fn text(&self, text: &str) -> Result<()> {
        let mut inner = self.lock();
        let r = inner.w.write_text(text);
        Self::guard(&mut inner, r)?;
        let r = inner.w.flush();
        Self::guard(&mut inner, r)
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

    /// A stream's status: a TRACE in Airbyte mode. In Singer mode a FULL_TABLE stream whose read is
    /// complete makes its version current (the closing ACTIVATE_VERSION); a skipped or failed one does not.
    pub fn stream_status(&self, stream: &str, status: StreamStatus) -> Result<()> {
        if let (Protocol::Singer(streams), StreamStatus::Complete) = (&self.protocol, status) {
            if let Some(m) = streams.get(stream) {
                let mut inner = self.lock();
                if inner.closed {
                    return Err(Error::OutputClosed);
                }
                Self::close_version(&mut inner, stream, m)?;
                let r = inner.w.flush();
                return Self::guard(&mut inner, r);
            }
        }
        self.trace(TraceBody::StreamStatus {
            stream_status: StreamStatusTrace {
                stream_descriptor: StreamDescriptor::named(stream),
                status,
            },
        })
    }

    /// An ESTIMATE of a stream's rows (a TRACE in Airbyte mode); also feeds the progress line's ETA.
    pub fn estimate(&self, stream: &str, rows: u64) -> Result<()> {
        crate::progress::estimated(rows, crate::progress::EstimateUnit::Records);
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

    fn singer_out(stream: &str, s: SingerStream) -> (Buf, Arc<Output>) {
        let buf = Buf::default();
        let streams = SingerStreams::from([(stream.to_string(), s)]);
        let out = Output::new(Protocol::Singer(streams), Box::new(buf.clone()));
        (buf, out)
    }

    fn messages(buf: &Buf) -> Vec<SingerMessage> {
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn singer_schema_precedes_records_and_state_holds_all_bookmarks() {
        let keep_id: RecordTransform = Arc::new(|mut m: Map<String, Value>| {
            m.retain(|k, _| k == "id");
            m
        });
        let (buf, out) = singer_out(
            "users",
            SingerStream {
                schema: serde_json::json!({"type":"object"}),
                key_properties: vec!["id".into()],
                bookmark_properties: vec![],
                transform: Some(keep_id),
                version: None,
            },
        );
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
        let lines = messages(&buf);
        assert!(matches!(&lines[0], SingerMessage::Schema { stream, .. } if stream == "users"));
        let SingerMessage::Record {
            record, version, ..
        } = &lines[1]
        else {
            panic!("{:?}", lines[1])
        };
        assert_eq!(record, &serde_json::json!({"id":"1"}));
        assert_eq!(*version, None, "incremental streams carry no version");
        assert_eq!(
            lines[2],
            SingerMessage::State {
                value: serde_json::json!({"bookmarks": {"groups":{"x":1},"users":{"c":2}}})
            }
        );
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn full_table_records_are_bracketed_by_activate_version() {
        let stream = SingerStream {
            schema: serde_json::json!({"type":"object"}),
            key_properties: vec!["id".into()],
            bookmark_properties: vec![],
            transform: None,
            version: Some(1_700_000_000_000),
        };
        let (buf, out) = singer_out("apps", stream.clone());
        out.singer_schemas().unwrap();
        for id in ["1", "2"] {
            let raw = format!(r#"{{"id":"{id}"}}"#);
            out.records(
                "apps",
                [Row {
                    raw: &raw,
                    prefix: None,
                }],
            )
            .unwrap();
        }
        out.state("apps", &serde_json::json!({}), 2).unwrap();
        out.stream_status("apps", StreamStatus::Complete).unwrap();
        let activate = SingerMessage::ActivateVersion {
            stream: "apps".into(),
            version: 1_700_000_000_000,
        };
        let lines = messages(&buf);
        let kinds: Vec<&str> = lines
            .iter()
            .map(|m| match m {
                SingerMessage::Schema { .. } => "SCHEMA",
                SingerMessage::Record { version, .. } => {
                    assert_eq!(*version, Some(1_700_000_000_000));
                    "RECORD"
                }
                SingerMessage::ActivateVersion { .. } => {
                    assert_eq!(m, &activate);
                    "ACTIVATE_VERSION"
                }
                SingerMessage::State { .. } => "STATE",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "SCHEMA",
                "ACTIVATE_VERSION",
                "RECORD",
                "RECORD",
                "STATE",
                "ACTIVATE_VERSION"
            ]
        );

        // A stream with no records still opens and closes its (empty) version; a stream that does not
        // complete (skipped, failed, checkpointed part-way) sends no closing ACTIVATE_VERSION.
        let (buf, out) = singer_out("apps", stream.clone());
        out.singer_schemas().unwrap();
        out.state("apps", &serde_json::json!({}), 0).unwrap();
        out.stream_status("apps", StreamStatus::Complete).unwrap();
        assert_eq!(messages(&buf).len(), 4);
        let (buf, out) = singer_out("apps", stream);
        out.singer_schemas().unwrap();
        out.records(
            "apps",
            [Row {
                raw: "{}",
                prefix: None,
            }],
        )
        .unwrap();
        out.state("apps", &serde_json::json!({"part": 1}), 1)
            .unwrap();
        out.stream_status("apps", StreamStatus::Incomplete).unwrap();
        let kinds: Vec<String> = messages(&buf)
            .iter()
            .map(|m| {
                serde_json::to_value(m).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(kinds, ["SCHEMA", "ACTIVATE_VERSION", "RECORD", "STATE"]);
    }
}
