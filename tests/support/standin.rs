//! The container engine stand-in (tests/container/engine) on PATH, for the cases of
//! `--container` and `--exec`: a sandbox whose `bin/` holds it as docker, podman and
//! kubectl, and the "container's" environment. The stand-in runs the probe here with
//! the RomM client double's Python (RomM's pinned authlib and httpx), as PID 1 of a PID
//! namespace of its own beside a "gunicorn" and, with [`Stand::own_network`], in a
//! network namespace of its own (`unshare`, as root: CI runs as root).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use pocket_id_emulator::{Config, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Emulator};
use serde_json::Value;

use super::bin::Env;
use super::prelude::ROMM_CALLBACK;
use super::process::{self, Run};
use super::romm_double;
use super::sandbox::{RUN_LIMIT, Sandbox, report};

/// A client secret RomM's container may still run with after it was rotated.
pub const WRONG_SECRET: &str = "an-old-secret-that-was-rotated-4711";

/// A sandbox with the engine stand-in on PATH and the "container's" environment.
pub struct Stand {
    pub sb: Sandbox,
    pub bin: PathBuf,
    env: Vec<(String, String)>,
}

impl Stand {
    /// RomM's container running with `container` (KEY=VALUE), a RomM 5.2 look-alike:
    /// the probe's stand-in for RomM's modules is on its PYTHONPATH.
    pub fn new(container: &[(&str, &str)]) -> Stand {
        namespaces_work();
        let sb = Sandbox::new();
        let bin = sb.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        for name in ["docker", "podman", "kubectl"] {
            std::fs::copy(here.join("tests/container/engine"), bin.join(name)).unwrap();
        }
        let mut lines: Vec<String> = container.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if !container.iter().any(|(k, _)| *k == "PYTHONPATH") {
            let shim = here.join("tests/probe/romm_shim");
            lines.push(format!("PYTHONPATH={}", shim.display()));
        }
        let env_file = sb.file("container.env", lines.join("\n") + "\n");
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let python = romm_double::pinned_python();
        // RomM's log: nothing but a worker's start, unless a case gives one.
        let log = sb.file(
            "romm.log",
            "INFO:\t  [RomM][server][2026-12-05 10:00:00] Started server process [57]\n",
        );
        let env = vec![
            ("PATH".into(), path),
            ("STANDIN_LOG".into(), log.display().to_string()),
            ("STANDIN_NAME".into(), "romm".into()),
            ("STANDIN_ENV".into(), env_file.display().to_string()),
            ("STANDIN_PYTHON".into(), python.display().to_string()),
            (
                "STANDIN_PIDFILE".into(),
                sb.path().join("standin.pid").display().to_string(),
            ),
        ];
        Stand { sb, bin, env }
    }

    /// The container in a network namespace of its own: loopback is not the host's.
    pub fn own_network(self) -> Stand {
        self.with("STANDIN_NETNS", "1")
    }

    /// `name` set to `value` for the binary and the stand-in.
    pub fn with(mut self, name: &str, value: &str) -> Stand {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.into(), value.into()));
        self
    }

    /// `romm-oidc doctor ARGS` (`--timeout 5` unless given) with the stand-in on PATH.
    pub fn run(&self, args: &[&str]) -> Run {
        self.command("doctor", args)
    }

    /// `romm-oidc SUBCOMMAND ARGS` (`--timeout 5` unless given), loopback reached
    /// directly past the sandbox's dead proxy.
    pub fn command(&self, subcommand: &str, args: &[&str]) -> Run {
        let mut c = self.sb.cmd();
        c.loopback().arg(subcommand);
        if !args.contains(&"--timeout") {
            c.args(["--timeout", "5"]);
        }
        c.args(args).envs(self.env.iter().map(|(k, v)| (k, v)));
        process::run(&mut c, RUN_LIMIT)
    }

    /// `doctor --json --container romm ARGS`: the report, checked for exit code 0 or 1.
    pub fn doctor(&self, args: &[&str]) -> (Value, Run) {
        let mut all = vec!["--json", "--container", "romm"];
        all.extend_from_slice(args);
        let (report, run) = report(self.run(&all));
        assert!(run.code == 0 || run.code == 1, "{}", run.show());
        (report, run)
    }
}

/// The stand-in needs `unshare` and the right to make namespaces (root). Never
/// skipped: without them the container cases cannot be told apart, so they fail here.
fn namespaces_work() {
    let status = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--net", "true"])
        .stdin(Stdio::null())
        .status();
    assert!(
        status.as_ref().is_ok_and(|s| s.success()),
        "the container tests need `unshare` (util-linux) and root to make PID and network namespaces for the engine stand-in (CI runs as root; .ci/run installs util-linux): {status:?}"
    );
}

pub fn emulator() -> Emulator {
    Emulator::start(Config::default()).expect("start the Pocket ID emulator")
}

/// RomM's working environment for the emulator's client.
pub fn romm_env(e: &Emulator) -> Vec<(&'static str, String)> {
    vec![
        ("OIDC_ENABLED", "true".into()),
        ("OIDC_CLIENT_ID", DEFAULT_CLIENT_ID.into()),
        ("OIDC_CLIENT_SECRET", DEFAULT_CLIENT_SECRET.into()),
        ("OIDC_REDIRECT_URI", ROMM_CALLBACK.into()),
        ("OIDC_SERVER_APPLICATION_URL", e.issuer()),
    ]
}

pub fn pairs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// `env` with `name` set to `value`.
pub fn changed(
    env: &[(&'static str, String)],
    name: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    let mut env: Vec<_> = env.iter().filter(|(k, _)| *k != name).cloned().collect();
    env.push((name, value.into()));
    env
}

/// The finding of `id` from here (`container` false) or from RomM's container.
pub fn view<'a>(report: &'a Value, id: &str, container: bool) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id && (c.get("view") == Some(&Value::from("container"))) == container)
        .unwrap_or_else(|| panic!("no {id} (container: {container}) in {report:#}"))
}
