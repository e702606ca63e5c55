//! Singer tap mode (`tap-okta --config F --discover`, `--catalog F --state F`, `--about`): the same
//! streams, state and error paths as the Airbyte mode, spoken as SCHEMA/RECORD/STATE.
//!
//! Configuration may come from several `--config` files (later ones win), from `TAP_OKTA_*` environment
//! variables, and in the nested Airbyte shape or the flat shape Meltano builds from declared settings.

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::launch::{finish, runtime};
use crate::output::{Output, Protocol, RecordTransform, SingerStream, SingerStreams};
use crate::secret::secrets_in;
use crate::streams::{Catalogued, StreamDef};
use airbyte_protocol::singer::{
    About, Capability, Catalog as SingerCatalog, CatalogEntry, Inclusion, Metadata, MetadataEntry,
    ReplicationMethod,
};
use airbyte_protocol::{ConfiguredCatalog, SyncMode};
use clap::Parser;
use maps::{MapConfig, Plan};
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

pub mod cdc;
pub mod maps;

/// Prefix of environment variables that set config keys (`TAP_OKTA_API_TOKEN` → `api_token`).
pub const ENV_PREFIX: &str = "TAP_OKTA_";
/// The flat settings that belong in the Airbyte shape's `credentials` object; their values are text.
const CREDENTIAL_KEYS: &[&str] = &[
    "auth_type",
    "api_token",
    "client_id",
    "key_id",
    "private_key",
    "scope",
    "client_secret",
    "refresh_token",
];
/// Settings whose values are text even when they look like numbers.
/// (The credential keys are text too: see [`CREDENTIAL_KEYS`].)
const TEXT_SETTINGS: &[&str] = &[
    "domain",
    "base_url",
    "start_date",
    "asa_team",
    "asa_key_id",
    "asa_key_secret",
    "asa_base_url",
];
/// Settings whose values are JSON objects.
const OBJECT_SETTINGS: &[&str] = &["asa", "stream_maps", "stream_map_config"];
/// Flat names of the `asa` settings (`TAP_OKTA_ASA_TEAM`, Meltano's `asa.team`) → keys of `asa`.
const ASA_FLAT_KEYS: &[(&str, &str)] = &[
    ("asa_team", "team"),
    ("asa_key_id", "key_id"),
    ("asa_key_secret", "key_secret"),
    ("asa_base_url", "base_url"),
];
/// The tap's name, as Meltano knows it.
pub const TAP_NAME: &str = "tap-okta";

/// Singer invocations start with flags (`--config`), Airbyte ones with a subcommand.
pub fn looks_like_singer(args: &[OsString]) -> bool {
    args.get(1)
        .and_then(|a| a.to_str())
        .is_some_and(|a| a.starts_with("--") && !matches!(a, "--help" | "--version" | "-h" | "-V"))
}

/// tap-okta: the Okta source as a Singer tap.
#[derive(Debug, Parser)]
#[command(name = "tap-okta", version, about)]
struct SingerArgs {
    /// Config file(s); later files override earlier ones. `ENV` reads only TAP_OKTA_* variables.
    #[arg(long)]
    config: Vec<PathBuf>,
    /// Print the catalog.
    #[arg(long)]
    discover: bool,
    /// The catalog with selection metadata.
    #[arg(long, conflicts_with = "properties")]
    catalog: Option<PathBuf>,
    /// Older name of --catalog.
    #[arg(long)]
    properties: Option<PathBuf>,
    /// The state (the `value` of the last STATE message).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Print name, version, capabilities and settings.
    #[arg(long)]
    about: bool,
    /// Format of --about.
    #[arg(long, default_value = "json", value_parser = ["json", "markdown"])]
    format: String,
}

pub fn main(args: Vec<OsString>) -> ExitCode {
    let parsed: SingerArgs = match crate::launch::parse_args(&args) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let out = Output::new(Protocol::Airbyte, Box::new(std::io::sink()));
    let mut secrets = Vec::new();
    let result = run(parsed, &mut secrets);
    finish(&out, result, &secrets)
}

fn run(args: SingerArgs, secrets: &mut Vec<String>) -> Result<()> {
    // The one stdout of this run: it goes to whichever output the command builds.
    let stdout = airbyte_protocol::writer::stdout();
    if args.about {
        let out = document_output(stdout);
        return if args.format == "markdown" {
            out.text(&about_markdown())
        } else {
            out.document(&about())
        };
    }
    let mut doc = merged_config(&args.config)?;
    secrets.extend(secrets_in(&doc));
    let maps = MapConfig::take_from(&mut doc)?;
    let activate_version = take_emit_activate_version(&mut doc)?;
    let settings = Settings::from_singer_value(doc)?;
    if args.discover {
        return document_output(stdout).document(&catalog(&settings));
    }
    let selection = match args.catalog.as_ref().or(args.properties.as_ref()) {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                Error::Input(format!("cannot read the catalog file {}: {e}", p.display()))
            })?;
            let doc: SingerCatalog = serde_json::from_str(&text).map_err(|e| {
                Error::Input(format!(
                    "the catalog file {} is not a Singer catalog: {e}",
                    p.display()
                ))
            })?;
            parse_selection(&doc)?
        }
        None => crate::discover::available(Some(&settings))
            .map(|d| Selection {
                def: d,
                mode: default_mode(d),
                fields: None,
            })
            .collect(),
    };
    let states = match &args.state {
        Some(p) => crate::launch::load_state(p)?,
        None => Default::default(),
    };
    // One table version per run for every FULL_TABLE stream: milliseconds since the epoch, so a later run
    // always has a higher version.
    let version = crate::output::now_ms();
    let mut streams = SingerStreams::new();
    let mut configured = Vec::new();
    for s in &selection {
        let incremental = s.mode == SyncMode::Incremental;
        let key_properties: Vec<String> =
            s.def.primary_key.iter().map(|k| (*k).to_string()).collect();
        let selected_schema = project_schema(singer_schema(s.def), s.fields.as_ref());
        let (schema, transform) = match maps.plan(
            s.def.name,
            &selected_schema,
            &key_properties,
            s.fields.clone(),
        )? {
            Plan::Dropped => {
                tracing::info!(
                    stream = s.def.name,
                    "stream_maps removes this stream: not synced"
                );
                continue;
            }
            Plan::Keep(None) => (selected_schema, None),
            Plan::Keep(Some(m)) => {
                let schema = m.schema(&selected_schema)?;
                let f: RecordTransform = Arc::new(move |r| m.apply(r));
                (schema, Some(f))
            }
        };
        streams.insert(
            s.def.name.to_string(),
            SingerStream {
                schema,
                key_properties,
                bookmark_properties: if incremental {
                    s.def
                        .cursor_field
                        .map(|c| vec![c.to_string()])
                        .unwrap_or_default()
                } else {
                    vec![]
                },
                transform: if s.def.cdc {
                    Some(cdc::transform(
                        s.def.primary_key.iter().map(|k| (*k).to_string()).collect(),
                        transform,
                    ))
                } else {
                    transform
                },
                version: (!incremental && activate_version).then_some(version),
            },
        );
        configured.push(crate::launch::configured_stream(s.def, s.mode));
    }
    for name in maps.named_streams() {
        if !name.contains(['*', '?']) && crate::streams::find(name).is_none() {
            tracing::warn!(
                stream = name,
                "stream_maps names a stream this tap does not have"
            );
        }
    }
    let out = Output::new(Protocol::Singer(streams), stdout);
    out.seed_bookmarks(states.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    out.singer_schemas()?;
    let rt = runtime()?;
    rt.block_on(crate::sync::read(
        settings,
        &ConfiguredCatalog {
            streams: configured,
        },
        states,
        out,
    ))
}

/// The Meltano SDK setting that turns ACTIVATE_VERSION off (tap-okta sends it unless this is `false`).
pub const EMIT_ACTIVATE_VERSION: &str = "emit_activate_version_messages";

/// Takes `emit_activate_version_messages` out of the config document (default true).
fn take_emit_activate_version(doc: &mut Value) -> Result<bool> {
    match doc
        .as_object_mut()
        .and_then(|m| m.remove(EMIT_ACTIVATE_VERSION))
    {
        None | Some(Value::Null) => Ok(true),
        Some(Value::Bool(b)) => Ok(b),
        Some(other) => Err(Error::Config(format!(
            "{EMIT_ACTIVATE_VERSION} must be true or false, not {other}"
        ))),
    }
}

/// The output of `--discover` and `--about` (documents, no messages).
fn document_output(stdout: Box<dyn std::io::Write + Send>) -> std::sync::Arc<Output> {
    Output::new(Protocol::Singer(SingerStreams::new()), stdout)
}

fn default_mode(d: &StreamDef) -> SyncMode {
    if d.supports_incremental() {
        SyncMode::Incremental
    } else {
        SyncMode::FullRefresh
    }
}

/// Merges config files (later wins, objects merged deeply) and `TAP_OKTA_*` variables, then turns
/// flat Meltano-style keys into the nested `credentials` object.
pub fn merged_config(paths: &[PathBuf]) -> Result<Value> {
    let mut doc = Value::Object(Map::new());
    for p in paths {
        if p.as_os_str() == "ENV" {
            continue;
        }
        let v = crate::launch::read_config_doc(p)?;
        if !v.is_object() {
            return Err(Error::Config(format!(
                "the config file {} must hold a JSON object",
                p.display()
            )));
        }
        deep_merge(&mut doc, v);
    }
    // Meltano also exports its extras as `TAP_OKTA__SELECT`, `TAP_OKTA__METADATA`…: not settings.
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| {
            k.starts_with(ENV_PREFIX)
                && !k[ENV_PREFIX.len()..].starts_with('_')
                && k.len() > ENV_PREFIX.len()
        })
        .collect();
    env.sort();
    for (k, v) in env {
        let key = k[ENV_PREFIX.len()..].to_ascii_lowercase();
        // Numbers and booleans are typed, except in text settings (an all-digit token stays a string).
        let value = match serde_json::from_str::<Value>(&v) {
            Ok(n @ (Value::Number(_) | Value::Bool(_)))
                if !TEXT_SETTINGS.contains(&key.as_str())
                    && !CREDENTIAL_KEYS.contains(&key.as_str()) =>
            {
                n
            }
            // Object settings (`TAP_OKTA_STREAM_MAPS='{"users": {"email": null}}'`).
            Ok(o @ Value::Object(_)) if OBJECT_SETTINGS.contains(&key.as_str()) => o,
            _ => Value::String(v),
        };
        doc[key] = value;
    }
    Ok(nest_flat_credentials(doc))
}

fn deep_merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) if existing.is_object() && v.is_object() => {
                        deep_merge(existing, v)
                    }
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

/// Flat keys (`api_token`, `client_id` + `private_key`, `client_secret` + `refresh_token`) become
/// the `credentials` object the Airbyte shape uses; a nested `credentials` wins.
fn nest_flat_credentials(mut doc: Value) -> Value {
    let Some(m) = doc.as_object_mut() else {
        return doc;
    };
    let mut creds = m
        .get("credentials")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for &k in CREDENTIAL_KEYS {
        if let Some(v) = m.remove(k) {
            if !v.is_null() && v != "" {
                creds.entry(k.to_string()).or_insert(v);
            }
        }
    }
    if !creds.contains_key("auth_type") {
        let auth = if creds.contains_key("private_key") {
            Some("oauth2.0_private_key")
        } else if creds.contains_key("refresh_token") {
            Some("oauth2.0")
        } else if creds.contains_key("api_token") {
            Some("api_token")
        } else {
            None
        };
        if let Some(a) = auth {
            creds.insert("auth_type".into(), json!(a));
        }
    }
    if !creds.is_empty() {
        m.insert("credentials".into(), Value::Object(creds));
    }
    for (flat, key) in ASA_FLAT_KEYS {
        if let Some(v) = m.remove(*flat) {
            if v.is_null() || v == "" {
                continue;
            }
            let asa = m.entry("asa").or_insert_with(|| json!({}));
            if let Some(asa) = asa.as_object_mut() {
                asa.entry(key.to_string()).or_insert(v);
            }
        }
    }
    doc
}

struct Selection {
    def: &'static StreamDef,
    mode: SyncMode,
    fields: Option<HashSet<String>>,
}

/// Whether a catalog says anything about selection (a `selected` key on a stream or in its metadata).
fn has_selection(catalog: &SingerCatalog) -> bool {
    catalog
        .streams
        .iter()
        .any(|s| s.selected.is_some() || s.metadata.iter().any(|m| m.metadata.selected.is_some()))
}

/// The selected streams (and fields) of a Singer catalog. A catalog without any `selected` key (the raw
/// `--discover` output) selects what its `selected-by-default` metadata says, with a notice.
fn parse_selection(catalog: &SingerCatalog) -> Result<Vec<Selection>> {
    let by_default = !has_selection(catalog);
    if by_default {
        tracing::warn!(
            "the catalog selects nothing (no `selected` metadata): syncing the streams and properties \
             marked `selected-by-default`. Mark streams `\"selected\": true` (Meltano: `select:`) to choose"
        );
    }
    let flag = |m: &Metadata| {
        if by_default {
            m.selected_by_default
        } else {
            m.selected
        }
    };
    let mut out = Vec::new();
    for s in &catalog.streams {
        let id = s.id();
        let def = crate::streams::find(id).ok_or_else(|| {
            Error::Input(format!(
                "the catalog lists stream {id:?}, which this tap does not have (run --discover)"
            ))
        })?;
        let stream_md = s.stream_metadata();
        let selected = stream_md
            .and_then(flag)
            .or(if by_default { None } else { s.selected })
            .unwrap_or(false);
        if !selected {
            continue;
        }
        let method = stream_md
            .and_then(|m| m.replication_method)
            .or(s.replication_method);
        let mode = match method {
            Some(ReplicationMethod::FullTable) => SyncMode::FullRefresh,
            Some(ReplicationMethod::Incremental | ReplicationMethod::LogBased) | None => {
                default_mode(def)
            }
        };
        let mut dropped = HashSet::new();
        for m in &s.metadata {
            let Some(f) = m.property_name() else { continue };
            let md = &m.metadata;
            if (flag(md) == Some(false) || md.inclusion == Some(Inclusion::Unsupported))
                && md.inclusion != Some(Inclusion::Automatic)
                && !def.primary_key.contains(&f)
                && def.cursor_field != Some(f)
                && f != cdc::SDC_DELETED_AT
            {
                dropped.insert(f.to_string());
            }
        }
        let fields = if dropped.is_empty() {
            None
        } else {
            let all = singer_schema(def)["properties"]
                .as_object()
                .map(|p| p.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default();
            Some(all.into_iter().filter(|f| !dropped.contains(f)).collect())
        };
        out.push(Selection { def, mode, fields });
    }
    Ok(out)
}

/// The stream's schema as Singer targets see it. Strict targets (target-csv's column list, SQL
/// targets' tables) drop or reject record fields the schema does not declare, so the key and
/// replication-key columns the connector adds are always declared.
fn singer_schema(def: &StreamDef) -> Value {
    let mut schema = def.schema();
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for k in def.primary_key {
            props
                .entry(k.to_string())
                .or_insert_with(|| json!({"type": "string"}));
        }
        if let Some(c) = def.cursor_field {
            props
                .entry(c.to_string())
                .or_insert_with(|| json!({"type": ["null", "string"], "format": "date-time"}));
        }
    }
    cdc::schema(schema, def.primary_key)
}

fn project_schema(mut schema: Value, fields: Option<&HashSet<String>>) -> Value {
    if let (Some(keep), Some(props)) = (
        fields,
        schema.get_mut("properties").and_then(Value::as_object_mut),
    ) {
        props.retain(|k, _| keep.contains(k));
    }
    schema
}

/// The Singer catalog `--discover` prints.
pub fn catalog(settings: &Settings) -> SingerCatalog {
    let streams = crate::discover::available(Some(settings))
        .map(|d| {
            let schema = singer_schema(d);
            let method = if d.supports_incremental() {
                ReplicationMethod::Incremental
            } else {
                ReplicationMethod::FullTable
            };
            let keys: Vec<String> = d.primary_key.iter().map(|k| (*k).to_string()).collect();
            let mut metadata = vec![MetadataEntry::stream(Metadata {
                inclusion: Some(Inclusion::Available),
                selected_by_default: Some(true),
                forced_replication_method: Some(method),
                valid_replication_keys: Some(
                    d.cursor_field
                        .map(|c| vec![c.to_string()])
                        .unwrap_or_default(),
                ),
                table_key_properties: Some(keys.clone()),
                ..Metadata::default()
            })];
            for name in schema["properties"]
                .as_object()
                .into_iter()
                .flat_map(|p| p.keys())
            {
                let automatic = d.primary_key.contains(&name.as_str())
                    || d.cursor_field == Some(name.as_str())
                    || name == cdc::SDC_DELETED_AT;
                metadata.push(MetadataEntry::property(
                    name,
                    Metadata {
                        inclusion: Some(if automatic {
                            Inclusion::Automatic
                        } else {
                            Inclusion::Available
                        }),
                        selected_by_default: Some(true),
                        ..Metadata::default()
                    },
                ));
            }
            CatalogEntry {
                tap_stream_id: d.name.to_string(),
                stream: Some(d.name.to_string()),
                schema,
                key_properties: keys,
                replication_method: Some(method),
                replication_key: d.cursor_field.map(str::to_string),
                selected: None,
                metadata,
            }
        })
        .collect();
    SingerCatalog { streams }
}

/// What the tap supports, in Meltano's words.
pub const CAPABILITIES: &[Capability] = &[
    Capability::Catalog,
    Capability::State,
    Capability::Discover,
    Capability::About,
    Capability::ActivateVersion,
    Capability::StreamMaps,
    Capability::SchemaFlattening,
];

/// `--about --format json`, as Meltano SDK taps print it.
pub fn about() -> About {
    About {
        name: TAP_NAME.into(),
        description:
            "Okta: users, groups, apps, roles, factors, devices, policies, the System Log and more."
                .into(),
        version: env!("CARGO_PKG_VERSION").into(),
        capabilities: CAPABILITIES.to_vec(),
        settings: settings_schema(),
    }
}

/// The settings as Meltano declares them: the config schema with `credentials` flattened.
pub fn settings_schema() -> Value {
    let mut schema = crate::commands::config_schema();
    let mut flat = Map::new();
    if let Some(props) = schema["properties"].as_object() {
        for (k, v) in props {
            if k == "credentials" {
                for variant in v["oneOf"].as_array().into_iter().flatten() {
                    for (ck, cv) in variant["properties"].as_object().into_iter().flatten() {
                        if ck == "auth_type" {
                            continue;
                        }
                        flat.entry(ck.clone()).or_insert_with(|| cv.clone());
                    }
                }
            } else {
                flat.insert(k.clone(), v.clone());
            }
        }
    }
    for (k, v) in maps::settings() {
        flat.insert(k, v);
    }
    flat.insert(
        EMIT_ACTIVATE_VERSION.into(),
        json!({"type": "boolean", "title": "Emit ACTIVATE_VERSION messages", "default": true,
            "description": "Bracket FULL_TABLE streams with ACTIVATE_VERSION so targets drop rows that disappeared. Default true."}),
    );
    schema["properties"] = Value::Object(flat);
    schema["required"] = json!([]);
    schema
}

fn about_markdown() -> String {
    let mut s = format!(
        "# {TAP_NAME}\n\nOkta source as a Singer tap (version {}).\n\n## Capabilities\n\n{}\n\n## Settings\n\n| Setting | Type | Description |\n|---|---|---|\n",
        env!("CARGO_PKG_VERSION"),
        CAPABILITIES
            .iter()
            .map(|c| format!("- {}", c.as_str()))
            .collect::<Vec<_>>()
            .join("\n")
    );
    if let Some(props) = settings_schema()["properties"].as_object() {
        for (k, v) in props {
            let desc = v["description"]
                .as_str()
                .unwrap_or_default()
                .replace('\n', " ");
            s.push_str(&format!(
                "| {k} | {} | {desc} |\n",
                v["type"].as_str().unwrap_or("string")
            ));
        }
    }
    s.push_str(&format!(
        "\nEvery setting can also be given as an environment variable `{ENV_PREFIX}<SETTING>`.\n"
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_meltano_keys_become_credentials() {
        let v = nest_flat_credentials(json!({"domain": "acme", "api_token": "t"}));
        assert_eq!(
            v["credentials"],
            json!({"api_token": "t", "auth_type": "api_token"})
        );
        let v = nest_flat_credentials(json!({"client_id": "c", "private_key": "k", "key_id": ""}));
        assert_eq!(v["credentials"]["auth_type"], "oauth2.0_private_key");
        let v = nest_flat_credentials(
            json!({"credentials": {"auth_type": "api_token", "api_token": "a"}}),
        );
        assert_eq!(v["credentials"]["api_token"], "a");
        let v = nest_flat_credentials(
            json!({"asa_team": "t", "asa_key_secret": "s", "asa": {"key_id": "k"}}),
        );
        assert_eq!(
            v,
            json!({"asa": {"key_id": "k", "team": "t", "key_secret": "s"}})
        );
    }

    #[test]
    fn later_configs_win() {
        let mut a =
            json!({"domain": "a", "credentials": {"auth_type": "api_token", "api_token": "x"}});
        deep_merge(
            &mut a,
            json!({"domain": "b", "credentials": {"api_token": "y"}}),
        );
        assert_eq!(
            a,
            json!({"domain": "b", "credentials": {"auth_type": "api_token", "api_token": "y"}})
        );
    }

    #[test]
    fn selection_reads_metadata() {
        let cat = json!({"streams": [
            {"tap_stream_id": "users", "metadata": [{"breadcrumb": [], "metadata": {"selected": true}},
                {"breadcrumb": ["properties", "profile"], "metadata": {"selected": false}},
                {"breadcrumb": ["properties", "id"], "metadata": {"selected": false, "inclusion": "automatic"}}]},
            {"tap_stream_id": "groups", "metadata": [{"breadcrumb": [], "metadata": {"selected": false}}]},
            {"tap_stream_id": "applications", "selected": true, "metadata": []}]});
        let s = parse_selection(&serde_json::from_value(cat).unwrap()).unwrap();
        assert_eq!(s.len(), 2);
        let users = s[0].fields.as_ref().unwrap();
        assert!(users.contains("id") && !users.contains("profile"));
        assert_eq!(s[1].def.name, "applications");
    }
}
