//! [`RemoteStream`]: a peer's iterable read lazily, in growing chunks, as a
//! [`futures_util::Stream`] — RPyC's `rpyc.buffiter` for Rust.
//!
//! [`NetRef::collect`] and [`NetRef::fetch`] read a whole container at once; a stream reads a
//! peer's iterable (a Python generator of a million items, a Rust service's
//! [`LazyIter`](crate::LazyIter)) only as fast as it is consumed, holding at most two chunks:
//!
//! * `iter(obj)` once (a `__iter__` call, as [`crate::fetch`] does: RPyC has no handler of its
//!   own for it), then HANDLE_BUFFITER requests for the next items of that iterator;
//! * the chunk starts at [`FIRST_CHUNK`] items and doubles ([`CHUNK_FACTOR`]) up to
//!   [`Config::stream_max_chunk`] (default 1000, the `max_chunk` of Python's
//!   `buffiter(obj, chunk=10, max_chunk=1000, factor=2)`): a few round trips for a short
//!   iteration, one per `stream_max_chunk` items for a long one;
//! * the chunk never exceeds [`MAX_BUFFITER_ITEMS`] (what an rpyc-rs peer answers to one
//!   BUFFITER at most), nor the count of items, of the size the last chunk's items had on the
//!   wire, that fill a sixteenth of the largest frame this side accepts
//!   ([`Config::frame_limits`]): a stream of large items keeps its replies well below the
//!   limits of the frames that carry them;
//! * while the consumer works through one chunk the next is already asked for (one request in
//!   flight at most), so the round trip overlaps the consumer's work;
//! * a chunk shorter than asked is the last; an error (the remote iterator raised, the
//!   connection closed, a timeout) is yielded once and ends the stream;
//! * every request has the timeout of the [`NetRef`] the stream was made from
//!   ([`NetRef::with_timeout`]; by default `Config::sync_request_timeout`);
//! * the remote iterator is released (HANDLE_DEL) as soon as the iteration ends, or when the
//!   stream is dropped half-way.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use rpyc::LazyIter;
//!
//! struct Numbers;
//!
//! #[rpyc::service]
//! impl Numbers {
//!     /// Returned by reference; computed only as the client reads.
//!     #[exposed]
//!     fn squares(&self, n: i64) -> LazyIter {
//!         LazyIter::new((0..n).map(|i| i * i))
//!     }
//! }
//!
//! let (client, _server) = rpyc::connect_pair_with(Numbers, rpyc::Config::default()).await;
//! let squares: rpyc::NetRef = client.root().await?.call_method("squares", (100_000,)).await?.extract()?;
//! let mut stream = squares.stream();
//! let mut total = 0i64;
//! while let Some(x) = stream.next().await {
//!     total += x?.extract::<i64>()?;
//! }
//! assert_eq!(total, (0..100_000i64).map(|i| i * i).sum::<i64>());
//! # Ok::<(), rpyc::Error>(())
//! # }).unwrap();
//! ```

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use futures_util::Stream;
use rpyc_core::{Config, FromValue, Value};

use crate::error::Result;
use crate::netref::NetRef;

/// The size of a stream's first chunk (Python's `buffiter` `chunk=10`).
pub const FIRST_CHUNK: usize = 10;

/// Each chunk asks for this many times the items of the previous one, up to the cap
/// (Python's `buffiter` `factor=2`).
pub const CHUNK_FACTOR: usize = 2;

/// The most items an rpyc-rs peer returns for one HANDLE_BUFFITER (a larger count is answered
/// with this many): the reply to one request stays a bounded frame. A stream never asks for
/// more, so that a short chunk always means the end.
pub const MAX_BUFFITER_ITEMS: usize = 1 << 20;

/// A chunk's items may fill at most this fraction (1/N) of the largest frame accepted.
const FRAME_SHARE: usize = 16;

/// What one BUFFITER request brings back: the iterator (for the next request), the items, and
/// how many were asked for.
type Chunk = Result<(NetRef, Vec<Value>, usize)>;

/// A peer's iterable, read lazily in growing chunks (see the [module docs](self)). Made by
/// [`NetRef::stream`]; a [`Stream`] of `Result<Value>`, also read with [`RemoteStream::next`]
/// without any stream trait in scope.
pub struct RemoteStream {
    /// What the next request reads: the iterable before the first request, then its remote
    /// iterator; `None` once no more items can come (the iterator is released).
    target: Option<NetRef>,
    /// True once `target` is the iterator (`iter(obj)` was called).
    iterating: bool,
    /// The chunk being handed out.
    buffer: std::vec::IntoIter<Value>,
    /// The request in flight.
    pending: Option<BoxFuture<'static, Chunk>>,
    /// A chunk that arrived while the previous one was still being handed out.
    fetched: Option<Chunk>,
    /// No request will be sent any more (the last chunk arrived, or an error).
    exhausted: bool,
    /// The item count of the next request.
    chunk: usize,
    /// The cap of `chunk`.
    max_chunk: usize,
    /// The wire bytes one chunk may fill (a share of the frame limit).
    max_chunk_bytes: usize,
    /// How many items of the size seen so far fit in `max_chunk_bytes`.
    fits: usize,
    /// BUFFITER requests sent so far.
    requests: usize,
}

impl std::fmt::Debug for RemoteStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteStream")
            .field("target", &self.target)
            .field("buffered", &self.buffer.len())
            .field("in_flight", &self.pending.is_some())
            .field("exhausted", &self.exhausted)
            .field("chunk", &self.chunk)
            .field("requests", &self.requests)
            .finish()
    }
}

impl RemoteStream {
    pub(crate) fn new(source: NetRef) -> RemoteStream {
        let config = source.connection().config();
        let max_chunk = config.stream_max_chunk.clamp(1, MAX_BUFFITER_ITEMS);
        RemoteStream {
            max_chunk_bytes: frame_share(config),
            fits: usize::MAX,
            target: Some(source),
            iterating: false,
            buffer: Vec::new().into_iter(),
            pending: None,
            fetched: None,
            exhausted: false,
            chunk: FIRST_CHUNK.min(max_chunk),
            max_chunk,
            requests: 0,
        }
    }

    /// The same stream with its chunks capped at `max_chunk` items instead of
    /// [`Config::stream_max_chunk`] (still at most [`MAX_BUFFITER_ITEMS`], at least 1). Call it
    /// before the first item is read.
    pub fn max_chunk(mut self, max_chunk: usize) -> RemoteStream {
        self.max_chunk = max_chunk.clamp(1, MAX_BUFFITER_ITEMS);
        self.chunk = self.chunk.min(self.max_chunk);
        self
    }

    /// The next item, `None` after the last (an error is yielded once, then `None`). The
    /// [`Stream`] implementation, without `StreamExt` in scope.
    pub async fn next(&mut self) -> Option<Result<Value>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// The next item converted to `T`; a conversion failure is yielded as an error and the
    /// stream goes on.
    pub async fn next_as<T: FromValue>(&mut self) -> Option<Result<T>> {
        Some(self.next().await?.and_then(|v| Ok(T::from_value(v)?)))
    }

    /// How many BUFFITER requests this stream has sent so far.
    pub fn requests(&self) -> usize {
        self.requests
    }

    /// How many items the next BUFFITER request will ask for.
    pub fn next_chunk(&self) -> usize {
        self.chunk
    }

    /// Sends the next request (the first also asks for the iterator). Called only while
    /// `target` is set.
    fn start(&mut self) {
        let Some(target) = self.target.clone() else {
            self.exhausted = true;
            return;
        };
        let count = self.chunk;
        self.chunk = count
            .saturating_mul(CHUNK_FACTOR)
            .min(self.max_chunk)
            .min(self.fits);
        self.requests += 1;
        let iterating = std::mem::replace(&mut self.iterating, true);
        self.pending = Some(Box::pin(async move {
            let it = if iterating {
                target
            } else {
                let it = NetRef::from_value(target.call_method("__iter__", ()).await?)?;
                target.with_timeout_of(it)
            };
            let items = it.buffiter(count).await?;
            Ok((it, items, count))
        }));
    }

    /// Polls the request in flight; its chunk is kept in `fetched`.
    fn poll_pending(&mut self, cx: &mut Context<'_>) {
        if let Some(p) = self.pending.as_mut() {
            if let Poll::Ready(chunk) = p.as_mut().poll(cx) {
                self.pending = None;
                self.fetched = Some(chunk);
            }
        }
    }

    /// Takes a chunk that arrived: its items become the buffer; a short one is the last.
    fn accept(&mut self, chunk: Chunk) -> Result<()> {
        match chunk {
            Ok((it, items, asked)) => {
                if items.len() < asked {
                    self.finish();
                } else {
                    self.target = Some(it);
                    let bytes: usize = items.iter().map(wire_size).sum();
                    let per_item = (bytes / items.len().max(1)).max(1);
                    self.fits = (self.max_chunk_bytes / per_item).max(1);
                    self.chunk = self.chunk.min(self.fits);
                }
                self.buffer = items.into_iter();
                Ok(())
            }
            Err(e) => {
                self.finish();
                Err(e)
            }
        }
    }

    /// No more requests: the remote iterator is released now (a request still in flight
    /// holds it until its reply).
    fn finish(&mut self) {
        self.exhausted = true;
        self.target = None;
        self.pending = None;
    }
}

impl Stream for RemoteStream {
    type Item = Result<Value>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Value>>> {
        let this = &mut *self;
        loop {
            this.poll_pending(cx);
            if let Some(v) = this.buffer.next() {
                // Ask for the next chunk while this one is being consumed.
                if this.pending.is_none() && this.fetched.is_none() && !this.exhausted {
                    this.start();
                    this.poll_pending(cx);
                }
                return Poll::Ready(Some(Ok(v)));
            }
            if let Some(chunk) = this.fetched.take() {
                if let Err(e) = this.accept(chunk) {
                    return Poll::Ready(Some(Err(e)));
                }
                continue;
            }
            if this.exhausted {
                return Poll::Ready(None);
            }
            if this.pending.is_none() {
                this.start();
                continue;
            }
            return Poll::Pending;
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let known = self.buffer.len()
            + match &self.fetched {
                Some(Ok((_, items, _))) => items.len(),
                _ => 0,
            };
        let upper = (self.exhausted && self.pending.is_none()).then_some(known);
        (known, upper)
    }
}

impl futures_util::stream::FusedStream for RemoteStream {
    fn is_terminated(&self) -> bool {
        self.exhausted && self.pending.is_none() && self.fetched.is_none() && self.buffer.len() == 0
    }
}

impl NetRef {
    /// Reads the object's iteration lazily, as a [`Stream`] of its items in growing chunks
    /// (`iter(obj)` once, then HANDLE_BUFFITER with chunks of 10, 20, 40, … up to
    /// [`Config::stream_max_chunk`]): a generator of any length is read with bounded memory on
    /// both sides. Dropping the stream releases the remote iterator. See [`crate::stream`].
    pub fn stream(&self) -> RemoteStream {
        RemoteStream::new(self.clone())
    }

    /// [`NetRef::stream`] with each item converted to `T` (a conversion failure is yielded as
    /// an error and the stream goes on).
    pub fn stream_as<T: FromValue + Send + 'static>(
        &self,
    ) -> impl Stream<Item = Result<T>> + Send + Unpin + 'static {
        futures_util::StreamExt::map(self.stream(), |item| {
            item.and_then(|v| Ok(T::from_value(v)?))
        })
    }
}

/// The bytes one chunk may fill: a share of the smallest frame limit.
fn frame_share(config: &Config) -> usize {
    let limits = &config.frame_limits;
    (limits.max_frame_size.min(limits.max_decompressed_size) / FRAME_SHARE).max(1)
}

/// About what `v` takes in brine (a little over, never under by much): enough to keep a chunk
/// of large items below the frame limit without encoding it.
fn wire_size(v: &Value) -> usize {
    match v {
        Value::None | Value::Bool(_) | Value::Ellipsis | Value::NotImplemented => 1,
        Value::Int(_) => 9,
        Value::BigInt(b) => 5 + (b.bits() as usize).div_ceil(8),
        Value::Float(_) => 9,
        Value::Complex(..) => 17,
        Value::Bytes(b) => 5 + b.len(),
        Value::Str(s) => 5 + s.len(),
        Value::Tuple(items) | Value::FrozenSet(items) => {
            5 + items.iter().map(wire_size).sum::<usize>()
        }
        Value::Slice(parts) => 1 + parts.iter().map(wire_size).sum::<usize>(),
        // A reference: its id pack (type name, class id, instance id).
        Value::Object(o) => 32 + o.type_name().len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_size_grows_with_content() {
        assert_eq!(wire_size(&Value::Int(1)), 9);
        assert!(wire_size(&Value::str("x".repeat(1000))) > 1000);
        let nested = Value::Tuple(vec![Value::bytes(vec![0u8; 100]), Value::None]);
        assert!(wire_size(&nested) > 100);
    }

    #[test]
    fn frame_share_is_a_sixteenth_of_the_smaller_limit() {
        let mut config = Config::default();
        config.frame_limits.max_frame_size = 1 << 20;
        config.frame_limits.max_decompressed_size = 4 << 20;
        assert_eq!(frame_share(&config), 1 << 16);
    }
}
