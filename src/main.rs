//! romm-oidc: parse the command line, resolve the run's options and the
//! settings once, dispatch, and map the outcome to an exit status (`exit`).

// A finding is the error value of a check by design: it is rich on purpose.
#![allow(clippy::result_large_err)]

/// Notes on stderr, shadowing std's `eprintln!`/`eprint!` in every module
/// below (a `macro_rules!` macro defined before the modules takes precedence
/// over the prelude's). std's versions panic when stderr is a closed pipe
/// (`romm-oidc doctor -v 2>&1 | head -1`); a note nobody reads is not worth
/// a crash, nor the exit status the run earned. A spinner on the terminal is
/// taken off while a note is written, so neither draws over the other. With
/// `doctor --redact-hosts`, every note is redacted (`redact::shown`).
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let text = $crate::redact::shown(&format!($($arg)*)).into_owned();
        $crate::progress::suspend(|| {
            let _ = writeln!(std::io::stderr(), "{text}");
        });
    }};
}

macro_rules! eprint {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let text = $crate::redact::shown(&format!($($arg)*)).into_owned();
        $crate::progress::suspend(|| {
            let _ = write!(std::io::stderr(), "{text}");
        });
    }};
}

mod browser;
mod checks;
mod cli;
mod container;
#[cfg(feature = "demo")]
mod demo;
mod doctor;
mod emit;
mod envfile;
mod exit;
mod files;
mod generate;
mod http;
mod interrupt;
#[cfg(test)]
mod never_shown;
mod oidc;
mod pocketid;
mod progress;
mod redact;
mod report;
mod romm_api;
mod romm_log;
mod run;
mod settings;
mod tls;
mod version;
mod wizard;

use std::process::ExitCode;

use anyhow::Result;
use cli::{Command, SettingsArgs};
use container::Container;
use exit::Exit;
use settings::Settings;

fn main() -> ExitCode {
    let cli = cli::parse();
    let config = run::Config::new(&cli);
    Exit::of(dispatch(&cli.command, &config)).into()
}

fn dispatch(command: &Command, config: &run::Config) -> Result<Exit> {
    match command {
        Command::Doctor(args) => {
            if args.redact_hosts {
                redact::enable();
            }
            if args.redact_hosts || args.report_format() == report::ReportFormat::Markdown {
                settings::paste_mode();
            }
            doctor::check_inputs(args)?;
            let container = Container::open(&args.container, config.timeout)?;
            let settings = settings(&args.settings, container.as_ref(), config)?;
            doctor::command(args, &settings, config, container.as_ref())
        }
        Command::EmitEnv(args) => {
            emit::check_target(&args.output)?;
            emit::command(args, &settings(&args.settings, None, config)?)
        }
        Command::Wizard(args) => {
            emit::check_target(&args.output)?;
            let container = Container::open(&args.container, config.timeout)?;
            let settings = settings(&args.settings, container.as_ref(), config)?;
            wizard::run(args, settings, config, container.as_ref())?;
            Ok(Exit::Ok)
        }
        Command::Explain(args) => {
            if args.redact_hosts {
                redact::enable();
            }
            romm_log::explain(args, config)
        }
        Command::Generate(args) => {
            generate::write_all(&args.out_dir)?;
            eprintln!(
                "wrote {}/completions and {}/man",
                args.out_dir.display(),
                args.out_dir.display()
            );
            Ok(Exit::Ok)
        }
    }
}

/// The settings, read once from every source the command line names.
fn settings(
    args: &SettingsArgs,
    container: Option<&Container>,
    config: &run::Config,
) -> Result<Settings> {
    let romm_env = container.and_then(|c| c.env.as_ref().ok());
    let settings = settings::load(args, romm_env)?;
    if config.verbose > 0 {
        settings::trace(&settings);
    }
    Ok(settings)
}
