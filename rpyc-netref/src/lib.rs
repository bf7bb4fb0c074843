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
//! Two words first: a [`LocalObject`] is a **local** object the peer can reach by reference
//! (a service, a `Counter` you return, a closure); a [`NetRef`] is a proxy of the **peer's**
//! object. The connection owns both tables: local objects it exports, proxies it imports.
//!
//! | module | owns |
//! |---|---|
//! | `connect` | opening connections (re-exported at the root, in `connection` and in `tls`): TCP, Unix socket, TLS, in-process pairs |
//! | [`connection`] | [`Connection`], the handle users hold; its children below |
//! | `connection::state` | `ConnInner`, the shared state, and sending (requests, replies and their traceback policy, close) |
//! | `connection::boxing` | RPyC's `_box`/`_unbox`: values out by value or by reference, references in as proxies |
//! | `connection::proxies` | the proxy cache: at most one live [`NetRef`] per remote object |
//! | `connection::in_flight` | our calls awaiting replies: sequence numbers, waiters, deadlines |
//! | `connection::deadlines` | the one timer per connection behind request timeouts |
//! | `connection::decode` | frame to message: inflate and decode under the limits, large frames off the runtime's workers under a process-wide budget (unless a pre-scan finds few items: a large `bytes` value decodes inline), the envelope first |
//! | `connection::frame_reader` | frames out of the byte stream, read in place; a small read buffer kept between calls, larger ones only while data flows |
//! | `connection::reader` | the reader (frames in arrival order, panics isolated), writer and deadline tasks |
//! | `connection::partial_ack` | acknowledging at once when a frame stalls midway (a peer with Nagle on holds its last bytes until then) |
//! | `connection::outbox` | the write queue: who writes, when, batching; the write timeout; buffers dropped when idle |
//! | `connection::outbox::batch` | a batch to write: framed bytes and large values spliced in by reference, written with vectored writes |
//! | `connection::budget` | the output budget: what the peer is owed, per connection and per process; admission control |
//! | `connection::watchdog` | the reader's deadlines: frame progress, the optional idle deadline |
//! | `connection::handlers` | one module per group of protocol handlers, the [`rpyc_core::Handler`] each answers |
//! | [`transport`] | below the connection: the write half it writes to, TCP tuning (immediate ACKs), TLS client configuration |
//! | [`classic`] | classic mode: driving a Python interpreter through a stock classic server ([`classic::ClassicConnection`]: modules, builtins, eval, execute, namespace, upload/download), the client-side [`classic::ClassicClientService`] |
//! | [`tls`] | RPyC over TLS under one name (`client_config`, [`tls::ClientTls`]: a CA or pinned server certificates, a client certificate; `tls_connect`) |
//! | [`subprocess`] | RPyC over a child's stdin/stdout ([`connect_subprocess`]): the child reaped, or killed, when the connection ends |
//! | `table` | the refcounted table of local objects the peer holds |
//! | [`netref`] | [`NetRef`], the proxy of a remote object, and its release (HANDLE_DEL) |
//! | [`context`] | remote context managers: [`NetRef::with_context`], Python's `with` block around a Rust body (`__enter__`, always `__exit__` through HANDLE_CTXEXIT) |
//! | [`types`] | `isinstance` and types of remote objects as Python's netref classes answer them ([`NetRef::isinstance`], [`NetRef::is_instance_of`], [`NetRef::class_id_pack`]), the builtin type hierarchy |
//! | [`typed`] | [`TypedProxy`]: the typed clients of `#[rpyc::remote]`, `Connection::root_as`, `NetRef::cast` |
//! | [`object`] | [`LocalObject`] (what a local object exposes), [`CallContext`], [`Exported`] |
//! | `args` | [`Args`], [`Rest`], [`IntoArgs`]: a call's arguments (also as `object::Args`) |
//! | `callback` | [`Callback`]: a closure the peer calls (also as `object::Callback`) |
//! | [`func`] | [`Func`]: a typed callable by reference, a closure of ours or the peer's callable |
//! | [`fetch`] | the content of containers that arrived by reference, in bulk ([`NetRef::fetch`], [`Args::fetch`]) |
//! | [`stream`] | [`RemoteStream`]: a peer's iterable read lazily in growing BUFFITER chunks ([`NetRef::stream`]), the chunk sizes and their caps |
//! | `lazy_iter` | [`LazyIter`]: an iterator or stream a service returns by reference, computed as the peer reads it |
//! | [`by_ref`] | [`ByRef`]: plain data (a map, a serde struct) sent by reference, as a dict-like or attribute object; `by_ref::shape` turns a value into the tree of parts it shows |
//! | [`views`] | dict views ([`views::DictView`]) and iterators ([`views::ItemIterator`]) for maps served by reference |
//! | [`dispatcher`] | [`dispatcher::Dispatcher`]: a service composed of named functions and mounted parts (also as `dispatch`) |
//! | [`service`] | [`Service`]: root object, hooks, names |
//! | [`sync_calls`] | [`run_blocking`]: where synchronous methods run, the per-connection limit of synchronous calls |
//! | [`reconnect`] | [`Reconnecting`]: a client that reconnects with backoff and jitter, re-resolves the root, retries only idempotent calls; [`reconnect::Connector`] (TCP, Unix socket, closure), [`reconnect::Backoff`] |
//! | [`blocking`] | a blocking API (Python RPyC's shape) on a shared background runtime |
//! | [`async_result`] | [`AsyncResult`] for `async_` calls |
//! | [`error`] | [`Error`] |
//! | [`observe`] | tracing spans per connection, request and call (`rpyc.connection`, `rpyc.request`, `rpyc.call`), metrics through the `metrics` facade ([`observe::enable_metrics`]), [`observe::ConnectionStats`]; `observe/labels.rs`: bounded labels and each connection's metric handles |
//! | [`testing`] | small services for doctests and tests (`EchoService`) |
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod args;
pub mod async_result;
pub mod blocking;
pub mod by_ref;
mod callback;
pub mod classic;
mod connect;
pub mod connection;
pub mod context;
pub mod dispatcher;
/// The former path of [`dispatcher`] (`rpyc::dispatcher::Dispatcher` keeps working).
pub use dispatcher as dispatch;
pub mod error;
pub mod fetch;
pub mod func;
mod lazy_iter;
pub mod netref;
pub mod object;
pub mod observe;
pub mod reconnect;
pub mod service;
pub mod stream;
pub mod subprocess;
pub mod sync_calls;
mod table;
pub mod testing;
pub mod tls;
pub mod transport;
pub mod typed;
pub mod types;
pub mod views;

pub use async_result::AsyncResult;
pub use by_ref::ByRef;
#[cfg(unix)]
pub use connection::unix_connect;
pub use connection::{
    connect, connect_pair, connect_pair_with, connect_with, AbortHandle, Connection,
};
pub use error::{Error, Result};
pub use func::Func;
pub use lazy_iter::LazyIter;
pub use netref::NetRef;
pub use object::{
    export, export_arc, Args, BoxFuture, CallContext, CallResult, Callback, Exported, IntoArgs,
    LocalObject, Member, RemoteObject, Rest,
};
pub use reconnect::{Backoff, Connector, Reconnecting};
pub use service::{default_service_name, Service, VoidService};
pub use stream::RemoteStream;
pub use subprocess::{connect_subprocess, connect_subprocess_with};
pub use sync_calls::run_blocking;
pub use typed::TypedProxy;

/// Re-exports used by the code the `#[object]`/`#[service]` macros generate.
#[doc(hidden)]
pub mod __private {
    pub use rpyc_core::{ConvertError, FromValue, IntoReturn, IntoValue, RemoteException, Value};
    pub use std::sync::Arc;
}
