//! The browser tests of `romm-oidc`: the login test in a real browser. The binary
//! opens the system's headless Chromium (Debian's `chromium`, driven by
//! playwright-core through `tests/browser/chromium.mjs`) with `--browser-command`,
//! exactly as a user's browser; Chromium follows the listener's redirect, signs in
//! at the provider (the Pocket ID emulator, panva's oidc-provider) and lands on the
//! listener's pages, whose rendered text is asserted and whose screenshots are kept
//! in `target/browser-artifacts/<case>/`.
//!
//! A test group of its own, apart from the fast stand-in tests of `tests/cli.rs`:
//! `cargo test --locked --test browser`. It needs Chromium and the locked driver
//! (`apt-get install chromium`, `npm ci --prefix tests/browser`; `.ci/run` installs
//! both) and fails, saying so, without them.

// The harness of tests/cli.rs, of which these cases use a part.
#[path = "../support/mod.rs"]
#[allow(dead_code, unused_imports)]
mod support;

mod chromium;
mod login;
mod wizard;
