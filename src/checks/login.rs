//! `doctor --login`: a real authorization-code login through the loopback
//! listener, built as RomM builds it, then judged with RomM's own rules
//! (`backend/handler/auth/base_handler.py`, in RomM's order) on the ID-token
//! claims only — userinfo is fetched just to say what RomM cannot see.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use super::credentials;
use super::romm_users::{self, Token};
use super::unreachable;
use crate::browser::Browser;
use crate::http::Http;
use crate::oidc::discovery::{Discovery, Flavor};
use crate::oidc::id_token::{self, Expected, Rejection};
use crate::oidc::loopback::{Callback, Listener, Page, Waited};
use crate::report::{Finding, Status};
use crate::romm_api::Account;
use crate::settings::{
    OIDC_CLAIM_ROLES, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_PROVIDER, OIDC_ROLE_ADMIN,
    OIDC_ROLE_EDITOR, OIDC_ROLE_VIEWER, Settings,
};

pub struct Options {
    pub listen: Option<SocketAddr>,
    pub browser: Browser,
    pub timeout: Duration,
    pub pkce: bool,
    pub email: Option<String>,
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
/// and why that form.
fn callback_to_register(flavor: &Flavor, exact: &str) -> (String, &'static str) {
    match flavor {
        Flavor::PocketIdModern => (
            "http://127.0.0.1/callback".into(),
            "Pocket ID 2.0+ matches it on any port",
        ),
        Flavor::PocketIdLegacy => (
            "http://127.0.0.1/callback".into(),
            "Pocket ID 2.x matches it on any port; on 1.x register http://127.0.0.1:*/callback",
        ),
        Flavor::Other => (exact.to_string(), "the exact URL of this run's listener"),
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
    let (register, why) = callback_to_register(&flavor, &redirect_uri);
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
    let exchange = |callback: Callback| -> (Vec<Finding>, Page) {
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
    match listener.wait(url.as_str(), &state, deadline, cancelled, exchange) {
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
                Finding::fail("login.callback", format!("The provider never redirected back within {} s", options.timeout.as_secs()))
                    .detail("The browser went to the provider but no callback arrived. Most often the provider showed its own error page instead of redirecting (Pocket ID: /interaction/error \"… is not registered for this client.\"), or the login was not finished.")
                    .mismatch(format!("a redirect to {redirect_uri}"), "no callback")
                    .fix(format!("Register {register} as a callback URL of client {client_id}, then run again."))
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
        Waited::Cancelled => {
            findings.push(
                Finding::fail("login.callback", "The login test was cancelled (Ctrl-C)")
                    .fix("Run again and finish the login in the browser."),
            );
            skip_rest(&mut findings, "Cancelled");
        }
    }
    findings
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
        Callback::WrongState { found } => {
            out.push(
                Finding::fail(ID, "Refused a callback with a wrong or missing state")
                    .detail("The callback's state is not the one this run sent: a stale browser tab, a replayed URL, or a forged request. It was refused and no code was exchanged.")
                    .mismatch("the state sent with this run's request", found.unwrap_or_else(|| "(no state)".into()))
                    .fix("Run the login test again and finish it in the tab it opens."),
            );
            None
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

fn verify_finding(
    out: &mut Vec<Finding>,
    http: &Http,
    discovery: &Discovery,
    client_id: &str,
    nonce: &str,
    token: &str,
    access_token: Option<&str>,
) -> Option<Map<String, Value>> {
    const ID: &str = "login.id-token";
    let keys = discovery
        .str("jwks_uri")
        .and_then(|u| http.get(u).ok())
        .and_then(|r| r.json())
        .and_then(|j| j.get("keys").and_then(Value::as_array).cloned())
        .unwrap_or_default();
    let algs = discovery.signing_algs();
    let issuer = discovery.issuer().unwrap_or_default();
    let expected = Expected {
        issuer,
        client_id,
        nonce,
        access_token,
        allowed_algs: &algs,
        now: now(),
    };
    match id_token::verify(token, &keys, &expected) {
        Ok(verified) => {
            out.push(
                Finding::pass(
                    ID,
                    format!(
                        "ID token verified: {} signature (kid {}), iss, aud, exp, nonce{}",
                        verified.alg,
                        verified.kid.as_deref().unwrap_or("none"),
                        if verified.claims.contains_key("at_hash") {
                            ", at_hash"
                        } else {
                            ""
                        }
                    ),
                )
                .data(serde_json::json!({ "claims": verified.claims })),
            );
            Some(verified.claims)
        }
        Err(rejection) => {
            let fix = match &rejection {
                Rejection::Issuer { .. } => {
                    "The provider's discovery issuer and its tokens' iss must agree (Pocket ID: APP_URL); fix the provider's public URL."
                }
                Rejection::Expired { .. } | Rejection::NotYetValid { .. } => {
                    "Synchronise the clocks of the provider and RomM's host (NTP); authlib allows 120 s of skew."
                }
                Rejection::EdDsaAtHash => {
                    "Pocket ID: rotate the signing key to RS256 (pocket-id key-rotate --alg RS256, then restart Pocket ID); RomM cannot accept its EdDSA tokens."
                }
                Rejection::Audience { .. } => {
                    "The token was issued for another client: check OIDC_CLIENT_ID."
                }
                Rejection::NoKey { .. } | Rejection::BadSignature | Rejection::KeyMismatch(_) => {
                    "The provider signs with a key it does not publish at jwks_uri (restart it after a key rotation, or check INTERNAL_APP_URL)."
                }
                _ => {
                    "Configure the provider to sign ID tokens with an asymmetric algorithm it advertises (RS256 is the safe choice)."
                }
            };
            out.push(
                Finding::fail(ID, "RomM would reject the ID token")
                    .detail(rejection.to_string())
                    .fix(fix),
            );
            None
        }
    }
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
