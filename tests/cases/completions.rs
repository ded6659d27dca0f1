//! The shipped completions (`completions/`, kept fresh by `tests/generated.rs`)
//! work in their real shells: each script is loaded into bash, zsh and fish,
//! their completion machinery is driven as a <TAB> would drive it, and the
//! candidates are checked — options after a subcommand (clap-rs/clap#6421
//! broke that in bash for a bin name with `-`), values of an option, and the
//! subcommands, without the hidden `generate`.
//!
//! A missing shell fails the test with the package to install (`.ci/run`
//! installs all three); it is never skipped.

use crate::support::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn completions() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("completions")
}

/// The shell's path; fails naming the Debian package when it is missing.
fn shell(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} is not installed, so its completions cannot be tested: apt-get install -y {name} (.ci/run installs bash, zsh and fish)"
            )
        })
}

/// Runs `program args` with a clean environment and HOME in a temp dir; returns
/// stdout lines.
fn run(program: &Path, args: &[&str], dir: &Path) -> Vec<String> {
    let mut c = Command::new(program);
    process::clean(c.args(args))
        .env("HOME", dir)
        .xterm()
        .current_dir(dir);
    let out = process::run(&mut c, Duration::from_secs(30));
    assert!(
        out.code == 0,
        "{} {args:?} failed:\n{}",
        program.display(),
        out.show()
    );
    out.stdout
        .lines()
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// bash: the script's completion function (found with `complete -p`), called
/// as readline calls it, with COMP_WORDS and COMP_CWORD set for `line`.
const BASH: &str = r#"
source "$1"
line=$2
read -ra COMP_WORDS <<< "$line"
[[ $line == *' ' ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE=$line
COMP_POINT=${#line}
spec=$(complete -p romm-oidc) || exit 3
[[ $spec =~ -F\ ([^ ]+) ]] || exit 4
prev=""
(( COMP_CWORD > 0 )) && prev=${COMP_WORDS[COMP_CWORD-1]}
"${BASH_REMATCH[1]}" romm-oidc "${COMP_WORDS[COMP_CWORD]}" "$prev"
printf '%s\n' "${COMPREPLY[@]}"
"#;

/// zsh: an interactive `zsh -f` in a pseudo-terminal (zsh/zpty) loads the
/// completions with compinit and gets `line` then a <TAB>, bound to a widget
/// that runs the completion system and then prints a marker; `compadd` is
/// wrapped to print each candidate it adds. The markers are built from
/// variables, so the echo of these definitions never looks like one.
const ZSH: &str = r#"
zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z "fpath=(${(q)1} \$fpath); autoload -Uz compinit && compinit -u -D"
zpty -w z 'm=HIT; compadd() { if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi; local -a got; builtin compadd -A got "$@"; local g; for g in $got; do print -r -- "<$m>$g"; done; builtin compadd "$@" }'
zpty -w z 'd=DONE; _capture() { _main_complete; print -r -- "<$d>" }; zle -C capture complete-word _capture; bindkey "^I" capture'
zpty -w -n z "$2"$'\t'
local line hit
integer tries=0
while (( tries++ < 2000 )); do
  if zpty -r -t z line; then
    for hit in ${(f)line//$'\r'/}; do
      [[ $hit == *'<DONE>'* ]] && { zpty -d z; exit 0 }
      [[ $hit == *'<HIT>'?* ]] && print -r -- ${hit##*<HIT>}
    done
  else
    sleep 0.01
  fi
done
zpty -d z
print -u2 "no completion within 20 s"
exit 5
"#;

fn bash_offers(line: &str) -> Vec<String> {
    let dir = Sandbox::new();
    let script = dir.path().join("complete.bash");
    std::fs::write(&script, BASH).unwrap();
    let file = completions().join("romm-oidc.bash");
    run(
        &shell("bash"),
        &[
            "--norc",
            "--noprofile",
            script.to_str().unwrap(),
            file.to_str().unwrap(),
            line,
        ],
        dir.path(),
    )
}

fn zsh_offers(line: &str) -> Vec<String> {
    let dir = Sandbox::new();
    let script = dir.path().join("complete.zsh");
    std::fs::write(&script, ZSH).unwrap();
    let completions = completions();
    run(
        &shell("zsh"),
        &[
            "-f",
            script.to_str().unwrap(),
            completions.to_str().unwrap(),
            line,
        ],
        dir.path(),
    )
}

fn fish_offers(line: &str) -> Vec<String> {
    let dir = Sandbox::new();
    let file = completions().join("romm-oidc.fish");
    let command = format!(
        "source {}; complete -C {}",
        shell_words::quote(file.to_str().unwrap()),
        shell_words::quote(line)
    );
    run(&shell("fish"), &["--no-config", "-c", &command], dir.path())
        .into_iter()
        // fish prints `candidate<TAB>description`.
        .map(|l| l.split('\t').next().unwrap_or_default().to_string())
        .collect()
}

/// What every shell must offer.
fn check(shell: &str, offers: impl Fn(&str) -> Vec<String>) {
    let after_doctor = offers("romm-oidc doctor --lo");
    assert_eq!(
        sorted(&after_doctor),
        ["--login", "--login-timeout"],
        "{shell}: `romm-oidc doctor --lo<TAB>`"
    );
    let after_emit_env = offers("romm-oidc emit-env --f");
    for want in ["--force", "--format"] {
        assert!(
            after_emit_env.iter().any(|c| c == want),
            "{shell}: `romm-oidc emit-env --f<TAB>` offers {after_emit_env:?}, not {want}"
        );
    }
    assert_eq!(
        sorted(&offers("romm-oidc doctor --color ")),
        ["always", "auto", "never"],
        "{shell}: `romm-oidc doctor --color <TAB>`"
    );
    let wizard = offers("romm-oidc wizard --wr");
    assert!(
        wizard.iter().any(|c| c == "--write"),
        "{shell}: `romm-oidc wizard --wr<TAB>` offers {wizard:?}"
    );
    let top = offers("romm-oidc ");
    for want in ["doctor", "wizard", "emit-env"] {
        assert!(
            top.iter().any(|c| c == want),
            "{shell}: `romm-oidc <TAB>` offers {top:?}, not {want}"
        );
    }
    // fish offers nothing after `help` (its script counts `help` itself as
    // the subcommand already given); bash and zsh offer the subcommands.
    for line in ["romm-oidc ", "romm-oidc help "] {
        let subcommands = offers(line);
        assert!(
            !subcommands.iter().any(|c| c.contains("generate")),
            "{shell}: `{line}<TAB>` offers the hidden generate: {subcommands:?}"
        );
    }
}

fn sorted(candidates: &[String]) -> Vec<&str> {
    let mut out: Vec<&str> = candidates.iter().map(String::as_str).collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[test]
fn bash_completes_after_a_subcommand_and_hides_generate() {
    check("bash", bash_offers);
}

#[test]
fn zsh_completes_after_a_subcommand_and_hides_generate() {
    check("zsh", zsh_offers);
}

#[test]
fn fish_completes_after_a_subcommand_and_hides_generate() {
    check("fish", fish_offers);
}
