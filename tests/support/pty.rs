//! The binary in a pseudo-terminal (rexpect), driven the way a person types: every
//! byte it prints is kept for the assertions' messages, and each expectation reads on
//! from where the one before it matched.

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use rexpect::process::WaitStatus;
use rexpect::session::{Options, PtySession};

/// What happens to the escape sequences the program prints.
#[derive(Clone, Copy)]
pub enum Escapes {
    /// Kept, byte for byte (colours, the spinner's line clearing).
    Kept,
    /// Removed as they are read: the text as a person reads it.
    Stripped,
}

/// A program in a pseudo-terminal.
pub struct Pty {
    session: PtySession,
    /// Every byte read so far (stdout and stderr share the terminal).
    raw: Vec<u8>,
    /// How much of `raw` the expectations have consumed.
    pos: usize,
    /// How long one expectation, and the end, may take.
    step: Duration,
    started: Instant,
}

impl Pty {
    /// Starts `c` in a new pseudo-terminal; each expectation waits up to `step`.
    pub fn spawn(c: Command, step: Duration, escapes: Escapes) -> Pty {
        let options = Options::new()
            .timeout_ms(Some(step.as_millis() as u64))
            .strip_ansi_escape_codes(matches!(escapes, Escapes::Stripped));
        let started = Instant::now();
        let session = rexpect::spawn_with_options(c, options).expect("spawn in a pty");
        Pty {
            session,
            raw: Vec::new(),
            pos: 0,
            step,
            started,
        }
    }

    /// Everything printed so far.
    pub fn transcript(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    /// Everything printed after the last expectation's match.
    pub fn unread(&mut self) -> String {
        self.pump();
        String::from_utf8_lossy(&self.raw[self.pos..]).into_owned()
    }

    /// Since the start.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The reader hands over bytes as `char`s (Latin-1); turn them back into bytes.
    fn pump(&mut self) {
        while let Some(c) = self.session.try_read() {
            self.raw.push(c as u32 as u8);
        }
    }

    /// Waits up to `limit` for `needle` after what earlier expectations consumed, and
    /// returns the text up to and including it.
    #[track_caller]
    pub fn expect_within(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            self.pump();
            let hay = &self.raw[self.pos..];
            if let Some(i) = hay
                .windows(needle.len())
                .position(|w| w == needle.as_bytes())
            {
                let end = self.pos + i + needle.len();
                let seen = String::from_utf8_lossy(&self.raw[self.pos..end]).into_owned();
                self.pos = end;
                return seen;
            }
            if Instant::now() > deadline {
                panic!(
                    "{needle:?} was not printed within {limit:?}.\n--- not yet matched ---\n{}\n--- whole transcript ---\n{}",
                    String::from_utf8_lossy(&self.raw[self.pos..]),
                    self.transcript()
                );
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// [`Pty::expect_within`] one step.
    #[track_caller]
    pub fn expect(&mut self, needle: &str) -> String {
        self.expect_within(needle, self.step)
    }

    /// Forgets what was printed so far: later expectations see only newer output.
    pub fn skip_seen(&mut self) {
        self.pump();
        self.pos = self.raw.len();
    }

    pub fn send(&mut self, text: &str) {
        self.session.send(text).expect("write to the pty");
        self.session.flush().expect("flush the pty");
    }

    /// Types `text` and Enter (a terminal sends CR).
    pub fn line(&mut self, text: &str) {
        self.send(&format!("{text}\r"));
    }

    /// Waits for an input prompt, then answers it.
    #[track_caller]
    pub fn answer(&mut self, prompt: &str, text: &str) {
        self.expect(prompt);
        self.line(text);
    }

    /// Waits for a yes/no prompt, then presses `y` or `n` (no Enter: the key decides).
    #[track_caller]
    pub fn confirm(&mut self, prompt: &str, yes: bool) {
        self.expect(prompt);
        self.send(if yes { "y" } else { "n" });
    }

    /// Answers a hidden prompt. It switches echo off with TCSAFLUSH, which drops input
    /// that arrived before it: give it a moment after it is drawn.
    #[track_caller]
    pub fn hidden(&mut self, prompt: &str, text: &str) {
        self.expect(prompt);
        thread::sleep(Duration::from_millis(500));
        self.line(text);
    }

    /// Reads to the end and returns the exit status (128 + n for a signal).
    #[track_caller]
    pub fn finish(&mut self) -> i32 {
        self.pump();
        match self.session.exp_eof() {
            Ok(rest) => self.raw.extend(rest.chars().map(|c| c as u32 as u8)),
            Err(e) => panic!(
                "the program did not end: {e}\n--- transcript ---\n{}",
                self.transcript()
            ),
        }
        match self.session.process().wait() {
            Ok(WaitStatus::Exited(_, code)) => code,
            Ok(WaitStatus::Signaled(_, sig, _)) => 128 + sig as i32,
            other => panic!(
                "unexpected wait status {other:?}\n--- transcript ---\n{}",
                self.transcript()
            ),
        }
    }

    /// Ends the program (SIGTERM, then SIGKILL).
    pub fn stop(&mut self) {
        self.session.process_mut().exit().expect("stop the program");
    }
}
