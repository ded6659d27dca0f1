//! The loopback redirect listener of `doctor --login`, bound to a loopback
//! address only. Its root sends the browser to the provider; `/callback`
//! takes the one request that carries this run's `state` and answers it with
//! the real result. Any other request to `/callback` (another tab's or run's
//! state, none, a POST, some page's `<img>`) is answered 400 and counted, and
//! the wait goes on.
//!
//! Bounded whatever arrives: at most [`MAX_CONNECTIONS`] open connections (a
//! new one pushes out the oldest, so idle ones — a browser's preconnect, a
//! slow-loris — never hold the listener), a request head of at most
//! [`HEAD_LIMIT`] bytes read within [`HEAD_TIME`], no body ever read, one
//! request per connection, and the refused requests kept as a count and the
//! first [`KEPT_REFUSALS`] descriptions.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use secrecy::SecretString;

use crate::cli::Loopback;
use crate::http::hide_codes;
use crate::report::Status;

/// Ports tried in order when --listen is not given, so a provider that needs
/// an exact callback URL can have it registered once.
pub const DEFAULT_PORTS: &[u16] = &[8765, 8766, 8767, 8768, 8769];

/// The path the listener takes the callback on.
pub const CALLBACK_PATH: &str = "/callback";
/// The login test's callback as registered at the provider: port-less on
/// 127.0.0.1, which Pocket ID 2.x matches on any port (RFC 8252 §7.3).
pub const PORTLESS_CALLBACK: &str = "http://127.0.0.1/callback";

/// The callback URL on `authority` (`127.0.0.1:8765`, `[::1]`, `127.0.0.1:*`).
pub fn callback_url(authority: impl std::fmt::Display) -> String {
    format!("http://{authority}{CALLBACK_PATH}")
}

/// Open connections at most; a new one closes the oldest.
const MAX_CONNECTIONS: usize = 32;
/// The request line and headers, at most (a browser sends under 2 KiB).
const HEAD_LIMIT: usize = 16 * 1024;
/// Time for a connection to send its request head, from its opening.
const HEAD_TIME: Duration = Duration::from_secs(10);
/// Time for an answer to be taken by the client.
const WRITE_TIME: Duration = Duration::from_secs(2);
/// How long the loop sleeps when nothing happened.
const IDLE: Duration = Duration::from_millis(10);
/// Refused requests described in the report; the rest are only counted.
pub const KEPT_REFUSALS: usize = 10;

pub struct Listener {
    socket: TcpListener,
    addr: SocketAddr,
}

/// What the one callback carrying this run's state brought; `{:?}` shows no
/// code (it is a credential until it is exchanged).
#[derive(Debug)]
pub enum Callback {
    Code(SecretString),
    ProviderError { error: String, description: String },
    NoCode,
}

/// How the wait ended.
pub enum Waited<T> {
    Done(T),
    TimedOut { opened: bool },
    Cancelled,
}

/// The requests to `/callback` that were refused (never the code they
/// carried): how many, and what the first [`KEPT_REFUSALS`] were.
#[derive(Debug, Default)]
pub struct Refusals {
    pub count: u64,
    pub first: Vec<String>,
}

impl Refusals {
    fn add(&mut self, what: String) {
        self.count = self.count.saturating_add(1);
        if self.first.len() < KEPT_REFUSALS {
            self.first.push(what);
        }
    }
}

/// A small self-contained result page; the status colours its title.
pub struct Page {
    pub status: Status,
    pub title: String,
    pub text: String,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn html(page: &Page) -> String {
    let color = match page.status {
        Status::Pass => "#1a7f37",
        Status::Warn => "#9a6700",
        Status::Skip | Status::Fail => "#cf222e",
    };
    // A line each, in the page's font: a row that wraps hangs under its
    // mark, so it never reads as the next row.
    let lines: String = page
        .text
        .lines()
        .map(|line| format!("<div>{}</div>", escape(line)))
        .collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>romm-oidc: {title}</title>\
         <style>body{{font-family:system-ui,sans-serif;line-height:1.4;max-width:48rem;margin:4rem auto;padding:0 1rem}}\
         h1{{color:{color}}}.lines div{{white-space:pre-wrap;padding-left:1.5em;text-indent:-1.5em}}\
         .lines div:empty{{height:.7em}}</style></head><body><h1>{title}</h1>\
         <div class=\"lines\">{lines}</div><p>You can close this tab; the rest is in the terminal.</p></body></html>",
        title = escape(&page.title),
    )
}

/// Writes one whole answer and closes the connection.
fn respond(mut stream: TcpStream, status: u16, location: Option<&str>, page: Option<&Page>) {
    let reason = match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        404 => "Not Found",
        421 => "Misdirected Request",
        431 => "Request Header Fields Too Large",
        _ => "",
    };
    let body = page.map(html).unwrap_or_default();
    let location = location
        .map(|l| format!("Location: {l}\r\n"))
        .unwrap_or_default();
    let answer = format!(
        "HTTP/1.1 {status} {reason}\r\n{location}Content-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(WRITE_TIME));
    let _ = stream.write_all(answer.as_bytes());
    let _ = stream.shutdown(Shutdown::Write);
}

/// The request line and the Host header of a complete request head.
struct Head {
    method: String,
    target: String,
    host: Option<String>,
}

enum Polled {
    Pending,
    Head(Head),
    /// Not HTTP, or too large: answered with this status.
    Bad(u16),
    /// Closed, failed, or silent for too long: dropped without an answer.
    Gone,
}

struct Connection {
    stream: TcpStream,
    head: Vec<u8>,
    opened: Instant,
}

impl Connection {
    fn poll(&mut self) -> Polled {
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Polled::Gone,
                Ok(n) => {
                    self.head.extend_from_slice(&chunk[..n]);
                    let mut headers = [httparse::EMPTY_HEADER; 64];
                    let mut request = httparse::Request::new(&mut headers);
                    match request.parse(&self.head) {
                        Ok(httparse::Status::Complete(_)) => {
                            let host = request
                                .headers
                                .iter()
                                .find(|h| h.name.eq_ignore_ascii_case("host"))
                                .map(|h| String::from_utf8_lossy(h.value).into_owned());
                            return Polled::Head(Head {
                                method: request.method.unwrap_or_default().to_string(),
                                target: request.path.unwrap_or_default().to_string(),
                                host,
                            });
                        }
                        Ok(httparse::Status::Partial) if self.head.len() > HEAD_LIMIT => {
                            return Polled::Bad(431);
                        }
                        Ok(httparse::Status::Partial) => {}
                        Err(httparse::Error::TooManyHeaders) => return Polled::Bad(431),
                        Err(_) => return Polled::Bad(400),
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    return if self.opened.elapsed() > HEAD_TIME {
                        Polled::Gone
                    } else {
                        Polled::Pending
                    };
                }
                Err(_) => return Polled::Gone,
            }
        }
    }
}

/// Why a request to /callback is not this run's callback, or `None` when it is.
fn refusal(method: &str, url: &url::Url, state: &str) -> Option<String> {
    let has = |name: &str| url.query_pairs().any(|(k, _)| k == name);
    let carried: Vec<&str> = ["code", "error", "state"]
        .into_iter()
        .filter(|n| has(n))
        .collect();
    let carried = if carried.is_empty() {
        "no parameters".to_string()
    } else {
        format!("parameters {}", carried.join(", "))
    };
    let found = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned());
    // Compared in constant time: the state is what makes a callback this run's.
    let same = found.as_deref().is_some_and(|f| {
        aws_lc_rs::constant_time::verify_slices_are_equal(f.as_bytes(), state.as_bytes()).is_ok()
    });
    let problem = if method != "GET" {
        format!("a {method} (a callback is a GET)")
    } else if found.is_none() {
        "no state".to_string()
    } else if !same {
        "a state that is not this run's".to_string()
    } else {
        return None;
    };
    // The method is any token the client sent: only letters are shown.
    let method: String = method
        .chars()
        .filter(char::is_ascii_alphabetic)
        .take(16)
        .collect();
    Some(format!("{method} /callback with {problem} ({carried})"))
}

fn callback_of(url: &url::Url) -> Callback {
    let query = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    match (query("error"), query("code")) {
        (Some(error), _) => Callback::ProviderError {
            error,
            description: query("error_description").unwrap_or_default(),
        },
        (None, Some(code)) => Callback::Code(code.into()),
        (None, None) => Callback::NoCode,
    }
}

impl Listener {
    /// Binds `listen` or the first free default port on 127.0.0.1.
    pub fn bind(listen: Option<Loopback>) -> Result<Listener> {
        let candidates: Vec<SocketAddr> = match listen {
            Some(addr) => vec![addr.addr()],
            None => DEFAULT_PORTS
                .iter()
                .map(|p| Loopback::ipv4(*p).addr())
                .collect(),
        };
        let mut last = String::new();
        for addr in &candidates {
            let bound = TcpListener::bind(addr).and_then(|socket| {
                socket.set_nonblocking(true)?;
                let addr = socket.local_addr()?;
                Ok(Listener { socket, addr })
            });
            match bound {
                Ok(listener) => return Ok(listener),
                Err(e) => last = format!("{addr}: {e}"),
            }
        }
        bail!(
            "no callback port could be opened ({last}); free one of {DEFAULT_PORTS:?} or pass --listen 127.0.0.1:PORT"
        )
    }

    /// The bound address, `[::1]:PORT` for IPv6.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn redirect_uri(&self) -> String {
        callback_url(self.addr)
    }

    pub fn root_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Whether a Host header names this listener: its address, or localhost
    /// on its port. A page on another name that resolves here (DNS
    /// rebinding) is not answered.
    fn host_ok(&self, host: Option<&str>) -> bool {
        host.is_none_or(|h| {
            h.eq_ignore_ascii_case(&self.addr.to_string())
                || h.eq_ignore_ascii_case(&format!("localhost:{}", self.addr.port()))
        })
    }

    /// Serves until the callback with this run's `state` arrives, the
    /// deadline passes or `cancelled` is set. `/` redirects to
    /// `authorize_url`. `handle` runs inside the callback request (the code
    /// exchange happens there, the port already closed) and returns the
    /// value and the page to show. The refused requests to /callback come
    /// back however the wait ended. `log`, when given, takes a line for
    /// each request answered, codes hidden.
    pub fn wait<T>(
        self,
        authorize_url: &str,
        state: &str,
        deadline: Instant,
        cancelled: &AtomicBool,
        log: Option<&dyn Fn(&str)>,
        handle: impl FnOnce(Callback) -> (T, Page),
    ) -> (Waited<T>, Refusals) {
        let mut serving = Serving {
            listener: &self,
            authorize_url,
            state,
            log,
            opened: false,
            refusals: Refusals::default(),
            connections: Vec::new(),
        };
        let ended = serving.serve(deadline, cancelled);
        let Serving {
            opened,
            refusals,
            connections,
            ..
        } = serving;
        // One callback only: the port closes before the exchange, so
        // nothing else reaches the listener.
        drop(connections);
        drop(self);
        match ended {
            Ended::Callback(stream, url) => {
                let (value, page) = handle(callback_of(&url));
                respond(stream, 200, None, Some(&page));
                (Waited::Done(value), refusals)
            }
            Ended::TimedOut => (Waited::TimedOut { opened }, refusals),
            Ended::Cancelled => (Waited::Cancelled, refusals),
        }
    }
}

/// How serving ended: with this run's callback (its connection, answered
/// after the exchange, and its URL), or without one.
enum Ended {
    Callback(TcpStream, url::Url),
    TimedOut,
    Cancelled,
}

/// The listener while it serves: its open connections, and what it has seen.
struct Serving<'a> {
    listener: &'a Listener,
    authorize_url: &'a str,
    state: &'a str,
    log: Option<&'a dyn Fn(&str)>,
    /// The root was requested: a browser went to the provider.
    opened: bool,
    refusals: Refusals,
    connections: Vec<Connection>,
}

impl Serving<'_> {
    fn serve(&mut self, deadline: Instant, cancelled: &AtomicBool) -> Ended {
        loop {
            if cancelled.load(Ordering::SeqCst) {
                return Ended::Cancelled;
            }
            if Instant::now() >= deadline {
                return Ended::TimedOut;
            }
            let mut busy = self.accept();
            let mut i = 0;
            while i < self.connections.len() {
                let head = match self.connections[i].poll() {
                    Polled::Pending => {
                        i += 1;
                        continue;
                    }
                    Polled::Gone => {
                        self.connections.remove(i);
                        continue;
                    }
                    Polled::Bad(status) => {
                        busy = true;
                        respond(self.connections.remove(i).stream, status, None, None);
                        continue;
                    }
                    Polled::Head(head) => head,
                };
                busy = true;
                let stream = self.connections.remove(i).stream;
                if let Some((stream, url)) = self.answer(stream, &head) {
                    return Ended::Callback(stream, url);
                }
            }
            if !busy {
                std::thread::sleep(IDLE);
            }
        }
    }

    /// Takes every waiting connection; whether there was any.
    fn accept(&mut self) -> bool {
        let mut any = false;
        while let Ok((stream, _)) = self.listener.socket.accept() {
            any = true;
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            if self.connections.len() >= MAX_CONNECTIONS {
                // The oldest is the likeliest to be idle.
                self.connections.remove(0);
            }
            self.connections.push(Connection {
                stream,
                head: Vec::new(),
                opened: Instant::now(),
            });
        }
        any
    }

    fn log(&self, head: &Head, status: u16, why: &str) {
        if let Some(log) = self.log {
            log(&format!(
                "listener: {} {} → {status} ({why})",
                head.method,
                hide_codes(&head.target)
            ));
        }
    }

    /// Answers one request, unless it is this run's callback: that one
    /// comes back with its URL, unanswered.
    fn answer(&mut self, stream: TcpStream, head: &Head) -> Option<(TcpStream, url::Url)> {
        if !self.listener.host_ok(head.host.as_deref()) {
            self.log(head, 421, "another host name");
            respond(stream, 421, None, None);
            return None;
        }
        let Ok(url) = url::Url::parse("http://listener/").and_then(|b| b.join(&head.target)) else {
            self.log(head, 400, "not a URL");
            respond(stream, 400, None, None);
            return None;
        };
        match url.path() {
            "/" if head.method == "GET" => {
                self.opened = true;
                self.log(head, 302, "to the provider");
                respond(stream, 302, Some(self.authorize_url), None);
            }
            CALLBACK_PATH => match refusal(&head.method, &url, self.state) {
                Some(why) => {
                    self.log(head, 400, &why);
                    respond(stream, 400, None, Some(&refused_page(&why)));
                    self.refusals.add(why);
                }
                None => {
                    self.log(head, 200, "this run's callback");
                    return Some((stream, url));
                }
            },
            _ => {
                self.log(head, 404, "not / or /callback");
                let page = Page {
                    status: Status::Fail,
                    title: "Not here".into(),
                    text: "This listener only answers GET / and GET /callback.".into(),
                };
                respond(stream, 404, None, Some(&page));
            }
        }
        None
    }
}

fn refused_page(why: &str) -> Page {
    Page {
        status: Status::Fail,
        title: "Not this login's callback".into(),
        text: format!(
            "Refused: {why}.\nThis is not the callback the romm-oidc login test is waiting for (a stale tab, a replayed URL, or another page's request). Nothing was exchanged, and the login test goes on waiting for the tab it opened."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(q: &str) -> url::Url {
        url::Url::parse(&format!("http://127.0.0.1:1/callback{q}")).unwrap()
    }

    #[test]
    fn the_portless_callback_is_the_listeners_path_on_127_0_0_1() {
        assert_eq!(super::callback_url("127.0.0.1"), super::PORTLESS_CALLBACK);
    }

    #[test]
    fn only_a_get_with_this_runs_state_is_the_callback() {
        assert_eq!(refusal("GET", &url("?code=c&state=s1"), "s1"), None);
        assert_eq!(refusal("GET", &url("?error=x&state=s1"), "s1"), None);
        let forged = refusal("GET", &url("?code=SECRETCODE&state=s2"), "s1").unwrap();
        assert!(forged.contains("not this run's"), "{forged}");
        assert!(forged.contains("code, state"), "{forged}");
        assert!(
            !forged.contains("SECRETCODE") && !forged.contains("s2"),
            "{forged}"
        );
        let none = refusal("GET", &url("?code=c"), "s1").unwrap();
        assert!(none.contains("no state"), "{none}");
        let post = refusal("POST", &url("?code=c&state=s1"), "s1").unwrap();
        assert!(post.starts_with("POST /callback with a POST"), "{post}");
        let odd = refusal("G\u{1b}[2J", &url(""), "s1").unwrap();
        assert!(odd.starts_with("GJ /callback"), "{odd}");
    }

    #[test]
    fn an_error_with_the_right_state_ends_the_wait_with_it() {
        match callback_of(&url(
            "?error=access_denied&error_description=no&state=s&code=c",
        )) {
            Callback::ProviderError { error, description } => {
                assert_eq!(
                    (error.as_str(), description.as_str()),
                    ("access_denied", "no")
                )
            }
            _ => panic!("not a provider error"),
        }
        assert!(matches!(callback_of(&url("?state=s")), Callback::NoCode));
    }

    #[test]
    fn refusals_keep_a_count_and_the_first_few() {
        let mut r = Refusals::default();
        for i in 0..1000 {
            r.add(format!("attempt {i}"));
        }
        assert_eq!(r.count, 1000);
        assert_eq!(r.first.len(), KEPT_REFUSALS);
    }
}
