//! The destination's configuration: the JSON document hosts pass with `--config`, validated once into [`Settings`].
//!
//! Keys mirror Airbyte's destination-bigquery (`project_id`, `dataset_id`, `dataset_location`,
//! `credentials_json`, `raw_data_dataset`, `loading_method`), plus `endpoint` for emulators and a few
//! advanced batching knobs. Meltano passes one flat object, so `loading_method` may also be a plain string.

use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// The production REST and upload host.
pub const GOOGLE_ENDPOINT: &str = "https://bigquery.googleapis.com";
/// Default dataset for temporary tables, as Airbyte names it.
pub const DEFAULT_RAW_DATASET: &str = "airbyte_internal";

/// The one `Secret` type of the workspace: Debug and Display print `***`.
pub use connector_kit::Secret;

/// The raw configuration document, read tolerantly (unknown keys ignored).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawConfig {
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub dataset_id: Option<String>,
    #[serde(default)]
    pub dataset_location: Option<String>,
    /// A JSON string, or the key object itself.
    #[serde(default)]
    pub credentials_json: Option<Value>,
    #[serde(default)]
    pub raw_data_dataset: Option<String>,
    #[serde(default)]
    pub loading_method: Option<Value>,
    /// Flat alternative to `loading_method.path` (Meltano settings are flat).
    #[serde(default)]
    pub local_path: Option<String>,
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub transformation_priority: Option<String>,
    #[serde(default)]
    pub disable_type_dedupe: Option<bool>,
    #[serde(default)]
    pub batch_size_mb: Option<f64>,
    #[serde(default)]
    pub max_batch_size_mb: Option<f64>,
    #[serde(default)]
    pub flush_interval_seconds: Option<f64>,
    #[serde(default)]
    pub min_load_interval_seconds: Option<f64>,
    #[serde(default)]
    pub schema_change: Option<String>,
    #[serde(default)]
    pub buffer_dir: Option<String>,
    #[serde(default)]
    pub cdc_deletion_mode: Option<String>,
    #[serde(default)]
    pub additional_properties_column: Option<bool>,
    #[serde(default)]
    pub max_record_size_mb: Option<f64>,
    #[serde(default)]
    pub merge_interval_seconds: Option<f64>,
}

/// Default commit window of a deduplicated stream: a MERGE scans the whole final table, so while a sync
/// runs at most one MERGE per table per hour; a sync shorter than that merges once, at its end.
pub const DEFAULT_MERGE_INTERVAL: Duration = Duration::from_secs(3600);

/// What a record with a non-null `_ab_cdc_deleted_at` does in a deduplicated table (Airbyte's option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CdcDeletion {
    /// The row is deleted (Airbyte's default, "Hard delete").
    #[default]
    Hard,
    /// The row is kept with `_ab_cdc_deleted_at` set ("Soft delete").
    Soft,
}

/// Where loads go.
#[derive(Debug, Clone, PartialEq)]
pub enum Loading {
    /// Resumable-upload NDJSON load jobs against BigQuery (or an emulator).
    Standard,
    /// No BigQuery: write the exact load files and table schemas under this folder, one folder per dataset.
    Local(PathBuf),
}

/// What to do when a column's declared type changes incompatibly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaChangePolicy {
    /// Stop with a message naming the table, the column and both types (the default).
    Fail,
    /// Convert the column to JSON atomically (a converted copy swapped in by a copy job).
    WidenToJson,
}

/// Batching limits: flush on size, age or a STATE boundary, but at most one load per table per interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Batching {
    /// A buffer this big is loaded at the next allowed moment.
    pub target_bytes: u64,
    /// A buffer this big is loaded at once, even inside the minimum interval.
    pub max_bytes: u64,
    /// A buffer whose first record is this old is loaded at the next allowed moment.
    pub max_age: Duration,
    /// The minimum time between two loads into the same table.
    pub min_load_interval: Duration,
}

impl Default for Batching {
    fn default() -> Self {
        Batching {
            target_bytes: 256 * 1024 * 1024,
            max_bytes: 2048 * 1024 * 1024,
            max_age: Duration::from_secs(300),
            min_load_interval: Duration::from_secs(60),
        }
    }
}

/// The validated, immutable settings the rest of the program uses.
#[derive(Debug, Clone)]
pub struct Settings {
    pub project_id: String,
    pub dataset_id: String,
    pub location: String,
    pub raw_dataset: String,
    pub credentials_json: Option<Secret>,
    pub loading: Loading,
    /// Base URL replacing `https://bigquery.googleapis.com` for the REST and upload paths.
    pub endpoint: String,
    /// True when the endpoint is loopback and no key was given: requests go unauthenticated.
    pub unauthenticated: bool,
    pub batch_priority: bool,
    pub batching: Batching,
    pub schema_change: SchemaChangePolicy,
    pub buffer_dir: Option<PathBuf>,
    pub cdc_deletion: CdcDeletion,
    /// Keep fields a stream does not declare in the `_airbyte_additional_properties` JSON column.
    pub additional_properties: bool,
    /// The longest input line (one message) accepted.
    pub max_line_bytes: usize,
    /// The commit window of a deduplicated stream (the shortest time between two MERGEs into one table).
    pub merge_interval: Duration,
    /// Accepted-but-ignored settings, to be logged once.
    pub warnings: Vec<String>,
}

impl Settings {
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        Self::from_json(&text)
    }

    pub fn from_json(text: &str) -> Result<Self> {
        let raw: RawConfig = serde_json::from_str(text)
            .map_err(|e| Error::Config(format!("the config is not valid JSON: {e}")))?;
        Self::from_raw(raw)
    }

    pub fn from_raw(raw: RawConfig) -> Result<Self> {
        let loading = parse_loading(raw.loading_method.as_ref(), raw.local_path.as_deref())?;
        let local = matches!(loading, Loading::Local(_));
        let project_id = match (raw.project_id.filter(|s| !s.trim().is_empty()), local) {
            (Some(p), _) => p,
            (None, true) => "local".to_string(),
            (None, false) => return Err(Error::Config("`project_id` is required".into())),
        };
        let dataset_id = raw
            .dataset_id
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| Error::Config("`dataset_id` is required".into()))?;
        check_dataset_name(&dataset_id)?;
        let raw_dataset = raw
            .raw_data_dataset
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(DEFAULT_RAW_DATASET.into());
        check_dataset_name(&raw_dataset)?;
        let credentials_json = match raw.credentials_json {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(Secret::new(s)),
            Some(v @ Value::Object(_)) => Some(Secret::new(v.to_string())),
            Some(_) => {
                return Err(Error::Config(
                    "`credentials_json` must be a JSON string or object".into(),
                ))
            }
        };
        let endpoint = raw
            .endpoint
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| GOOGLE_ENDPOINT.to_string())
            .trim_end_matches('/')
            .to_string();
        let url = url::Url::parse(&endpoint)
            .map_err(|e| Error::Config(format!("`endpoint` {endpoint:?}: {e}")))?;
        let unauthenticated = credentials_json.is_none() && is_loopback(&url);
        let mut batching = Batching::default();
        if let Some(mb) = raw.batch_size_mb {
            batching.target_bytes = mb_to_bytes(mb, "batch_size_mb")?;
        }
        if let Some(mb) = raw.max_batch_size_mb {
            batching.max_bytes = mb_to_bytes(mb, "max_batch_size_mb")?;
        }
        batching.max_bytes = batching.max_bytes.max(batching.target_bytes);
        if let Some(s) = raw.flush_interval_seconds {
            batching.max_age = seconds(s, "flush_interval_seconds")?;
        }
        if let Some(s) = raw.min_load_interval_seconds {
            batching.min_load_interval = seconds(s, "min_load_interval_seconds")?;
        }
        let schema_change = match raw.schema_change.as_deref() {
            None | Some("fail") => SchemaChangePolicy::Fail,
            Some("widen_to_json") => SchemaChangePolicy::WidenToJson,
            Some(other) => {
                return Err(Error::Config(format!(
                    "`schema_change` must be \"fail\" or \"widen_to_json\", not {other:?}"
                )))
            }
        };
        let cdc_deletion = match raw
            .cdc_deletion_mode
            .as_deref()
            .map(|m| m.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("hard") | Some("hard delete") => CdcDeletion::Hard,
            Some("soft") | Some("soft delete") => CdcDeletion::Soft,
            Some(_) => {
                return Err(Error::Config(
                    "`cdc_deletion_mode` must be \"hard\" (\"Hard delete\") or \"soft\" (\"Soft delete\")"
                        .into(),
                ))
            }
        };
        let max_line_bytes = match raw.max_record_size_mb {
            None => crate::input::DEFAULT_MAX_LINE_BYTES,
            Some(mb) => mb_to_bytes(mb, "max_record_size_mb")? as usize,
        };
        let merge_interval = match raw.merge_interval_seconds {
            None => DEFAULT_MERGE_INTERVAL,
            Some(s) => seconds(s, "merge_interval_seconds")?,
        };
        let mut warnings = Vec::new();
        if raw.disable_type_dedupe == Some(true) {
            warnings.push(
                "`disable_type_dedupe` (legacy raw tables) is not supported: loading typed final tables".to_string(),
            );
        }
        Ok(Settings {
            warnings,
            project_id,
            dataset_id,
            location: raw
                .dataset_location
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| "US".into()),
            raw_dataset,
            credentials_json,
            loading,
            endpoint,
            unauthenticated,
            batch_priority: raw.transformation_priority.as_deref() == Some("batch"),
            batching,
            schema_change,
            buffer_dir: raw.buffer_dir.map(PathBuf::from),
            cdc_deletion,
            additional_properties: raw.additional_properties_column.unwrap_or(true),
            max_line_bytes,
            merge_interval,
        })
    }

    /// The table of a stream, with the `_airbyte_additional_properties` column when it is on.
    pub fn table_schema(
        &self,
        json_schema: &Value,
        primary_key: &[Vec<String>],
        cursor: &[String],
    ) -> crate::schema::TableSchema {
        let t = crate::schema::TableSchema::from_json_schema(json_schema, primary_key, cursor);
        if self.additional_properties {
            t.with_additional_properties()
        } else {
            t
        }
    }
}

fn parse_loading(v: Option<&Value>, local_path: Option<&str>) -> Result<Loading> {
    let (method, path) = match v {
        None | Some(Value::Null) => (String::from("Standard"), None),
        Some(Value::String(s)) => (s.clone(), None),
        Some(Value::Object(o)) => (
            o.get("method")
                .and_then(Value::as_str)
                .unwrap_or("Standard")
                .to_string(),
            o.get("path").and_then(Value::as_str).map(str::to_string),
        ),
        Some(_) => {
            return Err(Error::Config(
                "`loading_method` must be an object or a string".into(),
            ))
        }
    };
    match method.to_ascii_lowercase().as_str() {
        "standard" => Ok(Loading::Standard),
        "local" => {
            let path = path
                .or_else(|| local_path.map(str::to_string))
                .filter(|p| !p.trim().is_empty())
                .ok_or_else(|| Error::Config("local loading needs `loading_method.path` (or `local_path`)".into()))?;
            Ok(Loading::Local(PathBuf::from(path)))
        }
        "gcs staging" => Err(Error::Config(
            "`loading_method` \"GCS Staging\" is not supported by this destination; use \"Standard\"".into(),
        )),
        other => Err(Error::Config(format!("unknown `loading_method` {other:?}; use \"Standard\" or \"Local\""))),
    }
}

fn check_dataset_name(name: &str) -> Result<()> {
    if name.len() <= 1024 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "dataset name {name:?} may only hold letters, digits and underscores"
        )))
    }
}

fn mb_to_bytes(mb: f64, key: &str) -> Result<u64> {
    if mb.is_finite() && mb > 0.0 {
        Ok((mb * 1024.0 * 1024.0) as u64)
    } else {
        Err(Error::Config(format!(
            "`{key}` must be a positive number of MiB"
        )))
    }
}

fn seconds(s: f64, key: &str) -> Result<Duration> {
    if s.is_finite() && s >= 0.0 {
        Ok(Duration::from_secs_f64(s))
    } else {
        Err(Error::Config(format!(
            "`{key}` must be a non-negative number of seconds"
        )))
    }
}

/// Whether a URL points at this machine (127.0.0.0/8, ::1 or localhost).
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_masked() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        let settings = Settings::from_json(
            r#"{"project_id":"p","dataset_id":"d","credentials_json":"{\"private_key\":\"hunter2\"}"}"#,
        )
        .unwrap();
        assert!(!format!("{settings:?}").contains("hunter2"));
    }

    #[test]
    fn airbyte_shape_with_emulator_endpoint() {
        let s = Settings::from_json(
            r#"{"project_id":"p","dataset_id":"okta","dataset_location":"EU","loading_method":{"method":"Standard"},
                "endpoint":"http://127.0.0.1:9050/"}"#,
        )
        .unwrap();
        assert_eq!(s.endpoint, "http://127.0.0.1:9050");
        assert!(s.unauthenticated);
        assert_eq!(s.location, "EU");
        assert_eq!(s.raw_dataset, "airbyte_internal");
        assert_eq!(s.loading, Loading::Standard);
    }

    #[test]
    fn production_endpoint_is_authenticated() {
        let s = Settings::from_json(r#"{"project_id":"p","dataset_id":"d"}"#).unwrap();
        assert_eq!(s.endpoint, GOOGLE_ENDPOINT);
        assert!(!s.unauthenticated);
    }

    #[test]
    fn local_mode_shapes() {
        let a = Settings::from_json(
            r#"{"dataset_id":"d","loading_method":{"method":"Local","path":"/tmp/x"}}"#,
        )
        .unwrap();
        assert_eq!(a.loading, Loading::Local("/tmp/x".into()));
        assert_eq!(a.project_id, "local");
        let b = Settings::from_json(
            r#"{"dataset_id":"d","loading_method":"local","local_path":"/tmp/y"}"#,
        )
        .unwrap();
        assert_eq!(b.loading, Loading::Local("/tmp/y".into()));
        assert!(Settings::from_json(r#"{"dataset_id":"d","loading_method":"local"}"#).is_err());
    }

    #[test]
    fn rejects_bad_values() {
        assert!(Settings::from_json(r#"{"dataset_id":"d"}"#).is_err());
        assert!(Settings::from_json(r#"{"project_id":"p","dataset_id":"a-b"}"#).is_err());
        assert!(Settings::from_json(
            r#"{"project_id":"p","dataset_id":"d","loading_method":{"method":"GCS Staging"}}"#
        )
        .is_err());
        assert!(Settings::from_json(
            r#"{"project_id":"p","dataset_id":"d","schema_change":"yolo"}"#
        )
        .is_err());
    }
}
