//! The authorization endpoint (pocketid.md §4, §6) and the emulator's
//! stand-in for the interactive login step.
//!
//! Modern follows fosite's `NewAuthorizeRequest` order (client → redirect_uri
//! → scope → response_type → response_mode → prompt → state), then Pocket
//! ID's authorization service (PKCE flag → sign-in), then fosite's
//! `NewAuthorizeResponse` (insecure callback → PKCE for public clients).
//! Legacy serves the v2.9 SvelteKit page for every `GET /authorize` and
//! does, on the page's stand-in `POST /authorize`, what its script plus
//! `POST /api/oidc/authorize` did.

use crate::callback_match::{is_redirect_uri_secure, match_legacy, match_modern};
use crate::errors::{self, RfcError};
use crate::util::{
    Form, b64url, form_escape, go_values_encode, html, now_secs, random_alnum, random_bytes,
    redirect, response, uuid_v4,
};
use crate::{App, BrowserSession, Client, CodeGrant, Interaction, Req, bounded_insert, spa};
use axum::response::Response;

pub const SESSION_COOKIE: &str = "access_token";
const CODE_LIFETIME: i64 = 15 * 60;
const INTERACTION_LIFETIME: i64 = 60 * 60;
const SESSION_LIFETIME: i64 = 60 * 60;
const SUPPORTED_SCOPES: [&str; 5] = ["openid", "profile", "email", "groups", "offline_access"];
const INVALID_INTERACTION: &str = "The interaction session is invalid or has expired.";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Query,
    Fragment,
    FormPost,
}

/// Where a modern authorize error goes once `redirect_uri` is known to be valid.
struct ClientTarget<'a> {
    app: &'a App,
    redirect: String,
    state: String,
    mode: Mode,
}

impl ClientTarget<'_> {
    /// fosite `WriteAuthorizeError`: 303 to the client (plus RFC 9207 `iss`).
    fn error(&self, e: RfcError) -> Response {
        let params = vec![
            ("error".to_string(), e.error.to_string()),
            ("error_description".to_string(), e.description()),
            ("iss".to_string(), self.app.issuer.clone()),
            ("state".to_string(), self.state.clone()),
        ];
        respond(&self.redirect, self.mode, params)
    }
}

/// Delivers authorization response parameters (success or error) per response mode.
fn respond(redirect_uri: &str, mode: Mode, params: Vec<(String, String)>) -> Response {
    let no_fragment = redirect_uri.split('#').next().unwrap_or("");
    let no_cache = [
        ("cache-control", "no-store".to_string()),
        ("pragma", "no-cache".to_string()),
    ];
    match mode {
        Mode::FormPost => {
            let mut sorted = params;
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            response(
                200,
                &[
                    ("content-type", "text/html;charset=UTF-8".to_string()),
                    no_cache[0].clone(),
                    no_cache[1].clone(),
                ],
                spa::form_post_page(no_fragment, &sorted),
            )
        }
        Mode::Fragment => {
            let location = format!("{no_fragment}#{}", go_values_encode(&params));
            response(
                303,
                &[
                    ("location", location),
                    no_cache[0].clone(),
                    no_cache[1].clone(),
                ],
                Vec::new(),
            )
        }
        Mode::Query => {
            let (base, existing) = match no_fragment.split_once('?') {
                Some((b, q)) => (b, Form::parse(q.as_bytes()).0),
                None => (no_fragment, Vec::new()),
            };
            let mut all = params;
            all.extend(existing);
            let location = format!("{base}?{}", go_values_encode(&all));
            response(
                303,
                &[
                    ("location", location),
                    no_cache[0].clone(),
                    no_cache[1].clone(),
                ],
                Vec::new(),
            )
        }
    }
}

/// `302 /interaction/error?error=<hint>` (the redirect URI is not trusted yet).
fn interaction_error(message: &str) -> Response {
    let query = go_values_encode(&[("error".to_string(), message.to_string())]);
    redirect(302, &format!("/interaction/error?{query}"))
}

/// Who the browser is signed in as: a resumed interaction, the session
/// cookie, or the configured pre-signed-in user. Returns (username, auth_time).
fn signed_in_user(app: &App, req: &Req, resumed: Option<&Interaction>) -> Option<(String, i64)> {
    if let Some(i) = resumed
        && let Some(u) = &i.username
    {
        return Some((u.clone(), i.auth_time));
    }
    if let Some(token) = req.cookie(SESSION_COOKIE) {
        let st = app.state();
        if let Some(s) = st.sessions.get(&token)
            && s.expires_at > now_secs()
        {
            return Some((s.username.clone(), s.auth_time));
        }
    }
    app.session_user.clone().map(|u| (u, app.started_at))
}

fn split_scopes(raw: &str) -> Vec<String> {
    raw.split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Stores a pending interaction (the request parameters minus `interaction`,
/// `request` and `request_uri`) and returns its id.
fn store_interaction(app: &App, form: &Form, existing: Option<&str>) -> String {
    let id = existing.map(str::to_string).unwrap_or_else(uuid_v4);
    let now = now_secs();
    let params: Vec<(String, String)> = form
        .0
        .iter()
        .filter(|(k, v)| {
            !v.is_empty() && !matches!(k.as_str(), "interaction" | "request" | "request_uri")
        })
        .cloned()
        .collect();
    let mut st = app.state();
    if !st.interactions.contains_key(&id) {
        bounded_insert(
            &mut st.interactions,
            id.clone(),
            Interaction {
                params,
                username: None,
                auth_time: 0,
                created_at: now,
                expires_at: now + INTERACTION_LIFETIME,
            },
        );
    }
    id
}

fn load_interaction(app: &App, id: &str) -> Option<Interaction> {
    let st = app.state();
    st.interactions
        .get(id)
        .filter(|i| i.expires_at > now_secs())
        .cloned()
}

#[allow(clippy::too_many_arguments)]
fn issue_code(
    app: &App,
    code: &str,
    client: &Client,
    username: &str,
    scopes: Vec<String>,
    form: &Form,
    requested_at: i64,
    auth_time: i64,
) {
    let now = now_secs();
    let grant = CodeGrant {
        client_id: client.id.clone(),
        username: username.to_string(),
        scopes,
        nonce: form.get("nonce").to_string(),
        redirect_uri: form.get("redirect_uri").to_string(),
        code_challenge: form.get("code_challenge").to_string(),
        code_challenge_method: form.get("code_challenge_method").to_string(),
        requested_at,
        auth_time,
        expires_at: now + CODE_LIFETIME,
        used: false,
        issued_tokens: Vec::new(),
    };
    bounded_insert(&mut app.state().codes, code.to_string(), grant);
}

// ====================================================================== modern

pub fn modern(app: &App, req: &Req) -> Response {
    let mut form = req.form();
    // Resuming an interaction: the stored parameters replace the request's.
    let interaction_id = req.query.get("interaction").to_string();
    let mut resumed = None;
    if !interaction_id.is_empty() {
        match load_interaction(app, &interaction_id) {
            Some(i) => {
                form = Form(i.params.clone());
                form.set("interaction", &interaction_id);
                resumed = Some(i);
            }
            None => return interaction_error(INVALID_INTERACTION),
        }
    }

    // --- fosite NewAuthorizeRequest
    let state = form.get("state").to_string();
    let Some(client) = app.state().client(form.get("client_id")) else {
        return interaction_error("The requested OAuth 2.0 Client does not exist.");
    };
    let requested_scopes = split_scopes(form.get("scope"));
    let raw_redirect = form.get("redirect_uri");
    if raw_redirect.is_empty() && requested_scopes.iter().any(|s| s == "openid") {
        return interaction_error(
            "The 'redirect_uri' parameter is required when using OpenID Connect 1.0.",
        );
    }
    let Some(redirect_uri) = match_modern(&client.callback_urls, raw_redirect) else {
        return interaction_error(&format!(
            "The redirect_uri '{raw_redirect}' is not registered for this client."
        ));
    };
    let mut target = ClientTarget {
        app,
        redirect: redirect_uri.clone(),
        state: state.clone(),
        mode: Mode::Query,
    };
    // Unknown scopes are dropped silently (IgnoreUnknownScopes).
    let granted: Vec<String> = requested_scopes
        .into_iter()
        .filter(|s| SUPPORTED_SCOPES.contains(&s.as_str()))
        .collect();
    let response_type = form.get("response_type");
    let response_types = split_scopes(response_type);
    if response_types.is_empty() {
        return target.error(
            errors::unsupported_response_type()
                .hint("`The request is missing the 'response_type' parameter."),
        );
    }
    if response_types != ["code"] {
        return target.error(errors::unsupported_response_type().hint(format!(
            "The client is not allowed to request response_type '{response_type}'."
        )));
    }
    target.mode = match form.get("response_mode") {
        "" | "query" => Mode::Query,
        "fragment" => Mode::Fragment,
        "form_post" => Mode::FormPost,
        other => {
            return target.error(errors::unsupported_response_mode().hint(format!(
                "Request with unsupported response_mode \"{other}\"."
            )));
        }
    };
    let prompt = split_scopes(form.get("prompt"));
    if let Some(unknown) = prompt
        .iter()
        .find(|p| !matches!(p.as_str(), "none" | "login" | "consent" | "select_account"))
    {
        return target.error(errors::invalid_request().hint(format!(
            "Used unknown value '{unknown}' for prompt parameter"
        )));
    }
    let prompt_none = prompt.iter().any(|p| p == "none");
    if prompt_none && prompt.len() > 1 {
        return target.error(errors::invalid_request().hint(
            "Parameter 'prompt' was set to 'none', but contains other values as well which is not allowed.",
        ));
    }
    if state.len() < 8 {
        return target.error(errors::invalid_state().hint(
            "Request parameter 'state' must be at least be 8 characters long to ensure sufficient entropy.",
        ));
    }

    // --- Pocket ID authorization service (before sign-in: the redirect URI is
    // valid by now, so these errors go to the client's callback)
    if client.pkce_enabled && form.get("code_challenge").is_empty() {
        return target
            .error(errors::invalid_request().hint(
                "This client requires PKCE, but the 'code_challenge' parameter is missing.",
            ));
    }
    // Pocket ID's PAR-required error is not an RFC 6749 error, so fosite
    // sends it to the client as its generic unrecognizable error.
    if client.requires_par
        && resumed.is_none()
        && !form
            .get("request_uri")
            .starts_with("urn:ietf:params:oauth:request_uri:")
    {
        return target.error(errors::unrecognizable());
    }
    let user = signed_in_user(app, req, resumed.as_ref());
    let login_completed = resumed.as_ref().is_some_and(|i| i.username.is_some());
    let needs_interaction = match &user {
        None => true,
        Some(_) => {
            !login_completed
                && prompt
                    .iter()
                    .any(|p| matches!(p.as_str(), "login" | "consent" | "select_account"))
        }
    };
    if needs_interaction {
        if prompt_none {
            return target.error(errors::login_required());
        }
        let existing = (!interaction_id.is_empty()).then_some(interaction_id.as_str());
        let id = store_interaction(app, &form, existing);
        return redirect(302, &format!("/interaction?interaction={id}"));
    }
    let Some((username, auth_time)) = user else {
        return interaction_error("An unknown error occurred during the authorization request.");
    };
    if app.state().user(&username).is_none() {
        return interaction_error("An unknown error occurred during the authorization request.");
    }
    if !crate::admin::may_sign_in(app, &client, &username) {
        // Group restriction (pocketid.md §8): the error page, not the client.
        return interaction_error("You are not allowed to access this service.");
    }

    // --- fosite NewAuthorizeResponse
    if !app.allow_insecure && !is_redirect_uri_secure(&redirect_uri) {
        return target.error(errors::invalid_request().hint(
            "Redirect URL is using an insecure protocol, http is only allowed for hosts with suffix 'localhost', for example: http://myapp.localhost/.",
        ));
    }
    let challenge = form.get("code_challenge");
    if challenge.is_empty() {
        if client.is_public {
            return target.error(errors::invalid_request().hint(
                "Clients must include a code_challenge when performing the authorize code flow, but it is missing.",
            ));
        }
    } else if !matches!(form.get("code_challenge_method"), "S256" | "plain" | "") {
        return target.error(
            errors::invalid_request()
                .hint("The code_challenge_method is not supported, use S256 instead."),
        );
    }

    let now = now_secs();
    let requested_at = resumed.as_ref().map(|i| i.created_at).unwrap_or(now);
    if !interaction_id.is_empty() {
        app.state().interactions.remove(&interaction_id);
    }
    let code = format!(
        "pocket_id_ac_{}.{}",
        b64url(&random_bytes(32)),
        b64url(&random_bytes(32))
    );
    let scope = granted.join(" ");
    issue_code(
        app,
        &code,
        &client,
        &username,
        granted,
        &form,
        requested_at,
        auth_time,
    );
    let params = vec![
        ("code".to_string(), code),
        ("iss".to_string(), app.issuer.clone()),
        ("scope".to_string(), scope),
        ("state".to_string(), state),
    ];
    respond(&redirect_uri, target.mode, params)
}

/// `GET /interaction?interaction=<id>`: the stand-in for the SPA's passkey step.
pub fn interaction_page(app: &App, req: &Req) -> Response {
    let id = req.query.get("interaction");
    if load_interaction(app, id).is_none() {
        return spa::message_page(200, "Error", INVALID_INTERACTION);
    }
    html(200, spa::login_page(id, None))
}

/// `POST /interaction/<id>/login` with `username=<name>`: "the passkey
/// ceremony succeeded". Sets a browser session and resumes `/authorize`.
pub fn interaction_login(app: &App, req: &Req, id: &str) -> Response {
    let username = req.form().get("username").trim().to_string();
    if load_interaction(app, id).is_none() {
        return spa::message_page(404, "Error", INVALID_INTERACTION);
    }
    if app.state().user(&username).is_none() {
        return html(
            401,
            spa::login_page(id, Some("We couldn't verify your passkey")),
        );
    }
    let now = now_secs();
    let session_token = b64url(&random_bytes(24));
    {
        let mut st = app.state();
        if let Some(i) = st.interactions.get_mut(id) {
            i.username = Some(username.clone());
            i.auth_time = now;
        }
        bounded_insert(
            &mut st.sessions,
            session_token.clone(),
            BrowserSession {
                username,
                auth_time: now,
                expires_at: now + SESSION_LIFETIME,
            },
        );
    }
    response(
        303,
        &[
            ("location", format!("/authorize?interaction={id}")),
            (
                "set-cookie",
                format!("{SESSION_COOKIE}={session_token}; Path=/; HttpOnly; SameSite=Lax"),
            ),
        ],
        Vec::new(),
    )
}

// ====================================================================== legacy

fn legacy_error(message: &str) -> Response {
    html(200, spa::legacy_error_page(message))
}

/// v2.9 `getCallbackURL`: empty → first registered; registered → pattern
/// match; none registered → TOFU (the URL is stored on the client for good).
fn legacy_callback(app: &App, client_id: &str, input: &str) -> Result<String, &'static str> {
    let mut st = app.state();
    let Some(client) = st.clients.iter_mut().find(|c| c.id == client_id) else {
        return Err("Record not found");
    };
    if input.is_empty() {
        return client.callback_urls.first().cloned().ok_or(
            "Unable to detect callback url, it might be necessary for an admin to fix this.",
        );
    }
    if !client.callback_urls.is_empty() {
        return match_legacy(&client.callback_urls, input)
            .ok_or("Invalid callback URL, it might be necessary for an admin to fix this.");
    }
    client.callback_urls.push(input.to_string());
    Ok(input.to_string())
}

/// `GET /authorize` (≤ v2.9): the SPA page, whatever the parameters.
pub fn legacy_page(req: &Req) -> Response {
    html(200, spa::legacy_authorize_page(&req.query.0))
}

/// What the legacy page's script does with its parameters (the emulator's
/// `POST /authorize` stand-in for `POST /api/oidc/authorize` plus the
/// navigation that follows).
pub fn legacy(app: &App, req: &Req) -> Response {
    let mut form = req.post_form();
    let interaction_id = form.get("interaction").to_string();
    let mut resumed = None;
    if !interaction_id.is_empty() {
        match load_interaction(app, &interaction_id) {
            Some(i) => {
                form = Form(i.params.clone());
                resumed = Some(i);
            }
            None => return legacy_error(INVALID_INTERACTION),
        }
    }
    let Some((username, auth_time)) = signed_in_user(app, req, resumed.as_ref()) else {
        // The page first asks for a passkey: show the emulator's login stand-in.
        let existing = (!interaction_id.is_empty()).then_some(interaction_id.as_str());
        let id = store_interaction(app, &form, existing);
        return html(200, spa::login_page(&id, None));
    };
    let Some(client) = app.state().client(form.get("client_id")) else {
        return legacy_error("Record not found");
    };
    if app.state().user(&username).is_none() {
        return legacy_error("User not found");
    }
    if !crate::admin::may_sign_in(app, &client, &username) {
        return legacy_error("You're not allowed to access this service.");
    }
    if form.get("scope").is_empty() && form.get("request_uri").is_empty() {
        return legacy_error("Scope is required");
    }
    if client.pkce_enabled && form.get("code_challenge").is_empty() {
        return legacy_error("Missing code challenge");
    }
    let callback = match legacy_callback(app, &client.id, form.get("redirect_uri")) {
        Ok(c) => c,
        Err(message) => return legacy_error(message),
    };
    let now = now_secs();
    if !interaction_id.is_empty() {
        app.state().interactions.remove(&interaction_id);
    }
    let code = random_alnum(32);
    let scopes = split_scopes(form.get("scope"));
    let requested_at = resumed.as_ref().map(|i| i.created_at).unwrap_or(now);
    issue_code(
        app,
        &code,
        &client,
        &username,
        scopes,
        &form,
        requested_at,
        auth_time,
    );

    let mut params = vec![("code", code)];
    if !form.get("state").is_empty() {
        params.push(("state", form.get("state").to_string()));
    }
    params.push(("iss", app.issuer.clone()));
    let encoded = params
        .iter()
        .map(|(k, v)| format!("{k}={}", form_escape(v)))
        .collect::<Vec<_>>()
        .join("&");
    let location = if form.get("response_mode") == "fragment" {
        format!("{}#{encoded}", callback.split('#').next().unwrap_or(""))
    } else {
        let base = callback.split('#').next().unwrap_or("");
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}{encoded}")
    };
    redirect(302, &location)
}
