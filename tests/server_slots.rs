//! The server's connection slots (`rpyc-server`'s `slots`): a silent connection makes room for
//! a newcomer when every slot is taken, a connection that has spoken never does (the newcomer
//! waits), and the optional per-peer limit closes the extra connection of one address.

use std::time::Duration;

use rpyc::server::{services::CalculatorService, Server};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// A server with `max` slots (and `per_peer`), its address and its stop handle.
async fn server(
    max: usize,
    per_peer: Option<usize>,
) -> (std::net::SocketAddr, rpyc::server::ShutdownHandle) {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .max_connections(max)
        .max_connections_per_peer(per_peer);
    let addr = server.local_addr().unwrap();
    let stop = server.shutdown_handle();
    tokio::spawn(server.serve(CalculatorService::new));
    (addr, stop)
}

async fn add(conn: &rpyc::Connection) -> i64 {
    let root = conn.root().await.unwrap();
    root.call_method("add", (40, 2))
        .await
        .unwrap()
        .extract()
        .unwrap()
}

/// Reads until the server closes the socket (bounded: the test fails rather than hangs).
async fn closed_by_server(mut s: TcpStream) {
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(20), s.read(&mut buf))
        .await
        .expect("the server kept the connection")
        .unwrap_or(0);
    assert_eq!(n, 0, "expected end of stream");
}

#[tokio::test]
async fn a_silent_connection_makes_room_when_every_slot_is_taken() {
    let (addr, stop) = server(2, None).await;
    let talker = rpyc::connect(addr).await.unwrap();
    assert_eq!(add(&talker).await, 42);
    let silent = TcpStream::connect(addr).await.unwrap();
    // Both slots taken; the newcomer evicts the silent one, never the one that spoke.
    let newcomer = rpyc::connect(addr).await.unwrap();
    assert_eq!(add(&newcomer).await, 42);
    closed_by_server(silent).await;
    assert_eq!(add(&talker).await, 42);
    stop.shutdown();
}

#[tokio::test]
async fn when_every_connection_has_spoken_a_newcomer_waits_for_a_slot() {
    let (addr, stop) = server(1, None).await;
    let first = rpyc::connect(addr).await.unwrap();
    assert_eq!(add(&first).await, 42);
    let waiting = tokio::spawn(async move {
        let conn = rpyc::connect(addr).await.unwrap();
        add(&conn).await
    });
    // The newcomer is not served while the first connection is open...
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished());
    assert_eq!(
        add(&first).await,
        42,
        "the first connection was not evicted"
    );
    // ...and is as soon as it closes.
    first.close().await.unwrap();
    assert_eq!(waiting.await.unwrap(), 42);
    stop.shutdown();
}

#[tokio::test]
async fn the_per_peer_limit_closes_the_extra_connection() {
    let (addr, stop) = server(16, Some(1)).await;
    let first = rpyc::connect(addr).await.unwrap();
    assert_eq!(add(&first).await, 42);
    closed_by_server(TcpStream::connect(addr).await.unwrap()).await;
    assert_eq!(add(&first).await, 42);
    stop.shutdown();
}
