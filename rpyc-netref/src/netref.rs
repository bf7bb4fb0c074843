//! [`NetRef`]: a reference to an object that lives on the other side.
//!
//! Methods and attributes work as in Python: `root.call_method("add", (1, 2))` is
//! `conn.root.add(1, 2)` in one round trip (CALLATTR); `getattr`/`setattr`/`delattr`, `repr`,
//! `str`, `dir`, `len`, indexing and iteration map to the matching RPyC handlers. Cloning a
//! `NetRef` is cheap and shares the proxy; when the last clone is dropped the peer is told to
//! release the object (one `HANDLE_DEL` carrying every reference received).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let (client, _server) = rpyc::connect_pair_with(rpyc::testing::EchoService, Default::default()).await;
//! let root = client.root().await.unwrap();
//! let sum: i64 = root.call_method("add", (40, 2)).await.unwrap().extract().unwrap();
//! assert_eq!(sum, 42);
//! let err = root.call_method("fail", ("boom",)).await.unwrap_err();
//! assert!(err.is_remote("ValueError"));
//! # });
//! ```

use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rpyc_core::message::Handler;
use rpyc_core::{ConvertError, FromValue, IdPack, IntoValue, Object, Opaque, Value};

use crate::async_result::AsyncResult;
use crate::connection::Connection;
use crate::error::Result;
use crate::object::IntoArgs;

pub(crate) struct NetRefInner {
    pub(crate) conn: Connection,
    pub(crate) id: IdPack,
    /// How many times the peer sent us this id while the proxy was alive.
    pub(crate) received: AtomicI64,
}

impl Drop for NetRefInner {
    fn drop(&mut self) {
        self.conn
            .release_proxy(&self.id, self.received.load(Ordering::Relaxed));
    }
}

impl fmt::Debug for NetRefInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<netref {}>", self.id)
    }
}

impl Opaque for NetRefInner {
    fn type_name(&self) -> &str {
        &self.id.name_pack
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_arc(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

/// A reference to a remote object.
#[derive(Clone)]
pub struct NetRef {
    pub(crate) inner: Arc<NetRefInner>,
    /// Per-reference timeout override: `None` uses the config, `Some(None)` waits forever.
    timeout: Option<Option<Duration>>,
}

impl fmt::Debug for NetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NetRef({})", self.inner.id)
    }
}

impl PartialEq for NetRef {
    /// Two `NetRef`s are equal when they are the same proxy (Python's `is`).
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl NetRef {
    pub(crate) fn from_inner(inner: Arc<NetRefInner>) -> NetRef {
        NetRef {
            inner,
            timeout: None,
        }
    }

    /// The object's id pack `(name_pack, class_id, instance_id)` on the wire.
    pub fn id_pack(&self) -> &IdPack {
        &self.inner.id
    }

    /// The remote type's dotted name (`"builtins.list"`, `"calc.Counter"`).
    pub fn type_name(&self) -> &str {
        &self.inner.id.name_pack
    }

    /// The connection this reference belongs to.
    pub fn connection(&self) -> &Connection {
        &self.inner.conn
    }

    /// A handle with its own request timeout: `Some(d)` fails calls after `d`, `None` waits
    /// forever. The object and its lifetime are shared with `self`.
    pub fn with_timeout(&self, timeout: Option<Duration>) -> NetRef {
        NetRef {
            inner: self.inner.clone(),
            timeout: Some(timeout),
        }
    }

    /// `other` with this handle's timeout override, if it has one.
    pub(crate) fn with_timeout_of(&self, other: NetRef) -> NetRef {
        NetRef {
            inner: other.inner,
            timeout: self.timeout.or(other.timeout),
        }
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout
            .unwrap_or(self.inner.conn.config().sync_request_timeout)
    }

    fn this(&self) -> Value {
        Value::Object(Object(self.inner.clone()))
    }

    pub(crate) async fn request(&self, handler: Handler, args: Vec<Value>) -> Result<Value> {
        self.inner
            .conn
            .sync_request_timeout(handler, args, self.timeout())
            .await
    }

    /// Reads attribute `name` (HANDLE_GETATTR). Methods come back as callable `NetRef`s.
    pub async fn getattr(&self, name: &str) -> Result<Value> {
        self.request(Handler::GetAttr, vec![self.this(), Value::str(name)])
            .await
    }

    /// Reads attribute `name` and converts it.
    pub async fn attr<T: FromValue>(&self, name: &str) -> Result<T> {
        Ok(self.getattr(name).await?.extract()?)
    }

    /// Sets attribute `name` (HANDLE_SETATTR; the owner's policy decides).
    pub async fn setattr(&self, name: &str, value: impl IntoValue) -> Result<()> {
        self.request(
            Handler::SetAttr,
            vec![self.this(), Value::str(name), value.into_value()],
        )
        .await
        .map(drop)
    }

    /// Deletes attribute `name` (HANDLE_DELATTR).
    pub async fn delattr(&self, name: &str) -> Result<()> {
        self.request(Handler::DelAttr, vec![self.this(), Value::str(name)])
            .await
            .map(drop)
    }

    fn split_args(args: impl IntoArgs) -> (Value, Value) {
        let a = args.into_args();
        let kw = Value::Tuple(
            a.kw.into_iter()
                .map(|(k, v)| Value::Tuple(vec![Value::Str(k), v]))
                .collect(),
        );
        (Value::Tuple(a.pos), kw)
    }

    /// Calls method `name` with positional and keyword arguments in one round trip
    /// (HANDLE_CALLATTR). Pass a tuple, `()`, or [`crate::Args`] for keywords.
    pub async fn call_method(&self, name: &str, args: impl IntoArgs) -> Result<Value> {
        let (pos, kw) = Self::split_args(args);
        self.request(
            Handler::CallAttr,
            vec![self.this(), Value::str(name), pos, kw],
        )
        .await
    }

    /// Calls the object itself (HANDLE_CALL), e.g. a function or a callback.
    pub async fn call(&self, args: impl IntoArgs) -> Result<Value> {
        let (pos, kw) = Self::split_args(args);
        self.request(Handler::Call, vec![self.this(), pos, kw])
            .await
    }

    /// Sends a method call without waiting (RPyC's `async_`).
    pub fn async_call_method(&self, name: &str, args: impl IntoArgs) -> AsyncResult {
        let (pos, kw) = Self::split_args(args);
        self.inner.conn.async_request(
            Handler::CallAttr,
            vec![self.this(), Value::str(name), pos, kw],
        )
    }

    /// Calls the object itself without waiting.
    pub fn async_call(&self, args: impl IntoArgs) -> AsyncResult {
        let (pos, kw) = Self::split_args(args);
        self.inner
            .conn
            .async_request(Handler::Call, vec![self.this(), pos, kw])
    }

    /// `repr(obj)` on the remote side.
    pub async fn repr(&self) -> Result<String> {
        Ok(self
            .request(Handler::Repr, vec![self.this()])
            .await?
            .extract()?)
    }

    /// `str(obj)` on the remote side.
    pub async fn str(&self) -> Result<String> {
        Ok(self
            .request(Handler::Str, vec![self.this()])
            .await?
            .extract()?)
    }

    /// `dir(obj)` on the remote side.
    pub async fn dir(&self) -> Result<Vec<String>> {
        Ok(self
            .request(Handler::Dir, vec![self.this()])
            .await?
            .extract()?)
    }

    /// `hash(obj)` on the remote side.
    pub async fn hash(&self) -> Result<i64> {
        Ok(self
            .request(Handler::Hash, vec![self.this()])
            .await?
            .extract()?)
    }

    /// Rich comparison on the remote side (`op` is `"__eq__"`, `"__lt__"`, …); `NotImplemented`
    /// comes back as [`Value::NotImplemented`].
    pub async fn compare(&self, other: impl IntoValue, op: &str) -> Result<Value> {
        self.request(
            Handler::Cmp,
            vec![self.this(), other.into_value(), Value::str(op)],
        )
        .await
    }

    /// `len(obj)`.
    pub async fn len(&self) -> Result<usize> {
        Ok(self.call_method("__len__", ()).await?.extract()?)
    }

    /// `len(obj) == 0`.
    pub async fn is_empty(&self) -> Result<bool> {
        Ok(self.len().await? == 0)
    }

    /// `obj[key]`.
    pub async fn getitem(&self, key: impl IntoValue) -> Result<Value> {
        self.call_method("__getitem__", (key.into_value(),)).await
    }

    /// `obj[key] = value`.
    pub async fn setitem(&self, key: impl IntoValue, value: impl IntoValue) -> Result<()> {
        self.call_method("__setitem__", (key.into_value(), value.into_value()))
            .await
            .map(drop)
    }

    /// `del obj[key]`.
    pub async fn delitem(&self, key: impl IntoValue) -> Result<()> {
        self.call_method("__delitem__", (key.into_value(),))
            .await
            .map(drop)
    }

    /// `key in obj`.
    pub async fn contains(&self, key: impl IntoValue) -> Result<bool> {
        Ok(self
            .call_method("__contains__", (key.into_value(),))
            .await?
            .is_truthy())
    }

    /// Iterates the remote object to the end and collects the items: `iter(obj)` once, then
    /// HANDLE_BUFFITER in batches of [`crate::fetch::FETCH_BATCH`] until a short one (at most
    /// [`crate::fetch::MAX_FETCHED_ITEMS`] items).
    pub async fn collect(&self) -> Result<Vec<Value>> {
        crate::fetch::read_remote(self, &crate::fetch::Budget::new(self.connection())).await
    }

    /// Up to `count` items of the object's iteration in one round trip (HANDLE_BUFFITER: the
    /// next items of an iterator, or the first items of a fresh iteration of an iterable).
    pub async fn buffiter(&self, count: usize) -> Result<Vec<Value>> {
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        match self
            .request(Handler::BuffIter, vec![self.this(), Value::Int(count)])
            .await?
        {
            Value::Tuple(items) => Ok(items),
            other => Err(ConvertError::type_mismatch("tuple", &other).into()),
        }
    }

    /// Fetches the object's content into a Rust value, in bulk: a Python list, tuple, set or
    /// generator into a `Vec<T>` or `HashSet<T>`, a dict into a `HashMap<K, V>` or a serde
    /// struct (through [`rpyc_core::Serde`]), nested containers too — a fixed number of round
    /// trips, not one per item (see [`crate::fetch`]).
    ///
    /// ```no_run
    /// # async fn demo() -> rpyc::Result<()> {
    /// use std::collections::HashMap;
    /// // A Python server with `exposed_tags = ["a", "b"]` and `exposed_scores = {"ann": 3}`.
    /// let conn = rpyc::connect("127.0.0.1:18861").await?;
    /// let root = conn.root().await?;
    /// let tags: Vec<String> = root.attr::<rpyc::NetRef>("tags").await?.fetch().await?;
    /// let scores: HashMap<String, i64> =
    ///     root.attr::<rpyc::NetRef>("scores").await?.fetch().await?;
    /// # Ok(()) }
    /// ```
    pub async fn fetch<T: FromValue>(&self) -> Result<T> {
        let ctx = crate::object::CallContext::new(self.connection().clone());
        let v = crate::fetch::fetch_value(&ctx, self.this(), &T::content()).await?;
        Ok(T::from_value(v)?)
    }
}

impl IntoValue for NetRef {
    fn into_value(self) -> Value {
        Value::Object(Object(self.inner))
    }
}

impl IntoValue for &NetRef {
    fn into_value(self) -> Value {
        Value::Object(Object(self.inner.clone()))
    }
}

impl FromValue for NetRef {
    fn from_value(v: Value) -> Result<Self, ConvertError> {
        match v.as_object().and_then(Object::downcast_arc::<NetRefInner>) {
            Some(inner) => Ok(NetRef::from_inner(inner)),
            None => Err(ConvertError::type_mismatch("a remote object (NetRef)", &v)),
        }
    }
}
