//! Decoding, seen from the wire: what a peer's frame may cost. A request whose body goes beyond
//! the decode limit is answered with `MemoryError` naming it, a reply beyond it fails only its
//! call, a reply to a seq never sent is dropped undecoded, and in every case the connection
//! goes on; honest large values (10^6 ints, 100 MiB of bytes, 10^5 small tuples, a compressed
//! PING inflating to 128 MiB) still travel.
//!
//! The peer is raw bytes over an in-memory stream, framed with `rpyc::core`, or a second
//! connection.

mod wire;

use std::sync::Arc;

use rpyc::core::brine::Limits;
use rpyc::core::frame::{encode_frame, FrameBuilder};
use rpyc::core::message::{Boxed, Handler, Message, MSG_REPLY, MSG_REQUEST};
use rpyc::core::{Config, Value};
use rpyc::Error;
use tokio::io::{AsyncWriteExt, DuplexStream};
use wire::{accept_echo, ping, read_blocking, read_message, read_request, reply};

fn serve(stream: DuplexStream, config: Config) -> rpyc::Connection {
    rpyc::Connection::new(stream, Arc::new(rpyc::testing::EchoService), config)
}

/// A PING whose argument is a tuple of `n` one-byte ints, framed (uncompressed).
fn ping_of_small_ints(seq: u8, n: usize) -> Vec<u8> {
    // msg 1, (seq, (1, (2, ((1, (0x50 × n)),))))
    let mut payload = vec![MSG_REQUEST, 0x11, 0x50 + seq, 0x11, 0x51, 0x11, 0x52, 0x10];
    payload.extend_from_slice(&[0x11, 0x51, 0x15]);
    payload.extend_from_slice(&(n as u32).to_be_bytes());
    payload.resize(payload.len() + n, 0x50);
    encode_frame(&payload, false).unwrap()
}

/// An 8 MiB frame of 8M small ints would decode into 256 MiB of slots: beyond the default
/// limit (8 × 8 MiB), it is refused before anything is reserved, answered with `MemoryError`
/// naming the limit, and the next request is served.
#[tokio::test]
async fn a_request_beyond_the_decode_limit_is_refused_and_the_connection_goes_on() {
    let (mut peer, ours) = tokio::io::duplex(1 << 20);
    let conn = serve(ours, Config::default());
    let frame = ping_of_small_ints(0, 8 << 20);
    peer.write_all(&frame).await.unwrap();
    match read_message(&mut peer).await {
        Message::Exception { seq: 0, payload } => {
            let exc = payload.into_exception();
            assert!(exc.is("MemoryError"), "{exc}");
            let limit = Limits::default().heap_limit(frame.len() - 6);
            assert!(
                exc.message()
                    .contains(&format!("decode limit of {limit} bytes")),
                "{exc}"
            );
        }
        other => panic!("expected an exception, got {other:?}"),
    }
    peer.write_all(&ping(1, Value::Int(7))).await.unwrap();
    assert!(matches!(
        read_message(&mut peer).await,
        Message::Reply { seq: 1, .. }
    ));
    assert!(!conn.is_closed());
}

/// Our side as the client: a reply beyond the limit fails its call with an error naming the
/// limit; the next call is answered.
#[tokio::test]
async fn a_reply_beyond_the_decode_limit_fails_only_its_call() {
    let (mut peer, ours) = tokio::io::duplex(1 << 20);
    let config = Config::builder()
        .decode_limits(Limits::default().with_heap(8, 1 << 20))
        .build();
    let client = rpyc::Connection::new(ours, Arc::new(rpyc::VoidService), config);
    let call = |v: i64| {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .sync_request(Handler::Ping, vec![Value::Int(v)])
                .await
        })
    };
    let first = call(1);
    let (seq, _, _) = read_request(&mut peer).await;
    // 200,000 ints: 200 KB on the wire (decoded off the workers), 6.4 MB of slots.
    let big = Value::Tuple((0..200_000).map(|i| Value::Int(i % 100)).collect());
    let mut out = Vec::new();
    reply(&mut out, seq, Boxed::Value(big));
    peer.write_all(&out).await.unwrap();
    match first.await.unwrap() {
        Err(Error::Protocol(msg)) => assert!(msg.contains("decode limit of"), "{msg}"),
        other => panic!("expected the decode limit, got {other:?}"),
    }
    let second = call(2);
    let (seq, _, _) = read_request(&mut peer).await;
    let mut out = Vec::new();
    reply(&mut out, seq, Boxed::value(2));
    peer.write_all(&out).await.unwrap();
    assert_eq!(second.await.unwrap().unwrap(), Value::Int(2));
}

/// A reply to a seq never sent is not decoded: its body here is not even brine, which would
/// close the connection if it were read.
#[tokio::test]
async fn a_reply_to_a_seq_never_sent_is_dropped_undecoded() {
    let (mut peer, ours) = tokio::io::duplex(1 << 20);
    let client = rpyc::Connection::new(ours, Arc::new(rpyc::VoidService), Config::default());
    // msg 2, (1000, <tag 0x07>)
    let garbage = encode_frame(
        &[MSG_REPLY, 0x11, 0x16, 0x04, b'1', b'0', b'0', b'0', 0x07],
        false,
    );
    peer.write_all(&garbage.unwrap()).await.unwrap();
    let call = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .sync_request(Handler::Ping, vec![Value::Int(5)])
                .await
        })
    };
    let (seq, _, _) = read_request(&mut peer).await;
    let mut out = Vec::new();
    reply(&mut out, seq, Boxed::value(5));
    peer.write_all(&out).await.unwrap();
    assert_eq!(call.await.unwrap().unwrap(), Value::Int(5));
    assert!(!client.is_closed());
}

/// Honest large values go both ways within the default limits.
#[tokio::test]
async fn honest_large_values_travel() {
    // Uncompressed: the 100 MiB value below travels as it is.
    let config = Config::builder().compress(false).build();
    let (client, _server) = rpyc::connect_pair_with(rpyc::testing::EchoService, config).await;
    let root = client.root().await.unwrap();
    // Python's `echo(tuple(range(10**6)))`.
    let ints = Value::Tuple((0..1_000_000).map(Value::Int).collect());
    let back: Value = root
        .call_method("echo", (ints.clone(),))
        .await
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(back, ints);
    // 10^5 small tuples.
    let pairs = Value::Tuple(
        (0..100_000)
            .map(|i| Value::Tuple(vec![Value::Int(i), Value::str("x")]))
            .collect(),
    );
    client.ping_with(pairs, None).await.unwrap();
    // 100 MiB of bytes.
    client
        .ping_with(Value::bytes(vec![7u8; 100 << 20]), None)
        .await
        .unwrap();
}

/// A compressed PING of 128 KiB on the wire inflates to 128 MiB of bytes: within the frame
/// limits (256 MiB), it is inflated and decoded off the workers and echoed.
#[tokio::test]
async fn a_compressed_ping_inflating_to_128_mib_is_echoed() {
    let (mut peer, ours) = tokio::io::duplex(1 << 20);
    let _conn = serve(ours, Config::builder().compress(false).build());
    let zeros = Value::bytes(vec![0u8; 128 << 20]);
    let mut out = Vec::new();
    let mut fb = FrameBuilder::begin(&mut out);
    let args = Boxed::Tuple(vec![Boxed::Value(zeros.clone())]);
    Message::encode_request(3, Handler::Ping, &args, fb.payload()).unwrap();
    fb.finish(true).unwrap();
    assert_eq!(out[4], 1, "compressed");
    assert!(out.len() < 1 << 20, "{} bytes on the wire", out.len());
    peer.write_all(&out).await.unwrap();
    match read_message(&mut peer).await {
        Message::Reply { seq: 3, value } => assert_eq!(value, Boxed::Value(zeros)),
        other => panic!("expected the echo, got {other:?}"),
    }
}

/// A request for handler 99 (unknown: answered with `KeyError` once decoded) carrying `n`
/// ints of 4300 digits, compressed: about 4.3 KB per int inflated from a few bytes, and the
/// slowest brine there is to decode per byte.
fn heavy_frame(n: u32) -> Vec<u8> {
    let mut payload = vec![MSG_REQUEST, 0x11, 0x50, 0x11, 0x50 + 99, 0x11, 0x52, 0x10];
    payload.extend_from_slice(&[0x11, 0x51, 0x15]);
    payload.extend_from_slice(&n.to_be_bytes());
    for _ in 0..n {
        payload.push(0x17);
        payload.extend_from_slice(&4300u32.to_be_bytes());
        payload.extend(std::iter::repeat_n(b'7', 4300));
    }
    let frame = encode_frame(&payload, true).unwrap();
    assert_eq!(frame[4], 1, "compressed");
    frame
}

/// A frame that takes long to decode (2000 ints of 4300 digits, 8.6 MB inflated from 50 KB)
/// is decoded off the runtime's workers: with a runtime of one thread, another connection's
/// call sent after it is answered while the heavy frame's connection still waits for its
/// answer. Decoded inline, the heavy frame would be answered first.
#[test]
fn a_heavy_frame_does_not_stall_another_connection() {
    use std::io::{ErrorKind, Read, Write};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (done, finished) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        rt.block_on(async move {
            let _conns = accept_echo(&listener, 2).await;
            let _ = finished.await;
        })
    });
    let mut attacker = std::net::TcpStream::connect(addr).unwrap();
    attacker.write_all(&heavy_frame(2000)).unwrap();
    let mut bystander = std::net::TcpStream::connect(addr).unwrap();
    bystander.write_all(&ping(0, Value::Int(42))).unwrap();
    match read_blocking(&mut bystander) {
        Message::Reply { seq: 0, value } => assert_eq!(value, Boxed::value(42)),
        other => panic!("expected the bystander's echo, got {other:?}"),
    }
    attacker.set_nonblocking(true).unwrap();
    let early = attacker.read(&mut [0u8; 1]).map_err(|e| e.kind());
    assert_eq!(
        early.unwrap_err(),
        ErrorKind::WouldBlock,
        "the heavy frame was answered first"
    );
    attacker.set_nonblocking(false).unwrap();
    match read_blocking(&mut attacker) {
        Message::Exception { seq: 0, payload } => assert!(payload.into_exception().is("KeyError")),
        other => panic!("expected KeyError for handler 99, got {other:?}"),
    }
    done.send(()).unwrap();
    server.join().unwrap();
}

/// `n` bytes that do not compress (xorshift).
fn noise(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A large frame of few items (a PING of one 1 MiB `bytes` value) is decoded right on the
/// runtime's worker, and echoed intact; a large frame of many items (100,000 small ints)
/// still waits for a blocking thread. Seen with the runtime's only blocking thread held by
/// the test: the 1 MiB echo is answered meanwhile, the many items only once it is free.
#[test]
fn a_large_frame_of_few_items_decodes_inline_and_one_of_many_items_does_not() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .max_blocking_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // The only blocking thread, held until `release` is sent.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel::<()>();
        let blocker = tokio::task::spawn_blocking(move || {
            let _ = started.send(());
            let _ = held.recv();
        });
        running.await.unwrap();

        let (mut heavy, ours) = tokio::io::duplex(1 << 20);
        let _heavy_conn = serve(ours, Config::default());
        let (mut light, ours) = tokio::io::duplex(4 << 20);
        let _light_conn = serve(ours, Config::default());
        let heavy_frame = ping_of_small_ints(1, 100_000);
        assert!(heavy_frame.len() > 64 * 1024);
        heavy.write_all(&heavy_frame).await.unwrap();
        let big = Value::Bytes(noise(1 << 20).into());
        let light_frame = ping(2, big.clone());
        assert_eq!(light_frame[4], 0, "uncompressed");
        light.write_all(&light_frame).await.unwrap();

        // Decoded off the workers, it would wait for the held thread (a hang, cut here).
        let echoed =
            tokio::time::timeout(std::time::Duration::from_secs(60), read_message(&mut light))
                .await
                .expect("the 1 MiB echo waited for a blocking thread");
        match echoed {
            Message::Reply { seq: 2, value } => assert_eq!(value, Boxed::Value(big)),
            other => panic!("expected the echo, got {other:?}"),
        }
        // The many items were read first, and wait for the blocking thread.
        let mut first = [0u8; 1];
        let early = futures_util::FutureExt::now_or_never(tokio::io::AsyncReadExt::read(
            &mut heavy, &mut first,
        ));
        assert!(early.is_none(), "the many items were decoded inline");

        release.send(()).unwrap();
        blocker.await.unwrap();
        match read_message(&mut heavy).await {
            Message::Reply {
                seq: 1,
                value: Boxed::Value(Value::Tuple(items)),
            } => assert_eq!(items.len(), 100_000),
            other => panic!("expected the echo of 100,000 ints, got {other:?}"),
        }
    });
}
