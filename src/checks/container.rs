//! The view from RomM's container (`--container`, `--exec`): where RomM's environment
//! was read (`container.env`), which client made RomM's requests (`container.probe`),
//! and those requests judged by the very functions that judge the doctor's own
//! (`discovery::judge_fetch`, `jwks::answer`, `credentials::judge_probe`), each finding
//! marked `view: container` and set beside the one from here. What the probe could not
//! see is a warning, never a pass.

use serde_json::{Value, json};

use super::{credentials, discovery, id, jwks, tls};
use crate::container::{Answers, Container, Step, Unavailable};
use crate::http::Response;
use crate::oidc::discovery::Discovery;
use crate::report::{Finding, Status, View};
use crate::settings::{self, OIDC_SERVER_METADATA_URL, OIDC_TLS_CACERTFILE, Settings, Source};

/// `container.env`: RomM's server environment, read in its container.
pub fn env(container: &Container) -> Finding {
    const ID: &str = id::CONTAINER_ENV;
    let env = match &container.env {
        Ok(env) => env,
        Err(why) => return unavailable(ID, why),
    };
    let count = env
        .values
        .keys()
        .filter(|n| settings::var(n).is_some())
        .count()
        + usize::from(env.sealed(settings::OIDC_CLIENT_SECRET).is_some());
    let read = format!(
        "RomM's environment read in {}: {count} RomM variables from {}",
        container.label, env.source
    );
    if !env.not_utf8.is_empty() {
        return Finding::fail(ID, format!("{read}; {} not UTF-8 text", env.not_utf8.join(", ")))
            .detail("Those values were read with � in place of the bad bytes; RomM reads them the same broken way.")
            .fix(format!("Set {} to UTF-8 text where RomM's container gets it, then restart RomM ({}).", env.not_utf8.join(", "), settings::RESTART));
    }
    if env.source.starts_with("/proc/") {
        return Finding::pass(ID, read);
    }
    Finding::warn(ID, read)
        .detail("No RomM server process (gunicorn) nor the container's first process could be read, so this is the environment a new process gets there, with the entrypoint's <NAME>_FILE rule applied: what RomM's init scripts export themselves is not seen, and a value changed since RomM started would not show.")
        .fix("Run the doctor with the same user as RomM's container (the engine's exec default), so that /proc/<pid>/environ of RomM's server is readable.")
}

/// `container.probe`: whether RomM's own client made the requests, or the same
/// requests were rebuilt (RomM's modules did not import there).
pub fn client(container: &Container, answers: &Result<Answers, Unavailable>) -> Finding {
    const ID: &str = id::CONTAINER_PROBE;
    if container.env.is_err() {
        return Finding::skip(
            ID,
            "Not run: RomM's environment could not be read there (see container.env)",
        );
    }
    let answers = match answers {
        Ok(answers) => answers,
        Err(why) => return unavailable(ID, why),
    };
    let version = |name: &str| {
        answers
            .libraries
            .get(name)
            .cloned()
            .flatten()
            .unwrap_or_else(|| "?".into())
    };
    let stack = format!(
        "Python {}, authlib {}, httpx {}",
        answers.python,
        version("authlib"),
        version("httpx")
    );
    let proxies = if answers.proxies.is_empty() {
        "No proxy variable is set in RomM's environment.".to_string()
    } else {
        let set: Vec<String> = answers
            .proxies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!(
            "RomM's httpx honours the proxy variables of its environment: {}.",
            set.join(", ")
        )
    };
    if answers.client.romm {
        return Finding::pass(
            ID,
            format!(
                "RomM's own OIDC client made RomM's requests in {} ({stack})",
                container.label
            ),
        )
        .detail(proxies);
    }
    Finding::warn(ID, format!("RomM's modules did not import in {}: its requests were rebuilt from its environment ({stack})", container.label))
        .detail(format!(
            "Importing RomM's registered client (handler.auth, then decorators.auth) failed: {}. The probe made the same requests with authlib and httpx as RomM 5.2 registers them; a RomM that registers its client otherwise is not judged.\n{proxies}",
            answers.client.why.as_deref().unwrap_or("?")
        ))
        .fix("Name RomM's own container (RomM's image puts its code on PYTHONPATH=/backend), or check the login itself with --login.")
}

/// `romm.log` for RomM's own log, read with the engine (`--container`): RomM's
/// failures of the last 24 h (`romm_log::judge`), or a warning when the log could not
/// be read. Nothing with `--exec`, whose command reads no log.
pub fn log(container: &Container) -> Vec<Finding> {
    match container.logs() {
        None => Vec::new(),
        Some(Ok(log)) => {
            let newest = if log.cut { "the newest part of " } else { "" };
            let source = format!("{newest}the last 24 h of RomM's log ({})", log.origin);
            crate::romm_log::judge(&log.text, &source)
        }
        Some(Err(why)) => vec![
            Finding::warn(id::ROMM_LOG, why.summary)
                .detail(format!("{} RomM's own log of its failed logins was not read.", why.detail))
                .fix(format!("{} Or save the log and give it with --romm-log FILE (docker logs -t --since 24h romm > romm.log).", why.fix)),
        ],
    }
}

fn unavailable(id: &'static str, why: &Unavailable) -> Finding {
    Finding::fail(id, why.summary.clone())
        .detail(why.detail.clone())
        .fix(why.fix.clone())
}

/// RomM's requests from its container, judged, each beside the finding from here.
pub fn views(settings: &Settings, answers: &Answers, here: &[Finding]) -> Vec<Finding> {
    let steps = &answers.steps;
    let (fetch, doc) = discovery_view(settings, &steps.discovery);
    let mut views = vec![with_step(fetch, &steps.discovery)];
    let needs = |id| {
        Finding::skip(
            id,
            "Needs the discovery document, which RomM's container did not get",
        )
    };
    match doc {
        Some(doc) => {
            views.push(match &steps.jwks {
                Some(step) if step.inline => {
                    jwks::inline(&doc).unwrap_or_else(|| needs(id::JWKS_KEYS))
                }
                Some(step) => with_step(jwks_view(settings, step, &doc), step),
                None => needs(id::JWKS_KEYS),
            });
            views.push(match &steps.token {
                Some(step) => with_step(credentials_view(settings, step), step),
                None => needs(id::CLIENT_CREDENTIALS),
            });
        }
        None => views.extend([needs(id::JWKS_KEYS), needs(id::CLIENT_CREDENTIALS)]),
    }
    views
        .into_iter()
        .map(|f| beside(here, f).view(View::Container))
        .collect()
}

fn discovery_view(settings: &Settings, step: &Step) -> (Finding, Option<Discovery>) {
    const ID: &str = id::DISCOVERY_FETCH;
    let url = step.url.as_deref().unwrap_or_default();
    match step.response() {
        Some(response) => match discovery::judge_fetch(url, &response) {
            Ok((finding, doc)) => (raised(finding, step), Some(doc)),
            Err(finding) => (finding, None),
        },
        None => (network(ID, settings, step, Stage::Discovery), None),
    }
}

fn jwks_view(settings: &Settings, step: &Step, doc: &Discovery) -> Finding {
    let url = step.url.as_deref().unwrap_or_default();
    match step.response() {
        Some(response) => raised(jwks::answer(url, &response, doc), step),
        None => network(id::JWKS_KEYS, settings, step, Stage::Keys),
    }
}

fn credentials_view(settings: &Settings, step: &Step) -> Finding {
    const ID: &str = id::CLIENT_CREDENTIALS;
    let url = step.url.as_deref().unwrap_or_default();
    match step.response() {
        // RomM's authlib raises OAuthError for any refusal, invalid_grant included:
        // the answer decides, as it does here.
        Some(response) => credentials::judge_probe(ID, url, &response, ""),
        None => network(ID, settings, step, Stage::Token),
    }
}

/// A judge's pass for an answer RomM's client nonetheless raised on, which the
/// judge could not see: RomM's exception decides.
fn raised(finding: Finding, step: &Step) -> Finding {
    match (&step.error, finding.status) {
        (Some(error), Status::Pass) => Finding::fail(finding.id, format!("RomM's client refused the answer: `{}`", logged(error)))
            .detail(format!("This tool's own reading of the answer found nothing wrong ({}), but RomM's authlib and httpx raised on it.", finding.summary))
            .fix("See the exception: RomM's login fails the same way."),
        _ => finding,
    }
}

fn logged(error: &crate::container::StepError) -> &str {
    error
        .logged
        .as_deref()
        .unwrap_or("no answer within the time limit (--timeout)")
}

/// Which request failed, for the fix: the discovery URL is RomM's setting, the others
/// the provider publishes (Pocket ID builds them from INTERNAL_APP_URL).
#[derive(Clone, Copy, PartialEq)]
enum Stage {
    Discovery,
    Token,
    Keys,
}

/// A request from RomM's container that got no answer: the exception as RomM logs
/// it, what it means there, and the fix.
fn network(id: &'static str, settings: &Settings, step: &Step, stage: Stage) -> Finding {
    let Some(error) = &step.error else {
        return Finding::warn(id, "RomM's container got an answer too large to judge here")
            .detail(format!(
                "The answer is over {} KiB; this tool judges at most that much.",
                crate::http::BODY_LIMIT / 1024
            ))
            .fix(
                "Check that the URL points at the provider, not at a file or a proxy's error page.",
            );
    };
    let said = logged(error);
    let host = step
        .dns
        .as_ref()
        .map(|d| d.host.clone())
        .or_else(|| step.url.clone())
        .unwrap_or_default();
    let (cause, fix) = cause(settings, step, stage, said, &host);
    Finding::fail(id, format!("`{}` for {host} — {cause}", said.lines().next().unwrap_or(said)))
        .detail("RomM's login fails at this request with a bare 500 (Internal Server Error); RomM's log shows the exception above.")
        .fix(fix)
}

/// What a failed request means in RomM's container, and what fixes it.
fn cause(
    settings: &Settings,
    step: &Step,
    stage: Stage,
    said: &str,
    host: &str,
) -> (String, String) {
    let restart = settings::RESTART;
    let url_var = match stage {
        Stage::Discovery if settings.value(OIDC_SERVER_METADATA_URL).is_some() => "OIDC_SERVER_METADATA_URL".to_string(),
        Stage::Discovery => "OIDC_SERVER_APPLICATION_URL (and INTERNAL_APP_URL at Pocket ID for the endpoints it publishes)".to_string(),
        Stage::Token | Stage::Keys => "the endpoints the discovery document publishes (Pocket ID builds them from INTERNAL_APP_URL)".to_string(),
    };
    let unreachable_fix = format!(
        "Give RomM a URL it reaches from its network: {url_var}, e.g. the provider's service name on a docker network both share; or connect RomM's container to the provider's network."
    );
    if let Some(found) = dns_cause(said, host, &url_var) {
        return found;
    }
    if let Some(proxy) = &step.proxy
        && (said.starts_with("httpx.Connect")
            || said.starts_with("httpx.ProxyError")
            || error_class(step) == "timeout")
    {
        return (
            format!(
                "RomM's httpx goes through the proxy {proxy} (HTTP_PROXY/HTTPS_PROXY/ALL_PROXY in RomM's environment), which did not get it there"
            ),
            format!(
                "Repair that proxy, or exempt the provider: add {host} to NO_PROXY in RomM's environment (or remove the proxy variables), then restart RomM: {restart}"
            ),
        );
    }
    if let Some(reason) = said.split("certificate verify failed: ").nth(1) {
        let reason = reason.split(" (_ssl.c").next().unwrap_or(reason);
        return certificate(settings, reason, host);
    }
    if said.starts_with("FileNotFoundError") {
        return (
            "OIDC_TLS_CACERTFILE names no file in RomM's container".into(),
            format!("{} Then restart RomM: {restart}", tls::CA_FILE_MOUNT_FIX),
        );
    }
    if said.starts_with("ssl.SSLError") {
        return (
            "RomM cannot load OIDC_TLS_CACERTFILE".into(),
            tls::PEM_FILE_FIX.into(),
        );
    }
    if said.starts_with("httpx.UnsupportedProtocol") {
        return (
            "RomM refuses the URL itself".into(),
            format!("Write {url_var} as a plain http:// or https:// URL, without quotes."),
        );
    }
    if said.contains("SSL")
        || said.starts_with("httpx.ReadError")
        || said.starts_with("httpx.RemoteProtocolError")
    {
        return (
            "the connection broke: the scheme does not match what listens on that port (http:// to a TLS port, or https:// to a plain one)".into(),
            format!("Match the scheme and port in {url_var} to what the provider serves there."),
        );
    }
    if error_class(step) == "timeout" || said.contains("Timeout") {
        return (
            "no answer reached RomM's container in time (packets dropped: a firewall, hairpin NAT, or an address only the host has)".into(),
            unreachable_fix,
        );
    }
    if said.starts_with("httpx.ConnectError") {
        return (
            format!(
                "nothing answers at {host} from RomM's network (another docker network, a firewall, or an address only the host has)"
            ),
            unreachable_fix,
        );
    }
    (
        "RomM's request failed".into(),
        "See the exception: RomM's login fails the same way.".into(),
    )
}

/// A failed name lookup in RomM's container (musl's and glibc's words).
fn dns_cause(said: &str, host: &str, url_var: &str) -> Option<(String, String)> {
    let resolver = [
        "Name or service not known",
        "Name does not resolve",
        "No address associated",
        "Name has no usable address",
    ];
    if resolver.iter().any(|t| said.contains(t)) {
        return Some((
            "RomM's container cannot resolve the name".into(),
            format!(
                "Add {host} to RomM's network (the provider's docker network, extra_hosts: or dns: in the compose file), or use the internal URL: {url_var}."
            ),
        ));
    }
    if said.contains("Temporary failure in name resolution")
        || said.contains("[Errno -3] Try again")
    {
        return Some((
            "no name server answered RomM's container".into(),
            format!(
                "Check the DNS of RomM's container (its /etc/resolv.conf, dns: in the compose file), or use a URL RomM resolves: {url_var}."
            ),
        ));
    }
    None
}

/// A certificate RomM's container refused, with OpenSSL's `reason`: the cause, and
/// the fix the doctor gives for the same refusal from here.
fn certificate(settings: &Settings, reason: &str, host: &str) -> (String, String) {
    let untrusted = [
        "unable to get local issuer certificate",
        "unable to get issuer certificate",
        "unable to verify the first certificate",
        "self-signed certificate",
    ];
    if reason.starts_with("Hostname mismatch") || reason.starts_with("IP address mismatch") {
        let fix = tls::name_mismatch_fix("", &tls::san_entry(host));
        return (
            format!("the certificate does not cover {host} ({reason})"),
            fix,
        );
    }
    if !untrusted.iter().any(|u| reason.starts_with(u)) {
        let fix = match crate::tls::strict_fix(reason) {
            Some(rule) => tls::reissue_fix(rule),
            None if reason.contains("expired") => tls::VALIDITY_FIX.into(),
            None => tls::OTHER_CERT_FIX.into(),
        };
        let cause = format!("RomM's container refuses the provider's certificate ({reason})");
        return (cause, fix);
    }
    let here = match settings.get(OIDC_TLS_CACERTFILE) {
        Some(s) if matches!(s.source, Source::Flag(_)) => format!(
            " This run trusts it through {}; RomM's container does not.",
            s.source
        ),
        _ => String::new(),
    };
    let fix = tls::untrusted_fix(
        "the issuer of the last certificate `openssl s_client -showcerts` prints",
    );
    (
        format!("RomM's container does not trust the provider's certificate ({reason})"),
        format!("{fix} Then restart RomM: {}.{here}", settings::RESTART),
    )
}

fn error_class(step: &Step) -> &str {
    step.error.as_ref().map_or("", |e| e.class.as_str())
}

/// The request's facts (DNS, proxy, TLS, answer, exception) in the finding's detail
/// and data.
fn with_step(finding: Finding, step: &Step) -> Finding {
    // An address looks itself up: nothing to tell.
    let named = |d: &&crate::container::Dns| d.host.parse::<std::net::IpAddr>().is_err();
    let dns = step
        .dns
        .as_ref()
        .filter(named)
        .map(|d| match (&d.answers, &d.error) {
            (Some(answers), _) => format!("{} → {}", d.host, answers.join(", ")),
            (None, error) => format!("{}: {}", d.host, error.as_deref().unwrap_or("?")),
        });
    let answer = step.response().map(|r: Response| {
        format!(
            "{} {}: {}",
            r.status,
            r.content_type.as_deref().unwrap_or("(no content type)"),
            r.head()
        )
    });
    let mut lines = vec![format!(
        "From RomM's container: {}",
        step.url.as_deref().unwrap_or("?")
    )];
    let facts = [
        ("DNS", dns.clone()),
        (
            "proxy",
            Some(step.proxy.clone().unwrap_or_else(|| "none".into())),
        ),
        ("TLS", step.tls.clone()),
        ("answer", answer.clone()),
        (
            "RomM logs",
            step.error.as_ref().map(|e| logged(e).to_string()),
        ),
    ];
    for (name, value) in &facts {
        if let Some(value) = value {
            lines.push(format!("  {name}: {value}"));
        }
    }
    let detail = std::iter::once(lines.join("\n"))
        .chain(Some(finding.detail.clone()).filter(|d| !d.is_empty()))
        .collect::<Vec<_>>()
        .join("\n");
    let data = json!({
        "url": step.url,
        "dns": dns,
        "proxy": step.proxy,
        "tls": step.tls,
        "status": step.status,
        "content_type": step.content_type,
        "exception": step.error.as_ref().map(|e| Value::from(logged(e))),
    });
    finding.detail(detail).data(data)
}

/// The container's finding, its summary saying how it compares with the one from here.
fn beside(here: &[Finding], finding: Finding) -> Finding {
    let host = here.iter().find(|h| h.id == finding.id && h.view.is_none());
    let summary = match host {
        Some(h) if h.status == finding.status && h.status != Status::Skip => {
            format!("From RomM's container too: {}", finding.summary)
        }
        Some(h) if h.status == finding.status => {
            format!("From RomM's container: {}", finding.summary)
        }
        Some(h) => format!(
            "{} from here but {} from RomM's container: {}",
            capitalized(word(h.status)),
            word(finding.status),
            finding.summary
        ),
        None => format!("From RomM's container: {}", finding.summary),
    };
    Finding { summary, ..finding }
}

fn word(status: Status) -> &'static str {
    match status {
        Status::Pass => "passes",
        Status::Warn => "warns",
        Status::Fail => "fails",
        Status::Skip => "is skipped",
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_settings::flags;
    use crate::settings::OIDC_SERVER_APPLICATION_URL;

    const ISSUER: &str = "https://id.example.com";

    fn discovery_body() -> String {
        json!({
            "issuer": ISSUER,
            "authorization_endpoint": format!("{ISSUER}/authorize"),
            "token_endpoint": format!("{ISSUER}/token"),
            "jwks_uri": format!("{ISSUER}/jwks"),
        })
        .to_string()
    }

    /// The probe's answer with these steps (JSON as the probe prints it).
    fn answers(steps: Value) -> Answers {
        serde_json::from_value(json!({
            "python": "3.13.1",
            "libraries": {"authlib": "1.6.12", "httpx": "0.28.1"},
            "client": {"romm": true},
            "proxies": {},
            "steps": steps,
        }))
        .expect("the probe's shape")
    }

    fn ok(url: &str, body: &str) -> Value {
        json!({"url": url, "status": 200, "content_type": "application/json", "body": body,
               "dns": {"host": "id.example.com", "answers": ["10.0.0.5"]}, "tls": "verified with RomM's default trust store"})
    }

    fn failed(logged: &str, extra: Value) -> Value {
        let mut step = json!({"url": format!("{ISSUER}/.well-known/openid-configuration"),
            "dns": {"host": "id.example.com", "error": "[Errno -2] Name does not resolve"},
            "error": {"class": logged.split(':').next().unwrap(), "logged": logged}});
        for (k, v) in extra.as_object().unwrap() {
            step[k] = v.clone();
        }
        step
    }

    fn here(status: Status) -> Vec<Finding> {
        let make = match status {
            Status::Pass => Finding::pass,
            Status::Warn => Finding::warn,
            Status::Fail => Finding::fail,
            Status::Skip => Finding::skip,
        };
        [id::DISCOVERY_FETCH, id::JWKS_KEYS, id::CLIENT_CREDENTIALS]
            .map(|id| make(id, "from here"))
            .to_vec()
    }

    fn views_of(settings: &Settings, steps: Value, status: Status) -> Vec<Finding> {
        views(settings, &answers(steps), &here(status))
    }

    #[test]
    fn the_same_answers_pass_with_the_doctors_judges_and_say_so() {
        let steps = json!({
            "discovery": ok(&format!("{ISSUER}/.well-known/openid-configuration"), &discovery_body()),
            "token": {"url": format!("{ISSUER}/token"), "status": 400, "content_type": "application/json",
                      "body": "{\"error\":\"invalid_grant\"}",
                      "error": {"class": "authlib.integrations.base_client.errors.OAuthError", "logged": "authlib.integrations.base_client.errors.OAuthError: invalid_grant: "}},
            "jwks": {"url": format!("{ISSUER}/jwks"), "status": 200, "content_type": "application/json", "body": "{\"keys\": []}"},
        });
        let v = views_of(&flags(&[]), steps, Status::Pass);
        let got: Vec<(&str, Status, Option<View>)> =
            v.iter().map(|f| (f.id, f.status, f.view)).collect();
        assert_eq!(
            got,
            [
                (id::DISCOVERY_FETCH, Status::Pass, Some(View::Container)),
                // jwks::answer's verdict on an empty set, as from here.
                (id::JWKS_KEYS, Status::Fail, Some(View::Container)),
                (id::CLIENT_CREDENTIALS, Status::Pass, Some(View::Container)),
            ]
        );
        assert!(
            v[0].summary
                .starts_with("From RomM's container too: Discovery read from"),
            "{:?}",
            v[0]
        );
        assert_eq!(
            v[1].summary,
            "Passes from here but fails from RomM's container: The key set is empty"
        );
        assert!(v[0].detail.starts_with("From RomM's container: https://id.example.com/.well-known/openid-configuration\n  DNS: id.example.com → 10.0.0.5\n  proxy: none\n  TLS: verified with RomM's default trust store\n  answer: 200 application/json: {"), "{}", v[0].detail);
        assert_eq!(v[0].data.as_ref().unwrap()["status"], 200);
    }

    #[test]
    fn a_name_romms_container_cannot_resolve_says_so_with_the_exception_as_romm_logs_it() {
        let logged = "httpx.ConnectError: [Errno -2] Name does not resolve";
        let v = views_of(
            &flags(&[]),
            json!({"discovery": failed(logged, json!({}))}),
            Status::Pass,
        );
        assert_eq!(
            v[0].summary,
            "Passes from here but fails from RomM's container: `httpx.ConnectError: [Errno -2] Name does not resolve` for id.example.com — RomM's container cannot resolve the name"
        );
        assert!(
            v[0].fix.starts_with("Add id.example.com to RomM's network"),
            "{}",
            v[0].fix
        );
        assert!(
            v[0].fix.contains("OIDC_SERVER_APPLICATION_URL"),
            "{}",
            v[0].fix
        );
        assert!(
            v[0].detail
                .contains("  DNS: id.example.com: [Errno -2] Name does not resolve")
        );
        // The later requests need the document RomM's container did not get.
        assert_eq!((v[1].status, v[2].status), (Status::Skip, Status::Skip));
        assert!(
            v[1].summary.contains("which RomM's container did not get"),
            "{:?}",
            v[1]
        );
    }

    #[test]
    fn each_kind_of_failure_gets_its_cause_and_fix() {
        let ca_flag = crate::checks::test_settings::sources(
            &[(OIDC_TLS_CACERTFILE, "/etc/ca.pem")],
            &[],
            None,
            None,
        );
        for (settings, logged, extra, cause, fix) in [
            (
                flags(&[]),
                "httpx.ConnectError: [Errno -3] Temporary failure in name resolution",
                json!({}),
                "no name server answered",
                "resolv.conf",
            ),
            (
                flags(&[]),
                "httpx.ConnectError: All connection attempts failed",
                json!({"proxy": "http://u:***@proxy:3128"}),
                "goes through the proxy http://u:***@proxy:3128",
                "add id.example.com to NO_PROXY",
            ),
            (
                flags(&[]),
                "httpx.ConnectError: All connection attempts failed",
                json!({}),
                "nothing answers at id.example.com",
                "connect RomM's container to the provider's network",
            ),
            (
                ca_flag,
                "httpx.ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1020)",
                json!({}),
                "does not trust the provider's certificate (unable to get local issuer certificate)",
                "This run trusts it through --test",
            ),
            (
                flags(&[]),
                "httpx.ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate is not valid for 'id.example.com'. (_ssl.c:1020)",
                json!({}),
                "the certificate does not cover id.example.com",
                "subjectAltName = DNS:id.example.com",
            ),
            (
                flags(&[]),
                "FileNotFoundError: [Errno 2] No such file or directory",
                json!({}),
                "names no file in RomM's container",
                "Mount the CA file",
            ),
            (
                flags(&[]),
                "httpx.ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1020)",
                json!({}),
                "refuses the provider's certificate (certificate has expired)",
                "Renew that certificate",
            ),
            (
                flags(&[]),
                "httpx.ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Missing Authority Key Identifier (_ssl.c:1020)",
                json!({}),
                "refuses the provider's certificate (Missing Authority Key Identifier)",
                "authorityKeyIdentifier = keyid",
            ),
            (
                flags(&[]),
                "httpx.UnsupportedProtocol: Request URL is missing an 'http://' or 'https://' protocol.",
                json!({}),
                "refuses the URL itself",
                "without quotes",
            ),
            (
                flags(&[]),
                "httpx.ConnectTimeout",
                json!({}),
                "no answer reached RomM's container in time",
                "Give RomM a URL it reaches",
            ),
            (
                flags(&[]),
                "httpx.ConnectError: [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1020)",
                json!({}),
                "the scheme does not match",
                "Match the scheme and port",
            ),
        ] {
            let v = views_of(
                &settings,
                json!({"discovery": failed(logged, extra)}),
                Status::Pass,
            );
            assert_eq!(v[0].status, Status::Fail, "{logged}");
            assert!(v[0].summary.contains(cause), "{logged}: {}", v[0].summary);
            assert!(v[0].fix.contains(fix), "{logged}: {}", v[0].fix);
        }
    }

    #[test]
    fn our_own_time_limit_is_named_as_ours_not_romms() {
        let timeout = json!({"discovery": {"url": format!("{ISSUER}/x"), "error": {"class": "timeout", "logged": null}}});
        let v = views_of(
            &flags(&[(OIDC_SERVER_APPLICATION_URL, ISSUER)]),
            timeout,
            Status::Pass,
        );
        assert!(v[0].summary.starts_with("Passes from here but fails from RomM's container: `no answer within the time limit (--timeout)`"), "{}", v[0].summary);
    }

    #[test]
    fn an_answer_romms_client_raised_on_fails_though_the_judge_found_nothing() {
        let mut step = ok(
            &format!("{ISSUER}/.well-known/openid-configuration"),
            &discovery_body(),
        );
        step["error"] =
            json!({"class": "ValueError", "logged": "ValueError: something only RomM sees"});
        let v = views_of(&flags(&[]), json!({"discovery": step}), Status::Pass);
        assert_eq!(v[0].status, Status::Fail, "{:?}", v[0]);
        assert_eq!(
            v[0].summary,
            "Passes from here but fails from RomM's container: RomM's client refused the answer: `ValueError: something only RomM sees`"
        );
    }

    #[test]
    fn an_answer_too_large_to_judge_is_a_warning_not_a_pass() {
        let mut step = ok(&format!("{ISSUER}/.well-known/openid-configuration"), "{");
        step["body_truncated"] = json!(true);
        let v = views_of(&flags(&[]), json!({"discovery": step}), Status::Fail);
        assert_eq!(v[0].status, Status::Warn, "{:?}", v[0]);
        assert!(v[0].summary.starts_with("Fails from here but warns from RomM's container: RomM's container got an answer too large"), "{}", v[0].summary);
    }
}
