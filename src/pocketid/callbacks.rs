//! Pocket ID's callback-URL matching, so the doctor can tell whether RomM's
//! `OIDC_REDIRECT_URI` is accepted before anyone logs in (pocketid.md §4).
//!
//! 2.x: exact match first; then patterns where `*` is one host label, one path
//! segment, a port or a query value, `**` any number of path segments, a lone
//! `*` anything; query parameters must match in number and name; an `http`
//! loopback request matches a port-less (or `:*`) registration on any port.
//! 1.x: every `*` is `.*` over the whole URL, no loopback flexibility.

/// Which matcher the server runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V1,
    V2,
}

/// A URL cut into the parts the matcher compares.
#[derive(Debug)]
struct Parts<'a> {
    scheme: &'a str,
    userinfo: &'a str,
    host: &'a str,
    port: &'a str,
    path: &'a str,
    query: &'a str,
}

fn split(url: &str) -> Option<Parts<'_>> {
    let url = url.split('#').next().unwrap_or(url);
    let (scheme, rest) = url.split_once("://")?;
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (userinfo, hostport) = authority.rsplit_once('@').unwrap_or(("", authority));
    let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
        // IPv6 literal: [::1]:port
        let (h, after) = inner.split_once(']')?;
        (h, after.strip_prefix(':').unwrap_or(""))
    } else {
        hostport.rsplit_once(':').unwrap_or((hostport, ""))
    };
    let default = match scheme {
        "https" => "443",
        "http" => "80",
        _ => "",
    };
    let port = if port == default { "" } else { port };
    Some(Parts {
        scheme,
        userinfo,
        host,
        port,
        path: if path.is_empty() { "/" } else { path },
        query,
    })
}

/// Glob where `*` matches any run of bytes other than `sep` (any run at all
/// when there is none), and (when `deep`) `**` matches any run at all. The patterns
/// come from the provider: this walks the set of text positions the pattern
/// read so far can reach, so time is pattern × text and there is no
/// recursion (a backtracking matcher is exponential in the number of `*` and
/// overflows the stack on long patterns).
fn glob(pattern: &[u8], text: &[u8], sep: Option<u8>, deep: bool) -> bool {
    let mut reach = vec![false; text.len() + 1];
    let mut next = reach.clone();
    reach[0] = true;
    let mut p = 0;
    while let Some(&c) = pattern.get(p) {
        let double = deep && pattern.get(p + 1) == Some(&b'*');
        match c {
            // Any run at all: every position at or after a reachable one.
            b'*' if sep.is_none() || double => {
                let mut seen = false;
                for (n, r) in next.iter_mut().zip(&reach) {
                    seen |= *r;
                    *n = seen;
                }
                p += if double { 2 } else { 1 };
            }
            // A run without `sep`.
            b'*' => {
                let mut run = false;
                for i in 0..=text.len() {
                    run = reach[i] || (run && i > 0 && Some(text[i - 1]) != sep);
                    next[i] = run;
                }
                p += 1;
            }
            _ => {
                next[0] = false;
                for i in 1..=text.len() {
                    next[i] = reach[i - 1] && text[i - 1] == c;
                }
                p += 1;
            }
        }
        std::mem::swap(&mut reach, &mut next);
        if !reach.contains(&true) {
            return false;
        }
    }
    reach[text.len()]
}

fn query_pairs(query: &str) -> Vec<(&str, &str)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect()
}

fn query_matches(pattern: &str, query: &str) -> bool {
    let want = query_pairs(pattern);
    let have = query_pairs(query);
    want.len() == have.len()
        && want.iter().all(|(k, v)| {
            have.iter()
                .any(|(hk, hv)| hk == k && glob(v.as_bytes(), hv.as_bytes(), Some(b'/'), false))
        })
}

fn pattern_matches(pattern: &str, url: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let (Some(p), Some(u)) = (split(pattern), split(url)) else {
        return false;
    };
    glob(p.scheme.as_bytes(), u.scheme.as_bytes(), Some(b':'), false)
        && glob(
            p.userinfo.as_bytes(),
            u.userinfo.as_bytes(),
            Some(b'@'),
            false,
        )
        && glob(
            p.host.to_ascii_lowercase().as_bytes(),
            u.host.to_ascii_lowercase().as_bytes(),
            Some(b'.'),
            false,
        )
        && (p.port == "*" || glob(p.port.as_bytes(), u.port.as_bytes(), Some(b':'), false))
        && glob(p.path.as_bytes(), u.path.as_bytes(), Some(b'/'), true)
        && query_matches(p.query, u.query)
}

fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether the server accepts `url` for a client registered with `pattern`.
pub fn matches(pattern: &str, url: &str, family: Family) -> bool {
    if pattern == url {
        return true;
    }
    match family {
        Family::V1 => {
            // `*` crosses every separator in 1.x.
            glob(pattern.as_bytes(), url.as_bytes(), None, false)
        }
        Family::V2 => {
            if pattern_matches(pattern, url) {
                return true;
            }
            // RFC 8252 §7.3: a loopback http redirect matches on any port.
            match split(url) {
                Some(u) if u.scheme == "http" && is_loopback_host(u.host) && !u.port.is_empty() => {
                    let portless = url.replacen(&format!(":{}", u.port), "", 1);
                    pattern_matches(pattern, &portless)
                }
                _ => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Family, glob, matches};

    /// The backtracking definition of the same glob, as an oracle for small inputs.
    fn oracle(pattern: &[u8], text: &[u8], sep: Option<u8>, deep: bool) -> bool {
        match pattern.first() {
            None => text.is_empty(),
            Some(b'*') if sep.is_none() || (deep && pattern.get(1) == Some(&b'*')) => {
                let rest = if sep.is_some() {
                    &pattern[2..]
                } else {
                    &pattern[1..]
                };
                (0..=text.len()).any(|i| oracle(rest, &text[i..], sep, deep))
            }
            Some(b'*') => {
                let run = text
                    .iter()
                    .position(|c| Some(*c) == sep)
                    .unwrap_or(text.len());
                (0..=run).any(|i| oracle(&pattern[1..], &text[i..], sep, deep))
            }
            Some(c) => text.first() == Some(c) && oracle(&pattern[1..], &text[1..], sep, deep),
        }
    }

    #[test]
    fn glob_agrees_with_the_backtracking_definition() {
        let alphabet = b"*a/b";
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..20_000 {
            let pattern: Vec<u8> = (0..next(8)).map(|_| alphabet[next(4) as usize]).collect();
            let text: Vec<u8> = (0..next(8))
                .map(|_| alphabet[1 + next(3) as usize])
                .collect();
            for (sep, deep) in [(Some(b'/'), true), (Some(b'/'), false), (None, false)] {
                assert_eq!(
                    glob(&pattern, &text, sep, deep),
                    oracle(&pattern, &text, sep, deep),
                    "{:?} {:?} {sep:?} {deep}",
                    String::from_utf8_lossy(&pattern),
                    String::from_utf8_lossy(&text)
                );
            }
        }
    }

    /// Patterns come from the provider: many `*` must not take exponential
    /// time, and a long pattern must not overflow the stack.
    #[test]
    fn hostile_patterns_end_quickly() {
        let url = "https://romm.example.com/api/oauth/openidaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let started = std::time::Instant::now();
        for family in [Family::V1, Family::V2] {
            let stars = format!("https://romm.example.com/{}b", "*a".repeat(40));
            assert!(!matches(&stars, url, family));
            let deep = format!("https://romm.example.com/{}b", "**a".repeat(40));
            assert!(!matches(&deep, url, family));
            let long = format!("{}x", "*".repeat(500_000));
            // 1.x: any run, then x; 2.x: not a URL at all.
            assert_eq!(
                matches(&long, &format!("{url}x"), family),
                family == Family::V1
            );
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn pocket_id_2x_rules() {
        let cases = [
            (
                "https://r.example.com/api/oauth/openid",
                "https://r.example.com/api/oauth/openid",
                true,
            ),
            (
                "https://r.example.com/api/oauth/openid",
                "https://r.example.com/api/oauth/openid/",
                false,
            ),
            (
                "https://r.example.com/api/oauth/openid",
                "http://r.example.com/api/oauth/openid",
                false,
            ),
            (
                "https://*.example.com/api/oauth/openid",
                "https://romm.example.com/api/oauth/openid",
                true,
            ),
            (
                "https://*.example.com/api/oauth/openid",
                "https://a.b.example.com/api/oauth/openid",
                false,
            ),
            (
                "https://r.example.com/*/openid",
                "https://r.example.com/oauth/openid",
                true,
            ),
            (
                "https://r.example.com/*/openid",
                "https://r.example.com/api/oauth/openid",
                false,
            ),
            (
                "https://r.example.com/**",
                "https://r.example.com/api/oauth/openid",
                true,
            ),
            (
                "https://r.example.com:*/api/oauth/openid",
                "https://r.example.com:8443/api/oauth/openid",
                true,
            ),
            ("*", "https://anything/at/all", true),
            (
                "http://127.0.0.1/callback",
                "http://127.0.0.1:8765/callback",
                true,
            ),
            (
                "http://localhost/callback",
                "http://localhost:1234/callback",
                true,
            ),
            (
                "http://127.0.0.1/callback",
                "http://127.0.0.1:8765/other",
                false,
            ),
            (
                "https://127.0.0.1/callback",
                "https://127.0.0.1:8765/callback",
                false,
            ),
            (
                "https://r.example.com/cb?x=*",
                "https://r.example.com/cb?x=1",
                true,
            ),
            (
                "https://r.example.com/cb?x=*",
                "https://r.example.com/cb?x=1&y=2",
                false,
            ),
            (
                "https://r.example.com:443/cb",
                "https://r.example.com/cb",
                true,
            ),
        ];
        for (pattern, url, want) in cases {
            assert_eq!(
                matches(pattern, url, Family::V2),
                want,
                "{pattern} vs {url}"
            );
        }
    }

    #[test]
    fn pocket_id_1x_star_crosses_everything_and_ports_are_exact() {
        assert!(matches(
            "https://*/openid",
            "https://a.b/c/openid",
            Family::V1
        ));
        assert!(!matches(
            "http://127.0.0.1/callback",
            "http://127.0.0.1:8765/callback",
            Family::V1
        ));
        assert!(matches(
            "http://127.0.0.1:*/callback",
            "http://127.0.0.1:8765/callback",
            Family::V1
        ));
    }
}
