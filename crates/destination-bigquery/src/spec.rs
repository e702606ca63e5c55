//! The connector specification printed by `spec`: Airbyte's destination-bigquery keys plus `endpoint`, local
//! loading and the batching knobs.

use airbyte_protocol::{ConnectorSpecification, DestinationSyncMode};
use serde_json::json;

pub fn specification() -> ConnectorSpecification {
    ConnectorSpecification {
        documentation_url: Some(
            "https://docs.airbyte.com/integrations/destinations/bigquery".into(),
        ),
        supports_incremental: Some(true),
        supported_destination_sync_modes: Some(vec![
            DestinationSyncMode::Overwrite,
            DestinationSyncMode::Append,
            DestinationSyncMode::AppendDedup,
            DestinationSyncMode::OverwriteDedup,
        ]),
        connection_specification: json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": "BigQuery Destination Spec",
            "type": "object",
            "required": ["project_id", "dataset_id", "dataset_location"],
            "additionalProperties": true,
            "properties": {
                "project_id": {"type": "string", "title": "Project ID", "order": 0,
                    "description": "The GCP project that holds the datasets and runs the load and query jobs."},
                "dataset_location": {"type": "string", "title": "Dataset Location", "order": 1, "default": "US",
                    "description": "Where datasets are created and jobs run: US, EU or a region such as us-east1. \
                                    An existing dataset in another location fails `check`.",
                    "examples": ["US", "EU", "us-east1"]},
                "dataset_id": {"type": "string", "title": "Default Dataset ID", "order": 2,
                    "description": "The dataset of the final tables (one table per stream, named after it) when a \
                                    stream has no namespace."},
                "loading_method": {"type": "object", "title": "Loading Method", "order": 3,
                    "description": "Standard: NDJSON load jobs by resumable upload. Local: no BigQuery; write the \
                                    exact load files and table schemas under a folder, one folder per dataset.",
                    "oneOf": [
                        {"title": "Standard", "required": ["method"],
                         "properties": {"method": {"type": "string", "const": "Standard"}}},
                        {"title": "Local", "required": ["method", "path"],
                         "properties": {"method": {"type": "string", "const": "Local"},
                                        "path": {"type": "string", "title": "Folder",
                                                 "description": "Where the load files and schemas are written."}}}
                    ]},
                "credentials_json": {"type": "string", "title": "Service Account Key JSON", "order": 4,
                    "airbyte_secret": true,
                    "description": "A service-account key (JSON). Empty: Application Default Credentials, or no \
                                    credentials at all against a loopback `endpoint` (an emulator)."},
                "raw_data_dataset": {"type": "string", "title": "Internal Dataset", "order": 5,
                    "default": "airbyte_internal",
                    "description": "The dataset for temporary tables (dedup staging, overwrite swaps)."},
                "endpoint": {"type": "string", "title": "API Endpoint", "order": 6,
                    "description": "Replaces https://bigquery.googleapis.com for the REST and upload paths, e.g. \
                                    http://127.0.0.1:9050 for an emulator.",
                    "examples": ["http://127.0.0.1:9050"]},
                "transformation_priority": {"type": "string", "title": "Transformation Query Run Type", "order": 7,
                    "enum": ["interactive", "batch"], "default": "interactive"},
                "schema_change": {"type": "string", "title": "Incompatible Schema Change", "order": 8,
                    "enum": ["fail", "widen_to_json"], "default": "fail",
                    "description": "When a column's declared type changes incompatibly: stop with a message, or \
                                    convert the column to JSON."},
                "batch_size_mb": {"type": "number", "title": "Batch Size (MiB)", "order": 9, "default": 256,
                    "description": "A table's buffer this big is loaded at the next allowed moment."},
                "max_batch_size_mb": {"type": "number", "title": "Maximum Batch Size (MiB)", "order": 10,
                    "default": 2048, "description": "A buffer this big is loaded at once."},
                "flush_interval_seconds": {"type": "number", "title": "Flush Interval (s)", "order": 11,
                    "default": 300, "description": "The oldest buffered record waits at most this long."},
                "min_load_interval_seconds": {"type": "number", "title": "Minimum Load Interval (s)", "order": 12,
                    "default": 60, "description": "At most one load per table per interval, far below BigQuery's \
                                                   1,500 table modifications per table per day."},
                "cdc_deletion_mode": {"type": "string", "title": "CDC Deletion Mode", "order": 13,
                    "enum": ["Hard delete", "Soft delete"], "default": "Hard delete",
                    "description": "What a record with `_ab_cdc_deleted_at` set does in an append_dedup stream: \
                                    delete the row, or keep it with the column set (\"hard\"/\"soft\" also accepted)."},
                "additional_properties_column": {"type": "boolean", "title": "Keep Undeclared Fields", "order": 14,
                    "default": true,
                    "description": "Keep fields a stream's schema does not declare in the \
                                    `_airbyte_additional_properties` JSON column instead of dropping them."},
                "merge_interval_seconds": {"type": "number", "title": "Dedup Commit Window (s)", "order": 15,
                    "default": 3600,
                    "description": "An append_dedup stream is merged into its table once per sync, or earlier when a \
                                    STATE waits and this long has passed since the last MERGE. Each MERGE scans the \
                                    table; 0 merges for every STATE."},
                "max_record_size_mb": {"type": "number", "title": "Maximum Record Size (MiB)", "order": 16,
                    "default": 100,
                    "description": "A longer input line fails the sync (BigQuery's row limit for JSON loads is 100 MB)."}
            }
        }),
    }
}
