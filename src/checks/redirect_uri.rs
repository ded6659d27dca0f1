//! `client.redirect-uri`: RomM's own authorization request, sent to the
//! provider once, without following the answer and without signing in. The
//! login test proves the provider with its loopback callback; this proves
//! RomM's callback (`OIDC_REDIRECT_URI`) and the rest of RomM's request.
//!
//! The request is the running RomM's redirect (`--romm-url`), else built as
//! authlib's `prepare_grant_uri` builds it for RomM. Its `state` and `nonce`
//! are always replaced by marked probe values, so nothing it causes can be
//! taken for a real login; no cookie is ever sent, so no provider can sign
//! anyone in on its behalf.

use url::Url;

use super::config::is_loopback;
use super::romm;
use super::{query_param, unreachable};
use crate::checks::id;
use crate::http::{Http, Response, excerpt, hide_codes};
use crate::oidc::authcode::Grant;
use crate::oidc::discovery::{Discovery, Flavor};
use crate::report::Finding;
use crate::settings::{OIDC_CLIENT_ID, OIDC_PROVIDER, OIDC_REDIRECT_URI, Settings};

const ID: &str = id::CLIENT_REDIRECT_URI;

/// Starts every probe `state` and `nonce`: letters only, like authlib's tokens.
const PROBE_MARK: &str = "rommoidcprobe";

/// What an answer shows about the callback the request sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallbackAnswer {
    /// The provider goes on to its sign-in, issued a code, or sent its error
    /// to the callback: it accepts the callback.
    Accepted,
    /// It stopped on its own page before any sign-in; `names_callback` when
    /// its words point at the callback (or at the redirect).
    Refused { names_callback: bool },
    /// Nothing can be told: Pocket ID 2.9 or older, or an answer this tool
    /// does not recognise.
    Unknown,
}

/// The request sent, and what the answer is judged against.
pub struct Probe {
    pub url: Url,
    /// `redirect_uri` as sent (RomM omits it when `OIDC_REDIRECT_URI` is empty).
    pub redirect_uri: Option<String>,
    pub client_id: String,
    /// Where the request came from, for the finding's detail.
    pub origin: &'static str,
    /// The provider name (`OIDC_PROVIDER`), for where-to-click fixes.
    pub provider: String,
}

pub fn run(
    settings: &Settings,
    http: &Http,
    discovery: Option<&Discovery>,
    romm: Option<&romm::Answers>,
) -> Finding {
    let probe = match request(settings, discovery, romm) {
        Ok(probe) => probe,
        Err(skip) => return skip,
    };
    let flavor = discovery.map(Discovery::flavor).unwrap_or(Flavor::Other);
    match http.get(probe.url.as_str()) {
        Ok(response) => judge(&flavor, &probe, &response),
        Err(failure) => unreachable(
            ID,
            "RomM's authorization request",
            probe.url.as_str(),
            &failure,
        ),
    }
}

/// A token of `len` letters and digits that starts with [`PROBE_MARK`].
fn probe_token(len: usize) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; len.saturating_sub(PROBE_MARK.len())];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    PROBE_MARK
        .chars()
        .chain(
            bytes
                .iter()
                .map(|b| ALNUM[*b as usize % ALNUM.len()] as char),
        )
        .collect()
}

/// An authorization request as a probe: its `state` and `nonce` replaced by
/// marked values, so nothing it causes can be taken for a real login.
pub fn marked_probe(url: &Url, origin: &'static str, provider: String) -> Probe {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| match k.as_ref() {
            "state" => (k.into_owned(), probe_token(30)),
            "nonce" => (k.into_owned(), probe_token(20)),
            _ => (k.into_owned(), v.into_owned()),
        })
        .collect();
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let (redirect_uri, client_id) = (param("redirect_uri"), param("client_id"));
    let mut url = url.clone();
    url.query_pairs_mut().clear().extend_pairs(&pairs);
    Probe {
        url,
        redirect_uri,
        client_id: client_id.unwrap_or_default(),
        origin,
        provider,
    }
}

/// RomM's request: the running RomM's redirect when there is one, else built
/// as RomM builds it. `Err` is the skip finding when neither can be had.
fn request(
    settings: &Settings,
    discovery: Option<&Discovery>,
    romm: Option<&romm::Answers>,
) -> Result<Probe, Finding> {
    let provider = settings
        .value(OIDC_PROVIDER)
        .unwrap_or("")
        .to_ascii_lowercase();
    if let Some(url) = romm
        .and_then(romm::Answers::login_location)
        .and_then(|l| Url::parse(l).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
    {
        return Ok(marked_probe(
            &url,
            "the running RomM's own login redirect (--romm-url), with a marked state and nonce",
            provider,
        ));
    }
    let Some(endpoint) = discovery.and_then(|d| d.str("authorization_endpoint")) else {
        return Err(Finding::skip(
            ID,
            "Needs the discovery document's authorization_endpoint, or RomM's own login redirect (--romm-url)",
        ));
    };
    let Ok(endpoint) = Url::parse(endpoint) else {
        return Err(Finding::skip(
            ID,
            "The authorization endpoint is not a URL (see discovery.metadata)",
        ));
    };
    let Some(client_id) = settings.value(OIDC_CLIENT_ID) else {
        return Err(Finding::skip(
            ID,
            "Needs OIDC_CLIENT_ID (see config.client)",
        ));
    };
    let redirect_uri = settings.value(OIDC_REDIRECT_URI).map(str::to_string);
    let url = Grant {
        client_id,
        redirect_uri: redirect_uri.as_deref(),
        scope: &super::login::romm_scope(settings),
        state: &probe_token(30),
        nonce: &probe_token(20),
    }
    .url(&endpoint);
    Ok(Probe {
        url,
        redirect_uri,
        client_id: client_id.to_string(),
        origin: "built from the settings exactly as RomM builds it (give --romm-url to send the running RomM's own)",
        provider,
    })
}

/// The answer's meaning. Pure, so every kind of answer is tested directly.
pub fn judge(flavor: &Flavor, probe: &Probe, response: &Response) -> Finding {
    judged(flavor, probe, response).0
}

/// [`judge`], and what the answer shows about the probe's callback.
pub fn judged(flavor: &Flavor, probe: &Probe, response: &Response) -> (Finding, CallbackAnswer) {
    let target = response.location.as_deref().and_then(|l| {
        Url::parse(&response.url)
            .or_else(|_| Url::parse(probe.url.as_str()))
            .ok()?
            .join(l)
            .ok()
    });
    let sent = format!(
        "Sent {} ({}).",
        hide_codes(probe.url.as_str()),
        probe.origin
    );
    if (300..400).contains(&response.status)
        && let Some(target) = target
    {
        return redirected(flavor, probe, &target, response.status, &sent);
    }
    let html = response
        .content_type
        .as_deref()
        .is_some_and(|t| t.to_ascii_lowercase().contains("html"));
    let text = page_text(&response.body);
    if response.status == 200 && *flavor == Flavor::PocketIdLegacy {
        return (legacy_pocket_id(probe, &sent), CallbackAnswer::Unknown);
    }
    if response.status == 200 && html && sign_in_form(&response.body) {
        return (
            accepted(
                flavor,
                probe,
                "The provider accepted RomM's callback and request: it shows its sign-in page",
                &sent,
            ),
            CallbackAnswer::Accepted,
        );
    }
    if matches!(response.status, 400..=499) && response.status != 429 {
        return refused(
            flavor,
            probe,
            &format!(
                "The provider refused RomM's authorization request (HTTP {})",
                response.status
            ),
            &text,
            &format!(
                "{sent}\nThe provider answered HTTP {} with: {text}\nThe browser stops on this page; RomM never gets a callback.",
                response.status
            ),
        );
    }
    let found = format!(
        "HTTP {}{}: {text}",
        response.status,
        response
            .location
            .as_deref()
            .map(|l| format!(" to {}", hide_codes(l)))
            .unwrap_or_default()
    );
    (unrecognised(&sent, &found), CallbackAnswer::Unknown)
}

/// A 3xx answer: to RomM's callback, to the provider's error page, to its
/// sign-in, or somewhere unknown.
fn redirected(
    flavor: &Flavor,
    probe: &Probe,
    target: &Url,
    status: u16,
    sent: &str,
) -> (Finding, CallbackAnswer) {
    let param = |name: &str| query_param(target, name);
    let to_callback = probe
        .redirect_uri
        .as_deref()
        .and_then(|r| Url::parse(r).ok())
        .is_some_and(|r| {
            r.scheme() == target.scheme()
                && r.host_str() == target.host_str()
                && r.port_or_known_default() == target.port_or_known_default()
                && r.path() == target.path()
        });
    let went = format!(
        "The provider answered {status} to {}.",
        hide_codes(target.as_str())
    );
    if to_callback {
        return at_callback(flavor, probe, target, sent, &went);
    }
    let error_page = target.path().ends_with("/interaction/error")
        || target.query_pairs().any(|(k, _)| k == "error");
    if error_page {
        let hint = param("error")
            .or_else(|| param("error_description"))
            .unwrap_or_else(|| "(no message)".into());
        let on = if flavor.is_pocket_id() || target.path().ends_with("/interaction/error") {
            "Pocket ID shows its error page"
        } else {
            "The provider shows its own error page"
        };
        return refused(
            flavor,
            probe,
            &format!("{on}: \"{hint}\""),
            &hint,
            &format!("{sent}\n{went}\nThe browser stops on that page; RomM never gets a callback."),
        );
    }
    let pocket_id_sign_in = target.path().ends_with("/interaction")
        && target.query_pairs().any(|(k, _)| k == "interaction");
    if pocket_id_sign_in {
        let f = accepted(
            flavor,
            probe,
            "Pocket ID accepted RomM's callback and request: it asks for sign-in next",
            &format!("{sent}\n{went}"),
        );
        return (f, CallbackAnswer::Accepted);
    }
    if sign_in_redirect(target) {
        let f = accepted(
            flavor,
            probe,
            "The provider accepted RomM's callback and request: it redirects to its sign-in",
            &format!("{sent}\n{went}"),
        );
        return (f, CallbackAnswer::Accepted);
    }
    let found = format!("HTTP {status} to {}", hide_codes(target.as_str()));
    (unrecognised(sent, &found), CallbackAnswer::Unknown)
}

/// A redirect to RomM's callback: the provider accepts it, and sent either
/// its error for the request, or a code.
fn at_callback(
    flavor: &Flavor,
    probe: &Probe,
    target: &Url,
    sent: &str,
    went: &str,
) -> (Finding, CallbackAnswer) {
    let param = |name: &str| query_param(target, name);
    if let Some(error) = param("error") {
        let description = param("error_description").unwrap_or_default();
        let f = callback_error(
            flavor,
            probe,
            &error,
            &description,
            &format!("{sent}\n{went}"),
        );
        return (f, CallbackAnswer::Accepted);
    }
    if param("code").is_some() {
        let f = accepted(
            flavor,
            probe,
            "The provider accepted RomM's callback and request: it issued a code at once, as for a browser already signed in (the code was not used)",
            &format!(
                "{sent}\n{went}\nThe probe carries no cookie, so the provider signed someone in without asking (a pre-signed-in test provider, or a proxy that authenticates by network)."
            ),
        );
        return (f, CallbackAnswer::Accepted);
    }
    let f = unrecognised(
        sent,
        &format!(
            "a redirect to RomM's callback with neither code nor error: {}",
            hide_codes(target.as_str())
        ),
    );
    (f, CallbackAnswer::Unknown)
}

/// A pass, except where Pocket ID still checks the callback after sign-in.
fn accepted(flavor: &Flavor, probe: &Probe, summary: &str, detail: &str) -> Finding {
    let insecure = probe
        .redirect_uri
        .as_deref()
        .and_then(|r| Url::parse(r).ok())
        .filter(|r| r.scheme() == "http" && !is_loopback(r));
    if let (Some(callback), true) = (insecure, flavor.is_pocket_id()) {
        return Finding::warn(ID, "Pocket ID accepted RomM's request, but checks a plain-http callback only after sign-in")
            .detail(format!(
                "{detail}\nPocket ID refuses http callbacks to hosts other than localhost after the user signed in: always in 2.10.0, and in 2.11+ when ALLOW_INSECURE_CALLBACK_URLS=false (\"Redirect URL is using an insecure protocol…\"). Which applies here cannot be seen without signing in."
            ))
            .mismatch(callback.as_str().replacen("http://", "https://", 1), callback.as_str())
            .fix(format!(
                "Serve RomM over https and set {OIDC_REDIRECT_URI} to the https URL (and register it), or make sure Pocket ID is 2.11+ with ALLOW_INSECURE_CALLBACK_URLS left at true."
            ));
    }
    Finding::pass(ID, summary).detail(detail)
}

/// Pocket ID ≤ 2.9: `/authorize` is its app page whatever the request.
fn legacy_pocket_id(probe: &Probe, sent: &str) -> Finding {
    let callback = probe.redirect_uri.as_deref().unwrap_or("(none)");
    Finding::warn(
        ID,
        "Pocket ID 2.9 or older cannot tell whether it accepts RomM's callback without a sign-in",
    )
    .detail(format!(
        "{sent}\nPocket ID up to 2.9 answers every /authorize with its app page and checks the callback only in the browser, after sign-in, so this request proves nothing either way.\nTrust on first use: Pocket ID 1.2–2.9 permanently adopts the first callback URL it sees on a client that has none. Whoever logs in first decides — a login from anywhere else (this tool's --login test, another app) would bind the client to that URL and lock RomM out."
    ))
    .mismatch(
        format!("{callback} registered on client {}", probe.client_id),
        "unknown (Pocket ID ≤ 2.9)",
    )
    .fix(format!(
        "Give --pocket-id-api-key: pocketid.callbacks then reads the client's callback URLs and proves it. Or check Pocket ID → Settings → Admin → OIDC Clients → {} → Callback URLs lists {callback} before anyone logs in; Pocket ID 2.10+ is checked without a key.",
        probe.client_id
    ))
}

/// The provider sent its error to RomM's callback: the callback is accepted,
/// the request is not, and authlib raises `OAuthError` there.
fn callback_error(
    flavor: &Flavor,
    probe: &Probe,
    error: &str,
    description: &str,
    detail: &str,
) -> Finding {
    let said = if description.is_empty() {
        error.to_string()
    } else {
        format!("{error}: {description}")
    };
    let lower = said.to_ascii_lowercase();
    let client = &probe.client_id;
    let fix = if lower.contains("pkce") || lower.contains("code_challenge") {
        if flavor.is_pocket_id() {
            format!(
                "RomM sends no PKCE: Pocket ID → Settings → Admin → OIDC Clients → {client} → untick \"PKCE\" and make sure \"Public client\" is off."
            )
        } else {
            format!(
                "RomM sends no PKCE: turn off the PKCE requirement of client {client} at the provider and make it a confidential client."
            )
        }
    } else if flavor.is_pocket_id() && lower.contains("unrecognizable") {
        format!(
            "Pocket ID sends this unnamed error when the client requires pushed authorization requests, which RomM never uses: Pocket ID → OIDC Clients → {client} → untick \"Requires PAR\" (pocketid.client shows it with --pocket-id-api-key)."
        )
    } else if lower.contains("insecure protocol") {
        format!(
            "Serve RomM over https and set {OIDC_REDIRECT_URI} to the https URL, or set ALLOW_INSECURE_CALLBACK_URLS=true on Pocket ID 2.11+."
        )
    } else if error == "invalid_scope" {
        "RomM asks for openid profile email plus OIDC_CLAIM_ROLES: allow those scopes for the client at the provider, or change OIDC_CLAIM_ROLES.".to_string()
    } else if error == "access_denied" {
        "The provider refused this client or user (a group restriction on the client, or consent refused).".to_string()
    } else if matches!(error, "unauthorized_client" | "unsupported_response_type") {
        format!(
            "Allow the authorization code flow (response type code) for client {client} at the provider."
        )
    } else {
        "Read the provider's message above; it names the client setting to change.".to_string()
    };
    Finding::fail(
        ID,
        format!("The provider accepted RomM's callback but refused its request: {error}"),
    )
    .detail(format!(
        "{detail}\nRomM's callback receives ?error={said}; authlib raises OAuthError there and RomM answers a bare 500 (Internal Server Error)."
    ))
    .mismatch("a sign-in page, then ?code=… at RomM's callback", format!("?error={said}"))
    .fix(fix)
}

/// The provider refused before any sign-in, on its own page.
fn refused(
    flavor: &Flavor,
    probe: &Probe,
    summary: &str,
    said: &str,
    detail: &str,
) -> (Finding, CallbackAnswer) {
    let lower = said.to_ascii_lowercase();
    let client = &probe.client_id;
    let callback = probe.redirect_uri.as_deref();
    let mut names_callback = false;
    let fix = if lower.contains("redirect_uri' parameter is required")
        || (callback.is_none() && lower.contains("redirect"))
    {
        format!(
            "Set {OIDC_REDIRECT_URI} to RomM's callback, <RomM's public URL>/api/oauth/openid, register it at the provider, and recreate RomM."
        )
    } else if lower.contains("does not exist")
        || lower.contains("client not found")
        || lower.contains("unknown client")
        || lower.contains("invalid_client")
    {
        format!(
            "The provider has no client {client}: copy the client id from the provider into {OIDC_CLIENT_ID} (or create the client), then recreate RomM."
        )
    } else if lower.contains("redirect")
        || lower.contains("callback")
        || lower.contains("not registered")
    {
        names_callback = true;
        register_fix(
            flavor,
            &probe.provider,
            client,
            callback.unwrap_or("(none)"),
        )
    } else if lower.contains("pkce") || lower.contains("code_challenge") {
        format!(
            "RomM sends no PKCE: turn off the PKCE requirement of client {client} and make it a confidential client."
        )
    } else if lower.contains("pushed authorization") {
        format!(
            "RomM never uses pushed authorization requests: untick \"Requires PAR\" on client {client}."
        )
    } else if lower.contains("not allowed to access") || lower.contains("access_denied") {
        "The client is restricted to user groups: add the RomM users' group to the client's allowed groups (Pocket ID: Allowed User Groups).".to_string()
    } else {
        "Read the provider's message above; it names the client setting to change.".to_string()
    };
    let finding = Finding::fail(ID, summary)
        .detail(detail)
        .mismatch(
            format!(
                "the provider accepts client {client} with redirect_uri {}",
                callback.unwrap_or("(none sent)")
            ),
            said.to_string(),
        )
        .fix(fix);
    (finding, CallbackAnswer::Refused { names_callback })
}

/// Where a callback URL is registered: Pocket ID by its discovery document,
/// the others by `OIDC_PROVIDER` (which defaults to pocket-id, so that name
/// alone says nothing).
fn register_fix(flavor: &Flavor, provider: &str, client: &str, callback: &str) -> String {
    let provider = if flavor.is_pocket_id() {
        "pocket-id"
    } else {
        provider
    };
    let place = match provider {
        "keycloak" => format!("Keycloak → Clients → {client} → Settings → Valid redirect URIs (Keycloak 19+ shows the same message for an unknown client id: check OIDC_CLIENT_ID too)"),
        "authentik" => "Authentik → Applications → Providers → the RomM provider → Redirect URIs/Origins (strict)".to_string(),
        "authelia" => format!("Authelia's configuration: identity_providers.oidc.clients (client_id {client}) → redirect_uris, then restart Authelia"),
        "zitadel" => "Zitadel → the project → the RomM application → Redirect URIs".to_string(),
        "pocket-id" if flavor.is_pocket_id() => format!("Pocket ID → Settings → Admin → OIDC Clients → {client} → Callback URLs"),
        _ => format!("the provider's settings of client {client} (its redirect or callback URIs)"),
    };
    format!(
        "Register RomM's callback exactly as RomM sends it — {callback} — in {place}. Scheme, host, port and path must match character for character (no trailing slash)."
    )
}

fn unrecognised(sent: &str, found: &str) -> Finding {
    Finding::warn(
        ID,
        "The provider's answer to RomM's authorization request is not one this tool recognises",
    )
    .detail(format!(
        "{sent}\nIt answered {found}\nWhether the provider accepts RomM's callback is not proven."
    ))
    .mismatch("a redirect to the provider's sign-in, or its sign-in page", found)
    .fix("Open RomM's login in a browser once and check that the provider shows its sign-in page rather than an error; run doctor --login --romm-url for the rest.")
}

/// Whether a page holds a sign-in form (Keycloak serves it at /auth directly).
fn sign_in_form(body: &[u8]) -> bool {
    let page = String::from_utf8_lossy(body).to_ascii_lowercase();
    page.contains("<form")
        && (page.contains("type=\"password\"")
            || page.contains("type=password")
            || page.contains("name=\"username\"")
            || page.contains("autocomplete=\"username"))
}

/// Whether a redirect goes to a sign-in step: a path that names one, or a
/// return address that carries this very request back (Authentik's `next`,
/// Authelia's `rd`).
fn sign_in_redirect(target: &Url) -> bool {
    let path = target.path().to_ascii_lowercase();
    let names_sign_in = [
        "login",
        "signin",
        "sign-in",
        "sign_in",
        "interaction",
        "flow",
        "authenticat",
        "consent",
    ]
    .iter()
    .any(|w| {
        path.contains(w)
            || target
                .query_pairs()
                .any(|(k, _)| k.to_ascii_lowercase().contains(w))
    });
    let carries_request = target.query_pairs().any(|(_, v)| v.contains("client_id="));
    names_sign_in || carries_request
}

/// The words of a page: tags, scripts and styles removed, entities decoded,
/// at most 160 characters.
fn page_text(body: &[u8]) -> String {
    let html = String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]);
    let mut text = String::new();
    let mut rest = html.as_ref();
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        text.push(' ');
        let tag = &rest[open..];
        let lower = tag.get(..8).unwrap_or(tag).to_ascii_lowercase();
        let end = if lower.starts_with("<script") || lower.starts_with("<style") {
            let close = if lower.starts_with("<script") {
                "</script"
            } else {
                "</style"
            };
            tag.to_ascii_lowercase()
                .find(close)
                .map(|i| i + close.len())
        } else {
            Some(0)
        };
        let after = end.and_then(|e| tag[e..].find('>').map(|g| e + g + 1));
        match after {
            Some(skip) => rest = &tag[skip..],
            None => {
                rest = "";
            }
        }
    }
    text.push_str(rest);
    let decoded = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&amp;", "&");
    excerpt(decoded.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALLBACK: &str = "https://romm.example.com/api/oauth/openid";

    fn probe(redirect: Option<&str>) -> Probe {
        let mut url = Url::parse("https://id.example.com/authorize").unwrap();
        url.query_pairs_mut()
            .append_pair("client_id", "romm")
            .append_pair("state", &probe_token(30));
        Probe {
            url,
            redirect_uri: redirect.map(str::to_string),
            client_id: "romm".into(),
            origin: "a test",
            provider: "pocket-id".into(),
        }
    }

    fn answer(status: u16, location: Option<&str>, content_type: &str, body: &str) -> Response {
        Response {
            status,
            content_type: Some(content_type.into()),
            content_encoding: None,
            location: location.map(str::to_string),
            set_cookie: Vec::new(),
            body: body.as_bytes().to_vec(),
            url: "https://id.example.com/authorize?client_id=romm".into(),
        }
    }

    fn redirect(location: &str) -> Response {
        answer(302, Some(location), "text/plain", "")
    }

    /// fosite's answer to the client: 303 to its callback.
    fn see_other(location: &str) -> Response {
        answer(303, Some(location), "text/plain", "")
    }

    #[test]
    fn probe_tokens_have_authlibs_shape_and_the_mark() {
        let (state, nonce) = (probe_token(30), probe_token(20));
        assert_eq!((state.len(), nonce.len()), (30, 20));
        assert!(state.starts_with(PROBE_MARK) && nonce.starts_with(PROBE_MARK));
        assert!(state.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(probe_token(30), state, "random after the mark");
    }

    #[test]
    fn pocket_id_error_page_fails_with_the_hint_and_the_fix() {
        let p = probe(Some(CALLBACK));
        let f = judge(
            &Flavor::PocketIdModern,
            &p,
            &redirect(
                "/interaction/error?error=The+redirect_uri+%27x%27+is+not+registered+for+this+client.",
            ),
        );
        assert_eq!(f.status, crate::report::Status::Fail, "{f:?}");
        assert!(
            f.summary.contains("is not registered for this client."),
            "{f:?}"
        );
        assert!(
            f.fix.contains(CALLBACK) && f.fix.contains("Callback URLs"),
            "{f:?}"
        );
        let unknown = judge(
            &Flavor::PocketIdModern,
            &p,
            &redirect("/interaction/error?error=The+requested+OAuth+2.0+Client+does+not+exist."),
        );
        assert_eq!(unknown.status, crate::report::Status::Fail);
        assert!(unknown.fix.contains("OIDC_CLIENT_ID"), "{unknown:?}");
        // Pocket ID 2.10.0 did not encode the hint.
        let raw = judge(
            &Flavor::PocketIdModern,
            &p,
            &redirect("/interaction/error?error=The requested OAuth 2.0 Client does not exist."),
        );
        assert!(raw.fix.contains("OIDC_CLIENT_ID"), "{raw:?}");
    }

    #[test]
    fn sign_in_redirects_pass_and_others_warn() {
        let p = probe(Some(CALLBACK));
        for to in [
            "/interaction?interaction=5b1c",
            "https://sso.example.com/interaction/Xk2",
            "https://auth.example.com/if/flow/default-authentication-flow/?next=%2Fapplication%2Fo%2Fauthorize%2F%3Fclient_id%3Dromm",
            "https://auth.example.com/?rd=https%3A%2F%2Fauth.example.com%2Fapi%2Foidc%2Fauthorization%3Fclient_id%3Dromm",
            "https://zitadel.example.com/ui/login/login?authRequestID=1",
        ] {
            let f = judge(&Flavor::Other, &p, &redirect(to));
            assert_eq!(f.status, crate::report::Status::Pass, "{to}: {f:?}");
        }
        for to in ["https://elsewhere.example.com/", "/some/page"] {
            let f = judge(&Flavor::Other, &p, &redirect(to));
            assert_eq!(f.status, crate::report::Status::Warn, "{to}: {f:?}");
            assert!(f.detail.contains(to.trim_start_matches('/')), "{f:?}");
        }
    }

    #[test]
    fn an_error_at_romms_callback_fails_as_romms_oauth_error() {
        let p = probe(Some(CALLBACK));
        let f = judge(
            &Flavor::PocketIdModern,
            &p,
            &see_other(&format!(
                "{CALLBACK}?error=invalid_request&error_description=The+request+is+missing+a+required+parameter.+This+client+requires+PKCE%2C+but+the+%27code_challenge%27+parameter+is+missing.&state=x"
            )),
        );
        assert_eq!(f.status, crate::report::Status::Fail, "{f:?}");
        assert!(f.detail.contains("OAuthError"), "{f:?}");
        assert!(f.fix.contains("PKCE"), "{f:?}");
        let par = judge(
            &Flavor::PocketIdModern,
            &p,
            &see_other(&format!(
                "{CALLBACK}?error=error&error_description=The+error+is+unrecognizable&state=x"
            )),
        );
        assert!(par.fix.contains("Requires PAR"), "{par:?}");
        let scope = judge(
            &Flavor::Other,
            &p,
            &see_other(&format!("{CALLBACK}?error=invalid_scope&state=x")),
        );
        assert!(scope.fix.contains("OIDC_CLAIM_ROLES"), "{scope:?}");
    }

    #[test]
    fn a_code_at_romms_callback_passes_and_is_never_shown() {
        let p = probe(Some(CALLBACK));
        let f = judge(
            &Flavor::PocketIdModern,
            &p,
            &see_other(&format!("{CALLBACK}?code=pocket_id_ac_SECRET&state=x")),
        );
        assert_eq!(f.status, crate::report::Status::Pass, "{f:?}");
        let all = format!("{f:?}");
        assert!(!all.contains("SECRET"), "{all}");
    }

    #[test]
    fn plain_http_callback_on_pocket_id_is_only_a_warning() {
        let p = probe(Some("http://romm.lan/api/oauth/openid"));
        let f = judge(
            &Flavor::PocketIdModern,
            &p,
            &redirect("/interaction?interaction=1"),
        );
        assert_eq!(f.status, crate::report::Status::Warn, "{f:?}");
        assert!(f.detail.contains("ALLOW_INSECURE_CALLBACK_URLS"), "{f:?}");
        let loopback = probe(Some("http://127.0.0.1:8080/api/oauth/openid"));
        let f = judge(
            &Flavor::PocketIdModern,
            &loopback,
            &redirect("/interaction?interaction=1"),
        );
        assert_eq!(f.status, crate::report::Status::Pass, "{f:?}");
    }

    #[test]
    fn legacy_pocket_id_page_is_a_warning_that_explains_trust_on_first_use() {
        let p = probe(Some(CALLBACK));
        let f = judge(
            &Flavor::PocketIdLegacy,
            &p,
            &answer(
                200,
                None,
                "text/html",
                "<!doctype html><title>Pocket ID</title>",
            ),
        );
        assert_eq!(f.status, crate::report::Status::Warn, "{f:?}");
        assert!(f.fix.contains("--pocket-id-api-key"), "{f:?}");
        assert!(f.detail.contains("first callback URL"), "{f:?}");
    }

    #[test]
    fn standard_error_pages_fail_and_login_pages_pass() {
        let p = probe(Some(CALLBACK));
        let oidc_provider = "<!DOCTYPE html><html><head><title>oops! something went wrong</title><style>h1{x}</style></head><body><div class=\"container\"><h1>oops! something went wrong</h1><pre><strong>error</strong>: invalid_redirect_uri</pre><pre><strong>error_description</strong>: redirect_uri did not match any of the client&#39;s registered redirect_uris</pre></div></body></html>";
        let f = judge(
            &Flavor::Other,
            &p,
            &answer(400, None, "text/html; charset=utf-8", oidc_provider),
        );
        assert_eq!(f.status, crate::report::Status::Fail, "{f:?}");
        assert!(f.detail.contains("invalid_redirect_uri"), "{f:?}");
        assert!(!f.detail.contains("h1{x}"), "styles are not text: {f:?}");
        assert!(f.fix.contains(CALLBACK), "{f:?}");
        let keycloak = "<html><body><div id=\"kc-error-message\"><p class=\"instruction\">Invalid parameter: redirect_uri</p></div></body></html>";
        let f = judge(
            &Flavor::Other,
            &p,
            &answer(400, None, "text/html", keycloak),
        );
        assert!(f.fix.contains("Register"), "{f:?}");
        let unknown_client = "<pre><strong>error</strong>: invalid_client</pre><pre><strong>error_description</strong>: client is invalid</pre>";
        let f = judge(
            &Flavor::Other,
            &p,
            &answer(400, None, "text/html", unknown_client),
        );
        assert!(f.fix.contains("OIDC_CLIENT_ID"), "{f:?}");
        let login = "<html><body><form id=\"kc-form-login\" action=\"/x\" method=\"post\"><input name=\"username\"/><input name=\"password\" type=\"password\"/></form></body></html>";
        let f = judge(&Flavor::Other, &p, &answer(200, None, "text/html", login));
        assert_eq!(f.status, crate::report::Status::Pass, "{f:?}");
        for (status, body) in [
            (200, "<html>hello</html>"),
            (500, "boom"),
            (429, "slow down"),
        ] {
            let f = judge(&Flavor::Other, &p, &answer(status, None, "text/html", body));
            assert_eq!(f.status, crate::report::Status::Warn, "{status}: {f:?}");
            assert!(
                f.detail.contains(
                    body.trim_start_matches("<html>")
                        .trim_end_matches("</html>")
                ),
                "{f:?}"
            );
        }
    }

    #[test]
    fn no_redirect_uri_is_named() {
        let p = probe(None);
        let f = judge(
            &Flavor::PocketIdModern,
            &p,
            &redirect(
                "/interaction/error?error=The+%27redirect_uri%27+parameter+is+required+when+using+OpenID+Connect+1.0.",
            ),
        );
        assert!(f.fix.contains("Set OIDC_REDIRECT_URI"), "{f:?}");
    }

    #[test]
    fn what_an_answer_says_about_the_callback() {
        let p = probe(Some("http://127.0.0.1:8765/callback"));
        let answer = |flavor: &Flavor, r: &Response| judged(flavor, &p, r).1;
        let modern = Flavor::PocketIdModern;
        assert_eq!(
            answer(
                &modern,
                &redirect(
                    "/interaction/error?error=The+redirect_uri+%27x%27+is+not+registered+for+this+client."
                )
            ),
            CallbackAnswer::Refused {
                names_callback: true
            }
        );
        assert_eq!(
            answer(
                &modern,
                &redirect(
                    "/interaction/error?error=The+requested+OAuth+2.0+Client+does+not+exist."
                )
            ),
            CallbackAnswer::Refused {
                names_callback: false
            }
        );
        let oidc_provider = "<pre><strong>error</strong>: invalid_redirect_uri</pre>";
        assert_eq!(
            answer(&Flavor::Other, &answer_page(400, oidc_provider)),
            CallbackAnswer::Refused {
                names_callback: true
            }
        );
        assert_eq!(
            answer(&modern, &redirect("/interaction?interaction=1")),
            CallbackAnswer::Accepted
        );
        // An error sent to the callback: the callback is accepted, the request is not.
        assert_eq!(
            answer(
                &modern,
                &see_other("http://127.0.0.1:8765/callback?error=invalid_request&state=x")
            ),
            CallbackAnswer::Accepted
        );
        assert_eq!(
            answer(
                &Flavor::PocketIdLegacy,
                &answer_page(200, "<title>Pocket ID</title>")
            ),
            CallbackAnswer::Unknown
        );
        assert_eq!(
            answer(&Flavor::Other, &answer_page(500, "boom")),
            CallbackAnswer::Unknown
        );
    }

    fn answer_page(status: u16, body: &str) -> Response {
        answer(status, None, "text/html", body)
    }

    #[test]
    fn a_probe_of_any_request_has_marked_state_and_nonce() {
        let url = Url::parse("https://id.example.com/authorize?response_type=code&client_id=romm&redirect_uri=http%3A%2F%2F%5B%3A%3A1%5D%3A8765%2Fcallback&state=REALSTATE&nonce=REALNONCE").unwrap();
        let p = marked_probe(&url, "a test", "pocket-id".into());
        assert_eq!(p.client_id, "romm");
        assert_eq!(
            p.redirect_uri.as_deref(),
            Some("http://[::1]:8765/callback")
        );
        let shown = p.url.as_str();
        assert!(
            !shown.contains("REALSTATE") && !shown.contains("REALNONCE"),
            "{shown}"
        );
        assert!(
            p.url
                .query_pairs()
                .any(|(k, v)| k == "state" && v.starts_with(PROBE_MARK))
        );
        assert!(
            p.url
                .query_pairs()
                .any(|(k, v)| k == "nonce" && v.starts_with(PROBE_MARK))
        );
    }

    #[test]
    fn page_text_strips_markup() {
        assert_eq!(
            page_text(
                b"<html><script>var a = '<b>';</script><p>Client&#39;s &amp; <b>bold</b></p>"
            ),
            "Client's & bold"
        );
        assert_eq!(page_text(b"plain <unclosed"), "plain");
    }
}
