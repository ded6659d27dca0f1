//! What must change on a Pocket ID client for RomM, decided in one place: the
//! doctor judges a client by it (`pocketid.client`, `pocketid.callbacks`) and
//! the wizard applies it. RomM (authlib 1.6.12) authenticates with its client
//! secret (`client_secret_basic`), sends no `code_challenge` and a plain
//! authorization request, and is redirected back to `OIDC_REDIRECT_URI`; so
//! the client must be confidential, with PKCE and PAR off, and admit that
//! callback (and, for the wizard's login test, the loopback one).

use std::fmt;

use serde_json::{Value, json};

use super::callbacks::{self, Family};
use crate::oidc::loopback::PORTLESS_CALLBACK;
use crate::version::Version;

// The login test's callback on Pocket ID 2.x is the port-less loopback one,
// which matches any port (RFC 8252 §7.3; `GetCallbackURLFromList` since
// v2.0.0).

/// The same on 1.x, whose matcher compares the port too and reads every `*`
/// as `.*` over the whole URL (v1.16.0 `oidc_service.go`,
/// `getCallbackURLFromList`).
const LOOPBACK_CALLBACK_V1: &str = "http://127.0.0.1:*/callback";

/// A callback URL the client must admit.
#[derive(Clone, Copy, Debug)]
pub enum Callback<'a> {
    /// This URL (RomM's `OIDC_REDIRECT_URI`).
    Exact(&'a str),
    /// The login test's loopback callback, on whatever port it listens.
    Loopback,
}

/// One change the client needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// "Public client" is on: such a client has no secret to send.
    Public,
    /// "PKCE" is on: Pocket ID then refuses a request without `code_challenge`.
    Pkce,
    /// "Requires PAR" is on: Pocket ID then refuses a plain authorization request.
    Par,
    /// A callback URL to add.
    Callback(String),
}

/// The wizard's wording, also in its closing list of changes.
impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Public => f.write_str("Public client: on → off"),
            Change::Pkce => f.write_str("PKCE: on → off"),
            Change::Par => f.write_str("Requires PAR: on → off"),
            Change::Callback(url) => write!(f, "callback URL added: {url}"),
        }
    }
}

/// The flags RomM needs off, in the order they are judged.
const FLAGS: [(&str, Change); 3] = [
    ("isPublic", Change::Public),
    ("pkceEnabled", Change::Pkce),
    ("requiresPushedAuthorizationRequests", Change::Par),
];

/// A client as RomM needs it.
#[derive(Debug)]
pub struct ClientPlan {
    /// The whole body to send: a PUT of the client read (every field kept,
    /// the changes applied), or the POST that creates a new one.
    pub body: Value,
    /// What differs from the client read; empty when it suits RomM.
    pub changes: Vec<Change>,
    /// The callback rules the server applies.
    pub family: Family,
}

impl ClientPlan {
    /// Whether the plan adds `url`, that is the client does not admit it.
    pub fn adds(&self, url: &str) -> bool {
        self.changes
            .iter()
            .any(|c| matches!(c, Change::Callback(u) if u == url))
    }
}

/// The callback rules of the server: its version's, or — before v2.3, which
/// has no version endpoint — those its client shows: `isGroupRestricted`
/// came with v2.0.0 (pocketid-admin-api.md §7).
pub fn family(client: Option<&Value>, version: Option<Version>) -> Family {
    match version {
        Some(v) if v < (2, 0, 0) => Family::V1,
        Some(_) => Family::V2,
        None if client.is_some_and(|c| c.get("isGroupRestricted").is_none()) => Family::V1,
        None => Family::V2,
    }
}

/// The first of `registered` that admits `url` under `family`'s rules.
pub fn covering<'a>(
    registered: impl IntoIterator<Item = &'a str>,
    url: &str,
    family: Family,
) -> Option<&'a str> {
    registered
        .into_iter()
        .find(|pattern| callbacks::matches(pattern, url, family))
}

/// The full update body of a client (every field of Pocket ID's PUT), taken
/// from a GET of it, so a PUT changes only what the plan then sets.
fn client_update_body(client: &Value) -> Value {
    let keep = [
        "name",
        "description",
        "callbackURLs",
        "logoutCallbackURLs",
        "isPublic",
        "pkceEnabled",
        "requiresReauthentication",
        "requiresPushedAuthorizationRequests",
        "skipConsent",
        "isGroupRestricted",
        "launchURL",
        "accessTokenDurationMinutes",
        "refreshTokenDurationMinutes",
    ];
    let mut body = serde_json::Map::new();
    for key in keep {
        if let Some(v) = client.get(key) {
            body.insert(key.into(), v.clone());
        }
    }
    if let Some(federated) = client
        .get("credentials")
        .and_then(|c| c.get("federatedIdentities"))
    {
        body.insert(
            "credentials".into(),
            json!({ "federatedIdentities": federated }),
        );
    }
    Value::Object(body)
}

/// A new client named RomM, as RomM needs it, before its callbacks.
fn new_client() -> Value {
    json!({
        "name": "RomM",
        "callbackURLs": [],
        "logoutCallbackURLs": [],
        "isPublic": false,
        "pkceEnabled": false,
        "requiresReauthentication": false,
        "isGroupRestricted": false,
    })
}

/// What must change on `client` (`None`: a client to create) for RomM to log
/// in through it, with every `wanted` callback admitted.
pub fn client_plan(
    client: Option<&Value>,
    wanted: &[Callback<'_>],
    version: Option<Version>,
) -> ClientPlan {
    let family = family(client, version);
    let mut body = client.map_or_else(new_client, client_update_body);
    let mut changes = Vec::new();
    for (field, change) in FLAGS {
        if body.get(field).and_then(Value::as_bool) == Some(true) {
            body[field] = Value::Bool(false);
            changes.push(change);
        }
    }
    let mut urls: Vec<Value> = body
        .get("callbackURLs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for want in wanted {
        let url = match want {
            Callback::Exact(url) => url,
            Callback::Loopback if family == Family::V1 => LOOPBACK_CALLBACK_V1,
            Callback::Loopback => PORTLESS_CALLBACK,
        };
        if covering(urls.iter().filter_map(Value::as_str), url, family).is_none() {
            urls.push(Value::String(url.to_string()));
            changes.push(Change::Callback(url.to_string()));
        }
    }
    body["callbackURLs"] = Value::Array(urls);
    ClientPlan {
        body,
        changes,
        family,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{Callback, Change, client_plan, family};
    use crate::pocketid::callbacks::Family;

    const ROMM: &str = "https://romm.example.com/api/oauth/openid";
    const WANTED: [Callback<'static>; 2] = [Callback::Exact(ROMM), Callback::Loopback];

    /// A client as Pocket ID 2.x returns it: confidential, PKCE off, RomM's callback.
    fn good() -> Value {
        json!({
            "id": "romm",
            "name": "RomM",
            "callbackURLs": [ROMM],
            "logoutCallbackURLs": [],
            "isPublic": false,
            "pkceEnabled": false,
            "requiresPushedAuthorizationRequests": false,
            "isGroupRestricted": false,
            "hasLogo": false,
        })
    }

    fn with(field: &str, value: Value) -> Value {
        let mut client = good();
        client[field] = value;
        client
    }

    fn callbacks(plan: &super::ClientPlan) -> Vec<&str> {
        plan.body["callbackURLs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect()
    }

    #[test]
    fn a_suitable_client_needs_nothing_and_is_sent_back_as_read() {
        let plan = client_plan(Some(&good()), &[Callback::Exact(ROMM)], Some((2, 14, 0)));
        assert_eq!(plan.changes, []);
        // Only the fields of Pocket ID's update body, unchanged.
        let mut expected = good();
        for read_only in ["id", "hasLogo"] {
            expected.as_object_mut().unwrap().remove(read_only);
        }
        assert_eq!(plan.body, expected);
    }

    /// One rule a flag: on, it is turned off and the change says so.
    #[test]
    fn each_flag_on_is_turned_off() {
        for (field, change, wording) in [
            ("isPublic", Change::Public, "Public client: on → off"),
            ("pkceEnabled", Change::Pkce, "PKCE: on → off"),
            (
                "requiresPushedAuthorizationRequests",
                Change::Par,
                "Requires PAR: on → off",
            ),
        ] {
            let plan = client_plan(Some(&with(field, json!(true))), &[], None);
            assert_eq!(plan.changes, [change], "{field}");
            assert_eq!(plan.body[field], false, "{field}");
            assert_eq!(plan.changes[0].to_string(), wording);
            // Off already, or absent (1.x has no PAR): nothing to change.
            let mut absent = good();
            absent.as_object_mut().unwrap().remove(field);
            assert_eq!(client_plan(Some(&absent), &[], None).changes, [], "{field}");
        }
    }

    #[test]
    fn flags_are_judged_public_first_then_pkce_then_par() {
        let mut client = good();
        for field in [
            "requiresPushedAuthorizationRequests",
            "pkceEnabled",
            "isPublic",
        ] {
            client[field] = json!(true);
        }
        let plan = client_plan(Some(&client), &[], None);
        assert_eq!(plan.changes, [Change::Public, Change::Pkce, Change::Par]);
    }

    #[test]
    fn a_missing_callback_is_added_after_the_registered_ones() {
        let client = with("callbackURLs", json!(["https://other.example.com/cb"]));
        let plan = client_plan(Some(&client), &[Callback::Exact(ROMM)], Some((2, 14, 0)));
        assert_eq!(plan.changes, [Change::Callback(ROMM.into())]);
        assert!(plan.adds(ROMM));
        assert_eq!(callbacks(&plan), ["https://other.example.com/cb", ROMM]);
        assert_eq!(
            plan.changes[0].to_string(),
            format!("callback URL added: {ROMM}")
        );
    }

    #[test]
    fn a_callback_admitted_by_a_pattern_is_not_added() {
        let client = with(
            "callbackURLs",
            json!(["https://*.example.com/api/oauth/openid"]),
        );
        let plan = client_plan(Some(&client), &[Callback::Exact(ROMM)], Some((2, 14, 0)));
        assert_eq!(plan.changes, []);
        assert!(!plan.adds(ROMM));
    }

    #[test]
    fn a_trailing_slash_does_not_admit_the_callback() {
        let client = with("callbackURLs", json!([format!("{ROMM}/")]));
        let plan = client_plan(Some(&client), &[Callback::Exact(ROMM)], Some((2, 14, 0)));
        assert!(plan.adds(ROMM));
    }

    #[test]
    fn the_loopback_callback_is_port_less_on_2x() {
        let plan = client_plan(Some(&good()), &WANTED, Some((2, 0, 0)));
        assert_eq!(
            plan.changes,
            [Change::Callback("http://127.0.0.1/callback".into())]
        );
        // 2.1+ tries the request as sent, then without its port: either
        // form admits any port (2.0.x tried only the port-less form).
        for registered in ["http://127.0.0.1/callback", "http://127.0.0.1:*/callback"] {
            let client = with("callbackURLs", json!([ROMM, registered]));
            let plan = client_plan(Some(&client), &WANTED, Some((2, 14, 0)));
            assert_eq!(plan.changes, [], "{registered}");
        }
    }

    #[test]
    fn the_loopback_callback_has_a_port_pattern_on_1x() {
        let plan = client_plan(Some(&good()), &WANTED, Some((1, 16, 0)));
        assert_eq!(
            plan.changes,
            [Change::Callback("http://127.0.0.1:*/callback".into())]
        );
        // 1.x compares the port: the port-less form does not admit the test.
        let client = with("callbackURLs", json!([ROMM, "http://127.0.0.1/callback"]));
        let plan = client_plan(Some(&client), &WANTED, Some((1, 16, 0)));
        assert_eq!(
            callbacks(&plan),
            [
                ROMM,
                "http://127.0.0.1/callback",
                "http://127.0.0.1:*/callback"
            ]
        );
    }

    #[test]
    fn without_a_version_the_client_tells_1x_from_2x() {
        let mut v1 = good();
        v1.as_object_mut().unwrap().remove("isGroupRestricted");
        assert_eq!(family(Some(&v1), None), Family::V1);
        assert_eq!(family(Some(&good()), None), Family::V2);
        // A version, when known, decides.
        assert_eq!(family(Some(&v1), Some((2, 1, 0))), Family::V2);
        assert_eq!(family(Some(&good()), Some((1, 9, 0))), Family::V1);
        // Nothing to read: 2.x.
        assert_eq!(family(None, None), Family::V2);
        let plan = client_plan(Some(&v1), &WANTED, None);
        assert!(plan.adds("http://127.0.0.1:*/callback"), "{plan:?}");
        // 1.x: `*` crosses every separator.
        let wide = with("callbackURLs", json!(["https://*/openid"]));
        let mut wide_v1 = wide.clone();
        wide_v1.as_object_mut().unwrap().remove("isGroupRestricted");
        assert!(!client_plan(Some(&wide_v1), &[Callback::Exact(ROMM)], None).adds(ROMM));
        assert!(client_plan(Some(&wide), &[Callback::Exact(ROMM)], None).adds(ROMM));
    }

    #[test]
    fn a_new_client_is_confidential_without_pkce_and_has_the_callbacks() {
        let plan = client_plan(None, &WANTED, Some((2, 14, 0)));
        assert_eq!(
            plan.body,
            json!({
                "name": "RomM",
                "callbackURLs": [ROMM, "http://127.0.0.1/callback"],
                "logoutCallbackURLs": [],
                "isPublic": false,
                "pkceEnabled": false,
                "requiresReauthentication": false,
                "isGroupRestricted": false,
            })
        );
        let v1 = client_plan(None, &WANTED, Some((1, 16, 0)));
        assert_eq!(callbacks(&v1), [ROMM, "http://127.0.0.1:*/callback"]);
    }

    #[test]
    fn a_client_without_callbacks_gets_them() {
        let mut client = good();
        client["callbackURLs"] = Value::Null;
        let plan = client_plan(Some(&client), &[Callback::Exact(ROMM)], Some((2, 9, 0)));
        assert_eq!(plan.changes, [Change::Callback(ROMM.into())]);
        assert_eq!(callbacks(&plan), [ROMM]);
    }
}
