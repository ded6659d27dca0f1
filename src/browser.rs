//! Opening the user's browser: `--browser-command`, then `$BROWSER`, then the
//! platform's opener. The launcher never writes to stdout (that is the
//! report's), and is never waited for.

use std::io::IsTerminal;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// A command line with the URL put where `%s` stands, or appended.
fn with_url(command: &str, url: &str) -> Result<Vec<String>> {
    let mut words = shell_words::split(command)
        .with_context(|| format!("cannot parse browser command {command:?}"))?;
    if words.is_empty() {
        bail!("the browser command is empty");
    }
    if words.iter().any(|w| w.contains("%s")) {
        for w in &mut words {
            *w = w.replace("%s", url);
        }
    } else {
        words.push(url.to_string());
    }
    Ok(words)
}

/// How the login URL is opened.
pub enum Browser {
    /// `--browser-command`.
    Command(String),
    /// `$BROWSER`, else the system opener.
    Default,
    /// `--no-browser`: the URL is only printed.
    None,
    /// The demo's stand-in: a built-in client that follows the redirects, as
    /// a browser with a provider session would.
    #[cfg(feature = "demo")]
    Follow,
}

/// Starts the browser at `url`. Returns how it was started, for the log line.
pub fn open(url: &str, browser: &Browser) -> Result<String> {
    let command = match browser {
        Browser::Command(c) => Some(c.as_str()),
        Browser::Default => None,
        Browser::None => return Ok("no browser (--no-browser)".into()),
        #[cfg(feature = "demo")]
        Browser::Follow => {
            let url = url.to_string();
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(std::time::Duration::from_secs(10))
                    .build();
                if let Ok(client) = client {
                    let _ = client.get(url).send();
                }
            });
            return Ok("the demo's built-in redirect follower".into());
        }
    };
    let from_env = match (command, std::env::var("BROWSER")) {
        (None, Err(std::env::VarError::NotUnicode(_))) => bail!("$BROWSER is not UTF-8 text"),
        (_, value) => value.ok().filter(|b| !b.trim().is_empty()),
    };
    // $BROWSER may list several commands separated by ':'; the first is used.
    let chosen = command
        .map(str::to_string)
        .or_else(|| from_env.map(|b| b.split(':').next().unwrap_or_default().to_string()));
    let Some(chosen) = chosen else {
        open::that_detached(url).context("cannot start the system browser")?;
        return Ok("the system browser".into());
    };
    let words = with_url(&chosen, url)?;
    let mut child = Command::new(&words[0])
        .args(&words[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        // On a terminal the launcher's chatter would land in the middle of a
        // prompt, and a program that resets the terminal mode on exit (Node
        // does) would break the prompt's key reading; in a log it may help.
        .stderr(if std::io::stderr().is_terminal() {
            Stdio::null()
        } else {
            Stdio::inherit()
        })
        .spawn()
        .with_context(|| format!("cannot run browser command {:?}", words[0]))?;
    // Reap it whenever it ends, so no zombie is left behind.
    std::thread::spawn(move || child.wait());
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::with_url;

    #[test]
    fn url_goes_where_percent_s_is_or_last() {
        assert_eq!(
            with_url("firefox --new-tab", "http://x/").unwrap(),
            ["firefox", "--new-tab", "http://x/"]
        );
        assert_eq!(
            with_url("'my browser' %s --x", "u").unwrap(),
            ["my browser", "u", "--x"]
        );
        assert!(with_url("  ", "u").is_err());
    }
}
