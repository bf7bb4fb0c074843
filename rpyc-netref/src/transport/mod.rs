//! The transport below the connection: how bytes reach the peer, and the socket tuning that
//! goes with each kind of stream. The connection itself only sees a byte stream and the
//! `Writer::ack_now` hook; everything that knows about TCP or TLS is here.
//!
//! | module | owns |
//! |---|---|
//! | this one | the `Writer` trait the outbox writes to, [`tune_tcp`] (the settings every TCP connection gets, client or server: Nagle off, keepalive), [`local_peer_config`] |
//! | [`tcp`] | immediate ACKs: [`QuickAckStream`] and the TCP write half |
//! | [`tls`] | client TLS configurations ([`tls::client_config`]) |
//! | [`frame_records`] | [`FrameRecords`]: a TLS write half whose writes end at frame boundaries (Python's rpyc cannot see a second frame buffered in its SSL layer) |

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use rpyc_core::Config;
use tokio::io::AsyncWrite;
use tokio::net::TcpStream;

/// Sets what every rpyc-rs TCP connection gets, client or server: Nagle off (`TCP_NODELAY`),
/// TCP keepalive as [`Config::keepalive`] says (on by default), and no compression for a peer
/// on this machine (see [`local_peer_config`]). Returns the connection's configuration.
pub fn tune_tcp(stream: &TcpStream, config: Config) -> Config {
    let _ = stream.set_nodelay(true);
    set_keepalive(stream, config.keepalive);
    let local = stream.peer_addr().is_ok_and(|a| a.ip().is_loopback());
    local_peer_config(config, local)
}

/// Turns TCP keepalive on with `keepalive`'s timings (interval and probe count where the system
/// has them), or off with `None`. Best effort: a system that refuses an option keeps its own.
pub fn set_keepalive(stream: &TcpStream, keepalive: Option<rpyc_core::Keepalive>) {
    let sock = socket2::SockRef::from(stream);
    let Some(k) = keepalive else {
        let _ = sock.set_keepalive(false);
        return;
    };
    let params = socket2::TcpKeepalive::new().with_time(k.idle);
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "windows"
    ))]
    let params = params.with_interval(k.interval);
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "netbsd"
    ))]
    let params = params.with_retries(k.retries);
    if sock.set_tcp_keepalive(&params).is_err() {
        let _ = sock.set_keepalive(true);
    }
}

/// Turns compression off for a peer on this machine unless `compress_local` asks for it.
pub fn local_peer_config(mut config: Config, peer_is_local: bool) -> Config {
    if peer_is_local && !config.compress_local {
        config.compress = false;
    }
    config
}

/// The stream's write half, owned by whoever is writing (`None` in [`State::io`] meanwhile).
pub(crate) type BoxWriter = Pin<Box<dyn Writer>>;

/// A stream's write half, which may also acknowledge what was read (TCP).
pub(crate) trait Writer: AsyncWrite + Send {
    /// Acknowledges the data received so far at once, if the transport delays ACKs.
    fn ack_now(&self) {}
}

/// Any write half, without ACK control.
pub(crate) struct PlainWriter<W>(pub(crate) Pin<Box<W>>);

impl<W: AsyncWrite + Send> Writer for PlainWriter<W> {}

/// Implements `AsyncWrite` for a wrapper by forwarding to one of its fields.
macro_rules! forward_write {
    ($t:ty, $field:tt, [$($g:tt)*]) => {
        impl<$($g)*> AsyncWrite for $t {
            fn poll_write(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut self.$field).poll_write(cx, buf)
            }
            fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut self.$field).poll_flush(cx)
            }
            fn poll_shutdown(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
            ) -> Poll<io::Result<()>> {
                Pin::new(&mut self.$field).poll_shutdown(cx)
            }
            // Large values go out as pieces of one vectored write (`outbox/batch.rs`).
            fn poll_write_vectored(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut self.$field).poll_write_vectored(cx, bufs)
            }
            fn is_write_vectored(&self) -> bool {
                self.$field.is_write_vectored()
            }
        }
    };
}

forward_write!(PlainWriter<W>, 0, [W: AsyncWrite + Send]);

// After `forward_write!`, which `tcp` uses.
pub mod frame_records;
pub mod tcp;
pub mod tls;

pub use frame_records::FrameRecords;
pub use tcp::QuickAckStream;
pub(crate) use tcp::TcpWriter;
