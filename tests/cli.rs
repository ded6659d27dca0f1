//! The integration tests of `romm-oidc`: one test binary, as xh and fd keep theirs.
//!
//! - `cases/` holds the tests, a module per subject (`cases/login.rs`, …). A new case
//!   goes into the module of its subject; a new subject is a new file there plus its
//!   `mod` line in `cases/mod.rs`. A case starts with `use crate::support::prelude::*;`.
//! - `support/` is the harness every case shares, each part once:
//!   - `prelude`: what most cases use, in one import: `Sandbox` (a
//!     temporary HOME and working directory per case) with its runs (`run`,
//!     `run_loopback`, `doctor_json`, `doctor_loopback`, `doctor_check`) and `Args`;
//!     the command builder `bin` with its `Env` additions (`plain`, `loopback`,
//!     `offline`, `xterm`); the bounded runner `process` (`Run`, `Spawned`, `Input`); the
//!     report's parts (`check`, `expect_status`, `has`, `text`, …); the emulators'
//!     starters (`emulator::pocket_id`, `emulator::romm`, `settings`); `serde_json`'s
//!     `Value` and `json!`; and the RomM settings the cases share (`ROMM_URL`,
//!     `ROMM_CALLBACK`, `LOOPBACK_CALLBACK`, `EMAIL`).
//!   - imported by name where a case needs them: `pty` (the binary in a
//!     pseudo-terminal), `peer` (panva's oidc-provider), `romm_double` (the RomM client
//!     double on RomM's Python libraries), `browser` (the browser stand-in), `wire` (raw
//!     loopback servers), `ports`, `nodes` (FIFOs and devices inside a sandbox), `http`,
//!     `everything` (one setup holding every secret), `compose_dotenv` (Compose's
//!     reading of an env file, for the round trips).
//! - The test PKI is the crate `tests/pki` (`test_pki`), shared with the TLS unit tests.
//!
//! Every run of the binary is bounded and happens in a sandbox; a test touches nothing
//! outside its temporary directory and leaves no process behind. Run one subject with
//! `cargo test --test cli login::`.

mod cases;
mod support;
