//! The verifier against RomM's verdicts, measured with Python 3.13's
//! `ssl.create_default_context(cafile=…)` handshaking with a local server on
//! OpenSSL 3.0.19, and cross-checked with OpenSSL 3.5.6 (pyOpenSSL with the
//! same flags): both gave the verdict and message of every case below.

#[path = "../../tests/support/certs.rs"]
#[expect(
    dead_code,
    reason = "the integration tests' PKI: these tests need no PEM or key"
)]
mod certs;

use certs::{CaSpec, LeafSpec, Validity, intermediate, leaf, root};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use super::*;

fn der(bytes: &[u8]) -> CertificateDer<'static> {
    CertificateDer::from(bytes.to_vec())
}

fn store(certs: &[&[u8]]) -> Trust {
    Trust {
        certs: certs.iter().map(|c| der(c)).collect(),
        source: "the test store".into(),
        notes: Vec::new(),
    }
}

/// RomM's verdict: `Ok` or OpenSSL's message; and whether rustls agrees.
fn verdicts(served: &[&[u8]], ca: &[&[u8]], host: &str) -> (Result<(), String>, bool) {
    let trust = store(ca);
    let ee = der(served[0]);
    let rest: Vec<_> = served[1..].iter().map(|c| der(c)).collect();
    let name = ServerName::try_from(host.to_string()).expect("host");
    let now = UnixTime::now();
    let romm = judge(&trust, &ee, &rest, &name, now).map_err(|r| r.openssl);
    let rustls = rustls_verdict(&trust, &ee, &rest, &name, now);
    (romm, rustls)
}

/// Asserts RomM's verdict, and that rustls says the same or (`differs`) not.
#[track_caller]
fn expect(served: &[&[u8]], ca: &[&[u8]], host: &str, romm: Result<(), &str>, differs: bool) {
    let (got, rustls) = verdicts(served, ca, host);
    assert_eq!(
        got,
        romm.map_err(str::to_string),
        "RomM's verdict ({host}, {} sent, {} in store)",
        served.len(),
        ca.len()
    );
    assert_eq!(
        rustls != got.is_ok(),
        differs,
        "rustls {} where RomM {}",
        if rustls { "accepts" } else { "refuses" },
        if got.is_ok() { "accepts" } else { "refuses" }
    );
}

const UNTRUSTED: &str = "unable to get local issuer certificate";

#[test]
fn a_root_ca_in_the_file_trusts_its_leaf_by_name_and_by_address() {
    let r = root(&CaSpec::default());
    let l = leaf(Some(&r), &LeafSpec::default());
    expect(&[&l.der], &[&r.der], "localhost", Ok(()), false);
    expect(&[&l.der], &[&r.der], "127.0.0.1", Ok(()), false);
    let other = root(&CaSpec {
        name: "another CA".into(),
        ..CaSpec::default()
    });
    expect(&[&l.der], &[&other.der], "localhost", Err(UNTRUSTED), false);
    expect(&[&l.der], &[&other.der, &r.der], "localhost", Ok(()), false);
}

#[test]
fn partial_chain_the_servers_own_certificate_in_the_file_is_trusted_as_itself() {
    let r = root(&CaSpec::default());
    let i = intermediate(&r, &CaSpec::intermediate());
    let l = leaf(Some(&r), &LeafSpec::default());
    expect(&[&l.der], &[&l.der], "localhost", Ok(()), true);
    // … also when the server sends its intermediate along.
    let li = leaf(Some(&i), &LeafSpec::default());
    expect(&[&li.der, &i.der], &[&li.der], "localhost", Ok(()), true);
    // An intermediate in the file is an anchor, sent or not.
    expect(&[&li.der, &i.der], &[&i.der], "localhost", Ok(()), false);
    expect(&[&li.der], &[&i.der], "localhost", Ok(()), false);
    // The root alone cannot bridge a missing intermediate.
    expect(&[&li.der], &[&r.der], "localhost", Err(UNTRUSTED), false);
    expect(&[&li.der, &i.der], &[&r.der], "localhost", Ok(()), false);
    expect(
        &[&li.der, &i.der, &r.der],
        &[&r.der],
        "localhost",
        Ok(()),
        false,
    );
}

#[test]
fn self_signed_server_certificates() {
    let s = leaf(None, &LeafSpec::default());
    expect(&[&s.der], &[&s.der], "localhost", Ok(()), false);
    let other = root(&CaSpec {
        name: "another CA".into(),
        ..CaSpec::default()
    });
    expect(
        &[&s.der],
        &[&other.der],
        "localhost",
        Err("self-signed certificate"),
        false,
    );
    // As `openssl req -x509` makes them: marked CA, which rustls refuses as a leaf.
    let ca_leaf = leaf(
        None,
        &LeafSpec {
            is_ca: true,
            ..LeafSpec::default()
        },
    );
    expect(&[&ca_leaf.der], &[&ca_leaf.der], "localhost", Ok(()), true);
    expect(
        &[&ca_leaf.der],
        &[&other.der],
        "localhost",
        Err("self-signed certificate"),
        false,
    );
    // A chain up to a root the server sends but the store lacks.
    let r = root(&CaSpec::default());
    let i = intermediate(&r, &CaSpec::intermediate());
    let l = leaf(Some(&i), &LeafSpec::default());
    expect(
        &[&l.der, &i.der, &r.der],
        &[&other.der],
        "localhost",
        Err("self-signed certificate in certificate chain"),
        false,
    );
}

/// Each RFC 5280 flaw of a CA, as the root in the file, as a sent
/// intermediate under a good root, and as the anchor itself.
#[test]
fn strict_rules_on_a_ca() {
    let good = root(&CaSpec::default());
    for (spec, message) in [
        (
            CaSpec {
                basic_constraints_critical: false,
                ..CaSpec::default()
            },
            "Basic Constraints of CA cert not marked critical",
        ),
        (
            CaSpec {
                key_usage: false,
                ..CaSpec::default()
            },
            "CA cert does not include key usage extension",
        ),
        (
            CaSpec {
                subject_key_id: false,
                ..CaSpec::default()
            },
            "Missing Subject Key Identifier",
        ),
    ] {
        let bad_root = root(&spec);
        let l = leaf(Some(&bad_root), &LeafSpec::default());
        expect(&[&l.der], &[&bad_root.der], "localhost", Err(message), true);
        // Pinning the server's own certificate takes the CA out of the chain.
        expect(&[&l.der], &[&l.der], "localhost", Ok(()), true);

        let bad_i = intermediate(
            &good,
            &CaSpec {
                name: "bad intermediate".into(),
                ..spec.clone()
            },
        );
        let li = leaf(Some(&bad_i), &LeafSpec::default());
        expect(
            &[&li.der, &bad_i.der],
            &[&good.der],
            "localhost",
            Err(message),
            true,
        );
        expect(
            &[&li.der, &bad_i.der],
            &[&bad_i.der],
            "localhost",
            Err(message),
            true,
        );
        // The pinned leaf still chains through the intermediate it is sent with.
        expect(
            &[&li.der, &bad_i.der],
            &[&li.der],
            "localhost",
            Err(message),
            false,
        );
    }
}

#[test]
fn strict_rules_on_authority_key_identifiers() {
    let r = root(&CaSpec::default());
    let l = leaf(
        Some(&r),
        &LeafSpec {
            authority_key_id: false,
            ..LeafSpec::default()
        },
    );
    let missing = "Missing Authority Key Identifier";
    expect(&[&l.der], &[&r.der], "localhost", Err(missing), true);
    expect(&[&l.der], &[&l.der], "localhost", Ok(()), true);
    // With its issuer in the file too, OpenSSL builds [leaf, root] and checks it.
    expect(
        &[&l.der],
        &[&l.der, &r.der],
        "localhost",
        Err(missing),
        true,
    );

    let i = intermediate(
        &r,
        &CaSpec {
            authority_key_id: false,
            ..CaSpec::intermediate()
        },
    );
    let li = leaf(Some(&i), &LeafSpec::default());
    expect(
        &[&li.der, &i.der],
        &[&r.der],
        "localhost",
        Err(missing),
        true,
    );
    // The top of the chain needs none.
    expect(&[&li.der, &i.der], &[&i.der], "localhost", Ok(()), false);
}

#[test]
fn validity_of_every_certificate_including_the_trusted_one() {
    let r = root(&CaSpec::default());
    let expired = "certificate has expired";
    let old = leaf(
        Some(&r),
        &LeafSpec {
            validity: Validity::Expired,
            ..LeafSpec::default()
        },
    );
    expect(&[&old.der], &[&r.der], "localhost", Err(expired), false);
    expect(&[&old.der], &[&old.der], "localhost", Err(expired), false);
    let early = leaf(
        Some(&r),
        &LeafSpec {
            validity: Validity::NotYetValid,
            ..LeafSpec::default()
        },
    );
    expect(
        &[&early.der],
        &[&r.der],
        "localhost",
        Err("certificate is not yet valid"),
        false,
    );
    // An expired root in the file: rustls ignores an anchor's dates, OpenSSL does not.
    let old_root = root(&CaSpec {
        validity: Validity::Expired,
        ..CaSpec::default()
    });
    let l = leaf(Some(&old_root), &LeafSpec::default());
    expect(&[&l.der], &[&old_root.der], "localhost", Err(expired), true);
    expect(&[&l.der], &[&l.der], "localhost", Ok(()), true);
    let old_i = intermediate(
        &r,
        &CaSpec {
            validity: Validity::Expired,
            ..CaSpec::intermediate()
        },
    );
    let li = leaf(Some(&old_i), &LeafSpec::default());
    expect(
        &[&li.der, &old_i.der],
        &[&old_i.der],
        "localhost",
        Err(expired),
        true,
    );
    expect(
        &[&li.der, &old_i.der],
        &[&r.der],
        "localhost",
        Err(expired),
        false,
    );
}

#[test]
fn host_names_as_openssl_checks_them() {
    let r = root(&CaSpec::default());
    let other = leaf(
        Some(&r),
        &LeafSpec::names(&["id.example.com", "*.example.org"]),
    );
    let mismatch = "Hostname mismatch, certificate is not valid for 'localhost'.";
    expect(&[&other.der], &[&r.der], "localhost", Err(mismatch), false);
    // A name mismatch stays one when the certificate is trusted as itself.
    expect(
        &[&other.der],
        &[&other.der],
        "localhost",
        Err(mismatch),
        false,
    );
    expect(&[&other.der], &[&r.der], "id.example.com", Ok(()), false);
    expect(&[&other.der], &[&r.der], "a.example.org", Ok(()), false);
    expect(
        &[&other.der],
        &[&r.der],
        "a.b.example.org",
        Err("Hostname mismatch, certificate is not valid for 'a.b.example.org'."),
        false,
    );
    // Without a DNS subjectAltName, OpenSSL falls back to the common name.
    let cn_only = leaf(
        Some(&r),
        &LeafSpec {
            names: vec![],
            ..LeafSpec::default()
        },
    );
    expect(&[&cn_only.der], &[&r.der], "localhost", Ok(()), true);
    let ip_cn = LeafSpec {
        names: vec![],
        common_name: "127.0.0.1".into(),
        ..LeafSpec::default()
    };
    let ip_cn = leaf(Some(&r), &ip_cn);
    expect(
        &[&ip_cn.der],
        &[&r.der],
        "127.0.0.1",
        Err("IP address mismatch, certificate is not valid for '127.0.0.1'."),
        false,
    );
    let ip_san = LeafSpec {
        names: vec!["127.0.0.1".into()],
        ..LeafSpec::default()
    };
    let ip_san = leaf(Some(&r), &ip_san);
    expect(&[&ip_san.der], &[&r.der], "localhost", Ok(()), true);
    // `*.localhost` has one label after the star: no match for OpenSSL or rustls.
    let star = leaf(Some(&r), &LeafSpec::names(&["*.localhost"]));
    expect(
        &[&star.der],
        &[&r.der],
        "id.localhost",
        Err("Hostname mismatch, certificate is not valid for 'id.localhost'."),
        false,
    );
}

#[test]
fn a_certificate_for_tls_clients_only_is_unsuitable() {
    let r = root(&CaSpec::default());
    let client = leaf(
        Some(&r),
        &LeafSpec {
            server_auth: false,
            ..LeafSpec::default()
        },
    );
    let unsuitable = "unsuitable certificate purpose";
    expect(
        &[&client.der],
        &[&r.der],
        "localhost",
        Err(unsuitable),
        false,
    );
    expect(
        &[&client.der],
        &[&client.der],
        "localhost",
        Err(unsuitable),
        false,
    );
}

#[test]
fn a_refusal_names_the_covered_names_and_tests_the_advice() {
    let r = root(&CaSpec::default());
    let other = leaf(Some(&r), &LeafSpec::names(&["id.example.com", "10.0.0.7"]));
    let host = ServerName::try_from("localhost").expect("host");
    let refusal = judge(
        &store(&[&r.der]),
        &der(&other.der),
        &[],
        &host,
        UnixTime::now(),
    )
    .expect_err("a name mismatch");
    assert_eq!(
        refusal.reason,
        Reason::Name {
            host: "localhost".into(),
            covered: vec!["id.example.com".into(), "10.0.0.7".into()],
        }
    );
    // Untrusted: the last certificate sent (the leaf) would do, and is the leaf.
    let l = leaf(Some(&r), &LeafSpec::default());
    let untrusted =
        judge(&store(&[]), &der(&l.der), &[], &host, UnixTime::now()).expect_err("untrusted");
    assert_eq!(untrusted.reason, Reason::Untrusted);
    assert_eq!(
        (untrusted.last_sent, untrusted.last_is_leaf),
        (Some(true), true)
    );
    assert!(untrusted.last_issuer.contains("romm-oidc test root CA"));
    // A sent intermediate that breaks a strict rule: exporting it does not help.
    let bad_i = intermediate(
        &r,
        &CaSpec {
            basic_constraints_critical: false,
            ..CaSpec::intermediate()
        },
    );
    let li = leaf(Some(&bad_i), &LeafSpec::default());
    let refused = judge(
        &store(&[]),
        &der(&li.der),
        &[der(&bad_i.der)],
        &host,
        UnixTime::now(),
    )
    .expect_err("untrusted");
    assert_eq!(
        (refused.last_sent, refused.last_is_leaf),
        (Some(false), false)
    );
    assert!(!refused.leaf_pin);
}

#[test]
fn subject_hashes_are_the_ones_openssl_rehash_uses() {
    // `openssl x509 -noout -hash` (OpenSSL 3.0.19) of certificates with these subjects.
    for (names, hash) in [
        (
            &[(rcgen::DnType::CommonName, "romm-oidc test root CA")][..],
            0xade6_b206_u32,
        ),
        (&[(rcgen::DnType::CommonName, "localhost")][..], 0xce27_5665),
        (
            &[(rcgen::DnType::CommonName, "  Mixed   CASE  Name ")][..],
            0xf7ef_3b8c,
        ),
        (
            &[(rcgen::DnType::CommonName, "mixed case name")][..],
            0xf7ef_3b8c,
        ),
        (
            &[
                (rcgen::DnType::CountryName, "DE"),
                (rcgen::DnType::OrganizationName, "Example GmbH"),
                (rcgen::DnType::CommonName, "Example Root"),
            ][..],
            0xbf57_88ea,
        ),
        (
            &[
                (rcgen::DnType::CommonName, "Ünïcödé Root"),
                (rcgen::DnType::OrganizationName, "straße"),
            ][..],
            0xd839_4787,
        ),
    ] {
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        for (kind, value) in names {
            params.distinguished_name.push(kind.clone(), *value);
        }
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("cert");
        let parsed = Cert::parse(cert.der(), true).expect("parse");
        assert_eq!(name_hash(parsed.x.subject()), Some(hash), "{names:?}");
    }
}

#[test]
fn hashed_names_follow_openssl_rehash() {
    assert_eq!(hashed_name("ade6b206.0"), Some((0xade6_b206, 0)));
    assert_eq!(hashed_name("ade6b206.12"), Some((0xade6_b206, 12)));
    for not in [
        "ADE6B206.0",
        "ade6b20.0",
        "ade6b206.r0",
        "ade6b206",
        "ca.pem",
        "ade6b206.0.pem",
    ] {
        assert_eq!(hashed_name(not), None, "{not}");
    }
}

#[test]
fn a_capath_directory_is_read_as_openssl_reads_it() {
    let r = root(&CaSpec::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let shown = dir.path().display().to_string();
    // Only a plain file: OpenSSL never reads it.
    std::fs::write(dir.path().join("ca.pem"), &r.pem).expect("write");
    let err = Trust::from_ca_path(dir.path()).expect_err("no hashed name");
    assert!(
        format!("{err:#}").contains("unable to get local issuer certificate"),
        "{err:#}"
    );
    // Under a hashed name for another subject: never found either.
    std::fs::write(dir.path().join("0badc0de.0"), &r.pem).expect("write");
    let err = Trust::from_ca_path(dir.path()).expect_err("wrong hash");
    assert!(format!("{err:#}").contains("openssl rehash"), "{err:#}");
    // Under its own hash (as `openssl rehash` names it), after a gap: unread.
    std::fs::write(dir.path().join("ade6b206.1"), &r.pem).expect("write");
    assert!(Trust::from_ca_path(dir.path()).is_err());
    std::fs::write(dir.path().join("ade6b206.0"), &r.pem).expect("write");
    let trust = Trust::from_ca_path(dir.path()).expect("hashed");
    assert_eq!(trust.certs.len(), 2, "{:?}", trust.notes);
    assert!(trust.source.contains(&shown));
    assert!(
        trust.notes.iter().any(|n| n.contains("0badc0de.0")),
        "{:?}",
        trust.notes
    );
}
