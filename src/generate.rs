//! The hidden `generate` command: shell completions and man pages from the
//! command-line definition, so they can never drift from `cli.rs`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
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
        let path = clap_complete::generate_to(
            shell,
            &mut offered(),
            BIN,
            staging.path().join("completions"),
        )
        .with_context(|| format!("cannot generate {shell} completions"))?;
        if shell == Shell::Bash {
            let script = fs::read_to_string(&path)?;
            fs::write(&path, bash_case_labels(&script)?)?;
        }
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

/// The command line as completions offer it: without hidden subcommands.
/// clap_complete's generators list every subcommand, hidden or not, and a
/// clap `Command` cannot drop one, so the top level is rebuilt from the full
/// one: its name, texts, version, settings, arguments and the visible
/// subcommands.
fn offered() -> clap::Command {
    let full = cli::command();
    let mut offered = clap::Command::new(BIN)
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(full.is_subcommand_required_set())
        .arg_required_else_help(full.is_arg_required_else_help_set())
        .args(full.get_arguments().cloned())
        .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    if let Some(about) = full.get_about() {
        offered = offered.about(about.clone());
    }
    if let Some(about) = full.get_long_about() {
        offered = offered.long_about(about.clone());
    }
    offered
}

/// Works around clap-rs/clap#6421 (clap_complete 4.6.11, still in 4.6.12):
/// for a bin name with `-`, the bash script's loop sets `cmd` to
/// `romm__oidc__subcmd__doctor` (the bin name's `-` as `__`), while the case
/// labels that complete each subcommand spell it `romm__subcmd__oidc__subcmd__doctor`
/// (`-` as `__subcmd__`), so nothing completes after a subcommand. The labels
/// are renamed to what the loop sets. Once upstream is fixed the wrong
/// spelling is gone and this is a no-op; `tests/cases/completions.rs` proves
/// either way that completion works after a subcommand.
fn bash_case_labels(script: &str) -> Result<String> {
    let wrong = format!("{}__subcmd__", BIN.replace('-', "__subcmd__"));
    let right = format!("{}__subcmd__", BIN.replace('-', "__"));
    let fixed = script.replace(&wrong, &right);
    ensure!(
        fixed.contains(&format!("        {right}doctor)")),
        "the bash completions have no case for doctor: clap_complete changed, see bash_case_labels"
    );
    Ok(fixed)
}
