//! HTML pages: the SvelteKit SPA shell that Pocket ID serves for every
//! unknown non-API path, and the emulator's small stand-ins for the pages that
//! need JavaScript in the real product (the passkey login step, the legacy
//! inline error, the `form_post` auto-submit page).

use crate::util::{html, html_escape};
use axum::response::Response;

pub const SHELL: &str = r#"<!doctype html>
<html lang="en">
	<head>
		<meta charset="utf-8" />
		<link rel="icon" href="/img/static-logo.svg" />
		<meta name="viewport" content="width=device-width, initial-scale=1" />
		<title>Pocket ID</title>
	</head>
	<body data-sveltekit-preload-data="hover">
		<div style="display: contents"></div>
	</body>
</html>
"#;

/// The SPA shell, `200 text/html`.
pub fn shell() -> Response {
    html(200, SHELL.to_string())
}

fn page(title: &str, inner: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\" /><title>{} | Pocket ID</title></head>\n<body>\n{}\n</body>\n</html>\n",
        html_escape(title),
        inner
    )
}

/// A form's hidden inputs carrying `params`.
fn hidden_inputs(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\"/>",
                html_escape(k),
                html_escape(v)
            )
        })
        .collect()
}

/// The legacy (≤ v2.9) `/authorize` page: the SPA shell, whose script reads
/// the query and calls `POST /api/oidc/authorize` with the browser's session.
/// The GET itself decides nothing (a client without a browser, such as the
/// doctor's `client.redirect-uri` probe, only ever sees this page). The
/// emulator's stand-in for that script is a form that posts the parameters
/// back to `/authorize` on load.
pub fn legacy_authorize_page(params: &[(String, String)]) -> String {
    let inputs = hidden_inputs(params);
    SHELL.replace(
        "<div style=\"display: contents\"></div>",
        &format!(
            "<div style=\"display: contents\"><form method=\"post\" action=\"/authorize\">{inputs}</form></div>\n\t\t<script>document.forms[0].submit()</script>"
        ),
    )
}

/// The emulator's stand-in for the passkey step: a form that POSTs
/// `username=<name>` to `/interaction/<id>/login`.
pub fn login_page(interaction_id: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>\n", html_escape(e)))
        .unwrap_or_default();
    page(
        "Sign in",
        &format!(
            "<h1>Sign in</h1>\n<p>Authenticate with your passkey to continue.</p>\n{error}<form method=\"post\" action=\"/interaction/{}/login\">\n<label for=\"username\">Username</label>\n<input id=\"username\" name=\"username\" autocomplete=\"username webauthn\" />\n<button type=\"submit\">Authenticate</button>\n</form>",
            html_escape(interaction_id)
        ),
    )
}

/// The legacy SvelteKit `/authorize` page showing an error inline (status 200).
pub fn legacy_error_page(message: &str) -> String {
    page(
        "Sign in",
        &format!(
            "<h1>Sign in</h1>\n<p class=\"error\" role=\"alert\">{}</p>",
            html_escape(message)
        ),
    )
}

pub fn message_page(status: u16, title: &str, message: &str) -> Response {
    html(
        status,
        page(
            title,
            &format!(
                "<h1>{}</h1>\n<p>{}</p>",
                html_escape(title),
                html_escape(message)
            ),
        ),
    )
}

/// The auto-submitting page of `response_mode=form_post`.
pub fn form_post_page(action: &str, params: &[(String, String)]) -> String {
    let inputs = hidden_inputs(params);
    format!(
        "<html><head><title>Submit This Form</title></head><body onload=\"javascript:document.forms[0].submit()\"><form method=\"post\" action=\"{}\">{}</form></body></html>",
        html_escape(action),
        inputs
    )
}
