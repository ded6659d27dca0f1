//! The running RomM: its public heartbeat, and the redirect its login route
//! answers, which shows the settings the running process really uses.

use serde_json::Value;
use url::Url;

use super::{json_object, query_param, unreachable};
use crate::checks::id;
use crate::http::{Failure, Http, Response};
use crate::oidc::discovery::Discovery;
use crate::report::Finding;
use crate::settings::{
    OIDC_CLAIM_ROLES, OIDC_CLIENT_ID, OIDC_PROVIDER, OIDC_REDIRECT_URI, OIDC_SERVER_METADATA_URL,
    OIDC_USERNAME_ATTRIBUTE, RESTART, Settings,
};
use crate::version;

/// What the two probes brought back; fetched while discovery runs.
pub struct Answers {
    base: String,
    heartbeat: Result<Response, Failure>,
    login: Result<Response, Failure>,
}

impl Answers {
    /// The Location of RomM's login redirect, when it answered one.
    pub fn login_location(&self) -> Option<&str> {
        self.login
            .as_ref()
            .ok()
            .filter(|r| (300..400).contains(&r.status))
            .and_then(|r| r.location.as_deref())
    }
}

/// Both requests, concurrently; `None` without `--romm-url`.
pub fn fetch(settings: &Settings, http: &Http) -> Option<Answers> {
    let base = settings
        .romm_url
        .as_deref()?
        .trim()
        .trim_end_matches('/')
        .to_string();
    let (heartbeat, login) = std::thread::scope(|s| {
        let heartbeat = s.spawn(|| http.get(&format!("{base}/api/heartbeat")));
        let login = http.get(&format!("{base}/api/login/openid"));
        let heartbeat = heartbeat
            .join()
            .unwrap_or(Err(Failure::Other("probe thread failed".into())));
        (heartbeat, login)
    });
    Some(Answers {
        base,
        heartbeat,
        login,
    })
}

pub fn judge(
    settings: &Settings,
    answers: Option<&Answers>,
    discovery: Option<&Discovery>,
) -> Vec<Finding> {
    let Some(answers) = answers else {
        let skip = |id| Finding::skip(id, "Give --romm-url to check the running RomM");
        return vec![skip(id::ROMM_HEARTBEAT), skip(id::ROMM_LOGIN_REDIRECT)];
    };
    let (heartbeat, version) = heartbeat(settings, answers);
    vec![
        heartbeat,
        login_redirect(settings, answers, discovery, version.as_deref()),
    ]
}

fn heartbeat(settings: &Settings, answers: &Answers) -> (Finding, Option<String>) {
    const ID: &str = id::ROMM_HEARTBEAT;
    let doc = match heartbeat_doc(ID, answers) {
        Ok(doc) => doc,
        Err(f) => return (f, None),
    };
    let version = doc
        .get("SYSTEM")
        .and_then(|s| s.get("VERSION"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let f = judge_heartbeat(ID, settings, &doc, version.as_deref());
    let f = match &version {
        Some(v) => f.data(serde_json::json!({ "version": v })),
        None => f,
    };
    (f, version)
}

/// The heartbeat's JSON object, or the finding that says why there is none.
fn heartbeat_doc(
    id: &'static str,
    answers: &Answers,
) -> Result<serde_json::Map<String, Value>, Finding> {
    let url = format!("{}/api/heartbeat", answers.base);
    let response = match &answers.heartbeat {
        Ok(r) => r,
        Err(failure) => {
            let f = unreachable(id, "RomM's heartbeat", &url, failure);
            let fix = format!(
                "{}\nCheck --romm-url: it is the address users open RomM at.",
                f.fix
            );
            return Err(f.fix(fix));
        }
    };
    if response.status != 200 {
        return Err(Finding::fail(id, format!("RomM's heartbeat answers HTTP {}", response.status))
            .detail(format!("{url}: {}", response.head()))
            .fix("Check that --romm-url is RomM's address (the page users open), and that RomM is running."));
    }
    json_object(id, "RomM's heartbeat", response).map_err(|f| {
        f.or_fix("--romm-url does not point at RomM's API; use the URL users open RomM at.")
    })
}

/// What the running RomM says of its OIDC settings, against these settings.
fn judge_heartbeat(
    id: &'static str,
    settings: &Settings,
    doc: &serde_json::Map<String, Value>,
    version: Option<&str>,
) -> Finding {
    let Some(oidc) = doc.get("OIDC").and_then(Value::as_object) else {
        return Finding::fail(id, "RomM's heartbeat has no OIDC block")
            .detail(format!(
                "RomM {} predates OIDC support (3.7.0).",
                version.unwrap_or("(unknown version)")
            ))
            .fix("Upgrade RomM to 3.7.0 or later (5.x recommended).");
    };
    let shown = version.unwrap_or("(version unknown)");
    let enabled = oidc
        .get("ENABLED")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let provider = oidc.get("PROVIDER").and_then(Value::as_str).unwrap_or("");
    if !enabled {
        return Finding::fail(
            id,
            format!("The running RomM {shown} has OIDC switched off"),
        )
        .mismatch("OIDC.ENABLED true", "OIDC.ENABLED false")
        .fix(oidc_disabled_fix());
    }
    let expected_provider = settings.value(OIDC_PROVIDER).unwrap_or("");
    if provider != expected_provider {
        return Finding::fail(id, "The running RomM shows another provider name than the settings")
            .detail("RomM reads its env only at start: the settings were probably changed without recreating the container.")
            .mismatch(expected_provider, provider)
            .fix(format!("Recreate RomM so it reads the env again: {RESTART}"));
    }
    let ignored = ignored_settings(settings, version.unwrap_or("0"), shown);
    if !ignored.is_empty() {
        return Finding::warn(id, format!("RomM {shown} is too old for some settings"))
            .detail(ignored.join("\n"))
            .fix("Upgrade RomM (5.x) or drop the settings it ignores.");
    }
    Finding::pass(
        id,
        format!("RomM {shown} runs with OIDC on, provider \"{provider}\""),
    )
}

/// The settings a RomM release this old ignores.
fn ignored_settings(settings: &Settings, version: &str, shown: &str) -> Vec<String> {
    let mut notes = Vec::new();
    let v = version::parse(version).unwrap_or_default();
    if settings.value(OIDC_SERVER_METADATA_URL).is_some() && v < (4, 8, 0) {
        notes.push(format!(
            "RomM {shown} ignores OIDC_SERVER_METADATA_URL (needs 4.8.0)"
        ));
    }
    if settings.value(OIDC_USERNAME_ATTRIBUTE).is_some() && v < (4, 5, 0) {
        notes.push(format!(
            "RomM {shown} ignores OIDC_USERNAME_ATTRIBUTE (needs 4.5.0)"
        ));
    }
    if settings.value(OIDC_CLAIM_ROLES).is_some() && v < (4, 3, 1) {
        notes.push(format!("RomM {shown} ignores role mapping (needs 4.3.1)"));
    }
    notes
}

fn login_redirect(
    settings: &Settings,
    answers: &Answers,
    discovery: Option<&Discovery>,
    version: Option<&str>,
) -> Finding {
    const ID: &str = id::ROMM_LOGIN_REDIRECT;
    let url = format!("{}/api/login/openid", answers.base);
    let response = match &answers.login {
        Ok(r) => r,
        Err(failure) => return unreachable(ID, "RomM's login route", &url, failure),
    };
    if response.status == 500 {
        return login_route_error(ID, settings, &url, response);
    }
    if !(300..400).contains(&response.status) {
        return Finding::fail(
            ID,
            format!(
                "RomM's login route answers HTTP {} instead of a redirect",
                response.status
            ),
        )
        .detail(format!("{url}: {}", response.head()))
        .fix(format!(
            "Check that --romm-url is RomM, running {}.",
            version.unwrap_or("3.7.0 or later")
        ));
    }
    let location = response.location.as_deref().unwrap_or("");
    let Ok(target) = Url::parse(location) else {
        return Finding::fail(ID, "RomM's login redirect has no absolute Location")
            .mismatch("<authorization_endpoint>?client_id=…", location);
    };
    let mut base = target.clone();
    base.set_query(None);
    let start = Url::parse(&answers.base).ok();
    let callback = query_param(&target, "redirect_uri").and_then(|r| Url::parse(&r).ok());
    let cookie = response
        .set_cookie
        .iter()
        .find(|c| c.starts_with("romm_session="));
    if let Some(problem) = cookie.and_then(|c| cookie_problem(c, start.as_ref(), callback.as_ref()))
    {
        return problem;
    }
    let mismatches = mismatches(settings, discovery, &target, &base);
    let Some((what, expected, found)) = mismatches.first() else {
        return Finding::pass(
            ID,
            format!("The running RomM redirects to {base} with these settings"),
        )
        .data(serde_json::json!({ "location": location }));
    };
    let detail = mismatches
        .iter()
        .map(|(w, e, f)| format!("{w}: settings say {e}, RomM sends {f}"))
        .collect::<Vec<_>>()
        .join("\n");
    Finding::fail(ID, format!("The running RomM uses other settings ({})", mismatches.iter().map(|m| m.0.as_str()).collect::<Vec<_>>().join(", ")))
        .detail(format!("{detail}\nRomM reads its env only when the container is created; a forgotten restart looks exactly like this."))
        .mismatch(format!("{what} {expected}"), format!("{what} {found}"))
        .fix(format!("If the settings here are the ones you want, recreate RomM so it reads them: {RESTART}"))
}

/// The fix for RomM's "OAuth disabled", shared with `romm.log`.
pub fn oidc_disabled_fix() -> String {
    format!("Set OIDC_ENABLED=true in RomM's env and recreate the container: {RESTART}")
}

/// RomM's login route answered 500: OIDC off in the running process, or
/// (a bare 500) discovery that RomM could not load.
fn login_route_error(
    id: &'static str,
    settings: &Settings,
    url: &str,
    response: &Response,
) -> Finding {
    let detail = response
        .json()
        .and_then(|j| j.get("detail").and_then(Value::as_str).map(str::to_string));
    match detail.as_deref() {
        Some("OAuth disabled") => Finding::fail(id, "RomM answers \"OAuth disabled\"")
            .detail(format!("{url} answered 500 {{\"detail\":\"OAuth disabled\"}}: the running process has OIDC_ENABLED off."))
            .fix(oidc_disabled_fix()),
        Some(other) => Finding::fail(id, format!("RomM's login route fails: {other}")).fix("Check RomM's container log for the traceback."),
        None => Finding::fail(id, "RomM's login route answers a bare 500 Internal Server Error")
            .detail(format!(
                "{url} answered a plain-text 500: RomM could not load the discovery document from its own network (wrong URL, a name its container cannot resolve, an untrusted certificate, or a redirect). The container log shows the traceback (load_server_metadata)."
            ))
            .fix(format!(
                "Fetch discovery from inside the container and compare with this report: docker compose exec romm python3 -c \"import urllib.request;print(urllib.request.urlopen('{}').read()[:200])\"; then fix OIDC_SERVER_APPLICATION_URL (or OIDC_TLS_CACERTFILE) and recreate RomM: {RESTART}",
                settings.discovery_url().unwrap_or_else(|| "<discovery URL>".into())
            )),
    }
}

/// Where the running RomM's authorization request differs from the one
/// these settings make: (what, the settings' value, RomM's value).
fn mismatches(
    settings: &Settings,
    discovery: Option<&Discovery>,
    target: &Url,
    base: &Url,
) -> Vec<(String, String, String)> {
    let mut mismatches: Vec<(String, String, String)> = Vec::new();
    if let Some(endpoint) = discovery.and_then(|d| d.str("authorization_endpoint"))
        && base.as_str().trim_end_matches('/') != endpoint.trim_end_matches('/')
    {
        mismatches.push((
            "authorization endpoint".into(),
            endpoint.into(),
            base.to_string(),
        ));
    }
    let mut compare = |what: &str, expected: Option<String>, found: Option<String>| {
        if expected != found {
            let show = |v: Option<String>| v.unwrap_or_else(|| "(not sent)".into());
            mismatches.push((what.into(), show(expected), show(found)));
        }
    };
    compare(
        "client_id",
        settings.value(OIDC_CLIENT_ID).map(str::to_string),
        query_param(target, "client_id"),
    );
    compare(
        "redirect_uri",
        settings.value(OIDC_REDIRECT_URI).map(str::to_string),
        query_param(target, "redirect_uri"),
    );
    compare(
        "scope",
        Some(super::login::romm_scope(settings)),
        query_param(target, "scope"),
    );
    mismatches
}

/// What a browser does with RomM's session cookie on the way from the login
/// (`start`) to the callback: a `Secure` cookie only lives on https and
/// loopback origins, a `SameSite=Strict` one is not sent with the provider's
/// redirect back (RomM before 4.3.2, romm#1502).
fn cookie_problem(cookie: &str, start: Option<&Url>, callback: Option<&Url>) -> Option<Finding> {
    const ID: &str = id::ROMM_LOGIN_REDIRECT;
    let attrs: Vec<String> = cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase().replace(' ', ""))
        .collect();
    let secure = attrs.iter().any(|a| a == "secure");
    if attrs.iter().any(|a| a == "samesite=strict") {
        return Some(
            Finding::fail(ID, "RomM's session cookie is SameSite=Strict")
                .detail("Browsers do not send a Strict cookie with the provider's redirect back to RomM, so the first callback fails with mismatching_state (romm#1502; RomM 4.3.2 made it Lax while OIDC is on).")
                .mismatch("samesite=lax", cookie.to_string())
                .fix(format!("Upgrade RomM to 4.3.2 or later (5.x recommended) and recreate it: {RESTART}")),
        );
    }
    let insecure = [start, callback]
        .into_iter()
        .flatten()
        .find(|u| !super::config::secure_context(u));
    match insecure {
        Some(url) if secure => Some(
            Finding::fail(ID, "RomM sets a Secure session cookie, but the login runs over plain http")
                .detail(format!(
                    "RomM adds Secure to its cookies when ROMM_SESSION_SECURE_COOKIE=true (5.1+). Browsers keep Secure cookies only on https and loopback origins (localhost, 127.0.0.1, [::1]), so on {} the login state is lost and the callback fails with mismatching_state: CSRF Warning! State not equal in request and response.",
                    url.origin().ascii_serialization()
                ))
                .mismatch("https (or a loopback host) for RomM and its callback", url.to_string())
                .fix("Serve RomM over https (and use that URL for --romm-url and OIDC_REDIRECT_URI), or set ROMM_SESSION_SECURE_COOKIE=false and recreate RomM."),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(u: &str) -> Url {
        Url::parse(u).unwrap()
    }

    #[test]
    fn secure_cookies_live_on_https_and_loopback_only() {
        let secure = "romm_session=x; path=/; Max-Age=1; httponly; samesite=lax; secure";
        for (start, callback) in [
            (
                "http://127.0.0.1:3000",
                "http://127.0.0.1:3000/api/oauth/openid",
            ),
            (
                "http://localhost:3000",
                "http://localhost:3000/api/oauth/openid",
            ),
            ("http://[::1]:3000", "http://[::1]:3000/api/oauth/openid"),
            (
                "https://romm.example.com",
                "https://romm.example.com/api/oauth/openid",
            ),
        ] {
            assert!(
                cookie_problem(secure, Some(&url(start)), Some(&url(callback))).is_none(),
                "{start}"
            );
        }
        let lan = cookie_problem(
            secure,
            Some(&url("http://127.0.0.1:3000")),
            Some(&url("http://romm.lan/api/oauth/openid")),
        )
        .expect("a Secure cookie on plain http to a LAN name is dropped");
        assert!(lan.detail.contains("mismatching_state"), "{lan:?}");
        let plain = "romm_session=x; path=/; Max-Age=1; httponly; samesite=lax";
        assert!(cookie_problem(plain, Some(&url("http://romm.lan")), None).is_none());
    }

    fn heartbeat(value: Value) -> serde_json::Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn the_heartbeat_shows_the_settings_the_running_romm_uses() {
        use crate::checks::test_settings::flags;
        use crate::report::Status;
        let settings = flags(&[(OIDC_PROVIDER, "pocket-id"), (OIDC_CLAIM_ROLES, "groups")]);
        let judged = |doc: Value, version: Option<&str>| {
            judge_heartbeat(id::ROMM_HEARTBEAT, &settings, &heartbeat(doc), version)
        };
        let on = serde_json::json!({"OIDC": {"ENABLED": true, "PROVIDER": "pocket-id"}});
        assert_eq!(judged(on.clone(), Some("5.2.0")).status, Status::Pass);
        let old = judged(on, Some("4.3.0"));
        assert_eq!(old.status, Status::Warn, "{old:?}");
        assert_eq!(old.detail, "RomM 4.3.0 ignores role mapping (needs 4.3.1)");
        let other = judged(
            serde_json::json!({"OIDC": {"ENABLED": true, "PROVIDER": "keycloak"}}),
            Some("4.3.0"),
        );
        assert_eq!(other.status, Status::Fail, "a stale process outweighs age");
        assert_eq!(other.found.as_deref(), Some("keycloak"));
        let off = judged(serde_json::json!({"OIDC": {"ENABLED": false}}), None);
        assert!(
            off.summary
                .contains("(version unknown) has OIDC switched off"),
            "{off:?}"
        );
        let none = judged(serde_json::json!({}), Some("3.6.0"));
        assert!(none.detail.contains("RomM 3.6.0 predates OIDC"), "{none:?}");
    }

    #[test]
    fn a_strict_cookie_is_not_sent_back_from_the_provider() {
        let strict = "romm_session=x; path=/; Max-Age=1; httponly; SameSite=Strict";
        let f = cookie_problem(strict, Some(&url("https://romm.example.com")), None)
            .expect("Strict breaks the callback");
        assert!(f.fix.contains("4.3.2"), "{f:?}");
    }
}
