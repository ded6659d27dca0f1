//! `romm-oidc explain` and `doctor --romm-log` through the real binary: RomM's
//! log from a file, stdin or a FIFO, judged into `romm.log` findings; the
//! exit status; the bounds on reading; codes and states never shown.
//!
//! `tests/excerpts/romm.log` is a short log in RomM 5.2's format (written from
//! its formatter, not copied from a real log): two refused code exchanges, a
//! restart, an unverified email.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use crate::support::nodes;
use crate::support::prelude::*;
use crate::support::pty::{Escapes, Pty};

const EXCERPT: &str = include_str!("../excerpts/romm.log");
/// The codes and states of the excerpt's access lines.
const SECRETS: &[&str] = &[
    "Qm8vN2xLr4TzW9kPa1",
    "h3Jd8sLq0Vw2Xy7",
    "Zt5cW1nB8rKq2LmVx9",
    "p9Fs2Kd7Qa1Rb4M",
    "Vb2nK8sQ4wLr7TzJp0",
    "c5Gh1Lm9Xq3Wd8e",
];

/// `romm-oidc explain <args>`, with `stdin` (else /dev/null) on stdin.
fn explain(sb: &Sandbox, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut c = sb.cmd();
    c.arg("explain").args(args);
    match stdin {
        Some(input) => process::run_with_input(&mut c, input, RUN_LIMIT),
        None => process::run(&mut c, RUN_LIMIT),
    }
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("no JSON ({e}):\n{}", run.show()))
}

/// The `pattern` of each finding (its status when it has no data).
fn patterns(report: &Value) -> Vec<String> {
    checks(report)
        .iter()
        .map(|c| {
            assert_eq!(c["id"], "romm.log", "{c:#}");
            c["data"]["pattern"]
                .as_str()
                .unwrap_or_else(|| c["status"].as_str().unwrap())
                .to_string()
        })
        .collect()
}

#[track_caller]
fn assert_hides_secrets(run: &Run) {
    for secret in SECRETS {
        run.assert_hides(secret, secret);
    }
}

#[test]
fn explain_reads_a_file_and_exits_1_on_a_failure() {
    let sb = Sandbox::new();
    sb.file("romm.log", EXCERPT);
    let run = explain(&sb, &["romm.log"], None);
    assert_eq!(run.code, 1, "{}", run.show());
    assert!(run.stderr.is_empty(), "{}", run.show());
    assert!(
        run.stdout.starts_with("⚠ romm.log  The token endpoint refused RomM's client id or secret: 2 times, last 2026-12-05 20:21:07\n"),
        "{}",
        run.show()
    );
    assert!(
        run.stdout
            .contains("    fix: Copy OIDC_CLIENT_SECRET again"),
        "{}",
        run.show()
    );
    assert!(
        run.stdout
            .contains("\n✘ romm.log  The ID token's email is not verified"),
        "{}",
        run.show()
    );
    assert!(
        run.stdout
            .ends_with("0 passed, 1 warning, 1 failed, 0 skipped\n"),
        "{}",
        run.show()
    );
    assert_hides_secrets(&run);
}

#[test]
fn explain_json_gives_each_kind_with_its_count_and_last_time() {
    let sb = Sandbox::new();
    sb.file("romm.log", EXCERPT);
    let run = explain(&sb, &["--json", "romm.log"], None);
    assert_eq!(run.code, 1, "{}", run.show());
    let report = json(&run);
    assert_eq!(report["ok"], false);
    assert!(report.get("verdict").is_none(), "explain has no verdict");
    assert_eq!(
        patterns(&report),
        ["token.invalid-client", "romm.email-unverified"]
    );
    let token = &checks(&report)[0];
    // The unverified email came later: that login got past the token step.
    assert_eq!(token["status"], "warn");
    assert!(text(token).contains("A later login got past this step (2026-12-05 20:40:12)"));
    assert_eq!(checks(&report)[1]["status"], "fail");
    assert_eq!(
        token["data"],
        serde_json::json!({"pattern": "token.invalid-client", "stage": "token", "count": 2, "first": "2026-12-05 20:14:39", "last": "2026-12-05 20:21:07"})
    );
    assert!(text(token).contains("RomM restarted after the last one (2026-12-05 20:35:40)"));
    assert_eq!(checks(&report)[1]["data"]["count"], 1);
    assert_hides_secrets(&run);
}

#[test]
fn explain_reads_stdin_by_default_and_for_dash() {
    let sb = Sandbox::new();
    for args in [&[][..], &["-"], &["--json"]] {
        let run = explain(&sb, args, Some(EXCERPT.as_bytes()));
        assert_eq!(run.code, 1, "{args:?}: {}", run.show());
        assert!(
            run.stdout.contains("2 times in stdin"),
            "{args:?}: {}",
            run.show()
        );
        assert_hides_secrets(&run);
    }
}

#[test]
fn docker_stamps_colours_and_crlf_give_the_same_findings_with_dockers_times() {
    let sb = Sandbox::new();
    // RomM runs with TZ=Europe/Berlin: docker's UTC stamp is an hour behind
    // RomM's; a traceback's lines share the stamp of its header.
    let mut time = String::new();
    let stamped: String = EXCERPT
        .lines()
        .map(|l| {
            if let Some(at) = l.find("[2026-12-05 ") {
                time = format!("19{}", &l[at + 14..at + 20]);
            }
            let coloured = l.replacen("ERROR:", "\x1b[91mERROR\x1b[39m:", 1).replacen(
                "[RomM]",
                "\x1b[34m[RomM]\x1b[95m",
                1,
            );
            format!("2026-12-05T{time}.000000001Z {coloured}\r\n")
        })
        .collect();
    sb.file("stamped.log", &stamped);
    let run = explain(&sb, &["--json", "stamped.log"], None);
    let report = json(&run);
    assert_eq!(
        patterns(&report),
        ["token.invalid-client", "romm.email-unverified"],
        "{}",
        run.show()
    );
    assert_eq!(
        checks(&report)[0]["data"]["last"],
        "2026-12-05T19:21:07Z",
        "docker's stamp"
    );
    assert_eq!(checks(&report)[0]["data"]["count"], 2);
}

#[test]
fn a_log_without_failure_passes_and_says_what_was_read() {
    let sb = Sandbox::new();
    let clean = "INFO:\t  [RomM][server][2026-12-05 08:00:00] Started server process [7]\n\
                 INFO:\t  [RomM][base_handler][2026-12-05 08:01:13] User successfully authenticated: alice@example.com\n\
                 INFO:     [RomM][nginx][2026-12-05 08:01:13] 172.18.0.1 | - | GET /api/oauth/openid?code=Qm8vN2xLr4TzW9kPa1&state=h3Jd8sLq0Vw2Xy7 307 | 0 | Firefox Linux | 0.2\n";
    sb.file("clean.log", clean);
    let run = explain(&sb, &["clean.log"], None);
    assert_eq!(run.code, 0, "{}", run.show());
    assert_eq!(
        run.stdout,
        "✔ romm.log  No OIDC failure in clean.log (2026-12-05 08:00:00 to 2026-12-05 08:01:13; 1 successful login)\n\n1 passed, 0 warnings, 0 failed, 0 skipped\n"
    );
    assert_hides_secrets(&run);
}

#[test]
fn unreadable_input_is_exit_2_and_an_empty_one_a_warning() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path().join("logs")).unwrap();
    for (arg, says) in [
        ("missing.log", "cannot read missing.log"),
        ("logs", "logs is a directory"),
    ] {
        let run = explain(&sb, &[arg], None);
        assert_eq!(run.code, 2, "{}", run.show());
        assert!(
            run.stdout.is_empty() && run.stderr.contains(says),
            "{}",
            run.show()
        );
    }
    // stdin /dev/null: read to its end at once.
    let run = explain(&sb, &[], None);
    assert!(run.elapsed < Duration::from_secs(10), "{}", run.show());
    assert_eq!(run.code, 0, "{}", run.show());
    assert!(
        run.stdout
            .starts_with("⚠ romm.log  stdin holds no line of RomM's log"),
        "{}",
        run.show()
    );
}

/// `romm-oidc <args>` with stdin a pipe this case holds open, after `input`.
fn held_open(sb: &Sandbox, args: &[&str], input: &[u8]) -> Run {
    let (reader, mut writer) = std::io::pipe().unwrap();
    writer.write_all(input).unwrap();
    let mut c = sb.cmd();
    c.args(args);
    let run = Spawned::start(&mut c, Input::From(Stdio::from(reader))).finish(RUN_LIMIT);
    drop(writer);
    run
}

#[test]
fn stdin_held_open_ends_after_timeout_with_what_came() {
    let sb = Sandbox::new();
    let run = held_open(&sb, &["explain", "--timeout", "1"], EXCERPT.as_bytes());
    assert!(run.elapsed < Duration::from_secs(10), "{}", run.show());
    assert_eq!(run.code, 1, "{}", run.show());
    assert!(
        run.stdout.contains(
            "stdin stayed open without sending anything for 1 s; what came until then was read."
        ),
        "{}",
        run.show()
    );
}

#[test]
fn a_terminal_on_stdin_is_refused() {
    let sb = Sandbox::new();
    let mut c = sb.cmd();
    c.arg("explain");
    let mut pty = Pty::spawn(c, Duration::from_secs(20), Escapes::Stripped);
    pty.expect("stdin is a terminal: give RomM's log as a file, or pipe it in");
    assert_eq!(pty.finish(), 2, "{}", pty.transcript());
}

#[test]
fn a_fifo_is_read_until_its_writer_closes() {
    let sb = Sandbox::new();
    let fifo = nodes::fifo(sb.path(), "logs.fifo");
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
            f.write_all(EXCERPT.as_bytes()).unwrap();
        })
    };
    let run = explain(&sb, &["--json", "logs.fifo"], None);
    writer.join().unwrap();
    assert_eq!(run.code, 1, "{}", run.show());
    assert_eq!(
        patterns(&json(&run)),
        ["token.invalid-client", "romm.email-unverified"]
    );
}

#[test]
fn doctor_adds_romm_log_and_its_failures_fail_the_verdict() {
    let sb = Sandbox::new();
    sb.file("romm.log", EXCERPT);
    let args = Args::valid().set("--romm-log", "romm.log");
    let (report, run) = doctor_json(&sb, &args, &[]);
    assert_eq!(run.code, 1, "{}", run.show());
    let logged: Vec<&Value> = checks(&report)
        .iter()
        .filter(|c| c["id"] == "romm.log")
        .collect();
    assert_eq!(logged.len(), 2, "{report:#}");
    assert_eq!(logged[0]["data"]["count"], 2);
    assert_eq!(logged[1]["data"]["last"], "2026-12-05 20:40:12");
    let open = report["verdict"]["open"].as_array().unwrap();
    assert!(
        open.iter()
            .any(|o| o["what"] == "RomM's own log shows no failed login" && o["status"] == "fail"),
        "{report:#}"
    );
    assert_hides_secrets(&run);
    let stdin = run_with_stdin(
        &sb,
        &["doctor", "--json", "--timeout", "2", "--romm-log", "-"],
        &Args::valid(),
        EXCERPT,
    );
    assert_eq!(
        json(&stdin)["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["id"] == "romm.log")
            .count(),
        2
    );
}

fn run_with_stdin(sb: &Sandbox, sub: &[&str], args: &Args, input: &str) -> Run {
    let mut c = sb.cmd();
    c.args(sub).args(args.to_vec());
    process::run_with_input(&mut c, input.as_bytes(), RUN_LIMIT)
}

#[test]
fn doctor_refuses_two_readers_of_stdin_and_an_unreadable_log() {
    let sb = Sandbox::new();
    let args = Args::valid()
        .unset("--client-secret")
        .set("--romm-log", "-")
        .set("--client-secret-file", "-");
    let both = run_with_stdin(&sb, &["doctor"], &args, "secret\n");
    assert_eq!(both.code, 2, "{}", both.show());
    assert!(
        both.stderr
            .contains("--romm-log - and --client-secret-file - cannot all read stdin"),
        "{}",
        both.show()
    );
    let missing = run(
        &sb,
        &["doctor"],
        &Args::valid().set("--romm-log", "none.log"),
        &[],
    );
    assert_eq!(missing.code, 2, "{}", missing.show());
    assert!(
        missing
            .stderr
            .contains("cannot use --romm-log: cannot read none.log"),
        "{}",
        missing.show()
    );
}
