//! Malformed-input robustness: `doctor --json` against a Pocket ID emulator whose
//! answers are broken on purpose (truncated or non-JSON bodies, wrong types,
//! multi-MB bodies, binary junk, keys of the wrong kind, redirect loops, …),
//! plus a raw socket for what no HTTP framework sends (lying lengths, endless
//! bodies, no HTTP at all, a stall).
//!
//! Every case must end with the named check failing with a clear summary, exit
//! status 1 (never 101, a Rust panic, nor a signal), no panic message, valid
//! JSON on stdout with `ok: false`, within a wall-time bound and with the
//! child's peak RSS under a fixed bound and close to a healthy run's. The only
//! exceptions are answers of Pocket ID's client-metadata endpoint, which RomM
//! never calls: those must warn (never pass) and the run exits 0.
//!
//! Peak RSS is measured with `/usr/bin/time -f %M` (exact, from `wait4`) when it
//! exists, else by polling `VmHWM` in `/proc/<pid>/status` (forced with
//! `MALFORMED_POLL_RSS=1`). `cargo test --test malformed -- --nocapture` prints
//! one line per case with the measured figures; `MALFORMED_DUMP=1` adds the
//! judged check in full.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use pocket_id_emulator::{
    Config, DEFAULT_CALLBACK, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Emulator, Faults,
    RawResponse,
};

use crate::support::prelude::*;
use crate::support::wire::{Listener, drip, hold};

/// The doctor's own HTTP timeout for each request.
const TIMEOUT_SECS: &str = "5";
/// Wall-time bound of one doctor run.
const WALL_LIMIT: Duration = Duration::from_secs(10);
/// How long past `--timeout` a never-ending answer may keep one run going
/// (process start, the other checks, a loaded machine).
const SLOW_SLACK: Duration = Duration::from_secs(3);
/// A run still going after this is killed (a hang), and fails the case.
const KILL_AFTER: Duration = Duration::from_secs(30);
/// Peak resident set size bound of one doctor run, in KiB.
const RSS_LIMIT_KIB: u64 = 150 * 1024;
/// A broken answer may cost at most this much more than a healthy run: the
/// doctor reads at most 1 MiB of any body, so a multi-MB body read whole would
/// show here long before it reached `RSS_LIMIT_KIB`.
const RSS_GROWTH_LIMIT_KIB: u64 = 8 * 1024;

const DISCOVERY: &str = "/.well-known/openid-configuration";
const JWKS: &str = "/.well-known/jwks.json";
const TOKEN: &str = "/api/oidc/token";
const META: &str = "/api/oidc/clients/romm/meta";

const JSON: &str = "application/json; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

const MIB: usize = 1024 * 1024;

// ====================================================================== the case table

type Overrides = Vec<(String, RawResponse)>;

/// One broken provider answer and what the doctor must say about it.
struct Case {
    name: &'static str,
    /// Builds the canned answers. The argument is the issuer of a healthy peer
    /// emulator (empty unless `peer`), for discovery documents whose other
    /// endpoints must work: the emulator's port is only known once it runs,
    /// so a hand-written document points at the peer instead.
    build: fn(&str) -> Overrides,
    /// Instead of the emulator, a raw socket answers every request with
    /// bytes no HTTP framework would send (lying lengths, no HTTP at all, a
    /// stall); `build` is then unused.
    wire: Option<fn(&mut TcpStream)>,
    peer: bool,
    /// The check that must carry the verdict.
    check: &'static str,
    /// Its status: `fail` (then the run exits 1 with `ok: false`), or `warn`
    /// for an endpoint RomM never calls (then it exits 0 with `ok: true`).
    status: &'static str,
    /// A word (case-insensitive) its summary must contain.
    word: &'static str,
    /// A word its detail/expected/found must contain, when the summary is
    /// generic by design (e.g. "1 problem in the discovery document").
    detail_word: Option<&'static str>,
    /// The answer never completes: the run must end by the request deadline,
    /// no earlier than `--timeout` (else something else ended it) and no
    /// later than `SLOW_SLACK` after it.
    slow: bool,
    /// The raw socket is reached over `https://` (it never reads a request
    /// head: the client speaks TLS first).
    https: bool,
}

fn case(check: &'static str, word: &'static str, build: fn(&str) -> Overrides) -> Case {
    Case {
        name: "",
        build,
        wire: None,
        peer: false,
        check,
        status: "fail",
        word,
        detail_word: None,
        slow: false,
        https: false,
    }
}

/// A case answered by a raw socket (see [`Case::wire`]) in place of discovery.
fn wire(check: &'static str, word: &'static str, answer: fn(&mut TcpStream)) -> Case {
    Case {
        wire: Some(answer),
        ..case(check, word, |_| Vec::new())
    }
}

impl Case {
    /// The canned discovery document points at a healthy peer emulator.
    fn peer(mut self) -> Case {
        self.peer = true;
        self
    }
    /// The check warns and nothing else breaks: exit 0, `ok: true` (only for
    /// answers RomM itself never reads).
    fn warn(mut self) -> Case {
        self.status = "warn";
        self
    }
    fn detail(mut self, word: &'static str) -> Case {
        self.detail_word = Some(word);
        self
    }
    fn slow(mut self) -> Case {
        self.slow = true;
        self
    }
    fn https(mut self) -> Case {
        self.https = true;
        self
    }
}

fn on(path: &str, response: RawResponse) -> Overrides {
    vec![(path.to_string(), response)]
}

fn raw(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> RawResponse {
    RawResponse::new(status, content_type, body)
}

fn json200(body: impl Into<Vec<u8>>) -> RawResponse {
    raw(200, JSON, body)
}

/// A redirect with a `Location` and Go's `http.Redirect` HTML body.
fn redirect(status: u16, location: &str) -> RawResponse {
    let mut r = raw(
        status,
        HTML,
        format!("<a href=\"{location}\">Moved Permanently</a>.\n\n"),
    );
    r.headers
        .push(("location".to_string(), location.to_string()));
    r
}

/// A complete, healthy Pocket ID v2.14 discovery document (written by hand)
/// whose endpoints are on `a`.
fn doc(a: &str) -> Value {
    json!({
        "issuer": a,
        "authorization_endpoint": format!("{a}/authorize"),
        "token_endpoint": format!("{a}/api/oidc/token"),
        "userinfo_endpoint": format!("{a}/api/oidc/userinfo"),
        "end_session_endpoint": format!("{a}/api/oidc/end-session"),
        "jwks_uri": format!("{a}/.well-known/jwks.json"),
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "scopes_supported": ["openid", "profile", "email", "groups", "offline_access"],
        "claims_supported": ["sub", "name", "email", "email_verified", "preferred_username", "groups"],
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["plain", "S256"],
        "request_parameter_supported": true,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
    })
}

/// The healthy document with `key` set to `value` (or removed when `None`).
fn doc_with(a: &str, key: &str, value: Option<Value>) -> Overrides {
    let mut d = doc(a);
    let map = d.as_object_mut().expect("object");
    match value {
        Some(v) => map.insert(key.to_string(), v),
        None => map.remove(key),
    };
    on(DISCOVERY, json200(d.to_string()))
}

/// A public RSA JWK with plausible (not real) members, usable for RS256.
fn rsa_public_jwk(kid: &str) -> Value {
    json!({
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "e": "AQAB",
        "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw"
    })
}

fn jwks_of(keys: Value) -> Overrides {
    on(JWKS, json200(json!({ "keys": keys }).to_string()))
}

/// `len` bytes of a JSON-looking document: one long string member.
fn huge_json(len: usize) -> Vec<u8> {
    let mut body = b"{\"issuer\":\"".to_vec();
    body.resize(len - 2, b'a');
    body.extend_from_slice(b"\"}");
    body
}

/// Deterministic pseudo-random bytes, NULs and high bytes included.
fn junk(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    let mut out: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    out[0] = 0;
    out[1] = 0xff;
    out[2] = 0xfe;
    out
}

/// One test per case, plus `table()` listing them all.
macro_rules! cases {
    ($($name:ident => $case:expr;)+) => {
        fn table() -> Vec<Case> {
            vec![$({
                let mut c: Case = $case;
                c.name = stringify!($name);
                c
            }),+]
        }
        $(
            #[test]
            fn $name() {
                run_case(stringify!($name));
            }
        )+
    };
}

cases! {
    // ------------------------------------------------------------ discovery body
    discovery_truncated_json => case("discovery.fetch", "not JSON", |_| on(DISCOVERY, json200(
        r#"{"issuer":"https://id.example.com","authorization_endpoint":"https://id.example.com/auth"#)));
    discovery_empty_body => case("discovery.fetch", "not JSON", |_| on(DISCOVERY, json200("")));
    discovery_null => case("discovery.fetch", "not an object", |_| on(DISCOVERY, json200("null")));
    discovery_json_string => case("discovery.fetch", "not an object", |_| on(DISCOVERY, json200(
        r#""https://id.example.com/.well-known/openid-configuration""#)));
    discovery_array => case("discovery.fetch", "not an object", |_| on(DISCOVERY, json200(
        r#"[{"issuer":"https://id.example.com"}]"#)));
    discovery_number => case("discovery.fetch", "not an object", |_| on(DISCOVERY, json200("42")));
    discovery_binary_junk => case("discovery.fetch", "not JSON", |_| on(DISCOVERY, json200(junk(4096))));
    discovery_utf16 => case("discovery.fetch", "not JSON", |_| {
        // RFC 8259 §8.1: JSON between systems MUST be UTF-8.
        let text = r#"{"issuer":"https://id.example.com"}"#;
        let mut body = vec![0xff, 0xfe];
        body.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        on(DISCOVERY, json200(body))
    });
    discovery_invalid_utf8 => case("discovery.fetch", "not JSON", |_| on(DISCOVERY, json200(
        b"{\"issuer\":\"https://id.\xff\xfe\xc3(.example.com\"}".to_vec())));
    discovery_nested_too_deep => case("discovery.fetch", "not JSON", |_| {
        let mut body = "[".repeat(200_000);
        body.push_str(&"]".repeat(200_000));
        on(DISCOVERY, json200(body))
    });
    discovery_html_200 => case("discovery.fetch", "HTML", |_| on(DISCOVERY, raw(200, HTML,
        "<!DOCTYPE html><html><head><title>Pocket ID</title></head><body><div id=\"app\"></div></body></html>")));
    discovery_5mb_body => case("discovery.fetch", "too large", |_| on(DISCOVERY, json200(huge_json(5 * MIB))));
    discovery_redirect_loop_301 => case("discovery.fetch", "redirect", |_| on(DISCOVERY, redirect(301, DISCOVERY)));
    discovery_302_elsewhere => case("discovery.fetch", "redirect", |_| on(DISCOVERY, redirect(302, "/login?next=%2F")));
    discovery_204_no_content => case("discovery.fetch", "not JSON", |_| on(DISCOVERY, raw(204, JSON, "")));
    discovery_500_json_error => case("discovery.fetch", "500", |_| on(DISCOVERY, raw(500, JSON,
        r#"{"error":"Something went wrong","code":"internal_server_error"}"#)));

    // ------------------------------------------------------------ raw wire (discovery)
    wire_50mb_content_length_short_body => wire("discovery.fetch", "too large", |s| {
        let _ = s.write_all(format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{{\"issuer\":\"https://id.example.com\"}}",
            50 * MIB
        ).as_bytes());
    });
    wire_8mb_body_without_length => wire("discovery.fetch", "too large", |s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n");
        let _ = s.write_all(&huge_json(8 * MIB));
    });
    wire_endless_chunked_body => wire("discovery.fetch", "too large", |s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n");
        let chunk = format!("10000\r\n{}\r\n", "7".repeat(0x10000));
        // Until the reader hangs up (or 256 MiB, a safety stop).
        for _ in 0..4096 {
            if s.write_all(chunk.as_bytes()).is_err() {
                break;
            }
        }
    });
    wire_closed_without_answer => wire("discovery.fetch", "failed", |_| {}).detail("closed");
    wire_not_http => wire("discovery.fetch", "failed", |s| {
        let _ = s.write_all(&junk(4096));
    })
    .detail("HTTP");
    wire_truncated_body => wire("discovery.fetch", "failed", |s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"issuer\":\"https://id.exa");
    })
    .detail("body");
    wire_1mb_header => wire("discovery.fetch", "failed", |s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Junk: ");
        let _ = s.write_all(&vec![b'j'; MIB]);
        let _ = s.write_all(b"\r\nContent-Length: 2\r\n\r\n{}");
    })
    .detail("too large");
    wire_headers_then_stall => wire("discovery.fetch", "timed out", |s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"issuer\":");
        hold(s);
    })
    .detail("--timeout").slow();
    // ------------------------------------------------------------ raw wire: never-ending answers
    // Each read gets bytes in time, so only a deadline on the whole exchange ends them.
    wire_body_drips_a_byte_every_half_second => wire("discovery.fetch", "timed out", |s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n");
        drip(s, b" ", Duration::from_millis(500));
    })
    .slow();
    wire_chunked_body_trickles_and_never_ends => wire("discovery.fetch", "timed out", |s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
        drip(s, b"1\r\n \r\n", Duration::from_millis(300));
    })
    .slow();
    wire_headers_drip_a_byte_every_half_second => wire("discovery.fetch", "timed out", |s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nX-Slow: ");
        drip(s, b"z", Duration::from_millis(500));
    })
    .slow();
    wire_endless_header_lines => wire("discovery.fetch", "failed", |s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n");
        for i in 0..1_000_000 {
            if s.write_all(format!("X-H{i}: v\r\n").as_bytes()).is_err() {
                break;
            }
        }
    });
    wire_accepts_and_never_answers => wire("discovery.fetch", "timed out", hold).slow();
    tls_handshake_never_answered => wire("discovery.fetch", "timed out", hold).https().slow();
    tls_handshake_stalls_after_the_record_header => wire("discovery.fetch", "timed out", |s| {
        // The start of a TLS 1.2 handshake record announcing 64 bytes, then silence.
        let _ = s.write_all(&[0x16, 0x03, 0x03, 0x00, 0x40, 0x02]);
        hold(s);
    })
    .https()
    .slow();

    // ------------------------------------------------------------ discovery members
    discovery_issuer_number => case("discovery.issuer", "issuer", |a| doc_with(a, "issuer", Some(json!(1411)))).peer();
    discovery_issuer_missing => case("discovery.issuer", "issuer", |a| doc_with(a, "issuer", None)).peer();
    discovery_issuer_empty => case("discovery.issuer", "not a URL", |a| doc_with(a, "issuer", Some(json!("")))).peer();
    discovery_issuer_with_nul => case("discovery.issuer", "control characters", |a| doc_with(a, "issuer", Some(json!("http://id\u{0}.example.com")))).peer();
    discovery_authorization_endpoint_object => case("discovery.metadata", "discovery document", |a| {
        doc_with(a, "authorization_endpoint", Some(json!({ "url": format!("{a}/authorize") })))
    }).peer().detail("authorization_endpoint");
    discovery_token_endpoint_missing => case("discovery.metadata", "discovery document", |a| doc_with(a, "token_endpoint", None))
        .peer().detail("token_endpoint is missing");
    discovery_jwks_uri_not_a_url => case("discovery.metadata", "discovery document", |a| doc_with(a, "jwks_uri", Some(json!("not a url"))))
        .peer().detail("jwks_uri");
    discovery_jwks_uri_javascript => case("discovery.metadata", "discovery document", |a| doc_with(a, "jwks_uri", Some(json!("javascript:alert(document.domain)//.well-known/jwks.json"))))
        .peer().detail("jwks_uri");
    discovery_response_types_string => case("discovery.metadata", "discovery document", |a| doc_with(a, "response_types_supported", Some(json!("code"))))
        .peer().detail("response_types_supported");
    discovery_alg_none_only => case("discovery.metadata", "discovery document", |a| doc_with(a, "id_token_signing_alg_values_supported", Some(json!(["none"]))))
        .peer().detail("public-key algorithm");
    discovery_scopes_without_openid => case("discovery.metadata", "discovery document", |a| doc_with(a, "scopes_supported", Some(json!(["profile", "email"]))))
        .peer().detail("openid");

    // ------------------------------------------------------------ key set
    jwks_truncated => case("jwks.keys", "not JSON", |_| on(JWKS, json200(r#"{"keys":[{"kty":"RSA","n":"sXch"#)));
    jwks_html_200 => case("jwks.keys", "HTML", |_| on(JWKS, raw(200, HTML, "<html><body><h1>502 Bad Gateway</h1></body></html>")));
    jwks_null => case("jwks.keys", "not an object", |_| on(JWKS, json200("null")));
    jwks_404 => case("jwks.keys", "404", |_| on(JWKS, raw(404, JSON, r#"{"error":"API endpoint not found"}"#)));
    jwks_keys_string => case("jwks.keys", "keys", |_| on(JWKS, json200(r#"{"keys":"x"}"#)));
    jwks_keys_empty => case("jwks.keys", "empty", |_| jwks_of(json!([])));
    jwks_keys_numbers => case("jwks.keys", "verify", |_| jwks_of(json!([1, 2]))).detail("not an object");
    jwks_rsa_without_n => case("jwks.keys", "verify", |_| jwks_of(json!([{ "kty": "RSA", "kid": "k1", "use": "sig", "e": "AQAB" }])))
        .detail("without n");
    // authlib reads a number as its digits, "12345", which is not base64.
    jwks_rsa_n_is_number => case("jwks.keys", "verify", |_| jwks_of(json!([{ "kty": "RSA", "kid": "k1", "n": 12345, "e": "AQAB" }])))
        .detail("12345");
    jwks_ec_curve_p999 => case("jwks.keys", "verify", |_| jwks_of(json!([{
        "kty": "EC", "kid": "k1", "crv": "P-999", "use": "sig",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
    }]))).detail("P-999");
    jwks_okp_x25519 => case("jwks.keys", "verify", |_| jwks_of(json!([{
        "kty": "OKP", "kid": "k1", "crv": "X25519", "x": "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"
    }]))).detail("X25519");
    // authlib ignores a key's alg and verifies RS256 with it: a remark only.
    jwks_rsa_declares_es256 => case("jwks.keys", "remarks", |_| {
        let mut key = rsa_public_jwk("k1");
        key["alg"] = json!("ES256");
        jwks_of(json!([key]))
    }).warn().detail("ES256");
    jwks_oct_key_beside_good_key => case("jwks.keys", "unsafe", |_| jwks_of(json!([
        rsa_public_jwk("good"),
        { "kty": "oct", "kid": "hmac", "k": "c2VjcmV0LXNpZ25pbmcta2V5LXB1Ymxpc2hlZA" }
    ]))).detail("symmetric");
    jwks_private_rsa_key_only => case("jwks.keys", "private", |_| {
        let mut key = rsa_public_jwk("k1");
        key["d"] = json!("X4cTteJY_gn4FYPsXB8rdXix5vwsg1FLN5E3EaG6RJoVH-HLLKD9M7dx5oo7GURknchnrRweUkC7hT5fJLM0WbFAKNLWY2vv7B6NqXSzUvxT0_YSfqijwp3RTzlBaCxWp4doFk5N2o8Gy_nHNKroADIkJ46pRUohsXywbReAdYaMwFs9tv8d_cPVY3i07a3t8MN6TNwm0dSawm9v47UiCl3Sk5ZiG7xojPLu4sbg1U2jx4IBTNBznbJSzFHK66jT8bgkuqsk0GjskDJk19Z4qwjwbsnn4j2WBii3RL-Us2lGVkY8fkFzme1z0HbIkfz0Y6mqnOYtqc0X4jfcKoAC8Q");
        jwks_of(json!([key]))
    }).detail("private");
    jwks_2mb_of_keys => case("jwks.keys", "too large", |_| {
        let keys: Vec<Value> = (0..3000).map(|i| rsa_public_jwk(&format!("k{i}"))).collect();
        jwks_of(Value::Array(keys))
    });

    // ------------------------------------------------------------ token endpoint (credential probe)
    token_html_200 => case("client.credentials", "credential", |_| on(TOKEN, raw(200, HTML,
        "<!DOCTYPE html><html><body>Pocket ID</body></html>")));
    token_empty_object_200 => case("client.credentials", "credential", |_| on(TOKEN, json200("{}")));
    token_500_plain_text => case("client.credentials", "500", |_| on(TOKEN, raw(500, TEXT, "Internal Server Error")));
    token_truncated_json_400 => case("client.credentials", "credential", |_| on(TOKEN, raw(400, JSON, r#"{"error":"invalid_gr"#)));
    token_3mb_body => case("client.credentials", "too large", |_| on(TOKEN, raw(400, JSON, huge_json(3 * MIB))));

    // ------------------------------------------------------------ client metadata
    // RomM never calls this Pocket ID endpoint, so a broken answer is a
    // warning (the login works); it must never read as a pass.
    client_meta_array_200 => case("client.exists", "client", |_| on(META, json200("[]"))).warn().detail("array");
    client_meta_html_200 => case("client.exists", "client", |_| on(META, raw(200, HTML, "<html><body>login</body></html>"))).warn().detail("html");
    client_meta_2mb_body => case("client.exists", "too large", |_| on(META, json200(huge_json(2 * MIB))));

    // ------------------------------------------------------------ combination
    jwks_junk_and_token_html_together => case("jwks.keys", "not JSON", |_| {
        let mut o = on(JWKS, json200(junk(2048)));
        o.extend(on(TOKEN, raw(200, HTML, "<html></html>")));
        o
    });
}

// ====================================================================== running the binary

struct Outcome {
    code: Option<i32>,
    signal: Option<String>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    peak_rss_kib: Option<u64>,
    rss_method: &'static str,
}

impl Outcome {
    fn show(&self) -> String {
        format!(
            "exit {:?} signal {:?} in {:?}, peak RSS {:?} KiB ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code,
            self.signal,
            self.elapsed,
            self.peak_rss_kib,
            self.rss_method,
            self.stdout,
            self.stderr
        )
    }
}

const GNU_TIME: &str = "/usr/bin/time";

/// Runs `romm-oidc doctor --json` against `issuer` in a clean environment (no
/// proxies, no OIDC_* variables, an empty HOME and working directory).
fn doctor(issuer: &str) -> Outcome {
    doctor_with(issuer, TIMEOUT_SECS, &[])
}

/// [`doctor`] with another `--timeout` and more arguments.
fn doctor_with(issuer: &str, timeout: &str, extra: &[&str]) -> Outcome {
    let dir = Sandbox::new();
    let rss_file = dir.path().join("peak-rss");
    // MALFORMED_POLL_RSS=1 forces the /proc fallback (to test it here).
    let timed = Path::new(GNU_TIME).exists() && std::env::var_os("MALFORMED_POLL_RSS").is_none();
    let mut cmd = if timed {
        let mut c = Command::new(GNU_TIME);
        c.arg("-o")
            .arg(&rss_file)
            .args(["-f", "%M"])
            .arg(bin::path());
        c
    } else {
        Command::new(bin::path())
    };
    bin::in_home(&mut cmd, dir.path())
        .plain()
        .loopback()
        .args(["doctor", "--json", "--timeout", timeout])
        .args(["--issuer", issuer])
        .args(extra)
        .args(["--client-id", DEFAULT_CLIENT_ID])
        .args(["--client-secret", DEFAULT_CLIENT_SECRET])
        .args(["--redirect-uri", DEFAULT_CALLBACK]);
    // Its own process group: killed at the limit with the wrapper.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut polled_hwm = 0;
    let run = Spawned::start(&mut cmd, Input::Null).finish_sampling(KILL_AFTER, |pid| {
        if !timed && let Some(kib) = vm_hwm_kib(pid) {
            polled_hwm = polled_hwm.max(kib);
        }
    });
    let mut code = (run.signal.is_none()).then_some(run.code);
    let mut signal = run.signal.map(|s| format!("signal {s}"));
    let (peak_rss_kib, rss_method) = if timed {
        // GNU time: "Command exited with non-zero status N" or "Command
        // terminated by signal N", then the %M line.
        let text = std::fs::read_to_string(&rss_file).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains("terminated by signal")) {
            signal = Some(line.to_string());
            code = None;
        }
        let kib = text
            .lines()
            .rev()
            .find_map(|l| l.trim().parse::<u64>().ok());
        (kib, "/usr/bin/time %M")
    } else {
        (Some(polled_hwm).filter(|k| *k > 0), "VmHWM polled")
    };
    Outcome {
        code,
        signal,
        stdout: run.stdout,
        stderr: run.stderr,
        elapsed: run.elapsed,
        peak_rss_kib,
        rss_method,
    }
}

/// The peak RSS of one doctor run against a healthy emulator (measured once).
fn baseline_rss_kib() -> Option<u64> {
    static BASELINE: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *BASELINE.get_or_init(|| {
        let e = start(Vec::new());
        let out = doctor(&e.issuer());
        eprintln!(
            "baseline (healthy emulator): exit {:?}, {} ms, peak RSS {:?} KiB ({})",
            out.code,
            out.elapsed.as_millis(),
            out.peak_rss_kib,
            out.rss_method
        );
        out.peak_rss_kib.filter(|_| out.code == Some(0))
    })
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn start(overrides: Overrides) -> Emulator {
    emulator::pocket_id(Config {
        faults: Faults {
            overrides,
            ..Faults::default()
        },
        ..Config::default()
    })
}

fn find<'a>(report: &'a Value, id: &str) -> Option<&'a Value> {
    report["checks"].as_array()?.iter().find(|c| c["id"] == id)
}

fn field<'a>(check: &'a Value, key: &str) -> &'a str {
    check.get(key).and_then(Value::as_str).unwrap_or("")
}

fn contains(hay: &str, needle: &str) -> bool {
    hay.to_lowercase().contains(&needle.to_lowercase())
}

/// The ids and statuses of the checks that did not pass or skip.
fn notable(report: &Value) -> String {
    report["checks"]
        .as_array()
        .map(|checks| {
            checks
                .iter()
                .filter(|c| c["status"] == "fail" || c["status"] == "warn")
                .map(|c| format!("{}={}", field(c, "id"), field(c, "status")))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

fn run_case(name: &str) {
    let case = table()
        .into_iter()
        .find(|c| c.name == name)
        .expect("case in table");
    let peer = case.peer.then(|| start(Vec::new()));
    let peer_issuer = peer.as_ref().map(Emulator::issuer).unwrap_or_default();
    let (paths, out) = match case.wire {
        Some(answer) => {
            let server = Listener::start(|_| move |_: &str, s: &mut TcpStream| answer(s));
            let scheme = if case.https { "https" } else { "http" };
            (
                vec![format!("(raw socket, {scheme})")],
                doctor(&server.url(scheme)),
            )
        }
        None => {
            let overrides = (case.build)(&peer_issuer);
            let paths = overrides.iter().map(|(p, _)| p.clone()).collect();
            let target = start(overrides);
            (paths, doctor(&target.issuer()))
        }
    };
    drop(peer);

    let mut problems: Vec<String> = Vec::new();
    if out.signal.is_some() {
        problems.push("killed by a signal".into());
    }
    let failing = case.status == "fail";
    let want_code = if failing { 1 } else { 0 };
    match out.code {
        Some(101) => problems.push("exit 101: a Rust panic".into()),
        Some(code) if code == want_code => {}
        other => problems.push(format!("exit status {other:?}, expected {want_code}")),
    }
    if contains(&out.stderr, "panicked") {
        problems.push("stderr shows a panic".into());
    }
    if out.elapsed > WALL_LIMIT {
        problems.push(format!("took {:?}, over {WALL_LIMIT:?}", out.elapsed));
    }
    let timeout = Duration::from_secs(TIMEOUT_SECS.parse().expect("whole seconds"));
    if case.slow && out.elapsed < timeout {
        problems.push(format!(
            "ended after {:?}, before the {timeout:?} deadline: something other than the deadline ended it",
            out.elapsed
        ));
    }
    if case.slow && out.elapsed > timeout + SLOW_SLACK {
        problems.push(format!(
            "took {:?}, more than {SLOW_SLACK:?} past the {timeout:?} deadline",
            out.elapsed
        ));
    }
    match out.peak_rss_kib {
        Some(kib) if kib > RSS_LIMIT_KIB => problems.push(format!(
            "peak RSS {} MiB over {} MiB",
            kib / 1024,
            RSS_LIMIT_KIB / 1024
        )),
        Some(kib) => {
            if let Some(base) = baseline_rss_kib()
                && kib > base + RSS_GROWTH_LIMIT_KIB
            {
                problems.push(format!(
                    "peak RSS {kib} KiB is more than {RSS_GROWTH_LIMIT_KIB} KiB over the healthy run's {base} KiB"
                ));
            }
        }
        None => problems.push("peak RSS not measured".into()),
    }
    let mut actual = "<no report>".to_string();
    let mut others = String::new();
    match serde_json::from_str::<Value>(&out.stdout) {
        Err(e) => problems.push(format!("stdout is not JSON: {e}")),
        Ok(report) => {
            others = notable(&report);
            if report["ok"] != json!(!failing) {
                problems.push(format!("\"ok\" is {}, expected {}", report["ok"], !failing));
            }
            if let Some(checks) = report["checks"].as_array() {
                for c in checks {
                    if contains(field(c, "summary"), "crashed") {
                        problems.push(format!("{} crashed: {}", field(c, "id"), c));
                    }
                }
            }
            match find(&report, case.check) {
                None => problems.push(format!("check {} missing", case.check)),
                Some(c) => {
                    if std::env::var_os("MALFORMED_DUMP").is_some() {
                        eprintln!("case {name}: {c:#}");
                    }
                    let status = field(c, "status");
                    let summary = field(c, "summary");
                    actual = format!("{status}: {summary}");
                    if status != case.status {
                        problems.push(format!(
                            "{} is {status:?}, expected {:?}",
                            case.check, case.status
                        ));
                    }
                    if !contains(summary, case.word) {
                        problems.push(format!(
                            "{} summary {summary:?} lacks {:?}",
                            case.check, case.word
                        ));
                    }
                    if let Some(word) = case.detail_word {
                        let text = ["summary", "detail", "expected", "found"]
                            .iter()
                            .map(|k| field(c, k))
                            .collect::<Vec<_>>()
                            .join("\n");
                        if !contains(&text, word) {
                            problems.push(format!("{} text lacks {word:?}", case.check));
                        }
                    }
                }
            }
        }
    }
    eprintln!(
        "case {name} [{}] -> {}: {actual} | exit {:?} | {} ms | peak RSS {} KiB ({}) | not passing: {others}",
        paths.join(" + "),
        case.check,
        out.code,
        out.elapsed.as_millis(),
        out.peak_rss_kib
            .map(|k| k.to_string())
            .unwrap_or_else(|| "?".into()),
        out.rss_method,
    );
    assert!(
        problems.is_empty(),
        "case {name} (overrides {paths:?}, expected {} {} with {:?}):\n  - {}\n{}",
        case.check,
        case.status,
        case.word,
        problems.join("\n  - "),
        out.show()
    );
}

// ====================================================================== the table itself and the scaffolding

#[test]
fn table_has_at_least_30_distinct_cases() {
    let table = table();
    let failing = table.iter().filter(|c| c.status == "fail").count();
    assert!(failing >= 30, "{failing} failing cases");
    let mut names: Vec<&str> = table.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), table.len(), "duplicate case names");
    // Distinct inputs too, not the same answer under two names.
    let mut inputs: Vec<String> = table
        .iter()
        .map(|c| {
            let peer = if c.peer { "http://peer.invalid" } else { "" };
            format!(
                "{:?} {:?} {}",
                (c.build)(peer),
                c.wire.map(|f| f as usize),
                c.https
            )
        })
        .collect();
    inputs.sort_unstable();
    inputs.dedup();
    assert_eq!(inputs.len(), table.len(), "two cases share the same input");
    assert!(
        table
            .iter()
            .all(|c| c.status == "fail" || c.status == "warn")
    );
}

/// Without overrides the emulator is healthy and the doctor exits 0, so every
/// failure above comes from the broken answer.
#[test]
fn healthy_emulator_passes() {
    let e = start(Vec::new());
    let out = doctor(&e.issuer());
    assert_eq!(out.code, Some(0), "{}", out.show());
    let report: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(report["ok"], json!(true), "{}", out.show());
    eprintln!(
        "healthy baseline: {} ms, peak RSS {:?} KiB ({}); not passing: {}",
        out.elapsed.as_millis(),
        out.peak_rss_kib,
        out.rss_method,
        notable(&report)
    );
}

/// The hand-written document served from one emulator with endpoints on a
/// healthy peer is itself fine (only the issuer differs from the URL given),
/// so each member case breaks exactly one thing.
#[test]
fn hand_written_document_on_a_peer_passes() {
    let peer = start(Vec::new());
    let target = start(on(DISCOVERY, json200(doc(&peer.issuer()).to_string())));
    let out = doctor(&target.issuer());
    assert_eq!(out.code, Some(0), "{}", out.show());
    let report: Value = serde_json::from_str(&out.stdout).expect("JSON");
    for id in [
        "discovery.fetch",
        "discovery.metadata",
        "jwks.keys",
        "client.exists",
        "client.credentials",
    ] {
        let c = check(&report, id);
        assert_eq!(c["status"], "pass", "{id}: {c:#}");
    }
    let issuer = check(&report, "discovery.issuer");
    assert_eq!(issuer["status"], "warn", "{issuer:#}");
}

// ====================================================================== the whole run's bound

/// The README's bound: the longest chain of requests in a row is discovery,
/// then five Pocket ID admin API calls (key owner, version, client, user,
/// claims preview); everything else runs beside it.
pub(crate) const RUN_BOUND_TIMEOUTS: u32 = 6;

/// Every provider answer takes 80% of `--timeout` (so each succeeds, and the
/// chain runs to its end) and RomM's answers drip forever: the run ends
/// within the README's bound, and the whole chain ran.
#[test]
fn whole_run_ends_within_the_stated_bound_when_every_answer_is_slow() {
    let timeout = Duration::from_secs(3);
    let latency = timeout * 4 / 5;
    let key = "slow-admin-key";
    let provider = emulator::pocket_id(
        Config {
            faults: Faults {
                latency,
                ..Faults::default()
            },
            ..Config::default()
        }
        .with_admin_api_key(key),
    );
    let romm = Listener::start(|_| {
        |_: &str, s: &mut TcpStream| {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
            drip(s, b" ", Duration::from_millis(500));
        }
    });
    let romm_url = romm.url("http");
    let out = doctor_with(
        &provider.issuer(),
        &timeout.as_secs().to_string(),
        &[
            "--pocket-id-api-key",
            key,
            "--email",
            "alice@example.com",
            "--romm-url",
            &romm_url,
        ],
    );
    let bound = timeout * RUN_BOUND_TIMEOUTS + SLOW_SLACK;
    eprintln!(
        "whole run, every answer {latency:?}: {} ms (bound {} ms)",
        out.elapsed.as_millis(),
        bound.as_millis()
    );
    assert!(out.elapsed <= bound, "over the bound:\n{}", out.show());
    let report: Value = serde_json::from_str(&out.stdout).expect("JSON report");
    let preview = check(&report, "pocketid.preview");
    assert_ne!(
        field(preview, "status"),
        "skip",
        "the longest chain must run to its end: {preview:#}\n{}",
        out.show()
    );
    assert!(
        out.elapsed >= latency * RUN_BOUND_TIMEOUTS,
        "the chain is shorter than the bound assumes:\n{}",
        out.show()
    );
    let heartbeat = check(&report, "romm.heartbeat");
    assert!(
        contains(field(heartbeat, "summary"), "timed out"),
        "{heartbeat:#}"
    );
}

// ====================================================================== a name server that never answers

/// The first IPv4 name server of this machine's resolver configuration.
fn ipv4_name_server() -> Option<String> {
    let conf = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    conf.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .map(str::trim)
        .find(|a| a.parse::<std::net::Ipv4Addr>().is_ok())
        .map(str::to_string)
}

/// In a private network namespace (nothing outside it is touched), the
/// resolver's name server address is given to a veth interface and a UDP
/// socket there swallows every query. The lookups end with the request
/// deadline, and so does the run: reqwest's own resolver kept the run alive
/// until the system resolver gave up (10 s with glibc's defaults).
#[test]
fn a_name_server_that_never_answers_ends_the_run_at_the_deadline() {
    let Some(ns) = ipv4_name_server() else {
        eprintln!("note: no IPv4 name server in /etc/resolv.conf; skipped");
        return;
    };
    const SKIP: i32 = 77;
    let script = r#"
ns=$1; shift
command -v node >/dev/null || exit 77
ip link set lo up &&
ip link add rommv0 type veth peer name rommv1 &&
ip addr add "$ns/32" dev rommv0 && ip link set rommv0 up && ip link set rommv1 up || exit 77
node -e "require('dgram').createSocket('udp4').bind(53, process.argv[1]); setTimeout(() => process.exit(0), 60000)" "$ns" &
sleep 1
start=$(date +%s%N)
"$@" >/dev/null 2>&1
status=$?
echo "$(( ($(date +%s%N) - start) / 1000000 ))"
kill $! 2>/dev/null
exit $status
"#;
    let timeout = Duration::from_secs(2);
    let mut c = Command::new("unshare");
    process::clean(&mut c)
        .args(["-n", "sh", "-c", script, "sh", &ns])
        .arg(bin::path())
        .args(["doctor", "--json", "--timeout", "2"])
        .args(["--issuer", "http://never-answered.example.com"])
        .args(["--romm-url", "http://never-answered-too.example.com"])
        .args([
            "--client-id",
            DEFAULT_CLIENT_ID,
            "--client-secret",
            DEFAULT_CLIENT_SECRET,
        ]);
    let out = process::run(&mut c, RUN_LIMIT);
    let code = out.code;
    if code == SKIP || (code == 1 && out.stdout.is_empty()) {
        eprintln!(
            "note: no network namespace with a veth pair here (needs root and node); skipped: {}",
            out.stderr
        );
        return;
    }
    let ms: u64 = out.stdout.trim().parse().expect("elapsed milliseconds");
    let elapsed = Duration::from_millis(ms);
    eprintln!("name server never answers: the run took {ms} ms");
    assert_eq!(code, 1, "{}", out.stderr);
    assert!(
        elapsed >= timeout && elapsed <= timeout + SLOW_SLACK,
        "the run took {elapsed:?} with --timeout {timeout:?}"
    );
}
