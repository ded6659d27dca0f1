//! The env block RomM needs, and how each format quotes it so that the reader
//! (docker compose, a POSIX shell, YAML) gets back exactly the same value.

use std::path::Path;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;

use crate::checks::config;
use crate::cli::{EmitEnvArgs, OutputArgs};
use crate::envfile::{self, EnvFile};
use crate::exit::Exit;
use crate::files;
use crate::report::{self, Report};
use crate::settings::{OIDC_ENABLED, OIDC_PROVIDER, RESTART, Settings, romm_value};

/// How the block is written (`--format`); the doc comments are the help.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// KEY='value' lines for a .env file (docker compose and POSIX sh read them alike)
    Dotenv,
    /// An `environment:` mapping to paste under the RomM service in compose.yaml
    Compose,
    /// `export KEY='value'` lines for a POSIX shell
    Shell,
    /// A JSON object
    Json,
}

/// `romm-oidc emit-env`: the static checks, then the block on stdout or
/// merged into `--write`'s file. A failing check refuses (exit 2) unless
/// `--force`; the failures are shown first, as the doctor shows them.
pub fn command(args: &EmitEnvArgs, settings: &Settings) -> Result<Exit> {
    let mut report = Report::default();
    report.extend(config::run(settings, config::Purpose::Emit));
    for f in report.failures() {
        // The summary, then the detail (the env-file check lists every bad
        // line there), then both sides and the fix.
        let brief = report::brief(f, "", true);
        let (head, rest) = brief.split_once('\n').unwrap_or((&brief, ""));
        eprintln!("{head}");
        for line in f.detail.lines() {
            eprintln!("    {line}");
        }
        eprint!("{rest}");
    }
    if !report.ok() && !args.force {
        bail!(
            "not writing an env block that RomM would fail with (use --force to write it anyway)"
        );
    }
    let block = block(settings);
    match &args.output.write {
        Some(path) => merge_into(
            path,
            &block,
            files::WriteOptions::secret(args.output.write_read_only),
        )?,
        None => report::print_stdout(&render(&block, args.output.format)?)?,
    }
    Ok(Exit::Ok)
}

/// A `--write` target that cannot be replaced is refused before anything is
/// read or asked; it is checked again when the write happens.
pub fn check_target(output: &OutputArgs) -> Result<()> {
    if let Some(path) = &output.write {
        files::Target::open(path, files::WriteOptions::secret(output.write_read_only))?;
    }
    Ok(())
}

/// The variables to write, in table order, as RomM will read them. RomM's
/// defaults are written only where RomM needs them: `OIDC_ENABLED=true` and
/// `OIDC_PROVIDER`.
pub fn block(settings: &Settings) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = settings
        .iter()
        .filter_map(|(var, _)| settings.value(var.name).map(|v| (var.name, v.to_string())))
        .collect();
    if settings.value(OIDC_ENABLED).is_none() {
        out.insert(0, (OIDC_ENABLED, "true".into()));
    }
    debug_assert!(out.iter().any(|(k, _)| *k == OIDC_PROVIDER));
    out
}

/// Why a value cannot be written in any format, if it cannot.
fn uncarriable(value: &str) -> Option<&'static str> {
    if value.contains('\0') {
        return Some("holds a NUL byte, which no environment variable can carry");
    }
    if value.contains(['\n', '\r']) {
        return Some(
            "holds a line break; no OIDC client id, secret, URL or name has one, so it is taken for a paste error",
        );
    }
    None
}

/// Quoted for a `.env` file so that docker compose and `sh` both read back
/// exactly `value`: single quotes (literal in both) unless the value holds
/// one or ends with a backslash (compose reads `\'` as an escaped quote);
/// then double quotes with `\`, `"` and `$` escaped, which both undo alike.
/// A backtick cannot go in double quotes (sh runs it, and compose keeps the
/// backslash of `` \` ``), so with a quote or trailing backslash it is refused.
pub fn dotenv_quote(value: &str) -> Result<String, &'static str> {
    if let Some(why) = uncarriable(value) {
        return Err(why);
    }
    if !value.contains('\'') && !value.ends_with('\\') {
        return Ok(format!("'{value}'"));
    }
    if value.contains('`') {
        return Err(
            "holds a backtick (`) together with a single quote or a trailing backslash, which no quoting lets both docker compose's .env reader and sh read back unchanged",
        );
    }
    let mut out = String::with_capacity(value.len() + 8);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '\\' | '"' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

/// Quoted for compose.yaml, with every `$` doubled because compose
/// interpolates its files: a YAML single-quoted scalar (`''` for `'`) when
/// every character may stand there as itself, else a double-quoted scalar
/// with escapes for tabs, control characters, Unicode line and paragraph
/// separators and non-characters (which YAML readers refuse or fold).
pub fn compose_quote(value: &str) -> String {
    let literal = |c: char| {
        matches!(c, ' '..='~')
            || (c >= '\u{a0}'
                && !matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                ))
    };
    if value.chars().all(literal) {
        return format!("'{}'", value.replace('\'', "''").replace('$', "$$"));
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("$$"),
            '\t' => out.push_str("\\t"),
            c if literal(c) => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{:04x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Every value quoted for `.env` lines, or the first one that cannot be.
pub fn dotenv_pairs(block: &[(&'static str, String)]) -> Result<Vec<(String, String)>> {
    block
        .iter()
        .map(|(key, value)| match dotenv_quote(value) {
            Ok(written) => Ok((key.to_string(), written)),
            Err(why) => bail!("{key} {why}; romm-oidc neither prints nor writes it"),
        })
        .collect()
}

pub fn render(block: &[(&'static str, String)], format: Format) -> Result<String> {
    let mut out = String::new();
    match format {
        Format::Dotenv | Format::Shell => {
            // The .env quoting is valid shell too, so either file also reads
            // back alike through docker compose (which skips `export`).
            let export = if format == Format::Shell {
                "export "
            } else {
                ""
            };
            for (key, written) in dotenv_pairs(block)? {
                out.push_str(&format!("{export}{key}={written}\n"));
            }
        }
        Format::Compose => {
            carriable(block)?;
            out.push_str("environment:\n");
            for (key, value) in block {
                out.push_str(&format!("  {key}: {}\n", compose_quote(value)));
            }
        }
        Format::Json => {
            carriable(block)?;
            let map: serde_json::Map<String, serde_json::Value> = block
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone().into()))
                .collect();
            out = serde_json::to_string_pretty(&map)? + "\n";
        }
    }
    Ok(out)
}

/// Refuses a block holding a value no format can carry.
fn carriable(block: &[(&'static str, String)]) -> Result<()> {
    match block
        .iter()
        .find_map(|(k, v)| uncarriable(v).map(|why| (k, why)))
    {
        Some((key, why)) => bail!("{key} {why}; romm-oidc neither prints nor writes it"),
        None => Ok(()),
    }
}

/// Merges the block into the env file at `path` (created 0600 when missing):
/// each key's line replaced in place, the rest byte for byte, atomically. A
/// value that already reads the same for RomM is left as written. A target
/// that is not a regular file (see `files` for every rule), a file docker
/// compose could not parse, or a merge whose result compose would not read
/// back as intended is refused untouched.
pub fn merge_into(
    path: &Path,
    block: &[(&'static str, String)],
    options: files::WriteOptions,
) -> Result<()> {
    let target = files::Target::open(path, options)?;
    let text = target.text().context("cannot merge into --write file")?;
    let file = EnvFile::parse(path, text);
    if !file.problems.is_empty() {
        let lines: Vec<String> = file
            .problems
            .iter()
            .map(|p| format!("  {}", config::problem_line(&file, p)))
            .collect();
        bail!(
            "{} is not a file docker compose can read; fix {} first, nothing was written:\n{}",
            path.display(),
            if lines.len() == 1 {
                "this line"
            } else {
                "these lines"
            },
            lines.join("\n")
        );
    }
    let quoted = dotenv_pairs(block)?;
    let changes: Vec<(String, String)> = block
        .iter()
        .zip(quoted)
        .filter(|((key, value), _)| {
            file.last(key).and_then(|e| romm_value(&e.value)) != Some(value.as_str())
        })
        .map(|(_, pair)| pair)
        .collect();
    let merged = file.merged(&changes);
    check_merge(&file, &merged, block)?;
    let shown = target.describe();
    target.replace(merged.as_bytes())?;
    eprintln!(
        "wrote {} RomM variables to {shown}; restart RomM to apply them ({RESTART})",
        block.len(),
    );
    Ok(())
}

/// Reads the merged text back as compose would: every block value must come
/// out as intended and every other variable as before.
fn check_merge(before: &EnvFile, merged: &str, block: &[(&'static str, String)]) -> Result<()> {
    let after = EnvFile::parse(&before.path, merged.to_string());
    let refuse = |what: String| {
        anyhow::anyhow!(
            "{}: the merged file would not read back as intended ({what}); nothing was written",
            before.path.display()
        )
    };
    if let Some(p) = after.problems.first() {
        return Err(refuse(config::problem_line(&after, p)));
    }
    for (key, value) in block {
        if after.last(key).and_then(|e| romm_value(&e.value)) != Some(value.as_str()) {
            return Err(refuse(format!("{key} would read differently")));
        }
    }
    let depends_on_block = |e: &envfile::Entry| {
        e.lookups
            .iter()
            .any(|l| block.iter().any(|(k, _)| *k == l.name))
    };
    for old in &before.entries {
        let is_last = before.last(&old.key).is_some_and(|l| std::ptr::eq(l, old));
        if !is_last || block.iter().any(|(k, _)| *k == old.key) || depends_on_block(old) {
            continue;
        }
        if after.last(&old.key).map(|e| &e.value) != Some(&old.value) {
            return Err(refuse(format!("{} would change", old.key)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values built from every kind of character that quoting can get wrong:
    /// quotes of both kinds, a backslash before every ASCII character and at
    /// the end, `$` forms, comment marks, blanks, controls, Unicode.
    fn corpus() -> Vec<String> {
        let atoms = [
            "'", "\"", "`", "$", "${X}", "$$", "${", "#", " #", " ", "\t", "\u{1}", "\u{1b}",
            "\u{7f}", "\u{85}", "\u{a0}", "\u{2028}", "\u{feff}", "é", "✓", "x", "=", ":",
        ];
        let mut values: Vec<String> = Vec::new();
        for c in (0x20u8..0x7f).map(char::from) {
            values.push(format!("a\\{c}b"));
            values.push(format!("{c}"));
        }
        for a in atoms {
            values.push(a.to_string());
            values.push(format!("{a}\\"));
            for b in atoms {
                values.push(format!("{a}v{b}"));
                values.push(format!("\\{a}\\{b}\\"));
            }
        }
        values.extend(["a\nb", "a\rb", "a\0b"].map(String::from));
        values
    }

    /// Why `value` cannot go in a `.env` line both compose and sh read back.
    fn refused(value: &str) -> bool {
        value.contains(['\n', '\r', '\0'])
            || (value.contains('`') && (value.contains('\'') || value.ends_with('\\')))
    }

    #[test]
    fn dotenv_quoting_reads_back_in_compose_or_is_refused() {
        let corpus = corpus();
        assert!(corpus.len() > 1000);
        for value in &corpus {
            match dotenv_quote(value) {
                Ok(written) => {
                    assert!(!refused(value), "{value:?} must be refused, got {written}");
                    let text = format!("K={written}\nNEXT=1\n");
                    let file = EnvFile::parse_with(Path::new("t"), text, &|_| None);
                    assert!(
                        file.problems.is_empty(),
                        "{value:?} as {written}: {:?}",
                        file.problems
                    );
                    assert_eq!(
                        file.last("K").map(|e| e.value.as_str()),
                        Some(value.as_str()),
                        "{value:?} written as {written}"
                    );
                    assert_eq!(file.last("NEXT").map(|e| e.value.as_str()), Some("1"));
                }
                Err(why) => assert!(refused(value), "{value:?} refused: {why}"),
            }
        }
    }

    #[test]
    fn dotenv_prefers_single_quotes() {
        assert_eq!(dotenv_quote("a $b #c"), Ok("'a $b #c'".into()));
        assert_eq!(
            dotenv_quote("it's $x \"z\" \\"),
            Ok(r#""it's \$x \"z\" \\""#.into())
        );
        assert_eq!(dotenv_quote("ends\\"), Ok(r#""ends\\""#.into()));
        assert!(dotenv_quote("it's `id`").is_err());
    }

    #[test]
    fn compose_escapes_its_own_specials() {
        assert_eq!(compose_quote("it's $5"), "'it''s $$5'");
        assert_eq!(
            compose_quote("a\tb\u{1b}\u{2028}\"$"),
            r#""a\tb\x1b\u2028\"$$""#
        );
    }
}
