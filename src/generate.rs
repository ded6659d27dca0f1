//! The hidden `generate` command: shell completions and man pages from the
//! command-line definition, so they can never drift from `cli.rs`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap_complete::Shell;

use crate::cli;
use crate::files::{Target, WriteOptions};

const BIN: &str = "romm-oidc";

/// Writes `completions/` (bash, zsh, fish, powershell, elvish) and `man/` (a
/// page for the tool and one per subcommand) under `out_dir`. They are made
/// in a private folder first; each output must then pass `--write`'s rules
/// (a regular file, or none yet) before any is replaced.
pub fn write_all(out_dir: &Path) -> Result<()> {
    let staging = tempfile::tempdir().context("cannot create a temporary folder")?;
    for sub in ["completions", "man"] {
        fs::create_dir(staging.path().join(sub)).context("cannot fill the temporary folder")?;
    }
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::PowerShell,
        Shell::Elvish,
    ] {
        clap_complete::generate_to(
            shell,
            &mut cli::command(),
            BIN,
            staging.path().join("completions"),
        )
        .with_context(|| format!("cannot generate {shell} completions"))?;
    }
    clap_mangen::generate_to(cli::command(), staging.path().join("man"))
        .context("cannot generate the man pages")?;
    let options = WriteOptions {
        read_only: false,
        new_mode: 0o644,
    };
    let mut outputs: Vec<(PathBuf, Target)> = Vec::new();
    for sub in ["completions", "man"] {
        let dir = out_dir.join(sub);
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut names: Vec<_> = fs::read_dir(staging.path().join(sub))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        names.sort();
        for name in names {
            let made = staging.path().join(sub).join(&name);
            outputs.push((made, Target::open(&dir.join(&name), options)?));
        }
    }
    for (made, target) in outputs {
        target.replace(&fs::read(&made)?)?;
    }
    Ok(())
}
