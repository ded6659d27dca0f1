//! Progress on a terminal: the doctor's first line appears at once, the login
//! test shows a spinner with the time left and clears it before the report and
//! on Ctrl-C; nothing of it reaches a pipe. The terminal runs are real
//! pseudo-terminals (`rexpect`), read raw, escape sequences included.

use crate::support::peer;
use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use pocket_id_emulator::{Client, Config, Emulator};
use rexpect::process::WaitStatus;
use rexpect::session::{Options, PtySession};

const BIN: &str = env!("CARGO_BIN_EXE_romm-oidc");
const SECRET: &str = "s3cret-Xk93pQ7zLm20Wd55-abcdefgh";
const ROMM_CALLBACK: &str = "https://romm.example.com/api/oauth/openid";
/// The spinner's fixed words.
const SPINNER: &str = "left (Ctrl-C ends it)";
/// What clears the spinner's line (indicatif, through `console`).
const CLEAR_LINE: &str = "\x1b[2K";

/// The emulator's default user alice (verified, signed in), both callbacks registered.
fn emulator() -> Emulator {
    Emulator::start(Config {
        clients: vec![Client::confidential(
            "romm",
            SECRET,
            &[ROMM_CALLBACK, "http://127.0.0.1/callback"],
        )],
        ..Config::default()
    })
    .expect("start the Pocket ID emulator")
}

fn command(dir: &Path, args: &[String]) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("TERM", "xterm")
        .env("NO_COLOR", "1")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .current_dir(dir)
        .arg("doctor")
        .args(args);
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
            "--browser-command=sh -c 'sleep {delay}; exec node \"$0\" \"$1\" 2>>\"$2\"' '{}' %s '{}'",
            peer::browser_script().display(),
            dir.join("browser.log").display()
        ),
    ]
}

/// A raw pseudo-terminal session: every byte kept, escapes included.
struct Pty {
    session: PtySession,
    raw: Vec<u8>,
    started: Instant,
}

impl Pty {
    fn spawn(c: Command) -> Pty {
        let options = Options::new().timeout_ms(Some(60_000));
        let started = Instant::now();
        let session = rexpect::spawn_with_options(c, options).expect("spawn in a pty");
        Pty {
            session,
            raw: Vec::new(),
            started,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    fn pump(&mut self) {
        while let Some(c) = self.session.try_read() {
            self.raw.push(c as u32 as u8);
        }
    }

    /// Waits for `needle`; returns when it appeared, from the start.
    #[track_caller]
    fn expect(&mut self, needle: &str, limit: Duration) -> Duration {
        let deadline = Instant::now() + limit;
        loop {
            self.pump();
            if self.text().contains(needle) {
                return self.started.elapsed();
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} within {limit:?}:\n{:?}",
                self.text()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn send(&mut self, text: &str) {
        self.session.send(text).expect("write to the pty");
        self.session.flush().expect("flush the pty");
    }

    /// Reads to the end; the exit status (128 + n for a signal).
    fn finish(&mut self) -> i32 {
        self.pump();
        let rest = self
            .session
            .exp_eof()
            .unwrap_or_else(|e| panic!("did not end: {e}\n{:?}", self.text()));
        self.raw.extend(rest.chars().map(|c| c as u32 as u8));
        match self.session.process().wait() {
            Ok(WaitStatus::Exited(_, code)) => code,
            Ok(WaitStatus::Signaled(_, sig, _)) => 128 + sig as i32,
            other => panic!("unexpected wait status {other:?}"),
        }
    }
}

/// A provider that accepts connections and never answers.
fn silent_provider() -> (String, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let held = thread::spawn(move || {
        let _ = listener.set_nonblocking(true);
        let mut open = Vec::new();
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if let Ok((s, _)) = listener.accept() {
                open.push(s);
            }
            thread::sleep(Duration::from_millis(10));
        }
    });
    (url, held)
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
    let dir = tempfile::tempdir().expect("tempdir");
    let (issuer, _held) = silent_provider();
    let args = vec![format!("--issuer={issuer}"), "--timeout=2".into()];
    let mut pty = Pty::spawn(command(dir.path(), &args));
    let first = pty.expect("romm-oidc: checking", Duration::from_secs(5));
    let text = pty.text();
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
        let out = c
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("romm-oidc: checking"), "{stderr}");
    }
}

#[test]
fn the_login_spinner_shows_the_time_left_and_is_cleared_before_the_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = emulator();
    let mut pty = Pty::spawn(command(
        dir.path(),
        &login_args(&e.issuer(), dir.path(), "2"),
    ));
    pty.expect(
        "Waiting for the login in the browser…",
        Duration::from_secs(30),
    );
    pty.expect(SPINNER, Duration::from_secs(5));
    let code = pty.finish();
    let text = pty.text();
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
    let dir = tempfile::tempdir().expect("tempdir");
    let e = emulator();
    // The browser would start after a minute: the wait is cut short first.
    let mut pty = Pty::spawn(command(
        dir.path(),
        &login_args(&e.issuer(), dir.path(), "60"),
    ));
    pty.expect(SPINNER, Duration::from_secs(30));
    thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    pty.send("\x03");
    let code = pty.finish();
    let took = sent.elapsed();
    let text = pty.text();
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
    let dir = tempfile::tempdir().expect("tempdir");
    let e = emulator();
    let args = login_args(&e.issuer(), dir.path(), "1");
    let mut c = command(dir.path(), &args);
    c.env("TERM", "dumb");
    let mut pty = Pty::spawn(c);
    let code = pty.finish();
    let text = pty.text();
    assert_eq!(code, 0, "{text:?}");
    assert!(!text.contains(SPINNER), "{text:?}");
    assert!(!text.contains("romm-oidc: checking"), "{text:?}");

    let mut child = command(dir.path(), &args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains(SPINNER), "{stderr}");
    assert!(stderr.contains("waiting up to 60 s"), "{stderr}");
}
