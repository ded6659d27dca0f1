//! The authorization-code flow's protocol steps, taken as RomM's authlib
//! 1.6.12 takes them: the authorization request (`prepare_grant_uri`, with
//! state, nonce and an optional PKCE verifier), the code exchange at the
//! token endpoint (`client_secret_basic`), the key set the ID token is
//! verified against (`fetch_jwk_set`) and userinfo. Each step returns a value
//! or a typed error; judging them is `checks::login`'s part, as kubelogin
//! keeps `pkg/oidc/client/authcode.go` apart from its use cases.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use url::Url;

use crate::http::{Failure, Http};
use crate::oidc::discovery::Discovery;
use crate::oidc::id_token::{self, Expected, Rejection, Verified};
use crate::oidc::py::truthy;

/// An authorization endpoint the browser may be sent to: an http(s) URL
/// only, never `javascript:` or `file:`.
pub fn endpoint(text: &str) -> Option<Url> {
    Url::parse(text)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// The parameters of authlib's `prepare_grant_uri` as RomM's login passes
/// them.
pub struct Grant<'a> {
    pub client_id: &'a str,
    /// Left out when `None` (RomM without `OIDC_REDIRECT_URI`).
    pub redirect_uri: Option<&'a str>,
    pub scope: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
}

impl Grant<'_> {
    /// `endpoint` with the request appended to any query it already has,
    /// form-encoded, in authlib's order: `response_type`, `client_id`,
    /// `redirect_uri`, `scope`, `state`, then `nonce`.
    pub fn url(&self, endpoint: &Url) -> Url {
        let mut url = endpoint.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", self.client_id);
            if let Some(r) = self.redirect_uri {
                q.append_pair("redirect_uri", r);
            }
            q.append_pair("scope", self.scope)
                .append_pair("state", self.state)
                .append_pair("nonce", self.nonce);
        }
        url
    }
}

/// 32 random bytes, base64url: 43 characters.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    B64.encode(bytes)
}

/// RFC 7636's S256 challenge of a verifier.
fn challenge(verifier: &str) -> String {
    B64.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ))
}

/// One authorization request: the URL the browser is sent to, and what the
/// rest of the flow must match against it.
pub struct Request {
    pub url: Url,
    pub state: String,
    pub nonce: String,
    pub redirect_uri: String,
    /// The PKCE verifier, when a challenge was sent (RomM sends none).
    verifier: Option<SecretString>,
}

/// The token endpoint's answer to a code exchange, when it issued an ID token.
pub struct Tokens {
    pub id_token: SecretString,
    pub access_token: Option<SecretString>,
}

/// Why a code exchange gave no ID token.
#[derive(Debug)]
pub enum ExchangeError {
    /// No answer at all.
    Unreachable(Failure),
    /// 200, but the body has no `id_token` string; `head` is its start.
    NoIdToken { head: String },
    /// Another status, with the body's OAuth `error` and
    /// `error_description` (empty when absent).
    Refused {
        status: u16,
        error: String,
        description: String,
        head: String,
    },
}

/// Why userinfo gave no claims.
#[derive(Debug)]
pub enum UserinfoError {
    Unreachable(Failure),
    Status { status: u16, head: String },
    NotObject { head: String },
}

impl Request {
    /// A request with a fresh state and nonce, and with `pkce` a fresh
    /// verifier whose S256 challenge is sent after them.
    pub fn new(
        endpoint: &Url,
        client_id: &str,
        redirect_uri: &str,
        scope: &str,
        pkce: bool,
    ) -> Request {
        let state = random_token();
        let nonce = random_token();
        let verifier = pkce.then(|| SecretString::from(random_token()));
        let mut url = Grant {
            client_id,
            redirect_uri: Some(redirect_uri),
            scope,
            state: &state,
            nonce: &nonce,
        }
        .url(endpoint);
        if let Some(v) = &verifier {
            url.query_pairs_mut()
                .append_pair("code_challenge", &challenge(v.expose_secret()))
                .append_pair("code_challenge_method", "S256");
        }
        Request {
            url,
            state,
            nonce,
            redirect_uri: redirect_uri.to_string(),
            verifier,
        }
    }

    /// Exchanges `code` at `token_url` with `client_secret_basic`, as RomM's
    /// `authorize_access_token` does (plus the verifier, when one was made).
    pub fn exchange(
        &self,
        http: &Http,
        token_url: &str,
        client: (&str, &str),
        code: &SecretString,
    ) -> Result<Tokens, ExchangeError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.expose_secret()),
            ("redirect_uri", self.redirect_uri.as_str()),
        ];
        if let Some(v) = &self.verifier {
            form.push(("code_verifier", v.expose_secret()));
        }
        let response = http
            .post_form_basic(token_url, client, &form)
            .map_err(ExchangeError::Unreachable)?;
        let body = response.json();
        let field = |k: &str| {
            body.as_ref()
                .and_then(|b| b.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        if response.status != 200 {
            return Err(ExchangeError::Refused {
                status: response.status,
                error: field("error").unwrap_or_default(),
                description: field("error_description").unwrap_or_default(),
                head: response.head(),
            });
        }
        let id_token = field("id_token").ok_or_else(|| ExchangeError::NoIdToken {
            head: response.head(),
        })?;
        Ok(Tokens {
            id_token: id_token.into(),
            access_token: field("access_token").map(SecretString::from),
        })
    }

    /// The ID token checked as authlib 1.6.12 checks it for RomM
    /// (`oidc::id_token`), against this request's nonce and the keys
    /// [`key_set`] fetches.
    pub fn verify(
        &self,
        http: &Http,
        discovery: &Discovery,
        client_id: &str,
        tokens: &Tokens,
        code: &SecretString,
    ) -> Result<Verified, Rejection> {
        let algs = discovery.signing_algs();
        let expected = Expected {
            issuer: discovery.doc.get("issuer"),
            client_id,
            nonce: &self.nonce,
            access_token: tokens.access_token.as_ref().map(|t| t.expose_secret()),
            code: Some(code.expose_secret()),
            allowed_algs: &algs,
            now: now(),
        };
        let mut fetch = |again: bool| key_set(http, discovery, again);
        id_token::verify(tokens.id_token.expose_secret(), &mut fetch, &expected)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// authlib's `fetch_jwk_set`: the discovery document's own `jwks` member if
/// it has one (not when fetching again), else a GET of `jwks_uri` that
/// follows no redirect and must answer 2xx with JSON.
fn key_set(http: &Http, discovery: &Discovery, again: bool) -> Result<Value, Rejection> {
    if let Some(inline) = discovery.doc.get("jwks").filter(|j| !again && truthy(j)) {
        return Ok(inline.clone());
    }
    let Some(url) = discovery.doc.get("jwks_uri").filter(|u| truthy(u)) else {
        return Err(Rejection::KeySetUnavailable {
            exception: "RuntimeError: Missing \"jwks_uri\" in metadata".into(),
            why: "the discovery document has no jwks_uri".into(),
        });
    };
    let url = url.as_str().unwrap_or_default();
    let unavailable =
        |exception: String, why: String| Rejection::KeySetUnavailable { exception, why };
    match http.get(url) {
        Err(failure) => Err(unavailable(
            "httpx.HTTPError (the request failed)".into(),
            format!("{url}: {failure:#}"),
        )),
        Ok(r) if !(200..300).contains(&r.status) => Err(unavailable(
            format!("httpx.HTTPStatusError: {} for url '{url}'", r.status),
            format!(
                "{url} answered HTTP {} (RomM follows no redirect)",
                r.status
            ),
        )),
        Ok(r) => r.json().ok_or_else(|| {
            unavailable(
                "json.decoder.JSONDecodeError".into(),
                format!("{url} did not answer JSON: {}", r.head()),
            )
        }),
    }
}

/// The userinfo claims for `access_token`: a 200 with a JSON object.
pub fn userinfo(
    http: &Http,
    url: &str,
    access_token: &SecretString,
) -> Result<Map<String, Value>, UserinfoError> {
    let r = http
        .get_bearer(url, access_token.expose_secret())
        .map_err(UserinfoError::Unreachable)?;
    if r.status != 200 {
        return Err(UserinfoError::Status {
            status: r.status,
            head: r.head(),
        });
    }
    match r.json() {
        Some(Value::Object(map)) => Ok(map),
        _ => Err(UserinfoError::NotObject { head: r.head() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(url: &Url) -> Vec<(String, String)> {
        url.query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn the_request_is_built_in_authlibs_order_after_the_endpoints_own_query() {
        let endpoint = Url::parse("https://id.example.com/authorize?tenant=a").unwrap();
        let r = Request::new(
            &endpoint,
            "romm",
            "http://127.0.0.1:8765/callback",
            "openid profile email groups",
            false,
        );
        let names: Vec<String> = query(&r.url).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            names,
            [
                "tenant",
                "response_type",
                "client_id",
                "redirect_uri",
                "scope",
                "state",
                "nonce"
            ]
        );
        assert!(
            r.url
                .as_str()
                .contains("scope=openid+profile+email+groups&state="),
            "form-encoded as authlib: {}",
            r.url
        );
        let q = query(&r.url);
        assert!(q.contains(&("state".into(), r.state.clone())));
        assert!(q.contains(&("nonce".into(), r.nonce.clone())));
        assert_eq!((r.state.len(), r.nonce.len()), (43, 43));
        assert_ne!(r.state, r.nonce);
        assert!(r.verifier.is_none());
    }

    #[test]
    fn with_pkce_the_s256_challenge_of_the_verifier_follows_the_nonce() {
        let endpoint = Url::parse("https://id.example.com/authorize").unwrap();
        let r = Request::new(
            &endpoint,
            "romm",
            "http://127.0.0.1:1/callback",
            "openid",
            true,
        );
        let q = query(&r.url);
        let verifier = r.verifier.as_ref().expect("a verifier").expose_secret();
        assert_eq!(
            &q[q.len() - 2..],
            [
                ("code_challenge".to_string(), challenge(verifier)),
                ("code_challenge_method".to_string(), "S256".to_string())
            ]
        );
        assert!(
            !r.url.as_str().contains(verifier),
            "the verifier is not sent"
        );
    }

    #[test]
    fn the_challenge_is_rfc_7636s() {
        // RFC 7636, appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn a_grant_without_redirect_uri_leaves_it_out() {
        let endpoint = Url::parse("https://id.example.com/authorize").unwrap();
        let url = Grant {
            client_id: "c",
            redirect_uri: None,
            scope: "openid",
            state: "s",
            nonce: "n",
        }
        .url(&endpoint);
        assert_eq!(
            url.as_str(),
            "https://id.example.com/authorize?response_type=code&client_id=c&scope=openid&state=s&nonce=n"
        );
    }

    #[test]
    fn the_browser_is_sent_to_http_and_https_endpoints_only() {
        assert!(endpoint("https://id.example.com/authorize").is_some());
        assert!(endpoint("http://127.0.0.1:1/authorize").is_some());
        for bad in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "/authorize",
            "",
        ] {
            assert!(endpoint(bad).is_none(), "{bad}");
        }
    }
}
