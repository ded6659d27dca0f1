//! A sandbox for one case: a temporary directory that is the binary's HOME and
//! working directory, so nothing of the developer's (a stray `.env`) can leak in; the
//! settings a case passes; and the runs of the binary in it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::bin::{self, Env};
use super::process::{self, Run};
use super::report;

/// How long one run in a sandbox may take before it is killed.
pub const RUN_LIMIT: Duration = Duration::from_secs(90);

/// A temporary directory that is the binary's HOME and working directory.
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
    /// The binary in the sandbox, without colours, every request refused by a dead
    /// proxy (network checks not under test fail fast and without DNS).
    pub fn cmd(&self) -> Command {
        let mut c = bin::command(self.path());
        c.plain().offline();
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

/// Runs `romm-oidc <sub> <args...>` in the sandbox with the given extra environment.
pub fn run(sb: &Sandbox, sub: &[&str], args: &Args, env: &[(&str, &str)]) -> Run {
    let mut c = sb.cmd();
    c.args(sub).args(args.to_vec()).envs(env.iter().copied());
    process::run(&mut c, RUN_LIMIT)
}

/// [`run`] with the peers on loopback reached directly, past the dead proxy.
pub fn run_loopback(sb: &Sandbox, sub: &[&str], args: &Args, env: &[(&str, &str)]) -> Run {
    let mut c = sb.cmd();
    c.loopback()
        .args(sub)
        .args(args.to_vec())
        .envs(env.iter().copied());
    process::run(&mut c, RUN_LIMIT)
}

/// `romm-oidc doctor --json --timeout 2 <args>`; returns the parsed report and the run.
pub fn doctor_json(sb: &Sandbox, args: &Args, env: &[(&str, &str)]) -> (Value, Run) {
    report(run(sb, &["doctor", "--json", "--timeout", "2"], args, env))
}

/// The check `id` of [`doctor_json`]'s report.
pub fn doctor_check(sb: &Sandbox, args: &Args, env: &[(&str, &str)], id: &str) -> Value {
    let (report, _) = doctor_json(sb, args, env);
    report::check(&report, id).clone()
}

/// `romm-oidc doctor --json --timeout <timeout> <args>` against peers on loopback;
/// returns the parsed report and the run.
pub fn doctor_loopback(
    sb: &Sandbox,
    args: &Args,
    timeout: &str,
    env: &[(&str, &str)],
) -> (Value, Run) {
    report(run_loopback(
        sb,
        &["doctor", "--json", "--timeout", timeout],
        args,
        env,
    ))
}

/// The report a `--json` run printed, and the run; panics showing the run when
/// stdout is not JSON.
pub fn report(r: Run) -> (Value, Run) {
    let v: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("--json did not print JSON ({e}):\n{}", r.show()));
    (v, r)
}

/// Runs `sh -c <script>` in `dir` with a clean, known environment (HOME and X set to
/// sentinels so an unwanted expansion is visible) and returns stdout.
pub fn sh(dir: &Path, script: &str) -> Result<String, String> {
    let out = process::clean(Command::new("sh").arg("-c").arg(script))
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
