//! Airbyte protocol v0.5 messages: what a source prints, and the tolerant readers for what it is given.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One line on stdout. Serialises as `{"type":"RECORD","record":{…}}` and so on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AirbyteMessage {
    Record {
        record: RecordMessage,
    },
    State {
        state: StateMessage,
    },
    Log {
        log: LogMessage,
    },
    Spec {
        spec: Box<ConnectorSpecification>,
    },
    ConnectionStatus {
        #[serde(rename = "connectionStatus")]
        connection_status: ConnectionStatus,
    },
    Catalog {
        catalog: Catalog,
    },
    Trace {
        trace: TraceMessage,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RecordMessage {
    pub stream: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub data: Value,
    /// Milliseconds since the Unix epoch.
    pub emitted_at: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamDescriptor {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl StreamDescriptor {
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            namespace: None,
        }
    }
}

/// A per-stream STATE message as we emit it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StateMessage {
    #[serde(rename = "type")]
    pub state_type: StateType,
    pub stream: StreamState,
    #[serde(
        rename = "sourceStats",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub source_stats: Option<StateStats>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StateType {
    Stream,
    Global,
    Legacy,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StreamState {
    pub stream_descriptor: StreamDescriptor,
    pub stream_state: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StateStats {
    #[serde(rename = "recordCount")]
    pub record_count: f64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    Fatal,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LogMessage {
    pub level: LogLevel,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConnectorSpecification {
    #[serde(
        rename = "documentationUrl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub documentation_url: Option<String>,
    #[serde(rename = "connectionSpecification")]
    pub connection_specification: Value,
    #[serde(
        rename = "supportsIncremental",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub supports_incremental: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_destination_sync_modes: Option<Vec<DestinationSyncMode>>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConnectionStatusKind {
    Succeeded,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConnectionStatus {
    pub status: ConnectionStatusKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    FullRefresh,
    Incremental,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum DestinationSyncMode {
    Append,
    Overwrite,
    AppendDedup,
    OverwriteDedup,
}

/// A stream as `discover` describes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AirbyteStream {
    pub name: String,
    pub json_schema: Value,
    pub supported_sync_modes: Vec<SyncMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_defined_cursor: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_cursor_field: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_defined_primary_key: Vec<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_resumable: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Catalog {
    pub streams: Vec<AirbyteStream>,
}

/// A stream of a configured catalog, read tolerantly (hosts add keys and nulls).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConfiguredStream {
    pub stream: ConfiguredStreamRef,
    pub sync_mode: SyncMode,
    #[serde(default, deserialize_with = "crate::reader::null_as_default")]
    pub cursor_field: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_sync_mode: Option<DestinationSyncMode>,
    #[serde(default, deserialize_with = "crate::reader::null_as_default")]
    pub primary_key: Vec<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation_id: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_generation_id: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_id: Option<f64>,
}

/// The `stream` of a configured stream: only the name (and namespace) matter to a source.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConfiguredStreamRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_schema: Option<Value>,
    #[serde(
        default,
        deserialize_with = "crate::reader::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub supported_sync_modes: Vec<SyncMode>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConfiguredCatalog {
    pub streams: Vec<ConfiguredStream>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FailureType {
    SystemError,
    ConfigError,
    TransientError,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StreamStatus {
    Started,
    Running,
    Complete,
    Incomplete,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EstimateType {
    Stream,
    Sync,
}

/// TRACE message; `emitted_at` is milliseconds as a float, as the protocol declares it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TraceMessage {
    pub emitted_at: f64,
    #[serde(flatten)]
    pub body: TraceBody,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TraceBody {
    Error { error: ErrorTrace },
    Estimate { estimate: EstimateTrace },
    StreamStatus { stream_status: StreamStatusTrace },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorTrace {
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_trace: Option<String>,
    pub failure_type: FailureType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_descriptor: Option<StreamDescriptor>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EstimateTrace {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(rename = "type")]
    pub estimate_type: EstimateType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_estimate: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byte_estimate: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StreamStatusTrace {
    pub stream_descriptor: StreamDescriptor,
    pub status: StreamStatus,
}

/// A STATE message passed on as it was received (a destination echoes a source's state once the records
/// before it are committed): the state stays opaque JSON, with its keys in the order they came.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "type", rename = "STATE")]
pub struct StateEcho<'a> {
    pub state: &'a Value,
}

/// One entry of an input state file, in any of the three shapes hosts send: per-stream, GLOBAL, or a
/// legacy blob (a bare object keyed by stream name). Unknown keys, explicit nulls and float counts are accepted.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InputStateEntry {
    #[serde(rename = "type", default)]
    pub state_type: Option<String>,
    #[serde(default)]
    pub stream: Option<InputStreamState>,
    #[serde(default, alias = "global_")]
    pub global: Option<InputGlobalState>,
    #[serde(default)]
    pub data: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct InputStreamState {
    pub stream_descriptor: StreamDescriptor,
    #[serde(default)]
    pub stream_state: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct InputGlobalState {
    #[serde(default)]
    pub shared_state: Option<Value>,
    #[serde(default, deserialize_with = "crate::reader::null_as_default")]
    pub stream_states: Vec<InputStreamState>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn record_serialises_with_type_tag() {
        let m = AirbyteMessage::Record {
            record: RecordMessage {
                stream: "users".into(),
                namespace: None,
                data: json!({"id": "1"}),
                emitted_at: 5,
            },
        };
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"type":"RECORD","record":{"stream":"users","data":{"id":"1"},"emitted_at":5}})
        );
    }

    #[test]
    fn trace_error_shape() {
        let m = AirbyteMessage::Trace {
            trace: TraceMessage {
                emitted_at: 1.0,
                body: TraceBody::Error {
                    error: ErrorTrace {
                        message: "m".into(),
                        internal_message: Some("i".into()),
                        stack_trace: None,
                        failure_type: FailureType::ConfigError,
                        stream_descriptor: None,
                    },
                },
            },
        };
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"type":"TRACE","trace":{"emitted_at":1.0,"type":"ERROR",
                "error":{"message":"m","internal_message":"i","failure_type":"config_error"}}})
        );
        let back: AirbyteMessage =
            serde_json::from_value(serde_json::to_value(&m).unwrap()).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn an_echoed_state_is_a_state_message_with_the_state_untouched() {
        let state = json!({"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},
            "stream_state":{"z":1,"a":2}},"destinationStats":{"recordCount":3.0}});
        let line = serde_json::to_string(&StateEcho { state: &state }).unwrap();
        assert_eq!(line, format!("{{\"type\":\"STATE\",\"state\":{state}}}"));
        let back: AirbyteMessage = serde_json::from_str(&line).unwrap();
        let AirbyteMessage::State { state: typed } = back else {
            panic!("{line}")
        };
        assert_eq!(typed.stream.stream_descriptor.name, "users");
    }

    #[test]
    fn pyairbyte_state_is_read_tolerantly() {
        let raw = json!({"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":null},
            "stream_state":{"lastUpdated":"x"}},"global_":null,"data":null,
            "sourceStats":{"recordCount":3.0},"destinationStats":null});
        let e: InputStateEntry = serde_json::from_value(raw).unwrap();
        assert_eq!(e.stream.unwrap().stream_descriptor.name, "users");
    }

    #[test]
    fn configured_catalog_accepts_nulls() {
        let raw = json!({"streams":[{"stream":{"name":"users","json_schema":{},"supported_sync_modes":null},
            "sync_mode":"incremental","cursor_field":null,"destination_sync_mode":"append","primary_key":null,
            "extra":1}]});
        let c: ConfiguredCatalog = serde_json::from_value(raw).unwrap();
        assert_eq!(c.streams[0].sync_mode, SyncMode::Incremental);
    }
}
