//! The protocol commands: `spec`, `check` and `discover` (what `read` does lives in `sync`).

use crate::config::{ConfigDoc, Settings};
use crate::error::{Error, Result};
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

/// Checks the credentials with one cheap request. Every failure becomes a `FAILED` status with a
/// message saying what to fix.
pub async fn check(settings: Settings) -> ConnectionStatus {
    match probe(settings).await {
        Ok(()) => ConnectionStatus {
            status: ConnectionStatusKind::Succeeded,
            message: None,
        },
        Err(e) => ConnectionStatus {
            status: ConnectionStatusKind::Failed,
            message: Some(check_message(&e)),
        },
    }
}

/// Retries of the check request: a check should answer in seconds, not minutes.
const CHECK_MAX_RETRIES: u32 = 2;

async fn probe(mut settings: Settings) -> Result<()> {
    settings.max_retries = settings.max_retries.min(CHECK_MAX_RETRIES);
    let client = OktaClient::new(&settings)?;
    let url = client.url("/api/v1/users?limit=1")?;
    client.get(&url).await.map(|_| ())
}

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
