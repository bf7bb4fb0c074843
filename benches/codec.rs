//! Codec micro-benchmarks: brine encode/decode of a typical request and reply, a 1 MiB bytes
//! value, and framing (with zlib) of a 1 MiB payload of zeros.
//!
//! ```text
//! cargo bench --bench codec
//! ```

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rpyc::core::brine::{self, Limits};
use rpyc::core::frame::{FrameBuilder, FrameCodec, FrameLimits};
use rpyc::core::message::{Boxed, Handler, IdPack, Message};
use rpyc::Value;
use tokio_util::codec::Decoder;

const MIB: usize = 1 << 20;

/// `root.add(1, 2)` as a client sends it: CALLATTR(root, "add", (1, 2), ()).
fn request_args() -> Boxed {
    let root = IdPack::new(
        "rpyc_rs.TestService",
        94_021_417_234_512,
        140_231_997_107_472,
    );
    Boxed::Tuple(vec![
        Boxed::Local(root),
        Boxed::value("add"),
        Boxed::value(Value::Tuple(vec![Value::Int(1), Value::Int(2)])),
        Boxed::value(Value::Tuple(Vec::new())),
    ])
}

fn messages(c: &mut Criterion) {
    let mut g = c.benchmark_group("message");
    g.sample_size(50)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));

    let args = request_args();
    let mut buf = Vec::with_capacity(256);
    g.bench_function("encode request callattr add(1, 2)", |b| {
        b.iter(|| {
            buf.clear();
            Message::encode_request(12_345, Handler::CallAttr, &args, &mut buf).unwrap();
            buf.len()
        })
    });
    buf.clear();
    Message::encode_request(12_345, Handler::CallAttr, &args, &mut buf).unwrap();
    let request = Bytes::from(buf.clone());
    g.bench_function("decode request callattr add(1, 2)", |b| {
        b.iter(|| Message::decode(&request, Limits::default()).unwrap())
    });

    let reply = Boxed::value(3);
    g.bench_function("encode reply 3", |b| {
        b.iter(|| {
            buf.clear();
            Message::encode_reply(12_345, &reply, &mut buf).unwrap();
            buf.len()
        })
    });
    buf.clear();
    Message::encode_reply(12_345, &reply, &mut buf).unwrap();
    let reply_bytes = Bytes::from(buf.clone());
    g.bench_function("decode reply 3", |b| {
        b.iter(|| Message::decode(&reply_bytes, Limits::default()).unwrap())
    });
    g.finish();
}

fn big_values(c: &mut Criterion) {
    let mut g = c.benchmark_group("1 MiB");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    g.throughput(Throughput::Bytes(MIB as u64));

    let value = Value::bytes(vec![0xA5u8; MIB]);
    let mut out = Vec::with_capacity(MIB + 16);
    g.bench_function("brine encode bytes", |b| {
        b.iter(|| {
            out.clear();
            brine::encode(&value, &mut out).unwrap();
            out.len()
        })
    });
    let encoded = Bytes::from(brine::dump(&value).unwrap());
    g.bench_function("brine decode bytes", |b| {
        b.iter(|| brine::load_bytes(&encoded, Limits::default()).unwrap())
    });

    let zeros = vec![0u8; MIB];
    let mut framed = Vec::with_capacity(MIB + 16);
    for (name, compress) in [
        ("frame zeros, compressed", true),
        ("frame zeros, uncompressed", false),
    ] {
        g.bench_with_input(
            BenchmarkId::new("encode", name),
            &compress,
            |b, &compress| {
                b.iter(|| {
                    framed.clear();
                    let mut fb = FrameBuilder::begin(&mut framed);
                    fb.payload().extend_from_slice(&zeros);
                    fb.finish(compress).unwrap();
                    framed.len()
                })
            },
        );
        framed.clear();
        let mut fb = FrameBuilder::begin(&mut framed);
        fb.payload().extend_from_slice(&zeros);
        fb.finish(compress).unwrap();
        let wire = framed.clone();
        g.bench_with_input(BenchmarkId::new("decode", name), &wire, |b, wire| {
            let limits = FrameLimits::default();
            let mut codec = FrameCodec::new(limits);
            b.iter(|| {
                let mut src = BytesMut::from(&wire[..]);
                let frame = codec.decode(&mut src).unwrap().unwrap();
                frame.payload(limits.max_decompressed_size).unwrap().len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, messages, big_values);
criterion_main!(benches);
