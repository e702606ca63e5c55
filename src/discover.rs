//! Discovery: the catalog of streams, with every custom profile attribute of the org typed in the
//! `users`, `group_members` and `groups` schemas from the org's user types and profile schemas.
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
            let extra = match d.name {
                "users" | "group_members" => &custom.user,
                "groups" => &custom.group,
                _ => &Map::new(),
            };
            if !extra.is_empty() {
                add_profile_properties(&mut schema, extra);
            }
            d.airbyte_stream(schema)
        })
        .collect();
    Ok(Catalog { streams })
}

#[derive(Default)]
struct CustomAttributes {
    user: Map<String, Value>,
    group: Map<String, Value>,
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
        merge_custom(&mut out.user, &read_schema(&client, &path).await?);
    }
    match read_schema(&client, "/api/v1/meta/schemas/group/default").await {
        Ok(g) => merge_custom(&mut out.group, &g),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the group profile schema; custom group attributes stay untyped")
        }
    }
    tracing::info!(
        user = out.user.len(),
        group = out.group.len(),
        "typed the org's custom profile attributes"
    );
    Ok(out)
}

async fn read_schema(client: &OktaClient, path: &str) -> Result<Value> {
    let page = fetch(client, &client.url(path)?, Extract::Object).await?;
    Ok(page
        .items
        .first()
        .and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or_default())
}

/// Adds the `definitions.custom.properties` of an Okta profile schema, as JSON Schema, to `into`.
/// An attribute typed differently by two user types becomes untyped rather than wrong.
fn merge_custom(into: &mut Map<String, Value>, okta_schema: &Value) {
    let Some(props) = okta_schema["definitions"]["custom"]["properties"].as_object() else {
        return;
    };
    for (name, attr) in props {
        let typed = json_schema_of(attr);
        match into.get(name) {
            Some(existing) if existing != &typed => {
                let mut any = okta_records::schema::any_json();
                any["description"] = json!("Typed differently by different user types");
                into.insert(name.clone(), any);
            }
            _ => {
                into.insert(name.clone(), typed);
            }
        }
    }
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

fn add_profile_properties(schema: &mut Value, extra: &Map<String, Value>) {
    let profile = &mut schema["properties"]["profile"];
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
    fn conflicting_types_become_untyped() {
        let mut m = Map::new();
        merge_custom(
            &mut m,
            &json!({"definitions": {"custom": {"properties": {"a": {"type": "string"}}}}}),
        );
        merge_custom(
            &mut m,
            &json!({"definitions": {"custom": {"properties": {"a": {"type": "integer"}}}}}),
        );
        assert!(m["a"].get("type").is_none());
        assert_eq!(m["a"]["airbyte_type"], "object");
    }
}
