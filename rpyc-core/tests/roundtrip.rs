//! Property tests: `load(dump(v)) == v` for arbitrary values, and the frame/message decoders
//! never panic on arbitrary bytes.

use bytes::{Bytes, BytesMut};
use num_bigint::BigInt;
use proptest::prelude::*;
use rpyc_core::brine::{self, Limits};
use rpyc_core::frame::{FrameCodec, FrameLimits};
use rpyc_core::message::Message;
use rpyc_core::Value;
use tokio_util::codec::Decoder;

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::None),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        (-60i64..200).prop_map(Value::Int),
        proptest::collection::vec(any::<u8>(), 1..40).prop_map(|d| {
            let text: String = d.iter().map(|b| char::from(b'0' + b % 10)).collect();
            Value::from_bigint(
                format!("{text}123456789012345678901")
                    .parse::<BigInt>()
                    .unwrap(),
            )
        }),
        any::<f64>().prop_map(Value::Float),
        (any::<f64>(), any::<f64>()).prop_map(|(r, i)| Value::Complex(r, i)),
        ".{0,300}".prop_map(Value::Str),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Value::bytes),
        Just(Value::Ellipsis),
        Just(Value::NotImplemented),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 200, 12, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..12).prop_map(Value::Tuple),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::FrozenSet),
            (inner.clone(), inner.clone(), inner).prop_map(|(a, b, c)| Value::slice(a, b, c)),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn brine_roundtrip(v in value()) {
        let bytes = brine::dump(&v).unwrap();
        prop_assert_eq!(brine::load(&bytes).unwrap(), v);
    }

    #[test]
    fn decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = brine::load(&data);
        let payload = Bytes::from(data.clone());
        let _ = Message::decode(&payload, Limits::default());
        let mut codec = FrameCodec::new(FrameLimits::new(1 << 16, 1 << 16));
        let mut buf = BytesMut::from(&data[..]);
        while let Ok(Some(frame)) = codec.decode(&mut buf) {
            if let Ok(payload) = frame.payload(1 << 16) {
                let _ = Message::decode(&payload, Limits::default());
            }
        }
    }

    #[test]
    fn truncation_is_always_an_error(v in value(), cut in 0usize..1000) {
        let bytes = brine::dump(&v).unwrap();
        let cut = cut % bytes.len().max(1);
        if cut < bytes.len() {
            prop_assert!(brine::load(&bytes[..cut]).is_err());
        }
    }
}
