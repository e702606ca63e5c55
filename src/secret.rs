//! Secrets in config documents: the shared `Secret` type (it never prints, and is marked `airbyte_secret`
//! in the spec), which keys hold secrets, and scrubbing them out of messages.

pub use connector_kit::Secret;

/// Keys whose string values are secrets wherever they appear in a config document.
pub const SECRET_KEYS: &[&str] = &[
    "api_token",
    "private_key",
    "client_secret",
    "refresh_token",
    "key_secret",
    "credentials_json",
    "password",
    "access_token",
    // Airbyte's legacy config: `{"base_url", "token"}`.
    "token",
];

/// Every secret string found in a raw config document, so error messages can be scrubbed of them.
pub fn secrets_in(doc: &serde_json::Value) -> Vec<String> {
    let mut found = Vec::new();
    collect(doc, false, &mut found);
    found
}

fn collect(v: &serde_json::Value, secret: bool, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) if secret && !s.is_empty() => out.push(s.clone()),
        serde_json::Value::Number(n) if secret => out.push(n.to_string()),
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                let k = k.to_ascii_lowercase();
                // `credentials` that is not an object is a token or key pasted in the wrong place.
                let pasted = k == "credentials" && !v.is_object();
                collect(
                    v,
                    secret || pasted || SECRET_KEYS.iter().any(|s| k.ends_with(s)),
                    out,
                );
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| collect(v, secret, out)),
        _ => {}
    }
}

/// Replaces every occurrence of the given secrets (and of each of their lines, for PEM keys) with `***`.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        out = out.replace(s.as_str(), "***");
        for line in s.lines().map(str::trim).filter(|l| l.len() >= 16) {
            out = out.replace(line, "***");
        }
        let escaped = serde_json::to_string(s).unwrap_or_default();
        let escaped = escaped.trim_matches('"');
        if escaped != s {
            out = out.replace(escaped, "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_scrubs_nested_secrets() {
        let doc = serde_json::json!({"credentials": {"auth_type": "api_token", "api_token": "abc123secret"},
            "asa": {"key_secret": "zzz"}});
        let found = secrets_in(&doc);
        assert_eq!(found, vec!["abc123secret".to_string(), "zzz".to_string()]);
        assert_eq!(scrub("bad token abc123secret", &found), "bad token ***");
        let pasted = serde_json::json!({"credentials": ["tok-pasted"], "token": "legacy-tok"});
        assert_eq!(secrets_in(&pasted), vec!["tok-pasted", "legacy-tok"]);
    }
}
