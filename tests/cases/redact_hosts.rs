//! `doctor --redact-hosts`: a run with known secrets, host names and email
//! addresses, in every output mode (text, `--json`, `--format markdown`;
//! stdout and stderr; plain, `-v`, `-vv`), shows none of them — in any case,
//! JSON-escaped or percent-encoded — and shows their placeholders instead.
//! The same run without the flag shows every one of them, so the inputs do
//! reach the output and the search can fail.
//!
//! The hosts come from every kind of source: the settings (the callback
//! URL), RomM's env file (`ROMM_BASE_URL`, a proxy, `NO_PROXY`), and the
//! provider (a discovery document whose issuer is `https://id.mydomain.com`,
//! an ID token whose `iss` is another host). The emails come from `--email`,
//! the token's claims, RomM's users and Pocket ID's users.

use pocket_id_emulator::{
    Config, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Faults, TokenFault, WRONG_TOKEN_ISSUER,
};

use crate::support::everything::{Everything, GIVEN};
use crate::support::prelude::*;
use crate::support::report::piece_of;

const ISSUER: &str = "https://id.mydomain.com";

/// RomM's env file: other variables RomM reads, naming hosts.
const ENV_FILE: &str = "\
ROMM_BASE_URL=https://romm.example.com
HTTPS_PROXY=http://proxy.johnsmith.duckdns.org:3128
NO_PROXY=localhost,127.0.0.1,nas.johnsmith.duckdns.org
";

/// Every name and address the run knows that must not be shown.
fn known() -> Vec<String> {
    let token_issuer = WRONG_TOKEN_ISSUER
        .strip_prefix("https://")
        .expect("an https URL");
    [
        "romm.example.com",
        "example.com",
        "id.mydomain.com",
        "mydomain.com",
        "johnsmith.duckdns.org",
        token_issuer,
        "alice@example.com",
        "admin@example.com",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The forms a name or address can take in output: as it is, JSON-escaped,
/// percent-encoded (`@` as `%40`); all compared in lower case.
fn forms(text: &str) -> Vec<String> {
    let json = serde_json::to_string(text).unwrap();
    vec![
        text.to_lowercase(),
        json.trim_matches('"').to_lowercase(),
        text.replace('@', "%40").to_lowercase(),
    ]
}

fn shown_in(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    known()
        .iter()
        .flat_map(|k| forms(k))
        .filter(|form| lower.contains(form.as_str()))
        .collect()
}

fn doctor(sb: &Sandbox, e: &Everything, mode: &[&str]) -> Run {
    let env_file = sb.file("romm.env", ENV_FILE);
    let args = e
        .doctor(sb.path())
        .set("--env-file", &env_file.to_string_lossy());
    let mut sub = vec!["doctor", "--timeout", "5"];
    sub.extend_from_slice(mode);
    e.pocket_id.clear_requests();
    let run = sandbox::run(sb, &sub, &args, &Everything::env());
    assert!(
        run.code == 0 || run.code == 1,
        "doctor {mode:?}:\n{}",
        run.show()
    );
    for id in [
        "login.id-token",
        "romm.users",
        "pocketid.users",
        "discovery.issuer",
    ] {
        assert!(
            run.stdout.contains(id),
            "doctor {mode:?}: no {id}:\n{}",
            run.show()
        );
    }
    run
}

#[test]
fn redact_hosts_shows_no_known_host_email_or_secret_in_any_output_mode() {
    let e = Everything::with_faults(Faults {
        wrong_issuer: Some(ISSUER.into()),
        id_token: Some(TokenFault::WrongIssuer),
        ..Faults::default()
    });
    let sb = Sandbox::new();
    // Without the flag, every known name reaches the output (-vv shows the
    // requests, markdown the env file's variables).
    let plain = doctor(&sb, &e, &["--format", "markdown", "-vv"]);
    let all = format!("{}{}", plain.stdout, plain.stderr).to_lowercase();
    for k in known() {
        assert!(
            all.contains(&k),
            "{k} is not in a run without --redact-hosts:\n{}",
            plain.show()
        );
    }
    let modes: &[&[&str]] = &[
        &[],
        &["-v"],
        &["-vv"],
        &["--json"],
        &["--json", "-vv"],
        &["--format", "markdown"],
        &["--format", "markdown", "-vv"],
    ];
    for mode in modes {
        let mut with = mode.to_vec();
        with.push("--redact-hosts");
        let run = doctor(&sb, &e, &with);
        for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            let shown = shown_in(text);
            assert!(
                shown.is_empty(),
                "doctor {with:?} {stream} shows {shown:?}:\n{text}"
            );
            let mut secrets: Vec<String> = GIVEN.iter().map(|s| s.to_string()).collect();
            secrets.extend(e.issued());
            for secret in &secrets {
                assert_eq!(
                    piece_of(secret, text),
                    None,
                    "doctor {with:?} {stream}:\n{text}"
                );
            }
        }
        // The placeholders stand where the names were, the labels left of
        // the registrable domain kept.
        let both = format!("{}{}", run.stdout, run.stderr);
        for placeholder in ["romm.example-", "id.example-", "@example-"] {
            assert!(
                both.contains(placeholder),
                "doctor {with:?}: no {placeholder}…:\n{}",
                run.show()
            );
        }
    }
}

/// A provider the doctor reaches by name (a NAS's `.lan` name, which no
/// public suffix list knows, found in `/etc/hosts`): with `--redact-hosts` no
/// output mode shows it or RomM's host, every check of the provider having
/// run against it; without the flag they are shown. Needs root (a mount
/// namespace for the hosts file).
#[test]
fn a_provider_reached_by_name_is_redacted_in_every_output_mode() {
    const NAS: &str = "id.nas.lan";
    let e = emulator::pocket_id(Config {
        app_host: Some(NAS.into()),
        ..Config::default()
    });
    let issuer = e.issuer();
    assert!(issuer.starts_with(&format!("http://{NAS}:")), "{issuer}");
    let sb = Sandbox::new();
    let names = sb.path().join("names");
    std::fs::create_dir_all(names.join("etc")).unwrap();
    let hosts = format!("127.0.0.1\tlocalhost\n127.0.0.1\t{NAS}\n");
    std::fs::write(names.join("etc/hosts"), hosts).unwrap();
    std::fs::write(names.join("etc/resolv.conf"), "nameserver 127.0.0.1\n").unwrap();
    let args = Args::new()
        .set("--issuer", &issuer)
        .set("--client-id", DEFAULT_CLIENT_ID)
        .set("--client-secret", DEFAULT_CLIENT_SECRET)
        .set("--redirect-uri", ROMM_CALLBACK);
    let modes: &[&[&str]] = &[
        &["--json"],
        &["--json", "-vv"],
        &[],
        &["-vv"],
        &["--format", "markdown", "-vv"],
    ];
    for redact in [false, true] {
        for mode in modes {
            let mut c = bin::with_name_files(&names, bin::path());
            bin::in_home(&mut c, sb.path()).plain();
            c.args(["doctor", "--timeout", "5"]).args(*mode);
            if redact {
                c.arg("--redact-hosts");
            }
            let run = process::run(c.args(args.to_vec()), RUN_LIMIT);
            if mode.first() == Some(&"--json") {
                let report: Value = serde_json::from_str(&run.stdout).expect("a JSON report");
                for id in ["discovery.fetch", "jwks.keys", "client.credentials"] {
                    expect_status(&report, id, &["pass"]);
                }
            }
            let both = format!("{}{}", run.stdout, run.stderr).to_lowercase();
            for name in [NAS, "nas.lan", "romm.example.com"] {
                assert_eq!(
                    both.contains(name),
                    !redact,
                    "doctor {mode:?} (--redact-hosts: {redact}) and {name}:\n{}",
                    run.show()
                );
            }
        }
    }
}

/// `explain --redact-hosts`: a log whose failure names the provider's host
/// shows it in every format without the flag, and in none with it.
#[test]
fn explain_redact_hosts_hides_the_hosts_of_romms_log_in_every_format() {
    let log = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/excerpts/romm.log"
    ))
    .unwrap()
    .replace(
        "authlib.integrations.base_client.errors.OAuthError: invalid_client: Client authentication failed.",
        "httpx.HTTPStatusError: Client error '404 Not Found' for url 'https://id.mydomain.com/api/oidc/token'",
    );
    let sb = Sandbox::new();
    let file = sb.file("romm.log", log);
    let file = file.to_string_lossy();
    for format in ["text", "json", "markdown"] {
        for redact in [false, true] {
            let mut c = sb.cmd();
            c.args(["explain", &file, "--format", format]);
            if redact {
                c.arg("--redact-hosts");
            }
            let run = process::run(&mut c, RUN_LIMIT);
            assert_eq!(run.code, 1, "{}", run.show());
            let shown = run.stdout.contains("id.mydomain.com");
            assert_eq!(
                shown,
                !redact,
                "explain --format {format} (redact: {redact}):\n{}",
                run.show()
            );
            assert_eq!(
                run.stdout.contains("id.example-1"),
                redact,
                "{}",
                run.show()
            );
        }
    }
}
