//! Reading the doctor's `--json` report: its checks, one check's status and text.

use serde_json::Value;

/// The provider's checks that need neither an API key nor RomM, in report order.
pub const PROVIDER_CHECKS: [&str; 6] = [
    "discovery.fetch",
    "discovery.issuer",
    "discovery.metadata",
    "jwks.keys",
    "client.exists",
    "client.credentials",
];

pub fn checks(report: &Value) -> &Vec<Value> {
    report["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("no checks array in {report:#}"))
}

pub fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    checks(report)
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("check {id} missing from report:\n{report:#}"))
}

pub fn status(report: &Value, id: &str) -> String {
    check(report, id)["status"]
        .as_str()
        .unwrap_or("<none>")
        .to_string()
}

/// Every human-readable field of a check joined together (summary, detail, fix,
/// expected, found).
pub fn text(c: &Value) -> String {
    ["summary", "detail", "fix", "expected", "found"]
        .iter()
        .filter_map(|k| c.get(*k).and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts the status of one check and returns its text; the message shows the check.
#[track_caller]
pub fn expect_status(report: &Value, id: &str, want: &[&str]) -> String {
    let c = check(report, id);
    let st = c["status"].as_str().unwrap_or("<none>");
    assert!(
        want.contains(&st),
        "{id}: expected status in {want:?}, got {st:?}:\n{c:#}"
    );
    text(c)
}

/// Byte positions where `needle` occurs in `hay` and is not directly followed by a
/// character from `not_followed_by`.
pub fn occurs_not_followed_by(hay: &str, needle: &str, not_followed_by: &[char]) -> bool {
    hay.match_indices(needle).any(|(i, _)| {
        hay[i + needle.len()..]
            .chars()
            .next()
            .is_none_or(|c| !not_followed_by.contains(&c))
    })
}

/// Asserts the status of one check and that its text holds every one of `words`;
/// returns the text.
#[track_caller]
pub fn has(report: &Value, id: &str, status: &str, words: &[&str]) -> String {
    let t = expect_status(report, id, &[status]);
    for w in words {
        assert!(t.contains(w), "{id}: no {w:?} in:\n{:#}", check(report, id));
    }
    t
}

/// The first piece of 8 characters in a row of `secret` that `text` shows: a secret
/// counts as shown when one does (a mask shows 4 at most).
pub fn piece_of(secret: &str, text: &str) -> Option<String> {
    let chars: Vec<char> = secret.chars().collect();
    chars
        .windows(8)
        .map(|w| w.iter().collect::<String>())
        .find(|piece| text.contains(piece.as_str()))
}
