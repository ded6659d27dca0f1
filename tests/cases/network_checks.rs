//! Black-box tests of the network checks of `romm-oidc doctor`: the real binary
//! against the in-process Pocket ID emulator and RomM double (both on
//! 127.0.0.1:0), asserting check ids, statuses, key words and exit codes.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::support::http::get_json;
use crate::support::prelude::*;
use crate::support::report::PROVIDER_CHECKS;
use crate::support::wire;
use base64::Engine;
use pocket_id_emulator::{
    Client, Config, DEFAULT_CALLBACK, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Emulator, Faults,
    Profile, RawResponse, RommConfig, RommEmulator,
};

const DISCOVERY: &str = "/.well-known/openid-configuration";
const JWKS: &str = "/.well-known/jwks.json";
const JSON_CT: &str = "application/json; charset=utf-8";

// ====================================================================== helpers

/// RomM double's callback on any loopback port (Pocket ID pattern rules).
const ROMM_DOUBLE_CALLBACK: &str = "http://127.0.0.1:*/api/oauth/openid";

/// An emulator whose clients also accept the RomM double's callback, as a
/// working setup registers RomM's callback (client.redirect-uri checks it).
fn start(mut config: Config) -> Emulator {
    for client in &mut config.clients {
        client.callback_urls.push(ROMM_DOUBLE_CALLBACK.into());
    }
    emulator::pocket_id(config)
}

fn modern() -> Emulator {
    start(Config::default())
}

fn with_faults(faults: Faults) -> Emulator {
    start(Config {
        faults,
        ..Config::default()
    })
}

/// An emulator that answers `path` with a canned response.
fn overriding(path: &str, status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Emulator {
    with_faults(Faults {
        overrides: vec![(
            path.to_string(),
            RawResponse::new(status, content_type, body),
        )],
        ..Faults::default()
    })
}

/// `romm-oidc doctor --timeout <t> <args>` with loopback exempt from the dead proxy.
fn run_doctor(sb: &Sandbox, args: &Args, timeout: &str, extra_env: &[(&str, &str)]) -> Run {
    sandbox::run_loopback(sb, &["doctor", "--timeout", timeout], args, extra_env)
}

/// `doctor --json` (timeout 5 s); returns the report and the run.
fn doctor(sb: &Sandbox, args: &Args) -> (Value, Run) {
    doctor_env(sb, args, &[])
}

fn doctor_env(sb: &Sandbox, args: &Args, extra_env: &[(&str, &str)]) -> (Value, Run) {
    let (v, r) = sandbox::doctor_loopback(sb, args, "5", extra_env);
    assert!(
        r.code == 0 || r.code == 1,
        "doctor exited {} (expected 0 or 1):\n{}",
        r.code,
        r.show()
    );
    let any_fail = checks(&v).iter().any(|c| c["status"] == "fail");
    assert_eq!(
        v["ok"],
        json!(!any_fail),
        "\"ok\" disagrees with the statuses:\n{v:#}"
    );
    assert_eq!(
        r.code,
        if any_fail { 1 } else { 0 },
        "exit code disagrees with the statuses:\n{}",
        r.show()
    );
    (v, r)
}

/// Asserts the status and that every word appears (case-insensitively) in the
/// check's text (summary, detail, fix, expected, found); returns the text.
#[track_caller]
fn expect(report: &Value, id: &str, status: &[&str], words: &[&str]) -> String {
    let t = expect_status(report, id, status);
    let lower = t.to_lowercase();
    for w in words {
        assert!(
            lower.contains(&w.to_lowercase()),
            "{id}: expected the word {w:?} in its text:\n{:#}",
            check(report, id)
        );
    }
    t
}

#[track_caller]
fn field<'a>(report: &'a Value, id: &str, name: &str) -> &'a str {
    check(report, id)[name]
        .as_str()
        .unwrap_or_else(|| panic!("{id} has no string {name}:\n{:#}", check(report, id)))
}

/// The discovery document of a working emulator, to be altered and served by another.
fn discovery_of(e: &Emulator) -> Value {
    get_json(&format!("{}{DISCOVERY}", e.internal_url()))
}

/// An emulator serving `doc` as its discovery document.
fn serving_discovery(doc: &Value) -> Emulator {
    overriding(DISCOVERY, 200, JSON_CT, doc.to_string())
}

/// The real emulator's key set, altered by `edit`, served by another emulator
/// whose discovery stays its own.
fn serving_jwks(edit: impl FnOnce(&mut Value)) -> (Emulator, Emulator) {
    let real = modern();
    let mut set = get_json(&format!("{}{JWKS}", real.internal_url()));
    edit(&mut set);
    let served = overriding(JWKS, 200, JSON_CT, set.to_string());
    (real, served)
}

/// `doctor --json` against a legacy Pocket ID (before 2.0) with the default client.
fn legacy_doctor() -> Value {
    let e = start(Config {
        profile: Profile::Legacy,
        ..Config::default()
    });
    doctor(&Sandbox::new(), &settings(&e)).0
}

/// A port on 127.0.0.1 where nothing listens.
fn dead_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn romm_env(issuer: &str, client_id: &str) -> Vec<(String, String)> {
    [
        ("OIDC_ENABLED", "true"),
        ("OIDC_PROVIDER", "pocket-id"),
        ("OIDC_CLIENT_ID", client_id),
        ("OIDC_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
        ("OIDC_REDIRECT_URI", "{romm_base_url}/api/oauth/openid"),
        ("OIDC_SERVER_APPLICATION_URL", issuer),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A RomM double with the matching env, then `edit` applied (later entries win).
fn romm(issuer: &str, edit: &[(&str, &str)]) -> RommEmulator {
    let mut env = romm_env(issuer, DEFAULT_CLIENT_ID);
    env.extend(edit.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    emulator::romm(RommConfig {
        env,
        ..RommConfig::default()
    })
}

/// Settings for the emulator plus `--romm-url` (the callback is derived from it).
fn with_romm(e: &Emulator, r: &RommEmulator) -> Args {
    settings(e)
        .unset("--redirect-uri")
        .set("--romm-url", &r.base_url())
}

// ====================================================================== discovery.fetch

#[test]
fn happy_path_passes_every_provider_check() {
    let e = modern();
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &settings(&e));
    let url = format!("{}{DISCOVERY}", e.issuer());
    expect(&v, "discovery.fetch", &["pass"], &[&url]);
    expect(&v, "discovery.issuer", &["pass"], &[&e.issuer()]);
    expect(
        &v,
        "discovery.metadata",
        &["pass"],
        &["Pocket ID", "modern", "RS256"],
    );
    let summary = field(&v, "discovery.metadata", "summary");
    assert!(
        !summary.contains("legacy"),
        "modern called legacy: {summary}"
    );
    expect(&v, "jwks.keys", &["pass"], &[&e.kid()]);
    expect(&v, "client.exists", &["pass"], &[DEFAULT_CLIENT_ID, "RomM"]);
    expect(
        &v,
        "client.credentials",
        &["pass"],
        &["client_secret_basic"],
    );
    // Without --romm-url the RomM probes are skipped, not failed.
    expect_status(&v, "romm.heartbeat", &["skip"]);
    expect_status(&v, "romm.login-redirect", &["skip"]);
}

#[test]
fn discovery_redirect_is_not_followed() {
    // The redirect points at a working discovery document: following it would pass.
    let target = modern();
    let to = format!("{}{DISCOVERY}", target.issuer());
    let e = with_faults(Faults {
        discovery_redirect: Some(to.clone()),
        ..Faults::default()
    });
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &settings(&e));
    let t = expect(&v, "discovery.fetch", &["fail"], &["redirect", "301", &to]);
    assert!(
        target.requests().iter().all(|r| r.path != DISCOVERY),
        "the CLI followed the redirect; RomM does not:\n{t}"
    );
    expect_status(&v, "discovery.issuer", &["skip"]);
    expect_status(&v, "discovery.metadata", &["skip"]);
    expect_status(&v, "jwks.keys", &["skip"]);
}

#[test]
fn discovery_404_fails() {
    let e = overriding(
        DISCOVERY,
        404,
        JSON_CT,
        r#"{"error":"API endpoint not found"}"#,
    );
    let sb = Sandbox::new();
    let (v, r) = doctor(&sb, &settings(&e));
    let t = expect(&v, "discovery.fetch", &["fail"], &["404"]);
    assert!(
        t.contains("OIDC_SERVER_APPLICATION_URL"),
        "the fix should name the variable:\n{t}"
    );
    assert_eq!(r.code, 1);
}

#[test]
fn discovery_500_fails() {
    let e = overriding(DISCOVERY, 500, "text/plain", "Internal Server Error");
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &settings(&e));
    expect(&v, "discovery.fetch", &["fail"], &["500"]);
    expect_status(&v, "jwks.keys", &["skip"]);
}

#[test]
fn discovery_html_page_fails() {
    let e = with_faults(Faults {
        html_discovery: true,
        ..Faults::default()
    });
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &settings(&e));
    expect(&v, "discovery.fetch", &["fail"], &["HTML"]);
    let summary = field(&v, "discovery.fetch", "summary");
    assert!(
        summary.contains("HTML") && summary.contains("JSON"),
        "summary should say HTML, not JSON: {summary}"
    );
}

#[test]
fn discovery_json_array_fails() {
    let e = overriding(DISCOVERY, 200, JSON_CT, "[]");
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &settings(&e));
    expect(&v, "discovery.fetch", &["fail"], &["object", "array"]);
}

#[test]
fn discovery_untrusted_tls_fails_with_cacertfile_fix() {
    let e = start(Config {
        tls: true,
        ..Config::default()
    });
    assert!(e.issuer().starts_with("https://"));
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &settings(&e));
    expect(&v, "discovery.fetch", &["fail"], &["certificate"]);
    let fix = field(&v, "discovery.fetch", "fix");
    assert!(
        fix.contains("OIDC_TLS_CACERTFILE"),
        "fix should mention OIDC_TLS_CACERTFILE: {fix}"
    );
    expect_status(&v, "tls.ca-file", &["skip"]);
}

#[test]
fn discovery_connection_refused_fails() {
    let port = dead_port();
    let sb = Sandbox::new();
    let args = Args::new()
        .set("--issuer", &format!("http://127.0.0.1:{port}"))
        .set("--client-id", DEFAULT_CLIENT_ID)
        .set("--client-secret", DEFAULT_CLIENT_SECRET)
        .set("--redirect-uri", DEFAULT_CALLBACK);
    let started = Instant::now();
    let (v, _) = doctor(&sb, &args);
    expect(
        &v,
        "discovery.fetch",
        &["fail"],
        &["refused", &format!("127.0.0.1:{port}")],
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "a refused connection should fail at once, took {:?}",
        started.elapsed()
    );
}

#[test]
fn discovery_timeout_fails_within_the_limit() {
    // Accepts connections and never answers.
    let silent = wire::silent();
    let port = silent.port();
    let sb = Sandbox::new();
    let args = Args::new()
        .set("--issuer", &format!("http://127.0.0.1:{port}"))
        .set("--client-id", DEFAULT_CLIENT_ID)
        .set("--client-secret", DEFAULT_CLIENT_SECRET)
        .set("--redirect-uri", DEFAULT_CALLBACK)
        .flag("--json");
    let started = Instant::now();
    let r = run_doctor(&sb, &args, "1", &[]);
    let took = started.elapsed();
    let v: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", r.show()));
    expect(&v, "discovery.fetch", &["fail"], &["timed out"]);
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(3500),
        "--timeout 1 should end in about 1 s, took {took:?}"
    );
}

#[test]
fn discovery_unknown_host_fails_with_dns_finding() {
    let sb = Sandbox::new();
    let args = Args::new()
        .set("--issuer", "http://romm-oidc-test.invalid")
        .set("--client-id", DEFAULT_CLIENT_ID)
        .set("--client-secret", DEFAULT_CLIENT_SECRET)
        .set("--redirect-uri", DEFAULT_CALLBACK);
    // The name must reach the resolver, not the dead proxy.
    let (v, _) = doctor_env(
        &sb,
        &args,
        &[("NO_PROXY", "127.0.0.1,localhost,romm-oidc-test.invalid")],
    );
    let t = expect(
        &v,
        "discovery.fetch",
        &["fail"],
        &["romm-oidc-test.invalid"],
    );
    let lower = t.to_lowercase();
    assert!(
        lower.contains("not found") || lower.contains("resolve") || lower.contains("dns"),
        "the finding should say the name does not resolve:\n{t}"
    );
    assert!(
        !lower.contains("refused"),
        "went to the proxy, not the resolver:\n{t}"
    );
}

// ====================================================================== discovery.issuer

#[test]
fn wrong_published_issuer_warns_with_both_values() {
    let other = "https://id.other.example";
    let e = with_faults(Faults {
        wrong_issuer: Some(other.to_string()),
        ..Faults::default()
    });
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &settings(&e));
    expect(&v, "discovery.issuer", &["warn"], &[]);
    let expected = field(&v, "discovery.issuer", "expected");
    let found = field(&v, "discovery.issuer", "found");
    let both = format!("{expected}\n{found}");
    assert!(
        both.contains(other) && both.contains(&e.issuer()),
        "expected/found should show {other} and {}: expected={expected:?} found={found:?}",
        e.issuer()
    );
    expect_status(&v, "discovery.fetch", &["pass"]);
}

#[test]
fn pocket_id_default_issuer_warns() {
    let real = modern();
    let i = real.internal_url();
    let a = "http://localhost:1411";
    // Pocket ID without APP_URL, but with INTERNAL_APP_URL pointing at a live server.
    let doc = json!({
        "authorization_endpoint": format!("{a}/authorize"),
        "claims_supported": ["sub", "given_name", "family_name", "name", "display_name", "email",
            "email_verified", "preferred_username", "picture", "groups", "auth_time", "amr"],
        "code_challenge_methods_supported": ["plain", "S256"],
        "end_session_endpoint": format!("{a}/api/oidc/end-session"),
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "issuer": a,
        "jwks_uri": format!("{i}/.well-known/jwks.json"),
        "request_parameter_supported": true,
        "response_types_supported": ["code"],
        "scopes_supported": ["openid", "profile", "email", "groups", "offline_access"],
        "subject_types_supported": ["public"],
        "token_endpoint": format!("{i}/api/oidc/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "userinfo_endpoint": format!("{i}/api/oidc/userinfo"),
    });
    let e = serving_discovery(&doc);
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &settings(&e));
    expect(
        &v,
        "discovery.issuer",
        &["warn"],
        &["localhost:1411", "APP_URL"],
    );
    assert_eq!(field(&v, "discovery.issuer", "found"), a);
}

// ====================================================================== discovery.metadata

#[test]
fn legacy_pocket_id_is_recognised() {
    let v = legacy_doctor();
    let summary = field(&v, "discovery.metadata", "summary");
    expect_status(&v, "discovery.metadata", &["pass"]);
    assert!(
        summary.contains("Pocket ID") && summary.contains("legacy"),
        "summary should name legacy Pocket ID: {summary}"
    );
    assert!(
        !summary.contains("modern"),
        "legacy called modern: {summary}"
    );
    expect_status(&v, "jwks.keys", &["pass"]);
    expect_status(&v, "client.exists", &["pass"]);
}

/// The real document with `edit` applied, served by a second emulator.
fn metadata_with(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let real = modern();
    let mut doc = discovery_of(&real);
    edit(doc.as_object_mut().expect("object"));
    let e = serving_discovery(&doc);
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &settings(&e));
    expect_status(&v, "discovery.fetch", &["pass"]);
    v
}

#[test]
fn metadata_missing_token_endpoint_fails() {
    let v = metadata_with(|d| {
        d.remove("token_endpoint");
    });
    expect(&v, "discovery.metadata", &["fail"], &["token_endpoint"]);
}

#[test]
fn metadata_missing_jwks_uri_fails() {
    let v = metadata_with(|d| {
        d.remove("jwks_uri");
    });
    expect(&v, "discovery.metadata", &["fail"], &["jwks_uri"]);
    expect_status(&v, "jwks.keys", &["skip", "fail"]);
}

#[test]
fn metadata_without_code_response_type_fails() {
    let v = metadata_with(|d| {
        d.insert("response_types_supported".into(), json!(["id_token"]));
    });
    expect(
        &v,
        "discovery.metadata",
        &["fail"],
        &["response_types_supported", "code"],
    );
}

#[test]
fn metadata_with_only_hs256_fails() {
    let v = metadata_with(|d| {
        d.insert(
            "id_token_signing_alg_values_supported".into(),
            json!(["HS256"]),
        );
    });
    expect(
        &v,
        "discovery.metadata",
        &["fail"],
        &["id_token_signing_alg_values_supported", "HS256"],
    );
}

#[test]
fn metadata_without_client_secret_basic_fails() {
    let v = metadata_with(|d| {
        d.insert(
            "token_endpoint_auth_methods_supported".into(),
            json!(["client_secret_post", "private_key_jwt"]),
        );
    });
    expect(
        &v,
        "discovery.metadata",
        &["fail"],
        &[
            "token_endpoint_auth_methods_supported",
            "client_secret_basic",
        ],
    );
}

#[test]
fn metadata_endpoints_on_another_host_warn() {
    let e = start(Config {
        split_internal_url: true,
        ..Config::default()
    });
    assert_ne!(e.issuer(), e.internal_url());
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &settings(&e));
    expect_status(&v, "discovery.fetch", &["pass"]);
    let t = expect(
        &v,
        "discovery.metadata",
        &["warn"],
        &["token_endpoint", "jwks_uri", &e.internal_url()],
    );
    assert!(
        !t.contains("authorization_endpoint http"),
        "the authorize endpoint is on the issuer's host and should not be named:\n{t}"
    );
}

// ====================================================================== jwks.keys

#[test]
fn jwks_not_a_key_set_fails() {
    let e = with_faults(Faults {
        broken_jwks: true,
        ..Faults::default()
    });
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &settings(&e));
    expect(&v, "jwks.keys", &["fail"], &["keys"]);
}

#[test]
fn jwks_empty_fails() {
    let e = overriding(JWKS, 200, JSON_CT, r#"{"keys":[]}"#);
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &settings(&e));
    expect(&v, "jwks.keys", &["fail"], &["empty"]);
}

#[test]
fn jwks_with_private_member_fails() {
    let (_real, e) = serving_jwks(|set| {
        set["keys"][0]["d"] = json!("c2VjcmV0LXByaXZhdGUtZXhwb25lbnQ");
    });
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &settings(&e));
    expect(&v, "jwks.keys", &["fail"], &["private"]);
}

#[test]
fn jwks_with_symmetric_key_fails() {
    let (_real, e) = serving_jwks(|set| {
        set["keys"]
            .as_array_mut()
            .expect("keys")
            .push(json!({"kty": "oct", "kid": "hmac-1", "k": "c2VjcmV0LWtleS1mb3ItaG1hYw"}));
    });
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &settings(&e));
    expect(&v, "jwks.keys", &["fail"], &["hmac-1", "symmetric"]);
}

#[test]
fn jwks_with_unsupported_key_type_fails() {
    let e = overriding(
        JWKS,
        200,
        JSON_CT,
        r#"{"keys":[{"kty":"XYZ","kid":"strange-1","use":"sig","alg":"RS256"}]}"#,
    );
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &settings(&e));
    expect(&v, "jwks.keys", &["fail"], &["strange-1", "XYZ"]);
}

#[test]
fn jwks_key_without_alg_is_accepted() {
    let (real, e) = serving_jwks(|set| {
        let key = set["keys"][0].as_object_mut().expect("key object");
        assert!(key.remove("alg").is_some(), "the emulator's key had no alg");
    });
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &settings(&e));
    expect(&v, "jwks.keys", &["pass"], &[&real.kid()]);
}

// ====================================================================== client.exists

#[test]
fn unknown_client_id_fails() {
    let e = modern();
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &settings(&e).set("--client-id", "no-such-client-4711"));
    expect(&v, "client.exists", &["fail"], &["no-such-client-4711"]);
    assert!(
        e.requests()
            .iter()
            .any(|r| r.path == "/api/oidc/clients/no-such-client-4711/meta"),
        "the client metadata endpoint was not asked"
    );
    expect(&v, "client.credentials", &["fail"], &["invalid_client"]);
}

#[test]
fn client_lookup_is_skipped_for_other_providers() {
    let real = modern();
    let v = {
        let mut doc = discovery_of(&real);
        doc["authorization_endpoint"] = json!(format!("{}/oauth2/v1/auth", real.issuer()));
        doc.as_object_mut()
            .expect("object")
            .remove("request_parameter_supported");
        let e = serving_discovery(&doc);
        let sb = Sandbox::new();
        doctor(&sb, &settings(&e)).0
    };
    expect(&v, "client.exists", &["skip"], &["Pocket ID"]);
    assert!(
        !field(&v, "discovery.metadata", "summary").contains("Pocket ID"),
        "a non-Pocket-ID document was taken for Pocket ID:\n{:#}",
        check(&v, "discovery.metadata")
    );
    assert!(
        real.requests().iter().all(|r| !r.path.ends_with("/meta")),
        "the Pocket ID client API was called for another provider"
    );
    // The credential probe still runs.
    expect_status(&v, "client.credentials", &["pass"]);
}

// ====================================================================== client.credentials

#[test]
fn right_secret_passes_and_is_sent_like_romm() {
    let id = "romm-client";
    let secret = "S3cr3t~Value!With*Marks-0123456789";
    let e = start(Config {
        clients: vec![Client::confidential(id, secret, &[DEFAULT_CALLBACK])],
        ..Config::default()
    });
    let sb = Sandbox::new();
    let args = settings(&e)
        .set("--client-id", id)
        .set("--client-secret", secret);
    let (v, _) = doctor(&sb, &args);
    expect(
        &v,
        "client.credentials",
        &["pass"],
        &["client_secret_basic"],
    );
    let reqs = e.requests();
    let posts: Vec<_> = reqs
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/api/oidc/token")
        .collect();
    assert_eq!(posts.len(), 1, "one credential probe expected: {posts:#?}");
    let p = posts[0];
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    );
    assert_eq!(
        p.header("authorization"),
        Some(want.as_str()),
        "HTTP Basic with the raw id:secret (not form-encoded first) expected"
    );
    assert_eq!(p.form_value("client_secret"), None, "secret in the body");
    let body = String::from_utf8_lossy(&p.body);
    assert!(!body.contains(secret), "secret in the body: {body}");
    assert_eq!(
        p.form_value("grant_type").as_deref(),
        Some("authorization_code")
    );
    let code = p.form_value("code").unwrap_or_default();
    assert!(!code.is_empty(), "the probe sent no code: {body}");
    // No login happened: the only /authorize is client.redirect-uri's probe
    // (marked state, never followed), and the code sent is made up.
    assert!(
        reqs.iter().filter(|r| r.path == "/authorize").all(|r| r
            .query_value("state")
            .is_some_and(|s| s.starts_with("rommoidcprobe"))),
        "an /authorize other than the probe: {reqs:#?}"
    );
    assert!(
        !code.starts_with("pocket_id_ac_"),
        "a real code was sent: {code}"
    );
}

#[test]
fn wrong_secret_fails_with_invalid_client() {
    let e = modern();
    let sb = Sandbox::new();
    let (v, _) = doctor(
        &sb,
        &settings(&e).set("--client-secret", "not-the-right-secret-000"),
    );
    expect(&v, "client.credentials", &["fail"], &["invalid_client"]);
    // The client exists; only the secret is wrong.
    expect_status(&v, "client.exists", &["pass"]);
}

#[test]
fn legacy_wrong_secret_fails() {
    let e = start(Config {
        profile: Profile::Legacy,
        ..Config::default()
    });
    let sb = Sandbox::new();
    let (v, _) = doctor(
        &sb,
        &settings(&e).set("--client-secret", "not-the-right-secret-000"),
    );
    expect(
        &v,
        "client.credentials",
        &["fail"],
        &["Invalid client secret"],
    );
}

#[test]
fn legacy_right_secret_passes() {
    let v = legacy_doctor();
    expect(
        &v,
        "client.credentials",
        &["pass"],
        &["Invalid authorization code"],
    );
}

// ====================================================================== romm.*

#[test]
fn matching_romm_passes_and_full_doctor_exits_0() {
    let e = modern();
    let r = romm(&e.issuer(), &[]);
    let sb = Sandbox::new();
    let (v, run) = doctor(&sb, &with_romm(&e, &r));
    expect(&v, "romm.heartbeat", &["pass"], &["5.2.0", "pocket-id"]);
    expect(
        &v,
        "romm.login-redirect",
        &["pass"],
        &[&format!("{}/authorize", e.issuer())],
    );
    assert!(
        r.requests().iter().any(|q| q.path == "/api/login/openid"),
        "RomM's login route was not probed"
    );
    let failed: Vec<&Value> = checks(&v)
        .iter()
        .filter(|c| c["status"] == "fail")
        .collect();
    assert!(failed.is_empty(), "nothing should fail: {failed:#?}");
    assert_eq!(run.code, 0, "{}", run.show());
    assert_eq!(v["ok"], json!(true));
}

#[test]
fn romm_with_oidc_disabled_fails() {
    let e = modern();
    let r = romm(&e.issuer(), &[("OIDC_ENABLED", "false")]);
    let sb = Sandbox::new();
    let (v, run) = doctor(&sb, &with_romm(&e, &r));
    expect(&v, "romm.heartbeat", &["fail"], &["OIDC_ENABLED"]);
    expect(&v, "romm.login-redirect", &["fail"], &["OAuth disabled"]);
    assert_eq!(run.code, 1);
}

#[test]
fn romm_with_another_client_id_is_a_forgotten_restart() {
    let e = modern();
    let r = romm(&e.issuer(), &[("OIDC_CLIENT_ID", "stale-client-id")]);
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &with_romm(&e, &r));
    expect(
        &v,
        "romm.login-redirect",
        &["fail"],
        &["client_id", "restart"],
    );
    let expected = field(&v, "romm.login-redirect", "expected");
    let found = field(&v, "romm.login-redirect", "found");
    assert!(
        found.contains("stale-client-id") && !expected.contains("stale-client-id"),
        "found should show RomM's client id: expected={expected:?} found={found:?}"
    );
    assert!(
        expected.contains(DEFAULT_CLIENT_ID),
        "expected should show the settings' client id: {expected:?}"
    );
    let fix = field(&v, "romm.login-redirect", "fix");
    assert!(
        fix.to_lowercase().contains("recreate") || fix.to_lowercase().contains("restart"),
        "the fix should say to recreate RomM: {fix}"
    );
    expect_status(&v, "romm.heartbeat", &["pass"]);
}

#[test]
fn romm_with_authorize_url_gives_bare_500() {
    let e = modern();
    let r = romm(
        &e.issuer(),
        &[(
            "OIDC_SERVER_APPLICATION_URL",
            &format!("{}/authorize", e.issuer()),
        )],
    );
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &with_romm(&e, &r));
    let t = expect(
        &v,
        "romm.login-redirect",
        &["fail"],
        &["500", "discovery", "OIDC_SERVER_APPLICATION_URL"],
    );
    assert!(
        field(&v, "romm.login-redirect", "summary").contains("500"),
        "the summary should name the 500:\n{t}"
    );
    assert!(
        e.requests()
            .iter()
            .any(|q| q.path == "/authorize/.well-known/openid-configuration"),
        "test setup: the RomM double did not fetch the /authorize discovery URL"
    );
    // The settings here are right, so the provider checks pass.
    expect_status(&v, "discovery.fetch", &["pass"]);
}

#[test]
fn romm_with_another_provider_name_fails_heartbeat() {
    let e = modern();
    let r = romm(&e.issuer(), &[("OIDC_PROVIDER", "authentik")]);
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &with_romm(&e, &r));
    expect(&v, "romm.heartbeat", &["fail"], &["provider"]);
    assert_eq!(field(&v, "romm.heartbeat", "found"), "authentik");
    assert_eq!(field(&v, "romm.heartbeat", "expected"), "pocket-id");
}

#[test]
fn romm_url_with_nothing_listening_fails_quickly() {
    let e = modern();
    let port = dead_port();
    let sb = Sandbox::new();
    let args = settings(&e)
        .unset("--redirect-uri")
        .set("--romm-url", &format!("http://127.0.0.1:{port}"));
    let started = Instant::now();
    let (v, run) = doctor(&sb, &args);
    let took = started.elapsed();
    expect(&v, "romm.heartbeat", &["fail"], &["refused"]);
    expect(&v, "romm.login-redirect", &["fail"], &["refused"]);
    assert_eq!(run.code, 1);
    assert!(
        took < Duration::from_secs(4),
        "a refused RomM should fail at once, took {took:?}"
    );
}

// ====================================================================== TLS

fn tls_emulator() -> Emulator {
    start(Config {
        tls: true,
        ..Config::default()
    })
}

#[test]
fn ca_file_pem_is_the_trust_store() {
    let e = tls_emulator();
    let sb = Sandbox::new();
    let ca = sb.file("ca.pem", e.ca_pem().expect("CA PEM"));
    let args = settings(&e).set("--ca-file", &ca.display().to_string());
    let (v, _) = doctor(&sb, &args);
    expect(&v, "tls.ca-file", &["pass"], &[]);
    expect_status(&v, "discovery.fetch", &["pass"]);
    expect_status(&v, "jwks.keys", &["pass"]);
    expect_status(&v, "client.credentials", &["pass"]);
    assert!(
        checks(&v).iter().all(|c| c["id"] != "tls.insecure"),
        "tls.insecure without --insecure"
    );
}

#[test]
fn ca_file_in_der_fails() {
    let e = tls_emulator();
    let sb = Sandbox::new();
    let ca = sb.file("ca.crt", e.ca_der().expect("CA DER"));
    let args = settings(&e).set("--ca-file", &ca.display().to_string());
    let (v, _) = doctor(&sb, &args);
    expect(&v, "tls.ca-file", &["fail"], &["DER", "PEM"]);
    expect_status(&v, "discovery.fetch", &["fail"]);
}

#[test]
fn ca_file_directory_fails() {
    let e = tls_emulator();
    let sb = Sandbox::new();
    sb.file("ca.pem", e.ca_pem().expect("CA PEM"));
    let args = settings(&e).set("--ca-file", &sb.path().display().to_string());
    let (v, _) = doctor(&sb, &args);
    expect(&v, "tls.ca-file", &["fail"], &["directory"]);
}

#[test]
fn ca_file_without_certificate_fails() {
    let e = tls_emulator();
    let sb = Sandbox::new();
    let ca = sb.file("ca.pem", "this is not a certificate\n");
    let args = settings(&e).set("--ca-file", &ca.display().to_string());
    let (v, _) = doctor(&sb, &args);
    expect(&v, "tls.ca-file", &["fail"], &["certificate"]);
    expect_status(&v, "discovery.fetch", &["fail"]);
}

#[test]
fn insecure_passes_discovery_with_a_warning() {
    let e = tls_emulator();
    let sb = Sandbox::new();
    let (v, run) = doctor(&sb, &settings(&e).flag("--insecure"));
    expect_status(&v, "discovery.fetch", &["pass"]);
    expect(&v, "tls.insecure", &["warn"], &["--insecure"]);
    assert!(
        run.stderr.contains("--insecure"),
        "no warning on stderr:\n{}",
        run.show()
    );
}

#[test]
fn ca_file_of_another_ca_is_not_trusted() {
    let e = tls_emulator();
    let other = tls_emulator();
    let sb = Sandbox::new();
    let ca = sb.file("other-ca.pem", other.ca_pem().expect("CA PEM"));
    let args = settings(&e).set("--ca-file", &ca.display().to_string());
    let (v, _) = doctor(&sb, &args);
    expect_status(&v, "tls.ca-file", &["pass"]);
    expect(&v, "discovery.fetch", &["fail"], &["certificate"]);
    assert!(
        other.requests().is_empty(),
        "the other emulator should not be contacted"
    );
}

// ====================================================================== verbose and secrets

#[test]
fn verbose_prints_requests_on_stderr_only() {
    let e = modern();
    let sb = Sandbox::new();
    let (v, run) = doctor(&sb, &settings(&e).flag("-v"));
    let line = format!("> GET {}{DISCOVERY}", e.issuer());
    assert!(
        run.stderr.contains(&line),
        "-v should print {line:?}:\n{}",
        run.show()
    );
    assert!(
        run.stderr.contains("> POST ") && run.stderr.contains("/api/oidc/token"),
        "-v should print the credential probe request:\n{}",
        run.show()
    );
    assert!(
        !run.stderr.contains("\"jwks_uri\""),
        "-v alone should not print bodies:\n{}",
        run.show()
    );
    assert!(
        !run.stdout.contains("> GET"),
        "request lines leaked to stdout"
    );
    // stdout is exactly the JSON report (the helper parsed all of it), and the
    // same checks as without -v.
    let (quiet, _) = doctor(&sb, &settings(&e));
    let ids = |r: &Value| {
        checks(r)
            .iter()
            .map(|c| format!("{} {}", c["id"], c["status"]))
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&v), ids(&quiet));
    // The human report is the same with and without -v.
    let plain = run_doctor(&sb, &settings(&e), "5", &[]);
    let verbose = run_doctor(&sb, &settings(&e).flag("-v"), "5", &[]);
    assert_eq!(
        plain.stdout,
        verbose.stdout,
        "-v changed stdout:\n{}",
        verbose.show()
    );
    assert!(verbose.stderr.contains(&line), "{}", verbose.show());
}

#[test]
fn very_verbose_prints_bodies() {
    let e = modern();
    let sb = Sandbox::new();
    let (_, run) = doctor(&sb, &settings(&e).flag("-vv"));
    assert!(
        run.stderr.contains("\"jwks_uri\"") && run.stderr.contains("\"keys\""),
        "-vv should print the discovery and JWKS bodies:\n{}",
        run.show()
    );
    assert!(
        run.stderr.contains("grant_type=authorization_code"),
        "-vv should print the probe's form body:\n{}",
        run.show()
    );
    assert!(
        !run.stdout.contains("\"jwks_uri\""),
        "bodies leaked to stdout"
    );
}

#[test]
fn client_secret_never_printed() {
    let id = "romm-client";
    let secret = "Tq8wZr5LmNv3KsPx7YhBd2GcJf6RtUe9";
    let e = start(Config {
        clients: vec![Client::confidential(id, secret, &[DEFAULT_CALLBACK])],
        ..Config::default()
    });
    let r = romm(&e.issuer(), &[("OIDC_CLIENT_ID", id)]);
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let sb = Sandbox::new();
    let base = with_romm(&e, &r)
        .set("--client-id", id)
        .set("--client-secret", secret);
    for (mode, extra) in [
        ("plain", None),
        ("-v", Some("-v")),
        ("-vv", Some("-vv")),
        ("-vvv", Some("-vvv")),
    ] {
        for json_out in [false, true] {
            let mut args = base.clone();
            if let Some(f) = extra {
                args = args.flag(f);
            }
            if json_out {
                args = args.flag("--json");
            }
            let run = run_doctor(&sb, &args, "5", &[]);
            assert_eq!(run.code, 0, "{mode} json={json_out}:\n{}", run.show());
            for (stream, out) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
                assert!(
                    !out.contains(secret),
                    "{mode} json={json_out}: the secret is on {stream}:\n{}",
                    run.show()
                );
                assert!(
                    !out.contains(&b64),
                    "{mode} json={json_out}: base64(id:secret) is on {stream}:\n{}",
                    run.show()
                );
            }
        }
    }
    // A secret the provider refuses is not printed either.
    let wrong = "Wr0ngSecretValue-Zx81Qp44Hn27Lk";
    let wrong_b64 = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{wrong}"));
    for extra in ["-v", "-vv"] {
        for json_out in [false, true] {
            let mut args = base.clone().set("--client-secret", wrong).flag(extra);
            if json_out {
                args = args.flag("--json");
            }
            let run = run_doctor(&sb, &args, "5", &[]);
            assert_eq!(run.code, 1, "{extra} json={json_out}:\n{}", run.show());
            let all = format!("{}{}", run.stdout, run.stderr);
            assert!(
                !all.contains(wrong) && !all.contains(&wrong_b64),
                "{extra} json={json_out}: the refused secret was printed:\n{}",
                run.show()
            );
        }
    }
    // The probe did carry the secret, so the run above had it to leak.
    assert!(
        e.requests()
            .iter()
            .any(|q| q.header("authorization") == Some(format!("Basic {b64}").as_str()))
    );
}

// ====================================================================== exit codes

#[test]
fn one_failing_network_check_exits_1() {
    let e = with_faults(Faults {
        broken_jwks: true,
        ..Faults::default()
    });
    let r = romm(&e.issuer(), &[]);
    let sb = Sandbox::new();
    let (v, run) = doctor(&sb, &with_romm(&e, &r));
    let failed: Vec<&str> = checks(&v)
        .iter()
        .filter(|c| c["status"] == "fail")
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(failed, ["jwks.keys"], "{:#}", v);
    assert_eq!(run.code, 1, "{}", run.show());
    assert_eq!(v["ok"], json!(false));
    // The human report exits the same way.
    let human = run_doctor(&sb, &with_romm(&e, &r), "5", &[]);
    assert_eq!(human.code, 1, "{}", human.show());
    assert!(human.stdout.contains("jwks.keys"), "{}", human.show());
}

#[test]
fn bad_timeout_is_a_usage_error() {
    let e = modern();
    let sb = Sandbox::new();
    for bad in ["0", "abc"] {
        let run = sandbox::run_loopback(
            &sb,
            &["doctor", "--json", "--timeout", bad],
            &settings(&e),
            &[],
        );
        assert_eq!(run.code, 2, "--timeout {bad}:\n{}", run.show());
        assert!(run.stdout.is_empty(), "no report on a usage error");
    }
    assert!(
        e.requests().is_empty(),
        "a usage error must not touch the network"
    );
}

#[test]
fn report_lists_each_network_check_once() {
    let e = modern();
    let r = romm(&e.issuer(), &[]);
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &with_romm(&e, &r));
    let network = ["tls.ca-file"]
        .into_iter()
        .chain(PROVIDER_CHECKS)
        .chain(["romm.heartbeat", "romm.login-redirect"]);
    for id in network {
        let n = checks(&v).iter().filter(|c| c["id"] == id).count();
        assert_eq!(n, 1, "{id} appears {n} times");
        let c = check(&v, id);
        for key in ["summary", "detail", "fix"] {
            assert!(c[key].is_string(), "{id} lacks {key}: {c:#}");
        }
        assert!(!text(c).is_empty());
    }
}

// ====================================================================== client.redirect-uri

/// The /authorize requests the emulator saw.
fn authorizes(e: &Emulator) -> Vec<pocket_id_emulator::RecordedRequest> {
    e.requests()
        .into_iter()
        .filter(|r| r.path == "/authorize")
        .collect()
}

/// Ids that failed, besides `except`.
fn other_failures<'a>(v: &'a Value, except: &str) -> Vec<&'a str> {
    checks(v)
        .iter()
        .filter(|c| c["status"] == "fail" && c["id"] != except)
        .filter_map(|c| c["id"].as_str())
        .collect()
}

#[test]
fn unregistered_romm_callback_fails_where_everything_else_passes() {
    // Only RomM's documented callback is registered, not the one RomM uses.
    let e = emulator::pocket_id(Config {
        session_user: None,
        ..Config::default()
    });
    let sb = Sandbox::new();
    let callback = "https://games.example.org/api/oauth/openid";
    let (v, run) = doctor(&sb, &settings(&e).set("--redirect-uri", callback));
    let t = expect(
        &v,
        "client.redirect-uri",
        &["fail"],
        &[
            "is not registered for this client.",
            callback,
            "Callback URLs",
        ],
    );
    assert!(t.contains("built from the settings"), "{t}");
    assert_eq!(
        other_failures(&v, "client.redirect-uri"),
        Vec::<&str>::new()
    );
    assert_eq!(run.code, 1);
    assert_eq!(v["verdict"]["status"], "fail", "{:#}", v["verdict"]);
    assert!(
        v["verdict"]["summary"]
            .as_str()
            .unwrap()
            .contains("RomM's callback at the provider"),
        "{:#}",
        v["verdict"]
    );
    // One request, RomM's shape, with a marked state and nonce.
    let sent = authorizes(&e);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    let keys: Vec<String> = sent[0].query_pairs().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "nonce"
        ]
    );
    assert_eq!(
        sent[0].query_value("redirect_uri").as_deref(),
        Some(callback)
    );
    assert_eq!(
        sent[0].query_value("scope").as_deref(),
        Some("openid profile email")
    );
    let state = sent[0].query_value("state").unwrap();
    let nonce = sent[0].query_value("nonce").unwrap();
    assert!(
        state.starts_with("rommoidcprobe") && state.len() == 30,
        "{state}"
    );
    assert!(
        nonce.starts_with("rommoidcprobe") && nonce.len() == 20,
        "{nonce}"
    );
}

#[test]
fn unregistered_callback_of_the_running_romm_fails_with_its_own_request() {
    // The RomM double's own callback (its random port) is not registered.
    let e = emulator::pocket_id(Config::default());
    let r = romm(&e.issuer(), &[("OIDC_CLAIM_ROLES", "groups")]);
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &with_romm(&e, &r).set("--claim-roles", "groups"));
    let callback = format!("{}/api/oauth/openid", r.base_url());
    expect(
        &v,
        "client.redirect-uri",
        &["fail"],
        &[
            "is not registered for this client.",
            &callback,
            "running RomM's own login redirect",
        ],
    );
    expect_status(&v, "romm.login-redirect", &["pass"]);
    // RomM's request, but never RomM's state or nonce.
    let romm_location = r.requests().iter().any(|q| q.path == "/api/login/openid");
    assert!(romm_location, "RomM's login route was not asked");
    let sent = authorizes(&e);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].query_value("redirect_uri"), Some(callback));
    assert_eq!(
        sent[0].query_value("scope").as_deref(),
        Some("openid profile email groups")
    );
    assert!(
        sent[0]
            .query_value("state")
            .is_some_and(|s| s.starts_with("rommoidcprobe")),
        "{:?}",
        sent[0].query_pairs()
    );
}

#[test]
fn registered_callback_passes_before_any_sign_in() {
    for profile_user in [None, Some("alice")] {
        let e = start(Config {
            session_user: profile_user.map(str::to_string),
            ..Config::default()
        });
        let r = romm(&e.issuer(), &[]);
        let sb = Sandbox::new();
        let (v, run) = doctor(&sb, &with_romm(&e, &r));
        let t = expect(
            &v,
            "client.redirect-uri",
            &["pass"],
            &["accepted RomM's callback"],
        );
        match profile_user {
            None => assert!(t.contains("asks for sign-in"), "{t}"),
            // A provider that signs in without a browser issues a code at once:
            // accepted, and the code is neither used nor shown.
            Some(_) => {
                assert!(t.contains("the code was not used"), "{t}");
                assert!(!run.stdout.contains("pocket_id_ac_"), "{}", run.stdout);
                assert!(
                    e.requests()
                        .iter()
                        .filter(|q| q.path == "/api/oidc/token")
                        .all(|q| q
                            .form_value("code")
                            .is_some_and(|c| !c.starts_with("pocket_id_ac_"))),
                    "the probe's code was redeemed"
                );
            }
        }
        assert_eq!(run.code, 0, "{}", run.show());
    }
}

#[test]
fn client_refusals_before_sign_in_fail_with_the_exact_fix() {
    /// A name, a change to the client, and words the finding must hold.
    type Case = (&'static str, fn(&mut Client), &'static [&'static str]);
    let cases: [Case; 3] = [
        (
            "pkce",
            |c| c.pkce_enabled = true,
            &["invalid_request", "untick \"PKCE\"", "OAuthError"],
        ),
        (
            "public",
            |c| {
                c.is_public = true;
                c.pkce_enabled = true;
            },
            &["PKCE"],
        ),
        (
            "par",
            |c| c.requires_par = true,
            &["Requires PAR", "OAuthError"],
        ),
    ];
    for (name, edit, words) in cases {
        let mut client = Client::confidential(
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_SECRET,
            &[DEFAULT_CALLBACK],
        );
        edit(&mut client);
        let e = start(Config {
            session_user: None,
            clients: vec![client],
            ..Config::default()
        });
        let sb = Sandbox::new();
        let (v, _) = doctor(&sb, &settings(&e));
        let t = expect(&v, "client.redirect-uri", &["fail"], words);
        assert!(t.contains("accepted RomM's callback"), "{name}: {t}");
    }
    // An unknown client id: Pocket ID's error page.
    let e = modern();
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &settings(&e).set("--client-id", "no-such-client"));
    expect(
        &v,
        "client.redirect-uri",
        &["fail"],
        &["does not exist", "OIDC_CLIENT_ID"],
    );
}

#[test]
fn legacy_pocket_id_cannot_tell_and_adopts_nothing() {
    // A 2.9 client with no callback at all: the trust-on-first-use trap.
    let e = emulator::pocket_id(Config {
        profile: Profile::Legacy,
        clients: vec![Client::confidential(
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_SECRET,
            &[],
        )],
        ..Config::default()
    });
    let sb = Sandbox::new();
    let (v, _) = doctor(&sb, &settings(&e));
    expect(
        &v,
        "client.redirect-uri",
        &["warn"],
        &["2.9 or older", "--pocket-id-api-key", "first callback URL"],
    );
    assert!(
        e.callback_urls(DEFAULT_CLIENT_ID).is_empty(),
        "the probe made Pocket ID adopt a callback: {:?}",
        e.callback_urls(DEFAULT_CLIENT_ID)
    );
    assert_ne!(v["verdict"]["status"], "pass");
}

#[test]
fn redirect_uri_check_runs_alongside_the_other_network_checks() {
    // Every answer takes L: discovery, then key set, client metadata, token probe
    // and the authorization request at once. One after another would be 5 L.
    let latency = Duration::from_millis(400);
    let e = with_faults(Faults {
        latency,
        ..Faults::default()
    });
    let sb = Sandbox::new();
    let started = Instant::now();
    let (v, _) = doctor(&sb, &settings(&e));
    let took = started.elapsed();
    expect_status(&v, "client.redirect-uri", &["pass"]);
    assert!(
        took < latency * 3,
        "client.redirect-uri must not add a round trip: took {took:?} at L = {latency:?}"
    );
}

// ====================================================================== RomM's session cookie, live

#[test]
fn secure_cookie_on_a_loopback_romm_passes_and_on_plain_http_fails() {
    let e = modern();
    // RomM on 127.0.0.1 over http: a secure context, the Secure cookie lives.
    let r = romm(&e.issuer(), &[("ROMM_SESSION_SECURE_COOKIE", "true")]);
    let sb = Sandbox::new();
    let (v, _) = doctor_env(
        &sb,
        &with_romm(&e, &r),
        &[("ROMM_SESSION_SECURE_COOKIE", "true")],
    );
    expect_status(&v, "romm.login-redirect", &["pass"]);
    expect_status(&v, "config.session-cookie", &["pass"]);
    // The running RomM sends users back to a LAN name over plain http: there
    // the Secure cookie is dropped.
    let lan = romm(
        &e.issuer(),
        &[
            ("ROMM_SESSION_SECURE_COOKIE", "true"),
            ("OIDC_REDIRECT_URI", "http://romm.lan/api/oauth/openid"),
        ],
    );
    let (v, _) = doctor(&sb, &with_romm(&e, &lan));
    expect(
        &v,
        "romm.login-redirect",
        &["fail"],
        &[
            "Secure session cookie",
            "mismatching_state",
            "http://romm.lan",
        ],
    );
    // RomM before 5.1 does not read the variable: no Secure cookie, no problem.
    let old = emulator::romm(RommConfig {
        version: "5.0.0".into(),
        env: {
            let mut env = romm_env(&e.issuer(), DEFAULT_CLIENT_ID);
            env.push(("ROMM_SESSION_SECURE_COOKIE".into(), "true".into()));
            env.push((
                "OIDC_REDIRECT_URI".into(),
                "http://romm.lan/api/oauth/openid".into(),
            ));
            env
        },
        ..RommConfig::default()
    });
    let (v, _) = doctor(&sb, &with_romm(&e, &old));
    let t = expect_status(&v, "romm.login-redirect", &["fail"]);
    assert!(!t.contains("Secure"), "RomM 5.0 sets no Secure cookie: {t}");
}
