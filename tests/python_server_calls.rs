//! Rust client → real Python rpyc 6.0.2 server (`support/py_server.rs`): calls with
//! positional and keyword arguments, attributes and the service's name, plain values by value,
//! and Python's exceptions as remote errors.

#[path = "support/py_server.rs"]
mod py_server;

use py_server::{int, session, string};
use rpyc::{Args, Error, NetRef, Value};

#[tokio::test]
async fn calls_with_positional_and_keyword_arguments() {
    let (_server, _conn, root) = session(false).await;

    assert_eq!(int(root.call_method("add", (2, 3)).await.unwrap()), 5);
    assert_eq!(
        string(root.call_method("add", ("ab", "cd")).await.unwrap()),
        "abcd"
    );
    // greet(name, greeting="hello")
    assert_eq!(
        string(root.call_method("greet", ("ann",)).await.unwrap()),
        "hello, ann!"
    );
    let hi = root
        .call_method("greet", Args::new().arg("bob").kwarg("greeting", "hi"))
        .await
        .unwrap();
    assert_eq!(string(hi), "hi, bob!");
    // Every argument by keyword.
    let by_kw = root
        .call_method(
            "greet",
            Args::new().kwarg("greeting", "hey").kwarg("name", "cy"),
        )
        .await
        .unwrap();
    assert_eq!(string(by_kw), "hey, cy!");
    // The `exposed_` name works too.
    assert_eq!(
        int(root.call_method("exposed_add", (1, 1)).await.unwrap()),
        2
    );
    // A bad call is Python's TypeError.
    let err = root.call_method("add", (1,)).await.unwrap_err();
    assert!(err.is_remote("TypeError"), "{err:?}");
}

#[tokio::test]
async fn reads_the_exposed_attribute_and_service_name() {
    let (_server, _conn, root) = session(false).await;

    assert_eq!(root.attr::<i64>("the_answer").await.unwrap(), 42);
    assert_eq!(root.getattr("the_answer").await.unwrap(), Value::Int(42));
    assert_eq!(
        string(root.call_method("get_service_name", ()).await.unwrap()),
        "PYTEST"
    );
    // A method read as an attribute is a callable reference.
    let add: NetRef = root.getattr("add").await.unwrap().extract().unwrap();
    assert_eq!(int(add.call((20, 22)).await.unwrap()), 42);
    // Unknown attributes are Python's AttributeError.
    let err = root.getattr("no_such_thing").await.unwrap_err();
    assert!(err.is_remote("AttributeError"), "{err:?}");
}

#[tokio::test]
async fn plain_values_round_trip_by_value() {
    let (_server, _conn, root) = session(false).await;

    let big = "123456789012345678901234567890"
        .parse::<num_bigint::BigInt>()
        .unwrap();
    let values = [
        Value::None,
        Value::Bool(true),
        Value::Int(-7),
        Value::from_bigint(big),
        Value::Float(2.5),
        Value::str("héllo"),
        Value::bytes(&b"\x00\xffraw"[..]),
        Value::Tuple(vec![Value::Int(1), Value::str("two"), Value::Tuple(vec![])]),
        Value::FrozenSet(vec![Value::Int(3)]),
    ];
    for v in values {
        assert_eq!(root.call_method("echo", (v.clone(),)).await.unwrap(), v);
    }
}

#[tokio::test]
async fn python_exceptions_arrive_as_remote_errors() {
    let (_server, _conn, root) = session(false).await;

    let err = root.call_method("fail", ("boom",)).await.unwrap_err();
    assert!(matches!(err, Error::Remote(_)), "{err:?}");
    assert!(err.is_remote("ValueError"));
    assert!(!err.is_remote("KeyError"));
    let exc = err.remote().unwrap();
    assert_eq!(exc.module, "builtins");
    assert_eq!(exc.type_name(), "ValueError");
    assert_eq!(exc.message(), "boom");
    assert_eq!(exc.args, vec![Value::str("boom")]);
    // The traceback is Python's, pointing at the service method in py_server.py.
    assert!(exc.traceback.contains("Traceback"), "{}", exc.traceback);
    assert!(exc.traceback.contains("py_server.py"), "{}", exc.traceback);
    assert!(exc.traceback.contains("exposed_fail"), "{}", exc.traceback);
    assert!(err.to_string().contains("boom"), "{err}");

    let err = root.call_method("fail_key", ("k1",)).await.unwrap_err();
    assert!(err.is_remote("KeyError"), "{err:?}");
    let exc = err.remote().unwrap();
    assert_eq!(exc.args, vec![Value::str("k1")]);
    assert!(exc.traceback.contains("py_server.py"), "{}", exc.traceback);

    // The connection is fine afterwards.
    assert_eq!(int(root.call_method("add", (1, 2)).await.unwrap()), 3);
}
