//! TLS settings: the CA file RomM gets as OIDC_TLS_CACERTFILE, and the loud
//! note when verification is switched off here.

use std::path::Path;

use crate::http::read_ca_file;
use crate::report::Finding;
use crate::settings::{OIDC_TLS_CACERTFILE, Settings};

/// `tls.ca-file`: the file must be one PEM file that RomM's OpenSSL can load.
pub fn ca_file(settings: &Settings) -> Finding {
    const ID: &str = "tls.ca-file";
    let Some(path) = settings.value(OIDC_TLS_CACERTFILE) else {
        return Finding::skip(
            ID,
            "No OIDC_TLS_CACERTFILE: the system trust store is used, as in RomM",
        );
    };
    let path = Path::new(path);
    if !path.exists() {
        return Finding::fail(ID, format!("OIDC_TLS_CACERTFILE {} does not exist here", path.display()))
            .detail("The path is read inside RomM's container; this check needs the same file on this machine.")
            .fix("Pass a local copy with --ca-file, or run romm-oidc inside RomM's container.");
    }
    match read_ca_file(path) {
        Ok(certs) => Finding::pass(ID, format!("{} holds {} PEM certificate(s); they are the only trust store, as in RomM", path.display(), certs.len()))
            .detail("RomM then trusts nothing else: a provider with a public certificate fails unless its CA is in this file too."),
        Err(e) => Finding::fail(ID, "OIDC_TLS_CACERTFILE is not a PEM CA file")
            .detail(format!("{e:#} (romm#1589)"))
            .mismatch("one PEM file with -----BEGIN CERTIFICATE----- blocks", path.display().to_string())
            .fix("Point OIDC_TLS_CACERTFILE at a PEM file holding the CA that signed the provider's certificate (plus intermediates the provider does not send)."),
    }
}

/// `tls.insecure`: shown whenever --insecure is on.
pub fn insecure() -> Finding {
    Finding::warn(
        "tls.insecure",
        "Certificate verification is OFF for this run (--insecure)",
    )
    .detail("RomM never skips verification: a pass here does not mean RomM can connect.")
    .fix("Run again without --insecure, with --ca-file pointing at the provider's CA.")
}
