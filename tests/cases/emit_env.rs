//! Black-box tests of `romm-oidc emit-env`, through the real binary: the block it prints,
//! its refusals, its output formats, the quoting round trip through `sh` and through an
//! independent docker-compose `.env` reader (tests/support/compose_dotenv.rs), and
//! `--write` merging into an existing env file.

use crate::support::compose_dotenv;
use crate::support::prelude::*;
use std::collections::HashMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::support::compose_dotenv::{parse, parse_map, read_compose_environment};
use crate::support::report::occurs_not_followed_by;
use crate::support::sandbox::{sh, sh_read};

const SECRET: &str = "Xk93-pQ7z-Lm20-Wd55";

/// An env file that holds everything RomM requires, one line per key (no duplicates),
/// with `pairs` replacing a required value or adding a line.
fn full_env(pairs: &[(&str, &str)]) -> String {
    let mut lines: Vec<(String, String)> = [
        ("OIDC_ENABLED", "true"),
        ("OIDC_CLIENT_ID", "romm-client"),
        ("OIDC_CLIENT_SECRET", SECRET),
        (
            "OIDC_REDIRECT_URI",
            "https://romm.example.com/api/oauth/openid",
        ),
        ("OIDC_SERVER_APPLICATION_URL", "https://id.example.com"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in pairs {
        match lines.iter_mut().find(|(lk, _)| lk == k) {
            Some(l) => l.1 = v.to_string(),
            None => lines.push((k.to_string(), v.to_string())),
        }
    }
    lines.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

fn emit(sb: &Sandbox, args: &Args, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut sub = vec!["emit-env"];
    sub.extend_from_slice(extra);
    run(sb, &sub, args, env)
}

#[track_caller]
fn emit_ok(sb: &Sandbox, args: &Args, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let r = emit(sb, args, extra, env);
    assert_eq!(
        r.code,
        0,
        "emit-env {extra:?} {args:?} should succeed:\n{}",
        r.show()
    );
    r
}

#[track_caller]
fn dotenv_map(r: &Run) -> HashMap<String, String> {
    parse_map(&r.stdout)
        .unwrap_or_else(|e| panic!("stdout is not a valid compose .env ({e}):\n{}", r.show()))
}

fn json_value_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[track_caller]
fn json_map(r: &Run) -> HashMap<String, String> {
    let v: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("--format json is not JSON ({e}):\n{}", r.show()));
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("--format json is not an object:\n{}", r.show()));
    obj.iter()
        .map(|(k, v)| (k.clone(), json_value_str(v)))
        .collect()
}

fn expected_core(args: &Args) -> Vec<(&'static str, String)> {
    let romm = args.get("--romm-url").unwrap_or("https://romm.example.com");
    vec![
        ("OIDC_ENABLED", "true".to_string()),
        (
            "OIDC_PROVIDER",
            args.get("--provider").unwrap_or("pocket-id").to_string(),
        ),
        (
            "OIDC_CLIENT_ID",
            args.get("--client-id").unwrap().to_string(),
        ),
        (
            "OIDC_CLIENT_SECRET",
            args.get("--client-secret").unwrap().trim().to_string(),
        ),
        (
            "OIDC_REDIRECT_URI",
            format!("{}/api/oauth/openid", romm.trim_end_matches('/')),
        ),
        (
            "OIDC_SERVER_APPLICATION_URL",
            args.get("--issuer").unwrap().to_string(),
        ),
    ]
}

// ------------------------------------------------------------------------------------
// The block

#[test]
fn dotenv_block_has_what_romm_needs_and_nothing_unset() {
    let sb = Sandbox::new();
    let args = Args::valid();
    let r = emit_ok(&sb, &args, &[], &[]);
    let m = dotenv_map(&r);
    for (k, v) in expected_core(&args) {
        assert_eq!(m.get(k), Some(&v), "{k} in the block:\n{}", r.stdout);
    }
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    assert_eq!(
        keys.len(),
        6,
        "only the six settings given or required may be emitted: {keys:?}\n{}",
        r.stdout
    );
    for unset in [
        "OIDC_AUTOLOGIN",
        "OIDC_CLAIM_ROLES",
        "OIDC_SERVER_METADATA_URL",
        "OIDC_ALLOW_REGISTRATION",
    ] {
        assert!(
            !m.contains_key(unset),
            "{unset} was not given and must not be emitted:\n{}",
            r.stdout
        );
    }
}

#[test]
fn explicit_redirect_uri_is_emitted_verbatim() {
    let sb = Sandbox::new();
    let args = Args::valid().unset("--romm-url").set(
        "--redirect-uri",
        "https://games.example.org:8443/api/oauth/openid",
    );
    let m = dotenv_map(&emit_ok(&sb, &args, &[], &[]));
    assert_eq!(
        m["OIDC_REDIRECT_URI"],
        "https://games.example.org:8443/api/oauth/openid"
    );
}

#[test]
fn optional_settings_are_emitted_only_when_given() {
    let sb = Sandbox::new();
    let meta = "https://auth.example.com/oidc/.well-known/openid-configuration";
    let args = Args::valid()
        .set("--provider", "authelia")
        .set("--claim-roles", "groups")
        .set("--role-admin", "romm-admins")
        .set("--role-viewer", "*")
        .set("--username-attribute", "email")
        .set("--metadata-url", meta);
    let m = dotenv_map(&emit_ok(&sb, &args, &[], &[]));
    for (k, v) in [
        ("OIDC_PROVIDER", "authelia"),
        ("OIDC_CLAIM_ROLES", "groups"),
        ("OIDC_ROLE_ADMIN", "romm-admins"),
        ("OIDC_ROLE_VIEWER", "*"),
        ("OIDC_USERNAME_ATTRIBUTE", "email"),
        ("OIDC_SERVER_METADATA_URL", meta),
    ] {
        assert_eq!(m.get(k).map(String::as_str), Some(v), "{k}: {m:?}");
    }
    for k in [
        "OIDC_ROLE_EDITOR",
        "OIDC_AUTOLOGIN",
        "OIDC_TLS_CACERTFILE",
        "OIDC_RP_INITIATED_LOGOUT",
        "OIDC_END_SESSION_ENDPOINT",
        "OIDC_ALLOW_REGISTRATION",
    ] {
        assert!(!m.contains_key(k), "{k} was not given: {m:?}");
    }
}

#[test]
fn settings_from_env_file_are_carried_into_the_block() {
    let sb = Sandbox::new();
    let content = full_env(&[
        ("OIDC_CLIENT_ID", "from-file"),
        ("DB_HOST", "mariadb"),
        ("OIDC_AUTOLOGIN", "true"),
        ("OIDC_ALLOW_REGISTRATION", "false"),
    ]);
    let f = sb.file("romm.env", content);
    let args = Args::new().set("--env-file", &f.to_string_lossy());
    let m = dotenv_map(&emit_ok(&sb, &args, &[], &[]));
    assert_eq!(
        m.get("OIDC_CLIENT_ID").map(String::as_str),
        Some("from-file")
    );
    assert_eq!(m.get("OIDC_AUTOLOGIN").map(String::as_str), Some("true"));
    assert_eq!(
        m.get("OIDC_ALLOW_REGISTRATION").map(String::as_str),
        Some("false")
    );
    assert_eq!(
        m.get("OIDC_PROVIDER").map(String::as_str),
        Some("pocket-id")
    );
    assert!(
        !m.contains_key("DB_HOST"),
        "only RomM's OIDC block is emitted: {m:?}"
    );
}

#[test]
fn stdout_holds_only_the_block() {
    let sb = Sandbox::new();
    let r = emit_ok(&sb, &Args::valid().set("--provider", "pocketid"), &[], &[]);
    for line in r.stdout.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let entries = parse(line)
            .unwrap_or_else(|e| panic!("stdout line {line:?} is not an assignment: {e}"));
        assert_eq!(entries.len(), 1, "one assignment per line: {line:?}");
        assert!(
            entries[0].key.starts_with("OIDC_"),
            "unexpected key on stdout: {line:?}"
        );
    }
    // the warning about the provider name, if any, belongs on stderr
    assert!(
        !r.stdout.to_lowercase().contains("icon"),
        "notes must go to stderr:\n{}",
        r.show()
    );
}

// ------------------------------------------------------------------------------------
// Refusal

#[test]
fn refuses_authorize_issuer_and_names_the_base_url() {
    let sb = Sandbox::new();
    let args = Args::new()
        .set("--issuer", "https://id.example.com/authorize")
        .set("--client-id", "x")
        .set("--client-secret", "y0123456789abcdef")
        .set("--romm-url", "https://romm.example.com");
    let r = emit(&sb, &args, &[], &[]);
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(
        r.stdout.is_empty(),
        "stdout must be empty on refusal:\n{}",
        r.show()
    );
    assert!(
        occurs_not_followed_by(&r.stderr, "https://id.example.com", &['/', '.', '-']),
        "stderr must tell the user to use https://id.example.com (not only echo the input):\n{}",
        r.show()
    );
}

#[test]
fn refusal_names_every_failing_problem() {
    let sb = Sandbox::new();
    let args = Args::valid()
        .set("--issuer", "https://id.example.com/authorize")
        .set("--claim-roles", "realm_access.roles")
        .unset("--romm-url")
        .set(
            "--redirect-uri",
            "https://romm.example.com/api/oauth/openid/",
        );
    let (report, _) = doctor_json(&sb, &args, &[]);
    let failing: Vec<&Value> = checks(&report)
        .iter()
        .filter(|c| c["status"] == "fail" && c["id"].as_str().unwrap().starts_with("config."))
        .collect();
    assert!(
        failing.len() >= 3,
        "expected at least three static failures:\n{report:#}"
    );
    for fmt in ["dotenv", "compose", "shell", "json"] {
        let r = emit(&sb, &args, &["--format", fmt], &[]);
        assert_eq!(r.code, 2, "--format {fmt}:\n{}", r.show());
        assert!(
            r.stdout.is_empty(),
            "--format {fmt}: stdout must be empty:\n{}",
            r.show()
        );
        for c in &failing {
            let id = c["id"].as_str().unwrap();
            let summary = c["summary"].as_str().unwrap();
            assert!(
                r.stderr.contains(id) || r.stderr.contains(summary),
                "--format {fmt}: failing check {id} ({summary}) not named on stderr:\n{}",
                r.show()
            );
        }
    }
}

#[test]
fn refuses_a_block_without_client_id_or_issuer() {
    // The block always enables OIDC, so what RomM needs must be there.
    let sb = Sandbox::new();
    for missing in ["--client-id", "--issuer"] {
        let r = emit(&sb, &Args::valid().unset(missing), &[], &[]);
        assert_eq!(r.code, 2, "without {missing}:\n{}", r.show());
        assert!(r.stdout.is_empty(), "{}", r.show());
        assert!(!r.stderr.trim().is_empty(), "{}", r.show());
    }
}

#[test]
fn force_prints_the_block_despite_failures() {
    let sb = Sandbox::new();
    let args = Args::valid().set("--issuer", "https://id.example.com/authorize");
    let r = emit(&sb, &args, &["--force"], &[]);
    assert_eq!(r.code, 0, "{}", r.show());
    let m = dotenv_map(&r);
    assert_eq!(
        m["OIDC_SERVER_APPLICATION_URL"],
        "https://id.example.com/authorize"
    );
    assert_eq!(m["OIDC_CLIENT_SECRET"], SECRET);
    assert!(
        !r.stderr.trim().is_empty(),
        "the failures should still be reported on stderr"
    );
}

#[test]
fn warnings_do_not_block() {
    let sb = Sandbox::new();
    let args = Args::valid().set("--provider", "pocketid");
    let (report, _) = doctor_json(&sb, &args, &[]);
    assert_eq!(status(&report, "config.provider-name"), "warn");
    let m = dotenv_map(&emit_ok(&sb, &args, &[], &[]));
    assert_eq!(
        m["OIDC_PROVIDER"], "pocketid",
        "the value is emitted as given"
    );
}

// ------------------------------------------------------------------------------------
// Formats

#[test]
fn compose_format_is_an_environment_mapping_with_the_same_values() {
    let sb = Sandbox::new();
    let args = Args::valid().set("--claim-roles", "groups");
    let dotenv = dotenv_map(&emit_ok(&sb, &args, &[], &[]));
    let r = emit_ok(&sb, &args, &["--format", "compose"], &[]);
    let entries = read_compose_environment(&r.stdout)
        .unwrap_or_else(|e| panic!("compose output unreadable: {e}\n{}", r.stdout));
    let compose: HashMap<String, String> = entries.into_iter().map(|e| (e.key, e.value)).collect();
    assert_eq!(
        compose, dotenv,
        "compose and dotenv formats must carry the same values"
    );
}

#[test]
fn compose_format_escapes_dollar_and_single_quote() {
    let sb = Sandbox::new();
    let secret = "it's $HOME and $$ ${X}";
    let r = emit_ok(
        &sb,
        &Args::valid().set("--client-secret", secret),
        &["--format", "compose"],
        &[],
    );
    let line = r
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("OIDC_CLIENT_SECRET:"))
        .unwrap_or_else(|| panic!("no OIDC_CLIENT_SECRET line:\n{}", r.stdout));
    let scalar = line.split_once(':').unwrap().1.trim();
    // compose interpolates `$` in compose.yaml: every `$` must be doubled.
    assert!(
        scalar.contains("$$HOME") && scalar.contains("$$$$") && scalar.contains("$${X}"),
        "{line}"
    );
    assert!(
        !scalar.replace("$$", "").contains('$'),
        "a lone $ remains: {line}"
    );
    if scalar.starts_with('\'') {
        assert!(
            scalar.contains("it''s"),
            "a quote in a single-quoted YAML scalar is doubled: {line}"
        );
    }
}

#[test]
fn shell_format_is_export_lines_that_sh_reads() {
    let sb = Sandbox::new();
    let args = Args::valid();
    let r = emit_ok(&sb, &args, &["--format", "shell"], &[]);
    for line in r
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim().starts_with('#'))
    {
        assert!(
            line.starts_with("export OIDC_"),
            "not an export line: {line:?}"
        );
    }
    std::fs::write(sb.path().join("oidc.sh"), &r.stdout).unwrap();
    for (k, v) in expected_core(&args) {
        // export lines: the variable must reach a child process
        let got = sh(
            sb.path(),
            &format!(". ./oidc.sh && sh -c 'printf %s \"${k}\"'"),
        )
        .unwrap();
        assert_eq!(got, v, "{k} through sh");
    }
}

#[test]
fn json_format_is_an_object_with_the_same_values() {
    let sb = Sandbox::new();
    let args = Args::valid()
        .set("--role-admin", "romm-admins")
        .set("--claim-roles", "groups");
    let dotenv = dotenv_map(&emit_ok(&sb, &args, &[], &[]));
    let json = json_map(&emit_ok(&sb, &args, &["--format", "json"], &[]));
    assert_eq!(json, dotenv);
}

// ------------------------------------------------------------------------------------
// Quoting round trip: the secret carries hard values through every format and reader.

/// Reads `OIDC_CLIENT_SECRET` from each compose block with PyYAML, then applies compose's
/// `$$` rule; `None` when PyYAML is not installed.
fn python_yaml_secrets(docs: &[String]) -> Option<Vec<Result<String, String>>> {
    use std::io::Write;
    let script = "import sys,json\ntry:\n import yaml\nexcept ImportError:\n sys.exit(3)\nfor line in sys.stdin:\n try:\n  d=yaml.safe_load(json.loads(line))\n  print(json.dumps({'ok': d['environment']['OIDC_CLIENT_SECRET']}))\n except Exception as e:\n  print(json.dumps({'err': str(e)}))\n";
    let mut child = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    let input: String = docs
        .iter()
        .map(|d| serde_json::to_string(d).unwrap() + "\n")
        .collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .ok()?;
    let out = child.wait_with_output().ok()?;
    if out.status.code() == Some(3) {
        eprintln!(
            "note: PyYAML is not installed; compose blocks checked with the YAML subset only"
        );
        return None;
    }
    let results: Vec<Result<String, String>> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
            match (&v["ok"], &v["err"]) {
                (Value::String(raw), _) => compose_dotenv::substitute_with(raw, &|_| None),
                (other, Value::Null) => Err(format!("not a string: {other}")),
                (_, err) => Err(format!("PyYAML: {err}")),
            }
        })
        .collect();
    assert_eq!(
        results.len(),
        docs.len(),
        "PyYAML: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(results)
}

/// Emits `input` as the client secret in every format and reads it back; returns every
/// mismatch. `expect` is the value RomM would read (stripped).
fn check_read(fails: &mut Vec<String>, expect: &str, what: &str, got: Result<String, String>) {
    match got {
        Ok(g) if g == expect => {}
        Ok(g) => fails.push(format!("{what}: read back {g:?}, want {expect:?}")),
        Err(e) => fails.push(format!("{what}: {e}")),
    }
}

/// `OIDC_CLIENT_SECRET` of a compose block, read with the YAML subset.
fn compose_secret(block: &str) -> Result<String, String> {
    read_compose_environment(block).and_then(|e| {
        e.into_iter()
            .find(|e| e.key == "OIDC_CLIENT_SECRET")
            .map(|e| e.value)
            .ok_or("no key".into())
    })
}

fn round_trip_failures(input: &str, expect: &str) -> Vec<String> {
    let sb = Sandbox::new();
    let args = Args::valid().set("--client-secret", input);
    let mut fails = Vec::new();

    for (fmt, file) in [("dotenv", "oidc.env"), ("shell", "oidc.sh")] {
        let r = emit(&sb, &args, &["--format", fmt], &[]);
        if r.code != 0 {
            fails.push(format!("--format {fmt} refused:\n{}", r.show()));
            continue;
        }
        std::fs::write(sb.path().join(file), &r.stdout).unwrap();
        check_read(
            &mut fails,
            expect,
            &format!("{fmt} via compose .env rules"),
            parse_map(&r.stdout)
                .and_then(|m| m.get("OIDC_CLIENT_SECRET").cloned().ok_or("no key".into())),
        );
        check_read(
            &mut fails,
            expect,
            &format!("{fmt} via sh (set -a; . file)"),
            sh_read(sb.path(), file, "OIDC_CLIENT_SECRET", true),
        );
        if fmt == "shell" {
            check_read(
                &mut fails,
                expect,
                "shell via sh (. file)",
                sh_read(sb.path(), file, "OIDC_CLIENT_SECRET", false),
            );
        }
        let line = r
            .stdout
            .lines()
            .find(|l| l.contains("OIDC_CLIENT_SECRET"))
            .unwrap_or("");
        if fails.iter().any(|f| f.starts_with(fmt)) {
            fails.push(format!("  {fmt} line was: {line}"));
        }
    }
    let r = emit(&sb, &args, &["--format", "compose"], &[]);
    if r.code != 0 {
        fails.push(format!("--format compose refused:\n{}", r.show()));
    } else {
        check_read(
            &mut fails,
            expect,
            "compose via YAML subset + $$ rule",
            compose_secret(&r.stdout),
        );
        if let Some(got) = python_yaml_secrets(std::slice::from_ref(&r.stdout)) {
            for got in got {
                check_read(&mut fails, expect, "compose via PyYAML + $$ rule", got);
            }
        }
        if fails.iter().any(|f| f.starts_with("compose")) {
            let line = r
                .stdout
                .lines()
                .find(|l| l.contains("OIDC_CLIENT_SECRET"))
                .unwrap_or("");
            fails.push(format!("  compose line was: {line}"));
        }
    }
    let r = emit(&sb, &args, &["--format", "json"], &[]);
    if r.code != 0 {
        fails.push(format!("--format json refused:\n{}", r.show()));
    } else {
        check_read(
            &mut fails,
            expect,
            "json",
            Ok(json_map(&r)
                .get("OIDC_CLIENT_SECRET")
                .cloned()
                .unwrap_or_default()),
        );
    }
    fails
}

#[track_caller]
fn assert_round_trip(input: &str, expect: &str) {
    let fails = round_trip_failures(input, expect);
    assert!(
        fails.is_empty(),
        "secret {input:?} did not round-trip:\n{}",
        fails.join("\n")
    );
}

macro_rules! round_trips {
    ($($name:ident => $value:expr,)*) => {$(
        #[test]
        fn $name() {
            assert_round_trip($value, $value);
        }
    )*};
}

round_trips! {
    round_trip_plain => "Xk93-pQ7z-Lm20-Wd55",
    round_trip_dollar => "a$b",
    round_trip_dollar_home => "$HOME",
    round_trip_dollar_braced => "${X}",
    round_trip_dollar_default => "${X:-fallback}",
    round_trip_dollar_at_end => "abc$",
    round_trip_double_dollar => "a$$b",
    round_trip_hash => "a#b",
    round_trip_space_hash => "a #b",
    round_trip_leading_hash => "#abc",
    round_trip_single_quote => "it's",
    round_trip_double_quote => "say \"hi\"",
    round_trip_backslash => "back\\slash",
    round_trip_backslash_n => "a\\nb",
    round_trip_backslash_dollar => "a\\$b",
    round_trip_backslash_single_quote => "a\\'b",
    round_trip_backslash_double_quote => "a\\\"b",
    round_trip_double_backslash => "a\\\\b",
    round_trip_backslash_zero_octal => "a\\0101b",
    round_trip_backtick => "a`whoami`b",
    round_trip_backtick_and_dollar => "`$X` $(id)",
    round_trip_spaces => "with spaces inside",
    round_trip_tab => "a\tb",
    round_trip_equals => "a=b=c",
    // Non-ASCII within latin-1: beyond it RomM cannot send the secret (tests/secrets.rs).
    round_trip_unicode => "pässwörd·¿",
    round_trip_yaml_indicators => "- &a *b !c %d @e",
    round_trip_colon_space => "key: value",
    round_trip_shell_metachars => "a;b|c&d<e>f(g)*?[h]~!",
    round_trip_quotes_dollar_hash_backslash => "$'\"#\\ x",
    round_trip_leading_dash => "-starts-with-dash",
    round_trip_braces => "{x}",
    round_trip_all_but_backtick => "p@ss w0rd' \"q\" $HOME ${X} #c \\d=e é",
}

#[test]
fn single_quote_together_with_backtick_is_carried_or_refused() {
    // No quoting reads back identically in both sh and compose for a value holding both
    // `'` and a backtick: the block must either carry it exactly or refuse it (exit 2,
    // empty stdout). Printing a value one of the readers changes is the failure.
    let sb = Sandbox::new();
    let secret = "it's `id`";
    let args = Args::valid().set("--client-secret", secret);
    for fmt in ["dotenv", "shell"] {
        let r = emit(&sb, &args, &["--format", fmt], &[]);
        if r.code == 2 {
            assert!(r.stdout.is_empty(), "{}", r.show());
            assert!(!r.stderr.trim().is_empty(), "{}", r.show());
            continue;
        }
        assert_eq!(r.code, 0, "{}", r.show());
        let file = format!("x.{fmt}");
        std::fs::write(sb.path().join(&file), &r.stdout).unwrap();
        let compose = parse_map(&r.stdout).map(|m| m.get("OIDC_CLIENT_SECRET").cloned());
        let shell = sh_read(sb.path(), &file, "OIDC_CLIENT_SECRET", true);
        assert!(
            compose == Ok(Some(secret.to_string())) && shell == Ok(secret.to_string()),
            "--format {fmt} printed a value that does not read back as {secret:?}: compose {compose:?}, sh {shell:?}\n{}",
            r.stdout
        );
    }
}

#[track_caller]
fn assert_refused(r: &Run, words: &[&str]) {
    assert_eq!(r.code, 2, "must refuse with exit 2:\n{}", r.show());
    assert!(r.stdout.is_empty(), "stdout must be empty:\n{}", r.show());
    let e = r.stderr.to_lowercase();
    assert!(
        words.iter().any(|w| e.contains(&w.to_lowercase())),
        "stderr must explain the refusal (one of {words:?}):\n{}",
        r.show()
    );
}

#[test]
fn newline_in_a_value_is_refused() {
    let sb = Sandbox::new();
    for secret in ["line1\nline2", "a\r\nb"] {
        let args = Args::valid().set("--client-secret", secret);
        for fmt in ["dotenv", "shell"] {
            let r = emit(&sb, &args, &["--format", fmt], &[]);
            assert_refused(&r, &["newline", "line break", "OIDC_CLIENT_SECRET"]);
        }
    }
    // The same value coming from an env file (compose expands \n in double quotes).
    let f = sb.file(
        "nl.env",
        full_env(&[("OIDC_CLIENT_SECRET", "\"line1\\nline2\"")]),
    );
    let args = Args::new().set("--env-file", &f.to_string_lossy());
    let r = emit(&sb, &args, &[], &[]);
    assert_refused(&r, &["newline", "line break", "OIDC_CLIENT_SECRET"]);
}

#[test]
fn trailing_backslash_is_carried_in_double_quotes() {
    // compose reads `'x\'` as an escaped quote (never closed), so a value ending
    // with a backslash goes in double quotes, where `\\` reads back as one
    // backslash in both compose and sh.
    assert_round_trip("ends-with\\", "ends-with\\");
    assert_round_trip("two\\\\", "two\\\\");
    assert_round_trip("it's\\", "it's\\");
}

#[test]
fn backtick_with_a_trailing_backslash_is_refused_for_env_lines_only() {
    let sb = Sandbox::new();
    let args = Args::valid().set("--client-secret", "`id`\\");
    for fmt in ["dotenv", "shell"] {
        let r = emit(&sb, &args, &["--format", fmt], &[]);
        assert_refused(&r, &["backtick"]);
    }
    // YAML and JSON carry it.
    let m = json_map(&emit_ok(&sb, &args, &["--format", "json"], &[]));
    assert_eq!(m["OIDC_CLIENT_SECRET"], "`id`\\");
    emit_ok(&sb, &args, &["--format", "compose"], &[]);
}

/// A corpus of values that quoting gets wrong: control characters, quotes of both kinds,
/// a backslash before every printable ASCII character, `$` forms, comment marks, blanks at
/// the ends, Unicode (a BOM-looking character, NEL, line separator), line breaks, a
/// trailing backslash.
fn quoting_corpus() -> Vec<String> {
    let mut values: Vec<String> = (0x20u8..0x7f)
        .map(|b| format!("p\\{}q", b as char))
        .collect();
    let atoms = [
        "'", "\"", "`", "$", "$X", "${X}", "${X:-d}", "$$", "${", "#", " #", "\t", "\u{1}",
        "\u{7}", "\u{1b}", "\u{7f}", "\u{85}", "\u{a0}", "\u{2028}", "\u{feff}", "é✓", "\\", "\\'",
        "\\\"", "\n", "\r",
    ];
    for (i, a) in atoms.iter().enumerate() {
        values.push(a.to_string());
        values.push(format!("x{a}y"));
        values.push(format!("  {a} padded {a}\\"));
        let b = atoms[(i * 7 + 3) % atoms.len()];
        values.push(format!("{a}{b}{a}"));
    }
    values
}

/// Whether a value (as RomM reads it) may be refused in `.env` lines, and must be in
/// every format.
fn env_line_refusal(v: &str) -> (bool, bool) {
    let everywhere = v.contains(['\n', '\r']);
    let env_lines = everywhere || (v.contains('`') && (v.contains('\'') || v.ends_with('\\')));
    (env_lines, everywhere)
}

#[test]
fn generated_corpus_reads_back_in_every_format_or_is_refused() {
    let sb = Sandbox::new();
    let mut fails: Vec<String> = Vec::new();
    let mut yaml_docs: Vec<(String, String)> = Vec::new();
    let corpus = quoting_corpus();
    let mut carried = 0;
    for value in &corpus {
        let expect = value.trim();
        if expect.is_empty() {
            continue;
        }
        let (refuse_lines, refuse_all) = env_line_refusal(expect);
        let args = Args::valid().set("--client-secret", value);
        for fmt in ["dotenv", "shell", "compose", "json"] {
            let r = emit(&sb, &args, &["--format", fmt, "--force"], &[]);
            let must_refuse = refuse_all || (refuse_lines && (fmt == "dotenv" || fmt == "shell"));
            if must_refuse {
                if r.code != 2 || !r.stdout.is_empty() || !r.stderr.contains("OIDC_CLIENT_SECRET") {
                    fails.push(format!(
                        "{value:?} --format {fmt}: must be refused:\n{}",
                        r.show()
                    ));
                }
                continue;
            }
            if r.code != 0 {
                fails.push(format!("{value:?} --format {fmt}: refused:\n{}", r.show()));
                continue;
            }
            carried += 1;
            let what = format!("{value:?} --format {fmt}");
            match fmt {
                "dotenv" | "shell" => {
                    let file = format!("corpus.{fmt}");
                    std::fs::write(sb.path().join(&file), &r.stdout).unwrap();
                    check_read(
                        &mut fails,
                        expect,
                        &format!("{what} via compose's rules"),
                        parse_map(&r.stdout).and_then(|m| {
                            m.get("OIDC_CLIENT_SECRET").cloned().ok_or("no key".into())
                        }),
                    );
                    check_read(
                        &mut fails,
                        expect,
                        &format!("{what} via sh"),
                        sh_read(sb.path(), &file, "OIDC_CLIENT_SECRET", fmt == "dotenv"),
                    );
                }
                "compose" => {
                    check_read(
                        &mut fails,
                        expect,
                        &format!("{what} via the YAML subset"),
                        compose_secret(&r.stdout),
                    );
                    yaml_docs.push((expect.to_string(), r.stdout.clone()));
                }
                _ => check_read(
                    &mut fails,
                    expect,
                    &what,
                    Ok(json_map(&r)
                        .get("OIDC_CLIENT_SECRET")
                        .cloned()
                        .unwrap_or_default()),
                ),
            }
        }
        // --write into an existing file: the new value reads back, the rest stays.
        let target = sb.file(
            "corpus.env",
            "DB_HOST=mariadb # db\nOIDC_CLIENT_SECRET=old\nTAIL='t'\n",
        );
        let r = emit(
            &sb,
            &args.clone().set("--write", &target.to_string_lossy()),
            &["--force"],
            &[],
        );
        let written = std::fs::read_to_string(&target).unwrap();
        if refuse_lines {
            if r.code != 2 || !written.contains("OIDC_CLIENT_SECRET=old\n") {
                fails.push(format!(
                    "{value:?} --write: must be refused untouched:\n{}",
                    r.show()
                ));
            }
            continue;
        }
        match parse_map(&written) {
            Ok(m) => {
                for (k, v) in [
                    ("OIDC_CLIENT_SECRET", expect),
                    ("DB_HOST", "mariadb"),
                    ("TAIL", "t"),
                ] {
                    if m.get(k).map(String::as_str) != Some(v) {
                        fails.push(format!(
                            "{value:?} --write: {k} reads {:?}:\n{written}",
                            m.get(k)
                        ));
                    }
                }
            }
            Err(e) => fails.push(format!(
                "{value:?} --write: compose refuses the result ({e}):\n{written}"
            )),
        }
    }
    // PyYAML, when installed, reads every compose block the way compose's YAML reader would.
    if let Some(results) =
        python_yaml_secrets(&yaml_docs.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>())
    {
        for ((expect, doc), got) in yaml_docs.iter().zip(results) {
            check_read(
                &mut fails,
                expect,
                &format!("PyYAML + $$ rule on {doc:?}"),
                got,
            );
        }
    }
    assert!(
        carried > 4 * 100,
        "too little of the corpus was carried: {carried}"
    );
    assert!(
        fails.is_empty(),
        "{} failures:\n{}",
        fails.len(),
        fails.join("\n")
    );
}

// ------------------------------------------------------------------------------------
// Settings sources

#[test]
fn flags_beat_environment_which_beats_env_file() {
    // --force: this test is about which source wins; the checks' view of a file whose
    // values are overridden is tested in static_checks.rs.
    let sb = Sandbox::new();
    let content = full_env(&[
        ("OIDC_CLIENT_ID", "file-id"),
        ("OIDC_CLIENT_SECRET", "file-secret-000"),
        ("OIDC_PROVIDER", "authelia"),
        ("OIDC_CLAIM_ROLES", "file-groups"),
        ("OIDC_ROLE_ADMIN", "file-admins"),
    ]);
    let f = sb.file("romm.env", content);
    let args = Args::new()
        .set("--client-id", "flag-id")
        .set("--role-admin", "flag-admins")
        .set("--env-file", &f.to_string_lossy());
    let env = [
        ("OIDC_CLIENT_ID", "env-id"),
        ("OIDC_CLIENT_SECRET", "env-secret-000"),
        ("OIDC_ROLE_ADMIN", "env-admins"),
    ];
    let r = emit(&sb, &args, &["--format", "json", "--force"], &env);
    assert_eq!(r.code, 0, "{}", r.show());
    let m = json_map(&r);
    assert_eq!(
        m["OIDC_CLIENT_ID"], "flag-id",
        "flag beats environment and file"
    );
    assert_eq!(
        m["OIDC_ROLE_ADMIN"], "flag-admins",
        "flag beats environment and file"
    );
    assert_eq!(
        m["OIDC_CLIENT_SECRET"], "env-secret-000",
        "environment beats file"
    );
    assert_eq!(
        m["OIDC_CLAIM_ROLES"], "file-groups",
        "the file is used when nothing else is set"
    );
    assert_eq!(
        m["OIDC_PROVIDER"], "authelia",
        "--provider's default must not hide the file's value"
    );
}

#[test]
fn provider_default_applies_only_when_nothing_is_set() {
    let sb = Sandbox::new();
    let args = Args::valid();
    let m = json_map(&emit_ok(
        &sb,
        &args,
        &["--format", "json"],
        &[("OIDC_PROVIDER", "keycloak")],
    ));
    assert_eq!(
        m["OIDC_PROVIDER"], "keycloak",
        "the environment beats the built-in default"
    );
    let m = json_map(&emit_ok(
        &sb,
        &args.clone().set("--provider", "zitadel"),
        &["--format", "json"],
        &[("OIDC_PROVIDER", "keycloak")],
    ));
    assert_eq!(m["OIDC_PROVIDER"], "zitadel");
}

#[test]
fn empty_values_count_as_unset() {
    // (Whether an empty environment variable hides the file's value is left open: RomM's
    // own load_dotenv does not override a variable that is set, even to "".)
    let sb = Sandbox::new();
    let content = full_env(&[("OIDC_CLIENT_ID", "file-id"), ("OIDC_ROLE_ADMIN", "")]);
    let f = sb.file("romm.env", content);
    let args = Args::new().set("--env-file", &f.to_string_lossy());
    let env = [("OIDC_ROLE_VIEWER", ""), ("OIDC_AUTOLOGIN", "   ")];
    let r = emit(&sb, &args, &["--format", "json", "--force"], &env);
    assert_eq!(r.code, 0, "{}", r.show());
    let m = json_map(&r);
    assert_eq!(m["OIDC_CLIENT_ID"], "file-id");
    assert!(
        !m.contains_key("OIDC_ROLE_ADMIN"),
        "an empty file value is unset: {m:?}"
    );
    assert!(
        !m.contains_key("OIDC_ROLE_VIEWER"),
        "an empty environment value is unset: {m:?}"
    );
    assert!(
        !m.contains_key("OIDC_AUTOLOGIN"),
        "a blank value is unset: {m:?}"
    );
}

#[test]
fn environment_values_are_stripped_but_quotes_are_kept() {
    let sb = Sandbox::new();
    let args = Args::valid().unset("--client-id");
    let m = json_map(&emit_ok(
        &sb,
        &args,
        &["--format", "json"],
        &[("OIDC_CLIENT_ID", "  spaced-id \t")],
    ));
    assert_eq!(m["OIDC_CLIENT_ID"], "spaced-id");
    // RomM does not remove quotes: with --force the block shows what RomM would read.
    let r = emit(
        &sb,
        &args,
        &["--format", "json", "--force"],
        &[("OIDC_CLIENT_ID", "\"romm\"")],
    );
    assert_eq!(r.code, 0, "{}", r.show());
    assert_eq!(json_map(&r)["OIDC_CLIENT_ID"], "\"romm\"");
}

#[test]
fn client_secret_file_is_read_and_stripped() {
    let sb = Sandbox::new();
    let f = sb.file("secret", "File$ecret-'q'-42\n");
    let args = Args::valid()
        .unset("--client-secret")
        .set("--client-secret-file", &f.to_string_lossy());
    let m = json_map(&emit_ok(&sb, &args, &["--format", "json"], &[]));
    assert_eq!(m["OIDC_CLIENT_SECRET"], "File$ecret-'q'-42");
}

/// Every OIDC_* value the CLI reads from `content` must equal what the independent
/// compose reader gives (then stripped like RomM; empty = unset).
fn assert_env_file_read_like_compose(content: &str) {
    let sb = Sandbox::new();
    let f = sb.file("romm.env", content);
    let args = Args::new().set("--env-file", &f.to_string_lossy());
    let r = emit(&sb, &args, &["--format", "json", "--force"], &[]);
    assert_eq!(r.code, 0, "{}", r.show());
    let got = json_map(&r);
    let want: HashMap<String, String> = parse_map(content)
        .expect("fixture parses")
        .into_iter()
        .filter(|(k, v)| k.starts_with("OIDC_") && !v.trim().is_empty())
        .map(|(k, v)| (k, v.trim().to_string()))
        .collect();
    for (k, v) in &want {
        assert_eq!(
            got.get(k),
            Some(v),
            "{k}: file {content:?}\nCLI read {got:?}"
        );
    }
    for k in got.keys() {
        assert!(
            want.contains_key(k) || k == "OIDC_ENABLED" || k == "OIDC_PROVIDER",
            "{k} was emitted but is not set in the file: {got:?}"
        );
    }
}

const COMPOSE_RULES_ENV: &str = r#"# RomM .env
ISSUER=https://id.example.com
ATTR=email

OIDC_ENABLED=true
OIDC_SERVER_APPLICATION_URL="${ISSUER}"
OIDC_REDIRECT_URI=https://romm.example.com/api/oauth/openid   # inline comment
export OIDC_CLIENT_ID=romm-client
OIDC_CLIENT_SECRET="dq \$HOME \"x\" a\\b ${ATTR}"
OIDC_ROLE_ADMIN='sq $ATTR \n lit'
OIDC_ROLE_EDITOR=a#b
OIDC_ROLE_VIEWER: yaml-style
OIDC_USERNAME_ATTRIBUTE=$ATTR
OIDC_CLAIM_ROLES =   groups
OIDC_END_SESSION_ENDPOINT='https://id.example.com/api/oidc/end-session' # trailing comment
"#;

#[test]
fn env_file_is_read_with_compose_rules() {
    assert_env_file_read_like_compose(COMPOSE_RULES_ENV);
}

#[test]
fn env_file_with_crlf_line_endings_is_read_with_compose_rules() {
    assert_env_file_read_like_compose(&COMPOSE_RULES_ENV.replace('\n', "\r\n"));
}

#[test]
fn env_file_with_a_bom_odd_names_and_escapes_is_read_with_compose_rules() {
    // A byte-order mark, names with `.`, `-` and `[ ]`, an unknown escape kept with its
    // backslash, `\\` before the closing quote, octal, `$` forms compose keeps literal.
    assert_env_file_read_like_compose(
        "\u{feff}# exported from an editor that writes a BOM\n\
         romm.host-name=romm\n\
         list[0]=a\n\
         IDP=https://id.example.com\n\
         OIDC_ENABLED=true\n\
         OIDC_CLIENT_SECRET=\"a\\tb\\qc\\\\\"\n\
         OIDC_CLIENT_ID=\"\\0162omm\\c\"\n\
         OIDC_SERVER_APPLICATION_URL=${IDP:-https://fallback.example.com}\n\
         OIDC_ROLE_ADMIN=a $ b $1 $}\n\
         OIDC_ROLE_VIEWER=\\$UNSET_ROMM_OIDC_TEST\n\
         OIDC_CLAIM_ROLES= # not a comment\n\
         OIDC_USERNAME_ATTRIBUTE='x' OIDC_ROLE_EDITOR=\"same line\"\n",
    );
}

#[test]
fn env_file_interpolation_uses_the_environment_first_and_no_later_line() {
    let sb = Sandbox::new();
    let f = sb.file(
        "romm.env",
        full_env(&[
            ("OIDC_SERVER_APPLICATION_URL", "${IDP}"),
            ("OIDC_CLIENT_ID", "${CLIENT:-dflt}"),
            ("IDP", "https://late.example.com"),
        ]),
    );
    let args = Args::new().set("--env-file", &f.to_string_lossy());
    let r = emit(&sb, &args, &["--format", "json", "--force"], &[]);
    let m = json_map(&r);
    assert_eq!(
        m.get("OIDC_SERVER_APPLICATION_URL"),
        None,
        "${{IDP}} is empty where it is used: IDP is set only below\n{}",
        r.show()
    );
    assert_eq!(m["OIDC_CLIENT_ID"], "dflt");
    let r = emit(
        &sb,
        &args,
        &["--format", "json", "--force"],
        &[("IDP", "https://env.example.com"), ("CLIENT", "c")],
    );
    let m = json_map(&r);
    assert_eq!(m["OIDC_SERVER_APPLICATION_URL"], "https://env.example.com");
    assert_eq!(m["OIDC_CLIENT_ID"], "c");
}

#[test]
fn refusal_names_every_bad_env_file_line_with_its_text() {
    let sb = Sandbox::new();
    let content = format!(
        "{}BROKEN NAME\nOIDC_CLIENT_SECRET=\"s3cr3t-unclosed\nOTHER=x\nBAD%=1\n",
        full_env(&[])
    );
    let f = sb.file("romm.env", &content);
    let r = emit(
        &sb,
        &Args::new().set("--env-file", &f.to_string_lossy()),
        &[],
        &[],
    );
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stdout.is_empty(), "{}", r.show());
    for (line, text) in [
        (6, "`BROKEN NAME`"),
        (7, "`OIDC_CLIENT_SECRET="),
        (9, "`BAD%`"),
    ] {
        assert!(
            r.stderr.contains(&format!("romm.env:{line}: ")) && r.stderr.contains(text),
            "line {line} ({text}) must be named with its text:\n{}",
            r.show()
        );
    }
    assert!(
        !r.stderr.contains("s3cr3t"),
        "the secret's text must not be shown:\n{}",
        r.show()
    );
}

#[test]
fn env_file_single_quotes_keep_inner_double_quotes() {
    // `KEY='"v"'` leaves `"v"` (romm#2732's root cause).
    assert_env_file_read_like_compose("OIDC_CLIENT_ID='\"romm\"'\nOIDC_PROVIDER=\"pocket-id\"\n");
}

// ------------------------------------------------------------------------------------
// --write

fn write_args(sb: &Sandbox, target: &Path) -> Args {
    let _ = sb;
    Args::valid().set("--write", &target.to_string_lossy())
}

fn dir_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn write_creates_a_new_file_with_mode_0600_holding_the_block() {
    let sb = Sandbox::new();
    let target = sb.path().join("new.env");
    let r = emit_ok(&sb, &write_args(&sb, &target), &[], &[]);
    assert!(
        !r.stdout.contains(SECRET),
        "--write must not print the block on stdout:\n{}",
        r.show()
    );
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a new env file holds a secret: mode {mode:o}");
    let written = parse_map(&std::fs::read_to_string(&target).unwrap()).unwrap();
    let printed = dotenv_map(&emit_ok(&sb, &Args::valid(), &[], &[]));
    assert_eq!(
        written, printed,
        "the file must hold the same block as stdout would"
    );
    assert_eq!(
        dir_names(sb.path()),
        vec!["new.env".to_string()],
        "no stray temporary files"
    );
}

/// Splits into lines, each keeping its terminator.
fn split_keep(s: &str) -> Vec<&str> {
    s.split_inclusive('\n').collect()
}

fn strip_eol(l: &str) -> &str {
    l.strip_suffix("\r\n")
        .or_else(|| l.strip_suffix('\n'))
        .unwrap_or(l)
}

/// The key a line assigns (compose rules), if any.
fn line_key(l: &str) -> Option<String> {
    let t = l.trim();
    if t.is_empty() || t.starts_with('#') {
        return None;
    }
    parse(l).ok().and_then(|e| e.first().map(|e| e.key.clone()))
}

#[test]
fn write_merges_in_place_keeping_every_other_line_byte_for_byte() {
    let sb = Sandbox::new();
    let original = "# RomM settings ✓\r\n\
DB_HOST=mariadb\r\n\
\r\n\
# OIDC_CLIENT_ID=commented-out\r\n\
export OIDC_CLIENT_ID=old-client\r\n\
GREETING=\"héllo wörld ✓ 日本\"\r\n\
OIDC_AUTOLOGIN=true   # keep me\r\n\
OIDC_SERVER_APPLICATION_URL=https://old.example.com/authorize\r\n\
  \t\r\n\
ROMM_BASE_URL=https://romm.example.com";
    let target = sb.file(".env", original);
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let r = emit_ok(&sb, &write_args(&sb, &target), &[], &[]);
    assert!(!r.stdout.contains(SECRET), "{}", r.show());
    let result = std::fs::read_to_string(&target).unwrap();
    let before = split_keep(original);
    let after = split_keep(&result);
    assert!(
        after.len() > before.len(),
        "missing keys must be appended:\n{result}"
    );
    let replaced = ["OIDC_CLIENT_ID", "OIDC_SERVER_APPLICATION_URL"];
    for (i, b) in before.iter().enumerate() {
        let a = after[i];
        match line_key(b) {
            Some(k) if replaced.contains(&k.as_str()) => {
                assert_eq!(
                    line_key(a).as_deref(),
                    Some(k.as_str()),
                    "line {i} ({k}) must be replaced in place:\n{result}"
                );
            }
            _ if i == before.len() - 1 => {
                // the last line had no newline; its text stays, a line break may follow
                assert_eq!(strip_eol(a), *b, "last line changed:\n{result:?}");
                assert!(
                    a.ends_with('\n'),
                    "appended keys must start on their own line:\n{result:?}"
                );
            }
            _ => assert_eq!(
                a, *b,
                "line {i} must be byte-for-byte the same:\n{result:?}"
            ),
        }
    }
    // appended: exactly the keys the file lacked, after every original line
    let mut appended: Vec<String> = after[before.len()..]
        .iter()
        .filter_map(|l| line_key(l))
        .collect();
    appended.sort();
    let mut want = vec![
        "OIDC_CLIENT_SECRET",
        "OIDC_ENABLED",
        "OIDC_PROVIDER",
        "OIDC_REDIRECT_URI",
    ];
    want.sort();
    assert_eq!(appended, want, "appended keys:\n{result}");
    // each key assigned once; values as RomM will read them
    let entries =
        parse(&result).unwrap_or_else(|e| panic!("result is not a valid .env ({e}):\n{result}"));
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for e in &entries {
        *counts.entry(e.key.as_str()).or_default() += 1;
    }
    assert!(
        counts.values().all(|&n| n == 1),
        "duplicate keys: {counts:?}\n{result}"
    );
    let m = parse_map(&result).unwrap();
    for (k, v) in expected_core(&Args::valid()) {
        assert_eq!(m.get(k), Some(&v), "{k}:\n{result}");
    }
    assert_eq!(m["DB_HOST"], "mariadb");
    assert_eq!(m["GREETING"], "héllo wörld ✓ 日本");
    assert_eq!(m["OIDC_AUTOLOGIN"], "true");
    assert_eq!(m["ROMM_BASE_URL"], "https://romm.example.com");
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "an existing file keeps its mode");
}

#[test]
fn write_is_atomic_keeps_mode_and_leaves_no_temporary_files() {
    let sb = Sandbox::new();
    let target = sb.file("romm.env", "DB_HOST=mariadb\nOIDC_CLIENT_ID=old\n");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let ino = std::fs::metadata(&target).unwrap().ino();
    emit_ok(&sb, &write_args(&sb, &target), &[], &[]);
    let meta = std::fs::metadata(&target).unwrap();
    assert_ne!(
        meta.ino(),
        ino,
        "the file must be replaced by rename (new inode), not rewritten in place"
    );
    assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    assert_eq!(
        dir_names(sb.path()),
        vec!["romm.env".to_string()],
        "stray files left behind"
    );
}

#[test]
fn write_is_idempotent() {
    let sb = Sandbox::new();
    let target = sb.file("romm.env", "# c\nDB_HOST=mariadb\nOIDC_CLIENT_ID=old\n");
    emit_ok(&sb, &write_args(&sb, &target), &[], &[]);
    let first = std::fs::read(&target).unwrap();
    emit_ok(&sb, &write_args(&sb, &target), &[], &[]);
    let second = std::fs::read(&target).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&first),
        String::from_utf8_lossy(&second),
        "writing the same settings twice must not change the file"
    );
}

#[test]
fn write_recognises_export_and_yaml_style_keys() {
    let sb = Sandbox::new();
    let original =
        "export OIDC_PROVIDER=authelia\nOIDC_CLIENT_ID: old-client\n   OIDC_ENABLED = false\n";
    let target = sb.file("romm.env", original);
    emit_ok(&sb, &write_args(&sb, &target), &[], &[]);
    let result = std::fs::read_to_string(&target).unwrap();
    let entries = parse(&result).unwrap_or_else(|e| panic!("{e}:\n{result}"));
    for k in ["OIDC_PROVIDER", "OIDC_CLIENT_ID", "OIDC_ENABLED"] {
        let n = entries.iter().filter(|e| e.key == k).count();
        assert_eq!(
            n, 1,
            "{k} must be replaced in place, not duplicated:\n{result}"
        );
    }
    let lines = split_keep(&result);
    assert_eq!(
        line_key(lines[0]).as_deref(),
        Some("OIDC_PROVIDER"),
        "{result}"
    );
    assert_eq!(
        line_key(lines[1]).as_deref(),
        Some("OIDC_CLIENT_ID"),
        "{result}"
    );
    assert_eq!(
        line_key(lines[2]).as_deref(),
        Some("OIDC_ENABLED"),
        "{result}"
    );
    let m = parse_map(&result).unwrap();
    assert_eq!(m["OIDC_PROVIDER"], "pocket-id");
    assert_eq!(m["OIDC_CLIENT_ID"], "romm-client");
    assert_eq!(m["OIDC_ENABLED"], "true");
}

#[test]
fn write_hard_values_read_back_through_sh_and_compose() {
    let sb = Sandbox::new();
    let secret = "p@ss w0rd' \"q\" $HOME ${X} #c \\d=e é";
    let target = sb.file(
        "romm.env",
        "# keep\nDB_HOST=mariadb\nOIDC_CLIENT_SECRET='old'\n",
    );
    let args = write_args(&sb, &target).set("--client-secret", secret);
    emit_ok(&sb, &args, &[], &[]);
    let result = std::fs::read_to_string(&target).unwrap();
    let m = parse_map(&result).unwrap_or_else(|e| panic!("{e}:\n{result}"));
    assert_eq!(
        m["OIDC_CLIENT_SECRET"], secret,
        "compose reading:\n{result}"
    );
    assert_eq!(
        sh_read(sb.path(), "romm.env", "OIDC_CLIENT_SECRET", true).as_deref(),
        Ok(secret),
        "sh reading:\n{result}"
    );
    assert_eq!(
        sh_read(sb.path(), "romm.env", "DB_HOST", true).as_deref(),
        Ok("mariadb")
    );
}

#[track_caller]
fn assert_write_refused_untouched(sb: &Sandbox, target: &Path, args: &Args) {
    let before = std::fs::symlink_metadata(target).ok();
    let bytes = std::fs::read(target).ok();
    let names = dir_names(sb.path());
    let r = emit(sb, args, &[], &[]);
    assert_eq!(r.code, 2, "must refuse with exit 2:\n{}", r.show());
    assert!(
        !r.stderr.trim().is_empty(),
        "must say why on stderr:\n{}",
        r.show()
    );
    assert!(!r.stdout.contains(SECRET), "{}", r.show());
    assert_eq!(
        std::fs::read(target).ok(),
        bytes,
        "the file must be untouched"
    );
    let after = std::fs::symlink_metadata(target).ok();
    assert_eq!(
        before.as_ref().map(|m| m.ino()),
        after.as_ref().map(|m| m.ino()),
        "the file was replaced"
    );
    assert_eq!(
        before.as_ref().map(|m| m.mode()),
        after.as_ref().map(|m| m.mode()),
        "the mode changed"
    );
    assert_eq!(
        dir_names(sb.path()),
        names,
        "no file may be created or left behind"
    );
}

#[test]
fn write_refuses_a_directory() {
    let sb = Sandbox::new();
    let d = sb.path().join("envdir");
    std::fs::create_dir(&d).unwrap();
    assert_write_refused_untouched(&sb, &d, &write_args(&sb, &d));
    assert_eq!(
        std::fs::read_dir(&d).unwrap().count(),
        0,
        "nothing may be written inside the directory"
    );
}

#[test]
fn write_keeps_the_bytes_of_a_value_that_reads_the_same() {
    // compose reads `"a\tb\qc…"` as a, tab, b, backslash, q, c…: merging the block read from
    // the same file must leave that line byte for byte (an earlier reader took it for
    // `atbqc…` and silently rewrote the secret).
    let sb = Sandbox::new();
    let secret_line = "OIDC_CLIENT_SECRET=\"a\\tb\\qc-Xk93-pQ7z\"  # from Pocket ID";
    let content = full_env(&[("OIDC_CLIENT_ID", "\"romm-client\"")])
        .replace(&format!("OIDC_CLIENT_SECRET={SECRET}"), secret_line);
    let target = sb.file("romm.env", &content);
    let path = target.to_string_lossy().to_string();
    let args = Args::new()
        .set("--env-file", &path)
        .set("--write", &path)
        .set("--romm-url", "https://romm.example.com");
    let r = emit(&sb, &args, &[], &[]);
    assert_eq!(r.code, 0, "{}", r.show());
    let after = std::fs::read_to_string(&target).unwrap();
    for line in content.lines() {
        assert!(
            after.lines().any(|l| l == line),
            "line {line:?} must stay byte for byte:\n{after}"
        );
    }
    let m = parse_map(&after).unwrap();
    assert_eq!(m["OIDC_CLIENT_SECRET"], "a\tb\\qc-Xk93-pQ7z");
}

#[test]
fn write_keeps_what_compose_reads_from_unterminated_trailing_text() {
    // Text at the very end without a line break and without `=` is, for compose, the value
    // of an empty name; new lines go before it so that it stays so.
    let sb = Sandbox::new();
    let target = sb.file("romm.env", "DB_HOST=mariadb\nLONE NAME");
    let before = parse_map(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(before.get(""), Some(&"LONE NAME".to_string()));
    emit_ok(&sb, &write_args(&sb, &target), &[], &[]);
    let after = std::fs::read_to_string(&target).unwrap();
    let m = parse_map(&after).unwrap_or_else(|e| panic!("{e}:\n{after}"));
    assert_eq!(m.get(""), before.get(""), "{after}");
    assert_eq!(m["OIDC_CLIENT_SECRET"], SECRET);
    assert!(
        after.starts_with("DB_HOST=mariadb\n") && after.ends_with("\nLONE NAME"),
        "{after}"
    );
}

#[test]
fn write_refuses_a_binary_file() {
    let sb = Sandbox::new();
    let target = sb.file("romm.env", b"OIDC_CLIENT_ID=old\n\x00\x01\x02ELF\x00\x00\n");
    assert_write_refused_untouched(&sb, &target, &write_args(&sb, &target));
}

#[test]
fn write_refuses_invalid_utf8() {
    let sb = Sandbox::new();
    let target = sb.file("romm.env", b"GREETING=h\xe9llo\nOIDC_CLIENT_ID=old\n");
    assert_write_refused_untouched(&sb, &target, &write_args(&sb, &target));
}

#[test]
fn write_refuses_a_line_compose_cannot_parse() {
    let sb = Sandbox::new();
    for content in [
        "DB_HOST=mariadb\nGREETING='unterminated\nOIDC_CLIENT_ID=old\n",
        "OIDC_CLIENT_SECRET=\"open\n",
    ] {
        assert!(
            parse(content).is_err(),
            "fixture must be invalid for compose: {content:?}"
        );
        let target = sb.file("romm.env", content);
        assert_write_refused_untouched(&sb, &target, &write_args(&sb, &target));
    }
    // Every bad line is named with its text; a secret's value is not shown.
    let target = sb.file(
        "romm.env",
        "A B=1\nOIDC_CLIENT_SECRET=\"s3cr3t-value\nC=${ bad}\n",
    );
    let r = emit(&sb, &write_args(&sb, &target), &[], &[]);
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stderr.contains("romm.env:1: `A B`"), "{}", r.show());
    assert!(
        r.stderr.contains("romm.env:2: `OIDC_CLIENT_SECRET="),
        "{}",
        r.show()
    );
    assert!(r.stderr.contains("romm.env:3: `C=${ bad}`"), "{}", r.show());
    assert!(!r.stderr.contains("s3cr3t"), "{}", r.show());
}

#[test]
fn write_refuses_an_unreadable_file() {
    let sb = Sandbox::new();
    // chmod 000: effective only when the tests do not run with root's override.
    let target = sb.file("locked.env", "OIDC_CLIENT_ID=old\n");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&target).is_err() {
        assert_write_refused_untouched(&sb, &target, &write_args(&sb, &target));
    } else {
        eprintln!(
            "note: running as root, chmod 000 does not stop reads; using a symlink loop instead"
        );
    }
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    // A path that cannot be opened even by root: a symlink that points at itself (ELOOP).
    // It must not be mistaken for a missing file and replaced by a new one.
    let looped = sb.path().join("loop.env");
    std::os::unix::fs::symlink(&looped, &looped).unwrap();
    assert!(std::fs::read(&looped).is_err());
    assert_write_refused_untouched(&sb, &looped, &write_args(&sb, &looped));
    assert!(
        std::fs::symlink_metadata(&looped)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the symlink was replaced"
    );
}

#[test]
fn write_refuses_when_a_check_fails() {
    let sb = Sandbox::new();
    let target = sb.file("romm.env", "DB_HOST=mariadb\nOIDC_CLIENT_ID=old\n");
    let args = write_args(&sb, &target).set("--issuer", "https://id.example.com/authorize");
    assert_write_refused_untouched(&sb, &target, &args);
    // and no new file is created
    let missing = sb.path().join("new.env");
    let args = write_args(&sb, &missing).set("--issuer", "https://id.example.com/authorize");
    let r = emit(&sb, &args, &[], &[]);
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(
        !missing.exists(),
        "a refused --write must not create the file"
    );
}

#[test]
fn write_refuses_a_value_it_cannot_carry() {
    let sb = Sandbox::new();
    let target = sb.file("romm.env", "DB_HOST=mariadb\n");
    let args = write_args(&sb, &target).set("--client-secret", "line1\nline2");
    assert_write_refused_untouched(&sb, &target, &args);
}
