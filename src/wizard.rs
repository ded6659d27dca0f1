//! `romm-oidc wizard`: asks only what no flag, environment or env file
//! answered, checks every answer at once with the doctor's own checks, and
//! ends with an env block known to work. Prompts and notes go to stderr; only
//! a printed block goes to stdout.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use console::{Style, Term};
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, Password, Select};
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::checks::config::{self, CALLBACK_PATH, Purpose};
use crate::checks::{credentials, discovery, login};
use crate::cli::WizardArgs;
use crate::emit::{self, Format};
use crate::files;
use crate::http::{self, Http};
use crate::interrupt::{self, Policy};
use crate::oidc::discovery::{Discovery, Flavor};
use crate::oidc::loopback::PORTLESS_CALLBACK;
use crate::pocketid::callbacks::{self, Family};
use crate::pocketid::{Api, client_update_body, user_verified_body};
use crate::report::{self, Finding, Report, Status, note};
use crate::run::Config;
use crate::settings::{
    OIDC_CLAIM_ROLES, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI, OIDC_ROLE_ADMIN,
    OIDC_ROLE_EDITOR, OIDC_ROLE_VIEWER, OIDC_SERVER_APPLICATION_URL, OIDC_TLS_CACERTFILE, RESTART,
    Settings,
};

struct Wizard<'a> {
    args: &'a WizardArgs,
    settings: Settings,
    interactive: bool,
    term: Term,
    theme: ColorfulTheme,
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
    let mut wizard = Wizard {
        args,
        settings,
        interactive: interactive && !args.yes,
        term: Term::stderr(),
        theme: ColorfulTheme::default(),
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

impl Wizard<'_> {
    fn set(&mut self, name: &'static str, value: String) {
        self.settings = self.settings.with(name, value);
    }

    fn ask(&self, prompt: &str, default: Option<&str>) -> Result<String> {
        self.ask_text(prompt, default, false)
    }

    /// A question whose empty answer means "none" or "skip".
    fn ask_optional(&self, prompt: &str, default: Option<&str>) -> Result<String> {
        self.ask_text(prompt, default, true)
    }

    fn ask_text(&self, prompt: &str, default: Option<&str>, optional: bool) -> Result<String> {
        let mut input = Input::<String>::with_theme(&self.theme)
            .with_prompt(prompt)
            .allow_empty(optional);
        if let Some(d) = default {
            input = input.default(d.to_string());
        }
        Ok(input.interact_text_on(&self.term)?.trim().to_string())
    }

    fn confirm(&self, prompt: &str, default: bool) -> Result<bool> {
        if !self.interactive {
            return Ok(default);
        }
        Ok(Confirm::with_theme(&self.theme)
            .with_prompt(prompt)
            .default(default)
            .interact_on(&self.term)?)
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
            let given = self.settings.romm_url.clone();
            let url = match given {
                Some(u) => u,
                None if !self.interactive => {
                    // --yes with OIDC_REDIRECT_URI already set: keep it.
                    return Ok(());
                }
                None => {
                    // An OIDC_REDIRECT_URI already set suggests the answer.
                    let hint = self
                        .settings
                        .value(OIDC_REDIRECT_URI)
                        .and_then(|r| url::Url::parse(r).ok())
                        .map(|u| u.origin().ascii_serialization());
                    self.ask(
                        "RomM's public URL (what users type in the browser)",
                        hint.as_deref(),
                    )?
                }
            };
            let base = url.trim().trim_end_matches('/').to_string();
            self.settings.romm_url = Some(base.clone());
            self.set(OIDC_REDIRECT_URI, format!("{base}{CALLBACK_PATH}"));
            let mut problems = Vec::new();
            match url::Url::parse(&base) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                    if u.path() != "/" && !u.path().is_empty() {
                        problems.push(format!(
                            "RomM is served at the root of its host; drop the path {}",
                            u.path()
                        ));
                    }
                    if u.host_str() == Some("localhost") || u.host_str() == Some("127.0.0.1") {
                        eprintln!(
                            "  ⚠ {base} only works on this machine: use the address other devices open RomM at."
                        );
                    } else if u.scheme() == "http" {
                        eprintln!(
                            "  ⚠ plain http to {}: Pocket ID 2.10.0 refuses http callbacks to non-loopback hosts; serve RomM over https.",
                            u.host_str().unwrap_or("")
                        );
                    }
                }
                _ => problems.push("give an absolute URL such as https://romm.example.com".into()),
            }
            if problems.is_empty() {
                eprintln!("  ✔ RomM's callback URL is {base}{CALLBACK_PATH}");
                return Ok(());
            }
            for p in &problems {
                eprintln!("  ✘ {p}");
            }
            if !self.interactive {
                bail!("--romm-url {url}: {}", problems.join("; "));
            }
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
                if !self.interactive {
                    bail!("the provider URL is missing: give --issuer");
                }
                let url = self.ask(
                    "Pocket ID's URL (its APP_URL, e.g. https://id.example.com)",
                    None,
                )?;
                self.set(OIDC_SERVER_APPLICATION_URL, url);
            }
            asked = true;
            let check = config::issuer_url(&self.settings);
            if check.status == Status::Fail {
                show(&check);
                match check.expected.clone().filter(|e| e.starts_with("http")) {
                    Some(base) if self.confirm(&format!("Use {base} instead?"), true)? => {
                        self.set(OIDC_SERVER_APPLICATION_URL, base);
                    }
                    _ if self.interactive => continue,
                    _ => bail!("{}", check.summary),
                }
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
                None if self.interactive => eprintln!("  Let's try another URL."),
                None => bail!("the provider's discovery document could not be read"),
            }
        }
    }

    /// Step 3: what to click in Pocket ID, with the values filled in.
    fn provider_steps(&self, discovery: &Discovery) {
        heading("3. Create RomM's client at the provider");
        let callback = self
            .settings
            .value(OIDC_REDIRECT_URI)
            .unwrap_or("<RomM URL>/api/oauth/openid")
            .to_string();
        let issuer = discovery.issuer().unwrap_or("the provider");
        match discovery.flavor() {
            Flavor::Other => note!(
                "  At {issuer}: create a confidential client (client_secret_basic, authorization code flow, no PKCE requirement) with the redirect URI\n      {callback}\n  and make sure email and email_verified are put in the ID token for the email scope."
            ),
            flavor => {
                let verified = if flavor == Flavor::PocketIdModern {
                    "Application Configuration → Email → tick \"Emails verified by default\" (new users). Existing users: Settings → Admin → Users → edit → \"Mark as verified\"."
                } else {
                    "2.2–2.9: Application Configuration → Email → \"Emails verified by default\", and mark existing users verified under Users; before 2.2: Application Configuration → General → \"Emails Verified\"."
                };
                note!("  In Pocket ID at {issuer} — {}:", flavor.describe());
                eprintln!("   a. Settings → Admin → {verified}");
                eprintln!("   b. Settings → Admin → OIDC Clients → Add OIDC Client:");
                eprintln!("        Name:          RomM");
                eprintln!("        Callback URLs: {callback}");
                eprintln!(
                    "                       {PORTLESS_CALLBACK}   (only for the login test; remove it afterwards)"
                );
                eprintln!(
                    "        Public client: off      PKCE: off   (RomM sends a secret and no PKCE)"
                );
                eprintln!(
                    "      Save, then copy the Client ID and the Client secret — the secret is shown only once."
                );
            }
        }
    }

    /// Step 4: client id and secret, proven at once with the credential probe.
    fn client(&mut self, discovery: &Discovery) -> Result<()> {
        heading("4. Client id and secret");
        let mut again = false;
        loop {
            if self.settings.value(OIDC_CLIENT_ID).is_none() || again {
                if !self.interactive {
                    bail!("the client id is missing: give --client-id");
                }
                let id = self.ask("Client ID", self.settings.value(OIDC_CLIENT_ID))?;
                self.set(OIDC_CLIENT_ID, id);
            }
            if self.settings.value(OIDC_CLIENT_SECRET).is_none() || again {
                if !self.interactive {
                    bail!("the client secret is missing: give --client-secret-file");
                }
                let secret = Password::with_theme(&self.theme)
                    .with_prompt("Client secret (hidden)")
                    .interact_on(&self.term)?;
                self.set(OIDC_CLIENT_SECRET, secret);
            }
            // A secret RomM cannot send intact is refused before the
            // provider is asked, with the reason rather than "wrong secret".
            let sendable = config::client(&self.settings);
            if sendable.status == Status::Fail {
                show(&sendable);
                if !self.interactive {
                    bail!("{}", sendable.summary);
                }
                eprintln!("  Let's enter them again.");
                again = true;
                continue;
            }
            let exists = credentials::exists(&self.settings, &self.http, discovery);
            if exists.status != Status::Skip {
                show(&exists);
            }
            let probe = credentials::probe(&self.settings, &self.http, discovery);
            show(&probe);
            if probe.status != Status::Fail && exists.status != Status::Fail {
                return Ok(());
            }
            if !self.interactive {
                bail!("the provider refused the client id or secret");
            }
            eprintln!("  Let's enter them again.");
            again = true;
        }
    }

    /// Step 5: the real login of `doctor --login`, repeated until RomM would
    /// accept it or the user moves on. Returns the ID token's claims.
    fn login_test(
        &mut self,
        discovery: &Discovery,
    ) -> Result<Option<serde_json::Map<String, Value>>> {
        heading("5. Login test");
        // Without prompts the login test runs only when asked for (--login).
        let wanted = self.args.login.login
            || (self.interactive
                && self.confirm(&format!("Run a real login now, to see the token RomM will get? (needs the extra callback {PORTLESS_CALLBACK})"), true)?);
        if !wanted {
            eprintln!("  – skipped (run `romm-oidc doctor --login` any time)");
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
            if !failed {
                return Ok(claims);
            }
            if !self.interactive
                || !self.confirm("Fixed it at the provider? Run the login test again?", true)?
            {
                return Ok(claims);
            }
        }
    }

    /// Step 6: the RomM user's email, which RomM matches case-insensitively.
    fn email(
        &mut self,
        claims: Option<&serde_json::Map<String, Value>>,
        discovery: &Discovery,
    ) -> Result<()> {
        heading("6. The RomM user");
        let token_email = claims.and_then(|c| c.get("email")).and_then(Value::as_str);
        let email = match (&self.login.email, self.interactive) {
            (Some(e), _) => e.clone(),
            (None, true) => self.ask_optional(
                "Email of the RomM user who will log in (empty to skip)",
                token_email.filter(|t| !t.chars().any(report::is_unsafe)),
            )?,
            (None, false) => String::new(),
        };
        match (email.is_empty(), token_email) {
            (true, _) => eprintln!(
                "  – RomM matches accounts by email: the RomM profile's email must equal the provider's."
            ),
            (false, Some(t)) if t.eq_ignore_ascii_case(&email) => {
                note!("  ✔ the token's email {t} matches the RomM user")
            }
            (false, Some(t)) => note!(
                "  ✘ the token carries {t}, the RomM user has {email}: make them equal (RomM would create a new account instead)"
            ),
            (false, None) => eprintln!("  ✔ make sure the provider's user has the email {email}"),
        }
        if !email.is_empty() {
            self.mark_verified(&email, discovery)?;
        }
        Ok(())
    }

    /// With an API key: the Pocket ID user with `email`, marked verified on
    /// request (GET, then a PUT of the whole user with emailVerified true).
    fn mark_verified(&mut self, email: &str, discovery: &Discovery) -> Result<()> {
        let (Some(key), Some(base)) = (
            self.settings.api_key.clone(),
            crate::pocketid::api_base(&self.settings),
        ) else {
            return Ok(());
        };
        if !discovery.flavor().is_pocket_id() {
            return Ok(());
        }
        let http = self.http.clone();
        let api = Api::new(&http, &base, &key);
        let user = match api.find_user(email) {
            Ok(Some(u)) => u,
            Ok(None) => {
                eprintln!(
                    "  ✘ no Pocket ID user has the email {email}: set it on the user who logs in to RomM"
                );
                return Ok(());
            }
            Err(e) => {
                note!("  ⚠ could not search Pocket ID's users: {e}");
                return Ok(());
            }
        };
        let who = user
            .get("username")
            .and_then(Value::as_str)
            .unwrap_or("the user")
            .to_string();
        match user.get("emailVerified").and_then(Value::as_bool) {
            Some(true) => note!("  ✔ {who}'s email is verified in Pocket ID"),
            None => eprintln!(
                "  – this Pocket ID (before 2.2) has no per-user flag: Application Configuration → \"Emails Verified\" decides"
            ),
            Some(false) => {
                note!(
                    "  ✘ {who}'s email is not verified: RomM would answer \"Email is not verified.\""
                );
                if self.confirm(
                    &report::clean_lines(&format!(
                        "Mark {who} <{email}> verified in Pocket ID now?"
                    )),
                    true,
                )? {
                    let id = user.get("id").and_then(Value::as_str).unwrap_or_default();
                    match api.update_user(id, &user_verified_body(&user)) {
                        Ok(_) => {
                            eprintln!("  ✔ marked verified");
                            self.writes
                                .push(format!("user {who} <{email}>: emailVerified set to true"));
                        }
                        Err(e) => note!("  ✘ Pocket ID refused: {e}"),
                    }
                }
            }
        }
        Ok(())
    }

    /// Step 3 with an API key: create the RomM client, or repair the one named
    /// by OIDC_CLIENT_ID, asking before every write; the new secret goes
    /// straight into the settings, never to the screen.
    fn pocket_id_client(&mut self, discovery: &Discovery) -> Result<()> {
        heading("3. RomM's client in Pocket ID (API key)");
        let key = self.settings.api_key.clone().unwrap_or_default();
        let base = crate::pocketid::api_base(&self.settings).unwrap_or_default();
        let http = self.http.clone();
        let api = Api::new(&http, &base, &key);
        let version = match api.me().and_then(|_| api.version()) {
            Ok(v) => v.as_deref().and_then(crate::version::parse),
            Err(e) => {
                note!("  ✘ Pocket ID's API refused the key ({e}); falling back to instructions");
                self.provider_steps(discovery);
                return Ok(());
            }
        };
        let callback = self
            .settings
            .value(OIDC_REDIRECT_URI)
            .unwrap_or_default()
            .to_string();
        let mut wanted = vec![callback.clone()];
        if self.args.login.login || self.interactive {
            wanted.push(PORTLESS_CALLBACK.into());
        }
        let existing = match self.settings.value(OIDC_CLIENT_ID) {
            Some(id) => match api.client(id) {
                Ok(c) => Some(c),
                Err(e) if e.status() == Some(404) => {
                    note!("  ✘ Pocket ID has no client {id}");
                    None
                }
                Err(e) => bail!("cannot read client {id}: {e}"),
            },
            None => None,
        };
        let id = match existing {
            Some(client) => {
                let id = client
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let mut body = client_update_body(&client);
                let mut changes = Vec::new();
                for (flag, label) in [
                    ("isPublic", "Public client"),
                    ("pkceEnabled", "PKCE"),
                    ("requiresPushedAuthorizationRequests", "Requires PAR"),
                ] {
                    if body.get(flag).and_then(Value::as_bool) == Some(true) {
                        body[flag] = Value::Bool(false);
                        changes.push(format!("{label}: on → off"));
                    }
                }
                let mut urls: Vec<Value> = body
                    .get("callbackURLs")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let family = if version.is_some_and(|v| v < (2, 0, 0)) {
                    Family::V1
                } else {
                    Family::V2
                };
                for url in &wanted {
                    let covered = urls
                        .iter()
                        .filter_map(Value::as_str)
                        .any(|p| callbacks::matches(p, url, family));
                    if !covered {
                        urls.push(Value::String(url.clone()));
                        changes.push(format!("callback URL added: {url}"));
                    }
                }
                body["callbackURLs"] = Value::Array(urls);
                if changes.is_empty() {
                    note!("  ✔ client {id} is confidential, PKCE off, and has RomM's callback");
                } else {
                    note!("  Client {id} needs: {}", changes.join("; "));
                    if self.confirm(
                        "Apply these changes (nothing else on the client changes)?",
                        true,
                    )? {
                        api.update_client(&id, &body)
                            .map_err(|e| anyhow::anyhow!("Pocket ID refused the update: {e}"))?;
                        eprintln!("  ✔ client updated");
                        self.writes
                            .push(format!("client {id}: {}", changes.join("; ")));
                    }
                }
                id
            }
            None => {
                let body = serde_json::json!({
                    "name": "RomM",
                    "callbackURLs": wanted,
                    "logoutCallbackURLs": [],
                    "isPublic": false,
                    "pkceEnabled": false,
                    "requiresReauthentication": false,
                    "isGroupRestricted": false,
                });
                eprintln!(
                    "  Will create the client \"RomM\": confidential, PKCE off, callbacks {}",
                    wanted.join(", ")
                );
                if !self.confirm("Create it in Pocket ID?", true)? {
                    self.provider_steps(discovery);
                    return Ok(());
                }
                let created = api
                    .create_client(&body)
                    .map_err(|e| anyhow::anyhow!("Pocket ID refused to create the client: {e}"))?;
                let id = created
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                note!("  ✔ created client {id}");
                self.writes.push(format!("client {id} \"RomM\" created"));
                self.set(OIDC_CLIENT_ID, id.clone());
                id
            }
        };
        if self.settings.value(OIDC_CLIENT_SECRET).is_none() {
            let replaces = version.is_none_or(|v| v < (2, 14, 0));
            let prompt = if replaces {
                "Create a client secret now? (this Pocket ID keeps one secret: a new one replaces the old)"
            } else {
                "Create a client secret now? (existing secrets stay valid)"
            };
            if self.confirm(prompt, true)? {
                let secret = api
                    .create_secret(&id, version)
                    .map_err(|e| anyhow::anyhow!("Pocket ID refused to create a secret: {e}"))?;
                eprintln!("  ✔ secret created and kept for the env block (not shown)");
                self.writes.push(format!(
                    "client {id}: a new client secret{}",
                    if replaces {
                        " (replacing the previous one)"
                    } else {
                        ""
                    }
                ));
                self.set(OIDC_CLIENT_SECRET, secret.expose_secret().to_string());
            }
        }
        Ok(())
    }

    /// Step 7: optional role mapping, offering the claims the token carries.
    fn roles(&mut self, claims: Option<&serde_json::Map<String, Value>>) -> Result<()> {
        heading("7. Roles (optional)");
        if !self.interactive || self.settings.value(OIDC_CLAIM_ROLES).is_some() {
            let given: Vec<String> = [
                OIDC_CLAIM_ROLES,
                OIDC_ROLE_ADMIN,
                OIDC_ROLE_EDITOR,
                OIDC_ROLE_VIEWER,
            ]
            .iter()
            .filter_map(|name| self.settings.value(name).map(|v| format!("{name}={v}")))
            .collect();
            if given.is_empty() {
                eprintln!(
                    "  – no role mapping: new users get RomM's default role (give --claim-roles and --role-admin or --role-viewer to map roles)"
                );
            } else {
                note!("  – as given: {}", given.join(", "));
            }
            return Ok(());
        }
        if !self.confirm("Map RomM roles from a group claim?", false)? {
            return Ok(());
        }
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
        let pick = Select::with_theme(&self.theme)
            .with_prompt("Claim holding the groups")
            .items(&shown)
            .default(0)
            .interact_on(&self.term)?;
        self.set(OIDC_CLAIM_ROLES, names[pick].clone());
        let admin =
            self.ask_optional("Group that makes a user RomM Admin (empty for none)", None)?;
        if !admin.is_empty() {
            self.set(OIDC_ROLE_ADMIN, admin);
        }
        let viewer = self.ask(
            "Group that lets a user in (* for anyone with the claim)",
            Some("*"),
        )?;
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
        let mut target = self.args.output.write.clone();
        let mut format = self.args.output.format;
        if target.is_none() && self.interactive {
            let choices = [
                "Merge into an env file (.env)",
                "Print for docker compose (environment:)",
                "Print as .env lines",
            ];
            match Select::with_theme(&self.theme)
                .with_prompt("Where should it go?")
                .items(choices)
                .default(0)
                .interact_on(&self.term)?
            {
                0 => target = Some(PathBuf::from(self.ask("Env file", Some(".env"))?)),
                1 => format = Format::Compose,
                _ => format = Format::Dotenv,
            }
        }
        match &target {
            Some(path) => emit::merge_into(
                path,
                &block,
                files::WriteOptions::secret(self.args.output.write_read_only),
            )
            .with_context(|| format!("cannot write {}", path.display()))?,
            None => report::print_stdout(&emit::render(&block, format)?)?,
        }
        let romm = self
            .settings
            .romm_url
            .clone()
            .unwrap_or_else(|| "<RomM URL>".into());
        match &target {
            Some(path) => note!(
                "\nNext: recreate RomM so it reads the env ({RESTART}), then confirm it picked it up:\n    romm-oidc doctor --env-file {} --romm-url {romm}",
                shell_words::quote(&path.to_string_lossy())
            ),
            None => note!(
                "\nNext: Nothing was written to a file. Put the block above into RomM's env (its .env file, or the romm service's environment: in compose.yaml), recreate RomM ({RESTART}), then confirm it picked it up:\n    romm-oidc doctor --env-file <that .env file> --romm-url {romm}"
            ),
        }
        Ok(())
    }
}
