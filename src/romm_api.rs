//! RomM's own REST API, read-only and as far as the doctor needs it: sign in
//! with the least privilege there is (the `users.read` scope) and list the
//! users. Facts from rommapp/romm 5.2.0: `backend/endpoints/auth.py`
//! (`POST /api/token`), `backend/endpoints/user.py` (`GET /api/users`),
//! `backend/handler/auth/constants.py` (scopes), `backend/endpoints/responses/identity.py`
//! (`UserSchema`). Nothing here writes to RomM.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::http::{Failure, Http};

/// The only scope asked for: "View users".
pub const USERS_READ: &str = "users.read";

/// How the doctor signs in to RomM; `{:?}` shows no password or token.
#[derive(Debug)]
pub enum Access {
    /// An account's name and password, exchanged at `POST /api/token` (the
    /// password grant) for a bearer token limited to `users.read`.
    Password {
        username: String,
        password: SecretString,
    },
    /// A client API token (`rmm_…`, RomM 4.8+), used as the bearer as is.
    Token(SecretString),
}

impl Access {
    /// Who signs in, for messages (never the secret).
    pub fn who(&self) -> String {
        match self {
            Access::Password { username, .. } => format!("RomM user {username}"),
            Access::Token(_) => "the client API token".into(),
        }
    }
}

/// One RomM account, as `GET /api/users` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub username: String,
    pub email: Option<String>,
    /// `admin` or `user` (RomM 5.x); `admin`, `editor` or `viewer` before.
    pub role: String,
    pub enabled: bool,
}

/// Why a call did not succeed.
#[derive(Debug)]
pub enum ApiError {
    Transport(Failure),
    /// RomM answered an error status with FastAPI's `{"detail": …}`.
    Status {
        status: u16,
        detail: String,
    },
    /// The answer is not what RomM sends (not RomM, or a proxy page).
    Unexpected {
        status: u16,
        head: String,
    },
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Transport(failure) => write!(f, "{failure}"),
            ApiError::Status { status, detail } => write!(f, "HTTP {status}: {detail}"),
            ApiError::Unexpected { status, head } => {
                write!(f, "HTTP {status}, not RomM's JSON: {head}")
            }
        }
    }
}

/// FastAPI's error text: `detail` as a string, or its JSON when it is a list.
fn detail(body: Option<&Value>) -> Option<String> {
    match body?.get("detail")? {
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn status_error(response: &crate::http::Response) -> ApiError {
    match detail(response.json().as_ref()) {
        Some(detail) => ApiError::Status {
            status: response.status,
            detail,
        },
        None => ApiError::Unexpected {
            status: response.status,
            head: response.head(),
        },
    }
}

/// A bearer token for `GET /api/users`: the client API token itself, or one
/// from the password grant asking for `users.read` only.
pub fn sign_in(http: &Http, base: &str, access: &Access) -> Result<SecretString, ApiError> {
    let (username, password) = match access {
        Access::Token(token) => return Ok(token.clone()),
        Access::Password { username, password } => (username, password),
    };
    let url = format!("{base}/api/token");
    let form = [
        ("grant_type", "password"),
        ("username", username.as_str()),
        ("password", password.expose_secret()),
        ("scope", USERS_READ),
    ];
    let response = http.post_form(&url, &form).map_err(ApiError::Transport)?;
    if response.status != 200 {
        return Err(status_error(&response));
    }
    response
        .json()
        .as_ref()
        .and_then(|b| b.get("access_token"))
        .and_then(Value::as_str)
        .map(SecretString::from)
        .ok_or(ApiError::Unexpected {
            status: 200,
            head: "(no access_token)".into(),
        })
}

/// Every RomM account (`GET /api/users`, scope `users.read`).
pub fn users(http: &Http, base: &str, bearer: &SecretString) -> Result<Vec<Account>, ApiError> {
    let url = format!("{base}/api/users");
    let response = http
        .get_bearer(&url, bearer.expose_secret())
        .map_err(ApiError::Transport)?;
    if response.status != 200 {
        return Err(status_error(&response));
    }
    let unexpected = || ApiError::Unexpected {
        status: response.status,
        head: response.head(),
    };
    let list = response.json().ok_or_else(unexpected)?;
    list.as_array()
        .ok_or_else(unexpected)?
        .iter()
        .map(|user| account(user).ok_or_else(unexpected))
        .collect()
}

fn account(user: &Value) -> Option<Account> {
    Some(Account {
        username: user.get("username")?.as_str()?.to_string(),
        email: match user.get("email")? {
            Value::Null => None,
            email => Some(email.as_str()?.to_string()),
        },
        role: user.get("role")?.as_str()?.to_string(),
        enabled: user.get("enabled")?.as_bool()?,
    })
}
