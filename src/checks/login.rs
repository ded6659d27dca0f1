//! `doctor --login`: a real authorization-code login through the loopback
//! listener, built as RomM builds it, then judged with RomM's own rules
//! (`backend/handler/auth/base_handler.py`, in RomM's order) on the ID-token
//! claims only — userinfo is fetched just to say what RomM cannot see.
//!
//! The protocol steps are `oidc::authcode`'s and the listener's; this module
//! runs them in order and judges what each returned. It prints nothing: its
//! notes go through the [`Sink`] it is given.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::{Map, Value};

use super::credentials;
use super::redirect_uri::{self, CallbackAnswer};
use super::romm_users::{self, Token};
use super::unreachable;
use crate::browser::Browser;
use crate::checks::id;
use crate::cli::Loopback;
use crate::http::Http;
use crate::oidc::authcode::{self, ExchangeError, Request, Tokens, UserinfoError};
use crate::oidc::discovery::{Discovery, Flavor};
use crate::oidc::id_token::{Caution, Rejection, Verified};
use crate::oidc::jwk::KeyError;
use crate::oidc::loopback::{Callback, Listener, Page, Refusals, Waited, callback_url};
use crate::progress::Sink;
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

/// What the login test found, and the ID token's claims when it verified
/// (what RomM goes on to read).
pub struct Login {
    pub findings: Vec<Finding>,
    pub claims: Option<Map<String, Value>>,
}

impl Login {
    /// A login that stopped after `findings`: every id not among them is
    /// skipped for `why`.
    fn stopped(findings: Vec<Finding>, why: &str) -> Login {
        Login {
            findings: with_skips(findings, why),
            claims: None,
        }
    }
}

/// `findings` with a skip for every id they lack, in report order.
fn with_skips(findings: Vec<Finding>, why: &str) -> Vec<Finding> {
    let mut findings = findings.into_iter().map(Some).collect::<Vec<_>>();
    id::LOGIN
        .iter()
        .map(|id| {
            findings
                .iter_mut()
                .find(|f| f.as_ref().is_some_and(|f| f.id == *id))
                .and_then(Option::take)
                .unwrap_or_else(|| Finding::skip(id, why))
        })
        .collect()
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

/// The login test, step by step: its preconditions, the provider's answer
/// to its own request, the browser, and the wait for the callback, inside
/// which the code is exchanged and the ID token judged.
#[allow(clippy::too_many_arguments)]
pub fn run(
    settings: &Settings,
    http: &Http,
    discovery: Option<&Discovery>,
    options: &Options,
    accounts: Option<&[Account]>,
    cancelled: &AtomicBool,
    prior: &[Finding],
    sink: &dyn Sink,
) -> Login {
    let (flow, listener) = match prepare(settings, http, discovery, options, accounts) {
        Ok(prepared) => prepared,
        Err(stopped) => return stopped,
    };
    flow.announce(sink);
    let own = flow.own_callback(prior);
    if let Some(refused) = own.refused() {
        return Login::stopped(
            vec![refused],
            "Not run: the provider does not accept the login test's own callback (see login.callback)",
        );
    }
    if cancelled.load(Ordering::SeqCst) {
        return cancelled_login();
    }
    let root = listener.root_url();
    open_browser(&root, options, sink);
    let deadline = Instant::now() + options.timeout;
    sink.waiting("Waiting for the login in the browser…", deadline);
    let log = |line: &str| sink.note(line);
    let (waited, refusals) = listener.wait(
        flow.request.url.as_str(),
        &flow.request.state,
        deadline,
        cancelled,
        options.verbose.then_some(&log as &dyn Fn(&str)),
        |callback| {
            // The wait is over as soon as the callback arrives.
            sink.waited();
            let login = flow.after_callback(callback);
            let page = page_for(prior, &login.findings);
            (login, page)
        },
    );
    sink.waited();
    let mut login = match waited {
        Waited::Done(login) => {
            flow.done(&login, sink);
            login
        }
        Waited::TimedOut { opened } => {
            let f = if opened {
                own.timed_out(options.timeout)
            } else {
                never_opened(&root, options.timeout)
            };
            Login::stopped(vec![f], "No callback arrived")
        }
        Waited::Cancelled => cancelled_login(),
    };
    if let Some(first) = login.findings.first_mut() {
        with_refusals(first, &refusals);
    }
    login
}

/// Everything the login test needs once its preconditions hold, with the
/// authorization request made for its listener.
struct Flow<'a> {
    settings: &'a Settings,
    http: &'a Http,
    discovery: &'a Discovery,
    options: &'a Options,
    accounts: Option<&'a [Account]>,
    client_id: &'a str,
    secret: &'a str,
    token_url: &'a str,
    flavor: Flavor,
    request: Request,
    /// The callback to register, in the form the provider matches, and why.
    register: String,
    why: String,
}

/// The preconditions, in order: the discovery document, credentials RomM
/// can send, both endpoints, a loopback listener. When one fails, the login
/// that stopped there.
fn prepare<'a>(
    settings: &'a Settings,
    http: &'a Http,
    discovery: Option<&'a Discovery>,
    options: &'a Options,
    accounts: Option<&'a [Account]>,
) -> Result<(Flow<'a>, Listener), Login> {
    let stop = |findings, why| Err(Login::stopped(findings, why));
    let Some(discovery) = discovery else {
        return stop(vec![], "The login needs the discovery document");
    };
    let (Some(client_id), Some(secret)) = (
        settings.value(OIDC_CLIENT_ID),
        settings.value(OIDC_CLIENT_SECRET),
    ) else {
        return stop(
            vec![],
            "The login needs OIDC_CLIENT_ID and OIDC_CLIENT_SECRET",
        );
    };
    if let Some(refused) = credentials::unsendable(id::LOGIN_TOKEN, client_id, secret) {
        let callback = Finding::skip(
            id::LOGIN_CALLBACK,
            "Not started: RomM could not send its token request (see login.token)",
        );
        return stop(
            vec![callback, refused],
            "RomM could not send its token request",
        );
    }
    let (Some(authorize), Some(token_url)) = (
        discovery.str("authorization_endpoint"),
        discovery.str("token_endpoint"),
    ) else {
        return stop(
            vec![],
            "The discovery document lacks the authorization or token endpoint",
        );
    };
    let Some(endpoint) = authcode::endpoint(authorize) else {
        return stop(
            vec![],
            "The authorization endpoint is not an http(s) URL (see discovery.metadata)",
        );
    };
    let listener = match Listener::bind(options.listen) {
        Ok(l) => l,
        Err(e) => {
            let f = Finding::fail(id::LOGIN_CALLBACK, "No loopback port for the callback")
                .detail(format!("{e:#}"))
                .fix("Free a port or pass --listen 127.0.0.1:PORT.");
            return stop(vec![f], "No callback listener");
        }
    };
    let flavor = discovery.flavor();
    let redirect_uri = listener.redirect_uri();
    let (register, why) = callback_to_register(&flavor, listener.addr(), &redirect_uri);
    let scope = romm_scope(settings);
    let request = Request::new(&endpoint, client_id, &redirect_uri, &scope, options.pkce);
    let flow = Flow {
        settings,
        http,
        discovery,
        options,
        accounts,
        client_id,
        secret,
        token_url,
        flavor,
        request,
        register,
        why,
    };
    Ok((flow, listener))
}

impl Flow<'_> {
    /// The loopback callback the provider must accept, and a warning where
    /// the provider may bind the client to it.
    fn announce(&self, sink: &dyn Sink) {
        sink.note(&format!(
            "Login test: the client {} needs this extra callback URL registered at the provider:\n    {}   ({})",
            self.client_id, self.register, self.why
        ));
        if self.flavor == Flavor::PocketIdLegacy {
            sink.note(
                "Careful: Pocket ID 1.2–2.9 permanently adopts the first callback URL it sees when a client has none. Register RomM's own callback first, or the client would be bound to this loopback URL.",
            );
        }
    }

    /// The loopback callback, and what the provider says of it when asked
    /// before the browser opens.
    fn own_callback(&self, prior: &[Finding]) -> OwnCallback<'_> {
        OwnCallback {
            redirect_uri: &self.request.redirect_uri,
            register: &self.register,
            why: &self.why,
            client_id: self.client_id,
            romm_request_accepted: passed(prior, id::CLIENT_REDIRECT_URI),
            romm_proven: passed(prior, id::CLIENT_REDIRECT_URI)
                || passed(prior, id::POCKETID_CALLBACKS),
            asked: ask_provider(self.settings, self.http, &self.flavor, &self.request.url),
        }
    }

    /// From the callback on: the code exchanged, the ID token verified, and
    /// its claims judged by RomM's rules.
    fn after_callback(&self, callback: Callback) -> Login {
        let mut findings = vec![callback_verdict(&callback, &self.flavor, &self.register)];
        let Callback::Code(code) = callback else {
            return Login::stopped(findings, "The provider did not return a code");
        };
        let client = (self.client_id, self.secret);
        let exchanged = self
            .request
            .exchange(self.http, self.token_url, client, &code);
        findings.push(token_verdict(&exchanged, self.secret, self.token_url));
        let Ok(tokens) = exchanged else {
            return Login::stopped(findings, "No ID token to judge");
        };
        let verified =
            self.request
                .verify(self.http, self.discovery, self.client_id, &tokens, &code);
        findings.push(id_token_verdict(&verified, &self.flavor));
        // Without an access token there is no userinfo to compare with.
        let userinfo = tokens.access_token.as_ref().and_then(|t| {
            let (finding, claims) = self.userinfo(t);
            findings.push(finding);
            claims
        });
        let Ok(Verified { claims, .. }) = verified else {
            return Login::stopped(
                findings,
                "The ID token did not verify, so RomM would stop here",
            );
        };
        let email = self.options.email.as_deref();
        findings.extend(judge(
            self.settings,
            self.discovery,
            &claims,
            userinfo.as_ref(),
            email,
        ));
        findings.push(romm_users::account(
            self.settings,
            Token::Claims(&claims, "the login's ID token"),
            email,
            self.accounts,
        ));
        Login {
            findings,
            claims: Some(claims),
        }
    }

    /// `login.userinfo`, and the claims when userinfo answered them.
    fn userinfo(&self, access_token: &SecretString) -> (Finding, Option<Map<String, Value>>) {
        let Some(url) = self.discovery.str("userinfo_endpoint") else {
            let f = Finding::skip(
                id::LOGIN_USERINFO,
                "No userinfo_endpoint (RomM never calls it anyway)",
            );
            return (f, None);
        };
        let answer = authcode::userinfo(self.http, url, access_token);
        (userinfo_verdict(&answer, url), answer.ok())
    }

    /// Once nothing failed, the extra callback is no longer needed.
    fn done(&self, login: &Login, sink: &dyn Sink) {
        if login.findings.iter().all(|f| f.status != Status::Fail) {
            sink.note(&format!(
                "Login test done. The extra callback ({}) can now be removed from the client if you do not want to keep it.",
                self.register
            ));
        }
    }
}

fn open_browser(root: &str, options: &Options, sink: &dyn Sink) {
    sink.note(&format!(
        "Open this URL to log in (it forwards to the provider):\n    {root}"
    ));
    sink.note(&match crate::browser::open(root, &options.browser) {
        Ok(how) => format!(
            "Opened {how}; waiting up to {} s for the provider to redirect back…",
            options.timeout.as_secs()
        ),
        Err(e) => format!("Could not open a browser ({e:#}); open the URL above yourself."),
    });
}

/// The wait ended and nobody ever requested the listener's root.
fn never_opened(root: &str, timeout: Duration) -> Finding {
    Finding::fail(
        id::LOGIN_CALLBACK,
        format!("Nobody opened the login URL within {} s", timeout.as_secs()),
    )
    .detail(format!(
        "{root} was never requested: no browser reached the listener."
    ))
    .fix("Open the printed URL in a browser on this machine, or pass --browser-command.")
}

fn cancelled_login() -> Login {
    let cancelled = Finding::fail(id::LOGIN_CALLBACK, "The login test was cancelled (Ctrl-C)")
        .fix("Run again and finish the login in the browser.");
    Login::stopped(vec![cancelled], "Cancelled")
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
                id::LOGIN_CALLBACK,
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
                id::LOGIN_CALLBACK,
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
                id::LOGIN_CALLBACK,
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
                id::LOGIN_CALLBACK,
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
/// every login row marked as it came out. Outside the doctor (the wizard,
/// no `prior`) it judges the login alone: the wizard checks the rest in
/// steps of its own, so the doctor's open needs would read as not run.
fn page_for(prior: &[Finding], login: &[Finding]) -> Page {
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
    let refused = login.iter().any(|f| f.status == Status::Fail);
    let (status, title) = if prior.is_empty() {
        // A skip here is a check that does not apply (no roles mapped).
        let worst = login
            .iter()
            .map(|f| f.status)
            .filter(|s| *s != Status::Skip)
            .max()
            .unwrap_or(Status::Warn);
        let title = match worst {
            Status::Fail => "RomM would refuse this login",
            Status::Pass => "The login worked, and RomM's rules accept its ID token",
            _ => "The login worked; RomM accepting its ID token is not proven",
        };
        (worst, title)
    } else {
        let all: Vec<Finding> = prior.iter().chain(login).cloned().collect();
        let verdict = super::verdict::judge(&all);
        let title = match verdict.status {
            Status::Pass => "RomM would accept this login",
            Status::Fail if refused => "RomM would refuse this login",
            Status::Fail => "RomM's own login would fail",
            _ => "The provider's login worked; RomM accepting it is not proven",
        };
        lines.push(String::new());
        lines.extend(verdict.lines());
        (verdict.status, title)
    };
    Page {
        status,
        title: title.into(),
        text: lines.join("\n"),
    }
}

/// `login.callback`: what the provider's redirect brought.
fn callback_verdict(callback: &Callback, flavor: &Flavor, register: &str) -> Finding {
    const ID: &str = id::LOGIN_CALLBACK;
    match callback {
        Callback::Code(_) => Finding::pass(
            ID,
            "The provider redirected back with an authorization code",
        ),
        Callback::ProviderError { error, description } => {
            let said = if description.is_empty() {
                error.clone()
            } else {
                format!("{error}: {description}")
            };
            Finding::fail(ID, format!("The provider answered with an error: {error}"))
                .detail(said.clone())
                .mismatch("?code=…", format!("?error={said}"))
                .fix(provider_error_fix(error, &said, flavor, register))
        }
        Callback::NoCode => Finding::fail(ID, "The callback carried neither a code nor an error")
            .fix("Check that the provider uses response_mode=query for this client."),
    }
}

/// The fix for an `error` the provider redirected back with (`said`: with
/// its description).
pub fn provider_error_fix(error: &str, said: &str, flavor: &Flavor, register: &str) -> String {
    let lower = said.to_ascii_lowercase();
    if lower.contains("pkce") || lower.contains("code_challenge") {
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
        "Read the provider's message above; it names the client setting to change.".to_string()
    }
}

/// `login.token`: what the token endpoint answered the code exchange.
fn token_verdict(
    exchanged: &Result<Tokens, ExchangeError>,
    secret: &str,
    token_url: &str,
) -> Finding {
    const ID: &str = id::LOGIN_TOKEN;
    let (status, error, description, head) = match exchanged {
        Ok(_) => {
            return Finding::pass(
                ID,
                "The token endpoint issued tokens (client_secret_basic, as RomM)",
            );
        }
        Err(ExchangeError::Unreachable(failure)) => {
            return unreachable(ID, "The token request", token_url, failure);
        }
        Err(ExchangeError::NoIdToken { head }) => {
            return Finding::fail(ID, "The token response has no id_token")
                .detail(format!("Body starts: {head}"))
                .fix(NO_ID_TOKEN_FIX);
        }
        Err(ExchangeError::Refused {
            status,
            error,
            description,
            head,
        }) => (*status, error.as_str(), description, head),
    };
    let said = format!("{error} {description}").trim().to_string();
    let (summary, fix) = token_refusal(error, &said, status);
    let mut detail = if said.is_empty() {
        head.clone()
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
    Finding::fail(ID, format!("{summary} (HTTP {status})"))
        .detail(detail)
        .mismatch("200 with id_token", format!("{status} {said}"))
        .fix(fix)
}

/// What a token endpoint's refusal (`error`, its whole text `said`, the
/// HTTP `status`) means, and its fix; `romm.log` reads the same refusal in
/// RomM's `OAuthError`.
pub fn token_refusal(error: &str, said: &str, status: u16) -> (&'static str, &'static str) {
    let lower = said.to_ascii_lowercase();
    if error == "invalid_client" || error == "Invalid client secret" || status == 401 {
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
    }
}

/// The fix for a token response without an ID token (RomM: "Userinfo is
/// missing from token.").
pub const NO_ID_TOKEN_FIX: &str =
    "RomM needs an ID token: make sure the openid scope is allowed for the client.";

/// `login.id-token`: the ID token judged by authlib 1.6.12's rules as
/// RomM's call applies them (`oidc::id_token`); its claims go along as data.
fn id_token_verdict(verified: &Result<Verified, Rejection>, flavor: &Flavor) -> Finding {
    const ID: &str = id::LOGIN_ID_TOKEN;
    let verified = match verified {
        Ok(verified) => verified,
        Err(rejection) => {
            return Finding::fail(
                ID,
                format!("RomM would refuse the ID token: {}", rejection.exception()),
            )
            .detail(format!(
                "{rejection}.\nRomM's callback fails with a 500 and logs: {}",
                rejection.exception()
            ))
            .fix(rejection_fix(rejection, flavor));
        }
    };
    let (warnings, notes): (Vec<&Caution>, Vec<&Caution>) =
        verified.cautions.iter().partition(|c| c.is_warning());
    let what = format!(
        "{} signature (kid {}), {}",
        verified.alg,
        verified.kid.as_deref().unwrap_or("none"),
        verified.checked.join(", ")
    );
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
    let detail = warnings
        .iter()
        .map(|c| format!("⚠ {c}"))
        .chain(notes.iter().map(|n| format!("note: {n}")))
        .collect::<Vec<_>>()
        .join("\n");
    let finding = if detail.is_empty() {
        finding
    } else {
        finding.detail(detail)
    };
    finding.data(serde_json::json!({ "claims": verified.claims }))
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

pub fn rejection_fix(rejection: &Rejection, flavor: &Flavor) -> String {
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

/// `login.userinfo`: shown for comparison only, since RomM never calls it.
fn userinfo_verdict(answer: &Result<Map<String, Value>, UserinfoError>, url: &str) -> Finding {
    const ID: &str = id::LOGIN_USERINFO;
    match answer {
        Ok(claims) => Finding::pass(
            ID,
            "Userinfo read (shown for comparison: RomM reads the ID token only)",
        )
        .data(serde_json::json!({ "claims": claims })),
        Err(UserinfoError::NotObject { head }) => {
            Finding::warn(ID, "Userinfo is not a JSON object").detail(head.clone())
        }
        Err(UserinfoError::Status { status, head }) => {
            Finding::warn(ID, format!("Userinfo answered HTTP {status}"))
                .detail(head.clone())
                .fix("RomM does not call userinfo, so this does not block RomM.")
        }
        Err(UserinfoError::Unreachable(failure)) => Finding {
            status: Status::Warn,
            ..unreachable(ID, "Userinfo", url, failure)
        },
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

pub fn verified_fix(provider: &str, flavor: &Flavor) -> String {
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

/// RomM's acceptance rules, in RomM's order, on the ID-token claims;
/// `userinfo` only serves to name a claim that RomM cannot see.
pub fn judge(
    settings: &Settings,
    discovery: &Discovery,
    claims: &Map<String, Value>,
    userinfo: Option<&Map<String, Value>>,
    email_flag: Option<&str>,
) -> Vec<Finding> {
    let rules = Rules {
        provider: settings
            .value(OIDC_PROVIDER)
            .unwrap_or("")
            .to_ascii_lowercase(),
        flavor: discovery.flavor(),
        userinfo,
    };
    vec![
        rules.email(claims),
        rules.email_verified(claims, discovery.advertises_email_verified()),
        rules.username(claims, settings.username_attribute()),
        roles(settings, claims, userinfo),
        email_match(claims, email_flag),
    ]
}

/// What the fixes of RomM's claim rules depend on: the provider, and what
/// userinfo has that the ID token lacks.
struct Rules<'a> {
    /// `OIDC_PROVIDER`, lowercase.
    provider: String,
    flavor: Flavor,
    userinfo: Option<&'a Map<String, Value>>,
}

/// The token's email as RomM takes it: a non-empty string.
fn token_email(claims: &Map<String, Value>) -> Option<&str> {
    claims
        .get("email")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())
}

impl Rules<'_> {
    fn only_in_userinfo(&self, name: &str) -> bool {
        self.userinfo
            .is_some_and(|u| u.get(name).is_some_and(|v| !v.is_null()))
    }

    fn missing_detail(&self, name: &str) -> String {
        if self.only_in_userinfo(name) {
            format!(
                "{name} is on userinfo but not in the ID token, and RomM reads the ID token only."
            )
        } else {
            format!("The ID token has no {name} claim.")
        }
    }

    fn claims_fix(&self) -> String {
        id_token_claims_fix(&self.provider).to_string()
    }

    /// `login.email`: RomM needs an email.
    fn email(&self, claims: &Map<String, Value>) -> Finding {
        if let Some(e) = token_email(claims) {
            return Finding::pass(id::LOGIN_EMAIL, format!("email {e}"));
        }
        let fix = if self.only_in_userinfo("email") {
            self.claims_fix()
        } else {
            email_missing_fix(&self.flavor).to_string()
        };
        Finding::fail(
            id::LOGIN_EMAIL,
            "RomM: \"Email is missing from token.\" (400)",
        )
        .detail(self.missing_detail("email"))
        .fix(fix)
    }

    /// `login.email-verified`: RomM refuses a literal `false`, and anything
    /// but `true` when the provider advertises the claim.
    fn email_verified(&self, claims: &Map<String, Value>, advertised: bool) -> Finding {
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
        if !refused {
            return Finding::pass(
                id::LOGIN_EMAIL_VERIFIED,
                format!("email_verified is {shown}; {rule}"),
            );
        }
        Finding::fail(
            id::LOGIN_EMAIL_VERIFIED,
            "RomM: \"Email is not verified.\" (400)",
        )
        .detail(format!("email_verified is {shown}; {rule}."))
        .mismatch("true (a JSON boolean)", shown)
        .fix(
            if verified.is_none() && self.only_in_userinfo("email_verified") {
                self.claims_fix()
            } else {
                verified_fix(&self.provider, &self.flavor)
            },
        )
    }

    /// `login.username`: the claim RomM names a new account by.
    fn username(&self, claims: &Map<String, Value>, attr: &str) -> Finding {
        match claims.get(attr) {
            Some(v) if !v.is_null() => Finding::pass(
                id::LOGIN_USERNAME,
                format!("{attr} is {v}: the username of a new RomM account"),
            ),
            _ => Finding::fail(
                id::LOGIN_USERNAME,
                format!("RomM: \"'{attr}' attribute is missing from token.\" (400)"),
            )
            .detail(self.missing_detail(attr))
            .fix(if self.only_in_userinfo(attr) {
                self.claims_fix()
            } else {
                username_missing_fix(attr)
            }),
        }
    }
}

/// The fix for a token without email (RomM: "Email is missing from token.").
pub fn email_missing_fix(flavor: &Flavor) -> &'static str {
    if flavor.is_pocket_id() {
        "Pocket ID: give the user an email address (Settings → Admin → Users), and keep the email scope allowed."
    } else {
        "Give the user an email at the provider and release it in the ID token for the email scope."
    }
}

/// The fix for a token without the username claim `attr` (RomM: "'attr'
/// attribute is missing from token.").
pub fn username_missing_fix(attr: &str) -> String {
    format!(
        "Set OIDC_USERNAME_ATTRIBUTE to a claim the ID token has (e.g. preferred_username, email), or release {attr} in the ID token."
    )
}

/// The fix for RomM's "User has not been granted any roles for this
/// application." (403).
pub const NO_ROLE_FIX: &str = "Put the user in a group named like OIDC_ROLE_ADMIN/OIDC_ROLE_VIEWER, or set OIDC_ROLE_VIEWER=* to let anyone with the claim in.";

/// `login.email-match`: RomM finds the account by email, case-insensitively.
fn email_match(claims: &Map<String, Value>, email_flag: Option<&str>) -> Finding {
    const ID: &str = id::LOGIN_EMAIL_MATCH;
    let token = token_email(claims).map(str::to_ascii_lowercase);
    match (email_flag.map(str::to_ascii_lowercase), token) {
        (None, _) => Finding::skip(ID, "Give --email (the RomM user's email) to check that RomM finds the account"),
        (Some(want), Some(got)) if want == got => Finding::pass(ID, format!("The token's email matches the RomM user ({want})")),
        (Some(want), got) => Finding::fail(ID, "The token's email is not the RomM user's email")
            .detail("RomM matches users by email, case-insensitively; with another email it uses another account, or creates one (or refuses, when registration is off: see romm.account).")
            .mismatch(want, got.unwrap_or_else(|| "(no email)".into()))
            .fix("Make the RomM profile's email and the provider's email the same."),
    }
}

fn roles(
    settings: &Settings,
    claims: &Map<String, Value>,
    userinfo: Option<&Map<String, Value>>,
) -> Finding {
    const ID: &str = id::LOGIN_ROLES;
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
            if value.is_string() {
                Finding { status: Status::Warn, ..f }.detail("The claim is a string, so RomM matches role values as substrings; a list is safer.")
            } else {
                f
            }
        }
        None => Finding::fail(
            ID,
            "RomM: \"User has not been granted any roles for this application.\" (403)",
        )
        .mismatch(
            [OIDC_ROLE_ADMIN, OIDC_ROLE_EDITOR, OIDC_ROLE_VIEWER]
                .iter()
                .filter_map(|n| role_value(n).map(|v| format!("{n}={v}")))
                .collect::<Vec<_>>()
                .join(", "),
            found,
        )
        .fix(NO_ROLE_FIX),
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

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("an object")
    }

    fn discovery(doc: Value) -> Discovery {
        Discovery { doc: claims(doc) }
    }

    /// A Pocket ID 2.10+ document, `email_verified` advertised or not.
    fn pocket_id(advertised: bool) -> Discovery {
        let mut doc = serde_json::json!({
            "authorization_endpoint": "https://id.example.com/authorize",
            "token_endpoint": "https://id.example.com/api/oidc/token",
            "jwks_uri": "https://id.example.com/.well-known/jwks.json",
            "request_parameter_supported": true,
        });
        if advertised {
            doc["claims_supported"] = serde_json::json!(["email", "email_verified"]);
        }
        discovery(doc)
    }

    fn settings(pairs: &[(&'static str, &str)]) -> Settings {
        pairs
            .iter()
            .fold(Settings::default(), |s, (k, v)| s.with(k, v.to_string()))
    }

    fn alice() -> Map<String, Value> {
        claims(serde_json::json!({
            "sub": "1",
            "email": "Alice@Example.com",
            "email_verified": true,
            "preferred_username": "alice",
        }))
    }

    fn by_id<'a>(findings: &'a [Finding], id: &str) -> &'a Finding {
        findings
            .iter()
            .find(|f| f.id == id)
            .unwrap_or_else(|| panic!("no {id} in {findings:?}"))
    }

    #[test]
    fn skips_fill_the_missing_ids_by_id_in_report_order() {
        let token = Finding::fail(id::LOGIN_TOKEN, "refused");
        let userinfo = Finding::warn(id::LOGIN_USERINFO, "HTTP 500");
        let callback = Finding::pass(id::LOGIN_CALLBACK, "code");
        let all = with_skips(vec![userinfo, token, callback], "why");
        let ids: Vec<&str> = all.iter().map(|f| f.id).collect();
        assert_eq!(ids, id::LOGIN);
        let statuses: Vec<Status> = all.iter().map(|f| f.status).collect();
        assert_eq!(
            &statuses[..4],
            [Status::Pass, Status::Fail, Status::Skip, Status::Warn]
        );
        assert!(
            all[2..]
                .iter()
                .all(|f| f.status != Status::Skip || f.summary == "why")
        );
        assert!(all[4..].iter().all(|f| f.status == Status::Skip));
    }

    #[test]
    fn a_callback_error_gets_the_fix_its_words_point_to() {
        let error = |error: &str, description: &str| Callback::ProviderError {
            error: error.into(),
            description: description.into(),
        };
        let fix = |c: &Callback, flavor: &Flavor| {
            let f = callback_verdict(c, flavor, "http://127.0.0.1/callback");
            assert_eq!(f.status, Status::Fail, "{f:?}");
            f.fix
        };
        let pkce = error("invalid_request", "PKCE is required");
        assert!(fix(&pkce, &Flavor::PocketIdModern).contains("Untick PKCE"));
        assert!(fix(&pkce, &Flavor::Other).contains("turn off the PKCE requirement"));
        assert!(fix(&error("invalid_scope", ""), &Flavor::Other).contains("OIDC_CLAIM_ROLES"));
        assert!(fix(&error("access_denied", ""), &Flavor::Other).contains("Allowed user groups"));
        let redirect = error("invalid_request", "redirect_uri not registered");
        assert!(
            fix(&redirect, &Flavor::Other)
                .contains("Register http://127.0.0.1/callback as a callback URL")
        );
        let f = callback_verdict(&redirect, &Flavor::Other, "r");
        assert_eq!(
            f.found.as_deref(),
            Some("?error=invalid_request: redirect_uri not registered")
        );
        assert_eq!(
            callback_verdict(&Callback::NoCode, &Flavor::Other, "r").status,
            Status::Fail
        );
        let code = Callback::Code("c0de".to_string().into());
        assert_eq!(
            callback_verdict(&code, &Flavor::Other, "r").status,
            Status::Pass
        );
    }

    #[test]
    fn a_refused_exchange_is_named_by_the_providers_error() {
        let refused = |status: u16, error: &str, description: &str| {
            Err(ExchangeError::Refused {
                status,
                error: error.into(),
                description: description.into(),
                head: "{\"error\":\"…\"}".into(),
            })
        };
        let url = "https://id.example.com/token";
        let f = token_verdict(&refused(400, "invalid_client", ""), "secret", url);
        assert_eq!(
            f.summary,
            "The provider refused the client secret (HTTP 400)"
        );
        assert!(f.fix.contains("Copy OIDC_CLIENT_SECRET again"), "{f:?}");
        let f = token_verdict(&refused(401, "", ""), "sécret", url);
        assert!(f.summary.contains("client secret"), "{f:?}");
        assert_eq!(
            f.fix,
            credentials::ASCII_SECRET_FIX,
            "a non-ASCII secret is named"
        );
        assert!(
            f.detail.ends_with("{\"error\":\"…\"}"),
            "no words: the body: {f:?}"
        );
        let f = token_verdict(
            &refused(400, "invalid_grant", "code verifier mismatch"),
            "s",
            url,
        );
        assert_eq!(f.summary, "The provider demands PKCE (HTTP 400)");
        let f = token_verdict(&refused(400, "invalid_grant", "expired"), "s", url);
        assert!(
            f.summary
                .starts_with("The provider refused the authorization code")
        );
        assert_eq!(f.found.as_deref(), Some("400 invalid_grant expired"));
        let f = token_verdict(&refused(500, "server_error", ""), "s", url);
        assert_eq!(f.summary, "The token request failed (HTTP 500)");
        let none = Err(ExchangeError::NoIdToken { head: "{}".into() });
        let f = token_verdict(&none, "s", url);
        assert_eq!(
            (f.status, f.detail.as_str()),
            (Status::Fail, "Body starts: {}")
        );
        let gone = Err(ExchangeError::Unreachable(crate::http::Failure::Refused));
        assert!(
            token_verdict(&gone, "s", url)
                .summary
                .contains("connection refused")
        );
        let tokens = Ok(Tokens {
            id_token: "t".to_string().into(),
            access_token: None,
        });
        assert_eq!(token_verdict(&tokens, "s", url).status, Status::Pass);
    }

    #[test]
    fn the_id_token_verdict_carries_the_claims_and_counts_only_warnings() {
        let verified = |cautions| {
            Ok(Verified {
                alg: "RS256".into(),
                kid: Some("k1".into()),
                claims: alice(),
                checked: vec!["iss", "nonce"],
                cautions,
            })
        };
        let f = id_token_verdict(&verified(vec![Caution::NoAtHash]), &Flavor::Other);
        assert_eq!(f.status, Status::Pass, "a note is no caution: {f:?}");
        assert!(
            f.summary.ends_with("RS256 signature (kid k1), iss, nonce"),
            "{f:?}"
        );
        assert!(f.detail.starts_with("note: "), "{f:?}");
        assert_eq!(f.data, Some(serde_json::json!({ "claims": alice() })));
        let f = id_token_verdict(
            &verified(vec![Caution::Unsigned, Caution::NoAtHash]),
            &Flavor::Other,
        );
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert!(f.summary.contains("with 1 caution:"), "{f:?}");
        assert!(
            f.detail.starts_with("⚠ ") && f.detail.contains("\nnote: "),
            "{f:?}"
        );
        assert_eq!(f.fix, caution_fix(&Caution::Unsigned));
        let f = id_token_verdict(&Err(Rejection::NonceMissing), &Flavor::Other);
        assert_eq!(f.status, Status::Fail);
        let exception = Rejection::NonceMissing.exception();
        assert!(
            f.summary.ends_with(&exception) && f.detail.ends_with(&exception),
            "{f:?}"
        );
        assert!(f.data.is_none(), "no claims from a refused token");
    }

    #[test]
    fn userinfo_is_shown_and_never_fails() {
        let url = "https://id.example.com/userinfo";
        let f = userinfo_verdict(&Ok(alice()), url);
        assert_eq!(f.status, Status::Pass);
        assert_eq!(f.data, Some(serde_json::json!({ "claims": alice() })));
        let answers = [
            Err(UserinfoError::Status {
                status: 500,
                head: "oops".into(),
            }),
            Err(UserinfoError::NotObject { head: "[]".into() }),
            Err(UserinfoError::Unreachable(crate::http::Failure::Timeout)),
        ];
        for answer in answers {
            let f = userinfo_verdict(&answer, url);
            assert_eq!(f.status, Status::Warn, "{f:?}");
        }
    }

    #[test]
    fn a_good_token_passes_romms_rules() {
        let s = settings(&[]);
        let found = judge(
            &s,
            &pocket_id(true),
            &alice(),
            None,
            Some("alice@example.COM"),
        );
        let ids: Vec<&str> = found.iter().map(|f| f.id).collect();
        assert_eq!(ids, &id::LOGIN[4..9], "RomM's order");
        let statuses: Vec<Status> = found.iter().map(|f| f.status).collect();
        assert_eq!(
            statuses,
            [
                Status::Pass,
                Status::Pass,
                Status::Pass,
                Status::Skip,
                Status::Pass
            ]
        );
        let skipped = judge(&s, &pocket_id(true), &alice(), None, None);
        assert_eq!(by_id(&skipped, id::LOGIN_EMAIL_MATCH).status, Status::Skip);
    }

    #[test]
    fn a_claim_only_on_userinfo_gets_the_providers_id_token_fix() {
        let s = settings(&[(OIDC_PROVIDER, "Authelia")]);
        let token = claims(serde_json::json!({"sub": "1"}));
        let userinfo = alice();
        let found = judge(
            &s,
            &discovery(serde_json::json!({})),
            &token,
            Some(&userinfo),
            None,
        );
        for id in [id::LOGIN_EMAIL, id::LOGIN_USERNAME] {
            let f = by_id(&found, id);
            assert_eq!(f.status, Status::Fail, "{f:?}");
            assert!(
                f.detail.contains("is on userinfo but not in the ID token"),
                "{f:?}"
            );
            assert!(f.fix.starts_with("Authelia 4.39+"), "{f:?}");
        }
        // Not advertised and absent: RomM lets it through.
        assert_eq!(by_id(&found, id::LOGIN_EMAIL_VERIFIED).status, Status::Pass);
        let f = by_id(&found, id::LOGIN_EMAIL_MATCH);
        assert_eq!(f.status, Status::Skip);
        let found = judge(&s, &pocket_id(false), &token, None, Some("a@example.com"));
        let f = by_id(&found, id::LOGIN_EMAIL);
        assert_eq!(f.detail, "The ID token has no email claim.");
        assert!(
            f.fix.starts_with("Pocket ID: give the user an email"),
            "{f:?}"
        );
        let f = by_id(&found, id::LOGIN_EMAIL_MATCH);
        assert_eq!(f.found.as_deref(), Some("(no email)"), "{f:?}");
    }

    #[test]
    fn email_verified_is_judged_by_whether_the_provider_advertises_it() {
        let s = settings(&[]);
        let with = |value: Value| {
            let mut c = alice();
            c.insert("email_verified".into(), value);
            c
        };
        let mut absent = alice();
        absent.remove("email_verified");
        let cases = [
            (&absent, true, Status::Fail),
            (&absent, false, Status::Pass),
            (&with(Value::Bool(false)), false, Status::Fail),
            (&with("true".into()), true, Status::Fail),
            (&with("true".into()), false, Status::Pass),
            (&with(Value::Bool(true)), true, Status::Pass),
        ];
        for (c, advertised, want) in cases {
            let rules = Rules {
                provider: String::new(),
                flavor: Flavor::PocketIdModern,
                userinfo: None,
            };
            let f = rules.email_verified(c, advertised);
            assert_eq!(f.status, want, "{c:?} advertised {advertised}: {f:?}");
        }
        let found = judge(&s, &pocket_id(true), &with("true".into()), None, None);
        let f = by_id(&found, id::LOGIN_EMAIL_VERIFIED);
        assert_eq!(f.found.as_deref(), Some("\"true\" (a string)"));
        assert!(f.fix.contains("Mark as verified"), "{f:?}");
    }

    #[test]
    fn the_username_is_the_configured_claim() {
        let mut token = alice();
        token.remove("preferred_username");
        let found = judge(&settings(&[]), &pocket_id(false), &token, None, None);
        let f = by_id(&found, id::LOGIN_USERNAME);
        assert_eq!(
            f.summary,
            "RomM: \"'preferred_username' attribute is missing from token.\" (400)"
        );
        assert!(f.fix.starts_with("Set OIDC_USERNAME_ATTRIBUTE"), "{f:?}");
        let by_email = settings(&[(crate::settings::OIDC_USERNAME_ATTRIBUTE, "email")]);
        let found = judge(&by_email, &pocket_id(false), &token, None, None);
        assert_eq!(by_id(&found, id::LOGIN_USERNAME).status, Status::Pass);
    }

    #[test]
    fn roles_are_granted_as_romm_maps_them() {
        let s = settings(&[
            (OIDC_CLAIM_ROLES, "groups"),
            (OIDC_ROLE_ADMIN, "romm-admins"),
            (OIDC_ROLE_VIEWER, "romm-users"),
        ]);
        let with_groups = |groups: Value| {
            let mut c = alice();
            c.insert("groups".into(), groups);
            c
        };
        let f = roles(&s, &with_groups(serde_json::json!(["romm-admins"])), None);
        assert_eq!(
            (f.status, f.summary.ends_with("RomM grants Admin")),
            (Status::Pass, true)
        );
        let f = roles(&s, &with_groups(serde_json::json!(["romm-users"])), None);
        assert!(f.summary.ends_with("RomM grants User"), "{f:?}");
        let f = roles(&s, &with_groups("all-romm-users".into()), None);
        assert_eq!(
            f.status,
            Status::Warn,
            "a string matches by substring: {f:?}"
        );
        let f = roles(&s, &with_groups(serde_json::json!(["other"])), None);
        assert_eq!(f.status, Status::Fail);
        assert!(f.summary.contains("(403)"), "{f:?}");
        assert_eq!(
            f.expected.as_deref(),
            Some("OIDC_ROLE_ADMIN=romm-admins, OIDC_ROLE_VIEWER=romm-users")
        );
        let userinfo = with_groups(serde_json::json!(["romm-users"]));
        let f = roles(&s, &alice(), Some(&userinfo));
        assert_eq!(f.status, Status::Warn);
        assert_eq!(
            f.detail,
            "groups is on userinfo only; RomM reads the ID token."
        );
        let f = roles(&settings(&[]), &alice(), None);
        assert_eq!(f.status, Status::Skip, "no mapping: {f:?}");
    }
}
