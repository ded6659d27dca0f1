//! Ctrl-C: one handler, installed once, with one of two policies.
//!
//! - [`Policy::Finish`] (`doctor --login`): Ctrl-C is noted; the login wait
//!   polls [`flag`] and ends, every other step ends within its timeout, the
//!   report of what ran is printed and the status is 130.
//! - [`Policy::Quit`] (the wizard): Ctrl-C quits at once with the policy's
//!   note, since nothing is written before the end; only inside [`wait`] (the
//!   wizard's login test) does it end the wait instead of the run.
//!
//! Without a handler (`emit-env`, `doctor` without `--login`, the demo),
//! Ctrl-C ends the process as the signal does by default.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::exit::Exit;

#[derive(Clone, Copy, Debug)]
pub enum Policy {
    /// Note it; the run ends its bounded work, reports it, and exits 130.
    Finish,
    /// Quit at once with this note on stderr, exit 130.
    Quit(&'static str),
}

static POLICY: OnceLock<Policy> = OnceLock::new();
/// Set by Ctrl-C when it is noted rather than acted on.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Set while a [`wait`] runs.
static WAITING: AtomicBool = AtomicBool::new(false);

/// Installs the one handler with `policy`; later calls change nothing.
pub fn install(policy: Policy) {
    if POLICY.set(policy).is_ok() {
        let _ = ctrlc::set_handler(move || {
            if quits(policy, WAITING.load(Ordering::SeqCst)) {
                quit()
            } else {
                INTERRUPTED.store(true, Ordering::SeqCst)
            }
        });
    }
}

/// Whether Ctrl-C ends the run at once (else it is noted for a wait or the
/// report): only under [`Policy::Quit`], outside a [`wait`].
fn quits(policy: Policy, waiting: bool) -> bool {
    matches!(policy, Policy::Quit(_)) && !waiting
}

/// The flag a wait polls to end early on Ctrl-C.
pub fn flag() -> &'static AtomicBool {
    &INTERRUPTED
}

/// Whether a Ctrl-C was noted (and the run goes on to report it).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Runs `f` with Ctrl-C ending it rather than the run (under
/// [`Policy::Quit`]); `f` gets the flag, cleared first, to poll.
pub fn wait<R>(f: impl FnOnce(&AtomicBool) -> R) -> R {
    INTERRUPTED.store(false, Ordering::SeqCst);
    WAITING.store(true, Ordering::SeqCst);
    let result = f(&INTERRUPTED);
    WAITING.store(false, Ordering::SeqCst);
    result
}

/// Quits as Ctrl-C does under [`Policy::Quit`]: the cursor restored, the
/// note, exit 130. The handler and a prompt that read Ctrl-C as a key race
/// to get here; the first reports it and the other waits for the exit.
pub fn quit() -> ! {
    static ONCE: Mutex<()> = Mutex::new(());
    let _only_one = ONCE.lock();
    let _ = console::Term::stderr().show_cursor();
    if let Some(Policy::Quit(note)) = POLICY.get() {
        eprintln!("\n{note}");
    }
    Exit::Interrupted.exit()
}

#[cfg(test)]
mod tests {
    use super::{Policy, quits};

    #[test]
    fn ctrl_c_quits_only_under_quit_and_outside_a_wait() {
        assert!(quits(Policy::Quit("bye"), false));
        assert!(!quits(Policy::Quit("bye"), true));
        assert!(!quits(Policy::Finish, false));
        assert!(!quits(Policy::Finish, true));
    }
}
