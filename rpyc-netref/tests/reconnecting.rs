//! `rpyc::Reconnecting`: lazy connection, reconnection after the server is stopped and started
//! again on the same port, backoff while it is down (calls fail at once, none hangs), only
//! idempotent calls retried, old references failing with "gone", the root fetched anew; the
//! connector pluggable (TCP, Unix socket, closure) and a blocking variant.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rpyc::server::{services::CalculatorService, Server, ShutdownHandle};
use rpyc::{Backoff, Error, Reconnecting, Value};

/// Serves the calculator on `addr` (port 0: any); returns the bound address and the stop handle.
async fn serve(addr: SocketAddr) -> (SocketAddr, ShutdownHandle) {
    let server = Server::bind(addr)
        .await
        .unwrap()
        .grace_period(Duration::ZERO);
    let addr = server.local_addr().unwrap();
    let stop = server.shutdown_handle();
    tokio::spawn(server.serve(CalculatorService::new));
    (addr, stop)
}

fn quick() -> Backoff {
    Backoff {
        min: Duration::from_millis(20),
        max: Duration::from_millis(200),
        factor: 2.0,
        jitter: 0.5,
    }
}

/// A call that must end (succeed or fail) within 10 s: the test fails rather than hangs.
async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("a call hung")
}

fn connection_error(e: &Error) -> bool {
    matches!(e, Error::ConnectionClosed(_) | Error::Connect { .. })
}

#[tokio::test]
async fn resumes_after_the_server_is_stopped_and_started_again_on_the_same_port() {
    let (addr, stop) = serve("127.0.0.1:0".parse().unwrap()).await;
    let client = Reconnecting::tcp(addr.to_string()).backoff(quick());
    assert!(client.current().is_none(), "connects lazily");
    let old_root = client.root().await.unwrap();
    let caller = {
        let client = client.clone();
        tokio::spawn(async move {
            let (mut ok, mut failed) = (0u32, Vec::new());
            for i in 0..400i64 {
                match bounded(client.call("add", (i, 1))).await {
                    Ok(v) => {
                        assert_eq!(v, Value::Int(i + 1), "each call's own answer");
                        ok += 1;
                    }
                    Err(e) => {
                        assert!(connection_error(&e), "unclear error: {e:?}");
                        failed.push(e);
                    }
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            (ok, failed)
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    stop.shutdown();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (_, stop) = serve(addr).await;
    let (ok, failed) = caller.await.unwrap();
    assert!(!failed.is_empty(), "the outage was seen");
    assert!(ok > 0, "calls succeeded");
    // Calls after the restart go through; the old root says its connection is gone.
    let sum = bounded(client.call("add", (2, 3))).await.unwrap();
    assert_eq!(sum, Value::Int(5));
    assert!(client.connections_made() >= 2);
    let err = old_root.call_method("add", (1, 1)).await.unwrap_err();
    assert!(
        matches!(&err, Error::ConnectionClosed(m) if m.contains("is gone")),
        "{err:?}"
    );
    let new_root = client.root().await.unwrap();
    assert_ne!(new_root, old_root, "the root is fetched anew");
    stop.shutdown();
}

#[tokio::test]
async fn while_down_calls_fail_at_once_and_only_idempotent_ones_wait_and_retry() {
    let (addr, stop) = serve("127.0.0.1:0".parse().unwrap()).await;
    let client = Reconnecting::tcp(addr.to_string())
        .backoff(quick())
        .retries(100);
    assert_eq!(client.call("add", (1, 1)).await.unwrap(), Value::Int(2));
    stop.shutdown();
    // The connection is lost: a plain call reports it (it is never retried) ...
    let err = bounded(async {
        loop {
            match client.call("add", (1, 1)).await {
                Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                Err(e) => return e,
            }
        }
    })
    .await;
    assert!(connection_error(&err), "{err:?}");
    // ... and, with the server down, so do the next ones, naming the target.
    let err = bounded(client.call("add", (1, 1))).await.unwrap_err();
    assert!(
        matches!(&err, Error::Connect { addr: a, .. } if *a == addr.to_string()),
        "{err:?}"
    );
    // An idempotent call waits out the backoff and succeeds once the server is back.
    let restart = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        serve(addr).await
    });
    let sum = bounded(client.call_idempotent("add", (20, 22)))
        .await
        .unwrap();
    assert_eq!(sum, Value::Int(42));
    restart.await.unwrap().1.shutdown();
}

#[tokio::test]
async fn an_idempotent_call_gives_up_after_its_retries_and_a_remote_error_is_never_retried() {
    let (addr, stop) = serve("127.0.0.1:0".parse().unwrap()).await;
    let runs = Arc::new(AtomicUsize::new(0));
    let client = Reconnecting::tcp(addr.to_string())
        .backoff(quick())
        .retries(2);
    let r = runs.clone();
    let err = client
        .run_idempotent(|root| {
            r.fetch_add(1, Ordering::SeqCst);
            async move { root.call_method("no_such_method", ()).await }
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Remote(_)), "{err:?}");
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "a remote error is not retried"
    );
    stop.shutdown();
    let err = bounded(client.call_idempotent("add", (1, 2)))
        .await
        .unwrap_err();
    assert!(connection_error(&err), "{err:?}");
}

#[tokio::test]
async fn the_connector_is_pluggable() {
    let (addr, stop) = serve("127.0.0.1:0".parse().unwrap()).await;
    let made = Arc::new(AtomicUsize::new(0));
    let m = made.clone();
    let client = Reconnecting::from_fn("calc", move || {
        m.fetch_add(1, Ordering::SeqCst);
        rpyc::connect(addr)
    });
    assert_eq!(made.load(Ordering::SeqCst), 0, "lazy");
    assert_eq!(client.call("add", (1, 2)).await.unwrap(), Value::Int(3));
    client.current().unwrap().abort("test");
    assert_eq!(client.call("add", (2, 2)).await.unwrap(), Value::Int(4));
    assert_eq!(
        made.load(Ordering::SeqCst),
        2,
        "reconnected through the closure"
    );
    assert_eq!(client.target(), "calc");
    stop.shutdown();
}

#[cfg(unix)]
#[tokio::test]
async fn reconnects_over_a_unix_socket() {
    let dir = std::env::temp_dir().join(format!("rpyc-reconnect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("calc.sock");
    let _ = std::fs::remove_file(&path);
    let server = Server::bind_unix(&path).await.unwrap();
    let stop = server.shutdown_handle();
    tokio::spawn(server.serve(CalculatorService::new));
    let client = Reconnecting::unix(&path).backoff(quick());
    assert_eq!(client.call("add", (1, 2)).await.unwrap(), Value::Int(3));
    client.current().unwrap().abort("test");
    assert_eq!(
        client.call_idempotent("add", (3, 4)).await.unwrap(),
        Value::Int(7)
    );
    stop.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_blocking_client_reconnects_too() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (addr, stop) = rt.block_on(serve("127.0.0.1:0".parse().unwrap()));
    let client: rpyc::blocking::Reconnecting =
        Reconnecting::tcp(addr.to_string()).backoff(quick()).into();
    assert_eq!(client.call("add", (1, 2)).unwrap(), Value::Int(3));
    client.connection().unwrap().as_async().abort("test");
    assert_eq!(
        client.call_idempotent("add", (5, 5)).unwrap(),
        Value::Int(10)
    );
    let root = client.root().unwrap();
    assert_eq!(root.call_method("add", (1, 1)).unwrap(), Value::Int(2));
    stop.shutdown();
}

#[tokio::test]
async fn an_attempt_that_never_completes_fails_after_the_connect_timeout() {
    let client = Reconnecting::from_fn("nowhere", std::future::pending)
        .connect_timeout(Duration::from_millis(100))
        .backoff(quick());
    let err = bounded(client.call("add", (1, 2))).await.unwrap_err();
    assert!(
        matches!(&err, Error::Connect { addr, source } if addr == "nowhere"
            && source.kind() == std::io::ErrorKind::TimedOut),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_old_reference_failing_in_a_body_does_not_drop_the_live_connection() {
    let (addr, stop) = serve("127.0.0.1:0".parse().unwrap()).await;
    let client = Reconnecting::tcp(addr.to_string()).backoff(quick());
    let old_root = client.root().await.unwrap();
    client.current().unwrap().abort("test");
    assert_eq!(client.call("add", (1, 1)).await.unwrap(), Value::Int(2));
    let live = client.current().unwrap();
    let err = client
        .run(|_root| async { old_root.call_method("add", (1, 1)).await })
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::ConnectionClosed(m) if m.contains("is gone")));
    assert_eq!(client.current().unwrap().id(), live.id(), "still the same");
    assert_eq!(client.connections_made(), 2);
    stop.shutdown();
}
