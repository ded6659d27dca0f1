//! User claims by scope (pocketid.md §3, §7.2) and the userinfo endpoint (§7.1).

use crate::errors::{self, RfcError};
use crate::util::{GIN_JSON, gin_json, now_secs, response, sorted_json};
use crate::{App, Profile, Req, User};
use axum::response::Response;
use serde_json::{Map, Value, json};

/// The scope-dependent claims shared by the ID token and userinfo.
pub fn user_claims(app: &App, user: &User, scopes: &[String]) -> Map<String, Value> {
    let has = |s: &str| scopes.iter().any(|x| x == s);
    let mut claims = Map::new();
    if has("profile") {
        let full_name = format!("{} {}", user.first_name, user.last_name)
            .trim()
            .to_string();
        claims.insert("given_name".into(), json!(user.first_name));
        claims.insert("family_name".into(), json!(user.last_name));
        claims.insert("name".into(), json!(full_name));
        if app.profile == Profile::Modern {
            claims.insert("display_name".into(), json!(full_name));
        }
        claims.insert("preferred_username".into(), json!(user.username));
        claims.insert(
            "picture".into(),
            json!(format!(
                "{}/api/users/{}/profile-picture.png",
                app.issuer, user.id
            )),
        );
    }
    claims.insert("sub".into(), json!(user.id));
    // Before v2.2 the claim is the global "Emails Verified" setting.
    let verified = if app.version < (2, 2, 0) {
        app.emails_verified
    } else {
        user.email_verified
    };
    if has("email") {
        match (app.profile, user.email.as_deref().filter(|e| !e.is_empty())) {
            (Profile::Modern, Some(email)) => {
                claims.insert("email".into(), json!(email));
                claims.insert("email_verified".into(), json!(verified));
            }
            (Profile::Modern, None) => {}
            // v2.2–v2.9 emitted `email: null` plus `email_verified` without an email.
            (Profile::Legacy, email) => {
                claims.insert("email".into(), json!(email));
                claims.insert("email_verified".into(), json!(verified));
            }
        }
    }
    if has("groups") {
        claims.insert("groups".into(), json!(user.groups));
    }
    claims
}

/// fosite `AccessTokenFromRequest`: `Authorization: Bearer …`, else the
/// `access_token` form or query parameter.
fn bearer_token(req: &Req) -> String {
    if let Some(auth) = req.header("authorization")
        && let Some((scheme, token)) = auth.split_once(' ')
        && scheme.eq_ignore_ascii_case("bearer")
    {
        return token.to_string();
    }
    req.form().get("access_token").to_string()
}

fn modern_error(e: RfcError) -> Response {
    let mut headers = vec![("content-type", GIN_JSON.to_string())];
    if e.status == 401 {
        headers.push((
            "www-authenticate",
            format!(
                "Bearer error=\"{}\", error_description=\"{}\"",
                e.error,
                e.description()
            ),
        ));
    }
    response(e.status, &headers, e.body())
}

pub fn userinfo(app: &App, req: &Req) -> Response {
    match app.profile {
        Profile::Modern => modern(app, req),
        Profile::Legacy => legacy(app, req),
    }
}

fn modern(app: &App, req: &Req) -> Response {
    let token = bearer_token(req);
    let st = app.state();
    let grant = st
        .access_tokens
        .get(&token)
        .filter(|g| !token.is_empty() && g.expires_at > now_secs());
    let Some(grant) = grant else {
        return modern_error(
            errors::request_unauthorized()
                .hint("Check that you provided valid credentials in the right format."),
        );
    };
    if !grant.audience.contains(&app.issuer) {
        let mut e = errors::access_denied();
        e.base = "The access token is not audienced to this server and cannot be used to access user information.";
        return modern_error(e);
    }
    if !grant.scopes.iter().any(|s| s == "openid") {
        let mut e = errors::access_denied();
        e.base = "The access token is missing the openid scope.";
        return modern_error(e);
    }
    let Some(user) = st.user(&grant.username) else {
        let mut e = errors::request_unauthorized();
        e.base = "The access token is invalid";
        return modern_error(e);
    };
    let scopes = grant.scopes.clone();
    drop(st);
    gin_json(
        200,
        sorted_json(&Value::Object(user_claims(app, &user, &scopes))),
    )
}

fn legacy(app: &App, req: &Req) -> Response {
    // v2.9: the header must split into exactly two parts on spaces.
    let header = req.header("authorization").unwrap_or("");
    let parts: Vec<&str> = header.split(' ').collect();
    if parts.len() != 2 {
        return gin_json(401, r#"{"error":"Missing access token"}"#.to_string());
    }
    let st = app.state();
    let found = st
        .access_tokens
        .get(parts[1])
        .filter(|g| g.expires_at > now_secs())
        .and_then(|g| st.user(&g.username).map(|u| (u, g.scopes.clone())));
    drop(st);
    match found {
        Some((user, scopes)) => gin_json(
            200,
            sorted_json(&Value::Object(user_claims(app, &user, &scopes))),
        ),
        // An invalid or expired JWT fell through to the generic handler.
        None => gin_json(500, r#"{"error":"Something went wrong"}"#.to_string()),
    }
}
