//! One doctor run: the static checks, then the network checks in dependency
//! order with everything independent running at once. Discovery is the only
//! step the others wait for; the RomM probes start immediately.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use std::sync::atomic::AtomicBool;

use crate::checks::{
    config, credentials, discovery, jwks, login, pocketid, redirect_uri, romm, tls, verdict,
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
}

pub fn run(settings: &Settings, options: &Options, cancelled: &AtomicBool) -> Result<Report> {
    let mut report = Report::default();
    report.extend(config::run(settings, config::Purpose::Diagnose));
    let ca = tls::ca_file(settings);
    let ca_path = settings
        .value(OIDC_TLS_CACERTFILE)
        .filter(|_| ca.status == crate::report::Status::Pass)
        .map(Path::new);
    report.extend([ca]);
    if options.insecure {
        report.extend([tls::insecure()]);
    }
    let http = Http::new(&http::Options {
        timeout: options.timeout,
        ca_file: ca_path,
        insecure: options.insecure,
        verbose: options.verbose,
    })?;
    let (provider, romm_findings, doc) = std::thread::scope(|s| {
        let romm_answers = s.spawn(|| romm::fetch(settings, &http));
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
        (findings, romm_findings, doc)
    });
    report.extend(provider);
    report.extend(romm_findings);
    if let Some(login) = &options.login {
        let findings = login::run(
            settings,
            &http,
            doc.as_ref(),
            login,
            cancelled,
            &report.checks,
        );
        report.extend(findings);
    }
    report.verdict = Some(verdict::judge(&report.checks));
    Ok(report)
}

/// A check thread's finding; a panic becomes a failing finding, not a crash.
fn joined(result: std::thread::Result<Finding>, id: &'static str) -> Finding {
    result.unwrap_or_else(|_| Finding::fail(id, "This check crashed; please report it"))
}
