//! The protocol commands: `spec`, `check` and `discover` (what `read` does lives in `sync`).

use crate::config::{ConfigDoc, Settings};
use crate::error::Error;
use crate::http::client::OktaClient;
use airbyte_protocol::{ConnectionStatus, ConnectionStatusKind, ConnectorSpecification};
use schemars::generate::SchemaSettings;
use serde_json::Value;

pub const DOCUMENTATION_URL: &str = "https://github.com/okta-connector/okta-connector#readme";

/// The connector specification, generated from [`ConfigDoc`].
pub fn spec() -> ConnectorSpecification {
    ConnectorSpecification {
        documentation_url: Some(DOCUMENTATION_URL.into()),
        connection_specification: config_schema(),
        supports_incremental: Some(true),
        supported_destination_sync_modes: None,
    }
}

/// The JSON Schema (draft-07) of the configuration, inlined (no `$ref`) as Airbyte expects.
pub fn config_schema() -> Value {
    let generator = SchemaSettings::draft07()
        .with(|s| s.inline_subschemas = true)
        .into_generator();
    let mut v = generator.into_root_schema_for::<ConfigDoc>().to_value();
    strip_null(&mut v);
    if let Some(m) = v.as_object_mut() {
        m.remove("definitions");
        m.remove("$defs");
        m.insert("additionalProperties".into(), Value::Bool(true));
    }
    v
}

/// Optional settings are simply absent when unset: drops the `null` that schemars adds for `Option`.
fn strip_null(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(types)) = m.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    m.insert("type".into(), only);
                }
            }
            if m.get("default").is_some_and(Value::is_null) {
                m.remove("default");
            }
            // Rust integer widths are not JSON Schema formats.
            if m.get("format").and_then(Value::as_str).is_some_and(|f| {
                f.starts_with("uint") || f.starts_with("int") || f == "double" || f == "float"
            }) {
                m.remove("format");
            }
            m.values_mut().for_each(strip_null);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_null),
        _ => {}
    }
}

/// Checks the credentials with one cheap request, then probes the first page of every top-level
/// stream and names, in the `SUCCEEDED` message, the streams these credentials (or this org) cannot
/// read. Every failure of the first request becomes a `FAILED` status saying what to fix.
pub async fn check(mut settings: Settings) -> ConnectionStatus {
    settings.max_retries = settings.max_retries.min(CHECK_MAX_RETRIES);
    let client = match OktaClient::new(&settings) {
        Ok(c) => c,
        Err(e) => return failed(&e),
    };
    let probe = async {
        let url = client.url("/api/v1/users?limit=1")?;
        client.get(&url).await.map(|_| ())
    };
    if let Err(e) = probe.await {
        return failed(&e);
    }
    let unreadable = unreadable_streams(&client).await;
    ConnectionStatus {
        status: ConnectionStatusKind::Succeeded,
        message: (!unreadable.is_empty()).then(|| {
            format!(
                "Connected. These streams cannot be read with these credentials or in this org and will be skipped: {}",
                unreadable.join("; ")
            )
        }),
    }
}

fn failed(e: &Error) -> ConnectionStatus {
    ConnectionStatus {
        status: ConnectionStatusKind::Failed,
        message: Some(check_message(e)),
    }
}

/// The top-level Okta streams whose first page answers 403/401 E0000015/404 (fan-out streams share
/// their parent's verdict).
async fn unreadable_streams(client: &OktaClient) -> Vec<String> {
    use crate::streams::{Api, Catalogued, Reader};
    let probes = crate::streams::all()
        .filter(|d| d.api == Api::Okta)
        .filter_map(|d| {
            let path = match d.reader {
                Reader::List => match d.types.first() {
                    None => d.endpoint.to_string(),
                    Some(t) => d.endpoint.replace("{type}", t),
                },
                Reader::Search { .. } => format!("{}?limit=1", d.endpoint),
                Reader::ListThenDetail { .. } => d.endpoint.to_string(),
                Reader::SystemLog => format!("{}?limit=1", d.endpoint),
                Reader::FanOut => match d.parent_list() {
                    // A nested parent's listing has placeholders: its own check covers it.
                    Some(parent) if parent.types.is_empty() && parent.over.is_none() => {
                        parent.path.to_string()
                    }
                    _ => return None,
                },
                _ => return None,
            };
            Some((d.name, path))
        });
    let checks = probes.map(|(name, path)| async move {
        let url = client.url(&path).ok()?;
        match client.get(&url).await {
            Err(e) if e.is_stream_unavailable() => Some(format!("{name} ({e})")),
            _ => None,
        }
    });
    futures_util::future::join_all(checks)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Retries of the check requests: a check should answer in seconds, not minutes.
const CHECK_MAX_RETRIES: u32 = 2;

fn check_message(e: &Error) -> String {
    match e {
        Error::Auth { message, .. } => format!(
            "Okta rejected the credentials ({message}). Create a new API token (Security > API > Tokens) or check \
             the OAuth app's client id, key id and private key, then update the configuration."
        ),
        Error::Forbidden { message, .. } => format!(
            "The credentials are valid but may not list users ({message}). Grant the okta.users.read scope (and the \
             other okta.*.read scopes) and a read-only administrator role."
        ),
        Error::NotFound { .. } => "No Okta API answered at this address: check `domain` or `base_url`.".into(),
        Error::Exhausted { last, .. } => format!("Could not reach Okta at this address ({last}). Check `domain`, `base_url`, the network and proxy settings."),
        other => other.user_message(),
    }
}
