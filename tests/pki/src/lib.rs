//! Certificates for the TLS tests, made with rcgen: a private root, an
//! intermediate and server certificates, each with exactly the flaw a test
//! needs (a CA whose basicConstraints is not critical, a missing key
//! identifier, a wrong name, an expired validity, …).
//!
//! Every CA gets its basicConstraints and subjectKeyIdentifier written as
//! explicit extensions, so that each can be left out or made non-critical on
//! its own; rcgen would otherwise always write both, and always critical.

use rcgen::{
    CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod,
    KeyPair, KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

const BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
const SUBJECT_KEY_IDENTIFIER: &[u64] = &[2, 5, 29, 14];

/// When a certificate is valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    Now,
    Expired,
    NotYetValid,
}

impl Validity {
    fn apply(self, params: &mut CertificateParams) {
        let now = OffsetDateTime::now_utc();
        let year = Duration::days(365);
        (params.not_before, params.not_after) = match self {
            Validity::Now => (now - year, now + year),
            Validity::Expired => (now - 2 * year, now - year),
            Validity::NotYetValid => (now + year, now + 2 * year),
        };
    }
}

/// How a CA certificate is made; `Default` is a well-formed RFC 5280 CA.
#[derive(Clone, Debug)]
pub struct CaSpec {
    pub name: String,
    pub basic_constraints_critical: bool,
    pub key_usage: bool,
    pub subject_key_id: bool,
    /// Only for an intermediate: the authorityKeyIdentifier naming its issuer.
    pub authority_key_id: bool,
    pub validity: Validity,
}

impl Default for CaSpec {
    fn default() -> CaSpec {
        CaSpec {
            name: "romm-oidc test root CA".into(),
            basic_constraints_critical: true,
            key_usage: true,
            subject_key_id: true,
            authority_key_id: true,
            validity: Validity::Now,
        }
    }
}

impl CaSpec {
    /// A well-formed intermediate CA (named apart from the root).
    pub fn intermediate() -> CaSpec {
        CaSpec {
            name: "romm-oidc test intermediate CA".into(),
            ..CaSpec::default()
        }
    }
}

/// A CA: its certificate and what it needs to sign others.
pub struct Ca {
    pub pem: String,
    pub der: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
}

/// A server certificate and its key (PKCS#8 DER).
pub struct Leaf {
    pub pem: String,
    pub der: Vec<u8>,
    pub key_der: Vec<u8>,
}

/// How a server certificate is made; `Default` is valid for `localhost` and
/// `127.0.0.1` with an authorityKeyIdentifier and the serverAuth usage.
#[derive(Clone, Debug)]
pub struct LeafSpec {
    pub common_name: String,
    /// The subjectAltName entries (DNS names or IP addresses); empty: none.
    pub names: Vec<String>,
    pub authority_key_id: bool,
    pub server_auth: bool,
    pub validity: Validity,
    /// Marked as a CA (critical basicConstraints cA TRUE, keyCertSign), as
    /// `openssl req -x509` makes a self-signed server certificate.
    pub is_ca: bool,
}

impl Default for LeafSpec {
    fn default() -> LeafSpec {
        LeafSpec {
            common_name: "localhost".into(),
            names: vec!["localhost".into(), "127.0.0.1".into()],
            authority_key_id: true,
            server_auth: true,
            validity: Validity::Now,
            is_ca: false,
        }
    }
}

impl LeafSpec {
    pub fn names(names: &[&str]) -> LeafSpec {
        LeafSpec {
            common_name: names.first().copied().unwrap_or("server").into(),
            names: names.iter().map(|n| n.to_string()).collect(),
            ..LeafSpec::default()
        }
    }
}

fn der_bool_sequence() -> Vec<u8> {
    // BasicConstraints ::= SEQUENCE { cA BOOLEAN TRUE }
    yasna::construct_der(|w| w.write_sequence(|w| w.next().write_bool(true)))
}

fn key_id(key: &KeyPair) -> Vec<u8> {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.public_key_raw());
    digest.as_ref()[..20].to_vec()
}

fn ca_params(spec: &CaSpec, key: &KeyPair) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, spec.name.as_str());
    // The CA extensions are written by hand below, so rcgen adds none.
    params.is_ca = IsCa::NoCa;
    let id = key_id(key);
    let mut bc = CustomExtension::from_oid_content(BASIC_CONSTRAINTS, der_bool_sequence());
    bc.set_criticality(spec.basic_constraints_critical);
    params.custom_extensions.push(bc);
    if spec.subject_key_id {
        let skid = yasna::construct_der(|w| w.write_bytes(&id));
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(
                SUBJECT_KEY_IDENTIFIER,
                skid,
            ));
    }
    // What a signed certificate's authorityKeyIdentifier will hold.
    params.key_identifier_method = KeyIdMethod::PreSpecified(id);
    if spec.key_usage {
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
    }
    spec.validity.apply(&mut params);
    params
}

/// A self-signed root CA.
pub fn root(spec: &CaSpec) -> Ca {
    let key = KeyPair::generate().expect("CA key");
    let params = ca_params(spec, &key);
    let cert = params.self_signed(&key).expect("self-sign the root");
    Ca {
        pem: cert.pem(),
        der: cert.der().to_vec(),
        issuer: Issuer::new(params, key),
    }
}

/// An intermediate CA signed by `parent`.
pub fn intermediate(parent: &Ca, spec: &CaSpec) -> Ca {
    let key = KeyPair::generate().expect("CA key");
    let mut params = ca_params(spec, &key);
    params.use_authority_key_identifier_extension = spec.authority_key_id;
    let cert = params
        .signed_by(&key, &parent.issuer)
        .expect("sign the intermediate");
    Ca {
        pem: cert.pem(),
        der: cert.der().to_vec(),
        issuer: Issuer::new(params, key),
    }
}

fn leaf_params(spec: &LeafSpec) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("leaf params");
    params.subject_alt_names = spec
        .names
        .iter()
        .map(|n| match n.parse() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(n.as_str().try_into().expect("a DNS name")),
        })
        .collect();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, spec.common_name.as_str());
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if spec.is_ca {
        params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages.push(KeyUsagePurpose::KeyCertSign);
    }
    params.extended_key_usages = vec![if spec.server_auth {
        ExtendedKeyUsagePurpose::ServerAuth
    } else {
        ExtendedKeyUsagePurpose::ClientAuth
    }];
    params.use_authority_key_identifier_extension = spec.authority_key_id;
    spec.validity.apply(&mut params);
    params
}

/// A server certificate signed by `issuer`, or self-signed with `None`.
pub fn leaf(issuer: Option<&Ca>, spec: &LeafSpec) -> Leaf {
    let key = KeyPair::generate().expect("leaf key");
    let params = leaf_params(spec);
    let cert = match issuer {
        Some(ca) => params.signed_by(&key, &ca.issuer),
        None => params.self_signed(&key),
    }
    .expect("sign the leaf");
    Leaf {
        pem: cert.pem(),
        der: cert.der().to_vec(),
        key_der: key.serialize_der(),
    }
}
