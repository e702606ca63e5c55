//! The stream registry: the manifest's streams (`okta-manifest`) as the connector reads them.
//!
//! Every stream is declared once, in the manifest; this module adds what the connector derives from
//! an entry: its published JSON Schema (the record type's, from `okta-records`, plus the change
//! columns), its catalog entry, and its parent resolved by name.

pub mod asa;
pub mod changes;
pub mod context;
pub mod cursor;
pub mod delta;
pub mod incremental;
pub mod list;
pub mod members;
#[cfg(test)]
mod readme;
pub mod system_log;

use airbyte_protocol::{AirbyteStream, SyncMode};
pub use okta_manifest::{
    Api, Derive, Extract, IdFrom, Reader, Stream as StreamDef, ADMIN_ROLE_TYPES, ASA_USER_STATUSES,
    POLICY_TYPES,
};
use serde_json::Value;

/// A list of parent objects whose keys drive a fan-out stream: a manifest stream read as a parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Parent {
    /// The parent stream's name, used in logs and in the per-sync parent cache.
    pub name: &'static str,
    /// The request listing every parent; `{type}` is replaced by each of `types` in turn.
    pub path: &'static str,
    pub extract: Extract,
    pub id: IdFrom,
    pub types: &'static [&'static str],
    pub api: Api,
    /// The parent's own parent, when it is a fan-out: its keys are listed by fanning out over it.
    pub over: Option<&'static str>,
    /// The field of its records whose value each key carries as its kind (`ParentKey::kind`).
    pub kind: Option<&'static str>,
}

/// One parent's key: the chain of keys from the top ancestor down (one for a single-level fan-out:
/// a user's id; two under a nested parent: the user's id, then its role assignment's), and the
/// parent record's kind when the parent declares one (a role assignment's `type`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParentKey {
    pub ids: Vec<String>,
    pub kind: Option<String>,
}

impl ParentKey {
    /// A one-level key.
    pub fn one(id: impl Into<String>) -> Self {
        Self {
            ids: vec![id.into()],
            kind: None,
        }
    }

    /// The parent's own key (the last of the chain).
    pub fn last(&self) -> &str {
        self.ids.last().map(String::as_str).unwrap_or_default()
    }
}

impl Parent {
    /// The manifest stream `name` as a parent list.
    pub fn named(name: &str) -> Option<Parent> {
        okta_manifest::stream(name).map(|s| Parent {
            name: s.name,
            path: s.parent_listing(),
            extract: s.extract,
            id: s.key_from,
            types: s.types,
            api: s.api,
            over: match s.reader {
                Reader::FanOut => s.parent,
                _ => None,
            },
            kind: s.kind_from,
        })
    }
}

/// What the connector derives from a manifest entry.
pub trait Catalogued {
    /// The stream's parent list, resolved by name.
    fn parent_list(&self) -> Option<Parent>;
    /// The list whose keys extend `types` (custom role ids after the standard role types).
    fn more_types_list(&self) -> Option<Parent>;
    /// The stream's JSON Schema, generated from its Rust record type, with the change columns.
    fn schema(&self) -> Value;
    /// The stream as `discover` lists it (with `schema`, which discovery may have refined).
    fn airbyte_stream(&self, schema: Value) -> AirbyteStream;
}

impl Catalogued for StreamDef {
    fn parent_list(&self) -> Option<Parent> {
        self.parent.and_then(Parent::named)
    }

    fn more_types_list(&self) -> Option<Parent> {
        self.more_types.and_then(Parent::named)
    }

    fn schema(&self) -> Value {
        let mut schema =
            okta_records::stream_schema(self.name).unwrap_or_else(|| fallback_schema(self));
        if self.cdc {
            if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
                if self.cursor_field == Some(delta::UPDATED_AT) {
                    props.insert(
                        delta::UPDATED_AT.into(),
                        timestamp_column(
                            "When the connector read this row, or (on a tombstone) when Okta removed it: the order in which a destination applies rows and tombstones.",
                        ),
                    );
                }
                props.insert(
                    changes::DELETED_AT.into(),
                    timestamp_column(
                        "When Okta deleted this row (a tombstone derived from the System Log); null on live rows.",
                    ),
                );
            }
        }
        schema
    }

    fn airbyte_stream(&self, schema: Value) -> AirbyteStream {
        let mut modes = vec![SyncMode::FullRefresh];
        if self.supports_incremental() {
            modes.push(SyncMode::Incremental);
        }
        AirbyteStream {
            name: self.name.to_string(),
            json_schema: schema,
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

/// A permissive schema naming the key columns, for a stream whose record type is missing.
fn fallback_schema(def: &StreamDef) -> Value {
    let mut props = serde_json::Map::new();
    for k in def.primary_key {
        props.insert((*k).to_string(), serde_json::json!({"type": "string"}));
    }
    serde_json::json!({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
        "additionalProperties": true, "properties": props})
}

/// Every stream of the catalog, in catalog order.
pub fn all() -> impl Iterator<Item = &'static StreamDef> {
    okta_manifest::catalog()
}

/// A catalog stream by name.
pub fn find(name: &str) -> Option<&'static StreamDef> {
    okta_manifest::find(name)
}

/// The README's stream table, one row per catalog stream, from the manifest.
pub fn stream_table() -> String {
    let asa = all().filter(|s| s.api == okta_manifest::Api::Asa).count();
    let okta = all().count() - asa;
    let mut t = format!(
        "{} streams: {okta} from the Okta org, {asa} from Advanced Server Access (listed by `discover` only \
         when the `asa` block is configured).\n\n",
        okta + asa
    );
    t.push_str(
        "| stream | endpoint | primary key | sync | scope | rate-limit bucket |\n|---|---|---|---|---|---|\n",
    );
    for s in all() {
        let gets: Vec<String> = s.endpoints().map(|e| format!("`GET {e}`")).collect();
        let mut endpoint = gets.join(" and ");
        if let Some(parent) = s.parent {
            endpoint.push_str(&format!(" for every `{parent}` row"));
        }
        if !s.notes.is_empty() {
            endpoint.push_str(&format!(" ({})", s.notes));
        }
        let sync = match s.cursor_field {
            None => "full refresh".to_string(),
            Some(c) if c == delta::UPDATED_AT => format!("incremental on `{c}` (change feed)"),
            Some(c) if s.cdc => format!("incremental on `{c}`, deletions from the change feed"),
            Some(c) => format!("incremental on `{c}`"),
        };
        let scope = if s.scope.is_empty() {
            "ASA API key".to_string()
        } else {
            format!("`{}`", s.scope)
        };
        let bucket = match s.api {
            Api::Okta => format!("`{}`", s.bucket()),
            Api::Asa => "ASA".to_string(),
        };
        t.push_str(&format!(
            "| {} | {endpoint} | {} | {sync} | {scope} | {bucket} |\n",
            s.name,
            s.primary_key.join(", "),
        ));
    }
    t.push_str(&format!(
        "\nEvery scope the Okta streams use, for an OAuth service app that should read them all (the \
         `scope` setting): `{}`.\n",
        okta_manifest::scopes().join(" ")
    ));
    t
}

/// The README's "not streamed" table: every list endpoint of the inventory no stream reads, with
/// the reason, from the manifest's declared exclusions.
pub fn not_streamed_table() -> String {
    let mut t = String::from("| endpoint | why not streamed |\n|---|---|\n");
    for e in okta_manifest::EXCLUDED {
        let mut why = e.reason.text();
        if !e.note.is_empty() {
            why.push_str(&format!(" ({})", e.note));
        }
        t.push_str(&format!("| `GET {}` | {why} |\n", e.endpoint));
    }
    t
}

/// The JSON Schema of a nullable change column holding a timestamp with its zone.
fn timestamp_column(description: &str) -> Value {
    serde_json::json!({
        "description": description,
        "type": ["null", "string"],
        "format": "date-time",
        "airbyte_type": "timestamp_with_timezone"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stream_resolves_its_parents_and_has_a_schema() {
        for def in all() {
            if def.parent.is_some() {
                assert!(def.parent_list().is_some(), "{}", def.name);
            }
            if def.more_types.is_some() {
                assert!(def.more_types_list().is_some(), "{}", def.name);
            }
            assert!(
                okta_records::stream_schema(def.name).is_some(),
                "{}",
                def.name
            );
        }
    }

    #[test]
    fn the_readme_lists_every_stream() {
        readme::check_section("streams", &stream_table(), "stream table");
    }

    #[test]
    fn the_readme_lists_every_endpoint_not_streamed() {
        readme::check_section("not-streamed", &not_streamed_table(), "not-streamed table");
    }
}
