//! Authenticators: a server hook that sees each accepted stream before the RPyC connection
//! starts, and refuses it or names who is there — RPyC's `authenticator(sock) -> (sock,
//! credentials)` (`ThreadedServer(..., authenticator=...)`).
//!
//! An [`Authenticator`] gets the stream as an [`AuthStream`] (after the TLS handshake when
//! the server uses TLS) and what the server knows of it ([`Accepted`]: peer and local address,
//! the verified client certificate). It may read from the stream and write to it; it returns
//! the credentials services will see (`CallContext::credentials().auth`), or a reason to
//! refuse. A refused client gets a clean close (TLS `close_notify`, then FIN); the server logs
//! the reason. It runs in the connection's own task under a deadline ([`AUTH_TIMEOUT`]): a
//! silent client holds up nobody. Bytes it read past what it needed (a `read_line` that got
//! the client's first RPyC frame along with the token) stay in the [`AuthStream`] and are the
//! first bytes the connection reads.
//!
//! [`TokenAuthenticator`] is the shared-token example: the client sends a token and `\n` before
//! anything else. From Python:
//!
//! ```python
//! import socket, rpyc
//! sock = socket.create_connection(("127.0.0.1", 18861))
//! sock.sendall(b"s3cret\n")
//! conn = rpyc.connect_stream(rpyc.SocketStream(sock))
//! ```
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use rpyc::server::auth::TokenAuthenticator;
//! use tokio::io::AsyncWriteExt;
//!
//! let server = rpyc::Server::bind("127.0.0.1:0")
//!     .await
//!     .unwrap()
//!     .authenticator(TokenAuthenticator::new("s3cret", "alice"));
//! let addr = server.local_addr().unwrap();
//! tokio::spawn(server.serve(rpyc::server::services::CalculatorService::new));
//!
//! // The client: the token first, then RPyC on the same stream.
//! let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
//! sock.write_all(b"s3cret\n").await.unwrap();
//! let conn = rpyc::Connection::from_tcp(sock, std::sync::Arc::new(rpyc::VoidService), Default::default());
//! let root = conn.root().await.unwrap();
//! assert_eq!(root.call_method("add", (2, 3)).await.unwrap(), rpyc::Value::Int(5));
//! # });
//! ```

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rpyc_core::{Config, Printable, TlsIdentity, Value};
use rpyc_netref::{Connection, Service};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

/// How long an authenticator may take (reading the client's token, say) before the
/// connection is dropped.
pub const AUTH_TIMEOUT: Duration = Duration::from_secs(10);

/// What the server knows of an accepted connection when its authenticator runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Accepted {
    /// The peer's address (`"IP:PORT"`, or `"unix"` for a Unix-socket peer).
    pub peer: String,
    /// The address it connected to (the Unix socket's path for a Unix listener).
    pub local: String,
    /// The verified client certificate, when the server requires one (mutual TLS).
    pub tls: Option<TlsIdentity>,
}

/// The future an [`Authenticator`] returns: the credentials services will see, or why the
/// connection is refused.
pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = Result<Option<Value>, String>> + Send + 'a>>;

/// A server's check of each accepted stream before the RPyC connection starts
/// (`Server::authenticator`).
///
/// ```
/// use rpyc::server::auth::{Accepted, AuthFuture, AuthStream, Authenticator};
///
/// /// Lets in loopback clients only, and tells services where they came from.
/// struct LoopbackOnly;
///
/// impl Authenticator for LoopbackOnly {
///     fn authenticate<'a>(&'a self, _stream: &'a mut AuthStream, accepted: &'a Accepted) -> AuthFuture<'a> {
///         Box::pin(async move {
///             if accepted.peer.starts_with("127.") {
///                 Ok(Some(rpyc::Value::str("loopback")))
///             } else {
///                 Err(format!("{} is not a loopback address", accepted.peer))
///             }
///         })
///     }
/// }
/// ```
pub trait Authenticator: Send + Sync + 'static {
    /// Checks one accepted stream: `Ok(credentials)` lets the connection start (the value, if
    /// any, is `Credentials::auth`), `Err(reason)` closes it and logs the reason.
    fn authenticate<'a>(
        &'a self,
        stream: &'a mut AuthStream,
        accepted: &'a Accepted,
    ) -> AuthFuture<'a>;
}

/// A stream that can be read and written by an [`Authenticator`]: an accepted socket (or
/// TLS stream) plus the bytes read ahead of what the authenticator consumed, which the RPyC
/// connection reads first.
pub struct AuthStream {
    inner: Pin<Box<dyn Io>>,
    pending: Vec<u8>,
    pos: usize,
}

/// What [`AuthStream`] wraps.
trait Io: AsyncRead + AsyncWrite + Send {}
impl<T: AsyncRead + AsyncWrite + Send> Io for T {}

impl std::fmt::Debug for AuthStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthStream")
            .field("buffered", &(self.pending.len() - self.pos))
            .finish()
    }
}

impl AuthStream {
    /// Wraps any byte stream (the server does this for each accepted one).
    pub fn new(inner: impl AsyncRead + AsyncWrite + Send + 'static) -> Self {
        AuthStream {
            inner: Box::pin(inner),
            pending: Vec::new(),
            pos: 0,
        }
    }

    /// Reads bytes up to a `\n` and returns them without it (a trailing `\r` is kept). What
    /// arrived after the `\n` stays buffered for the connection. Fails with `InvalidData` if
    /// `max` bytes arrive without a `\n`, `UnexpectedEof` if the stream ends first.
    pub async fn read_line(&mut self, max: usize) -> io::Result<Vec<u8>> {
        loop {
            let buffered = &self.pending[self.pos..];
            if let Some(i) = buffered.iter().position(|&b| b == b'\n') {
                let line = buffered[..i].to_vec();
                self.pos += i + 1;
                self.compact();
                return Ok(line);
            }
            if buffered.len() >= max {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("no end of line within {max} bytes"),
                ));
            }
            let mut chunk = [0u8; 1024];
            let n = self.inner.as_mut().read(&mut chunk).await?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.pending.extend_from_slice(&chunk[..n]);
        }
    }

    /// Puts `bytes` back in front of what is still to be read (the connection reads them
    /// first): for an authenticator that read more than it consumed by other means.
    pub fn unread(&mut self, bytes: &[u8]) {
        let mut front = bytes.to_vec();
        front.extend_from_slice(&self.pending[self.pos..]);
        self.pending = front;
        self.pos = 0;
    }

    fn compact(&mut self) {
        if self.pos == self.pending.len() {
            self.pending.clear();
            self.pos = 0;
        }
    }
}

impl AsyncRead for AuthStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.pos < this.pending.len() {
            let n = buf.remaining().min(this.pending.len() - this.pos);
            buf.put_slice(&this.pending[this.pos..this.pos + n]);
            this.pos += n;
            this.compact();
            return Poll::Ready(Ok(()));
        }
        this.inner.as_mut().poll_read(cx, buf)
    }
}

impl AsyncWrite for AuthStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.as_mut().poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.as_mut().poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.inner.as_mut().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The shared-token authenticator: the client sends one of the known tokens followed by `\n`
/// before anything else; the credentials are the name the token was registered under
/// (a `str`). Tokens are compared in constant time; a token must not contain `\n`.
#[derive(Clone)]
pub struct TokenAuthenticator {
    tokens: Vec<(Vec<u8>, String)>,
}

impl std::fmt::Debug for TokenAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let who: Vec<&str> = self.tokens.iter().map(|(_, w)| w.as_str()).collect();
        f.debug_struct("TokenAuthenticator")
            .field("who", &who)
            .finish()
    }
}

impl TokenAuthenticator {
    /// Accepts clients that send `token`; services see `who` as their credentials.
    pub fn new(token: impl Into<Vec<u8>>, who: impl Into<String>) -> Self {
        TokenAuthenticator {
            tokens: vec![(token.into(), who.into())],
        }
    }

    /// Also accepts `token`, as `who`.
    pub fn token(mut self, token: impl Into<Vec<u8>>, who: impl Into<String>) -> Self {
        self.tokens.push((token.into(), who.into()));
        self
    }
}

/// Equal contents, in time that depends on the lengths only.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Authenticator for TokenAuthenticator {
    fn authenticate<'a>(
        &'a self,
        stream: &'a mut AuthStream,
        _accepted: &'a Accepted,
    ) -> AuthFuture<'a> {
        Box::pin(async move {
            let longest = self.tokens.iter().map(|(t, _)| t.len()).max().unwrap_or(0);
            let line = stream
                .read_line(longest + 2)
                .await
                .map_err(|e| format!("no token: {e}"))?;
            let line = line.strip_suffix(b"\r").unwrap_or(&line);
            let mut found = None;
            for (token, who) in &self.tokens {
                if same(token, line) {
                    found = Some(who);
                }
            }
            match found {
                Some(who) => Ok(Some(Value::str(who))),
                None => Err("wrong token".to_string()),
            }
        })
    }
}

/// Runs `auth` on an accepted stream (under [`AUTH_TIMEOUT`]) and starts the connection on
/// it, with the credentials' `auth` filled in; `None` (logged) if refused. `frame_records`:
/// the stream is TLS, so each frame is written as its own record (see `FrameRecords`).
pub(crate) async fn start_authenticated(
    auth: &dyn Authenticator,
    mut stream: AuthStream,
    accepted: Accepted,
    frame_records: bool,
    service: Arc<dyn Service>,
    mut cfg: Config,
) -> Option<Connection> {
    let peer = accepted.peer.clone();
    let verdict = tokio::time::timeout(AUTH_TIMEOUT, auth.authenticate(&mut stream, &accepted))
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {AUTH_TIMEOUT:?}")));
    match verdict {
        Ok(credentials) => {
            tracing::info!(peer = %peer, "connection authenticated");
            if let Some(c) = cfg.credentials.as_mut() {
                c.auth = credentials;
            }
            let (r, w) = tokio::io::split(stream);
            Some(if frame_records {
                let w = rpyc_netref::transport::FrameRecords::new(w);
                Connection::from_parts(r, w, service, cfg)
            } else {
                Connection::from_parts(r, w, service, cfg)
            })
        }
        Err(reason) => {
            // The reason may quote the peer's bytes: escaped.
            tracing::warn!(peer = %peer, reason = %Printable(&reason), "connection refused by the authenticator");
            // A clean close: TLS close_notify and FIN, then what the client still sends is read
            // and dropped until it closes too (closing with unread bytes would reset the
            // connection instead). Bounded in time and bytes: the client may do neither.
            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                stream.shutdown().await?;
                let mut sink = [0u8; 4096];
                let mut left = 1usize << 16;
                while left > 0 {
                    match stream.read(&mut sink).await? {
                        0 => break,
                        n => left = left.saturating_sub(n),
                    }
                }
                Ok::<_, io::Error>(())
            })
            .await;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_read_past_the_line_are_read_next() {
        let (mut client, server) = tokio::io::duplex(64);
        client.write_all(b"token\nRPYC-FRAME").await.unwrap();
        drop(client);
        let mut s = AuthStream::new(server);
        assert_eq!(s.read_line(16).await.unwrap(), b"token");
        s.unread(b">");
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b">RPYC-FRAME");
    }

    #[tokio::test]
    async fn a_long_line_or_an_early_end_is_an_error() {
        let (mut client, server) = tokio::io::duplex(64);
        client.write_all(b"0123456789").await.unwrap();
        let mut s = AuthStream::new(server);
        let e = s.read_line(4).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        drop(client);
        let (client, server) = tokio::io::duplex(64);
        drop(client);
        let e = AuthStream::new(server).read_line(4).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test]
    async fn tokens_name_who_sent_them() {
        let auth = TokenAuthenticator::new("a-token", "alice").token("b-token", "bob");
        let accepted = Accepted {
            peer: "127.0.0.1:1".into(),
            local: "127.0.0.1:2".into(),
            tls: None,
        };
        for (sent, want) in [
            (&b"b-token\r\n"[..], Ok(Some(Value::str("bob")))),
            (b"a-token\n", Ok(Some(Value::str("alice")))),
            (b"c-token\n", Err("wrong token".to_string())),
        ] {
            let (mut client, server) = tokio::io::duplex(64);
            client.write_all(sent).await.unwrap();
            let mut s = AuthStream::new(server);
            assert_eq!(auth.authenticate(&mut s, &accepted).await, want);
        }
    }
}
