//! [`Server`]: accept connections (TCP over IPv4/IPv6, or a Unix socket) and serve each with a
//! service, until shut down.
//!
//! Each connection runs on its own tasks with a fresh service instance ([`Server::serve`]) or
//! one shared instance ([`Server::serve_shared`]), like RPyC's service class vs instance. The
//! number of connections is capped (`slots.rs`: a newcomer evicts the oldest connection that
//! never sent a frame, else waits for a free slot; an optional per-peer limit). Shutdown stops
//! accepting, lets each connection's in-flight calls finish up to the grace period, then
//! closes it.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use rpyc::server::{services::CalculatorService, Server};
//! let server = Server::bind("127.0.0.1:0").await.unwrap();
//! let addr = server.local_addr().unwrap();
//! let stop = server.shutdown_handle();
//! let task = tokio::spawn(server.serve(CalculatorService::new));
//!
//! let conn = rpyc::connect(addr).await.unwrap();
//! let root = conn.root().await.unwrap();
//! assert_eq!(root.call_method("add", (2, 3)).await.unwrap(), rpyc::Value::Int(5));
//! stop.shutdown();
//! task.await.unwrap().unwrap();
//! # });
//! ```

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rpyc_core::{Config, Credentials};
use rpyc_netref::transport::{local_peer_config, tune_tcp, QuickAckStream};
use rpyc_netref::{Connection, Service};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use tokio_rustls::TlsAcceptor;

use crate::auth::{start_authenticated, Accepted, AuthStream, Authenticator};
use crate::discovery::{Discovery, Registration};
use crate::slots::{peer_key, Refused, Slots};
use crate::status::Monitor;
// Kept here too, so `rpyc_server::server::ShutdownHandle` still names it.
pub use crate::shutdown::ShutdownHandle;

/// How many connections a server has open; cheap to clone and share with services.
#[derive(Debug, Clone, Default)]
pub struct ConnectionCounter(Arc<AtomicUsize>);

impl ConnectionCounter {
    /// The number of open connections.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }
}

/// Most simultaneous connections a [`Server`] accepts unless told otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// How long in-flight calls may run at shutdown unless told otherwise.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

enum Listener {
    Tcp(tokio::net::TcpListener),
    #[cfg(unix)]
    Unix(tokio::net::UnixListener, PathBuf),
}

/// A bound listener and its serving options.
pub struct Server {
    listener: Listener,
    config: Config,
    max_connections: usize,
    max_connections_per_peer: Option<usize>,
    one_shot: bool,
    grace: Duration,
    shutdown: CancellationToken,
    counter: ConnectionCounter,
    registrar: Option<Arc<dyn Discovery>>,
    tls: Option<TlsAcceptor>,
    authenticator: Option<Arc<dyn Authenticator>>,
    monitor: Monitor,
}

type Factory = Arc<dyn Fn() -> Arc<dyn Service> + Send + Sync>;

impl Server {
    /// Binds a TCP listener (`"127.0.0.1:18861"`, `"[::1]:0"`, …; port 0 picks a free port).
    pub async fn bind(addr: impl tokio::net::ToSocketAddrs) -> io::Result<Server> {
        let l = tokio::net::TcpListener::bind(addr).await?;
        Ok(Self::with_listener(Listener::Tcp(l)))
    }

    /// Binds a Unix socket at `path` (a stale socket file left by a dead server is replaced).
    #[cfg(unix)]
    pub async fn bind_unix(path: impl AsRef<Path>) -> io::Result<Server> {
        let path = path.as_ref().to_path_buf();
        if let Ok(meta) = std::fs::symlink_metadata(&path) {
            use std::os::unix::fs::FileTypeExt;
            if meta.file_type().is_socket()
                && std::os::unix::net::UnixStream::connect(&path).is_err()
            {
                std::fs::remove_file(&path)?;
            }
        }
        let l = tokio::net::UnixListener::bind(&path)?;
        Ok(Self::with_listener(Listener::Unix(l, path)))
    }

    fn with_listener(listener: Listener) -> Server {
        Server {
            listener,
            config: Config::default(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_peer: None,
            one_shot: false,
            grace: DEFAULT_GRACE,
            shutdown: CancellationToken::new(),
            counter: ConnectionCounter::default(),
            registrar: None,
            tls: None,
            authenticator: None,
            monitor: Monitor::default(),
        }
    }

    /// Serves TCP connections over TLS (RPyC's `SSLAuthenticator`): the handshake runs first,
    /// then the ordinary RPyC stream. See [`crate::tls`] to build an acceptor from PEM files.
    pub fn tls(mut self, acceptor: TlsAcceptor) -> Self {
        self.tls = Some(acceptor);
        self
    }

    /// Checks every accepted connection with `auth` before it starts (after the TLS handshake
    /// when TLS is on), as RPyC's `authenticator=`: refused connections are closed and logged,
    /// accepted ones carry what it returned in `CallContext::credentials().auth`. See
    /// [`crate::auth`].
    pub fn authenticator(mut self, auth: impl Authenticator) -> Self {
        self.authenticator = Some(Arc::new(auth));
        self
    }

    /// Publishes the service's names, this server's address and its load (open connections)
    /// through `discovery` while serving — RPyC's `auto_register` with a
    /// [`RegistryClient`](crate::registry::RegistryClient) (re-registered every 60 s), or an
    /// etcd lease (see [`crate::discovery`]). At shutdown the server leaves discovery first, and
    /// stops accepting only then. TCP servers only. A server bound to an unspecified address
    /// (`0.0.0.0`, `::`) lets the backend find the address to publish.
    pub fn register_with(mut self, discovery: impl Discovery) -> Self {
        self.registrar = Some(Arc::new(discovery));
        self
    }

    /// The configuration each connection starts from (the server adds `endpoints` and
    /// `credentials`; each
    /// connection names itself in `connid` if it is unset).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Caps the number of simultaneous connections (default 10,000). When every slot is taken,
    /// a newcomer evicts the oldest connection that has never sent a complete frame; if every
    /// connection has, the newcomer waits for a slot.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Caps the connections from one IP address (all Unix-socket peers count as one); a
    /// newcomer beyond it is closed at once. Default: no cap (many users may share one NAT
    /// address); see the README's threat model for when to set one.
    pub fn max_connections_per_peer(mut self, n: Option<usize>) -> Self {
        self.max_connections_per_peer = n.map(|n| n.max(1));
        self
    }

    /// Serve one connection, then stop (RPyC's `OneShotServer`).
    pub fn one_shot(mut self, yes: bool) -> Self {
        self.one_shot = yes;
        self
    }

    /// How long shutdown waits for in-flight calls (default 5 s).
    pub fn grace_period(mut self, d: Duration) -> Self {
        self.grace = d;
        self
    }

    /// The TCP address actually bound (useful after binding port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match &self.listener {
            Listener::Tcp(l) => l.local_addr().ok(),
            #[cfg(unix)]
            Listener::Unix(..) => None,
        }
    }

    /// The Unix socket path, for a Unix listener.
    pub fn socket_path(&self) -> Option<&Path> {
        match &self.listener {
            #[cfg(unix)]
            Listener::Unix(_, p) => Some(p),
            Listener::Tcp(_) => None,
        }
    }

    /// The live count of open connections.
    pub fn connection_counter(&self) -> ConnectionCounter {
        self.counter.clone()
    }

    /// The live view of this server's connections: the status page and the gauges of
    /// [`crate::status`].
    pub fn monitor(&self) -> Monitor {
        self.monitor.clone()
    }

    /// A handle that stops the server.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle::from_token(self.shutdown.clone())
    }

    /// Serves until shut down, with a fresh service from `factory` for each connection.
    pub async fn serve<S, F>(self, factory: F) -> io::Result<()>
    where
        S: Service,
        F: Fn() -> S + Send + Sync + 'static,
    {
        self.run(Arc::new(move || Arc::new(factory()) as Arc<dyn Service>))
            .await
    }

    /// Serves until shut down, every connection sharing one service instance.
    pub async fn serve_shared(self, service: Arc<dyn Service>) -> io::Result<()> {
        self.run(Arc::new(move || service.clone())).await
    }

    async fn run(self, factory: Factory) -> io::Result<()> {
        // The registration stops on its own token: at shutdown the server leaves discovery
        // first (still accepting meanwhile), then stops accepting.
        let leave = CancellationToken::new();
        let registration = match (&self.registrar, self.local_addr()) {
            (Some(discovery), Some(addr)) => Some(tokio::spawn(discovery.keep_registered(
                Registration {
                    names: factory().service_aliases(),
                    port: addr.port(),
                    host: (!addr.ip().is_unspecified()).then(|| addr.ip().to_string()),
                    load: self.counter.clone(),
                },
                leave.clone(),
            ))),
            _ => None,
        };
        let stop_accepting = async {
            self.shutdown.cancelled().await;
            if let Some(r) = registration {
                leave.cancel();
                let _ = tokio::time::timeout(Duration::from_secs(5), r).await;
            }
        };
        tokio::pin!(stop_accepting);
        // Connections drain once the server has stopped accepting (not at the shutdown request
        // itself): a client that found this server while it was leaving discovery is served.
        let drain = CancellationToken::new();
        let slots = Slots::new(self.max_connections, self.max_connections_per_peer);
        let mut tasks = JoinSet::new();
        loop {
            let accepted = tokio::select! {
                a = accept(&self.listener) => a,
                _ = &mut stop_accepting => break,
            };
            // Reap finished connection tasks as we go.
            while tasks.try_join_next().is_some() {}
            let (stream, peer, local) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors or a reset during the handshake: log, back off a
                    // little, keep serving everyone else.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            };
            let slot = match slots.take(&peer_key(&peer), &self.shutdown).await {
                Ok(slot) => slot,
                Err(Refused::ShuttingDown) => break,
                Err(Refused::PerPeer(limit)) => {
                    self.monitor.refused("per_peer");
                    tracing::warn!(peer = %peer, limit, "connection refused: too many from this address");
                    continue;
                }
            };
            let mut cfg = self.config.clone();
            cfg.endpoints = Some((local.clone(), peer.clone()));
            cfg.credentials = Some(Credentials::new(peer.clone()));
            self.counter.0.fetch_add(1, Ordering::AcqRel);
            self.monitor.accepted();
            tracing::info!(peer = %peer, "connection accepted");
            let monitor = self.monitor.clone();
            let shutdown = drain.clone();
            let counter = self.counter.clone();
            let grace = self.grace;
            let tls = self.tls.clone();
            let auth = self.authenticator.clone();
            let service = factory.clone();
            tasks.spawn(async move {
                // The TLS handshake runs here, not in the accept loop: a slow or silent client
                // cannot hold up everyone else. Boxed: the handshake's and the authenticator's
                // state (buffers included) is freed once the connection has started, instead of
                // staying in this task for the connection's life (measured: +8.6 KiB per idle
                // connection unboxed).
                let started = tokio::select! {
                    c = Box::pin(start_connection(stream, tls, auth, service, cfg, &local)) => c,
                    _ = slot.evicted.cancelled() => None,
                };
                if started.is_none() && !slot.evicted.is_cancelled() {
                    monitor.refused("handshake");
                }
                if let Some(conn) = started {
                    slot.attach(&conn);
                    let _tracked = monitor.track(&conn);
                    tracing::debug!(peer = %peer, conn = conn.id(), "connection started");
                    tokio::select! {
                        _ = conn.serve_all() => {}
                        _ = slot.evicted.cancelled() => {
                            conn.abort("evicted: every slot was taken and it had sent nothing");
                        }
                        _ = shutdown.cancelled() => {
                            let _ = tokio::time::timeout(grace, conn.wait_idle()).await;
                            conn.abort("server shutting down");
                        }
                    }
                    // The reason may quote the peer: escaped, whatever the log subscriber does.
                    let reason = rpyc_core::Printable(conn.close_reason().unwrap_or_default());
                    tracing::info!(peer = %peer, conn = conn.id(), reason = %reason, "connection closed");
                }
                counter.0.fetch_sub(1, Ordering::AcqRel);
                drop(slot);
            });
            if self.one_shot {
                break;
            }
        }
        leave.cancel();
        if self.shutdown.is_cancelled() {
            drain.cancel();
        }
        let joined = async { while tasks.join_next().await.is_some() {} };
        tokio::pin!(joined);
        tokio::select! {
            _ = &mut joined => {}
            _ = self.shutdown.cancelled() => {
                drain.cancel();
                joined.await;
            }
        }
        #[cfg(unix)]
        if let Listener::Unix(_, path) = &self.listener {
            let _ = std::fs::remove_file(path);
        }
        Ok(())
    }
}

/// Wraps an accepted stream (TLS handshake first, when configured, then the authenticator) in a
/// connection. `cfg.credentials` names the peer.
async fn start_connection(
    stream: Stream,
    tls: Option<TlsAcceptor>,
    auth: Option<Arc<dyn Authenticator>>,
    factory: Factory,
    cfg: Config,
    local: &str,
) -> Option<Connection> {
    let peer = cfg
        .credentials
        .as_ref()
        .map(|c| c.peer.clone())
        .unwrap_or_default();
    let peer = peer.as_str();
    let accepted = |tls| Accepted {
        peer: peer.to_string(),
        local: local.to_string(),
        tls,
    };
    match (stream, tls) {
        (Stream::Tcp(s), None) => match auth {
            // Owned halves: reads and writes proceed without a shared lock; ACKs sent as soon
            // as the connection idles keep Python clients (Nagle on) from waiting on our
            // delayed ACK.
            None => Some(Connection::from_tcp(s, factory(), cfg)),
            Some(auth) => {
                let cfg = tune_tcp(&s, cfg);
                let stream = AuthStream::new(QuickAckStream::new(s));
                start_authenticated(&*auth, stream, accepted(None), false, factory(), cfg).await
            }
        },
        (Stream::Tcp(s), Some(acceptor)) => {
            let mut cfg = tune_tcp(&s, cfg);
            match tokio::time::timeout(
                TLS_HANDSHAKE_TIMEOUT,
                acceptor.accept(QuickAckStream::new(s)),
            )
            .await
            {
                Ok(Ok(tls_stream)) => {
                    let identity = crate::tls::peer_identity(&tls_stream);
                    if let Some(c) = cfg.credentials.as_mut() {
                        c.tls = identity.clone();
                    }
                    if let Some(auth) = auth {
                        let stream = AuthStream::new(tls_stream);
                        let accepted = accepted(identity);
                        return start_authenticated(&*auth, stream, accepted, true, factory(), cfg)
                            .await;
                    }
                    // One frame per write, so no TLS record holds two frames (a Python client
                    // would wait on its socket for the second; see `FrameRecords`).
                    let (r, w) = tokio::io::split(tls_stream);
                    Some(Connection::from_parts(
                        r,
                        rpyc_netref::transport::FrameRecords::new(w),
                        factory(),
                        cfg,
                    ))
                }
                Ok(Err(e)) => {
                    tracing::warn!(peer = %peer, error = %e, "TLS handshake failed");
                    None
                }
                Err(_) => {
                    tracing::warn!(peer = %peer, "TLS handshake timed out");
                    None
                }
            }
        }
        #[cfg(unix)]
        (Stream::Unix(s), _) => {
            if let Some(auth) = auth {
                let cfg = local_peer_config(cfg, true);
                let stream = AuthStream::new(s);
                return start_authenticated(&*auth, stream, accepted(None), false, factory(), cfg)
                    .await;
            }
            let (r, w) = s.into_split();
            Some(Connection::from_parts(
                r,
                w,
                factory(),
                local_peer_config(cfg, true),
            ))
        }
    }
}

/// How long a client has to complete the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

enum Stream {
    Tcp(tokio::net::TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

async fn accept(l: &Listener) -> io::Result<(Stream, String, String)> {
    match l {
        Listener::Tcp(l) => {
            let (s, peer) = l.accept().await?;
            let local = s.local_addr().map(|a| a.to_string()).unwrap_or_default();
            Ok((Stream::Tcp(s), peer.to_string(), local))
        }
        #[cfg(unix)]
        Listener::Unix(l, path) => {
            let (s, _) = l.accept().await?;
            Ok((
                Stream::Unix(s),
                "unix".to_string(),
                path.display().to_string(),
            ))
        }
    }
}
