//! What most cases start from, in one `use crate::support::prelude::*;`: the sandbox
//! and its runs, the command builder, the bounded runner, the report's parts, the
//! emulators' starters, JSON, and the RomM settings the cases share. A case imports
//! anything else (the pty driver, the peers, raw sockets) from its `support` module.

pub use serde_json::{Value, json};

pub use super::bin::{self, Env};
pub use super::emulator::{self, settings};
pub use super::process::{self, Input, Run, Spawned};
pub use super::report::{check, checks, expect_status, has, status, text};
pub use super::sandbox::{
    self, Args, RUN_LIMIT, Sandbox, doctor_check, doctor_json, doctor_loopback, run, run_loopback,
};

/// RomM's public URL.
pub const ROMM_URL: &str = "https://romm.example.com";
/// RomM's callback at [`ROMM_URL`] (the emulator's default client registers it).
pub const ROMM_CALLBACK: &str = "https://romm.example.com/api/oauth/openid";
/// The portless loopback callback Pocket ID 2.0+ matches on any port.
pub const LOOPBACK_CALLBACK: &str = "http://127.0.0.1/callback";
/// The email of the emulator's default user, alice.
pub const EMAIL: &str = "alice@example.com";
