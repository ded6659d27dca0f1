//! Raw loopback servers for what no HTTP framework sends: answers written byte by
//! byte by a case (lying lengths, no HTTP at all, a stall), or none at all.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The longest a connection is held or dripped into: a safety stop.
const HOLD_LIMIT: Duration = Duration::from_secs(30);

/// A listener on 127.0.0.1 that reads each request head and hands it, with the
/// connection, to the case's answer. Stops accepting when dropped.
pub struct Listener {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Listener {
    /// Starts a listener; `make` gets its base URL (`http://127.0.0.1:<port>`) and
    /// returns the answer. A connection that does not start with a request line (a TLS
    /// handshake) gets the answer at once, with an empty head.
    pub fn start<F>(make: impl FnOnce(&str) -> F) -> Listener
    where
        F: Fn(&str, &mut TcpStream) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let answer = Arc::new(make(&format!("http://127.0.0.1:{port}")));
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        thread::spawn(move || {
            while !stopped.load(Ordering::SeqCst) {
                let Ok((mut stream, _)) = listener.accept() else {
                    thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let answer = Arc::clone(&answer);
                thread::spawn(move || {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                    let head = read_head(&mut stream);
                    answer(&head, &mut stream);
                    let _ = stream.flush();
                });
            }
        });
        Listener { port, stop }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `<scheme>://127.0.0.1:<port>`.
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.port)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The request head, up to its blank line; empty when the first byte cannot start a
/// request line.
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) if head.is_empty() && !byte[0].is_ascii_uppercase() => break,
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A listener that accepts connections and never answers.
pub fn silent() -> Listener {
    Listener::start(|_| |_: &str, s: &mut TcpStream| hold(s))
}

/// Keeps a connection open without writing until the client hangs up.
pub fn hold(s: &mut TcpStream) {
    let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
    let started = Instant::now();
    let mut buf = [0u8; 64];
    while started.elapsed() < HOLD_LIMIT {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
}

/// Writes `piece` every `every` until the client hangs up.
pub fn drip(s: &mut TcpStream, piece: &[u8], every: Duration) {
    let started = Instant::now();
    while started.elapsed() < HOLD_LIMIT {
        if s.write_all(piece).and_then(|()| s.flush()).is_err() {
            break;
        }
        thread::sleep(every);
    }
}

/// Writes a whole HTTP/1.1 response: `status_and_headers` (`200 OK\r\nContent-Type:
/// …`), a `Content-Length`, `Connection: close` and `body`.
pub fn respond(s: &mut TcpStream, status_and_headers: &str, body: &[u8]) {
    let _ = s.write_all(
        format!(
            "HTTP/1.1 {status_and_headers}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    let _ = s.write_all(body);
}
