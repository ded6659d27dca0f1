//! The browser stand-in, `browser.mjs` beside this file (Node.js): it follows
//! redirects with a cookie jar and fills in the providers' login and consent forms.
//! [`driver`] is the command line for `--browser-command` / `$BROWSER` (the URL is
//! appended); [`logged`] the same with its notes in a log file, away from the
//! terminal; [`visit`] runs it on a URL here and returns its summary.
//!
//! Its environment: `BROWSER_LOGIN` (who signs in, default `alice`),
//! `BROWSER_MODE=stop-at-callback`, `BROWSER_CONSENT=deny`; see `browser.mjs`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use super::lock;
use super::process::{self, Run};

/// How long one visit may take, every redirect and form included.
const VISIT_LIMIT: Duration = Duration::from_secs(30);

pub const NODE_HELP: &str = "the test peers need Node.js >= 20 and npm on PATH. \
     Install them, e.g. on Debian/Ubuntu `apt-get install nodejs npm` (needs Node 20+; \
     otherwise install Node 20 or 22 LTS from https://nodejs.org or NodeSource), \
     then re-run the tests. These tests are never skipped.";

/// Absolute path of `browser.mjs`.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/browser.mjs")
}

/// The command line that runs the stand-in, e.g. `node /abs/tests/support/browser.mjs`.
/// Exit 0: it reached a 2xx page.
pub fn driver() -> String {
    require_node();
    format!("node {}", script().display())
}

/// [`driver`] with everything the stand-in prints appended to `log` instead of the
/// terminal, starting after `delay` seconds. Node puts the terminal back in the mode
/// it found when it exits: away from the terminal, a prompt waiting for a key cannot
/// depend on when that happens.
pub fn logged(log: &Path, delay: Option<&str>) -> String {
    require_node();
    let sleep = delay.map(|s| format!("sleep {s}; ")).unwrap_or_default();
    format!(
        "sh -c '{sleep}exec node \"$0\" \"$1\" 2>>\"$2\" >&2' '{}' %s '{}'",
        script().display(),
        log.display()
    )
}

/// What one visit ended with.
pub struct Visit {
    /// Exit 0: a 2xx page at the end.
    pub ok: bool,
    /// The summary line (`ok`, `final_url`, `status`, `trail`, `page_text`, ...).
    pub summary: Value,
    /// Everything the stand-in printed.
    pub run: Run,
}

/// Opens `url` in the stand-in with `env` added to this process's environment, as the
/// doctor would (`<driver()> <url>`).
pub fn visit(url: &str, env: &[(&str, &str)]) -> Visit {
    require_node();
    let mut c = Command::new("node");
    c.arg(script()).arg(url).envs(env.iter().copied());
    let run = process::run(&mut c, VISIT_LIMIT);
    assert!(
        !run.timed_out,
        "browser stand-in (node {}) on {url}:\n{}",
        script().display(),
        run.show()
    );
    let summary = run
        .stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no summary line from the browser stand-in:\n{}", run.show()));
    Visit {
        ok: run.code == 0,
        summary,
        run,
    }
}

/// Panics with install instructions unless `node` (>= 20) runs.
pub fn require_node() {
    static CHECKED: Mutex<bool> = Mutex::new(false);
    let mut checked = lock(&CHECKED);
    if *checked {
        return;
    }
    let output = match Command::new("node").arg("--version").output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("`node` not found on PATH: {NODE_HELP}")
        }
        Err(e) => panic!("cannot run `node --version`: {e}; {NODE_HELP}"),
    };
    let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let major: Option<u32> = version
        .strip_prefix('v')
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse().ok());
    match major {
        Some(m) if output.status.success() && m >= 20 => {}
        _ => panic!(
            "`node --version` gave {version:?} ({}); {NODE_HELP}",
            output.status
        ),
    }
    *checked = true;
}
