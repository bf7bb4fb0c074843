//! TCP tuning: immediate ACKs on every rpyc-rs TCP socket, client and server.
//!
//! Plain TCP connections ([`crate::Connection::from_tcp`], used by `connect` and the server)
//! acknowledge at once only when the connection goes idle with nothing to send — after a read
//! that woke no caller and started nothing, or when a request task waits with nothing queued;
//! otherwise the reply that follows carries the ACK and no extra packet is sent.
//! [`QuickAckStream`] re-arms `TCP_QUICKACK` after *every* read instead: TLS streams are wrapped
//! in it, since their reads are not the connection's. Why either is needed:
//!
//! A Python rpyc server answers every HANDLE_DEL and keeps Nagle's algorithm on for the sockets
//! it accepts. When it sends two replies in a row (a DEL's, then the next call's), the second
//! waits in its send buffer until we acknowledge the first — and Linux delays that ACK by up
//! to 40 ms when we have nothing to send. Acknowledging at once fixes it: without it, "drop a
//! reference, then call" costs ~40 ms per round against a Python server (measured: 100 rounds
//! took 4.5 s; with it, ~0.1 s). The same happens the other way round: a Python *client*
//! (Nagle on) answers our DEL of its callback and then waits for our ACK before sending its
//! next request — a server-side callback round trip took 44 ms without it and ~1 ms with it.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::Writer;

/// A TCP stream that acknowledges every read immediately (for wrapping in TLS).
#[derive(Debug)]
pub struct QuickAckStream {
    inner: TcpStream,
}

impl QuickAckStream {
    /// Wraps a stream.
    pub fn new(inner: TcpStream) -> Self {
        QuickAckStream { inner }
    }
}

impl AsyncRead for QuickAckStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            quickack(&self.inner);
        }
        r
    }
}

impl AsyncWrite for QuickAckStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Re-arms `TCP_QUICKACK`, which also sends a pending ACK at once.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn quickack(s: &TcpStream) {
    // The flag is not sticky: the kernel may fall back to delayed ACKs, so re-arm it each time.
    let _ = socket2::SockRef::from(s).set_tcp_quickack(true);
}

/// Other systems: nothing to do.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn quickack(_s: &TcpStream) {}

/// A TCP write half: acknowledging re-arms `TCP_QUICKACK`, which sends a pending ACK now.
pub(crate) struct TcpWriter(pub(crate) tokio::net::tcp::OwnedWriteHalf);

impl Writer for TcpWriter {
    fn ack_now(&self) {
        quickack(self.0.as_ref());
    }
}

forward_write!(TcpWriter, 0, []);
