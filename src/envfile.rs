//! RomM `.env` files: read them the way docker compose reads them, and merge
//! new values into them without disturbing a byte of anything else.
//!
//! The reading rules are those of compose-go's dotenv parser: `#` comment
//! lines, an optional `export `, `KEY=value` (or `KEY: value`), unquoted
//! values end at a ` #` comment, single quotes are literal, double quotes
//! understand `\n`, `\r` and backslash escapes, and `$VAR`/`${VAR}` expand in
//! unquoted and double-quoted values.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::files::{self, FileError};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    Single,
    Double,
}

/// One `KEY=value` statement.
#[derive(Clone, Debug)]
pub struct Entry {
    pub key: String,
    /// The value as docker compose hands it to the container.
    pub value: String,
    /// 1-based line of the key.
    pub line: usize,
    /// Byte range of the written value in the file.
    span: Range<usize>,
}

/// A line docker compose would refuse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct EnvFile {
    pub path: PathBuf,
    pub text: String,
    pub entries: Vec<Entry>,
    pub problems: Vec<Problem>,
}

impl EnvFile {
    pub fn load(path: &Path) -> Result<EnvFile, FileError> {
        let text = files::read_text(path)?;
        Ok(EnvFile::parse(path, text))
    }

    pub fn parse(path: &Path, text: String) -> EnvFile {
        let mut parser = Parser {
            src: &text,
            pos: 0,
            entries: Vec::new(),
            problems: Vec::new(),
        };
        parser.run();
        let (entries, problems) = (parser.entries, parser.problems);
        EnvFile {
            path: path.to_path_buf(),
            text,
            entries,
            problems,
        }
    }

    /// The last entry for a key: the one docker compose uses.
    pub fn last(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().rev().find(|e| e.key == key)
    }

    /// The text with `values` merged in: each key's last statement gets the
    /// new value in place (prefix, `export` and trailing comment kept); keys
    /// not in the file are appended; every other byte stays.
    pub fn merged(&self, values: &[(String, String)]) -> String {
        let newline = if self.text.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        let mut replacements: Vec<(Range<usize>, &str)> = Vec::new();
        let mut appended = Vec::new();
        for (key, written) in values {
            match self.last(key) {
                Some(entry) => replacements.push((entry.span.clone(), written)),
                None => appended.push(format!("{key}={written}")),
            }
        }
        replacements.sort_by_key(|(span, _)| span.start);
        let mut out = String::with_capacity(self.text.len() + 256);
        let mut at = 0;
        for (span, written) in replacements {
            out.push_str(&self.text[at..span.start]);
            out.push_str(written);
            at = span.end;
        }
        out.push_str(&self.text[at..]);
        if !appended.is_empty() {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push_str(newline);
            }
            for line in appended {
                out.push_str(&line);
                out.push_str(newline);
            }
        }
        out
    }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    entries: Vec<Entry>,
    problems: Vec<Problem>,
}

impl Parser<'_> {
    fn line_at(&self, pos: usize) -> usize {
        self.src[..pos].matches('\n').count() + 1
    }

    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn skip_to_next_line(&mut self) {
        match self.rest().find('\n') {
            Some(i) => self.pos += i + 1,
            None => self.pos = self.src.len(),
        }
    }

    fn skip_blanks(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start_matches(is_blank).len();
    }

    fn run(&mut self) {
        while self.pos < self.src.len() {
            self.pos += self.rest().len() - self.rest().trim_start().len();
            if self.pos >= self.src.len() {
                break;
            }
            if self.rest().starts_with('#') {
                self.skip_to_next_line();
                continue;
            }
            if let Err(message) = self.statement() {
                let line = self.line_at(self.pos);
                self.problems.push(Problem { line, message });
                self.skip_to_next_line();
            }
        }
    }

    fn statement(&mut self) -> Result<(), String> {
        let start = self.pos;
        if let Some(after) = self.rest().strip_prefix("export")
            && after.starts_with(is_blank)
        {
            self.pos += "export".len();
            self.skip_blanks();
        }
        let key_len = self
            .rest()
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(self.rest().len());
        let key = self.rest()[..key_len].to_string();
        let line = self.line_at(start);
        self.pos += key_len;
        self.skip_blanks();
        match self.rest().chars().next() {
            _ if key.is_empty() => {
                let near: String = self.rest().chars().take(20).collect();
                return Err(format!("expected a variable name, found {near:?}"));
            }
            Some('=') | Some(':') => self.pos += 1,
            Some('\n') | Some('\r') | None => {
                // A bare name: compose passes the variable through from its own
                // environment; nothing is set by the file.
                self.skip_to_next_line();
                return Ok(());
            }
            Some(c) => {
                return Err(format!(
                    "unexpected character {c:?} in the name of variable {key}"
                ));
            }
        }
        self.skip_blanks();
        let (value, span) = self.value(&key)?;
        self.entries.push(Entry {
            key,
            value,
            line,
            span,
        });
        Ok(())
    }

    fn value(&mut self, key: &str) -> Result<(String, Range<usize>), String> {
        let start = self.pos;
        let quote = match self.rest().chars().next() {
            Some('\'') => Quote::Single,
            Some('"') => Quote::Double,
            _ => {
                let line_end = self.rest().find('\n').unwrap_or(self.rest().len());
                let line = &self.rest()[..line_end];
                let mut end = comment_start(line).unwrap_or(line.len());
                end = line[..end].trim_end().len();
                let raw = &line[..end];
                let value = self.expand(raw);
                self.pos += line_end;
                return Ok((value, start..start + end));
            }
        };
        let mark = if quote == Quote::Single { '\'' } else { '"' };
        let body = &self.rest()[1..];
        let mut close = None;
        let mut prev = '\0';
        for (i, c) in body.char_indices() {
            if c == mark && prev != '\\' {
                close = Some(i);
                break;
            }
            prev = c;
        }
        let Some(close) = close else {
            return Err(format!(
                "the value of {key} opens a {} quote that is never closed",
                if quote == Quote::Single {
                    "single"
                } else {
                    "double"
                }
            ));
        };
        let inner = &body[..close];
        let value = match quote {
            Quote::Double => self.expand(&unescape(inner)),
            _ => inner.to_string(),
        };
        let end = start + 1 + close + 1;
        self.pos = end;
        // Anything after the closing quote up to the end of the line is ignored
        // by compose; a comment is the usual case.
        self.skip_to_next_line();
        Ok((value, start..end))
    }

    /// `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, and `$$` for a
    /// literal `$`, looked up in the entries read so far, then the process
    /// environment, as compose does; `\$` is a literal `$`.
    fn expand(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '\\' && text[i + 1..].starts_with('$') {
                out.push('$');
                chars.next();
                continue;
            }
            if c != '$' {
                out.push(c);
                continue;
            }
            let rest = &text[i + 1..];
            if rest.starts_with('$') {
                out.push('$');
                chars.next();
                continue;
            }
            let (name, default, used) = if let Some(inner) = rest.strip_prefix('{') {
                match inner.find('}') {
                    Some(close) => {
                        let body = &inner[..close];
                        let (name, default) = match body.find(['-', ':']) {
                            Some(at) => {
                                let d = body[at..].trim_start_matches(':');
                                (&body[..at], d.strip_prefix('-'))
                            }
                            None => (body, None),
                        };
                        (name, default, close + 2)
                    }
                    None => ("", None, 0),
                }
            } else {
                let len = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                (&rest[..len], None, len)
            };
            if name.is_empty() {
                out.push('$');
                continue;
            }
            let found = self
                .entries
                .iter()
                .rev()
                .find(|e| e.key == name)
                .map(|e| e.value.clone())
                .or_else(|| std::env::var(name).ok())
                .filter(|v| !(v.is_empty() && default.is_some()));
            out.push_str(&found.unwrap_or_else(|| default.unwrap_or("").to_string()));
            // `used` counts bytes after the `$`; skip the characters they span.
            let end = i + 1 + used;
            while chars.peek().is_some_and(|(at, _)| *at < end) {
                chars.next();
            }
        }
        out
    }
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Where an unquoted value's comment starts: a `#` after white space.
fn comment_start(line: &str) -> Option<usize> {
    if line.starts_with('#') {
        return Some(0);
    }
    line.char_indices()
        .zip(line.chars().skip(1))
        .find(|((_, c), next)| c.is_whitespace() && *next == '#')
        .map(|((i, _), _)| i)
}

/// compose's double-quote escapes: `\n` and `\r` become line breaks, a
/// backslash before any other character but `$` is dropped.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('$') => out.push_str("\\$"),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> EnvFile {
        EnvFile::parse(Path::new(".env"), text.to_string())
    }

    #[test]
    fn reads_compose_forms() {
        let f = parse(
            "# c\nexport A=1\nB = two words # note\nC='lit $A \\n'\nD=\"x\\\"y\\n$A\"\nE: yaml\nF=a#b\n",
        );
        let got: Vec<(&str, &str)> = f
            .entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("A", "1"),
                ("B", "two words"),
                ("C", "lit $A \\n"),
                ("D", "x\"y\n1"),
                ("E", "yaml"),
                ("F", "a#b"),
            ]
        );
        assert!(f.problems.is_empty());
    }

    /// Any text, however broken, parses without a panic, and a merge keeps
    /// every byte that is not a replaced value.
    #[test]
    fn arbitrary_text_never_panics_and_merges_keep_the_rest() {
        let alphabet: Vec<char> = "AB_=:#'\"\\$ {}-\n\r\texport OIDC_ENABLED é✓"
            .chars()
            .collect();
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..3000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 60) as usize;
            let text: String = (0..len)
                .map(|i| alphabet[((seed >> (i % 50)) as usize + i * 7) % alphabet.len()])
                .collect();
            let f = parse(&text);
            let merged = f.merged(&[("OIDC_ENABLED".into(), "'true'".into())]);
            if f.last("OIDC_ENABLED").is_none() {
                assert!(merged.starts_with(&text), "{text:?} → {merged:?}");
            }
        }
    }

    #[test]
    fn expands_defaults_with_non_ascii_text() {
        let f = parse("A=${UNSET_ROMM_OIDC_TEST:-héllo}/ü\n");
        assert_eq!(f.last("A").map(|e| e.value.as_str()), Some("héllo/ü"));
    }

    #[test]
    fn reports_broken_lines_and_keeps_going() {
        let f = parse("A='open\nB-C=1\nD=ok\n");
        assert_eq!(f.problems.len(), 2, "{:?}", f.problems);
        assert_eq!(f.problems[0].line, 1);
        assert_eq!(f.last("D").map(|e| e.value.as_str()), Some("ok"));
    }

    #[test]
    fn merge_replaces_last_value_in_place_and_appends() {
        let f = parse("# top\nexport OIDC_A=old # keep\r\nOTHER=x\r\nOIDC_A=older\r\n");
        let out = f.merged(&[
            ("OIDC_A".into(), "'new'".into()),
            ("OIDC_B".into(), "'b'".into()),
        ]);
        assert_eq!(
            out,
            "# top\nexport OIDC_A=old # keep\r\nOTHER=x\r\nOIDC_A='new'\r\nOIDC_B='b'\r\n"
        );
    }
}
