//! The errors a user of a connection sees.

use std::sync::Arc;
use std::time::Duration;

use rpyc_core::{ConvertError, EncodeError, FrameError, ProtocolError, RemoteException};
use thiserror::Error;

/// An operation on a connection or a [`crate::NetRef`] failed.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer raised an exception; it carries the remote type name, arguments and traceback.
    #[error("remote {0}")]
    Remote(RemoteException),
    /// Connecting failed before any RPyC traffic: the address did not resolve, the peer
    /// refused or could not be reached, or the TLS handshake failed. `addr` is the address as
    /// given to `connect` (a socket path for Unix sockets); `source` is the OS error.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The address as given to `connect`, `tls_connect` or `unix_connect`.
        addr: String,
        /// What the operating system (or the TLS handshake) reported.
        source: Arc<std::io::Error>,
    },
    /// The connection is closed (by either side, because the stream failed, or a deadline of
    /// the watchdog cut it: idle, unanswered ping, stalled frame). Every call pending at the
    /// close fails with this at once, carrying the reason; every later call through a
    /// [`crate::Connection`] or [`crate::NetRef`] of it (attribute reads included) fails at
    /// once with this too, saying the connection is gone, which one and why
    /// (`connection conn3 is gone (the peer closed the connection)`). A `NetRef` never follows
    /// a reconnection (see [`crate::Reconnecting`]): it stays bound to its connection.
    #[error("connection closed: {0}")]
    ConnectionClosed(String),
    /// A call of the blocking API ([`crate::blocking`]) was made from inside a tokio runtime,
    /// where blocking the thread would stall the runtime's other tasks. The message says what
    /// to use instead: the async API (`rpyc::connect`, `NetRef::call_method(..).await`), or
    /// `tokio::task::spawn_blocking` around the blocking code.
    #[error("{0}")]
    BlockingInRuntime(&'static str),
    /// No reply arrived within the request timeout.
    #[error("request timed out after {0:?}")]
    Timeout(Duration),
    /// An [`crate::AsyncResult`] expired before its reply arrived.
    #[error("result expired")]
    Expired,
    /// The peer sent something that is not RPyC 6.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// A value could not be sent (e.g. an object inside a frozenset).
    #[error("cannot send value: {0}")]
    Encode(String),
    /// A result could not be converted to the Rust type asked for.
    #[error(transparent)]
    Convert(#[from] ConvertError),
    /// A local file operation failed (reading or writing a file of a classic-mode transfer,
    /// [`crate::classic::ClassicConnection::upload`] and `download`). `path` is the file as
    /// given or as found while walking a directory; `source` is the OS error.
    #[error("{path}: {source}")]
    Io {
        /// The local path (or, for a missing remote path, the remote one).
        path: String,
        /// What the operating system reported.
        source: Arc<std::io::Error>,
    },
    /// `ping` got back something other than what it sent.
    #[error("ping echo mismatch")]
    PingMismatch,
}

impl Error {
    /// The remote exception, if the peer raised one.
    pub fn remote(&self) -> Option<&RemoteException> {
        match self {
            Error::Remote(e) => Some(e),
            _ => None,
        }
    }

    /// An [`Error::Connect`] for `addr` (as typed by the user) from the OS error `source`.
    pub fn connect(addr: impl Into<String>, source: std::io::Error) -> Self {
        Error::Connect {
            addr: addr.into(),
            source: Arc::new(source),
        }
    }

    /// An [`Error::Io`] for `path` from the OS error `source`.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source: Arc::new(source),
        }
    }

    /// True if the peer raised an exception of this class name (e.g. `"KeyError"`).
    pub fn is_remote(&self, class: &str) -> bool {
        self.remote().is_some_and(|e| e.is(class))
    }
}

impl From<RemoteException> for Error {
    fn from(e: RemoteException) -> Self {
        Error::Remote(e)
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::Protocol(e.to_string())
    }
}

impl From<FrameError> for Error {
    fn from(e: FrameError) -> Self {
        Error::Protocol(e.to_string())
    }
}

impl From<EncodeError> for Error {
    fn from(e: EncodeError) -> Self {
        Error::Encode(e.to_string())
    }
}

/// Errors of calls made while serving a request reach the original caller: a remote
/// exception is forwarded unchanged, anything else becomes a Python-catchable builtin.
impl From<Error> for RemoteException {
    fn from(e: Error) -> Self {
        match e {
            Error::Remote(r) => r,
            Error::Timeout(_) | Error::Expired => RemoteException::timeout_error(e.to_string()),
            Error::ConnectionClosed(_) => RemoteException::eof_error(e.to_string()),
            Error::Connect { .. } => RemoteException::builtin("ConnectionError", e.to_string()),
            Error::Convert(c) => RemoteException::type_error(c.to_string()),
            other => RemoteException::runtime_error(other.to_string()),
        }
    }
}

/// Shorthand result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
