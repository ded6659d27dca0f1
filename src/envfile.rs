//! RomM `.env` files: read them exactly as docker compose reads them, and
//! merge new values into them without disturbing a byte of anything else.
//!
//! The rules are those of compose-go's `dotenv` package (v2.13.0:
//! `dotenv/parser.go`, `godotenv.go`, `env.go`) and of its `template`
//! package for `$` interpolation. In short:
//! - a UTF-8 byte-order mark at the very start is dropped; white space and
//!   `#` lines between statements are skipped;
//! - `export` followed by white space is dropped before a name; a name ends
//!   at `=`, `:` or a line break (a name alone on its line is passed through
//!   from the environment); it may hold letters, digits, `_ . - [ ]` and
//!   inner blanks other than a space; anything else is an error;
//! - an unquoted value runs to the end of the line, is cut at the first
//!   ` #` (a space, then `#`) and trimmed on the right, then interpolated;
//! - `'…'` is literal except `\'`; `"…"` turns `\"` into `"`, then expands
//!   `\a \b \f \n \r \t \v \\ \" \$` and `\0NNN` octal (any other backslash
//!   stays), then interpolates; both may span lines, and what follows the
//!   closing quote starts the next statement;
//! - interpolation: `$$`, `$NAME`, `${NAME}`, `${NAME:-x}`, `${NAME-x}`,
//!   `${NAME:+x}`, `${NAME+x}`, `${NAME:?msg}`, `${NAME?msg}` (nested), the
//!   name looked up in the environment first, then among the lines above.
//!
//! compose stops at the first error and refuses the whole file; this reader
//! records it and reads on, so that every broken line can be named.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::files::{self, FileError};

/// One `KEY=value` statement.
#[derive(Clone)]
pub struct Entry {
    pub key: String,
    /// The value as docker compose hands it on.
    pub value: String,
    /// 1-based line of the key.
    pub line: usize,
    /// The variables compose looked up to build the value, in order.
    pub lookups: Vec<Lookup>,
    /// Byte range of the value as written (quotes included, comment not).
    span: Range<usize>,
    /// No `=`, `:` or line break followed the name up to the end of the
    /// text, so compose read the text as the value of an empty name.
    bare: bool,
}

/// Where an interpolated variable got its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The environment compose runs in (romm-oidc reads its own in its place).
    Environment,
    /// A line above, in the same file.
    Line(usize),
}

/// One variable looked up by an interpolation such as `${IDP}`.
#[derive(Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The expression as written, e.g. `$IDP`, `${IDP}` or `${IDP:-x}`.
    pub expr: String,
    pub name: String,
    /// `None`: the variable is unset at that point.
    pub origin: Option<Origin>,
    /// Its value there (empty when unset).
    pub value: String,
    /// compose warns "variable is not set. Defaulting to a blank string":
    /// a plain `$NAME` or `${NAME}` of an unset variable.
    pub warned: bool,
    /// For an unset variable: the first line below that sets it.
    pub defined_later: Option<usize>,
}

/// Something docker compose refuses: it stops at the first and reads none of
/// the file.
#[derive(Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    /// The line as written: for a broken name, up to the character compose
    /// stopped at; for a broken value, the whole (first) line.
    pub text: String,
    /// For a broken value: its variable, and where the value starts in `text`.
    pub value_of: Option<(String, usize)>,
    /// What is wrong, with compose's own words for it.
    pub message: String,
    /// The part of `message` that quotes the value (compose's `Invalid
    /// template: "…"`, a `${X:?reason}`'s reason), to hide for a secret.
    pub quote: Option<Range<usize>>,
}

#[derive(Clone)]
pub struct EnvFile {
    pub path: PathBuf,
    pub text: String,
    pub entries: Vec<Entry>,
    pub problems: Vec<Problem>,
}

// An env file holds secrets (the client secret, and whatever else RomM's env
// carries): `{:?}` of anything read from it shows names, lines and lengths,
// never a value or the text of a line.

/// The length of a text that may be secret, for `{:?}`.
struct Hidden<'a>(&'a str);

impl fmt::Debug for Hidden<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} chars>", self.0.chars().count())
    }
}

impl fmt::Debug for EnvFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvFile")
            .field("path", &self.path)
            .field("text", &Hidden(&self.text))
            .field("entries", &self.entries)
            .field("problems", &self.problems)
            .finish()
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("key", &self.key)
            .field("value", &Hidden(&self.value))
            .field("line", &self.line)
            .field("lookups", &self.lookups)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lookup")
            .field("expr", &self.expr)
            .field("name", &self.name)
            .field("origin", &self.origin)
            .field("value", &Hidden(&self.value))
            .field("warned", &self.warned)
            .field("defined_later", &self.defined_later)
            .finish()
    }
}

impl fmt::Debug for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Problem")
            .field("line", &self.line)
            .field("text", &Hidden(&self.text))
            .field("value_of", &self.value_of)
            .field("message", &self.message)
            .field("quote", &self.quote)
            .finish()
    }
}

impl EnvFile {
    pub fn load(path: &Path) -> Result<EnvFile, FileError> {
        let text = files::read_text(path)?;
        Ok(EnvFile::parse(path, text))
    }

    /// Reads `text` with the process environment for interpolation.
    pub fn parse(path: &Path, text: String) -> EnvFile {
        EnvFile::parse_with(path, text, &process_env)
    }

    /// Reads `text` as compose does in the environment `env`.
    pub fn parse_with(path: &Path, text: String, env: Env<'_>) -> EnvFile {
        let (entries, problems) = Parser::new(&text, env).run();
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

    /// How an entry's value is written in the file.
    pub fn written(&self, entry: &Entry) -> &str {
        &self.text[entry.span.clone()]
    }

    /// The text with `values` (key, value as it is to be written) merged in:
    /// each key's last statement gets the new value in place of the old one
    /// (prefix, `export` and trailing comment kept); keys not in the file are
    /// appended; every other byte stays.
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
        // Text left at the very end without a line break, which compose reads
        // as a value, must stay last and unbroken: new lines go before it.
        let append_at = match self.entries.last() {
            Some(e) if e.bare && !appended.is_empty() => e.span.start,
            _ => self.text.len(),
        };
        replacements.sort_by_key(|(span, _)| span.start);
        let mut out = String::with_capacity(self.text.len() + 256);
        let mut at = 0;
        for (span, written) in replacements {
            out.push_str(&self.text[at..span.start]);
            out.push_str(written);
            at = span.end;
        }
        out.push_str(&self.text[at..append_at]);
        if !appended.is_empty() {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push_str(newline);
            }
            for line in appended {
                out.push_str(&line);
                out.push_str(newline);
            }
        }
        out.push_str(&self.text[append_at..]);
        out
    }
}

/// Looks a variable up in compose's environment: `None` when unset.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, standing in for the one compose runs in. A
/// value that is not UTF-8 is read lossily rather than dropped.
pub fn process_env(name: &str) -> Option<String> {
    if name.is_empty() || name.contains(['=', '\0']) {
        return None;
    }
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}

/// A statement compose refuses, and where to read on from.
struct Failure {
    /// Where compose stopped.
    at: usize,
    /// For a broken name: where to end the line shown.
    end: Option<usize>,
    /// For a broken value: its variable and where the value starts.
    value_of: Option<(String, usize)>,
    message: String,
    quote: Option<Range<usize>>,
    resume: usize,
}

/// Why compose refuses a value: its message, and the part of the message
/// that quotes the value.
struct Refusal {
    message: String,
    quote: Option<Range<usize>>,
}

impl From<String> for Refusal {
    fn from(message: String) -> Refusal {
        Refusal {
            message,
            quote: None,
        }
    }
}

impl Refusal {
    /// `before`, then `quoted` (which comes from the value), then `after`.
    fn quoting(before: &str, quoted: &str, after: &str) -> Refusal {
        Refusal {
            message: format!("{before}{quoted}{after}"),
            quote: Some(before.len()..before.len() + quoted.len()),
        }
    }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    env: Env<'a>,
    /// Byte offset of the start of every line.
    line_starts: Vec<usize>,
    entries: Vec<Entry>,
    problems: Vec<Problem>,
    /// What the file has set so far, as compose's map holds it: the value and
    /// the line that set it.
    known: HashMap<String, (String, usize)>,
    /// Lookups made for the value being read, and the bytes they brought.
    lookups: Vec<Lookup>,
    expanded: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, env: Env<'a>) -> Parser<'a> {
        let line_starts = std::iter::once(0)
            .chain(src.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Parser {
            src,
            pos: 0,
            env,
            line_starts,
            entries: Vec::new(),
            problems: Vec::new(),
            known: HashMap::new(),
            lookups: Vec::new(),
            expanded: 0,
        }
    }

    fn line_at(&self, pos: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= pos)
    }

    /// The whole line holding `pos`, without its line break.
    fn line_text(&self, pos: usize) -> &'a str {
        let line = self.line_at(pos);
        let start = self.line_starts[line - 1];
        let end = self
            .line_starts
            .get(line)
            .map_or(self.src.len(), |next| next - 1);
        self.src[start..end].trim_end_matches('\r')
    }

    /// The offset just past the line holding `pos`.
    fn next_line(&self, pos: usize) -> usize {
        let line = self.line_at(pos);
        self.line_starts
            .get(line)
            .copied()
            .unwrap_or(self.src.len())
    }

    fn run(mut self) -> (Vec<Entry>, Vec<Problem>) {
        if self.src.starts_with('\u{feff}') {
            self.pos = '\u{feff}'.len_utf8();
        }
        while self.statement_start() {
            if let Err(f) = self.statement() {
                let line = self.line_at(f.at);
                let start = self.line_starts[line - 1];
                let mut text = self.line_text(f.at);
                if let Some(end) = f.end {
                    text = self.src[start..end.max(start)].trim_end_matches(['\r', '\n']);
                }
                self.problems.push(Problem {
                    line,
                    text: text.to_string(),
                    value_of: f.value_of.map(|(key, at)| (key, at - start)),
                    message: f.message,
                    quote: f.quote,
                });
                self.pos = f.resume.max(self.pos + 1).min(self.src.len());
                while !self.src.is_char_boundary(self.pos) {
                    self.pos += 1;
                }
            }
        }
        let mut entries = self.entries;
        // "Defined later": the first line below that sets an unset variable.
        let mut lines_of: HashMap<String, Vec<usize>> = HashMap::new();
        for e in &entries {
            lines_of.entry(e.key.clone()).or_default().push(e.line);
        }
        for e in &mut entries {
            for l in e.lookups.iter_mut().filter(|l| l.origin.is_none()) {
                l.defined_later = lines_of
                    .get(&l.name)
                    .and_then(|lines| lines.get(lines.partition_point(|&n| n <= e.line)).copied());
            }
        }
        (entries, self.problems)
    }

    /// Skips white space and comment lines; false at the end of the text.
    fn statement_start(&mut self) -> bool {
        loop {
            let rest = &self.src[self.pos..];
            let Some(skip) = rest.find(|c: char| !c.is_whitespace()) else {
                self.pos = self.src.len();
                return false;
            };
            self.pos += skip;
            if !self.src[self.pos..].starts_with('#') {
                return true;
            }
            match self.src[self.pos..].find('\n') {
                Some(nl) => self.pos += nl,
                None => {
                    self.pos = self.src.len();
                    return false;
                }
            }
        }
    }

    fn statement(&mut self) -> Result<(), Failure> {
        let src = self.src;
        let mut at = self.pos;
        if let Some(after) = src[at..].strip_prefix("export")
            && after.starts_with(['\t', '\n', '\u{c}', '\r', ' '])
        {
            at += "export".len();
            at += src[at..].len() - src[at..].trim_start_matches(is_blank).len();
        }
        let key_start = at;
        let mut separator = None;
        for (i, c) in src[at..].char_indices() {
            if is_blank(c) || matches!(c, '_' | '.' | '-' | '[' | ']') || is_letter_or_number(c) {
                continue;
            }
            if matches!(c, '=' | ':' | '\n') {
                separator = Some((at + i, c));
                break;
            }
            return Err(Failure {
                at: at + i,
                end: Some(at + i + c.len_utf8()),
                value_of: None,
                message: format!(
                    "unexpected character {} in variable name",
                    go_quote(&c.to_string())
                ),
                quote: None,
                resume: self.next_line(at + i),
            });
        }
        let line = self.line_at(key_start);
        let Some((sep, sep_char)) = separator else {
            if key_start == src.len() {
                return Err(Failure {
                    at: self.pos,
                    end: Some(src.len()),
                    value_of: None,
                    message: "`export` with nothing after it (docker compose: zero length string)"
                        .into(),
                    quote: None,
                    resume: src.len(),
                });
            }
            // No `=`, `:` or line break up to the end of the text: compose reads
            // an empty name whose value is the rest.
            return self.value(String::new(), line, key_start, true);
        };
        let key = src[key_start..sep].trim_end().to_string();
        let value_start = sep + 1 + blank_prefix(&src[sep + 1..]);
        if let Some(space) = key.find(' ') {
            // Most often `NAME value` with the `=` forgotten: what follows the
            // first word is then NAME's value (hidden for a secret's name),
            // and the message does not repeat it.
            return Err(Failure {
                at: key_start,
                end: Some(sep),
                value_of: Some((key[..space].to_string(), key_start + space + 1)),
                message: "the name holds a space (docker compose: key cannot contain a space)"
                    .into(),
                quote: None,
                resume: self.next_line(key_start),
            });
        }
        if sep_char == '\n' {
            // A name alone: compose passes the variable on from its environment
            // (or keeps what the file set above); the file sets nothing new.
            self.pos = value_start;
            return Ok(());
        }
        self.value(key, line, value_start, false)
    }

    /// Reads the value of `key`, starting at `start`, and records the entry.
    fn value(&mut self, key: String, line: usize, start: usize, bare: bool) -> Result<(), Failure> {
        let src = self.src;
        self.lookups.clear();
        self.expanded = 0;
        let quote = src[start..]
            .bytes()
            .next()
            .filter(|b| *b == b'"' || *b == b'\'');
        let (written_end, resume, read) = match quote {
            None => {
                let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
                let mut text = &src[start..line_end];
                if let Some(comment) = text.find(" #") {
                    text = &text[..comment];
                }
                let text = text.trim_end();
                let end = start + text.len();
                (end, line_end, self.substitute(text, 0))
            }
            Some(q) => {
                let Some((inner, close)) = quoted(&src[start..], q) else {
                    return Err(Failure {
                        at: start,
                        end: None,
                        value_of: Some((key, start)),
                        message: format!(
                            "the {} quote opened here is never closed (docker compose: unterminated quoted value)",
                            if q == b'"' { "double" } else { "single" }
                        ),
                        quote: None,
                        resume: self.next_line(start),
                    });
                };
                let end = start + close + 1;
                let read = if q == b'"' {
                    self.substitute(&expand_escapes(&inner), 0)
                } else {
                    Ok(inner)
                };
                (end, end, read)
            }
        };
        let lookups = std::mem::take(&mut self.lookups);
        let value = read.map_err(|refusal| Failure {
            at: start,
            end: None,
            value_of: Some((key.clone(), start)),
            message: refusal.message,
            quote: refusal.quote,
            resume,
        })?;
        self.known.insert(key.clone(), (value.clone(), line));
        self.entries.push(Entry {
            key,
            value,
            line,
            lookups,
            span: start..written_end,
            bare,
        });
        self.pos = resume;
        Ok(())
    }

    /// What compose's `template.Substitute` makes of `text`, or its error.
    fn substitute(&mut self, text: &str, depth: usize) -> Result<String, Refusal> {
        if depth > MAX_NESTING {
            return Err(format!(
                "interpolation nested more than {MAX_NESTING} deep; romm-oidc does not read further"
            )
            .into());
        }
        let mut out = String::with_capacity(text.len());
        let mut template = Template::new(text);
        let mut at = 0;
        while let Some(found) = text[at..].find('$') {
            let dollar = at + found;
            template.reach(dollar);
            out.push_str(&text[at..dollar]);
            let after = &text[dollar + 1..];
            let named = name_len(after);
            at = if after.starts_with('$') {
                out.push('$');
                dollar + 2
            } else if named > 0 {
                let end = dollar + 1 + named;
                out.push_str(&self.lookup(&text[dollar..end], &after[..named], true)?);
                end
            } else if after.starts_with('{') {
                self.braced(&mut template, dollar, depth, &mut out)?
            } else {
                // Not an expression: the `$` stays as it is.
                out.push('$');
                dollar + 1
            };
        }
        out.push_str(&text[at..]);
        Ok(out)
    }

    /// The `${…}` at `dollar`: `${NAME}`, or `${NAME<op>arg}` cut where
    /// compose cuts it. Its value goes to `out`; returns where reading goes on.
    fn braced(
        &mut self,
        template: &mut Template<'_>,
        dollar: usize,
        depth: usize,
        out: &mut String,
    ) -> Result<usize, Refusal> {
        let text = template.text;
        let inner = &text[dollar + 2..];
        let name_len = name_len(inner);
        let name = &inner[..name_len];
        let rest = &inner[name_len..];
        let op_len = if rest.starts_with(':') && rest[1..].starts_with(['-', '+', '?']) {
            2
        } else if rest.starts_with(['-', '+', '?']) {
            1
        } else {
            0
        };
        let arg_start = dollar + 2 + name_len + op_len;
        if name_len > 0 && op_len == 0 && rest.starts_with('}') {
            let end = arg_start + 1;
            out.push_str(&self.lookup(&text[dollar..end], name, true)?);
            return Ok(end);
        }
        // With an operator, compose's pattern runs to the last `}` on the
        // line, then cuts the expression at its first balanced `}`.
        let (line_end, line_close) = template.line_of(dollar);
        debug_assert!(arg_start <= line_end);
        let last_close = line_close.filter(|&c| c >= arg_start);
        let (true, true, Some(last_close)) = (name_len > 0, op_len > 0, last_close) else {
            return Err(template.invalid());
        };
        let matched = &text[dollar..=last_close];
        let op = &rest[..op_len];
        match first_balanced_close(matched) {
            Some(close) => {
                let expr = &matched[..=close];
                let arg = &expr[2 + name_len + op_len..close];
                out.push_str(&self.apply(expr, name, op, arg, depth)?);
                let next = dollar + close + 1;
                template.nest(next, last_close);
                Ok(next)
            }
            None => {
                let arg = &matched[2 + name_len + op_len..matched.len() - 1];
                out.push_str(&self.apply(matched, name, op, arg, depth)?);
                Ok(last_close + 1)
            }
        }
    }

    /// `${name<op>arg}`: a default, an alternative or a required value.
    fn apply(
        &mut self,
        expr: &str,
        name: &str,
        op: &str,
        arg: &str,
        depth: usize,
    ) -> Result<String, Refusal> {
        let found = self.find(name);
        self.record(expr, name, &found, false)?;
        let value = found.map(|(v, _)| v);
        let empty_counts = op.starts_with(':');
        let missing = match &value {
            None => true,
            Some(v) => empty_counts && v.is_empty(),
        };
        match op.trim_start_matches(':') {
            "-" if missing => self.substitute(arg, depth + 1),
            "+" if !missing => self.substitute(arg, depth + 1),
            "?" if missing => {
                let reason = self.substitute(arg, depth + 1)?;
                let missing = format!("required variable {name} is missing a value");
                Err(if reason.is_empty() {
                    missing.into()
                } else {
                    Refusal::quoting(&format!("{missing}: "), &reason, "")
                })
            }
            _ => Ok(value.unwrap_or_default()),
        }
    }

    /// `$name` or `${name}`: the value, or empty (compose warns) when unset.
    fn lookup(&mut self, expr: &str, name: &str, plain: bool) -> Result<String, Refusal> {
        let found = self.find(name);
        self.record(expr, name, &found, plain)?;
        Ok(found.map(|(v, _)| v).unwrap_or_default())
    }

    /// compose's lookup: the environment first, then what the file set above.
    fn find(&self, name: &str) -> Option<(String, Origin)> {
        if let Some(v) = (self.env)(name) {
            return Some((v, Origin::Environment));
        }
        self.known
            .get(name)
            .map(|(v, line)| (v.clone(), Origin::Line(*line)))
    }

    /// Notes a lookup, and stops a value that grows without bound.
    fn record(
        &mut self,
        expr: &str,
        name: &str,
        found: &Option<(String, Origin)>,
        plain: bool,
    ) -> Result<(), Refusal> {
        let value = found.as_ref().map(|(v, _)| v.as_str()).unwrap_or_default();
        self.expanded += value.len();
        if self.expanded > MAX_EXPANSION {
            return Err(format!(
                "the value grows past {} MiB through interpolation; romm-oidc does not read further",
                MAX_EXPANSION >> 20
            )
            .into());
        }
        if self.lookups.len() < MAX_LOOKUPS {
            self.lookups.push(Lookup {
                expr: expr.to_string(),
                name: name.to_string(),
                origin: found.as_ref().map(|(_, o)| o.clone()),
                value: value.to_string(),
                warned: plain && found.is_none(),
                defined_later: None,
            });
        }
        Ok(())
    }
}

/// Which template compose is reading in a text it interpolates, which only
/// the wording of an error ("Invalid template: <template>") shows: what
/// follows an expression's first balanced `}`, up to the last `}` of that
/// line, is a template of its own.
struct Template<'t> {
    text: &'t str,
    /// The template being read.
    scope: Range<usize>,
    /// The one to return to past the end of `scope`.
    outer: Option<Range<usize>>,
    /// The line being read: where it ends, and its last `}`.
    line: Option<(usize, Option<usize>)>,
}

impl<'t> Template<'t> {
    fn new(text: &'t str) -> Template<'t> {
        Template {
            text,
            scope: 0..text.len(),
            outer: None,
            line: None,
        }
    }

    /// Reading has come to `at`.
    fn reach(&mut self, at: usize) {
        if at >= self.scope.end
            && let Some(outer) = self.outer.take()
        {
            self.scope = outer;
        }
    }

    /// An expression ended at `next`, before the `}` at `last_close` that
    /// ended compose's match: what lies between is a template of its own.
    fn nest(&mut self, next: usize, last_close: usize) {
        if next <= last_close {
            let current = std::mem::replace(&mut self.scope, next..last_close + 1);
            self.outer.get_or_insert(current);
        }
    }

    /// Where the line holding `at` ends, and its last `}`.
    fn line_of(&mut self, at: usize) -> (usize, Option<usize>) {
        match self.line {
            Some((end, close)) if at < end => (end, close),
            _ => {
                let text = self.text;
                let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
                let close = text[at..end].rfind('}').map(|i| at + i);
                self.line = Some((end, close));
                (end, close)
            }
        }
    }

    /// compose's error for a malformed expression in the template being read.
    fn invalid(&self) -> Refusal {
        Refusal::quoting(
            "invalid interpolation (docker compose: Invalid template: ",
            &go_quote(&self.text[self.scope.clone()]),
            ")",
        )
    }
}

/// Bounds on what one value may cost to read: compose has none, but a
/// hostile file must not exhaust the stack, the memory or the time.
const MAX_NESTING: usize = 64;
const MAX_EXPANSION: usize = 1 << 20;
const MAX_LOOKUPS: usize = 1000;

/// compose-go's `isSpace`: white space other than a line break.
fn is_blank(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    )
}

fn blank_prefix(text: &str) -> usize {
    text.len() - text.trim_start_matches(is_blank).len()
}

/// Go's `unicode.IsLetter || unicode.IsNumber`: general categories L and N.
fn is_letter_or_number(c: char) -> bool {
    use icu_properties::CodePointMapData;
    use icu_properties::props::{GeneralCategory, GeneralCategoryGroup};
    let category = CodePointMapData::<GeneralCategory>::new().get(c);
    GeneralCategoryGroup::Letter.contains(category)
        || GeneralCategoryGroup::Number.contains(category)
}

/// The length of the name at the start of `text`: compose's pattern
/// `[_a-z][_a-z0-9]*`, matched without regard to case. Go folds case the
/// Unicode way, so `ſ` (long s) and `K` (Kelvin sign) count as letters too.
fn name_len(text: &str) -> usize {
    let letter = |c: char| c == '_' || c.is_ascii_alphabetic() || c == 'ſ' || c == 'K';
    match text.chars().next() {
        Some(c) if letter(c) => text
            .find(|c: char| !(letter(c) || c.is_ascii_digit()))
            .unwrap_or(text.len()),
        _ => 0,
    }
}

/// compose's cut of `${…}`: the first `}` that closes the braces opened so
/// far, where a `{` also hides the byte after it.
fn first_balanced_close(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut open = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'}' {
            open = open.saturating_sub(1);
            if open == 0 {
                return Some(i);
            }
        }
        if bytes[i] == b'{' {
            open += 1;
            i += 1;
        }
        i += 1;
    }
    None
}

/// A quoted value at the start of `text` (opening quote `q`): its inside
/// with `\q` turned into `q` and every other backslash kept, and the offset
/// of the closing quote; `None` when it never closes.
fn quoted(text: &str, q: u8) -> Option<(String, usize)> {
    let mut inside = Vec::new();
    let mut escaped = false;
    for (i, &b) in text.as_bytes().iter().enumerate().skip(1) {
        if b == q {
            if !escaped {
                // Only ASCII bytes were dropped, so the rest is still UTF-8.
                return Some((String::from_utf8(inside).ok()?, i));
            }
            escaped = false;
            inside.push(b);
        } else if b == b'\\' && !escaped {
            escaped = true;
        } else {
            if escaped {
                inside.push(b'\\');
                escaped = false;
            }
            inside.push(b);
        }
    }
    None
}

/// compose's `expandEscapes` for double-quoted values: `\a \b \f \n \r \t \v
/// \\ \"`, `\$` (a literal `$`, kept as `$$` for the interpolation that
/// follows) and `\0` with up to three digits, read as octal when they are
/// three octal digits worth at most 255, else left as a backslash and the
/// digits (the `0` is lost). Any other backslash stays.
fn expand_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        let plain = match (c, next) {
            ('\\', Some('a')) => "\u{7}",
            ('\\', Some('b')) => "\u{8}",
            ('\\', Some('f')) => "\u{c}",
            ('\\', Some('n')) => "\n",
            ('\\', Some('r')) => "\r",
            ('\\', Some('t')) => "\t",
            ('\\', Some('v')) => "\u{b}",
            ('\\', Some('\\')) => "\\",
            ('\\', Some('"')) => "\"",
            ('\\', Some('$')) => "$$",
            // Matched by compose's pattern but not an escape Go knows: kept.
            ('\\', Some('c')) => "\\c",
            ('\\', Some('0')) => {
                chars.next();
                let digits: String = text[i + 2..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .take(3)
                    .collect();
                for _ in 0..digits.len() {
                    chars.next();
                }
                let octal = (digits.len() == 3)
                    .then(|| u32::from_str_radix(&digits, 8).ok())
                    .flatten()
                    .filter(|v| *v <= 255)
                    .and_then(char::from_u32);
                match octal {
                    Some(ch) => out.push(ch),
                    None => {
                        out.push('\\');
                        out.push_str(&digits);
                    }
                }
                continue;
            }
            _ => {
                out.push(c);
                continue;
            }
        };
        chars.next();
        out.push_str(plain);
    }
    out
}

/// A string as Go's `%q` shows it, for compose's messages: printable
/// characters (letters, marks, numbers, punctuation, symbols, the ASCII
/// space) as they are, the rest escaped.
fn go_quote(text: &str) -> String {
    use crate::oidc::py::printable;
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if printable(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn parse(text: &str) -> EnvFile {
        parse_in(text, &[])
    }

    fn parse_in(text: &str, env: &[(&str, &str)]) -> EnvFile {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        EnvFile::parse_with(Path::new(".env"), text.to_string(), &|k| {
            env.get(k).cloned()
        })
    }

    /// What compose makes of `text`: the last value of every variable the file
    /// sets, or the message of the first line it refuses.
    fn read(text: &str, env: &[(&str, &str)]) -> Result<BTreeMap<String, String>, String> {
        let f = parse_in(text, env);
        match f.problems.first() {
            Some(p) => Err(p.message.clone()),
            None => Ok(f.entries.into_iter().map(|e| (e.key, e.value)).collect()),
        }
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[track_caller]
    fn expect(text: &str, env: &[(&str, &str)], want: &[(&str, &str)]) {
        assert_eq!(read(text, env), Ok(map(want)), "reading {text:?}");
    }

    #[track_caller]
    fn expect_refused(text: &str, env: &[(&str, &str)], words: &str) {
        match read(text, env) {
            Err(message) => assert!(
                message.contains(words),
                "{text:?}: compose refuses it, saying {words:?}; got {message:?}"
            ),
            Ok(got) => panic!("{text:?} must be refused ({words}), read as {got:?}"),
        }
    }

    // compose-go v2.13.0's own fixtures (dotenv/fixtures/*.env), as inputs and
    // the values its tests expect.

    const PLAIN: &str = "OPTION_A=1\nOPTION_B=2\nOPTION_C= 3\nOPTION_D =4\nOPTION_E = 5\n456 = ABC\nOPTION_F = \nOPTION_G=\nOPTION_H = my string # Inline comment\n";

    fn plain_values() -> Vec<(&'static str, &'static str)> {
        vec![
            ("OPTION_A", "1"),
            ("OPTION_B", "2"),
            ("OPTION_C", "3"),
            ("OPTION_D", "4"),
            ("OPTION_E", "5"),
            ("456", "ABC"),
            ("OPTION_F", ""),
            ("OPTION_G", ""),
            ("OPTION_H", "my string"),
        ]
    }

    #[test]
    fn fixture_plain_and_its_byte_order_mark_twin() {
        expect(PLAIN, &[], &plain_values());
        expect(&format!("\u{feff}{PLAIN}"), &[], &plain_values());
        // Only one mark, and only at the very start, is dropped.
        expect_refused("A=1\n\u{feff}B=2\n", &[], "unexpected character");
    }

    #[test]
    fn fixture_quoted() {
        let text = "OPTION_A='1'\nOPTION_B='2'\nOPTION_C=''\nOPTION_D='\\n'\nOPTION_E=\"1\"\nOPTION_F=\"2\"\nOPTION_G=\"\"\nOPTION_H=\"\\n\"\nOPTION_I = \"echo 'asd'\" # Inline comment\nOPTION_J = 'first line\nsecond line\nthird line\nand so on'\nOPTION_K='Let\\'s go!'\nOPTION_Z = \"last value\"\n";
        expect(
            text,
            &[],
            &[
                ("OPTION_A", "1"),
                ("OPTION_B", "2"),
                ("OPTION_C", ""),
                ("OPTION_D", "\\n"),
                ("OPTION_E", "1"),
                ("OPTION_F", "2"),
                ("OPTION_G", ""),
                ("OPTION_H", "\n"),
                ("OPTION_I", "echo 'asd'"),
                ("OPTION_J", "first line\nsecond line\nthird line\nand so on"),
                ("OPTION_K", "Let's go!"),
                ("OPTION_Z", "last value"),
            ],
        );
    }

    #[test]
    fn fixtures_exported_equals_special_unquoted() {
        expect(
            "export OPTION_A=2\nexport OPTION_B='\\n'\n",
            &[],
            &[("OPTION_A", "2"), ("OPTION_B", "\\n")],
        );
        expect(
            "export OPTION_A='postgres://localhost:5432/database?sslmode=disable'\n\n",
            &[],
            &[(
                "OPTION_A",
                "postgres://localhost:5432/database?sslmode=disable",
            )],
        );
        expect(
            "VAR.WITH.DOTS=dots\nVAR_WITH_UNDERSCORES=underscores\nVAR-WITH-DASHES=dashes\n",
            &[],
            &[
                ("VAR.WITH.DOTS", "dots"),
                ("VAR_WITH_UNDERSCORES", "underscores"),
                ("VAR-WITH-DASHES", "dashes"),
            ],
        );
        expect(
            "OPTION_A = \"some quoted phrase\"\nOPTION_B=first one with an unquoted phrase\nOPTION_D = then another one with an unquoted phrase special è char\nOPTION_E = \"then another one quoted phrase\"\n",
            &[],
            &[
                ("OPTION_A", "some quoted phrase"),
                ("OPTION_B", "first one with an unquoted phrase"),
                (
                    "OPTION_D",
                    "then another one with an unquoted phrase special è char",
                ),
                ("OPTION_E", "then another one quoted phrase"),
            ],
        );
    }

    #[test]
    fn fixtures_substitutions_and_the_environment_first() {
        let subst = "OPTION_A=1\nOPTION_B=${OPTION_A}\nOPTION_C=$OPTION_B\nOPTION_D=${OPTION_A}_${OPTION_B}\nOPTION_E=${OPTION_NOT_DEFINED}\n";
        expect(
            subst,
            &[],
            &[
                ("OPTION_A", "1"),
                ("OPTION_B", "1"),
                ("OPTION_C", "1"),
                ("OPTION_D", "1_1"),
                ("OPTION_E", ""),
            ],
        );
        // compose looks in its environment before the lines above: the file
        // still sets OPTION_A=1, but every reference to it reads 5.
        expect(
            subst,
            &[("OPTION_A", "5")],
            &[
                ("OPTION_A", "1"),
                ("OPTION_B", "5"),
                ("OPTION_C", "5"),
                ("OPTION_D", "5_5"),
                ("OPTION_E", ""),
            ],
        );
        let defaults = subst.replace("OPTION_A=1", "OPTION_A=${OPTION_A:-1}");
        expect(
            &defaults,
            &[("OPTION_A", "5")],
            &[
                ("OPTION_A", "5"),
                ("OPTION_B", "5"),
                ("OPTION_C", "5"),
                ("OPTION_D", "5_5"),
                ("OPTION_E", ""),
            ],
        );
        expect(
            &defaults,
            &[],
            &[
                ("OPTION_A", "1"),
                ("OPTION_B", "1"),
                ("OPTION_C", "1"),
                ("OPTION_D", "1_1"),
                ("OPTION_E", ""),
            ],
        );
    }

    #[test]
    fn fixtures_inherited_names_and_the_invalid_file() {
        // A name alone passes the variable on from the environment; the file
        // itself sets nothing for it.
        let text = "foo=bar\nVAR_TO_BE_LOADED_FROM_OS_ENV\nbar=baz\n";
        expect(text, &[], &[("foo", "bar"), ("bar", "baz")]);
        expect("VARIABLE_NOT_FOUND\n", &[], &[]);
        let invalid = "# some comments\nfoo=\"\n  a\n  multine\n  value\n\"\nINVALID LINE\nzot=qix";
        let f = parse(invalid);
        assert_eq!(f.problems.len(), 1, "{:?}", f.problems);
        assert_eq!(f.problems[0].line, 7);
        assert_eq!(f.problems[0].text, "INVALID LINE");
        assert!(f.problems[0].message.contains("key cannot contain a space"));
        assert_eq!(
            f.last("foo").map(|e| e.value.as_str()),
            Some("\n  a\n  multine\n  value\n")
        );
    }

    // compose-go's parser_test.go and godotenv_test.go cases.

    #[test]
    fn names_take_brackets_dots_dashes_and_any_letters() {
        expect(
            "\na=b\na[1]=c\na.propertyKey=d\nárvíztűrő-TÜKÖRFÚRÓGÉP=ÁRVÍZTŰRŐ-tükörfúrógép\n",
            &[],
            &[
                ("a", "b"),
                ("a[1]", "c"),
                ("a.propertyKey", "d"),
                ("árvíztűrő-TÜKÖRFÚRÓGÉP", "ÁRVÍZTŰRŐ-tükörfúrógép"),
            ],
        );
        expect_refused("%!(EXTRA string)=foo", &[], "unexpected character \"%\"");
        expect_refused("lol$wut", &[], "unexpected character \"$\"");
        // A combining mark is neither a letter nor a number for Go.
        expect_refused("e\u{301}=1", &[], "unexpected character");
        // Blanks other than a space may sit inside a name.
        expect("A\tB=1", &[], &[("A\tB", "1")]);
        expect_refused("A B=1", &[], "key cannot contain a space");
    }

    #[test]
    fn one_line_forms() {
        let cases: &[(&str, &str, &str)] = &[
            ("FOO=bar", "FOO", "bar"),
            ("FOO =bar", "FOO", "bar"),
            ("FOO= bar", "FOO", "bar"),
            ("FOO=\"bar\"", "FOO", "bar"),
            ("FOO='bar'", "FOO", "bar"),
            ("FOO=\"escaped\\\"bar\"", "FOO", "escaped\"bar"),
            ("FOO=\"\\\"quoted\\\"\"", "FOO", "\"quoted\""),
            ("FOO=\"'d'\"", "FOO", "'d'"),
            ("OPTION_A: 1", "OPTION_A", "1"),
            ("OPTION_A: Foo=bar", "OPTION_A", "Foo=bar"),
            ("OPTION_A=1:B", "OPTION_A", "1:B"),
            ("export OPTION_A=2", "OPTION_A", "2"),
            ("export OPTION_B='\\n'", "OPTION_B", "\\n"),
            ("export exportFoo=2", "exportFoo", "2"),
            ("exportFOO=2", "exportFOO", "2"),
            ("export_FOO =2", "export_FOO", "2"),
            ("export.FOO= 2", "export.FOO", "2"),
            ("export\tOPTION_A=2", "OPTION_A", "2"),
            ("  export OPTION_A=2", "OPTION_A", "2"),
            ("\texport OPTION_A=2", "OPTION_A", "2"),
            ("export OPTION_A=\"export A\"", "OPTION_A", "export A"),
            ("FOO=\"bar\\nbaz\"", "FOO", "bar\nbaz"),
            ("FOO=a\\tb", "FOO", "a\\tb"),
            ("FOO=\"a\\tb\"", "FOO", "a\tb"),
            (
                "KEY=\"Z\\aZ\\bZ\\fZ\\nZ\\rZ\\tZ\\vZ\\\\Z\\0123Z\"",
                "KEY",
                "Z\u{7}Z\u{8}Z\u{c}Z\nZ\rZ\tZ\u{b}Z\\ZSZ",
            ),
            ("FOO.BAR=foobar", "FOO.BAR", "foobar"),
            ("FOO=foobar=", "FOO", "foobar="),
            ("FOO=bar ", "FOO", "bar"),
            ("FOO=bar # this is foo", "FOO", "bar"),
            ("FOO=bar #this is foo", "FOO", "bar"),
            ("FOO=bar #", "FOO", "bar"),
            (
                "FOO=123#not-an-inline-comment",
                "FOO",
                "123#not-an-inline-comment",
            ),
            ("FOO=\"bar#baz\"", "FOO", "bar#baz"),
            ("FOO=\"bar#baz\"#", "FOO", "bar#baz"),
            ("FOO=\"bar#baz\" # comment", "FOO", "bar#baz"),
            ("FOO='bar#baz' # comment", "FOO", "bar#baz"),
            ("FOO=\"bar#baz#bang\" # comment", "FOO", "bar#baz#bang"),
            ("FOO=\"ba#r\"", "FOO", "ba#r"),
            ("FOO='ba#r'", "FOO", "ba#r"),
            ("FOO=\"bar\\n\\ b\\az\"", "FOO", "bar\n\\ b\u{7}z"),
            ("FOO=\"bar\\\\\\n\\ b\\az\"", "FOO", "bar\\\n\\ b\u{7}z"),
            ("FOO=\"bar\\\\r\\ b\\az\"", "FOO", "bar\\r\\ b\u{7}z"),
            ("FOO=\"bar\\nbaz\\\\\"", "FOO", "bar\nbaz\\"),
            ("=\"value\"", "", "value"),
            (" KEY =value", "KEY", "value"),
            ("   KEY=value", "KEY", "value"),
            ("\tKEY=value", "KEY", "value"),
            ("KEY=\"\\0123\"", "KEY", "S"),
            ("KEY=\"\\x07\"", "KEY", "\\x07"),
            ("KEY=\"\\u12e4\"", "KEY", "\\u12e4"),
            ("KEY=\"\\U00101234\"", "KEY", "\\U00101234"),
        ];
        for (text, key, value) in cases {
            expect(text, &[], &[(key, value)]);
        }
    }

    #[test]
    fn escapes_in_double_quotes_are_composes_exactly() {
        // The issue's example: an unknown escape keeps its backslash.
        expect(
            "OIDC_CLIENT_SECRET=\"a\\tb\\qc\"",
            &[],
            &[("OIDC_CLIENT_SECRET", "a\tb\\qc")],
        );
        // `\\` before the closing quote is an escaped backslash.
        expect("K=\"a\\\\\"", &[], &[("K", "a\\")]);
        // `\0` takes up to three digits: octal when three octal digits worth at
        // most 255, else the backslash and the digits stay and the 0 is lost.
        expect(
            "K=\"\\0101\\01\\0\\09\\0400\\0377\\0000x\"",
            &[],
            &[("K", "A\\1\\\\9\\400\u{ff}\0x")],
        );
        // `\c` is in compose's list but not an escape Go knows: kept.
        expect(
            "K=\"\\c\\$HOME\"",
            &[("HOME", "/root")],
            &[("K", "\\c$HOME")],
        );
        // Escapes are done before interpolation: an escaped `$` stays.
        expect("K=\"\\0044HOME\"", &[("HOME", "/root")], &[("K", "/root")]);
        // Single quotes and unquoted values know no escapes (only `\'`).
        expect("K='a\\\\b\\n'", &[], &[("K", "a\\\\b\\n")]);
        expect("K=\\$HOME", &[], &[("K", "\\")]);
    }

    #[test]
    fn what_follows_a_closing_quote_is_the_next_statement() {
        expect(
            "A=\"x\" B=2\nC='y'z\n",
            &[],
            &[("A", "x"), ("B", "2"), ("C", "y")],
        );
        expect_refused("A=\"x\",", &[], "unexpected character \",\"");
    }

    #[test]
    fn comments_start_only_at_a_space_then_hash() {
        expect(
            "FOO= # c\nBAR=a\t#b\nBAZ=#x\n# A=1\n  # B=2\n",
            &[],
            &[("FOO", "# c"), ("BAR", "a\t#b"), ("BAZ", "#x")],
        );
    }

    #[test]
    fn odd_ends_read_as_compose_reads_them() {
        // A name with nothing after it up to the end of the text: an empty name
        // whose value is the text (compose's quirk, kept).
        expect("K", &[], &[("", "K")]);
        expect("=v\n:w", &[], &[("", "w")]);
        expect("export\nA=1", &[], &[("A", "1")]);
        expect_refused("export  ", &[], "zero length string");
        expect(
            "A=1\r\nB='two\r\nlines'\r\nC=\"3\"\r\n",
            &[],
            &[("A", "1"), ("B", "two\r\nlines"), ("C", "3")],
        );
    }

    #[test]
    fn multi_line_double_quotes_and_lines_to_skip() {
        expect(
            "TEST_URLS=\"stratum+tcp://stratum.antpool.com:3333\nstratum+tcp://stratum.antpool.com:443\"",
            &[],
            &[(
                "TEST_URLS",
                "stratum+tcp://stratum.antpool.com:3333\nstratum+tcp://stratum.antpool.com:443",
            )],
        );
        for text in ["\n", "\r\n", "\t\t ", "# Comment", "\t # comment"] {
            expect(text, &[], &[]);
        }
    }

    #[test]
    fn unterminated_quotes_are_refused() {
        for text in [
            "KEY=\"",
            "KEY=\"value",
            "KEY=\"value\\\"",
            "KEY=\"value'",
            "KEY='",
            "KEY='value",
            "KEY='value\\'",
            "KEY='value\"",
        ] {
            expect_refused(text, &[], "unterminated quoted value");
        }
    }

    #[test]
    fn interpolation_looks_in_the_environment_then_the_lines_above() {
        expect(
            "FOO=test\nBAR=$FOO",
            &[],
            &[("FOO", "test"), ("BAR", "test")],
        );
        expect(
            "FOO=test\nBAR=${FOO}bar",
            &[],
            &[("FOO", "test"), ("BAR", "testbar")],
        );
        expect("BAR=$FOO", &[], &[("BAR", "")]);
        expect(
            "FOO=test\nBAR=\"quote $FOO\"",
            &[],
            &[("FOO", "test"), ("BAR", "quote test")],
        );
        expect("BAR='quote $FOO'", &[], &[("BAR", "quote $FOO")]);
        expect("FOO=\"foo\\$BAR\"", &[], &[("FOO", "foo$BAR")]);
        expect("FOO=\"foo\\${BAR}\"", &[], &[("FOO", "foo${BAR}")]);
        expect(
            "FOO=test\nBAR=\"foo\\${FOO} ${FOO}\"",
            &[],
            &[("FOO", "test"), ("BAR", "foo${FOO} test")],
        );
        expect("TEST=$ME", &[("ME", "YES")], &[("TEST", "YES")]);
        // A line below is not seen.
        expect("B=$A\nA=1\nC=$A", &[], &[("B", ""), ("A", "1"), ("C", "1")]);
        // Names match [_a-z][_a-z0-9]* in any case, and Go's case folding
        // adds the long s and the Kelvin sign.
        expect(
            "V=$ſ${K}$lower",
            &[("ſ", "s"), ("K", "k"), ("lower", "l")],
            &[("V", "skl")],
        );
    }

    #[test]
    fn interpolation_follows_composes_template_rules() {
        let env = [("FOO", "first"), ("BAR", ""), ("JSON", "{\"json\":2}")];
        let cases: &[(&str, &str)] = &[
            ("$${foo}", "${foo}"),
            ("foo", "foo"),
            ("a $ string", "a $ string"),
            ("^REGEX$", "^REGEX$"),
            ("$}", "$}"),
            ("$", "$"),
            ("$1", "$1"),
            ("$FOO-bar", "first-bar"),
            ("This ${missing} var", "This  var"),
            ("This ${BAR} var", "This  var"),
            ("This $FOO var", "This first var"),
            ("This ${FOO} var", "This first var"),
            ("ok ${missing:-def}", "ok def"),
            ("ok ${missing-def}", "ok def"),
            ("${A:+${A},}B", "B"),
            ("${A:-${B}}", ""),
            ("ok ${BAR:-def}", "ok def"),
            ("ok ${FOO:-def}", "ok first"),
            ("ok ${BAR-def}", "ok "),
            ("ok ${UNSET_VAR:+presence_value}", "ok "),
            ("ok ${UNSET_VAR+presence_value}", "ok "),
            ("ok ${FOO:+presence_value}", "ok presence_value"),
            ("ok ${FOO+presence_value}", "ok presence_value"),
            ("ok ${BAR+presence_value}", "ok presence_value"),
            ("ok ${BAR:+presence_value}", "ok "),
            ("ok ${BAR:-/non:-alphanumeric}", "ok /non:-alphanumeric"),
            ("-ok ${BAR:-defaultValue}", "-ok defaultValue"),
            ("+ok ${UNSET:-${BAR-defaultValue}}", "+ok "),
            ("-ok ${FOO:-defaultValue}", "-ok first"),
            (":-ok ${UNSET-defaultValue}", ":-ok defaultValue"),
            (":-ok ${BAR-defaultValue}", ":-ok "),
            (":?ok ${BAR-defaultValue}", ":?ok "),
            (":?ok ${BAR:-defaultValue}", ":?ok defaultValue"),
            (":+ok ${BAR:-defaultValue}", ":+ok defaultValue"),
            ("?ok ${BAR:-defaultValue}", "?ok defaultValue"),
            ("ok ${UNSET_VAR-$FOO}", "ok first"),
            ("ok ${UNSET_VAR-${FOO}}", "ok first"),
            ("ok ${UNSET_VAR-${FOO} ${FOO}}", "ok first first"),
            ("ok ${BAR:-$FOO}", "ok first"),
            ("ok ${BAR:-${FOO} ${FOO}}", "ok first first"),
            ("ok ${BAR+$FOO}", "ok first"),
            ("ok ${BAR+$FOO ${FOO:+second}}", "ok first second"),
            ("ok ${FOO:?err}", "ok first"),
            ("ok ${FOO?err}", "ok first"),
            ("ok ${BAR?err}", "ok "),
            ("${UNSET_VAR-myerror?msg}", "myerror?msg"),
            ("${FOO?bar-baz}", "first"),
            ("ok ${missing:-{\"json\":1}}", "ok {\"json\":1}"),
            ("ok ${missing-{\"json\":1}}", "ok {\"json\":1}"),
            ("ok ${JSON:-{\"json\":1}}", "ok {\"json\":2}"),
            ("ok ${SUBDOMAIN:-redis}.${FOO:?}", "ok redis.first"),
            // The expression runs to its first balanced brace, where a `{`
            // also hides the character after it.
            ("${A:-{}}x}", "{}}x"),
        ];
        for (template, want) in cases {
            expect(&format!("K={template}"), &env, &[("K", want)]);
        }
        expect("K=${A?${B}}", &[("A", "value")], &[("K", "value")]);
    }

    #[test]
    fn interpolation_errors_refuse_the_file() {
        let env = [("FOO", "first"), ("BAR", "")];
        for template in [
            "${",
            "${}",
            "${ }",
            "${ foo}",
            "${foo }",
            "${foo!}",
            "${A:-x}}${}",
        ] {
            expect_refused(&format!("K={template}"), &env, "Invalid template");
        }
        // An expression cannot run over a line break.
        expect_refused("K=\"${A:-x\ny}\"", &env, "Invalid template");
        let required: &[(&str, &str)] = &[
            (
                "not ok ${UNSET_VAR:?Mandatory Variable Unset}",
                "required variable UNSET_VAR is missing a value: Mandatory Variable Unset",
            ),
            (
                "not ok ${BAR:?Mandatory Variable Empty}",
                "required variable BAR is missing a value: Mandatory Variable Empty",
            ),
            (
                "not ok ${UNSET_VAR:?}",
                "required variable UNSET_VAR is missing a value",
            ),
            (
                "not ok ${UNSET_VAR?Mandatory Variable Unset}",
                "required variable UNSET_VAR is missing a value: Mandatory Variable Unset",
            ),
            (
                "not ok ${UNSET_VAR?}",
                "required variable UNSET_VAR is missing a value",
            ),
            (
                "not ok ${UNSET_VAR:?Mandatory Variable ${FOO}}",
                "required variable UNSET_VAR is missing a value: Mandatory Variable first",
            ),
            (
                "${UNSET_VAR?bar-baz}",
                "required variable UNSET_VAR is missing a value: bar-baz",
            ),
        ];
        for (template, message) in required {
            expect_refused(&format!("K={template}"), &env, message);
        }
        let env = [("EMPTY_VAR", ""), ("TEST_VAR", "Test Value")];
        expect(
            "R=${UNSET_VAR:-Default Value}",
            &env,
            &[("R", "Default Value")],
        );
        expect(
            "R=${EMPTY_VAR:-Default Value}",
            &env,
            &[("R", "Default Value")],
        );
        expect("R=${EMPTY_VAR-Default Value}", &env, &[("R", "")]);
        expect("R=${EMPTY_VAR?Test error}", &env, &[("R", "")]);
        expect_refused(
            "R=${EMPTY_VAR:?Test error}",
            &env,
            "EMPTY_VAR is missing a value",
        );
    }

    #[test]
    fn lookups_say_where_each_value_came_from() {
        let f = parse_in(
            "A=${IDP}/authorize\nB=$HOST:${PORT:-80}\nIDP=https://id.example.com\nPORT=\nC=${IDP}\n",
            &[("HOST", "h")],
        );
        assert!(f.problems.is_empty(), "{:?}", f.problems);
        let a = f.last("A").unwrap();
        assert_eq!(a.value, "/authorize");
        assert_eq!(f.written(a), "${IDP}/authorize");
        assert_eq!(
            a.lookups,
            vec![Lookup {
                expr: "${IDP}".into(),
                name: "IDP".into(),
                origin: None,
                value: String::new(),
                warned: true,
                defined_later: Some(3),
            }]
        );
        let b = f.last("B").unwrap();
        assert_eq!(b.value, "h:80");
        assert_eq!(b.lookups[0].origin, Some(Origin::Environment));
        assert_eq!(b.lookups[1].expr, "${PORT:-80}");
        assert!(!b.lookups[1].warned, "a default silences compose's warning");
        assert_eq!(b.lookups[1].defined_later, Some(4));
        let c = f.last("C").unwrap();
        assert_eq!(c.lookups[0].origin, Some(Origin::Line(3)));
        assert_eq!(c.value, "https://id.example.com");
    }

    #[test]
    fn reports_every_broken_line_and_keeps_going() {
        let f = parse("A='open\nB C=1\nD=ok\nE%=x\nF=\"${ x}\"\nG=${X:?gone}\n");
        let lines: Vec<usize> = f.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![1, 2, 4, 5, 6], "{:?}", f.problems);
        assert_eq!(f.problems[1].text, "B C");
        // `NAME value`, the `=` forgotten: what follows the name is its value.
        assert_eq!(f.problems[1].value_of, Some(("B".to_string(), 2)));
        assert_eq!(
            f.problems[2].text, "E%",
            "a broken name is shown up to where compose stopped"
        );
        assert_eq!(f.problems[0].value_of, Some(("A".to_string(), 2)));
        // The parts of compose's messages that quote the value are marked.
        let quoted = |p: &Problem| p.quote.clone().map(|q| p.message[q].to_string());
        assert_eq!(quoted(&f.problems[3]).as_deref(), Some("\"${ x}\""));
        assert_eq!(quoted(&f.problems[4]).as_deref(), Some("gone"));
        assert_eq!(quoted(&f.problems[0]), None);
        assert!(
            f.problems[4]
                .message
                .contains("required variable X is missing a value: gone")
        );
        assert_eq!(f.last("D").map(|e| e.value.as_str()), Some("ok"));
    }

    #[test]
    fn expands_defaults_with_non_ascii_text() {
        let f = parse("A=${UNSET_ROMM_OIDC_TEST:-héllo}/ü\n");
        assert_eq!(f.last("A").map(|e| e.value.as_str()), Some("héllo/ü"));
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

    /// Values that are hard to carry, for the merge property below.
    const HARD_VALUES: &[&str] = &[
        "true",
        "a b",
        "it's",
        "say \"hi\"",
        "back\\slash\\",
        "$HOME ${X:-y} $$",
        " #not a comment",
        "tab\there",
        "\u{feff}bom",
        "\\'\\\"",
        "é✓",
    ];

    /// Any text, however broken, parses without a panic; a merge keeps every
    /// byte that is not a replaced value; and when the file is one compose
    /// reads, the merged value reads back exactly and nothing else changes.
    #[test]
    fn arbitrary_text_never_panics_and_merges_keep_the_rest() {
        let alphabet: Vec<char> = "AB_=:#'\"\\$ {}-\n\r\texport OIDC_ENABLED é✓\u{feff}"
            .chars()
            .collect();
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut merged_clean = 0;
        for round in 0..3000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 60) as usize;
            let text: String = (0..len)
                .map(|i| alphabet[((seed >> (i % 50)) as usize + i * 7) % alphabet.len()])
                .collect();
            let value = HARD_VALUES[round % HARD_VALUES.len()];
            let written = crate::emit::dotenv_quote(value).expect("a value the block can carry");
            let f = parse(&text);
            let merged = f.merged(&[("OIDC_ENABLED".into(), written.clone())]);
            if f.last("OIDC_ENABLED").is_none() {
                // Every original byte stays, in order: only the new line (and a
                // line break to start it) was inserted.
                let line = format!("OIDC_ENABLED={written}");
                let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
                let at = merged.find(&line).expect("the new line");
                let rest = format!("{}{}", &merged[..at], &merged[at + line.len() + nl.len()..]);
                let kept = rest == text
                    || (rest[..at].ends_with(nl)
                        && format!("{}{}", &rest[..at - nl.len()], &rest[at..]) == text);
                assert!(kept, "{text:?} → {merged:?}");
            }
            if !f.problems.is_empty() {
                continue;
            }
            let after = parse(&merged);
            assert!(
                after.problems.is_empty(),
                "{text:?} → {merged:?}: {:?}",
                after.problems
            );
            assert_eq!(
                after.last("OIDC_ENABLED").map(|e| e.value.as_str()),
                Some(value),
                "{text:?} → {merged:?}"
            );
            for e in &f.entries {
                let last = f.last(&e.key).is_some_and(|l| std::ptr::eq(l, e));
                if !last || e.key == "OIDC_ENABLED" || !e.lookups.is_empty() {
                    continue;
                }
                assert_eq!(
                    after.last(&e.key).map(|a| &a.value),
                    Some(&e.value),
                    "{text:?} → {merged:?}: {} changed",
                    e.key
                );
            }
            merged_clean += 1;
        }
        assert!(merged_clean > 500, "too few readable files: {merged_clean}");
    }

    /// Go 1.19's `fmt.Sprintf("%q", s)` for each, as run.
    #[test]
    fn go_quote_is_gos_percent_q() {
        for (text, quoted) in [
            ("plain ${A:-x}", "\"plain ${A:-x}\""),
            ("say \"hi\" \\ back", "\"say \\\"hi\\\" \\\\ back\""),
            (
                "\u{7}\u{8}\u{c}\u{a}\u{d}\u{9}\u{b}",
                "\"\\a\\b\\f\\n\\r\\t\\v\"",
            ),
            ("\u{0}\u{1b}\u{7f}", "\"\\x00\\x1b\\x7f\""),
            ("\u{e9}\u{65e5}\u{672c}", "\"\u{e9}\u{65e5}\u{672c}\""),
            ("\u{85}\u{a0}\u{ad}", "\"\\u0085\\u00a0\\u00ad\""),
            ("\u{2028}\u{feff}", "\"\\u2028\\ufeff\""),
            (
                "\u{1f980}\u{e0001}\u{10ffff}",
                "\"\u{1f980}\\U000e0001\\U0010ffff\"",
            ),
            ("\u{378}", "\"\\u0378\""),
        ] {
            assert_eq!(go_quote(text), quoted, "{text:?}");
        }
    }
}
