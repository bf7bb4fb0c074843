//! The symmetric [`Connection`].
//!
//! Each connection runs two tasks over its byte stream:
//!
//! * the **reader** decodes frames in arrival order. Replies are unboxed (references resolved)
//!   and handed to the waiting [`AsyncResult`]; requests have their references resolved right
//!   there, in order — so a `HANDLE_DEL` can never overtake an earlier use of the same object —
//!   and then run as their own task, so a slow handler, or one waiting on a callback into the
//!   peer, never stalls the connection.
//! * every sender frames into one shared buffer. The reader and the request tasks write it
//!   themselves when the last of them stops (no task hop, no wake-up of another thread); the
//!   **writer** task writes what they could not and what other tasks queue, so all frames
//!   queued meanwhile go out together in one syscall (see `outbox.rs`).
//!
//! The connection lives while a user handle ([`Connection`] or [`NetRef`]) exists or until
//! either side closes it. Closing fails every pending call with [`Error::ConnectionClosed`] and
//! frees both object tables.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use parking_lot::Mutex;
use rpyc_core::frame::{buffered_frame_len, FrameCodec};
use rpyc_core::message::{Boxed, Handler, Message, Request};
use rpyc_core::vinegar::ExceptionPayload;
use rpyc_core::{Config, EncodeError, IdPack, IntoValue, Object, RemoteException, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Notify;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

use crate::async_result::AsyncResult;
use crate::deadlines::Deadlines;
use crate::error::{Error, Result};
use crate::handlers;
use crate::netref::{NetRef, NetRefInner};
use crate::object::{CallContext, Exported, RemoteObject};
use crate::outbox::{BoxWriter, Outbox, PlainWriter, Produce, TcpWriter};
use crate::service::{Service, ServiceRoot, VoidService};
use crate::sync_calls::SyncCalls;
use crate::table::ObjectTable;

/// The payload `conn.ping()` sends by default (as Python does).
const PING_DEFAULT: &str = "abcdefghijklmnopqrstuvwxyz";

static NEXT_CONN_ID: AtomicU64 = AtomicU64::new(1);

/// How a request is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SendMode {
    /// The caller waits for the reply right away: write now (it has nothing to batch with).
    Now,
    /// Queued for the writer task, which runs once the caller yields (a burst of `async_`
    /// calls from one task is one write).
    Queue,
}

pub(crate) struct ConnInner {
    id: u64,
    config: Config,
    service: Arc<dyn Service>,
    pub(crate) root: Arc<dyn RemoteObject>,
    seq: AtomicI64,
    pending: Mutex<HashMap<i64, AsyncResult>>,
    /// The request timeouts of our calls.
    deadlines: Deadlines,
    pub(crate) table: ObjectTable,
    proxies: Mutex<HashMap<IdPack, Weak<NetRefInner>>>,
    out: Outbox,
    /// Set once, when the connection closes: why.
    close_reason: OnceLock<String>,
    cancel: CancellationToken,
    guard: OnceLock<Weak<HandleGuard>>,
    remote_root: Mutex<Option<IdPack>>,
    served: AtomicU64,
    served_notify: Notify,
    /// `serve` calls waiting on `served_notify` (the reader notifies only when there are).
    serve_waiters: AtomicUsize,
    in_flight: AtomicUsize,
    idle: Notify,
    /// The synchronous calls of the peer: their slots and queue.
    sync_calls: Arc<SyncCalls>,
}

/// Dropped when the last user handle goes: the connection then shuts down.
struct HandleGuard {
    inner: Weak<ConnInner>,
}

impl Drop for HandleGuard {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.upgrade() {
            inner.shutdown("every handle to the connection was dropped");
        }
    }
}

/// A connection to an RPyC peer (a Python `rpyc` 6 process or another rpyc-rs).
///
/// Cheap to clone; `Send + Sync`. Either side may serve a [`Service`] and call the other's.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<ConnInner>,
    _guard: Arc<HandleGuard>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.inner.id)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Connection {
    /// Starts a connection over any byte stream, serving `service` to the peer.
    ///
    /// Must be called inside a tokio runtime (it spawns the reader and writer tasks).
    pub fn new<S>(stream: S, service: Arc<dyn Service>, config: Config) -> Connection
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (r, w) = tokio::io::split(stream);
        Self::from_parts(r, w, service, config)
    }

    /// Starts a connection over separate read and write halves.
    pub fn from_parts<R, W>(
        reader: R,
        writer: W,
        service: Arc<dyn Service>,
        config: Config,
    ) -> Connection
    where
        R: AsyncRead + Send + 'static,
        W: AsyncWrite + Send + 'static,
    {
        Self::start(
            reader,
            Box::pin(PlainWriter(Box::pin(writer))),
            service,
            config,
        )
    }

    /// Starts a connection over a TCP stream (Nagle off). What it reads is acknowledged at
    /// once whenever the connection goes idle with nothing to send: a peer with Nagle's
    /// algorithm on (Python's rpyc) never waits for a delayed ACK, and a reply that follows at
    /// once still carries the ACK itself. See [`crate::transport`].
    ///
    /// A peer on this machine (loopback) gets no compression unless `compress_local` asks for
    /// it (see [`local_peer_config`]).
    pub fn from_tcp(
        stream: tokio::net::TcpStream,
        service: Arc<dyn Service>,
        config: Config,
    ) -> Connection {
        let _ = stream.set_nodelay(true);
        let local = stream.peer_addr().is_ok_and(|a| a.ip().is_loopback());
        let config = local_peer_config(config, local);
        let (r, w) = stream.into_split();
        Self::start(r, Box::pin(TcpWriter(w)), service, config)
    }

    fn start<R>(
        reader: R,
        writer: BoxWriter,
        service: Arc<dyn Service>,
        mut config: Config,
    ) -> Connection
    where
        R: AsyncRead + Send + 'static,
    {
        let root: Arc<dyn RemoteObject> = Arc::new(ServiceRoot {
            service: service.clone(),
        });
        let id = NEXT_CONN_ID.fetch_add(1, Ordering::Relaxed);
        if config.connid.is_none() {
            config.connid = Some(format!("conn{id}"));
        }
        let cancel = CancellationToken::new();
        let sync_calls = SyncCalls::new(config.max_sync_calls);
        let inner = Arc::new(ConnInner {
            id,
            config,
            service,
            root,
            seq: AtomicI64::new(0),
            pending: Mutex::new(HashMap::new()),
            deadlines: Deadlines::default(),
            table: ObjectTable::default(),
            proxies: Mutex::new(HashMap::new()),
            out: Outbox::new(writer, cancel.clone()),
            close_reason: OnceLock::new(),
            cancel,
            guard: OnceLock::new(),
            remote_root: Mutex::new(None),
            served: AtomicU64::new(0),
            served_notify: Notify::new(),
            serve_waiters: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
            sync_calls,
        });
        // The root is pinned in the table for the life of the connection (RPyC counts it too).
        inner.table.export_pinned(&inner.root);
        let guard = Arc::new(HandleGuard {
            inner: Arc::downgrade(&inner),
        });
        let _ = inner.guard.set(Arc::downgrade(&guard));
        let conn = Connection {
            inner: inner.clone(),
            _guard: guard,
        };
        tokio::spawn(writer_task(inner.clone()));
        tokio::spawn(deadline_task(inner.clone()));
        tokio::spawn(reader_task(inner.clone(), reader));
        tracing::debug!(conn = inner.id, "connection started");
        inner.service.on_connect(&conn);
        conn
    }

    /// A unique id of this connection within the process (used in logs).
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The configuration this connection was created with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The service this side serves.
    pub fn service(&self) -> &Arc<dyn Service> {
        &self.inner.service
    }

    /// True once the connection is closed.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// How many local objects the peer holds references to (the root included).
    pub fn object_count(&self) -> usize {
        self.inner.table.len()
    }

    /// How many live proxies of remote objects this side holds.
    pub fn proxy_count(&self) -> usize {
        self.inner
            .proxies
            .lock()
            .values()
            .filter(|w| w.strong_count() > 0)
            .count()
    }

    /// The peer's root object (`conn.root`): one HANDLE_GETROOT, cached while a reference to it
    /// is alive.
    pub async fn root(&self) -> Result<NetRef> {
        if self.is_closed() {
            return Err(self.inner.closed_error());
        }
        let cached = self.inner.remote_root.lock().clone();
        if let Some(id) = cached {
            if let Some(inner) = self.inner.proxies.lock().get(&id).and_then(Weak::upgrade) {
                return Ok(NetRef::from_inner(inner));
            }
        }
        let v = self.sync_request(Handler::GetRoot, Vec::new()).await?;
        let root = <NetRef as rpyc_core::FromValue>::from_value(v)
            .map_err(|_| Error::Protocol("GETROOT did not return a reference".into()))?;
        *self.inner.remote_root.lock() = Some(root.id_pack().clone());
        Ok(root)
    }

    /// Pings the peer with RPyC's default payload and a 3 s timeout.
    pub async fn ping(&self) -> Result<()> {
        self.ping_with(
            Value::Str(PING_DEFAULT.repeat(20)),
            Some(Duration::from_secs(3)),
        )
        .await
    }

    /// Pings with `data`, which must come back unchanged ([`Error::PingMismatch`] otherwise).
    pub async fn ping_with(&self, data: Value, timeout: Option<Duration>) -> Result<()> {
        let echoed = self
            .sync_request_timeout(Handler::Ping, vec![data.clone()], timeout)
            .await?;
        if echoed == data {
            Ok(())
        } else {
            Err(Error::PingMismatch)
        }
    }

    /// Sends a request and waits for its reply, with the configured timeout. Arguments are
    /// boxed as RPyC boxes them (objects by reference).
    pub async fn sync_request(&self, handler: Handler, args: Vec<Value>) -> Result<Value> {
        self.sync_request_timeout(handler, args, self.inner.config.sync_request_timeout)
            .await
    }

    /// Sends a request and waits at most `timeout` (`None`: forever).
    pub async fn sync_request_timeout(
        &self,
        handler: Handler,
        args: Vec<Value>,
        timeout: Option<Duration>,
    ) -> Result<Value> {
        let (seq, res) = self.send_request(handler, args, SendMode::Now);
        // On expiry the connection's sweeper fails the call with `Error::Timeout` (a late
        // reply is then unboxed and dropped, see `dispatch`); disarmed when this returns.
        let _armed = timeout.and_then(|t| self.inner.deadlines.arm(seq, t));
        res.wait().await?;
        res.take().unwrap_or(Err(Error::Expired))
    }

    /// Sends a request without waiting (no expiry unless set on the result).
    pub fn async_request(&self, handler: Handler, args: Vec<Value>) -> AsyncResult {
        self.send_request(handler, args, SendMode::Queue).1
    }

    fn send_request(
        &self,
        handler: Handler,
        args: Vec<Value>,
        how: SendMode,
    ) -> (i64, AsyncResult) {
        // The objects stay alive until the frame is queued: a proxy dropped earlier would
        // queue its DEL ahead of the request that mentions it.
        let mut keep = Vec::new();
        let boxed = match self.inner.box_value(Value::Tuple(args), &mut keep) {
            Ok(b) => b,
            Err(e) => return (-1, AsyncResult::completed(Err(Error::Encode(e.message())))),
        };
        let sent = self.inner.send_boxed_request(handler, &boxed, how);
        drop(keep);
        sent
    }

    /// Waits until the connection is closed, serving the peer's requests meanwhile (they are
    /// served by the reader task at all times; this is what a worker serving a master runs).
    pub async fn serve_all(&self) {
        self.inner.cancel.cancelled().await;
    }

    /// Waits until at least one message has been served or `timeout` passes; `true` if one was.
    pub async fn serve(&self, timeout: Duration) -> bool {
        /// Counts a waiting `serve` while it lives (the reader notifies only when one waits).
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let before = self.inner.served.load(Ordering::SeqCst);
        self.inner.serve_waiters.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.inner.serve_waiters);
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.served_notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.inner.served.load(Ordering::SeqCst) != before {
                return true;
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep_until(deadline) => return self.inner.served.load(Ordering::SeqCst) != before,
                _ = self.inner.cancel.cancelled() => return false,
            }
        }
    }

    /// Lets messages be served for `timeout`; `true` if any was.
    pub async fn poll_all(&self, timeout: Duration) -> bool {
        let before = self.inner.served.load(Ordering::Acquire);
        tokio::select! {
            _ = tokio::time::sleep(timeout) => {}
            _ = self.inner.cancel.cancelled() => {}
        }
        self.inner.served.load(Ordering::Acquire) != before
    }

    /// Closes the connection: sends HANDLE_CLOSE (the peer closes without replying), then
    /// releases everything. Idempotent; pending calls fail with [`Error::ConnectionClosed`].
    pub async fn close(&self) -> Result<()> {
        if self.is_closed() {
            return Ok(());
        }
        let (_, res) = self.inner.send_boxed_request(
            Handler::Close,
            &Boxed::Value(Value::Tuple(Vec::new())),
            SendMode::Now,
        );
        // A Python peer answers by closing the stream; an rpyc-rs peer may reply first.
        let wait = Duration::from_secs(1).min(
            self.inner
                .config
                .sync_request_timeout
                .unwrap_or(Duration::from_secs(1)),
        );
        let _ = tokio::time::timeout(wait, res.wait()).await;
        self.inner.shutdown("closed by this side");
        Ok(())
    }

    /// The slots and queue of the peer's synchronous calls.
    pub(crate) fn sync_calls(&self) -> &Arc<SyncCalls> {
        &self.inner.sync_calls
    }

    /// How many of the peer's requests are being handled right now.
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::Acquire)
    }

    /// Waits until no request of the peer is being handled (or the connection closes). Servers
    /// use it to let in-flight calls finish before closing.
    pub async fn wait_idle(&self) {
        loop {
            let idle = self.inner.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.in_flight() == 0 || self.is_closed() {
                return;
            }
            tokio::select! {
                _ = idle => {}
                _ = self.inner.cancel.cancelled() => return,
            }
        }
    }

    /// Closes the stream at once, without sending HANDLE_CLOSE (what a server does to its
    /// clients when it shuts down). Pending calls fail with [`Error::ConnectionClosed`].
    pub fn abort(&self, reason: &str) {
        self.inner.shutdown(reason);
    }

    /// The reason the connection closed, once it has.
    pub fn close_reason(&self) -> Option<String> {
        self.inner.close_reason.get().cloned()
    }

    /// Releases a proxy (called when the last clone of a `NetRef` drops): one DEL carrying every
    /// reference received, sent without waiting.
    pub(crate) fn release_proxy(&self, id: &IdPack, count: i64) {
        {
            let mut p = self.inner.proxies.lock();
            if p.get(id).is_some_and(|w| w.strong_count() == 0) {
                p.remove(id);
            }
        }
        if self.is_closed() {
            return;
        }
        let args = Boxed::Tuple(vec![
            Boxed::Local(id.clone()),
            Boxed::Value(Value::Int(count)),
        ]);
        // No reply is awaited (an rpyc-rs peer's is ignored), so no pending entry either.
        let seq = self.inner.seq.fetch_add(1, Ordering::Relaxed);
        let _ = self
            .inner
            .out
            .push(self.inner.config.compress, false, |buf| {
                Message::encode_request(seq, Handler::Del, &args, buf)
            });
    }
}

impl ConnInner {
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    fn connection(self: &Arc<Self>) -> Option<Connection> {
        let guard = self.guard.get()?.upgrade()?;
        Some(Connection {
            inner: self.clone(),
            _guard: guard,
        })
    }

    /// Frames one message into the write queue.
    fn send_frame(
        &self,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        self.out.push(self.config.compress, false, encode)
    }

    fn send_boxed_request(
        &self,
        handler: Handler,
        args: &Boxed,
        how: SendMode,
    ) -> (i64, AsyncResult) {
        if self.is_closed() {
            return (-1, AsyncResult::completed(Err(self.closed_error())));
        }
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let res = AsyncResult::new();
        self.pending.lock().insert(seq, res.clone());
        // The connection may have closed after the check above: never leave a waiter behind.
        if self.is_closed() {
            self.pending.lock().remove(&seq);
            res.complete(Err(self.closed_error()));
            return (seq, res);
        }
        let sent = self
            .out
            .push(self.config.compress, how == SendMode::Now, |buf| {
                Message::encode_request(seq, handler, args, buf)
            });
        if let Err(e) = sent {
            self.pending.lock().remove(&seq);
            res.complete(Err(e.into()));
        }
        (seq, res)
    }

    fn send_reply(
        &self,
        seq: i64,
        result: std::result::Result<Value, RemoteException>,
        context: &str,
    ) {
        // Objects in the result stay alive until the reply is queued (see `send_request`).
        let mut keep = Vec::new();
        let result: std::result::Result<(), RemoteException> = match result {
            Ok(v) => match self.box_value(v, &mut keep) {
                Ok(boxed) => match self.send_frame(|buf| Message::encode_reply(seq, &boxed, buf)) {
                    Ok(()) => return drop(keep),
                    Err(e) => Err(RemoteException::value_error(format!(
                        "cannot send the result: {e}"
                    ))),
                },
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        if let Err(mut exc) = result {
            if self.config.log_exceptions {
                tracing::debug!(conn = self.id, seq, error = %exc, "request failed");
            }
            if !self.config.include_local_traceback {
                exc.traceback = "<traceback denied>".into();
            } else if exc.traceback.is_empty() {
                exc.traceback = format!("Traceback (most recent call last):\n  File \"<rpyc-rs>\", in {context}\n{exc}\n");
            }
            let payload = ExceptionPayload::from(exc);
            if self
                .send_frame(|buf| Message::encode_exception(seq, &payload, buf))
                .is_err()
            {
                // Only a value that cannot be dumped can fail here: fall back to a plain error.
                let fallback = ExceptionPayload::Exception(RemoteException::runtime_error(
                    "unencodable exception",
                ));
                let _ = self.send_frame(|buf| Message::encode_exception(seq, &fallback, buf));
            }
        }
    }

    fn closed_error(&self) -> Error {
        Error::ConnectionClosed(
            self.close_reason
                .get()
                .cloned()
                .unwrap_or_else(|| "closed".into()),
        )
    }

    fn is_closed(&self) -> bool {
        self.close_reason.get().is_some()
    }

    /// Boxes a value for sending (RPyC's `_box`): plain data by value, local objects by
    /// reference (counted in the table), the peer's own objects as label 3. The objects are
    /// moved to `keep`, which the caller drops only after the frame is queued.
    pub(crate) fn box_value(
        &self,
        v: Value,
        keep: &mut Vec<Object>,
    ) -> std::result::Result<Boxed, RemoteException> {
        if v.is_dumpable() {
            return Ok(Boxed::Value(v));
        }
        match v {
            Value::Tuple(items) => Ok(Boxed::Tuple(
                items
                    .into_iter()
                    .map(|i| self.box_value(i, keep))
                    .collect::<std::result::Result<_, _>>()?,
            )),
            Value::Object(obj) => {
                let b = self.box_object(&obj);
                keep.push(obj);
                b
            }
            other => Err(RemoteException::type_error(format!(
                "cannot send a {} holding objects by reference",
                other.type_name()
            ))),
        }
    }

    fn box_object(&self, obj: &Object) -> std::result::Result<Boxed, RemoteException> {
        if let Some(nr) = obj.downcast_ref::<NetRefInner>() {
            if std::ptr::eq(Arc::as_ptr(&nr.conn.inner), self as *const ConnInner) {
                return Ok(Boxed::Local(nr.id.clone()));
            }
            return Err(RemoteException::type_error(format!(
                "cannot send {}: it is a reference of another connection",
                nr.id
            )));
        }
        if let Some(ex) = obj.downcast_ref::<Exported>() {
            return self.export(&ex.0);
        }
        Err(RemoteException::type_error(format!(
            "cannot send an object of type {}",
            obj.type_name()
        )))
    }

    fn export(&self, obj: &Arc<dyn RemoteObject>) -> std::result::Result<Boxed, RemoteException> {
        self.table
            .export(obj, self.config.max_exported_objects)
            .map(Boxed::Remote)
            .ok_or_else(|| {
                RemoteException::builtin(
                    "MemoryError",
                    format!(
                        "too many exported objects (limit {})",
                        self.config.max_exported_objects
                    ),
                )
            })
    }

    /// Unboxes a received value (RPyC's `_unbox`): label 3 resolves in the local table, label 4
    /// becomes a proxy.
    pub(crate) fn unbox(self: &Arc<Self>, b: Boxed) -> std::result::Result<Value, RemoteException> {
        match b {
            Boxed::Value(v) => Ok(v),
            Boxed::Tuple(items) => Ok(Value::Tuple(
                items
                    .into_iter()
                    .map(|i| self.unbox(i))
                    .collect::<std::result::Result<_, _>>()?,
            )),
            Boxed::Local(id) => match self.table.get(&id) {
                Some(obj) => Ok(Exported(obj).into_value()),
                None => Err(RemoteException::key_error(id.to_value())),
            },
            Boxed::Remote(id) => self.proxy(id).map(|nr| Value::Object(Object(nr))),
        }
    }

    fn proxy(
        self: &Arc<Self>,
        id: IdPack,
    ) -> std::result::Result<Arc<NetRefInner>, RemoteException> {
        let mut proxies = self.proxies.lock();
        if let Some(existing) = proxies.get(&id).and_then(Weak::upgrade) {
            existing.received.fetch_add(1, Ordering::Relaxed);
            return Ok(existing);
        }
        let conn = self
            .connection()
            .ok_or_else(|| RemoteException::eof_error("connection is closing"))?;
        let inner = Arc::new(NetRefInner {
            conn,
            id: id.clone(),
            received: AtomicI64::new(1),
        });
        if proxies.len() > 1024 && proxies.len().is_power_of_two() {
            proxies.retain(|_, w| w.strong_count() > 0);
        }
        proxies.insert(id, Arc::downgrade(&inner));
        Ok(inner)
    }

    /// Marks the connection closed and releases everything. Idempotent.
    pub(crate) fn shutdown(self: &Arc<Self>, reason: &str) {
        if self.close_reason.set(reason.to_string()).is_err() {
            return;
        }
        tracing::debug!(conn = self.id, reason, "connection closed");
        let pending: Vec<AsyncResult> = self.pending.lock().drain().map(|(_, r)| r).collect();
        for r in pending {
            r.complete(Err(Error::ConnectionClosed(reason.to_string())));
        }
        // The last user handle may be what triggered this shutdown (or may go any moment): the
        // hook then gets a temporary handle, whose drop finds the connection closed.
        let conn = self.connection().unwrap_or_else(|| Connection {
            inner: self.clone(),
            _guard: Arc::new(HandleGuard {
                inner: Arc::downgrade(self),
            }),
        });
        self.service.on_disconnect(&conn);
        // Free what the peer held (no DELs for our proxies: the stream is gone), and forget
        // the synchronous calls that have not started.
        self.table.clear();
        self.sync_calls.close();
        // Last: wake the tasks and `serve_all` (which thus returns after the hook has run).
        self.cancel.cancel();
        self.served_notify.notify_waiters();
        self.out.close();
    }

    /// Handles one frame; `Ok(true)` if it completed one of our calls (woke its caller), `Err`
    /// closes the connection.
    fn dispatch(self: &Arc<Self>, payload: &Bytes) -> std::result::Result<bool, String> {
        let msg = Message::decode(payload, self.config.decode_limits).map_err(|e| e.to_string())?;
        match msg {
            Message::Reply { seq, value } => {
                let Some(res) = self.pending.lock().remove(&seq) else {
                    // A late reply (its call timed out): unbox it anyway so the references it
                    // carries get proxies, which are dropped at once and released (DEL).
                    tracing::debug!(conn = self.id, seq, "reply to an unknown request ignored");
                    drop(self.unbox(value));
                    return Ok(false);
                };
                res.complete(self.unbox(value).map_err(Error::Remote));
                Ok(true)
            }
            Message::Exception { seq, payload } => {
                let Some(res) = self.pending.lock().remove(&seq) else {
                    return Ok(false);
                };
                res.complete(Err(Error::Remote(payload.into_exception())));
                Ok(true)
            }
            Message::Request { seq, handler, args } => {
                self.dispatch_request(seq, handler, args);
                Ok(false)
            }
        }
    }

    fn dispatch_request(self: &Arc<Self>, seq: i64, handler: i64, args: Boxed) {
        let req = match Request::parse(handler, args) {
            Ok(r) => r,
            Err(rpyc_core::message::ArgError::UnknownHandler(h)) => {
                return self.send_reply(
                    seq,
                    Err(RemoteException::key_error(Value::Int(h))),
                    "dispatch",
                );
            }
            Err(rpyc_core::message::ArgError::Type(msg)) => {
                return self.send_reply(seq, Err(RemoteException::type_error(msg)), "dispatch")
            }
        };
        // Cheap handlers run inline, in order; the rest resolve their references here (in
        // order) and run on their own task.
        // A panic in a handler becomes an exception for that caller; the reader lives on.
        let prepared = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handlers::prepare(self, req)
        })) {
            Ok(p) => p,
            Err(p) => handlers::Prepared::Done(Err(panic_exception(p.as_ref())), "dispatch"),
        };
        match prepared {
            handlers::Prepared::Done(result, ctx) => self.send_reply(seq, result, ctx),
            handlers::Prepared::NoReply => {}
            handlers::Prepared::Spawn(_, ctx)
                if self.in_flight.load(Ordering::Acquire)
                    >= self.config.max_concurrent_requests =>
            {
                let msg = format!(
                    "too many concurrent requests on this connection (limit {})",
                    self.config.max_concurrent_requests
                );
                self.send_reply(seq, Err(RemoteException::runtime_error(msg)), ctx);
            }
            handlers::Prepared::Spawn(job, ctx) => {
                let inner = self.clone();
                self.in_flight.fetch_add(1, Ordering::AcqRel);
                // Its place among the synchronous calls, taken in arrival order.
                let place = self.sync_calls.reserve();
                // Counted as a producer from now on, so the reader leaves the write to it.
                self.out.enter(false);
                tokio::spawn(Produce::entered(self.clone(), async move {
                    let result = run_job(job, &inner.sync_calls, place).await;
                    inner.send_reply(seq, result, ctx);
                    if inner.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
                        inner.idle.notify_waiters();
                    }
                }));
            }
        }
    }

    /// The context handed to a handler: fails with `EOFError` once the last handle is gone.
    pub(crate) fn context(self: &Arc<Self>) -> std::result::Result<CallContext, RemoteException> {
        self.connection()
            .map(CallContext::new)
            .ok_or_else(|| RemoteException::eof_error("connection is closing"))
    }
}

/// The exception a caller sees when a handler panicked.
pub(crate) fn panic_exception(p: &(dyn std::any::Any + Send)) -> RemoteException {
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    RemoteException::runtime_error(format!("handler panicked: {msg}"))
}

/// Runs a handler job, turning a panic (in its synchronous part or in its future) into an
/// exception. A synchronous method it starts takes the request's `place` among the
/// connection's synchronous calls.
async fn run_job(
    job: handlers::Job,
    sync_calls: &Arc<SyncCalls>,
    place: u64,
) -> std::result::Result<Value, RemoteException> {
    use futures_util::FutureExt;
    let fut = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        sync_calls.starting(place, job)
    })) {
        Ok(f) => f,
        Err(p) => return Err(panic_exception(p.as_ref())),
    };
    match std::panic::AssertUnwindSafe(fut).catch_unwind().await {
        Ok(r) => r,
        Err(p) => Err(panic_exception(p.as_ref())),
    }
}

async fn reader_task<R: AsyncRead + Send + 'static>(inner: Arc<ConnInner>, reader: R) {
    let frames = FramedRead::with_capacity(
        reader,
        FrameCodec::new(inner.config.frame_limits),
        16 * 1024,
    );
    tokio::pin!(frames);
    // The reader is a producer while it handles the frames of one read: the replies it queues
    // (and those of the tasks it starts) go out together when the last of them stops.
    let mut producing = false;
    let mut woke = false;
    let reason = loop {
        let next = tokio::select! {
            _ = inner.cancel.cancelled() => break None,
            f = frames.next() => f,
        };
        match next {
            None => break Some("the peer closed the connection".to_string()),
            Some(Err(e)) => break Some(format!("read failed: {e}")),
            Some(Ok(payload)) => {
                if !producing {
                    inner.out.enter(true);
                    producing = true;
                }
                // Counted before dispatch: whoever receives this message sees it counted.
                inner.served.fetch_add(1, Ordering::SeqCst);
                let r = {
                    let _scope = inner.out.scope();
                    inner.dispatch(&payload)
                };
                match r {
                    Ok(w) => woke |= w,
                    Err(e) => {
                        tracing::warn!(conn = inner.id, error = %e, "protocol error, closing the connection");
                        break Some(format!("protocol error: {e}"));
                    }
                }
                if inner.serve_waiters.load(Ordering::SeqCst) > 0 {
                    inner.served_notify.notify_waiters();
                }
                if buffered_frame_len(frames.read_buffer()).is_some() {
                    continue;
                }
                // A caller we woke usually sends its next request at once: let it run first,
                // so what we queued (DEL answers) goes out with it instead of costing the peer
                // a wake-up of its own.
                let woke_caller = std::mem::take(&mut woke);
                if woke_caller && inner.out.queued() > 0 {
                    tokio::task::yield_now().await;
                }
                producing = false;
                // Nothing came of this read (answers to our DELs, say) and nothing else is
                // going on: acknowledge it now rather than after the delayed-ACK timer.
                inner.out.exit(!woke_caller);
            }
        }
        // Backpressure: wait while the peer is not reading what we already owe it.
        inner.out.wait_drained().await;
    };
    if producing {
        inner.out.exit(false);
    }
    if let Some(reason) = reason {
        inner.shutdown(&reason);
    }
}

async fn deadline_task(inner: Arc<ConnInner>) {
    inner
        .deadlines
        .run(&inner.cancel, |seq, timeout| {
            if let Some(res) = inner.pending.lock().remove(&seq) {
                res.complete(Err(Error::Timeout(timeout)));
            }
        })
        .await;
}

async fn writer_task(inner: Arc<ConnInner>) {
    if let Err(e) = inner.out.run_writer().await {
        inner.shutdown(&format!("write failed: {e}"));
    }
}

impl AsRef<Outbox> for ConnInner {
    fn as_ref(&self) -> &Outbox {
        &self.out
    }
}

/// Connects to an RPyC server over TCP (no service of our own, default config).
///
/// `addr` is anything tokio resolves: `"host:port"`, `("host", port)`, a `SocketAddr`, ….
/// A failure to connect (refused, unreachable, unresolved) is an [`Error::Connect`] naming
/// the address and the OS error.
///
/// ```no_run
/// # async fn demo() -> Result<(), rpyc::Error> {
/// let conn = rpyc::connect("127.0.0.1:18861").await?;
/// let root = conn.root().await?;
/// let answer: i64 = root.attr("the_answer").await?;
/// # Ok(()) }
/// ```
pub async fn connect(addr: impl tokio::net::ToSocketAddrs + std::fmt::Debug) -> Result<Connection> {
    connect_with(addr, Arc::new(VoidService), Config::default()).await
}

/// Connects over TCP serving `service` to the peer, with `config`.
pub async fn connect_with(
    addr: impl tokio::net::ToSocketAddrs + std::fmt::Debug,
    service: Arc<dyn Service>,
    config: Config,
) -> Result<Connection> {
    let (stream, _) = open_tcp(addr).await?;
    Ok(Connection::from_tcp(stream, service, config))
}

/// Opens a TCP stream to `addr` (trying every address it resolves to, as
/// `TcpStream::connect` does); a failure is an [`Error::Connect`] naming `addr`. Also returns
/// the address as shown in errors.
pub(crate) async fn open_tcp(
    addr: impl tokio::net::ToSocketAddrs + std::fmt::Debug,
) -> Result<(tokio::net::TcpStream, String)> {
    let shown = shown_addr(&addr);
    match tokio::net::TcpStream::connect(addr).await {
        Ok(stream) => Ok((stream, shown)),
        Err(e) => Err(Error::connect(shown, e)),
    }
}

/// An address as the user typed it: `127.0.0.1:18861`, not `"127.0.0.1:18861"`.
pub(crate) fn shown_addr(addr: &impl std::fmt::Debug) -> String {
    let s = format!("{addr:?}");
    match s.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner.to_string(),
        None => s,
    }
}

/// Turns compression off for a peer on this machine unless `compress_local` asks for it.
pub fn local_peer_config(mut config: Config, peer_is_local: bool) -> Config {
    if peer_is_local && !config.compress_local {
        config.compress = false;
    }
    config
}

/// Connects to an RPyC server listening on a Unix socket. A failure to connect is an
/// [`Error::Connect`] naming the socket's path and the OS error.
#[cfg(unix)]
pub async fn unix_connect(path: impl AsRef<std::path::Path>) -> Result<Connection> {
    let path = path.as_ref();
    let stream = tokio::net::UnixStream::connect(path)
        .await
        .map_err(|e| Error::connect(path.display().to_string(), e))?;
    let (r, w) = stream.into_split();
    Ok(Connection::from_parts(
        r,
        w,
        Arc::new(VoidService),
        local_peer_config(Config::default(), true),
    ))
}

/// Two connected `Connection`s in one process (over an in-memory duplex stream), both serving
/// [`VoidService`]. For tests and examples.
pub async fn connect_pair() -> (Connection, Connection) {
    connect_pair_with(VoidService, Config::default()).await
}

/// Two connected `Connection`s in one process: `(client, server)`, the server side serving
/// `service`, both with `config`.
pub async fn connect_pair_with<S: Service>(service: S, config: Config) -> (Connection, Connection) {
    let (a, b) = tokio::io::duplex(256 * 1024);
    let server = Connection::new(b, Arc::new(service), config.clone());
    let client = Connection::new(a, Arc::new(VoidService), config);
    (client, server)
}
