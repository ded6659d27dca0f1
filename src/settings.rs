//! RomM's OIDC variables: the one table that names them, and the resolved,
//! immutable settings the commands work from.
//!
//! Values come from, highest first: command-line flags, the process
//! environment (RomM's own names, so the tool works inside RomM's container as
//! is), then `--env-file`, then RomM's container (`--container`/`--exec`: its
//! server's environment, the client secret only sealed). They are kept exactly
//! as written; `value()` gives them as RomM reads them (see `romm_value`).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

use crate::cli::{RommAccessArgs, SettingsArgs};
use crate::container::{RommEnv, Sealed};
use crate::envfile::EnvFile;
use crate::files::{self, FileError};
use crate::romm_api::Access;

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

/// RomM reads its env only when its container starts: the command that makes
/// it read a changed one, as every fix and note names it.
pub const RESTART: &str = "docker compose up -d --force-recreate romm";

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

/// Every other variable RomM reads (`VARS` holds the OIDC ones), so the
/// env-file lint never calls them typos. Sources, at rommapp/romm 5.2.0
/// (`57badfd6`): every `_get_env("…")` in `backend/config/__init__.py` (the
/// backend reads the environment nowhere else but tests and the file
/// watchers' internal `WATCHFILES_CHANGES`), the proxy variables httpx and
/// `has_proxy_env` honour, and what the container's entrypoint reads
/// (`docker/init_scripts/init`, `docker/init_scripts/docker-entrypoint.sh`).
/// The entrypoint also reads `<NAME>_FILE` for any name: see `romm_reads`.
pub const ROMM_READS: &[&str] = &[
    // backend/config/__init__.py
    "ROMM_BASE_URL",
    "ROMM_PORT",
    "DEV_MODE",
    "DEV_HOST",
    "DEV_PORT",
    "DEV_SQL_ECHO",
    "ROMM_BASE_PATH",
    "ROMM_TMP_PATH",
    "SEVEN_ZIP_TIMEOUT",
    "ROM_PATCHER_TIMEOUT",
    "ROM_PATCHER_MAX_FILE_SIZE_BYTES",
    "ROM_PATCHER_MAX_CONCURRENCY",
    "DB_HOST",
    "DB_PORT",
    "DB_USER",
    "DB_PASSWD",
    "DB_NAME",
    "DB_QUERY_JSON",
    "ROMM_DB_DRIVER",
    "REDIS_HOST",
    "REDIS_PORT",
    "REDIS_PASSWORD",
    "REDIS_USERNAME",
    "REDIS_DB",
    "REDIS_SSL",
    "IGDB_CLIENT_ID",
    "IGDB_CLIENT_SECRET",
    "MOBYGAMES_API_KEY",
    "SCREENSCRAPER_USER",
    "SCREENSCRAPER_PASSWORD",
    "SCREENSCRAPER_DEV_ID",
    "SCREENSCRAPER_DEV_PASSWORD",
    "STEAMGRIDDB_API_KEY",
    "RETROACHIEVEMENTS_API_KEY",
    "REFRESH_RETROACHIEVEMENTS_CACHE_DAYS",
    "LAUNCHBOX_API_ENABLED",
    "PLAYMATCH_API_ENABLED",
    "PLAYMATCH_API_URL",
    "HASHEOUS_API_ENABLED",
    "TGDB_API_ENABLED",
    "FLASHPOINT_API_ENABLED",
    "HLTB_API_ENABLED",
    "ROMM_AUTH_SECRET_KEY",
    "OAUTH_ACCESS_TOKEN_EXPIRE_SECONDS",
    "OAUTH_REFRESH_TOKEN_EXPIRE_SECONDS",
    "SESSION_MAX_AGE_SECONDS",
    "DISABLE_CSRF_PROTECTION",
    "DISABLE_DOWNLOAD_ENDPOINT_AUTH",
    "ROMM_CORS_ALLOWED_ORIGINS",
    "ROMM_SESSION_SECURE_COOKIE",
    "DISABLE_SETUP_WIZARD",
    "INVITE_TOKEN_EXPIRY_SECONDS",
    "SCAN_TIMEOUT",
    "SCAN_WORKERS",
    "TASK_TIMEOUT",
    "TASK_RESULT_TTL",
    "ENABLE_RESCAN_ON_FILESYSTEM_CHANGE",
    "RESCAN_ON_FILESYSTEM_CHANGE_DELAY",
    "ENABLE_SCHEDULED_RESCAN",
    "SCHEDULED_RESCAN_CRON",
    "ENABLE_SCHEDULED_UPDATE_SWITCH_TITLEDB",
    "SCHEDULED_UPDATE_SWITCH_TITLEDB_CRON",
    "ENABLE_SCHEDULED_UPDATE_LAUNCHBOX_METADATA",
    "SCHEDULED_UPDATE_LAUNCHBOX_METADATA_CRON",
    "ENABLE_SCHEDULED_CONVERT_IMAGES_TO_WEBP",
    "SCHEDULED_CONVERT_IMAGES_TO_WEBP_CRON",
    "ENABLE_SCHEDULED_CLEANUP_ORPHANED_RESOURCES",
    "SCHEDULED_CLEANUP_ORPHANED_RESOURCES_CRON",
    "ENABLE_SCHEDULED_RETROACHIEVEMENTS_PROGRESS_SYNC",
    "SCHEDULED_RETROACHIEVEMENTS_PROGRESS_SYNC_CRON",
    "ENABLE_SYNC_FOLDER_WATCHER",
    "SYNC_FOLDER_SCAN_DELAY",
    "ENABLE_SYNC_PUSH_PULL",
    "SYNC_PUSH_PULL_CRON",
    "SYNC_SSH_KEYS_PATH",
    "SYNC_SSH_KNOWN_HOSTS_PATH",
    "DISABLE_EMULATOR_JS",
    "DISABLE_RUFFLE_RS",
    "KIOSK_MODE",
    "DISABLE_LOGS_VIEWER",
    "MAX_ASSET_UPLOAD_SIZE_BYTES",
    "MAX_AUTOCLEANUP_LIMIT",
    "LOGLEVEL",
    "FORCE_COLOR",
    "NO_COLOR",
    "YOUTUBE_BASE_URL",
    "TINFOIL_WELCOME_MESSAGE",
    "STREAMING_BROKER_SECRET",
    "STREAMING_SAVE_TIMEOUT",
    "SENTRY_DSN",
    "PYTEST_VERSION",
    // proxies (httpx trust_env; config.has_proxy_env)
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    // docker/init_scripts
    "WEB_SERVER_CONCURRENCY",
    "WEB_SERVER_GUNICORN_WAIT_SECONDS",
    "WEB_SERVER_KEEPALIVE",
    "WEB_SERVER_MAX_REQUESTS",
    "WEB_SERVER_MAX_REQUESTS_JITTER",
    "WEB_SERVER_TIMEOUT",
    "WEB_SERVER_WORKER_CONNECTIONS",
    "REDIS_SAVE_POLICY",
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME_PREFIX",
    "IPV4_ONLY",
];

/// Whether RomM (its backend or its container's entrypoint) reads `name`:
/// a table name, or `<NAME>_FILE`, which the entrypoint reads into `<NAME>`
/// for any name (since 3.7.0).
pub fn romm_reads(name: &str) -> bool {
    let known = |n: &str| var(n).is_some() || ROMM_READS.contains(&n);
    known(name) || name.strip_suffix("_FILE").is_some_and(known)
}

/// The table entry for a variable name.
pub fn var(name: &str) -> Option<&'static Var> {
    VARS.iter().find(|v| v.name == name)
}

/// RomM's `_get_env`: an empty value counts as unset, surrounding whitespace
/// is stripped, and nothing else (quotes stay).
pub fn romm_value(raw: &str) -> Option<&str> {
    Some(python_strip(raw)).filter(|v| !v.is_empty())
}

/// Python's `str.strip()`, with which RomM strips every env value.
pub fn python_strip(text: &str) -> &str {
    text.trim_matches(python_space)
}

/// The characters Python's `str.isspace` accepts, which `str.strip()` removes:
/// Python 3.13's `[c for c in range(0x110000) if chr(c).isspace()]`. Rust's
/// `char::is_whitespace` lacks U+001C–U+001F (the information separators,
/// which Python counts as white space), so the set is written out.
pub const PYTHON_SPACE: &[char] = &[
    '\u{9}', '\u{a}', '\u{b}', '\u{c}', '\u{d}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}', ' ',
    '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}', '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}',
    '\u{2005}', '\u{2006}', '\u{2007}', '\u{2008}', '\u{2009}', '\u{200a}', '\u{2028}', '\u{2029}',
    '\u{202f}', '\u{205f}', '\u{3000}',
];

/// Python's `str.isspace` for one character.
pub fn python_space(c: char) -> bool {
    PYTHON_SPACE.contains(&c)
}

/// RomM's `safe_str_to_bool`: true only for 1, true, yes, on (any case),
/// after Python's strip.
pub fn romm_bool(raw: &str) -> bool {
    matches!(
        python_strip(raw).to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

/// Where a value came from, for messages that point at the line to change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Flag(&'static str),
    Environment,
    EnvFile {
        path: PathBuf,
        line: usize,
    },
    SecretFile(PathBuf),
    Derived(&'static str),
    Default,
    /// RomM's server environment, read in its container.
    Container,
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
            Source::Container => f.write_str("RomM's container"),
        }
    }
}

/// A value as written, and where it was written. The value of a secret
/// variable (`OIDC_CLIENT_SECRET`) is held as a `SecretString`, so no `{:?}`
/// of the settings can show it.
#[derive(Clone, Debug)]
pub struct Setting {
    raw: Written,
    pub source: Source,
}

#[derive(Clone, Debug)]
enum Written {
    Plain(String),
    Secret(SecretString),
}

impl Setting {
    fn new(name: &str, raw: String, source: Source) -> Setting {
        let raw = if var(name).is_some_and(|v| v.kind == Kind::Secret) {
            Written::Secret(raw.into())
        } else {
            Written::Plain(raw)
        };
        Setting { raw, source }
    }

    /// The value exactly as written.
    pub fn raw(&self) -> &str {
        match &self.raw {
            Written::Plain(text) => text,
            Written::Secret(secret) => secret.expose_secret(),
        }
    }
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
    /// RomM's other variables the env file or RomM's container sets (every
    /// value held as a secret: most of them are not shown anywhere).
    others: BTreeMap<String, Setting>,
    pub env_file: Option<EnvFile>,
    /// RomM's public base URL, when given.
    pub romm_url: Option<String>,
    /// A Pocket ID admin API key (not a RomM variable; never printed).
    pub api_key: Option<SecretString>,
    /// Variables whose value in the environment is not UTF-8.
    pub not_utf8: Vec<String>,
    /// RomM's container's environment, when read (its values are in `values`).
    pub container: Option<ContainerEnv>,
}

/// What RomM's container runs with: its values, and its client secret sealed (it
/// never leaves the container).
#[derive(Clone, Debug)]
pub struct ContainerEnv {
    /// Its values of RomM's variables, as written there.
    pub values: BTreeMap<String, String>,
    pub secret: Option<Sealed>,
}

/// Where settings are read from; `environment` is the process environment.
pub struct Inputs<'a> {
    pub flags: FlagValues,
    pub environment: Vec<(String, String)>,
    pub env_file: Option<EnvFile>,
    pub romm_url: Option<String>,
    pub secret_file: Option<(&'a Path, String)>,
    /// RomM's container's environment (`--container`, `--exec`).
    pub container: Option<&'a RommEnv>,
}

impl Settings {
    pub fn resolve(inputs: Inputs<'_>) -> Settings {
        let mut settings = Settings {
            romm_url: inputs.romm_url,
            ..Settings::default()
        };
        // Lowest precedence first; later sources overwrite.
        if let Some(env) = inputs.container {
            for (key, value) in &env.values {
                settings.take(key, value, Source::Container);
            }
            settings.container = Some(ContainerEnv {
                values: env.values.clone(),
                secret: env.sealed(OIDC_CLIENT_SECRET),
            });
        }
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
                let setting = Setting::new(v.name, value.to_string(), source.clone());
                self.romm_env.insert(v.name, setting);
                self.set(v.name, value.to_string(), source)
            }
            None if key.starts_with("OIDC_") && !romm_reads(key) => {
                self.unknown.retain(|(k, _)| k != key);
                self.unknown.push((key.to_string(), source));
            }
            None if romm_reads(key) => {
                let raw = Written::Secret(value.into());
                self.others.insert(key.to_string(), Setting { raw, source });
            }
            None => {}
        }
    }

    fn set(&mut self, name: &'static str, raw: String, source: Source) {
        self.values.insert(name, Setting::new(name, raw, source));
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

    /// The value as RomM reads it: stripped, `None` when nothing is left —
    /// which for a string RomM defaults to `""` is the same. Where RomM's
    /// default is something else, a blank value differs: see `get_env`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|s| romm_value(s.raw()))
    }

    /// Exactly what RomM's `_get_env` returns: `None` (RomM's default) only
    /// when unset or empty; otherwise the stripped value, so a blank value is
    /// `""` — not the default (`os.environ.get(var) or fallback`, then strip).
    pub fn get_env(&self, name: &str) -> Option<&str> {
        self.get(name)
            .map(Setting::raw)
            .filter(|raw| !raw.is_empty())
            .map(python_strip)
    }

    /// A boolean as RomM reads it, with RomM's default when unset.
    pub fn flag(&self, name: &str) -> bool {
        match self.get_env(name) {
            Some(raw) => romm_bool(raw),
            None => var(name).is_some_and(|v| romm_bool(v.default)),
        }
    }

    /// The claim RomM names new accounts by (`OIDC_USERNAME_ATTRIBUTE`):
    /// `preferred_username` when unset, `""` when blank.
    pub fn username_attribute(&self) -> &str {
        self.get_env(OIDC_USERNAME_ATTRIBUTE)
            .unwrap_or("preferred_username")
    }

    /// Whether OIDC is switched on. Unset counts as on only when nothing was
    /// read from a RomM env (flags alone describe the setup being made).
    pub fn enabled(&self) -> bool {
        match self.get(OIDC_ENABLED) {
            Some(_) => self.flag(OIDC_ENABLED),
            None => !self.reads_romm_env(),
        }
    }

    /// Whether any value came from an env file, the environment or RomM's container.
    pub fn reads_romm_env(&self) -> bool {
        self.env_file.is_some() || self.container.is_some() || !self.romm_env.is_empty()
    }

    /// RomM's container's client secret, sealed, when no other source gives one:
    /// it is set, but only the container's probe can send it.
    pub fn sealed_secret(&self) -> Option<&Sealed> {
        match self.get(OIDC_CLIENT_SECRET) {
            Some(_) => None,
            None => self.container.as_ref()?.secret.as_ref(),
        }
    }

    /// What RomM's own env (env file and environment) sets, in table order,
    /// ignoring flags: what the running RomM will read.
    pub fn romm_env(&self) -> impl Iterator<Item = (&'static Var, &Setting)> {
        VARS.iter()
            .filter_map(|v| self.romm_env.get(v.name).map(|s| (v, s)))
    }

    /// A value of RomM's own env as RomM reads it.
    pub fn romm_env_value(&self, name: &str) -> Option<&str> {
        self.romm_env.get(name).and_then(|s| romm_value(s.raw()))
    }

    /// RomM's other variables the env file or RomM's container sets, by name.
    pub fn others(&self) -> impl Iterator<Item = (&str, &Setting)> {
        self.others.iter().map(|(k, v)| (k.as_str(), v))
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
pub fn load(args: &SettingsArgs, container: Option<&RommEnv>) -> anyhow::Result<Settings> {
    use anyhow::Context;
    let env_file = match &args.env_file {
        Some(path) => Some(EnvFile::load(path).context("cannot use --env-file")?),
        None => None,
    };
    let stdin = Path::new("-");
    if args.client_secret_file.as_deref() == Some(stdin)
        && args.pocket_id_api_key_file.as_deref() == Some(stdin)
    {
        anyhow::bail!(
            "--client-secret-file - and --pocket-id-api-key-file - cannot both read stdin; give one of them a file"
        );
    }
    let secret_file = match &args.client_secret_file {
        Some(path) => Some((
            path.as_path(),
            read_secret(path).context("cannot use --client-secret-file")?,
        )),
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
    let client_secret = args.client_secret.as_ref();
    flag(
        OIDC_CLIENT_SECRET,
        "--client-secret",
        &client_secret.map(|s| s.expose_secret().to_string()),
    );
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
        (_, Some(path)) => Some(read_secret(path).context("cannot use --pocket-id-api-key-file")?),
        (Some(Ok(key)), None) => Some(key.expose_secret().trim().to_string()),
        (Some(Err(_)), None) => {
            anyhow::bail!("--pocket-id-api-key (or POCKET_ID_API_KEY) is not UTF-8 text")
        }
        (None, None) => None,
    }
    .filter(|k| !k.is_empty())
    .map(SecretString::from);
    let (environment, not_utf8) = environment(std::env::vars_os());
    let mut settings = Settings::resolve(Inputs {
        flags,
        environment,
        env_file,
        romm_url: args.romm_url.clone(),
        secret_file,
        container,
    });
    settings.api_key = api_key;
    settings.not_utf8 = not_utf8;
    Ok(settings)
}

/// `-v`: the settings as resolved, with where each came from (secrets masked).
pub fn trace(settings: &Settings) {
    for (var, setting) in settings.iter() {
        crate::report::note!(
            "setting {} = {} [{}]",
            var.name,
            shown(var, setting.raw()),
            setting.source
        );
    }
}

/// A secret from a file, or from stdin for `-`, without the line breaks that
/// end it (see `without_final_line_breaks`).
fn read_secret(path: &Path) -> Result<String, FileError> {
    let text = if path.as_os_str() == "-" {
        files::read_stdin_text()?
    } else {
        files::read_text(path)?
    };
    Ok(without_final_line_breaks(text))
}

/// The variables read from the process environment: RomM's, and `OIDC_*`
/// names RomM does not read (to warn about). Everything else is ignored,
/// whatever its bytes. A value that is not UTF-8 is taken with U+FFFD for the
/// bad bytes and its name returned, to become a finding; a name that is not
/// UTF-8 cannot be one of RomM's and is read the same way (as an unknown one).
fn environment(
    vars: impl Iterator<Item = (OsString, OsString)>,
) -> (Vec<(String, String)>, Vec<String>) {
    let mut read = Vec::new();
    let mut not_utf8 = Vec::new();
    for (key, value) in vars {
        let key = key.to_string_lossy();
        if !(key.starts_with("OIDC_") || var(&key).is_some()) {
            continue;
        }
        let value = match value.into_string() {
            Ok(value) => value,
            Err(raw) => {
                not_utf8.push(key.to_string());
                raw.to_string_lossy().into_owned()
            }
        };
        read.push((key.into_owned(), value));
    }
    (read, not_utf8)
}

/// How the doctor may read RomM's users (`--romm-username` or
/// `--romm-token-file`). The password comes from `--romm-password-file`, then
/// `ROMM_PASSWORD`, then a hidden prompt — only when both stdin and stderr
/// are terminals and the output is not `--json`; otherwise a missing password
/// is an input error naming the flag to give.
pub fn romm_access(args: &RommAccessArgs, json: bool) -> anyhow::Result<Option<Access>> {
    use anyhow::Context;
    use std::io::IsTerminal;
    let read = |path: &Path, flag: &str| -> anyhow::Result<SecretString> {
        let text = without_final_line_breaks(
            files::read_text(path).with_context(|| format!("cannot use {flag}"))?,
        );
        anyhow::ensure!(
            !text.is_empty(),
            "{flag} {}: the file is empty",
            path.display()
        );
        Ok(text.into())
    };
    if let Some(path) = &args.romm_token_file {
        return Ok(Some(Access::Token(read(path, "--romm-token-file")?)));
    }
    let Some(username) = args.romm_username.clone() else {
        return Ok(None);
    };
    let password = match &args.romm_password_file {
        Some(path) => read(path, "--romm-password-file")?,
        None => match std::env::var("ROMM_PASSWORD") {
            Ok(password) if !password.is_empty() => password.into(),
            _ => {
                let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
                if json || !terminal {
                    anyhow::bail!(
                        "--romm-username {username} needs a password: give --romm-password-file FILE or set ROMM_PASSWORD (no prompt {})",
                        if json {
                            "with --json"
                        } else {
                            "without a terminal"
                        }
                    );
                }
                dialoguer::Password::new()
                    .with_prompt(format!("RomM password for {username} (hidden)"))
                    .interact_on(&console::Term::stderr())
                    .context("cannot read the RomM password")?
                    .into()
            }
        },
    };
    Ok(Some(Access::Password { username, password }))
}

/// A secret read from a file: the line breaks that end the file (`\n`,
/// `\r\n`, as editors and `echo` leave them) are not part of it; everything
/// else is, white space included.
fn without_final_line_breaks(mut text: String) -> String {
    let kept = text.trim_end_matches(['\n', '\r']).len();
    text.truncate(kept);
    text
}

/// authlib's rule for the discovery URL of an issuer.
pub fn well_known_url(base: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        base.trim_end_matches('/')
    )
}

/// Secrets shorter than this are shown by their length only.
const MASK_PREFIX_FROM: usize = 20;

/// Whether masks show no character of a secret (`paste_mode`).
static NO_PREFIX: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// For the rest of the run, a secret is shown by its length only: a report
/// made to be pasted (`doctor --format markdown`, `--redact-hosts`) shows no
/// part of one.
pub fn paste_mode() {
    NO_PREFIX.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// A secret as it may be shown: its length, and for a secret of 20 or more
/// characters its first 4 (at most a fifth of it), enough to tell two long
/// generated secrets apart — except in `paste_mode`.
pub fn mask(secret: &str) -> String {
    let count = secret.chars().count();
    if count < MASK_PREFIX_FROM || NO_PREFIX.load(std::sync::atomic::Ordering::Relaxed) {
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
    fn a_blank_value_is_empty_in_romm_not_the_default() {
        let settings = |value: &str| {
            Settings::resolve(Inputs {
                flags: vec![
                    ("OIDC_ALLOW_REGISTRATION", "--test", value.to_string()),
                    (OIDC_USERNAME_ATTRIBUTE, "--test", value.to_string()),
                ],
                environment: Vec::new(),
                env_file: None,
                romm_url: None,
                secret_file: None,
                container: None,
            })
        };
        let blank = settings(" \t");
        assert!(!blank.flag("OIDC_ALLOW_REGISTRATION"));
        assert_eq!(blank.username_attribute(), "");
        let empty = settings("");
        assert!(empty.flag("OIDC_ALLOW_REGISTRATION"));
        assert_eq!(empty.username_attribute(), "preferred_username");
        assert_eq!(settings(" email ").username_attribute(), "email");
    }

    #[test]
    fn romms_container_is_the_lowest_source_and_its_secret_stays_sealed() {
        let romm = RommEnv::of(&[
            (OIDC_SERVER_APPLICATION_URL, "https://container.example.com"),
            (OIDC_CLIENT_ID, "from-container"),
            (OIDC_PROVIDER, "authelia"),
            (OIDC_CLIENT_SECRET, "s3cret"),
        ]);
        let file = EnvFile::parse_with(
            Path::new("romm.env"),
            "OIDC_CLIENT_ID=from-file\nOIDC_PROVIDER=keycloak\n".into(),
            &|_| None,
        );
        let settings = Settings::resolve(Inputs {
            flags: vec![(OIDC_CLIENT_ID, "--client-id", "from-flag".into())],
            environment: vec![(OIDC_PROVIDER.into(), "zitadel".into())],
            env_file: Some(file),
            romm_url: None,
            secret_file: None,
            container: Some(&romm),
        });
        let source = |name| settings.get(name).unwrap().source.to_string();
        assert_eq!(source(OIDC_SERVER_APPLICATION_URL), "RomM's container");
        assert_eq!(source(OIDC_CLIENT_ID), "--client-id");
        assert_eq!(source(OIDC_PROVIDER), "the environment");
        assert_eq!(settings.value(OIDC_CLIENT_SECRET), None);
        let sealed = settings.sealed_secret().expect("the container's secret");
        assert_eq!(sealed.length, 6);
        assert!(sealed.matches("s3cret") && !sealed.matches("s3cret "));
        assert!(settings.reads_romm_env());
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
    fn a_secret_under_20_characters_is_shown_by_its_length_only() {
        assert_eq!(mask("abc"), "•••• (3 chars)");
        assert_eq!(mask("romm-secret"), "•••• (11 chars)");
        assert_eq!(mask("abcdefghijklmnopqrs"), "•••• (19 chars)");
        assert_eq!(mask("abcdefghijklmnopqrst"), "abcd•••• (20 chars)");
        assert_eq!(mask("é€🦀xabcdefghijklmnopq"), "é€🦀x•••• (21 chars)");
    }

    /// Python 3.13's `[c for c in range(0x110000) if chr(c).isspace()]`,
    /// as printed by the interpreter.
    const FROM_PYTHON: &[u32] = &[
        0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001,
        0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029,
        0x202f, 0x205f, 0x3000,
    ];

    #[test]
    fn the_strip_is_pythons_for_every_character() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let python = FROM_PYTHON.contains(&u32::from(c));
            assert_eq!(python_space(c), python, "U+{:04X}", u32::from(c));
            let padded = format!("{c}x{c}");
            let want = if python { "x" } else { padded.as_str() };
            assert_eq!(romm_value(&padded), Some(want), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn romm_strips_what_rust_trim_keeps_and_keeps_what_it_does_not_strip() {
        // The information separators: white space to Python, not to Rust.
        for sep in ['\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}'] {
            assert!(!sep.is_whitespace());
            let raw = format!("{sep}https://id.example.com{sep}");
            assert_eq!(romm_value(&raw), Some("https://id.example.com"));
            assert!(romm_bool(&format!("{sep}true")));
            assert_eq!(romm_value(&sep.to_string()), None);
        }
        // Neither strips these: zero-width space, BOM, Mongolian vowel separator.
        for kept in ['\u{200b}', '\u{feff}', '\u{180e}'] {
            let raw = format!("{kept}v");
            assert_eq!(romm_value(&raw), Some(raw.as_str()));
        }
        let settings = Settings::resolve(Inputs {
            flags: vec![(
                OIDC_USERNAME_ATTRIBUTE,
                "--test",
                "\u{1f}email\u{1c}".into(),
            )],
            environment: vec![("OIDC_ENABLED".into(), "\u{1e}true".into())],
            env_file: None,
            romm_url: None,
            secret_file: None,
            container: None,
        });
        assert_eq!(settings.username_attribute(), "email");
        assert!(settings.flag(OIDC_ENABLED));
    }
}
