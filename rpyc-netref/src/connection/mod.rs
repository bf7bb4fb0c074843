//! The symmetric [`Connection`].
//!
//! Each connection runs two tasks over its byte stream:
//!
//! * the **reader** decodes frames in arrival order (frames above 64 KiB on tokio's blocking
//!   threads, so one connection's heavy frame never stalls the others: `decode.rs`). Replies
//!   are unboxed (references resolved) and handed to the waiting [`AsyncResult`]; requests
//!   have their references resolved right there, in order — so a `HANDLE_DEL` can never
//!   overtake an earlier use of the same object — and then run as their own task, so a slow
//!   handler, or one waiting on a callback into the peer, never stalls the connection.
//! * every sender frames into one shared buffer. The reader and the request tasks write it
//!   themselves when the last of them stops (no task hop, no wake-up of another thread); the
//!   **writer** task writes what they could not and what other tasks queue, so all frames
//!   queued meanwhile go out together in one syscall (see `outbox.rs`).
//!
//! The connection lives while a user handle ([`Connection`] or [`NetRef`]) exists or until
//! either side closes it. Closing fails every pending call with [`Error::ConnectionClosed`]
//! carrying the reason, and frees both object tables; every later call through a handle of it
//! (a [`NetRef`] included) fails at once with the same variant, saying the connection is gone,
//! which one and why. [`Connection::closed`] and [`Connection::on_close`] tell when it ends.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use rpyc_core::message::{Boxed, Handler, Message};
use rpyc_core::{Config, IdPack, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

mod boxing;
mod budget;
mod deadlines;
mod decode;
mod frame_reader;
pub(crate) mod handlers;
mod in_flight;
pub(crate) mod outbox;
mod partial_ack;
mod proxies;
mod reader;
mod state;
mod watchdog;

pub(crate) use reader::panic_exception;
pub(crate) use state::ConnInner;

#[cfg(unix)]
pub use crate::connect::unix_connect;
pub use crate::connect::{connect, connect_pair, connect_pair_with, connect_with};
pub use crate::transport::local_peer_config;

use crate::async_result::AsyncResult;
use crate::error::{Error, Result};
use crate::netref::NetRef;
use crate::object::LocalObject;
use crate::observe::{CallObs, StatsHandle};
use crate::service::{Service, ServiceRoot};
use crate::sync_calls::SyncCalls;
use crate::table::ObjectTable;
use crate::transport::{BoxWriter, PlainWriter, TcpWriter};
use budget::OutputBudget;
use in_flight::InFlight;
use outbox::Outbox;
use proxies::ProxyCache;
use reader::{deadline_task, reader_task, writer_task};
use state::SendMode;

/// The payload `conn.ping()` sends by default (as Python does).
const PING_DEFAULT: &str = "abcdefghijklmnopqrstuvwxyz";

static NEXT_CONN_ID: AtomicU64 = AtomicU64::new(1);

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

/// Closes a [`Connection`] on demand without keeping it open ([`Connection::abort_handle`]).
#[derive(Debug, Clone)]
pub struct AbortHandle {
    inner: Weak<ConnInner>,
}

impl AbortHandle {
    /// Closes the connection with `reason`, as [`Connection::abort`]; nothing if it is gone.
    pub fn abort(&self, reason: &str) {
        if let Some(inner) = self.inner.upgrade() {
            inner.shutdown(reason);
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
        let config = crate::transport::tune_tcp(&stream, config);
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
        let root: Arc<dyn LocalObject> = Arc::new(ServiceRoot {
            service: service.clone(),
        });
        let id = NEXT_CONN_ID.fetch_add(1, Ordering::Relaxed);
        if config.connid.is_none() {
            config.connid = Some(format!("conn{id}"));
        }
        let cancel = CancellationToken::new();
        let sync_calls = SyncCalls::new(config.max_sync_calls);
        let budget = OutputBudget::new(config.max_queued_output, config.max_queued_output_total);
        let out = Outbox::new(writer, cancel.clone(), budget, config.write_timeout);
        // Disabled (and free) unless `rpyc` is traced at DEBUG.
        let span = crate::observe::connection_span(
            id,
            config.endpoints.as_ref().map_or("", |(_, p)| p.as_str()),
        );
        let inner = Arc::new(ConnInner {
            id,
            config,
            service,
            root,
            calls: InFlight::default(),
            table: ObjectTable::default(),
            proxies: ProxyCache::default(),
            out,
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
            on_close: Mutex::new(Vec::new()),
            started: std::time::Instant::now(),
            last_read_ms: AtomicU64::new(0),
            span,
            metrics: OnceLock::new(),
            read_buf: Arc::default(),
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

    /// How many complete frames the peer has sent (requests and replies). A server uses it to
    /// tell a connection that has never spoken (and so holds nothing) from one that has.
    pub fn frames_received(&self) -> u64 {
        self.inner.served.load(Ordering::Acquire)
    }

    /// Bytes of buffer capacity this connection holds for reading and writing: at most a small
    /// read buffer (2 KiB, for the next call's request) once it has nothing to read or send
    /// (larger buffers are allocated when data flows and dropped when it stops). For tests and
    /// memory accounting.
    #[doc(hidden)]
    pub fn buffer_capacity(&self) -> usize {
        self.inner.read_buf.load(Ordering::Relaxed) + self.inner.out.capacity()
    }

    /// A handle to look at this connection's state ([`StatsHandle::snapshot`]: objects,
    /// proxies, calls in flight, bytes queued, idle time) without keeping it open: what a
    /// server's status page holds for each connection.
    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// How many live proxies of remote objects this side holds.
    pub fn proxy_count(&self) -> usize {
        self.inner.proxies.live()
    }

    /// The peer's root object (`conn.root`): one HANDLE_GETROOT, cached while a reference to it
    /// is alive.
    pub async fn root(&self) -> Result<NetRef> {
        if self.is_closed() {
            return Err(self.inner.closed_error());
        }
        let cached = self.inner.remote_root.lock().clone();
        if let Some(id) = cached {
            if let Some(inner) = self.inner.proxies.get(&id) {
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
        let _armed = timeout.and_then(|t| self.inner.calls.arm(seq, t));
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
        let obs = CallObs::start(&self.inner, handler, &args);
        let mut keep = Vec::new();
        let boxed = match self.inner.box_value(Value::Tuple(args), &mut keep) {
            Ok(b) => b,
            Err(e) => {
                let err = Error::Encode(e.message());
                if let Some(obs) = obs {
                    obs.finish(Err(&err));
                }
                return (-1, AsyncResult::completed(Err(err)));
            }
        };
        let sent = self.inner.send_boxed_request(handler, &boxed, how, obs);
        drop(keep);
        sent
    }

    /// A token cancelled when the connection ends, for a task that must see the end without
    /// keeping the connection open (a clone of it is not a handle).
    pub(crate) fn end_token(&self) -> tokio_util::sync::CancellationToken {
        self.inner.cancel.clone()
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
            None,
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

    /// Blocks this thread (one running a synchronous call) while the peer is owed more than
    /// the output budget allows.
    pub(crate) fn wait_admitted_blocking(&self) {
        self.inner.wait_admitted_blocking();
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

    /// A handle that can close this connection later without keeping it open (a watcher
    /// that ends the connection when something outside it changes).
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// The reason the connection closed, once it has.
    pub fn close_reason(&self) -> Option<String> {
        self.inner.close_reason.get().cloned()
    }

    /// A future that resolves with the reason once the connection ends (at once if it has).
    ///
    /// It holds no handle: waiting on it never keeps the connection open, so it may be
    /// spawned or stored while the connection lives on without it.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let (client, server) = rpyc::connect_pair().await;
    /// let ended = tokio::spawn(client.closed());
    /// server.abort("maintenance");
    /// assert_eq!(ended.await.unwrap(), "the peer closed the connection");
    /// # });
    /// ```
    pub fn closed(&self) -> impl std::future::Future<Output = String> + Send + 'static {
        let inner = self.inner.clone();
        async move {
            inner.cancel.cancelled().await;
            inner.close_reason.get().cloned().unwrap_or_default()
        }
    }

    /// Runs `hook` with the reason once the connection ends — at once (on this thread) if it
    /// already has. Every hook runs exactly once, on the thread that closes the connection,
    /// after pending calls have failed and the object tables are freed: keep it short and do
    /// not block in it (send on a channel, spawn a task). A panic in it is logged.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let (client, _server) = rpyc::connect_pair().await;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// client.on_close(move |reason| tx.send(reason.to_string()).unwrap());
    /// client.abort("done");
    /// assert_eq!(rx.recv().unwrap(), "done");
    /// # });
    /// ```
    pub fn on_close(&self, hook: impl FnOnce(&str) + Send + 'static) {
        self.inner.on_close(Box::new(hook));
    }

    /// Releases a proxy (called when the last clone of a `NetRef` drops): one DEL carrying every
    /// reference received, sent without waiting.
    pub(crate) fn release_proxy(&self, id: &IdPack, count: i64) {
        self.inner.proxies.forget_dead(id);
        if self.is_closed() {
            return;
        }
        let args = Boxed::Tuple(vec![
            Boxed::Local(id.clone()),
            Boxed::Value(Value::Int(count)),
        ]);
        // No reply is awaited (an rpyc-rs peer's is ignored), so no pending entry either.
        let seq = self.inner.calls.next_seq();
        let _ = self
            .inner
            .out
            .push(self.inner.config.compress, false, |buf| {
                Message::encode_request(seq, Handler::Del, &args, buf)
            });
    }
}
