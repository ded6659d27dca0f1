//! `client.redirect-uri` against panva's `oidc-provider` (tests/peer): RomM's
//! own authorization request, sent once and never followed, judged by what a
//! standards-following provider answers before any sign-in. The Pocket ID
//! cases (both profiles) are in tests/network_checks.rs.

use crate::support::peer::Peer;
use crate::support::prelude::*;

const SECRET: &str = "s3cret-Xk93pQ7zLm20Wd55-abcdefgh";
const CALLBACK: &str = "https://romm.example.com/api/oauth/openid";

fn peer_with(clients: Value, pkce: bool) -> Peer {
    Peer::start(json!({ "clients": clients, "pkce": pkce }))
}

fn romm_client(redirect: &str) -> Value {
    json!({ "client_id": "romm", "client_secret": SECRET, "redirect_uris": [redirect] })
}

/// `doctor --json` against the peer with RomM's callback `redirect`; the
/// network is loopback only, so no proxy is in the way.
fn doctor(peer: &Peer, client_id: &str, redirect: &str) -> Value {
    let sb = Sandbox::new();
    let args = Args::new()
        .set("--issuer", &peer.issuer)
        .set("--client-id", client_id)
        .set("--client-secret", SECRET)
        .set("--redirect-uri", redirect)
        .set("--provider", "keycloak");
    let r = run_loopback(&sb, &["doctor", "--json", "--timeout", "5"], &args, &[]);
    serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\npeer:\n{}", r.show(), peer.stderr()))
}

#[test]
fn registered_callback_is_accepted_before_sign_in() {
    let peer = peer_with(json!([romm_client(CALLBACK)]), false);
    let v = doctor(&peer, "romm", CALLBACK);
    let t = expect_status(&v, "client.redirect-uri", &["pass"]);
    assert!(t.contains("redirects to its sign-in"), "{t}");
    assert!(t.contains("/interaction/"), "shows where it went: {t}");
}

#[test]
fn unregistered_callback_fails_with_the_providers_error() {
    let peer = peer_with(json!([romm_client(CALLBACK)]), false);
    let other = "https://romm.example.com:8443/api/oauth/openid";
    let v = doctor(&peer, "romm", other);
    let t = expect_status(&v, "client.redirect-uri", &["fail"]);
    for part in [
        "invalid_redirect_uri",
        "HTTP 400",
        other,
        "Keycloak → Clients → romm → Settings → Valid redirect URIs",
    ] {
        assert!(t.contains(part), "{part:?} missing:\n{t}");
    }
    // Everything the doctor could see before passes: only this check knew.
    expect_status(&v, "client.credentials", &["pass"]);
    assert_eq!(v["verdict"]["status"], "fail");
}

#[test]
fn unknown_client_fails_naming_the_client_id() {
    let peer = peer_with(json!([romm_client(CALLBACK)]), false);
    let v = doctor(&peer, "not-romm", CALLBACK);
    let t = expect_status(&v, "client.redirect-uri", &["fail"]);
    assert!(
        t.contains("invalid_client") && t.contains("OIDC_CLIENT_ID"),
        "{t}"
    );
}

#[test]
fn errors_sent_to_romms_callback_fail_as_romms_oauth_error() {
    // PKCE required: the callback is accepted, RomM's request (no PKCE) is not.
    let peer = peer_with(json!([romm_client(CALLBACK)]), true);
    let v = doctor(&peer, "romm", CALLBACK);
    let t = expect_status(&v, "client.redirect-uri", &["fail"]);
    for part in [
        "accepted RomM's callback",
        "invalid_request",
        "PKCE",
        "OAuthError",
    ] {
        assert!(t.contains(part), "{part:?} missing:\n{t}");
    }
    // A client allowed fewer scopes than RomM asks for.
    let mut client = romm_client(CALLBACK);
    client["scope"] = json!("openid email");
    let peer = peer_with(json!([client]), false);
    let v = doctor(&peer, "romm", CALLBACK);
    let t = expect_status(&v, "client.redirect-uri", &["fail"]);
    assert!(
        t.contains("invalid_scope") && t.contains("OIDC_CLAIM_ROLES"),
        "{t}"
    );
}
