//! TCP tuning: immediate ACKs on every rpyc-rs TCP socket, client and server.
//!
//! Plain TCP connections ([`crate::Connection::from_tcp`], used by `connect` and the server)
//! acknowledge at once only when the connection goes idle with nothing to send — after a read
//! that woke no caller and started nothing, or when a request task waits with nothing queued;
//! otherwise the reply that follows carries the ACK and no extra packet is sent. [`QuickAck`]
//! re-arms `TCP_QUICKACK` after *every* read: TLS streams are wrapped in it, since their reads
//! are not the connection's. Why either is needed:
//!
//! A Python rpyc server answers every HANDLE_DEL and keeps Nagle's algorithm on for the sockets
//! it accepts. When it sends two replies in a row (a DEL's, then the next call's), the second
//! waits in its send buffer until we acknowledge the first — and Linux delays that ACK by up
//! to 40 ms when we have nothing to send. Re-arming `TCP_QUICKACK` after each read makes us
//! acknowledge at once: without it, "drop a reference, then call" costs ~40 ms per round
//! against a Python server (measured: 100 rounds took 4.5 s; with it, ~0.1 s). The same
//! happens the other way round: a Python *client* (Nagle on) answers our DEL of its callback
//! and then waits for our ACK before sending its next request — a server-side callback round
//! trip took 44 ms without it and ~1 ms with it. Cost: one `setsockopt` per read (~0.6 µs).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;

/// Something that reads from a TCP socket: a whole stream or its read half.
pub trait TcpSide: AsyncRead + Unpin {
    /// The socket, for setting options.
    fn socket(&self) -> &TcpStream;
}

impl TcpSide for TcpStream {
    fn socket(&self) -> &TcpStream {
        self
    }
}

impl TcpSide for OwnedReadHalf {
    fn socket(&self) -> &TcpStream {
        self.as_ref()
    }
}

/// A TCP stream (or read half) that acknowledges every read immediately.
#[derive(Debug)]
pub struct QuickAck<T> {
    inner: T,
}

impl<T> QuickAck<T> {
    /// Wraps a stream or a read half.
    pub fn new(inner: T) -> Self {
        QuickAck { inner }
    }
}

/// The read half of a TCP connection, acknowledging every read immediately.
pub type QuickAckRead = QuickAck<OwnedReadHalf>;
/// A whole TCP stream acknowledging every read immediately (for wrapping in TLS).
pub type QuickAckStream = QuickAck<TcpStream>;

impl<T: TcpSide> AsyncRead for QuickAck<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            quickack(self.inner.socket());
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for QuickAck<T> {
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
    // The flag is not sticky: the kernel may fall back to delayed ACKs, so re-arm it per read.
    let _ = socket2::SockRef::from(s).set_tcp_quickack(true);
}

/// Other systems: nothing to do.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn quickack(_s: &TcpStream) {}
