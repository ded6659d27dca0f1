//! The repository's own peers, in this process on 127.0.0.1: the Pocket ID emulator
//! and the RomM emulator (`pocket_id_emulator`).

use pocket_id_emulator::{
    Config, DEFAULT_CALLBACK, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Emulator, RommConfig,
    RommEmulator,
};

use super::sandbox::Args;

/// A Pocket ID emulator with `config`.
pub fn pocket_id(config: Config) -> Emulator {
    Emulator::start(config).expect("start the Pocket ID emulator")
}

/// A RomM emulator with `config`.
pub fn romm(config: RommConfig) -> RommEmulator {
    RommEmulator::start(config).expect("start the RomM emulator")
}

/// The doctor's settings for the emulator's default client: its issuer, client id,
/// secret and RomM's callback.
pub fn settings(e: &Emulator) -> Args {
    Args::new()
        .set("--issuer", &e.issuer())
        .set("--client-id", DEFAULT_CLIENT_ID)
        .set("--client-secret", DEFAULT_CLIENT_SECRET)
        .set("--redirect-uri", DEFAULT_CALLBACK)
}
