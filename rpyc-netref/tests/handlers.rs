//! Handlers under hostile input, seen from the wire: HASH tells nothing about memory, DEL with
//! an absurd count is refused and the connection stays usable.
//!
//! The test plays a client with raw frames against our connection serving `EchoService`.

mod wire;

use rpyc::core::message::{Boxed, Handler, Message};
use rpyc::core::{Config, IdPack, Value};
use tokio::io::{AsyncWriteExt, DuplexStream};
use wire::{read_message, request};

/// Sends one request and returns the reply (`Ok`) or exception (`Err`, its text).
async fn ask(
    peer: &mut DuplexStream,
    seq: i64,
    handler: Handler,
    args: Vec<Boxed>,
) -> Result<Boxed, String> {
    let mut out = Vec::new();
    request(&mut out, seq, handler, Boxed::Tuple(args));
    peer.write_all(&out).await.unwrap();
    match read_message(peer).await {
        Message::Reply { seq: s, value } if s == seq => Ok(value),
        Message::Exception { seq: s, payload } if s == seq => Err(format!("{payload:?}")),
        other => panic!("unexpected answer to {seq}: {other:?}"),
    }
}

/// A served `EchoService` and its root's id.
async fn serve() -> (DuplexStream, rpyc::Connection, IdPack) {
    let (mut peer, ours) = tokio::io::duplex(1 << 20);
    let service = std::sync::Arc::new(rpyc::testing::EchoService);
    let conn = rpyc::Connection::new(ours, service, Config::default());
    let Ok(Boxed::Remote(root)) = ask(&mut peer, 1, Handler::GetRoot, vec![]).await else {
        panic!("GETROOT must return a reference");
    };
    (peer, conn, root)
}

fn int(b: Boxed) -> i64 {
    match b {
        Boxed::Value(Value::Int(i)) => i,
        other => panic!("expected an int, got {other:?}"),
    }
}

#[tokio::test]
async fn hash_is_stable_and_does_not_follow_memory_addresses() {
    let (mut peer, _conn, root) = serve().await;
    let mut hashes = Vec::new();
    for i in 0..32 {
        // Each GETATTR exports a fresh bound method; they live side by side on the heap.
        let args = vec![Boxed::Local(root.clone()), Boxed::Value(Value::str("echo"))];
        let Ok(Boxed::Remote(method)) = ask(&mut peer, 10 + i, Handler::GetAttr, args).await else {
            panic!("GETATTR must return a reference");
        };
        let of = || vec![Boxed::Local(method.clone())];
        let first = int(ask(&mut peer, 100 + 2 * i, Handler::Hash, of())
            .await
            .unwrap());
        let again = int(ask(&mut peer, 101 + 2 * i, Handler::Hash, of())
            .await
            .unwrap());
        assert_eq!(again, first, "stable for the object's life");
        hashes.push(first as i128);
    }
    let spread = hashes.iter().max().unwrap() - hashes.iter().min().unwrap();
    // Shifted addresses of neighbouring allocations would lie within a few KiB of each other.
    assert!(
        spread > 1 << 40,
        "hashes of neighbouring objects lie close together: {hashes:x?}"
    );
}

#[tokio::test]
async fn del_with_an_absurd_count_is_refused_and_the_connection_goes_on() {
    let (mut peer, conn, root) = serve().await;
    for (seq, count) in [(2, i64::MIN), (3, 0), (4, -1)] {
        let args = vec![Boxed::Local(root.clone()), Boxed::Value(Value::Int(count))];
        let err = ask(&mut peer, seq, Handler::Del, args).await.unwrap_err();
        assert!(err.contains("count of at least 1"), "{err}");
    }
    // A huge count saturates: the pinned root stays, and the object table is unharmed.
    let args = vec![
        Boxed::Local(root.clone()),
        Boxed::Value(Value::Int(i64::MAX)),
    ];
    ask(&mut peer, 5, Handler::Del, args.clone()).await.unwrap();
    ask(&mut peer, 6, Handler::Del, args).await.unwrap();
    let name = ask(&mut peer, 7, Handler::Repr, vec![Boxed::Local(root)])
        .await
        .unwrap();
    assert!(matches!(name, Boxed::Value(Value::Str(_))));
    assert!(!conn.is_closed());
}
