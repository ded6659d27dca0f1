//! An independent reader for docker compose `.env` files, for the tests, following
//! compose-go v2.13.0 (`dotenv/parser.go`, `dotenv/godotenv.go`, `template/template.go`).
//! It is deliberately not shared with the CLI's reader, and is built differently: where
//! compose-go uses a regular expression (the `export` prefix, the escapes of double-quoted
//! values, the interpolation pattern), this reader uses the same expression through the
//! `regex` crate (RE2 semantics, like Go's), and it follows compose-go's steps one by one.
//!
//! The rules:
//! - a UTF-8 byte-order mark at the start is dropped; white space and `#` lines are skipped;
//! - `export` plus white space (`[\t\n\f\r ]`) before a name is dropped;
//! - a name runs to `=`, `:` or a line break, skipping blanks (`\t \v \f \r`, space, U+0085,
//!   U+00A0); letters (Unicode L), numbers (Unicode N) and `_ . - [ ]` are allowed, anything
//!   else is an error; a name holding a space is an error; a name alone on its line takes its
//!   value from the environment (or nothing); no separator up to the end of the text makes
//!   the whole rest the value of an empty name;
//! - blanks after the separator are skipped;
//! - an unquoted value runs to the line break, is cut at the first ` #`, trimmed on the right
//!   (Unicode white space) and interpolated;
//! - quoted values: the closing quote is the first one not preceded by an escaping backslash;
//!   `\<quote>` gives the quote, any other backslash pair is kept; single quotes stop there;
//!   double quotes then expand `\\(?:[abcfnrtv$"\\]|0\d{0,3})` (Go rune-literal rules; `\$`
//!   gives `$$`) and interpolate; what follows the closing quote starts the next statement;
//! - interpolation: the pattern `\$(?i:(\$)|([_a-z][_a-z0-9]*)|{(?:([_a-z][_a-z0-9]*(?::?[-+?]
//!   (.*))?)}|()))`, a braced match cut at its first balanced `}` with the rest interpolated
//!   after it; the name looked up in the environment first, then among the values read so
//!   far; `:-` `-` `:+` `+` `:?` `?` as in the shell.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// One `KEY=value` statement, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
}

static EXPORT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^export[\t\n\x0C\r ]+").unwrap());
static KEY_CHAR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[\p{L}\p{N}_.\-\[\]]$").unwrap());
static ESCAPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\\(?:[abcfnrtv$"\\]|0[0-9]{0,3})"#).unwrap());
static TEMPLATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\$(?i:(?P<escaped>\$)|(?P<named>[_a-z][_a-z0-9]*)|\{(?:(?P<braced>[_a-z][_a-z0-9]*(?::?[-+?](.*))?)\}|(?P<invalid>)))",
    )
    .unwrap()
});

/// Parses `src` with an empty process environment.
pub fn parse(src: &str) -> Result<Vec<Entry>, String> {
    parse_with_env(src, &HashMap::new())
}

/// Parses `src`; `env` plays the part of the environment docker compose runs in.
pub fn parse_with_env(src: &str, env: &HashMap<String, String>) -> Result<Vec<Entry>, String> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut entries: Vec<Entry> = Vec::new();
    let mut read: HashMap<String, String> = HashMap::new();
    let mut rest = src;
    while let Some(statement) = statement_start(rest) {
        let (key, after, inherited) = locate_key(statement)?;
        if key.contains(' ') {
            return Err(format!("key cannot contain a space: {key:?}"));
        }
        if inherited {
            if let Some(v) = env.get(&key) {
                read.insert(key.clone(), v.clone());
                entries.push(Entry {
                    key,
                    value: v.clone(),
                });
            }
            rest = after;
            continue;
        }
        let lookup = |name: &str| env.get(name).or_else(|| read.get(name)).cloned();
        let (value, left) = extract_value(after, &lookup)?;
        read.insert(key.clone(), value.clone());
        entries.push(Entry { key, value });
        rest = left;
    }
    Ok(entries)
}

/// Parses `src` and returns the final value of every key (a later line wins).
pub fn parse_map(src: &str) -> Result<HashMap<String, String>, String> {
    Ok(parse(src)?.into_iter().map(|e| (e.key, e.value)).collect())
}

/// compose-go's `isSpace`: white space that is not a line break.
fn is_inline_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    )
}

/// Skips white space and comment lines; `None` at the end of the input.
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

/// Returns (key, rest after the separator with leading inline spaces removed, inherited).
fn locate_key(src: &str) -> Result<(String, &str, bool), String> {
    let mut src = src;
    if EXPORT.is_match(src) {
        src = src["export".len()..].trim_start_matches(is_inline_space);
    }
    let mut found: Option<(usize, usize, bool)> = None;
    for (i, c) in src.char_indices() {
        if is_inline_space(c) {
            continue;
        }
        if matches!(c, '=' | ':' | '\n') {
            found = Some((i, i + 1, c == '\n'));
            break;
        }
        if !KEY_CHAR.is_match(c.encode_utf8(&mut [0; 4])) {
            let line = src.split('\n').next().unwrap_or("");
            return Err(format!(
                "unexpected character {c:?} in variable name {line:?}"
            ));
        }
    }
    if src.is_empty() {
        return Err("zero length string".into());
    }
    // No separator up to the end: an empty key, and the whole rest as the value.
    let (key_end, offset, inherited) = found.unwrap_or((0, 0, false));
    let key = src[..key_end].trim_end().to_string();
    Ok((
        key,
        src[offset..].trim_start_matches(is_inline_space),
        inherited,
    ))
}

fn extract_value<'a>(
    src: &'a str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, &'a str), String> {
    let quote = match src.as_bytes().first() {
        Some(&q @ (b'\'' | b'"')) => q,
        _ => {
            let (line, rest) = src.split_once('\n').unwrap_or((src, ""));
            let line = line.split_once(" #").map_or(line, |(v, _)| v);
            return Ok((substitute_with(line.trim_end(), lookup)?, rest));
        }
    };
    let bytes = src.as_bytes();
    let mut kept: Vec<u8> = Vec::new();
    let mut escaping = false;
    for (i, &b) in bytes.iter().enumerate().skip(1) {
        if b != quote {
            if !escaping && b == b'\\' {
                escaping = true;
                continue;
            }
            if escaping {
                escaping = false;
                kept.push(b'\\');
            }
            kept.push(b);
            continue;
        }
        if escaping {
            escaping = false;
            kept.push(b);
            continue;
        }
        let inner = String::from_utf8(kept).map_err(|e| e.to_string())?;
        let value = if quote == b'"' {
            substitute_with(&expand_escapes(&inner), lookup)?
        } else {
            inner
        };
        return Ok((value, &src[i + 1..]));
    }
    let line = src.split('\n').next().unwrap_or("");
    Err(format!("unterminated quoted value {line}"))
}

/// compose-go `expandEscapes`: each match of its pattern unquoted like a Go rune literal
/// (`strconv.UnquoteChar`), `\0` first rewritten to `\`; `\$` becomes `$$`; a match Go cannot
/// unquote stays as it is (after the rewrite).
fn expand_escapes(s: &str) -> String {
    ESCAPE
        .replace_all(s, |caps: &Captures| {
            let m = &caps[0];
            if m == "\\$" {
                return "$$".to_string();
            }
            let m = match m.strip_prefix("\\0") {
                Some(digits) => format!("\\{digits}"),
                None => m.to_string(),
            };
            unquote_char(&m).map_or(m, String::from)
        })
        .into_owned()
}

/// Go's `strconv.UnquoteChar` for the escapes the pattern above can produce (`\` then one
/// character, or `\` then up to three digits); `None` where Go reports a syntax error.
fn unquote_char(m: &str) -> Option<char> {
    let body = m.strip_prefix('\\')?;
    let simple = match body {
        "a" => Some('\u{7}'),
        "b" => Some('\u{8}'),
        "f" => Some('\u{c}'),
        "n" => Some('\n'),
        "r" => Some('\r'),
        "t" => Some('\t'),
        "v" => Some('\u{b}'),
        "\\" => Some('\\'),
        "\"" => Some('"'),
        _ => None,
    };
    if simple.is_some() {
        return simple;
    }
    // Octal: exactly three digits 0-7, at most 0o377.
    if body.len() == 3 && body.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        let v = u32::from_str_radix(body, 8).ok()?;
        return (v <= 255).then(|| char::from_u32(v)).flatten();
    }
    None
}

/// compose-go `template.Substitute` with an arbitrary lookup (also used for compose.yaml).
pub fn substitute_with(
    template: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut first_error: Option<String> = None;
    let out = TEMPLATE.replace_all(template, |caps: &Captures| {
        match replacement(&caps[0], lookup) {
            Ok(v) => v,
            Err(e) => {
                let e = e.replace("{template}", &format!("{template:?}"));
                first_error.get_or_insert(e);
                String::new()
            }
        }
    });
    match first_error {
        Some(e) => Err(e),
        None => Ok(out.into_owned()),
    }
}

/// compose-go `DefaultReplacementAppliedFunc` for one match of the pattern.
fn replacement(matched: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let op_func = substitution_function(matched);
    let (substring, rest) = match first_brace_closing(matched) {
        Some(i) => (&matched[..=i], &matched[i + 1..]),
        None => (matched, ""),
    };
    let caps = TEMPLATE
        .captures(substring)
        .ok_or("Invalid template: {template}")?;
    if let Some(e) = caps.name("escaped") {
        return Ok(e.as_str().to_string());
    }
    let (substitution, braced) = match (caps.name("named"), caps.name("braced")) {
        (Some(n), _) => (n.as_str(), false),
        (None, Some(b)) => (b.as_str(), true),
        _ => return Err("Invalid template: {template}".into()),
    };
    if braced && let Some(value) = op_func(substitution, lookup)? {
        return Ok(value + &substitute_with(rest, lookup)?);
    }
    Ok(lookup(substitution).unwrap_or_default())
}

type OpFunc = fn(&str, &dyn Fn(&str) -> Option<String>) -> Result<Option<String>, String>;

/// compose-go `getSubstitutionFunctionForTemplate`: the separator found earliest wins.
fn substitution_function(template: &str) -> OpFunc {
    let table: [(&str, OpFunc); 6] = [
        (":?", |s, l| required(s, l, ":?", |v| !v.is_empty())),
        ("?", |s, l| required(s, l, "?", |_| true)),
        (":-", |s, l| default_when_absent(s, l, ":-", true)),
        ("-", |s, l| default_when_absent(s, l, "-", false)),
        (":+", |s, l| alternative_when_present(s, l, ":+", true)),
        ("+", |s, l| alternative_when_present(s, l, "+", false)),
    ];
    table
        .iter()
        .filter_map(|(sep, f)| template.find(sep).map(|i| (i, *f)))
        .min_by_key(|(i, _)| *i)
        .map_or(table[0].1, |(_, f)| f)
}

fn default_when_absent(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    sep: &str,
    empty_too: bool,
) -> Result<Option<String>, String> {
    let Some((name, default)) = s.split_once(sep) else {
        return Ok(None);
    };
    match lookup(name) {
        Some(v) if !(empty_too && v.is_empty()) => Ok(Some(v)),
        _ => substitute_with(default, lookup).map(Some),
    }
}

fn alternative_when_present(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    sep: &str,
    non_empty: bool,
) -> Result<Option<String>, String> {
    let Some((name, alternative)) = s.split_once(sep) else {
        return Ok(None);
    };
    match lookup(name) {
        Some(v) if !non_empty || !v.is_empty() => substitute_with(alternative, lookup).map(Some),
        v => Ok(Some(v.unwrap_or_default())),
    }
}

fn required(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    sep: &str,
    valid: fn(&str) -> bool,
) -> Result<Option<String>, String> {
    let Some((name, message)) = s.split_once(sep) else {
        return Ok(None);
    };
    match lookup(name) {
        Some(v) if valid(&v) => Ok(Some(v)),
        _ => {
            let reason = substitute_with(message, lookup)?;
            Err(if reason.is_empty() {
                format!("required variable {name} is missing a value")
            } else {
                format!("required variable {name} is missing a value: {reason}")
            })
        }
    }
}

/// compose-go `getFirstBraceClosingIndex`: counts `{` (skipping the byte after each) and
/// `}`, and returns where the count first drops back to zero.
fn first_brace_closing(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut open = 0i32;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'}' {
            open -= 1;
            if open == 0 {
                return Some(i);
            }
        }
        if b[i] == b'{' {
            open += 1;
            i += 1;
        }
        i += 1;
    }
    None
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
    // YAML readers refuse characters outside its printable set, and YAML 1.1 (PyYAML, the
    // Go reader compose uses) folds NEL and the Unicode line and paragraph separators like
    // line breaks; a byte-order mark is only safe escaped.
    let printable = |c: char| {
        matches!(c, '\t' | ' '..='~' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
            || c >= '\u{10000}'
    };
    if let Some(c) = raw
        .chars()
        .find(|&c| !printable(c) || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}'))
    {
        return Err(format!("{c:?} must be escaped in YAML: {raw:?}"));
    }
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
    // The reference reader's own rules, checked on cases whose answers compose-go's test
    // suite and source establish, so that a wrong reference cannot approve wrong output.
    use super::*;

    fn one(src: &str) -> String {
        let m = parse_map(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
        m.get("K")
            .cloned()
            .unwrap_or_else(|| panic!("no K in {m:?}"))
    }

    #[test]
    fn reference_parser_rules() {
        let cases: &[(&str, &str)] = &[
            ("K=plain", "plain"),
            ("K=a #comment", "a"),
            ("K=a#b", "a#b"),
            ("K=a\t#b", "a\t#b"),
            ("K= #x", "#x"),
            ("K=  spaced  ", "spaced"),
            ("export K=x", "x"),
            ("K: yaml", "yaml"),
            ("\u{feff}K=bom", "bom"),
            ("K='$HOME \\n'", "$HOME \\n"),
            ("K='\"v\"'", "\"v\""),
            ("K='it\\'s'", "it's"),
            ("K='a\\\\'", "a\\\\"),
            ("K=\"a\\nb\"", "a\nb"),
            ("K=\"\\$HOME\"", "$HOME"),
            ("K=\"a\\\\b\"", "a\\b"),
            ("K=\"a\\\\\"", "a\\"),
            ("K=\"a\\tb\\qc\"", "a\tb\\qc"),
            ("K=\"say \\\"hi\\\"\"", "say \"hi\""),
            ("K=\"a\\`b\"", "a\\`b"),
            ("K=\"\\0101\\01\\0\\0400\\0377\"", "A\\1\\\\400\u{ff}"),
            ("K=$$x", "$x"),
            ("K=\\$x", "\\"),
            ("K=a $ b", "a $ b"),
            ("B=base\nK=\"${B}/x\"", "base/x"),
            ("B=base\nK=$B-y", "base-y"),
            ("K=$B\nB=later", ""),
            ("K=${UNSET:-dflt}", "dflt"),
            ("K=${UNSET:-{\"j\":1}}", "{\"j\":1}"),
            ("K=${A:-{}}x}", "{}}x"),
            ("E=\nK=${E-set}${E:-unset}${E+p}${E:+q}", "unsetp"),
            ("K='a' # trailing comment", "a"),
            ("K=x\r\n", "x"),
            ("K=\"x\" J=2", "x"),
        ];
        for (src, want) in cases {
            assert_eq!(one(src), *want, "{src:?}");
        }
        for bad in [
            "K='open",
            "K=\"a\\\"",
            "K=${ x}",
            "K=${x:-a\nb}",
            "K=${X:?gone}",
            "A B=1",
            "K,=1",
            "K=\"x\",",
            "\u{feff}\u{feff}K=1",
            "e\u{301}=1",
        ] {
            assert!(
                parse(bad).is_err(),
                "{bad:?} must be refused: {:?}",
                parse(bad)
            );
        }
        let env: HashMap<String, String> = [("A".to_string(), "env".to_string())].into();
        let m: HashMap<String, String> = parse_with_env("A=file\nK=$A", &env)
            .unwrap()
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect();
        assert_eq!(m["K"], "env", "the environment comes before the file");
        assert_eq!(
            parse("K").unwrap()[0],
            Entry {
                key: String::new(),
                value: "K".into()
            }
        );
    }

    #[test]
    fn reference_yaml_rules() {
        let e = read_compose_environment(
            "environment:\n  A: 'it''s $$HOME'\n  B: \"x\\\"y\\t\\x1b\\u2028$$\"\n  C: plain\n",
        )
        .unwrap();
        assert_eq!(e[0].value, "it's $HOME");
        assert_eq!(e[1].value, "x\"y\t\u{1b}\u{2028}$");
        assert_eq!(e[2].value, "plain");
        assert!(read_compose_environment("environment:\n  A: 'it's'\n").is_err());
    }
}
