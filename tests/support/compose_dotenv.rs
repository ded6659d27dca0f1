//! An independent reader for docker compose `.env` files, written for the tests from
//! compose-go's rules (compose-spec/compose-go v2: `dotenv/parser.go`,
//! `dotenv/godotenv.go` and `template/template.go`). It is deliberately not shared
//! with the CLI's own reader, so the two can disagree.
//!
//! Rules implemented:
//! - a UTF-8 BOM at the start is skipped; blank lines and lines starting with `#` are skipped;
//! - an optional `export` prefix (followed by whitespace) before the key;
//! - the key ends at `=` or `:` (YAML-style `KEY: value`); a key alone on its line is
//!   "inherited" (looked up in the environment, dropped when absent);
//! - spaces/tabs around the separator are ignored;
//! - unquoted values run to the end of the line, end at the first ` #` (inline comment),
//!   are right-trimmed and then interpolated (`$VAR`, `${VAR}`, `$$` = `$`);
//! - single-quoted values are literal, except that `\'` is an escaped quote; a backslash
//!   before any other character is kept as it is;
//! - double-quoted values: `\"` is an escaped quote, then the escapes `\a \b \f \n \r \t \v
//!   \\ \" \$` and `\0NNN` (octal) are expanded (`\$` gives a literal `$`), any other
//!   backslash is kept, and the result is interpolated;
//! - a quoted value may span lines; a quote that is never closed is an error;
//! - interpolation looks the name up first in the given environment, then among the keys
//!   already read from the file; an unset name gives the empty string; a `$` that is not
//!   followed by `$`, a name or `{` is an "invalid template" error.

#![allow(dead_code)]

use std::collections::HashMap;

/// One `KEY=value` statement, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
}

/// Parses `src` with an empty process environment.
pub fn parse(src: &str) -> Result<Vec<Entry>, String> {
    parse_with_env(src, &HashMap::new())
}

/// Parses `src`; `env` plays the part of the environment docker compose runs in.
pub fn parse_with_env(src: &str, env: &HashMap<String, String>) -> Result<Vec<Entry>, String> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut entries: Vec<Entry> = Vec::new();
    let mut known: HashMap<String, String> = HashMap::new();
    let mut rest: &str = src;
    loop {
        rest = match statement_start(rest) {
            Some(s) => s,
            None => break,
        };
        let (key, after_key, inherited) = locate_key(rest)?;
        if key.contains(' ') {
            return Err(format!("key cannot contain a space: {key:?}"));
        }
        if inherited {
            if let Some(v) = env.get(&key) {
                known.insert(key.clone(), v.clone());
                entries.push(Entry {
                    key,
                    value: v.clone(),
                });
            }
            rest = after_key;
            continue;
        }
        let (value, after_value) = extract_value(after_key, env, &known)?;
        known.insert(key.clone(), value.clone());
        entries.push(Entry { key, value });
        rest = after_value;
    }
    Ok(entries)
}

/// Parses `src` and returns the final value of every key (a later line wins).
pub fn parse_map(src: &str) -> Result<HashMap<String, String>, String> {
    Ok(parse(src)?.into_iter().map(|e| (e.key, e.value)).collect())
}

/// compose-go's `isSpace`: whitespace that is not a line break.
fn is_inline_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    )
}

/// Skips whitespace and comment lines; `None` at the end of the input.
fn statement_start(mut src: &str) -> Option<&str> {
    loop {
        let pos = src.find(|c: char| !c.is_whitespace())?;
        src = &src[pos..];
        if !src.starts_with('#') {
            return Some(src);
        }
        let nl = src.find('\n')?;
        src = &src[nl..];
    }
}

fn is_key_char(c: char) -> bool {
    matches!(c, '_' | '.' | '-' | '[' | ']') || c.is_alphabetic() || c.is_numeric()
}

/// Returns (key, rest after the separator with leading inline spaces removed, inherited).
fn locate_key(src: &str) -> Result<(String, &str, bool), String> {
    let mut src = src;
    // `^export\s+` (RE2 \s = [\t\n\f\r ])
    if let Some(after) = src.strip_prefix("export")
        && after.starts_with(['\t', '\n', '\u{c}', '\r', ' '])
    {
        src = after.trim_start_matches(is_inline_space);
    }
    let mut found: Option<(usize, usize, bool)> = None;
    for (i, c) in src.char_indices() {
        if is_inline_space(c) {
            continue;
        }
        match c {
            '=' | ':' | '\n' => {
                found = Some((i, i + c.len_utf8(), c == '\n'));
                break;
            }
            c if is_key_char(c) => continue,
            c => {
                let line = src.split('\n').next().unwrap_or("");
                return Err(format!(
                    "unexpected character {c:?} in variable name {line:?}"
                ));
            }
        }
    }
    // compose-go: no separator until the end of the input gives an empty key and the
    // whole rest as the value.
    let (key_end, offset, inherited) = found.unwrap_or_default();
    if src.is_empty() {
        return Err("zero length string".into());
    }
    let key = src[..key_end].trim_end().to_string();
    let rest = src[offset..].trim_start_matches(is_inline_space);
    Ok((key, rest, inherited))
}

fn extract_value<'a>(
    src: &'a str,
    env: &HashMap<String, String>,
    known: &HashMap<String, String>,
) -> Result<(String, &'a str), String> {
    let quote = match src.chars().next() {
        Some(q @ ('\'' | '"')) => q,
        _ => {
            let (line, rest) = match src.find('\n') {
                Some(i) => (&src[..i], &src[i..]),
                None => (src, ""),
            };
            let line = match line.find(" #") {
                Some(i) => &line[..i],
                None => line,
            };
            let value = line.trim_end();
            return Ok((substitute(value, env, known)?, rest));
        }
    };
    // Scan to the closing quote, unescaping only escaped quotes.
    let mut chars: String = String::new();
    let mut escaped = false;
    let mut end: Option<usize> = None;
    for (i, c) in src.char_indices().skip(1) {
        if escaped {
            escaped = false;
            if c != quote {
                chars.push('\\');
            }
            chars.push(c);
            continue;
        }
        if c == '\\' {
            escaped = true;
        } else if c == quote {
            end = Some(i);
            break;
        } else {
            chars.push(c);
        }
    }
    let Some(end) = end else {
        let line = src.split('\n').next().unwrap_or("");
        return Err(format!("unterminated quoted value {line}"));
    };
    let rest = &src[end + 1..];
    if quote == '"' {
        let value = substitute(&expand_escapes(&chars), env, known)?;
        Ok((value, rest))
    } else {
        Ok((chars, rest))
    }
}

/// compose-go `expandEscapes`: the regex `\\(?:[abcfnrtv$"\\]|0\d{0,3})`, each match
/// unquoted as a Go rune literal; `\$` becomes `$$` (a literal `$` after interpolation).
fn expand_escapes(s: &str) -> String {
    let b: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != '\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let n = b[i + 1];
        match n {
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '$' => out.push_str("$$"),
            'c' => out.push_str("\\c"), // matched by the regex, but not a Go escape: kept
            '0' => {
                // `\0` plus up to three digits, rewritten to `\NNN` and unquoted by Go.
                let mut j = i + 2;
                let mut digits = String::new();
                while j < b.len() && digits.len() < 3 && b[j].is_ascii_digit() {
                    digits.push(b[j]);
                    j += 1;
                }
                let rewritten = format!("\\{digits}");
                if digits.len() == 3 && digits.chars().all(|d| ('0'..='7').contains(&d)) {
                    let v = u32::from_str_radix(&digits, 8).unwrap();
                    if v <= 255 {
                        out.push(char::from_u32(v).unwrap());
                    } else {
                        out.push_str(&rewritten);
                    }
                } else {
                    out.push_str(&rewritten);
                }
                i = j;
                continue;
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
        i += 2;
    }
    out
}

fn is_name_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}
fn is_name_char(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric()
}

/// compose-go `template.Substitute` with the dotenv lookup (environment first, then the
/// keys read so far).
pub fn substitute(
    s: &str,
    env: &HashMap<String, String>,
    known: &HashMap<String, String>,
) -> Result<String, String> {
    let lookup = |name: &str| -> Option<String> {
        env.get(name).cloned().or_else(|| known.get(name).cloned())
    };
    substitute_with(s, &lookup)
}

/// Template substitution with an arbitrary lookup (also used for compose.yaml values).
pub fn substitute_with(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let b: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != '$' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let invalid = || Err(format!("Invalid template: {s:?}"));
        let Some(&n) = b.get(i + 1) else {
            return invalid();
        };
        if n == '$' {
            out.push('$');
            i += 2;
        } else if is_name_start(n) {
            let mut j = i + 1;
            while j < b.len() && is_name_char(b[j]) {
                j += 1;
            }
            let name: String = b[i + 1..j].iter().collect();
            out.push_str(&lookup(&name).unwrap_or_default());
            i = j;
        } else if n == '{' {
            // closing brace, counting nested `${`
            let mut depth = 0i32;
            let mut close = None;
            let mut j = i;
            while j < b.len() {
                if b[j] == '}' {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(j);
                        break;
                    }
                }
                if b[j] == '$' && b.get(j + 1) == Some(&'{') {
                    depth += 1;
                    j += 1;
                }
                j += 1;
            }
            let Some(close) = close else {
                return invalid();
            };
            let inner: String = b[i + 2..close].iter().collect();
            out.push_str(
                &braced(&inner, lookup).ok_or_else(|| format!("Invalid template: {s:?}"))??,
            );
            i = close + 1;
        } else {
            return invalid();
        }
    }
    Ok(out)
}

/// `${inner}`: `None` when `inner` is not a valid braced expression.
fn braced(inner: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Option<Result<String, String>> {
    let mut chars = inner.char_indices();
    let (_, first) = chars.next()?;
    if !is_name_start(first) {
        return None;
    }
    let name_end = inner
        .char_indices()
        .find(|&(_, c)| !is_name_char(c))
        .map(|(i, _)| i)
        .unwrap_or(inner.len());
    let name = &inner[..name_end];
    let op_and_arg = &inner[name_end..];
    if op_and_arg.is_empty() {
        return Some(Ok(lookup(name).unwrap_or_default()));
    }
    let (colon, rest) = match op_and_arg.strip_prefix(':') {
        Some(r) => (true, r),
        None => (false, op_and_arg),
    };
    let op = rest.chars().next()?;
    let arg = &rest[op.len_utf8()..];
    let value = lookup(name);
    let empty_or_unset = value.as_deref().is_none_or(str::is_empty);
    let triggered = if colon {
        empty_or_unset
    } else {
        value.is_none()
    };
    Some(match op {
        '-' => {
            if triggered {
                substitute_with(arg, lookup)
            } else {
                Ok(value.unwrap_or_default())
            }
        }
        '+' => {
            if triggered {
                Ok(String::new())
            } else {
                substitute_with(arg, lookup)
            }
        }
        '?' => {
            if triggered {
                Err(format!(
                    "required variable {name} is missing a value: {arg}"
                ))
            } else {
                Ok(value.unwrap_or_default())
            }
        }
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------
// A small reader for the `--format compose` output: a block mapping under `environment:`
// whose values are YAML flow scalars (plain, 'single' or "double" quoted), followed by
// compose's interpolation (`$$` is a literal `$`). Anything outside that subset is an error,
// so an unexpected construct makes a test fail loudly instead of passing by accident.

/// Reads `environment:` + indented `KEY: scalar` lines; returns the values after YAML
/// unquoting and compose interpolation (with an empty environment).
pub fn read_compose_environment(src: &str) -> Result<Vec<Entry>, String> {
    let mut lines = src.lines().filter(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    });
    let head = lines.next().ok_or("empty compose output")?;
    if head.trim_end() != "environment:" {
        return Err(format!("first line is not `environment:`: {head:?}"));
    }
    let mut out = Vec::new();
    let mut indent: Option<usize> = None;
    for line in lines {
        let ind = line.len() - line.trim_start_matches(' ').len();
        if ind == 0 {
            return Err(format!("line is not indented under environment: {line:?}"));
        }
        if *indent.get_or_insert(ind) != ind {
            return Err(format!("inconsistent indentation: {line:?}"));
        }
        let body = &line[ind..];
        let (key, raw) = body
            .split_once(": ")
            .or_else(|| body.strip_suffix(':').map(|k| (k, "")))
            .ok_or_else(|| format!("not a `KEY: value` line: {line:?}"))?;
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("unexpected key {key:?}"));
        }
        let scalar = yaml_scalar(raw.trim_end())?;
        let value = substitute_with(&scalar, &|_| None)?;
        out.push(Entry {
            key: key.to_string(),
            value,
        });
    }
    Ok(out)
}

fn yaml_scalar(raw: &str) -> Result<String, String> {
    if let Some(inner) = raw.strip_prefix('\'') {
        let body = inner
            .strip_suffix('\'')
            .ok_or_else(|| format!("unterminated single-quoted scalar {raw:?}"))?;
        // inside, a quote must be doubled
        let mut out = String::new();
        let mut it = body.chars().peekable();
        while let Some(c) = it.next() {
            if c == '\'' && it.next() != Some('\'') {
                return Err(format!("lone quote inside single-quoted scalar {raw:?}"));
            }
            out.push(c);
        }
        return Ok(out);
    }
    if let Some(inner) = raw.strip_prefix('"') {
        let body = inner
            .strip_suffix('"')
            .ok_or_else(|| format!("unterminated double-quoted scalar {raw:?}"))?;
        let mut out = String::new();
        let mut it = body.chars();
        while let Some(c) = it.next() {
            match c {
                '"' => return Err(format!("unescaped quote in double-quoted scalar {raw:?}")),
                '\\' => {
                    let e = it.next().ok_or("dangling backslash")?;
                    match e {
                        '0' => out.push('\0'),
                        'a' => out.push('\u{7}'),
                        'b' => out.push('\u{8}'),
                        't' | '\t' => out.push('\t'),
                        'n' => out.push('\n'),
                        'v' => out.push('\u{b}'),
                        'f' => out.push('\u{c}'),
                        'r' => out.push('\r'),
                        'e' => out.push('\u{1b}'),
                        ' ' => out.push(' '),
                        '"' => out.push('"'),
                        '/' => out.push('/'),
                        '\\' => out.push('\\'),
                        'N' => out.push('\u{85}'),
                        '_' => out.push('\u{a0}'),
                        'L' => out.push('\u{2028}'),
                        'P' => out.push('\u{2029}'),
                        'x' | 'u' | 'U' => {
                            let n = match e {
                                'x' => 2,
                                'u' => 4,
                                _ => 8,
                            };
                            let hex: String = it.by_ref().take(n).collect();
                            let v = u32::from_str_radix(&hex, 16)
                                .map_err(|_| format!("bad \\{e} escape in {raw:?}"))?;
                            out.push(char::from_u32(v).ok_or("bad code point")?);
                        }
                        other => return Err(format!("unknown escape \\{other} in {raw:?}")),
                    }
                }
                c => out.push(c),
            }
        }
        return Ok(out);
    }
    // plain scalar: must not start with an indicator, must not contain ": " or " #"
    if raw.is_empty() {
        return Ok(String::new());
    }
    let first = raw.chars().next().unwrap();
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) || raw.contains(": ") || raw.contains(" #") {
        return Err(format!(
            "plain scalar that YAML would not read as a string: {raw:?}"
        ));
    }
    Ok(raw.trim().to_string())
}

#[cfg(test)]
mod self_tests {
    // The parser's own rules, checked against examples from compose-go's test-suite
    // semantics, so a wrong reference parser cannot silently approve wrong output.
    use super::*;

    fn one(src: &str) -> String {
        let m = parse_map(src).unwrap();
        m.get("K")
            .cloned()
            .unwrap_or_else(|| panic!("no K in {m:?}"))
    }

    #[test]
    fn reference_parser_rules() {
        assert_eq!(one("K=plain"), "plain");
        assert_eq!(one("K=a #comment"), "a");
        assert_eq!(one("K=a#b"), "a#b");
        assert_eq!(one("K=  spaced  "), "spaced");
        assert_eq!(one("export K=x"), "x");
        assert_eq!(one("K: yaml"), "yaml");
        assert_eq!(one("K='$HOME \\n'"), "$HOME \\n");
        assert_eq!(one("K='\"v\"'"), "\"v\"");
        assert_eq!(one("K='it\\'s'"), "it's");
        assert_eq!(one("K=\"a\\nb\""), "a\nb");
        assert_eq!(one("K=\"\\$HOME\""), "$HOME");
        assert_eq!(one("K=\"a\\\\b\""), "a\\b");
        assert_eq!(one("K=\"say \\\"hi\\\"\""), "say \"hi\"");
        assert_eq!(one("K=\"a\\`b\""), "a\\`b");
        assert_eq!(one("K=$$x"), "$x");
        assert_eq!(one("B=base\nK=\"${B}/x\""), "base/x");
        assert_eq!(one("B=base\nK=$B-y"), "base-y");
        assert_eq!(one("K=${UNSET:-dflt}"), "dflt");
        assert_eq!(one("K='a' # trailing comment"), "a");
        assert_eq!(one("K=x\r\n"), "x");
        assert!(parse("K='open").is_err());
        assert!(parse("K=\"a $ b\"").is_err());
    }

    #[test]
    fn reference_yaml_rules() {
        let e = read_compose_environment(
            "environment:\n  A: 'it''s $$HOME'\n  B: \"x\\\"y\"\n  C: plain\n",
        )
        .unwrap();
        assert_eq!(e[0].value, "it's $HOME");
        assert_eq!(e[1].value, "x\"y");
        assert_eq!(e[2].value, "plain");
        assert!(read_compose_environment("environment:\n  A: 'it's'\n").is_err());
    }
}
