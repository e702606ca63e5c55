//! The table of streams, in catalog order (`STREAMS.md`'s: Okta core, then Advanced Server Access).

use crate::{Api, Column, Derive, Extract, IdFrom, Reader, Spec, Stream, Variant};
use Extract::{Array, Field, Object};

/// The default of every field; entries override what differs.
const BASE: Stream = Stream {
    name: "",
    api: Api::Okta,
    endpoint: "",
    extract: Array,
    reader: Reader::List,
    primary_key: &["id"],
    cursor_field: None,
    parent: None,
    parent_column: None,
    types: &[],
    more_types: None,
    type_column: None,
    variants: &[],
    kind_from: None,
    derive: Derive::None,
    constant: None,
    cdc: false,
    scope: "",
    in_catalog: true,
    key_from: IdFrom::Field("id"),
    list_all: None,
    module: "",
    spec: Spec::Management,
    item: "",
    record: None,
    gets: &[],
    merge: &[],
    columns: &[],
    omit: &[],
    notes: "",
};

/// A list (or singleton) read whole.
const fn list(
    name: &'static str,
    endpoint: &'static str,
    extract: Extract,
    scope: &'static str,
    module: &'static str,
    item: &'static str,
) -> Stream {
    Stream {
        name,
        endpoint,
        extract,
        scope,
        module,
        item,
        ..BASE
    }
}

/// One list per key of `parent`, the key written to `column`.
#[allow(clippy::too_many_arguments)]
const fn child(
    name: &'static str,
    primary_key: &'static [&'static str],
    parent: &'static str,
    endpoint: &'static str,
    extract: Extract,
    column: &'static Column,
    scope: &'static str,
    module: &'static str,
    item: &'static str,
    record: &'static str,
) -> Stream {
    Stream {
        name,
        primary_key,
        endpoint,
        extract,
        reader: Reader::FanOut,
        parent: Some(parent),
        parent_column: Some(column.name),
        scope,
        module,
        item,
        record: Some(record),
        columns: std::slice::from_ref(column),
        ..BASE
    }
}

/// An ASA list of one team.
const fn asa(name: &'static str, endpoint: &'static str, item: &'static str) -> Stream {
    Stream {
        api: Api::Asa,
        spec: Spec::Asa,
        key_from: IdFrom::Field("name"),
        ..list(name, endpoint, Field("list"), "", "asa", item)
    }
}

/// An ASA list per key of an ASA `parent`.
const fn asa_child(
    name: &'static str,
    primary_key: &'static [&'static str],
    parent: &'static str,
    endpoint: &'static str,
    column: &'static Column,
    item: &'static str,
    record: &'static str,
) -> Stream {
    Stream {
        api: Api::Asa,
        spec: Spec::Asa,
        key_from: IdFrom::Field("name"),
        ..child(
            name,
            primary_key,
            parent,
            endpoint,
            Field("list"),
            column,
            "",
            "asa",
            item,
            record,
        )
    }
}

/// An optional text column the connector resolves from the response.
const fn resolved(name: &'static str, doc: &'static str) -> Column {
    Column {
        name,
        doc,
        rust: Some("String"),
    }
}

const fn key(name: &'static str, doc: &'static str) -> Column {
    Column {
        name,
        doc,
        rust: None,
    }
}

const USER_ID: Column = key(
    "user_id",
    "The `id` of the user this row belongs to (added by the connector).",
);
const GROUP_ID: Column = key(
    "group_id",
    "The `id` of the group this row belongs to (added by the connector).",
);
const APP_ID: Column = key(
    "app_id",
    "The `id` of the application this row belongs to (added by the connector).",
);
const BRAND_ID: Column = key(
    "brand_id",
    "The `id` of the brand this row belongs to (added by the connector).",
);
const AUTH_SERVER_ID: Column = key(
    "auth_server_id",
    "The `id` of the authorization server this row belongs to (added by the connector).",
);
const IDP_ID: Column = key(
    "idp_id",
    "The `id` of the identity provider this row belongs to (added by the connector).",
);
const CLIENT_ID: Column = key(
    "client_id",
    "The `client_id` of the OAuth service app this row belongs to (added by the connector).",
);
const POOL_ID: Column = key(
    "pool_id",
    "The `id` of the agent pool this update belongs to (added by the connector).",
);
const DEVICE_ID: Column = key(
    "device_id",
    "The `id` of the device this row belongs to (added by the connector).",
);
const ROLE_ID: Column = key(
    "role_id",
    "The `id` of the custom role this permission belongs to (added by the connector).",
);
const RESOURCE_SET_ID: Column = key(
    "resource_set_id",
    "The `id` of the resource set this resource belongs to (added by the connector).",
);
const POLICY_ID: Column = key(
    "policy_id",
    "The `id` of the policy this rule belongs to (added by the connector).",
);
const BINDING_ROLE_ID: Column = key(
    "role_id",
    "The `id` of the role of the resource set binding this member belongs to (added by the connector).",
);
const TEMPLATE_NAME: Column = key(
    "template_name",
    "The `name` of the email template this customization belongs to (added by the connector).",
);
const ENTITLEMENT_ID: Column = key(
    "entitlement_id",
    "The `id` of the bundle entitlement this value belongs to (added by the connector).",
);
const GRANT_ID: Column = key(
    "grant_id",
    "The `grantId` of the governance grant this resource belongs to (added by the connector).",
);
const OAUTH_CLIENT_ID: Column = key(
    "client_id",
    "The `client_id` of the OAuth client this row belongs to (added by the connector).",
);
const ROLE_ASSIGNMENT_ID: Column = key(
    "role_assignment_id",
    "The `id` of the role assignment this target narrows (added by the connector).",
);
const TARGET_TYPE: Column = key(
    "target_type",
    "`GROUP` (a group target) or `APP` (an app instance, or every instance of a catalog app) (added by the connector).",
);
const TARGET_ID: Column = key(
    "target_id",
    "The target group's or app instance's `id`; for a whole catalog app (no `id`), its `name` (added by the connector).",
);
const AUTHENTICATOR_ID: Column = key(
    "authenticator_id",
    "The `id` of the authenticator this row belongs to (added by the connector).",
);
const FEATURE_ID: Column = key(
    "feature_id",
    "The `id` of the feature this row belongs to (added by the connector).",
);
const BUNDLE_ID: Column = key(
    "bundle_id",
    "The `id` of the governance bundle this entitlement belongs to (added by the connector).",
);
const ASA_GROUP_MEMBER: Column = key(
    "group_name",
    "The name of the ASA group this member belongs to (added by the connector).",
);
const ASA_USER_NAME: Column = key(
    "user_name",
    "The name of the ASA user owning this attribute (added by the connector).",
);
const ASA_GROUP_NAME: Column = key(
    "group_name",
    "The name of the ASA group owning this attribute (added by the connector).",
);
const ASA_PROJECT_NAME: Column = key(
    "project_name",
    "The name of the ASA project this server is enrolled in (added by the connector).",
);
const ASA_PROJECT: Column = key(
    "project_name",
    "The name of the ASA project this row belongs to (added by the connector).",
);
const ASA_SERVER_ID: Column = key(
    "server_id",
    "The `id` of the ASA server this service runs on (added by the connector).",
);
const ASA_SERVICE_USER_NAME: Column = key(
    "user_name",
    "The name of the ASA service user owning this API key (added by the connector).",
);

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

/// The admin role types Okta narrows to groups (`.../targets/groups`); other types answer an error.
pub const GROUP_TARGET_ROLES: &[&str] =
    &["USER_ADMIN", "HELP_DESK_ADMIN", "GROUP_MEMBERSHIP_ADMIN"];

/// The admin role types Okta narrows to apps (`.../targets/catalog/apps`).
pub const APP_TARGET_ROLES: &[&str] = &["APP_ADMIN"];

/// A role assignment's targets: its groups, then its apps.
const fn role_targets(groups: &'static str, apps: &'static str) -> [Variant; 2] {
    [
        Variant {
            endpoint: groups,
            value: "GROUP",
            kinds: GROUP_TARGET_ROLES,
        },
        Variant {
            endpoint: apps,
            value: "APP",
            kinds: APP_TARGET_ROLES,
        },
    ]
}

const USER_ROLE_TARGETS: &[Variant] = &role_targets(
    "/api/v1/users/{userId}/roles/{roleAssignmentId}/targets/groups?limit=200",
    "/api/v1/users/{userId}/roles/{roleAssignmentId}/targets/catalog/apps?limit=200",
);
const GROUP_ROLE_TARGETS: &[Variant] = &role_targets(
    "/api/v1/groups/{groupId}/roles/{roleAssignmentId}/targets/groups?limit=200",
    "/api/v1/groups/{groupId}/roles/{roleAssignmentId}/targets/catalog/apps?limit=200",
);
const SERVICE_APP_ROLE_TARGETS: &[Variant] = &role_targets(
    "/oauth2/v1/clients/{clientId}/roles/{roleAssignmentId}/targets/groups?limit=200",
    "/oauth2/v1/clients/{clientId}/roles/{roleAssignmentId}/targets/catalog/apps?limit=200",
);

/// The targets of a role assignment stream (`parent`): one row per (assignment, target). Declared
/// after `groups`, in its module, so the group parts of the record type are the groups' own types.
const fn role_target_stream(
    name: &'static str,
    primary_key: &'static [&'static str],
    columns: &'static [Column],
    parent: &'static str,
    variants: &'static [Variant],
    record: &'static str,
) -> Stream {
    Stream {
        notes: "one row per (assignment, target): the group targets of `USER_ADMIN`, `HELP_DESK_ADMIN` and `GROUP_MEMBERSHIP_ADMIN`, the app targets of `APP_ADMIN`; other role types have none and are not requested; an assignment without targets covers the whole org",
        variants,
        type_column: Some(TARGET_TYPE.name),
        derive: Derive::TargetId,
        // A group (`/targets/groups`) or a catalog app (`/targets/catalog/apps`): one type for both.
        merge: &["CatalogApplication"],
        columns,
        ..child(
            name,
            primary_key,
            parent,
            variants[0].endpoint,
            Array,
            &ROLE_ASSIGNMENT_ID,
            "okta.roles.read",
            "groups",
            "AdminRoleTarget",
            record,
        )
    }
}
/// Principal types `GET /api/v1/principal-rate-limits` filters on (the filter is required).
pub const PRINCIPAL_TYPES: &[&str] = &["SSWS_TOKEN", "OAUTH_CLIENT"];

/// ASA user statuses (the list endpoint returns one status at a time).
pub const ASA_USER_STATUSES: &[&str] = &["ACTIVE", "DISABLED", "DELETED"];

/// The cursor of feed-driven fan-outs: when the connector read the row (or Okta removed it).
pub const UPDATED_AT: &str = "_ab_cdc_updated_at";

/// Every stream, in catalog order; parent-only lists at the end.
pub static STREAMS: &[Stream] = &[
    // ---------------------------------------------------------------- Okta core
    Stream {
        notes: "search sorted by `lastUpdated`; DEPROVISIONED users included",
        cursor_field: Some("lastUpdated"),
        cdc: true,
        reader: Reader::Search {
            limit: 200,
            sorted: true,
            extra: "",
        },
        // Every user, DEPROVISIONED included: the plain list hides them, search does not.
        list_all: Some(
            "/api/v1/users?search=lastUpdated%20gt%20%221970-01-01T00%3A00%3A00.000Z%22&limit=200",
        ),
        gets: &["/api/v1/users/{id}"],
        ..list("users", "/api/v1/users", Array, "okta.users.read", "users", "User")
    },
    Stream {
        cursor_field: Some(UPDATED_AT),
        cdc: true,
        gets: &["/api/v1/users/{userId}/factors/{factorId}"],
        ..child(
            "user_factors",
            &["user_id", "id"],
            "users",
            "/api/v1/users/{id}/factors",
            Array,
            &USER_ID,
            "okta.users.read",
            "users",
            "UserFactor",
            "UserFactorRecord",
        )
    },
    Stream {
        cursor_field: Some(UPDATED_AT),
        cdc: true,
        kind_from: Some("type"),
        gets: &["/api/v1/users/{userId}/roles/{roleAssignmentId}"],
        ..child(
            "user_role_assignments",
            &["user_id", "id"],
            "role_assignees",
            "/api/v1/users/{id}/roles",
            Array,
            &USER_ID,
            "okta.roles.read",
            "iam",
            "RoleAssignment",
            "UserRoleAssignmentRecord",
        )
    },
    Stream {
        notes: "one request per user; the OAuth consents each user granted",
        gets: &[
            "/api/v1/users/{userId}/grants/{grantId}",
            "/api/v1/apps/{appId}/grants/{grantId}",
        ],
        ..child(
            "user_grants",
            &["user_id", "id"],
            "users",
            "/api/v1/users/{id}/grants?limit=200",
            Array,
            &USER_ID,
            "okta.users.read",
            "users",
            "OAuth2ScopeConsentGrant",
            "UserGrantRecord",
        )
    },
    Stream {
        notes: "`{type}`: each linked object definition's primary name, so one request per user and \
                definition; each link once, from its associated user's side: a subordinate's `manager`",
        more_types: Some("linked_object_definitions"),
        type_column: Some("relationship_name"),
        derive: Derive::SelfLinkId("linked_user_id"),
        gets: &[],
        columns: &[
            USER_ID,
            key(
                "relationship_name",
                "The primary name of the linked object definition read (added by the connector).",
            ),
            key(
                "linked_user_id",
                "The `id` of the primary user this user is linked to, from `_links.self.href` (added by the connector).",
            ),
        ],
        ..child(
            "user_linked_objects",
            &["user_id", "relationship_name", "linked_user_id"],
            "users",
            "/api/v1/users/{id}/linkedObjects/{type}",
            Array,
            &USER_ID,
            "okta.users.read",
            "users",
            "ResponseLinks",
            "UserLinkedObjectRecord",
        )
    },
    Stream {
        notes: "one request per user; the OAuth clients holding the user's grants or tokens",
        key_from: IdFrom::Field("client_id"),
        ..child(
            "user_clients",
            &["user_id", "client_id"],
            "users",
            "/api/v1/users/{id}/clients",
            Array,
            &USER_ID,
            "okta.users.read",
            "users",
            "OAuth2Client",
            "UserClientRecord",
        )
    },
    Stream {
        notes: "one request per user and client; the OAuth consents the user granted the client",
        gets: &["/api/v1/apps/{appId}/grants/{grantId}"],
        columns: &[USER_ID, OAUTH_CLIENT_ID],
        ..child(
            "user_client_grants",
            &["user_id", "client_id", "id"],
            "user_clients",
            "/api/v1/users/{userId}/clients/{clientId}/grants?limit=200",
            Array,
            &OAUTH_CLIENT_ID,
            "okta.users.read",
            "users",
            "OAuth2ScopeConsentGrant",
            "UserClientGrantRecord",
        )
    },
    Stream {
        notes: "one request per user and client; refresh token metadata, never the token itself",
        gets: &["/api/v1/authorizationServers/{authServerId}/clients/{clientId}/tokens/{tokenId}"],
        columns: &[USER_ID, OAUTH_CLIENT_ID],
        ..child(
            "user_client_tokens",
            &["user_id", "client_id", "id"],
            "user_clients",
            "/api/v1/users/{userId}/clients/{clientId}/tokens?limit=200",
            Array,
            &OAUTH_CLIENT_ID,
            "okta.users.read",
            "users",
            "OAuth2RefreshToken",
            "UserClientTokenRecord",
        )
    },
    Stream {
        notes: "one request per user; blocks have no id: keyed by `type` and `appliesTo`",
        ..child(
            "user_blocks",
            &["user_id", "type", "appliesTo"],
            "users",
            "/api/v1/users/{id}/blocks",
            Array,
            &USER_ID,
            "okta.users.read",
            "users",
            "UserBlock",
            "UserBlockRecord",
        )
    },
    Stream {
        notes: "one request per user; the factors each user may enroll, keyed by `factorType` and `provider`",
        ..child(
            "user_supported_factors",
            &["user_id", "factorType", "provider"],
            "users",
            "/api/v1/users/{id}/factors/catalog",
            Array,
            &USER_ID,
            "okta.users.read",
            "users",
            "UserFactorSupported",
            "UserSupportedFactorRecord",
        )
    },
    Stream {
        notes: "one request per user; the user's admin notification subscriptions",
        derive: Derive::NotificationType,
        gets: &["/api/v1/users/{userId}/subscriptions/{notificationType}"],
        columns: &[
            USER_ID,
            key(
                "notification_type",
                "`notificationType` copied to a snake_case key column by the connector.",
            ),
        ],
        ..child(
            "user_subscriptions",
            &["user_id", "notification_type"],
            "users",
            "/api/v1/users/{id}/subscriptions",
            Array,
            &USER_ID,
            "okta.users.read",
            "users",
            "Subscription",
            "UserSubscriptionRecord",
        )
    },
    Stream {
        notes: "Identity Engine; one request per user; WebAuthn preregistration enrollments",
        ..child(
            "user_webauthn_enrollments",
            &["user_id", "id"],
            "users",
            "/webauthn-registration/api/v1/users/{id}/enrollments",
            Array,
            &USER_ID,
            "okta.users.read",
            "users",
            "WebAuthnPreregistrationFactor",
            "UserWebAuthnEnrollmentRecord",
        )
    },
    Stream {
        notes: "search on `lastUpdated`",
        cursor_field: Some("lastUpdated"),
        cdc: true,
        reader: Reader::Search {
            limit: 200,
            sorted: true,
            extra: "",
        },
        list_all: Some("/api/v1/groups?limit=200"),
        gets: &["/api/v1/groups/{groupId}"],
        ..list("groups", "/api/v1/groups", Array, "okta.groups.read", "groups", "Group")
    },
    Stream {
        notes: "only groups whose `lastMembershipUpdated` moved are visited; only their added and removed rows are emitted when the System Log names them, else the group is re-read",
        primary_key: &["group_id", "user_id"],
        cursor_field: Some("lastMembershipUpdated"),
        cdc: true,
        reader: Reader::GroupMembers,
        parent: Some("groups"),
        parent_column: Some("group_id"),
        record: Some("GroupMemberRecord"),
        columns: &[
            GROUP_ID,
            key(
                "user_id",
                "The member's user `id` (same value as `id`; added by the connector).",
            ),
            Column {
                name: "lastMembershipUpdated",
                doc: "The group's `lastMembershipUpdated` when this membership was read: the stream's cursor (added by the connector).",
                rust: Some("Timestamp"),
            },
        ],
        ..list(
            "group_members",
            "/api/v1/groups/{id}/users",
            Array,
            "okta.groups.read",
            "groups",
            "User",
        )
    },
    Stream {
        cursor_field: Some(UPDATED_AT),
        cdc: true,
        ..child(
            "group_owners",
            &["group_id", "id"],
            "groups",
            "/api/v1/groups/{id}/owners",
            Array,
            &GROUP_ID,
            "okta.groups.read",
            "groups",
            "GroupOwner",
            "GroupOwnerRecord",
        )
    },
    Stream {
        gets: &["/api/v1/groups/rules/{groupRuleId}"],
        ..list(
            "group_rules",
            "/api/v1/groups/rules?limit=200",
            Array,
            "okta.groups.read",
            "groups",
            "GroupRule",
        )
    },
    Stream {
        kind_from: Some("type"),
        gets: &["/api/v1/groups/{groupId}/roles/{roleAssignmentId}"],
        ..child(
            "group_role_assignments",
            &["group_id", "id"],
            "groups",
            "/api/v1/groups/{id}/roles",
            Array,
            &GROUP_ID,
            "okta.roles.read",
            "iam",
            "RoleAssignment",
            "GroupRoleAssignmentRecord",
        )
    },
    role_target_stream(
        "user_role_targets",
        &["user_id", "role_assignment_id", "target_type", "target_id"],
        &[USER_ID, ROLE_ASSIGNMENT_ID, TARGET_TYPE, TARGET_ID],
        "user_role_assignments",
        USER_ROLE_TARGETS,
        "UserRoleTargetRecord",
    ),
    Stream {
        notes: "one request per role assignment of a user; the governance grants (custom, entitlement bundle) the role comes from",
        gets: &["/api/v1/users/{userId}/roles/{roleAssignmentId}/governance/{grantId}"],
        key_from: IdFrom::Field("grantId"),
        columns: &[USER_ID, ROLE_ASSIGNMENT_ID],
        ..child(
            "user_role_governance_grants",
            &["user_id", "role_assignment_id", "grantId"],
            "user_role_assignments",
            "/api/v1/users/{userId}/roles/{roleAssignmentId}/governance",
            Field("grants"),
            &ROLE_ASSIGNMENT_ID,
            "okta.roles.read",
            "iam",
            "RoleGovernanceSource",
            "UserRoleGovernanceGrantRecord",
        )
    },
    Stream {
        notes: "one request per governance grant of a user's role assignment; the resources the grant covers, keyed by their ORN",
        columns: &[USER_ID, ROLE_ASSIGNMENT_ID, GRANT_ID],
        ..child(
            "user_role_governance_resources",
            &["user_id", "role_assignment_id", "grant_id", "resource"],
            "user_role_governance_grants",
            "/api/v1/users/{userId}/roles/{roleAssignmentId}/governance/{grantId}/resources",
            Field("resources"),
            &GRANT_ID,
            "okta.roles.read",
            "iam",
            "RoleGovernanceResource",
            "UserRoleGovernanceResourceRecord",
        )
    },
    role_target_stream(
        "group_role_targets",
        &["group_id", "role_assignment_id", "target_type", "target_id"],
        &[GROUP_ID, ROLE_ASSIGNMENT_ID, TARGET_TYPE, TARGET_ID],
        "group_role_assignments",
        GROUP_ROLE_TARGETS,
        "GroupRoleTargetRecord",
    ),
    Stream {
        gets: &["/api/v1/apps/{appId}"],
        ..list(
            "applications",
            "/api/v1/apps?limit=200",
            Array,
            "okta.apps.read",
            "apps",
            "Application",
        )
    },
    Stream {
        cursor_field: Some(UPDATED_AT),
        cdc: true,
        gets: &["/api/v1/apps/{appId}/users/{userId}"],
        ..child(
            "application_users",
            &["app_id", "id"],
            "applications",
            "/api/v1/apps/{id}/users?limit=500",
            Array,
            &APP_ID,
            "okta.apps.read",
            "apps",
            "AppUser",
            "ApplicationUserRecord",
        )
    },
    Stream {
        cursor_field: Some(UPDATED_AT),
        cdc: true,
        gets: &["/api/v1/apps/{appId}/groups/{groupId}"],
        ..child(
            "application_groups",
            &["app_id", "id"],
            "applications",
            "/api/v1/apps/{id}/groups?limit=200",
            Array,
            &APP_ID,
            "okta.apps.read",
            "apps",
            "ApplicationGroupAssignment",
            "ApplicationGroupRecord",
        )
    },
    Stream {
        notes: "OAuth scope consents granted to the app",
        gets: &["/api/v1/apps/{appId}/grants/{grantId}"],
        ..child(
            "application_grants",
            &["app_id", "id"],
            "applications",
            "/api/v1/apps/{id}/grants",
            Array,
            &APP_ID,
            "okta.appGrants.read",
            "apps",
            "OAuth2ScopeConsentGrant",
            "ApplicationGrantRecord",
        )
    },
    Stream {
        notes: "refresh tokens issued to the app",
        gets: &["/api/v1/apps/{appId}/tokens/{tokenId}"],
        ..child(
            "application_tokens",
            &["app_id", "id"],
            "applications",
            "/api/v1/apps/{id}/tokens?limit=200",
            Array,
            &APP_ID,
            "okta.apps.read",
            "apps",
            "OAuth2RefreshToken",
            "ApplicationTokenRecord",
        )
    },
    Stream {
        notes: "Identity Engine; full refresh (the `lastUpdated` parameter filters one app's list only)",
        gets: &["/api/v1/apps/{appId}/group-push/mappings/{mappingId}"],
        ..child(
            "group_push_mappings",
            &["app_id", "id"],
            "applications",
            "/api/v1/apps/{id}/group-push/mappings?limit=1000",
            Array,
            &APP_ID,
            "okta.apps.read",
            "apps",
            "GroupPushMapping",
            "GroupPushMappingRecord",
        )
    },
    Stream {
        notes: "the app's signing keys (public parts)",
        gets: &["/api/v1/apps/{appId}/credentials/keys/{keyId}"],
        ..child(
            "application_keys",
            &["app_id", "kid"],
            "applications",
            "/api/v1/apps/{id}/credentials/keys",
            Array,
            &APP_ID,
            "okta.apps.read",
            "apps",
            "JsonWebKey",
            "ApplicationKeyRecord",
        )
    },
    Stream {
        notes: "claims the app adds to its tokens and assertions",
        gets: &["/api/v1/apps/{appId}/federated-claims/{claimId}"],
        ..child(
            "application_federated_claims",
            &["app_id", "id"],
            "applications",
            "/api/v1/apps/{id}/federated-claims",
            Array,
            &APP_ID,
            "okta.apps.read",
            "apps",
            "FederatedClaim",
            "ApplicationFederatedClaimRecord",
        )
    },
    Stream {
        notes: "certificate signing requests of the app's signing keys",
        gets: &["/api/v1/apps/{appId}/credentials/csrs/{csrId}"],
        ..child(
            "application_csrs",
            &["app_id", "id"],
            "applications",
            "/api/v1/apps/{id}/credentials/csrs",
            Array,
            &APP_ID,
            "okta.apps.read",
            "apps",
            "Csr",
            "ApplicationCsrRecord",
        )
    },
    Stream {
        notes: "the OAuth client's JSON Web Keys (public parts); OAuth apps only",
        gets: &["/api/v1/apps/{appId}/credentials/jwks/{keyId}"],
        ..child(
            "application_jwks",
            &["app_id", "id"],
            "applications",
            "/api/v1/apps/{id}/credentials/jwks",
            Array,
            &APP_ID,
            "okta.apps.read",
            "apps",
            "ApplicationJsonWebKey",
            "ApplicationJwkRecord",
        )
    },
    Stream {
        notes: "Identity Engine; Cross App Access connections the app requests",
        gets: &["/api/v1/apps/{appId}/cwo/connections/{connectionId}"],
        ..child(
            "application_cross_app_access_connections",
            &["app_id", "id"],
            "applications",
            "/api/v1/apps/{id}/cwo/connections?limit=200",
            Array,
            &APP_ID,
            "okta.apps.read",
            "apps",
            "OrgCrossAppAccessConnection",
            "ApplicationCrossAppAccessConnectionRecord",
        )
    },
    Stream {
        notes: "provisioning apps only; keyed by the feature `name`",
        gets: &["/api/v1/apps/{appId}/features/{featureName}"],
        ..child(
            "application_features",
            &["app_id", "name"],
            "applications",
            "/api/v1/apps/{id}/features",
            Array,
            &APP_ID,
            "okta.apps.read",
            "apps",
            "ApplicationProvisioningFeature",
            "ApplicationFeatureRecord",
        )
    },
    Stream {
        notes: "Identity Engine; the apps allowed to request tokens for this app (interclient trust); Okta answers bare app ids, one row each",
        spec: Spec::Custom,
        derive: Derive::StringAs("allowed_app_id"),
        ..child(
            "application_interclient_allowed_apps",
            &["app_id", "allowed_app_id"],
            "applications",
            "/api/v1/apps/{id}/interclient-allowed-apps",
            Array,
            &APP_ID,
            "okta.apps.interclientTrust.read",
            "apps",
            "InterclientAllowedApp",
            "ApplicationInterclientAllowedAppRecord",
        )
    },
    Stream {
        notes: "Identity Engine; the apps this app may request tokens for (interclient trust); Okta answers bare app ids, one row each",
        spec: Spec::Custom,
        derive: Derive::StringAs("target_app_id"),
        ..child(
            "application_interclient_target_apps",
            &["app_id", "target_app_id"],
            "applications",
            "/api/v1/apps/{id}/interclient-target-apps",
            Array,
            &APP_ID,
            "okta.apps.interclientTrust.read",
            "apps",
            "InterclientTargetApp",
            "ApplicationInterclientTargetAppRecord",
        )
    },
    Stream {
        notes: "polling cursor; resumes from the saved `next` link",
        primary_key: &["uuid"],
        cursor_field: Some("published"),
        reader: Reader::SystemLog,
        ..list(
            "system_log",
            "/api/v1/logs",
            Array,
            "okta.logs.read",
            "logs",
            "LogEvent",
        )
    },
    Stream {
        notes: "Identity Engine; search on `lastUpdated` with `expand=userSummary`",
        cursor_field: Some("lastUpdated"),
        cdc: true,
        reader: Reader::Search {
            limit: 200,
            sorted: false,
            extra: "&expand=userSummary",
        },
        list_all: Some("/api/v1/devices?limit=200"),
        gets: &["/api/v1/devices/{deviceId}"],
        ..list(
            "devices",
            "/api/v1/devices",
            Array,
            "okta.devices.read",
            "devices",
            "Device",
        )
    },
    Stream {
        primary_key: &["device_id", "user_id"],
        derive: Derive::UserIdFromUser,
        cursor_field: Some(UPDATED_AT),
        cdc: true,
        columns: &[
            DEVICE_ID,
            key(
                "user_id",
                "The user's `id` (same value as `user.id`; added by the connector).",
            ),
        ],
        ..child(
            "device_users",
            &["device_id", "user_id"],
            "devices",
            "/api/v1/devices/{id}/users",
            Array,
            &DEVICE_ID,
            "okta.devices.read",
            "devices",
            "DeviceUser",
            "DeviceUserRecord",
        )
    },
    Stream {
        gets: &["/api/v1/device-assurances/{deviceAssuranceId}"],
        notes: "Identity Engine",
        ..list(
            "device_assurances",
            "/api/v1/device-assurances",
            Array,
            "okta.deviceAssurance.read",
            "devices",
            "DeviceAssurance",
        )
    },
    Stream {
        gets: &["/api/v1/device-integrations/{deviceIntegrationId}"],
        notes: "Identity Engine",
        ..list(
            "device_integrations",
            "/api/v1/device-integrations",
            Array,
            "okta.deviceIntegrations.read",
            "devices",
            "DeviceIntegrations",
        )
    },
    Stream {
        gets: &["/api/v1/device-posture-checks/{postureCheckId}"],
        notes: "Identity Engine",
        ..list(
            "device_posture_checks",
            "/api/v1/device-posture-checks",
            Array,
            "okta.devicePostureChecks.read",
            "devices",
            "DevicePostureCheck",
        )
    },
    Stream {
        gets: &["/api/v1/device-posture-checks/{postureCheckId}"],
        notes: "Identity Engine; the checks Okta predefines",
        ..list(
            "default_device_posture_checks",
            "/api/v1/device-posture-checks/default",
            Array,
            "okta.devicePostureChecks.read",
            "devices",
            "DevicePostureCheck",
        )
    },
    Stream {
        key_from: IdFrom::SchemaLink,
        gets: &["/api/v1/meta/types/user/{typeId}"],
        ..list(
            "user_types",
            "/api/v1/meta/types/user",
            Array,
            "okta.userTypes.read",
            "meta",
            "UserType",
        )
    },
    Stream {
        reader: Reader::FanOut,
        parent: Some("user_types"),
        ..list(
            "user_schemas",
            "/api/v1/meta/schemas/user/{id}",
            Object,
            "okta.schemas.read",
            "meta",
            "UserSchema",
        )
    },
    list(
        "group_schemas",
        "/api/v1/meta/schemas/group/default",
        Object,
        "okta.schemas.read",
        "meta",
        "GroupSchema",
    ),
    child(
        "app_user_schemas",
        &["app_id", "id"],
        "applications",
        "/api/v1/meta/schemas/apps/{id}/default",
        Object,
        &APP_ID,
        "okta.schemas.read",
        "meta",
        "UserSchema",
        "AppUserSchemaRecord",
    ),
    Stream {
        gets: &["/api/v1/meta/uischemas/{id}"],
        ..list(
            "ui_schemas",
            "/api/v1/meta/uischemas",
            Array,
            "okta.uischemas.read",
            "meta",
            "UiSchema",
        )
    },
    Stream {
        primary_key: &["primary_name"],
        derive: Derive::PrimaryName,
        key_from: IdFrom::Nested("primary", "name"),
        record: Some("LinkedObjectDefinitionRecord"),
        gets: &["/api/v1/meta/schemas/user/linkedObjects/{linkedObjectName}"],
        columns: &[key(
            "primary_name",
            "`primary.name` of the definition, copied to the top level by the connector so it can be the primary key.",
        )],
        ..list(
            "linked_object_definitions",
            "/api/v1/meta/schemas/user/linkedObjects",
            Array,
            "okta.linkedObjects.read",
            "meta",
            "LinkedObject",
        )
    },
    Stream {
        gets: &["/api/v1/iam/roles/{roleIdOrLabel}"],
        ..list(
            "custom_roles",
            "/api/v1/iam/roles",
            Field("roles"),
            "okta.roles.read",
            "iam",
            "IamRole",
        )
    },
    Stream {
        gets: &["/api/v1/iam/roles/{roleIdOrLabel}/permissions/{permissionType}"],
        ..child(
            "custom_role_permissions",
            &["role_id", "label"],
            "custom_roles",
            "/api/v1/iam/roles/{id}/permissions",
            Field("permissions"),
            &ROLE_ID,
            "okta.roles.read",
            "iam",
            "Permission",
            "CustomRolePermissionRecord",
        )
    },
    Stream {
        gets: &["/api/v1/iam/resource-sets/{resourceSetIdOrLabel}"],
        ..list(
            "resource_sets",
            "/api/v1/iam/resource-sets",
            Field("resource-sets"),
            "okta.roles.read",
            "iam",
            "ResourceSet",
        )
    },
    Stream {
        gets: &["/api/v1/iam/resource-sets/{resourceSetIdOrLabel}/resources/{resourceId}"],
        ..child(
            "resource_set_resources",
            &["resource_set_id", "id"],
            "resource_sets",
            "/api/v1/iam/resource-sets/{id}/resources",
            Field("resources"),
            &RESOURCE_SET_ID,
            "okta.roles.read",
            "iam",
            "ResourceSetResource",
            "ResourceSetResourceRecord",
        )
    },
    Stream {
        notes: "the roles bound to the resource set (who holds them: their `members` link)",
        gets: &["/api/v1/iam/resource-sets/{resourceSetIdOrLabel}/bindings/{roleIdOrLabel}"],
        ..child(
            "resource_set_bindings",
            &["resource_set_id", "id"],
            "resource_sets",
            "/api/v1/iam/resource-sets/{id}/bindings",
            Field("roles"),
            &RESOURCE_SET_ID,
            "okta.roles.read",
            "iam",
            "ResourceSetBindingRole",
            "ResourceSetBindingRecord",
        )
    },
    Stream {
        notes: "one request per resource set and binding; the users and groups holding the bound role",
        gets: &["/api/v1/iam/resource-sets/{resourceSetIdOrLabel}/bindings/{roleIdOrLabel}/members/{memberId}"],
        columns: &[RESOURCE_SET_ID, BINDING_ROLE_ID],
        ..child(
            "resource_set_binding_members",
            &["resource_set_id", "role_id", "id"],
            "resource_set_bindings",
            "/api/v1/iam/resource-sets/{resourceSetIdOrLabel}/bindings/{roleIdOrLabel}/members",
            Field("members"),
            &BINDING_ROLE_ID,
            "okta.roles.read",
            "iam",
            "ResourceSetBindingMember",
            "ResourceSetBindingMemberRecord",
        )
    },
    Stream {
        notes: "Identity Governance (skipped when the org lacks it)",
        gets: &["/api/v1/iam/governance/bundles/{bundleId}"],
        ..list(
            "governance_bundles",
            "/api/v1/iam/governance/bundles?limit=200",
            Field("bundles"),
            "okta.roles.read",
            "iam",
            "GovernanceBundle",
        )
    },
    Stream {
        notes: "Identity Governance (skipped when the org lacks it)",
        ..child(
            "governance_bundle_entitlements",
            &["bundle_id", "id"],
            "governance_bundles",
            "/api/v1/iam/governance/bundles/{id}/entitlements?limit=200",
            Field("entitlements"),
            &BUNDLE_ID,
            "okta.roles.read",
            "iam",
            "BundleEntitlement",
            "GovernanceBundleEntitlementRecord",
        )
    },
    Stream {
        notes: "Identity Governance (skipped when the org lacks it); one request per bundle and entitlement",
        columns: &[BUNDLE_ID, ENTITLEMENT_ID],
        ..child(
            "governance_bundle_entitlement_values",
            &["bundle_id", "entitlement_id", "id"],
            "governance_bundle_entitlements",
            "/api/v1/iam/governance/bundles/{bundleId}/entitlements/{entitlementId}/values?limit=200",
            Field("entitlementValues"),
            &ENTITLEMENT_ID,
            "okta.roles.read",
            "iam",
            "EntitlementValue",
            "GovernanceBundleEntitlementValueRecord",
        )
    },
    Stream {
        notes: "every standard admin role, then every custom role",
        primary_key: &["role_type", "notification_type"],
        derive: Derive::NotificationType,
        types: ADMIN_ROLE_TYPES,
        more_types: Some("custom_roles"),
        type_column: Some("role_type"),
        record: Some("RoleSubscriptionRecord"),
        gets: &["/api/v1/roles/{roleRef}/subscriptions/{notificationType}"],
        columns: &[
            key(
                "role_type",
                "The admin role type (or custom role id) whose subscriptions were read (added by the connector).",
            ),
            key(
                "notification_type",
                "`notificationType` copied to a snake_case key column by the connector.",
            ),
        ],
        ..list(
            "role_subscriptions",
            "/api/v1/roles/{type}/subscriptions",
            Array,
            "okta.roles.read",
            "iam",
            "Subscription",
        )
    },
    Stream {
        notes: "every policy type; types the org lacks are skipped",
        types: POLICY_TYPES,
        gets: &["/api/v1/policies/{policyId}"],
        ..list(
            "policies",
            "/api/v1/policies?type={type}",
            Array,
            "okta.policies.read",
            "policies",
            "Policy",
        )
    },
    Stream {
        gets: &["/api/v1/policies/{policyId}/rules/{ruleId}"],
        ..child(
            "policy_rules",
            &["policy_id", "id"],
            "policies",
            "/api/v1/policies/{id}/rules",
            Array,
            &POLICY_ID,
            "okta.policies.read",
            "policies",
            "PolicyRule",
            "PolicyRuleRecord",
        )
    },
    Stream {
        notes: "the apps each policy applies to",
        gets: &["/api/v1/apps/{appId}"],
        ..child(
            "policy_apps",
            &["policy_id", "id"],
            "policies",
            "/api/v1/policies/{id}/app",
            Array,
            &POLICY_ID,
            "okta.policies.read",
            "policies",
            "Application",
            "PolicyAppRecord",
        )
    },
    Stream {
        gets: &["/api/v1/policies/{policyId}/mappings/{mappingId}"],
        ..child(
            "policy_mappings",
            &["policy_id", "id"],
            "policies",
            "/api/v1/policies/{id}/mappings",
            Array,
            &POLICY_ID,
            "okta.policies.read",
            "policies",
            "PolicyMapping",
            "PolicyMappingRecord",
        )
    },
    Stream {
        gets: &["/api/v1/authenticators/{authenticatorId}"],
        ..list(
            "authenticators",
            "/api/v1/authenticators",
            Array,
            "okta.authenticators.read",
            "security",
            "Authenticator",
        )
    },
    Stream {
        notes: "custom AAGUIDs of WebAuthn authenticators, keyed by `aaguid`",
        gets: &["/api/v1/authenticators/{authenticatorId}/aaguids/{aaguid}"],
        ..child(
            "authenticator_aaguids",
            &["authenticator_id", "aaguid"],
            "authenticators",
            "/api/v1/authenticators/{id}/aaguids",
            Array,
            &AUTHENTICATOR_ID,
            "okta.authenticators.read",
            "security",
            "CustomAAGUIDResponseObject",
            "AuthenticatorAaguidRecord",
        )
    },
    Stream {
        notes: "keyed by the method `type`",
        gets: &["/api/v1/authenticators/{authenticatorId}/methods/{methodType}"],
        ..child(
            "authenticator_methods",
            &["authenticator_id", "type"],
            "authenticators",
            "/api/v1/authenticators/{id}/methods",
            Array,
            &AUTHENTICATOR_ID,
            "okta.authenticators.read",
            "security",
            "AuthenticatorMethod",
            "AuthenticatorMethodRecord",
        )
    },
    Stream {
        gets: &["/api/v1/authorizationServers/{authServerId}"],
        ..list(
            "authorization_servers",
            "/api/v1/authorizationServers?limit=200",
            Array,
            "okta.authorizationServers.read",
            "authz",
            "AuthorizationServer",
        )
    },
    Stream {
        gets: &["/api/v1/authorizationServers/{authServerId}/scopes/{scopeId}"],
        ..child(
            "authorization_server_scopes",
            &["auth_server_id", "id"],
            "authorization_servers",
            "/api/v1/authorizationServers/{id}/scopes?limit=200",
            Array,
            &AUTH_SERVER_ID,
            "okta.authorizationServers.read",
            "authz",
            "OAuth2Scope",
            "AuthorizationServerScopeRecord",
        )
    },
    Stream {
        gets: &["/api/v1/authorizationServers/{authServerId}/claims/{claimId}"],
        ..child(
            "authorization_server_claims",
            &["auth_server_id", "id"],
            "authorization_servers",
            "/api/v1/authorizationServers/{id}/claims",
            Array,
            &AUTH_SERVER_ID,
            "okta.authorizationServers.read",
            "authz",
            "OAuth2Claim",
            "AuthorizationServerClaimRecord",
        )
    },
    Stream {
        gets: &["/api/v1/authorizationServers/{authServerId}/policies/{policyId}"],
        ..child(
            "authorization_server_policies",
            &["auth_server_id", "id"],
            "authorization_servers",
            "/api/v1/authorizationServers/{id}/policies",
            Array,
            &AUTH_SERVER_ID,
            "okta.authorizationServers.read",
            "authz",
            "AuthorizationServerPolicy",
            "AuthorizationServerPolicyRecord",
        )
    },
    Stream {
        notes: "one request per server and policy",
        gets: &["/api/v1/authorizationServers/{authServerId}/policies/{policyId}/rules/{ruleId}"],
        columns: &[AUTH_SERVER_ID, POLICY_ID],
        ..child(
            "authorization_server_policy_rules",
            &["auth_server_id", "policy_id", "id"],
            "authorization_server_policies",
            "/api/v1/authorizationServers/{authServerId}/policies/{policyId}/rules",
            Array,
            &POLICY_ID,
            "okta.authorizationServers.read",
            "authz",
            "AuthorizationServerPolicyRule",
            "AuthorizationServerPolicyRuleRecord",
        )
    },
    Stream {
        notes: "the OAuth clients holding tokens of the server",
        key_from: IdFrom::Field("client_id"),
        ..child(
            "authorization_server_clients",
            &["auth_server_id", "client_id"],
            "authorization_servers",
            "/api/v1/authorizationServers/{id}/clients",
            Array,
            &AUTH_SERVER_ID,
            "okta.authorizationServers.read",
            "authz",
            "OAuth2Client",
            "AuthorizationServerClientRecord",
        )
    },
    Stream {
        notes: "one request per server and client; refresh token metadata, never the token itself",
        gets: &["/api/v1/authorizationServers/{authServerId}/clients/{clientId}/tokens/{tokenId}"],
        columns: &[AUTH_SERVER_ID, OAUTH_CLIENT_ID],
        ..child(
            "authorization_server_client_tokens",
            &["auth_server_id", "client_id", "id"],
            "authorization_server_clients",
            "/api/v1/authorizationServers/{authServerId}/clients/{clientId}/tokens?limit=200",
            Array,
            &OAUTH_CLIENT_ID,
            "okta.authorizationServers.read",
            "authz",
            "OAuth2RefreshToken",
            "AuthorizationServerClientTokenRecord",
        )
    },
    Stream {
        notes: "the server's signing keys (public parts)",
        ..child(
            "authorization_server_keys",
            &["auth_server_id", "kid"],
            "authorization_servers",
            "/api/v1/authorizationServers/{id}/credentials/keys",
            Array,
            &AUTH_SERVER_ID,
            "okta.authorizationServers.read",
            "authz",
            "AuthorizationServerJsonWebKey",
            "AuthorizationServerKeyRecord",
        )
    },
    Stream {
        notes: "the keys clients encrypt tokens for the server with (public parts)",
        gets: &["/api/v1/authorizationServers/{authServerId}/resourceservercredentials/keys/{keyId}"],
        ..child(
            "authorization_server_resource_server_keys",
            &["auth_server_id", "id"],
            "authorization_servers",
            "/api/v1/authorizationServers/{id}/resourceservercredentials/keys",
            Array,
            &AUTH_SERVER_ID,
            "okta.authorizationServers.read",
            "authz",
            "OAuth2ResourceServerJsonWebKey",
            "AuthorizationServerResourceServerKeyRecord",
        )
    },
    Stream {
        notes: "the trusted servers associated with the server",
        ..child(
            "authorization_server_associated_servers",
            &["auth_server_id", "id"],
            "authorization_servers",
            "/api/v1/authorizationServers/{id}/associatedServers?limit=200",
            Array,
            &AUTH_SERVER_ID,
            "okta.authorizationServers.read",
            "authz",
            "AuthorizationServer",
            "AuthorizationServerAssociatedServerRecord",
        )
    },
    Stream {
        gets: &["/api/v1/idps/{idpId}"],
        ..list(
            "identity_providers",
            "/api/v1/idps?limit=200",
            Array,
            "okta.idps.read",
            "security",
            "IdentityProvider",
        )
    },
    Stream {
        notes: "the users linked to the IdP",
        gets: &["/api/v1/idps/{idpId}/users/{userId}"],
        ..child(
            "identity_provider_users",
            &["idp_id", "id"],
            "identity_providers",
            "/api/v1/idps/{id}/users?limit=200",
            Array,
            &IDP_ID,
            "okta.idps.read",
            "security",
            "IdentityProviderApplicationUser",
            "IdentityProviderUserRecord",
        )
    },
    Stream {
        notes: "the IdP's signing keys (public parts)",
        gets: &["/api/v1/idps/{idpId}/credentials/keys/{kid}"],
        ..child(
            "identity_provider_keys",
            &["idp_id", "kid"],
            "identity_providers",
            "/api/v1/idps/{id}/credentials/keys",
            Array,
            &IDP_ID,
            "okta.idps.read",
            "security",
            "IdPKeyCredential",
            "IdentityProviderKeyRecord",
        )
    },
    Stream {
        notes: "certificate signing requests of the IdP's signing keys",
        gets: &["/api/v1/idps/{idpId}/credentials/csrs/{idpCsrId}"],
        ..child(
            "identity_provider_csrs",
            &["idp_id", "id"],
            "identity_providers",
            "/api/v1/idps/{id}/credentials/csrs",
            Array,
            &IDP_ID,
            "okta.idps.read",
            "security",
            "IdPCsr",
            "IdentityProviderCsrRecord",
        )
    },
    Stream {
        primary_key: &["kid"],
        notes: "the IdP key store (public parts)",
        gets: &["/api/v1/idps/credentials/keys/{kid}"],
        ..list(
            "identity_provider_key_store",
            "/api/v1/idps/credentials/keys?limit=200",
            Array,
            "okta.idps.read",
            "security",
            "IdPKeyCredential",
        )
    },
    Stream {
        gets: &["/api/v1/captchas/{captchaId}"],
        ..list(
            "captchas",
            "/api/v1/captchas",
            Array,
            "okta.captchas.read",
            "security",
            "CAPTCHAInstance",
        )
    },
    Stream {
        notes: "Identity Engine; one record (the org's CAPTCHA settings), keyed by the constant `org_captcha`",
        constant: Some(("id", "org_captcha")),
        record: Some("OrgCaptchaRecord"),
        columns: &[key(
            "id",
            "Constant singleton key `org_captcha`: the org has exactly one CAPTCHA setting, which has no id of its own.",
        )],
        ..list(
            "org_captcha",
            "/api/v1/org/captcha",
            Object,
            "okta.captchas.read",
            "security",
            "OrgCAPTCHASettings",
        )
    },
    Stream {
        gets: &["/api/v1/zones/{zoneId}"],
        ..list(
            "network_zones",
            "/api/v1/zones",
            Array,
            "okta.networkZones.read",
            "security",
            "NetworkZone",
        )
    },
    Stream {
        gets: &["/api/v1/trustedOrigins/{trustedOriginId}"],
        ..list(
            "trusted_origins",
            "/api/v1/trustedOrigins?limit=200",
            Array,
            "okta.trustedOrigins.read",
            "security",
            "TrustedOrigin",
        )
    },
    Stream {
        gets: &["/api/v1/behaviors/{behaviorId}"],
        ..list(
            "behaviors",
            "/api/v1/behaviors",
            Array,
            "okta.behaviors.read",
            "security",
            "Behavior",
        )
    },
    Stream {
        gets: &["/api/v1/brands/{brandId}"],
        ..list(
            "brands",
            "/api/v1/brands?limit=200",
            Array,
            "okta.brands.read",
            "branding",
            "Brand",
        )
    },
    Stream {
        gets: &["/api/v1/brands/{brandId}/themes/{themeId}"],
        ..child(
            "brand_themes",
            &["brand_id", "id"],
            "brands",
            "/api/v1/brands/{id}/themes",
            Array,
            &BRAND_ID,
            "okta.brands.read",
            "branding",
            "Theme",
            "BrandThemeRecord",
        )
    },
    Stream {
        gets: &["/api/v1/brands/{brandId}/templates/email/{templateName}"],
        key_from: IdFrom::Field("name"),
        ..child(
            "email_templates",
            &["brand_id", "name"],
            "brands",
            "/api/v1/brands/{id}/templates/email?limit=200",
            Array,
            &BRAND_ID,
            "okta.templates.read",
            "branding",
            "EmailTemplate",
            "EmailTemplateRecord",
        )
    },
    Stream {
        notes: "one request per brand and email template",
        gets: &["/api/v1/brands/{brandId}/templates/email/{templateName}/customizations/{customizationId}"],
        columns: &[BRAND_ID, TEMPLATE_NAME],
        ..child(
            "email_template_customizations",
            &["brand_id", "template_name", "id"],
            "email_templates",
            "/api/v1/brands/{brandId}/templates/email/{templateName}/customizations?limit=200",
            Array,
            &TEMPLATE_NAME,
            "okta.templates.read",
            "branding",
            "EmailCustomization",
            "EmailTemplateCustomizationRecord",
        )
    },
    Stream {
        gets: &["/api/v1/domains/{domainId}"],
        ..list(
            "domains",
            "/api/v1/domains",
            Field("domains"),
            "okta.domains.read",
            "org",
            "Domain",
        )
    },
    Stream {
        gets: &["/api/v1/email-domains/{emailDomainId}"],
        ..list(
            "email_domains",
            "/api/v1/email-domains",
            Array,
            "okta.emailDomains.read",
            "org",
            "EmailDomain",
        )
    },
    Stream {
        gets: &["/api/v1/email-servers/{emailServerId}"],
        notes: "Identity Engine; custom SMTP servers (passwords are not returned)",
        ..list(
            "email_servers",
            "/api/v1/email-servers",
            Field("email-servers"),
            "okta.emailServers.read",
            "org",
            "BaseEmailServer",
        )
    },
    Stream {
        gets: &["/api/v1/templates/sms/{templateId}"],
        ..list(
            "sms_templates",
            "/api/v1/templates/sms",
            Array,
            "okta.templates.read",
            "org",
            "SmsTemplate",
        )
    },
    Stream {
        primary_key: &["client_id"],
        key_from: IdFrom::Field("client_id"),
        spec: Spec::OAuth,
        gets: &["/oauth2/v1/clients/{clientId}"],
        ..list(
            "oauth_clients",
            "/oauth2/v1/clients?limit=200",
            Array,
            "okta.clients.read",
            "authz",
            "OAuthClient",
        )
    },
    Stream {
        notes: "admin roles assigned to OAuth service apps",
        kind_from: Some("type"),
        gets: &["/oauth2/v1/clients/{clientId}/roles/{roleAssignmentId}"],
        ..child(
            "service_app_role_assignments",
            &["client_id", "id"],
            "oauth_clients",
            "/oauth2/v1/clients/{id}/roles",
            Array,
            &CLIENT_ID,
            "okta.roles.read",
            "iam",
            "RoleAssignment",
            "ServiceAppRoleAssignmentRecord",
        )
    },
    role_target_stream(
        "service_app_role_targets",
        &["client_id", "role_assignment_id", "target_type", "target_id"],
        &[CLIENT_ID, ROLE_ASSIGNMENT_ID, TARGET_TYPE, TARGET_ID],
        "service_app_role_assignments",
        SERVICE_APP_ROLE_TARGETS,
        "ServiceAppRoleTargetRecord",
    ),
    Stream {
        notes: "API service integrations (their client secrets are not read)",
        gets: &["/integrations/api/v1/api-services/{apiServiceId}"],
        ..list(
            "api_service_integrations",
            "/integrations/api/v1/api-services",
            Array,
            "okta.oauthIntegrations.read",
            "authz",
            "APIServiceIntegrationInstance",
        )
    },
    Stream {
        gets: &["/api/v1/eventHooks/{eventHookId}"],
        ..list(
            "event_hooks",
            "/api/v1/eventHooks",
            Array,
            "okta.eventHooks.read",
            "hooks",
            "EventHook",
        )
    },
    Stream {
        gets: &["/api/v1/inlineHooks/{inlineHookId}"],
        ..list(
            "inline_hooks",
            "/api/v1/inlineHooks",
            Array,
            "okta.inlineHooks.read",
            "hooks",
            "InlineHook",
        )
    },
    Stream {
        gets: &["/api/v1/hook-keys/{id}"],
        ..list(
            "hook_keys",
            "/api/v1/hook-keys",
            Array,
            "okta.inlineHooks.read",
            "hooks",
            "HookKey",
        )
    },
    Stream {
        gets: &["/api/v1/features/{featureId}"],
        ..list(
            "features",
            "/api/v1/features",
            Array,
            "okta.features.read",
            "org",
            "Feature",
        )
    },
    Stream {
        notes: "the features each feature depends on",
        ..child(
            "feature_dependencies",
            &["feature_id", "id"],
            "features",
            "/api/v1/features/{id}/dependencies",
            Array,
            &FEATURE_ID,
            "okta.features.read",
            "org",
            "Feature",
            "FeatureDependencyRecord",
        )
    },
    Stream {
        notes: "the features depending on each feature",
        ..child(
            "feature_dependents",
            &["feature_id", "id"],
            "features",
            "/api/v1/features/{id}/dependents",
            Array,
            &FEATURE_ID,
            "okta.features.read",
            "org",
            "Feature",
            "FeatureDependentRecord",
        )
    },
    Stream {
        gets: &["/api/v1/logStreams/{logStreamId}"],
        ..list(
            "log_streams",
            "/api/v1/logStreams?limit=200",
            Array,
            "okta.logStreams.read",
            "org",
            "LogStream",
        )
    },
    Stream {
        notes: "then `/api/v1/mappings/{id}` for the properties",
        reader: Reader::ListThenDetail {
            detail: "/api/v1/mappings/{id}",
        },
        gets: &["/api/v1/mappings/{mappingId}"],
        merge: &["ProfileMapping"],
        ..list(
            "profile_mappings",
            "/api/v1/mappings?limit=200",
            Array,
            "okta.profileMappings.read",
            "org",
            "ProfileMapping",
        )
    },
    Stream {
        notes: "one record",
        ..list(
            "org",
            "/api/v1/org",
            Object,
            "okta.orgs.read",
            "org",
            "OrgSetting",
        )
    },
    Stream {
        notes: "keyed by `contactType`",
        primary_key: &["contactType"],
        ..list(
            "org_contacts",
            "/api/v1/org/contacts",
            Array,
            "okta.orgs.read",
            "org",
            "OrgContactTypeObj",
        )
    },
    Stream {
        notes: "Okta Support cases and their impersonation grants, keyed by `caseNumber`",
        primary_key: &["caseNumber"],
        ..list(
            "okta_support_cases",
            "/api/v1/org/privacy/oktaSupport/cases",
            Field("supportCases"),
            "okta.orgs.read",
            "org",
            "OktaSupportCase",
        )
    },
    Stream {
        notes: "Okta Personal; one record (the domains blocked from export), keyed by the constant `okta_personal_export_blocklist`",
        constant: Some(("id", "okta_personal_export_blocklist")),
        record: Some("OktaPersonalExportBlocklistRecord"),
        columns: &[key(
            "id",
            "Constant singleton key `okta_personal_export_blocklist`: the org has exactly one block list, which has no id of its own.",
        )],
        ..list(
            "okta_personal_export_blocklist",
            "/okta-personal-settings/api/v1/export-blocklists",
            Object,
            "okta.personal.adminSettings.read",
            "org",
            "PersonalAppsBlockList",
        )
    },
    Stream {
        gets: &["/api/v1/push-providers/{pushProviderId}"],
        ..list(
            "push_providers",
            "/api/v1/push-providers",
            Array,
            "okta.pushProviders.read",
            "org",
            "PushProvider",
        )
    },
    Stream {
        notes: "deprecated by Okta; skipped on 404",
        spec: Spec::Custom,
        ..list(
            "risk_providers",
            "/api/v1/risk/providers",
            Array,
            "okta.riskProviders.read",
            "security",
            "RiskProvider",
        )
    },
    Stream {
        gets: &["/api/v1/security-events-providers/{securityEventProviderId}"],
        ..list(
            "security_events_providers",
            "/api/v1/security-events-providers",
            Array,
            "okta.securityEventsProviders.read",
            "security",
            "SecurityEventsProvider",
        )
    },
    Stream {
        notes: "one record, keyed by the constant `threat_insight`",
        constant: Some(("id", "threat_insight")),
        record: Some("ThreatInsightRecord"),
        columns: &[key(
            "id",
            "Constant singleton key `threat_insight` (`THREAT_INSIGHT_ID`): the org has exactly one ThreatInsight configuration, which has no id of its own.",
        )],
        ..list(
            "threat_insight",
            "/api/v1/threats/configuration",
            Object,
            "okta.threatInsights.read",
            "security",
            "ThreatInsightConfiguration",
        )
    },
    Stream {
        notes: "metadata only",
        gets: &["/api/v1/api-tokens/{apiTokenId}"],
        ..list(
            "api_tokens",
            "/api/v1/api-tokens",
            Array,
            "okta.apiTokens.read",
            "security",
            "ApiToken",
        )
    },
    Stream {
        notes: "one list per principal type: SSWS_TOKEN, OAUTH_CLIENT",
        types: PRINCIPAL_TYPES,
        gets: &["/api/v1/principal-rate-limits/{principalRateLimitId}"],
        ..list(
            "principal_rate_limits",
            "/api/v1/principal-rate-limits?filter=principalType%20eq%20%22{type}%22&limit=50",
            Array,
            "okta.principalRateLimits.read",
            "security",
            "PrincipalRateLimitEntity",
        )
    },
    Stream {
        gets: &["/api/v1/realms/{realmId}"],
        ..list(
            "realms",
            "/api/v1/realms?limit=200",
            Array,
            "okta.realms.read",
            "org",
            "Realm",
        )
    },
    Stream {
        notes: "AD/LDAP/RADIUS agent pools and their agents",
        ..list(
            "agent_pools",
            "/api/v1/agentPools",
            Array,
            "okta.agentPools.read",
            "security",
            "AgentPool",
        )
    },
    Stream {
        gets: &["/api/v1/agentPools/{poolId}/updates/{updateId}"],
        notes: "agent update schedules",
        ..child(
            "agent_pool_updates",
            &["pool_id", "id"],
            "agent_pools",
            "/api/v1/agentPools/{id}/updates",
            Array,
            &POOL_ID,
            "okta.agentPools.read",
            "security",
            "AgentPoolUpdate",
            "AgentPoolUpdateRecord",
        )
    },
    Stream {
        gets: &["/api/v1/realm-assignments/{assignmentId}"],
        notes: "Identity Engine",
        ..list(
            "realm_assignments",
            "/api/v1/realm-assignments?limit=200",
            Array,
            "okta.realmAssignments.read",
            "users",
            "RealmAssignment",
        )
    },
    Stream {
        notes: "Identity Engine; the history of realm assignment runs",
        ..list(
            "realm_assignment_operations",
            "/api/v1/realm-assignments/operations?limit=200",
            Array,
            "okta.realmAssignments.read",
            "users",
            "RealmAssignmentOperationResponse",
        )
    },
    Stream {
        gets: &["/api/v1/telephony-providers/{customTelephonyProviderId}"],
        notes: "custom telephony providers (credentials are not returned)",
        ..list(
            "telephony_providers",
            "/api/v1/telephony-providers",
            Array,
            "okta.customTelephonyProvider.read",
            "org",
            "CustomTelephonyProviderCredentialResponse",
        )
    },
    Stream {
        gets: &["/api/v1/org/factors/yubikey_token/tokens/{tokenId}"],
        notes: "the org's uploaded YubiKey OTP tokens",
        ..list(
            "yubikey_tokens",
            "/api/v1/org/factors/yubikey_token/tokens?limit=200",
            Array,
            "okta.users.read",
            "users",
            "UserFactorYubikeyOtpToken",
        )
    },
    Stream {
        notes: "Okta Privileged Access; app service accounts (passwords are write-only)",
        gets: &["/privileged-access/api/v1/service-accounts/{id}"],
        ..list(
            "service_accounts",
            "/privileged-access/api/v1/service-accounts?limit=200",
            Array,
            "okta.serviceAccounts.read",
            "users",
            "AppServiceAccount",
        )
    },
    Stream {
        notes: "Okta Privileged Access; Okta-managed user accounts",
        gets: &["/privileged-access/api/v1/okta-service-accounts/{id}"],
        ..list(
            "okta_service_accounts",
            "/privileged-access/api/v1/okta-service-accounts?limit=200",
            Array,
            "okta.serviceAccounts.okta.read",
            "users",
            "OktaManagedUserAccountResponse",
        )
    },
    // ---------------------------------------------------------------- Advanced Server Access
    Stream {
        notes: "one list per status: ACTIVE, DISABLED, DELETED",
        types: ASA_USER_STATUSES,
        gets: &["/v1/teams/{team_name}/users/{user_name}"],
        ..asa(
            "asa_users",
            "/v1/teams/{team}/users?count=100&status={type}",
            "AsaUser",
        )
    },
    Stream {
        gets: &["/v1/teams/{team_name}/groups/{group_name}"],
        notes: "deleted groups included (`deleted_at` set)",
        // Members and attributes are read for live groups only: a deleted group has none.
        list_all: Some("/v1/teams/{team}/groups?count=100"),
        ..asa(
            "asa_groups",
            "/v1/teams/{team}/groups?count=100&include_deleted=true",
            "AsaGroup",
        )
    },
    asa_child(
        "asa_group_members",
        &["group_name", "id"],
        "asa_groups",
        "/v1/teams/{team}/groups/{id}/users?count=100",
        &ASA_GROUP_MEMBER,
        "AsaUser",
        "AsaGroupMemberRecord",
    ),
    Stream {
        gets: &["/v1/teams/{team_name}/users/{user_name}/attributes/{attribute_id}"],
        ..asa_child(
            "asa_user_attributes",
            &["user_name", "id"],
            "asa_users",
            "/v1/teams/{team}/users/{id}/attributes?count=100",
            &ASA_USER_NAME,
            "AsaUserAttribute",
            "AsaUserAttributeRecord",
        )
    },
    Stream {
        gets: &["/v1/teams/{team_name}/groups/{group_name}/attributes/{attribute_id}"],
        ..asa_child(
            "asa_group_attributes",
            &["group_name", "id"],
            "asa_groups",
            "/v1/teams/{team}/groups/{id}/attributes?count=100",
            &ASA_GROUP_NAME,
            "AsaGroupAttribute",
            "AsaGroupAttributeRecord",
        )
    },
    Stream {
        gets: &["/v1/teams/{team_name}/projects/{project_name}"],
        ..asa(
            "asa_projects",
            "/v1/teams/{team}/projects?count=100",
            "AsaProject",
        )
    },
    Stream {
        gets: &["/v1/teams/{team_name}/projects/{project_name}/servers/{server_id}"],
        // The parent of `asa_project_server_services`, which names a server by its id.
        key_from: IdFrom::Field("id"),
        ..asa_child(
            "asa_project_servers",
            &["project_name", "id"],
            "asa_projects",
            "/v1/teams/{team}/projects/{id}/servers?count=100",
            &ASA_PROJECT_NAME,
            "AsaServer",
            "AsaProjectServerRecord",
        )
    },
    Stream {
        notes: "a fan-out over `asa_project_servers`, itself a fan-out over `asa_projects`",
        columns: &[ASA_PROJECT, ASA_SERVER_ID],
        ..asa_child(
            "asa_project_server_services",
            &["project_name", "server_id", "id"],
            "asa_project_servers",
            "/v1/teams/{team}/projects/{project}/servers/{server}/services?count=100",
            &ASA_SERVER_ID,
            "AsaServiceWithUserName",
            "AsaProjectServerServiceRecord",
        )
    },
    Stream {
        notes: "the servers of every project; per project: `asa_project_servers`",
        key_from: IdFrom::Field("id"),
        ..asa("asa_servers", "/v1/teams/{team}/servers?count=100", "AsaServer")
    },
    Stream {
        notes: "the services of every server; per server: `asa_project_server_services`",
        key_from: IdFrom::Field("id"),
        ..asa(
            "asa_services",
            "/v1/teams/{team}/services?count=100",
            "AsaServiceWithUserName",
        )
    },
    Stream {
        key_from: IdFrom::Field("id"),
        ..asa(
            "asa_ad_connections",
            "/v1/teams/{team}/integrations/ad_connections?count=100",
            "AsaListADConnectionResponse",
        )
    },
    Stream {
        notes: "keyed by `group_id`: ASA answers an empty `id`",
        gets: &["/v1/teams/{team_name}/projects/{project_name}/groups/{group_name}"],
        merge: &["ProjectGroupWithProfileAttributes"],
        ..asa_child(
            "asa_project_groups",
            &["project_name", "group_id"],
            "asa_projects",
            "/v1/teams/{team}/projects/{id}/groups?count=100",
            &ASA_PROJECT,
            "AsaProjectGroup",
            "AsaProjectGroupRecord",
        )
    },
    Stream {
        ..asa_child(
            "asa_project_server_users",
            &["project_name", "id"],
            "asa_projects",
            "/v1/teams/{team}/projects/{id}/server_users?count=100",
            &ASA_PROJECT,
            "AsaAPIServerUser",
            "AsaProjectServerUserRecord",
        )
    },
    Stream {
        notes: "the EventBridge `client_secret` left out",
        gets: &["/v1/teams/{team_name}/projects/{project_name}/cloud_accounts/{cloud_account_uuid}"],
        omit: &["client_secret"],
        ..asa_child(
            "asa_project_cloud_accounts",
            &["project_name", "id"],
            "asa_projects",
            "/v1/teams/{team}/projects/{id}/cloud_accounts?count=100",
            &ASA_PROJECT,
            "AsaProjectCloudAccount",
            "AsaProjectCloudAccountRecord",
        )
    },
    asa_child(
        "asa_project_client_config_options",
        &["project_name", "id"],
        "asa_projects",
        "/v1/teams/{team}/projects/{id}/client_config_options?count=100",
        &ASA_PROJECT,
        "AsaClientConfigOption",
        "AsaProjectClientConfigOptionRecord",
    ),
    Stream {
        notes: "the expired ones too",
        // The spec swaps this list's response with that of the by-id GET (which it describes as
        // `{"list": [...]}`): the generator reads the item from the by-id's.
        gets: &["/v1/teams/{team_name}/projects/{project_name}/preauthorizations/{authorization_id}"],
        ..asa_child(
            "asa_project_preauthorizations",
            &["project_name", "id"],
            "asa_projects",
            "/v1/teams/{team}/projects/{id}/preauthorizations?count=100&include_expired=true",
            &ASA_PROJECT,
            "AsaPreauthorization",
            "AsaProjectPreauthorizationRecord",
        )
    },
    Stream {
        notes: "every user's clients (`all=true`)",
        gets: &["/v1/teams/{team_name}/clients/{client_id}"],
        ..asa(
            "asa_clients",
            "/v1/teams/{team}/clients?count=100&all=true",
            "AsaClient",
        )
    },
    Stream {
        gets: &["/v1/teams/{team_name}/service_users/{user_name}"],
        ..asa(
            "asa_service_users",
            "/v1/teams/{team}/service_users?count=100",
            "AsaUser",
        )
    },
    Stream {
        notes: "issue and expiry dates of each service user's API keys; no secret: ASA shows it once, at creation",
        ..asa_child(
            "asa_service_user_keys",
            &["user_name", "id"],
            "asa_service_users",
            "/v1/teams/{team}/service_users/{id}/keys?count=100",
            &ASA_SERVICE_USER_NAME,
            "AsaServiceUserKey",
            "AsaServiceUserKeyRecord",
        )
    },
    Stream {
        gets: &["/v1/teams/{team_name}/entitlements/sudo/{sudo_id}"],
        ..asa(
            "asa_entitlements",
            "/v1/teams/{team}/entitlements/sudo?count=100",
            "AsaEntitlementSudo",
        )
    },
    Stream {
        notes: "newest first, down to the saved cursor; `details` references resolved from the page's `related_objects`",
        cursor_field: Some("timestamp"),
        reader: Reader::AsaAudits,
        spec: Spec::Custom,
        record: Some("AsaAuditEventRecord"),
        columns: &[
            resolved("actor_kind", "The kind of the object `details.actor` refers to (`user`, `service_user`, ...), from the page's `related_objects` (added by the connector)."),
            resolved("actor_name", "The name of the acting user (`name`; a server's or client's `hostname`; else its `id`), from the page's `related_objects` (added by the connector)."),
            resolved("target_kind", "The kind of the first `details.target_*` object (`server`, `user`, ...), from the page's `related_objects` (added by the connector)."),
            resolved("target_name", "The name of the first `details.target_*` object, as `actor_name` (added by the connector)."),
            Column {
                name: "related_objects",
                doc: "The entries of the page's `related_objects` this event's `details` refer to, by the same keys: `{\"type\": kind, \"object\": the ASA object}` (added by the connector).",
                rust: Some("Map<String, Value>"),
            },
        ],
        ..asa("asa_audits", "/v1/teams/{team}/auditsV2", "AsaAuditEvent")
    },
    Stream {
        notes: "`/settings` and `/team_stats` as one record",
        primary_key: &["team_name"],
        reader: Reader::AsaTeam,
        spec: Spec::Custom,
        extract: Object,
        record: Some("AsaTeamRecord"),
        columns: &[key(
            "team_name",
            "The ASA team name (from the connector's configuration).",
        )],
        ..asa("asa_teams", "/v1/teams/{team}/settings", "AsaTeam")
    },
    // ---------------------------------------------------------------- parents only
    // The users holding an admin role: the parents of `user_role_assignments` (one request per
    // admin instead of one per user).
    Stream {
        in_catalog: false,
        ..list(
            "role_assignees",
            "/api/v1/iam/assignees/users",
            Field("value"),
            "okta.roles.read",
            "iam",
            "",
        )
    },
];
