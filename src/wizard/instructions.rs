//! What to set up at the provider by hand, as text templates filled with the
//! values (kubelogin keeps its setup instructions the same way), so the
//! wording reads and is reviewed in one piece.

use crate::oidc::discovery::Flavor;
use crate::oidc::loopback::PORTLESS_CALLBACK;
use crate::report;

/// Any provider: the client RomM needs, in OIDC terms.
const OTHER: &str = "  At {issuer}: create a confidential client (client_secret_basic, authorization code flow, no PKCE requirement) with the redirect URI
      {callback}
  and make sure email and email_verified are put in the ID token for the email scope.";

/// Pocket ID: the clicks, for the version family at hand.
const POCKET_ID: &str = "  In Pocket ID at {issuer} — {version}:
   a. Settings → Admin → {verified}
   b. Settings → Admin → OIDC Clients → Add OIDC Client:
        Name:          RomM
        Callback URLs: {callback}
                       {loopback}   (only for the login test; remove it afterwards)
        Public client: off      PKCE: off   (RomM sends a secret and no PKCE)
      Save, then copy the Client ID and the Client secret — the secret is shown only once.";

/// Where Pocket ID 2.10+ marks emails verified.
const VERIFIED_MODERN: &str = "Application Configuration → Email → tick \"Emails verified by default\" (new users). Existing users: Settings → Admin → Users → edit → \"Mark as verified\".";

/// The same before 2.10, in both of its forms.
const VERIFIED_LEGACY: &str = "2.2–2.9: Application Configuration → Email → \"Emails verified by default\", and mark existing users verified under Users; before 2.2: Application Configuration → General → \"Emails Verified\".";

/// `template` with every `{name}` replaced by its value, made safe to print
/// (a value may come from the provider), in one pass: a value is never read
/// as a template.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 128);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let known = after.split_once('}').and_then(|(name, tail)| {
            let (_, value) = values.iter().find(|(n, _)| *n == name)?;
            Some((value, tail))
        });
        match known {
            Some((value, tail)) => {
                out.push_str(&report::clean(value));
                rest = tail;
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The steps to create RomM's client at the provider `issuer`, which
/// redirects back to `callback`.
pub fn provider_steps(flavor: &Flavor, issuer: &str, callback: &str) -> String {
    match flavor {
        Flavor::Other => fill(OTHER, &[("issuer", issuer), ("callback", callback)]),
        pocket_id => fill(
            POCKET_ID,
            &[
                ("issuer", issuer),
                ("version", pocket_id.describe()),
                (
                    "verified",
                    if *pocket_id == Flavor::PocketIdModern {
                        VERIFIED_MODERN
                    } else {
                        VERIFIED_LEGACY
                    },
                ),
                ("callback", callback),
                ("loopback", PORTLESS_CALLBACK),
            ],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::provider_steps;
    use crate::oidc::discovery::Flavor;

    const CALLBACK: &str = "https://romm.example.com/api/oauth/openid";

    #[test]
    fn every_placeholder_is_filled() {
        for flavor in [
            Flavor::PocketIdModern,
            Flavor::PocketIdLegacy,
            Flavor::Other,
        ] {
            let text = provider_steps(&flavor, "https://id.example.com", CALLBACK);
            assert!(!text.contains('{'), "{flavor:?}: {text}");
            assert!(text.contains("https://id.example.com"), "{text}");
            assert!(text.contains(CALLBACK), "{text}");
        }
    }

    #[test]
    fn pocket_id_steps_follow_the_version_family() {
        let modern = provider_steps(&Flavor::PocketIdModern, "https://id", CALLBACK);
        assert!(modern.contains("Pocket ID v2.10+"), "{modern}");
        assert!(
            modern.contains("tick \"Emails verified by default\""),
            "{modern}"
        );
        assert!(modern.contains("http://127.0.0.1/callback"), "{modern}");
        let legacy = provider_steps(&Flavor::PocketIdLegacy, "https://id", CALLBACK);
        assert!(legacy.contains("before 2.2"), "{legacy}");
    }

    #[test]
    fn a_value_cannot_break_the_lines_or_reach_the_terminal() {
        let text = provider_steps(&Flavor::Other, "https://id\n\x1b[2J", CALLBACK);
        assert!(text.contains("https://id\\n\\x1b[2J"), "{text}");
        assert_eq!(text.lines().count(), 3, "{text}");
        // A value is not a template.
        let text = provider_steps(&Flavor::Other, "https://{callback}", CALLBACK);
        assert!(text.contains("At https://{callback}:"), "{text}");
    }
}
