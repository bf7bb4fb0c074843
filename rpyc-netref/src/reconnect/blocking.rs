//! The blocking face of [`crate::Reconnecting`] (`rpyc::blocking::Reconnecting`): the same
//! client, each method blocking the calling thread as the rest of [`crate::blocking`] does.

use rpyc_core::Value;

use crate::blocking::{block_on, Connection, NetRef};
use crate::error::Result;
use crate::object::IntoArgs;

/// A [`crate::Reconnecting`] client for blocking code (see there for when it connects and
/// which calls are retried).
///
/// ```no_run
/// let client = rpyc::blocking::Reconnecting::tcp("127.0.0.1:18861");
/// let sum = client.call_idempotent("add", (2, 3))?;
/// # Ok::<(), rpyc::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Reconnecting {
    inner: crate::Reconnecting,
}

impl Reconnecting {
    /// A client of a TCP address (`"host:port"`).
    pub fn tcp(addr: impl Into<String>) -> Self {
        crate::Reconnecting::tcp(addr).into()
    }

    /// The async client behind this one.
    pub fn as_async(&self) -> &crate::Reconnecting {
        &self.inner
    }

    /// The live connection, connecting if there is none ([`crate::Reconnecting::connection`]).
    pub fn connection(&self) -> Result<Connection> {
        let inner = self.inner.clone();
        block_on(async move { inner.connection().await }).map(Connection::from)
    }

    /// The root of the live connection, connecting if there is none.
    pub fn root(&self) -> Result<NetRef> {
        let inner = self.inner.clone();
        block_on(async move { inner.root().await }).map(NetRef::from)
    }

    /// Calls `method` on the root once (not retried).
    pub fn call(&self, method: &str, args: impl IntoArgs + Send) -> Result<Value> {
        block_on(self.inner.call(method, args))
    }

    /// Calls `method` on the root, again after a reconnection if the connection fails.
    pub fn call_idempotent(
        &self,
        method: &str,
        args: impl IntoArgs + Clone + Send + Sync,
    ) -> Result<Value> {
        block_on(self.inner.call_idempotent(method, args))
    }
}

/// An async client as a blocking one (`Reconnecting::from_fn(..).backoff(..).into()`).
impl From<crate::Reconnecting> for Reconnecting {
    fn from(inner: crate::Reconnecting) -> Self {
        Reconnecting { inner }
    }
}
