//! ID-token verification exactly as RomM's authlib 1.6.12 performs it.
//!
//! RomM calls `authorize_access_token(request)` with no options
//! (`backend/endpoints/auth.py`), so authlib's `parse_id_token`
//! (`integrations/base_client/async_openid.py`) runs with its defaults: the
//! key set is imported whole (`JsonWebKey.import_key_set`), the token decoded
//! with `JsonWebToken(id_token_signing_alg_values_supported or ["RS256"])`,
//! both once more with a freshly fetched key set when that raises a
//! `ValueError`, and then `CodeIDToken.validate(leeway=120)` (or
//! `ImplicitIDToken` when the token response has no `access_token`) with
//! only the `iss` option: `aud` is never compared with the client id, `azp`
//! decides instead. Python's own leniency is reproduced where a provider can
//! meet it (base64 that skips stray characters, `True` counting as a number,
//! truthiness).
//!
//! Every refusal is a [`Rejection`] that names the exception RomM logs; what
//! authlib accepts but deserves a look is a [`Caution`].

use std::fmt;

use serde_json::{Map, Value};

use super::jwk::{self, KeyError, Outcome, SetError};
use super::py;

/// The leeway RomM's call gets for `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY: u64 = 120;
/// authlib refuses a longer compact serialization (`JsonWebSignature.MAX_CONTENT_LENGTH`).
const MAX_LENGTH: usize = 256_000;
/// A clock difference worth a warning although authlib still accepts it.
const SKEW_WARNING: f64 = 60.0;
/// The JWS header names authlib knows (`REGISTERED_HEADER_PARAMETER_NAMES`);
/// RomM adds no private ones, so `crit` may list only these.
const REGISTERED_HEADERS: &[&str] = &[
    "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit",
];
/// The JWS algorithms authlib registers (`rfc7518/jws_algs.py`, `rfc8037`).
pub const REGISTERED_ALGS: &[&str] = &[
    "none", "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512",
    "ES256K", "PS256", "PS384", "PS512", "EdDSA",
];
/// Why RomM refuses the token, one variant per authlib rule.
#[derive(Clone, Debug, PartialEq)]
pub enum Rejection {
    /// `fetch_jwk_set`: no `jwks_uri`, an HTTP error, or a body that is not JSON.
    KeySetUnavailable {
        exception: String,
        why: String,
    },
    /// `import_key_set`: not `{"keys": [...]}` (nor a bare list), or one key
    /// cannot be imported, which breaks every login.
    KeySet(SetError),
    /// `JsonWebToken.decode`: not 3 (JWS) or 5 (JWE) parts.
    Segments {
        parts: usize,
    },
    /// `deserialize_compact`: more than 256 000 bytes.
    TooLong {
        bytes: usize,
    },
    /// A JWE: RomM has no private key to decrypt it.
    Encrypted {
        alg: String,
    },
    /// A part ("header", "payload", "signature") that does not decode.
    Malformed {
        part: &'static str,
        defect: Defect,
    },
    /// `_validate_crit_headers`.
    Crit {
        name: String,
    },
    /// `_prepare_algorithm_key`: no `alg`.
    AlgMissing,
    /// `_prepare_algorithm_key`: an algorithm not registered or not allowed.
    AlgNotAllowed {
        alg: String,
        allowed: Vec<String>,
    },
    /// `_prepare_algorithm_key`: an `alg` that is a list or an object.
    AlgUnhashable {
        found: String,
        kind: &'static str,
    },
    /// `KeySet.find_by_kid`, also after the re-fetch.
    KeyNotFound {
        kid: Option<String>,
        keys: usize,
    },
    /// The selected key does not fit the algorithm, does not allow
    /// verifying, or does not load (`prepare_key`, `check_key_op`, loading).
    Key(KeyError),
    /// The signature does not verify.
    BadSignature {
        why: String,
    },
    /// `IDToken.validate`: an essential claim is absent.
    MissingClaim(&'static str),
    Issuer {
        expected: String,
        found: String,
    },
    /// `exp`, `nbf` or `iat` that is not a number.
    NotNumeric {
        claim: &'static str,
        found: String,
    },
    Expired {
        exp: f64,
        now: u64,
    },
    NotYetValid {
        nbf: f64,
        now: u64,
    },
    IssuedInFuture {
        iat: f64,
        now: u64,
    },
    AuthTime {
        found: String,
    },
    NonceMissing,
    Nonce {
        found: String,
    },
    Amr {
        found: String,
    },
    AzpMissing {
        aud: String,
        client_id: String,
    },
    Azp {
        found: String,
        client_id: String,
    },
    AtHash {
        alg: String,
    },
    /// `bytes()` of a non-string `at_hash` raised.
    AtHashType {
        exception: String,
    },
    /// The `at_hash` is the SHA-256 one for an EdDSA token (fosite's).
    EdDsaAtHash,
}

/// How a part of the token fails to decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Defect {
    Base64,
    Json,
    NotObject,
}

impl Rejection {
    /// The exception RomM's callback logs (class and message, as Python
    /// prints them, without the module path and trailing space).
    pub fn exception(&self) -> String {
        let claim =
            |name: &str| format!("InvalidClaimError: invalid_claim: Invalid claim '{name}'");
        let missing =
            |name: &str| format!("MissingClaimError: missing_claim: Missing '{name}' claim");
        match self {
            Rejection::KeySetUnavailable { exception, .. }
            | Rejection::AtHashType { exception } => exception.clone(),
            Rejection::KeySet(error) => error.exception().into(),
            Rejection::Key(error) => error.exception(),
            Rejection::Segments { .. } => "DecodeError: Invalid input segments length:".into(),
            Rejection::TooLong { .. } => "ValueError: Serialization is too long.".into(),
            Rejection::Encrypted { .. } | Rejection::AlgNotAllowed { .. } => {
                "UnsupportedAlgorithmError: unsupported_algorithm:".into()
            }
            Rejection::Malformed { part, defect } => match (defect, *part == "header") {
                (Defect::Base64, _) => format!("DecodeError: Invalid {part} padding:"),
                (Defect::Json, true) => "DecodeError: Invalid header string: …".into(),
                (Defect::Json, false) => "DecodeError: Invalid payload value:".into(),
                (Defect::NotObject, true) => "DecodeError: Header must be a json object:".into(),
                (Defect::NotObject, false) => "DecodeError: Invalid payload type:".into(),
            },
            Rejection::Crit { name } if name == "crit" => {
                "InvalidHeaderParameterNameError: invalid_header_parameter_name: Invalid Header Parameter Name: crit".into()
            }
            Rejection::Crit { name } => format!(
                "InvalidCritHeaderParameterNameError: invalid_crit_header_parameter_name: Invalid Header Parameter Name: {name}"
            ),
            Rejection::AlgMissing => "MissingAlgorithmError: missing_algorithm:".into(),
            Rejection::AlgUnhashable { kind, .. } => format!("TypeError: unhashable type: '{kind}'"),
            Rejection::KeyNotFound { .. } => "ValueError: Key not found".into(),
            Rejection::BadSignature { .. } => "BadSignatureError: bad_signature:".into(),
            Rejection::MissingClaim(name) => missing(name),
            Rejection::NonceMissing => missing("nonce"),
            Rejection::AzpMissing { .. } => missing("azp"),
            Rejection::Issuer { .. } => claim("iss"),
            Rejection::NotNumeric { claim: name, .. } => claim(name),
            Rejection::AuthTime { .. } => claim("auth_time"),
            Rejection::Nonce { .. } => claim("nonce"),
            Rejection::Amr { .. } => claim("amr"),
            Rejection::Azp { .. } => claim("azp"),
            Rejection::AtHash { .. } | Rejection::EdDsaAtHash => claim("at_hash"),
            Rejection::Expired { .. } => "ExpiredTokenError: expired_token: The token is expired".into(),
            Rejection::NotYetValid { .. } => {
                "InvalidTokenError: invalid_token: The token is not valid yet".into()
            }
            Rejection::IssuedInFuture { .. } => "InvalidTokenError: invalid_token: The token is not valid as it was issued in the future".into(),
        }
    }

    /// A `ValueError` (or a subclass such as `binascii.Error`): authlib fetches the
    /// key set again and decodes once more.
    fn refetches(&self) -> bool {
        py::is_value_error(&self.exception())
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::KeySetUnavailable { why, .. } => {
                write!(f, "RomM cannot read the provider's key set: {why}")
            }
            Rejection::KeySet(error) => write!(f, "{error}"),
            Rejection::Segments { parts } => write!(
                f,
                "the ID token has {parts} dot-separated parts; a signed token (JWS) has 3"
            ),
            Rejection::TooLong { bytes } => write!(
                f,
                "the ID token is {bytes} bytes long; authlib refuses anything over {MAX_LENGTH}"
            ),
            Rejection::Encrypted { alg } => write!(
                f,
                "the ID token is encrypted (a JWE, alg {alg}); RomM cannot decrypt ID tokens"
            ),
            Rejection::Malformed { part, defect } => match defect {
                Defect::Base64 => write!(f, "the ID token's {part} is not base64url"),
                Defect::Json => write!(f, "the ID token's {part} is not valid JSON in UTF-8"),
                Defect::NotObject => write!(f, "the ID token's {part} is JSON but not an object"),
            },
            Rejection::Crit { name } if name == "crit" => {
                f.write_str("the header's crit is not a list of names")
            }
            Rejection::Crit { name } => write!(
                f,
                "the header marks {name} as critical (crit), which authlib does not understand or which is absent"
            ),
            Rejection::AlgMissing => f.write_str("the ID token's header has no alg"),
            Rejection::AlgUnhashable { found, .. } => {
                write!(f, "the ID token's alg is {found}, not an algorithm name")
            }
            Rejection::AlgNotAllowed { alg, allowed } => alg_not_allowed(f, alg, allowed),
            Rejection::KeyNotFound { kid: Some(kid), keys } => write!(
                f,
                "the ID token names kid {kid}, which none of the {keys} key(s) at jwks_uri has, also after RomM fetches the key set again"
            ),
            Rejection::KeyNotFound { kid: None, keys } => write!(
                f,
                "the ID token names no kid and the key set holds {keys} keys, none of them without a kid; authlib takes the only key of a one-key set, or a key without kid"
            ),
            Rejection::Key(error) => write!(f, "the key the token selects {error}"),
            Rejection::BadSignature { why } => f.write_str(why),
            Rejection::MissingClaim(name) => write!(
                f,
                "the ID token has no {name} claim; authlib requires iss, sub, aud, exp and iat"
            ),
            Rejection::Issuer { expected, found } => write!(
                f,
                "iss is {found}, but discovery's issuer is {expected}; authlib compares them exactly"
            ),
            Rejection::NotNumeric { claim, found } => {
                write!(f, "{claim} is {found}, not a number")
            }
            Rejection::Expired { exp, now } => write!(
                f,
                "the token expired {} s ago (exp {}, now {now}); authlib allows {LEEWAY} s of leeway",
                seconds(*now as f64 - exp),
                seconds(*exp)
            ),
            Rejection::NotYetValid { nbf, now } => write!(
                f,
                "the token is not valid for another {} s (nbf {}, now {now}; leeway {LEEWAY} s): the clocks disagree",
                seconds(nbf - *now as f64),
                seconds(*nbf)
            ),
            Rejection::IssuedInFuture { iat, now } => write!(
                f,
                "the token was issued {} s in the future (iat {}, now {now}; leeway {LEEWAY} s): the clocks disagree",
                seconds(iat - *now as f64),
                seconds(*iat)
            ),
            Rejection::AuthTime { found } => write!(f, "auth_time is {found}, not a number"),
            Rejection::NonceMissing => f.write_str(
                "the ID token has no nonce claim, but RomM sent a nonce and requires it back",
            ),
            Rejection::Nonce { found } => {
                write!(f, "nonce {found} is not the one sent with the login")
            }
            Rejection::Amr { found } => write!(f, "amr is {found}, not a list"),
            Rejection::AzpMissing { aud, client_id } => write!(
                f,
                "aud is {aud}, which is not just the client id {client_id}, and the token has no azp; authlib (which never compares aud with the client id) then requires azp"
            ),
            Rejection::Azp { found, client_id } => {
                write!(f, "azp is {found}, not the client id {client_id}")
            }
            Rejection::AtHash { alg } => write!(
                f,
                "at_hash does not match the access token (authlib hashes it with {} for {alg})",
                hash_name(alg).unwrap_or("no hash it knows")
            ),
            Rejection::AtHashType { .. } => f.write_str("at_hash is not a string"),
            Rejection::EdDsaAtHash => f.write_str(
                "the signature verifies, but at_hash was computed with SHA-256, while RomM's authlib (1.6.x) computes it with SHA-512 for EdDSA tokens",
            ),
        }
    }
}

/// Why authlib refuses `alg`, by the kind of algorithm it is.
fn alg_not_allowed(f: &mut fmt::Formatter<'_>, alg: &str, allowed: &[String]) -> fmt::Result {
    let allowed = allowed.join(", ");
    if alg == "none" {
        write!(
            f,
            "the ID token is unsigned (alg \"none\"); authlib accepts only the advertised algorithms ({allowed})"
        )
    } else if alg.starts_with("HS") {
        write!(
            f,
            "the ID token uses the symmetric algorithm {alg}, which the provider does not advertise ({allowed}); verifying it with a published key would be the algorithm-confusion attack"
        )
    } else if REGISTERED_ALGS.contains(&alg) {
        write!(
            f,
            "the ID token is signed with {alg}, but the provider advertises only {allowed} in id_token_signing_alg_values_supported (authlib allows just those; RS256 alone when the field is absent)"
        )
    } else {
        write!(
            f,
            "the ID token's alg {alg} is not a JWS algorithm authlib knows"
        )
    }
}

/// What authlib accepts but deserves a look.
#[derive(Clone, Debug, PartialEq)]
pub enum Caution {
    /// `aud` does not name the client; `azp` does.
    OtherAudience {
        aud: String,
    },
    /// `aud` is empty (null, "", []): authlib then requires nothing.
    NoAudience {
        aud: String,
    },
    /// `alg: none` accepted because the provider advertises it.
    Unsigned,
    /// HS* verified with a symmetric key the key set publishes.
    PublishedSecret {
        alg: String,
    },
    /// The signature could not be checked here (authlib would try).
    Unverified {
        why: String,
    },
    /// Verified with an RSA key under 2048 bits (cryptography accepts it).
    WeakKey {
        bits: usize,
    },
    /// The key's own `alg` differs from the token's; authlib ignores it.
    KeyAlg {
        key_alg: String,
        alg: String,
    },
    ExpiredWithinLeeway {
        ago: f64,
    },
    ClockAhead {
        claim: &'static str,
        ahead: f64,
    },
    /// `nonce_supported: false` makes authlib skip the nonce.
    NonceNotChecked,
    /// Discovery has no issuer, so authlib checks no `iss`.
    NoIssuerCheck,
    Subject {
        found: String,
    },
    /// `c_hash` does not match the code; the code flow never checks it.
    CHash,
    /// No `at_hash`: nothing ties the access token to the login.
    NoAtHash,
    /// The first key set failed, the re-fetched one worked.
    KeySetChanged {
        first: String,
    },
}

impl Caution {
    /// Whether it makes the finding a warning; the others are notes on a pass.
    /// A missing at_hash is a note: it is OPTIONAL for tokens from the token
    /// endpoint (OIDC Core §3.1.3.6), and providers that omit it (Pocket ID
    /// ≤ 2.9, oidc-provider) are not misconfigured.
    pub fn is_warning(&self) -> bool {
        !matches!(self, Caution::NoAtHash | Caution::KeySetChanged { .. })
    }
}

impl fmt::Display for Caution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Caution::OtherAudience { aud } => write!(
                f,
                "the token names another audience (aud {aud}) and this client only as azp; authlib never compares aud with the client id, so RomM accepts it"
            ),
            Caution::NoAudience { aud } => write!(
                f,
                "aud is empty ({aud}); authlib then requires no azp and accepts the token"
            ),
            Caution::Unsigned => f.write_str(
                "the token is unsigned (alg none) and RomM accepts it, because the provider lists none in id_token_signing_alg_values_supported: anyone who can answer RomM's token request can log in as anyone",
            ),
            Caution::PublishedSecret { alg } => write!(
                f,
                "the token's {alg} signature verifies with a symmetric (oct) key published at jwks_uri: the signing secret is public"
            ),
            Caution::Unverified { why } => write!(
                f,
                "this tool cannot check the signature ({why}); RomM would verify it, so the signature is unproven here"
            ),
            Caution::WeakKey { bits } => write!(
                f,
                "the token verifies with a {bits}-bit RSA key: RomM's cryptography accepts it, but a key under 2048 bits can be broken"
            ),
            Caution::KeyAlg { key_alg, alg } => write!(
                f,
                "the key declares alg {key_alg} but signs {alg} tokens; authlib ignores a key's alg, stricter clients refuse"
            ),
            Caution::ExpiredWithinLeeway { ago } => write!(
                f,
                "the token had already expired {} s ago when it arrived; RomM accepts it only thanks to its {LEEWAY} s leeway",
                seconds(*ago)
            ),
            Caution::ClockAhead { claim, ahead } => write!(
                f,
                "{claim} is {} s in the future: the provider's clock runs ahead; at more than {LEEWAY} s RomM refuses",
                seconds(*ahead)
            ),
            Caution::NonceNotChecked => f.write_str(
                "the token says nonce_supported: false, so authlib skips the nonce check (no replay protection)",
            ),
            Caution::NoIssuerCheck => f.write_str(
                "discovery publishes no issuer, so authlib checks no iss at all",
            ),
            Caution::Subject { found } => write!(
                f,
                "sub is {found}; authlib only requires the claim to be present (RomM does not use it)"
            ),
            Caution::CHash => f.write_str(
                "c_hash does not match the authorization code; authlib does not check c_hash in the code flow",
            ),
            Caution::NoAtHash => f.write_str(
                "no at_hash (optional for tokens from the token endpoint; authlib checks it only when present)",
            ),
            Caution::KeySetChanged { first } => write!(
                f,
                "the first key set failed ({first}); RomM fetches it again once, and the new one verified the token"
            ),
        }
    }
}

/// What the token must match: RomM's view of the login.
pub struct Expected<'a> {
    /// Discovery's `issuer` member as published (`None`: absent).
    pub issuer: Option<&'a Value>,
    pub client_id: &'a str,
    /// The nonce sent with the login.
    pub nonce: &'a str,
    /// The token response's `access_token` (`None`: absent, so authlib uses
    /// `ImplicitIDToken`, which requires `nonce` among the essential claims).
    pub access_token: Option<&'a str>,
    /// The authorization code (only for the `c_hash` caution).
    pub code: Option<&'a str>,
    /// The algorithms authlib allows (see `Discovery::signing_algs`).
    pub allowed_algs: &'a [String],
    pub now: u64,
}

/// The accepted token.
#[derive(Debug)]
pub struct Verified {
    pub alg: String,
    pub kid: Option<String>,
    pub claims: Map<String, Value>,
    /// The checks that applied, in authlib's order ("iss", "nonce", …).
    pub checked: Vec<&'static str>,
    pub cautions: Vec<Caution>,
}

/// Verifies `token` as RomM does. `fetch` returns the key set (`jwks` from
/// discovery first, then `jwks_uri`, as authlib's `fetch_jwk_set`); it is
/// called again when the first attempt raises a `ValueError`.
pub fn verify(
    token: &str,
    fetch: &mut dyn FnMut(bool) -> Result<Value, Rejection>,
    expected: &Expected<'_>,
) -> Result<Verified, Rejection> {
    let first = fetch(false)?;
    let mut cautions = Vec::new();
    let decoded = match decode(token, &first, expected) {
        Err(rejection) if rejection.refetches() => {
            let decoded = decode(token, &fetch(true)?, expected)?;
            cautions.push(Caution::KeySetChanged {
                first: rejection.exception(),
            });
            decoded
        }
        other => other?,
    };
    cautions.extend(decoded.cautions);
    let mut token = IdToken {
        claims: &decoded.claims,
        alg: &decoded.alg,
        expected,
        checked: Vec::new(),
        cautions,
    };
    token.validate()?;
    let IdToken {
        checked, cautions, ..
    } = token;
    Ok(Verified {
        alg: decoded.alg,
        kid: decoded.kid,
        claims: decoded.claims,
        checked,
        cautions,
    })
}

struct Decoded {
    alg: String,
    kid: Option<String>,
    claims: Map<String, Value>,
    cautions: Vec<Caution>,
}

/// `JsonWebKey.import_key_set`, then `JsonWebToken.decode`.
fn decode(token: &str, key_set: &Value, expected: &Expected<'_>) -> Result<Decoded, Rejection> {
    let keys = jwk::import_key_set(key_set).map_err(Rejection::KeySet)?;
    let bytes = token.as_bytes();
    let dots = bytes.iter().filter(|b| **b == b'.').count();
    if dots != 2 && dots != 4 {
        return Err(Rejection::Segments { parts: dots + 1 });
    }
    if bytes.len() > MAX_LENGTH {
        return Err(Rejection::TooLong { bytes: bytes.len() });
    }
    let parts: Vec<&[u8]> = bytes.split(|b| *b == b'.').collect();
    let header = json_part(parts[0], "header")?;
    if dots == 4 {
        return match header.get("alg") {
            None => Err(Rejection::AlgMissing),
            Some(alg) => Err(Rejection::Encrypted {
                alg: py::shown(alg),
            }),
        };
    }
    check_crit(&header)?;
    let claims = json_part(parts[1], "payload")?;
    let signature = py::b64decode(parts[2]).map_err(|_| Rejection::Malformed {
        part: "signature",
        defect: Defect::Base64,
    })?;
    let alg = match header.get("alg") {
        None => return Err(Rejection::AlgMissing),
        Some(Value::String(alg))
            if REGISTERED_ALGS.contains(&alg.as_str())
                && expected.allowed_algs.iter().any(|a| a == alg) =>
        {
            alg.clone()
        }
        Some(other @ (Value::Array(_) | Value::Object(_))) => {
            return Err(Rejection::AlgUnhashable {
                found: py::shown(other),
                kind: py::type_name(other),
            });
        }
        Some(other) => {
            return Err(Rejection::AlgNotAllowed {
                alg: other
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| py::shown(other)),
                allowed: expected.allowed_algs.to_vec(),
            });
        }
    };
    let kid_value = header.get("kid").unwrap_or(&Value::Null);
    let kid = (!kid_value.is_null()).then(|| {
        kid_value
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| py::shown(kid_value))
    });
    let key = jwk::find_by_kid(&keys, kid_value).ok_or(Rejection::KeyNotFound {
        kid: kid.clone(),
        keys: keys.len(),
    })?;
    let signing_input = &bytes[..parts[0].len() + 1 + parts[1].len()];
    let mut cautions = Vec::new();
    check_signature(&alg, key, signing_input, &signature, &mut cautions)?;
    Ok(Decoded {
        alg,
        kid,
        claims,
        cautions,
    })
}

/// A base64url JSON-object part of the token.
fn json_part(part: &[u8], name: &'static str) -> Result<Map<String, Value>, Rejection> {
    let bytes = py::b64decode(part).map_err(|_| Rejection::Malformed {
        part: name,
        defect: Defect::Base64,
    })?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Rejection::Malformed {
            part: name,
            defect: Defect::NotObject,
        }),
        Err(_) => Err(Rejection::Malformed {
            part: name,
            defect: Defect::Json,
        }),
    }
}

/// `crit` must be a list of names authlib knows, each present in the header.
fn check_crit(header: &Map<String, Value>) -> Result<(), Rejection> {
    let Some(crit) = header.get("crit") else {
        return Ok(());
    };
    let names: Option<Vec<&str>> = crit
        .as_array()
        .and_then(|list| list.iter().map(Value::as_str).collect());
    let names = names.ok_or(Rejection::Crit {
        name: "crit".into(),
    })?;
    match names
        .into_iter()
        .find(|n| !REGISTERED_HEADERS.contains(n) || !header.contains_key(*n))
    {
        Some(name) => Err(Rejection::Crit { name: name.into() }),
        None => Ok(()),
    }
}

/// The token's algorithm with the selected key (`oidc::jwk`): `prepare_key`,
/// `check_key_op`, loading, `verify`.
fn check_signature(
    alg: &str,
    key: &Map<String, Value>,
    message: &[u8],
    signature: &[u8],
    cautions: &mut Vec<Caution>,
) -> Result<(), Rejection> {
    if alg == "none" {
        // NoneAlgorithm: no key is prepared or checked, only the empty signature.
        if !signature.is_empty() {
            return Err(Rejection::BadSignature {
                why: "the token says alg none but carries a signature".into(),
            });
        }
        cautions.push(Caution::Unsigned);
        return Ok(());
    }
    let prepared = jwk::prepare(alg, key).map_err(Rejection::Key)?;
    if let Some(Value::String(key_alg)) = key.get("alg")
        && key_alg != alg
    {
        cautions.push(Caution::KeyAlg {
            key_alg: key_alg.clone(),
            alg: alg.into(),
        });
    }
    match prepared
        .verify(message, signature)
        .map_err(Rejection::Key)?
    {
        Outcome::Verified => {
            if alg.starts_with("HS") {
                cautions.push(Caution::PublishedSecret { alg: alg.into() });
            }
            if let Some(bits) = prepared.rsa_bits().filter(|b| *b < 2048) {
                cautions.push(Caution::WeakKey { bits });
            }
            Ok(())
        }
        Outcome::Unproven(why) => {
            cautions.push(Caution::Unverified { why });
            Ok(())
        }
        Outcome::BadSignature(why) => Err(Rejection::BadSignature { why }),
    }
}

/// authlib's `CodeIDToken` (or `ImplicitIDToken`) with RomM's options: the
/// decoded claims, what they must match, and what validating them found.
struct IdToken<'t> {
    claims: &'t Map<String, Value>,
    alg: &'t str,
    expected: &'t Expected<'t>,
    /// The checks that applied, in authlib's order.
    checked: Vec<&'static str>,
    cautions: Vec<Caution>,
}

impl IdToken<'_> {
    /// `IDToken.validate(leeway=120)`: its `validate_*` steps in its order.
    /// (`validate_aud` and `validate_acr` check nothing without options,
    /// and RomM passes none.)
    fn validate(&mut self) -> Result<(), Rejection> {
        self.validate_essential()?;
        self.validate_iss()?;
        self.validate_sub();
        self.validate_exp()?;
        self.validate_not_ahead("nbf", |nbf, now| Rejection::NotYetValid { nbf, now })?;
        self.validate_not_ahead("iat", |iat, now| Rejection::IssuedInFuture { iat, now })?;
        self.checked.push("exp/iat");
        self.validate_auth_time()?;
        self.validate_nonce()?;
        self.validate_amr()?;
        self.validate_azp()?;
        self.validate_at_hash()?;
        self.check_c_hash();
        Ok(())
    }

    /// `ESSENTIAL_CLAIMS`, with `nonce` among them for `ImplicitIDToken`
    /// (no access token in the response).
    fn validate_essential(&self) -> Result<(), Rejection> {
        let essential: &[&'static str] = if self.expected.access_token.is_none() {
            &["iss", "sub", "aud", "exp", "iat", "nonce"]
        } else {
            &["iss", "sub", "aud", "exp", "iat"]
        };
        match essential.iter().find(|c| !self.claims.contains_key(**c)) {
            Some(&"nonce") => Err(Rejection::NonceMissing),
            Some(name) => Err(Rejection::MissingClaim(name)),
            None => Ok(()),
        }
    }

    /// `claims_options = {"iss": {"values": [metadata["issuer"]]}}`.
    fn validate_iss(&mut self) -> Result<(), Rejection> {
        let found = &self.claims["iss"];
        match self.expected.issuer {
            Some(issuer) if !py::eq(found, issuer) => Err(Rejection::Issuer {
                expected: py::shown(issuer),
                found: py::shown(found),
            }),
            Some(_) => {
                self.checked.push("iss");
                Ok(())
            }
            None => {
                self.cautions.push(Caution::NoIssuerCheck);
                Ok(())
            }
        }
    }

    /// authlib only requires `sub` to be present; an empty one is worth a look.
    fn validate_sub(&mut self) {
        let sub = &self.claims["sub"];
        if sub.as_str().is_none_or(str::is_empty) {
            self.cautions.push(Caution::Subject {
                found: py::shown(sub),
            });
        }
    }

    /// A time claim, when present, must be a number (`True` counts).
    fn numeric(&self, name: &'static str) -> Result<Option<f64>, Rejection> {
        match self.claims.get(name) {
            None => Ok(None),
            Some(v) => py::number(v).map(Some).ok_or(Rejection::NotNumeric {
                claim: name,
                found: py::shown(v),
            }),
        }
    }

    fn validate_exp(&mut self) -> Result<(), Rejection> {
        let now = self.expected.now as f64;
        if let Some(exp) = self.numeric("exp")? {
            if exp < now - LEEWAY as f64 {
                return Err(Rejection::Expired {
                    exp,
                    now: self.expected.now,
                });
            }
            if exp < now {
                self.cautions
                    .push(Caution::ExpiredWithinLeeway { ago: now - exp });
            }
        }
        Ok(())
    }

    /// `validate_nbf` and `validate_iat`: a time more than the leeway ahead
    /// is refused; one less far ahead, but more than a minute, is a clock
    /// worth a look.
    fn validate_not_ahead(
        &mut self,
        claim: &'static str,
        refuse: fn(f64, u64) -> Rejection,
    ) -> Result<(), Rejection> {
        let now = self.expected.now as f64;
        if let Some(at) = self.numeric(claim)? {
            if at > now + LEEWAY as f64 {
                return Err(refuse(at, self.expected.now));
            }
            if at > now + SKEW_WARNING {
                self.cautions.push(Caution::ClockAhead {
                    claim,
                    ahead: at - now,
                });
            }
        }
        Ok(())
    }

    /// A truthy `auth_time` must be a number.
    fn validate_auth_time(&self) -> Result<(), Rejection> {
        match self.claims.get("auth_time") {
            Some(auth_time) if py::truthy(auth_time) && py::number(auth_time).is_none() => {
                Err(Rejection::AuthTime {
                    found: py::shown(auth_time),
                })
            }
            _ => Ok(()),
        }
    }

    /// The nonce RomM sent must come back, unless the token says
    /// `nonce_supported: false` (which makes `parse_id_token` drop the
    /// nonce parameter).
    fn validate_nonce(&mut self) -> Result<(), Rejection> {
        if self.claims.get("nonce_supported") == Some(&Value::Bool(false)) {
            self.cautions.push(Caution::NonceNotChecked);
            return Ok(());
        }
        match self.claims.get("nonce") {
            None => Err(Rejection::NonceMissing),
            Some(Value::String(n)) if n == self.expected.nonce => {
                self.checked.push("nonce");
                Ok(())
            }
            Some(other) => Err(Rejection::Nonce {
                found: py::shown(other),
            }),
        }
    }

    /// A truthy `amr` must be a list.
    fn validate_amr(&self) -> Result<(), Rejection> {
        match self.claims.get("amr") {
            Some(amr) if py::truthy(amr) && !amr.is_array() => Err(Rejection::Amr {
                found: py::shown(amr),
            }),
            _ => Ok(()),
        }
    }

    /// `aud` (a one-element list unwrapped) other than the client id
    /// requires `azp`; an `azp` present must be the client id.
    fn validate_azp(&mut self) -> Result<(), Rejection> {
        let client_id = self.expected.client_id;
        let aud = &self.claims["aud"];
        let single = match aud {
            Value::Array(list) if list.len() == 1 => &list[0],
            other => other,
        };
        let required = py::truthy(aud) && single.as_str() != Some(client_id);
        let azp = self.claims.get("azp").filter(|a| py::truthy(a));
        match azp {
            None if required => {
                return Err(Rejection::AzpMissing {
                    aud: py::shown(aud),
                    client_id: client_id.into(),
                });
            }
            Some(azp) if azp.as_str() != Some(client_id) => {
                return Err(Rejection::Azp {
                    found: py::shown(azp),
                    client_id: client_id.into(),
                });
            }
            Some(_) => self.checked.push("azp"),
            None => {}
        }
        let names_client = match aud {
            Value::Array(list) => list.iter().any(|a| a.as_str() == Some(client_id)),
            other => other.as_str() == Some(client_id),
        };
        if !py::truthy(aud) {
            self.cautions.push(Caution::NoAudience {
                aud: py::shown(aud),
            });
        } else if !names_client {
            self.cautions.push(Caution::OtherAudience {
                aud: py::shown(aud),
            });
        }
        Ok(())
    }

    /// A truthy `at_hash` must be the half hash of a non-empty access token
    /// (`hmac.compare_digest(half_hash, to_bytes(at_hash))`).
    fn validate_at_hash(&mut self) -> Result<(), Rejection> {
        let alg = self.alg;
        let access_token = self.expected.access_token.filter(|t| !t.is_empty());
        let at_hash = self.claims.get("at_hash").filter(|h| py::truthy(h));
        match (at_hash, access_token) {
            (Some(found), Some(token)) => {
                let found =
                    py::to_bytes(found).map_err(|exception| Rejection::AtHashType { exception })?;
                let matches = |a: &str| half_hash(a, token).is_some_and(|h| h.as_bytes() == found);
                if !matches(alg) {
                    return Err(if alg == "EdDSA" && matches("RS256") {
                        Rejection::EdDsaAtHash
                    } else {
                        Rejection::AtHash { alg: alg.into() }
                    });
                }
                self.checked.push("at_hash");
            }
            (None, Some(_)) => self.cautions.push(Caution::NoAtHash),
            _ => {}
        }
        Ok(())
    }

    /// `c_hash`: the code flow never checks it, so a mismatch is a caution.
    fn check_c_hash(&mut self) {
        if let (Some(Value::String(c_hash)), Some(code)) =
            (self.claims.get("c_hash"), self.expected.code)
            && Some(c_hash.as_str()) != half_hash(self.alg, code).as_deref()
        {
            self.cautions.push(Caution::CHash);
        }
    }
}

/// The hash authlib's `create_half_hash` uses for `alg`.
fn hash_name(alg: &str) -> Option<&'static str> {
    match alg.get(2..) {
        _ if alg == "EdDSA" => Some("SHA-512"),
        Some("256") => Some("SHA-256"),
        Some("384") => Some("SHA-384"),
        Some("512") => Some("SHA-512"),
        _ => None,
    }
}

/// `create_half_hash`: the left half of the hash of the text, base64url;
/// SHA-512 for EdDSA (authlib 1.6.2+), `sha{alg[2:]}` otherwise, and none for
/// an algorithm without such a hash (so such a token's at_hash never matches).
pub fn half_hash(alg: &str, text: &str) -> Option<String> {
    use aws_lc_rs::digest;
    use base64::Engine;
    let algorithm = match hash_name(alg)? {
        "SHA-256" => &digest::SHA256,
        "SHA-384" => &digest::SHA384,
        _ => &digest::SHA512,
    };
    let hash = digest::digest(algorithm, text.as_bytes());
    let bytes = hash.as_ref();
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2]))
}

fn seconds(s: f64) -> String {
    if s.fract() == 0.0 && s.abs() < 1e15 {
        format!("{}", s as i64)
    } else {
        format!("{s:.1}")
    }
}

#[cfg(test)]
mod tests {
    //! One test per rule of README's "How the doctor judges a token" table,
    //! each both ways. Tokens are signed here with keys generated here.

    use super::*;
    use aws_lc_rs::hmac;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::{
        self, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair, RsaKeyPair,
    };
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use serde_json::json;
    use std::cell::Cell;
    use std::sync::{Arc, OnceLock};

    const CLIENT: &str = "romm";
    const ISSUER: &str = "https://id.example.com";
    const NONCE: &str = "nonce-sent-with-the-login";
    const ACCESS: &str = "the-access-token";
    const CODE: &str = "the-code";
    const NOW: u64 = 1_800_000_000;

    enum Material {
        Rsa(RsaKeyPair),
        Ec(EcdsaKeyPair),
        Ed(Ed25519KeyPair),
    }

    /// A generated key and its public JWK.
    #[derive(Clone)]
    struct TestKey {
        material: Arc<Material>,
        jwk: Value,
    }

    fn generated(which: &str) -> TestKey {
        let ec = |alg: &'static EcdsaSigningAlgorithm, crv: &str| {
            let kp = EcdsaKeyPair::generate(alg).unwrap();
            let point = kp.public_key().as_ref().to_vec();
            let half = (point.len() - 1) / 2;
            let jwk = json!({"kty": "EC", "crv": crv, "x": B64.encode(&point[1..1 + half]), "y": B64.encode(&point[1 + half..])});
            (Material::Ec(kp), jwk)
        };
        let (material, mut jwk) = match which {
            "RSA" => {
                let kp = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
                let public = kp.public_key();
                let jwk = json!({
                    "kty": "RSA",
                    "n": B64.encode(public.modulus().big_endian_without_leading_zero()),
                    "e": B64.encode(public.exponent().big_endian_without_leading_zero()),
                });
                (Material::Rsa(kp), jwk)
            }
            "P-256" => ec(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, "P-256"),
            "P-384" => ec(&signature::ECDSA_P384_SHA384_FIXED_SIGNING, "P-384"),
            "P-521" => ec(&signature::ECDSA_P521_SHA512_FIXED_SIGNING, "P-521"),
            "secp256k1" => ec(&signature::ECDSA_P256K1_SHA256_FIXED_SIGNING, "secp256k1"),
            _ => {
                let kp = Ed25519KeyPair::generate().unwrap();
                let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": B64.encode(kp.public_key().as_ref())});
                (Material::Ed(kp), jwk)
            }
        };
        jwk["kid"] = json!(format!("kid-{which}"));
        TestKey {
            material: Arc::new(material),
            jwk,
        }
    }

    /// The key for `alg`, generated once per test binary.
    fn key_for(alg: &str) -> TestKey {
        static KEYS: OnceLock<Vec<(&'static str, TestKey)>> = OnceLock::new();
        let which = match alg {
            "ES256" => "P-256",
            "ES384" => "P-384",
            "ES512" => "P-521",
            "ES256K" => "secp256k1",
            "EdDSA" => "Ed25519",
            _ => "RSA",
        };
        KEYS.get_or_init(|| {
            ["RSA", "P-256", "P-384", "P-521", "secp256k1", "Ed25519"]
                .into_iter()
                .map(|w| (w, generated(w)))
                .collect()
        })
        .iter()
        .find(|(w, _)| *w == which)
        .map(|(_, k)| k.clone())
        .unwrap()
    }

    fn sign_bytes(key: &TestKey, alg: &str, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &*key.material {
            Material::Rsa(kp) => {
                let encoding: &'static dyn signature::RsaEncoding = match alg {
                    "RS384" => &signature::RSA_PKCS1_SHA384,
                    "RS512" => &signature::RSA_PKCS1_SHA512,
                    "PS256" => &signature::RSA_PSS_SHA256,
                    "PS384" => &signature::RSA_PSS_SHA384,
                    "PS512" => &signature::RSA_PSS_SHA512,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0; kp.public_modulus_len()];
                kp.sign(encoding, &rng, message, &mut sig).unwrap();
                sig
            }
            Material::Ec(kp) => kp.sign(&rng, message).unwrap().as_ref().to_vec(),
            Material::Ed(kp) => kp.sign(message).as_ref().to_vec(),
        }
    }

    /// A compact JWS over exactly these header and claims.
    fn jws(key: &TestKey, header: &Value, claims: &Value) -> String {
        let alg = header["alg"].as_str().unwrap_or("RS256");
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let sig = sign_bytes(key, alg, input.as_bytes());
        format!("{input}.{}", B64.encode(sig))
    }

    /// Claims a good provider sends for `alg`.
    /// (No at_hash for an algorithm without a hash, such as ES256K.)
    fn good_claims(alg: &str) -> Value {
        let mut claims = json!({
            "iss": ISSUER, "sub": "user-1", "aud": [CLIENT],
            "exp": NOW + 3600, "iat": NOW, "auth_time": NOW - 5,
            "nonce": NONCE, "amr": ["pwd"], "email": "a@example.com",
        });
        if let Some(hash) = half_hash(alg, ACCESS) {
            claims["at_hash"] = json!(hash);
        }
        claims
    }

    /// A good token for `alg` with `change` applied to its claims.
    fn token(alg: &str, change: impl FnOnce(&mut Map<String, Value>)) -> String {
        let key = key_for(alg);
        let mut claims = good_claims(alg);
        change(claims.as_object_mut().unwrap());
        jws(
            &key,
            &json!({"alg": alg, "kid": key.jwk["kid"], "typ": "JWT"}),
            &claims,
        )
    }

    /// A good RS256 token with one claim set.
    fn set(claim: &str, value: Value) -> String {
        token("RS256", |c| {
            c.insert(claim.into(), value);
        })
    }

    /// A good RS256 token without one claim.
    fn without(claim: &str) -> String {
        token("RS256", |c| {
            c.remove(claim);
        })
    }

    fn all_algs() -> Vec<String> {
        REGISTERED_ALGS
            .iter()
            .filter(|a| **a != "none" && !a.starts_with("HS"))
            .map(|a| a.to_string())
            .collect()
    }

    /// The whole key set of every test key.
    fn jwks() -> Value {
        let keys: Vec<Value> = ["RS256", "ES256", "ES384", "ES512", "ES256K", "EdDSA"]
            .iter()
            .map(|a| key_for(a).jwk)
            .collect();
        json!({ "keys": keys })
    }

    struct Case {
        sets: Vec<Value>,
        algs: Vec<String>,
        issuer: Option<Value>,
        access_token: Option<&'static str>,
        fetches: Cell<usize>,
    }

    impl Case {
        fn new() -> Case {
            Case {
                sets: vec![jwks()],
                algs: all_algs(),
                issuer: Some(json!(ISSUER)),
                access_token: Some(ACCESS),
                fetches: Cell::new(0),
            }
        }
        fn sets(mut self, sets: Vec<Value>) -> Case {
            self.sets = sets;
            self
        }
        fn algs(mut self, algs: &[&str]) -> Case {
            self.algs = algs.iter().map(|a| a.to_string()).collect();
            self
        }
        fn run(&self, token: &str) -> Result<Verified, Rejection> {
            let expected = Expected {
                issuer: self.issuer.as_ref(),
                client_id: CLIENT,
                nonce: NONCE,
                access_token: self.access_token,
                code: Some(CODE),
                allowed_algs: &self.algs,
                now: NOW,
            };
            let mut fetch = |_again: bool| {
                let n = self.fetches.get();
                self.fetches.set(n + 1);
                Ok(self.sets[n.min(self.sets.len() - 1)].clone())
            };
            verify(token, &mut fetch, &expected)
        }
    }

    fn run(token: &str) -> Result<Verified, Rejection> {
        Case::new().run(token)
    }

    #[track_caller]
    fn accepted(result: Result<Verified, Rejection>) -> Vec<Caution> {
        match result {
            Ok(v) => v.cautions,
            Err(r) => panic!("refused: {r} ({})", r.exception()),
        }
    }

    #[track_caller]
    fn clean(result: Result<Verified, Rejection>) {
        let cautions = accepted(result);
        assert!(cautions.is_empty(), "{cautions:?}");
    }

    #[track_caller]
    fn refused(result: Result<Verified, Rejection>, exception: &str) -> Rejection {
        match result {
            Ok(v) => panic!("accepted, expected {exception}: {v:?}"),
            Err(r) => {
                assert_eq!(r.exception(), exception, "{r}");
                assert!(!r.to_string().is_empty());
                r
            }
        }
    }

    fn with(key: &TestKey, change: impl FnOnce(&mut Map<String, Value>)) -> Value {
        let mut jwk = key.jwk.clone();
        change(jwk.as_object_mut().unwrap());
        jwk
    }

    // ------------------------------------------------------------ the key set

    #[test]
    fn key_set_unavailable_stops_before_the_token() {
        let expected = Expected {
            issuer: None,
            client_id: CLIENT,
            nonce: NONCE,
            access_token: Some(ACCESS),
            code: None,
            allowed_algs: &all_algs(),
            now: NOW,
        };
        let mut down = |_: bool| {
            Err(Rejection::KeySetUnavailable {
                exception: "RuntimeError: Missing \"jwks_uri\" in metadata".into(),
                why: "no jwks_uri".into(),
            })
        };
        refused(
            verify(&token("RS256", |_| {}), &mut down, &expected),
            "RuntimeError: Missing \"jwks_uri\" in metadata",
        );
        clean(run(&token("RS256", |_| {})));
    }

    #[test]
    fn key_set_must_be_a_keys_object_or_a_bare_list() {
        let t = token("RS256", |_| {});
        let case = Case::new().sets(vec![json!({"foo": 1})]);
        refused(case.run(&t), "ValueError: Invalid key set format");
        assert_eq!(
            case.fetches.get(),
            2,
            "a ValueError fetches the key set again"
        );
        refused(
            Case::new().sets(vec![json!({"keys": null})]).run(&t),
            "TypeError: 'NoneType' object is not iterable",
        );
        clean(
            Case::new()
                .sets(vec![json!([key_for("RS256").jwk])])
                .run(&t),
        );
    }

    #[test]
    fn every_key_must_import_even_ones_the_token_does_not_use() {
        let t = token("RS256", |_| {});
        let rsa = key_for("RS256").jwk;
        let set = |extra: Value| vec![json!({"keys": [rsa.clone(), extra]})];
        let r = refused(
            Case::new()
                .sets(set(json!({"kty": "AKP", "kid": "pq", "pub": "x"})))
                .run(&t),
            "KeyError: 'AKP'",
        );
        assert!(r.to_string().contains("key 1"), "{r}");
        refused(
            Case::new()
                .sets(set(json!({"kty": "RSA", "kid": "q", "e": "AQAB"})))
                .run(&t),
            "ValueError: Missing required field: \"n\"",
        );
        refused(
            Case::new()
                .sets(set(json!({"kid": "q", "e": "AQAB"})))
                .run(&t),
            "TypeError: 'str' object cannot be interpreted as an integer",
        );
        refused(
            Case::new().sets(set(json!("abc"))).run(&t),
            "ValueError: Unable to load PEM file. See https://cryptography.io/en/latest/faq/#why-can-t-i-import-my-pem-file for more details. MalformedFraming",
        );
        // Keys of other kinds, even unusable ones, are fine when importable.
        clean(
            Case::new()
                .sets(set(
                    json!({"kty": "OKP", "crv": "X25519", "x": "abc", "kid": "x"}),
                ))
                .run(&t),
        );
    }

    #[test]
    fn a_value_error_fetches_the_key_set_once_more() {
        let rotated = key_for("RS256");
        let old = json!({"keys": [key_for("ES256").jwk]});
        let t = token("RS256", |_| {});
        let case = Case::new().sets(vec![old.clone(), json!({"keys": [rotated.jwk]})]);
        let cautions = accepted(case.run(&t));
        assert_eq!(case.fetches.get(), 2);
        assert!(
            matches!(&cautions[..], [Caution::KeySetChanged { first }] if first == "ValueError: Key not found"),
            "{cautions:?}"
        );
        assert!(!cautions[0].is_warning());
        let case = Case::new().sets(vec![old]);
        refused(case.run(&t), "ValueError: Key not found");
        assert_eq!(case.fetches.get(), 2);
        // A bad signature is no ValueError: no second fetch.
        let other = generated("RSA");
        let forged = jws(
            &other,
            &json!({"alg": "RS256", "kid": rotated.jwk["kid"]}),
            &good_claims("RS256"),
        );
        let case = Case::new();
        refused(case.run(&forged), "BadSignatureError: bad_signature:");
        assert_eq!(case.fetches.get(), 1);
    }

    // ------------------------------------------------------------ the compact form

    #[test]
    fn a_jws_has_three_parts() {
        let t = token("RS256", |_| {});
        let (head, _) = t.rsplit_once('.').unwrap();
        refused(run(head), "DecodeError: Invalid input segments length:");
        refused(
            run(&format!("{t}.x")),
            "DecodeError: Invalid input segments length:",
        );
        clean(run(&t));
    }

    #[test]
    fn an_encrypted_token_is_refused() {
        let header = B64.encode(r#"{"alg":"RSA-OAEP","enc":"A256GCM","kid":"kid-RSA"}"#);
        let r = refused(
            run(&format!("{header}.a.b.c.d")),
            "UnsupportedAlgorithmError: unsupported_algorithm:",
        );
        assert!(r.to_string().contains("encrypted"), "{r}");
        clean(run(&token("RS256", |_| {})));
    }

    #[test]
    fn a_token_over_256000_bytes_is_refused() {
        let big = |n: usize| set("groups", json!("g".repeat(n)));
        refused(run(&big(200_000)), "ValueError: Serialization is too long.");
        clean(run(&big(180_000)));
    }

    #[test]
    fn parts_decode_like_python_base64_and_json() {
        let t = token("RS256", |_| {});
        let parts: Vec<&str> = t.split('.').collect();
        let join = |a: &str, b: &str, c: &str| format!("{a}.{b}.{c}");
        // Padding and the standard alphabet are accepted, as Python does.
        clean(run(&join(parts[0], parts[1], &format!("{}==", parts[2]))));
        let std_alphabet = parts[2].replace('-', "+").replace('_', "/");
        clean(run(&join(parts[0], parts[1], &std_alphabet)));
        refused(
            run(&join("a", parts[1], parts[2])),
            "DecodeError: Invalid header padding:",
        );
        refused(
            run(&join(&B64.encode("{x"), parts[1], parts[2])),
            "DecodeError: Invalid header string: …",
        );
        refused(
            run(&join(&B64.encode("[1]"), parts[1], parts[2])),
            "DecodeError: Header must be a json object:",
        );
        refused(
            run(&join(parts[0], &B64.encode("{x"), parts[2])),
            "DecodeError: Invalid payload value:",
        );
        refused(
            run(&join(parts[0], &B64.encode("[1]"), parts[2])),
            "DecodeError: Invalid payload type:",
        );
        refused(
            run(&join(parts[0], parts[1], "a")),
            "DecodeError: Invalid signature padding:",
        );
    }

    #[test]
    fn python_base64_vectors() {
        // Outputs of authlib 1.6.12's urlsafe_b64decode on CPython 3.13 (the
        // RomM double's venv); `None` where it raises binascii.Error.
        let ok: &[(&str, Option<&[u8]>)] = &[
            ("YWJj", Some(b"abc")),
            ("YWJ", Some(b"ab")),
            ("Y", None),
            ("YW$J", None),
            ("YW$$J", Some(b"ab")),
            ("YQ==YWJj", Some(b"a")),
            ("YQ===", Some(b"a")),
            ("YW=J", None),
            ("Y=Q", None),
            ("YW Jj", Some(b"abc")),
            ("", Some(b"")),
            ("====", Some(b"")),
            ("Y+/_-A", Some(&[0x63, 0xef, 0xff, 0xf8])),
            ("AQAB==", Some(&[1, 0, 1])),
            ("AQAB=", Some(&[1, 0, 1])),
            ("AQ=", Some(&[1])),
            ("AQ.AB", Some(&[1, 0, 1])),
            ("AQ==AB", Some(&[1])),
            ("AQ=AB", Some(&[1, 0, 1])),
            ("Zm9v!", Some(b"foo")),
            ("AQ \nAB", Some(&[1, 0, 1])),
            ("Q=U=J=D", Some(b"AB")),
            ("=QUJD", Some(b"ABC")),
            ("QUJDRA=x", None),
            ("AQ\u{e9}AB", Some(&[1, 0, 1])),
        ];
        for (input, output) in ok {
            assert_eq!(
                py::b64decode(input.as_bytes()).ok().as_deref(),
                *output,
                "{input:?}"
            );
        }
        assert_eq!(
            py::b64decode(b"12345"),
            Err("binascii.Error: Invalid base64-encoded string: number of data characters (5) cannot be 1 more than a multiple of 4".into())
        );
        assert_eq!(
            py::b64decode(b"YW=J"),
            Err("binascii.Error: Incorrect padding".into())
        );
    }

    #[test]
    fn crit_may_name_only_present_registered_headers() {
        let key = key_for("RS256");
        let claims = good_claims("RS256");
        let crit = |extra: Value| {
            let mut h = json!({"alg": "RS256", "kid": key.jwk["kid"]});
            h.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            jws(&key, &h, &claims)
        };
        refused(
            run(&crit(json!({"crit": ["b64"], "b64": false}))),
            "InvalidCritHeaderParameterNameError: invalid_crit_header_parameter_name: Invalid Header Parameter Name: b64",
        );
        refused(
            run(&crit(json!({"crit": ["x5u"]}))),
            "InvalidCritHeaderParameterNameError: invalid_crit_header_parameter_name: Invalid Header Parameter Name: x5u",
        );
        refused(
            run(&crit(json!({"crit": "kid"}))),
            "InvalidHeaderParameterNameError: invalid_header_parameter_name: Invalid Header Parameter Name: crit",
        );
        clean(run(&crit(json!({"crit": ["kid"]}))));
    }

    // ------------------------------------------------------------ the algorithm

    #[test]
    fn alg_is_required() {
        let key = key_for("RS256");
        refused(
            run(&jws(
                &key,
                &json!({"kid": key.jwk["kid"]}),
                &good_claims("RS256"),
            )),
            "MissingAlgorithmError: missing_algorithm:",
        );
        refused(
            run(&jws(
                &key,
                &json!({"alg": ["RS256"], "kid": key.jwk["kid"]}),
                &good_claims("RS256"),
            )),
            "TypeError: unhashable type: 'list'",
        );
        clean(run(&token("RS256", |_| {})));
    }

    #[test]
    fn only_advertised_algorithms_and_rs256_by_default() {
        let rs512 = token("RS512", |_| {});
        let r = refused(
            Case::new().algs(&["RS256"]).run(&rs512),
            "UnsupportedAlgorithmError: unsupported_algorithm:",
        );
        assert!(r.to_string().contains("RS512"), "{r}");
        clean(Case::new().algs(&["RS256", "RS512"]).run(&rs512));
        // What authlib allows, read from discovery.
        let algs = |v: Value| {
            crate::oidc::discovery::Discovery {
                doc: json!({"id_token_signing_alg_values_supported": v})
                    .as_object()
                    .unwrap()
                    .clone(),
            }
            .signing_algs()
        };
        assert_eq!(algs(Value::Null), ["RS256"]);
        assert_eq!(algs(json!([])), ["RS256"]);
        assert_eq!(algs(json!("")), ["RS256"]);
        assert_eq!(algs(json!(["ES256", 5])), ["ES256"]);
        assert_eq!(algs(json!("RS256 ES256")), ["RS256", "ES256"]);
    }

    #[test]
    fn every_asymmetric_algorithm_verifies() {
        for alg in [
            "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
            "ES256K", "EdDSA",
        ] {
            let v = run(&token(alg, |_| {})).unwrap_or_else(|r| panic!("{alg}: {r}"));
            assert_eq!(v.alg, alg);
            if alg == "ES256K" {
                assert_eq!(v.cautions, [Caution::NoAtHash]);
                assert_eq!(v.checked, ["iss", "exp/iat", "nonce"]);
            } else {
                assert!(v.cautions.is_empty(), "{alg}: {:?}", v.cautions);
                assert_eq!(v.checked, ["iss", "exp/iat", "nonce", "at_hash"], "{alg}");
            }
        }
    }

    #[test]
    fn alg_none_only_when_advertised() {
        let mut claims = good_claims("RS256");
        let unsigned = |claims: &Value, kid: &str, sig: &str| {
            format!(
                "{}.{}.{sig}",
                B64.encode(json!({"alg": "none", "kid": kid}).to_string()),
                B64.encode(claims.to_string())
            )
        };
        let advertised = Case::new().algs(&["RS256", "none"]);
        // "none" has no hash, so an at_hash can never match it.
        refused(
            advertised.run(&unsigned(&claims, "kid-RSA", "")),
            "InvalidClaimError: invalid_claim: Invalid claim 'at_hash'",
        );
        claims.as_object_mut().unwrap().remove("at_hash");
        let r = refused(
            run(&unsigned(&claims, "kid-RSA", "")),
            "UnsupportedAlgorithmError: unsupported_algorithm:",
        );
        assert!(r.to_string().contains("unsigned"), "{r}");
        let cautions = accepted(advertised.run(&unsigned(&claims, "kid-RSA", "")));
        assert!(cautions.contains(&Caution::Unsigned), "{cautions:?}");
        refused(
            advertised.run(&unsigned(&claims, "kid-RSA", "AAAA")),
            "BadSignatureError: bad_signature:",
        );
        refused(
            advertised.run(&unsigned(&claims, "unknown", "")),
            "ValueError: Key not found",
        );
    }

    #[test]
    fn hmac_only_when_advertised_and_only_with_a_published_secret() {
        let claims = good_claims("HS256");
        let hs256 = |kid: &str, secret: &[u8]| {
            let input = format!(
                "{}.{}",
                B64.encode(json!({"alg": "HS256", "kid": kid}).to_string()),
                B64.encode(claims.to_string())
            );
            let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes());
            format!("{input}.{}", B64.encode(tag.as_ref()))
        };
        let r = refused(
            run(&hs256("kid-RSA", b"secret")),
            "UnsupportedAlgorithmError: unsupported_algorithm:",
        );
        assert!(r.to_string().contains("symmetric"), "{r}");
        let advertised = || Case::new().algs(&["RS256", "HS256"]);
        refused(
            advertised().run(&hs256("kid-RSA", b"secret")),
            "KeyError: 0",
        );
        let mut set = jwks();
        set["keys"]
            .as_array_mut()
            .unwrap()
            .push(json!({"kty": "oct", "kid": "oct-1", "k": B64.encode(b"secret")}));
        let cautions = accepted(
            advertised()
                .sets(vec![set.clone()])
                .run(&hs256("oct-1", b"secret")),
        );
        assert!(
            cautions
                .iter()
                .any(|c| matches!(c, Caution::PublishedSecret { .. })),
            "{cautions:?}"
        );
        refused(
            advertised().sets(vec![set]).run(&hs256("oct-1", b"other")),
            "BadSignatureError: bad_signature:",
        );
    }

    // ------------------------------------------------------------ the key

    #[test]
    fn kid_selects_the_key() {
        let key = key_for("RS256");
        let claims = good_claims("RS256");
        refused(
            run(&jws(
                &key,
                &json!({"alg": "RS256", "kid": "unknown"}),
                &claims,
            )),
            "ValueError: Key not found",
        );
        refused(
            run(&jws(&key, &json!({"alg": "RS256", "kid": 5}), &claims)),
            "ValueError: Key not found",
        );
        clean(run(&jws(
            &key,
            &json!({"alg": "RS256", "kid": "kid-RSA"}),
            &claims,
        )));
    }

    #[test]
    fn without_kid_the_only_key_or_a_key_without_kid() {
        let key = key_for("RS256");
        let t = jws(&key, &json!({"alg": "RS256"}), &good_claims("RS256"));
        clean(Case::new().sets(vec![json!({"keys": [key.jwk]})]).run(&t));
        let r = refused(run(&t), "ValueError: Key not found");
        assert!(
            matches!(r, Rejection::KeyNotFound { kid: None, keys: 6 }),
            "{r:?}"
        );
        let no_kid = with(&key, |k| {
            k.remove("kid");
        });
        clean(
            Case::new()
                .sets(vec![json!({"keys": [key_for("ES256").jwk, no_kid]})])
                .run(&t),
        );
        // The only key is taken whatever its use.
        let enc = with(&key, |k| {
            k.insert("use".into(), json!("enc"));
        });
        refused(
            Case::new().sets(vec![json!({"keys": [enc]})]).run(&t),
            "InvalidUseError: invalid_use: Key 'use' is not valid for your usage",
        );
    }

    #[test]
    fn key_use_must_be_sig_or_unset() {
        let key = key_for("RS256");
        let t = token("RS256", |_| {});
        let set = |k: Value| vec![json!({"keys": [k]})];
        refused(
            Case::new()
                .sets(set(with(&key, |k| {
                    k.insert("use".into(), json!("enc"));
                })))
                .run(&t),
            "InvalidUseError: invalid_use: Key 'use' is not valid for your usage",
        );
        // The first key with the kid is taken, not the signing one.
        let enc = with(&key, |k| {
            k.insert("use".into(), json!("enc"));
        });
        let sig = with(&key, |k| {
            k.insert("use".into(), json!("sig"));
        });
        refused(
            Case::new()
                .sets(vec![json!({"keys": [enc, sig.clone()]})])
                .run(&t),
            "InvalidUseError: invalid_use: Key 'use' is not valid for your usage",
        );
        clean(Case::new().sets(set(sig)).run(&t));
        clean(
            Case::new()
                .sets(set(with(&key, |k| {
                    k.insert("use".into(), Value::Null);
                })))
                .run(&t),
        );
    }

    #[test]
    fn key_ops_must_allow_verify() {
        let key = key_for("RS256");
        let t = token("RS256", |_| {});
        let ops = |v: Value| {
            Case::new()
                .sets(vec![
                    json!({"keys": [with(&key, |k| { k.insert("key_ops".into(), v); })]}),
                ])
                .run(&t)
        };
        refused(
            ops(json!(["sign"])),
            "ValueError: Unsupported key_op \"verify\"",
        );
        refused(
            ops(json!(5)),
            "TypeError: argument of type 'int' is not iterable",
        );
        clean(ops(json!(["verify"])));
        clean(ops(json!("verify")));
    }

    #[test]
    fn a_keys_own_alg_is_ignored_with_a_caution() {
        let key = key_for("RS256");
        let t = token("RS256", |_| {});
        let cautions = accepted(
            Case::new()
                .sets(vec![
                    json!({"keys": [with(&key, |k| { k.insert("alg".into(), json!("RS512")); })]}),
                ])
                .run(&t),
        );
        assert!(
            matches!(&cautions[..], [Caution::KeyAlg { key_alg, alg }] if key_alg == "RS512" && alg == "RS256"),
            "{cautions:?}"
        );
        clean(
            Case::new()
                .sets(vec![
                    json!({"keys": [with(&key, |k| { k.insert("alg".into(), json!("RS256")); })]}),
                ])
                .run(&t),
        );
    }

    #[test]
    fn the_key_type_must_fit_the_algorithm() {
        let rsa = key_for("RS256");
        let claims = good_claims("RS256");
        refused(
            run(&jws(
                &rsa,
                &json!({"alg": "RS256", "kid": "kid-P-256"}),
                &claims,
            )),
            "KeyError: 0",
        );
        refused(
            run(&jws(
                &key_for("EdDSA"),
                &json!({"alg": "EdDSA", "kid": "kid-RSA"}),
                &claims,
            )),
            "KeyError: 0",
        );
        let p256 = key_for("ES256");
        let on_p384 = with(&key_for("ES384"), |k| {
            k.insert("kid".into(), json!("kid-P-256"));
        });
        let t = jws(
            &p256,
            &json!({"alg": "ES256", "kid": "kid-P-256"}),
            &good_claims("ES256"),
        );
        refused(
            Case::new().sets(vec![json!({"keys": [on_p384]})]).run(&t),
            "ValueError: Key for \"ES256\" not supported, only \"P-256\" allowed",
        );
        clean(run(&t));
    }

    #[test]
    fn the_key_members_must_load() {
        let t = token("RS256", |_| {});
        let rsa = key_for("RS256");
        refused(
            Case::new()
                .sets(vec![
                    json!({"keys": [with(&rsa, |k| { k.insert("n".into(), json!("")); })]}),
                ])
                .run(&t),
            "ValueError: invalid literal for int() with base 16: ''",
        );
        let es = token("ES256", |_| {});
        let off_curve = with(&key_for("ES256"), |k| {
            k.insert("y".into(), json!(B64.encode([1u8; 32])));
        });
        refused(
            Case::new()
                .sets(vec![json!({"keys": [off_curve]})])
                .run(&es),
            "ValueError: Invalid EC key. Point is not on the curve specified.",
        );
        let x25519 = with(&key_for("EdDSA"), |k| {
            k.insert("crv".into(), json!("X25519"));
        });
        refused(
            Case::new()
                .sets(vec![json!({"keys": [x25519]})])
                .run(&token("EdDSA", |_| {})),
            "AttributeError: 'cryptography.hazmat.bindings._rust.openssl.x25519.X25519PublicKey' object has no attribute 'verify'",
        );
        clean(run(&t));
        clean(run(&es));
    }

    #[test]
    fn the_signature_must_verify() {
        let claims = good_claims("ES256");
        let key = key_for("ES256");
        let t = token("ES256", |_| {});
        let (input, _) = t.rsplit_once('.').unwrap();
        // A DER signature (some providers' bug) has the wrong length.
        let der_key = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
        let der = der_key
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        let r = refused(
            run(&format!("{input}.{}", B64.encode(der.as_ref()))),
            "BadSignatureError: bad_signature:",
        );
        assert!(r.to_string().contains("DER"), "{r}");
        let mut other = claims.clone();
        other["sub"] = json!("someone-else");
        let tampered = jws(&key, &json!({"alg": "ES256", "kid": "kid-P-256"}), &claims).replace(
            &B64.encode(claims.to_string()),
            &B64.encode(other.to_string()),
        );
        refused(run(&tampered), "BadSignatureError: bad_signature:");
        clean(run(&t));
    }

    #[test]
    fn rsa_keys_this_tool_cannot_check_are_unverified_not_passed() {
        // RomM's cryptography verifies these; aws-lc-rs does not, so the
        // signature (here made by another key) is never checked.
        let modulus = |bytes: usize| {
            let mut n = vec![0xc5u8; bytes];
            n[bytes - 1] |= 1;
            B64.encode(&n)
        };
        let key = key_for("RS256");
        for (alg, n, e, words) in [
            ("RS256", modulus(96), "AQAB", "768-bit"),
            ("RS384", modulus(128), "AQAB", "RS384 with a 1024-bit"),
            ("PS256", modulus(128), "AQAB", "PS256 with a 1024-bit"),
            ("RS256", modulus(1100), "AQAB", "8800-bit"),
            // A 65-bit exponent (OpenSSL takes it up to 3072 bits).
            ("RS256", modulus(256), "AQAAAAAAAAAB", "65 bits"),
        ] {
            let jwk = json!({"kty": "RSA", "kid": "odd", "n": n, "e": e});
            let t = jws(&key, &json!({"alg": alg, "kid": "odd"}), &good_claims(alg));
            let cautions = accepted(Case::new().sets(vec![json!({"keys": [jwk]})]).run(&t));
            assert!(
                matches!(&cautions[..], [Caution::Unverified { why }] if why.contains(words)),
                "{alg} {words}: {cautions:?}"
            );
            assert!(cautions[0].is_warning());
        }
        // A key OpenSSL refuses when verifying is RomM's bad signature.
        let t = token("RS256", |_| {});
        let huge = json!({"kty": "RSA", "kid": "kid-RSA", "n": modulus(2049), "e": "AQAB"});
        refused(
            Case::new().sets(vec![json!({"keys": [huge]})]).run(&t),
            "BadSignatureError: bad_signature:",
        );
    }

    /// An RS256 and an RS512 token and the 1024-bit key they are signed with,
    /// made by authlib 1.6.12 on cryptography 49 (RomM's pinned set), which
    /// verifies them. Their claims are only `{"iss": "https://id.example.com"}`.
    const RS256_1024: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6InNtYWxsIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUuY29tIn0.ZVnW8QXhQk4lrzKBbvAw3OvlemT1quEogyi4hxF8aQnsJrP2ioBEuRuiuGvfRvHtDXjuWhn92E1MdEXXQjEuQgo2fHeao5uT4F9GPxEX7Wr3k1ZWraZo5jL_05zOVb2P8cx-jFDMIjHV9BhR1U1XCeFwwrdC6YT50tsZBABOKOM";
    const RS512_1024: &str = "eyJhbGciOiJSUzUxMiIsImtpZCI6InNtYWxsIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUuY29tIn0.KNcunoREdsjRocTQOZsL_thz-6X6QX_0Oo4YJnMum2T_Rbg26RHKYkzGaqk-0l78z8HLZwGSlBpIludJc_5IG-2m7X69vt81bMscvQRxXJlVX2ycykB_7yafl69V3jdzhFtqp6WYxsdRxVxFsU5gFh3lSMu9hVt_zssawgP9rdc";
    const N1024: &str = "qRXQorKdfqb3CZ6MSjQus5tZlPn15Cn50LY7vTmZm0fbsRIpspeFh9ujGd9fDQzlDYTpFYwCkHOzuiDUbjjPpZQly2TRltxgdYGr11clFWWfQAqRbQnIkraSBYK1ZLujJS798bjK6KOnE-4AFIVxVHMnCRSCzRlEGXWI9lzv83k";

    #[test]
    fn a_1024_bit_rsa_key_verifies_as_romm_verifies_it() {
        // The signature verifies (with a caution for the weak key); the claims
        // then fail, as the tokens carry only iss.
        for (token, alg) in [(RS256_1024, "RS256"), (RS512_1024, "RS512")] {
            let mut key = json!({"kty": "RSA", "kid": "small", "e": "AQAB", "n": N1024});
            let parts: Vec<&str> = token.split('.').collect();
            let claims: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
            assert_eq!(claims, json!({"iss": ISSUER}));
            let mut signed = Vec::new();
            let case = Case::new()
                .algs(&[alg])
                .sets(vec![json!({"keys": [key.clone()]})]);
            let decoded = decode(
                token,
                &case.sets[0],
                &Expected {
                    issuer: None,
                    client_id: CLIENT,
                    nonce: NONCE,
                    access_token: Some(ACCESS),
                    code: None,
                    allowed_algs: &case.algs,
                    now: NOW,
                },
            );
            match decoded {
                Ok(d) => signed.extend(d.cautions),
                Err(r) => panic!("{alg}: {r}"),
            }
            assert_eq!(signed, [Caution::WeakKey { bits: 1024 }], "{alg}");
            refused(
                case.run(token),
                "MissingClaimError: missing_claim: Missing 'sub' claim",
            );
            // One changed modulus digit: the signature no longer verifies.
            key["n"] = json!(format!("{}A{}", &N1024[..10], &N1024[11..]));
            refused(
                Case::new()
                    .algs(&[alg])
                    .sets(vec![json!({"keys": [key]})])
                    .run(token),
                "BadSignatureError: bad_signature:",
            );
        }
    }

    // ------------------------------------------------------------ the claims

    #[test]
    fn essential_claims_must_be_present_not_valid() {
        for claim in ["iss", "sub", "aud", "exp", "iat"] {
            let r = refused(
                run(&without(claim)),
                &format!("MissingClaimError: missing_claim: Missing '{claim}' claim"),
            );
            assert_eq!(r, Rejection::MissingClaim(claim));
        }
        let cautions = accepted(run(&set("sub", Value::Null)));
        assert!(
            matches!(&cautions[..], [Caution::Subject { found }] if found == "null"),
            "{cautions:?}"
        );
    }

    #[test]
    fn without_an_access_token_nonce_is_essential_too() {
        let case = |t: &str| {
            Case {
                access_token: None,
                ..Case::new()
            }
            .run(t)
        };
        refused(
            case(&token("RS256", |c| {
                c.remove("nonce");
                c.remove("sub");
            })),
            "MissingClaimError: missing_claim: Missing 'sub' claim",
        );
        refused(
            case(&without("nonce")),
            "MissingClaimError: missing_claim: Missing 'nonce' claim",
        );
        // And at_hash is then not checked.
        clean(case(&set("at_hash", json!("wrong"))));
    }

    #[test]
    fn iss_must_equal_the_discovery_issuer_exactly() {
        refused(
            run(&set("iss", json!(format!("{ISSUER}/")))),
            "InvalidClaimError: invalid_claim: Invalid claim 'iss'",
        );
        refused(
            run(&set("iss", Value::Null)),
            "InvalidClaimError: invalid_claim: Invalid claim 'iss'",
        );
        clean(run(&token("RS256", |_| {})));
        let no_issuer = Case {
            issuer: None,
            ..Case::new()
        };
        let cautions = accepted(no_issuer.run(&set("iss", json!("anyone"))));
        assert_eq!(cautions, [Caution::NoIssuerCheck]);
    }

    #[test]
    fn times_must_be_numbers_and_true_counts_as_one() {
        for claim in ["exp", "iat", "nbf"] {
            refused(
                run(&set(claim, json!("1800000000"))),
                &format!("InvalidClaimError: invalid_claim: Invalid claim '{claim}'"),
            );
            refused(
                run(&set(claim, Value::Null)),
                &format!("InvalidClaimError: invalid_claim: Invalid claim '{claim}'"),
            );
        }
        refused(
            run(&set("exp", json!(true))),
            "ExpiredTokenError: expired_token: The token is expired",
        );
        clean(run(&set("exp", json!(NOW as f64 + 10.5))));
    }

    #[test]
    fn exp_has_120_seconds_of_leeway() {
        refused(
            run(&set("exp", json!(NOW - 121))),
            "ExpiredTokenError: expired_token: The token is expired",
        );
        let cautions = accepted(run(&set("exp", json!(NOW - 120))));
        assert_eq!(cautions, [Caution::ExpiredWithinLeeway { ago: 120.0 }]);
        clean(run(&set("exp", json!(NOW))));
    }

    #[test]
    fn times_near_the_ends_of_the_number_range_compare_without_overflow() {
        // authlib compares floats: a far-future exp is valid, a far-future
        // nbf or iat is not yet valid, a far-past exp is expired.
        for far in [json!(u64::MAX), json!(1e300)] {
            clean(run(&set("exp", far.clone())));
            refused(
                run(&set("nbf", far.clone())),
                "InvalidTokenError: invalid_token: The token is not valid yet",
            );
            refused(
                run(&set("iat", far)),
                "InvalidTokenError: invalid_token: The token is not valid as it was issued in the future",
            );
        }
        refused(
            run(&set("exp", json!(i64::MIN))),
            "ExpiredTokenError: expired_token: The token is expired",
        );
        clean(run(&set("nbf", json!(-1e300))));
    }

    #[test]
    fn nbf_has_120_seconds_of_leeway() {
        refused(
            run(&set("nbf", json!(NOW + 121))),
            "InvalidTokenError: invalid_token: The token is not valid yet",
        );
        let cautions = accepted(run(&set("nbf", json!(NOW + 120))));
        assert_eq!(
            cautions,
            [Caution::ClockAhead {
                claim: "nbf",
                ahead: 120.0
            }]
        );
        clean(run(&set("nbf", json!(NOW + 30))));
    }

    #[test]
    fn iat_has_120_seconds_of_leeway() {
        refused(
            run(&set("iat", json!(NOW + 121))),
            "InvalidTokenError: invalid_token: The token is not valid as it was issued in the future",
        );
        let cautions = accepted(run(&set("iat", json!(NOW + 100))));
        assert_eq!(
            cautions,
            [Caution::ClockAhead {
                claim: "iat",
                ahead: 100.0
            }]
        );
        clean(run(&set("iat", json!(NOW + 10))));
    }

    #[test]
    fn auth_time_when_set_must_be_a_number() {
        refused(
            run(&set("auth_time", json!("123"))),
            "InvalidClaimError: invalid_claim: Invalid claim 'auth_time'",
        );
        clean(run(&set("auth_time", json!(""))));
        clean(run(&without("auth_time")));
    }

    #[test]
    fn nonce_must_come_back_unless_the_token_disowns_it() {
        let r = refused(
            run(&without("nonce")),
            "MissingClaimError: missing_claim: Missing 'nonce' claim",
        );
        assert_eq!(r, Rejection::NonceMissing);
        refused(
            run(&set("nonce", json!("other"))),
            "InvalidClaimError: invalid_claim: Invalid claim 'nonce'",
        );
        refused(
            run(&set("nonce", Value::Null)),
            "InvalidClaimError: invalid_claim: Invalid claim 'nonce'",
        );
        let cautions = accepted(run(&token("RS256", |c| {
            c.remove("nonce");
            c.insert("nonce_supported".into(), json!(false));
        })));
        assert_eq!(cautions, [Caution::NonceNotChecked]);
    }

    #[test]
    fn acr_is_not_checked_amr_must_be_a_list() {
        clean(run(&set("acr", json!(5))));
        refused(
            run(&set("amr", json!("pwd"))),
            "InvalidClaimError: invalid_claim: Invalid claim 'amr'",
        );
        clean(run(&set("amr", json!([]))));
    }

    #[test]
    fn aud_other_than_the_client_requires_azp() {
        let aud = |v: Value, azp: Option<&str>| {
            run(&token("RS256", |c| {
                c.insert("aud".into(), v);
                if let Some(azp) = azp {
                    c.insert("azp".into(), json!(azp));
                }
            }))
        };
        let missing = "MissingClaimError: missing_claim: Missing 'azp' claim";
        refused(aud(json!([CLIENT, "other"]), None), missing);
        refused(aud(json!("other"), None), missing);
        refused(aud(json!([CLIENT, CLIENT]), None), missing);
        refused(aud(json!(5), None), missing);
        clean(aud(json!(CLIENT), None));
        clean(aud(json!([CLIENT]), None));
        clean(aud(json!([CLIENT, "other"]), Some(CLIENT)));
        let cautions = accepted(aud(json!(["other"]), Some(CLIENT)));
        assert!(
            matches!(&cautions[..], [Caution::OtherAudience { aud }] if aud == r#"["other"]"#),
            "{cautions:?}"
        );
        assert!(cautions[0].is_warning());
        let cautions = accepted(aud(Value::Null, None));
        assert!(
            matches!(&cautions[..], [Caution::NoAudience { .. }]),
            "{cautions:?}"
        );
    }

    #[test]
    fn azp_when_present_must_be_the_client() {
        let azp = |v: Value| run(&set("azp", v));
        refused(
            azp(json!("other")),
            "InvalidClaimError: invalid_claim: Invalid claim 'azp'",
        );
        clean(azp(json!(CLIENT)));
        clean(azp(json!("")));
        let r = refused(
            run(&token("RS256", |c| {
                c.insert("aud".into(), json!("other"));
                c.insert("azp".into(), json!(""));
            })),
            "MissingClaimError: missing_claim: Missing 'azp' claim",
        );
        assert!(r.to_string().contains("\"other\""), "{r}");
    }

    #[test]
    fn at_hash_when_present_must_match_the_access_token() {
        refused(
            run(&set("at_hash", json!("wrong"))),
            "InvalidClaimError: invalid_claim: Invalid claim 'at_hash'",
        );
        refused(
            run(&set("at_hash", json!(5))),
            "InvalidClaimError: invalid_claim: Invalid claim 'at_hash'",
        );
        refused(
            run(&set("at_hash", json!(["a"]))),
            "TypeError: 'str' object cannot be interpreted as an integer",
        );
        let cautions = accepted(run(&without("at_hash")));
        assert_eq!(cautions, [Caution::NoAtHash]);
        assert!(!cautions[0].is_warning(), "a missing at_hash is a note");
        let empty_access = Case {
            access_token: Some(""),
            ..Case::new()
        };
        clean(empty_access.run(&set("at_hash", json!("wrong"))));
        clean(run(&token("RS256", |_| {})));
    }

    #[test]
    fn at_hash_uses_the_algorithms_hash_and_sha512_for_eddsa() {
        let with_hash = |alg: &str, hash_alg: &str| {
            token(alg, |c| {
                c.insert("at_hash".into(), json!(half_hash(hash_alg, ACCESS)));
            })
        };
        clean(run(&with_hash("RS384", "RS384")));
        refused(
            run(&with_hash("RS384", "RS256")),
            "InvalidClaimError: invalid_claim: Invalid claim 'at_hash'",
        );
        clean(run(&with_hash("ES512", "ES512")));
        clean(run(&with_hash("EdDSA", "EdDSA")));
        let r = refused(
            run(&with_hash("EdDSA", "RS256")),
            "InvalidClaimError: invalid_claim: Invalid claim 'at_hash'",
        );
        assert_eq!(r, Rejection::EdDsaAtHash);
        // ES256K has no hashlib name (sha256K): no at_hash can match.
        refused(
            run(&with_hash("ES256K", "RS256")),
            "InvalidClaimError: invalid_claim: Invalid claim 'at_hash'",
        );
    }

    #[test]
    fn c_hash_is_not_checked_in_the_code_flow() {
        let cautions = accepted(run(&set("c_hash", json!("wrong"))));
        assert_eq!(cautions, [Caution::CHash]);
        clean(run(&set("c_hash", json!(half_hash("RS256", CODE)))));
    }
}
