//! Pocket ID's admin REST API (pocketid-admin-api.md), built by hand from the
//! reference: authentication by `X-API-Key` (§1), OIDC clients with
//! full-replace PUTs and per-version secrets (§3), users with full-replace
//! PUTs (§4), the claims preview (§6) and the version endpoint (§7).
//!
//! Version differences follow [`crate::Config::version`]:
//!
//! | from | change |
//! |---|---|
//! | v1.3 | `GET …/preview/:userId` |
//! | v1.8 | custom client ids on create |
//! | v2.0 | `isGroupRestricted` (before: a non-empty group list restricts) |
//! | v2.2 | `emailVerified` per user (before: the global "Emails Verified") |
//! | v2.3 | `GET /api/version/current` (before: 404 "API endpoint not found") |
//! | v2.5 | usernames of one character |
//! | v2.6 | callback URLs validated as patterns |
//! | v2.9 | `requiresPushedAuthorizationRequests` |
//! | v2.10 | `description`, `skipConsent`; `type` in the preview's userInfo |
//! | v2.12 | a caller-chosen secret on `POST …/secret` |
//! | v2.13 | `{error, code, details?, request_id}` bodies, `X-Request-ID`, 409 conflicts, JSON content type required, `clientType`, token durations |
//! | v2.14 | several secrets: `POST …/secrets` (201, adds) replaces `POST …/secret` (200, replaces) |
//!
//! Not emulated: logos (a `logoUrl` always fails to download), LDAP users,
//! rate limits, the app-config and API-key management endpoints.

use crate::userinfo::user_claims;
use crate::util::{
    Field, Form, GIN_JSON, now_secs, ordered, random_alnum, response, sorted_json, uuid_v4,
};
use crate::{
    App, Client, Config, DEFAULT_ACCESS_TOKEN_MINUTES, DEFAULT_REFRESH_TOKEN_MINUTES, Profile, Req,
    State, User, UserAccount, UserGroup,
};
use axum::response::Response;
use base64::Engine;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// A server version, `(major, minor, patch)`.
pub type Version = (u32, u32, u32);
/// The newest version emulated (and the behaviour of an "unknown" build).
pub const LATEST: Version = (2, 14, 0);

/// "2.14.0", "v2.9.1", "2.10.0-rc1" → a [`Version`].
pub fn parse_version(text: &str) -> Option<Version> {
    let mut parts = text.trim().trim_start_matches('v').split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    Some((major, minor, patch))
}

const MAX_SECRETS: usize = 20;
const TOKEN_LIFETIME: i64 = 60 * 60;
const KNOWN_SCOPES: [&str; 5] = ["openid", "profile", "email", "groups", "offline_access"];
const IDENTITY_SCOPES: [&str; 4] = ["openid", "profile", "email", "groups"];

// ====================================================================== state

pub(crate) struct SecretRecord {
    id: String,
    /// First 4 characters; empty for a secret from before v2.14 (or from the config).
    prefix: String,
    created_at: i64,
    expires_at: Option<i64>,
    value: String,
}

impl SecretRecord {
    fn active(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|e| e > now)
    }
}

#[derive(Clone)]
struct UserMeta {
    display_name: String,
    is_admin: bool,
    disabled: bool,
    locale: Option<String>,
}

struct KeyRecord {
    key: String,
    /// The owner's user id (`None` when the configured owner does not exist).
    owner_id: Option<String>,
    expired: bool,
}

/// What only the admin API sees: secrets, account fields, groups, keys.
#[derive(Default)]
pub(crate) struct AdminState {
    /// By client id.
    secrets: HashMap<String, Vec<SecretRecord>>,
    /// By user id.
    meta: HashMap<String, UserMeta>,
    groups: Vec<(UserGroup, i64)>,
    keys: Vec<KeyRecord>,
}

fn full_name(user: &User) -> String {
    format!("{} {}", user.first_name, user.last_name)
        .trim()
        .to_string()
}

impl AdminState {
    pub fn new(config: &Config, now: i64) -> AdminState {
        let mut st = AdminState::default();
        for c in &config.clients {
            if let Some(s) = c.secret.as_ref().filter(|s| !s.is_empty()) {
                st.secrets.insert(
                    c.id.clone(),
                    vec![SecretRecord {
                        id: uuid_v4(),
                        prefix: String::new(),
                        created_at: now,
                        expires_at: None,
                        value: s.clone(),
                    }],
                );
            }
        }
        for u in &config.users {
            st.meta.insert(
                u.id.clone(),
                UserMeta {
                    display_name: full_name(u),
                    is_admin: config.admins.contains(&u.username),
                    disabled: config.disabled_users.contains(&u.username),
                    locale: None,
                },
            );
        }
        for g in &config.user_groups {
            st.groups.push((g.clone(), now));
        }
        let referenced = config.users.iter().flat_map(|u| u.groups.iter()).chain(
            config
                .clients
                .iter()
                .flat_map(|c| c.allowed_user_groups.iter()),
        );
        for name in referenced {
            if !st.groups.iter().any(|(g, _)| &g.name == name) {
                st.groups.push((UserGroup::new(name), now));
            }
        }
        for k in &config.api_keys {
            st.keys.push(KeyRecord {
                key: k.key.clone(),
                owner_id: config
                    .users
                    .iter()
                    .find(|u| u.username == k.owner_username)
                    .map(|u| u.id.clone()),
                expired: k.expired,
            });
        }
        st
    }

    pub fn secret_ok(&self, client_id: &str, secret: &str) -> bool {
        let now = now_secs();
        self.secrets
            .get(client_id)
            .is_some_and(|list| list.iter().any(|r| r.value == secret && r.active(now)))
    }

    fn meta_of(&self, user: &User) -> UserMeta {
        self.meta
            .get(&user.id)
            .cloned()
            .unwrap_or_else(|| UserMeta {
                display_name: full_name(user),
                is_admin: false,
                disabled: false,
                locale: None,
            })
    }

    pub fn account(&self, user: &User) -> UserAccount {
        let meta = self.meta_of(user);
        UserAccount {
            user: user.clone(),
            display_name: meta.display_name,
            is_admin: meta.is_admin,
            disabled: meta.disabled,
            locale: meta.locale,
        }
    }
}

// ====================================================================== groups

/// Whether the client limits sign-in to its groups at this version.
fn group_restricted(version: Version, client: &Client) -> bool {
    if version >= (2, 0, 0) {
        client.is_group_restricted
    } else {
        !client.allowed_user_groups.is_empty()
    }
}

fn admits(version: Version, client: &Client, user: &User) -> bool {
    !group_restricted(version, client)
        || user
            .groups
            .iter()
            .any(|g| client.allowed_user_groups.contains(g))
}

/// Whether `username` may sign in to `client` (the group restriction), for
/// the authorization endpoint. Locks the state.
pub(crate) fn may_sign_in(app: &App, client: &Client, username: &str) -> bool {
    match app.state().user(username) {
        Some(user) => admits(app.version, client, &user),
        None => true,
    }
}

// ====================================================================== errors

/// An `apperror.Error` (v2.13+) and what older versions sent instead.
struct ApiError(Box<ErrorBody>);

struct ErrorBody {
    status: u16,
    code: &'static str,
    message: String,
    details: Vec<(&'static str, String)>,
    /// `details.fields`: (field, code, message).
    fields: Vec<(String, &'static str, String)>,
    /// Before v2.13: status and `error` text, when they differ.
    legacy: Option<(u16, String)>,
}

type ApiResult = Result<Response, ApiError>;

impl ApiError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError(Box::new(ErrorBody {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            fields: Vec::new(),
            legacy: None,
        }))
    }

    fn detail(mut self, key: &'static str, value: impl Into<String>) -> ApiError {
        self.0.details.push((key, value.into()));
        self
    }

    fn legacy(mut self, status: u16, message: impl Into<String>) -> ApiError {
        self.0.legacy = Some((status, message.into()));
        self
    }

    fn not_signed_in() -> ApiError {
        ApiError::new(401, "not_signed_in", "You are not signed in")
    }

    fn forbidden() -> ApiError {
        ApiError::new(
            403,
            "forbidden",
            "You don't have permission to perform this action",
        )
    }

    fn user_disabled() -> ApiError {
        ApiError::new(403, "user_disabled", "User account is disabled")
    }

    fn not_found(resource: &str) -> ApiError {
        ApiError::new(404, "not_found", format!("{resource} not found"))
            .detail("resource", resource)
            .legacy(404, "Record not found")
    }

    fn user_not_found() -> ApiError {
        ApiError::new(404, "user_not_found", "User not found").legacy(404, "Record not found")
    }

    fn invalid_field(field: &str, code: &'static str, message: &str) -> ApiError {
        let mut e = ApiError::new(400, "validation_failed", format!("{field} {message}"));
        e.0.fields
            .push((field.to_string(), code, message.to_string()));
        e
    }

    fn validation(message: &str) -> ApiError {
        ApiError::new(400, "validation_failed", message)
    }

    fn invalid_body(cause: impl Into<String>) -> ApiError {
        ApiError::new(400, "invalid_request_body", "Request body is invalid").legacy(400, cause)
    }

    fn already_in_use(property: &str) -> ApiError {
        let message = format!("{property} is already in use");
        ApiError::new(409, "already_in_use", message.clone())
            .detail("property", property)
            .legacy(400, message)
    }

    fn access_denied() -> ApiError {
        ApiError::new(
            403,
            "oidc_access_denied",
            "You're not allowed to access this service",
        )
    }
}

/// Headers every admin answer carries (`X-Request-ID` from v2.13).
fn headers(app: &App, request_id: &str) -> Vec<(&'static str, String)> {
    let mut h = vec![("content-type", GIN_JSON.to_string())];
    if app.version >= (2, 13, 0) {
        h.push(("x-request-id", request_id.to_string()));
    }
    h
}

fn render_error(app: &App, e: ApiError) -> Response {
    let e = *e.0;
    let request_id = uuid_v4();
    if app.version < (2, 13, 0) {
        let (status, message) = e.legacy.unwrap_or((e.status, e.message));
        return response(
            status,
            &headers(app, &request_id),
            ordered(&[("error", Field::from(message))]),
        );
    }
    let mut fields: Vec<(&str, Field)> = vec![
        ("error", Field::from(e.message)),
        ("code", Field::from(e.code)),
    ];
    if !e.details.is_empty() || !e.fields.is_empty() {
        let mut details = Map::new();
        for (k, v) in e.details {
            details.insert(k.to_string(), json!(v));
        }
        if !e.fields.is_empty() {
            let list: Vec<Value> = e
                .fields
                .into_iter()
                .map(|(field, code, message)| {
                    json!({"field": field, "code": code, "message": message})
                })
                .collect();
            details.insert("fields".into(), Value::Array(list));
        }
        fields.push(("details", Field::Json(Value::Object(details))));
    }
    fields.push(("request_id", Field::from(request_id.clone())));
    response(e.status, &headers(app, &request_id), ordered(&fields))
}

fn ok(app: &App, status: u16, body: String) -> Response {
    response(status, &headers(app, &uuid_v4()), body)
}

fn no_content(app: &App) -> Response {
    let mut h = headers(app, &uuid_v4());
    h.retain(|(k, _)| *k != "content-type");
    response(204, &h, Vec::new())
}

// ====================================================================== routing

enum Endpoint {
    Me,
    Version,
    ListUsers,
    GetUser(String),
    PutUser(String),
    ListGroups,
    ListClients,
    CreateClient,
    GetClient(String),
    PutClient(String),
    DeleteClient(String),
    ReplaceSecret(String),
    ListSecrets(String),
    AddSecret(String),
    DeleteSecret(String, String),
    SetAllowedGroups(String),
    Preview(String, String),
}

impl Endpoint {
    /// `/users/me` and `/version/current` take any signed-in user.
    fn admin_only(&self) -> bool {
        !matches!(self, Endpoint::Me | Endpoint::Version)
    }
}

/// A client id path segment: `~` + base64url decodes to the id (CIMD).
fn client_id_param(segment: &str) -> String {
    match segment.strip_prefix('~') {
        Some(encoded) => base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded.trim_end_matches('='))
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_else(|| segment.to_string()),
        None => segment.to_string(),
    }
}

/// The admin API's answer to `req`, or `None` when no admin route matches
/// (the caller then answers gin's `NoRoute` 404).
pub(crate) fn route(app: &App, req: &Req) -> Option<Response> {
    let rest = req.path.strip_prefix("/api/")?;
    let segs: Vec<&str> = rest.split('/').collect();
    if segs.iter().any(|s| s.is_empty()) {
        return None;
    }
    let v = app.version;
    let cid = |s: &str| client_id_param(s);
    let endpoint = match (req.method.as_str(), segs.as_slice()) {
        ("GET", ["users", "me"]) => Endpoint::Me,
        ("GET", ["version", "current"]) if v >= (2, 3, 0) => Endpoint::Version,
        ("GET", ["users"]) => Endpoint::ListUsers,
        ("GET", ["users", id]) => Endpoint::GetUser(id.to_string()),
        ("PUT", ["users", id]) => Endpoint::PutUser(id.to_string()),
        ("GET", ["user-groups"]) => Endpoint::ListGroups,
        ("GET", ["oidc", "clients"]) => Endpoint::ListClients,
        ("POST", ["oidc", "clients"]) => Endpoint::CreateClient,
        ("GET", ["oidc", "clients", id]) => Endpoint::GetClient(cid(id)),
        ("PUT", ["oidc", "clients", id]) => Endpoint::PutClient(cid(id)),
        ("DELETE", ["oidc", "clients", id]) => Endpoint::DeleteClient(cid(id)),
        ("POST", ["oidc", "clients", id, "secret"]) if v < LATEST => {
            Endpoint::ReplaceSecret(cid(id))
        }
        ("GET", ["oidc", "clients", id, "secrets"]) if v >= LATEST => {
            Endpoint::ListSecrets(cid(id))
        }
        ("POST", ["oidc", "clients", id, "secrets"]) if v >= LATEST => Endpoint::AddSecret(cid(id)),
        ("DELETE", ["oidc", "clients", id, "secrets", sid]) if v >= LATEST => {
            Endpoint::DeleteSecret(cid(id), sid.to_string())
        }
        ("PUT", ["oidc", "clients", id, "allowed-user-groups"]) => {
            Endpoint::SetAllowedGroups(cid(id))
        }
        ("GET", ["oidc", "clients", id, "preview", user]) if v >= (1, 3, 0) => {
            Endpoint::Preview(cid(id), user.to_string())
        }
        _ => return None,
    };
    let mut guard = app.state();
    let st: &mut State = &mut guard;
    let result = authenticate(st, req, endpoint.admin_only()).and_then(|caller| match endpoint {
        Endpoint::Me => me(app, st, &caller),
        Endpoint::Version => Ok(ok(
            app,
            200,
            ordered(&[("currentVersion", Field::from(app.version_text.clone()))]),
        )),
        Endpoint::ListUsers => list_users(app, st, &req.query),
        Endpoint::GetUser(id) => get_user(app, st, &id),
        Endpoint::PutUser(id) => put_user(app, st, &id, req),
        Endpoint::ListGroups => list_groups(app, st, &req.query),
        Endpoint::ListClients => list_clients(app, st, &req.query),
        Endpoint::CreateClient => create_client(app, st, req),
        Endpoint::GetClient(id) => {
            let c = find_client(st, &id)?;
            Ok(ok(app, 200, client_dto(app, st, &c, Groups::Full)))
        }
        Endpoint::PutClient(id) => put_client(app, st, &id, req),
        Endpoint::DeleteClient(id) => {
            find_client(st, &id)?;
            st.clients.retain(|c| c.id != id);
            st.admin.secrets.remove(&id);
            Ok(no_content(app))
        }
        Endpoint::ReplaceSecret(id) => replace_secret(app, st, &id, req),
        Endpoint::ListSecrets(id) => {
            find_client(st, &id)?;
            let list: Vec<String> = st
                .admin
                .secrets
                .get(&id)
                .map(|l| l.iter().map(secret_dto).collect())
                .unwrap_or_default();
            Ok(ok(app, 200, format!("[{}]", list.join(","))))
        }
        Endpoint::AddSecret(id) => add_secret(app, st, &id, req),
        Endpoint::DeleteSecret(id, sid) => delete_secret(app, st, &id, &sid),
        Endpoint::SetAllowedGroups(id) => set_allowed_groups(app, st, &id, req),
        Endpoint::Preview(id, user) => preview(app, st, &id, &user, &req.query),
    });
    drop(guard);
    Some(result.unwrap_or_else(|e| render_error(app, e)))
}

/// `AuthMiddleware`: the session cookie, else `X-API-Key` (header names are
/// case-insensitive). Returns the caller's user id.
fn authenticate(st: &State, req: &Req, admin_only: bool) -> Result<String, ApiError> {
    let now = now_secs();
    let from_session = req
        .cookie(crate::authorize::SESSION_COOKIE)
        .and_then(|t| st.sessions.get(&t))
        .filter(|s| s.expires_at > now)
        .and_then(|s| st.user(&s.username));
    let user = match from_session {
        Some(u) => u,
        None => {
            let key = req.header("x-api-key").unwrap_or("");
            if key.is_empty() {
                return Err(ApiError::not_signed_in());
            }
            // Every key-validation error becomes not_signed_in.
            st.admin
                .keys
                .iter()
                .find(|k| k.key == key && !k.expired)
                .and_then(|k| k.owner_id.as_ref())
                .and_then(|id| st.users.iter().find(|u| &u.id == id))
                .cloned()
                .ok_or_else(ApiError::not_signed_in)?
        }
    };
    let meta = st.admin.meta_of(&user);
    if meta.disabled {
        return Err(ApiError::user_disabled());
    }
    if admin_only && !meta.is_admin {
        return Err(ApiError::forbidden());
    }
    Ok(user.id)
}

// ====================================================================== request bodies

fn is_json_content_type(req: &Req) -> bool {
    req.header("content-type")
        .and_then(|ct| ct.split(';').next())
        .map(|t| {
            let t = t.trim().to_ascii_lowercase();
            t == "application/json" || t.ends_with("+json")
        })
        .unwrap_or(false)
}

/// The JSON object body. An empty body is `{}` when `optional`.
fn body_object(app: &App, req: &Req, optional: bool) -> Result<Map<String, Value>, ApiError> {
    if req.body.is_empty() && optional {
        return Ok(Map::new());
    }
    if app.version >= (2, 13, 0) && !is_json_content_type(req) {
        return Err(ApiError::invalid_body(
            "Content-Type must be application/json",
        ));
    }
    if req.body.is_empty() {
        return Err(ApiError::invalid_body("EOF"));
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::invalid_body(
            "json: cannot unmarshal into an object",
        )),
        Err(e) => Err(ApiError::invalid_body(e.to_string())),
    }
}

fn type_error(key: &str, want: &str) -> ApiError {
    ApiError::invalid_body(format!(
        "json: cannot unmarshal {key} into a Go value of type {want}"
    ))
}

/// A string field; absent or null is `None`.
fn get_str(m: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(type_error(key, "string")),
    }
}

/// A boolean field; absent or null is `false` (Go's zero value).
fn get_bool(m: &Map<String, Value>, key: &str) -> Result<bool, ApiError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(type_error(key, "bool")),
    }
}

fn get_list(m: &Map<String, Value>, key: &str) -> Result<Vec<String>, ApiError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| type_error(key, "[]string"))
            })
            .collect(),
        Some(_) => Err(type_error(key, "[]string")),
    }
}

fn get_int(m: &Map<String, Value>, key: &str) -> Result<i64, ApiError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| type_error(key, "int")),
        Some(_) => Err(type_error(key, "int")),
    }
}

// ====================================================================== timestamps

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds as an RFC 3339 UTC timestamp (Go's `time.Time` JSON).
pub(crate) fn rfc3339(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// An RFC 3339 timestamp as Unix seconds (fractions dropped).
pub(crate) fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[13] != b':' || b[16] != b':' || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(&rest[..1], "+" | "-") && &rest[3..4] == ":" => {
            let oh: i64 = rest[1..3].parse().ok()?;
            let om: i64 = rest[4..6].parse().ok()?;
            let off = oh * 3600 + om * 60;
            if rest.starts_with('-') { -off } else { off }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo as u32, d as u32);
    Some(days * 86_400 + h * 3600 + mi * 60 + s - offset)
}

// ====================================================================== DTOs

fn group_of<'a>(st: &'a State, name: &str) -> Option<&'a (UserGroup, i64)> {
    st.admin.groups.iter().find(|(g, _)| g.name == name)
}

fn group_dto(st: &State, group: &UserGroup, created_at: i64) -> String {
    let users = st
        .users
        .iter()
        .filter(|u| u.groups.contains(&group.name))
        .count();
    ordered(&[
        ("id", Field::from(group.id.clone())),
        ("friendlyName", Field::from(group.friendly_name.clone())),
        ("name", Field::from(group.name.clone())),
        ("customClaims", Field::Raw("[]".into())),
        ("userCount", Field::Json(json!(users))),
        ("ldapId", Field::Json(Value::Null)),
        ("createdAt", Field::from(rfc3339(created_at))),
    ])
}

fn groups_json(st: &State, names: &[String]) -> String {
    let items: Vec<String> = names
        .iter()
        .filter_map(|n| group_of(st, n))
        .map(|(g, at)| group_dto(st, g, *at))
        .collect();
    format!("[{}]", items.join(","))
}

/// `dto.UserDto` for this version.
fn user_dto(app: &App, st: &State, user: &User) -> String {
    let meta = st.admin.meta_of(user);
    let mut f: Vec<(&str, Field)> = vec![
        ("id", Field::from(user.id.clone())),
        ("username", Field::from(user.username.clone())),
        ("email", Field::Json(json!(user.email))),
    ];
    if app.version >= (2, 2, 0) {
        f.push(("emailVerified", Field::from(user.email_verified)));
    }
    f.extend([
        ("firstName", Field::from(user.first_name.clone())),
        ("lastName", Field::from(user.last_name.clone())),
        ("displayName", Field::from(meta.display_name)),
        ("isAdmin", Field::from(meta.is_admin)),
        ("locale", Field::Json(json!(meta.locale))),
        ("customClaims", Field::Raw("[]".into())),
        ("userGroups", Field::Raw(groups_json(st, &user.groups))),
        ("ldapId", Field::Json(Value::Null)),
        ("disabled", Field::from(meta.disabled)),
    ]);
    ordered(&f)
}

fn secret_dto(r: &SecretRecord) -> String {
    ordered(&secret_fields(r))
}

fn secret_fields(r: &SecretRecord) -> Vec<(&'static str, Field)> {
    vec![
        ("id", Field::from(r.id.clone())),
        ("prefix", Field::from(r.prefix.clone())),
        ("createdAt", Field::from(rfc3339(r.created_at))),
        (
            "expiresAt",
            Field::Json(
                r.expires_at
                    .map(|e| json!(rfc3339(e)))
                    .unwrap_or(Value::Null),
            ),
        ),
        ("isActive", Field::from(r.active(now_secs()))),
    ]
}

/// What a client DTO carries about its groups.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Groups {
    /// `allowedUserGroups` (get, create, update).
    Full,
    /// `allowedUserGroupsCount` (list items).
    Count,
    /// Neither (the allowed-user-groups update).
    Omitted,
}

/// `dto.OidcClientWithAllowedUserGroupsDto` for this version.
fn client_dto(app: &App, st: &State, c: &Client, groups: Groups) -> String {
    let v = app.version;
    let mut f: Vec<(&str, Field)> = vec![
        ("id", Field::from(c.id.clone())),
        ("name", Field::from(c.name.clone())),
    ];
    if v >= (2, 10, 0) {
        f.push(("description", Field::from(c.description.clone())));
    }
    f.extend([
        ("hasLogo", Field::from(false)),
        ("hasDarkLogo", Field::from(false)),
        ("launchURL", Field::Json(json!(c.launch_url))),
        (
            "requiresReauthentication",
            Field::from(c.requires_reauthentication),
        ),
    ]);
    if v >= (2, 13, 0) {
        f.push(("clientType", Field::from("standard")));
    }
    f.extend([
        ("callbackURLs", Field::Json(json!(c.callback_urls))),
        (
            "logoutCallbackURLs",
            Field::Json(json!(c.logout_callback_urls)),
        ),
        ("isPublic", Field::from(c.is_public)),
        ("pkceEnabled", Field::from(c.pkce_enabled || c.is_public)),
    ]);
    if v >= (2, 9, 0) {
        f.push((
            "requiresPushedAuthorizationRequests",
            Field::from(c.requires_par),
        ));
    }
    if v >= (2, 10, 0) {
        f.push(("skipConsent", Field::from(c.skip_consent)));
    }
    let mut credentials: Vec<(&str, Field)> = Vec::new();
    if !c.federated_identities.is_empty() {
        credentials.push((
            "federatedIdentities",
            Field::Json(Value::Array(c.federated_identities.clone())),
        ));
    }
    if v >= LATEST {
        let secrets = st
            .admin
            .secrets
            .get(&c.id)
            .filter(|l| !l.is_empty())
            .map(|l| {
                let items: Vec<String> = l.iter().map(secret_dto).collect();
                format!("[{}]", items.join(","))
            })
            .unwrap_or_else(|| "null".into());
        credentials.push(("secrets", Field::Raw(secrets)));
    }
    f.push(("credentials", Field::Raw(ordered(&credentials))));
    if v >= (2, 0, 0) {
        f.push(("isGroupRestricted", Field::from(c.is_group_restricted)));
    }
    if v >= (2, 13, 0) {
        f.push((
            "accessTokenDurationMinutes",
            Field::Json(json!(c.access_token_minutes)),
        ));
        f.push((
            "refreshTokenDurationMinutes",
            Field::Json(json!(c.refresh_token_minutes)),
        ));
    }
    match groups {
        Groups::Full => f.push((
            "allowedUserGroups",
            Field::Raw(groups_json(st, &c.allowed_user_groups)),
        )),
        Groups::Count => f.push((
            "allowedUserGroupsCount",
            Field::Json(json!(c.allowed_user_groups.len())),
        )),
        Groups::Omitted => {}
    }
    ordered(&f)
}

/// `{"data": [...], "pagination": {...}}` for `pagination[page]` and
/// `pagination[limit]` (default 20, at most 100; a page past the end is
/// clamped to the last one).
fn paginate(app: &App, items: Vec<String>, query: &Form) -> Response {
    let limit = query
        .get("pagination[limit]")
        .parse::<usize>()
        .ok()
        .filter(|l| *l > 0)
        .unwrap_or(20)
        .min(100);
    let total = items.len();
    let total_pages = total.div_ceil(limit);
    let page = query
        .get("pagination[page]")
        .parse::<usize>()
        .ok()
        .filter(|p| *p > 0)
        .unwrap_or(1)
        .min(total_pages.max(1));
    let data: Vec<String> = items
        .into_iter()
        .skip((page - 1) * limit)
        .take(limit)
        .collect();
    ok(
        app,
        200,
        ordered(&[
            ("data", Field::Raw(format!("[{}]", data.join(",")))),
            (
                "pagination",
                Field::Raw(ordered(&[
                    ("totalPages", Field::Json(json!(total_pages))),
                    ("totalItems", Field::Json(json!(total))),
                    ("currentPage", Field::Json(json!(page))),
                    ("itemsPerPage", Field::Json(json!(limit))),
                ])),
            ),
        ]),
    )
}

/// Every value of a repeated query parameter.
fn all_values<'a>(query: &'a Form, key: &str) -> Vec<&'a str> {
    query
        .0
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

// ====================================================================== users

fn find_user(st: &State, id: &str) -> Result<User, ApiError> {
    st.users
        .iter()
        .find(|u| u.id == id)
        .cloned()
        .ok_or_else(ApiError::user_not_found)
}

fn me(app: &App, st: &State, caller: &str) -> ApiResult {
    let user = find_user(st, caller)?;
    Ok(ok(app, 200, user_dto(app, st, &user)))
}

fn get_user(app: &App, st: &State, id: &str) -> ApiResult {
    let user = find_user(st, id)?;
    Ok(ok(app, 200, user_dto(app, st, &user)))
}

/// `GET /api/users?search=`: a case-insensitive substring match on email,
/// first name, last name and username (SQLite), plus filters and sorting.
fn list_users(app: &App, st: &State, query: &Form) -> ApiResult {
    let search = query.get("search").to_lowercase();
    let mut users: Vec<(User, UserMeta)> = st
        .users
        .iter()
        .filter(|u| {
            search.is_empty()
                || [
                    u.email.as_deref().unwrap_or(""),
                    &u.first_name,
                    &u.last_name,
                    &u.username,
                ]
                .iter()
                .any(|f| f.to_lowercase().contains(&search))
        })
        .map(|u| (u.clone(), st.admin.meta_of(u)))
        .collect();
    let flag_filter = |key: &str| -> Vec<bool> {
        all_values(query, key)
            .into_iter()
            .filter_map(|v| v.parse::<bool>().ok())
            .collect()
    };
    let mut filters: Vec<(&str, Vec<bool>)> = vec![
        ("isAdmin", flag_filter("filters[isAdmin]")),
        ("disabled", flag_filter("filters[disabled]")),
    ];
    if app.version >= (2, 2, 0) {
        filters.push(("emailVerified", flag_filter("filters[emailVerified]")));
    }
    for (field, wanted) in filters.into_iter().filter(|(_, w)| !w.is_empty()) {
        users.retain(|(u, m)| {
            let value = match field {
                "isAdmin" => m.is_admin,
                "disabled" => m.disabled,
                _ => u.email_verified,
            };
            wanted.contains(&value)
        });
    }
    let desc = query.get("sort[direction]").eq_ignore_ascii_case("desc");
    let key = |(u, m): &(User, UserMeta)| -> String {
        match query.get("sort[column]") {
            "username" => u.username.to_lowercase(),
            "email" => u.email.clone().unwrap_or_default().to_lowercase(),
            "firstName" => u.first_name.to_lowercase(),
            "lastName" => u.last_name.to_lowercase(),
            "displayName" => m.display_name.to_lowercase(),
            "emailVerified" => u.email_verified.to_string(),
            "isAdmin" => m.is_admin.to_string(),
            "disabled" => m.disabled.to_string(),
            _ => String::new(),
        }
    };
    users.sort_by_key(key);
    if desc {
        users.reverse();
    }
    let items = users.iter().map(|(u, _)| user_dto(app, st, u)).collect();
    Ok(paginate(app, items, query))
}

fn valid_username(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-'))
}

/// `PUT /api/users/:id`: a full replace. Omitting `emailVerified`
/// un-verifies, omitting `isAdmin` demotes, omitting `disabled` re-enables;
/// `userGroupIds` and `id` are ignored, custom claims untouched.
fn put_user(app: &App, st: &mut State, id: &str, req: &Req) -> ApiResult {
    let v = app.version;
    let current = find_user(st, id)?;
    let body = body_object(app, req, false)?;
    let username = get_str(&body, "username")?.unwrap_or_default();
    if username.is_empty() {
        return Err(ApiError::invalid_field(
            "username",
            "required",
            "is required",
        ));
    }
    if username.chars().count() > 50 {
        return Err(ApiError::invalid_field(
            "username",
            "max",
            "must be at most 50 characters long",
        ));
    }
    if v < (2, 5, 0) && username.chars().count() < 2 {
        return Err(ApiError::invalid_field(
            "username",
            "min",
            "must be at least 2 characters long",
        ));
    }
    if !valid_username(&username) {
        return Err(ApiError::invalid_field(
            "username",
            "invalid_format",
            "contains invalid characters",
        ));
    }
    // requireUserEmail is true by default.
    let email = get_str(&body, "email")?.filter(|e| !e.is_empty());
    let Some(email) = email else {
        return Err(ApiError::invalid_field("email", "required", "is required"));
    };
    if !email.contains('@') {
        return Err(ApiError::invalid_field(
            "email",
            "invalid_format",
            "must be a valid email address",
        ));
    }
    let first_name = get_str(&body, "firstName")?.unwrap_or_default();
    let last_name = get_str(&body, "lastName")?.unwrap_or_default();
    let display_name = get_str(&body, "displayName")?.unwrap_or_default();
    if v < (2, 4, 0) {
        if first_name.is_empty() {
            return Err(ApiError::invalid_field(
                "firstName",
                "required",
                "is required",
            ));
        }
        if display_name.is_empty() {
            return Err(ApiError::invalid_field(
                "displayName",
                "required",
                "is required",
            ));
        }
    }
    let email_verified = get_bool(&body, "emailVerified")?;
    let is_admin = get_bool(&body, "isAdmin")?;
    let disabled = get_bool(&body, "disabled")?;
    let locale = get_str(&body, "locale")?;
    let others = st.users.iter().filter(|u| u.id != id);
    if others.clone().any(|u| {
        u.email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(&email))
    }) {
        return Err(ApiError::already_in_use("Email"));
    }
    if others.clone().any(|u| u.username == username) {
        return Err(ApiError::already_in_use("Username"));
    }
    let mut updated = current.clone();
    updated.username = username;
    updated.email = Some(email);
    updated.first_name = first_name;
    updated.last_name = last_name;
    if v >= (2, 2, 0) {
        // The body's value wins, even when the email changes in the same call.
        updated.email_verified = email_verified;
    }
    if let Some(u) = st.users.iter_mut().find(|u| u.id == id) {
        *u = updated.clone();
    }
    st.admin.meta.insert(
        id.to_string(),
        UserMeta {
            display_name,
            is_admin,
            disabled,
            locale,
        },
    );
    Ok(ok(app, 200, user_dto(app, st, &updated)))
}

fn list_groups(app: &App, st: &State, query: &Form) -> ApiResult {
    let search = query.get("search").to_lowercase();
    let items = st
        .admin
        .groups
        .iter()
        .filter(|(g, _)| {
            search.is_empty()
                || g.name.to_lowercase().contains(&search)
                || g.friendly_name.to_lowercase().contains(&search)
        })
        .map(|(g, at)| group_dto(st, g, *at))
        .collect();
    Ok(paginate(app, items, query))
}

// ====================================================================== clients

fn find_client(st: &State, id: &str) -> Result<Client, ApiError> {
    st.client(id)
        .ok_or_else(|| ApiError::not_found("OIDC client"))
}

fn list_clients(app: &App, st: &State, query: &Form) -> ApiResult {
    let search = query.get("search").to_lowercase();
    let mut clients: Vec<&Client> = st
        .clients
        .iter()
        .filter(|c| search.is_empty() || c.name.to_lowercase().contains(&search))
        .collect();
    if query.get("sort[column]") == "name" {
        clients.sort_by_key(|c| c.name.to_lowercase());
        if query.get("sort[direction]").eq_ignore_ascii_case("desc") {
            clients.reverse();
        }
    }
    let items = clients
        .into_iter()
        .map(|c| client_dto(app, st, c, Groups::Count))
        .collect();
    Ok(paginate(app, items, query))
}

/// A callback URL the server accepts for this version: never `javascript:`
/// or `data:`; from v2.6 a URL pattern with a scheme (or a lone `*`).
fn valid_callback(version: Version, url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    if lower.starts_with("javascript:") || lower.starts_with("data:") {
        return false;
    }
    if version < (2, 6, 0) || url == "*" {
        return true;
    }
    match url.split_once("://") {
        Some((scheme, rest)) => {
            !scheme.is_empty()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.' | b'*'))
                && !rest.is_empty()
        }
        None => false,
    }
}

/// Every field of a create or update body, applied to `base` the way a Go
/// struct binding does: an omitted field is its zero value. Keeps `base`'s
/// id and secrets (and, while the client stays restricted, its groups).
fn client_from_body(
    app: &App,
    body: &Map<String, Value>,
    base: Client,
) -> Result<Client, ApiError> {
    let v = app.version;
    let name = get_str(body, "name")?.unwrap_or_default();
    if name.is_empty() {
        return Err(ApiError::invalid_field("name", "required", "is required"));
    }
    if name.chars().count() > 50 {
        return Err(ApiError::invalid_field(
            "name",
            "max",
            "must be at most 50 characters long",
        ));
    }
    let description = if v >= (2, 10, 0) {
        get_str(body, "description")?.unwrap_or_default()
    } else {
        String::new()
    };
    if description.chars().count() > 150 {
        return Err(ApiError::invalid_field(
            "description",
            "max",
            "must be at most 150 characters long",
        ));
    }
    let callback_urls = get_list(body, "callbackURLs")?;
    let logout_callback_urls = get_list(body, "logoutCallbackURLs")?;
    for (field, list) in [
        ("callbackURLs", &callback_urls),
        ("logoutCallbackURLs", &logout_callback_urls),
    ] {
        if list.iter().any(|u| !valid_callback(v, u)) {
            return Err(ApiError::invalid_field(
                field,
                "invalid_value",
                "contains an invalid URL",
            ));
        }
    }
    let is_public = get_bool(body, "isPublic")?;
    let pkce_enabled = get_bool(body, "pkceEnabled")? || is_public;
    let requires_reauthentication = get_bool(body, "requiresReauthentication")?;
    let requires_par = v >= (2, 9, 0) && get_bool(body, "requiresPushedAuthorizationRequests")?;
    let skip_consent = v >= (2, 10, 0) && get_bool(body, "skipConsent")?;
    let launch_url = get_str(body, "launchURL")?.filter(|u| !u.is_empty());
    let federated_identities = match body.get("credentials") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(c)) => match c.get("federatedIdentities") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => list.clone(),
            Some(_) => return Err(type_error("federatedIdentities", "[]")),
        },
        Some(_) => return Err(type_error("credentials", "struct")),
    };
    let minutes = |key: &str, default: u32| -> Result<u32, ApiError> {
        if v < (2, 13, 0) {
            return Ok(default);
        }
        match get_int(body, key)? {
            0 => Ok(default),
            n @ 1..=525_600 => Ok(n as u32),
            _ => Err(ApiError::invalid_field(
                key,
                "out_of_range",
                "must be between 1 and 525600",
            )),
        }
    };
    let access_token_minutes = minutes("accessTokenDurationMinutes", DEFAULT_ACCESS_TOKEN_MINUTES)?;
    let refresh_token_minutes =
        minutes("refreshTokenDurationMinutes", DEFAULT_REFRESH_TOKEN_MINUTES)?;
    if get_str(body, "logoUrl")?.is_some_and(|u| !u.is_empty())
        || get_str(body, "darkLogoUrl")?.is_some_and(|u| !u.is_empty())
    {
        // The emulator has no network: every logo download fails.
        return Err(
            ApiError::new(422, "logo_download_failed", "Logo could not be downloaded")
                .legacy(400, "Failed to download logo"),
        );
    }
    let (is_group_restricted, allowed_user_groups) = if v >= (2, 0, 0) {
        let restricted = get_bool(body, "isGroupRestricted")?;
        // Lifting the restriction deletes every allowed-group link.
        let groups = if restricted {
            base.allowed_user_groups.clone()
        } else {
            Vec::new()
        };
        (restricted, groups)
    } else {
        (false, base.allowed_user_groups.clone())
    };
    Ok(Client {
        name,
        description,
        callback_urls,
        logout_callback_urls,
        is_public,
        pkce_enabled,
        requires_reauthentication,
        requires_par,
        skip_consent,
        launch_url,
        federated_identities,
        access_token_minutes,
        refresh_token_minutes,
        is_group_restricted,
        allowed_user_groups,
        ..base
    })
}

fn valid_client_id(id: &str) -> bool {
    (2..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `POST /api/oidc/clients`: 201 with the DTO; no secret yet.
fn create_client(app: &App, st: &mut State, req: &Req) -> ApiResult {
    let body = body_object(app, req, false)?;
    let id = match get_str(&body, "id")?.filter(|i| !i.is_empty()) {
        Some(id) if app.version >= (1, 8, 0) => {
            if !valid_client_id(&id) {
                return Err(ApiError::invalid_field(
                    "id",
                    "invalid_format",
                    "must be 2-128 characters of A-Z, a-z, 0-9, '.', '_' or '-'",
                ));
            }
            if st.client(&id).is_some() {
                return Err(ApiError::new(
                    409,
                    "client_id_already_exists",
                    "Client ID is already in use",
                )
                .legacy(400, "Client ID already in use"));
            }
            id
        }
        _ => uuid_v4(),
    };
    let base = Client {
        secret: None,
        ..Client::confidential(&id, "", &[])
    };
    let client = client_from_body(app, &body, base)?;
    st.clients.push(client.clone());
    Ok(ok(app, 201, client_dto(app, st, &client, Groups::Full)))
}

/// `PUT /api/oidc/clients/:id`: a full replace (secrets are kept).
fn put_client(app: &App, st: &mut State, id: &str, req: &Req) -> ApiResult {
    let current = find_client(st, id)?;
    let body = body_object(app, req, false)?;
    let updated = client_from_body(app, &body, current)?;
    if let Some(c) = st.clients.iter_mut().find(|c| c.id == id) {
        *c = updated.clone();
    }
    Ok(ok(app, 200, client_dto(app, st, &updated, Groups::Full)))
}

fn set_allowed_groups(app: &App, st: &mut State, id: &str, req: &Req) -> ApiResult {
    find_client(st, id)?;
    let body = body_object(app, req, false)?;
    if !matches!(body.get("userGroupIds"), Some(Value::Array(_))) {
        return Err(ApiError::invalid_field(
            "userGroupIds",
            "required",
            "is required",
        ));
    }
    // Unknown ids are dropped silently; the restriction flag is not touched.
    let names: Vec<String> = get_list(&body, "userGroupIds")?
        .iter()
        .filter_map(|gid| st.admin.groups.iter().find(|(g, _)| &g.id == gid))
        .map(|(g, _)| g.name.clone())
        .collect();
    let mut updated = None;
    if let Some(c) = st.clients.iter_mut().find(|c| c.id == id) {
        c.allowed_user_groups = names;
        updated = Some(c.clone());
    }
    let client = updated.ok_or_else(|| ApiError::not_found("OIDC client"))?;
    Ok(ok(app, 200, client_dto(app, st, &client, Groups::Omitted)))
}

// ====================================================================== secrets

fn printable_ascii(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// The body's `secret`, or a fresh 32-character alphanumeric one.
fn chosen_secret(body: &Map<String, Value>) -> Result<String, ApiError> {
    match get_str(body, "secret")? {
        Some(s) if !s.is_empty() => {
            if s.len() < 16 || !printable_ascii(&s) {
                return Err(ApiError::invalid_field(
                    "secret",
                    "invalid_value",
                    "must be at least 16 printable ASCII characters",
                ));
            }
            Ok(s)
        }
        _ => Ok(random_alnum(32)),
    }
}

/// ≤ v2.13 `POST …/secret`: 200 `{secret}`, replacing the only secret.
fn replace_secret(app: &App, st: &mut State, id: &str, req: &Req) -> ApiResult {
    find_client(st, id)?;
    let body = body_object(app, req, true)?;
    let secret = if app.version >= (2, 12, 0) {
        chosen_secret(&body)?
    } else {
        random_alnum(32)
    };
    st.admin.secrets.insert(
        id.to_string(),
        vec![SecretRecord {
            id: uuid_v4(),
            prefix: String::new(),
            created_at: now_secs(),
            expires_at: None,
            value: secret.clone(),
        }],
    );
    if let Some(c) = st.clients.iter_mut().find(|c| c.id == id) {
        c.secret = Some(secret.clone());
    }
    Ok(ok(app, 200, ordered(&[("secret", Field::from(secret))])))
}

/// v2.14 `POST …/secrets`: 201, one more secret; the others stay valid.
fn add_secret(app: &App, st: &mut State, id: &str, req: &Req) -> ApiResult {
    let client = find_client(st, id)?;
    let body = body_object(app, req, true)?;
    if client.is_public {
        return Err(ApiError::validation(
            "Public clients can't have a client secret",
        ));
    }
    if st.admin.secrets.get(id).map_or(0, Vec::len) >= MAX_SECRETS {
        return Err(ApiError::validation(
            "A client can't have more than 20 secrets",
        ));
    }
    let secret = chosen_secret(&body)?;
    let now = now_secs();
    let expires_at = match get_str(&body, "expiresAt")? {
        None => None,
        Some(text) => match parse_rfc3339(&text) {
            Some(at) if at > now => Some(at),
            Some(_) => {
                return Err(ApiError::invalid_field(
                    "expiresAt",
                    "invalid_value",
                    "must be in the future",
                ));
            }
            None => return Err(type_error("expiresAt", "time.Time")),
        },
    };
    let record = SecretRecord {
        id: uuid_v4(),
        prefix: secret.chars().take(4).collect(),
        created_at: now,
        expires_at,
        value: secret.clone(),
    };
    let mut fields = secret_fields(&record);
    fields.push(("secret", Field::from(secret.clone())));
    st.admin
        .secrets
        .entry(id.to_string())
        .or_default()
        .push(record);
    if let Some(c) = st.clients.iter_mut().find(|c| c.id == id) {
        c.secret = Some(secret);
    }
    Ok(ok(app, 201, ordered(&fields)))
}

fn delete_secret(app: &App, st: &mut State, id: &str, secret_id: &str) -> ApiResult {
    find_client(st, id)?;
    let list = st.admin.secrets.entry(id.to_string()).or_default();
    let Some(pos) = list.iter().position(|r| r.id == secret_id) else {
        return Err(ApiError::not_found("Client secret"));
    };
    let removed = list.remove(pos);
    let newest = list.last().map(|r| r.value.clone());
    if let Some(c) = st.clients.iter_mut().find(|c| c.id == id)
        && c.secret.as_deref() == Some(removed.value.as_str())
    {
        c.secret = newest;
    }
    Ok(no_content(app))
}

// ====================================================================== preview

/// `GET /api/oidc/clients/:id/preview/:userId?scopes=`: the claims of the
/// tokens the server would issue, built like the token endpoint builds them
/// (minus what only a real login has: `nonce`, `at_hash`, `rat`, `amr`).
fn preview(app: &App, st: &State, client_id: &str, user_id: &str, query: &Form) -> ApiResult {
    let raw = query.get("scopes");
    if raw.is_empty() {
        return Err(ApiError::invalid_field("scopes", "required", "is required"));
    }
    let client = find_client(st, client_id)?;
    let user = find_user(st, user_id)?;
    if !admits(app.version, &client, &user) {
        return Err(ApiError::access_denied());
    }
    // The token shapes follow the login flow's profile; the v2.10 changes
    // to the preview itself follow the version.
    let modern = app.profile == Profile::Modern;
    let v2_10 = app.version >= (2, 10, 0);
    // Split on spaces only: "openid,email" is one unknown scope.
    let scopes: Vec<String> = raw
        .split(' ')
        .filter(|s| !s.is_empty())
        .filter(|s| !v2_10 || KNOWN_SCOPES.contains(s))
        .map(str::to_string)
        .collect();
    let now = now_secs();
    let claims = user_claims(app, &user, &scopes);
    let mut userinfo = claims.clone();
    let mut id_token = claims;
    id_token.insert("iss".into(), json!(app.issuer));
    id_token.insert("exp".into(), json!(now + TOKEN_LIFETIME));
    id_token.insert("iat".into(), json!(now));
    id_token.insert("jti".into(), json!(uuid_v4()));
    id_token.insert("type".into(), json!("id-token"));
    if v2_10 {
        userinfo.insert("type".into(), json!("id-token"));
    }
    let access = if modern {
        id_token.insert("aud".into(), json!([client.id]));
        id_token.insert("auth_time".into(), json!(now));
        let mut audience = vec![client.id.clone()];
        if scopes.iter().any(|s| IDENTITY_SCOPES.contains(&s.as_str())) {
            audience.push(app.issuer.clone());
        }
        json!({
            "iss": app.issuer,
            "sub": user.id,
            "client_id": client.id,
            "aud": audience,
            "scope": scopes.join(" "),
            "scp": scopes,
            "jti": uuid_v4(),
            "iat": now,
            "exp": now + TOKEN_LIFETIME,
        })
    } else {
        id_token.insert("aud".into(), json!(client.id));
        json!({
            "iss": app.issuer,
            "sub": user.id,
            "aud": [client.id],
            "iat": now,
            "exp": now + TOKEN_LIFETIME,
            "jti": uuid_v4(),
            "type": "oauth-access-token",
        })
    };
    Ok(ok(
        app,
        200,
        ordered(&[
            ("idToken", Field::Raw(sorted_json(&Value::Object(id_token)))),
            ("accessToken", Field::Raw(sorted_json(&access))),
            (
                "userInfo",
                Field::Raw(sorted_json(&Value::Object(userinfo))),
            ),
        ]),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("2.14.0"), Some((2, 14, 0)));
        assert_eq!(parse_version("v2.9"), Some((2, 9, 0)));
        assert_eq!(parse_version("2.10.0-rc1"), Some((2, 10, 0)));
        assert_eq!(parse_version("unknown"), None);
    }

    #[test]
    fn rfc3339_round_trips() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_787_400_000), "2026-08-22T12:00:00Z");
        for secs in [0, 951_782_400, 1_787_400_000, 4_102_444_799] {
            assert_eq!(parse_rfc3339(&rfc3339(secs)), Some(secs));
        }
        assert_eq!(
            parse_rfc3339("2026-08-22T14:00:00.123+02:00"),
            Some(1_787_400_000)
        );
        assert_eq!(parse_rfc3339("2026-08-22"), None);
        assert_eq!(parse_rfc3339("2026-13-22T00:00:00Z"), None);
    }

    #[test]
    fn callback_validation_by_version() {
        assert!(valid_callback((2, 14, 0), "https://r.example.com/cb"));
        assert!(valid_callback((2, 14, 0), "*://r.example.com/cb"));
        assert!(valid_callback((2, 14, 0), "*"));
        assert!(!valid_callback((2, 14, 0), "r.example.com/cb"));
        assert!(!valid_callback((2, 14, 0), "javascript:alert(1)"));
        assert!(valid_callback((2, 5, 0), "r.example.com/cb"));
        assert!(!valid_callback((2, 5, 0), "data:text/html,x"));
    }
}
