//! Callback (redirect URI) matching, pocketid.md §4.
//!
//! * Modern (v2.10+): fosite's own rules first (exact string, then its RFC 8252
//!   loopback rule for IP literals that ignores the port), then Pocket ID's
//!   pattern fallback (`GetCallbackURLFromList`).
//! * Legacy (v2.0–v2.9): Pocket ID's `GetCallbackURLFromList` only.
//!
//! The pattern language is the subset of WHATWG URLPattern that Pocket ID's
//! normaliser produces: `*` is a full wildcard in scheme, userinfo, host and
//! port; in the path a single `*` matches one or more characters inside one
//! segment and `**` matches anything (across segments). The query is compared
//! parameter by parameter with Go's `path.Match` globs.

use crate::util::{GoUrl, is_loopback_ip, split_host_port};

const MAX_PATTERN_INPUT: usize = 2048;

/// Modern matching. Returns the redirect URI to use (the request's own string,
/// or the single registered URL when `requested` is empty), or `None`.
pub fn match_modern(registered: &[String], requested: &str) -> Option<String> {
    if let Some(found) = fosite_match(registered, requested) {
        return Some(found);
    }
    if requested.is_empty() {
        return None;
    }
    let matched = callback_url_from_list(registered, requested)?;
    is_valid_redirect_uri(&matched).then_some(matched)
}

/// Legacy (v2.0–v2.9) matching of a non-empty requested URL.
pub fn match_legacy(registered: &[String], requested: &str) -> Option<String> {
    callback_url_from_list(registered, requested)
}

/// fosite `MatchRedirectURIWithClientRedirectURIs`.
fn fosite_match(registered: &[String], raw: &str) -> Option<String> {
    if raw.is_empty() {
        if registered.len() == 1 && is_valid_redirect_uri(&registered[0]) {
            return Some(registered[0].clone());
        }
        return None;
    }
    let requested = GoUrl::parse(raw)?;
    for candidate in registered {
        if candidate == raw {
            return is_valid_redirect_uri(candidate).then(|| candidate.clone());
        }
        if is_matching_as_loopback(&requested, candidate) {
            return is_valid_redirect_uri(raw).then(|| raw.to_string());
        }
    }
    None
}

/// fosite `isMatchingAsLoopback`: requested `http` to an IP loopback literal,
/// same hostname, same path and raw query; the port is ignored (and the
/// registered scheme is not compared).
fn is_matching_as_loopback(requested: &GoUrl, registered_uri: &str) -> bool {
    let Some(registered) = GoUrl::parse(registered_uri) else {
        return false;
    };
    if requested.scheme != "http" {
        return false;
    }
    // isLoopbackAddress: SplitHostPort, falling back to the whole host string.
    let (host, port) = split_host_port(&requested.host);
    let host_only = if port.is_empty() && requested.host.starts_with('[') {
        requested.host.clone() // "[::1]" without a port does not parse as an IP
    } else {
        host
    };
    is_loopback_ip(&host_only)
        && registered.hostname() == requested.hostname()
        && registered.path() == requested.path()
        && registered.raw_query == requested.raw_query
}

/// fosite `IsValidRedirectURI`: an absolute URI with a scheme and no fragment.
pub fn is_valid_redirect_uri(raw: &str) -> bool {
    match GoUrl::parse(raw) {
        Some(u) => !u.scheme.is_empty() && u.fragment.is_none(),
        None => false,
    }
}

/// fosite `IsRedirectURISecure` / `IsLocalhost`: only plain `http` to a host
/// that is not `localhost`, `*.localhost`, `127.0.0.1` or `::1` is insecure.
pub fn is_redirect_uri_secure(raw: &str) -> bool {
    let Some(u) = GoUrl::parse(raw) else {
        return false;
    };
    if u.scheme != "http" {
        return true;
    }
    let host = u.hostname();
    host.ends_with(".localhost") || host == "127.0.0.1" || host == "::1" || host == "localhost"
}

/// Pocket ID `GetCallbackURLFromList`: the first pattern that matches the
/// requested URL (or its port-less variant for `http` loopback hosts) wins,
/// and the requested URL itself is returned.
pub fn callback_url_from_list(patterns: &[String], input: &str) -> Option<String> {
    let mut loopback_without_port = None;
    if let Some(u) = GoUrl::parse(input)
        && u.scheme == "http"
    {
        let host = u.hostname();
        if host == "localhost" || is_loopback_ip(&host) {
            let bare = if host.contains(':') {
                format!("[{host}]")
            } else {
                host
            };
            loopback_without_port = Some(u.with_host(&bare));
        }
    }
    for pattern in patterns {
        if match_callback_url(pattern, input) {
            return Some(input.to_string());
        }
        if let Some(variant) = &loopback_without_port
            && match_callback_url(pattern, variant)
        {
            return Some(input.to_string());
        }
    }
    None
}

/// Pocket ID `matchCallbackURL`.
pub fn match_callback_url(pattern: &str, input: &str) -> bool {
    if pattern == input || pattern == "*" {
        return true;
    }
    // Keeps the wildcard matchers' work (and recursion depth) bounded on
    // hostile input; no real callback URL comes near this length.
    if input.len() > MAX_PATTERN_INPUT || pattern.len() > MAX_PATTERN_INPUT {
        return false;
    }
    let pattern = pattern.split('#').next().unwrap_or("");
    let input = input.split('#').next().unwrap_or("");
    let Some((pattern, pattern_query)) = extract_query(pattern) else {
        return false;
    };
    let Some((input, input_query)) = extract_query(input) else {
        return false;
    };
    if !query_params_match(&pattern_query, &input_query) {
        return false;
    }
    let Some(compiled) = Pattern::parse(pattern) else {
        return false;
    };
    compiled.test(input)
}

type Values = Vec<(String, Vec<String>)>;

/// Splits off the query and parses it like Go's `url.ParseQuery` (an invalid
/// escape is an error, which makes the match fail).
fn extract_query(raw: &str) -> Option<(&str, Values)> {
    let Some((base, query)) = raw.split_once('?') else {
        return Some((raw, Vec::new()));
    };
    let mut values: Values = Vec::new();
    for part in query.split('&') {
        if part.is_empty() {
            continue;
        }
        if part.contains(';') {
            return None;
        }
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let k = crate::util::query_unescape(k).ok()?;
        let v = crate::util::query_unescape(v).ok()?;
        match values.iter_mut().find(|(key, _)| *key == k) {
            Some((_, list)) => list.push(v),
            None => values.push((k, vec![v])),
        }
    }
    Some((base, values))
}

/// Pocket ID `validateQueryParams`: same number of keys, every key present
/// with the same number of values, each value matching its glob.
fn query_params_match(pattern: &Values, input: &Values) -> bool {
    if pattern.len() != input.len() {
        return false;
    }
    pattern.iter().all(|(key, pvals)| {
        input
            .iter()
            .find(|(k, _)| k == key)
            .is_some_and(|(_, ivals)| {
                pvals.len() == ivals.len()
                    && pvals
                        .iter()
                        .zip(ivals)
                        .all(|(p, i)| go_path_match(p, i) == Some(true))
            })
    })
}

/// Go's `path.Match`; `None` is `ErrBadPattern`.
fn go_path_match(pattern: &str, name: &str) -> Option<bool> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Validate the pattern first (Go reports a bad pattern even on mismatch).
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                if i + 1 >= p.len() {
                    return None;
                }
                i += 2;
            }
            '[' => {
                let (_, next) = parse_class(&p, i, None)?;
                i = next;
            }
            _ => i += 1,
        }
    }
    // Dynamic programming over (pattern index, name index).
    let mut memo = vec![vec![None; n.len() + 1]; p.len() + 1];
    Some(glob_at(&p, 0, &n, 0, &mut memo))
}

fn glob_at(
    p: &[char],
    pi: usize,
    n: &[char],
    ni: usize,
    memo: &mut Vec<Vec<Option<bool>>>,
) -> bool {
    if let Some(v) = memo[pi][ni] {
        return v;
    }
    let result = if pi == p.len() {
        ni == n.len()
    } else {
        match p[pi] {
            '*' => {
                glob_at(p, pi + 1, n, ni, memo)
                    || (ni < n.len() && n[ni] != '/' && glob_at(p, pi, n, ni + 1, memo))
            }
            '?' => ni < n.len() && n[ni] != '/' && glob_at(p, pi + 1, n, ni + 1, memo),
            '[' => match (n.get(ni), parse_class(p, pi, n.get(ni).copied())) {
                (Some(c), Some((true, next))) if *c != '/' => glob_at(p, next, n, ni + 1, memo),
                _ => false,
            },
            '\\' => {
                pi + 1 < p.len()
                    && ni < n.len()
                    && n[ni] == p[pi + 1]
                    && glob_at(p, pi + 2, n, ni + 1, memo)
            }
            c => ni < n.len() && n[ni] == c && glob_at(p, pi + 1, n, ni + 1, memo),
        }
    };
    memo[pi][ni] = Some(result);
    result
}

/// Parses a `[...]` class at `start`; returns (does `c` match, index after `]`).
fn parse_class(p: &[char], start: usize, c: Option<char>) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negated = p.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let ch = *p.get(i)?;
        if ch == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        let lo = if ch == '\\' {
            i += 1;
            *p.get(i)?
        } else if ch == '-' || ch == ']' {
            return None;
        } else {
            ch
        };
        i += 1;
        let mut hi = lo;
        if p.get(i) == Some(&'-') {
            i += 1;
            let h = *p.get(i)?;
            hi = if h == '\\' {
                i += 1;
                *p.get(i)?
            } else {
                h
            };
            i += 1;
        }
        if let Some(c) = c
            && lo <= c
            && c <= hi
        {
            matched = true;
        }
    }
    Some((matched != negated, i))
}

// ---------------------------------------------------------------- URL patterns

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Lit(String),
    /// URLPattern full wildcard `*` (`.*`).
    Any,
    /// URLPattern segment wildcard `:name` (one or more characters, no `/`).
    Segment,
}

/// A parsed callback pattern (everything but query and fragment).
struct Pattern {
    protocol: Vec<Token>,
    username: Vec<Token>,
    password: Vec<Token>,
    hostname: Vec<Token>,
    port: Vec<Token>,
    pathname: Vec<Token>,
}

const SPECIAL: [(&str, &str); 6] = [
    ("http", "80"),
    ("https", "443"),
    ("ws", "80"),
    ("wss", "443"),
    ("ftp", "21"),
    ("file", ""),
];

/// Splits `text` on `*` into literal and full-wildcard tokens.
fn star_tokens(text: &str, lowercase: bool) -> Vec<Token> {
    let mut out = Vec::new();
    for (i, part) in text.split('*').enumerate() {
        if i > 0 {
            out.push(Token::Any);
        }
        if !part.is_empty() {
            let lit = if lowercase {
                part.to_ascii_lowercase()
            } else {
                part.to_string()
            };
            out.push(Token::Lit(lit));
        }
    }
    out
}

/// Pocket ID's `normalizeToURLPatternStandard` applied to the path: `**` →
/// full wildcard, `*` → segment wildcard, everything else literal.
fn path_tokens(path: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let chars: Vec<char> = path.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '*' {
            if !lit.is_empty() {
                out.push(Token::Lit(std::mem::take(&mut lit)));
            }
            if chars.get(i + 1) == Some(&'*') {
                out.push(Token::Any);
                i += 2;
            } else {
                out.push(Token::Segment);
                i += 1;
            }
        } else {
            lit.push(chars[i]);
            i += 1;
        }
    }
    if !lit.is_empty() {
        out.push(Token::Lit(lit));
    }
    out
}

impl Pattern {
    fn parse(pattern: &str) -> Option<Pattern> {
        let (protocol, rest, has_authority) = match pattern.find("://") {
            Some(i) => (&pattern[..i], &pattern[i + 3..], true),
            None => {
                // Non-hierarchical pattern such as "myapp:/callback".
                let i = pattern.find(':')?;
                (&pattern[..i], &pattern[i + 1..], false)
            }
        };
        if protocol.is_empty() {
            return None;
        }
        let special_scheme = SPECIAL
            .iter()
            .any(|(s, _)| s.eq_ignore_ascii_case(protocol));
        let (authority, path) = if has_authority {
            match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            }
        } else {
            ("", rest)
        };
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((a, b)) => (a, b),
                None => (u, ""),
            },
            None => ("", ""),
        };
        let (host, port) = if hostport.starts_with('[') {
            let end = hostport.find(']')?;
            let host = &hostport[..=end];
            let after = &hostport[end + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => p,
                None if after.is_empty() => "",
                None => return None,
            };
            (host, port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, p),
                None => (hostport, ""),
            }
        };
        if has_authority && host.is_empty() && special_scheme {
            return None;
        }
        if host.contains(['/', '?', '#', ' ', '\\'])
            || !port.bytes().all(|b| b.is_ascii_digit() || b == b'*')
        {
            return None;
        }
        // A literal default port is canonicalised away, like in the input URL.
        let default_port = SPECIAL
            .iter()
            .find(|(s, _)| s.eq_ignore_ascii_case(protocol))
            .map(|(_, p)| *p);
        let port = if Some(port) == default_port { "" } else { port };
        let path = if path.is_empty() && special_scheme {
            "/"
        } else {
            path
        };
        Some(Pattern {
            protocol: star_tokens(protocol, true),
            username: star_tokens(username, false),
            password: star_tokens(password, false),
            hostname: star_tokens(host, true),
            port: star_tokens(port, false),
            pathname: path_tokens(path),
        })
    }

    /// URLPattern `test(input)`: the input is parsed as a WHATWG URL first
    /// (so `..`, `\` and default ports are normalised).
    fn test(&self, input: &str) -> bool {
        let Ok(url) = url::Url::parse(input) else {
            return false;
        };
        let port = url.port().map(|p| p.to_string()).unwrap_or_default();
        let host = url.host_str().unwrap_or("").to_string();
        let path = url.path().to_string();
        tokens_match(&self.protocol, url.scheme())
            && tokens_match(&self.username, url.username())
            && tokens_match(&self.password, url.password().unwrap_or(""))
            && tokens_match(&self.hostname, &host)
            && tokens_match(&self.port, &port)
            && tokens_match(&self.pathname, &path)
    }
}

/// Matches a token list against a whole string (DP, no exponential backtracking).
fn tokens_match(tokens: &[Token], text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let mut memo = vec![vec![None; chars.len() + 1]; tokens.len() + 1];
    tokens_at(tokens, 0, &chars, 0, &mut memo)
}

fn tokens_at(
    tokens: &[Token],
    ti: usize,
    text: &[char],
    xi: usize,
    memo: &mut Vec<Vec<Option<bool>>>,
) -> bool {
    if let Some(v) = memo[ti][xi] {
        return v;
    }
    let result = match tokens.get(ti) {
        None => xi == text.len(),
        Some(Token::Lit(lit)) => {
            let lit: Vec<char> = lit.chars().collect();
            text.len() >= xi + lit.len()
                && text[xi..xi + lit.len()] == lit[..]
                && tokens_at(tokens, ti + 1, text, xi + lit.len(), memo)
        }
        Some(Token::Any) => (xi..=text.len()).any(|end| tokens_at(tokens, ti + 1, text, end, memo)),
        Some(Token::Segment) => {
            let mut end = xi;
            let mut found = false;
            while end < text.len() && text[end] != '/' {
                end += 1;
                if tokens_at(tokens, ti + 1, text, end, memo) {
                    found = true;
                    break;
                }
            }
            found
        }
    };
    memo[ti][xi] = Some(result);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug)]
    enum P {
        Modern,
        Legacy,
        Both,
    }

    fn check(profile: P, registered: &[&str], requested: &str, expect: bool) {
        let reg: Vec<String> = registered.iter().map(|s| s.to_string()).collect();
        let run = |p: P| match p {
            P::Modern => match_modern(&reg, requested).is_some(),
            P::Legacy => match_legacy(&reg, requested).is_some(),
            P::Both => unreachable!(),
        };
        let profiles: &[P] = match profile {
            P::Both => &[P::Modern, P::Legacy],
            P::Modern => &[P::Modern],
            P::Legacy => &[P::Legacy],
        };
        for p in profiles {
            assert_eq!(
                run(*p),
                expect,
                "{p:?}: registered {registered:?} requested {requested:?}"
            );
        }
    }

    #[test]
    fn callback_table() {
        use P::*;
        #[rustfmt::skip]
        let table: &[(P, &[&str], &str, bool)] = &[
            // exact; trailing slash and scheme matter (#1510); host case and default port do not
            (Both, &["https://romm.example.com/api/oauth/openid"], "https://romm.example.com/api/oauth/openid", true),
            (Both, &["https://romm.example.com/api/oauth/openid"], "https://romm.example.com/api/oauth/openid/", false),
            (Both, &["https://romm.example.com/api/oauth/openid/"], "https://romm.example.com/api/oauth/openid", false),
            (Both, &["https://romm.example.com/api/oauth/openid"], "http://romm.example.com/api/oauth/openid", false),
            (Both, &["https://romm.example.com/api/oauth/openid"], "https://ROMM.example.com/api/oauth/openid", true),
            (Both, &["https://romm.example.com/cb"], "https://romm.example.com:443/cb", true),
            (Both, &["https://romm.example.com/cb"], "https://romm.example.com:8443/cb", false),
            // host, scheme and port wildcards
            (Both, &["https://*.example.com/cb"], "https://romm.example.com/cb", true),
            (Both, &["https://*.example.com/cb"], "https://example.com/cb", false),
            (Both, &["https://*.example.com/cb"], "https://evil.com/cb?x=.example.com/cb", false),
            (Both, &["https://app*.example.com/cb"], "https://app1.example.com/cb", true),
            (Both, &["*://example.com/cb"], "http://example.com/cb", true),
            (Both, &["https://example.com:*/cb"], "https://example.com:8080/cb", true),
            (Both, &["https://example.com:80*/cb"], "https://example.com:9080/cb", false),
            // path wildcards: * inside one segment, ** across segments
            (Both, &["https://example.com/api/*/callback"], "https://example.com/api/v1/callback", true),
            (Both, &["https://example.com/api/*/callback"], "https://example.com/api/v1/v2/callback", false),
            (Both, &["https://example.com/**/callback"], "https://example.com/a/b/c/callback", true),
            (Both, &["https://example.com/test*"], "https://example.com/testcase", true),
            (Both, &["https://example.com/test*"], "https://example.com/test", false),
            (Both, &["https://example.com/*"], "https://example.com/a/b", false),
            // the input is normalised as a WHATWG URL first
            (Both, &["https://example.com/callback"], "https://example.com/../callback", true),
            (Both, &["https://example.com/callback"], "https://example.com/../admin/callback", false),
            (Both, &["https://example.com/callback"], "https://example.com//evil.com/callback", false),
            (Both, &["https://example.com/callback"], "https://example.com/callback%0d%0a", false),
            // a lone * matches everything
            (Both, &["*"], "https://anything.example/whatever?x=1", true),
            // query: same keys, same counts, glob values, nothing extra
            (Both, &["https://example.com/cb?code=*"], "https://example.com/cb?code=abc", true),
            (Both, &["https://example.com/cb?code=*"], "https://example.com/cb?code=abc&extra=1", false),
            (Both, &["https://example.com/cb?code=*&state=*"], "https://example.com/cb?state=1&code=2", true),
            (Both, &["https://example.com/cb?mode=prod"], "https://example.com/cb?mode=dev", false),
            (Both, &["https://example.com/cb"], "https://example.com/cb?extra=1", false),
            // fragments are ignored by the pattern matcher
            (Both, &["https://example.com/cb*#frag"], "https://example.com/cbx", true),
            // loopback any-port (RFC 8252 §7.3), http only, path still exact
            (Both, &["http://127.0.0.1/callback"], "http://127.0.0.1:53682/callback", true),
            (Both, &["http://localhost/callback"], "http://localhost:8080/callback", true),
            (Both, &["http://[::1]/callback"], "http://[::1]:8080/callback", true),
            (Both, &["https://127.0.0.1/callback"], "https://127.0.0.1:8080/callback", false),
            (Both, &["http://127.0.0.1/callback"], "http://127.0.0.1:53682/other", false),
            (Both, &["http://127.0.0.1:*/callback"], "http://127.0.0.1:1234/callback", true),
            // fosite's IP-literal loopback rule ignores even a registered port: modern only
            (Modern, &["http://127.0.0.1:5000/callback"], "http://127.0.0.1:6000/callback", true),
            (Legacy, &["http://127.0.0.1:5000/callback"], "http://127.0.0.1:6000/callback", false),
            // ...but not for localhost, which is not an IP literal
            (Both, &["http://localhost:5000/callback"], "http://localhost:6000/callback", false),
            // non-loopback http keeps its port
            (Both, &["http://romm.lan/cb"], "http://romm.lan:8080/cb", false),
            // nothing registered
            (Both, &[], "https://romm.example.com/api/oauth/openid", false),
            // any of several
            (Both, &["https://a.example.com/cb", "https://romm.example.com/api/oauth/openid"], "https://romm.example.com/api/oauth/openid", true),
            // custom schemes
            (Both, &["com.example.app:/oauth"], "com.example.app:/oauth", true),
        ];
        for (profile, registered, requested, expect) in table {
            check(*profile, registered, requested, *expect);
        }
    }

    #[test]
    fn modern_empty_redirect_uses_single_registration() {
        let one = vec!["https://a.example.com/cb".to_string()];
        assert_eq!(
            match_modern(&one, "").as_deref(),
            Some("https://a.example.com/cb")
        );
        let two = vec![one[0].clone(), "https://b.example.com/cb".to_string()];
        assert_eq!(match_modern(&two, ""), None);
    }

    #[test]
    fn matched_url_is_the_requested_one() {
        let reg = vec!["http://127.0.0.1/callback".to_string()];
        assert_eq!(
            match_modern(&reg, "http://127.0.0.1:4444/callback").as_deref(),
            Some("http://127.0.0.1:4444/callback")
        );
    }

    #[test]
    fn redirect_security() {
        assert!(is_redirect_uri_secure("https://romm.example.com/cb"));
        assert!(is_redirect_uri_secure("http://localhost:8080/cb"));
        assert!(is_redirect_uri_secure("http://app.localhost/cb"));
        assert!(is_redirect_uri_secure("http://127.0.0.1:9/cb"));
        assert!(is_redirect_uri_secure("http://[::1]:9/cb"));
        assert!(!is_redirect_uri_secure("http://romm.lan/cb"));
        assert!(is_redirect_uri_secure("myapp:/cb"));
    }

    #[test]
    fn go_globs() {
        assert_eq!(go_path_match("a*c", "abbc"), Some(true));
        assert_eq!(go_path_match("a*c", "ab/c"), Some(false));
        assert_eq!(go_path_match("a?c", "abc"), Some(true));
        assert_eq!(go_path_match("[a-c]x", "bx"), Some(true));
        assert_eq!(go_path_match("[^a-c]x", "bx"), Some(false));
        assert_eq!(go_path_match("[", "x"), None);
        assert_eq!(go_path_match("a\\*", "a*"), Some(true));
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        let reg = vec![
            "https://**.example.com/**/**/**".to_string(),
            "http://[::1".to_string(),
            "https://x/?a=[".to_string(),
            "https://x/?a=*".to_string(),
        ];
        let long = format!("https://a.example.com/{}", "a/".repeat(2000));
        let huge_query = format!("https://x/?a={}", "b".repeat(100_000));
        for input in [
            "",
            "?",
            "#",
            "://",
            "http://[",
            "http://[::1",
            "http://%zz/",
            "https://x/?a=%zz",
            "\u{0}",
            "https://ü.example.com/ä",
            long.as_str(),
            huge_query.as_str(),
        ] {
            let _ = match_modern(&reg, input);
            let _ = match_legacy(&reg, input);
        }
    }
}
