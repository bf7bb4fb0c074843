//! Rust client → real Python rpyc 6.0.2 server (`support/py_server.rs`): Python objects by
//! reference (a list, a dict), used through their proxies and released when dropped.

#[path = "support/py_server.rs"]
mod py_server;

use py_server::session;
use rpyc::{NetRef, Value};

#[tokio::test]
async fn python_list_by_reference() {
    let (_server, _conn, root) = session(false).await;

    let list: NetRef = root
        .call_method("get_list", ())
        .await
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(list.type_name(), "builtins.list");
    assert_eq!(list.len().await.unwrap(), 3);
    assert_eq!(list.getitem(0).await.unwrap(), Value::Int(1));
    assert_eq!(list.getitem(-1).await.unwrap(), Value::Int(3));
    assert!(list.getitem(10).await.unwrap_err().is_remote("IndexError"));
    assert!(list.contains(2).await.unwrap());
    assert!(!list.contains(9).await.unwrap());
    assert_eq!(
        list.collect().await.unwrap(),
        vec![Value::Int(1), Value::Int(2), Value::Int(3)]
    );
    assert_eq!(list.repr().await.unwrap(), "[1, 2, 3]");
    assert_eq!(list.str().await.unwrap(), "[1, 2, 3]");
    assert!(list.dir().await.unwrap().iter().any(|n| n == "append"));

    // The server allows public attributes: the list can be changed through its methods.
    list.call_method("append", (4,)).await.unwrap();
    list.setitem(0, 10).await.unwrap();
    assert_eq!(list.len().await.unwrap(), 4);
    assert_eq!(list.repr().await.unwrap(), "[10, 2, 3, 4]");

    // Passing the reference back gives Python its own object, and it comes back to us as the
    // same proxy.
    let echoed: NetRef = root
        .call_method("echo", (&list,))
        .await
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(echoed, list);
}

#[tokio::test]
async fn python_dict_by_reference() {
    let (_server, _conn, root) = session(false).await;

    let d: NetRef = root
        .call_method("get_dict", ())
        .await
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(d.type_name(), "builtins.dict");
    assert_eq!(d.len().await.unwrap(), 2);
    assert_eq!(d.getitem("a").await.unwrap(), Value::Int(1));
    assert_eq!(d.getitem("b").await.unwrap(), Value::Int(2));
    assert!(d.contains("a").await.unwrap());
    assert!(!d.contains("zz").await.unwrap());

    let missing = d.getitem("zz").await.unwrap_err();
    assert!(missing.is_remote("KeyError"), "{missing:?}");

    // Iterating a dict yields its keys.
    assert_eq!(
        d.collect().await.unwrap(),
        vec![Value::str("a"), Value::str("b")]
    );
    // keys() is a public attribute: a dict_keys view, by reference.
    let keys: NetRef = d.call_method("keys", ()).await.unwrap().extract().unwrap();
    assert_eq!(
        keys.collect().await.unwrap(),
        vec![Value::str("a"), Value::str("b")]
    );
    // items() and get() with a default.
    let items: NetRef = d.call_method("items", ()).await.unwrap().extract().unwrap();
    assert_eq!(
        items.collect().await.unwrap(),
        vec![
            Value::Tuple(vec![Value::str("a"), Value::Int(1)]),
            Value::Tuple(vec![Value::str("b"), Value::Int(2)]),
        ]
    );
    assert_eq!(
        d.call_method("get", ("zz", 0)).await.unwrap(),
        Value::Int(0)
    );

    d.setitem("c", 3).await.unwrap();
    d.delitem("a").await.unwrap();
    assert_eq!(d.repr().await.unwrap(), "{'b': 2, 'c': 3}");
}

#[tokio::test]
async fn dropped_references_are_released() {
    let (_server, conn, root) = session(false).await;

    let baseline = conn.proxy_count();
    for _ in 0..1000 {
        let list: NetRef = root
            .call_method("get_list", ())
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(list.len().await.unwrap(), 3);
        drop(list);
    }
    assert_eq!(conn.proxy_count(), baseline);

    // Clones share one proxy; it goes away with the last clone.
    let d: NetRef = root
        .call_method("get_dict", ())
        .await
        .unwrap()
        .extract()
        .unwrap();
    let d2 = d.clone();
    assert_eq!(conn.proxy_count(), baseline + 1);
    drop(d);
    assert_eq!(d2.len().await.unwrap(), 2);
    drop(d2);
    assert_eq!(conn.proxy_count(), baseline);
    // Still healthy after all the releases.
    conn.ping().await.unwrap();
}
