//! Discovery: the catalog of streams, with every custom profile attribute of the org typed from the
//! org's user types and profile schemas: user profiles (`users`, `group_members`, and the user embedded in
//! `device_users` and `devices`), group profiles (`groups`) and app-user profiles (`application_users`,
//! from every app's user schema).
//!
//! Without permission to read schemas discovery falls back to the static schemas with a warning. Wrong
//! credentials, an address where no Okta answers, or a host that cannot be reached fail discovery with
//! a `config_error`: a catalog printed then would hide a configuration that no sync can use.

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::http::client::OktaClient;
use crate::okta::page::{fetch, Extract, Pager};
use crate::streams::{Api, Catalogued, StreamDef};
use airbyte_protocol::Catalog;
use serde_json::{json, Map, Value};

/// The streams available with this configuration (ASA streams only when ASA is configured).
pub fn available(settings: Option<&Settings>) -> impl Iterator<Item = &'static StreamDef> + '_ {
    crate::streams::all()
        .filter(move |d| d.api == Api::Okta || settings.is_some_and(|s| s.asa.is_some()))
}

/// The catalog from the Rust types alone, every stream included (what `catalogs/` holds).
pub fn static_catalog() -> Catalog {
    Catalog {
        streams: crate::streams::all()
            .map(|d| d.airbyte_stream(d.schema()))
            .collect(),
    }
}

/// The catalog for this org: static schemas refined with the org's custom profile attributes.
pub async fn catalog(settings: &Settings) -> Result<Catalog> {
    let custom = match custom_attributes(settings).await {
        Ok(c) => c,
        Err(e @ (Error::Forbidden { .. } | Error::FeatureDisabled { .. })) => {
            tracing::warn!(error = %e, "cannot read the org's profile schemas; custom profile attributes stay untyped");
            CustomAttributes::default()
        }
        Err(Error::NotFound { path, .. }) => {
            return Err(Error::Config(format!(
                "no Okta API answered at {} ({path} is not found): check `domain` or `base_url`",
                crate::http::client::host_port(&settings.base_url)
            )))
        }
        // No answer at all after the retries: the address is wrong or unreachable from here.
        Err(Error::Exhausted { last, kind, .. }) if kind.is_no_answer() => {
            return Err(Error::Unreachable {
                host: crate::http::client::host_port(&settings.base_url),
                reason: last,
                hint: "Check `domain` or `base_url`, the network and the proxy settings.".into(),
            })
        }
        Err(e) => return Err(e),
    };
    let streams = available(Some(settings))
        .map(|d| {
            let mut schema = d.schema();
            for (stream, kind, at) in PROFILES {
                let extra = match kind {
                    Profile::User => &custom.user,
                    Profile::Group => &custom.group,
                    Profile::AppUser => &custom.app,
                };
                if *stream == d.name && !extra.is_empty() {
                    add_profile_properties(&mut schema, at, extra);
                }
            }
            d.airbyte_stream(schema)
        })
        .collect();
    Ok(Catalog { streams })
}

/// Whose attributes a profile holds.
enum Profile {
    User,
    Group,
    AppUser,
}

/// Every profile in a stream schema that the org's attributes type: (stream, kind, JSON pointer of the
/// profile's schema). A user profile is also embedded in `device_users` and in `devices`
/// (`_embedded.users[].user`, with `expand=user`).
const PROFILES: &[(&str, Profile, &str)] = &[
    ("users", Profile::User, "/properties/profile"),
    ("group_members", Profile::User, "/properties/profile"),
    (
        "device_users",
        Profile::User,
        "/properties/user/properties/profile",
    ),
    (
        "devices",
        Profile::User,
        "/properties/_embedded/properties/users/items/properties/user/properties/profile",
    ),
    ("groups", Profile::Group, "/properties/profile"),
    ("application_users", Profile::AppUser, "/properties/profile"),
];

/// Apps whose user schemas discovery reads at most (one request each); an org with more keeps
/// `application_users.profile` untyped (open) rather than spend its rate limit on discovery.
pub const MAX_APP_SCHEMAS: usize = 200;

#[derive(Default)]
struct CustomAttributes {
    user: Map<String, Value>,
    group: Map<String, Value>,
    app: Map<String, Value>,
}

/// Reads every user type's schema and the group schema, and types their custom attributes.
async fn custom_attributes(settings: &Settings) -> Result<CustomAttributes> {
    let mut s = settings.clone();
    s.max_retries = s.max_retries.min(2);
    let client = OktaClient::new(&s)?;
    let mut out = CustomAttributes::default();
    let mut schema_paths = Vec::new();
    let mut pager = Pager::new(client.url("/api/v1/meta/types/user")?, Extract::Array);
    while let Some(page) = pager.next_page(&client).await? {
        for raw in &page.items {
            let t: Value = serde_json::from_str(raw.get()).unwrap_or_default();
            if let Some(href) = t["_links"]["schema"]["href"].as_str() {
                let id = href
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or("default");
                schema_paths.push(format!(
                    "/api/v1/meta/schemas/user/{}",
                    crate::http::url::encode_segment(id)
                ));
            }
        }
    }
    if schema_paths.is_empty() {
        schema_paths.push("/api/v1/meta/schemas/user/default".into());
    }
    for path in schema_paths {
        merge_attributes(
            &mut out.user,
            &read_schema(&client, &path).await?,
            &["custom"],
            "user types",
        );
    }
    match read_schema(&client, "/api/v1/meta/schemas/group/default").await {
        Ok(g) => merge_attributes(&mut out.group, &g, &["custom"], "group schemas"),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the group profile schema; custom group attributes stay untyped")
        }
    }
    match app_attributes(&client).await {
        Ok(Some(app)) => out.app = app,
        Ok(None) => tracing::warn!(
            max = MAX_APP_SCHEMAS,
            "the org has more apps than discovery reads user schemas of; app-user profile attributes stay untyped"
        ),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the apps' user schemas; app-user profile attributes stay untyped")
        }
    }
    tracing::info!(
        user = out.user.len(),
        group = out.group.len(),
        app_user = out.app.len(),
        "typed the org's custom profile attributes"
    );
    Ok(out)
}

/// The app-user profile attributes of every app (`GET /api/v1/meta/schemas/apps/{appId}/default`, base and
/// custom): one `application_users` table holds every app's users, so an attribute is typed when every
/// app that declares it gives it the same type, and any JSON when two apps disagree; attributes only
/// some apps declare are typed too (the other apps' rows leave them null). `None` when the org has
/// more than [`MAX_APP_SCHEMAS`] apps.
async fn app_attributes(client: &OktaClient) -> Result<Option<Map<String, Value>>> {
    let mut ids = Vec::new();
    let mut pager = Pager::new(client.url("/api/v1/apps?limit=200")?, Extract::Array);
    while let Some(page) = pager.next_page(client).await? {
        for raw in &page.items {
            let app: Value = serde_json::from_str(raw.get()).unwrap_or_default();
            if let Some(id) = app["id"].as_str() {
                ids.push(id.to_owned());
            }
        }
        if ids.len() > MAX_APP_SCHEMAS {
            return Ok(None);
        }
    }
    let mut out = Map::new();
    for id in ids {
        let path = format!(
            "/api/v1/meta/schemas/apps/{}/default",
            crate::http::url::encode_segment(&id)
        );
        match read_schema(client, &path).await {
            Ok(s) => merge_attributes(&mut out, &s, &["base", "custom"], "apps"),
            // deleted since it was listed
            Err(Error::NotFound { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(Some(out))
}

async fn read_schema(client: &OktaClient, path: &str) -> Result<Value> {
    let page = fetch(client, &client.url(path)?, Extract::Object).await?;
    Ok(page
        .items
        .first()
        .and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or_default())
}

/// Adds the `definitions.{part}.properties` of an Okta profile schema, as JSON Schema, to `into`.
/// An attribute typed differently by two schemas (of `whose`: user types, apps) becomes any JSON rather
/// than wrong.
fn merge_attributes(
    into: &mut Map<String, Value>,
    okta_schema: &Value,
    parts: &[&str],
    whose: &str,
) {
    for part in parts {
        let Some(props) = okta_schema["definitions"][part]["properties"].as_object() else {
            continue;
        };
        for (name, attr) in props {
            let typed = json_schema_of(attr);
            match into.get(name) {
                Some(existing) if !same_type(existing, &typed) => {
                    let mut any = okta_records::schema::any_json();
                    any["description"] = json!(format!("Typed differently by different {whose}"));
                    into.insert(name.clone(), any);
                }
                Some(_) => {}
                None => {
                    into.insert(name.clone(), typed);
                }
            }
        }
    }
}

/// Whether two attribute schemas type alike (titles and descriptions may differ between apps).
fn same_type(a: &Value, b: &Value) -> bool {
    a.get("type") == b.get("type")
        && a.get("items") == b.get("items")
        && a.get("airbyte_type") == b.get("airbyte_type")
}

/// An Okta profile attribute (`string | boolean | integer | number | array`) as a nullable JSON Schema;
/// any other (an `object`, no type) as any JSON (`airbyte_type: object`, a JSON column).
pub fn json_schema_of(attr: &Value) -> Value {
    let scalar = |t: &str| -> Value {
        match t {
            "string" | "boolean" | "integer" | "number" => json!(["null", t]),
            _ => Value::Null,
        }
    };
    let mut out = match attr["type"].as_str() {
        Some("array") => {
            let items = attr["items"]["type"]
                .as_str()
                .map(|t| json!({"type": scalar(t)}))
                .filter(|i| !i["type"].is_null());
            let mut a = json!({"type": ["null", "array"]});
            if let Some(i) = items {
                a["items"] = i;
            }
            a
        }
        Some(t) if !scalar(t).is_null() => json!({"type": scalar(t)}),
        _ => okta_records::schema::any_json(),
    };
    if let Some(title) = attr["title"].as_str() {
        out["title"] = json!(title);
    }
    if let Some(d) = attr["description"].as_str() {
        out["description"] = json!(d);
    }
    out
}

/// Types `extra` in the profile schema at `at` (a JSON pointer), creating an open profile object when the
/// static schema has none there; properties the static schema types stay as they are.
fn add_profile_properties(schema: &mut Value, at: &str, extra: &Map<String, Value>) {
    let Some(profile) = schema.pointer_mut(at) else {
        return;
    };
    if !profile.is_object() {
        *profile = json!({"type": ["null", "object"], "additionalProperties": true});
    }
    if !profile["properties"].is_object() {
        profile["properties"] = json!({});
    }
    if let Some(props) = profile["properties"].as_object_mut() {
        for (k, v) in extra {
            props.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn okta_attribute_types_map_to_nullable_json_schema() {
        assert_eq!(
            json_schema_of(&json!({"type": "integer", "title": "Age"})),
            json!({"type": ["null", "integer"], "title": "Age"})
        );
        assert_eq!(
            json_schema_of(&json!({"type": "array", "items": {"type": "string"}})),
            json!({"type": ["null", "array"], "items": {"type": ["null", "string"]}})
        );
        assert_eq!(
            json_schema_of(&json!({"type": "object"})),
            json!({"airbyte_type": "object"})
        );
    }

    #[test]
    fn app_attributes_are_typed_when_every_app_that_has_them_agrees() {
        let app = |props: Value| json!({"definitions": {"base": {"properties": props}, "custom": {"properties": {}}}});
        let mut m = Map::new();
        for a in [
            app(json!({"x": {"type": "string", "title": "X"}, "y": {"type": "integer"}})),
            app(json!({"x": {"type": "string", "title": "Other title"}})),
            app(json!({"y": {"type": "string"}, "z": {"type": "boolean"}})),
        ] {
            merge_attributes(&mut m, &a, &["base", "custom"], "apps");
        }
        assert_eq!(m["x"]["type"], json!(["null", "string"]));
        assert_eq!(m["z"]["type"], json!(["null", "boolean"]));
        assert!(m["y"].get("type").is_none(), "{}", m["y"]);
        assert_eq!(m["y"]["airbyte_type"], "object");
    }

    #[test]
    fn embedded_profiles_are_typed_in_place() {
        let mut schema = json!({"properties": {"user": {"type": ["null", "object"], "properties": {
            "profile": {"type": ["null", "object"], "additionalProperties": true,
                        "properties": {"login": {"type": ["null", "string"]}}}}}}});
        let mut extra = Map::new();
        extra.insert("badge".into(), json!({"type": ["null", "string"]}));
        extra.insert("login".into(), json!({"type": ["null", "integer"]}));
        add_profile_properties(&mut schema, "/properties/user/properties/profile", &extra);
        let profile = &schema["properties"]["user"]["properties"]["profile"];
        assert_eq!(
            profile["properties"]["badge"]["type"],
            json!(["null", "string"])
        );
        assert_eq!(
            profile["properties"]["login"]["type"],
            json!(["null", "string"])
        );
        add_profile_properties(
            &mut schema,
            "/properties/missing/properties/profile",
            &extra,
        );
        assert!(schema["properties"].get("missing").is_none());
    }

    #[test]
    fn conflicting_types_become_untyped() {
        let mut m = Map::new();
        let schema =
            |t: &str| json!({"definitions": {"custom": {"properties": {"a": {"type": t}}}}});
        merge_attributes(&mut m, &schema("string"), &["custom"], "user types");
        merge_attributes(&mut m, &schema("integer"), &["custom"], "user types");
        assert!(m["a"].get("type").is_none());
        assert_eq!(m["a"]["airbyte_type"], "object");
    }
}
