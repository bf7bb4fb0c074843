//! The server on each kind of listener: IPv4, IPv6, a Unix socket; one-shot mode; the
//! connection limit.

use std::time::Duration;

use rpyc_core::Value;
use rpyc_server::services::CalculatorService;
use rpyc_server::Server;

#[tokio::test]
async fn ipv6_listener() {
    let server = Server::bind("[::1]:0").await.expect("bind ::1");
    let addr = server.local_addr().unwrap();
    assert!(addr.is_ipv6());
    let stop = server.shutdown_handle();
    let task = tokio::spawn(server.serve(CalculatorService::new));
    let conn = rpyc_netref::connect(addr).await.unwrap();
    let root = conn.root().await.unwrap();
    assert_eq!(
        root.call_method("add", (1, 2)).await.unwrap(),
        Value::Int(3)
    );
    stop.shutdown();
    task.await.unwrap().unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn unix_listener_and_stale_socket_file() {
    let path = std::env::temp_dir().join(format!("rpyc-listeners-{}.sock", std::process::id()));
    // A stale socket file from a dead server is replaced.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let server = Server::bind_unix(&path).await.unwrap();
    let stop = server.shutdown_handle();
    let task = tokio::spawn(server.serve(CalculatorService::new));
    let conn = rpyc_netref::unix_connect(&path).await.unwrap();
    let root = conn.root().await.unwrap();
    assert_eq!(
        root.call_method("multiply", (6, 7)).await.unwrap(),
        Value::Int(42)
    );
    stop.shutdown();
    task.await.unwrap().unwrap();
    assert!(!path.exists(), "the socket file is removed at shutdown");
}

#[tokio::test]
async fn one_shot_serves_one_connection_then_stops() {
    let server = Server::bind("127.0.0.1:0").await.unwrap().one_shot(true);
    let addr = server.local_addr().unwrap();
    let task = tokio::spawn(server.serve(CalculatorService::new));
    let conn = rpyc_netref::connect(addr).await.unwrap();
    let root = conn.root().await.unwrap();
    assert_eq!(
        root.call_method("add", (2, 2)).await.unwrap(),
        Value::Int(4)
    );
    conn.close().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the server stops after its one connection")
        .unwrap()
        .unwrap();
    assert!(
        rpyc_netref::connect(addr).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn connection_limit_makes_extra_clients_wait() {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .max_connections(1);
    let addr = server.local_addr().unwrap();
    let counter = server.connection_counter();
    let stop = server.shutdown_handle();
    let task = tokio::spawn(server.serve(CalculatorService::new));
    let first = rpyc_netref::connect(addr).await.unwrap();
    first.root().await.unwrap();
    // The second client's TCP connect succeeds (kernel backlog) but it is not served yet.
    let second = rpyc_netref::connect(addr).await.unwrap();
    let pending = tokio::spawn(async move { second.root().await.map(|_| second) });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!pending.is_finished(), "served beyond the limit");
    assert_eq!(counter.get(), 1);
    first.close().await.unwrap();
    let second = tokio::time::timeout(Duration::from_secs(10), pending)
        .await
        .expect("served once a slot frees")
        .unwrap()
        .unwrap();
    assert_eq!(counter.get(), 1);
    second.close().await.unwrap();
    stop.shutdown();
    task.await.unwrap().unwrap();
}
