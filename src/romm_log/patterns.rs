//! Every OIDC failure RomM logs, as data: what a row matches (an exception
//! class and message at a stage of the login, an ID-token rejection as
//! `oidc::id_token` knows it, a line RomM's own code logs, or an answer only
//! the access log shows), what it means, and the fix — the text of the check
//! that judges the same fault, from the same constant or function.
//!
//! The texts are authlib 1.6.12's, httpx 0.28.1's and RomM 5.2's
//! (`backend/handler/auth/base_handler.py`), as RomM's image prints them.

use std::sync::LazyLock;

use regex::Regex;

use super::parse::Frame;
use crate::checks::{self, config, discovery, id, login, romm, romm_users, tls};
use crate::oidc::discovery::Flavor;
use crate::oidc::id_token::Rejection;

/// Where in RomM's login an exception was raised: the innermost frame
/// that says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    Discovery,
    Authorize,
    Callback,
    Token,
    Jwks,
    IdToken,
    Account,
    LoginRoute,
    CallbackRoute,
}

/// Frames by file (path components at the end) and function, each naming
/// its stage; the innermost match wins.
const STAGE_FRAMES: &[(&str, &str, Stage)] = &[
    (
        "authlib/integrations/base_client/async_app.py",
        "load_server_metadata",
        Stage::Discovery,
    ),
    (
        "authlib/integrations/base_client/async_app.py",
        "create_authorization_url",
        Stage::Authorize,
    ),
    (
        "authlib/integrations/base_client/sync_app.py",
        "_format_state_params",
        Stage::Callback,
    ),
    (
        "authlib/integrations/starlette_client/apps.py",
        "authorize_access_token",
        Stage::Callback,
    ),
    (
        "authlib/integrations/base_client/async_app.py",
        "fetch_access_token",
        Stage::Token,
    ),
    (
        "authlib/integrations/httpx_client/oauth2_client.py",
        "_fetch_token",
        Stage::Token,
    ),
    (
        "authlib/oauth2/client.py",
        "parse_response_token",
        Stage::Token,
    ),
    (
        "authlib/integrations/base_client/async_openid.py",
        "fetch_jwk_set",
        Stage::Jwks,
    ),
    (
        "authlib/integrations/base_client/async_openid.py",
        "parse_id_token",
        Stage::IdToken,
    ),
    (
        "handler/auth/base_handler.py",
        "get_current_active_user_from_openid_token",
        Stage::Account,
    ),
    ("endpoints/auth.py", "login_via_openid", Stage::LoginRoute),
    ("endpoints/auth.py", "auth_openid", Stage::CallbackRoute),
];

impl Stage {
    /// The stage of a traceback, `None` when no frame is RomM's OIDC code
    /// (any other route's traceback, even with the same exception).
    pub fn of(frames: &[Frame]) -> Option<Stage> {
        frames.iter().rev().find_map(|f| {
            STAGE_FRAMES
                .iter()
                .find(|(file, function, _)| f.is(file, function))
                .map(|(_, _, stage)| *stage)
        })
    }

    /// The stable name in `--json`.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Discovery => "discovery",
            Stage::Authorize => "authorize",
            Stage::Callback => "callback",
            Stage::Token => "token",
            Stage::Jwks => "jwks",
            Stage::IdToken => "id-token",
            Stage::Account => "account",
            Stage::LoginRoute => "login-route",
            Stage::CallbackRoute => "callback-route",
        }
    }

    /// What RomM was doing, for the detail.
    pub fn doing(self) -> &'static str {
        match self {
            Stage::Discovery => "loading the provider's discovery document (load_server_metadata)",
            Stage::Authorize => "building the authorization request (create_authorization_url)",
            Stage::Callback => "reading the provider's redirect back (authorize_access_token)",
            Stage::Token => "exchanging the code at the token endpoint (fetch_access_token)",
            Stage::Jwks => "fetching the provider's key set (fetch_jwk_set)",
            Stage::IdToken => "validating the ID token (parse_id_token)",
            Stage::Account => {
                "finding or creating the RomM user (get_current_active_user_from_openid_token)"
            }
            Stage::LoginRoute => "in its login route",
            Stage::CallbackRoute => "in its callback route",
        }
    }

    /// How far a login got when it failed here: a later login that gets
    /// past this rank proves the step works again.
    pub fn rank(self) -> u8 {
        match self {
            Stage::Discovery | Stage::Authorize | Stage::LoginRoute => 1,
            Stage::Callback | Stage::CallbackRoute => 2,
            Stage::Token => 3,
            Stage::Jwks => 4,
            Stage::IdToken => 5,
            Stage::Account => 6,
        }
    }

    /// What else the stage tells about a network or TLS failure there.
    pub fn note(self) -> Option<&'static str> {
        match self {
            Stage::Token => Some(
                "RomM loaded discovery, but not the token endpoint the document names (Pocket ID builds it from its INTERNAL_APP_URL).",
            ),
            Stage::Jwks => Some(
                "RomM loaded discovery, but not the jwks_uri the document names (Pocket ID builds it from its INTERNAL_APP_URL).",
            ),
            _ => None,
        }
    }
}

/// What the log showed around one failure, for the fixes that name it.
#[derive(Debug, Default)]
pub struct Seen<'a> {
    /// The message regex's groups (index 0: the whole message).
    pub captures: Vec<String>,
    pub frames: &'a [Frame],
    /// The exception message's further lines.
    pub more: &'a [String],
    /// The host RomM was connecting to (`_trace` lines, DEBUG only).
    pub host: Option<String>,
    /// The HTTP status of the request RomM logged just before.
    pub status: Option<u16>,
    /// The provider is Pocket ID (its token endpoint path is in the log).
    pub pocket_id: bool,
    /// The email RomM was creating a user for, just before.
    pub new_user: Option<String>,
}

impl Seen<'_> {
    fn capture(&self, i: usize) -> &str {
        self.captures.get(i).map_or("", String::as_str)
    }

    fn flavor(&self) -> Flavor {
        if self.pocket_id {
            Flavor::PocketIdModern
        } else {
            Flavor::Other
        }
    }

    /// Whether a frame is in the file that builds httpx's TLS context (the
    /// CA file is read there).
    fn loads_ca_file(&self) -> bool {
        self.frames.iter().any(|f| f.in_file("httpx/_config.py"))
    }
}

pub enum On {
    /// An exception line: one of `classes` (as Python prints them, module
    /// path included), a message matching `message` (anchored), raised at
    /// one of `stages` (empty: any OIDC stage).
    Exception {
        classes: &'static [&'static str],
        message: &'static str,
        stages: &'static [Stage],
    },
    /// An ID-token rejection, matched by the exception `oidc::id_token`
    /// says authlib raises for it (the argument: the provider is Pocket ID).
    Rejection(fn(bool) -> Rejection),
    /// A line RomM's own code logs: module label, level, message (anchored).
    Logged {
        module: &'static str,
        level: &'static str,
        message: &'static str,
    },
    /// An answer RomM logs nothing else for, in the access log: path,
    /// status and, when only the size tells it apart, the body size (which
    /// only nginx's lines show).
    Access {
        path: &'static str,
        status: u16,
        bytes: Option<u64>,
        stage: Stage,
    },
}

pub enum Fix {
    Text(&'static str),
    Made(fn(&Seen) -> String),
    /// `login.id-token`'s fix for the row's rejection.
    OfRejection,
}

pub struct Pattern {
    /// Stable, in `--json` (`data.pattern`).
    pub name: &'static str,
    pub on: On,
    /// A further condition on what was seen.
    pub when: Option<fn(&Seen) -> bool>,
    /// The summary: what failed.
    pub what: &'static str,
    /// Why, in the detail.
    pub cause: &'static str,
    /// The check that judges the same fault and gives the same fix.
    pub check: &'static str,
    pub fix: Fix,
}

impl std::fmt::Debug for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Pattern {
    pub fn fix(&self, seen: &Seen) -> String {
        match (&self.fix, &self.on) {
            (Fix::Text(text), _) => (*text).to_string(),
            (Fix::Made(make), _) => make(seen),
            (Fix::OfRejection, On::Rejection(make)) => {
                login::rejection_fix(&make(seen.pocket_id), &seen.flavor())
            }
            (Fix::OfRejection, _) => unreachable!("a rejection's fix needs its rejection"),
        }
    }
}

const OAUTH_ERROR: &str = "authlib.integrations.base_client.errors.OAuthError";
const JSON_ERROR: &str = "json.decoder.JSONDecodeError";
const STATUS_ERROR: &str = "httpx.HTTPStatusError";
const CONNECT_ERROR: &str = "httpx.ConnectError";
/// A refused certificate: httpx's wrapper, or the ssl error itself where the
/// chain is printed whole (sentry's ASGI wrapper cuts it to httpx's).
const VERIFY_ERRORS: &[&str] = &[CONNECT_ERROR, "ssl.SSLCertVerificationError"];
/// A TLS verify failure: the reason, then CPython's source line (which
/// varies by release).
macro_rules! verify_failed {
    ($reason:literal) => {
        concat!(
            r"^\[SSL: CERTIFICATE_VERIFY_FAILED\] certificate verify failed: ",
            $reason,
            r" \(_ssl\.c:\d+\)$"
        )
    };
}

const fn exception(
    classes: &'static [&'static str],
    message: &'static str,
    stages: &'static [Stage],
) -> On {
    On::Exception {
        classes,
        message,
        stages,
    }
}

/// The rows, most specific first: the first that matches is the finding.
pub static PATTERNS: &[Pattern] = &[
    // Discovery (the login button; or the callback after a worker restart).
    Pattern {
        name: "discovery.not-json",
        on: exception(&[JSON_ERROR], ".*", &[Stage::Discovery]),
        when: None,
        what: "Discovery is not JSON",
        cause: "The discovery URL answers 2xx with a body that is not JSON: an HTML page (Pocket ID answers any unknown path with its web app, e.g. an issuer ending in /authorize), a proxy or login portal page.",
        check: id::DISCOVERY_FETCH,
        fix: Fix::Text(discovery::NOT_JSON_FIX),
    },
    Pattern {
        name: "discovery.redirect",
        on: exception(
            &[STATUS_ERROR],
            r"^Redirect response '(\d{3})[^']*' for url '([^']*)'$",
            &[Stage::Discovery],
        ),
        when: None,
        what: "Discovery answers a redirect, which RomM does not follow",
        cause: "RomM's HTTP client treats any 3xx as an error: http → https, a missing or extra slash, a moved path.",
        check: id::DISCOVERY_FETCH,
        fix: Fix::Text(discovery::REDIRECT_FIX),
    },
    Pattern {
        name: "discovery.status",
        on: exception(
            &[STATUS_ERROR],
            r"^(?:Client|Server) error '(\d{3})[^']*' for url '([^']*)'$",
            &[Stage::Discovery],
        ),
        when: None,
        what: "Discovery answers an HTTP error",
        cause: "A 404 means the URL is not the provider's discovery document (a doubled /.well-known/openid-configuration, an endpoint instead of the issuer, a missing realm or application path); a 5xx, that the provider or its reverse proxy fails as RomM reaches it.",
        check: id::DISCOVERY_FETCH,
        fix: Fix::Text(discovery::STATUS_FIX),
    },
    Pattern {
        name: "discovery.bad-url",
        on: exception(
            &["httpx.UnsupportedProtocol"],
            r"^Request URL (?:is missing an 'http://' or 'https://' protocol|has an unsupported protocol '[^']*')\.$",
            &[Stage::Discovery],
        ),
        when: None,
        what: "The provider URL in RomM's settings is not an http(s) URL",
        cause: "OIDC_SERVER_APPLICATION_URL (or OIDC_SERVER_METADATA_URL) is empty, has no http:// or https://, or is wrapped in literal quotes (a compose list item `- KEY=\"value\"` keeps them).",
        check: id::CONFIG_ISSUER_URL,
        fix: Fix::Text(config::ISSUER_UNSET_FIX),
    },
    Pattern {
        name: "endpoint.bad-url",
        on: exception(
            &["httpx.UnsupportedProtocol"],
            ".*",
            &[Stage::Token, Stage::Jwks],
        ),
        when: None,
        what: "An endpoint in the discovery document is not an http(s) URL",
        cause: "The token endpoint or jwks_uri that the provider publishes cannot be requested.",
        check: id::DISCOVERY_METADATA,
        fix: Fix::Text(discovery::ENDPOINT_URL_FIX),
    },
    Pattern {
        name: "discovery.incomplete",
        on: exception(&["RuntimeError"], r#"^Missing "authorize_url" value$"#, &[]),
        when: None,
        what: "The discovery document has no authorization_endpoint",
        cause: "RomM read a JSON document without authorization_endpoint: OIDC_SERVER_METADATA_URL points at another JSON document, or the provider publishes an incomplete one.",
        check: id::DISCOVERY_METADATA,
        fix: Fix::Text(discovery::MISSING_ENDPOINT_FIX),
    },
    Pattern {
        name: "jwks.no-uri",
        on: exception(
            &["RuntimeError"],
            r#"^Missing "jwks_uri" in metadata$"#,
            &[],
        ),
        when: None,
        what: "The discovery document has no jwks_uri",
        cause: "RomM cannot fetch the keys to check the ID token's signature.",
        check: id::DISCOVERY_METADATA,
        fix: Fix::Text(discovery::MISSING_ENDPOINT_FIX),
    },
    // The network and TLS, at any stage (the stage says which URL).
    Pattern {
        name: "net.dns",
        on: exception(
            &[CONNECT_ERROR],
            r"^\[Errno -\d+\] (?:Name or service not known|Name does not resolve|Temporary failure in name resolution|Try again|No address associated with hostname|Name has no usable address)$",
            &[],
        ),
        when: None,
        what: "RomM's container cannot resolve the provider's host name",
        cause: "The name does not resolve where RomM runs: split DNS, a name known only on the host or on another docker network (e.g. pocket-id:1411 with RomM outside Pocket ID's network); \"Temporary failure\" / \"Try again\" means no DNS server answered.",
        check: id::DISCOVERY_FETCH,
        fix: Fix::Text(checks::DNS_FIX),
    },
    Pattern {
        name: "net.connect",
        on: exception(
            &[CONNECT_ERROR],
            r"^(?:All connection attempts failed|\[Errno \d+\] .*)$",
            &[],
        ),
        when: None,
        what: "RomM's container cannot connect to the provider",
        cause: "Nothing answers at that host and port from RomM's side: the service is down, no route, a firewall, or an HTTP_PROXY/HTTPS_PROXY in RomM's environment that refuses (httpx says the same for all of these).",
        check: id::DISCOVERY_FETCH,
        fix: Fix::Text(checks::REFUSED_FIX),
    },
    Pattern {
        name: "net.timeout",
        on: exception(
            &[
                "httpx.ConnectTimeout",
                "httpx.ReadTimeout",
                "httpx.WriteTimeout",
                "httpx.PoolTimeout",
            ],
            ".*",
            &[],
        ),
        when: None,
        what: "RomM's request to the provider timed out",
        cause: "No answer within httpx's 5 s (RomM sets no other timeout): packets dropped by a firewall, hairpin NAT or a wrong address; a TLS handshake that stalls is a ConnectTimeout too, a ReadTimeout an accepted connection that never answered.",
        check: id::DISCOVERY_FETCH,
        fix: Fix::Made(|s| {
            format!(
                "{}.",
                checks::blocked_fix(s.host.as_deref().unwrap_or("the provider"))
            )
        }),
    },
    Pattern {
        name: "net.plain-http",
        on: exception(
            &[CONNECT_ERROR, "ssl.SSLError"],
            r"^\[SSL(?:: WRONG_VERSION_NUMBER\] wrong version number|\] record layer failure) \(_ssl\.c:\d+\)$",
            &[],
        ),
        when: None,
        what: "RomM speaks https to a port that answers plain HTTP",
        cause: "The URL says https:// but that port serves plain HTTP (OpenSSL reads the HTTP answer as a TLS record).",
        check: id::DISCOVERY_FETCH,
        fix: Fix::Text(checks::PLAIN_HTTP_FIX),
    },
    Pattern {
        name: "net.protocol",
        on: exception(
            &[
                "httpx.ReadError",
                "httpx.WriteError",
                "httpx.RemoteProtocolError",
                "httpx.LocalProtocolError",
            ],
            ".*",
            &[],
        ),
        when: None,
        what: "The provider's server broke off RomM's request",
        cause: "The connection closed or spoke no HTTP: most often http:// to a port that serves TLS (an empty ReadError), or a proxy that drops the request.",
        check: id::DISCOVERY_FETCH,
        fix: Fix::Text(checks::OTHER_FIX),
    },
    Pattern {
        name: "tls.untrusted",
        on: exception(
            VERIFY_ERRORS,
            verify_failed!(
                r"(unable to get local issuer certificate|unable to get issuer certificate|unable to verify the first certificate|self-signed certificate(?: in certificate chain)?)"
            ),
            &[],
        ),
        when: None,
        what: "RomM does not trust the provider's certificate",
        cause: "No CA RomM trusts vouches for the chain: a private CA with OIDC_TLS_CACERTFILE unset, naming another CA's file, or naming a directory (which needs `openssl rehash` names). OIDC_TLS_CACERTFILE replaces RomM's default trust store.",
        check: id::TLS_CA_FILE,
        fix: Fix::Made(|_| {
            tls::untrusted_fix(
                "the issuer of the last certificate `openssl s_client -showcerts` prints",
            )
        }),
    },
    Pattern {
        name: "tls.hostname",
        on: exception(
            VERIFY_ERRORS,
            verify_failed!(
                r"(?:Hostname|IP address) mismatch, certificate is not valid for '([^']+)'\."
            ),
            &[],
        ),
        when: None,
        what: "The provider's certificate does not cover the name RomM uses",
        cause: "RomM reaches the provider by a name (or address) its certificate does not list.",
        check: id::DISCOVERY_FETCH,
        fix: Fix::Made(|s| tls::name_mismatch_fix("", &tls::san_entry(s.capture(1)))),
    },
    Pattern {
        name: "tls.expired",
        on: exception(
            VERIFY_ERRORS,
            verify_failed!(r"(certificate has expired|certificate is not yet valid)"),
            &[],
        ),
        when: None,
        what: "The provider's certificate is out of its validity dates",
        cause: "A certificate of the chain (or the CA in OIDC_TLS_CACERTFILE) has expired or is not valid yet, or the clock of RomM's host is wrong.",
        check: id::DISCOVERY_FETCH,
        fix: Fix::Text(tls::VALIDITY_FIX),
    },
    Pattern {
        name: "tls.strict",
        on: exception(VERIFY_ERRORS, verify_failed!(r"(.+)"), &[]),
        when: Some(|s| crate::tls::strict_fix(s.capture(1)).is_some()),
        what: "RomM's Python refuses the provider's certificate chain (strict RFC 5280)",
        cause: "Python 3.13 verifies with VERIFY_X509_STRICT: a certificate of the chain lacks an extension RFC 5280 requires (browsers and most tools accept it).",
        check: id::DISCOVERY_FETCH,
        fix: Fix::Made(|s| {
            tls::reissue_fix(crate::tls::strict_fix(s.capture(1)).unwrap_or_default())
        }),
    },
    Pattern {
        name: "tls.purpose",
        on: exception(
            VERIFY_ERRORS,
            verify_failed!(r"(unsupported certificate purpose)"),
            &[],
        ),
        when: None,
        what: "The provider's certificate is not for TLS servers",
        cause: "Its extendedKeyUsage or keyUsage does not allow a TLS server.",
        check: id::DISCOVERY_FETCH,
        fix: Fix::Text(tls::PURPOSE_FIX),
    },
    Pattern {
        name: "tls.refused",
        on: exception(VERIFY_ERRORS, VERIFY_ANY, &[]),
        when: None,
        what: "RomM refuses the provider's certificate",
        cause: "OpenSSL's reason is in the exception line.",
        check: id::DISCOVERY_FETCH,
        fix: Fix::Text(tls::OTHER_CERT_FIX),
    },
    Pattern {
        name: "tls.ca-file-missing",
        on: exception(
            &["FileNotFoundError"],
            r"^\[Errno 2\] No such file or directory.*$",
            &[],
        ),
        when: Some(|s| s.loads_ca_file()),
        what: "OIDC_TLS_CACERTFILE does not exist in RomM's container",
        cause: "httpx opens the CA file whenever authlib makes a client, and the path names no file inside RomM's container (Python does not say which path).",
        check: id::TLS_CA_FILE,
        fix: Fix::Text(tls::CA_FILE_MOUNT_FIX),
    },
    Pattern {
        name: "tls.ca-file-unreadable",
        on: exception(&["ssl.SSLError", "IsADirectoryError"], ".*", &[]),
        when: Some(|s| s.loads_ca_file()),
        what: "OIDC_TLS_CACERTFILE is not a PEM file RomM can load",
        cause: "The file is DER (.crt/.cer), PKCS#7 (.p7b), empty, or holds no certificate.",
        check: id::TLS_CA_FILE,
        fix: Fix::Text(tls::PEM_FILE_FIX),
    },
    // The callback.
    Pattern {
        name: "callback.state",
        on: exception(
            &["authlib.integrations.base_client.errors.MismatchingStateError"],
            r"^mismatching_state: .*$",
            &[],
        ),
        when: None,
        what: "RomM lost the login state: the session cookie did not come back",
        cause: "The browser did not send RomM's session cookie with the callback: the login started on another scheme, host or port than OIDC_REDIRECT_URI (127.0.0.1 vs localhost, an IP vs a name, http vs https), ROMM_SESSION_SECURE_COOKIE=true over plain http, or a second login tab.",
        check: id::CONFIG_SESSION_COOKIE,
        fix: Fix::Made(|_| {
            config::origin_unproven_fix("the origin (scheme, host and port) of OIDC_REDIRECT_URI")
        }),
    },
    Pattern {
        name: "callback.provider-error",
        on: exception(
            &[OAUTH_ERROR],
            r"^([^:]*)(?::\s*(.*))?$",
            &[Stage::Callback],
        ),
        when: None,
        what: "The provider sent the login back with an error",
        cause: "The provider refused the authorization request and redirected to RomM's callback with ?error=…; its words are in the exception line.",
        check: id::LOGIN_CALLBACK,
        fix: Fix::Made(|s| {
            let said = s.capture(0);
            login::provider_error_fix(s.capture(1), said, &s.flavor(), "OIDC_REDIRECT_URI's URL")
        }),
    },
    // The token endpoint.
    Pattern {
        name: "token.invalid-client",
        on: exception(
            &[OAUTH_ERROR],
            r"^(invalid_client|Invalid client secret|Client not found|Client id or secret not provided)(?::\s*(.*))?$",
            &[Stage::Token],
        ),
        when: None,
        what: "The token endpoint refused RomM's client id or secret",
        cause: "RomM authenticates with OIDC_CLIENT_ID and OIDC_CLIENT_SECRET (HTTP Basic, client_secret_basic), and the provider does not accept them: a wrong or rotated secret, another client's id, or a client set up for another authentication method. (Pocket ID 2.9 and older say \"Invalid client secret\" or \"Client not found\".)",
        check: id::LOGIN_TOKEN,
        fix: Fix::Made(token_fix),
    },
    Pattern {
        name: "token.invalid-grant",
        on: exception(
            &[OAUTH_ERROR],
            r"^(invalid_grant|Invalid authorization code)(?::\s*(.*))?$",
            &[Stage::Token],
        ),
        when: None,
        what: "The token endpoint refused the authorization code",
        cause: "The code expired or was already used (a slow or repeated callback), or OIDC_REDIRECT_URI differs from the redirect_uri of the authorization request (the provider's message then says so).",
        check: id::LOGIN_TOKEN,
        fix: Fix::Made(token_fix),
    },
    Pattern {
        name: "token.refused",
        on: exception(&[OAUTH_ERROR], r"^([^:]*)(?::\s*(.*))?$", &[Stage::Token]),
        when: None,
        what: "The token endpoint refused RomM's code exchange",
        cause: "The provider answered RomM's token request with an OAuth error; its words are in the exception line.",
        check: id::LOGIN_TOKEN,
        fix: Fix::Made(token_fix),
    },
    Pattern {
        name: "token.status",
        on: exception(&[STATUS_ERROR], ".*", &[Stage::Token]),
        when: None,
        what: "The token endpoint answers a server error",
        cause: "The token endpoint (or the proxy in front of it) fails as RomM reaches it; only a 5xx raises here, a 4xx is read as an OAuth error.",
        check: id::LOGIN_TOKEN,
        fix: Fix::Made(token_fix),
    },
    Pattern {
        name: "token.not-json",
        on: exception(&[JSON_ERROR], ".*", &[Stage::Token]),
        when: None,
        what: "The token endpoint's answer is not JSON",
        cause: "Something in front of the token endpoint (a proxy, a WAF, a login portal) answered RomM with a page instead of the provider's JSON.",
        check: id::LOGIN_TOKEN,
        // login.token shows the page and says to read it; the log has no page.
        fix: Fix::Text(
            "Let RomM's container reach the token endpoint (discovery's token_endpoint) without the proxy, firewall or login portal in front of it answering for the provider.",
        ),
    },
    // The key set.
    Pattern {
        name: "jwks.fetch",
        on: exception(&[STATUS_ERROR, JSON_ERROR], ".*", &[Stage::Jwks]),
        when: None,
        what: "RomM cannot read the provider's key set",
        cause: "jwks_uri answers an HTTP error or a body that is not JSON from RomM's side.",
        check: id::LOGIN_ID_TOKEN,
        fix: Fix::Made(|s| {
            login::rejection_fix(
                &Rejection::KeySetUnavailable {
                    exception: String::new(),
                    why: String::new(),
                },
                &s.flavor(),
            )
        }),
    },
    // The ID token, by the exception oidc::id_token knows authlib raises.
    id_token(
        "id-token.iss",
        "The ID token's iss is not discovery's issuer",
        "RomM compares iss with the issuer of the discovery document (not with OIDC_SERVER_APPLICATION_URL): a trailing slash, or a provider whose public URL changed.",
        |_| Rejection::Issuer {
            expected: String::new(),
            found: String::new(),
        },
    ),
    id_token(
        "id-token.at-hash",
        "The ID token's at_hash does not match its access token",
        "authlib hashes at_hash by the token's algorithm: SHA-512 for EdDSA, where Pocket ID 2.10+ uses SHA-256; otherwise the provider computes it wrongly.",
        |pocket_id| {
            if pocket_id {
                Rejection::EdDsaAtHash
            } else {
                Rejection::AtHash { alg: String::new() }
            }
        },
    ),
    id_token(
        "id-token.nonce",
        "The ID token does not carry the login's nonce",
        "The provider did not copy the nonce of RomM's authorization request into the ID token.",
        |_| Rejection::Nonce {
            found: String::new(),
        },
    ),
    id_token(
        "id-token.nonce",
        "The ID token does not carry the login's nonce",
        "The provider did not copy the nonce of RomM's authorization request into the ID token.",
        |_| Rejection::NonceMissing,
    ),
    id_token(
        "id-token.azp",
        "The ID token has another audience and no azp for RomM",
        "aud lists more than RomM's client id, and azp is absent.",
        |_| Rejection::AzpMissing {
            aud: String::new(),
            client_id: String::new(),
        },
    ),
    id_token(
        "id-token.azp",
        "The ID token was issued to another client (azp)",
        "azp is not OIDC_CLIENT_ID.",
        |_| Rejection::Azp {
            found: String::new(),
            client_id: String::new(),
        },
    ),
    id_token(
        "id-token.time",
        "The ID token has expired",
        "Its exp is more than authlib's 120 s of leeway in the past by RomM's clock: the clocks of RomM's and the provider's hosts differ, or tokens live very briefly.",
        |_| Rejection::Expired { exp: 0.0, now: 0 },
    ),
    id_token(
        "id-token.time",
        "The ID token is not valid yet (nbf)",
        "Its nbf is more than 120 s ahead of RomM's clock: the clocks of RomM's and the provider's hosts differ.",
        |_| Rejection::NotYetValid { nbf: 0.0, now: 0 },
    ),
    id_token(
        "id-token.time",
        "The ID token was issued in the future (iat)",
        "Its iat is more than 120 s ahead of RomM's clock: the clocks of RomM's and the provider's hosts differ.",
        |_| Rejection::IssuedInFuture { iat: 0.0, now: 0 },
    ),
    id_token(
        "id-token.signature",
        "The ID token's signature does not verify",
        "The key with the token's kid in the provider's key set does not verify it: a key rotated in place, a stale key set RomM keeps, or another instance's keys.",
        |_| Rejection::BadSignature { why: String::new() },
    ),
    id_token(
        "id-token.alg",
        "The ID token's algorithm is not allowed",
        "The token's alg is not in discovery's id_token_signing_alg_values_supported (RS256 when that is absent), or is HS256 or none; an encrypted ID token fails the same way.",
        |_| Rejection::AlgNotAllowed {
            alg: String::new(),
            allowed: Vec::new(),
        },
    ),
    id_token(
        "id-token.alg",
        "The ID token names no algorithm",
        "Its header has no alg.",
        |_| Rejection::AlgMissing,
    ),
    id_token(
        "id-token.kid",
        "The ID token's kid is not in the provider's key set",
        "Even after fetching the key set again, no key has the token's kid: a rotated key, or the jwks_uri of another instance.",
        |_| Rejection::KeyNotFound {
            kid: Some(String::new()),
            keys: 0,
        },
    ),
    Pattern {
        name: "id-token.missing-claim",
        on: exception(
            &["authlib.jose.errors.MissingClaimError"],
            r"^missing_claim: Missing '(iss|sub|aud|exp|iat)' claim$",
            &[],
        ),
        when: None,
        what: "The ID token lacks a claim OIDC requires",
        cause: "authlib requires iss, sub, aud, exp and iat.",
        check: id::LOGIN_ID_TOKEN,
        fix: Fix::Made(|s| login::rejection_fix(&Rejection::MissingClaim("sub"), &s.flavor())),
    },
    Pattern {
        name: "id-token.decode",
        on: exception(&["authlib.jose.errors.DecodeError"], ".*", &[]),
        when: None,
        what: "The ID token cannot be decoded",
        cause: "It is not a signed JWT RomM can read: malformed, or encrypted.",
        check: id::LOGIN_ID_TOKEN,
        fix: Fix::Made(|s| login::rejection_fix(&Rejection::Segments { parts: 0 }, &s.flavor())),
    },
    // RomM's own checks of the token, then of its users (each logs one line).
    logged(
        "romm.userinfo-missing",
        r"^Userinfo is missing from token\.$",
        "The token response has no ID token (RomM: \"Userinfo is missing from token.\", 400)",
        "RomM reads the user from the ID token only, and the provider returned none.",
        id::LOGIN_TOKEN,
        Fix::Text(login::NO_ID_TOKEN_FIX),
    ),
    logged(
        "romm.email-missing",
        r"^Email is missing from token\.$",
        "The ID token has no email (RomM: \"Email is missing from token.\", 400)",
        "RomM finds users by email and reads it from the ID token only, not from userinfo.",
        id::LOGIN_EMAIL,
        Fix::Made(|s| login::email_missing_fix(&s.flavor()).to_string()),
    ),
    logged(
        "romm.email-unverified",
        r"^Email is not verified\.$",
        "The ID token's email is not verified (RomM: \"Email is not verified.\", 400)",
        "email_verified is false, or anything but the boolean true while the provider lists email_verified in claims_supported.",
        id::LOGIN_EMAIL_VERIFIED,
        Fix::Made(|_| login::verified_fix("", &Flavor::Other)),
    ),
    logged(
        "romm.username-missing",
        r"^'([^']*)' attribute is missing from token\.$",
        "The ID token lacks the username claim (RomM: \"'…' attribute is missing from token.\", 400)",
        "The claim OIDC_USERNAME_ATTRIBUTE names (preferred_username unless set) is not in the ID token.",
        id::LOGIN_USERNAME,
        Fix::Made(|s| login::username_missing_fix(s.capture(1))),
    ),
    logged(
        "romm.no-role",
        r"^User has not been granted any roles for this application\.$",
        "The user has no role RomM maps (RomM: \"User has not been granted any roles for this application.\", 403)",
        "The OIDC_CLAIM_ROLES claim is in the token, but matches neither OIDC_ROLE_ADMIN nor OIDC_ROLE_EDITOR/OIDC_ROLE_VIEWER.",
        id::LOGIN_ROLES,
        Fix::Text(login::NO_ROLE_FIX),
    ),
    logged(
        "romm.registration-disabled",
        r"^User with email '([^']*)' not found and OIDC registration is disabled$",
        "No RomM user has the email, and registration is off (RomM: 403)",
        "RomM matches the token's email to its users (case-insensitively); none has it and OIDC_ALLOW_REGISTRATION is false.",
        id::ROMM_ACCOUNT,
        Fix::Made(|s| romm_users::registration_off_fix(s.capture(1))),
    ),
    Pattern {
        name: "romm.duplicate-username",
        on: exception(
            &["sqlalchemy.exc.IntegrityError"],
            r#"^\((?:mariadb\.IntegrityError|mysql\.connector\.errors\.IntegrityError)\) (?:\d+ \(\w+\): )?Duplicate entry '([^']*)' for key '(?:users\.)?ix_users_username'$|^\(psycopg\.errors\.UniqueViolation\) duplicate key value violates unique constraint "ix_users_username"$"#,
            &[Stage::Account],
        ),
        when: None,
        what: "RomM cannot create the user: a RomM user already has that username",
        cause: "No RomM user has the token's email, so RomM creates one named by the username claim, and another RomM user (e.g. the setup wizard's admin) has that name; RomM's usernames are unique.",
        check: id::ROMM_ACCOUNT,
        fix: Fix::Made(|s| {
            let username = match s.capture(1) {
                "" => s
                    .more
                    .iter()
                    .find_map(|l| {
                        l.strip_prefix("DETAIL:  Key (username)=(")
                            .and_then(|r| r.strip_suffix(") already exists."))
                    })
                    .unwrap_or("the existing user"),
                name => name,
            };
            let email = s.new_user.as_deref().unwrap_or("the login's email");
            romm_users::username_taken_fix(email, username)
        }),
    },
    // Answers only the access log shows (INFO or DEBUG; nothing at WARNING).
    Pattern {
        name: "romm.user-disabled",
        on: On::Access {
            path: "/api/oauth/openid",
            status: 401,
            bytes: None,
            stage: Stage::Account,
        },
        when: None,
        what: "The RomM user is disabled (RomM: 401 \"Disabled user\")",
        cause: "RomM matched the token's email to a RomM user that is disabled; it logs nothing but the 401.",
        check: id::ROMM_ACCOUNT,
        fix: Fix::Made(|_| romm_users::disabled_fix("the RomM user with that email")),
    },
    Pattern {
        name: "romm.oidc-disabled",
        on: On::Access {
            path: "/api/login/openid",
            status: 500,
            bytes: Some(27),
            stage: Stage::LoginRoute,
        },
        when: None,
        what: "OIDC is switched off in the running RomM (RomM: 500 \"OAuth disabled\")",
        cause: "The running RomM process has OIDC_ENABLED off (RomM reads its env only at start); it logs nothing but the 500.",
        check: id::ROMM_LOGIN_REDIRECT,
        fix: Fix::Made(|_| romm::oidc_disabled_fix()),
    },
    Pattern {
        name: "romm.logout-metadata",
        on: On::Logged {
            module: "auth",
            level: "WARNING",
            message: r"^Failed to load OIDC server metadata for RP-Initiated Logout$",
        },
        when: None,
        what: "RomM could not load discovery at a logout",
        cause: "RP-initiated logout loads the discovery document; it failed, so the user stays signed in at the provider. A login fails the same way until discovery loads.",
        check: id::DISCOVERY_FETCH,
        fix: Fix::Text(discovery::STATUS_FIX),
    },
];

/// `login.token`'s fix for the provider's refusal (error and description
/// from the `OAuthError`, if any; the status from RomM's request line).
fn token_fix(s: &Seen) -> String {
    let said = format!("{} {}", s.capture(1), s.capture(2));
    login::token_refusal(s.capture(1), said.trim(), s.status.unwrap_or(400))
        .1
        .to_string()
}

/// Any TLS verify failure (the last TLS row).
const VERIFY_ANY: &str = verify_failed!(r"(.+)");

/// A row for an ID-token rejection: `login.id-token`'s fix for it.
const fn id_token(
    name: &'static str,
    what: &'static str,
    cause: &'static str,
    rejection: fn(bool) -> Rejection,
) -> Pattern {
    Pattern {
        name,
        on: On::Rejection(rejection),
        when: None,
        what,
        cause,
        check: id::LOGIN_ID_TOKEN,
        fix: Fix::OfRejection,
    }
}

/// A row for an ERROR line of RomM's account checks.
const fn logged(
    name: &'static str,
    message: &'static str,
    what: &'static str,
    cause: &'static str,
    check: &'static str,
    fix: Fix,
) -> Pattern {
    Pattern {
        name,
        on: On::Logged {
            module: "base_handler",
            level: "ERROR",
            message,
        },
        when: None,
        what,
        cause,
        check,
        fix,
    }
}

/// Each row's message regex, compiled once (`None` for rows without one).
static REGEXES: LazyLock<Vec<Option<Regex>>> = LazyLock::new(|| {
    PATTERNS
        .iter()
        .map(|p| match &p.on {
            On::Exception { message, .. } | On::Logged { message, .. } => {
                Some(Regex::new(message).expect("a pattern's regex"))
            }
            On::Rejection(_) | On::Access { .. } => None,
        })
        .collect()
});

/// An exception line split into class and message (empty for a bare
/// class, e.g. `httpx.ConnectTimeout`).
pub fn split_exception(line: &str) -> (&str, &str) {
    match line.split_once(": ") {
        Some((class, message)) if is_class(class) => (class, message),
        _ if is_class(line.trim_end_matches(':')) => (line.trim_end_matches(':'), ""),
        _ => (line, ""),
    }
}

fn is_class(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|part| {
            part.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// The first row for an exception raised at `stage`, with what it
/// captured.
pub fn match_exception(exception: &str, stage: Stage, seen: &mut Seen) -> Option<&'static Pattern> {
    let (class, message) = split_exception(exception);
    let short = format!(
        "{}{}{message}",
        class.rsplit('.').next().unwrap_or(class),
        if message.is_empty() { "" } else { ": " }
    );
    PATTERNS.iter().zip(REGEXES.iter()).find_map(|(p, re)| {
        let hit = match (&p.on, re) {
            (
                On::Exception {
                    classes, stages, ..
                },
                Some(re),
            ) => {
                classes.contains(&class)
                    && (stages.is_empty() || stages.contains(&stage))
                    && captured(re, message, seen)
            }
            (On::Rejection(make), _) => {
                (stage == Stage::IdToken || class.starts_with("authlib.jose.errors."))
                    && make(seen.pocket_id).exception() == short
            }
            _ => false,
        };
        (hit && p.when.is_none_or(|when| when(seen))).then_some(p)
    })
}

/// The row for a line RomM's code logged.
pub fn match_logged(
    module: &str,
    level: &str,
    message: &str,
    seen: &mut Seen,
) -> Option<&'static Pattern> {
    PATTERNS
        .iter()
        .zip(REGEXES.iter())
        .find_map(|(p, re)| match (&p.on, re) {
            (
                On::Logged {
                    module: m,
                    level: l,
                    ..
                },
                Some(re),
            ) if *m == module && *l == level && captured(re, message, seen) => Some(p),
            _ => None,
        })
}

/// The row for an access-log answer (`bytes`: the body size, when the
/// line shows it).
pub fn match_access(path: &str, status: u16, bytes: Option<u64>) -> Option<&'static Pattern> {
    PATTERNS.iter().find(|p| match p.on {
        On::Access {
            path: p_path,
            status: s,
            bytes: b,
            ..
        } => p_path == path && s == status && (b.is_none() || b == bytes),
        _ => false,
    })
}

/// Whether `re` matches `text` whole; its groups go to `seen`.
fn captured(re: &Regex, text: &str, seen: &mut Seen) -> bool {
    match re.captures(text) {
        Some(c) => {
            seen.captures = c
                .iter()
                .map(|m| m.map_or(String::new(), |m| m.as_str().to_string()))
                .collect();
            true
        }
        None => false,
    }
}
