//! Black-box tests of `romm-oidc doctor`'s static checks, through the real binary.
//!
//! Expectations come from the specification and from RomM's behaviour (reference
//! romm.md §1, §2, §5.1, §7), not from the CLI's code. Network checks may be added
//! later, so apart from tests where the exit code is the point these tests look at
//! individual check ids in `--json` output.

use crate::support::prelude::*;
use crate::support::report::occurs_not_followed_by;

/// The static check ids the specification requires.
const STATIC_IDS: &[&str] = &[
    "config.issuer-url",
    "config.redirect-uri",
    "config.session-cookie",
    "config.env-file",
    "config.provider-name",
    "config.metadata-url",
    "config.client",
    "config.roles",
];
const WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// Asserts that the check `id` has status `want` with `flag` set to each of `values`
/// over `base`; `says` why, for the message.
#[track_caller]
fn each_gives(base: &Args, flag: &str, values: &[&str], id: &str, want: &str, says: &str) {
    let sb = Sandbox::new();
    for value in values {
        let c = doctor_check(&sb, &base.clone().set(flag, value), &[], id);
        assert_eq!(c["status"], want, "{flag}={value:?} {says}:\n{c:#}");
    }
}

// ------------------------------------------------------------------------------------
// Report shape and exit status

#[test]
fn json_report_has_the_documented_shape_and_every_static_check() {
    let sb = Sandbox::new();
    let (report, run) = doctor_json(&sb, &Args::valid(), &[]);
    assert!(
        report["ok"].is_boolean(),
        "`ok` must be a boolean:\n{}",
        run.show()
    );
    let list = checks(&report);
    let mut seen = std::collections::HashSet::new();
    for c in list {
        let id = c["id"].as_str().expect("id is a string");
        assert!(seen.insert(id.to_string()), "duplicate check id {id}");
        let st = c["status"].as_str().expect("status is a string");
        assert!(
            ["pass", "warn", "fail", "skip"].contains(&st),
            "bad status {st} in {c:#}"
        );
        for k in ["summary", "detail", "fix"] {
            assert!(c[k].is_string(), "{id}: field {k} must be a string: {c:#}");
        }
        for k in ["expected", "found"] {
            if let Some(v) = c.get(k) {
                assert!(
                    v.is_string() || v.is_null(),
                    "{id}: {k} must be a string: {c:#}"
                );
            }
        }
        assert!(
            !c["summary"].as_str().unwrap().trim().is_empty(),
            "{id}: empty summary"
        );
    }
    for id in STATIC_IDS {
        assert!(seen.contains(*id), "static check {id} missing:\n{report:#}");
    }
    // The closing verdict: a status, a summary, and what is open.
    let verdict = &report["verdict"];
    assert!(
        ["pass", "warn", "fail"].contains(&verdict["status"].as_str().unwrap_or("")),
        "{verdict:#}"
    );
    assert!(verdict["summary"].is_string(), "{verdict:#}");
    for open in verdict["open"].as_array().expect("open is a list") {
        assert!(
            open["what"].is_string() && open["how"].is_string(),
            "{open:#}"
        );
        let named = |k: &str| open[k].as_array().map_or(0, Vec::len);
        assert!(
            named("ids") + named("not_run") > 0,
            "names no check: {open:#}"
        );
    }
}

#[test]
fn ok_flag_and_exit_status_agree_with_the_checks() {
    // Whatever network checks may exist, `ok` must be false exactly when some check
    // fails, and the exit status 0/1 must follow `ok`.
    let cases = [
        Args::valid(),
        Args::valid().set("--issuer", "https://id.example.com/authorize"),
        Args::valid().set("--claim-roles", "realm_access.roles"),
    ];
    for args in cases {
        let sb = Sandbox::new();
        let (report, run) = doctor_json(&sb, &args, &[]);
        let any_fail = checks(&report).iter().any(|c| c["status"] == "fail");
        assert_eq!(
            report["ok"],
            Value::Bool(!any_fail),
            "{args:?}\n{}",
            run.show()
        );
        assert_eq!(
            run.code,
            if any_fail { 1 } else { 0 },
            "{args:?}\n{}",
            run.show()
        );
    }
}

#[test]
fn a_failing_static_check_exits_1() {
    // The exit status is the point here and every input is controlled: a dotted roles
    // claim is a static failure, so the run must end with 1 (not 0, not 2).
    let sb = Sandbox::new();
    let (report, run) = doctor_json(
        &sb,
        &Args::valid().set("--claim-roles", "realm_access.roles"),
        &[],
    );
    assert_eq!(status(&report, "config.roles"), "fail", "{}", run.show());
    assert_eq!(run.code, 1, "{}", run.show());
    assert_eq!(report["ok"], Value::Bool(false));
    // Same for human output.
    let human = run_human(
        &sb,
        &Args::valid().set("--claim-roles", "realm_access.roles"),
    );
    assert_eq!(human.code, 1, "{}", human.show());
}

#[test]
fn missing_env_file_is_an_input_error_exit_2() {
    let sb = Sandbox::new();
    let args = Args::valid().set("--env-file", &sb.path().join("nope.env").to_string_lossy());
    let r = run(&sb, &["doctor", "--json", "--timeout", "2"], &args, &[]);
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(
        !r.stderr.trim().is_empty(),
        "an input error must say why on stderr:\n{}",
        r.show()
    );
}

#[test]
fn env_file_that_is_a_directory_is_an_input_error_exit_2() {
    let sb = Sandbox::new();
    let d = sb.path().join("envdir");
    std::fs::create_dir(&d).unwrap();
    let args = Args::valid().set("--env-file", &d.to_string_lossy());
    let r = run(&sb, &["doctor", "--json", "--timeout", "2"], &args, &[]);
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(!r.stderr.trim().is_empty(), "{}", r.show());
}

#[test]
fn binary_env_file_is_an_input_error_exit_2() {
    let sb = Sandbox::new();
    let f = sb.file(
        "bin.env",
        b"OIDC_ENABLED=true\n\x00\x01\x02\xff\xfeELF\x00\n",
    );
    let args = Args::valid().set("--env-file", &f.to_string_lossy());
    let r = run(&sb, &["doctor", "--json", "--timeout", "2"], &args, &[]);
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(!r.stderr.trim().is_empty(), "{}", r.show());
}

#[test]
fn missing_client_secret_file_is_an_input_error_exit_2() {
    let sb = Sandbox::new();
    let args = Args::valid().unset("--client-secret").set(
        "--client-secret-file",
        &sb.path().join("no-secret").to_string_lossy(),
    );
    let r = run(&sb, &["doctor", "--json", "--timeout", "2"], &args, &[]);
    assert_eq!(r.code, 2, "{}", r.show());
}

#[test]
fn usage_errors_exit_2() {
    let sb = Sandbox::new();
    let r = run(
        &sb,
        &["doctor", "--color", "sometimes"],
        &Args::valid(),
        &[],
    );
    assert_eq!(r.code, 2, "bad --color value:\n{}", r.show());
    let r = run(&sb, &["doctor", "--no-such-flag"], &Args::valid(), &[]);
    assert_eq!(r.code, 2, "unknown flag:\n{}", r.show());
    let r = run(&sb, &["doctor", "--timeout", "soon"], &Args::valid(), &[]);
    assert_eq!(r.code, 2, "non-numeric timeout:\n{}", r.show());
}

// ------------------------------------------------------------------------------------
// config.issuer-url

#[test]
fn issuer_base_url_passes_and_shows_the_derived_discovery_url() {
    let sb = Sandbox::new();
    let (report, _) = doctor_json(&sb, &Args::valid(), &[]);
    let t = expect_status(&report, "config.issuer-url", &["pass"]);
    let c = check(&report, "config.issuer-url");
    let shown = summary_and_detail(c);
    assert!(
        shown.contains(&format!("https://id.example.com{WELL_KNOWN}")),
        "the discovery URL RomM derives must be shown in summary/detail:\n{t}"
    );
}

#[test]
fn issuer_trailing_slash_is_stripped_like_authlib() {
    let sb = Sandbox::new();
    let (report, _) = doctor_json(
        &sb,
        &Args::valid().set("--issuer", "https://id.example.com//"),
        &[],
    );
    let t = expect_status(&report, "config.issuer-url", &["pass", "warn"]);
    assert!(
        t.contains(&format!("https://id.example.com{WELL_KNOWN}")),
        "{t}"
    );
    assert!(
        !t.contains(&format!("/{WELL_KNOWN}")),
        "authlib strips every trailing slash:\n{t}"
    );
}

#[test]
fn issuer_with_a_path_keeps_the_path() {
    // Keycloak realms and Authentik applications have an issuer with a path (§2, §7).
    let sb = Sandbox::new();
    for (provider, issuer, disc) in [
        (
            "keycloak",
            "https://kc.example.com/realms/home",
            "https://kc.example.com/realms/home",
        ),
        (
            "authentik",
            "https://auth.example.com/application/o/romm/",
            "https://auth.example.com/application/o/romm",
        ),
    ] {
        let args = Args::valid()
            .set("--issuer", issuer)
            .set("--provider", provider);
        let (report, _) = doctor_json(&sb, &args, &[]);
        let t = expect_status(&report, "config.issuer-url", &["pass"]);
        assert!(t.contains(&format!("{disc}{WELL_KNOWN}")), "{issuer}:\n{t}");
    }
}

#[test]
fn issuer_surrounding_whitespace_is_stripped_like_romm() {
    let sb = Sandbox::new();
    let (report, _) = doctor_json(
        &sb,
        &Args::valid().set("--issuer", "  https://id.example.com \t"),
        &[],
    );
    let t = expect_status(&report, "config.issuer-url", &["pass"]);
    assert!(
        t.contains(&format!("https://id.example.com{WELL_KNOWN}")),
        "{t}"
    );
}

/// A check's summary and detail, a line each.
fn summary_and_detail(c: &Value) -> String {
    format!(
        "{}\n{}",
        c["summary"].as_str().unwrap(),
        c["detail"].as_str().unwrap()
    )
}

fn assert_endpoint_issuer_fails(issuer: &str, base: &str) {
    let sb = Sandbox::new();
    let (report, run) = doctor_json(&sb, &Args::valid().set("--issuer", issuer), &[]);
    let c = check(&report, "config.issuer-url");
    assert_eq!(
        c["status"],
        "fail",
        "{issuer} must fail:\n{c:#}\n{}",
        run.show()
    );
    let fix = c["fix"].as_str().unwrap_or("");
    assert!(
        occurs_not_followed_by(fix, base, &['/', '.', '-', ':']),
        "{issuer}: the fix must name the base URL {base} (not just echo the input):\n{c:#}"
    );
    let shown = summary_and_detail(c);
    let derived = format!("{}{WELL_KNOWN}", issuer.trim_end_matches('/'));
    assert!(
        shown.contains(&derived),
        "{issuer}: must show the derived discovery URL {derived}:\n{c:#}"
    );
}

#[test]
fn issuer_pocket_id_authorize_endpoint_fails_with_base_url_fix() {
    assert_endpoint_issuer_fails("https://id.example.com/authorize", "https://id.example.com");
}

#[test]
fn issuer_full_discovery_url_fails_with_base_url_fix() {
    assert_endpoint_issuer_fails(
        "https://id.example.com/.well-known/openid-configuration",
        "https://id.example.com",
    );
}

#[test]
fn issuer_pocket_id_api_endpoints_fail_with_base_url_fix() {
    for ep in [
        "/api/oidc/token",
        "/api/oidc/userinfo",
        "/api/oidc/end-session",
    ] {
        assert_endpoint_issuer_fails(
            &format!("https://id.example.com{ep}"),
            "https://id.example.com",
        );
    }
}

#[test]
fn issuer_google_authorize_endpoint_fails_with_base_url_fix() {
    assert_endpoint_issuer_fails(
        "https://accounts.google.com/o/oauth2/v2/auth",
        "https://accounts.google.com",
    );
}

#[test]
fn issuer_on_a_sub_path_endpoint_keeps_the_prefix_in_the_fix() {
    // Pocket ID served under a path prefix: the fix is the prefix, not the bare host.
    assert_endpoint_issuer_fails("https://example.com/id/authorize", "https://example.com/id");
}

#[test]
fn issuer_with_literal_quotes_fails() {
    // romm#2732: compose list syntax `- OIDC_SERVER_APPLICATION_URL="https://…"` keeps
    // the quotes in the value. Process environment:
    let sb = Sandbox::new();
    let args = Args::valid().unset("--issuer");
    let (report, _) = doctor_json(
        &sb,
        &args,
        &[("OIDC_SERVER_APPLICATION_URL", "\"https://id.example.com\"")],
    );
    expect_status(&report, "config.issuer-url", &["fail"]);
    // ... and an env file whose single quotes keep the double quotes (compose rules):
    let f = sb.file(
        "q.env",
        "OIDC_SERVER_APPLICATION_URL='\"https://id.example.com\"'\n",
    );
    let (report, _) = doctor_json(
        &sb,
        &args.clone().set("--env-file", &f.to_string_lossy()),
        &[],
    );
    expect_status(&report, "config.issuer-url", &["fail"]);
    // ... and a flag value.
    let (report, _) = doctor_json(
        &sb,
        &Args::valid().set("--issuer", "'https://id.example.com'"),
        &[],
    );
    expect_status(&report, "config.issuer-url", &["fail"]);
}

#[test]
fn issuer_double_quoted_in_env_file_is_fine() {
    // Compose removes double quotes in a .env file, so RomM gets the bare URL.
    let sb = Sandbox::new();
    let f = sb.file(
        "dq.env",
        "OIDC_SERVER_APPLICATION_URL=\"https://id.example.com\"\n",
    );
    let args = Args::valid()
        .unset("--issuer")
        .set("--env-file", &f.to_string_lossy());
    let (report, _) = doctor_json(&sb, &args, &[]);
    expect_status(&report, "config.issuer-url", &["pass"]);
}

#[test]
fn issuer_with_inner_whitespace_fails() {
    each_gives(
        &Args::valid(),
        "--issuer",
        &["https://id.example .com", "https://id.example.com/my realm"],
        "config.issuer-url",
        "fail",
        "must fail",
    );
}

#[test]
fn issuer_that_is_not_an_absolute_http_url_fails() {
    each_gives(
        &Args::valid(),
        "--issuer",
        &[
            "id.example.com",
            "ftp://id.example.com",
            "/realms/home",
            "https://",
        ],
        "config.issuer-url",
        "fail",
        "must fail",
    );
}

#[test]
fn issuer_empty_while_oidc_enabled_fails() {
    let sb = Sandbox::new();
    let f = sb.file(
        "e.env",
        "OIDC_ENABLED=true\nOIDC_SERVER_APPLICATION_URL=\nOIDC_CLIENT_ID=romm\nOIDC_CLIENT_SECRET=abcdefgh12345\nOIDC_REDIRECT_URI=https://romm.example.com/api/oauth/openid\n",
    );
    let args = Args::new().set("--env-file", &f.to_string_lossy());
    let (report, _) = doctor_json(&sb, &args, &[]);
    expect_status(&report, "config.issuer-url", &["fail"]);
    // Whitespace only is empty too (RomM strips, then empty counts as unset).
    let (report, _) = doctor_json(&sb, &args, &[("OIDC_SERVER_APPLICATION_URL", "   ")]);
    expect_status(&report, "config.issuer-url", &["fail"]);
}

#[test]
fn issuer_empty_is_not_a_failure_while_oidc_is_disabled() {
    let sb = Sandbox::new();
    let f = sb.file(
        "d.env",
        "OIDC_ENABLED=false\nOIDC_SERVER_APPLICATION_URL=\n",
    );
    let args = Args::new().set("--env-file", &f.to_string_lossy());
    let (report, _) = doctor_json(&sb, &args, &[]);
    let st = status(&report, "config.issuer-url");
    assert_ne!(
        st, "fail",
        "an empty URL only breaks RomM when OIDC is enabled:\n{report:#}"
    );
}

#[test]
fn metadata_url_is_shown_verbatim_as_the_discovery_url() {
    // §2: OIDC_SERVER_METADATA_URL, when set, is used verbatim (VoidAuth's layout, §7).
    let sb = Sandbox::new();
    let meta = "https://auth.example.com/oidc/.well-known/openid-configuration";
    let args = Args::valid()
        .set("--issuer", "https://auth.example.com")
        .set("--metadata-url", meta);
    let c = doctor_check(&sb, &args, &[], "config.issuer-url");
    assert_ne!(c["status"], "fail", "{c:#}");
    let shown = summary_and_detail(&c);
    assert!(
        shown.contains(meta),
        "the metadata URL is the discovery URL:\n{c:#}"
    );
    assert!(
        !shown.contains(&format!("https://auth.example.com{WELL_KNOWN}")),
        "the derived URL is not the one RomM fetches when the metadata URL is set:\n{c:#}"
    );
}

// ------------------------------------------------------------------------------------
// config.redirect-uri

#[test]
fn redirect_uri_exact_callback_passes() {
    let sb = Sandbox::new();
    let args = Args::valid().unset("--romm-url").set(
        "--redirect-uri",
        "https://romm.example.com/api/oauth/openid",
    );
    let (report, _) = doctor_json(&sb, &args, &[]);
    expect_status(&report, "config.redirect-uri", &["pass"]);
}

#[test]
fn redirect_uri_is_derived_from_romm_url() {
    let sb = Sandbox::new();
    let args = Args::valid().set("--romm-url", "https://games.example.org:8443");
    let (report, _) = doctor_json(&sb, &args, &[]);
    let t = expect_status(&report, "config.redirect-uri", &["pass"]);
    assert!(
        t.contains("https://games.example.org:8443/api/oauth/openid"),
        "{t}"
    );
}

#[test]
fn redirect_uri_with_wrong_path_query_fragment_or_slash_fails() {
    each_gives(
        &Args::valid().unset("--romm-url"),
        "--redirect-uri",
        &[
            "https://romm.example.com/api/oauth/openid/",
            "https://romm.example.com/oauth/openid",
            "https://romm.example.com/api/login/openid",
            "https://romm.example.com/api/oauth/openid?next=/",
            "https://romm.example.com/api/oauth/openid#x",
            "https://romm.example.com/",
            "https://romm.example.com",
            "romm.example.com/api/oauth/openid",
            "/api/oauth/openid",
            "ftp://romm.example.com/api/oauth/openid",
            "\"https://romm.example.com/api/oauth/openid\"",
            "https://romm.example.com/api/oauth/open id",
        ],
        "config.redirect-uri",
        "fail",
        "must fail",
    );
}

#[test]
fn redirect_uri_quoted_in_process_environment_fails() {
    let sb = Sandbox::new();
    let args = Args::valid().unset("--romm-url");
    let (report, _) = doctor_json(
        &sb,
        &args,
        &[(
            "OIDC_REDIRECT_URI",
            "\"https://romm.example.com/api/oauth/openid\"",
        )],
    );
    expect_status(&report, "config.redirect-uri", &["fail"]);
}

#[test]
fn redirect_uri_plain_http_warns_except_on_loopback() {
    let base = Args::valid().unset("--romm-url");
    each_gives(
        &base,
        "--redirect-uri",
        &[
            "http://romm.example.com/api/oauth/openid",
            "http://192.168.1.20:8080/api/oauth/openid",
        ],
        "config.redirect-uri",
        "warn",
        "is http to a non-loopback host: it warns",
    );
    each_gives(
        &base,
        "--redirect-uri",
        &[
            "http://localhost:8080/api/oauth/openid",
            "http://127.0.0.1:8080/api/oauth/openid",
            "http://[::1]:8080/api/oauth/openid",
        ],
        "config.redirect-uri",
        "pass",
        "is loopback http: it is fine",
    );
}

#[test]
fn session_cookie_origin_must_equal_romm_url() {
    let sb = Sandbox::new();
    let redirect = "https://romm.example.com/api/oauth/openid";
    for romm in [
        "https://romm.example.com:8443",
        "http://romm.example.com",
        "https://www.romm.example.com",
        "https://192.168.1.20",
    ] {
        let args = Args::valid()
            .set("--romm-url", romm)
            .set("--redirect-uri", redirect);
        let (report, _) = doctor_json(&sb, &args, &[]);
        let c = check(&report, "config.session-cookie");
        assert_eq!(
            c["status"], "fail",
            "--romm-url {romm} vs {redirect} must fail:\n{c:#}"
        );
        assert!(
            c["detail"].as_str().unwrap().contains("mismatching_state"),
            "{c:#}"
        );
        expect_status(&report, "config.redirect-uri", &["pass"]);
    }
    for romm in [
        "https://romm.example.com",
        "https://romm.example.com/",
        "https://ROMM.example.com:443",
    ] {
        let args = Args::valid()
            .set("--romm-url", romm)
            .set("--redirect-uri", redirect);
        let c = doctor_check(&sb, &args, &[], "config.session-cookie");
        assert_eq!(
            c["status"], "pass",
            "--romm-url {romm} is the same origin as {redirect}:\n{c:#}"
        );
    }
}

#[test]
fn session_cookie_without_romm_url_warns_with_the_origin_and_mismatching_state() {
    let sb = Sandbox::new();
    let args = Args::valid().unset("--romm-url").set(
        "--redirect-uri",
        "https://romm.example.com:8443/api/oauth/openid",
    );
    let (report, _) = doctor_json(&sb, &args, &[]);
    let t = expect_status(&report, "config.session-cookie", &["warn"]);
    for part in [
        "https://romm.example.com:8443",
        "mismatching_state: CSRF Warning! State not equal in request and response.",
        "--romm-url",
    ] {
        assert!(t.contains(part), "{part:?} missing: {t}");
    }
    // And the verdict names it as unproven, with how to prove it.
    let open = report["verdict"]["open"].as_array().unwrap();
    assert!(
        open.iter().any(|o| o["ids"][0] == "config.session-cookie"
            && o["status"] == "warn"
            && o["how"].as_str().unwrap().contains("--romm-url")),
        "{open:#?}"
    );
}

#[test]
fn secure_cookie_needs_https_or_a_loopback_callback() {
    let sb = Sandbox::new();
    // Provable from the env alone: fails with and without --romm-url.
    for uri in [
        "http://romm.example.com/api/oauth/openid",
        "http://192.168.1.20:8080/api/oauth/openid",
    ] {
        for romm in [None, Some(uri.trim_end_matches("/api/oauth/openid"))] {
            let mut args = Args::valid().unset("--romm-url").set("--redirect-uri", uri);
            if let Some(r) = romm {
                args = args.set("--romm-url", r);
            }
            let (report, _) = doctor_json(&sb, &args, &[("ROMM_SESSION_SECURE_COOKIE", "true")]);
            let t = expect_status(&report, "config.session-cookie", &["fail"]);
            assert!(t.contains("mismatching_state"), "{t}");
            assert!(t.contains("ROMM_SESSION_SECURE_COOKIE=false"), "{t}");
        }
    }
    // Loopback and https are secure contexts: the Secure cookie survives.
    for uri in [
        "http://127.0.0.1:8080/api/oauth/openid",
        "http://localhost:8080/api/oauth/openid",
        "http://romm.localhost/api/oauth/openid",
        "http://[::1]:8080/api/oauth/openid",
        "https://romm.example.com/api/oauth/openid",
    ] {
        let args = Args::valid()
            .set("--romm-url", uri.trim_end_matches("/api/oauth/openid"))
            .set("--redirect-uri", uri);
        let (report, _) = doctor_json(&sb, &args, &[("ROMM_SESSION_SECURE_COOKIE", "true")]);
        expect_status(&report, "config.session-cookie", &["pass"]);
    }
    // Off (RomM's default), plain http is no cookie problem.
    let args = Args::valid()
        .set("--romm-url", "http://romm.example.com")
        .set("--redirect-uri", "http://romm.example.com/api/oauth/openid");
    let (report, _) = doctor_json(&sb, &args, &[("ROMM_SESSION_SECURE_COOKIE", "false")]);
    expect_status(&report, "config.session-cookie", &["pass"]);
}

// ------------------------------------------------------------------------------------
// config.env-file

fn env_file_report(sb: &Sandbox, content: &str, env: &[(&str, &str)]) -> Value {
    let f = sb.file("romm.env", content);
    let args = Args::new().set("--env-file", &f.to_string_lossy());
    doctor_json(sb, &args, env).0
}

const GOOD_ENV: &str = "\
OIDC_ENABLED=true
OIDC_PROVIDER=pocket-id
OIDC_CLIENT_ID=romm-client
OIDC_CLIENT_SECRET=Xk93-pQ7z-Lm20-Wd55
OIDC_REDIRECT_URI=https://romm.example.com/api/oauth/openid
OIDC_SERVER_APPLICATION_URL=https://id.example.com
";

#[test]
fn env_file_check_skips_without_env_file_or_romm_variables() {
    let sb = Sandbox::new();
    let (report, _) = doctor_json(&sb, &Args::valid(), &[]);
    expect_status(&report, "config.env-file", &["skip"]);
}

#[test]
fn env_file_check_runs_when_romm_variables_are_in_the_environment() {
    let sb = Sandbox::new();
    let args = Args::valid().unset("--client-id");
    let (report, _) = doctor_json(&sb, &args, &[("OIDC_CLIENT_ID", "romm-client")]);
    let st = status(&report, "config.env-file");
    assert_ne!(
        st, "skip",
        "RomM variables in the environment must be checked:\n{report:#}"
    );
}

#[test]
fn env_file_clean_passes() {
    let sb = Sandbox::new();
    let report = env_file_report(&sb, GOOD_ENV, &[]);
    expect_status(&report, "config.env-file", &["pass"]);
}

#[test]
fn env_file_every_known_romm_variable_is_accepted() {
    // Every OIDC_* name RomM 5.2.0 reads (§1) is known; none may be called unknown.
    let sb = Sandbox::new();
    let content = format!(
        "{GOOD_ENV}\
OIDC_SERVER_METADATA_URL=https://id.example.com/.well-known/openid-configuration
OIDC_CLAIM_ROLES=groups
OIDC_ROLE_ADMIN=romm-admins
OIDC_ROLE_EDITOR=romm-editors
OIDC_ROLE_VIEWER=*
OIDC_USERNAME_ATTRIBUTE=preferred_username
OIDC_AUTOLOGIN=false
OIDC_RP_INITIATED_LOGOUT=true
OIDC_END_SESSION_ENDPOINT=https://id.example.com/api/oidc/end-session
OIDC_ALLOW_REGISTRATION=true
DISABLE_USERPASS_LOGIN=false
ROMM_BASE_URL=https://romm.example.com
"
    );
    let report = env_file_report(&sb, &content, &[]);
    expect_status(&report, "config.env-file", &["pass"]);
}

#[test]
fn env_file_double_quotes_removed_by_compose_are_fine() {
    let sb = Sandbox::new();
    let content = GOOD_ENV.replace(
        "OIDC_CLIENT_ID=romm-client",
        "OIDC_CLIENT_ID=\"romm-client\"",
    );
    let report = env_file_report(&sb, &content, &[]);
    expect_status(&report, "config.env-file", &["pass"]);
}

#[test]
fn env_file_unknown_name_suggests_the_right_one() {
    let sb = Sandbox::new();
    for (wrong, right) in [
        (
            "OIDC_PROVIDER_APPLICATION_URL",
            "OIDC_SERVER_APPLICATION_URL",
        ),
        ("OIDC_REDIRECT_URL", "OIDC_REDIRECT_URI"),
        ("OIDC_CLIENTSECRET", "OIDC_CLIENT_SECRET"),
    ] {
        let content = format!("{GOOD_ENV}{wrong}=something\n");
        let report = env_file_report(&sb, &content, &[]);
        let t = expect_status(&report, "config.env-file", &["warn", "fail"]);
        assert!(
            t.contains(wrong),
            "must name the unknown variable {wrong}:\n{t}"
        );
        assert!(t.contains(right), "must suggest {right} for {wrong}:\n{t}");
    }
}

#[test]
fn env_file_unknown_name_in_process_environment_is_reported() {
    let sb = Sandbox::new();
    let args = Args::valid().unset("--client-id");
    let env = [("OIDC_ENABLED", "true"), ("OIDC_CLIENTID", "romm-client")];
    let (report, _) = doctor_json(&sb, &args, &env);
    let t = expect_status(&report, "config.env-file", &["warn", "fail"]);
    assert!(
        t.contains("OIDC_CLIENTID") && t.contains("OIDC_CLIENT_ID"),
        "{t}"
    );
}

#[test]
fn env_file_value_wrapped_in_literal_quotes_fails() {
    // `KEY='"v"'` in a .env file leaves `"v"` (compose single quotes are literal).
    let sb = Sandbox::new();
    let content = GOOD_ENV.replace(
        "OIDC_CLIENT_ID=romm-client",
        "OIDC_CLIENT_ID='\"romm-client\"'",
    );
    let report = env_file_report(&sb, &content, &[]);
    let t = expect_status(&report, "config.env-file", &["fail"]);
    assert!(t.contains("OIDC_CLIENT_ID"), "must name the variable:\n{t}");
    // Escaped double quotes inside double quotes also survive.
    let content = GOOD_ENV.replace(
        "OIDC_CLIENT_ID=romm-client",
        "OIDC_CLIENT_ID=\"\\\"romm-client\\\"\"",
    );
    let report = env_file_report(&sb, &content, &[]);
    let t = expect_status(&report, "config.env-file", &["fail"]);
    assert!(t.contains("OIDC_CLIENT_ID"), "{t}");
}

#[test]
fn env_var_value_wrapped_in_literal_quotes_fails() {
    // romm#2732: the quotes are inside the process environment value.
    let sb = Sandbox::new();
    let args = Args::valid().unset("--client-id");
    let (report, _) = doctor_json(&sb, &args, &[("OIDC_CLIENT_ID", "\"romm-client\"")]);
    let t = expect_status(&report, "config.env-file", &["fail"]);
    assert!(t.contains("OIDC_CLIENT_ID"), "{t}");
}

#[test]
fn env_file_booleans_that_romm_reads_as_false_are_reported() {
    let sb = Sandbox::new();
    for line in [
        "OIDC_ENABLED='\"true\"'",
        "OIDC_ENABLED=enabled",
        "OIDC_ENABLED=y",
        "OIDC_ENABLED=\"'yes'\"",
    ] {
        let content = GOOD_ENV.replace("OIDC_ENABLED=true", line);
        let report = env_file_report(&sb, &content, &[]);
        let t = expect_status(&report, "config.env-file", &["warn", "fail"]);
        assert!(
            t.contains("OIDC_ENABLED"),
            "{line}: must name OIDC_ENABLED:\n{t}"
        );
    }
    // Same for another boolean, in the process environment.
    let report = env_file_report(&sb, GOOD_ENV, &[("OIDC_AUTOLOGIN", "enabled")]);
    let t = expect_status(&report, "config.env-file", &["warn", "fail"]);
    assert!(t.contains("OIDC_AUTOLOGIN"), "{t}");
}

#[test]
fn env_file_booleans_romm_reads_as_true_pass() {
    let sb = Sandbox::new();
    for v in ["TRUE", "True", "1", "yes", "on", "YES"] {
        let content = GOOD_ENV.replace("OIDC_ENABLED=true", &format!("OIDC_ENABLED={v}"));
        let report = env_file_report(&sb, &content, &[]);
        let c = check(&report, "config.env-file");
        assert_eq!(
            c["status"], "pass",
            "OIDC_ENABLED={v} is true for RomM:\n{c:#}"
        );
    }
}

#[test]
fn env_file_values_are_not_called_missing_when_a_flag_or_env_var_repeats_them() {
    // The file sets every required value; a flag (or the environment) giving the same
    // value on top must not make the check claim the file lacks it.
    let sb = Sandbox::new();
    let f = sb.file("romm.env", GOOD_ENV);
    let file = f.to_string_lossy().to_string();
    let cases: Vec<(Args, Vec<(&str, &str)>)> = vec![
        (
            Args::new()
                .set("--env-file", &file)
                .set("--client-secret", "Xk93-pQ7z-Lm20-Wd55"),
            vec![],
        ),
        (
            Args::new()
                .set("--env-file", &file)
                .set("--client-id", "romm-client"),
            vec![],
        ),
        (
            Args::new()
                .set("--env-file", &file)
                .set("--issuer", "https://id.example.com"),
            vec![],
        ),
        (
            Args::new().set("--env-file", &file),
            vec![("OIDC_CLIENT_ID", "romm-client")],
        ),
    ];
    for (args, env) in cases {
        let c = doctor_check(&sb, &args, &env, "config.env-file");
        assert_eq!(
            c["status"], "pass",
            "{args:?} env {env:?}: the file sets every value:\n{c:#}"
        );
    }
}

#[test]
fn env_file_required_values_missing_while_enabled_fails() {
    let sb = Sandbox::new();
    let report = env_file_report(&sb, "OIDC_ENABLED=true\n", &[]);
    let t = expect_status(&report, "config.env-file", &["fail"]);
    for name in [
        "OIDC_CLIENT_ID",
        "OIDC_SERVER_APPLICATION_URL",
        "OIDC_REDIRECT_URI",
    ] {
        assert!(t.contains(name), "must name the missing {name}:\n{t}");
    }
    // Empty and whitespace-only count as missing.
    let content = GOOD_ENV.replace("OIDC_CLIENT_ID=romm-client", "OIDC_CLIENT_ID=   ");
    let report = env_file_report(&sb, &content, &[]);
    let t = expect_status(&report, "config.env-file", &["fail"]);
    assert!(t.contains("OIDC_CLIENT_ID"), "{t}");
}

#[test]
fn env_file_compose_reads_is_not_called_broken() {
    // Everything here is valid for docker compose (compose-go's dotenv): a byte-order mark,
    // names with `.`, `-`, `[ ]`, `KEY: value`, a bare name, unknown escapes, `#` without a
    // space before it, text after a closing quote, and every interpolation form.
    let sb = Sandbox::new();
    let content = format!(
        "{bom}{GOOD_ENV}\
romm.db-host=mariadb
volumes[0]=/roms
LOG_LEVEL: INFO
INHERITED_FROM_SHELL
TOKEN=\"a\\tb\\qc\\\\\"
TAG=v1#not-a-comment
PAIR='a' OTHER=\"b\"
URL=${{ROMM_HOST:-romm}}:${{PORT-8080}}/${{SUB:+x}}${{TAG?}}$$
",
        bom = '\u{feff}'
    );
    let report = env_file_report(&sb, &content, &[]);
    expect_status(&report, "config.env-file", &["pass"]);
}

#[test]
fn interpolated_value_shows_its_text_and_what_compose_made_of_it() {
    // `${IDP}` is used on line 7 but IDP is set only on line 8: compose reads the file top
    // to bottom, so the issuer RomM gets is `/authorize`.
    let sb = Sandbox::new();
    let content = GOOD_ENV.replace(
        "OIDC_SERVER_APPLICATION_URL=https://id.example.com\n",
        "\nOIDC_SERVER_APPLICATION_URL=${IDP}/authorize\nIDP=https://id.example.com\n",
    );
    let report = env_file_report(&sb, &content, &[]);
    let t = expect_status(&report, "config.issuer-url", &["fail"]);
    for want in ["`${IDP}/authorize`", "`/authorize`", "IDP", "line 8", ":7"] {
        assert!(t.contains(want), "issuer finding must show {want:?}:\n{t}");
    }
    let t = expect_status(&report, "config.env-file", &["warn", "fail"]);
    assert!(t.contains("${IDP}") && t.contains("line 8"), "{t}");
    // Set in the environment compose runs in, it is used from there.
    let report = env_file_report(&sb, &content, &[("IDP", "https://env.example.com")]);
    let t = expect_status(&report, "config.issuer-url", &["fail"]);
    for want in [
        "`https://env.example.com/authorize`",
        "from the environment",
        "https://env.example.com",
    ] {
        assert!(t.contains(want), "issuer finding must show {want:?}:\n{t}");
    }
}

#[test]
fn env_file_lists_every_line_compose_refuses_with_its_text() {
    let sb = Sandbox::new();
    let content = format!(
        "{GOOD_ENV}BAD NAME=1\nOIDC_ROLE_ADMIN='admins\nX,Y=2\nZ=${{ oops}}\nW=${{GONE:?is required}}\n"
    );
    let report = env_file_report(&sb, &content, &[]);
    let t = expect_status(&report, "config.env-file", &["fail"]);
    for (line, text) in [
        (7, "`BAD NAME`"),
        (8, "`OIDC_ROLE_ADMIN='admins`"),
        (9, "`X,`"),
        (10, "`Z=${ oops}`"),
        (11, "`W=${GONE:?is required}`"),
    ] {
        assert!(
            t.contains(&format!("romm.env:{line}: {text}")),
            "line {line} must be listed with its text {text}:\n{t}"
        );
    }
    assert!(
        t.contains("required variable GONE is missing a value: is required"),
        "{t}"
    );
}

#[test]
fn env_file_secret_problems_do_not_show_the_secret() {
    let sb = Sandbox::new();
    // Unquoted, `$def9` is a reference compose replaces: the secret RomM gets is cut.
    let content = GOOD_ENV.replace(
        "OIDC_CLIENT_SECRET=Xk93-pQ7z-Lm20-Wd55",
        "OIDC_CLIENT_SECRET=Xk93-pQ7z$def9-Wd55",
    );
    let report = env_file_report(&sb, &content, &[]);
    let t = expect_status(&report, "config.env-file", &["warn"]);
    assert!(t.contains("OIDC_CLIENT_SECRET") && t.contains("$$"), "{t}");
    let all = report.to_string();
    assert!(!all.contains("def9") && !all.contains("pQ7z"), "{all}");
    // The note on a value built from a secret does not spell the secret out.
    let content = format!("DB_PASSWORD=hunter2-db\n{GOOD_ENV}").replace(
        "OIDC_REDIRECT_URI=https://romm.example.com/api/oauth/openid",
        "OIDC_REDIRECT_URI=https://romm.example.com/${DB_PASSWORD}",
    );
    let report = env_file_report(&sb, &content, &[]);
    let t = expect_status(&report, "config.redirect-uri", &["fail"]);
    assert!(
        t.contains("OIDC_REDIRECT_URI (") && t.contains("`$` reference"),
        "{t}"
    );
    assert!(
        !t.contains("${DB_PASSWORD}`") && !t.contains("`hunter2"),
        "{t}"
    );
    // A broken quote in a secret line names the line, not the secret.
    let content = GOOD_ENV.replace(
        "OIDC_CLIENT_SECRET=Xk93-pQ7z-Lm20-Wd55",
        "OIDC_CLIENT_SECRET=\"Xk93-pQ7z-Lm20-Wd55",
    );
    let report = env_file_report(&sb, &content, &[]);
    let t = expect_status(&report, "config.env-file", &["fail"]);
    assert!(t.contains("romm.env:4: `OIDC_CLIENT_SECRET=••••`"), "{t}");
    assert!(!report.to_string().contains("pQ7z"), "{report:#}");
}

// ------------------------------------------------------------------------------------
// config.provider-name

#[test]
fn provider_name_with_bundled_icon_passes() {
    each_gives(
        &Args::valid(),
        "--provider",
        &[
            "pocket-id",
            "authelia",
            "keycloak",
            "authentik",
            "zitadel",
            "google",
            "Pocket ID",
            "Keycloak",
        ],
        "config.provider-name",
        "pass",
        "has a bundled icon (lowercased, spaces→dashes)",
    );
    // The default provider is pocket-id, which has an icon.
    let sb = Sandbox::new();
    let (report, _) = doctor_json(&sb, &Args::valid(), &[]);
    let t = expect_status(&report, "config.provider-name", &["pass"]);
    assert!(t.contains("pocket-id"), "{t}");
}

#[test]
fn provider_name_without_icon_warns_and_suggests_pocket_id() {
    let sb = Sandbox::new();
    let c = doctor_check(
        &sb,
        &Args::valid().set("--provider", "pocketid"),
        &[],
        "config.provider-name",
    );
    assert_eq!(c["status"], "warn", "{c:#}");
    assert!(
        c["fix"].as_str().unwrap().contains("pocket-id"),
        "fix must say pocket-id:\n{c:#}"
    );
    let (report, _) = doctor_json(&sb, &Args::valid().set("--provider", "voidauth"), &[]);
    expect_status(&report, "config.provider-name", &["warn"]);
}

#[test]
fn provider_name_from_env_file_is_checked() {
    let sb = Sandbox::new();
    let content = GOOD_ENV.replace("OIDC_PROVIDER=pocket-id", "OIDC_PROVIDER=pocketid");
    let report = env_file_report(&sb, &content, &[]);
    expect_status(&report, "config.provider-name", &["warn"]);
}

// ------------------------------------------------------------------------------------
// config.metadata-url

#[test]
fn metadata_url_absolute_passes_and_bad_values_fail() {
    let sb = Sandbox::new();
    let good = "https://auth.example.com/oidc/.well-known/openid-configuration";
    let (report, _) = doctor_json(&sb, &Args::valid().set("--metadata-url", good), &[]);
    expect_status(&report, "config.metadata-url", &["pass"]);
    each_gives(
        &Args::valid(),
        "--metadata-url",
        &[
            "auth.example.com/oidc/.well-known/openid-configuration",
            "\"https://auth.example.com/oidc/.well-known/openid-configuration\"",
            "ftp://auth.example.com/.well-known/openid-configuration",
            "https://auth.example.com/oidc/.well-known/openid configuration",
        ],
        "config.metadata-url",
        "fail",
        "must fail",
    );
}

// ------------------------------------------------------------------------------------
// config.client

#[test]
fn client_id_and_secret_set_passes_with_masked_secret() {
    let sb = Sandbox::new();
    let secret = "Qw7RtY-uI9oP-aS4dF";
    let (report, run) = doctor_json(&sb, &Args::valid().set("--client-secret", secret), &[]);
    let t = expect_status(&report, "config.client", &["pass"]);
    assert!(
        t.contains("romm-client"),
        "the client id is not secret and should be shown:\n{t}"
    );
    assert!(
        !run.stdout.contains(secret),
        "secret leaked:\n{}",
        run.stdout
    );
    assert!(
        t.contains(&secret[..4]) || t.contains(&secret.len().to_string()),
        "the secret should be shown masked (prefix or length):\n{t}"
    );
}

#[test]
fn client_id_missing_fails() {
    let sb = Sandbox::new();
    let on = ("OIDC_ENABLED", "true");
    let (report, _) = doctor_json(&sb, &Args::valid().unset("--client-id"), &[on]);
    let t = expect_status(&report, "config.client", &["fail"]);
    assert!(
        t.contains("OIDC_CLIENT_ID") || t.to_lowercase().contains("client id"),
        "{t}"
    );
    // Empty and blank count as unset.
    for v in ["", "  "] {
        let (report, _) = doctor_json(
            &sb,
            &Args::valid().unset("--client-id"),
            &[on, ("OIDC_CLIENT_ID", v)],
        );
        expect_status(&report, "config.client", &["fail"]);
    }
}

#[test]
fn client_secret_missing_is_reported() {
    // Without a secret authlib makes RomM a public client with no PKCE (§1, §3.3).
    let sb = Sandbox::new();
    let (report, _) = doctor_json(
        &sb,
        &Args::valid().unset("--client-secret"),
        &[("OIDC_ENABLED", "true")],
    );
    let t = expect_status(&report, "config.client", &["fail", "warn"]);
    assert!(
        t.contains("OIDC_CLIENT_SECRET") || t.to_lowercase().contains("secret"),
        "{t}"
    );
}

#[test]
fn client_secret_file_is_read() {
    let sb = Sandbox::new();
    let secret = "FileSecret-7731-abcd";
    let f = sb.file("secret.txt", format!("{secret}\n"));
    let args = Args::valid()
        .unset("--client-secret")
        .set("--client-secret-file", &f.to_string_lossy());
    let (report, run) = doctor_json(&sb, &args, &[]);
    expect_status(&report, "config.client", &["pass"]);
    run.assert_hides(secret, "the secret");
}

// ------------------------------------------------------------------------------------
// config.roles

#[test]
fn roles_top_level_claim_passes() {
    let sb = Sandbox::new();
    let args = Args::valid()
        .set("--claim-roles", "groups")
        .set("--role-admin", "romm-admins")
        .set("--role-viewer", "*");
    let (report, _) = doctor_json(&sb, &args, &[]);
    expect_status(&report, "config.roles", &["pass"]);
}

#[test]
fn roles_dotted_claim_fails() {
    // §3.6: only top-level keys are read; `realm_access.roles` never matches.
    let sb = Sandbox::new();
    let args = Args::valid()
        .set("--claim-roles", "realm_access.roles")
        .set("--role-admin", "admin");
    let (report, _) = doctor_json(&sb, &args, &[]);
    let t = expect_status(&report, "config.roles", &["fail"]);
    assert!(t.contains("realm_access.roles"), "{t}");
    // Also from the environment.
    let args = Args::valid().set("--role-admin", "admin");
    let (report, _) = doctor_json(
        &sb,
        &args,
        &[("OIDC_CLAIM_ROLES", "resource_access.romm.roles")],
    );
    expect_status(&report, "config.roles", &["fail"]);
}

#[test]
fn roles_comma_list_warns() {
    // §3.6: role values are one value; commas are not split.
    let sb = Sandbox::new();
    for flag in ["--role-admin", "--role-editor", "--role-viewer"] {
        let args = Args::valid()
            .set("--claim-roles", "groups")
            .set(flag, "romm-admin,platform-admins");
        let c = doctor_check(&sb, &args, &[], "config.roles");
        assert_eq!(
            c["status"], "warn",
            "{flag} with a comma list must warn:\n{c:#}"
        );
    }
}

// ------------------------------------------------------------------------------------
// Secrets never appear in doctor output

const LEAKY: &str = "Sup3r-S3cret-Value-0042";

#[test]
fn secret_absent_from_json_human_and_verbose_output() {
    let sb = Sandbox::new();
    let args = Args::valid().set("--client-secret", LEAKY);
    for sub in [
        vec!["doctor", "--json", "--timeout", "2"],
        vec!["doctor", "--timeout", "2", "--color", "never"],
        vec!["doctor", "--timeout", "2", "-v"],
        vec!["doctor", "--timeout", "2", "-vv"],
        vec!["doctor", "--json", "--timeout", "2", "-vv"],
        vec!["doctor", "--timeout", "2", "-vv", "--color", "always"],
    ] {
        let r = run(&sb, &sub, &args, &[]);
        r.assert_hides(LEAKY, &sub.join(" "));
    }
}

#[test]
fn secret_absent_when_it_comes_from_env_or_env_file() {
    let sb = Sandbox::new();
    let base = Args::valid().unset("--client-secret");
    let r = run(
        &sb,
        &["doctor", "--timeout", "2", "-vv"],
        &base,
        &[("OIDC_CLIENT_SECRET", LEAKY)],
    );
    r.assert_hides(LEAKY, "from environment");
    let f = sb.file("s.env", format!("OIDC_CLIENT_SECRET={LEAKY}\n"));
    let args = base.clone().set("--env-file", &f.to_string_lossy());
    let r = run(&sb, &["doctor", "--timeout", "2", "-vv"], &args, &[]);
    r.assert_hides(LEAKY, "from env file");
    let r = run(
        &sb,
        &["doctor", "--json", "--timeout", "2", "-vv"],
        &args,
        &[],
    );
    r.assert_hides(LEAKY, "from env file, json");
}

#[test]
fn secret_absent_when_the_secret_itself_is_flagged() {
    // A quoted secret is a finding; reporting it must not print it.
    let sb = Sandbox::new();
    let f = sb.file(
        "s.env",
        format!(
            "{}OIDC_CLIENT_SECRET='\"{LEAKY}\"'\n",
            GOOD_ENV.replace("OIDC_CLIENT_SECRET=Xk93-pQ7z-Lm20-Wd55\n", "")
        ),
    );
    let args = Args::new().set("--env-file", &f.to_string_lossy());
    let (report, r) = doctor_json(&sb, &args, &[]);
    expect_status(&report, "config.env-file", &["fail", "warn"]);
    r.assert_hides(LEAKY, "quoted secret, json");
    let r = run(&sb, &["doctor", "--timeout", "2", "-vv"], &args, &[]);
    r.assert_hides(LEAKY, "quoted secret, human -vv");
    // Quoted in the process environment, with spaces around it.
    let r = run(
        &sb,
        &["doctor", "--timeout", "2", "-vv"],
        &Args::valid().unset("--client-secret"),
        &[("OIDC_CLIENT_SECRET", &format!("  \"{LEAKY}\"  "))],
    );
    r.assert_hides(LEAKY, "quoted secret in environment");
}

#[test]
fn short_secret_is_not_revealed_by_the_mask() {
    // A mask of "first 4 characters" would print a 4-character secret in full.
    let sb = Sandbox::new();
    let secret = "Zq7~";
    let args = Args::valid().set("--client-secret", secret);
    for sub in [
        vec!["doctor", "--json", "--timeout", "2", "-vv"],
        vec!["doctor", "--timeout", "2", "-vv"],
    ] {
        let r = run(&sb, &sub, &args, &[]);
        r.assert_hides(secret, &sub.join(" "));
    }
}

// ------------------------------------------------------------------------------------
// Human output

fn run_human(sb: &Sandbox, args: &Args) -> Run {
    run(
        sb,
        &["doctor", "--timeout", "2", "--color", "never"],
        args,
        &[],
    )
}

fn mark(st: &str) -> char {
    match st {
        "pass" => '✔',
        "warn" => '⚠',
        "fail" => '✘',
        _ => '–',
    }
}

#[test]
fn human_output_has_one_marked_line_per_check_details_and_totals() {
    let sb = Sandbox::new();
    let args = Args::valid()
        .set("--issuer", "https://id.example.com/authorize")
        .set("--provider", "pocketid");
    let (report, _) = doctor_json(&sb, &args, &[]);
    let human = run_human(&sb, &args);
    assert!(
        !human.stdout.contains('\u{1b}'),
        "no colour with --color never:\n{}",
        human.show()
    );
    let lines: Vec<&str> = human.stdout.lines().collect();
    let mut counts = std::collections::HashMap::<String, usize>::new();
    for c in checks(&report) {
        let id = c["id"].as_str().unwrap();
        let st = c["status"].as_str().unwrap();
        *counts.entry(st.to_string()).or_default() += 1;
        let m = mark(st);
        let line = lines
            .iter()
            .find(|l| l.contains(id) && l.trim_start().starts_with(m))
            .unwrap_or_else(|| {
                panic!(
                    "no line starting with {m} for {id} ({st}):\n{}",
                    human.stdout
                )
            });
        assert!(
            line.contains(c["summary"].as_str().unwrap()),
            "summary of {id} on its line:\n{line}"
        );
        if st == "warn" || st == "fail" {
            for k in ["detail", "fix", "expected", "found"] {
                if let Some(v) = c.get(k).and_then(Value::as_str) {
                    for part in v.lines().filter(|p| !p.trim().is_empty()) {
                        assert!(
                            human.stdout.contains(part.trim()),
                            "{k} of non-passing {id} missing from human output: {part:?}\n{}",
                            human.stdout
                        );
                    }
                }
            }
        }
    }
    assert!(
        counts.get("fail").copied().unwrap_or(0) >= 1
            && counts.get("warn").copied().unwrap_or(0) >= 1
    );
    let totals = lines
        .iter()
        .rev()
        .find(|l| l.contains(" passed, "))
        .unwrap()
        .to_lowercase();
    // The report closes with the verdict.
    let last = lines
        .iter()
        .rev()
        .find(|l| !l.trim().starts_with('⚠') && !l.trim().starts_with('✘') && !l.trim().is_empty())
        .unwrap();
    assert!(last.starts_with("verdict: "), "{last:?}");
    for (st, stem) in [
        ("pass", "pass"),
        ("warn", "warn"),
        ("fail", "fail"),
        ("skip", "skip"),
    ] {
        if let Some(n) = counts.get(st) {
            assert!(
                totals.contains(&format!("{n} {stem}")),
                "totals line must count {n} {st}: {totals:?}"
            );
        }
    }
}

#[test]
fn colour_only_with_color_always() {
    let sb = Sandbox::new();
    let args = Args::valid().set("--issuer", "https://id.example.com/authorize");
    // --color always: ANSI escapes even though stdout is a pipe.
    let mut c = sb.cmd();
    c.env_remove("NO_COLOR")
        .args(["doctor", "--timeout", "2", "--color", "always"])
        .args(args.to_vec());
    let r = process::run(&mut c, RUN_LIMIT);
    assert!(
        r.stdout.contains("\u{1b}["),
        "--color always must colour:\n{}",
        r.show()
    );
    // auto with a pipe: none; never: none; NO_COLOR with auto: none.
    for (color, no_color) in [
        ("auto", false),
        ("never", false),
        ("auto", true),
        ("never", true),
    ] {
        let mut c = sb.cmd();
        if !no_color {
            c.env_remove("NO_COLOR");
        }
        c.args(["doctor", "--timeout", "2", "--color", color])
            .args(args.to_vec());
        let r = process::run(&mut c, RUN_LIMIT);
        assert!(
            !r.stdout.contains('\u{1b}') && !r.stderr.contains('\u{1b}'),
            "--color {color} NO_COLOR={no_color} must not colour:\n{}",
            r.show()
        );
    }
    // JSON is never coloured.
    let mut c = sb.cmd();
    c.env_remove("NO_COLOR")
        .args(["doctor", "--json", "--timeout", "2", "--color", "always"])
        .args(args.to_vec());
    let r = process::run(&mut c, RUN_LIMIT);
    serde_json::from_str::<Value>(&r.stdout)
        .unwrap_or_else(|e| panic!("--json --color always is not JSON ({e}):\n{}", r.show()));
}

// ------------------------------------------------------------------------------------
// Settings sources as seen by the checks

#[test]
fn flags_override_environment_which_overrides_env_file() {
    let sb = Sandbox::new();
    let f = sb.file(
        "p.env",
        "OIDC_SERVER_APPLICATION_URL=https://id.example.com/authorize\n",
    );
    let base = Args::valid()
        .unset("--issuer")
        .set("--env-file", &f.to_string_lossy());
    // env file alone: bad
    let (report, _) = doctor_json(&sb, &base, &[]);
    expect_status(&report, "config.issuer-url", &["fail"]);
    // environment beats the file
    let (report, _) = doctor_json(
        &sb,
        &base,
        &[("OIDC_SERVER_APPLICATION_URL", "https://id.example.com")],
    );
    expect_status(&report, "config.issuer-url", &["pass"]);
    // a flag beats the environment
    let (report, _) = doctor_json(
        &sb,
        &base.clone().set(
            "--issuer",
            "https://id.example.com/.well-known/openid-configuration",
        ),
        &[("OIDC_SERVER_APPLICATION_URL", "https://id.example.com")],
    );
    expect_status(&report, "config.issuer-url", &["fail"]);
}
