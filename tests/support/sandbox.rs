//! Shared helpers for the black-box tests of the `romm-oidc` binary.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

/// The static check ids the specification requires.
pub const STATIC_IDS: &[&str] = &[
    "config.issuer-url",
    "config.redirect-uri",
    "config.session-cookie",
    "config.env-file",
    "config.provider-name",
    "config.metadata-url",
    "config.client",
    "config.roles",
];

/// A temporary working directory that also serves as HOME, so nothing from the
/// developer's home or current directory (a stray `.env`) can leak in.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).expect("write fixture");
        p
    }
    /// The binary with an empty environment (PATH, HOME, NO_COLOR and a dead proxy), run
    /// in the sandbox directory.
    pub fn cmd(&self) -> Command {
        #[allow(deprecated)]
        let mut c = Command::cargo_bin("romm-oidc").expect("romm-oidc binary");
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("NO_COLOR", "1")
            // Network checks (not under test here) fail fast and without DNS through a
            // proxy that refuses connections.
            .env("HTTP_PROXY", "http://127.0.0.1:9")
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .env("ALL_PROXY", "http://127.0.0.1:9")
            .current_dir(self.dir.path())
            .timeout(Duration::from_secs(90));
        c
    }
}

/// Ordered command-line settings where a later `set` replaces an earlier one.
#[derive(Clone, Debug, Default)]
pub struct Args {
    items: Vec<(String, Option<String>)>,
}

impl Args {
    pub fn new() -> Self {
        Self::default()
    }
    /// A complete, valid set of settings (issuer, client, RomM URL).
    pub fn valid() -> Self {
        Self::new()
            .set("--issuer", "https://id.example.com")
            .set("--client-id", "romm-client")
            .set("--client-secret", "Xk93-pQ7z-Lm20-Wd55")
            .set("--romm-url", "https://romm.example.com")
    }
    pub fn set(mut self, flag: &str, value: &str) -> Self {
        self.items.retain(|(f, _)| f != flag);
        self.items.push((flag.to_string(), Some(value.to_string())));
        self
    }
    pub fn flag(mut self, flag: &str) -> Self {
        self.items.retain(|(f, _)| f != flag);
        self.items.push((flag.to_string(), None));
        self
    }
    pub fn unset(mut self, flag: &str) -> Self {
        self.items.retain(|(f, _)| f != flag);
        self
    }
    pub fn get(&self, flag: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|(f, _)| f == flag)
            .and_then(|(_, v)| v.as_deref())
    }
    pub fn to_vec(&self) -> Vec<String> {
        let mut v = Vec::new();
        for (f, val) in &self.items {
            match val {
                // `--flag=value` keeps values that start with `-` or are empty intact.
                Some(val) => v.push(format!("{f}={val}")),
                None => v.push(f.clone()),
            }
        }
        v
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
    pub fn show(&self) -> String {
        format!(
            "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `romm-oidc <sub> <args...>` with the given extra environment.
pub fn run(sb: &Sandbox, sub: &[&str], args: &Args, env: &[(&str, &str)]) -> Run {
    let mut c = sb.cmd();
    c.args(sub).args(args.to_vec());
    for (k, v) in env {
        c.env(k, v);
    }
    Run::from(c.output().expect("run romm-oidc"))
}

/// `romm-oidc doctor --json --timeout 2 <args>`; returns the parsed report and the run.
pub fn doctor_json(sb: &Sandbox, args: &Args, env: &[(&str, &str)]) -> (Value, Run) {
    let r = run(sb, &["doctor", "--json", "--timeout", "2"], args, env);
    let v: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("doctor --json did not print JSON ({e}):\n{}", r.show()));
    (v, r)
}

pub fn checks(report: &Value) -> &Vec<Value> {
    report["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("no checks array in {report:#}"))
}

pub fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    checks(report)
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("check {id} missing from report:\n{report:#}"))
}

pub fn status(report: &Value, id: &str) -> String {
    check(report, id)["status"]
        .as_str()
        .unwrap_or("<none>")
        .to_string()
}

/// Every human-readable field of a check joined together (summary, detail, fix,
/// expected, found).
pub fn text(c: &Value) -> String {
    ["summary", "detail", "fix", "expected", "found"]
        .iter()
        .filter_map(|k| c.get(*k).and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts the status of one check and returns its text; the message shows the check.
#[track_caller]
pub fn expect_status(report: &Value, id: &str, want: &[&str]) -> String {
    let c = check(report, id);
    let st = c["status"].as_str().unwrap_or("<none>");
    assert!(
        want.contains(&st),
        "{id}: expected status in {want:?}, got {st:?}:\n{c:#}"
    );
    text(c)
}

/// Runs `sh -c <script>` in `dir` with a clean, known environment (HOME and X set to
/// sentinels so an unwanted expansion is visible) and returns stdout.
pub fn sh(dir: &Path, script: &str) -> Result<String, String> {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/home-sentinel")
        .env("X", "x-sentinel")
        .current_dir(dir)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "sh failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| e.to_string())
}

/// Sources `file` in `sh` (with `set -a` when `export_all`) and prints `$var` exactly.
pub fn sh_read(dir: &Path, file: &str, var: &str, export_all: bool) -> Result<String, String> {
    let pre = if export_all { "set -a; " } else { "" };
    sh(dir, &format!("{pre}. ./{file} && printf %s \"${var}\""))
}

/// Byte positions where `needle` occurs in `hay` and is not directly followed by a
/// character from `not_followed_by`.
pub fn occurs_not_followed_by(hay: &str, needle: &str, not_followed_by: &[char]) -> bool {
    hay.match_indices(needle).any(|(i, _)| {
        hay[i + needle.len()..]
            .chars()
            .next()
            .is_none_or(|c| !not_followed_by.contains(&c))
    })
}
