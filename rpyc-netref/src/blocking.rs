//! A blocking API for programs without an async runtime — the shape of Python's RPyC.
//!
//! Connections and references run on one shared background runtime; each method blocks the
//! calling thread until the reply arrives. Calling these from inside an async task is refused
//! with an error (it would block a runtime worker): use the async API there.
//!
//! Inside a synchronous exposed method (which runs on a blocking thread, see
//! [`crate::sync_calls`]) this is how to call the peer: take a `blocking::NetRef` parameter,
//! or wrap the call's connection with [`Connection::from_async`]. The method then holds no
//! slot of its connection's synchronous calls while it waits for the reply, so callbacks
//! nested to any depth never deadlock.
//!
//! ```
//! use rpyc::blocking;
//! use rpyc::Value;
//!
//! let (client, _server) = blocking::connect_pair_with(rpyc::testing::EchoService).unwrap();
//! let root = client.root().unwrap();
//! assert_eq!(root.call_method("add", (40, 2)).unwrap(), Value::Int(42));
//! let err = root.call_method("fail", ("boom",)).unwrap_err();
//! assert!(err.is_remote("ValueError"));
//! client.close().unwrap();
//! ```

use std::future::Future;
use std::sync::{Arc, OnceLock};

use rpyc_core::{Config, ConvertError, FromValue, IntoValue, Value};

use crate::error::{Error, Result};
use crate::object::IntoArgs;
use crate::service::Service;

pub use crate::reconnect::blocking::Reconnecting;

/// The background runtime shared by every blocking connection.
fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RT: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("rpyc-blocking")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| Error::ConnectionClosed(format!("cannot start the background runtime: {e}")))
}

/// What a call of this API from inside a tokio runtime fails with.
const BLOCKING_IN_RUNTIME: &str = "rpyc::blocking was called inside a tokio runtime, where \
    blocking would stall the runtime's other tasks: use the async API there \
    (`rpyc::connect(addr).await`, `netref.call_method(..).await`; `.into()` turns a blocking \
    NetRef or Connection into its async one), or call rpyc::blocking from a thread outside \
    the runtime (`std::thread::spawn`)";

/// Runs `fut` to completion, blocking this thread: in a synchronous method on the connection's
/// runtime, without holding the call's slot (see [`crate::sync_calls`]); elsewhere on the
/// background runtime.
fn block<T>(fut: impl Future<Output = Result<T>> + Send) -> Result<T>
where
    T: Send,
{
    let fut = match crate::sync_calls::wait_for_peer(fut) {
        Ok(out) => return out,
        Err(fut) => fut,
    };
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::BlockingInRuntime(BLOCKING_IN_RUNTIME));
    }
    runtime()?.block_on(fut)
}

/// Runs an rpyc future to completion from blocking code, as every method of this module does:
/// inside a synchronous exposed method without holding the call's slot, elsewhere on the
/// shared background runtime. Inside an async task it fails with
/// [`Error::BlockingInRuntime`]. The blocking clients of `#[rpyc::remote]` are built on it.
///
/// ```
/// let (client, _server) = rpyc::blocking::connect_pair_with(rpyc::testing::EchoService).unwrap();
/// let root = client.root().unwrap();
/// let async_root: rpyc::NetRef = root.into();
/// let sum = rpyc::blocking::block_on(async move { async_root.call_method("add", (1, 2)).await });
/// assert_eq!(sum.unwrap(), rpyc::Value::Int(3));
/// ```
pub fn block_on<T: Send>(fut: impl Future<Output = Result<T>> + Send) -> Result<T> {
    block(fut)
}

/// A blocking handle of a [`crate::Connection`].
#[derive(Clone, Debug)]
pub struct Connection {
    inner: crate::Connection,
}

/// A blocking handle of a [`crate::NetRef`].
#[derive(Clone, Debug, PartialEq)]
pub struct NetRef {
    inner: crate::NetRef,
}

/// Connects over TCP (no service of our own, default config).
///
/// `addr` is anything [`crate::connect`] takes: `"host:port"`, `("host", port)`, a
/// `SocketAddr`, …. A failure to connect is an [`Error::Connect`] naming the address.
pub fn connect(
    addr: impl tokio::net::ToSocketAddrs + std::fmt::Debug + Send,
) -> Result<Connection> {
    block(async move { crate::connect(addr).await }).map(|inner| Connection { inner })
}

/// Connects over TCP serving `service`, with `config` (`addr` as for [`connect`]).
pub fn connect_with(
    addr: impl tokio::net::ToSocketAddrs + std::fmt::Debug + Send,
    service: Arc<dyn Service>,
    config: Config,
) -> Result<Connection> {
    block(async move { crate::connect_with(addr, service, config).await })
        .map(|inner| Connection { inner })
}

/// Two connected blocking connections in one process, `(client, server)`, the server side
/// serving `service`.
pub fn connect_pair_with<S: Service>(service: S) -> Result<(Connection, Connection)> {
    let (c, s) =
        block(async move { Ok(crate::connect_pair_with(service, Config::default()).await) })?;
    Ok((Connection { inner: c }, Connection { inner: s }))
}

impl Connection {
    /// Wraps an async connection (it keeps running on its own runtime).
    pub fn from_async(inner: crate::Connection) -> Self {
        Connection { inner }
    }

    /// The async connection behind this handle.
    pub fn as_async(&self) -> &crate::Connection {
        &self.inner
    }

    /// The peer's root object.
    pub fn root(&self) -> Result<NetRef> {
        let c = self.inner.clone();
        block(async move { c.root().await }).map(|inner| NetRef { inner })
    }

    /// Pings the peer (RPyC's default payload, 3 s timeout).
    pub fn ping(&self) -> Result<()> {
        let c = self.inner.clone();
        block(async move { c.ping().await })
    }

    /// Closes the connection (idempotent).
    pub fn close(&self) -> Result<()> {
        let c = self.inner.clone();
        block(async move { c.close().await })
    }

    /// True once the connection is closed.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
}

impl NetRef {
    /// The async reference behind this handle.
    pub fn as_async(&self) -> &crate::NetRef {
        &self.inner
    }

    /// The remote type's dotted name.
    pub fn type_name(&self) -> &str {
        self.inner.type_name()
    }

    /// A handle with its own request timeout, as [`crate::NetRef::with_timeout`]: `Some(d)`
    /// fails this handle's calls with [`Error::Timeout`] after `d`, `None` waits forever. The
    /// object and its lifetime are shared with `self`; other handles keep their timeout.
    pub fn with_timeout(&self, timeout: Option<std::time::Duration>) -> NetRef {
        NetRef {
            inner: self.inner.with_timeout(timeout),
        }
    }

    /// Reads attribute `name`.
    pub fn getattr(&self, name: &str) -> Result<Value> {
        let (r, name) = (self.inner.clone(), name.to_string());
        block(async move { r.getattr(&name).await })
    }

    /// Reads attribute `name` and converts it.
    pub fn attr<T: FromValue + Send>(&self, name: &str) -> Result<T> {
        Ok(self.getattr(name)?.extract()?)
    }

    /// Sets attribute `name`.
    pub fn setattr(&self, name: &str, value: impl IntoValue) -> Result<()> {
        let (r, name, v) = (self.inner.clone(), name.to_string(), value.into_value());
        block(async move { r.setattr(&name, v).await })
    }

    /// Calls method `name` (one CALLATTR round trip).
    pub fn call_method(&self, name: &str, args: impl IntoArgs) -> Result<Value> {
        let (r, name, args) = (self.inner.clone(), name.to_string(), args.into_args());
        block(async move { r.call_method(&name, args).await })
    }

    /// Calls the object itself.
    pub fn call(&self, args: impl IntoArgs) -> Result<Value> {
        let (r, args) = (self.inner.clone(), args.into_args());
        block(async move { r.call(args).await })
    }

    /// `repr(obj)`.
    pub fn repr(&self) -> Result<String> {
        let r = self.inner.clone();
        block(async move { r.repr().await })
    }

    /// `str(obj)`.
    pub fn str(&self) -> Result<String> {
        let r = self.inner.clone();
        block(async move { r.str().await })
    }

    /// `dir(obj)`: the names the remote object lists.
    pub fn dir(&self) -> Result<Vec<String>> {
        let r = self.inner.clone();
        block(async move { r.dir().await })
    }

    /// `len(obj)`.
    pub fn len(&self) -> Result<usize> {
        let r = self.inner.clone();
        block(async move { r.len().await })
    }

    /// `len(obj) == 0`.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// `obj[key]`.
    pub fn getitem(&self, key: impl IntoValue) -> Result<Value> {
        let (r, k) = (self.inner.clone(), key.into_value());
        block(async move { r.getitem(k).await })
    }

    /// `obj[key] = value`.
    pub fn setitem(&self, key: impl IntoValue, value: impl IntoValue) -> Result<()> {
        let (r, k, v) = (self.inner.clone(), key.into_value(), value.into_value());
        block(async move { r.setitem(k, v).await })
    }

    /// `del obj[key]`.
    pub fn delitem(&self, key: impl IntoValue) -> Result<()> {
        let (r, k) = (self.inner.clone(), key.into_value());
        block(async move { r.delitem(k).await })
    }

    /// `key in obj`.
    pub fn contains(&self, key: impl IntoValue) -> Result<bool> {
        let (r, k) = (self.inner.clone(), key.into_value());
        block(async move { r.contains(k).await })
    }

    /// Iterates the object to the end and collects the items.
    pub fn collect(&self) -> Result<Vec<Value>> {
        let r = self.inner.clone();
        block(async move { r.collect().await })
    }

    /// Fetches the object's content into a Rust value, in bulk (see
    /// [`crate::NetRef::fetch`]): a Python list into a `Vec<T>`, a dict into a `HashMap`.
    pub fn fetch<T: FromValue + Send>(&self) -> Result<T> {
        let r = self.inner.clone();
        block(async move { r.fetch::<T>().await })
    }

    /// Reads the object's iteration lazily, in growing chunks, as an [`Iterator`] of
    /// `Result<Value>` (see [`crate::NetRef::stream`]): a generator of any length is read with
    /// bounded memory. Dropping the iterator releases the remote one.
    ///
    /// ```
    /// use rpyc::blocking;
    ///
    /// let (client, _server) = blocking::connect_pair_with(rpyc::testing::EchoService).unwrap();
    /// let numbers: blocking::NetRef =
    ///     client.root().unwrap().call_method("numbers", (5,)).unwrap().extract().unwrap();
    /// let items: Vec<i64> = numbers.stream().map(|x| x.unwrap().extract().unwrap()).collect();
    /// assert_eq!(items, [0, 1, 2, 3, 4]);
    /// ```
    pub fn stream(&self) -> RemoteIter {
        RemoteIter {
            inner: Some(self.inner.stream()),
        }
    }

    /// Python's `with obj as value: body`, blocking, as [`crate::NetRef::with_context`]:
    /// `__enter__`, the body with its result, then always `__exit__` (HANDLE_CTXEXIT), also
    /// when the body panics (then sent without waiting, and the panic goes on). `Ok(Some(t))`
    /// on success, the body's error unchanged, `Ok(None)` when `__exit__` suppressed it.
    ///
    /// ```no_run
    /// // A Python service with a `@contextmanager` method `opened(name)`.
    /// let conn = rpyc::blocking::connect("127.0.0.1:18861")?;
    /// let cm: rpyc::blocking::NetRef = conn.root()?.call_method("opened", ("log",))?.extract()?;
    /// let n = cm.with_context(|file| {
    ///     let file: rpyc::blocking::NetRef = file.extract()?;
    ///     file.call_method("write", ("hello",))?.extract::<i64>().map_err(rpyc::Error::from)
    /// })?;
    /// assert_eq!(n, Some(5));
    /// # Ok::<(), rpyc::Error>(())
    /// ```
    pub fn with_context<T, E, F>(&self, body: F) -> std::result::Result<Option<T>, E>
    where
        F: FnOnce(Value) -> std::result::Result<T, E>,
        E: From<Error> + std::fmt::Display + 'static,
    {
        let r = self.inner.clone();
        let value = block(async move { r.call_method("__enter__", ()).await })?;
        let mut guard = crate::context::ExitGuard::new(&self.inner, "the Rust body panicked");
        let outcome = body(value);
        guard.disarm();
        let failure = outcome.as_ref().err().map(crate::context::Failure::of);
        let r = self.inner.clone();
        let exited = block(async move { crate::context::exit(r, failure).await });
        crate::context::settle(outcome, exited)
    }

    /// Python's `isinstance(obj, cls)` against a remote class, as
    /// [`crate::NetRef::isinstance`].
    pub fn isinstance(&self, class: &NetRef) -> Result<bool> {
        let (r, c) = (self.inner.clone(), class.inner.clone());
        block(async move { r.isinstance(&c).await })
    }

    /// `isinstance(obj, T)` for a type given by qualified name, decided locally, as
    /// [`crate::NetRef::is_instance_of`].
    pub fn is_instance_of(&self, type_name: &str) -> bool {
        self.inner.is_instance_of(type_name)
    }

    /// The object's class as a reference (`obj.__class__`), as [`crate::NetRef::remote_type`].
    pub fn remote_type(&self) -> Result<NetRef> {
        let r = self.inner.clone();
        block(async move { r.remote_type().await }).map(NetRef::from)
    }
}

/// A peer's iterable read lazily in growing chunks, one blocking call per chunk: the
/// [`Iterator`] twin of [`crate::RemoteStream`], made by [`NetRef::stream`].
#[derive(Debug)]
pub struct RemoteIter {
    inner: Option<crate::RemoteStream>,
}

impl RemoteIter {
    /// The async stream behind this iterator (`None` once it ended).
    pub fn into_async(self) -> Option<crate::RemoteStream> {
        self.inner
    }
}

impl Iterator for RemoteIter {
    type Item = Result<Value>;

    /// The next item, blocking while its chunk is read; an error is yielded once and ends
    /// the iteration.
    fn next(&mut self) -> Option<Result<Value>> {
        let stream = self.inner.as_mut()?;
        let item = match block(async { Ok(stream.next().await) }) {
            Ok(item) => item,
            Err(e) => Some(Err(e)),
        };
        if !matches!(item, Some(Ok(_))) {
            // The end, or an error: release the remote iterator now.
            self.inner = None;
        }
        item
    }
}

impl std::iter::FusedIterator for RemoteIter {}

/// An async connection as a blocking one (`let c: blocking::Connection = conn.into();`).
impl From<crate::Connection> for Connection {
    fn from(inner: crate::Connection) -> Self {
        Connection { inner }
    }
}

/// A blocking connection as the async one behind it.
impl From<Connection> for crate::Connection {
    fn from(c: Connection) -> Self {
        c.inner
    }
}

/// An async reference as a blocking one (`let r: blocking::NetRef = netref.into();`).
impl From<crate::NetRef> for NetRef {
    fn from(inner: crate::NetRef) -> Self {
        NetRef { inner }
    }
}

/// A blocking reference as the async one behind it (`let r: rpyc::NetRef = r.into();`).
impl From<NetRef> for crate::NetRef {
    fn from(r: NetRef) -> Self {
        r.inner
    }
}

impl FromValue for NetRef {
    fn from_value(v: Value) -> std::result::Result<Self, ConvertError> {
        crate::NetRef::from_value(v).map(|inner| NetRef { inner })
    }
}

impl IntoValue for NetRef {
    fn into_value(self) -> Value {
        self.inner.into_value()
    }
}

impl IntoValue for &NetRef {
    fn into_value(self) -> Value {
        (&self.inner).into_value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocking_session_and_refusal_inside_a_runtime() {
        let (client, _server) = connect_pair_with(crate::testing::EchoService).unwrap();
        let root = client.root().unwrap();
        assert_eq!(root.call_method("echo", ("x",)).unwrap(), Value::str("x"));
        client.ping().unwrap();
        let err = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async { root.call_method("echo", (1,)) })
            .unwrap_err();
        assert!(matches!(err, Error::BlockingInRuntime(_)), "{err:?}");
        assert!(err.to_string().contains("inside a tokio runtime"), "{err}");
        client.close().unwrap();
        assert!(client.is_closed());
        assert!(matches!(
            root.call_method("echo", (1,)),
            Err(Error::ConnectionClosed(_))
        ));
    }
}
