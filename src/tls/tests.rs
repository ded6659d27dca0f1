//! The verifier against RomM's verdicts, measured with Python 3.13's
//! `ssl.create_default_context(cafile=…)` handshaking with a local server on
//! OpenSSL 3.0.19, and cross-checked with OpenSSL 3.5.6 (pyOpenSSL with the
//! same flags): both gave the verdict and message of every case below.

use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use test_pki::{CaSpec, LeafSpec, Validity, intermediate, leaf, root};

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

/// A CA for the strict-rule cases: its certificate and what signs with it.
struct MadeCa {
    der: Vec<u8>,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

fn extension(oid: &[u64], critical: bool, content: Vec<u8>) -> rcgen::CustomExtension {
    let mut ext = rcgen::CustomExtension::from_oid_content(oid, content);
    ext.set_criticality(critical);
    ext
}

fn sequence(items: impl FnOnce(&mut yasna::DERWriterSeq)) -> Vec<u8> {
    yasna::construct_der(|w| w.write_sequence(items))
}

/// A well-formed CA named `name`, as `edit` changes it, self-signed or
/// signed by `parent`.
fn make_ca(
    name: &str,
    parent: Option<&MadeCa>,
    edit: impl FnOnce(&mut rcgen::CertificateParams),
) -> MadeCa {
    use rcgen::{BasicConstraints, DnType, IsCa, KeyUsagePurpose};
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.use_authority_key_identifier_extension = parent.is_some();
    edit(&mut params);
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = match parent {
        Some(p) => params.signed_by(&key, &p.issuer),
        None => params.self_signed(&key),
    }
    .expect("sign");
    MadeCa {
        der: cert.der().to_vec(),
        issuer: rcgen::Issuer::new(params, key),
    }
}

/// A well-formed server certificate for localhost, as `edit` changes it,
/// signed by `ca`.
fn make_leaf(ca: &MadeCa, edit: impl FnOnce(&mut rcgen::CertificateParams)) -> Vec<u8> {
    use rcgen::{DnType, ExtendedKeyUsagePurpose, KeyUsagePurpose, SanType};
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.subject_alt_names = vec![SanType::DnsName("localhost".try_into().expect("name"))];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    edit(&mut params);
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, &ca.issuer).expect("sign");
    cert.der().to_vec()
}

const BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
const KEY_USAGE: &[u64] = &[2, 5, 29, 15];
const SUBJECT_ALT_NAME: &[u64] = &[2, 5, 29, 17];
const SUBJECT_KEY_ID: &[u64] = &[2, 5, 29, 14];
const AUTHORITY_KEY_ID: &[u64] = &[2, 5, 29, 35];

/// RomM's verdict on `sent` (the server's certificate first) with `trusted`
/// as the store: `Ok` or OpenSSL's message.
fn verdict(sent: &[&[u8]], trusted: &[u8]) -> Result<(), String> {
    let host = ServerName::try_from("localhost").expect("host");
    let rest: Vec<_> = sent[1..].iter().map(|c| der(c)).collect();
    judge(
        &store(&[trusted]),
        &der(sent[0]),
        &rest,
        &host,
        UnixTime::now(),
    )
    .map_err(|r| r.openssl)
}

/// One case: the certificates the server sends (its own first), the one in
/// the store, and RomM's verdict.
type Case<'a> = (
    &'static str,
    Vec<Vec<u8>>,
    &'a [u8],
    Result<(), &'static str>,
);

/// Every verdict here is the one `openssl verify -x509_strict -partial_chain
/// -purpose sslserver -verify_hostname localhost` (OpenSSL 3.0.19) and
/// pyOpenSSL on OpenSSL 3.5.2 (the same flags and purpose) give on the same
/// certificates.
#[track_caller]
fn expect_verdicts(cases: Vec<Case<'_>>) {
    for (name, sent, trusted, want) in cases {
        let sent: Vec<&[u8]> = sent.iter().map(Vec::as_slice).collect();
        assert_eq!(
            verdict(&sent, trusted),
            want.map_err(str::to_string),
            "{name}"
        );
    }
}

/// Each strict rule of OpenSSL's `check_extensions`, broken by the server's
/// certificate under a trusted root.
#[test]
fn strict_rules_on_the_servers_certificate() {
    use rcgen::{IsCa, KeyUsagePurpose};
    let root = make_ca("strict root", None, |_| {});
    let without_subject = |p: &mut rcgen::CertificateParams| {
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.subject_alt_names.clear();
    };
    let localhost = |w: &mut yasna::DERWriterSeq| {
        w.next()
            .write_tagged_implicit(yasna::Tag::context(2), |w| w.write_ia5_string("localhost"))
    };
    // The outer signatureAlgorithm (outside the signed part) says SHA-384.
    let mut other_algorithm = make_leaf(&root, |_| {});
    let ecdsa_sha256 = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
    let outer = other_algorithm
        .windows(ecdsa_sha256.len())
        .rposition(|w| w == ecdsa_sha256)
        .expect("an ECDSA P-256 signature");
    other_algorithm[outer + ecdsa_sha256.len() - 1] = 0x03;
    let leaf = |edit: &dyn Fn(&mut rcgen::CertificateParams)| vec![make_leaf(&root, edit)];
    expect_verdicts(vec![
        ("well formed", leaf(&|_| {}), &root.der, Ok(())),
        (
            "pathlen on a non-CA",
            leaf(&|p| {
                let pathlen = sequence(|w| w.next().write_u8(0));
                p.custom_extensions = vec![extension(BASIC_CONSTRAINTS, true, pathlen)];
            }),
            &root.der,
            Err("Path length invalid for non-CA cert"),
        ),
        (
            "pathlen without keyCertSign",
            leaf(&|p| {
                let ca_pathlen = sequence(|w| {
                    w.next().write_bool(true);
                    w.next().write_u8(0);
                });
                p.custom_extensions = vec![extension(BASIC_CONSTRAINTS, true, ca_pathlen)];
            }),
            &root.der,
            Err("Path length given without key usage keyCertSign"),
        ),
        (
            "keyCertSign on a non-CA",
            leaf(&|p| {
                p.is_ca = IsCa::ExplicitNoCa;
                p.key_usages.push(KeyUsagePurpose::KeyCertSign);
            }),
            &root.der,
            Err("Key usage keyCertSign invalid for non-CA cert"),
        ),
        (
            "subject empty, no subjectAltName",
            leaf(&without_subject),
            &root.der,
            Err("Subject name empty"),
        ),
        (
            "subject empty, subjectAltName not critical",
            leaf(&|p| {
                without_subject(p);
                p.custom_extensions = vec![extension(SUBJECT_ALT_NAME, false, sequence(localhost))];
            }),
            &root.der,
            Err("Subject empty and Subject Alt Name extension not critical"),
        ),
        (
            "subjectAltName empty",
            leaf(&|p| {
                p.subject_alt_names.clear();
                p.custom_extensions = vec![extension(SUBJECT_ALT_NAME, false, sequence(|_| {}))];
            }),
            &root.der,
            Err("Empty Subject Alternative Name extension"),
        ),
        (
            "signature algorithms differ",
            vec![other_algorithm],
            &root.der,
            Err("cert info signature and signature algorithm mismatch"),
        ),
    ]);
}

/// An empty issuer name, and key identifiers marked critical: OpenSSL's
/// strict rules for those never apply, because OpenSSL does not handle the
/// key identifier extensions and refuses them as such first.
#[test]
fn names_and_critical_key_identifiers() {
    use rcgen::{IsCa, KeyIdMethod};
    let key_id = vec![7u8; 20];
    let unnamed_root = make_ca("", None, |p| {
        p.distinguished_name = rcgen::DistinguishedName::new();
    });
    let root_with_id = make_ca("strict root with a given key id", None, |p| {
        p.key_identifier_method = KeyIdMethod::PreSpecified(key_id.clone());
    });
    // Its one subjectKeyIdentifier marked critical.
    let skid_critical_root = make_ca("strict root, critical key id", None, |p| {
        p.is_ca = IsCa::NoCa;
        p.key_identifier_method = KeyIdMethod::PreSpecified(key_id.clone());
        let ca = sequence(|w| w.next().write_bool(true));
        let skid = yasna::construct_der(|w| w.write_bytes(&key_id));
        p.custom_extensions = vec![
            extension(BASIC_CONSTRAINTS, true, ca),
            extension(SUBJECT_KEY_ID, true, skid),
        ];
    });
    let akid_critical = make_leaf(&root_with_id, |p| {
        p.use_authority_key_identifier_extension = false;
        let akid = sequence(|w| {
            w.next()
                .write_tagged_implicit(yasna::Tag::context(0), |w| w.write_bytes(&key_id))
        });
        p.custom_extensions = vec![extension(AUTHORITY_KEY_ID, true, akid)];
    });
    expect_verdicts(vec![
        (
            "issuer empty",
            vec![make_leaf(&unnamed_root, |_| {})],
            &unnamed_root.der,
            Err("Issuer name empty"),
        ),
        (
            "authorityKeyIdentifier critical",
            vec![akid_critical],
            &root_with_id.der,
            Err("unhandled critical extension"),
        ),
        (
            "subjectKeyIdentifier critical",
            vec![make_leaf(&skid_critical_root, |_| {})],
            &skid_critical_root.der,
            Err("unhandled critical extension"),
        ),
    ]);
}

/// The CA rules of `check_extensions` on the certificates above the server's.
#[test]
fn the_cas_of_a_chain() {
    use rcgen::{BasicConstraints, IsCa};
    let root = make_ca("strict root", None, |_| {});
    let pathlen_root = make_ca("strict root, pathlen 0", None, |p| {
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    });
    let below_pathlen = make_ca("intermediate below pathlen 0", Some(&pathlen_root), |_| {});
    let not_a_ca = make_ca("intermediate that is not a CA", Some(&root), |p| {
        p.is_ca = IsCa::ExplicitNoCa;
    });
    expect_verdicts(vec![
        (
            "an intermediate that is not a CA",
            vec![make_leaf(&not_a_ca, |_| {}), not_a_ca.der.clone()],
            &root.der,
            Err("invalid CA certificate"),
        ),
        (
            "pathlen exceeded",
            vec![make_leaf(&below_pathlen, |_| {}), below_pathlen.der.clone()],
            &pathlen_root.der,
            Err("path length constraint exceeded"),
        ),
    ]);
}

/// A way to spoil a certificate, and RomM's verdicts with it as the
/// server's certificate under a trusted root, as the server's certificate
/// trusted as itself, as a sent intermediate under a trusted root, and as
/// the trusted intermediate.
struct Defect {
    what: &'static str,
    edit: Box<dyn Fn(&mut rcgen::CertificateParams)>,
    verdicts: [&'static str; 4],
}

/// What OpenSSL finds invalid (an extension it reads twice, unreadable or
/// empty): such a certificate is linked to no issuer and, trusted as
/// itself, fit for no purpose. And a critical extension OpenSSL does not
/// handle, refused wherever it stands.
fn defects() -> Vec<Defect> {
    const INVALID: [&str; 4] = [
        UNTRUSTED,
        "unsuitable certificate purpose",
        UNTRUSTED,
        UNTRUSTED,
    ];
    let only = |ext: rcgen::CustomExtension| {
        move |p: &mut rcgen::CertificateParams| p.custom_extensions = vec![ext.clone()]
    };
    let null = || vec![0x05, 0x00];
    let skid = yasna::construct_der(|w| w.write_bytes(&[1, 2, 3]));
    let defect = |what, edit: Box<dyn Fn(&mut rcgen::CertificateParams)>| Defect {
        what,
        edit,
        verdicts: INVALID,
    };
    vec![
        defect(
            "an empty keyUsage",
            Box::new(|p| {
                p.key_usages.clear();
                p.custom_extensions = vec![extension(KEY_USAGE, true, vec![0x03, 0x01, 0x00])];
            }),
        ),
        defect(
            "a negative pathLenConstraint",
            Box::new(|p| {
                p.is_ca = rcgen::IsCa::NoCa;
                let negative = vec![0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0xff];
                p.custom_extensions = vec![extension(BASIC_CONSTRAINTS, true, negative)];
            }),
        ),
        defect(
            "two subjectKeyIdentifiers",
            Box::new(move |p| {
                let twice = extension(SUBJECT_KEY_ID, false, skid.clone());
                p.custom_extensions = vec![twice.clone(), twice];
            }),
        ),
        defect(
            "an unreadable keyUsage",
            Box::new(move |p| {
                p.key_usages.clear();
                p.custom_extensions = vec![extension(KEY_USAGE, true, null())];
            }),
        ),
        defect(
            "an unreadable basicConstraints",
            Box::new(move |p| {
                p.is_ca = rcgen::IsCa::NoCa;
                p.custom_extensions = vec![extension(BASIC_CONSTRAINTS, true, null())];
            }),
        ),
        defect(
            "an unreadable subjectAltName",
            Box::new(move |p| {
                p.subject_alt_names.clear();
                p.custom_extensions = vec![extension(SUBJECT_ALT_NAME, false, null())];
            }),
        ),
        defect(
            "an unreadable extendedKeyUsage",
            Box::new(move |p| {
                p.extended_key_usages.clear();
                p.custom_extensions = vec![extension(&[2, 5, 29, 37], false, null())];
            }),
        ),
        Defect {
            what: "an unknown critical extension",
            edit: Box::new(only(extension(&[1, 2, 3, 4], true, null()))),
            verdicts: ["unhandled critical extension"; 4],
        },
    ]
}

/// Each of [`defects`] in each of its four places (verdicts measured as in
/// [`expect_verdicts`]).
#[test]
fn certificates_openssl_finds_invalid_or_cannot_handle() {
    let root = make_ca("defects root", None, |_| {});
    for Defect {
        what,
        edit,
        verdicts,
    } in defects()
    {
        let leaf = make_leaf(&root, &edit);
        let bad_ca = make_ca("defective intermediate", Some(&root), &edit);
        let below = make_leaf(&bad_ca, |_| {});
        let got = [
            verdict(&[&leaf], &root.der),
            verdict(&[&leaf], &leaf),
            verdict(&[&below, &bad_ca.der], &root.der),
            verdict(&[&below, &bad_ca.der], &bad_ca.der),
        ];
        assert_eq!(got, verdicts.map(|v| Err(v.to_string())), "{what}");
    }
}

/// The refusal and the store's notes say which certificate OpenSSL cannot
/// use, and why.
#[test]
fn an_invalid_certificate_is_named_with_its_defect() {
    let root = make_ca("defects root", None, |_| {});
    let bad_ca = make_ca("defective intermediate", Some(&root), |p| {
        p.key_usages.clear();
        p.custom_extensions = vec![extension(KEY_USAGE, true, vec![0x03, 0x01, 0x00])];
    });
    let below = make_leaf(&bad_ca, |_| {});
    let host = ServerName::try_from("localhost").expect("host");
    let refusal = judge(
        &store(&[&root.der]),
        &der(&below),
        &[der(&bad_ca.der)],
        &host,
        UnixTime::now(),
    )
    .expect_err("untrusted");
    assert_eq!(
        refusal.detail,
        "OpenSSL cannot use 'CN=defective intermediate', the issuer of 'CN=localhost': its keyUsage extension allows nothing."
    );
    assert_eq!(
        store(&[&bad_ca.der]).anchor_warnings(UnixTime::now()),
        [
            "'CN=defective intermediate': its keyUsage extension allows nothing, so RomM's OpenSSL never uses it"
        ]
    );
    assert!(store(&[&below]).anchor_warnings(UnixTime::now()).is_empty());
}

/// No root in Mozilla's list (certifi's, and the container's) has a defect
/// that makes OpenSSL ignore it, nor a critical extension OpenSSL does not
/// handle: on real CAs, the readers here are no stricter than OpenSSL's.
#[test]
fn mozillas_roots_are_usable_as_openssl_reads_them() {
    for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        let c = Cert::parse(der, true).expect("a root certificate");
        assert_eq!(
            (c.defect(), c.unhandled_critical(), check_ca(&c)),
            (None, None, 1),
            "{}",
            c.name()
        );
    }
}

/// A certificate's names against hosts, as Python 3.13's `ssl` on OpenSSL
/// 3.0.19 judged them in real handshakes, each name as the certificate's
/// only common name and (for the wildcards) as its only subjectAltName.
#[test]
fn names_match_hosts_as_openssl_matches_them() {
    for (name, host, matches) in [
        ("*.example.com", "a.example.com", true),
        ("*.example.com", "A.Example.COM", true),
        ("*.example.com", "xn--bcher-kva.example.com", true),
        ("*.example.com", "example.com", false),
        ("*.example.com", "a.b.example.com", false),
        ("*.example.com", "a_b.example.com", false),
        ("*.com", "a.com", false),
        ("f*.example.com", "foo.example.com", false),
        ("f*.example.com", "f.example.com", false),
        ("a.*.example.com", "a.b.example.com", false),
        ("*", "localhost", false),
        ("EXAMPLE.com", "example.com", true),
        ("example.com.", "example.com", false),
        ("example.com.", "example.com.", true),
        ("*.xn--bcher-kva.example", "a.xn--bcher-kva.example", true),
    ] {
        assert_eq!(name_matches(name, host), matches, "{name} vs {host}");
    }
    // The subjectAltName follows the same rule (webpki's would let `_` through).
    let root = make_ca("names root", None, |_| {});
    let wildcard = make_leaf(&root, |p| {
        p.subject_alt_names = vec![rcgen::SanType::DnsName(
            "*.example.com".try_into().expect("name"),
        )];
    });
    let host = ServerName::try_from("a_b.example.com").expect("host");
    let refusal = judge(
        &store(&[&root.der]),
        &der(&wildcard),
        &[],
        &host,
        UnixTime::now(),
    )
    .expect_err("a mismatch");
    assert_eq!(
        refusal.openssl,
        "Hostname mismatch, certificate is not valid for 'a_b.example.com'."
    );
}
