//! RomM's users, judged as RomM judges them (`romm.users`, `romm.account`):
//! the real binary against the RomM double (its `/api/token` and `/api/users`)
//! with the token's email from `--email`, Pocket ID's claims preview or a real
//! login (Pocket ID emulator and oidc-provider).

use std::time::Duration;

use pocket_id_emulator::{
    Client, Config, Emulator, RommClientToken, RommConfig, RommEmulator, RommUser,
};

use crate::support::browser;
use crate::support::peer::Peer;
use crate::support::ports::free_port;
use crate::support::prelude::*;
use crate::support::pty::{Escapes, Pty};

const ADMIN_PW: &str = "adm1n-Pa55-word-Zq7x";
const KEY: &str = "pidKey-Zq7xW2vN9kL4mR8tY3uHs6dF";
const READ_TOKEN: &str = "rmm_0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
const ME_TOKEN: &str = "rmm_aaaabbbbccccddddeeeeffff00001111aaaabbbbccccddddeeeeffff00001111";

fn users() -> Vec<RommUser> {
    vec![
        RommUser::new("admin", Some("admin@example.com"), ADMIN_PW, "admin"),
        RommUser::new("alice", Some("Alice@Example.COM"), "alice-pw", "user"),
        RommUser {
            enabled: false,
            ..RommUser::new("carol", Some("carol@example.com"), "carol-pw", "user")
        },
    ]
}

fn romm(users: Vec<RommUser>) -> RommEmulator {
    emulator::romm(RommConfig {
        users,
        client_tokens: vec![
            RommClientToken {
                token: READ_TOKEN.into(),
                username: "admin".into(),
                scopes: vec!["users.read".into()],
            },
            RommClientToken {
                token: ME_TOKEN.into(),
                username: "admin".into(),
                scopes: vec!["me.read".into()],
            },
        ],
        ..RommConfig::default()
    })
}

fn pocket_id() -> Emulator {
    emulator::pocket_id(Config::default().with_admin_api_key(KEY))
}

/// Settings for the emulator's default client, RomM at `r`.
fn args(e: &Emulator, r: &RommEmulator) -> Args {
    emulator::settings(e).set("--romm-url", &r.base_url())
}

fn admin(a: Args) -> Args {
    a.set("--romm-username", "admin")
}

fn doctor(a: &Args, env: &[(&str, &str)]) -> (Value, Run) {
    let sb = Sandbox::new();
    let (v, r) = sandbox::doctor_loopback(&sb, a, "5", env);
    hidden(&r);
    (v, r)
}

/// Neither the password, the API token nor RomM's bearer token is printed.
#[track_caller]
fn hidden(r: &Run) {
    for secret in [ADMIN_PW, READ_TOKEN, KEY, "eyJhbGciOiJIUzI1NiJ9."] {
        r.assert_hides(secret, secret);
    }
}

// ====================================================================== access

#[test]
fn reads_users_with_users_read_only_and_never_writes() {
    let (e, r) = (pocket_id(), romm(users()));
    let (v, _) = doctor(
        &admin(args(&e, &r)).set("--email", "ALICE@example.com"),
        &[("ROMM_PASSWORD", ADMIN_PW)],
    );
    has(&v, "romm.users", "pass", &["3 users", "users.read"]);
    let t = has(&v, "romm.account", "pass", &["alice", "user"]);
    assert!(t.contains("case-insensitively"), "{t}");

    let log = r.requests();
    let token: Vec<_> = log.iter().filter(|q| q.path == "/api/token").collect();
    assert_eq!(token.len(), 1, "{log:?}");
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&token[0].body)
        .into_owned()
        .collect();
    assert!(
        form.contains(&("grant_type".into(), "password".into()))
            && form.contains(&("scope".into(), "users.read".into())),
        "least privilege: {form:?}"
    );
    for q in &log {
        assert!(
            q.method == "GET" || (q.method == "POST" && q.path == "/api/token"),
            "the doctor wrote to RomM: {} {}",
            q.method,
            q.path
        );
    }
}

#[test]
fn traces_mask_the_password_and_romms_token() {
    let (e, r) = (pocket_id(), romm(users()));
    let sb = Sandbox::new();
    let a = admin(args(&e, &r)).set("--email", "alice@example.com");
    let run = sandbox::run_loopback(
        &sb,
        &["doctor", "-vv", "--timeout", "5"],
        &a,
        &[("ROMM_PASSWORD", ADMIN_PW)],
    );
    hidden(&run);
    assert!(
        run.stderr.contains("/api/token") && run.stderr.contains("/api/users"),
        "{}",
        run.show()
    );
    assert!(
        run.stderr.contains("[Authorization: Bearer"),
        "{}",
        run.show()
    );
}

#[test]
fn access_that_romm_refuses_is_a_failure_that_names_the_fix() {
    let (e, r) = (pocket_id(), romm(users()));
    let base = args(&e, &r).set("--email", "alice@example.com");
    // (arguments, environment, words of romm.users)
    type Case<'a> = (Args, &'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: &[Case] = &[
        (
            admin(base.clone()),
            &[("ROMM_PASSWORD", "wrong")],
            &["refused the password"],
        ),
        (
            base.clone().set("--romm-username", "alice"),
            &[("ROMM_PASSWORD", "alice-pw")],
            &["may not read", "users.read", "RomM admin"],
        ),
        (
            base.clone().set("--romm-username", "carol"),
            &[("ROMM_PASSWORD", "carol-pw")],
            &["disabled"],
        ),
    ];
    for (a, env, words) in cases {
        let (v, run) = doctor(a, env);
        has(&v, "romm.users", "fail", words);
        // Without RomM's users and without a token, the account is not judged.
        expect_status(&v, "romm.account", &["skip"]);
        assert_eq!(run.code, 1);
    }
    let sb = Sandbox::new();
    for (token, status, words) in [
        (READ_TOKEN, "pass", &["3 users"][..]),
        (ME_TOKEN, "fail", &["may not read"][..]),
        ("rmm_unknown", "fail", &["refused the client API token"][..]),
    ] {
        let file = sb.file("token", format!("{token}\n"));
        let (v, _) = doctor(
            &base
                .clone()
                .set("--romm-token-file", &file.display().to_string()),
            &[],
        );
        has(&v, "romm.users", status, words);
    }
}

#[test]
fn the_password_comes_from_a_file_the_environment_or_a_terminal_only() {
    let (e, r) = (pocket_id(), romm(users()));
    let sb = Sandbox::new();
    let file = sb.file("pw", format!("{ADMIN_PW}\n"));
    let a = admin(args(&e, &r))
        .set("--email", "alice@example.com")
        .set("--romm-password-file", &file.display().to_string());
    let (v, _) = doctor(&a, &[]);
    expect_status(&v, "romm.users", &["pass"]);

    // No password and no terminal (or --json): exit 2 naming what to give.
    let a = admin(args(&e, &r));
    for sub in [&["doctor", "--json"][..], &["doctor"][..]] {
        let run = sandbox::run_loopback(&sb, sub, &a, &[]);
        assert_eq!(run.code, 2, "{}", run.show());
        assert!(
            run.stderr.contains("--romm-password-file") && run.stderr.contains("ROMM_PASSWORD"),
            "{}",
            run.show()
        );
        assert!(run.stdout.is_empty(), "{}", run.show());
    }
    // RomM access needs RomM's URL.
    let run = sandbox::run(
        &sb,
        &["doctor"],
        &Args::valid()
            .unset("--romm-url")
            .set("--romm-username", "admin"),
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.show());
}

#[test]
fn the_password_prompt_is_hidden_and_on_a_terminal_only() {
    let (e, r) = (pocket_id(), romm(users()));
    let dir = Sandbox::new();
    let mut c = bin::command(dir.path());
    c.plain()
        .loopback()
        .xterm()
        .arg("doctor")
        .arg("--timeout=5")
        .args(
            admin(args(&e, &r))
                .set("--email", "alice@example.com")
                .to_vec(),
        );
    let mut p = Pty::spawn(c, Duration::from_secs(30), Escapes::Kept);
    p.hidden("RomM password for admin (hidden)", ADMIN_PW);
    p.finish();
    let rest = p.unread();
    assert!(rest.contains("romm.users"), "{rest}");
    assert!(rest.contains("Read RomM's 3 users"), "{rest}");
    assert!(!rest.contains(ADMIN_PW), "echoed: {rest}");
}

// ====================================================================== the account

#[test]
fn registration_off_and_no_account_fails_with_romms_words() {
    let (e, r) = (pocket_id(), romm(vec![users().remove(0)]));
    let off = [
        ("OIDC_ALLOW_REGISTRATION", "false"),
        ("ROMM_PASSWORD", ADMIN_PW),
    ];
    // --email alone: the account RomM would use for it.
    let (v, run) = doctor(&admin(args(&e, &r)).set("--email", "bob@example.com"), &off);
    has(
        &v,
        "romm.account",
        "fail",
        &[
            "User registration is disabled. Please contact an administrator to create an account.",
            "OIDC_ALLOW_REGISTRATION",
        ],
    );
    assert_eq!(run.code, 1);

    // Pocket ID's claims preview gives the token's email without a browser.
    let keyed = args(&e, &r)
        .set("--pocket-id-api-key", KEY)
        .set("--email", "alice@example.com");
    let (v, _) = doctor(&admin(keyed), &off);
    has(
        &v,
        "romm.account",
        "fail",
        &["User registration is disabled."],
    );
    // Without RomM access: see login_registration_off_emulator_and_oidc_provider_both_ways.
}

#[test]
fn without_access_only_email_vouches_for_the_account() {
    let e = pocket_id();
    // The claims preview needs --email, so without RomM access the judgement
    // rests on --email. A token email RomM may not know is the warning case,
    // which needs a login: see login_registration_off_* below.
    let r = romm(users());
    let (v, _) = doctor(
        &args(&e, &r)
            .set("--pocket-id-api-key", KEY)
            .set("--email", "alice@example.com"),
        &[("OIDC_ALLOW_REGISTRATION", "false")],
    );
    let t = has(&v, "romm.account", "pass", &["--email"]);
    assert!(t.contains("not read from RomM"), "{t}");
    // Nothing to judge with: a skip, not a pass.
    let (v, _) = doctor(&args(&e, &r), &[("OIDC_ALLOW_REGISTRATION", "false")]);
    expect_status(&v, "romm.account", &["skip"]);
    expect_status(&v, "romm.users", &["skip"]);
}

#[test]
fn a_disabled_account_fails_with_romms_words() {
    let (e, r) = (pocket_id(), romm(users()));
    let (v, _) = doctor(
        &admin(args(&e, &r)).set("--email", "Carol@example.com"),
        &[("ROMM_PASSWORD", ADMIN_PW)],
    );
    has(
        &v,
        "romm.account",
        "fail",
        &["Disabled user", "carol", "Enable carol"],
    );
}

#[test]
fn a_new_account_whose_username_is_taken_fails_and_a_role_change_is_noted() {
    let e = pocket_id();
    // RomM has "ALICE" with another email: the new account "alice" collides.
    let r = romm(vec![
        RommUser::new("admin", Some("admin@example.com"), ADMIN_PW, "admin"),
        RommUser::new("ALICE", None, "x", "user"),
    ]);
    let keyed = |r: &RommEmulator| {
        admin(args(&e, r))
            .set("--pocket-id-api-key", KEY)
            .set("--email", "alice@example.com")
    };
    let (v, _) = doctor(&keyed(&r), &[("ROMM_PASSWORD", ADMIN_PW)]);
    has(
        &v,
        "romm.account",
        "fail",
        &[
            "RomM would create an account named alice",
            "ALICE",
            "IntegrityError",
            "500",
        ],
    );

    // No collision: the new account is named.
    let r = romm(vec![RommUser::new(
        "admin",
        Some("admin@example.com"),
        ADMIN_PW,
        "admin",
    )]);
    let (v, _) = doctor(&keyed(&r), &[("ROMM_PASSWORD", ADMIN_PW)]);
    has(&v, "romm.account", "pass", &["creates alice (user)"]);

    // An admin account, and the mapping gives every group member User: noted.
    let r = romm(vec![RommUser::new(
        "alice",
        Some("alice@example.com"),
        ADMIN_PW,
        "admin",
    )]);
    let a = keyed(&r)
        .set("--romm-username", "alice")
        .set("--claim-roles", "groups")
        .set("--role-admin", "romm-admins")
        .set("--role-viewer", "*");
    let (v, _) = doctor(&a, &[("ROMM_PASSWORD", ADMIN_PW)]);
    has(&v, "romm.account", "pass", &["from admin to user"]);
}

// ====================================================================== real logins

fn login(
    issuer: &str,
    port: u16,
    r: &RommEmulator,
    secret: &str,
    extra: &[(&str, &str)],
) -> (Value, Run) {
    let mut a = Args::new()
        .set("--issuer", issuer)
        .set("--client-id", "romm")
        .set("--client-secret", secret)
        .set(
            "--redirect-uri",
            "https://romm.example.com/api/oauth/openid",
        )
        .set("--romm-url", &r.base_url())
        .set("--listen", &format!("127.0.0.1:{port}"))
        .set("--login-timeout", "20")
        .set("--browser-command", &browser::driver())
        .flag("--login");
    for (k, v) in extra {
        a = a.set(k, v);
    }
    doctor(
        &a,
        &[
            ("OIDC_ALLOW_REGISTRATION", "false"),
            ("ROMM_PASSWORD", ADMIN_PW),
        ],
    )
}

#[test]
fn login_registration_off_emulator_and_oidc_provider_both_ways() {
    const SECRET: &str = "s3cret-Xk93pQ7zLm20Wd55-abcdefgh";
    let e = emulator::pocket_id(Config {
        clients: vec![Client::confidential(
            "romm",
            SECRET,
            &[
                "https://romm.example.com/api/oauth/openid",
                "http://127.0.0.1/callback",
            ],
        )],
        ..Config::default()
    });
    let port = free_port();
    let p = Peer::start(json!({ "clients": [{
        "client_id": "romm",
        "client_secret": SECRET,
        "redirect_uris": [format!("http://127.0.0.1:{port}/callback")],
    }]}));
    for issuer in [e.issuer(), p.issuer.clone()] {
        // RomM knows only admin: alice's login is refused, as RomM refuses it.
        let r = romm(vec![users().remove(0)]);
        let (v, run) = login(&issuer, port, &r, SECRET, &[("--romm-username", "admin")]);
        expect_status(&v, "login.id-token", &["pass"]);
        has(
            &v,
            "romm.account",
            "fail",
            &["User registration is disabled."],
        );
        assert_eq!(run.code, 1, "{}", run.show());
        // RomM has alice: the login goes through to her account.
        let r = romm(users());
        let (v, _) = login(&issuer, port, &r, SECRET, &[("--romm-username", "admin")]);
        has(&v, "romm.account", "pass", &["RomM logs in as alice"]);
        expect_status(&v, "romm.users", &["pass"]);
        // No access, no --email: unproven, and it says how to prove it.
        let (v, _) = login(&issuer, port, &r, SECRET, &[]);
        let t = has(
            &v,
            "romm.account",
            "warn",
            &["Unproven", "--email", "--romm-username"],
        );
        assert!(t.contains("User registration is disabled."), "{t}");
        assert_eq!(
            check(&v, "romm.users")["status"],
            "skip",
            "{}",
            text(check(&v, "romm.users"))
        );
    }
}

#[test]
fn blank_values_read_as_romm_reads_them_not_as_the_defaults() {
    // RomM's _get_env: `os.environ.get(var) or fallback`, then strip — a blank
    // value is "", so registration is off and the username claim is ''.
    let (e, r) = (pocket_id(), romm(vec![users().remove(0)]));
    let keyed = admin(args(&e, &r))
        .set("--pocket-id-api-key", KEY)
        .set("--email", "alice@example.com");
    let (v, _) = doctor(
        &keyed,
        &[
            ("OIDC_ALLOW_REGISTRATION", "  "),
            ("ROMM_PASSWORD", ADMIN_PW),
        ],
    );
    has(
        &v,
        "romm.account",
        "fail",
        &["User registration is disabled."],
    );
    let (v, _) = doctor(
        &keyed,
        &[
            ("OIDC_USERNAME_ATTRIBUTE", " "),
            ("ROMM_PASSWORD", ADMIN_PW),
        ],
    );
    has(
        &v,
        "pocketid.preview",
        "fail",
        &["'' attribute is missing from token."],
    );
    // Empty is unset: RomM's defaults apply.
    let (v, _) = doctor(
        &keyed,
        &[
            ("OIDC_ALLOW_REGISTRATION", ""),
            ("OIDC_USERNAME_ATTRIBUTE", ""),
            ("ROMM_PASSWORD", ADMIN_PW),
        ],
    );
    has(&v, "romm.account", "pass", &["creates alice"]);
}
