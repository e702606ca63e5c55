//! Singer stream maps and schema flattening (`stream_maps`, `flattening_enabled`, `flattening_max_depth`),
//! the part of the Meltano SDK's inline mapper that users set to drop or hash PII and to flatten nested
//! objects. Anything else the SDK accepts (filters, aliases, key overrides, other expressions) is refused
//! with a config error naming the key, never ignored.
//!
//! Supported, as the SDK defines them (<https://sdk.meltano.com/en/latest/stream_maps.html>):
//! - `"stream_maps": {"<stream or glob>": null}` (or `"__NULL__"`): the stream is not synced;
//! - `"stream_maps": {"__else__": null}`: streams not named in `stream_maps` are not synced;
//! - `{"<stream>": {"<property>": null}}` (or `"__NULL__"`): the property is dropped (not a key property);
//! - `{"<stream>": {"<property>": "md5(<source>)"}}`: the MD5 hex digest of `<source>` (a string value;
//!   other values are hashed as their JSON text; a null stays null);
//! - `{"<stream>": {"<property>": "<source>"}}`: a copy of property `<source>`;
//! - `{"<stream>": {"__else__": null}}`: only the key properties and the mapped properties are kept;
//! - `flattening_enabled` with `flattening_max_depth` (and `flattening_separator`, default `__`): nested
//!   objects become `parent__child` columns down to that depth; deeper objects and arrays become JSON text.
//!   Record attributes the schema does not declare (an org's custom profile attributes) have no column and
//!   are left out, as the SDK's own type conformance leaves them out.
//!
//! Maps apply after catalog field selection, and flattening after the maps, as in the SDK.

use crate::error::{Error, Result};
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Config keys this module reads (and removes from the config document before it is validated).
pub const KEYS: &[&str] = &[
    "stream_maps",
    "stream_map_config",
    "faker_config",
    "flattening_enabled",
    "flattening_max_depth",
    "flattening_separator",
    "flattening_max_key_length",
];

const NULL_STRING: &str = "__NULL__";
const ELSE: &str = "__else__";
const DEFAULT_SEPARATOR: &str = "__";
/// The SDK shortens flattened names from this length on; we refuse instead (see [`Flatten`]).
const DEFAULT_MAX_KEY_LENGTH: usize = 255;

/// The mapping configuration of a run.
#[derive(Debug, Clone, Default)]
pub struct MapConfig {
    /// `(stream name or glob, rule)` in config order; the last match wins, as in the SDK.
    streams: Vec<(String, StreamRule)>,
    /// `__else__: null` at the top: streams no entry matches are not synced.
    drop_unmapped: bool,
    flatten: Option<Flatten>,
}

#[derive(Debug, Clone)]
enum StreamRule {
    Drop,
    Props {
        include_by_default: bool,
        props: Vec<(String, PropRule)>,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum PropRule {
    Drop,
    Md5(String),
    Copy(String),
}

#[derive(Debug, Clone)]
struct Flatten {
    max_depth: usize,
    separator: String,
    max_key_length: usize,
}

/// What happens to one stream.
pub enum Plan {
    /// `stream_maps` removes it: not synced.
    Dropped,
    /// Synced; `None` when its records pass unchanged.
    Keep(Option<Mapper>),
}

/// The record rewrite of one stream: field selection, then its map, then flattening.
#[derive(Debug, Clone)]
pub struct Mapper {
    selected: Option<HashSet<String>>,
    include_by_default: bool,
    keys: Vec<String>,
    props: Vec<(String, PropRule)>,
    flatten: Option<Flatten>,
    /// The flattened schema's property names (flattening stops at a name the schema declares).
    flat_names: HashSet<String>,
    /// Whether the "undeclared attributes left out" warning was logged.
    warned: Arc<AtomicBool>,
}

fn config_error(msg: String) -> Error {
    Error::Config(msg)
}

impl MapConfig {
    /// Takes the mapping keys out of a config document and checks them.
    pub fn take_from(doc: &mut Value) -> Result<Self> {
        let Some(obj) = doc.as_object_mut() else {
            return Ok(Self::default());
        };
        let mut taken = Map::new();
        for k in KEYS {
            if let Some(v) = obj.remove(*k) {
                taken.insert((*k).to_string(), v);
            }
        }
        Self::parse(&taken)
    }

    fn parse(cfg: &Map<String, Value>) -> Result<Self> {
        let mut out = Self::default();
        let flatten_enabled = match cfg.get("flattening_enabled") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(config_error(format!(
                    "flattening_enabled must be true or false, not {other}"
                )))
            }
        };
        if flatten_enabled {
            let max_depth = match cfg.get("flattening_max_depth") {
                Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64().unwrap_or(0) as usize,
                None | Some(Value::Null) => {
                    return Err(config_error(
                        "flattening_max_depth is required when flattening_enabled is true".into(),
                    ))
                }
                Some(other) => {
                    return Err(config_error(format!(
                        "flattening_max_depth must be a whole number >= 0, not {other}"
                    )))
                }
            };
            let separator = match cfg.get("flattening_separator") {
                None | Some(Value::Null) => DEFAULT_SEPARATOR.to_string(),
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                Some(other) => {
                    return Err(config_error(format!(
                        "flattening_separator must be a non-empty string, not {other}"
                    )))
                }
            };
            let max_key_length = match cfg.get("flattening_max_key_length") {
                None | Some(Value::Null) => DEFAULT_MAX_KEY_LENGTH,
                Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n > 0) => {
                    n.as_u64().unwrap_or(0) as usize
                }
                Some(other) => {
                    return Err(config_error(format!(
                        "flattening_max_key_length must be a whole number > 0, not {other}"
                    )))
                }
            };
            out.flatten = Some(Flatten {
                max_depth,
                separator,
                max_key_length,
            });
        }
        let maps = match cfg.get("stream_maps") {
            None | Some(Value::Null) => return Ok(out),
            Some(Value::Object(m)) => m,
            Some(other) => {
                return Err(config_error(format!(
                    "stream_maps must be an object keyed by stream name, not {other}"
                )))
            }
        };
        for (stream, def) in maps {
            if stream == ELSE {
                if is_null(def) {
                    out.drop_unmapped = true;
                    continue;
                }
                return Err(config_error(format!(
                    "stream_maps.__else__: only null (or \"__NULL__\") is supported, not {def}"
                )));
            }
            if stream.starts_with("__") {
                return Err(config_error(format!(
                    "stream_maps.{stream}: this option is not supported by tap-okta"
                )));
            }
            let rule = if is_null(def) {
                StreamRule::Drop
            } else if let Value::Object(props) = def {
                parse_stream(stream, props)?
            } else {
                return Err(config_error(format!(
                    "stream_maps.{stream}: expected an object of property rules or null, not {def}"
                )));
            };
            out.streams.push((stream.clone(), rule));
        }
        Ok(out)
    }

    /// Whether any mapping or flattening is configured.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty() && !self.drop_unmapped && self.flatten.is_none()
    }

    /// The stream names (and globs) `stream_maps` mentions, to warn about typos.
    pub fn named_streams(&self) -> impl Iterator<Item = &str> {
        self.streams.iter().map(|(s, _)| s.as_str())
    }

    /// What happens to `stream`, given its schema (after field selection) and key properties. Fails when
    /// the map names a property the stream does not have, or drops a key property.
    pub fn plan(
        &self,
        stream: &str,
        schema: &Value,
        keys: &[String],
        selected: Option<HashSet<String>>,
    ) -> Result<Plan> {
        let rule = self
            .streams
            .iter()
            .rev()
            .find(|(pattern, _)| glob_match(pattern, stream))
            .map(|(_, r)| r);
        let (include_by_default, props) = match rule {
            Some(StreamRule::Drop) => return Ok(Plan::Dropped),
            None if self.drop_unmapped => return Ok(Plan::Dropped),
            None => (true, Vec::new()),
            Some(StreamRule::Props {
                include_by_default,
                props,
            }) => (*include_by_default, props.clone()),
        };
        let known = schema["properties"].as_object();
        let has = |p: &str| known.is_some_and(|m| m.contains_key(p));
        for (name, rule) in &props {
            match rule {
                PropRule::Drop if keys.iter().any(|k| k == name) => {
                    return Err(config_error(format!(
                        "stream_maps.{stream}.{name}: {name} is a key property of {stream} and cannot be removed"
                    )))
                }
                PropRule::Drop => {}
                PropRule::Md5(src) | PropRule::Copy(src) if !has(src) => {
                    return Err(config_error(format!(
                        "stream_maps.{stream}.{name}: {stream} has no property {src:?}{}",
                        if selected.is_some() {
                            " (or it is not selected)"
                        } else {
                            ""
                        }
                    )))
                }
                _ => {}
            }
        }
        if include_by_default && props.is_empty() && selected.is_none() && self.flatten.is_none() {
            return Ok(Plan::Keep(None));
        }
        let mut mapper = Mapper {
            selected,
            include_by_default,
            keys: keys.to_vec(),
            props,
            flatten: self.flatten.clone(),
            flat_names: HashSet::new(),
            warned: Arc::default(),
        };
        let flat = mapper.schema(schema)?;
        mapper.flat_names = flat["properties"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        Ok(Plan::Keep(Some(mapper)))
    }
}

/// The settings `--about` declares for maps and flattening, as the Meltano SDK declares them.
pub fn settings() -> Map<String, Value> {
    let v = json!({
        "stream_maps": {"type": "object", "title": "Stream maps",
            "description": "Per-stream rules as the Meltano SDK defines them. tap-okta implements: a stream set to null (not synced), `__else__: null`, and per property null or \"__NULL__\" (drop), \"md5(<property>)\" (hash), \"<property>\" (copy), `__else__: null` (keep only keys and mapped properties). Anything else is refused."},
        "stream_map_config": {"type": "object", "title": "User-defined config values to be used within map expressions (unused by the supported expressions)."},
        "flattening_enabled": {"type": "boolean", "title": "Enable schema flattening",
            "description": "Flatten nested objects into `parent__child` columns (needs flattening_max_depth)."},
        "flattening_max_depth": {"type": "integer", "title": "Max flattening depth",
            "description": "How many levels of nested objects are flattened; deeper objects and arrays become JSON text."},
        "flattening_separator": {"type": "string", "title": "Flattening separator",
            "description": "Joins the names of flattened columns (default `__`)."}
    });
    v.as_object().cloned().unwrap_or_default()
}

fn is_null(v: &Value) -> bool {
    v.is_null() || v == NULL_STRING
}

fn parse_stream(stream: &str, props: &Map<String, Value>) -> Result<StreamRule> {
    let mut include_by_default = true;
    let mut rules = Vec::new();
    for (name, def) in props {
        if name == ELSE {
            if is_null(def) {
                include_by_default = false;
                continue;
            }
            return Err(config_error(format!(
                "stream_maps.{stream}.__else__: only null (or \"__NULL__\") is supported, not {def}"
            )));
        }
        if name.starts_with("__") {
            return Err(config_error(format!(
                "stream_maps.{stream}.{name}: this option (aliases, filters, key overrides) is not supported by tap-okta"
            )));
        }
        let rule = match def {
            d if is_null(d) => PropRule::Drop,
            Value::String(expr) => parse_expr(expr).ok_or_else(|| {
                config_error(format!(
                    "stream_maps.{stream}.{name}: the expression {expr:?} is not supported by tap-okta, which \
                     implements null or \"__NULL__\" (drop), \"md5(<property>)\" (hash) and \"<property>\" (copy)"
                ))
            })?,
            other => {
                return Err(config_error(format!(
                    "stream_maps.{stream}.{name}: expected an expression string or null, not {other}"
                )))
            }
        };
        rules.push((name.clone(), rule));
    }
    Ok(StreamRule::Props {
        include_by_default,
        props: rules,
    })
}

/// `md5(<identifier>)` or `<identifier>`, nothing else.
fn parse_expr(expr: &str) -> Option<PropRule> {
    let e = expr.trim();
    if let Some(inner) = e.strip_prefix("md5(").and_then(|r| r.strip_suffix(')')) {
        let inner = inner.trim();
        return is_identifier(inner).then(|| PropRule::Md5(inner.to_string()));
    }
    is_identifier(e).then(|| PropRule::Copy(e.to_string()))
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        // Python names the SDK would resolve to something else than a property.
        && !matches!(s, "record" | "self" | "config" | "None" | "True" | "False")
}

/// `fnmatch`-style matching of a stream name: `*` any run, `?` one character.
fn glob_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| go(&p[1..], &n[i..])),
            Some('?') => !n.is_empty() && go(&p[1..], &n[1..]),
            Some(c) => n.first() == Some(c) && go(&p[1..], &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

fn md5_hex(v: &Value) -> Value {
    let text = match v {
        Value::Null => return Value::Null,
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    use md5::Digest;
    Value::String(format!("{:x}", md5::Md5::digest(text.as_bytes())))
}

impl Mapper {
    /// The schema targets see: selected fields, then the map, then flattening.
    pub fn schema(&self, schema: &Value) -> Result<Value> {
        let mut out = schema.clone();
        let raw_props = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut props = raw_props.clone();
        if let Some(keep) = &self.selected {
            props.retain(|k, _| keep.contains(k));
        }
        let selected_props = props.clone();
        if !self.include_by_default {
            props.retain(|k, _| self.keys.contains(k));
        }
        for (name, rule) in &self.props {
            match rule {
                PropRule::Drop => {
                    props.remove(name);
                }
                PropRule::Md5(_) => {
                    props.insert(name.clone(), json!({"type": ["null", "string"]}));
                }
                PropRule::Copy(src) => {
                    let s = selected_props.get(src).cloned().unwrap_or(json!({}));
                    props.insert(name.clone(), s);
                }
            }
        }
        if let Some(req) = out.get_mut("required").and_then(Value::as_array_mut) {
            req.retain(|r| r.as_str().is_some_and(|r| props.contains_key(r)));
        }
        out["properties"] = Value::Object(props);
        if let Some(f) = &self.flatten {
            let mut flat = Map::new();
            flatten_schema(&out, &mut Vec::new(), 0, f, &mut flat)?;
            out["properties"] = Value::Object(flat);
        }
        Ok(out)
    }

    /// Rewrites one record.
    pub fn apply(&self, mut record: Map<String, Value>) -> Map<String, Value> {
        if let Some(keep) = &self.selected {
            record.retain(|k, _| keep.contains(k));
        }
        let mut out = if self.include_by_default {
            record.clone()
        } else {
            record
                .iter()
                .filter(|(k, _)| self.keys.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        for (name, rule) in &self.props {
            match rule {
                PropRule::Drop => {
                    out.remove(name);
                }
                PropRule::Md5(src) => {
                    let v = record.get(src).map_or(Value::Null, md5_hex);
                    out.insert(name.clone(), v);
                }
                PropRule::Copy(src) => {
                    let v = record.get(src).cloned().unwrap_or(Value::Null);
                    out.insert(name.clone(), v);
                }
            }
        }
        match &self.flatten {
            None => out,
            Some(f) => {
                let mut flat = Map::new();
                self.flatten_record(out, &mut Vec::new(), 0, f, &mut flat);
                // A flat table has the schema's columns only: attributes the schema does not declare
                // (an org's custom profile attributes) are left out, as SDK taps leave them out.
                let before = flat.len();
                flat.retain(|k, _| self.flat_names.contains(k));
                if flat.len() < before && !self.warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "flattening: a record has attributes its schema does not declare (custom profile \
                         attributes?); they are left out of the flat columns"
                    );
                }
                flat
            }
        }
    }

    fn flatten_record(
        &self,
        node: Map<String, Value>,
        parents: &mut Vec<String>,
        level: usize,
        f: &Flatten,
        out: &mut Map<String, Value>,
    ) {
        for (k, v) in node {
            let key = flat_key(parents, &k, &f.separator);
            match v {
                Value::Object(child) if !self.flat_names.contains(&key) && level < f.max_depth => {
                    parents.push(k);
                    self.flatten_record(child, parents, level + 1, f, out);
                    parents.pop();
                }
                v @ (Value::Object(_) | Value::Array(_)) => {
                    out.insert(key, Value::String(v.to_string()));
                }
                v => {
                    out.insert(key, v);
                }
            }
        }
    }
}

fn flat_key(parents: &[String], key: &str, sep: &str) -> String {
    if parents.is_empty() {
        key.to_string()
    } else {
        format!("{}{sep}{key}", parents.join(sep))
    }
}

fn has_type(schema: &Value, t: &str) -> bool {
    match &schema["type"] {
        Value::String(s) => s == t,
        Value::Array(a) => a.iter().any(|x| x == t),
        _ => false,
    }
}

/// The SDK's schema flattening: objects with properties are expanded below `max_depth`; arrays, and
/// objects when `max_depth > 0`, become (nullable) strings holding JSON text.
fn flatten_schema(
    node: &Value,
    parents: &mut Vec<String>,
    level: usize,
    f: &Flatten,
    out: &mut Map<String, Value>,
) -> Result<()> {
    let Some(props) = node["properties"].as_object() else {
        return Ok(());
    };
    for (name, field) in props {
        let key = flat_key(parents, name, &f.separator);
        if key.len() >= f.max_key_length {
            return Err(config_error(format!(
                "flattening makes the column name {key:?} {} characters long (flattening_max_key_length is {}); \
                 lower flattening_max_depth",
                key.len(),
                f.max_key_length
            )));
        }
        let nullable = has_type(field, "null");
        if field.get("type").is_none() {
            insert_unique(out, key, json!({"type": ["null", "string"]}))?;
        } else if has_type(field, "object")
            && field.get("properties").is_some()
            && level < f.max_depth
        {
            parents.push(name.clone());
            flatten_schema(field, parents, level + 1, f, out)?;
            parents.pop();
        } else if has_type(field, "array") || (has_type(field, "object") && f.max_depth > 0) {
            let t = if nullable {
                json!(["string", "null"])
            } else {
                json!("string")
            };
            insert_unique(out, key, json!({ "type": t }))?;
        } else {
            insert_unique(out, key, field.clone())?;
        }
    }
    Ok(())
}

fn insert_unique(out: &mut Map<String, Value>, key: String, v: Value) -> Result<()> {
    if out.contains_key(&key) {
        return Err(config_error(format!(
            "flattening produces the column {key:?} twice; change flattening_separator or flattening_max_depth"
        )));
    }
    out.insert(key, v);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(v: Value) -> Result<MapConfig> {
        MapConfig::parse(v.as_object().unwrap())
    }

    fn users_schema() -> Value {
        json!({"type": "object", "properties": {
            "id": {"type": "string"},
            "email": {"type": ["null", "string"], "format": "email"},
            "profile": {"type": ["null", "object"], "properties": {
                "login": {"type": ["null", "string"]},
                "address": {"type": ["null", "object"], "properties": {"city": {"type": ["null", "string"]}}}
            }},
            "tags": {"type": ["null", "array"], "items": {"type": "string"}}
        }})
    }

    fn mapper(c: &MapConfig) -> Mapper {
        match c
            .plan("users", &users_schema(), &["id".to_string()], None)
            .unwrap()
        {
            Plan::Keep(Some(m)) => m,
            _ => panic!("expected a mapper"),
        }
    }

    #[test]
    fn drops_and_hashes_properties() {
        let c = cfg(
            json!({"stream_maps": {"users": {"profile": null, "tags": "__NULL__",
            "email": "md5(email)", "email_copy": "email"}}}),
        )
        .unwrap();
        let m = mapper(&c);
        let schema = m.schema(&users_schema()).unwrap();
        let names: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        assert_eq!(names, ["id", "email", "email_copy"]);
        assert_eq!(
            schema["properties"]["email"],
            json!({"type": ["null", "string"]})
        );
        let rec = m.apply(
            json!({"id": "1", "email": "a@b.c", "profile": {"login": "x"}, "tags": []})
                .as_object()
                .unwrap()
                .clone(),
        );
        // md5("a@b.c"), as Python's hashlib.md5(b"a@b.c").hexdigest() gives it.
        assert_eq!(
            Value::Object(rec),
            json!({"id": "1", "email": "5d60d4e28066df254d5452f92c910092", "email_copy": "a@b.c"})
        );
    }

    #[test]
    fn else_null_keeps_keys_and_mapped_properties_only() {
        let c =
            cfg(json!({"stream_maps": {"users": {"__else__": null, "email_hash": "md5(email)"}}}))
                .unwrap();
        let m = mapper(&c);
        let rec = m.apply(
            json!({"id": "1", "email": null, "profile": {}})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert_eq!(Value::Object(rec), json!({"id": "1", "email_hash": null}));
    }

    #[test]
    fn streams_can_be_dropped_by_name_glob_or_else() {
        let s = json!({"properties": {"id": {}}});
        let keys = ["id".to_string()];
        let c = cfg(json!({"stream_maps": {"asa_*": null}})).unwrap();
        assert!(matches!(
            c.plan("asa_users", &s, &keys, None).unwrap(),
            Plan::Dropped
        ));
        assert!(matches!(
            c.plan("users", &s, &keys, None).unwrap(),
            Plan::Keep(None)
        ));
        let c = cfg(json!({"stream_maps": {"users": {}, "__else__": "__NULL__"}})).unwrap();
        assert!(matches!(
            c.plan("groups", &s, &keys, None).unwrap(),
            Plan::Dropped
        ));
        assert!(
            matches!(c.plan("users", &s, &keys, None).unwrap(), Plan::Keep(None)),
            "an empty map changes nothing"
        );
    }

    #[test]
    fn flattening_follows_the_sdk() {
        let c = cfg(json!({"flattening_enabled": true, "flattening_max_depth": 1})).unwrap();
        let m = mapper(&c);
        let schema = m.schema(&users_schema()).unwrap();
        assert_eq!(
            schema["properties"],
            json!({"id": {"type": "string"}, "email": {"type": ["null", "string"], "format": "email"},
                "profile__login": {"type": ["null", "string"]},
                "profile__address": {"type": ["string", "null"]},
                "tags": {"type": ["string", "null"]}})
        );
        let rec = m.apply(
            json!({"id": "1", "profile": {"login": "x", "address": {"city": "P"}, "nickName": "n"}, "tags": ["a"]})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert_eq!(
            Value::Object(rec),
            json!({"id": "1", "profile__login": "x", "profile__address": "{\"city\":\"P\"}", "tags": "[\"a\"]"})
        );
        let c = cfg(json!({"flattening_enabled": true, "flattening_max_depth": 2})).unwrap();
        let m = mapper(&c);
        let rec = m.apply(
            json!({"id": "1", "profile": {"address": {"city": "P"}}})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert_eq!(
            Value::Object(rec),
            json!({"id": "1", "profile__address__city": "P"})
        );
    }

    #[test]
    fn anything_else_is_a_config_error() {
        let s = users_schema();
        let keys = ["id".to_string()];
        for (bad, says) in [
            (
                json!({"stream_maps": {"users": {"email": "email.upper()"}}}),
                "not supported",
            ),
            (
                json!({"stream_maps": {"users": {"__filter__": "id != '1'"}}}),
                "not supported",
            ),
            (
                json!({"stream_maps": {"users": {"__alias__": "people"}}}),
                "not supported",
            ),
            (
                json!({"stream_maps": {"users": {"__key_properties__": []}}}),
                "not supported",
            ),
            (
                json!({"stream_maps": {"people": {"__source__": "users"}}}),
                "not supported",
            ),
            (json!({"stream_maps": {"users": "users2"}}), "expected"),
            (json!({"stream_maps": {"__else__": {}}}), "__else__"),
            (json!({"flattening_enabled": true}), "flattening_max_depth"),
            (json!({"stream_maps": {"users": {"x": 5}}}), "expected"),
        ] {
            let e = cfg(bad.clone())
                .and_then(|c| c.plan("users", &s, &keys, None).map(|_| ()))
                .expect_err(&bad.to_string());
            assert!(matches!(e, Error::Config(_)), "{bad}: {e:?}");
            assert!(e.to_string().contains(says), "{bad}: {e}");
        }
        let c = cfg(json!({"stream_maps": {"users": {"id": null}}})).unwrap();
        let e = c.plan("users", &s, &keys, None).err().unwrap();
        assert!(e.to_string().contains("key property"), "{e}");
        let c = cfg(json!({"stream_maps": {"users": {"h": "md5(emial)"}}})).unwrap();
        let e = c.plan("users", &s, &keys, None).err().unwrap();
        assert!(e.to_string().contains("emial"), "{e}");
    }

    #[test]
    fn take_from_removes_the_keys() {
        let mut doc = json!({"domain": "acme", "stream_maps": {}, "flattening_enabled": false});
        let c = MapConfig::take_from(&mut doc).unwrap();
        assert!(c.is_empty());
        assert_eq!(doc, json!({"domain": "acme"}));
    }
}
