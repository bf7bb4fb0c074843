//! Rust client → real Python rpyc 6.0.2 classic server (`support/py_server.rs`): fetching
//! Python containers into Rust values (`NetRef::fetch`), async and blocking.

#[path = "support/py_server.rs"]
mod py_server;

use py_server::{session, PyServer};
use rpyc::NetRef;

/// `eval(expr)` on a classic server, as a reference.
async fn eval_ref(root: &NetRef, expr: &str) -> NetRef {
    root.call_method("eval", (expr,))
        .await
        .unwrap()
        .extract()
        .unwrap()
}

#[derive(serde::Deserialize, Debug, PartialEq)]
struct Point {
    x: i64,
    tags: Vec<String>,
}

#[tokio::test]
async fn python_containers_fetch_into_rust_values() {
    use std::collections::{BTreeMap, HashMap, HashSet};
    let (_server, conn, root) = session(true).await;
    let baseline = conn.proxy_count();

    let xs: Vec<i64> = eval_ref(&root, "[1, 2, 3]").await.fetch().await.unwrap();
    assert_eq!(xs, vec![1, 2, 3]);
    let nested: Vec<Vec<i64>> = eval_ref(&root, "[[1, 2], [], [3]]")
        .await
        .fetch()
        .await
        .unwrap();
    assert_eq!(nested, vec![vec![1, 2], vec![], vec![3]]);
    let set: HashSet<i64> = eval_ref(&root, "{4, 5}").await.fetch().await.unwrap();
    assert_eq!(set, HashSet::from([4, 5]));
    let gen: Vec<i64> = eval_ref(&root, "(i for i in range(3000))")
        .await
        .fetch()
        .await
        .unwrap();
    assert_eq!(gen, (0..3000).collect::<Vec<_>>());
    let map: HashMap<String, Vec<i64>> = eval_ref(&root, "{'a': [1, 2], 'b': []}")
        .await
        .fetch()
        .await
        .unwrap();
    assert_eq!(map["a"], vec![1, 2]);
    assert!(map["b"].is_empty());
    let ordered: BTreeMap<i64, String> = eval_ref(&root, "{2: 'two', 1: 'one'}")
        .await
        .fetch()
        .await
        .unwrap();
    assert_eq!(
        ordered.into_iter().collect::<Vec<_>>(),
        [(1, "one".into()), (2, "two".into())]
    );
    let rpyc::Serde(p): rpyc::Serde<Point> = eval_ref(&root, "{'x': 3, 'tags': ['a', 'b']}")
        .await
        .fetch()
        .await
        .unwrap();
    assert_eq!(
        p,
        Point {
            x: 3,
            tags: vec!["a".into(), "b".into()]
        }
    );

    // A wrong element names its place.
    let err = eval_ref(&root, "[1, 'x']")
        .await
        .fetch::<Vec<i64>>()
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "item 1: expected int, got str");
    let err = eval_ref(&root, "{'k': [1, None]}")
        .await
        .fetch::<HashMap<String, Vec<i64>>>()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "value of key 'k': item 1: expected int, got NoneType"
    );

    // A list that contains itself ends with an error, not a hang.
    let err = eval_ref(&root, "(lambda l: (l.append(l), l)[1])([])")
        .await
        .fetch::<rpyc::Serde<Nest>>()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("nested deeper than"), "{err}");

    // Every reference the fetches made (containers, iterators) is released.
    assert_eq!(conn.proxy_count(), baseline);
}

/// A list of lists of lists…, for the self-containing list.
#[derive(serde::Deserialize, Debug)]
#[allow(dead_code)]
struct Nest(Vec<Nest>);

#[test]
fn blocking_fetch_of_python_containers() {
    let server = PyServer::start(true);
    let conn = rpyc::blocking::connect(server.addr.as_str()).unwrap();
    let root = conn.root().unwrap();
    let list: rpyc::blocking::NetRef = root
        .call_method("eval", ("{'a': [1, 2], 'b': [3]}",))
        .unwrap()
        .extract()
        .unwrap();
    let m: std::collections::BTreeMap<String, Vec<i64>> = list.fetch().unwrap();
    assert_eq!(m["a"], vec![1, 2]);
    assert_eq!(m["b"], vec![3]);
    conn.close().unwrap();
}
