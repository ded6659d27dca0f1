//! The env block RomM needs, and how each format quotes it so that the reader
//! (docker compose, a POSIX shell, YAML) gets back exactly the same value.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::cli::Format;
use crate::envfile::EnvFile;
use crate::files;
use crate::settings::{OIDC_ENABLED, OIDC_PROVIDER, Settings};

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

/// A value no format can carry faithfully.
fn refuse(key: &str, value: &str) -> Result<()> {
    if value.contains(['\n', '\r', '\0']) {
        bail!("{key} contains a line break or NUL byte, which an env file cannot carry");
    }
    if value.contains('\'') && value.contains('`') {
        bail!(
            "{key} holds both ' and `, which no quoting lets docker compose's .env reader and a shell read alike"
        );
    }
    if value.ends_with('\\') {
        bail!(
            "{key} ends with a backslash, which docker compose's .env reader and a shell read differently"
        );
    }
    Ok(())
}

/// Quoted for a `.env` file so that docker compose and `sh` agree: single
/// quotes (literal in both) unless the value has one; then double quotes with
/// `\`, `"`, `$` and `` ` `` escaped, which both read back the same.
pub fn dotenv_quote(value: &str) -> String {
    if !value.contains('\'') {
        return format!("'{value}'");
    }
    let mut out = String::with_capacity(value.len() + 8);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Quoted for compose.yaml: a YAML single-quoted scalar (`''` for `'`), with
/// `$` doubled because compose interpolates `$` in its files.
pub fn compose_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''").replace('$', "$$"))
}

pub fn render(block: &[(&'static str, String)], format: Format) -> Result<String> {
    for (key, value) in block {
        refuse(key, value)?;
    }
    let mut out = String::new();
    match format {
        Format::Dotenv => {
            for (key, value) in block {
                out.push_str(&format!("{key}={}\n", dotenv_quote(value)));
            }
        }
        Format::Shell => {
            for (key, value) in block {
                // The .env quoting is valid shell too, so the file also reads
                // back alike through docker compose (which skips `export`).
                out.push_str(&format!("export {key}={}\n", dotenv_quote(value)));
            }
        }
        Format::Compose => {
            out.push_str("environment:\n");
            for (key, value) in block {
                out.push_str(&format!("  {key}: {}\n", compose_quote(value)));
            }
        }
        Format::Json => {
            let map: serde_json::Map<String, serde_json::Value> = block
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone().into()))
                .collect();
            out = serde_json::to_string_pretty(&map)? + "\n";
        }
    }
    Ok(out)
}

/// The block as `.env` assignments for merging into an existing file.
pub fn dotenv_pairs(block: &[(&'static str, String)]) -> Result<Vec<(String, String)>> {
    block
        .iter()
        .map(|(key, value)| {
            refuse(key, value)?;
            Ok((key.to_string(), dotenv_quote(value)))
        })
        .collect()
}

/// Merges the block into the env file at `path` (created 0600 when missing):
/// each key's line replaced in place, the rest byte for byte, atomically.
/// A target that is not a regular file, or a file docker compose could not
/// parse, is refused untouched (see `files` for every rule).
pub fn merge_into(
    path: &Path,
    block: &[(&'static str, String)],
    options: files::WriteOptions,
) -> Result<()> {
    let target = files::Target::open(path, options)?;
    let text = target.text().context("cannot merge into --write file")?;
    let file = EnvFile::parse(path, text);
    if let Some(p) = file.problems.first() {
        bail!(
            "{}:{}: {}; fix that line first, nothing was written",
            path.display(),
            p.line,
            p.message
        );
    }
    let merged = file.merged(&dotenv_pairs(block)?);
    let shown = target.describe();
    target.replace(merged.as_bytes())?;
    eprintln!(
        "wrote {} RomM variables to {shown}; restart RomM to apply them (docker compose up -d --force-recreate romm)",
        block.len(),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_uses_double_quotes_only_for_apostrophes() {
        assert_eq!(dotenv_quote("a $b #c"), "'a $b #c'");
        assert_eq!(
            dotenv_quote("it's $x `y` \"z\" \\"),
            r#""it's \$x \`y\` \"z\" \\""#
        );
    }

    #[test]
    fn compose_escapes_its_own_specials() {
        assert_eq!(compose_quote("it's $5"), "'it''s $$5'");
    }
}
