//! Environment variables, arguments and paths that are not UTF-8 (a Latin-1
//! `PWD` is enough) never make any subcommand panic: a variable the tool
//! does not read is ignored, one it reads becomes a finding or an input error
//! that names it, and a non-UTF-8 path works like any other.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

use crate::support::prelude::*;
use pocket_id_emulator::Config;

/// "café" in Latin-1: not UTF-8.
fn latin1() -> OsString {
    OsString::from_vec(b"caf\xe9".to_vec())
}

fn os(bytes: &[u8]) -> OsString {
    OsString::from_vec(bytes.to_vec())
}

/// `head` then the settings of `args`.
fn argv(head: &[&str], args: &Args) -> Vec<OsString> {
    head.iter()
        .map(OsString::from)
        .chain(args.to_vec().into_iter().map(OsString::from))
        .collect()
}

/// Every subcommand, as (name, argv).
fn every_subcommand(sb: &Sandbox) -> Vec<(String, Vec<OsString>)> {
    let with = |head: &[&str]| argv(head, &Args::valid());
    let mut out = vec![
        ("doctor".into(), with(&["doctor", "--timeout", "2"])),
        (
            "doctor --json".into(),
            with(&["doctor", "--json", "--timeout", "2"]),
        ),
        (
            "wizard --yes".into(),
            with(&["wizard", "--yes", "--timeout", "2"]),
        ),
        (
            "emit-env --write".into(),
            with(&[
                "emit-env",
                "--write",
                &sb.path().join("out.env").to_string_lossy(),
            ]),
        ),
        (
            "generate".into(),
            vec![
                "generate".into(),
                "--out-dir".into(),
                sb.path().join("gen").into(),
            ],
        ),
        ("--help".into(), vec!["--help".into()]),
        (
            "doctor --help".into(),
            vec!["doctor".into(), "--help".into()],
        ),
        ("--version".into(), vec!["--version".into()]),
    ];
    for format in ["dotenv", "compose", "shell", "json"] {
        out.push((
            format!("emit-env --format {format}"),
            with(&["emit-env", "--format", format]),
        ));
    }
    out
}

fn run_os(sb: &Sandbox, argv: &[OsString], env: &[(OsString, OsString)]) -> Run {
    let mut c = sb.cmd();
    c.args(argv).envs(env.iter().map(|(k, v)| (k, v)));
    process::run(&mut c, RUN_LIMIT)
}

#[track_caller]
fn assert_no_panic(what: &str, r: &Run) {
    assert!(
        matches!(r.code, 0..=2),
        "{what}: exit {} (101 is a panic):\n{}",
        r.code,
        r.show()
    );
    assert!(!r.stderr.contains("panicked"), "{what}:\n{}", r.show());
}

/// Runs every subcommand with `env` and returns the runs by name.
fn run_all(env: &[(OsString, OsString)]) -> Vec<(String, Run)> {
    let sb = Sandbox::new();
    every_subcommand(&sb)
        .into_iter()
        .map(|(name, argv)| {
            let r = run_os(&sb, &argv, env);
            assert_no_panic(&format!("{name} with {env:?}"), &r);
            (name, r)
        })
        .collect()
}

#[test]
fn variables_the_tool_does_not_read_change_nothing() {
    let clean = run_all(&[]);
    let hostile = run_all(&[
        ("PWD".into(), latin1()),
        ("LANG".into(), latin1()),
        (os(b"X_\xff"), os(b"\xff\xfe")),
    ]);
    for ((name, a), (_, b)) in clean.iter().zip(&hostile) {
        assert_eq!(a.code, b.code, "{name}:\n{}\n---\n{}", a.show(), b.show());
        if name.starts_with("emit-env --format") || name.contains("help") {
            assert_eq!(a.stdout, b.stdout, "{name}");
        }
    }
}

#[test]
fn variables_the_tool_reads_never_panic() {
    for name in [
        "OIDC_CLIENT_SECRET",
        "OIDC_SERVER_APPLICATION_URL",
        "OIDC_ENABLED",
        "BROWSER",
        "NO_COLOR",
        "HOME",
        "TERM",
        "POCKET_ID_API_KEY",
    ] {
        run_all(&[(name.into(), latin1())]);
    }
    // A name that starts like RomM's but is not UTF-8.
    run_all(&[(os(b"OIDC_\xff"), "x".into())]);
}

#[test]
fn a_non_utf8_value_of_a_romm_variable_is_a_finding() {
    let sb = Sandbox::new();
    let env = [("OIDC_CLIENT_SECRET".into(), latin1())];
    let without_secret = Args::valid().unset("--client-secret");
    let doctor = argv(&["doctor", "--json", "--timeout", "2"], &without_secret);
    let r = run_os(&sb, &doctor, &env);
    assert_eq!(r.code, 1, "{}", r.show());
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    let text = expect_status(&report, "config.env-file", &["fail"]);
    assert!(
        text.contains("OIDC_CLIENT_SECRET") && text.contains("not UTF-8"),
        "{text}"
    );
    // emit-env refuses to write a block the check fails.
    let emit = argv(&["emit-env"], &without_secret);
    let r = run_os(&sb, &emit, &env);
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stderr.contains("OIDC_CLIENT_SECRET"), "{}", r.show());
    // The API key (not a RomM variable) is an input error that names it.
    let r = run_os(&sb, &emit, &[("POCKET_ID_API_KEY".into(), latin1())]);
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stderr.contains("POCKET_ID_API_KEY"), "{}", r.show());
}

#[test]
fn non_utf8_arguments_and_paths() {
    let sb = Sandbox::new();
    let env_file = sb.path().join(os(b"\xff.env"));
    std::fs::write(&env_file, "OIDC_PROVIDER=authelia\n").unwrap();
    let target = sb.path().join(os(b"\xfe.env"));
    let emit: Vec<OsString> = argv(&["emit-env"], &Args::valid())
        .into_iter()
        .chain([
            "--env-file".into(),
            env_file.clone().into(),
            "--write".into(),
            target.clone().into(),
        ])
        .collect();
    let r = run_os(&sb, &emit, &[]);
    assert_eq!(r.code, 0, "{}", r.show());
    let written = std::fs::read_to_string(&target).unwrap();
    assert!(written.contains("OIDC_PROVIDER='authelia'"), "{written}");
    // A missing non-UTF-8 file is an input error that shows the name.
    let r = run_os(
        &sb,
        &[
            "emit-env".into(),
            "--client-secret-file".into(),
            sb.path().join(os(b"missing-\xff")).into(),
        ],
        &[],
    );
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stderr.contains("missing-"), "{}", r.show());
    // Text flags that are not UTF-8: a usage error, not a panic.
    for flag in ["--client-secret", "--issuer", "--romm-url", "--email"] {
        let r = run_os(&sb, &["doctor".into(), flag.into(), latin1()], &[]);
        assert_eq!(r.code, 2, "{flag}: {}", r.show());
        assert_no_panic(flag, &r);
    }
    let gen_dir = sb.path().join(os(b"gen-\xff"));
    let r = run_os(
        &sb,
        &[
            "generate".into(),
            "--out-dir".into(),
            gen_dir.clone().into(),
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.show());
    assert!(Path::new(&gen_dir).join("man/romm-oidc.1").is_file());
}

#[test]
fn a_non_utf8_browser_variable_is_said_and_the_url_printed() {
    // The login test's own callback registered, so it goes on to open a browser.
    let mut config = Config::default();
    config.clients[0]
        .callback_urls
        .push("http://127.0.0.1/callback".into());
    let provider = emulator::pocket_id(config);
    let sb = Sandbox::new();
    let argv: Vec<OsString> = [
        "doctor",
        "--login",
        "--login-timeout",
        "1",
        "--timeout",
        "5",
        "--listen",
        "127.0.0.1:0",
        "--issuer",
        &provider.issuer(),
        "--client-id",
        pocket_id_emulator::DEFAULT_CLIENT_ID,
        "--client-secret",
        pocket_id_emulator::DEFAULT_CLIENT_SECRET,
        "--redirect-uri",
        pocket_id_emulator::DEFAULT_CALLBACK,
    ]
    .iter()
    .map(OsString::from)
    .collect();
    let mut c = sb.cmd();
    c.args(&argv)
        .env("BROWSER", latin1())
        .env("NO_PROXY", "127.0.0.1");
    let r = process::run(&mut c, RUN_LIMIT);
    assert_no_panic("doctor --login", &r);
    assert!(r.stderr.contains("$BROWSER is not UTF-8"), "{}", r.show());
    assert!(r.stderr.contains("http://127.0.0.1:"), "{}", r.show());
}
