//! TLS for servers: build a [`TlsAcceptor`] from PEM certificate and key, then
//! `Server::tls(acceptor)`. Python clients connect with `rpyc.ssl_connect(host, port, …)`.
//!
//! With [`mutual_acceptor_from_pem`] the server also requires a client certificate signed by a
//! given CA (RPyC's `SSLAuthenticator(keyfile, certfile, ca_certs=…)`, `CERT_REQUIRED`): a
//! client without one, or with one from another CA, gets a TLS alert and no connection. The
//! verified subject and alternative names reach the service as
//! `CallContext::credentials().tls`.

use std::io;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// An acceptor presenting the certificate chain `cert_pem` with private key `key_pem`.
pub fn acceptor_from_pem(cert_pem: &[u8], key_pem: &[u8]) -> io::Result<TlsAcceptor> {
    acceptor(cert_pem, key_pem, None)
}

/// An acceptor presenting `cert_pem`/`key_pem` that requires every client to present a
/// certificate signed by one of the CA certificates in `client_ca_pem` (PEM, one or more).
///
/// ```
/// let ca = rcgen::generate_simple_self_signed(vec!["my CA".into()]).unwrap();
/// let server = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
/// let acceptor = rpyc::server::tls::mutual_acceptor_from_pem(
///     server.cert.pem().as_bytes(),
///     server.signing_key.serialize_pem().as_bytes(),
///     ca.cert.pem().as_bytes(),
/// );
/// assert!(acceptor.is_ok());
/// ```
pub fn mutual_acceptor_from_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
    client_ca_pem: &[u8],
) -> io::Result<TlsAcceptor> {
    acceptor(cert_pem, key_pem, Some(client_ca_pem))
}

fn acceptor(cert_pem: &[u8], key_pem: &[u8], client_ca: Option<&[u8]>) -> io::Result<TlsAcceptor> {
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("{what}: {e}"))
    };
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad("invalid certificate PEM", &e))?;
    if certs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no certificate in the PEM data",
        ));
    }
    let key =
        PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| bad("invalid private key PEM", &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("TLS setup", &e))?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca_pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(ca_pem) {
                let cert = cert.map_err(|e| bad("invalid client CA PEM", &e))?;
                roots
                    .add(cert)
                    .map_err(|e| bad("unusable client CA certificate", &e))?;
            }
            if roots.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "no client CA certificate in the PEM data",
                ));
            }
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .map_err(|e| bad("client certificate verifier", &e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let cfg = builder
        .with_single_cert(certs, key)
        .map_err(|e| bad("certificate and key do not match", &e))?;
    Ok(TlsAcceptor::from(Arc::new(cfg)))
}

/// An acceptor from PEM files on disk.
pub fn acceptor_from_files(
    cert: impl AsRef<std::path::Path>,
    key: impl AsRef<std::path::Path>,
) -> io::Result<TlsAcceptor> {
    acceptor_from_pem(&std::fs::read(cert)?, &std::fs::read(key)?)
}

/// A mutual-TLS acceptor from PEM files on disk (`rpyc-server --tls-cert C --tls-key K
/// --tls-ca CA`).
pub fn mutual_acceptor_from_files(
    cert: impl AsRef<std::path::Path>,
    key: impl AsRef<std::path::Path>,
    client_ca: impl AsRef<std::path::Path>,
) -> io::Result<TlsAcceptor> {
    mutual_acceptor_from_pem(
        &std::fs::read(cert)?,
        &std::fs::read(key)?,
        &std::fs::read(client_ca)?,
    )
}

/// The verified client certificate of an accepted TLS stream, if the client presented one.
pub(crate) fn peer_identity<S>(
    stream: &tokio_rustls::server::TlsStream<S>,
) -> Option<rpyc_core::TlsIdentity> {
    let leaf = stream.get_ref().1.peer_certificates()?.first()?;
    rpyc_core::TlsIdentity::from_der(leaf.as_ref())
}
