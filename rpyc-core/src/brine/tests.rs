//! Unit tests of brine: the protocol notes' worked examples, length classes, tolerance of
//! non-canonical input, errors, and the heap budget of decoding.

use num_bigint::BigInt;

use super::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn big(s: &str) -> Value {
    Value::from_bigint(s.parse::<BigInt>().unwrap())
}

/// The worked examples of the protocol notes, §2.5 (checked there against Python's brine).
#[test]
fn worked_examples() {
    let cases: Vec<(&str, Value)> = vec![
        (
            "12515211080a610a62",
            Value::Tuple(vec![
                Value::Int(1),
                Value::Int(2),
                Value::Tuple(vec![Value::str("a"), Value::bytes(&b"b"[..])]),
            ]),
        ),
        ("00", Value::None),
        ("1603333030", Value::Int(300)),
        ("4f", Value::Int(-1)),
        (
            "161631313830353931363230373137343131333033343234",
            big("1180591620717411303424"),
        ),
        ("080e0668c3a96c6c6f", Value::str("héllo")),
        ("03", Value::Bool(true)),
        ("04", Value::Bool(false)),
        ("50", Value::Int(0)),
        ("ef", Value::Int(159)),
        ("1603313630", Value::Int(160)),
        ("20", Value::Int(-48)),
        ("16032d3439", Value::Int(-49)),
        (
            "16172d31313830353931363230373137343131333033343234",
            big("-1180591620717411303424"),
        ),
        ("183ff8000000000000", Value::Float(1.5)),
        (
            "1b3ff00000000000004000000000000000",
            Value::Complex(1.0, 2.0),
        ),
        ("01", Value::bytes(&b""[..])),
        ("0801", Value::str("")),
        ("080a61", Value::str("a")),
        ("0d61626364", Value::bytes(&b"abcd"[..])),
        ("0e056162636465", Value::bytes(&b"abcde"[..])),
        ("02", Value::Tuple(vec![])),
        ("1051", Value::Tuple(vec![Value::Int(1)])),
        (
            "14055152535455",
            Value::Tuple((1..=5).map(Value::Int).collect()),
        ),
        ("1a1055", Value::FrozenSet(vec![Value::Int(5)])),
        (
            "1912510052",
            Value::slice(Value::Int(1), Value::None, Value::Int(2)),
        ),
        ("06", Value::Ellipsis),
        ("05", Value::NotImplemented),
        (
            "1111080e0a6765745f616e737765720011080d6e616d6500",
            Value::Tuple(vec![
                Value::Tuple(vec![Value::str("get_answer"), Value::None]),
                Value::Tuple(vec![Value::str("name"), Value::None]),
            ]),
        ),
    ];
    for (h, v) in cases {
        assert_eq!(dump(&v).unwrap(), hex(h), "dump {v:?}");
        assert_eq!(load(&hex(h)).unwrap(), v, "load {h}");
    }
}

#[test]
fn registry_vectors() {
    let reg = Value::Tuple(vec![
        Value::str("RPYC"),
        Value::str("REGISTER"),
        Value::Tuple(vec![
            Value::Tuple(vec![Value::str("FOO"), Value::str("BAR")]),
            Value::Int(18861),
        ]),
    ]);
    assert_eq!(
        dump(&reg).unwrap(),
        hex("12080d52505943080e0852454749535445521111080c464f4f080c42415216053138383631")
    );
}

#[test]
fn length_classes() {
    for n in [0usize, 1, 4, 5, 255, 256, 70000] {
        let b = vec![7u8; n];
        let enc = dump(&Value::bytes(b.clone())).unwrap();
        let head = match n {
            0 => 1,
            1..=4 => 1,
            5..=255 => 2,
            _ => 5,
        };
        assert_eq!(enc.len(), head + n);
        assert_eq!(load(&enc).unwrap(), Value::bytes(b));
        let t = Value::Tuple(vec![Value::None; n]);
        assert_eq!(load(&dump(&t).unwrap()).unwrap(), t);
    }
}

#[test]
fn non_canonical_forms_accepted() {
    assert_eq!(load(&hex("0e03616263")).unwrap(), Value::bytes(&b"abc"[..]));
    assert_eq!(
        load(&hex("14025152")).unwrap(),
        Value::Tuple(vec![Value::Int(1), Value::Int(2)])
    );
    assert_eq!(load(&hex("160135")).unwrap(), Value::Int(5));
    assert_eq!(load(b"\x16\x08 +1_000 ").unwrap(), Value::Int(1000));
    assert_eq!(load(b"\x16\x03007").unwrap(), Value::Int(7));
    assert!(load(b"\x16\x021__").is_err());
    assert!(load(b"\x16\x02_1").is_err());
    assert!(load(b"\x16\x01-").is_err());
}

#[test]
fn bad_input_is_an_error() {
    assert_eq!(
        load(&[0x07]),
        Err(DecodeError::BadTag { tag: 7, offset: 0 })
    );
    assert_eq!(
        load(&[0x11, 0x51, 0xf3]),
        Err(DecodeError::BadTag {
            tag: 0xf3,
            offset: 2
        })
    );
    assert!(matches!(
        load(&[0x0f, 0xff, 0xff, 0xff, 0xff]),
        Err(DecodeError::Truncated { .. })
    ));
    assert!(matches!(
        load(&[0x15, 0xff, 0xff, 0xff, 0xff]),
        Err(DecodeError::Truncated { .. })
    ));
    assert!(matches!(
        load(&[0x08, 0x0a, 0xff]),
        Err(DecodeError::InvalidUtf8 { offset: 0 })
    ));
    assert!(matches!(
        load(&[0x08, 0x51]),
        Err(DecodeError::StrNotBytes { .. })
    ));
    assert!(matches!(
        load(&[0x19, 0x11, 0x51, 0x51]),
        Err(DecodeError::Malformed { what: "slice", .. })
    ));
    assert!(matches!(
        load(&[0x00, 0x00]),
        Err(DecodeError::TrailingBytes {
            offset: 1,
            count: 1
        })
    ));
    let deep = vec![0x10u8; 100_000];
    assert!(matches!(
        load(&deep),
        Err(DecodeError::DepthExceeded { limit: 256, .. })
    ));
    let mut long = vec![0x17, 0, 0, 0x13, 0x88];
    long.extend(std::iter::repeat_n(b'9', 5000));
    assert!(matches!(
        load(&long),
        Err(DecodeError::IntTooLong { digits: 5000, .. })
    ));
}

#[test]
fn objects_are_not_dumpable() {
    #[derive(Debug)]
    struct Thing;
    impl crate::value::Opaque for Thing {
        fn type_name(&self) -> &str {
            "Thing"
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
        fn as_any_arc(
            self: std::sync::Arc<Self>,
        ) -> std::sync::Arc<dyn std::any::Any + Send + Sync> {
            self
        }
    }
    let v = Value::Tuple(vec![Value::Object(crate::value::Object::new(Thing))]);
    assert_eq!(
        dump(&v),
        Err(EncodeError::NotDumpable {
            type_name: "Thing".into()
        })
    );
}

#[test]
fn int_text_parses_as_python_int_does() {
    let int = |s: &str| parse_python_int(s.as_bytes());
    assert_eq!(int("42"), Some(Value::Int(42)));
    assert_eq!(int("-42"), Some(Value::Int(-42)));
    assert_eq!(int("+7"), Some(Value::Int(7)));
    assert_eq!(int(" \t12\n"), Some(Value::Int(12)));
    assert_eq!(int("1_000"), Some(Value::Int(1000)));
    assert_eq!(int("000123"), Some(Value::Int(123)));
    assert_eq!(
        int("999999999999999999"),
        Some(Value::Int(999_999_999_999_999_999))
    );
    assert_eq!(int("9223372036854775807"), Some(Value::Int(i64::MAX)));
    assert_eq!(int("-9223372036854775808"), Some(Value::Int(i64::MIN)));
    assert_eq!(int("9223372036854775808"), Some(big("9223372036854775808")));
    let long = "-123456789012345678901234567890";
    assert_eq!(int(long), Some(big(long)));
    for bad in [
        "", "-", "+", "_1", "1_", "1__0", "1 2", "0x10", "١٢", "--1", "12a",
    ] {
        assert_eq!(int(bad), None, "{bad:?}");
    }
}
