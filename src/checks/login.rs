//! `doctor --login`: a real authorization-code login through the loopback
//! listener, built as RomM builds it, then judged with RomM's own rules
//! (`backend/handler/auth/base_handler.py`, in RomM's order) on the ID-token
//! claims only — userinfo is fetched just to say what RomM cannot see.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use super::credentials;
use super::redirect_uri::{self, CallbackAnswer};
use super::romm_users::{self, Token};
use super::unreachable;
use crate::browser::Browser;
use crate::cli::Loopback;
use crate::http::Http;
use crate::oidc::discovery::{Discovery, Flavor};
use crate::oidc::id_token::{self, Caution, Expected, Rejection};
use crate::oidc::jwk::KeyError;
use crate::oidc::loopback::{Callback, Listener, Page, Refusals, Waited, callback_url};
use crate::report::{Finding, Status};
use crate::romm_api::Account;
use crate::settings::{
    OIDC_CLAIM_ROLES, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_PROVIDER, OIDC_ROLE_ADMIN,
    OIDC_ROLE_EDITOR, OIDC_ROLE_VIEWER, Settings,
};

pub struct Options {
    pub listen: Option<Loopback>,
    pub browser: Browser,
    pub timeout: Duration,
    pub pkce: bool,
    pub email: Option<String>,
    /// `-v`: the listener logs each request it answers (codes hidden).
    pub verbose: bool,
}

/// The ids this module reports, in order.
const IDS: &[&str] = &[
    "login.callback",
    "login.token",
    "login.id-token",
    "login.userinfo",
    "login.email",
    "login.email-verified",
    "login.username",
    "login.roles",
    "login.email-match",
    "romm.account",
];

fn skip_rest(findings: &mut Vec<Finding>, why: &str) {
    for id in IDS.iter().skip(findings.len()) {
        findings.push(Finding::skip(id, why));
    }
}

/// 32 random bytes, base64url: 43 characters.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    B64.encode(bytes)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The scope RomM requests: `openid profile email`, plus the roles claim.
pub fn romm_scope(settings: &Settings) -> String {
    match settings.value(OIDC_CLAIM_ROLES) {
        Some(roles) => format!("openid profile email {roles}"),
        None => "openid profile email".into(),
    }
}

/// The callback URL to register, in the form the detected provider matches,
/// and why that form. Pocket ID 2.x matches a port-less loopback callback on
/// any port (RFC 8252 §7.3), `[::1]` included (its `GetCallbackURLFromList`;
/// the bracketed form since 2.4, read through its part splitter before);
/// 1.x needs a `:*` pattern; others get this run's exact URL.
fn callback_to_register(flavor: &Flavor, addr: SocketAddr, exact: &str) -> (String, String) {
    let host = match addr.ip() {
        IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    let portless = callback_url(&host);
    match flavor {
        Flavor::PocketIdModern => (portless, "Pocket ID 2.0+ matches it on any port".into()),
        Flavor::PocketIdLegacy => (
            portless,
            format!(
                "Pocket ID 2.x matches it on any port; on 1.x register {}",
                callback_url(format!("{host}:*"))
            ),
        ),
        Flavor::Other => (
            exact.to_string(),
            "the exact URL of this run's listener".into(),
        ),
    }
}

pub fn run(
    settings: &Settings,
    http: &Http,
    discovery: Option<&Discovery>,
    options: &Options,
    accounts: Option<&[Account]>,
    cancelled: &AtomicBool,
    prior: &[Finding],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let Some(discovery) = discovery else {
        skip_rest(&mut findings, "The login needs the discovery document");
        return findings;
    };
    let (Some(client_id), Some(secret)) = (
        settings.value(OIDC_CLIENT_ID),
        settings.value(OIDC_CLIENT_SECRET),
    ) else {
        skip_rest(
            &mut findings,
            "The login needs OIDC_CLIENT_ID and OIDC_CLIENT_SECRET",
        );
        return findings;
    };
    if let Some(refused) = credentials::unsendable("login.token", client_id, secret) {
        findings.push(Finding::skip(
            "login.callback",
            "Not started: RomM could not send its token request (see login.token)",
        ));
        findings.push(refused);
        skip_rest(&mut findings, "RomM could not send its token request");
        return findings;
    }
    let (Some(authorize), Some(token_url)) = (
        discovery.str("authorization_endpoint"),
        discovery.str("token_endpoint"),
    ) else {
        skip_rest(
            &mut findings,
            "The discovery document lacks the authorization or token endpoint",
        );
        return findings;
    };
    // The browser is sent there: only an http(s) URL, never javascript: or file:.
    let Some(mut url) = url::Url::parse(authorize)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
    else {
        skip_rest(
            &mut findings,
            "The authorization endpoint is not an http(s) URL (see discovery.metadata)",
        );
        return findings;
    };
    let listener = match Listener::bind(options.listen) {
        Ok(l) => l,
        Err(e) => {
            findings.push(
                Finding::fail("login.callback", "No loopback port for the callback")
                    .detail(format!("{e:#}"))
                    .fix("Free a port or pass --listen 127.0.0.1:PORT."),
            );
            skip_rest(&mut findings, "No callback listener");
            return findings;
        }
    };
    let flavor = discovery.flavor();
    let redirect_uri = listener.redirect_uri();
    let (register, why) = callback_to_register(&flavor, listener.addr(), &redirect_uri);
    crate::report::note!(
        "Login test: the client {client_id} needs this extra callback URL registered at the provider:\n    {register}   ({why})"
    );
    if flavor == Flavor::PocketIdLegacy {
        eprintln!(
            "Careful: Pocket ID 1.2–2.9 permanently adopts the first callback URL it sees when a client has none. Register RomM's own callback first, or the client would be bound to this loopback URL."
        );
    }
    let state = random_token();
    let nonce = random_token();
    let verifier = options.pkce.then(|| SecretString::from(random_token()));
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("scope", &romm_scope(settings))
            .append_pair("state", &state)
            .append_pair("nonce", &nonce);
        if let Some(v) = &verifier {
            let challenge = B64.encode(aws_lc_rs::digest::digest(
                &aws_lc_rs::digest::SHA256,
                v.expose_secret().as_bytes(),
            ));
            q.append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
        }
    }
    let own = OwnCallback {
        redirect_uri: &redirect_uri,
        register: &register,
        why: &why,
        client_id,
        romm_request_accepted: passed(prior, "client.redirect-uri"),
        romm_proven: passed(prior, "client.redirect-uri") || passed(prior, "pocketid.callbacks"),
        asked: ask_provider(settings, http, &flavor, &url),
    };
    if let Some(refused) = own.refused() {
        findings.push(refused);
        skip_rest(
            &mut findings,
            "Not run: the provider does not accept the login test's own callback (see login.callback)",
        );
        return findings;
    }
    if cancelled.load(std::sync::atomic::Ordering::SeqCst) {
        return cancelled_findings();
    }
    let root = listener.root_url();
    eprintln!("Open this URL to log in (it forwards to the provider):\n    {root}");
    match crate::browser::open(&root, &options.browser) {
        Ok(how) => eprintln!(
            "Opened {how}; waiting up to {} s for the provider to redirect back…",
            options.timeout.as_secs()
        ),
        Err(e) => eprintln!("Could not open a browser ({e:#}); open the URL above yourself."),
    }
    let deadline = Instant::now() + options.timeout;
    // Cleared as soon as the callback arrives, or when the wait ends.
    let spinner = crate::progress::spinner("Waiting for the login in the browser…", deadline);
    let exchange = |callback: Callback| -> (Vec<Finding>, Page) {
        drop(spinner);
        let mut out = Vec::new();
        let Some(code) = callback_finding(&mut out, callback, &flavor, &register) else {
            skip_rest(&mut out, "The provider did not return a code");
            return (out.clone(), page_for(prior, &out));
        };
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.expose_secret()),
            ("redirect_uri", redirect_uri.as_str()),
        ];
        if let Some(v) = &verifier {
            form.push(("code_verifier", v.expose_secret()));
        }
        let tokens = match http.post_form_basic(token_url, (client_id, secret), &form) {
            Ok(r) => token_finding(&mut out, &r, secret),
            Err(failure) => {
                out.push(unreachable(
                    "login.token",
                    "The token request",
                    token_url,
                    &failure,
                ));
                None
            }
        };
        let Some((id_token, access_token)) = tokens else {
            skip_rest(&mut out, "No ID token to judge");
            return (out.clone(), page_for(prior, &out));
        };
        let access_token = access_token.as_ref().map(ExposeSecret::expose_secret);
        let claims = verify_finding(
            &mut out,
            http,
            discovery,
            client_id,
            &nonce,
            id_token.expose_secret(),
            access_token,
            code.expose_secret(),
        );
        let userinfo = access_token.and_then(|t| userinfo_finding(&mut out, http, discovery, t));
        match claims {
            Some(claims) => {
                judge(
                    &mut out,
                    settings,
                    discovery,
                    &claims,
                    userinfo.as_ref(),
                    options.email.as_deref(),
                );
                out.push(romm_users::account(
                    settings,
                    Token::Claims(&claims, "the login's ID token"),
                    options.email.as_deref(),
                    accounts,
                ));
            }
            None => skip_rest(
                &mut out,
                "The ID token did not verify, so RomM would stop here",
            ),
        }
        let page = page_for(prior, &out);
        (out, page)
    };
    let (waited, refusals) = listener.wait(
        url.as_str(),
        &state,
        deadline,
        cancelled,
        options.verbose,
        exchange,
    );
    match waited {
        Waited::Done(out) => {
            if out.iter().all(|f| f.status != Status::Fail) {
                eprintln!(
                    "Login test done. The extra callback ({register}) can now be removed from the client if you do not want to keep it."
                );
            }
            findings = out;
        }
        Waited::TimedOut { opened } => {
            let f = if opened {
                own.timed_out(options.timeout)
            } else {
                Finding::fail(
                    "login.callback",
                    format!(
                        "Nobody opened the login URL within {} s",
                        options.timeout.as_secs()
                    ),
                )
                .detail(format!(
                    "{root} was never requested: no browser reached the listener."
                ))
                .fix(
                    "Open the printed URL in a browser on this machine, or pass --browser-command.",
                )
            };
            findings.push(f);
            skip_rest(&mut findings, "No callback arrived");
        }
        Waited::Cancelled => findings = cancelled_findings(),
    }
    if let Some(first) = findings.first_mut() {
        with_refusals(first, &refusals);
    }
    findings
}

fn cancelled_findings() -> Vec<Finding> {
    let mut findings = vec![
        Finding::fail("login.callback", "The login test was cancelled (Ctrl-C)")
            .fix("Run again and finish the login in the browser."),
    ];
    skip_rest(&mut findings, "Cancelled");
    findings
}

fn passed(prior: &[Finding], id: &str) -> bool {
    prior.iter().any(|f| f.id == id && f.status == Status::Pass)
}

/// What the provider answered the login test's own authorization request.
struct Asked {
    /// The request as sent.
    sent: String,
    /// The provider's words, or what it did.
    found: String,
    answer: CallbackAnswer,
}

/// The login test's own authorization request, sent once without following
/// it, exactly as `client.redirect-uri` sends RomM's (marked state and
/// nonce, no cookie) and judged by the same rules: does the provider accept
/// the loopback callback? `None` when the provider could not be reached.
fn ask_provider(
    settings: &Settings,
    http: &Http,
    flavor: &Flavor,
    url: &url::Url,
) -> Option<Asked> {
    let provider = settings
        .value(OIDC_PROVIDER)
        .unwrap_or("")
        .to_ascii_lowercase();
    let probe = redirect_uri::marked_probe(url, "the login test's own request", provider);
    let response = http.get(probe.url.as_str()).ok()?;
    let (finding, answer) = redirect_uri::judged(flavor, &probe, &response);
    Some(Asked {
        sent: crate::http::hide_codes(probe.url.as_str()),
        found: finding.found.unwrap_or(finding.summary),
        answer,
    })
}

/// The login test's own loopback callback, which is not RomM's, and what
/// the provider said of it before the browser opened.
struct OwnCallback<'a> {
    redirect_uri: &'a str,
    register: &'a str,
    why: &'a str,
    client_id: &'a str,
    /// `client.redirect-uri` passed: the provider accepted RomM's request,
    /// which differs from the login test's only in its callback.
    romm_request_accepted: bool,
    /// RomM's callback is proven (`client.redirect-uri` or `pocketid.callbacks`).
    romm_proven: bool,
    asked: Option<Asked>,
}

impl OwnCallback<'_> {
    fn fix(&self) -> String {
        format!(
            "Register {} as a callback URL of client {} ({}), then run the login test again.",
            self.register, self.client_id, self.why
        )
    }

    /// A warning when the provider refused the loopback callback: its words
    /// name the callback, or RomM's request, the same but for its callback,
    /// was accepted.
    fn refused(&self) -> Option<Finding> {
        let asked = self.asked.as_ref()?;
        let CallbackAnswer::Refused { names_callback } = asked.answer else {
            return None;
        };
        if !names_callback && !self.romm_request_accepted {
            return None;
        }
        let inferred = if names_callback {
            ""
        } else {
            "\nIts answer does not name the callback, but RomM's own request, which differs only in its callback, was accepted (client.redirect-uri)."
        };
        Some(
            Finding::warn(
                "login.callback",
                format!(
                    "The provider does not accept the login test's own callback {} (this is not RomM's callback); RomM's login is unproven",
                    self.redirect_uri
                ),
            )
            .detail(format!(
                "Before opening a browser, the login test sent its own authorization request once, without following it: {}\nThe provider refused it before any sign-in: {}{inferred}\nThe login test signs in through this loopback callback, so it cannot prove RomM's login until the provider accepts it; no browser was opened. Whether the provider accepts RomM's own callback is client.redirect-uri's finding.",
                asked.sent, asked.found
            ))
            .mismatch(
                format!("{} accepted for client {}", self.redirect_uri, self.client_id),
                asked.found.clone(),
            )
            .fix(self.fix()),
        )
    }

    /// The wait ended after the browser went to the provider, with no
    /// callback. When the provider could not be asked beforehand, its refusal
    /// of the loopback callback is the likely cause: a warning when RomM's own
    /// callback is proven, since RomM's login did not fail.
    fn timed_out(&self, timeout: Duration) -> Finding {
        let secs = timeout.as_secs();
        let accepted = self
            .asked
            .as_ref()
            .is_some_and(|a| a.answer == CallbackAnswer::Accepted);
        if accepted {
            return Finding::fail(
                "login.callback",
                format!("The login in the browser did not come back within {secs} s"),
            )
            .detail(format!(
                "Asked before the browser opened, the provider accepted the login test's callback {}; the browser went to the provider, but the sign-in never redirected back (not finished, or stopped on a page of the provider's own).",
                self.redirect_uri
            ))
            .mismatch(format!("a redirect to {}", self.redirect_uri), "no callback")
            .fix("Run again and finish the sign-in in the browser it opens (or pass --browser-command).");
        }
        let unasked = match &self.asked {
            Some(asked) if asked.answer == CallbackAnswer::Unknown => format!(
                "Asked before the browser opened, the provider's answer could not tell: {}.",
                asked.found
            ),
            Some(asked) => format!(
                "Asked before the browser opened, the provider answered: {}",
                asked.found
            ),
            None => {
                "The provider could not be reached to ask before the browser opened.".to_string()
            }
        };
        let detail = format!(
            "The browser went to the provider but no callback arrived. Most likely the provider showed its own error page instead of redirecting, because the login test's loopback callback {} is not registered (Pocket ID: \"… is not registered for this client.\"); or the sign-in was not finished.\n{unasked}",
            self.redirect_uri
        );
        let f = if self.romm_proven {
            Finding::warn(
                "login.callback",
                format!(
                    "No callback within {secs} s: most likely the provider does not accept the login test's own callback {} (this is not RomM's callback); RomM's login is unproven",
                    self.redirect_uri
                ),
            )
            .detail(format!(
                "{detail}\nRomM's own callback is accepted (client.redirect-uri or pocketid.callbacks): this is not RomM's login failing."
            ))
        } else {
            Finding::fail(
                "login.callback",
                format!("The provider never redirected back within {secs} s"),
            )
            .detail(detail)
        };
        f.mismatch(
            format!("a redirect to {}", self.redirect_uri),
            "no callback",
        )
        .fix(self.fix())
    }
}

/// The requests to /callback that were refused, added to `login.callback`
/// (never a code: only the method and which parameter was wrong).
fn with_refusals(finding: &mut Finding, refusals: &Refusals) {
    if refusals.count == 0 {
        return;
    }
    let mut lines = vec![format!(
        "Refused {} other request(s) to /callback with 400, and went on waiting for this run's callback:",
        refusals.count
    )];
    lines.extend(refusals.first.iter().map(|r| format!("  • {r}")));
    let more = refusals.count.saturating_sub(refusals.first.len() as u64);
    if more > 0 {
        lines.push(format!("  … and {more} more"));
    }
    finding.detail = [finding.detail.as_str(), &lines.join("\n")]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    finding.data = Some(serde_json::json!({
        "refused": { "count": refusals.count, "first": refusals.first }
    }));
}

/// The browser page: what the whole run proves so far (`prior`, the
/// doctor's checks before the login, then the login's own findings), with
/// every login row marked as it came out.
fn page_for(prior: &[Finding], login: &[Finding]) -> Page {
    let all: Vec<Finding> = prior.iter().chain(login).cloned().collect();
    let verdict = super::verdict::judge(&all);
    let title = match verdict.status {
        Status::Pass => "RomM would accept this login",
        Status::Fail if login.iter().any(|f| f.status == Status::Fail) => {
            "RomM would refuse this login"
        }
        Status::Fail => "RomM's own login would fail",
        _ => "The provider's login worked; RomM accepting it is not proven",
    };
    let mut lines: Vec<String> = login
        .iter()
        .map(|f| {
            let row = format!("{} {} {}", crate::report::mark(f.status).0, f.id, f.summary);
            match f.status {
                Status::Fail if !f.fix.is_empty() => format!("{row}\n  fix: {}", f.fix),
                _ => row,
            }
        })
        .collect();
    lines.push(String::new());
    lines.extend(verdict.lines());
    Page {
        status: verdict.status,
        title: title.into(),
        text: lines.join("\n"),
    }
}

/// Pushes `login.callback`; the code, when one arrived.
fn callback_finding(
    out: &mut Vec<Finding>,
    callback: Callback,
    flavor: &Flavor,
    register: &str,
) -> Option<SecretString> {
    const ID: &str = "login.callback";
    match callback {
        Callback::Code(code) => {
            out.push(Finding::pass(
                ID,
                "The provider redirected back with an authorization code",
            ));
            Some(code)
        }
        Callback::ProviderError { error, description } => {
            let said = if description.is_empty() {
                error.clone()
            } else {
                format!("{error}: {description}")
            };
            let lower = said.to_ascii_lowercase();
            let fix = if lower.contains("pkce") || lower.contains("code_challenge") {
                if flavor.is_pocket_id() {
                    "RomM sends no PKCE. Untick PKCE on the Pocket ID client (OIDC Clients → RomM), and make sure \"Public client\" is off.".to_string()
                } else {
                    "RomM sends no PKCE: turn off the PKCE requirement for this client at the provider, and make it a confidential client.".to_string()
                }
            } else if error == "invalid_scope" {
                "RomM asks for openid profile email plus OIDC_CLAIM_ROLES; define that scope at the provider or change OIDC_CLAIM_ROLES.".to_string()
            } else if error == "access_denied" {
                "The provider refused this user (denied consent, or a group restriction on the client: Pocket ID \"Allowed user groups\").".to_string()
            } else if lower.contains("redirect") || lower.contains("callback") {
                format!("Register {register} as a callback URL of the client.")
            } else {
                "Read the provider's message above; it names the client setting to change."
                    .to_string()
            };
            out.push(
                Finding::fail(ID, format!("The provider answered with an error: {error}"))
                    .detail(said.clone())
                    .mismatch("?code=…", format!("?error={said}"))
                    .fix(fix),
            );
            None
        }
        Callback::NoCode => {
            out.push(
                Finding::fail(ID, "The callback carried neither a code nor an error")
                    .fix("Check that the provider uses response_mode=query for this client."),
            );
            None
        }
    }
}

/// Pushes `login.token`; returns (id_token, access_token) on success.
fn token_finding(
    out: &mut Vec<Finding>,
    response: &crate::http::Response,
    secret: &str,
) -> Option<(SecretString, Option<SecretString>)> {
    const ID: &str = "login.token";
    let body = response.json();
    let field = |k: &str| {
        body.as_ref()
            .and_then(|b| b.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    if response.status == 200 {
        return match field("id_token") {
            Some(id_token) => {
                out.push(Finding::pass(
                    ID,
                    "The token endpoint issued tokens (client_secret_basic, as RomM)",
                ));
                Some((
                    id_token.into(),
                    field("access_token").map(SecretString::from),
                ))
            }
            None => {
                out.push(Finding::fail(ID, "The token response has no id_token").detail(format!("Body starts: {}", response.head())).fix("RomM needs an ID token: make sure the openid scope is allowed for the client."));
                None
            }
        };
    }
    let error = field("error").unwrap_or_default();
    let description = field("error_description").unwrap_or_default();
    let said = format!("{error} {description}").trim().to_string();
    let lower = said.to_ascii_lowercase();
    let (summary, fix) = if error == "invalid_client"
        || error == "Invalid client secret"
        || response.status == 401
    {
        (
            "The provider refused the client secret",
            "Copy OIDC_CLIENT_SECRET again from the provider (Pocket ID shows it once: create a new secret under OIDC Clients → RomM).",
        )
    } else if lower.contains("verifier") || lower.contains("pkce") {
        (
            "The provider demands PKCE",
            "RomM sends no PKCE: untick PKCE on the Pocket ID client (or turn off the PKCE requirement at the provider).",
        )
    } else if error == "invalid_grant" || error == "Invalid authorization code" {
        (
            "The provider refused the authorization code",
            "The code expired, was already used, or the redirect_uri differed from the one sent to the authorize endpoint; run the test again promptly.",
        )
    } else {
        (
            "The token request failed",
            "Read the provider's error above.",
        )
    };
    let mut detail = if said.is_empty() {
        response.head()
    } else {
        said.clone()
    };
    let mut fix = fix.to_string();
    if (summary.contains("client secret") || error == "invalid_request")
        && let Some(note) = credentials::non_ascii_note(secret)
    {
        detail = format!("{note}\n{detail}");
        fix = credentials::ASCII_SECRET_FIX.to_string();
    }
    out.push(
        Finding::fail(ID, format!("{summary} (HTTP {})", response.status))
            .detail(detail)
            .mismatch("200 with id_token", format!("{} {said}", response.status))
            .fix(fix),
    );
    None
}

/// Pushes `login.id-token`: the ID token judged by authlib 1.6.12's rules
/// as RomM's call applies them (`oidc::id_token`).
#[allow(clippy::too_many_arguments)]
fn verify_finding(
    out: &mut Vec<Finding>,
    http: &Http,
    discovery: &Discovery,
    client_id: &str,
    nonce: &str,
    token: &str,
    access_token: Option<&str>,
    code: &str,
) -> Option<Map<String, Value>> {
    const ID: &str = "login.id-token";
    let algs = discovery.signing_algs();
    let expected = Expected {
        issuer: discovery.doc.get("issuer"),
        client_id,
        nonce,
        access_token,
        code: Some(code),
        allowed_algs: &algs,
        now: now(),
    };
    let mut fetch = |again: bool| key_set(http, discovery, again);
    match id_token::verify(token, &mut fetch, &expected) {
        Ok(verified) => {
            let (warnings, notes): (Vec<&Caution>, Vec<&Caution>) =
                verified.cautions.iter().partition(|c| c.is_warning());
            let what = format!(
                "{} signature (kid {}), {}",
                verified.alg,
                verified.kid.as_deref().unwrap_or("none"),
                verified.checked.join(", ")
            );
            let listed = |cautions: &[&Caution]| {
                cautions
                    .iter()
                    .map(|c| format!("⚠ {c}"))
                    .chain(notes.iter().map(|n| format!("note: {n}")))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let data = serde_json::json!({ "claims": verified.claims });
            let finding = if warnings.is_empty() {
                Finding::pass(
                    ID,
                    format!("RomM (authlib 1.6.12) accepts the ID token: {what}"),
                )
            } else {
                Finding::warn(
                    ID,
                    format!(
                        "RomM (authlib 1.6.12) accepts the ID token, with {} caution{}: {what}",
                        warnings.len(),
                        if warnings.len() == 1 { "" } else { "s" }
                    ),
                )
                .fix(
                    warnings
                        .iter()
                        .map(|c| caution_fix(c))
                        .collect::<Vec<_>>()
                        .join("\n"),
                )
            };
            let detail = listed(&warnings);
            out.push(
                if detail.is_empty() {
                    finding
                } else {
                    finding.detail(detail)
                }
                .data(data),
            );
            Some(verified.claims)
        }
        Err(rejection) => {
            out.push(
                Finding::fail(
                    ID,
                    format!("RomM would refuse the ID token: {}", rejection.exception()),
                )
                .detail(format!(
                    "{rejection}.\nRomM's callback fails with a 500 and logs: {}",
                    rejection.exception()
                ))
                .fix(rejection_fix(&rejection, &discovery.flavor())),
            );
            None
        }
    }
}

/// authlib's `fetch_jwk_set`: the discovery document's own `jwks` member if
/// it has one (not when fetching again), else a GET of `jwks_uri` that
/// follows no redirect and must answer 2xx with JSON.
fn key_set(http: &Http, discovery: &Discovery, again: bool) -> Result<Value, Rejection> {
    if let Some(inline) = discovery
        .doc
        .get("jwks")
        .filter(|j| !again && crate::oidc::py::truthy(j))
    {
        return Ok(inline.clone());
    }
    let Some(url) = discovery
        .doc
        .get("jwks_uri")
        .filter(|u| crate::oidc::py::truthy(u))
    else {
        return Err(Rejection::KeySetUnavailable {
            exception: "RuntimeError: Missing \"jwks_uri\" in metadata".into(),
            why: "the discovery document has no jwks_uri".into(),
        });
    };
    let url = url.as_str().unwrap_or_default();
    let unavailable =
        |exception: String, why: String| Rejection::KeySetUnavailable { exception, why };
    match http.get(url) {
        Err(failure) => Err(unavailable(
            "httpx.HTTPError (the request failed)".into(),
            format!("{url}: {failure:#}"),
        )),
        Ok(r) if !(200..300).contains(&r.status) => Err(unavailable(
            format!("httpx.HTTPStatusError: {} for url '{url}'", r.status),
            format!(
                "{url} answered HTTP {} (RomM follows no redirect)",
                r.status
            ),
        )),
        Ok(r) => r.json().ok_or_else(|| {
            unavailable(
                "json.decoder.JSONDecodeError".into(),
                format!("{url} did not answer JSON: {}", r.head()),
            )
        }),
    }
}

fn caution_fix(caution: &Caution) -> String {
    match caution {
        Caution::OtherAudience { .. } => "Nothing blocks RomM; to keep the token for RomM alone, make the provider issue aud = [OIDC_CLIENT_ID] (Keycloak: remove extra audience mappers).".into(),
        Caution::NoAudience { .. } => "Make the provider put the client id in aud.".into(),
        Caution::Unsigned => "Remove none from the provider's id_token_signing_alg_values_supported and sign ID tokens with RS256.".into(),
        Caution::PublishedSecret { .. } => "Take the symmetric (oct) key out of jwks_uri, rotate that secret, and sign ID tokens with an asymmetric key (RS256).".into(),
        Caution::Unverified { .. } => "Sign with an RSA key of 2048 to 8192 bits (e = 65537), or an Ed25519/EC key, so the signature can be checked here; RomM's own login then proves it.".into(),
        Caution::WeakKey { .. } => "Rotate the provider's signing key to RSA 2048 or larger (Pocket ID: pocket-id key-rotate).".into(),
        Caution::KeyAlg { .. } => "Make the key's alg at jwks_uri match the algorithm the provider signs with.".into(),
        Caution::ExpiredWithinLeeway { .. } | Caution::ClockAhead { .. } => "Synchronise the clocks of the provider and RomM's host (NTP); at 120 s of difference RomM refuses the login.".into(),
        Caution::NonceNotChecked => "Make the provider echo the nonce and drop nonce_supported: false.".into(),
        Caution::NoIssuerCheck => "Make the provider publish issuer in its discovery document (see discovery.issuer).".into(),
        Caution::Subject { .. } => "Make the provider put the user's id in sub (a non-empty string).".into(),
        Caution::CHash => "The provider computes c_hash wrongly; RomM does not check it, other clients may.".into(),
        Caution::NoAtHash | Caution::KeySetChanged { .. } => String::new(),
    }
}

fn rejection_fix(rejection: &Rejection, flavor: &Flavor) -> String {
    let fix = match rejection {
        Rejection::EdDsaAtHash if flavor.is_pocket_id() => {
            return format!(
                "{} (affected: {}).",
                super::discovery::EDDSA_AT_HASH_FIX.trim_end_matches('.'),
                super::discovery::EDDSA_AT_HASH_VERSIONS
            );
        }
        Rejection::EdDsaAtHash => {
            "Sign ID tokens with RS256 (or ES256) instead of EdDSA, or have the provider hash at_hash with SHA-512 for EdDSA (RFC 8037's hash, which authlib uses)."
        }
        Rejection::KeySetUnavailable { .. } => {
            "Make jwks_uri answer the key set with 200 and JSON from RomM's container, without a redirect (Pocket ID: check INTERNAL_APP_URL); see jwks.keys."
        }
        Rejection::KeySet(_) => {
            "Fix the key set at jwks_uri: {\"keys\": [...]} with only JWKs authlib can import (kty RSA, EC, OKP or oct, with their members); see jwks.keys."
        }
        Rejection::Segments { .. }
        | Rejection::Malformed { .. }
        | Rejection::Crit { .. }
        | Rejection::AlgMissing
        | Rejection::AlgUnhashable { .. } => {
            "The provider sends a malformed ID token; upgrade or reconfigure it so it issues a standard signed JWT (header with alg and kid)."
        }
        Rejection::TooLong { .. } => {
            "The ID token is over 256 000 bytes: release fewer or shorter claims in it (long group lists)."
        }
        Rejection::Encrypted { .. } => {
            "Turn off ID-token encryption for the client at the provider (id_token_encrypted_response_alg): RomM cannot decrypt."
        }
        Rejection::AlgNotAllowed { .. } => {
            "Configure the provider to sign ID tokens with an asymmetric algorithm it lists in id_token_signing_alg_values_supported (RS256 is the safe choice; without that field RomM allows RS256 only)."
        }
        Rejection::KeyNotFound { kid: None, .. } => {
            "Make the provider put the signing key's kid in the ID token header, or publish a single key."
        }
        Rejection::KeyNotFound { .. } | Rejection::BadSignature { .. } => {
            "The provider signs with a key it does not publish at jwks_uri: restart it after a key rotation, or check INTERNAL_APP_URL. RomM keeps the key set it fetched first and fetches again only for an unknown kid, so restart RomM too after changing a key in place."
        }
        Rejection::Key(KeyError::Kind { .. } | KeyError::Curve { .. }) => {
            "Publish the signing key with the kid the tokens name, and sign with the algorithm that fits it (RSA: RS256; P-256: ES256)."
        }
        Rejection::Key(KeyError::Ops { .. } | KeyError::Use { .. }) => {
            "Mark the signing key at jwks_uri for signatures: use \"sig\" (or no use) and key_ops with verify (or none)."
        }
        Rejection::Key(KeyError::Material { .. } | KeyError::NeverVerifies { .. }) => {
            "The key at jwks_uri is damaged; let the provider publish its key again (Pocket ID: pocket-id key-rotate)."
        }
        Rejection::Issuer { .. } => {
            "The provider's discovery issuer and its tokens' iss must agree exactly (Pocket ID: APP_URL); fix the provider's public URL."
        }
        Rejection::Expired { .. }
        | Rejection::NotYetValid { .. }
        | Rejection::IssuedInFuture { .. } => {
            "Synchronise the clocks of the provider and RomM's host (NTP); authlib allows 120 s of difference."
        }
        Rejection::NonceMissing | Rejection::Nonce { .. } => {
            "The provider must copy the nonce of the authorization request into the ID token; upgrade or reconfigure it."
        }
        Rejection::AzpMissing { .. } => {
            "Make the provider issue aud = [OIDC_CLIENT_ID] only, or add azp = OIDC_CLIENT_ID (Keycloak: remove extra audience mappers for this client)."
        }
        Rejection::Azp { .. } => {
            "The token was issued to another client: check OIDC_CLIENT_ID against the provider's client."
        }
        Rejection::AtHash { .. } | Rejection::AtHashType { .. } => {
            "The provider computes at_hash wrongly for its algorithm; sign with RS256, or upgrade the provider."
        }
        Rejection::MissingClaim(_)
        | Rejection::NotNumeric { .. }
        | Rejection::AuthTime { .. }
        | Rejection::Amr { .. } => {
            "The provider issues ID tokens that break OIDC Core's claim rules; upgrade or reconfigure it."
        }
    };
    fix.into()
}

fn userinfo_finding(
    out: &mut Vec<Finding>,
    http: &Http,
    discovery: &Discovery,
    access_token: &str,
) -> Option<Map<String, Value>> {
    const ID: &str = "login.userinfo";
    let Some(url) = discovery.str("userinfo_endpoint") else {
        out.push(Finding::skip(
            ID,
            "No userinfo_endpoint (RomM never calls it anyway)",
        ));
        return None;
    };
    match http.get_bearer(url, access_token) {
        Ok(r) if r.status == 200 => match r.json() {
            Some(Value::Object(map)) => {
                out.push(
                    Finding::pass(
                        ID,
                        "Userinfo read (shown for comparison: RomM reads the ID token only)",
                    )
                    .data(serde_json::json!({ "claims": map })),
                );
                Some(map)
            }
            _ => {
                out.push(Finding::warn(ID, "Userinfo is not a JSON object").detail(r.head()));
                None
            }
        },
        Ok(r) => {
            out.push(
                Finding::warn(ID, format!("Userinfo answered HTTP {}", r.status))
                    .detail(r.head())
                    .fix("RomM does not call userinfo, so this does not block RomM."),
            );
            None
        }
        Err(failure) => {
            let f = unreachable(ID, "Userinfo", url, &failure);
            out.push(Finding {
                status: Status::Warn,
                ..f
            });
            None
        }
    }
}

/// Where the provider puts a claim into the ID token, per provider.
fn id_token_claims_fix(provider: &str) -> &'static str {
    match provider {
        "authelia" => {
            "Authelia 4.39+: add a claims_policies entry with id_token: [email, email_verified, preferred_username, groups] and set the client's claims_policy to it (romm#1809)."
        }
        "zitadel" => "Zitadel: tick \"User Info inside ID Token\" on the application.",
        "authentik" => {
            "Authentik: select a scope mapping for the email scope that returns email and email_verified."
        }
        "keycloak" => {
            "Keycloak: make the mapper add the claim to the ID token (\"Add to ID token\" on)."
        }
        _ => "Configure the provider to include the claim in the ID token (not only on userinfo).",
    }
}

fn verified_fix(provider: &str, flavor: &Flavor) -> String {
    match flavor {
        Flavor::PocketIdModern => "Pocket ID 2.2+: Settings → Admin → Users → edit the user → \"Mark as verified\" → Save. For new users, tick Application Configuration → Email → \"Emails verified by default\" (it does not change existing users, pocket-id#1264).".into(),
        Flavor::PocketIdLegacy => "Pocket ID 2.2–2.9: Settings → Admin → Users → edit the user → \"Mark as verified\"; before 2.2: Application Configuration → General → tick \"Emails Verified\".".into(),
        Flavor::Other => match provider {
            "authentik" => "Authentik 2025.10+: create a scope mapping (scope email) returning email and email_verified: True, select it on the provider and remove the default email mapping.".into(),
            "keycloak" => "Keycloak: Users → the user → turn on \"Email verified\".".into(),
            _ => "Mark the user's email as verified at the provider, so the ID token carries \"email_verified\": true.".into(),
        },
    }
}

/// RomM's acceptance rules, in RomM's order, on the ID-token claims.
pub fn judge(
    out: &mut Vec<Finding>,
    settings: &Settings,
    discovery: &Discovery,
    claims: &Map<String, Value>,
    userinfo: Option<&Map<String, Value>>,
    email_flag: Option<&str>,
) {
    let provider = settings
        .value(OIDC_PROVIDER)
        .unwrap_or("")
        .to_ascii_lowercase();
    let flavor = discovery.flavor();
    let only_in_userinfo =
        |name: &str| userinfo.is_some_and(|u| u.get(name).is_some_and(|v| !v.is_null()));
    let missing_detail = |name: &str| {
        if only_in_userinfo(name) {
            format!(
                "{name} is on userinfo but not in the ID token, and RomM reads the ID token only."
            )
        } else {
            format!("The ID token has no {name} claim.")
        }
    };
    let email = claims
        .get("email")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty());
    match email {
        Some(e) => out.push(Finding::pass("login.email", format!("email {e}"))),
        None => {
            let fix = if only_in_userinfo("email") {
                id_token_claims_fix(&provider).to_string()
            } else if flavor.is_pocket_id() {
                "Pocket ID: give the user an email address (Settings → Admin → Users), and keep the email scope allowed.".to_string()
            } else {
                "Give the user an email at the provider and release it in the ID token for the email scope.".to_string()
            };
            out.push(
                Finding::fail(
                    "login.email",
                    "RomM: \"Email is missing from token.\" (400)",
                )
                .detail(missing_detail("email"))
                .fix(fix),
            );
        }
    }
    let advertised = discovery.advertises_email_verified();
    let verified = claims.get("email_verified");
    let rule = if advertised {
        "the provider lists email_verified in claims_supported, so RomM requires literal true"
    } else {
        "RomM refuses only a literal false when the provider does not advertise the claim"
    };
    let shown = verified
        .map(|v| format!("{v} ({})", super::kind(v)))
        .unwrap_or_else(|| "absent".into());
    let refused = verified == Some(&Value::Bool(false))
        || (advertised && verified != Some(&Value::Bool(true)));
    if refused {
        out.push(
            Finding::fail(
                "login.email-verified",
                "RomM: \"Email is not verified.\" (400)",
            )
            .detail(format!("email_verified is {shown}; {rule}."))
            .mismatch("true (a JSON boolean)", shown)
            .fix(
                if verified.is_none() && only_in_userinfo("email_verified") {
                    id_token_claims_fix(&provider).to_string()
                } else {
                    verified_fix(&provider, &flavor)
                },
            ),
        );
    } else {
        out.push(Finding::pass(
            "login.email-verified",
            format!("email_verified is {shown}; {rule}"),
        ));
    }
    let attr = settings.username_attribute();
    match claims.get(attr) {
        Some(v) if !v.is_null() => out.push(Finding::pass("login.username", format!("{attr} is {v}: the username of a new RomM account"))),
        _ => out.push(
            Finding::fail("login.username", format!("RomM: \"'{attr}' attribute is missing from token.\" (400)"))
                .detail(missing_detail(attr))
                .fix(if only_in_userinfo(attr) { id_token_claims_fix(&provider).to_string() } else { format!("Set OIDC_USERNAME_ATTRIBUTE to a claim the ID token has (e.g. preferred_username, email), or release {attr} in the ID token.") }),
        ),
    }
    out.push(roles(settings, claims, userinfo));
    let token_email = email.map(str::to_ascii_lowercase);
    let flag_email = email_flag.map(str::to_ascii_lowercase);
    out.push(match (flag_email, token_email) {
        (None, _) => Finding::skip("login.email-match", "Give --email (the RomM user's email) to check that RomM finds the account"),
        (Some(want), Some(got)) if want == got => Finding::pass("login.email-match", format!("The token's email matches the RomM user ({want})")),
        (Some(want), got) => Finding::fail("login.email-match", "The token's email is not the RomM user's email")
            .detail("RomM matches users by email, case-insensitively; with another email it uses another account, or creates one (or refuses, when registration is off: see romm.account).")
            .mismatch(want, got.unwrap_or_else(|| "(no email)".into()))
            .fix("Make the RomM profile's email and the provider's email the same."),
    });
}

fn roles(
    settings: &Settings,
    claims: &Map<String, Value>,
    userinfo: Option<&Map<String, Value>>,
) -> Finding {
    const ID: &str = "login.roles";
    let Some(claim) = settings.value(OIDC_CLAIM_ROLES) else {
        return Finding::skip(
            ID,
            "No role mapping (OIDC_CLAIM_ROLES unset): new users get the default role",
        );
    };
    let Some(value) = claims.get(claim) else {
        let elsewhere = userinfo.is_some_and(|u| u.contains_key(claim));
        return Finding::warn(ID, format!("The ID token has no {claim} claim: RomM maps no role"))
            .detail(if elsewhere { format!("{claim} is on userinfo only; RomM reads the ID token.") } else { format!("New users get the default role; existing users keep theirs. Claims present: {}", claims.keys().cloned().collect::<Vec<_>>().join(", ")) })
            .fix(format!("Release {claim} in the ID token (Pocket ID: the groups scope carries the groups claim)."));
    };
    let role_value = |name: &str| settings.value(name);
    let granted = mapped_role(settings, claims).flatten();
    let found = format!("{claim} = {value} ({})", super::kind(value));
    match granted {
        Some(role) => {
            let role = if role == "admin" { "Admin" } else { "User" };
            let f = Finding::pass(ID, format!("{found}: RomM grants {role}"));
            if value.is_string() { Finding { status: Status::Warn, ..f }.detail("The claim is a string, so RomM matches role values as substrings; a list is safer.") } else { f }
        }
        None => Finding::fail(ID, "RomM: \"User has not been granted any roles for this application.\" (403)")
            .mismatch(
                [OIDC_ROLE_ADMIN, OIDC_ROLE_EDITOR, OIDC_ROLE_VIEWER].iter().filter_map(|n| role_value(n).map(|v| format!("{n}={v}"))).collect::<Vec<_>>().join(", "),
                found,
            )
            .fix("Put the user in a group named like OIDC_ROLE_ADMIN/OIDC_ROLE_VIEWER, or set OIDC_ROLE_VIEWER=* to let anyone with the claim in."),
    }
}

/// The role RomM 5.x gives for these claims (`handler/auth/base_handler.py`):
/// `None` when no mapping applies (OIDC_CLAIM_ROLES unset, or the claim not
/// in the token), `Some(None)` when RomM refuses (no role value matches),
/// else `admin` or `user`. A claim present as `null` counts as present and
/// empty, as RomM's `userinfo[claim] or []` reads it.
pub fn mapped_role(
    settings: &Settings,
    claims: &Map<String, Value>,
) -> Option<Option<&'static str>> {
    let value = claims.get(settings.value(OIDC_CLAIM_ROLES)?)?;
    // RomM uses Python `in`: list membership, or a substring test on a string.
    let contains = |role: &str| match value {
        Value::Array(list) => list.iter().any(|v| v.as_str() == Some(role)),
        Value::String(s) => s.contains(role),
        _ => false,
    };
    let role_value = |name: &str| settings.value(name);
    Some(if role_value(OIDC_ROLE_ADMIN).is_some_and(contains) {
        Some("admin")
    } else if role_value(OIDC_ROLE_EDITOR).is_some_and(contains)
        || role_value(OIDC_ROLE_VIEWER).is_some_and(|v| v == "*" || contains(v))
    {
        Some("user")
    } else {
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(
        answer: Option<CallbackAnswer>,
        romm_request_accepted: bool,
        romm_proven: bool,
    ) -> OwnCallback<'static> {
        OwnCallback {
            redirect_uri: "http://127.0.0.1:8765/callback",
            register: "http://127.0.0.1/callback",
            why: "Pocket ID 2.0+ matches it on any port",
            client_id: "romm",
            romm_request_accepted,
            romm_proven,
            asked: answer.map(|answer| Asked {
                sent: "https://id.example.com/authorize?…".into(),
                found: "the provider's words".into(),
                answer,
            }),
        }
    }

    #[test]
    fn a_refused_loopback_callback_is_a_warning_only_when_it_is_the_cause() {
        let named = CallbackAnswer::Refused {
            names_callback: true,
        };
        let unnamed = CallbackAnswer::Refused {
            names_callback: false,
        };
        let f = own(Some(named), false, false)
            .refused()
            .expect("named: refused");
        assert_eq!(f.status, Status::Warn);
        assert!(f.summary.contains("this is not RomM's callback"), "{f:?}");
        assert!(
            f.fix.contains("Register http://127.0.0.1/callback"),
            "{f:?}"
        );
        // Unnamed, but RomM's request (the same but for its callback) was accepted.
        let f = own(Some(unnamed), true, true).refused().expect("inferred");
        assert!(f.detail.contains("differs only in its callback"), "{f:?}");
        // Unnamed, and only RomM's registration is known: no inference.
        assert!(own(Some(unnamed), false, true).refused().is_none());
        for answer in [
            Some(CallbackAnswer::Accepted),
            Some(CallbackAnswer::Unknown),
            None,
        ] {
            assert!(own(answer, true, true).refused().is_none(), "{answer:?}");
        }
    }

    #[test]
    fn a_timeout_names_the_loopback_callback_unless_the_provider_accepted_it() {
        let t = Duration::from_secs(3);
        let f = own(Some(CallbackAnswer::Unknown), false, true).timed_out(t);
        assert_eq!(f.status, Status::Warn, "RomM's callback proven: {f:?}");
        assert!(f.summary.contains("most likely"), "{f:?}");
        let f = own(Some(CallbackAnswer::Unknown), false, false).timed_out(t);
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(f.detail.contains("is not registered"), "{f:?}");
        let f = own(None, false, true).timed_out(t);
        assert!(f.detail.contains("could not be reached"), "{f:?}");
        let f = own(Some(CallbackAnswer::Accepted), true, true).timed_out(t);
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(!f.summary.contains("callback"), "{f:?}");
    }
}
