//! Signed JWTs for OAuth: the `private_key_jwt` client assertion and DPoP proofs (RFC 9449).

use crate::error::{Error, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Lifetime of a client assertion; Okta accepts at most one hour.
pub const CLIENT_ASSERTION_LIFETIME_SECS: i64 = 300;

/// A private key that signs JWTs: RSA (RS256) or EC P-256 (ES256).
pub enum SigningKey {
    Rsa(
        Box<rsa::pkcs1v15::SigningKey<Sha256>>,
        Box<rsa::RsaPrivateKey>,
    ),
    Ec(p256::ecdsa::SigningKey),
}

impl SigningKey {
    /// Reads a PEM private key (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY` or SEC1 `EC PRIVATE KEY`).
    /// Literal `\n` sequences, as left by pasting into a JSON string, are accepted.
    pub fn from_pem(pem: &str) -> Result<Self> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        let pem = pem.trim().replace("\\n", "\n");
        if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(&pem)
            .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(&pem))
        {
            return Ok(SigningKey::Rsa(
                Box::new(rsa::pkcs1v15::SigningKey::new(k.clone())),
                Box::new(k),
            ));
        }
        if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_pem(&pem) {
            return Ok(SigningKey::Ec(k));
        }
        if let Ok(k) = p256::SecretKey::from_sec1_pem(&pem) {
            return Ok(SigningKey::Ec(k.into()));
        }
        Err(Error::Config(
            "credentials.private_key is not a PEM RSA or EC P-256 private key (expected -----BEGIN PRIVATE KEY-----)".into(),
        ))
    }

    /// A fresh P-256 key, as DPoP uses (separate from the client-assertion key).
    pub fn ephemeral_ec() -> Self {
        SigningKey::Ec(p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng))
    }

    fn alg(&self) -> &'static str {
        match self {
            SigningKey::Rsa(..) => "RS256",
            SigningKey::Ec(_) => "ES256",
        }
    }

    /// The public key as a JWK, for the DPoP proof header.
    pub fn public_jwk(&self) -> Value {
        match self {
            SigningKey::Rsa(_, k) => {
                use rsa::traits::PublicKeyParts;
                json!({"kty": "RSA", "n": B64.encode(k.n().to_bytes_be()), "e": B64.encode(k.e().to_bytes_be())})
            }
            SigningKey::Ec(k) => {
                let point = k.verifying_key().to_encoded_point(false);
                json!({"kty": "EC", "crv": "P-256",
                    "x": B64.encode(point.x().map(|x| x.to_vec()).unwrap_or_default()),
                    "y": B64.encode(point.y().map(|y| y.to_vec()).unwrap_or_default())})
            }
        }
    }

    /// Signs a JWT with the given extra header fields and claims.
    pub fn sign(&self, mut header: Value, claims: &Value) -> String {
        header["alg"] = json!(self.alg());
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let sig = match self {
            SigningKey::Rsa(k, _) => {
                use rsa::signature::{SignatureEncoding, Signer};
                k.sign(input.as_bytes()).to_vec()
            }
            SigningKey::Ec(k) => {
                use p256::ecdsa::signature::Signer;
                let s: p256::ecdsa::Signature = k.sign(input.as_bytes());
                s.to_bytes().to_vec()
            }
        };
        format!("{input}.{}", B64.encode(sig))
    }
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
) -> String {
    let mut header = json!({"typ": "JWT"});
    if let Some(kid) = key_id {
        header["kid"] = json!(kid);
    }
    let now = now_secs();
    let claims = json!({
        "iss": client_id, "sub": client_id, "aud": token_url,
        "iat": now, "exp": now + CLIENT_ASSERTION_LIFETIME_SECS, "jti": uuid::Uuid::new_v4().to_string(),
    });
    key.sign(header, &claims)
}

/// A DPoP proof for one request. `htu` is the URL without query and fragment; `ath` binds an access token.
pub fn dpop_proof(
    key: &SigningKey,
    method: &str,
    url: &url::Url,
    nonce: Option<&str>,
    access_token: Option<&str>,
) -> String {
    let mut htu = url.clone();
    htu.set_query(None);
    htu.set_fragment(None);
    let header = json!({"typ": "dpop+jwt", "jwk": key.public_jwk()});
    let mut claims = json!({"htm": method, "htu": htu.as_str(), "iat": now_secs(), "jti": uuid::Uuid::new_v4().to_string()});
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    if let Some(t) = access_token {
        claims["ath"] = json!(B64.encode(Sha256::digest(t.as_bytes())));
    }
    key.sign(header, &claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_proofs_are_three_part_jwts_with_claims() {
        let key = SigningKey::ephemeral_ec();
        let url = url::Url::parse("https://acme.okta.com/api/v1/users?limit=2").unwrap();
        let jwt = dpop_proof(&key, "GET", &url, Some("n1"), Some("tok"));
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
        assert!(matches!(
            SigningKey::from_pem("not a key"),
            Err(Error::Config(_))
        ));
    }
}
