//! The stream registry: every stream the connector reads, its key, cursor, schema and how it is read.

pub mod incremental;
pub mod list;
pub mod members;
pub mod system_log;

use crate::okta::page::Extract;
use airbyte_protocol::{AirbyteStream, SyncMode};
use serde_json::Value;

/// A list of parent objects whose ids drive a fan-out stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Parent {
    /// Name used in logs and in the per-sync parent cache.
    pub name: &'static str,
    pub path: &'static str,
    pub extract: Extract,
}

pub const APPS: Parent = Parent {
    name: "applications",
    path: "/api/v1/apps?limit=200",
    extract: Extract::Array,
};
pub const CUSTOM_ROLES: Parent = Parent {
    name: "custom_roles",
    path: "/api/v1/iam/roles",
    extract: Extract::Field("roles"),
};

/// How a stream is read.
#[derive(Debug, Clone, Copy)]
pub enum Reader {
    /// A list (or singleton) read whole.
    List {
        path: &'static str,
        extract: Extract,
    },
    /// One list per parent: `{id}` in `path` is the parent id, written to `column` of each record.
    FanOut {
        parent: Parent,
        path: &'static str,
        extract: Extract,
        column: &'static str,
    },
    /// `search=<cursor> gt "…"` sorted ascending by the cursor: users, groups.
    SortedSearch { path: &'static str, limit: u32 },
    /// Group memberships, re-read only for groups whose `lastMembershipUpdated` moved.
    GroupMembers,
    /// The System Log polling cursor.
    SystemLog,
}

/// One stream of the catalog.
#[derive(Debug, Clone, Copy)]
pub struct StreamDef {
    pub name: &'static str,
    pub primary_key: &'static [&'static str],
    /// The cursor field of incremental streams (`None`: full refresh only, unless the reader is
    /// parent-driven like group members).
    pub cursor_field: Option<&'static str>,
    pub reader: Reader,
}

impl StreamDef {
    pub fn supports_incremental(&self) -> bool {
        self.cursor_field.is_some() || matches!(self.reader, Reader::GroupMembers)
    }

    /// The stream's JSON Schema, generated from its Rust record type.
    pub fn schema(&self) -> Value {
        okta_records::stream_schema(self.name).unwrap_or_else(|| fallback_schema(self))
    }

    /// The stream as `discover` lists it.
    pub fn airbyte_stream(&self) -> AirbyteStream {
        let mut modes = vec![SyncMode::FullRefresh];
        if self.supports_incremental() {
            modes.push(SyncMode::Incremental);
        }
        AirbyteStream {
            name: self.name.to_string(),
            json_schema: self.schema(),
            supported_sync_modes: modes,
            source_defined_cursor: self.supports_incremental().then_some(true),
            default_cursor_field: self
                .cursor_field
                .map(|c| vec![c.to_string()])
                .unwrap_or_default(),
            source_defined_primary_key: self
                .primary_key
                .iter()
                .map(|k| vec![(*k).to_string()])
                .collect(),
            namespace: None,
            is_resumable: Some(self.supports_incremental()),
        }
    }
}

/// A permissive schema naming the key columns, for a stream whose record type is not generated yet.
fn fallback_schema(def: &StreamDef) -> Value {
    let mut props = serde_json::Map::new();
    for k in def.primary_key {
        props.insert((*k).to_string(), serde_json::json!({"type": "string"}));
    }
    serde_json::json!({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
        "additionalProperties": true, "properties": props})
}

/// Every stream the connector reads, in catalog order.
pub const STREAMS: &[StreamDef] = &[
    StreamDef {
        name: "users",
        primary_key: &["id"],
        cursor_field: Some("lastUpdated"),
        reader: Reader::SortedSearch {
            path: "/api/v1/users",
            limit: 200,
        },
    },
    StreamDef {
        name: "groups",
        primary_key: &["id"],
        cursor_field: Some("lastUpdated"),
        reader: Reader::SortedSearch {
            path: "/api/v1/groups",
            limit: 200,
        },
    },
    StreamDef {
        name: "group_members",
        primary_key: &["group_id", "user_id"],
        cursor_field: Some("lastMembershipUpdated"),
        reader: Reader::GroupMembers,
    },
    StreamDef {
        name: "applications",
        primary_key: &["id"],
        cursor_field: None,
        reader: Reader::List {
            path: "/api/v1/apps?limit=200",
            extract: Extract::Array,
        },
    },
    StreamDef {
        name: "application_users",
        primary_key: &["app_id", "id"],
        cursor_field: None,
        reader: Reader::FanOut {
            parent: APPS,
            path: "/api/v1/apps/{id}/users?limit=500",
            extract: Extract::Array,
            column: "app_id",
        },
    },
    StreamDef {
        name: "application_groups",
        primary_key: &["app_id", "id"],
        cursor_field: None,
        reader: Reader::FanOut {
            parent: APPS,
            path: "/api/v1/apps/{id}/groups?limit=200",
            extract: Extract::Array,
            column: "app_id",
        },
    },
    StreamDef {
        name: "system_log",
        primary_key: &["uuid"],
        cursor_field: Some("published"),
        reader: Reader::SystemLog,
    },
    StreamDef {
        name: "user_types",
        primary_key: &["id"],
        cursor_field: None,
        reader: Reader::List {
            path: "/api/v1/meta/types/user",
            extract: Extract::Array,
        },
    },
    StreamDef {
        name: "custom_roles",
        primary_key: &["id"],
        cursor_field: None,
        reader: Reader::List {
            path: "/api/v1/iam/roles",
            extract: Extract::Field("roles"),
        },
    },
    StreamDef {
        name: "custom_role_permissions",
        primary_key: &["role_id", "label"],
        cursor_field: None,
        reader: Reader::FanOut {
            parent: CUSTOM_ROLES,
            path: "/api/v1/iam/roles/{id}/permissions",
            extract: Extract::Field("permissions"),
            column: "role_id",
        },
    },
];

pub fn find(name: &str) -> Option<&'static StreamDef> {
    STREAMS.iter().find(|s| s.name == name)
}
