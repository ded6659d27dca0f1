//! The RomM client double (tests/romm_double) as a loopback test peer.
//!
//! [`RommDouble::start`] runs `tests/romm_double/server.py` — RomM 5.2's OIDC routes on
//! authlib 1.6.12, httpx 0.28.1 and starlette as RomM's lock file pins them — with a
//! RomM environment block and a RomM users table, on `127.0.0.1:<port>`, and kills it
//! on drop. [`RommDouble::login`] signs in through it with the browser stand-in
//! (tests/support/browser.mjs) and returns what RomM did ([`DoubleLogin`]).
//!
//! The first use in a checkout installs the pinned libraries into a virtualenv
//! ([`venv_dir`], by `tests/romm_double/install.sh`, which `.ci/run` also runs): Python 3
//! with venv and pip, and the Python package index, are needed then. Without them the
//! tests fail with a message naming what to install; they are never skipped.
//! [`pinned_python`] is the interpreter of that set, for any test or probe that needs
//! RomM's libraries.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::browser;
use super::lock;
use super::process::{self, Server};
use super::sandbox::Sandbox;

/// How long to wait for the double's `ready` line.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// `tests/romm_double`.
pub fn double_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/romm_double")
}

/// The virtualenv holding RomM's pinned libraries (gitignored).
pub fn venv_dir() -> PathBuf {
    double_dir().join(".venv")
}

/// The Python of the pinned set, installing it first when it is missing or stale.
/// Panics, saying what to install, when Python, venv, pip or the package index is
/// not available.
pub fn pinned_python() -> PathBuf {
    static DONE: Mutex<bool> = Mutex::new(false);
    let mut done = lock(&DONE);
    if !*done {
        let script = double_dir().join("install.sh");
        let started = Instant::now();
        let output = Command::new("bash")
            .arg(&script)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run `bash {}`: {e}; the RomM client double needs bash and Python 3",
                    script.display()
                )
            });
        if !output.status.success() {
            panic!(
                "installing the RomM client double failed ({}) after {:?}:\n{}{}",
                output.status,
                started.elapsed(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        *done = true;
    }
    venv_dir().join("bin/python")
}

/// A running double. Killed on drop.
pub struct RommDouble {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The `ready` line: interpreter, TLS flags' origin, library versions.
    pub ready: Value,
    /// Its stdout: one JSON event a line.
    server: Server,
    /// Its HOME and working directory (after `server`: removed once it has ended).
    _home: Sandbox,
}

/// What one login through the double ended with.
#[derive(Debug, Clone)]
pub struct DoubleLogin {
    /// The browser stand-in's summary line (`ok`, `final_url`, `status`, `trail`,
    /// `page_text`).
    pub browser: Value,
    /// The double's outcome of `/api/oauth/openid`, when the browser got there.
    pub callback: Option<Value>,
    /// The double's outcome of `/api/login/openid`.
    pub login: Option<Value>,
}

impl RommDouble {
    /// `http://127.0.0.1:<port>/api/oauth/openid`: the `OIDC_REDIRECT_URI` of a double
    /// on `port`.
    pub fn callback_url(port: u16) -> String {
        format!("http://127.0.0.1:{port}/api/oauth/openid")
    }

    /// Starts the double on `port` with RomM's environment `env` (nothing else of
    /// this process's environment reaches it) and RomM's users `users`
    /// (`[{"username", "email", "enabled"?, "role"?}]`).
    pub fn start(port: u16, env: &[(String, String)], users: &Value) -> RommDouble {
        let python = pinned_python();
        let home = Sandbox::new();
        let mut server = Server::start(
            process::clean(
                Command::new(&python)
                    .arg(double_dir().join("server.py"))
                    .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                    .arg("--users")
                    .arg(users.to_string())
                    .arg("--exit-on-stdin-eof"),
            )
            .env("HOME", home.path())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(home.path()),
            "the RomM client double",
        );
        let Some(ready) = wait_event_after(&server, 0, READY_TIMEOUT, |e| e["event"] == "ready")
        else {
            let (status, stderr) = server.kill();
            panic!(
                "the RomM double on port {port} was not ready within {READY_TIMEOUT:?} ({status:?}); stderr:\n{stderr}"
            );
        };
        RommDouble {
            url: format!("http://127.0.0.1:{port}"),
            ready,
            server,
            _home: home,
        }
    }

    /// The double's stderr so far (tracebacks of unhandled exceptions, as in RomM's log).
    pub fn stderr(&self) -> String {
        self.server.stderr()
    }

    /// Every outcome the double recorded so far, oldest first.
    pub fn outcomes(&self) -> Vec<Value> {
        self.server
            .lines()
            .iter()
            .map(|l| event(l))
            .filter(|e| e["event"] == "outcome")
            .collect()
    }

    /// Opens `<double>/api/login/openid` in the browser stand-in (signing in at the
    /// provider as `BROWSER_LOGIN`, from `browser_env`), and returns what the browser
    /// and the double saw.
    pub fn login(&self, browser_env: &[(&str, &str)]) -> DoubleLogin {
        let seen = self.server.lines().len();
        let summary =
            browser::visit(&format!("{}/api/login/openid", self.url), browser_env).summary;
        // Did the browser request this route of the double (on any host name)?
        let port = url::Url::parse(&self.url).ok().and_then(|u| u.port());
        let visited = |route: &str| {
            summary["trail"].as_array().is_some_and(|trail| {
                trail.iter().filter_map(Value::as_str).any(|hop| {
                    hop.split(' ')
                        .nth(1)
                        .and_then(|u| url::Url::parse(u).ok())
                        .is_some_and(|u| u.port() == port && u.path() == route)
                })
            })
        };
        let route_outcome = |route: &'static str| {
            if !visited(route) {
                return None;
            }
            wait_event_after(&self.server, seen, Duration::from_secs(5), |e| {
                e["event"] == "outcome" && e["route"] == route
            })
        };
        DoubleLogin {
            login: route_outcome("/api/login/openid"),
            callback: route_outcome("/api/oauth/openid"),
            browser: summary,
        }
    }
}

/// One line of the double's stdout as an event (a line that is not JSON as a string).
fn event(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|_| Value::String(line.to_string()))
}

/// The first event after the first `skip` events that satisfies `wanted`.
fn wait_event_after(
    server: &Server,
    skip: usize,
    within: Duration,
    wanted: impl Fn(&Value) -> bool,
) -> Option<Value> {
    server
        .wait_line_after(skip, within, |l| wanted(&event(l)))
        .map(|l| event(&l))
}
