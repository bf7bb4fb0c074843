//! Unit tests of messages: the protocol notes' §11.5 vectors, typed layouts, argument errors,
//! legacy and garbage payloads, and the direct decoder agreeing with the value decoder.

use super::*;
use crate::vinegar::RemoteException;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Strips the frame header and trailer of a §11 vector.
fn payload(frame_hex: &str) -> Bytes {
    let f = hex(frame_hex);
    Bytes::from(f[5..f.len() - 1].to_vec())
}

fn reencode(m: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    m.encode(&mut out).unwrap();
    out
}

/// Every frame of §11.5 (real rpyc client ↔ spec-conformant peer) decodes and re-encodes
/// byte for byte.
#[test]
fn section_11_5_vectors_roundtrip() {
    for f in SECTION_11_5 {
        let p = payload(f);
        let m = Message::decode(&p, Limits::default()).unwrap();
        assert_eq!(reencode(&m), p.to_vec(), "frame {f}");
        let full = crate::frame::encode_frame(&p, true).unwrap();
        assert_eq!(full, hex(f));
    }
}

/// Every frame of §11.5 (real rpyc client ↔ spec-conformant peer).
const SECTION_11_5: [&str; 15] = [
    "000000080001115011531151020a",
    "0000001d00021150115412080e0d72757374706565722e526f6f74511604313030300a",
    "0000002000011151116011511012080e0d72757374706565722e526f6f74511604313030300a",
    "00000006000211511151020a",
    "00000031000111521154115211115312080e0d72757374706565722e526f6f74511604313030301151080e0a6765745f616e737765720a",
    "0000001f00021152115412080e0f6275696c74696e732e6d6574686f64521604313030310a",
    "0000002a000111531157115212115312080e0f6275696c74696e732e6d6574686f64521604313030311151021151020a",
    "000000060002115311517a0a",
    "0000002700011154115f115211115312080e0f6275696c74696e732e6d6574686f64521604313030311151510a",
    "00000006000211541151000a",
    "0000000c000111551151115110080b68690a",
    "00000009000211551151080b68690a",
    "00000060000311571311080e086275696c74696e73080e0a56616c75654572726f7210080e096261642076616c756502080e3254726163656261636b202866726f6d20727573742070656572293a0a56616c75654572726f723a206261642076616c75650a0a",
    "000000710003115a1311080e0f72757374706565722e6572726f7273080e0d51756f7461457863656564656410080e076c696d697420351011080d636f64657a080e3354726163656261636b202866726f6d20727573742070656572293a0a51756f746145786365656465643a206c696d697420350a0a",
    "000000080001115c11521151020a",
];

#[test]
fn typed_layouts() {
    // §11.5 GETATTR seq=2 on the root.
    let p = payload("00000031000111521154115211115312080e0d72757374706565722e526f6f74511604313030301151080e0a6765745f616e737765720a");
    let Message::Request { seq, handler, args } = Message::decode(&p, Limits::default()).unwrap()
    else {
        panic!()
    };
    assert_eq!((seq, handler), (2, 4));
    let r = Request::parse(handler, args).unwrap();
    assert_eq!(
        r,
        Request::GetAttr {
            obj: Boxed::Local(IdPack::new("rustpeer.Root", 1, 1000)),
            name: "get_answer".into()
        }
    );
    // CALL with its kwargs defaulted.
    let args = Boxed::Tuple(vec![
        Boxed::Local(IdPack::new("builtins.method", 2, 1001)),
        Boxed::value(Value::Tuple(vec![])),
    ]);
    assert!(matches!(
        Request::parse(7, args).unwrap(),
        Request::Call { .. }
    ));
    // DEL count and INSPECT id pack.
    let p = payload("0000002000011151116011511012080e0d72757374706565722e526f6f74511604313030300a");
    let Message::Request { handler, args, .. } = Message::decode(&p, Limits::default()).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        Request::parse(handler, args).unwrap(),
        Request::Inspect {
            id_pack: IdPack::new("rustpeer.Root", 1, 1000)
        }
    );
}

#[test]
fn argument_errors() {
    assert_eq!(
        Request::parse(99, Boxed::value(Value::Tuple(vec![]))),
        Err(ArgError::UnknownHandler(99))
    );
    assert!(matches!(
        Request::parse(4, Boxed::value(Value::Tuple(vec![Value::Int(1)]))),
        Err(ArgError::Type(_))
    ));
    let bad_name = Boxed::Tuple(vec![
        Boxed::Local(IdPack::new("a.B", 1, 2)),
        Boxed::value(5),
    ]);
    assert_eq!(
        Request::parse(4, bad_name),
        Err(ArgError::Type("name must be a string".into()))
    );
}

#[test]
fn legacy_and_garbage_payloads() {
    let legacy = payload("000000080012515011531151020a");
    assert_eq!(
        Message::decode(&legacy, Limits::default()),
        Err(ProtocolError::LegacyPeer)
    );
    assert_eq!(
        Message::decode(&Bytes::from_static(b"GET / HTTP/1.1"), Limits::default()),
        Err(ProtocolError::InvalidMessageType(b'G'))
    );
    assert_eq!(
        Message::decode(&Bytes::new(), Limits::default()),
        Err(ProtocolError::Empty)
    );
    assert!(matches!(
        Message::decode(&Bytes::from_static(b"\x01\x51"), Limits::default()),
        Err(ProtocolError::Malformed(_))
    ));
    assert!(matches!(
        Message::decode(
            &Bytes::from_static(b"\x02\x11\x51\x11\x59\x00"),
            Limits::default()
        ),
        Err(ProtocolError::Malformed(_))
    ));
}

/// The direct reader accepts exactly what the `Value`-based parser accepts, with the same
/// message, so that falling back on refusal changes nothing: checked over every §11.5
/// frame and hand-made non-canonical messages, all their truncations and single-byte
/// substitutions, insertions and deletions, random multi-byte mutations, and tight depth and
/// int-digit limits.
#[test]
fn direct_decode_agrees_with_value_decode() {
    let mut corpus: Vec<Vec<u8>> = SECTION_11_5.iter().map(|f| payload(f).to_vec()).collect();
    // Non-canonical lengths everywhere: TUP_L1/TUP_L4 envelopes, int text for seq and
    // handler, `()` as 0x02 and as an explicit 0-length tuple under label 2, a STR_L4 name,
    // ids as a bool, as int text and beyond i64.
    corpus.push(hex("0114025115000000025711521400"));
    corpus.push(hex("0111160531323334351116022037115202"));
    corpus.push(hex(
        "021153115312080f00000003612e4203160b2b31303030303030303030",
    ));
    corpus.push(hex("02115211541208015152"));
    let mut big = Vec::new();
    let big_id = IdPack::new("m.Big", 1 << 100, -(1 << 90));
    Message::encode_reply(1, &Boxed::Remote(big_id), &mut big).unwrap();
    corpus.push(big);
    let mut nested = Vec::new();
    let inner = Boxed::Tuple(vec![
        Boxed::Tuple(vec![
            Boxed::Local(IdPack::new("a.B", 1, 2)),
            Boxed::value(3),
        ]),
        Boxed::Tuple(vec![]),
        Boxed::value(Value::Tuple(vec![Value::str("x"), Value::Tuple(vec![])])),
    ]);
    Message::encode_request(5, Handler::Call, &inner, &mut nested).unwrap();
    corpus.push(nested);
    let mut exc = Vec::new();
    Message::encode_exception(9, &ExceptionPayload::StopIteration, &mut exc).unwrap();
    corpus.push(exc);

    let limits = [
        Limits::default(),
        Limits::new(1, 4300),
        Limits::new(2, 4300),
        Limits::new(3, 4300),
        Limits::new(4, 4300),
        Limits::new(5, 4300),
        Limits::new(256, 2),
    ];
    let mut direct_ok = 0usize;
    let mut check = |p: &[u8]| {
        let Some(&msg) = p.first() else { return };
        let payload = Bytes::copy_from_slice(p);
        for &l in &limits {
            let direct =
                Message::decode_direct(&mut Decoder::with_offset(&payload, 1, l), msg).ok();
            let value = Message::decode_value(&payload, msg, l);
            assert_eq!(direct, value.clone().ok(), "{p:02x?} {l:?}");
            if (1..=3).contains(&msg) {
                assert_eq!(Message::decode(&payload, l), value, "{p:02x?} {l:?}");
            }
            direct_ok += direct.is_some() as usize;
        }
    };
    for p in &corpus {
        let m = Message::decode_direct(
            &mut Decoder::with_offset(&Bytes::from(p.clone()), 1, Limits::default()),
            p[0],
        );
        assert!(m.is_ok(), "direct refuses {p:02x?}");
    }
    let interesting = [
        0x00u8, 0x01, 0x02, 0x03, 0x04, 0x08, 0x0a, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14,
        0x15, 0x16, 0x17, 0x19, 0x1a, 0x20, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x59, 0xff,
    ];
    for p in &corpus {
        for cut in 0..=p.len() {
            check(&p[..cut]);
        }
        for i in 0..p.len() {
            let mut d = p.clone();
            d.remove(i);
            check(&d);
            for b in interesting.iter().copied().chain([
                p[i] ^ 1,
                p[i].wrapping_add(1),
                p[i].wrapping_sub(1),
            ]) {
                let mut m = p.clone();
                m[i] = b;
                check(&m);
                let mut ins = p.clone();
                ins.insert(i, b);
                check(&ins);
            }
        }
    }
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    for _ in 0..5000 {
        let mut m = corpus[rand(corpus.len())].clone();
        for _ in 0..1 + rand(4) {
            let i = rand(m.len());
            m[i] = if rand(2) == 0 {
                interesting[rand(interesting.len())]
            } else {
                rand(256) as u8
            };
        }
        check(&m);
    }
    assert!(direct_ok > 10_000, "{direct_ok}");
}

#[test]
fn exception_message() {
    let exc = RemoteException::new("builtins", "ValueError", "bad value")
        .with_traceback("Traceback (from rust peer):\nValueError: bad value\n");
    let mut out = Vec::new();
    Message::encode_exception(7, &ExceptionPayload::Exception(exc), &mut out).unwrap();
    let expected = payload("00000060000311571311080e086275696c74696e73080e0a56616c75654572726f7210080e096261642076616c756502080e3254726163656261636b202866726f6d20727573742070656572293a0a56616c75654572726f723a206261642076616c75650a0a");
    assert_eq!(out, expected.to_vec());
}
