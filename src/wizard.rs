//! `romm-oidc wizard`: asks only what no flag, environment or env file
//! answered, checks every answer at once with the doctor's own checks, and
//! ends with an env block known to work. Prompts and notes go to stderr; only
//! a printed block goes to stdout.
//!
//! The steps decide; a [`Prompt`] asks (a person at a terminal, or nobody
//! with `--yes`); what a step finds is a [`Finding`] shown by `report`.

mod instructions;
mod pocket_id;
mod prompt;

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use console::Style;
use serde_json::Value;

use crate::checks::config::{self, CALLBACK_PATH, Purpose};
use crate::checks::id;
use crate::checks::{credentials, discovery, login};
use crate::cli::WizardArgs;
use crate::emit::{self, Format};
use crate::files;
use crate::http::{self, Http};
use crate::interrupt::{self, Policy};
use crate::oidc::discovery::Discovery;
use crate::oidc::loopback::PORTLESS_CALLBACK;
use crate::report::{self, Finding, Report, Status, note};
use crate::run::Config;
use crate::settings::{
    OIDC_CLAIM_ROLES, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI, OIDC_ROLE_ADMIN,
    OIDC_ROLE_EDITOR, OIDC_ROLE_VIEWER, OIDC_SERVER_APPLICATION_URL, OIDC_TLS_CACERTFILE, RESTART,
    Settings,
};
use prompt::{Prompt, Terminal, Unattended};

type Claims = serde_json::Map<String, Value>;

struct Wizard<'a> {
    args: &'a WizardArgs,
    settings: Settings,
    prompt: Box<dyn Prompt>,
    /// The login test runs (`--login`) or will be offered, so the client
    /// needs its loopback callback too.
    login_offered: bool,
    http: Http,
    login: login::Options,
    /// Everything changed in Pocket ID, listed at the end so it can be undone.
    writes: Vec<String>,
}

/// What `--yes` needs, and which flag gives it.
const REQUIRED: &[(&str, &str)] = &[
    (OIDC_SERVER_APPLICATION_URL, "--issuer"),
    (OIDC_CLIENT_ID, "--client-id"),
    (
        OIDC_CLIENT_SECRET,
        "--client-secret or --client-secret-file",
    ),
];

pub fn run(args: &WizardArgs, settings: Settings, config: &Config) -> Result<()> {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    // With an API key the wizard creates the client and its secret itself.
    let creates_client = settings.api_key.is_some();
    let missing: Vec<&str> = REQUIRED
        .iter()
        .filter(|(name, _)| settings.value(name).is_none())
        .filter(|(name, _)| !(creates_client && *name != OIDC_SERVER_APPLICATION_URL))
        .map(|(_, flag)| *flag)
        .chain(
            settings
                .value(OIDC_REDIRECT_URI)
                .is_none()
                .then_some("--romm-url"),
        )
        .collect();
    if !interactive && !args.yes {
        bail!(
            "the wizard needs a terminal to ask its questions. Run it without prompts with --yes and every value given: --romm-url, --issuer, --client-id, --client-secret-file (then --write FILE or --format); or use `romm-oidc doctor` and `romm-oidc emit-env`."
        );
    }
    if args.yes && !missing.is_empty() && !interactive {
        bail!(
            "--yes without a terminal needs these values too: {}",
            missing.join(", ")
        );
    }
    // Ctrl-C at a prompt leaves nothing behind (every write is atomic and
    // happens last); during the login test it only ends the wait.
    interrupt::install(Policy::Quit(
        "romm-oidc: wizard cancelled; nothing was written.",
    ));
    let ca = settings.value(OIDC_TLS_CACERTFILE).map(PathBuf::from);
    let http = Http::new(&http::Options {
        timeout: config.timeout,
        ca_file: ca.as_deref(),
        insecure: false,
        verbose: config.verbose,
    })?;
    let attended = interactive && !args.yes;
    let prompt: Box<dyn Prompt> = if attended {
        Box::new(Terminal::new())
    } else {
        Box::new(Unattended)
    };
    let mut wizard = Wizard {
        args,
        settings,
        prompt,
        login_offered: args.login.login || attended,
        http,
        login: config.login(&args.login),
        writes: Vec::new(),
    };
    let code = wizard.flow();
    // A prompt in raw mode sees Ctrl-C as a key and fails with Interrupted,
    // racing the signal handler: both end the same way.
    if let Err(e) = &code
        && e.downcast_ref::<dialoguer::Error>()
            .is_some_and(|dialoguer::Error::IO(io)| io.kind() == std::io::ErrorKind::Interrupted)
    {
        interrupt::quit();
    }
    if !wizard.writes.is_empty() {
        heading("Changed in Pocket ID (undo them in its admin UI if needed)");
        for w in &wizard.writes {
            note!("  • {w}");
        }
    }
    code
}

fn heading(text: &str) {
    eprintln!("\n{}", Style::new().bold().apply_to(text));
}

fn show(finding: &Finding) {
    eprint!("{}", report::brief(finding, "  ", false));
}

/// Step 1's verdict on RomM's public URL `base`: what is odd about it, then
/// the callback it gives, or what is wrong with it.
fn romm_url_findings(base: &str) -> Vec<Finding> {
    const ID: &str = id::CONFIG_REDIRECT_URI;
    let url = url::Url::parse(base)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    let Some(url) = url else {
        return vec![Finding::fail(
            ID,
            "give an absolute URL such as https://romm.example.com",
        )];
    };
    let host = url.host_str().unwrap_or_default();
    let mut out = Vec::new();
    if host == "localhost" || host == "127.0.0.1" {
        out.push(Finding::warn(
            ID,
            format!(
                "{base} only works on this machine: use the address other devices open RomM at."
            ),
        ));
    } else if url.scheme() == "http" {
        out.push(Finding::warn(
            ID,
            format!("plain http to {host}: Pocket ID 2.10.0 refuses http callbacks to non-loopback hosts; serve RomM over https."),
        ));
    }
    out.push(if url.path() != "/" && !url.path().is_empty() {
        Finding::fail(
            ID,
            format!(
                "RomM is served at the root of its host; drop the path {}",
                url.path()
            ),
        )
    } else {
        Finding::pass(ID, format!("RomM's callback URL is {base}{CALLBACK_PATH}"))
    });
    out
}

/// Step 6's verdict: the RomM user's `email` (empty: not given) against the
/// one the ID token carries.
fn email_finding(email: &str, token: Option<&str>) -> Finding {
    const ID: &str = id::LOGIN_EMAIL_MATCH;
    match (email.is_empty(), token) {
        (true, _) => Finding::skip(
            ID,
            "RomM matches accounts by email: the RomM profile's email must equal the provider's.",
        ),
        (false, Some(t)) if t.eq_ignore_ascii_case(email) => {
            Finding::pass(ID, format!("the token's email {t} matches the RomM user"))
        }
        (false, Some(t)) => Finding::fail(
            ID,
            format!(
                "the token carries {t}, the RomM user has {email}: make them equal (RomM would create a new account instead)"
            ),
        ),
        // No token seen: the provider's email for this user is unproven.
        (false, None) => Finding::warn(
            ID,
            format!("unproven: no login test showed the provider's email for {email}"),
        )
        .detail("RomM logs in the account whose email equals the ID token's (ignoring case); without a token the wizard cannot see the provider's side.")
        .fix(format!(
            "Give the provider's user the email {email}, then prove it: romm-oidc doctor --login --email {email}"
        )),
    }
}

/// Step 7 when nothing is asked: the role mapping as given.
fn roles_given(settings: &Settings) -> Finding {
    const ID: &str = id::CONFIG_ROLES;
    let given: Vec<String> = [
        OIDC_CLAIM_ROLES,
        OIDC_ROLE_ADMIN,
        OIDC_ROLE_EDITOR,
        OIDC_ROLE_VIEWER,
    ]
    .iter()
    .filter_map(|name| settings.value(name).map(|v| format!("{name}={v}")))
    .collect();
    if given.is_empty() {
        Finding::skip(
            ID,
            "no role mapping: new users get RomM's default role (give --claim-roles and --role-admin or --role-viewer to map roles)",
        )
    } else {
        Finding::skip(ID, format!("as given: {}", given.join(", ")))
    }
}

impl Wizard<'_> {
    fn set(&mut self, name: &'static str, value: String) {
        self.settings = self.settings.with(name, value);
    }

    fn flow(&mut self) -> Result<()> {
        heading(
            "RomM OIDC setup — every answer is checked as you go (Ctrl-C quits; nothing is written until the end)",
        );
        self.romm_url()?;
        let discovery = self.provider()?;
        if self.settings.api_key.is_some() && discovery.flavor().is_pocket_id() {
            self.pocket_id_client(&discovery)?;
        } else {
            self.provider_steps(&discovery);
        }
        self.client(&discovery)?;
        let claims = self.login_test(&discovery)?;
        self.email(claims.as_ref(), &discovery)?;
        self.roles(claims.as_ref())?;
        self.output()
    }

    /// Step 1: RomM's public URL, and the callback derived from it.
    fn romm_url(&mut self) -> Result<()> {
        heading("1. RomM");
        loop {
            let url = match self.settings.romm_url.clone() {
                Some(url) => url,
                None => {
                    // An OIDC_REDIRECT_URI already set suggests the answer.
                    let hint = self
                        .settings
                        .value(OIDC_REDIRECT_URI)
                        .and_then(|r| url::Url::parse(r).ok())
                        .map(|u| u.origin().ascii_serialization());
                    let asked = self.prompt.ask(
                        "RomM's public URL (what users type in the browser)",
                        hint.as_deref(),
                    )?;
                    // Nobody to ask: the OIDC_REDIRECT_URI given stays.
                    let Some(url) = asked else { return Ok(()) };
                    url
                }
            };
            let base = url.trim().trim_end_matches('/').to_string();
            self.settings.romm_url = Some(base.clone());
            self.set(OIDC_REDIRECT_URI, format!("{base}{CALLBACK_PATH}"));
            let findings = romm_url_findings(&base);
            findings.iter().for_each(show);
            let problems: Vec<&str> = findings
                .iter()
                .filter(|f| f.status == Status::Fail)
                .map(|f| f.summary.as_str())
                .collect();
            if problems.is_empty() {
                return Ok(());
            }
            let failure = format!("--romm-url {url}: {}", problems.join("; "));
            self.prompt.again(None, failure)?;
            self.settings.romm_url = None;
        }
    }

    /// Step 2: the provider URL, corrected when an endpoint was pasted, and
    /// its discovery document fetched the way RomM fetches it.
    fn provider(&mut self) -> Result<Discovery> {
        heading("2. The provider");
        let mut asked = false;
        loop {
            if self.settings.value(OIDC_SERVER_APPLICATION_URL).is_none() || asked {
                let Some(url) = self.prompt.ask(
                    "Pocket ID's URL (its APP_URL, e.g. https://id.example.com)",
                    None,
                )?
                else {
                    bail!("the provider URL is missing: give --issuer");
                };
                self.set(OIDC_SERVER_APPLICATION_URL, url);
            }
            asked = true;
            if !self.issuer_url()? {
                continue;
            }
            note!(
                "  Fetching {} …",
                self.settings.discovery_url().unwrap_or_default()
            );
            let (findings, doc) = discovery::run(&self.settings, &self.http);
            for f in findings.iter().filter(|f| f.status != Status::Skip) {
                show(f);
            }
            match doc {
                Some(doc) => return Ok(doc),
                None => self.prompt.again(
                    Some("Let's try another URL."),
                    "the provider's discovery document could not be read".into(),
                )?,
            }
        }
    }

    /// The provider URL as RomM reads it; a pasted endpoint or discovery URL
    /// replaced by the base URL on request. `false`: ask for another.
    fn issuer_url(&mut self) -> Result<bool> {
        let check = config::issuer_url(&self.settings);
        if check.status != Status::Fail {
            return Ok(true);
        }
        show(&check);
        match check.expected.clone().filter(|e| e.starts_with("http")) {
            Some(base) if self.prompt.confirm(&format!("Use {base} instead?"), true)? => {
                self.set(OIDC_SERVER_APPLICATION_URL, base);
                Ok(true)
            }
            _ => {
                self.prompt.again(None, check.summary)?;
                Ok(false)
            }
        }
    }

    /// Step 3: what to set up at the provider, with the values filled in.
    fn provider_steps(&self, discovery: &Discovery) {
        heading("3. Create RomM's client at the provider");
        let callback = self
            .settings
            .value(OIDC_REDIRECT_URI)
            .unwrap_or("<RomM URL>/api/oauth/openid");
        let issuer = discovery.issuer().unwrap_or("the provider");
        eprintln!(
            "{}",
            instructions::provider_steps(&discovery.flavor(), issuer, callback)
        );
    }

    /// Step 4: client id and secret, proven at once with the credential probe.
    fn client(&mut self, discovery: &Discovery) -> Result<()> {
        heading("4. Client id and secret");
        let mut again = false;
        loop {
            if self.settings.value(OIDC_CLIENT_ID).is_none() || again {
                let given = self.settings.value(OIDC_CLIENT_ID).map(str::to_string);
                let Some(id) = self.prompt.ask("Client ID", given.as_deref())? else {
                    bail!("the client id is missing: give --client-id");
                };
                self.set(OIDC_CLIENT_ID, id);
            }
            if self.settings.value(OIDC_CLIENT_SECRET).is_none() || again {
                let Some(secret) = self.prompt.secret("Client secret (hidden)")? else {
                    bail!("the client secret is missing: give --client-secret-file");
                };
                self.set(OIDC_CLIENT_SECRET, secret);
            }
            again = true;
            if self.credentials_accepted(discovery)? {
                return Ok(());
            }
        }
    }

    /// Whether the provider accepts the client id and secret. A secret RomM
    /// cannot send intact is refused before the provider is asked, with the
    /// reason rather than "wrong secret". `false`: ask for them again.
    fn credentials_accepted(&mut self, discovery: &Discovery) -> Result<bool> {
        const AGAIN: Option<&str> = Some("Let's enter them again.");
        let sendable = config::client(&self.settings);
        if sendable.status == Status::Fail {
            show(&sendable);
            self.prompt.again(AGAIN, sendable.summary)?;
            return Ok(false);
        }
        let exists = credentials::exists(&self.settings, &self.http, discovery);
        if exists.status != Status::Skip {
            show(&exists);
        }
        let probe = credentials::probe(&self.settings, &self.http, discovery);
        show(&probe);
        if probe.status != Status::Fail && exists.status != Status::Fail {
            return Ok(true);
        }
        let refused = "the provider refused the client id or secret";
        self.prompt.again(AGAIN, refused.into())?;
        Ok(false)
    }

    /// Step 5: the real login of `doctor --login`, repeated until RomM would
    /// accept it or the user moves on. Returns the ID token's claims.
    fn login_test(&mut self, discovery: &Discovery) -> Result<Option<Claims>> {
        heading("5. Login test");
        // Without answers the login test runs only when asked for (--login).
        let question = format!(
            "Run a real login now, to see the token RomM will get? (needs the extra callback {PORTLESS_CALLBACK})"
        );
        let wanted = self.args.login.login || self.prompt.yes_no(&question, true)? == Some(true);
        if !wanted {
            show(&Finding::skip(
                id::LOGIN_CALLBACK,
                "skipped (run `romm-oidc doctor --login` any time)",
            ));
            return Ok(None);
        }
        loop {
            let login::Login { findings, claims } = interrupt::wait(|cancelled| {
                login::run(
                    &self.settings,
                    &self.http,
                    Some(discovery),
                    &self.login,
                    None,
                    cancelled,
                    &[],
                    &crate::progress::Stderr::default(),
                )
            });
            for f in findings.iter().filter(|f| f.status != Status::Skip) {
                show(f);
            }
            if let Some(c) = &claims {
                let pick = |k: &str| {
                    c.get(k)
                        .map(Value::to_string)
                        .unwrap_or_else(|| "(absent)".into())
                };
                note!(
                    "  claims RomM reads: email {}, email_verified {}, preferred_username {}",
                    pick("email"),
                    pick("email_verified"),
                    pick("preferred_username")
                );
            }
            let failed = findings.iter().any(|f| f.status == Status::Fail);
            let retry = "Fixed it at the provider? Run the login test again?";
            if !failed || self.prompt.yes_no(retry, true)? != Some(true) {
                return Ok(claims);
            }
        }
    }

    /// Step 6: the RomM user's email, which RomM matches case-insensitively.
    fn email(&mut self, claims: Option<&Claims>, discovery: &Discovery) -> Result<()> {
        heading("6. The RomM user");
        let token_email = claims.and_then(|c| c.get("email")).and_then(Value::as_str);
        let email = match &self.login.email {
            Some(e) => e.clone(),
            None => self
                .prompt
                .text(
                    "Email of the RomM user who will log in (empty to skip)",
                    token_email.filter(|t| !t.chars().any(report::is_unsafe)),
                    true,
                )?
                .unwrap_or_default(),
        };
        show(&email_finding(&email, token_email));
        if !email.is_empty() {
            self.mark_verified(&email, discovery)?;
        }
        Ok(())
    }

    /// Step 7: optional role mapping, offering the claims the token carries.
    fn roles(&mut self, claims: Option<&Claims>) -> Result<()> {
        heading("7. Roles (optional)");
        let asked = match self.settings.value(OIDC_CLAIM_ROLES) {
            Some(_) => None,
            None => self
                .prompt
                .yes_no("Map RomM roles from a group claim?", false)?,
        };
        match asked {
            None => show(&roles_given(&self.settings)),
            Some(false) => {}
            Some(true) => self.map_roles(claims)?,
        }
        Ok(())
    }

    /// The roles claim picked from those the token carries, and the groups
    /// that make an admin and let a user in.
    fn map_roles(&mut self, claims: Option<&Claims>) -> Result<()> {
        let mut names: Vec<String> = claims
            .map(|c| {
                c.iter()
                    .filter(|(_, v)| v.is_array())
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default();
        if !names.iter().any(|n| n == "groups") {
            names.push("groups".into());
        }
        let shown: Vec<String> = names
            .iter()
            .map(|n| report::clean(n).into_owned())
            .collect();
        let items: Vec<&str> = shown.iter().map(String::as_str).collect();
        let pick = self
            .prompt
            .select("Claim holding the groups", &items, 0)?
            .unwrap_or(0);
        self.set(OIDC_CLAIM_ROLES, names[pick].clone());
        let admin = self
            .prompt
            .text(
                "Group that makes a user RomM Admin (empty for none)",
                None,
                true,
            )?
            .unwrap_or_default();
        if !admin.is_empty() {
            self.set(OIDC_ROLE_ADMIN, admin);
        }
        let viewer = self
            .prompt
            .ask(
                "Group that lets a user in (* for anyone with the claim)",
                Some("*"),
            )?
            .unwrap_or_else(|| "*".into());
        self.set(OIDC_ROLE_VIEWER, viewer);
        show(&config::roles(&self.settings));
        Ok(())
    }

    /// Step 8: preview the block, then merge it into an env file or print it.
    fn output(&mut self) -> Result<()> {
        heading("8. RomM's env");
        let mut report = Report::default();
        report.extend(config::run(&self.settings, Purpose::Emit));
        if !report.ok() {
            for f in report.failures() {
                show(f);
            }
            bail!("the settings still fail a check; nothing was written");
        }
        let block = emit::block(&self.settings);
        // The secret is masked before quoting: quoted, it may no longer read
        // as written (`$` escaped, double quotes), and a search would miss it.
        let masked: Vec<(&'static str, String)> = block
            .iter()
            .map(|(name, value)| match *name {
                OIDC_CLIENT_SECRET => (*name, "••••••••".to_string()),
                _ => (*name, value.clone()),
            })
            .collect();
        let preview = emit::render(&masked, Format::Dotenv)?;
        eprintln!("{}", preview.trim_end());
        let (target, format) = self.destination()?;
        match &target {
            Some(path) => emit::merge_into(
                path,
                &block,
                files::WriteOptions::secret(self.args.output.write_read_only),
            )
            .with_context(|| format!("cannot write {}", path.display()))?,
            None => report::print_stdout(&emit::render(&block, format)?)?,
        }
        self.next_steps(target.as_deref());
        Ok(())
    }

    /// Where the block goes: the env file given or chosen, else printed in
    /// the format given or chosen.
    fn destination(&mut self) -> Result<(Option<PathBuf>, Format)> {
        let given = (self.args.output.write.clone(), self.args.output.format);
        if given.0.is_some() {
            return Ok(given);
        }
        let choices = [
            "Merge into an env file (.env)",
            "Print for docker compose (environment:)",
            "Print as .env lines",
        ];
        Ok(
            match self.prompt.select("Where should it go?", &choices, 0)? {
                None => given,
                Some(0) => (
                    self.prompt
                        .ask("Env file", Some(".env"))?
                        .map(PathBuf::from),
                    given.1,
                ),
                Some(1) => (None, Format::Compose),
                Some(_) => (None, Format::Dotenv),
            },
        )
    }

    /// The closing hint: restart RomM, then let the doctor confirm.
    fn next_steps(&self, target: Option<&std::path::Path>) {
        let romm = self
            .settings
            .romm_url
            .clone()
            .unwrap_or_else(|| "<RomM URL>".into());
        match target {
            Some(path) => note!(
                "\nNext: recreate RomM so it reads the env ({RESTART}), then confirm it picked it up:\n    romm-oidc doctor --env-file {} --romm-url {romm}",
                shell_words::quote(&path.to_string_lossy())
            ),
            None => note!(
                "\nNext: Nothing was written to a file. Put the block above into RomM's env (its .env file, or the romm service's environment: in compose.yaml), recreate RomM ({RESTART}), then confirm it picked it up:\n    romm-oidc doctor --env-file <that .env file> --romm-url {romm}"
            ),
        }
    }
}

#[cfg(test)]
mod tests;
