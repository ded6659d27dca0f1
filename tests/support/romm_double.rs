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

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long to wait for the double's `ready` line.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a login through the double may take, browser included.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(30);

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

/// A free loopback port below the kernel's ephemeral range (32768+, where the
/// providers' `bind(0)` land), so no provider started meanwhile takes it. Each call
/// gives another port; the start depends on the process id, so test binaries running
/// at once walk different ports. Never 8765-8769 (the doctor's default listener).
pub fn free_port() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 10_000 + (std::process::id() % 400) as u16 * 25;
    for _ in 0..2_000 {
        let port = base + NEXT.fetch_add(1, Ordering::SeqCst) % 10_000;
        if (8765..=8769).contains(&port) || port >= 32_768 {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port below the ephemeral range");
}

/// Everything the double wrote on stdout, one JSON value per line, and its stderr.
#[derive(Default)]
struct Channel {
    events: Vec<Value>,
    stderr: String,
    closed: bool,
}

/// A running double. Killed on drop.
pub struct RommDouble {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The `ready` line: interpreter, TLS flags' origin, library versions.
    pub ready: Value,
    child: Child,
    stdin: Option<ChildStdin>,
    channel: Arc<(Mutex<Channel>, Condvar)>,
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
        let home = std::env::temp_dir();
        let mut child = Command::new(&python)
            .arg(double_dir().join("server.py"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--users")
            .arg(users.to_string())
            .arg("--exit-on-stdin-eof")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(&home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));

        let channel = Arc::new((Mutex::new(Channel::default()), Condvar::new()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        {
            let channel = Arc::clone(&channel);
            thread::spawn(move || {
                let mut reader = BufReader::new(stdout);
                let mut line = String::new();
                while matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
                    let event = serde_json::from_str(line.trim_end())
                        .unwrap_or_else(|_| Value::String(line.trim_end().to_string()));
                    lock(&channel.0).events.push(event);
                    channel.1.notify_all();
                    line.clear();
                }
                lock(&channel.0).closed = true;
                channel.1.notify_all();
            });
        }
        {
            let channel = Arc::clone(&channel);
            thread::spawn(move || {
                let mut reader = BufReader::new(stderr);
                let mut line = String::new();
                while matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
                    lock(&channel.0).stderr.push_str(&line);
                    line.clear();
                }
            });
        }
        let stdin = child.stdin.take();
        let mut double = RommDouble {
            url: format!("http://127.0.0.1:{port}"),
            ready: Value::Null,
            child,
            stdin,
            channel,
        };
        match double.wait_event(READY_TIMEOUT, |e| e["event"] == "ready") {
            Some(ready) => double.ready = ready,
            None => {
                let _ = double.child.kill();
                let status = double.child.wait().ok();
                thread::sleep(Duration::from_millis(100));
                panic!(
                    "the RomM double on port {port} was not ready within {READY_TIMEOUT:?} ({status:?}); stderr:\n{}",
                    double.stderr()
                );
            }
        }
        double
    }

    /// The double's stderr so far (tracebacks of unhandled exceptions, as in RomM's log).
    pub fn stderr(&self) -> String {
        lock(&self.channel.0).stderr.clone()
    }

    /// Every outcome the double recorded so far, oldest first.
    pub fn outcomes(&self) -> Vec<Value> {
        lock(&self.channel.0)
            .events
            .iter()
            .filter(|e| e["event"] == "outcome")
            .cloned()
            .collect()
    }

    /// The first event after the first `skip` events that satisfies `wanted`.
    fn wait_event_after(
        &self,
        skip: usize,
        within: Duration,
        wanted: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = Instant::now() + within;
        let (mutex, condvar) = &*self.channel;
        let mut channel = lock(mutex);
        loop {
            if let Some(found) = channel.events.iter().skip(skip).find(|e| wanted(e)) {
                return Some(found.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if channel.closed || left.is_zero() {
                return None;
            }
            channel = condvar
                .wait_timeout(channel, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn wait_event(&self, within: Duration, wanted: impl Fn(&Value) -> bool) -> Option<Value> {
        self.wait_event_after(0, within, wanted)
    }

    /// Opens `<double>/api/login/openid` in the browser stand-in (signing in at the
    /// provider as `BROWSER_LOGIN`, from `browser_env`), and returns what the browser
    /// and the double saw.
    pub fn login(&self, browser_env: &[(&str, &str)]) -> DoubleLogin {
        let seen = lock(&self.channel.0).events.len();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/browser.mjs");
        let start = format!("{}/api/login/openid", self.url);
        let mut browser = Command::new("node");
        browser
            .arg(&script)
            .arg(&start)
            .envs(browser_env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let output = run_bounded(browser, LOGIN_TIMEOUT)
            .unwrap_or_else(|e| panic!("browser stand-in (node {}): {e}", script.display()));
        let summary = output
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<Value>(l).ok())
            .unwrap_or_else(|| panic!("no summary line from the browser stand-in:\n{output}"));
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
            self.wait_event_after(seen, Duration::from_secs(5), |e| {
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

impl Drop for RommDouble {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `command` (stderr piped) to its end, killing it after `limit`; returns stderr.
fn run_bounded(mut command: Command, limit: Duration) -> Result<String, String> {
    let mut child = command.spawn().map_err(|e| e.to_string())?;
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {limit:?}"));
        }
        thread::sleep(Duration::from_millis(20));
    }
    reader
        .join()
        .map_err(|_| "stderr reader panicked".to_string())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
