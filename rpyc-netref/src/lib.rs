//! # rpyc-netref — the symmetric RPyC connection
//!
//! Connect, get the peer's root object, and use remote objects as if they were local:
//! attributes read and set, methods called, references passed back and forth, callbacks in
//! both directions. Both sides keep object tables; a dropped [`NetRef`] releases the remote
//! object; closing a connection frees everything.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use rpyc::{connect_pair_with, testing::EchoService, Callback};
//! let (client, _server) = connect_pair_with(EchoService, Default::default()).await;
//! let root = client.root().await.unwrap();
//! // A callback: the server calls back into the client.
//! let double = Callback::sync(|mut a| a.take::<i64>(0, "x").map(|x| x * 2));
//! let r = root.call_method("call", (double, 21)).await.unwrap();
//! assert_eq!(r, rpyc::Value::Int(42));
//! # });
//! ```
//!
//! ## Layout
//!
//! | module | owns |
//! |---|---|
//! | [`connection`] | [`Connection`]: reader/writer tasks, request sending, boxing, close |
//! | [`netref`] | [`NetRef`], the proxy of a remote object, and its release (HANDLE_DEL) |
//! | `table` | the refcounted table of local objects the peer holds |
//! | [`object`] | [`RemoteObject`] (what a local object exposes), [`Args`], [`Callback`], [`Exported`] |
//! | [`dispatch`] | [`dispatch::Dispatcher`]: a service composed of named functions and mounted parts |
//! | [`service`] | [`Service`]: root object, hooks, names |
//! | [`sync_calls`] | [`run_blocking`]: where synchronous methods run, the per-connection limit of synchronous calls |
//! | `handlers` | one module per group of protocol handlers (getattr, call, del, inspect, …) |
//! | [`blocking`] | a blocking API (Python RPyC's shape) on a shared background runtime |
//! | [`async_result`] | [`AsyncResult`] for `async_` calls |
//! | [`error`] | [`Error`] |
//! | [`fetch`] | the content of containers that arrived by reference, in bulk ([`NetRef::fetch`], [`Args::fetch`]) |
//! | [`views`] | dict views ([`views::DictView`]) and iterators ([`views::ItemIterator`]) for maps served by reference |
//! | [`tls`] | RPyC over TLS (`ssl_connect`) |
//! | [`transport`] | TCP tuning (immediate ACKs) |
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod async_result;
pub mod blocking;
pub mod connect;
pub mod connection;
pub mod dispatch;
pub mod error;
pub mod fetch;
pub mod netref;
pub mod object;
pub mod service;
pub mod sync_calls;
mod table;
pub mod testing;
pub mod tls;
pub mod transport;
pub mod views;

pub use async_result::AsyncResult;
#[cfg(unix)]
pub use connection::unix_connect;
pub use connection::{connect, connect_pair, connect_pair_with, connect_with, Connection};
pub use error::{Error, Result};
pub use netref::NetRef;
pub use object::{
    export, export_arc, Args, BoxFuture, CallContext, CallResult, Callback, Exported, IntoArgs,
    Member, RemoteObject, Rest,
};
pub use service::{default_service_name, Service, VoidService};
pub use sync_calls::run_blocking;

/// Re-exports used by the code the `#[object]`/`#[service]` macros generate.
#[doc(hidden)]
pub mod __private {
    pub use rpyc_core::{FromValue, IntoReturn, IntoValue, RemoteException, Value};
    pub use std::sync::Arc;
}
