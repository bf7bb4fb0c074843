//! The reader, seen from the wire: requests written in one burst are answered in arrival order
//! (cheap handlers inline, in order), and a malformed request ends only that request.
//!
//! The peer here is raw bytes over an in-memory stream, framed with `rpyc::core`.

mod wire;

use rpyc::core::message::{Boxed, Handler, Message};
use rpyc::core::{Config, Value};
use tokio::io::{AsyncWriteExt, DuplexStream};
use wire::{read_message, request};

fn server(stream: DuplexStream) -> rpyc::Connection {
    let service = std::sync::Arc::new(rpyc::testing::EchoService);
    rpyc::Connection::new(stream, service, Config::default())
}

#[tokio::test]
async fn a_burst_of_requests_is_answered_in_arrival_order() {
    let (mut peer, ours) = tokio::io::duplex(1 << 20);
    let _conn = server(ours);
    let mut burst = Vec::new();
    for seq in 0..200 {
        let args = Boxed::Tuple(vec![Boxed::Value(Value::Int(seq))]);
        request(&mut burst, seq, Handler::Ping, args);
    }
    peer.write_all(&burst).await.unwrap();
    for expected in 0..200 {
        match read_message(&mut peer).await {
            Message::Reply { seq, .. } => assert_eq!(seq, expected),
            other => panic!("expected a reply, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_bad_request_fails_alone_and_the_next_is_served() {
    let (mut peer, ours) = tokio::io::duplex(1 << 20);
    let _conn = server(ours);
    let mut burst = Vec::new();
    // GETATTR of an object id the server never exported, then a PING.
    let unknown = rpyc::core::IdPack::new("builtins.object", 1, 424242);
    let args = Boxed::Tuple(vec![Boxed::Local(unknown), Boxed::Value(Value::str("x"))]);
    request(&mut burst, 1, Handler::GetAttr, args);
    request(
        &mut burst,
        2,
        Handler::Ping,
        Boxed::Tuple(vec![Boxed::Value(Value::Int(7))]),
    );
    peer.write_all(&burst).await.unwrap();
    assert!(matches!(
        read_message(&mut peer).await,
        Message::Exception { seq: 1, .. }
    ));
    assert!(matches!(
        read_message(&mut peer).await,
        Message::Reply { seq: 2, .. }
    ));
}
