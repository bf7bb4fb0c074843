//! One TLS record never carries the end of one frame and the start of the next: a write half
//! that hands the stream below at most one frame's remaining bytes per write.
//!
//! Why: Python's rpyc waits for the next frame with `select()` on the socket
//! (`SocketStream.poll`), which does not see bytes that OpenSSL already decrypted and holds in
//! its buffer. The outbox batches frames (a released reference's HANDLE_DEL and the next
//! request, for instance) into one write; over TLS that one write becomes one record, Python
//! reads the first frame out of it and then waits on the socket for the second, which is
//! already in its SSL buffer: the request hangs until its timeout. rustls makes separate
//! records of separate writes, so ending every write at a frame boundary is enough.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;

/// The size of an RPyC frame header: a big-endian `u32` body length and a compression flag.
const HEADER: usize = rpyc_core::frame::HEADER_LEN;
/// After the body, every frame ends with one byte (Python's `FLUSHER`, `b"\n"`).
const TRAILER: usize = 1;

/// An [`AsyncWrite`] that passes at most the rest of the current RPyC frame to each write of
/// the stream below (used for TLS, where each write becomes its own record).
pub struct FrameRecords<W> {
    inner: W,
    /// Header bytes of the current frame seen so far (when `body_left` is 0).
    header: [u8; HEADER],
    header_len: usize,
    /// Body and trailer bytes of the current frame still to write.
    body_left: usize,
}

impl<W> FrameRecords<W> {
    /// Wraps the write half `inner`; the first byte written must start a frame.
    pub fn new(inner: W) -> Self {
        FrameRecords {
            inner,
            header: [0; HEADER],
            header_len: 0,
            body_left: 0,
        }
    }

    /// How much of `buf` belongs to the current frame.
    fn frame_part(&self, buf: &[u8]) -> usize {
        if self.body_left > 0 {
            return buf.len().min(self.body_left);
        }
        if self.header_len == 0 && buf.len() >= HEADER {
            let body = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
            return buf
                .len()
                .min(HEADER.saturating_add(body).saturating_add(TRAILER));
        }
        buf.len().min(HEADER - self.header_len)
    }

    /// Accounts for `written` bytes that the stream below accepted.
    fn advance(&mut self, mut written: &[u8]) {
        while !written.is_empty() {
            if self.body_left > 0 {
                let n = written.len().min(self.body_left);
                self.body_left -= n;
                written = &written[n..];
                continue;
            }
            let n = written.len().min(HEADER - self.header_len);
            self.header[self.header_len..self.header_len + n].copy_from_slice(&written[..n]);
            self.header_len += n;
            written = &written[n..];
            if self.header_len == HEADER {
                let h = self.header;
                self.body_left = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize + TRAILER;
                self.header_len = 0;
            }
        }
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for FrameRecords<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let part = self.frame_part(buf);
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_write(cx, &buf[..part]) {
            Poll::Ready(Ok(n)) => {
                this.advance(&buf[..n.min(part)]);
                Poll::Ready(Ok(n))
            }
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// Records the size of every write it gets.
    #[derive(Default)]
    struct Writes(Vec<Vec<u8>>);

    impl AsyncWrite for Writes {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            // Accepts at most 7 bytes at a time, to split headers too.
            let n = buf.len().min(7);
            self.0.push(buf[..n].to_vec());
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut f = (body.len() as u32).to_be_bytes().to_vec();
        f.push(0);
        f.extend_from_slice(body);
        f.push(b'\n');
        f
    }

    #[tokio::test]
    async fn no_write_crosses_a_frame_boundary() {
        let frames = [
            frame(b"abc"),
            frame(b""),
            frame(b"0123456789abcdef"),
            frame(b"z"),
        ];
        let all: Vec<u8> = frames.concat();
        let mut w = FrameRecords::new(Writes::default());
        // In one batch, and again in odd slices (a header cut in two).
        w.write_all(&all).await.unwrap();
        for piece in all.chunks(3) {
            w.write_all(piece).await.unwrap();
        }
        let writes = w.inner.0;
        assert_eq!(writes.concat(), [all.clone(), all.clone()].concat());
        // Every write lies inside one frame.
        let mut bounds = Vec::new();
        let mut at = 0;
        for _ in 0..2 {
            for f in &frames {
                at += f.len();
                bounds.push(at);
            }
        }
        let mut pos = 0;
        for wr in &writes {
            let end = pos + wr.len();
            assert!(
                !bounds.iter().any(|&b| b > pos && b < end),
                "a write of {pos}..{end} crosses a frame boundary"
            );
            pos = end;
        }
    }
}
