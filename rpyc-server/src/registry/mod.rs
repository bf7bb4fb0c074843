//! The RPyC registry: service discovery, wire-compatible with `rpyc.utils.registry`.
//!
//! Servers register their service names and port with a registry; clients ask it where a
//! service runs. Each request is one bare brine value `("RPYC", COMMAND, args)` — one UDP
//! datagram, or one short TCP connection — and the answer is one brine value:
//!
//! | command | args | answer |
//! |---|---|---|
//! | `REGISTER` | `(aliases, port)` | `"OK"` (the sender's IP is recorded) |
//! | `UNREGISTER` | `(port,)` | `"OK"` |
//! | `QUERY` | `(name,)` | `((ip, port), …)`, most recently refreshed first; entries older than the pruning timeout are dropped |
//! | `LIST` | `((filter_host,),)` | service names, or `None` when listing is disabled |
//!
//! Python's `UDPRegistryClient`/`TCPRegistryClient` work against [`RegistryServer`], and
//! [`RegistryClient`] works against Python's `rpyc_registry.py`. As a
//! [`Discovery`](crate::discovery::Discovery) backend it also keeps a
//! [`Server`](crate::Server) registered while it serves (`Server::register_with`).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use rpyc::server::registry::{RegistryClient, RegistryServer};
//! let server = RegistryServer::bind_tcp("127.0.0.1:0").await.unwrap().allow_listing(true);
//! let addr = server.local_addr();
//! let stop = server.shutdown_handle();
//! let task = tokio::spawn(server.serve());
//!
//! let client = RegistryClient::tcp(addr);
//! assert!(client.register(&["calc", "CALCULATOR"], 18861).await.unwrap());
//! assert_eq!(client.discover("Calc").await.unwrap(), vec![("127.0.0.1".to_string(), 18861)]);
//! assert_eq!(client.list(None).await.unwrap().unwrap().len(), 2);
//! client.unregister(18861).await.unwrap();
//! assert!(client.discover("calc").await.unwrap().is_empty());
//! stop.shutdown();
//! task.await.unwrap().unwrap();
//! # });
//! ```

//!
//! ## Layout
//!
//! | module | owns |
//! |---|---|
//! | `client.rs` | [`RegistryClient`] |
//! | `server.rs` | [`RegistryServer`]: sockets, answer size cap, per-source rate limit, concurrent TCP clients |
//! | `store.rs` | [`Request`] parsing, the [`RegistryStore`] interface, [`MemoryStore`] and its [`Limits`] |
//! | `etcd_store.rs` | [`EtcdStore`]: registrations kept in etcd (feature `etcd`) |

mod client;
#[cfg(feature = "etcd")]
mod etcd_store;
mod server;
mod store;

use std::time::Duration;

pub use client::RegistryClient;
#[cfg(feature = "etcd")]
pub use etcd_store::EtcdStore;
pub use server::{RegistryServer, ANSWER_BYTES_PER_SECOND, MAX_ANSWER, MAX_TCP_CLIENTS};
pub use store::{Limits, MemoryStore, RegistryStore, Request};

/// The registry's default port (UDP and TCP).
pub const REGISTRY_PORT: u16 = 18811;
/// Largest request or answer (Python's `MAX_DGRAM_SIZE`).
pub const MAX_DGRAM_SIZE: usize = 1500;
/// Registrations older than this are dropped (Python's default, 4 minutes).
pub const DEFAULT_PRUNING_TIMEOUT: Duration = Duration::from_secs(240);
/// How often a server re-registers.
pub const REREGISTER_INTERVAL: Duration = Duration::from_secs(60);
