//! Each row of the pattern table both ways (recognised from a short excerpt
//! in RomM's log format, and a near miss that is not), and the judgement
//! around them: counts, times, later logins, replays, access lines, secrets.
//!
//! The excerpts are written from RomM 5.2's formatter and the frames authlib
//! 1.6.12 and httpx 0.28.1 raise through: header lines, frames without their
//! source lines, the exception line.

use super::*;
use crate::checks;

const DAY: &str = "2026-12-05";

/// A line of RomM's logger, padded as its formatter pads each level.
fn romm(level: &str, module: &str, time: &str, message: &str) -> String {
    let pad = match level {
        "WARNING" => "  ",
        "CRITICAL" => " ",
        _ => "\t  ",
    };
    format!("{level}:{pad}[RomM][{module}][{DAY} {time}] {message}\n")
}

/// nginx's access line for `GET uri`.
fn nginx(time: &str, uri: &str, status: u16, bytes: u64) -> String {
    format!(
        "INFO:     [RomM][nginx][{DAY} {time}] 172.18.0.1 | 192.168.1.23 | GET {uri} {status} | {bytes} | Firefox Linux | 0.120\n"
    )
}

const SITE: &str = "/src/.venv/lib/python3.13/site-packages";

/// The frames down to a stage, each (file under site-packages or RomM's
/// /backend, function).
type Frames = &'static [(&'static str, &'static str)];

const LOGIN: Frames = &[("/backend/endpoints/auth.py", "login_via_openid")];
const CALLBACK: Frames = &[("/backend/endpoints/auth.py", "auth_openid")];
const DISCOVERY: Frames = &[
    (
        "authlib/integrations/starlette_client/apps.py",
        "authorize_redirect",
    ),
    (
        "authlib/integrations/base_client/async_app.py",
        "create_authorization_url",
    ),
    (
        "authlib/integrations/base_client/async_app.py",
        "load_server_metadata",
    ),
    ("httpx/_client.py", "send"),
    ("httpx/_transports/default.py", "map_httpcore_exceptions"),
];
const CA_FILE: Frames = &[
    (
        "authlib/integrations/base_client/async_app.py",
        "load_server_metadata",
    ),
    (
        "authlib/integrations/httpx_client/oauth2_client.py",
        "__init__",
    ),
    ("httpx/_config.py", "create_ssl_context"),
    ("/usr/local/lib/python3.13/ssl.py", "create_default_context"),
];
const AUTHORIZE: Frames = &[
    (
        "authlib/integrations/starlette_client/apps.py",
        "authorize_redirect",
    ),
    (
        "authlib/integrations/base_client/async_app.py",
        "create_authorization_url",
    ),
];
const REDIRECT_BACK: Frames = &[(
    "authlib/integrations/starlette_client/apps.py",
    "authorize_access_token",
)];
const STATE: Frames = &[
    (
        "authlib/integrations/starlette_client/apps.py",
        "authorize_access_token",
    ),
    (
        "authlib/integrations/base_client/sync_app.py",
        "_format_state_params",
    ),
];
const TOKEN: Frames = &[
    (
        "authlib/integrations/starlette_client/apps.py",
        "authorize_access_token",
    ),
    (
        "authlib/integrations/base_client/async_app.py",
        "fetch_access_token",
    ),
    (
        "authlib/integrations/httpx_client/oauth2_client.py",
        "_fetch_token",
    ),
    ("authlib/oauth2/client.py", "parse_response_token"),
];
const JWKS: Frames = &[
    (
        "authlib/integrations/starlette_client/apps.py",
        "authorize_access_token",
    ),
    (
        "authlib/integrations/base_client/async_openid.py",
        "parse_id_token",
    ),
    (
        "authlib/integrations/base_client/async_openid.py",
        "fetch_jwk_set",
    ),
    ("httpx/_models.py", "raise_for_status"),
];
const ID_TOKEN: Frames = &[
    (
        "authlib/integrations/starlette_client/apps.py",
        "authorize_access_token",
    ),
    (
        "authlib/integrations/base_client/async_openid.py",
        "parse_id_token",
    ),
    ("authlib/jose/rfc7519/claims.py", "validate"),
];
const ACCOUNT: Frames = &[
    (
        "/backend/handler/auth/base_handler.py",
        "get_current_active_user_from_openid_token",
    ),
    ("/backend/decorators/database.py", "wrapper"),
    ("sqlalchemy/orm/session.py", "commit"),
];
/// A route that is not RomM's login: the same exceptions are noise there.
const COVER: Frames = &[
    ("/backend/endpoints/roms/__init__.py", "get_rom_cover"),
    ("httpx/_client.py", "get"),
    ("httpx/_transports/default.py", "map_httpcore_exceptions"),
];

/// uvicorn's traceback of a failed request: the ASGI header, the frames of
/// `route` then `stage`, the exception line and the lines after it.
fn traceback(time: &str, route: Frames, stage: Frames, exception: &[&str]) -> String {
    let mut out = romm("ERROR", "httptools_impl", time, parse::ASGI_HEAD);
    out.push_str("Traceback (most recent call last):\n");
    out.push_str(&format!(
        "  File \"{SITE}/uvicorn/protocols/http/httptools_impl.py\", line 409, in run_asgi\n"
    ));
    for (file, function) in route.iter().chain(stage) {
        let path = if file.starts_with('/') {
            file.to_string()
        } else {
            format!("{SITE}/{file}")
        };
        out.push_str(&format!("  File \"{path}\", line 1, in {function}\n"));
        // A source line and its carets, which are never read.
        out.push_str("    await something(verify=***\n    ^^^^^^^^^^^^^^^\n");
    }
    for line in exception {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A login's failure as RomM logs it: the traceback, then nginx's 500.
fn failed(route: Frames, stage: Frames, exception: &[&str]) -> String {
    let uri = if route == LOGIN {
        "/api/login/openid"
    } else if route == CALLBACK {
        "/api/oauth/openid?code=c0de4u2k3y9z&state=st4te8x2q"
    } else {
        "/api/roms/42/cover"
    };
    traceback("20:21:49", route, stage, exception) + &nginx("20:21:49", uri, 500, 21)
}

fn patterns_of(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| match &f.data {
            Some(d) => d["pattern"].as_str().unwrap_or("?").to_string(),
            None => format!("{:?}", f.status).to_lowercase(),
        })
        .collect()
}

fn judged(log: &str) -> Vec<Finding> {
    judge(log.as_bytes(), "the excerpt")
}

/// One row's excerpt and a near miss (with what the near miss gives).
struct Case {
    row: &'static str,
    log: String,
    near: String,
    near_gives: &'static str,
}

fn case(row: &'static str, log: String, near: String, near_gives: &'static str) -> Case {
    Case {
        row,
        log,
        near,
        near_gives,
    }
}

fn tls(reason: &str) -> String {
    format!(
        "httpx.ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {reason} (_ssl.c:1020)"
    )
}

const OAUTH: &str = "authlib.integrations.base_client.errors.OAuthError";
const JOSE: &str = "authlib.jose.errors";

/// One excerpt and near miss per pattern row, grouped by what the row is about.
fn cases() -> Vec<Case> {
    [
        discovery_cases(),
        endpoint_and_key_set_cases(),
        network_cases(),
        tls_cases(),
        more_tls_cases(),
        callback_cases(),
        token_cases(),
        id_token_cases(),
        more_id_token_cases(),
        romm_cases(),
        more_romm_cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A new account whose username or email collides on `key`.
fn duplicate(key: &str) -> String {
    romm(
        "INFO",
        "base_handler",
        "20:21:48",
        "User with email 'alice@example.com' not found, creating new user",
    ) + &failed(
        CALLBACK,
        ACCOUNT,
        &[
            &format!(
                "sqlalchemy.exc.IntegrityError: (mariadb.IntegrityError) Duplicate entry 'alice' for key '{key}'"
            ),
            "[SQL: INSERT INTO users (username, email) VALUES (?, ?)]",
            "[parameters: ('alice', 'alice@example.com')]",
        ],
    )
}

fn discovery_cases() -> Vec<Case> {
    vec![
        case(
            "discovery.not-json",
            failed(
                LOGIN,
                DISCOVERY,
                &["json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)"],
            ),
            failed(
                COVER,
                &[],
                &["json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)"],
            ),
            "pass",
        ),
        case(
            "discovery.redirect",
            failed(
                LOGIN,
                DISCOVERY,
                &[
                    "httpx.HTTPStatusError: Redirect response '301 Moved Permanently' for url 'http://id.example.com/.well-known/openid-configuration'",
                    "Redirect location: 'https://id.example.com/.well-known/openid-configuration'",
                    "For more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/301",
                ],
            ),
            failed(
                CALLBACK,
                JWKS,
                &[
                    "httpx.HTTPStatusError: Redirect response '302 Found' for url 'http://id.example.com/jwks'",
                ],
            ),
            "jwks.fetch",
        ),
        case(
            "discovery.status",
            failed(
                LOGIN,
                DISCOVERY,
                &[
                    "httpx.HTTPStatusError: Client error '404 Not Found' for url 'https://id.example.com/authorize/.well-known/openid-configuration'",
                ],
            ),
            failed(
                CALLBACK,
                TOKEN,
                &[
                    "httpx.HTTPStatusError: Server error '502 Bad Gateway' for url 'https://id.example.com/api/oidc/token'",
                ],
            ),
            "token.status",
        ),
        case(
            "discovery.bad-url",
            failed(
                LOGIN,
                DISCOVERY,
                &[
                    "httpx.UnsupportedProtocol: Request URL is missing an 'http://' or 'https://' protocol.",
                ],
            ),
            failed(
                CALLBACK,
                TOKEN,
                &[
                    "httpx.UnsupportedProtocol: Request URL is missing an 'http://' or 'https://' protocol.",
                ],
            ),
            "endpoint.bad-url",
        ),
        case(
            "discovery.incomplete",
            failed(
                LOGIN,
                AUTHORIZE,
                &["RuntimeError: Missing \"authorize_url\" value"],
            ),
            failed(
                LOGIN,
                AUTHORIZE,
                &["RuntimeError: Missing \"token_url\" value"],
            ),
            "unrecognised",
        ),
    ]
}

fn endpoint_and_key_set_cases() -> Vec<Case> {
    vec![
        case(
            "endpoint.bad-url",
            failed(
                CALLBACK,
                JWKS,
                &["httpx.UnsupportedProtocol: Request URL has an unsupported protocol 'ftp://'."],
            ),
            failed(
                COVER,
                &[],
                &["httpx.UnsupportedProtocol: Request URL has an unsupported protocol 'ftp://'."],
            ),
            "pass",
        ),
        case(
            "jwks.no-uri",
            failed(
                CALLBACK,
                JWKS,
                &["RuntimeError: Missing \"jwks_uri\" in metadata"],
            ),
            failed(
                CALLBACK,
                JWKS,
                &["RuntimeError: Missing \"jwks\" in metadata"],
            ),
            "unrecognised",
        ),
        case(
            "jwks.fetch",
            failed(
                CALLBACK,
                JWKS,
                &[
                    "httpx.HTTPStatusError: Client error '404 Not Found' for url 'https://id.example.com/.well-known/jwks.json'",
                ],
            ),
            failed(
                CALLBACK,
                ID_TOKEN,
                &[
                    "httpx.HTTPStatusError: Client error '404 Not Found' for url 'https://id.example.com/.well-known/jwks.json'",
                ],
            ),
            "unrecognised",
        ),
    ]
}

fn network_cases() -> Vec<Case> {
    vec![
        case(
            "net.dns",
            failed(
                LOGIN,
                DISCOVERY,
                &["httpx.ConnectError: [Errno -2] Name does not resolve"],
            ),
            failed(
                COVER,
                &[],
                &["httpx.ConnectError: [Errno -2] Name or service not known"],
            ),
            "pass",
        ),
        case(
            "net.connect",
            failed(
                LOGIN,
                DISCOVERY,
                &["httpx.ConnectError: All connection attempts failed"],
            ),
            failed(
                LOGIN,
                DISCOVERY,
                &["httpx.ConnectError: Connection attempts failed"],
            ),
            "unrecognised",
        ),
        case(
            "net.timeout",
            failed(LOGIN, DISCOVERY, &["httpx.ConnectTimeout"]),
            failed(LOGIN, DISCOVERY, &["httpx.TimeoutException"]),
            "unrecognised",
        ),
        case(
            "net.plain-http",
            failed(
                LOGIN,
                DISCOVERY,
                &[
                    "httpx.ConnectError: [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1020)",
                ],
            ),
            failed(
                LOGIN,
                DISCOVERY,
                &["httpx.ConnectError: [SSL: WRONG_VERSION_NUMBER] wrong version number"],
            ),
            "unrecognised",
        ),
        case(
            "net.protocol",
            failed(LOGIN, DISCOVERY, &["httpx.ReadError"]),
            failed(COVER, &[], &["httpx.ReadError"]),
            "pass",
        ),
    ]
}

fn tls_cases() -> Vec<Case> {
    vec![
        case(
            "tls.untrusted",
            failed(
                LOGIN,
                DISCOVERY,
                &[&tls("unable to get local issuer certificate")],
            ),
            failed(LOGIN, DISCOVERY, &[&tls("unable to get certificate CRL")]),
            "tls.refused",
        ),
        case(
            "tls.hostname",
            failed(
                LOGIN,
                DISCOVERY,
                &[&tls(
                    "Hostname mismatch, certificate is not valid for 'id.example.com'.",
                )],
            ),
            failed(LOGIN, DISCOVERY, &[&tls("Hostname mismatch")]),
            "tls.refused",
        ),
        case(
            "tls.expired",
            failed(LOGIN, DISCOVERY, &[&tls("certificate has expired")]),
            failed(LOGIN, DISCOVERY, &[&tls("certificate revoked")]),
            "tls.refused",
        ),
        case(
            "tls.strict",
            failed(
                LOGIN,
                DISCOVERY,
                &[&tls("Missing Authority Key Identifier")],
            ),
            failed(
                LOGIN,
                DISCOVERY,
                &[&tls("Missing Authority Key Identifiers")],
            ),
            "tls.refused",
        ),
    ]
}

fn more_tls_cases() -> Vec<Case> {
    vec![
        case(
            "tls.purpose",
            failed(LOGIN, DISCOVERY, &[&tls("unsupported certificate purpose")]),
            failed(LOGIN, DISCOVERY, &[&tls("invalid certificate purpose")]),
            "tls.refused",
        ),
        case(
            "tls.refused",
            failed(LOGIN, DISCOVERY, &[&tls("certificate signature failure")]),
            failed(COVER, &[], &[&tls("certificate signature failure")]),
            "pass",
        ),
        case(
            "tls.ca-file-missing",
            failed(
                LOGIN,
                CA_FILE,
                &["FileNotFoundError: [Errno 2] No such file or directory"],
            ),
            failed(
                LOGIN,
                DISCOVERY,
                &["FileNotFoundError: [Errno 2] No such file or directory"],
            ),
            "unrecognised",
        ),
        case(
            "tls.ca-file-unreadable",
            failed(
                LOGIN,
                CA_FILE,
                &[
                    "ssl.SSLError: [X509: NO_CERTIFICATE_OR_CRL_FOUND] no certificate or crl found (_ssl.c:4168)",
                ],
            ),
            failed(
                LOGIN,
                DISCOVERY,
                &[
                    "ssl.SSLError: [X509: NO_CERTIFICATE_OR_CRL_FOUND] no certificate or crl found (_ssl.c:4168)",
                ],
            ),
            "unrecognised",
        ),
    ]
}

fn callback_cases() -> Vec<Case> {
    vec![
        case(
            "callback.state",
            failed(
                CALLBACK,
                STATE,
                &[
                    "authlib.integrations.base_client.errors.MismatchingStateError: mismatching_state: CSRF Warning! State not equal in request and response.",
                ],
            ),
            nginx(
                "20:21:40",
                "/api/oauth/openid?code=c0de4u2k3y9z&state=st4te8x2q",
                307,
                0,
            ) + &failed(
                CALLBACK,
                STATE,
                &[
                    "authlib.integrations.base_client.errors.MismatchingStateError: mismatching_state: CSRF Warning! State not equal in request and response.",
                ],
            ),
            "callback.state-replay",
        ),
        case(
            "callback.provider-error",
            failed(
                CALLBACK,
                REDIRECT_BACK,
                &[&format!(
                    "{OAUTH}: access_denied: The resource owner or authorization server denied the request."
                )],
            ),
            failed(
                CALLBACK,
                TOKEN,
                &[&format!(
                    "{OAUTH}: access_denied: The resource owner or authorization server denied the request."
                )],
            ),
            "token.refused",
        ),
    ]
}

fn token_cases() -> Vec<Case> {
    vec![
        case(
            "token.invalid-client",
            failed(
                CALLBACK,
                TOKEN,
                &[&format!(
                    "{OAUTH}: invalid_client: Client authentication failed."
                )],
            ),
            failed(CALLBACK, TOKEN, &[&format!("{OAUTH}: invalid_clients: x")]),
            "token.refused",
        ),
        case(
            "token.invalid-grant",
            failed(
                CALLBACK,
                TOKEN,
                &[&format!("{OAUTH}: Invalid authorization code: ")],
            ),
            failed(
                CALLBACK,
                TOKEN,
                &[&format!(
                    "{OAUTH}: invalid_request: The request is missing a parameter."
                )],
            ),
            "token.refused",
        ),
        case(
            "token.refused",
            failed(
                CALLBACK,
                TOKEN,
                &[&format!(
                    "{OAUTH}: unauthorized_client: The client is not allowed to use this grant."
                )],
            ),
            failed(
                CALLBACK,
                REDIRECT_BACK,
                &[&format!(
                    "{OAUTH}: unauthorized_client: The client is not allowed to use this grant."
                )],
            ),
            "callback.provider-error",
        ),
        case(
            "token.status",
            failed(
                CALLBACK,
                TOKEN,
                &[
                    "httpx.HTTPStatusError: Server error '502 Bad Gateway' for url 'https://id.example.com/api/oidc/token'",
                ],
            ),
            failed(
                LOGIN,
                DISCOVERY,
                &[
                    "httpx.HTTPStatusError: Server error '502 Bad Gateway' for url 'https://id.example.com/.well-known/openid-configuration'",
                ],
            ),
            "discovery.status",
        ),
        case(
            "token.not-json",
            failed(
                CALLBACK,
                TOKEN,
                &["json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)"],
            ),
            failed(
                CALLBACK,
                JWKS,
                &["json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)"],
            ),
            "jwks.fetch",
        ),
    ]
}

fn id_token_cases() -> Vec<Case> {
    vec![
        case(
            "id-token.iss",
            failed(
                CALLBACK,
                ID_TOKEN,
                &[&format!(
                    "{JOSE}.InvalidClaimError: invalid_claim: Invalid claim 'iss'"
                )],
            ),
            failed(
                CALLBACK,
                ID_TOKEN,
                &[&format!(
                    "{JOSE}.InvalidClaimError: invalid_claim: Invalid claim 'aud'"
                )],
            ),
            "unrecognised",
        ),
        case(
            "id-token.at-hash",
            failed(
                CALLBACK,
                ID_TOKEN,
                &[&format!(
                    "{JOSE}.InvalidClaimError: invalid_claim: Invalid claim 'at_hash'"
                )],
            ),
            failed(
                CALLBACK,
                ID_TOKEN,
                &[&format!(
                    "{JOSE}.InvalidClaimError: invalid_claim: Invalid claim 'c_hash'"
                )],
            ),
            "unrecognised",
        ),
        case(
            "id-token.nonce",
            failed(
                CALLBACK,
                ID_TOKEN,
                &[&format!(
                    "{JOSE}.MissingClaimError: missing_claim: Missing 'nonce' claim"
                )],
            ),
            failed(
                CALLBACK,
                ID_TOKEN,
                &[&format!(
                    "{JOSE}.MissingClaimError: missing_claim: Missing 'nonces' claim"
                )],
            ),
            "unrecognised",
        ),
        case(
            "id-token.azp",
            failed(
                CALLBACK,
                ID_TOKEN,
                &[&format!(
                    "{JOSE}.InvalidClaimError: invalid_claim: Invalid claim 'azp'"
                )],
            ),
            failed(
                CALLBACK,
                ID_TOKEN,
                &[&format!(
                    "{JOSE}.InvalidClaimError: invalid_claim: Invalid claim 'azps'"
                )],
            ),
            "unrecognised",
        ),
        case(
            "id-token.time",
            failed(
                CALLBACK,
                ID_TOKEN,
                &[&format!(
                    "{JOSE}.InvalidTokenError: invalid_token: The token is not valid as it was issued in the future"
                )],
            ),
            failed(
                CALLBACK,
                ID_TOKEN,
                &["authlib.integrations.base_client.errors.InvalidTokenError: token_invalid: "],
            ),
            "unrecognised",
        ),
    ]
}

fn more_id_token_cases() -> Vec<Case> {
    vec![
        case(
            "id-token.signature",
            failed(
                CALLBACK,
                ID_TOKEN,
                &[&format!("{JOSE}.BadSignatureError: bad_signature: ")],
            ),
            failed(
                CALLBACK,
                ID_TOKEN,
                &[&format!("{JOSE}.BadSignatureError: bad_signatures: ")],
            ),
            "unrecognised",
        ),
        case(
            "id-token.alg",
            failed(
                CALLBACK,
                ID_TOKEN,
                &[&format!(
                    "{JOSE}.UnsupportedAlgorithmError: unsupported_algorithm: "
                )],
            ),
            failed(
                CALLBACK,
                ID_TOKEN,
                &[&format!(
                    "{JOSE}.UnsupportedAlgorithmError: unsupported_algorithm: HS256"
                )],
            ),
            "unrecognised",
        ),
        case(
            "id-token.kid",
            failed(CALLBACK, ID_TOKEN, &["ValueError: Key not found"]),
            failed(CALLBACK, ACCOUNT, &["ValueError: Key not found"]),
            "unrecognised",
        ),
        case(
            "id-token.missing-claim",
            failed(
                CALLBACK,
                ID_TOKEN,
                &[&format!(
                    "{JOSE}.MissingClaimError: missing_claim: Missing 'sub' claim"
                )],
            ),
            failed(
                CALLBACK,
                ID_TOKEN,
                &[&format!(
                    "{JOSE}.MissingClaimError: missing_claim: Missing 'email' claim"
                )],
            ),
            "unrecognised",
        ),
        case(
            "id-token.decode",
            failed(
                CALLBACK,
                ID_TOKEN,
                &[&format!(
                    "{JOSE}.DecodeError: Invalid input segments length: "
                )],
            ),
            failed(
                CALLBACK,
                ID_TOKEN,
                &[&format!(
                    "{JOSE}.DecodeErrors: Invalid input segments length: "
                )],
            ),
            "unrecognised",
        ),
    ]
}

fn romm_cases() -> Vec<Case> {
    vec![
        case(
            "romm.userinfo-missing",
            romm(
                "ERROR",
                "base_handler",
                "20:21:49",
                "Userinfo is missing from token.",
            ),
            romm(
                "ERROR",
                "users_handler",
                "20:21:49",
                "Userinfo is missing from token.",
            ),
            "pass",
        ),
        case(
            "romm.email-missing",
            romm(
                "ERROR",
                "base_handler",
                "20:21:49",
                "Email is missing from token.",
            ),
            romm(
                "ERROR",
                "base_handler",
                "20:21:49",
                "Email is missing from token",
            ),
            "pass",
        ),
        case(
            "romm.email-unverified",
            romm(
                "ERROR",
                "base_handler",
                "20:21:49",
                "Email is not verified.",
            ),
            romm(
                "WARNING",
                "base_handler",
                "20:21:49",
                "Email is not verified.",
            ),
            "pass",
        ),
        case(
            "romm.username-missing",
            romm(
                "ERROR",
                "base_handler",
                "20:21:49",
                "'nickname' attribute is missing from token.",
            ),
            romm(
                "ERROR",
                "base_handler",
                "20:21:49",
                "'nickname' attribute is missing.",
            ),
            "pass",
        ),
        case(
            "romm.no-role",
            romm(
                "ERROR",
                "base_handler",
                "20:21:49",
                "User has not been granted any roles for this application.",
            ),
            romm(
                "INFO",
                "base_handler",
                "20:21:49",
                "User has not been granted any roles for this application.",
            ),
            "pass",
        ),
    ]
}

fn more_romm_cases() -> Vec<Case> {
    vec![
        case(
            "romm.registration-disabled",
            romm(
                "ERROR",
                "base_handler",
                "20:21:49",
                "User with email 'bob@example.com' not found and OIDC registration is disabled",
            ),
            romm("ERROR", "base_handler", "20:21:49", "User 'bob' not found"),
            "pass",
        ),
        case(
            "romm.duplicate-username",
            duplicate("ix_users_username"),
            duplicate("ix_users_email"),
            "unrecognised",
        ),
        case(
            "romm.user-disabled",
            nginx(
                "20:21:49",
                "/api/oauth/openid?code=c0de4u2k3y9z&state=st4te8x2q",
                401,
                26,
            ),
            nginx("20:21:49", "/api/users/me", 401, 26),
            "pass",
        ),
        case(
            "romm.oidc-disabled",
            nginx("20:21:49", "/api/login/openid", 500, 27),
            nginx("20:21:49", "/api/login/openid", 500, 21),
            "unexplained-500",
        ),
        case(
            "romm.logout-metadata",
            romm(
                "WARNING",
                "auth",
                "20:21:49",
                "Failed to load OIDC server metadata for RP-Initiated Logout",
            ),
            romm(
                "ERROR",
                "auth",
                "20:21:49",
                "Failed to load OIDC server metadata for RP-Initiated Logout",
            ),
            "pass",
        ),
    ]
}

#[test]
fn every_row_is_recognised_from_its_excerpt_and_its_near_miss_is_not() {
    let cases = cases();
    for row in patterns::PATTERNS {
        assert!(
            cases.iter().any(|c| c.row == row.name),
            "no excerpt for the row {}",
            row.name
        );
    }
    for c in &cases {
        let found = judged(&c.log);
        assert_eq!(
            patterns_of(&found),
            [c.row],
            "{}:\n{}\n{found:#?}",
            c.row,
            c.log
        );
        assert_eq!(found[0].status, Status::Fail, "{}", c.row);
        assert!(!found[0].fix.is_empty(), "{}", c.row);
        let near = judged(&c.near);
        assert_eq!(
            patterns_of(&near),
            [c.near_gives],
            "{} near miss:\n{}",
            c.row,
            c.near
        );
    }
}

/// The fix the one finding `log` gives.
fn fix_of(log: &str) -> String {
    judged(log).remove(0).fix
}

#[test]
fn the_fixes_of_the_network_rows_are_the_checks_own() {
    let dns = crate::http::Failure::Dns;
    assert_eq!(
        fix_of(&failed(
            LOGIN,
            DISCOVERY,
            &["httpx.ConnectError: [Errno -3] Try again"]
        )),
        checks::unreachable(
            "discovery.fetch",
            "Fetching discovery",
            "https://id.example.com",
            &dns
        )
        .fix
    );
    assert_eq!(
        fix_of(&failed(LOGIN, DISCOVERY, &["httpx.ReadTimeout"])),
        "Check that the provider is up and not blocked by a firewall or proxy."
    );
    let debug = romm(
        "DEBUG",
        "_trace",
        "20:21:44",
        "connect_tcp.started host='pocket-id' port=1411 local_address=None timeout=5.0",
    ) + &failed(CALLBACK, TOKEN, &["httpx.ConnectTimeout"]);
    assert!(
        fix_of(&debug).starts_with("Check that pocket-id is up"),
        "{}",
        fix_of(&debug)
    );
    assert!(
        fix_of(&failed(
            LOGIN,
            DISCOVERY,
            &[&tls(
                "Hostname mismatch, certificate is not valid for '10.0.0.5'."
            )]
        ))
        .ends_with("subjectAltName = IP:10.0.0.5.")
    );
    assert_eq!(
        fix_of(&failed(
            LOGIN,
            DISCOVERY,
            &[&tls("CA cert does not include key usage extension")]
        )),
        "Re-issue that certificate with keyUsage = critical, keyCertSign, cRLSign (RFC 5280 4.2.1.3)."
    );
}

#[test]
fn the_fixes_of_the_account_and_token_rows_are_the_checks_own() {
    let registration = fix_of(&romm(
        "ERROR",
        "base_handler",
        "20:21:49",
        "User with email 'bob@example.com' not found and OIDC registration is disabled",
    ));
    assert_eq!(
        registration,
        checks::romm_users::registration_off_fix("bob@example.com")
    );
    let postgres = romm(
        "INFO",
        "base_handler",
        "20:21:48",
        "User with email 'carol@example.com' not found, creating new user",
    ) + &failed(
        CALLBACK,
        ACCOUNT,
        &[
            "sqlalchemy.exc.IntegrityError: (psycopg.errors.UniqueViolation) duplicate key value violates unique constraint \"ix_users_username\"",
            "DETAIL:  Key (username)=(carol) already exists.",
        ],
    );
    assert_eq!(
        fix_of(&postgres),
        checks::romm_users::username_taken_fix("carol@example.com", "carol")
    );
    let legacy = romm(
        "INFO",
        "_client",
        "20:21:49",
        "HTTP Request: POST https://id.example.com/api/oidc/token \"HTTP/1.1 401 Unauthorized\"",
    ) + &failed(
        CALLBACK,
        TOKEN,
        &[&format!("{OAUTH}: Client id or secret not provided: ")],
    );
    assert_eq!(fix_of(&legacy), checks::login::token_refusal("", "", 401).1);
    let pkce = failed(
        CALLBACK,
        REDIRECT_BACK,
        &[&format!(
            "{OAUTH}: invalid_request: Authorization Server policy requires PKCE to be used for this request"
        )],
    );
    assert!(
        fix_of(&pkce).contains("turn off the PKCE requirement"),
        "{}",
        fix_of(&pkce)
    );
}

#[test]
fn pocket_id_in_the_request_lines_gives_pocket_ids_fixes() {
    let at_hash = failed(
        CALLBACK,
        ID_TOKEN,
        &[&format!(
            "{JOSE}.InvalidClaimError: invalid_claim: Invalid claim 'at_hash'"
        )],
    );
    let generic = judged(&at_hash).remove(0).fix;
    assert!(generic.contains("computes at_hash wrongly"), "{generic}");
    let pocket_id = romm(
        "INFO",
        "_client",
        "20:21:49",
        "HTTP Request: POST https://id.example.com/api/oidc/token \"HTTP/1.1 200 OK\"",
    ) + &at_hash;
    let fix = judged(&pocket_id).remove(0).fix;
    assert!(
        fix.starts_with(checks::discovery::EDDSA_AT_HASH_FIX.trim_end_matches('.')),
        "{fix}"
    );
    let email = romm(
        "ERROR",
        "base_handler",
        "20:21:49",
        "Email is missing from token.",
    );
    assert!(judged(&email)[0].fix.starts_with("Give the user an email"));
    let email = romm(
        "INFO",
        "_client",
        "20:21:49",
        "HTTP Request: POST https://id.example.com/api/oidc/token \"HTTP/1.1 200 OK\"",
    ) + &email;
    assert!(
        judged(&email)[0]
            .fix
            .starts_with("Pocket ID: give the user")
    );
}

/// Two failed logins with a success between them, in many shapes.
fn twice() -> String {
    failed(
        LOGIN,
        DISCOVERY,
        &["httpx.ConnectError: [Errno -2] Name or service not known"],
    ) + &romm(
        "INFO",
        "base_handler",
        "20:25:00",
        "User successfully authenticated: alice@example.com",
    ) + &traceback(
        "20:29:07",
        LOGIN,
        DISCOVERY,
        &["httpx.ConnectError: [Errno -2] Name or service not known"],
    ) + &nginx("20:29:07", "/api/login/openid", 500, 21)
}

#[test]
fn a_kind_is_counted_once_with_its_first_and_last_time() {
    let found = judged(&twice());
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = &found[0];
    assert_eq!(
        f.status,
        Status::Fail,
        "the success was before the last failure"
    );
    assert_eq!(
        f.data,
        Some(
            serde_json::json!({"pattern": "net.dns", "stage": "discovery", "count": 2, "first": "2026-12-05 20:21:49", "last": "2026-12-05 20:29:07"})
        )
    );
    assert!(
        f.summary
            .ends_with("(discovery): 2 times, last 2026-12-05 20:29:07"),
        "{}",
        f.summary
    );
    assert!(
        f.detail.contains("answering GET /api/login/openid") && f.detail.contains("RomM's clock"),
        "{}",
        f.detail
    );
    assert!(f.detail.contains("as discovery.fetch"), "{}", f.detail);
}

#[test]
fn colour_docker_stamps_compose_prefixes_and_crlf_change_nothing_but_the_times() {
    let plain = judged(&twice());
    let coloured = twice()
        .lines()
        .map(|l| match l.split_once(':') {
            Some((level, rest)) if l.contains("[RomM]") => format!(
                "\x1b[91m{level}\x1b[39m:{}",
                rest.replacen("[RomM][", "\x1b[34m[RomM]\x1b[95m[", 1)
                    .replacen("] ", "] \x1b[0m", 1)
            ),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(coloured.contains('\x1b'));
    let stamped: String = twice()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            format!(
                "romm-1  | 2026-12-05T19:21:{:02}.123456789Z {l}\r\n",
                i % 60
            )
        })
        .collect();
    for (shape, log) in [
        ("colour", coloured),
        ("docker -t, compose, CRLF", stamped.clone()),
    ] {
        let found = judged(&log);
        assert_eq!(patterns_of(&found), patterns_of(&plain), "{shape}");
        assert_eq!(found[0].data.as_ref().unwrap()["count"], 2, "{shape}");
    }
    let second_head = twice()
        .lines()
        .enumerate()
        .filter(|(_, l)| l.ends_with(parse::ASGI_HEAD))
        .nth(1)
        .unwrap()
        .0;
    let found = judged(&stamped);
    assert_eq!(
        found[0].data.as_ref().unwrap()["last"],
        format!("2026-12-05T19:21:{second_head:02}Z"),
        "docker's stamp, not RomM's"
    );
}

#[test]
fn a_traceback_cut_at_the_head_counts() {
    let log = twice();
    let cut = &log[log.find("  File \"/backend/endpoints").unwrap()..];
    let found = judged(cut);
    assert_eq!(found[0].data.as_ref().unwrap()["count"], 2, "{found:#?}");
    assert_eq!(
        found[0].data.as_ref().unwrap()["first"],
        "2026-12-05 20:21:49"
    );
}

#[test]
fn a_login_that_succeeds_later_turns_the_failure_into_a_warning() {
    let log = twice()
        + &romm("INFO", "server", "20:40:00", "Started server process [42]")
        + &romm(
            "INFO",
            "base_handler",
            "20:41:00",
            "User successfully authenticated: alice@example.com",
        );
    let f = judged(&log).remove(0);
    assert_eq!(f.status, Status::Warn);
    assert!(
        f.detail
            .contains("A login succeeded after the last one (2026-12-05 20:41:00)"),
        "{}",
        f.detail
    );
    assert!(
        f.detail
            .contains("RomM restarted after the last one (2026-12-05 20:40:00)"),
        "{}",
        f.detail
    );
}

#[test]
fn a_later_login_past_the_step_warns_and_one_stopped_earlier_does_not() {
    let token = failed(
        CALLBACK,
        TOKEN,
        &[&format!(
            "{OAUTH}: invalid_client: Client authentication failed."
        )],
    );
    let then = |later: &str| {
        let found = judged(&(token.clone() + later));
        (
            found[0].status,
            found[0].detail.contains("A later login got past this step"),
        )
    };
    let past = [
        failed(
            CALLBACK,
            ID_TOKEN,
            &[&format!("{JOSE}.BadSignatureError: bad_signature: ")],
        ),
        romm(
            "ERROR",
            "base_handler",
            "20:30:00",
            "Email is not verified.",
        ),
    ];
    for later in past {
        assert_eq!(then(&later), (Status::Warn, true), "{later}");
    }
    let not_past = [
        failed(LOGIN, DISCOVERY, &["httpx.ConnectTimeout"]),
        nginx("20:30:00", "/api/login/openid", 302, 0),
        failed(
            CALLBACK,
            TOKEN,
            &[&format!("{OAUTH}: invalid_grant: expired")],
        ),
    ];
    for later in not_past {
        assert_eq!(then(&later), (Status::Fail, false), "{later}");
    }
    // A login redirect proves discovery loads again.
    let discovery = failed(LOGIN, DISCOVERY, &["httpx.ConnectTimeout"])
        + &nginx("20:30:00", "/api/login/openid", 302, 0);
    assert_eq!(judged(&discovery)[0].status, Status::Warn);
}

#[test]
fn an_unknown_oidc_traceback_is_a_warning_that_shows_its_exception_and_noise_is_ignored() {
    let log = failed(CALLBACK, ID_TOKEN, &["KeyError: 'email'"])
        + &failed(COVER, &[], &["KeyError: 'saves'"])
        + &romm(
            "CRITICAL",
            "database",
            "20:22:00",
            "(mariadb.ProgrammingError) Table 'romm.platforms' doesn't exist",
        )
        + "[SQL: SELECT COUNT(*) FROM platforms]\n"
        + &romm(
            "ERROR",
            "base_handler",
            "20:23:00",
            "User 'bob' not enabled",
        );
    let found = judged(&log);
    assert_eq!(patterns_of(&found), ["unrecognised"]);
    assert_eq!(found[0].status, Status::Warn);
    assert!(
        found[0]
            .detail
            .starts_with("RomM logged: KeyError: 'email'\nWhile validating the ID token"),
        "{}",
        found[0].detail
    );
    assert!(
        found[0].summary.contains("(id-token)"),
        "{}",
        found[0].summary
    );
    let cut = traceback("20:21:49", CALLBACK, TOKEN, &[]);
    let found = judged(&cut);
    assert_eq!(patterns_of(&found), ["unrecognised"]);
    assert!(
        found[0]
            .detail
            .contains("the log ends before the exception line")
    );
}

#[test]
fn a_bare_500_on_a_login_route_is_unexplained_and_a_500_after_its_traceback_is_not() {
    let found = judged(&nginx(
        "20:21:49",
        "/api/oauth/openid?code=c0de4u2k3y9z&state=st4te8x2q",
        500,
        21,
    ));
    assert_eq!(patterns_of(&found), ["unexplained-500"]);
    assert_eq!(found[0].status, Status::Warn);
    assert_eq!(patterns_of(&judged(&twice())), ["net.dns"]);
}

#[test]
fn a_disabled_user_is_read_from_uvicorns_line_only_without_nginx() {
    let uvicorn = romm(
        "INFO",
        "httptools_impl",
        "20:21:49",
        "192.168.1.23:0 - \"GET /api/oauth/openid?code=c0de4u2k3y9z&state=st4te8x2q HTTP/1.0\" 401",
    );
    let found = judged(&uvicorn);
    assert_eq!(
        (
            patterns_of(&found),
            found[0].data.as_ref().unwrap()["count"].clone()
        ),
        (vec!["romm.user-disabled".to_string()], 1.into())
    );
    let both = uvicorn
        + &nginx(
            "20:21:49",
            "/api/oauth/openid?code=c0de4u2k3y9z&state=st4te8x2q",
            401,
            26,
        );
    assert_eq!(judged(&both)[0].data.as_ref().unwrap()["count"], 1);
}

#[test]
fn codes_and_states_of_the_access_lines_are_never_shown() {
    let log = failed(
        CALLBACK,
        TOKEN,
        &[&format!(
            "{OAUTH}: invalid_grant: The code c0de4u2k3y9z was already used (state st4te8x2q)"
        )],
    ) + &nginx(
        "20:22:00",
        "/api/oauth/openid?code=an0th3rc0de&state=s%2Ft4te",
        401,
        26,
    ) + &romm(
        "INFO",
        "httptools_impl",
        "20:22:00",
        "192.168.1.23:0 - \"GET /api/oauth/openid?code=uv1c0rnc0de&state=x HTTP/1.0\" 401",
    );
    let text = serde_json::to_string(&judged(&log)).unwrap();
    for secret in [
        "c0de4u2k3y9z",
        "st4te8x2q",
        "an0th3rc0de",
        "s%2Ft4te",
        "s/t4te",
        "uv1c0rnc0de",
    ] {
        assert!(!text.contains(secret), "{secret} shown: {text}");
    }
    assert!(
        text.contains("The code *** was already used (state ***)"),
        "{text}"
    );
}

#[test]
fn no_failure_is_a_pass_that_says_what_was_read_and_no_romm_line_is_a_warning() {
    let log = romm("INFO", "server", "08:00:00", "Started server process [7]")
        + &romm(
            "INFO",
            "base_handler",
            "08:01:00",
            "User successfully authenticated: alice@example.com",
        )
        + &nginx(
            "08:01:00",
            "/api/oauth/openid?code=c0de4u2k3y9z&state=st4te8x2q",
            307,
            0,
        )
        + &failed(
            COVER,
            &[],
            &["httpx.ConnectError: [Errno -2] Name or service not known"],
        );
    let f = judge(log.as_bytes(), "the last 24 h of romm's log").remove(0);
    assert_eq!(f.status, Status::Pass);
    assert_eq!(
        f.summary,
        "No OIDC failure in the last 24 h of romm's log (2026-12-05 08:00:00 to 2026-12-05 20:21:49; 1 successful login)"
    );
    assert!(!f.summary.contains("never"));
    let warning_level = romm(
        "ERROR",
        "flashpoint_handler",
        "08:00:00",
        "Error checking Flashpoint API",
    );
    assert!(judged(&warning_level)[0].detail.contains("no INFO lines"));
    for nothing in ["", "\n\n", "hello\nworld\n"] {
        let f = judged(nothing).remove(0);
        assert_eq!(f.status, Status::Warn, "{nothing:?}");
        assert_eq!(f.summary, "the excerpt holds no line of RomM's log");
    }
}

#[test]
fn a_log_over_the_limit_is_judged_by_its_newest_part_and_says_so() {
    let filler = romm("INFO", "init", "01:00:00", &"x".repeat(200));
    let mut log = failed(LOGIN, DISCOVERY, &["httpx.ConnectTimeout"]);
    while log.len() <= input::LOG_LIMIT + 100_000 {
        log.push_str(&filler);
    }
    log.push_str(&romm(
        "ERROR",
        "base_handler",
        "23:00:00",
        "Email is not verified.",
    ));
    let found = judged(&log);
    assert_eq!(
        patterns_of(&found),
        ["romm.email-unverified"],
        "the oldest failure is past the limit"
    );
    assert!(
        found[0].detail.contains("Only the newest 16.0 MiB of the "),
        "{}",
        found[0].detail
    );
}

#[test]
fn the_readme_names_every_pattern() {
    let readme = include_str!("../../README.md");
    let derived = ["callback.state-replay", "unrecognised", "unexplained-500"];
    for name in patterns::PATTERNS.iter().map(|p| p.name).chain(derived) {
        assert!(
            readme.contains(&format!("`{name}`")),
            "README.md lacks `{name}`"
        );
    }
}

#[test]
fn a_redirects_location_is_shown_and_sql_parameters_are_not() {
    let redirect = failed(
        LOGIN,
        DISCOVERY,
        &[
            "httpx.HTTPStatusError: Redirect response '308 Permanent Redirect' for url 'http://id.example.com/.well-known/openid-configuration'",
            "Redirect location: 'https://id.example.com/.well-known/openid-configuration'",
        ],
    );
    let f = judged(&redirect).remove(0);
    assert!(
        f.detail.contains(
            "\nRedirect location: 'https://id.example.com/.well-known/openid-configuration'\n"
        ),
        "{}",
        f.detail
    );
    let dup = failed(
        CALLBACK,
        ACCOUNT,
        &[
            "sqlalchemy.exc.IntegrityError: (mariadb.IntegrityError) Duplicate entry 'alice' for key 'ix_users_username'",
            "[SQL: INSERT INTO users (username, hashed_password) VALUES (?, ?)]",
            "[parameters: ('alice', 'b3e0c7d2-hashed')]",
        ],
    );
    let text = serde_json::to_string(&judged(&dup)).unwrap();
    assert!(
        !text.contains("b3e0c7d2") && !text.contains("[SQL"),
        "{text}"
    );
}

#[test]
fn a_whole_chain_ending_in_the_ssl_error_reads_as_httpxs() {
    let chain = failed(
        LOGIN,
        DISCOVERY,
        &[
            "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1020)",
        ],
    );
    assert_eq!(patterns_of(&judged(&chain)), ["tls.untrusted"]);
}
