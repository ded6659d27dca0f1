//! Discovery (pocketid.md §1.3/§1.4), the JWKS (§2.1) and the public client
//! metadata endpoint (§1.5).

use crate::util::{Field, GIN_JSON, HTML, gin_json, html_escape, ordered, response, sorted_json};
use crate::{App, Profile, spa};
use axum::response::Response;
use serde_json::{Value, json};

/// The discovery document, keys in alphabetical order (a Go map).
pub fn document(app: &App) -> Value {
    let a = &app.issuer;
    let i = &app.internal;
    let issuer = app.faults.wrong_issuer.clone().unwrap_or_else(|| a.clone());
    let alg = app.key.alg.as_str();
    let grant_types = json!([
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
        "client_credentials"
    ]);
    let prompt_values = json!(["none", "login", "consent", "select_account"]);
    match app.profile {
        Profile::Modern => json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{a}/authorize"),
            "token_endpoint": format!("{i}/api/oidc/token"),
            "userinfo_endpoint": format!("{i}/api/oidc/userinfo"),
            "end_session_endpoint": format!("{a}/api/oidc/end-session"),
            "introspection_endpoint": format!("{i}/api/oidc/introspect"),
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "Bearer"],
            "device_authorization_endpoint": format!("{a}/api/oidc/device/authorize"),
            "jwks_uri": format!("{i}/.well-known/jwks.json"),
            "pushed_authorization_request_endpoint": format!("{i}/api/oidc/par"),
            "require_pushed_authorization_requests": false,
            "grant_types_supported": grant_types,
            "scopes_supported": ["openid", "profile", "email", "groups", "offline_access"],
            "claims_supported": [
                "sub", "given_name", "family_name", "name", "display_name", "email",
                "email_verified", "preferred_username", "picture", "groups", "auth_time", "amr"
            ],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [alg],
            "authorization_response_iss_parameter_supported": true,
            "code_challenge_methods_supported": ["plain", "S256"],
            "request_parameter_supported": true,
            "request_uri_parameter_supported": false,
            "request_object_signing_alg_values_supported": ["none"],
            "prompt_values_supported": prompt_values,
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            // Always present; true only with a non-empty CIMD URL allowlist.
            "client_id_metadata_document_supported": false,
            "service_documentation": "https://pocket-id.org/docs",
        }),
        Profile::Legacy => json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{a}/authorize"),
            "token_endpoint": format!("{i}/api/oidc/token"),
            "userinfo_endpoint": format!("{i}/api/oidc/userinfo"),
            "end_session_endpoint": format!("{a}/api/oidc/end-session"),
            "introspection_endpoint": format!("{i}/api/oidc/introspect"),
            "device_authorization_endpoint": format!("{a}/api/oidc/device/authorize"),
            "jwks_uri": format!("{i}/.well-known/jwks.json"),
            "pushed_authorization_request_endpoint": format!("{i}/api/oidc/par"),
            "require_pushed_authorization_requests": false,
            "grant_types_supported": grant_types,
            "scopes_supported": ["openid", "profile", "email", "groups"],
            "claims_supported": [
                "sub", "given_name", "family_name", "name", "email", "email_verified",
                "preferred_username", "picture", "groups"
            ],
            "response_types_supported": ["code", "id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [alg],
            "authorization_response_iss_parameter_supported": true,
            "code_challenge_methods_supported": ["plain", "S256"],
            "prompt_values_supported": prompt_values,
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic", "client_secret_post", "private_key_jwt", "none"
            ],
        }),
    }
}

/// `GET /.well-known/openid-configuration` (and, Modern, `oauth-authorization-server`).
pub fn openid_configuration(app: &App) -> Response {
    if let Some(location) = &app.faults.discovery_redirect {
        // Go's http.Redirect body for a GET.
        let body = format!(
            "<a href=\"{}\">Moved Permanently</a>.\n\n",
            html_escape(location)
        );
        return response(
            301,
            &[
                ("location", location.clone()),
                ("content-type", HTML.to_string()),
            ],
            body,
        );
    }
    if app.faults.html_discovery {
        return spa::shell();
    }
    response(
        200,
        &[("content-type", GIN_JSON.to_string())],
        sorted_json(&document(app)),
    )
}

/// `GET /.well-known/jwks.json`.
pub fn jwks(app: &App) -> Response {
    if app.faults.broken_jwks {
        return gin_json(200, r#"{"message":"not a JSON Web Key Set"}"#.to_string());
    }
    let mut keys = vec![&app.key];
    keys.extend(app.second_key.as_ref());
    response(
        200,
        &[("content-type", GIN_JSON.to_string())],
        crate::keys::jwks_json(&keys),
    )
}

/// `GET /api/oidc/clients/:id/meta` (public).
pub fn client_meta(app: &App, id: &str) -> Response {
    let client = app.state().client(id);
    match (app.profile, client) {
        (Profile::Modern, Some(c)) => gin_json(
            200,
            ordered(&[
                ("id", Field::from(c.id)),
                ("name", Field::from(c.name)),
                ("description", Field::from("")),
                ("hasLogo", Field::from(false)),
                ("hasDarkLogo", Field::from(false)),
                ("launchURL", Field::Json(Value::Null)),
                ("requiresReauthentication", Field::from(false)),
                ("clientType", Field::from("standard")),
            ]),
        ),
        (Profile::Modern, None) => {
            // apperror.NotFound("OIDC client") serialised by the error middleware.
            let request_id = crate::util::uuid_v4();
            let body = ordered(&[
                ("error", Field::from("OIDC client not found")),
                ("code", Field::from("not_found")),
                (
                    "details",
                    Field::Raw(ordered(&[("resource", Field::from("OIDC client"))])),
                ),
                ("request_id", Field::from(request_id.clone())),
            ]);
            response(
                404,
                &[
                    ("content-type", GIN_JSON.to_string()),
                    ("x-request-id", request_id),
                ],
                body,
            )
        }
        (Profile::Legacy, Some(c)) => gin_json(
            200,
            ordered(&[
                ("id", Field::from(c.id)),
                ("name", Field::from(c.name)),
                ("hasLogo", Field::from(false)),
                ("hasDarkLogo", Field::from(false)),
                ("launchURL", Field::Json(Value::Null)),
                ("requiresReauthentication", Field::from(false)),
            ]),
        ),
        (Profile::Legacy, None) => gin_json(404, r#"{"error":"Record not found"}"#.to_string()),
    }
}
