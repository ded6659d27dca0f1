//! Pocket ID's admin REST API (`X-API-Key`), as far as romm-oidc needs it:
//! read the RomM client, find a user, preview the claims, and — for the
//! wizard — create or repair the client, create its secret and mark a user
//! verified. Every write is a GET-modify-PUT of the whole object, because
//! Pocket ID's PUTs replace everything they are sent.

pub mod callbacks;
pub mod plan;

use std::fmt;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::http::{Failure, Http};
use crate::settings::Settings;
use crate::version::Version;

/// Why an API call did not succeed.
#[derive(Debug)]
pub enum ApiError {
    Transport(Failure),
    /// The server answered an error status; `code` is Pocket ID 2.13+'s stable code.
    Status {
        status: u16,
        code: String,
        message: String,
    },
    NotJson(u16),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Transport(failure) => write!(f, "{failure}"),
            ApiError::Status {
                status,
                code,
                message,
            } if code.is_empty() => write!(f, "HTTP {status}: {message}"),
            ApiError::Status {
                status,
                code,
                message,
            } => write!(f, "HTTP {status} {code}: {message}"),
            ApiError::NotJson(status) => write!(f, "HTTP {status} with a body that is not JSON"),
        }
    }
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

pub struct Api<'a> {
    http: &'a Http,
    base: String,
    key: &'a SecretString,
}

fn encode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Where Pocket ID's admin API is: the provider URL the user configured
/// (the discovery URL without its well-known suffix), never the issuer a
/// discovery document claims, so the API key goes only where the user sent
/// the doctor.
pub fn api_base(settings: &Settings) -> Option<String> {
    let discovery = settings.discovery_url()?;
    let base = match discovery.strip_suffix("/.well-known/openid-configuration") {
        Some(base) => base.to_string(),
        None => url::Url::parse(&discovery)
            .ok()?
            .origin()
            .ascii_serialization(),
    };
    Some(base)
}

impl<'a> Api<'a> {
    pub fn new(http: &'a Http, issuer: &str, key: &'a SecretString) -> Api<'a> {
        Api {
            http,
            base: issuer.trim_end_matches('/').to_string(),
            key,
        }
    }

    fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, ApiError> {
        let url = format!("{}{path}", self.base);
        let response = self
            .http
            .api(method, &url, self.key.expose_secret(), body)
            .map_err(ApiError::Transport)?;
        if response.status == 204 {
            return Ok(Value::Null);
        }
        let json = response.json();
        if (200..300).contains(&response.status) {
            return json.ok_or(ApiError::NotJson(response.status));
        }
        let field = |k: &str| {
            json.as_ref()
                .and_then(|j| j.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        Err(ApiError::Status {
            status: response.status,
            code: field("code"),
            message: field("error"),
        })
    }

    /// The key's owner (`isAdmin`, `disabled`).
    pub fn me(&self) -> Result<Value, ApiError> {
        self.call(Method::GET, "/api/users/me", None)
    }

    /// The server's version; `None` before v2.3.0, which has no such endpoint.
    pub fn version(&self) -> Result<Option<String>, ApiError> {
        match self.call(Method::GET, "/api/version/current", None) {
            Ok(v) => Ok(v
                .get("currentVersion")
                .and_then(Value::as_str)
                .map(str::to_string)),
            Err(ApiError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn client(&self, id: &str) -> Result<Value, ApiError> {
        self.call(
            Method::GET,
            &format!("/api/oidc/clients/{}", encode(id)),
            None,
        )
    }

    /// The user whose email is `email` (case-insensitive): the API only has a
    /// substring search, so the results are compared here.
    pub fn find_user(&self, email: &str) -> Result<Option<Value>, ApiError> {
        let path = format!(
            "/api/users?search={}&pagination%5Blimit%5D=100",
            encode(email)
        );
        let page = self.call(Method::GET, &path, None)?;
        Ok(page
            .get("data")
            .and_then(Value::as_array)
            .and_then(|users| {
                users
                    .iter()
                    .find(|u| {
                        u.get("email")
                            .and_then(Value::as_str)
                            .is_some_and(|e| e.eq_ignore_ascii_case(email))
                    })
                    .cloned()
            }))
    }

    /// The claims Pocket ID would issue to `user_id` for `scopes` (v1.3+).
    pub fn preview(&self, client_id: &str, user_id: &str, scopes: &str) -> Result<Value, ApiError> {
        let path = format!(
            "/api/oidc/clients/{}/preview/{}?scopes={}",
            encode(client_id),
            encode(user_id),
            encode(scopes)
        );
        self.call(Method::GET, &path, None)
    }

    pub fn create_client(&self, body: &Value) -> Result<Value, ApiError> {
        self.call(Method::POST, "/api/oidc/clients", Some(body))
    }

    pub fn update_client(&self, id: &str, body: &Value) -> Result<Value, ApiError> {
        self.call(
            Method::PUT,
            &format!("/api/oidc/clients/{}", encode(id)),
            Some(body),
        )
    }

    /// A new client secret, in plaintext: v2.14+ adds one to the client's
    /// list; earlier versions replace the only one.
    /// An unknown version (a build reporting "unknown") tries the 2.14 route
    /// first and falls back to the older one.
    pub fn create_secret(
        &self,
        id: &str,
        version: Option<Version>,
    ) -> Result<SecretString, ApiError> {
        let multi = format!("/api/oidc/clients/{}/secrets", encode(id));
        let single = format!("/api/oidc/clients/{}/secret", encode(id));
        let answer = match version {
            Some(v) if v >= (2, 14, 0) => self.call(Method::POST, &multi, Some(&json!({})))?,
            Some(_) => self.call(Method::POST, &single, Some(&json!({})))?,
            None => match self.call(Method::POST, &multi, Some(&json!({}))) {
                Err(ApiError::Status { status: 404, .. }) => {
                    self.call(Method::POST, &single, Some(&json!({})))?
                }
                other => other?,
            },
        };
        answer
            .get("secret")
            .and_then(Value::as_str)
            .map(SecretString::from)
            .ok_or(ApiError::NotJson(200))
    }

    pub fn update_user(&self, id: &str, body: &Value) -> Result<Value, ApiError> {
        self.call(
            Method::PUT,
            &format!("/api/users/{}", encode(id)),
            Some(body),
        )
    }
}

/// The full update body of a user with its email marked verified.
pub fn user_verified_body(user: &Value) -> Value {
    let text = |k: &str| {
        user.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    json!({
        "username": text("username"),
        "email": user.get("email").cloned().unwrap_or(Value::Null),
        "firstName": text("firstName"),
        "lastName": text("lastName"),
        "displayName": text("displayName"),
        "isAdmin": user.get("isAdmin").and_then(Value::as_bool).unwrap_or(false),
        "locale": user.get("locale").cloned().unwrap_or(Value::Null),
        "disabled": user.get("disabled").and_then(Value::as_bool).unwrap_or(false),
        "emailVerified": true,
    })
}
