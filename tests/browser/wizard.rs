//! The wizard's login step in Chromium: `wizard --yes --login` with every value
//! given, against the Pocket ID emulator's sign-in form.

use std::time::Instant;

use crate::chromium::Chromium;
use crate::login::{CASE_LIMIT, SECRET, assert_readable, pocket_id};
use crate::support::prelude::*;

#[test]
fn wizard_login_step_signs_in_and_writes_the_env_file() {
    let started = Instant::now();
    let e = pocket_id();
    let chromium = Chromium::new("wizard");
    let env_file = chromium.sandbox().join("romm.env");
    let mut c = bin::command(chromium.sandbox());
    c.plain()
        .loopback()
        .args(["wizard", "--yes", "--login", "--listen=127.0.0.1:0"])
        .arg("--login-timeout=60")
        .arg(format!("--romm-url={ROMM_URL}"))
        .arg(format!("--issuer={}", e.issuer()))
        .arg("--client-id=romm")
        .arg(format!("--client-secret={SECRET}"))
        .arg(format!("--email={EMAIL}"))
        .arg(format!("--write={}", env_file.display()))
        .arg(format!("--browser-command={}", chromium.command(&[])));
    let run = process::run(&mut c, RUN_LIMIT);
    let seen = chromium.seen();
    assert!(seen.ok(), "{:#}\n{}", seen.summary, run.show());
    assert_eq!(run.code, 0, "{}", run.show());
    run.assert_hides(SECRET, "the client secret");

    // The login step ran in Chromium and the wizard read its result.
    assert!(
        seen.text("redirect").contains("Sign in"),
        "{:#}",
        seen.summary
    );
    for words in [
        "The token endpoint issued tokens",
        &format!("claims RomM reads: email \"{EMAIL}\", email_verified true"),
    ] {
        assert!(run.stderr.contains(words), "no {words:?}:\n{}", run.show());
    }
    let written = std::fs::read_to_string(&env_file).expect("the env file");
    assert!(
        written.contains(&format!("OIDC_SERVER_APPLICATION_URL='{}'", e.issuer())),
        "{written}"
    );

    // The page is about the login alone: the wizard checks the rest in its own
    // steps, so none of the doctor's "not run" needs is listed.
    let result = seen.page("result");
    assert_eq!(result["status"], 200, "{result:#}");
    assert_eq!(result["heading_color"], "rgb(26, 127, 55)", "{result:#}");
    let page = seen.text("result");
    assert!(
        page.starts_with("The login worked, and RomM's rules accept its ID token\n"),
        "{page}"
    );
    for row in [
        "✔ login.callback ",
        "✔ login.token ",
        "✔ login.id-token ",
        &format!("✔ login.email email {EMAIL}\n"),
        "✔ login.email-verified ",
        "✔ login.username ",
    ] {
        assert!(page.contains(row), "no {row:?} on the page:\n{page}");
    }
    assert!(
        !page.contains("not run") && !page.contains("give --"),
        "the doctor's verdict on the wizard's page:\n{page}"
    );
    assert_readable(&seen, "result");
    assert!(started.elapsed() < CASE_LIMIT, "{:?}", started.elapsed());
}
