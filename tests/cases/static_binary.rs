//! The fully static binary that `dist/build-static` makes, run inside an otherwise
//! empty root: a temporary directory holding only the binary, `etc/hosts`,
//! `etc/resolv.conf` and a CA bundle, entered with `chroot`. A dynamic binary cannot
//! even start there (no `ld.so`, no libc), and the static one may not call
//! getaddrinfo (it looks names up with hickory's resolver; `SystemResolver` in
//! src/http.rs): an `etc/nsswitch.conf` of `hosts: dns` would keep a static
//! glibc's getaddrinfo from `etc/hosts`. Its report must equal the normal build's for the same names, the
//! normal build run with the same `etc/hosts` and `etc/resolv.conf` bind-mounted
//! over the system's in a mount namespace of its own (nothing outside the temporary
//! directory changes). The peers: the Pocket ID emulator with TLS from a private CA,
//! reached by a name from `etc/hosts`, and a name server on loopback that answers
//! every query "no such name".
//!
//! These tests need root (chroot, mount namespaces, port 53) and the static binary,
//! so they are ignored by a plain `cargo test`; `.ci/run` runs them after
//! `dist/build-static` with `cargo test --test cli static_binary -- --ignored`, and
//! then they fail, saying what to do, when the binary is missing.

use crate::cases::readme::{block_after, lines_in_order, readme};
use crate::support::prelude::*;
use std::net::{Ipv4Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use pocket_id_emulator::{Config, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Emulator, TlsChain};
use test_pki::{CaSpec, LeafSpec, leaf, root};

const HOW: &str = "build it with dist/build-static, then run cargo test --test cli static_binary -- --ignored (as root)";

/// The provider's name, known only from the root's `etc/hosts`.
const HOST: &str = "id.romm-oidc.test";
/// A name in no hosts file: only the name server is asked, and it knows none.
const NOWHERE: &str = "nowhere.romm-oidc.test";

/// Where dist/build-static puts the binary, beside this build's `target/debug`.
fn static_binary() -> PathBuf {
    let target = bin::path()
        .ancestors()
        .nth(2)
        .expect("the test binary lies in target/debug");
    let path = target.join("x86_64-unknown-linux-gnu/dist/romm-oidc");
    assert!(
        path.is_file(),
        "no static binary at {}: {HOW}",
        path.display()
    );
    path
}

/// A name server on a loopback address of its own, port 53, that answers every
/// query NXDOMAIN, or never answers, and counts them; it stops when dropped.
struct NameServer {
    addr: Ipv4Addr,
    queries: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NameServer {
    fn start(answers: bool) -> NameServer {
        let (socket, addr) = (1..=20)
            .map(|n| Ipv4Addr::new(127, 53, 17, n))
            .find_map(|addr| UdpSocket::bind((addr, 53)).ok().map(|s| (s, addr)))
            .unwrap_or_else(|| panic!("no loopback address 127.53.17.x has port 53 free: {HOW}"));
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("read timeout");
        let queries = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (counted, stopped) = (queries.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !stopped.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(answer) = nxdomain(&buf[..n]) {
                    counted.fetch_add(1, Ordering::Relaxed);
                    if answers {
                        let _ = socket.send_to(&answer, from);
                    }
                }
            }
        });
        NameServer {
            addr,
            queries,
            stop,
            thread: Some(thread),
        }
    }

    fn queries(&self) -> usize {
        self.queries.load(Ordering::Relaxed)
    }
}

impl Drop for NameServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The answer "no such name" (RFC 1035 §4.1.1, RCODE 3) to a query with one
/// question: its id and question, QR and RA set, RD as asked, no records.
fn nxdomain(query: &[u8]) -> Option<Vec<u8>> {
    if query.len() < 12 || query[4..6] != [0, 1] {
        return None;
    }
    let mut end = 12;
    while *query.get(end)? != 0 {
        end += 1 + usize::from(query[end]);
    }
    let question = query.get(12..end + 5)?;
    let mut answer = vec![query[0], query[1], 0x80 | (query[2] & 0x01), 0x83];
    answer.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    answer.extend_from_slice(question);
    Some(answer)
}

/// The otherwise empty root: the static binary, `etc/hosts` naming [`HOST`],
/// `etc/resolv.conf` naming `ns`, and `files` (path, contents).
fn empty_root(ns: &NameServer, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let at = |name: &str| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        path
    };
    std::fs::copy(static_binary(), at("romm-oidc")).expect("copy the static binary");
    let hosts = format!("127.0.0.1\tlocalhost\n127.0.0.1\t{HOST}\n");
    std::fs::write(at("etc/hosts"), hosts).expect("write etc/hosts");
    let resolv = format!("nameserver {}\n", ns.addr);
    std::fs::write(at("etc/resolv.conf"), resolv).expect("write etc/resolv.conf");
    for (name, contents) in files {
        std::fs::write(at(name), contents).expect("write a file of the root");
    }
    dir
}

/// `romm-oidc doctor --json` as `binary` inside `root` (`chroot`), or the normal
/// build with the root's name files over the system's and the root as working
/// directory; `env` added to an environment that holds only `PATH`.
fn doctor(root: &Path, chroot: bool, args: &Args, env: &[(&str, &str)]) -> (Value, Run) {
    doctor_within(root, chroot, "5", args, env)
}

/// [`doctor`] with `--timeout seconds`.
fn doctor_within(
    root: &Path,
    chroot: bool,
    seconds: &str,
    args: &Args,
    env: &[(&str, &str)],
) -> (Value, Run) {
    let mut c = if chroot {
        let mut c = Command::new("chroot");
        c.arg(root).arg("/romm-oidc");
        c
    } else {
        bin::with_name_files(root, bin::path())
    };
    process::clean(&mut c)
        .current_dir(root)
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .args(["doctor", "--json", "--timeout", seconds])
        .args(args.to_vec());
    sandbox::report(process::run(&mut c, RUN_LIMIT))
}

/// A name server that answers, the [`provider`], and an empty root with its CA
/// as `ca.pem`.
fn provider_in_root() -> (NameServer, Emulator, tempfile::TempDir) {
    let ns = NameServer::start(true);
    let (e, ca) = provider();
    let root = empty_root(&ns, &[("ca.pem", &ca)]);
    (ns, e, root)
}

/// The emulator on 127.0.0.1 serving a certificate for [`HOST`] from a private
/// CA, its issuer `https://HOST:PORT`; and that CA's PEM.
fn provider() -> (Emulator, String) {
    let ca = root(&CaSpec::default());
    let cert = leaf(Some(&ca), &LeafSpec::names(&[HOST, "127.0.0.1"]));
    let e = emulator::pocket_id(Config {
        tls_chain: Some(TlsChain {
            certs: vec![cert.der.clone()],
            key: cert.key_der.clone(),
        }),
        app_host: Some(HOST.to_string()),
        ..Config::default()
    });
    (e, ca.pem)
}

fn args(issuer: &str) -> Args {
    Args::new()
        .set("--issuer", issuer)
        .set("--client-id", DEFAULT_CLIENT_ID)
        .set("--client-secret", DEFAULT_CLIENT_SECRET)
        .set("--redirect-uri", ROMM_CALLBACK)
}

/// The checks' ids and statuses, for a readable first difference.
fn statuses(report: &Value) -> Vec<(String, String)> {
    checks(report)
        .iter()
        .map(|c| (c["id"].to_string(), c["status"].to_string()))
        .collect()
}

/// The two reports are equal but for the random `state` and `nonce` of the
/// authorization request `client.redirect-uri` sends (each run makes its own).
#[track_caller]
fn assert_same(static_report: &Value, normal: &Value) {
    assert_eq!(statuses(static_report), statuses(normal));
    let random = regex::Regex::new(r"rommoidcprobe[0-9A-Za-z]+").unwrap();
    let fixed = |report: &Value| {
        random
            .replace_all(&report.to_string(), "rommoidcprobe(random)")
            .into_owned()
    };
    assert_eq!(
        fixed(static_report),
        fixed(normal),
        "the static binary's report differs from the normal build's"
    );
}

#[test]
#[ignore = "needs root and dist/build-static's binary: .ci/run runs it"]
fn in_an_empty_root_the_static_binary_reports_what_the_normal_build_reports() {
    let (ns, e, root) = provider_in_root();
    // Leaves /etc/hosts out of getaddrinfo's sources: a static glibc's
    // getaddrinfo would ask the name server alone and find nothing. The static
    // binary reads /etc/hosts all the same, as musl in RomM's container does.
    let nsswitch = root.path().join("etc/nsswitch.conf");
    std::fs::write(nsswitch, "hosts: dns\n").expect("write etc/nsswitch.conf");
    let issuer = e.issuer();
    assert!(issuer.starts_with(&format!("https://{HOST}:")), "{issuer}");
    // The CA as RomM gets it; a relative path names the root's file in both runs.
    let env = [("OIDC_TLS_CACERTFILE", "ca.pem")];
    let (found, run) = doctor(root.path(), true, &args(&issuer), &env);
    let (normal, _) = doctor(root.path(), false, &args(&issuer), &env);
    // The name was found in etc/hosts, the chain checked against the private CA,
    // and every check of the provider ran: a report worth comparing.
    for id in [
        "discovery.fetch",
        "discovery.issuer",
        "jwks.keys",
        "client.credentials",
    ] {
        expect_status(&found, id, &["pass"]);
    }
    expect_status(&found, "tls.ca-file", &["pass"]);
    assert_eq!(run.code, 0, "{}", run.show());
    assert_same(&found, &normal);
    assert_eq!(ns.queries(), 0, "a name in etc/hosts needs no name server");
}

#[test]
#[ignore = "needs root and dist/build-static's binary: .ci/run runs it"]
fn in_an_empty_root_a_name_that_does_not_resolve_is_the_same_finding() {
    let (ns, e, root) = provider_in_root();
    let issuer = e.issuer().replace(HOST, NOWHERE);
    let env = [("OIDC_TLS_CACERTFILE", "ca.pem")];
    let (found, _) = doctor(root.path(), true, &args(&issuer), &env);
    let asked = ns.queries();
    assert!(asked > 0, "the static binary never asked the name server");
    let (normal, _) = doctor(root.path(), false, &args(&issuer), &env);
    assert!(ns.queries() > asked, "the normal build never asked it");
    let not_found = format!("host {NOWHERE} not found");
    has(&found, "discovery.fetch", "fail", &[&not_found]);
    assert_same(&found, &normal);
}

#[test]
#[ignore = "needs root and dist/build-static's binary: .ci/run runs it"]
fn inside_romm_container_its_own_bundle_is_trusted_and_nowhere_else() {
    let ns = NameServer::start(true);
    let (e, ca) = provider();
    // RomM's image: its code in /backend (on PYTHONPATH), Alpine's OpenSSL
    // default file /etc/ssl/cert.pem, here holding the private CA.
    let romm = [("backend/main.py", ""), ("etc/ssl/cert.pem", ca.as_str())];
    let python_path = [("PYTHONPATH", "/backend")];
    let inside = empty_root(&ns, &romm);
    let (found, run) = doctor(inside.path(), true, &args(&e.issuer()), &python_path);
    expect_status(&found, "discovery.fetch", &["pass"]);
    has(
        &found,
        "tls.ca-file",
        "skip",
        &["RomM's container bundle /etc/ssl/cert.pem (1)"],
    );
    assert_eq!(run.code, 0, "{}", run.show());
    // The same bundle outside RomM's container is only this machine's: RomM
    // never reads it, so neither does the doctor.
    let elsewhere = empty_root(&ns, &[("etc/ssl/cert.pem", ca.as_str())]);
    let (found, _) = doctor(elsewhere.path(), true, &args(&e.issuer()), &python_path);
    has(&found, "discovery.fetch", "fail", &["certificate"]);
    let source = text(check(&found, "tls.ca-file"));
    assert!(!source.contains("/etc/ssl/cert.pem"), "{source}");
}

#[test]
#[ignore = "needs root and dist/build-static's binary: .ci/run runs it"]
fn in_an_empty_root_a_silent_name_server_ends_the_run_at_the_deadline() {
    let ns = NameServer::start(false);
    let root = empty_root(&ns, &[]);
    let issuer = format!("https://{NOWHERE}");
    let timeout = Duration::from_secs(2);
    let (found, run) = doctor_within(root.path(), true, "2", &args(&issuer), &[]);
    assert!(
        ns.queries() > 0,
        "the static binary never asked the name server"
    );
    eprintln!(
        "a silent name server: the static binary's run took {:?}",
        run.elapsed
    );
    assert!(
        run.elapsed >= timeout && run.elapsed <= timeout + Duration::from_secs(3),
        "the run took {:?} with --timeout {timeout:?}",
        run.elapsed
    );
    has(&found, "discovery.fetch", "fail", &["timed out"]);
    let (normal, _) = doctor_within(root.path(), false, "2", &args(&issuer), &[]);
    assert_same(&found, &normal);
}

/// README's "Install" transcript is the static binary's output in the empty
/// root, run as it says (the emulator's port shown as 1411; `…` stands for
/// lines left out).
#[test]
#[ignore = "needs root and dist/build-static's binary: .ci/run runs it"]
fn the_readme_transcript_is_the_static_binarys_output() {
    let text = readme();
    let block = block_after(&text, "<!-- static transcript -->", "```");
    let (command, expected) = block.split_first().expect("a command line");
    let words: Vec<&str> = command
        .strip_prefix("$ ")
        .expect("a command")
        .split_whitespace()
        .collect();
    let at = words.iter().position(|w| *w == "chroot").expect("chroot");
    let env: Vec<(&str, &str)> = words[..at]
        .iter()
        .map(|w| w.split_once('=').expect("VAR=value before chroot"))
        .collect();
    assert_eq!(words[at + 1..at + 3], ["root", "/romm-oidc"], "{command}");
    let (_ns, e, root) = provider_in_root();
    let port = e.port().to_string();
    let mut c = Command::new("chroot");
    process::clean(&mut c)
        .env("NO_COLOR", "1")
        .envs(env)
        .arg(root.path())
        .arg("/romm-oidc")
        .args(words[at + 3..].iter().map(|w| w.replace("1411", &port)));
    let run = process::run(&mut c, RUN_LIMIT);
    assert_eq!(run.code, 0, "{}", run.show());
    let out = run.stdout.replace(&format!(":{port}"), ":1411");
    lines_in_order(expected, &out);
}
