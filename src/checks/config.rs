//! Static checks of the settings, judged as RomM 5.2 reads them. No network.

use url::Url;

use crate::checks::id;
use crate::container::Sealed;
use crate::envfile::{Entry, EnvFile, Lookup, Origin, Problem};
use crate::report::{Finding, Problems};
use crate::settings::{
    self, Kind, OIDC_CLAIM_ROLES, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_ENABLED, OIDC_PROVIDER,
    OIDC_REDIRECT_URI, OIDC_ROLE_ADMIN, OIDC_ROLE_EDITOR, OIDC_ROLE_VIEWER,
    OIDC_SERVER_APPLICATION_URL, OIDC_SERVER_METADATA_URL, ROMM_SESSION_SECURE_COOKIE, Setting,
    Settings, Source, VARS, Var, python_space, python_strip, romm_bool,
};

/// RomM's callback route; `OIDC_REDIRECT_URI` must end exactly here.
pub const CALLBACK_PATH: &str = "/api/oauth/openid";

/// The provider names RomM 5.2 ships an icon for (`frontend/assets/dashboard-icons/`).
pub const BUNDLED_ICONS: &[&str] = &[
    "auth0",
    "authelia",
    "authentik",
    "aws",
    "azure",
    "firebase",
    "fusionauth",
    "google",
    "hydra",
    "kanidm",
    "keycloak",
    "logto",
    "okta",
    "ping",
    "pocket-id",
    "zitadel",
];

/// Who asks: `emit-env` writes the missing values itself, so values missing
/// from RomM's env do not count against it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Diagnose,
    Emit,
}

pub fn run(settings: &Settings, purpose: Purpose) -> Vec<Finding> {
    vec![
        issuer_url(settings),
        metadata_url(settings),
        redirect_uri(settings),
        session_cookie(settings),
        client(settings),
        env_file(settings, purpose),
        provider_name(settings),
        roles(settings),
    ]
    .into_iter()
    .map(|f| with_interpolation(settings, f))
    .collect()
}

/// Adds to a finding how compose built each value it judges, for values
/// that came from the env file through `$` interpolation.
fn with_interpolation(settings: &Settings, f: Finding) -> Finding {
    let judged: &[&str] = match f.id {
        id::CONFIG_ISSUER_URL => &[OIDC_SERVER_APPLICATION_URL],
        id::CONFIG_METADATA_URL => &[OIDC_SERVER_METADATA_URL],
        id::CONFIG_REDIRECT_URI => &[OIDC_REDIRECT_URI],
        id::CONFIG_CLIENT => &[OIDC_CLIENT_ID, OIDC_CLIENT_SECRET],
        id::CONFIG_PROVIDER_NAME => &[OIDC_PROVIDER],
        id::CONFIG_ROLES => &[
            OIDC_CLAIM_ROLES,
            OIDC_ROLE_ADMIN,
            OIDC_ROLE_EDITOR,
            OIDC_ROLE_VIEWER,
        ],
        _ => &[],
    };
    let notes: Vec<String> = judged
        .iter()
        .filter_map(|name| interpolation(settings, name))
        .collect();
    if notes.is_empty() {
        return f;
    }
    let detail = std::iter::once(f.detail.clone())
        .filter(|d| !d.is_empty())
        .chain(notes)
        .collect::<Vec<_>>()
        .join("\n");
    f.detail(detail)
}

/// The env file entry a setting was read from, if it was.
fn file_entry<'a>(settings: &'a Settings, name: &str) -> Option<(&'a EnvFile, &'a Entry)> {
    let setting = settings.get(name)?;
    let Source::EnvFile { line, .. } = setting.source else {
        return None;
    };
    let file = settings.env_file.as_ref()?;
    let entry = file.last(name).filter(|e| e.line == line)?;
    Some((file, entry))
}

/// How docker compose built `name`'s value from `$` references in the env
/// file: the text as written, the result, and where each reference got its
/// value (or why it is empty). A secret is described without its text.
pub fn interpolation(settings: &Settings, name: &str) -> Option<String> {
    let (file, entry) = file_entry(settings, name)?;
    if entry.lookups.is_empty() {
        return None;
    }
    let place = format!("{}:{}", file.path.display(), entry.line);
    // A secret, or a value built from one, is described without its text.
    if secret_name(name) || entry.lookups.iter().any(|l| secret_name(&l.name)) {
        let empty = entry.lookups.iter().filter(|l| l.value.is_empty()).count();
        return Some(format!(
            "{name} ({place}) holds {} `$` reference{} that docker compose replaces ({empty} empty there); \
             a `$` that belongs to the value must be written `$$`, or the value put in single quotes.",
            entry.lookups.len(),
            if entry.lookups.len() == 1 { "" } else { "s" },
        ));
    }
    let refs: Vec<String> = entry.lookups.iter().map(describe_lookup).collect();
    Some(format!(
        "{name} ({place}) is written `{}`, which docker compose reads as `{}`: {}.",
        file.written(entry),
        entry.value,
        refs.join("; ")
    ))
}

/// Where an interpolated variable got its value, or why it is empty.
fn describe_lookup(l: &Lookup) -> String {
    let plain = l.expr == format!("${}", l.name) || l.expr == format!("${{{}}}", l.name);
    let subject = if plain {
        format!("`{}`", l.expr)
    } else {
        format!("in `{}`, {}", l.expr, l.name)
    };
    let why = match (&l.origin, l.value.is_empty()) {
        (Some(Origin::Environment), false) => format!(
            "is `{}` from the environment (romm-oidc's; docker compose uses the one it runs in)",
            l.value
        ),
        (Some(Origin::Line(n)), false) => format!("is `{}` from line {n}", l.value),
        (Some(Origin::Environment), true) => {
            format!("is empty: {} is set empty in the environment", l.name)
        }
        (Some(Origin::Line(n)), true) => format!("is empty: {} is set empty on line {n}", l.name),
        (None, _) => match l.defined_later {
            Some(n) => format!(
                "is empty there: {} is not set in the environment, and the file sets it only below, on line {n} (compose reads the file top to bottom)",
                l.name
            ),
            None => format!(
                "is empty there: {} is set neither in the environment nor on a line above",
                l.name
            ),
        },
    };
    format!("{subject} {why}")
}

/// Where a value was set, for "set in …" hints.
fn at(settings: &Settings, name: &str) -> String {
    settings
        .get(name)
        .map(|s| format!(" (now from {})", s.source))
        .unwrap_or_default()
}

/// Quotes and white space RomM would keep as part of the value.
fn literal_problem(id: &'static str, name: &str, raw: &str) -> Option<Finding> {
    let value = python_strip(raw);
    if value.contains(['"', '\'']) {
        let bare = value.trim_matches(['"', '\'']);
        return Some(
            Finding::fail(id, format!("{name} contains literal quotes"))
                .detail(
                    "RomM does not remove quotes: they become part of the value. This is what \
                     a compose list item like `- KEY=\"value\"` produces (romm#2732), and httpx \
                     then fails with \"Request URL is missing an 'http://' or 'https://' protocol\".",
                )
                .mismatch(bare, value)
                .fix(format!(
                    "Write {name}={bare} without quotes (in a compose `environment:` list: `- {name}={bare}`)."
                )),
        );
    }
    if value.contains(python_space) {
        let squeezed: String = value.split(python_space).collect();
        return Some(
            Finding::fail(id, format!("{name} contains white space"))
                .detail("RomM strips white space only at the ends; inside the value it is kept.")
                .mismatch(squeezed.clone(), value)
                .fix(format!("Set {name}={squeezed}")),
        );
    }
    None
}

/// An absolute http(s) URL with a host, or the reason it is not.
fn http_url(id: &'static str, name: &str, value: &str) -> Result<Url, Finding> {
    let bad = |why: String| {
        Finding::fail(id, format!("{name} is not an absolute http(s) URL"))
            .detail(why)
            .mismatch("https://host[:port][/path]", value)
    };
    let url = Url::parse(value).map_err(|e| bad(format!("It cannot be parsed as a URL: {e}.")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(format!(
            "Its scheme is `{}`; RomM's HTTP client only speaks http and https.",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("It has no host name.".into()));
    }
    Ok(url)
}

/// localhost, *.localhost and loopback IP literals.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether browsers keep `Secure` cookies on this URL's origin: https, or a
/// loopback host (a "potentially trustworthy" origin).
pub fn secure_context(url: &Url) -> bool {
    url.scheme() == "https" || is_loopback(url)
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Endpoint paths that users paste instead of the issuer, and the base URL
/// that fixes each. Returns (what it is, the base to use).
fn endpoint_mistake(url: &Url) -> Option<(&'static str, String)> {
    let path = url.path().trim_end_matches('/');
    let base_of = |suffix_len: usize| {
        let mut base = url.clone();
        base.set_query(None);
        base.set_fragment(None);
        base.set_path(&path[..path.len() - suffix_len]);
        base.as_str().trim_end_matches('/').to_string()
    };
    let suffixes: &[(&str, &str)] = &[
        (
            "/.well-known/openid-configuration",
            "the full discovery URL (RomM appends that path itself)",
        ),
        (
            "/protocol/openid-connect/auth",
            "Keycloak's authorization endpoint",
        ),
        (
            "/o/oauth2/v2/auth",
            "Google's authorization endpoint (romm#2044)",
        ),
        (
            "/authorize",
            "the authorization endpoint (the value the old Pocket ID guide taught)",
        ),
        ("/oauth2/authorize", "an authorization endpoint"),
        ("/auth", "an authorization endpoint"),
        ("/token", "the token endpoint"),
        ("/userinfo", "the userinfo endpoint"),
        ("/jwks", "the key set endpoint"),
        ("/.well-known/jwks.json", "the key set endpoint"),
    ];
    // Pocket ID's API routes (/api/oidc/token, /api/oidc/userinfo, …), before
    // the generic endpoint names they end with.
    if let Some(at) = path.find("/api/oidc") {
        return Some(("a Pocket ID API endpoint", base_of(path.len() - at)));
    }
    for (suffix, what) in suffixes {
        if path.ends_with(suffix) {
            let mut base = base_of(suffix.len());
            if *suffix == "/o/oauth2/v2/auth" {
                base = "https://accounts.google.com".into();
            }
            if *suffix == "/oauth2/authorize" || *suffix == "/authorize" {
                // Authentik's shared endpoint: the issuer is per application.
                if let Some(stripped) = base.strip_suffix("/application/o") {
                    base = format!("{stripped}/application/o/<application-slug>");
                }
            }
            return Some((what, base));
        }
    }
    None
}

pub fn issuer_url(settings: &Settings) -> Finding {
    const ID: &str = id::CONFIG_ISSUER_URL;
    let Some(value) = settings.value(OIDC_SERVER_APPLICATION_URL) else {
        return issuer_unset(ID, settings);
    };
    let fetched = settings
        .discovery_url()
        .unwrap_or_else(|| settings::well_known_url(value));
    let f = issuer_value(ID, settings, value, &fetched);
    let line = format!("RomM will fetch discovery from {fetched}");
    let detail = if f.detail.is_empty() {
        line
    } else {
        format!("{}\n{line}", f.detail)
    };
    f.detail(detail)
        .data(serde_json::json!({ "discovery_url": fetched }))
}

/// No `OIDC_SERVER_APPLICATION_URL`: fine with a metadata URL or OIDC off.
fn issuer_unset(id: &'static str, settings: &Settings) -> Finding {
    if settings.value(OIDC_SERVER_METADATA_URL).is_some() {
        return Finding::pass(
            id,
            "OIDC_SERVER_APPLICATION_URL is unset; RomM uses OIDC_SERVER_METADATA_URL instead",
        );
    }
    if !settings.enabled() {
        return Finding::skip(id, "OIDC_SERVER_APPLICATION_URL is unset and OIDC is off");
    }
    Finding::fail(id, "OIDC_SERVER_APPLICATION_URL is not set")
        .detail(
            "RomM would fetch the relative URL /.well-known/openid-configuration and fail \
             with \"Request URL is missing an 'http://' or 'https://' protocol\" when the \
             login button is pressed.",
        )
        .fix(ISSUER_UNSET_FIX)
}

/// The fix for a missing provider URL, shared with `romm.log` (httpx's
/// "Request URL is missing an 'http://' or 'https://' protocol").
pub const ISSUER_UNSET_FIX: &str = "Set OIDC_SERVER_APPLICATION_URL to the provider's issuer (for Pocket ID its \
     APP_URL, e.g. https://id.example.com), or pass --issuer.";

/// The issuer as written: a plain base URL RomM appends the discovery path to.
fn issuer_value(id: &'static str, settings: &Settings, value: &str, fetched: &str) -> Finding {
    let name = OIDC_SERVER_APPLICATION_URL;
    let derived = settings::well_known_url(value);
    if let Some(problem) = literal_problem(id, name, value) {
        return problem;
    }
    let url = match http_url(id, name, value) {
        Ok(url) => url,
        Err(problem) => {
            return problem.fix(format!(
                "Set {name} to the provider's base URL, e.g. https://id.example.com{}",
                at(settings, name)
            ));
        }
    };
    if let Some(mistake) = endpoint_instead_of_issuer(id, settings, value, &url, &derived) {
        return mistake;
    }
    if url.query().is_some() || url.fragment().is_some() {
        let mut base = url.clone();
        base.set_query(None);
        base.set_fragment(None);
        let base = base.as_str().trim_end_matches('/').to_string();
        return Finding::fail(id, format!("{name} has a query or fragment"))
            .detail(format!(
                "authlib does not parse the URL: it appends the discovery path after the \
                 query, giving {derived}."
            ))
            .mismatch(base.clone(), value)
            .fix(format!("Set {name}={base}"));
    }
    let pocket_id = settings.value(OIDC_PROVIDER) == Some("pocket-id");
    if pocket_id && !url.path().trim_end_matches('/').is_empty() {
        let mut base = url.clone();
        base.set_path("");
        let base = base.as_str().trim_end_matches('/').to_string();
        return Finding::warn(id, format!("{name} has a path, but Pocket ID is never served under one"))
            .detail("Pocket ID refuses to start with a path in APP_URL, so its issuer is always a bare origin.")
            .mismatch(base.clone(), value)
            .fix(format!(
                "Set {name}={base} (Pocket ID's APP_URL), unless this provider is not Pocket ID; then set OIDC_PROVIDER accordingly."
            ));
    }
    if url.scheme() == "http" && !is_loopback(&url) {
        return Finding::warn(id, format!("{name} uses plain http"))
            .detail("Tokens and the client secret would cross the network unencrypted, and most providers publish an https issuer behind a proxy; RomM does not follow an http → https redirect.")
            .mismatch(value.replacen("http://", "https://", 1), value)
            .fix(format!("Use the https URL of the provider in {name}."));
    }
    Finding::pass(id, format!("{name} is {value} → discovery at {fetched}"))
}

/// An endpoint (authorize, token, the discovery URL itself…) pasted where
/// the issuer belongs.
fn endpoint_instead_of_issuer(
    id: &'static str,
    settings: &Settings,
    value: &str,
    url: &Url,
    derived: &str,
) -> Option<Finding> {
    let name = OIDC_SERVER_APPLICATION_URL;
    let (what, base) = endpoint_mistake(url)?;
    let mut fix = format!("Set {name}={base}{}", at(settings, name));
    if what.starts_with("the full discovery URL") {
        fix.push_str(&format!(
            ", or keep the URL as OIDC_SERVER_METADATA_URL={} (RomM 4.8.0 or later)",
            value
        ));
    }
    Some(
        Finding::fail(id, format!("{name} is {what}, not the issuer"))
            .detail(format!(
                "RomM appends /.well-known/openid-configuration to this value, giving \
                 {derived}, which is not a discovery document (Pocket ID answers such paths \
                 with its HTML page, and RomM fails with a JSONDecodeError; romm#2061)."
            ))
            .mismatch(base.clone(), value)
            .fix(fix),
    )
}

pub fn metadata_url(settings: &Settings) -> Finding {
    const ID: &str = id::CONFIG_METADATA_URL;
    let name = OIDC_SERVER_METADATA_URL;
    let Some(value) = settings.value(name) else {
        return Finding::skip(
            ID,
            "OIDC_SERVER_METADATA_URL is unset; discovery comes from OIDC_SERVER_APPLICATION_URL",
        );
    };
    let problem = literal_problem(ID, name, value).or_else(|| http_url(ID, name, value).err());
    match problem {
        Some(f) => f.fix(format!(
            "Set {name} to the full discovery URL, e.g. https://auth.example.com/.well-known/openid-configuration, or unset it."
        )),
        None => Finding::pass(ID, format!("{name} is {value} (used verbatim; RomM 4.8.0 or later)"))
            .detail("Older RomM releases ignore this variable and derive discovery from OIDC_SERVER_APPLICATION_URL."),
    }
}

pub fn redirect_uri(settings: &Settings) -> Finding {
    const ID: &str = id::CONFIG_REDIRECT_URI;
    let name = OIDC_REDIRECT_URI;
    let romm = settings.romm_url.as_deref().map(str::trim);
    let romm_url = romm.and_then(|r| Url::parse(r).ok());
    let expected = romm_url
        .as_ref()
        .map(|u| format!("{}{CALLBACK_PATH}", origin(u)))
        .unwrap_or_else(|| format!("https://<RomM's public host>{CALLBACK_PATH}"));
    let Some(value) = settings.value(name) else {
        if !settings.enabled() {
            return Finding::skip(ID, "OIDC_REDIRECT_URI is unset and OIDC is off");
        }
        return Finding::fail(ID, "OIDC_REDIRECT_URI is not set")
            .detail("RomM sends no redirect_uri at all, and providers refuse the login (Pocket ID 2.10+: \"The 'redirect_uri' parameter is required when using OpenID Connect 1.0.\").")
            .fix(format!("Set OIDC_REDIRECT_URI={expected}, or pass --romm-url with RomM's public URL."));
    };
    if let Some(problem) = literal_problem(ID, name, value) {
        return problem;
    }
    let url = match http_url(ID, name, value) {
        Ok(url) => url,
        Err(problem) => {
            return problem.fix(format!("Set {name}={expected}{}", at(settings, name)));
        }
    };
    let right = format!("{}{CALLBACK_PATH}", origin(&url));
    let path = url.path();
    if path != CALLBACK_PATH || url.query().is_some() || url.fragment().is_some() {
        let summary = if path == format!("{CALLBACK_PATH}/") {
            format!("{name} ends with a slash")
        } else if url.query().is_some() || url.fragment().is_some() {
            format!("{name} has a query or fragment")
        } else if path == "/api/login/openid" {
            format!("{name} is RomM's login route, not its callback")
        } else {
            format!("{name} does not end in {CALLBACK_PATH}")
        };
        return Finding::fail(ID, summary)
            .detail(format!(
                "RomM's callback route is exactly {CALLBACK_PATH}; the provider redirects the \
                 browser to this URL and it must also match the callback registered at the \
                 provider character for character (a trailing slash counts)."
            ))
            .mismatch(right.clone(), value)
            .fix(format!(
                "Set {name}={right}{} and register the same URL as the client's callback at the provider.",
                at(settings, name)
            ));
    }
    if url.scheme() == "http" && !is_loopback(&url) {
        return Finding::warn(ID, format!("{name} uses plain http"))
            .detail("Pocket ID 2.10.0 rejects http callbacks to non-loopback hosts (2.11+ accepts them unless ALLOW_INSECURE_CALLBACK_URLS=false); config.session-cookie judges RomM's cookie over http.")
            .mismatch(value.replacen("http://", "https://", 1), value)
            .fix(format!("Serve RomM over https and set {name} to the https URL."));
    }
    Finding::pass(ID, format!("{name} is {value}"))
}

/// The fix when RomM's login state may be lost on another origin than
/// `home` (RomM's "mismatching_state"); shared with `romm.log`.
pub fn origin_unproven_fix(home: &str) -> String {
    format!(
        "Give --romm-url with the address users open RomM at, to prove it; and open RomM only at {home}."
    )
}

/// `config.session-cookie`: RomM keeps the login state in its session
/// cookie, so the login must end (`OIDC_REDIRECT_URI`) on the origin where it
/// started (where users open RomM), and a `Secure` cookie needs an origin
/// browsers treat as secure.
pub fn session_cookie(settings: &Settings) -> Finding {
    const ID: &str = id::CONFIG_SESSION_COOKIE;
    const MISMATCH: &str =
        "mismatching_state: CSRF Warning! State not equal in request and response.";
    let name = OIDC_REDIRECT_URI;
    let Some(value) = settings.value(name) else {
        return Finding::skip(ID, "No OIDC_REDIRECT_URI (see config.redirect-uri)");
    };
    let Some(callback) = Url::parse(value)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
    else {
        return Finding::skip(
            ID,
            "OIDC_REDIRECT_URI is not a usable URL (see config.redirect-uri)",
        );
    };
    let home = origin(&callback);
    if settings.flag(ROMM_SESSION_SECURE_COOKIE) && !secure_context(&callback) {
        return Finding::fail(
            ID,
            "ROMM_SESSION_SECURE_COOKIE=true, but RomM's callback is plain http",
        )
        .detail(format!(
            "RomM 5.1+ then marks its session cookie Secure. Browsers keep Secure cookies only on https and loopback origins (localhost, *.localhost, 127.0.0.0/8, [::1]), so on {home} the login state is dropped and RomM's callback fails with \"{MISMATCH}\" (a 500)."
        ))
        .mismatch(
            "https (or a loopback host) with ROMM_SESSION_SECURE_COOKIE=true",
            value,
        )
        .fix(format!(
            "Serve RomM over https and set {name} to the https URL, or set ROMM_SESSION_SECURE_COOKIE=false{}; then recreate RomM.",
            at(settings, ROMM_SESSION_SECURE_COOKIE)
        ));
    }
    let Some(romm) = settings.romm_url.as_deref().map(str::trim) else {
        return Finding::warn(
            ID,
            format!("RomM's login works only when RomM is opened at exactly {home}"),
        )
        .detail(format!(
            "RomM keeps the login state in its session cookie, which the browser returns only to the origin that set it. The login starts where users open RomM and ends at {name}; opened on another scheme, host or port (127.0.0.1 vs localhost, an IP vs a name, http vs https), RomM's callback fails with \"{MISMATCH}\" (a 500). Which address users open cannot be seen without --romm-url."
        ))
        .mismatch(format!("users open RomM at {home}"), "unknown (no --romm-url)")
        .fix(origin_unproven_fix(&home));
    };
    let Some(opened) = Url::parse(romm).ok().filter(|u| u.host().is_some()) else {
        return Finding::warn(ID, format!("--romm-url {romm} is not a URL")).fix(
            "Pass --romm-url as the full address users open RomM at, e.g. https://romm.example.com.",
        );
    };
    let start = origin(&opened);
    if start != home {
        let expected = format!("{start}{CALLBACK_PATH}");
        return Finding::fail(ID, format!("{name} is not on the origin users open RomM at"))
            .detail(format!(
                "Users start the login on {start} but the provider sends them back to {home}. The session cookie is not sent across scheme, host or port, so RomM fails with \"{MISMATCH}\" (a 500; romm#1502)."
            ))
            .mismatch(expected.clone(), value)
            .fix(format!(
                "Set {name}={expected}{} and register it at the provider, or pass the --romm-url users really open.",
                at(settings, name)
            ));
    }
    Finding::pass(
        ID,
        format!(
            "RomM is opened at {start}, the origin of {name}: its session cookie comes back with the callback"
        ),
    )
}

pub fn client(settings: &Settings) -> Finding {
    const ID: &str = id::CONFIG_CLIENT;
    if !settings.enabled() && settings.value(OIDC_CLIENT_ID).is_none() {
        return Finding::skip(ID, "No client id and OIDC is off");
    }
    let Some(id) = settings.value(OIDC_CLIENT_ID) else {
        return Finding::fail(ID, "OIDC_CLIENT_ID is not set")
            .detail("RomM sends an empty client_id and the provider refuses the login.")
            .fix("Copy the client id from the provider (Pocket ID: Settings → Admin → OIDC Clients → RomM) into OIDC_CLIENT_ID, or pass --client-id.");
    };
    if let Some(problem) = literal_problem(ID, OIDC_CLIENT_ID, id) {
        return problem;
    }
    let Some(secret) = settings.value(OIDC_CLIENT_SECRET) else {
        if let Some(sealed) = settings.sealed_secret() {
            return sealed_secret(id, sealed);
        }
        return Finding::fail(ID, "OIDC_CLIENT_SECRET is not set")
            .detail("With no secret authlib switches to public-client authentication (no secret, and still no PKCE); a confidential client such as the one RomM's guide creates answers invalid_client, and a public Pocket ID client demands PKCE, which RomM never sends.")
            .fix("Set OIDC_CLIENT_SECRET to the client's secret (Pocket ID shows it once, when the client is created; create a new one under the client if it is lost), or pass --client-secret-file.");
    };
    if secret.contains(['"', '\'']) && secret.starts_with(['"', '\'']) {
        return Finding::fail(ID, "OIDC_CLIENT_SECRET is wrapped in literal quotes")
            .detail("RomM sends the quotes as part of the secret, and the provider answers invalid_client.")
            .fix("Remove the quotes around OIDC_CLIENT_SECRET (in a compose list: `- OIDC_CLIENT_SECRET=value`).");
    }
    if let Some(written) = settings.get(OIDC_CLIENT_SECRET)
        && written.raw() != secret
    {
        let (place, fix) = match &written.source {
            Source::Flag(flag) => (
                format!("given with {flag}"),
                format!("Give {flag} the secret without the surrounding white space."),
            ),
            Source::SecretFile(path) => (
                format!(
                    "read from {} (only its final line break is ignored)",
                    path.display()
                ),
                format!(
                    "Remove the white space around the secret in {}.",
                    path.display()
                ),
            ),
            other => (
                format!("set in {other}"),
                format!("Remove the white space around OIDC_CLIENT_SECRET in {other}."),
            ),
        };
        return Finding::fail(ID, "OIDC_CLIENT_SECRET begins or ends with white space, which RomM strips")
            .detail(format!(
                "The secret {place} is {} characters long; RomM strips white space from both ends of every env value (backend/config/__init__.py, _get_env) and sends the remaining {}. A secret that really begins or ends with white space can never reach the provider intact.",
                written.raw().chars().count(),
                secret.chars().count()
            ))
            .mismatch("no white space at either end", format!("{} characters, {} of them white space at the ends", written.raw().chars().count(), written.raw().chars().count() - secret.chars().count()))
            .fix(format!("{fix} If the provider's secret itself begins or ends with white space, create a new secret without it."));
    }
    if let Some(refused) = super::credentials::unsendable(ID, id, secret) {
        return refused;
    }
    if let Some(note) = super::credentials::non_ascii_note(secret) {
        return Finding::warn(ID, "OIDC_CLIENT_SECRET has non-ASCII characters")
            .detail(format!("{note} The credential probe (client.credentials) shows whether this provider accepts them."))
            .fix(super::credentials::ASCII_SECRET_FIX);
    }
    Finding::pass(
        ID,
        format!("Client id {id}, secret {}", settings::mask(secret)),
    )
}

/// `config.client` for a secret that only RomM's container holds: what the probe
/// could tell of it without letting it out.
fn sealed_secret(client_id: &str, sealed: &Sealed) -> Finding {
    const ID: &str = id::CONFIG_CLIENT;
    if sealed.quoted {
        return Finding::fail(ID, "OIDC_CLIENT_SECRET in RomM's container begins with a literal quote")
            .detail("RomM sends the quotes as part of the secret, and the provider answers invalid_client.")
            .fix("Remove the quotes around OIDC_CLIENT_SECRET where RomM's container gets it (in a compose list: `- OIDC_CLIENT_SECRET=value`), then restart RomM.");
    }
    Finding::pass(
        ID,
        format!(
            "Client id {client_id}, secret in RomM's container ({} chars; it never leaves it)",
            sealed.length
        ),
    )
}

/// What RomM's container runs with, against what the doctor was given: a value the
/// env file changed since the container started (a forgotten restart), or one given
/// here that the container does not have.
fn container_drift(settings: &Settings, problems: &mut Problems) {
    let Some(container) = &settings.container else {
        return;
    };
    for var in VARS {
        let there = Held::container(container, var);
        if let Some(file) = &settings.env_file
            && let Some(entry) = file.last(var.name)
        {
            let here = Held::value(var, &entry.value);
            if here != there {
                let place = format!("{}:{}", file.path.display(), entry.line);
                problems.fail(
                    format!(
                        "{}: {place} sets {}, but the container runs with the old value: {}",
                        var.name,
                        here.shown(),
                        there.shown()
                    ),
                    format!(
                        "Restart RomM so that it reads the env file again: {}{}",
                        settings::RESTART,
                        if there == Held::Unset {
                            format!(" (if {} is still missing then, the compose file does not hand it to RomM: add the file under env_file:)", var.name)
                        } else {
                            String::new()
                        }
                    ),
                );
            }
        }
        let Some(setting) = settings.get(var.name) else {
            continue;
        };
        if matches!(
            setting.source,
            Source::Flag(_) | Source::Environment | Source::SecretFile(_)
        ) && Held::value(var, setting.raw()) != there
        {
            problems.warn(
                format!(
                    "{} ({}) is {}, but RomM's container runs with {}: the checks from here use the value given, RomM uses its own",
                    var.name,
                    setting.source,
                    Held::value(var, setting.raw()).shown(),
                    there.shown()
                ),
                format!(
                    "To check what RomM runs with, leave {} out; to change it, set it where RomM's container gets it and restart RomM ({})",
                    setting.source,
                    settings::RESTART
                ),
            );
        }
    }
}

/// A variable's value as RomM reads it; RomM's container's secret only sealed.
#[derive(Debug)]
enum Held<'a> {
    Unset,
    Text(&'a str),
    Secret(&'a str),
    Sealed(&'a Sealed),
}

impl<'a> Held<'a> {
    fn value(var: &Var, raw: &'a str) -> Held<'a> {
        match settings::romm_value(raw) {
            None => Held::Unset,
            Some(v) if var.kind == Kind::Secret => Held::Secret(v),
            Some(v) => Held::Text(v),
        }
    }

    fn container(container: &'a settings::ContainerEnv, var: &Var) -> Held<'a> {
        if var.kind == Kind::Secret {
            return container.secret.as_ref().map_or(Held::Unset, Held::Sealed);
        }
        match container
            .values
            .get(var.name)
            .and_then(|raw| settings::romm_value(raw))
        {
            Some(v) => Held::Text(v),
            None => Held::Unset,
        }
    }

    /// For a message that says the two differ.
    fn shown(&self) -> String {
        match self {
            Held::Unset => "it unset".into(),
            Held::Text(v) => format!("`{v}`"),
            Held::Secret(v) => format!("a secret of {} characters", v.chars().count()),
            Held::Sealed(s) => format!("another secret of {} characters", s.length),
        }
    }
}

impl PartialEq for Held<'_> {
    fn eq(&self, other: &Held<'_>) -> bool {
        match (self, other) {
            (Held::Unset, Held::Unset) => true,
            (Held::Text(a), Held::Text(b)) => a == b,
            (Held::Secret(value), Held::Sealed(sealed))
            | (Held::Sealed(sealed), Held::Secret(value)) => sealed.matches(value),
            _ => false,
        }
    }
}

/// Words people write for "true" that RomM reads as false.
fn looks_true(raw: &str) -> bool {
    let bare = raw
        .trim()
        .trim_matches(['"', '\''])
        .trim()
        .to_ascii_lowercase();
    matches!(
        bare.as_str(),
        "1" | "true" | "yes" | "on" | "y" | "t" | "enabled" | "enable" | "ok"
    )
}

/// A variable whose value is, or looks like, a secret.
fn secret_name(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    settings::var(key).is_some_and(|v| v.kind == Kind::Secret)
        || ["SECRET", "PASS", "TOKEN", "KEY"]
            .iter()
            .any(|word| upper.contains(word))
}

/// A line docker compose refuses, for messages: where, the line as written
/// (a secret's value hidden), and what is wrong.
pub fn problem_line(file: &EnvFile, p: &Problem) -> String {
    let (text, message) = match &p.value_of {
        Some((key, at)) if secret_name(key) => {
            // compose's message may quote the value too: hidden alike.
            let message = match &p.quote {
                Some(quote) => format!(
                    "{}••••{}",
                    p.message.get(..quote.start).unwrap_or(""),
                    p.message.get(quote.end..).unwrap_or("")
                ),
                None => p.message.clone(),
            };
            (format!("{}••••", p.text.get(..*at).unwrap_or("")), message)
        }
        _ => (p.text.clone(), p.message.clone()),
    };
    format!("{}:{}: `{text}`: {message}", file.path.display(), p.line)
}

fn did_you_mean(name: &str) -> Option<&'static str> {
    let near = |v: &str| (v.len() / 3).max(2);
    VARS.iter()
        // The distance is at least the difference in length: a cheap test
        // first, as an env file may hold many thousands of names.
        .filter(|v| name.chars().count().abs_diff(v.name.len()) <= near(v.name))
        .map(|v| (strsim::levenshtein(name, v.name), v.name))
        .filter(|(d, v)| *d <= near(v))
        .min()
        .map(|(_, v)| v)
}

pub fn env_file(settings: &Settings, purpose: Purpose) -> Finding {
    const ID: &str = id::CONFIG_ENV_FILE;
    if !settings.reads_romm_env() {
        return Finding::skip(
            ID,
            "No RomM env read (give --env-file FILE, or run inside RomM's container)",
        );
    }
    let mut problems = Problems::default();
    if let Some(file) = &settings.env_file {
        refused_lines(file, &mut problems);
        empty_references(file, &mut problems);
        names(file, &mut problems);
    }
    unknown_names(settings, &mut problems);
    not_utf8(settings, &mut problems);
    container_drift(settings, &mut problems);
    for (var, setting) in settings.iter() {
        literal_value(settings, var, setting, &mut problems);
    }
    oidc_enabled(settings, purpose, &mut problems);
    if settings.enabled() && purpose == Purpose::Diagnose {
        required(settings, &mut problems);
    }
    let mut places: Vec<String> = settings
        .env_file
        .iter()
        .map(|f| f.path.display().to_string())
        .chain(
            settings
                .container
                .as_ref()
                .map(|_| "RomM's container".into()),
        )
        .collect();
    if places.is_empty() {
        places.push("the environment".into());
    }
    let place = places.join(" and ");
    problems
        .finding(ID, problems.counted(&place))
        .unwrap_or_else(|| {
            let read =
                settings.romm_env().count() + usize::from(settings.sealed_secret().is_some());
            Finding::pass(
                ID,
                format!("{read} RomM variables read from {place}, all well-formed"),
            )
        })
}

/// Lines docker compose refuses: it then reads none of the file.
fn refused_lines(file: &EnvFile, problems: &mut Problems) {
    for (i, p) in file.problems.iter().enumerate() {
        let what = problem_line(file, p);
        problems.fail(
            if i == 0 {
                format!("{what} (docker compose stops here and refuses the whole file)")
            } else {
                what
            },
            format!(
                "Correct line {} of {} (docker compose reads none of the file while such a line remains)",
                p.line,
                file.path.display()
            ),
        );
    }
}

/// `$` references compose leaves empty with a warning, or that name a
/// variable the file sets only further down.
fn empty_references(file: &EnvFile, problems: &mut Problems) {
    for e in &file.entries {
        for l in e
            .lookups
            .iter()
            .filter(|l| l.warned || l.defined_later.is_some())
        {
            empty_reference(file, e, l, problems);
        }
    }
}

/// One such reference; a secret's is described without its text.
fn empty_reference(file: &EnvFile, e: &Entry, l: &Lookup, problems: &mut Problems) {
    let place = format!("{}:{}", file.path.display(), e.line);
    if secret_name(&e.key) {
        problems.warn(
            format!(
                "{place}: {} holds a `$` reference that docker compose replaces with an empty string",
                e.key
            ),
            format!(
                "If the `$` belongs to {}, write it as `$$` or put the value in single quotes",
                e.key
            ),
        );
        return;
    }
    let fix = match l.defined_later {
        Some(n) => format!(
            "Move line {n} ({}=…) above line {}, or write the value out",
            l.name, e.line
        ),
        None => format!(
            "Define {} above line {} (or in the environment docker compose runs in); if the `$` is literal, write `$$` or single-quote the value",
            l.name, e.line
        ),
    };
    problems.warn(format!("{place}: {}: {}", e.key, describe_lookup(l)), fix);
}

/// The names the file sets, line by line: repeated, or misspelt.
fn names(file: &EnvFile, problems: &mut Problems) {
    let mut seen = std::collections::BTreeSet::new();
    for e in &file.entries {
        if !seen.insert(&e.key) {
            repeated(file, e, problems);
        }
        misspelt(file, e, problems);
    }
}

/// A RomM variable set again: the last line wins.
fn repeated(file: &EnvFile, e: &Entry, problems: &mut Problems) {
    if settings::var(&e.key).is_some() {
        problems.warn(
            format!(
                "{}:{}: {} is set more than once; the last one wins",
                file.path.display(),
                e.line,
                e.key
            ),
            format!("Keep one {} line", e.key),
        );
    }
}

/// A name in the file that is close to one RomM reads, but not it.
fn misspelt(file: &EnvFile, e: &Entry, problems: &mut Problems) {
    if !settings::romm_reads(&e.key)
        && !e.key.starts_with("OIDC_")
        && let Some(near) = did_you_mean(&e.key)
    {
        problems.fail(
            format!(
                "{}:{}: {} is not a variable RomM reads",
                file.path.display(),
                e.line,
                e.key
            ),
            format!("Rename it to {near}"),
        );
    }
}

/// `OIDC_*` names RomM does not read.
fn unknown_names(settings: &Settings, problems: &mut Problems) {
    for (name, source) in &settings.unknown {
        let fix = match did_you_mean(name) {
            Some(near) => format!("Rename {name} to {near}"),
            None => format!("Remove {name}; RomM ignores it"),
        };
        problems.fail(
            format!("{name} ({source}) is not a variable RomM reads"),
            fix,
        );
    }
}

/// Variables of the environment that were not UTF-8.
fn not_utf8(settings: &Settings, problems: &mut Problems) {
    for name in &settings.not_utf8 {
        problems.fail(
            format!(
                "{name} (the environment) is not UTF-8 text; it was read with � in place of the bad bytes"
            ),
            format!("Set {name} to UTF-8 text"),
        );
    }
}

/// A value RomM reads literally: wrapped in quotes, or a boolean written in
/// a word RomM reads as false.
fn literal_value(settings: &Settings, var: &Var, setting: &Setting, problems: &mut Problems) {
    if matches!(
        setting.source,
        Source::Flag(_) | Source::Derived(_) | Source::Default
    ) {
        return;
    }
    let value = python_strip(setting.raw());
    let quoted = value.len() >= 2
        && ((value.starts_with('"') && value.ends_with('"'))
            || (value.starts_with('\'') && value.ends_with('\'')));
    let how = interpolation(settings, var.name)
        .map(|note| format!("\n  {note}"))
        .unwrap_or_default();
    if quoted {
        let shown = settings::shown(var, value);
        problems.fail(
            format!(
                "{} ({}) is wrapped in literal quotes: {shown}{how}",
                var.name, setting.source
            ),
            format!(
                "RomM keeps the quotes (romm#2732); write {}=value without quotes, e.g. a compose list item `- {}=value`",
                var.name, var.name
            ),
        );
    } else if var.kind == Kind::Bool && !romm_bool(value) && looks_true(value) {
        problems.fail(
            format!(
                "{}={value} ({}) reads as false in RomM{how}",
                var.name, setting.source
            ),
            format!(
                "Write {}=true (RomM accepts only 1, true, yes, on)",
                var.name
            ),
        );
    }
}

/// `OIDC_ENABLED` missing from RomM's env, or set to a false value.
fn oidc_enabled(settings: &Settings, purpose: Purpose, problems: &mut Problems) {
    let written = settings
        .romm_env()
        .find(|(v, _)| v.name == OIDC_ENABLED)
        .map(|(_, s)| s);
    match written {
        None if (settings.env_file.is_some() || settings.container.is_some())
            && purpose == Purpose::Diagnose =>
        {
            problems.fail(
                "OIDC_ENABLED is missing; RomM defaults it to false and answers \"OAuth disabled\"",
                "Add OIDC_ENABLED=true",
            )
        }
        Some(s) if !romm_bool(s.raw()) && !looks_true(s.raw()) => problems.fail(
            format!(
                "OIDC_ENABLED={} ({}): OIDC login is switched off{}",
                python_strip(s.raw()),
                s.source,
                interpolation(settings, OIDC_ENABLED)
                    .map(|note| format!("\n  {note}"))
                    .unwrap_or_default()
            ),
            "Set OIDC_ENABLED=true",
        ),
        _ => {}
    }
}

/// What RomM's login needs in RomM's own env, not only given here.
fn required(settings: &Settings, problems: &mut Problems) {
    for name in [OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI] {
        let sealed = name == OIDC_CLIENT_SECRET
            && settings
                .container
                .as_ref()
                .is_some_and(|c| c.secret.is_some());
        if settings.romm_env_value(name).is_none() && !sealed {
            problems.fail(
                format!("{name} is not set in RomM's env"),
                format!("Add {name}=… to the env file RomM reads"),
            );
        }
    }
    let has_server = [OIDC_SERVER_APPLICATION_URL, OIDC_SERVER_METADATA_URL]
        .iter()
        .any(|n| settings.romm_env_value(n).is_some());
    if !has_server {
        problems.fail(
            "OIDC_SERVER_APPLICATION_URL is not set in RomM's env",
            "Add OIDC_SERVER_APPLICATION_URL=<provider issuer>",
        );
    }
}

pub fn provider_name(settings: &Settings) -> Finding {
    const ID: &str = id::CONFIG_PROVIDER_NAME;
    let value = settings.value(OIDC_PROVIDER).unwrap_or("");
    let icon = value.to_lowercase().replace(' ', "-");
    if BUNDLED_ICONS.contains(&icon.as_str()) {
        return Finding::pass(
            ID,
            format!(
                "OIDC_PROVIDER is {value}: the button reads \"Login with {value}\" with its icon"
            ),
        );
    }
    let near = BUNDLED_ICONS
        .iter()
        .map(|n| (strsim::levenshtein(&icon, n), *n))
        .min()
        .filter(|(d, _)| *d <= 2);
    let (expected, fix) = match near {
        Some((_, n)) => (
            n.to_string(),
            format!("Set OIDC_PROVIDER={n}{}", at(settings, OIDC_PROVIDER)),
        ),
        None => (
            BUNDLED_ICONS.join(", "),
            "Use one of the bundled names if your provider is among them; otherwise this is only cosmetic.".into(),
        ),
    };
    Finding::warn(ID, format!("OIDC_PROVIDER={value} has no bundled RomM icon"))
        .detail(format!(
            "RomM loads /assets/dashboard-icons/{icon}.png, which does not exist, and shows a key icon instead."
        ))
        .mismatch(expected, value)
        .fix(fix)
}

pub fn roles(settings: &Settings) -> Finding {
    const ID: &str = id::CONFIG_ROLES;
    let claim = settings.value(OIDC_CLAIM_ROLES);
    let roles: Vec<(&str, &str)> = [OIDC_ROLE_ADMIN, OIDC_ROLE_EDITOR, OIDC_ROLE_VIEWER]
        .into_iter()
        .filter_map(|n| settings.value(n).map(|v| (n, v)))
        .collect();
    let Some(claim) = claim else {
        if roles.is_empty() {
            return Finding::skip(ID, "No role mapping (OIDC_CLAIM_ROLES unset)");
        }
        return Finding::warn(ID, "Role values are set but OIDC_CLAIM_ROLES is not, so RomM ignores them")
            .fix("Set OIDC_CLAIM_ROLES to the ID-token claim that holds the groups (Pocket ID: groups), or remove the OIDC_ROLE_* variables.");
    };
    if claim.contains('.') {
        let leaf = claim.rsplit('.').next().unwrap_or(claim);
        return Finding::fail(ID, format!("OIDC_CLAIM_ROLES={claim} is a dotted path"))
            .detail("RomM looks the claim up as one top-level key and never walks into nested objects, so the mapping is silently skipped (the dotted name is still added to the scope).")
            .mismatch(format!("a top-level claim such as {leaf} or groups"), claim)
            .fix("Add a mapper at the provider that puts the roles in a top-level ID-token claim (e.g. groups) and set OIDC_CLAIM_ROLES to its name.");
    }
    if claim.contains([',', ' ']) {
        return Finding::fail(ID, format!("OIDC_CLAIM_ROLES={claim} names more than one claim"))
            .detail("RomM reads one claim name, and also sends it as a scope, where a space splits it into several scopes.")
            .fix("Set OIDC_CLAIM_ROLES to a single claim name, e.g. groups.");
    }
    if let Some((name, value)) = roles.iter().find(|(_, v)| v.contains(',')) {
        return Finding::warn(ID, format!("{name}={value} looks like a list"))
            .detail("RomM compares one value; commas are not split, so this matches only a group literally named so.")
            .fix(format!("Set {name} to a single group name."));
    }
    if roles.is_empty() {
        return Finding::warn(ID, format!("OIDC_CLAIM_ROLES={claim} but no role values are set"))
            .detail("When the claim is in the token and no OIDC_ROLE_* value matches, RomM refuses the login: \"User has not been granted any roles for this application.\"")
            .fix("Set OIDC_ROLE_ADMIN and/or OIDC_ROLE_VIEWER (use OIDC_ROLE_VIEWER=* to let anyone with the claim in).");
    }
    let list = roles
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    Finding::pass(ID, format!("Roles from claim {claim}: {list}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_settings::{env, flags};
    use crate::report::Status;

    const COMPLETE: &str = "OIDC_ENABLED=true\nOIDC_CLIENT_ID=romm\nOIDC_CLIENT_SECRET=s3cret\nOIDC_REDIRECT_URI=https://romm.example.com/api/oauth/openid\nOIDC_SERVER_APPLICATION_URL=https://id.example.com\n";

    fn env_file_of(text: &str, environment: &[(&str, &str)]) -> Finding {
        env_file(&env(text, environment), Purpose::Diagnose)
    }

    /// `romm.env` as `COMPLETE`, with RomM's container running with `container`.
    fn against_container(file: &str, container: &[(&str, &str)]) -> Finding {
        let romm = crate::container::RommEnv::of(container);
        let settings = crate::checks::test_settings::sources(&[], &[], Some(file), Some(&romm));
        env_file(&settings, Purpose::Diagnose)
    }

    fn complete_pairs() -> Vec<(&'static str, &'static str)> {
        COMPLETE.lines().filter_map(|l| l.split_once('=')).collect()
    }

    #[test]
    fn a_container_running_with_the_files_values_as_romm_reads_them_passes() {
        let mut container = complete_pairs();
        // RomM strips every value: these are the same to it.
        container.retain(|(k, _)| *k != OIDC_CLIENT_ID && *k != OIDC_CLIENT_SECRET);
        container.extend([(OIDC_CLIENT_ID, " romm\t"), (OIDC_CLIENT_SECRET, "s3cret ")]);
        let f = against_container(COMPLETE, &container);
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert_eq!(
            f.summary,
            "5 RomM variables read from romm.env and RomM's container, all well-formed"
        );
    }

    #[test]
    fn a_value_changed_in_the_file_since_the_container_started_is_a_forgotten_restart() {
        let mut container = complete_pairs();
        container.retain(|(k, _)| *k != OIDC_CLIENT_SECRET && *k != OIDC_ENABLED);
        container.push((OIDC_CLIENT_SECRET, "0ld-secret"));
        container.push(("OIDC_SERVER_METADATA_URL", "https://old.example.com/x"));
        let f = against_container(COMPLETE, &container);
        assert_eq!(f.status, Status::Fail, "{f:?}");
        let lines: Vec<&str> = f.detail.lines().collect();
        assert_eq!(
            lines,
            [
                "✘ OIDC_ENABLED: romm.env:1 sets `true`, but the container runs with the old value: it unset",
                "✘ OIDC_CLIENT_SECRET: romm.env:3 sets a secret of 6 characters, but the container runs with the old value: another secret of 10 characters",
            ]
        );
        assert!(!format!("{f:?}").contains("s3cret") && !format!("{f:?}").contains("0ld-secret"));
        let fixes: Vec<&str> = f.fix.lines().collect();
        assert_eq!(fixes.len(), 2, "{fixes:?}");
        assert!(fixes.iter().all(|fix| fix.starts_with(&format!(
            "Restart RomM so that it reads the env file again: {}",
            settings::RESTART
        ))));
        assert!(
            fixes[0].contains("add the file under env_file:"),
            "{fixes:?}"
        );
        // A value the container has and the file does not set is not the file's business.
        assert!(!f.detail.contains("OIDC_SERVER_METADATA_URL"), "{f:?}");
    }

    #[test]
    fn a_value_given_here_that_the_container_does_not_run_with_is_a_warning() {
        let romm = crate::container::RommEnv::of(&complete_pairs());
        let settings = crate::checks::test_settings::sources(
            &[(OIDC_CLIENT_SECRET, "n3w"), (OIDC_CLIENT_ID, "romm")],
            &[("OIDC_PROVIDER", "authelia")],
            None,
            Some(&romm),
        );
        let f = env_file(&settings, Purpose::Diagnose);
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert_eq!(
            f.detail.lines().collect::<Vec<_>>(),
            [
                "⚠ OIDC_PROVIDER (the environment) is `authelia`, but RomM's container runs with it unset: the checks from here use the value given, RomM uses its own",
                "⚠ OIDC_CLIENT_SECRET (--test) is a secret of 3 characters, but RomM's container runs with another secret of 6 characters: the checks from here use the value given, RomM uses its own",
            ]
        );
    }

    #[test]
    fn a_secret_only_in_the_container_is_set_for_romm_and_judged_by_what_left_it() {
        let settings = |secret: &'static str| {
            let mut pairs = complete_pairs();
            pairs.retain(|(k, _)| *k != OIDC_CLIENT_SECRET);
            pairs.push((OIDC_CLIENT_SECRET, secret));
            let romm = crate::container::RommEnv::of(&pairs);
            crate::checks::test_settings::sources(&[], &[], None, Some(&romm))
        };
        let f = client(&settings("s3cret"));
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert_eq!(
            f.summary,
            "Client id romm, secret in RomM's container (6 chars; it never leaves it)"
        );
        assert_eq!(
            env_file(&settings("s3cret"), Purpose::Diagnose).status,
            Status::Pass
        );
        let quoted = client(&settings("'s3cret'"));
        assert_eq!(quoted.status, Status::Fail, "{quoted:?}");
        assert!(quoted.summary.contains("literal quote"), "{quoted:?}");
    }

    #[test]
    fn a_complete_env_file_passes() {
        let f = env_file_of(COMPLETE, &[]);
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert_eq!(
            f.summary,
            "5 RomM variables read from romm.env, all well-formed"
        );
    }

    #[test]
    fn env_file_problems_are_listed_in_file_order_with_each_fix_once() {
        let text = format!(
            "{COMPLETE}OIDC_REDIRECT_URI=https://romm.example.com/api/oauth/openid\nROMM_SESION_SECURE_COOKIE=true\nOIDC_REDIRECT_URI=https://romm.example.com/api/oauth/openid\n"
        );
        let f = env_file_of(&text, &[("OIDC_CLAIMS_ROLES", "groups")]);
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert_eq!(f.summary, "4 problems in romm.env");
        assert_eq!(
            f.detail,
            "⚠ romm.env:6: OIDC_REDIRECT_URI is set more than once; the last one wins\n\
             ✘ romm.env:7: ROMM_SESION_SECURE_COOKIE is not a variable RomM reads\n\
             ⚠ romm.env:8: OIDC_REDIRECT_URI is set more than once; the last one wins\n\
             ✘ OIDC_CLAIMS_ROLES (the environment) is not a variable RomM reads"
        );
        assert_eq!(
            f.fix,
            "Keep one OIDC_REDIRECT_URI line\nRename it to ROMM_SESSION_SECURE_COOKIE\nRename OIDC_CLAIMS_ROLES to OIDC_CLAIM_ROLES"
        );
    }

    #[test]
    fn empty_references_alone_only_warn_and_hide_a_secrets_text() {
        let text = COMPLETE.replace("OIDC_CLIENT_SECRET=s3cret", "OIDC_CLIENT_SECRET=s3$cret");
        let f = env_file_of(&text, &[]);
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert_eq!(
            f.detail,
            "⚠ romm.env:3: OIDC_CLIENT_SECRET holds a `$` reference that docker compose replaces with an empty string"
        );
        let text = format!("{COMPLETE}OIDC_PROVIDER=${{NAME}}\nNAME=pocket-id\n");
        let f = env_file_of(&text, &[]);
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert!(
            f.fix.starts_with("Move line 7 (NAME=…) above line 6"),
            "{f:?}"
        );
    }

    #[test]
    fn values_romm_reads_literally_fail() {
        let f = env_file_of(
            COMPLETE,
            &[
                ("OIDC_PROVIDER", "\"pocket-id\""),
                ("OIDC_ENABLED", "enabled"),
            ],
        );
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(
            f.detail.contains(
                "✘ OIDC_PROVIDER (the environment) is wrapped in literal quotes: \"pocket-id\""
            ),
            "{f:?}"
        );
        assert!(
            f.detail
                .contains("✘ OIDC_ENABLED=enabled (the environment) reads as false in RomM"),
            "{f:?}"
        );
    }

    #[test]
    fn what_romm_needs_is_demanded_from_its_env_only_when_diagnosing() {
        let text = "OIDC_SERVER_APPLICATION_URL=https://id.example.com\n";
        let f = env_file_of(text, &[]);
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(f.detail.contains("OIDC_ENABLED is missing"), "{f:?}");
        let f = env_file(&env(text, &[]), Purpose::Emit);
        assert_eq!(f.status, Status::Pass, "{f:?}");
        let off = env_file_of(&COMPLETE.replace("=true", "=0"), &[]);
        assert!(off.detail.contains("OIDC login is switched off"), "{off:?}");
        let partial = env_file_of("OIDC_ENABLED=true\n", &[]);
        assert_eq!(partial.summary, "4 problems in romm.env", "{partial:?}");
    }

    #[test]
    fn helpers_label_their_findings_with_the_checks_id() {
        let quoted = literal_problem(id::CONFIG_CLIENT, OIDC_CLIENT_ID, "'romm'").unwrap();
        assert_eq!(
            (quoted.id, quoted.status),
            (id::CONFIG_CLIENT, Status::Fail)
        );
        let spaced = literal_problem(id::CONFIG_CLIENT, OIDC_CLIENT_ID, "ro mm").unwrap();
        assert_eq!(spaced.found.as_deref(), Some("ro mm"));
        let not_url = http_url(id::CONFIG_METADATA_URL, "X", "ftp://x").unwrap_err();
        assert_eq!(not_url.id, id::CONFIG_METADATA_URL);
        assert!(http_url(id::CONFIG_METADATA_URL, "X", "https://x").is_ok());
    }

    #[test]
    fn issuer_rules() {
        let issuer = |value: &str, provider: &str| {
            issuer_url(&flags(&[
                (OIDC_SERVER_APPLICATION_URL, value),
                (OIDC_PROVIDER, provider),
            ]))
        };
        let pass = issuer("https://id.example.com", "pocket-id");
        assert_eq!(pass.status, Status::Pass, "{pass:?}");
        assert_eq!(
            pass.data.unwrap()["discovery_url"],
            "https://id.example.com/.well-known/openid-configuration"
        );
        for (value, provider, status, summary) in [
            (
                "https://id.example.com/authorize",
                "pocket-id",
                Status::Fail,
                "OIDC_SERVER_APPLICATION_URL is the authorization endpoint (the value the old Pocket ID guide taught), not the issuer",
            ),
            (
                "https://id.example.com?x=1",
                "keycloak",
                Status::Fail,
                "OIDC_SERVER_APPLICATION_URL has a query or fragment",
            ),
            (
                "https://id.example.com/sub",
                "pocket-id",
                Status::Warn,
                "OIDC_SERVER_APPLICATION_URL has a path, but Pocket ID is never served under one",
            ),
            (
                "http://id.example.com",
                "keycloak",
                Status::Warn,
                "OIDC_SERVER_APPLICATION_URL uses plain http",
            ),
        ] {
            let f = issuer(value, provider);
            assert_eq!((f.status, f.summary.as_str()), (status, summary), "{f:?}");
            assert_eq!(f.id, id::CONFIG_ISSUER_URL);
            assert!(
                f.detail.ends_with(&format!(
                    "RomM will fetch discovery from {}",
                    settings::well_known_url(value)
                )),
                "{f:?}"
            );
        }
        let discovery_url = issuer(
            "https://id.example.com/.well-known/openid-configuration",
            "keycloak",
        );
        assert!(
            discovery_url
                .fix
                .contains("or keep the URL as OIDC_SERVER_METADATA_URL="),
            "{discovery_url:?}"
        );
        let unset = issuer_url(&flags(&[(OIDC_ENABLED, "true")]));
        assert_eq!(unset.status, Status::Fail, "{unset:?}");
        let off = issuer_url(&flags(&[(OIDC_ENABLED, "false")]));
        assert_eq!(off.status, Status::Skip, "{off:?}");
    }
}
