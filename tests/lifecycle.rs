//! The life of a connection: ping, serving, closing, the peer dying under pending calls, and
//! request timeouts.

#[macro_use]
mod common;

use std::time::Duration;

use common::{connect, connect_default, wait_until, within, Transport};
use rpyc::{AsyncResult, Config, Error, Value};

struct SleepyService;

#[rpyc::service]
impl SleepyService {
    #[exposed]
    async fn sleep(&self, seconds: f64) -> f64 {
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        seconds
    }

    #[exposed]
    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

fn assert_closed<T: std::fmt::Debug>(r: rpyc::Result<T>, what: &str) {
    match r {
        Err(Error::ConnectionClosed(_)) => {}
        other => panic!("{what}: expected Error::ConnectionClosed, got {other:?}"),
    }
}

async fn ping(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, || SleepyService).await;
    conn.ping().await?;
    conn.ping_with(
        Value::bytes((0..=255u8).collect::<Vec<u8>>()),
        Some(Duration::from_secs(10)),
    )
    .await?;
    conn.ping_with(
        Value::Tuple(vec![Value::Int(1), Value::str("two"), Value::None]),
        None,
    )
    .await?;
    conn.ping_with(
        Value::str("x".repeat(100_000)),
        Some(Duration::from_secs(10)),
    )
    .await?;
    Ok(())
}

async fn serve_all_returns_when_the_peer_closes(t: Transport) -> rpyc::Result<()> {
    let (conn, server) = connect_default(t, || SleepyService).await;
    conn.ping().await?;
    let serving = tokio::spawn({
        let conn = conn.clone();
        async move { conn.serve_all().await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        !serving.is_finished(),
        "serve_all returned on an open connection"
    );
    server.kill();
    within("serve_all", Duration::from_secs(10), serving)
        .await
        .expect("serve_all panicked");
    assert!(conn.is_closed());
    assert!(conn.close_reason().is_some());
    assert_closed(conn.ping().await, "ping after the peer closed");
    Ok(())
}

async fn serve_and_poll_report_served_messages(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, || SleepyService).await;
    let root = conn.root().await?;

    // Nothing comes in (once the root's reply is behind us: see the next test).
    conn.poll_all(Duration::from_millis(100)).await;
    assert!(!conn.serve(Duration::from_millis(100)).await);
    assert!(!conn.poll_all(Duration::from_millis(100)).await);

    // A reply comes in.
    let res: AsyncResult = root.async_call_method("sleep", (0.2,));
    assert!(
        conn.serve(Duration::from_secs(10)).await,
        "serve() did not report the reply"
    );
    assert!(res.ready());

    let res = root.async_call_method("sleep", (0.05,));
    assert!(
        conn.poll_all(Duration::from_millis(1500)).await,
        "poll_all() did not report the reply"
    );
    assert!(res.ready());
    assert_eq!(res.await?, Value::Float(0.05));
    Ok(())
}

async fn close_is_clean_and_idempotent(t: Transport) -> rpyc::Result<()> {
    let (conn, server) = connect_default(t, || SleepyService).await;
    let root = conn.root().await?;
    assert_eq!(root.call_method("add", (1, 2)).await?, Value::Int(3));
    assert_eq!(server.open_connections(), 1);

    let pending = root.async_call_method("sleep", (10.0,));
    within("close", Duration::from_secs(10), conn.close()).await?;
    assert!(conn.is_closed());
    assert!(conn.close_reason().is_some());
    within("close again", Duration::from_secs(10), conn.close()).await?;
    assert!(conn.is_closed());

    assert_closed(
        within("the pending call", Duration::from_secs(5), pending.value()).await,
        "the call pending at close",
    );
    assert_closed(root.call_method("add", (1, 2)).await, "a call after close");
    assert_closed(root.getattr("add").await, "getattr after close");
    assert_closed(conn.ping().await, "ping after close");
    assert_closed(
        root.async_call_method("add", (1, 2)).await,
        "an async call after close",
    );

    wait_until("the server saw the close", Duration::from_secs(10), || {
        server.open_connections() == 0
    })
    .await;
    Ok(())
}

async fn pending_calls_fail_when_the_peer_dies(t: Transport) -> rpyc::Result<()> {
    let (conn, server) = connect_default(t, || SleepyService).await;
    let root = conn.root().await?;
    assert_eq!(root.call_method("add", (1, 2)).await?, Value::Int(3));

    let async_pending = root.async_call_method("sleep", (10.0,));
    let sync_pending = tokio::spawn({
        let root = root.clone();
        async move { root.call_method("sleep", (10.0,)).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!async_pending.ready());

    server.kill();
    assert_closed(
        within(
            "the pending async call",
            Duration::from_secs(5),
            async_pending.value(),
        )
        .await,
        "the pending async call",
    );
    assert_closed(
        within("the pending call", Duration::from_secs(5), sync_pending)
            .await
            .expect("the caller panicked"),
        "the pending call",
    );
    assert!(conn.is_closed());
    assert_closed(
        root.call_method("add", (1, 2)).await,
        "a call on a dead connection",
    );
    Ok(())
}

async fn request_timeouts(t: Transport) -> rpyc::Result<()> {
    let cfg = Config::builder()
        .sync_request_timeout(Some(Duration::from_millis(200)))
        .build();
    let (conn, _server) = connect(t, || SleepyService, cfg).await;
    let root = conn.root().await?;

    let e = root.call_method("sleep", (1.0,)).await.unwrap_err();
    assert!(
        matches!(e, Error::Timeout(d) if d == Duration::from_millis(200)),
        "{e:?}"
    );
    // Still usable, at once and after the late reply came in.
    assert_eq!(root.call_method("add", (1, 2)).await?, Value::Int(3));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(root.call_method("add", (2, 2)).await?, Value::Int(4));
    assert!(!conn.is_closed());

    // Per-reference overrides: wait forever, or longer than the config says.
    let patient = root.with_timeout(None);
    assert_eq!(
        patient.call_method("sleep", (0.5,)).await?,
        Value::Float(0.5)
    );
    let longer = root.with_timeout(Some(Duration::from_secs(10)));
    assert_eq!(
        longer.call_method("sleep", (0.4,)).await?,
        Value::Float(0.4)
    );
    assert_eq!(patient, root, "the same object behind both handles");
    // The original handle keeps the configured timeout.
    let e = root.call_method("sleep", (0.6,)).await.unwrap_err();
    assert!(matches!(e, Error::Timeout(_)), "{e:?}");

    // A shorter per-reference timeout on a default connection.
    let (conn2, _server2) = connect_default(t, || SleepyService).await;
    let root2 = conn2.root().await?;
    let hasty = root2.with_timeout(Some(Duration::from_millis(50)));
    let e = hasty.call_method("sleep", (0.5,)).await.unwrap_err();
    assert!(
        matches!(e, Error::Timeout(d) if d == Duration::from_millis(50)),
        "{e:?}"
    );
    assert_eq!(root2.call_method("sleep", (0.1,)).await?, Value::Float(0.1));
    Ok(())
}

async fn dropping_every_handle_closes_the_connection(t: Transport) -> rpyc::Result<()> {
    let (conn, server) = connect_default(t, || SleepyService).await;
    let root = conn.root().await?;
    assert_eq!(server.open_connections(), 1);

    // A NetRef keeps the connection alive without the Connection handle.
    drop(conn);
    assert_eq!(root.call_method("add", (1, 2)).await?, Value::Int(3));
    assert_eq!(server.open_connections(), 1);

    drop(root);
    wait_until(
        "the server saw the connection go",
        Duration::from_secs(10),
        || server.open_connections() == 0,
    )
    .await;
    Ok(())
}

/// A reply that a call has already returned is not reported again by a later `serve()`: right
/// after a round trip, with nothing else on the way, `serve()` has nothing to report.
async fn serve_does_not_report_replies_already_delivered(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, || SleepyService).await;
    let root = conn.root().await?;
    for i in 0..200 {
        assert_eq!(root.call_method("add", (i, 1)).await?, Value::Int(i + 1));
        assert!(
            !conn.serve(Duration::from_millis(2)).await,
            "round {i}: serve() reported a message although none arrived after the call returned"
        );
    }
    Ok(())
}

/// After `close()`, asking for the root fails like every other request, even while an old
/// reference to the root is still alive (Python's `conn.root` after `close()` raises too).
async fn root_after_close_fails(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, || SleepyService).await;
    let root = conn.root().await?;
    conn.close().await?;
    assert_closed(conn.root().await, "root() after close");
    drop(root);
    assert_closed(conn.root().await, "root() after close");
    Ok(())
}

transport_tests!(
    root_after_close_fails,
    serve_does_not_report_replies_already_delivered,
    ping,
    serve_all_returns_when_the_peer_closes,
    serve_and_poll_report_served_messages,
    close_is_clean_and_idempotent,
    pending_calls_fail_when_the_peer_dies,
    request_timeouts,
    dropping_every_handle_closes_the_connection,
);

/// The serving side of an in-process pair: `serve_all` returns when the client closes, and
/// `serve` reports the client's requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_serving_side_sees_the_client() -> rpyc::Result<()> {
    let (client, server) = rpyc::connect_pair_with(SleepyService, Config::default()).await;
    let root = client.root().await?;

    // serve() starts waiting first, then the client sends a request.
    let (served, res) = tokio::join!(server.serve(Duration::from_secs(10)), async {
        root.call_method("add", (2, 3)).await
    });
    assert!(served, "serve() did not report the request");
    assert_eq!(res?, Value::Int(5));

    let serving = tokio::spawn({
        let server = server.clone();
        async move { server.serve_all().await }
    });
    client.close().await?;
    within(
        "serve_all on the serving side",
        Duration::from_secs(10),
        serving,
    )
    .await
    .expect("serve_all panicked");
    assert!(server.is_closed());
    Ok(())
}
