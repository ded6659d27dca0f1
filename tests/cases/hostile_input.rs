//! Panics and hangs found by searching the code for input-reachable
//! arithmetic, recursion and deadlines, each through the real binary: the
//! run ends in time with an exit status of 0, 1 or 2, never a panic (101) or
//! a signal (a stack overflow aborts).

use std::time::{Duration, Instant};

use crate::support::prelude::*;
use pocket_id_emulator::{Client, Config, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};

const KEY: &str = "pidKey-hostile-input-0123456789";

#[track_caller]
fn assert_clean_exit(r: &Run, codes: &[i32]) {
    assert!(
        codes.contains(&r.code),
        "exit {} (101 is a panic, -1 a signal):\n{}",
        r.code,
        r.show()
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.show());
    assert!(!r.stderr.contains("overflow"), "{}", r.show());
}

/// `--login-timeout` that no clock can add: refused as a usage error, not a
/// panic when the deadline is computed.
#[test]
fn an_enormous_login_timeout_is_refused() {
    let provider = emulator::pocket_id(Config::default());
    let sb = Sandbox::new();
    let args = Args::new()
        .set("--issuer", &provider.issuer())
        .set("--client-id", DEFAULT_CLIENT_ID)
        .set("--client-secret", DEFAULT_CLIENT_SECRET)
        .set("--romm-url", "https://romm.example.com")
        .set("--listen", "127.0.0.1:0")
        .flag("--no-browser")
        .flag("--login")
        .set("--login-timeout", &u64::MAX.to_string());
    let r = run(
        &sb,
        &["doctor", "--timeout", "5"],
        &args,
        &[("NO_PROXY", "127.0.0.1")],
    );
    assert_clean_exit(&r, &[2]);
    assert!(r.stderr.contains("--login-timeout"), "{}", r.show());
}

/// A client whose registered callback URLs are hostile glob patterns: many
/// `*` (exponential for a backtracking matcher) and hundreds of thousands
/// of them (a stack overflow for a recursive one).
#[test]
fn hostile_callback_patterns_are_judged_in_time() {
    let redirect = format!("https://romm.example.com/{}", "a".repeat(60));
    let patterns = [
        format!("https://romm.example.com/{}b", "**a".repeat(40)),
        format!("https://romm.example.com/{}b", "*a".repeat(40)),
        format!("https://romm.example.com/{}x", "*".repeat(300_000)),
    ];
    for pattern in patterns {
        let mut config = Config::default().with_admin_api_key(KEY);
        config.clients = vec![Client {
            name: "RomM".into(),
            ..Client::confidential(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, &[&pattern])
        }];
        let provider = emulator::pocket_id(config);
        let sb = Sandbox::new();
        let args = Args::new()
            .set("--issuer", &provider.issuer())
            .set("--client-id", DEFAULT_CLIENT_ID)
            .set("--client-secret", DEFAULT_CLIENT_SECRET)
            .set("--redirect-uri", &redirect)
            .set("--pocket-id-api-key", KEY);
        let started = Instant::now();
        let (report, r) = doctor_json(&sb, &args, &[("NO_PROXY", "127.0.0.1")]);
        let took = started.elapsed();
        assert_clean_exit(&r, &[0, 1]);
        assert!(took < Duration::from_secs(20), "took {took:?}");
        let callbacks = check(&report, "pocketid.callbacks");
        assert_eq!(callbacks["status"], "fail", "{callbacks:#}");
    }
}

/// Runs the binary with stderr a pipe whose reader is already gone, as in
/// `romm-oidc doctor -v 2>&1 | head -1` once head has exited.
fn with_stderr_closed(sb: &Sandbox, argv: &[String]) -> Run {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let mut c = sb.cmd();
    c.args(argv).stderr(writer);
    Spawned::start_keeping_stderr(&mut c, Input::Null).finish(RUN_LIMIT)
}

/// A note that cannot be written is dropped: the run keeps its exit status
/// (std's eprintln! panicked on the broken pipe: exit 101).
#[test]
fn a_closed_stderr_pipe_changes_no_exit_status() {
    let sb = Sandbox::new();
    let args = Args::valid().set("--issuer", "http://127.0.0.1:9").to_vec();
    let argv = |head: &[&str]| -> Vec<String> {
        head.iter()
            .map(|s| s.to_string())
            .chain(args.clone())
            .collect()
    };
    let r = with_stderr_closed(&sb, &argv(&["doctor", "-vv", "--timeout", "2"]));
    assert_clean_exit(&r, &[1]);
    assert!(r.stdout.contains("config.issuer-url"), "{}", r.show());
    let target = sb.path().join("romm.env");
    let r = with_stderr_closed(
        &sb,
        &argv(&["emit-env", "--write", &target.to_string_lossy()]),
    );
    assert_clean_exit(&r, &[0]);
    assert!(
        std::fs::read_to_string(&target)
            .unwrap()
            .contains("OIDC_CLIENT_ID")
    );
    let r = with_stderr_closed(&sb, &argv(&["emit-env", "--client-secret", "a\nb"]));
    assert_clean_exit(&r, &[2]);
}
