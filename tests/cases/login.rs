//! Integration tests of `romm-oidc doctor --login`: real authorization-code logins
//! through the binary's loopback listener, against the Pocket ID emulator
//! (`pocket_id_emulator`) and against panva's `oidc-provider` (tests/support/peer.rs),
//! with the browser played by tests/support/browser.mjs.
//!
//! Every run gets its own `--listen 127.0.0.1:<free port>`, so the tests can run in
//! parallel; none of them touches the default ports 8765–8769. Network: 127.0.0.1 only.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::ops::Deref;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use pocket_id_emulator::{
    Client, Config, Emulator, Faults, Profile, RecordedRequest, RommConfig, SigningAlg, TokenFault,
    User, WRONG_TOKEN_AUDIENCE, WRONG_TOKEN_ISSUER,
};

use crate::support::browser;
use crate::support::peer::Peer;
use crate::support::ports::{free_port, free_port_on};
use crate::support::prelude::*;

const SECRET: &str = "s3cret-Xk93pQ7zLm20Wd55-abcdefgh";
/// Upper bound for any one run of the binary.
const RUN_LIMIT: Duration = Duration::from_secs(45);

const LOGIN_IDS: &[&str] = &[
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

/// The login checks of a sign-in that RomM takes up to the username.
const SIGNED_IN: [&str; 6] = [
    "login.callback",
    "login.token",
    "login.id-token",
    "login.email",
    "login.email-verified",
    "login.username",
];

// ====================================================================== helpers

/// The emulator's default user, alice (verified, signed in).
fn alice() -> User {
    Config::default().users.remove(0)
}

/// The RomM client as a self-hoster registers it for the login test: confidential,
/// RomM's own callback plus the portless loopback one.
fn romm_client() -> Client {
    Client::confidential("romm", SECRET, &[ROMM_CALLBACK, LOOPBACK_CALLBACK])
}

/// The RomM client and alice, signed in.
fn emulator_config() -> Config {
    Config {
        clients: vec![romm_client()],
        ..Config::default()
    }
}

/// One run of `romm-oidc doctor --json --login ...`.
struct Login {
    issuer: String,
    client_id: String,
    secret: String,
    port: u16,
    /// `--listen` value; `127.0.0.1:<port>` unless a test overrides it.
    listen: Option<String>,
    login_timeout: u64,
    /// `--redirect-uri` (RomM's callback); [`ROMM_CALLBACK`] unless overridden.
    redirect: String,
    /// `--browser-command`; `None`: `--no-browser`.
    browser: Option<String>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// Written to the binary's stdin (else stdin is /dev/null).
    stdin: Option<String>,
}

impl Login {
    fn new(issuer: &str) -> Login {
        Login {
            issuer: issuer.to_string(),
            client_id: "romm".into(),
            secret: SECRET.into(),
            port: free_port(),
            listen: None,
            login_timeout: 20,
            redirect: ROMM_CALLBACK.into(),
            browser: Some(browser::driver()),
            args: Vec::new(),
            env: Vec::new(),
            stdin: None,
        }
    }
    fn client(mut self, id: &str, secret: &str) -> Login {
        self.client_id = id.into();
        self.secret = secret.into();
        self
    }
    fn arg(mut self, a: &str) -> Login {
        self.args.push(a.to_string());
        self
    }
    fn env(mut self, k: &str, v: &str) -> Login {
        self.env.push((k.into(), v.into()));
        self
    }
    fn port(mut self, port: u16) -> Login {
        self.port = port;
        self
    }
    fn listen(mut self, addr: &str) -> Login {
        self.listen = Some(addr.to_string());
        self
    }
    fn login_timeout(mut self, secs: u64) -> Login {
        self.login_timeout = secs;
        self
    }
    fn romm_callback(mut self, uri: &str) -> Login {
        self.redirect = uri.to_string();
        self
    }
    fn no_browser(mut self) -> Login {
        self.browser = None;
        self
    }
    fn browser_command(mut self, command: &str) -> Login {
        self.browser = Some(command.to_string());
        self
    }
    /// The client secret comes from stdin (`--client-secret-file -`).
    fn secret_on_stdin(mut self) -> Login {
        self.stdin = Some(format!("{}\n", self.secret));
        self
    }
    fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/callback", self.port)
    }

    fn command(&self, sb: &Sandbox) -> Command {
        let mut c = bin::command(sb.path());
        // The peers are on loopback; never send anything through a proxy.
        c.plain()
            .loopback()
            .args(["doctor", "--json", "--timeout", "5", "--login"])
            .arg(format!(
                "--listen={}",
                self.listen
                    .clone()
                    .unwrap_or_else(|| format!("127.0.0.1:{}", self.port))
            ))
            .arg(format!("--login-timeout={}", self.login_timeout))
            .arg(format!("--issuer={}", self.issuer))
            .arg(format!("--client-id={}", self.client_id))
            .arg(format!("--redirect-uri={}", self.redirect));
        if self.stdin.is_some() {
            c.arg("--client-secret-file=-");
        } else {
            c.arg(format!("--client-secret={}", self.secret));
        }
        match &self.browser {
            Some(command) => c.arg(format!("--browser-command={command}")),
            None => c.arg("--no-browser"),
        };
        c.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }

    /// Runs to the end (killed after RUN_LIMIT).
    fn run(&self) -> Outcome {
        self.spawn().finish()
    }

    fn spawn(&self) -> Running {
        let input = self
            .stdin
            .as_ref()
            .map_or(Input::Null, |s| Input::Bytes(s.as_bytes()));
        let sandbox = Sandbox::new();
        Running {
            process: Spawned::start(&mut self.command(&sandbox), input),
            _sandbox: sandbox,
            port: self.port,
        }
    }
}

/// A login run under way.
struct Running {
    process: Spawned,
    /// The run's HOME and working directory, removed when it is done.
    _sandbox: Sandbox,
    port: u16,
}

impl Running {
    /// Waits for a stderr line containing `needle` and returns it.
    fn wait_for_line(&mut self, needle: &str, within: Duration) -> String {
        self.process.wait_for_line(needle, within)
    }

    /// Waits for the listener to be up; returns the port printed in the login URL.
    fn wait_listening(&mut self) -> u16 {
        self.wait_for_line("Open this URL to log in", Duration::from_secs(30));
        let url_line = self.wait_for_line("http://127.0.0.1:", Duration::from_secs(5));
        let url = url::Url::parse(url_line.trim()).expect("login URL on stderr");
        url.port().expect("login URL has a port")
    }

    /// The real callback the browser stand-in stopped at (`BROWSER_MODE=stop-at-callback`),
    /// as a path and query.
    fn real_callback(&mut self) -> String {
        let url = self.callback_url();
        format!("{}?{}", url.path(), url.query().unwrap_or(""))
    }

    /// The real callback URL the browser stand-in stopped at.
    fn callback_url(&mut self) -> url::Url {
        let line = self.wait_for_line("CALLBACK ", Duration::from_secs(30));
        url::Url::parse(line.trim().trim_start_matches("CALLBACK ")).expect("callback URL")
    }

    fn finish(self) -> Outcome {
        let run = self.process.finish(RUN_LIMIT);
        assert!(
            !run.timed_out,
            "romm-oidc still running after {RUN_LIMIT:?}; stderr:\n{}",
            run.stderr
        );
        let report = serde_json::from_str(&run.stdout).unwrap_or(Value::Null);
        Outcome {
            run,
            report,
            port: self.port,
        }
    }
}

/// How a login run ended: the run, its report, and its listener's port.
struct Outcome {
    run: Run,
    report: Value,
    port: u16,
}

impl Deref for Outcome {
    type Target = Run;
    fn deref(&self) -> &Run {
        &self.run
    }
}

impl Outcome {
    /// The report; panics with the whole run when stdout is not JSON.
    fn report(&self) -> &Value {
        assert!(
            self.report.is_object(),
            "doctor --json printed no JSON report:\n{}",
            self.show()
        );
        &self.report
    }

    /// Asserts the status of a login check; returns its text (summary, detail, fix, ...).
    #[track_caller]
    fn expect(&self, id: &str, want: &[&str]) -> String {
        let report = self.report();
        let c = check(report, id);
        let st = c["status"].as_str().unwrap_or("<none>");
        assert!(
            want.contains(&st),
            "{id}: expected {want:?}, got {st:?}:\n{c:#}\n\nall login checks:\n{}\n\nstderr:\n{}",
            self.login_summary(),
            self.stderr
        );
        let _ = expect_status(report, id, want);
        text(c)
    }

    fn status(&self, id: &str) -> String {
        status(self.report(), id)
    }

    fn login_summary(&self) -> String {
        LOGIN_IDS
            .iter()
            .map(|id| {
                let c = check(&self.report, id);
                format!(
                    "  {id}: {} — {} | {}",
                    c["status"].as_str().unwrap_or("?"),
                    c["summary"].as_str().unwrap_or(""),
                    c["detail"].as_str().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The verified ID-token claims the report shows.
    fn claims(&self) -> &serde_json::Map<String, Value> {
        check(self.report(), "login.id-token")["data"]["claims"]
            .as_object()
            .unwrap_or_else(|| panic!("login.id-token has no data.claims:\n{}", self.show()))
    }

    /// Every check after `id` in the login order is skip (RomM stops there).
    #[track_caller]
    fn rest_skipped_after(&self, id: &str) {
        let at = LOGIN_IDS.iter().position(|x| *x == id).expect("known id");
        // login.userinfo is only shown for comparison; it may still be read.
        for later in LOGIN_IDS[at + 1..]
            .iter()
            .filter(|x| **x != "login.userinfo")
        {
            assert_eq!(
                self.status(later),
                "skip",
                "{later} after a failed {id}:\n{}",
                self.login_summary()
            );
        }
    }
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// The token-endpoint requests that carry an authorization code the provider issued
/// (not the credential probe's made-up code, which `doctor` sends before the login).
fn token_requests(e: &Emulator) -> Vec<RecordedRequest> {
    e.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/api/oidc/token")
        .collect()
}

fn code_exchanges(e: &Emulator) -> Vec<RecordedRequest> {
    token_requests(e)
        .into_iter()
        .filter(|r| {
            r.form_value("grant_type").as_deref() == Some("authorization_code")
                && r.form_value("code")
                    .is_some_and(|c| c.starts_with("pocket_id_ac_") || c.len() == 32)
        })
        .collect()
}

/// The login test's /authorize requests: the doctor's client.redirect-uri
/// probe (RomM's own callback, a marked state) aside.
fn authorize_requests(e: &Emulator) -> Vec<RecordedRequest> {
    e.requests()
        .into_iter()
        .filter(|r| r.path == "/authorize")
        .filter(|r| {
            !r.query_value("state")
                .is_some_and(|s| s.starts_with("rommoidcprobe"))
        })
        .collect()
}

/// Connects to the listener and sends `head` (request line and headers), then
/// `Connection: close`, a `Content-Length` and `body`.
fn send_request(port: u16, head: &str, body: &str) -> Result<TcpStream, String> {
    let mut stream = TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(3),
    )
    .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "{head}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| format!("write: {e}"))?;
    Ok(stream)
}

/// Connects to the listener and sends `GET <path_and_query>`.
fn send_get(port: u16, path_and_query: &str) -> Result<TcpStream, String> {
    send_request(
        port,
        &format!("GET {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1:{port}"),
        "",
    )
}

/// The whole answer on `stream`: (status, body). Err when the connection closes
/// without a response.
fn read_response(mut stream: TcpStream) -> Result<(u16, String), String> {
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| format!("read: {e}"))?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no HTTP response: {response:?}"))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// One request over a fresh TCP connection: (status, body).
fn raw_request(port: u16, head: &str, body: &str) -> Result<(u16, String), String> {
    read_response(send_request(port, head, body)?)
}

/// A plain HTTP/1.1 GET over a fresh TCP connection: (status, body). Err when the
/// connection is refused or closed without a response.
fn raw_get(port: u16, path_and_query: &str) -> Result<(u16, String), String> {
    read_response(send_get(port, path_and_query)?)
}

// ====================================================================== Pocket ID emulator

#[test]
fn emulator_good_login_passes_and_never_prints_tokens() {
    let e = emulator::pocket_id(Config {
        // No session: the browser goes through the emulator's sign-in step as alice.
        session_user: None,
        ..emulator_config()
    });
    let sb = Sandbox::new();
    let summary = sb.path().join("browser-summary.json");
    let login = Login::new(&e.issuer())
        .env("BROWSER_LOGIN", "alice")
        .env("BROWSER_SUMMARY", &summary.to_string_lossy());
    let out = login.run();
    for id in LOGIN_IDS {
        let want: &[&str] = if *id == "login.roles" || *id == "login.email-match" {
            &["skip"] // no OIDC_CLAIM_ROLES, no --email
        } else if *id == "romm.account" {
            &["warn"] // no --email, no RomM access: the account is unproven
        } else {
            &["pass"]
        };
        out.expect(id, want);
    }
    assert_eq!(out.code, 0, "{}", out.show());
    assert_eq!(out.report()["ok"], true);

    let claims = out.claims();
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["preferred_username"], "alice");
    assert_eq!(claims["iss"], json!(e.issuer()));
    assert_eq!(claims["aud"], json!(["romm"]));
    assert!(claims.contains_key("nonce") && claims.contains_key("at_hash"));
    let id_token = out.expect("login.id-token", &["pass"]);
    assert!(
        id_token.contains("RS256") && id_token.contains("at_hash"),
        "{id_token}"
    );

    // The browser stand-in ended on the listener's own result page, with a 2xx.
    let written = std::fs::read_to_string(&summary).expect("browser summary");
    let browser: Value = serde_json::from_str(written.trim())
        .unwrap_or_else(|e| panic!("browser summary {e}: {written}\n{}", out.stderr));
    assert_eq!(browser["ok"], true, "{browser:#}");
    assert_eq!(browser["status"], 200, "{browser:#}");
    assert!(
        browser["final_url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&login.redirect_uri())),
        "{browser:#}"
    );

    // The tokens themselves are never printed: no JWT anywhere on stdout or stderr.
    assert!(
        !out.stdout.contains("eyJ"),
        "a JWT on stdout:\n{}",
        out.stdout
    );
    assert!(
        !out.stderr.contains("eyJ"),
        "a JWT on stderr:\n{}",
        out.stderr
    );
    // Nor the authorization code or the client secret.
    assert!(!out.stdout.contains("pocket_id_ac_"), "{}", out.stdout);
    assert!(!out.stdout.contains(SECRET), "{}", out.stdout);

    // The login is RomM's: authorize without PKCE, RomM's scope, a state and nonce;
    // the code exchange uses client_secret_basic and the listener's redirect URI.
    let authorize = authorize_requests(&e);
    let first = authorize.first().expect("an /authorize request");
    assert_eq!(first.query_value("response_type").as_deref(), Some("code"));
    assert_eq!(first.query_value("client_id").as_deref(), Some("romm"));
    assert_eq!(
        first.query_value("scope").as_deref(),
        Some("openid profile email")
    );
    assert_eq!(
        first.query_value("redirect_uri"),
        Some(login.redirect_uri())
    );
    assert!(
        first.query_value("code_challenge").is_none(),
        "RomM sends no PKCE"
    );
    assert!(first.query_value("state").is_some_and(|s| s.len() >= 8));
    assert!(first.query_value("nonce").is_some_and(|s| s.len() >= 8));
    let exchanges = code_exchanges(&e);
    assert_eq!(exchanges.len(), 1, "exactly one code exchange");
    let x = &exchanges[0];
    assert!(
        x.header("authorization")
            .is_some_and(|a| a.starts_with("Basic ")),
        "client_secret_basic: {x:?}"
    );
    assert!(
        x.form_value("client_secret").is_none(),
        "secret not in the body"
    );
    assert_eq!(x.form_value("redirect_uri"), Some(login.redirect_uri()));
    assert!(x.form_value("code_verifier").is_none());
}

#[test]
fn emulator_every_rsa_and_ec_alg_verifies() {
    for alg in [
        SigningAlg::RS256,
        SigningAlg::RS384,
        SigningAlg::RS512,
        SigningAlg::ES256,
        SigningAlg::ES384,
        SigningAlg::ES512,
    ] {
        let e = emulator::pocket_id(Config {
            alg,
            ..emulator_config()
        });
        let out = Login::new(&e.issuer()).run();
        let t = out.expect("login.id-token", &["pass"]);
        assert!(t.contains(alg.as_str()), "{alg:?}: {t}");
        assert!(t.contains(&e.kid()), "{alg:?}: names the kid: {t}");
        out.expect("login.email-verified", &["pass"]);
        assert_eq!(out.code, 0, "{alg:?}: {}", out.show());
    }
}

#[test]
fn emulator_eddsa_signature_verifies_but_at_hash_is_sha256() {
    let e = emulator::pocket_id(Config {
        alg: SigningAlg::EdDSA,
        ..emulator_config()
    });
    let out = Login::new(&e.issuer()).run();
    let t = out.expect("login.id-token", &["fail"]);
    let l = lower(&t);
    assert!(l.contains("at_hash"), "names at_hash: {t}");
    assert!(
        l.contains("sha-512") || l.contains("sha512"),
        "names SHA-512: {t}"
    );
    assert!(
        l.contains("sha-256") || l.contains("sha256"),
        "names SHA-256: {t}"
    );
    assert!(
        l.contains("signature verifies"),
        "the signature itself is fine: {t}"
    );
    assert!(l.contains("rs256"), "the fix: rotate to RS256: {t}");
    out.expect("login.token", &["pass"]);
    out.rest_skipped_after("login.id-token");
    assert_eq!(out.code, 1, "{}", out.show());
}

#[test]
fn emulator_legacy_profile_login_passes() {
    let e = emulator::pocket_id(Config {
        profile: Profile::Legacy,
        ..emulator_config()
    });
    let out = Login::new(&e.issuer()).run();
    out.expect("login.id-token", &["pass"]);
    let c = check(out.report(), "login.id-token");
    let summary = c["summary"].as_str().unwrap_or("");
    assert!(
        !summary.contains("at_hash"),
        "legacy tokens have no at_hash: {c:#}"
    );
    assert!(
        c["detail"].as_str().unwrap_or("").contains("no at_hash"),
        "the missing at_hash is noted: {c:#}"
    );
    for id in [
        "login.callback",
        "login.token",
        "login.email",
        "login.email-verified",
        "login.username",
    ] {
        out.expect(id, &["pass"]);
    }
    let claims = out.claims();
    assert_eq!(claims["aud"], "romm", "legacy aud is a plain string");
    assert!(!claims.contains_key("at_hash"));
    assert_eq!(out.code, 0, "{}", out.show());
}

#[test]
fn emulator_unverified_email_is_refused_with_pocket_id_fix() {
    let e = emulator::pocket_id(emulator_config());
    e.set_user_email_verified("alice", false);
    let out = Login::new(&e.issuer()).run();
    let t = out.expect("login.email-verified", &["fail"]);
    assert!(t.contains("Email is not verified."), "{t}");
    assert!(t.contains("Mark as verified"), "Pocket ID fix: {t}");
    out.expect("login.email", &["pass"]);
    assert_eq!(out.claims()["email_verified"], false);
    assert_eq!(out.code, 1);
}

#[test]
fn emulator_user_without_email_is_refused() {
    let mut bob = User::new("bob", None);
    bob.email_verified = true;
    let e = emulator::pocket_id(Config {
        users: vec![alice(), bob],
        session_user: Some("bob".into()),
        ..emulator_config()
    });
    let out = Login::new(&e.issuer()).run();
    let t = out.expect("login.email", &["fail"]);
    assert!(t.contains("Email is missing from token."), "{t}");
    assert!(!out.claims().contains_key("email"));
    assert_eq!(out.code, 1);
}

#[test]
fn emulator_wrong_secret_fails_the_token_request() {
    let e = emulator::pocket_id(emulator_config());
    let out = Login::new(&e.issuer())
        .client("romm", "not-the-secret-0123456789")
        .run();
    out.expect("login.callback", &["pass"]);
    let t = out.expect("login.token", &["fail"]);
    assert!(t.contains("invalid_client"), "{t}");
    assert!(
        lower(&t).contains("secret"),
        "the fix is about the secret: {t}"
    );
    out.rest_skipped_after("login.token");
    assert_eq!(
        code_exchanges(&e).len(),
        1,
        "the code exchange was attempted"
    );
    assert!(
        !out.stdout.contains("not-the-secret-0123456789"),
        "secret printed"
    );
    assert_eq!(out.code, 1);
}

#[test]
fn emulator_pkce_client_fails_with_untick_fix_and_passes_with_pkce_flag() {
    let mut client = romm_client();
    client.pkce_enabled = true;
    let e = emulator::pocket_id(Config {
        clients: vec![client],
        ..emulator_config()
    });

    let out = Login::new(&e.issuer()).run();
    let t = out.expect("login.callback", &["fail"]);
    assert!(t.contains("code_challenge"), "quotes the provider: {t}");
    assert!(
        lower(&t).contains("untick pkce"),
        "the fix says to untick PKCE: {t}"
    );
    out.rest_skipped_after("login.callback");
    assert!(code_exchanges(&e).is_empty());
    assert_eq!(out.code, 1);

    e.clear_requests();
    let out = Login::new(&e.issuer()).arg("--pkce").run();
    for id in SIGNED_IN {
        out.expect(id, &["pass"]);
    }
    // The login test passes with --pkce, but RomM sends none: RomM's own
    // request still fails, before any sign-in.
    let t = out.expect("client.redirect-uri", &["fail"]);
    assert!(t.contains("PKCE"), "{t}");
    assert_eq!(out.code, 1, "{}", out.show());
    let authorize = authorize_requests(&e);
    assert_eq!(
        authorize[0].query_value("code_challenge_method").as_deref(),
        Some("S256")
    );
    let x = code_exchanges(&e);
    assert!(
        x[0].form_value("code_verifier")
            .is_some_and(|v| v.len() >= 43),
        "{x:?}"
    );
}

#[test]
fn emulator_unregistered_loopback_callback_is_a_warning_at_once() {
    // RomM's callback is registered, the login test's own is not: RomM signs in,
    // the login test cannot. The provider is asked before any browser opens.
    let e = emulator::pocket_id(Config {
        clients: vec![Client::confidential("romm", SECRET, &[ROMM_CALLBACK])],
        ..emulator_config()
    });
    let out = Login::new(&e.issuer()).login_timeout(20).run();
    out.expect("client.redirect-uri", &["pass"]);
    let t = out.expect("login.callback", &["warn"]);
    assert!(
        t.contains(&format!(
            "does not accept the login test's own callback http://127.0.0.1:{}/callback (this is not RomM's callback); RomM's login is unproven",
            out.port
        )),
        "{t}"
    );
    assert!(
        t.contains("is not registered for this client"),
        "quotes the provider: {t}"
    );
    assert!(
        t.contains(&format!(
            "Register {LOOPBACK_CALLBACK} as a callback URL of client romm"
        )),
        "names the callback to register: {t}"
    );
    for id in &LOGIN_IDS[1..] {
        let c = check(out.report(), id);
        assert_eq!(c["status"], "skip", "{id}: {c}");
        assert!(
            c["summary"]
                .as_str()
                .is_some_and(|s| s.contains("login test's own callback")),
            "{id}: {c}"
        );
    }
    assert!(
        out.elapsed < Duration::from_secs(8),
        "stops at once, not after --login-timeout: {:?}",
        out.elapsed
    );
    // No browser was sent anywhere: only the two marked probes reached /authorize.
    assert!(
        authorize_requests(&e).is_empty(),
        "{:?}",
        authorize_requests(&e)
    );
    assert!(!out.stderr.contains("Open this URL"), "{}", out.stderr);
    assert!(code_exchanges(&e).is_empty());
    assert_eq!(out.report()["verdict"]["status"], "warn", "{}", out.show());
    assert_eq!(out.code, 0, "a warning, not a failure: {}", out.show());
}

#[test]
fn emulator_legacy_unregistered_loopback_times_out_naming_the_likely_cause() {
    // Pocket ID 2.9 answers every /authorize with its app page: the provider cannot
    // be asked, so the login waits as before; the timeout names the likely cause,
    // as a warning only when RomM's callback is proven (pocketid.callbacks, API key).
    const KEY: &str = "pidKey-Zq7xW2vN9kL4mR8tY3uHs6dF";
    for with_key in [false, true] {
        let config = Config {
            profile: Profile::Legacy,
            clients: vec![Client::confidential("romm", SECRET, &[ROMM_CALLBACK])],
            ..emulator_config()
        };
        let e = emulator::pocket_id(if with_key {
            config.with_admin_api_key(KEY)
        } else {
            config
        });
        let mut login = Login::new(&e.issuer()).login_timeout(3);
        if with_key {
            login = login.arg(&format!("--pocket-id-api-key={KEY}"));
        }
        let out = login.run();
        out.expect("client.redirect-uri", &["warn"]);
        let (want, romm) = if with_key {
            ("warn", "pass")
        } else {
            ("fail", "skip")
        };
        out.expect("pocketid.callbacks", &[romm]);
        let t = out.expect("login.callback", &[want]);
        assert!(t.contains(LOOPBACK_CALLBACK), "with key {with_key}: {t}");
        assert!(t.contains("not registered"), "with key {with_key}: {t}");
        assert!(
            t.contains("could not tell"),
            "says the provider could not be asked: {t}"
        );
        if with_key {
            assert!(t.contains("this is not RomM's callback"), "{t}");
            assert!(t.contains("not RomM's login failing"), "{t}");
        }
        out.rest_skipped_after("login.callback");
        assert!(
            out.elapsed >= Duration::from_secs(3) && out.elapsed <= Duration::from_secs(10),
            "the run took {:?}",
            out.elapsed
        );
        assert!(code_exchanges(&e).is_empty());
    }
}

#[test]
fn emulator_roles_admin_granted_and_viewer_refused() {
    let mut admin = alice();
    admin.groups = vec!["romm-admins".into(), "family".into()];
    let e = emulator::pocket_id(Config {
        users: vec![admin],
        ..emulator_config()
    });

    let out = Login::new(&e.issuer())
        .arg("--claim-roles=groups")
        .arg("--role-admin=romm-admins")
        .run();
    let t = out.expect("login.roles", &["pass"]);
    assert!(t.contains("Admin"), "{t}");
    assert_eq!(out.claims()["groups"], json!(["romm-admins", "family"]));
    let scope = authorize_requests(&e)[0].query_value("scope");
    assert_eq!(scope.as_deref(), Some("openid profile email groups"));
    assert_eq!(out.code, 0, "{}", out.show());

    let out = Login::new(&e.issuer())
        .arg("--claim-roles=groups")
        .arg("--role-viewer=other")
        .run();
    let t = out.expect("login.roles", &["fail"]);
    assert!(
        t.contains("User has not been granted any roles for this application."),
        "{t}"
    );
    assert_eq!(out.code, 1);
}

#[test]
fn emulator_missing_username_attribute() {
    let e = emulator::pocket_id(emulator_config());
    let out = Login::new(&e.issuer())
        .arg("--username-attribute=nickname")
        .run();
    let t = out.expect("login.username", &["fail"]);
    assert!(
        t.contains("'nickname' attribute is missing from token."),
        "{t}"
    );
    assert_eq!(out.code, 1);
}

#[test]
fn emulator_email_match_and_registration() {
    let e = emulator::pocket_id(emulator_config());

    // RomM matches case-insensitively.
    let out = Login::new(&e.issuer())
        .arg("--email=ALICE@Example.COM")
        .run();
    out.expect("login.email-match", &["pass"]);
    out.expect("romm.account", &["pass"]);
    assert_eq!(out.code, 0, "{}", out.show());

    let out = Login::new(&e.issuer()).arg("--email=bob@example.com").run();
    let t = out.expect("login.email-match", &["fail"]);
    assert!(
        t.contains("bob@example.com") && t.contains("alice@example.com"),
        "{t}"
    );
    assert_eq!(out.code, 1);

    // Registration off and no --email: RomM may refuse an unknown email.
    let out = Login::new(&e.issuer())
        .env("OIDC_ALLOW_REGISTRATION", "false")
        .run();
    let t = out.expect("romm.account", &["warn"]);
    assert!(
        t.contains("User registration is disabled."),
        "quotes RomM: {t}"
    );
    assert!(
        t.contains("Unproven") && t.contains("--email") && t.contains("--romm-username"),
        "says what is unproven and how to prove it: {t}"
    );
    out.expect("login.email-match", &["skip"]);
}

/// What RomM (authlib 1.6.12) does with each ID-token fault of an RS256
/// modern-profile token: the login.id-token status and the words the finding
/// must show (authlib's exception for a refusal).
fn romm_verdict(fault: TokenFault) -> (&'static str, &'static [&'static str]) {
    match fault {
        TokenFault::AlgNone => ("fail", &["UnsupportedAlgorithmError", "unsigned"]),
        TokenFault::Hs256WithPublicKey => {
            ("fail", &["UnsupportedAlgorithmError", "HS256", "symmetric"])
        }
        TokenFault::WrongKey => ("fail", &["BadSignatureError: bad_signature"]),
        TokenFault::WrongAudience => (
            "fail",
            &[
                "MissingClaimError: missing_claim: Missing 'azp' claim",
                WRONG_TOKEN_AUDIENCE,
            ],
        ),
        TokenFault::AudienceWithOther => (
            "fail",
            &[
                "MissingClaimError: missing_claim: Missing 'azp' claim",
                WRONG_TOKEN_AUDIENCE,
            ],
        ),
        TokenFault::OtherAudienceWithAzp => ("warn", &["another audience", WRONG_TOKEN_AUDIENCE]),
        TokenFault::WrongAzp => (
            "fail",
            &["InvalidClaimError: invalid_claim: Invalid claim 'azp'"],
        ),
        TokenFault::Expired => (
            "fail",
            &["ExpiredTokenError: expired_token: The token is expired"],
        ),
        TokenFault::ExpiredWithinLeeway => ("warn", &["leeway"]),
        TokenFault::IssuedInFuture => (
            "fail",
            &[
                "InvalidTokenError: invalid_token: The token is not valid as it was issued in the future",
            ],
        ),
        TokenFault::ExpAsString => (
            "fail",
            &["InvalidClaimError: invalid_claim: Invalid claim 'exp'"],
        ),
        TokenFault::NoIat => (
            "fail",
            &["MissingClaimError: missing_claim: Missing 'iat' claim"],
        ),
        TokenFault::NoSub => (
            "fail",
            &["MissingClaimError: missing_claim: Missing 'sub' claim"],
        ),
        TokenFault::WrongNonce => (
            "fail",
            &["InvalidClaimError: invalid_claim: Invalid claim 'nonce'"],
        ),
        TokenFault::NoNonce => (
            "fail",
            &["MissingClaimError: missing_claim: Missing 'nonce' claim"],
        ),
        TokenFault::WrongIssuer => (
            "fail",
            &[
                "InvalidClaimError: invalid_claim: Invalid claim 'iss'",
                WRONG_TOKEN_ISSUER,
            ],
        ),
        TokenFault::NoKid => ("pass", &["kid none"]),
        TokenFault::NoKidTwoKeys => ("fail", &["ValueError: Key not found", "no kid"]),
        TokenFault::NoAtHash => ("pass", &["no at_hash"]),
        TokenFault::WrongAtHash => (
            "fail",
            &["InvalidClaimError: invalid_claim: Invalid claim 'at_hash'"],
        ),
        // RS256: the same hash as fosite's, so nothing changes.
        TokenFault::AtHashSha512ForEdDsa => ("pass", &["at_hash"]),
    }
}

/// Logs in through an emulator whose ID tokens carry `fault` and checks the
/// verdict against [`romm_verdict`].
fn judge_fault(fault: TokenFault, alg: SigningAlg, profile: Profile, want: (&str, &[&str])) {
    let e = emulator::pocket_id(Config {
        alg,
        profile,
        faults: Faults {
            id_token: Some(fault),
            ..Faults::default()
        },
        ..emulator_config()
    });
    let out = Login::new(&e.issuer()).run();
    out.expect("login.token", &["pass"]);
    let (status, words) = want;
    let t = out.expect("login.id-token", &[status]);
    for w in words {
        assert!(
            lower(&t).contains(&lower(w)),
            "{fault:?} {alg:?} {profile:?}: the finding should show {w:?}: {t}"
        );
    }
    assert!(!out.stdout.contains("eyJ"), "{fault:?}: a JWT on stdout");
    if status == "fail" {
        let c = check(out.report(), "login.id-token");
        assert!(
            c.get("data").is_none_or(Value::is_null),
            "{fault:?}: no claims shown for a rejected token: {c:#}"
        );
        assert!(t.contains("RomM's callback fails with a 500"), "{t}");
        out.rest_skipped_after("login.id-token");
        assert_eq!(out.code, 1, "{fault:?}");
    } else {
        out.expect("login.email", &["pass"]);
        assert_eq!(out.code, 0, "{fault:?}: {}", out.show());
    }
}

/// Every fault of `TokenFault::ALL` (a third of them per test, so the three
/// run in parallel) through the real binary.
fn judge_faults(part: usize) {
    for fault in TokenFault::ALL.into_iter().skip(part).step_by(3) {
        judge_fault(
            fault,
            SigningAlg::RS256,
            Profile::Modern,
            romm_verdict(fault),
        );
    }
}

#[test]
fn emulator_id_token_faults_first_third() {
    judge_faults(0);
}

#[test]
fn emulator_id_token_faults_second_third() {
    judge_faults(1);
}

#[test]
fn emulator_id_token_faults_last_third() {
    judge_faults(2);
}

#[test]
fn emulator_eddsa_at_hash_sha512_is_accepted_and_legacy_faults_judged_alike() {
    // What authlib expects of EdDSA: SHA-512. Accepted (Pocket ID's SHA-256 is not,
    // see emulator_eddsa_signature_verifies_but_at_hash_is_sha256).
    judge_fault(
        TokenFault::AtHashSha512ForEdDsa,
        SigningAlg::EdDSA,
        Profile::Modern,
        ("pass", &["EdDSA", "at_hash"]),
    );
    // Legacy aud is a string: "another-client" alone, with azp, is still accepted.
    judge_fault(
        TokenFault::OtherAudienceWithAzp,
        SigningAlg::RS256,
        Profile::Legacy,
        ("warn", &["another audience"]),
    );
    judge_fault(
        TokenFault::WrongAudience,
        SigningAlg::ES256,
        Profile::Legacy,
        ("fail", &["Missing 'azp' claim"]),
    );
}

// ====================================================================== oidc-provider

fn peer_client(id: &str, redirect_uri: &str, alg: Option<&str>) -> Value {
    let mut c = json!({
        "client_id": id,
        "client_secret": SECRET,
        "redirect_uris": [redirect_uri, ROMM_CALLBACK],
    });
    if let Some(alg) = alg {
        c["id_token_signed_response_alg"] = json!(alg);
    }
    c
}

#[test]
fn peer_good_login_and_unverified_user() {
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let peer = Peer::start(json!({ "clients": [peer_client("romm", &redirect, None)] }));
    let out = Login::new(&peer.issuer).port(port).run();
    for id in LOGIN_IDS {
        let want: &[&str] = if *id == "login.roles" || *id == "login.email-match" {
            &["skip"]
        } else if *id == "romm.account" {
            &["warn"]
        } else {
            &["pass"]
        };
        out.expect(id, want);
    }
    assert_eq!(out.claims()["email"], "alice@example.com");
    assert!(!out.stdout.contains("eyJ"), "a JWT on stdout");
    assert_eq!(out.code, 0, "{}\npeer:\n{}", out.show(), peer.stderr());

    // Same provider, same port, another user: unverified-bob.
    let out = Login::new(&peer.issuer)
        .port(port)
        .env("BROWSER_LOGIN", "unverified-bob")
        .run();
    let t = out.expect("login.email-verified", &["fail"]);
    assert!(t.contains("Email is not verified."), "{t}");
    assert_eq!(out.claims()["email"], "unverified-bob@example.com");
    assert_eq!(out.code, 1);
}

#[test]
fn peer_wrong_secret_fails_the_token_request() {
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let peer = Peer::start(json!({ "clients": [peer_client("romm", &redirect, None)] }));
    let out = Login::new(&peer.issuer)
        .port(port)
        .client("romm", "not-the-secret-0123456789")
        .run();
    out.expect("login.callback", &["pass"]);
    let t = out.expect("login.token", &["fail"]);
    assert!(t.contains("invalid_client"), "{t}");
    out.rest_skipped_after("login.token");
    assert_eq!(out.code, 1);
}

#[test]
fn peer_unregistered_loopback_callback_is_a_warning_naming_the_exact_url() {
    // The client knows only RomM's callback, not this run's listener.
    let peer = Peer::start(json!({ "clients": [{
        "client_id": "romm",
        "client_secret": SECRET,
        "redirect_uris": [ROMM_CALLBACK],
    }] }));
    let out = Login::new(&peer.issuer).login_timeout(20).run();
    out.expect("client.redirect-uri", &["pass"]);
    let t = out.expect("login.callback", &["warn"]);
    let exact = format!("http://127.0.0.1:{}/callback", out.port);
    assert!(
        t.contains(&format!("Register {exact} as a callback URL")),
        "not Pocket ID: the exact listener URL must be registered: {t}"
    );
    assert!(
        t.contains("invalid_redirect_uri"),
        "quotes the provider: {t}"
    );
    out.rest_skipped_after("login.callback");
    assert!(
        out.elapsed < Duration::from_secs(8),
        "took {:?}",
        out.elapsed
    );
    assert_eq!(out.code, 0, "{}", out.show());
}

#[test]
fn peer_es256_and_eddsa_tokens_verify() {
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let peer = Peer::start(json!({ "clients": [
        peer_client("romm-es256", &redirect, Some("ES256")),
        peer_client("romm-eddsa", &redirect, Some("EdDSA")),
    ] }));
    for (client, alg) in [("romm-es256", "ES256"), ("romm-eddsa", "EdDSA")] {
        let out = Login::new(&peer.issuer)
            .port(port)
            .client(client, SECRET)
            .run();
        let t = out.expect("login.id-token", &["pass"]);
        assert!(t.contains(alg), "{alg}: {t}");
        // oidc-provider puts no at_hash in ID tokens from the token endpoint.
        assert!(!out.claims().contains_key("at_hash"), "{alg}");
        assert_eq!(
            out.code,
            0,
            "{alg}: {}\npeer:\n{}",
            out.show(),
            peer.stderr()
        );
    }
}

#[test]
fn peer_claims_only_on_userinfo_are_named() {
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let peer = Peer::start(json!({
        "clients": [peer_client("romm", &redirect, None)],
        "idTokenClaims": false,
    }));
    let out = Login::new(&peer.issuer).port(port).run();
    out.expect("login.id-token", &["pass"]);
    out.expect("login.userinfo", &["pass"]);
    let t = out.expect("login.email", &["fail"]);
    assert!(t.contains("Email is missing from token."), "{t}");
    assert!(
        t.contains("on userinfo but not in the ID token"),
        "says where the claim is: {t}"
    );
    assert!(!out.claims().contains_key("email"));
    assert_eq!(out.code, 1);
}

// ====================================================================== security

#[test]
fn listen_on_all_interfaces_is_refused() {
    let e = emulator::pocket_id(emulator_config());
    let port = free_port();
    let out = Login::new(&e.issuer())
        .no_browser()
        .login_timeout(5)
        .listen(&format!("0.0.0.0:{port}"))
        .run();
    assert_eq!(
        out.code,
        2,
        "--listen 0.0.0.0:{port} must be refused as a usage error (exit 2):\n{}",
        out.show()
    );
    assert!(
        lower(&out.stderr).contains("loopback"),
        "says why: {}",
        out.stderr
    );
    assert!(
        out.elapsed < Duration::from_secs(5),
        "refused at once: {:?}",
        out.elapsed
    );
    assert!(authorize_requests(&e).is_empty());
}

#[test]
fn listen_on_ipv6_loopback_works_end_to_end() {
    let port = free_port_on(std::net::Ipv6Addr::LOCALHOST.into());
    let exact = format!("http://[::1]:{port}/callback");
    // Pocket ID 2.x matches the port-less [::1] form on any port.
    let e = emulator::pocket_id(Config {
        clients: vec![Client::confidential(
            "romm",
            SECRET,
            &[ROMM_CALLBACK, "http://[::1]/callback"],
        )],
        ..emulator_config()
    });
    let out = Login::new(&e.issuer())
        .listen(&format!("[::1]:{port}"))
        .run();
    for id in [
        "login.callback",
        "login.token",
        "login.id-token",
        "login.email",
    ] {
        out.expect(id, &["pass"]);
    }
    assert!(
        out.stderr
            .contains("http://[::1]/callback   (Pocket ID 2.0+ matches it on any port)"),
        "the hint to register: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("http://[::1]:{port}/\n")),
        "{}",
        out.stderr
    );
    let authorize = authorize_requests(&e);
    assert_eq!(
        authorize[0].query_value("redirect_uri"),
        Some(exact.clone())
    );
    assert_eq!(
        code_exchanges(&e)[0].form_value("redirect_uri"),
        Some(exact.clone())
    );
    assert_eq!(out.code, 0, "{}", out.show());

    // oidc-provider (a web client): the exact URL.
    let peer = Peer::start(json!({ "clients": [peer_client("romm", &exact, None)] }));
    let out = Login::new(&peer.issuer)
        .listen(&format!("[::1]:{port}"))
        .run();
    out.expect("login.id-token", &["pass"]);
    assert!(
        out.stderr.contains(&format!("{exact}   (the exact URL")),
        "{}",
        out.stderr
    );
    assert_eq!(out.code, 0, "{}", out.show());

    // Unregistered, the hint names the [::1] form to register.
    let e = emulator::pocket_id(Config {
        clients: vec![Client::confidential("romm", SECRET, &[ROMM_CALLBACK])],
        ..emulator_config()
    });
    let out = Login::new(&e.issuer())
        .listen(&format!("[::1]:{port}"))
        .run();
    let t = out.expect("login.callback", &["warn"]);
    assert!(t.contains(&exact), "{t}");
    assert!(t.contains("Register http://[::1]/callback"), "{t}");
}

#[test]
fn listen_localhost_means_127_0_0_1() {
    let e = emulator::pocket_id(emulator_config());
    let login = Login::new(&e.issuer());
    let listen = format!("localhost:{}", login.port);
    let out = login.listen(&listen).run();
    out.expect("login.callback", &["pass"]);
    out.expect("login.id-token", &["pass"]);
    assert!(
        out.stderr
            .contains(&format!("http://127.0.0.1:{}/\n", out.port)),
        "{}",
        out.stderr
    );
    assert_eq!(
        authorize_requests(&e)[0].query_value("redirect_uri"),
        Some(format!("http://127.0.0.1:{}/callback", out.port))
    );
    assert_eq!(out.code, 0, "{}", out.show());
}

#[test]
fn login_timeout_zero_and_bad_listen_values_are_usage_errors() {
    for (flags, says) in [
        (vec!["--login-timeout=0"], "--login-timeout"),
        (vec!["--timeout=0"], "--timeout"),
        (vec!["--listen=localhost"], "--listen"),
        (vec!["--listen=[::]:8765"], "loopback"),
        (vec!["--listen=example.com:8765"], "--listen"),
    ] {
        let sb = Sandbox::new();
        let mut c = bin::command(sb.path());
        c.args([
            "doctor",
            "--login",
            "--no-browser",
            "--issuer=http://127.0.0.1:9",
        ])
        .args(&flags);
        let started = Instant::now();
        let run = process::run(&mut c, RUN_LIMIT);
        let stderr = &run.stderr;
        assert_eq!(run.code, 2, "{flags:?}: {stderr}");
        assert!(stderr.contains(says), "{flags:?}: {stderr}");
        assert!(run.stdout.is_empty(), "{flags:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "{flags:?}");
    }
}

#[test]
fn login_works_with_the_secret_on_stdin() {
    let e = emulator::pocket_id(emulator_config());
    let out = Login::new(&e.issuer()).secret_on_stdin().run();
    for id in ["login.callback", "login.token", "login.id-token"] {
        out.expect(id, &["pass"]);
    }
    let x = code_exchanges(&e);
    let basic = x[0]
        .header("authorization")
        .and_then(|a| a.strip_prefix("Basic ").map(str::to_string))
        .expect("client_secret_basic");
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic)
        .expect("base64");
    assert_eq!(decoded, format!("romm:{SECRET}").into_bytes());
    out.assert_hides(SECRET, "the secret");
    assert_eq!(out.code, 0, "{}", out.show());
}

#[test]
fn vv_hides_the_code_the_tokens_and_the_secret() {
    let e = emulator::pocket_id(emulator_config());
    // The browser stand-in logs the URLs it visits: keep its stderr out of the binary's.
    let sb = Sandbox::new();
    let log = sb.path().join("browser.log");
    let browser = browser::logged(&log, None);
    let out = Login::new(&e.issuer())
        .browser_command(&browser)
        .arg("-vv")
        .run();
    for id in [
        "login.callback",
        "login.token",
        "login.id-token",
        "login.userinfo",
    ] {
        out.expect(id, &["pass"]);
    }
    let code = code_exchanges(&e)[0]
        .form_value("code")
        .expect("the exchanged code");
    let browser_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        browser_log.contains(&code),
        "the test sees the code: {browser_log}"
    );
    // The traces show that they ran, with the code hidden where it went.
    assert!(
        out.stderr
            .contains("listener: GET /callback?code=(hidden)&"),
        "the listener logs the callback, code hidden:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("> grant_type=authorization_code&code="),
        "the token request is traced:\n{}",
        out.stderr
    );
    // Where a token starts: a run of base64url that merely contains "eyJ" (a key's
    // modulus in the traced key set) is no token.
    let jwt = regex::Regex::new(r"(?:^|[^A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}").unwrap();
    let re = regex::Regex::new(r"[?&;]code=([^&\s\x22'<>#]*)").unwrap();
    for (name, shown) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(!shown.contains(&code), "the code on {name}:\n{shown}");
        // A mask keeps a JWT's first four characters (always "eyJh"), never more.
        assert!(!jwt.is_match(shown), "a token (JWT) on {name}:\n{shown}");
        assert!(
            !shown.contains(SECRET),
            "the client secret on {name}:\n{shown}"
        );
        // Every code parameter anywhere is hidden (the doctor's probes get codes too).
        for m in re.captures_iter(shown) {
            let value = &m[1];
            assert!(
                value.is_empty() || value == "(hidden)" || value.contains('•'),
                "a code shown on {name}: {value:?}\n{shown}"
            );
        }
    }
    assert_eq!(out.code, 0, "{}", out.show());
}

/// `(local address, port, state)` of every TCP socket in /proc/net/tcp{,6}.
fn proc_tcp_sockets() -> Vec<(String, u16, String)> {
    let mut out = Vec::new();
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 4 {
                continue;
            }
            let Some((addr, port)) = cols[1].split_once(':') else {
                continue;
            };
            let Ok(port) = u16::from_str_radix(port, 16) else {
                continue;
            };
            out.push((addr.to_string(), port, cols[3].to_string()));
        }
    }
    out
}

#[test]
fn bad_callbacks_are_refused_and_counted_and_the_real_one_still_signs_in() {
    let e = emulator::pocket_id(emulator_config());
    let login = Login::new(&e.issuer())
        .env("BROWSER_MODE", "stop-at-callback")
        .login_timeout(60);
    let mut running = login.spawn();
    let port = running.wait_listening();
    assert_eq!(port, login.port, "listens where --listen says");
    let real = running.real_callback();

    // /proc/net/tcp: the port listens on 127.0.0.1 (0100007F) and nowhere else.
    let listening: Vec<(String, u16, String)> = proc_tcp_sockets()
        .into_iter()
        .filter(|(_, p, state)| *p == port && state == "0A")
        .collect();
    assert_eq!(
        listening,
        vec![("0100007F".to_string(), port, "0A".to_string())],
        "the listener must be bound to 127.0.0.1 only"
    );

    let host = format!("Host: 127.0.0.1:{port}");
    // Anything but / and /callback is answered 404, and not counted.
    let (status, _) = raw_get(port, "/favicon.ico").expect("the listener answers");
    assert_eq!(status, 404);
    // Another name resolving here (DNS rebinding) does not get the redirect.
    let (status, _) = raw_request(port, "GET / HTTP/1.1\r\nHost: evil.example:80", "")
        .expect("the listener answers");
    assert_eq!(status, 421);
    // Each of these is refused with 400 and the wait goes on.
    let state = real
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("state="))
        .expect("the real callback's state");
    for (head, body, what) in [
        (
            format!("GET /callback?code=FORGEDCODE1&state=forged HTTP/1.1\r\n{host}"),
            "",
            "a state that is not this run's (parameters code, state)",
        ),
        (
            format!("GET /callback?code=FORGEDCODE2 HTTP/1.1\r\n{host}"),
            "",
            "no state (parameters code)",
        ),
        // An error, but for another run: not this run's answer.
        (
            format!("GET /callback?error=access_denied&state=stale HTTP/1.1\r\n{host}"),
            "",
            "a state that is not this run's (parameters error, state)",
        ),
        // The right state, but POSTed (a form on some page).
        (
            format!(
                "POST /callback?state={state} HTTP/1.1\r\n{host}\r\nContent-Type: application/x-www-form-urlencoded"
            ),
            "code=FORGEDCODE3",
            "a POST (a callback is a GET)",
        ),
        // Some page's <img src="http://127.0.0.1:PORT/callback">.
        (
            format!(
                "GET /callback HTTP/1.1\r\n{host}\r\nAccept: image/avif,image/webp,*/*\r\nReferer: https://elsewhere.example/"
            ),
            "",
            "no state (no parameters)",
        ),
    ] {
        let (status, page) = raw_request(port, &head, body).expect("the listener answers");
        assert_eq!(status, 400, "{head}: {page}");
        assert!(page.contains("Not this login"), "{head}: {page}");
        assert!(page.contains(what), "{head}: the page says why: {page}");
    }
    assert!(
        code_exchanges(&e).is_empty(),
        "a refused callback reached the token endpoint"
    );

    // The real callback, after all that, signs in.
    let (status, page) = raw_get(port, &real).expect("the listener answers");
    assert_eq!(status, 200, "{page}");
    let out = running.finish();
    let t = out.expect("login.callback", &["pass"]);
    assert!(
        t.contains("Refused 5 other request(s) to /callback"),
        "reports the refused attempts: {t}"
    );
    for what in [
        "GET /callback with a state that is not this run's (parameters code, state)",
        "GET /callback with no state (parameters code)",
        "GET /callback with a state that is not this run's (parameters error, state)",
        "POST /callback with a POST (a callback is a GET)",
        "GET /callback with no state (no parameters)",
    ] {
        assert!(t.contains(what), "names {what:?}: {t}");
    }
    let refused = &check(out.report(), "login.callback")["data"]["refused"];
    assert_eq!(refused["count"], 5, "{refused}");
    assert_eq!(
        refused["first"].as_array().map(Vec::len),
        Some(5),
        "{refused}"
    );
    for id in [
        "login.token",
        "login.id-token",
        "login.email",
        "login.username",
    ] {
        out.expect(id, &["pass"]);
    }
    // Exactly one code exchange, with the real code; no code is ever printed.
    let exchanges = code_exchanges(&e);
    assert_eq!(exchanges.len(), 1, "{exchanges:?}");
    let code = exchanges[0].form_value("code").expect("the exchanged code");
    assert!(real.contains(&code));
    // The browser stand-in's own lines (the URL it stopped at, its summary) aside.
    let own: String = out
        .stderr
        .lines()
        .filter(|l| !l.starts_with("CALLBACK ") && !l.starts_with("{\"ok\""))
        .collect();
    for shown in [&out.stdout, &own] {
        assert!(!shown.contains(&code), "the code was printed:\n{shown}");
        assert!(
            !shown.contains("FORGEDCODE"),
            "a refused code was printed:\n{shown}"
        );
    }
    let after = TcpStream::connect(("127.0.0.1", port));
    assert!(
        after
            .as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused),
        "still listening after the run: {after:?}"
    );
    assert_eq!(out.code, 0, "{}", out.show());
}

/// Resident memory of a process, from /proc (kB).
fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn a_flood_idle_connections_and_a_slow_loris_do_not_hold_the_listener() {
    const FLOOD: usize = 2_000;
    let e = emulator::pocket_id(emulator_config());
    let login = Login::new(&e.issuer())
        .env("BROWSER_MODE", "stop-at-callback")
        .login_timeout(90);
    let mut running = login.spawn();
    let real = running.real_callback();
    let port = login.port;
    let pid = running.process.id();
    let rss_before = rss_kb(pid);

    // Connections that never send a byte (browser preconnects), more than the
    // listener keeps open, and one that drips its request head a byte at a time.
    let idle: Vec<TcpStream> = (0..40)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connect"))
        .collect();
    let loris = thread::spawn(move || {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
            return;
        };
        let _ = s.write_all(b"GET /callback?state=slow HTTP/1.1\r\nX-Slow: ");
        for _ in 0..40 {
            if s.write_all(b"a").is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(100));
        }
    });
    thread::sleep(Duration::from_millis(200));

    // The real callback gets through while they are all open.
    let started = Instant::now();
    let flood_started = Instant::now();
    let workers: Vec<_> = (0..4)
        .map(|w| {
            thread::spawn(move || {
                (0..FLOOD / 4)
                    .filter(|i| {
                        let path = format!("/callback?code=FLOODCODE&state=bad-{w}-{i}");
                        matches!(raw_get(port, &path), Ok((400, _)))
                    })
                    .count()
            })
        })
        .collect();
    let answered: usize = workers.into_iter().map(|w| w.join().unwrap_or(0)).sum();
    let flood_took = flood_started.elapsed();
    assert_eq!(answered, FLOOD, "every bad request got its 400");
    let rss_after = rss_kb(pid);
    let (status, page) = raw_get(port, &real).expect("the listener answers");
    let real_took = started.elapsed();
    assert_eq!(status, 200, "{page}");
    drop(idle);
    let _ = loris.join();

    let out = running.finish();
    let t = out.expect("login.callback", &["pass"]);
    assert!(
        t.contains(&format!("Refused {FLOOD} other request(s)")),
        "{t}"
    );
    assert!(t.contains(&format!("… and {} more", FLOOD - 10)), "{t}");
    let refused = &check(out.report(), "login.callback")["data"]["refused"];
    assert_eq!(refused["count"], FLOOD as u64, "{refused}");
    assert_eq!(
        refused["first"].as_array().map(Vec::len),
        Some(10),
        "kept bounded: {refused}"
    );
    out.expect("login.id-token", &["pass"]);
    assert_eq!(code_exchanges(&e).len(), 1);
    assert!(
        rss_after < rss_before + 16 * 1024,
        "memory grew from {rss_before} kB to {rss_after} kB during the flood"
    );
    assert!(
        flood_took < Duration::from_secs(30),
        "{FLOOD} refused requests took {flood_took:?}"
    );
    eprintln!(
        "flood: {FLOOD} refused in {flood_took:?}; real callback answered {real_took:?} after the flood began; RSS {rss_before} -> {rss_after} kB"
    );
    assert_eq!(out.code, 0, "{}", out.show());
}

#[test]
fn a_preconnected_idle_connection_does_not_delay_the_callback() {
    let e = emulator::pocket_id(emulator_config());
    let login = Login::new(&e.issuer())
        .env("BROWSER_MODE", "stop-at-callback")
        .login_timeout(60);
    let mut running = login.spawn();
    let real = running.real_callback();
    // A browser opens a spare connection and sends nothing on it.
    let _spare = TcpStream::connect(("127.0.0.1", login.port)).expect("connect");
    let _half = {
        let mut s = TcpStream::connect(("127.0.0.1", login.port)).expect("connect");
        s.write_all(b"GET /callback?state=half HTTP/1.1\r\n")
            .expect("write");
        s
    };
    thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let (status, page) = raw_get(login.port, &real).expect("the listener answers");
    assert_eq!(status, 200, "{page}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the callback waited behind an idle connection: {:?}",
        started.elapsed()
    );
    let out = running.finish();
    out.expect("login.callback", &["pass"]);
    assert_eq!(out.code, 0, "{}", out.show());
}

#[test]
fn provider_error_with_the_right_state_is_reported_with_its_description() {
    let e = emulator::pocket_id(emulator_config());
    let login = Login::new(&e.issuer())
        .env("BROWSER_MODE", "stop-at-callback")
        .login_timeout(60);
    let mut running = login.spawn();
    let url = running.callback_url();
    assert_eq!(url.port(), Some(login.port));
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("the real callback carries the state");
    assert!(url.query_pairs().any(|(k, _)| k == "code"));

    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("error", "access_denied")
        .append_pair("error_description", "The user refused the RomM test")
        .append_pair("state", &state)
        .finish();
    let (status, body) =
        raw_get(login.port, &format!("/callback?{query}")).expect("the listener answers");
    assert!(
        body.contains("RomM would refuse this login"),
        "{status}: {body}"
    );

    let out = running.finish();
    let t = out.expect("login.callback", &["fail"]);
    assert!(t.contains("access_denied"), "{t}");
    assert!(
        t.contains("The user refused the RomM test"),
        "shows the description: {t}"
    );
    out.rest_skipped_after("login.callback");
    assert!(code_exchanges(&e).is_empty(), "no code was exchanged");
    assert_eq!(out.code, 1);
}

#[test]
fn listener_takes_one_callback_and_stops_listening_during_the_exchange() {
    // Slow provider: the code exchange inside the callback takes a while.
    let e = emulator::pocket_id(Config {
        faults: Faults {
            latency: Duration::from_millis(300),
            ..Faults::default()
        },
        ..emulator_config()
    });
    let login = Login::new(&e.issuer())
        .env("BROWSER_MODE", "stop-at-callback")
        .login_timeout(60);
    let mut running = login.spawn();
    let path_and_query = running.real_callback();

    // Deliver the real callback ourselves; the CLI now exchanges the code (>= 300 ms).
    let mut first = send_get(login.port, &path_and_query).expect("the listener accepts");
    thread::sleep(Duration::from_millis(120));
    // The same callback again (a replay, or a second tab) while the first is being
    // handled: the listener took its one callback and must accept nothing more.
    let second = TcpStream::connect(("127.0.0.1", login.port));
    let second_result = match second {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => None,
        Err(e) => Some(format!("connect error {e}")),
        Ok(mut stream) => {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
            let _ = write!(
                stream,
                "GET {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            );
            let mut response = String::new();
            let _ = stream.read_to_string(&mut response);
            Some(format!(
                "connection accepted; answer: {:?}",
                response.lines().next().unwrap_or("(none)")
            ))
        }
    };
    let mut response = String::new();
    first
        .read_to_string(&mut response)
        .expect("the answer to the callback");
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "{}",
        response.lines().next().unwrap_or("")
    );
    // The login worked, but this run proves neither RomM's env, its cookie
    // origin, the running RomM nor the user: the page says so, and marks
    // every row as it came out (a skipped row is not a ✔).
    assert!(
        response.contains("The provider's login worked; RomM accepting it is not proven"),
        "{response}"
    );
    assert!(
        !response.contains("<h1>RomM would accept this login"),
        "{response}"
    );
    assert!(response.contains("✔ login.id-token"), "{response}");
    assert!(response.contains("– login.roles"), "{response}");
    assert!(response.contains("– login.email-match"), "{response}");
    assert!(!response.contains("✔ login.roles"), "{response}");
    assert!(
        response.contains("--email"),
        "says how to prove the user: {response}"
    );

    let out = running.finish();
    for id in SIGNED_IN {
        out.expect(id, &["pass"]);
    }
    assert_eq!(code_exchanges(&e).len(), 1, "exactly one code exchange");
    assert_eq!(
        second_result, None,
        "a new connection to the callback port during the code exchange was not refused: \
         the listener must stop listening once its one callback has arrived"
    );
}

/// The page the listener answers the real callback with, delivered by hand.
fn callback_page(login: &Login, running: &mut Running) -> String {
    let path_and_query = running.real_callback();
    let mut stream = send_get(login.port, &path_and_query).expect("the listener accepts");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("the page");
    response
}

#[test]
fn page_reads_proven_only_when_everything_romm_needs_is_proven() {
    for registered in [true, false] {
        let mut client = romm_client();
        if registered {
            // The RomM double's callback, on whatever port it gets.
            client
                .callback_urls
                .push("http://127.0.0.1:*/api/oauth/openid".into());
        }
        let e = emulator::pocket_id(Config {
            clients: vec![client],
            ..emulator_config()
        });
        let env = [
            ("OIDC_ENABLED", "true".to_string()),
            ("OIDC_PROVIDER", "pocket-id".to_string()),
            ("OIDC_CLIENT_ID", "romm".to_string()),
            ("OIDC_CLIENT_SECRET", SECRET.to_string()),
            ("OIDC_SERVER_APPLICATION_URL", e.issuer()),
            (
                "OIDC_REDIRECT_URI",
                "{romm_base_url}/api/oauth/openid".to_string(),
            ),
        ];
        let romm = emulator::romm(RommConfig {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            ..RommConfig::default()
        });
        let callback = format!("{}/api/oauth/openid", romm.base_url());
        // The doctor run as inside RomM's container: RomM's env, RomM's URL.
        let mut login = Login::new(&e.issuer())
            .romm_callback(&callback)
            .arg(&format!("--romm-url={}", romm.base_url()))
            .arg("--email=alice@example.com")
            .env("BROWSER_MODE", "stop-at-callback")
            .login_timeout(60);
        for (k, v) in &env {
            login = login.env(k, &v.replace("{romm_base_url}", &romm.base_url()));
        }
        let mut running = login.spawn();
        let page = callback_page(&login, &mut running);
        let out = running.finish();
        if registered {
            assert!(page.contains("<h1>RomM would accept this login"), "{page}");
            assert!(page.contains("Proven"), "{page}");
            assert_eq!(out.report["verdict"]["status"], "pass", "{}", out.show());
            assert_eq!(out.code, 0, "{}", out.show());
        } else {
            // The loopback login works; RomM's own callback does not.
            out.expect("login.id-token", &["pass"]);
            out.expect("client.redirect-uri", &["fail"]);
            assert!(page.contains("RomM's own login would fail"), "{page}");
            assert!(page.contains("client.redirect-uri"), "{page}");
            assert!(!page.contains("<h1>RomM would accept this login"), "{page}");
            assert_eq!(out.report["verdict"]["status"], "fail", "{}", out.show());
        }
    }
}
