//! [`ConnInner`], the state one connection's tasks and handles share, and the sending half of
//! the protocol: framing requests and replies into the outbox (with RPyC's traceback policy),
//! closing, and the call context handlers get.
//!
//! Handlers (`handlers/`) see the connection only through this set, the one surface they may
//! use: `config()`, `context()` (the call context), `unbox()` (`boxing.rs`),
//! `shutdown()`, the local object table (`table`) and the root object (`root`). Everything
//! else here is the connection's own.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rpyc_core::message::{Boxed, Handler, Message};
use rpyc_core::vinegar::ExceptionPayload;
use rpyc_core::{Config, EncodeError, IdPack, RemoteException, Value};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::in_flight::InFlight;
use super::outbox::Outbox;
use super::proxies::ProxyCache;
use super::{Connection, HandleGuard};
use crate::async_result::AsyncResult;
use crate::error::{Error, Result};
use crate::object::{CallContext, LocalObject};
use crate::observe::{CallObs, ConnectionStats};
use crate::service::Service;
use crate::sync_calls::SyncCalls;
use crate::table::ObjectTable;
/// How a request is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SendMode {
    /// The caller waits for the reply right away: write now (it has nothing to batch with).
    Now,
    /// Queued for the writer task, which runs once the caller yields (a burst of `async_`
    /// calls from one task is one write).
    Queue,
}

/// The state of one connection, shared by its tasks, its handles and every proxy it made.
pub(crate) struct ConnInner {
    /// This connection's number within the process (logs, `Connection::id`).
    pub(super) id: u64,
    /// The configuration it was made with: limits and the access policy.
    pub(super) config: Config,
    /// The service this side serves (its hooks run on connect and disconnect).
    pub(super) service: Arc<dyn Service>,
    /// The service's root object, pinned in `table` for the connection's life (GETROOT).
    pub(super) root: Arc<dyn LocalObject>,
    /// Our calls awaiting a reply: sequence numbers, waiters, deadlines.
    pub(super) calls: InFlight,
    /// Our objects the peer holds references to, by id, with their counts (DEL decrements).
    pub(super) table: ObjectTable,
    /// The peer's objects we hold proxies of, one proxy per id.
    pub(super) proxies: ProxyCache,
    /// The framed bytes waiting to be written, and who writes them (`outbox.rs`).
    pub(super) out: Outbox,
    /// Set once, when the connection closes: why.
    pub(super) close_reason: OnceLock<String>,
    /// Cancelled at shutdown: stops the reader, writer and deadline tasks.
    pub(super) cancel: CancellationToken,
    /// The guard shared by the user's handles: when the last handle drops, the connection
    /// closes. Weak, so the state never keeps the connection open by itself.
    pub(super) guard: OnceLock<Weak<HandleGuard>>,
    /// The id of the peer's root once fetched (its proxy lives in `proxies` while held).
    pub(super) remote_root: Mutex<Option<IdPack>>,
    /// How many requests the reader has taken in (what `serve` waits to grow).
    pub(super) served: AtomicU64,
    /// Wakes `serve` callers when `served` grows, and `serve_all` at shutdown.
    pub(super) served_notify: Notify,
    /// `serve` calls waiting on `served_notify` (the reader notifies only when there are).
    pub(super) serve_waiters: AtomicUsize,
    /// The peer's requests being handled now (`Connection::in_flight`).
    pub(super) in_flight: AtomicUsize,
    /// Notified when `in_flight` drops to zero (`Connection::wait_idle`).
    pub(super) idle: Notify,
    /// The synchronous calls of the peer: their slots and queue.
    pub(super) sync_calls: Arc<SyncCalls>,
    /// The hooks of `Connection::on_close`, taken (and run) once, at shutdown.
    pub(super) on_close: Mutex<Vec<CloseHook>>,
    /// When the connection started (`ConnectionStats::idle` counts from here).
    pub(super) started: Instant,
    /// The `rpyc.connection` span (when traced at its start): the parent of the peer's
    /// requests that no single waiting call of ours caused.
    pub(super) span: tracing::Span,
    /// Labels and metric handles of this connection's requests (made on first use, with the
    /// metrics on).
    pub(super) metrics: OnceLock<Arc<crate::observe::MetricsCache>>,
    /// When the peer last sent something: milliseconds after `started`, set once per read.
    pub(super) last_read_ms: AtomicU64,
}

/// A hook run once when the connection closes, with the reason.
pub(super) type CloseHook = Box<dyn FnOnce(&str) + Send>;

impl ConnInner {
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// The peer's address as the server saw it (`Config::endpoints`), or `""`.
    pub(crate) fn peer(&self) -> &str {
        self.config
            .endpoints
            .as_ref()
            .map_or("", |(_, p)| p.as_str())
    }

    /// [`Connection::id`].
    pub(crate) fn conn_id(&self) -> u64 {
        self.id
    }

    /// Our object the peer knows by `id`, if it holds it.
    pub(crate) fn local_object(&self, id: &IdPack) -> Option<Arc<dyn LocalObject>> {
        self.table.get(id)
    }

    /// The span of our most recent call still waiting (the cause of a request the peer
    /// sends meanwhile), when calls are traced.
    pub(crate) fn caller_span(&self) -> Option<tracing::Id> {
        self.calls.only_span()
    }

    /// This connection's metric labels and handles.
    pub(crate) fn metrics_cache(&self) -> &Arc<crate::observe::MetricsCache> {
        self.metrics.get_or_init(Default::default)
    }

    /// The connection's `rpyc.connection` span (disabled unless traced when it started).
    pub(crate) fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Notes that the peer sent something (once per read, not per frame).
    pub(super) fn note_read(&self) {
        let ms = self.started.elapsed().as_millis() as u64;
        self.last_read_ms.store(ms, Ordering::Relaxed);
    }

    /// The connection's state now (`StatsHandle::snapshot`).
    pub(crate) fn stats(&self) -> ConnectionStats {
        let last = Duration::from_millis(self.last_read_ms.load(Ordering::Relaxed));
        ConnectionStats {
            id: self.id,
            peer: self.peer().to_string(),
            objects: self.table.len(),
            proxies: self.proxies.live(),
            in_flight: self.in_flight.load(Ordering::Acquire),
            waiting: self.calls.waiting(),
            queued_bytes: self.out.owed(),
            frames_received: self.served.load(Ordering::Acquire),
            idle: self.started.elapsed().saturating_sub(last),
        }
    }

    pub(super) fn connection(self: &Arc<Self>) -> Option<Connection> {
        let guard = self.guard.get()?.upgrade()?;
        Some(Connection {
            inner: self.clone(),
            _guard: guard,
        })
    }

    /// Frames one message into the write queue.
    pub(super) fn send_frame(
        &self,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        self.out.push(self.config.compress, false, encode)
    }

    pub(super) fn send_boxed_request(
        &self,
        handler: Handler,
        args: &Boxed,
        how: SendMode,
        obs: Option<Box<CallObs>>,
    ) -> (i64, AsyncResult) {
        if self.is_closed() {
            let err = self.closed_error();
            if let Some(obs) = obs {
                obs.finish(Err(&err));
            }
            return (-1, AsyncResult::completed(Err(err)));
        }
        let (seq, res) = self.calls.start(obs);
        // The connection may have closed after the check above: never leave a waiter behind.
        if self.is_closed() {
            self.calls.fail(seq, self.closed_error());
            return (seq, res);
        }
        let sent = self
            .out
            .push(self.config.compress, how == SendMode::Now, |buf| {
                Message::encode_request(seq, handler, args, buf)
            });
        if let Err(e) = sent {
            self.calls.fail(seq, e.into());
        }
        (seq, res)
    }

    pub(super) fn send_reply(
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

    /// What a call started after the close fails with: the connection is gone, which one, why.
    /// (Calls pending at the close fail with the bare reason, see `InFlight::end`.)
    pub(super) fn closed_error(&self) -> Error {
        let reason = self.close_reason.get().map_or("closed", String::as_str);
        let name = self.config.connid.as_deref().unwrap_or("?");
        Error::ConnectionClosed(format!("connection {name} is gone ({reason})"))
    }

    /// Runs `hook` once the connection closes (at once if it has).
    pub(super) fn on_close(&self, hook: CloseHook) {
        let mut hooks = self.on_close.lock();
        match self.close_reason.get() {
            Some(reason) => {
                drop(hooks);
                run_hook(hook, reason);
            }
            None => hooks.push(hook),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.close_reason.get().is_some()
    }

    /// Marks the connection closed and releases everything. Idempotent.
    pub(crate) fn shutdown(self: &Arc<Self>, reason: &str) {
        if self.close_reason.set(reason.to_string()).is_err() {
            return;
        }
        tracing::debug!(conn = self.id, reason, "connection closed");
        self.calls.end(reason);
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
        let hooks = std::mem::take(&mut *self.on_close.lock());
        for hook in hooks {
            run_hook(hook, reason);
        }
    }

    /// Blocks this thread (a blocking-pool thread running a synchronous call) while the
    /// connection or the process owes more than its output budget.
    pub(crate) fn wait_admitted_blocking(&self) {
        if self.out.over_budget() {
            tokio::runtime::Handle::current().block_on(self.out.wait_drained());
        }
    }

    /// The context handed to a handler: fails with `EOFError` once the last handle is gone.
    pub(crate) fn context(self: &Arc<Self>) -> std::result::Result<CallContext, RemoteException> {
        self.connection()
            .map(CallContext::new)
            .ok_or_else(|| RemoteException::eof_error("connection is closing"))
    }
}

/// Runs a close hook; a panic in it is logged, never propagated into the shutdown.
fn run_hook(hook: CloseHook, reason: &str) {
    let run = std::panic::AssertUnwindSafe(|| hook(reason));
    if let Err(p) = std::panic::catch_unwind(run) {
        let exc = super::panic_exception(p.as_ref());
        tracing::warn!(error = %exc, "an on_close hook panicked");
    }
}

impl AsRef<Outbox> for ConnInner {
    fn as_ref(&self) -> &Outbox {
        &self.out
    }
}
