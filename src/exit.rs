//! The exit status, decided here and nowhere else (fd's `exit_codes.rs`):
//! 0 no check failed, 1 a check failed, 2 a usage or input error, 130
//! interrupted. clap ends a run with 2 itself for a bad flag, before any of
//! this runs, with its own message and usage hint.

use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// No check failed (warnings allowed).
    Ok,
    /// A check failed.
    CheckFailed,
    /// A usage or input error: nothing was checked, or the product refused.
    Usage,
    /// Ctrl-C: whatever ran was reported, but the run was cut short.
    Interrupted,
}

impl Exit {
    /// The status of a run whose checks passed (`ok`) or not; a Ctrl-C
    /// noted on the way (`interrupt::interrupted`) says the run was cut
    /// short, over both.
    pub fn checked(ok: bool, interrupted: bool) -> Exit {
        if interrupted {
            Exit::Interrupted
        } else if ok {
            Exit::Ok
        } else {
            Exit::CheckFailed
        }
    }

    /// A command's end: its own status, or an error that stopped it, which is
    /// always a usage or input error, shown in the one shape of exit 2.
    pub fn of(outcome: anyhow::Result<Exit>) -> Exit {
        outcome.unwrap_or_else(|e| {
            crate::report::note!("romm-oidc: error: {e:#}");
            Exit::Usage
        })
    }

    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::CheckFailed => 1,
            Exit::Usage => 2,
            Exit::Interrupted => 130,
        }
    }

    /// Ends the process now, from wherever it is (a signal handler, a prompt).
    pub fn exit(self) -> ! {
        std::process::exit(self.code().into())
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::Exit;

    #[test]
    fn checks_decide_between_0_and_1_and_ctrl_c_over_both() {
        assert_eq!(Exit::of(Ok(Exit::CheckFailed)), Exit::CheckFailed);
        assert_eq!(Exit::checked(true, false), Exit::Ok);
        assert_eq!(Exit::checked(false, false), Exit::CheckFailed);
        assert_eq!(Exit::checked(false, true), Exit::Interrupted);
        let codes: Vec<u8> = [Exit::Ok, Exit::CheckFailed, Exit::Usage, Exit::Interrupted]
            .into_iter()
            .map(Exit::code)
            .collect();
        assert_eq!(codes, [0, 1, 2, 130]);
    }
}
