//! TLS settings: the trust store RomM gets (OIDC_TLS_CACERTFILE, or its
//! default store), what a refused certificate means for RomM and how to fix
//! it, and the loud note when verification is switched off here.

use std::path::Path;

use rustls::pki_types::UnixTime;

use crate::checks::id;
use crate::report::Finding;
use crate::settings::{OIDC_TLS_CACERTFILE, Settings};
use crate::tls::{Reason, Refusal, Trust};

/// `tls.ca-file`: the store RomM's OpenSSL will use, loaded as it loads it.
pub fn ca_file(settings: &Settings) -> Finding {
    const ID: &str = id::TLS_CA_FILE;
    let Some(path) = settings.value(OIDC_TLS_CACERTFILE) else {
        let trust = Trust::romm_default();
        let unseen = if crate::tls::in_romm_container() {
            ""
        } else {
            "; a CA added only inside RomM's container is not seen here"
        };
        return Finding::skip(
            ID,
            "No OIDC_TLS_CACERTFILE: RomM trusts certifi's Mozilla roots and its container's OpenSSL store",
        )
        .detail(format!(
            "With OIDC_TLS_CACERTFILE unset, RomM's httpx uses OpenSSL's default paths (SSL_CERT_FILE / SSL_CERT_DIR in RomM's environment, else the image's bundle) plus certifi. This run trusts {}{unseen}.{}",
            trust.source,
            lines(&trust.notes)
        ));
    };
    let path = Path::new(path);
    if !path.exists() {
        return Finding::fail(ID, format!("OIDC_TLS_CACERTFILE {} does not exist here", path.display()))
            .detail("The path is read inside RomM's container; this check needs the same file on this machine. The provider checks below use RomM's default store instead, so they prove nothing about this file.")
            .fix("Pass a local copy with --ca-file, or run romm-oidc inside RomM's container.");
    }
    match Trust::from_ca_path(path) {
        Ok(trust) => {
            let mut detail = String::from(
                "RomM (Python 3.13) trusts every certificate in it as is, even a server's own (VERIFY_X509_PARTIAL_CHAIN), applies RFC 5280's strict rules to the chain (VERIFY_X509_STRICT), and trusts nothing else: a provider with a public certificate fails unless its CA is in it too. The doctor judges the same way.",
            );
            detail += &lines(&trust.notes);
            let warnings = trust.anchor_warnings(UnixTime::now());
            if !warnings.is_empty() {
                detail += "\nCertificates RomM will not accept as the end of a chain:";
                detail += &lines(&warnings);
            }
            let kind = if path.is_dir() {
                "CApath directory"
            } else {
                "PEM file"
            };
            Finding::pass(
                ID,
                format!(
                    "OIDC_TLS_CACERTFILE is a {kind}; RomM trusts {}, and nothing else",
                    trust.source
                ),
            )
            .detail(detail)
        }
        Err(e) => {
            let effect = if path.is_dir() {
                "RomM then trusts nothing, and so do the provider checks below."
            } else {
                "RomM's httpx loads the file whenever authlib creates a client, and fails: no OIDC request leaves RomM, not even an http:// one. The provider checks below trust nothing."
            };
            let (expected, fix) = if path.is_dir() {
                (
                    "a directory of certificates named by `openssl rehash` (<hash>.0), or one PEM file",
                    format!(
                        "Run `openssl rehash {}` so every certificate gets its <hash>.0 name, or point OIDC_TLS_CACERTFILE at one PEM file holding the CA that signed the provider's certificate.",
                        path.display()
                    ),
                )
            } else {
                (
                    "one PEM file with -----BEGIN CERTIFICATE----- blocks",
                    PEM_FILE_FIX.to_string(),
                )
            };
            Finding::fail(ID, "OIDC_TLS_CACERTFILE is not a trust store RomM can use")
                .detail(format!("{e:#} (romm#1589). {effect}"))
                .mismatch(expected, path.display().to_string())
                .fix(fix)
        }
    }
}

fn lines(items: &[String]) -> String {
    items.iter().map(|n| format!("\n- {n}")).collect()
}

/// The fixes for a refused certificate, shared with `romm.log` (RomM's own
/// log of the same refusal, which names neither the chain nor the store).
pub const PURPOSE_FIX: &str = "Re-issue it with extendedKeyUsage = serverAuth and keyUsage = digitalSignature, keyEncipherment.";
pub const VALIDITY_FIX: &str = "Renew that certificate (a CA certificate in OIDC_TLS_CACERTFILE is replaced there), and check the clocks of this machine and of RomM's host.";
pub const OTHER_CERT_FIX: &str = "Check the provider's certificate chain (openssl s_client -showcerts) and re-issue it with a standard RSA or ECDSA key and SHA-256 signatures.";
/// The fix for an `OIDC_TLS_CACERTFILE` that names no file in RomM's container
/// (the container's view, and `romm.log`).
pub const CA_FILE_MOUNT_FIX: &str = "Mount the CA file into RomM's container (a volume) and set OIDC_TLS_CACERTFILE to its path inside the container.";
/// The fix for an `OIDC_TLS_CACERTFILE` that is not a usable PEM file.
pub const PEM_FILE_FIX: &str = "Point OIDC_TLS_CACERTFILE at a PEM file holding the CA that signed the provider's certificate (plus intermediates the provider does not send).";

/// A certificate that breaks one of OpenSSL's strict rules: `with` names
/// what to re-issue it with.
pub fn reissue_fix(with: &str) -> String {
    format!("Re-issue that certificate with {with}.")
}

/// A chain no trusted CA vouches for; `issuer` names the CA that issued it.
pub fn untrusted_fix(issuer: &str) -> String {
    let ca_file = "mount it into RomM's container, set OIDC_TLS_CACERTFILE to its path there, and pass the same file here with --ca-file";
    format!(
        "Put the certificate of the CA that issued the chain ({issuer}) in a PEM file, {ca_file}."
    )
}

/// The subjectAltName entry that covers `host`.
pub fn san_entry(host: &str) -> String {
    if host.parse::<std::net::IpAddr>().is_ok() {
        format!("IP:{host}")
    } else {
        format!("DNS:{host}")
    }
}

/// A certificate that does not cover the host; `reach` gives a name it does
/// cover (or nothing), `san` the entry it lacks.
pub fn name_mismatch_fix(reach: &str, san: &str) -> String {
    format!(
        "Reach the provider by a name its certificate covers{reach}: set OIDC_SERVER_APPLICATION_URL (and the provider's own public URL) to it. Or re-issue the certificate with subjectAltName = {san}."
    )
}

/// What RomM also accepts instead of the CA: the provider's own certificate.
const PIN: &str = "RomM also accepts an OIDC_TLS_CACERTFILE holding only the provider's own certificate (trusted as is, without its chain), but that file must be replaced at every renewal";

/// The finding for a certificate RomM would refuse: why, in OpenSSL's words
/// as RomM's log shows them, and a fix whose result RomM accepts (the
/// advice about the CA file is checked by judging that file first).
pub fn refused(id: &'static str, what: &str, url: &str, refusal: &Refusal) -> Finding {
    let parsed = url::Url::parse(url).ok();
    let port = parsed
        .as_ref()
        .and_then(url::Url::port_or_known_default)
        .unwrap_or(443);
    let log = format!(
        "{url}: RomM would log \"certificate verify failed: {}\".",
        refusal.openssl
    );
    let store = format!("Trust store: {}.", refusal.store);
    match &refusal.reason {
        Reason::Untrusted => untrusted(id, what, parsed.as_ref(), port, refusal).detail(format!(
            "{log} {} The server sent: {}. {store}",
            refusal.detail,
            refusal.sent.join(", ")
        )),
        Reason::Strict { fix } => {
            let stopgap = if refusal.leaf_pin {
                format!(" Until then: {PIN}.")
            } else {
                String::new()
            };
            Finding::fail(
                id,
                format!(
                    "{what}: RomM refuses the certificate chain: {}",
                    refusal.openssl
                ),
            )
            .detail(format!("{log} {} {store}", refusal.detail))
            .fix(format!("{}{stopgap}", reissue_fix(fix)))
        }
        Reason::Purpose => Finding::fail(
            id,
            format!(
                "{what}: certificate not for TLS servers ({})",
                refusal.openssl
            ),
        )
        .detail(format!("{log} {}", refusal.detail))
        .fix(PURPOSE_FIX),
        Reason::Name { host, covered } => {
            name_mismatch(id, what, host, covered, port).detail(format!("{log} {}", refusal.detail))
        }
        Reason::Validity => Finding::fail(id, format!("{what}: {}", refusal.openssl))
            .detail(format!("{log} {} {store}", refusal.detail))
            .fix(VALIDITY_FIX),
        Reason::Other => Finding::fail(
            id,
            format!("{what}: TLS certificate refused ({})", refusal.openssl),
        )
        .detail(format!("{log} {} {store}", refusal.detail))
        .fix(OTHER_CERT_FIX),
    }
}

/// No CA in the store vouches for the chain: which certificate to put in
/// OIDC_TLS_CACERTFILE, and how to get it.
fn untrusted(
    id: &'static str,
    what: &str,
    url: Option<&url::Url>,
    port: u16,
    refusal: &Refusal,
) -> Finding {
    let host = url.and_then(url::Url::host_str).unwrap_or_default();
    let sni = match url.and_then(url::Url::host) {
        Some(url::Host::Domain(_)) => format!(" -servername {host}"),
        _ => String::new(),
    };
    let show = format!("openssl s_client -showcerts -connect {host}:{port}{sni} </dev/null");
    let how = match (refusal.last_sent, refusal.last_is_leaf) {
        (Some(true), true) => format!(
            " The provider sends only its own certificate, so `{show}` shows no CA: take the CA's certificate from wherever it was made. {PIN}: it is the one certificate `{show}` prints."
        ),
        (Some(true), false) => format!(
            " To get it: run `{show}` and keep the last certificate it prints; RomM accepts a file holding just that one."
        ),
        _ => format!(
            " The last certificate `{show}` prints is not enough: RomM would still refuse the chain it ends."
        ),
    };
    Finding::fail(
        id,
        format!("{what}: certificate not trusted ({})", refusal.openssl),
    )
    .fix(format!("{}{how}", untrusted_fix(&refusal.last_issuer)))
}

/// The certificate does not cover the host RomM reaches the provider by.
fn name_mismatch(
    id: &'static str,
    what: &str,
    host: &str,
    covered: &[String],
    port: u16,
) -> Finding {
    let names = if covered.is_empty() {
        "no host name".to_string()
    } else {
        covered.join(", ")
    };
    let san = san_entry(host);
    let reach = covered
        .iter()
        .find(|n| !n.contains(' ') && !n.starts_with('*'))
        .map(|n| format!(" (e.g. https://{n}:{port})"))
        .unwrap_or_default();
    Finding::fail(
        id,
        format!("{what}: certificate name mismatch: it covers {names}, not {host}"),
    )
    .mismatch(format!("a certificate valid for {host}"), names)
    .fix(name_mismatch_fix(&reach, &san))
}

/// `tls.insecure`: shown whenever --insecure is on.
pub fn insecure() -> Finding {
    Finding::warn(
        id::TLS_INSECURE,
        "Certificate verification is OFF for this run (--insecure)",
    )
    .detail("RomM never skips verification: a pass here does not mean RomM can connect.")
    .fix("Run again without --insecure, with --ca-file pointing at the provider's CA.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(reason: Reason) -> Refusal {
        Refusal {
            reason,
            openssl: "unable to get local issuer certificate".into(),
            detail: "The chain ends at Example CA.".into(),
            sent: vec!["id.example.com".into()],
            store: "Mozilla's roots".into(),
            last_sent: Some(true),
            last_is_leaf: true,
            last_issuer: "Example CA".into(),
            leaf_pin: true,
        }
    }

    #[test]
    fn an_untrusted_chain_names_the_ca_and_how_to_fetch_it() {
        let f = refused(
            id::DISCOVERY_FETCH,
            "Fetching discovery",
            "https://id.example.com:8443/x",
            &refusal(Reason::Untrusted),
        );
        assert!(
            f.fix.contains("(Example CA) in a PEM file")
                && f.fix.contains(
                    "openssl s_client -showcerts -connect id.example.com:8443 -servername id.example.com"
                )
                && f.fix.contains("sends only its own certificate"),
            "{f:?}"
        );
        assert!(
            f.detail.contains("The server sent: id.example.com."),
            "{f:?}"
        );
        let by_ip = refused("x", "y", "https://10.0.0.1/", &refusal(Reason::Untrusted));
        assert!(
            by_ip.fix.contains("-connect 10.0.0.1:443 <"),
            "no SNI for an IP: {by_ip:?}"
        );
    }

    #[test]
    fn a_name_mismatch_offers_a_covered_name_or_the_missing_san() {
        let name = Reason::Name {
            host: "10.0.0.1".into(),
            covered: vec!["*.example.com".into(), "id.example.com".into()],
        };
        let f = refused("x", "y", "https://10.0.0.1:8443/", &refusal(name));
        assert_eq!(
            f.found.as_deref(),
            Some("*.example.com, id.example.com"),
            "{f:?}"
        );
        assert!(
            f.fix.contains("(e.g. https://id.example.com:8443)")
                && f.fix.ends_with("subjectAltName = IP:10.0.0.1."),
            "{f:?}"
        );
    }
}
