//! Singer specification messages (SCHEMA, RECORD, STATE, ACTIVATE_VERSION) as a tap prints them and a target
//! reads them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SingerMessage {
    Schema {
        stream: String,
        schema: Value,
        key_properties: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        bookmark_properties: Vec<String>,
    },
    Record {
        stream: String,
        record: Value,
        /// The table version of a FULL_TABLE stream: the version its closing ACTIVATE_VERSION makes current.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time_extracted: Option<String>,
    },
    State {
        value: Value,
    },
    /// Sent before a FULL_TABLE stream's first record of a version and again after its last: targets
    /// then drop (or mark deleted) the rows of older versions.
    #[serde(rename = "ACTIVATE_VERSION")]
    ActivateVersion {
        stream: String,
        version: i64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schema_message_shape() {
        let m = SingerMessage::Schema {
            stream: "users".into(),
            schema: json!({"type":"object"}),
            key_properties: vec!["id".into()],
            bookmark_properties: vec!["lastUpdated".into()],
        };
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"type":"SCHEMA","stream":"users","schema":{"type":"object"},"key_properties":["id"],
                "bookmark_properties":["lastUpdated"]})
        );
    }
}
