//! `jwks.keys`: the provider's key set, fetched as RomM fetches it, and every
//! key judged for what authlib needs to verify an ID token with it.

use serde_json::Value;

use super::{json_object, kind, unreachable};
use crate::http::Http;
use crate::oidc::discovery::Discovery;
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
        Err(f) => return f.fix("Point jwks_uri at the provider's JSON Web Key Set."),
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
    let mut usable = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let Some(key) = key.as_object() else {
            problems.push((true, format!("key {i} is {}, not an object", kind(key))));
            continue;
        };
        let kid = key.get("kid").and_then(Value::as_str);
        let label = kid
            .map(|k| format!("key {k}"))
            .unwrap_or(format!("key {i}"));
        let leaked: Vec<&str> = PRIVATE_MEMBERS
            .iter()
            .copied()
            .filter(|m| key.contains_key(*m))
            .collect();
        let kty = key.get("kty").and_then(Value::as_str).unwrap_or("");
        if kty == "oct" {
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
        if kid.is_none() {
            problems.push((
                false,
                format!("{label} has no kid; ID tokens cannot name it"),
            ));
        }
        let usage = key.get("use").and_then(Value::as_str);
        if usage.is_some_and(|u| u != "sig") {
            problems.push((
                false,
                format!("{label} is for use {:?}, not signing", usage.unwrap_or("")),
            ));
            continue;
        }
        let member = |m: &str| {
            key.get(m)
                .and_then(Value::as_str)
                .is_some_and(|v| !v.is_empty())
        };
        let shape = match kty {
            "RSA" if member("n") && member("e") => {
                Ok(vec!["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"])
            }
            "RSA" => Err("an RSA key without n and e".to_string()),
            "EC" => match key.get("crv").and_then(Value::as_str) {
                Some(crv) if !(member("x") && member("y")) => {
                    Err(format!("an EC {crv} key without x and y"))
                }
                Some("P-256") => Ok(vec!["ES256"]),
                Some("P-384") => Ok(vec!["ES384"]),
                Some("P-521") => Ok(vec!["ES512"]),
                other => Err(format!("an EC key on unsupported curve {other:?}")),
            },
            "OKP" => match key.get("crv").and_then(Value::as_str) {
                Some("Ed25519") if member("x") => Ok(vec!["EdDSA"]),
                Some("Ed25519") => Err("an Ed25519 key without x".into()),
                other => Err(format!("an OKP key on unsupported curve {other:?}")),
            },
            "" => Err("a key without kty".into()),
            other => Err(format!("of unsupported type {other:?}")),
        };
        match shape {
            Err(why) => problems.push((true, format!("{label} is {why}"))),
            Ok(fits) => {
                let declared = key.get("alg").and_then(Value::as_str);
                if let Some(alg) = declared
                    && !fits.contains(&alg)
                {
                    problems.push((
                        true,
                        format!("{label} declares alg {alg}, which does not fit a {kty} key"),
                    ));
                    continue;
                }
                let fits: Vec<&str> = match declared {
                    Some(alg) => vec![alg],
                    None => fits,
                };
                if fits.iter().any(|a| algs.iter().any(|s| s == a)) {
                    usable.push(label);
                }
            }
        }
    }
    let hard = problems.iter().any(|(fail, _)| *fail);
    let leaked = problems
        .iter()
        .any(|(_, t)| t.contains("private") || t.contains("symmetric"));
    let count = keys.len();
    let detail = problems
        .iter()
        .map(|(f, t)| format!("{} {t}", if *f { "✘" } else { "⚠" }))
        .collect::<Vec<_>>()
        .join("\n");
    if leaked {
        return Finding::fail(ID, "Unsafe key set: it publishes a private or secret key")
            .detail(detail)
            .mismatch("public keys only", "a key with private members or a symmetric (oct) key")
            .fix("Remove the private or symmetric key from jwks_uri at once and rotate the provider's signing key: anyone could sign tokens with it.");
    }
    if usable.is_empty() {
        return Finding::fail(ID, format!("No key in the set can verify {} ID tokens", algs.join("/")))
            .detail(detail)
            .mismatch(format!("a public key for {}", algs.join(" or ")), format!("{count} key(s), none usable"))
            .fix("Publish the public key the provider signs ID tokens with (Pocket ID: `pocket-id key-rotate` creates a fresh one).");
    }
    if hard {
        return Finding::fail(
            ID,
            format!(
                "{} of {count} keys are broken or unsafe",
                problems.iter().filter(|p| p.0).count()
            ),
        )
        .detail(detail)
        .fix("Remove private, symmetric and malformed keys from the published key set.");
    }
    if !problems.is_empty() {
        return Finding::warn(
            ID,
            format!("{count} key(s); {} usable, with remarks", usable.len()),
        )
        .detail(detail)
        .fix("Give every key a kid and use \"sig\".");
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
