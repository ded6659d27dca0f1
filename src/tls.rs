//! TLS judged as RomM's container judges it.
//!
//! RomM's OIDC client is httpx 0.28.1 on Python 3.13 and OpenSSL 3. It trusts
//! `OIDC_TLS_CACERTFILE` alone (a PEM file, or a directory OpenSSL reads as a
//! CApath by hashed file names) or, when that is unset, certifi's Mozilla
//! bundle plus the container's OpenSSL default paths (`SSL_CERT_FILE`,
//! `SSL_CERT_DIR`). Python 3.13's default context adds two flags (cpython
//! gh-107361): VERIFY_X509_PARTIAL_CHAIN, so every certificate in the store is
//! a trust anchor, even a server's own; and VERIFY_X509_STRICT, so the chain
//! must follow RFC 5280 (a CA's basicConstraints critical, key identifiers
//! present, …). rustls accepts some chains RomM refuses and refuses some it
//! accepts, so this verifier rebuilds the chain OpenSSL builds (trusted issuer
//! first, then the certificates the server sent, then the server's own
//! certificate if it is in the store) and applies OpenSSL's rules to it, in
//! OpenSSL's order, host names included; webpki checks the signatures. A
//! refusal says why in OpenSSL's words, so a finding can quote RomM's log.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::x509::{X509Name, X509Version};

/// The most hashed files read from one directory.
const MAX_DIR_FILES: usize = 10_000;
/// OpenSSL's default maximum chain depth (100) plus the leaf and the anchor.
const MAX_CHAIN: usize = 102;

/// The extensions OpenSSL 3.0–3.5 handle (`X509_supported_extension` in
/// `crypto/x509/v3_purp.c`): nsCertType, keyUsage, subjectAltName,
/// basicConstraints, certificatePolicies, cRLDistributionPoints,
/// extendedKeyUsage, the RFC 3779 address and AS blocks, OCSP no-check,
/// policyConstraints, proxyCertInfo, nameConstraints, policyMappings,
/// inhibitAnyPolicy. Any other extension marked critical (the key
/// identifiers too) makes it refuse the certificate.
const HANDLED_EXTENSIONS: &[&str] = &[
    "2.16.840.1.113730.1.1",
    "2.5.29.15",
    "2.5.29.17",
    "2.5.29.19",
    "2.5.29.32",
    "2.5.29.31",
    "2.5.29.37",
    "1.3.6.1.5.5.7.1.7",
    "1.3.6.1.5.5.7.1.8",
    "1.3.6.1.5.5.7.48.1.5",
    "2.5.29.36",
    "1.3.6.1.5.5.7.1.14",
    "2.5.29.30",
    "2.5.29.33",
    "2.5.29.54",
];

/// Extensions OpenSSL decodes to judge a chain (`ossl_x509v3_cache_extensions`)
/// and x509-parser reads as well: basicConstraints, keyUsage,
/// extendedKeyUsage, subjectAltName and the key identifiers.
const DECODED_EXTENSIONS: &[(&str, &str)] = &[
    ("2.5.29.19", "basicConstraints"),
    ("2.5.29.15", "keyUsage"),
    ("2.5.29.37", "extendedKeyUsage"),
    ("2.5.29.17", "subjectAltName"),
    ("2.5.29.14", "subjectKeyIdentifier"),
    ("2.5.29.35", "authorityKeyIdentifier"),
];

/// OpenSSL's default CA file and directory in RomM's image: its Python links
/// Alpine's OpenSSL 3 (OPENSSLDIR /etc/ssl; RomM's docker/Dockerfile copies
/// python:3.13-alpine's /usr/lib and /usr/local into an nginx Alpine image).
const ROMM_IMAGE_CA_FILE: &str = "/etc/ssl/cert.pem";
const ROMM_IMAGE_CA_DIR: &str = "/etc/ssl/certs";

/// Whether this run is inside RomM's container (`docker exec romm
/// romm-oidc …`): RomM's image has its code in /backend, on PYTHONPATH. Only
/// there are OpenSSL's default paths RomM's own; anywhere else they are this
/// host's, which RomM never reads.
pub fn in_romm_container() -> bool {
    let on_path = std::env::var_os("PYTHONPATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d == Path::new("/backend")));
    on_path && Path::new("/backend/main.py").is_file()
}

/// The certificates RomM's OpenSSL trusts, and where they come from.
#[derive(Clone, Debug)]
pub struct Trust {
    certs: Vec<CertificateDer<'static>>,
    /// What the store is, in the user's terms (for findings).
    pub source: String,
    /// What the user should know about it: files OpenSSL never reads, …
    pub notes: Vec<String>,
}

impl Trust {
    /// `OIDC_TLS_CACERTFILE` as httpx hands it to OpenSSL: a directory is a
    /// CApath (`capath=`), anything else a PEM CA file (`cafile=`).
    pub fn from_ca_path(path: &Path) -> Result<Trust> {
        let shown = path.display();
        if path.is_dir() {
            let (certs, notes) = hashed_dir(path)?;
            if certs.is_empty() {
                bail!(
                    "{shown} is a directory, which RomM's httpx loads as an OpenSSL CApath; OpenSSL only reads files named after the certificate's subject hash (<8 hex digits>.0, as `openssl rehash` names them), and {shown} has none, so RomM trusts nothing and fails with \"unable to get local issuer certificate\"{}",
                    note_suffix(&notes)
                );
            }
            return Ok(Trust {
                source: format!(
                    "the CApath directory {shown} ({} certificate(s) under hashed names)",
                    certs.len()
                ),
                certs,
                notes,
            });
        }
        let certs = read_pem_file(path)?;
        Ok(Trust {
            source: format!("{shown} ({} certificate(s))", certs.len()),
            certs,
            notes: Vec::new(),
        })
    }

    /// The store with `OIDC_TLS_CACERTFILE` unset: RomM passes `verify=None`,
    /// httpx hands httpcore no context, and httpcore's default context loads
    /// OpenSSL's default paths (`SSL_CERT_FILE` / `SSL_CERT_DIR`, else the
    /// container's own bundle) plus certifi. Mozilla's roots stand in for
    /// certifi and the image's bundle, which are both Mozilla's list; inside
    /// RomM's container its own bundle is read as well, with what was added
    /// to it.
    pub fn romm_default() -> Trust {
        let mut certs: Vec<CertificateDer<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|c| c.clone().into_owned())
            .collect();
        let mut source = format!(
            "Mozilla's {} root certificates (what certifi and RomM's container bundle hold)",
            certs.len()
        );
        let mut notes = Vec::new();
        // OpenSSL's default file and directory: SSL_CERT_FILE / SSL_CERT_DIR,
        // else those of the OpenSSL build, which are RomM's only inside its
        // container (a missing default is skipped without a word).
        let inside = in_romm_container();
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        let file = match var("SSL_CERT_FILE") {
            Some(file) => Some(("SSL_CERT_FILE", file)),
            None if inside && Path::new(ROMM_IMAGE_CA_FILE).exists() => {
                Some(("RomM's container bundle", ROMM_IMAGE_CA_FILE.into()))
            }
            None => None,
        };
        if let Some((what, file)) = file {
            let path = Path::new(&file);
            match read_pem_file(path) {
                Ok(more) => {
                    source += &format!(" + {what} {} ({})", path.display(), more.len());
                    certs.extend(more);
                }
                Err(e) => notes.push(format!(
                    "{what} is unusable, and OpenSSL ignores it without a word: {e:#}"
                )),
            }
        }
        let dirs = match var("SSL_CERT_DIR") {
            // OpenSSL takes a list of directories, separated as PATH is.
            Some(dir) => std::env::split_paths(&dir)
                .map(|d| ("SSL_CERT_DIR", d))
                .collect(),
            None if inside && Path::new(ROMM_IMAGE_CA_DIR).is_dir() => {
                vec![("RomM's container directory", ROMM_IMAGE_CA_DIR.into())]
            }
            None => Vec::new(),
        };
        for (what, path) in dirs {
            match hashed_dir(&path) {
                Ok((more, dir_notes)) => {
                    if !more.is_empty() || what == "SSL_CERT_DIR" {
                        source += &format!(" + {what} {} ({})", path.display(), more.len());
                    }
                    certs.extend(more);
                    notes.extend(dir_notes);
                }
                Err(e) => notes.push(format!("{what}: {e:#}")),
            }
        }
        Trust {
            certs,
            source,
            notes,
        }
    }

    /// A store that trusts nothing, as RomM with an `OIDC_TLS_CACERTFILE` it
    /// cannot use; `why` says so in findings.
    pub fn nothing(why: impl Into<String>) -> Trust {
        Trust {
            certs: Vec::new(),
            source: why.into(),
            notes: Vec::new(),
        }
    }

    fn single(cert: &CertificateDer<'_>) -> Trust {
        Trust {
            certs: vec![cert.clone().into_owned()],
            source: String::new(),
            notes: Vec::new(),
        }
    }

    /// What a finding should add about the certificates in the store that
    /// RomM's strict rules refuse as trust anchors, expired ones, ….
    pub fn anchor_warnings(&self, now: UnixTime) -> Vec<String> {
        let mut out = Vec::new();
        for der in &self.certs {
            let Some(c) = Cert::parse(der, true) else {
                out.push("a certificate that cannot be parsed".to_string());
                continue;
            };
            let name = c.name();
            if let Some(why) = c.defect() {
                out.push(format!("{name}: {why}, so RomM's OpenSSL never uses it"));
            } else if let Some(why) = time_problem(&c, now.as_secs() as i64) {
                out.push(format!("{name}: {why}"));
            } else if let Some(oid) = c.unhandled_critical() {
                out.push(format!(
                    "{name}: \"unhandled critical extension\" ({oid}): RomM refuses every chain that ends at it"
                ));
            } else if c.is_ca() {
                let openssl = if check_ca(&c) != 1 {
                    Some("invalid CA certificate")
                } else {
                    strict_rules(&c, 1, 2).err().map(|r| r.openssl)
                };
                if let Some(openssl) = openssl {
                    out.push(format!(
                        "{name}: \"{openssl}\": RomM refuses every chain that ends at it"
                    ));
                }
            }
        }
        out
    }
}

fn note_suffix(notes: &[String]) -> String {
    if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    }
}

/// The certificates of a PEM file, read as OpenSSL's `cafile=` reads it.
fn read_pem_file(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let shown = path.display();
    let bytes = crate::files::read_bytes(path)?;
    if bytes.first() == Some(&0x30) {
        bail!(
            "{shown} is DER (binary), but RomM needs PEM; convert it with: openssl x509 -inform der -in {shown} -out ca.pem"
        );
    }
    if !String::from_utf8_lossy(&bytes).contains("-----BEGIN CERTIFICATE-----") {
        bail!("{shown} holds no PEM certificate (no -----BEGIN CERTIFICATE----- block)");
    }
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{shown} is not a valid PEM certificate bundle"))?;
    if let Some(bad) = certs.iter().position(|c| Cert::parse(c, true).is_none()) {
        bail!(
            "certificate {} of {shown} is not a valid X.509 certificate",
            bad + 1
        );
    }
    Ok(certs)
}

/// The certificates OpenSSL can find in a CApath directory: it looks a
/// subject up as `<hash>.0`, `<hash>.1`, … (stopping at the first missing
/// number), where the hash is that of the subject name, so a file under
/// any other name, or named for another subject, is never read.
fn hashed_dir(dir: &Path) -> Result<(Vec<CertificateDer<'static>>, Vec<String>)> {
    let shown = dir.display();
    let entries = std::fs::read_dir(dir).with_context(|| format!("cannot read {shown}"))?;
    let mut by_hash: BTreeMap<u32, BTreeMap<u32, std::path::PathBuf>> = BTreeMap::new();
    let mut other = Vec::new();
    for entry in entries.take(MAX_DIR_FILES).flatten() {
        let name = entry.file_name();
        match name.to_str().and_then(hashed_name) {
            Some((hash, n)) => {
                by_hash.entry(hash).or_default().insert(n, entry.path());
            }
            None => other.push(name.to_string_lossy().into_owned()),
        }
    }
    let mut certs = Vec::new();
    let mut notes = Vec::new();
    for (hash, files) in by_hash {
        for (expected, (n, path)) in files.into_iter().enumerate() {
            let file = path.file_name().unwrap_or_default().to_string_lossy();
            if n as usize != expected {
                notes.push(format!(
                    "{file} is never read: OpenSSL stops at the first missing number ({hash:08x}.{expected})"
                ));
                break;
            }
            match read_pem_file(&path) {
                Ok(found) => {
                    for cert in found {
                        match Cert::parse(&cert, true).and_then(|c| name_hash(c.x.subject())) {
                            Some(h) if h == hash => certs.push(cert),
                            Some(h) => notes.push(format!(
                                "{file} holds a certificate whose subject hash is {h:08x}, so OpenSSL never finds it there (run `openssl rehash {shown}`)"
                            )),
                            None => notes.push(format!(
                                "{file}: the subject hash of a certificate in it cannot be computed"
                            )),
                        }
                    }
                }
                Err(e) => notes.push(format!("{file}: {e:#}")),
            }
        }
    }
    if !other.is_empty() {
        other.sort();
        let more = other.len().saturating_sub(5);
        other.truncate(5);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        notes.push(format!(
            "OpenSSL never reads {}{more}: only names of the form <8 hex digits>.<n>",
            other.join(", ")
        ));
    }
    Ok((certs, notes))
}

/// `<8 lowercase hex digits>.<decimal>`, the name `openssl rehash` gives a
/// certificate (CRLs are `.r<n>` and are not certificates).
fn hashed_name(name: &str) -> Option<(u32, u32)> {
    let (hash, n) = name.split_once('.')?;
    let hex_ok = hash.len() == 8
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let n_ok = !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
    if !(hex_ok && n_ok) {
        return None;
    }
    Some((u32::from_str_radix(hash, 16).ok()?, n.parse().ok()?))
}

/// OpenSSL's `X509_NAME_hash_ex`, the hash `openssl rehash` names files by:
/// the first four bytes (little-endian) of the SHA-1 of the name's canonical
/// encoding, where every text value is UTF-8, trimmed, with inner white space
/// runs collapsed to one space and ASCII lowercased, and the outer SEQUENCE
/// is left out.
fn name_hash(name: &X509Name<'_>) -> Option<u32> {
    use x509_parser::asn1_rs::{Tag, ToDer};
    let mut canon = Vec::new();
    for rdn in name.iter() {
        let mut entries = Vec::new();
        for atv in rdn.iter() {
            let oid: Vec<u64> = atv.attr_type().iter()?.collect();
            let value = atv.attr_value();
            let data = value.data;
            let text: Option<String> = match value.tag() {
                Tag::Utf8String => Some(std::str::from_utf8(data).ok()?.to_string()),
                // One byte per character, as OpenSSL converts them (Latin-1).
                Tag::PrintableString | Tag::T61String | Tag::Ia5String | Tag::VisibleString => {
                    Some(data.iter().map(|&b| b as char).collect())
                }
                Tag::BmpString if data.len() % 2 == 0 => Some(
                    char::decode_utf16(data.chunks(2).map(|p| u16::from_be_bytes([p[0], p[1]])))
                        .collect::<Result<String, _>>()
                        .ok()?,
                ),
                Tag::UniversalString => data
                    .chunks(4)
                    .map(|q| {
                        let q: [u8; 4] = q.try_into().ok()?;
                        char::from_u32(u32::from_be_bytes(q))
                    })
                    .collect(),
                _ => None,
            };
            let encoded = match text {
                Some(t) => yasna::construct_der(|w| w.write_utf8_string(&canonical_text(&t))),
                None => value.to_der_vec().ok()?,
            };
            entries.push(yasna::construct_der(|w| {
                w.write_sequence(|w| {
                    w.next()
                        .write_oid(&yasna::models::ObjectIdentifier::from_slice(&oid));
                    w.next().write_der(&encoded);
                })
            }));
        }
        canon.extend(yasna::construct_der(|w| {
            w.write_set_of(|w| {
                for e in &entries {
                    w.next().write_der(e);
                }
            })
        }));
    }
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &canon);
    let d = digest.as_ref();
    Some(u32::from_le_bytes([d[0], d[1], d[2], d[3]]))
}

/// OpenSSL's canonical form of a name's text value.
fn canonical_text(text: &str) -> String {
    // OpenSSL's isspace: space, \t, \n, \v, \f, \r.
    let space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r');
    let mut out = String::with_capacity(text.len());
    let mut in_space = false;
    for c in text.trim_matches(space).chars() {
        if space(c) {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_space = false;
        }
    }
    out
}

// ====================================================================== the verifier

/// A rustls client configuration that judges certificates as RomM does (or,
/// with `insecure`, accepts any, still checking the handshake signature).
pub fn client_config(trust: Trust, insecure: bool) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(Verifier {
        trust,
        insecure,
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("cannot set up TLS")?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[derive(Debug)]
struct Verifier {
    trust: Trust,
    insecure: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.insecure {
            return Ok(ServerCertVerified::assertion());
        }
        judge(&self.trust, end_entity, intermediates, server_name, now)
            .map(|()| ServerCertVerified::assertion())
            .map_err(|refusal| {
                rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(
                    refusal,
                ))))
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Why RomM refuses a server's certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub reason: Reason,
    /// OpenSSL's verify message: RomM's log shows
    /// `certificate verify failed: <this>`.
    pub openssl: String,
    /// Which certificate, and what is wrong with it, in words.
    pub detail: String,
    /// The certificates the server sent, leaf first.
    pub sent: Vec<String>,
    /// What the store was.
    pub store: String,
    /// Whether RomM would accept a CA file holding only the last certificate
    /// the server sends (what `openssl s_client -showcerts` prints last), and
    /// whether that certificate is the server's own.
    pub last_sent: Option<bool>,
    pub last_is_leaf: bool,
    /// The issuer named by the last certificate the server sends.
    pub last_issuer: String,
    /// Whether RomM would accept a CA file holding only the server's own
    /// certificate (a stopgap for a chain RomM's strict rules refuse).
    pub leaf_pin: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// No certificate of the store vouches for the chain.
    Untrusted,
    /// A certificate breaks a rule OpenSSL enforces on its extensions (RFC
    /// 5280's in strict mode, a critical extension it does not handle);
    /// `fix` names what to re-issue it with.
    Strict { fix: String },
    /// A certificate's key usage does not allow a TLS server.
    Purpose,
    /// The certificate does not cover the host of the URL.
    Name { host: String, covered: Vec<String> },
    /// A certificate is expired or not yet valid.
    Validity,
    /// Something else (a bad signature, an algorithm webpki cannot check).
    Other,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "certificate verify failed: {}", self.openssl)
    }
}

impl std::error::Error for Refusal {}

/// One parsed certificate and where it came from.
struct Cert<'a> {
    der: &'a CertificateDer<'a>,
    x: X509Certificate<'a>,
    in_store: bool,
}

impl<'a> Cert<'a> {
    fn parse(der: &'a CertificateDer<'a>, in_store: bool) -> Option<Cert<'a>> {
        let (_, x) = X509Certificate::from_der(der.as_ref()).ok()?;
        Some(Cert { der, x, in_store })
    }

    fn name(&self) -> String {
        let subject = self.x.subject().to_string();
        if subject.is_empty() {
            "(a certificate with an empty subject)".into()
        } else {
            format!("'{subject}'")
        }
    }

    fn self_issued(&self) -> bool {
        self.x.subject().as_raw() == self.x.issuer().as_raw()
    }

    /// OpenSSL's "self-signed": self-issued, and its key identifiers agree.
    fn self_signed(&self) -> bool {
        self.self_issued() && akid_matches(self, self)
    }

    fn is_ca(&self) -> bool {
        self.x
            .basic_constraints()
            .ok()
            .flatten()
            .is_some_and(|bc| bc.value.ca)
    }

    /// What makes OpenSSL find the certificate invalid (its
    /// `EXFLAG_INVALID`): one of the extensions it reads to judge a chain
    /// twice, or unreadable (as far as x509-parser tells), or an empty
    /// keyUsage. OpenSSL then links the certificate to no issuer and,
    /// trusted as itself, finds it fit for no purpose.
    fn defect(&self) -> Option<String> {
        let extensions = self.x.extensions();
        DECODED_EXTENSIONS.iter().find_map(|&(oid, name)| {
            let mut found = extensions.iter().filter(|e| e.oid.to_id_string() == oid);
            match (found.next(), found.next()) {
                (Some(_), Some(_)) => Some(format!("it has two {name} extensions")),
                (Some(e), None) => match e.parsed_extension() {
                    ParsedExtension::ParseError { .. } => {
                        Some(format!("its {name} extension cannot be read"))
                    }
                    ParsedExtension::KeyUsage(ku) if ku.flags == 0 => {
                        Some("its keyUsage extension allows nothing".into())
                    }
                    _ => None,
                },
                _ => None,
            }
        })
    }

    /// A critical extension OpenSSL does not handle (its `EXFLAG_CRITICAL`),
    /// by its OID.
    fn unhandled_critical(&self) -> Option<String> {
        self.x
            .extensions()
            .iter()
            .filter(|e| e.critical)
            .map(|e| e.oid.to_id_string())
            .find(|oid| !HANDLED_EXTENSIONS.contains(&oid.as_str()))
    }

    fn skid(&self) -> Option<&'a [u8]> {
        self.x
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0),
                _ => None,
            })
    }

    fn akid(&self) -> Option<Akid<'a>> {
        self.x
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(a) => Some(Akid {
                    key_id: a.key_identifier.as_ref().map(|k| k.0),
                    serial: a.authority_cert_serial,
                }),
                _ => None,
            })
    }
}

/// The parts of an authorityKeyIdentifier OpenSSL looks at.
struct Akid<'a> {
    key_id: Option<&'a [u8]>,
    serial: Option<&'a [u8]>,
}

/// OpenSSL's key-identifier test for "could `issuer` have issued `child`".
fn akid_matches(child: &Cert<'_>, issuer: &Cert<'_>) -> bool {
    let Some(akid) = child.akid() else {
        return true;
    };
    if let (Some(want), Some(have)) = (akid.key_id, issuer.skid())
        && want != have
    {
        return false;
    }
    akid.serial.is_none_or(|s| s == issuer.x.raw_serial())
}

fn valid_at(c: &Cert<'_>, now: i64) -> bool {
    time_problem(c, now).is_none()
}

fn time_problem(c: &Cert<'_>, now: i64) -> Option<String> {
    let v = c.x.validity();
    if now < v.not_before.timestamp() {
        Some(format!("not valid before {}", v.not_before))
    } else if now > v.not_after.timestamp() {
        Some(format!("expired on {}", v.not_after))
    } else {
        None
    }
}

/// The issuer OpenSSL picks for `child` among `candidates`: same name, key
/// identifiers agreeing, the first valid now or else the one expiring last;
/// none where either has an extension that cannot be read.
fn best_issuer<'c, 'a>(
    child: &Cert<'_>,
    candidates: impl Iterator<Item = &'c Cert<'a>>,
    now: i64,
) -> Option<&'c Cert<'a>>
where
    'a: 'c,
{
    if child.defect().is_some() {
        return None;
    }
    let mut fallback: Option<&Cert<'a>> = None;
    for c in candidates {
        if c.x.subject().as_raw() != child.x.issuer().as_raw()
            || !akid_matches(child, c)
            || c.defect().is_some()
        {
            continue;
        }
        if valid_at(c, now) {
            return Some(c);
        }
        if fallback.is_none_or(|f| c.x.validity().not_after > f.x.validity().not_after) {
            fallback = Some(c);
        }
    }
    fallback
}

/// OpenSSL's `X509_check_ca`: 1 for a CA by basicConstraints, 0 for none
/// (or a certificate it cannot read), other values for CAs by older
/// conventions, which strict mode refuses.
fn check_ca(c: &Cert<'_>) -> u8 {
    if c.defect().is_some() {
        return 0;
    }
    let ku = c.x.key_usage().ok().flatten();
    if ku.as_ref().is_some_and(|ku| !ku.value.key_cert_sign()) {
        return 0;
    }
    if c.x.version() == X509Version::V1 && c.self_signed() {
        return 3;
    }
    match c.x.basic_constraints().ok().flatten() {
        Some(bc) => u8::from(bc.value.ca),
        None if ku.is_some() => 4,
        None => 0,
    }
}

/// What OpenSSL's strict rules read from one certificate (the flags
/// `ossl_x509v3_cache_extensions` sets), and its place in the chain.
struct Marks {
    /// basicConstraints says CA:TRUE.
    ca: bool,
    /// basicConstraints is marked critical.
    ca_critical: bool,
    /// basicConstraints sets a pathLenConstraint.
    path_len: bool,
    key_usage: bool,
    cert_sign: bool,
    crl_sign: bool,
    san: bool,
    san_critical: bool,
    san_empty: bool,
    issuer_empty: bool,
    subject_empty: bool,
    /// The signature algorithm outside and inside the signed part differ.
    algorithms_differ: bool,
    /// An authorityKeyIdentifier with a keyIdentifier.
    akid_key_id: bool,
    skid: bool,
    v3: bool,
    extensions: bool,
    /// Another certificate follows it in the chain.
    has_issuer: bool,
}

impl Marks {
    /// What OpenSSL's rules see of a certificate whose extensions it can read.
    fn read(c: &Cert<'_>, has_issuer: bool) -> Marks {
        let x = &c.x;
        let bc = x
            .basic_constraints()
            .ok()
            .flatten()
            .map(|b| (b.critical, b.value));
        let ku = x.key_usage().ok().flatten();
        let san = x.subject_alternative_name().ok().flatten();
        let akid = c.akid();
        Marks {
            ca: bc.as_ref().is_some_and(|(_, b)| b.ca),
            ca_critical: bc.as_ref().is_some_and(|(critical, _)| *critical),
            path_len: bc
                .as_ref()
                .is_some_and(|(_, b)| b.path_len_constraint.is_some()),
            key_usage: ku.is_some(),
            cert_sign: ku.as_ref().is_some_and(|k| k.value.key_cert_sign()),
            crl_sign: ku.as_ref().is_some_and(|k| k.value.crl_sign()),
            san: san.is_some(),
            san_critical: san.as_ref().is_some_and(|s| s.critical),
            san_empty: san
                .as_ref()
                .is_some_and(|s| s.value.general_names.is_empty()),
            issuer_empty: x.issuer().iter().next().is_none(),
            subject_empty: x.subject().iter().next().is_none(),
            algorithms_differ: x.signature_algorithm != x.tbs_certificate.signature,
            akid_key_id: akid.is_some_and(|a| a.key_id.is_some()),
            skid: c.skid().is_some(),
            v3: x.version() == X509Version::V3,
            extensions: !x.extensions().is_empty(),
            has_issuer,
        }
    }
}

/// One RFC 5280 rule OpenSSL enforces under VERIFY_X509_STRICT.
struct StrictRule {
    /// OpenSSL's verify message.
    openssl: &'static str,
    /// What is wrong with the certificate, in words.
    why: &'static str,
    /// What to re-issue it with.
    fix: &'static str,
    broken: fn(&Marks) -> bool,
}

/// The rules of `check_extensions` in `crypto/x509/x509_vfy.c` (OpenSSL
/// 3.0–3.5), in its order. Its rules for key identifiers marked critical
/// never apply: OpenSSL does not handle those extensions, so it refuses
/// them as unhandled critical extensions first (measured on 3.0.19 and
/// 3.5.2; 4.0 drops the rules, openssl#30249; RomM's image has 3.5).
const STRICT_RULES: &[StrictRule] = &[
    StrictRule {
        openssl: "Path length invalid for non-CA cert",
        why: "it sets a pathLenConstraint without being a CA",
        fix: "basicConstraints without pathlen (RFC 5280 4.2.1.9)",
        broken: |m| m.path_len && !m.ca,
    },
    StrictRule {
        openssl: "Path length given without key usage keyCertSign",
        why: "it sets a pathLenConstraint without the keyCertSign key usage",
        fix: "keyUsage = critical, keyCertSign, cRLSign (RFC 5280 4.2.1.9)",
        broken: |m| m.path_len && !m.cert_sign,
    },
    StrictRule {
        openssl: "Basic Constraints of CA cert not marked critical",
        why: "it is a CA whose basicConstraints extension is not marked critical",
        fix: "basicConstraints = critical, CA:TRUE (RFC 5280 4.2.1.9)",
        broken: |m| m.ca && !m.ca_critical,
    },
    StrictRule {
        openssl: "CA cert does not include key usage extension",
        why: "it is a CA without a keyUsage extension",
        fix: "keyUsage = critical, keyCertSign, cRLSign (RFC 5280 4.2.1.3)",
        broken: |m| m.ca && !m.key_usage,
    },
    StrictRule {
        openssl: "Key usage keyCertSign invalid for non-CA cert",
        why: "it allows keyCertSign without being a CA",
        fix: "a keyUsage without keyCertSign (RFC 5280 4.2.1.3)",
        broken: |m| !m.ca && m.cert_sign,
    },
    StrictRule {
        openssl: "Issuer name empty",
        why: "its issuer name is empty",
        fix: "a non-empty issuer name (RFC 5280 4.1.2.4)",
        broken: |m| m.issuer_empty,
    },
    StrictRule {
        openssl: "Subject name empty",
        why: "its subject name is empty",
        fix: "a non-empty subject name (RFC 5280 4.1.2.6)",
        broken: |m| m.subject_empty && (m.ca || m.crl_sign || !m.san),
    },
    StrictRule {
        openssl: "Subject empty and Subject Alt Name extension not critical",
        why: "its subject is empty and its subjectAltName is not marked critical",
        fix: "a critical subjectAltName, or a subject name (RFC 5280 4.2.1.6)",
        broken: |m| m.subject_empty && m.san && !m.san_critical,
    },
    StrictRule {
        openssl: "Empty Subject Alternative Name extension",
        why: "its subjectAltName extension is empty",
        fix: "a subjectAltName with the server's names (RFC 5280 4.2.1.6)",
        broken: |m| m.san_empty,
    },
    StrictRule {
        openssl: "cert info signature and signature algorithm mismatch",
        why: "its two signature algorithm fields differ",
        fix: "one signature algorithm in both fields (RFC 5280 4.1.1.2)",
        broken: |m| m.algorithms_differ,
    },
    StrictRule {
        openssl: "Missing Authority Key Identifier",
        why: "it has no authorityKeyIdentifier naming the key of its issuer",
        fix: "authorityKeyIdentifier = keyid (RFC 5280 4.2.1.1)",
        broken: |m| m.v3 && m.has_issuer && !m.akid_key_id,
    },
    StrictRule {
        openssl: "Missing Subject Key Identifier",
        why: "it is a CA without a subjectKeyIdentifier",
        fix: "subjectKeyIdentifier = hash (RFC 5280 4.2.1.2)",
        broken: |m| m.v3 && m.ca && !m.skid,
    },
    StrictRule {
        openssl: "Using cert extension requires at least X509v3",
        why: "it has extensions but is not a version 3 certificate",
        fix: "version 3 (RFC 5280 4.1.2.1)",
        broken: |m| !m.v3 && m.extensions,
    },
];

/// OpenSSL's message for a certificate used as a CA that is not one, and
/// what to re-issue it with.
const INVALID_CA: &str = "invalid CA certificate";
const INVALID_CA_FIX: &str =
    "basicConstraints = critical, CA:TRUE with keyUsage = critical, keyCertSign, cRLSign";

/// What to re-issue a certificate with that OpenSSL refused with `openssl`
/// (its verify message, as RomM logs it), when that message names a
/// strict rule on its own.
pub fn strict_fix(openssl: &str) -> Option<&'static str> {
    if openssl == INVALID_CA {
        return Some(INVALID_CA_FIX);
    }
    STRICT_RULES
        .iter()
        .find(|r| r.openssl == openssl)
        .map(|r| r.fix)
}

/// The first of [`STRICT_RULES`] that the certificate at position `i` (0 =
/// the server's) of a chain of `n` breaks; OpenSSL applies them to every
/// certificate of a chain longer than one.
fn strict_rules(c: &Cert<'_>, i: usize, n: usize) -> Result<(), &'static StrictRule> {
    let marks = Marks::read(c, i + 1 < n);
    match STRICT_RULES.iter().find(|r| (r.broken)(&marks)) {
        Some(rule) => Err(rule),
        None => Ok(()),
    }
}

/// Checks a server's certificate chain as RomM's OpenSSL does.
pub fn judge(
    trust: &Trust,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    host: &ServerName<'_>,
    now: UnixTime,
) -> Result<(), Refusal> {
    let verdict = judge_once(trust, end_entity, intermediates, host, now);
    verdict.map_err(|(reason, openssl, detail)| {
        let served: Vec<Cert<'_>> = std::iter::once(end_entity)
            .chain(intermediates)
            .filter_map(|d| Cert::parse(d, false))
            .collect();
        let last = intermediates.last().unwrap_or(end_entity);
        let would = |t: Trust| judge_once(&t, end_entity, intermediates, host, now).is_ok();
        Refusal {
            last_sent: matches!(reason, Reason::Untrusted).then(|| would(Trust::single(last))),
            last_is_leaf: intermediates.is_empty(),
            last_issuer: Cert::parse(last, false)
                .map(|c| format!("'{}'", c.x.issuer()))
                .unwrap_or_default(),
            leaf_pin: !matches!(reason, Reason::Name { .. }) && would(Trust::single(end_entity)),
            reason,
            openssl,
            detail,
            sent: served
                .iter()
                .map(|c| format!("{} (issued by '{}')", c.name(), c.x.issuer()))
                .collect(),
            store: trust.source.clone(),
        }
    })
}

/// A refusal before it is dressed for the user: what kind, OpenSSL's
/// message, which certificate and what is wrong with it.
type Failed = (Reason, String, String);

/// OpenSSL's `X509_verify_cert` in its order: build the chain, check its
/// extensions, the host, the validity, the signatures.
fn judge_once(
    trust: &Trust,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    host: &ServerName<'_>,
    now: UnixTime,
) -> Result<(), Failed> {
    let secs = now.as_secs() as i64;
    let Some(leaf) = Cert::parse(end_entity, false) else {
        return Err((
            Reason::Other,
            "unable to decode the certificate".into(),
            "The server's certificate cannot be parsed as X.509.".into(),
        ));
    };
    let sent: Vec<Cert<'_>> = intermediates
        .iter()
        .filter_map(|d| Cert::parse(d, false))
        .collect();
    let store: Vec<Cert<'_>> = trust
        .certs
        .iter()
        .filter_map(|d| Cert::parse(d, true))
        .collect();
    let (chain, trusted) = build_chain(&leaf, &sent, &store, secs);
    if !trusted {
        return Err(untrusted(&chain, &sent, &store));
    }
    check_extensions(&chain)?;
    // check_id: the host of the URL.
    check_host(&leaf, host)?;
    // internal_verify: validity from the top down, then the signatures.
    check_validity(&chain, secs)?;
    if chain.len() > 1 {
        verify_signatures(&chain, now)?;
    }
    Ok(())
}

/// The chain OpenSSL builds from the server's certificate up, and whether
/// the store vouches for it: at each step a trusted issuer first (with
/// PARTIAL_CHAIN any trusted certificate ends the chain), else one the
/// server sent; a self-signed certificate is replaced by its trusted copy.
fn build_chain<'c, 'a>(
    leaf: &'c Cert<'a>,
    sent: &'c [Cert<'a>],
    store: &'c [Cert<'a>],
    now: i64,
) -> (Vec<&'c Cert<'a>>, bool) {
    let mut chain = vec![leaf];
    while chain.len() < MAX_CHAIN {
        let top = chain[chain.len() - 1];
        if let Some(anchor) = best_issuer(top, store.iter(), now) {
            if top.self_signed() {
                let last = chain.len() - 1;
                chain[last] = anchor;
            } else {
                chain.push(anchor);
            }
            return (chain, true);
        }
        if top.self_signed() {
            break;
        }
        let unused = sent
            .iter()
            .filter(|c| !chain.iter().any(|p| p.der.as_ref() == c.der.as_ref()));
        match best_issuer(top, unused, now) {
            Some(next) => chain.push(next),
            None => break,
        }
    }
    // PARTIAL_CHAIN's last resort: the server's own certificate is in the store.
    let trusted = store.iter().any(|c| c.der.as_ref() == leaf.der.as_ref());
    (chain, trusted)
}

/// OpenSSL's words for a chain nothing in the store vouches for, and why:
/// where it ends, or a certificate on the way that cannot be read.
fn untrusted(chain: &[&Cert<'_>], sent: &[Cert<'_>], store: &[Cert<'_>]) -> Failed {
    let n = chain.len();
    let top = chain[n - 1];
    let openssl = if top.self_signed() && n == 1 {
        "self-signed certificate"
    } else if top.self_signed() {
        "self-signed certificate in certificate chain"
    } else {
        "unable to get local issuer certificate"
    };
    let unusable_issuer = || {
        sent.iter()
            .chain(store)
            .filter(|c| c.x.subject().as_raw() == top.x.issuer().as_raw())
            .find_map(|c| c.defect().map(|why| (c, why)))
    };
    let detail = if top.self_signed() {
        format!(
            "The chain ends at the self-signed {}, which is not in the trust store.",
            top.name()
        )
    } else if let Some(why) = top.defect() {
        format!(
            "{}: {why}, so OpenSSL links it to no issuer.",
            role(top, n - 1)
        )
    } else if let Some((issuer, why)) = unusable_issuer() {
        format!(
            "OpenSSL cannot use {}, the issuer of {}: {why}.",
            issuer.name(),
            top.name()
        )
    } else {
        format!(
            "Nothing vouches for {}: its issuer '{}' is neither in the trust store nor sent by the server.",
            top.name(),
            top.x.issuer()
        )
    };
    (Reason::Untrusted, openssl.into(), detail)
}

/// A certificate as a refusal names it: by where it is in the chain (`i`)
/// and where it came from.
fn role(c: &Cert<'_>, i: usize) -> String {
    if i == 0 && !c.in_store {
        format!("The server's certificate {}", c.name())
    } else if c.in_store {
        format!("The trusted certificate {}", c.name())
    } else {
        format!("The intermediate certificate {} the server sent", c.name())
    }
}

/// OpenSSL's `check_extensions`: the CA markings, the strict rules, the
/// purpose and the path length, certificate by certificate from the
/// server's up.
fn check_extensions(chain: &[&Cert<'_>]) -> Result<(), Failed> {
    let n = chain.len();
    // The CAs between the server's certificate and the one at hand, not
    // counting self-issued ones.
    let mut path_len = 0u32;
    for (i, c) in chain.iter().enumerate() {
        check_handled(c, i)?;
        check_ca_use(c, i)?;
        if n > 1 {
            strict_rules(c, i, n).map_err(|r| {
                (
                    Reason::Strict { fix: r.fix.into() },
                    r.openssl.into(),
                    format!(
                        "{}: {}. Python 3.13 verifies with VERIFY_X509_STRICT and refuses it; rustls and browsers do not check this.",
                        role(c, i),
                        r.why
                    ),
                )
            })?;
        }
        check_purpose(c, i)?;
        check_path_length(c, i, path_len)?;
        if i > 0 && !c.self_issued() {
            path_len += 1;
        }
    }
    Ok(())
}

/// OpenSSL refuses a certificate with a critical extension it does not
/// handle, in any chain and whatever the flags.
fn check_handled(c: &Cert<'_>, i: usize) -> Result<(), Failed> {
    match c.unhandled_critical() {
        None => Ok(()),
        Some(oid) => Err((
            Reason::Strict {
                fix: format!("the extension {oid} not marked critical, or without it"),
            },
            "unhandled critical extension".into(),
            format!(
                "{}: its extension {oid} is marked critical, and OpenSSL does not handle that extension, so RomM refuses the certificate.",
                role(c, i)
            ),
        )),
    }
}

/// Every certificate above the server's must be a CA by basicConstraints;
/// the server's may not be a CA by an older convention.
fn check_ca_use(c: &Cert<'_>, i: usize) -> Result<(), Failed> {
    let ca = check_ca(c);
    let bad_ca = if i == 0 { ca > 1 } else { ca != 1 };
    if !bad_ca {
        return Ok(());
    }
    Err((
        Reason::Strict {
            fix: INVALID_CA_FIX.into(),
        },
        INVALID_CA.into(),
        format!(
            "{} is used as a CA but is not one by RFC 5280 (no basicConstraints CA:TRUE, or a keyUsage without keyCertSign).",
            role(c, i)
        ),
    ))
}

/// The TLS-server purpose: every certificate's extensions must be
/// readable, its extendedKeyUsage, if any, must include serverAuth, and the
/// server's keyUsage, if any, must allow a handshake.
fn check_purpose(c: &Cert<'_>, i: usize) -> Result<(), Failed> {
    if let Some(why) = c.defect() {
        return Err((
            Reason::Purpose,
            "unsuitable certificate purpose".into(),
            format!(
                "{}: {why}, so OpenSSL finds it fit for no purpose.",
                role(c, i)
            ),
        ));
    }
    let eku = c.x.extended_key_usage().ok().flatten();
    let ku = c.x.key_usage().ok().flatten();
    let eku_bad = eku.is_some_and(|e| !e.value.server_auth);
    let ku_bad = i == 0
        && ku.is_some_and(|k| {
            !(k.value.digital_signature() || k.value.key_encipherment() || k.value.key_agreement())
        });
    if !(eku_bad || ku_bad) {
        return Ok(());
    }
    let what = if eku_bad {
        "its extendedKeyUsage does not include serverAuth"
    } else {
        "its keyUsage allows none of digitalSignature, keyEncipherment, keyAgreement"
    };
    Err((
        Reason::Purpose,
        "unsuitable certificate purpose".into(),
        format!("{}: {what}, so it may not serve TLS.", role(c, i)),
    ))
}

/// A CA's pathLenConstraint against the `below` intermediate CAs under it.
fn check_path_length(c: &Cert<'_>, i: usize, below: u32) -> Result<(), Failed> {
    let limit =
        c.x.basic_constraints()
            .ok()
            .flatten()
            .and_then(|b| b.value.path_len_constraint);
    match limit {
        Some(limit) if i > 1 && below > limit => Err((
            Reason::Strict {
                fix: format!("a pathLenConstraint of at least {below}"),
            },
            "path length constraint exceeded".into(),
            format!(
                "{} allows {limit} intermediate CA(s) below it; the chain has {below}.",
                role(c, i)
            ),
        )),
        _ => Ok(()),
    }
}

/// Every certificate must be valid now, checked from the top of the chain down.
fn check_validity(chain: &[&Cert<'_>], now: i64) -> Result<(), Failed> {
    for (i, c) in chain.iter().enumerate().rev() {
        if let Some(why) = time_problem(c, now) {
            let openssl = if why.starts_with("expired") {
                "certificate has expired"
            } else {
                "certificate is not yet valid"
            };
            return Err((
                Reason::Validity,
                openssl.into(),
                format!("{} is {why}.", role(c, i)),
            ));
        }
    }
    Ok(())
}

/// Any extended key usage is fine here: OpenSSL's purpose rule is applied above.
struct AnyPurpose;

impl webpki::ExtendedKeyUsageValidator for AnyPurpose {
    fn validate(&self, _: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        Ok(())
    }
}

/// webpki checks every signature of the chain up to its top certificate.
fn verify_signatures(chain: &[&Cert<'_>], now: UnixTime) -> Result<(), Failed> {
    let fail = |e: webpki::Error| {
        let (openssl, detail) = match e {
            webpki::Error::InvalidSignatureForPublicKey => (
                "certificate signature failure",
                "A certificate of the chain is not signed by the key of the certificate above it."
                    .to_string(),
            ),
            webpki::Error::CaUsedAsEndEntity => (
                "unsupported certificate",
                "The server's certificate is marked as a CA and is issued by another certificate; the doctor cannot check such a chain (RomM's OpenSSL may accept it).".to_string(),
            ),
            other => (
                "unsupported certificate",
                format!("The doctor cannot check this chain ({other}); RomM's OpenSSL may accept it."),
            ),
        };
        (Reason::Other, openssl.to_string(), detail)
    };
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let ee = webpki::EndEntityCert::try_from(chain[0].der).map_err(fail)?;
    let top = chain[chain.len() - 1];
    let anchor = webpki::anchor_from_trusted_cert(top.der).map_err(fail)?;
    let middle: Vec<CertificateDer<'_>> = chain[1..chain.len() - 1]
        .iter()
        .map(|c| c.der.clone())
        .collect();
    ee.verify_for_usage(
        provider.signature_verification_algorithms.all,
        &[anchor],
        &middle,
        now,
        AnyPurpose,
        None,
        None,
    )
    .map(|_| ())
    .map_err(fail)
}

/// The host of the URL against the server's certificate (OpenSSL's
/// `check_id`).
fn check_host(leaf: &Cert<'_>, host: &ServerName<'_>) -> Result<(), Failed> {
    let names = HostNames::read(leaf);
    let (shown, kind) = match host {
        ServerName::IpAddress(ip) => (std::net::IpAddr::from(*ip).to_string(), "IP address"),
        ServerName::DnsName(d) => (d.as_ref().to_string(), "Hostname"),
        _ => (String::new(), "Hostname"),
    };
    if names.cover(host) {
        return Ok(());
    }
    let covered = names.shown();
    Err((
        Reason::Name {
            host: shown.clone(),
            covered: covered.clone(),
        },
        format!("{kind} mismatch, certificate is not valid for '{shown}'."),
        if covered.is_empty() {
            format!("The server's certificate {} names no host.", leaf.name())
        } else {
            format!(
                "The server's certificate {} is valid for {} only.",
                leaf.name(),
                covered.join(", ")
            )
        },
    ))
}

/// The names a server's certificate holds for OpenSSL's host check.
struct HostNames<'a> {
    /// The subjectAltName entries, in order.
    alt: Vec<GeneralName<'a>>,
    common: Vec<String>,
}

impl<'a> HostNames<'a> {
    fn read(leaf: &Cert<'a>) -> HostNames<'a> {
        HostNames {
            alt: leaf
                .x
                .subject_alternative_name()
                .ok()
                .flatten()
                .map(|s| s.value.general_names.clone())
                .unwrap_or_default(),
            common: leaf
                .x
                .subject()
                .iter_common_name()
                .filter_map(|cn| cn.as_str().ok().map(str::to_string))
                .collect(),
        }
    }

    fn dns(&self) -> impl Iterator<Item = &str> {
        self.alt.iter().filter_map(|n| match n {
            GeneralName::DNSName(d) => Some(*d),
            _ => None,
        })
    }

    /// As Python sets OpenSSL up: a DNS name against the subjectAltName DNS
    /// entries, or the common names when there are none; an IP address
    /// against the subjectAltName IP entries only.
    fn cover(&self, host: &ServerName<'_>) -> bool {
        match host {
            ServerName::DnsName(d) if self.dns().next().is_none() => {
                self.common.iter().any(|cn| name_matches(cn, d.as_ref()))
            }
            ServerName::DnsName(d) => self.dns().any(|name| name_matches(name, d.as_ref())),
            ServerName::IpAddress(ip) => {
                let octets = match std::net::IpAddr::from(*ip) {
                    std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
                    std::net::IpAddr::V6(v6) => v6.octets().to_vec(),
                };
                self.alt
                    .iter()
                    .any(|n| matches!(n, GeneralName::IPAddress(b) if *b == octets.as_slice()))
            }
            _ => false,
        }
    }

    /// What the certificate covers, for a refusal: its DNS names and
    /// addresses, and its common names where OpenSSL reads them.
    fn shown(&self) -> Vec<String> {
        let mut covered: Vec<String> = self
            .alt
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some(d.to_string()),
                GeneralName::IPAddress(b) => ip_text(b),
                _ => None,
            })
            .collect();
        if self.dns().next().is_none() {
            covered.extend(self.common.iter().map(|cn| format!("{cn} (common name)")));
        }
        covered
    }
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => Some(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?).to_string()),
        16 => Some(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?).to_string()),
        _ => None,
    }
}

/// A DNS name of the certificate (a subjectAltName entry or a common name)
/// against the host, as OpenSSL 3 compares them for Python (`equal_wildcard`
/// with `X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS`): equal but for ASCII case,
/// or a wildcard pattern whose `*` stands for one non-empty label of
/// letters, digits and hyphens. A trailing dot is compared as written.
fn name_matches(name: &str, host: &str) -> bool {
    if name.eq_ignore_ascii_case(host) {
        return true;
    }
    let Some(suffix) = wildcard_suffix(name) else {
        return false;
    };
    let Some(label) = host
        .len()
        .checked_sub(suffix.len())
        .and_then(|at| host.get(..at))
    else {
        return false;
    };
    !label.is_empty()
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && host[label.len()..].eq_ignore_ascii_case(suffix)
}

/// What follows the `*` of a name OpenSSL takes as a wildcard pattern
/// (`valid_star`): `*` the whole first label, then two or more labels of
/// letters, digits and inner hyphens. Any other name is compared as it is.
fn wildcard_suffix(name: &str) -> Option<&str> {
    let suffix = name.strip_prefix('*')?;
    let labels: Vec<&str> = suffix.strip_prefix('.')?.split('.').collect();
    let valid = |label: &str| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    (labels.len() >= 2 && labels.iter().all(|l| valid(l))).then_some(suffix)
}

/// rustls' own verdict with the same store, to tell where it and RomM differ.
#[cfg(test)]
fn rustls_verdict(
    trust: &Trust,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    host: &ServerName<'_>,
    now: UnixTime,
) -> bool {
    let mut roots = rustls::RootCertStore::empty();
    for c in &trust.certs {
        let _ = roots.add(c.clone());
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .is_ok_and(|v| {
            v.verify_server_cert(end_entity, intermediates, host, &[], now)
                .is_ok()
        })
}

#[cfg(test)]
mod tests;
