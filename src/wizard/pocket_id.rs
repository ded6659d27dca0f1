//! The wizard's Pocket ID steps with an API key: RomM's client created, or
//! repaired by the plan `pocketid::plan` makes of it, its secret created,
//! and the RomM user's email marked verified. Every write is asked for first
//! and listed at the end; the new secret goes straight into the settings,
//! never to the screen.

use anyhow::{Result, anyhow, bail};
use secrecy::ExposeSecret;
use serde_json::Value;

use super::{Wizard, heading, show};
use crate::checks::{id, pocketid};
use crate::oidc::discovery::Discovery;
use crate::pocketid::plan::{Callback, client_plan};
use crate::pocketid::{Api, api_base, user_verified_body};
use crate::report::{self, Finding, note};
use crate::settings::{OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI};
use crate::version::Version;

/// A record's `field` as text, empty when absent.
fn text(record: &Value, field: &str) -> String {
    record
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// What the wizard says of the RomM user's `emailVerified` flag.
fn verified_finding(who: &str, verified: Option<bool>) -> Finding {
    const ID: &str = id::POCKETID_USERS;
    match verified {
        Some(true) => Finding::pass(ID, format!("{who}'s email is verified in Pocket ID")),
        None => Finding::skip(
            ID,
            "this Pocket ID (before 2.2) has no per-user flag: Application Configuration → \"Emails Verified\" decides",
        ),
        Some(false) => Finding::fail(
            ID,
            format!("{who}'s email is not verified: RomM would answer \"Email is not verified.\""),
        ),
    }
}

impl Wizard<'_> {
    /// Step 3 with an API key: create the RomM client, or repair the one named
    /// by OIDC_CLIENT_ID, then give it a secret when none is set.
    pub(super) fn pocket_id_client(&mut self, discovery: &Discovery) -> Result<()> {
        heading("3. RomM's client in Pocket ID (API key)");
        let key = self.settings.api_key.clone().unwrap_or_default();
        let base = api_base(&self.settings).unwrap_or_default();
        let http = self.http.clone();
        let api = Api::new(&http, &base, &key);
        // The doctor's own judgement of the key: it works and is an admin's.
        let version = match pocketid::server_version(&api) {
            Ok((_, version)) => version,
            Err((refused, _)) => {
                show(&refused);
                note!("  Falling back to the steps to follow by hand.");
                self.provider_steps(discovery);
                return Ok(());
            }
        };
        let callback = self
            .settings
            .value(OIDC_REDIRECT_URI)
            .unwrap_or_default()
            .to_string();
        let mut wanted = vec![Callback::Exact(&callback)];
        if self.login_offered {
            wanted.push(Callback::Loopback);
        }
        let id = match self.existing_client(&api)? {
            Some(client) => self.repair_client(&api, &client, &wanted, version)?,
            None => match self.create_client(&api, &wanted, version)? {
                Some(id) => id,
                None => {
                    self.provider_steps(discovery);
                    return Ok(());
                }
            },
        };
        self.client_secret(&api, &id, version)
    }

    /// The client OIDC_CLIENT_ID names, when Pocket ID has it.
    fn existing_client(&self, api: &Api<'_>) -> Result<Option<Value>> {
        let Some(id) = self.settings.value(OIDC_CLIENT_ID) else {
            return Ok(None);
        };
        match api.client(id) {
            Ok(client) => Ok(Some(client)),
            Err(e) if e.status() == Some(404) => {
                show(&Finding::fail(
                    id::POCKETID_CLIENT,
                    format!("Pocket ID has no client {id}"),
                ));
                Ok(None)
            }
            Err(e) => bail!("cannot read client {id}: {e}"),
        }
    }

    /// The changes `client` needs, applied on request with a PUT of the
    /// whole client (nothing else on it changes). Returns its id.
    fn repair_client(
        &mut self,
        api: &Api<'_>,
        client: &Value,
        wanted: &[Callback<'_>],
        version: Option<Version>,
    ) -> Result<String> {
        let id = text(client, "id");
        let plan = client_plan(Some(client), wanted, version);
        if plan.changes.is_empty() {
            show(&Finding::pass(
                id::POCKETID_CLIENT,
                format!("client {id} is confidential, PKCE off, and has RomM's callback"),
            ));
            return Ok(id);
        }
        let changes: Vec<String> = plan.changes.iter().map(ToString::to_string).collect();
        let changes = changes.join("; ");
        note!("  Client {id} needs: {changes}");
        if self.prompt.confirm(
            "Apply these changes (nothing else on the client changes)?",
            true,
        )? {
            api.update_client(&id, &plan.body)
                .map_err(|e| anyhow!("Pocket ID refused the update: {e}"))?;
            show(&Finding::pass(id::POCKETID_CLIENT, "client updated"));
            self.writes.push(format!("client {id}: {changes}"));
        }
        Ok(id)
    }

    /// A new client "RomM" as the plan makes it, on request; its id, or
    /// `None` when declined.
    fn create_client(
        &mut self,
        api: &Api<'_>,
        wanted: &[Callback<'_>],
        version: Option<Version>,
    ) -> Result<Option<String>> {
        let plan = client_plan(None, wanted, version);
        let callbacks: Vec<&str> = plan.body["callbackURLs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        note!(
            "  Will create the client \"RomM\": confidential, PKCE off, callbacks {}",
            callbacks.join(", ")
        );
        if !self.prompt.confirm("Create it in Pocket ID?", true)? {
            return Ok(None);
        }
        let created = api
            .create_client(&plan.body)
            .map_err(|e| anyhow!("Pocket ID refused to create the client: {e}"))?;
        let id = text(&created, "id");
        show(&Finding::pass(
            id::POCKETID_CLIENT,
            format!("created client {id}"),
        ));
        self.writes.push(format!("client {id} \"RomM\" created"));
        self.set(OIDC_CLIENT_ID, id.clone());
        Ok(Some(id))
    }

    /// A new secret for client `id` when none is set, on request: before
    /// 2.14 it replaces the client's only one.
    fn client_secret(&mut self, api: &Api<'_>, id: &str, version: Option<Version>) -> Result<()> {
        if self.settings.value(OIDC_CLIENT_SECRET).is_some() {
            return Ok(());
        }
        let replaces = version.is_none_or(|v| v < (2, 14, 0));
        let prompt = if replaces {
            "Create a client secret now? (this Pocket ID keeps one secret: a new one replaces the old)"
        } else {
            "Create a client secret now? (existing secrets stay valid)"
        };
        if !self.prompt.confirm(prompt, true)? {
            return Ok(());
        }
        let secret = api
            .create_secret(id, version)
            .map_err(|e| anyhow!("Pocket ID refused to create a secret: {e}"))?;
        show(&Finding::pass(
            id::POCKETID_CLIENT,
            "secret created and kept for the env block (not shown)",
        ));
        self.writes.push(format!(
            "client {id}: a new client secret{}",
            if replaces {
                " (replacing the previous one)"
            } else {
                ""
            }
        ));
        self.set(OIDC_CLIENT_SECRET, secret.expose_secret().to_string());
        Ok(())
    }

    /// With an API key: the Pocket ID user with `email`, marked verified on
    /// request (GET, then a PUT of the whole user with emailVerified true).
    pub(super) fn mark_verified(&mut self, email: &str, discovery: &Discovery) -> Result<()> {
        let (Some(key), Some(base)) = (self.settings.api_key.clone(), api_base(&self.settings))
        else {
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
                show(&Finding::fail(
                    id::POCKETID_USERS,
                    format!(
                        "no Pocket ID user has the email {email}: set it on the user who logs in to RomM"
                    ),
                ));
                return Ok(());
            }
            Err(e) => {
                show(&Finding::warn(
                    id::POCKETID_USERS,
                    format!("could not search Pocket ID's users: {e}"),
                ));
                return Ok(());
            }
        };
        let who = user
            .get("username")
            .and_then(Value::as_str)
            .unwrap_or("the user")
            .to_string();
        let verified = user.get("emailVerified").and_then(Value::as_bool);
        show(&verified_finding(&who, verified));
        let question =
            report::clean_lines(&format!("Mark {who} <{email}> verified in Pocket ID now?"));
        if verified != Some(false) || !self.prompt.confirm(&question, true)? {
            return Ok(());
        }
        match api.update_user(&text(&user, "id"), &user_verified_body(&user)) {
            Ok(_) => {
                show(&Finding::pass(id::POCKETID_USERS, "marked verified"));
                self.writes
                    .push(format!("user {who} <{email}>: emailVerified set to true"));
            }
            Err(e) => show(&Finding::fail(
                id::POCKETID_USERS,
                format!("Pocket ID refused: {e}"),
            )),
        }
        Ok(())
    }
}
