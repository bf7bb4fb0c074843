//! Rust client → a stock Python rpyc 6.0.2 `ThreadedServer` with RPyC's default config:
//! containers of 10⁵ items fetched by value (`NetRef::fetch`) in a bounded number of
//! sequential round trips, counted through the server's own request log (no timing).
//!
//! The bound (issue 20, §4): a list, tuple or set of n items in at most `2 + ⌈n/1024⌉`
//! requests that each wait for the previous one (`__iter__`, then BUFFITER batches), a dict in
//! one more wait: its n `__getitem__` lookups go out in one burst. The burst is checked by the
//! server holding back every lookup's reply until all n lookups have arrived
//! (`gate_lookups`): a client that waited for a reply before its next lookup would never get
//! one.

#[path = "support/py_server.rs"]
mod py_server;

use std::collections::{BTreeMap, HashMap, HashSet};

use py_server::PyServer;
use rpyc::NetRef;

const N: usize = 100_000;

/// The requests the server logged while `fetch` ran.
async fn logged<T>(root: &NetRef, fetch: impl std::future::Future<Output = T>) -> (T, Vec<String>) {
    root.call_method("start_counting", ()).await.unwrap();
    let out = fetch.await;
    let log: Vec<String> = root
        .call_method("stop_counting", ())
        .await
        .unwrap()
        .extract()
        .unwrap();
    (out, log)
}

/// `__iter__` once, then only BUFFITER batches, within the bound.
fn assert_iteration(log: &[String], n: usize) {
    assert_eq!(
        log[0],
        "callattr __iter__",
        "{:?}",
        &log[..log.len().min(5)]
    );
    assert!(log[1..].iter().all(|r| r == "buffiter"), "{log:?}");
    assert!(
        log.len() <= 2 + n.div_ceil(1024),
        "{} requests for {n} items",
        log.len()
    );
    eprintln!("{n} items: {} sequential requests", log.len());
}

#[tokio::test]
async fn large_containers_in_bounded_round_trips() {
    let server = PyServer::start_args(&["--default-config"]);
    let conn = server.connect().await;
    let root = conn.root().await.unwrap();
    let get = |method: &'static str| {
        let root = root.clone();
        async move {
            root.call_method(method, (N,))
                .await
                .unwrap()
                .extract::<NetRef>()
                .unwrap()
        }
    };

    // A list of 10^5 ints: 99 requests (1 + 98 batches, the last one short).
    let list = get("numbers_list").await;
    let (xs, log) = logged(&root, list.fetch::<Vec<i64>>()).await;
    assert_eq!(xs.unwrap(), (0..N as i64).collect::<Vec<_>>());
    assert_iteration(&log, N);
    assert_eq!(log.len(), 1 + N.div_ceil(1024));

    // A set.
    let set = get("numbers_set").await;
    let (s, log) = logged(&root, set.fetch::<HashSet<i64>>()).await;
    assert_eq!(s.unwrap(), (0..N as i64).collect::<HashSet<_>>());
    assert_iteration(&log, N);

    // A dict: its keys as above, then the 10^5 lookups in one burst (the gate).
    let dict = get("squares_dict").await;
    root.call_method("gate_lookups", (N,)).await.unwrap();
    let (m, log) = logged(&root, dict.fetch::<HashMap<String, i64>>()).await;
    let m = m.unwrap();
    assert_eq!(m.len(), N);
    assert_eq!(m["k99999"], 99_999 * 99_999);
    let lookups = log.iter().filter(|r| *r == "callattr __getitem__").count();
    assert_eq!(lookups, N);
    let keys = &log[..log.len() - N];
    assert!(log[log.len() - N..]
        .iter()
        .all(|r| r == "callattr __getitem__"));
    assert_iteration(keys, N);

    conn.close().await.unwrap();
}

#[derive(serde::Deserialize, Debug, PartialEq)]
struct Point {
    x: i64,
    y: i64,
}

#[derive(serde::Deserialize, Debug, PartialEq)]
struct Nested {
    points: Vec<Point>,
    tags: HashSet<String>,
    rows: Vec<Vec<i64>>,
}

/// Nested containers into serde types and std collections, each level read at once.
#[tokio::test]
async fn nested_containers_into_serde_types() {
    let server = PyServer::start_args(&["--default-config"]);
    let conn = server.connect().await;
    let root = conn.root().await.unwrap();
    let nested: NetRef = root
        .call_method("nested", ())
        .await
        .unwrap()
        .extract()
        .unwrap();

    let rpyc::Serde(got) = nested.fetch::<rpyc::Serde<Nested>>().await.unwrap();
    assert_eq!(
        got,
        Nested {
            points: vec![Point { x: 1, y: 2 }, Point { x: 3, y: 4 }],
            tags: ["a", "b"].map(String::from).into(),
            rows: vec![vec![1, 2], vec![3], vec![]],
        }
    );
    let rows: BTreeMap<String, rpyc::Value> = nested.fetch().await.unwrap();
    assert_eq!(rows.len(), 3);
    conn.close().await.unwrap();
}
