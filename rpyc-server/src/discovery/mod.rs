//! Service discovery: where the servers of a service run, one interface over two backends.
//!
//! A [`Discovery`] answers "which instances of `NAME` are live" ([`Discovery::lookup`]), keeps a
//! server registered while it serves ([`Discovery::keep_registered`]), and tells when one
//! instance leaves ([`Discovery::instance_left`]). Two backends implement it, chosen by URL in
//! [`from_url`]:
//!
//! | URL | backend | liveness |
//! |---|---|---|
//! | `udp://host:port`, `tcp://host:port` | RPyC's registry ([`RegistryClient`], Python's `rpyc_registry.py` or our `rpyc-registry`) | re-registered every 60 s, pruned 240 s after the last one |
//! | `etcd://host:port[,host:port…][?ttl=SECONDS]` | etcd v3 (cargo feature `etcd`) | a lease of `ttl` seconds (default 5) kept alive by the server, revoked at shutdown |
//!
//! [`connect_by_service`] picks the least loaded live instance and falls back to the next;
//! [`ServiceConnector`] makes a [`rpyc::Reconnecting`](rpyc_netref::Reconnecting) client follow
//! a service name, leaving an instance as soon as it leaves discovery.
//! A server registers with [`crate::Server::register_with`] (or `rpyc-server --register URL`).

mod connect;
#[cfg(feature = "etcd")]
pub mod etcd;
mod registry;
mod service_connector;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

pub use crate::registry::RegistryClient;
use crate::server::ConnectionCounter;
pub use connect::{
    connect_by_service, connect_by_service_blocking, connect_by_service_with, order_by_load,
};
pub use service_connector::ServiceConnector;

/// A boxed future, as the [`Discovery`] methods return (the trait stays object-safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One live server of a service, as discovery reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Instance {
    /// The host to connect to (an IP address as registered).
    pub host: String,
    /// The TCP port.
    pub port: u16,
    /// Its open connections when it last published them (etcd); `None` where the backend does
    /// not carry load (RPyC's registry).
    pub load: Option<u64>,
}

impl Instance {
    /// `host:port`, with brackets around an IPv6 host.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// What a server publishes while it serves.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The service's names (RPyC upper-cases them: `CALCULATOR`, `CALC`).
    pub names: Vec<String>,
    /// The TCP port it listens on.
    pub port: u16,
    /// The host clients should connect to; `None` lets the backend find it (the registry
    /// records the sender's address; etcd uses the local address that reaches etcd).
    pub host: Option<String>,
    /// Its open connections (published as load by backends that carry it).
    pub load: ConnectionCounter,
}

/// A service-discovery backend: lookups for clients, registration for servers.
pub trait Discovery: Send + Sync + 'static {
    /// The live instances of the service `name` (case-insensitive). An entry the backend
    /// cannot use (a bad port, an unreadable value) is skipped and logged, never an error.
    fn lookup<'a>(&'a self, name: &'a str) -> BoxFuture<'a, io::Result<Vec<Instance>>>;

    /// Keeps `registration` published until `stop` is cancelled, re-registering after a
    /// failure (a lost lease, a restarted store); then removes it and returns. A server awaits
    /// the returned future at shutdown *before* it stops accepting, so it leaves discovery
    /// while it still serves.
    fn keep_registered(
        &self,
        registration: Registration,
        stop: CancellationToken,
    ) -> BoxFuture<'static, ()>;

    /// Resolves once `instance` of `name` is no longer listed (its lease lapsed, it
    /// unregistered). etcd watches for it; the registry is polled.
    fn instance_left(&self, name: &str, instance: &Instance) -> BoxFuture<'static, ()>;

    /// The backend's URL, for messages.
    fn describe(&self) -> String;
}

impl<D: Discovery + ?Sized> Discovery for Arc<D> {
    fn lookup<'a>(&'a self, name: &'a str) -> BoxFuture<'a, io::Result<Vec<Instance>>> {
        (**self).lookup(name)
    }
    fn keep_registered(
        &self,
        registration: Registration,
        stop: CancellationToken,
    ) -> BoxFuture<'static, ()> {
        (**self).keep_registered(registration, stop)
    }
    fn instance_left(&self, name: &str, instance: &Instance) -> BoxFuture<'static, ()> {
        (**self).instance_left(name, instance)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}

/// The backend named by `url`: `udp://host:port` or `tcp://host:port` (RPyC's registry, port
/// 18811 when omitted), or `etcd://host:port[,host:port…][?ttl=SECONDS]` (built with the cargo
/// feature `etcd`).
pub async fn from_url(url: &str) -> io::Result<Arc<dyn Discovery>> {
    let bad = |why: String| io::Error::new(io::ErrorKind::InvalidInput, why);
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad(format!("{url:?}: expected udp://, tcp:// or etcd://")))?;
    match scheme {
        "udp" | "tcp" => {
            let addr = registry::resolve(rest).await?;
            Ok(Arc::new(if scheme == "udp" {
                RegistryClient::udp(addr)
            } else {
                RegistryClient::tcp(addr)
            }))
        }
        #[cfg(feature = "etcd")]
        "etcd" => Ok(Arc::new(etcd::EtcdDiscovery::from_url_rest(rest)?)),
        #[cfg(not(feature = "etcd"))]
        "etcd" => Err(bad(format!(
            "{url}: this build has no etcd support; rebuild with `--features etcd` \
             (cargo build -p rpyc-server --features etcd)"
        ))),
        other => Err(bad(format!(
            "{url:?}: unknown discovery scheme {other:?} (expected udp, tcp or etcd)"
        ))),
    }
}
