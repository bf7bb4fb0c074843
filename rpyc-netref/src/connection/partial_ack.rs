//! Acknowledging at once what was read of a frame that arrives in pieces.
//!
//! A peer with Nagle's algorithm on (every stock Python rpyc client and server: rpyc 6 leaves it
//! on) sends a frame larger than 64 KB as a few large writes and then the one-byte `'\n'`
//! flusher on its own. That small last segment stays in the peer's send buffer until everything
//! sent before it is acknowledged, and Linux delays the ACK of data that does not fill the
//! window on a connection that has been answering requests (up to 40 ms). So every large frame
//! from such a peer could wait ~40 ms for its last byte. Measured before this: a Python
//! client's 1 MiB echo against our server took either ~25 ms or ~68 ms, about half the echoes
//! each; Python's own server, which reads more slowly, mostly acknowledged in time.
//!
//! So the reader acknowledges at once whenever it has drained the socket in the middle of a
//! frame: one `TCP_QUICKACK` per such stall. Frames that arrive whole (every request and reply
//! of ordinary calls) cost nothing: their replies carry the ACK. The ACK is sent through the
//! outbox's write half (`Outbox::ack_now`); when a write is in flight there is nothing to do,
//! the write carries the ACK.

use std::future::poll_fn;

use rpyc_core::frame::Frame;
use rpyc_core::FrameError;
use tokio::io::AsyncRead;

use super::frame_reader::FrameReader;
use super::outbox::Outbox;

/// The reader's count of bytes read when it last acknowledged a partial frame.
#[derive(Debug, Default)]
pub(super) struct PartialAck {
    acked_at: u64,
}

impl PartialAck {
    /// The next frame of `frames`. Each time the stream runs dry in the middle of a frame,
    /// having read more since the last time, what was read is acknowledged through `out`.
    pub(super) async fn next<R: AsyncRead + Unpin>(
        &mut self,
        frames: &mut FrameReader<R>,
        out: &Outbox,
    ) -> Option<Result<Frame, FrameError>> {
        poll_fn(|cx| {
            let r = frames.poll_frame(cx);
            if r.is_pending() {
                let read = frames.read();
                let mid_frame = frames.lacking().is_some();
                if mid_frame && read > self.acked_at {
                    self.acked_at = read;
                    out.ack_now();
                }
            }
            r
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll};

    use futures_util::FutureExt;
    use rpyc_core::frame::FrameLimits;
    use tokio::io::{AsyncWrite, AsyncWriteExt};
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::connection::budget::OutputBudget;
    use crate::transport::Writer;
    use rpyc_core::frame::FrameCodec;
    use std::pin::Pin;

    /// A write half that counts the immediate ACKs asked of it.
    #[derive(Clone, Default)]
    struct Acks(Arc<AtomicUsize>);

    impl AsyncWrite for Acks {
        fn poll_write(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    impl Writer for Acks {
        fn ack_now(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn framed(payload: &[u8]) -> Vec<u8> {
        let mut f = (payload.len() as u32).to_be_bytes().to_vec();
        f.push(0);
        f.extend_from_slice(payload);
        f.push(b'\n');
        f
    }

    /// A peer that sends a large frame as Python does (a big write, then the flusher alone,
    /// held back by Nagle) gets an ACK each time our reader runs dry in the middle of it, and
    /// one only: small frames that arrive whole, and an idle stream, get none.
    #[tokio::test]
    async fn acknowledges_when_a_frame_stalls_midway_only() {
        let acks = Acks::default();
        let budget = OutputBudget::new(usize::MAX, usize::MAX);
        let out = Outbox::new(
            Box::pin(acks.clone()),
            CancellationToken::new(),
            budget,
            None,
        );
        let count = || acks.0.load(Ordering::SeqCst);
        let (mut peer, ours) = tokio::io::duplex(4 << 20);
        let mut frames = FrameReader::new(
            ours,
            FrameCodec::new(FrameLimits::default()),
            Arc::default(),
        );
        let mut partial = PartialAck::default();

        // Nothing read yet: waiting for a first frame is no reason to acknowledge.
        assert!(partial.next(&mut frames, &out).now_or_never().is_none());
        assert_eq!(count(), 0);

        // A small frame arrives whole: no ACK (the reply carries it).
        peer.write_all(&framed(b"small")).await.unwrap();
        let f = partial.next(&mut frames, &out).now_or_never();
        assert_eq!(&f.unwrap().unwrap().unwrap().data[..], b"small");
        assert_eq!(count(), 0);

        // A 1 MiB frame without its flusher: the reader runs dry midway and acknowledges.
        let big = framed(&vec![7u8; 1 << 20]);
        let (body, flusher) = big.split_at(big.len() - 1);
        peer.write_all(&body[..64_000]).await.unwrap();
        assert!(partial.next(&mut frames, &out).now_or_never().is_none());
        assert_eq!(count(), 1);
        // Woken again with nothing new read: no second ACK.
        assert!(partial.next(&mut frames, &out).now_or_never().is_none());
        assert_eq!(count(), 1);
        // More of it, still short of the flusher: one more.
        peer.write_all(&body[64_000..]).await.unwrap();
        assert!(partial.next(&mut frames, &out).now_or_never().is_none());
        assert_eq!(count(), 2);

        // The flusher completes the frame: delivered, no ACK.
        peer.write_all(flusher).await.unwrap();
        let f = partial.next(&mut frames, &out).now_or_never();
        assert_eq!(f.unwrap().unwrap().unwrap().data.len(), 1 << 20);
        assert_eq!(count(), 2);

        // Idle again between frames: none.
        assert!(partial.next(&mut frames, &out).now_or_never().is_none());
        assert_eq!(count(), 2);
    }
}
