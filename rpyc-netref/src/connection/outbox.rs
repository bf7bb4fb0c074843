//! The outgoing side of a connection: one buffer that every sender frames into, and the rule
//! for who writes it to the stream and when.
//!
//! The code that produces frames for a connection — its reader (inline replies, DEL answers)
//! and the tasks running the peer's requests — is tracked as *producers*. While a producer
//! runs, its frames are only queued. The producer that stops last (finishes, or waits on
//! something) writes everything queued **itself**, in one syscall, when no write is in flight:
//! no hop to the writer task, no wake-up of another thread, and the replies to a batch of
//! pipelined requests still go out together. Frames from anywhere else (a user's task calling
//! the peer, a `NetRef` dropped by the user) wake the writer task, which runs after the sender
//! yields, so a burst of calls from one task is one write as well.
//!
//! The writer task finishes what a direct write could not (a full socket buffer: the direct
//! write never waits) and is the fallback whenever producers overlap: if one producer keeps
//! running, the others' frames are written by the writer task after it has let the other
//! ready tasks on its thread run once (a slow handler never holds back other replies).

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use parking_lot::{Mutex, MutexGuard};
use rpyc_core::frame::{splice, FrameBuilder};
use rpyc_core::EncodeError;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::budget::OutputBudget;

pub(crate) use crate::transport::BoxWriter;
use batch::Batch;

mod batch;

/// Batches at or above this size count as large (their buffer is kept for the next one).
const LARGE_BATCH: usize = 1 << 16;

/// After this many small batches in a row, a large buffer kept for the next large batch is
/// given back.
const LARGE_RUN: u32 = 64;

/// A queue buffer's first size: what most batches of small frames need, allocated when the
/// first frame is queued (an idle connection holds no buffer).
const FIRST_BUF: usize = 1024;

struct State {
    /// Frames queued and not yet taken for writing.
    buf: Batch,
    /// An empty buffer to swap in when `buf` is taken.
    spare: Vec<u8>,
    /// The stream, when nobody is writing to it.
    io: Option<BoxWriter>,
    /// Producers running right now.
    active: usize,
    /// Consecutive small batches (a large buffer is given back after [`LARGE_RUN`] of them).
    small_batches: u32,
    /// A direct write wrote everything but its flush would have waited (TLS): the writer task
    /// finishes it.
    unflushed: bool,
    /// Data was read and neither a write nor an ACK has gone out since.
    unacked: bool,
}

impl State {
    /// Takes the stream and the queue for writing, leaving an empty buffer to queue into.
    fn take(&mut self) -> Option<(BoxWriter, Batch)> {
        let io = self.io.take()?;
        let fresh = std::mem::take(&mut self.spare);
        self.unflushed = false;
        // What we write carries the ACK.
        self.unacked = false;
        let bytes = std::mem::replace(&mut self.buf.bytes, fresh);
        let splices = std::mem::take(&mut self.buf.splices);
        Some((io, Batch { bytes, splices }))
    }

    /// Whether the writer task has something to do with the stream.
    fn pending_write(&self) -> bool {
        self.io.is_some() && (!self.buf.is_empty() || self.unflushed)
    }
}

/// The outgoing queue of one connection.
pub(crate) struct Outbox {
    state: Mutex<State>,
    /// Wakes the writer task.
    ready: Notify,
    /// What the peer is owed: charged per frame queued, paid per byte written.
    budget: OutputBudget,
    /// Closes a peer that takes no byte of what it is owed for this long.
    write_timeout: Option<Duration>,
    /// Cancelled when the connection closes: the writer flushes what is queued (for at most
    /// [`CLOSE_FLUSH`]), shuts the stream down and stops.
    closing: CancellationToken,
}

/// How long a closing connection may take to write what it still has queued.
const CLOSE_FLUSH: Duration = Duration::from_secs(2);

thread_local! {
    /// The outbox whose producer is running on this thread (its address), or 0.
    static PRODUCING: Cell<usize> = const { Cell::new(0) };
}

impl Outbox {
    /// An outbox writing to `io` under `budget`, closing when `closing` is cancelled; a peer
    /// that takes nothing for `write_timeout` fails the writer.
    pub(crate) fn new(
        io: BoxWriter,
        closing: CancellationToken,
        budget: OutputBudget,
        write_timeout: Option<Duration>,
    ) -> Outbox {
        Outbox {
            state: Mutex::new(State {
                buf: Batch::default(),
                spare: Vec::new(),
                io: Some(io),
                active: 0,
                small_batches: LARGE_RUN,
                unflushed: false,
                unacked: false,
            }),
            ready: Notify::new(),
            budget,
            write_timeout,
            closing,
        }
    }

    /// Wakes the writer task after `closing` was cancelled (waiters for the budget watch
    /// `closing` themselves).
    pub(crate) fn close(&self) {
        self.ready.notify_one();
    }

    fn is_closing(&self) -> bool {
        self.closing.is_cancelled()
    }

    fn key(&self) -> usize {
        self as *const Outbox as usize
    }

    /// Frames one message into the queue. With `now`, the caller is about to wait for the
    /// answer: the queue is written at once (if no write is in flight) instead of by the
    /// writer task after the caller yields.
    pub(crate) fn push(
        &self,
        compress: bool,
        now: bool,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        let mut st = self.state.lock();
        let (framed, compressed) = {
            let buf = &mut st.buf;
            if buf.bytes.capacity() == 0 {
                buf.bytes.reserve(FIRST_BUF);
            }
            let before = buf.bytes.len();
            let mut fb = FrameBuilder::begin(&mut buf.bytes);
            // Large `bytes` values are left out of the buffer and written from where they are.
            let (encoded, mut splices) = splice::collect(|| encode(fb.payload()));
            if let Err(e) = encoded {
                fb.abort();
                return Err(e);
            }
            fb.finish_spliced(compress, &mut splices)?;
            let spliced: usize = splices.iter().map(|s| s.bytes.len()).sum();
            buf.splices.append(&mut splices);
            // The header's flag byte says whether it was compressed.
            (
                buf.bytes.len() - before + spliced,
                buf.bytes.get(before + 4) == Some(&1),
            )
        };
        self.budget.charge(framed);
        crate::observe::frame(false, framed, compressed);
        if now && st.io.is_some() {
            // Even inside a producer: the request goes out before the caller arms its timeout.
            self.write_now(st);
        } else if PRODUCING.with(Cell::get) == self.key() {
            // A producer writes (or hands over) when it stops.
        } else {
            // Whoever holds the stream writes this too when done; else the writer task does.
            let idle = st.io.is_some();
            drop(st);
            if idle {
                self.ready.notify_one();
            }
        }
        Ok(())
    }

    /// The capacity of the queue's buffers (0 when the connection has nothing to send).
    pub(crate) fn capacity(&self) -> usize {
        let st = self.state.lock();
        st.buf.bytes.capacity() + st.spare.capacity()
    }

    /// Bytes queued and not yet taken for writing.
    pub(crate) fn queued(&self) -> usize {
        self.state.lock().buf.len()
    }

    /// Bytes owed to the peer: queued, or taken for a write the peer has not accepted yet.
    pub(crate) fn owed(&self) -> usize {
        self.budget.owed()
    }

    /// Whether this connection (or the process) owes more than its output budget.
    pub(crate) fn over_budget(&self) -> bool {
        self.budget.over()
    }

    /// Waits while this connection or the process owes more than its budget (the peer is not
    /// reading what it is owed), or until the connection closes.
    pub(crate) async fn wait_drained(&self) {
        self.budget.admit(&self.closing).await;
    }

    /// A producer starts running; `read` if it starts because data was read (the reader).
    pub(crate) fn enter(&self, read: bool) {
        let mut st = self.state.lock();
        st.active += 1;
        st.unacked |= read;
    }

    /// A producer stops running: the last one writes what is queued. If that leaves the
    /// connection idle with nothing to send and `ack` is set, what was read is acknowledged at
    /// once (no reply will carry the ACK soon; a peer with Nagle's algorithm on would otherwise
    /// wait for our delayed ACK before sending more).
    pub(crate) fn exit(&self, ack: bool) {
        let mut st = self.state.lock();
        st.active = st.active.saturating_sub(1);
        if st.active > 0 {
            if !st.buf.is_empty() {
                drop(st);
                self.ready.notify_one();
            }
        } else if !st.buf.is_empty() {
            if st.io.is_some() {
                self.write_now(st);
            } else {
                drop(st);
                self.ready.notify_one();
            }
        } else if ack && st.unacked {
            if let Some(io) = &st.io {
                io.ack_now();
                st.unacked = false;
            }
        }
    }

    /// Acknowledges what was read at once, unless a write is in flight (it carries the ACK):
    /// the reader ran dry in the middle of a frame (see `partial_ack.rs`).
    pub(crate) fn ack_now(&self) {
        if let Some(io) = &self.state.lock().io {
            io.ack_now();
        }
    }

    /// A producer is dropped without having stopped (its task was cancelled).
    fn exit_quietly(&self) {
        let mut st = self.state.lock();
        st.active = st.active.saturating_sub(1);
        let wake = !st.buf.is_empty();
        drop(st);
        if wake {
            self.ready.notify_one();
        }
    }

    /// Marks this thread as running a producer of this outbox until the guard drops.
    pub(crate) fn scope(&self) -> ProducerScope {
        ProducerScope {
            prev: PRODUCING.with(|p| p.replace(self.key())),
        }
    }

    /// Writes the queue without waiting: what the stream does not take now (or a flush that
    /// would wait) is handed to the writer task, ahead of anything queued meanwhile.
    fn write_now(&self, mut st: MutexGuard<'_, State>) {
        let Some((mut io, mut local)) = st.take() else {
            return;
        };
        drop(st);
        let mut cx = Context::from_waker(Waker::noop());
        let mut off = 0;
        let mut done = true;
        let total = local.len();
        while off < total {
            match local.poll_write(io.as_mut(), &mut cx, off) {
                Poll::Ready(Ok(n)) if n > 0 => off += n,
                // Pending, an error or a zero write: the writer task retries with a real waker
                // (and meets the error itself if there is one).
                _ => {
                    done = false;
                    break;
                }
            }
        }
        self.budget.paid(off);
        let flushed = done && matches!(io.as_mut().poll_flush(&mut cx), Poll::Ready(Ok(())));
        let mut st = self.state.lock();
        if off < total {
            local.consume(off);
            local.append(&mut st.buf);
            std::mem::swap(&mut st.buf, &mut local);
        }
        st.unflushed = done && !flushed;
        let wake = !flushed || !st.buf.is_empty() || self.is_closing();
        Self::recycle(&mut st, local.bytes);
        st.io = Some(io);
        drop(st);
        if wake {
            self.ready.notify_one();
        }
    }

    /// Gives the stream back after a write, with the written buffer for reuse.
    fn give_back(&self, io: BoxWriter, written: Batch) {
        let mut st = self.state.lock();
        Self::recycle(&mut st, written.bytes);
        st.io = Some(io);
    }

    /// After a write from `used`: buffers are kept while large batches keep coming (a fresh
    /// 1 MiB allocation per batch costs page faults; spliced values do not count, they are not
    /// in the buffer); otherwise `used` is dropped, and so is the queue's buffer if nothing was
    /// queued meanwhile, so that a connection with nothing to send holds no buffer.
    fn recycle(st: &mut State, mut used: Vec<u8>) {
        let len = used.len();
        used.clear();
        st.small_batches = if len < LARGE_BATCH {
            st.small_batches.saturating_add(1)
        } else {
            0
        };
        if st.small_batches >= LARGE_RUN {
            st.spare = Vec::new();
            if st.buf.is_empty() {
                st.buf = Batch::default();
            }
        } else if used.capacity() > st.spare.capacity() {
            st.spare = used;
        }
    }

    /// The writer task's loop: writes what producers left to it until the connection closes
    /// and the queue is empty, then shuts the stream down. Fails if a write fails.
    pub(crate) async fn run_writer(&self) -> io::Result<()> {
        use tokio::io::AsyncWriteExt;
        let mut io = loop {
            let job = {
                let mut st = self.state.lock();
                if st.pending_write() {
                    st.take().map(Ok)
                } else if self.is_closing() && st.io.is_some() {
                    // Closed and everything queued is out: stop, under the same lock.
                    st.io.take().map(Err)
                } else {
                    // Nothing to write, or a direct write is in flight (it wakes us when done
                    // if anything is left, or if the connection is closing).
                    None
                }
            };
            let (mut io, local) = match job {
                Some(Ok(batch)) => batch,
                Some(Err(io)) => break io,
                None => {
                    self.ready.notified().await;
                    // Let the producers that are ready on this thread finish first: their
                    // frames then go out in this same write.
                    if self.state.lock().active > 0 && !self.is_closing() {
                        tokio::task::yield_now().await;
                    }
                    continue;
                }
            };
            let r = {
                let write = self.write_all(&mut io, &local);
                tokio::pin!(write);
                // Once the connection closes, never hang on a peer that stopped reading.
                tokio::select! {
                    r = &mut write => r,
                    _ = self.closing.cancelled() => {
                        tokio::time::timeout(CLOSE_FLUSH, &mut write).await.unwrap_or(Ok(()))
                    }
                }
            };
            self.give_back(io, local);
            r?;
        };
        let _ = tokio::time::timeout(CLOSE_FLUSH, io.shutdown()).await;
        Ok(())
    }
}

impl Outbox {
    /// Writes `data` whole, paying the budget as the peer takes it; fails if the peer takes no
    /// byte for the write timeout while it is owed some.
    async fn write_all(&self, io: &mut BoxWriter, data: &Batch) -> io::Result<()> {
        use tokio::io::AsyncWriteExt;
        let mut off = 0;
        let total = data.len();
        while off < total {
            let step = std::future::poll_fn(|cx| data.poll_write(io.as_mut(), cx, off));
            let n = self.stall_guard(step).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.budget.paid(n);
            off += n;
        }
        self.stall_guard(io.flush()).await
    }

    /// Runs one write step; if it cannot finish at once, under the write timeout (a timer is
    /// armed only then, so a socket that takes the bytes costs none).
    async fn stall_guard<T>(&self, step: impl Future<Output = io::Result<T>>) -> io::Result<T> {
        tokio::pin!(step);
        if let Poll::Ready(r) = futures_util::poll!(step.as_mut()) {
            return r;
        }
        let Some(limit) = self.write_timeout else {
            return step.await;
        };
        tokio::time::timeout(limit, step).await.unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the peer took no bytes for {} s while owed {} bytes",
                    limit.as_secs_f64(),
                    self.owed()
                ),
            ))
        })
    }
}

/// Restores the thread's previous producer mark when dropped.
pub(crate) struct ProducerScope {
    prev: usize,
}

impl Drop for ProducerScope {
    fn drop(&mut self) {
        PRODUCING.with(|p| p.set(self.prev));
    }
}

/// A future run as a producer of its owner's outbox: counted while it runs, and the queue is
/// written (or handed over) each time it stops.
pub(crate) struct Produce<F, O: AsRef<Outbox>> {
    fut: Pin<Box<F>>,
    owner: Arc<O>,
    running: bool,
}

impl<F: Future, O: AsRef<Outbox>> Produce<F, O> {
    /// Wraps `fut`, already counted as running (the spawner called [`Outbox::enter`], so the
    /// count covers the time until the task first runs).
    pub(crate) fn entered(owner: Arc<O>, fut: F) -> Self {
        Produce {
            fut: Box::pin(fut),
            owner,
            running: true,
        }
    }
}

impl<F: Future, O: AsRef<Outbox>> Future for Produce<F, O> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let Produce {
            fut,
            owner,
            running,
        } = &mut *self;
        let ob = (**owner).as_ref();
        if !*running {
            ob.enter(false);
            *running = true;
        }
        let r = {
            let _scope = ob.scope();
            fut.as_mut().poll(cx)
        };
        *running = false;
        // A request waiting on something (a timer, a callback) with nothing to send: ACK.
        ob.exit(r.is_pending());
        r
    }
}

impl<F, O: AsRef<Outbox>> Drop for Produce<F, O> {
    fn drop(&mut self) {
        if self.running {
            (*self.owner).as_ref().exit_quietly();
        }
    }
}

#[cfg(test)]
mod tests;
