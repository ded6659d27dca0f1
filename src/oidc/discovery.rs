//! The provider's discovery document, read leniently so that every defect can
//! be named (a strict parser would only say "invalid").

use serde_json::{Map, Value};

/// Which provider published the document, from its shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// Pocket ID v2.10 or later (fosite).
    PocketIdModern,
    /// Pocket ID v2.9 or earlier (hand-written OAuth code).
    PocketIdLegacy,
    Other,
}

impl Flavor {
    pub fn is_pocket_id(&self) -> bool {
        !matches!(self, Flavor::Other)
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Flavor::PocketIdModern => "Pocket ID v2.10+ (modern)",
            Flavor::PocketIdLegacy => "Pocket ID v2.9 or earlier (legacy)",
            Flavor::Other => "a generic OIDC provider",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Discovery {
    pub doc: Map<String, Value>,
}

impl Discovery {
    pub fn str(&self, key: &str) -> Option<&str> {
        self.doc.get(key).and_then(Value::as_str)
    }

    /// A string list; `None` when absent, `Some(Err)` when not a list of strings.
    pub fn list(&self, key: &str) -> Option<Result<Vec<&str>, ()>> {
        self.doc.get(key).map(|v| {
            v.as_array()
                .ok_or(())?
                .iter()
                .map(|item| item.as_str().ok_or(()))
                .collect()
        })
    }

    pub fn issuer(&self) -> Option<&str> {
        self.str("issuer")
    }

    /// The algorithms RomM (authlib) accepts for ID tokens: the advertised
    /// list, or RS256 alone when the field is absent or empty (authlib's
    /// `parse_id_token`). authlib tests membership with Python's `in`, so a
    /// string value allows every algorithm it contains, an object its keys.
    pub fn signing_algs(&self) -> Vec<String> {
        match self.doc.get("id_token_signing_alg_values_supported") {
            Some(Value::Array(list)) if !list.is_empty() => list
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(s)) if !s.is_empty() => crate::oidc::id_token::REGISTERED_ALGS
                .iter()
                .filter(|a| s.contains(**a))
                .map(|a| a.to_string())
                .collect(),
            Some(Value::Object(o)) if !o.is_empty() => o.keys().cloned().collect(),
            _ => vec!["RS256".into()],
        }
    }

    /// Whether `claims_supported` lists `email_verified`, which makes RomM
    /// demand the claim be literally `true`.
    pub fn advertises_email_verified(&self) -> bool {
        matches!(self.list("claims_supported"), Some(Ok(c)) if c.contains(&"email_verified"))
    }

    /// Pocket ID publishes its token endpoint at `/api/oidc/token`, its key set
    /// at `/.well-known/jwks.json` and authorizes at `/authorize`; v2.10 (fosite)
    /// added `request_parameter_supported`.
    pub fn flavor(&self) -> Flavor {
        let ends = |key: &str, suffix: &str| self.str(key).is_some_and(|v| v.ends_with(suffix));
        let pocket_id = ends("token_endpoint", "/api/oidc/token")
            && ends("jwks_uri", "/.well-known/jwks.json")
            && ends("authorization_endpoint", "/authorize");
        if !pocket_id {
            Flavor::Other
        } else if self.doc.contains_key("request_parameter_supported") {
            Flavor::PocketIdModern
        } else {
            Flavor::PocketIdLegacy
        }
    }
}
