//! The discovery document, fetched exactly as RomM fetches it and judged by
//! what RomM (authlib) and the OIDC Discovery spec require of it.

use url::Url;

use super::{config::is_loopback, json_object, kind, unreachable};
use crate::checks::id;
use crate::http::{Http, Response, httpx_refuses};
use crate::oidc::discovery::{Discovery, Flavor};
use crate::report::{Finding, Problems, is_unsafe};
use crate::settings::{
    OIDC_CLAIM_ROLES, OIDC_SERVER_APPLICATION_URL, OIDC_SERVER_METADATA_URL, Settings,
};
use crate::version::{self, Version};

/// Algorithms whose signatures this tool verifies (the ones authlib verifies
/// with a public key from the JWKS).
pub const VERIFIABLE_ALGS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
];

/// Every Pocket ID release on fosite (2.10.0 on) hashes an EdDSA token's
/// `at_hash` with SHA-256: fosite takes the size from `alg[2:]` and EdDSA has
/// no number (pocket-id/fosite `handler/openid/helper.go` `ComputeHash`),
/// while authlib hashes EdDSA with SHA-512, so RomM refuses every such token.
/// Releases up to 2.9 put no `at_hash` in ID tokens at all.
const EDDSA_AT_HASH_FROM: Version = (2, 10, 0);
/// The first release newer than the ones whose source this was checked
/// against (2.14.x).
const EDDSA_AT_HASH_UNCHECKED_FROM: Version = (2, 15, 0);
/// The affected releases, in words.
pub const EDDSA_AT_HASH_VERSIONS: &str =
    "Pocket ID 2.10.0 to 2.14.0 (every release since it moved to fosite; none has fixed it yet)";
/// The fix for them.
pub const EDDSA_AT_HASH_FIX: &str = "Rotate Pocket ID's signing key to RS256: pocket-id key-rotate --alg RS256, then restart Pocket ID (RomM re-fetches the key set by itself). Upgrading does not help: no Pocket ID release up to 2.14.0 fixes this.";

/// Pocket ID's default APP_URL: an issuer nobody else can reach.
const POCKET_ID_DEFAULT_ISSUER: &str = "http://localhost:1411";

/// `discovery.fetch`, then `discovery.issuer` and `discovery.metadata` when a
/// document was read.
pub fn run(settings: &Settings, http: &Http) -> (Vec<Finding>, Option<Discovery>) {
    const ID: &str = id::DISCOVERY_FETCH;
    let Some(url) = settings.discovery_url() else {
        let skip = |id| Finding::skip(id, "No provider URL (OIDC_SERVER_APPLICATION_URL) to fetch");
        return (
            vec![
                skip(ID),
                skip(id::DISCOVERY_ISSUER),
                skip(id::DISCOVERY_METADATA),
            ],
            None,
        );
    };
    let fetched = match http.get(&url) {
        Ok(response) => judge_fetch(&url, &response),
        Err(failure) => Err(unreachable(ID, "Fetching discovery", &url, &failure)),
    };
    match fetched {
        Ok((finding, discovery)) => {
            let findings = vec![
                finding,
                issuer(settings, &url, &discovery),
                metadata(settings, &discovery, None),
            ];
            (findings, Some(discovery))
        }
        Err(finding) => {
            let skip = |id| Finding::skip(id, "Needs the discovery document");
            (
                vec![
                    finding,
                    skip(id::DISCOVERY_ISSUER),
                    skip(id::DISCOVERY_METADATA),
                ],
                None,
            )
        }
    }
}

fn source_var(settings: &Settings) -> &'static str {
    if settings.value(OIDC_SERVER_METADATA_URL).is_some() {
        OIDC_SERVER_METADATA_URL
    } else {
        OIDC_SERVER_APPLICATION_URL
    }
}

/// The fixes of `discovery.fetch`, shared with `romm.log` (RomM's own log of
/// the same failures).
pub const REDIRECT_FIX: &str = "Use the URL the redirect points to (its https:// form, without the /.well-known/openid-configuration suffix) in OIDC_SERVER_APPLICATION_URL.";
pub const STATUS_FIX: &str = "Set OIDC_SERVER_APPLICATION_URL to the provider's issuer (the URL whose /.well-known/openid-configuration answers), e.g. Pocket ID's APP_URL; Keycloak needs …/realms/<realm>, Authentik …/application/o/<slug>.";
pub const NOT_JSON_FIX: &str = "RomM parses the body as JSON and fails with a JSONDecodeError (romm#2061). Point OIDC_SERVER_APPLICATION_URL at the provider's base URL: Pocket ID answers unknown paths (such as …/authorize/.well-known/openid-configuration) with its HTML page.";

/// The discovery document `url` answered, judged: `discovery.fetch`, and the
/// document when there is one.
pub fn judge_fetch(url: &str, response: &Response) -> Result<(Finding, Discovery), Finding> {
    const ID: &str = id::DISCOVERY_FETCH;
    if (300..400).contains(&response.status) {
        let to = response
            .location
            .as_deref()
            .unwrap_or("(no Location header)");
        return Err(Finding::fail(ID, format!("Discovery answers a {} redirect, which RomM does not follow", response.status))
            .detail(format!("{url} redirects to {to}. RomM's HTTP client treats any 3xx as an error, and the login button gives a bare 500 (romm#1430)."))
            .mismatch(format!("200 from {url}"), format!("{} → {to}", response.status))
            .fix(REDIRECT_FIX));
    }
    if !(200..300).contains(&response.status) {
        return Err(
            Finding::fail(ID, format!("Discovery answers HTTP {}", response.status))
                .detail(format!(
                    "{url} answered {} ({}); body: {}",
                    response.status,
                    response
                        .content_type
                        .as_deref()
                        .unwrap_or("no content type"),
                    response.head()
                ))
                .mismatch(
                    format!("200 with a JSON document at {url}"),
                    format!("HTTP {}", response.status),
                )
                .fix(STATUS_FIX),
        );
    }
    let doc =
        json_object(ID, "The discovery document", response).map_err(|f| f.or_fix(NOT_JSON_FIX))?;
    if !response.is_json_type() {
        let found = response
            .content_type
            .clone()
            .unwrap_or_else(|| "(none)".into());
        // authlib parses any body as JSON, so this alone does not break RomM.
        let discovery = Discovery { doc };
        let finding = Finding::warn(ID, format!("Discovery is JSON but served as {found}"))
            .detail("RomM parses it anyway; a proxy or static file server may be rewriting the content type.")
            .mismatch("application/json", found)
            .fix("Serve the discovery document with Content-Type: application/json.");
        return Ok((finding, discovery));
    }
    let discovery = Discovery { doc };
    let finding = Finding::pass(
        ID,
        format!(
            "Discovery read from {url}: {}",
            discovery.flavor().describe()
        ),
    );
    Ok((finding, discovery))
}

/// Compares URLs the way providers compare issuers: scheme and host
/// case-insensitively, trailing slashes ignored.
fn same_url(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.trim_end_matches('/').to_ascii_lowercase();
    norm(a) == norm(b)
}

fn issuer(settings: &Settings, url: &str, discovery: &Discovery) -> Finding {
    const ID: &str = id::DISCOVERY_ISSUER;
    let Some(issuer) = discovery.issuer() else {
        let found = discovery.doc.get("issuer").map(kind).unwrap_or("nothing");
        return Finding::fail(ID, "The discovery document has no issuer string")
            .detail("authlib checks every ID token's iss against this value; without it the callback fails.")
            .mismatch("\"issuer\": \"https://…\"", found)
            .fix("Fix the provider's configuration (Pocket ID: set APP_URL).");
    };
    let configured = settings
        .value(OIDC_SERVER_METADATA_URL)
        .map(|m| {
            m.trim_end_matches("/.well-known/openid-configuration")
                .to_string()
        })
        .or_else(|| {
            settings
                .value(OIDC_SERVER_APPLICATION_URL)
                .map(str::to_string)
        })
        .unwrap_or_else(|| url.to_string());
    let odd: Vec<(usize, char)> = issuer
        .char_indices()
        .filter(|(_, c)| c.is_whitespace() || is_unsafe(*c))
        .collect();
    if let Some((first, _)) = odd.first() {
        let mut kinds: Vec<String> = Vec::new();
        for (_, c) in &odd {
            let name = format!("U+{:04X}", u32::from(*c));
            if !kinds.contains(&name) {
                kinds.push(name);
            }
        }
        return Finding::fail(ID, "The published issuer contains whitespace or control characters")
            .detail(format!(
                "An issuer is a URL without spaces or control characters (OIDC Discovery §3); this one holds {} of them from byte {first} on ({}). authlib compares every ID token's iss with it byte for byte, and such characters in a provider's answer mean a broken or hostile configuration.",
                odd.len(),
                kinds.join(", ")
            ))
            .mismatch("https://… (no whitespace, no control characters)", issuer)
            .fix("Fix the provider's issuer setting (Pocket ID: APP_URL) so it is the plain https URL of the provider.");
    }
    if discovery.flavor().is_pocket_id() && same_url(issuer, POCKET_ID_DEFAULT_ISSUER) {
        return Finding::warn(ID, "Pocket ID publishes its default issuer http://localhost:1411: APP_URL is not set")
            .detail("The authorize endpoint is then http://localhost:1411/authorize, which browsers on other machines cannot open, and passkeys are bound to the wrong origin.")
            .mismatch("Pocket ID's public URL, e.g. https://id.example.com", issuer)
            .fix("Set APP_URL in Pocket ID's environment to its public https URL, restart Pocket ID, then set OIDC_SERVER_APPLICATION_URL to the same value.");
    }
    if let Err(e) = Url::parse(issuer) {
        return Finding::fail(ID, "The published issuer is not a URL")
            .detail(format!("{e}"))
            .mismatch("https://…", issuer)
            .fix("Fix the provider's issuer setting.");
    }
    if !same_url(issuer, &configured) {
        return Finding::warn(ID, "The published issuer differs from the URL RomM is given")
            .detail(format!(
                "RomM fetches discovery from {url} and then requires every ID token's iss to be {issuer}. That works when both name the same provider (e.g. an internal URL for RomM's container), but a provider behind the wrong URL, or one that publishes a wrong issuer, fails at the callback."
            ))
            .mismatch(issuer, configured)
            .fix(format!("Set {}={issuer}, unless RomM must reach the provider by another (internal) URL.", source_var(settings)));
    }
    Finding::pass(
        ID,
        format!("Issuer {issuer} matches; ID tokens must carry iss={issuer}"),
    )
}

/// Judges `discovery.metadata` again once `pocketid.version` (from the admin
/// API) is known: the EdDSA verdict depends on the release.
pub fn with_pocket_id_version(findings: &mut [Finding], settings: &Settings, d: &Discovery) {
    let version = findings
        .iter()
        .find(|f| f.id == id::POCKETID_VERSION)
        .and_then(|f| f.data.as_ref())
        .and_then(|data| data.get("version"))
        .and_then(serde_json::Value::as_str)
        .and_then(version::parse);
    if let Some(version) = version
        && let Some(finding) = findings.iter_mut().find(|f| f.id == id::DISCOVERY_METADATA)
    {
        *finding = metadata(settings, d, Some(version));
    }
}

fn metadata(settings: &Settings, d: &Discovery, version: Option<Version>) -> Finding {
    const ID: &str = id::DISCOVERY_METADATA;
    let mut problems = Problems::default();
    let mut notes = vec![email_verified_note(d).to_string()];
    endpoints(d, &mut problems);
    response_types(d, &mut problems);
    scopes(settings, d, &mut problems);
    public_key_algs(d, &mut problems);
    eddsa_at_hash(d, version, &mut problems, &mut notes);
    client_auth(d, &mut problems);
    endpoint_hosts(d, &mut problems);
    problems.failures_first();
    let flavor = d.flavor();
    let algs = d.signing_algs();
    let notes = notes.join("\n");
    let data = serde_json::json!({
        "provider": match flavor { Flavor::PocketIdModern => "pocket-id-modern", Flavor::PocketIdLegacy => "pocket-id-legacy", Flavor::Other => "generic" },
        "signing_algs": algs,
        "email_verified_advertised": d.advertises_email_verified(),
    });
    let place = format!("the discovery document ({})", flavor.describe());
    match problems.finding(ID, problems.counted(&place)) {
        Some(f) => {
            let detail = format!("{}\n{notes}", f.detail);
            f.detail(detail).data(data)
        }
        None => Finding::pass(
            ID,
            format!(
                "{}: endpoints, code flow and {} signing in order",
                flavor.describe(),
                algs.join("/")
            ),
        )
        .detail(notes)
        .data(data),
    }
}

/// What RomM demands of `email_verified`, which the document decides.
fn email_verified_note(d: &Discovery) -> &'static str {
    if d.advertises_email_verified() {
        "email_verified is in claims_supported, so RomM will demand the claim be literally true"
    } else {
        "email_verified is not advertised, so RomM accepts a token without it (but not with false)"
    }
}

/// The endpoints RomM calls.
const ENDPOINTS: [&str; 3] = ["authorization_endpoint", "token_endpoint", "jwks_uri"];

/// The fixes of `discovery.metadata` for an endpoint, shared with `romm.log`.
pub const MISSING_ENDPOINT_FIX: &str =
    "The provider must publish it; RomM cannot log in without it.";
pub const ENDPOINT_URL_FIX: &str =
    "Fix the provider's public URL settings: the endpoint must be a plain URL.";

/// An endpoint as RomM's httpx would call it, or what is wrong with it and
/// the fix.
fn endpoint(d: &Discovery, key: &str) -> Result<Url, (String, &'static str)> {
    match d.doc.get(key) {
        None => Err((format!("{key} is missing"), MISSING_ENDPOINT_FIX)),
        Some(serde_json::Value::String(v)) if let Some(why) = httpx_refuses(v) => {
            Err((format!("{key}: {why}"), ENDPOINT_URL_FIX))
        }
        Some(v) => match v.as_str().map(Url::parse) {
            Some(Ok(url)) if matches!(url.scheme(), "http" | "https") => Ok(url),
            _ => Err((
                format!("{key} is not an absolute http(s) URL: {v}"),
                "Fix the provider's public URL settings.",
            )),
        },
    }
}

/// Every endpoint RomM calls is published as a URL it can call.
fn endpoints(d: &Discovery, problems: &mut Problems) {
    for key in ENDPOINTS {
        if let Err((text, fix)) = endpoint(d, key) {
            problems.fail(text, fix);
        }
    }
}

/// The authorization code flow is offered.
fn response_types(d: &Discovery, problems: &mut Problems) {
    match d.list("response_types_supported") {
        Some(Ok(types)) if types.contains(&"code") => {}
        Some(Ok(types)) => problems.fail(
            format!("response_types_supported lacks \"code\": {types:?}"),
            "Enable the authorization code flow for the client at the provider.",
        ),
        Some(Err(())) => problems.fail(
            "response_types_supported is not a list of strings",
            "Fix the provider's discovery document.",
        ),
        None => {}
    }
}

/// The scopes RomM asks for are offered (when the document lists scopes).
fn scopes(settings: &Settings, d: &Discovery, problems: &mut Problems) {
    let Some(Ok(scopes)) = d.list("scopes_supported") else {
        return;
    };
    let roles = settings.value(OIDC_CLAIM_ROLES);
    let wanted = ["openid", "profile", "email"].into_iter().chain(roles);
    for scope in wanted.filter(|s| !scopes.contains(s)) {
        let text = format!("scope {scope} is not in scopes_supported {scopes:?}");
        if Some(scope) == roles {
            problems.warn(text, format!("RomM adds OIDC_CLAIM_ROLES ({scope}) to the scope; a provider that rejects unknown scopes fails with invalid_scope, and one that drops them sends no roles. Define a {scope} scope at the provider or change OIDC_CLAIM_ROLES."));
        } else {
            problems.fail(
                text,
                "RomM always asks for openid profile email; enable these scopes at the provider.",
            );
        }
    }
}

/// ID tokens are signed with a key RomM verifies from the key set.
fn public_key_algs(d: &Discovery, problems: &mut Problems) {
    let algs = d.signing_algs();
    if !algs.iter().any(|a| VERIFIABLE_ALGS.contains(&a.as_str())) {
        problems.fail(
            format!("id_token_signing_alg_values_supported {algs:?} has no public-key algorithm"),
            "Give the provider an asymmetric signing key (RS256 is the safe choice; Authentik: select a signing key on the provider, romm#540).",
        );
    }
}

/// Pocket ID signing with EdDSA only: whether its release gives ID tokens
/// an `at_hash` RomM refuses (see [`EDDSA_AT_HASH_FROM`]).
fn eddsa_at_hash(
    d: &Discovery,
    version: Option<Version>,
    problems: &mut Problems,
    notes: &mut Vec<String>,
) {
    if !d.flavor().is_pocket_id() || !d.signing_algs().iter().all(|a| a == "EdDSA") {
        return;
    }
    let why = "fosite hashes an EdDSA token's at_hash with SHA-256, RomM's authlib with SHA-512 (InvalidClaimError: invalid_claim: Invalid claim 'at_hash')";
    let shown = |(a, b, c): Version| format!("{a}.{b}.{c}");
    match version {
        Some(v) if v < EDDSA_AT_HASH_FROM => notes.push(format!(
            "Pocket ID {} signs with EdDSA and puts no at_hash in ID tokens, so RomM accepts them; {EDDSA_AT_HASH_VERSIONS} add one RomM refuses: rotate the key to RS256 (pocket-id key-rotate --alg RS256) before upgrading",
            shown(v)
        )),
        Some(v) if v < EDDSA_AT_HASH_UNCHECKED_FROM => problems.fail(
            format!("Pocket ID {} signs with EdDSA, and RomM refuses every EdDSA ID token from it: {why}", shown(v)),
            EDDSA_AT_HASH_FIX,
        ),
        Some(v) => problems.warn(
            format!("Pocket ID {} signs with EdDSA; {EDDSA_AT_HASH_VERSIONS} give EdDSA tokens an at_hash RomM refuses ({why}), and whether {} fixed it is not known here", shown(v), shown(v)),
            format!("Run `romm-oidc doctor --login` to prove it, or avoid the question: {EDDSA_AT_HASH_FIX}"),
        ),
        None if d.flavor() == Flavor::PocketIdModern => problems.warn(
            format!("Pocket ID signs with EdDSA: {EDDSA_AT_HASH_VERSIONS} give EdDSA ID tokens an at_hash RomM refuses ({why}); the discovery document shows a 2.10+ release but not which"),
            format!("{EDDSA_AT_HASH_FIX} Give --pocket-id-api-key to name the release, or run `romm-oidc doctor --login` to prove it."),
        ),
        None => notes.push(format!(
            "Pocket ID (2.9 or older, by its discovery document) signs with EdDSA and puts no at_hash in ID tokens, so RomM accepts them; {EDDSA_AT_HASH_VERSIONS} add one RomM refuses: rotate the key to RS256 (pocket-id key-rotate --alg RS256) before upgrading"
        )),
    }
}

/// The token endpoint takes the only client authentication RomM sends.
fn client_auth(d: &Discovery, problems: &mut Problems) {
    if let Some(Ok(methods)) = d.list("token_endpoint_auth_methods_supported")
        && !methods.contains(&"client_secret_basic")
    {
        problems.fail(
            format!("token_endpoint_auth_methods_supported {methods:?} lacks client_secret_basic"),
            "RomM authenticates only with client_secret_basic; allow it for the client at the provider.",
        );
    }
}

/// Endpoints over plain http, or on another host than the issuer (which
/// RomM's container must reach too).
fn endpoint_hosts(d: &Discovery, problems: &mut Problems) {
    let issuer_host = d
        .issuer()
        .and_then(|i| Url::parse(i).ok())
        .map(|u| u.origin().ascii_serialization());
    let mut elsewhere = Vec::new();
    for (key, url) in ENDPOINTS
        .iter()
        .filter_map(|k| Some((k, endpoint(d, k).ok()?)))
    {
        if url.scheme() == "http" && !is_loopback(&url) {
            problems.warn(
                format!("{key} {url} uses plain http"),
                "Publish https endpoints (set the provider's public URL to https).",
            );
        }
        if issuer_host
            .as_deref()
            .is_some_and(|h| h != url.origin().ascii_serialization())
        {
            elsewhere.push(format!("{key} {url}"));
        }
    }
    if !elsewhere.is_empty() {
        problems.warn(
            format!("on another host than the issuer: {}", elsewhere.join(", ")),
            "RomM's container must reach these (Pocket ID: INTERNAL_APP_URL); check from inside it, e.g. docker compose exec romm curl -sS <jwks_uri>.",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_settings::flags;
    use crate::report::Status;
    use serde_json::{Value, json};

    const BASE: &str = "https://id.example.com";

    /// A complete document for a generic provider, with `changes` applied
    /// (`null` removes a member).
    fn document(changes: Value) -> Discovery {
        let mut doc = json!({
            "issuer": BASE,
            "authorization_endpoint": format!("{BASE}/authorize"),
            "token_endpoint": format!("{BASE}/token"),
            "jwks_uri": format!("{BASE}/jwks"),
            "response_types_supported": ["code"],
            "scopes_supported": ["openid", "profile", "email", "groups"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        });
        for (key, value) in changes.as_object().cloned().unwrap_or_default() {
            if value.is_null() {
                doc.as_object_mut().unwrap().remove(&key);
            } else {
                doc[key] = value;
            }
        }
        Discovery {
            doc: doc.as_object().cloned().unwrap_or_default(),
        }
    }

    /// Pocket ID's shape (2.10+ when `modern`), signing with EdDSA only.
    fn pocket_id(modern: bool) -> Discovery {
        let mut d = document(json!({
            "token_endpoint": format!("{BASE}/api/oidc/token"),
            "jwks_uri": format!("{BASE}/.well-known/jwks.json"),
            "id_token_signing_alg_values_supported": ["EdDSA"],
        }));
        if modern {
            d.doc
                .insert("request_parameter_supported".into(), json!(true));
        }
        d
    }

    fn judged(d: &Discovery) -> Finding {
        metadata(&flags(&[]), d, None)
    }

    #[test]
    fn a_complete_document_passes_and_says_what_romm_demands_of_email_verified() {
        let f = judged(&document(json!({})));
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert!(
            f.detail.contains("email_verified is not advertised"),
            "{f:?}"
        );
        let f = judged(&document(
            json!({"claims_supported": ["email", "email_verified"]}),
        ));
        assert!(f.detail.contains("literally true"), "{f:?}");
        assert_eq!(f.data.unwrap()["provider"], "generic");
    }

    #[test]
    fn endpoints_romm_cannot_call_fail() {
        let f = judged(&document(json!({
            "authorization_endpoint": null,
            "token_endpoint": "ftp://id.example.com/token",
            "jwks_uri": 7,
        })));
        assert_eq!(f.status, Status::Fail, "{f:?}");
        let lines: Vec<&str> = f.detail.lines().collect();
        assert_eq!(lines[0], "✘ authorization_endpoint is missing");
        assert!(lines[1].starts_with("✘ token_endpoint is not an absolute http(s) URL"));
        assert_eq!(lines[2], "✘ jwks_uri is not an absolute http(s) URL: 7");
    }

    #[test]
    fn failures_are_listed_before_warnings_and_each_fix_once() {
        let settings = flags(&[("OIDC_CLAIM_ROLES", "roles")]);
        let d = document(json!({
            "authorization_endpoint": "http://id.example.com/authorize",
            "token_endpoint": "http://id.example.com/token",
            "scopes_supported": ["openid"],
        }));
        let f = metadata(&settings, &d, None);
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert_eq!(
            f.summary,
            "6 problems in the discovery document (a generic OIDC provider)"
        );
        let marks: String = f.detail.lines().filter_map(|l| l.chars().next()).collect();
        // Two scopes missing, the roles scope, two plain-http endpoints, and
        // those on another origin than the https issuer; then the note.
        assert_eq!(marks, "✘✘⚠⚠⚠⚠e", "{f:?}");
        assert!(
            f.detail.lines().nth(2).unwrap().contains("scope roles"),
            "{f:?}"
        );
        let fixes: Vec<&str> = f.fix.lines().collect();
        assert_eq!(fixes.len(), 4, "{fixes:?}");
        assert!(fixes[0].starts_with("RomM always asks for openid profile email"));
        assert!(fixes[2].starts_with("Publish https endpoints"));
    }

    #[test]
    fn rules_on_flows_algorithms_and_client_authentication() {
        for (changes, expected) in [
            (
                json!({"response_types_supported": ["id_token"]}),
                "response_types_supported lacks \"code\"",
            ),
            (
                json!({"response_types_supported": "code"}),
                "response_types_supported is not a list of strings",
            ),
            (
                json!({"id_token_signing_alg_values_supported": ["HS256"]}),
                "has no public-key algorithm",
            ),
            (
                json!({"token_endpoint_auth_methods_supported": ["client_secret_post"]}),
                "lacks client_secret_basic",
            ),
        ] {
            let f = judged(&document(changes.clone()));
            assert_eq!(f.status, Status::Fail, "{changes}: {f:?}");
            assert!(f.detail.contains(expected), "{changes}: {f:?}");
        }
    }

    #[test]
    fn endpoints_on_another_host_warn_once_together() {
        let f = judged(&document(json!({
            "token_endpoint": "https://internal.example.com/token",
            "jwks_uri": "https://internal.example.com/jwks",
        })));
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert!(
            f.detail.starts_with("⚠ on another host than the issuer: token_endpoint https://internal.example.com/token, jwks_uri https://internal.example.com/jwks\n"),
            "{f:?}"
        );
    }

    #[test]
    fn pocket_id_eddsa_is_judged_by_release() {
        let settings = flags(&[]);
        let modern = pocket_id(true);
        let at = |version| metadata(&settings, &modern, version);
        let old = at(Some((2, 9, 0)));
        assert_eq!(old.status, Status::Pass, "{old:?}");
        assert!(
            old.detail
                .contains("Pocket ID 2.9.0 signs with EdDSA and puts no at_hash")
        );
        let broken = at(Some((2, 12, 1)));
        assert_eq!(broken.status, Status::Fail, "{broken:?}");
        assert_eq!(broken.fix, EDDSA_AT_HASH_FIX);
        let newer = at(Some((2, 15, 0)));
        assert_eq!(newer.status, Status::Warn, "{newer:?}");
        assert!(newer.fix.contains("doctor --login"), "{newer:?}");
        let unknown = at(None);
        assert_eq!(unknown.status, Status::Warn, "{unknown:?}");
        assert!(unknown.fix.contains("--pocket-id-api-key"), "{unknown:?}");
        let legacy = metadata(&settings, &pocket_id(false), None);
        assert_eq!(legacy.status, Status::Pass, "{legacy:?}");
        assert!(legacy.detail.contains("2.9 or older"), "{legacy:?}");
        // Any other algorithm beside EdDSA: RomM is not bound to it.
        let mut both = pocket_id(true);
        both.doc.insert(
            "id_token_signing_alg_values_supported".into(),
            json!(["EdDSA", "RS256"]),
        );
        assert_eq!(metadata(&settings, &both, None).status, Status::Pass);
    }
}
