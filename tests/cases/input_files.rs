//! The files the user names as input (`--env-file`, `--client-secret-file`,
//! `--pocket-id-api-key-file`, `--ca-file` / `OIDC_TLS_CACERTFILE`) must be
//! regular files of at most 1 MiB: a FIFO must not block the run, an endless
//! device must not eat memory, and each refusal names the file and why.
//! `--client-secret-file -` reads stdin, capped the same way.
//!
//! FIFOs and device nodes are made inside the test's temporary directory; a
//! symlink to /dev/zero or /dev/urandom is only ever read through, never
//! written.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::nodes::fifo;
use crate::support::prelude::*;

const SECRET: &str = "Xk93-pQ7z-Lm20-Wd55";

fn symlink_to(dir: &Path, name: &str, to: &str) -> PathBuf {
    let path = dir.join(name);
    std::os::unix::fs::symlink(to, &path).unwrap();
    path
}

/// Runs quickly (no blocking read, no endless one) and refuses with exit 2
/// and every word of `words` on stderr.
#[track_caller]
fn assert_refused(sb: &Sandbox, sub: &[&str], args: &Args, words: &[&str]) {
    let started = Instant::now();
    let r = run(sb, sub, args, &[]);
    let took = started.elapsed();
    assert_eq!(r.code, 2, "{sub:?} must refuse with exit 2:\n{}", r.show());
    assert!(
        took < Duration::from_secs(10),
        "took {took:?}:\n{}",
        r.show()
    );
    for w in words {
        assert!(r.stderr.contains(w), "stderr must say {w:?}:\n{}", r.show());
    }
    r.assert_hides(SECRET, "the secret");
}

/// Every kind of file that is not a regular one, for the flag `flag`.
fn assert_every_non_regular_file_refused(flag: &str, sub: &[&str]) {
    let sb = Sandbox::new();
    let base = Args::valid().unset("--client-secret");
    let base = if flag == "--client-secret-file" {
        base
    } else {
        base.set("--client-secret", SECRET)
    };
    let cases = [
        (fifo(sb.path(), "pipe"), "FIFO"),
        (
            symlink_to(sb.path(), "zero", "/dev/zero"),
            "character device",
        ),
        (
            symlink_to(sb.path(), "urandom", "/dev/urandom"),
            "character device",
        ),
        (sb.path().to_path_buf(), "directory"),
    ];
    for (path, what) in cases {
        let args = base.clone().set(flag, &path.to_string_lossy());
        assert_refused(&sb, sub, &args, &[what, &path.display().to_string()]);
    }
    let big = sb.file("big", vec![b'a'; 2 * 1024 * 1024]);
    let args = base.clone().set(flag, &big.to_string_lossy());
    assert_refused(&sb, sub, &args, &["larger than 1024 KiB"]);
}

#[test]
fn env_file_must_be_a_regular_file_under_1_mib() {
    assert_every_non_regular_file_refused("--env-file", &["emit-env"]);
    assert_every_non_regular_file_refused("--env-file", &["doctor", "--timeout", "2"]);
}

#[test]
fn client_secret_file_must_be_a_regular_file_under_1_mib() {
    assert_every_non_regular_file_refused("--client-secret-file", &["emit-env"]);
    assert_every_non_regular_file_refused("--client-secret-file", &["wizard", "--yes"]);
}

#[test]
fn api_key_file_must_be_a_regular_file_under_1_mib() {
    assert_every_non_regular_file_refused(
        "--pocket-id-api-key-file",
        &["doctor", "--timeout", "2"],
    );
}

#[test]
fn ca_file_must_be_a_regular_file_under_1_mib() {
    // The wizard sets up its HTTP client with the CA file: an input error.
    assert_every_non_regular_file_refused("--ca-file", &["wizard", "--yes"]);
    // The doctor judges it: tls.ca-file fails, whether from the flag or RomM's variable.
    let sb = Sandbox::new();
    let pipe = fifo(sb.path(), "ca.pem");
    let zero = symlink_to(sb.path(), "zero.pem", "/dev/zero");
    for (path, what) in [(&pipe, "FIFO"), (&zero, "character device")] {
        let shown = path.to_string_lossy();
        let started = Instant::now();
        let (report, r) = doctor_json(&sb, &Args::valid().set("--ca-file", &shown), &[]);
        assert!(started.elapsed() < Duration::from_secs(15), "{}", r.show());
        assert!(expect_status(&report, "tls.ca-file", &["fail"]).contains(what));
        let started = Instant::now();
        let (report, r) = doctor_json(
            &sb,
            &Args::valid(),
            &[("OIDC_ENABLED", "true"), ("OIDC_TLS_CACERTFILE", &shown)],
        );
        assert!(started.elapsed() < Duration::from_secs(15), "{}", r.show());
        assert!(expect_status(&report, "tls.ca-file", &["fail"]).contains(what));
    }
}

#[test]
fn client_secret_file_dash_reads_stdin() {
    let sb = Sandbox::new();
    let args = Args::valid()
        .unset("--client-secret")
        .set("--client-secret-file", "-");
    let mut c = sb.cmd();
    c.arg("emit-env").args(args.to_vec());
    let r = process::run_with_input(&mut c, format!("{SECRET}\n").as_bytes(), RUN_LIMIT);
    assert_eq!(r.code, 0, "{}", r.show());
    assert!(
        r.stdout.contains(&format!("OIDC_CLIENT_SECRET='{SECRET}'")),
        "{}",
        r.show()
    );
    // Endless stdin is capped like a file.
    let started = Instant::now();
    let mut c = sb.cmd();
    c.arg("emit-env").args(args.to_vec());
    let zeros = Input::From(std::fs::File::open("/dev/zero").unwrap().into());
    let r = Spawned::start(&mut c, zeros).finish(RUN_LIMIT);
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stderr.contains("stdin is larger than"), "{}", r.show());
    assert!(started.elapsed() < Duration::from_secs(10));
    // Both secrets from one stdin cannot be.
    let both = args.set("--pocket-id-api-key-file", "-");
    let mut c = sb.cmd();
    c.arg("emit-env").args(both.to_vec());
    let r = process::run_with_input(&mut c, b"x\n", RUN_LIMIT);
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stderr.contains("cannot both read stdin"), "{}", r.show());
}
