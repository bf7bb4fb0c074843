//! TCP tuning of client connections.
//!
//! A Python rpyc server answers every HANDLE_DEL and keeps Nagle's algorithm on for the sockets
//! it accepts. When it sends two replies in a row (a DEL's, then the next call's), the second
//! waits in its send buffer until we acknowledge the first — and Linux delays that ACK by up
//! to 40 ms when we have nothing to send. Re-arming `TCP_QUICKACK` after each read makes us
//! acknowledge at once: without it, "drop a reference, then call" costs ~40 ms per round
//! against a Python server (measured: 100 rounds took 4.5 s; with it, ~0.1 s).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::tcp::OwnedReadHalf;

/// The read half of a client TCP connection that acknowledges every read immediately.
pub(crate) struct QuickAckRead {
    inner: OwnedReadHalf,
}

impl QuickAckRead {
    pub(crate) fn new(inner: OwnedReadHalf) -> Self {
        QuickAckRead { inner }
    }
}

impl AsyncRead for QuickAckRead {
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

#[cfg(any(target_os = "linux", target_os = "android"))]
fn quickack(r: &OwnedReadHalf) {
    // The flag is not sticky: the kernel may fall back to delayed ACKs, so re-arm it per read.
    let _ = socket2::SockRef::from(r.as_ref()).set_tcp_quickack(true);
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn quickack(_r: &OwnedReadHalf) {}
