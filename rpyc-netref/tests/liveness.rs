//! Liveness and the "broken" signal: `Connection::closed` and `on_close`; calls pending at the
//! close and calls made later (through the connection or a `NetRef` of it) fail at once with
//! `Error::ConnectionClosed`; TCP keepalive on the sockets of both sides; the optional ping
//! deadline cuts a frozen peer and never a live idle one.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rpyc::core::Config;
use rpyc::{Callback, Error};
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

/// Waits (boundedly: the test fails rather than hangs) for `conn` to close; returns why.
async fn ended(conn: &rpyc::Connection) -> String {
    tokio::time::timeout(Duration::from_secs(20), conn.closed())
        .await
        .expect("the connection did not close")
}

fn gone(err: &Error) -> bool {
    matches!(err, Error::ConnectionClosed(m) if m.contains(" is gone ("))
}

#[tokio::test]
async fn closed_resolves_with_the_reason_and_on_close_runs_once_even_when_registered_late() {
    let (client, server) = rpyc::connect_pair().await;
    let runs = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let (r, t) = (runs.clone(), tx.clone());
    client.on_close(move |reason| {
        r.fetch_add(1, Ordering::SeqCst);
        t.send(reason.to_string()).unwrap();
    });
    // `closed()` holds no handle: spawned, it does not keep the connection open.
    let waiting = tokio::spawn(client.closed());
    server.abort("maintenance");
    assert_eq!(server.closed().await, "maintenance");
    let reason = waiting.await.unwrap();
    assert_eq!(reason, "the peer closed the connection");
    assert_eq!(rx.recv().unwrap(), reason);
    // Registered after the close: runs at once, with the same reason.
    let r = runs.clone();
    client.on_close(move |reason| {
        r.fetch_add(1, Ordering::SeqCst);
        tx.send(reason.to_string()).unwrap();
    });
    assert_eq!(rx.recv().unwrap(), reason);
    client.abort("again");
    client.close().await.unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 2, "each hook ran exactly once");
    assert_eq!(client.closed().await, reason, "the first reason stays");
}

#[tokio::test]
async fn a_panicking_hook_does_not_stop_the_others() {
    let (client, _server) = rpyc::connect_pair().await;
    let (tx, rx) = std::sync::mpsc::channel();
    client.on_close(|_| panic!("hook failed"));
    client.on_close(move |reason| tx.send(reason.to_string()).unwrap());
    client.abort("bye");
    assert_eq!(rx.recv().unwrap(), "bye");
}

#[tokio::test]
async fn pending_calls_fail_with_the_reason_and_later_calls_say_the_connection_is_gone() {
    let config = Config::builder()
        .eof_grace(Duration::from_millis(50))
        .build();
    let (client, server) = rpyc::connect_pair_with(rpyc::testing::EchoService, config).await;
    let root = client.root().await.unwrap();
    let numbers = root.call_method("numbers", (3,)).await.unwrap();
    let numbers: rpyc::NetRef = numbers.extract().unwrap();
    // A call that cannot complete: the server waits on a callback of ours that never returns.
    let never = Callback::new(|_, _| std::future::pending::<i64>());
    let pending = {
        let root = root.clone();
        tokio::spawn(async move { root.call_method("call", (never,)).await })
    };
    while server.in_flight() == 0 {
        tokio::task::yield_now().await;
    }
    client.abort("the user gave up");
    let err = pending.await.unwrap().unwrap_err();
    assert!(
        matches!(&err, Error::ConnectionClosed(m) if m == "the user gave up"),
        "{err:?}"
    );
    let reason = ended(&client).await;
    // Later calls, through the root, another NetRef or the connection: at once, "gone".
    let name = client.config().connid.clone().unwrap();
    let err = root.call_method("add", (1, 2)).await.unwrap_err();
    assert!(gone(&err), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&name) && text.contains(&reason), "{text}");
    assert!(gone(&root.getattr("anything").await.unwrap_err()));
    assert!(gone(&numbers.repr().await.unwrap_err()));
    assert!(gone(&client.root().await.unwrap_err()));
    assert!(gone(&client.ping().await.unwrap_err()));
    // Dropping references of a closed connection: no panic, no hang, nothing sent.
    drop(numbers);
    drop(root);
    assert_eq!(client.proxy_count(), 0);
    ended(&server).await;
    assert_eq!(server.object_count(), 0, "the server freed what we held");
}

/// The socket options of this process's TCP socket at `local` → `peer`, read back with
/// getsockopt: (keepalive on, idle, interval, probes).
#[cfg(target_os = "linux")]
fn keepalive_of(
    local: Option<std::net::SocketAddr>,
    peer: std::net::SocketAddr,
) -> (bool, Duration, Duration, u32) {
    use std::os::fd::BorrowedFd;
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Ok(fd) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|t| t.to_string_lossy().starts_with("socket:"));
        if !is_socket {
            continue;
        }
        // SAFETY: the descriptor is one of this process's open sockets, borrowed only for the
        // getsockopt calls below while the connection that owns it stays open.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let sock = socket2::SockRef::from(&fd);
        let addr = |a: std::io::Result<socket2::SockAddr>| a.ok().and_then(|a| a.as_socket());
        let (Some(l), Some(p)) = (addr(sock.local_addr()), addr(sock.peer_addr())) else {
            continue;
        };
        if p == peer && local.is_none_or(|want| want == l) {
            return (
                sock.keepalive().unwrap(),
                sock.tcp_keepalive_time().unwrap(),
                sock.tcp_keepalive_interval().unwrap(),
                sock.tcp_keepalive_retries().unwrap(),
            );
        }
    }
    panic!("no socket {local:?} -> {peer}");
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn keepalive_is_on_by_default_on_connected_and_accepted_sockets() {
    use rpyc::server::{services::CalculatorService, Server};
    let server = Server::bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    let stop = server.shutdown_handle();
    tokio::spawn(server.serve(CalculatorService::new));
    let client = rpyc::connect(addr).await.unwrap();
    client.ping().await.unwrap(); // the server has accepted and tuned its socket
    let defaults = (true, Duration::from_secs(60), Duration::from_secs(10), 6);
    assert_eq!(keepalive_of(None, addr), defaults, "the client's socket");
    // The accepted socket: local = the server's address, peer = the client's socket.
    let client_addr = client_local_addr(addr);
    assert_eq!(
        keepalive_of(Some(addr), client_addr),
        defaults,
        "the server's socket"
    );
    // Configurable, and off with `None`.
    let mut config = Config::default();
    config.keepalive = Some(rpyc::Keepalive {
        idle: Duration::from_secs(30),
        interval: Duration::from_secs(5),
        retries: 3,
    });
    let server2 = Server::bind("127.0.0.1:0").await.unwrap().config(config);
    let addr2 = server2.local_addr().unwrap();
    tokio::spawn(server2.serve(CalculatorService::new));
    let mut off = Config::default();
    off.keepalive = None;
    let c2 = rpyc::connect_with(addr2, Arc::new(rpyc::VoidService), off)
        .await
        .unwrap();
    c2.ping().await.unwrap();
    assert!(!keepalive_of(None, addr2).0, "turned off on the client");
    let k = keepalive_of(Some(addr2), client_local_addr(addr2));
    assert_eq!(
        k,
        (true, Duration::from_secs(30), Duration::from_secs(5), 3)
    );
    stop.shutdown();
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn keepalive_is_on_for_tls_too_on_both_sides() {
    use rpyc::server::{services::CalculatorService, Server};
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (ck.cert.pem(), ck.signing_key.serialize_pem());
    let acceptor = rpyc::server::tls::acceptor_from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
    let server = Server::bind("127.0.0.1:0").await.unwrap().tls(acceptor);
    let addr = server.local_addr().unwrap();
    let stop = server.shutdown_handle();
    tokio::spawn(server.serve(CalculatorService::new));
    let tls = rpyc::tls::client_config(cert.as_bytes()).unwrap();
    let client = rpyc::tls::tls_connect(addr, "localhost", tls)
        .await
        .unwrap();
    client.ping().await.unwrap();
    let defaults = (true, Duration::from_secs(60), Duration::from_secs(10), 6);
    assert_eq!(keepalive_of(None, addr), defaults, "the client's socket");
    let accepted = keepalive_of(Some(addr), client_local_addr(addr));
    assert_eq!(accepted, defaults, "the server's socket");
    stop.shutdown();
}

/// The local address of this process's client socket connected to `server`.
#[cfg(target_os = "linux")]
fn client_local_addr(server: std::net::SocketAddr) -> std::net::SocketAddr {
    let tcp = std::fs::read_to_string("/proc/self/net/tcp").unwrap();
    let hex = |a: std::net::SocketAddr| match a {
        std::net::SocketAddr::V4(v4) => format!(
            "{:08X}:{:04X}",
            u32::from_le_bytes(v4.ip().octets()),
            v4.port()
        ),
        std::net::SocketAddr::V6(_) => unreachable!("the tests bind IPv4"),
    };
    let want = hex(server);
    for line in tcp.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() > 3 && f[2] == want && f[3] == "01" {
            let (ip, port) = f[1].split_once(':').unwrap();
            let ip = u32::from_str_radix(ip, 16).unwrap().to_le_bytes();
            let port = u16::from_str_radix(port, 16).unwrap();
            return std::net::SocketAddr::from((ip, port));
        }
    }
    panic!("no client socket to {server}");
}

fn pinging(interval_ms: u64, timeout_ms: u64) -> Config {
    let mut config = Config::default();
    config.ping_interval = Some(Duration::from_millis(interval_ms));
    config.ping_timeout = Duration::from_millis(timeout_ms);
    config
}

#[tokio::test]
async fn a_peer_that_answers_nothing_is_cut_by_the_ping_deadline() {
    // A raw TCP server that accepts and then never reads nor writes a byte.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        std::future::pending::<()>().await;
        drop(s);
    });
    let conn = rpyc::connect_with(addr, Arc::new(rpyc::VoidService), pinging(50, 100))
        .await
        .unwrap();
    let reason = ended(&conn).await;
    assert!(
        reason.contains("no reply to a ping within 0.1 s"),
        "{reason}"
    );
    assert!(gone(&conn.ping().await.unwrap_err()));
    silent.abort();
}

#[tokio::test]
async fn a_live_idle_peer_answers_pings_and_is_never_cut() {
    let (client, server) =
        rpyc::connect_pair_with(rpyc::testing::EchoService, pinging(20, 200)).await;
    let root = client.root().await.unwrap();
    // Many ping intervals of silence (on both sides: both ping, both answer).
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(!client.is_closed(), "{:?}", client.close_reason());
        assert!(!server.is_closed(), "{:?}", server.close_reason());
    }
    let sum: i64 = root
        .call_method("add", (40, 2))
        .await
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(sum, 42);
}

/// One end of an in-memory stream that can be frozen: reads never complete and writes vanish
/// (a process stopped with SIGSTOP, a proxy that stopped forwarding).
struct Freezable {
    inner: DuplexStream,
    frozen: Arc<AtomicBool>,
}

impl AsyncRead for Freezable {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.frozen.load(Ordering::SeqCst) {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Freezable {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.frozen.load(Ordering::SeqCst) {
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn a_frozen_path_closes_both_sides_with_the_reason_and_frees_their_tables() {
    let frozen = Arc::new(AtomicBool::new(false));
    let (a, b) = tokio::io::duplex(1 << 16);
    let wrap = |inner| Freezable {
        inner,
        frozen: frozen.clone(),
    };
    let config = pinging(30, 150);
    let server = rpyc::Connection::new(
        wrap(b),
        Arc::new(rpyc::testing::EchoService),
        config.clone(),
    );
    let client = rpyc::Connection::new(wrap(a), Arc::new(rpyc::VoidService), config);
    let root = client.root().await.unwrap();
    let numbers: rpyc::NetRef = root
        .call_method("numbers", (3,))
        .await
        .unwrap()
        .extract()
        .unwrap();
    assert!(server.object_count() >= 2, "the root and the iterator");
    frozen.store(true, Ordering::SeqCst);
    for conn in [&client, &server] {
        let reason = ended(conn).await;
        assert!(reason.contains("no reply to a ping"), "{reason}");
    }
    assert_eq!(server.object_count(), 0, "the server's table is freed");
    assert!(gone(&numbers.repr().await.unwrap_err()));
}
