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
//! ## Crates
//!
//! | crate | re-exported as | owns |
//! |---|---|---|
//! | `rpyc-core` | [`core`] (and the main types at the root) | values, brine, framing, messages, config, policy |
//! | `rpyc-netref` | the root | [`Connection`], [`NetRef`], services, callbacks, [`AsyncResult`] |
//! | `rpyc-server` | [`server`] | [`Server`], the built-in services, the `rpyc-server` binary |
//! | `rpyc-macros` | [`macro@object`], [`macro@service`] | the attribute macros |
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub use rpyc_core as core;
pub use rpyc_core::{
    from_value, to_value, Config, Content, ConvertError, Dict, FromValue, IntoReturn, IntoValue,
    RemoteException, Serde, Value,
};
pub use rpyc_macros::{object, service};
pub use rpyc_netref::*;
pub use rpyc_server as server;
pub use rpyc_server::Server;

/// The README's Rust examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
