//! The browser of these tests: `chromium.mjs` beside this file, the system's
//! headless Chromium driven by playwright-core, run by the binary as a user's
//! browser (`--browser-command`). [`Chromium::new`] gives a case its sandbox
//! (the binary's HOME and working directory; the browser's profile and files
//! under `browser/` in it) and the command line; [`Chromium::seen`] waits for
//! the visit to end and returns the pages Chromium rendered, with their
//! screenshots copied to `target/browser-artifacts/<case>/`.
//!
//! Every process the visit starts names the browser's directory (in its
//! arguments or its `TMPDIR`): [`Chromium::seen`] asserts that none is left
//! once the visit ended, and dropping a [`Chromium`] kills any that is.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::browser::require_node;
use crate::support::sandbox::Sandbox;

/// Debian's Chromium, as `.ci/run` installs it.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// How long a visit may take once the binary has ended.
const VISIT_END: Duration = Duration::from_secs(90);
/// How long the browser's processes may take to go once its summary is written.
const PROCESSES_END: Duration = Duration::from_secs(10);

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// A case's browser: its sandbox, its directory, and where its screenshots are kept.
pub struct Chromium {
    dir: PathBuf,
    artifacts: PathBuf,
    sandbox: Sandbox,
}

impl Chromium {
    /// A sandbox and a browser for the case `case`; panics saying what to install
    /// when Node.js, Chromium or the driver is missing.
    pub fn new(case: &str) -> Chromium {
        require();
        let sandbox = Sandbox::new();
        let dir = sandbox.path().join("browser");
        std::fs::create_dir(&dir).expect("the browser's directory");
        let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("the target directory")
            .join("browser-artifacts")
            .join(case);
        // Only this case's screenshots of an earlier run go.
        let _ = std::fs::remove_dir_all(&artifacts);
        std::fs::create_dir_all(&artifacts).expect("the artifacts directory");
        Chromium {
            dir,
            artifacts,
            sandbox,
        }
    }

    /// The binary's HOME and working directory.
    pub fn sandbox(&self) -> &Path {
        self.sandbox.path()
    }

    /// The `--browser-command` that runs this case's browser with `options`
    /// (`--login NAME`, `--stray-callback`); the binary appends the URL.
    pub fn command(&self, options: &[&str]) -> String {
        let script = here().join("chromium.mjs");
        let quoted = |p: &Path| {
            let p = p.display().to_string();
            assert!(!p.contains('\''), "a quote in {p}");
            format!("'{p}'")
        };
        format!(
            "node {} --chromium {} --dir {} {}",
            quoted(&script),
            quoted(Path::new(CHROMIUM)),
            quoted(&self.dir),
            options.join(" ")
        )
    }

    /// Waits for the visit to end (its summary written, its processes gone) and
    /// returns what Chromium rendered; the screenshots are copied to the case's
    /// artifacts directory, which is printed.
    pub fn seen(&self) -> Seen {
        let file = self.dir.join("browser.json");
        let deadline = Instant::now() + VISIT_END;
        while !file.exists() {
            assert!(
                Instant::now() < deadline,
                "the browser wrote no summary within {VISIT_END:?}; still running: {:?}",
                self.processes()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let text = std::fs::read_to_string(&file).expect("the browser's summary");
        let summary: Value = serde_json::from_str(&text).expect("the summary is JSON");

        let deadline = Instant::now() + PROCESSES_END;
        loop {
            let left = self.processes();
            if left.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the browser's processes outlived its visit by {PROCESSES_END:?}: {left:#?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }

        std::fs::copy(&file, self.artifacts.join("browser.json")).expect("keep the summary");
        for page in summary["pages"].as_array().into_iter().flatten() {
            let shot = Path::new(page["shot"].as_str().expect("a screenshot per page"));
            let bytes = std::fs::read(shot)
                .unwrap_or_else(|e| panic!("screenshot {}: {e}", shot.display()));
            assert!(
                bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 2_000,
                "{} is no screenshot ({} bytes)",
                shot.display(),
                bytes.len()
            );
            let name = shot.file_name().expect("a file name");
            std::fs::write(self.artifacts.join(name), bytes).expect("keep the screenshot");
        }
        eprintln!("screenshots: {}", self.artifacts.display());
        Seen { summary }
    }

    /// The processes that name the browser's directory (arguments or environment),
    /// zombies aside: `(pid, command line)`.
    fn processes(&self) -> Vec<(u32, String)> {
        let needle = self.dir.to_string_lossy().into_owned();
        let mut found = Vec::new();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return found;
        };
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if pid == std::process::id() {
                continue;
            }
            let read = |what: &str| std::fs::read(entry.path().join(what)).unwrap_or_default();
            let zombie = String::from_utf8_lossy(&read("stat"))
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z'));
            let cmdline = String::from_utf8_lossy(&read("cmdline")).replace('\0', " ");
            let environ = String::from_utf8_lossy(&read("environ")).into_owned();
            if !zombie && (cmdline.contains(&needle) || environ.contains(&needle)) {
                found.push((pid, cmdline));
            }
        }
        found
    }
}

impl Drop for Chromium {
    /// A visit that failed may leave its browser running: those processes, found by
    /// the directory only they name, are killed before the sandbox goes.
    fn drop(&mut self) {
        for _ in 0..50 {
            let left = self.processes();
            if left.is_empty() {
                return;
            }
            for (pid, _) in left {
                // SAFETY: kill takes a process id and a signal, nothing else.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// What Chromium rendered during one visit.
pub struct Seen {
    pub summary: Value,
}

impl Seen {
    /// Whether the visit reached the listener's result page.
    pub fn ok(&self) -> bool {
        self.summary["ok"] == true
    }

    /// The page `name` (`refused`, `not-here`, `redirect`, `consent`, `result`).
    #[track_caller]
    pub fn page(&self, name: &str) -> &Value {
        self.summary["pages"]
            .as_array()
            .and_then(|pages| pages.iter().find(|p| p["name"] == name))
            .unwrap_or_else(|| panic!("no {name} page:\n{:#}", self.summary))
    }

    /// The text Chromium rendered on the page `name` (`document.body.innerText`).
    #[track_caller]
    pub fn text(&self, name: &str) -> &str {
        self.page(name)["text"].as_str().unwrap_or_default()
    }

    /// The listener's answers, in order: `(method, url, status, location)`.
    pub fn listener(&self) -> Vec<&Value> {
        self.summary["listener"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    }
}

/// Panics saying what to install unless Node.js, Debian's Chromium and the locked
/// playwright-core are there.
fn require() {
    require_node();
    let chromium = Path::new(CHROMIUM);
    assert!(
        chromium.is_file(),
        "the browser tests need Debian's Chromium at {CHROMIUM}: apt-get install chromium \
         (as root; .ci/run installs it). These tests are never skipped."
    );
    let package: Value = read_json(&here().join("package.json"));
    let pinned = package["dependencies"]["playwright-core"].as_str();
    let installed: Option<Value> =
        std::fs::read_to_string(here().join("node_modules/playwright-core/package.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
    let version = installed.as_ref().and_then(|p| p["version"].as_str());
    assert!(
        pinned.is_some() && version == pinned,
        "the browser tests drive Chromium with playwright-core {} (installed: {}): \
         npm ci --prefix tests/browser (.ci/run runs it; it downloads no browser). \
         These tests are never skipped.",
        pinned.unwrap_or("(no pin in tests/browser/package.json)"),
        version.unwrap_or("none")
    );
}

fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}
