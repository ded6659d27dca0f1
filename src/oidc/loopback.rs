//! The loopback redirect listener of `doctor --login`: bound to 127.0.0.1
//! only, it sends the browser from its root to the provider, then takes one
//! request on `/callback` and answers it with the real result.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use secrecy::SecretString;
use tiny_http::{Header, Response, Server};

use crate::report::Status;

/// Ports tried in order when --listen is not given, so a provider that needs
/// an exact callback URL can have it registered once.
pub const DEFAULT_PORTS: &[u16] = &[8765, 8766, 8767, 8768, 8769];

pub struct Listener {
    server: Server,
    pub port: u16,
}

/// What arrived on /callback; `{:?}` shows no code.
#[derive(Debug)]
pub enum Callback {
    Code(SecretString),
    ProviderError { error: String, description: String },
    WrongState { found: Option<String> },
    NoCode,
}

/// How the wait ended.
pub enum Waited<T> {
    Done(T),
    TimedOut { opened: bool },
    Cancelled,
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
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>romm-oidc: {title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}}\
         h1{{color:{color}}}pre{{white-space:pre-wrap}}</style></head><body><h1>{title}</h1>\
         <pre>{text}</pre><p>You can close this tab; the full report is in the terminal.</p></body></html>",
        title = escape(&page.title),
        text = escape(&page.text),
    )
}

fn respond(request: tiny_http::Request, status: u16, page: &Page) {
    let header =
        Header::from_bytes("Content-Type", "text/html; charset=utf-8").expect("static header");
    let _ = request.respond(
        Response::from_string(html(page))
            .with_status_code(status)
            .with_header(header),
    );
}

impl Listener {
    /// Binds `listen` (which must be a loopback address) or the first free
    /// default port on 127.0.0.1.
    pub fn bind(listen: Option<SocketAddr>) -> Result<Listener> {
        let candidates: Vec<SocketAddr> = match listen {
            Some(addr) if !addr.ip().is_loopback() => {
                bail!(
                    "--listen {addr}: the callback listener binds loopback addresses only (127.0.0.1)"
                )
            }
            Some(addr) => vec![addr],
            None => DEFAULT_PORTS
                .iter()
                .map(|p| SocketAddr::from((Ipv4Addr::LOCALHOST, *p)))
                .collect(),
        };
        let mut last = String::new();
        for addr in &candidates {
            match Server::http(addr) {
                Ok(server) => {
                    let port = server
                        .server_addr()
                        .to_ip()
                        .map(|a| a.port())
                        .unwrap_or(addr.port());
                    return Ok(Listener { server, port });
                }
                Err(e) => last = format!("{addr}: {e}"),
            }
        }
        bail!(
            "no callback port could be opened ({last}); free one of {DEFAULT_PORTS:?} or pass --listen 127.0.0.1:PORT"
        )
    }

    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/callback", self.port)
    }

    pub fn root_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Serves until one request reaches /callback, the deadline passes or
    /// `cancelled` is set. `/` redirects to `authorize_url`; anything else is
    /// refused. `handle` runs inside the callback request (the code exchange
    /// happens there) and returns the value and the page to show.
    pub fn wait<T>(
        self,
        authorize_url: &str,
        state: &str,
        deadline: Instant,
        cancelled: &AtomicBool,
        handle: impl FnOnce(Callback) -> (T, Page),
    ) -> Waited<T> {
        let mut opened = false;
        let server = self.server;
        loop {
            if cancelled.load(Ordering::SeqCst) {
                return Waited::Cancelled;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Waited::TimedOut { opened };
            }
            let request = match server.recv_timeout(left.min(Duration::from_millis(200))) {
                Ok(Some(r)) => r,
                Ok(None) | Err(_) => continue,
            };
            let url = url::Url::parse(&format!("http://127.0.0.1{}", request.url())).ok();
            let path = url
                .as_ref()
                .map(|u| u.path().to_string())
                .unwrap_or_default();
            let is_get = *request.method() == tiny_http::Method::Get;
            match (is_get, path.as_str()) {
                (true, "/") => {
                    opened = true;
                    let location = Header::from_bytes("Location", authorize_url)
                        .expect("URL is a valid header value");
                    let _ = request.respond(Response::empty(302).with_header(location));
                }
                (true, "/callback") => {
                    let query = |name: &str| {
                        url.as_ref().and_then(|u| {
                            u.query_pairs()
                                .find(|(k, _)| k == name)
                                .map(|(_, v)| v.into_owned())
                        })
                    };
                    let callback = match (query("state"), query("error"), query("code")) {
                        (found, _, _) if found.as_deref() != Some(state) => {
                            Callback::WrongState { found }
                        }
                        (_, Some(error), _) => Callback::ProviderError {
                            error,
                            description: query("error_description").unwrap_or_default(),
                        },
                        (_, None, Some(code)) => Callback::Code(code.into()),
                        _ => Callback::NoCode,
                    };
                    let refused = matches!(callback, Callback::WrongState { .. });
                    // One callback only: close the port before the exchange, so
                    // nothing else can reach the listener while it runs.
                    drop(server);
                    let (value, page) = handle(callback);
                    respond(request, if refused { 400 } else { 200 }, &page);
                    return Waited::Done(value);
                }
                _ => {
                    let page = Page {
                        status: Status::Fail,
                        title: "Not here".into(),
                        text: "This listener only answers GET / and GET /callback.".into(),
                    };
                    respond(request, 404, &page);
                }
            }
        }
    }
}
