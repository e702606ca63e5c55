//! JWT signing and signature checks through the maintained `jsonwebtoken` crate: RS256 and ES256 keys read
//! from PEM, the public key as a JWK (for DPoP proofs), signing of any serializable claims, and verifying
//! a signature with a public key (the simulator's side of client assertions and DPoP proofs).
//!
//! `jsonwebtoken` 10 with its `rust_crypto` backend, not 12: version 12 moves to the next (pre-release)
//! generation of RustCrypto (`rsa` 0.10, `p256` 0.14), which would build a second copy of the crypto stack
//! next to the one `rsa` 0.9 / `p256` 0.13 already in the workspace. `jsonwebtoken` takes keys only as
//! PKCS#1 (RSA) or PKCS#8 (EC) DER, so PEM parsing stays with `rsa` and `p256` here, which also accept
//! PKCS#8 RSA and SEC1 EC keys as the callers always have.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, RSAKeyParameters, RSAKeyType,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::Serialize;

pub use jsonwebtoken::jwk;

/// Why a key could not be read or a token not signed.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    /// The PEM text is not a private key of a supported kind.
    #[error("not a PEM {expected} private key")]
    BadKey { expected: &'static str },
    /// The key could not be re-encoded for the signer.
    #[error("cannot prepare the signing key: {0}")]
    Encode(String),
    /// Signing failed.
    #[error("cannot sign the JWT: {0}")]
    Sign(#[source] jsonwebtoken::errors::Error),
    /// The signature does not match the signing input and the key.
    #[error("signature verification failed")]
    BadSignature,
}

/// A public key that checks JWT signatures: RSA (RS256) or EC P-256 (ES256).
pub struct VerifyingKey {
    key: DecodingKey,
    algorithm: Algorithm,
}

impl VerifyingKey {
    /// An RSA public key (RS256).
    pub fn from_rsa(k: &rsa::RsaPublicKey) -> Self {
        use rsa::traits::PublicKeyParts;
        Self {
            key: DecodingKey::from_rsa_raw_components(&k.n().to_bytes_be(), &k.e().to_bytes_be()),
            algorithm: Algorithm::RS256,
        }
    }

    /// An EC P-256 public key (ES256).
    pub fn from_ec(k: &p256::PublicKey) -> Result<Self, JwtError> {
        let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(k, false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(JwtError::BadKey {
                expected: "EC P-256 public",
            });
        };
        let key = DecodingKey::from_ec_components(&B64.encode(x), &B64.encode(y))
            .map_err(|e| JwtError::Encode(e.to_string()))?;
        Ok(Self {
            key,
            algorithm: Algorithm::ES256,
        })
    }

    /// Checks `signature` (raw bytes) over `signing_input` (`header.claims`, as sent).
    pub fn verify(&self, signing_input: &str, signature: &[u8]) -> Result<(), JwtError> {
        match jsonwebtoken::crypto::verify(
            &B64.encode(signature),
            signing_input.as_bytes(),
            &self.key,
            self.algorithm,
        ) {
            Ok(true) => Ok(()),
            _ => Err(JwtError::BadSignature),
        }
    }
}

/// A private key that signs JWTs: RSA (RS256) or EC P-256 (ES256).
#[derive(Clone)]
pub struct SigningKey {
    key: EncodingKey,
    public: Jwk,
    algorithm: Algorithm,
}

/// The optional header fields callers set; `alg` follows from the key.
#[derive(Debug, Default, Clone)]
pub struct JwtHeader<'a> {
    /// `typ`: `JWT`, `dpop+jwt`, … (omitted when `None`).
    pub typ: Option<&'a str>,
    /// `kid`: which of the client's registered keys signed.
    pub kid: Option<&'a str>,
    /// Whether to embed the public key as `jwk` (DPoP proofs).
    pub with_jwk: bool,
}

impl SigningKey {
    /// Reads a PEM private key: PKCS#8 `PRIVATE KEY` (RSA or EC P-256), PKCS#1 `RSA PRIVATE KEY` or SEC1
    /// `EC PRIVATE KEY`. Literal `\n` sequences, as left by pasting into a JSON string, are accepted.
    pub fn from_pem(pem: &str) -> Result<Self, JwtError> {
        let pem = pem.trim().replace("\\n", "\n");
        if let Ok(k) = Self::from_rsa_pem(&pem) {
            return Ok(k);
        }
        use rsa::pkcs8::DecodePrivateKey;
        if let Ok(k) = p256::SecretKey::from_pkcs8_pem(&pem) {
            return Self::from_ec(&k);
        }
        if let Ok(k) = p256::SecretKey::from_sec1_pem(&pem) {
            return Self::from_ec(&k);
        }
        Err(JwtError::BadKey {
            expected: "RSA or EC P-256",
        })
    }

    /// Reads a PEM RSA private key (PKCS#8 or PKCS#1) only.
    pub fn from_rsa_pem(pem: &str) -> Result<Self, JwtError> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        let k = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|_| JwtError::BadKey { expected: "RSA" })?;
        Self::from_rsa(&k)
    }

    /// An RSA key (RS256).
    pub fn from_rsa(k: &rsa::RsaPrivateKey) -> Result<Self, JwtError> {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::traits::PublicKeyParts;
        let der = k
            .to_pkcs1_der()
            .map_err(|e| JwtError::Encode(e.to_string()))?;
        Ok(Self {
            key: EncodingKey::from_rsa_der(der.as_bytes()),
            public: Jwk {
                common: CommonParameters::default(),
                algorithm: AlgorithmParameters::RSA(RSAKeyParameters {
                    key_type: RSAKeyType::RSA,
                    n: B64.encode(k.n().to_bytes_be()),
                    e: B64.encode(k.e().to_bytes_be()),
                }),
            },
            algorithm: Algorithm::RS256,
        })
    }

    /// An EC P-256 key (ES256).
    pub fn from_ec(k: &p256::SecretKey) -> Result<Self, JwtError> {
        use p256::pkcs8::EncodePrivateKey;
        let der = k
            .to_pkcs8_der()
            .map_err(|e| JwtError::Encode(e.to_string()))?;
        let point =
            p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&k.public_key(), false);
        Ok(Self {
            key: EncodingKey::from_ec_der(der.as_bytes()),
            public: Jwk {
                common: CommonParameters::default(),
                algorithm: AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                    key_type: EllipticCurveKeyType::EC,
                    curve: EllipticCurve::P256,
                    x: B64.encode(point.x().map(|x| x.to_vec()).unwrap_or_default()),
                    y: B64.encode(point.y().map(|y| y.to_vec()).unwrap_or_default()),
                }),
            },
            algorithm: Algorithm::ES256,
        })
    }

    /// A fresh P-256 key, as DPoP uses (separate from a client-assertion key).
    pub fn ephemeral_ec() -> Result<Self, JwtError> {
        Self::from_ec(&p256::SecretKey::random(&mut rand::rngs::OsRng))
    }

    /// `RS256` or `ES256`.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The public key as a JWK (`kty`, `crv`/`x`/`y` or `n`/`e`).
    pub fn public_jwk(&self) -> &Jwk {
        &self.public
    }

    /// Signs `claims` with the given header fields.
    pub fn sign<C: Serialize>(
        &self,
        header: &JwtHeader<'_>,
        claims: &C,
    ) -> Result<String, JwtError> {
        let mut h = Header::new(self.algorithm);
        h.typ = header.typ.map(str::to_string);
        h.kid = header.kid.map(str::to_string);
        if header.with_jwk {
            h.jwk = Some(self.public.clone());
        }
        jsonwebtoken::encode(&h, claims, &self.key).map_err(JwtError::Sign)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn parts(jwt: &str) -> (Value, Value, Vec<u8>) {
        let p: Vec<&str> = jwt.split('.').collect();
        assert_eq!(p.len(), 3);
        (
            serde_json::from_slice(&B64.decode(p[0]).unwrap()).unwrap(),
            serde_json::from_slice(&B64.decode(p[1]).unwrap()).unwrap(),
            B64.decode(p[2]).unwrap(),
        )
    }

    #[test]
    fn es256_with_jwk_verifies() {
        use p256::ecdsa::signature::Verifier;
        let key = SigningKey::ephemeral_ec().unwrap();
        let head = JwtHeader {
            typ: Some("dpop+jwt"),
            with_jwk: true,
            ..Default::default()
        };
        let jwt = key.sign(&head, &json!({"htm": "GET"})).unwrap();
        let (h, c, sig) = parts(&jwt);
        assert_eq!(h["alg"], "ES256");
        assert_eq!(h["typ"], "dpop+jwt");
        assert_eq!(h["jwk"]["kty"], "EC");
        assert_eq!(h["jwk"]["crv"], "P-256");
        assert_eq!(h.as_object().unwrap().len(), 3);
        assert_eq!(c["htm"], "GET");
        assert_eq!(sig.len(), 64);
        let pk = p256::PublicKey::from_jwk_str(&h["jwk"].to_string()).unwrap();
        let vk = p256::ecdsa::VerifyingKey::from(&pk);
        let s = p256::ecdsa::Signature::from_slice(&sig).unwrap();
        let input = jwt.rsplit_once('.').unwrap().0;
        vk.verify(input.as_bytes(), &s).unwrap();
    }

    #[test]
    fn rs256_from_pkcs1_and_pkcs8_verifies() {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs8::{EncodePrivateKey, LineEnding};
        use rsa::signature::Verifier;
        let pk = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
        let pkcs8 = pk.to_pkcs8_pem(LineEnding::LF).unwrap();
        let pkcs1 = pk.to_pkcs1_pem(LineEnding::LF).unwrap();
        // As pasted into a JSON string: literal `\n`.
        let pasted = pkcs8.replace('\n', "\\n");
        for pem in [pkcs8.as_str(), pkcs1.as_str(), pasted.as_str()] {
            let key = SigningKey::from_pem(pem).unwrap();
            let head = JwtHeader {
                typ: Some("JWT"),
                kid: Some("k1"),
                ..Default::default()
            };
            let jwt = key.sign(&head, &json!({"iss": "me"})).unwrap();
            let (h, c, sig) = parts(&jwt);
            assert_eq!(h, json!({"typ": "JWT", "alg": "RS256", "kid": "k1"}));
            assert_eq!(c["iss"], "me");
            let vk = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(pk.to_public_key());
            let s = rsa::pkcs1v15::Signature::try_from(sig.as_slice()).unwrap();
            vk.verify(jwt.rsplit_once('.').unwrap().0.as_bytes(), &s)
                .unwrap();
        }
    }

    #[test]
    fn verifying_keys_check_signatures() {
        let pk = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
        let signer = SigningKey::from_rsa(&pk).unwrap();
        let jwt = signer
            .sign(&JwtHeader::default(), &json!({"a": 1}))
            .unwrap();
        let (input, sig) = jwt.rsplit_once('.').unwrap();
        let sig = B64.decode(sig).unwrap();
        let vk = VerifyingKey::from_rsa(&pk.to_public_key());
        vk.verify(input, &sig).unwrap();
        assert!(vk.verify(&format!("{input}x"), &sig).is_err());

        let ec = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let signer = SigningKey::from_ec(&ec).unwrap();
        let jwt = signer
            .sign(&JwtHeader::default(), &json!({"a": 1}))
            .unwrap();
        let (input, sig) = jwt.rsplit_once('.').unwrap();
        let sig = B64.decode(sig).unwrap();
        let vk = VerifyingKey::from_ec(&ec.public_key()).unwrap();
        vk.verify(input, &sig).unwrap();
        assert!(vk.verify(input, &[0u8; 64]).is_err());
    }

    #[test]
    fn sec1_ec_keys_and_garbage() {
        use p256::pkcs8::LineEnding;
        let k = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let sec1 = k.to_sec1_pem(LineEnding::LF).unwrap();
        let key = SigningKey::from_pem(&sec1).unwrap();
        assert_eq!(key.algorithm(), Algorithm::ES256);
        assert!(matches!(
            SigningKey::from_pem("not a key"),
            Err(JwtError::BadKey { .. })
        ));
        assert!(SigningKey::from_rsa_pem(&sec1).is_err());
    }
}
