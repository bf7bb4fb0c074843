//! The proxy cache, seen from the wire: a remote object received twice is one proxy, and
//! dropping it sends one HANDLE_DEL carrying every reference received.
//!
//! The test plays a server with raw frames; our connection is the client.

mod wire;

use std::sync::Arc;

use rpyc::core::message::{Boxed, Handler};
use rpyc::core::{Config, IdPack, Value};
use tokio::io::{AsyncWriteExt, DuplexStream};
use wire::{read_request, reply};

/// Answers the next request with a reference to `id` and returns the request's handler.
async fn answer_with_ref(peer: &mut DuplexStream, id: &IdPack) -> i64 {
    let (seq, handler, _) = read_request(peer).await;
    let mut out = Vec::new();
    reply(&mut out, seq, Boxed::Remote(id.clone()));
    peer.write_all(&out).await.unwrap();
    handler
}

#[tokio::test]
async fn one_proxy_per_remote_object_and_one_del_for_all_its_references() {
    let (mut peer, ours) = tokio::io::duplex(1 << 20);
    let client = rpyc::Connection::new(ours, Arc::new(rpyc::VoidService), Config::default());
    let root_id = IdPack::new("Service", 1, 1);
    let thing_id = IdPack::new("builtins.object", 2, 77);

    let user = {
        let client = client.clone();
        tokio::spawn(async move {
            let root = client.root().await.unwrap();
            let a = root.getattr("thing").await.unwrap();
            let b = root.getattr("thing").await.unwrap();
            (root, a, b)
        })
    };
    assert_eq!(
        answer_with_ref(&mut peer, &root_id).await,
        Handler::GetRoot as i64
    );
    assert_eq!(
        answer_with_ref(&mut peer, &thing_id).await,
        Handler::GetAttr as i64
    );
    assert_eq!(
        answer_with_ref(&mut peer, &thing_id).await,
        Handler::GetAttr as i64
    );
    let (_root, a, b) = user.await.unwrap();

    let (Value::Object(_), Value::Object(_)) = (&a, &b) else {
        panic!("expected references, got {a:?} and {b:?}");
    };
    let a: rpyc::NetRef = rpyc::core::FromValue::from_value(a).unwrap();
    let b: rpyc::NetRef = rpyc::core::FromValue::from_value(b).unwrap();
    assert_eq!(
        a, b,
        "the same remote object must come back as the same proxy"
    );
    assert_eq!(client.proxy_count(), 2, "the root and the thing");

    drop(a);
    assert_eq!(client.proxy_count(), 2, "a clone is still held");
    drop(b);
    let (_, handler, args) = read_request(&mut peer).await;
    assert_eq!(handler, Handler::Del as i64);
    assert_eq!(
        args,
        Boxed::Tuple(vec![Boxed::Local(thing_id), Boxed::Value(Value::Int(2))]),
        "one DEL for the two references received"
    );
    assert_eq!(client.proxy_count(), 1, "only the root is left");
}
