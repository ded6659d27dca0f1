//! The client secret as RomM reads and sends it: authlib's latin-1
//! `client_secret_basic` header (authlib 1.6.12 `oauth2/auth.py`), RomM's
//! stripping of every env value (`backend/config/__init__.py` `_get_env`), and
//! the env-file lint knowing RomM's own variables. Against the Pocket ID
//! emulator and panva's oidc-provider, both ways.

use std::time::Duration;

use pocket_id_emulator::{Client, Config, DEFAULT_CALLBACK, Emulator};

use crate::support::peer::Peer;
use crate::support::prelude::*;

const ASCII: &str = "s3cret-Xk93pQ7zLm20Wd55";
/// é is latin-1 (one byte there, two in UTF-8).
const LATIN1: &str = "s3cret-caf\u{e9}-Xk93pQ7z";
/// € and 🦀 are beyond latin-1: authlib raises UnicodeEncodeError.
const BEYOND: &str = "s3cret-\u{20ac}\u{1f980}-Xk93pQ7z";

fn emulator(secret: &str) -> Emulator {
    emulator::pocket_id(Config {
        clients: vec![Client::confidential("romm", secret, &[DEFAULT_CALLBACK])],
        ..Config::default()
    })
}

fn peer(secret: &str) -> Peer {
    Peer::start(json!({ "clients": [{
        "client_id": "romm",
        "client_secret": secret,
        "redirect_uris": [ROMM_CALLBACK],
    }]}))
}

fn doctor(sb: &Sandbox, issuer: &str, secret: &str) -> (Value, Run) {
    let args = Args::new()
        .set("--issuer", issuer)
        .set("--client-id", "romm")
        .set("--client-secret", secret)
        .set("--redirect-uri", ROMM_CALLBACK);
    sandbox::doctor_loopback(sb, &args, "5", &[])
}

fn token_requests(e: &Emulator) -> usize {
    e.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/token"))
        .count()
}

// ====================================================================== latin-1

#[test]
fn emulator_ascii_passes_latin1_fails_as_bad_credential_beyond_is_never_sent() {
    let sb = Sandbox::new();

    let e = emulator(ASCII);
    let (v, _) = doctor(&sb, &e.issuer(), ASCII);
    expect_status(&v, "config.client", &["pass"]);
    expect_status(&v, "client.credentials", &["pass"]);

    // The emulator stores é as UTF-8, as Pocket ID does; RomM sends one latin-1 byte.
    let e = emulator(LATIN1);
    let (v, r) = doctor(&sb, &e.issuer(), LATIN1);
    has(&v, "config.client", "warn", &["non-ASCII", "latin-1"]);
    let t = has(
        &v,
        "client.credentials",
        "fail",
        &["invalid_client", "latin-1", "ASCII characters only"],
    );
    assert!(t.contains("non-ASCII"), "{t}");
    assert_eq!(token_requests(&e), 1, "the probe was sent");
    assert_eq!(r.code, 1);
    r.assert_hides(LATIN1, "the secret");

    let e = emulator(BEYOND);
    let (v, r) = doctor(&sb, &e.issuer(), BEYOND);
    has(
        &v,
        "config.client",
        "fail",
        &["UnicodeEncodeError", "ASCII"],
    );
    has(
        &v,
        "client.credentials",
        "fail",
        &[
            "UnicodeEncodeError",
            "Nothing was sent",
            "ASCII characters only",
        ],
    );
    assert_eq!(
        token_requests(&e),
        0,
        "a secret authlib cannot encode was sent"
    );
    assert_eq!(r.code, 1);
    r.assert_hides(BEYOND, "the secret");
    assert!(
        !r.stdout.contains('\u{20ac}'),
        "a character of the secret shown"
    );
}

#[test]
fn oidc_provider_ascii_passes_latin1_fails_as_bad_credential_beyond_is_never_sent() {
    let sb = Sandbox::new();
    for (secret, status) in [(ASCII, "pass"), (LATIN1, "fail"), (BEYOND, "fail")] {
        let p = peer(secret);
        let (v, r) = doctor(&sb, &p.issuer, secret);
        let t = expect_status(&v, "client.credentials", &[status]);
        match secret {
            // oidc-provider takes only RFC 6749's ASCII credentials: invalid_request.
            LATIN1 => assert!(
                t.contains("invalid_request")
                    && t.contains("latin-1")
                    && t.contains("ASCII characters only"),
                "{t}"
            ),
            BEYOND => assert!(
                t.contains("UnicodeEncodeError") && t.contains("Nothing was sent"),
                "{t}"
            ),
            _ => {}
        }
        r.assert_hides(secret, "the secret");
    }
}

#[test]
fn the_login_test_refuses_a_secret_authlib_cannot_encode_before_any_browser() {
    let sb = Sandbox::new();
    let e = emulator(BEYOND);
    let args = Args::new()
        .set("--issuer", &e.issuer())
        .set("--client-id", "romm")
        .set("--client-secret", BEYOND)
        .set("--redirect-uri", ROMM_CALLBACK)
        .set("--listen", "127.0.0.1:0")
        .set("--login-timeout", "30")
        .flag("--no-browser")
        .flag("--login");
    let started = std::time::Instant::now();
    let r = sandbox::run_loopback(&sb, &["doctor", "--json", "--timeout", "5"], &args, &[]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "waited for a login that cannot work"
    );
    let v: Value = serde_json::from_str(&r.stdout).expect("JSON");
    expect_status(&v, "login.callback", &["skip"]);
    has(&v, "login.token", "fail", &["UnicodeEncodeError"]);
    assert_eq!(token_requests(&e), 0);
    r.assert_hides(BEYOND, "the secret");
}

// ====================================================================== white space

#[test]
fn emit_env_refuses_a_secret_romm_cannot_send_and_says_why() {
    let sb = Sandbox::new();
    let base = Args::valid();
    for secret in [" Xk93-pQ7z", "Xk93-pQ7z\t", "Xk93-pQ7z "] {
        let r = sandbox::run(
            &sb,
            &["emit-env"],
            &base.clone().set("--client-secret", secret),
            &[],
        );
        assert_eq!(r.code, 2, "{}", r.show());
        assert!(r.stdout.is_empty(), "{}", r.show());
        assert!(
            r.stderr.contains("white space") && r.stderr.contains("RomM strips"),
            "{}",
            r.show()
        );
    }
    let r = sandbox::run(
        &sb,
        &["emit-env"],
        &base.clone().set("--client-secret", "Xk93-pQ7z"),
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.show());
    // Nor a secret RomM's authlib cannot encode.
    let r = sandbox::run(
        &sb,
        &["emit-env"],
        &base.set("--client-secret", BEYOND),
        &[],
    );
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stderr.contains("UnicodeEncodeError"), "{}", r.show());
    r.assert_hides(BEYOND, "the secret");
}

#[test]
fn a_secret_file_loses_only_its_final_line_breaks() {
    let sb = Sandbox::new();
    let base = Args::valid().unset("--client-secret");
    for (name, bytes, ok) in [
        ("lf", "Xk93-pQ7z\n", true),
        ("crlf", "Xk93-pQ7z\r\n", true),
        ("two", "Xk93-pQ7z\n\n", true),
        ("bare", "Xk93-pQ7z", true),
        ("space", "Xk93-pQ7z \n", false),
        ("lead", " Xk93-pQ7z\n", false),
        ("tab", "\tXk93-pQ7z", false),
    ] {
        let path = sb.file(name, bytes);
        let args = base
            .clone()
            .set("--client-secret-file", &path.display().to_string());
        let r = sandbox::run(&sb, &["emit-env"], &args, &[]);
        if ok {
            assert_eq!(r.code, 0, "{name}: {}", r.show());
            assert!(
                r.stdout.contains("OIDC_CLIENT_SECRET='Xk93-pQ7z'\n"),
                "{name}: {}",
                r.show()
            );
        } else {
            assert_eq!(r.code, 2, "{name}: {}", r.show());
            assert!(
                r.stderr.contains(&path.display().to_string()),
                "{name}: {}",
                r.show()
            );
        }
    }
}

#[test]
fn doctor_fails_config_client_for_white_space_from_any_source() {
    let sb = Sandbox::new();
    let env = sb.file(
        "romm.env",
        "OIDC_ENABLED=true\nOIDC_CLIENT_ID=romm\nOIDC_CLIENT_SECRET=' Xk93-pQ7z'\n",
    );
    let args = Args::valid()
        .unset("--client-secret")
        .unset("--client-id")
        .set("--env-file", &env.display().to_string());
    let (v, _) = sandbox::doctor_json(&sb, &args, &[]);
    let t = has(&v, "config.client", "fail", &["RomM strips", "romm.env:3"]);
    assert!(!t.contains("Xk93"), "secret shown: {t}");

    let (v, _) = sandbox::doctor_json(
        &sb,
        &Args::valid().unset("--client-secret"),
        &[("OIDC_CLIENT_SECRET", "Xk93-pQ7z")],
    );
    expect_status(&v, "config.client", &["pass"]);
    // No-break space: Python's str.strip removes it too.
    let (v, _) = sandbox::doctor_json(
        &sb,
        &Args::valid().unset("--client-secret"),
        &[("OIDC_CLIENT_SECRET", "Xk93-pQ7z\u{a0}")],
    );
    has(&v, "config.client", "fail", &["the environment"]);
}

#[test]
fn wizard_blames_the_white_space_not_the_provider() {
    let sb = Sandbox::new();
    let e = emulator(ASCII);
    let args = Args::new()
        .set("--romm-url", "https://romm.example.com")
        .set("--issuer", &e.issuer())
        .set("--client-id", "romm")
        .set("--client-secret", &format!("{ASCII} "))
        .flag("--yes")
        .flag("--no-browser");
    let r = sandbox::run_loopback(&sb, &["wizard"], &args, &[]);
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stderr.contains("white space"), "{}", r.show());
    assert!(
        !r.stderr.contains("refused the client id or secret"),
        "{}",
        r.show()
    );
    assert_eq!(token_requests(&e), 0, "the provider was asked");
}

// ====================================================================== RomM's variables

#[test]
fn the_env_lint_knows_every_variable_romm_reads() {
    let sb = Sandbox::new();
    let env = sb.file(
        "romm.env",
        "OIDC_ENABLED=true\nOIDC_CLIENT_ID=romm\nOIDC_CLIENT_SECRET=Xk93-pQ7z\n\
         OIDC_SERVER_APPLICATION_URL=https://id.example.com\n\
         OIDC_REDIRECT_URI=https://romm.example.com/api/oauth/openid\n\
         IGDB_CLIENT_ID=igdb\nIGDB_CLIENT_SECRET=igdb-secret\nSCREENSCRAPER_USER=me\n\
         OIDC_CLIENT_SECRET_FILE=\nREDIS_PASSWORD_FILE=/run/secrets/redis\n",
    );
    let args = Args::valid()
        .unset("--client-secret")
        .unset("--client-id")
        .set("--env-file", &env.display().to_string());
    let (v, _) = sandbox::doctor_json(&sb, &args, &[]);
    let c = check(&v, "config.env-file");
    assert_eq!(c["status"], "pass", "{c:#}");

    // Names RomM does not read still get their rename.
    let env = sb.file(
        "typo.env",
        "OIDC_ENABLED=true\nOIDC_CLIENT_ID=romm\nOIDC_CLIENT_SECRET=Xk93-pQ7z\n\
         OIDC_SERVER_APPLICATION_URL=https://id.example.com\n\
         OIDC_REDIRECT_URI=https://romm.example.com/api/oauth/openid\n\
         ODIC_CLIENT_ID=romm\nOIDC_CLIENT_SECRT=x\n",
    );
    let (v, _) = sandbox::doctor_json(
        &sb,
        &args.set("--env-file", &env.display().to_string()),
        &[],
    );
    let t = text(check(&v, "config.env-file"));
    assert!(
        t.contains("Rename it to OIDC_CLIENT_ID") && t.contains("OIDC_CLIENT_SECRET"),
        "{t}"
    );
    assert!(!t.contains("IGDB"), "{t}");
}
