//! Free loopback ports for the listeners a case names before they start (the doctor's
//! `--listen`, a provider's exact callback, the RomM client double).

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicU16, Ordering};

/// A free port on 127.0.0.1 below the kernel's ephemeral range (32768+, where the
/// peers' `bind(0)` land), so no peer started meanwhile takes it before its user binds
/// it. No two calls in this process give the same port (until 10 000 calls wrap);
/// the start depends on the process id, so test processes running at once (other
/// checkouts) walk different ports. Never 8765-8769 (the doctor's default listener).
pub fn free_port() -> u16 {
    free_port_on(Ipv4Addr::LOCALHOST.into())
}

/// [`free_port`] on another loopback address (`::1`).
pub fn free_port_on(ip: IpAddr) -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 10_000 + (std::process::id() % 400) as u16 * 25;
    for _ in 0..2_000 {
        let port = base + NEXT.fetch_add(1, Ordering::SeqCst) % 10_000;
        if (8765..=8769).contains(&port) || port >= 32_768 {
            continue;
        }
        if TcpListener::bind((ip, port)).is_ok() {
            return port;
        }
    }
    panic!("no free port below the ephemeral range");
}
