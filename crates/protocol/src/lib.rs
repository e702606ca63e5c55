//! Wire types of the Airbyte protocol (v0.5) and the Singer specification, plus the one writer that owns stdout.
//!
//! Outgoing messages are tagged enums so impossible combinations cannot be built; incoming documents
//! (configured catalogs, state) are read tolerantly: every field optional, unknown keys ignored, opaque
//! blobs kept as raw JSON. No runtime lives here: serde and schemars only.

pub mod airbyte;
pub mod reader;
pub mod record;
pub mod singer;
pub mod writer;

pub use airbyte::*;
pub use record::{RawRecord, RecordEnvelope};
pub use writer::{MessageWriter, WriteError};
