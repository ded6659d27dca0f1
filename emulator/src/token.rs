//! The token endpoint (pocketid.md §5) and the tokens it mints (§2).

use crate::errors::{self, RfcError};
use crate::keys::{at_hash, at_hash_sha512_for_eddsa};
use crate::userinfo::user_claims;
use crate::util::{
    FOSITE_JSON, Field, b64url, gin_json, now_secs, ordered, query_unescape, random_alnum,
    random_bytes, response, sorted_json, uuid_v4,
};
use crate::{
    AccessGrant, App, Client, Profile, RefreshGrant, Req, State, TokenFault, User,
    WRONG_TOKEN_AUDIENCE, WRONG_TOKEN_ISSUER, bounded_insert,
};
use aws_lc_rs::digest;
use axum::response::Response;
use serde_json::{Value, json};

const ACCESS_LIFETIME: i64 = 60 * 60;
const ID_TOKEN_LIFETIME: i64 = 60 * 60;
const REFRESH_LIFETIME: i64 = 30 * 24 * 60 * 60;
const IDENTITY_SCOPES: [&str; 4] = ["openid", "profile", "email", "groups"];

pub fn token(app: &App, req: &Req) -> Response {
    match app.profile {
        Profile::Modern => modern(app, req),
        Profile::Legacy => legacy(app, req),
    }
}

/// Signs an ID token, broken as [`crate::Faults::id_token`] asks.
/// `access_token` is the one issued with it (for the `at_hash` faults).
fn sign_id_token(
    app: &App,
    mut claims: serde_json::Map<String, Value>,
    access_token: &str,
) -> String {
    let Some(fault) = app.faults.id_token else {
        return app.key.sign_jwt("JWT", &Value::Object(claims));
    };
    let now = now_secs();
    // The profile's shape of `aud`: an array (modern) or a string (legacy).
    let listed = matches!(claims.get("aud"), Some(Value::Array(_)));
    let client = match claims.get("aud") {
        Some(Value::Array(list)) => list.first().cloned().unwrap_or(Value::Null),
        Some(other) => other.clone(),
        None => Value::Null,
    };
    match fault {
        TokenFault::WrongAudience | TokenFault::OtherAudienceWithAzp => {
            let aud = if listed {
                json!([WRONG_TOKEN_AUDIENCE])
            } else {
                json!(WRONG_TOKEN_AUDIENCE)
            };
            claims.insert("aud".into(), aud);
            if fault == TokenFault::OtherAudienceWithAzp {
                claims.insert("azp".into(), client);
            }
        }
        TokenFault::AudienceWithOther => {
            claims.insert("aud".into(), json!([client, WRONG_TOKEN_AUDIENCE]));
        }
        TokenFault::WrongAzp => {
            claims.insert("azp".into(), json!(WRONG_TOKEN_AUDIENCE));
        }
        TokenFault::Expired => {
            claims.insert("iat".into(), json!(now - 2 * 60 * 60));
            claims.insert("exp".into(), json!(now - 60 * 60));
        }
        TokenFault::ExpiredWithinLeeway => {
            claims.insert("iat".into(), json!(now - 61 * 60));
            claims.insert("exp".into(), json!(now - 60));
        }
        TokenFault::IssuedInFuture => {
            claims.insert("iat".into(), json!(now + 5 * 60));
            claims.insert("exp".into(), json!(now + 65 * 60));
        }
        TokenFault::ExpAsString => {
            let exp = claims.get("exp").map(Value::to_string).unwrap_or_default();
            claims.insert("exp".into(), json!(exp));
        }
        TokenFault::NoIat => {
            claims.remove("iat");
        }
        TokenFault::NoSub => {
            claims.remove("sub");
        }
        TokenFault::WrongNonce => {
            claims.insert(
                "nonce".into(),
                json!(format!("not-the-nonce-sent-{}", random_alnum(12))),
            );
        }
        TokenFault::NoNonce => {
            claims.remove("nonce");
        }
        TokenFault::WrongIssuer => {
            claims.insert("iss".into(), json!(WRONG_TOKEN_ISSUER));
        }
        TokenFault::NoAtHash => {
            claims.remove("at_hash");
        }
        TokenFault::WrongAtHash => {
            let other = format!("{access_token}-not");
            claims.insert("at_hash".into(), json!(at_hash(app.key.alg, &other)));
        }
        TokenFault::AtHashSha512ForEdDsa => {
            let hash = at_hash_sha512_for_eddsa(app.key.alg, access_token);
            claims.insert("at_hash".into(), json!(hash));
        }
        TokenFault::AlgNone
        | TokenFault::Hs256WithPublicKey
        | TokenFault::WrongKey
        | TokenFault::NoKid
        | TokenFault::NoKidTwoKeys => {}
    }
    let claims = Value::Object(claims);
    match fault {
        TokenFault::AlgNone => app.key.sign_jwt_none("JWT", &claims),
        TokenFault::Hs256WithPublicKey => app.key.sign_jwt_hs256_with_public_key("JWT", &claims),
        TokenFault::WrongKey => app
            .impostor_key
            .as_ref()
            .expect("Emulator::start creates the impostor key for TokenFault::WrongKey")
            .sign_jwt("JWT", &claims),
        TokenFault::NoKid | TokenFault::NoKidTwoKeys => {
            app.key.sign_jwt_without_kid("JWT", &claims)
        }
        _ => app.key.sign_jwt("JWT", &claims),
    }
}

// ====================================================================== modern (fosite)

fn modern(app: &App, req: &Req) -> Response {
    match modern_inner(app, req) {
        Ok(body) => response(
            200,
            &[
                ("content-type", FOSITE_JSON.to_string()),
                ("cache-control", "no-store".to_string()),
                ("pragma", "no-cache".to_string()),
            ],
            body,
        ),
        Err(e) => e.token_response(),
    }
}

/// fosite `AuthenticateClient` (client_secret_basic with form-URL-decoded
/// credentials, client_secret_post, or `none` for public clients).
fn authenticate_client(app: &App, req: &Req, form: &crate::util::Form) -> Result<Client, RfcError> {
    let (client_id, secret) = match req.basic_auth() {
        Some((id, secret)) => {
            let id = query_unescape(&id).map_err(|_| {
                errors::invalid_request().hint("The client id in the HTTP authorization header could not be decoded from 'application/x-www-form-urlencoded'.")
            })?;
            let secret = query_unescape(&secret).map_err(|_| {
                errors::invalid_request().hint("The client secret in the HTTP authorization header could not be decoded from 'application/x-www-form-urlencoded'.")
            })?;
            (id, secret)
        }
        None => {
            let id = form.get("client_id");
            if id.is_empty() {
                return Err(errors::invalid_request().hint(
                    "Client credentials missing or malformed in both HTTP Authorization header and HTTP POST body.",
                ));
            }
            (id.to_string(), form.get("client_secret").to_string())
        }
    };
    let client = app
        .state()
        .client(&client_id)
        .ok_or_else(errors::invalid_client)?;
    if !client.is_public && !app.state().secret_ok(&client.id, &secret) {
        return Err(errors::invalid_client());
    }
    Ok(client)
}

fn modern_inner(app: &App, req: &Req) -> Result<String, RfcError> {
    let form = req.post_form();
    let grant_type = form.get("grant_type");
    if grant_type.is_empty() {
        return Err(errors::invalid_request().hint("Request parameter 'grant_type' is missing"));
    }
    let client = authenticate_client(app, req, &form);
    match grant_type {
        "authorization_code" => code_grant(app, &client?, &form),
        "refresh_token" => refresh_grant(app, &client?, &form),
        // No token endpoint handler: fosite answers a bare invalid_request.
        _ => Err(errors::invalid_request()),
    }
}

/// fosite's PKCE handler at the token endpoint.
fn check_pkce(challenge: &str, method: &str, verifier: &str) -> Result<(), RfcError> {
    let grant = errors::invalid_grant;
    if verifier.len() < 43 {
        return Err(grant().hint("The PKCE code verifier must be at least 43 characters."));
    }
    if verifier.len() > 128 {
        return Err(grant().hint("The PKCE code verifier can not be longer than 128 characters."));
    }
    if !verifier
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    {
        return Err(grant()
            .hint("The PKCE code verifier must only contain [a-Z], [0-9], '-', '.', '_', '~'."));
    }
    let computed = if method == "S256" {
        b64url(digest::digest(&digest::SHA256, verifier.as_bytes()).as_ref())
    } else {
        verifier.to_string()
    };
    if computed != challenge {
        return Err(grant().hint("The PKCE code challenge did not match the code verifier."));
    }
    Ok(())
}

fn code_grant(app: &App, client: &Client, form: &crate::util::Form) -> Result<String, RfcError> {
    let code = form.get("code");
    let now = now_secs();
    let mut guard = app.state();
    let st: &mut State = &mut guard;
    let Some(grant) = st.codes.get_mut(code) else {
        return Err(errors::invalid_grant());
    };
    if grant.used {
        // Reuse also revokes what the first exchange issued.
        let revoked = std::mem::take(&mut grant.issued_tokens);
        for t in revoked {
            st.access_tokens.remove(&t);
            st.refresh_tokens.remove(&t);
        }
        return Err(errors::invalid_grant().hint("The authorization code has already been used."));
    }
    if grant.expires_at <= now {
        return Err(errors::invalid_grant());
    }
    if grant.client_id != client.id {
        return Err(errors::invalid_grant().hint(
            "The OAuth 2.0 Client ID from this request does not match the one from the authorize request.",
        ));
    }
    if !grant.redirect_uri.is_empty() && grant.redirect_uri != form.get("redirect_uri") {
        return Err(errors::invalid_grant().hint(
            "The \"redirect_uri\" from this request does not match the one from the authorize request.",
        ));
    }
    if !grant.code_challenge.is_empty() {
        check_pkce(
            &grant.code_challenge,
            &grant.code_challenge_method,
            form.get("code_verifier"),
        )?;
    }
    grant.used = true;
    let scopes = grant.scopes.clone();
    let nonce = grant.nonce.clone();
    let (username, auth_time, requested_at) =
        (grant.username.clone(), grant.auth_time, grant.requested_at);
    if scopes.iter().any(|s| s == "openid") && !nonce.is_empty() && nonce.len() < 8 {
        return Err(errors::insufficient_entropy().hint(
            "Parameter 'nonce' is set but does not satisfy the minimum entropy of 8 characters.",
        ));
    }
    let Some(user) = st.user(&username) else {
        return Err(errors::invalid_grant().hint("The user account no longer exists."));
    };
    let issued = issue_modern(
        app,
        st,
        client,
        &user,
        &scopes,
        Some(&nonce),
        auth_time,
        requested_at,
    );
    if let Some(grant) = st.codes.get_mut(code) {
        grant.issued_tokens = vec![issued.access_token.clone(), issued.refresh_token.clone()];
    }
    Ok(issued.body)
}

fn refresh_grant(app: &App, client: &Client, form: &crate::util::Form) -> Result<String, RfcError> {
    let token = form.get("refresh_token");
    let now = now_secs();
    let mut guard = app.state();
    let st: &mut State = &mut guard;
    let Some(grant) = st.refresh_tokens.get(token) else {
        return Err(errors::invalid_grant());
    };
    if grant.expires_at <= now {
        return Err(errors::invalid_grant());
    }
    if grant.client_id != client.id {
        return Err(errors::invalid_grant().hint(
            "The OAuth 2.0 Client ID from this request does not match the ID during the initial token issuance.",
        ));
    }
    let (username, scopes, auth_time) = (
        grant.username.clone(),
        grant.scopes.clone(),
        grant.auth_time,
    );
    st.refresh_tokens.remove(token);
    let Some(user) = st.user(&username) else {
        return Err(errors::invalid_grant().hint("The user account no longer exists."));
    };
    Ok(issue_modern(app, st, client, &user, &scopes, None, auth_time, now).body)
}

struct Issued {
    body: String,
    access_token: String,
    refresh_token: String,
}

#[allow(clippy::too_many_arguments)]
fn issue_modern(
    app: &App,
    st: &mut State,
    client: &Client,
    user: &User,
    scopes: &[String],
    nonce: Option<&str>,
    auth_time: i64,
    requested_at: i64,
) -> Issued {
    let now = now_secs();
    let mut audience = vec![client.id.clone()];
    if scopes.iter().any(|s| IDENTITY_SCOPES.contains(&s.as_str())) {
        audience.push(app.issuer.clone());
    }
    let access_claims = json!({
        "iss": app.issuer,
        "sub": user.id,
        "client_id": client.id,
        "aud": audience,
        "scope": scopes.join(" "),
        "scp": scopes,
        "jti": uuid_v4(),
        "iat": now,
        "exp": now + ACCESS_LIFETIME,
    });
    let access_token = app.key.sign_jwt("at+jwt", &access_claims);
    let refresh_token = format!(
        "pocket_id_rt_{}.{}",
        b64url(&random_bytes(32)),
        b64url(&random_bytes(32))
    );
    let mut body = json!({
        "access_token": access_token,
        "expires_in": ACCESS_LIFETIME - 1,
        "refresh_token": refresh_token,
        "scope": scopes.join(" "),
        "token_type": "bearer",
    });
    if scopes.iter().any(|s| s == "openid") {
        let mut claims = user_claims(app, user, scopes);
        claims.insert("iss".into(), json!(app.issuer));
        claims.insert("aud".into(), json!([client.id]));
        claims.insert("exp".into(), json!(now + ID_TOKEN_LIFETIME));
        claims.insert("iat".into(), json!(now));
        claims.insert("rat".into(), json!(requested_at));
        claims.insert("auth_time".into(), json!(auth_time));
        claims.insert("jti".into(), json!(uuid_v4()));
        claims.insert("at_hash".into(), json!(at_hash(app.key.alg, &access_token)));
        claims.insert("amr".into(), json!(["phr"]));
        claims.insert("type".into(), json!("id-token"));
        if let Some(n) = nonce.filter(|n| !n.is_empty()) {
            claims.insert("nonce".into(), json!(n));
        }
        body["id_token"] = json!(sign_id_token(app, claims, &access_token));
    }
    let grant = Grant {
        client,
        user,
        scopes,
        auth_time,
        now,
    };
    store_grants(st, &grant, &access_token, &refresh_token, audience);
    Issued {
        body: sorted_json(&body),
        access_token,
        refresh_token,
    }
}

// ====================================================================== legacy (v2.9)

fn legacy_err(status: u16, message: &str) -> Response {
    gin_json(status, ordered(&[("error", Field::from(message))]))
}

fn legacy(app: &App, req: &Req) -> Response {
    // gin form binding: body and URL query.
    let form = req.form();
    let grant_type = form.get("grant_type");
    if grant_type.is_empty() {
        return legacy_err(400, "GrantType is required");
    }
    let (mut client_id, mut secret) = (
        form.get("client_id").to_string(),
        form.get("client_secret").to_string(),
    );
    // v2.7+: Basic is used when the body has no secret (values are not URL-decoded).
    if secret.is_empty()
        && let Some((id, s)) = req.basic_auth()
    {
        client_id = id;
        secret = s;
    }
    match grant_type {
        "authorization_code" => legacy_code(app, &form, &client_id, &secret),
        "refresh_token" => legacy_refresh(app, &form, &client_id, &secret),
        _ => legacy_err(400, "Grant type not supported"),
    }
}

fn legacy_client(app: &App, client_id: &str, secret: &str) -> Result<Client, (u16, &'static str)> {
    if client_id.is_empty() {
        return Err((400, "Client id or secret not provided"));
    }
    let Some(client) = app.state().client(client_id) else {
        return Err((404, "Client not found"));
    };
    if !client.is_public {
        if secret.is_empty() {
            return Err((400, "Client id or secret not provided"));
        }
        if !app.state().secret_ok(&client.id, secret) {
            return Err((401, "Invalid client secret"));
        }
    }
    Ok(client)
}

fn legacy_code(app: &App, form: &crate::util::Form, client_id: &str, secret: &str) -> Response {
    let code = form.get("code");
    if code.is_empty() {
        return legacy_err(400, "Authorization code is required");
    }
    let client = match legacy_client(app, client_id, secret) {
        Ok(c) => c,
        Err((status, message)) => return legacy_err(status, message),
    };
    let now = now_secs();
    let mut st = app.state();
    let valid = st
        .codes
        .get(code)
        .is_some_and(|g| !g.used && g.client_id == client.id && g.expires_at > now);
    if !valid {
        return legacy_err(400, "Invalid authorization code");
    }
    let Some(grant) = st.codes.get(code) else {
        return legacy_err(400, "Invalid authorization code");
    };
    if client.is_public || client.pkce_enabled {
        let verifier = form.get("code_verifier");
        let expected = if grant.code_challenge_method == "S256" {
            b64url(digest::digest(&digest::SHA256, verifier.as_bytes()).as_ref())
        } else {
            verifier.to_string()
        };
        if verifier.is_empty()
            || grant.code_challenge.is_empty()
            || expected != grant.code_challenge
        {
            return legacy_err(400, "Invalid code verifier");
        }
    }
    let (username, scopes, nonce, auth_time) = (
        grant.username.clone(),
        grant.scopes.clone(),
        grant.nonce.clone(),
        grant.auth_time,
    );
    st.codes.remove(code);
    let Some(user) = st.user(&username) else {
        return legacy_err(404, "Record not found");
    };
    issue_legacy(
        app,
        &mut st,
        &client,
        &user,
        &scopes,
        Some(&nonce),
        auth_time,
    )
}

fn legacy_refresh(app: &App, form: &crate::util::Form, client_id: &str, secret: &str) -> Response {
    let client = match legacy_client(app, client_id, secret) {
        Ok(c) => c,
        Err((status, message)) => return legacy_err(status, message),
    };
    let token = form.get("refresh_token");
    let now = now_secs();
    let mut st = app.state();
    let found = st
        .refresh_tokens
        .get(token)
        .filter(|g| g.client_id == client.id && g.expires_at > now)
        .map(|g| (g.username.clone(), g.scopes.clone(), g.auth_time));
    let Some((username, scopes, auth_time)) = found else {
        return legacy_err(400, "Invalid refresh token");
    };
    st.refresh_tokens.remove(token);
    let Some(user) = st.user(&username) else {
        return legacy_err(404, "Record not found");
    };
    issue_legacy(app, &mut st, &client, &user, &scopes, None, auth_time)
}

fn issue_legacy(
    app: &App,
    st: &mut State,
    client: &Client,
    user: &User,
    scopes: &[String],
    nonce: Option<&str>,
    auth_time: i64,
) -> Response {
    let now = now_secs();
    let access_claims = json!({
        "iss": app.issuer,
        "sub": user.id,
        "aud": [client.id],
        "iat": now,
        "exp": now + ACCESS_LIFETIME,
        "jti": uuid_v4(),
        "type": "oauth-access-token",
    });
    let access_token = app.key.sign_jwt("JWT", &access_claims);
    let mut claims = user_claims(app, user, scopes);
    claims.insert("iss".into(), json!(app.issuer));
    claims.insert("aud".into(), json!(client.id));
    claims.insert("exp".into(), json!(now + ID_TOKEN_LIFETIME));
    claims.insert("iat".into(), json!(now));
    claims.insert("jti".into(), json!(uuid_v4()));
    claims.insert("amr".into(), json!(["phr"]));
    claims.insert("type".into(), json!("id-token"));
    if let Some(n) = nonce.filter(|n| !n.is_empty()) {
        claims.insert("nonce".into(), json!(n));
    }
    let id_token = sign_id_token(app, claims, &access_token);
    let refresh_token = random_alnum(40);
    let grant = Grant {
        client,
        user,
        scopes,
        auth_time,
        now,
    };
    store_grants(
        st,
        &grant,
        &access_token,
        &refresh_token,
        vec![client.id.clone()],
    );
    gin_json(
        200,
        ordered(&[
            ("access_token", Field::from(access_token)),
            ("token_type", Field::from("Bearer")),
            ("expires_in", Field::Json(json!(ACCESS_LIFETIME))),
            ("id_token", Field::from(id_token)),
            ("refresh_token", Field::from(refresh_token)),
        ]),
    )
}

/// Who a pair of tokens was issued to, and when.
struct Grant<'a> {
    client: &'a Client,
    user: &'a User,
    scopes: &'a [String],
    auth_time: i64,
    now: i64,
}

/// Remembers an issued access and refresh token (both profiles).
fn store_grants(
    st: &mut State,
    grant: &Grant<'_>,
    access_token: &str,
    refresh_token: &str,
    audience: Vec<String>,
) {
    bounded_insert(
        &mut st.access_tokens,
        access_token.to_string(),
        AccessGrant {
            username: grant.user.username.clone(),
            scopes: grant.scopes.to_vec(),
            audience,
            expires_at: grant.now + ACCESS_LIFETIME,
        },
    );
    bounded_insert(
        &mut st.refresh_tokens,
        refresh_token.to_string(),
        RefreshGrant {
            client_id: grant.client.id.clone(),
            username: grant.user.username.clone(),
            scopes: grant.scopes.to_vec(),
            auth_time: grant.auth_time,
            expires_at: grant.now + REFRESH_LIFETIME,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_verifier_rules() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        // RFC 7636 appendix B.
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(check_pkce(challenge, "S256", verifier).is_ok());
        assert!(check_pkce(verifier, "plain", verifier).is_ok());
        assert!(check_pkce(verifier, "", verifier).is_ok());
        let short = check_pkce(challenge, "S256", "abc").unwrap_err();
        assert_eq!(
            short.hint.as_deref(),
            Some("The PKCE code verifier must be at least 43 characters.")
        );
        let wrong = check_pkce(challenge, "S256", &"a".repeat(43)).unwrap_err();
        assert_eq!(wrong.error, "invalid_grant");
        assert_eq!(
            wrong.hint.as_deref(),
            Some("The PKCE code challenge did not match the code verifier.")
        );
        assert!(check_pkce(challenge, "S256", &format!("{}!", "a".repeat(43))).is_err());
        assert!(check_pkce(challenge, "S256", &"a".repeat(129)).is_err());
    }
}
