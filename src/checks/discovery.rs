//! The discovery document, fetched exactly as RomM fetches it and judged by
//! what RomM (authlib) and the OIDC Discovery spec require of it.

use url::Url;

use super::{config::is_loopback, json_object, kind, unreachable};
use crate::http::{Http, Response, httpx_refuses};
use crate::oidc::discovery::{Discovery, Flavor};
use crate::report::{Finding, is_unsafe};
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
    const ID: &str = "discovery.fetch";
    let Some(url) = settings.discovery_url() else {
        let skip = |id| Finding::skip(id, "No provider URL (OIDC_SERVER_APPLICATION_URL) to fetch");
        return (
            vec![
                skip(ID),
                skip("discovery.issuer"),
                skip("discovery.metadata"),
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
                    skip("discovery.issuer"),
                    skip("discovery.metadata"),
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

fn judge_fetch(url: &str, response: &Response) -> Result<(Finding, Discovery), Finding> {
    const ID: &str = "discovery.fetch";
    if (300..400).contains(&response.status) {
        let to = response
            .location
            .as_deref()
            .unwrap_or("(no Location header)");
        return Err(Finding::fail(ID, format!("Discovery answers a {} redirect, which RomM does not follow", response.status))
            .detail(format!("{url} redirects to {to}. RomM's HTTP client treats any 3xx as an error, and the login button gives a bare 500 (romm#1430)."))
            .mismatch(format!("200 from {url}"), format!("{} → {to}", response.status))
            .fix("Use the URL the redirect points to (its https:// form, without the /.well-known/openid-configuration suffix) in OIDC_SERVER_APPLICATION_URL."));
    }
    if !(200..300).contains(&response.status) {
        return Err(Finding::fail(ID, format!("Discovery answers HTTP {}", response.status))
            .detail(format!("{url} answered {} ({}); body: {}", response.status, response.content_type.as_deref().unwrap_or("no content type"), response.head()))
            .mismatch(format!("200 with a JSON document at {url}"), format!("HTTP {}", response.status))
            .fix("Set OIDC_SERVER_APPLICATION_URL to the provider's issuer (the URL whose /.well-known/openid-configuration answers), e.g. Pocket ID's APP_URL; Keycloak needs …/realms/<realm>, Authentik …/application/o/<slug>."));
    }
    let doc = json_object(ID, "The discovery document", response).map_err(|f| {
        let fix = "RomM parses the body as JSON and fails with a JSONDecodeError (romm#2061). Point OIDC_SERVER_APPLICATION_URL at the provider's base URL: Pocket ID answers unknown paths (such as …/authorize/.well-known/openid-configuration) with its HTML page.";
        f.or_fix(fix)
    })?;
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
    const ID: &str = "discovery.issuer";
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

/// A problem found in the document, and how bad it is.
struct Issue {
    fail: bool,
    text: String,
    fix: String,
}

/// Judges `discovery.metadata` again once `pocketid.version` (from the admin
/// API) is known: the EdDSA verdict depends on the release.
pub fn with_pocket_id_version(findings: &mut [Finding], settings: &Settings, d: &Discovery) {
    let version = findings
        .iter()
        .find(|f| f.id == "pocketid.version")
        .and_then(|f| f.data.as_ref())
        .and_then(|data| data.get("version"))
        .and_then(serde_json::Value::as_str)
        .and_then(version::parse);
    if let Some(version) = version
        && let Some(finding) = findings.iter_mut().find(|f| f.id == "discovery.metadata")
    {
        *finding = metadata(settings, d, Some(version));
    }
}

fn metadata(settings: &Settings, d: &Discovery, version: Option<Version>) -> Finding {
    const ID: &str = "discovery.metadata";
    let mut issues: Vec<Issue> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut fail = |text: String, fix: &str| {
        issues.push(Issue {
            fail: true,
            text,
            fix: fix.into(),
        })
    };
    let issuer_host = d
        .issuer()
        .and_then(|i| Url::parse(i).ok())
        .map(|u| u.origin().ascii_serialization());
    let mut elsewhere = Vec::new();
    let mut plain_http = Vec::new();
    for key in ["authorization_endpoint", "token_endpoint", "jwks_uri"] {
        match d.doc.get(key) {
            None => fail(
                format!("{key} is missing"),
                "The provider must publish it; RomM cannot log in without it.",
            ),
            Some(serde_json::Value::String(v)) if httpx_refuses(v).is_some() => fail(
                format!("{key}: {}", httpx_refuses(v).unwrap_or_default()),
                "Fix the provider's public URL settings: the endpoint must be a plain URL.",
            ),
            Some(v) => match v.as_str().map(Url::parse) {
                Some(Ok(url)) if matches!(url.scheme(), "http" | "https") => {
                    if url.scheme() == "http" && !is_loopback(&url) {
                        plain_http.push(format!("{key} {url}"));
                    }
                    let origin = url.origin().ascii_serialization();
                    if issuer_host.as_deref().is_some_and(|h| h != origin) {
                        elsewhere.push(format!("{key} {url}"));
                    }
                }
                _ => fail(
                    format!("{key} is not an absolute http(s) URL: {v}"),
                    "Fix the provider's public URL settings.",
                ),
            },
        }
    }
    match d.list("response_types_supported") {
        Some(Ok(types)) if types.contains(&"code") => {}
        Some(Ok(types)) => fail(
            format!("response_types_supported lacks \"code\": {types:?}"),
            "Enable the authorization code flow for the client at the provider.",
        ),
        Some(Err(())) => fail(
            "response_types_supported is not a list of strings".into(),
            "Fix the provider's discovery document.",
        ),
        None => {}
    }
    let mut wanted = vec!["openid", "profile", "email"];
    let roles = settings.value(OIDC_CLAIM_ROLES);
    if let Some(r) = roles {
        wanted.push(r);
    }
    let mut warnings: Vec<Issue> = Vec::new();
    if let Some(Ok(scopes)) = d.list("scopes_supported") {
        let missing: Vec<&str> = wanted
            .iter()
            .copied()
            .filter(|s| !scopes.contains(s))
            .collect();
        for scope in missing {
            let is_roles = Some(scope) == roles;
            let text = format!("scope {scope} is not in scopes_supported {scopes:?}");
            if is_roles {
                warnings.push(Issue { fail: false, text, fix: format!("RomM adds OIDC_CLAIM_ROLES ({scope}) to the scope; a provider that rejects unknown scopes fails with invalid_scope, and one that drops them sends no roles. Define a {scope} scope at the provider or change OIDC_CLAIM_ROLES.") });
            } else {
                issues.push(Issue { fail: true, text, fix: "RomM always asks for openid profile email; enable these scopes at the provider.".into() });
            }
        }
    }
    let algs = d.signing_algs();
    if !algs.iter().any(|a| VERIFIABLE_ALGS.contains(&a.as_str())) {
        issues.push(Issue {
            fail: true,
            text: format!("id_token_signing_alg_values_supported {algs:?} has no public-key algorithm"),
            fix: "Give the provider an asymmetric signing key (RS256 is the safe choice; Authentik: select a signing key on the provider, romm#540).".into(),
        });
    }
    if d.flavor().is_pocket_id() && algs.iter().all(|a| a == "EdDSA") {
        let why = "fosite hashes an EdDSA token's at_hash with SHA-256, RomM's authlib with SHA-512 (InvalidClaimError: invalid_claim: Invalid claim 'at_hash')";
        let shown = |(a, b, c): Version| format!("{a}.{b}.{c}");
        match version {
            Some(v) if v < EDDSA_AT_HASH_FROM => notes.push(format!(
                "Pocket ID {} signs with EdDSA and puts no at_hash in ID tokens, so RomM accepts them; {EDDSA_AT_HASH_VERSIONS} add one RomM refuses: rotate the key to RS256 (pocket-id key-rotate --alg RS256) before upgrading",
                shown(v)
            )),
            Some(v) if v < EDDSA_AT_HASH_UNCHECKED_FROM => {
                issues.push(Issue {
                    fail: true,
                    text: format!("Pocket ID {} signs with EdDSA, and RomM refuses every EdDSA ID token from it: {why}", shown(v)),
                    fix: EDDSA_AT_HASH_FIX.into(),
                });
            }
            Some(v) => warnings.push(Issue {
                fail: false,
                text: format!("Pocket ID {} signs with EdDSA; {EDDSA_AT_HASH_VERSIONS} give EdDSA tokens an at_hash RomM refuses ({why}), and whether {} fixed it is not known here", shown(v), shown(v)),
                fix: format!("Run `romm-oidc doctor --login` to prove it, or avoid the question: {EDDSA_AT_HASH_FIX}"),
            }),
            None if d.flavor() == Flavor::PocketIdModern => warnings.push(Issue {
                fail: false,
                text: format!("Pocket ID signs with EdDSA: {EDDSA_AT_HASH_VERSIONS} give EdDSA ID tokens an at_hash RomM refuses ({why}); the discovery document shows a 2.10+ release but not which"),
                fix: format!("{EDDSA_AT_HASH_FIX} Give --pocket-id-api-key to name the release, or run `romm-oidc doctor --login` to prove it."),
            }),
            None => notes.push(format!(
                "Pocket ID (2.9 or older, by its discovery document) signs with EdDSA and puts no at_hash in ID tokens, so RomM accepts them; {EDDSA_AT_HASH_VERSIONS} add one RomM refuses: rotate the key to RS256 (pocket-id key-rotate --alg RS256) before upgrading"
            )),
        }
    }
    if let Some(Ok(methods)) = d.list("token_endpoint_auth_methods_supported")
        && !methods.contains(&"client_secret_basic")
    {
        issues.push(Issue {
            fail: true,
            text: format!("token_endpoint_auth_methods_supported {methods:?} lacks client_secret_basic"),
            fix: "RomM authenticates only with client_secret_basic; allow it for the client at the provider.".into(),
        });
    }
    for what in plain_http {
        warnings.push(Issue {
            fail: false,
            text: format!("{what} uses plain http"),
            fix: "Publish https endpoints (set the provider's public URL to https).".into(),
        });
    }
    if !elsewhere.is_empty() {
        warnings.push(Issue {
            fail: false,
            text: format!("on another host than the issuer: {}", elsewhere.join(", ")),
            fix: "RomM's container must reach these (Pocket ID: INTERNAL_APP_URL); check from inside it, e.g. docker compose exec romm curl -sS <jwks_uri>.".into(),
        });
    }
    issues.extend(warnings);
    let flavor = d.flavor();
    let verified_note = if d.advertises_email_verified() {
        "email_verified is in claims_supported, so RomM will demand the claim be literally true"
    } else {
        "email_verified is not advertised, so RomM accepts a token without it (but not with false)"
    };
    let data = serde_json::json!({
        "provider": match flavor { Flavor::PocketIdModern => "pocket-id-modern", Flavor::PocketIdLegacy => "pocket-id-legacy", Flavor::Other => "generic" },
        "signing_algs": algs,
        "email_verified_advertised": d.advertises_email_verified(),
    });
    let verified_note = std::iter::once(verified_note.to_string())
        .chain(notes)
        .collect::<Vec<_>>()
        .join("\n");
    if issues.is_empty() {
        return Finding::pass(
            ID,
            format!(
                "{}: endpoints, code flow and {} signing in order",
                flavor.describe(),
                algs.join("/")
            ),
        )
        .detail(verified_note)
        .data(data);
    }
    let any_fail = issues.iter().any(|i| i.fail);
    let summary = format!(
        "{} problem{} in the discovery document ({})",
        issues.len(),
        if issues.len() == 1 { "" } else { "s" },
        flavor.describe()
    );
    let detail = issues
        .iter()
        .map(|i| format!("{} {}", if i.fail { "✘" } else { "⚠" }, i.text))
        .chain([verified_note])
        .collect::<Vec<_>>()
        .join("\n");
    let fix = issues
        .iter()
        .map(|i| i.fix.clone())
        .collect::<Vec<_>>()
        .join("\n");
    let f = if any_fail {
        Finding::fail(ID, summary)
    } else {
        Finding::warn(ID, summary)
    };
    f.detail(detail).fix(fix).data(data)
}
