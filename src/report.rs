//! Findings and how they are shown. Checks produce findings; this module only
//! renders them (human text, JSON, or markdown in `markdown`) and never
//! decides anything.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write as _};

use anyhow::{Context, Result};

use console::Style;
use serde::Serialize;
use serde_json::Value;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

mod markdown;
pub use markdown::Setup;

/// How `doctor` prints its report (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// A line per check, and what to do about each one not passing
    Text,
    /// The report as one JSON object (README "The JSON report")
    Json,
    /// Markdown to paste into a support thread, with versions and the env RomM reads, secrets removed
    Markdown,
}

impl ReportFormat {
    /// This format, or JSON when `--json` was given (the same as `--format json`).
    pub fn or_json(self, json: bool) -> ReportFormat {
        if json { ReportFormat::Json } else { self }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Skip,
    Warn,
    Fail,
}

/// One verdict: a stable id, a status, a one-line summary, the detail, and the
/// change that fixes it (naming the exact variable or provider setting).
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub status: Status,
    pub summary: String,
    pub detail: String,
    pub fix: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
    /// Structured extras for `--json`; `claims` is also shown in the human view.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// Where the check ran when not here: `container`, from inside RomM's container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub view: Option<View>,
}

/// Where a finding was seen from, when not from where the tool runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// From inside RomM's container (`--container`, `--exec`).
    Container,
}

impl Finding {
    fn new(id: &'static str, status: Status, summary: impl Into<String>) -> Finding {
        Finding {
            id,
            status,
            summary: summary.into(),
            detail: String::new(),
            fix: String::new(),
            expected: None,
            found: None,
            data: None,
            view: None,
        }
    }

    pub fn pass(id: &'static str, summary: impl Into<String>) -> Finding {
        Finding::new(id, Status::Pass, summary)
    }
    pub fn warn(id: &'static str, summary: impl Into<String>) -> Finding {
        Finding::new(id, Status::Warn, summary)
    }
    pub fn fail(id: &'static str, summary: impl Into<String>) -> Finding {
        Finding::new(id, Status::Fail, summary)
    }
    pub fn skip(id: &'static str, summary: impl Into<String>) -> Finding {
        Finding::new(id, Status::Skip, summary)
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Finding {
        self.detail = detail.into();
        self
    }
    pub fn fix(mut self, fix: impl Into<String>) -> Finding {
        self.fix = fix.into();
        self
    }
    /// The fix, unless the finding already names a more precise one.
    pub fn or_fix(self, fix: impl Into<String>) -> Finding {
        if self.fix.is_empty() {
            self.fix(fix)
        } else {
            self
        }
    }
    /// Both sides of a mismatch.
    pub fn mismatch(mut self, expected: impl Into<String>, found: impl Into<String>) -> Finding {
        self.expected = Some(expected.into());
        self.found = Some(found.into());
        self
    }
    pub fn data(mut self, data: Value) -> Finding {
        self.data = Some(data);
        self
    }
    pub fn view(mut self, view: View) -> Finding {
        self.view = Some(view);
        self
    }

    /// The id as the human report shows it: with its view, when not from here.
    fn shown_id(&self) -> Cow<'static, str> {
        match self.view {
            None => Cow::Borrowed(self.id),
            Some(View::Container) => Cow::Owned(format!("{} (container)", self.id)),
        }
    }
}

/// The problems one check found, folded into its one finding: the worst
/// status, a line per problem marked ✘ or ⚠ (in the order found), and each
/// distinct fix once.
#[derive(Debug, Default)]
pub struct Problems(Vec<Problem>);

#[derive(Debug)]
struct Problem {
    status: Status,
    text: String,
    /// Empty when the problem needs no fix of its own.
    fix: String,
}

impl Problems {
    pub fn fail(&mut self, text: impl Into<String>, fix: impl Into<String>) {
        self.push(Status::Fail, text, fix);
    }
    pub fn warn(&mut self, text: impl Into<String>, fix: impl Into<String>) {
        self.push(Status::Warn, text, fix);
    }
    pub fn push(&mut self, status: Status, text: impl Into<String>, fix: impl Into<String>) {
        self.0.push(Problem {
            status,
            text: text.into(),
            fix: fix.into(),
        });
    }

    /// Lists the failures before the warnings, each group in the order found.
    pub fn failures_first(&mut self) {
        self.0.sort_by_key(|p| std::cmp::Reverse(p.status));
    }

    /// "N problem(s) in `place`", for the summary.
    pub fn counted(&self, place: &str) -> String {
        let count = self.0.len();
        format!(
            "{count} problem{} in {place}",
            if count == 1 { "" } else { "s" }
        )
    }

    /// One line per problem, marked as the report marks its status.
    pub fn lines(&self) -> String {
        self.0
            .iter()
            .map(|p| format!("{} {}", mark(p.status).0, p.text))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Each distinct fix once, in the order found.
    pub fn fixes(&self) -> String {
        let mut unique: Vec<&str> = Vec::new();
        for p in &self.0 {
            if !p.fix.is_empty() && !unique.contains(&p.fix.as_str()) {
                unique.push(&p.fix);
            }
        }
        unique.join("\n")
    }

    /// The one finding: fail when any problem fails, else warn; `None` when
    /// there is no problem.
    pub fn finding(&self, id: &'static str, summary: impl Into<String>) -> Option<Finding> {
        let status = self.0.iter().map(|p| p.status).max()?;
        Some(
            Finding::new(id, status, summary)
                .detail(self.lines())
                .fix(self.fixes()),
        )
    }
}

/// Whether the findings prove that RomM accepts the login (decided by
/// `checks::verdict`): pass only when every check that bears on it passed.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// `pass` proven, `warn` not proven, `fail` RomM's login would fail.
    pub status: Status,
    pub summary: String,
    /// What failed or is unproven, and how to prove it.
    pub open: Vec<Open>,
}

/// One thing RomM's login needs that failed or is not proven.
#[derive(Clone, Debug, Serialize)]
pub struct Open {
    pub status: Status,
    pub what: &'static str,
    /// The checks that failed, warned or were skipped.
    pub ids: Vec<String>,
    /// The checks that would prove it but did not run at all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_run: Vec<String>,
    pub how: String,
}

impl Verdict {
    /// The verdict as plain lines: the summary, then one line per open need.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![self.summary.clone()];
        for o in &self.open {
            let mut which = o.ids.clone();
            if !o.not_run.is_empty() {
                which.push(format!("{} not run", o.not_run.join(", ")));
            }
            out.push(format!(
                "{} {} ({}): {}",
                mark(o.status).0,
                o.what,
                which.join(", "),
                o.how
            ));
        }
        out
    }
}

/// The version of the `--json` report's format: raised when a field is
/// removed or changes meaning (new fields may appear within a version).
pub const JSON_SCHEMA: u32 = 1;

/// The findings of one run, in the order the checks produced them, and the
/// closing verdict (doctor only).
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub checks: Vec<Finding>,
    pub verdict: Option<Verdict>,
}

impl Report {
    pub fn extend(&mut self, findings: impl IntoIterator<Item = Finding>) {
        self.checks.extend(findings);
    }

    pub fn ok(&self) -> bool {
        self.checks.iter().all(|f| f.status != Status::Fail)
    }

    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|f| f.status == status).count()
    }

    /// "N passed, N warnings, N failed, N skipped".
    fn totals(&self) -> String {
        let warnings = self.count(Status::Warn);
        format!(
            "{} passed, {warnings} warning{}, {} failed, {} skipped",
            self.count(Status::Pass),
            if warnings == 1 { "" } else { "s" },
            self.count(Status::Fail),
            self.count(Status::Skip)
        )
    }

    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.checks.iter().filter(|f| f.status == Status::Fail)
    }

    /// The `--json` report; README "The JSON report" documents every field.
    pub fn to_json(&self) -> String {
        let mut value = serde_json::json!({
            "schema": JSON_SCHEMA,
            "ok": self.ok(),
            "checks": self.checks,
        });
        if let Some(verdict) = &self.verdict {
            value["verdict"] = serde_json::to_value(verdict).unwrap_or_default();
        }
        json_pretty(&value) + "\n"
    }

    /// The human report: a line per check, then detail, both sides and fix for
    /// anything not passing, then the totals.
    pub fn to_human(&self) -> String {
        let width = self
            .checks
            .iter()
            .map(|f| f.shown_id().len())
            .max()
            .unwrap_or(0);
        let dim = Style::new().dim();
        let mut out = String::new();
        for f in &self.checks {
            let (mark, style) = mark(f.status);
            let _ = writeln!(
                out,
                "{} {:width$}  {}",
                style.apply_to(mark),
                f.shown_id(),
                clean(&f.summary)
            );
            let explain = f.status != Status::Pass;
            if explain {
                for line in f.detail.lines() {
                    let _ = writeln!(out, "    {}", clean(line));
                }
            }
            if let (Some(expected), Some(found)) = (&f.expected, &f.found)
                && explain
            {
                let _ = writeln!(out, "    {} {}", dim.apply_to("expected:"), clean(expected));
                let _ = writeln!(out, "    {} {}", dim.apply_to("found:   "), clean(found));
            }
            // Claims are the point of a login test: always shown, pretty.
            if let Some(claims) = f.data.as_ref().and_then(|d| d.get("claims")) {
                for line in json_pretty(claims).lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
            if explain && !f.fix.is_empty() {
                let mut lines = f.fix.lines();
                if let Some(first) = lines.next() {
                    let fix = Style::new().bold().apply_to("fix:");
                    let _ = writeln!(out, "    {fix} {}", clean(first));
                }
                for line in lines {
                    let _ = writeln!(out, "         {}", clean(line));
                }
            }
        }
        let _ = writeln!(out, "\n{}", self.totals());
        if let Some(verdict) = &self.verdict {
            let (mark, style) = mark(verdict.status);
            let mut lines = verdict.lines().into_iter();
            let _ = writeln!(
                out,
                "{} {} {}",
                Style::new().bold().apply_to("verdict:"),
                style.apply_to(mark),
                lines.next().unwrap_or_default()
            );
            for line in lines {
                let _ = writeln!(out, "  {line}");
            }
        }
        out
    }
}

pub fn mark(status: Status) -> (&'static str, Style) {
    match status {
        Status::Pass => ("✔", Style::new().green()),
        Status::Warn => ("⚠", Style::new().yellow()),
        Status::Fail => ("✘", Style::new().red().bold()),
        Status::Skip => ("–", Style::new().dim()),
    }
}

/// A finding in a few lines for stderr notes (emit-env's refusal, the
/// wizard): mark, summary, and for warnings and failures both sides and fix.
pub fn brief(f: &Finding, indent: &str, with_id: bool) -> String {
    let (mark, style) = mark(f.status);
    let id = if with_id {
        format!("{}: ", f.id)
    } else {
        String::new()
    };
    let mut out = format!(
        "{indent}{} {id}{}\n",
        style.apply_to(mark),
        clean(&f.summary)
    );
    if matches!(f.status, Status::Warn | Status::Fail) {
        if let (Some(e), Some(found)) = (&f.expected, &f.found) {
            let _ = writeln!(
                out,
                "{indent}    expected: {}\n{indent}    found:    {}",
                clean(e),
                clean(found)
            );
        }
        if !f.fix.is_empty() {
            let _ = writeln!(
                out,
                "{indent}    fix: {}",
                clean_lines(&f.fix).replace('\n', &format!("\n{indent}         "))
            );
        }
    }
    out
}

/// Whether a character may not reach a terminal as it is: control
/// characters (C0, DEL, C1: cursor moves, colours, OSC 8 links, OSC 52
/// clipboard writes, window titles), invisible formatting characters (bidi
/// overrides, zero-width characters, tags) and line or paragraph separators,
/// all of which can make text show something other than what it says.
pub fn is_unsafe(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

/// One line of text that may hold what a provider, RomM or a file sent,
/// made safe to print: every unsafe character (see [`is_unsafe`]), line
/// breaks included, is shown as a visible escape (`\x1b`, `\r`, `\u{202e}`),
/// so the user sees that something odd was sent and nothing acts on the
/// terminal. Every human-readable output goes through this or [`clean_lines`].
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) && u32::from(c) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `eprintln!` for a note that may carry provider, RomM or file text: every
/// line goes through [`clean_lines`].
macro_rules! note {
    ($($arg:tt)*) => {
        eprintln!("{}", $crate::report::clean_lines(&format!($($arg)*)))
    };
}
pub(crate) use note;

/// [`clean`] for text whose line breaks are meant (notes, errors): each line
/// is cleaned, the breaks between them kept.
pub fn clean_lines(text: &str) -> String {
    text.split('\n').map(clean).collect::<Vec<_>>().join("\n")
}

/// Pretty JSON that is safe on a terminal and still exactly the same data:
/// serde escapes C0 controls already; this also writes every other unsafe
/// character (DEL, C1, bidi overrides, …) as a `\uXXXX` escape.
pub fn json_pretty(value: &Value) -> String {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, SafeFormatter::default());
    if value.serialize(&mut serializer).is_err() {
        return String::new();
    }
    String::from_utf8(out).unwrap_or_default()
}

/// serde_json's pretty formatter, with unsafe characters in strings escaped.
#[derive(Default)]
struct SafeFormatter(serde_json::ser::PrettyFormatter<'static>);

impl serde_json::ser::Formatter for SafeFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        for c in fragment.chars() {
            if is_unsafe(c) {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            } else {
                let mut bytes = [0u8; 4];
                writer.write_all(c.encode_utf8(&mut bytes).as_bytes())?;
            }
        }
        Ok(())
    }
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// Writes the product to stdout; a closed pipe is not an error worth a panic.
pub fn print_stdout(text: &str) -> Result<()> {
    let text = crate::redact::shown(text);
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to stdout"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_fold_into_the_worst_status_with_marked_lines_and_each_fix_once() {
        let mut problems = Problems::default();
        assert!(problems.finding("x.y", "nothing").is_none());
        problems.warn("first", "Do A");
        let f = problems
            .finding("x.y", problems.counted("the file"))
            .unwrap();
        assert_eq!(
            (f.status, f.summary.as_str()),
            (Status::Warn, "1 problem in the file")
        );
        problems.fail("second", "Do B");
        problems.warn("third", "Do A");
        problems.warn("fourth", "");
        let f = problems
            .finding("x.y", problems.counted("the file"))
            .unwrap();
        assert_eq!(f.id, "x.y");
        assert_eq!(
            (f.status, f.summary.as_str()),
            (Status::Fail, "4 problems in the file")
        );
        assert_eq!(f.detail, "⚠ first\n✘ second\n⚠ third\n⚠ fourth");
        assert_eq!(f.fix, "Do A\nDo B");
        problems.failures_first();
        assert_eq!(problems.lines(), "✘ second\n⚠ first\n⚠ third\n⚠ fourth");
    }

    #[test]
    fn clean_escapes_controls_bidi_and_invisible_characters_visibly() {
        assert_eq!(clean("plain é ✓ 日本"), "plain é ✓ 日本");
        assert!(matches!(clean("plain"), Cow::Borrowed(_)));
        assert_eq!(
            clean("a\u{1b}[2Jb\r\n\t\u{7}\u{7f}\u{9b}"),
            r"a\x1b[2Jb\r\n\t\x07\x7f\x9b"
        );
        assert_eq!(
            clean("x\u{202e}y\u{200b}z\u{2066}\u{feff}\u{2028}\u{e0041}"),
            r"x\u{202e}y\u{200b}z\u{2066}\u{feff}\u{2028}\u{e0041}"
        );
        assert_eq!(clean_lines("one\u{1b}\ntwo\r\n"), "one\\x1b\ntwo\\r\n");
    }

    #[test]
    fn json_pretty_is_the_same_data_with_every_unsafe_character_escaped() {
        let hostile = "a\u{1b}]52;c;eA==\u{7}\u{7f}\u{9b}\u{202e}\u{e0041}é\"\\";
        let value = serde_json::json!({ "k\u{202e}": [hostile, 1, null] });
        let text = json_pretty(&value);
        assert!(!text.chars().any(|c| is_unsafe(c) && c != '\n'), "{text}");
        assert!(
            text.contains(r#"\u007f\u009b\u202e\udb40\udc41é\"\\"#),
            "{text}"
        );
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
        assert_eq!(
            json_pretty(&serde_json::json!({"a": [1]})),
            serde_json::to_string_pretty(&serde_json::json!({"a": [1]})).unwrap()
        );
    }
}
