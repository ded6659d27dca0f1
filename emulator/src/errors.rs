//! fosite's RFC 6749 errors (pocketid.md §5.3, §6.1): the error code, HTTP
//! status and base description, plus an optional hint. The description a
//! client sees is `base + " " + hint` with `"` replaced by `'`.

use crate::util::{FOSITE_JSON, Field, ordered, response};
use axum::response::Response;

#[derive(Clone, Debug)]
pub struct RfcError {
    pub error: &'static str,
    pub status: u16,
    pub base: &'static str,
    pub hint: Option<String>,
}

macro_rules! rfc {
    ($name:ident, $code:literal, $status:literal, $desc:literal) => {
        pub fn $name() -> RfcError {
            RfcError {
                error: $code,
                status: $status,
                base: $desc,
                hint: None,
            }
        }
    };
}

rfc!(
    invalid_request,
    "invalid_request",
    400,
    "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed."
);
rfc!(
    invalid_client,
    "invalid_client",
    401,
    "Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method)."
);
rfc!(
    invalid_grant,
    "invalid_grant",
    400,
    "The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."
);
rfc!(
    unsupported_response_type,
    "unsupported_response_type",
    400,
    "The authorization server does not support obtaining a token using this method."
);
rfc!(
    unsupported_response_mode,
    "unsupported_response_mode",
    400,
    "The authorization server does not support obtaining a response using this response mode."
);
rfc!(
    invalid_state,
    "invalid_state",
    400,
    "The state is missing or does not have enough characters and is therefore considered too weak."
);
rfc!(
    login_required,
    "login_required",
    400,
    "The Authorization Server requires End-User authentication."
);
rfc!(
    insufficient_entropy,
    "insufficient_entropy",
    400,
    "The request used a security parameter (e.g., anti-replay, anti-csrf) with insufficient entropy."
);
rfc!(
    request_unauthorized,
    "request_unauthorized",
    401,
    "The request could not be authorized."
);
// fosite `ErrorToRFC6749Error` for an error that is not an RFC 6749 one
// (Pocket ID's own PAR-required error, for one): the generic name, no period.
rfc!(unrecognizable, "error", 500, "The error is unrecognizable");
rfc!(
    access_denied,
    "access_denied",
    403,
    "The resource owner or authorization server denied the request."
);

impl RfcError {
    pub fn hint(mut self, hint: impl Into<String>) -> RfcError {
        self.hint = Some(hint.into());
        self
    }

    /// `RFC6749Error.GetDescription()`.
    pub fn description(&self) -> String {
        let mut d = self.base.to_string();
        if let Some(h) = &self.hint {
            d.push(' ');
            d.push_str(h);
        }
        d.replace('"', "'")
    }

    pub fn body(&self) -> String {
        ordered(&[
            ("error", Field::from(self.error)),
            ("error_description", Field::from(self.description())),
        ])
    }

    /// fosite `WriteAccessError` / `writeJsonError`.
    pub fn token_response(&self) -> Response {
        response(
            self.status,
            &[
                ("content-type", FOSITE_JSON.to_string()),
                ("cache-control", "no-store".to_string()),
                ("pragma", "no-cache".to_string()),
            ],
            self.body(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_error_bodies_are_exact() {
        assert_eq!(
            invalid_client().body(),
            r#"{"error":"invalid_client","error_description":"Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method)."}"#
        );
        let e = invalid_grant().hint(
            "The \"redirect_uri\" from this request does not match the one from the authorize request.",
        );
        assert_eq!(e.status, 400);
        assert!(e.description().ends_with(
            "or was issued to another client. The 'redirect_uri' from this request does not match the one from the authorize request."
        ));
        let reuse = invalid_grant().hint("The authorization code has already been used.");
        assert_eq!(
            reuse.description(),
            "The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client. The authorization code has already been used."
        );
        let state = invalid_state().hint("Request parameter 'state' must be at least be 8 characters long to ensure sufficient entropy.");
        assert_eq!(
            state.description(),
            "The state is missing or does not have enough characters and is therefore considered too weak. Request parameter 'state' must be at least be 8 characters long to ensure sufficient entropy."
        );
    }

    #[test]
    fn token_error_headers() {
        let r = invalid_client().token_response();
        assert_eq!(r.status(), 401);
        let h = r.headers();
        assert_eq!(h["content-type"], "application/json;charset=UTF-8");
        assert_eq!(h["cache-control"], "no-store");
        assert_eq!(h["pragma"], "no-cache");
    }
}
