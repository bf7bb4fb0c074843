//! # rpyc — transparent, symmetric object-proxy RPC for Rust
//!
//! rpyc-rs is a real [RPyC](https://rpyc.readthedocs.io) 6 peer: a plain Python `rpyc` client
//! uses a Rust server, and a Rust client drives a Python server, with no option on either
//! side. Connect, get the peer's root object, and use remote objects as if they were local.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use rpyc::{Callback, RemoteException, Value};
//!
//! struct CalculatorService;
//!
//! #[rpyc::service]
//! impl CalculatorService {
//!     #[exposed]
//!     fn add(&self, a: i64, b: i64) -> i64 {
//!         a + b
//!     }
//!
//!     #[exposed]
//!     async fn apply(&self, f: rpyc::NetRef, x: i64) -> Result<Value, RemoteException> {
//!         Ok(f.call((x,)).await?) // calls back into the client
//!     }
//! }
//!
//! let (client, _server) = rpyc::connect_pair_with(CalculatorService, rpyc::Config::default()).await;
//! let root = client.root().await?;
//! assert_eq!(root.call_method("add", (2, 3)).await?.extract::<i64>()?, 5);
//! assert_eq!(root.call_method("get_service_name", ()).await?, Value::str("CALCULATOR"));
//! let square = Callback::sync(|mut args| args.take::<i64>(0, "x").map(|x| x * x));
//! assert_eq!(root.call_method("apply", (square, 7)).await?, Value::Int(49));
//! # Ok::<(), rpyc::Error>(())
//! # }).unwrap();
//! ```
//!
//! ## Where things are
//!
//! Everything a user needs is under `rpyc::`; depend on `rpyc` (and `tokio`) only. The
//! workspace's other crates are re-exported whole, and every example in these pages is
//! compiled against `rpyc::` paths.
//!
//! | path | what | from the crate |
//! |---|---|---|
//! | the root | [`connect`], [`unix_connect`], [`Connection`], [`NetRef`], [`Callback`], [`Args`], [`AsyncResult`], [`Service`], [`Error`], and the main value types ([`Value`], [`Config`], [`RemoteException`], …), [`Printable`] (a peer's text, safe to print) | `rpyc-netref`, `rpyc-core` |
//! | [`blocking`] | the same calls without async, in Python's blocking shape | `rpyc-netref` |
//! | [`classic`] | classic mode: drive a Python interpreter through `rpyc_classic.py` (modules, eval, execute, upload/download) | `rpyc-netref` |
//! | [`tls`] | RPyC over TLS (`ssl_connect`) | `rpyc-netref` |
//! | [`dispatch`] | a service composed of named closures, without a macro | `rpyc-netref` |
//! | [`macros`], [`macro@service`], [`macro@object`] | the attribute macros and their manual (what the attributes accept, the rules for arguments and returns) | `rpyc-macros` |
//! | [`Server`], [`server`] | the server ([`server::ShutdownHandle`], limits, TLS), the built-in services, the registry ([`server::registry::RegistryClient`]) | `rpyc-server` |
//! | [`core`] | the protocol, no sockets: brine, framing, messages, the access policy | `rpyc-core` |
#![warn(missing_docs)]
#![forbid(unsafe_code)]

#[doc(inline)]
pub use rpyc_core as core;
pub use rpyc_core::{
    from_value, to_value, Config, Content, ConvertError, Credentials, Dict, FromValue, IntoReturn,
    IntoValue, Keepalive, Printable, RemoteException, Serde, Value,
};
/// The `#[service]` and `#[object]` attribute macros: their manual.
#[doc(inline)]
pub use rpyc_macros as macros;
pub use rpyc_macros::{object, remote, service};
pub use rpyc_netref::*;
#[doc(inline)]
pub use rpyc_server as server;
pub use rpyc_server::discovery::{connect_by_service, connect_by_service_blocking};
pub use rpyc_server::Server;

/// The README's Rust examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
