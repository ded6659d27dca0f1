//! One doctor run: the static checks, then the network checks in dependency
//! order with everything independent running at once. Discovery is the only
//! step the others wait for; the RomM probes start immediately.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use std::sync::atomic::AtomicBool;

use crate::checks::{
    config, credentials, discovery, jwks, login, pocketid, redirect_uri, romm, romm_users, tls,
    verdict,
};
use crate::http::{self, Http};
use crate::report::{Finding, Report};
use crate::settings::{OIDC_TLS_CACERTFILE, Settings};

pub struct Options {
    pub timeout: Duration,
    pub insecure: bool,
    pub verbose: u8,
    pub login: Option<login::Options>,
    /// The RomM user's email, for the Pocket ID user lookup.
    pub email: Option<String>,
    /// Read-only access to RomM's users (`romm.users`, `romm.account`).
    pub romm_access: Option<crate::romm_api::Access>,
}

pub fn run(settings: &Settings, options: &Options, cancelled: &AtomicBool) -> Result<Report> {
    let mut report = Report::default();
    report.extend(config::run(settings, config::Purpose::Diagnose));
    let ca = tls::ca_file(settings);
    let ca_setting = settings.value(OIDC_TLS_CACERTFILE).map(Path::new);
    let ca_usable = ca.status == crate::report::Status::Pass;
    report.extend([ca]);
    if options.insecure {
        report.extend([tls::insecure()]);
    }
    let http_options = http::Options {
        timeout: options.timeout,
        ca_file: ca_setting.filter(|_| ca_usable),
        insecure: options.insecure,
        verbose: options.verbose,
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
    let (provider, romm_findings, doc, users) = std::thread::scope(|s| {
        let romm_answers = s.spawn(|| romm::fetch(settings, &http));
        let users = s.spawn(|| romm_users::fetch(settings, &http, options.romm_access.as_ref()));
        let (mut findings, doc) = discovery::run(settings, &http);
        // RomM's authorization request needs RomM's redirect (when --romm-url)
        // and discovery; it goes out as soon as both are in.
        let answers = if let Some(doc) = &doc {
            std::thread::scope(|inner| {
                let callback = inner.spawn(|| {
                    let answers = romm_answers.join().ok().flatten();
                    let finding = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        redirect_uri::run(settings, &http, Some(doc), answers.as_ref())
                    }));
                    (answers, joined(finding, "client.redirect-uri"))
                });
                let jwks = inner.spawn(|| jwks::run(&http, doc));
                let exists = inner.spawn(|| credentials::exists(settings, &http, doc));
                let admin =
                    inner.spawn(|| pocketid::run(settings, &http, doc, options.email.as_deref()));
                let probe = credentials::probe(settings, &http, doc);
                findings.push(joined(jwks.join(), "jwks.keys"));
                findings.push(joined(exists.join(), "client.exists"));
                findings.push(probe);
                let (answers, callback) = callback.join().unwrap_or_else(|_| {
                    (
                        None,
                        Finding::fail(
                            "client.redirect-uri",
                            "This check crashed; please report it",
                        ),
                    )
                });
                findings.push(callback);
                match admin.join() {
                    Ok(admin) => {
                        findings.extend(admin);
                        discovery::with_pocket_id_version(&mut findings, settings, doc);
                    }
                    Err(_) => findings.push(Finding::fail(
                        "pocketid.version",
                        "The Pocket ID checks crashed; please report it",
                    )),
                }
                answers
            })
        } else {
            let skip = |id| Finding::skip(id, "Needs the discovery document");
            findings.extend([
                skip("jwks.keys"),
                skip("client.exists"),
                skip("client.credentials"),
            ]);
            let answers = romm_answers.join().ok().flatten();
            findings.push(redirect_uri::run(settings, &http, None, answers.as_ref()));
            findings.extend([
                skip("pocketid.version"),
                skip("pocketid.client"),
                skip("pocketid.callbacks"),
                skip("pocketid.users"),
                skip("pocketid.preview"),
            ]);
            answers
        };
        let romm_findings = romm::judge(settings, answers.as_ref(), doc.as_ref());
        let users = users
            .join()
            .unwrap_or_else(|_| romm_users::Users::crashed());
        (findings, romm_findings, doc, users)
    });
    report.extend(provider);
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
    report.verdict = Some(verdict::judge(&report.checks));
    Ok(report)
}

/// A check thread's finding; a panic becomes a failing finding, not a crash.
fn joined(result: std::thread::Result<Finding>, id: &'static str) -> Finding {
    result.unwrap_or_else(|_| Finding::fail(id, "This check crashed; please report it"))
}
