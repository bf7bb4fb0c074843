//! Classic mode: driving a Python interpreter from Rust through a stock classic server
//! (`rpyc_classic.py`, or any `ThreadedServer(SlaveService)`), as Python's `rpyc.classic` does.
//!
//! [`connect`], [`unix_connect`] and [`tls_connect`] open a [`ClassicConnection`]: what RPyC's
//! `MasterService` installs on a Python connection — [`modules`](ClassicConnection::module),
//! [`builtins`](ClassicConnection::builtins), [`eval`](ClassicConnection::eval),
//! [`execute`](ClassicConnection::execute), [`namespace`](ClassicConnection::namespace) — plus
//! file transfer ([`upload`](ClassicConnection::upload),
//! [`download`](ClassicConnection::download), as `rpyc.classic.upload/download`: chunks through
//! the remote `open`). [`blocking`] has the same without async.
//!
//! The client serves [`ClassicClientService`] to the server: `getmodule`, `eval`, `execute`
//! and `namespace`, answering nothing usable (a placeholder that refuses every attribute, and
//! `None`s). Python's own `classic.connect` hands the server the whole client interpreter; a
//! Rust client has none to hand out. A classic server over TCP asks for none of them; one that
//! installs `MasterService` on its side (`rpyc_classic.py` over stdio) reads them while
//! connecting and would refuse a client without them.
//!
//! Classic mode is remote code execution by design: connect only to servers you control.
//!
//! ```no_run
//! # async fn demo() -> Result<(), rpyc::Error> {
//! let py = rpyc::classic::connect("127.0.0.1:18812").await?;
//! let joined = py.module("os.path").await?.call_method("join", ("a", "b")).await?;
//! assert_eq!(joined.extract::<String>()?, "a/b");
//! assert_eq!(py.eval("6 * 7").await?.extract::<i64>()?, 42);
//! py.upload("notes.txt", "/tmp/notes.txt").await?;
//! # Ok(()) }
//! ```
//!
//! | module | owns |
//! |---|---|
//! | `classic` | the connect functions and [`ClassicConnection`] (modules, builtins, eval, execute, namespace) |
//! | `classic::service` | [`ClassicClientService`], what the server sees of the client |
//! | `classic::transfer` | upload and download of files and directory trees |
//! | [`blocking`] | the blocking forms |

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rpyc_core::{Config, Value};

use crate::connection::Connection;
use crate::error::Result;
use crate::netref::NetRef;

pub mod blocking;
mod service;
mod transfer;

pub use service::ClassicClientService;
pub use transfer::STREAM_CHUNK;

/// Connects to a classic server over TCP (Python's `rpyc.classic.connect`; its default port is
/// 18812), serving [`ClassicClientService`] with the default config.
///
/// A failure to connect is an [`crate::Error::Connect`]; a peer that is not a classic server
/// (no `getmodule`) fails here with the error its root answered.
pub async fn connect(
    addr: impl tokio::net::ToSocketAddrs + std::fmt::Debug,
) -> Result<ClassicConnection> {
    let conn = crate::connect_with(addr, Arc::new(ClassicClientService), Config::default()).await?;
    ClassicConnection::from_connection(conn).await
}

/// Connects to a classic server listening on a Unix socket (Python's
/// `rpyc.classic.unix_connect`).
#[cfg(unix)]
pub async fn unix_connect(path: impl AsRef<std::path::Path>) -> Result<ClassicConnection> {
    let conn = crate::connect::unix_connect_with(
        path.as_ref(),
        Arc::new(ClassicClientService),
        Config::default(),
    )
    .await?;
    ClassicConnection::from_connection(conn).await
}

/// Starts a classic server as a child process and connects over its stdin/stdout (Python's
/// `rpyc.classic.connect_subproc`): for example `python rpyc_classic.py -m stdio`. That server
/// installs `MasterService`, which reads our [`ClassicClientService`] while connecting. The
/// child is reaped when the connection ends (see [`crate::subprocess`]).
pub async fn connect_subprocess(
    cmd: impl Into<tokio::process::Command>,
) -> Result<ClassicConnection> {
    let conn =
        crate::subprocess::connect_subprocess_with(cmd, ClassicClientService, Config::default())
            .await?;
    ClassicConnection::from_connection(conn).await
}

/// Connects to a classic server over TLS (Python's `rpyc.classic.ssl_connect`), verifying the
/// server as `server_name` with `tls` (see [`crate::tls::client_config`]). A server that
/// requires client certificates (`rpyc_classic.py --ssl-cafile CA`) gets the one `tls`
/// presents ([`crate::tls::ClientTls::client_cert`]):
///
/// ```no_run
/// # async fn demo() -> rpyc::Result<()> {
/// use rpyc::tls::ClientTls;
/// let read = |p: &str| std::fs::read(p).unwrap();
/// let tls = ClientTls::ca(&read("ca.pem"))?
///     .client_cert(&read("client.pem"), &read("client-key.pem"))?
///     .build()?;
/// let py = rpyc::classic::tls_connect("127.0.0.1:18821", "localhost", tls).await?;
/// # Ok(()) }
/// ```
pub async fn tls_connect(
    addr: impl tokio::net::ToSocketAddrs + std::fmt::Debug,
    server_name: &str,
    tls: Arc<rustls::ClientConfig>,
) -> Result<ClassicConnection> {
    let conn = crate::tls::tls_connect_with(
        addr,
        server_name,
        tls,
        Arc::new(ClassicClientService),
        Config::default(),
    )
    .await?;
    ClassicConnection::from_connection(conn).await
}

/// A connection to a classic server, with what RPyC's `MasterService` installs on a Python
/// connection. Cloning is cheap (the clones share the connection and the module cache).
///
/// Remote errors are the server's Python exceptions: `py.eval("1/0")` fails with an
/// [`crate::Error::Remote`] for which `is_remote("ZeroDivisionError")` holds.
#[derive(Clone, Debug)]
pub struct ClassicConnection {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    conn: Connection,
    root: NetRef,
    builtins: NetRef,
    /// `getmodule` answers by name, as Python's `ModuleNamespace` caches them.
    modules: Mutex<HashMap<String, NetRef>>,
}

impl ClassicConnection {
    /// Makes a classic connection of an open one whose peer serves `SlaveService` (for a
    /// transport the connect functions do not cover). It fetches the root and the `builtins`
    /// module, as `MasterService` does. Serve [`ClassicClientService`] on `conn` if the server
    /// installs `MasterService` on its side.
    pub async fn from_connection(conn: Connection) -> Result<ClassicConnection> {
        let root = conn.root().await?;
        let builtins: NetRef = root
            .call_method("getmodule", ("builtins",))
            .await?
            .extract()?;
        let mut modules = HashMap::new();
        modules.insert("builtins".to_string(), builtins.clone());
        Ok(ClassicConnection {
            inner: Arc::new(Inner {
                conn,
                root,
                builtins,
                modules: Mutex::new(modules),
            }),
        })
    }

    /// The plain connection underneath (ping, close, counters, …).
    pub fn connection(&self) -> &Connection {
        &self.inner.conn
    }

    /// The server's root (its `SlaveService`): `getmodule`, `eval`, `execute`, `namespace`,
    /// `getconn`.
    pub fn root(&self) -> &NetRef {
        &self.inner.root
    }

    /// The server's `builtins` module (`conn.builtins` in Python):
    /// `py.builtins().call_method("len", (list,))`.
    pub fn builtins(&self) -> &NetRef {
        &self.inner.builtins
    }

    /// The server's module `name`, imported there if needed (`conn.modules["os.path"]` or
    /// `conn.modules.os.path` in Python). Answers are cached by name, as in Python; an unknown
    /// module fails with the server's `ModuleNotFoundError`.
    pub async fn module(&self, name: &str) -> Result<NetRef> {
        if let Some(m) = self.cached(name) {
            return Ok(m);
        }
        let m: NetRef = self
            .inner
            .root
            .call_method("getmodule", (name,))
            .await?
            .extract()?;
        let mut cache = self.inner.modules.lock().unwrap_or_else(|e| e.into_inner());
        Ok(cache.entry(name.to_string()).or_insert(m).clone())
    }

    fn cached(&self, name: &str) -> Option<NetRef> {
        let cache = self.inner.modules.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(name).cloned()
    }

    /// Evaluates a Python expression in the server's namespace (`conn.eval`): plain values
    /// arrive by value, anything else as a [`NetRef`].
    pub async fn eval(&self, expr: &str) -> Result<Value> {
        self.inner.root.call_method("eval", (expr,)).await
    }

    /// Runs Python statements in the server's namespace (`conn.execute`).
    pub async fn execute(&self, code: &str) -> Result<()> {
        self.inner.root.call_method("execute", (code,)).await?;
        Ok(())
    }

    /// The server's namespace dict, where [`eval`](Self::eval) and
    /// [`execute`](Self::execute) run (`conn.namespace`).
    pub async fn namespace(&self) -> Result<NetRef> {
        self.inner.root.attr("namespace").await
    }

    /// Closes the connection.
    pub async fn close(&self) -> Result<()> {
        self.inner.conn.close().await
    }
}
