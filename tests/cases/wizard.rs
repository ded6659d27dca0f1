//! Integration tests of `romm-oidc wizard`: the real binary driven in a pseudo-terminal
//! (rexpect) the way a person answers its prompts, against the Pocket ID emulator
//! (`pocket_id_emulator`), with the browser of the login test played by
//! tests/support/browser.mjs. The non-interactive runs use plain pipes (no terminal).
//!
//! Every run has its own temporary HOME and working directory, a clean environment
//! (no OIDC_* variable), TERM=xterm and NO_COLOR=1, and `--listen 127.0.0.1:0`, so the
//! tests run in parallel. Network: 127.0.0.1 only.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::Duration;

use pocket_id_emulator::{Client, Config, Emulator};

use crate::support::browser;
use crate::support::prelude::*;
use crate::support::pty::{Escapes, Pty};

const CLIENT_ID: &str = "romm";
const SECRET: &str = "s3cret-Xk93pQ7zLm20Wd55-abcdefgh";
const WRONG_SECRET: &str = "not-the-secret-0000";
/// How long one step of the wizard may take before a test gives up on it.
const STEP: Duration = Duration::from_secs(20);
/// Upper bound for a whole non-interactive run.
const RUN_LIMIT: Duration = Duration::from_secs(30);

// ====================================================================== peers

/// Pocket ID with the RomM client (confidential, RomM's callback plus the loopback one
/// for the login test) and its default user alice (`verified` or not) signed in.
fn emulator(verified: bool) -> Emulator {
    let mut config = Config {
        clients: vec![Client::confidential(
            CLIENT_ID,
            SECRET,
            &[ROMM_CALLBACK, LOOPBACK_CALLBACK],
        )],
        ..Config::default()
    };
    config.users[0].email_verified = verified;
    emulator::pocket_id(config)
}

/// The six lines the wizard writes for the emulator's RomM client.
fn expected_lines(issuer: &str) -> Vec<String> {
    vec![
        "OIDC_ENABLED='true'".to_string(),
        "OIDC_PROVIDER='pocket-id'".to_string(),
        format!("OIDC_CLIENT_ID='{CLIENT_ID}'"),
        format!("OIDC_CLIENT_SECRET='{SECRET}'"),
        format!("OIDC_REDIRECT_URI='{ROMM_CALLBACK}'"),
        format!("OIDC_SERVER_APPLICATION_URL='{issuer}'"),
    ]
}

fn lines_of(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines().map(str::to_string).collect()
}

// ====================================================================== the binary

/// `romm-oidc` with a clean environment: no OIDC_* or proxy variable, HOME and the
/// working directory in `dir`, TERM=xterm, NO_COLOR=1, loopback never proxied.
fn command(dir: &Path) -> Command {
    let mut c = bin::command(dir);
    c.plain().loopback().xterm();
    c
}

/// `romm-oidc wizard` with the login test's listener and `browser` set, plus `extra`.
fn wizard_command_with(dir: &Path, browser: &str, extra: &[String]) -> Command {
    let mut c = command(dir);
    c.arg("wizard")
        .arg("--listen=127.0.0.1:0")
        .arg("--login-timeout=20")
        .arg(format!("--browser-command={browser}"))
        .args(extra);
    c
}

/// `romm-oidc wizard` with the browser stand-in logging to `dir/browser.log`, away from
/// the terminal (see `a_prompt_after_the_login_test_still_reads_single_keys`), plus
/// `extra`.
fn wizard_command(dir: &Path, extra: &[String]) -> Command {
    wizard_command_with(dir, &browser::logged(&dir.join("browser.log"), None), extra)
}

fn flag(name: &str, value: impl AsRef<str>) -> String {
    format!("{name}={}", value.as_ref())
}

/// Every value the wizard asks for, given on the command line: RomM's URL, the
/// provider and the client.
fn every_value(emu: &Emulator) -> Vec<String> {
    vec![
        flag("--romm-url", ROMM_URL),
        flag("--issuer", emu.issuer()),
        flag("--client-id", CLIENT_ID),
        flag("--client-secret", SECRET),
    ]
}

/// The wizard in a pseudo-terminal, read as a person reads it.
fn pty(c: Command) -> Pty {
    Pty::spawn(c, STEP, Escapes::Stripped)
}

// ====================================================================== the flow

/// Step 1 and 2: RomM's URL, then the provider URL as typed.
fn urls(w: &mut Pty, provider: &str) {
    w.answer("RomM's public URL", ROMM_URL);
    w.expect(&format!("RomM's callback URL is {ROMM_CALLBACK}"));
    w.answer("Pocket ID's URL", provider);
}

/// Step 4: client id and secret, after the heading.
fn credentials(w: &mut Pty, secret: &str) {
    w.expect("4. Client id and secret");
    w.answer("Client ID", CLIENT_ID);
    w.hidden("Client secret (hidden)", secret);
}

/// Steps 6 to 8 after the login test: the email, no roles, merge into `env_file`.
/// Returns the exit status.
fn email_roles_and_merge(w: &mut Pty, env_file: &Path) -> i32 {
    w.answer("Email of the RomM user", EMAIL);
    w.confirm("Map RomM roles from a group claim?", false);
    w.expect("Where should it go?");
    w.expect("Print as .env lines");
    w.send("\r"); // the first item: merge into an env file
    w.answer("Env file (.env)", &env_file.display().to_string());
    w.expect("wrote 6 RomM variables");
    // The wizard's own closing words: the restart command.
    w.expect("Next:");
    w.expect("docker compose up -d --force-recreate romm");
    w.finish()
}

/// Steps 7 and 8: no roles, the block printed as .env lines; the run ends with 0.
#[track_caller]
fn no_roles_and_print(w: &mut Pty) {
    w.confirm("Map RomM roles from a group claim?", false);
    w.expect("Where should it go?");
    w.send("\x1b[B\x1b[B\r"); // down twice: print as .env lines
    w.expect(&format!("OIDC_CLIENT_SECRET='{SECRET}'"));
    assert_eq!(w.finish(), 0, "{}", w.transcript());
}

/// The whole interactive happy path against `emu`; returns the env file written in
/// `dir` and the transcript.
fn interactive_happy_path(emu: &Emulator, dir: &Path) -> (PathBuf, String) {
    let env_file = dir.join("romm.env");
    let mut w = pty(wizard_command(dir, &[]));
    urls(&mut w, &emu.issuer());
    w.expect("Discovery read from");
    w.expect("3. Create RomM's client at the provider");
    credentials(&mut w, SECRET);
    w.expect("Client id and secret accepted");
    w.confirm("Run a real login now", true);
    w.expect("The token endpoint issued tokens");
    w.expect(&format!(
        "claims RomM reads: email \"{EMAIL}\", email_verified true"
    ));
    let code = email_roles_and_merge(&mut w, &env_file);
    assert_eq!(code, 0, "the wizard failed:\n{}", w.transcript());
    (env_file, w.transcript())
}

// ====================================================================== tests

#[test]
fn happy_path_writes_six_lines_that_doctor_accepts() {
    let emu = emulator(true);
    let dir = Sandbox::new();
    let (env_file, transcript) = interactive_happy_path(&emu, dir.path());

    assert_eq!(
        lines_of(&env_file),
        expected_lines(&emu.issuer()),
        "transcript:\n{transcript}"
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&env_file).unwrap().permissions(),
    );
    assert_eq!(
        mode & 0o077,
        0,
        "the new env file is readable by others: {mode:o}"
    );
    assert!(
        !transcript.contains(SECRET),
        "the secret was shown on the terminal:\n{transcript}"
    );

    // The written file alone (no --romm-url) passes the doctor's provider checks.
    let mut doctor = command(dir.path());
    doctor
        .args(["doctor", "--json", "--env-file"])
        .arg(&env_file);
    let (report, _) = sandbox::report(process::run(&mut doctor, RUN_LIMIT));
    let checks = report["checks"].as_array().expect("checks array");
    let failing: Vec<&Value> = checks
        .iter()
        .filter(|c| {
            let id = c["id"].as_str().unwrap_or("");
            (id.starts_with("config.")
                || id.starts_with("discovery.")
                || id.starts_with("client.")
                || id == "jwks.keys")
                && c["status"] == "fail"
        })
        .collect();
    assert!(failing.is_empty(), "failing checks: {failing:#?}");
    for id in ["discovery.fetch", "jwks.keys", "client.credentials"] {
        let status = checks
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["status"].clone());
        assert_eq!(
            status,
            Some(Value::from("pass")),
            "{id} did not pass:\n{report:#}"
        );
    }
}

#[test]
fn wrong_secret_is_refused_and_asked_again() {
    let emu = emulator(true);
    let dir = Sandbox::new();
    let env_file = dir.path().join("romm.env");
    let mut w = pty(wizard_command(dir.path(), &[]));
    urls(&mut w, &emu.issuer());
    credentials(&mut w, WRONG_SECRET);
    let refusal = w.expect("Let's enter them again.");
    assert!(
        refusal.contains("refused the client credentials"),
        "no refusal before asking again:\n{refusal}"
    );
    assert!(
        !refusal.contains("Client id and secret accepted"),
        "{refusal}"
    );
    // The id is offered again as the default: Enter keeps it.
    w.expect(&format!("Client ID ({CLIENT_ID})"));
    w.line("");
    w.hidden("Client secret (hidden)", SECRET);
    w.expect("Client id and secret accepted");
    w.confirm("Run a real login now", false);
    w.expect("skipped");
    let code = email_roles_and_merge(&mut w, &env_file);
    assert_eq!(code, 0, "{}", w.transcript());
    assert_eq!(lines_of(&env_file), expected_lines(&emu.issuer()));
}

#[test]
fn authorize_endpoint_is_recognised_and_the_base_url_used() {
    let emu = emulator(true);
    let dir = Sandbox::new();
    let env_file = dir.path().join("romm.env");
    let issuer = emu.issuer();
    let mut w = pty(wizard_command(dir.path(), &[]));
    urls(&mut w, &format!("{issuer}/authorize"));
    let said = w.expect(&format!("Use {issuer} instead?"));
    assert!(
        said.contains("authorization endpoint"),
        "the wizard did not say the URL is the /authorize endpoint:\n{said}"
    );
    w.send("y");
    w.expect(&format!(
        "Fetching {issuer}/.well-known/openid-configuration"
    ));
    w.expect("Discovery read from");
    credentials(&mut w, SECRET);
    w.expect("Client id and secret accepted");
    w.confirm("Run a real login now", false);
    let code = email_roles_and_merge(&mut w, &env_file);
    assert_eq!(code, 0, "{}", w.transcript());
    let lines = lines_of(&env_file);
    assert!(
        lines.contains(&format!("OIDC_SERVER_APPLICATION_URL='{issuer}'")),
        "{lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("/authorize")),
        "{lines:#?}"
    );
}

#[test]
fn discovery_url_is_recognised_and_the_base_url_printed_for_compose() {
    let emu = emulator(true);
    let dir = Sandbox::new();
    let issuer = emu.issuer();
    let mut w = pty(wizard_command(dir.path(), &[]));
    urls(
        &mut w,
        &format!("{issuer}/.well-known/openid-configuration"),
    );
    w.confirm(&format!("Use {issuer} instead?"), true);
    w.expect("Discovery read from");
    credentials(&mut w, SECRET);
    w.expect("Client id and secret accepted");
    w.confirm("Run a real login now", false);
    w.answer("Email of the RomM user", EMAIL);
    w.confirm("Map RomM roles from a group claim?", false);
    w.expect("Where should it go?");
    w.expect("Print as .env lines");
    w.send("\x1b[B\r"); // down once: print for docker compose
    let printed = w.expect("Next:");
    w.expect("docker compose up -d --force-recreate romm");
    assert_eq!(w.finish(), 0, "{}", w.transcript());
    for line in [
        "environment:".to_string(),
        format!("  OIDC_SERVER_APPLICATION_URL: '{issuer}'"),
        format!("  OIDC_CLIENT_SECRET: '{SECRET}'"),
        format!("  OIDC_REDIRECT_URI: '{ROMM_CALLBACK}'"),
    ] {
        assert!(printed.contains(&line), "{line:?} not printed:\n{printed}");
    }
    assert!(!printed.contains("/.well-known"), "{printed}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "printing wrote files: {left:?}");
}

#[test]
fn unverified_email_shows_the_pocket_id_fix_and_the_retry_passes() {
    let emu = emulator(false);
    let dir = Sandbox::new();
    let env_file = dir.path().join("romm.env");
    let mut w = pty(wizard_command(dir.path(), &[]));
    urls(&mut w, &emu.issuer());
    credentials(&mut w, SECRET);
    w.expect("Client id and secret accepted");
    w.confirm("Run a real login now", true);
    let first = w.expect("Run the login test again?");
    assert!(
        first.contains("Email is not verified."),
        "no RomM refusal:\n{first}"
    );
    assert!(
        first.contains("Mark as verified"),
        "no Pocket ID fix:\n{first}"
    );
    assert!(
        first.contains("email_verified false"),
        "claims not shown:\n{first}"
    );

    // The admin marks alice verified in Pocket ID, then retries.
    emu.set_user_email_verified("alice", true);
    w.send("y");
    let second = w.expect(&format!(
        "claims RomM reads: email \"{EMAIL}\", email_verified true"
    ));
    assert!(
        !second.contains("Email is not verified."),
        "the retry still failed:\n{second}"
    );
    let code = email_roles_and_merge(&mut w, &env_file);
    assert_eq!(code, 0, "{}", w.transcript());
    let logins = emu
        .requests()
        .iter()
        .filter(|r| r.path == "/authorize")
        // The login test asks the provider about its callback first, with a marked state.
        .filter(|r| {
            !r.query_value("state")
                .is_some_and(|s| s.starts_with("rommoidcprobe"))
        })
        .count();
    assert_eq!(logins, 2, "expected two logins (test and retry)");
}

/// A target env file with other settings and an old OIDC line, and its directory.
fn existing_env(dir: &Path) -> (PathBuf, Vec<u8>) {
    let path = dir.join(".env");
    let bytes = b"# RomM\nDB_HOST=mariadb\nOIDC_CLIENT_ID='old-client'\nROMM_AUTH_SECRET_KEY=abc\n"
        .to_vec();
    std::fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

#[track_caller]
fn assert_untouched(dir: &Path, path: &Path, bytes: &[u8], transcript: &str) {
    assert_eq!(
        std::fs::read(path).unwrap(),
        bytes,
        "{} changed:\n{transcript}",
        path.display()
    );
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with(".romm-oidc-")),
        "a temp file was left behind: {names:?}"
    );
}

#[test]
fn ctrl_c_at_the_secret_prompt_exits_130_and_writes_nothing() {
    let emu = emulator(true);
    let dir = Sandbox::new();
    let (path, bytes) = existing_env(dir.path());
    let mut w = pty(wizard_command(
        dir.path(),
        &[
            flag("--romm-url", ROMM_URL),
            flag("--issuer", emu.issuer()),
            flag("--client-id", CLIENT_ID),
            flag("--write", path.display().to_string()),
        ],
    ));
    w.expect("Client secret (hidden)");
    thread::sleep(Duration::from_millis(500));
    w.send("\x03");
    let code = w.finish();
    let transcript = w.transcript();
    assert_eq!(code, 130, "{transcript}");
    assert!(transcript.contains("cancelled"), "{transcript}");
    assert_untouched(dir.path(), &path, &bytes, &transcript);
}

#[test]
fn ctrl_c_at_the_env_file_prompt_exits_130_and_writes_nothing() {
    // The last prompt before the write: the block is complete, the file chosen.
    let emu = emulator(true);
    let dir = Sandbox::new();
    let (path, bytes) = existing_env(dir.path());
    let mut w = pty(wizard_command(dir.path(), &every_value(&emu)));
    w.confirm("Run a real login now", false);
    w.answer("Email of the RomM user", EMAIL);
    w.confirm("Map RomM roles from a group claim?", false);
    w.expect("Where should it go?");
    w.expect("Print as .env lines");
    w.send("\r");
    w.expect("Env file (.env)");
    w.send(".e"); // half typed, then Ctrl-C
    thread::sleep(Duration::from_millis(200));
    w.send("\x03");
    let code = w.finish();
    let transcript = w.transcript();
    assert_eq!(code, 130, "{transcript}");
    assert!(transcript.contains("cancelled"), "{transcript}");
    assert!(!transcript.contains("wrote "), "{transcript}");
    assert_untouched(dir.path(), &path, &bytes, &transcript);
}

/// `wizard --yes` with every value given, plus `extra`.
fn yes_run(emu: &Emulator, dir: &Path, extra: &[String]) -> Run {
    let mut c = command(dir);
    c.arg("wizard")
        .args(every_value(emu))
        .arg("--yes")
        .args(extra);
    let run = process::run(&mut c, RUN_LIMIT);
    assert_eq!(run.code, 0, "{}", run.show());
    run
}

#[test]
fn yes_with_every_flag_writes_the_same_file_as_the_interactive_run() {
    let emu = emulator(true);
    let dir = Sandbox::new();
    let (interactive, _) = interactive_happy_path(&emu, dir.path());

    let written = dir.path().join("yes.env");
    let run = yes_run(
        &emu,
        dir.path(),
        &[
            flag("--write", written.display().to_string()),
            // Guards only: should a login test run here, it opens nothing, listens on a
            // free port and gives up at once (see yes_without_login_runs_no_login_test).
            "--no-browser".into(),
            "--listen=127.0.0.1:0".into(),
            "--login-timeout=1".into(),
        ],
    );
    assert!(
        !run.stderr.contains(SECRET),
        "secret shown:\n{}",
        run.show()
    );
    assert_eq!(lines_of(&written), lines_of(&interactive), "{}", run.show());
    assert_eq!(lines_of(&written), expected_lines(&emu.issuer()));
}

#[test]
fn yes_without_login_runs_no_login_test() {
    // `--yes` is for scripts: nobody is there to log in in a browser, so without
    // --login the run must neither open a browser nor wait for a login (by default
    // up to --login-timeout 180 s).
    let emu = emulator(true);
    let dir = Sandbox::new();
    let written = dir.path().join("yes.env");
    let marker = dir.path().join("browser-was-opened");
    let run = yes_run(
        &emu,
        dir.path(),
        &[
            flag("--write", written.display().to_string()),
            flag(
                "--browser-command",
                format!("sh -c 'touch \"$0\"' '{}'", marker.display()),
            ),
            "--listen=127.0.0.1:0".into(),
            "--login-timeout=3".into(),
        ],
    );
    assert_eq!(lines_of(&written), expected_lines(&emu.issuer()));
    thread::sleep(Duration::from_millis(200));
    assert!(
        !marker.exists() && !run.stderr.contains("Open this URL to log in"),
        "--yes without --login ran the login test (opened the browser and waited {:?}):\n{}",
        run.elapsed,
        run.show()
    );
}

#[test]
fn email_prompt_accepts_empty_to_skip() {
    // The prompt says "(empty to skip)"; with the login test skipped it has no
    // default, so Enter alone must move on to the roles.
    let emu = emulator(true);
    let dir = Sandbox::new();
    let mut w = pty(wizard_command(dir.path(), &every_value(&emu)));
    w.confirm("Run a real login now", false);
    w.expect("(empty to skip)");
    w.line("");
    w.expect_within("7. Roles", Duration::from_secs(5));
    no_roles_and_print(&mut w);
}

#[test]
fn a_prompt_after_the_login_test_still_reads_single_keys() {
    // The browser command runs with the wizard's terminal on its stderr. The stand-in
    // is a Node program, and Node, when it exits, puts the terminal back in the mode it
    // found at its start (cooked: the wizard was waiting for the login then). When
    // that happens while a prompt waits for a key in raw mode, the prompt gets no key
    // until Enter, so a y/n question hangs. A prompt after the login test must still
    // read each key as it is typed.
    let emu = emulator(true);
    let dir = Sandbox::new();
    let mut w = pty(wizard_command_with(
        dir.path(),
        &browser::driver(),
        &every_value(&emu),
    ));
    w.confirm("Run a real login now", true);
    w.expect("claims RomM reads:");
    w.expect("Email of the RomM user");
    // By now the browser has got its last page and ended.
    thread::sleep(Duration::from_millis(1500));
    w.skip_seen();
    w.send("alice"); // no Enter: a prompt reading keys shows each one at once
    w.expect_within("alice", Duration::from_secs(5));
    w.line("@example.com");
    no_roles_and_print(&mut w);
}

#[test]
fn without_a_terminal_and_without_yes_exits_2_naming_the_flags() {
    let emu = emulator(true);
    let dir = Sandbox::new();
    let mut c = command(dir.path());
    c.arg("wizard")
        .arg(flag("--romm-url", ROMM_URL))
        .arg(flag("--issuer", emu.issuer()));
    let run = process::run(&mut c, RUN_LIMIT);
    assert_eq!(run.code, 2, "{}", run.show());
    for needle in [
        "--yes",
        "--romm-url",
        "--issuer",
        "--client-id",
        "--client-secret",
    ] {
        assert!(
            run.stderr.contains(needle),
            "{needle} not named:\n{}",
            run.show()
        );
    }
    assert!(run.stdout.is_empty(), "{}", run.show());
    assert!(
        emu.requests().is_empty(),
        "it contacted the provider before giving up"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "it wrote files: {left:?}");
}

#[test]
fn yes_without_a_terminal_names_the_missing_client_id() {
    let emu = emulator(true);
    let dir = Sandbox::new();
    let written = dir.path().join("yes.env");
    let mut c = command(dir.path());
    c.arg("wizard")
        .arg(flag("--romm-url", ROMM_URL))
        .arg(flag("--issuer", emu.issuer()))
        .arg(flag("--client-secret", SECRET))
        .arg("--yes")
        .arg(flag("--write", written.display().to_string()));
    let run = process::run(&mut c, RUN_LIMIT);
    assert_eq!(run.code, 2, "{}", run.show());
    assert!(run.stderr.contains("--client-id"), "{}", run.show());
    assert!(
        !run.stderr.contains("--romm-url") && !run.stderr.contains("--issuer"),
        "named flags that were given:\n{}",
        run.show()
    );
    assert!(!written.exists(), "{}", run.show());
}

/// What a run said in step 7, the roles.
#[track_caller]
fn roles_step(run: &Run) -> &str {
    let roles = run
        .stderr
        .split("7. Roles")
        .nth(1)
        .unwrap_or_else(|| panic!("no roles step:\n{}", run.show()));
    roles.split("8. ").next().unwrap_or_default()
}

#[test]
fn yes_summary_says_no_role_mapping_when_none_was_given() {
    let emu = emulator(true);
    let dir = Sandbox::new();
    let run = yes_run(&emu, dir.path(), &[]);
    let roles = roles_step(&run);
    assert!(
        roles.contains("no role mapping") && !roles.contains("kept as given"),
        "{}",
        run.show()
    );
    // Given, they are named as they were given.
    let run = yes_run(
        &emu,
        dir.path(),
        &[
            flag("--claim-roles", "groups"),
            flag("--role-admin", "romm-admins"),
            flag("--role-viewer", "*"),
        ],
    );
    let roles = roles_step(&run);
    for want in [
        "OIDC_CLAIM_ROLES=groups",
        "OIDC_ROLE_ADMIN=romm-admins",
        "OIDC_ROLE_VIEWER=*",
    ] {
        assert!(roles.contains(want), "no {want}:\n{}", run.show());
    }
    assert!(!roles.contains("no role mapping"), "{}", run.show());
}

#[test]
fn yes_closing_hint_names_the_file_written_or_says_nothing_was() {
    let emu = emulator(true);
    let dir = Sandbox::new();
    // A name that needs quoting in a shell.
    let written = dir.path().join("my romm.env");
    let run = yes_run(
        &emu,
        dir.path(),
        &[flag("--write", written.display().to_string())],
    );
    let next = run
        .stderr
        .split("Next:")
        .nth(1)
        .unwrap_or_else(|| panic!("no closing hint:\n{}", run.show()));
    let quoted = format!("'{}'", written.display());
    assert!(
        next.contains(&format!(
            "romm-oidc doctor --env-file {quoted} --romm-url {ROMM_URL}"
        )),
        "the hint does not name the file written:\n{}",
        run.show()
    );
    assert!(!next.contains("Nothing was written"), "{}", run.show());

    for format in ["dotenv", "compose"] {
        let run = yes_run(&emu, dir.path(), &[flag("--format", format)]);
        assert!(
            run.stdout.contains("OIDC_CLIENT_ID"),
            "no block on stdout:\n{}",
            run.show()
        );
        let next = run.stderr.split("Next:").nth(1).unwrap_or_default();
        assert!(
            next.contains("Nothing was written") && next.contains("--env-file <that .env file>"),
            "--format {format}: the hint must say nothing was written:\n{}",
            run.show()
        );
    }
}
