//! The run's own options, resolved once from the command line beside the
//! settings and passed down (fd's `construct_config`): the commands never
//! read these flags themselves. The values were checked as the command line
//! was read (`cli::Seconds`, `cli::Loopback`), so resolving cannot fail.

use std::io::IsTerminal;
use std::time::Duration;

use crate::browser::Browser;
use crate::checks::login;
use crate::cli::{Cli, ColorChoice, LoginArgs};

pub struct Config {
    /// Each network step's limit (`--timeout`).
    pub timeout: Duration,
    /// `-v`: 1 the settings and each request, 2 the bodies too.
    pub verbose: u8,
}

impl Config {
    /// The run's options; the colours of stdout and stderr are set here too.
    pub fn new(cli: &Cli) -> Config {
        set_colors(cli.color);
        Config {
            timeout: cli.timeout.duration(),
            verbose: cli.verbose,
        }
    }

    /// The login test as its flags ask for it.
    pub fn login(&self, args: &LoginArgs) -> login::Options {
        login::Options {
            listen: args.listen,
            browser: match (&args.browser_command, args.no_browser) {
                (_, true) => Browser::None,
                (Some(command), false) => Browser::Command(command.clone()),
                (None, false) => Browser::Default,
            },
            timeout: Duration::from_secs(args.login_timeout),
            pkce: args.pkce,
            email: args.email.clone(),
            verbose: self.verbose > 0,
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
