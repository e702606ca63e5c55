//! Singer specification messages (SCHEMA, RECORD, STATE, ACTIVATE_VERSION) as a tap prints them and a target
//! reads them, the Singer catalog and its metadata (`--discover` output, `--catalog` input), and the Meltano
//! `--about` document.
//!
//! Catalogs are read tolerantly: hosts (Meltano, singer-tools) add keys, and metadata carries keys this
//! tap does not use; those are kept as they came.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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

impl SingerMessage {
    /// The STATE a tap prints: `{"bookmarks": {<stream>: <state>, …}}`.
    pub fn bookmarks(bookmarks: Map<String, Value>) -> Self {
        let mut value = Map::new();
        value.insert("bookmarks".into(), Value::Object(bookmarks));
        SingerMessage::State {
            value: Value::Object(value),
        }
    }
}

/// How a stream is replicated.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum ReplicationMethod {
    #[serde(rename = "FULL_TABLE", alias = "full_table")]
    FullTable,
    #[serde(rename = "INCREMENTAL", alias = "incremental")]
    Incremental,
    #[serde(rename = "LOG_BASED", alias = "log_based")]
    LogBased,
}

/// Whether a property (or stream) may be left out.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Inclusion {
    Available,
    Automatic,
    Unsupported,
}

/// The metadata at one breadcrumb (`[]` for the stream, `["properties", "<name>"]` for a property).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion: Option<Inclusion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_by_default: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forced_replication_method: Option<ReplicationMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_method: Option<ReplicationMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_replication_keys: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_key_properties: Option<Vec<String>>,
    /// Keys this tap does not read (`schema-name`, `sql-datatype`…), kept as they came.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// One `metadata` entry of a catalog stream.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct MetadataEntry {
    #[serde(default, deserialize_with = "crate::reader::null_as_default")]
    pub breadcrumb: Vec<String>,
    #[serde(default, deserialize_with = "crate::reader::null_as_default")]
    pub metadata: Metadata,
}

impl MetadataEntry {
    /// The stream-level entry (breadcrumb `[]`).
    pub fn stream(metadata: Metadata) -> Self {
        Self {
            breadcrumb: Vec::new(),
            metadata,
        }
    }

    /// The entry of a top-level property.
    pub fn property(name: &str, metadata: Metadata) -> Self {
        Self {
            breadcrumb: vec!["properties".into(), name.into()],
            metadata,
        }
    }

    /// The property this entry describes, when it is a top-level property's.
    pub fn property_name(&self) -> Option<&str> {
        match self.breadcrumb.as_slice() {
            [p, name] if p == "properties" => Some(name),
            _ => None,
        }
    }
}

/// One stream of a Singer catalog.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CatalogEntry {
    #[serde(default)]
    pub tap_stream_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    #[serde(default)]
    pub schema: Value,
    #[serde(default, deserialize_with = "crate::reader::null_as_default")]
    pub key_properties: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_method: Option<ReplicationMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_key: Option<String>,
    /// The older stream-level selection flag (Meltano still writes it next to the metadata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected: Option<bool>,
    #[serde(default, deserialize_with = "crate::reader::null_as_default")]
    pub metadata: Vec<MetadataEntry>,
}

impl CatalogEntry {
    /// The stream's name: `tap_stream_id`, else `stream`.
    pub fn id(&self) -> &str {
        if self.tap_stream_id.is_empty() {
            self.stream.as_deref().unwrap_or_default()
        } else {
            &self.tap_stream_id
        }
    }

    /// The stream-level metadata (breadcrumb `[]`).
    pub fn stream_metadata(&self) -> Option<&Metadata> {
        self.metadata
            .iter()
            .find(|m| m.breadcrumb.is_empty())
            .map(|m| &m.metadata)
    }
}

/// A Singer catalog.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Catalog {
    pub streams: Vec<CatalogEntry>,
}

/// What a tap supports, as Meltano names it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    Catalog,
    State,
    Discover,
    About,
    ActivateVersion,
    StreamMaps,
    SchemaFlattening,
}

impl Capability {
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Catalog => "catalog",
            Capability::State => "state",
            Capability::Discover => "discover",
            Capability::About => "about",
            Capability::ActivateVersion => "activate-version",
            Capability::StreamMaps => "stream-maps",
            Capability::SchemaFlattening => "schema-flattening",
        }
    }
}

/// `--about --format json`, as Meltano SDK taps print it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct About {
    pub name: String,
    pub description: String,
    pub version: String,
    pub capabilities: Vec<Capability>,
    /// The settings as a JSON Schema object (`properties`, flat as Meltano declares them).
    pub settings: Value,
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

    #[test]
    fn catalog_metadata_uses_singer_names_and_keeps_unknown_keys() {
        let entry = CatalogEntry {
            tap_stream_id: "users".into(),
            stream: Some("users".into()),
            schema: json!({"type": "object"}),
            key_properties: vec!["id".into()],
            replication_method: Some(ReplicationMethod::Incremental),
            replication_key: Some("lastUpdated".into()),
            selected: None,
            metadata: vec![
                MetadataEntry::stream(Metadata {
                    inclusion: Some(Inclusion::Available),
                    selected_by_default: Some(true),
                    forced_replication_method: Some(ReplicationMethod::Incremental),
                    valid_replication_keys: Some(vec!["lastUpdated".into()]),
                    table_key_properties: Some(vec!["id".into()]),
                    ..Metadata::default()
                }),
                MetadataEntry::property(
                    "id",
                    Metadata {
                        inclusion: Some(Inclusion::Automatic),
                        ..Metadata::default()
                    },
                ),
            ],
        };
        let v = serde_json::to_value(&entry).unwrap();
        assert_eq!(
            v["metadata"][0],
            json!({"breadcrumb": [], "metadata": {"inclusion": "available", "selected-by-default": true,
                "forced-replication-method": "INCREMENTAL", "valid-replication-keys": ["lastUpdated"],
                "table-key-properties": ["id"]}})
        );
        assert_eq!(v["replication_method"], "INCREMENTAL");
        assert_eq!(serde_json::from_value::<CatalogEntry>(v).unwrap(), entry);

        // As Meltano passes it back: extra keys, nulls, `selected`, lower-case methods.
        let meltano = json!({"streams": [{"tap_stream_id": "users", "stream": "users", "table_name": null,
            "schema": {}, "key_properties": null, "selected": true,
            "metadata": [{"breadcrumb": [], "metadata": {"selected": true, "replication-method": "full_table",
                "schema-name": "users"}}, {"breadcrumb": ["properties", "profile"], "metadata": {"selected": false}}]}]});
        let cat: Catalog = serde_json::from_value(meltano).unwrap();
        let s = &cat.streams[0];
        assert_eq!(s.id(), "users");
        let md = s.stream_metadata().unwrap();
        assert_eq!(md.replication_method, Some(ReplicationMethod::FullTable));
        assert_eq!(md.other["schema-name"], "users");
        assert_eq!(s.metadata[1].property_name(), Some("profile"));
        assert_eq!(s.metadata[1].metadata.selected, Some(false));
    }

    #[test]
    fn about_capabilities_are_kebab_case() {
        let about = About {
            name: "tap-x".into(),
            description: "d".into(),
            version: "1".into(),
            capabilities: vec![Capability::ActivateVersion, Capability::StreamMaps],
            settings: json!({}),
        };
        let v = serde_json::to_value(&about).unwrap();
        assert_eq!(
            v["capabilities"],
            json!(["activate-version", "stream-maps"])
        );
        for c in [Capability::Catalog, Capability::SchemaFlattening] {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }
}
