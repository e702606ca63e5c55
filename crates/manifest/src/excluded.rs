//! The list endpoints of the inventory (`inventory.tsv`, every GET of the vendored specs) that no
//! stream reads, each with the reason. The README's "not streamed" table is generated from
//! [`EXCLUDED`], and a test holds that every list GET of the inventory is a stream's endpoint or
//! listed here, so an endpoint can't be forgotten silently.

use serde::Serialize;

/// Why an inventory list endpoint feeds no stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Reason {
    /// Okta doesn't let an API token or an OAuth service app read it.
    NoServiceAccess,
    /// It answers for the calling end user (their own token), not for the org.
    EndUserToken,
    /// A fan-out over a parent Okta offers no list of (only a get by id): nothing to fan out over.
    NoParentList,
    /// The same rows as another stream, seen from the other side or filtered.
    SameRowsAs(&'static str),
    /// Secret or key material the connector leaves out on purpose.
    Secrets,
    /// Okta's metadata, the same in every org.
    Metadata,
    /// One object by its key, which the spec describes as a list; the rows of the stream named.
    OneByKey(&'static str),
}

impl Reason {
    /// The README's wording.
    #[must_use]
    pub fn text(&self) -> String {
        match self {
            Reason::NoServiceAccess => {
                "not readable with an API token or an OAuth service app".into()
            }
            Reason::EndUserToken => "needs the end user's own token".into(),
            Reason::NoParentList => "its parent has no list endpoint to fan out over".into(),
            Reason::SameRowsAs(s) => format!("the same rows as `{s}`"),
            Reason::Secrets => "secret or private key material, left out on purpose".into(),
            Reason::Metadata => "Okta's metadata, the same in every org".into(),
            Reason::OneByKey(s) => {
                format!("one object by key, no list form; the rows are those of `{s}`")
            }
        }
    }
}

/// An inventory list endpoint no stream reads.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Excluded {
    /// The path as the inventory spells it.
    pub endpoint: &'static str,
    pub reason: Reason,
    /// What else a reader should know (empty: nothing).
    pub note: &'static str,
}

const fn x(endpoint: &'static str, reason: Reason, note: &'static str) -> Excluded {
    Excluded {
        endpoint,
        reason,
        note,
    }
}

use Reason::{
    EndUserToken, Metadata, NoParentList, NoServiceAccess, OneByKey, SameRowsAs, Secrets,
};

/// Every inventory list endpoint no stream reads, by path.
pub static EXCLUDED: &[Excluded] = &[
    x(
        "/.well-known/app-authenticator-configuration",
        NoServiceAccess,
        "public, per OAuth client",
    ),
    x("/.well-known/assetlinks.json", NoServiceAccess, "public"),
    x(
        "/api/v1/apps/{appId}/credentials/secrets",
        Secrets,
        "OAuth client secrets",
    ),
    x(
        "/api/v1/brands/{brandId}/domains",
        SameRowsAs("domains"),
        "filtered by brand",
    ),
    x(
        "/api/v1/brands/{brandId}/pages/sign-in/widget-versions",
        Metadata,
        "the widget versions Okta offers",
    ),
    x(
        "/api/v1/dr/status",
        NoServiceAccess,
        "disaster-recovery status",
    ),
    x(
        "/api/v1/dr/status/{domain}",
        NoServiceAccess,
        "disaster-recovery status",
    ),
    x(
        "/api/v1/groups/{groupId}/apps",
        SameRowsAs("application_groups"),
        "by group instead of by app",
    ),
    x(
        "/api/v1/identity-sources/{identitySourceId}/groups/{groupOrExternalId}/membership",
        NoParentList,
        "identity source → group: neither identity sources nor their groups have a list",
    ),
    x(
        "/api/v1/identity-sources/{identitySourceId}/sessions",
        NoParentList,
        "identity source → session",
    ),
    x(
        "/api/v1/idps/{idpId}/credentials/keys/active",
        SameRowsAs("identity_provider_keys"),
        "the active one only",
    ),
    x(
        "/api/v1/idps/{idpId}/users/{userId}/credentials/tokens",
        Secrets,
        "the social provider's OAuth tokens of a linked user (IdP → linked user)",
    ),
    x(
        "/api/v1/meta/schemas/logStream",
        Metadata,
        "the log stream types' settings schemas",
    ),
    x(
        "/api/v1/users/{id}/appLinks",
        SameRowsAs("application_users"),
        "by user instead of by app",
    ),
    x(
        "/api/v1/users/{id}/groups",
        SameRowsAs("group_members"),
        "by user instead of by group",
    ),
    x(
        "/api/v1/users/{id}/idps",
        SameRowsAs("identity_provider_users"),
        "by user instead of by IdP",
    ),
    x(
        "/api/v1/users/{userId}/devices",
        SameRowsAs("device_users"),
        "by user instead of by device",
    ),
    x(
        "/api/v1/users/{userId}/factors/questions",
        EndUserToken,
        "the security questions on offer",
    ),
    x(
        "/api/v1/users/{userId}/roles/{roleIdOrEncodedRoleId}/targets",
        SameRowsAs("user_role_targets"),
        "by role type instead of by assignment, with the targets the user holds through groups \
         (`group_role_targets`) too",
    ),
    x(
        "/integrations/api/v1/api-services/{apiServiceId}/credentials/secrets",
        Secrets,
        "",
    ),
    x(
        "/v1/teams/{team_name}/groups/{group_name}/users_not_in_group",
        SameRowsAs("asa_users"),
        "the complement of `asa_group_members`",
    ),
    x(
        "/v1/teams/{team_name}/projects/{project_name}/preauthorizations/{authorization_id}",
        OneByKey("asa_project_preauthorizations"),
        "ASA; one preauthorization by id: the spec swaps this GET's response and query parameters \
         with those of the list, `/preauthorizations`, which the stream reads",
    ),
    x(
        "/v1/teams/{team_name}/projects/{project_name}/server_enrollment_tokens",
        Secrets,
        "ASA enrollment tokens",
    ),
    x(
        "/v1/teams/{team_name}/projects/{project_name}/server_users/{user_name}",
        OneByKey("asa_project_server_users"),
        "ASA; one server user of a project, which the spec wraps in `list`",
    ),
    x(
        "/v1/teams/{team_name}/users/{user_name}/groups",
        SameRowsAs("asa_group_members"),
        "by user instead of by group",
    ),
];
