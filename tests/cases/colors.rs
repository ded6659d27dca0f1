//! When the report is coloured. In a pseudo-terminal (where `--color auto`
//! would colour): `NO_COLOR` (non-empty) and `TERM=dumb` or no `TERM` turn
//! colours off; `--color always` turns them on over both, and `--color
//! never` off. Without a terminal only `--color always` colours.

use std::process::Command;
use std::time::Duration;

use crate::support::prelude::*;
use crate::support::pty::{Escapes, Pty};

/// ANSI's Control Sequence Introducer, which every colour starts with.
const CSI: &str = "\u{1b}[";

/// `romm-oidc doctor` on static settings (the network fails at once through a
/// dead proxy); `env` on top of a clean environment, `None` removing a variable.
fn doctor(sb: &Sandbox, color: &str, env: &[(&str, Option<&str>)]) -> Command {
    let mut c = bin::command(sb.path());
    c.offline().args([
        "doctor",
        "--timeout=2",
        "--issuer=https://id.example.com",
        "--client-id=romm",
        "--redirect-uri=https://romm.example.com/api/oauth/openid",
        &format!("--color={color}"),
    ]);
    for (name, value) in env {
        match value {
            Some(v) => c.env(name, v),
            None => c.env_remove(name),
        };
    }
    c
}

/// Everything the run printed on its terminal (stdout and stderr).
fn on_a_terminal(c: Command) -> String {
    let mut pty = Pty::spawn(c, Duration::from_secs(60), Escapes::Kept);
    pty.finish();
    let out = pty.transcript();
    assert!(out.contains("config.issuer-url"), "no report:\n{out}");
    out
}

#[track_caller]
fn coloured(what: &str, out: &str, want: bool) {
    assert_eq!(
        out.contains(CSI),
        want,
        "{what}: colours {} expected:\n{out}",
        if want { "were" } else { "were not" }
    );
}

#[test]
fn auto_colours_a_terminal_unless_no_color_or_a_dumb_term() {
    let xterm = ("TERM", Some("xterm"));
    for (what, color, env, want) in [
        ("auto, TERM=xterm", "auto", vec![xterm], true),
        (
            "auto, NO_COLOR empty (no-color.org: not set)",
            "auto",
            vec![xterm, ("NO_COLOR", Some(""))],
            true,
        ),
        (
            "auto, NO_COLOR=1",
            "auto",
            vec![xterm, ("NO_COLOR", Some("1"))],
            false,
        ),
        (
            "auto, TERM=dumb",
            "auto",
            vec![("TERM", Some("dumb"))],
            false,
        ),
        ("auto, no TERM", "auto", vec![("TERM", None)], false),
        ("never, TERM=xterm", "never", vec![xterm], false),
        (
            "always over NO_COLOR and TERM=dumb",
            "always",
            vec![("TERM", Some("dumb")), ("NO_COLOR", Some("1"))],
            true,
        ),
    ] {
        let sb = Sandbox::new();
        coloured(what, &on_a_terminal(doctor(&sb, color, &env)), want);
    }
}

#[test]
fn without_a_terminal_only_always_colours() {
    for (color, want) in [("auto", false), ("always", true), ("never", false)] {
        let sb = Sandbox::new();
        let run = process::run(
            &mut doctor(&sb, color, &[("TERM", Some("xterm"))]),
            RUN_LIMIT,
        );
        let text = run.stdout;
        assert!(text.contains("config.issuer-url"), "no report:\n{text}");
        coloured(&format!("--color {color}, piped"), &text, want);
    }
}
