//! Release versions as Pocket ID and RomM report them (`v2.14.0`, `5.2.0`,
//! `2.0.0-beta.1`), read one way for both.

/// romm-oidc's own version.
pub const ROMM_OIDC: &str = env!("CARGO_PKG_VERSION");

/// `(major, minor, patch)`, compared in that order.
pub type Version = (u32, u32, u32);

/// The leading numbers of a version; `None` without a major and a minor
/// (`development`, a RomM built from source, for one).
pub fn parse(text: &str) -> Option<Version> {
    let mut parts = text.trim().trim_start_matches('v').split(['.', '-']);
    let mut next = || parts.next().and_then(|p| p.parse::<u32>().ok());
    Some((next()?, next()?, next().unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_release_tags_with_or_without_v_and_a_suffix() {
        assert_eq!(parse("v2.14.0"), Some((2, 14, 0)));
        assert_eq!(parse(" 5.2.0-beta.1\n"), Some((5, 2, 0)));
        assert_eq!(parse("4.8"), Some((4, 8, 0)));
        assert_eq!(parse("development"), None);
        assert_eq!(parse("5"), None);
    }
}
