//! The org authorization server's token endpoint (`POST /oauth2/v1/token`, client credentials with
//! a `private_key_jwt` client assertion), DPoP (RFC 9449) proofs with the nonce dance, and the
//! checks of access tokens on API calls (API.md §1.2).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use connector_kit::jwt::VerifyingKey;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::RsaPublicKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::config::OAuthConfig;
use crate::model::mix64;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Allowed clock skew for `iat`/`exp`, seconds.
const LEEWAY_S: i64 = 60;

/// An answer of the token endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenReply {
    /// HTTP status.
    pub status: u16,
    /// JSON body (a token or an OAuth error).
    pub body: Value,
    /// Extra headers (`dpop-nonce`).
    pub headers: Vec<(&'static str, String)>,
}

fn oauth_error(status: u16, error: &str, description: &str) -> TokenReply {
    TokenReply {
        status,
        body: json!({"error": error, "error_description": description}),
        headers: Vec::new(),
    }
}

#[derive(Debug, Clone)]
struct Issued {
    expires_ms: i64,
    scopes: Vec<String>,
    jkt: Option<String>,
}

/// State of the OAuth service app: its key, issued tokens, seen `jti`s and the DPoP nonce.
#[derive(Debug)]
pub struct OAuthState {
    cfg: OAuthConfig,
    key: RsaPublicKey,
    nonce: String,
    counter: AtomicU64,
    assertion_jtis: Mutex<HashSet<String>>,
    proof_jtis: Mutex<HashSet<String>>,
    tokens: Mutex<HashMap<String, Issued>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// A decoded, not yet verified JWT.
struct Jwt<'a> {
    header: Value,
    claims: Value,
    signature: Vec<u8>,
    signing_input: &'a str,
}

fn decode_jwt(s: &str) -> Result<Jwt<'_>, String> {
    let mut parts = s.split('.');
    let (Some(h), Some(c), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a compact JWS (three dot-separated parts)".into());
    };
    let b64 = |p: &str| {
        URL_SAFE_NO_PAD
            .decode(p.trim_end_matches('='))
            .map_err(|e| format!("bad base64url: {e}"))
    };
    let header: Value =
        serde_json::from_slice(&b64(h)?).map_err(|e| format!("bad JWT header: {e}"))?;
    let claims: Value =
        serde_json::from_slice(&b64(c)?).map_err(|e| format!("bad JWT claims: {e}"))?;
    Ok(Jwt {
        header,
        claims,
        signature: b64(sig)?,
        signing_input: &s[..h.len() + 1 + c.len()],
    })
}

/// Checks an RS256 signature with the shared kit's verifier (`jsonwebtoken`).
fn verify_rs256(key: &RsaPublicKey, input: &str, sig: &[u8]) -> Result<(), String> {
    VerifyingKey::from_rsa(key)
        .verify(input, sig)
        .map_err(|_| "signature verification failed".to_string())
}

fn b64_field<'a>(jwk: &'a Value, name: &str) -> Result<&'a str, String> {
    jwk.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("jwk has no '{name}'"))
}

/// RFC 7638 thumbprint of a public JWK (base64url of SHA-256 of its canonical members).
pub fn jwk_thumbprint(jwk: &Value) -> Result<String, String> {
    let canonical = match jwk.get("kty").and_then(Value::as_str) {
        Some("RSA") => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            b64_field(jwk, "e")?,
            b64_field(jwk, "n")?
        ),
        Some("EC") => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            b64_field(jwk, "crv")?,
            b64_field(jwk, "x")?,
            b64_field(jwk, "y")?
        ),
        other => return Err(format!("unsupported jwk kty {other:?}")),
    };
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

fn verify_with_jwk(alg: &str, jwk: &Value, input: &str, sig: &[u8]) -> Result<(), String> {
    if jwk.get("d").is_some() {
        return Err("the jwk must not contain a private key".into());
    }
    match alg {
        "RS256" => {
            let n = URL_SAFE_NO_PAD
                .decode(b64_field(jwk, "n")?)
                .map_err(|e| e.to_string())?;
            let e = URL_SAFE_NO_PAD
                .decode(b64_field(jwk, "e")?)
                .map_err(|e| e.to_string())?;
            let key = RsaPublicKey::new(
                rsa::BigUint::from_bytes_be(&n),
                rsa::BigUint::from_bytes_be(&e),
            )
            .map_err(|e| format!("bad RSA jwk: {e}"))?;
            verify_rs256(&key, input, sig)
        }
        "ES256" => {
            let pk = p256::PublicKey::from_jwk_str(&jwk.to_string())
                .map_err(|e| format!("bad EC jwk: {e}"))?;
            if sig.len() != 64 {
                return Err("signature error".into());
            }
            VerifyingKey::from_ec(&pk)
                .map_err(|e| e.to_string())?
                .verify(input, sig)
                .map_err(|_| "signature verification failed".to_string())
        }
        other => Err(format!("unsupported DPoP alg {other}")),
    }
}

/// The verified claims of a DPoP proof.
#[derive(Debug, Clone)]
pub struct Proof {
    /// Thumbprint of the proof's key.
    pub jkt: String,
    /// `htm`.
    pub htm: String,
    /// `htu`.
    pub htu: String,
    /// `jti`.
    pub jti: String,
    /// `nonce`, if any.
    pub nonce: Option<String>,
    /// `ath`, if any.
    pub ath: Option<String>,
}

/// Verify a DPoP proof's form and signature and its `iat` against `now_s`.
pub fn verify_proof(proof: &str, now_s: i64) -> Result<Proof, String> {
    let jwt = decode_jwt(proof)?;
    if jwt.header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err("DPoP proof typ must be dpop+jwt".into());
    }
    let alg = jwt
        .header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or("DPoP proof has no alg")?;
    let jwk = jwt.header.get("jwk").ok_or("DPoP proof has no jwk")?;
    verify_with_jwk(alg, jwk, jwt.signing_input, &jwt.signature)?;
    let s = |name: &str| {
        jwt.claims
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let iat = jwt
        .claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or("DPoP proof has no iat")?;
    if (iat - now_s).abs() > 300 {
        return Err("DPoP proof iat is too far from the current time".into());
    }
    Ok(Proof {
        jkt: jwk_thumbprint(jwk)?,
        htm: s("htm").ok_or("DPoP proof has no htm")?,
        htu: s("htu").ok_or("DPoP proof has no htu")?,
        jti: s("jti").ok_or("DPoP proof has no jti")?,
        nonce: s("nonce"),
        ath: s("ath"),
    })
}

/// Whether `htu` (an absolute URL) names `path`, ignoring query and fragment.
fn htu_matches(htu: &str, path: &str) -> bool {
    url::Url::parse(htu)
        .map(|u| u.path().trim_end_matches('/') == path.trim_end_matches('/'))
        .unwrap_or(false)
}

/// Base64url SHA-256 of an access token (the proof's `ath`).
pub fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// An access token's grant, as seen by an API call.
#[derive(Debug, Clone)]
pub struct Grant {
    /// Principal name for rate limiting.
    pub client_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
}

impl OAuthState {
    /// State for `cfg`; fails when the public key PEM can't be read.
    pub fn new(cfg: &OAuthConfig) -> Result<Self, String> {
        let pem = cfg.public_key_pem.trim();
        let key = RsaPublicKey::from_public_key_pem(pem)
            .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
            .map_err(|e| format!("OAuth public key is neither PKCS#8 nor PKCS#1 PEM: {e}"))?;
        let seed = mix64(crate::clock::wall_ms() as u64 ^ 0xd00f);
        Ok(OAuthState {
            cfg: cfg.clone(),
            key,
            nonce: format!("sim-nonce-{:016x}", seed),
            counter: AtomicU64::new(seed),
            assertion_jtis: Mutex::new(HashSet::new()),
            proof_jtis: Mutex::new(HashSet::new()),
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// Answer a token request: `form` is the urlencoded body, `dpop` the `DPoP` header,
    /// `token_urls` the URLs the assertion's `aud` may name, `now_ms` the current time.
    pub fn token_request(
        &self,
        form: &[u8],
        dpop: Option<&str>,
        token_urls: &[String],
        now_ms: i64,
    ) -> TokenReply {
        let now_s = now_ms.div_euclid(1000);
        let params: HashMap<String, String> = url::form_urlencoded::parse(form)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let get = |k: &str| params.get(k).map(String::as_str);
        match get("grant_type") {
            Some("client_credentials") => {}
            Some(_) => {
                return oauth_error(
                    400,
                    "unsupported_grant_type",
                    "The authorization grant type is not supported by the authorization server.",
                )
            }
            None => {
                return oauth_error(
                    400,
                    "invalid_request",
                    "The token request must specify a 'grant_type'.",
                )
            }
        }

        // DPoP first, so the nonce dance doesn't burn the client assertion's jti.
        let mut jkt = None;
        if self.cfg.require_dpop {
            let Some(proof) = dpop else {
                return oauth_error(
                    400,
                    "invalid_dpop_proof",
                    "DPoP proof JWT header is missing.",
                );
            };
            let p = match verify_proof(proof, now_s) {
                Ok(p) => p,
                Err(e) => return oauth_error(400, "invalid_dpop_proof", &e),
            };
            if !p.htm.eq_ignore_ascii_case("POST") || !htu_matches(&p.htu, "/oauth2/v1/token") {
                return oauth_error(
                    400,
                    "invalid_dpop_proof",
                    "DPoP proof htm/htu don't match the token request.",
                );
            }
            if p.nonce.as_deref() != Some(self.nonce.as_str()) {
                let mut r = oauth_error(
                    400,
                    "use_dpop_nonce",
                    "Authorization server requires nonce in DPoP proof.",
                );
                r.headers.push(("dpop-nonce", self.nonce.clone()));
                return r;
            }
            if !lock(&self.proof_jtis).insert(p.jti.clone()) {
                return oauth_error(
                    400,
                    "invalid_dpop_proof",
                    "DPoP proof jti was already used.",
                );
            }
            jkt = Some(p.jkt);
        }

        if get("client_assertion_type") != Some(ASSERTION_TYPE) {
            return oauth_error(
                401,
                "invalid_client",
                "The client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
            );
        }
        let Some(assertion) = get("client_assertion") else {
            return oauth_error(401, "invalid_client", "The client_assertion is missing.");
        };
        if let Err(e) = self.check_assertion(assertion, get("client_id"), token_urls, now_s) {
            return oauth_error(401, "invalid_client", &e);
        }

        let Some(scope) = get("scope").filter(|s| !s.trim().is_empty()) else {
            return oauth_error(
                400,
                "invalid_scope",
                "The authorization server resource does not have any configured default scopes, 'scope' must be provided.",
            );
        };
        let requested: Vec<String> = scope.split_whitespace().map(str::to_string).collect();
        let denied: Vec<&str> = requested
            .iter()
            .filter(|s| !self.cfg.scopes.contains(s))
            .map(String::as_str)
            .collect();
        if !denied.is_empty() {
            return oauth_error(
                400,
                "invalid_scope",
                &format!("The following scopes are not allowed: {}", denied.join(" ")),
            );
        }

        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let token = format!("sim-at.{:016x}{:016x}", mix64(n), mix64(n ^ 0x5eed_5eed));
        let lifetime = self.cfg.token_lifetime_secs;
        lock(&self.tokens).insert(
            token.clone(),
            Issued {
                expires_ms: now_ms.saturating_add((lifetime as i64).saturating_mul(1000)),
                scopes: requested.clone(),
                jkt: jkt.clone(),
            },
        );
        TokenReply {
            status: 200,
            body: json!({
                "token_type": if jkt.is_some() { "DPoP" } else { "Bearer" },
                "expires_in": lifetime,
                "access_token": token,
                "scope": requested.join(" "),
            }),
            headers: Vec::new(),
        }
    }

    fn check_assertion(
        &self,
        assertion: &str,
        form_client_id: Option<&str>,
        token_urls: &[String],
        now_s: i64,
    ) -> Result<(), String> {
        let jwt =
            decode_jwt(assertion).map_err(|e| format!("The client_assertion is invalid: {e}"))?;
        let alg = jwt.header.get("alg").and_then(Value::as_str).unwrap_or("");
        if alg != "RS256" {
            return Err(format!(
                "The client_assertion alg '{alg}' is not supported for the registered key."
            ));
        }
        verify_rs256(&self.key, jwt.signing_input, &jwt.signature)
            .map_err(|_| "The client_assertion signature is invalid.".to_string())?;
        let c = &jwt.claims;
        let s = |k: &str| c.get(k).and_then(Value::as_str);
        let cid = self.cfg.client_id.as_str();
        if s("iss") != Some(cid) || s("sub") != Some(cid) {
            return Err("The client_assertion iss and sub must both be the client_id.".into());
        }
        if form_client_id.is_some_and(|f| f != cid) {
            return Err("The client_id doesn't match the client_assertion.".into());
        }
        let aud_ok = match c.get("aud") {
            Some(Value::String(a)) => token_urls.contains(a),
            Some(Value::Array(v)) => v.iter().any(|a| {
                a.as_str()
                    .is_some_and(|a| token_urls.iter().any(|u| u == a))
            }),
            _ => false,
        };
        if !aud_ok {
            return Err("The audience of the client_assertion is invalid; it must be the token endpoint URL.".into());
        }
        let exp = c
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or("The client_assertion has no exp.")?;
        if exp <= now_s {
            return Err("The client_assertion token is expired.".into());
        }
        if exp > now_s + 3600 + LEEWAY_S {
            return Err("The client_assertion exp is more than one hour in the future.".into());
        }
        if c.get("iat")
            .and_then(Value::as_i64)
            .is_some_and(|iat| iat > now_s + LEEWAY_S)
        {
            return Err("The client_assertion iat is in the future.".into());
        }
        if let Some(jti) = s("jti") {
            if !lock(&self.assertion_jtis).insert(jti.to_string()) {
                return Err("The client_assertion token has already been used (jti).".into());
            }
        }
        Ok(())
    }

    /// Check an access token on an API call: `scheme` is `Bearer` or `DPoP`, `proof` the `DPoP`
    /// header. The error is the `errorSummary` of a 401.
    pub fn check_access(
        &self,
        scheme: &str,
        token: &str,
        proof: Option<&str>,
        method: &str,
        path: &str,
        now_ms: i64,
    ) -> Result<Grant, String> {
        let issued = lock(&self.tokens)
            .get(token)
            .cloned()
            .ok_or("Invalid token provided")?;
        if issued.expires_ms <= now_ms {
            return Err("Invalid token provided: the access token is expired".into());
        }
        match (&issued.jkt, scheme) {
            (None, "Bearer") => {}
            (None, _) => return Err("Invalid token provided: not a DPoP-bound token".into()),
            (Some(_), "Bearer") => {
                return Err("Invalid token provided: DPoP-bound token used as Bearer".into())
            }
            (Some(jkt), _) => {
                let proof = proof.ok_or("Invalid token provided: DPoP proof missing")?;
                let p = verify_proof(proof, now_ms.div_euclid(1000))
                    .map_err(|e| format!("Invalid DPoP proof: {e}"))?;
                if &p.jkt != jkt {
                    return Err("Invalid DPoP proof: key doesn't match the token binding".into());
                }
                if !p.htm.eq_ignore_ascii_case(method) || !htu_matches(&p.htu, path) {
                    return Err("Invalid DPoP proof: htm/htu don't match the request".into());
                }
                if p.ath.as_deref() != Some(ath(token).as_str()) {
                    return Err("Invalid DPoP proof: ath doesn't match the access token".into());
                }
                if !lock(&self.proof_jtis).insert(p.jti) {
                    return Err("Invalid DPoP proof: jti was already used".into());
                }
            }
        }
        Ok(Grant {
            client_id: self.cfg.client_id.clone(),
            scopes: issued.scopes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // RFC 7638 §3.1.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            jwk_thumbprint(&jwk).ok().as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn malformed_jwts_are_refused() {
        assert!(decode_jwt("a.b").is_err());
        assert!(decode_jwt("a.b.c.d").is_err());
        assert!(decode_jwt("!!.??.xx").is_err());
        assert!(verify_proof("e30.e30.", 0).is_err());
        assert!(htu_matches(
            "http://h:1/oauth2/v1/token?x=1",
            "/oauth2/v1/token"
        ));
        assert!(!htu_matches("not a url", "/oauth2/v1/token"));
    }
}
