//! The hidden `generate` command: shell completions and man pages from the
//! command-line definition, so they can never drift from `cli.rs`.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use clap_complete::Shell;

use crate::cli;

const BIN: &str = "romm-oidc";

/// Writes `completions/` (bash, zsh, fish, powershell, elvish) and `man/` (a
/// page for the tool and one per subcommand) under `out_dir`.
pub fn write_all(out_dir: &Path) -> Result<()> {
    let completions = out_dir.join("completions");
    let man = out_dir.join("man");
    for dir in [&completions, &man] {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::PowerShell,
        Shell::Elvish,
    ] {
        clap_complete::generate_to(shell, &mut cli::command(), BIN, &completions)
            .with_context(|| format!("cannot write {shell} completions"))?;
    }
    clap_mangen::generate_to(cli::command(), &man)
        .with_context(|| format!("cannot write man pages to {}", man.display()))?;
    Ok(())
}
