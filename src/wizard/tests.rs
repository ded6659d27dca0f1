//! The wizard's decisions, driven by a scripted [`Prompt`] (a person's
//! answers) and by [`Unattended`] (`--yes`), without a terminal or network.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;

use super::prompt::{Prompt, Unattended};
use super::{Wizard, email_finding, roles_given, romm_url_findings};
use crate::browser::Browser;
use crate::checks::login;
use crate::cli::{Cli, Command, WizardArgs};
use crate::emit::Format;
use crate::http::{self, Http};
use crate::oidc::discovery::Discovery;
use crate::report::Status;
use crate::settings::{
    OIDC_CLAIM_ROLES, OIDC_REDIRECT_URI, OIDC_ROLE_ADMIN, OIDC_ROLE_VIEWER, Settings,
};

/// One answer a person gives.
enum Answer {
    Text(&'static str),
    Yes(bool),
    Pick(usize),
}

/// A person answering from a script; what was asked is kept for the test.
struct Scripted {
    answers: VecDeque<Answer>,
    asked: Rc<RefCell<Vec<String>>>,
}

impl Scripted {
    fn next(&mut self, prompt: &str) -> Answer {
        self.asked.borrow_mut().push(prompt.to_string());
        self.answers
            .pop_front()
            .unwrap_or_else(|| panic!("no answer left for {prompt:?}"))
    }
}

impl Prompt for Scripted {
    fn text(&mut self, prompt: &str, _: Option<&str>, _: bool) -> Result<Option<String>> {
        match self.next(prompt) {
            Answer::Text(t) => Ok(Some(t.to_string())),
            _ => panic!("{prompt:?} wants text"),
        }
    }

    fn secret(&mut self, prompt: &str) -> Result<Option<String>> {
        self.text(prompt, None, false)
    }

    fn select(&mut self, prompt: &str, items: &[&str], _: usize) -> Result<Option<usize>> {
        match self.next(prompt) {
            Answer::Pick(i) if i < items.len() => Ok(Some(i)),
            _ => panic!("{prompt:?} wants one of {items:?}"),
        }
    }

    fn yes_no(&mut self, prompt: &str, _: bool) -> Result<Option<bool>> {
        match self.next(prompt) {
            Answer::Yes(yes) => Ok(Some(yes)),
            _ => panic!("{prompt:?} wants yes or no"),
        }
    }

    fn again(&mut self, note: Option<&str>, _: String) -> Result<()> {
        self.asked
            .borrow_mut()
            .push(format!("again: {}", note.unwrap_or_default()));
        Ok(())
    }
}

fn args(flags: &[&str]) -> WizardArgs {
    let argv = ["romm-oidc", "wizard"].iter().chain(flags);
    match Cli::try_parse_from(argv).expect("wizard flags").command {
        Command::Wizard(args) => args,
        _ => unreachable!("parsed as wizard"),
    }
}

fn wizard<'a>(args: &'a WizardArgs, settings: Settings, prompt: Box<dyn Prompt>) -> Wizard<'a> {
    let http = Http::new(&http::Options {
        timeout: Duration::from_secs(1),
        ca_file: None,
        insecure: false,
        verbose: 0,
    })
    .expect("an HTTP client");
    Wizard {
        args,
        settings,
        prompt,
        login_offered: false,
        http,
        login: login::Options {
            listen: None,
            browser: Browser::None,
            timeout: Duration::from_secs(1),
            pkce: false,
            email: None,
            verbose: false,
        },
        writes: Vec::new(),
    }
}

/// A scripted person with `answers`, and the list of what they were asked.
fn person(answers: Vec<Answer>) -> (Box<dyn Prompt>, Rc<RefCell<Vec<String>>>) {
    let asked = Rc::new(RefCell::new(Vec::new()));
    let prompt = Scripted {
        answers: answers.into(),
        asked: Rc::clone(&asked),
    };
    (Box::new(prompt), asked)
}

fn statuses(base: &str) -> Vec<(Status, String)> {
    romm_url_findings(base)
        .into_iter()
        .map(|f| (f.status, f.summary))
        .collect()
}

#[test]
fn romm_url_at_the_root_over_https_gives_its_callback() {
    assert_eq!(
        statuses("https://romm.example.com"),
        [(
            Status::Pass,
            "RomM's callback URL is https://romm.example.com/api/oauth/openid".into()
        )]
    );
}

#[test]
fn romm_url_on_this_machine_or_over_http_is_called_out() {
    let local = statuses("http://localhost:8080");
    assert_eq!(local[0].0, Status::Warn);
    assert!(
        local[0].1.contains("only works on this machine"),
        "{local:?}"
    );
    assert_eq!(local[1].0, Status::Pass);
    let http = statuses("http://romm.lan");
    assert_eq!(http[0].0, Status::Warn);
    assert!(http[0].1.starts_with("plain http to romm.lan:"), "{http:?}");
}

#[test]
fn romm_url_with_a_path_or_without_a_scheme_fails() {
    let path = statuses("https://romm.example.com/romm");
    assert_eq!(
        path,
        [(
            Status::Fail,
            "RomM is served at the root of its host; drop the path /romm".into()
        )]
    );
    for bad in ["romm.example.com", "ftp://romm.example.com", "https://"] {
        let found = statuses(bad);
        assert_eq!(found.len(), 1, "{bad}: {found:?}");
        assert_eq!(found[0].0, Status::Fail, "{bad}");
    }
}

#[test]
fn email_is_compared_with_the_token_case_insensitively() {
    let same = email_finding("Alice@Example.com", Some("alice@example.com"));
    assert_eq!(same.status, Status::Pass);
    let other = email_finding("bob@example.com", Some("alice@example.com"));
    assert_eq!(other.status, Status::Fail);
    assert!(other.summary.contains("new account"), "{}", other.summary);
    assert_eq!(
        email_finding("", Some("alice@example.com")).status,
        Status::Skip
    );
    // Without a token nothing is proven: a warning with the way to prove it.
    let unseen = email_finding("bob@example.com", None);
    assert_eq!(unseen.status, Status::Warn, "{}", unseen.summary);
    assert!(
        unseen
            .fix
            .contains("doctor --login --email bob@example.com"),
        "{}",
        unseen.fix
    );
}

#[test]
fn roles_as_given_or_none() {
    let none = roles_given(&Settings::default());
    assert!(
        none.summary.starts_with("no role mapping"),
        "{}",
        none.summary
    );
    let given = Settings::default().with(OIDC_ROLE_ADMIN, "admins".into());
    assert_eq!(
        roles_given(&given).summary,
        "as given: OIDC_ROLE_ADMIN=admins"
    );
}

#[test]
fn a_person_is_asked_again_for_a_wrong_romm_url() {
    let args = args(&[]);
    let (prompt, asked) = person(vec![
        Answer::Text("https://romm.example.com/sub"),
        Answer::Text("https://romm.example.com/"),
    ]);
    let mut w = wizard(&args, Settings::default(), prompt);
    w.romm_url().expect("the second answer works");
    assert_eq!(
        w.settings.romm_url.as_deref(),
        Some("https://romm.example.com")
    );
    assert_eq!(
        w.settings.value(OIDC_REDIRECT_URI),
        Some("https://romm.example.com/api/oauth/openid")
    );
    let asked = asked.borrow();
    assert_eq!(asked.len(), 3, "{asked:?}");
    assert_eq!(asked[1], "again: ");
}

#[test]
fn without_answers_a_wrong_romm_url_ends_the_run_naming_it() {
    let args = args(&[]);
    let mut settings = Settings::default();
    settings.romm_url = Some("https://romm.example.com/sub".into());
    let mut w = wizard(&args, settings, Box::new(Unattended));
    let error = w.romm_url().expect_err("nobody to ask again");
    assert_eq!(
        error.to_string(),
        "--romm-url https://romm.example.com/sub: RomM is served at the root of its host; drop the path /sub"
    );
}

#[test]
fn without_answers_the_redirect_uri_given_stays() {
    let args = args(&[]);
    let callback = "https://romm.example.com/api/oauth/openid";
    let settings = Settings::default().with(OIDC_REDIRECT_URI, callback.into());
    let mut w = wizard(&args, settings, Box::new(Unattended));
    w.romm_url().expect("nothing to ask");
    assert_eq!(w.settings.value(OIDC_REDIRECT_URI), Some(callback));
    assert_eq!(w.settings.romm_url, None);
}

#[test]
fn a_person_maps_roles_from_a_claim_of_the_token() {
    let args = args(&[]);
    let (prompt, _) = person(vec![
        Answer::Yes(true),
        Answer::Pick(1),
        Answer::Text("admins"),
        Answer::Text("players"),
    ]);
    let mut w = wizard(&args, Settings::default(), prompt);
    let claims = serde_json::json!({ "email": "a@b", "roles": ["x"] });
    w.roles(claims.as_object()).expect("roles");
    // The token's array claims first, then `groups`.
    assert_eq!(w.settings.value(OIDC_CLAIM_ROLES), Some("groups"));
    assert_eq!(w.settings.value(OIDC_ROLE_ADMIN), Some("admins"));
    assert_eq!(w.settings.value(OIDC_ROLE_VIEWER), Some("players"));
}

#[test]
fn without_answers_no_roles_are_mapped_and_no_login_runs() {
    let args = args(&[]);
    let mut w = wizard(&args, Settings::default(), Box::new(Unattended));
    w.roles(None).expect("roles");
    assert_eq!(w.settings.value(OIDC_CLAIM_ROLES), None);
    let discovery = Discovery {
        doc: serde_json::Map::new(),
    };
    assert!(w.login_test(&discovery).expect("no login").is_none());
}

#[test]
fn the_block_goes_where_the_person_picks_or_where_the_flags_say() {
    let given = args(&["--format", "json"]);
    let mut w = wizard(&given, Settings::default(), Box::new(Unattended));
    assert_eq!(w.destination().unwrap(), (None, Format::Json));
    let (prompt, _) = person(vec![Answer::Pick(1)]);
    let mut w = wizard(&given, Settings::default(), prompt);
    assert_eq!(w.destination().unwrap(), (None, Format::Compose));
    let (prompt, _) = person(vec![Answer::Pick(0), Answer::Text("romm.env")]);
    let mut w = wizard(&given, Settings::default(), prompt);
    assert_eq!(
        w.destination().unwrap(),
        (Some("romm.env".into()), Format::Json)
    );
    // --write: nobody is asked.
    let write = args(&["--write", "x.env"]);
    let (prompt, asked) = person(vec![]);
    let mut w = wizard(&write, Settings::default(), prompt);
    assert_eq!(w.destination().unwrap().0, Some("x.env".into()));
    assert!(asked.borrow().is_empty());
}

#[test]
fn an_api_key_that_is_not_an_admins_is_refused_before_any_write() {
    use pocket_id_emulator::{ApiKey, Config, Emulator, User};
    use secrecy::SecretString;

    let mut config = Config::default();
    config.users.push(User::new("bob", Some("bob@example.com")));
    config.api_keys = vec![ApiKey::new("bob-key-0123456789abcdef", "bob")];
    let e = Emulator::start(config).expect("the Pocket ID emulator");
    let mut settings = Settings::default()
        .with(crate::settings::OIDC_SERVER_APPLICATION_URL, e.issuer())
        .with(
            OIDC_REDIRECT_URI,
            "https://romm.example.com/api/oauth/openid".into(),
        );
    settings.api_key = Some(SecretString::from("bob-key-0123456789abcdef"));
    let args = args(&[]);
    let mut w = wizard(&args, settings, Box::new(Unattended));
    let discovery = Discovery {
        doc: serde_json::Map::new(),
    };
    w.pocket_id_client(&discovery)
        .expect("falls back to instructions");
    assert!(w.writes.is_empty(), "{:?}", w.writes);
    let writes: Vec<String> = e
        .requests()
        .into_iter()
        .filter(|q| q.method != "GET")
        .map(|q| format!("{} {}", q.method, q.path))
        .collect();
    assert!(writes.is_empty(), "a non-admin's key wrote {writes:?}");
    assert!(
        w.settings.value(crate::settings::OIDC_CLIENT_ID).is_none(),
        "no client was made"
    );
}
