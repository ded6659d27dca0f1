//! romm-oidc: parse the command line, resolve the settings once, dispatch,
//! and map the outcome to an exit status (0 ok, 1 a check failed, 2 usage or
//! input error).

// A finding is the error value of a check by design: it is rich on purpose.
#![allow(clippy::result_large_err)]

/// Notes on stderr, shadowing std's `eprintln!`/`eprint!` in every module
/// below (a `macro_rules!` macro defined before the modules takes precedence
/// over the prelude's). std's versions panic when stderr is a closed pipe
/// (`romm-oidc doctor -v 2>&1 | head -1`); a note nobody reads is not worth
/// a crash, nor the exit status the run earned. A spinner on the terminal is
/// taken off while a note is written, so neither draws over the other.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        $crate::progress::suspend(|| {
            let _ = writeln!(std::io::stderr(), $($arg)*);
        });
    }};
}

macro_rules! eprint {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        $crate::progress::suspend(|| {
            let _ = write!(std::io::stderr(), $($arg)*);
        });
    }};
}

mod browser;
mod checks;
mod cli;
mod demo;
mod doctor;
mod emit;
mod envfile;
mod files;
mod generate;
mod http;
#[cfg(test)]
mod never_shown;
mod oidc;
mod pocketid;
mod progress;
mod report;
mod romm_api;
mod settings;
mod tls;
mod wizard;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use cli::{Cli, ColorChoice, Command, DoctorArgs, EmitEnvArgs};
use report::Report;
use settings::Settings;

fn main() -> ExitCode {
    let cli = cli::parse();
    set_colors(cli.color);
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            report::note!("romm-oidc: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `--color always` and `never` decide alone, over `NO_COLOR` and `TERM`;
/// `auto` colours a stream only when it is a terminal, `NO_COLOR` is unset
/// or empty (no-color.org) and `TERM` is set and not `dumb` (console's
/// `is_dumb`).
fn set_colors(choice: ColorChoice) {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let plain = no_color || console::is_dumb();
    let (out, err) = match choice {
        ColorChoice::Always => (true, true),
        ColorChoice::Never => (false, false),
        ColorChoice::Auto => (
            !plain && std::io::stdout().is_terminal(),
            !plain && std::io::stderr().is_terminal(),
        ),
    };
    console::set_colors_enabled(out);
    console::set_colors_enabled_stderr(err);
}

fn run(cli: &Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Doctor(args) => {
            let settings = settings::load(&args.settings)?;
            trace_settings(cli.verbose, &settings);
            doctor(args, &settings, cli)
        }
        Command::EmitEnv(args) => {
            check_write_target(&args.output)?;
            let settings = settings::load(&args.settings)?;
            trace_settings(cli.verbose, &settings);
            emit_env(args, &settings)
        }
        Command::Wizard(args) => {
            check_write_target(&args.output)?;
            let settings = settings::load(&args.settings)?;
            trace_settings(cli.verbose, &settings);
            wizard::run(
                args,
                settings,
                timeout(cli.timeout)?,
                cli.verbose,
                login_options(&args.login, cli.verbose),
            )
        }
        Command::Generate(args) => {
            generate::write_all(&args.out_dir)?;
            eprintln!(
                "wrote {}/completions and {}/man",
                args.out_dir.display(),
                args.out_dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A `--write` target that cannot be replaced is refused before anything is
/// read or asked; it is checked again when the write happens.
fn check_write_target(output: &cli::OutputArgs) -> Result<()> {
    if let Some(path) = &output.write {
        files::Target::open(path, files::WriteOptions::secret(output.write_read_only))?;
    }
    Ok(())
}

/// `-v`: the settings as resolved, with where each came from (secrets masked).
fn trace_settings(verbose: u8, settings: &Settings) {
    if verbose == 0 {
        return;
    }
    for (var, setting) in settings.iter() {
        report::note!(
            "setting {} = {} [{}]",
            var.name,
            settings::shown(var, setting.raw()),
            setting.source
        );
    }
}

fn doctor(args: &DoctorArgs, settings: &Settings, cli: &Cli) -> Result<ExitCode> {
    if args.demo {
        let ok = demo::run(
            timeout(cli.timeout)?,
            cli.verbose,
            args.json,
            report::print_stdout,
        )?;
        return Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    if args.insecure {
        eprintln!("romm-oidc: WARNING: --insecure: TLS certificates are NOT verified in this run");
    }
    let login = args
        .login
        .login
        .then(|| login_options(&args.login, cli.verbose));
    // Ctrl-C ends the login wait cleanly: the listener closes, the report prints.
    static CANCELLED: AtomicBool = AtomicBool::new(false);
    if login.is_some() {
        let _ = ctrlc::set_handler(|| CANCELLED.store(true, Ordering::SeqCst));
    }
    let romm_access = settings::romm_access(&args.romm, args.json)?;
    let timeout = timeout(cli.timeout)?;
    progress::line(&format!(
        "romm-oidc: checking {}… (each request at most {} s)",
        match settings.value(settings::OIDC_SERVER_APPLICATION_URL) {
            Some(issuer) => format!("the settings, the provider at {issuer} and RomM"),
            None => "the settings and RomM".to_string(),
        },
        timeout.as_secs_f64()
    ));
    let report = doctor::run(
        settings,
        &doctor::Options {
            timeout,
            insecure: args.insecure,
            verbose: cli.verbose,
            login,
            email: args.login.email.clone(),
            romm_access,
        },
        &CANCELLED,
    )?;
    let text = if args.json {
        report.to_json()
    } else {
        report.to_human()
    };
    report::print_stdout(&text)?;
    Ok(if CANCELLED.load(Ordering::SeqCst) {
        // The report of what ran is printed; the status says it was cut short.
        ExitCode::from(130)
    } else if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn emit_env(args: &EmitEnvArgs, settings: &Settings) -> Result<ExitCode> {
    let mut report = Report::default();
    report.extend(checks::config::run(settings, checks::config::Purpose::Emit));
    if !report.ok() {
        for f in report.failures() {
            // As doctor shows it: the summary, then the detail (the env-file
            // check lists every bad line there), then both sides and the fix.
            let brief = report::brief(f, "", true);
            let (head, rest) = brief.split_once('\n').unwrap_or((&brief, ""));
            eprintln!("{head}");
            for line in f.detail.lines() {
                eprintln!("    {line}");
            }
            eprint!("{rest}");
        }
        if !args.force {
            eprintln!(
                "romm-oidc: not writing an env block that RomM would fail with (use --force to write it anyway)"
            );
            return Ok(ExitCode::from(2));
        }
    }
    let block = emit::block(settings);
    match &args.output.write {
        Some(path) => emit::merge_into(
            path,
            &block,
            files::WriteOptions::secret(args.output.write_read_only),
        )?,
        None => report::print_stdout(&emit::render(&block, args.output.format)?)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn login_options(args: &cli::LoginArgs, verbose: u8) -> checks::login::Options {
    checks::login::Options {
        listen: args.listen,
        browser: match (&args.browser_command, args.no_browser) {
            (_, true) => browser::Browser::None,
            (Some(command), false) => browser::Browser::Command(command.clone()),
            (None, false) => browser::Browser::Default,
        },
        timeout: std::time::Duration::from_secs(args.login_timeout),
        pkce: args.pkce,
        email: args.email.clone(),
        verbose: verbose > 0,
    }
}

fn timeout(secs: f64) -> Result<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .with_context(|| format!("--timeout {secs}: give a positive number of seconds"))
}
