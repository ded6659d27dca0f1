//! Findings and how they are shown. Checks produce findings; this module only
//! renders them (human text or JSON) and never decides anything.

use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::{Context, Result};

use console::Style;
use serde::Serialize;
use serde_json::Value;

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

    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.checks.iter().filter(|f| f.status == Status::Fail)
    }

    pub fn to_json(&self) -> String {
        let mut value = serde_json::json!({ "ok": self.ok(), "checks": self.checks });
        if let Some(verdict) = &self.verdict {
            value["verdict"] = serde_json::to_value(verdict).unwrap_or_default();
        }
        serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
    }

    /// The human report: a line per check, then detail, both sides and fix for
    /// anything not passing, then the totals.
    pub fn to_human(&self) -> String {
        let width = self.checks.iter().map(|f| f.id.len()).max().unwrap_or(0);
        let dim = Style::new().dim();
        let mut out = String::new();
        for f in &self.checks {
            let (mark, style) = mark(f.status);
            let _ = writeln!(
                out,
                "{} {:width$}  {}",
                style.apply_to(mark),
                f.id,
                f.summary
            );
            let explain = f.status != Status::Pass;
            if explain {
                for line in f.detail.lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
            if let (Some(expected), Some(found)) = (&f.expected, &f.found)
                && explain
            {
                let _ = writeln!(out, "    {} {expected}", dim.apply_to("expected:"));
                let _ = writeln!(out, "    {} {found}", dim.apply_to("found:   "));
            }
            // Claims are the point of a login test: always shown, pretty.
            if let Some(claims) = f.data.as_ref().and_then(|d| d.get("claims")) {
                for line in serde_json::to_string_pretty(claims)
                    .unwrap_or_default()
                    .lines()
                {
                    let _ = writeln!(out, "    {line}");
                }
            }
            if explain && !f.fix.is_empty() {
                let mut lines = f.fix.lines();
                if let Some(first) = lines.next() {
                    let _ = writeln!(out, "    {} {first}", Style::new().bold().apply_to("fix:"));
                }
                for line in lines {
                    let _ = writeln!(out, "         {line}");
                }
            }
        }
        let warnings = self.count(Status::Warn);
        let _ = writeln!(
            out,
            "\n{} passed, {warnings} warning{}, {} failed, {} skipped",
            self.count(Status::Pass),
            if warnings == 1 { "" } else { "s" },
            self.count(Status::Fail),
            self.count(Status::Skip)
        );
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
    let mut out = format!("{indent}{} {id}{}\n", style.apply_to(mark), f.summary);
    if matches!(f.status, Status::Warn | Status::Fail) {
        if let (Some(e), Some(found)) = (&f.expected, &f.found) {
            let _ = writeln!(
                out,
                "{indent}    expected: {e}\n{indent}    found:    {found}"
            );
        }
        if !f.fix.is_empty() {
            let _ = writeln!(
                out,
                "{indent}    fix: {}",
                f.fix.replace('\n', &format!("\n{indent}         "))
            );
        }
    }
    out
}

/// Writes the product to stdout; a closed pipe is not an error worth a panic.
pub fn print_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to stdout"),
    }
}
