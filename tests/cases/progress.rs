//! Progress on a terminal: the doctor's first line appears at once, the login
//! test shows a spinner with the time left and clears it before the report and
//! on Ctrl-C; nothing of it reaches a pipe. The terminal runs are real
//! pseudo-terminals (`rexpect`), read raw, escape sequences included.

use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use pocket_id_emulator::{Client, Config, Emulator};

use crate::support::browser;
use crate::support::prelude::*;
use crate::support::pty::{Escapes, Pty};
use crate::support::wire;

const SECRET: &str = "s3cret-Xk93pQ7zLm20Wd55-abcdefgh";
/// The spinner's fixed words.
const SPINNER: &str = "left (Ctrl-C ends it)";
/// What clears the spinner's line (indicatif, through `console`).
const CLEAR_LINE: &str = "\x1b[2K";
/// How long a terminal run may wait for a line, or for its end.
const STEP: Duration = Duration::from_secs(60);

/// The emulator's default user alice (verified, signed in), both callbacks registered.
fn emulator() -> Emulator {
    emulator::pocket_id(Config {
        clients: vec![Client::confidential(
            "romm",
            SECRET,
            &[ROMM_CALLBACK, "http://127.0.0.1/callback"],
        )],
        ..Config::default()
    })
}

fn command(dir: &Path, args: &[String]) -> Command {
    let mut c = bin::command(dir);
    c.plain().loopback().xterm().arg("doctor").args(args);
    c
}

/// The login flags for the emulator; the browser starts after `delay`.
fn login_args(issuer: &str, dir: &Path, delay: &str) -> Vec<String> {
    vec![
        format!("--issuer={issuer}"),
        "--client-id=romm".into(),
        format!("--client-secret={SECRET}"),
        format!("--redirect-uri={ROMM_CALLBACK}"),
        "--login".into(),
        "--listen=127.0.0.1:0".into(),
        "--login-timeout=60".into(),
        // The browser stand-in's own log stays out of the terminal.
        format!(
            "--browser-command={}",
            browser::logged(&dir.join("browser.log"), Some(delay))
        ),
    ]
}

/// After the last spinner drawn, its line was cleared, and `then` follows.
#[track_caller]
fn spinner_cleared_before(text: &str, then: &str) {
    let last = text.rfind(SPINNER).expect("the spinner was drawn");
    let after = &text[last..];
    let clear = after.find(CLEAR_LINE).unwrap_or_else(|| {
        panic!("the spinner's line was never cleared:\n{after:?}");
    });
    let next = after
        .find(then)
        .unwrap_or_else(|| panic!("no {then:?} after the spinner:\n{after:?}"));
    assert!(
        clear < next,
        "{then:?} came before the spinner was cleared:\n{after:?}"
    );
}

#[test]
fn the_first_line_appears_at_once_on_a_terminal_and_never_in_a_pipe() {
    let dir = Sandbox::new();
    let silent = wire::silent();
    let issuer = silent.url("http");
    let args = vec![format!("--issuer={issuer}"), "--timeout=2".into()];
    let mut pty = Pty::spawn(command(dir.path(), &args), STEP, Escapes::Kept);
    pty.expect_within("romm-oidc: checking", Duration::from_secs(5));
    let first = pty.elapsed();
    let text = pty.transcript();
    assert!(
        text.contains(&format!(
            "romm-oidc: checking the settings, the provider at {issuer} and RomM… (each request at most 2 s)"
        )),
        "{text:?}"
    );
    pty.finish();
    eprintln!("first progress line after {first:?}");
    assert!(
        first < Duration::from_millis(1_000),
        "the first line took {first:?} (goal: about 100 ms)"
    );

    // Piped stderr, with or without --json: no progress at all.
    for json in [false, true] {
        let mut c = command(dir.path(), &args);
        if json {
            c.arg("--json");
        }
        let stderr = process::run(&mut c, RUN_LIMIT).stderr;
        assert!(!stderr.contains("romm-oidc: checking"), "{stderr}");
    }
}

#[test]
fn the_login_spinner_shows_the_time_left_and_is_cleared_before_the_report() {
    let dir = Sandbox::new();
    let e = emulator();
    let mut pty = Pty::spawn(
        command(dir.path(), &login_args(&e.issuer(), dir.path(), "2")),
        STEP,
        Escapes::Kept,
    );
    pty.expect_within(
        "Waiting for the login in the browser…",
        Duration::from_secs(30),
    );
    pty.expect_within(SPINNER, Duration::from_secs(5));
    let code = pty.finish();
    let text = pty.transcript();
    assert!(
        text.contains("1:00 left") || text.contains("0:59 left") || text.contains("59 s left"),
        "the time left: {text:?}"
    );
    // Cleared before the report (stdout, same terminal) and before any later note.
    spinner_cleared_before(&text, "login.callback");
    spinner_cleared_before(&text, "Login test done");
    assert!(text.contains("✔ login.id-token"), "{text:?}");
    assert_eq!(code, 0, "{text:?}");
}

#[test]
fn ctrl_c_during_the_login_wait_clears_the_spinner_reports_and_exits_130() {
    let dir = Sandbox::new();
    let e = emulator();
    // The browser would start after a minute: the wait is cut short first.
    let mut pty = Pty::spawn(
        command(dir.path(), &login_args(&e.issuer(), dir.path(), "60")),
        STEP,
        Escapes::Kept,
    );
    pty.expect_within(SPINNER, Duration::from_secs(30));
    thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    pty.send("\x03");
    let code = pty.finish();
    let took = sent.elapsed();
    let text = pty.transcript();
    assert_eq!(code, 130, "{text:?}");
    assert!(took < Duration::from_secs(5), "ended {took:?} after Ctrl-C");
    spinner_cleared_before(&text, "The login test was cancelled (Ctrl-C)");
    // The cursor was never hidden, or shown again.
    if let Some(hidden) = text.rfind("\x1b[?25l") {
        assert!(text[hidden..].contains("\x1b[?25h"), "cursor left hidden");
    }
}

#[test]
fn no_spinner_on_a_dumb_terminal_or_a_pipe() {
    let dir = Sandbox::new();
    let e = emulator();
    let args = login_args(&e.issuer(), dir.path(), "1");
    let mut c = command(dir.path(), &args);
    c.env("TERM", "dumb");
    let mut pty = Pty::spawn(c, STEP, Escapes::Kept);
    let code = pty.finish();
    let text = pty.transcript();
    assert_eq!(code, 0, "{text:?}");
    assert!(!text.contains(SPINNER), "{text:?}");
    assert!(!text.contains("romm-oidc: checking"), "{text:?}");

    let run = process::run(&mut command(dir.path(), &args), RUN_LIMIT);
    let stderr = run.stderr;
    assert_eq!(run.code, 0, "{stderr}");
    assert!(!stderr.contains(SPINNER), "{stderr}");
    assert!(stderr.contains("waiting up to 60 s"), "{stderr}");
}
