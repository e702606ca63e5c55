//! What arrives on stdin: a bounded line reader. The messages on those lines (Airbyte RECORD, STATE, TRACE;
//! Singer SCHEMA, RECORD, STATE) are read by the protocol crate's tolerant readers, re-exported here, which
//! also describe bad lines without quoting their content. Unknown keys are ignored; message types a
//! destination does not act on are skipped.

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
