//! RomM's log, line by line: the prefixes `docker logs -t` and `docker
//! compose logs` add, ANSI colours, RomM's header line, and each traceback
//! grouped into one event with its frames and exception line.
//!
//! The format is RomM 5.2's (`backend/logger/formatter.py`): `LEVEL:` then
//! padding (a tab and spaces, or spaces for nginx, gunicorn and init lines),
//! `[RomM][module][YYYY-MM-DD HH:MM:SS]`, the message. A line that is not a
//! header continues the record before it: traceback frames, the exception
//! line, a message's further lines.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

/// The longest line read whole, Docker's own chunk size; the rest of a
/// longer line is left out.
pub const LINE_LIMIT: usize = 16 * 1024;
/// The most frames kept of one traceback (RomM's longest have about 75).
const FRAME_LIMIT: usize = 1000;
/// The lines kept after an exception line: httpx's redirect location,
/// PostgreSQL's `DETAIL:`, never SQLAlchemy's parameters (the fourth line).
const MORE_LIMIT: usize = 2;

/// The message uvicorn logs before the traceback of a failed request.
pub const ASGI_HEAD: &str = "Exception in ASGI application";

static DOCKER_TS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d{1,9})?(Z|[+-]\d{2}:\d{2}) ").unwrap()
});
static COMPOSE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\s+\| ?").unwrap());
static ANSI: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\x1b\[[0-9;?]*[ -/]*[@-~]").unwrap());
static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|TRACE):[ \t]+\[RomM\]\[([^\]\[]+)\]\[(\d{4}-\d{2}-\d{2})(?: (\d{2}:\d{2}:\d{2})?)?\] ?(.*)$",
    )
    .unwrap()
});
static FRAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^  File "([^"]+)", line \d+, in (.+)$"#).unwrap());

/// When a line was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stamp {
    /// `docker logs -t`'s stamp, to the second: UTC for Docker's own log
    /// driver.
    Docker(String),
    /// RomM's own: the container's local time (`TZ`), without a zone; only
    /// the date on nginx lines west of UTC.
    Romm(String),
}

impl Stamp {
    pub fn text(&self) -> &str {
        match self {
            Stamp::Docker(t) | Stamp::Romm(t) => t,
        }
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// A header line: `LEVEL: [RomM][module][time] message`.
#[derive(Debug)]
pub struct Header {
    pub level: String,
    /// RomM's module label, or `nginx`, `gunicorn`, `init`.
    pub module: String,
    pub message: String,
}

/// One frame of a traceback: where, not what (source lines are never read).
#[derive(Debug)]
pub struct Frame {
    pub path: String,
    pub function: String,
}

impl Frame {
    /// Whether the frame is in `function` of a file whose path ends with the
    /// path components `suffix`.
    pub fn is(&self, suffix: &str, function: &str) -> bool {
        self.function == function && self.in_file(suffix)
    }

    pub fn in_file(&self, suffix: &str) -> bool {
        self.path == suffix
            || self
                .path
                .strip_suffix(suffix)
                .is_some_and(|head| head.ends_with('/'))
    }
}

/// A traceback: the frames of its last section (the one Python raised
/// last) and its exception line.
#[derive(Debug, Default)]
pub struct Traceback {
    pub time: Option<Stamp>,
    pub frames: Vec<Frame>,
    /// `module.Class: message`, trailing spaces trimmed; `None` when the
    /// log ends before it.
    pub exception: Option<String>,
    /// The message's further lines, a few at most.
    pub more: Vec<String>,
}

impl Traceback {
    fn feed(&mut self, line: &str) {
        if line.starts_with("Traceback (most recent call last):") {
            self.frames.clear();
            self.exception = None;
            self.more.clear();
        } else if let Some(c) = FRAME.captures(line) {
            if self.exception.is_some() {
                self.exception = None;
                self.more.clear();
            }
            if self.frames.len() < FRAME_LIMIT {
                self.frames.push(Frame {
                    path: c[1].to_string(),
                    function: c[2].to_string(),
                });
            }
        } else if line.starts_with(' ') || line.trim().is_empty() {
            // Source, carets, `...<n lines>...`: never read.
        } else if self.exception.is_none() {
            if !self.frames.is_empty() {
                self.exception = Some(line.trim_end().to_string());
            }
        } else if self.more.len() < MORE_LIMIT {
            self.more.push(line.trim_end().to_string());
        }
    }
}

#[derive(Debug)]
pub enum Event {
    /// A header line that starts no traceback.
    Line {
        header: Header,
        time: Option<Stamp>,
    },
    Traceback(Traceback),
}

/// What the whole text held, for the finding that says what was read.
#[derive(Debug, Default)]
pub struct Scan {
    pub lines: usize,
    /// Lines in RomM's format.
    pub romm_lines: usize,
    pub first: Option<Stamp>,
    pub last: Option<Stamp>,
}

/// A line without its prefixes and colours, and the time docker gave it.
struct Clean {
    docker: Option<Stamp>,
    text: String,
}

fn clean(raw: &str) -> Clean {
    let mut line = raw.strip_suffix('\r').unwrap_or(raw);
    if line.len() > LINE_LIMIT {
        let mut end = LINE_LIMIT;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line = &line[..end];
    }
    if let Some(m) = COMPOSE.find(line) {
        line = &line[m.end()..];
    }
    let mut docker = None;
    if let Some(c) = DOCKER_TS.captures(line) {
        docker = Some(Stamp::Docker(format!("{}{}", &c[1], &c[2])));
        line = &line[c.get(0).map_or(0, |m| m.end())..];
    }
    let text = if line.contains('\x1b') {
        ANSI.replace_all(line, "").into_owned()
    } else {
        line.to_string()
    };
    Clean { docker, text }
}

/// Reads `text` and hands each event to `on`, in the log's order.
pub fn scan(text: &str, mut on: impl FnMut(Event)) -> Scan {
    let mut scan = Scan::default();
    let mut open: Option<Traceback> = None;
    let mut last_time: Option<Stamp> = None;
    for raw in text.lines() {
        scan.lines += 1;
        let Clean { docker, text } = clean(raw);
        let Some(c) = HEADER.captures(&text) else {
            match &mut open {
                Some(block) => {
                    if block.time.is_none() {
                        block.time = docker;
                    }
                    block.feed(&text);
                }
                None if text.starts_with("Traceback (most recent call last):") => {
                    open = Some(Traceback {
                        time: docker.or_else(|| last_time.clone()),
                        ..Traceback::default()
                    });
                }
                // The log starts inside a traceback (cut by `--since`).
                None if scan.romm_lines == 0 && FRAME.is_match(&text) => {
                    let mut block = Traceback {
                        time: docker,
                        ..Traceback::default()
                    };
                    block.feed(&text);
                    open = Some(block);
                }
                None => {}
            }
            continue;
        };
        let romm = match (c.get(3), c.get(4)) {
            (Some(d), Some(t)) => Stamp::Romm(format!("{} {}", d.as_str(), t.as_str())),
            (Some(d), None) => Stamp::Romm(d.as_str().to_string()),
            _ => unreachable!("the date is not optional"),
        };
        let time = docker.unwrap_or(romm);
        scan.romm_lines += 1;
        scan.first.get_or_insert_with(|| time.clone());
        scan.last = Some(time.clone());
        last_time = Some(time.clone());
        let header = Header {
            level: c[1].to_string(),
            module: c[2].to_string(),
            message: c.get(5).map_or("", |m| m.as_str()).to_string(),
        };
        if let Some(block) = &mut open
            && block.time.is_none()
        {
            block.time = Some(time.clone());
        }
        let head = header.level == "ERROR" && header.message == ASGI_HEAD;
        // A header inside a traceback that has no exception line yet is
        // another process writing in between: the traceback goes on.
        if (head || open.as_ref().is_some_and(|b| b.exception.is_some()))
            && let Some(block) = open.take()
        {
            on(Event::Traceback(block));
        }
        if head {
            open = Some(Traceback {
                time: Some(time),
                ..Traceback::default()
            });
        } else {
            on(Event::Line {
                header,
                time: Some(time),
            });
        }
    }
    if let Some(block) = open {
        on(Event::Traceback(block));
    }
    scan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Vec<Event>, Scan) {
        let mut out = Vec::new();
        let scan = scan(text, |e| out.push(e));
        (out, scan)
    }

    const COLOURED: &str = "\x1b[91mERROR\x1b[39m:\t  \x1b[34m[RomM]\x1b[95m[base_handler]\x1b[36m[2026-12-05 22:00:10] \x1b[0mEmail is missing from token.";

    #[test]
    fn a_header_is_read_with_or_without_colour_and_padding() {
        let plain =
            "ERROR:\t  [RomM][base_handler][2026-12-05 22:00:10] Email is missing from token.";
        let warning = "WARNING:  [RomM][auth][2026-12-05 22:00:10] Failed to load OIDC server metadata for RP-Initiated Logout";
        let nginx = "INFO:     [RomM][nginx][2026-12-05 ] 172.18.0.1 | - | GET /api/login/openid 302 | 0 | Firefox Linux | 0.006";
        for (line, module, time) in [
            (COLOURED, "base_handler", "2026-12-05 22:00:10"),
            (plain, "base_handler", "2026-12-05 22:00:10"),
            (warning, "auth", "2026-12-05 22:00:10"),
            (nginx, "nginx", "2026-12-05"),
        ] {
            let (events, scan) = read(line);
            let [
                Event::Line {
                    header,
                    time: Some(Stamp::Romm(t)),
                },
            ] = &events[..]
            else {
                panic!("{line}: {events:?}");
            };
            assert_eq!((header.module.as_str(), t.as_str()), (module, time));
            assert_eq!(scan.romm_lines, 1);
        }
        let (events, _) = read(COLOURED);
        let Event::Line { header, .. } = &events[0] else {
            panic!()
        };
        assert_eq!(header.message, "Email is missing from token.");
    }

    #[test]
    fn docker_and_compose_prefixes_give_the_time_and_crlf_is_dropped() {
        let line = format!("romm  | 2026-12-05T20:21:49.381558819Z {COLOURED}\r");
        let (events, scan) = read(&line);
        let Event::Line { header, time } = &events[0] else {
            panic!()
        };
        assert_eq!(time, &Some(Stamp::Docker("2026-12-05T20:21:49Z".into())));
        assert_eq!(header.message, "Email is missing from token.");
        assert_eq!(scan.first, scan.last);
        let zoned = "2026-12-05T21:21:49.5+01:00 ERROR:\t  [RomM][x][2026-12-05 21:21:49] m";
        let (events, _) = read(zoned);
        assert!(
            matches!(&events[0], Event::Line { time: Some(Stamp::Docker(t)), .. } if t == "2026-12-05T21:21:49+01:00")
        );
    }

    #[test]
    fn not_romms_lines_are_counted_but_not_read() {
        let (events, scan) = read(
            "2026/12/05 19:42:07 [error] 35#35: *1 connect() failed\nhello\nINFO: [Other][x][2026-12-05 22:00:10] m",
        );
        assert!(events.is_empty());
        assert_eq!((scan.lines, scan.romm_lines), (3, 0));
    }

    const TRACE: &str = r#"ERROR:	  [RomM][httptools_impl][2026-12-05 20:21:49] Exception in ASGI application
Traceback (most recent call last):
  File "/backend/endpoints/auth.py", line 264, in login_via_openid
  File "/src/.venv/lib/python3.13/site-packages/authlib/integrations/base_client/async_app.py", line 79, in load_server_metadata
    resp = await client.request(
    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^
httpx.HTTPStatusError: Redirect response '301 Moved Permanently' for url 'http://id.example.com/.well-known/openid-configuration'
Redirect location: 'https://id.example.com/.well-known/openid-configuration'
For more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/301
INFO:     [RomM][nginx][2026-12-05 20:21:50] 172.18.0.1 | - | GET /api/login/openid 500 | 21 | Firefox Linux | 1.2"#;

    #[test]
    fn a_traceback_is_one_event_with_its_frames_exception_and_next_line() {
        let (events, _) = read(TRACE);
        let [Event::Traceback(t), Event::Line { header, .. }] = &events[..] else {
            panic!("{events:?}")
        };
        assert_eq!(header.module, "nginx");
        assert_eq!(t.time, Some(Stamp::Romm("2026-12-05 20:21:49".into())));
        let frames: Vec<&str> = t.frames.iter().map(|f| f.function.as_str()).collect();
        assert_eq!(frames, ["login_via_openid", "load_server_metadata"]);
        assert!(t.frames[0].is("endpoints/auth.py", "login_via_openid"));
        assert!(!t.frames[0].is("points/auth.py", "login_via_openid"));
        assert!(
            t.exception
                .as_deref()
                .unwrap()
                .starts_with("httpx.HTTPStatusError: Redirect")
        );
        assert_eq!(
            t.more,
            [
                "Redirect location: 'https://id.example.com/.well-known/openid-configuration'",
                "For more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/301"
            ]
        );
    }

    #[test]
    fn a_traceback_cut_at_the_head_is_read_and_timed_by_the_next_line() {
        let cut = TRACE.lines().skip(3).collect::<Vec<_>>().join("\n");
        let (events, scan) = read(&cut);
        let [Event::Traceback(t), Event::Line { .. }] = &events[..] else {
            panic!("{events:?}")
        };
        assert_eq!(t.time, Some(Stamp::Romm("2026-12-05 20:21:50".into())));
        assert!(t.exception.is_some());
        assert_eq!(scan.romm_lines, 1);
    }

    #[test]
    fn a_chained_traceback_keeps_its_last_section_and_a_line_in_between_does_not_end_it() {
        let text = r#"ERROR:	  [RomM][httptools_impl][2026-12-05 20:21:49] Exception in ASGI application
Traceback (most recent call last):
  File "/a.py", line 1, in first
OSError: [Errno 111] Connection refused

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/b.py", line 2, in second
INFO:     [RomM][nginx][2026-12-05 20:21:49] 172.18.0.1 | - | GET /x 200 | 1 | - | 0.1
  File "/c.py", line 3, in third
httpx.ConnectError: All connection attempts failed"#;
        let (events, _) = read(text);
        let [Event::Line { .. }, Event::Traceback(t)] = &events[..] else {
            panic!("{events:?}")
        };
        let frames: Vec<&str> = t.frames.iter().map(|f| f.function.as_str()).collect();
        assert_eq!(frames, ["second", "third"]);
        assert_eq!(
            t.exception.as_deref(),
            Some("httpx.ConnectError: All connection attempts failed")
        );
    }

    #[test]
    fn a_traceback_the_log_ends_in_has_no_exception_and_long_lines_are_cut() {
        let (events, _) = read(&TRACE.lines().take(3).collect::<Vec<_>>().join("\n"));
        let [Event::Traceback(t)] = &events[..] else {
            panic!("{events:?}")
        };
        assert_eq!((t.frames.len(), t.exception.as_deref()), (1, None));
        let long = format!(
            "ERROR:\t  [RomM][x][2026-12-05 20:21:49] {}é",
            "a".repeat(LINE_LIMIT)
        );
        let (events, _) = read(&long);
        let Event::Line { header, .. } = &events[0] else {
            panic!()
        };
        assert!(header.message.len() < LINE_LIMIT && header.message.ends_with('a'));
    }
}
