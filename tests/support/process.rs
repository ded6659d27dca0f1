//! Child processes as the cases run them: a clean environment, the output collected
//! while it runs, and a limit after which the process (and its process group, when it
//! leads one) is killed, so no case hangs and none leaves a process behind.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::lock;

/// How often a running process is looked at.
const TICK: Duration = Duration::from_millis(5);
/// After the process ended, how long its pipes may stay quiet before they are taken as
/// done: a grandchild (the browser stand-in) may hold them open.
const QUIET: Duration = Duration::from_millis(300);

/// Clears `c`'s environment but for `PATH`.
pub fn clean(c: &mut Command) -> &mut Command {
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
}

/// How a process ended, and what it printed.
pub struct Run {
    /// The exit code; -1 when it had none (a signal, or killed at the limit).
    pub code: i32,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// Killed because it was still running at the limit.
    pub timed_out: bool,
    /// Its stdout, read as UTF-8 (an invalid sequence as U+FFFD).
    pub stdout: String,
    /// Its stderr, read as UTF-8 (an invalid sequence as U+FFFD).
    pub stderr: String,
    /// Its stdout exactly, for a case about the bytes.
    pub stdout_bytes: Vec<u8>,
    /// Its stderr exactly.
    pub stderr_bytes: Vec<u8>,
    pub elapsed: Duration,
}

impl Run {
    /// Asserts that neither stdout nor stderr shows `secret` (`what`, for the message).
    #[track_caller]
    pub fn assert_hides(&self, secret: &str, what: &str) {
        assert!(
            !self.stdout.contains(secret) && !self.stderr.contains(secret),
            "{what} printed:\n{}",
            self.show()
        );
    }

    /// Everything about the run, for an assertion's message.
    pub fn show(&self) -> String {
        let end = match (self.timed_out, self.signal) {
            (true, _) => "killed at the limit".to_string(),
            (false, Some(signal)) => format!("signal {signal}"),
            (false, None) => format!("exit {}", self.code),
        };
        format!(
            "{end} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.elapsed, self.stdout, self.stderr
        )
    }
}

/// What a process reads on stdin.
pub enum Input<'a> {
    /// Nothing: /dev/null.
    Null,
    /// These bytes, then the end.
    Bytes(&'a [u8]),
    /// What the case opened (a file, a pipe).
    From(Stdio),
}

/// Runs `c` with stdin from /dev/null to its end, killed after `limit`.
pub fn run(c: &mut Command, limit: Duration) -> Run {
    Spawned::start(c, Input::Null).finish(limit)
}

/// Runs `c` with `input` on its stdin to its end, killed after `limit`.
pub fn run_with_input(c: &mut Command, input: &[u8], limit: Duration) -> Run {
    Spawned::start(c, Input::Bytes(input)).finish(limit)
}

/// A started process whose stdout and stderr are read as they come.
pub struct Spawned {
    child: Child,
    started: Instant,
    stdout: Pipe,
    stderr: Pipe,
    /// How much of the stderr read so far [`Spawned::wait_for_line`] has looked at.
    seen: usize,
}

/// One output pipe, read by a thread that passes on each chunk.
struct Pipe {
    chunks: Receiver<Vec<u8>>,
    bytes: Vec<u8>,
    open: bool,
}

impl Pipe {
    fn read(mut from: impl Read + Send + 'static) -> Pipe {
        let (tx, chunks) = mpsc::channel();
        thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n @ 1..) = from.read(&mut buf) {
                if tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Pipe {
            chunks,
            bytes: Vec::new(),
            open: true,
        }
    }

    /// Takes what arrives within `within`; false when nothing did.
    fn take(&mut self, within: Duration) -> bool {
        if !self.open {
            return false;
        }
        match self.chunks.recv_timeout(within) {
            Ok(chunk) => {
                self.bytes.extend(chunk);
                while let Ok(chunk) = self.chunks.try_recv() {
                    self.bytes.extend(chunk);
                }
                true
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => {
                self.open = false;
                false
            }
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

impl Spawned {
    /// Starts `c` with `input` on stdin, and stdout and stderr piped.
    pub fn start(c: &mut Command, input: Input) -> Spawned {
        c.stderr(Stdio::piped());
        Spawned::start_keeping_stderr(c, input)
    }

    /// [`Spawned::start`] with stderr where the case set it (then read as empty).
    pub fn start_keeping_stderr(c: &mut Command, input: Input) -> Spawned {
        let started = Instant::now();
        let bytes = match input {
            Input::Null => {
                c.stdin(Stdio::null());
                None
            }
            Input::Bytes(bytes) => {
                c.stdin(Stdio::piped());
                Some(bytes.to_vec())
            }
            Input::From(stdin) => {
                c.stdin(stdin);
                None
            }
        };
        c.stdout(Stdio::piped());
        let mut child = c
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", c.get_program()));
        if let (Some(bytes), Some(mut stdin)) = (bytes, child.stdin.take()) {
            // A writer of its own: a process that does not read stdin must not block us.
            thread::spawn(move || {
                let _ = std::io::Write::write_all(&mut stdin, &bytes);
            });
        }
        let stdout = Pipe::read(child.stdout.take().expect("stdout is piped"));
        let stderr = match child.stderr.take() {
            Some(stderr) => Pipe::read(stderr),
            None => Pipe::read(std::io::empty()),
        };
        Spawned {
            child,
            started,
            stdout,
            stderr,
            seen: 0,
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a whole stderr line holding `needle`, after the lines earlier calls
    /// looked at, and returns it. Kills the process and panics, showing stderr, when
    /// none comes within `within`.
    pub fn wait_for_line(&mut self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            while let Some(end) = self.stderr.bytes[self.seen..]
                .iter()
                .position(|b| *b == b'\n')
            {
                let line = &self.stderr.bytes[self.seen..self.seen + end + 1];
                self.seen += end + 1;
                let line = String::from_utf8_lossy(line);
                if line.contains(needle) {
                    return line.into_owned();
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || (!self.stderr.take(left) && !self.stderr.open) {
                self.kill();
                panic!(
                    "no stderr line with {needle:?} within {within:?}; stderr so far:\n{}",
                    self.stderr.text()
                );
            }
        }
    }

    /// Waits for the end, killing the process after `limit` from its start.
    pub fn finish(self, limit: Duration) -> Run {
        self.finish_sampling(limit, |_| {})
    }

    /// [`Spawned::finish`], calling `sample` with the process id while it runs.
    pub fn finish_sampling(mut self, limit: Duration, mut sample: impl FnMut(u32)) -> Run {
        let pid = self.id();
        let mut timed_out = false;
        let status = loop {
            sample(pid);
            if let Some(status) = self.child.try_wait().expect("wait for the process") {
                break status;
            }
            if self.started.elapsed() > limit {
                timed_out = true;
                self.kill();
                break self.child.wait().expect("wait after the kill");
            }
            self.stdout.take(Duration::ZERO);
            self.stderr.take(Duration::ZERO);
            thread::sleep(TICK);
        };
        let elapsed = self.started.elapsed();
        while self.stdout.take(QUIET) | self.stderr.take(QUIET) {}
        use std::os::unix::process::ExitStatusExt;
        Run {
            code: status.code().unwrap_or(-1),
            signal: status.signal(),
            timed_out,
            stdout: self.stdout.text(),
            stderr: self.stderr.text(),
            stdout_bytes: self.stdout.bytes,
            stderr_bytes: self.stderr.bytes,
            elapsed,
        }
    }

    /// Kills the process, and its process group when it leads one (a wrapper and what
    /// it runs).
    fn kill(&mut self) {
        let pid = self.id() as libc::pid_t;
        // SAFETY: getpgid and killpg take a process id and have no other preconditions.
        unsafe {
            if libc::getpgid(pid) == pid {
                libc::killpg(pid, libc::SIGKILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A long-running peer (a provider, a double): started with its stdin held open (it
/// ends when stdin closes), its stdout lines and its stderr collected as they come.
/// Stopped on drop.
pub struct Server {
    child: Child,
    stdin: Option<std::process::ChildStdin>,
    output: Arc<(Mutex<Printed>, Condvar)>,
}

/// What a [`Server`] printed so far.
#[derive(Default)]
struct Printed {
    lines: Vec<String>,
    stderr: String,
    closed: bool,
}

impl Server {
    /// Starts `c`; panics naming `what` when it cannot run.
    pub fn start(c: &mut Command, what: &str) -> Server {
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {what} ({:?}): {e}", c.get_program()));
        let output = Arc::new((Mutex::new(Printed::default()), Condvar::new()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        {
            let output = Arc::clone(&output);
            thread::spawn(move || {
                let mut reader = BufReader::new(stdout);
                let mut line = String::new();
                while matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
                    lock(&output.0).lines.push(line.trim_end().to_string());
                    output.1.notify_all();
                    line.clear();
                }
                lock(&output.0).closed = true;
                output.1.notify_all();
            });
        }
        {
            let output = Arc::clone(&output);
            thread::spawn(move || {
                let mut reader = BufReader::new(stderr);
                let mut line = String::new();
                while matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
                    lock(&output.0).stderr.push_str(&line);
                    line.clear();
                }
            });
        }
        Server {
            stdin: child.stdin.take(),
            child,
            output,
        }
    }

    /// Every stdout line so far, oldest first.
    pub fn lines(&self) -> Vec<String> {
        lock(&self.output.0).lines.clone()
    }

    /// Its stderr so far.
    pub fn stderr(&self) -> String {
        lock(&self.output.0).stderr.clone()
    }

    /// The first stdout line after the first `skip` that satisfies `wanted`, waiting up
    /// to `within`; `None` when none came or stdout closed.
    pub fn wait_line_after(
        &self,
        skip: usize,
        within: Duration,
        wanted: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let deadline = Instant::now() + within;
        let (mutex, condvar) = &*self.output;
        let mut output = lock(mutex);
        loop {
            if let Some(found) = output.lines.iter().skip(skip).find(|l| wanted(l)) {
                return Some(found.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if output.closed || left.is_zero() {
                return None;
            }
            output = condvar
                .wait_timeout(output, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Kills it and returns how it ended and its whole stderr, for a message about a
    /// server that did not come up.
    pub fn kill(&mut self) -> (Option<std::process::ExitStatus>, String) {
        let _ = self.child.kill();
        let status = self.child.wait().ok();
        // Give the reader thread a moment to collect the last lines.
        thread::sleep(Duration::from_millis(100));
        (status, self.stderr())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Closing stdin alone ends the peers; kill to be certain, and reap it.
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
