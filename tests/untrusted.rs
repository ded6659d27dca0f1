//! What a provider (or RomM) sends is untrusted: strings with terminal control
//! sequences, bidi overrides and invisible characters never reach the terminal
//! raw, while `--json` keeps them exactly; hostile key sets are judged as RomM's
//! authlib would use them; transport oddities (TLS to a plain-HTTP port,
//! compressed answers) are named. Every case runs the real binary against the
//! Pocket ID emulator or a raw socket on 127.0.0.1.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/peer.rs"]
mod peer;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use cli::{check, expect_status};
use pocket_id_emulator::{
    ApiKey, Client, Config, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Emulator, Faults,
    RawResponse, User, UserGroup,
};
use serde_json::{Value, json};

const TOKEN: &str = "/api/oidc/token";
const JSON: &str = "application/json; charset=utf-8";
const ROMM_CALLBACK: &str = "https://romm.example.com/api/oauth/openid";
const LOOPBACK_CALLBACK: &str = "http://127.0.0.1/callback";
const API_KEY: &str = "untrusted-test-admin-key-0123456789";

/// What a hostile provider puts in a string: a screen clear, an OSC 8 link, an
/// OSC 52 clipboard write, a carriage return that rewrites the line, a
/// right-to-left override, a zero-width space, a C1 CSI and DEL.
const HOSTILE: &str = "\u{1b}[2J\u{1b}]8;;https://evil.example/\u{7}click\u{1b}]8;;\u{7}\u{1b}]52;c;ZXZpbA==\u{7}\r\u{202e}gnp.exe\u{200b}\u{9b}31m\u{7f}";

/// A character that must never reach a terminal as it is (judged here
/// independently of the binary's own rule).
fn raw_control(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c,
            '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

#[track_caller]
fn assert_terminal_safe(what: &str, text: &str) {
    if let Some((at, c)) = text.char_indices().find(|(_, c)| raw_control(*c)) {
        let from = text[..at]
            .char_indices()
            .rev()
            .nth(60)
            .map_or(0, |(i, _)| i);
        panic!(
            "{what}: raw U+{:04X} at byte {at}, after: {:?}",
            u32::from(c),
            &text[from..at]
        );
    }
}

fn start(config: Config) -> Emulator {
    Emulator::start(config).expect("start the Pocket ID emulator")
}

/// `romm-oidc <args>` with a clean environment; proxies off for loopback.
fn run(args: &[&str]) -> (Output, Duration) {
    let home = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_romm-oidc"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("NO_COLOR", "1")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .current_dir(home.path())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run romm-oidc");
    (out, started.elapsed())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("output is UTF-8")
}

fn doctor_args(issuer: &str) -> Vec<String> {
    [
        "doctor",
        "--timeout",
        "5",
        "--issuer",
        issuer,
        "--client-id",
        DEFAULT_CLIENT_ID,
        "--client-secret",
        DEFAULT_CLIENT_SECRET,
        "--redirect-uri",
        ROMM_CALLBACK,
    ]
    .map(String::from)
    .to_vec()
}

// ====================================================================== terminal

/// Runs `doctor` twice, human (with `-vv` traces on stderr) and `--json`;
/// asserts nothing raw reaches the terminal either way and returns the JSON
/// report and the human stdout.
fn doctor_both_ways(args: &[String]) -> (Value, String) {
    let mut human: Vec<&str> = vec!["-vv"];
    human.extend(args.iter().map(String::as_str));
    let (out, _) = run(&human);
    let stdout = text(&out.stdout);
    assert_terminal_safe("human stdout", &stdout);
    assert_terminal_safe("-vv stderr", &text(&out.stderr));
    let mut machine: Vec<&str> = args.iter().map(String::as_str).collect();
    machine.push("--json");
    let (out, _) = run(&machine);
    let json_text = text(&out.stdout);
    assert_terminal_safe("--json stdout", &json_text);
    assert_terminal_safe("--json stderr", &text(&out.stderr));
    let report: Value = serde_json::from_str(&json_text)
        .unwrap_or_else(|e| panic!("--json is not JSON ({e}):\n{json_text}"));
    (report, stdout)
}

#[test]
fn hostile_issuer_is_invalid_escaped_on_the_terminal_and_exact_in_json() {
    // Port 9 refuses at once: the checks that call the issuer fail fast.
    let published = format!("http://127.0.0.1:9/{HOSTILE}");
    let emulator = start(Config {
        faults: Faults {
            wrong_issuer: Some(published.clone()),
            ..Faults::default()
        },
        ..Config::default()
    });
    let (report, human) = doctor_both_ways(&doctor_args(&emulator.issuer()));
    let issuer = check(&report, "discovery.issuer");
    assert_eq!(issuer["status"], "fail", "{issuer:#}");
    assert_eq!(
        issuer["found"],
        published.as_str(),
        "JSON keeps the issuer exactly"
    );
    let detail = issuer["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("12 of them from byte 19 on (U+001B, U+0007, U+000D, U+202E"),
        "{detail}"
    );
    assert!(detail.contains("U+202E"), "{detail}");
    assert!(
        human.contains(r"\x1b[2J\x1b]8;;https://evil.example/\x07click"),
        "the human report shows the escapes:\n{human}"
    );
    assert!(
        human.contains(r"\r\u{202e}gnp.exe\u{200b}\x9b31m\x7f"),
        "{human}"
    );
}

#[test]
fn hostile_names_and_errors_from_provider_and_admin_api_are_escaped() {
    let description = format!("bad client{HOSTILE}");
    let emulator = start(Config {
        clients: vec![Client {
            name: format!("RomM{HOSTILE}"),
            is_group_restricted: true,
            allowed_user_groups: vec![format!("admins{HOSTILE}")],
            ..Client::confidential(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, &[ROMM_CALLBACK])
        }],
        users: vec![User {
            username: format!("alice{HOSTILE}"),
            ..User::new("alice", Some("alice@example.com"))
        }],
        user_groups: vec![UserGroup::new(&format!("admins{HOSTILE}"))],
        api_keys: vec![ApiKey::new(API_KEY, &format!("alice{HOSTILE}"))],
        admins: vec![format!("alice{HOSTILE}")],
        session_user: None,
        faults: Faults {
            overrides: vec![(
                TOKEN.into(),
                RawResponse::new(
                    401,
                    JSON,
                    json!({"error": "invalid_client", "error_description": description})
                        .to_string(),
                ),
            )],
            ..Faults::default()
        },
        ..Config::default()
    });
    let mut args = doctor_args(&emulator.issuer());
    args.extend(
        [
            "--pocket-id-api-key",
            API_KEY,
            "--email",
            "alice@example.com",
        ]
        .map(String::from),
    );
    let (report, human) = doctor_both_ways(&args);
    let credentials = expect_status(&report, "client.credentials", &["fail"]);
    assert!(
        credentials.contains(&description),
        "JSON is exact: {credentials}"
    );
    let exists = expect_status(&report, "client.exists", &["pass"]);
    assert!(exists.contains(&format!("RomM{HOSTILE}")), "{exists}");
    let client = cli::text(check(&report, "pocketid.client"));
    assert!(client.contains(&format!("admins{HOSTILE}")), "{client}");
    assert!(human.contains(r"bad client\x1b[2J"), "{human}");
    assert!(human.contains(r"RomM\x1b[2J"), "{human}");
}

#[test]
fn hostile_claims_are_escaped_in_the_login_report_and_exact_in_json() {
    let emulator = start(Config {
        clients: vec![Client::confidential(
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_SECRET,
            &[ROMM_CALLBACK, LOOPBACK_CALLBACK],
        )],
        users: vec![User {
            first_name: format!("Alice{HOSTILE}"),
            groups: vec![format!("admins{HOSTILE}")],
            ..User::new("alice", Some("alice@example.com"))
        }],
        user_groups: vec![UserGroup::new(&format!("admins{HOSTILE}"))],
        session_user: Some("alice".into()),
        ..Config::default()
    });
    let browser = format!("--browser-command={}", peer::browser_driver());
    let mut args = doctor_args(&emulator.issuer());
    args.extend(
        [
            "--login",
            "--listen",
            "127.0.0.1:0",
            "--login-timeout",
            "20",
            "--claim-roles",
            "groups",
            &browser,
        ]
        .map(String::from),
    );
    let (report, human) = doctor_both_ways(&args);
    let token = check(&report, "login.id-token");
    assert_eq!(token["status"], "pass", "{token:#}");
    let claims = &token["data"]["claims"];
    assert_eq!(
        claims["given_name"],
        format!("Alice{HOSTILE}").as_str(),
        "{claims:#}"
    );
    assert_eq!(
        claims["groups"][0],
        format!("admins{HOSTILE}").as_str(),
        "{claims:#}"
    );
    // The human report shows the claims as JSON escapes.
    assert!(
        human.contains(r#""given_name": "Alice\u001b[2J"#),
        "{human}"
    );
    assert!(
        human.contains(r"\r\u202egnp.exe\u200b\u009b31m\u007f"),
        "{human}"
    );
}

#[test]
fn wizard_notes_escape_what_pocket_id_sends() {
    // --yes with an API key: the wizard reads the client and the user from
    // Pocket ID's admin API, marks the user verified and lists that write;
    // the user's name is hostile and must show escaped on stderr.
    let emulator = start(Config {
        clients: vec![Client {
            name: format!("RomM{HOSTILE}"),
            ..Client::confidential(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, &[ROMM_CALLBACK])
        }],
        users: vec![
            User {
                email_verified: false,
                ..User::new(&format!("alice{HOSTILE}"), Some("alice@example.com"))
            },
            User::new("admin", Some("admin@example.com")),
        ],
        api_keys: vec![ApiKey::new(API_KEY, "admin")],
        admins: vec!["admin".into()],
        session_user: None,
        ..Config::default()
    });
    let (out, _) = run(&[
        "wizard",
        "--yes",
        "--romm-url",
        "https://romm.example.com",
        "--issuer",
        &emulator.issuer(),
        "--client-id",
        DEFAULT_CLIENT_ID,
        "--client-secret",
        DEFAULT_CLIENT_SECRET,
        "--pocket-id-api-key",
        API_KEY,
        "--email",
        "alice@example.com",
        "--format",
        "dotenv",
        "--no-browser",
        "--listen=127.0.0.1:0",
        "--login-timeout=1",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_terminal_safe("wizard stderr", &stderr);
    assert!(
        stderr.contains(r"alice\x1b[2J\x1b]8;;https://evil.example/\x07click"),
        "{stderr}"
    );
}
