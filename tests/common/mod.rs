//! Shared helpers of the connection-layer integration tests: one client connection per
//! transport, so that every scenario runs unchanged over
//!
//! * the in-process pair (`rpyc::connect_pair_with`, or `Connection::new` over a duplex stream
//!   when the client serves a service of its own),
//! * TCP loopback (`rpyc::Server::bind("127.0.0.1:0")` + `rpyc::connect`),
//! * a Unix socket (`rpyc::Server::bind_unix` + `rpyc::unix_connect`).
//!
//! A scenario is an `async fn name(t: Transport) -> rpyc::Result<()>`; `transport_tests!(name)`
//! turns it into the tests `name::pair`, `name::tcp` and `name::unix`.
//!
//! What each test file of the facade covers (scenario names, mapped to the modules they test):
//!
//! | file | covers |
//! |---|---|
//! | `root_and_calls.rs`, `root_attributes.rs`, `objects_by_reference.rs`, `values.rs` | `connection` (requests, replies), `connection::boxing`, `netref`, core conversions |
//! | `connection_hooks.rs` | `Service::on_connect`/`on_disconnect`, `connection` (close, drop) |
//! | `lifetime.rs` | `table`, `netref` (release), `connection::boxing` (proxy cache) |
//! | `callbacks.rs`, `async_calls.rs` | `callback`, `async_result`, `connection::in_flight` |
//! | `lifecycle.rs`, `panics.rs` | `connection` (close, serve), `connection::reader` (panic isolation) |
//! | `policy.rs` | `connection::handlers::attr`, `rpyc_core::policy`, `dispatcher` |
//! | `fetch.rs`, `members.rs` | `fetch`, `views`, the macros' members |
//! | `blocking.rs`, `blocking_methods.rs` | `blocking`, `sync_calls` |
//! | `python_server_calls.rs` | against a Python rpyc server: `connection` (requests), `args`, `error` (remote exceptions) |
//! | `python_server_references.rs` | against a Python rpyc server: `netref`, `connection::proxies` (release) |
//! | `python_server_callbacks.rs` | against a Python rpyc server: `callback`, nested requests |
//! | `python_server_connection.rs` | against a Python rpyc server: `async_result`, `connection::deadlines`, ping, close |
//! | `python_server_classic.rs` | against a Python rpyc classic server: eval, modules, namespace, release |
//! | `python_server_fetch.rs` | against a Python rpyc classic server: `fetch`, `blocking` |
//! | `python_client.rs`, `python/` | a Python rpyc client of our server |
//! | `streams.rs` | `stream`, `lazy_iter`: the `test` service's `numbers(n)` read by Rust (async, blocking) and Python clients |
//! | `python_server_streams.rs` | against a Python rpyc classic server: `stream` (a generator, chunk sizes, release) |
//! | `context_managers.rs` | `context` (`with_context` against a Rust object, async and blocking), `types` (local answers) |
//! | `python_server_context.rs` | against Python rpyc servers (a `@contextmanager` service, classic): `context`, `types` (`isinstance`, `remote_type`) |
//! | `python_server_fetch_rounds.rs` | against a default-config Python rpyc server: `fetch` of 10⁵ items, sequential requests counted in the server's log |
//! | `by_ref.rs` | `by_ref` (`ByRef`): a Python and a Rust client of maps and structs by reference |
//! | `readme.rs`, `doc_paths.rs`, `paths.rs`, `connect_errors.rs` | the README's commands, doc paths, kept paths, `connect` |
//!
//! Shared beside this module: `support/shop.rs` (the shop service of the root-and-calls files),
//! `support/py_server.rs` (a Python rpyc server per test) and `support/python.rs` (the venv).
//!
//! `rpyc-netref/tests/` talks raw frames to one connection, a file per concern: `reader.rs`,
//! `proxies.rs`, `handlers.rs` (hostile HASH/DEL), `budget.rs`, `half_close.rs`, `watchdog.rs`,
//! and `streams.rs` (`LazyIter` and `RemoteStream` over the in-process pair);
//! `server_slots.rs` here covers `rpyc-server`'s slots. Unit tests sit beside
//! `connection/{outbox,in_flight,budget,watchdog}.rs` and `table.rs`.
#![allow(dead_code)]

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rpyc::server::{ConnectionCounter, ShutdownHandle};
use rpyc::{Config, Connection, Service, VoidService};

/// How the client reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Both ends in this process, over an in-memory stream.
    Pair,
    /// A real `rpyc::Server` on 127.0.0.1, a port picked by the OS.
    Tcp,
    /// A real `rpyc::Server` on a Unix socket in the temp directory.
    Unix,
}

/// Keeps the server side alive; dropping it stops the server.
pub struct Guard {
    server_conn: Option<Connection>,
    shutdown: Option<ShutdownHandle>,
    counter: Option<ConnectionCounter>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    socket: Option<PathBuf>,
}

impl Guard {
    /// The server side's `Connection` (the in-process pair only).
    pub fn server_conn(&self) -> Option<&Connection> {
        self.server_conn.as_ref()
    }

    /// How many connections the server side has open (the pair: 1 until its end closes).
    pub fn open_connections(&self) -> usize {
        match (&self.server_conn, &self.counter) {
            (Some(c), _) => usize::from(!c.is_closed()),
            (None, Some(n)) => n.get(),
            (None, None) => 0,
        }
    }

    /// Kills the server side of the connection: the pair's server end is aborted; a real
    /// server is shut down (its grace period is 100 ms, then it aborts its connections).
    pub fn kill(&self) {
        if let Some(c) = &self.server_conn {
            c.abort("killed by the test");
        }
        if let Some(s) = &self.shutdown {
            s.shutdown();
        }
    }

    /// Waits (at most `limit`) for a real server's accept loop to finish after `kill`.
    pub async fn join_server(&mut self, limit: Duration) {
        if let Some(task) = self.task.take() {
            tokio::time::timeout(limit, task)
                .await
                .expect("the server did not stop")
                .expect("the server task panicked")
                .expect("the server failed");
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(s) = &self.shutdown {
            s.shutdown();
        }
        if let Some(p) = &self.socket {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn socket_path() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "rpyc-rs-it-{}-{}.sock",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// A client connection to a server serving `factory()` (a fresh instance per connection),
/// both sides with `config`; the client serves nothing.
pub async fn connect<S, F>(t: Transport, factory: F, config: Config) -> (Connection, Guard)
where
    S: Service,
    F: Fn() -> S + Send + Sync + 'static,
{
    connect_full(t, factory, config.clone(), None, config).await
}

/// Like [`connect`] with the default configuration.
pub async fn connect_default<S, F>(t: Transport, factory: F) -> (Connection, Guard)
where
    S: Service,
    F: Fn() -> S + Send + Sync + 'static,
{
    connect(t, factory, Config::default()).await
}

/// The general form: separate server and client configurations, and optionally a service the
/// client serves to the server.
pub async fn connect_full<S, F>(
    t: Transport,
    factory: F,
    server_config: Config,
    client_service: Option<Arc<dyn Service>>,
    client_config: Config,
) -> (Connection, Guard)
where
    S: Service,
    F: Fn() -> S + Send + Sync + 'static,
{
    let plain_client = client_service.is_none();
    let client_service = client_service.unwrap_or_else(|| Arc::new(VoidService));
    match t {
        Transport::Pair => {
            let (client, server) = if plain_client && client_config == server_config {
                rpyc::connect_pair_with(factory(), server_config).await
            } else {
                let (a, b) = tokio::io::duplex(256 * 1024);
                let server = Connection::new(b, Arc::new(factory()), server_config);
                let client = Connection::new(a, client_service, client_config);
                (client, server)
            };
            let guard = Guard {
                server_conn: Some(server),
                shutdown: None,
                counter: None,
                task: None,
                socket: None,
            };
            (client, guard)
        }
        Transport::Tcp => {
            let server = rpyc::Server::bind("127.0.0.1:0")
                .await
                .expect("bind 127.0.0.1:0")
                .config(server_config)
                .grace_period(Duration::from_millis(100));
            let addr = server.local_addr().expect("a TCP server has an address");
            let shutdown = server.shutdown_handle();
            let counter = server.connection_counter();
            let task = tokio::spawn(server.serve(factory));
            let client = if plain_client && client_config == Config::default() {
                rpyc::connect(addr).await
            } else {
                rpyc::connect_with(addr, client_service, client_config).await
            }
            .expect("connect over TCP");
            let guard = Guard {
                server_conn: None,
                shutdown: Some(shutdown),
                counter: Some(counter),
                task: Some(task),
                socket: None,
            };
            (client, guard)
        }
        Transport::Unix => {
            let path = socket_path();
            let server = rpyc::Server::bind_unix(&path)
                .await
                .expect("bind a Unix socket")
                .config(server_config)
                .grace_period(Duration::from_millis(100));
            let shutdown = server.shutdown_handle();
            let counter = server.connection_counter();
            let task = tokio::spawn(server.serve(factory));
            let client = if plain_client && client_config == Config::default() {
                rpyc::unix_connect(&path)
                    .await
                    .expect("connect over a Unix socket")
            } else {
                let stream = tokio::net::UnixStream::connect(&path)
                    .await
                    .expect("connect over a Unix socket");
                Connection::new(stream, client_service, client_config)
            };
            let guard = Guard {
                server_conn: None,
                shutdown: Some(shutdown),
                counter: Some(counter),
                task: Some(task),
                socket: Some(path),
            };
            (client, guard)
        }
    }
}

/// Polls `cond` every 10 ms until it holds; panics with `what` after `limit`.
pub async fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !cond() {
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {limit:?} waiting until {what}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Runs `fut`, failing the test (instead of hanging it) if it takes longer than `limit`.
/// A guard against deadlocks, not a performance assertion.
pub async fn within<T>(what: &str, limit: Duration, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: no outcome after {limit:?} (hung?)"),
    }
}

/// `transport_tests!(a, b)`: for each scenario `async fn a(t: Transport) -> rpyc::Result<()>`,
/// the tests `a::pair`, `a::tcp` and `a::unix`.
macro_rules! transport_tests {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn pair() -> rpyc::Result<()> {
                    super::$scenario($crate::common::Transport::Pair).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn tcp() -> rpyc::Result<()> {
                    super::$scenario($crate::common::Transport::Tcp).await
                }

                #[cfg(unix)]
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn unix() -> rpyc::Result<()> {
                    super::$scenario($crate::common::Transport::Unix).await
                }
            }
        )*
    };
}
