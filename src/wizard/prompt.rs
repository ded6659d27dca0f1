//! The wizard's questions, apart from its decisions. [`Terminal`] asks a
//! person (dialoguer, on stderr); [`Unattended`] (`--yes`, or no terminal)
//! asks nobody and answers every question with `None`, so each step says
//! once, where it decides, what a run without answers does.

use anyhow::{Result, anyhow};
use console::Term;
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, Password, Select};

pub trait Prompt {
    /// A line of text, trimmed, with `default` offered; `optional` accepts
    /// an empty answer.
    fn text(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        optional: bool,
    ) -> Result<Option<String>>;

    /// A secret, typed hidden.
    fn secret(&mut self, prompt: &str) -> Result<Option<String>>;

    /// The index of one of `items`, `default` offered.
    fn select(&mut self, prompt: &str, items: &[&str], default: usize) -> Result<Option<usize>>;

    /// Yes or no, `default` offered.
    fn yes_no(&mut self, prompt: &str, default: bool) -> Result<Option<bool>>;

    /// After an answer that did not work: `Ok` to ask again (after `note`),
    /// or, with nobody to ask, the error `failure` that ends the run.
    fn again(&mut self, note: Option<&str>, failure: String) -> Result<()>;

    /// Yes or no, where a run without answers takes the `default`.
    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool> {
        Ok(self.yes_no(prompt, default)?.unwrap_or(default))
    }

    /// A line of text that must not be empty.
    fn ask(&mut self, prompt: &str, default: Option<&str>) -> Result<Option<String>> {
        self.text(prompt, default, false)
    }
}

/// A person at a terminal. A prompt in raw mode sees Ctrl-C as a key: its
/// `Interrupted` error reaches the caller as a `dialoguer::Error`.
pub struct Terminal {
    term: Term,
    theme: ColorfulTheme,
}

impl Terminal {
    pub fn new() -> Terminal {
        Terminal {
            term: Term::stderr(),
            theme: ColorfulTheme::default(),
        }
    }
}

impl Prompt for Terminal {
    fn text(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        optional: bool,
    ) -> Result<Option<String>> {
        let mut input = Input::<String>::with_theme(&self.theme)
            .with_prompt(prompt)
            .allow_empty(optional);
        if let Some(d) = default {
            input = input.default(d.to_string());
        }
        Ok(Some(input.interact_text_on(&self.term)?.trim().to_string()))
    }

    fn secret(&mut self, prompt: &str) -> Result<Option<String>> {
        Ok(Some(
            Password::with_theme(&self.theme)
                .with_prompt(prompt)
                .interact_on(&self.term)?,
        ))
    }

    fn select(&mut self, prompt: &str, items: &[&str], default: usize) -> Result<Option<usize>> {
        Ok(Some(
            Select::with_theme(&self.theme)
                .with_prompt(prompt)
                .items(items)
                .default(default)
                .interact_on(&self.term)?,
        ))
    }

    fn yes_no(&mut self, prompt: &str, default: bool) -> Result<Option<bool>> {
        Ok(Some(
            Confirm::with_theme(&self.theme)
                .with_prompt(prompt)
                .default(default)
                .interact_on(&self.term)?,
        ))
    }

    fn again(&mut self, note: Option<&str>, _failure: String) -> Result<()> {
        if let Some(note) = note {
            eprintln!("  {note}");
        }
        Ok(())
    }
}

/// Nobody to ask: every value comes from flags, the environment or the env
/// file, and an answer that does not work ends the run.
pub struct Unattended;

impl Prompt for Unattended {
    fn text(&mut self, _: &str, _: Option<&str>, _: bool) -> Result<Option<String>> {
        Ok(None)
    }

    fn secret(&mut self, _: &str) -> Result<Option<String>> {
        Ok(None)
    }

    fn select(&mut self, _: &str, _: &[&str], _: usize) -> Result<Option<usize>> {
        Ok(None)
    }

    fn yes_no(&mut self, _: &str, _: bool) -> Result<Option<bool>> {
        Ok(None)
    }

    fn again(&mut self, _note: Option<&str>, failure: String) -> Result<()> {
        Err(anyhow!(failure))
    }
}
