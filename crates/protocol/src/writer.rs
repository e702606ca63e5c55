//! The one writer of stdout: one JSON document and `\n` per message, buffered, flushed on demand.
//!
//! A closed pipe (the reader went away) is reported as [`WriteError::Closed`] so the program can end quietly.
//! [`stdout`] is the only place the connector obtains its stdout (`tests/it/stdout_owner.rs` fails on any
//! other).

use crate::record::{RawRecord, RecordEnvelope};
use serde::Serialize;
use std::io::{self, Write};

/// Buffer size of the stdout writer; large enough that a page of records is one syscall or two.
pub const WRITE_BUFFER_BYTES: usize = 256 * 1024;

#[derive(Debug)]
pub enum WriteError {
    /// The reader closed the pipe: stop quietly.
    Closed,
    Io(io::Error),
    Encode(serde_json::Error),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Closed => f.write_str("stdout was closed by the reader"),
            WriteError::Io(e) => write!(f, "cannot write to stdout: {e}"),
            WriteError::Encode(e) => write!(f, "cannot encode a message: {e}"),
        }
    }
}

impl std::error::Error for WriteError {}

impl WriteError {
    /// An error of `serde_json`'s writer: the I/O failure underneath it, or a message it cannot encode.
    fn from_json(e: serde_json::Error) -> Self {
        if e.is_io() {
            WriteError::from(io::Error::from(e))
        } else {
            WriteError::Encode(e)
        }
    }
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            WriteError::Closed
        } else {
            WriteError::Io(e)
        }
    }
}

/// Writes protocol messages as JSON lines. Messages are never interleaved: each `write` emits a whole line.
pub struct MessageWriter<W: Write> {
    out: io::BufWriter<W>,
}

/// The process's stdout, for the one [`MessageWriter`] of a run.
pub fn stdout() -> Box<dyn Write + Send> {
    Box::new(io::stdout())
}

impl<W: Write> MessageWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            out: io::BufWriter::with_capacity(WRITE_BUFFER_BYTES, inner),
        }
    }

    /// Serialises one message as a line. Encoding goes straight into the buffer (no intermediate String).
    pub fn write<M: Serialize>(&mut self, message: &M) -> Result<(), WriteError> {
        serde_json::to_writer(&mut self.out, message).map_err(WriteError::from_json)?;
        self.out.write_all(b"\n")?;
        Ok(())
    }

    /// Serialises one document as indented JSON and `\n` (Singer `--discover` and `--about` output, which
    /// hosts read line by line with bounded buffers, so it must not be one huge line).
    pub fn write_pretty<M: Serialize>(&mut self, document: &M) -> Result<(), WriteError> {
        serde_json::to_writer_pretty(&mut self.out, document).map_err(WriteError::from_json)?;
        self.out.write_all(b"\n")?;
        Ok(())
    }

    /// Writes one RECORD whose data is raw JSON text spliced into its envelope (see [`crate::record`]):
    /// no re-encoding of the record.
    pub fn write_record(
        &mut self,
        envelope: &RecordEnvelope,
        record: RawRecord<'_>,
    ) -> Result<(), WriteError> {
        let [a, b, c, d] = record.parts();
        self.write_raw_line(&[envelope.head(), a, b, c, d, envelope.tail()])
    }

    /// Writes text for people (`--about --format markdown`) and `\n`: not a protocol message, so only a
    /// command that prints nothing else may use it.
    pub fn write_text(&mut self, text: &str) -> Result<(), WriteError> {
        self.write_raw_line(&[text.trim_end().as_bytes()])
    }

    /// Writes pre-encoded fragments followed by `\n`; private, so that only the envelopes built in this
    /// crate can put bytes on stdout that `serde` did not encode.
    fn write_raw_line(&mut self, parts: &[&[u8]]) -> Result<(), WriteError> {
        for p in parts {
            self.out.write_all(p)?;
        }
        self.out.write_all(b"\n")?;
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), WriteError> {
        self.out.flush()?;
        Ok(())
    }

    pub fn into_inner(self) -> Result<W, WriteError> {
        self.out
            .into_inner()
            .map_err(|e| WriteError::from(e.into_error()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_one_line_per_message() {
        let mut w = MessageWriter::new(Vec::new());
        w.write(&json!({"a": 1})).unwrap();
        w.write(&json!({"b": "x\ny"})).unwrap();
        let out = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(out, "{\"a\":1}\n{\"b\":\"x\\ny\"}\n");
    }

    struct Closed;
    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"))
        }
    }

    #[test]
    fn broken_pipe_is_closed() {
        let mut w = MessageWriter::new(Closed);
        w.write(&json!({"a": 1})).unwrap();
        assert!(matches!(w.flush(), Err(WriteError::Closed)));
    }
}
