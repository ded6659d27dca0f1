//! One doctor run: the static checks, then the network checks in dependency
//! order with everything independent running at once. Discovery is the only
//! step the others wait for; the RomM probes start immediately.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use anyhow::Result;

use crate::checks::id;
use crate::checks::{
    config, container, credentials, discovery, jwks, login, pocketid, redirect_uri, romm,
    romm_users, tls, verdict,
};
use crate::cli::DoctorArgs;
use crate::container::Container;
use crate::exit::Exit;
use crate::http::{self, Http};
use crate::interrupt::{self, Policy};
use crate::oidc::discovery::Discovery;
use crate::progress;
use crate::report::{self, Finding, Report, ReportFormat, Setup};
use crate::run::Config;
use crate::settings::{self, OIDC_SERVER_APPLICATION_URL, OIDC_TLS_CACERTFILE, Settings};

pub struct Options<'a> {
    /// `--timeout` and `-v`.
    pub run: &'a Config,
    pub insecure: bool,
    pub login: Option<login::Options>,
    /// The RomM user's email, for the Pocket ID user lookup.
    pub email: Option<String>,
    /// Read-only access to RomM's users (`romm.users`, `romm.account`).
    pub romm_access: Option<crate::romm_api::Access>,
    /// RomM's container, whose view is set beside this one's.
    pub container: Option<&'a Container>,
}

/// `romm-oidc doctor`: the report on stdout. With `--login`, Ctrl-C ends the
/// login wait; the report of what ran still prints, and the status says the
/// run was cut short.
pub fn command(
    args: &DoctorArgs,
    settings: &Settings,
    config: &Config,
    container: Option<&Container>,
) -> Result<Exit> {
    if args.demo {
        return demo(config, args.report_format(), args.redact_hosts);
    }
    // With --redact-hosts, the settings' hosts are hosts wherever they show,
    // even as a bare name in a message.
    for url in [
        settings.value(OIDC_SERVER_APPLICATION_URL),
        settings.value(settings::OIDC_SERVER_METADATA_URL),
        settings.value(settings::OIDC_REDIRECT_URI),
        settings.romm_url.as_deref(),
    ] {
        crate::redact::learn(url.unwrap_or_default());
    }
    if args.insecure {
        eprintln!("romm-oidc: WARNING: --insecure: TLS certificates are NOT verified in this run");
    }
    let romm_log = match &args.romm_log {
        Some(path) => {
            let input = crate::romm_log::read(path, config.timeout)
                .map_err(|e| e.context("cannot use --romm-log"))?;
            Some(crate::romm_log::judge_input(&input))
        }
        None => None,
    };
    let login = args.login.login.then(|| config.login(&args.login));
    if login.is_some() {
        interrupt::install(Policy::Finish);
    }
    let romm_access =
        settings::romm_access(&args.romm, args.report_format() != ReportFormat::Text)?;
    progress::line(&format!(
        "romm-oidc: checking {}… (each request at most {} s)",
        match settings.value(OIDC_SERVER_APPLICATION_URL) {
            Some(issuer) => format!("the settings, the provider at {issuer} and RomM"),
            None => "the settings and RomM".to_string(),
        },
        config.timeout.as_secs_f64()
    ));
    let options = Options {
        run: config,
        insecure: args.insecure,
        login,
        email: args.login.email.clone(),
        romm_access,
        container,
    };
    // RomM's own log, read from its container beside the checks unless given.
    let (report, from_container) = std::thread::scope(|s| {
        let log = container
            .filter(|_| romm_log.is_none())
            .map(|c| s.spawn(|| container::log(c)));
        let report = run(settings, &options, interrupt::flag());
        (report, log.map(|log| log.join()))
    });
    let mut report = report?;
    let romm_log = romm_log.or(match from_container {
        Some(Ok(findings)) => Some(findings),
        Some(Err(_)) => Some(vec![Finding::fail(
            id::ROMM_LOG,
            "Reading RomM's log crashed; please report it",
        )]),
        None => None,
    });
    if let Some(findings) = romm_log {
        report.extend(findings);
        report.verdict = Some(verdict::judge(&report.checks));
    }
    report::print_stdout(&match args.report_format() {
        ReportFormat::Text => report.to_human(),
        ReportFormat::Json => report.to_json(),
        ReportFormat::Markdown => {
            report.to_markdown(&Setup::new(settings, command_line(args, settings, config)))
        }
    })?;
    Ok(Exit::checked(report.ok(), interrupt::interrupted()))
}

/// The doctor's command line as the markdown report shows it: the options
/// that change what was checked, a secret given as a value removed (the
/// settings' flags are in the settings' sources).
fn command_line(args: &DoctorArgs, settings: &Settings, config: &Config) -> String {
    let quote = |text: &str| shell_words::quote(text).into_owned();
    let path = |p: &Path| quote(&p.to_string_lossy());
    let mut words = vec![format!("romm-oidc {} doctor", crate::version::ROMM_OIDC)];
    let c = &args.container;
    if let Some(name) = &c.container {
        words.push(format!("--container {}", quote(name)));
    }
    if let Some(engine) = c.engine {
        words.push(format!("--engine {engine:?}").to_lowercase());
    }
    if let Some(exec) = &c.exec {
        // Only the program: the rest may carry a token (`kubectl --token=…`).
        let program = exec.words().first().map(String::as_str).unwrap_or_default();
        words.push(format!("--exec {}", quote(&format!("{program} …"))));
    }
    if let Some(url) = &settings.romm_url {
        words.push(format!("--romm-url {}", quote(url)));
    }
    if let Some(file) = &settings.env_file {
        words.push(format!("--env-file {}", path(&file.path)));
    }
    if let Some(file) = &args.romm_log {
        words.push(format!("--romm-log {}", path(file)));
    }
    let login = &args.login;
    if login.login {
        words.push(format!("--login --login-timeout {}", login.login_timeout));
    }
    for (on, flag) in [(login.pkce, "--pkce"), (args.insecure, "--insecure")] {
        if on {
            words.push(flag.to_string());
        }
    }
    if let Some(email) = &login.email {
        words.push(format!("--email {}", quote(email)));
    }
    if settings.api_key.is_some() {
        words.push("--pocket-id-api-key (given, removed)".into());
    }
    if let Some(user) = &args.romm.romm_username {
        words.push(format!(
            "--romm-username {} (password removed)",
            quote(user)
        ));
    }
    if args.romm.romm_token_file.is_some() {
        words.push("--romm-token-file (given, removed)".into());
    }
    words.push(format!("--timeout {}", config.timeout.as_secs_f64()));
    words.push("--format markdown".into());
    if args.redact_hosts {
        words.push("--redact-hosts".into());
    }
    words.join(" \\\n  ")
}

/// The inputs only one flag may read: stdin.
pub fn check_inputs(args: &DoctorArgs) -> Result<()> {
    let stdin = Path::new("-");
    let readers: Vec<&str> = [
        ("--romm-log", args.romm_log.as_deref()),
        (
            "--client-secret-file",
            args.settings.client_secret_file.as_deref(),
        ),
        (
            "--pocket-id-api-key-file",
            args.settings.pocket_id_api_key_file.as_deref(),
        ),
    ]
    .into_iter()
    .filter(|(_, path)| *path == Some(stdin))
    .map(|(flag, _)| flag)
    .collect();
    if readers.len() > 1 && readers[0] == "--romm-log" {
        anyhow::bail!(
            "{} - cannot all read stdin; give all but one of them a file",
            readers.join(" - and ")
        );
    }
    Ok(())
}

#[cfg(feature = "demo")]
fn demo(config: &Config, format: ReportFormat, redact_hosts: bool) -> Result<Exit> {
    let ok = crate::demo::run(config, format, redact_hosts, report::print_stdout)?;
    Ok(Exit::checked(ok, interrupt::interrupted()))
}

#[cfg(not(feature = "demo"))]
fn demo(_: &Config, _: ReportFormat, _: bool) -> Result<Exit> {
    anyhow::bail!(
        "--demo: this romm-oidc was built without the demo (the `demo` cargo feature, on by default), which brings the Pocket ID emulator and RomM double it runs against"
    )
}

pub fn run(settings: &Settings, options: &Options<'_>, cancelled: &AtomicBool) -> Result<Report> {
    let mut report = Report::default();
    report.extend(config::run(settings, config::Purpose::Diagnose));
    report.extend(options.container.map(container::env));
    let ca = tls::ca_file(settings);
    let ca_setting = settings.value(OIDC_TLS_CACERTFILE).map(Path::new);
    let ca_usable = ca.status == crate::report::Status::Pass;
    report.extend([ca]);
    if options.insecure {
        report.extend([tls::insecure()]);
    }
    let http_options = http::Options {
        timeout: options.run.timeout,
        ca_file: ca_setting.filter(|_| ca_usable),
        insecure: options.insecure,
        verbose: options.run.verbose,
    };
    // A CA file that is here but unusable leaves RomM trusting nothing; one
    // that is only in RomM's container cannot be judged (tls.ca-file says so).
    let http = match ca_setting {
        Some(path) if !ca_usable && path.exists() => Http::with_trust(
            &http_options,
            crate::tls::Trust::nothing(format!(
                "nothing: RomM cannot use OIDC_TLS_CACERTFILE {} (see tls.ca-file)",
                path.display()
            )),
        )?,
        _ => Http::new(&http_options)?,
    };
    let (provider, romm_findings, doc, users, inside) = std::thread::scope(|s| {
        let inside = options
            .container
            .map(|c| s.spawn(move || (c, c.probe(&[]))));
        let romm_probes = s.spawn(|| romm::fetch(settings, &http));
        let users = s.spawn(|| romm_users::fetch(settings, &http, options.romm_access.as_ref()));
        let (mut findings, doc) = discovery::run(settings, &http);
        let romm_answers = || romm_probes.join().ok().flatten();
        let answers = match &doc {
            Some(doc) => {
                provider_checks(settings, &http, doc, options, romm_answers, &mut findings)
            }
            None => without_discovery(settings, &http, romm_answers(), &mut findings),
        };
        let romm_findings = romm::judge(settings, answers.as_ref(), doc.as_ref());
        let users = users
            .join()
            .unwrap_or_else(|_| romm_users::Users::crashed());
        let inside = inside.map(|probe| probe.join());
        (findings, romm_findings, doc, users, inside)
    });
    // RomM's container's view, each after the finding from here (the sort below
    // keeps that order within an id).
    let views = match &inside {
        Some(Ok((_, Ok(answers)))) => container::views(settings, answers, &provider),
        _ => Vec::new(),
    };
    report.extend(provider);
    report.extend(views);
    report.extend(inside.map(|probe| match probe {
        Ok((c, answers)) => container::client(c, &answers),
        Err(_) => Finding::fail(id::CONTAINER_PROBE, "This check crashed; please report it"),
    }));
    report.extend(romm_findings);
    report.extend([users.finding]);
    let accounts = users.accounts.as_deref();
    match &options.login {
        Some(login) => {
            let findings = login::run(
                settings,
                &http,
                doc.as_ref(),
                login,
                accounts,
                cancelled,
                &report.checks,
                &crate::progress::Stderr::default(),
            )
            .findings;
            report.extend(findings);
        }
        None => {
            let email = options.email.as_deref();
            let account =
                romm_users::account_without_login(settings, &report.checks, email, accounts);
            report.extend([account]);
        }
    }
    // Threads finish in any order; the report lists the checks in one.
    report.checks.sort_by_key(|f| id::rank(f.id));
    report.verdict = Some(verdict::judge(&report.checks));
    Ok(report)
}

/// The checks that need the discovery document, at once: RomM's
/// authorization request as soon as RomM's redirect (`romm_answers`, when
/// --romm-url) is in, the keys, the client, and Pocket ID's admin API.
/// Returns RomM's answers for the RomM checks.
fn provider_checks(
    settings: &Settings,
    http: &Http,
    doc: &Discovery,
    options: &Options<'_>,
    romm_answers: impl FnOnce() -> Option<romm::Answers> + Send,
    findings: &mut Vec<Finding>,
) -> Option<romm::Answers> {
    std::thread::scope(|inner| {
        let callback = inner.spawn(|| {
            let answers = romm_answers();
            let finding = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                redirect_uri::run(settings, http, Some(doc), answers.as_ref())
            }));
            (answers, joined(finding, id::CLIENT_REDIRECT_URI))
        });
        let jwks = inner.spawn(|| jwks::run(http, doc));
        let exists = inner.spawn(|| credentials::exists(settings, http, doc));
        let admin = inner.spawn(|| pocketid::run(settings, http, doc, options.email.as_deref()));
        let probe = credentials::probe(settings, http, doc);
        findings.push(joined(jwks.join(), id::JWKS_KEYS));
        findings.push(joined(exists.join(), id::CLIENT_EXISTS));
        findings.push(probe);
        let (answers, callback) = callback.join().unwrap_or_else(|_| {
            (
                None,
                Finding::fail(
                    id::CLIENT_REDIRECT_URI,
                    "This check crashed; please report it",
                ),
            )
        });
        findings.push(callback);
        match admin.join() {
            Ok(admin) => {
                findings.extend(admin);
                discovery::with_pocket_id_version(findings, settings, doc);
            }
            Err(_) => findings.push(Finding::fail(
                id::POCKETID_VERSION,
                "The Pocket ID checks crashed; please report it",
            )),
        }
        answers
    })
}

/// Without the discovery document: the provider checks skipped, RomM's
/// redirect still judged. Returns RomM's answers for the RomM checks.
fn without_discovery(
    settings: &Settings,
    http: &Http,
    answers: Option<romm::Answers>,
    findings: &mut Vec<Finding>,
) -> Option<romm::Answers> {
    let skip = |id| Finding::skip(id, "Needs the discovery document");
    findings.extend([
        skip(id::JWKS_KEYS),
        skip(id::CLIENT_EXISTS),
        skip(id::CLIENT_CREDENTIALS),
    ]);
    findings.push(redirect_uri::run(settings, http, None, answers.as_ref()));
    findings.extend(id::POCKET_ID.iter().map(|&id| skip(id)));
    answers
}

/// A check thread's finding; a panic becomes a failing finding, not a crash.
fn joined(result: std::thread::Result<Finding>, id: &'static str) -> Finding {
    result.unwrap_or_else(|_| Finding::fail(id, "This check crashed; please report it"))
}
