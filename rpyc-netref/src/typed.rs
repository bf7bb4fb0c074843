//! Typed proxies: what `#[rpyc::remote]`'s generated clients have in common, and how to get
//! one — [`crate::Connection::root_as`] for the peer's root, [`crate::NetRef::cast`] for any
//! other reference. A typed proxy is a `NetRef` with methods named after a trait's; the names
//! are checked by the peer when called, as in Python.

use crate::connection::Connection;
use crate::error::Result;
use crate::netref::NetRef;

/// A typed view of a remote object: `#[rpyc::remote]` implements it for the `XClient` and
/// `XBlockingClient` it generates; `NetRef` implements it too (the untyped view).
pub trait TypedProxy: Sized {
    /// The typed view of `netref` (no round trip).
    fn from_netref(netref: NetRef) -> Self;
    /// The reference the proxy calls through.
    fn netref(&self) -> &NetRef;
}

impl TypedProxy for NetRef {
    fn from_netref(netref: NetRef) -> Self {
        netref
    }
    fn netref(&self) -> &NetRef {
        self
    }
}

impl Connection {
    /// The peer's root object as the typed proxy `T` (`conn.root_as::<CalculatorClient>()`):
    /// [`Connection::root`], viewed through `T`.
    pub async fn root_as<T: TypedProxy>(&self) -> Result<T> {
        self.root().await.map(T::from_netref)
    }
}

impl NetRef {
    /// This reference viewed as the typed proxy `T` (no round trip).
    pub fn cast<T: TypedProxy>(self) -> T {
        T::from_netref(self)
    }
}

impl crate::blocking::Connection {
    /// The peer's root object as the typed proxy `T` (a `XBlockingClient` for blocking calls).
    pub fn root_as<T: TypedProxy>(&self) -> Result<T> {
        self.root().map(|r| T::from_netref(r.into()))
    }
}
