//! The integration tests of `romm-oidc`: one test binary, as xh and fd keep theirs.
//! `support` is the harness every case shares (the binary's command line, a sandbox,
//! the peers and doubles, a pseudo-terminal, the report's parts); `cases` holds the
//! tests, a module per subject. Run one subject with `cargo test --test cli login::`.

mod cases;
mod support;
