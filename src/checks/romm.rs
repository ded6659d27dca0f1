//! The running RomM: its public heartbeat, and the redirect its login route
//! answers, which shows the settings the running process really uses.

use serde_json::Value;
use url::Url;

use super::{json_object, unreachable};
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
        return vec![skip("romm.heartbeat"), skip("romm.login-redirect")];
    };
    let (heartbeat, version) = heartbeat(settings, answers);
    vec![
        heartbeat,
        login_redirect(settings, answers, discovery, version.as_deref()),
    ]
}

fn heartbeat(settings: &Settings, answers: &Answers) -> (Finding, Option<String>) {
    const ID: &str = "romm.heartbeat";
    let url = format!("{}/api/heartbeat", answers.base);
    let response = match &answers.heartbeat {
        Ok(r) => r,
        Err(failure) => {
            let f = unreachable(ID, "RomM's heartbeat", &url, failure);
            let fix = format!(
                "{}\nCheck --romm-url: it is the address users open RomM at.",
                f.fix
            );
            return (f.fix(fix), None);
        }
    };
    if response.status != 200 {
        return (
            Finding::fail(ID, format!("RomM's heartbeat answers HTTP {}", response.status))
                .detail(format!("{url}: {}", response.head()))
                .fix("Check that --romm-url is RomM's address (the page users open), and that RomM is running."),
            None,
        );
    }
    let doc = match json_object(ID, "RomM's heartbeat", response) {
        Ok(doc) => doc,
        Err(f) => {
            return (
                f.or_fix(
                    "--romm-url does not point at RomM's API; use the URL users open RomM at.",
                ),
                None,
            );
        }
    };
    let version = doc
        .get("SYSTEM")
        .and_then(|s| s.get("VERSION"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let Some(oidc) = doc.get("OIDC").and_then(Value::as_object) else {
        return (
            Finding::fail(ID, "RomM's heartbeat has no OIDC block")
                .detail(format!(
                    "RomM {} predates OIDC support (3.7.0).",
                    version.as_deref().unwrap_or("(unknown version)")
                ))
                .fix("Upgrade RomM to 3.7.0 or later (5.x recommended)."),
            version,
        );
    };
    let shown = version.as_deref().unwrap_or("(version unknown)");
    let enabled = oidc
        .get("ENABLED")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let provider = oidc.get("PROVIDER").and_then(Value::as_str).unwrap_or("");
    if !enabled {
        return (
            Finding::fail(
                ID,
                format!("The running RomM {shown} has OIDC switched off"),
            )
            .mismatch("OIDC.ENABLED true", "OIDC.ENABLED false")
            .fix(format!(
                "Set OIDC_ENABLED=true in RomM's env and recreate the container: {RESTART}"
            )),
            version,
        );
    }
    let mut notes = Vec::new();
    let v = version
        .as_deref()
        .and_then(version::parse)
        .unwrap_or_default();
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
    let expected_provider = settings.value(OIDC_PROVIDER).unwrap_or("");
    if provider != expected_provider {
        return (
            Finding::fail(ID, "The running RomM shows another provider name than the settings")
                .detail("RomM reads its env only at start: the settings were probably changed without recreating the container.")
                .mismatch(expected_provider, provider)
                .fix(format!("Recreate RomM so it reads the env again: {RESTART}")),
            version,
        );
    }
    if !notes.is_empty() {
        return (
            Finding::warn(ID, format!("RomM {shown} is too old for some settings"))
                .detail(notes.join("\n"))
                .fix("Upgrade RomM (5.x) or drop the settings it ignores."),
            version,
        );
    }
    (
        Finding::pass(
            ID,
            format!("RomM {shown} runs with OIDC on, provider \"{provider}\""),
        ),
        version,
    )
}

/// The query parameters of a URL, first value each.
fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn login_redirect(
    settings: &Settings,
    answers: &Answers,
    discovery: Option<&Discovery>,
    version: Option<&str>,
) -> Finding {
    const ID: &str = "romm.login-redirect";
    let url = format!("{}/api/login/openid", answers.base);
    let response = match &answers.login {
        Ok(r) => r,
        Err(failure) => return unreachable(ID, "RomM's login route", &url, failure),
    };
    if response.status == 500 {
        let detail = response
            .json()
            .and_then(|j| j.get("detail").and_then(Value::as_str).map(str::to_string));
        return match detail.as_deref() {
            Some("OAuth disabled") => Finding::fail(ID, "RomM answers \"OAuth disabled\"")
                .detail(format!("{url} answered 500 {{\"detail\":\"OAuth disabled\"}}: the running process has OIDC_ENABLED off."))
                .fix(format!("Set OIDC_ENABLED=true in RomM's env and recreate the container: {RESTART}")),
            Some(other) => Finding::fail(ID, format!("RomM's login route fails: {other}")).fix("Check RomM's container log for the traceback."),
            None => Finding::fail(ID, "RomM's login route answers a bare 500 Internal Server Error")
                .detail(format!(
                    "{url} answered a plain-text 500: RomM could not load the discovery document from its own network (wrong URL, a name its container cannot resolve, an untrusted certificate, or a redirect). The container log shows the traceback (load_server_metadata)."
                ))
                .fix(format!(
                    "Fetch discovery from inside the container and compare with this report: docker compose exec romm python3 -c \"import urllib.request;print(urllib.request.urlopen('{}').read()[:200])\"; then fix OIDC_SERVER_APPLICATION_URL (or OIDC_TLS_CACERTFILE) and recreate RomM: {RESTART}",
                    settings.discovery_url().unwrap_or_else(|| "<discovery URL>".into())
                )),
        };
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
        param(&target, "client_id"),
    );
    compare(
        "redirect_uri",
        settings.value(OIDC_REDIRECT_URI).map(str::to_string),
        param(&target, "redirect_uri"),
    );
    compare(
        "scope",
        Some(super::login::romm_scope(settings)),
        param(&target, "scope"),
    );
    let start = Url::parse(&answers.base).ok();
    let callback = param(&target, "redirect_uri").and_then(|r| Url::parse(&r).ok());
    let cookie = response
        .set_cookie
        .iter()
        .find(|c| c.starts_with("romm_session="));
    if let Some(problem) = cookie.and_then(|c| cookie_problem(c, start.as_ref(), callback.as_ref()))
    {
        return problem;
    }
    if mismatches.is_empty() {
        return Finding::pass(
            ID,
            format!("The running RomM redirects to {base} with these settings"),
        )
        .data(serde_json::json!({ "location": location }));
    }
    let detail = mismatches
        .iter()
        .map(|(w, e, f)| format!("{w}: settings say {e}, RomM sends {f}"))
        .collect::<Vec<_>>()
        .join("\n");
    let (what, expected, found) = &mismatches[0];
    Finding::fail(ID, format!("The running RomM uses other settings ({})", mismatches.iter().map(|m| m.0.as_str()).collect::<Vec<_>>().join(", ")))
        .detail(format!("{detail}\nRomM reads its env only when the container is created; a forgotten restart looks exactly like this."))
        .mismatch(format!("{what} {expected}"), format!("{what} {found}"))
        .fix(format!("If the settings here are the ones you want, recreate RomM so it reads them: {RESTART}"))
}

/// What a browser does with RomM's session cookie on the way from the login
/// (`start`) to the callback: a `Secure` cookie only lives on https and
/// loopback origins, a `SameSite=Strict` one is not sent with the provider's
/// redirect back (RomM before 4.3.2, romm#1502).
fn cookie_problem(cookie: &str, start: Option<&Url>, callback: Option<&Url>) -> Option<Finding> {
    const ID: &str = "romm.login-redirect";
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

    #[test]
    fn a_strict_cookie_is_not_sent_back_from_the_provider() {
        let strict = "romm_session=x; path=/; Max-Age=1; httponly; SameSite=Strict";
        let f = cookie_problem(strict, Some(&url("https://romm.example.com")), None)
            .expect("Strict breaks the callback");
        assert!(f.fix.contains("4.3.2"), "{f:?}");
    }
}
