//! Runs the Pocket ID emulator until killed. Prints the issuer URL as the
//! first line on stdout (then the internal URL), for benchmark scripts and
//! manual runs.

use pocket_id_emulator::{Config, Emulator, Profile, SigningAlg, TokenFault};
use std::io::Write;
use std::time::Duration;

const USAGE: &str = "usage: pocket-id-emulator [--profile modern|legacy] [--alg RS256|RS384|RS512|ES256|ES384|ES512|EdDSA]
                          [--latency-ms N] [--client-id ID] [--client-secret SECRET] [--public] [--pkce]
                          [--callback URL]... [--tls] [--ca-out FILE] [--split-internal-url]
                          [--no-session] [--email-unverified] [--server-version X.Y.Z] [--api-key KEY]
                          [--id-token-fault FAULT]";

/// The usage text, with the ID-token faults listed.
fn usage() -> String {
    let faults: Vec<&str> = TokenFault::ALL.iter().map(|f| f.as_str()).collect();
    format!("{USAGE}\nFAULT: {}", faults.join("|"))
}

fn fail(message: &str) -> ! {
    eprintln!("pocket-id-emulator: {message}\n{}", usage());
    std::process::exit(2);
}

fn main() {
    let mut config = Config::default();
    let mut client = config.clients[0].clone();
    let mut callbacks: Vec<String> = Vec::new();
    let mut ca_out: Option<String> = None;
    let mut api_keys: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| fail(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--profile" => {
                let v = value();
                config.profile =
                    Profile::parse(&v).unwrap_or_else(|| fail(&format!("unknown profile {v}")));
            }
            "--alg" => {
                let v = value();
                config.alg =
                    SigningAlg::parse(&v).unwrap_or_else(|| fail(&format!("unknown alg {v}")));
            }
            "--latency-ms" => {
                let v = value();
                let ms: u64 = v
                    .parse()
                    .unwrap_or_else(|_| fail(&format!("bad --latency-ms {v}")));
                config.faults.latency = Duration::from_millis(ms);
            }
            "--id-token-fault" => {
                let v = value();
                config.faults.id_token = Some(
                    TokenFault::parse(&v)
                        .unwrap_or_else(|| fail(&format!("unknown ID-token fault {v}"))),
                );
            }
            "--client-id" => client.id = value(),
            "--client-secret" => client.secret = Some(value()),
            "--callback" => callbacks.push(value()),
            "--public" => {
                // Pocket ID stores PkceEnabled for every public client.
                client.is_public = true;
                client.pkce_enabled = true;
                client.secret = None;
            }
            "--pkce" => client.pkce_enabled = true,
            "--tls" => config.tls = true,
            "--ca-out" => ca_out = Some(value()),
            "--split-internal-url" => config.split_internal_url = true,
            "--no-session" => config.session_user = None,
            "--server-version" => config.version = Some(value()),
            "--api-key" => api_keys.push(value()),
            "--email-unverified" => {
                for user in &mut config.users {
                    user.email_verified = false;
                }
            }
            "-h" | "--help" => {
                println!("{}", usage());
                return;
            }
            other => fail(&format!("unknown flag {other}")),
        }
    }
    if !callbacks.is_empty() {
        client.callback_urls = callbacks;
    }
    config.clients = vec![client];
    // Each key belongs to the admin user "admin".
    for key in &api_keys {
        config = config.with_admin_api_key(key);
    }

    let emulator = Emulator::start(config).unwrap_or_else(|e| fail(&format!("cannot start: {e}")));
    if let (Some(path), Some(pem)) = (&ca_out, emulator.ca_pem())
        && let Err(e) = std::fs::write(path, pem)
    {
        fail(&format!("cannot write {path}: {e}"));
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", emulator.issuer());
    let _ = writeln!(out, "{}", emulator.internal_url());
    let _ = out.flush();
    drop(out);
    loop {
        std::thread::park();
    }
}
