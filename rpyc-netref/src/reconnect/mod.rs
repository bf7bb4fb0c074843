//! [`Reconnecting`]: a client that connects lazily, reconnects after a failure with
//! exponential backoff and jitter, and fetches the peer's root anew on each connection.
//!
//! A [`NetRef`] stays bound to the connection it came from: once that connection is gone,
//! every call through it fails with [`Error::ConnectionClosed`] ("connection … is gone"),
//! never silently reaching an object of the new connection. Calls are not retried unless the
//! caller says they are idempotent ([`Reconnecting::call_idempotent`],
//! [`Reconnecting::run_idempotent`]): a call that failed with the connection may or may not
//! have run on the server.
//!
//! | module | owns |
//! |---|---|
//! | this one | [`Reconnecting`]: the current connection, when to connect, which calls are retried |
//! | `connector` | [`Connector`] and its implementations (TCP, Unix socket, closure) |
//! | `backoff` | [`Backoff`]: the delays between attempts, the jitter's generator |
//! | `blocking` | `rpyc::blocking::Reconnecting`, the same client for blocking code |

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rpyc_core::Value;
use tokio::time::Instant;

use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::netref::NetRef;
use crate::object::IntoArgs;

mod backoff;
pub(crate) mod blocking;
mod connector;

pub use backoff::Backoff;
#[cfg(unix)]
pub use connector::UnixConnector;
pub use connector::{Connector, FnConnector, TcpConnector};

/// How many times an idempotent call is tried again by default.
const DEFAULT_RETRIES: u32 = 5;

/// How long one connection attempt (connecting and fetching the root) may take by default.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A client that keeps a connection to one target, reconnecting when it is lost.
///
/// It connects at the first call (not when created). When a connection fails, the next call
/// connects again at once; a failed attempt makes the following ones wait, by [`Backoff`] —
/// calls made meanwhile fail at once with the last [`Error::Connect`] and when the next
/// attempt is due, rather than hang. Each new connection's root is fetched anew.
///
/// [`call`](Self::call) and [`run`](Self::run) try once: a failure, the connection's included,
/// is the caller's to see (the call may have run). [`call_idempotent`](Self::call_idempotent)
/// and [`run_idempotent`](Self::run_idempotent) are tried again, waiting out the backoff,
/// when the connection fails or cannot be made ([`Error::ConnectionClosed`],
/// [`Error::Connect`]), at most [`retries`](Self::retries) times; any other error (the
/// peer's exception, a timeout) is returned as it is.
///
/// Cheap to clone (clones share the connection); `Send + Sync`.
///
/// ```no_run
/// # async fn demo() -> Result<(), rpyc::Error> {
/// let client = rpyc::Reconnecting::tcp("127.0.0.1:18861");
/// // Reads are safe to repeat: retried across a reconnection.
/// let sum = client.call_idempotent("add", (2, 3)).await?;
/// // Tried once: a lost connection is reported, not retried.
/// let history = client.run(|root| async move { root.call_method("get_history", ()).await }).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Reconnecting {
    shared: Arc<Shared>,
    backoff: Backoff,
    retries: u32,
    connect_timeout: Duration,
}

impl std::fmt::Debug for Reconnecting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconnecting")
            .field("target", &self.shared.connector.target())
            .field("connected", &self.current().is_some())
            .finish()
    }
}

struct Shared {
    connector: Box<dyn Connector>,
    /// The live connection and its root (the fast path: no await).
    live: parking_lot::Mutex<Option<(Connection, NetRef)>>,
    /// Held while connecting: one attempt at a time.
    attempts: tokio::sync::Mutex<Attempts>,
    /// Connections made so far.
    made: AtomicU64,
}

/// The record of connection attempts.
struct Attempts {
    /// Failed attempts in a row.
    failures: u32,
    /// When the next attempt may be made, after a failure.
    next_at: Option<Instant>,
    /// The last attempt's error.
    last_error: Option<Error>,
}

impl Reconnecting {
    /// A client of `connector`'s target.
    pub fn new(connector: impl Connector) -> Self {
        Reconnecting {
            shared: Arc::new(Shared {
                connector: Box::new(connector),
                live: parking_lot::Mutex::new(None),
                attempts: tokio::sync::Mutex::new(Attempts {
                    failures: 0,
                    next_at: None,
                    last_error: None,
                }),
                made: AtomicU64::new(0),
            }),
            backoff: Backoff::default(),
            retries: DEFAULT_RETRIES,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// A client of a TCP address (`"host:port"`, resolved at every attempt), default config,
    /// no service of ours (see [`TcpConnector`] for those).
    pub fn tcp(addr: impl Into<String>) -> Self {
        Self::new(TcpConnector::new(addr))
    }

    /// A client of a Unix socket (see [`UnixConnector`]).
    #[cfg(unix)]
    pub fn unix(path: impl Into<std::path::PathBuf>) -> Self {
        Self::new(UnixConnector::new(path))
    }

    /// A client that connects by calling `f` (`target` names it in errors).
    pub fn from_fn<F, Fut>(target: impl Into<String>, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Connection>> + Send + 'static,
    {
        Self::new(FnConnector::new(target, f))
    }

    /// Sets the delays between failed attempts (default [`Backoff::default`]). Clones made
    /// before share the connection but keep their own setting.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets how many times an idempotent call is tried again (default 5).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Sets how long one connection attempt (connecting and fetching the root) may take
    /// before it counts as failed (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// What it connects to, as shown in errors.
    pub fn target(&self) -> String {
        self.shared.connector.target()
    }

    /// The live connection, if there is one now (never connects).
    pub fn current(&self) -> Option<Connection> {
        let live = self.shared.live.lock();
        live.as_ref()
            .filter(|(c, _)| !c.is_closed())
            .map(|(c, _)| c.clone())
    }

    /// How many connections it has made so far.
    pub fn connections_made(&self) -> u64 {
        self.shared.made.load(Ordering::Relaxed)
    }

    /// The live connection, connecting if there is none. Fails at once, without an attempt,
    /// while the backoff after a failed attempt runs.
    pub async fn connection(&self) -> Result<Connection> {
        Ok(self.live().await?.0)
    }

    /// The root of the live connection, connecting if there is none (as
    /// [`connection`](Self::connection)). Valid while that connection lives.
    pub async fn root(&self) -> Result<NetRef> {
        Ok(self.live().await?.1)
    }

    /// Calls `method` on the root once (not retried).
    pub async fn call(&self, method: &str, args: impl IntoArgs) -> Result<Value> {
        self.run(|root| async move { root.call_method(method, args).await })
            .await
    }

    /// Calls `method` on the root, again after a reconnection if the connection fails: for
    /// calls that may safely run twice.
    pub async fn call_idempotent(
        &self,
        method: &str,
        args: impl IntoArgs + Clone,
    ) -> Result<Value> {
        self.run_idempotent(|root| {
            let args = args.clone();
            async move { root.call_method(method, args).await }
        })
        .await
    }

    /// Runs `body` once with the root of the live connection (connecting if needed). A
    /// connection failure ends the connection for later calls, which reconnect.
    pub async fn run<T, F, Fut>(&self, body: F) -> Result<T>
    where
        F: FnOnce(NetRef) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let (conn, root) = self.live().await?;
        let out = body(root).await;
        self.after(&conn, &out);
        out
    }

    /// Runs `body` with the root of the live connection, and again on a new connection when
    /// the connection fails or cannot be made (waiting out the backoff), at most
    /// [`retries`](Self::retries) more times: for bodies that may safely run twice.
    pub async fn run_idempotent<T, F, Fut>(&self, mut body: F) -> Result<T>
    where
        F: FnMut(NetRef) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut tries_left = self.retries;
        loop {
            let out = match self.live().await {
                Ok((conn, root)) => {
                    let out = body(root).await;
                    self.after(&conn, &out);
                    out
                }
                Err(e) => Err(e),
            };
            match out {
                Err(e) if tries_left > 0 && connection_failed(&e) => {
                    tries_left -= 1;
                    tracing::debug!(target = %self.target(), error = %e, "retrying an idempotent call");
                    self.wait_for_attempt().await;
                }
                out => return out,
            }
        }
    }

    /// After a call on `conn`: a connection failure drops it, so the next call reconnects
    /// (its `NetRef`s keep failing with the "gone" error).
    fn after<T>(&self, conn: &Connection, out: &Result<T>) {
        // A reference of an older connection, used in the body, names its own connection.
        let ours = |m: &str| {
            !m.contains(" is gone (")
                || conn
                    .config()
                    .connid
                    .as_ref()
                    .is_some_and(|id| m.contains(&format!("connection {id} is gone (")))
        };
        if matches!(out, Err(Error::ConnectionClosed(m)) if ours(m)) || conn.is_closed() {
            let mut live = self.shared.live.lock();
            if live.as_ref().is_some_and(|(c, _)| c.id() == conn.id()) {
                *live = None;
            }
        }
    }

    /// Sleeps until the next attempt may be made.
    async fn wait_for_attempt(&self) {
        let next_at = self.shared.attempts.lock().await.next_at;
        if let Some(at) = next_at {
            tokio::time::sleep_until(at).await;
        }
    }

    /// The live connection and its root, connecting if needed (one attempt at a time).
    async fn live(&self) -> Result<(Connection, NetRef)> {
        if let Some(live) = self.live_now() {
            return Ok(live);
        }
        let mut attempts = self.shared.attempts.lock().await;
        // Another caller may have connected while this one waited for the lock.
        if let Some(live) = self.live_now() {
            return Ok(live);
        }
        if let (Some(at), Some(err)) = (attempts.next_at, &attempts.last_error) {
            let now = Instant::now();
            if at > now {
                let wait = at - now;
                return Err(Error::connect(
                    self.target(),
                    std::io::Error::other(format!(
                        "{err}; next attempt in {:.1} s",
                        wait.as_secs_f64()
                    )),
                ));
            }
        }
        match self.connect_once().await {
            Ok((conn, root)) => {
                attempts.failures = 0;
                attempts.next_at = None;
                attempts.last_error = None;
                self.shared.made.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(target = %self.target(), conn = conn.id(), "connected");
                *self.shared.live.lock() = Some((conn.clone(), root.clone()));
                Ok((conn, root))
            }
            Err(e) => {
                attempts.failures = attempts.failures.saturating_add(1);
                let failures = attempts.failures;
                let delay = self.backoff.delay(failures, backoff::random_unit());
                attempts.next_at = Some(Instant::now() + delay);
                attempts.last_error = Some(e.clone());
                tracing::debug!(target = %self.target(), error = %e, ?delay, "connection attempt failed");
                Err(e)
            }
        }
    }

    fn live_now(&self) -> Option<(Connection, NetRef)> {
        let mut live = self.shared.live.lock();
        match &*live {
            Some((c, _)) if c.is_closed() => {
                *live = None;
                None
            }
            other => other.clone(),
        }
    }

    /// One attempt: a connection, and its root.
    async fn connect_once(&self) -> Result<(Connection, NetRef)> {
        let attempt = async {
            let conn = self.shared.connector.connect().await?;
            match conn.root().await {
                Ok(root) => Ok((conn, root)),
                Err(e) => {
                    conn.abort("the root could not be fetched");
                    Err(e)
                }
            }
        };
        match tokio::time::timeout(self.connect_timeout, attempt).await {
            Ok(out) => out,
            Err(_) => Err(Error::connect(
                self.target(),
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "no connection within {} s",
                        self.connect_timeout.as_secs_f64()
                    ),
                ),
            )),
        }
    }
}

/// Whether `e` says the connection failed or could not be made (what an idempotent call is
/// tried again after).
fn connection_failed(e: &Error) -> bool {
    matches!(e, Error::ConnectionClosed(_) | Error::Connect { .. })
}
