//! TLS for servers: build a [`TlsAcceptor`] from PEM certificate and key, then
//! `Server::tls(acceptor)`. Python clients connect with `rpyc.ssl_connect(host, port, …)`.

use std::io;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// An acceptor presenting the certificate chain `cert_pem` with private key `key_pem`.
pub fn acceptor_from_pem(cert_pem: &[u8], key_pem: &[u8]) -> io::Result<TlsAcceptor> {
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
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("TLS setup", &e))?
        .with_no_client_auth()
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
