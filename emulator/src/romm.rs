//! A double of RomM's unauthenticated OIDC surface (romm.md §1–§4):
//! `GET /api/heartbeat`, `GET /api/login/openid` (which fetches discovery the
//! way authlib does) and the bare behaviour of `GET /api/oauth/openid`.

use crate::util::{Field, ordered, query_escape, random_alnum, response, uuid_v4};
use crate::{RecordedRequest, server};
use axum::Router;
use axum::extract::State as AxumState;
use axum::response::Response;
use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::io;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How to start a [`RommEmulator`].
#[derive(Clone, Debug)]
pub struct RommConfig {
    /// RomM version, e.g. `"5.2.0"` (drives the few version-dependent rules).
    pub version: String,
    /// RomM's environment (`OIDC_*`, `DISABLE_USERPASS_LOGIN`,
    /// `ROMM_SESSION_SECURE_COOKIE`); the last occurrence of a name wins.
    /// [`BASE_URL_PLACEHOLDER`] in a value is replaced by the double's own base
    /// URL, e.g. `OIDC_REDIRECT_URI={romm_base_url}/api/oauth/openid`.
    pub env: Vec<(String, String)>,
    /// The contents of `OIDC_TLS_CACERTFILE`: when set it is the only trust
    /// store for the discovery fetch.
    pub ca_pem: Option<String>,
}

impl Default for RommConfig {
    fn default() -> RommConfig {
        RommConfig {
            version: "5.2.0".to_string(),
            env: Vec::new(),
            ca_pem: None,
        }
    }
}

/// Replaced in [`RommConfig::env`] values by `http://127.0.0.1:<port>` of the double.
pub const BASE_URL_PLACEHOLDER: &str = "{romm_base_url}";

type Version = (u32, u32, u32);

fn parse_version(v: &str) -> Version {
    let mut nums = v
        .trim()
        .trim_start_matches('v')
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().ok());
    match (
        nums.next().flatten(),
        nums.next().flatten(),
        nums.next().flatten(),
    ) {
        (Some(a), Some(b), c) => (a, b, c.unwrap_or(0)),
        // "development" and the like: behave like the newest release.
        _ => (u32::MAX, 0, 0),
    }
}

/// RomM's settings, parsed like `backend/config/__init__.py`.
#[derive(Clone, Debug, Default)]
struct Settings {
    oidc_enabled: bool,
    autologin: bool,
    provider: String,
    client_id: String,
    redirect_uri: String,
    server_application_url: String,
    server_metadata_url: String,
    claim_roles: String,
    rp_initiated_logout: bool,
    disable_userpass_login: bool,
    secure_cookie: bool,
}

impl Settings {
    fn parse(env: &[(String, String)], version: Version) -> Settings {
        // `_get_env`: an empty value counts as unset; the value is stripped.
        let get = |name: &str| -> String {
            env.iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        let raw = |name: &str| -> String {
            env.iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let boolean = |name: &str| -> bool {
            if version >= (4, 4, 1) {
                // safe_str_to_bool: strip, lowercase, one of 1/true/yes/on.
                matches!(
                    get(name).to_lowercase().as_str(),
                    "1" | "true" | "yes" | "on"
                )
            } else {
                // str_to_bool: lowercase only, true/1 only.
                matches!(raw(name).to_lowercase().as_str(), "true" | "1")
            }
        };
        Settings {
            oidc_enabled: boolean("OIDC_ENABLED"),
            autologin: boolean("OIDC_AUTOLOGIN"),
            provider: get("OIDC_PROVIDER"),
            client_id: get("OIDC_CLIENT_ID"),
            redirect_uri: get("OIDC_REDIRECT_URI"),
            server_application_url: get("OIDC_SERVER_APPLICATION_URL"),
            server_metadata_url: get("OIDC_SERVER_METADATA_URL"),
            claim_roles: get("OIDC_CLAIM_ROLES"),
            rp_initiated_logout: boolean("OIDC_RP_INITIATED_LOGOUT"),
            disable_userpass_login: boolean("DISABLE_USERPASS_LOGIN"),
            // Read since 5.1.0 (`49e16cd2c`); it adds `secure` to the cookie.
            secure_cookie: version >= (5, 1, 0) && boolean("ROMM_SESSION_SECURE_COOKIE"),
        }
    }
}

struct RommApp {
    version_text: String,
    version: Version,
    settings: Settings,
    http: Result<reqwest::Client, String>,
    metadata: Mutex<Option<Map<String, Value>>>,
    log: Mutex<VecDeque<RecordedRequest>>,
}

impl RommApp {
    /// authlib's `server_metadata_url` as RomM registers it.
    fn discovery_url(&self) -> String {
        let s = &self.settings;
        if self.version >= (4, 8, 0) && !s.server_metadata_url.is_empty() {
            return s.server_metadata_url.clone();
        }
        if self.version >= (3, 7, 1) {
            // get_well_known_url(url, external=True): strip every trailing '/'.
            format!(
                "{}/.well-known/openid-configuration",
                s.server_application_url.trim_end_matches('/')
            )
        } else {
            format!(
                "{}/.well-known/openid-configuration",
                s.server_application_url
            )
        }
    }
}

/// A running RomM double. Dropping it shuts the server down.
pub struct RommEmulator {
    app: Arc<RommApp>,
    server: Option<server::Server>,
    port: u16,
}

impl RommEmulator {
    pub fn start(config: RommConfig) -> io::Result<RommEmulator> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let port = listener.local_addr()?.port();
        let base_url = format!("http://127.0.0.1:{port}");
        let env: Vec<(String, String)> = config
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.replace(BASE_URL_PLACEHOLDER, &base_url)))
            .collect();
        let version = parse_version(&config.version);
        let settings = Settings::parse(&env, version);
        let http = build_http_client(config.ca_pem.as_deref());
        let app = Arc::new(RommApp {
            version_text: config.version,
            version,
            settings,
            http,
            metadata: Mutex::new(None),
            log: Mutex::new(VecDeque::new()),
        });
        let router = Router::new().fallback(handle).with_state(app.clone());
        let server = server::Server::spawn(listener, router, None, "romm-emulator")?;
        Ok(RommEmulator {
            app,
            server: Some(server),
            port,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The discovery URL RomM derives from its environment.
    pub fn discovery_url(&self) -> String {
        self.app.discovery_url()
    }

    /// Whether a discovery document has been fetched and cached.
    pub fn discovery_cached(&self) -> bool {
        self.app
            .metadata
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        let log = self.app.log.lock().unwrap_or_else(|p| p.into_inner());
        log.iter().cloned().collect()
    }
}

impl Drop for RommEmulator {
    fn drop(&mut self) {
        drop(self.server.take());
    }
}

/// httpx as RomM configures it: no redirects, 10 s timeout, and with
/// `OIDC_TLS_CACERTFILE` that file as the only trust store.
fn build_http_client(ca_pem: Option<&str>) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .user_agent("python-httpx/0.28.1")
        .no_proxy();
    if let Some(pem) = ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(|e| format!("[X509: NO_CERTIFICATE_OR_CRL_FOUND] {e}"))?;
        if certs.is_empty() {
            return Err("[X509: NO_CERTIFICATE_OR_CRL_FOUND]".to_string());
        }
        builder = builder.tls_certs_only(certs);
    }
    builder.build().map_err(|e| e.to_string())
}

fn json(status: u16, body: String) -> Response {
    response(
        status,
        &[("content-type", "application/json".to_string())],
        body,
    )
}

fn internal_server_error() -> Response {
    response(
        500,
        &[("content-type", "text/plain; charset=utf-8".to_string())],
        "Internal Server Error",
    )
}

async fn handle(
    AxumState(app): AxumState<Arc<RommApp>>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    {
        let mut log = app.log.lock().unwrap_or_else(|p| p.into_inner());
        if log.len() >= 10_000 {
            log.pop_front();
        }
        log.push_back(RecordedRequest {
            method: parts.method.as_str().to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or("").to_string(),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: body[..body.len().min(64 * 1024)].to_vec(),
        });
    }
    let get = parts.method == "GET" || parts.method == "HEAD";
    match parts.uri.path() {
        "/api/heartbeat" if get => heartbeat(&app),
        "/api/login/openid" if get => login(&app).await,
        "/api/oauth/openid" if get => {
            if app.settings.oidc_enabled {
                // No pending state in a fresh session: MismatchingStateError, unhandled.
                internal_server_error()
            } else {
                json(500, r#"{"detail":"OAuth disabled"}"#.to_string())
            }
        }
        "/api/heartbeat" | "/api/login/openid" | "/api/oauth/openid" => {
            json(405, r#"{"detail":"Method Not Allowed"}"#.to_string())
        }
        _ => json(404, r#"{"detail":"Not Found"}"#.to_string()),
    }
}

fn heartbeat(app: &RommApp) -> Response {
    let s = &app.settings;
    let v = app.version;
    let mut oidc = vec![
        ("ENABLED", Field::from(s.oidc_enabled)),
        ("PROVIDER", Field::from(s.provider.clone())),
    ];
    if v >= (4, 7, 0) {
        oidc.insert(1, ("AUTOLOGIN", Field::from(s.autologin)));
    }
    if v >= (4, 8, 0) {
        oidc.push(("RP_INITIATED_LOGOUT", Field::from(s.rp_initiated_logout)));
    }
    let metadata_sources: Vec<(&str, Field)> = [
        "ANY_SOURCE_ENABLED",
        "IGDB_API_ENABLED",
        "SS_API_ENABLED",
        "MOBY_API_ENABLED",
        "STEAMGRIDDB_API_ENABLED",
        "RA_API_ENABLED",
        "LAUNCHBOX_API_ENABLED",
        "HASHEOUS_API_ENABLED",
        "PLAYMATCH_API_ENABLED",
        "TGDB_API_ENABLED",
        "FLASHPOINT_API_ENABLED",
        "HLTB_API_ENABLED",
    ]
    .into_iter()
    .map(|k| (k, Field::from(false)))
    .collect();
    let body = ordered(&[
        (
            "SYSTEM",
            Field::Raw(ordered(&[
                ("VERSION", Field::from(app.version_text.clone())),
                ("SHOW_SETUP_WIZARD", Field::from(false)),
            ])),
        ),
        ("METADATA_SOURCES", Field::Raw(ordered(&metadata_sources))),
        (
            "FILESYSTEM",
            Field::Raw(ordered(&[(
                "FS_PLATFORMS",
                Field::Json(Value::Array(Vec::new())),
            )])),
        ),
        (
            "EMULATION",
            Field::Raw(ordered(&[
                ("DISABLE_EMULATOR_JS", Field::from(false)),
                ("DISABLE_RUFFLE_RS", Field::from(false)),
            ])),
        ),
        (
            "FRONTEND",
            Field::Raw(ordered(&[
                (
                    "DISABLE_USERPASS_LOGIN",
                    Field::from(s.disable_userpass_login),
                ),
                ("DISABLE_LOGS_VIEWER", Field::from(false)),
                ("YOUTUBE_BASE_URL", Field::from("https://www.youtube.com")),
            ])),
        ),
        ("OIDC", Field::Raw(ordered(&oidc))),
        (
            "TASKS",
            Field::Raw(ordered(&[
                ("ENABLE_SCHEDULED_RESCAN", Field::from(false)),
                ("SCHEDULED_RESCAN_CRON", Field::from("0 3 * * *")),
            ])),
        ),
    ]);
    json(200, body)
}

/// authlib `load_server_metadata`: one GET, no redirects, any non-2xx is an
/// error, the body must be JSON (whatever its content type).
async fn fetch_metadata(app: &RommApp) -> Option<Map<String, Value>> {
    let client = app.http.as_ref().ok()?;
    let resp = client.get(app.discovery_url()).send().await.ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let bytes = resp.bytes().await.ok()?;
    match serde_json::from_slice::<Value>(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

async fn login(app: &RommApp) -> Response {
    if !app.settings.oidc_enabled {
        return json(500, r#"{"detail":"OAuth disabled"}"#.to_string());
    }
    let cached = app
        .metadata
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let metadata = match cached {
        Some(m) => m,
        None => match fetch_metadata(app).await {
            Some(m) => {
                *app.metadata.lock().unwrap_or_else(|p| p.into_inner()) = Some(m.clone());
                m
            }
            None => return internal_server_error(),
        },
    };
    let Some(endpoint) = metadata
        .get("authorization_endpoint")
        .and_then(Value::as_str)
    else {
        return internal_server_error();
    };
    let s = &app.settings;
    let mut scope = "openid profile email".to_string();
    if app.version >= (4, 3, 2) && !s.claim_roles.is_empty() {
        scope.push(' ');
        scope.push_str(&s.claim_roles);
    }
    let mut params = vec![
        ("response_type", "code".to_string()),
        ("client_id", s.client_id.clone()),
    ];
    if !s.redirect_uri.is_empty() {
        params.push(("redirect_uri", s.redirect_uri.clone()));
    }
    params.push(("scope", scope));
    params.push(("state", random_alnum(30)));
    params.push(("nonce", random_alnum(20)));
    let query = params
        .iter()
        .map(|(k, v)| format!("{k}={}", query_escape(v)))
        .collect::<Vec<_>>()
        .join("&");
    // add_params_to_uri: keep an existing query and fragment.
    let (base, fragment) = match endpoint.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (endpoint, None),
    };
    let mut location = if base.contains('?') {
        let existing = base.split_once('?').map(|(_, q)| q).unwrap_or("");
        let sep = if existing.is_empty() || existing.ends_with('&') {
            ""
        } else {
            "&"
        };
        format!("{base}{sep}{query}")
    } else {
        format!("{base}?{query}")
    };
    if let Some(f) = fragment {
        location.push('#');
        location.push_str(f);
    }
    let mut cookie = format!(
        "romm_session={}; path=/; Max-Age=1209600; httponly; samesite=lax",
        uuid_v4()
    );
    if s.secure_cookie {
        cookie.push_str("; secure");
    }
    response(
        302,
        &[
            ("location", location),
            ("set-cookie", cookie),
            ("content-length", "0".to_string()),
        ],
        Vec::new(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn env_parsing_follows_romm() {
        let s = Settings::parse(
            &env(&[
                ("OIDC_ENABLED", " TRUE "),
                ("OIDC_AUTOLOGIN", "y"),
                ("OIDC_PROVIDER", "  pocket-id "),
                ("OIDC_CLIENT_ID", ""),
                ("OIDC_SERVER_APPLICATION_URL", "\"https://id.example.com\""),
                ("OIDC_RP_INITIATED_LOGOUT", "on"),
                ("DISABLE_USERPASS_LOGIN", "enabled"),
            ]),
            (5, 2, 0),
        );
        assert!(s.oidc_enabled);
        assert!(!s.autologin);
        assert_eq!(s.provider, "pocket-id");
        assert_eq!(s.client_id, "");
        assert_eq!(s.server_application_url, "\"https://id.example.com\"");
        assert!(s.rp_initiated_logout);
        assert!(!s.disable_userpass_login);
        // Before 4.4.1: no strip, only true/1.
        let old = Settings::parse(
            &env(&[("OIDC_ENABLED", " true"), ("OIDC_AUTOLOGIN", "yes")]),
            (4, 4, 0),
        );
        assert!(!old.oidc_enabled);
        assert!(!old.autologin);
    }

    #[test]
    fn secure_cookie_is_read_from_5_1_0() {
        let on = env(&[("ROMM_SESSION_SECURE_COOKIE", "true")]);
        assert!(Settings::parse(&on, (5, 1, 0)).secure_cookie);
        assert!(!Settings::parse(&on, (5, 0, 9)).secure_cookie);
        assert!(!Settings::parse(&env(&[]), (5, 2, 0)).secure_cookie);
    }

    #[test]
    fn discovery_url_derivation() {
        let app = |pairs: &[(&str, &str)], v: Version| RommApp {
            version_text: String::new(),
            version: v,
            settings: Settings::parse(&env(pairs), v),
            http: Err(String::new()),
            metadata: Mutex::new(None),
            log: Mutex::new(VecDeque::new()),
        };
        let a = app(
            &[("OIDC_SERVER_APPLICATION_URL", "https://id.example.com///")],
            (5, 2, 0),
        );
        assert_eq!(
            a.discovery_url(),
            "https://id.example.com/.well-known/openid-configuration"
        );
        let b = app(
            &[
                ("OIDC_SERVER_APPLICATION_URL", "https://id.example.com"),
                ("OIDC_SERVER_METADATA_URL", " https://meta.example.com/x "),
            ],
            (5, 2, 0),
        );
        assert_eq!(b.discovery_url(), "https://meta.example.com/x");
        let c = app(
            &[
                ("OIDC_SERVER_APPLICATION_URL", "https://id.example.com/"),
                ("OIDC_SERVER_METADATA_URL", "https://meta.example.com/x"),
            ],
            (4, 7, 0),
        );
        assert_eq!(
            c.discovery_url(),
            "https://id.example.com/.well-known/openid-configuration"
        );
        let d = app(
            &[("OIDC_SERVER_APPLICATION_URL", "https://id.example.com/")],
            (3, 7, 0),
        );
        assert_eq!(
            d.discovery_url(),
            "https://id.example.com//.well-known/openid-configuration"
        );
        let e = app(&[], (5, 2, 0));
        assert_eq!(e.discovery_url(), "/.well-known/openid-configuration");
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version("5.2.0"), (5, 2, 0));
        assert_eq!(parse_version("4.8"), (4, 8, 0));
        assert_eq!(parse_version("3.7.1-beta.2"), (3, 7, 1));
        assert_eq!(parse_version("development").0, u32::MAX);
    }
}
