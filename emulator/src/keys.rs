//! The signing key (pocketid.md §2.1), its JWK, JWT signing and `at_hash`.
//!
//! Key material is generated with aws-lc-rs, lazily and only for the chosen
//! algorithm, and cached per process (RSA-4096 generation is slow). Every
//! emulator still gets its own random `kid`.

use crate::SigningAlg;
use crate::util::{b64url, random_bytes, sorted_json};
use aws_lc_rs::digest;
use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use serde_json::{Value, json};
use std::io;
use std::sync::{Arc, Mutex};

enum Material {
    Rsa(signature::RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

static CACHE: [Mutex<Option<Arc<Material>>>; 7] = [const { Mutex::new(None) }; 7];

fn alg_index(alg: SigningAlg) -> usize {
    match alg {
        SigningAlg::RS256 => 0,
        SigningAlg::RS384 => 1,
        SigningAlg::RS512 => 2,
        SigningAlg::ES256 => 3,
        SigningAlg::ES384 => 4,
        SigningAlg::ES512 => 5,
        SigningAlg::EdDSA => 6,
    }
}

fn generate(alg: SigningAlg) -> Result<Material, aws_lc_rs::error::Unspecified> {
    Ok(match alg {
        SigningAlg::RS256 => Material::Rsa(signature::RsaKeyPair::generate(KeySize::Rsa2048)?),
        SigningAlg::RS384 => Material::Rsa(signature::RsaKeyPair::generate(KeySize::Rsa3072)?),
        SigningAlg::RS512 => Material::Rsa(signature::RsaKeyPair::generate(KeySize::Rsa4096)?),
        SigningAlg::ES256 => Material::Ec(EcdsaKeyPair::generate(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        )?),
        SigningAlg::ES384 => Material::Ec(EcdsaKeyPair::generate(
            &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        )?),
        SigningAlg::ES512 => Material::Ec(EcdsaKeyPair::generate(
            &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
        )?),
        SigningAlg::EdDSA => Material::Ed(Ed25519KeyPair::generate()?),
    })
}

/// The emulator's one signing key.
pub struct SigningKey {
    pub alg: SigningAlg,
    pub kid: String,
    material: Arc<Material>,
}

impl SigningKey {
    pub fn new(alg: SigningAlg) -> io::Result<SigningKey> {
        let slot = &CACHE[alg_index(alg)];
        let mut guard = slot.lock().unwrap_or_else(|p| p.into_inner());
        let material = match guard.as_ref() {
            Some(m) => m.clone(),
            None => {
                let m = Arc::new(generate(alg).map_err(|_| {
                    io::Error::other(format!("{} key generation failed", alg.as_str()))
                })?);
                *guard = Some(m.clone());
                m
            }
        };
        Ok(SigningKey {
            alg,
            // generateRandomKeyID: 8 random bytes, base64url without padding.
            kid: b64url(&random_bytes(8)),
            material,
        })
    }

    /// A key of the same algorithm and `kid` with fresh, uncached material:
    /// what signs [`crate::TokenFault::WrongKey`] tokens. It is never published.
    pub fn impostor(&self) -> io::Result<SigningKey> {
        self.fresh(self.kid.clone())
    }

    /// A key of the same algorithm with fresh material and its own `kid`: the
    /// second published key of [`crate::TokenFault::NoKidTwoKeys`].
    pub fn sibling(&self) -> io::Result<SigningKey> {
        self.fresh(b64url(&random_bytes(8)))
    }

    fn fresh(&self, kid: String) -> io::Result<SigningKey> {
        let material = generate(self.alg).map_err(|_| {
            io::Error::other(format!("{} key generation failed", self.alg.as_str()))
        })?;
        Ok(SigningKey {
            alg: self.alg,
            kid,
            material: Arc::new(material),
        })
    }

    /// The public key as SubjectPublicKeyInfo DER.
    fn public_der(&self) -> Vec<u8> {
        let der: Result<PublicKeyX509Der<'static>, _> = match &*self.material {
            Material::Rsa(kp) => kp.public_key().as_der(),
            Material::Ec(kp) => kp.public_key().as_der(),
            Material::Ed(kp) => kp.public_key().as_der(),
        };
        der.map(|d| d.as_ref().to_vec()).unwrap_or_default()
    }

    /// The public key as PEM (`-----BEGIN PUBLIC KEY-----`, 64-column base64).
    pub fn public_pem(&self) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(self.public_der());
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }

    /// The public JWK (`kty`, `kid`, `use`, `alg`, plus `n`/`e` or `crv`/`x`/`y`).
    pub fn public_jwk(&self) -> Value {
        let alg = self.alg.as_str();
        match &*self.material {
            Material::Rsa(kp) => {
                let public = kp.public_key();
                json!({
                    "kty": "RSA",
                    "kid": self.kid,
                    "use": "sig",
                    "alg": alg,
                    "n": b64url(public.modulus().big_endian_without_leading_zero()),
                    "e": b64url(public.exponent().big_endian_without_leading_zero()),
                })
            }
            Material::Ec(kp) => {
                // Uncompressed point: 0x04 || X || Y.
                let point = kp.public_key().as_ref();
                let coord = point.len().saturating_sub(1) / 2;
                let (x, y) = if point.len() == 1 + 2 * coord && coord > 0 {
                    (&point[1..1 + coord], &point[1 + coord..])
                } else {
                    (&point[..0], &point[..0])
                };
                let crv = match self.alg {
                    SigningAlg::ES384 => "P-384",
                    SigningAlg::ES512 => "P-521",
                    _ => "P-256",
                };
                json!({
                    "kty": "EC",
                    "kid": self.kid,
                    "use": "sig",
                    "alg": alg,
                    "crv": crv,
                    "x": b64url(x),
                    "y": b64url(y),
                })
            }
            Material::Ed(kp) => json!({
                "kty": "OKP",
                "kid": self.kid,
                "use": "sig",
                "alg": alg,
                "crv": "Ed25519",
                "x": b64url(kp.public_key().as_ref()),
            }),
        }
    }

    /// Signs a compact JWS with header `{alg, kid, typ}` over `claims`.
    pub fn sign_jwt(&self, typ: &str, claims: &Value) -> String {
        self.sign_with_header(
            &json!({"alg": self.alg.as_str(), "kid": self.kid, "typ": typ}),
            claims,
        )
    }

    /// Signs a compact JWS with header `{alg, typ}`: no `kid`.
    pub fn sign_jwt_without_kid(&self, typ: &str, claims: &Value) -> String {
        self.sign_with_header(&json!({"alg": self.alg.as_str(), "typ": typ}), claims)
    }

    fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let signing_input = format!(
            "{}.{}",
            b64url(sorted_json(header).as_bytes()),
            b64url(sorted_json(claims).as_bytes())
        );
        let sig = self.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", b64url(&sig))
    }

    /// An unsigned JWT: header `{alg: "none", kid, typ}` and an empty signature.
    pub fn sign_jwt_none(&self, typ: &str, claims: &Value) -> String {
        let header = json!({"alg": "none", "kid": self.kid, "typ": typ});
        format!(
            "{}.{}.",
            b64url(sorted_json(&header).as_bytes()),
            b64url(sorted_json(claims).as_bytes())
        )
    }

    /// The algorithm-confusion token: header `{alg: "HS256", kid, typ}`,
    /// HMAC-SHA256 keyed with the bytes of [`SigningKey::public_pem`].
    pub fn sign_jwt_hs256_with_public_key(&self, typ: &str, claims: &Value) -> String {
        let header = json!({"alg": "HS256", "kid": self.kid, "typ": typ});
        let signing_input = format!(
            "{}.{}",
            b64url(sorted_json(&header).as_bytes()),
            b64url(sorted_json(claims).as_bytes())
        );
        let key = hmac::Key::new(hmac::HMAC_SHA256, self.public_pem().as_bytes());
        let tag = hmac::sign(&key, signing_input.as_bytes());
        format!("{signing_input}.{}", b64url(tag.as_ref()))
    }

    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &*self.material {
            Material::Rsa(kp) => {
                let padding: &'static dyn signature::RsaEncoding = match self.alg {
                    SigningAlg::RS384 => &signature::RSA_PKCS1_SHA384,
                    SigningAlg::RS512 => &signature::RSA_PKCS1_SHA512,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0u8; kp.public_modulus_len()];
                match kp.sign(padding, &rng, msg, &mut sig) {
                    Ok(()) => sig,
                    Err(_) => Vec::new(),
                }
            }
            Material::Ec(kp) => kp
                .sign(&rng, msg)
                .map(|s| s.as_ref().to_vec())
                .unwrap_or_default(),
            Material::Ed(kp) => kp.sign(msg).as_ref().to_vec(),
        }
    }
}

/// The JWKS publishing `keys`, in order.
pub fn jwks_json(keys: &[&SigningKey]) -> String {
    let keys: Vec<Value> = keys.iter().map(|k| k.public_jwk()).collect();
    sorted_json(&json!({ "keys": keys }))
}

/// `at_hash` exactly as fosite's `IDTokenHandleHelper.ComputeHash` computes it
/// for Pocket ID (which records the key alg in the ID-token header): the digest
/// size is read from `alg[2:]` — `384` → SHA-384, `512` → SHA-512, anything
/// else (including `EdDSA`) → SHA-256 — then the left half, base64url.
///
/// Every fosite release of Pocket ID (v2.10.0 on) records the key's alg on the
/// session (`backend/internal/oidc/claims_service.go` `applyIDTokenClaims`,
/// called from `token_handler.go` before the response), so the 384/512
/// algorithms get their own sizes; `EdDSA` has no number and stays SHA-256.
pub fn at_hash(alg: SigningAlg, access_token: &str) -> String {
    let algorithm = match alg {
        SigningAlg::RS384 | SigningAlg::ES384 => &digest::SHA384,
        SigningAlg::RS512 | SigningAlg::ES512 => &digest::SHA512,
        _ => &digest::SHA256,
    };
    half_hash(algorithm, access_token)
}

/// `at_hash` as RFC 8037 and authlib hash EdDSA tokens, with SHA-512 (the
/// hash of Ed25519); other algorithms as [`at_hash`].
pub fn at_hash_sha512_for_eddsa(alg: SigningAlg, access_token: &str) -> String {
    match alg {
        SigningAlg::EdDSA => half_hash(&digest::SHA512, access_token),
        _ => at_hash(alg, access_token),
    }
}

fn half_hash(algorithm: &'static digest::Algorithm, text: &str) -> String {
    let d = digest::digest(algorithm, text.as_bytes());
    let bytes = d.as_ref();
    b64url(&bytes[..bytes.len() / 2])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aws_lc_rs::signature::{RsaPublicKeyComponents, UnparsedPublicKey};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn d(s: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(s).expect("base64url")
    }

    /// Verifies a compact JWS using only the published JWK, with aws-lc-rs's
    /// verification API (independent of the signing code path).
    pub(crate) fn verify_with_jwk(jwt: &str, jwk: &Value) -> bool {
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value = serde_json::from_slice(&d(parts[0])).unwrap();
        if header.get("kid").is_some() {
            assert_eq!(header["kid"], jwk["kid"]);
        }
        assert_eq!(header["alg"], jwk["alg"]);
        let msg = format!("{}.{}", parts[0], parts[1]);
        let sig = d(parts[2]);
        let s = |k: &str| jwk[k].as_str().unwrap().to_string();
        match s("kty").as_str() {
            "RSA" => {
                let params = match s("alg").as_str() {
                    "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
                    "RS512" => &signature::RSA_PKCS1_2048_8192_SHA512,
                    _ => &signature::RSA_PKCS1_2048_8192_SHA256,
                };
                let c = RsaPublicKeyComponents {
                    n: d(&s("n")),
                    e: d(&s("e")),
                };
                c.verify(params, msg.as_bytes(), &sig).is_ok()
            }
            "EC" => {
                let (alg, len): (&'static dyn signature::VerificationAlgorithm, usize) =
                    match s("crv").as_str() {
                        "P-384" => (&signature::ECDSA_P384_SHA384_FIXED, 48),
                        "P-521" => (&signature::ECDSA_P521_SHA512_FIXED, 66),
                        _ => (&signature::ECDSA_P256_SHA256_FIXED, 32),
                    };
                let (x, y) = (d(&s("x")), d(&s("y")));
                assert_eq!(x.len(), len);
                assert_eq!(y.len(), len);
                assert_eq!(sig.len(), 2 * len, "JOSE r||s signature");
                let mut point = vec![4u8];
                point.extend(x);
                point.extend(y);
                UnparsedPublicKey::new(alg, point)
                    .verify(msg.as_bytes(), &sig)
                    .is_ok()
            }
            "OKP" => UnparsedPublicKey::new(&signature::ED25519, d(&s("x")))
                .verify(msg.as_bytes(), &sig)
                .is_ok(),
            other => panic!("unexpected kty {other}"),
        }
    }

    #[test]
    fn every_alg_signs_verifiable_jwts() {
        for alg in [
            SigningAlg::RS256,
            SigningAlg::RS384,
            SigningAlg::RS512,
            SigningAlg::ES256,
            SigningAlg::ES384,
            SigningAlg::ES512,
            SigningAlg::EdDSA,
        ] {
            let key = SigningKey::new(alg).unwrap();
            assert_eq!(key.kid.len(), 11, "kid is 8 random bytes base64url");
            let jwk = key.public_jwk();
            assert_eq!(jwk["use"], "sig");
            let jwt = key.sign_jwt("JWT", &json!({"sub": "x", "iat": 1}));
            assert!(verify_with_jwk(&jwt, &jwk), "{alg:?} signature must verify");
            // A tampered payload must not verify.
            let mut parts: Vec<String> = jwt.split('.').map(String::from).collect();
            parts[1] = b64url(br#"{"sub":"y"}"#);
            assert!(!verify_with_jwk(&parts.join("."), &jwk), "{alg:?} tamper");
        }
    }

    #[test]
    fn rsa_sizes_follow_pocket_id() {
        for (alg, bits) in [
            (SigningAlg::RS256, 2048),
            (SigningAlg::RS384, 3072),
            (SigningAlg::RS512, 4096),
        ] {
            let jwk = SigningKey::new(alg).unwrap().public_jwk();
            assert_eq!(d(jwk["n"].as_str().unwrap()).len() * 8, bits);
            assert_eq!(jwk["e"], "AQAB");
        }
    }

    #[test]
    fn at_hash_uses_fosite_digest_choice() {
        // OIDC Core example token; SHA-256 left half.
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNqmi5bG5A6dq4Frk4Ew";
        let full = digest::digest(&digest::SHA256, token.as_bytes());
        assert_eq!(
            at_hash(SigningAlg::RS256, token),
            b64url(&full.as_ref()[..16])
        );
        assert_eq!(
            at_hash(SigningAlg::ES256, token),
            b64url(&full.as_ref()[..16])
        );
        assert_eq!(
            at_hash(SigningAlg::EdDSA, token),
            b64url(&full.as_ref()[..16])
        );
        let h384 = digest::digest(&digest::SHA384, token.as_bytes());
        assert_eq!(
            at_hash(SigningAlg::RS384, token),
            b64url(&h384.as_ref()[..24])
        );
        assert_eq!(at_hash(SigningAlg::ES384, token).len(), 32);
        let h512 = digest::digest(&digest::SHA512, token.as_bytes());
        assert_eq!(
            at_hash(SigningAlg::ES512, token),
            b64url(&h512.as_ref()[..32])
        );
        assert_eq!(at_hash(SigningAlg::RS512, token).len(), 43);
    }
}
