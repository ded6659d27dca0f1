//! `doctor --demo`: the whole doctor against a Pocket ID emulator and a RomM
//! double on loopback, configured to match; then the same setup with the
//! `/authorize` base-URL mistake, to show a failure and its fix. Built only
//! with the `demo` cargo feature (on by default), which brings the
//! emulator's server stack.

use std::time::Duration;

use anyhow::{Context, Result};
use pocket_id_emulator::{
    BASE_URL_PLACEHOLDER, Client, Config, Emulator, RommConfig, RommEmulator,
};

use crate::browser::Browser;
use crate::checks::config::CALLBACK_PATH;
use crate::checks::id;
use crate::checks::login;
use crate::cli::Loopback;
use crate::doctor;
use crate::oidc::loopback::PORTLESS_CALLBACK;
use crate::report::{Report, ReportFormat, Setup};
use crate::run;
use crate::settings::{FlagValues, Inputs, Settings};

const CLIENT_ID: &str = "3b8a6d5e-romm-demo";
const CLIENT_SECRET: &str = "Xq7VtR2mK9pLs4NdW8cYb3HfJ6gA1eZu";

/// Runs both halves; the report text goes to `print`. Ok(true) when the demo
/// behaved as it should: the good setup passes, the broken one fails.
/// `redact_hosts` only names the flag in the markdown's run line (the
/// redaction itself is on all output).
pub fn run(
    config: &run::Config,
    format: ReportFormat,
    redact_hosts: bool,
    print: impl Fn(&str) -> Result<()>,
) -> Result<bool> {
    let provider = Emulator::start(Config {
        clients: vec![Client {
            name: "RomM".into(),
            // RomM's callback on any loopback port, and the login test's port-less one.
            ..Client::confidential(
                CLIENT_ID,
                CLIENT_SECRET,
                &[
                    &format!("http://127.0.0.1:*{CALLBACK_PATH}"),
                    PORTLESS_CALLBACK,
                ],
            )
        }],
        ..Config::default()
    })
    .context("cannot start the Pocket ID emulator")?;
    let issuer = provider.issuer();
    let romm = start_romm(&issuer)?;
    eprintln!(
        "romm-oidc demo: a Pocket ID emulator (v2.14 behaviour) at {issuer} and a RomM 5.2 double at {}, configured alike.",
        romm.base_url()
    );
    // No Ctrl-C handler here: the flag stays down, and Ctrl-C ends the demo.
    let cancelled = crate::interrupt::flag();
    let options = |login| doctor::Options {
        run: config,
        insecure: false,
        login,
        email: None,
        romm_access: None,
        container: None,
    };
    let good = settings(&issuer, &romm);
    let first = doctor::run(&good, &options(Some(login_options(config))), cancelled)?;
    let wrong = format!("{issuer}/authorize");
    let broken_romm = start_romm(&wrong)?;
    let broken = settings(&wrong, &broken_romm);
    let second = doctor::run(&broken, &options(None), cancelled)?;
    if format == ReportFormat::Markdown {
        let run = || {
            format!(
                "romm-oidc {} doctor --demo --timeout {} --format markdown{}",
                crate::version::ROMM_OIDC,
                config.timeout.as_secs_f64(),
                if redact_hosts { " --redact-hosts" } else { "" }
            )
        };
        print(&format!(
            "# 1. A working setup: doctor --login against the emulator\n\n{}\n# 2. The same setup with the old Pocket ID guide's OIDC_SERVER_APPLICATION_URL\n\n{}",
            first.to_markdown(&Setup::new(&good, run())),
            second.to_markdown(&Setup::new(&broken, run()))
        ))?;
    } else if format == ReportFormat::Json {
        let both = serde_json::json!({
            "working": serde_json::from_str::<serde_json::Value>(&first.to_json())?,
            "broken": serde_json::from_str::<serde_json::Value>(&second.to_json())?,
        });
        print(&(serde_json::to_string_pretty(&both)? + "\n"))?;
    } else {
        print(&format!(
            "== 1. A working setup: doctor --login against the emulator ==\n\n{}\n",
            first.to_human()
        ))?;
        print(&format!(
            "== 2. The same setup with OIDC_SERVER_APPLICATION_URL={wrong} (the old Pocket ID guide's value) ==\n\n{}\n",
            second.to_human()
        ))?;
        print(&format!(
            "The fix for 2: OIDC_SERVER_APPLICATION_URL={issuer}, then recreate RomM.\n"
        ))?;
    }
    Ok(demo_ok(&first, &second))
}

/// RomM's env in the double, with the provider at `issuer`.
fn romm_env(issuer: &str) -> Vec<(String, String)> {
    vec![
        ("OIDC_ENABLED".to_string(), "true".to_string()),
        ("OIDC_PROVIDER".into(), "pocket-id".into()),
        ("OIDC_CLIENT_ID".into(), CLIENT_ID.into()),
        ("OIDC_CLIENT_SECRET".into(), CLIENT_SECRET.into()),
        ("OIDC_SERVER_APPLICATION_URL".into(), issuer.to_string()),
        (
            "OIDC_REDIRECT_URI".into(),
            format!("{BASE_URL_PLACEHOLDER}{CALLBACK_PATH}"),
        ),
    ]
}

fn start_romm(issuer: &str) -> Result<RommEmulator> {
    RommEmulator::start(RommConfig {
        version: "5.2.0".into(),
        env: romm_env(issuer),
        ..RommConfig::default()
    })
    .context("cannot start the RomM double")
}

/// The settings as the doctor reads them inside RomM's container: RomM's own
/// environment (the double's), so the report judges what RomM really runs with.
fn settings(issuer: &str, romm: &RommEmulator) -> Settings {
    let base = romm.base_url();
    let environment = romm_env(issuer)
        .into_iter()
        .map(|(k, v)| (k, v.replace(BASE_URL_PLACEHOLDER, &base)))
        .collect();
    Settings::resolve(Inputs {
        flags: FlagValues::new(),
        environment,
        env_file: None,
        romm_url: Some(base),
        secret_file: None,
        container: None,
    })
}

fn login_options(config: &run::Config) -> login::Options {
    login::Options {
        // Any free port: the emulator matches the port-less loopback callback.
        listen: Some(Loopback::ipv4(0)),
        browser: Browser::Follow,
        timeout: Duration::from_secs(20),
        pkce: false,
        email: Some("alice@example.com".into()),
        verbose: config.verbose > 0,
    }
}

fn demo_ok(first: &Report, second: &Report) -> bool {
    let proven = first
        .verdict
        .as_ref()
        .is_some_and(|v| v.status == crate::report::Status::Pass);
    first.ok() && proven && second.failures().any(|f| f.id == id::CONFIG_ISSUER_URL)
}
