//! The reader: frames in arrival order. Replies complete the waiting call; requests have their
//! references resolved right here, in order (so a DEL never overtakes an earlier use of the same
//! object), then run on their own task, a panic becoming an exception for the caller. Also the
//! connection's other two tasks: the writer and the deadline sweeper.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use rpyc_core::frame::{FrameCodec, HEADER_LEN};
use rpyc_core::message::{Boxed, Message, Request};
use rpyc_core::{RemoteException, Value};
use tokio::io::AsyncRead;

use super::decode::Incoming;
use super::frame_reader::FrameReader;
use super::outbox::Produce;
use super::partial_ack::PartialAck;
use super::watchdog::{Seen, TickTimer, Watchdog};
use super::{handlers, ConnInner};
use crate::error::Error;
use crate::object::{BoxFuture, CallResult};
use crate::observe::{self, RequestObs};
use crate::sync_calls::SyncCalls;
use tracing::Instrument;
/// A frame's bytes on the wire beyond its payload: the header and the flusher.
const FRAME_OVERHEAD: usize = HEADER_LEN + 1;

impl ConnInner {
    /// Handles one decoded frame (`decode.rs`); `Ok(true)` if it completed one of our calls
    /// (woke its caller), `Err` closes the connection.
    pub(super) fn handle_frame(
        self: &Arc<Self>,
        incoming: Incoming,
    ) -> std::result::Result<bool, String> {
        let Incoming::Message(msg) = incoming else {
            return Ok(self.settle(incoming));
        };
        match msg {
            Message::Reply { seq, value } => {
                // Unboxed even when no call waits (it timed out): the references it carries get
                // proxies, which are dropped at once and released (DEL).
                let value = self.unbox(value).map_err(Error::Remote);
                let completed = self.calls.complete(seq, || value);
                if !completed {
                    tracing::debug!(conn = self.id, seq, "reply to an unknown request ignored");
                }
                Ok(completed)
            }
            Message::Exception { seq, payload } => Ok(self
                .calls
                .complete(seq, || Err(Error::Remote(payload.into_exception())))),
            Message::Request { seq, handler, args } => {
                self.dispatch_request(seq, handler, args);
                Ok(false)
            }
        }
    }

    pub(super) fn dispatch_request(self: &Arc<Self>, seq: i64, handler: i64, args: Boxed) {
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
        // Its span and metrics, when either is on (nothing is computed otherwise).
        let obs = RequestObs::start(self, seq, &req);
        // Cheap handlers run inline, in order; the rest resolve their references here (in
        // order) and run on their own task.
        // A panic in a handler becomes an exception for that caller; the reader lives on.
        let prepared = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _entered = obs.as_ref().map(|o| o.span().enter());
            handlers::prepare(self, req)
        })) {
            Ok(p) => p,
            Err(p) => {
                let result = Err(panic_exception(p.as_ref()));
                finish(obs, &result);
                return self.send_reply(seq, result, "dispatch");
            }
        };
        match prepared {
            handlers::Prepared::Done(result, h) => {
                finish(obs, &result);
                self.send_reply(seq, result, h.name())
            }
            handlers::Prepared::NoReply => {}
            handlers::Prepared::Unsupported => {
                let err = Err(RemoteException::not_implemented_error(
                    "unsupported request",
                ));
                finish(obs, &err);
                self.send_reply(seq, err, "dispatch");
            }
            handlers::Prepared::Spawn(_, ctx)
                if self.in_flight.load(Ordering::Acquire)
                    >= self.config.max_concurrent_requests =>
            {
                let msg = format!(
                    "too many concurrent requests on this connection (limit {})",
                    self.config.max_concurrent_requests
                );
                let err = Err(RemoteException::runtime_error(msg));
                finish(obs, &err);
                self.send_reply(seq, err, ctx.name());
            }
            handlers::Prepared::Spawn(job, ctx) => {
                // The handler is tried right here first (inside the request's span when it is
                // traced): most answer at once (an inline method, a callback's closure), and
                // their reply is queued with no task, no hop and no wake-up. One that has to
                // wait (an async method awaiting the peer, a synchronous method, put off by
                // `run_blocking`) goes on to its task.
                let attempt = {
                    let _entered = obs.as_ref().map(|o| o.span().enter());
                    try_in_place(job)
                };
                let work = match attempt {
                    Ok(result) => {
                        finish(obs, &result);
                        return self.send_reply(seq, result, ctx.name());
                    }
                    Err(fut) => fut,
                };
                let inner = self.clone();
                self.in_flight.fetch_add(1, Ordering::AcqRel);
                // Its place among the synchronous calls, taken in arrival order.
                let place = self.sync_calls.reserve();
                // Counted as a producer from now on, so the reader leaves the write to it.
                self.out.enter(false);
                tokio::spawn(Produce::entered(self.clone(), async move {
                    // Admission again at the start: requests read in one burst do not all
                    // start while the first ones' replies already fill the budget.
                    if inner.out.over_budget() {
                        inner.out.wait_drained().await;
                    }
                    let result = match &obs {
                        None => run_work(work, &inner.sync_calls, place).await,
                        // The handler runs in the request's span: the calls it makes back to
                        // the peer (callbacks) are its children.
                        Some(o) => {
                            run_work(work, &inner.sync_calls, place)
                                .instrument(o.span().clone())
                                .await
                        }
                    };
                    finish(obs, &result);
                    inner.send_reply(seq, result, ctx.name());
                    if inner.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
                        inner.idle.notify_waiters();
                    }
                }));
            }
        }
    }
}

/// Ends a request's observation, if it has one.
fn finish(obs: Option<RequestObs>, result: &std::result::Result<Value, RemoteException>) {
    if let Some(o) = obs {
        o.finish(result);
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

/// Starts a handler job on the reader and polls it once (a panic becomes an exception):
/// its result if that finished it, else its future, for the request's task. A synchronous
/// call it submits is put off until then (`run_blocking` sees `trying_in_place`).
fn try_in_place(job: handlers::Job) -> std::result::Result<CallResult, BoxFuture<CallResult>> {
    let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crate::sync_calls::trying_in_place(|| {
            let mut fut = job();
            // No waker is kept: a future left pending is polled again at once by its task.
            let mut cx = Context::from_waker(Waker::noop());
            match fut.as_mut().poll(&mut cx) {
                Poll::Ready(r) => Ok(r),
                Poll::Pending => Err(fut),
            }
        })
    }));
    attempt.unwrap_or_else(|p| Ok(Err(panic_exception(p.as_ref()))))
}

/// Runs a handler's future, started in place, to its end, turning a panic into an exception.
/// A synchronous method it put off takes the request's `place` among the connection's
/// synchronous calls at its first poll here.
async fn run_work(
    mut fut: BoxFuture<CallResult>,
    sync_calls: &Arc<SyncCalls>,
    place: u64,
) -> CallResult {
    use futures_util::FutureExt;
    // The first poll runs under the request's place: a call put off in place submits there.
    let mut first = true;
    let polled = std::future::poll_fn(|cx| {
        if std::mem::take(&mut first) {
            sync_calls.starting(place, || fut.as_mut().poll(cx))
        } else {
            fut.as_mut().poll(cx)
        }
    });
    match std::panic::AssertUnwindSafe(polled).catch_unwind().await {
        Ok(r) => r,
        Err(p) => Err(panic_exception(p.as_ref())),
    }
}

pub(super) async fn reader_task<R: AsyncRead + Send + 'static>(inner: Arc<ConnInner>, reader: R) {
    let mut frames = FrameReader::new(
        Box::pin(reader),
        FrameCodec::new(inner.config.frame_limits),
        inner.read_buf.clone(),
    );
    // Acknowledges at once when a large frame stalls midway (a peer with Nagle on holds back
    // its last bytes until then).
    let mut partial_ack = PartialAck::default();
    let mut watchdog = Watchdog::new(&inner.config);
    let mut timer = TickTimer::new(&watchdog);
    let read = frames.counter();
    // The reader is a producer while it handles the frames of one read: the replies it queues
    // (and those of the tasks it starts) go out together when the last of them stops.
    let mut producing = false;
    let mut woke = false;
    let reason = loop {
        // Admission: while the peer is owed more than the output budget, no frame is taken in
        // (and so no request starts) until it reads. Our own clock stops meanwhile.
        if inner.out.over_budget() {
            if std::mem::take(&mut producing) {
                inner.out.exit(false);
            }
            inner.out.wait_drained().await;
            watchdog.restart();
        }
        let in_progress = frames.lacking().is_some();
        timer.waiting(in_progress);
        let read_then = read.load(std::sync::atomic::Ordering::Relaxed);
        let watched = timer.enabled();
        let next = tokio::select! {
            _ = inner.cancel.cancelled() => break None,
            f = partial_ack.next(&mut frames, &inner.out) => f,
            _ = timer.tick(&read, read_then), if watched => {
                let seen = Seen {
                    read: frames.read(),
                    lacking: frames.lacking(),
                    busy: inner.busy(),
                };
                match watchdog.tick(seen) {
                    Ok(true) => inner.send_ping(),
                    Ok(false) => {}
                    Err(reason) => break Some(reason),
                }
                timer.rearm();
                continue;
            }
        };
        match next {
            None => break Some(inner.peer_finished().await),
            Some(Err(e)) => break Some(format!("read failed: {e}")),
            Some(Ok(frame)) => {
                observe::frame(true, frame.data.len() + FRAME_OVERHEAD, frame.compressed);
                // A large frame decodes off the runtime's workers: the replies queued so far go
                // out while it waits (see `decode.rs`).
                let stop = || {
                    if std::mem::take(&mut producing) {
                        inner.out.exit(true);
                    }
                };
                // A small frame decodes right here; a large one waits its turn off the workers
                // (and for the connection's close).
                let incoming = match inner.decode_small(frame) {
                    Ok(decoded) => decoded,
                    Err(large) => tokio::select! {
                        d = inner.decode_large(large, stop) => d,
                        _ = inner.cancel.cancelled() => break None,
                    },
                };
                if !producing {
                    inner.out.enter(true);
                    producing = true;
                }
                // Counted before dispatch: whoever receives this message sees it counted.
                inner.served.fetch_add(1, Ordering::SeqCst);
                let r = {
                    let _scope = inner.out.scope();
                    incoming.and_then(|i| inner.handle_frame(i))
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
                if frames.has_frame() {
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
                inner.note_read();
                // Nothing came of this read (answers to our DELs, say) and nothing else is
                // going on: acknowledge it now rather than after the delayed-ACK timer.
                inner.out.exit(!woke_caller);
            }
        }
    };
    if producing {
        inner.out.exit(false);
    }
    if let Some(reason) = reason {
        inner.shutdown(&reason);
    }
}

impl ConnInner {
    /// Whether anything is going on: requests of the peer running, calls of ours waiting for
    /// a reply, or output owed.
    fn busy(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) > 0
            || self.calls.waiting() > 0
            || self.out.owed() > 0
    }

    /// Pings the peer for the watchdog (`Config::ping_interval`): a PING no caller waits for
    /// (its reply is ignored; any byte from the peer is the answer), so it keeps nothing
    /// pending and is no activity for the idle deadline.
    fn send_ping(&self) {
        let seq = self.calls.next_seq();
        let args = Boxed::Tuple(vec![Boxed::Value(Value::Str("rpyc-rs ping".into()))]);
        let _ = self.out.push(self.config.compress, false, |buf| {
            Message::encode_request(seq, rpyc_core::message::Handler::Ping, &args, buf)
        });
    }

    /// The peer has stopped sending (EOF; it may still read, as after a half-close). Our calls
    /// to it fail at once (no reply can come); the requests it sent get `Config::eof_grace` to
    /// finish, and their replies are written before the connection closes, as Python's server
    /// answers what it has read. Returns the reason to close with.
    async fn peer_finished(&self) -> String {
        const REASON: &str = "the peer closed the connection";
        self.calls.end(REASON);
        let grace = tokio::time::sleep(self.config.eof_grace);
        tokio::pin!(grace);
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.in_flight.load(Ordering::Acquire) == 0 {
                break;
            }
            tokio::select! {
                _ = idle => {}
                _ = &mut grace => return format!("{REASON} (requests still running after {} s)", self.config.eof_grace.as_secs_f64()),
                _ = self.cancel.cancelled() => return REASON.into(),
            }
        }
        // Everything owed goes out (a peer that takes nothing is cut by the write timeout).
        while self.out.owed() > 0 && !self.cancel.is_cancelled() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        REASON.into()
    }
}

pub(super) async fn deadline_task(inner: Arc<ConnInner>) {
    inner.calls.expire(&inner.cancel).await;
}

pub(super) async fn writer_task(inner: Arc<ConnInner>) {
    if let Err(e) = inner.out.run_writer().await {
        inner.shutdown(&format!("write failed: {e}"));
    }
}
