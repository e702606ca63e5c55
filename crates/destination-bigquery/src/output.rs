//! What the destination prints: committed STATE messages (Airbyte) or state values (Singer), LOG messages,
//! and the one TRACE error of a failed run. stdout carries protocol only; human logs go to stderr.

use crate::error::{Error, Result};
use airbyte_protocol::{
    AirbyteMessage, ErrorTrace, LogLevel, LogMessage, MessageWriter, StateEcho, TraceBody,
    TraceMessage,
};
use serde_json::{json, Value};
use std::io::Write;

/// Which protocol the host speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Airbyte,
    Singer,
}

pub struct Output {
    pub protocol: Protocol,
    writer: MessageWriter<Box<dyn Write + Send>>,
    /// States echoed so far (for the summary and the tests).
    pub states_emitted: u64,
}

impl Output {
    pub fn new(protocol: Protocol, out: Box<dyn Write + Send>) -> Self {
        Output {
            protocol,
            writer: MessageWriter::new(out),
            states_emitted: 0,
        }
    }

    pub fn stdout(protocol: Protocol) -> Self {
        Self::new(protocol, airbyte_protocol::writer::stdout())
    }

    /// Echoes a committed state: the Airbyte STATE with `destinationStats.recordCount`, or the Singer value.
    pub fn state(&mut self, state: &Value, record_count: u64) -> Result<()> {
        match self.protocol {
            Protocol::Airbyte => {
                let mut state = state.clone();
                if let Some(o) = state.as_object_mut() {
                    o.insert(
                        "destinationStats".into(),
                        json!({"recordCount": record_count as f64}),
                    );
                }
                self.write(&StateEcho { state: &state })?;
            }
            Protocol::Singer => self.write(state)?,
        }
        self.states_emitted += 1;
        self.flush()
    }

    /// A log line: always to stderr through `tracing`, and as a LOG message in Airbyte mode.
    pub fn log(&mut self, level: LogLevel, message: String) {
        match level {
            LogLevel::Fatal | LogLevel::Error => tracing::error!("{message}"),
            LogLevel::Warn => tracing::warn!("{message}"),
            _ => tracing::info!("{message}"),
        }
        if self.protocol == Protocol::Airbyte {
            let _ = self.write(&AirbyteMessage::Log {
                log: LogMessage { level, message },
            });
        }
    }

    pub fn info(&mut self, message: String) {
        self.log(LogLevel::Info, message)
    }

    /// The TRACE error of a failed run (Airbyte), or a line on stderr (Singer).
    pub fn error(&mut self, err: &Error) {
        tracing::error!("{err}");
        if self.protocol == Protocol::Airbyte {
            let trace = AirbyteMessage::Trace {
                trace: TraceMessage {
                    emitted_at: chrono::Utc::now().timestamp_millis() as f64,
                    body: TraceBody::Error {
                        error: ErrorTrace {
                            message: err.to_string(),
                            internal_message: Some(format!("{err:?}")),
                            stack_trace: None,
                            failure_type: err.category().failure_type(),
                            stream_descriptor: None,
                        },
                    },
                },
            };
            let _ = self.write(&trace);
        }
        let _ = self.flush();
    }

    pub fn write<M: serde::Serialize>(&mut self, m: &M) -> Result<()> {
        self.writer
            .write(m)
            .map_err(|e| Error::Output(e.to_string()))
    }

    pub fn flush(&mut self) -> Result<()> {
        self.writer
            .flush()
            .map_err(|e| Error::Output(e.to_string()))
    }
}
