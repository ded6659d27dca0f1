//! `jwks.keys`: the provider's key set, fetched as RomM fetches it, and every
//! key judged for what authlib needs to verify an ID token with it.

use serde_json::Value;

use super::{json_object, kind, unreachable};
use crate::http::Http;
use crate::oidc::discovery::Discovery;
use crate::oidc::jwk;
use crate::report::Finding;

const ID: &str = "jwks.keys";

/// Members that only a private or secret key has.
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "k"];

pub fn run(http: &Http, discovery: &Discovery) -> Finding {
    let Some(url) = discovery.str("jwks_uri") else {
        return Finding::skip(
            ID,
            "The discovery document has no jwks_uri (see discovery.metadata)",
        );
    };
    let response = match http.get(url) {
        Ok(r) => r,
        Err(failure) => return unreachable(ID, "Fetching the key set", url, &failure),
    };
    if !(200..300).contains(&response.status) {
        return Finding::fail(ID, format!("The key set answers HTTP {}", response.status))
            .detail(format!("{url}: {}", response.head()))
            .mismatch(format!("200 with {{\"keys\": [...]}} at {url}"), format!("HTTP {}", response.status))
            .fix("RomM fetches jwks_uri from its container at the first login; make it answer (Pocket ID: check INTERNAL_APP_URL).");
    }
    let doc = match json_object(ID, "The key set", &response) {
        Ok(doc) => doc,
        Err(f) => return f.or_fix("Point jwks_uri at the provider's JSON Web Key Set."),
    };
    let keys = match doc.get("keys") {
        Some(Value::Array(keys)) => keys,
        other => {
            return Finding::fail(ID, "The key set has no \"keys\" array")
                .mismatch(
                    "{\"keys\": [ … ]}",
                    other.map(kind).unwrap_or("no keys member"),
                )
                .fix("The provider must publish a JSON Web Key Set at jwks_uri.");
        }
    };
    if keys.is_empty() {
        return Finding::fail(ID, "The key set is empty")
            .detail("No key means no ID token can be verified; RomM's callback fails.")
            .fix("Give the provider a signing key (Pocket ID creates one at first start; Authentik: select a signing key, romm#540).");
    }
    let algs = discovery.signing_algs();
    let mut problems: Vec<(bool, String)> = Vec::new();
    let mut breaks = Vec::new();
    let mut fixes: Vec<&str> = Vec::new();
    let mut usable = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let object = key.as_object();
        let kid = object.and_then(|k| k.get("kid")).and_then(Value::as_str);
        let label = kid
            .map(|k| format!("key {k}"))
            .unwrap_or(format!("key {i}"));
        if let Some(key) = object {
            let leaked: Vec<&str> = PRIVATE_MEMBERS
                .iter()
                .copied()
                .filter(|m| key.contains_key(*m))
                .collect();
            if key.get("kty").and_then(Value::as_str) == Some("oct") {
                problems.push((
                    true,
                    format!("{label} is a symmetric (oct) key: a secret published to the world"),
                ));
                continue;
            }
            if !leaked.is_empty() {
                problems.push((true, format!("{label} publishes private members {leaked:?}: the provider's private key is public")));
                continue;
            }
        }
        let usable_key = match jwk::read(key) {
            jwk::Read::Breaks(why) => {
                breaks.push(format!("{label} {why}"));
                continue;
            }
            jwk::Read::Unusable(why) => {
                problems.push((
                    false,
                    format!("{label} {why}: RomM refuses every ID token signed under it"),
                ));
                fixes.push("Remove or repair the keys RomM cannot verify with.");
                continue;
            }
            jwk::Read::Usable(u) => u,
        };
        let key = object.expect("a usable key is an object");
        if kid.is_none() {
            problems.push((false, format!("{label} has no kid: RomM's authlib picks it only for ID tokens that name no kid")));
            fixes.push("Give every key a kid.");
        }
        if let Some(bits) = usable_key.rsa_bits.filter(|b| *b < 2048) {
            problems.push((false, format!("{label} is an RSA key of only {bits} bits: RomM's cryptography still verifies with it, but such a key can be broken; use 2048 bits or more")));
            fixes.push("Rotate the provider's signing key to RSA 2048 or larger (Pocket ID: pocket-id key-rotate).");
        }
        if !usable_key.loose.is_empty() {
            problems.push((false, format!("{label} writes {} with base64 padding, the standard alphabet or stray characters: RomM's authlib reads it, stricter libraries refuse it", usable_key.loose.join(" and "))));
            fixes.push("Publish key members in unpadded base64url (RFC 7518 §6).");
        }
        let can: Vec<&str> = usable_key
            .algs
            .iter()
            .copied()
            .filter(|a| algs.iter().any(|s| s == a))
            .collect();
        if let Some(declared) = key.get("alg").and_then(Value::as_str) {
            if !usable_key.algs.contains(&declared) {
                problems.push((false, format!("{label} declares alg {declared}, which it cannot do; RomM's authlib ignores a key's alg and uses it for {}", usable_key.algs.join("/"))));
                fixes.push("Correct the alg published on the keys (or drop it).");
            } else if !algs.iter().any(|a| a == declared) {
                problems.push((false, format!("{label} declares alg {declared}, which the provider does not advertise (id_token_signing_alg_values_supported: {})", algs.join(", "))));
                fixes.push("Advertise the algorithm the provider signs with, or publish the key it signs with.");
            }
        }
        if can.is_empty() {
            problems.push((
                false,
                format!(
                    "{label} verifies only {}, which the provider does not advertise for ID tokens",
                    usable_key.algs.join("/")
                ),
            ));
            continue;
        }
        usable.push(label);
    }
    let mut seen: Vec<&str> = Vec::new();
    for kid in keys
        .iter()
        .filter_map(|k| k.get("kid").and_then(Value::as_str))
    {
        let count = keys
            .iter()
            .filter(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
            .count();
        if count > 1 && !seen.contains(&kid) {
            seen.push(kid);
            problems.push((false, format!("kid {kid} names {count} keys; RomM's authlib verifies with the first of them only, so a token signed with another fails")));
            fixes.push("Give every key its own kid.");
        }
    }
    let leaked = problems.iter().any(|(unsafe_key, _)| *unsafe_key);
    let count = keys.len();
    let detail = breaks
        .iter()
        .map(|t| format!("✘ {t}"))
        .chain(
            problems
                .iter()
                .map(|(f, t)| format!("{} {t}", if *f { "✘" } else { "⚠" })),
        )
        .collect::<Vec<_>>()
        .join("\n");
    if leaked {
        return Finding::fail(ID, "Unsafe key set: it publishes a private or secret key")
            .detail(detail)
            .mismatch("public keys only", "a key with private members or a symmetric (oct) key")
            .fix("Remove the private or symmetric key from jwks_uri at once and rotate the provider's signing key: anyone could sign tokens with it.");
    }
    if !breaks.is_empty() {
        return Finding::fail(ID, "RomM can verify no ID token: authlib cannot import this key set")
            .detail(format!("{detail}\nRomM's authlib imports every key of the set before it picks one, so a single key it cannot import makes every login fail."))
            .mismatch("keys that each have a kty (RSA, EC or OKP) and its members", breaks.join("; "))
            .fix("Remove the broken keys from jwks_uri (or complete them): every key needs kty and, for RSA, n and e; for EC, crv, x and y; for OKP, crv and x.");
    }
    if usable.is_empty() {
        return Finding::fail(ID, format!("No key in the set can verify {} ID tokens", algs.join("/")))
            .detail(detail)
            .mismatch(format!("a public key for {}", algs.join(" or ")), format!("{count} key(s), none usable"))
            .fix("Publish the public key the provider signs ID tokens with (Pocket ID: `pocket-id key-rotate` creates a fresh one).");
    }
    if !problems.is_empty() {
        let mut unique: Vec<&str> = Vec::new();
        for fix in fixes {
            if !unique.contains(&fix) {
                unique.push(fix);
            }
        }
        return Finding::warn(
            ID,
            format!(
                "{count} key(s); {} usable for {}, with remarks",
                usable.len(),
                algs.join("/")
            ),
        )
        .detail(detail)
        .fix(unique.join("\n"));
    }
    Finding::pass(
        ID,
        format!(
            "{count} key(s), usable for {}: {}",
            algs.join("/"),
            usable.join(", ")
        ),
    )
}
