//! Progress on stderr, for a person at a terminal: a first line as soon as
//! the network work starts, so a slow provider does not look like a hung
//! tool, and a spinner with the time left while the login test waits for the
//! browser. Nothing at all when stderr is not a terminal (a log, a pipe, a
//! CI job) or `TERM=dumb`: those stay exactly as they were. Never on stdout.
//! A check that talks to the person while it runs (the login test) does so
//! through a [`Sink`], so that it prints nothing itself.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// The spinner showing now, if any: every note on stderr is written with it
/// hidden ([`suspend`]), so no line is drawn over.
static SHOWING: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Whether progress is shown: stderr is a terminal that can redraw a line.
pub fn enabled() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}

/// A progress line that stays (on a terminal only).
pub fn line(text: &str) {
    if enabled() {
        crate::report::note!("{text}");
    }
}

/// Runs `write` (a note on stderr) with the spinner, if one shows, taken
/// off the screen and drawn again after.
pub fn suspend<R>(write: impl FnOnce() -> R) -> R {
    let showing = SHOWING.lock().unwrap_or_else(|p| p.into_inner());
    match showing.as_ref() {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// Where a running check tells the person what it does.
pub trait Sink {
    /// A note (on stderr).
    fn note(&self, text: &str);
    /// A wait for the person begins; it ends at `deadline` at the latest.
    fn waiting(&self, what: &str, deadline: Instant);
    /// The wait is over (nothing happens when none began).
    fn waited(&self);
}

/// Stderr: notes cleaned of unsafe characters, a wait shown as a spinner
/// with the time left (on a terminal only), cleared when it is over.
#[derive(Default)]
pub struct Stderr {
    spinner: RefCell<Option<Spinner>>,
}

impl Sink for Stderr {
    fn note(&self, text: &str) {
        crate::report::note!("{text}");
    }

    fn waiting(&self, what: &str, deadline: Instant) {
        // One spinner at a time: the last one is cleared before the next shows.
        self.waited();
        self.spinner.replace(spinner(what, deadline));
    }

    fn waited(&self) {
        drop(self.spinner.take());
    }
}

/// A spinner on stderr until dropped; dropping it clears its line.
struct Spinner(());

impl Drop for Spinner {
    fn drop(&mut self) {
        let taken = SHOWING.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(bar) = taken {
            bar.finish_and_clear();
        }
    }
}

/// `5:03` or `42 s`.
fn left_text(left: Duration) -> String {
    let secs = left.as_secs();
    if secs >= 60 {
        format!("{}:{:02}", secs / 60, secs % 60)
    } else {
        format!("{secs} s")
    }
}

/// Shows `what` with a spinner and the time left until `deadline` (on a
/// terminal only; `None` otherwise).
fn spinner(what: &str, deadline: Instant) -> Option<Spinner> {
    if !enabled() {
        return None;
    }
    let left = move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
        let _ = w.write_str(&left_text(
            deadline.saturating_duration_since(Instant::now()),
        ));
    };
    let style = ProgressStyle::with_template("{spinner} {msg} {left} left (Ctrl-C ends it)")
        .ok()?
        .with_key("left", left);
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(style);
    bar.set_message(crate::redact::shown(&crate::report::clean(what)).into_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    *SHOWING.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar);
    Some(Spinner(()))
}

#[cfg(test)]
mod tests {
    use super::left_text;
    use std::time::Duration;

    #[test]
    fn time_left_reads_as_minutes_and_seconds() {
        assert_eq!(left_text(Duration::from_millis(42_900)), "42 s");
        assert_eq!(left_text(Duration::from_secs(303)), "5:03");
        assert_eq!(left_text(Duration::ZERO), "0 s");
    }
}
