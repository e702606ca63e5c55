//! Okta's signed JWTs: the `private_key_jwt` client assertion and DPoP proofs (RFC 9449). The keys and
//! the signing are the shared kit's (`connector_kit::jwt`, on `jsonwebtoken`); this module owns the claims.

use crate::error::{Error, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use connector_kit::jwt::JwtHeader;
pub use connector_kit::jwt::SigningKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Lifetime of a client assertion; Okta accepts at most one hour.
pub const CLIENT_ASSERTION_LIFETIME_SECS: i64 = 300;

/// Reads the configured private key (RSA or EC P-256 PEM).
pub fn signing_key(pem: &str) -> Result<SigningKey> {
    SigningKey::from_pem(pem).map_err(|_| {
        Error::Config(
            "credentials.private_key is not a PEM RSA or EC P-256 private key (expected -----BEGIN PRIVATE KEY-----)".into(),
        )
    })
}

/// A fresh P-256 key for DPoP (separate from the client-assertion key).
pub fn ephemeral_key() -> Result<SigningKey> {
    SigningKey::ephemeral_ec().map_err(|e| Error::Auth {
        message: "cannot create a DPoP key".into(),
        internal: e.to_string(),
    })
}

fn sign(key: &SigningKey, header: &JwtHeader<'_>, claims: &Value) -> Result<String> {
    key.sign(header, claims).map_err(|e| Error::Auth {
        message: "cannot sign a JWT with the configured key".into(),
        internal: e.to_string(),
    })
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The client assertion for `POST /oauth2/v1/token`: `iss` = `sub` = client id, `aud` = the token URL.
pub fn client_assertion(
    key: &SigningKey,
    client_id: &str,
    key_id: Option<&str>,
    token_url: &str,
) -> Result<String> {
    let now = now_secs();
    let claims = json!({
        "iss": client_id, "sub": client_id, "aud": token_url,
        "iat": now, "exp": now + CLIENT_ASSERTION_LIFETIME_SECS, "jti": uuid::Uuid::new_v4().to_string(),
    });
    let header = JwtHeader {
        typ: Some("JWT"),
        kid: key_id,
        with_jwk: false,
    };
    sign(key, &header, &claims)
}

/// A DPoP proof for one request. `htu` is the URL without query and fragment; `ath` binds an access token.
pub fn dpop_proof(
    key: &SigningKey,
    method: &str,
    url: &url::Url,
    nonce: Option<&str>,
    access_token: Option<&str>,
) -> Result<String> {
    let mut htu = url.clone();
    htu.set_query(None);
    htu.set_fragment(None);
    let mut claims = json!({"htm": method, "htu": htu.as_str(), "iat": now_secs(), "jti": uuid::Uuid::new_v4().to_string()});
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    if let Some(t) = access_token {
        claims["ath"] = json!(B64.encode(Sha256::digest(t.as_bytes())));
    }
    let header = JwtHeader {
        typ: Some("dpop+jwt"),
        kid: None,
        with_jwk: true,
    };
    sign(key, &header, &claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_proofs_are_three_part_jwts_with_claims() {
        let key = ephemeral_key().unwrap();
        let url = url::Url::parse("https://acme.okta.com/api/v1/users?limit=2").unwrap();
        let jwt = dpop_proof(&key, "GET", &url, Some("n1"), Some("tok")).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
        let claims: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["jwk"]["crv"], "P-256");
        assert_eq!(claims["htu"], "https://acme.okta.com/api/v1/users");
        assert_eq!(claims["nonce"], "n1");
        assert_eq!(B64.decode(parts[2]).unwrap().len(), 64);
    }

    #[test]
    fn rejects_non_pem() {
        assert!(matches!(signing_key("not a key"), Err(Error::Config(_))));
    }
}
