//! With a Pocket ID admin API key: the RomM client's real configuration, its
//! callback URLs matched with Pocket ID's own rules, the RomM user's
//! `emailVerified`, and a claims preview judged with RomM's rules.

use serde_json::Value;

use super::login;
use crate::checks::id;
use crate::http::Http;
use crate::oidc::discovery::{Discovery, Flavor};
use crate::pocketid::plan::{Callback, Change, client_plan, covering};
use crate::pocketid::{Api, ApiError};
use crate::report::{Finding, Status};
use crate::settings::{OIDC_CLIENT_ID, OIDC_REDIRECT_URI, Settings};
use crate::version::{self, Version};

fn skip_all(why: &str) -> Vec<Finding> {
    id::POCKET_ID
        .iter()
        .map(|id| Finding::skip(id, why))
        .collect()
}

fn api_failure(id: &'static str, what: &str, error: &ApiError) -> Finding {
    let (summary, fix) = match error.status() {
        Some(401) => (
            "the API key was refused (wrong, or expired)".to_string(),
            "Create a new key under Pocket ID Settings → Admin → API Keys and pass it with --pocket-id-api-key-file.",
        ),
        Some(403) => (
            "the API key's owner may not do this (not an admin, or disabled)".to_string(),
            "Create the key while signed in as a Pocket ID admin.",
        ),
        Some(404) => (
            "this Pocket ID has no such endpoint or record".to_string(),
            "Upgrade Pocket ID, or check the id.",
        ),
        _ => (
            format!("{error}"),
            "Check that the issuer URL reaches Pocket ID's API.",
        ),
    };
    Finding::fail(id, format!("{what}: {summary}"))
        .detail(error.to_string())
        .fix(fix)
}

fn version_text(version: Option<Version>, flavor: &Flavor) -> String {
    match version {
        Some((a, b, c)) => format!("v{a}.{b}.{c}"),
        None => flavor.describe().to_string(),
    }
}

/// Where to mark a user verified, for the version at hand.
pub fn verify_ui_path(version: Option<Version>) -> &'static str {
    match version {
        Some(v) if v < (2, 2, 0) => {
            "Settings → Admin → Application Configuration → General → tick \"Emails Verified\" (before 2.2 it applies to every user)"
        }
        _ => {
            "Settings → Admin → Users → edit the user → \"Mark as verified\" → Save (\"Emails verified by default\" changes new users only, pocket-id#1264)"
        }
    }
}

pub fn run(
    settings: &Settings,
    http: &Http,
    discovery: &Discovery,
    email: Option<&str>,
) -> Vec<Finding> {
    let Some(key) = settings.api_key.as_ref() else {
        return skip_all(
            "Give --pocket-id-api-key (optional) to read the client and users from Pocket ID",
        );
    };
    let flavor = discovery.flavor();
    if !flavor.is_pocket_id() {
        return skip_all("The provider is not Pocket ID");
    }
    let Some(base) = crate::pocketid::api_base(settings) else {
        return skip_all("No provider URL to reach Pocket ID's API at");
    };
    let api = Api::new(http, &base, key);
    let (version_finding, version) = match server_version(&api) {
        Ok(found) => found,
        Err((refused, why)) => return skip_rest(vec![refused], why),
    };
    let mut out = vec![version_finding];
    let Some(client_id) = settings.value(OIDC_CLIENT_ID) else {
        return skip_rest(out, "Needs OIDC_CLIENT_ID");
    };
    let client = match read_client(&api, client_id) {
        Ok(client) => client,
        Err(refused) => {
            out.push(refused);
            return skip_rest(out, "Needs the client");
        }
    };
    let user = email.map(|e| api.find_user(e));
    let found = user
        .as_ref()
        .and_then(|u| u.as_ref().ok())
        .and_then(Option::as_ref);
    out.push(client_finding(&client, found, version));
    out.push(callbacks_finding(settings, &client, version, &flavor));
    out.push(users_finding(email, user.as_ref(), version));
    out.push(preview_finding(
        settings,
        discovery,
        &api,
        client_id,
        user.as_ref(),
        email,
    ));
    out
}

/// `out`, then a skip for every check it does not have yet.
fn skip_rest(mut out: Vec<Finding>, why: &str) -> Vec<Finding> {
    let rest: Vec<Finding> = id::POCKET_ID
        .iter()
        .filter(|id| !out.iter().any(|f| f.id == **id))
        .map(|id| Finding::skip(id, why))
        .collect();
    out.extend(rest);
    out
}

/// `pocketid.version`: the key works, its owner is an admin, and the
/// server's version; or the failure, and why the other checks cannot run.
/// `pocketid.version`: the key works and is an admin's, and the server's
/// version; or the refusal with why the other checks cannot run.
pub fn server_version(
    api: &Api<'_>,
) -> Result<(Finding, Option<Version>), (Finding, &'static str)> {
    const ID: &str = id::POCKETID_VERSION;
    let me = api.me().map_err(|e| {
        (
            api_failure(ID, "Pocket ID's API", &e),
            "Needs a working API key",
        )
    })?;
    if me.get("isAdmin").and_then(Value::as_bool) != Some(true) {
        let refused = Finding::fail(ID, "The API key belongs to a user who is not an admin")
            .mismatch("an admin's key", me.get("username").and_then(Value::as_str).unwrap_or("?").to_string())
            .fix("Create the key while signed in as a Pocket ID admin (Settings → Admin → API Keys).");
        return Err((refused, "Needs an admin's API key"));
    }
    Ok(match api.version() {
        Ok(Some(v)) => (
            Finding::pass(ID, format!("Pocket ID {v} (the API key is an admin's)"))
                .data(serde_json::json!({ "version": v })),
            version::parse(&v),
        ),
        Ok(None) => (
            Finding::pass(
                ID,
                "Pocket ID older than v2.3 (no version endpoint); advice follows the discovery shape",
            ),
            None,
        ),
        Err(e) => (
            Finding {
                status: Status::Warn,
                ..api_failure(ID, "Reading the version", &e)
            },
            None,
        ),
    })
}

/// The RomM client, or the `pocketid.client` failure that says why not.
fn read_client(api: &Api<'_>, client_id: &str) -> Result<Value, Finding> {
    api.client(client_id).map_err(|e| {
        if e.status() == Some(404) {
            Finding::fail(id::POCKETID_CLIENT, format!("Pocket ID has no client {client_id}"))
                .fix("Copy the Client ID from Settings → Admin → OIDC Clients, or let `romm-oidc wizard --pocket-id-api-key …` create the client.")
        } else {
            api_failure(id::POCKETID_CLIENT, "Reading the client", &e)
        }
    })
}

/// The `name`s of a list of Pocket ID user groups.
fn group_names(groups: Option<&Value>) -> Vec<String> {
    groups
        .and_then(Value::as_array)
        .map(|g| {
            g.iter()
                .filter_map(|g| g.get("name").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `pocketid.client`: the client's flags as the plan judges them, then
/// whether its group restriction lets the RomM user in.
fn client_finding(client: &Value, user: Option<&Value>, version: Option<Version>) -> Finding {
    const ID: &str = id::POCKETID_CLIENT;
    let name = client.get("name").and_then(Value::as_str).unwrap_or("?");
    let plan = client_plan(Some(client), &[], version);
    if let Some(refused) = plan.changes.iter().find_map(|c| flag_finding(name, c)) {
        return refused;
    }
    let groups = group_names(client.get("allowedUserGroups"));
    let restricted = client
        .get("isGroupRestricted")
        .and_then(Value::as_bool)
        .unwrap_or(!groups.is_empty());
    if restricted && let Some(refused) = groups_finding(name, &groups, user) {
        return refused;
    }
    Finding::pass(
        ID,
        format!(
            "Client \"{name}\" is confidential, PKCE off{}",
            if restricted {
                ", and the user is in an allowed group"
            } else {
                ""
            }
        ),
    )
}

/// Why Pocket ID refuses RomM's login through a client that needs `change`
/// (`None` for a callback: `pocketid.callbacks` judges those).
fn flag_finding(name: &str, change: &Change) -> Option<Finding> {
    const ID: &str = id::POCKETID_CLIENT;
    Some(match change {
        Change::Public => Finding::fail(ID, format!("Client \"{name}\" is public"))
            .detail("RomM authenticates with a client secret and sends no PKCE; a public client has no secret and demands PKCE.")
            .mismatch("Public client: off", "Public client: on")
            .fix("Pocket ID → OIDC Clients → RomM: untick \"Public client\", save, then create a client secret."),
        Change::Pkce => Finding::fail(ID, format!("Client \"{name}\" requires PKCE"))
            .detail("RomM sends no code_challenge, so Pocket ID refuses: \"This client requires PKCE, but the 'code_challenge' parameter is missing.\"")
            .mismatch("PKCE: off", "PKCE: on")
            .fix("Pocket ID → OIDC Clients → RomM: untick \"PKCE\" and save."),
        Change::Par => Finding::fail(ID, format!("Client \"{name}\" requires pushed authorization requests"))
            .detail("RomM sends a plain authorization request; Pocket ID refuses it: \"This client requires pushed authorization requests\".")
            .fix("Pocket ID → OIDC Clients → RomM: untick \"Requires PAR\"."),
        Change::Callback(_) => return None,
    })
}

/// A group-restricted client: who it keeps out (`None`: the user is in).
fn groups_finding(name: &str, groups: &[String], user: Option<&Value>) -> Option<Finding> {
    const ID: &str = id::POCKETID_CLIENT;
    if groups.is_empty() {
        return Some(Finding::fail(ID, format!("Client \"{name}\" is restricted to user groups, but lists none: nobody can log in"))
            .fix("Pocket ID → OIDC Clients → RomM → Allowed user groups: add the RomM users' group, or lift the restriction."));
    }
    let Some(user) = user else {
        return Some(
            Finding::warn(
                ID,
                format!(
                    "Client \"{name}\" admits only the groups {}",
                    groups.join(", ")
                ),
            )
            .fix("Give --email to check that the RomM user is in one of them."),
        );
    };
    let member_of = group_names(user.get("userGroups"));
    if member_of.iter().any(|g| groups.contains(g)) {
        return None;
    }
    let who = user
        .get("username")
        .and_then(Value::as_str)
        .unwrap_or("the user");
    Some(Finding::fail(ID, format!("{who} is in none of the client's allowed groups"))
        .detail("Pocket ID shows \"You are not allowed to access this service.\" and never returns to RomM.")
        .mismatch(format!("a member of {}", groups.join(", ")), format!("member of {}", if member_of.is_empty() { "no group".into() } else { member_of.join(", ") }))
        .fix(format!("Pocket ID → Users → {who} → add to one of: {}.", groups.join(", "))))
}

/// `pocketid.callbacks`: whether the client admits RomM's
/// `OIDC_REDIRECT_URI`, by the plan and the server's matching rules.
fn callbacks_finding(
    settings: &Settings,
    client: &Value,
    version: Option<Version>,
    flavor: &Flavor,
) -> Finding {
    const ID: &str = id::POCKETID_CALLBACKS;
    let Some(redirect) = settings.value(OIDC_REDIRECT_URI) else {
        return Finding::skip(ID, "No OIDC_REDIRECT_URI to match");
    };
    let registered: Vec<&str> = client
        .get("callbackURLs")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if registered.is_empty() {
        return no_callbacks(redirect, version, flavor);
    }
    let plan = client_plan(Some(client), &[Callback::Exact(redirect)], version);
    if plan.adds(redirect) {
        return Finding::fail(ID, "Pocket ID will refuse RomM's callback URL")
            .detail(format!(
                "None of the registered callback URLs matches {redirect} under Pocket ID {}'s rules (exact, or a * pattern; a trailing slash and the scheme count). Pocket ID shows \"… is not registered for this client.\"",
                version_text(version, flavor)
            ))
            .mismatch(redirect.to_string(), registered.join(", "))
            .fix(format!("Pocket ID → OIDC Clients → RomM → Callback URLs: add {redirect}"));
    }
    let admitting = covering(registered.iter().copied(), redirect, plan.family).unwrap_or(redirect);
    Finding::pass(
        ID,
        format!("OIDC_REDIRECT_URI {redirect} matches the registered callback {admitting}"),
    )
}

/// A client without callback URLs: refused on 2.10+, adopted by whoever logs
/// in first before.
fn no_callbacks(redirect: &str, version: Option<Version>, flavor: &Flavor) -> Finding {
    const ID: &str = id::POCKETID_CALLBACKS;
    let modern = match version {
        Some(v) => v >= (2, 10, 0),
        None => *flavor == Flavor::PocketIdModern,
    };
    let f = if modern {
        Finding::fail(ID, "The client has no callback URLs").detail(
            "Pocket ID 2.10+ accepts no redirect at all for a client without callback URLs.",
        )
    } else {
        Finding::warn(ID, "The client has no callback URLs")
            .detail("Pocket ID 1.2–2.9 stores the first callback URL it sees on such a client (trust on first use): whoever logs in first decides, and a login test from a laptop would lock RomM out.")
    };
    f.mismatch(redirect.to_string(), "(none)").fix(format!(
        "Pocket ID → OIDC Clients → RomM → Callback URLs: add {redirect}"
    ))
}

fn users_finding(
    email: Option<&str>,
    user: Option<&Result<Option<Value>, ApiError>>,
    version: Option<Version>,
) -> Finding {
    const ID: &str = id::POCKETID_USERS;
    let (Some(email), Some(found)) = (email, user) else {
        return Finding::skip(
            ID,
            "Give --email (the RomM user's) to check that user in Pocket ID",
        );
    };
    let user = match found {
        Ok(Some(u)) => u,
        Ok(None) => {
            return Finding::fail(ID, format!("No Pocket ID user has the email {email}"))
                .detail("RomM matches accounts by email; the Pocket ID user's email must be the RomM user's.")
                .fix(format!("Pocket ID → Settings → Admin → Users: set {email} on the user who logs in to RomM."));
        }
        Err(e) => return api_failure(ID, "Searching users", e),
    };
    let who = user
        .get("username")
        .and_then(Value::as_str)
        .unwrap_or("the user");
    if user.get("disabled").and_then(Value::as_bool) == Some(true) {
        return Finding::fail(ID, format!("{who} is disabled in Pocket ID"))
            .fix(format!("Pocket ID → Users → {who}: enable the account."));
    }
    match user.get("emailVerified").and_then(Value::as_bool) {
        Some(true) => Finding::pass(ID, format!("{who} <{email}> has a verified email")),
        Some(false) => Finding::fail(ID, format!("{who}'s email is not verified: RomM would refuse the login (\"Email is not verified.\")"))
            .detail("Existing users start unverified on Pocket ID 2.2+ (pocket-id#1264), whatever \"Emails verified by default\" says.")
            .mismatch("emailVerified: true", "emailVerified: false")
            .fix(format!("Pocket ID → {} (or let `romm-oidc wizard --pocket-id-api-key …` do it)", verify_ui_path(version))),
        None => Finding::pass(ID, format!("{who} <{email}> exists (before 2.2 the global \"Emails Verified\" setting decides, see pocketid.preview)")),
    }
}

fn preview_finding(
    settings: &Settings,
    discovery: &Discovery,
    api: &Api<'_>,
    client_id: &str,
    user: Option<&Result<Option<Value>, ApiError>>,
    email: Option<&str>,
) -> Finding {
    const ID: &str = id::POCKETID_PREVIEW;
    let Some(Ok(Some(user))) = user else {
        return Finding::skip(ID, "Needs the RomM user (--email) to preview their claims");
    };
    let Some(user_id) = user.get("id").and_then(Value::as_str) else {
        return Finding::skip(ID, "The user has no id");
    };
    let preview = match api.preview(client_id, user_id, &login::romm_scope(settings)) {
        Ok(p) => p,
        Err(e) if e.status() == Some(403) => {
            return Finding::fail(
                ID,
                "Pocket ID would not let this user into RomM (group restriction)",
            )
            .detail(e.to_string())
            .fix("Add the user to one of the client's allowed groups (see pocketid.client).");
        }
        Err(e) if e.status() == Some(404) => {
            return Finding::skip(ID, format!("No preview on this server ({e})"));
        }
        Err(e) => return api_failure(ID, "The claims preview", &e),
    };
    let Some(claims) = preview.get("idToken").and_then(Value::as_object) else {
        return Finding::warn(ID, "The preview has no idToken claims").detail(preview.to_string());
    };
    let userinfo = preview.get("userInfo").and_then(Value::as_object);
    let verdicts = login::judge(settings, discovery, claims, userinfo, email);
    let failed: Vec<&Finding> = verdicts
        .iter()
        .filter(|f| f.status == Status::Fail)
        .collect();
    let data = serde_json::json!({ "claims": claims });
    if failed.is_empty() {
        return Finding::pass(
            ID,
            "The ID token Pocket ID would issue passes RomM's rules (no browser needed)",
        )
        .data(data);
    }
    Finding::fail(
        ID,
        format!(
            "RomM would refuse the ID token Pocket ID would issue: {}",
            failed
                .iter()
                .map(|f| f.summary.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ),
    )
    .detail(
        failed
            .iter()
            .map(|f| f.detail.as_str())
            .filter(|d| !d.is_empty())
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .fix(
        failed
            .iter()
            .map(|f| f.fix.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .data(data)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{callbacks_finding, client_finding};
    use crate::oidc::discovery::Flavor;
    use crate::report::{Finding, Status};
    use crate::settings::{OIDC_REDIRECT_URI, Settings};

    const ROMM: &str = "https://romm.example.com/api/oauth/openid";

    fn client(fields: Value) -> Value {
        let mut client = json!({
            "id": "romm",
            "name": "RomM",
            "callbackURLs": [ROMM],
            "isPublic": false,
            "pkceEnabled": false,
            "requiresPushedAuthorizationRequests": false,
            "isGroupRestricted": false,
        });
        for (k, v) in fields.as_object().unwrap() {
            client[k] = v.clone();
        }
        client
    }

    fn alice(groups: &[&str]) -> Value {
        let groups: Vec<Value> = groups.iter().map(|g| json!({ "name": g })).collect();
        json!({ "username": "alice", "userGroups": groups })
    }

    fn judged(fields: Value, user: Option<&Value>) -> Finding {
        client_finding(&client(fields), user, Some((2, 14, 0)))
    }

    #[test]
    fn a_client_with_a_flag_romm_cannot_meet_fails() {
        for (fields, says) in [
            (
                json!({ "isPublic": true, "pkceEnabled": true }),
                "is public",
            ),
            (json!({ "pkceEnabled": true }), "requires PKCE"),
            (
                json!({ "requiresPushedAuthorizationRequests": true }),
                "requires pushed authorization requests",
            ),
        ] {
            let f = judged(fields, None);
            assert_eq!(f.status, Status::Fail, "{says}");
            assert!(f.summary.ends_with(says), "{}", f.summary);
            assert!(f.fix.contains("untick"), "{}", f.fix);
        }
        assert_eq!(judged(json!({}), None).status, Status::Pass);
    }

    #[test]
    fn a_group_restriction_is_judged_for_the_user() {
        let groups =
            json!({ "isGroupRestricted": true, "allowedUserGroups": [{ "name": "romm" }] });
        let member = judged(groups.clone(), Some(&alice(&["romm"])));
        assert_eq!(member.status, Status::Pass);
        assert!(
            member.summary.contains("allowed group"),
            "{}",
            member.summary
        );
        let outsider = judged(groups.clone(), Some(&alice(&["tv"])));
        assert_eq!(outsider.status, Status::Fail);
        assert_eq!(outsider.found.as_deref(), Some("member of tv"));
        assert_eq!(judged(groups, None).status, Status::Warn);
        let nobody = judged(
            json!({ "isGroupRestricted": true, "allowedUserGroups": [] }),
            None,
        );
        assert!(
            nobody.summary.contains("nobody can log in"),
            "{}",
            nobody.summary
        );
        // 1.x: a group list restricts by itself.
        let mut v1 = client(json!({ "allowedUserGroups": [{ "name": "romm" }] }));
        v1.as_object_mut().unwrap().remove("isGroupRestricted");
        let f = client_finding(&v1, Some(&alice(&[])), None);
        assert_eq!(f.status, Status::Fail);
    }

    fn callbacks(registered: Value, version: Option<(u32, u32, u32)>, v1: bool) -> Finding {
        let settings = Settings::default().with(OIDC_REDIRECT_URI, ROMM.into());
        let mut c = client(json!({ "callbackURLs": registered }));
        if v1 {
            c.as_object_mut().unwrap().remove("isGroupRestricted");
        }
        callbacks_finding(&settings, &c, version, &Flavor::PocketIdLegacy)
    }

    #[test]
    fn romm_s_callback_is_matched_by_the_server_s_rules() {
        let exact = callbacks(json!([ROMM]), Some((2, 14, 0)), false);
        assert_eq!(exact.status, Status::Pass);
        let pattern = callbacks(json!(["https://*.example.com/**"]), Some((2, 14, 0)), false);
        assert_eq!(pattern.status, Status::Pass);
        assert!(
            pattern.summary.ends_with("https://*.example.com/**"),
            "{}",
            pattern.summary
        );
        let slash = callbacks(json!([format!("{ROMM}/")]), Some((2, 14, 0)), false);
        assert_eq!(slash.status, Status::Fail);
        assert_eq!(
            slash.fix,
            format!("Pocket ID → OIDC Clients → RomM → Callback URLs: add {ROMM}")
        );
    }

    /// Pocket ID 1.x reads every `*` as `.*` over the whole URL; a client
    /// without `isGroupRestricted` is 1.x when the version is unknown.
    #[test]
    fn a_1x_client_is_judged_by_1x_rules() {
        let wide = json!(["https://*/openid"]);
        assert_eq!(callbacks(wide.clone(), None, true).status, Status::Pass);
        assert_eq!(
            callbacks(wide.clone(), Some((1, 16, 0)), true).status,
            Status::Pass
        );
        assert_eq!(callbacks(wide, None, false).status, Status::Fail);
    }

    #[test]
    fn no_callbacks_fail_on_2_10_and_warn_before() {
        assert_eq!(
            callbacks(json!([]), Some((2, 10, 0)), false).status,
            Status::Fail
        );
        assert_eq!(
            callbacks(json!([]), Some((2, 9, 0)), false).status,
            Status::Warn
        );
    }
}
