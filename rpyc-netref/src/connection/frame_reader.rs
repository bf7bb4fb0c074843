//! The connection's read side below the reader task: frames out of the byte stream, with a
//! read buffer that exists only while data flows.
//!
//! Why not `tokio_util`'s `FramedRead`: it keeps its buffer for the stream's life, and an idle
//! connection would hold it (16 KiB each, most of what a thousand idle connections cost a
//! server). Here the buffer is allocated when a read is about to happen and dropped as soon as
//! a read finds nothing to do with nothing buffered: an idle connection holds no buffer at all.
//! A large frame is read in place into one buffer of its size (`FrameCodec`) and handed out as
//! a slice of it.

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

/// The read buffer's size when data starts flowing: room for a burst of pipelined requests
/// in one syscall. A frame that does not fit gets the room it needs from the codec.
const READ_BUF: usize = 16 * 1024;

/// Frames read from a byte stream.
pub(super) struct FrameReader<R> {
    io: CountingRead<R>,
    codec: FrameCodec,
    /// Bytes read and not yet taken; no allocation while idle.
    buf: BytesMut,
    /// The stream has ended (what is left in `buf` is decoded as its last frames).
    eof: bool,
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
                if frame.is_some() {
                    return Poll::Ready(frame);
                }
            }
            if self.buf.capacity() == self.buf.len() {
                // No room: a buffer now that data flows (the codec gave a frame in progress
                // the room it needs; this is a header still arriving).
                self.buf.reserve(READ_BUF);
                self.show();
            }
            let read = {
                let fut = self.io.read_buf(&mut self.buf);
                tokio::pin!(fut);
                fut.poll(cx)
            };
            match read {
                Poll::Pending => {
                    if self.buf.is_empty() && self.buf.capacity() > 0 {
                        // Nothing to do for now: the connection holds no buffer while idle.
                        self.buf = BytesMut::new();
                        self.show();
                    }
                    return Poll::Pending;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
                Poll::Ready(Ok(0)) => self.eof = true,
                Poll::Ready(Ok(_)) => {}
            }
        }
    }

    /// Publishes the buffer's capacity.
    fn show(&self) {
        self.shown.store(self.buf.capacity(), Ordering::Relaxed);
    }
}
