//! `jwks.keys`: the key set RomM verifies ID tokens with, fetched as RomM
//! fetches it, imported and every key loaded for the advertised algorithms
//! by the same reader the ID-token check verifies with (`oidc::jwk`).

use serde_json::Value;

use super::{json_object, unreachable};
use crate::checks::id;
use crate::http::Http;
use crate::oidc::discovery::Discovery;
use crate::oidc::id_token::REGISTERED_ALGS;
use crate::oidc::{jwk, py};
use crate::report::{Finding, Problems};

const ID: &str = id::JWKS_KEYS;

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

/// What one key (or the set) does to RomM's logins.
#[derive(Debug, PartialEq)]
enum KeyProblem {
    /// A private or secret key, published: anyone can sign tokens with it.
    Leaked(String),
    /// authlib cannot import the key, so it imports no key of the set.
    Broken(String),
    /// RomM still imports the set; with the fix, when there is one.
    Remark(String, Option<&'static str>),
}

/// Judges the key set as authlib imports it and as each key would verify
/// the advertised algorithms; `remark` is a warning about the set itself,
/// with its fix.
fn judge(set: &Value, discovery: &Discovery, remark: Option<(&str, &'static str)>) -> Finding {
    let keys = match jwk::members(set) {
        Ok(keys) => keys,
        Err(error) => return no_keys(set, &error, remark.map(|(r, _)| r)),
    };
    if keys.is_empty() {
        return Finding::fail(ID, "The key set is empty")
            .detail("No key means no ID token can be verified; RomM's callback fails.")
            .fix("Give the provider a signing key (Pocket ID creates one at first start; Authentik: select a signing key, romm#540).");
    }
    let algs = discovery.signing_algs();
    let mut problems: Vec<KeyProblem> = remark
        .map(|(text, fix)| KeyProblem::Remark(text.to_string(), Some(fix)))
        .into_iter()
        .collect();
    let mut usable = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let label = label(i, key);
        if judge_key(key, &label, &algs, &mut problems) {
            usable.push(label);
        }
    }
    problems.extend(shared_kids(keys));
    fold(&problems, &usable, keys.len(), &algs)
}

/// The set is not `{"keys": [...]}` (nor a bare list): authlib raises.
fn no_keys(set: &Value, error: &jwk::SetError, remark: Option<&str>) -> Finding {
    let found = match set {
        Value::Object(doc) => doc.get("keys").map_or("no keys member", py::kind),
        other => py::kind(other),
    };
    Finding::fail(ID, "The key set has no \"keys\" array")
        .detail(format!(
            "RomM's authlib raises {} on it, so every login fails.{}",
            error.exception(),
            remark.map(|r| format!("\nNote: {r}.")).unwrap_or_default()
        ))
        .mismatch("{\"keys\": [ … ]}", found)
        .fix("The provider must publish a JSON Web Key Set at jwks_uri.")
}

/// How a key is named in the report: its kid, else its place in the set.
fn label(i: usize, key: &Value) -> String {
    match key.get("kid") {
        Some(Value::String(kid)) => format!("key {kid}"),
        Some(kid) if !kid.is_null() => format!("key {}", py::shown(kid)),
        _ => format!("key {i}"),
    }
}

/// One key's problems, in the order they are reported; whether it verifies
/// an advertised algorithm.
fn judge_key(key: &Value, label: &str, algs: &[String], problems: &mut Vec<KeyProblem>) -> bool {
    if let Some(leaked) = exposed(key, label) {
        problems.push(leaked);
        return false;
    }
    let key = match jwk::import_key(key) {
        Ok(key) => key,
        Err(error) => {
            problems.push(KeyProblem::Broken(format!(
                "{label} {} ({})",
                error.why, error.exception
            )));
            return false;
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
    let loaded = match loaded(key, label, &advertised, &possible) {
        Ok(loaded) => loaded,
        Err(refused) => {
            problems.push(refused);
            return false;
        }
    };
    problems.extend(remarks(key, label, &loaded, algs, &possible));
    if advertised.is_empty() {
        problems.push(KeyProblem::Remark(
            format!(
                "{label} verifies only {}, which the provider does not advertise for ID tokens",
                possible.join("/")
            ),
            None,
        ));
        return false;
    }
    true
}

/// A symmetric key, or one with private members: published to the world.
fn exposed(key: &Value, label: &str) -> Option<KeyProblem> {
    let key = key.as_object()?;
    if key.get("kty").and_then(Value::as_str) == Some("oct") {
        return Some(KeyProblem::Leaked(format!(
            "{label} is a symmetric (oct) key: a secret published to the world"
        )));
    }
    let leaked: Vec<&str> = PRIVATE_MEMBERS
        .iter()
        .copied()
        .filter(|m| key.contains_key(*m))
        .collect();
    (!leaked.is_empty()).then(|| {
        KeyProblem::Leaked(format!(
            "{label} publishes private members {leaked:?}: the provider's private key is public"
        ))
    })
}

/// The key loaded for each algorithm it is tried with (the advertised ones,
/// else every one it fits), or why RomM refuses every token signed under it.
fn loaded(
    key: &jwk::Jwk,
    label: &str,
    advertised: &[String],
    possible: &[String],
) -> Result<Vec<jwk::Prepared>, KeyProblem> {
    if possible.is_empty() {
        let crv = key.get("crv").map(py::shown).unwrap_or_default();
        return Err(KeyProblem::Remark(
            format!(
                "{label} is an EC key on curve {crv}, which no algorithm authlib knows takes: RomM refuses every ID token signed under it"
            ),
            Some(REPAIR),
        ));
    }
    let tried = if advertised.is_empty() {
        possible
    } else {
        advertised
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
        return Err(KeyProblem::Remark(
            format!(
                "{label} {error} ({}): RomM refuses every ID token signed under it",
                error.exception()
            ),
            Some(REPAIR),
        ));
    }
    Ok(loaded)
}

/// What RomM accepts in a usable key but stricter libraries, or safety, do not.
fn remarks(
    key: &jwk::Jwk,
    label: &str,
    loaded: &[jwk::Prepared],
    algs: &[String],
    possible: &[String],
) -> Vec<KeyProblem> {
    let mut out = Vec::new();
    let mut remark =
        |text: String, fix: &'static str| out.push(KeyProblem::Remark(text, Some(fix)));
    if key.get("kid").is_none_or(Value::is_null) {
        remark(
            format!(
                "{label} has no kid: RomM's authlib picks it only for ID tokens that name no kid"
            ),
            "Give every key a kid.",
        );
    }
    if let Some(bits) = loaded[0].rsa_bits().filter(|b| *b < 2048) {
        remark(
            format!(
                "{label} is an RSA key of only {bits} bits: RomM's cryptography still verifies with it, but such a key can be broken; use 2048 bits or more"
            ),
            "Rotate the provider's signing key to RSA 2048 or larger (Pocket ID: pocket-id key-rotate).",
        );
    }
    let loose = jwk::loose_members(key);
    if !loose.is_empty() {
        remark(
            format!(
                "{label} writes {} with base64 padding, the standard alphabet or stray characters: RomM's authlib reads it, stricter libraries refuse it",
                loose.join(" and ")
            ),
            "Publish key members in unpadded base64url (RFC 7518 §6).",
        );
    }
    if let Some(declared) = key.get("alg").and_then(Value::as_str) {
        if !possible.iter().any(|a| a == declared) {
            remark(
                format!(
                    "{label} declares alg {declared}, which it cannot do; RomM's authlib ignores a key's alg and uses it for {}",
                    possible.join("/")
                ),
                "Correct the alg published on the keys (or drop it).",
            );
        } else if !algs.iter().any(|a| a == declared) {
            remark(
                format!(
                    "{label} declares alg {declared}, which the provider does not advertise (id_token_signing_alg_values_supported: {})",
                    algs.join(", ")
                ),
                "Advertise the algorithm the provider signs with, or publish the key it signs with.",
            );
        }
    }
    out
}

/// A kid that names several keys: authlib takes the first of them.
fn shared_kids(keys: &[Value]) -> Vec<KeyProblem> {
    let kids: Vec<&Value> = keys
        .iter()
        .filter_map(|k| k.get("kid"))
        .filter(|k| !k.is_null())
        .collect();
    let mut out = Vec::new();
    for (i, kid) in kids.iter().enumerate() {
        let count = kids.iter().filter(|k| py::eq(k, kid)).count();
        if count > 1 && !kids[..i].iter().any(|k| py::eq(k, kid)) {
            let kid = kid.as_str().map_or_else(|| py::shown(kid), str::to_string);
            out.push(KeyProblem::Remark(format!("kid {kid} names {count} keys; RomM's authlib verifies with the first of them only, so a token signed with another fails"), Some("Give every key its own kid.")));
        }
    }
    out
}

/// The one finding: a leaked key first, then a key authlib cannot import
/// (both break every login), then no usable key, then remarks.
fn fold(problems: &[KeyProblem], usable: &[String], count: usize, algs: &[String]) -> Finding {
    // Keys authlib cannot import are listed first: they decide the outcome.
    let breaks: Vec<&str> = problems
        .iter()
        .filter_map(|p| match p {
            KeyProblem::Broken(text) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let mut listed = Problems::default();
    for text in &breaks {
        listed.fail(*text, "");
    }
    for p in problems {
        match p {
            KeyProblem::Leaked(text) => listed.fail(text, ""),
            KeyProblem::Remark(text, fix) => listed.warn(text, fix.unwrap_or_default()),
            KeyProblem::Broken(_) => {}
        }
    }
    let detail = listed.lines();
    if problems.iter().any(|p| matches!(p, KeyProblem::Leaked(_))) {
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
    let with_remarks = format!(
        "{count} key(s); {} usable for {}, with remarks",
        usable.len(),
        algs.join("/")
    );
    listed.finding(ID, with_remarks).unwrap_or_else(|| {
        Finding::pass(
            ID,
            format!(
                "{count} key(s), usable for {}: {}",
                algs.join("/"),
                usable.join(", ")
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;
    use serde_json::json;

    /// A real RSA-2048 public modulus, so that the key loads.
    const N2048: &str = "lnrIQIkWQIhDyaNFroaCZO2unSaCXJKdZqONh8qQP0n5ZER8pegCA7Py5_WUX9O13XcME6yfxnu8FD1Ii8Xvqczf8JXsZsfqRgdyAzOksGTWoAQro_jTpApTmuvMmq_R9ygjDIFKAh6kSObK5G8kl5SJQP59RCn1U7k7TuK618HwcF6wSoxSOJsQ9sW1V9cMJqkTR3iQdPgea9MSwXQb4a0rjQfMSz7MXMJj6lKIfFh0rm_7G6IY7FECJpfV5QBINzJy7QyyddhCPhyaYrbREgMt-3fIcmkj73HX3dvdU54weTI5Y-eG5FH6RJe3VNY-JQFr93VZmmWFfMJue32lQQ";

    fn rsa(kid: Option<&str>) -> Value {
        let mut key = json!({"kty": "RSA", "n": N2048, "e": "AQAB"});
        if let Some(kid) = kid {
            key["kid"] = json!(kid);
        }
        key
    }

    fn discovery(algs: &[&str]) -> Discovery {
        let doc = json!({ "id_token_signing_alg_values_supported": algs });
        Discovery {
            doc: doc.as_object().cloned().unwrap_or_default(),
        }
    }

    fn keys(keys: &[Value]) -> Value {
        json!({ "keys": keys })
    }

    #[test]
    fn a_clean_set_passes_and_names_its_usable_keys() {
        let f = judge(&keys(&[rsa(Some("a"))]), &discovery(&["RS256"]), None);
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert_eq!(f.summary, "1 key(s), usable for RS256: key a");
    }

    #[test]
    fn a_leaked_key_is_decided_by_its_members_not_by_any_text() {
        let mut private = rsa(Some("signing"));
        private["d"] = json!("AQAB");
        let oct = json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"});
        for leaked in [private, oct] {
            let f = judge(
                &keys(&[rsa(Some("a")), leaked.clone()]),
                &discovery(&["RS256"]),
                None,
            );
            assert_eq!(f.status, Status::Fail, "{leaked}: {f:?}");
            assert!(f.summary.starts_with("Unsafe key set"), "{f:?}");
        }
        // A kid that reads like the leak message is only a name.
        let named = rsa(Some(
            "publishes private members: the provider's private key is public",
        ));
        let f = judge(&keys(&[named]), &discovery(&["RS256"]), None);
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert!(matches!(
            exposed(&json!({"kty": "EC", "d": "x"}), "key 0"),
            Some(KeyProblem::Leaked(_))
        ));
        assert_eq!(exposed(&rsa(None), "key 0"), None);
    }

    #[test]
    fn keys_authlib_cannot_import_are_listed_first_and_break_every_login() {
        let set = json!([rsa(Some("a")), {"kid": "broken", "n": "x"}]);
        let bare = Some(("the key set is a bare list", "Publish {\"keys\": [...]}."));
        let f = judge(&set, &discovery(&["RS256"]), bare);
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(f.summary.contains("authlib cannot import"), "{f:?}");
        let lines: Vec<&str> = f.detail.lines().collect();
        assert!(lines[0].starts_with("✘ key broken"), "{lines:?}");
        assert_eq!(lines[1], "⚠ the key set is a bare list", "{lines:?}");
        assert!(
            f.found
                .as_deref()
                .is_some_and(|x| x.starts_with("key broken"))
        );
    }

    #[test]
    fn remarks_warn_and_each_fix_is_given_once() {
        let f = judge(&keys(&[rsa(None), rsa(None)]), &discovery(&["RS256"]), None);
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert_eq!(f.summary, "2 key(s); 2 usable for RS256, with remarks");
        assert_eq!(f.detail.lines().count(), 2, "{f:?}");
        assert!(f.detail.lines().all(|l| l.starts_with("⚠ key ")), "{f:?}");
        assert_eq!(f.fix, "Give every key a kid.");
    }

    #[test]
    fn a_set_with_no_key_for_the_advertised_algorithms_fails() {
        let f = judge(&keys(&[rsa(Some("a"))]), &discovery(&["ES256"]), None);
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert_eq!(f.summary, "No key in the set can verify ES256 ID tokens");
        assert!(
            f.detail
                .contains("verifies only RS256/RS384/RS512/PS256/PS384/PS512"),
            "{f:?}"
        );
    }

    #[test]
    fn a_kid_shared_by_two_keys_is_a_remark() {
        let problems = shared_kids(&[rsa(Some("k")), rsa(Some("k")), rsa(Some("j"))]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            matches!(&problems[0], KeyProblem::Remark(text, Some(_)) if text.starts_with("kid k names 2 keys")),
            "{problems:?}"
        );
    }
}
