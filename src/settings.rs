//! RomM's OIDC variables: the one table that names them, and the resolved,
//! immutable settings the commands work from.
//!
//! Values come from, highest first: command-line flags, the process
//! environment (RomM's own names, so the tool works inside RomM's container as
//! is), then `--env-file`. They are kept exactly as written; `value()` gives
//! them as RomM reads them (see `romm_value`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::cli::SettingsArgs;
use crate::envfile::EnvFile;

/// How RomM reads a variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Text,
    Url,
    Path,
    Secret,
}

/// One variable RomM reads, as documented in RomM's `backend/config/__init__.py`.
#[derive(Debug)]
pub struct Var {
    pub name: &'static str,
    pub kind: Kind,
    /// RomM's default when the variable is unset or empty.
    pub default: &'static str,
    /// The first RomM release that reads it.
    pub since: &'static str,
    pub meaning: &'static str,
}

pub const OIDC_ENABLED: &str = "OIDC_ENABLED";
pub const OIDC_PROVIDER: &str = "OIDC_PROVIDER";
pub const OIDC_CLIENT_ID: &str = "OIDC_CLIENT_ID";
pub const OIDC_CLIENT_SECRET: &str = "OIDC_CLIENT_SECRET";
pub const OIDC_REDIRECT_URI: &str = "OIDC_REDIRECT_URI";
pub const OIDC_SERVER_APPLICATION_URL: &str = "OIDC_SERVER_APPLICATION_URL";
pub const OIDC_SERVER_METADATA_URL: &str = "OIDC_SERVER_METADATA_URL";
pub const OIDC_TLS_CACERTFILE: &str = "OIDC_TLS_CACERTFILE";
pub const OIDC_USERNAME_ATTRIBUTE: &str = "OIDC_USERNAME_ATTRIBUTE";
pub const OIDC_CLAIM_ROLES: &str = "OIDC_CLAIM_ROLES";
pub const OIDC_ROLE_ADMIN: &str = "OIDC_ROLE_ADMIN";
pub const OIDC_ROLE_EDITOR: &str = "OIDC_ROLE_EDITOR";
pub const OIDC_ROLE_VIEWER: &str = "OIDC_ROLE_VIEWER";
pub const ROMM_SESSION_SECURE_COOKIE: &str = "ROMM_SESSION_SECURE_COOKIE";

/// Every variable RomM 5.2 reads for OIDC login, in the order `emit-env` writes them.
pub const VARS: &[Var] = &[
    Var {
        name: OIDC_ENABLED,
        kind: Kind::Bool,
        default: "false",
        since: "3.7.0",
        meaning: "Master switch; when false both OIDC routes answer 500 \"OAuth disabled\"",
    },
    Var {
        name: OIDC_PROVIDER,
        kind: Kind::Text,
        default: "",
        since: "3.7.0",
        meaning: "Button label and icon name only (\"Login with <provider>\")",
    },
    Var {
        name: OIDC_CLIENT_ID,
        kind: Kind::Text,
        default: "",
        since: "3.7.0",
        meaning: "Client id registered at the provider; also the ID token's expected audience",
    },
    Var {
        name: OIDC_CLIENT_SECRET,
        kind: Kind::Secret,
        default: "",
        since: "3.7.0",
        meaning: "Client secret, sent with HTTP Basic (client_secret_basic) to the token endpoint",
    },
    Var {
        name: OIDC_REDIRECT_URI,
        kind: Kind::Url,
        default: "",
        since: "3.7.0",
        meaning: "Callback URL, sent verbatim: <RomM public URL>/api/oauth/openid",
    },
    Var {
        name: OIDC_SERVER_APPLICATION_URL,
        kind: Kind::Url,
        default: "",
        since: "3.7.0",
        meaning: "Provider base URL (the issuer); RomM appends /.well-known/openid-configuration",
    },
    Var {
        name: OIDC_SERVER_METADATA_URL,
        kind: Kind::Url,
        default: "",
        since: "4.8.0",
        meaning: "Full discovery URL, used verbatim instead of the derived one",
    },
    Var {
        name: OIDC_TLS_CACERTFILE,
        kind: Kind::Path,
        default: "",
        since: "3.7.1",
        meaning: "PEM CA file inside the container; when set it is the only trust store",
    },
    Var {
        name: OIDC_USERNAME_ATTRIBUTE,
        kind: Kind::Text,
        default: "preferred_username",
        since: "4.5.0",
        meaning: "ID-token claim used as the username of new accounts",
    },
    Var {
        name: OIDC_CLAIM_ROLES,
        kind: Kind::Text,
        default: "",
        since: "4.3.1",
        meaning: "Top-level ID-token claim holding roles or groups; also added to the scope",
    },
    Var {
        name: OIDC_ROLE_ADMIN,
        kind: Kind::Text,
        default: "",
        since: "4.3.1",
        meaning: "One value of the roles claim that grants Admin",
    },
    Var {
        name: OIDC_ROLE_EDITOR,
        kind: Kind::Text,
        default: "",
        since: "4.3.1",
        meaning: "One value of the roles claim that grants access (User in 5.x, Editor in 4.x)",
    },
    Var {
        name: OIDC_ROLE_VIEWER,
        kind: Kind::Text,
        default: "",
        since: "4.3.1",
        meaning: "One value of the roles claim that grants access (User in 5.x); * = anyone with the claim",
    },
    Var {
        name: "OIDC_AUTOLOGIN",
        kind: Kind::Bool,
        default: "false",
        since: "4.7.0",
        meaning: "The login page goes straight to the provider",
    },
    Var {
        name: "OIDC_RP_INITIATED_LOGOUT",
        kind: Kind::Bool,
        default: "false",
        since: "4.8.0",
        meaning: "Logging out of RomM also ends the provider session",
    },
    Var {
        name: "OIDC_END_SESSION_ENDPOINT",
        kind: Kind::Url,
        default: "",
        since: "4.8.0",
        meaning: "Overrides discovery's end_session_endpoint for that logout",
    },
    Var {
        name: "OIDC_ALLOW_REGISTRATION",
        kind: Kind::Bool,
        default: "true",
        since: "5.0.0",
        meaning: "When false, an email with no RomM account is refused (403)",
    },
    Var {
        name: ROMM_SESSION_SECURE_COOKIE,
        kind: Kind::Bool,
        default: "false",
        since: "5.1.0",
        meaning: "Marks RomM's session cookie Secure: the login then needs https (or a loopback host)",
    },
    Var {
        name: "DISABLE_USERPASS_LOGIN",
        kind: Kind::Bool,
        default: "false",
        since: "3.7.1",
        meaning: "Hides the password form (UI only; the API still accepts passwords)",
    },
];

/// The table entry for a variable name.
pub fn var(name: &str) -> Option<&'static Var> {
    VARS.iter().find(|v| v.name == name)
}

/// RomM's `_get_env`: an empty value counts as unset, surrounding whitespace
/// is stripped, and nothing else (quotes stay).
pub fn romm_value(raw: &str) -> Option<&str> {
    Some(raw.trim()).filter(|v| !v.is_empty())
}

/// RomM's `safe_str_to_bool`: true only for 1, true, yes, on (any case).
pub fn romm_bool(raw: &str) -> bool {
    matches!(
        raw.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

/// Where a value came from, for messages that point at the line to change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Flag(&'static str),
    Environment,
    EnvFile { path: PathBuf, line: usize },
    SecretFile(PathBuf),
    Derived(&'static str),
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "{flag}"),
            Source::Environment => f.write_str("the environment"),
            Source::EnvFile { path, line } => write!(f, "{}:{line}", path.display()),
            Source::SecretFile(path) => write!(f, "{}", path.display()),
            Source::Derived(from) => write!(f, "derived from {from}"),
            Source::Default => f.write_str("romm-oidc's default"),
        }
    }
}

/// A value as written, and where it was written.
#[derive(Clone, Debug)]
pub struct Setting {
    pub raw: String,
    pub source: Source,
}

/// Values given on the command line, keyed by the RomM variable they set.
pub type FlagValues = Vec<(&'static str, &'static str, String)>;

/// The settings every command works from, resolved once.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    values: BTreeMap<&'static str, Setting>,
    /// What RomM's own env sets (env file, then environment), flags aside.
    romm_env: BTreeMap<&'static str, Setting>,
    /// `OIDC_*` names in the env file or environment that RomM does not read.
    pub unknown: Vec<(String, Source)>,
    pub env_file: Option<EnvFile>,
    /// RomM's public base URL, when given.
    pub romm_url: Option<String>,
    /// A Pocket ID admin API key (not a RomM variable; never printed).
    pub api_key: Option<String>,
}

/// Where settings are read from; `environment` is the process environment.
pub struct Inputs<'a> {
    pub flags: FlagValues,
    pub environment: Vec<(String, String)>,
    pub env_file: Option<EnvFile>,
    pub romm_url: Option<String>,
    pub secret_file: Option<(&'a Path, String)>,
}

impl Settings {
    pub fn resolve(inputs: Inputs<'_>) -> Settings {
        let mut settings = Settings {
            romm_url: inputs.romm_url,
            ..Settings::default()
        };
        // Lowest precedence first; later sources overwrite.
        if let Some(file) = &inputs.env_file {
            for entry in &file.entries {
                let source = Source::EnvFile {
                    path: file.path.clone(),
                    line: entry.line,
                };
                settings.take(&entry.key, &entry.value, source);
            }
        }
        for (key, value) in &inputs.environment {
            settings.take(key, value, Source::Environment);
        }
        if let Some((path, secret)) = inputs.secret_file {
            settings.set(
                OIDC_CLIENT_SECRET,
                secret,
                Source::SecretFile(path.to_path_buf()),
            );
        }
        for (name, flag, value) in inputs.flags {
            settings.set(name, value, Source::Flag(flag));
        }
        if let Some(base) = &settings.romm_url
            && settings.value(OIDC_REDIRECT_URI).is_none()
        {
            let derived = format!("{}/api/oauth/openid", base.trim().trim_end_matches('/'));
            settings.set(OIDC_REDIRECT_URI, derived, Source::Derived("--romm-url"));
        }
        if settings.value(OIDC_PROVIDER).is_none() {
            settings.set(OIDC_PROVIDER, "pocket-id".into(), Source::Default);
        }
        settings.env_file = inputs.env_file;
        settings
    }

    fn take(&mut self, key: &str, value: &str, source: Source) {
        match var(key) {
            Some(v) => {
                let setting = Setting {
                    raw: value.to_string(),
                    source: source.clone(),
                };
                self.romm_env.insert(v.name, setting);
                self.set(v.name, value.to_string(), source)
            }
            None if key.starts_with("OIDC_") => {
                self.unknown.retain(|(k, _)| k != key);
                self.unknown.push((key.to_string(), source));
            }
            None => {}
        }
    }

    fn set(&mut self, name: &'static str, raw: String, source: Source) {
        self.values.insert(name, Setting { raw, source });
    }

    /// A copy with one value answered (by the wizard), as if given by flag.
    pub fn with(&self, name: &'static str, value: String) -> Settings {
        let mut next = self.clone();
        next.set(name, value, Source::Flag("the wizard"));
        next
    }

    /// The setting as written, even when RomM would treat it as unset.
    pub fn get(&self, name: &str) -> Option<&Setting> {
        self.values.get(name)
    }

    /// The value as RomM reads it: stripped, `None` when empty.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|s| romm_value(&s.raw))
    }

    /// A boolean as RomM reads it, with RomM's default when unset.
    pub fn flag(&self, name: &str) -> bool {
        match self.value(name) {
            Some(raw) => romm_bool(raw),
            None => var(name).is_some_and(|v| romm_bool(v.default)),
        }
    }

    /// Whether OIDC is switched on. Unset counts as on only when nothing was
    /// read from a RomM env (flags alone describe the setup being made).
    pub fn enabled(&self) -> bool {
        match self.get(OIDC_ENABLED) {
            Some(_) => self.flag(OIDC_ENABLED),
            None => !self.reads_romm_env(),
        }
    }

    /// Whether any value came from an env file or the environment.
    pub fn reads_romm_env(&self) -> bool {
        self.env_file.is_some() || !self.romm_env.is_empty()
    }

    /// What RomM's own env (env file and environment) sets, in table order,
    /// ignoring flags: what the running RomM will read.
    pub fn romm_env(&self) -> impl Iterator<Item = (&'static Var, &Setting)> {
        VARS.iter()
            .filter_map(|v| self.romm_env.get(v.name).map(|s| (v, s)))
    }

    /// A value of RomM's own env as RomM reads it.
    pub fn romm_env_value(&self, name: &str) -> Option<&str> {
        self.romm_env.get(name).and_then(|s| romm_value(&s.raw))
    }

    /// The settings in table order, as written.
    pub fn iter(&self) -> impl Iterator<Item = (&'static Var, &Setting)> {
        VARS.iter()
            .filter_map(|v| self.values.get(v.name).map(|s| (v, s)))
    }

    /// The discovery URL RomM will fetch: `OIDC_SERVER_METADATA_URL` verbatim,
    /// else authlib's `get_well_known_url`: every trailing `/` stripped, then
    /// `/.well-known/openid-configuration` appended, with no other parsing.
    pub fn discovery_url(&self) -> Option<String> {
        if let Some(url) = self.value(OIDC_SERVER_METADATA_URL) {
            return Some(url.to_string());
        }
        self.value(OIDC_SERVER_APPLICATION_URL).map(well_known_url)
    }
}

/// Reads every source named on the command line, once. Unreadable files are
/// input errors (exit 2); a malformed env file is read as far as it goes and
/// its problems become findings.
pub fn load(args: &SettingsArgs) -> anyhow::Result<Settings> {
    use anyhow::Context;
    let env_file = match &args.env_file {
        Some(path) => Some(EnvFile::load(path).context("cannot use --env-file")?),
        None => None,
    };
    let secret_file = match &args.client_secret_file {
        Some(path) => {
            let text =
                crate::envfile::read_text(path).context("cannot use --client-secret-file")?;
            Some((path.as_path(), text.trim().to_string()))
        }
        None => None,
    };
    let mut flags: FlagValues = Vec::new();
    let mut flag = |name: &'static str, flag: &'static str, value: &Option<String>| {
        if let Some(v) = value {
            flags.push((name, flag, v.clone()));
        }
    };
    flag(OIDC_SERVER_APPLICATION_URL, "--issuer", &args.issuer);
    flag(OIDC_CLIENT_ID, "--client-id", &args.client_id);
    flag(OIDC_CLIENT_SECRET, "--client-secret", &args.client_secret);
    flag(OIDC_REDIRECT_URI, "--redirect-uri", &args.redirect_uri);
    flag(OIDC_PROVIDER, "--provider", &args.provider);
    flag(OIDC_TLS_CACERTFILE, "--ca-file", &args.ca_file);
    flag(
        OIDC_SERVER_METADATA_URL,
        "--metadata-url",
        &args.metadata_url,
    );
    flag(
        OIDC_USERNAME_ATTRIBUTE,
        "--username-attribute",
        &args.username_attribute,
    );
    flag(OIDC_CLAIM_ROLES, "--claim-roles", &args.claim_roles);
    flag(OIDC_ROLE_ADMIN, "--role-admin", &args.role_admin);
    flag(OIDC_ROLE_EDITOR, "--role-editor", &args.role_editor);
    flag(OIDC_ROLE_VIEWER, "--role-viewer", &args.role_viewer);
    let api_key = match (&args.pocket_id_api_key, &args.pocket_id_api_key_file) {
        (_, Some(path)) => Some(
            crate::envfile::read_text(path)
                .context("cannot use --pocket-id-api-key-file")?
                .trim()
                .to_string(),
        ),
        (Some(key), None) => Some(key.trim().to_string()),
        (None, None) => None,
    }
    .filter(|k| !k.is_empty());
    let environment = std::env::vars()
        .filter(|(k, _)| k.starts_with("OIDC_") || var(k).is_some())
        .collect();
    let mut settings = Settings::resolve(Inputs {
        flags,
        environment,
        env_file,
        romm_url: args.romm_url.clone(),
        secret_file,
    });
    settings.api_key = api_key;
    Ok(settings)
}

/// authlib's rule for the discovery URL of an issuer.
pub fn well_known_url(base: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        base.trim_end_matches('/')
    )
}

/// A secret as it may be shown: the first 4 characters and the length.
pub fn mask(secret: &str) -> String {
    let count = secret.chars().count();
    if count <= 8 {
        return format!("•••• ({count} chars)");
    }
    let head: String = secret.chars().take(4).collect();
    format!("{head}•••• ({count} chars)")
}

/// A value for display: secrets masked, everything else as written.
pub fn shown(var: &Var, raw: &str) -> String {
    if var.kind == Kind::Secret {
        mask(raw)
    } else {
        raw.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_follow_romm() {
        for yes in ["1", "true", "TRUE", " True ", "yes", "on", "ON"] {
            assert!(romm_bool(yes), "{yes}");
        }
        for no in ["0", "false", "y", "enabled", "\"true\"", "", "truee"] {
            assert!(!romm_bool(no), "{no}");
        }
    }

    #[test]
    fn empty_is_unset_and_quotes_stay() {
        assert_eq!(romm_value("   "), None);
        assert_eq!(romm_value(" \"x\" "), Some("\"x\""));
    }

    #[test]
    fn well_known_strips_every_trailing_slash_only() {
        assert_eq!(
            well_known_url("https://id.example.com//"),
            "https://id.example.com/.well-known/openid-configuration"
        );
        assert_eq!(
            well_known_url("https://a/realms/x?q=1"),
            "https://a/realms/x?q=1/.well-known/openid-configuration"
        );
    }

    #[test]
    fn short_secrets_show_no_characters() {
        assert_eq!(mask("abc"), "•••• (3 chars)");
        assert_eq!(mask("abcdefghij"), "abcd•••• (10 chars)");
    }
}
