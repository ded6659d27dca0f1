//! A JSON Web Key Set read, imported and used the way RomM's authlib 1.6.12
//! (on cryptography 49) does it — the one reader for both the ID-token
//! verification (`oidc::id_token`) and the key-set check (`checks::jwks`).
//!
//! authlib imports every key of the set before it looks at the token
//! (`JsonWebKey.import_key_set`); that import checks only `kty` and its
//! required members, so one key without them breaks every login. The token's
//! `kid` then selects a key (`KeySet.find_by_kid`, without filters: a key's
//! `use` and `alg` never decide), and only the token's algorithm loads it, in
//! this order: the key's kind and curve must fit the algorithm
//! (`prepare_key`), `key_ops` and `use` must allow verifying
//! (`Key.check_key_op`), and the members must load as cryptography loads
//! them. So a damaged key fails only the tokens that select it.
//!
//! Signatures are verified with aws-lc-rs. What it cannot verify although
//! RomM can (Ed448, RSA under 1024 or over 8192 bits, RS384/PS* under 2048,
//! an exponent over 33 bits) is [`Outcome::Unproven`], never a pass.

use std::fmt;

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaParameters, RsaPublicKeyComponents};
use serde_json::{Map, Value};

use super::py;

/// An imported key (a JSON object with a known `kty` and its members).
pub type Jwk = Map<String, Value>;

/// What cryptography (RomM's pin, 49.0.0) raises for a key that is neither
/// a JWK object nor PEM.
const PEM_ERROR: &str = "ValueError: Unable to load PEM file. See https://cryptography.io/en/latest/faq/#why-can-t-i-import-my-pem-file for more details. MalformedFraming";

/// Why authlib cannot import the key set: RomM verifies no token with it.
#[derive(Clone, Debug, PartialEq)]
pub enum SetError {
    /// Neither `{"keys": [...]}` nor a list of keys.
    Format { exception: String, found: String },
    /// One key does not import.
    Key { index: usize, error: ImportError },
}

/// Why authlib cannot import one key.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportError {
    pub exception: String,
    /// Completes "the key …".
    pub why: String,
}

impl SetError {
    pub fn exception(&self) -> &str {
        match self {
            SetError::Format { exception, .. }
            | SetError::Key {
                error: ImportError { exception, .. },
                ..
            } => exception,
        }
    }
}

impl fmt::Display for SetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::Format { found, .. } => {
                write!(f, "the key set is {found}, not {{\"keys\": [...]}}")
            }
            SetError::Key { index, error } => write!(
                f,
                "authlib cannot import key {index} of the key set: it {}; authlib imports every key before it looks for the token's, so one bad key breaks every login",
                error.why
            ),
        }
    }
}

/// Why verifying with the selected key fails before (or whatever) the
/// signature. [`fmt::Display`] completes "the key …".
#[derive(Clone, Debug, PartialEq)]
pub enum KeyError {
    /// `prepare_key`: the key's `kty` does not fit the algorithm.
    Kind { alg: String, kty: String },
    /// `ECAlgorithm.prepare_key`: the EC key is on another curve.
    Curve {
        alg: String,
        crv: String,
        curve: &'static str,
    },
    /// `check_key_op`: `key_ops` without `verify`.
    Ops { exception: String, ops: String },
    /// `check_key_op`: a `use` other than `sig`.
    Use { found: String },
    /// Loading the members raised.
    Material { exception: String, why: String },
    /// It loads, but OpenSSL refuses it when verifying: no signature verifies.
    NeverVerifies { why: String },
}

impl KeyError {
    /// The exception RomM's callback logs.
    pub fn exception(&self) -> String {
        match self {
            KeyError::Kind { .. } => "KeyError: 0".into(),
            KeyError::Curve { alg, curve, .. } => {
                format!("ValueError: Key for \"{alg}\" not supported, only \"{curve}\" allowed")
            }
            KeyError::Ops { exception, .. } | KeyError::Material { exception, .. } => {
                exception.clone()
            }
            KeyError::Use { .. } => {
                "InvalidUseError: invalid_use: Key 'use' is not valid for your usage".into()
            }
            KeyError::NeverVerifies { .. } => "BadSignatureError: bad_signature:".into(),
        }
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Kind { alg, kty } => write!(f, "is an {kty} key, which cannot verify {alg}"),
            KeyError::Curve { alg, crv, curve } => {
                write!(f, "is on curve {crv}; {alg} needs a {curve} key")
            }
            KeyError::Ops { ops, .. } => {
                write!(f, "has key_ops {ops}, which does not allow verify")
            }
            KeyError::Use { found } => write!(
                f,
                "is for use {found}; authlib verifies only with keys whose use is \"sig\" (or unset)"
            ),
            KeyError::Material { why, .. } | KeyError::NeverVerifies { why } => f.write_str(why),
        }
    }
}

// ------------------------------------------------------------ the key set

/// `JsonWebKey.import_key_set`: every key is imported before any is used.
pub fn import_key_set(set: &Value) -> Result<Vec<&Jwk>, SetError> {
    members(set)?
        .iter()
        .enumerate()
        .map(|(index, key)| import_key(key).map_err(|error| SetError::Key { index, error }))
        .collect()
}

/// What authlib iterates as the keys: `{"keys": ...}` or a bare list
/// (`_transform_raw_key`). An empty string or object under `keys` is an
/// empty set; another string or object fails at its first "key".
pub fn members(set: &Value) -> Result<&[Value], SetError> {
    let format = |exception: &str, found: &str| SetError::Format {
        exception: exception.into(),
        found: format!("{{\"keys\": {found}}}"),
    };
    match set {
        Value::Array(keys) => Ok(keys),
        Value::Object(doc) if doc.contains_key("keys") => match &doc["keys"] {
            Value::Array(keys) => Ok(keys),
            Value::String(s) if s.is_empty() => Ok(&[]),
            Value::Object(o) if o.is_empty() => Ok(&[]),
            Value::String(_) | Value::Object(_) => Err(format(PEM_ERROR, "a string or an object")),
            other => Err(format(
                &format!(
                    "TypeError: '{}' object is not iterable",
                    py::type_name(other)
                ),
                py::kind(other),
            )),
        },
        other => Err(SetError::Format {
            exception: "ValueError: Invalid key set format".into(),
            found: py::kind(other).into(),
        }),
    }
}

/// `JsonWebKey.import_key` of one JSON key: a known `kty` with its required
/// members (in authlib's order); an RSA private key needs all its primes or
/// none.
pub fn import_key(key: &Value) -> Result<&Jwk, ImportError> {
    let fail = |exception: String, why: String| ImportError { exception, why };
    let Value::Object(jwk) = key else {
        return Err(match key {
            Value::Null => fail(
                "TypeError: argument of type 'NoneType' is not iterable".into(),
                "is null".into(),
            ),
            other => fail(
                PEM_ERROR.into(),
                format!("is {}, not an object", py::kind(other)),
            ),
        });
    };
    let kty = match jwk.get("kty") {
        None | Some(Value::Null) if jwk.is_empty() => {
            return Err(fail(PEM_ERROR.into(), "is an empty object".into()));
        }
        None | Some(Value::Null) => {
            return Err(fail(
                "TypeError: 'str' object cannot be interpreted as an integer".into(),
                "has no kty".into(),
            ));
        }
        Some(Value::String(kty)) => kty.as_str(),
        Some(other @ (Value::Array(_) | Value::Object(_))) => {
            return Err(fail(
                format!("TypeError: unhashable type: '{}'", py::type_name(other)),
                format!("has kty {}", py::shown(other)),
            ));
        }
        Some(other) => {
            return Err(fail(
                format!("KeyError: {}", py::repr(other)),
                format!("has kty {}, which authlib does not know", py::shown(other)),
            ));
        }
    };
    let required: &[&str] = match kty {
        "oct" => &["k"],
        "RSA" => &["e", "n"],
        "EC" => &["crv", "x", "y"],
        "OKP" => &["crv", "x"],
        _ => {
            return Err(fail(
                format!("KeyError: {}", py::repr(&Value::String(kty.into()))),
                format!(
                    "is of type {kty}, which authlib does not know (it knows RSA, EC, OKP and oct)"
                ),
            ));
        }
    };
    if let Some(member) = required.iter().find(|m| !jwk.contains_key(**m)) {
        return Err(fail(
            format!("ValueError: Missing required field: \"{member}\""),
            format!("is an {kty} key without {member}"),
        ));
    }
    let primes = ["p", "q", "dp", "dq", "qi"];
    let present = primes.iter().filter(|p| jwk.contains_key(**p)).count();
    if kty == "RSA" && jwk.contains_key("d") && (1..primes.len()).contains(&present) {
        return Err(fail(
            "ValueError: RSA key must include all parameters if any are present besides d".into(),
            "is a private RSA key with only some of p, q, dp, dq and qi".into(),
        ));
    }
    Ok(jwk)
}

/// `KeySet.find_by_kid` (called without filters): the only key when the
/// token names none, else the first key whose `kid` equals the token's as
/// Python compares them (a key without `kid` matches a token without one).
pub fn find_by_kid<'a>(keys: &[&'a Jwk], kid: &Value) -> Option<&'a Jwk> {
    if kid.is_null() && keys.len() == 1 {
        return Some(keys[0]);
    }
    keys.iter()
        .find(|k| py::eq(k.get("kid").unwrap_or(&Value::Null), kid))
        .copied()
}

// ------------------------------------------------------------ one key, one algorithm

/// The kind of key an algorithm takes, and for ECDSA its curve.
fn needs(alg: &str) -> Option<(&'static str, Option<&'static str>)> {
    Some(match alg {
        "HS256" | "HS384" | "HS512" => ("oct", None),
        "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" => ("RSA", None),
        "ES256" => ("EC", Some("P-256")),
        "ES384" => ("EC", Some("P-384")),
        "ES512" => ("EC", Some("P-521")),
        "ES256K" => ("EC", Some("secp256k1")),
        "EdDSA" => ("OKP", None),
        _ => return None,
    })
}

/// `prepare_key` of the algorithm: the key's kind (and an EC key's curve)
/// fits it.
pub fn fits(alg: &str, key: &Jwk) -> Result<(), KeyError> {
    let kty = key.get("kty").and_then(Value::as_str).unwrap_or_default();
    let (kind, curve) = needs(alg).unwrap_or(("", None));
    if kty != kind {
        return Err(KeyError::Kind {
            alg: alg.into(),
            kty: kty.into(),
        });
    }
    let crv = key.get("crv").unwrap_or(&Value::Null);
    match curve {
        Some(curve) if crv.as_str() != Some(curve) => Err(KeyError::Curve {
            alg: alg.into(),
            crv: py::shown(crv),
            curve,
        }),
        _ => Ok(()),
    }
}

/// The key, loaded for one algorithm as authlib loads it before verifying.
pub struct Prepared {
    alg: String,
    verifier: Verifier,
    /// An EC key's `key_ops`/`use` refusal, which authlib meets only after
    /// checking the signature's length.
    late: Option<KeyError>,
}

enum Verifier {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
        bits: usize,
        /// `Err`: why aws-lc-rs cannot verify with it.
        params: Result<&'static RsaParameters, String>,
    },
    Ec {
        key: ParsedPublicKey,
        size: usize,
    },
    Ed25519(Vec<u8>),
    Hmac {
        algorithm: hmac::Algorithm,
        secret: Vec<u8>,
    },
    Unproven(String),
}

/// What the signature comes to.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Verified,
    BadSignature(String),
    /// RomM would verify it; this tool cannot.
    Unproven(String),
}

/// `prepare_key`, then `verify` up to the signature itself: the kind and
/// curve, `key_ops` and `use`, the members as cryptography loads them.
pub fn prepare(alg: &str, key: &Jwk) -> Result<Prepared, KeyError> {
    fits(alg, key)?;
    let (kind, curve) = needs(alg).unwrap_or(("", None));
    let mut late = None;
    let verifier = match (kind, curve) {
        ("EC", Some(curve)) => {
            // ECAlgorithm.verify loads the key, checks the signature's
            // length, and only then asks for the key op.
            let verifier = load_ec(key, curve)?;
            late = check_key_op(key).err();
            verifier
        }
        ("RSA", _) => {
            check_key_op(key)?;
            load_rsa(alg, key)?
        }
        ("OKP", _) => {
            check_key_op(key)?;
            load_okp(key)?
        }
        _ => {
            check_key_op(key)?;
            let secret = member(key, "k", Charset::Utf8)?;
            let algorithm = match alg {
                "HS256" => hmac::HMAC_SHA256,
                "HS384" => hmac::HMAC_SHA384,
                _ => hmac::HMAC_SHA512,
            };
            Verifier::Hmac { algorithm, secret }
        }
    };
    Ok(Prepared {
        alg: alg.into(),
        verifier,
        late,
    })
}

impl Prepared {
    /// Whether a token of the right form can verify with the key at all.
    pub fn usable(&self) -> Result<(), &KeyError> {
        self.late.as_ref().map_or(Ok(()), Err)
    }

    /// The modulus size of an RSA key.
    pub fn rsa_bits(&self) -> Option<usize> {
        match self.verifier {
            Verifier::Rsa { bits, .. } => Some(bits),
            _ => None,
        }
    }

    /// The signature over `message`, checked as the algorithm's `verify`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<Outcome, KeyError> {
        let alg = &self.alg;
        let ok = match &self.verifier {
            Verifier::Rsa {
                params: Err(why), ..
            }
            | Verifier::Unproven(why) => {
                return Ok(Outcome::Unproven(why.clone()));
            }
            Verifier::Rsa {
                n,
                e,
                params: Ok(params),
                ..
            } => RsaPublicKeyComponents { n, e }
                .verify(params, message, signature)
                .is_ok(),
            Verifier::Ec { key, size } => {
                if signature.len() != 2 * size {
                    return Ok(Outcome::BadSignature(format!(
                        "the {alg} signature is {} bytes; JWS needs the {}-byte r‖s form (a DER-encoded signature is a provider bug)",
                        signature.len(),
                        2 * size
                    )));
                }
                if let Some(late) = &self.late {
                    return Err(late.clone());
                }
                key.verify_sig(message, signature).is_ok()
            }
            Verifier::Ed25519(x) => signature::UnparsedPublicKey::new(&signature::ED25519, x)
                .verify(message, signature)
                .is_ok(),
            Verifier::Hmac { algorithm, secret } => {
                hmac::verify(&hmac::Key::new(*algorithm, secret), message, signature).is_ok()
            }
        };
        Ok(if ok {
            Outcome::Verified
        } else {
            Outcome::BadSignature(format!(
                "the {alg} signature does not verify with the provider's published key"
            ))
        })
    }
}

/// `Key.check_key_op("verify")`.
fn check_key_op(key: &Jwk) -> Result<(), KeyError> {
    let allows = match key.get("key_ops") {
        None | Some(Value::Null) => true,
        Some(Value::Array(ops)) => ops.iter().any(|o| o.as_str() == Some("verify")),
        // Python's `in`: a substring of a string, a key of a dict.
        Some(Value::String(ops)) => ops.contains("verify"),
        Some(Value::Object(ops)) => ops.contains_key("verify"),
        Some(other) => {
            return Err(KeyError::Ops {
                exception: format!(
                    "TypeError: argument of type '{}' is not iterable",
                    py::type_name(other)
                ),
                ops: py::shown(other),
            });
        }
    };
    if !allows {
        return Err(KeyError::Ops {
            exception: "ValueError: Unsupported key_op \"verify\"".into(),
            ops: py::shown(&key["key_ops"]),
        });
    }
    match key.get("use") {
        Some(found) if py::truthy(found) && found.as_str() != Some("sig") => Err(KeyError::Use {
            found: py::shown(found),
        }),
        _ => Ok(()),
    }
}

/// How authlib turns a member into bytes before decoding it: `base64_to_int`
/// (RSA, EC) encodes it as ASCII, the OKP and oct loaders as UTF-8.
#[derive(Clone, Copy)]
enum Charset {
    Ascii,
    Utf8,
}

/// A member decoded as authlib's `urlsafe_b64decode(to_bytes(value))`.
fn member(key: &Jwk, name: &str, charset: Charset) -> Result<Vec<u8>, KeyError> {
    let value = &key[name];
    let material = |exception: String, why: String| KeyError::Material { exception, why };
    if let (Charset::Ascii, Value::String(s)) = (charset, value)
        && let Some((at, c)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii())
    {
        return Err(material(
            format!(
                "UnicodeEncodeError: 'ascii' codec can't encode character '\\x{:x}' in position {at}: ordinal not in range(128)",
                u32::from(c)
            ),
            format!("has a {name} with a character outside ASCII, which authlib cannot decode"),
        ));
    }
    let bytes = py::to_bytes(value).map_err(|e| {
        material(
            e,
            format!("has {name} {}, not a base64url string", py::shown(value)),
        )
    })?;
    py::b64decode(&bytes).map_err(|e| {
        let shown = match value {
            Value::String(_) => String::new(),
            other => format!(" {}", py::shown(other)),
        };
        material(
            e,
            format!("has {name}{shown}, which authlib cannot decode as base64"),
        )
    })
}

/// `base64_to_int`: a big-endian unsigned integer, without leading zeros.
fn integer(key: &Jwk, name: &str) -> Result<Vec<u8>, KeyError> {
    let bytes = member(key, name, Charset::Ascii)?;
    if bytes.is_empty() {
        return Err(KeyError::Material {
            exception: "ValueError: invalid literal for int() with base 16: ''".into(),
            why: format!("has an empty {name}"),
        });
    }
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    Ok(bytes[zeros..].to_vec())
}

/// The size in bits of a big-endian number without leading zero bytes.
fn bit_length(v: &[u8]) -> usize {
    v.first()
        .map_or(0, |b| v.len() * 8 - b.leading_zeros() as usize)
}

/// `a < b` for big-endian numbers without leading zero bytes.
fn less(a: &[u8], b: &[u8]) -> bool {
    (a.len(), a) < (b.len(), b)
}

/// `RSAPublicNumbers(e, n).public_key()` (cryptography's checks, in its
/// order), then what OpenSSL refuses when verifying, then what aws-lc-rs can
/// verify here.
fn load_rsa(alg: &str, key: &Jwk) -> Result<Verifier, KeyError> {
    let e = integer(key, "e")?;
    let n = integer(key, "n")?;
    let numbers = |exception: &str, why: &str| KeyError::Material {
        exception: format!("ValueError: {exception}"),
        why: why.into(),
    };
    if less(&n, &[3]) {
        return Err(numbers("n must be >= 3.", "has a modulus n under 3"));
    }
    if less(&e, &[3]) || !less(&e, &n) {
        return Err(numbers(
            "e must be >= 3 and < n.",
            "has an exponent e under 3 or not under n",
        ));
    }
    if e.last().is_some_and(|b| b % 2 == 0) {
        return Err(numbers("e must be odd.", "has an even exponent e"));
    }
    let bits = bit_length(&n);
    let e_bits = bit_length(&e);
    let never = |why: String| Err(KeyError::NeverVerifies { why });
    // OpenSSL's RSA public operation (rsa_ossl_public_decrypt).
    if n.last().is_some_and(|b| b % 2 == 0) {
        return never("has an even modulus n, with which OpenSSL verifies no signature".into());
    }
    if bits > 16384 {
        return never(format!(
            "is an RSA key of {bits} bits; OpenSSL verifies with at most 16384"
        ));
    }
    if bits > 3072 && e_bits > 64 {
        return never(format!(
            "has an exponent e of {e_bits} bits; OpenSSL refuses more than 64 with a modulus over 3072 bits"
        ));
    }
    let params: Result<&'static RsaParameters, String> = match (alg, bits) {
        // aws-lc-rs refuses larger exponents (a denial-of-service limit).
        _ if e_bits > 33 => Err(format!(
            "an RSA exponent e of {e_bits} bits; this tool verifies up to 33"
        )),
        ("RS256", 2048..=8192) => Ok(&signature::RSA_PKCS1_2048_8192_SHA256),
        ("RS384", 2048..=8192) => Ok(&signature::RSA_PKCS1_2048_8192_SHA384),
        ("RS512", 2048..=8192) => Ok(&signature::RSA_PKCS1_2048_8192_SHA512),
        ("PS256", 2048..=8192) => Ok(&signature::RSA_PSS_2048_8192_SHA256),
        ("PS384", 2048..=8192) => Ok(&signature::RSA_PSS_2048_8192_SHA384),
        ("PS512", 2048..=8192) => Ok(&signature::RSA_PSS_2048_8192_SHA512),
        // cryptography verifies small keys too; aws-lc-rs keeps PKCS#1
        // SHA-256 and SHA-512 from 1024 bits for legacy use.
        ("RS256", 1024..2048) => Ok(&signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY),
        ("RS512", 1024..2048) => Ok(&signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY),
        (_, 1024..2048) => Err(format!(
            "{alg} with a {bits}-bit RSA key; this tool verifies {alg} from 2048 bits"
        )),
        _ => Err(format!(
            "a {bits}-bit RSA key; this tool verifies 1024 (RS256, RS512) or 2048 to 8192 bits"
        )),
    };
    Ok(Verifier::Rsa { n, e, bits, params })
}

/// `EllipticCurvePublicNumbers(x, y, curve).public_key()`: the point must lie
/// on the curve.
fn load_ec(key: &Jwk, curve: &str) -> Result<Verifier, KeyError> {
    let (algorithm, size): (&'static signature::EcdsaVerificationAlgorithm, usize) = match curve {
        "P-256" => (&signature::ECDSA_P256_SHA256_FIXED, 32),
        "P-384" => (&signature::ECDSA_P384_SHA384_FIXED, 48),
        "P-521" => (&signature::ECDSA_P521_SHA512_FIXED, 66),
        _ => (&signature::ECDSA_P256K1_SHA256_FIXED, 32),
    };
    let invalid = || KeyError::Material {
        exception: "ValueError: Invalid EC key. Point is not on the curve specified.".into(),
        why: format!("has a point (x, y) not on {curve}"),
    };
    let mut point = vec![0x04];
    for name in ["x", "y"] {
        let value = integer(key, name)?;
        if value.len() > size {
            return Err(invalid());
        }
        point.resize(point.len() + size - value.len(), 0);
        point.extend(value);
    }
    let key = ParsedPublicKey::new(algorithm, &point).map_err(|_| invalid())?;
    Ok(Verifier::Ec { key, size })
}

/// `OKPKey.load_public_key`: the curve's public key from the raw `x`.
fn load_okp(key: &Jwk) -> Result<Verifier, KeyError> {
    let crv = &key["crv"];
    let (name, size) = match crv.as_str() {
        Some(name @ ("Ed25519" | "X25519")) => (name, 32),
        Some(name @ "Ed448") => (name, 57),
        Some(name @ "X448") => (name, 56),
        _ => {
            let exception = match crv {
                Value::Array(_) | Value::Object(_) => {
                    format!("TypeError: unhashable type: '{}'", py::type_name(crv))
                }
                other => format!("KeyError: {}", py::repr(other)),
            };
            return Err(KeyError::Material {
                exception,
                why: format!(
                    "is an OKP key on curve {}, which authlib does not know",
                    py::shown(crv)
                ),
            });
        }
    };
    let x = member(key, "x", Charset::Utf8)?;
    if x.len() != size {
        // cryptography 49 names 32 bytes for X448 too.
        let said = if name == "X448" { 32 } else { size };
        return Err(KeyError::Material {
            exception: format!("ValueError: An {name} public key is {said} bytes long"),
            why: format!(
                "is an {name} key whose x is {} bytes, not a {size}-byte public key",
                x.len()
            ),
        });
    }
    Ok(match name {
        "Ed25519" => Verifier::Ed25519(x),
        "Ed448" => Verifier::Unproven("an Ed448 key".into()),
        _ => {
            return Err(KeyError::Material {
                exception: format!(
                    "AttributeError: 'cryptography.hazmat.bindings._rust.openssl.{}.{name}PublicKey' object has no attribute 'verify'",
                    name.to_lowercase()
                ),
                why: format!("is an {name} key, which is for key agreement, not signatures"),
            });
        }
    })
}

/// The members authlib decodes only leniently (padding, the standard base64
/// alphabet or stray characters), which stricter libraries refuse.
pub fn loose_members(key: &Jwk) -> Vec<&'static str> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    ["n", "e", "x", "y", "k"]
        .into_iter()
        .filter(|name| {
            key.get(*name).and_then(Value::as_str).is_some_and(|text| {
                let lenient = py::b64decode(text.as_bytes());
                lenient.is_ok() && URL_SAFE_NO_PAD.decode(text).ok() != lenient.ok()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(v: Value) -> Jwk {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn find_by_kid_compares_as_python_does() {
        let keys = [
            object(json!({"kid": "a", "n": 1})),
            object(json!({"n": 2})),
            object(json!({"kid": "a", "n": 3})),
            object(json!({"kid": 5, "n": 4})),
        ];
        let keys: Vec<&Jwk> = keys.iter().collect();
        let n = |kid: Value| find_by_kid(&keys, &kid).map(|k| k["n"].clone());
        assert_eq!(n(json!("a")), Some(json!(1)));
        assert_eq!(n(Value::Null), Some(json!(2)));
        assert_eq!(n(json!("b")), None);
        assert_eq!(n(json!(5.0)), Some(json!(4)));
        assert_eq!(n(json!("5")), None);
        // The only key of a one-key set, whatever its kid, for a token without one.
        assert_eq!(find_by_kid(&keys[..1], &Value::Null).unwrap()["n"], 1);
        assert!(find_by_kid(&[keys[0], keys[2]], &Value::Null).is_none());
    }

    #[test]
    fn key_ops_and_use_as_check_key_op_reads_them() {
        // Each verdict as authlib 1.6.12 gives it (the RomM double's venv).
        let rsa = |extra: Value| {
            let mut key = json!({"kty": "RSA", "e": "AQAB", "n": "AQAB"});
            key.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            check_key_op(&object(key)).map_err(|e| e.exception())
        };
        for ok in [
            json!({"key_ops": {"verify": 1}}),
            json!({"key_ops": "xverifyx"}),
            json!({"key_ops": null}),
            json!({"use": 0}),
            json!({"use": []}),
            json!({"use": {}}),
            json!({"use": ""}),
            json!({"use": "sig"}),
        ] {
            assert_eq!(rsa(ok.clone()), Ok(()), "{ok}");
        }
        let invalid_use = "InvalidUseError: invalid_use: Key 'use' is not valid for your usage";
        for (bad, exception) in [
            (
                json!({"key_ops": {"sign": 1}}),
                "ValueError: Unsupported key_op \"verify\"",
            ),
            (
                json!({"key_ops": 5}),
                "TypeError: argument of type 'int' is not iterable",
            ),
            (json!({"use": true}), invalid_use),
            (json!({"use": 1}), invalid_use),
            (json!({"use": ["sig"]}), invalid_use),
        ] {
            assert_eq!(rsa(bad.clone()), Err(exception.into()), "{bad}");
        }
    }

    #[test]
    fn rsa_numbers_are_checked_as_cryptography_and_openssl_check_them() {
        use base64::Engine;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let mut n2048 = vec![0xc5u8; 256];
        n2048[255] = 0x01;
        let load = |n: &[u8], e: &[u8]| {
            let key = object(json!({"kty": "RSA", "n": b64(n), "e": b64(e)}));
            prepare("RS256", &key)
        };
        // cryptography 49's messages, in its order (the RomM double's venv).
        for (n, e, exception) in [
            (&[2u8][..], &[3u8][..], "ValueError: n must be >= 3."),
            (
                &n2048[..],
                &[1u8][..],
                "ValueError: e must be >= 3 and < n.",
            ),
            (
                &n2048[..],
                &n2048[..],
                "ValueError: e must be >= 3 and < n.",
            ),
            (&n2048[..], &[4u8][..], "ValueError: e must be odd."),
        ] {
            assert_eq!(
                load(n, e).err().map(|e| e.exception()).as_deref(),
                Some(exception)
            );
        }
        // OpenSSL refuses these when verifying: authlib's BadSignatureError.
        let mut even = n2048.clone();
        even[255] = 0x02;
        let mut huge = vec![0xc5u8; 2049];
        huge[2048] = 0x01;
        let mut n4096 = vec![0xc5u8; 512];
        n4096[511] = 0x01;
        let e65 = [&[1u8][..], &[0u8; 7], &[1u8]].concat();
        for (n, e) in [
            (&even[..], &[1u8, 0, 1][..]),
            (&huge, &[1, 0, 1]),
            (&n4096, &e65),
        ] {
            assert!(
                matches!(load(n, e), Err(KeyError::NeverVerifies { .. })),
                "{} bits",
                bit_length(n)
            );
        }
        // OpenSSL takes a 65-bit e with 3072 bits or fewer; aws-lc-rs does not.
        let unproven = load(&n2048, &e65).unwrap().verify(b"m", &[0; 256]).unwrap();
        assert!(
            matches!(&unproven, Outcome::Unproven(why) if why.contains("65 bits")),
            "{unproven:?}"
        );
        assert!(load(&n2048, &[1, 0, 1]).is_ok());
    }

    #[test]
    fn members_decode_as_authlib_encodes_them_first() {
        let key = |x: Value| object(json!({"kty": "OKP", "crv": "Ed25519", "x": x}));
        // UTF-8 for OKP: a stray é is skipped like any other byte.
        let x = format!("{}\u{e9}", "A".repeat(43));
        assert!(prepare("EdDSA", &key(json!(x))).is_ok());
        // ASCII for RSA and EC (base64_to_int).
        let rsa = object(json!({"kty": "RSA", "e": "AQAB", "n": "AQ\u{e9}AB"}));
        let exception = prepare("RS256", &rsa).err().unwrap().exception();
        assert!(
            exception.starts_with(
                "UnicodeEncodeError: 'ascii' codec can't encode character '\\xe9' in position 2"
            ),
            "{exception}"
        );
        // A number is read as its digits: "12345" is one character too many.
        let rsa = object(json!({"kty": "RSA", "e": "AQAB", "n": 12345}));
        let error = prepare("RS256", &rsa).err().unwrap();
        assert!(
            error.exception().contains("number of data characters (5)"),
            "{error:?}"
        );
        assert!(error.to_string().contains("12345"), "{error}");
        let rsa = object(json!({"kty": "RSA", "e": "AQAB", "n": null}));
        assert_eq!(
            prepare("RS256", &rsa).err().unwrap().exception(),
            "TypeError: object of type 'NoneType' has no len()"
        );
    }

    #[test]
    fn okp_keys_load_by_curve() {
        use base64::Engine;
        let b64 = |n: usize| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(vec![7u8; n]);
        let load = |crv: Value, x: usize| {
            let key = object(json!({"kty": "OKP", "crv": crv, "x": b64(x)}));
            prepare("EdDSA", &key).map(|p| p.verify(b"m", &[0; 64]).unwrap())
        };
        let exception = |r: Result<Outcome, KeyError>| r.err().map(|e| e.exception());
        assert!(matches!(load(json!("Ed448"), 57), Ok(Outcome::Unproven(_))));
        assert_eq!(
            exception(load(json!("Ed448"), 56)).as_deref(),
            Some("ValueError: An Ed448 public key is 57 bytes long")
        );
        assert_eq!(
            exception(load(json!("Ed25519"), 31)).as_deref(),
            Some("ValueError: An Ed25519 public key is 32 bytes long")
        );
        assert_eq!(
            exception(load(json!("X448"), 57)).as_deref(),
            Some("ValueError: An X448 public key is 32 bytes long")
        );
        assert!(
            exception(load(json!("X448"), 56))
                .unwrap()
                .ends_with("x448.X448PublicKey' object has no attribute 'verify'")
        );
        assert_eq!(
            exception(load(json!("P-256"), 32)).as_deref(),
            Some("KeyError: 'P-256'")
        );
        assert_eq!(
            exception(load(json!(["Ed25519"]), 32)).as_deref(),
            Some("TypeError: unhashable type: 'list'")
        );
        assert!(matches!(
            load(json!("Ed25519"), 32),
            Ok(Outcome::BadSignature(_))
        ));
    }

    #[test]
    fn import_needs_kty_and_its_members_only() {
        let import = |set: Value| {
            import_key_set(&set)
                .map(|keys| keys.len())
                .map_err(|e| e.exception().to_string())
        };
        assert_eq!(
            import(json!([{"kty": "EC", "crv": "P-999", "x": 1, "y": 2}])),
            Ok(1)
        );
        assert_eq!(import(json!({"keys": ""})), Ok(0));
        assert_eq!(import(json!({"keys": {}})), Ok(0));
        assert_eq!(
            import(json!({"keys": [{"kty": 5}]})),
            Err("KeyError: 5".into())
        );
        assert_eq!(
            import(json!({"keys": [{"kty": ["RSA"]}]})),
            Err("TypeError: unhashable type: 'list'".into())
        );
        assert_eq!(
            import(
                json!({"keys": [{"kty": "RSA", "e": "AQAB", "n": "AQAB", "d": "AQAB", "p": "AQAB"}]})
            ),
            Err(
                "ValueError: RSA key must include all parameters if any are present besides d"
                    .into()
            )
        );
        assert_eq!(import(json!({"keys": "abc"})), Err(PEM_ERROR.into()));
        assert_eq!(import(json!({"keys": [{}]})), Err(PEM_ERROR.into()));
        assert_eq!(
            import(json!({"keys": true})),
            Err("TypeError: 'bool' object is not iterable".into())
        );
        assert_eq!(
            import(json!("keys")),
            Err("ValueError: Invalid key set format".into())
        );
    }

    #[test]
    fn loose_members_are_named() {
        let key = object(json!({"kty": "RSA", "e": "AQAB==", "n": "AQ+/", "x": "AQ_-", "y": "Z"}));
        assert_eq!(loose_members(&key), ["n", "e"]);
    }
}
