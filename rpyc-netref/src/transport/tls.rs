//! Client TLS configurations for RPyC over TLS (RPyC's `ssl_connect`); connecting is
//! [`crate::tls::tls_connect`].

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::error::{Error, Result};

/// A client TLS configuration trusting the CA certificates in `ca_pem` (PEM, one or more).
pub fn client_config(ca_pem: &[u8]) -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        let cert = cert.map_err(|e| Error::Protocol(format!("invalid CA certificate PEM: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| Error::Protocol(format!("unusable CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(Error::Protocol("no CA certificate in the PEM data".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Protocol(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}
