//! The stream manifest: the one declaration of every stream the connector reads.
//!
//! Each [`Stream`] says where its records live (API, endpoint, extraction, parent by stream name),
//! how they are keyed and read (primary key, cursor, reader kind, derived columns), what they need
//! (OAuth scope; the rate-limit bucket follows from the endpoint through [`bucket_of`]) and which
//! generated record type describes them (`module`, `item`, `record`, `columns`).
//!
//! Everything else derives from this table: the connector's registry and catalog, the record types
//! and their JSON Schemas (`crates/okta-records/tools/gen_records.py` reads [`STREAMS`] through the
//! `dump` example), the registry of `okta-records`, the README's stream table, the default OAuth
//! scopes and the pacing families. CI regenerates them all and fails on any difference.
//!
//! This crate depends on nothing of the workspace: it is the bottom layer.

mod buckets;
mod excluded;
mod table;

pub use buckets::{bucket_of, BUCKETS};
pub use excluded::{Excluded, Reason, EXCLUDED};
pub use table::{
    ADMIN_ROLE_TYPES, APP_TARGET_ROLES, ASA_USER_STATUSES, GROUP_TARGET_ROLES, POLICY_TYPES,
    STREAMS, UPDATED_AT,
};

use serde::Serialize;

/// Which API a stream reads: the Okta org, or Advanced Server Access (its own base URL and token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Api {
    Okta,
    Asa,
}

/// Where the records sit in a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Extract {
    /// The body is a JSON array of records.
    Array,
    /// The body is an object whose named field holds the array; `_links.next.href` pages it.
    Field(&'static str),
    /// The body is one record.
    Object,
}

/// Where a stream's key is found in its records, when other streams fan out over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum IdFrom {
    /// A top-level string field (`id`, or `name` for ASA).
    Field(&'static str),
    /// The last path segment of `_links.schema.href` (user types → their schema id).
    SchemaLink,
    /// A string field of a top-level object (`primary.name`: linked object definitions).
    Nested(&'static str, &'static str),
}

/// Columns a record's own fields give it (besides parent ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Derive {
    None,
    /// `user_id` from `user.id` (device users).
    UserIdFromUser,
    /// `primary_name` from `primary.name` (linked object definitions).
    PrimaryName,
    /// `notification_type` from `notificationType` (role subscriptions).
    NotificationType,
    /// `target_id` from `id` (a group, an app instance), else `name` (a whole catalog app): role targets.
    TargetId,
    /// The items are bare JSON strings (app ids), not objects: each becomes the record
    /// `{column: item}` (interclient trust mappings). An item that is no string is an error.
    StringAs(&'static str),
    /// The items are bare links (`{"_links":{"self":{"href":…}}}`, linked object values): the column
    /// gets the last path segment of `_links.self.href` (the linked user's id).
    SelfLinkId(&'static str),
}

/// One of several endpoints a fan-out reads into the same stream, each adding a constant column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Variant {
    /// The path read (with its query), its placeholders those of the stream's `endpoint`.
    pub endpoint: &'static str,
    /// The value its rows get in the stream's `type_column`.
    pub value: &'static str,
    /// The parent kinds (the parent's `kind_from` field) it is read for; empty: every parent. The
    /// others are skipped without a request (Okta answers an error for them).
    pub kinds: &'static [&'static str],
}

/// How a stream is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Reader {
    /// The endpoint read whole (a list or a singleton); `{type}` loops over the stream's `types`
    /// and the keys of `more_types`.
    List,
    /// One list per key of the `parent` stream: the endpoint's placeholder (`{id}`) is the parent key,
    /// written to `parent_column` of each record. With `more_types`, one list per parent key and
    /// `{type}` value (a cross product: every user × every linked object relationship). When the parent is itself a fan-out, the key is the
    /// chain of keys from the top (a user's id, then its role assignment's): the endpoint's
    /// placeholders take them in order, and each goes to its own column (the ancestors'
    /// `parent_column`s, then this stream's).
    FanOut,
    /// A list whose every item is read again by id for its full form (profile mappings).
    ListThenDetail { detail: &'static str },
    /// `search=lastUpdated gt "…"`; `sorted` adds `sortBy=lastUpdated` so every page can be
    /// checkpointed; `extra` is appended to every query.
    Search {
        limit: u32,
        sorted: bool,
        extra: &'static str,
    },
    /// Group memberships, following the System Log and each group's `lastMembershipUpdated`.
    GroupMembers,
    /// The System Log polling cursor.
    SystemLog,
    /// ASA audit events, newest first down to the saved cursor.
    AsaAudits,
    /// The ASA team: settings and statistics as one record.
    AsaTeam,
}

/// Which OpenAPI spec describes a stream's records (the generator reads the vendored copy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Spec {
    Management,
    OAuth,
    Asa,
    /// Written by hand in the generator's `CUSTOM_SCHEMAS` (the spec lacks or misdescribes it).
    Custom,
}

/// A column the connector adds to the API object (a parent key, a derived or a constant column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Column {
    pub name: &'static str,
    pub doc: &'static str,
    /// The Rust type of an optional column; `None`: a required string key column.
    pub rust: Option<&'static str>,
}

/// One stream: everything the connector, the generators and the docs know about it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Stream {
    pub name: &'static str,
    pub api: Api,
    /// The path read (with its query). `{id}` (or any other `{name}`): the parent key, the chain of
    /// keys in order under a fan-out parent; `{type}`: each of `types`; `{team}`: the ASA team.
    pub endpoint: &'static str,
    pub extract: Extract,
    pub reader: Reader,
    pub primary_key: &'static [&'static str],
    /// The cursor of incremental streams; `None`: full refresh only.
    pub cursor_field: Option<&'static str>,
    /// The stream whose keys drive this fan-out, by name.
    pub parent: Option<&'static str>,
    /// The column that receives the parent key.
    pub parent_column: Option<&'static str>,
    /// Values of `{type}`.
    pub types: &'static [&'static str],
    /// Further `{type}` values: the keys of this stream (custom role ids after the standard types;
    /// linked object relationship names).
    pub more_types: Option<&'static str>,
    /// The column that receives the `{type}` value (or the value of each of `variants`).
    pub type_column: Option<&'static str>,
    /// A fan-out reading several endpoints (the first is `endpoint`), each adding its constant.
    pub variants: &'static [Variant],
    /// The field of this stream's records its children may filter parents on (`Variant::kinds`).
    pub kind_from: Option<&'static str>,
    pub derive: Derive,
    /// A constant column added to every record (the singleton `threat_insight` key).
    pub constant: Option<(&'static str, &'static str)>,
    /// Incremental reads emit tombstones (`_ab_cdc_deleted_at`) from the change feed.
    pub cdc: bool,
    /// The OAuth scope that grants reading it (empty for ASA, which has its own API keys).
    pub scope: &'static str,
    /// Whether the catalog lists it; `false` for a list read only as another stream's parent.
    pub in_catalog: bool,
    /// Where children find this stream's key.
    pub key_from: IdFrom,
    /// The request listing every row when this stream is a parent, if not `endpoint`.
    pub list_all: Option<&'static str>,
    /// The record-type module of `okta-records` (an area: `users`, `groups`, ...).
    pub module: &'static str,
    pub spec: Spec,
    /// The API object's type name (as the spec calls it).
    pub item: &'static str,
    /// The wrapper record's type name, when the connector adds columns.
    pub record: Option<&'static str>,
    /// Further GET endpoints of the spec answering the same object (their examples feed tests).
    pub gets: &'static [&'static str],
    /// Further spec schemas merged into the item.
    pub merge: &'static [&'static str],
    /// The columns the connector adds.
    pub columns: &'static [Column],
    /// Top-level fields of the API object the connector leaves out of its records and schema
    /// (secret material a list answers along with the data).
    pub omit: &'static [&'static str],
    /// A remark for the README's stream table (what a reader should know beyond the endpoint).
    pub notes: &'static str,
}

impl Stream {
    /// Whether the stream has an incremental mode.
    #[must_use]
    pub const fn supports_incremental(&self) -> bool {
        self.cursor_field.is_some()
    }

    /// The record type's Rust path inside `okta-records` (`users::UserFactorRecord`).
    #[must_use]
    pub fn record_type(&self) -> String {
        format!("{}::{}", self.module, self.record.unwrap_or(self.item))
    }

    /// The request listing every row of this stream, for the children that fan out over it.
    #[must_use]
    pub fn parent_listing(&self) -> &'static str {
        self.list_all.unwrap_or(self.endpoint)
    }

    /// Every endpoint the stream reads: `variants`' when it has some, else `endpoint`.
    pub fn endpoints(&self) -> impl Iterator<Item = &'static str> + '_ {
        let one = self.variants.is_empty().then_some(self.endpoint);
        one.into_iter()
            .chain(self.variants.iter().map(|v| v.endpoint))
    }

    /// The columns receiving a fan-out's chain of parent keys, from the top ancestor down: the
    /// parents' `parent_column`s, then this stream's (one for a single-level fan-out; `None`: that
    /// key is not written). Empty for a stream that is no fan-out.
    #[must_use]
    pub fn key_columns(&self) -> Vec<Option<&'static str>> {
        let mut cols = Vec::new();
        let mut at = Some(self);
        // Bounded: a manifest test holds that parent chains end (no cycles).
        for _ in 0..8 {
            let Some(s) = at.filter(|s| s.reader == Reader::FanOut) else {
                break;
            };
            cols.push(s.parent_column);
            at = s.parent.and_then(stream);
        }
        cols.reverse();
        cols
    }

    /// The rate-limit bucket family of its endpoint.
    #[must_use]
    pub fn bucket(&self) -> &'static str {
        bucket_of(self.endpoint.split('?').next().unwrap_or(self.endpoint))
    }
}

/// The inventory of the vendored specs' GET endpoints (`inventory.tsv`: spec, method, path,
/// operation, tag, lifecycle, SKUs, response shape, item schema, query parameters, OAuth scopes,
/// whether an API token may read it).
pub const INVENTORY: &str = include_str!("../inventory.tsv");

/// The list endpoints of [`INVENTORY`] (an array, or an object wrapping one): (spec, path).
pub fn inventory_lists() -> impl Iterator<Item = (&'static str, &'static str)> {
    INVENTORY.lines().skip(1).filter_map(|l| {
        let f: Vec<&str> = l.split('\t').collect();
        let shape = f.get(7)?;
        (f.get(1) == Some(&"GET") && (*shape == "array" || shape.contains("list in")))
            .then(|| (f[0], f[2]))
    })
}

/// A path with every `{parameter}` written `{}`, so `/apps/{appId}/grants` meets `/apps/{id}/grants`.
#[must_use]
pub fn path_shape(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let mut out = String::with_capacity(path.len());
    let mut inside = false;
    for c in path.chars() {
        match c {
            '{' => {
                inside = true;
                out.push_str("{}");
            }
            '}' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

/// Every stream the catalog lists, in catalog order.
pub fn catalog() -> impl Iterator<Item = &'static Stream> {
    STREAMS.iter().filter(|s| s.in_catalog)
}

/// A stream the catalog lists, by name.
#[must_use]
pub fn find(name: &str) -> Option<&'static Stream> {
    catalog().find(|s| s.name == name)
}

/// Any stream of the manifest by name, parent-only lists included.
#[must_use]
pub fn stream(name: &str) -> Option<&'static Stream> {
    STREAMS.iter().find(|s| s.name == name)
}

/// The OAuth scopes every catalog stream of the Okta API needs, deduplicated, in catalog order.
#[must_use]
pub fn scopes() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for s in STREAMS.iter().filter(|s| s.api == Api::Okta) {
        if !s.scope.is_empty() && !out.contains(&s.scope) {
            out.push(s.scope);
        }
    }
    out
}

#[cfg(test)]
mod tests;
