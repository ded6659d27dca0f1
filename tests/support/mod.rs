//! The harness the cases share: the binary's one command builder ([`bin`]) and
//! runner ([`process`]), a sandbox per case, the report's parts, a pseudo-terminal,
//! and the peers: the Pocket ID and RomM emulators, panva's oidc-provider, the RomM
//! client double on RomM's own Python libraries, the browser stand-in, raw sockets.

pub mod bin;
pub mod browser;
pub mod compose_dotenv;
pub mod emulator;
pub mod everything;
pub mod http;
pub mod nodes;
pub mod peer;
pub mod ports;
pub mod prelude;
pub mod process;
pub mod pty;
pub mod report;
pub mod romm_double;
pub mod sandbox;
pub mod wire;

use std::sync::{Mutex, MutexGuard};

/// Locks `m`; a panic in another test that held it does not matter here.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
