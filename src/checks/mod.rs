//! Checks: each returns findings and nothing else. Rendering is in `report`,
//! the order and concurrency of a run in `doctor`.

pub mod config;
pub mod container;
pub mod credentials;
pub mod discovery;
pub mod id;
pub mod jwks;
pub mod login;
pub mod pocketid;
pub mod redirect_uri;
pub mod romm;
pub mod romm_users;
pub mod tls;
pub mod verdict;

use crate::http::{Failure, Response};
use crate::report::Finding;

/// The fix for a connection refused (also `romm.log`'s `net.connect`).
pub const REFUSED_FIX: &str =
    "Check the host and port in the URL, and that the service is running.";
/// The fix for a name that does not resolve (also `romm.log`'s `net.dns`).
pub const DNS_FIX: &str = "Fix the host name, or run this check where RomM runs (docker compose exec romm …) to see what RomM sees.";
/// The fix for a plain-HTTP answer to TLS (also `romm.log`'s `net.plain-http`).
pub const PLAIN_HTTP_FIX: &str = "Use http:// in this URL if the service is meant to be reached without TLS, or fix the TLS listener (the reverse proxy's https port) so this port speaks HTTPS.";
/// The fix for any other failed request (also `romm.log`'s `net.protocol`).
pub const OTHER_FIX: &str = "Check the URL and that the service answers HTTP there.";

/// The fix for an answer that never came, without this tool's own advice on
/// `--timeout` (`romm.log`'s `net.timeout` shares it).
pub fn blocked_fix(host: &str) -> String {
    format!("Check that {host} is up and not blocked by a firewall or proxy")
}

/// A finding for a request that got no usable answer: what happened, in the
/// user's terms, and what to do about it.
pub fn unreachable(id: &'static str, what: &str, url: &str, failure: &Failure) -> Finding {
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| url.to_string());
    let (summary, detail, fix) = match failure {
        Failure::Timeout => (
            format!("{what} timed out"),
            format!("{url} accepted no answer within the time limit (--timeout)."),
            format!("{}; raise --timeout for a slow link.", blocked_fix(&host)),
        ),
        Failure::Refused => (
            format!("{what}: connection refused"),
            format!("Nothing listens at {url}."),
            REFUSED_FIX.into(),
        ),
        Failure::Dns => (
            format!("{what}: host {host} not found"),
            format!(
                "The name {host} does not resolve from this machine. RomM's container may resolve names differently (docker networks, split DNS)."
            ),
            DNS_FIX.to_string(),
        ),
        Failure::Certificate(refusal) => return tls::refused(id, what, url, refusal),
        Failure::Tls(why) => (
            format!("{what}: TLS handshake failed"),
            format!("{url}: {why}. No certificate was judged: the connection failed before."),
            format!(
                "Check that {host} serves HTTPS on that port (not plain HTTP) with TLS 1.2 or 1.3."
            ),
        ),
        Failure::PlainHttp => (
            format!("{what}: the server speaks plain HTTP on this port"),
            format!(
                "{url}: the answer to the TLS handshake was plain text, not TLS. RomM fails the same way ([SSL: WRONG_VERSION_NUMBER])."
            ),
            PLAIN_HTTP_FIX.into(),
        ),
        Failure::TooLarge => (
            format!("{what}: answer too large"),
            format!(
                "{url} sent more than {} KiB; an OIDC document is a few KB.",
                crate::http::BODY_LIMIT / 1024
            ),
            "Check that the URL points at the provider, not at a file or a proxy error page."
                .into(),
        ),
        Failure::Other(why) => (
            format!("{what} failed"),
            format!("{url}: {why}"),
            OTHER_FIX.into(),
        ),
    };
    Finding::fail(id, summary).detail(detail).fix(fix)
}

/// The JSON object in a response, or a finding that says why there is none.
pub fn json_object(
    id: &'static str,
    what: &str,
    response: &Response,
) -> Result<serde_json::Map<String, serde_json::Value>, Finding> {
    let head = response.head();
    let Some(value) = response.json() else {
        if let Some(compression) = response.compression() {
            return Err(Finding::fail(id, format!("{what} is compressed in a form that could not be read"))
                .detail(format!("{}: {compression}.", response.url))
                .mismatch(
                    "a JSON object, plain or gzip/deflate/zstd-encoded",
                    format!(
                        "Content-Encoding: {}",
                        response.content_encoding.as_deref().unwrap_or_default()
                    ),
                )
                .fix("Make the server (or the reverse proxy in front of it) honour Accept-Encoding: RomM asks for gzip, deflate and zstd only; turn off brotli or other encodings for this path."));
        }
        let html = head.to_ascii_lowercase().contains("<html") || head.starts_with('<');
        let summary = if html {
            format!("{what} is an HTML page, not JSON")
        } else {
            format!("{what} is not JSON")
        };
        return Err(Finding::fail(id, summary)
            .detail(format!(
                "{} answered {} with content type {}; the body starts: {head}",
                response.url,
                response.status,
                response.content_type.as_deref().unwrap_or("(none)")
            ))
            .mismatch("a JSON object (application/json)", head));
    };
    match value {
        serde_json::Value::Object(map) => Ok(map),
        other => Err(
            Finding::fail(id, format!("{what} is JSON but not an object"))
                .mismatch("a JSON object", kind(&other)),
        ),
    }
}

/// A query parameter of a URL (its first value), decoded.
pub fn query_param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The JSON type of a value, for "expected X, found Y".
pub fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Settings for the checks' unit tests, as `load` would resolve them.
#[cfg(test)]
pub mod test_settings {
    use std::path::Path;

    use crate::container::RommEnv;
    use crate::envfile::EnvFile;
    use crate::settings::{Inputs, Settings};

    /// Each pair given as if by its flag (`--test`).
    pub fn flags(pairs: &[(&'static str, &str)]) -> Settings {
        sources(pairs, &[], None, None)
    }

    /// RomM's env file `text` (read as `romm.env`, in an empty environment)
    /// and the process environment `environment`.
    pub fn env(text: &str, environment: &[(&str, &str)]) -> Settings {
        sources(&[], environment, Some(text), None)
    }

    /// Every source at once: flags (as `--test`), the process environment, an
    /// env file `romm.env`, RomM's container.
    pub fn sources(
        flags: &[(&'static str, &str)],
        environment: &[(&str, &str)],
        env_file: Option<&str>,
        container: Option<&RommEnv>,
    ) -> Settings {
        Settings::resolve(Inputs {
            flags: flags
                .iter()
                .map(|(k, v)| (*k, "--test", v.to_string()))
                .collect(),
            environment: environment
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            env_file: env_file.map(|text| {
                EnvFile::parse_with(Path::new("romm.env"), text.to_string(), &|_| None)
            }),
            romm_url: None,
            secret_file: None,
            container,
        })
    }
}
