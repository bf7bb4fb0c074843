//! What a [`crate::Reconnecting`] client connects to: the [`Connector`] trait and its
//! implementations for a TCP address, a Unix socket and a closure. The target is pluggable so
//! that a client can also follow a service name through discovery (any async function that
//! returns a [`Connection`] is a connector).

use std::future::Future;
use std::sync::Arc;

use rpyc_core::Config;

use crate::connection::Connection;
use crate::error::Result;
use crate::object::BoxFuture;
use crate::service::{Service, VoidService};

/// Opens connections to one target, each time anew (resolving names again, if it has any).
pub trait Connector: Send + Sync + 'static {
    /// Opens a new connection.
    fn connect(&self) -> BoxFuture<Result<Connection>>;

    /// The target as shown in errors and logs (an address, a path, a service name).
    fn target(&self) -> String;
}

/// Connects over TCP to an address (`"host:port"`, resolved at every attempt), serving a
/// service of ours, with a configuration (default: no service, default config).
#[derive(Clone)]
pub struct TcpConnector {
    addr: String,
    service: Arc<dyn Service>,
    config: Config,
}

impl TcpConnector {
    /// Connects to `addr` (`"host:port"`).
    pub fn new(addr: impl Into<String>) -> Self {
        TcpConnector {
            addr: addr.into(),
            service: Arc::new(VoidService),
            config: Config::default(),
        }
    }

    /// Serves `service` to the peer on every connection.
    pub fn service(mut self, service: Arc<dyn Service>) -> Self {
        self.service = service;
        self
    }

    /// Opens every connection with `config`.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }
}

impl Connector for TcpConnector {
    fn connect(&self) -> BoxFuture<Result<Connection>> {
        let (addr, service, config) =
            (self.addr.clone(), self.service.clone(), self.config.clone());
        Box::pin(async move { crate::connect::connect_with(addr.as_str(), service, config).await })
    }

    fn target(&self) -> String {
        self.addr.clone()
    }
}

/// Connects to a Unix socket, serving a service of ours, with a configuration (default: no
/// service, default config).
#[cfg(unix)]
#[derive(Clone)]
pub struct UnixConnector {
    path: std::path::PathBuf,
    service: Arc<dyn Service>,
    config: Config,
}

#[cfg(unix)]
impl UnixConnector {
    /// Connects to the socket at `path`.
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        UnixConnector {
            path: path.into(),
            service: Arc::new(VoidService),
            config: Config::default(),
        }
    }

    /// Serves `service` to the peer on every connection.
    pub fn service(mut self, service: Arc<dyn Service>) -> Self {
        self.service = service;
        self
    }

    /// Opens every connection with `config`.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }
}

#[cfg(unix)]
impl Connector for UnixConnector {
    fn connect(&self) -> BoxFuture<Result<Connection>> {
        let (path, service, config) =
            (self.path.clone(), self.service.clone(), self.config.clone());
        Box::pin(async move { crate::connect::unix_connect_with(&path, service, config).await })
    }

    fn target(&self) -> String {
        self.path.display().to_string()
    }
}

/// Connects by calling a closure (TLS, a subprocess, a name looked up in a registry, …).
pub struct FnConnector<F> {
    target: String,
    f: F,
}

impl<F, Fut> FnConnector<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Connection>> + Send + 'static,
{
    /// Connects with `f`; `target` names what it connects to, in errors.
    pub fn new(target: impl Into<String>, f: F) -> Self {
        FnConnector {
            target: target.into(),
            f,
        }
    }
}

impl<F, Fut> Connector for FnConnector<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Connection>> + Send + 'static,
{
    fn connect(&self) -> BoxFuture<Result<Connection>> {
        Box::pin((self.f)())
    }

    fn target(&self) -> String {
        self.target.clone()
    }
}
