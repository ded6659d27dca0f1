//! A published JSON Web Key read the way RomM's authlib (1.6.12, on
//! cryptography) reads it, so the key-set check and the ID-token verification
//! judge a key as RomM would use it.
//!
//! authlib imports every key of the set when it verifies a token
//! (`JsonWebKey.import_key_set`): a key without `kty`, of an unknown type or
//! without its required members raises there and breaks every login. Key
//! material is only loaded when a token picks the key (by `kid`), so a bad
//! point or an unusable `use` fails only the tokens that name that key.
//! authlib never looks at a key's `alg`. Key material is parsed by aws-lc-rs.

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256K1_SHA256_FIXED, ECDSA_P384_SHA384_FIXED,
    ECDSA_P521_SHA512_FIXED, ED25519, ParsedPublicKey, VerificationAlgorithm,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Map, Value};

/// What authlib can do with one key.
#[derive(Debug)]
pub enum Read {
    /// `import_key_set` raises on it: RomM verifies no token with this set.
    Breaks(String),
    /// Imported, but verifying with it raises: tokens that name it fail.
    Unusable(String),
    Usable(Usable),
}

/// A key authlib verifies with.
#[derive(Debug)]
pub struct Usable {
    /// The algorithms authlib verifies with this key.
    pub algs: &'static [&'static str],
    /// The modulus size of an RSA key.
    pub rsa_bits: Option<usize>,
    /// Members authlib decodes only leniently (padding, the standard base64
    /// alphabet or stray characters), which stricter libraries refuse.
    pub loose: Vec<&'static str>,
    /// The key with its members in strict, minimal base64url, for verifiers.
    pub canonical: Value,
}

/// authlib's key for a token header's `kid` (`KeySet.find_by_kid`): the only
/// key of a one-key set when the token names none, else the first key whose
/// `kid` equals it (a missing `kid` matching a token without one).
pub fn select<'a>(keys: &'a [Value], kid: Option<&str>) -> Option<&'a Value> {
    if kid.is_none() && keys.len() == 1 {
        return keys.first();
    }
    keys.iter().find(|k| match (k.get("kid"), kid) {
        (None | Some(Value::Null), None) => true,
        (Some(Value::String(have)), Some(want)) => have == want,
        _ => false,
    })
}

/// The first key that breaks authlib's import of the whole set, and why.
pub fn import_failure(keys: &[Value]) -> Option<(usize, String)> {
    keys.iter()
        .enumerate()
        .find_map(|(i, key)| match read(key) {
            Read::Breaks(why) => Some((i, why)),
            _ => None,
        })
}

/// Reads one key as authlib would import and then load it for verifying.
pub fn read(key: &Value) -> Read {
    let Some(key) = key.as_object() else {
        return Read::Breaks(format!("is {}, not an object", crate::checks::kind(key)));
    };
    let kty = match key.get("kty") {
        None | Some(Value::Null) => return Read::Breaks("has no kty".into()),
        Some(Value::String(kty)) => kty.as_str(),
        Some(other) => return Read::Breaks(format!("has kty {other}, not a key type name")),
    };
    let required: &[&str] = match kty {
        "RSA" => &["n", "e"],
        "EC" => &["crv", "x", "y"],
        "OKP" => &["crv", "x"],
        "oct" => &["k"],
        other => return Read::Breaks(format!("is of unsupported type {other:?}")),
    };
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|m| !key.contains_key(*m))
        .collect();
    if !missing.is_empty() {
        return Read::Breaks(format!("is an {kty} key without {}", missing.join(" and ")));
    }
    if let Err(why) = usable_for_verifying(key) {
        return Read::Unusable(why);
    }
    let mut canonical = key.clone();
    let mut loose = Vec::new();
    let mut member = |name: &'static str| -> Result<Vec<u8>, String> {
        let Some(Value::String(text)) = key.get(name) else {
            return Err(format!(
                "is an {kty} key without {name} as a base64url string"
            ));
        };
        let bytes = lenient_base64(text)
            .map_err(|e| format!("has {name} that authlib cannot decode as base64 ({e})"))?;
        if B64.decode(text).ok().as_deref() != Some(bytes.as_slice()) {
            loose.push(name);
        }
        Ok(bytes)
    };
    let result = match kty {
        "RSA" => read_rsa(member("n"), member("e")),
        "EC" => match key.get("crv").and_then(Value::as_str) {
            Some(crv) => read_ec(crv, member("x"), member("y")),
            None => Err("is an EC key whose crv is not a string".into()),
        },
        "OKP" => match key.get("crv").and_then(Value::as_str) {
            Some(crv) => read_okp(crv, member("x")),
            None => Err("is an OKP key whose crv is not a string".into()),
        },
        _ => Err("is a symmetric (oct) key, which verifies only HMAC tokens".into()),
    };
    match result {
        Ok(material) => {
            for (name, bytes) in &material.members {
                canonical[*name] = Value::String(B64.encode(bytes));
            }
            Read::Usable(Usable {
                algs: material.algs,
                rsa_bits: material.rsa_bits,
                loose,
                canonical: Value::Object(canonical),
            })
        }
        Err(why) => Read::Unusable(why),
    }
}

/// `use` and `key_ops` as authlib's `check_key_op("verify")` reads them.
fn usable_for_verifying(key: &Map<String, Value>) -> Result<(), String> {
    let allows_verify = match key.get("key_ops") {
        None | Some(Value::Null) => true,
        Some(Value::Array(ops)) => ops.iter().any(|op| op == "verify"),
        // Python's `in` on a string is a substring test, on a dict a key test.
        Some(Value::String(ops)) => ops.contains("verify"),
        Some(Value::Object(ops)) => ops.contains_key("verify"),
        Some(other) => return Err(format!("has key_ops {other}, which authlib cannot read")),
    };
    if !allows_verify {
        return Err(format!(
            "has key_ops {} without \"verify\" (authlib: Unsupported key_op \"verify\")",
            key["key_ops"]
        ));
    }
    match key.get("use") {
        // An empty or absent use is no restriction for authlib.
        None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(()),
        Some(Value::String(u)) if u.is_empty() || u == "sig" => Ok(()),
        Some(other) => Err(format!(
            "is for use {other}, not \"sig\" (authlib: InvalidUseError)"
        )),
    }
}

struct Material {
    algs: &'static [&'static str],
    rsa_bits: Option<usize>,
    /// Members re-encoded for the canonical key.
    members: Vec<(&'static str, Vec<u8>)>,
}

const RSA_ALGS: &[&str] = &["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];

/// cryptography's checks of RSA public numbers (`e` odd, 3 ≤ e < n) and
/// OpenSSL's 16384-bit modulus limit; the size itself is the caller's remark.
fn read_rsa(n: Result<Vec<u8>, String>, e: Result<Vec<u8>, String>) -> Result<Material, String> {
    let n = strip_zeros(n?);
    let e = strip_zeros(e?);
    let bits = bit_length(&n);
    let e_small = e.len() < n.len() || (e.len() == n.len() && e < n);
    if e.last().is_none_or(|b| b % 2 == 0) {
        return Err("is an RSA key whose exponent e is even (cryptography: e must be odd)".into());
    }
    if (e.len() == 1 && e[0] < 3) || !e_small {
        return Err(
            "is an RSA key whose e is not between 3 and n (cryptography refuses it)".into(),
        );
    }
    if bits > 16384 {
        return Err(format!(
            "is an RSA key of {bits} bits; OpenSSL verifies with at most 16384"
        ));
    }
    Ok(Material {
        algs: RSA_ALGS,
        rsa_bits: Some(bits),
        members: vec![("n", n), ("e", e)],
    })
}

/// The point must lie on the named curve: aws-lc-rs parses it.
fn read_ec(
    crv: &str,
    x: Result<Vec<u8>, String>,
    y: Result<Vec<u8>, String>,
) -> Result<Material, String> {
    let (size, algorithm, algs): (usize, &'static dyn VerificationAlgorithm, _) = match crv {
        "P-256" => (32, &ECDSA_P256_SHA256_FIXED, &["ES256"][..]),
        "P-384" => (48, &ECDSA_P384_SHA384_FIXED, &["ES384"][..]),
        "P-521" => (66, &ECDSA_P521_SHA512_FIXED, &["ES512"][..]),
        "secp256k1" => (32, &ECDSA_P256K1_SHA256_FIXED, &["ES256K"][..]),
        other => {
            return Err(format!(
                "is an EC key on curve {other:?}, unknown to authlib"
            ));
        }
    };
    let pad = |v: Vec<u8>| -> Option<Vec<u8>> {
        let v = strip_zeros(v);
        (v.len() <= size).then(|| {
            let mut out = vec![0; size - v.len()];
            out.extend(v);
            out
        })
    };
    let (Some(x), Some(y)) = (pad(x?), pad(y?)) else {
        return Err(format!("is an EC key whose x or y is too long for {crv}"));
    };
    let mut point = vec![0x04];
    point.extend(&x);
    point.extend(&y);
    ParsedPublicKey::new(algorithm, &point).map_err(|_| {
        format!("is an EC key whose point is not on {crv} (cryptography: Invalid EC key)")
    })?;
    Ok(Material {
        algs,
        rsa_bits: None,
        members: vec![("x", x), ("y", y)],
    })
}

fn read_okp(crv: &str, x: Result<Vec<u8>, String>) -> Result<Material, String> {
    let x = x?;
    match crv {
        "Ed25519" => {
            ParsedPublicKey::new(&ED25519, &x)
                .map_err(|_| "is an Ed25519 key whose x is not a 32-byte public key".to_string())?;
        }
        // aws-lc-rs has no Ed448; cryptography checks the length only.
        "Ed448" if x.len() == 57 => {}
        "Ed448" => return Err("is an Ed448 key whose x is not 57 bytes".into()),
        "X25519" | "X448" => {
            return Err(format!(
                "is an {crv} key, which is for key agreement, not signatures"
            ));
        }
        other => {
            return Err(format!(
                "is an OKP key on curve {other:?}, unknown to authlib"
            ));
        }
    }
    Ok(Material {
        algs: &["EdDSA"],
        rsa_bits: None,
        members: vec![("x", x)],
    })
}

fn strip_zeros(mut v: Vec<u8>) -> Vec<u8> {
    let zeros = v.iter().take_while(|b| **b == 0).count();
    v.drain(..zeros);
    v
}

/// The size in bits of a big-endian number without leading zero bytes.
fn bit_length(v: &[u8]) -> usize {
    v.first()
        .map_or(0, |b| v.len() * 8 - b.leading_zeros() as usize)
}

/// base64 decoded as authlib decodes key members: `urlsafe_b64decode` pads
/// to a multiple of four, maps `-_` to `+/` and lets CPython's non-strict
/// `binascii.a2b_base64` skip characters outside the alphabet, ignore a
/// premature `=`, stop after complete padding, and ignore unused low bits.
/// Key members must be ASCII (authlib encodes them as ASCII first).
pub fn lenient_base64(text: &str) -> Result<Vec<u8>, String> {
    if !text.is_ascii() {
        return Err("non-ASCII characters".into());
    }
    let padding = (4 - text.len() % 4) % 4;
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut quad, mut pads, mut left) = (0u8, 0u8, 0u8);
    for c in text.bytes().chain(std::iter::repeat_n(b'=', padding)) {
        if c == b'=' {
            if quad >= 2 {
                pads += 1;
                if quad + pads >= 4 {
                    return Ok(out);
                }
            }
            continue;
        }
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => continue,
        };
        pads = 0;
        // Six bits a character; every character after a quad's first completes a byte.
        match quad {
            0 => left = value,
            1 => {
                out.push((left << 2) | (value >> 4));
                left = value & 0x0f;
            }
            2 => {
                out.push((left << 4) | (value >> 2));
                left = value & 0x03;
            }
            _ => out.push((left << 6) | value),
        }
        quad = (quad + 1) % 4;
    }
    match quad {
        0 => Ok(out),
        1 => Err("a data length one more than a multiple of four".into()),
        _ => Err("incorrect padding".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_read_as_cpython_reads_it_for_authlib() {
        // Each case was run through authlib 1.6.12's urlsafe_b64decode on
        // CPython 3.13 (the RomM client double's pinned set).
        let ok: &[(&str, &[u8])] = &[
            ("AQAB", &[1, 0, 1]),
            ("AQAB==", &[1, 0, 1]),
            ("AQAB=", &[1, 0, 1]),
            ("AQ==", &[1]),
            ("AQ", &[1]),
            ("AQ=", &[1]),
            ("A+/_", &[0x03, 0xef, 0xff]),
            ("AQ AB", &[1, 0, 1]),
            ("AQ.AB", &[1, 0, 1]),
            ("AQ==AB", &[1]),
            ("AQ=AB", &[1, 0, 1]),
            ("", &[]),
            ("Zm9v!", b"foo"),
            ("Zg", b"f"),
            ("AQ \nAB", &[1, 0, 1]),
            ("AQAB \n", &[1, 0, 1]),
            ("Q=U=J=D", b"AB"),
            ("=QUJD", b"ABC"),
            ("QUI", b"AB"),
        ];
        for (text, want) in ok {
            assert_eq!(lenient_base64(text).as_deref(), Ok(*want), "{text:?}");
        }
        for bad in ["Z", "é", "QUJDRA=x"] {
            assert!(lenient_base64(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn select_is_find_by_kid() {
        let keys = [
            serde_json::json!({"kid": "a", "n": 1}),
            serde_json::json!({"n": 2}),
            serde_json::json!({"kid": "a", "n": 3}),
        ];
        assert_eq!(select(&keys, Some("a")).unwrap()["n"], 1);
        assert_eq!(select(&keys, None).unwrap()["n"], 2);
        assert!(select(&keys, Some("b")).is_none());
        assert_eq!(select(&keys[..1], None).unwrap()["n"], 1);
        assert!(select(&[keys[0].clone(), keys[2].clone()], None).is_none());
    }
}

#[cfg(test)]
mod small_rsa_tests {
    use super::super::id_token::{Expected, Rejection, verify};
    use serde_json::json;

    /// Tokens and the 1024-bit key they are signed with, made by authlib
    /// 1.6.12 on cryptography 49 (RomM's pinned set), which verifies them.
    const RS256: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6InNtYWxsIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUuY29tIn0.ZVnW8QXhQk4lrzKBbvAw3OvlemT1quEogyi4hxF8aQnsJrP2ioBEuRuiuGvfRvHtDXjuWhn92E1MdEXXQjEuQgo2fHeao5uT4F9GPxEX7Wr3k1ZWraZo5jL_05zOVb2P8cx-jFDMIjHV9BhR1U1XCeFwwrdC6YT50tsZBABOKOM";
    const RS512: &str = "eyJhbGciOiJSUzUxMiIsImtpZCI6InNtYWxsIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUuY29tIn0.KNcunoREdsjRocTQOZsL_thz-6X6QX_0Oo4YJnMum2T_Rbg26RHKYkzGaqk-0l78z8HLZwGSlBpIludJc_5IG-2m7X69vt81bMscvQRxXJlVX2ycykB_7yafl69V3jdzhFtqp6WYxsdRxVxFsU5gFh3lSMu9hVt_zssawgP9rdc";
    const N1024: &str = "qRXQorKdfqb3CZ6MSjQus5tZlPn15Cn50LY7vTmZm0fbsRIpspeFh9ujGd9fDQzlDYTpFYwCkHOzuiDUbjjPpZQly2TRltxgdYGr11clFWWfQAqRbQnIkraSBYK1ZLujJS798bjK6KOnE-4AFIVxVHMnCRSCzRlEGXWI9lzv83k";

    fn check(token: &str, alg: &str, n: &str) -> Result<(), Rejection> {
        let keys = [json!({"kty": "RSA", "kid": "small", "e": "AQAB", "n": n})];
        let algs = [alg.to_string()];
        let expected = Expected {
            issuer: "https://id.example.com",
            client_id: "romm",
            nonce: "n",
            access_token: None,
            allowed_algs: &algs,
            now: 0,
        };
        verify(token, &keys, &expected).map(|_| ())
    }

    #[test]
    fn a_1024_bit_key_verifies_as_romm_verifies_it() {
        for (token, alg) in [(RS256, "RS256"), (RS512, "RS512")] {
            // The signature passes; the claims then fail (the token has only iss).
            match check(token, alg, N1024) {
                Err(Rejection::MissingClaim(_) | Rejection::Audience { .. }) => {}
                other => panic!("{alg}: {other:?}"),
            }
            let mut tampered = N1024.to_string();
            tampered.replace_range(10..11, "A");
            assert_eq!(check(token, alg, &tampered), Err(Rejection::BadSignature));
        }
    }
}
