//! Small helpers shared by every endpoint: JSON serialisation with a fixed key
//! order, Go-compatible URL encoding, form parsing, randomness and response
//! building. Nothing here knows about OpenID Connect.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------- JSON

/// Serialises `value` with every object's keys in alphabetical order, the way
/// Go's `encoding/json` writes a `map[string]any`. Independent of whether
/// serde_json's `preserve_order` feature is on in the current build.
pub fn sorted_json(value: &Value) -> String {
    let mut out = String::new();
    write_sorted(value, &mut out);
    out
}

fn write_sorted(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*key).clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(*key) {
                    write_sorted(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_sorted(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A JSON object written in exactly the given field order (a Go struct).
/// Values that are themselves `Raw` fragments are embedded verbatim.
pub fn ordered(fields: &[(&str, Field)]) -> String {
    let mut out = String::from("{");
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::String((*key).to_string()).to_string());
        out.push(':');
        match value {
            Field::Json(v) => write_sorted(v, &mut out),
            Field::Raw(raw) => out.push_str(raw),
        }
    }
    out.push('}');
    out
}

/// One value of an [`ordered`] object.
pub enum Field {
    Json(Value),
    Raw(String),
}

impl From<Value> for Field {
    fn from(v: Value) -> Self {
        Field::Json(v)
    }
}

impl From<&str> for Field {
    fn from(v: &str) -> Self {
        Field::Json(Value::String(v.to_string()))
    }
}

impl From<String> for Field {
    fn from(v: String) -> Self {
        Field::Json(Value::String(v))
    }
}

impl From<bool> for Field {
    fn from(v: bool) -> Self {
        Field::Json(Value::Bool(v))
    }
}

// ---------------------------------------------------------------- encoding

pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Go's `url.QueryEscape`: everything but `A-Za-z0-9-_.~` is percent-encoded
/// and a space becomes `+`. Python's `quote_plus` (authlib) behaves the same.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// WHATWG `application/x-www-form-urlencoded` serialisation (URLSearchParams):
/// keeps `*-._` and alphanumerics, a space becomes `+`.
pub fn form_escape(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Go's `url.QueryUnescape`: `+` is a space, `%XX` is a byte; a malformed
/// escape is an error (unlike the lenient WHATWG decoder).
pub fn query_unescape(s: &str) -> Result<String, ()> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16));
                let lo = bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16));
                match (hi, lo) {
                    (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                    _ => return Err(()),
                }
                i += 3;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

/// Go's `url.Values.Encode()`: keys sorted, values of one key in order.
pub fn go_values_encode(pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0)); // stable: values keep their order
    sorted
        .iter()
        .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

// ---------------------------------------------------------------- forms

/// Decoded form or query parameters in arrival order; `get` returns the first
/// value like Go's `url.Values.Get`.
#[derive(Clone, Debug, Default)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn parse(raw: &[u8]) -> Form {
        Form(
            form_urlencoded::parse(raw)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    pub fn extend(&mut self, other: Form) {
        self.0.extend(other.0);
    }

    pub fn set(&mut self, key: &str, value: &str) {
        self.0.retain(|(k, _)| k != key);
        self.0.push((key.to_string(), value.to_string()));
    }
}

// ---------------------------------------------------------------- Go-ish URL parsing

/// The parts of a URL as Go's `net/url.Parse` splits them (only what the
/// callback rules need). Hosts keep their brackets and port like `u.Host`.
#[derive(Clone, Debug, PartialEq)]
pub struct GoUrl {
    pub scheme: String,
    pub userinfo: Option<String>,
    pub host: String,
    pub has_authority: bool,
    pub raw_path: String,
    pub raw_query: Option<String>,
    pub fragment: Option<String>,
}

impl GoUrl {
    pub fn parse(raw: &str) -> Option<GoUrl> {
        if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return None;
        }
        let (rest, fragment) = match raw.split_once('#') {
            Some((a, f)) => (a, Some(f.to_string())),
            None => (raw, None),
        };
        let mut scheme = String::new();
        let mut rest = rest;
        if let Some(colon) = rest.find(':') {
            let candidate = &rest[..colon];
            let valid = !candidate.is_empty()
                && candidate.as_bytes()[0].is_ascii_alphabetic()
                && candidate
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.');
            if valid {
                scheme = candidate.to_ascii_lowercase();
                rest = &rest[colon + 1..];
            } else if !candidate.contains('/') && !candidate.contains('?') {
                // "missing protocol scheme" / "first path segment in URL cannot contain colon"
                return None;
            }
        }
        let (rest, raw_query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q.to_string())),
            None => (rest, None),
        };
        let mut userinfo = None;
        let mut host = String::new();
        let mut has_authority = false;
        let mut path = rest;
        if let Some(after) = rest.strip_prefix("//") {
            has_authority = true;
            let (authority, p) = match after.find('/') {
                Some(i) => (&after[..i], &after[i..]),
                None => (after, ""),
            };
            path = p;
            let hostport = match authority.rfind('@') {
                Some(i) => {
                    userinfo = Some(authority[..i].to_string());
                    &authority[i + 1..]
                }
                None => authority,
            };
            if hostport.contains(' ') || (hostport.starts_with('[') && !hostport.contains(']')) {
                return None;
            }
            host = hostport.to_string();
        }
        Some(GoUrl {
            scheme,
            userinfo,
            host,
            has_authority,
            raw_path: path.to_string(),
            raw_query,
            fragment,
        })
    }

    /// `u.Hostname()`: the host without port and without IPv6 brackets.
    pub fn hostname(&self) -> String {
        split_host_port(&self.host).0
    }

    /// `u.Path`: the percent-decoded path (lossy).
    pub fn path(&self) -> String {
        percent_decode_lossy(&self.raw_path)
    }

    /// Re-serialises with another host, as `u.String()` would.
    pub fn with_host(&self, host: &str) -> String {
        let mut s = String::new();
        if !self.scheme.is_empty() {
            s.push_str(&self.scheme);
            s.push(':');
        }
        if self.has_authority {
            s.push_str("//");
            if let Some(u) = &self.userinfo {
                s.push_str(u);
                s.push('@');
            }
            s.push_str(host);
        }
        s.push_str(&self.raw_path);
        if let Some(q) = &self.raw_query {
            s.push('?');
            s.push_str(q);
        }
        if let Some(f) = &self.fragment {
            s.push('#');
            s.push_str(f);
        }
        s
    }
}

/// Go's `splitHostPort` as used by `URL.Hostname` / `URL.Port`.
pub fn split_host_port(host_port: &str) -> (String, String) {
    let mut host = host_port;
    let mut port = "";
    if let Some(colon) = host_port.rfind(':') {
        let candidate = &host_port[colon + 1..];
        if candidate.bytes().all(|b| b.is_ascii_digit()) {
            host = &host_port[..colon];
            port = candidate;
        }
    }
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    (host.to_string(), port.to_string())
}

pub fn percent_decode_lossy(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16));
            let lo = bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16));
            if let (Some(h), Some(l)) = (hi, lo) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Go's `net.ParseIP(host).IsLoopback()`.
pub fn is_loopback_ip(host: &str) -> bool {
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(std::net::IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => false,
    }
}

// ---------------------------------------------------------------- randomness and time

pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    // SystemRandom only fails if the OS RNG is unavailable; fall back to time-mixed bytes.
    if SystemRandom::new().fill(&mut buf).is_err() {
        let seed = now_nanos();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(i as u128)
                >> 64) as u8;
        }
    }
    buf
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `n` random characters from `A-Za-z0-9` (rejection sampling, unbiased).
pub fn random_alnum(n: usize) -> String {
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in random_bytes(n * 2) {
            if (b as usize) < ALNUM.len() * 4 && out.len() < n {
                out.push(ALNUM[(b as usize) % ALNUM.len()] as char);
            }
        }
    }
    out
}

/// A random (version 4) UUID in its canonical text form.
pub fn uuid_v4() -> String {
    let mut b = random_bytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------- responses

/// Builds a response; header values that are not valid HTTP are dropped
/// instead of panicking.
pub fn response(status: u16, headers: &[(&str, String)], body: impl Into<Vec<u8>>) -> Response {
    let mut resp = Response::new(Body::from(body.into()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            resp.headers_mut().append(n, v);
        }
    }
    resp
}

pub const GIN_JSON: &str = "application/json; charset=utf-8";
pub const FOSITE_JSON: &str = "application/json;charset=UTF-8";
pub const HTML: &str = "text/html; charset=utf-8";

/// `c.JSON(status, body)` in gin.
pub fn gin_json(status: u16, body: String) -> Response {
    response(status, &[("content-type", GIN_JSON.to_string())], body)
}

pub fn html(status: u16, body: String) -> Response {
    response(status, &[("content-type", HTML.to_string())], body)
}

pub fn redirect(status: u16, location: &str) -> Response {
    response(status, &[("location", location.to_string())], Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorted_json_orders_nested_keys() {
        let v = json!({"b": 1, "a": {"d": [1, {"z": 1, "y": 2}], "c": null}});
        assert_eq!(
            sorted_json(&v),
            r#"{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}"#
        );
    }

    #[test]
    fn go_query_escape_and_unescape() {
        assert_eq!(query_escape("a b/c:d~"), "a+b%2Fc%3Ad~");
        assert_eq!(query_unescape("a+b%2Fc").unwrap(), "a b/c");
        assert!(query_unescape("bad%zz").is_err());
        assert!(query_unescape("bad%4").is_err());
    }

    #[test]
    fn values_encode_sorts_keys_only() {
        let pairs = vec![
            ("state".to_string(), "s t".to_string()),
            ("code".to_string(), "1".to_string()),
            ("b".to_string(), "2".to_string()),
            ("b".to_string(), "1".to_string()),
        ];
        assert_eq!(go_values_encode(&pairs), "b=2&b=1&code=1&state=s+t");
    }

    #[test]
    fn go_url_parts() {
        let u = GoUrl::parse("http://user@[::1]:8080/a%20b?x=1#frag").unwrap();
        assert_eq!(u.scheme, "http");
        assert_eq!(u.host, "[::1]:8080");
        assert_eq!(u.hostname(), "::1");
        assert_eq!(u.path(), "/a b");
        assert_eq!(u.raw_query.as_deref(), Some("x=1"));
        assert_eq!(u.with_host("[::1]"), "http://user@[::1]/a%20b?x=1#frag");
        assert!(GoUrl::parse("1http://x").is_none());
        assert!(GoUrl::parse("http://a b/").is_none());
    }

    #[test]
    fn random_helpers_shapes() {
        assert_eq!(random_alnum(32).len(), 32);
        assert!(random_alnum(32).bytes().all(|b| b.is_ascii_alphanumeric()));
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
