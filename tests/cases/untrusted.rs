//! What a provider (or RomM) sends is untrusted: strings with terminal control
//! sequences, bidi overrides and invisible characters never reach the terminal
//! raw, while `--json` keeps them exactly; hostile key sets are judged as RomM's
//! authlib would use them; transport oddities (TLS to a plain-HTTP port,
//! compressed answers) are named. Every case runs the real binary against the
//! Pocket ID emulator or a raw socket on 127.0.0.1.

use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use pocket_id_emulator::{
    ApiKey, Client, Config, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Faults, RawResponse, User,
    UserGroup,
};

use crate::support::browser;
use crate::support::http::get_json;
use crate::support::prelude::*;
use crate::support::report;
use crate::support::wire::{self, Listener};

const TOKEN: &str = "/api/oidc/token";
const JSON: &str = "application/json; charset=utf-8";
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

/// RomM's client with the loopback callback the login test needs.
fn login_client() -> Client {
    Client::confidential(
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        &[ROMM_CALLBACK, LOOPBACK_CALLBACK],
    )
}

/// `romm-oidc <args>` with a clean environment; proxies off for loopback.
fn run(args: &[&str]) -> Run {
    let home = Sandbox::new();
    let mut c = bin::command(home.path());
    c.plain().loopback().args(args);
    process::run(&mut c, RUN_LIMIT)
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
    let out = run(&human);
    let stdout = text(&out.stdout_bytes);
    assert_terminal_safe("human stdout", &stdout);
    assert_terminal_safe("-vv stderr", &text(&out.stderr_bytes));
    let mut machine: Vec<&str> = args.iter().map(String::as_str).collect();
    machine.push("--json");
    let out = run(&machine);
    let json_text = text(&out.stdout_bytes);
    assert_terminal_safe("--json stdout", &json_text);
    assert_terminal_safe("--json stderr", &text(&out.stderr_bytes));
    let report: Value = serde_json::from_str(&json_text)
        .unwrap_or_else(|e| panic!("--json is not JSON ({e}):\n{json_text}"));
    (report, stdout)
}

#[test]
fn hostile_issuer_is_invalid_escaped_on_the_terminal_and_exact_in_json() {
    // Port 9 refuses at once: the checks that call the issuer fail fast.
    let published = format!("http://127.0.0.1:9/{HOSTILE}");
    let emulator = emulator::pocket_id(Config {
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
    let emulator = emulator::pocket_id(Config {
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
    let client = report::text(check(&report, "pocketid.client"));
    assert!(client.contains(&format!("admins{HOSTILE}")), "{client}");
    assert!(human.contains(r"bad client\x1b[2J"), "{human}");
    assert!(human.contains(r"RomM\x1b[2J"), "{human}");
}

#[test]
fn hostile_claims_are_escaped_in_the_login_report_and_exact_in_json() {
    let emulator = emulator::pocket_id(Config {
        clients: vec![login_client()],
        users: vec![User {
            first_name: format!("Alice{HOSTILE}"),
            groups: vec![format!("admins{HOSTILE}")],
            ..User::new("alice", Some("alice@example.com"))
        }],
        user_groups: vec![UserGroup::new(&format!("admins{HOSTILE}"))],
        session_user: Some("alice".into()),
        ..Config::default()
    });
    let mut args = doctor_args(&emulator.issuer());
    args.extend(login_flags(&browser(), "20"));
    args.extend(["--claim-roles", "groups"].map(String::from));
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
    let emulator = emulator::pocket_id(Config {
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
    let out = run(&[
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
    let stderr = text(&out.stderr_bytes);
    assert_eq!(out.code, 0, "{stderr}");
    assert_terminal_safe("wizard stderr", &stderr);
    assert!(
        stderr.contains(r"alice\x1b[2J\x1b]8;;https://evil.example/\x07click"),
        "{stderr}"
    );
}

// ====================================================================== raw server

/// An HTTP server on 127.0.0.1 answering each request from
/// `answer(request head) -> (status line and headers, body)` with
/// `Connection: close`; `build` gets the server's base URL. Bytes that are
/// not an HTTP request (a TLS handshake) get a 400 at once, as real servers
/// answer.
fn serve<F>(build: impl FnOnce(&str) -> F) -> Listener
where
    F: Fn(&str) -> Option<(String, Vec<u8>)> + Send + Sync + 'static,
{
    Listener::start(|base| {
        let answer = build(base);
        move |head: &str, stream: &mut TcpStream| {
            let (status_and_headers, body) = if head.is_empty() {
                (
                    "400 Bad Request\r\nContent-Type: text/plain".into(),
                    b"not HTTP".to_vec(),
                )
            } else {
                answer(head).unwrap_or_else(|| {
                    (
                        "404 Not Found\r\nContent-Type: text/plain".into(),
                        b"no".to_vec(),
                    )
                })
            };
            wire::respond(stream, &status_and_headers, &body);
        }
    })
}

/// The path of a request head.
fn path_of(head: &str) -> &str {
    head.split(' ').nth(1).unwrap_or("/")
}

fn json_ok(body: &Value) -> Option<(String, Vec<u8>)> {
    Some((
        "200 OK\r\nContent-Type: application/json".into(),
        body.to_string().into_bytes(),
    ))
}

/// A minimal discovery document for a provider at `base` signing with `algs`.
fn discovery_doc(base: &str, algs: &[&str]) -> Value {
    json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "id_token_signing_alg_values_supported": algs,
    })
}

/// A discovery document for `base` advertising `algs`, with `jwks` served
/// as its key set.
fn provider_with_keys(algs: &'static [&'static str], jwks: Value) -> Listener {
    serve(move |base| {
        let doc = discovery_doc(base, algs);
        move |head: &str| match path_of(head) {
            "/.well-known/openid-configuration" => json_ok(&doc),
            "/jwks" => json_ok(&jwks),
            _ => None,
        }
    })
}

/// `doctor --json` against `issuer` with `extra` arguments: the report, the
/// stderr and the elapsed time.
fn doctor_json(issuer: &str, extra: &[&str]) -> (Value, String, Duration) {
    let mut args = doctor_args(issuer);
    args.push("--json".into());
    args.extend(extra.iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args);
    let elapsed = out.elapsed;
    let stderr = text(&out.stderr_bytes);
    let report = serde_json::from_slice(&out.stdout_bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stderr}"));
    (report, stderr, elapsed)
}

/// What `--login` needs besides the settings; `browser` is
/// `--browser-command=…` or `--no-browser`.
fn login_flags(browser: &str, timeout: &str) -> Vec<String> {
    [
        "--login",
        "--listen",
        "127.0.0.1:0",
        "--login-timeout",
        timeout,
        browser,
    ]
    .map(String::from)
    .to_vec()
}

/// The test's browser driver for `--login`.
fn browser() -> String {
    format!("--browser-command={}", browser::driver())
}

/// `jwks.keys` of a doctor run against a provider publishing `set` at jwks_uri.
fn judge_set(algs: &'static [&'static str], set: Value) -> Value {
    let provider = provider_with_keys(algs, set);
    check(&doctor_json(&provider.url("http"), &[]).0, "jwks.keys").clone()
}

#[track_caller]
fn expect_keys(algs: &'static [&'static str], keys: Value, status: &str, words: &[&str]) {
    let finding = judge_set(algs, json!({ "keys": keys }));
    let all = report::text(&finding);
    assert_eq!(finding["status"], status, "keys {keys:#}\n→ {finding:#}");
    for word in words {
        assert!(
            all.contains(word),
            "{word:?} missing for keys {keys:#}\n→ {finding:#}"
        );
    }
}

// ====================================================================== key sets

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A fresh P-256 (or P-384) public key as a JWK.
fn ec_key(kid: &str, p384: bool) -> Value {
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    };
    let (alg, crv, size) = if p384 {
        (&ECDSA_P384_SHA384_FIXED_SIGNING, "P-384", 48)
    } else {
        (&ECDSA_P256_SHA256_FIXED_SIGNING, "P-256", 32)
    };
    let pair = EcdsaKeyPair::generate(alg).expect("EC key");
    let point = pair.public_key().as_ref().to_vec();
    json!({"kty": "EC", "kid": kid, "crv": crv,
           "x": b64(&point[1..1 + size]), "y": b64(&point[1 + size..])})
}

fn ed25519_key(kid: &str) -> Value {
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    let pair = Ed25519KeyPair::generate().expect("Ed25519 key");
    json!({"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64(pair.public_key().as_ref())})
}

/// A 2048-bit RSA public key (the emulator's modulus is not needed: any
/// odd 2048-bit number with e = 65537 is what cryptography accepts).
fn rsa_key(kid: &str) -> Value {
    let mut n = vec![0xc5u8; 256];
    n[255] = 0x01;
    json!({"kty": "RSA", "kid": kid, "e": "AQAB", "n": b64(&n)})
}

/// The 1024-bit modulus of a key authlib 1.6.12 / cryptography 49 verify
/// RS256 tokens with.
const N1024: &str = "qRXQorKdfqb3CZ6MSjQus5tZlPn15Cn50LY7vTmZm0fbsRIpspeFh9ujGd9fDQzlDYTpFYwCkHOzuiDUbjjPpZQly2TRltxgdYGr11clFWWfQAqRbQnIkraSBYK1ZLujJS798bjK6KOnE-4AFIVxVHMnCRSCzRlEGXWI9lzv83k";

#[test]
fn good_keys_of_every_type_pass() {
    expect_keys(&["RS256"], json!([rsa_key("r1")]), "pass", &["r1"]);
    expect_keys(&["ES256"], json!([ec_key("e1", false)]), "pass", &["e1"]);
    expect_keys(&["EdDSA"], json!([ed25519_key("o1")]), "pass", &["o1"]);
    // authlib verifies Ed448 too (cryptography checks x's length only).
    let ed448 = json!({"kty": "OKP", "kid": "o2", "crv": "Ed448", "x": b64(&[7u8; 57])});
    expect_keys(&["EdDSA"], json!([ed448]), "pass", &["o2"]);
}

#[test]
fn a_weak_rsa_key_warns_because_romm_still_verifies_with_it() {
    let key = json!({"kty": "RSA", "kid": "small", "e": "AQAB", "n": N1024});
    expect_keys(
        &["RS256"],
        json!([key]),
        "warn",
        &["only 1024 bits", "2048"],
    );
}

#[test]
fn an_ec_point_off_its_curve_or_on_another_curve_is_unusable() {
    let mut off = ec_key("e1", false);
    let y = off["y"].as_str().unwrap().to_string();
    let flipped = if y.starts_with('A') { "B" } else { "A" };
    off["y"] = json!(format!("{flipped}{}", &y[1..]));
    expect_keys(
        &["ES256"],
        json!([off.clone()]),
        "fail",
        &["not on P-256", "e1"],
    );
    // The same bad key beside a good one only fails tokens that name it.
    expect_keys(
        &["ES256"],
        json!([ec_key("good", false), off]),
        "warn",
        &[
            "not on P-256",
            "RomM refuses every ID token signed under it",
        ],
    );
    // A P-384 key cannot verify ES256 (authlib: only "P-256" allowed).
    expect_keys(
        &["ES256"],
        json!([ec_key("e3", true)]),
        "fail",
        &["ES384", "does not advertise"],
    );
    // P-256 coordinates labelled P-384 are not a P-384 point.
    let mut relabelled = ec_key("e4", false);
    relabelled["crv"] = json!("P-384");
    expect_keys(&["ES384"], json!([relabelled]), "fail", &["not on P-384"]);
    // An Ed25519 public key is 32 bytes.
    let mut short = ed25519_key("o1");
    short["x"] = json!(b64(&[9u8; 31]));
    expect_keys(&["EdDSA"], json!([short]), "fail", &["32-byte"]);
}

#[test]
fn a_key_authlib_cannot_import_breaks_the_whole_set() {
    let broken = json!({"kty": "RSA", "kid": "half", "n": rsa_key("x")["n"]});
    expect_keys(
        &["RS256"],
        json!([rsa_key("good"), broken]),
        "fail",
        &["cannot import", "half", "without e", "every login"],
    );
    expect_keys(
        &["RS256"],
        json!([rsa_key("good"), {"kid": "k"}]),
        "fail",
        &["no kty"],
    );
}

#[test]
fn use_and_key_ops_must_allow_verifying() {
    let mut enc = rsa_key("r1");
    enc["use"] = json!("enc");
    expect_keys(&["RS256"], json!([enc]), "fail", &["InvalidUseError"]);
    let mut sign_only = rsa_key("r1");
    sign_only["key_ops"] = json!(["sign"]);
    expect_keys(
        &["RS256"],
        json!([sign_only]),
        "fail",
        &["key_ops", "verify"],
    );
    let mut verify = rsa_key("r1");
    verify["key_ops"] = json!(["verify"]);
    verify["use"] = json!("sig");
    expect_keys(&["RS256"], json!([verify]), "pass", &["r1"]);
}

#[test]
fn base64_that_only_authlib_reads_warns_and_junk_fails() {
    let mut padded = rsa_key("r1");
    padded["n"] = json!(format!("{}==", padded["n"].as_str().unwrap()));
    padded["e"] = json!("AQAB");
    expect_keys(
        &["RS256"],
        json!([padded]),
        "warn",
        &["writes n with base64 padding"],
    );
    let mut standard = rsa_key("r1");
    let n = standard["n"]
        .as_str()
        .unwrap()
        .replace('_', "/")
        .replace('-', "+");
    standard["n"] = json!(format!("{n}+/"));
    expect_keys(
        &["RS256"],
        json!([standard]),
        "warn",
        &["standard alphabet"],
    );
    let mut junk = rsa_key("r1");
    junk["e"] = json!("Z");
    expect_keys(&["RS256"], json!([junk]), "fail", &["cannot decode"]);
}

#[test]
fn duplicate_kids_and_a_keys_alg_are_remarks() {
    expect_keys(
        &["RS256"],
        json!([rsa_key("same"), rsa_key("same")]),
        "warn",
        &["kid same names 2 keys", "first of them"],
    );
    let mut declared = rsa_key("r1");
    declared["alg"] = json!("RS384");
    expect_keys(
        &["RS256"],
        json!([declared]),
        "warn",
        &["declares alg RS384", "does not advertise"],
    );
}

#[test]
fn a_key_set_authlib_reads_is_never_failed() {
    // A bare list of keys: authlib's import_key_set takes it as the set.
    let finding = judge_set(&["RS256"], json!([rsa_key("r1")]));
    assert_eq!(finding["status"], "warn", "{finding:#}");
    assert!(
        report::text(&finding).contains("bare JSON list"),
        "{finding:#}"
    );
    // "keys": "" is an empty set to authlib: no key, every login fails.
    let finding = judge_set(&["RS256"], json!({"keys": ""}));
    assert_eq!(finding["status"], "fail", "{finding:#}");
    assert!(report::text(&finding).contains("empty"), "{finding:#}");
    // A key whose alg does not fit its kty: authlib ignores the alg.
    let mut declared = ec_key("e1", false);
    declared["alg"] = json!("RS256");
    expect_keys(
        &["ES256"],
        json!([declared]),
        "warn",
        &["declares alg RS256, which it cannot do", "ES256"],
    );
}

#[test]
fn the_discovery_documents_own_jwks_is_the_set_romm_uses() {
    // authlib's fetch_jwk_set takes discovery's jwks member before jwks_uri,
    // here a 404: RomM verifies with the inline keys.
    let provider = serve(|base| {
        let mut doc = discovery_doc(base, &["RS256"]);
        doc["jwks"] = json!({"keys": [rsa_key("inline")]});
        move |head: &str| match path_of(head) {
            "/.well-known/openid-configuration" => json_ok(&doc),
            _ => None,
        }
    });
    let issuer = provider.url("http");
    let finding = check(&doctor_json(&issuer, &[]).0, "jwks.keys").clone();
    assert_eq!(finding["status"], "warn", "{finding:#}");
    let text = report::text(&finding);
    assert!(
        text.contains("1 usable for RS256") && text.contains("own jwks member"),
        "{finding:#}"
    );
}

#[test]
fn login_picks_and_reads_the_key_as_authlib_does() {
    // The emulator signs; a raw server publishes its discovery document with
    // the key set replaced by `edit`ed copies of the emulator's key.
    let emulator = emulator::pocket_id(Config {
        clients: vec![login_client()],
        ..Config::default()
    });
    let discovery = get_json(&format!(
        "{}/.well-known/openid-configuration",
        emulator.issuer()
    ));
    let real = get_json(&format!("{}/.well-known/jwks.json", emulator.issuer()))["keys"][0].clone();
    let login = |keys: Value| -> Value {
        let mut doc = discovery.clone();
        let provider = serve(move |base| {
            doc["jwks_uri"] = json!(format!("{base}/jwks"));
            let jwks = json!({ "keys": keys });
            move |head: &str| match path_of(head) {
                "/.well-known/openid-configuration" => json_ok(&doc),
                "/jwks" => json_ok(&jwks),
                _ => None,
            }
        });
        let issuer = provider.url("http");
        let flags = login_flags(&browser(), "20");
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        check(&doctor_json(&issuer, &flags).0, "login.id-token").clone()
    };
    // authlib decodes padded base64: RomM accepts.
    let mut padded = real.clone();
    padded["n"] = json!(format!("{}==", real["n"].as_str().unwrap()));
    let token = login(json!([padded.clone()]));
    assert_eq!(token["status"], "pass", "{token:#}");
    // authlib ignores a key's alg: RomM accepts, and the doctor warns.
    padded["alg"] = json!("RS384");
    let token = login(json!([padded]));
    assert_eq!(token["status"], "warn", "{token:#}");
    assert!(
        report::text(&token).contains("authlib ignores a key's alg"),
        "{token:#}"
    );
    // A key for encryption under the token's kid: authlib raises InvalidUseError.
    let mut enc = real.clone();
    enc["use"] = json!("enc");
    let token = login(json!([enc]));
    assert_eq!(token["status"], "fail", "{token:#}");
    assert!(
        report::text(&token).contains("InvalidUseError"),
        "{token:#}"
    );
    // One key authlib cannot import breaks the set, whatever the kid.
    let token = login(json!([real.clone(), {"kty": "XYZ", "kid": "other"}]));
    assert_eq!(token["status"], "fail", "{token:#}");
    assert!(report::text(&token).contains("cannot import"), "{token:#}");
    // Duplicate kids: authlib takes the first, so a stale key first fails.
    let token = login(json!([stale_copy(&real), real.clone()]));
    assert_eq!(token["status"], "fail", "{token:#}");
    let token = login(json!([real.clone(), stale_copy(&real)]));
    assert_eq!(token["status"], "pass", "{token:#}");
}

/// Another key under `real`'s kid.
fn stale_copy(real: &Value) -> Value {
    let mut stale = rsa_key("stale");
    stale["kid"] = real["kid"].clone();
    stale
}

// ====================================================================== transport

#[test]
fn https_to_a_plain_http_port_says_so() {
    let plain = serve(|_| |_: &str| None);
    let https = plain.url("https");
    let (report, _, elapsed) = doctor_json(&https, &[]);
    let fetch = expect_status(&report, "discovery.fetch", &["fail"]);
    assert!(fetch.contains("speaks plain HTTP on this port"), "{fetch}");
    assert!(fetch.contains("Use http://"), "{fetch}");
    assert!(!fetch.contains("certificate"), "{fetch}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

fn gzip(body: &[u8]) -> Vec<u8> {
    use flate2::write::GzEncoder;
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(body).expect("gzip");
    encoder.finish().expect("gzip")
}

fn zlib(body: &[u8]) -> Vec<u8> {
    use flate2::write::ZlibEncoder;
    let mut encoder = ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(body).expect("deflate");
    encoder.finish().expect("deflate")
}

/// A provider whose discovery, key set and token endpoint answer compressed
/// as `encode` says; returns its URL and the request heads it saw.
fn compressed_provider(
    encode: fn(&str, Vec<u8>) -> (String, Vec<u8>),
) -> (Listener, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let provider = serve(move |base| {
        // Encoded once, before any request: encoding a large answer must not
        // slow the server down in the doctor's time.
        let answers = [
            ("discovery", discovery_doc(base, &["RS256"])),
            ("jwks", json!({ "keys": [rsa_key("r1")] })),
            ("token", json!({ "error": "invalid_grant" })),
        ]
        .map(|(what, body)| (what, encode(what, body.to_string().into_bytes())));
        move |head: &str| {
            log.lock().unwrap().push(head.to_string());
            let what = match path_of(head) {
                "/.well-known/openid-configuration" => "discovery",
                "/jwks" => "jwks",
                "/token" => "token",
                _ => return None,
            };
            let (_, (encoding, bytes)) = answers.iter().find(|(w, _)| *w == what)?;
            let status = if what == "token" {
                "400 Bad Request"
            } else {
                "200 OK"
            };
            Some((
                format!("{status}\r\nContent-Type: application/json{encoding}"),
                bytes.clone(),
            ))
        }
    });
    (provider, seen)
}

#[test]
fn gzip_deflate_and_zstd_answers_are_decoded_as_romm_httpx_decodes_them() {
    let (provider, seen) = compressed_provider(|what, body| match what {
        "discovery" => ("\r\nContent-Encoding: gzip".into(), gzip(&body)),
        "jwks" => (
            "\r\nContent-Encoding: zstd".into(),
            zstd::encode_all(&body[..], 3).expect("zstd"),
        ),
        _ => ("\r\nContent-Encoding: deflate".into(), zlib(&body)),
    });
    let issuer = provider.url("http");
    let (report, _, _) = doctor_json(&issuer, &[]);
    expect_status(&report, "discovery.fetch", &["pass"]);
    expect_status(&report, "jwks.keys", &["pass"]);
    expect_status(&report, "client.credentials", &["pass"]);
    // It asks for what RomM's httpx asks for (gzip, deflate; zstd because
    // RomM installs zstandard; no br, RomM has no brotli package).
    let heads = seen.lock().unwrap().clone();
    let asked: Vec<String> = heads
        .iter()
        .filter_map(|h| {
            h.lines()
                .find(|l| l.to_ascii_lowercase().starts_with("accept-encoding:"))
                .map(|l| l[16..].trim().to_string())
        })
        .collect();
    assert!(!asked.is_empty(), "{heads:?}");
    for a in asked {
        let mut codings: Vec<&str> = a.split(',').map(str::trim).collect();
        codings.sort_unstable();
        assert_eq!(codings, ["deflate", "gzip", "zstd"], "{a}");
    }
}

#[test]
fn an_encoding_romm_cannot_decode_is_named() {
    let (provider, _) = compressed_provider(|_, body| {
        // Whatever the bytes, RomM's httpx passes a br body on undecoded.
        let mut scrambled = body;
        scrambled.reverse();
        ("\r\nContent-Encoding: br".into(), scrambled)
    });
    let issuer = provider.url("http");
    let (report, _, _) = doctor_json(&issuer, &[]);
    let fetch = expect_status(&report, "discovery.fetch", &["fail"]);
    assert!(
        fetch.contains("compressed with br, which RomM's httpx cannot decode"),
        "{fetch}"
    );
    assert!(fetch.contains("honour Accept-Encoding"), "{fetch}");
}

#[test]
fn a_gzip_bomb_stays_bounded_by_the_decoded_size() {
    // 64 MiB of JSON-looking text in about 64 KiB of gzip: the 1 MiB body
    // limit applies to what is decoded.
    let (provider, _) = compressed_provider(|what, body| {
        if what != "discovery" {
            return (String::new(), body);
        }
        let mut huge = b"{\"issuer\":\"".to_vec();
        huge.resize(64 * 1024 * 1024, b' ');
        ("\r\nContent-Encoding: gzip".into(), gzip(&huge))
    });
    let issuer = provider.url("http");
    let (report, _, elapsed) = doctor_json(&issuer, &[]);
    let fetch = expect_status(&report, "discovery.fetch", &["fail"]);
    assert!(fetch.contains("too large"), "{fetch}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

// ====================================================================== found while hunting

/// A server that records every request head and answers 404.
fn recorder() -> (Listener, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let recorder = serve(move |_| {
        move |head: &str| {
            log.lock().unwrap().push(head.to_string());
            None
        }
    });
    (recorder, seen)
}

#[test]
fn the_api_key_goes_only_to_the_configured_url_never_to_a_claimed_issuer() {
    // The discovery document claims another server as its issuer: the admin
    // API (and its key) stay with the URL the user gave.
    let (claimed, seen) = recorder();
    let emulator = emulator::pocket_id(Config {
        api_keys: vec![ApiKey::new(API_KEY, "alice")],
        admins: vec!["alice".into()],
        faults: Faults {
            wrong_issuer: Some(claimed.url("http")),
            ..Faults::default()
        },
        ..Config::default()
    });
    let (report, _, _) = doctor_json(&emulator.issuer(), &["--pocket-id-api-key", API_KEY]);
    let leaked: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|h| h.contains(API_KEY))
        .cloned()
        .collect();
    assert!(
        leaked.is_empty(),
        "the API key went to the claimed issuer: {leaked:?}"
    );
    expect_status(&report, "pocketid.version", &["pass"]);
    expect_status(&report, "discovery.issuer", &["warn"]);
}

#[test]
fn an_endpoint_url_with_a_control_character_is_refused_as_httpx_refuses_it() {
    // reqwest's URL parser drops a tab and would fetch /jwks; RomM's httpx
    // raises InvalidURL instead, so the doctor must not pass the key set.
    let provider = serve(|base| {
        let mut doc = discovery_doc(base, &["RS256"]);
        doc["jwks_uri"] = json!(format!("{base}/jw\tks"));
        let jwks = json!({ "keys": [rsa_key("r1")] });
        move |head: &str| match path_of(head) {
            "/.well-known/openid-configuration" => json_ok(&doc),
            "/jwks" => json_ok(&jwks),
            _ => None,
        }
    });
    let issuer = provider.url("http");
    let (report, _, _) = doctor_json(&issuer, &[]);
    let metadata = expect_status(&report, "discovery.metadata", &["fail"]);
    assert!(metadata.contains("U+0009"), "{metadata}");
    let keys = expect_status(&report, "jwks.keys", &["fail"]);
    assert!(keys.contains("httpx refuses"), "{keys}");
}

#[test]
fn the_browser_is_never_sent_to_a_non_http_authorization_endpoint() {
    let provider = serve(|base| {
        let mut doc = discovery_doc(base, &["RS256"]);
        doc["authorization_endpoint"] = json!("javascript:alert(document.domain)//");
        move |head: &str| match path_of(head) {
            "/.well-known/openid-configuration" => json_ok(&doc),
            _ => None,
        }
    });
    let issuer = provider.url("http");
    let flags = login_flags("--no-browser", "3");
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let (report, stderr, elapsed) = doctor_json(&issuer, &flags);
    let callback = expect_status(&report, "login.callback", &["skip"]);
    assert!(callback.contains("not an http(s) URL"), "{callback}");
    assert!(!stderr.contains("Open this URL"), "{stderr}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[test]
fn a_header_with_bytes_outside_ascii_is_shown_not_taken_for_missing() {
    let provider = serve(|base| {
        let to = format!("{base}/idp/ü");
        move |_: &str| {
            Some((
                format!("301 Moved Permanently\r\nLocation: {to}"),
                Vec::new(),
            ))
        }
    });
    let issuer = provider.url("http");
    let (report, _, _) = doctor_json(&issuer, &[]);
    let fetch = expect_status(&report, "discovery.fetch", &["fail"]);
    assert!(fetch.contains("/idp/ü"), "{fetch}");
    assert!(!fetch.contains("no Location header"), "{fetch}");
}

#[test]
fn settings_traced_with_v_are_escaped_too() {
    let dir = Sandbox::new();
    let env = dir.path().join("romm.env");
    std::fs::write(
        &env,
        "OIDC_CLIENT_ID=\"romm\u{1b}]52;c;ZXZpbA==\u{7}\"\nOIDC_SERVER_APPLICATION_URL=http://127.0.0.1:9\n",
    )
    .expect("env file");
    let env = env.display().to_string();
    let out = run(&["-v", "doctor", "--timeout", "2", "--env-file", &env]);
    let stderr = text(&out.stderr_bytes);
    assert_terminal_safe("-v stderr", &stderr);
    assert_terminal_safe("stdout", &text(&out.stdout_bytes));
    assert!(stderr.contains(r"romm\x1b]52;c;ZXZpbA==\x07"), "{stderr}");
}
