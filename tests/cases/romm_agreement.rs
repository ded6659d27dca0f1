//! Does the doctor judge a login as RomM does? Every login scenario of the suite runs
//! twice against the same provider: through `romm-oidc doctor --login` (the binary,
//! its loopback listener, the browser stand-in) and through the RomM client double
//! (tests/romm_double: RomM 5.2's OIDC routes on RomM's pinned authlib/httpx/starlette,
//! tests/support/romm_double.rs), with the very env block the doctor judged. RomM's
//! outcome (signed in, or refused by which rule) must match the doctor's verdict (no
//! failing check, or a failing check mapped to the same rule).
//!
//! The scenarios are data ([`scenarios`]); every `TokenFault` and `SigningAlg` of the
//! emulator is one, so new faults are covered without touching this file.
//! `ROMM_AGREEMENT_FILTER=<substring>` runs only the scenarios whose name contains it.
//!
//! The double's own tests are here too: its Python unit tests on the pinned set, and
//! logins through it alone (RomM's user table rules, its session cookie, the env block
//! `emit-env` writes read as docker compose reads it).

use std::fmt;
use std::io::Write;
use std::process::Command;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use pocket_id_emulator::{Client, Config, Emulator, Profile, SigningAlg, TokenFault, User};

use crate::support::browser;
use crate::support::compose_dotenv;
use crate::support::peer::Peer;
use crate::support::ports::free_port;
use crate::support::prelude::*;
use crate::support::romm_double::{self, RommDouble, pinned_python};

const CLIENT_ID: &str = "romm";
const SECRET: &str = "s3cret-Xk93pQ7zLm20Wd55-abcdefgh";
const WRONG_SECRET: &str = "not-the-secret-0123456789";
/// Upper bound for one run of the binary.
const RUN_LIMIT: Duration = Duration::from_secs(45);
/// Scenarios run this many at a time (the machines have 2 cores).
const JOBS: usize = 2;

/// Disagreements known on this branch, with the work that removes each. The test
/// fails on any other disagreement, and on a listed one that agrees again (then
/// delete its line).
const KNOWN_DISAGREEMENTS: &[(&str, &str)] = &[];

// ====================================================================== rules

/// Why a login stops, in the order RomM meets the reasons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Rule {
    /// RomM's settings themselves (OIDC disabled, ...).
    Config,
    /// `/api/login/openid` cannot load discovery (or the doctor's discovery checks).
    Discovery,
    /// The provider refuses the authorization request or answers the callback with
    /// an error: the login never gets a code.
    Callback,
    /// The login state does not come back with the callback (RomM's session cookie
    /// was not sent): `MismatchingStateError`.
    Session,
    /// The token request fails.
    Token,
    /// authlib rejects the ID token (or the token response has none).
    IdToken,
    /// The userinfo endpoint: RomM never calls it.
    Userinfo,
    Email,
    EmailVerified,
    Username,
    Roles,
    Registration,
    Disabled,
    /// A new account's username is taken (database integrity error).
    UsernameTaken,
    /// RomM signs in to another account than the one the user expects.
    EmailMatch,
    /// Anything this file does not know how to map.
    Other,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Rule::Config => "config",
            Rule::Discovery => "discovery",
            Rule::Callback => "callback",
            Rule::Session => "session",
            Rule::Token => "token",
            Rule::IdToken => "id-token",
            Rule::Userinfo => "userinfo",
            Rule::Email => "email",
            Rule::EmailVerified => "email-verified",
            Rule::Username => "username",
            Rule::Roles => "roles",
            Rule::Registration => "registration",
            Rule::Disabled => "disabled",
            Rule::UsernameTaken => "username-taken",
            Rule::EmailMatch => "email-match",
            Rule::Other => "other",
        };
        f.write_str(name)
    }
}

/// The rule a doctor check stands for. `romm.account` stands for the rule its
/// summary names; a `config.client` refusal quoting `UnicodeEncodeError` is
/// RomM's token request, proven from the settings alone.
fn rule_of_check(id: &str, summary: &str) -> Rule {
    match id {
        "romm.account" if summary.contains("Disabled user") => Rule::Disabled,
        "romm.account" if summary.contains("would create an account named") => Rule::UsernameTaken,
        "romm.account" => Rule::Registration,
        "config.client" if summary.contains("UnicodeEncodeError") => Rule::Token,
        "login.callback" | "client.exists" | "client.redirect-uri" => Rule::Callback,
        "login.token" | "client.credentials" => Rule::Token,
        "login.id-token" => Rule::IdToken,
        "login.userinfo" => Rule::Userinfo,
        "login.email" => Rule::Email,
        "login.email-verified" => Rule::EmailVerified,
        "login.username" => Rule::Username,
        "login.roles" => Rule::Roles,
        "login.email-match" => Rule::EmailMatch,
        _ if id.starts_with("config.") => Rule::Config,
        _ if id.starts_with("jwks.") => Rule::IdToken,
        _ if ["discovery.", "tls.", "romm."]
            .iter()
            .any(|p| id.starts_with(p)) =>
        {
            Rule::Discovery
        }
        _ => Rule::Other,
    }
}

/// RomM's refusal texts (`detail`) and the rule each stands for.
fn rule_of_detail(detail: &str) -> Rule {
    match detail {
        "Userinfo is missing from token." => Rule::IdToken,
        "Email is missing from token." => Rule::Email,
        "Email is not verified." => Rule::EmailVerified,
        "User has not been granted any roles for this application." => Rule::Roles,
        "User registration is disabled. Please contact an administrator to create an account." => {
            Rule::Registration
        }
        "Disabled user" => Rule::Disabled,
        "OAuth disabled" => Rule::Config,
        d if d.ends_with("' attribute is missing from token.") => Rule::Username,
        _ => Rule::Other,
    }
}

// ====================================================================== scenarios

enum Provider {
    /// The Pocket ID emulator with this config; the harness sets every client's
    /// callback URLs.
    Emulator(Box<Config>),
    /// panva's oidc-provider with this config; the harness sets every client's
    /// `redirect_uris`.
    Peer(Value),
}

struct Scenario {
    name: String,
    provider: Provider,
    /// RomM variables over the base block (OIDC_ENABLED ... OIDC_REDIRECT_URI).
    env: Vec<(&'static str, &'static str)>,
    /// RomM's users table.
    users: Value,
    /// The RomM account the user expects to sign in to (`doctor --email`).
    email: Option<&'static str>,
    /// Who signs in at the provider (`BROWSER_LOGIN`).
    login: &'static str,
    /// False: the provider knows the doctor's loopback callback but not RomM's.
    romm_callback_registered: bool,
    /// False: the provider knows RomM's callback but not the doctor's loopback one.
    doctor_callback_registered: bool,
    /// Appended to the issuer in OIDC_SERVER_APPLICATION_URL.
    issuer_suffix: &'static str,
}

impl Scenario {
    fn new(name: impl Into<String>, provider: Provider) -> Scenario {
        Scenario {
            name: name.into(),
            provider,
            env: Vec::new(),
            // The account RomM's setup wizard made, with an email no test user has.
            users: json!([{ "username": "admin", "email": "admin@romm.example", "role": "admin" }]),
            email: None,
            login: "alice",
            romm_callback_registered: true,
            doctor_callback_registered: true,
            issuer_suffix: "",
        }
    }
    fn emulator(name: impl Into<String>, config: Config) -> Scenario {
        Scenario::new(
            format!("emulator/{}", name.into()),
            Provider::Emulator(Box::new(config)),
        )
    }
    fn peer(name: &str, config: Value) -> Scenario {
        Scenario::new(format!("oidc-provider/{name}"), Provider::Peer(config))
    }
    fn env(mut self, name: &'static str, value: &'static str) -> Scenario {
        self.env.push((name, value));
        self
    }
    fn users(mut self, users: Value) -> Scenario {
        self.users = users;
        self
    }
    fn email(mut self, email: &'static str) -> Scenario {
        self.email = Some(email);
        self
    }
    fn login(mut self, login: &'static str) -> Scenario {
        self.login = login;
        self
    }
    fn romm_callback_unregistered(mut self) -> Scenario {
        self.romm_callback_registered = false;
        self
    }
    fn doctor_callback_unregistered(mut self) -> Scenario {
        self.doctor_callback_registered = false;
        self
    }
    fn issuer_suffix(mut self, suffix: &'static str) -> Scenario {
        self.issuer_suffix = suffix;
        self
    }
}

/// A confidential client, and the emulator's default user alice (verified, signed
/// in); the harness sets the callbacks.
fn emulator_config() -> Config {
    Config {
        clients: vec![Client::confidential(CLIENT_ID, SECRET, &[])],
        ..Config::default()
    }
}

fn peer_config(alg: Option<&str>) -> Value {
    let mut client = json!({ "client_id": CLIENT_ID, "client_secret": SECRET });
    if let Some(alg) = alg {
        client["id_token_signed_response_alg"] = json!(alg);
    }
    json!({ "clients": [client] })
}

/// Every login scenario the suite runs (tests/login.rs, tests/peer_smoke.rs), once.
fn scenarios() -> Vec<Scenario> {
    let mut all = Vec::new();

    // ---------------------------------------------------------------- emulator
    for alg in SigningAlg::ALL {
        all.push(Scenario::emulator(
            format!("alg-{}", alg.as_str()),
            Config {
                alg,
                ..emulator_config()
            },
        ));
    }
    all.push(Scenario::emulator(
        "profile-legacy",
        Config {
            profile: Profile::Legacy,
            ..emulator_config()
        },
    ));
    for fault in TokenFault::ALL {
        let mut config = emulator_config();
        config.faults.id_token = Some(fault);
        all.push(Scenario::emulator(
            format!("token-{}", fault.as_str()),
            config,
        ));
    }
    let mut unverified = emulator_config();
    unverified.users[0].email_verified = false;
    all.push(Scenario::emulator("email-unverified", unverified));

    let mut no_email = emulator_config();
    no_email.users.push(User::new("bob", None));
    no_email.session_user = Some("bob".into());
    all.push(Scenario::emulator("email-missing", no_email));
    all.push(
        Scenario::emulator("secret-wrong", emulator_config())
            .env("OIDC_CLIENT_SECRET", WRONG_SECRET),
    );
    // authlib encodes client_secret_basic as latin-1 (authlib oauth2/auth.py).
    for (name, secret) in [
        ("secret-not-latin-1", "s3cret-\u{2603}-Xk93pQ7zLm20Wd55"),
        ("secret-latin-1-not-ascii", "s3cret-\u{e9}-Xk93pQ7zLm20Wd55"),
    ] {
        let mut config = emulator_config();
        config.clients[0].secret = Some(secret.into());
        all.push(Scenario::emulator(name, config).env("OIDC_CLIENT_SECRET", secret));
    }
    let mut pkce = emulator_config();
    pkce.clients[0].pkce_enabled = true;
    all.push(Scenario::emulator("client-requires-pkce", pkce));

    let mut admin = emulator_config();
    admin.users[0].groups = vec!["romm-admins".into(), "family".into()];
    all.push(
        Scenario::emulator("roles-admin", admin.clone())
            .env("OIDC_CLAIM_ROLES", "groups")
            .env("OIDC_ROLE_ADMIN", "romm-admins"),
    );
    all.push(
        Scenario::emulator("roles-admin-promotes-an-existing-user", admin.clone())
            .env("OIDC_CLAIM_ROLES", "groups")
            .env("OIDC_ROLE_ADMIN", "romm-admins")
            .users(json!([{ "username": "alice", "email": "alice@example.com", "role": "user" }])),
    );
    all.push(
        Scenario::emulator("roles-none-granted", admin)
            .env("OIDC_CLAIM_ROLES", "groups")
            .env("OIDC_ROLE_VIEWER", "other"),
    );
    all.push(
        Scenario::emulator("username-attribute-missing", emulator_config())
            .env("OIDC_USERNAME_ATTRIBUTE", "nickname"),
    );
    all.push(
        Scenario::emulator("registration-off-account-exists", emulator_config())
            .env("OIDC_ALLOW_REGISTRATION", "false")
            .users(json!([{ "username": "alice", "email": "alice@example.com" }])),
    );
    all.push(
        Scenario::emulator("registration-off-no-account", emulator_config())
            .env("OIDC_ALLOW_REGISTRATION", "false"),
    );
    // A blank value is not an unset one in RomM: it reads as "" (false for a boolean).
    all.push(
        Scenario::emulator("registration-blank-no-account", emulator_config())
            .env("OIDC_ALLOW_REGISTRATION", "  "),
    );
    all.push(
        Scenario::emulator("username-attribute-blank", emulator_config())
            .env("OIDC_USERNAME_ATTRIBUTE", "  "),
    );
    all.push(
        Scenario::emulator("email-match-other-case", emulator_config())
            .email("ALICE@Example.COM")
            .users(json!([{ "username": "alice", "email": "ALICE@Example.COM" }])),
    );
    all.push(
        Scenario::emulator("email-match-another-account", emulator_config())
            .email("bob@example.com")
            .users(json!([{ "username": "bob", "email": "bob@example.com" }])),
    );
    all.push(Scenario::emulator(
        "split-internal-url",
        Config {
            split_internal_url: true,
            ..emulator_config()
        },
    ));
    all.push(Scenario::emulator("issuer-trailing-slash", emulator_config()).issuer_suffix("/"));
    all.push(
        Scenario::emulator("romm-callback-unregistered", emulator_config())
            .romm_callback_unregistered(),
    );
    all.push(
        Scenario::emulator("doctor-callback-unregistered", emulator_config())
            .doctor_callback_unregistered(),
    );
    // RomM strips with Python's str.strip(), whose white space includes the
    // information separators U+001C–U+001F that Rust's trim() keeps.
    all.push(
        Scenario::emulator("env-stripped-as-python-strips", emulator_config())
            .env("OIDC_ENABLED", "\u{1c}true\u{1f}")
            .env("OIDC_CLIENT_ID", "\u{1d}romm\u{1e}")
            .env("OIDC_ROLE_VIEWER", "\u{1f}*")
            .env("OIDC_CLAIM_ROLES", "groups\u{1c}"),
    );
    // Browsers keep Secure cookies on http://127.0.0.1 (a secure context).
    all.push(
        Scenario::emulator("secure-cookie-on-loopback", emulator_config())
            .env("ROMM_SESSION_SECURE_COOKIE", "true"),
    );

    // ---------------------------------------------------------------- oidc-provider
    all.push(Scenario::peer("good", peer_config(None)));
    all.push(Scenario::peer("email-unverified", peer_config(None)).login("unverified-bob"));
    all.push(Scenario::peer("email-missing", peer_config(None)).login("noemail-carol"));
    all.push(
        Scenario::peer("secret-wrong", peer_config(None)).env("OIDC_CLIENT_SECRET", WRONG_SECRET),
    );
    all.push(
        Scenario::peer("romm-callback-unregistered", peer_config(None))
            .romm_callback_unregistered(),
    );
    all.push(
        Scenario::peer("doctor-callback-unregistered", peer_config(None))
            .doctor_callback_unregistered(),
    );
    all.push(Scenario::peer("alg-ES256", peer_config(Some("ES256"))));
    all.push(Scenario::peer("alg-EdDSA", peer_config(Some("EdDSA"))));
    let mut userinfo_only = peer_config(None);
    userinfo_only["idTokenClaims"] = json!(false);
    all.push(Scenario::peer("claims-only-on-userinfo", userinfo_only));
    let mut pkce = peer_config(None);
    pkce["pkce"] = json!(true);
    all.push(Scenario::peer("pkce-required", pkce));
    all.push(
        Scenario::peer("roles-admin", peer_config(None))
            .login("admin-dave")
            .env("OIDC_CLAIM_ROLES", "groups")
            .env("OIDC_ROLE_ADMIN", "romm-admins"),
    );
    all
}

// ====================================================================== one run

/// What RomM (the double) did.
#[derive(Debug)]
enum RommOutcome {
    SignedIn { user: Value, created: bool },
    Refused { rule: Rule, evidence: String },
}

impl fmt::Display for RommOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RommOutcome::SignedIn { user, created } => write!(
                f,
                "signed in as {} <{}> ({}, role {})",
                user["username"],
                user["email"].as_str().unwrap_or(""),
                if *created {
                    "new account"
                } else {
                    "existing account"
                },
                user["role"].as_str().unwrap_or("?")
            ),
            RommOutcome::Refused { rule, evidence } => write!(f, "refused [{rule}]: {evidence}"),
        }
    }
}

/// The doctor's verdict on the login.
#[derive(Debug)]
enum Verdict {
    /// No check failed or warned.
    Accepts,
    /// No check failed; these warned (rule, check id, summary).
    Warns(Vec<(Rule, String, String)>),
    /// The first failing check in RomM's order (rule, check id, summary).
    Refuses(Rule, String, String),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Accepts => f.write_str("no failing or warning check"),
            Verdict::Warns(ws) => {
                let list: Vec<String> = ws
                    .iter()
                    .map(|(rule, id, summary)| format!("{id} [{rule}]: {summary}"))
                    .collect();
                write!(f, "no failing check; warns {}", list.join("; "))
            }
            Verdict::Refuses(rule, id, summary) => write!(f, "fails {id} [{rule}]: {summary}"),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Agreement {
    Agree,
    /// RomM refused and the doctor warned about that very rule (without RomM's data
    /// it cannot prove it either way), failing nothing.
    AgreeWarned,
    /// RomM signed in and the doctor failed nothing but left something unproven
    /// (a warning: e.g. its own loopback callback is not registered, so its login
    /// test could not run).
    AgreeUnproven,
    Disagree,
}

fn compare(romm: &RommOutcome, doctor: &Verdict) -> Agreement {
    match (romm, doctor) {
        (RommOutcome::SignedIn { .. }, Verdict::Accepts) => Agreement::Agree,
        (RommOutcome::SignedIn { .. }, Verdict::Warns(_)) => Agreement::AgreeUnproven,
        (RommOutcome::Refused { rule, .. }, Verdict::Refuses(r, _, _)) if r == rule => {
            Agreement::Agree
        }
        (RommOutcome::Refused { rule, .. }, Verdict::Warns(ws))
            if ws.iter().any(|(r, _, _)| r == rule) =>
        {
            Agreement::AgreeWarned
        }
        _ => Agreement::Disagree,
    }
}

fn verdict(report: &Value) -> Verdict {
    let checks = report["checks"].as_array().cloned().unwrap_or_default();
    let with = |status: &str| -> Vec<(Rule, String, String)> {
        let mut found: Vec<(Rule, String, String)> = checks
            .iter()
            .filter(|c| c["status"] == status)
            .map(|c| {
                let id = c["id"].as_str().unwrap_or("?").to_string();
                let summary = c["summary"].as_str().unwrap_or("").to_string();
                (rule_of_check(&id, &summary), id, summary)
            })
            .collect();
        found.sort_by_key(|(rule, _, _)| *rule);
        found
    };
    if let Some((rule, id, summary)) = with("fail").into_iter().next() {
        return Verdict::Refuses(rule, id, summary);
    }
    let warns = with("warn");
    if warns.is_empty() {
        Verdict::Accepts
    } else {
        Verdict::Warns(warns)
    }
}

fn romm_outcome(login: &romm_double::DoubleLogin, expected: Option<&str>) -> RommOutcome {
    let refused = |rule: Rule, evidence: String| RommOutcome::Refused { rule, evidence };
    let said = |o: &Value| {
        let text = o["detail"]
            .as_str()
            .or(o["exception"].as_str())
            .unwrap_or("");
        format!("{} {text}", o["status"])
    };
    let Some(start) = &login.login else {
        return refused(
            Rule::Other,
            format!("the browser never opened the login: {}", login.browser),
        );
    };
    if start["status"] != 302 {
        return refused(
            Rule::Discovery,
            format!("/api/login/openid: {}", said(start)),
        );
    }
    let Some(callback) = &login.callback else {
        return refused(
            Rule::Callback,
            format!(
                "the provider never sent the browser to RomM's callback; it stopped at {} ({}): {}",
                login.browser["final_url"].as_str().unwrap_or("?"),
                login.browser["status"],
                login.browser["page_text"]
                    .as_str()
                    .unwrap_or("")
                    .chars()
                    .take(160)
                    .collect::<String>()
            ),
        );
    };
    if let Some(detail) = callback["detail"].as_str() {
        return refused(rule_of_detail(detail), said(callback));
    }
    if callback["exception"].is_string() {
        let rule = match callback["stage"].as_str() {
            _ if callback["exception_class"]
                == "authlib.integrations.base_client.errors.MismatchingStateError" =>
            {
                Rule::Session
            }
            Some("callback") => Rule::Callback,
            Some("token") => Rule::Token,
            Some("id-token") => Rule::IdToken,
            Some("user") => Rule::UsernameTaken,
            _ => Rule::Other,
        };
        return refused(rule, said(callback));
    }
    if callback["status"] != 307 || login.browser["ok"] != true {
        return refused(
            Rule::Other,
            format!("{callback} / browser {}", login.browser),
        );
    }
    let user = callback["user"].clone();
    let created = callback["created"] == true;
    if let Some(expected) = expected {
        let email = user["email"].as_str().unwrap_or("");
        if created || !email.eq_ignore_ascii_case(expected) {
            return refused(
                Rule::EmailMatch,
                format!(
                    "signed in as {} <{email}> (new: {created}), not to the account of {expected}",
                    user["username"]
                ),
            );
        }
    }
    RommOutcome::SignedIn { user, created }
}

struct Run {
    romm: RommOutcome,
    doctor: Verdict,
    agreement: Agreement,
    python: String,
}

/// A provider for one scenario, kept alive for both logins.
enum Running {
    Emulator(Emulator),
    Peer(Peer),
}

impl Running {
    fn issuer(&self) -> String {
        match self {
            Running::Emulator(e) => e.issuer(),
            Running::Peer(p) => p.issuer.clone(),
        }
    }
    fn provider_label(&self) -> &'static str {
        match self {
            Running::Emulator(_) => "pocket-id",
            Running::Peer(_) => "generic",
        }
    }
}

fn start_provider(provider: &Provider, callbacks: &[String]) -> Running {
    match provider {
        Provider::Emulator(config) => {
            let mut config = (**config).clone();
            for client in &mut config.clients {
                client.callback_urls = callbacks.to_vec();
            }
            Running::Emulator(emulator::pocket_id(config))
        }
        Provider::Peer(config) => {
            let mut config = config.clone();
            for client in config["clients"].as_array_mut().expect("clients") {
                client["redirect_uris"] = json!(callbacks);
            }
            Running::Peer(Peer::start(config))
        }
    }
}

/// `romm-oidc doctor --json --login` with `env` as its whole environment.
fn run_doctor(
    env: &[(String, String)],
    listen: u16,
    login_timeout: u64,
    romm_url: &str,
    email: Option<&str>,
    login: &str,
) -> Value {
    let sb = Sandbox::new();
    let mut command = bin::command(sb.path());
    command
        .plain()
        .env("BROWSER_LOGIN", login)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .args(["doctor", "--json", "--timeout", "5", "--login"])
        .arg(format!("--listen=127.0.0.1:{listen}"))
        .arg(format!("--login-timeout={login_timeout}"))
        .arg(format!("--browser-command={}", browser::driver()))
        .arg(format!("--romm-url={romm_url}"));
    if let Some(email) = email {
        command.arg(format!("--email={email}"));
    }
    let run = process::run(&mut command, RUN_LIMIT);
    assert!(
        !run.timed_out,
        "romm-oidc still running after {RUN_LIMIT:?}"
    );
    let (stdout, stderr, status) = (run.stdout, run.stderr, run.code);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("doctor printed no JSON report ({e}; exit {status}):\n{stdout}\n--- stderr ---\n{stderr}")
    })
}

fn run(scenario: &Scenario) -> Run {
    let listen = free_port();
    let romm_port = free_port();
    let doctor_callback = format!("http://127.0.0.1:{listen}/callback");
    let romm_callback = RommDouble::callback_url(romm_port);
    let mut callbacks = Vec::new();
    if scenario.doctor_callback_registered {
        callbacks.push(doctor_callback);
    }
    if scenario.romm_callback_registered {
        callbacks.push(romm_callback.clone());
    }
    let provider = start_provider(&scenario.provider, &callbacks);

    // The env block both judge: RomM's variables as a self-hoster writes them.
    let mut env: Vec<(String, String)> = vec![
        ("OIDC_ENABLED".into(), "true".into()),
        ("OIDC_PROVIDER".into(), provider.provider_label().into()),
        ("OIDC_CLIENT_ID".into(), CLIENT_ID.into()),
        ("OIDC_CLIENT_SECRET".into(), SECRET.into()),
        ("OIDC_REDIRECT_URI".into(), romm_callback),
        (
            "OIDC_SERVER_APPLICATION_URL".into(),
            format!("{}{}", provider.issuer(), scenario.issuer_suffix),
        ),
    ];
    for (name, value) in &scenario.env {
        env.retain(|(n, _)| n != name);
        env.push((name.to_string(), value.to_string()));
    }

    let double = RommDouble::start(romm_port, &env, &scenario.users);
    // A login that cannot come back to the doctor stops before the browser opens
    // (the provider is asked first); the short timeout bounds it otherwise.
    let login_timeout = if scenario.doctor_callback_registered {
        10
    } else {
        3
    };
    let report = run_doctor(
        &env,
        listen,
        login_timeout,
        &double.url,
        scenario.email,
        scenario.login,
    );
    let login = double.login(&[("BROWSER_LOGIN", scenario.login)]);

    // The double never writes the client secret, whatever happened.
    let written = format!("{:?}{}", double.outcomes(), double.stderr());
    let given = env.iter().find(|(k, _)| k == "OIDC_CLIENT_SECRET");
    for secret in given.map(|(_, v)| v.as_str()).into_iter().chain([SECRET]) {
        assert!(
            !written.contains(secret),
            "{}: the RomM double wrote the client secret:\n{written}",
            scenario.name
        );
    }

    let romm = romm_outcome(&login, scenario.email);
    let doctor = verdict(&report);
    let agreement = compare(&romm, &doctor);
    Run {
        romm,
        doctor,
        agreement,
        python: double.ready["python"].as_str().unwrap_or("?").to_string(),
    }
}

fn say(line: &str) {
    // Straight to stderr, past the test harness's capture: the summary belongs in CI logs.
    let _ = writeln!(std::io::stderr(), "{line}");
}

// ====================================================================== tests

#[test]
fn doctor_and_romm_double_agree_on_every_login_scenario() {
    let filter = std::env::var("ROMM_AGREEMENT_FILTER").unwrap_or_default();
    let scenarios: Vec<Scenario> = scenarios()
        .into_iter()
        .filter(|s| s.name.contains(&filter))
        .collect();
    assert!(!scenarios.is_empty(), "no scenario matches {filter:?}");
    pinned_python(); // install once, before the workers start
    let started = Instant::now();

    let queue = Mutex::new(scenarios.iter().enumerate());
    let results: Mutex<Vec<(usize, Run)>> = Mutex::new(Vec::new());
    thread::scope(|scope| {
        for _ in 0..JOBS {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
                    let Some((i, scenario)) = next else { break };
                    let outcome = run(scenario);
                    let mark = match outcome.agreement {
                        Agreement::Agree => "agree   ",
                        Agreement::AgreeWarned => "agree(w)",
                        Agreement::AgreeUnproven => "agree(u)",
                        Agreement::Disagree => "DISAGREE",
                    };
                    say(&format!(
                        "{mark} {}: RomM {} | doctor {}",
                        scenario.name, outcome.romm, outcome.doctor
                    ));
                    results
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((i, outcome));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|(i, _)| *i);

    let agreed = results
        .iter()
        .filter(|(_, r)| r.agreement != Agreement::Disagree)
        .count();
    let warned = results
        .iter()
        .filter(|(_, r)| r.agreement == Agreement::AgreeWarned)
        .count();
    let known = |name: &str| KNOWN_DISAGREEMENTS.iter().find(|(n, _)| *n == name);
    let mut disagreements = Vec::new();
    let mut unexpected = Vec::new();
    let mut fixed = Vec::new();
    for (i, r) in &results {
        let name = scenarios[*i].name.as_str();
        match (&r.agreement, known(name)) {
            (Agreement::Disagree, why) => {
                let line = format!(
                    "  {name}{}\n    RomM:   {}\n    doctor: {}",
                    why.map(|(_, why)| format!(" (known: {why})"))
                        .unwrap_or_default(),
                    r.romm,
                    r.doctor
                );
                if why.is_none() {
                    unexpected.push(line.clone());
                }
                disagreements.push(line);
            }
            (_, Some(_)) => fixed.push(name.to_string()),
            _ => {}
        }
    }
    let python = results
        .first()
        .map(|(_, r)| r.python.as_str())
        .unwrap_or("?");
    let unproven = results
        .iter()
        .filter(|(_, r)| r.agreement == Agreement::AgreeUnproven)
        .count();
    say(&format!(
        "agreement: {agreed}/{} ({warned} by a warning on RomM's rule, {unproven} signed in with the doctor's verdict unproven) in {:?}; RomM double on Python {python}",
        results.len(),
        started.elapsed()
    ));
    if !disagreements.is_empty() {
        say(&format!("disagreements:\n{}", disagreements.join("\n")));
    }
    assert!(
        unexpected.is_empty(),
        "the doctor and RomM's own library disagree on {} scenario(s) not in KNOWN_DISAGREEMENTS:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
    assert!(
        fixed.is_empty(),
        "these scenarios agree now: delete them from KNOWN_DISAGREEMENTS: {fixed:?}"
    );
}

// ====================================================================== the double itself

#[test]
fn romm_double_unit_tests_pass_on_romms_pinned_libraries() {
    let python = pinned_python();
    let mut c = Command::new(&python);
    c.args(["-m", "unittest", "discover", "-s", ".", "-p", "test_*.py"])
        .current_dir(romm_double::double_dir())
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let output = process::run(&mut c, Duration::from_secs(180));
    let text = &output.stderr;
    assert!(output.code == 0, "{}:\n{text}", python.display());
    let ran: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("Ran ")?.split(' ').next()?.parse().ok())
        .unwrap_or(0);
    assert!(ran >= 20, "ran {ran} tests:\n{text}");
}

/// One login through the double alone, against an emulator that registered its
/// callback `callback(port)`.
fn double_login(
    env: &[(&str, &str)],
    users: Value,
    callback: impl Fn(u16) -> String,
) -> (romm_double::DoubleLogin, RommDouble) {
    let port = free_port();
    let e = emulator::pocket_id(Config {
        clients: vec![Client::confidential(CLIENT_ID, SECRET, &[&callback(port)])],
        ..emulator_config()
    });
    let mut block: Vec<(String, String)> = vec![
        ("OIDC_ENABLED".into(), "true".into()),
        ("OIDC_CLIENT_ID".into(), CLIENT_ID.into()),
        ("OIDC_CLIENT_SECRET".into(), SECRET.into()),
        ("OIDC_REDIRECT_URI".into(), callback(port)),
        ("OIDC_SERVER_APPLICATION_URL".into(), e.issuer()),
    ];
    block.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let double = RommDouble::start(port, &block, &users);
    let login = double.login(&[]);
    (login, double)
}

#[test]
fn romm_double_refuses_a_disabled_user_and_fails_on_a_taken_username() {
    let (login, _) = double_login(
        &[],
        json!([{ "username": "alice", "email": "Alice@Example.com", "enabled": false }]),
        RommDouble::callback_url,
    );
    let cb = login.callback.expect("reached the callback");
    assert_eq!(
        (cb["status"].clone(), cb["detail"].clone()),
        (json!(401), json!("Disabled user"))
    );
    assert_eq!(login.browser["status"], 401, "{}", login.browser);

    // A new account named after preferred_username "alice", which an account with
    // another email already holds: the database refuses it, RomM does not catch it.
    let (login, double) = double_login(
        &[],
        json!([{ "username": "ALICE", "email": "someone@else.example" }]),
        RommDouble::callback_url,
    );
    let cb = login.callback.expect("reached the callback");
    assert_eq!(cb["status"], 500, "{cb}");
    assert_eq!(cb["stage"], "user", "{cb}");
    assert!(
        cb["exception"]
            .as_str()
            .is_some_and(|e| e.starts_with("IntegrityError: ") && e.contains("'alice'")),
        "{cb}"
    );
    assert_eq!(cb["claims"]["preferred_username"], "alice", "{cb}");
    assert_eq!(
        login.browser["page_text"], "Internal Server Error",
        "{}",
        login.browser
    );
    assert!(
        double.stderr().contains("IntegrityError"),
        "logged like RomM's traceback"
    );
}

#[test]
fn romm_double_loses_the_login_state_on_another_host_name() {
    // Login opened on 127.0.0.1, OIDC_REDIRECT_URI on localhost: the session cookie
    // stays with 127.0.0.1, so the callback finds no state (romm.md section 5.1).
    let (login, _) = double_login(&[], json!([]), |port| {
        format!("http://localhost:{port}/api/oauth/openid")
    });
    let cb = login.callback.expect("reached the callback");
    assert_eq!(cb["status"], 500, "{cb}");
    assert_eq!(
        cb["exception"],
        "MismatchingStateError: mismatching_state: CSRF Warning! State not equal in request and response.",
        "{cb}"
    );
    let start = login.login.expect("the login outcome");
    assert_eq!(start["status"], 302, "{start}");
}

#[test]
fn romm_double_signs_in_with_the_env_file_emit_env_writes_as_compose_reads_it() {
    // A secret with every character a quoting mistake would change.
    let secret = r#"Xk9$3"p Q'7\z-{a}#b"#;
    let port = free_port();
    let e = emulator::pocket_id(Config {
        clients: vec![Client::confidential(
            CLIENT_ID,
            secret,
            &[&RommDouble::callback_url(port)],
        )],
        ..emulator_config()
    });
    let sb = Sandbox::new();
    let mut c = bin::command(sb.path());
    c.arg("emit-env")
        .arg(format!("--issuer={}", e.issuer()))
        .arg(format!("--client-id={CLIENT_ID}"))
        .arg(format!("--client-secret={secret}"))
        .arg(format!("--redirect-uri={}", RommDouble::callback_url(port)));
    let output = process::run(&mut c, RUN_LIMIT);
    assert!(output.code == 0, "{}", output.show());
    let file = String::from_utf8(output.stdout_bytes).expect("UTF-8 env block");
    let env: Vec<(String, String)> = compose_dotenv::parse(&file)
        .unwrap_or_else(|err| panic!("compose cannot read the block ({err}):\n{file}"))
        .into_iter()
        .map(|entry| (entry.key, entry.value))
        .collect();
    assert!(
        env.iter()
            .any(|(k, v)| k == "OIDC_CLIENT_SECRET" && v == secret),
        "{env:?}"
    );

    let double = RommDouble::start(port, &env, &json!([]));
    let login = double.login(&[]);
    let cb = login.callback.expect("reached the callback");
    assert_eq!(cb["status"], 307, "{cb}\n{}", double.stderr());
    assert_eq!(cb["user"]["username"], "alice", "{cb}");
    assert_eq!(login.browser["ok"], true, "{}", login.browser);
}
