//! The endpoint table: every served path with its OAuth scope, where its data comes from and how
//! it pages, plus the handlers of the endpoints that need more than the generic ones (filters,
//! sorting, System Log polling).
//!
//! Adding an endpoint whose data is a plain list, a child list or a single object is one row in
//! [`ROUTES`] plus the generator that fills [`Org::lists`], [`Org::children`] or [`Org::objects`].

use bytes::Bytes;
use std::sync::LazyLock;

use crate::catalog;
use crate::clock::{self, DAY_MS};
use crate::filter::{self, AttrKind, Expr, FilterError, Op};
use crate::model;
use crate::org::{Item, Org, SortKey, RETENTION_MS};
use crate::paging::{self, json_array, Query};

/// A handler of a custom endpoint.
pub type Handler = fn(&Ctx<'_>) -> Result<Reply, ApiError>;

/// Where an endpoint's data comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// A list in [`Org::lists`], by id.
    List(&'static str),
    /// One item of a list in [`Org::lists`], by the `{id}` path parameter.
    ListItem(&'static str),
    /// A child list in [`Org::children`] of the parent given by the path parameters (one id, or the
    /// chain of ids under a nested parent: [`chain_key`]).
    Children(&'static str),
    /// A single object in [`Org::objects`] under (name, key).
    Object(&'static str, &'static str),
    /// A single object in [`Org::objects`] under (name, `{id}` path parameter).
    ObjectByParam(&'static str),
    /// A custom handler.
    Custom(Handler),
}

/// How an endpoint pages.
#[derive(Debug, Clone, Copy)]
pub enum Paging {
    /// A JSON array paged with `after`/`limit` and `link` headers.
    Link {
        /// Default page size.
        default: usize,
        /// Maximum page size (larger values are capped).
        max: usize,
    },
    /// `{"<key>": [...], "_links": {"next": {"href": ...}}}` (the `/api/v1/iam/*` style).
    Body {
        /// The array's key.
        key: &'static str,
        /// Default page size.
        default: usize,
        /// Maximum page size.
        max: usize,
    },
    /// The whole list in one object `{"<key>": [...]}`.
    Wrapped(&'static str),
    /// The whole list as one array.
    Whole,
    /// A single object.
    Single,
}

/// One endpoint.
#[derive(Debug)]
pub struct Route {
    /// Path pattern; `{id}` matches one segment.
    pub pattern: &'static str,
    /// OAuth scope needed to read it (`.manage` implies `.read`).
    pub scope: &'static str,
    /// Data source.
    pub source: Source,
    /// Paging style (custom handlers read their limits from it).
    pub paging: Paging,
}

/// Every GET endpoint the simulator serves.
pub static ROUTES: &[Route] = &[
    Route {
        pattern: "/api/v1/users",
        scope: "okta.users.read",
        source: Source::Custom(users_list),
        paging: Paging::Link {
            default: 200,
            max: 200,
        },
    },
    Route {
        pattern: "/api/v1/users/{id}",
        scope: "okta.users.read",
        source: Source::Custom(user_get),
        paging: Paging::Single,
    },
    Route {
        pattern: "/api/v1/users/{id}/linkedObjects/{type}",
        scope: "okta.users.read",
        source: Source::Custom(catalog::linked_objects_handler),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/users/{id}/groups",
        scope: "okta.users.read",
        source: Source::Custom(user_groups),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/groups",
        scope: "okta.groups.read",
        source: Source::Custom(groups_list),
        paging: Paging::Link {
            default: 200,
            max: 200,
        },
    },
    Route {
        pattern: "/api/v1/groups/{id}",
        scope: "okta.groups.read",
        source: Source::Custom(group_get),
        paging: Paging::Single,
    },
    Route {
        pattern: "/api/v1/groups/{id}/users",
        scope: "okta.groups.read",
        source: Source::Custom(group_members),
        paging: Paging::Link {
            default: 1000,
            max: 1000,
        },
    },
    Route {
        pattern: "/api/v1/apps",
        scope: "okta.apps.read",
        source: Source::List("apps"),
        paging: Paging::Link {
            default: 20,
            max: 200,
        },
    },
    Route {
        pattern: "/api/v1/apps/{id}",
        scope: "okta.apps.read",
        source: Source::ListItem("apps"),
        paging: Paging::Single,
    },
    Route {
        pattern: "/api/v1/apps/{id}/users",
        scope: "okta.apps.read",
        source: Source::Children("app_users"),
        paging: Paging::Link {
            default: 50,
            max: 500,
        },
    },
    Route {
        pattern: "/api/v1/apps/{id}/users/{id}",
        scope: "okta.apps.read",
        source: Source::Custom(app_user_get),
        paging: Paging::Single,
    },
    Route {
        pattern: "/api/v1/apps/{id}/groups",
        scope: "okta.apps.read",
        source: Source::Children("app_groups"),
        paging: Paging::Link {
            default: 20,
            max: 200,
        },
    },
    Route {
        pattern: "/api/v1/logs",
        scope: "okta.logs.read",
        source: Source::Custom(logs),
        paging: Paging::Link {
            default: 100,
            max: 1000,
        },
    },
    Route {
        pattern: "/api/v1/meta/types/user",
        scope: "okta.userTypes.read",
        source: Source::List("user_types"),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/meta/types/user/{id}",
        scope: "okta.userTypes.read",
        source: Source::ListItem("user_types"),
        paging: Paging::Single,
    },
    Route {
        pattern: "/api/v1/meta/schemas/user/{id}",
        scope: "okta.schemas.read",
        source: Source::ObjectByParam("user_schema"),
        paging: Paging::Single,
    },
    Route {
        pattern: "/api/v1/meta/schemas/group/default",
        scope: "okta.schemas.read",
        source: Source::Object("group_schema", "default"),
        paging: Paging::Single,
    },
    Route {
        pattern: "/api/v1/iam/roles",
        scope: "okta.roles.read",
        source: Source::List("custom_roles"),
        paging: Paging::Body {
            key: "roles",
            default: 5,
            max: 100,
        },
    },
    Route {
        pattern: "/api/v1/iam/roles/{id}",
        scope: "okta.roles.read",
        source: Source::ListItem("custom_roles"),
        paging: Paging::Single,
    },
    Route {
        pattern: "/api/v1/iam/roles/{id}/permissions",
        scope: "okta.roles.read",
        source: Source::Children("role_permissions"),
        paging: Paging::Wrapped("permissions"),
    },
    Route {
        pattern: "/api/v1/org",
        scope: "okta.orgs.read",
        source: Source::Object("org", ""),
        paging: Paging::Single,
    },
    // ---- the rest of the catalog (crate::catalog) ----
    Route {
        pattern: "/api/v1/users/{id}/factors",
        scope: "okta.users.read",
        source: Source::Custom(catalog::factors_handler),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/users/{id}/roles",
        scope: "okta.roles.read",
        source: Source::Custom(catalog::user_roles_handler),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/iam/assignees/users",
        scope: "okta.roles.read",
        source: Source::List("role_assignees"),
        paging: Paging::Body {
            key: "value",
            default: 100,
            max: 100,
        },
    },
    Route {
        pattern: "/api/v1/groups/{id}/owners",
        scope: "okta.groups.read",
        source: Source::Custom(catalog::group_owners_handler),
        paging: Paging::Link {
            default: 1000,
            max: 1000,
        },
    },
    Route {
        pattern: "/api/v1/groups/rules",
        scope: "okta.groups.read",
        source: Source::List("group_rules"),
        paging: Paging::Link {
            default: 50,
            max: 200,
        },
    },
    Route {
        pattern: "/api/v1/groups/{id}/roles",
        scope: "okta.roles.read",
        source: Source::Custom(catalog::group_roles_handler),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/devices",
        scope: "okta.devices.read",
        source: Source::Custom(catalog::devices_handler),
        paging: Paging::Link {
            default: 200,
            max: 200,
        },
    },
    Route {
        pattern: "/api/v1/devices/{id}/users",
        scope: "okta.devices.read",
        source: Source::Custom(catalog::device_users_handler),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/meta/schemas/apps/{id}/default",
        scope: "okta.schemas.read",
        source: Source::Custom(catalog::app_schema_handler),
        paging: Paging::Single,
    },
    Route {
        pattern: "/api/v1/meta/uischemas",
        scope: "okta.uischemas.read",
        source: Source::List("ui_schemas"),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/meta/schemas/user/linkedObjects",
        scope: "okta.linkedObjects.read",
        source: Source::List("linked_objects"),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/iam/resource-sets",
        scope: "okta.roles.read",
        source: Source::List("resource_sets"),
        paging: Paging::Body {
            key: "resource-sets",
            default: 3,
            max: 100,
        },
    },
    Route {
        pattern: "/api/v1/iam/resource-sets/{id}/resources",
        scope: "okta.roles.read",
        source: Source::Children("resource_set_resources"),
        paging: Paging::Body {
            key: "resources",
            default: 100,
            max: 100,
        },
    },
    Route {
        pattern: "/api/v1/roles/{id}/subscriptions",
        scope: "okta.roles.read",
        source: Source::Children("role_subscriptions"),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/policies",
        scope: "okta.policies.read",
        source: Source::Custom(catalog::policies_handler),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/policies/{id}/rules",
        scope: "okta.policies.read",
        source: Source::Children("policy_rules"),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/authenticators",
        scope: "okta.authenticators.read",
        source: Source::List("authenticators"),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/authorizationServers",
        scope: "okta.authorizationServers.read",
        source: Source::List("authorization_servers"),
        paging: Paging::Link {
            default: 200,
            max: 200,
        },
    },
    Route {
        pattern: "/api/v1/authorizationServers/{id}/scopes",
        scope: "okta.authorizationServers.read",
        source: Source::Children("authorization_server_scopes"),
        paging: Paging::Link {
            default: 200,
            max: 200,
        },
    },
    Route {
        pattern: "/api/v1/authorizationServers/{id}/claims",
        scope: "okta.authorizationServers.read",
        source: Source::Children("authorization_server_claims"),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/authorizationServers/{id}/policies",
        scope: "okta.authorizationServers.read",
        source: Source::Children("authorization_server_policies"),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/idps",
        scope: "okta.idps.read",
        source: Source::List("identity_providers"),
        paging: Paging::Link {
            default: 20,
            max: 200,
        },
    },
    Route {
        pattern: "/api/v1/zones",
        scope: "okta.networkZones.read",
        source: Source::List("network_zones"),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/trustedOrigins",
        scope: "okta.trustedOrigins.read",
        source: Source::List("trusted_origins"),
        paging: Paging::Link {
            default: 20,
            max: 200,
        },
    },
    Route {
        pattern: "/api/v1/behaviors",
        scope: "okta.behaviors.read",
        source: Source::List("behaviors"),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/brands",
        scope: "okta.brands.read",
        source: Source::List("brands"),
        paging: Paging::Link {
            default: 20,
            max: 200,
        },
    },
    Route {
        pattern: "/api/v1/brands/{id}/themes",
        scope: "okta.brands.read",
        source: Source::Children("brand_themes"),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/brands/{id}/templates/email",
        scope: "okta.templates.read",
        source: Source::Children("email_templates"),
        paging: Paging::Link {
            default: 20,
            max: 200,
        },
    },
    Route {
        pattern: "/api/v1/domains",
        scope: "okta.domains.read",
        source: Source::List("domains"),
        paging: Paging::Wrapped("domains"),
    },
    Route {
        pattern: "/api/v1/email-domains",
        scope: "okta.emailDomains.read",
        source: Source::List("email_domains"),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/templates/sms",
        scope: "okta.templates.read",
        source: Source::List("sms_templates"),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/oauth2/v1/clients",
        scope: "okta.clients.read",
        source: Source::List("oauth_clients"),
        paging: Paging::Link {
            default: 20,
            max: 200,
        },
    },
    Route {
        pattern: "/api/v1/eventHooks",
        scope: "okta.eventHooks.read",
        source: Source::List("event_hooks"),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/inlineHooks",
        scope: "okta.inlineHooks.read",
        source: Source::List("inline_hooks"),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/hook-keys",
        scope: "okta.inlineHooks.read",
        source: Source::List("hook_keys"),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/features",
        scope: "okta.features.read",
        source: Source::List("features"),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/logStreams",
        scope: "okta.logStreams.read",
        source: Source::List("log_streams"),
        paging: Paging::Link {
            default: 20,
            max: 200,
        },
    },
    Route {
        pattern: "/api/v1/mappings",
        scope: "okta.profileMappings.read",
        source: Source::List("mappings"),
        paging: Paging::Link {
            default: 20,
            max: 200,
        },
    },
    Route {
        pattern: "/api/v1/mappings/{id}",
        scope: "okta.profileMappings.read",
        source: Source::ListItem("mapping_details"),
        paging: Paging::Single,
    },
    Route {
        pattern: "/api/v1/push-providers",
        scope: "okta.pushProviders.read",
        source: Source::List("push_providers"),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/risk/providers",
        scope: "okta.riskProviders.read",
        source: Source::Custom(catalog::risk_providers_handler),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/security-events-providers",
        scope: "okta.securityEventsProviders.read",
        source: Source::List("security_events_providers"),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/threats/configuration",
        scope: "okta.threatInsights.read",
        source: Source::Object("threat_insight", ""),
        paging: Paging::Single,
    },
    Route {
        pattern: "/api/v1/org/captcha",
        scope: "okta.captchas.read",
        source: Source::Object("org_captcha", ""),
        paging: Paging::Single,
    },
    Route {
        pattern: "/okta-personal-settings/api/v1/export-blocklists",
        scope: "okta.personal.adminSettings.read",
        source: Source::Object("okta_personal_export_blocklist", ""),
        paging: Paging::Single,
    },
    Route {
        pattern: "/api/v1/api-tokens",
        scope: "okta.apiTokens.read",
        source: Source::List("api_tokens"),
        paging: Paging::Whole,
    },
    Route {
        pattern: "/api/v1/principal-rate-limits",
        scope: "okta.principalRateLimits.read",
        source: Source::Custom(catalog::principal_rate_limits_handler),
        paging: Paging::Link {
            default: 20,
            max: 50,
        },
    },
    Route {
        pattern: "/api/v1/realms",
        scope: "okta.realms.read",
        source: Source::List("realms"),
        paging: Paging::Link {
            default: 200,
            max: 200,
        },
    },
];

/// The manifest's plain lists the table above does not serve: one top-level Okta list each (an
/// array, or an object wrapping one), read whole, with no parent and no types. The simulator serves them from their spec examples, so
/// a new list stream needs only its manifest entry.
pub fn derived_lists() -> impl Iterator<Item = &'static okta_manifest::Stream> {
    okta_manifest::catalog().filter(|s| {
        s.api == okta_manifest::Api::Okta
            && s.reader == okta_manifest::Reader::List
            && s.parent.is_none()
            && s.types.is_empty()
            && matches!(
                s.extract,
                okta_manifest::Extract::Array | okta_manifest::Extract::Field(_)
            )
            && !ROUTES.iter().any(|r| r.pattern == pattern_of(s))
    })
}

/// The manifest's fan-outs the table above does not serve: one Okta list per key of a parent that
/// is itself a plain top-level list the simulator holds (apps, authorization servers, IdPs, brands,
/// resource sets, OAuth clients, ...), one of [`DERIVED_PARENTS`], or a fan-out whose children the
/// simulator holds in [`Org::children`] (another derived fan-out, or one of [`HELD_FAN_OUTS`]): a
/// grandparent fan-out, keyed by the chain of parent ids. The simulator seeds a few children per
/// parent from the stream's spec examples and serves them like [`Source::Children`]: an unknown
/// parent is a 404, a known one without children an empty list.
pub fn derived_fan_outs() -> impl Iterator<Item = &'static okta_manifest::Stream> {
    okta_manifest::catalog().filter(|s| derivable(s, 0))
}

/// Whether fan-out `s` is derived (see [`derived_fan_outs`]); `depth` bounds the walk up the chain.
fn derivable(s: &okta_manifest::Stream, depth: usize) -> bool {
    depth < 8
        && s.api == okta_manifest::Api::Okta
        && s.reader == okta_manifest::Reader::FanOut
        && s.types.is_empty()
        && s.variants.is_empty()
        && s.parent.and_then(okta_manifest::stream).is_some_and(|p| {
            DERIVED_PARENTS.contains(&p.name)
                || (p.api == okta_manifest::Api::Okta
                    && p.reader == okta_manifest::Reader::List
                    && p.parent.is_none()
                    && p.types.is_empty()
                    && !p.endpoint.contains('{'))
                || (p.variants.is_empty()
                    && (HELD_FAN_OUTS.iter().any(|(m, _)| *m == p.name) || derivable(p, depth + 1)))
        })
        && !ROUTES.iter().any(|r| r.pattern == pattern_of(s))
}

/// Parents that are no plain list but whose ids the simulator knows at seeding (its users, its
/// policies of every type): derived fan-outs may hang under them too.
pub const DERIVED_PARENTS: &[&str] = &["users", "policies"];

/// Hand-served fan-outs (manifest name, [`Org::children`] name) whose children derived fan-outs
/// may hang under, each child keyed by the chain of ids ([`chain_key`]).
pub const HELD_FAN_OUTS: &[(&str, &str)] = &[
    (
        "authorization_server_policies",
        "authorization_server_policies",
    ),
    ("email_templates", "email_templates"),
    ("user_role_assignments", "user_roles"),
];

/// The [`Org::children`] name holding a fan-out stream's rows.
pub fn sim_children(stream: &str) -> &str {
    HELD_FAN_OUTS
        .iter()
        .find(|(m, _)| *m == stream)
        .map_or(stream, |(_, c)| c)
}

/// The [`Org::children`] key of a derived fan-out's rows: the chain of parent ids from the top,
/// joined with `/` (one id for a single-level fan-out).
pub fn chain_key<S: AsRef<str>>(ids: &[S]) -> String {
    ids.iter().map(AsRef::as_ref).collect::<Vec<_>>().join("/")
}

/// The [`Org::lists`] name holding a manifest list stream's rows (the simulator's own names predate
/// the manifest for a few of them).
pub fn sim_list(stream: &str) -> &str {
    match stream {
        "applications" => "apps",
        s => s,
    }
}

fn pattern_of(s: &okta_manifest::Stream) -> &'static str {
    s.endpoint.split('?').next().unwrap_or(s.endpoint)
}

/// The paging of a derived route, as Okta's spec gives it (the inventory's `limit(def=…)(max=…)`): an
/// operation without a `limit` answers its whole list (an array, or the object wrapping it); one with
/// it pages, an enveloped list through `_links.next` (the `/api/v1/iam/*` style), an array with Link
/// headers. A limit the spec gives no default or maximum gets 20 and 200.
fn derived_paging(s: &okta_manifest::Stream) -> Paging {
    let limit = spec_limit(s.endpoint);
    match (s.extract, limit) {
        (okta_manifest::Extract::Field(key), None) => Paging::Wrapped(key),
        (okta_manifest::Extract::Field(key), Some((default, max))) => {
            Paging::Body { key, default, max }
        }
        (_, Some((default, max))) => Paging::Link { default, max },
        (_, None) => Paging::Whole,
    }
}

/// The page size default and maximum of the GET operation serving `endpoint` (matched by shape), or
/// `None` when it takes no `limit`.
pub fn spec_limit(endpoint: &str) -> Option<(usize, usize)> {
    let shape = okta_manifest::path_shape(endpoint);
    let params = okta_manifest::INVENTORY.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split('\t').collect();
        (f.get(1) == Some(&"GET")
            && f.get(2)
                .is_some_and(|p| okta_manifest::path_shape(p) == shape))
        .then(|| f.get(9).copied().unwrap_or_default())
    })?;
    let limit = params.split(' ').find(|p| p.starts_with("limit"))?;
    let number = |tag: &str| -> Option<i64> {
        let at = limit.find(tag)? + tag.len();
        let digits: String = limit[at..]
            .chars()
            .enumerate()
            .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && *c == '-'))
            .map(|(_, c)| c)
            .collect();
        digits.parse().ok()
    };
    // A default of `-1`: as many as the maximum allows (everything, without one).
    let everything = number("def=") == Some(-1);
    let max = number("max=")
        .and_then(|m| usize::try_from(m).ok())
        .unwrap_or(if everything { 10_000 } else { 200 });
    let default = match number("def=").map(usize::try_from) {
        _ if everything => max,
        Some(Ok(d)) => d,
        _ => 20,
    };
    Some((default.min(max), max))
}

/// The role target streams of the manifest (`user_role_targets`, `group_role_targets`,
/// `service_app_role_targets`): each of their variants (a role assignment's group targets, its app
/// targets) is a route of [`catalog::role_targets_handler`], with the manifest's scope and paging.
fn role_target_routes() -> impl Iterator<Item = Route> {
    okta_manifest::catalog()
        .filter(|s| s.derive == okta_manifest::Derive::TargetId)
        .flat_map(|s| {
            s.variants.iter().map(move |v| Route {
                pattern: v.endpoint.split('?').next().unwrap_or(v.endpoint),
                scope: s.scope,
                source: Source::Custom(catalog::role_targets_handler),
                paging: match spec_limit(v.endpoint) {
                    Some((default, max)) => Paging::Link { default, max },
                    None => Paging::Whole,
                },
            })
        })
}

/// Routes for [`derived_lists`] and [`derived_fan_outs`] (the manifest's scope and paging), and
/// the role targets' ([`role_target_routes`]).
static DERIVED: LazyLock<Vec<Route>> = LazyLock::new(|| {
    let lists = derived_lists().map(|s| Route {
        pattern: pattern_of(s),
        scope: s.scope,
        source: Source::List(s.name),
        paging: derived_paging(s),
    });
    let fan_outs = derived_fan_outs().map(|s| Route {
        pattern: pattern_of(s),
        scope: s.scope,
        source: Source::Children(s.name),
        paging: derived_paging(s),
    });
    lists.chain(fan_outs).chain(role_target_routes()).collect()
});

/// The route serving `path` and its path parameters. Literal segments win over `{id}`.
pub fn find(path: &str) -> Option<(&'static Route, Vec<String>)> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let mut best: Option<(&'static Route, Vec<String>, usize)> = None;
    for r in ROUTES.iter().chain(DERIVED.iter()) {
        let pat: Vec<&str> = r.pattern.split('/').collect();
        if pat.len() != segs.len() {
            continue;
        }
        let mut params = Vec::new();
        let mut literals = 0;
        let ok = pat.iter().zip(&segs).all(|(p, s)| {
            if p.starts_with('{') && p.ends_with('}') {
                if s.is_empty() {
                    return false;
                }
                params.push(percent_decode(s));
                true
            } else {
                literals += 1;
                p == s
            }
        });
        if ok && best.as_ref().is_none_or(|b| literals > b.2) {
            best = Some((r, params, literals));
        }
    }
    best.map(|(r, p, _)| (r, p))
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

/// Everything a handler sees of a request.
pub struct Ctx<'a> {
    /// The org (read-locked).
    pub org: &'a Org,
    /// The matched route.
    pub route: &'static Route,
    /// Path parameters.
    pub params: &'a [String],
    /// Request path.
    pub path: &'a str,
    /// Raw (encoded) query string.
    pub raw_query: &'a str,
    /// Decoded query.
    pub query: &'a Query,
    /// `scheme://host` of the request (links are absolute).
    pub base: &'a str,
    /// Now, epoch ms.
    pub now_ms: i64,
}

/// A successful answer.
#[derive(Debug, Default)]
pub struct Reply {
    /// JSON body.
    pub body: Bytes,
    /// `rel="self"` link, for lists.
    pub self_link: Option<String>,
    /// `rel="next"` link.
    pub next_link: Option<String>,
}

/// An Okta error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// `errorCode`.
    pub code: &'static str,
    /// `errorSummary`.
    pub summary: String,
    /// `errorCauses[].errorSummary`.
    pub causes: Vec<String>,
}

impl ApiError {
    /// A new error.
    pub fn new(status: u16, code: &'static str, summary: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            summary: summary.into(),
            causes: Vec::new(),
        }
    }

    /// With one `errorCauses` entry.
    pub fn cause(mut self, c: impl Into<String>) -> Self {
        self.causes.push(c.into());
        self
    }

    /// 404 E0000007.
    pub fn not_found(what: &str) -> Self {
        ApiError::new(
            404,
            "E0000007",
            format!("Not found: Resource not found: {what}"),
        )
    }

    fn from_filter(e: FilterError) -> Self {
        match e {
            FilterError::Invalid(m) => {
                ApiError::new(400, "E0000031", "Invalid search criteria.").cause(m)
            }
            FilterError::BadDate(m) => ApiError::new(
                400,
                "E0000030",
                "Bad request. Invalid date. Dates must be of the form yyyy-MM-dd'T'HH:mm:ss.SSSZZ, e.g. 2013-01-01T12:00:00.000-07:00.",
            )
            .cause(m),
        }
    }

    pub(crate) fn bad_cursor() -> Self {
        ApiError::new(400, "E0000029", "Invalid paging request.")
            .cause("after: the cursor is not valid for this request")
    }

    fn validation(param: &str, msg: impl Into<String>) -> Self {
        ApiError::new(400, "E0000001", format!("Api validation failed: {param}")).cause(msg)
    }
}

/// Answer a request with its route.
pub fn dispatch(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let org = c.org;
    let param = || c.params.first().map(String::as_str).unwrap_or("");
    match c.route.source {
        Source::Custom(h) => h(c),
        Source::List(name) => {
            let items = org.list(name);
            list_reply(c, name, items)
        }
        Source::Children(name) => {
            // Keyed by the chain of parent ids (every path parameter) under a nested parent.
            let key = chain_key(c.params);
            let items = org
                .children
                .get(name)
                .and_then(|m| m.get(&key))
                .ok_or_else(|| ApiError::not_found(&key))?;
            list_reply(c, name, items)
        }
        Source::ListItem(name) => org
            .lists
            .get(name)
            .and_then(|v| {
                v.binary_search_by(|i| i.id.as_str().cmp(param()))
                    .ok()
                    .map(|i| &v[i])
            })
            .map(|i| single(i.json.clone()))
            .ok_or_else(|| ApiError::not_found(param())),
        Source::Object(name, key) => org
            .objects
            .get(&(name, key.to_string()))
            .map(|b| single(b.clone()))
            .ok_or_else(|| ApiError::not_found(c.path)),
        Source::ObjectByParam(name) => org
            .objects
            .get(&(name, param().to_string()))
            .map(|b| single(b.clone()))
            .ok_or_else(|| ApiError::not_found(param())),
    }
}

fn single(body: Bytes) -> Reply {
    Reply {
        body,
        ..Reply::default()
    }
}

pub(crate) fn page_limit(c: &Ctx<'_>, default: usize, max: usize) -> Result<usize, ApiError> {
    paging::limit(c.query.get("limit"), default, max, false)
        .map_err(|e| ApiError::validation("limit", e.0))
}

/// A page of a generic id-sorted list, in the route's paging style.
pub(crate) fn list_reply(c: &Ctx<'_>, name: &str, items: &[Item]) -> Result<Reply, ApiError> {
    let self_url = paging::self_url(c.base, c.path, c.raw_query);
    let kind = format!("list:{name}");
    let window = |default: usize, max: usize| -> Result<(&[Item], Option<String>), ApiError> {
        let limit = page_limit(c, default, max)?;
        let start = match c.query.get("after") {
            Some(a) => {
                let cur = paging::decode(&kind, a).ok_or_else(ApiError::bad_cursor)?;
                items.partition_point(|i| i.id.as_str() <= cur.id.as_str())
            }
            None => 0,
        };
        let end = (start + limit).min(items.len());
        let page = &items[start..end];
        let next = (end < items.len())
            .then(|| page.last())
            .flatten()
            .map(|last| paging::encode(&kind, 0, &last.id));
        Ok((page, next))
    };
    let array = |page: &[Item]| {
        let size = page.iter().map(|i| i.json.len() + 1).sum();
        json_array(page.iter().map(|i| &i.json[..]), size)
    };
    match c.route.paging {
        Paging::Link { default, max } => {
            let (page, next) = window(default, max)?;
            Ok(Reply {
                body: array(page),
                self_link: Some(self_url),
                next_link: next.map(|n| paging::next_url(c.base, c.path, c.raw_query, &n, &[])),
            })
        }
        Paging::Body { key, default, max } => {
            let (page, next) = window(default, max)?;
            let next = next.map(|n| paging::next_url(c.base, c.path, c.raw_query, &n, &[]));
            let mut body =
                Vec::with_capacity(256 + page.iter().map(|i| i.json.len()).sum::<usize>());
            body.extend_from_slice(format!("{{\"{key}\":").as_bytes());
            body.extend_from_slice(&array(page));
            let mut links = serde_json::Map::new();
            links.insert("self".into(), serde_json::json!({ "href": self_url }));
            if let Some(n) = &next {
                links.insert("next".into(), serde_json::json!({ "href": n }));
            }
            body.extend_from_slice(b",\"_links\":");
            body.extend_from_slice(serde_json::Value::Object(links).to_string().as_bytes());
            body.push(b'}');
            Ok(Reply {
                body: Bytes::from(body),
                self_link: None,
                next_link: None,
            })
        }
        Paging::Wrapped(key) => {
            let mut body = Vec::new();
            body.extend_from_slice(format!("{{\"{key}\":").as_bytes());
            body.extend_from_slice(&array(items));
            body.push(b'}');
            Ok(Reply {
                body: Bytes::from(body),
                self_link: None,
                next_link: None,
            })
        }
        Paging::Whole => Ok(Reply {
            body: array(items),
            self_link: Some(self_url),
            next_link: None,
        }),
        Paging::Single => Err(ApiError::not_found(c.path)),
    }
}

pub(crate) fn parse_expr(
    raw: &str,
    rules: fn(&str, Op) -> Result<AttrKind, String>,
) -> Result<Expr, ApiError> {
    let mut e = filter::parse(raw).map_err(ApiError::from_filter)?;
    e.validate(&rules).map_err(ApiError::from_filter)?;
    Ok(e)
}

/// `search`/`filter`/`sortBy`/`sortOrder` of the users and groups lists.
struct Listing {
    expr: Option<Expr>,
    sort: SortKey,
    desc: bool,
    kind: String,
}

fn listing(
    c: &Ctx<'_>,
    what: &str,
    search_rules: fn(&str, Op) -> Result<AttrKind, String>,
    filter_rules: fn(&str, Op) -> Result<AttrKind, String>,
) -> Result<Listing, ApiError> {
    let q = c.query;
    let (search, filter) = (q.get("search"), q.get("filter"));
    if search.is_some() && filter.is_some() {
        return Err(ApiError::new(
            400,
            "E0000033",
            "Bad request. Search and filter cannot be used at the same time.",
        ));
    }
    let expr = match (search, filter) {
        (Some(s), _) => Some(parse_expr(s, search_rules)?),
        (_, Some(f)) => Some(parse_expr(f, filter_rules)?),
        _ => None,
    };
    let (sort, desc) = if search.is_some() {
        let sort = match q.get("sortBy") {
            None | Some("id") => SortKey::Id,
            Some("lastUpdated") => SortKey::LastUpdated,
            Some("created") => SortKey::Created,
            Some(other) => {
                return Err(ApiError::new(400, "E0000031", "Invalid search criteria.")
                    .cause(format!("sortBy '{other}' is not supported")))
            }
        };
        let desc = match q.get("sortOrder") {
            None => false,
            Some(s) if s.eq_ignore_ascii_case("asc") || s.eq_ignore_ascii_case("ascending") => {
                false
            }
            Some(s) if s.eq_ignore_ascii_case("desc") || s.eq_ignore_ascii_case("descending") => {
                true
            }
            Some(other) => {
                return Err(ApiError::validation(
                    "sortOrder",
                    format!("'{other}' must be asc or desc"),
                ))
            }
        };
        (sort, desc)
    } else {
        (SortKey::Id, false)
    };
    Ok(Listing {
        expr,
        sort,
        desc,
        kind: format!("{what}:{sort:?}:{}", if desc { "desc" } else { "asc" }),
    })
}

fn sort_attr(sort: SortKey) -> &'static str {
    match sort {
        SortKey::LastUpdated => "lastUpdated",
        SortKey::Created => "created",
        SortKey::Id => "id",
    }
}

fn users_list(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let Paging::Link { default, max } = c.route.paging else {
        return Err(ApiError::not_found(c.path));
    };
    let q = c.query;
    let self_link = Some(paging::self_url(c.base, c.path, c.raw_query));
    if let (Some(term), false, false) = (q.get("q"), q.has("search"), q.has("filter")) {
        // People-picker search: prefix of first/last name or email, not pageable.
        let limit = page_limit(c, 10, max)?;
        let t = term.to_ascii_lowercase();
        let hits: Vec<&[u8]> = c
            .org
            .users
            .by_id
            .values()
            .filter(|u| u.status != "DEPROVISIONED")
            .filter(|u| {
                let p = &u.profile;
                [&p.first_name, &p.last_name, &p.email]
                    .iter()
                    .any(|f| f.to_ascii_lowercase().starts_with(&t))
            })
            .take(limit)
            .map(|u| &u.json[..])
            .collect();
        let size = hits.iter().map(|h| h.len() + 1).sum();
        return Ok(Reply {
            body: json_array(hits, size),
            self_link,
            next_link: None,
        });
    }
    let limit = page_limit(c, default, max)?;
    let l = listing(
        c,
        "users",
        model::user_search_rules,
        model::user_filter_rules,
    )?;
    let after = match q.get("after") {
        Some(a) => Some(paging::decode(&l.kind, a).ok_or_else(ApiError::bad_cursor)?),
        None => None,
    };
    let bounds = match (&l.expr, l.sort) {
        (Some(e), SortKey::LastUpdated | SortKey::Created) => e.time_bounds(sort_attr(l.sort)),
        _ => (None, None),
    };
    let include_deprovisioned = l.expr.is_some();
    let page = c.org.users.page(
        l.sort,
        l.desc,
        after.as_ref().map(|a| (a.key, a.id.as_str())),
        bounds,
        limit,
        |u| {
            (include_deprovisioned || u.status != "DEPROVISIONED")
                && l.expr.as_ref().is_none_or(|e| e.matches(u))
        },
    );
    let size = page.items.iter().map(|u| u.json.len() + 1).sum();
    let next_link = match page.items.last() {
        Some(u) if page.more => {
            let key = match l.sort {
                SortKey::Id => 0,
                SortKey::LastUpdated => u.last_updated,
                SortKey::Created => u.created,
            };
            let cur = paging::encode(&l.kind, key, &u.id);
            Some(paging::next_url(c.base, c.path, c.raw_query, &cur, &[]))
        }
        _ => None,
    };
    Ok(Reply {
        body: json_array(page.items.iter().map(|u| &u.json[..]), size),
        self_link,
        next_link,
    })
}

fn user_get(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let key = c.params.first().map(String::as_str).unwrap_or("");
    let users = &c.org.users.by_id;
    if key == "me" {
        // The API token's owner: the org's first active user plays the admin.
        return users
            .values()
            .find(|u| u.status == "ACTIVE")
            .map(|u| single(u.json.clone()))
            .ok_or_else(|| ApiError::not_found("me (User)"));
    }
    let u = users.get(key).or_else(|| {
        users
            .values()
            .find(|u| u.profile.login.eq_ignore_ascii_case(key))
    });
    u.map(|u| single(u.json.clone()))
        .ok_or_else(|| ApiError::not_found(&format!("{key} (User)")))
}

/// `GET /api/v1/apps/{appId}/users/{userId}`: one assignment (404 `E0000007` when the app or the
/// assignment does not exist).
fn app_user_get(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let (aid, uid) = match c.params {
        [a, u] => (a.as_str(), u.as_str()),
        _ => return Err(ApiError::not_found(c.path)),
    };
    let items = c
        .org
        .children
        .get("app_users")
        .and_then(|m| m.get(aid))
        .ok_or_else(|| ApiError::not_found(&format!("{aid} (AppInstance)")))?;
    items
        .binary_search_by(|i| i.id.as_str().cmp(uid))
        .ok()
        .map(|i| single(items[i].json.clone()))
        .ok_or_else(|| ApiError::not_found(&format!("{uid} (AppUser)")))
}

fn user_groups(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let key = c.params.first().map(String::as_str).unwrap_or("");
    if !c.org.users.by_id.contains_key(key) {
        return Err(ApiError::not_found(&format!("{key} (User)")));
    }
    let groups: Vec<&[u8]> = c
        .org
        .user_groups
        .get(key)
        .map(|s| {
            s.iter()
                .filter_map(|g| c.org.groups.by_id.get(g))
                .map(|g| &g.json[..])
                .collect()
        })
        .unwrap_or_default();
    let size = groups.iter().map(|g| g.len() + 1).sum();
    Ok(Reply {
        body: json_array(groups, size),
        self_link: Some(paging::self_url(c.base, c.path, c.raw_query)),
        next_link: None,
    })
}

/// A group's JSON with `_embedded.stats` spliced in (for `expand=stats`).
fn with_stats(org: &Org, g: &model::Group) -> Vec<u8> {
    let users = org.members.get(&g.id).map_or(0, |m| m.len());
    let apps = org.group_apps.get(&g.id).copied().unwrap_or(0);
    let mut v = g.json[..g.json.len().saturating_sub(1)].to_vec();
    v.extend_from_slice(
        format!(
            ",\"_embedded\":{{\"stats\":{{\"usersCount\":{users},\"appsCount\":{apps},\"groupPushMappingsCount\":0,\"hasAdminPrivilege\":false}}}}}}"
        )
        .as_bytes(),
    );
    v
}

fn groups_list(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let Paging::Link { default, max } = c.route.paging else {
        return Err(ApiError::not_found(c.path));
    };
    let q = c.query;
    let limit = page_limit(c, default, max)?;
    let l = listing(
        c,
        "groups",
        model::group_search_rules,
        model::group_filter_rules,
    )?;
    let after = match q.get("after") {
        Some(a) => Some(paging::decode(&l.kind, a).ok_or_else(ApiError::bad_cursor)?),
        None => None,
    };
    let name_prefix = q.get("q").map(str::to_ascii_lowercase);
    let bounds = match (&l.expr, l.sort) {
        (Some(e), SortKey::LastUpdated | SortKey::Created) => e.time_bounds(sort_attr(l.sort)),
        _ => (None, None),
    };
    let page = c.org.groups.page(
        l.sort,
        l.desc,
        after.as_ref().map(|a| (a.key, a.id.as_str())),
        bounds,
        limit,
        |g| {
            l.expr.as_ref().is_none_or(|e| e.matches(g))
                && name_prefix
                    .as_ref()
                    .is_none_or(|p| g.profile.name.to_ascii_lowercase().starts_with(p))
        },
    );
    let stats = q
        .get("expand")
        .is_some_and(|e| e.split(',').any(|x| x.trim() == "stats"));
    let body = if stats {
        let parts: Vec<Vec<u8>> = page.items.iter().map(|g| with_stats(c.org, g)).collect();
        let size = parts.iter().map(|p| p.len() + 1).sum();
        json_array(parts.iter().map(Vec::as_slice), size)
    } else {
        let size = page.items.iter().map(|g| g.json.len() + 1).sum();
        json_array(page.items.iter().map(|g| &g.json[..]), size)
    };
    let next_link = match page.items.last() {
        Some(g) if page.more => {
            let key = match l.sort {
                SortKey::Id => 0,
                SortKey::LastUpdated => g.last_updated,
                SortKey::Created => g.created,
            };
            let cur = paging::encode(&l.kind, key, &g.id);
            Some(paging::next_url(c.base, c.path, c.raw_query, &cur, &[]))
        }
        _ => None,
    };
    Ok(Reply {
        body,
        self_link: Some(paging::self_url(c.base, c.path, c.raw_query)),
        next_link,
    })
}

fn group_get(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let key = c.params.first().map(String::as_str).unwrap_or("");
    let g = c
        .org
        .groups
        .by_id
        .get(key)
        .ok_or_else(|| ApiError::not_found(&format!("{key} (UserGroup)")))?;
    let stats = c
        .query
        .get("expand")
        .is_some_and(|e| e.split(',').any(|x| x.trim() == "stats"));
    Ok(single(if stats {
        Bytes::from(with_stats(c.org, g))
    } else {
        g.json.clone()
    }))
}

fn group_members(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let Paging::Link { default, max } = c.route.paging else {
        return Err(ApiError::not_found(c.path));
    };
    let gid = c.params.first().map(String::as_str).unwrap_or("");
    let members = c
        .org
        .members
        .get(gid)
        .ok_or_else(|| ApiError::not_found(&format!("{gid} (UserGroup)")))?;
    let limit = page_limit(c, default, max)?;
    let kind = "members";
    let after = match c.query.get("after") {
        Some(a) => Some(paging::decode(kind, a).ok_or_else(ApiError::bad_cursor)?),
        None => None,
    };
    let range = match &after {
        Some(a) => members.range::<str, _>((
            std::ops::Bound::Excluded(a.id.as_str()),
            std::ops::Bound::Unbounded,
        )),
        None => members.range::<str, _>(..),
    };
    let mut items: Vec<&model::User> = Vec::with_capacity(limit.min(1024));
    let mut more = false;
    for uid in range {
        if let Some(u) = c.org.users.by_id.get(uid) {
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(u);
        }
    }
    let size = items.iter().map(|u| u.json.len() + 1).sum();
    let next_link = match items.last() {
        Some(u) if more => {
            let cur = paging::encode(kind, 0, &u.id);
            Some(paging::next_url(c.base, c.path, c.raw_query, &cur, &[]))
        }
        _ => None,
    };
    Ok(Reply {
        body: json_array(items.iter().map(|u| &u.json[..]), size),
        self_link: Some(paging::self_url(c.base, c.path, c.raw_query)),
        next_link,
    })
}

/// `GET /api/v1/logs` (API.md §5): polling mode (no `until`, ascending) in persistence order with
/// a `next` link on every page; bounded mode ordered by `published`, finite.
fn logs(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let Paging::Link { default, max } = c.route.paging else {
        return Err(ApiError::not_found(c.path));
    };
    let q = c.query;
    let org = c.org;
    let now = c.now_ms;
    let limit = paging::limit(q.get("limit"), default, max, true)
        .map_err(|e| ApiError::validation("limit", e.0))?;
    let desc = match q.get("sortOrder") {
        None => false,
        Some(s) if s.eq_ignore_ascii_case("ASCENDING") => false,
        Some(s) if s.eq_ignore_ascii_case("DESCENDING") => true,
        Some(other) => {
            return Err(ApiError::validation(
                "sortOrder",
                format!("'{other}' must be ASCENDING or DESCENDING"),
            ))
        }
    };
    let bad_date = |p: &str, v: &str| {
        ApiError::from_filter(FilterError::BadDate(format!(
            "{p}: '{v}' is not a valid date"
        )))
    };
    let until = match q.get("until") {
        Some(u) => Some(clock::parse_iso(u).ok_or_else(|| bad_date("until", u))?),
        None => None,
    };
    let since = match q.get("since") {
        Some(s) => clock::parse_iso(s).ok_or_else(|| bad_date("since", s))?,
        None => until.unwrap_or(now) - 7 * DAY_MS,
    };
    if since < now - 180 * DAY_MS {
        return Err(ApiError::new(
            400,
            "E0000053",
            "Invalid parameter: The since parameter is over 180 days prior to the current day.",
        )
        .cause("since: The since parameter is over 180 days prior to the current day."));
    }
    let expr = match q.get("filter") {
        Some(f) => Some(parse_expr(f, model::log_filter_rules)?),
        None => None,
    };
    let cutoff = now - RETENTION_MS;
    let refs = &org.log_refs;
    let visible = |e: &model::LogEvent| {
        e.published >= cutoff
            && expr
                .as_ref()
                .is_none_or(|x| x.matches(&model::LogView { event: e, refs }))
    };
    let self_link = Some(paging::self_url(c.base, c.path, c.raw_query));
    let mut out: Vec<&model::LogEvent> = Vec::with_capacity(limit.min(1000));

    if until.is_none() && !desc {
        // Polling: the cursor is the next position in persistence order.
        let kind = "logs:poll";
        let start = match q.get("after") {
            Some(a) => {
                let cur = paging::decode(kind, a).ok_or_else(ApiError::bad_cursor)?;
                usize::try_from(cur.key)
                    .ok()
                    .filter(|p| *p <= org.logs.len())
                    .ok_or_else(ApiError::bad_cursor)?
            }
            None => org.logs.partition_point(|e| e.persisted < since),
        };
        let mut pos = start;
        if limit > 0 {
            pos = org.logs.len();
            for (i, e) in org.logs.iter().enumerate().skip(start) {
                if visible(e) {
                    out.push(e);
                    if out.len() == limit {
                        pos = i + 1;
                        break;
                    }
                }
            }
        }
        let cur = paging::encode(kind, pos as i64, "");
        return Ok(Reply {
            body: render_events(org, &out),
            self_link,
            next_link: Some(paging::next_url(
                c.base,
                c.path,
                c.raw_query,
                &cur,
                &["since"],
            )),
        });
    }

    // Bounded: [since, until) by published; the cursor is the last (published, position).
    let until = until.unwrap_or(now);
    let kind = if desc { "logs:desc" } else { "logs:asc" };
    let after = match q.get("after") {
        Some(a) => {
            let cur = paging::decode(kind, a).ok_or_else(ApiError::bad_cursor)?;
            let pos: u32 = cur.id.parse().map_err(|_| ApiError::bad_cursor())?;
            Some((cur.key, pos))
        }
        None => None,
    };
    let idx = &org.logs_by_published;
    let mut more = false;
    let mut last: Option<(i64, u32)> = None;
    let mut take = |k: (i64, u32)| -> bool {
        let e = &org.logs[k.1 as usize];
        if visible(e) {
            if out.len() >= limit {
                more = true;
                return true;
            }
            out.push(e);
            last = Some(k);
        }
        false
    };
    if desc {
        let mut hi = idx.partition_point(|x| x.0 < until);
        if let Some(a) = after {
            hi = hi.min(idx.partition_point(|x| *x < a));
        }
        for k in idx[..hi].iter().rev() {
            if k.0 < since || take(*k) {
                break;
            }
        }
    } else {
        let mut lo = idx.partition_point(|x| x.0 < since);
        if let Some(a) = after {
            lo = lo.max(idx.partition_point(|x| *x <= a));
        }
        for k in &idx[lo..] {
            if k.0 >= until || take(*k) {
                break;
            }
        }
    }
    let next_link = match last {
        Some((p, pos)) if more => {
            let cur = paging::encode(kind, p, &pos.to_string());
            Some(paging::next_url(c.base, c.path, c.raw_query, &cur, &[]))
        }
        _ => None,
    };
    Ok(Reply {
        body: render_events(org, &out),
        self_link,
        next_link,
    })
}

/// A JSON array of log events, each regenerated straight into the body.
fn render_events(org: &Org, events: &[&model::LogEvent]) -> Bytes {
    let mut body = Vec::with_capacity(2 + events.len() * 1900);
    let mut scratch = crate::logs::Scratch::default();
    body.push(b'[');
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        org.log_templates.write(e, &mut scratch, &mut body);
    }
    body.push(b']');
    Bytes::from(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_with_literals_first() {
        let (r, p) = find("/api/v1/users")
            .map(|(r, p)| (r.pattern, p))
            .unwrap_or_default();
        assert_eq!((r, p.len()), ("/api/v1/users", 0));
        let (r, p) = find("/api/v1/groups/00gABC/users")
            .map(|(r, p)| (r.pattern, p))
            .unwrap_or_default();
        assert_eq!(r, "/api/v1/groups/{id}/users");
        assert_eq!(p, vec!["00gABC".to_string()]);
        let r = find("/api/v1/meta/schemas/group/default").map(|(r, _)| r.pattern);
        assert_eq!(r, Some("/api/v1/meta/schemas/group/default"));
        let r = find("/api/v1/meta/schemas/user/default").map(|(r, p)| (r.pattern, p));
        assert_eq!(
            r,
            Some((
                "/api/v1/meta/schemas/user/{id}",
                vec!["default".to_string()]
            ))
        );
        let r = find("/api/v1/apps/0oa1/users/00u%201").map(|(r, p)| (r.pattern, p));
        assert_eq!(
            r,
            Some((
                "/api/v1/apps/{id}/users/{id}",
                vec!["0oa1".to_string(), "00u 1".to_string()]
            ))
        );
        assert!(find("/api/v1/nope").is_none());
        assert!(find("/api/v1/users/").is_some());
        let (_, p) = find("/api/v1/users/a%40b.com").unwrap_or_else(|| (&ROUTES[0], vec![]));
        assert_eq!(p, vec!["a@b.com".to_string()]);
    }
}
