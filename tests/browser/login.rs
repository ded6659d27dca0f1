//! `doctor --login` in Chromium: against the Pocket ID emulator's sign-in form
//! and oidc-provider's login form and consent page, with the listener's pages
//! (the refused-state page, its 404 page, the result page) read as rendered.

use std::time::{Duration, Instant};

use pocket_id_emulator::{Client, Config, Emulator};

use crate::chromium::{Chromium, Seen};
use crate::support::peer::Peer;
use crate::support::ports::free_port;
use crate::support::prelude::*;

pub const SECRET: &str = "s3cret-Xk93pQ7zLm20Wd55-abcdefgh";
/// A whole case: the provider, the binary, Chromium's start and every page.
pub const CASE_LIMIT: Duration = Duration::from_secs(120);

/// The Pocket ID emulator with RomM's client (RomM's callback and the login
/// test's) and no session: Chromium goes through its sign-in form as alice.
pub fn pocket_id() -> Emulator {
    emulator::pocket_id(Config {
        clients: vec![Client::confidential(
            "romm",
            SECRET,
            &[ROMM_CALLBACK, LOOPBACK_CALLBACK],
        )],
        session_user: None,
        ..Config::default()
    })
}

/// `romm-oidc doctor --json --login` on `port` with the browser `browser`.
fn doctor(chromium: &Chromium, issuer: &str, port: u16, browser: &str) -> Run {
    let mut c = bin::command(chromium.sandbox());
    c.plain()
        .loopback()
        .args(["doctor", "--json", "--timeout", "5", "--login"])
        .arg(format!("--listen=127.0.0.1:{port}"))
        .arg("--login-timeout=60")
        .arg(format!("--issuer={issuer}"))
        .arg("--client-id=romm")
        .arg(format!("--client-secret={SECRET}"))
        .arg(format!("--redirect-uri={ROMM_CALLBACK}"))
        .arg(format!("--browser-command={browser}"));
    process::run(&mut c, RUN_LIMIT)
}

/// The heading and the colour (as CSS computes it) of the result page for a
/// verdict.
fn heading(verdict: &str, login_failed: bool) -> (&'static str, &'static str) {
    match verdict {
        "pass" => ("RomM would accept this login", "rgb(26, 127, 55)"),
        "fail" if login_failed => ("RomM would refuse this login", "rgb(207, 34, 46)"),
        "fail" => ("RomM's own login would fail", "rgb(207, 34, 46)"),
        _ => (
            "The provider's login worked; RomM accepting it is not proven",
            "rgb(154, 103, 0)",
        ),
    }
}

/// The result page Chromium rendered says what the report says: the verdict's
/// heading in its colour, every login finding with its mark and summary, and the
/// fix of every failed one.
#[track_caller]
pub fn assert_result_page(seen: &Seen, report: &Value) {
    let page = seen.page("result");
    assert_eq!(page["status"], 200, "{page:#}");
    let login: Vec<&Value> = checks(report)
        .iter()
        .filter(|c| c["id"].as_str().is_some_and(|id| id.starts_with("login.")))
        .collect();
    let failed = login.iter().any(|c| c["status"] == "fail");
    let verdict = report["verdict"]["status"].as_str().unwrap_or_default();
    let (title, color) = heading(verdict, failed);
    assert_eq!(page["title"], format!("romm-oidc: {title}"), "{page:#}");
    assert_eq!(page["heading_color"], color, "{page:#}");
    let text = seen.text("result");
    assert!(text.starts_with(title), "{text}");
    assert!(login.len() >= 6, "{report:#}");
    for c in login {
        let mark = match c["status"].as_str() {
            Some("pass") => "✔",
            Some("warn") => "⚠",
            Some("fail") => "✘",
            _ => "–",
        };
        let row = format!(
            "{mark} {} {}",
            c["id"].as_str().unwrap(),
            c["summary"].as_str().unwrap()
        );
        assert!(text.contains(&row), "no row {row:?} on the page:\n{text}");
        if c["status"] == "fail" {
            let fix = format!("fix: {}", c["fix"].as_str().unwrap());
            assert!(text.contains(&fix), "no {fix:?} on the page:\n{text}");
        }
    }
    assert_readable(seen, "result");
}

/// The listener's page `name` reads as a page: its text in the page's font at
/// the normal size (not the browser's small monospace), and the closing line
/// that holds for the doctor and the wizard alike.
#[track_caller]
pub fn assert_readable(seen: &Seen, name: &str) {
    let page = seen.page(name);
    let font = page["text_font"].as_str().unwrap_or_default();
    assert!(
        font.starts_with("16px") && !font.contains("monospace"),
        "the text of the {name} page is set in {font:?}:\n{page:#}"
    );
    let text = seen.text(name);
    assert!(
        text.trim_end()
            .ends_with("You can close this tab; the rest is in the terminal."),
        "{text}"
    );
}

/// The listener's root answered 302 to the provider's authorization endpoint,
/// asking for the listener's callback; Chromium followed it to `landed`.
#[track_caller]
fn assert_redirected(seen: &Seen, authorize: &str, port: u16, landed: &str) {
    let root = seen
        .listener()
        .into_iter()
        .find(|r| r["url"] == format!("http://127.0.0.1:{port}/"))
        .unwrap_or_else(|| panic!("Chromium never opened the listener:\n{:#}", seen.summary));
    assert_eq!(root["method"], "GET", "{root:#}");
    assert_eq!(root["status"], 302, "{root:#}");
    let location = url::Url::parse(root["location"].as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {root:#}"));
    assert!(location.as_str().starts_with(authorize), "{location}");
    let query = |k: &str| {
        location
            .query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(query("client_id").as_deref(), Some("romm"));
    assert_eq!(
        query("redirect_uri"),
        Some(format!("http://127.0.0.1:{port}/callback"))
    );
    let redirect = seen.page("redirect");
    let provider = url::Url::parse(authorize).unwrap();
    assert!(
        redirect["url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&provider.origin().ascii_serialization())),
        "{redirect:#}"
    );
    assert!(seen.text("redirect").contains(landed), "{redirect:#}");
}

/// Nothing of the secrets in what the binary printed or Chromium rendered.
#[track_caller]
fn assert_no_secrets(run: &Run, seen: &Seen) {
    run.assert_hides(SECRET, "the client secret");
    let rendered = seen.summary.to_string();
    for (secret, what) in [(SECRET, "the client secret"), ("eyJ", "a token")] {
        assert!(!rendered.contains(secret), "{what} on a page: {rendered}");
        assert!(!run.stdout.contains(secret), "{what} on stdout");
    }
}

#[test]
fn doctor_login_against_the_emulator_refuses_a_stray_callback_and_signs_in() {
    let started = Instant::now();
    let e = pocket_id();
    let chromium = Chromium::new("doctor_emulator");
    let port = free_port();
    let run = doctor(
        &chromium,
        &e.issuer(),
        port,
        &chromium.command(&["--stray-callback"]),
    );
    let seen = chromium.seen();
    let (report, run) = sandbox::report(run);
    assert!(seen.ok(), "{:#}\n{}", seen.summary, run.show());
    assert_eq!(run.code, 0, "{}", run.show());

    // The stale tab's callback: refused with a page that says why, counted in the
    // report, and the real login went on.
    let refused = seen.page("refused");
    assert_eq!(refused["status"], 400, "{refused:#}");
    assert_eq!(refused["title"], "romm-oidc: Not this login's callback");
    let refused_text = seen.text("refused");
    for words in [
        "Not this login's callback",
        "Refused: GET /callback with a state that is not this run's (parameters code, state).",
        "Nothing was exchanged, and the login test goes on waiting for the tab it opened.",
    ] {
        assert!(
            refused_text.contains(words),
            "no {words:?} in:\n{refused_text}"
        );
    }
    assert_readable(&seen, "refused");
    assert!(!refused_text.contains("stray-code") && !refused_text.contains("not-this-runs-state"));
    let callback = check(&report, "login.callback");
    assert_eq!(callback["status"], "pass", "{callback:#}");
    assert_eq!(callback["data"]["refused"]["count"], 1, "{callback:#}");
    assert!(
        text(callback).contains("Refused 1 other request(s) to /callback"),
        "{callback:#}"
    );

    let not_here = seen.page("not-here");
    assert_eq!(not_here["status"], 404, "{not_here:#}");
    assert!(
        seen.text("not-here")
            .contains("This listener only answers GET / and GET /callback."),
        "{not_here:#}"
    );
    assert_readable(&seen, "not-here");

    assert_redirected(&seen, &format!("{}/authorize", e.issuer()), port, "Sign in");
    for id in [
        "login.token",
        "login.id-token",
        "login.email",
        "login.username",
    ] {
        assert_eq!(status(&report, id), "pass", "{id}:\n{}", run.show());
    }
    assert_eq!(
        report["verdict"]["status"], "warn",
        "no RomM to ask: unproven"
    );
    assert_result_page(&seen, &report);
    assert_no_secrets(&run, &seen);
    assert!(started.elapsed() < CASE_LIMIT, "{:?}", started.elapsed());
}

#[test]
fn doctor_login_against_oidc_provider_fills_its_login_form_and_consent() {
    let started = Instant::now();
    let port = free_port();
    let peer = Peer::start(json!({ "clients": [{
        "client_id": "romm",
        "client_secret": SECRET,
        "redirect_uris": [format!("http://127.0.0.1:{port}/callback"), ROMM_CALLBACK],
    }] }));

    // alice, verified: every login check passes.
    let chromium = Chromium::new("doctor_oidc_provider");
    let run = doctor(&chromium, &peer.issuer, port, &chromium.command(&[]));
    let seen = chromium.seen();
    let (report, run) = sandbox::report(run);
    assert!(
        seen.ok(),
        "{:#}\n{}\n{}",
        seen.summary,
        run.show(),
        peer.stderr()
    );
    assert_eq!(run.code, 0, "{}", run.show());
    assert_redirected(&seen, &format!("{}/auth", peer.issuer), port, "Sign-in");
    assert!(
        seen.text("consent").contains("Authorize"),
        "{:#}",
        seen.page("consent")
    );
    assert_eq!(check(&report, "login.email")["status"], "pass");
    assert_result_page(&seen, &report);
    assert_no_secrets(&run, &seen);
    drop(chromium);

    // An unverified user: RomM refuses the login, and the page says so in red with
    // the fix.
    let chromium = Chromium::new("doctor_oidc_provider_unverified");
    let browser = chromium.command(&["--login", "unverified-bob"]);
    let run = doctor(&chromium, &peer.issuer, port, &browser);
    let seen = chromium.seen();
    let (report, run) = sandbox::report(run);
    assert!(seen.ok(), "{:#}\n{}", seen.summary, run.show());
    assert_eq!(run.code, 1, "{}", run.show());
    assert_eq!(status(&report, "login.email-verified"), "fail");
    assert_result_page(&seen, &report);
    assert!(
        seen.text("result")
            .starts_with("RomM would refuse this login")
    );
    assert!(started.elapsed() < CASE_LIMIT, "{:?}", started.elapsed());
}
