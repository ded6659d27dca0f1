//! `jwks.keys`: the key set RomM verifies ID tokens with, fetched as RomM
//! fetches it, imported and every key loaded for the advertised algorithms
//! by the same reader the ID-token check verifies with (`oidc::jwk`).

use serde_json::Value;

use super::{json_object, unreachable};
use crate::http::Http;
use crate::oidc::discovery::Discovery;
use crate::oidc::id_token::REGISTERED_ALGS;
use crate::oidc::{jwk, py};
use crate::report::Finding;

const ID: &str = "jwks.keys";

/// Members that only a private or secret key has.
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "k"];

const REPAIR: &str = "Remove or repair the keys RomM cannot verify with.";

pub fn run(http: &Http, discovery: &Discovery) -> Finding {
    // authlib's fetch_jwk_set takes the discovery document's own key set
    // first and fetches jwks_uri only when a token fails with a ValueError.
    if let Some(inline) = discovery.doc.get("jwks").filter(|j| py::truthy(j)) {
        let remark = (
            "the discovery document carries its own jwks member, which RomM verifies with instead of jwks_uri (it fetches jwks_uri only after a token fails); jwks_uri is not checked here",
            "Drop the jwks member from the discovery document and publish the keys at jwks_uri only.",
        );
        return judge(inline, discovery, Some(remark));
    }
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
    let set = match response.json() {
        // authlib takes a bare list of keys as the set.
        Some(list @ Value::Array(_)) => list,
        _ => match json_object(ID, "The key set", &response) {
            Ok(doc) => Value::Object(doc),
            Err(f) => return f.or_fix("Point jwks_uri at the provider's JSON Web Key Set."),
        },
    };
    let bare = set.is_array().then_some((
        "the key set is a bare JSON list, not {\"keys\": [...]}: RomM's authlib reads it, stricter libraries refuse it",
        "Publish the key set as {\"keys\": [...]} (RFC 7517 §5).",
    ));
    judge(&set, discovery, bare)
}

/// Judges the key set as authlib imports it and as each key would verify
/// the advertised algorithms; `remark` is a warning about the set itself,
/// with its fix.
fn judge(set: &Value, discovery: &Discovery, remark: Option<(&str, &str)>) -> Finding {
    let keys = match jwk::members(set) {
        Ok(keys) => keys,
        Err(error) => {
            let found = match set {
                Value::Object(doc) => doc.get("keys").map_or("no keys member", py::kind),
                other => py::kind(other),
            };
            return Finding::fail(ID, "The key set has no \"keys\" array")
                .detail(format!(
                    "RomM's authlib raises {} on it, so every login fails.{}",
                    error.exception(),
                    remark
                        .map(|(r, _)| format!("\nNote: {r}."))
                        .unwrap_or_default()
                ))
                .mismatch("{\"keys\": [ … ]}", found)
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
    if let Some((remark, fix)) = remark {
        problems.push((false, remark.to_string()));
        fixes.push(fix);
    }
    for (i, key) in keys.iter().enumerate() {
        let label = match key.get("kid") {
            Some(Value::String(kid)) => format!("key {kid}"),
            Some(kid) if !kid.is_null() => format!("key {}", py::shown(kid)),
            _ => format!("key {i}"),
        };
        if let Some(key) = key.as_object() {
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
        let key = match jwk::import_key(key) {
            Ok(key) => key,
            Err(error) => {
                breaks.push(format!("{label} {} ({})", error.why, error.exception));
                continue;
            }
        };
        // The algorithms whose prepare_key takes this key: the advertised
        // ones, else any (to name what the key could do).
        let fitting = |algs: &mut dyn Iterator<Item = &str>| -> Vec<String> {
            algs.filter(|a| *a != "none" && jwk::fits(a, key).is_ok())
                .map(str::to_string)
                .collect()
        };
        let advertised = fitting(&mut algs.iter().map(String::as_str));
        let possible = fitting(&mut REGISTERED_ALGS.iter().copied());
        if possible.is_empty() {
            let crv = key.get("crv").map(py::shown).unwrap_or_default();
            problems.push((false, format!("{label} is an EC key on curve {crv}, which no algorithm authlib knows takes: RomM refuses every ID token signed under it")));
            fixes.push(REPAIR);
            continue;
        }
        let tried = if advertised.is_empty() {
            &possible
        } else {
            &advertised
        };
        let mut loaded = Vec::new();
        let mut refusal = None;
        for alg in tried {
            match jwk::prepare(alg, key) {
                Ok(prepared) => match prepared.usable() {
                    Ok(()) => loaded.push(prepared),
                    Err(error) => refusal = refusal.or(Some(error.clone())),
                },
                Err(error) => refusal = refusal.or(Some(error)),
            }
        }
        if loaded.is_empty() {
            let error = refusal.expect("every algorithm tried was refused");
            problems.push((
                false,
                format!(
                    "{label} {error} ({}): RomM refuses every ID token signed under it",
                    error.exception()
                ),
            ));
            fixes.push(REPAIR);
            continue;
        }
        if key.get("kid").is_none_or(Value::is_null) {
            problems.push((false, format!("{label} has no kid: RomM's authlib picks it only for ID tokens that name no kid")));
            fixes.push("Give every key a kid.");
        }
        if let Some(bits) = loaded[0].rsa_bits().filter(|b| *b < 2048) {
            problems.push((false, format!("{label} is an RSA key of only {bits} bits: RomM's cryptography still verifies with it, but such a key can be broken; use 2048 bits or more")));
            fixes.push("Rotate the provider's signing key to RSA 2048 or larger (Pocket ID: pocket-id key-rotate).");
        }
        let loose = jwk::loose_members(key);
        if !loose.is_empty() {
            problems.push((false, format!("{label} writes {} with base64 padding, the standard alphabet or stray characters: RomM's authlib reads it, stricter libraries refuse it", loose.join(" and "))));
            fixes.push("Publish key members in unpadded base64url (RFC 7518 §6).");
        }
        if let Some(declared) = key.get("alg").and_then(Value::as_str) {
            if !possible.iter().any(|a| a == declared) {
                problems.push((false, format!("{label} declares alg {declared}, which it cannot do; RomM's authlib ignores a key's alg and uses it for {}", possible.join("/"))));
                fixes.push("Correct the alg published on the keys (or drop it).");
            } else if !algs.iter().any(|a| a == declared) {
                problems.push((false, format!("{label} declares alg {declared}, which the provider does not advertise (id_token_signing_alg_values_supported: {})", algs.join(", "))));
                fixes.push("Advertise the algorithm the provider signs with, or publish the key it signs with.");
            }
        }
        if advertised.is_empty() {
            problems.push((
                false,
                format!(
                    "{label} verifies only {}, which the provider does not advertise for ID tokens",
                    possible.join("/")
                ),
            ));
            continue;
        }
        usable.push(label);
    }
    let kids: Vec<&Value> = keys
        .iter()
        .filter_map(|k| k.get("kid"))
        .filter(|k| !k.is_null())
        .collect();
    for (i, kid) in kids.iter().enumerate() {
        let count = kids.iter().filter(|k| py::eq(k, kid)).count();
        if count > 1 && !kids[..i].iter().any(|k| py::eq(k, kid)) {
            let kid = kid.as_str().map_or_else(|| py::shown(kid), str::to_string);
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
