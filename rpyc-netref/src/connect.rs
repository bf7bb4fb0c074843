//! Opening connections: over TCP ([`connect`], [`connect_with`]), a Unix socket
//! ([`unix_connect`]), over TLS ([`tls_connect`], also as `rpyc::tls::tls_connect`), or both ends
//! in this process ([`connect_pair`]). Above the connection (which only sees a byte stream) and the transport
//! (`crate::transport`, which tunes the socket).

use std::sync::Arc;

use rpyc_core::Config;

use rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::service::{Service, VoidService};
use crate::transport::QuickAckStream;
/// Connects to an RPyC server over TCP (no service of our own, default config).
///
/// `addr` is anything tokio resolves: `"host:port"`, `("host", port)`, a `SocketAddr`, ….
/// A failure to connect (refused, unreachable, unresolved) is an [`Error::Connect`] naming
/// the address and the OS error.
///
/// ```no_run
/// # async fn demo() -> Result<(), rpyc::Error> {
/// let conn = rpyc::connect("127.0.0.1:18861").await?;
/// let root = conn.root().await?;
/// let answer: i64 = root.attr("the_answer").await?;
/// # Ok(()) }
/// ```
pub async fn connect(addr: impl tokio::net::ToSocketAddrs + std::fmt::Debug) -> Result<Connection> {
    connect_with(addr, Arc::new(VoidService), Config::default()).await
}

/// Connects over TCP serving `service` to the peer, with `config`.
pub async fn connect_with(
    addr: impl tokio::net::ToSocketAddrs + std::fmt::Debug,
    service: Arc<dyn Service>,
    config: Config,
) -> Result<Connection> {
    let (stream, _) = open_tcp(addr).await?;
    Ok(Connection::from_tcp(stream, service, config))
}

/// Opens a TCP stream to `addr` (trying every address it resolves to, as
/// `TcpStream::connect` does); a failure is an [`Error::Connect`] naming `addr`. Also returns
/// the address as shown in errors.
pub(crate) async fn open_tcp(
    addr: impl tokio::net::ToSocketAddrs + std::fmt::Debug,
) -> Result<(tokio::net::TcpStream, String)> {
    let shown = shown_addr(&addr);
    match tokio::net::TcpStream::connect(addr).await {
        Ok(stream) => Ok((stream, shown)),
        Err(e) => Err(Error::connect(shown, e)),
    }
}

/// An address as the user typed it: `127.0.0.1:18861`, not `"127.0.0.1:18861"`.
pub(crate) fn shown_addr(addr: &impl std::fmt::Debug) -> String {
    let s = format!("{addr:?}");
    match s.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner.to_string(),
        None => s,
    }
}

/// Connects to an RPyC server listening on a Unix socket. A failure to connect is an
/// [`Error::Connect`] naming the socket's path and the OS error.
#[cfg(unix)]
pub async fn unix_connect(path: impl AsRef<std::path::Path>) -> Result<Connection> {
    unix_connect_with(path.as_ref(), Arc::new(VoidService), Config::default()).await
}

/// [`unix_connect`] serving `service` to the peer, with `config` (the classic client's).
#[cfg(unix)]
pub(crate) async fn unix_connect_with(
    path: &std::path::Path,
    service: Arc<dyn Service>,
    config: Config,
) -> Result<Connection> {
    let stream = tokio::net::UnixStream::connect(path)
        .await
        .map_err(|e| Error::connect(path.display().to_string(), e))?;
    let (r, w) = stream.into_split();
    Ok(Connection::from_parts(
        r,
        w,
        service,
        crate::transport::local_peer_config(config, true),
    ))
}

/// Two connected `Connection`s in one process (over an in-memory duplex stream), both serving
/// [`VoidService`]. For tests and examples.
pub async fn connect_pair() -> (Connection, Connection) {
    connect_pair_with(VoidService, Config::default()).await
}

/// Two connected `Connection`s in one process: `(client, server)`, the server side serving
/// `service`, both with `config`.
pub async fn connect_pair_with<S: Service>(service: S, config: Config) -> (Connection, Connection) {
    let (a, b) = tokio::io::duplex(256 * 1024);
    let server = Connection::new(b, Arc::new(service), config.clone());
    let client = Connection::new(a, Arc::new(VoidService), config);
    (client, server)
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
    let (tcp, shown) = open_tcp(addr).await?;
    let config = crate::transport::tune_tcp(&tcp, config);
    let stream = TlsConnector::from(tls)
        .connect(name, QuickAckStream::new(tcp))
        .await
        .map_err(|e| {
            let why = std::io::Error::new(e.kind(), format!("TLS handshake failed: {e}"));
            Error::connect(shown, why)
        })?;
    // Each write one frame at most, so one TLS record never holds two frames (see
    // `transport::frame_records`).
    let (r, w) = tokio::io::split(stream);
    Ok(Connection::from_parts(
        r,
        crate::transport::FrameRecords::new(w),
        service,
        config,
    ))
}
