//! RPyC over TLS (RPyC's `ssl_connect`): a normal TLS handshake, then the same byte stream.
//!
//! ```no_run
//! # async fn demo() -> Result<(), rpyc::Error> {
//! let ca = std::fs::read("ca.pem").unwrap();
//! let tls = rpyc::tls::client_config(&ca)?;
//! let conn = rpyc::tls::tls_connect("127.0.0.1:18821", "localhost", tls).await?;
//! let root = conn.root().await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use rpyc_core::Config;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::TlsConnector;

use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::service::{Service, VoidService};

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

/// Connects over TLS (verifying the server as `server_name`), with no service of our own.
///
/// A failure to connect or a failed handshake is an [`Error::Connect`] naming `addr`.
pub async fn tls_connect(
    addr: impl tokio::net::ToSocketAddrs + std::fmt::Debug,
    server_name: &str,
    tls: Arc<rustls::ClientConfig>,
) -> Result<Connection> {
    tls_connect_with(
        addr,
        server_name,
        tls,
        Arc::new(VoidService),
        Config::default(),
    )
    .await
}

/// Connects over TLS serving `service` to the peer, with `config`.
pub async fn tls_connect_with(
    addr: impl tokio::net::ToSocketAddrs + std::fmt::Debug,
    server_name: &str,
    tls: Arc<rustls::ClientConfig>,
    service: Arc<dyn Service>,
    config: Config,
) -> Result<Connection> {
    let name = ServerName::try_from(server_name.to_string())
        .map_err(|e| Error::Protocol(format!("invalid server name {server_name:?}: {e}")))?;
    let (tcp, shown) = crate::connect::open_tcp(addr).await?;
    let _ = tcp.set_nodelay(true);
    let local = tcp.peer_addr().is_ok_and(|a| a.ip().is_loopback());
    let stream = TlsConnector::from(tls)
        .connect(name, crate::transport::QuickAckStream::new(tcp))
        .await
        .map_err(|e| {
            let why = std::io::Error::new(e.kind(), format!("TLS handshake failed: {e}"));
            Error::connect(shown, why)
        })?;
    Ok(Connection::new(
        stream,
        service,
        crate::connect::local_peer_config(config, local),
    ))
}
