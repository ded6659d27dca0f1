//! `romm.log`: every OIDC failure in RomM's own log, as findings. Each kind
//! of failure is one finding with its count, the time of its last
//! occurrence, the cause and the fix the matching check gives (`patterns`).
//! A log with none gives a pass that says what was read; an OIDC traceback
//! no row knows is a warning that shows its exception line.
//!
//! [`judge`] is the whole of it for bytes from anywhere (a file, stdin,
//! `docker logs`); `explain` and `doctor --romm-log` read through `input`.

mod input;
mod parse;
mod patterns;

use std::collections::HashSet;
use std::sync::LazyLock;

use anyhow::Result;
use regex::Regex;

use crate::checks::id;
use crate::cli::ExplainArgs;
use crate::exit::Exit;
use crate::report::{self, Finding, Report, ReportFormat, Setup, Status};
use crate::run::Config;
pub use input::{LOG_LIMIT, read};
use parse::{Event, Header, Stamp, Traceback};
use patterns::{Pattern, Seen, Stage};

const ID: &str = id::ROMM_LOG;

/// `romm-oidc explain`: the findings on stdout; 1 when a failure stands.
pub fn explain(args: &ExplainArgs, config: &Config) -> Result<Exit> {
    let input = read(&args.log, config.timeout)?;
    let report = Report {
        checks: judge_input(&input),
        verdict: None,
    };
    report::print_stdout(&match args.report_format() {
        ReportFormat::Text => report.to_human(),
        ReportFormat::Json => report.to_json(),
        ReportFormat::Markdown => report.to_markdown(&Setup {
            env: Vec::new(),
            run: format!(
                "romm-oidc {} explain {} --format markdown",
                crate::version::ROMM_OIDC,
                shell_words::quote(&args.log.to_string_lossy())
            ),
        }),
    })?;
    Ok(Exit::checked(report.ok(), false))
}

/// The findings for a log `read` read.
pub fn judge_input(input: &input::Input) -> Vec<Finding> {
    judge_with(&input.bytes, &input.label, &input.notes)
}

/// The findings for RomM's log `log`, read from `source` (a noun phrase
/// for the findings: "romm.log", "the last 24 h of romm's container log").
/// Only its newest `LOG_LIMIT` bytes are judged, and the findings say so.
/// The entry for the log `doctor --container` fetches (issue 12).
pub fn judge(log: &[u8], source: &str) -> Vec<Finding> {
    judge_with(log, source, &[])
}

fn judge_with(log: &[u8], source: &str, notes: &[String]) -> Vec<Finding> {
    let mut notes = notes.to_vec();
    let cut;
    let log = if log.len() > input::LOG_LIMIT {
        cut = input::from_line_start(log[log.len() - input::LOG_LIMIT..].to_vec());
        notes.push(format!(
            "Only the newest {} of the {} given were read.",
            input::mib(cut.len() as u64),
            input::mib(log.len() as u64)
        ));
        &cut[..]
    } else {
        log
    };
    let text = String::from_utf8_lossy(log);
    let mut judge = Judge {
        pocket_id: POCKET_ID_TOKEN.is_match(&text),
        ..Judge::default()
    };
    let scan = parse::scan(&text, |event| judge.event(event));
    judge.findings(&scan, source, &notes)
}

/// Pocket ID's token endpoint in RomM's request lines: its fixes then name
/// Pocket ID's settings.
static POCKET_ID_TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"HTTP Request: POST \S+/api/oidc/token ""#).unwrap());
/// nginx's access line (`docker/nginx/default.conf`, `romm_logs`): remote |
/// forwarded-for | method URI status | bytes | …
static NGINX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\S+ \| .*? \| [A-Z]+ (\S+) (\d{3}) \| (\d+) \|").unwrap());
/// uvicorn's access line (DEBUG only).
static UVICORN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^\S* - "[A-Z]+ (\S+) HTTP/[\d.]+" (\d{3})$"#).unwrap());
static REQUEST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^HTTP Request: [A-Z]+ \S+ "HTTP/[\d.]+ (\d{3})"#).unwrap());
static CONNECT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^connect_tcp\.started host='([^']+)'").unwrap());
static NEW_USER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^User with email '([^']*)' not found, creating new user$").unwrap()
});

const LOGGED: &str = "RomM logged";
const ACCESS: &str = "The access log shows";

const LOGIN_ROUTE: &str = "/api/login/openid";
const CALLBACK_ROUTE: &str = "/api/oauth/openid";

/// A failure that no table row names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Derived {
    /// A callback whose state had already logged a user in (Back, refresh).
    Replay,
    /// An OIDC traceback no row knows, or cut before its exception line.
    Unknown,
    /// A bare 500 on an OIDC route with no traceback before it.
    Unexplained,
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Row(&'static Pattern),
    Derived(Derived),
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Row(p) => p.name,
            Kind::Derived(Derived::Replay) => "callback.state-replay",
            Kind::Derived(Derived::Unknown) => "unrecognised",
            Kind::Derived(Derived::Unexplained) => "unexplained-500",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Kind::Row(p) => p.what,
            Kind::Derived(Derived::Replay) => {
                "A login callback was opened again after it had logged the user in"
            }
            Kind::Derived(Derived::Unknown) => {
                "RomM's login failed with an exception romm-oidc does not know"
            }
            Kind::Derived(Derived::Unexplained) => {
                "RomM's OIDC route answered 500 with no traceback in the log"
            }
        }
    }

    fn cause(self) -> &'static str {
        match self {
            Kind::Row(p) => p.cause,
            Kind::Derived(Derived::Replay) => {
                "The same callback URL (same state) had already succeeded: Back or a refresh on the provider's redirect repeats it, and RomM refuses a state it has used. It is harmless (romm#4557)."
            }
            Kind::Derived(Derived::Unknown) => {
                "The exception line above says what failed; the frames say where in RomM's login."
            }
            Kind::Derived(Derived::Unexplained) => {
                "The traceback that goes with it is not in what was read: it was before the window, or LOGLEVEL hides it."
            }
        }
    }

    fn check(self) -> Option<&'static str> {
        match self {
            Kind::Row(p) => Some(p.check),
            Kind::Derived(Derived::Replay) => Some(id::CONFIG_SESSION_COOKIE),
            Kind::Derived(_) => None,
        }
    }

    /// The status before later logins are taken into account.
    fn status(self) -> Status {
        match self {
            Kind::Row(_) => Status::Fail,
            Kind::Derived(_) => Status::Warn,
        }
    }

    /// Whether the finding names the stage: the row does not.
    fn names_stage(self) -> bool {
        match self {
            Kind::Row(p) => {
                matches!(&p.on, patterns::On::Exception { stages, .. } if stages.is_empty())
            }
            Kind::Derived(d) => d == Derived::Unknown,
        }
    }
}

/// One failure in the log.
#[derive(Debug)]
struct Incident {
    kind: Kind,
    stage: Option<Stage>,
    fix: String,
    /// The exception line or RomM's message, as logged.
    shown: String,
    /// Where `shown` comes from.
    via: &'static str,
    route: Option<&'static str>,
    time: Option<Stamp>,
    /// Its place among the log's events.
    order: usize,
    /// Read from uvicorn's access line, which nginx's repeats.
    uvicorn: bool,
}

#[derive(Default)]
struct Judge {
    pocket_id: bool,
    incidents: Vec<Incident>,
    order: usize,
    /// The last OIDC traceback, until its access line comes.
    pending: Option<usize>,
    /// Callback states that logged a user in.
    succeeded: HashSet<String>,
    /// Every code and state of the access lines: never shown.
    secrets: HashSet<String>,
    /// The status of the request RomM logged last.
    status: Option<u16>,
    /// The host RomM was connecting to (DEBUG).
    host: Option<String>,
    new_user: Option<String>,
    last_success: Option<(usize, Stamp)>,
    /// By rank (`Stage::rank`), the last event that shows a login got past
    /// it: a later stage's failure, a login redirect, a success.
    passed: [Option<(usize, Stamp)>; 8],
    last_restart: Option<(usize, Stamp)>,
    successes: usize,
    nginx: bool,
    info: bool,
}

impl Judge {
    fn event(&mut self, event: Event) {
        self.order += 1;
        match event {
            Event::Traceback(t) => self.traceback(t),
            Event::Line { header, time } => self.line(&header, time),
        }
    }

    fn traceback(&mut self, t: Traceback) {
        let Some(stage) = Stage::of(&t.frames) else {
            return;
        };
        let mut seen = Seen {
            frames: &t.frames,
            more: &t.more,
            host: self.host.take(),
            status: self.status.take(),
            pocket_id: self.pocket_id,
            new_user: self.new_user.clone(),
            ..Seen::default()
        };
        let row = t
            .exception
            .as_deref()
            .and_then(|e| patterns::match_exception(e, stage, &mut seen));
        let (kind, fix) = match row {
            Some(p) => (Kind::Row(p), p.fix(&seen)),
            None => (
                Kind::Derived(Derived::Unknown),
                "Read the traceback at that time in RomM's log: its exception line names the cause, its frames the step of the login.".to_string(),
            ),
        };
        self.pass(stage.rank() - 1, t.time.clone());
        let route = t.frames.iter().rev().find_map(|f| {
            if f.is("endpoints/auth.py", "login_via_openid") {
                Some(LOGIN_ROUTE)
            } else if f.is("endpoints/auth.py", "auth_openid") {
                Some(CALLBACK_ROUTE)
            } else {
                None
            }
        });
        // httpx names where a redirect went on the line after.
        let location = t
            .more
            .iter()
            .find(|l| l.starts_with("Redirect location: "))
            .map_or(String::new(), |l| format!("\n{l}"));
        self.pending = Some(self.incidents.len());
        self.push(Incident {
            kind,
            stage: Some(stage),
            fix,
            shown: t.exception.map_or_else(
                || "(the log ends before the exception line)".into(),
                |e| e + &location,
            ),
            via: LOGGED,
            route,
            time: t.time,
            order: self.order,
            uvicorn: false,
        });
    }

    fn line(&mut self, header: &Header, time: Option<Stamp>) {
        let message = header.message.as_str();
        if header.level == "INFO" {
            self.info = true;
        }
        match (header.module.as_str(), header.level.as_str()) {
            ("nginx", _) => {
                if let Some(c) = NGINX.captures(message) {
                    self.nginx = true;
                    let bytes = c[3].parse().ok();
                    self.access(&c[1], c[2].parse().unwrap_or(0), bytes, time, false);
                }
            }
            ("httptools_impl" | "h11_impl", _) => {
                if let Some(c) = UVICORN.captures(message) {
                    self.access(&c[1], c[2].parse().unwrap_or(0), None, time, true);
                }
            }
            ("_client", _) => {
                if let Some(c) = REQUEST.captures(message) {
                    self.status = c[1].parse().ok();
                    self.host = None;
                }
            }
            ("_trace", _) => {
                if let Some(c) = CONNECT.captures(message) {
                    self.host = Some(c[1].to_string());
                }
            }
            ("server", "INFO") if message.starts_with("Started server process") => {
                self.last_restart = time.map(|t| (self.order, t));
            }
            ("base_handler", "INFO") => {
                if message.starts_with("User successfully authenticated: ") {
                    self.successes += 1;
                    self.last_success = time.clone().map(|t| (self.order, t));
                    self.pass(7, time);
                } else if let Some(c) = NEW_USER.captures(message) {
                    self.new_user = Some(c[1].to_string());
                }
            }
            (module, level) => {
                let mut seen = Seen {
                    pocket_id: self.pocket_id,
                    ..Seen::default()
                };
                if let Some(p) = patterns::match_logged(module, level, message, &mut seen) {
                    if module == "base_handler" {
                        self.pass(Stage::Account.rank() - 1, time.clone());
                    }
                    self.push(Incident {
                        kind: Kind::Row(p),
                        stage: (module == "base_handler").then_some(Stage::Account),
                        fix: p.fix(&seen),
                        shown: message.to_string(),
                        via: LOGGED,
                        route: None,
                        time,
                        order: self.order,
                        uvicorn: false,
                    });
                }
            }
        }
    }

    /// An access line: its code and state are kept out of every finding, a
    /// 500 is matched with the traceback before it, and the answers RomM
    /// logs nothing else for become incidents.
    fn access(
        &mut self,
        uri: &str,
        status: u16,
        bytes: Option<u64>,
        time: Option<Stamp>,
        uvicorn: bool,
    ) {
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        let mut state = None;
        for pair in query.split('&') {
            let Some((key @ ("code" | "state"), raw)) = pair.split_once('=') else {
                continue;
            };
            let value: String = url::form_urlencoded::parse(format!("v={raw}").as_bytes())
                .next()
                .map_or_else(String::new, |(_, v)| v.into_owned());
            self.secrets.insert(raw.to_string());
            self.secrets.insert(value.clone());
            if key == "state" {
                state = Some(value);
            }
        }
        if ![LOGIN_ROUTE, CALLBACK_ROUTE].contains(&path) || uvicorn && status == 500 {
            return;
        }
        if path == LOGIN_ROUTE && status == 302 {
            self.pass(Stage::LoginRoute.rank(), time.clone());
        }
        if path == CALLBACK_ROUTE
            && status == 307
            && let Some(state) = &state
        {
            self.succeeded.insert(state.clone());
        }
        if status == 500 && bytes == Some(21) {
            match self.pending.take() {
                Some(i) => {
                    let replayed = state.is_some_and(|s| self.succeeded.contains(&s));
                    let incident = &mut self.incidents[i];
                    if replayed && incident.kind.name() == "callback.state" {
                        incident.kind = Kind::Derived(Derived::Replay);
                        incident.fix = "None needed: open RomM anew rather than going Back to the provider's page.".into();
                    }
                }
                None => self.push(Incident {
                    kind: Kind::Derived(Derived::Unexplained),
                    stage: None,
                    fix: "Read more of RomM's log (a longer --since, or LOGLEVEL=INFO or lower) to see the traceback of this 500.".into(),
                    shown: format!("GET {path} 500"),
                    via: ACCESS,
                    route: Some(if path == LOGIN_ROUTE { LOGIN_ROUTE } else { CALLBACK_ROUTE }),
                    time,
                    order: self.order,
                    uvicorn,
                }),
            }
            return;
        }
        if let Some(p) = patterns::match_access(path, status, bytes) {
            let stage = match p.on {
                patterns::On::Access { stage, .. } => stage,
                _ => unreachable!("match_access finds access rows"),
            };
            self.pass(stage.rank() - 1, time.clone());
            self.push(Incident {
                kind: Kind::Row(p),
                stage: Some(stage),
                fix: p.fix(&Seen::default()),
                shown: format!("GET {path} {status}"),
                via: ACCESS,
                route: None,
                time,
                order: self.order,
                uvicorn,
            });
        }
    }

    fn push(&mut self, incident: Incident) {
        self.incidents.push(incident);
    }

    /// A login got past `rank` at `time`.
    fn pass(&mut self, rank: u8, time: Option<Stamp>) {
        if let Some(time) = time
            && rank > 0
        {
            self.passed[usize::from(rank.min(7))] = Some((self.order, time));
        }
    }

    /// The last event after `order` that shows a login got past `stage`.
    fn passed_after(&self, order: usize, stage: Option<Stage>) -> Option<&Stamp> {
        let from = stage.map_or(7, Stage::rank);
        self.passed[usize::from(from)..]
            .iter()
            .flatten()
            .filter(|(at, _)| *at > order)
            .max_by_key(|(at, _)| *at)
            .map(|(_, time)| time)
    }

    /// The findings: one per kind of failure (pattern, stage and fix), in
    /// the order each first appeared; a pass or a warning when none.
    fn findings(mut self, scan: &parse::Scan, source: &str, notes: &[String]) -> Vec<Finding> {
        if self.nginx {
            // nginx's line repeats uvicorn's, and shows the body size.
            self.incidents.retain(|i| !i.uvicorn);
        }
        let mut groups: Vec<Vec<&Incident>> = Vec::new();
        for incident in &self.incidents {
            let same = |g: &&mut Vec<&Incident>| {
                let first = g[0];
                first.kind.name() == incident.kind.name()
                    && first.stage == incident.stage
                    && first.fix == incident.fix
            };
            match groups.iter_mut().find(same) {
                Some(group) => group.push(incident),
                None => groups.push(vec![incident]),
            }
        }
        if groups.is_empty() {
            return vec![self.nothing_failed(scan, source, notes)];
        }
        groups
            .iter()
            .map(|group| self.finding(group, source, notes))
            .collect()
    }

    fn finding(&self, group: &[&Incident], source: &str, notes: &[String]) -> Finding {
        let first = group[0];
        let last = group[group.len() - 1];
        let count = group.len();
        let when = |i: &Incident| {
            i.time
                .as_ref()
                .map_or("at an unknown time".to_string(), |t| t.to_string())
        };
        let stage = match (first.kind.names_stage(), first.stage) {
            (true, Some(stage)) => format!(" ({})", stage.name()),
            _ => String::new(),
        };
        let summary = format!(
            "{}{stage}: {count} time{}, last {}",
            first.kind.what(),
            if count == 1 { "" } else { "s" },
            when(last)
        );
        let mut detail = vec![format!("{}: {}", last.via, self.mask(&last.shown))];
        if let Some(stage) = last.stage {
            let route = last
                .route
                .map_or(String::new(), |r| format!(", answering GET {r}"));
            detail.push(format!("While {}{route}.", stage.doing()));
        }
        detail.push(first.kind.cause().to_string());
        if let Some(note) = first
            .stage
            .filter(|_| first.kind.names_stage())
            .and_then(Stage::note)
        {
            detail.push(note.to_string());
        }
        let clock = match last.time {
            Some(Stamp::Romm(_)) => " (RomM's clock: the container's TZ)",
            _ => "",
        };
        detail.push(if count == 1 {
            format!("Once in {source}, {}{clock}.", when(last))
        } else {
            format!(
                "{count} times in {source}: first {}, last {}{clock}.",
                when(first),
                when(last)
            )
        });
        let mut status = first.kind.status();
        if let Some((order, time)) = &self.last_success
            && *order > last.order
        {
            detail.push(format!(
                "A login succeeded after the last one ({time}): this may be fixed, or concern another user."
            ));
            status = status.min(Status::Warn);
        } else if let Some(time) = self.passed_after(last.order, last.stage) {
            detail.push(format!(
                "A later login got past this step ({time}): this may be fixed, or concern another user."
            ));
            status = status.min(Status::Warn);
        }
        if let Some((order, time)) = &self.last_restart
            && *order > last.order
        {
            detail.push(format!("RomM restarted after the last one ({time})."));
        }
        if let Some(check) = first.kind.check() {
            detail.push(format!(
                "romm-oidc doctor judges the same fault from here as {check}."
            ));
        }
        detail.extend(notes.iter().cloned());
        let finding = Finding::fail(ID, summary)
            .detail(detail.join("\n"))
            .fix(first.fix.clone())
            .data(serde_json::json!({
                "pattern": first.kind.name(),
                "stage": first.stage.map(Stage::name),
                "count": count,
                "first": first.time.as_ref().map(Stamp::text),
                "last": last.time.as_ref().map(Stamp::text),
            }));
        Finding { status, ..finding }
    }

    /// No failure: a pass that says what was read, or a warning when
    /// nothing of RomM's was.
    fn nothing_failed(&self, scan: &parse::Scan, source: &str, notes: &[String]) -> Finding {
        let mut detail = Vec::new();
        if scan.romm_lines == 0 {
            detail.push(format!(
                "None of its {} lines has the form of RomM's log (LEVEL: [RomM][module][date time] message), so nothing is proven about RomM's logins.",
                scan.lines
            ));
            detail.extend(notes.iter().cloned());
            return Finding::warn(ID, format!("{source} holds no line of RomM's log"))
                .detail(detail.join("\n"))
                .fix("Give RomM's container log, both streams: docker logs --since 24h <RomM's container> 2>&1 | romm-oidc explain");
        }
        let span = match (&scan.first, &scan.last) {
            (Some(first), Some(last)) => format!("{first} to {last}"),
            _ => "no time".into(),
        };
        let logins = format!(
            "{} successful login{}",
            self.successes,
            if self.successes == 1 { "" } else { "s" }
        );
        detail.push(format!(
            "Read {} lines of RomM's log, {span}: no OIDC traceback, no refusal RomM logs, no OIDC error answer in the access log.",
            scan.romm_lines
        ));
        if !self.info {
            detail.push("The log has no INFO lines (LOGLEVEL is WARNING or higher): a disabled user (401) or OIDC switched off (500) leaves no trace then.".into());
        }
        detail.extend(notes.iter().cloned());
        Finding::pass(
            ID,
            format!("No OIDC failure in {source} ({span}; {logins})"),
        )
        .detail(detail.join("\n"))
    }

    /// `text` with every code and state of the access lines replaced.
    fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in self.secrets.iter().filter(|s| s.len() >= 6) {
            out = out.replace(secret.as_str(), "***");
        }
        out
    }
}

#[cfg(test)]
mod tests;
