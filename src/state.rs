//! Input state: the `--state` file, read by the protocol crate's tolerant reader
//! ([`airbyte_protocol::reader::read_states`]: per-stream, GLOBAL, legacy, Singer `{"bookmarks":…}` and
//! envelope lines) into one map of stream name → stream state. This module adds the file and its errors.

use crate::error::{Error, Result};
/// Stream name → that stream's saved state object.
pub use airbyte_protocol::reader::StreamStates;

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

/// Parses a state document in any of the accepted shapes (the protocol crate's tolerant reader, shared
/// with the destination).
pub fn parse(text: &str) -> std::result::Result<StreamStates, String> {
    airbyte_protocol::reader::read_states(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("state-rs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.json");
        std::fs::write(&bad, "not json").unwrap();
        let e = read_file(&bad).unwrap_err().to_string();
        assert!(e.contains("bad.json") && e.contains("not JSON"), "{e}");
        let good = dir.join("good.json");
        std::fs::write(&good, r#"{"bookmarks":{"users":{"lastUpdated":"z"}}}"#).unwrap();
        assert_eq!(read_file(&good).unwrap()["users"]["lastUpdated"], "z");
        let e = read_file(&dir.join("missing.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.json"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
