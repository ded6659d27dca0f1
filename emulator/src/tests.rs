//! End-to-end tests over real HTTP against running emulators.

use super::*;
use crate::keys::tests::verify_with_jwk;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use std::time::Instant;

// ---------------------------------------------------------------- a tiny HTTP client

struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

struct Resp {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
    fn location(&self) -> String {
        self.header("location")
    }
}

fn query_of(url: &str) -> Vec<(String, String)> {
    let q = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    let q = q.split('#').next().unwrap_or("");
    Form::parse(q.as_bytes()).0
}

fn param(url: &str, key: &str) -> Option<String> {
    query_of(url)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

impl Http {
    fn new() -> Http {
        Http::build(reqwest::Client::builder())
    }

    fn trusting(ca_pem: &str) -> Http {
        let certs = reqwest::Certificate::from_pem_bundle(ca_pem.as_bytes()).unwrap();
        Http::build(reqwest::Client::builder().tls_certs_only(certs))
    }

    fn build(builder: reqwest::ClientBuilder) -> Http {
        Http {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: builder
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
                .unwrap(),
        }
    }

    fn send(&self, rb: reqwest::RequestBuilder) -> Resp {
        self.rt.block_on(async {
            let r = rb.send().await.expect("request");
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            let body = r.text().await.unwrap_or_default();
            Resp {
                status,
                headers,
                body,
            }
        })
    }

    fn try_send(&self, rb: reqwest::RequestBuilder) -> Option<Resp> {
        self.rt.block_on(async {
            let r = rb.send().await.ok()?;
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            let body = r.text().await.unwrap_or_default();
            Some(Resp {
                status,
                headers,
                body,
            })
        })
    }

    fn get(&self, url: &str) -> Resp {
        self.send(self.client.get(url))
    }

    fn get_with(&self, url: &str, header: (&str, &str)) -> Resp {
        self.send(self.client.get(url).header(header.0, header.1))
    }

    fn post_form(&self, url: &str, pairs: &[(&str, &str)], basic: Option<&str>) -> Resp {
        let body = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", util::form_escape(k), util::form_escape(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut rb = self
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(raw) = basic {
            rb = rb.header("authorization", format!("Basic {}", STANDARD.encode(raw)));
        }
        self.send(rb)
    }
}

fn jwt_parts(jwt: &str) -> (Value, Value) {
    let p: Vec<&str> = jwt.split('.').collect();
    assert_eq!(p.len(), 3, "compact JWS");
    let dec =
        |s: &str| serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap();
    (dec(p[0]), dec(p[1]))
}

fn keys_in_order(body: &str) -> Vec<String> {
    // Top-level keys in the order they appear in the raw JSON text.
    let v: serde_json::Map<String, Value> = serde_json::from_str(body).unwrap();
    let mut found: Vec<(usize, String)> = v
        .keys()
        .map(|k| (body.find(&format!("\"{k}\":")).unwrap(), k.clone()))
        .collect();
    found.sort();
    found.into_iter().map(|(_, k)| k).collect()
}

const CB: &str = DEFAULT_CALLBACK;
const STATE: &str = "state-0123456789";
const NONCE: &str = "nonce-0123456789";

fn authorize_url(e: &Emulator, extra: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = vec![
        ("response_type".into(), "code".into()),
        ("client_id".into(), DEFAULT_CLIENT_ID.into()),
        ("redirect_uri".into(), CB.into()),
        ("scope".into(), "openid profile email".into()),
        ("state".into(), STATE.into()),
        ("nonce".into(), NONCE.into()),
    ];
    for (k, v) in extra {
        pairs.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            pairs.push((k.to_string(), v.to_string()));
        }
    }
    let q: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", util::query_escape(v)))
        .collect();
    format!("{}/authorize?{}", e.issuer(), q.join("&"))
}

fn basic_secret() -> String {
    format!("{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}")
}

/// Runs /authorize and returns the code from the 303.
fn get_code(http: &Http, e: &Emulator, extra: &[(&str, &str)]) -> String {
    let r = http.get(&authorize_url(e, extra));
    assert_eq!(r.status, 303, "{}", r.location());
    param(&r.location(), "code").expect("code")
}

/// A browser at the legacy `/authorize` page: the GET answers the SPA page and
/// decides nothing; the page's script (the emulator's auto-submitting
/// stand-in form) then posts the parameters back, which is what decides.
fn legacy_authorize(http: &Http, url: &str) -> Resp {
    let page = http.get(url);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<title>Pocket ID</title>"),
        "{}",
        page.body
    );
    assert!(page.location().is_empty());
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let pairs = Form::parse(query.as_bytes()).0;
    let fields: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    http.post_form(base, &fields, None)
}

// ---------------------------------------------------------------- discovery

#[test]
fn modern_discovery_exact_fields() {
    let e = Emulator::start(Config {
        split_internal_url: true,
        ..Config::default()
    })
    .unwrap();
    let http = Http::new();
    let r = http.get(&format!(
        "{}/.well-known/openid-configuration",
        e.internal_url()
    ));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), "application/json; charset=utf-8");
    let keys = keys_in_order(&r.body);
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "keys must be alphabetical");
    let expected = [
        "authorization_endpoint",
        "authorization_response_iss_parameter_supported",
        "claims_supported",
        "client_id_metadata_document_supported",
        "code_challenge_methods_supported",
        "device_authorization_endpoint",
        "end_session_endpoint",
        "grant_types_supported",
        "id_token_signing_alg_values_supported",
        "introspection_endpoint",
        "introspection_endpoint_auth_methods_supported",
        "issuer",
        "jwks_uri",
        "prompt_values_supported",
        "pushed_authorization_request_endpoint",
        "request_object_signing_alg_values_supported",
        "request_parameter_supported",
        "request_uri_parameter_supported",
        "require_pushed_authorization_requests",
        "response_modes_supported",
        "response_types_supported",
        "scopes_supported",
        "service_documentation",
        "subject_types_supported",
        "token_endpoint",
        "token_endpoint_auth_methods_supported",
        "userinfo_endpoint",
    ];
    assert_eq!(keys, expected);
    let d = r.json();
    let a = e.issuer();
    let i = e.internal_url();
    assert!(a.starts_with("http://localhost:"));
    assert!(i.starts_with("http://127.0.0.1:"));
    assert_eq!(d["issuer"], json!(a));
    assert_eq!(d["authorization_endpoint"], json!(format!("{a}/authorize")));
    assert_eq!(
        d["end_session_endpoint"],
        json!(format!("{a}/api/oidc/end-session"))
    );
    assert_eq!(
        d["device_authorization_endpoint"],
        json!(format!("{a}/api/oidc/device/authorize"))
    );
    assert_eq!(d["token_endpoint"], json!(format!("{i}/api/oidc/token")));
    assert_eq!(
        d["userinfo_endpoint"],
        json!(format!("{i}/api/oidc/userinfo"))
    );
    assert_eq!(
        d["introspection_endpoint"],
        json!(format!("{i}/api/oidc/introspect"))
    );
    assert_eq!(d["jwks_uri"], json!(format!("{i}/.well-known/jwks.json")));
    assert_eq!(
        d["pushed_authorization_request_endpoint"],
        json!(format!("{i}/api/oidc/par"))
    );
    assert_eq!(d["id_token_signing_alg_values_supported"], json!(["RS256"]));
    assert_eq!(d["response_types_supported"], json!(["code"]));
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(d["client_id_metadata_document_supported"], json!(false));
    // RFC 8414 twin.
    let twin = http.get(&format!("{a}/.well-known/oauth-authorization-server"));
    assert_eq!(twin.status, 200);
    assert_eq!(twin.body, r.body);
}

#[test]
fn legacy_discovery_exact_fields() {
    let e = Emulator::start(Config {
        profile: Profile::Legacy,
        alg: SigningAlg::ES256,
        ..Config::default()
    })
    .unwrap();
    let http = Http::new();
    let r = http.get(&format!("{}/.well-known/openid-configuration", e.issuer()));
    let keys = keys_in_order(&r.body);
    let expected = [
        "authorization_endpoint",
        "authorization_response_iss_parameter_supported",
        "claims_supported",
        "code_challenge_methods_supported",
        "device_authorization_endpoint",
        "end_session_endpoint",
        "grant_types_supported",
        "id_token_signing_alg_values_supported",
        "introspection_endpoint",
        "issuer",
        "jwks_uri",
        "prompt_values_supported",
        "pushed_authorization_request_endpoint",
        "require_pushed_authorization_requests",
        "response_types_supported",
        "scopes_supported",
        "subject_types_supported",
        "token_endpoint",
        "token_endpoint_auth_methods_supported",
        "userinfo_endpoint",
    ];
    assert_eq!(keys, expected);
    let d = r.json();
    assert_eq!(
        d["scopes_supported"],
        json!(["openid", "profile", "email", "groups"])
    );
    assert_eq!(d["response_types_supported"], json!(["code", "id_token"]));
    assert_eq!(d["id_token_signing_alg_values_supported"], json!(["ES256"]));
    let twin = http.get(&format!(
        "{}/.well-known/oauth-authorization-server",
        e.issuer()
    ));
    assert_eq!(twin.status, 404);
    assert_eq!(twin.body, r#"{"error":"API endpoint not found"}"#);
}

#[test]
fn jwks_has_one_key_per_alg() {
    for alg in [SigningAlg::RS256, SigningAlg::ES384, SigningAlg::EdDSA] {
        let e = Emulator::start(Config {
            alg,
            ..Config::default()
        })
        .unwrap();
        let r = Http::new().get(&format!("{}/.well-known/jwks.json", e.internal_url()));
        assert_eq!(r.status, 200);
        let keys = r.json()["keys"].as_array().unwrap().clone();
        assert_eq!(keys.len(), 1);
        let k = &keys[0];
        assert_eq!(k["alg"], json!(alg.as_str()));
        assert_eq!(k["use"], "sig");
        assert_eq!(k["kid"].as_str().unwrap().len(), 11);
        assert_eq!(k["kid"], json!(e.kid()));
        match alg {
            SigningAlg::ES384 => assert_eq!(k["crv"], "P-384"),
            SigningAlg::EdDSA => assert_eq!(
                (k["kty"].as_str(), k["crv"].as_str()),
                (Some("OKP"), Some("Ed25519"))
            ),
            _ => assert_eq!(k["kty"], "RSA"),
        }
    }
}

#[test]
fn unknown_paths_and_client_meta() {
    let e = Emulator::start(Config::default()).unwrap();
    let http = Http::new();
    let a = e.issuer();
    for p in [
        "/api/nope",
        "/.well-known/nope",
        "/.well-known/openid-configuration/.well-known/openid-configuration",
        "/api/oidc/token",
    ] {
        let r = http.get(&format!("{a}{p}"));
        assert_eq!(
            (r.status, r.body.as_str()),
            (404, r#"{"error":"API endpoint not found"}"#),
            "{p}"
        );
    }
    for p in [
        "/authorize/.well-known/openid-configuration",
        "/settings",
        "/interaction/error?error=x",
        "/",
    ] {
        let r = http.get(&format!("{a}{p}"));
        assert_eq!(r.status, 200, "{p}");
        assert!(r.header("content-type").starts_with("text/html"));
        assert!(r.body.starts_with("<!doctype html>"));
    }
    let m = http.get(&format!("{a}/api/oidc/clients/romm/meta"));
    assert_eq!(m.status, 200);
    assert_eq!(
        m.body,
        r#"{"id":"romm","name":"RomM","description":"","hasLogo":false,"hasDarkLogo":false,"launchURL":null,"requiresReauthentication":false,"clientType":"standard"}"#
    );
    let missing = http.get(&format!("{a}/api/oidc/clients/nope/meta"));
    assert_eq!(missing.status, 404);
    let j = missing.json();
    assert_eq!(j["error"], "OIDC client not found");
    assert_eq!(j["code"], "not_found");
    assert_eq!(j["details"]["resource"], "OIDC client");

    let legacy = Emulator::start(Config {
        profile: Profile::Legacy,
        ..Config::default()
    })
    .unwrap();
    let m = http.get(&format!("{}/api/oidc/clients/romm/meta", legacy.issuer()));
    assert_eq!(m.json()["name"], "RomM");
    let missing = http.get(&format!("{}/api/oidc/clients/nope/meta", legacy.issuer()));
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (404, r#"{"error":"Record not found"}"#)
    );
}

// ---------------------------------------------------------------- faults

#[test]
fn discovery_faults() {
    let http = Http::new();
    let start = |f: Faults| {
        Emulator::start(Config {
            faults: f,
            ..Config::default()
        })
        .unwrap()
    };
    let e = start(Faults {
        wrong_issuer: Some("https://wrong.example.com".into()),
        ..Faults::default()
    });
    let d = http
        .get(&format!("{}/.well-known/openid-configuration", e.issuer()))
        .json();
    assert_eq!(d["issuer"], "https://wrong.example.com");
    assert_eq!(
        d["authorization_endpoint"],
        json!(format!("{}/authorize", e.issuer()))
    );

    let e = start(Faults {
        discovery_redirect: Some("https://elsewhere.example.com/".into()),
        ..Faults::default()
    });
    let r = http.get(&format!("{}/.well-known/openid-configuration", e.issuer()));
    assert_eq!(
        (r.status, r.location().as_str()),
        (301, "https://elsewhere.example.com/")
    );

    let e = start(Faults {
        html_discovery: true,
        ..Faults::default()
    });
    let r = http.get(&format!("{}/.well-known/openid-configuration", e.issuer()));
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").starts_with("text/html"));

    let e = start(Faults {
        broken_jwks: true,
        ..Faults::default()
    });
    let r = http.get(&format!("{}/.well-known/jwks.json", e.issuer()));
    assert_eq!(r.status, 200);
    assert!(r.json().get("keys").is_none());

    let e = start(Faults {
        overrides: vec![(
            "/api/oidc/token".into(),
            RawResponse::new(418, "text/plain", "teapot"),
        )],
        ..Faults::default()
    });
    let r = http.post_form(
        &format!("{}/api/oidc/token", e.issuer()),
        &[("grant_type", "x")],
        None,
    );
    assert_eq!((r.status, r.body.as_str()), (418, "teapot"));
}

#[test]
fn latency_keeps_requests_concurrent() {
    let e = Emulator::start(Config {
        faults: Faults {
            latency: Duration::from_millis(500),
            ..Faults::default()
        },
        ..Config::default()
    })
    .unwrap();
    let http = Http::new();
    let url = format!("{}/.well-known/openid-configuration", e.issuer());
    let started = Instant::now();
    let statuses = http.rt.block_on(async {
        let futs = (0..6).map(|_| {
            let c = http.client.clone();
            let u = url.clone();
            async move {
                c.get(u)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            }
        });
        let mut out = Vec::new();
        let handles: Vec<_> = futs.map(tokio::spawn).collect();
        for h in handles {
            out.push(h.await.unwrap_or(0));
        }
        out
    });
    let elapsed = started.elapsed();
    assert!(statuses.iter().all(|s| *s == 200));
    assert!(elapsed >= Duration::from_millis(500), "{elapsed:?}");
    // Six requests one after the other would take 3 s.
    assert!(
        elapsed < Duration::from_millis(2500),
        "requests were serialised: {elapsed:?}"
    );
}

// ---------------------------------------------------------------- modern flow

#[test]
fn modern_code_flow_end_to_end() {
    let e = Emulator::start(Config::default()).unwrap();
    let http = Http::new();
    let r = http.get(&authorize_url(&e, &[]));
    assert_eq!(r.status, 303);
    let loc = r.location();
    assert!(
        loc.starts_with(&format!("{CB}?code=pocket_id_ac_")),
        "{loc}"
    );
    let keys: Vec<String> = query_of(&loc).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["code", "iss", "scope", "state"]);
    assert_eq!(param(&loc, "iss").unwrap(), e.issuer());
    assert_eq!(param(&loc, "scope").unwrap(), "openid profile email");
    assert_eq!(param(&loc, "state").unwrap(), STATE);
    let code = param(&loc, "code").unwrap();

    let token_url = format!("{}/api/oidc/token", e.internal_url());
    let t = http.post_form(
        &token_url,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ],
        Some(&basic_secret()),
    );
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(t.header("content-type"), "application/json;charset=UTF-8");
    assert_eq!(t.header("cache-control"), "no-store");
    assert_eq!(t.header("pragma"), "no-cache");
    assert_eq!(
        keys_in_order(&t.body),
        [
            "access_token",
            "expires_in",
            "id_token",
            "refresh_token",
            "scope",
            "token_type"
        ]
    );
    let body = t.json();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["scope"], "openid profile email");
    assert!(
        body["refresh_token"]
            .as_str()
            .unwrap()
            .starts_with("pocket_id_rt_")
    );

    let jwks = http
        .get(&format!("{}/.well-known/jwks.json", e.internal_url()))
        .json();
    let jwk = &jwks["keys"][0];
    let id_token = body["id_token"].as_str().unwrap();
    assert!(verify_with_jwk(id_token, jwk));
    let (header, claims) = jwt_parts(id_token);
    assert_eq!(
        header,
        json!({"alg": "RS256", "kid": e.kid(), "typ": "JWT"})
    );
    assert_eq!(claims["iss"], json!(e.issuer()));
    assert_eq!(claims["aud"], json!([DEFAULT_CLIENT_ID]));
    assert_eq!(claims["sub"], DEFAULT_USER_ID);
    assert_eq!(claims["nonce"], NONCE);
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["preferred_username"], "alice");
    assert_eq!(claims["name"], "Alice Example");
    assert_eq!(claims["amr"], json!(["phr"]));
    assert_eq!(claims["type"], "id-token");
    assert!(claims.get("groups").is_none());
    for k in ["auth_time", "rat", "jti", "iat", "exp"] {
        assert!(claims.get(k).is_some(), "{k}");
    }
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(
        claims["at_hash"],
        json!(keys::at_hash(SigningAlg::RS256, access))
    );
    let (at_header, at_claims) = jwt_parts(access);
    assert_eq!(at_header["typ"], "at+jwt");
    assert!(verify_with_jwk(access, jwk));
    assert_eq!(at_claims["client_id"], DEFAULT_CLIENT_ID);
    assert_eq!(at_claims["aud"], json!([DEFAULT_CLIENT_ID, e.issuer()]));

    // userinfo (GET and POST)
    let ui = http.get_with(
        &format!("{}/api/oidc/userinfo", e.internal_url()),
        ("authorization", &format!("Bearer {access}")),
    );
    assert_eq!(ui.status, 200);
    assert_eq!(ui.json()["email_verified"], true);
    let bad = http.get_with(
        &format!("{}/api/oidc/userinfo", e.internal_url()),
        ("authorization", "Bearer nope"),
    );
    assert_eq!(bad.status, 401);
    assert!(
        bad.header("www-authenticate")
            .starts_with("Bearer error=\"request_unauthorized\"")
    );

    // the request log shows client_secret_basic and no PKCE
    let reqs = e.requests();
    let auth = reqs.iter().find(|r| r.path == "/authorize").unwrap();
    assert!(auth.query_value("code_challenge").is_none());
    let tok = reqs.iter().find(|r| r.path == "/api/oidc/token").unwrap();
    assert!(tok.header("authorization").unwrap().starts_with("Basic "));
    assert_eq!(tok.form_value("client_secret"), None);

    // reuse
    let again = http.post_form(
        &token_url,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ],
        Some(&basic_secret()),
    );
    assert_eq!(again.status, 400);
    assert!(
        again.json()["error_description"]
            .as_str()
            .unwrap()
            .ends_with("The authorization code has already been used.")
    );
    // ...which revoked the first access token
    let revoked = http.get_with(
        &format!("{}/api/oidc/userinfo", e.internal_url()),
        ("authorization", &format!("Bearer {access}")),
    );
    assert_eq!(revoked.status, 401);
}

#[test]
fn modern_token_errors() {
    let e = Emulator::start(Config::default()).unwrap();
    let http = Http::new();
    let token_url = format!("{}/api/oidc/token", e.internal_url());
    let code = get_code(&http, &e, &[]);
    let post =
        |pairs: &[(&str, &str)], basic: Option<&str>| http.post_form(&token_url, pairs, basic);

    let r = post(
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ],
        Some("romm:wrong"),
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.body, errors::invalid_client().body());
    let r = post(
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
            ("client_id", "romm"),
        ],
        None,
    );
    assert_eq!(r.status, 401, "missing secret");
    let r = post(
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ],
        Some("nobody:x"),
    );
    assert_eq!(r.status, 401, "unknown client");
    let r = post(
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ],
        None,
    );
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let r = post(&[("code", &code)], Some(&basic_secret()));
    assert!(
        r.json()["error_description"]
            .as_str()
            .unwrap()
            .ends_with("Request parameter 'grant_type' is missing")
    );

    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://romm.example.com/api/oauth/openid/"),
            ],
            "The 'redirect_uri' from this request does not match the one from the authorize request.",
        ),
        (
            &[("grant_type", "authorization_code"), ("code", &code)],
            "The 'redirect_uri' from this request does not match the one from the authorize request.",
        ),
        (
            &[
                ("grant_type", "authorization_code"),
                ("code", "pocket_id_ac_nope"),
                ("redirect_uri", CB),
            ],
            "or was issued to another client.",
        ),
    ];
    for (pairs, suffix) in cases {
        let r = post(pairs, Some(&basic_secret()));
        assert_eq!(r.status, 400);
        assert_eq!(r.json()["error"], "invalid_grant");
        assert!(
            r.json()["error_description"]
                .as_str()
                .unwrap()
                .ends_with(suffix),
            "{}",
            r.body
        );
    }
    // The code survived the failed attempts; client_secret_post works too.
    let ok = post(
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
            ("client_id", "romm"),
            ("client_secret", DEFAULT_CLIENT_SECRET),
        ],
        None,
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
}

#[test]
fn modern_basic_credentials_are_form_url_decoded() {
    let secret = "s3cret+with%special&chars";
    let mut cfg = Config::default();
    cfg.clients[0].secret = Some(secret.to_string());
    let e = Emulator::start(cfg).unwrap();
    let http = Http::new();
    let token_url = format!("{}/api/oidc/token", e.internal_url());
    let code = get_code(&http, &e, &[]);
    let p = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CB),
    ];
    // Raw secret in Basic: '%sp' is an invalid escape → invalid_request.
    let raw = http.post_form(&token_url, &p, Some(&format!("romm:{secret}")));
    assert_eq!(raw.status, 400, "{}", raw.body);
    let encoded = http.post_form(
        &token_url,
        &p,
        Some(&format!("romm:{}", util::query_escape(secret))),
    );
    assert_eq!(encoded.status, 200, "{}", encoded.body);
}

#[test]
fn modern_pkce_and_public_clients() {
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let mut cfg = Config::default();
    cfg.clients
        .push(Client::public("cli", &["http://127.0.0.1/callback"]));
    cfg.clients.push(Client {
        pkce_enabled: true,
        ..Client::confidential("pkce", "pkce-secret-0123456789", &[CB])
    });
    let e = Emulator::start(cfg).unwrap();
    let http = Http::new();
    let token_url = format!("{}/api/oidc/token", e.internal_url());
    let loopback = "http://127.0.0.1:49152/callback";

    // Public client without a challenge: Pocket ID stores PkceEnabled for every
    // public client, so it is rejected before sign-in, to the client.
    let r = http.get(&authorize_url(
        &e,
        &[("client_id", "cli"), ("redirect_uri", loopback)],
    ));
    assert_eq!(r.status, 303);
    assert!(r.location().starts_with(loopback));
    assert_eq!(param(&r.location(), "error").unwrap(), "invalid_request");
    assert!(
        param(&r.location(), "error_description")
            .unwrap()
            .ends_with("This client requires PKCE, but the 'code_challenge' parameter is missing.")
    );

    // PKCE-flag client without a challenge.
    let r = http.get(&authorize_url(&e, &[("client_id", "pkce")]));
    assert_eq!(param(&r.location(), "error").unwrap(), "invalid_request");
    assert!(
        param(&r.location(), "error_description")
            .unwrap()
            .ends_with("This client requires PKCE, but the 'code_challenge' parameter is missing.")
    );

    // Public client with S256: token with `none` auth.
    let code = get_code(
        &http,
        &e,
        &[
            ("client_id", "cli"),
            ("redirect_uri", loopback),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let bad = http.post_form(
        &token_url,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", loopback),
            ("client_id", "cli"),
            ("code_verifier", &"x".repeat(43)),
        ],
        None,
    );
    assert_eq!(bad.status, 400);
    assert!(
        bad.json()["error_description"]
            .as_str()
            .unwrap()
            .ends_with("The PKCE code challenge did not match the code verifier.")
    );
    let good = http.post_form(
        &token_url,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", loopback),
            ("client_id", "cli"),
            ("code_verifier", verifier),
        ],
        None,
    );
    assert_eq!(good.status, 200, "{}", good.body);
}

#[test]
fn modern_par_required_client_gets_the_unrecognizable_error_at_its_callback() {
    let e = Emulator::start(Config {
        session_user: None,
        clients: vec![Client {
            requires_par: true,
            ..Client::confidential(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, &[CB])
        }],
        ..Config::default()
    })
    .unwrap();
    let http = Http::new();
    // Before sign-in, and after the callback was accepted: to the client.
    let r = http.get(&authorize_url(&e, &[]));
    assert_eq!(r.status, 303, "{}", r.location());
    let loc = r.location();
    assert!(loc.starts_with(&format!("{CB}?")), "{loc}");
    assert_eq!(param(&loc, "error").as_deref(), Some("error"));
    assert_eq!(
        param(&loc, "error_description").as_deref(),
        Some("The error is unrecognizable")
    );
    // An unregistered callback still ends on the error page first.
    let r = http.get(&authorize_url(
        &e,
        &[("redirect_uri", "https://elsewhere.example/cb")],
    ));
    assert_eq!(r.status, 302);
    assert!(r.location().starts_with("/interaction/error?error="));
}

#[test]
fn modern_authorize_errors() {
    let e = Emulator::start(Config {
        allow_insecure_callback_urls: false,
        clients: vec![Client {
            name: "RomM".into(),
            ..Client::confidential(
                DEFAULT_CLIENT_ID,
                DEFAULT_CLIENT_SECRET,
                &[CB, "http://romm.lan/api/oauth/openid"],
            )
        }],
        ..Config::default()
    })
    .unwrap();
    let http = Http::new();
    let interaction_error = |extra: &[(&str, &str)]| {
        let r = http.get(&authorize_url(&e, extra));
        assert_eq!(r.status, 302);
        let loc = r.location();
        assert!(loc.starts_with("/interaction/error?error="), "{loc}");
        param(&loc, "error").unwrap()
    };
    assert_eq!(
        interaction_error(&[("client_id", "nope")]),
        "The requested OAuth 2.0 Client does not exist."
    );
    assert!(
        interaction_error(&[("redirect_uri", "https://romm.example.com/api/oauth/openid/")])
            .ends_with("is not registered for this client.")
    );
    assert_eq!(
        interaction_error(&[("redirect_uri", "")]),
        "The 'redirect_uri' parameter is required when using OpenID Connect 1.0."
    );

    let client_error = |extra: &[(&str, &str)]| {
        let r = http.get(&authorize_url(&e, extra));
        assert_eq!(r.status, 303, "{}", r.location());
        let loc = r.location();
        (
            param(&loc, "error").unwrap(),
            param(&loc, "error_description").unwrap(),
            loc,
        )
    };
    let (err, desc, loc) = client_error(&[("state", "")]);
    assert_eq!(err, "invalid_state");
    assert!(desc.ends_with("Request parameter 'state' must be at least be 8 characters long to ensure sufficient entropy."));
    assert_eq!(param(&loc, "state").unwrap(), "");
    let keys: Vec<String> = query_of(&loc).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["error", "error_description", "iss", "state"]);
    assert_eq!(client_error(&[("state", "short")]).0, "invalid_state");
    let (err, desc, _) = client_error(&[("response_type", "")]);
    assert_eq!(err, "unsupported_response_type");
    assert!(desc.ends_with("`The request is missing the 'response_type' parameter."));
    assert_eq!(
        client_error(&[("response_type", "token")]).0,
        "unsupported_response_type"
    );
    let (err, desc, loc) = client_error(&[("redirect_uri", "http://romm.lan/api/oauth/openid")]);
    assert_eq!(err, "invalid_request");
    assert!(desc.contains("insecure protocol"));
    assert!(loc.starts_with("http://romm.lan/api/oauth/openid?"));

    // Unknown scopes are dropped; fragment mode puts the answer after '#'.
    let r = http.get(&authorize_url(
        &e,
        &[
            ("scope", "openid email roles"),
            ("response_mode", "fragment"),
        ],
    ));
    assert_eq!(r.status, 303);
    let loc = r.location();
    assert!(loc.starts_with(&format!("{CB}#code=")), "{loc}");
    assert_eq!(
        Form::parse(loc.split_once('#').unwrap().1.as_bytes()).get("scope"),
        "openid email"
    );
    // form_post renders an auto-submitting page.
    let r = http.get(&authorize_url(&e, &[("response_mode", "form_post")]));
    assert_eq!(r.status, 200);
    assert!(r.body.contains(&format!("action=\"{CB}\"")));
    assert!(r.body.contains("name=\"code\""));
}

#[test]
fn short_nonce_fails_at_the_token_endpoint() {
    let e = Emulator::start(Config::default()).unwrap();
    let http = Http::new();
    let code = get_code(&http, &e, &[("nonce", "short")]);
    let r = http.post_form(
        &format!("{}/api/oidc/token", e.internal_url()),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ],
        Some(&basic_secret()),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "insufficient_entropy");
}

#[test]
fn interactive_login_step() {
    let e = Emulator::start(Config {
        session_user: None,
        ..Config::default()
    })
    .unwrap();
    let http = Http::new();
    let r = http.get(&authorize_url(&e, &[]));
    assert_eq!(r.status, 302);
    let loc = r.location();
    assert!(loc.starts_with("/interaction?interaction="), "{loc}");
    let id = param(&loc, "interaction").unwrap();
    assert_eq!(id.len(), 36);
    let page = http.get(&format!("{}{loc}", e.issuer()));
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains(&format!("action=\"/interaction/{id}/login\""))
    );
    let wrong = http.post_form(
        &format!("{}/interaction/{id}/login", e.issuer()),
        &[("username", "mallory")],
        None,
    );
    assert_eq!(wrong.status, 401);
    let login = http.post_form(
        &format!("{}/interaction/{id}/login", e.issuer()),
        &[("username", "alice")],
        None,
    );
    assert_eq!(login.status, 303);
    assert_eq!(login.location(), format!("/authorize?interaction={id}"));
    let cookie = login.header("set-cookie");
    assert!(cookie.starts_with("access_token="));
    let resumed = http.get(&format!("{}{}", e.issuer(), login.location()));
    assert_eq!(resumed.status, 303);
    assert!(resumed.location().starts_with(&format!("{CB}?code=")));
    assert_eq!(param(&resumed.location(), "state").unwrap(), STATE);
    // The interaction is single use.
    let again = http.get(&format!("{}{}", e.issuer(), login.location()));
    assert_eq!(again.status, 302);
    assert!(again.location().starts_with("/interaction/error?"));
    // The browser session now signs the next request in directly.
    let session = cookie.split(';').next().unwrap().to_string();
    let direct = http.get_with(&authorize_url(&e, &[]), ("cookie", &session));
    assert_eq!(direct.status, 303);
    // prompt=none without a session goes back to the client.
    let none = http.get(&authorize_url(&e, &[("prompt", "none")]));
    assert_eq!(param(&none.location(), "error").unwrap(), "login_required");
}

#[test]
fn email_verified_toggle_and_groups_scope() {
    let mut cfg = Config::default();
    cfg.users[0].groups = vec!["romm-admin".into()];
    let e = Emulator::start(cfg).unwrap();
    let http = Http::new();
    e.set_user_email_verified("alice", false);
    let code = get_code(&http, &e, &[("scope", "openid profile email groups")]);
    let t = http.post_form(
        &format!("{}/api/oidc/token", e.internal_url()),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ],
        Some(&basic_secret()),
    );
    let (_, claims) = jwt_parts(t.json()["id_token"].as_str().unwrap());
    assert_eq!(claims["email_verified"], false);
    assert_eq!(claims["groups"], json!(["romm-admin"]));
    // Without the email scope there are no email claims.
    let code = get_code(&http, &e, &[("scope", "openid profile")]);
    let t = http.post_form(
        &format!("{}/api/oidc/token", e.internal_url()),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ],
        Some(&basic_secret()),
    );
    let (_, claims) = jwt_parts(t.json()["id_token"].as_str().unwrap());
    assert!(claims.get("email").is_none() && claims.get("email_verified").is_none());
}

#[test]
fn every_alg_issues_verifiable_tokens_over_http() {
    let http = Http::new();
    for alg in [
        SigningAlg::ES256,
        SigningAlg::ES512,
        SigningAlg::EdDSA,
        SigningAlg::RS384,
    ] {
        let e = Emulator::start(Config {
            alg,
            ..Config::default()
        })
        .unwrap();
        let code = get_code(&http, &e, &[]);
        let t = http.post_form(
            &format!("{}/api/oidc/token", e.internal_url()),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CB),
            ],
            Some(&basic_secret()),
        );
        let body = t.json();
        let jwks = http
            .get(&format!("{}/.well-known/jwks.json", e.internal_url()))
            .json();
        let id_token = body["id_token"].as_str().unwrap();
        assert!(verify_with_jwk(id_token, &jwks["keys"][0]), "{alg:?}");
        let (_, claims) = jwt_parts(id_token);
        assert_eq!(
            claims["at_hash"],
            json!(keys::at_hash(alg, body["access_token"].as_str().unwrap()))
        );
    }
}

// ---------------------------------------------------------------- legacy

#[test]
fn legacy_flow_tofu_and_errors() {
    let mut cfg = Config {
        profile: Profile::Legacy,
        ..Config::default()
    };
    cfg.clients
        .push(Client::confidential("empty", "plus+secret", &[]));
    cfg.users.push(User::new("bob", None));
    let e = Emulator::start(cfg).unwrap();
    let http = Http::new();
    let a = e.issuer();

    // state optional, response_type ignored, 302 with code&state&iss
    let r = legacy_authorize(
        &http,
        &format!(
            "{a}/authorize?client_id=romm&scope=openid%20email&redirect_uri={}",
            util::query_escape(CB)
        ),
    );
    assert_eq!(r.status, 302);
    let loc = r.location();
    let keys: Vec<String> = query_of(&loc).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["code", "iss"]);
    let code = param(&loc, "code").unwrap();
    assert_eq!(code.len(), 32);
    assert!(code.bytes().all(|b| b.is_ascii_alphanumeric()));
    let r = legacy_authorize(&http, &authorize_url(&e, &[("response_type", "")]));
    let keys: Vec<String> = query_of(&r.location())
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, ["code", "state", "iss"]);

    // wrong callback → inline error, 200
    let r = legacy_authorize(
        &http,
        &authorize_url(
            &e,
            &[("redirect_uri", "https://romm.example.com/api/oauth/openid/")],
        ),
    );
    assert_eq!(r.status, 200);
    assert!(
        r.body
            .contains("Invalid callback URL, it might be necessary for an admin to fix this.")
    );

    // TOFU: the first redirect_uri is adopted for good, by the page's script
    // only: a bare GET of the page (no browser) adopts nothing.
    assert!(e.callback_urls("empty").is_empty());
    let bare = http.get(&authorize_url(
        &e,
        &[
            ("client_id", "empty"),
            ("redirect_uri", "http://127.0.0.1:5555/cb"),
        ],
    ));
    assert_eq!(bare.status, 200);
    assert!(
        e.callback_urls("empty").is_empty(),
        "a GET adopted a callback"
    );
    let r = legacy_authorize(
        &http,
        &authorize_url(
            &e,
            &[
                ("client_id", "empty"),
                ("redirect_uri", "http://127.0.0.1:5555/cb"),
            ],
        ),
    );
    assert_eq!(r.status, 302);
    assert_eq!(e.callback_urls("empty"), ["http://127.0.0.1:5555/cb"]);
    let other = legacy_authorize(
        &http,
        &authorize_url(
            &e,
            &[
                ("client_id", "empty"),
                ("redirect_uri", "https://romm.example.com/api/oauth/openid"),
            ],
        ),
    );
    assert_eq!(other.status, 200, "no longer adoptable");
    let tofu_code = param(&r.location(), "code").unwrap();

    // token: own error shapes, Basic not URL-decoded, redirect_uri not checked
    let token_url = format!("{}/api/oidc/token", e.internal_url());
    let bad = http.post_form(
        &token_url,
        &[("grant_type", "authorization_code"), ("code", &code)],
        Some("romm:wrong"),
    );
    assert_eq!(
        (bad.status, bad.body.as_str()),
        (401, r#"{"error":"Invalid client secret"}"#)
    );
    let missing = http.post_form(
        &token_url,
        &[("grant_type", "authorization_code"), ("code", &code)],
        None,
    );
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (400, r#"{"error":"Client id or secret not provided"}"#)
    );
    let unknown = http.post_form(
        &token_url,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "nope"),
            ("client_secret", "x"),
        ],
        None,
    );
    assert_eq!(
        (unknown.status, unknown.body.as_str()),
        (404, r#"{"error":"Client not found"}"#)
    );
    let grant = http.post_form(&token_url, &[("grant_type", "password")], None);
    assert_eq!(
        (grant.status, grant.body.as_str()),
        (400, r#"{"error":"Grant type not supported"}"#)
    );
    let ok = http.post_form(
        &token_url,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://whatever.example/"),
        ],
        Some(&basic_secret()),
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(
        keys_in_order(&ok.body),
        [
            "access_token",
            "token_type",
            "expires_in",
            "id_token",
            "refresh_token"
        ]
    );
    let body = ok.json();
    assert_eq!(
        (body["token_type"].as_str(), body["expires_in"].as_i64()),
        (Some("Bearer"), Some(3600))
    );
    let (_, claims) = jwt_parts(body["id_token"].as_str().unwrap());
    assert_eq!(claims["aud"], DEFAULT_CLIENT_ID);
    for absent in ["at_hash", "auth_time", "rat"] {
        assert!(claims.get(absent).is_none(), "{absent}");
    }
    let reuse = http.post_form(
        &token_url,
        &[("grant_type", "authorization_code"), ("code", &code)],
        Some(&basic_secret()),
    );
    assert_eq!(
        (reuse.status, reuse.body.as_str()),
        (400, r#"{"error":"Invalid authorization code"}"#)
    );
    // '+' in a Basic secret is taken literally.
    let plus = http.post_form(
        &token_url,
        &[("grant_type", "authorization_code"), ("code", &tofu_code)],
        Some("empty:plus+secret"),
    );
    assert_eq!(plus.status, 200, "{}", plus.body);

    // userinfo errors
    let ui = format!("{}/api/oidc/userinfo", e.internal_url());
    let none = http.get(&ui);
    assert_eq!(
        (none.status, none.body.as_str()),
        (401, r#"{"error":"Missing access token"}"#)
    );
    let invalid = http.get_with(&ui, ("authorization", "Bearer nope"));
    assert_eq!(
        (invalid.status, invalid.body.as_str()),
        (500, r#"{"error":"Something went wrong"}"#)
    );
    let good = http.get_with(
        &ui,
        (
            "authorization",
            &format!("Bearer {}", body["access_token"].as_str().unwrap()),
        ),
    );
    assert_eq!(good.status, 200);

    // a user without email gets email: null + email_verified
    let bob = Emulator::start(Config {
        profile: Profile::Legacy,
        session_user: Some("bob".into()),
        users: vec![User::new("bob", None)],
        ..Config::default()
    })
    .unwrap();
    let code = get_code_legacy(&http, &bob);
    let t = http.post_form(
        &format!("{}/api/oidc/token", bob.internal_url()),
        &[("grant_type", "authorization_code"), ("code", &code)],
        Some(&basic_secret()),
    );
    let (_, claims) = jwt_parts(t.json()["id_token"].as_str().unwrap());
    assert_eq!(claims["email"], Value::Null);
    assert_eq!(claims["email_verified"], true);
}

fn get_code_legacy(http: &Http, e: &Emulator) -> String {
    let r = legacy_authorize(http, &authorize_url(e, &[]));
    assert_eq!(r.status, 302, "{}", r.body);
    param(&r.location(), "code").unwrap()
}

#[test]
fn legacy_login_step_and_loopback_rules() {
    let mut cfg = Config {
        profile: Profile::Legacy,
        session_user: None,
        ..Config::default()
    };
    cfg.clients[0]
        .callback_urls
        .push("http://127.0.0.1:5000/callback".into());
    let e = Emulator::start(cfg).unwrap();
    let http = Http::new();
    let r = legacy_authorize(
        &http,
        &authorize_url(&e, &[("redirect_uri", "http://127.0.0.1:6000/callback")]),
    );
    assert_eq!(r.status, 200);
    let id = r
        .body
        .split("/interaction/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let login = http.post_form(
        &format!("{}/interaction/{id}/login", e.issuer()),
        &[("username", "alice")],
        None,
    );
    assert_eq!(login.status, 303);
    let resumed = legacy_authorize(&http, &format!("{}{}", e.issuer(), login.location()));
    // v2.0–v2.9 has no fosite IP-literal rule: a registered port must match.
    assert_eq!(resumed.status, 200);
    assert!(resumed.body.contains("Invalid callback URL"));
}

// ---------------------------------------------------------------- TLS

#[test]
fn tls_with_private_ca() {
    let e = Emulator::start(Config {
        tls: true,
        split_internal_url: true,
        ..Config::default()
    })
    .unwrap();
    assert!(e.issuer().starts_with("https://localhost:"));
    let pem = e.ca_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(!e.ca_der().unwrap().is_empty());
    let http = Http::trusting(&pem);
    for base in [e.issuer(), e.internal_url()] {
        let r = http.get(&format!("{base}/.well-known/openid-configuration"));
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["issuer"], json!(e.issuer()));
    }
}

// ---------------------------------------------------------------- RomM

fn romm_env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn romm_heartbeat_and_disabled_login() {
    let r = RommEmulator::start(RommConfig {
        version: "5.2.0".into(),
        env: romm_env(&[
            ("OIDC_PROVIDER", "pocket-id"),
            ("DISABLE_USERPASS_LOGIN", "yes"),
        ]),
        ca_pem: None,
        ..RommConfig::default()
    })
    .unwrap();
    let http = Http::new();
    let hb = http.get(&format!("{}/api/heartbeat", r.base_url()));
    assert_eq!(hb.status, 200);
    let j = hb.json();
    assert_eq!(j["SYSTEM"]["VERSION"], "5.2.0");
    assert_eq!(j["SYSTEM"]["SHOW_SETUP_WIZARD"], false);
    assert_eq!(j["FRONTEND"]["DISABLE_USERPASS_LOGIN"], true);
    assert_eq!(
        j["OIDC"],
        json!({"ENABLED": false, "AUTOLOGIN": false, "PROVIDER": "pocket-id", "RP_INITIATED_LOGOUT": false})
    );
    let login = http.get(&format!("{}/api/login/openid", r.base_url()));
    assert_eq!(
        (login.status, login.body.as_str()),
        (500, r#"{"detail":"OAuth disabled"}"#)
    );
    // 4.6: the OIDC block had only ENABLED and PROVIDER.
    let old = RommEmulator::start(RommConfig {
        version: "4.6.1".into(),
        ..RommConfig::default()
    })
    .unwrap();
    let j = http
        .get(&format!("{}/api/heartbeat", old.base_url()))
        .json();
    assert_eq!(j["OIDC"], json!({"ENABLED": false, "PROVIDER": ""}));
}

#[test]
fn romm_login_redirect_against_the_emulator() {
    let idp = Emulator::start(Config::default()).unwrap();
    let r = RommEmulator::start(RommConfig {
        version: "5.2.0".into(),
        env: romm_env(&[
            ("OIDC_ENABLED", "true"),
            ("OIDC_CLIENT_ID", "romm"),
            ("OIDC_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
            ("OIDC_REDIRECT_URI", "{romm_base_url}/api/oauth/openid"),
            ("OIDC_SERVER_APPLICATION_URL", &format!("{}/", idp.issuer())),
            ("OIDC_CLAIM_ROLES", "groups"),
        ]),
        ca_pem: None,
        ..RommConfig::default()
    })
    .unwrap();
    let http = Http::new();
    let login = http.get(&format!("{}/api/login/openid", r.base_url()));
    assert_eq!(login.status, 302, "{}", login.body);
    let loc = login.location();
    let prefix = format!(
        "{}/authorize?response_type=code&client_id=romm&redirect_uri={}&scope=openid+profile+email+groups&state=",
        idp.issuer(),
        util::query_escape(&format!("{}/api/oauth/openid", r.base_url()))
    );
    assert!(loc.starts_with(&prefix), "{loc}");
    assert_eq!(param(&loc, "state").unwrap().len(), 30);
    assert_eq!(param(&loc, "nonce").unwrap().len(), 20);
    let cookie = login.header("set-cookie");
    assert!(cookie.starts_with("romm_session="));
    assert!(cookie.ends_with("; path=/; Max-Age=1209600; httponly; samesite=lax"));
    assert!(r.discovery_cached());
    // The Location is a valid authorize request (here the callback is not registered).
    let auth = http.get(&loc);
    assert_eq!(auth.status, 302);
    assert!(
        param(&auth.location(), "error")
            .unwrap()
            .ends_with("is not registered for this client.")
    );
    // Cached: a second login does not fetch discovery again.
    http.get(&format!("{}/api/login/openid", r.base_url()));
    let fetches = idp
        .requests()
        .iter()
        .filter(|q| q.path == "/.well-known/openid-configuration")
        .count();
    assert_eq!(fetches, 1);
    assert_eq!(
        idp.requests()[0].header("user-agent"),
        Some("python-httpx/0.28.1")
    );
}

#[test]
fn romm_discovery_failures_are_plain_500s() {
    let http = Http::new();
    let idp = Emulator::start(Config::default()).unwrap();
    let html = Emulator::start(Config {
        faults: Faults {
            html_discovery: true,
            ..Faults::default()
        },
        ..Config::default()
    })
    .unwrap();
    let moved = Emulator::start(Config {
        faults: Faults {
            discovery_redirect: Some("https://x.example/".into()),
            ..Faults::default()
        },
        ..Config::default()
    })
    .unwrap();
    let tls = Emulator::start(Config {
        tls: true,
        ..Config::default()
    })
    .unwrap();
    let cases: Vec<(String, Option<String>)> = vec![
        (format!("{}/authorize", idp.issuer()), None),
        (
            format!("{}/.well-known/openid-configuration", idp.issuer()),
            None,
        ),
        (html.issuer(), None),
        (moved.issuer(), None),
        (format!("\"{}\"", idp.issuer()), None),
        (String::new(), None),
        (tls.issuer(), None),
        (tls.issuer(), Some("not a pem".to_string())),
    ];
    for (url, ca) in cases {
        let r = RommEmulator::start(RommConfig {
            version: "5.2.0".into(),
            env: romm_env(&[("OIDC_ENABLED", "1"), ("OIDC_SERVER_APPLICATION_URL", &url)]),
            ca_pem: ca,
            ..RommConfig::default()
        })
        .unwrap();
        let login = http.get(&format!("{}/api/login/openid", r.base_url()));
        assert_eq!(
            (login.status, login.body.as_str()),
            (500, "Internal Server Error"),
            "{url}"
        );
        assert!(!r.discovery_cached());
    }
    // With the private CA as its trust store, the TLS provider works.
    let r = RommEmulator::start(RommConfig {
        version: "5.2.0".into(),
        env: romm_env(&[
            ("OIDC_ENABLED", "on"),
            ("OIDC_SERVER_APPLICATION_URL", &tls.issuer()),
        ]),
        ca_pem: tls.ca_pem(),
        ..RommConfig::default()
    })
    .unwrap();
    let login = http.get(&format!("{}/api/login/openid", r.base_url()));
    assert_eq!(login.status, 302);
    assert!(!login.location().contains("redirect_uri="));
}

// ---------------------------------------------------------------- robustness

#[test]
fn hostile_requests_get_4xx_not_panics() {
    for profile in [Profile::Modern, Profile::Legacy] {
        let e = Emulator::start(Config {
            profile,
            session_user: None,
            ..Config::default()
        })
        .unwrap();
        let http = Http::new();
        let a = e.issuer();
        let weird = [
            "/authorize?client_id=%ff%fe&redirect_uri=%zz&state=\u{0}",
            "/authorize?client_id=romm&redirect_uri=http://[::1&scope=openid&state=12345678",
            "/authorize?interaction=../../etc",
            "/authorize?client_id=romm&redirect_uri=javascript:alert(1)&state=12345678&response_type=code",
            "/api/oidc/clients/%2F/meta",
            "/api/oidc/clients//meta",
            "/interaction?interaction=nope",
            "/api/oidc/userinfo?access_token=x",
        ];
        for p in weird {
            let r = http.get(&format!("{a}{p}"));
            assert!(r.status < 500, "{p}: {}", r.status);
        }
        let token_url = format!("{a}/api/oidc/token");
        let bodies: [&[u8]; 4] = [
            b"\xff\xfe\x00",
            b"grant_type=authorization_code&code=%zz",
            b"=&&==",
            b"grant_type",
        ];
        for body in bodies {
            let r = http.send(
                http.client
                    .post(&token_url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("authorization", "Basic !!!")
                    .body(body.to_vec()),
            );
            assert!((400..500).contains(&r.status), "{:?}: {}", body, r.status);
        }
        // An oversized body is refused (413), or the connection is cut mid-upload.
        let r = http.try_send(
            http.client
                .post(format!("{a}/interaction/x/login"))
                .body(vec![0u8; 2 << 20]),
        );
        assert!(r.is_none_or(|r| r.status == 413), "oversized body");
        // (that connection is closed by the server; a fresh client still gets answers)
        assert_eq!(
            Http::new()
                .get(&format!("{a}/.well-known/jwks.json"))
                .status,
            200,
            "still serving"
        );
    }
}

#[test]
fn drop_shuts_the_server_down() {
    let e = Emulator::start(Config::default()).unwrap();
    let port = e.port();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    drop(e);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

// ---------------------------------------------------------------- ID-token faults

/// Runs the code flow against `e` and returns (token response, JWKS key).
fn exchange_code(http: &Http, e: &Emulator, legacy: bool) -> (Value, Value) {
    let code = if legacy {
        get_code_legacy(http, e)
    } else {
        get_code(http, e, &[])
    };
    let t = http.post_form(
        &format!("{}/api/oidc/token", e.internal_url()),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ],
        Some(&basic_secret()),
    );
    assert_eq!(t.status, 200, "{}", t.body);
    let jwks = http
        .get(&format!("{}/.well-known/jwks.json", e.internal_url()))
        .json();
    (t.json(), jwks["keys"][0].clone())
}

fn start_with_token_fault(fault: TokenFault, profile: Profile, alg: SigningAlg) -> Emulator {
    Emulator::start(Config {
        profile,
        alg,
        faults: Faults {
            id_token: Some(fault),
            ..Faults::default()
        },
        ..Config::default()
    })
    .unwrap()
}

#[test]
fn token_fault_names_round_trip() {
    for f in TokenFault::ALL {
        assert_eq!(TokenFault::parse(f.as_str()), Some(f));
    }
    assert_eq!(TokenFault::parse("nope"), None);
}

/// The claims a fault changes (all others keep their normal value).
fn claims_changed_by(fault: TokenFault) -> &'static [&'static str] {
    match fault {
        TokenFault::WrongAudience | TokenFault::AudienceWithOther => &["aud"],
        TokenFault::OtherAudienceWithAzp => &["aud", "azp"],
        TokenFault::WrongAzp => &["azp"],
        TokenFault::Expired | TokenFault::ExpiredWithinLeeway => &["exp", "iat"],
        TokenFault::IssuedInFuture | TokenFault::NoIat => &["iat"],
        TokenFault::ExpAsString => &["exp"],
        TokenFault::NoSub => &["sub"],
        TokenFault::WrongNonce | TokenFault::NoNonce => &["nonce"],
        TokenFault::WrongIssuer => &["iss"],
        TokenFault::NoAtHash | TokenFault::WrongAtHash => &["at_hash"],
        // With RS256 the RFC 8037 hash is fosite's: nothing changes.
        TokenFault::AtHashSha512ForEdDsa
        | TokenFault::AlgNone
        | TokenFault::Hs256WithPublicKey
        | TokenFault::WrongKey
        | TokenFault::NoKid
        | TokenFault::NoKidTwoKeys => &[],
    }
}

#[test]
fn id_token_faults_break_only_what_they_name() {
    let http = Http::new();
    let now = util::now_secs();
    for fault in TokenFault::ALL {
        let e = start_with_token_fault(fault, Profile::Modern, SigningAlg::RS256);
        let (body, jwk) = exchange_code(&http, &e, false);
        let jwks = http
            .get(&format!("{}/.well-known/jwks.json", e.internal_url()))
            .json();
        let published = jwks["keys"].as_array().unwrap();
        let id_token = body["id_token"].as_str().unwrap();
        let access_token = body["access_token"].as_str().unwrap();
        // The access token is untouched and still verifies.
        assert!(verify_with_jwk(access_token, &jwk), "{fault:?}");
        let parts: Vec<&str> = id_token.split('.').collect();
        assert_eq!(parts.len(), 3, "{fault:?}: compact JWS");
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        let no_kid = matches!(fault, TokenFault::NoKid | TokenFault::NoKidTwoKeys);
        if no_kid {
            assert!(header.get("kid").is_none(), "{fault:?}: {header}");
        } else {
            assert_eq!(header["kid"], jwk["kid"], "{fault:?}: kid kept");
        }
        if fault == TokenFault::NoKidTwoKeys {
            assert_eq!(published.len(), 2, "{jwks}");
            assert_ne!(published[0]["kid"], published[1]["kid"]);
            assert_eq!(published[1]["alg"], "RS256");
            assert!(
                !verify_with_jwk(id_token, &published[1]),
                "the second key never signs"
            );
        } else {
            assert_eq!(published.len(), 1, "{fault:?}: {jwks}");
        }
        match fault {
            TokenFault::AlgNone => {
                assert_eq!(header["alg"], "none");
                assert_eq!(parts[2], "", "no signature");
            }
            TokenFault::Hs256WithPublicKey => {
                assert_eq!(header["alg"], "HS256");
                let pem = e.public_key_pem();
                assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
                assert!(pem.ends_with("-----END PUBLIC KEY-----\n"), "{pem}");
                // The PEM body is the SPKI DER whose RSA modulus is the JWK's n.
                let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
                let der = STANDARD.decode(der).unwrap();
                let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
                assert!(
                    der.windows(n.len()).any(|w| w == n.as_slice()),
                    "SPKI holds n"
                );
                let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, pem.as_bytes());
                let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
                let msg = format!("{}.{}", parts[0], parts[1]);
                assert!(aws_lc_rs::hmac::verify(&key, msg.as_bytes(), &sig).is_ok());
            }
            TokenFault::WrongKey => {
                assert_eq!(header["alg"], jwk["alg"]);
                assert!(
                    !verify_with_jwk(id_token, &jwk),
                    "must not verify with the JWKS key"
                );
            }
            _ => assert!(verify_with_jwk(id_token, &jwk), "{fault:?}: signature"),
        }
        let changed = claims_changed_by(fault);
        for name in ["aud", "azp", "exp", "iat", "sub", "nonce", "iss", "at_hash"] {
            assert_eq!(
                !changed.contains(&name),
                fault_free(name, &claims, &e, now, access_token),
                "{fault:?}: {name} in {claims:#}"
            );
        }
        let other = json!(WRONG_TOKEN_AUDIENCE);
        match fault {
            TokenFault::WrongAudience => assert_eq!(claims["aud"], json!([other])),
            TokenFault::AudienceWithOther => {
                assert_eq!(claims["aud"], json!([DEFAULT_CLIENT_ID, other]));
            }
            TokenFault::OtherAudienceWithAzp => {
                assert_eq!(claims["aud"], json!([other]));
                assert_eq!(claims["azp"], DEFAULT_CLIENT_ID);
            }
            TokenFault::WrongAzp => assert_eq!(claims["azp"], other),
            TokenFault::Expired => {
                assert!(claims["exp"].as_i64().unwrap() <= now - 3600 + 5);
                assert!(claims["iat"].as_i64().unwrap() <= now - 7200 + 5);
            }
            TokenFault::ExpiredWithinLeeway => {
                let exp = claims["exp"].as_i64().unwrap();
                assert!((now - 65..=now - 55).contains(&exp), "{exp} vs {now}");
            }
            TokenFault::IssuedInFuture => {
                let iat = claims["iat"].as_i64().unwrap();
                assert!((now + 295..=now + 305).contains(&iat), "{iat} vs {now}");
            }
            TokenFault::ExpAsString => {
                let exp: i64 = claims["exp"].as_str().unwrap().parse().unwrap();
                assert!(exp > now + 3000);
            }
            TokenFault::NoIat => assert!(claims.get("iat").is_none()),
            TokenFault::NoSub => assert!(claims.get("sub").is_none()),
            TokenFault::NoNonce => assert!(claims.get("nonce").is_none()),
            TokenFault::WrongIssuer => assert_eq!(claims["iss"], WRONG_TOKEN_ISSUER),
            TokenFault::NoAtHash => assert!(claims.get("at_hash").is_none()),
            TokenFault::WrongAtHash => assert!(claims["at_hash"].is_string()),
            _ => {}
        }
    }
}

/// Whether one claim has its normal, correct value.
fn fault_free(name: &str, claims: &Value, e: &Emulator, now: i64, access_token: &str) -> bool {
    match name {
        "aud" => claims["aud"] == json!([DEFAULT_CLIENT_ID]),
        "azp" => claims.get("azp").is_none(),
        "exp" => claims["exp"].as_i64().is_some_and(|x| x > now + 3000),
        "iat" => claims["iat"].as_i64().is_some_and(|x| (x - now).abs() <= 5),
        "sub" => claims["sub"] == DEFAULT_USER_ID,
        "nonce" => claims["nonce"] == NONCE,
        "iss" => claims["iss"] == e.issuer(),
        "at_hash" => claims["at_hash"] == crate::keys::at_hash(SigningAlg::RS256, access_token),
        _ => unreachable!(),
    }
}

#[test]
fn at_hash_follows_the_pocket_id_version_and_the_sha512_fault() {
    let http = Http::new();
    // Legacy (v2.9 and older): no at_hash at all.
    let e = Emulator::start(Config {
        alg: SigningAlg::EdDSA,
        ..Config::for_version("2.9.0")
    })
    .unwrap();
    let (body, _) = exchange_code(&http, &e, true);
    let (_, claims) = jwt_parts(body["id_token"].as_str().unwrap());
    assert!(claims.get("at_hash").is_none(), "{claims:#}");
    // v2.10.0 (the first fosite release): the size follows the alg, EdDSA is SHA-256.
    for (alg, size) in [
        (SigningAlg::RS256, 16),
        (SigningAlg::ES384, 24),
        (SigningAlg::RS512, 32),
        (SigningAlg::EdDSA, 16),
    ] {
        let e = Emulator::start(Config {
            alg,
            ..Config::for_version("2.10.0")
        })
        .unwrap();
        let (body, _) = exchange_code(&http, &e, false);
        let (_, claims) = jwt_parts(body["id_token"].as_str().unwrap());
        let hash = URL_SAFE_NO_PAD
            .decode(claims["at_hash"].as_str().unwrap())
            .unwrap();
        assert_eq!(hash.len(), size, "{alg:?}");
    }
    // The fault hashes EdDSA with SHA-512, in both profiles.
    for profile in [Profile::Modern, Profile::Legacy] {
        let e =
            start_with_token_fault(TokenFault::AtHashSha512ForEdDsa, profile, SigningAlg::EdDSA);
        let (body, _) = exchange_code(&http, &e, profile == Profile::Legacy);
        let access_token = body["access_token"].as_str().unwrap();
        let (_, claims) = jwt_parts(body["id_token"].as_str().unwrap());
        let full = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, access_token.as_bytes());
        assert_eq!(
            claims["at_hash"],
            json!(URL_SAFE_NO_PAD.encode(&full.as_ref()[..32])),
            "{profile:?}"
        );
    }
}

#[test]
fn id_token_faults_in_legacy_profile_and_other_algs() {
    let http = Http::new();
    let e = start_with_token_fault(
        TokenFault::WrongAudience,
        Profile::Legacy,
        SigningAlg::RS256,
    );
    let (body, jwk) = exchange_code(&http, &e, true);
    let id_token = body["id_token"].as_str().unwrap();
    assert!(verify_with_jwk(id_token, &jwk));
    let (_, claims) = jwt_parts(id_token);
    assert_eq!(
        claims["aud"],
        json!(WRONG_TOKEN_AUDIENCE),
        "legacy aud is a string"
    );

    for alg in [SigningAlg::ES256, SigningAlg::EdDSA] {
        let e = start_with_token_fault(TokenFault::WrongKey, Profile::Modern, alg);
        let (body, jwk) = exchange_code(&http, &e, false);
        let id_token = body["id_token"].as_str().unwrap();
        assert!(!verify_with_jwk(id_token, &jwk), "{alg:?}");
        assert!(verify_with_jwk(
            body["access_token"].as_str().unwrap(),
            &jwk
        ));
        assert!(
            e.public_key_pem()
                .starts_with("-----BEGIN PUBLIC KEY-----\n")
        );
    }
}

#[path = "admin_tests.rs"]
mod admin_api;

#[test]
fn romm_admin_api_answers_as_romm() {
    use crate::romm::{RommClientToken, RommUser};
    let r = RommEmulator::start(RommConfig {
        users: vec![
            RommUser::new("Admin", Some("admin@example.com"), "pw", "admin"),
            RommUser::new("bob", None, "bob-pw", "user"),
            RommUser {
                enabled: false,
                ..RommUser::new("carol", Some("carol@example.com"), "c", "admin")
            },
        ],
        client_tokens: vec![RommClientToken {
            token: "rmm_me".into(),
            username: "Admin".into(),
            scopes: vec!["me.read".into()],
        }],
        ..RommConfig::default()
    })
    .unwrap();
    let http = Http::new();
    let token = format!("{}/api/token", r.base_url());
    let users = format!("{}/api/users", r.base_url());
    let detail = |resp: &Resp| resp.json()["detail"].clone();
    // endpoints/auth.py `token`: the grant's answers, in RomM's order.
    type Case<'a> = (&'a [(&'a str, &'a str)], u16, &'a str);
    let cases: &[Case] = &[
        (
            &[("username", "admin")],
            400,
            "Missing username or password",
        ),
        (
            &[("username", "admin"), ("password", "no")],
            401,
            "Invalid username or password",
        ),
        (
            &[("username", "carol"), ("password", "c")],
            403,
            "User account is disabled",
        ),
        (
            &[
                ("username", "bob"),
                ("password", "bob-pw"),
                ("scope", "users.read"),
            ],
            403,
            "Insufficient scope",
        ),
        (
            &[("grant_type", "client_credentials")],
            400,
            "Client credentials are not yet supported",
        ),
        (
            &[("grant_type", "refresh_token")],
            400,
            "Missing refresh token",
        ),
        (
            &[("grant_type", "device_code")],
            400,
            "Invalid or unsupported grant type",
        ),
    ];
    for (form, status, text) in cases {
        let resp = http.post_form(&token, form, None);
        assert_eq!(
            (resp.status, detail(&resp)),
            (*status, json!(text)),
            "{form:?}"
        );
    }
    // The username matches case-insensitively; the token carries the scopes asked.
    let ok = http.post_form(
        &token,
        &[
            ("username", "ADMIN"),
            ("password", "pw"),
            ("scope", "users.read"),
        ],
        None,
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    let j = ok.json();
    assert_eq!(j["token_type"], "bearer");
    let bearer = j["access_token"].as_str().unwrap().to_string();
    let list = http.get_with(&users, ("authorization", &format!("Bearer {bearer}")));
    assert_eq!(list.status, 200, "{}", list.body);
    let list = list.json();
    assert_eq!(list[0]["username"], "Admin");
    assert_eq!(list[1]["email"], Value::Null);
    assert_eq!(list[2]["enabled"], false);
    assert_eq!(list[0]["id"], 1);
    // A token without users.read, and a client token limited to me.read.
    let me = http.post_form(&token, &[("username", "Admin"), ("password", "pw")], None);
    let me = me.json()["access_token"].as_str().unwrap().to_string();
    for bearer in [me.as_str(), "rmm_me"] {
        let resp = http.get_with(&users, ("authorization", &format!("Bearer {bearer}")));
        assert_eq!((resp.status, detail(&resp)), (403, json!("Forbidden")));
    }
    // Unauthenticated: 401 with WWW-Authenticate: Bearer.
    for header in ["Bearer rmm_unknown", "Basic QWRtaW46bm8=", "Bearer"] {
        let resp = http.get_with(&users, ("authorization", header));
        assert_eq!(
            (resp.status, detail(&resp)),
            (401, json!("Not authenticated")),
            "{header}"
        );
        assert_eq!(resp.header("www-authenticate"), "Bearer");
    }
    // HTTP Basic works; a non-ASCII password breaks FastAPI's HTTPBasic inside
    // RomM's middleware (a bare 500).
    let basic = |raw: &[u8]| format!("Basic {}", STANDARD.encode(raw));
    let resp = http.get_with(&users, ("authorization", &basic(b"admin:pw")));
    assert_eq!(resp.status, 200);
    let resp = http.get_with(&users, ("authorization", &basic("admin:pé".as_bytes())));
    assert_eq!(
        (resp.status, resp.body.as_str()),
        (500, "Internal Server Error")
    );
}
