//! Classic mode without async: the same calls as [`super::ClassicConnection`], each blocking
//! the calling thread (on the shared background runtime of [`crate::blocking`]), returning
//! [`crate::blocking::NetRef`]s.
//!
//! ```no_run
//! # fn demo() -> Result<(), rpyc::Error> {
//! let py = rpyc::classic::blocking::connect("127.0.0.1:18812")?;
//! let pi: f64 = py.module("math")?.attr("pi")?;
//! py.execute("import platform")?;
//! let system: String = py.eval("platform.system()")?.extract()?;
//! # Ok(()) }
//! ```

use std::path::Path;
use std::sync::Arc;

use rpyc_core::Value;

use crate::blocking::{block_on, NetRef};
use crate::error::Result;

/// A blocking handle of a [`super::ClassicConnection`].
#[derive(Clone, Debug)]
pub struct ClassicConnection {
    inner: super::ClassicConnection,
}

/// Connects to a classic server over TCP ([`super::connect`], blocking).
pub fn connect(
    addr: impl tokio::net::ToSocketAddrs + std::fmt::Debug + Send,
) -> Result<ClassicConnection> {
    block_on(super::connect(addr)).map(ClassicConnection::from_async)
}

/// Connects to a classic server on a Unix socket ([`super::unix_connect`], blocking).
#[cfg(unix)]
pub fn unix_connect(path: impl AsRef<Path>) -> Result<ClassicConnection> {
    let path = path.as_ref().to_path_buf();
    block_on(async move { super::unix_connect(path).await }).map(ClassicConnection::from_async)
}

/// Connects to a classic server over TLS ([`super::tls_connect`], blocking).
pub fn tls_connect(
    addr: impl tokio::net::ToSocketAddrs + std::fmt::Debug + Send,
    server_name: &str,
    tls: Arc<rustls::ClientConfig>,
) -> Result<ClassicConnection> {
    block_on(super::tls_connect(addr, server_name, tls)).map(ClassicConnection::from_async)
}

impl ClassicConnection {
    /// Wraps an async classic connection.
    pub fn from_async(inner: super::ClassicConnection) -> Self {
        ClassicConnection { inner }
    }

    /// The async classic connection behind this handle.
    pub fn as_async(&self) -> &super::ClassicConnection {
        &self.inner
    }

    /// The plain connection underneath, as a blocking handle.
    pub fn connection(&self) -> crate::blocking::Connection {
        crate::blocking::Connection::from_async(self.inner.connection().clone())
    }

    /// The server's root (its `SlaveService`).
    pub fn root(&self) -> NetRef {
        self.inner.root().clone().into()
    }

    /// The server's `builtins` module.
    pub fn builtins(&self) -> NetRef {
        self.inner.builtins().clone().into()
    }

    /// The server's module `name` ([`super::ClassicConnection::module`]).
    pub fn module(&self, name: &str) -> Result<NetRef> {
        block_on(self.inner.module(name)).map(NetRef::from)
    }

    /// Evaluates a Python expression on the server ([`super::ClassicConnection::eval`]).
    pub fn eval(&self, expr: &str) -> Result<Value> {
        block_on(self.inner.eval(expr))
    }

    /// Runs Python statements on the server ([`super::ClassicConnection::execute`]).
    pub fn execute(&self, code: &str) -> Result<()> {
        block_on(self.inner.execute(code))
    }

    /// The server's namespace dict ([`super::ClassicConnection::namespace`]).
    pub fn namespace(&self) -> Result<NetRef> {
        block_on(self.inner.namespace()).map(NetRef::from)
    }

    /// Uploads a file or directory tree ([`super::ClassicConnection::upload`]).
    pub fn upload(&self, local: impl AsRef<Path>, remote: &str) -> Result<()> {
        block_on(self.inner.upload(local.as_ref(), remote))
    }

    /// Downloads a file or directory tree ([`super::ClassicConnection::download`]).
    pub fn download(&self, remote: &str, local: impl AsRef<Path>) -> Result<()> {
        block_on(self.inner.download(remote, local.as_ref()))
    }

    /// Closes the connection.
    pub fn close(&self) -> Result<()> {
        block_on(self.inner.close())
    }
}

impl From<super::ClassicConnection> for ClassicConnection {
    fn from(inner: super::ClassicConnection) -> Self {
        ClassicConnection { inner }
    }
}

impl From<ClassicConnection> for super::ClassicConnection {
    fn from(c: ClassicConnection) -> Self {
        c.inner
    }
}
