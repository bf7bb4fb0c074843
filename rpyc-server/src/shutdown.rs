//! [`ShutdownHandle`]: the one way to stop a [`Server`](crate::Server) or a
//! [`RegistryServer`](crate::registry::RegistryServer).
//!
//! It lives in its own file because both servers hand it out: kept in `server.rs`, it made
//! `registry.rs` import `server.rs` while `server.rs` imports the registry client (an import
//! loop with no reason of its own).

use tokio_util::sync::CancellationToken;

/// Stops a running server (graceful: in-flight calls get the grace period to finish).
#[derive(Debug, Clone)]
pub struct ShutdownHandle(CancellationToken);

impl ShutdownHandle {
    /// A handle that cancels `token`, which the server's accept loop watches.
    pub(crate) fn from_token(token: CancellationToken) -> Self {
        ShutdownHandle(token)
    }

    /// Asks the server to shut down; `serve` returns once every connection is closed.
    pub fn shutdown(&self) {
        self.0.cancel();
    }
}
