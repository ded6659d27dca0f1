//! `doctor --redact-hosts`: every host name, IP address and email address the
//! run prints (stdout and stderr) replaced by a stable placeholder, so that a
//! report can be pasted where anyone can read it.
//!
//! The rule (README "Asking for help" says the same):
//! - a name's registrable domain (the label before its public suffix, by the
//!   Public Suffix List) becomes `example-N`; the labels left of it stay, so
//!   `id.mydomain.com` and `romm.mydomain.com` become `id.example-1` and
//!   `romm.example-1`, and `johnsmith.duckdns.org` (duckdns.org is on the list)
//!   becomes `example-2`;
//! - a name without one (a single label such as a compose service `pocket-id`,
//!   or a public suffix itself) becomes `host-N`;
//! - `localhost`, `*.localhost` and loopback, private, link-local and
//!   unspecified addresses stay: they name no one, and a helper needs them;
//!   every other IP address becomes `ip-N`;
//! - an email address becomes `user-N@` and its domain's placeholder; the
//!   same address in another case is the same user, as RomM matches them;
//! - N counts in the order of first appearance in the run: the same name
//!   always gets the same placeholder, different names different ones.
//!
//! What counts as a host in printed text: a name after `//` (also percent-
//! encoded, `%2F%2F`), any name seen there before or given in the settings,
//! any other dotted name whose last label the list knows as a suffix or
//! ends a host of the run (`.lan` once `https://id.nas.lan` was seen),
//! except the doctor's check ids (`login.email`), file names whose
//! extension is also a top-level domain (`.py`, `.rs`, `.md`, `.sh`, `.so`)
//! and RomM's scopes (`users.read`).
//! A whole name is matched, never part of one: `notromm.example.com` is not
//! `romm.example.com`.

use std::borrow::Cow;
use std::collections::HashSet;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{LazyLock, Mutex, OnceLock};

use regex::{Captures, Regex};

use crate::checks::id;

/// Last labels of dotted names in reports that are not hosts but are also
/// top-level domains: file extensions, and RomM's scope verb (`users.read`).
const NOT_HOSTS: &[&str] = &["py", "rs", "md", "sh", "so", "read"];

/// The placeholders of one run.
#[derive(Debug, Default)]
pub struct Redactor {
    /// Registrable domains, lowercase, numbered by position.
    domains: Vec<String>,
    /// Names with no registrable domain.
    names: Vec<String>,
    ips: Vec<IpAddr>,
    /// Email addresses, lowercase.
    emails: Vec<String>,
    /// Names known to be hosts: seen after `//` or given.
    hosts: HashSet<String>,
}

/// An email address (also with `%40`), an IPv6 address, or a word or dotted
/// name, whole: a match never starts or ends inside a name.
static TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?P<email>[a-z0-9._+-]+(?:@|%40)",
        r"(?P<domain>[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+))",
        r"|(?P<ip6>[0-9a-f]*:[0-9a-f:]*:[0-9a-f.:]*)",
        r"|(?P<name>[a-z0-9_-]+(?:\.[a-z0-9_-]+)*)",
    ))
    .expect("a valid pattern")
});

impl Redactor {
    /// Counts the dotted names of `text` after `//` as hosts wherever they
    /// appear later. (A single label is a host only after `//`: a compose
    /// service `pocket-id` is also the value of `OIDC_PROVIDER`.)
    pub fn learn(&mut self, text: &str) {
        for c in TOKEN.captures_iter(text) {
            if let Some(m) = c.name("name")
                && m.as_str().contains('.')
                && after_slashes(text, m.start())
            {
                self.hosts.insert(m.as_str().to_ascii_lowercase());
            }
        }
    }

    /// `text` with every host name, IP address and email replaced, numbered
    /// in the order they appear.
    pub fn text(&mut self, text: &str) -> String {
        self.learn(text);
        TOKEN
            .replace_all(text, |c: &Captures<'_>| {
                let all = c.get(0).expect("the match");
                let (lead, found) = split_escape(text, all.start(), all.as_str());
                let replaced = if let Some(domain) = c.name("domain") {
                    Some(self.email(found, &domain.as_str().to_ascii_lowercase()))
                } else if c.name("ip6").is_some() {
                    match found.parse::<Ipv6Addr>() {
                        Ok(ip) => self.ip(IpAddr::V6(ip)),
                        Err(_) => None,
                    }
                } else if let Ok(ip) = found.parse::<IpAddr>() {
                    self.ip(ip)
                } else if self.is_host(text, all.start() + lead.len(), found) {
                    self.host(&found.to_ascii_lowercase())
                } else {
                    None
                };
                format!("{lead}{}", replaced.as_deref().unwrap_or(found))
            })
            .into_owned()
    }

    /// `user-N@` (or `%40`) and the domain's placeholder.
    fn email(&mut self, address: &str, domain: &str) -> String {
        if placeholder(domain) {
            return address.to_string();
        }
        let at = &address[..address.len() - domain.len()];
        let at = if at.ends_with('@') {
            "@"
        } else {
            &at[at.len() - 3..]
        };
        let key = address.to_ascii_lowercase().replace("%40", "@");
        let user = number(&mut self.emails, key);
        self.hosts.insert(domain.to_string());
        let domain = self.host(domain).unwrap_or_else(|| domain.to_string());
        format!("user-{user}{at}{domain}")
    }

    /// Whether the word or dotted name `name` at `at` in `text` is a host name.
    fn is_host(&self, text: &str, at: usize, name: &str) -> bool {
        if after_slashes(text, at) {
            return true;
        }
        let lower = name.to_ascii_lowercase();
        if !lower.contains('.') || lower.contains('_') || id::ORDER.contains(&lower.as_str()) {
            return false;
        }
        if self.hosts.contains(&lower) {
            return true;
        }
        let last = lower.rsplit('.').next().unwrap_or_default();
        if !last.chars().all(|c| c.is_ascii_alphabetic()) || NOT_HOSTS.contains(&last) {
            return false;
        }
        // A suffix no list knows (`.lan`, `.internal`, `.home.arpa`) is a
        // host's once a host of the run ends in it: a TLS error lists the
        // certificate's other names (`*.nas.lan`) without `//`.
        let private = || {
            self.hosts
                .iter()
                .any(|h| h.rsplit('.').next() == Some(last))
        };
        (psl::suffix(lower.as_bytes()).is_some_and(|s| s.is_known())
            && psl::domain(lower.as_bytes()).is_some())
            || private()
    }

    /// The placeholder of a lowercase host name; `None` for one that stays.
    fn host(&mut self, name: &str) -> Option<String> {
        if name == "localhost" || name.ends_with(".localhost") || placeholder(name) {
            return None;
        }
        Some(match psl::domain(name.as_bytes()) {
            Some(domain) => {
                let registrable = String::from_utf8_lossy(domain.as_bytes()).into_owned();
                let left = &name[..name.len() - registrable.len()];
                format!("{left}example-{}", number(&mut self.domains, registrable))
            }
            None => format!("host-{}", number(&mut self.names, name.to_string())),
        })
    }

    /// The placeholder of an IP address; `None` for one that stays.
    fn ip(&mut self, ip: IpAddr) -> Option<String> {
        let stays = match ip {
            IpAddr::V4(v4) => {
                v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified()
            }
            IpAddr::V6(v6) => {
                v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_unique_local()
                    || v6.is_unicast_link_local()
            }
        };
        (!stays).then(|| format!("ip-{}", number(&mut self.ips, ip)))
    }
}

/// Whether a lowercase host name is a placeholder already (`id.example-1`,
/// `host-2`, `ip-3`), which stays: redacting twice changes nothing.
fn placeholder(name: &str) -> bool {
    let numbered = |label: &str, prefix: &str| {
        label
            .strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    let last = name.rsplit('.').next().unwrap_or_default();
    numbered(last, "example-") || numbered(name, "host-") || numbered(name, "ip-")
}

/// The 1-based number of `item`, added when new.
fn number<T: PartialEq>(items: &mut Vec<T>, item: T) -> usize {
    match items.iter().position(|i| *i == item) {
        Some(at) => at + 1,
        None => {
            items.push(item);
            items.len()
        }
    }
}

/// Whether the text before `at` ends with a URL's `//` (or its percent-
/// encoded form), not a `file:///` URL's three.
fn after_slashes(text: &str, at: usize) -> bool {
    let before = &text.as_bytes()[..at];
    let ends = |tail: &[u8]| {
        before.len() >= tail.len() && before[before.len() - tail.len()..].eq_ignore_ascii_case(tail)
    };
    (ends(b"//") && !ends(b"///")) || (ends(b"%2f%2f") && !ends(b"%2f%2f%2f"))
}

/// A match that starts right after a `%` is the end of a percent escape and
/// the text after it (`%2Fromm.example.com`): the escape's two hex digits,
/// kept as they are, and the rest.
fn split_escape<'a>(text: &str, at: usize, found: &'a str) -> (&'a str, &'a str) {
    let escaped = text[..at].ends_with('%')
        && found.len() > 2
        && found.as_bytes()[..2].iter().all(u8::is_ascii_hexdigit);
    if escaped {
        found.split_at(2)
    } else {
        ("", found)
    }
}

/// The run's redactor, when `--redact-hosts` asked for one.
static RUN: OnceLock<Mutex<Redactor>> = OnceLock::new();

/// From now on, everything this run prints is redacted.
pub fn enable() {
    let _ = RUN.set(Mutex::new(Redactor::default()));
}

/// Counts the hosts of `text` (a setting) as hosts wherever they appear.
pub fn learn(text: &str) {
    if let Some(run) = RUN.get() {
        run.lock().unwrap_or_else(|p| p.into_inner()).learn(text);
    }
}

/// `text` as this run may print it: redacted when `--redact-hosts` is on.
pub fn shown(text: &str) -> Cow<'_, str> {
    match RUN.get() {
        Some(run) => Cow::Owned(run.lock().unwrap_or_else(|p| p.into_inner()).text(text)),
        None => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::Redactor;

    fn redacted(texts: &[&str]) -> Vec<String> {
        let mut r = Redactor::default();
        texts.iter().map(|t| r.text(t)).collect()
    }

    #[test]
    fn a_host_keeps_its_left_labels_scheme_port_and_path_and_one_placeholder_per_domain() {
        let out = redacted(&[
            "issuer https://id.MyDomain.com:8443/app/?x=1 and romm.mydomain.com",
            "https://romm.mydomain.com/api/oauth/openid, johnsmith.duckdns.org, ID.mydomain.com",
        ]);
        assert_eq!(
            out[0],
            "issuer https://id.example-1:8443/app/?x=1 and romm.example-1"
        );
        assert_eq!(
            out[1],
            "https://romm.example-1/api/oauth/openid, example-2, id.example-1"
        );
    }

    #[test]
    fn no_part_of_a_name_is_replaced() {
        let out = redacted(&[
            "romm.example.com notromm.example.com romm.example.com.evil.net xromm.example.com",
        ]);
        assert_eq!(
            out[0],
            "romm.example-1 notromm.example-1 romm.example.com.example-2 xromm.example-1"
        );
    }

    #[test]
    fn emails_are_numbered_by_address_whatever_their_case_and_keep_their_domain() {
        let out = redacted(&[
            "alice@example.com, Alice@Example.com, bob@example.com, bob@mydomain.org",
            "login_hint=alice%40example.com&redirect_uri=https%3A%2F%2Fromm.example.com%2Fapi",
        ]);
        assert_eq!(
            out[0],
            "user-1@example-1, user-1@example-1, user-2@example-1, user-3@example-2"
        );
        assert_eq!(
            out[1],
            "login_hint=user-1%40example-1&redirect_uri=https%3A%2F%2Fromm.example-1%2Fapi"
        );
    }

    #[test]
    fn loopback_and_private_addresses_stay_and_public_ones_are_numbered() {
        let out = redacted(&[
            "http://127.0.0.1:1411 http://localhost:8080 id.localhost 10.0.0.2 192.168.1.20 [::1]:80",
            "http://203.0.113.7:443/x 203.0.113.7 8.8.8.8 [2001:db8::1]:8443 fe80::1 fd00::5",
        ]);
        assert_eq!(
            out[0],
            "http://127.0.0.1:1411 http://localhost:8080 id.localhost 10.0.0.2 192.168.1.20 [::1]:80"
        );
        assert_eq!(
            out[1],
            "http://ip-1:443/x ip-1 ip-2 [ip-3]:8443 fe80::1 fd00::5"
        );
    }

    #[test]
    fn names_after_slashes_or_seen_before_are_hosts_whatever_their_suffix() {
        let out = redacted(&[
            "http://pocket-id:1411 and https://nas.lan/x",
            "cannot resolve nas.lan; pocket-id is a compose service; the certificate names *.romm.lan",
        ]);
        assert_eq!(out[0], "http://host-1:1411 and https://example-1/x");
        assert_eq!(
            out[1],
            "cannot resolve example-1; pocket-id is a compose service; the certificate names *.example-2"
        );
        // Before any host of the run ends in `.lan`, a `.lan` name in free
        // text is not known to be one.
        assert_eq!(redacted(&["romm.lan"]), ["romm.lan"]);
    }

    #[test]
    fn redacting_twice_changes_nothing() {
        let mut r = Redactor::default();
        let once = r.text(
            "https://id.mydomain.com/x http://pocket-id:1411 alice@id.mydomain.com http://203.0.113.7/",
        );
        assert_eq!(
            once,
            "https://id.example-1/x http://host-1:1411 user-1@id.example-1 http://ip-1/"
        );
        assert_eq!(r.text(&once), once);
    }

    #[test]
    fn a_file_url_has_no_host() {
        let text = "file:///etc/ssl/certs/ca.pem";
        assert_eq!(redacted(&[text])[0], text);
    }

    #[test]
    fn check_ids_versions_file_names_and_code_names_are_not_hosts() {
        let text = "login.email romm.account pocketid.preview v2.14.0 RomM 5.2.0 \
                    backend/handler/auth/base_handler.py README.md id_token.email \
                    httpx.ConnectError e.g. authlib.jose scope users.read";
        assert_eq!(redacted(&[text])[0], text);
    }
}
