//! End of stream from the peer, seen from the wire: a peer that sends its requests and then
//! shuts down its write side still gets every reply; our own calls to a peer that stopped
//! sending fail at once.

mod wire;

use std::sync::Arc;
use std::time::Duration;

use rpyc::core::message::{Boxed, Handler, Message};
use rpyc::core::{Config, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wire::{call, get_root, read_message, request};

/// Answers slowly and quickly.
struct Slow;

#[rpyc::service]
impl Slow {
    /// Waits `ms` milliseconds, then returns them.
    #[exposed]
    async fn sleep(&self, ms: i64) -> i64 {
        tokio::time::sleep(Duration::from_millis(ms as u64)).await;
        ms
    }

    /// `a + b`.
    #[exposed]
    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

#[tokio::test]
async fn requests_sent_before_a_half_close_are_all_answered() {
    let (mut peer, ours) = tokio::io::duplex(1 << 20);
    let conn = rpyc::Connection::new(ours, Arc::new(Slow), Config::default());
    let root = get_root(&mut peer).await;
    // ping, sleep(300 ms), add(1, 2), then the write side is shut down.
    let mut out = Vec::new();
    request(
        &mut out,
        1,
        Handler::Ping,
        Boxed::Tuple(vec![Boxed::Value(Value::str("hi"))]),
    );
    call(&mut out, 2, &root, "sleep", vec![Value::Int(300)]);
    call(
        &mut out,
        3,
        &root,
        "add",
        vec![Value::Int(1), Value::Int(2)],
    );
    peer.write_all(&out).await.unwrap();
    peer.shutdown().await.unwrap();

    let mut answers = Vec::new();
    for _ in 0..3 {
        match read_message(&mut peer).await {
            Message::Reply {
                seq,
                value: Boxed::Value(v),
            } => answers.push((seq, v)),
            other => panic!("expected a reply, got {other:?}"),
        }
    }
    answers.sort_by_key(|a| a.0);
    assert_eq!(
        answers,
        vec![
            (1, Value::str("hi")),
            (2, Value::Int(300)),
            (3, Value::Int(3))
        ]
    );
    // Then the connection closes: end of stream.
    let mut rest = Vec::new();
    peer.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty());
    assert!(conn.close_reason().unwrap().contains("peer closed"));
}

#[tokio::test]
async fn our_call_to_a_peer_that_stopped_sending_fails_at_once() {
    let (mut peer, ours) = tokio::io::duplex(1 << 20);
    let mut config = Config::default();
    // Only the end of stream can end the call below.
    config.sync_request_timeout = None;
    let conn = rpyc::Connection::new(ours, Arc::new(rpyc::VoidService), config);
    let pending = tokio::spawn(async move { conn.root().await.map(|_| ()) });
    // The peer reads the request, then stops sending without an answer.
    let _ = read_message(&mut peer).await;
    peer.shutdown().await.unwrap();
    let err = pending.await.unwrap().unwrap_err();
    assert!(
        matches!(&err, rpyc::Error::ConnectionClosed(m) if m.contains("peer closed")),
        "{err}"
    );
}

#[tokio::test]
async fn a_request_still_running_after_the_grace_does_not_hold_the_connection() {
    let (mut peer, ours) = tokio::io::duplex(1 << 20);
    let mut config = Config::default();
    config.eof_grace = Duration::from_millis(100);
    let conn = rpyc::Connection::new(ours, Arc::new(Slow), config);
    let root = get_root(&mut peer).await;
    // A killed client looks the same: a long request, then end of stream.
    let mut out = Vec::new();
    call(&mut out, 1, &root, "sleep", vec![Value::Int(600_000)]);
    peer.write_all(&out).await.unwrap();
    peer.shutdown().await.unwrap();
    let mut rest = Vec::new();
    peer.read_to_end(&mut rest).await.unwrap();
    let reason = conn.close_reason().unwrap();
    assert!(reason.contains("still running after 0.1 s"), "{reason}");
}
