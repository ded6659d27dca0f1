//! Smoke tests of the OIDC test-peer harness itself (not of the CLI): the real
//! `oidc-provider` peer (tests/peer) and the browser stand-in (tests/support/browser.mjs).

use std::net::TcpStream;
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use base64::Engine;

use crate::support::browser;
use crate::support::http::{client as http, get_json};
use crate::support::peer::Peer;
use crate::support::prelude::*;
use crate::support::wire::{self, Listener};

const SECRET: &str = "s3cret-for-tests";

fn client(client_id: &str, redirect_uri: &str, alg: Option<&str>) -> Value {
    let mut c = json!({
        "client_id": client_id,
        "client_secret": SECRET,
        "redirect_uris": [redirect_uri],
    });
    if let Some(alg) = alg {
        c["id_token_signed_response_alg"] = json!(alg);
    }
    c
}

/// The authorize URL exactly as RomM's authlib builds it (no PKCE, no prompt).
fn romm_auth_url(peer: &Peer, client_id: &str, redirect_uri: &str, scope: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", scope)
        .append_pair("state", "state-123")
        .append_pair("nonce", "nonce-456")
        .finish();
    format!("{}?{query}", peer.url("/auth"))
}

/// Runs the browser stand-in as the CLI would (`<browser::driver()> <url>`).
/// Returns (exit success, all stderr, the JSON summary line).
fn run_browser(url: &str, env: &[(&str, &str)]) -> (bool, String, Value) {
    let visit = browser::visit(url, env);
    assert!(
        visit.run.stdout.is_empty(),
        "browser driver wrote to stdout: {:?}",
        visit.run.stdout
    );
    (visit.ok, visit.run.stderr, visit.summary)
}

/// Logs in as `login` with BROWSER_MODE=stop-at-callback; returns the callback URL.
fn login_callback(
    peer: &Peer,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
    login: &str,
) -> url::Url {
    let auth = romm_auth_url(peer, client_id, redirect_uri, scope);
    let (ok, stderr, summary) = run_browser(
        &auth,
        &[
            ("BROWSER_MODE", "stop-at-callback"),
            ("BROWSER_LOGIN", login),
        ],
    );
    assert!(
        ok,
        "browser driver failed: {stderr}\npeer stderr:\n{}",
        peer.stderr()
    );
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("CALLBACK "))
        .unwrap_or_else(|| panic!("no CALLBACK line: {stderr}"));
    assert_eq!(summary["callback"], line);
    url::Url::parse(line).expect("callback URL")
}

fn query_param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn login_code(
    peer: &Peer,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
    login: &str,
) -> String {
    let cb = login_callback(peer, client_id, redirect_uri, scope, login);
    query_param(&cb, "code").unwrap_or_else(|| panic!("no code in {cb}"))
}

/// POST /token with client_secret_basic, the way authlib does. Returns (status, JSON body).
fn token_request(
    peer: &Peer,
    client_id: &str,
    secret: &str,
    code: &str,
    redirect_uri: &str,
) -> (u16, Value) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", redirect_uri)
        .finish();
    let resp = http()
        .post(peer.url("/token"))
        .basic_auth(client_id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .expect("POST /token");
    let status = resp.status().as_u16();
    let text = resp.text().expect("token body");
    (
        status,
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("token body is not JSON ({e}): {text}")),
    )
}

/// (header, payload) of a compact JWS, unverified.
fn jwt(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut part = || {
        let part = parts.next().expect("JWT part");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap_or_else(|e| panic!("not base64url ({e}): {part}"));
        serde_json::from_slice(&bytes).expect("JWT JSON")
    };
    (part(), part())
}

fn id_token_for(
    peer: &Peer,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
    login: &str,
) -> (Value, Value) {
    let code = login_code(peer, client_id, redirect_uri, scope, login);
    let (status, body) = token_request(peer, client_id, SECRET, &code, redirect_uri);
    assert_eq!(
        status,
        200,
        "token response {body}; peer stderr:\n{}",
        peer.stderr()
    );
    jwt(body["id_token"].as_str().expect("id_token"))
}

#[test]
fn peer_serves_discovery_and_jwks_and_stops_on_drop() {
    let started = Instant::now();
    let peer =
        Peer::start(json!({ "clients": [client("romm", "http://127.0.0.1:9/callback", None)] }));
    eprintln!("peer ready in {:?} at {}", started.elapsed(), peer.issuer);

    let disco = get_json(&peer.discovery_url());
    assert_eq!(disco["issuer"], peer.issuer.as_str());
    assert_eq!(disco["token_endpoint"], peer.url("/token"));
    let algs = disco["id_token_signing_alg_values_supported"].clone();
    assert_eq!(algs, json!(["RS256", "ES256", "EdDSA"]));
    assert!(
        disco["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("email_verified"))
    );
    assert!(
        disco["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("groups"))
    );

    let jwks = get_json(disco["jwks_uri"].as_str().unwrap());
    let kty: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kty"].as_str().unwrap())
        .collect();
    assert_eq!(kty, ["RSA", "EC", "OKP"]);
    for key in jwks["keys"].as_array().unwrap() {
        assert!(key["kid"].is_string(), "{key}");
        assert!(
            key.get("d").is_none(),
            "private key material published: {key}"
        );
    }

    let discovery_url = peer.discovery_url();
    drop(peer);
    assert!(
        http().get(&discovery_url).send().is_err(),
        "peer still answers after drop"
    );
}

#[test]
fn token_endpoint_rejects_wrong_secret_and_bogus_code() {
    let redirect = "http://127.0.0.1:9/callback";
    let peer = Peer::start(json!({ "clients": [client("romm", redirect, None)] }));

    let (status, body) = token_request(&peer, "romm", "wrong-secret", "bogus", redirect);
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );

    let (status, body) = token_request(&peer, "romm", SECRET, "bogus", redirect);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}

#[test]
fn browser_driver_completes_login_against_a_real_redirect_listener() {
    // The test plays the CLI's loopback redirect-URI listener.
    let (tx, rx) = mpsc::channel::<String>();
    let tx = Mutex::new(tx);
    let listener = Listener::start(|_| {
        move |head: &str, stream: &mut TcpStream| {
            let body = "<html><body>Login finished, you can close this window.</body></html>";
            wire::respond(stream, "200 OK\r\nContent-Type: text/html", body.as_bytes());
            let request_line = head.lines().next().unwrap_or_default();
            let _ = tx.lock().unwrap().send(request_line.to_string());
        }
    });
    let redirect = format!("{}/callback", listener.url("http"));

    let peer = Peer::start(json!({ "clients": [client("romm", &redirect, None)] }));
    let auth = romm_auth_url(&peer, "romm", &redirect, "openid profile email");
    let (ok, stderr, summary) = run_browser(&auth, &[]);
    assert!(
        ok,
        "browser driver failed: {stderr}\npeer stderr:\n{}",
        peer.stderr()
    );
    assert_eq!(summary["status"], 200, "{summary}");
    assert!(
        summary["final_url"]
            .as_str()
            .unwrap()
            .starts_with(&redirect),
        "{summary}"
    );

    let request_line = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("listener got the callback GET");
    let target = request_line
        .strip_prefix("GET ")
        .and_then(|r| r.strip_suffix(" HTTP/1.1"))
        .unwrap_or_else(|| panic!("unexpected request line {request_line:?}"));
    let cb = url::Url::parse(&format!("http://127.0.0.1{target}")).unwrap();
    assert_eq!(cb.path(), "/callback");
    assert_eq!(query_param(&cb, "state").as_deref(), Some("state-123"));
    assert_eq!(
        query_param(&cb, "iss").as_deref(),
        Some(peer.issuer.as_str())
    );
    let code = query_param(&cb, "code").expect("code in callback");

    let (status, body) = token_request(&peer, "romm", SECRET, &code, &redirect);
    assert_eq!(status, 200, "{body}");
    let (header, claims) = jwt(body["id_token"].as_str().unwrap());
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["iss"], peer.issuer.as_str());
    assert_eq!(claims["aud"], "romm");
    assert_eq!(claims["nonce"], "nonce-456");
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["preferred_username"], "alice");

    // A code is single-use.
    let (status, body) = token_request(&peer, "romm", SECRET, &code, &redirect);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}

#[test]
fn es256_and_eddsa_clients_get_id_tokens_with_that_alg() {
    let redirect = "http://127.0.0.1:9/callback";
    let peer = Peer::start(json!({ "clients": [
        client("es-client", redirect, Some("ES256")),
        client("ed-client", redirect, Some("EdDSA")),
    ]}));
    let jwks = get_json(&peer.url("/jwks"));
    for (client_id, alg, kty) in [("es-client", "ES256", "EC"), ("ed-client", "EdDSA", "OKP")] {
        let (header, claims) =
            id_token_for(&peer, client_id, redirect, "openid profile email", "alice");
        assert_eq!(header["alg"], alg, "{client_id}");
        assert_eq!(claims["aud"], client_id);
        let key = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == header["kid"])
            .unwrap_or_else(|| panic!("kid {} not in JWKS {jwks}", header["kid"]));
        assert_eq!(key["kty"], kty);
    }
}

#[test]
fn claims_follow_the_login_name() {
    let redirect = "http://127.0.0.1:9/callback";
    let peer = Peer::start(json!({ "clients": [client("romm", redirect, None)] }));
    let scope = "openid profile email groups";

    let (_, c) = id_token_for(&peer, "romm", redirect, scope, "unverified-bob");
    assert_eq!(
        (c["email"].as_str(), c["email_verified"].as_bool()),
        (Some("unverified-bob@example.com"), Some(false))
    );

    let (_, c) = id_token_for(&peer, "romm", redirect, scope, "noemail-carol");
    assert!(
        c.get("email").is_none() && c.get("email_verified").is_none(),
        "{c}"
    );
    assert_eq!(c["preferred_username"], "noemail-carol");

    let (_, c) = id_token_for(&peer, "romm", redirect, scope, "admin-dave");
    assert_eq!(c["groups"], json!(["romm-admins"]));
}

#[test]
fn conform_mode_keeps_scope_claims_out_of_the_id_token() {
    let redirect = "http://127.0.0.1:9/callback";
    let peer =
        Peer::start(json!({ "idTokenClaims": false, "clients": [client("romm", redirect, None)] }));
    let code = login_code(&peer, "romm", redirect, "openid profile email", "alice");
    let (status, body) = token_request(&peer, "romm", SECRET, &code, redirect);
    assert_eq!(status, 200, "{body}");
    let (_, claims) = jwt(body["id_token"].as_str().unwrap());
    assert!(
        claims.get("email").is_none(),
        "email leaked into ID token: {claims}"
    );

    let me = http()
        .get(peer.url("/me"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .expect("GET /me");
    let me: Value = serde_json::from_str(&me.text().unwrap()).unwrap();
    assert_eq!(
        (me["email"].as_str(), me["email_verified"].as_bool()),
        (Some("alice@example.com"), Some(true))
    );
}

#[test]
fn required_pkce_and_unregistered_redirect_uri_are_refused() {
    let redirect = "http://127.0.0.1:9/callback";
    let peer = Peer::start(json!({ "pkce": true, "clients": [client("romm", redirect, None)] }));

    // RomM sends no code_challenge: the error comes back to the redirect URI.
    let cb = login_callback(&peer, "romm", redirect, "openid profile email", "alice");
    assert_eq!(
        query_param(&cb, "error").as_deref(),
        Some("invalid_request"),
        "{cb}"
    );
    assert!(query_param(&cb, "code").is_none());

    // Unregistered redirect URI: an HTML 400 page at /auth, no redirect.
    let auth = romm_auth_url(&peer, "romm", "http://127.0.0.1:9/elsewhere", "openid");
    let (ok, stderr, summary) = run_browser(&auth, &[]);
    assert!(!ok, "{stderr}");
    assert_eq!(summary["status"], 400, "{summary}");
    assert!(
        summary["page_text"]
            .as_str()
            .unwrap()
            .contains("invalid_redirect_uri"),
        "{summary}"
    );
}
