"""The stream table shared by `gen_records.py` and `extract_spec_examples.py`.

One entry per stream of `shared/okta/STREAMS.md`, in that file's order (Okta core, then ASA).

Fields of `Stream`:
  name      stream name exactly as STREAMS.md's first column
  module    the Rust module (area) the record type lives in
  spec      'management' | 'oauth' | 'asa' | 'custom' (schemas written in `CUSTOM_SCHEMAS` below)
  list      the GET endpoint the stream reads (its 200 response describes the records)
  extract   where the records sit in that response: 'items' (a JSON array), a property name holding the
            array ({"roles":[...]}), 'self' (a single object) or 'list' (ASA {"list":[...]})
  item      the Rust name of the API object (the record, or the flattened item of a child record)
  gets      further GET endpoints answering the same object (used for their spec examples only)
  merge     further schemas (by name) whose properties are merged into the item (e.g. mapping detail)
  pk        primary key, as STREAMS.md gives it
  cursor    default cursor field, if any
  parents   columns added at the top level of child/derived records: (column, description)
  columns   further optional columns the connector adds to the wrapper: (json name, Rust type, description)
  record    the Rust name of the record wrapper (only when `parents` is not empty)
"""

from dataclasses import dataclass, field


@dataclass
class Stream:
    name: str
    module: str
    spec: str
    list: str
    extract: str
    item: str
    pk: list
    cursor: str = None
    gets: list = field(default_factory=list)
    merge: list = field(default_factory=list)
    parents: list = field(default_factory=list)
    columns: list = field(default_factory=list)
    record: str = None


M, O, A, C = "management", "oauth", "asa", "custom"

GROUP_ID = ("group_id", "The `id` of the group this row belongs to (added by the connector).")
APP_ID = ("app_id", "The `id` of the application this row belongs to (added by the connector).")
USER_ID = ("user_id", "The `id` of the user this row belongs to (added by the connector).")
BRAND_ID = ("brand_id", "The `id` of the brand this row belongs to (added by the connector).")
AUTH_SERVER_ID = (
    "auth_server_id",
    "The `id` of the authorization server this row belongs to (added by the connector).",
)

STREAMS = [
    # ---------------------------------------------------------------- Okta core
    Stream("users", "users", M, "/api/v1/users", "items", "User", ["id"], "lastUpdated",
           gets=["/api/v1/users/{id}"]),
    Stream("user_factors", "users", M, "/api/v1/users/{userId}/factors", "items", "UserFactor",
           ["user_id", "id"], gets=["/api/v1/users/{userId}/factors/{factorId}"],
           parents=[USER_ID], record="UserFactorRecord"),
    Stream("user_role_assignments", "iam", M, "/api/v1/users/{userId}/roles", "items",
           "RoleAssignment", ["user_id", "id"],
           gets=["/api/v1/users/{userId}/roles/{roleAssignmentId}"],
           parents=[USER_ID], record="UserRoleAssignmentRecord"),
    Stream("groups", "groups", M, "/api/v1/groups", "items", "Group", ["id"], "lastUpdated",
           gets=["/api/v1/groups/{groupId}"]),
    Stream("group_members", "groups", M, "/api/v1/groups/{groupId}/users", "items", "User",
           ["group_id", "user_id"],
           parents=[GROUP_ID, ("user_id", "The member's user `id` (same value as `id`; added by the connector).")],
           columns=[("lastMembershipUpdated", "Timestamp",
                     "The group's `lastMembershipUpdated` when this membership was read: the stream's cursor (added by the connector).")],
           record="GroupMemberRecord"),
    Stream("group_owners", "groups", M, "/api/v1/groups/{groupId}/owners", "items", "GroupOwner",
           ["group_id", "id"], parents=[GROUP_ID], record="GroupOwnerRecord"),
    Stream("group_rules", "groups", M, "/api/v1/groups/rules", "items", "GroupRule", ["id"],
           gets=["/api/v1/groups/rules/{groupRuleId}"]),
    Stream("group_role_assignments", "iam", M, "/api/v1/groups/{groupId}/roles", "items",
           "RoleAssignment", ["group_id", "id"],
           gets=["/api/v1/groups/{groupId}/roles/{roleAssignmentId}"],
           parents=[GROUP_ID], record="GroupRoleAssignmentRecord"),
    Stream("applications", "apps", M, "/api/v1/apps", "items", "Application", ["id"],
           gets=["/api/v1/apps/{appId}"]),
    Stream("application_users", "apps", M, "/api/v1/apps/{appId}/users", "items", "AppUser",
           ["app_id", "id"], gets=["/api/v1/apps/{appId}/users/{userId}"],
           parents=[APP_ID], record="ApplicationUserRecord"),
    Stream("application_groups", "apps", M, "/api/v1/apps/{appId}/groups", "items",
           "ApplicationGroupAssignment", ["app_id", "id"],
           gets=["/api/v1/apps/{appId}/groups/{groupId}"],
           parents=[APP_ID], record="ApplicationGroupRecord"),
    Stream("system_log", "logs", M, "/api/v1/logs", "items", "LogEvent", ["uuid"], "published"),
    Stream("devices", "devices", M, "/api/v1/devices", "items", "Device", ["id"], "lastUpdated",
           gets=["/api/v1/devices/{deviceId}"]),
    Stream("device_users", "devices", M, "/api/v1/devices/{deviceId}/users", "items", "DeviceUser",
           ["device_id", "user_id"],
           parents=[("device_id", "The `id` of the device this row belongs to (added by the connector)."),
                    ("user_id", "The user's `id` (same value as `user.id`; added by the connector).")],
           record="DeviceUserRecord"),
    Stream("user_types", "meta", M, "/api/v1/meta/types/user", "items", "UserType", ["id"],
           gets=["/api/v1/meta/types/user/{typeId}"]),
    Stream("user_schemas", "meta", M, "/api/v1/meta/schemas/user/{schemaId}", "self", "UserSchema",
           ["id"]),
    Stream("group_schemas", "meta", M, "/api/v1/meta/schemas/group/default", "self", "GroupSchema",
           ["id"]),
    Stream("app_user_schemas", "meta", M, "/api/v1/meta/schemas/apps/{appId}/default", "self",
           "UserSchema", ["app_id", "id"], parents=[APP_ID], record="AppUserSchemaRecord"),
    Stream("ui_schemas", "meta", M, "/api/v1/meta/uischemas", "items", "UiSchema", ["id"],
           gets=["/api/v1/meta/uischemas/{id}"]),
    Stream("linked_object_definitions", "meta", M, "/api/v1/meta/schemas/user/linkedObjects",
           "items", "LinkedObject", ["primary_name"],
           gets=["/api/v1/meta/schemas/user/linkedObjects/{linkedObjectName}"],
           parents=[("primary_name", "`primary.name` of the definition, copied to the top level by the connector so it can be the primary key.")],
           record="LinkedObjectDefinitionRecord"),
    Stream("custom_roles", "iam", M, "/api/v1/iam/roles", "roles", "IamRole", ["id"],
           gets=["/api/v1/iam/roles/{roleIdOrLabel}"]),
    Stream("custom_role_permissions", "iam", M, "/api/v1/iam/roles/{roleIdOrLabel}/permissions",
           "permissions", "Permission", ["role_id", "label"],
           gets=["/api/v1/iam/roles/{roleIdOrLabel}/permissions/{permissionType}"],
           parents=[("role_id", "The `id` of the custom role this permission belongs to (added by the connector).")],
           record="CustomRolePermissionRecord"),
    Stream("resource_sets", "iam", M, "/api/v1/iam/resource-sets", "resource-sets", "ResourceSet",
           ["id"], gets=["/api/v1/iam/resource-sets/{resourceSetIdOrLabel}"]),
    Stream("resource_set_resources", "iam", M,
           "/api/v1/iam/resource-sets/{resourceSetIdOrLabel}/resources", "resources",
           "ResourceSetResource", ["resource_set_id", "id"],
           gets=["/api/v1/iam/resource-sets/{resourceSetIdOrLabel}/resources/{resourceId}"],
           parents=[("resource_set_id", "The `id` of the resource set this resource belongs to (added by the connector).")],
           record="ResourceSetResourceRecord"),
    Stream("role_subscriptions", "iam", M, "/api/v1/roles/{roleRef}/subscriptions", "items",
           "Subscription", ["role_type", "notification_type"],
           gets=["/api/v1/roles/{roleRef}/subscriptions/{notificationType}"],
           parents=[("role_type", "The admin role type (or custom role id) whose subscriptions were read (added by the connector)."),
                    ("notification_type", "`notificationType` copied to a snake_case key column by the connector.")],
           record="RoleSubscriptionRecord"),
    Stream("policies", "policies", M, "/api/v1/policies", "items", "Policy", ["id"],
           gets=["/api/v1/policies/{policyId}"]),
    Stream("policy_rules", "policies", M, "/api/v1/policies/{policyId}/rules", "items",
           "PolicyRule", ["policy_id", "id"], gets=["/api/v1/policies/{policyId}/rules/{ruleId}"],
           parents=[("policy_id", "The `id` of the policy this rule belongs to (added by the connector).")],
           record="PolicyRuleRecord"),
    Stream("authenticators", "security", M, "/api/v1/authenticators", "items", "Authenticator",
           ["id"], gets=["/api/v1/authenticators/{authenticatorId}"]),
    Stream("authorization_servers", "authz", M, "/api/v1/authorizationServers", "items",
           "AuthorizationServer", ["id"], gets=["/api/v1/authorizationServers/{authServerId}"]),
    Stream("authorization_server_scopes", "authz", M,
           "/api/v1/authorizationServers/{authServerId}/scopes", "items", "OAuth2Scope",
           ["auth_server_id", "id"], gets=["/api/v1/authorizationServers/{authServerId}/scopes/{scopeId}"],
           parents=[AUTH_SERVER_ID], record="AuthorizationServerScopeRecord"),
    Stream("authorization_server_claims", "authz", M,
           "/api/v1/authorizationServers/{authServerId}/claims", "items", "OAuth2Claim",
           ["auth_server_id", "id"], gets=["/api/v1/authorizationServers/{authServerId}/claims/{claimId}"],
           parents=[AUTH_SERVER_ID], record="AuthorizationServerClaimRecord"),
    Stream("authorization_server_policies", "authz", M,
           "/api/v1/authorizationServers/{authServerId}/policies", "items",
           "AuthorizationServerPolicy", ["auth_server_id", "id"],
           gets=["/api/v1/authorizationServers/{authServerId}/policies/{policyId}"],
           parents=[AUTH_SERVER_ID], record="AuthorizationServerPolicyRecord"),
    Stream("identity_providers", "security", M, "/api/v1/idps", "items", "IdentityProvider", ["id"],
           gets=["/api/v1/idps/{idpId}"]),
    Stream("network_zones", "security", M, "/api/v1/zones", "items", "NetworkZone", ["id"],
           gets=["/api/v1/zones/{zoneId}"]),
    Stream("trusted_origins", "security", M, "/api/v1/trustedOrigins", "items", "TrustedOrigin",
           ["id"], gets=["/api/v1/trustedOrigins/{trustedOriginId}"]),
    Stream("behaviors", "security", M, "/api/v1/behaviors", "items", "Behavior", ["id"],
           gets=["/api/v1/behaviors/{behaviorId}"]),
    Stream("brands", "branding", M, "/api/v1/brands", "items", "Brand", ["id"],
           gets=["/api/v1/brands/{brandId}"]),
    Stream("brand_themes", "branding", M, "/api/v1/brands/{brandId}/themes", "items", "Theme",
           ["brand_id", "id"], gets=["/api/v1/brands/{brandId}/themes/{themeId}"],
           parents=[BRAND_ID], record="BrandThemeRecord"),
    Stream("email_templates", "branding", M, "/api/v1/brands/{brandId}/templates/email", "items",
           "EmailTemplate", ["brand_id", "name"],
           gets=["/api/v1/brands/{brandId}/templates/email/{templateName}"],
           parents=[BRAND_ID], record="EmailTemplateRecord"),
    Stream("domains", "org", M, "/api/v1/domains", "domains", "Domain", ["id"],
           gets=["/api/v1/domains/{domainId}"]),
    Stream("email_domains", "org", M, "/api/v1/email-domains", "items", "EmailDomain", ["id"],
           gets=["/api/v1/email-domains/{emailDomainId}"]),
    Stream("sms_templates", "org", M, "/api/v1/templates/sms", "items", "SmsTemplate", ["id"],
           gets=["/api/v1/templates/sms/{templateId}"]),
    Stream("oauth_clients", "authz", O, "/oauth2/v1/clients", "items", "OAuthClient",
           ["client_id"], gets=["/oauth2/v1/clients/{clientId}"]),
    Stream("event_hooks", "hooks", M, "/api/v1/eventHooks", "items", "EventHook", ["id"],
           gets=["/api/v1/eventHooks/{eventHookId}"]),
    Stream("inline_hooks", "hooks", M, "/api/v1/inlineHooks", "items", "InlineHook", ["id"],
           gets=["/api/v1/inlineHooks/{inlineHookId}"]),
    Stream("hook_keys", "hooks", M, "/api/v1/hook-keys", "items", "HookKey", ["id"],
           gets=["/api/v1/hook-keys/{id}"]),
    Stream("features", "org", M, "/api/v1/features", "items", "Feature", ["id"],
           gets=["/api/v1/features/{featureId}"]),
    Stream("log_streams", "org", M, "/api/v1/logStreams", "items", "LogStream", ["id"],
           gets=["/api/v1/logStreams/{logStreamId}"]),
    Stream("profile_mappings", "org", M, "/api/v1/mappings", "items", "ProfileMapping", ["id"],
           gets=["/api/v1/mappings/{mappingId}"], merge=["ProfileMapping"]),
    Stream("org", "org", M, "/api/v1/org", "self", "OrgSetting", ["id"]),
    Stream("push_providers", "org", M, "/api/v1/push-providers", "items", "PushProvider", ["id"],
           gets=["/api/v1/push-providers/{pushProviderId}"]),
    Stream("risk_providers", "security", C, "/api/v1/risk/providers", "items", "RiskProvider",
           ["id"]),
    Stream("security_events_providers", "security", M, "/api/v1/security-events-providers", "items",
           "SecurityEventsProvider", ["id"],
           gets=["/api/v1/security-events-providers/{securityEventProviderId}"]),
    Stream("threat_insight", "security", M, "/api/v1/threats/configuration", "self",
           "ThreatInsightConfiguration", ["id"],
           parents=[("id", "Constant singleton key `threat_insight` (`THREAT_INSIGHT_ID`): the org has exactly one ThreatInsight configuration, which has no id of its own.")],
           record="ThreatInsightRecord"),
    Stream("api_tokens", "security", M, "/api/v1/api-tokens", "items", "ApiToken", ["id"],
           gets=["/api/v1/api-tokens/{apiTokenId}"]),
    Stream("realms", "org", M, "/api/v1/realms", "items", "Realm", ["id"],
           gets=["/api/v1/realms/{realmId}"]),
    # ---------------------------------------------------------------- Advanced Server Access
    Stream("asa_users", "asa", A, "/v1/teams/{team_name}/users", "list", "AsaUser", ["id"],
           gets=["/v1/teams/{team_name}/users/{user_name}"]),
    Stream("asa_groups", "asa", A, "/v1/teams/{team_name}/groups", "list", "AsaGroup", ["id"],
           gets=["/v1/teams/{team_name}/groups/{group_name}"]),
    Stream("asa_group_members", "asa", A, "/v1/teams/{team_name}/groups/{group_name}/users", "list",
           "AsaUser", ["group_name", "id"],
           parents=[("group_name", "The name of the ASA group this member belongs to (added by the connector).")],
           record="AsaGroupMemberRecord"),
    Stream("asa_user_attributes", "asa", A, "/v1/teams/{team_name}/users/{user_name}/attributes",
           "list", "AsaUserAttribute", ["user_name", "id"],
           gets=["/v1/teams/{team_name}/users/{user_name}/attributes/{attribute_id}"],
           parents=[("user_name", "The name of the ASA user owning this attribute (added by the connector).")],
           record="AsaUserAttributeRecord"),
    Stream("asa_group_attributes", "asa", A, "/v1/teams/{team_name}/groups/{group_name}/attributes",
           "list", "AsaGroupAttribute", ["group_name", "id"],
           gets=["/v1/teams/{team_name}/groups/{group_name}/attributes/{attribute_id}"],
           parents=[("group_name", "The name of the ASA group owning this attribute (added by the connector).")],
           record="AsaGroupAttributeRecord"),
    Stream("asa_projects", "asa", A, "/v1/teams/{team_name}/projects", "list", "AsaProject", ["id"],
           gets=["/v1/teams/{team_name}/projects/{project_name}"]),
    Stream("asa_project_servers", "asa", A, "/v1/teams/{team_name}/projects/{project_name}/servers",
           "list", "AsaServer", ["project_name", "id"],
           gets=["/v1/teams/{team_name}/projects/{project_name}/servers/{server_id}"],
           parents=[("project_name", "The name of the ASA project this server is enrolled in (added by the connector).")],
           record="AsaProjectServerRecord"),
    Stream("asa_clients", "asa", A, "/v1/teams/{team_name}/clients", "list", "AsaClient", ["id"],
           gets=["/v1/teams/{team_name}/clients/{client_id}"]),
    Stream("asa_service_users", "asa", A, "/v1/teams/{team_name}/service_users", "list", "AsaUser",
           ["id"], gets=["/v1/teams/{team_name}/service_users/{user_name}"]),
    Stream("asa_entitlements", "asa", A, "/v1/teams/{team_name}/entitlements/sudo", "list",
           "AsaEntitlementSudo", ["id"], gets=["/v1/teams/{team_name}/entitlements/sudo/{sudo_id}"]),
    Stream("asa_audits", "asa", C, "/v1/teams/{team_name}/auditsV2", "list", "AsaAuditEvent", ["id"],
           "timestamp"),
    Stream("asa_teams", "asa", C, "/v1/teams/{team_name}/settings", "self", "AsaTeam",
           ["team_name"],
           parents=[("team_name", "The ASA team name (from the connector's configuration).")],
           record="AsaTeamRecord"),
]
