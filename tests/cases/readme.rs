//! The README stays true: it names every variable RomM reads and every check
//! the doctor runs, and its set-up command works.

use crate::support::prelude::*;
use crate::support::standin;
use std::collections::BTreeSet;
use std::time::Duration;

pub fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}

#[test]
fn readme_names_every_variable_of_the_help_table() {
    let sb = Sandbox::new();
    let mut c = sb.cmd();
    c.args(["emit-env", "--help"]);
    let help = process::run(&mut c, Duration::from_secs(60)).stdout_bytes;
    let help = String::from_utf8(help).unwrap();
    let names: BTreeSet<&str> = help
        .split_whitespace()
        .filter(|w| w.starts_with("OIDC_") || *w == "DISABLE_USERPASS_LOGIN")
        .map(|w| w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_'))
        .collect();
    assert!(names.len() >= 18, "the help lists only {names:?}");
    let text = readme();
    let missing: Vec<_> = names
        .iter()
        .filter(|n| !text.contains(&format!("`{n}`")))
        .collect();
    assert!(missing.is_empty(), "README.md lacks {missing:?}");
}

#[test]
fn readme_set_up_command_runs_and_names_every_check() {
    let text = readme();
    assert!(text.contains("cargo run --release -- doctor --demo"));
    assert!(text.contains("cargo test --workspace"));
    let sb = Sandbox::new();
    let mut c = bin::command(sb.path());
    c.loopback().args(["doctor", "--demo", "--json"]);
    let out = process::run(&mut c, Duration::from_secs(60));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout_bytes).unwrap();
    let ids: BTreeSet<String> = ["working", "broken"]
        .iter()
        .flat_map(|half| report[half]["checks"].as_array().unwrap().clone())
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.len() >= 25, "{ids:?}");
    let missing: Vec<_> = ids
        .iter()
        .filter(|id| !text.contains(&format!("`{id}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md does not document {missing:?}"
    );
}

#[test]
fn readme_names_exactly_the_emulators_flags() {
    let usage = include_str!("../../emulator/src/bin/pocket-id-emulator.rs");
    let usage = &usage[usage.find("const USAGE").expect("USAGE")..];
    let usage = &usage[..usage.find("\";").expect("end of USAGE")];
    let flags = |text: &str| -> BTreeSet<String> {
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|w| w.starts_with("--") && w.len() > 2)
            .map(str::to_string)
            .collect()
    };
    let text = readme();
    let start = text
        .find("cargo run -p pocket-id-emulator -- --help")
        .expect("README.md says how to start the emulator on its own");
    let end = start
        + text[start..]
            .find("Its user is")
            .expect("the emulator's paragraph ends with its user");
    let mut named = flags(&text[start..end]);
    named.remove("--help");
    let mut want = flags(usage);
    want.remove("--help");
    assert_eq!(
        named, want,
        "README.md's emulator flags (left) differ from its usage (right)"
    );
}

/// The README's transcripts are real: after `<!-- transcript: FILE as NAME`,
/// the `console` block's command run on a copy of FILE named NAME prints
/// exactly the block's other lines.
#[test]
fn readme_transcripts_are_what_the_binary_prints() {
    let text = readme();
    let marker = "<!-- transcript: ";
    let mut seen = 0;
    for (at, _) in text.match_indices(marker) {
        let rest = &text[at + marker.len()..];
        let spec = &rest[..rest.find(';').expect("transcript: FILE as NAME;")];
        let (file, name) = spec.split_once(" as ").expect("FILE as NAME");
        let block = &rest[rest.find("```console\n").expect("a console block") + 11..];
        let block = &block[..block.find("```").expect("the block's end")];
        let (command, expected) = block.split_once('\n').unwrap();
        let args = command
            .strip_prefix("$ romm-oidc ")
            .expect("the block starts with the command");
        let sb = Sandbox::new();
        let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        std::fs::copy(source, sb.path().join(name)).unwrap();
        let mut c = bin::command(sb.path());
        c.plain().args(args.split(' '));
        let out = process::run(&mut c, Duration::from_secs(60));
        assert_eq!(
            out.stdout, expected,
            "README's transcript of `{command}` is stale"
        );
        seen += 1;
    }
    assert!(seen >= 1, "README.md has no transcript");
}

/// The README's "Check from RomM's side" transcript is this binary's output, run as it
/// says: Pocket ID on the host's loopback, RomM's container on a network of its own
/// with an old client secret, and a `.env` with the new one. The port and Python's
/// version are the run's; every other character is compared, `…` standing for lines
/// left out.
#[test]
fn readme_transcript_from_romms_side_is_the_binarys_output() {
    let text = readme();
    let block = block_after(&text, "<!-- container transcript -->", "```");
    let (command, expected) = block.split_first().expect("a command line");
    let args: Vec<&str> = command
        .strip_prefix("$ romm-oidc doctor ")
        .expect("a doctor run")
        .split_whitespace()
        .collect();
    let e = standin::emulator();
    let old = standin::changed(
        &standin::romm_env(&e),
        "OIDC_CLIENT_SECRET",
        standin::WRONG_SECRET,
    );
    let stand = standin::Stand::new(&standin::pairs(&old)).own_network();
    let dotenv: String = standin::romm_env(&e)
        .iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    stand.sb.file(".env", &dotenv);
    let run = stand.run(&args);
    let port = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap();
    let python = regex::Regex::new(r"Python \d+\.\d+\.\d+").unwrap();
    let out = python
        .replace_all(
            &port.replace_all(&run.stdout, "127.0.0.1:1411"),
            "Python 3.13.0",
        )
        .into_owned();
    lines_in_order(expected, &out);
}

/// The lines of the block in `fence` that follows `marker` in `text`.
pub fn block_after<'a>(text: &'a str, marker: &str, fence: &str) -> Vec<&'a str> {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("README.md has no {marker}"));
    text[start..]
        .lines()
        .skip(2)
        .take_while(|l| *l != fence)
        .collect()
}

/// Each run of `expected` lines between `…` lines is in `out`, in order.
#[track_caller]
pub fn lines_in_order(expected: &[&str], out: &str) {
    let lines: Vec<&str> = out.lines().collect();
    let mut from = 0;
    for chunk in expected.split(|l| *l == "…") {
        let found = (from..=lines.len().saturating_sub(chunk.len()))
            .find(|&i| lines[i..i + chunk.len()] == *chunk)
            .unwrap_or_else(|| {
                panic!(
                    "README.md's transcript lines\n{}\nare not in the output (after line {from}):\n{out}",
                    chunk.join("\n")
                )
            });
        from = found + chunk.len();
    }
}

#[test]
fn readme_states_the_run_bound_the_malformed_suite_measures() {
    let stated = format!(
        "within **{} × `--timeout`**",
        crate::cases::malformed::RUN_BOUND_TIMEOUTS
    );
    assert!(readme().contains(&stated), "README should say {stated}");
}

#[test]
fn readme_set_up_names_what_the_suite_installs_from_the_network() {
    // .ci/run installs the peer with npm ci and the RomM double with pip: a
    // fresh machine needs these, and the README must say so.
    let text = readme();
    for needed in [
        "Node.js 20 or later and npm",
        "registry.npmjs.org",
        "Python 3 with `venv` and pip",
        "pypi.org",
        "bash, zsh and fish",
    ] {
        assert!(text.contains(needed), "README's set-up lacks {needed:?}");
    }
}

/// The README's "Asking for help" transcript is this binary's output: the
/// demo's report to paste, hosts redacted. The loopback ports are the run's:
/// they are numbered 1411, 8080, 8081, … in the order they first appear;
/// every other character is compared, `…` standing for lines left out.
#[test]
fn readme_transcript_of_a_report_to_paste_is_the_binarys_output() {
    let text = readme();
    let block = block_after(&text, "<!-- paste transcript -->", "````");
    let (command, expected) = block.split_first().expect("a command line");
    let args = command
        .strip_prefix("$ romm-oidc ")
        .expect("the block starts with the command");
    let sb = Sandbox::new();
    let mut c = bin::command(sb.path());
    c.loopback().args(args.split(' '));
    let out = process::run(&mut c, Duration::from_secs(60));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let port = regex::Regex::new(r"127\.0\.0\.1:(\d+)").unwrap();
    let mut seen: Vec<String> = Vec::new();
    let stdout = port.replace_all(&out.stdout, |c: &regex::Captures<'_>| {
        let at = seen.iter().position(|p| *p == c[1]).unwrap_or_else(|| {
            seen.push(c[1].to_string());
            seen.len() - 1
        });
        let shown = if at == 0 { 1411 } else { 8079 + at };
        format!("127.0.0.1:{shown}")
    });
    lines_in_order(expected, &stdout);
}
