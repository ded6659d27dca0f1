//! Secrets stay secret, in every output mode of every command: runs in which
//! the tool holds the client secret, the Pocket ID API key, a RomM password or
//! client token, and (with `--login`) an authorization code, an ID token and
//! an access token, are searched for every one of them — on stdout and stderr,
//! human, `--json`, `--format markdown`, `-v`, `-vv`. Only `emit-env` (and the wizard printing the
//! block) shows the client secret, once, as the value in the block.
//!
//! A secret counts as shown when any 8 of its characters in a row are (a mask
//! shows 4 at most, and only of a secret of 20 or more).

use crate::support::everything::{
    self, API_KEY, CLIENT_SECRET, Everything, GIVEN, ROMM_PASSWORD, ROMM_TOKEN,
};
use crate::support::prelude::*;
use crate::support::report::piece_of;

#[track_caller]
fn hidden(what: &str, text: &str, secrets: &[String]) {
    for secret in secrets {
        if let Some(piece) = piece_of(secret, text) {
            panic!("{what}: {piece:?} of the secret {secret:?} is shown:\n{text}");
        }
    }
    // No JSON Web Token (header.payload.signature), whatever issued it.
    let jwt = regex::Regex::new(r"eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.").unwrap();
    assert!(!jwt.is_match(text), "{what}: a JWT is shown:\n{text}");
}

fn given() -> Vec<String> {
    GIVEN.iter().map(|s| s.to_string()).collect()
}

/// Both streams of `run`, for a message.
#[track_caller]
fn nothing_shown(what: &str, run: &Run, secrets: &[String]) {
    hidden(&format!("{what} (stdout)"), &run.stdout, secrets);
    hidden(&format!("{what} (stderr)"), &run.stderr, secrets);
}

#[track_caller]
fn doctor(sb: &Sandbox, e: &Everything, args: &Args, mode: &[&str]) -> Run {
    let mut sub = vec!["doctor", "--timeout", "5"];
    sub.extend_from_slice(mode);
    let run = sandbox::run(sb, &sub, args, &Everything::env());
    assert!(
        run.code == 0 || run.code == 1,
        "doctor {mode:?}:\n{}",
        run.show()
    );
    // The run did what it is here for: it signed in and read RomM's users.
    let all = format!("{}{}", run.stdout, run.stderr);
    for id in ["login.token", "romm.users", "pocketid.version"] {
        assert!(
            all.contains(id),
            "doctor {mode:?}: no {id}:\n{}",
            run.show()
        );
    }
    assert!(
        !e.issued().is_empty(),
        "doctor {mode:?}: no code or token was issued"
    );
    run
}

#[test]
fn doctor_shows_no_secret_in_any_output_mode() {
    let e = Everything::start();
    let sb = Sandbox::new();
    let modes: &[&[&str]] = &[
        &[],
        &["--json"],
        &["-v"],
        &["-vv"],
        &["--json", "-vv"],
        &["-vv", "--color", "always"],
        &["--format", "markdown"],
        &["--format", "markdown", "-vv"],
        &["--format", "markdown", "--redact-hosts", "-vv"],
    ];
    for mode in modes {
        e.pocket_id.clear_requests();
        let run = doctor(&sb, &e, &e.doctor(sb.path()), mode);
        let mut secrets = given();
        secrets.extend(e.issued());
        nothing_shown(&format!("doctor {mode:?}"), &run, &secrets);
        // A report to paste shows no part of a secret: masks lose their prefix.
        if mode.contains(&"markdown") {
            let all = format!("{}{}", run.stdout, run.stderr);
            for secret in &secrets {
                let head: String = secret.chars().take(4).collect();
                assert!(
                    !all.contains(&format!("{head}••••")),
                    "doctor {mode:?} shows the first characters of {secret:?}:\n{}",
                    run.show()
                );
            }
            assert!(all.contains("•••• "), "doctor {mode:?}: no mask at all");
        }
    }
}

#[test]
fn doctor_shows_no_secret_read_from_files_stdin_or_the_environment() {
    let e = Everything::start();
    let sb = Sandbox::new();
    let secret_file = sb.file("client-secret", format!("{CLIENT_SECRET}\n"));
    let token_file = sb.file("romm-token", format!("{ROMM_TOKEN}\n"));
    let key_file = sb.file("api-key", API_KEY);
    let password_file = sb.file("romm-password", ROMM_PASSWORD);
    let env_file = sb.file(
        "romm.env",
        format!("OIDC_ENABLED=true\nOIDC_CLIENT_SECRET={CLIENT_SECRET}\n"),
    );
    let path = |p: &std::path::Path| p.to_string_lossy().into_owned();
    let variants = [
        (
            "secret, key and RomM token from files",
            e.doctor(sb.path())
                .unset("--client-secret")
                .set("--client-secret-file", &path(&secret_file))
                .unset("--pocket-id-api-key")
                .set("--pocket-id-api-key-file", &path(&key_file))
                .unset("--romm-username")
                .set("--romm-token-file", &path(&token_file)),
            vec![],
        ),
        (
            "secret from the env file, key from the environment, password from a file",
            e.doctor(sb.path())
                .unset("--client-secret")
                .set("--env-file", &path(&env_file))
                .unset("--pocket-id-api-key")
                .set("--romm-password-file", &path(&password_file)),
            vec![("POCKET_ID_API_KEY", API_KEY)],
        ),
        (
            "secret from the environment",
            e.doctor(sb.path()).unset("--client-secret"),
            vec![("OIDC_CLIENT_SECRET", CLIENT_SECRET)],
        ),
    ];
    for (what, args, env) in variants {
        for mode in [
            &["-vv"][..],
            &["--json", "-vv"],
            &["--format", "markdown", "-vv"],
        ] {
            e.pocket_id.clear_requests();
            let mut sub = vec!["doctor", "--timeout", "5"];
            sub.extend_from_slice(mode);
            let mut all_env = Everything::env();
            all_env.extend(env.iter().copied());
            let run = sandbox::run(&sb, &sub, &args, &all_env);
            assert!(run.code == 0 || run.code == 1, "{what}:\n{}", run.show());
            assert!(
                run.stdout.contains("romm.users") && run.stdout.contains("login.token"),
                "{what}:\n{}",
                run.show()
            );
            let mut secrets = given();
            secrets.extend(e.issued());
            nothing_shown(&format!("{what} {mode:?}"), &run, &secrets);
        }
    }
    // The client secret on stdin.
    let mut c = sb.cmd();
    c.args(["doctor", "--timeout", "5", "-vv"])
        .args(
            e.doctor(sb.path())
                .unset("--client-secret")
                .set("--client-secret-file", "-")
                .to_vec(),
        )
        .envs(Everything::env());
    let run = process::run_with_input(&mut c, format!("{CLIENT_SECRET}\n").as_bytes(), RUN_LIMIT);
    assert!(run.stdout.contains("login.token"), "{}", run.show());
    nothing_shown("secret on stdin", &run, &given());
}

/// The block's secret line in each format, and how many times the secret may
/// appear on stdout (once: as that value).
fn block_line(format: &str) -> String {
    match format {
        "dotenv" => format!("OIDC_CLIENT_SECRET='{CLIENT_SECRET}'"),
        "shell" => format!("export OIDC_CLIENT_SECRET='{CLIENT_SECRET}'"),
        "compose" => format!("OIDC_CLIENT_SECRET: '{CLIENT_SECRET}'"),
        "json" => format!("\"OIDC_CLIENT_SECRET\": \"{CLIENT_SECRET}\""),
        other => panic!("{other}"),
    }
}

#[track_caller]
fn secret_only_in_the_block(what: &str, run: &Run, format: &str) {
    assert_eq!(run.code, 0, "{what}:\n{}", run.show());
    let line = block_line(format);
    assert_eq!(
        run.stdout.matches(CLIENT_SECRET).count(),
        1,
        "{what}: the secret must appear once, as the block's value:\n{}",
        run.show()
    );
    assert!(
        run.stdout.contains(&line),
        "{what}: no {line:?}:\n{}",
        run.show()
    );
    hidden(
        &format!("{what} (stdout without the secret's line)"),
        &run.stdout.replace(&line, ""),
        &given(),
    );
    hidden(&format!("{what} (stderr)"), &run.stderr, &given());
}

#[test]
fn emit_env_prints_the_secret_only_as_the_blocks_value() {
    let e = Everything::start();
    let sb = Sandbox::new();
    let args = e
        .settings()
        .unset("--romm-url")
        .set("--pocket-id-api-key", API_KEY);
    for format in ["dotenv", "compose", "shell", "json"] {
        for verbose in [None, Some("-v"), Some("-vv")] {
            let mut sub = vec!["emit-env", "--format", format];
            sub.extend(verbose);
            let run = sandbox::run(&sb, &sub, &args, &Everything::env());
            secret_only_in_the_block(&format!("emit-env {sub:?}"), &run, format);
        }
    }
    // Written to a file: nothing on the terminal.
    let written = sb.path().join("romm.env");
    let run = sandbox::run(
        &sb,
        &["emit-env", "-vv"],
        &args.clone().set("--write", &written.to_string_lossy()),
        &Everything::env(),
    );
    assert_eq!(run.code, 0, "{}", run.show());
    nothing_shown("emit-env --write", &run, &given());
    let text = std::fs::read_to_string(&written).unwrap();
    assert!(text.contains(CLIENT_SECRET), "{text}");
}

#[test]
fn wizard_yes_shows_no_secret_but_in_the_printed_block() {
    let e = Everything::start();
    let sb = Sandbox::new();
    let secret_file = sb.file("client-secret", CLIENT_SECRET);
    let args = e
        .settings()
        .unset("--romm-url")
        .unset("--client-secret")
        .set("--client-secret-file", &secret_file.to_string_lossy())
        .flag("--yes");
    for verbose in [None, Some("-v"), Some("-vv")] {
        let written = sb.path().join("wizard.env");
        let _ = std::fs::remove_file(&written);
        let mut sub = vec!["wizard"];
        sub.extend(verbose);
        let run = sandbox::run(
            &sb,
            &sub,
            &args.clone().set("--write", &written.to_string_lossy()),
            &Everything::env(),
        );
        assert_eq!(run.code, 0, "wizard {sub:?}:\n{}", run.show());
        nothing_shown(&format!("wizard --write {sub:?}"), &run, &given());
        assert!(
            std::fs::read_to_string(&written)
                .unwrap()
                .contains(CLIENT_SECRET)
        );
        let run = sandbox::run(
            &sb,
            &sub,
            &args.clone().set("--format", "dotenv"),
            &Everything::env(),
        );
        secret_only_in_the_block(&format!("wizard --format dotenv {sub:?}"), &run, "dotenv");
    }
    // With the API key the wizard repairs the client and creates a secret:
    // neither the key nor the new secret is shown.
    let written = sb.path().join("created.env");
    let run = sandbox::run(
        &sb,
        &["wizard", "-vv"],
        &e.settings()
            .unset("--romm-url")
            .unset("--client-secret")
            .set("--pocket-id-api-key", API_KEY)
            .flag("--yes")
            .set("--write", &written.to_string_lossy()),
        &Everything::env(),
    );
    assert_eq!(run.code, 0, "{}", run.show());
    let text = std::fs::read_to_string(&written).unwrap();
    let created = text
        .lines()
        .find_map(|l| l.strip_prefix("OIDC_CLIENT_SECRET="))
        .map(|v| v.trim_matches('\'').to_string())
        .unwrap_or_else(|| panic!("no secret written:\n{text}\n{}", run.show()));
    assert!(!created.is_empty() && created != CLIENT_SECRET, "{text}");
    let mut secrets = given();
    secrets.push(created);
    nothing_shown("wizard --yes with the API key", &run, &secrets);
}

#[test]
fn wizard_preview_hides_a_secret_that_the_block_quotes_differently() {
    // In the block this secret is written "…\$…" (double quotes, `$` escaped).
    const QUOTED: &str = "Qs-9'kLm$Wx2vB7nR4tZ";
    let e = emulator::pocket_id(pocket_id_emulator::Config {
        clients: vec![pocket_id_emulator::Client::confidential(
            everything::CLIENT_ID,
            QUOTED,
            &[everything::REDIRECT_URI],
        )],
        ..pocket_id_emulator::Config::default()
    });
    let sb = Sandbox::new();
    let secret_file = sb.file("client-secret", QUOTED);
    let args = Args::new()
        .set("--issuer", &e.issuer())
        .set("--client-id", everything::CLIENT_ID)
        .set("--client-secret-file", &secret_file.to_string_lossy())
        .set("--redirect-uri", everything::REDIRECT_URI)
        .flag("--yes");
    let run = sandbox::run(&sb, &["wizard"], &args, &Everything::env());
    assert_eq!(run.code, 0, "{}", run.show());
    assert!(
        run.stdout
            .contains("OIDC_CLIENT_SECRET=\"Qs-9'kLm\\$Wx2vB7nR4tZ\""),
        "{}",
        run.show()
    );
    hidden(
        "wizard preview (stderr)",
        &run.stderr,
        &[QUOTED.to_string(), "kLm\\$Wx2vB7".into()],
    );
}

#[test]
fn a_token_answer_without_an_id_token_shows_no_access_token() {
    // The token endpoint answers tokens but no ID token: the finding quotes the
    // answer, its token values masked.
    const ACCESS: &str = "At-5gH8jK1lZ4xC7vB0n-access";
    const REFRESH: &str = "Rt-2wE5rT8yU1iO4pA7s-refresh";
    let e = Everything::start();
    let body = format!(
        r#"{{"access_token":"{ACCESS}","refresh_token":"{REFRESH}","token_type":"Bearer","expires_in":3600}}"#
    );
    let answer = pocket_id_emulator::RawResponse::new(200, "application/json", body);
    let mut config = pocket_id_emulator::Config {
        clients: vec![pocket_id_emulator::Client::confidential(
            everything::CLIENT_ID,
            CLIENT_SECRET,
            &[everything::REDIRECT_URI, "http://127.0.0.1/callback"],
        )],
        ..pocket_id_emulator::Config::default()
    };
    config.faults.overrides = vec![("/api/oidc/token".into(), answer)];
    let p = emulator::pocket_id(config);
    let sb = Sandbox::new();
    let args = e
        .doctor(sb.path())
        .set("--issuer", &p.issuer())
        .unset("--pocket-id-api-key");
    for mode in [&[][..], &["--json"], &["-vv"]] {
        let mut sub = vec!["doctor", "--timeout", "5"];
        sub.extend_from_slice(mode);
        let run = sandbox::run(&sb, &sub, &args, &Everything::env());
        assert!(
            run.stdout.contains("no id_token"),
            "{mode:?}: the token answer was not judged:\n{}",
            run.show()
        );
        let mut secrets = given();
        secrets.extend([ACCESS.to_string(), REFRESH.to_string()]);
        nothing_shown(&format!("no id_token {mode:?}"), &run, &secrets);
    }
}
