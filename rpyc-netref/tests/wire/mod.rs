//! Raw RPyC frames for the wire-level tests of this crate: the test plays the peer with bytes
//! framed by `rpyc::core`, and our [`rpyc::Connection`] is on the other end of an in-memory
//! stream.
#![allow(dead_code)]

use rpyc::core::brine::Limits;
use rpyc::core::frame::{read_frame, Frame, FrameBuilder, FrameLimits};
use rpyc::core::message::{Boxed, Handler, Message};
use rpyc::core::{IdPack, Value};
use tokio::io::{AsyncWriteExt, DuplexStream};

/// Frames one request into `out`.
pub fn request(out: &mut Vec<u8>, seq: i64, handler: Handler, args: Boxed) {
    let mut fb = FrameBuilder::begin(out);
    Message::encode_request(seq, handler, &args, fb.payload()).unwrap();
    fb.finish(false).unwrap();
}

/// Frames one reply into `out`.
pub fn reply(out: &mut Vec<u8>, seq: i64, value: Boxed) {
    let mut fb = FrameBuilder::begin(out);
    Message::encode_reply(seq, &value, fb.payload()).unwrap();
    fb.finish(false).unwrap();
}

/// Reads one frame (inflating it if compressed) and decodes it.
pub async fn read_message(s: &mut DuplexStream) -> Message {
    let payload = read_frame(s, FrameLimits::default())
        .await
        .unwrap()
        .unwrap();
    Message::decode(&payload, Limits::default()).unwrap()
}

/// Reads one request and returns its seq, handler id and arguments.
pub async fn read_request(s: &mut DuplexStream) -> (i64, i64, Boxed) {
    match read_message(s).await {
        Message::Request { seq, handler, args } => (seq, handler, args),
        other => panic!("expected a request, got {other:?}"),
    }
}

/// A framed PING request echoing `v`.
pub fn ping(seq: i64, v: Value) -> Vec<u8> {
    let mut out = Vec::new();
    request(
        &mut out,
        seq,
        Handler::Ping,
        Boxed::Tuple(vec![Boxed::Value(v)]),
    );
    out
}

/// Reads one message from a blocking socket.
pub fn read_blocking(s: &mut std::net::TcpStream) -> Message {
    use std::io::Read;
    let mut header = [0u8; 5];
    s.read_exact(&mut header).unwrap();
    let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let mut data = vec![0u8; len + 1];
    s.read_exact(&mut data).unwrap();
    data.truncate(len);
    let frame = Frame {
        compressed: header[4] != 0,
        data: data.into(),
    };
    Message::decode(&frame.payload(1 << 30).unwrap(), Limits::default()).unwrap()
}

/// Asks for the root (GETROOT) and returns its id.
pub async fn get_root(s: &mut DuplexStream) -> IdPack {
    let mut out = Vec::new();
    request(&mut out, 0, Handler::GetRoot, Boxed::Tuple(vec![]));
    s.write_all(&out).await.unwrap();
    match read_message(s).await {
        Message::Reply {
            value: Boxed::Remote(root),
            ..
        } => root,
        other => panic!("GETROOT must return a reference, got {other:?}"),
    }
}

/// Frames a call of method `name` of `obj` with positional `args` (CALLATTR).
pub fn call(out: &mut Vec<u8>, seq: i64, obj: &IdPack, name: &str, args: Vec<Value>) {
    let args = Boxed::Tuple(vec![
        Boxed::Local(obj.clone()),
        Boxed::Value(Value::str(name)),
        Boxed::Value(Value::Tuple(args)),
        Boxed::Value(Value::Tuple(vec![])),
    ]);
    request(out, seq, Handler::CallAttr, args);
}

/// Serves the echo service (`rpyc::testing::EchoService`, default config) to the next
/// `count` connections of `listener`, and returns them.
pub async fn accept_echo(
    listener: &tokio::net::TcpListener,
    count: usize,
) -> Vec<rpyc::Connection> {
    let mut conns = Vec::new();
    while conns.len() < count {
        let (stream, _) = listener.accept().await.unwrap();
        let service = std::sync::Arc::new(rpyc::testing::EchoService);
        conns.push(rpyc::Connection::from_tcp(
            stream,
            service,
            rpyc::core::Config::default(),
        ));
    }
    conns
}
