//! The client id and secret, checked without a browser: Pocket ID's public
//! client metadata, and a token request with a made-up code.

use serde_json::Value;

use super::{kind, unreachable};
use crate::checks::id;
use crate::http::{Http, Response, client_secret_basic};
use crate::oidc::discovery::Discovery;
use crate::report::Finding;
use crate::settings::{OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI, Settings};

/// The code sent by the probe: no provider can have issued it.
pub const PROBE_CODE: &str = "romm-oidc-credential-probe-not-a-real-code";

/// The fix for a secret RomM cannot send as the provider stored it.
pub const ASCII_SECRET_FIX: &str = "Create a new client secret made of ASCII characters only (letters, digits and ASCII punctuation) at the provider, and put it in OIDC_CLIENT_SECRET. Providers generate such secrets themselves (Pocket ID: OIDC Clients → RomM → create a new secret).";

/// A failing finding when RomM's authlib cannot build its `client_secret_basic`
/// header from these credentials (a character beyond latin-1): RomM's
/// callback then fails before anything is sent, so nothing is sent here either.
pub fn unsendable(id: &'static str, client_id: &str, secret: &str) -> Option<Finding> {
    let err = client_secret_basic(client_id, secret).err()?;
    let fix = if err.in_id {
        "Use a client id made of ASCII characters only: register one at the provider and set OIDC_CLIENT_ID to it."
    } else {
        ASCII_SECRET_FIX
    };
    let part = if err.in_id {
        "client id"
    } else {
        "client secret"
    };
    Some(
        Finding::fail(id, format!("RomM cannot send this {part}: UnicodeEncodeError at its callback"))
            .detail(format!(
                "RomM's authlib encodes \"<client id>:<client secret>\" as latin-1 for the HTTP Basic header (authlib 1.6.12 oauth2/auth.py, encode_client_secret_basic); {}. Nothing was sent.",
                err.reason()
            ))
            .mismatch("latin-1 characters only (ASCII is safest)", format!("{} character{} beyond U+00FF", err.count, if err.count == 1 { "" } else { "s" }))
            .fix(fix),
    )
}

/// Why a secret with non-ASCII latin-1 characters is refused: authlib sends
/// each as one latin-1 byte, while providers compare the secret's UTF-8 text.
pub fn non_ascii_note(secret: &str) -> Option<String> {
    let count = secret.chars().filter(|c| !c.is_ascii()).count();
    (count > 0).then(|| format!(
        "The secret has {count} non-ASCII character{}: RomM's authlib sends each as a single latin-1 byte in the HTTP Basic header, not as UTF-8, so a provider that stores the secret as UTF-8 text never sees the secret it issued.",
        if count == 1 { "" } else { "s" }
    ))
}

/// `client.exists`: Pocket ID's public `GET /api/oidc/clients/<id>/meta`.
pub fn exists(settings: &Settings, http: &Http, discovery: &Discovery) -> Finding {
    const ID: &str = id::CLIENT_EXISTS;
    if !discovery.flavor().is_pocket_id() {
        return Finding::skip(
            ID,
            "Only Pocket ID publishes client metadata (see client.credentials)",
        );
    }
    let Some(client_id) = settings.value(OIDC_CLIENT_ID) else {
        return Finding::skip(ID, "No OIDC_CLIENT_ID to look up");
    };
    let Some(issuer) = discovery.issuer() else {
        return Finding::skip(ID, "No issuer to find the client API at");
    };
    let encoded: String = url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    let url = format!(
        "{}/api/oidc/clients/{encoded}/meta",
        issuer.trim_end_matches('/')
    );
    let response = match http.get(&url) {
        Ok(r) => r,
        Err(failure) => return unreachable(ID, "Looking up the client", &url, &failure),
    };
    match (response.status, response.json()) {
        (200, Some(meta)) if meta.get("id").and_then(Value::as_str) == Some(client_id) => {
            let name = meta.get("name").and_then(Value::as_str).unwrap_or("(no name)");
            Finding::pass(ID, format!("Pocket ID knows client {client_id}: \"{name}\""))
                .data(meta)
        }
        (404, _) => Finding::fail(ID, format!("Pocket ID has no client with id {client_id}"))
            .detail(format!("{url} answered 404."))
            .mismatch("an existing client id", client_id)
            .fix("Copy the Client ID from Pocket ID (Settings → Admin → OIDC Clients → RomM) into OIDC_CLIENT_ID, or create the client there."),
        (status, body) => Finding::warn(ID, format!("Client lookup answered HTTP {status} without the client's data"))
            .detail(format!(
                "{url} answered {}: {}",
                body.as_ref().map(kind).unwrap_or("no JSON"),
                response.head()
            ))
            .fix("The credential probe (client.credentials) still tells whether the id and secret work."),
    }
}

/// `client.credentials`: POST the token endpoint a made-up code, authenticated
/// as RomM authenticates. `invalid_client` means wrong id or secret;
/// `invalid_grant` means the credentials passed and only the code was refused.
pub fn probe(settings: &Settings, http: &Http, discovery: &Discovery) -> Finding {
    const ID: &str = id::CLIENT_CREDENTIALS;
    let (Some(client_id), Some(secret)) = (
        settings.value(OIDC_CLIENT_ID),
        settings.value(OIDC_CLIENT_SECRET),
    ) else {
        return Finding::skip(
            ID,
            "Needs OIDC_CLIENT_ID and OIDC_CLIENT_SECRET (see config.client)",
        );
    };
    let Some(url) = discovery.str("token_endpoint") else {
        return Finding::skip(ID, "The discovery document has no token_endpoint");
    };
    let redirect = settings.value(OIDC_REDIRECT_URI).unwrap_or("");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", PROBE_CODE),
        ("redirect_uri", redirect),
    ];
    if let Some(refused) = unsendable(ID, client_id, secret) {
        return refused;
    }
    match http.post_form_basic(url, (client_id, secret), &form) {
        Ok(response) => judge_probe(ID, url, &response, secret),
        Err(failure) => unreachable(ID, "The credential probe", url, &failure),
    }
}

const PROBE_NOTE: &str = "This was a probe with a made-up authorization code, not a login: it proves the credentials only. `doctor --login` runs a real one.";

/// The token endpoint's answer to the probe: `invalid_grant` means the
/// credentials passed and only the code was refused.
fn judge_probe(id: &'static str, url: &str, response: &Response, secret: &str) -> Finding {
    let body = response.json();
    let field = |name: &str| {
        body.as_ref()
            .and_then(|b| b.get(name))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    let (error, description) = (field("error"), field("error_description"));
    let said = if description.is_empty() {
        error.to_string()
    } else {
        format!("{error}: {description}")
    };
    let non_ascii = non_ascii_note(secret);
    let wrong = |why: &str| {
        let f = Finding::fail(id, format!("The provider refused the client credentials ({why})"))
            .detail(format!("POST {url} with HTTP Basic (client_secret_basic, as RomM sends it) answered {}: {said}\n{PROBE_NOTE}", response.status))
            .mismatch("invalid_grant (credentials accepted, code refused)", format!("{} {said}", response.status));
        match &non_ascii {
            Some(note) => {
                let detail = format!("{note}\n{}", f.detail);
                f.detail(detail).fix(ASCII_SECRET_FIX)
            }
            None => f.fix("Copy OIDC_CLIENT_ID and OIDC_CLIENT_SECRET again from the provider (Pocket ID shows a secret only once: create a new secret under OIDC Clients → RomM and paste it). A secret containing + or % must be stored exactly as Pocket ID shows it."),
        }
    };
    match error {
        "invalid_grant" | "Invalid authorization code" => {
            Finding::pass(id, "Client id and secret accepted (client_secret_basic)").detail(
                format!("The token endpoint refused only the made-up code: {said}\n{PROBE_NOTE}"),
            )
        }
        "invalid_client" | "Invalid client secret" | "unauthorized" => {
            wrong("wrong client id or secret")
        }
        "Client not found" => wrong("unknown client id"),
        "Client id or secret not provided" => wrong("HTTP Basic credentials were not read"),
        // Providers that want RFC 6749's ASCII-only credentials (oidc-provider)
        // reject the latin-1 bytes as malformed.
        "invalid_request" if non_ascii.is_some() => wrong("it could not read the non-ASCII secret"),
        "unauthorized_client" => {
            Finding::fail(id, "The client may not use the authorization code flow")
                .detail(format!("{url} answered: {said}"))
                .fix("Allow the authorization_code grant for this client at the provider.")
        }
        _ if response.status == 401 => wrong("HTTP 401"),
        _ => unexpected(id, url, response, body.as_ref(), error, &said),
    }
}

/// An answer the probe does not interpret: inconclusive for an RFC 6749
/// error, else a failure (RomM's own code exchange would break the same way).
fn unexpected(
    id: &'static str,
    url: &str,
    response: &Response,
    body: Option<&Value>,
    error: &str,
    said: &str,
) -> Finding {
    let found = match body {
        Some(b) => format!(
            "{} {}",
            response.status,
            if said.is_empty() { kind(b) } else { said }
        ),
        None => format!("{} {}", response.status, response.head()),
    };
    let rfc_error = !error.is_empty() && response.status < 500;
    let summary = format!(
        "The credential probe got an unexpected answer (HTTP {})",
        response.status
    );
    let finding = if rfc_error {
        Finding::warn(id, summary)
    } else {
        Finding::fail(id, summary)
    };
    finding
        .detail(format!("POST {url} answered: {found}\n{PROBE_NOTE}"))
        .mismatch("400 invalid_grant or 401 invalid_client", found)
        .fix("Run `romm-oidc doctor --login` for a real login, which settles it.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;

    fn answer(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: Some("application/json".into()),
            content_encoding: None,
            location: None,
            set_cookie: Vec::new(),
            body: body.as_bytes().to_vec(),
            url: "https://id.example.com/token".into(),
        }
    }

    fn judged(status: u16, body: &str, secret: &str) -> Finding {
        judge_probe(
            id::CLIENT_CREDENTIALS,
            "https://id.example.com/token",
            &answer(status, body),
            secret,
        )
    }

    #[test]
    fn only_the_refused_code_proves_the_credentials() {
        let f = judged(400, r#"{"error":"invalid_grant"}"#, "s");
        assert_eq!(f.status, Status::Pass, "{f:?}");
        for (status, body, why) in [
            (
                401,
                r#"{"error":"invalid_client"}"#,
                "wrong client id or secret",
            ),
            (400, r#"{"error":"Client not found"}"#, "unknown client id"),
            (401, "no json", "HTTP 401"),
        ] {
            let f = judged(status, body, "s");
            assert_eq!(f.status, Status::Fail, "{body}: {f:?}");
            assert!(f.summary.ends_with(&format!("({why})")), "{f:?}");
        }
    }

    #[test]
    fn a_non_ascii_secret_is_named_as_the_likely_cause() {
        let f = judged(400, r#"{"error":"invalid_request"}"#, "sécret");
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert_eq!(f.fix, ASCII_SECRET_FIX);
        let ascii = judged(400, r#"{"error":"invalid_request"}"#, "secret");
        assert_eq!(ascii.status, Status::Warn, "{ascii:?}");
    }

    #[test]
    fn unexpected_answers_warn_for_an_rfc_error_and_fail_otherwise() {
        assert_eq!(judged(400, r#"{"error":"odd"}"#, "s").status, Status::Warn);
        let server = judged(500, "boom", "s");
        assert_eq!(server.status, Status::Fail, "{server:?}");
        assert_eq!(server.found.as_deref(), Some("500 boom"));
        let list = judged(400, "[1]", "s");
        assert_eq!(list.found.as_deref(), Some("400 an array"), "{list:?}");
    }
}
