//! RomM's side, from inside its container: how a command reaches the container (an
//! engine's `exec -i NAME`, or the `--exec` prefix), the one bounded runner every such
//! command goes through, RomM's server environment and the probe (both answered by
//! `container/probe.py`, piped to the container's `python3 -`: nothing is written into
//! the container), and RomM's log (`<engine> logs --since 24h NAME`).
//!
//! Why the probe reads the environment rather than `exec … env`: RomM's image
//! (rommapp/romm `docker/Dockerfile`) runs `/docker-entrypoint.sh`, which reads every
//! `<NAME>_FILE` into `<NAME>` and then execs `/init`, which starts gunicorn. An exec's
//! own environment has the image's and compose's variables but not those, so the probe
//! reads gunicorn's `/proc/<pid>/environ`, else PID 1's, else its own with the
//! entrypoint's `_FILE` rule. The image puts RomM's venv `python3` on PATH and RomM's
//! code on `PYTHONPATH=/backend`, which is how the probe reaches RomM's own client.
//!
//! A command's failure is an input error (exit 2) when the user named something that
//! does not exist (an engine or `--exec` program not installed, a container the engine
//! does not know); anything else the environment does (no engine at all, a stopped
//! container, no python3, a hang) is an [`Unavailable`] the doctor reports as a finding.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::ValueEnum;
use serde::Deserialize;

use crate::cli::ContainerArgs;
use crate::http::{self, Response};
use crate::romm_log::LOG_LIMIT;
use crate::settings::VARS;

/// The probe, piped to the container's Python.
const PROBE: &str = include_str!("container/probe.py");

/// The most a command may print on each stream, the newest bytes kept: the probe's
/// answer holds at most three bodies of `http::BODY_LIMIT`.
const OUTPUT_CAP: usize = 4 * http::BODY_LIMIT;
/// How long the pipes may stay open after a command was killed.
const GRACE: Duration = Duration::from_millis(500);

/// A container engine whose `exec -i NAME CMD…` and `logs` the tool runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    Docker,
    Podman,
    Nerdctl,
}

impl Engine {
    /// The order `--container` looks for one on PATH: docker first, as RomM's guides
    /// run it with docker compose (and podman-docker's `docker` forwards to podman);
    /// nerdctl last, as it sees containerd's own namespace, not docker's containers.
    const SEARCH: [Engine; 3] = [Engine::Docker, Engine::Podman, Engine::Nerdctl];

    fn program(self) -> &'static str {
        match self {
            Engine::Docker => "docker",
            Engine::Podman => "podman",
            Engine::Nerdctl => "nerdctl",
        }
    }
}

/// Why something in the container could not be run or read, as a finding states it.
#[derive(Clone, Debug, Default)]
pub struct Unavailable {
    pub summary: String,
    pub detail: String,
    pub fix: String,
}

/// How a command reaches RomM's container.
#[derive(Debug)]
struct Exec {
    /// The words before the command: `docker exec -i romm`, or `--exec`'s.
    prefix: Vec<String>,
    /// `<engine> logs --since 24h NAME`, and how to say it, when an engine runs the
    /// container.
    logs: Option<(Vec<String>, String)>,
}

/// RomM's container, as the command line names it, and RomM's environment read there.
pub struct Container {
    /// For messages: `container romm (docker)`, or `` `kubectl exec …` ``.
    pub label: String,
    exec: Result<Exec, Unavailable>,
    /// Keys the secret's hash afresh on each run (see `Sealed`).
    key: [u8; 16],
    timeout: Duration,
    /// RomM's server environment, or why it could not be read.
    pub env: Result<RommEnv, Unavailable>,
}

/// RomM's server environment as the probe reports it: the values of RomM's variables
/// (and every `OIDC_*`), the client secret only sealed.
#[derive(Clone, Debug, Deserialize)]
pub struct RommEnv {
    /// Where it was read, e.g. `/proc/57/environ (gunicorn)`.
    pub source: String,
    pub values: BTreeMap<String, String>,
    #[serde(rename = "secrets")]
    sealed: BTreeMap<String, Fingerprint>,
    /// Names whose value was not UTF-8 (read with U+FFFD).
    pub not_utf8: Vec<String>,
    #[serde(skip)]
    key: [u8; 16],
}

#[derive(Clone, Debug, Deserialize)]
struct Fingerprint {
    length: usize,
    hmac: String,
    quoted: bool,
}

/// A secret of RomM's container, which never leaves it: its length, whether it starts
/// with a quote, and a hash keyed afresh for this run, to compare with a value here.
#[derive(Clone, Debug)]
pub struct Sealed {
    pub length: usize,
    pub quoted: bool,
    digest: String,
    key: [u8; 16],
}

impl Sealed {
    /// Whether `value` (as RomM reads it) is the container's secret.
    pub fn matches(&self, value: &str) -> bool {
        keyed_hash(&self.key, value) == self.digest
    }
}

impl RommEnv {
    /// The container's value of a secret variable, sealed.
    pub fn sealed(&self, name: &str) -> Option<Sealed> {
        self.sealed.get(name).map(|f| Sealed {
            length: f.length,
            quoted: f.quoted,
            digest: f.hmac.clone(),
            key: self.key,
        })
    }
}

#[cfg(test)]
impl RommEnv {
    /// What the probe reports for a container running with `values` (a secret among
    /// them sealed, as the probe seals it).
    pub fn of(values: &[(&str, &str)]) -> RommEnv {
        let key = [7u8; 16];
        let (secrets, plain): (Vec<_>, Vec<_>) = values
            .iter()
            .partition(|(name, _)| *name == crate::settings::OIDC_CLIENT_SECRET);
        let sealed = secrets
            .iter()
            .map(|(name, value)| {
                let value = crate::settings::python_strip(value);
                let print = Fingerprint {
                    length: value.chars().count(),
                    hmac: keyed_hash(&key, value),
                    quoted: value.starts_with(['"', '\'']),
                };
                (name.to_string(), print)
            })
            .collect();
        RommEnv {
            source: "/proc/57/environ (gunicorn)".into(),
            values: plain
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            sealed,
            not_utf8: Vec::new(),
            key,
        }
    }
}

/// The first 16 hex digits of HMAC-SHA256 (the probe's `fingerprint`).
fn keyed_hash(key: &[u8], value: &str) -> String {
    use aws_lc_rs::hmac;
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), value.as_bytes());
    hex(&tag.as_ref()[..8])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Container {
    /// The container the command line names (`None` without `--container`/`--exec`),
    /// with RomM's environment read from it. An error is an input error (exit 2).
    pub fn open(args: &ContainerArgs, timeout: Duration) -> anyhow::Result<Option<Container>> {
        let (label, exec) = match (&args.container, &args.exec) {
            (Some(name), _) => match engine(args.engine)? {
                Ok((engine, program)) => {
                    let run = |words: &[&str]| {
                        std::iter::once(program.display().to_string())
                            .chain(words.iter().map(|w| w.to_string()))
                            .collect::<Vec<_>>()
                    };
                    let exec = Exec {
                        prefix: run(&["exec", "-i", name]),
                        logs: Some((
                            run(&["logs", "--since", "24h", name]),
                            format!("{} logs --since 24h {name}", engine.program()),
                        )),
                    };
                    (format!("container {name} ({})", engine.program()), Ok(exec))
                }
                Err(why) => (format!("container {name}"), Err(why)),
            },
            (None, Some(prefix)) => {
                let words = prefix.words().to_vec();
                if find_program(&words[0]).is_none() {
                    bail!("--exec: {} is not an executable file on PATH", words[0]);
                }
                let label = format!("`{}`", shell_words::join(&words));
                (
                    label,
                    Ok(Exec {
                        prefix: words,
                        logs: None,
                    }),
                )
            }
            (None, None) => return Ok(None),
        };
        let mut key = [0u8; 16];
        getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let mut container = Container {
            label,
            exec,
            key,
            timeout,
            env: Err(Unavailable::default()), // read next
        };
        crate::progress::line(&format!(
            "romm-oidc: reading RomM's environment in {}…",
            container.label
        ));
        container.env = container.read_env()?;
        Ok(Some(container))
    }

    /// RomM's server environment, by the probe's "env" mode.
    fn read_env(&self) -> anyhow::Result<Result<RommEnv, Unavailable>> {
        let names: Vec<&str> = VARS.iter().map(|v| v.name).collect();
        let config = serde_json::json!({
            "mode": "env",
            "key": hex(&self.key),
            "names": names,
        });
        let answer = match self.python(config, 2, "Reading RomM's environment")? {
            Ok(answer) => answer,
            Err(why) => return Ok(Err(why)),
        };
        Ok(self
            .parsed::<RommEnv>(&answer, "RomM's environment")
            .map(|mut env| {
                env.key = self.key;
                env
            }))
    }

    /// RomM's three OIDC requests from inside the container, by the probe: within
    /// 4 × `--timeout` (the start-up with RomM's imports, then each request). Not
    /// tried when RomM's environment could not be read there: that error again.
    /// `overrides` replace values of RomM's environment for this probe only (the
    /// wizard's answers; never a secret).
    pub fn probe(&self, overrides: &[(&str, &str)]) -> Result<Answers, Unavailable> {
        if let Err(why) = &self.env {
            return Err(why.clone());
        }
        let overrides: serde_json::Map<String, serde_json::Value> = overrides
            .iter()
            .map(|(name, value)| (name.to_string(), (*value).into()))
            .collect();
        let config = serde_json::json!({
            "mode": "probe",
            "code": crate::checks::credentials::PROBE_CODE,
            "body_limit": http::BODY_LIMIT,
            "overrides": overrides,
        });
        let answer = self
            .python(config, 4, "The probe")
            .unwrap_or_else(|e| Err(self.failed("The probe", &e.to_string())))?;
        self.parsed(&answer, "the probe's answer")
    }

    /// RomM's log of the last 24 hours (stdout, then stderr: nginx's errors), within
    /// 2 × `--timeout`, the newest `LOG_LIMIT` bytes of each; `None` with `--exec`,
    /// where no engine's `logs` applies.
    pub fn logs(&self) -> Option<Result<Log, Unavailable>> {
        let exec = match &self.exec {
            Ok(exec) => exec,
            Err(why) => return Some(Err(why.clone())),
        };
        let (argv, origin) = exec.logs.as_ref()?;
        let read = run(argv, &[], self.timeout * 2, LOG_LIMIT)
            .map_err(|e| self.failed("Reading RomM's log", &e.to_string()))
            .and_then(|output| match output.status {
                Some(status) if status.success() => Ok(output),
                _ => Err(self.refused("Reading RomM's log", origin, &output)),
            })
            .map(|output| {
                let cut = output.stdout.dropped + output.stderr.dropped > 0;
                let mut text = output.stdout.bytes;
                text.extend_from_slice(&output.stderr.bytes);
                Log {
                    text,
                    origin: origin.clone(),
                    cut,
                }
            });
        Some(read)
    }

    /// Runs the probe with `config` (plus the time limits) in the container's python3,
    /// within `steps` × `--timeout`. Its stdout, or why there is none. An error is an
    /// input error: the container does not exist, or the program is not installed.
    fn python(
        &self,
        mut config: serde_json::Value,
        steps: u32,
        what: &str,
    ) -> anyhow::Result<Result<Vec<u8>, Unavailable>> {
        let exec = match &self.exec {
            Ok(exec) => exec,
            Err(why) => return Ok(Err(why.clone())),
        };
        let deadline = self.timeout * steps;
        config["timeout"] = self.timeout.as_secs_f64().into();
        config["budget"] = deadline.as_secs_f64().ceil().into();
        let mut argv = exec.prefix.clone();
        argv.extend(["python3".into(), "-".into(), config.to_string()]);
        let shown = format!("{} python3 -", shell_words::join(&exec.prefix));
        let output = match run(&argv, PROBE.as_bytes(), deadline, OUTPUT_CAP) {
            Ok(output) => output,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                bail!("cannot run {}: {e}", exec.prefix[0])
            }
            Err(e) => return Ok(Err(self.failed(what, &e.to_string()))),
        };
        match output.status {
            Some(status) if status.success() => Ok(Ok(output.stdout.bytes)),
            Some(_) if unknown_container(&output.stderr.bytes) => bail!(
                "{}: {} (the engine's list of running containers names the right one: e.g. docker ps)",
                self.label,
                last_line(&output.stderr.bytes)
            ),
            _ => Ok(Err(self.refused(what, &shown, &output))),
        }
    }

    /// A JSON answer read, or why it is not one.
    fn parsed<T: serde::de::DeserializeOwned>(
        &self,
        answer: &[u8],
        what: &str,
    ) -> Result<T, Unavailable> {
        serde_json::from_slice(answer).map_err(|e| {
            self.failed(
                &format!("Reading {what}"),
                &format!(
                    "the probe printed no JSON document ({e}): {}",
                    http::excerpt(answer)
                ),
            )
        })
    }

    fn failed(&self, what: &str, why: &str) -> Unavailable {
        Unavailable {
            summary: format!("{what} failed in {}", self.label),
            detail: why.to_string(),
            fix: "Run the command by hand to see why; the container must be running RomM's image (python3 on PATH).".into(),
        }
    }

    /// A command that ended badly: killed at its deadline, or exited non-zero.
    fn refused(&self, what: &str, shown: &str, output: &Output) -> Unavailable {
        let said = last_line(&output.stderr.bytes);
        match output.status {
            None => Unavailable {
                summary: format!("{what} did not end within {} s in {}", output.limit.as_secs_f64(), self.label),
                detail: format!("`{shown}` was stopped at its deadline (--timeout {} s per step).", self.timeout.as_secs_f64()),
                fix: "Check that the container runs and answers (e.g. docker ps); raise --timeout on a slow machine.".into(),
            },
            Some(status) if said.contains("python3") && matches!(status.code(), Some(126 | 127)) || said.contains("executable file not found") => Unavailable {
                summary: format!("{} has no python3 on PATH", self.label),
                detail: format!("`{shown}` answered: {said}. RomM's image has its Python (/src/.venv/bin/python3) on PATH."),
                fix: "Name RomM's own container (--container, or --exec with the command that reaches it).".into(),
            },
            Some(status) => Unavailable {
                summary: format!("{what} failed in {}: {}", self.label, if said.is_empty() { status.to_string() } else { said.clone() }),
                detail: format!("`{shown}` ended with {status}{}", if said.is_empty() { String::new() } else { format!(": {said}") }),
                fix: "Start the container (docker compose up -d romm) and check that this command reaches it; a container engine that needs root needs sudo or its group.".into(),
            },
        }
    }
}

/// The engine `--engine` names, or the first on PATH; an `Unavailable` when none is
/// installed (the environment's doing), an error when the one named is not (the user's).
fn engine(named: Option<Engine>) -> anyhow::Result<Result<(Engine, PathBuf), Unavailable>> {
    if let Some(engine) = named {
        return match find_program(engine.program()) {
            Some(path) => Ok(Ok((engine, path))),
            None => bail!(
                "--engine {}: {} is not on PATH",
                engine.program(),
                engine.program()
            ),
        };
    }
    let found = Engine::SEARCH
        .iter()
        .find_map(|e| find_program(e.program()).map(|path| (*e, path)));
    Ok(found.ok_or_else(|| Unavailable {
        summary: "No container engine on PATH (docker, podman or nerdctl)".into(),
        detail: "--container runs commands in RomM's container with an engine's exec; none of docker, podman or nerdctl is on PATH here.".into(),
        fix: "Run the doctor where the engine that runs RomM is installed, give --engine, or give --exec with the command that runs a program in RomM's container (e.g. --exec 'kubectl exec -i -n media deploy/romm --').".into(),
    }))
}

/// `name` as the shell finds it: a path, or the first executable file of that name on PATH.
fn find_program(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |path: &Path| {
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        let path = PathBuf::from(name);
        return executable(&path).then_some(path);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| executable(path))
}

/// The engines' words for a container they do not know (docker "No such container",
/// podman and nerdctl "no such container", kubectl "(NotFound)").
fn unknown_container(stderr: &[u8]) -> bool {
    let text = String::from_utf8_lossy(stderr).to_ascii_lowercase();
    text.contains("no such container") || text.contains("(notfound)")
}

/// The last non-empty line a command printed, made printable and short.
fn last_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    http::excerpt(
        text.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .as_bytes(),
    )
}

/// RomM's log as read, and the command that read it.
pub struct Log {
    pub text: Vec<u8>,
    pub origin: String,
    /// True when a stream printed more than `LOG_LIMIT` (its oldest part was dropped).
    pub cut: bool,
}

// ------------------------------------------------------------------ the probe's answer

/// The probe's answer: how it ran, and RomM's requests.
#[derive(Debug, Deserialize)]
pub struct Answers {
    pub python: String,
    pub libraries: BTreeMap<String, Option<String>>,
    pub client: Client,
    /// The proxy variables in RomM's environment (passwords hidden).
    pub proxies: BTreeMap<String, String>,
    pub steps: Steps,
}

/// Which client made the requests: RomM's own (`romm`), else why not.
#[derive(Debug, Deserialize)]
pub struct Client {
    pub romm: bool,
    pub why: Option<String>,
}

/// Each request needs the one before; a missing one was not made.
#[derive(Debug, Deserialize)]
pub struct Steps {
    pub discovery: Step,
    pub token: Option<Step>,
    pub jwks: Option<Step>,
}

/// One request from RomM's container.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Step {
    pub url: Option<String>,
    /// The proxy httpx sent it through.
    pub proxy: Option<String>,
    pub dns: Option<Dns>,
    /// "not used", "verified with …", "failed" or "not reached".
    pub tls: Option<String>,
    pub status: Option<u16>,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub body: Option<String>,
    pub body_truncated: bool,
    pub error: Option<StepError>,
    /// The key set was in the discovery document: no request.
    pub inline: bool,
}

#[derive(Debug, Deserialize)]
pub struct Dns {
    pub host: String,
    pub answers: Option<Vec<String>>,
    pub error: Option<String>,
}

/// The exception RomM's client raised: its class, and the line RomM's log shows
/// (`None` when the probe's own time limit ended the request first).
#[derive(Debug, Deserialize)]
pub struct StepError {
    pub class: String,
    pub logged: Option<String>,
}

impl Step {
    /// The answer, when one came back whole, as the doctor's own requests return it.
    pub fn response(&self) -> Option<Response> {
        if self.body_truncated {
            return None;
        }
        Some(Response {
            status: self.status?,
            content_type: self.content_type.clone(),
            content_encoding: None,
            location: self.location.clone(),
            set_cookie: Vec::new(),
            body: self.body.clone().unwrap_or_default().into_bytes(),
            url: self.url.clone().unwrap_or_default(),
        })
    }
}

// --------------------------------------------------------------------- the runner

/// What a command printed; `status` is `None` when it was killed at its deadline.
pub struct Output {
    pub status: Option<ExitStatus>,
    pub stdout: Captured,
    pub stderr: Captured,
    /// The deadline it ran under.
    pub limit: Duration,
}

/// One stream's newest bytes, and how many older ones were dropped.
#[derive(Default)]
pub struct Captured {
    pub bytes: Vec<u8>,
    pub dropped: usize,
}

impl Captured {
    fn push(&mut self, chunk: &[u8], cap: usize) {
        self.bytes.extend_from_slice(chunk);
        // Trimmed in batches, so a long stream is not moved on every read.
        if self.bytes.len() > 2 * cap {
            self.trim(cap);
        }
    }

    fn trim(&mut self, cap: usize) {
        let extra = self.bytes.len().saturating_sub(cap);
        self.bytes.drain(..extra);
        self.dropped += extra;
    }
}

/// Runs `argv` with `input` on its stdin, both outputs captured (each keeping its
/// newest `cap` bytes). At `limit` the command is killed with its process group (it
/// leads one, so whatever it started goes too) and reaped; the pipes get a moment
/// more to close. So it never runs longer than `limit` plus that moment, and leaves
/// no process behind. An error only when it cannot start.
pub fn run(argv: &[String], input: &[u8], limit: Duration, cap: usize) -> io::Result<Output> {
    use std::os::unix::process::CommandExt;
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "an empty command"))?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    let end = Instant::now() + limit;
    let group = child.id() as libc::pid_t;
    if let Some(mut stdin) = child.stdin.take() {
        let input = input.to_vec();
        // Ends when written, or when the command closes its stdin or dies.
        std::thread::spawn(move || stdin.write_all(&input));
    }
    let (eof, closed) = mpsc::channel();
    let stdout = capture(child.stdout.take(), cap, eof.clone());
    let stderr = capture(child.stderr.take(), cap, eof);
    let (exited, exit) = mpsc::channel();
    std::thread::spawn(move || exited.send(child.wait()));
    let mut status = exit
        .recv_timeout(end.saturating_duration_since(Instant::now()))
        .ok();
    if status.is_none() {
        kill_group(group);
        let _ = exit.recv_timeout(GRACE);
    }
    // The pipes close when everything holding them has ended.
    for _ in 0..2 {
        let left = end.saturating_duration_since(Instant::now());
        if closed.recv_timeout(left).is_err() {
            kill_group(group);
            if closed.recv_timeout(GRACE).is_err() {
                break;
            }
        }
    }
    let take = |c: Arc<Mutex<Captured>>| {
        let mut c = c.lock().unwrap_or_else(|p| p.into_inner());
        c.trim(cap);
        std::mem::take(&mut *c)
    };
    Ok(Output {
        status: status.take().transpose()?,
        stdout: take(stdout),
        stderr: take(stderr),
        limit,
    })
}

/// Reads a stream on a thread of its own; says so on `eof` when it ends.
fn capture(
    stream: Option<impl Read + Send + 'static>,
    cap: usize,
    eof: mpsc::Sender<()>,
) -> Arc<Mutex<Captured>> {
    let captured = Arc::new(Mutex::new(Captured::default()));
    let shared = Arc::clone(&captured);
    std::thread::spawn(move || {
        if let Some(mut stream) = stream {
            let mut chunk = [0u8; 64 * 1024];
            while let Ok(n @ 1..) = stream.read(&mut chunk) {
                let mut c = shared.lock().unwrap_or_else(|p| p.into_inner());
                c.push(&chunk[..n], cap);
            }
        }
        let _ = eof.send(());
    });
    captured
}

/// SIGKILL to the process group the runner's command leads.
fn kill_group(group: libc::pid_t) {
    // SAFETY: kill(2) with a negative pid signals that process group; no memory is involved.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[test]
    fn stdin_reaches_the_command_and_both_streams_come_back() {
        let out = run(
            &sh("cat; echo oops >&2; exit 3"),
            b"hello",
            Duration::from_secs(10),
            100,
        )
        .unwrap();
        assert_eq!(out.status.and_then(|s| s.code()), Some(3));
        assert_eq!(out.stdout.bytes, b"hello");
        assert_eq!(out.stderr.bytes, b"oops\n");
    }

    #[test]
    fn each_stream_keeps_its_newest_bytes_up_to_the_cap() {
        let out = run(&sh("seq 1 100000"), b"", Duration::from_secs(10), 13).unwrap();
        assert_eq!(out.stdout.bytes, b"99999\n100000\n");
        assert_eq!(out.stdout.dropped, 588_895 - 13);
    }

    #[test]
    fn a_command_that_hangs_is_killed_with_what_it_started() {
        let started = Instant::now();
        // The child sleeps in the background holding the pipes, the command itself too.
        let out = run(
            &sh("echo started; sleep 30 & sleep 30"),
            b"",
            Duration::from_millis(300),
            100,
        )
        .unwrap();
        assert!(out.status.is_none());
        assert_eq!(out.stdout.bytes, b"started\n");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_command_whose_children_keep_the_pipes_open_ends_at_the_deadline() {
        let started = Instant::now();
        let out = run(
            &sh("sleep 30 & echo done"),
            b"",
            Duration::from_millis(300),
            100,
        )
        .unwrap();
        assert_eq!(out.status.and_then(|s| s.code()), Some(0));
        assert_eq!(out.stdout.bytes, b"done\n");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_missing_program_is_an_error_of_its_own_kind() {
        let e = run(
            &["romm-oidc-no-such-program".into()],
            b"",
            Duration::from_secs(1),
            10,
        )
        .err()
        .unwrap();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn the_hosts_hash_is_the_probes() {
        // Python: hmac.new(bytes(range(16)), "s3cret".encode(), "sha256").hexdigest()[:16]
        let key: Vec<u8> = (0..16).collect();
        assert_eq!(keyed_hash(&key, "s3cret"), PYTHON_HMAC);
    }

    const PYTHON_HMAC: &str = "db9d9b81ba204c06";

    #[test]
    fn engines_and_unknown_containers_are_told_apart_by_their_words() {
        assert!(unknown_container(
            b"Error response from daemon: No such container: romm\n"
        ));
        assert!(unknown_container(
            b"Error: no container with name or ID \"romm\" found: no such container"
        ));
        assert!(unknown_container(
            b"Error from server (NotFound): deployments.apps \"romm\" not found"
        ));
        assert!(!unknown_container(
            b"Error response from daemon: container 3f2 is not running"
        ));
    }
}
