//! The connection's read side below the reader task: frames out of the byte stream, with a
//! read buffer that exists only while data flows.
//!
//! Why not `tokio_util`'s `FramedRead`: it keeps its buffer for the stream's life, and an idle
//! connection would hold it (16 KiB each, most of what a thousand idle connections cost a
//! server). Here a connection between calls keeps only a small buffer ([`IDLE_BUF`], reused by
//! the next call's request, so back-to-back calls allocate nothing); a larger one (a burst of
//! pipelined requests, a large frame) is dropped as soon as a read finds nothing to do with
//! nothing buffered. A large frame is read in place into one buffer of its size (`FrameCodec`)
//! and handed out as a slice of it.

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::BytesMut;
use rpyc_core::frame::{buffered_frame_len, Frame, FrameCodec};
use rpyc_core::FrameError;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::codec::Decoder;

use super::watchdog::CountingRead;

/// The read buffer's size while requests come in bursts (a read filled all the room there
/// was): room for many pipelined requests in one syscall. A frame that does not fit gets the
/// room it needs from the codec.
const READ_BUF: usize = 16 * 1024;

/// The read buffer's size when data starts flowing, kept while the connection is idle: room for
/// a call's request (or a few), so that a connection making calls one after another reuses it
/// instead of allocating a buffer per call (a 16 KiB allocation and free cost glibc about 1,100
/// instructions per call, a tenth of a call's path); an idle connection holds this much.
const IDLE_BUF: usize = 2 * 1024;

/// Frames read from a byte stream.
pub(super) struct FrameReader<R> {
    io: CountingRead<R>,
    codec: FrameCodec,
    /// Bytes read and not yet taken; no allocation while idle.
    buf: BytesMut,
    /// The stream has ended (what is left in `buf` is decoded as its last frames).
    eof: bool,
    /// `buf` is a buffer of [`IDLE_BUF`] (kept while idle), not a larger one.
    small: bool,
    /// The last read filled all the room there was: more is probably coming at once.
    filled: bool,
    /// The buffer's capacity, shown to the connection (`Connection::buffer_capacity`).
    shown: Arc<AtomicUsize>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// Frames of `io`, decoded by `codec`; the buffer's capacity is kept in `shown`.
    pub(super) fn new(io: R, codec: FrameCodec, shown: Arc<AtomicUsize>) -> Self {
        FrameReader {
            io: CountingRead::new(io),
            codec,
            buf: BytesMut::new(),
            eof: false,
            small: false,
            filled: false,
            shown,
        }
    }

    /// The count of bytes read, shared (for the watchdog's timer).
    pub(super) fn counter(&self) -> Arc<AtomicU64> {
        self.io.counter()
    }

    /// Bytes read so far.
    pub(super) fn read(&self) -> u64 {
        self.io.read()
    }

    /// Bytes still lacking from the frame in progress, or `None` when none has begun.
    pub(super) fn lacking(&self) -> Option<usize> {
        self.codec.lacking(&self.buf)
    }

    /// Whether a whole frame is buffered (the next `next` returns without reading).
    pub(super) fn has_frame(&self) -> bool {
        buffered_frame_len(&self.buf).is_some()
    }

    /// Polls for the next frame; `None` once the stream has ended cleanly.
    pub(super) fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame, FrameError>>> {
        loop {
            if self.eof {
                let last = self.codec.decode_eof(&mut self.buf).transpose();
                self.show();
                return Poll::Ready(last);
            }
            if !self.buf.is_empty() {
                let frame = self.codec.decode(&mut self.buf).transpose();
                // A small buffer's room never exceeds `IDLE_BUF`: more is the codec's growth.
                self.small &= self.buf.capacity() <= IDLE_BUF;
                if frame.is_some() {
                    return Poll::Ready(frame);
                }
            }
            self.make_room();
            let room = self.buf.capacity() - self.buf.len();
            let read = {
                let fut = self.io.read_buf(&mut self.buf);
                tokio::pin!(fut);
                fut.poll(cx)
            };
            match read {
                Poll::Pending => {
                    if self.buf.is_empty() && !self.small && self.buf.capacity() > 0 {
                        // Nothing to do for now: a large buffer is not kept while idle.
                        self.buf = BytesMut::new();
                        self.show();
                    }
                    self.filled = false;
                    return Poll::Pending;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
                Poll::Ready(Ok(0)) => self.eof = true,
                Poll::Ready(Ok(n)) => self.filled = n == room,
            }
        }
    }

    /// Gives the buffer room to read into. With nothing buffered, the small buffer is taken
    /// back whole if no frame still holds it; else, with no room left, a fresh one is allocated: of
    /// [`READ_BUF`] if the last read filled its room (a burst), else of [`IDLE_BUF`]. A header
    /// still arriving in a full buffer gets [`READ_BUF`] more.
    fn make_room(&mut self) {
        let room = self.buf.capacity() - self.buf.len();
        if self.buf.is_empty() {
            let reclaimed =
                self.small && !self.filled && (room >= IDLE_BUF || self.buf.try_reclaim(IDLE_BUF));
            if reclaimed || room > 0 {
                return;
            }
            let size = if self.filled { READ_BUF } else { IDLE_BUF };
            self.buf = BytesMut::with_capacity(size);
            self.small = size == IDLE_BUF;
        } else if room == 0 {
            self.buf.reserve(READ_BUF);
            self.small = false;
        } else {
            return;
        }
        self.show();
    }

    /// Publishes the buffer's capacity.
    fn show(&self) {
        self.shown.store(self.buf.capacity(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rpyc_core::frame::{encode_frame, FrameLimits};
    use tokio::io::AsyncWriteExt;

    impl<R: AsyncRead + Unpin> FrameReader<R> {
        /// The next frame, as the reader task polls for it.
        async fn next(&mut self) -> Option<Result<Frame, FrameError>> {
            std::future::poll_fn(|cx| self.poll_frame(cx)).await
        }
    }

    fn reader(
        io: tokio::io::DuplexStream,
    ) -> (FrameReader<tokio::io::DuplexStream>, Arc<AtomicUsize>) {
        let shown = Arc::new(AtomicUsize::new(0));
        let r = FrameReader::new(io, FrameCodec::new(FrameLimits::default()), shown.clone());
        (r, shown)
    }

    /// Reads until nothing is left: the reader goes idle.
    async fn idle(r: &mut FrameReader<tokio::io::DuplexStream>) {
        assert!(futures_util::poll!(Box::pin(r.next())).is_pending());
    }

    #[tokio::test]
    async fn calls_one_after_another_reuse_the_small_buffer_and_large_ones_are_dropped_when_idle() {
        let (mut peer, ours) = tokio::io::duplex(4 << 20);
        let (mut r, shown) = reader(ours);
        let mut first = None;
        for i in 0..50u8 {
            peer.write_all(&encode_frame(&[i; 100], false).unwrap())
                .await
                .unwrap();
            let frame = r.next().await.unwrap().unwrap();
            assert_eq!(frame.data[..], [i; 100]);
            // Each request lands where the first did: the buffer is taken back, not replaced.
            let at = frame.data.as_ptr();
            assert_eq!(*first.get_or_insert(at), at, "request {i}");
            drop(frame);
            idle(&mut r).await;
            assert_eq!(shown.load(Ordering::Relaxed), IDLE_BUF);
        }
        // A frame still held: the next one is read elsewhere, and both stay intact.
        peer.write_all(&encode_frame(b"held", false).unwrap())
            .await
            .unwrap();
        let held = r.next().await.unwrap().unwrap();
        idle(&mut r).await;
        peer.write_all(&encode_frame(b"next", false).unwrap())
            .await
            .unwrap();
        let next = r.next().await.unwrap().unwrap();
        assert_eq!(
            (&held.data[..], &next.data[..]),
            (&b"held"[..], &b"next"[..])
        );
        drop((held, next));
        // A large frame, then idle: at most the small buffer is left.
        let big = vec![7u8; 1 << 20];
        peer.write_all(&encode_frame(&big, false).unwrap())
            .await
            .unwrap();
        assert_eq!(r.next().await.unwrap().unwrap().data.len(), big.len());
        idle(&mut r).await;
        assert!(shown.load(Ordering::Relaxed) <= IDLE_BUF);
    }
}
