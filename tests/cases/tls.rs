//! The doctor's TLS verdicts, end to end: the real binary against the Pocket ID
//! emulator serving certificate chains made here, each case both ways. The
//! expected verdicts are RomM's: Python 3.13's default context (partial chain,
//! strict RFC 5280) as measured on OpenSSL 3.0 and 3.5; the last test
//! re-measures the cases with RomM's own httpx (the RomM double's pinned set)
//! against the same servers.

use crate::support::prelude::*;
use crate::support::romm_double;
use std::path::{Path, PathBuf};
use std::process::Command;

use pocket_id_emulator::{Config, Emulator, TlsChain};
use test_pki::{Ca, CaSpec, Leaf, LeafSpec, Validity, intermediate, leaf, root};

/// OpenSSL's subject hash of `CN=romm-oidc test root CA` (`openssl x509 -hash`),
/// the name `openssl rehash` gives the root's file.
const ROOT_HASH: &str = "ade6b206";

/// An emulator serving `chain` (leaf first); `by_name` makes its issuer
/// `https://localhost:<port>` instead of `https://127.0.0.1:<port>`.
fn serve(chain: &[&[u8]], key: &Leaf, by_name: bool) -> Emulator {
    emulator::pocket_id(Config {
        tls_chain: Some(TlsChain {
            certs: chain.iter().map(|c| c.to_vec()).collect(),
            key: key.key_der.clone(),
        }),
        split_internal_url: by_name,
        ..Config::default()
    })
}

fn pem(certs: &[&str]) -> String {
    certs.concat()
}

/// `doctor --json` with loopback exempt from the sandbox's dead proxy.
fn doctor(sb: &Sandbox, args: &Args, env: &[(&str, &str)]) -> Value {
    sandbox::doctor_loopback(sb, args, "5", env).0
}

fn with_ca(sb: &Sandbox, e: &Emulator, name: &str, contents: &str) -> Value {
    let file = sb.file(name, contents);
    doctor(
        sb,
        &settings(e).set("--ca-file", &file.display().to_string()),
        &[],
    )
}

/// discovery.fetch passes, or fails with every one of `words`.
#[track_caller]
fn fetch(report: &Value, verdict: Result<(), &[&str]>) -> String {
    match verdict {
        Ok(()) => expect_status(report, "discovery.fetch", &["pass"]),
        Err(words) => {
            let t = expect_status(report, "discovery.fetch", &["fail"]);
            for w in words {
                assert!(
                    t.contains(w),
                    "discovery.fetch should say {w:?}:\n{:#}",
                    check(report, "discovery.fetch")
                );
            }
            t
        }
    }
}

fn field(report: &Value, name: &str) -> String {
    check(report, "discovery.fetch")[name]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

struct Pki {
    root: Ca,
    inter: Ca,
}

fn pki() -> Pki {
    let root = root(&CaSpec::default());
    let inter = intermediate(&root, &CaSpec::intermediate());
    Pki { root, inter }
}

#[test]
fn the_servers_own_certificate_in_the_ca_file_is_trusted_as_in_romm() {
    let p = pki();
    let l = leaf(Some(&p.root), &LeafSpec::default());
    let e = serve(&[&l.der], &l, false);
    let sb = Sandbox::new();
    let r = with_ca(&sb, &e, "leaf.pem", &l.pem);
    fetch(&r, Ok(()));
    expect_status(&r, "tls.ca-file", &["pass"]);
    expect_status(&r, "jwks.keys", &["pass"]);
    // Another server's certificate is not.
    let other = leaf(Some(&p.root), &LeafSpec::default());
    let r = with_ca(&sb, &e, "other.pem", &other.pem);
    fetch(
        &r,
        Err(&["not trusted", "unable to get local issuer certificate"]),
    );
}

#[test]
fn following_the_untrusted_advice_makes_a_file_romm_accepts() {
    let p = pki();
    // The provider sends only its leaf: the advice names the CA, and allows the leaf.
    let l = leaf(Some(&p.root), &LeafSpec::default());
    let e = serve(&[&l.der], &l, false);
    let sb = Sandbox::new();
    let r = doctor(&sb, &settings(&e), &[]);
    fetch(
        &r,
        Err(&["not trusted", "unable to get local issuer certificate"]),
    );
    let fix = field(&r, "fix");
    for w in [
        "OIDC_TLS_CACERTFILE",
        "--ca-file",
        "romm-oidc test root CA",
        "s_client",
        "renewal",
    ] {
        assert!(fix.contains(w), "fix should say {w:?}: {fix}");
    }
    assert!(
        text(check(&r, "tls.ca-file")).contains("Mozilla"),
        "tls.ca-file should name the default store:\n{:#}",
        check(&r, "tls.ca-file")
    );
    // The one certificate `openssl s_client -showcerts` prints, and the CA.
    fetch(&with_ca(&sb, &e, "last.pem", &l.pem), Ok(()));
    fetch(&with_ca(&sb, &e, "root.pem", &p.root.pem), Ok(()));

    // The provider sends leaf + intermediate: keeping the last one works.
    let li = leaf(Some(&p.inter), &LeafSpec::default());
    let e = serve(&[&li.der, &p.inter.der], &li, false);
    let r = doctor(&sb, &settings(&e), &[]);
    let fix = field(&r, "fix");
    assert!(fix.contains("keep the last certificate"), "{fix}");
    fetch(&with_ca(&sb, &e, "inter.pem", &p.inter.pem), Ok(()));
}

#[test]
fn an_intermediate_in_the_ca_file_is_an_anchor_and_a_root_needs_it_sent() {
    let p = pki();
    let li = leaf(Some(&p.inter), &LeafSpec::default());
    let sb = Sandbox::new();
    let e = serve(&[&li.der], &li, false);
    fetch(&with_ca(&sb, &e, "inter.pem", &p.inter.pem), Ok(()));
    let r = with_ca(&sb, &e, "root.pem", &p.root.pem);
    fetch(&r, Err(&["unable to get local issuer certificate"]));
    let e = serve(&[&li.der, &p.inter.der], &li, false);
    fetch(&with_ca(&sb, &e, "root.pem", &p.root.pem), Ok(()));
}

#[test]
fn a_ca_whose_basic_constraints_are_not_critical_fails_as_in_romm() {
    let spec = CaSpec {
        basic_constraints_critical: false,
        ..CaSpec::default()
    };
    let bad = root(&spec);
    let l = leaf(Some(&bad), &LeafSpec::default());
    let e = serve(&[&l.der], &l, false);
    let sb = Sandbox::new();
    let r = with_ca(&sb, &e, "ca.pem", &bad.pem);
    fetch(
        &r,
        Err(&[
            "RomM refuses the certificate chain",
            "Basic Constraints of CA cert not marked critical",
        ]),
    );
    let fix = field(&r, "fix");
    assert!(
        fix.contains("basicConstraints = critical, CA:TRUE"),
        "{fix}"
    );
    assert!(
        fix.contains("own certificate"),
        "the leaf-pin stopgap: {fix}"
    );
    let ca = text(check(&r, "tls.ca-file"));
    assert!(ca.contains("not marked critical"), "tls.ca-file: {ca}");
    // The stopgap the fix offers is accepted.
    fetch(&with_ca(&sb, &e, "leaf.pem", &l.pem), Ok(()));
    // Sent as an intermediate under a good root: refused too, without the stopgap.
    let p = pki();
    let bad_i = intermediate(
        &p.root,
        &CaSpec {
            name: "bad intermediate".into(),
            ..spec
        },
    );
    let li = leaf(Some(&bad_i), &LeafSpec::default());
    let e = serve(&[&li.der, &bad_i.der], &li, false);
    let r = with_ca(&sb, &e, "root.pem", &p.root.pem);
    fetch(
        &r,
        Err(&["Basic Constraints of CA cert not marked critical"]),
    );
    assert!(!field(&r, "fix").contains("own certificate"));
    fetch(
        &with_ca(&sb, &e, "leaf.pem", &li.pem),
        Err(&["not marked critical"]),
    );
}

#[test]
fn missing_key_identifiers_fail_as_in_romm() {
    let p = pki();
    let l = leaf(
        Some(&p.root),
        &LeafSpec {
            authority_key_id: false,
            ..LeafSpec::default()
        },
    );
    let e = serve(&[&l.der], &l, false);
    let sb = Sandbox::new();
    let r = with_ca(&sb, &e, "root.pem", &p.root.pem);
    fetch(&r, Err(&["Missing Authority Key Identifier"]));
    assert!(field(&r, "fix").contains("authorityKeyIdentifier = keyid"));
    fetch(&with_ca(&sb, &e, "leaf.pem", &l.pem), Ok(()));
    // With its issuer in the file too, OpenSSL checks the whole chain again.
    let both = pem(&[&l.pem, &p.root.pem]);
    fetch(
        &with_ca(&sb, &e, "both.pem", &both),
        Err(&["Missing Authority Key Identifier"]),
    );

    let no_skid = root(&CaSpec {
        subject_key_id: false,
        ..CaSpec::default()
    });
    let l = leaf(Some(&no_skid), &LeafSpec::default());
    let e = serve(&[&l.der], &l, false);
    let r = with_ca(&sb, &e, "ca.pem", &no_skid.pem);
    fetch(&r, Err(&["Missing Subject Key Identifier"]));
    fetch(
        &with_ca(&sb, &e, "good.pem", &p.root.pem),
        Err(&["not trusted"]),
    );
}

#[test]
fn an_expired_ca_in_the_file_fails_and_an_expired_server_certificate_too() {
    let old = root(&CaSpec {
        validity: Validity::Expired,
        ..CaSpec::default()
    });
    let l = leaf(Some(&old), &LeafSpec::default());
    let e = serve(&[&l.der], &l, false);
    let sb = Sandbox::new();
    let r = with_ca(&sb, &e, "old.pem", &old.pem);
    fetch(
        &r,
        Err(&["certificate has expired", "romm-oidc test root CA"]),
    );
    assert!(text(check(&r, "tls.ca-file")).contains("expired"));
    fetch(&with_ca(&sb, &e, "leaf.pem", &l.pem), Ok(()));

    let p = pki();
    let stale = leaf(
        Some(&p.root),
        &LeafSpec {
            validity: Validity::Expired,
            ..LeafSpec::default()
        },
    );
    let e = serve(&[&stale.der], &stale, false);
    fetch(
        &with_ca(&sb, &e, "root.pem", &p.root.pem),
        Err(&["certificate has expired"]),
    );
}

#[test]
fn a_server_certificate_not_yet_valid_fails() {
    let p = pki();
    let early = leaf(
        Some(&p.root),
        &LeafSpec {
            validity: Validity::NotYetValid,
            ..LeafSpec::default()
        },
    );
    let e = serve(&[&early.der], &early, false);
    let sb = Sandbox::new();
    fetch(
        &with_ca(&sb, &e, "root.pem", &p.root.pem),
        Err(&["certificate is not yet valid"]),
    );
}

#[test]
fn a_name_mismatch_lists_the_names_the_certificate_covers() {
    let p = pki();
    let l = leaf(
        Some(&p.root),
        &LeafSpec::names(&["id.example.com", "auth.example.com"]),
    );
    let e = serve(&[&l.der], &l, false);
    let sb = Sandbox::new();
    for file in [&p.root.pem, &l.pem] {
        let r = with_ca(&sb, &e, "ca.pem", file);
        let t = fetch(
            &r,
            Err(&[
                "name mismatch",
                "id.example.com, auth.example.com",
                "not 127.0.0.1",
            ]),
        );
        assert!(!t.contains("not trusted"), "{t}");
        let fix = field(&r, "fix");
        assert!(
            !fix.contains("OIDC_TLS_CACERTFILE") && !fix.contains("s_client"),
            "no CA-export advice for a name mismatch: {fix}"
        );
        assert!(fix.contains("subjectAltName = IP:127.0.0.1"), "{fix}");
        assert_eq!(
            check(&r, "discovery.fetch")["expected"],
            "a certificate valid for 127.0.0.1"
        );
    }
    // The same CA with a certificate for the host: passes.
    let good = leaf(Some(&p.root), &LeafSpec::names(&["127.0.0.1"]));
    let e = serve(&[&good.der], &good, false);
    fetch(&with_ca(&sb, &e, "root.pem", &p.root.pem), Ok(()));
}

#[test]
fn a_common_name_only_certificate_passes_for_a_dns_name_as_in_romm() {
    let p = pki();
    let cn_only = leaf(
        Some(&p.root),
        &LeafSpec {
            names: vec![],
            ..LeafSpec::default()
        },
    );
    let e = serve(&[&cn_only.der], &cn_only, true);
    assert!(e.issuer().starts_with("https://localhost:"));
    let sb = Sandbox::new();
    fetch(&with_ca(&sb, &e, "root.pem", &p.root.pem), Ok(()));
    // Not for an address: OpenSSL never reads the common name for one.
    let e = serve(&[&cn_only.der], &cn_only, false);
    fetch(
        &with_ca(&sb, &e, "root.pem", &p.root.pem),
        Err(&["IP address mismatch", "localhost (common name)"]),
    );
}

#[test]
fn a_self_signed_certificate_marked_ca_is_trusted_as_itself() {
    // What `openssl req -x509` makes: rustls refuses it as a server certificate.
    let s = leaf(
        None,
        &LeafSpec {
            is_ca: true,
            ..LeafSpec::default()
        },
    );
    let e = serve(&[&s.der], &s, false);
    let sb = Sandbox::new();
    fetch(&with_ca(&sb, &e, "self.pem", &s.pem), Ok(()));
    let r = doctor(&sb, &settings(&e), &[]);
    fetch(&r, Err(&["self-signed certificate"]));
}

fn hashed_dir(sb: &Sandbox, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = sb.path().join(name);
    std::fs::create_dir(&dir).expect("mkdir");
    for (file, contents) in files {
        std::fs::write(dir.join(file), contents).expect("write");
    }
    dir
}

#[test]
fn a_capath_directory_works_with_hashed_names_only() {
    let p = pki();
    let l = leaf(Some(&p.root), &LeafSpec::default());
    let e = serve(&[&l.der], &l, false);
    let sb = Sandbox::new();
    let hashed = format!("{ROOT_HASH}.0");
    let good = hashed_dir(
        &sb,
        "hashed",
        &[(&hashed, &p.root.pem), ("README", "notes")],
    );
    let r = doctor(
        &sb,
        &settings(&e).set("--ca-file", &good.display().to_string()),
        &[],
    );
    let ca = expect_status(&r, "tls.ca-file", &["pass"]);
    assert!(ca.contains("CApath") && ca.contains("README"), "{ca}");
    fetch(&r, Ok(()));

    let plain = hashed_dir(&sb, "plain", &[("root.pem", &p.root.pem)]);
    let r = doctor(
        &sb,
        &settings(&e).set("--ca-file", &plain.display().to_string()),
        &[],
    );
    let ca = expect_status(&r, "tls.ca-file", &["fail"]);
    assert!(
        ca.contains("openssl rehash") && ca.contains("unable to get local issuer"),
        "{ca}"
    );
    fetch(&r, Err(&["not trusted"]));

    let misnamed = hashed_dir(&sb, "misnamed", &[("0badc0de.0", &p.root.pem)]);
    let r = doctor(
        &sb,
        &settings(&e).set("--ca-file", &misnamed.display().to_string()),
        &[],
    );
    let ca = expect_status(&r, "tls.ca-file", &["fail"]);
    assert!(ca.contains(ROOT_HASH), "the real hash is named: {ca}");
}

#[test]
fn without_a_ca_file_the_default_store_honours_ssl_cert_file_and_dir() {
    let p = pki();
    let l = leaf(Some(&p.root), &LeafSpec::default());
    let e = serve(&[&l.der], &l, false);
    let sb = Sandbox::new();
    let root_file = sb.file("root.pem", &p.root.pem);
    let r = doctor(
        &sb,
        &settings(&e),
        &[("SSL_CERT_FILE", &root_file.display().to_string())],
    );
    fetch(&r, Ok(()));
    let ca = expect_status(&r, "tls.ca-file", &["skip"]);
    assert!(
        ca.contains("SSL_CERT_FILE") && ca.contains("Mozilla"),
        "{ca}"
    );

    let hashed = format!("{ROOT_HASH}.0");
    let dir = hashed_dir(&sb, "certs", &[(&hashed, &p.root.pem)]);
    let r = doctor(
        &sb,
        &settings(&e),
        &[("SSL_CERT_DIR", &dir.display().to_string())],
    );
    fetch(&r, Ok(()));

    let r = doctor(&sb, &settings(&e), &[]);
    fetch(&r, Err(&["not trusted"]));
}

#[test]
fn an_unusable_ca_file_leaves_romm_trusting_nothing() {
    // The default store (here through SSL_CERT_FILE) would trust the server,
    // but RomM never gets there: it uses OIDC_TLS_CACERTFILE or fails.
    let p = pki();
    let l = leaf(Some(&p.root), &LeafSpec::default());
    let e = serve(&[&l.der], &l, false);
    let sb = Sandbox::new();
    let root_file = sb.file("root.pem", &p.root.pem).display().to_string();
    let env = [("SSL_CERT_FILE", root_file.as_str())];
    fetch(&doctor(&sb, &settings(&e), &env), Ok(()));
    let der = sb.file("root.der", &p.root.der);
    let plain = hashed_dir(&sb, "plain", &[("root.pem", &p.root.pem)]);
    for ca in [der, plain] {
        let args = settings(&e).set("--ca-file", &ca.display().to_string());
        let r = doctor(&sb, &args, &env);
        let t = expect_status(&r, "tls.ca-file", &["fail"]);
        assert!(
            t.contains("trust nothing") || t.contains("trusts nothing"),
            "{t}"
        );
        fetch(
            &r,
            Err(&["not trusted", "RomM cannot use OIDC_TLS_CACERTFILE"]),
        );
    }
}

#[test]
fn a_certificate_for_tls_clients_only_fails() {
    let p = pki();
    let client = leaf(
        Some(&p.root),
        &LeafSpec {
            server_auth: false,
            ..LeafSpec::default()
        },
    );
    let e = serve(&[&client.der], &client, false);
    let sb = Sandbox::new();
    let r = with_ca(&sb, &e, "root.pem", &p.root.pem);
    fetch(&r, Err(&["unsuitable certificate purpose"]));
    assert!(field(&r, "fix").contains("serverAuth"));
}

// ====================================================================== against RomM's httpx

/// RomM's own request: httpx 0.28.1 (the RomM double's pinned set) with
/// `verify=<OIDC_TLS_CACERTFILE>` on Python 3.13's default flags. Prints `ok`,
/// OpenSSL's verify message, or `openssl <major>` when the interpreter's
/// OpenSSL is not 3.x (whose strict rules this table holds).
fn romm_verdict(python: &Path, url: &str, ca: &Path) -> String {
    const SCRIPT: &str = r#"
import ssl, sys, warnings
warnings.simplefilter("ignore")
if ssl.OPENSSL_VERSION_INFO[0] != 3:
    print("openssl %d" % ssl.OPENSSL_VERSION_INFO[0]); sys.exit()
if sys.version_info < (3, 13):
    plain = ssl.create_default_context
    def romm_context(*args, **kwargs):
        context = plain(*args, **kwargs)
        context.verify_flags |= ssl.VERIFY_X509_STRICT | ssl.VERIFY_X509_PARTIAL_CHAIN
        return context
    ssl.create_default_context = romm_context
import httpx
try:
    httpx.get(sys.argv[1], verify=sys.argv[2], timeout=10)
    print("ok")
except httpx.ConnectError as e:
    print(str(e).split("certificate verify failed: ")[-1].split(" (_ssl.c")[0])
"#;
    let mut c = Command::new(python);
    c.env_clear()
        .args(["-c", SCRIPT, url, &ca.display().to_string()]);
    process::run(&mut c, RUN_LIMIT).stdout.trim().to_string()
}

#[test]
fn every_case_agrees_with_romms_httpx() {
    let python = romm_double::pinned_python();
    let p = pki();
    let sb = Sandbox::new();
    let bad_bc = root(&CaSpec {
        basic_constraints_critical: false,
        ..CaSpec::default()
    });
    let no_ku = root(&CaSpec {
        key_usage: false,
        ..CaSpec::default()
    });
    let old = root(&CaSpec {
        validity: Validity::Expired,
        ..CaSpec::default()
    });
    let l = leaf(Some(&p.root), &LeafSpec::default());
    let li = leaf(Some(&p.inter), &LeafSpec::default());
    let l_bad = leaf(Some(&bad_bc), &LeafSpec::default());
    let l_noku = leaf(Some(&no_ku), &LeafSpec::default());
    let l_old = leaf(Some(&old), &LeafSpec::default());
    let l_noakid = leaf(
        Some(&p.root),
        &LeafSpec {
            authority_key_id: false,
            ..LeafSpec::default()
        },
    );
    let l_named = leaf(Some(&p.root), &LeafSpec::names(&["id.example.com"]));
    let l_cn = leaf(
        Some(&p.root),
        &LeafSpec {
            names: vec![],
            ..LeafSpec::default()
        },
    );
    let self_ca = leaf(
        None,
        &LeafSpec {
            is_ca: true,
            ..LeafSpec::default()
        },
    );
    let hashed = hashed_dir(&sb, "hashed", &[(&format!("{ROOT_HASH}.0"), &p.root.pem)]);
    let plain = hashed_dir(&sb, "plain", &[("root.pem", &p.root.pem)]);
    // (served chain, its leaf, by name, CA file contents or a directory)
    type Case<'a> = (Vec<&'a [u8]>, &'a Leaf, bool, Result<String, &'a Path>);
    let cases: Vec<Case<'_>> = vec![
        (vec![&l.der], &l, false, Ok(p.root.pem.clone())),
        (vec![&l.der], &l, false, Ok(l.pem.clone())),
        (vec![&l.der], &l, false, Ok(li.pem.clone())),
        (vec![&li.der], &li, false, Ok(p.inter.pem.clone())),
        (vec![&li.der], &li, false, Ok(p.root.pem.clone())),
        (
            vec![&li.der, &p.inter.der],
            &li,
            false,
            Ok(p.root.pem.clone()),
        ),
        (vec![&l_bad.der], &l_bad, false, Ok(bad_bc.pem.clone())),
        (vec![&l_bad.der], &l_bad, false, Ok(l_bad.pem.clone())),
        (vec![&l_noku.der], &l_noku, false, Ok(no_ku.pem.clone())),
        (vec![&l_old.der], &l_old, false, Ok(old.pem.clone())),
        (
            vec![&l_noakid.der],
            &l_noakid,
            false,
            Ok(p.root.pem.clone()),
        ),
        (
            vec![&l_noakid.der],
            &l_noakid,
            false,
            Ok(l_noakid.pem.clone()),
        ),
        (vec![&l_named.der], &l_named, false, Ok(p.root.pem.clone())),
        (vec![&l_cn.der], &l_cn, true, Ok(p.root.pem.clone())),
        (vec![&l_cn.der], &l_cn, false, Ok(p.root.pem.clone())),
        (vec![&self_ca.der], &self_ca, false, Ok(self_ca.pem.clone())),
        (vec![&l.der], &l, false, Err(&hashed)),
        (vec![&l.der], &l, false, Err(&plain)),
    ];
    for (n, (chain, key, by_name, ca)) in cases.into_iter().enumerate() {
        let e = serve(&chain, key, by_name);
        let ca_path = match ca {
            Ok(contents) => sb.file(&format!("case{n}.pem"), contents),
            Err(dir) => dir.to_path_buf(),
        };
        let url = format!("{}/.well-known/openid-configuration", e.issuer());
        let romm = romm_verdict(&python, &url, &ca_path);
        if romm.starts_with("openssl ") {
            eprintln!("RomM's double runs on {romm}, not OpenSSL 3 as RomM's image: not compared");
            return;
        }
        let r = doctor(
            &sb,
            &settings(&e).set("--ca-file", &ca_path.display().to_string()),
            &[],
        );
        let fetch = check(&r, "discovery.fetch");
        if romm == "ok" {
            assert_eq!(
                fetch["status"], "pass",
                "case {n}: RomM's httpx accepts:\n{fetch:#}"
            );
        } else {
            assert_eq!(
                fetch["status"], "fail",
                "case {n}: RomM's httpx says {romm}:\n{fetch:#}"
            );
            assert!(
                text(fetch).contains(&romm),
                "case {n}: the finding should quote {romm:?}:\n{fetch:#}"
            );
        }
    }
}
