//! Client TLS configurations for RPyC over TLS (RPyC's `ssl_connect`); connecting is
//! [`crate::tls::tls_connect`] (or `rpyc::classic::tls_connect`, which takes the same
//! configuration).
//!
//! [`client_config`] trusts a CA; [`ClientTls`] builds the other shapes: a pinned server
//! certificate instead of a CA, and a client certificate for servers that require one
//! (RPyC's `ssl_connect(host, port, keyfile, certfile, ca_certs)` against an
//! `SSLAuthenticator(..., ca_certs=...)` server, or `rpyc-server --tls-ca`).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::error::{Error, Result};

/// A client TLS configuration trusting the CA certificates in `ca_pem` (PEM, one or more).
/// Shorthand for `ClientTls::ca(ca_pem)?.build()`.
pub fn client_config(ca_pem: &[u8]) -> Result<Arc<rustls::ClientConfig>> {
    ClientTls::ca(ca_pem)?.build()
}

/// How a client checks the server, and the certificate it presents, built into the
/// `Arc<rustls::ClientConfig>` that `tls_connect` takes.
///
/// ```no_run
/// # async fn demo() -> rpyc::Result<()> {
/// use rpyc::tls::ClientTls;
/// let read = |p: &str| std::fs::read(p).unwrap();
/// // Trust a CA and present a client certificate (a server with `--tls-ca` requires one).
/// let tls = ClientTls::ca(&read("ca.pem"))?
///     .client_cert(&read("client.pem"), &read("client-key.pem"))?
///     .build()?;
/// let conn = rpyc::tls::tls_connect("127.0.0.1:18821", "localhost", tls).await?;
/// // Or trust exactly one server certificate, whoever signed it.
/// let pinned = ClientTls::pinned(&read("server.pem"))?.build()?;
/// let conn = rpyc::tls::tls_connect("127.0.0.1:18821", "localhost", pinned).await?;
/// # Ok(()) }
/// ```
pub struct ClientTls {
    trust: Trust,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

enum Trust {
    Ca(rustls::RootCertStore),
    Pinned(Vec<CertificateDer<'static>>),
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let trust = match &self.trust {
            Trust::Ca(roots) => format!("{} CA certificate(s)", roots.len()),
            Trust::Pinned(certs) => format!("{} pinned certificate(s)", certs.len()),
        };
        f.debug_struct("ClientTls")
            .field("trust", &trust)
            .field("client_cert", &self.identity.is_some())
            .finish()
    }
}

fn certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Protocol(format!("invalid {what} PEM: {e}")))?;
    if certs.is_empty() {
        return Err(Error::Protocol(format!("no {what} in the PEM data")));
    }
    Ok(certs)
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl ClientTls {
    /// Verify the server's certificate chain against the CA certificates in `ca_pem` (PEM, one
    /// or more), and its name against the `server_name` given to `tls_connect`.
    pub fn ca(ca_pem: &[u8]) -> Result<Self> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in certs(ca_pem, "CA certificate")? {
            roots
                .add(cert)
                .map_err(|e| Error::Protocol(format!("unusable CA certificate: {e}")))?;
        }
        Ok(ClientTls {
            trust: Trust::Ca(roots),
            identity: None,
        })
    }

    /// Accept exactly the server certificates in `cert_pem` (PEM, one or more), compared byte
    /// for byte: no CA, name or expiry check (the pin is the check), but the server must still
    /// prove it holds the certificate's key.
    pub fn pinned(cert_pem: &[u8]) -> Result<Self> {
        Ok(ClientTls {
            trust: Trust::Pinned(certs(cert_pem, "pinned certificate")?),
            identity: None,
        })
    }

    /// Present this certificate chain (PEM, leaf first) and its private key (PEM) when the
    /// server asks for a client certificate.
    pub fn client_cert(mut self, cert_pem: &[u8], key_pem: &[u8]) -> Result<Self> {
        let chain = certs(cert_pem, "client certificate")?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| Error::Protocol(format!("invalid client private key PEM: {e}")))?;
        self.identity = Some((chain, key));
        Ok(self)
    }

    /// The configuration `tls_connect` takes; fails if the client key does not match its
    /// certificate.
    pub fn build(self) -> Result<Arc<rustls::ClientConfig>> {
        let provider = provider();
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Protocol(e.to_string()))?;
        let builder = match self.trust {
            Trust::Ca(roots) => builder.with_root_certificates(roots),
            Trust::Pinned(pins) => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Pinned {
                    pins,
                    algorithms: provider.signature_verification_algorithms,
                })),
        };
        let cfg = match self.identity {
            None => builder.with_no_client_auth(),
            Some((chain, key)) => builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| Error::Protocol(format!("client certificate and key: {e}")))?,
        };
        Ok(Arc::new(cfg))
    }
}

/// Accepts the pinned certificates only; signatures are still verified.
#[derive(Debug)]
struct Pinned {
    pins: Vec<CertificateDer<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if self.pins.iter().any(|p| p.as_ref() == end_entity.as_ref()) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
