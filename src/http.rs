//! The one HTTP client of every request the tool sends as RomM would (the
//! checks, the login's code exchange, the Pocket ID and RomM APIs; the demo's
//! browser stand-in plays a browser and has its own). It behaves like RomM's
//! httpx 0.28.1 where that matters: no redirects followed; TLS judged as
//! RomM's OpenSSL judges it, with RomM's trust store (`tls`), unless
//! `--insecure`; names looked up as the system does (`SystemResolver`); gzip, deflate and
//! zstd bodies decoded; a URL httpx would refuse refused before anything is
//! sent (`httpx_refuses`); the client secret sent as authlib encodes it
//! (`client_secret_basic`). Every request is bounded by one deadline,
//! `--timeout`, for the whole exchange (name lookup, connect, TLS, headers and
//! body), every body by `BODY_LIMIT`; failures come back classified
//! (`Failure`). `-v` traces each request and `-vv` the bodies, codes, secrets
//! and tokens masked.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::blocking::{Client, RequestBuilder};
use reqwest::redirect::Policy;

use crate::report::{clean, clean_lines};
use crate::settings::mask;
use crate::tls;

/// Bodies larger than this are not read (discovery and key sets are a few KB).
pub const BODY_LIMIT: usize = 1024 * 1024;

const USER_AGENT: &str = concat!("romm-oidc/", env!("CARGO_PKG_VERSION"));

/// A response, body read up to the limit. Its `{:?}` leaves the body and
/// the location out: they may hold tokens or an authorization code.
pub struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    /// A Content-Encoding left undecoded (reqwest decodes gzip, deflate and
    /// zstd, as RomM's httpx does, and removes the header).
    pub content_encoding: Option<String>,
    pub location: Option<String>,
    pub set_cookie: Vec<String>,
    pub body: Vec<u8>,
    pub url: String,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("url", &self.url)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish_non_exhaustive()
    }
}

impl Response {
    pub fn is_json_type(&self) -> bool {
        self.content_type.as_deref().is_some_and(|t| {
            let t = t
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            t == "application/json" || (t.starts_with("application/") && t.ends_with("+json"))
        })
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The first bytes of the body as printable text, for findings; in a
    /// JSON object, token values are masked (see [`mask_tokens`]).
    pub fn head(&self) -> String {
        let masked = serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|mut value| mask_tokens(&mut value).then(|| value.to_string()));
        match masked {
            Some(text) => excerpt(text.as_bytes()),
            None => excerpt(&self.body),
        }
    }

    /// Why a body may be unreadable: it is still compressed. RomM's httpx
    /// 0.28.1 decodes gzip, deflate and zstd (RomM installs zstandard, not
    /// brotli), each of a comma-separated list in turn, and silently passes
    /// on a body in an encoding it does not know.
    pub fn compression(&self) -> Option<String> {
        let encoding = self.content_encoding.as_deref()?.trim();
        let codings: Vec<String> = encoding
            .split(',')
            .map(|c| c.trim().to_ascii_lowercase())
            .filter(|c| !c.is_empty() && c != "identity")
            .collect();
        if codings.is_empty() {
            return None;
        }
        Some(
            if codings
                .iter()
                .all(|c| matches!(c.as_str(), "gzip" | "deflate" | "zstd"))
            {
                format!(
                    "the answer is compressed (Content-Encoding: {encoding}); RomM's httpx decodes that form, this tool decodes only a single lower-case gzip, deflate or zstd, so check it with RomM itself"
                )
            } else {
                format!(
                    "the answer is compressed with {encoding}, which RomM's httpx cannot decode (it decodes gzip, deflate and zstd), so RomM cannot read it either"
                )
            },
        )
    }
}

/// Printable start of a body: at most 160 characters, control bytes shown as `.`.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(400)]);
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if out.chars().count() > 160 {
        out = out.chars().take(160).collect::<String>() + "…";
    }
    out
}

/// Where authlib's latin-1 encoding of `id:secret` stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotLatin1 {
    /// True when the offending character is in the client id, else the secret.
    pub in_id: bool,
    /// How many characters of that part lie beyond U+00FF.
    pub count: usize,
}

impl NotLatin1 {
    /// What RomM does with such credentials, without showing the secret.
    pub fn reason(&self) -> String {
        let part = if self.in_id {
            "client id"
        } else {
            "client secret"
        };
        format!(
            "the {part} has {} character{} outside latin-1 (beyond U+00FF), which RomM's authlib cannot put in the HTTP Basic header: RomM's callback fails with UnicodeEncodeError: 'latin-1' codec can't encode character … ordinal not in range(256) (a 500)",
            self.count,
            if self.count == 1 { "" } else { "s" }
        )
    }
}

/// The `Authorization` value of authlib 1.6.12's `client_secret_basic`
/// (`authlib/oauth2/auth.py` `encode_client_secret_basic`): `id:secret`, NOT
/// form-encoded first, as latin-1 bytes (Python's strict codec, which raises
/// for any character beyond U+00FF), then base64. So a non-ASCII latin-1
/// character goes out as one byte, not as its UTF-8 pair.
pub fn client_secret_basic(id: &str, secret: &str) -> Result<String, NotLatin1> {
    let beyond = |part: &str| part.chars().filter(|c| u32::from(*c) > 0xFF).count();
    for (part, in_id) in [(id, true), (secret, false)] {
        let count = beyond(part);
        if count > 0 {
            return Err(NotLatin1 { in_id, count });
        }
    }
    let bytes: Vec<u8> = id
        .chars()
        .chain(std::iter::once(':'))
        .chain(secret.chars())
        .map(|c| u32::from(c) as u8)
        .collect();
    Ok(format!("Basic {}", BASE64.encode(bytes)))
}

/// Why a request got no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    Timeout,
    Refused,
    Dns,
    Tls(String),
    /// The server's certificate, refused as RomM's OpenSSL refuses it.
    Certificate(tls::Refusal),
    /// TLS was asked for, but the port answered in plain text.
    PlainHttp,
    TooLarge,
    Other(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Timeout => f.write_str("timed out"),
            Failure::Refused => f.write_str("connection refused"),
            Failure::Dns => f.write_str("host name not found (DNS)"),
            Failure::Tls(why) => write!(f, "TLS failure: {why}"),
            Failure::Certificate(refusal) => write!(f, "TLS {refusal}"),
            Failure::PlainHttp => f.write_str(
                "the server speaks plain HTTP on this port, not HTTPS (its answer to the TLS handshake was not TLS)",
            ),
            Failure::TooLarge => write!(f, "body larger than {} KiB", BODY_LIMIT / 1024),
            Failure::Other(why) => f.write_str(why),
        }
    }
}

#[derive(Clone)]
pub struct Http {
    client: Client,
    timeout: Duration,
    verbose: u8,
}

/// How to reach the provider.
pub struct Options<'a> {
    pub timeout: Duration,
    pub ca_file: Option<&'a Path>,
    pub insecure: bool,
    pub verbose: u8,
}

/// Name lookups with the system resolver (getaddrinfo, as RomM's httpx
/// does), each on a thread of its own. reqwest's own resolver runs them on
/// its runtime's blocking pool, which waits for a lookup stuck on a name
/// server that never answers: the request gives up at its deadline, but the
/// run could not end until the system resolver did (10 s and more).
#[cfg(not(target_feature = "crt-static"))]
struct SystemResolver;

#[cfg(not(target_feature = "crt-static"))]
impl reqwest::dns::Resolve for SystemResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        use std::net::{SocketAddr, ToSocketAddrs};
        let host = name.as_str().to_string();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name("dns".into())
            .spawn(move || {
                let _ = tx.send((host.as_str(), 0).to_socket_addrs());
            });
        Box::pin(async move {
            spawned?;
            let addrs = rx.await??.collect::<Vec<SocketAddr>>();
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Name lookups in the fully static build (dist/build-static), which must
/// not call getaddrinfo: static glibc would load the NSS modules named in
/// the host's /etc/nsswitch.conf from the host's own, different glibc.
/// As glibc's `files dns` and musl do: a name in /etc/hosts (in either
/// family) is taken from there alone; any other is asked of the name servers
/// of /etc/resolv.conf (its search, ndots, timeout and attempts options) by
/// hickory's resolver. No mDNS or systemd-resolved NSS module. It runs on
/// reqwest's runtime, so a request's deadline ends a lookup stuck on a silent
/// name server.
#[cfg(target_feature = "crt-static")]
struct SystemResolver;

#[cfg(target_feature = "crt-static")]
impl reqwest::dns::Resolve for SystemResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        use hickory_resolver::config::{LookupIpStrategy, ResolveHosts};
        use hickory_resolver::proto::op::Query;
        use hickory_resolver::proto::rr::{Name, RecordType};
        use hickory_resolver::{Hosts, TokioResolver};
        use std::net::SocketAddr;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let hosts = Hosts::from_system().unwrap_or_default();
            let mut addrs: Vec<SocketAddr> = Vec::new();
            if let Ok(name) = host.parse::<Name>() {
                for family in [RecordType::A, RecordType::AAAA] {
                    let query = Query::query(name.clone(), family);
                    if let Some(found) = hosts.lookup_static_host(&query) {
                        let ips = found.answers().iter().filter_map(|r| r.data.ip_addr());
                        addrs.extend(ips.map(|ip| SocketAddr::new(ip, 0)));
                    }
                }
            }
            if addrs.is_empty() {
                let mut builder = TokioResolver::builder_tokio()?;
                // Both families, as getaddrinfo returns them; hosts done above.
                builder.options_mut().ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
                builder.options_mut().use_hosts_file = ResolveHosts::Never;
                let lookup = builder.build()?.lookup_ip(host).await?;
                addrs.extend(lookup.iter().map(|ip| SocketAddr::new(ip, 0)));
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl Http {
    pub fn new(options: &Options<'_>) -> Result<Http> {
        let trust = match options.ca_file {
            Some(path) => tls::Trust::from_ca_path(path)?,
            None => tls::Trust::romm_default(),
        };
        Http::with_trust(options, trust)
    }

    /// A client with this trust store instead of the one `options` names.
    pub fn with_trust(options: &Options<'_>, trust: tls::Trust) -> Result<Http> {
        let builder = Client::builder()
            .dns_resolver(std::sync::Arc::new(SystemResolver))
            .redirect(Policy::none())
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .user_agent(USER_AGENT)
            .tls_backend_preconfigured(tls::client_config(trust, options.insecure)?);
        Ok(Http {
            client: builder.build().context("cannot set up the HTTP client")?,
            timeout: options.timeout,
            verbose: options.verbose,
        })
    }

    pub fn get(&self, url: &str) -> Result<Response, Failure> {
        self.send("GET", url, None, self.client.get(url))
    }

    /// A GET with a bearer token (userinfo); the token is masked in traces.
    pub fn get_bearer(&self, url: &str, token: &str) -> Result<Response, Failure> {
        let shown = format!("[Authorization: Bearer {}]", mask(token));
        self.send(
            "GET",
            url,
            Some(shown),
            self.client.get(url).bearer_auth(token),
        )
    }

    /// A form POST to a token endpoint with `client_secret_basic`, the
    /// header built by [`client_secret_basic`] exactly as RomM's authlib
    /// builds it. Credentials authlib cannot encode are never sent.
    pub fn post_form_basic(
        &self,
        url: &str,
        client: (&str, &str),
        form: &[(&str, &str)],
    ) -> Result<Response, Failure> {
        let authorization = client_secret_basic(client.0, client.1).map_err(|e| {
            Failure::Other(format!("the credentials were not sent: {}", e.reason()))
        })?;
        let body = form_body(form);
        let request = self
            .client
            .post(url)
            .header("Authorization", authorization)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        let shown = format!(
            "{}\n[Authorization: Basic {}:{}]",
            shown_form(form),
            client.0,
            mask(client.1)
        );
        self.send("POST", url, Some(shown), request)
    }

    /// A form POST without credentials in headers (secret fields masked in
    /// traces, see [`shown_form`]).
    pub fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<Response, Failure> {
        let body = form_body(form);
        let request = self
            .client
            .post(url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .body(body);
        self.send("POST", url, Some(shown_form(form)), request)
    }

    /// A call to Pocket ID's admin API: `X-API-Key`, JSON body when given.
    /// The key is masked in traces.
    pub fn api(
        &self,
        method: reqwest::Method,
        url: &str,
        key: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Response, Failure> {
        let mut request = self
            .client
            .request(method.clone(), url)
            .header("X-API-Key", key)
            .header("Accept", "application/json");
        let mut shown = format!("[X-API-Key: {}]", mask(key));
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
            shown = format!("{}\n{shown}", redact_tokens(&body.to_string()));
        }
        self.send(method.as_str(), url, Some(shown), request)
    }

    fn send(
        &self,
        method: &str,
        url: &str,
        shown_body: Option<String>,
        request: RequestBuilder,
    ) -> Result<Response, Failure> {
        if let Some(why) = httpx_refuses(url) {
            return Err(Failure::Other(why));
        }
        let started = Instant::now();
        if self.verbose > 0 {
            eprintln!("> {method} {}", clean(&hide_codes(url)));
            if let (Some(body), true) = (&shown_body, self.verbose > 1) {
                eprintln!("> {}", clean_lines(body).replace('\n', "\n> "));
            }
        }
        // The client-wide timeout of reqwest's blocking client restarts with
        // every read of the body, so a server dripping a byte at a time never
        // ends; a per-request timeout is reqwest's total deadline, which also
        // covers the body (reqwest 0.13 `TotalTimeoutBody`).
        let result = request
            .timeout(self.timeout)
            .send()
            .map_err(classify)
            .and_then(read_body);
        if self.verbose > 0 {
            let ms = started.elapsed().as_millis();
            match &result {
                Ok(r) => {
                    eprintln!(
                        "< {} {} ({} bytes, {ms} ms)",
                        r.status,
                        clean(r.content_type.as_deref().unwrap_or("no content type")),
                        r.body.len()
                    );
                    if self.verbose > 1 {
                        let body = redact_tokens(&String::from_utf8_lossy(&r.body));
                        eprintln!("< {}", clean(&hide_codes(&body)));
                    }
                }
                Err(failure) => eprintln!("< {} ({ms} ms)", clean(&failure.to_string())),
            }
        }
        result
    }
}

fn read_body(response: reqwest::blocking::Response) -> Result<Response, Failure> {
    // A value with bytes outside visible ASCII is still shown (as UTF-8,
    // invalid bytes replaced), never taken for a missing header.
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let status = response.status().as_u16();
    let content_type = header("content-type");
    let content_encoding = header("content-encoding");
    let location = header("location");
    let set_cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let url = response.url().to_string();
    if response
        .content_length()
        .is_some_and(|n| n > BODY_LIMIT as u64)
    {
        return Err(Failure::TooLarge);
    }
    let mut body = Vec::new();
    response
        .take(BODY_LIMIT as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| {
            match e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
            {
                Some(inner) if inner.is_timeout() => Failure::Timeout,
                Some(inner) if inner.is_decode() => Failure::Other(format!(
                    "the compressed body could not be decoded ({e}); RomM's httpx would decode a valid gzip, deflate or zstd body, so the provider or a proxy sends a broken one"
                )),
                _ if e.kind() == std::io::ErrorKind::TimedOut => Failure::Timeout,
                _ => Failure::Other(format!("the body could not be read: {e}")),
            }
        })?;
    if body.len() > BODY_LIMIT {
        return Err(Failure::TooLarge);
    }
    Ok(Response {
        status,
        content_type,
        content_encoding,
        location,
        set_cookie,
        body,
        url,
    })
}

/// Why RomM's httpx (0.28.1 `_urlparse`) would refuse a URL before sending
/// anything, where reqwest's WHATWG parser would quietly drop or encode the
/// offending characters and fetch another URL than RomM tries.
pub fn httpx_refuses(url: &str) -> Option<String> {
    // Python's `len`: characters, not bytes.
    let length = url.chars().count();
    if length > 65536 {
        return Some(format!(
            "the URL is {length} characters long; RomM's httpx refuses URLs over 65536 (InvalidURL)"
        ));
    }
    url.char_indices()
        .find(|(_, c)| c.is_ascii_control())
        .map(|(at, c)| {
            format!(
                "the URL holds the control character U+{:04X} at byte {at}, which RomM's httpx refuses (InvalidURL: non-printable ASCII character)",
                u32::from(c)
            )
        })
}

/// Sorts a transport error into what the user must do about it.
fn classify(error: reqwest::Error) -> Failure {
    if error.is_timeout() {
        return Failure::Timeout;
    }
    let mut chain = Vec::new();
    let mut source: Option<&dyn std::error::Error> = Some(&error);
    while let Some(e) = source {
        if let Some(refusal) = refusal_in(e) {
            return Failure::Certificate(refusal.clone());
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return Failure::Refused,
                std::io::ErrorKind::TimedOut => return Failure::Timeout,
                _ => {}
            }
        }
        chain.push(e.to_string());
        source = e.source();
    }
    let text = chain.join(": ");
    let lower = text.to_ascii_lowercase();
    // rustls reads a plain-HTTP answer ("HTTP/1.1 400 …") as a TLS record of
    // an impossible content type.
    if lower.contains("invalidcontenttype") {
        return Failure::PlainHttp;
    }
    if lower.contains("dns error") || lower.contains("failed to lookup address") {
        Failure::Dns
    } else if lower.contains("certificate")
        || lower.contains("tls")
        || lower.contains("handshake")
        || lower.contains("invalidcertificate")
    {
        let why = chain.last().cloned().unwrap_or(text);
        Failure::Tls(why)
    } else {
        Failure::Other(chain.last().cloned().unwrap_or(text))
    }
}

/// The verifier's reason, carried through rustls and tokio-rustls' io::Error
/// (whose `source()` skips the error it wraps, hence `get_ref`).
fn refusal_in<'a>(mut e: &'a (dyn std::error::Error + 'static)) -> Option<&'a tls::Refusal> {
    while let Some(inner) = e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        e = inner;
    }
    match e.downcast_ref::<rustls::Error>()? {
        rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) => {
            other.0.downcast_ref::<tls::Refusal>()
        }
        _ => None,
    }
}

/// Form fields that carry a secret: a password, an authorization code (it
/// buys tokens until it is used), the PKCE verifier, a refresh token.
const SECRET_FIELDS: &[&str] = &[
    "password",
    "code",
    "code_verifier",
    "refresh_token",
    "client_secret",
];

/// An `application/x-www-form-urlencoded` body.
fn form_body(form: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish()
}

/// A form body for -vv traces, the values of [`SECRET_FIELDS`] masked (and
/// left unencoded, so the mask reads as one).
fn shown_form(form: &[(&str, &str)]) -> String {
    let encoded =
        |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    form.iter()
        .map(|(k, v)| {
            let v = if SECRET_FIELDS.contains(k) {
                mask(v)
            } else {
                encoded(v)
            };
            format!("{}={v}", encoded(k))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `text` with the value of every `code` parameter in it (`?code=`,
/// `&code=`, `&amp;code=` in a page) replaced by `(hidden)`: an
/// authorization code is a credential until it is used, and URLs that carry
/// one reach traces and findings.
pub fn hide_codes(text: &str) -> String {
    const KEY: &str = "code=";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(KEY) {
        let starts_a_parameter =
            matches!(rest[..at].chars().next_back(), None | Some('?' | '&' | ';'));
        out.push_str(&rest[..at + KEY.len()]);
        rest = &rest[at + KEY.len()..];
        if starts_a_parameter {
            let end = rest
                .find(|c: char| {
                    matches!(c, '&' | '#' | '"' | '\'' | '<' | '>') || c.is_whitespace()
                })
                .unwrap_or(rest.len());
            if end > 0 {
                out.push_str("(hidden)");
            }
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

/// Token values in a JSON body, shortened for -vv traces.
fn redact_tokens(body: &str) -> String {
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(body) else {
        return excerpt(body.as_bytes());
    };
    mask_tokens(&mut value);
    value.to_string()
}

/// Masks the secrets a JSON object may carry (a token response's tokens,
/// Pocket ID's new client secret); true when there was one.
fn mask_tokens(value: &mut serde_json::Value) -> bool {
    let Some(map) = value.as_object_mut() else {
        return false;
    };
    let mut any = false;
    for key in [
        "access_token",
        "id_token",
        "refresh_token",
        "client_secret",
        "secret",
    ] {
        if let Some(serde_json::Value::String(s)) = map.get_mut(key) {
            *s = mask(s);
            any = true;
        }
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_hidden_wherever_a_url_carries_one() {
        for (text, want) in [
            (
                "http://x/cb?code=S3CR3T&state=a",
                "http://x/cb?code=(hidden)&state=a",
            ),
            (
                "grant_type=authorization_code&code=S3CR3T",
                "grant_type=authorization_code&code=(hidden)",
            ),
            ("code=S3CR3T", "code=(hidden)"),
            (
                "<a href=\"/cb?state=a&amp;code=S3CR3T\">",
                "<a href=\"/cb?state=a&amp;code=(hidden)\">",
            ),
            ("?code=S3CR3T#frag", "?code=(hidden)#frag"),
            // Other parameters that end in "code" are not codes.
            ("?error_code=E1&qrcode=Q", "?error_code=E1&qrcode=Q"),
            ("?code_challenge=C&code=", "?code_challenge=C&code="),
        ] {
            assert_eq!(hide_codes(text), want, "{text}");
        }
    }

    #[test]
    fn basic_header_is_latin1_and_not_form_encoded_like_authlib() {
        // Values from Python: base64.b64encode(f"{id}:{secret}".encode("latin1")).
        assert_eq!(
            client_secret_basic("romm", "s3cret").as_deref(),
            Ok("Basic cm9tbTpzM2NyZXQ=")
        );
        assert_eq!(
            client_secret_basic("romm", "é").as_deref(),
            Ok("Basic cm9tbTrp")
        );
        assert_eq!(
            client_secret_basic("a b", "%2B+").as_deref(),
            Ok("Basic YSBiOiUyQis=")
        );
    }

    #[test]
    fn beyond_latin1_is_refused_and_says_where() {
        assert_eq!(
            client_secret_basic("romm", "x€y🦀"),
            Err(NotLatin1 {
                in_id: false,
                count: 2
            })
        );
        let err = client_secret_basic("römm€", "ok").unwrap_err();
        assert!(err.in_id);
        assert!(err.reason().contains("UnicodeEncodeError"));
        assert!(!err.reason().contains('€'));
    }

    /// What `httpx.URL(…)` (0.28.1, on Python 3.13) does with each, as run.
    #[test]
    fn urls_httpx_refuses_before_sending() {
        let long =
            |chars: usize, c: char| format!("https://x/{}", c.to_string().repeat(chars - 10));
        assert_eq!(httpx_refuses(&long(65_536, 'a')), None);
        // "URL too long": httpx counts characters, not bytes.
        let refused = httpx_refuses(&long(65_537, 'a')).expect("too long");
        assert!(refused.contains("65537 characters"), "{refused}");
        assert_eq!(httpx_refuses(&long(40_010, 'é')), None);
        // "Invalid non-printable ASCII character": DEL and C0 controls only.
        for (url, at) in [
            ("https://x/\u{7f}", 10),
            ("https://x/\u{1b}[0m", 10),
            ("https://x/a\tb", 11),
        ] {
            let refused = httpx_refuses(url).expect("a control character");
            assert!(refused.contains(&format!("at byte {at}")), "{refused}");
        }
        assert_eq!(httpx_refuses("https://x/\u{85}"), None);
    }

    fn response(content_type: Option<&str>, encoding: Option<&str>, body: &[u8]) -> Response {
        Response {
            status: 200,
            content_type: content_type.map(str::to_string),
            content_encoding: encoding.map(str::to_string),
            location: None,
            set_cookie: Vec::new(),
            body: body.to_vec(),
            url: "https://x/".into(),
        }
    }

    #[test]
    fn compression_says_whether_romms_httpx_decodes_it() {
        let compression = |encoding| response(None, encoding, b"").compression();
        for nothing in [None, Some("identity"), Some(" , Identity ,")] {
            assert_eq!(compression(nothing), None, "{nothing:?}");
        }
        for decoded in ["gzip", "GZip, zstd", "deflate,identity"] {
            let why = compression(Some(decoded)).expect("compressed");
            assert!(why.contains("RomM's httpx decodes that form"), "{why}");
        }
        // RomM installs zstandard but not brotli.
        for undecoded in ["br", "gzip, br", "compress"] {
            let why = compression(Some(undecoded)).expect("compressed");
            assert!(why.contains("RomM's httpx cannot decode"), "{why}");
        }
    }

    #[test]
    fn json_media_types() {
        let json = |t| response(Some(t), None, b"").is_json_type();
        assert!(json("application/json"));
        assert!(json("Application/JSON; charset=utf-8"));
        assert!(json("application/jwk-set+json"));
        assert!(!json("text/json"));
        assert!(!json("application/jsonp"));
        assert!(!response(None, None, b"{}").is_json_type());
    }

    #[test]
    fn excerpts_are_one_short_printable_line() {
        assert_eq!(excerpt(b"  a\r\n\tb\x1b[31m  c "), "a b [31m c");
        assert_eq!(excerpt(b"\xff ok"), "\u{fffd} ok");
        let long = excerpt(&[b'x'; 1000]);
        assert_eq!(long.chars().count(), 161);
        assert!(long.ends_with("x…"));
    }

    #[test]
    fn traces_mask_secret_fields_and_token_values() {
        let form = shown_form(&[
            ("grant_type", "authorization_code"),
            ("code", "the-code"),
            ("redirect_uri", "http://x/cb?a=b"),
            ("code_verifier", "the-verifier"),
        ]);
        assert_eq!(
            form,
            format!(
                "grant_type=authorization_code&code={}&redirect_uri=http%3A%2F%2Fx%2Fcb%3Fa%3Db&code_verifier={}",
                mask("the-code"),
                mask("the-verifier")
            )
        );
        let body = r#"{"access_token":"at-value","id_token":"it-value","token_type":"Bearer"}"#;
        let redacted = redact_tokens(body);
        assert!(!redacted.contains("at-value") && !redacted.contains("it-value"));
        assert!(redacted.contains("Bearer"));
        let page = response(None, None, body.as_bytes()).head();
        assert!(!page.contains("at-value") && page.contains(&mask("it-value")));
        assert_eq!(redact_tokens("not json\n"), "not json");
    }
}
