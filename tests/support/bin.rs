//! The binary under test and its command line: the one builder every case starts from.
//! Its environment holds nothing of this process's but `PATH`, plus what a case asks
//! for, so no setting of the developer's (a stray `OIDC_*`, a proxy, a `.env` in the
//! working directory) reaches a run.

use std::path::Path;
use std::process::Command;

use super::process;

/// The `romm-oidc` binary cargo built for these tests.
pub fn path() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_romm-oidc"))
}

/// `romm-oidc` in a clean environment with `HOME` and the working directory in `home`.
pub fn command(home: &Path) -> Command {
    let mut c = Command::new(path());
    in_home(&mut c, home);
    c
}

/// Gives `c` (the binary, or a wrapper that runs it) the clean environment of
/// [`command`].
pub fn in_home<'c>(c: &'c mut Command, home: &Path) -> &'c mut Command {
    process::clean(c).env("HOME", home).current_dir(home)
}

/// `program` under `unshare`, in a mount namespace of its own with
/// `dir/etc/hosts` and `dir/etc/resolv.conf` mounted over the system's (as
/// root): it finds names as those two files say, and nothing outside `dir`
/// changes. Arguments added to the command go to `program`.
pub fn with_name_files(dir: &Path, program: &Path) -> Command {
    let mut c = Command::new("unshare");
    c.args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount --bind "$1/etc/hosts" /etc/hosts && mount --bind "$1/etc/resolv.conf" /etc/resolv.conf && shift && exec "$@""#)
        .arg("sh")
        .arg(dir)
        .arg(program);
    c
}

/// What a case adds to a clean environment.
pub trait Env {
    /// No colours (`NO_COLOR=1`).
    fn plain(&mut self) -> &mut Self;
    /// Loopback never through a proxy: the peers and doubles run there.
    fn loopback(&mut self) -> &mut Self;
    /// Every request through a proxy that refuses connections, so a network check
    /// not under test fails at once, without DNS.
    fn offline(&mut self) -> &mut Self;
    /// A terminal that can colour (`TERM=xterm`).
    fn xterm(&mut self) -> &mut Self;
}

impl Env for Command {
    fn plain(&mut self) -> &mut Self {
        self.env("NO_COLOR", "1")
    }
    fn loopback(&mut self) -> &mut Self {
        self.env("NO_PROXY", "127.0.0.1,localhost")
    }
    fn offline(&mut self) -> &mut Self {
        self.env("HTTP_PROXY", "http://127.0.0.1:9")
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .env("ALL_PROXY", "http://127.0.0.1:9")
    }
    fn xterm(&mut self) -> &mut Self {
        self.env("TERM", "xterm")
    }
}
