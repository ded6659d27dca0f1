//! Every value that holds a secret, built with known secrets: its `{:?}` and
//! `{:#?}` (and `{}`, where it has one) show none of them, nor any piece of
//! one. The black-box side (every output mode of every command) is
//! `tests/cases/secrets_never_shown.rs`.

use std::path::Path;

use clap::FromArgMatches;
use secrecy::SecretString;

use crate::cli::Cli;
use crate::envfile::EnvFile;
use crate::http::{self, Response};
use crate::oidc::loopback::Callback;
use crate::romm_api::Access;
use crate::settings::{self, Inputs, OIDC_CLIENT_SECRET, Settings};

const CLIENT_SECRET: &str = "Cs-4hV9qLz2WmX7pRt3K";
const API_KEY: &str = "Ak-8nB1vCx5ZsQ0yTw6J";
const PASSWORD: &str = "Pw-3dF7gHj2KlM9nBv5C";
const TOKEN: &str = "rmm_Tk-6yU1iO4pA8sD3fG";
const CODE: &str = "Cd-2qW5eR9tY1uI7oP4a";
const ID_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.Id-9zX3cV6bN0mL8kJ2h";
const ENV_FILE_PASSWORD: &str = "Db-7hG4fD1sA9pO6iU3y";

const ALL: &[&str] = &[
    CLIENT_SECRET,
    API_KEY,
    PASSWORD,
    TOKEN,
    CODE,
    ID_TOKEN,
    ENV_FILE_PASSWORD,
];

/// No secret, nor any 8 characters of one, in `shown`.
#[track_caller]
fn hidden(what: &str, shown: &str) {
    for secret in ALL {
        let chars: Vec<char> = secret.chars().collect();
        for piece in chars.windows(8) {
            let piece: String = piece.iter().collect();
            assert!(
                !shown.contains(&piece),
                "{what} shows {piece:?} of {secret:?}:\n{shown}"
            );
        }
    }
}

#[track_caller]
fn debug_hidden(what: &str, value: &impl std::fmt::Debug) {
    hidden(what, &format!("{value:?}"));
    hidden(what, &format!("{value:#?}"));
}

/// `romm-oidc <line>` parsed as the tool parses its command line.
fn parse(line: &str) -> Result<Cli, clap::Error> {
    let matches = crate::cli::command().try_get_matches_from(line.split(' '))?;
    Cli::from_arg_matches(&matches)
}

#[test]
fn the_command_line_hides_every_secret_given_on_it() {
    for line in [
        format!(
            "romm-oidc doctor --client-secret {CLIENT_SECRET} --pocket-id-api-key {API_KEY} --romm-url https://romm.example.com --romm-username admin"
        ),
        format!("romm-oidc emit-env --client-secret={CLIENT_SECRET} --pocket-id-api-key={API_KEY}"),
        format!(
            "romm-oidc wizard --yes --client-secret {CLIENT_SECRET} --pocket-id-api-key {API_KEY}"
        ),
    ] {
        let cli = parse(&line).expect("the arguments parse");
        debug_hidden(&line, &cli);
    }
}

#[test]
fn clap_errors_about_secret_flags_do_not_repeat_the_value() {
    for line in [
        format!("romm-oidc doctor --client-secret {CLIENT_SECRET} --client-secret {CLIENT_SECRET}"),
        format!("romm-oidc doctor --client-secret {CLIENT_SECRET} --client-secret-file f"),
        format!("romm-oidc doctor --pocket-id-api-key {API_KEY} --pocket-id-api-key-file f"),
        format!("romm-oidc doctor --pocket-id-api-key {API_KEY} --no-such-flag"),
    ] {
        let error = parse(&line).expect_err("a usage error");
        hidden(&line, &error.to_string());
        hidden(&line, &error.render().to_string());
        debug_hidden(&line, &error);
    }
}

#[test]
fn settings_hide_the_client_secret_the_api_key_and_the_env_files_values() {
    let env_file = EnvFile::parse(
        Path::new("romm.env"),
        format!(
            "OIDC_CLIENT_SECRET={CLIENT_SECRET}\nDB_PASSWD='{ENV_FILE_PASSWORD}'\nbroken line {ENV_FILE_PASSWORD}\nX=${{DB_PASSWD}}\n"
        ),
    );
    assert!(!env_file.problems.is_empty() && !env_file.entries.is_empty());
    debug_hidden("EnvFile", &env_file);
    for (name, flags, environment, secret_file) in [
        (
            "flag",
            vec![(OIDC_CLIENT_SECRET, "--client-secret", CLIENT_SECRET.into())],
            vec![],
            None,
        ),
        (
            "environment",
            vec![],
            vec![(OIDC_CLIENT_SECRET.to_string(), CLIENT_SECRET.to_string())],
            None,
        ),
        (
            "secret file",
            vec![],
            vec![],
            Some((Path::new("secret.txt"), CLIENT_SECRET.to_string())),
        ),
        ("env file", vec![], vec![], None),
    ] {
        let mut settings = Settings::resolve(Inputs {
            flags,
            environment,
            env_file: Some(env_file.clone()),
            romm_url: Some("https://romm.example.com".into()),
            secret_file,
        });
        settings.api_key = Some(SecretString::from(API_KEY));
        assert_eq!(settings.value(OIDC_CLIENT_SECRET), Some(CLIENT_SECRET));
        debug_hidden(name, &settings);
        debug_hidden(name, &settings.get(OIDC_CLIENT_SECRET));
        let wizard = settings.with(OIDC_CLIENT_SECRET, CLIENT_SECRET.into());
        debug_hidden(name, &wizard);
        for (var, setting) in settings.iter().chain(settings.romm_env()) {
            debug_hidden(name, &setting);
            hidden(name, &settings::shown(var, setting.raw()));
        }
    }
}

#[test]
fn romm_access_hides_the_password_and_the_token() {
    debug_hidden(
        "password",
        &Access::Password {
            username: "admin".into(),
            password: PASSWORD.into(),
        },
    );
    debug_hidden("token", &Access::Token(TOKEN.into()));
}

#[test]
fn the_login_hides_the_code_and_responses_hide_their_bodies() {
    debug_hidden("callback", &Callback::Code(CODE.into()));
    let response = Response {
        status: 200,
        content_type: Some("application/json".into()),
        content_encoding: None,
        location: Some(format!(
            "https://romm.example.com/api/oauth/openid?code={CODE}"
        )),
        set_cookie: vec![],
        body: format!(r#"{{"id_token":"{ID_TOKEN}","access_token":"{TOKEN}"}}"#).into_bytes(),
        url: "https://id.example.com/api/oidc/token".into(),
    };
    debug_hidden("response", &response);
    debug_hidden(
        "credentials error",
        &http::client_secret_basic("romm", &format!("{CLIENT_SECRET}€")),
    );
    let reason = http::client_secret_basic("romm", &format!("{CLIENT_SECRET}€"))
        .unwrap_err()
        .reason();
    hidden("credentials error", &reason);
}

#[test]
fn masks_show_at_most_a_prefix_of_4_characters() {
    for secret in ALL {
        hidden("mask", &settings::mask(secret));
    }
}
