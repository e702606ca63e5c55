//! The stream registry: every stream the connector reads, its key, cursor, schema and how it is read.
//!
//! Schemas come from the Rust record types in `okta-records`; this module says where each stream's
//! records live (endpoint, paging shape, parents) and which columns the connector adds.

pub mod asa;
pub mod changes;
pub mod cursor;
pub mod delta;
pub mod incremental;
pub mod list;
pub mod members;
pub mod system_log;

use crate::okta::page::Extract;
use airbyte_protocol::{AirbyteStream, SyncMode};
use serde_json::Value;

/// Which API a stream reads: the Okta org, or Advanced Server Access (its own base URL and token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    Okta,
    Asa,
}

/// Where a parent's key is found in its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdFrom {
    /// A top-level string field (`id`, or `name` for ASA).
    Field(&'static str),
    /// The last path segment of `_links.schema.href` (user types → their schema id).
    SchemaLink,
}

/// A list of parent objects whose keys drive a fan-out stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Parent {
    /// Name used in logs and in the per-sync parent cache.
    pub name: &'static str,
    /// The list's path; `{type}` is replaced by each of `types` in turn when there are any.
    pub path: &'static str,
    pub extract: Extract,
    pub id: IdFrom,
    pub types: &'static [&'static str],
    pub api: Api,
}

const fn okta_parent(name: &'static str, path: &'static str, extract: Extract) -> Parent {
    Parent {
        name,
        path,
        extract,
        id: IdFrom::Field("id"),
        types: &[],
        api: Api::Okta,
    }
}

const fn asa_parent(name: &'static str, path: &'static str) -> Parent {
    Parent {
        name,
        path,
        extract: Extract::Field("list"),
        id: IdFrom::Field("name"),
        types: &[],
        api: Api::Asa,
    }
}

/// Every policy type `GET /api/v1/policies?type=` accepts; types an org lacks are skipped.
pub const POLICY_TYPES: &[&str] = &[
    "OKTA_SIGN_ON",
    "PASSWORD",
    "MFA_ENROLL",
    "IDP_DISCOVERY",
    "ACCESS_POLICY",
    "PROFILE_ENROLLMENT",
    "POST_AUTH_SESSION",
    "ENTITY_RISK",
    "DEVICE_SIGNAL_COLLECTION",
    "SESSION_VIOLATION_DETECTION",
    "CLIENT_UPDATE",
    "IDENTITY_CLAIM_SOURCING",
];

/// The standard admin role types whose notification subscriptions are read (custom roles' too, by id).
pub const ADMIN_ROLE_TYPES: &[&str] = &[
    "SUPER_ADMIN",
    "ORG_ADMIN",
    "APP_ADMIN",
    "USER_ADMIN",
    "HELP_DESK_ADMIN",
    "READ_ONLY_ADMIN",
    "MOBILE_ADMIN",
    "API_ACCESS_MANAGEMENT_ADMIN",
    "REPORT_ADMIN",
    "GROUP_MEMBERSHIP_ADMIN",
];

/// ASA user statuses (the list endpoint returns one status at a time).
pub const ASA_USER_STATUSES: &[&str] = &["ACTIVE", "DISABLED", "DELETED"];

/// Every user, DEPROVISIONED included: the plain list hides them, search does not.
pub const USERS: Parent = okta_parent(
    "users",
    "/api/v1/users?search=lastUpdated%20gt%20%221970-01-01T00%3A00%3A00.000Z%22&limit=200",
    Extract::Array,
);
pub const GROUPS: Parent = okta_parent("groups", "/api/v1/groups?limit=200", Extract::Array);
pub const APPS: Parent = okta_parent("applications", "/api/v1/apps?limit=200", Extract::Array);
pub const DEVICES: Parent = okta_parent("devices", "/api/v1/devices?limit=200", Extract::Array);
pub const CUSTOM_ROLES: Parent =
    okta_parent("custom_roles", "/api/v1/iam/roles", Extract::Field("roles"));
pub const RESOURCE_SETS: Parent = okta_parent(
    "resource_sets",
    "/api/v1/iam/resource-sets",
    Extract::Field("resource-sets"),
);
pub const ROLE_ASSIGNEES: Parent = okta_parent(
    "role_assignees",
    "/api/v1/iam/assignees/users",
    Extract::Field("value"),
);
pub const AUTH_SERVERS: Parent = okta_parent(
    "authorization_servers",
    "/api/v1/authorizationServers?limit=200",
    Extract::Array,
);
pub const BRANDS: Parent = okta_parent("brands", "/api/v1/brands?limit=200", Extract::Array);
pub const USER_TYPES: Parent = Parent {
    name: "user_types",
    path: "/api/v1/meta/types/user",
    extract: Extract::Array,
    id: IdFrom::SchemaLink,
    types: &[],
    api: Api::Okta,
};
pub const POLICIES: Parent = Parent {
    name: "policies",
    path: "/api/v1/policies?type={type}",
    extract: Extract::Array,
    id: IdFrom::Field("id"),
    types: POLICY_TYPES,
    api: Api::Okta,
};
pub const ASA_USERS: Parent = Parent {
    name: "asa_users",
    path: "/v1/teams/{team}/users?count=100&status={type}",
    extract: Extract::Field("list"),
    id: IdFrom::Field("name"),
    types: ASA_USER_STATUSES,
    api: Api::Asa,
};
pub const ASA_GROUPS: Parent = asa_parent("asa_groups", "/v1/teams/{team}/groups?count=100");
pub const ASA_PROJECTS: Parent = asa_parent("asa_projects", "/v1/teams/{team}/projects?count=100");

/// Columns a record's own fields give it (besides parent ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derive {
    None,
    /// `user_id` from `user.id` (device users).
    UserIdFromUser,
    /// `primary_name` from `primary.name` (linked object definitions).
    PrimaryName,
    /// `notification_type` from `notificationType` (role subscriptions).
    NotificationType,
}

/// How a stream is read.
#[derive(Debug, Clone, Copy)]
pub enum Reader {
    /// A list (or singleton) read whole; `{type}` loops over `types` when there are any.
    List {
        path: &'static str,
        extract: Extract,
        types: &'static [&'static str],
        /// Further types: the keys of this parent list (custom role ids after the standard role types).
        more_types: Option<Parent>,
        type_column: Option<&'static str>,
    },
    /// One list per parent: `{id}` in `path` is the parent key, written to `column` of each record.
    FanOut {
        parent: Parent,
        path: &'static str,
        extract: Extract,
        column: Option<&'static str>,
    },
    /// A list whose every item is read again by id for its full form (profile mappings).
    ListThenDetail {
        path: &'static str,
        detail: &'static str,
    },
    /// `search=lastUpdated gt "…"`; `sorted` adds `sortBy=lastUpdated` so every page can be checkpointed.
    Search {
        path: &'static str,
        limit: u32,
        sorted: bool,
        extra: &'static str,
    },
    /// Group memberships, re-read only for groups whose `lastMembershipUpdated` moved.
    GroupMembers,
    /// The System Log polling cursor.
    SystemLog,
    /// ASA audit events, newest first down to the saved cursor.
    AsaAudits,
    /// The ASA team: settings and statistics as one record.
    AsaTeam,
}

/// One stream of the catalog.
#[derive(Debug, Clone, Copy)]
pub struct StreamDef {
    pub name: &'static str,
    pub primary_key: &'static [&'static str],
    /// The cursor of incremental streams; `None`: full refresh only.
    pub cursor_field: Option<&'static str>,
    pub reader: Reader,
    pub api: Api,
    pub derive: Derive,
    /// A constant column added to every record (the singleton `threat_insight` key).
    pub constant: Option<(&'static str, &'static str)>,
    /// Incremental reads emit tombstones (`_ab_cdc_deleted_at`) from the change feed.
    pub cdc: bool,
}

impl StreamDef {
    pub fn supports_incremental(&self) -> bool {
        self.cursor_field.is_some()
    }

    /// The stream's JSON Schema, generated from its Rust record type.
    pub fn schema(&self) -> Value {
        let mut schema =
            okta_records::stream_schema(self.name).unwrap_or_else(|| fallback_schema(self));
        if self.cdc {
            if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
                if self.cursor_field == Some(delta::UPDATED_AT) {
                    props.insert(
                        delta::UPDATED_AT.into(),
                        serde_json::json!({
                            "description": "When the connector read this row, or (on a tombstone) when Okta removed it: the order in which a destination applies rows and tombstones.",
                            "type": ["null", "string"],
                            "format": "date-time",
                            "airbyte_type": "timestamp_with_timezone"
                        }),
                    );
                }
                props.insert(
                    changes::DELETED_AT.into(),
                    serde_json::json!({
                        "description": "When Okta deleted this row (a tombstone derived from the System Log); null on live rows.",
                        "type": ["null", "string"],
                        "format": "date-time",
                        "airbyte_type": "timestamp_with_timezone"
                    }),
                );
            }
        }
        schema
    }

    /// The stream as `discover` lists it (with `schema`, which discovery may have refined).
    pub fn airbyte_stream(&self, schema: Value) -> AirbyteStream {
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

const fn base(
    name: &'static str,
    primary_key: &'static [&'static str],
    reader: Reader,
) -> StreamDef {
    StreamDef {
        name,
        primary_key,
        cursor_field: None,
        reader,
        api: Api::Okta,
        derive: Derive::None,
        constant: None,
        cdc: false,
    }
}

const fn list(name: &'static str, path: &'static str, extract: Extract) -> StreamDef {
    base(
        name,
        &["id"],
        Reader::List {
            path,
            extract,
            types: &[],
            more_types: None,
            type_column: None,
        },
    )
}

const fn fan_out(
    name: &'static str,
    primary_key: &'static [&'static str],
    parent: Parent,
    path: &'static str,
    extract: Extract,
    column: &'static str,
) -> StreamDef {
    base(
        name,
        primary_key,
        Reader::FanOut {
            parent,
            path,
            extract,
            column: Some(column),
        },
    )
}

const fn asa_list(name: &'static str, path: &'static str) -> StreamDef {
    StreamDef {
        api: Api::Asa,
        ..list(name, path, Extract::Field("list"))
    }
}

const fn asa_fan_out(
    name: &'static str,
    primary_key: &'static [&'static str],
    parent: Parent,
    path: &'static str,
    column: &'static str,
) -> StreamDef {
    StreamDef {
        api: Api::Asa,
        ..fan_out(
            name,
            primary_key,
            parent,
            path,
            Extract::Field("list"),
            column,
        )
    }
}

use Extract::{Array, Field, Object};

/// Every stream the connector reads, in catalog order (STREAMS.md's).
pub const STREAMS: &[StreamDef] = &[
    StreamDef {
        cursor_field: Some("lastUpdated"),
        cdc: true,
        ..base(
            "users",
            &["id"],
            Reader::Search {
                path: "/api/v1/users",
                limit: 200,
                sorted: true,
                extra: "",
            },
        )
    },
    StreamDef {
        cursor_field: Some(delta::UPDATED_AT),
        cdc: true,
        ..fan_out(
            "user_factors",
            &["user_id", "id"],
            USERS,
            "/api/v1/users/{id}/factors",
            Array,
            "user_id",
        )
    },
    StreamDef {
        cursor_field: Some(delta::UPDATED_AT),
        cdc: true,
        ..fan_out(
            "user_role_assignments",
            &["user_id", "id"],
            ROLE_ASSIGNEES,
            "/api/v1/users/{id}/roles",
            Array,
            "user_id",
        )
    },
    StreamDef {
        cursor_field: Some("lastUpdated"),
        cdc: true,
        ..base(
            "groups",
            &["id"],
            Reader::Search {
                path: "/api/v1/groups",
                limit: 200,
                sorted: true,
                extra: "",
            },
        )
    },
    StreamDef {
        cursor_field: Some("lastMembershipUpdated"),
        cdc: true,
        ..base(
            "group_members",
            &["group_id", "user_id"],
            Reader::GroupMembers,
        )
    },
    StreamDef {
        cursor_field: Some(delta::UPDATED_AT),
        cdc: true,
        ..fan_out(
            "group_owners",
            &["group_id", "id"],
            GROUPS,
            "/api/v1/groups/{id}/owners",
            Array,
            "group_id",
        )
    },
    list("group_rules", "/api/v1/groups/rules?limit=200", Array),
    fan_out(
        "group_role_assignments",
        &["group_id", "id"],
        GROUPS,
        "/api/v1/groups/{id}/roles",
        Array,
        "group_id",
    ),
    list("applications", "/api/v1/apps?limit=200", Array),
    StreamDef {
        cursor_field: Some(delta::UPDATED_AT),
        cdc: true,
        ..fan_out(
            "application_users",
            &["app_id", "id"],
            APPS,
            "/api/v1/apps/{id}/users?limit=500",
            Array,
            "app_id",
        )
    },
    StreamDef {
        cursor_field: Some(delta::UPDATED_AT),
        cdc: true,
        ..fan_out(
            "application_groups",
            &["app_id", "id"],
            APPS,
            "/api/v1/apps/{id}/groups?limit=200",
            Array,
            "app_id",
        )
    },
    StreamDef {
        cursor_field: Some("published"),
        ..base("system_log", &["uuid"], Reader::SystemLog)
    },
    StreamDef {
        cursor_field: Some("lastUpdated"),
        cdc: true,
        ..base(
            "devices",
            &["id"],
            Reader::Search {
                path: "/api/v1/devices",
                limit: 200,
                sorted: false,
                extra: "&expand=userSummary",
            },
        )
    },
    StreamDef {
        derive: Derive::UserIdFromUser,
        cursor_field: Some(delta::UPDATED_AT),
        cdc: true,
        ..fan_out(
            "device_users",
            &["device_id", "user_id"],
            DEVICES,
            "/api/v1/devices/{id}/users",
            Array,
            "device_id",
        )
    },
    list("user_types", "/api/v1/meta/types/user", Array),
    base(
        "user_schemas",
        &["id"],
        Reader::FanOut {
            parent: USER_TYPES,
            path: "/api/v1/meta/schemas/user/{id}",
            extract: Object,
            column: None,
        },
    ),
    list(
        "group_schemas",
        "/api/v1/meta/schemas/group/default",
        Object,
    ),
    fan_out(
        "app_user_schemas",
        &["app_id", "id"],
        APPS,
        "/api/v1/meta/schemas/apps/{id}/default",
        Object,
        "app_id",
    ),
    list("ui_schemas", "/api/v1/meta/uischemas", Array),
    StreamDef {
        primary_key: &["primary_name"],
        derive: Derive::PrimaryName,
        ..list(
            "linked_object_definitions",
            "/api/v1/meta/schemas/user/linkedObjects",
            Array,
        )
    },
    list("custom_roles", "/api/v1/iam/roles", Field("roles")),
    fan_out(
        "custom_role_permissions",
        &["role_id", "label"],
        CUSTOM_ROLES,
        "/api/v1/iam/roles/{id}/permissions",
        Field("permissions"),
        "role_id",
    ),
    list(
        "resource_sets",
        "/api/v1/iam/resource-sets",
        Field("resource-sets"),
    ),
    fan_out(
        "resource_set_resources",
        &["resource_set_id", "id"],
        RESOURCE_SETS,
        "/api/v1/iam/resource-sets/{id}/resources",
        Field("resources"),
        "resource_set_id",
    ),
    StreamDef {
        derive: Derive::NotificationType,
        ..base(
            "role_subscriptions",
            &["role_type", "notification_type"],
            Reader::List {
                path: "/api/v1/roles/{type}/subscriptions",
                extract: Array,
                types: ADMIN_ROLE_TYPES,
                more_types: Some(CUSTOM_ROLES),
                type_column: Some("role_type"),
            },
        )
    },
    base(
        "policies",
        &["id"],
        Reader::List {
            path: "/api/v1/policies?type={type}",
            extract: Array,
            types: POLICY_TYPES,
            more_types: None,
            type_column: None,
        },
    ),
    fan_out(
        "policy_rules",
        &["policy_id", "id"],
        POLICIES,
        "/api/v1/policies/{id}/rules",
        Array,
        "policy_id",
    ),
    list("authenticators", "/api/v1/authenticators", Array),
    list(
        "authorization_servers",
        "/api/v1/authorizationServers?limit=200",
        Array,
    ),
    fan_out(
        "authorization_server_scopes",
        &["auth_server_id", "id"],
        AUTH_SERVERS,
        "/api/v1/authorizationServers/{id}/scopes?limit=200",
        Array,
        "auth_server_id",
    ),
    fan_out(
        "authorization_server_claims",
        &["auth_server_id", "id"],
        AUTH_SERVERS,
        "/api/v1/authorizationServers/{id}/claims",
        Array,
        "auth_server_id",
    ),
    fan_out(
        "authorization_server_policies",
        &["auth_server_id", "id"],
        AUTH_SERVERS,
        "/api/v1/authorizationServers/{id}/policies",
        Array,
        "auth_server_id",
    ),
    list("identity_providers", "/api/v1/idps?limit=200", Array),
    list("network_zones", "/api/v1/zones", Array),
    list("trusted_origins", "/api/v1/trustedOrigins?limit=200", Array),
    list("behaviors", "/api/v1/behaviors", Array),
    list("brands", "/api/v1/brands?limit=200", Array),
    fan_out(
        "brand_themes",
        &["brand_id", "id"],
        BRANDS,
        "/api/v1/brands/{id}/themes",
        Array,
        "brand_id",
    ),
    fan_out(
        "email_templates",
        &["brand_id", "name"],
        BRANDS,
        "/api/v1/brands/{id}/templates/email?limit=200",
        Array,
        "brand_id",
    ),
    list("domains", "/api/v1/domains", Field("domains")),
    list("email_domains", "/api/v1/email-domains", Array),
    list("sms_templates", "/api/v1/templates/sms", Array),
    StreamDef {
        primary_key: &["client_id"],
        ..list("oauth_clients", "/oauth2/v1/clients?limit=200", Array)
    },
    list("event_hooks", "/api/v1/eventHooks", Array),
    list("inline_hooks", "/api/v1/inlineHooks", Array),
    list("hook_keys", "/api/v1/hook-keys", Array),
    list("features", "/api/v1/features", Array),
    list("log_streams", "/api/v1/logStreams?limit=200", Array),
    base(
        "profile_mappings",
        &["id"],
        Reader::ListThenDetail {
            path: "/api/v1/mappings?limit=200",
            detail: "/api/v1/mappings/{id}",
        },
    ),
    list("org", "/api/v1/org", Object),
    list("push_providers", "/api/v1/push-providers", Array),
    list("risk_providers", "/api/v1/risk/providers", Array),
    list(
        "security_events_providers",
        "/api/v1/security-events-providers",
        Array,
    ),
    StreamDef {
        constant: Some(("id", okta_records::derived::THREAT_INSIGHT_ID)),
        ..list("threat_insight", "/api/v1/threats/configuration", Object)
    },
    list("api_tokens", "/api/v1/api-tokens", Array),
    list("realms", "/api/v1/realms?limit=200", Array),
    // Advanced Server Access
    StreamDef {
        api: Api::Asa,
        ..base(
            "asa_users",
            &["id"],
            Reader::List {
                path: "/v1/teams/{team}/users?count=100&status={type}",
                extract: Field("list"),
                types: ASA_USER_STATUSES,
                more_types: None,
                type_column: None,
            },
        )
    },
    asa_list("asa_groups", "/v1/teams/{team}/groups?count=100"),
    asa_fan_out(
        "asa_group_members",
        &["group_name", "id"],
        ASA_GROUPS,
        "/v1/teams/{team}/groups/{id}/users?count=100",
        "group_name",
    ),
    asa_fan_out(
        "asa_user_attributes",
        &["user_name", "id"],
        ASA_USERS,
        "/v1/teams/{team}/users/{id}/attributes?count=100",
        "user_name",
    ),
    asa_fan_out(
        "asa_group_attributes",
        &["group_name", "id"],
        ASA_GROUPS,
        "/v1/teams/{team}/groups/{id}/attributes?count=100",
        "group_name",
    ),
    asa_list("asa_projects", "/v1/teams/{team}/projects?count=100"),
    asa_fan_out(
        "asa_project_servers",
        &["project_name", "id"],
        ASA_PROJECTS,
        "/v1/teams/{team}/projects/{id}/servers?count=100",
        "project_name",
    ),
    asa_list("asa_clients", "/v1/teams/{team}/clients?count=100"),
    asa_list(
        "asa_service_users",
        "/v1/teams/{team}/service_users?count=100",
    ),
    asa_list(
        "asa_entitlements",
        "/v1/teams/{team}/entitlements/sudo?count=100",
    ),
    StreamDef {
        api: Api::Asa,
        cursor_field: Some("timestamp"),
        ..base("asa_audits", &["id"], Reader::AsaAudits)
    },
    StreamDef {
        api: Api::Asa,
        ..base("asa_teams", &["team_name"], Reader::AsaTeam)
    },
];

pub fn find(name: &str) -> Option<&'static StreamDef> {
    STREAMS.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_matches_the_record_types() {
        let records = okta_records::streams();
        assert_eq!(
            STREAMS.len(),
            records.len(),
            "every record type has a stream and back"
        );
        for (def, rec) in STREAMS.iter().zip(records) {
            assert_eq!(def.name, rec.name, "same order as STREAMS.md");
            assert_eq!(def.primary_key, rec.primary_key, "{}", def.name);
            // The connector's own cursors (group memberships' `lastMembershipUpdated` of the group,
            // feed-driven fan-outs' `_ab_cdc_updated_at`) are columns it adds, not fields of the type.
            if def.name != "group_members" && def.cursor_field != Some(delta::UPDATED_AT) {
                assert_eq!(def.cursor_field, rec.cursor_field, "{}", def.name);
            }
            assert!(
                okta_records::stream_schema(def.name).is_some(),
                "{}",
                def.name
            );
        }
    }
}
