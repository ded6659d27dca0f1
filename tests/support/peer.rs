//! A real, independent OpenID Connect provider as a loopback test peer.
//!
//! [`Peer::start`] runs panva's `oidc-provider` (npm, pinned in `tests/peer/package.json`)
//! through `node tests/peer/server.mjs` on `127.0.0.1:<free port>` and kills it on drop.
//! The first use in a checkout runs `npm ci` in `tests/peer` (guarded by a lock directory,
//! so parallel tests and test binaries install it once).
//!
//! Config JSON (all keys optional; see `tests/peer/server.mjs`):
//! ```json
//! { "clients": [ { "client_id": "romm", "client_secret": "s3cret",
//!                  "redirect_uris": ["http://127.0.0.1:8080/callback"],
//!                  "id_token_signed_response_alg": "ES256" } ],
//!   "idTokenClaims": true,
//!   "pkce": false }
//! ```
//! Accounts: any login; `email` = `<login>@example.com` (none for `noemail*`),
//! `email_verified` = false for `unverified*`, `groups` = `["romm-admins"]` for `admin*`.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use super::browser::{NODE_HELP, require_node};
use super::lock;
use super::process::Server;

/// How long to wait for the `READY <issuer>` line.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long to wait for another process's `npm ci` before giving up.
const INSTALL_LOCK_TIMEOUT: Duration = Duration::from_secs(300);
/// A lock directory older than this is considered left behind by a killed process.
const INSTALL_LOCK_STALE: Duration = Duration::from_secs(240);

/// A running `oidc-provider` instance. Killed on drop.
pub struct Peer {
    /// `http://127.0.0.1:<port>`, exactly as the provider's discovery `issuer`.
    pub issuer: String,
    server: Server,
}

impl Peer {
    /// Starts a provider with the given config (see the module docs). Panics (with the
    /// provider's stderr) if Node is missing, `npm ci` fails or the provider is not ready
    /// within 20 s.
    pub fn start(config: serde_json::Value) -> Peer {
        require_node();
        ensure_installed();

        let started = Instant::now();
        let mut server = Server::start(
            Command::new("node")
                .arg(peer_dir().join("server.mjs"))
                .env("PEER_CONFIG", config.to_string())
                .current_dir(peer_dir()),
            &format!("the OIDC test peer; {NODE_HELP}"),
        );
        let Some(line) = server.wait_line_after(0, READY_TIMEOUT, |_| true) else {
            let (status, stderr) = server.kill();
            panic!(
                "OIDC test peer not ready after {:?} ({status:?}); config {config}; stderr:\n{stderr}",
                started.elapsed()
            )
        };
        match line.strip_prefix("READY ") {
            Some(issuer) if issuer.starts_with("http://127.0.0.1:") => Peer {
                issuer: issuer.to_string(),
                server,
            },
            _ => panic!(
                "OIDC test peer printed {line:?} instead of `READY <issuer>`; stderr:\n{}",
                server.kill().1
            ),
        }
    }

    /// `issuer` + `path` (path starting with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    /// `<issuer>/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        self.url("/.well-known/openid-configuration")
    }

    /// Everything the provider wrote to stderr so far (warnings, `peer: grant.error: ...`
    /// lines with the reason for each rejected request). Handy in assertion messages.
    pub fn stderr(&self) -> String {
        self.server.stderr()
    }
}

/// Absolute path of `tests/peer`.
pub fn peer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peer")
}

/// Version of `oidc-provider` pinned in tests/peer/package.json.
fn pinned_version() -> String {
    let path = peer_dir().join("package.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let json: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
    json["dependencies"]["oidc-provider"]
        .as_str()
        .unwrap_or_else(|| panic!("{} has no dependencies.oidc-provider", path.display()))
        .to_string()
}

/// True when node_modules holds the pinned `oidc-provider`.
fn installed() -> bool {
    let path = peer_dir().join("node_modules/oidc-provider/package.json");
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    json["version"].as_str() == Some(pinned_version().as_str())
}

/// Runs `npm ci` in tests/peer unless the pinned oidc-provider is already installed.
/// A lock directory (atomic mkdir) serialises this across threads and processes.
fn ensure_installed() {
    static DONE: Mutex<bool> = Mutex::new(false);
    let mut done = lock(&DONE);
    if *done {
        return;
    }

    let lock_dir = install_lock_dir();
    let deadline = Instant::now() + INSTALL_LOCK_TIMEOUT;
    loop {
        match std::fs::create_dir(&lock_dir) {
            Ok(()) => break,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                let age = std::fs::metadata(&lock_dir)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok());
                if age.is_some_and(|a| a > INSTALL_LOCK_STALE) {
                    let _ = std::fs::remove_dir(&lock_dir);
                    continue;
                }
                if Instant::now() > deadline {
                    panic!(
                        "waited {INSTALL_LOCK_TIMEOUT:?} for another `npm ci` (lock {}); remove it if stale",
                        lock_dir.display()
                    );
                }
                thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("cannot create lock directory {}: {e}", lock_dir.display()),
        }
    }
    struct Unlock(PathBuf);
    impl Drop for Unlock {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir(&self.0);
        }
    }
    let _unlock = Unlock(lock_dir);

    if !installed() {
        let started = Instant::now();
        let output = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(peer_dir())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run `npm ci --prefix {}`: {e}; {NODE_HELP}",
                    peer_dir().display()
                )
            });
        if !output.status.success() || !installed() {
            panic!(
                "`npm ci --prefix {}` failed ({}) after {:?}:\n{}\n{}",
                peer_dir().display(),
                output.status,
                started.elapsed(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    *done = true;
}

fn install_lock_dir() -> PathBuf {
    let base = option_env!("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let _ = std::fs::create_dir_all(&base);
    base.join("romm-oidc-peer-npm-ci.lock")
}
