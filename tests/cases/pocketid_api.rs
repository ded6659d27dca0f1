//! Black-box tests of the Pocket ID admin-API features of `romm-oidc`: the
//! `pocketid.*` doctor checks and the wizard's client/secret/user writes, run
//! through the real binary against the in-process Pocket ID emulator with its
//! admin REST API (pocketid-admin-api.md), on 127.0.0.1 only.

use std::path::Path;
use std::time::Duration;

use crate::support::browser;
use crate::support::prelude::*;
use crate::support::report::{PROVIDER_CHECKS, piece_of};
use pocket_id_emulator::{
    ApiKey, Client, Config, DEFAULT_CALLBACK, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
    DEFAULT_USER_ID, Emulator, Faults, RawResponse, RecordedRequest, SigningAlg, User,
};

/// The admin's API key: distinctive, so a leak of any 8 characters of it shows.
const KEY: &str = "pidKey-Zq7xW2vN9kL4mR8tY3uHs6dF";
const POCKETID_IDS: [&str; 5] = [
    "pocketid.version",
    "pocketid.client",
    "pocketid.callbacks",
    "pocketid.users",
    "pocketid.preview",
];

// ====================================================================== helpers

/// The emulator plus an admin user `admin` owning [`KEY`].
fn start(config: Config) -> Emulator {
    emulator::pocket_id(config.with_admin_api_key(KEY))
}

/// The default setup: client `romm` (confidential, RomM's callback), alice verified.
fn modern() -> Emulator {
    start(Config::default())
}

/// [`emulator::settings`] plus the admin key and the RomM user's email.
fn keyed(e: &Emulator) -> Args {
    emulator::settings(e)
        .set("--pocket-id-api-key", KEY)
        .set("--email", EMAIL)
}

/// Fails when any 8 consecutive characters of `secret` appear in `hay`.
#[track_caller]
fn assert_hidden(hay: &str, secret: &str, what: &str, run: &Run) {
    if let Some(piece) = piece_of(secret, hay) {
        panic!(
            "{what} ({piece:?} of it) appears in the output:\n{}",
            run.show()
        );
    }
}

#[track_caller]
fn assert_key_hidden(run: &Run) {
    assert_hidden(&run.stdout, KEY, "the API key", run);
    assert_hidden(&run.stderr, KEY, "the API key", run);
}

/// `doctor --json` (every run also proves the key stays out of the output).
fn doctor(args: &Args) -> (Value, Run) {
    doctor_env(args, &[])
}

fn doctor_env(args: &Args, env: &[(&str, &str)]) -> (Value, Run) {
    let sb = Sandbox::new();
    let (report, r) = doctor_loopback(&sb, args, "2", env);
    assert_key_hidden(&r);
    (report, r)
}

/// The checks that need no key still pass: the admin API's trouble stays in
/// its own findings.
#[track_caller]
fn assert_rest_passes(report: &Value) {
    // The provider checks that need no API key: they pass whatever the key does.
    for id in PROVIDER_CHECKS {
        expect_status(report, id, &["pass"]);
    }
}

/// Doctor runs only read: nothing was written through the admin API.
#[track_caller]
fn assert_read_only(e: &Emulator) {
    let writes = e.admin_writes();
    assert!(
        writes.is_empty(),
        "the doctor wrote to Pocket ID: {:?}",
        writes
            .iter()
            .map(|w| format!("{} {}", w.method, w.path))
            .collect::<Vec<_>>()
    );
}

fn client_with(f: impl FnOnce(&mut Client)) -> Config {
    let mut config = Config::default();
    f(&mut config.clients[0]);
    config
}

/// The emulator's default client, given to the wizard.
const DEFAULT_CLIENT: &[(&str, &str)] = &[
    ("--client-id", DEFAULT_CLIENT_ID),
    ("--client-secret", DEFAULT_CLIENT_SECRET),
];

/// One run of the non-interactive wizard (stdin is not a terminal): `--yes`,
/// RomM's URL, the emulator, the admin key, `--email`, merged into `env_file`.
/// The login test it runs is given no browser and the shortest wait (a zero
/// `--login-timeout` is refused).
fn wizard(e: &Emulator, env_file: &Path, extra: &[(&str, &str)]) -> Run {
    let sb = Sandbox::new();
    let mut args = Args::new()
        .flag("--yes")
        .set("--romm-url", ROMM_URL)
        .set("--issuer", &e.issuer())
        .set("--pocket-id-api-key", KEY)
        .set("--write", &env_file.display().to_string())
        .set("--email", EMAIL)
        .flag("--no-browser")
        .set("--login-timeout", "1")
        .set("--listen", "127.0.0.1:0");
    for (flag, value) in extra {
        args = args.set(flag, value);
    }
    let r = run_loopback(&sb, &["wizard", "--timeout", "5"], &args, &[]);
    assert_key_hidden(&r);
    r
}

/// `KEY='value'` lines of an env file.
fn env_value(path: &Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|l| {
        l.strip_prefix(&format!("{key}="))
            .map(|v| v.trim_matches('\'').to_string())
    })
}

/// The part of stderr after the wizard's closing list of changes.
fn changes_listed(r: &Run) -> String {
    r.stderr
        .split_once("Changed in Pocket ID")
        .map(|(_, list)| list.to_string())
        .unwrap_or_default()
}

/// The wizard's closing list names one change per write it made.
#[track_caller]
fn assert_every_write_listed(e: &Emulator, listed: &str, transcript: &str) {
    let bullets = listed.lines().filter(|l| l.contains('•')).count();
    let writes = e.admin_writes();
    assert_eq!(
        bullets,
        writes.len(),
        "changes listed vs writes made {:?}:\n{transcript}",
        writes
            .iter()
            .map(|w| format!("{} {}", w.method, w.path))
            .collect::<Vec<_>>()
    );
}

/// The body of the one `method` write to `path` the emulator received.
#[track_caller]
fn only_write(e: &Emulator, method: &str, path: &str) -> Value {
    let writes = writes_to(e, method, path);
    assert_eq!(writes.len(), 1, "{:?}", e.admin_writes());
    writes[0].json().expect("a JSON body")
}

/// The client the wizard created in Pocket ID: RomM's, confidential, without PKCE
/// (RomM sends none), registering RomM's callback.
#[track_caller]
fn assert_created_romms_client(e: &Emulator) {
    let body = only_write(e, "POST", "/api/oidc/clients");
    assert_eq!(body["name"], "RomM");
    assert_eq!(body["isPublic"], false);
    assert_eq!(body["pkceEnabled"], false);
    assert!(
        body["callbackURLs"]
            .as_array()
            .is_some_and(|l| l.contains(&json!(DEFAULT_CALLBACK))),
        "{body}"
    );
}

fn writes_to(e: &Emulator, method: &str, path: &str) -> Vec<RecordedRequest> {
    e.admin_writes()
        .into_iter()
        .filter(|w| w.method == method && w.path == path)
        .collect()
}

// ====================================================================== doctor: pocketid.version

#[test]
fn good_setup_passes_every_pocketid_check_and_writes_nothing() {
    let e = modern();
    let (report, r) = doctor(&keyed(&e));
    for id in POCKETID_IDS {
        expect_status(&report, id, &["pass"]);
    }
    let version = expect_status(&report, "pocketid.version", &["pass"]);
    assert!(version.contains("2.14.0"), "{version}");
    assert_eq!(
        check(&report, "pocketid.version")["data"]["version"],
        "2.14.0"
    );
    assert!(expect_status(&report, "pocketid.users", &["pass"]).contains(EMAIL));
    assert_rest_passes(&report);
    assert_eq!(r.code, 0, "{}", r.show());
    assert_read_only(&e);
    // The doctor authenticated with the key, in the X-API-Key header.
    let me = e
        .requests()
        .into_iter()
        .find(|q| q.path == "/api/users/me")
        .expect("GET /api/users/me");
    assert_eq!(me.header("x-api-key"), Some(KEY));
}

#[test]
fn wrong_key_fails_version_with_401_and_the_doctor_goes_on() {
    let e = modern();
    let (report, r) = doctor(&keyed(&e).set("--pocket-id-api-key", "not-the-key-0000000000000000"));
    let t = expect_status(&report, "pocketid.version", &["fail"]);
    assert!(t.contains("401"), "{t}");
    assert!(t.to_lowercase().contains("key"), "{t}");
    for id in &POCKETID_IDS[1..] {
        expect_status(&report, id, &["skip"]);
    }
    assert_rest_passes(&report);
    assert_eq!(r.code, 1);
}

#[test]
fn non_admin_or_disabled_key_fails_version_and_the_doctor_goes_on() {
    let mut config = Config::default();
    config.users.push(User::new("bob", Some("bob@example.com")));
    config
        .users
        .push(User::new("carol", Some("carol@example.com")));
    config.admins.push("carol".into());
    config.disabled_users.push("carol".into());
    config.api_keys = vec![
        ApiKey::new("bob-key-0123456789abcdef", "bob"),
        ApiKey::new("carol-key-0123456789abcdef", "carol"),
    ];
    let e = start(config);
    // bob is no admin: Pocket ID answers 403 on every admin route.
    let (report, _) = doctor(&keyed(&e).set("--pocket-id-api-key", "bob-key-0123456789abcdef"));
    let t = expect_status(&report, "pocketid.version", &["fail"]);
    assert!(t.contains("admin"), "{t}");
    for id in &POCKETID_IDS[1..] {
        expect_status(&report, id, &["skip"]);
    }
    assert_rest_passes(&report);
    // carol is an admin but disabled: 403 user_disabled.
    let (report, _) = doctor(&keyed(&e).set("--pocket-id-api-key", "carol-key-0123456789abcdef"));
    let t = expect_status(&report, "pocketid.version", &["fail"]);
    assert!(t.contains("403"), "{t}");
    assert_rest_passes(&report);
    assert_read_only(&e);
}

#[test]
fn v2_1_without_version_endpoint_or_email_verified_passes_with_notes() {
    let e = start(Config::for_version("2.1.0"));
    let (report, _) = doctor(&keyed(&e));
    let t = expect_status(&report, "pocketid.version", &["pass"]);
    assert!(
        t.contains("v2.3"),
        "the note names the missing endpoint: {t}"
    );
    // No emailVerified field before 2.2: the user check passes with a note.
    let t = expect_status(&report, "pocketid.users", &["pass"]);
    assert!(t.contains("2.2") && t.contains("Emails Verified"), "{t}");
    expect_status(&report, "pocketid.client", &["pass"]);
    expect_status(&report, "pocketid.callbacks", &["pass"]);
    assert_rest_passes(&report);
    // The note comes from asking: the emulator answered its NoRoute 404.
    let probe = e
        .requests()
        .into_iter()
        .find(|q| q.path == "/api/version/current");
    assert!(probe.is_some(), "the doctor asked for the version");
}

// ====================================================================== doctor: pocketid.client

#[test]
fn public_client_fails_pocketid_client() {
    let e = start(Config {
        clients: vec![Client {
            name: "RomM".into(),
            ..Client::public(DEFAULT_CLIENT_ID, &[DEFAULT_CALLBACK])
        }],
        ..Config::default()
    });
    let (report, _) = doctor(&keyed(&e));
    let t = expect_status(&report, "pocketid.client", &["fail"]);
    assert!(t.contains("public"), "{t}");
}

#[test]
fn pkce_client_fails_pocketid_client() {
    let e = start(client_with(|c| c.pkce_enabled = true));
    let (report, _) = doctor(&keyed(&e));
    let t = expect_status(&report, "pocketid.client", &["fail"]);
    assert!(t.contains("PKCE"), "{t}");
    assert_rest_passes(&report);
}

#[test]
fn group_restricted_client_names_the_groups_and_the_preview_is_refused() {
    let mut config = client_with(|c| {
        c.is_group_restricted = true;
        c.allowed_user_groups = vec!["romm-players".into(), "retro-club".into()];
    });
    config.users[0].groups = vec!["media".into()];
    let e = start(config);
    let (report, _) = doctor(&keyed(&e));
    let t = expect_status(&report, "pocketid.client", &["fail"]);
    assert!(
        t.contains("romm-players") && t.contains("retro-club"),
        "{t}"
    );
    // The preview answers 403 oidc_access_denied.
    let t = expect_status(&report, "pocketid.preview", &["fail"]);
    assert!(t.contains("403") && t.contains("group"), "{t}");
    assert_rest_passes(&report);
}

#[test]
fn group_restricted_client_passes_for_a_member() {
    let mut config = client_with(|c| {
        c.is_group_restricted = true;
        c.allowed_user_groups = vec!["romm-players".into()];
    });
    config.users[0].groups = vec!["media".into(), "romm-players".into()];
    let e = start(config);
    let (report, _) = doctor(&keyed(&e));
    expect_status(&report, "pocketid.client", &["pass"]);
    expect_status(&report, "pocketid.preview", &["pass"]);
}

// ====================================================================== doctor: pocketid.callbacks

#[test]
fn callback_exact_or_wildcard_match_passes() {
    for registered in [
        DEFAULT_CALLBACK,
        "https://*.example.com/api/oauth/openid",
        "https://romm.example.com/**",
    ] {
        let e = start(client_with(|c| {
            c.callback_urls = vec!["https://other.example.org/cb".into(), registered.into()]
        }));
        let (report, _) = doctor(&keyed(&e));
        let t = expect_status(&report, "pocketid.callbacks", &["pass"]);
        assert!(t.contains(registered), "{registered}: {t}");
    }
}

#[test]
fn callback_mismatch_fails_with_the_exact_url_to_add() {
    // (registered, OIDC_REDIRECT_URI): a trailing slash, then http vs https.
    for (registered, redirect) in [
        (
            DEFAULT_CALLBACK,
            "https://romm.example.com/api/oauth/openid/",
        ),
        (DEFAULT_CALLBACK, "http://romm.example.com/api/oauth/openid"),
        (
            "http://romm.example.com/api/oauth/openid",
            "https://romm.example.com/api/oauth/openid",
        ),
    ] {
        let e = start(client_with(|c| c.callback_urls = vec![registered.into()]));
        let (report, _) = doctor(&keyed(&e).set("--redirect-uri", redirect));
        expect_status(&report, "pocketid.callbacks", &["fail"]);
        let fix = check(&report, "pocketid.callbacks")["fix"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(
            fix.contains(&format!("add {redirect}")) && fix.ends_with(redirect),
            "{registered} vs {redirect}: {fix}"
        );
    }
}

#[test]
fn empty_callback_list_fails_on_2_10_plus_and_warns_on_2_9() {
    for (version, want) in [("2.14.0", "fail"), ("2.10.0", "fail"), ("2.9.0", "warn")] {
        let mut config = Config::for_version(version);
        config.clients[0].callback_urls.clear();
        let e = start(config);
        let (report, _) = doctor(&keyed(&e));
        let t = expect_status(&report, "pocketid.callbacks", &[want]);
        assert!(t.contains(DEFAULT_CALLBACK), "{version}: {t}");
        assert_read_only(&e);
        // The doctor's own probes never TOFU-registered a callback on 2.9.
        assert!(e.callback_urls(DEFAULT_CLIENT_ID).is_empty(), "{version}");
    }
}

// ====================================================================== doctor: pocketid.users and pocketid.preview

#[test]
fn unverified_user_fails_users_and_preview_with_the_same_verdict_as_login() {
    let mut config = client_with(|c| c.callback_urls.push(LOOPBACK_CALLBACK.into()));
    config.users[0].email_verified = false;
    let e = start(config);
    let args = keyed(&e)
        .flag("--login")
        .set("--listen", "127.0.0.1:0")
        .set("--login-timeout", "20")
        .set("--browser-command", &browser::driver());
    let (report, r) = doctor(&args);
    let users = expect_status(&report, "pocketid.users", &["fail"]);
    assert!(users.contains("Mark as verified"), "{users}");
    assert!(users.contains("Settings → Admin → Users"), "{users}");
    let preview = expect_status(&report, "pocketid.preview", &["fail"]);
    assert!(preview.contains("Email is not verified."), "{preview}");
    assert_eq!(
        check(&report, "pocketid.preview")["data"]["claims"]["email_verified"],
        false
    );
    // doctor --login reaches the same verdict from a real ID token.
    let login = expect_status(&report, "login.email-verified", &["fail"]);
    assert!(
        login.contains("Email is not verified."),
        "{login}\n{}",
        r.show()
    );
    assert_read_only(&e);
}

#[test]
fn unknown_email_fails_users() {
    let e = modern();
    let (report, _) = doctor(&keyed(&e).set("--email", "nobody@example.com"));
    let t = expect_status(&report, "pocketid.users", &["fail"]);
    assert!(t.contains("nobody@example.com"), "{t}");
    expect_status(&report, "pocketid.preview", &["skip"]);
    // The search went through the API's substring search.
    assert!(e.requests().iter().any(|q| q.path == "/api/users"
        && q.query_value("search").as_deref() == Some("nobody@example.com")));
}

// ====================================================================== doctor: skips

#[test]
fn without_a_key_every_pocketid_check_is_skipped() {
    let e = modern();
    let (report, _) = doctor(&settings(&e).set("--email", EMAIL));
    for id in POCKETID_IDS {
        expect_status(&report, id, &["skip"]);
    }
    assert_rest_passes(&report);
    assert!(
        !e.requests().iter().any(|q| q.header("x-api-key").is_some()),
        "no admin call without a key"
    );
}

#[test]
fn another_provider_skips_every_pocketid_check() {
    // A Keycloak-shaped discovery document: not Pocket ID.
    let realm = "https://sso.example.net/realms/home";
    let doc = json!({
        "issuer": realm,
        "authorization_endpoint": format!("{realm}/protocol/openid-connect/auth"),
        "token_endpoint": format!("{realm}/protocol/openid-connect/token"),
        "userinfo_endpoint": format!("{realm}/protocol/openid-connect/userinfo"),
        "jwks_uri": format!("{realm}/protocol/openid-connect/certs"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "email", "email_verified"]
    });
    let e = start(Config {
        faults: Faults {
            overrides: vec![(
                "/.well-known/openid-configuration".into(),
                RawResponse::new(200, "application/json", doc.to_string()),
            )],
            ..Faults::default()
        },
        ..Config::default()
    });
    let (report, _) = doctor(&keyed(&e));
    expect_status(&report, "discovery.fetch", &["pass"]);
    for id in POCKETID_IDS {
        let t = expect_status(&report, id, &["skip"]);
        assert!(t.contains("not Pocket ID"), "{id}: {t}");
    }
    assert!(!e.requests().iter().any(|q| q.header("x-api-key").is_some()));
}

// ====================================================================== secrets

#[test]
fn the_api_key_never_appears_in_any_output_mode() {
    let e = modern();
    let sb = Sandbox::new();
    let key_file = sb.file("pocket-id.key", format!("{KEY}\n"));
    let mut runs = Vec::new();
    for mode in [
        &["doctor", "--timeout", "2"][..],
        &["doctor", "--timeout", "2", "-v"][..],
        &["doctor", "--timeout", "2", "-vv"][..],
        &["doctor", "--timeout", "2", "--json", "-vv"][..],
    ] {
        runs.push(run_loopback(&sb, mode, &keyed(&e), &[]));
    }
    // From a file, from the environment, and a refused key on the verbose path.
    runs.push(run_loopback(
        &sb,
        &["doctor", "--timeout", "2", "-vv"],
        &settings(&e)
            .set("--email", EMAIL)
            .set("--pocket-id-api-key-file", &key_file.display().to_string()),
        &[],
    ));
    runs.push(run_loopback(
        &sb,
        &["doctor", "--timeout", "2", "-vv", "--json"],
        &settings(&e).set("--email", EMAIL),
        &[("POCKET_ID_API_KEY", KEY)],
    ));
    let wrong = "refusedKey-Pq8rT5wX2cV7bN4mL9kJ";
    let refused = run_loopback(
        &sb,
        &["doctor", "--timeout", "2", "-vv"],
        &settings(&e).set("--pocket-id-api-key", wrong),
        &[],
    );
    assert_hidden(&refused.stdout, wrong, "the refused key", &refused);
    assert_hidden(&refused.stderr, wrong, "the refused key", &refused);
    for r in &runs {
        assert_key_hidden(r);
        assert!(
            r.stdout.contains("pocketid.version"),
            "each run reached the API checks:\n{}",
            r.show()
        );
    }
    // The verbose runs did show the admin requests (so the check is not vacuous).
    assert!(
        runs[2].stderr.contains("/api/users/me"),
        "{}",
        runs[2].show()
    );
    // Every key source reached the API.
    let keyed_calls = e
        .requests()
        .into_iter()
        .filter(|q| q.path == "/api/users/me" && q.header("x-api-key") == Some(KEY))
        .count();
    assert!(keyed_calls >= 6, "{keyed_calls} authenticated calls");
}

// ====================================================================== wizard

/// `wizard --yes` without `--client-id`: creates the RomM client through the
/// API, creates its secret at `secret_path` (the endpoint of that version),
/// writes both into the env file without showing the secret, and the doctor
/// then accepts the credentials.
fn wizard_creates_client_and_secret(version: &str, secret_path: &str) {
    let e = start(Config::for_version(version));
    let sb = Sandbox::new();
    let env_file = sb.path().join("romm.env");
    let r = wizard(&e, &env_file, &[]);
    assert_eq!(r.code, 0, "{version}: the wizard failed:\n{}", r.show());

    assert_created_romms_client(&e);
    let ids: Vec<String> = e
        .clients()
        .into_iter()
        .map(|c| c.id)
        .filter(|id| id != DEFAULT_CLIENT_ID)
        .collect();
    assert_eq!(ids.len(), 1, "one new client: {ids:?}");
    let id = &ids[0];
    let secret_calls = writes_to(&e, "POST", &format!("/api/oidc/clients/{id}/{secret_path}"));
    assert_eq!(secret_calls.len(), 1, "{:?}", e.admin_writes());
    // Nothing else was touched.
    for w in e.admin_writes() {
        assert!(
            !w.path.contains(&format!("/clients/{DEFAULT_CLIENT_ID}")),
            "touched another client: {} {}",
            w.method,
            w.path
        );
    }
    let secret = e.client(id).and_then(|c| c.secret).expect("a secret");
    assert!(e.secret_is_valid(id, &secret));
    assert_eq!(
        env_value(&env_file, "OIDC_CLIENT_ID").as_deref(),
        Some(id.as_str())
    );
    assert_eq!(
        env_value(&env_file, "OIDC_CLIENT_SECRET").as_deref(),
        Some(secret.as_str())
    );
    assert_hidden(&r.stdout, &secret, "the client secret", &r);
    assert_hidden(&r.stderr, &secret, "the client secret", &r);
    let changes = changes_listed(&r);
    assert!(
        changes.contains(id.as_str()) && changes.contains("created"),
        "{}",
        r.show()
    );
    assert!(changes.contains("secret"), "{}", r.show());
    assert_every_write_listed(&e, &changes, &r.show());

    let (report, _) = doctor_env(
        &Args::new().set("--env-file", &env_file.display().to_string()),
        &[],
    );
    expect_status(&report, "client.credentials", &["pass"]);
}

#[test]
fn wizard_yes_creates_the_client_and_a_secret_on_2_14() {
    wizard_creates_client_and_secret("2.14.0", "secrets");
}

#[test]
fn wizard_yes_creates_the_client_and_a_secret_on_2_13() {
    wizard_creates_client_and_secret("2.13.0", "secret");
}

#[test]
fn wizard_repairs_a_pkce_client_with_a_put_that_keeps_everything_else() {
    let other_callbacks = ["https://romm.lan/api/oauth/openid", LOOPBACK_CALLBACK];
    let mut config = client_with(|c| {
        c.pkce_enabled = true;
        c.callback_urls = vec![
            DEFAULT_CALLBACK.into(),
            other_callbacks[0].into(),
            other_callbacks[1].into(),
        ];
        c.logout_callback_urls = vec!["https://romm.example.com/logout".into()];
        c.skip_consent = true;
        c.requires_reauthentication = true;
        c.description = "ROM library".into();
        c.launch_url = Some("https://romm.example.com".into());
        c.is_group_restricted = true;
        c.allowed_user_groups = vec!["romm-players".into()];
        c.access_token_minutes = 15;
        c.federated_identities = vec![json!({
            "issuer": "https://ci.example.com",
            "subject": "repo:home/romm",
            "audience": "romm",
            "replayProtection": false
        })];
    });
    config.users[0].groups = vec!["romm-players".into()];
    config.clients.push(Client {
        name: "Jellyfin".into(),
        pkce_enabled: true,
        ..Client::confidential(
            "jellyfin",
            "jellyfin-secret-0123456789",
            &["https://tv.example.com/cb"],
        )
    });
    let e = start(config);
    let jellyfin_before = e.client("jellyfin").unwrap();
    let romm_before = e.client(DEFAULT_CLIENT_ID).unwrap();
    let sb = Sandbox::new();
    let env_file = sb.path().join(".env");
    let r = wizard(&e, &env_file, DEFAULT_CLIENT);
    assert_eq!(r.code, 0, "{}", r.show());
    let body = only_write(&e, "PUT", &format!("/api/oidc/clients/{DEFAULT_CLIENT_ID}"));
    assert_eq!(body["pkceEnabled"], false, "{body}");
    assert_eq!(body["isPublic"], false);
    assert_eq!(
        body["callbackURLs"],
        json!([DEFAULT_CALLBACK, other_callbacks[0], other_callbacks[1]]),
        "every callback kept, in order"
    );
    assert_eq!(
        body["logoutCallbackURLs"],
        json!(["https://romm.example.com/logout"])
    );
    assert_eq!(body["skipConsent"], true);
    assert_eq!(body["requiresReauthentication"], true);
    assert_eq!(body["description"], "ROM library");
    assert_eq!(body["launchURL"], "https://romm.example.com");
    assert_eq!(body["name"], "RomM");
    assert_eq!(body["isGroupRestricted"], true);
    assert_eq!(body["accessTokenDurationMinutes"], 15);
    // The full replace left the client as it was, PKCE aside.
    let after = e.client(DEFAULT_CLIENT_ID).unwrap();
    assert_eq!(
        after,
        Client {
            pkce_enabled: false,
            ..romm_before
        }
    );
    assert!(e.secret_is_valid(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET));
    // Other clients are never touched, and no secret was made.
    assert_eq!(e.client("jellyfin").unwrap(), jellyfin_before);
    for w in e.admin_writes() {
        assert!(
            !w.path.contains("jellyfin") && !w.path.contains("/secret"),
            "{} {}",
            w.method,
            w.path
        );
    }
    let changes = changes_listed(&r);
    assert!(changes.contains("PKCE: on → off"), "{}", r.show());
    assert_every_write_listed(&e, &changes, &r.show());
    assert_eq!(
        env_value(&env_file, "OIDC_CLIENT_ID").as_deref(),
        Some(DEFAULT_CLIENT_ID)
    );
}

#[test]
fn wizard_marks_an_unverified_user_verified_with_a_full_put() {
    let mut config = Config::default();
    config.users[0].email_verified = false;
    config.admins.push("alice".into());
    let e = start(config);
    let sb = Sandbox::new();
    let env_file = sb.path().join(".env");
    let r = wizard(&e, &env_file, DEFAULT_CLIENT);
    assert_eq!(r.code, 0, "{}", r.show());
    let body = only_write(&e, "PUT", &format!("/api/users/{DEFAULT_USER_ID}"));
    assert_eq!(body["emailVerified"], true, "{body}");
    assert_eq!(body["isAdmin"], true, "isAdmin kept: {body}");
    assert_eq!(body["disabled"], false);
    assert_eq!(body["username"], "alice");
    assert_eq!(body["email"], EMAIL);
    assert_eq!(body["firstName"], "Alice");
    assert_eq!(body["lastName"], "Example");
    assert_eq!(body["displayName"], "Alice Example");
    let account = e.account("alice").unwrap();
    assert!(account.user.email_verified && account.is_admin && !account.disabled);
    assert_eq!(account.user.first_name, "Alice");
    let changes = changes_listed(&r);
    assert!(
        changes.contains("emailVerified set to true"),
        "{}",
        r.show()
    );
    assert_every_write_listed(&e, &changes, &r.show());
    // The claims Pocket ID issues now pass RomM's rules.
    let (report, _) = doctor(&keyed(&e));
    expect_status(&report, "pocketid.users", &["pass"]);
    expect_status(&report, "pocketid.preview", &["pass"]);
}

// ====================================================================== wizard in a terminal

mod pty {
    use super::*;
    use crate::support::bin::{self, Env};
    use crate::support::pty::{Escapes, Pty};

    const STEP: Duration = Duration::from_secs(15);

    fn spawn(e: &Emulator, dir: &Path, env_file: &Path, extra: &[&str]) -> Pty {
        let mut c = bin::command(dir);
        c.plain()
            .loopback()
            .xterm()
            .arg("wizard")
            .arg(format!("--romm-url={ROMM_URL}"))
            .arg(format!("--issuer={}", e.issuer()))
            .arg(format!("--pocket-id-api-key={KEY}"))
            .arg(format!("--email={EMAIL}"))
            .arg(format!("--write={}", env_file.display()))
            .args(extra);
        Pty::spawn(c, STEP, Escapes::Stripped)
    }

    #[test]
    fn answering_no_to_the_creation_prompt_writes_nothing() {
        let e = modern();
        let dir = Sandbox::new();
        let env_file = dir.path().join(".env");
        let mut s = spawn(&e, dir.path(), &env_file, &[]);
        s.expect("Create it in Pocket ID?");
        s.send("n");
        // The manual steps follow, then the client id is asked for.
        s.expect("Add OIDC Client");
        s.expect("Client ID");
        assert!(
            e.admin_writes().is_empty(),
            "wrote to Pocket ID after a no: {:?}",
            e.admin_writes()
        );
        s.stop();
        let seen = s.transcript();
        assert!(e.admin_writes().is_empty());
        assert!(!env_file.exists());
        assert!(!seen.contains(KEY), "{seen}");
    }

    /// Extra: the creation path, answered yes at every step, for both secret
    /// endpoints (this is what `wizard --yes` cannot reach, see above).
    fn answering_yes_creates(version: &str, secret_path: &str, extra: &[&str]) {
        let e = start(Config::for_version(version));
        let dir = Sandbox::new();
        let env_file = dir.path().join(".env");
        let mut s = spawn(&e, dir.path(), &env_file, extra);
        s.expect("Create it in Pocket ID?");
        s.send("y");
        s.expect("Create a client secret now?");
        s.send("y");
        s.expect("Client id and secret accepted");
        s.expect("Run a real login now");
        s.send("n");
        s.expect("Map RomM roles from a group claim?");
        s.send("n");
        s.expect("wrote 6 RomM variables");
        s.expect("Changed in Pocket ID");
        s.finish();
        let seen = s.transcript();
        assert_created_romms_client(&e);
        let id = env_value(&env_file, "OIDC_CLIENT_ID").expect("OIDC_CLIENT_ID written");
        assert_eq!(
            writes_to(&e, "POST", &format!("/api/oidc/clients/{id}/{secret_path}")).len(),
            1,
            "{version}: {:?}",
            e.admin_writes()
        );
        let secret = env_value(&env_file, "OIDC_CLIENT_SECRET").expect("secret written");
        assert!(e.secret_is_valid(&id, &secret));
        assert!(
            piece_of(&secret, &seen).is_none(),
            "the secret was shown:\n{seen}"
        );
        assert!(!seen.contains(KEY), "{seen}");
        if extra.contains(&"-vv") {
            // The check is not vacuous: the secret's response was logged, masked.
            assert!(
                seen.contains(&format!("> POST {}/api/oidc/clients/{id}/", e.issuer())),
                "{seen}"
            );
        }
        let changes = seen
            .split_once("Changed in Pocket ID")
            .map(|(_, l)| l.to_string())
            .unwrap_or_default();
        assert!(
            changes.contains(&format!("client {id} \"RomM\" created")),
            "{seen}"
        );
        assert_every_write_listed(&e, &changes, &seen);
        let (report, _) = doctor_env(
            &Args::new().set("--env-file", &env_file.display().to_string()),
            &[],
        );
        expect_status(&report, "client.credentials", &["pass"]);
    }

    #[test]
    fn answering_yes_creates_the_client_and_a_secret_on_2_14() {
        // Verbose: the request log must keep the new secret and the key hidden too.
        answering_yes_creates("2.14.0", "secrets", &["-vv"]);
    }

    #[test]
    fn answering_yes_creates_the_client_and_a_secret_on_2_13() {
        answering_yes_creates("2.13.0", "secret", &[]);
    }
}

// ====================================================================== EdDSA and at_hash by version

/// Pocket ID 2.10.0–2.14.0 give EdDSA ID tokens a SHA-256 at_hash that RomM's
/// authlib refuses; 2.9 and older put none. `discovery.metadata` judges by the
/// release the API key reveals, and by the discovery shape without a key.
#[test]
fn eddsa_verdict_follows_the_pocket_id_release() {
    let eddsa = |version: &str| {
        start(Config {
            alg: SigningAlg::EdDSA,
            ..Config::for_version(version)
        })
    };
    for (version, status, words) in [
        (
            "2.10.0",
            "fail",
            &[
                "2.10.0",
                "refuses every EdDSA ID token",
                "key-rotate --alg RS256",
            ][..],
        ),
        (
            "2.14.0",
            "fail",
            &["2.14.0", "SHA-256", "SHA-512", "Upgrading does not help"],
        ),
        (
            "2.9.0",
            "pass",
            &["2.9.0", "no at_hash", "before upgrading"],
        ),
        ("2.15.0", "warn", &["2.15.0", "not known", "doctor --login"]),
    ] {
        let e = eddsa(version);
        let (report, _) = doctor(&keyed(&e));
        expect_status(&report, "pocketid.version", &["pass"]);
        let t = expect_status(&report, "discovery.metadata", &[status]);
        for w in words {
            assert!(t.contains(w), "{version}: {w:?} in {t}");
        }
    }
    // Without the key: a 2.10+ discovery shape warns and names the releases,
    // a legacy one passes with the upgrade caveat.
    let (report, _) = doctor(&settings(&eddsa("2.12.0")));
    let t = expect_status(&report, "discovery.metadata", &["warn"]);
    assert!(
        t.contains("2.10.0 to 2.14.0") && t.contains("--pocket-id-api-key"),
        "{t}"
    );
    let (report, _) = doctor(&settings(&eddsa("2.6.0")));
    let t = expect_status(&report, "discovery.metadata", &["pass"]);
    assert!(t.contains("no at_hash"), "{t}");
    // An RS256 key is fine on every release.
    let (report, _) = doctor(&keyed(&start(Config::for_version("2.12.0"))));
    expect_status(&report, "discovery.metadata", &["pass"]);
}

// ====================================================================== RomM's callback on Pocket ID ≤ 2.9

#[test]
fn legacy_callback_unprovable_without_a_key_is_proven_by_pocketid_callbacks() {
    let e = start(Config::for_version("2.9.0"));
    // Without a key: client.redirect-uri cannot tell, and the verdict says how.
    let (report, _) = doctor(&settings(&e));
    expect_status(&report, "client.redirect-uri", &["warn"]);
    let open = report["verdict"]["open"].as_array().unwrap();
    let callback = open
        .iter()
        .find(|o| o["what"] == "RomM's callback at the provider")
        .unwrap_or_else(|| panic!("the callback is not named as open: {open:#?}"));
    assert!(
        callback["how"]
            .as_str()
            .unwrap()
            .contains("--pocket-id-api-key"),
        "{callback:#}"
    );
    // With a key the registered callback list proves it.
    let (report, _) = doctor(&keyed(&e));
    expect_status(&report, "client.redirect-uri", &["warn"]);
    expect_status(&report, "pocketid.callbacks", &["pass"]);
    let open = report["verdict"]["open"].as_array().unwrap();
    assert!(
        !open
            .iter()
            .any(|o| o["what"] == "RomM's callback at the provider"),
        "{open:#?}"
    );
    assert_read_only(&e);
}
