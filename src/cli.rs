//! The whole command line. The doc comments are the help text.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use secrecy::SecretString;

use crate::container::Engine;
use crate::emit::Format;
use crate::report::ReportFormat;
use crate::settings::VARS;

/// Set up and diagnose OpenID Connect login for RomM.
///
/// Checks a RomM OIDC setup the way RomM itself will judge it (Pocket ID
/// first, any OIDC provider through the generic checks), walks you through
/// creating one, and prints the exact env block RomM needs.
///
/// Settings come from flags, then RomM's own variables in the environment,
/// then --env-file.
#[derive(Debug, Parser)]
#[command(name = "romm-oidc", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Seconds allowed for each network step (and for each wait on a log read from stdin)
    #[arg(long, global = true, value_name = "SECS", default_value = "10")]
    pub timeout: Seconds,

    /// When to use colours; auto: on a terminal, unless NO_COLOR is set or TERM is dumb
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Print more on stderr: -v the resolved settings and each request, -vv bodies too (secrets masked)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the settings, the provider and the running RomM, and say what to change
    ///
    /// Every finding has a stable id, a status (pass, warn, fail, skip), a summary,
    /// the detail and the fix. Exit status: 0 when nothing failed, 1 when a check
    /// failed, 2 for a usage or input error.
    Doctor(DoctorArgs),

    /// Set up RomM's OIDC login step by step, checking each answer
    Wizard(WizardArgs),

    /// Print the env block RomM needs (or merge it into an env file with --write)
    ///
    /// The static checks run first: when one fails nothing is printed and the
    /// exit status is 2, unless --force. Only the block goes to stdout, so
    /// `romm-oidc emit-env > .env` is clean.
    EmitEnv(EmitEnvArgs),

    /// Read RomM's log and explain every OIDC login failure in it
    ///
    /// Give RomM's container log, both streams: `docker logs --since 24h romm
    /// 2>&1 | romm-oidc explain`, or a saved copy as FILE. Each kind of failure
    /// RomM logs (its tracebacks, its own refusals, the answers only the access
    /// log shows) is one finding with its count, the time of the last one, the
    /// cause and the fix the doctor's matching check gives. The newest 16 MiB
    /// are read; stdin is read until it ends or sends nothing for --timeout
    /// seconds. Codes and states in the access lines are never shown. Exit
    /// status: 0 when no failure stands, 1 when one does, 2 when the log cannot
    /// be read (stdin a terminal included).
    Explain(ExplainArgs),

    /// Write shell completions and man pages (for packagers and maintainers)
    #[command(hide = true)]
    Generate(GenerateArgs),
}

/// RomM's OIDC settings; each flag writes the RomM variable it names.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Settings")]
pub struct SettingsArgs {
    /// Read RomM's variables from this env file (docker compose .env rules)
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,

    /// The provider's issuer URL, e.g. Pocket ID's APP_URL (OIDC_SERVER_APPLICATION_URL)
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,

    /// The client id registered at the provider (OIDC_CLIENT_ID)
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,

    /// The client secret (OIDC_CLIENT_SECRET); prefer --client-secret-file, which stays out of shell history
    #[arg(
        long,
        value_name = "SECRET",
        conflicts_with = "client_secret_file",
        value_parser = secret
    )]
    pub client_secret: Option<SecretString>,

    /// Read the client secret from this file, or stdin for - (OIDC_CLIENT_SECRET); the line breaks that end the input are ignored, any other white space is part of the secret
    #[arg(long, value_name = "FILE")]
    pub client_secret_file: Option<PathBuf>,

    /// The callback URL, <RomM URL>/api/oauth/openid (OIDC_REDIRECT_URI)
    #[arg(long, value_name = "URL")]
    pub redirect_uri: Option<String>,

    /// RomM's public base URL, as users open it; gives the callback URL when --redirect-uri is absent
    #[arg(long, value_name = "URL")]
    pub romm_url: Option<String>,

    /// The provider label, whose icon RomM shows [default: pocket-id] (OIDC_PROVIDER)
    #[arg(long, value_name = "NAME")]
    pub provider: Option<String>,

    /// PEM CA file that RomM gets as OIDC_TLS_CACERTFILE
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<String>,

    /// Full discovery URL, used verbatim instead of the derived one (OIDC_SERVER_METADATA_URL)
    #[arg(long, value_name = "URL")]
    pub metadata_url: Option<String>,

    /// ID-token claim used as the username of new accounts (OIDC_USERNAME_ATTRIBUTE)
    #[arg(long, value_name = "CLAIM")]
    pub username_attribute: Option<String>,

    /// Top-level ID-token claim that holds roles or groups (OIDC_CLAIM_ROLES)
    #[arg(long, value_name = "CLAIM")]
    pub claim_roles: Option<String>,

    /// The roles-claim value that grants Admin (OIDC_ROLE_ADMIN)
    #[arg(long, value_name = "VALUE")]
    pub role_admin: Option<String>,

    /// The roles-claim value that grants Editor/User access (OIDC_ROLE_EDITOR)
    #[arg(long, value_name = "VALUE")]
    pub role_editor: Option<String>,

    /// The roles-claim value that grants Viewer/User access; * for anyone with the claim (OIDC_ROLE_VIEWER)
    #[arg(long, value_name = "VALUE")]
    pub role_viewer: Option<String>,

    /// A Pocket ID admin API key, to read the client and users instead of guessing (optional)
    #[arg(
        long,
        value_name = "KEY",
        env = "POCKET_ID_API_KEY",
        hide_env_values = true,
        conflicts_with = "pocket_id_api_key_file",
        value_parser = api_key()
    )]
    pub pocket_id_api_key: Option<Result<SecretString, NotUtf8>>,

    /// Read the Pocket ID admin API key from this file, or stdin for -
    #[arg(long, value_name = "FILE")]
    pub pocket_id_api_key_file: Option<PathBuf>,
}

/// A secret on the command line, held so that no `{:?}` of the arguments
/// shows it.
fn secret(text: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(text.into())
}

/// A value that is not UTF-8 text.
#[derive(Clone, Copy, Debug)]
pub struct NotUtf8;

/// The API key as a secret, or `NotUtf8`, which `settings::load` reports
/// naming the variable (clap's own message would show the value).
fn api_key() -> impl clap::builder::TypedValueParser<Value = Result<SecretString, NotUtf8>> {
    use clap::builder::TypedValueParser;
    clap::builder::OsStringValueParser::new().map(|key| {
        key.into_string()
            .map(SecretString::from)
            .map_err(|_| NotUtf8)
    })
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the report as JSON: {"schema": 1, "ok", "checks", "verdict"} (every field is in the README); the same as --format json
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// How the report is printed: text for the terminal, json (see --json), or markdown to paste into a RomM or Pocket ID support thread (versions, every finding with its fix, the variables RomM reads with every secret removed)
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,

    /// Replace every host name, public IP address and email address in the output (stdout and stderr) by a stable placeholder, e.g. id.example-1, user-1@example-1 (the rule is in the README)
    #[arg(long)]
    pub redact_hosts: bool,

    /// Run against a built-in Pocket ID emulator and RomM double on loopback: a working setup, then a broken one
    #[arg(long, conflicts_with_all = ["insecure", "login", "container", "exec"])]
    pub demo: bool,

    /// DANGER: do not verify TLS certificates (RomM always verifies; a pass then proves less)
    #[arg(long)]
    pub insecure: bool,

    /// Also read RomM's log from FILE (- for stdin) and report each OIDC failure in it (romm.log); see `romm-oidc explain`
    #[arg(long, value_name = "FILE", conflicts_with = "demo")]
    pub romm_log: Option<PathBuf>,

    #[command(flatten)]
    pub settings: SettingsArgs,

    #[command(flatten)]
    pub login: LoginArgs,

    #[command(flatten)]
    pub romm: RommAccessArgs,

    #[command(flatten)]
    pub container: ContainerArgs,
}

impl DoctorArgs {
    /// The report's format: `--json` is `--format json`.
    pub fn report_format(&self) -> ReportFormat {
        self.format.or_json(self.json)
    }
}

/// RomM's own side: its environment, network and code, seen from inside its container.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "RomM's container (optional)")]
pub struct ContainerArgs {
    /// Check from inside RomM's container NAME too: its environment becomes the lowest settings source, and a probe piped to its python3 makes RomM's own OIDC requests there (nothing is written into the container; the client secret never leaves it)
    #[arg(long, value_name = "NAME", conflicts_with = "exec")]
    pub container: Option<String>,

    /// The engine that runs --container [default: the first on PATH of docker, podman, nerdctl]
    #[arg(long, value_enum, value_name = "ENGINE", requires = "container")]
    pub engine: Option<Engine>,

    /// Instead of --container: the command that runs a program in RomM's container, given the program after it, e.g. 'kubectl exec -i -n media deploy/romm --' (stdin must reach the program)
    #[arg(long, value_name = "CMD")]
    pub exec: Option<CommandPrefix>,
}

/// The words of a command that runs a program given after them (`--exec`), split as
/// a POSIX shell splits them.
#[derive(Clone, Debug, PartialEq)]
pub struct CommandPrefix(Vec<String>);

impl CommandPrefix {
    pub fn words(&self) -> &[String] {
        &self.0
    }
}

impl FromStr for CommandPrefix {
    type Err = String;

    fn from_str(text: &str) -> Result<CommandPrefix, String> {
        match shell_words::split(text) {
            Ok(words) if !words.is_empty() => Ok(CommandPrefix(words)),
            Ok(_) => Err("give the command, e.g. 'kubectl exec -i -n media deploy/romm --'".into()),
            Err(e) => Err(format!("cannot split it as a shell would: {e}")),
        }
    }
}

/// Read-only access to RomM's users, to judge the token's email as RomM will.
#[derive(Debug, Args)]
#[command(next_help_heading = "RomM access (optional, read-only)")]
pub struct RommAccessArgs {
    /// A RomM admin's username: read RomM's users with a token limited to the users.read scope, never writing; the password comes from --romm-password-file, ROMM_PASSWORD, or a hidden prompt on a terminal
    #[arg(long, value_name = "USER", requires = "romm_url")]
    pub romm_username: Option<String>,

    /// Read the RomM password from this file (the line breaks that end it are ignored)
    #[arg(long, value_name = "FILE", requires = "romm_username")]
    pub romm_password_file: Option<PathBuf>,

    /// Read a RomM client API token (rmm_…, RomM 4.8+, made with only the users.read scope) from this file, instead of a username and password
    #[arg(
        long,
        value_name = "FILE",
        requires = "romm_url",
        conflicts_with = "romm_username"
    )]
    pub romm_token_file: Option<PathBuf>,
}

/// The real login test of `doctor --login`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Login test")]
pub struct LoginArgs {
    /// Run a real authorization-code login through a loopback listener and judge the ID token as RomM will (the wizard runs it without asking)
    #[arg(long)]
    pub login: bool,

    /// Address of the callback listener: 127.0.0.1:PORT, [::1]:PORT or localhost:PORT (which means 127.0.0.1) [default: first free of 127.0.0.1:8765-8769]
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Option<Loopback>,

    /// Command that opens the login URL (the URL is appended, or replaces %s); overrides $BROWSER
    #[arg(long, value_name = "CMD")]
    pub browser_command: Option<String>,

    /// Do not open a browser; only print the URL to open
    #[arg(long)]
    pub no_browser: bool,

    /// Seconds to wait for the login to come back (at most a week)
    #[arg(long, value_name = "SECS", default_value_t = 180,
          value_parser = clap::value_parser!(u64).range(1..=604_800))]
    pub login_timeout: u64,

    /// Add PKCE (S256) to the login; RomM itself sends none
    #[arg(long)]
    pub pkce: bool,

    /// The RomM user's email: checked against the token's email, as RomM matches accounts
    #[arg(long, value_name = "EMAIL")]
    pub email: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// RomM's log (docker logs output, with or without -t), or - for stdin
    #[arg(value_name = "FILE", default_value = "-")]
    pub log: PathBuf,

    /// Print the findings as JSON: the doctor's report without its verdict; the same as --format json
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// How the findings are printed: text, json (see --json), or markdown to paste into a support thread
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,

    /// Replace every host name, public IP address and email address in the output by a stable placeholder, as `doctor --redact-hosts` does
    #[arg(long)]
    pub redact_hosts: bool,
}

impl ExplainArgs {
    /// The report's format: `--json` is `--format json`.
    pub fn report_format(&self) -> ReportFormat {
        self.format.or_json(self.json)
    }
}

#[derive(Debug, Args)]
pub struct WizardArgs {
    /// Accept every default and ask nothing that a flag, the environment or --env-file answers
    #[arg(long, short = 'y')]
    pub yes: bool,

    #[command(flatten)]
    pub settings: SettingsArgs,

    #[command(flatten)]
    pub container: ContainerArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub login: LoginArgs,
}

/// Where the env block goes.
#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Dotenv)]
    pub format: Format,

    /// Merge into this env file instead of printing: OIDC lines replaced in place, others kept byte for byte
    ///
    /// Only a regular file is replaced (a symlink is followed to one): a device,
    /// FIFO, socket, directory, dangling symlink or a file with other hard links is
    /// refused (exit 2) before anything is read. The new file keeps the old one's
    /// owner, group and permission bits (0600 for a new file).
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,

    /// Let --write replace a read-only file (no owner write permission); the new file keeps that mode
    #[arg(long, requires = "write")]
    pub write_read_only: bool,
}

#[derive(Debug, Args)]
pub struct EmitEnvArgs {
    /// Print the block even when a check fails
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub settings: SettingsArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Folder that receives completions/ and man/
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out_dir: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// A number of seconds greater than zero (`--timeout`), checked once as the
/// command line is read (xh's `Timeout`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Seconds(Duration);

impl Seconds {
    pub fn duration(self) -> Duration {
        self.0
    }
}

impl FromStr for Seconds {
    type Err = String;

    fn from_str(text: &str) -> Result<Seconds, String> {
        text.parse::<f64>()
            .ok()
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
            .filter(|d| !d.is_zero())
            .map(Seconds)
            .ok_or_else(|| "give a positive number of seconds".to_string())
    }
}

/// A loopback address and port (`--listen`): 127.0.0.1:PORT, [::1]:PORT, or
/// localhost:PORT, which is 127.0.0.1, so the callback URL the provider sees
/// is the one the listener binds. Nothing else can be one, so the listener
/// never binds another interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loopback(SocketAddr);

impl Loopback {
    /// 127.0.0.1 on `port` (0: any free port).
    pub const fn ipv4(port: u16) -> Loopback {
        Loopback(SocketAddr::new(
            std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            port,
        ))
    }

    pub fn addr(self) -> SocketAddr {
        self.0
    }
}

impl FromStr for Loopback {
    type Err = String;

    fn from_str(value: &str) -> Result<Loopback, String> {
        let addr = match value.rsplit_once(':') {
            Some((host, port)) if host.eq_ignore_ascii_case("localhost") => port
                .parse::<u16>()
                .map(|port| Loopback::ipv4(port).0)
                .map_err(|_| format!("{port:?} is not a port number")),
            _ => value.parse::<SocketAddr>().map_err(|_| {
                "give HOST:PORT, e.g. 127.0.0.1:8765, [::1]:8765 or localhost:8765".to_string()
            }),
        }?;
        if !addr.ip().is_loopback() {
            return Err(format!(
                "the callback listener binds loopback addresses only (127.0.0.1:{port}, [::1]:{port} or localhost:{port}), never {}",
                addr.ip(),
                port = addr.port()
            ));
        }
        Ok(Loopback(addr))
    }
}

/// The command line with the variable table (from `settings::VARS`) as the
/// long help of `emit-env`, so help, man page and code cannot disagree.
pub fn command() -> clap::Command {
    let mut table = String::from("RomM variables (name, RomM default, first RomM release):\n");
    for var in VARS {
        let default = if var.default.is_empty() {
            "unset"
        } else {
            var.default
        };
        table.push_str(&format!(
            "\n  {}  [{default}; {}+]\n      {}\n",
            var.name, var.since, var.meaning
        ));
    }
    Cli::command().mut_subcommand("emit-env", |c| c.after_long_help(table))
}

/// Parses the process arguments against `command()`; exits on usage errors.
pub fn parse() -> Cli {
    let matches = command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

#[cfg(test)]
mod tests {
    use super::{Loopback, Seconds};

    fn listen(value: &str) -> Result<String, String> {
        value.parse::<Loopback>().map(|l| l.addr().to_string())
    }

    #[test]
    fn listen_takes_loopback_addresses_and_localhost() {
        assert_eq!(listen("127.0.0.1:8765").unwrap(), "127.0.0.1:8765");
        assert_eq!(listen("[::1]:8765").unwrap(), "[::1]:8765");
        assert_eq!(listen("localhost:8765").unwrap(), "127.0.0.1:8765");
        assert_eq!(listen("LocalHost:0").unwrap(), "127.0.0.1:0");
        for refused in ["0.0.0.0:8765", "[::]:8765", "192.168.1.2:8765"] {
            let e = listen(refused).unwrap_err();
            assert!(e.contains("loopback"), "{refused}: {e}");
        }
        for bad in [
            "localhost",
            "localhost:http",
            "127.0.0.1",
            "::1:8765",
            "example.com:80",
        ] {
            assert!(listen(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timeout_takes_positive_seconds_a_duration_can_hold() {
        let secs = |text: &str| text.parse::<Seconds>().map(|s| s.duration().as_secs_f64());
        assert_eq!(secs("10"), Ok(10.0));
        assert_eq!(secs("0.25"), Ok(0.25));
        for bad in ["0", "-0", "-1", "abc", "", "NaN", "inf", "1e300"] {
            assert_eq!(
                secs(bad),
                Err("give a positive number of seconds".into()),
                "{bad}"
            );
        }
    }
}
