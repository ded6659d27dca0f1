//! The HTTP(S) server plumbing shared by both doubles: a multi-thread tokio
//! runtime (2 workers) owned by a background std thread, hyper-util
//! connections (HTTP/1.1 and HTTP/2) over an axum `Router`, optional TLS with
//! a certificate issued by a freshly generated private CA.

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::io;
use std::net::TcpListener as StdListener;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::{Semaphore, oneshot};
use tokio_rustls::TlsAcceptor;

/// At most this many connections are served at once; more are closed.
const MAX_CONNECTIONS: usize = 1024;
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A running server; dropping it stops the runtime and joins its thread.
pub struct Server {
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `router` on an already bound listener.
    pub fn spawn(
        listener: StdListener,
        router: Router,
        tls: Option<Arc<rustls::ServerConfig>>,
        name: &str,
    ) -> io::Result<Server> {
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name(format!("{name}-worker"))
            .build()?;
        let (tx, rx) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                runtime.block_on(serve(listener, router, tls.map(TlsAcceptor::from), rx));
                runtime.shutdown_timeout(Duration::from_millis(500));
            })?;
        Ok(Server {
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: StdListener,
    router: Router,
    tls: Option<TlsAcceptor>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else {
                    // e.g. EMFILE: back off briefly instead of spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let Ok(permit) = limit.clone().try_acquire_owned() else {
                    continue; // over the limit: the stream is dropped (closed)
                };
                let router = router.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    let _ = stream.set_nodelay(true);
                    match tls {
                        Some(acceptor) => {
                            if let Ok(Ok(stream)) =
                                tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                            {
                                serve_connection(TokioIo::new(stream), router).await;
                            }
                        }
                        None => serve_connection(TokioIo::new(stream), router).await,
                    }
                });
            }
        }
    }
}

async fn serve_connection<I>(io: I, router: Router)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let _ = builder
        .serve_connection(io, TowerToHyperService::new(router))
        .await;
}

/// What the listener serves over TLS.
pub struct Tls {
    /// The CA (PEM, DER) when the certificate was generated here.
    pub ca_pem: Option<(String, Vec<u8>)>,
    pub server_config: Arc<rustls::ServerConfig>,
}

fn tls_err<E: std::fmt::Display>(e: E) -> io::Error {
    io::Error::other(format!("TLS setup failed: {e}"))
}

/// A private CA and a server certificate it issued for `localhost` and
/// `127.0.0.1`.
pub fn generate_tls() -> io::Result<Tls> {
    let ca_key = KeyPair::generate().map_err(tls_err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "pocket-id-emulator private CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(tls_err)?;
    let issuer = Issuer::new(ca_params, &ca_key);

    let leaf_key = KeyPair::generate().map_err(tls_err)?;
    let mut leaf_params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .map_err(tls_err)?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf_params.is_ca = IsCa::NoCa;
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.use_authority_key_identifier_extension = true;
    let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer).map_err(tls_err)?;

    let chain = crate::TlsChain {
        certs: vec![leaf_cert.der().to_vec()],
        key: leaf_key.serialize_der(),
    };
    Ok(Tls {
        ca_pem: Some((ca_cert.pem(), ca_cert.der().to_vec())),
        server_config: server_config(&chain)?,
    })
}

/// A server configuration that sends `chain` as is.
pub fn server_config(chain: &crate::TlsChain) -> io::Result<Arc<rustls::ServerConfig>> {
    let certs = chain.certs.iter().cloned().map(Into::into).collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key.clone()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(tls_err)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
