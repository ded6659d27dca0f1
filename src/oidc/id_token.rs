//! ID-token verification as authlib performs it for RomM: the signature
//! against the provider's key set with the advertised algorithms only, then
//! `iss`, `aud`, `exp`/`iat` with 120 s leeway, `nonce` and `at_hash`.
//! Each rejection has its own variant, so the report can say exactly why.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{
    ECDSA_P521_SHA512_FIXED, RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
    RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY, RsaPublicKeyComponents, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

use super::jwk;

/// authlib's leeway for `exp` and `iat`, in seconds.
pub const LEEWAY: u64 = 120;

#[derive(Debug, PartialEq, Eq)]
pub enum Rejection {
    Malformed(String),
    AlgNone,
    Symmetric(String),
    AlgNotAllowed {
        alg: String,
        allowed: Vec<String>,
    },
    NoKey {
        kid: Option<String>,
    },
    KeyMismatch(String),
    BadSignature,
    Issuer {
        expected: String,
        found: String,
    },
    Audience {
        expected: String,
        found: String,
    },
    Expired {
        exp: u64,
        now: u64,
    },
    NotYetValid {
        iat: u64,
        now: u64,
    },
    MissingClaim(&'static str),
    Nonce {
        expected: String,
        found: String,
    },
    AtHash {
        expected: String,
        found: String,
    },
    /// The at_hash was made with SHA-256 for an EdDSA token (as fosite, and so
    /// Pocket ID 2.10+, does), where authlib hashes EdDSA with SHA-512.
    EdDsaAtHash,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Malformed(why) => write!(f, "the ID token is not a well-formed JWS: {why}"),
            Rejection::AlgNone => f.write_str("the ID token is unsigned (alg \"none\")"),
            Rejection::Symmetric(alg) => write!(
                f,
                "the ID token uses the symmetric algorithm {alg}; verifying it with a published key would be the algorithm-confusion attack, so it is refused"
            ),
            Rejection::AlgNotAllowed { alg, allowed } => write!(
                f,
                "the ID token is signed with {alg}, but the provider advertises only {}",
                allowed.join(", ")
            ),
            Rejection::NoKey { kid: Some(kid) } => {
                write!(f, "no key with kid {kid} in the provider's key set")
            }
            Rejection::NoKey { kid: None } => f.write_str(
                "the ID token names no kid, and the key set holds more than one key and none without a kid",
            ),
            Rejection::KeyMismatch(why) => write!(f, "the key cannot verify this token: {why}"),
            Rejection::BadSignature => {
                f.write_str("the signature does not verify with the provider's published key")
            }
            Rejection::Issuer { expected, found } => {
                write!(f, "iss is {found}, but discovery's issuer is {expected}")
            }
            Rejection::Audience { expected, found } => {
                write!(f, "aud {found} does not contain the client id {expected}")
            }
            Rejection::Expired { exp, now } => write!(
                f,
                "the token expired {} s ago (exp {exp}, now {now}, leeway {LEEWAY} s)",
                now.saturating_sub(*exp)
            ),
            Rejection::NotYetValid { iat, now } => write!(
                f,
                "the token was issued {} s in the future (iat {iat}, now {now}, leeway {LEEWAY} s): the clocks disagree",
                iat.saturating_sub(*now)
            ),
            Rejection::MissingClaim(name) => write!(f, "the required claim {name} is missing"),
            Rejection::Nonce { expected, found } => {
                write!(f, "nonce {found} is not the one sent ({expected})")
            }
            Rejection::AtHash { expected, found } => write!(
                f,
                "at_hash {found} does not match the access token (expected {expected})"
            ),
            Rejection::EdDsaAtHash => f.write_str(
                "the signature verifies, but at_hash was computed with SHA-256, while RomM's authlib (1.6.x) computes it with SHA-512 for EdDSA tokens, so RomM refuses the token (InvalidClaimError: at_hash)",
            ),
        }
    }
}

/// What the token must match.
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub access_token: Option<&'a str>,
    pub allowed_algs: &'a [String],
    pub now: u64,
}

/// The verified token's header and claims.
#[derive(Debug)]
pub struct Verified {
    pub alg: String,
    pub kid: Option<String>,
    pub claims: Map<String, Value>,
}

fn decode_part(part: &str, what: &str) -> Result<Map<String, Value>, Rejection> {
    let bytes = B64
        .decode(part)
        .map_err(|e| Rejection::Malformed(format!("{what} is not base64url: {e}")))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Rejection::Malformed(format!("{what} is not a JSON object"))),
    }
}

pub fn verify(token: &str, keys: &[Value], expected: &Expected<'_>) -> Result<Verified, Rejection> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, claims_b64, signature_b64] = parts[..] else {
        return Err(Rejection::Malformed(format!(
            "{} parts instead of 3",
            parts.len()
        )));
    };
    let header = decode_part(header_b64, "the header")?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .map(str::to_string);
    if alg.eq_ignore_ascii_case("none") || alg.is_empty() {
        return Err(Rejection::AlgNone);
    }
    if alg.starts_with("HS") {
        return Err(Rejection::Symmetric(alg));
    }
    if !expected.allowed_algs.contains(&alg) {
        return Err(Rejection::AlgNotAllowed {
            alg,
            allowed: expected.allowed_algs.to_vec(),
        });
    }
    let key = find_key(keys, kid.as_deref(), &alg)?;
    let message = format!("{header_b64}.{claims_b64}");
    check_signature(&alg, &key, message.as_bytes(), signature_b64)?;
    let claims = decode_part(claims_b64, "the claims")?;
    check_claims(&claims, &alg, expected)?;
    Ok(Verified { alg, kid, claims })
}

/// The key authlib verifies with: it imports the whole set first (one key
/// it cannot import fails every token), picks one by kid, and then the key's
/// `use`, `key_ops`, material and curve must fit; its `alg` is ignored.
fn find_key(keys: &[Value], kid: Option<&str>, alg: &str) -> Result<jwk::Usable, Rejection> {
    if let Some((i, why)) = jwk::import_failure(keys) {
        return Err(Rejection::KeyMismatch(format!(
            "authlib cannot import the key set: key {i} {why}"
        )));
    }
    let key = jwk::select(keys, kid).ok_or_else(|| Rejection::NoKey {
        kid: kid.map(str::to_string),
    })?;
    match jwk::read(key) {
        jwk::Read::Usable(usable) if usable.algs.contains(&alg) => Ok(usable),
        jwk::Read::Usable(usable) => Err(Rejection::KeyMismatch(format!(
            "the key verifies {}, the token uses {alg}",
            usable.algs.join("/")
        ))),
        jwk::Read::Unusable(why) | jwk::Read::Breaks(why) => {
            Err(Rejection::KeyMismatch(format!("the key {why}")))
        }
    }
}

fn check_signature(
    alg: &str,
    usable: &jwk::Usable,
    message: &[u8],
    signature_b64: &str,
) -> Result<(), Rejection> {
    let key = &usable.canonical;
    if let Some(bits) = usable.rsa_bits.filter(|b| *b < 2048) {
        // jsonwebtoken verifies RSA from 2048 bits; cryptography (RomM) also
        // below. aws-lc-rs still verifies PKCS#1 SHA-256/512 from 1024 bits.
        let params = match alg {
            "RS256" if bits >= 1024 => &RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
            "RS512" if bits >= 1024 => &RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
            _ => {
                return Err(Rejection::KeyMismatch(format!(
                    "this tool cannot verify {alg} with an RSA key of {bits} bits (RomM's cryptography can); prove the login with RomM itself"
                )));
            }
        };
        let member = |name: &str| {
            key.get(name)
                .and_then(Value::as_str)
                .and_then(|v| B64.decode(v).ok())
                .unwrap_or_default()
        };
        let signature = B64
            .decode(signature_b64)
            .map_err(|_| Rejection::BadSignature)?;
        return RsaPublicKeyComponents {
            n: member("n"),
            e: member("e"),
        }
        .verify(params, message, &signature)
        .map_err(|_| Rejection::BadSignature);
    }
    if alg == "ES512" {
        // jsonwebtoken has no ES512; aws-lc-rs verifies P-521 with SHA-512.
        let coordinate = |name: &str| {
            key.get(name)
                .and_then(Value::as_str)
                .and_then(|v| B64.decode(v).ok())
                .ok_or_else(|| Rejection::KeyMismatch(format!("a P-521 key needs {name}")))
        };
        if key.get("crv").and_then(Value::as_str) != Some("P-521") {
            return Err(Rejection::KeyMismatch("ES512 needs a P-521 key".into()));
        }
        let mut point = vec![0x04];
        point.extend(coordinate("x")?);
        point.extend(coordinate("y")?);
        let signature = B64
            .decode(signature_b64)
            .map_err(|_| Rejection::BadSignature)?;
        return UnparsedPublicKey::new(&ECDSA_P521_SHA512_FIXED, point)
            .verify(message, &signature)
            .map_err(|_| Rejection::BadSignature);
    }
    let algorithm = Algorithm::from_str(alg).map_err(|_| Rejection::AlgNotAllowed {
        alg: alg.to_string(),
        allowed: vec![],
    })?;
    let jwk: Jwk = serde_json::from_value(key.clone())
        .map_err(|e| Rejection::KeyMismatch(format!("unreadable key: {e}")))?;
    let decoding =
        DecodingKey::from_jwk(&jwk).map_err(|e| Rejection::KeyMismatch(e.to_string()))?;
    match jsonwebtoken::crypto::verify(signature_b64, message, &decoding, algorithm) {
        Ok(true) => Ok(()),
        Ok(false) => Err(Rejection::BadSignature),
        Err(e) => Err(Rejection::KeyMismatch(e.to_string())),
    }
}

fn number(claims: &Map<String, Value>, name: &'static str) -> Result<u64, Rejection> {
    claims
        .get(name)
        .and_then(Value::as_f64)
        .map(|n| n.max(0.0) as u64)
        .ok_or(Rejection::MissingClaim(name))
}

fn check_claims(
    claims: &Map<String, Value>,
    alg: &str,
    expected: &Expected<'_>,
) -> Result<(), Rejection> {
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(Rejection::MissingClaim("iss"))?;
    if iss != expected.issuer {
        return Err(Rejection::Issuer {
            expected: expected.issuer.into(),
            found: iss.into(),
        });
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == expected.client_id,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(expected.client_id)),
        _ => return Err(Rejection::MissingClaim("aud")),
    };
    if !aud_ok {
        return Err(Rejection::Audience {
            expected: expected.client_id.into(),
            found: claims.get("aud").map(Value::to_string).unwrap_or_default(),
        });
    }
    let exp = number(claims, "exp")?;
    // A provider may send any number (1e300 saturates to u64::MAX above).
    if exp.saturating_add(LEEWAY) < expected.now {
        return Err(Rejection::Expired {
            exp,
            now: expected.now,
        });
    }
    let iat = number(claims, "iat")?;
    if iat > expected.now + LEEWAY {
        return Err(Rejection::NotYetValid {
            iat,
            now: expected.now,
        });
    }
    let nonce = claims
        .get("nonce")
        .and_then(Value::as_str)
        .unwrap_or("(none)");
    if nonce != expected.nonce {
        return Err(Rejection::Nonce {
            expected: expected.nonce.into(),
            found: nonce.into(),
        });
    }
    if let (Some(at_hash), Some(access_token)) = (
        claims.get("at_hash").and_then(Value::as_str),
        expected.access_token,
    ) {
        let want = half_hash(alg, access_token);
        if at_hash != want {
            if alg == "EdDSA" && at_hash == half_hash("RS256", access_token) {
                return Err(Rejection::EdDsaAtHash);
            }
            return Err(Rejection::AtHash {
                expected: want,
                found: at_hash.into(),
            });
        }
    }
    Ok(())
}

/// OIDC Core §3.1.3.6: the left half of the access token's hash, with the
/// hash of the signing algorithm; authlib (since 1.6.2) uses SHA-512 for EdDSA.
pub fn half_hash(alg: &str, access_token: &str) -> String {
    let algorithm = if alg.ends_with("384") {
        &digest::SHA384
    } else if alg.ends_with("512") || alg == "EdDSA" {
        &digest::SHA512
    } else {
        &digest::SHA256
    };
    let hash = digest::digest(algorithm, access_token.as_bytes());
    let bytes = hash.as_ref();
    B64.encode(&bytes[..bytes.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An absurd `exp` is far in the future, as authlib reads it: no overflow.
    #[test]
    fn a_huge_exp_is_not_expired_and_does_not_overflow() {
        let claims = serde_json::json!({
            "iss": "https://id.example.com", "aud": "romm", "nonce": "n",
            "exp": 1e300, "iat": 1_700_000_000,
        });
        let expected = Expected {
            issuer: "https://id.example.com",
            client_id: "romm",
            nonce: "n",
            access_token: None,
            allowed_algs: &[],
            now: 1_700_000_000,
        };
        let claims = claims.as_object().unwrap();
        assert!(check_claims(claims, "RS256", &expected).is_ok());
    }
}
