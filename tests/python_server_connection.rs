//! Rust client → real Python rpyc 6.0.2 server (`support/py_server.rs`): the connection
//! itself: async calls in flight, several connections in parallel, ping, per-call timeouts,
//! and close.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[path = "support/py_server.rs"]
mod py_server;

use py_server::{int, session, string, PyServer};
use rpyc::{Args, AsyncResult, Error, Value};

#[tokio::test]
async fn async_calls_in_flight() {
    let (_server, _conn, root) = session(false).await;

    // Python serves one request at a time per connection: the sleep holds up the adds behind
    // it, but they are all in flight at once.
    let slow: AsyncResult = root.async_call_method("sleep", (0.3,));
    let sums: Vec<AsyncResult> = (0..10)
        .map(|i| root.async_call_method("add", (i, 100)))
        .collect();
    let greeting = root.async_call_method("greet", Args::new().arg("dee").kwarg("greeting", "yo"));
    let failing = root.async_call_method("fail", ("async boom",));

    assert!(!slow.ready());
    assert!(!slow.error());
    assert!(!slow.expired());
    let notified = Arc::new(AtomicUsize::new(0));
    let n = notified.clone();
    slow.add_callback(move |r| {
        assert!(r.ready());
        n.fetch_add(1, Ordering::SeqCst);
    });

    slow.wait().await.unwrap();
    assert!(slow.ready() && !slow.error());
    assert_eq!(notified.load(Ordering::SeqCst), 1);
    assert_eq!(slow.value().await.unwrap(), Value::Float(0.3));
    assert_eq!(slow.try_value().unwrap().unwrap(), Value::Float(0.3));

    for (i, r) in sums.into_iter().enumerate() {
        assert_eq!(int(r.await.unwrap()), i as i64 + 100);
    }
    assert_eq!(string(greeting.value().await.unwrap()), "yo, dee!");

    failing.wait_timeout(Duration::from_secs(10)).await.unwrap();
    assert!(failing.ready() && failing.error());
    let err = failing.value().await.unwrap_err();
    assert!(err.is_remote("ValueError"), "{err:?}");
}

#[tokio::test]
async fn async_calls_on_several_connections_run_in_parallel() {
    let server = PyServer::start(false);
    // ThreadedServer serves each connection in its own thread: while three connections are
    // inside a long `sleep`, a fourth one is answered (no clock involved: the sleeps are still
    // pending when the answer arrives).
    let mut conns = Vec::new();
    let mut roots = Vec::new();
    for _ in 0..4 {
        let c = server.connect().await;
        roots.push(c.root().await.unwrap());
        conns.push(c);
    }
    let sleepers: Vec<AsyncResult> = roots[..3]
        .iter()
        .map(|r| r.async_call_method("sleep", (60.0,)))
        .collect();
    assert_eq!(int(roots[3].call_method("add", (1, 2)).await.unwrap()), 3);
    assert!(sleepers.iter().all(|p| !p.ready()));
}

#[tokio::test]
async fn ping() {
    let (_server, conn, _root) = session(false).await;
    conn.ping().await.unwrap();
    conn.ping_with(Value::str("custom payload"), Some(Duration::from_secs(5)))
        .await
        .unwrap();
}

#[tokio::test]
async fn per_call_timeout_leaves_the_connection_usable() {
    let server = PyServer::start(false);
    let conn = server.connect().await;
    let root = conn.root().await.unwrap();

    let err = root
        .with_timeout(Some(Duration::from_millis(200)))
        .call_method("sleep", (2,))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Timeout(d) if d == Duration::from_millis(200)),
        "{err:?}"
    );
    assert!(!conn.is_closed());

    // Python is still sleeping on that connection; another connection is served meanwhile.
    let other = server.connect().await;
    other.ping().await.unwrap();
    let other_root = other.root().await.unwrap();
    assert_eq!(int(other_root.call_method("add", (2, 2)).await.unwrap()), 4);

    // The first connection answers once the sleep is over; the late reply of the timed-out
    // call is dropped, not mistaken for this one's.
    assert_eq!(int(root.call_method("add", (1, 2)).await.unwrap()), 3);
    conn.ping().await.unwrap();
    // `None` waits as long as it takes.
    assert_eq!(
        root.with_timeout(None)
            .call_method("sleep", (0.1,))
            .await
            .unwrap(),
        Value::Float(0.1)
    );
}

#[tokio::test]
async fn close_is_clean_and_idempotent() {
    let server = PyServer::start(false);
    let conn = server.connect().await;
    let root = conn.root().await.unwrap();
    assert_eq!(int(root.call_method("add", (1, 2)).await.unwrap()), 3);

    conn.close().await.unwrap();
    assert!(conn.is_closed());
    conn.close().await.unwrap(); // a second close is a no-op

    let err = root.call_method("add", (1, 2)).await.unwrap_err();
    assert!(matches!(err, Error::ConnectionClosed(_)), "{err:?}");
    assert!(matches!(conn.ping().await, Err(Error::ConnectionClosed(_))));
    drop(root); // releasing a proxy of a closed connection is harmless
                // (While a root reference is alive, `conn.root()` returns it from the cache, as Python's
                // `conn.root` does; once it is gone, asking for it needs the closed connection.)
    assert!(matches!(conn.root().await, Err(Error::ConnectionClosed(_))));

    // The server is unaffected: a new connection works.
    let again = server.connect().await;
    let root = again.root().await.unwrap();
    assert_eq!(int(root.call_method("add", (3, 4)).await.unwrap()), 7);
    again.close().await.unwrap();
}
