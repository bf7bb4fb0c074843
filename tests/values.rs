//! Plain data by value through a service: serde structs via `rpyc::Serde`, maps as tuples of
//! pairs, big integers, bytes vs str, `Option`, nested tuples; and the errors of extracting the
//! wrong type.

#[macro_use]
mod common;

use std::collections::{BTreeMap, HashMap};

use common::{connect_default, Transport};
use num_bigint::BigInt;
use rpyc::{ConvertError, Error, Serde, Value};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    name: String,
    age: u32,
    email: Option<String>,
    tags: Vec<String>,
}

fn ann() -> User {
    User {
        name: "Ann".into(),
        age: 34,
        email: Some("ann@example.org".into()),
        tags: vec!["admin".into(), "ops".into()],
    }
}

fn bob() -> User {
    User {
        name: "Bob".into(),
        age: 51,
        email: None,
        tags: vec![],
    }
}

struct DataService;

#[rpyc::service]
impl DataService {
    #[exposed]
    fn users(&self) -> Serde<Vec<User>> {
        Serde(vec![ann(), bob()])
    }

    #[exposed]
    fn oldest(&self, users: Serde<Vec<User>>) -> Serde<Option<User>> {
        Serde(users.0.into_iter().max_by_key(|u| u.age))
    }

    #[exposed]
    fn inventory(&self) -> BTreeMap<String, i64> {
        BTreeMap::from([("apples".into(), 3), ("pears".into(), 5)])
    }

    #[exposed]
    fn total(&self, stock: HashMap<String, i64>) -> i64 {
        stock.values().sum()
    }

    #[exposed]
    fn big(&self) -> (u64, i128, BigInt) {
        (u64::MAX, i128::MIN, BigInt::from(2).pow(200))
    }

    #[exposed]
    fn double(&self, x: BigInt) -> BigInt {
        x * 2
    }

    #[exposed]
    fn type_of(&self, x: Value) -> String {
        x.type_name().to_string()
    }

    #[exposed]
    fn byte_len(&self, b: Vec<u8>) -> usize {
        b.len()
    }

    #[exposed]
    fn char_len(&self, s: String) -> usize {
        s.chars().count()
    }

    #[exposed]
    fn increment(&self, x: Option<i64>) -> Option<i64> {
        x.map(|x| x + 1)
    }

    #[exposed]
    #[allow(clippy::type_complexity)]
    fn nested(&self) -> ((i64, (String, (bool, Vec<u8>))), Option<(f64, ())>) {
        ((1, ("two".into(), (true, vec![3, 4]))), Some((5.5, ())))
    }

    #[exposed]
    fn echo(&self, x: Value) -> Value {
        x
    }
}

async fn serde_structs(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, || DataService).await;
    let root = conn.root().await?;

    let users = root.call_method("users", ()).await?;
    // On the wire: a tuple of tuples, as Python sees it.
    assert_eq!(
        users.as_tuple().map(<[Value]>::len),
        Some(2),
        "{}",
        users.repr()
    );
    let Serde(users): Serde<Vec<User>> = users.extract()?;
    assert_eq!(users, [ann(), bob()]);

    // And as an argument.
    let oldest: Serde<Option<User>> = root
        .call_method("oldest", (Serde(vec![ann(), bob(), ann()]),))
        .await?
        .extract()?;
    assert_eq!(oldest.0, Some(bob()));
    let none: Serde<Option<User>> = root
        .call_method("oldest", (Serde(Vec::<User>::new()),))
        .await?
        .extract()?;
    assert_eq!(none.0, None);

    // A struct that does not fit is a TypeError for the server.
    let e = root
        .call_method("oldest", (vec![(1, 2)],))
        .await
        .unwrap_err();
    assert!(e.is_remote("TypeError"), "{e:?}");
    assert!(e.remote().unwrap().message().contains("'users'"), "{e:?}");
    Ok(())
}

async fn maps(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, || DataService).await;
    let root = conn.root().await?;

    let inv = root.call_method("inventory", ()).await?;
    assert_eq!(
        inv,
        Value::Tuple(vec![
            Value::Tuple(vec![Value::str("apples"), Value::Int(3)]),
            Value::Tuple(vec![Value::str("pears"), Value::Int(5)]),
        ]),
        "a map travels as a tuple of (key, value) pairs"
    );
    let inv: BTreeMap<String, i64> = inv.extract()?;
    assert_eq!(inv["pears"], 5);
    let as_hash: HashMap<String, i64> = root.call_method("inventory", ()).await?.extract()?;
    assert_eq!(as_hash.len(), 2);

    let stock = HashMap::from([("a".to_string(), 10), ("b".to_string(), 32)]);
    assert_eq!(root.call_method("total", (stock,)).await?, Value::Int(42));
    Ok(())
}

async fn big_integers(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, || DataService).await;
    let root = conn.root().await?;

    let (a, b, c): (u64, i128, BigInt) = root.call_method("big", ()).await?.extract()?;
    assert_eq!(a, u64::MAX);
    assert_eq!(b, i128::MIN);
    assert_eq!(c, BigInt::from(2).pow(200));

    for x in [u64::MAX, 0, 1 << 63] {
        assert_eq!(root.call_method("echo", (x,)).await?.extract::<u64>()?, x);
    }
    for x in [i128::MAX, i128::MIN, i64::MIN as i128 - 1, -1] {
        assert_eq!(root.call_method("echo", (x,)).await?.extract::<i128>()?, x);
    }
    let huge = BigInt::from(-3).pow(99);
    assert_eq!(
        root.call_method("double", (huge.clone(),))
            .await?
            .extract::<BigInt>()?,
        huge * 2
    );
    // Small results come back in the i64 fast path.
    assert_eq!(
        root.call_method("double", (BigInt::from(21),)).await?,
        Value::Int(42)
    );
    assert_eq!(
        root.call_method("type_of", (u64::MAX,)).await?,
        Value::str("int")
    );

    // Too big for the type asked: a range error naming the type.
    let e = root
        .call_method("echo", (u64::MAX,))
        .await?
        .extract::<i64>()
        .unwrap_err();
    assert!(
        matches!(e, ConvertError::Range { target: "i64", .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("18446744073709551615"), "{e}");
    Ok(())
}

async fn bytes_and_str(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, || DataService).await;
    let root = conn.root().await?;

    let b = root
        .call_method("echo", (Value::bytes(&b"caf\xc3\xa9"[..]),))
        .await?;
    let s = root.call_method("echo", ("café",)).await?;
    assert_eq!(b, Value::bytes(&b"caf\xc3\xa9"[..]));
    assert_eq!(s, Value::str("café"));
    assert_ne!(b, s, "bytes and str stay distinct");
    assert_eq!(
        root.call_method("type_of", (vec![1u8, 2],)).await?,
        Value::str("bytes")
    );
    assert_eq!(
        root.call_method("type_of", ("12",)).await?,
        Value::str("str")
    );
    assert_eq!(
        root.call_method("byte_len", (b.clone(),)).await?,
        Value::Int(5)
    );
    assert_eq!(
        root.call_method("char_len", (s.clone(),)).await?,
        Value::Int(4)
    );

    // Each refuses the other.
    let e = root.call_method("byte_len", ("abc",)).await.unwrap_err();
    assert!(e.is_remote("TypeError"), "{e:?}");
    let msg = e.remote().unwrap().message();
    assert!(
        msg.contains("'b'") && msg.contains("bytes") && msg.contains("str"),
        "{msg}"
    );
    let e = root
        .call_method("char_len", (b"abc".to_vec(),))
        .await
        .unwrap_err();
    assert!(e.is_remote("TypeError"), "{e:?}");

    let raw: Vec<u8> = b.clone().extract()?;
    assert_eq!(raw, "café".as_bytes());
    let e = b.extract::<String>().unwrap_err();
    assert_eq!(e.to_string(), "expected str, got bytes");
    Ok(())
}

async fn options_and_nested_tuples(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, || DataService).await;
    let root = conn.root().await?;

    assert_eq!(root.call_method("increment", (41,)).await?, Value::Int(42));
    assert_eq!(
        root.call_method("increment", (Value::None,)).await?,
        Value::None
    );
    assert_eq!(root.call_method("increment", ()).await?, Value::None);
    let some: Option<i64> = root.call_method("increment", (Some(1),)).await?.extract()?;
    assert_eq!(some, Some(2));
    let none: Option<i64> = root
        .call_method("increment", (None::<i64>,))
        .await?
        .extract()?;
    assert_eq!(none, None);

    #[allow(clippy::type_complexity)]
    let nested: ((i64, (String, (bool, Vec<u8>))), Option<(f64, ())>) =
        root.call_method("nested", ()).await?.extract()?;
    assert_eq!(
        nested,
        (
            (1, ("two".to_string(), (true, vec![3, 4]))),
            Some((5.5, ()))
        )
    );

    // Values of every plain kind come back unchanged.
    let everything = Value::Tuple(vec![
        Value::None,
        Value::Bool(true),
        Value::Int(-7),
        Value::Float(2.5),
        Value::Complex(1.0, -1.0),
        Value::str("ünïcode ✓"),
        Value::bytes(vec![0u8, 255]),
        Value::Tuple(vec![]),
        Value::Tuple(vec![Value::Tuple(vec![Value::Tuple(vec![Value::Int(1)])])]),
        Value::FrozenSet(vec![Value::Int(1), Value::Int(2)]),
        Value::Ellipsis,
    ]);
    assert_eq!(
        root.call_method("echo", (everything.clone(),)).await?,
        everything
    );
    // bool is not int.
    assert_eq!(root.call_method("echo", (true,)).await?, Value::Bool(true));
    Ok(())
}

async fn wrong_type_extraction(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, || DataService).await;
    let root = conn.root().await?;

    let users = root.call_method("users", ()).await?;
    let e = users.clone().extract::<i64>().unwrap_err();
    assert_eq!(e.to_string(), "expected int, got tuple");
    assert!(
        matches!(&e, ConvertError::Type { expected, actual } if expected == "int" && actual == "tuple"),
        "{e:?}"
    );
    let e = users.extract::<(String, String, String)>().unwrap_err();
    assert!(
        matches!(
            e,
            ConvertError::Length {
                expected: 3,
                actual: 2
            }
        ),
        "{e:?}"
    );

    let e = root
        .call_method("type_of", (1,))
        .await?
        .extract::<f64>()
        .unwrap_err();
    assert!(e.to_string().contains("str"), "{e}");

    // Through the connection's error type.
    let e: Error = root
        .call_method("increment", (1,))
        .await?
        .extract::<String>()
        .map_err(Error::from)
        .unwrap_err();
    assert!(matches!(e, Error::Convert(_)), "{e:?}");
    assert_eq!(e.to_string(), "expected str, got int");
    Ok(())
}

transport_tests!(
    serde_structs,
    maps,
    big_integers,
    bytes_and_str,
    options_and_nested_tuples,
    wrong_type_extraction,
);
