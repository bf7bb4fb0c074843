//! The limits on what a peer's bytes may cost: the heap a message decodes into is charged as
//! it decodes and refused beyond `max(heap_factor × payload, heap_floor)`; an announced count
//! reserves no more than the bytes left could hold; the envelope of a refused message is still
//! known, so the connection can answer it.

use bytes::Bytes;
use rpyc_core::brine::{self, Decoder, Limits};
use rpyc_core::message::{Boxed, Envelope, Handler, Message, MSG_REPLY, MSG_REQUEST};
use rpyc_core::{DecodeError, ProtocolError, Value};

const SLOT: usize = std::mem::size_of::<Value>();

fn small_ints(n: i64) -> Value {
    Value::Tuple((0..n).map(|i| Value::Int(i % 100)).collect())
}

#[test]
fn a_tuple_costs_its_slots_and_is_refused_beyond_the_budget() {
    let n = 100_000;
    let enc = Bytes::from(brine::dump(&small_ints(n)).unwrap());
    let mut d = Decoder::new(&enc, Limits::default());
    assert_eq!(d.value().unwrap(), small_ints(n));
    assert_eq!(d.heap_used(), n as usize * SLOT);
    // 8 bytes of heap per byte of payload cannot hold a slot per one-byte int.
    let tight = Limits::default().with_heap(8, 0);
    assert_eq!(tight.heap_limit(enc.len()), 8 * enc.len());
    assert_eq!(
        brine::load_bytes(&enc, tight),
        Err(DecodeError::HeapExceeded {
            limit: 8 * enc.len(),
            offset: 0
        })
    );
}

#[test]
fn strs_and_big_ints_cost_their_text_and_bytes_cost_nothing() {
    let cost = |v: &Value| {
        let enc = Bytes::from(brine::dump(v).unwrap());
        let mut d = Decoder::new(&enc, Limits::default());
        assert_eq!(&d.value().unwrap(), v);
        d.heap_used()
    };
    assert_eq!(cost(&Value::str("x".repeat(1000))), 1000);
    assert_eq!(cost(&Value::bytes(vec![7u8; 1000])), 0);
    let big: Value = Value::from_bigint("1".repeat(40).parse().unwrap());
    assert_eq!(cost(&big), 40);
    assert_eq!(cost(&Value::Int(-123_456_789)), 0);
}

/// A header announcing 2^32 - 1 items reserves at most what the bytes left could hold, and
/// tuples nested inside such lies add up against the budget instead of each reserving anew.
#[test]
fn an_announced_count_reserves_only_what_the_input_can_hold() {
    let lie = Bytes::from_static(&[0x15, 0xff, 0xff, 0xff, 0xff, 0x51, 0x51, 0x51]);
    let mut d = Decoder::new(&lie, Limits::default());
    assert!(matches!(d.value(), Err(DecodeError::Truncated { .. })));
    assert!(d.heap_used() <= 3 * SLOT, "{}", d.heap_used());

    // 200 nested lies over 1 MiB of filler: each would reserve ~1M slots (32 MiB).
    let mut nested = Vec::new();
    for _ in 0..200 {
        nested.extend_from_slice(&[0x15, 0xff, 0xff, 0xff, 0xff]);
    }
    nested.resize(nested.len() + (1 << 20), 0x50);
    let nested = Bytes::from(nested);
    let limits = Limits::default();
    let mut d = Decoder::new(&nested, limits);
    assert!(matches!(
        d.value(),
        Err(DecodeError::HeapExceeded { limit, offset: 5 }) if limit == 64 << 20
    ));
    assert!(d.heap_used() <= limits.heap_limit(nested.len()));
}

#[test]
fn honest_large_values_fit_the_default_budget() {
    // 10^5 small tuples.
    let pairs = Value::Tuple(
        (0..100_000)
            .map(|i| Value::Tuple(vec![Value::Int(i % 100), Value::None]))
            .collect(),
    );
    let enc = Bytes::from(brine::dump(&pairs).unwrap());
    assert_eq!(brine::load_bytes(&enc, Limits::default()).unwrap(), pairs);
    // 10^6 ints, as Python's `tuple(range(10**6))`.
    let ints = Value::Tuple((0..1_000_000).map(Value::Int).collect());
    let enc = Bytes::from(brine::dump(&ints).unwrap());
    assert_eq!(brine::load_bytes(&enc, Limits::default()).unwrap(), ints);
}

/// A request whose arguments go beyond the budget is refused with the limit, and its envelope
/// (type and seq) can still be read, so that it can be answered.
#[test]
fn a_refused_message_still_has_its_envelope() {
    let mut payload = Vec::new();
    let args = Boxed::Tuple(vec![Boxed::Value(small_ints(50_000))]);
    Message::encode_request(41, Handler::Ping, &args, &mut payload).unwrap();
    let payload = Bytes::from(payload);
    let tight = Limits::default().with_heap(4, 0);
    match Message::decode(&payload, tight) {
        Err(ProtocolError::Decode(DecodeError::HeapExceeded { limit, .. })) => {
            assert_eq!(limit, 4 * payload.len())
        }
        other => panic!("expected the heap limit, got {other:?}"),
    }
    assert_eq!(
        Message::envelope(&payload),
        Some(Envelope {
            msg: MSG_REQUEST,
            seq: 41
        })
    );
    assert!(Message::decode(&payload, Limits::default()).is_ok());

    // A label-2 tuple of boxes is charged too.
    let mut payload = Vec::new();
    let boxes = Boxed::Tuple((0..50_000).map(|i| Boxed::value(i % 100)).collect());
    Message::encode_reply(9, &boxes, &mut payload).unwrap();
    let payload = Bytes::from(payload);
    assert!(matches!(
        Message::decode(&payload, tight),
        Err(ProtocolError::Decode(DecodeError::HeapExceeded { .. }))
    ));
    assert_eq!(Message::envelope(&payload).map(|e| e.msg), Some(MSG_REPLY));
    // Not a message: no envelope.
    assert_eq!(
        Message::envelope(&Bytes::from_static(b"\x07\x11\x50")),
        None
    );
    assert_eq!(Message::envelope(&Bytes::from_static(b"\x02\x11")), None);
}

/// What the reader's frame-progress deadline asks of the codec: how much of the frame in
/// progress is still lacking, small frames (in the read buffer) and large ones (gathered by
/// the codec) alike.
#[test]
fn the_codec_says_how_much_of_the_frame_in_progress_is_lacking() {
    use bytes::BytesMut;
    use rpyc_core::frame::{FrameCodec, FrameLimits};
    use tokio_util::codec::Decoder;

    let mut codec = FrameCodec::new(FrameLimits::default());
    assert_eq!(codec.lacking(&[]), None, "no frame has begun");
    assert_eq!(
        codec.lacking(&[0, 0]),
        Some(4),
        "the rest of the header and the newline"
    );
    // A small frame: 100 bytes announced, 10 here.
    let mut small = vec![0, 0, 0, 100, 0];
    small.extend([7; 10]);
    assert_eq!(codec.lacking(&small), Some(91));
    // A large one (1 MiB announced): the codec gathers it, the read buffer empties.
    let mut buf = BytesMut::from(&[0u8, 16, 0, 0, 0][..]);
    buf.extend_from_slice(&[7; 1000]);
    assert!(codec.decode(&mut buf).unwrap().is_none());
    assert_eq!(codec.lacking(&buf), Some((1 << 20) - 1000 + 1));
    buf.extend_from_slice(&[7; 24]);
    assert_eq!(codec.lacking(&buf), Some((1 << 20) - 1024 + 1));
}
