//! Tests of `store.rs`: request parsing, the in-memory store's semantics and its bounds.

use super::*;
/// Runs one of the in-memory store's futures (they are ready at once).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn req(cmd: &str, args: Value) -> Value {
    Value::Tuple(vec![Value::str("RPYC"), Value::str(cmd), args])
}

fn names(n: &[&str]) -> Vec<String> {
    n.iter().map(|s| s.to_string()).collect()
}

#[test]
fn requests_parse_like_pythons_registry() {
    let reg = req(
        "REGISTER",
        Value::Tuple(vec![
            Value::Tuple(vec![Value::str("foo"), Value::str("BAR")]),
            Value::Int(18861),
        ]),
    );
    assert_eq!(
        Request::parse(reg),
        Some(Request::Register {
            names: names(&["FOO", "BAR"]),
            port: 18861
        })
    );
    assert_eq!(
        Request::parse(req("query", Value::Tuple(vec![Value::str("Calc")]))),
        Some(Request::Query {
            name: "CALC".into()
        })
    );
    assert_eq!(
        Request::parse(req(
            "LIST",
            Value::Tuple(vec![Value::Tuple(vec![Value::None])])
        )),
        Some(Request::List { host: None })
    );
    assert_eq!(Request::parse(Value::Int(3)), None, "garbage");
    assert_eq!(
        Request::parse(Value::Tuple(vec![
            Value::str("XXXX"),
            Value::str("QUERY"),
            Value::Tuple(vec![Value::str("x")])
        ])),
        None,
        "wrong magic"
    );
}

#[test]
fn memory_store_semantics() {
    let s = MemoryStore::new(DEFAULT_PRUNING, Limits::default());
    block_on(s.register("10.0.0.1", &names(&["FOO", "BAR"]), 18861)).unwrap();
    block_on(s.register("10.0.0.2", &names(&["FOO"]), 18862)).unwrap();
    assert_eq!(
        block_on(s.query("FOO")).unwrap(),
        [
            ("10.0.0.2".to_string(), 18862),
            ("10.0.0.1".to_string(), 18861)
        ],
        "most recently refreshed first"
    );
    // Refreshing moves an entry to the front without duplicating it.
    block_on(s.register("10.0.0.1", &names(&["FOO"]), 18861)).unwrap();
    assert_eq!(block_on(s.query("FOO")).unwrap()[0].1, 18861);
    assert_eq!(block_on(s.query("FOO")).unwrap().len(), 2);
    assert!(block_on(s.query("NOTHING")).unwrap().is_empty());
    assert_eq!(block_on(s.list(None)).unwrap().len(), 2);
    assert_eq!(block_on(s.list(Some("10.0.0.2"))).unwrap(), ["FOO"]);
    block_on(s.unregister("10.0.0.1", 18861)).unwrap();
    assert_eq!(block_on(s.query("FOO")).unwrap().len(), 1);
    assert!(block_on(s.query("BAR")).unwrap().is_empty());
    assert_eq!(block_on(s.list(None)).unwrap(), ["FOO"]);
}

const DEFAULT_PRUNING: Duration = Duration::from_secs(240);

#[test]
fn ports_and_names_are_validated() {
    let s = MemoryStore::new(DEFAULT_PRUNING, Limits::default());
    for port in [0, -1, 65536, i64::MAX] {
        let err = block_on(s.register("h", &names(&["X"]), port)).unwrap_err();
        assert!(err.contains("1-65535"), "{err}");
    }
    let long = "N".repeat(129);
    assert!(block_on(s.register("h", &[long], 1)).is_err());
    assert!(block_on(s.register("h", &[], 1)).is_err());
    assert!(block_on(s.list(None)).unwrap().is_empty(), "nothing stored");
}

#[test]
fn per_host_and_total_limits_hold() {
    let limits = Limits {
        max_name_len: 16,
        max_entries: 5,
        max_entries_per_host: 3,
    };
    let s = MemoryStore::new(DEFAULT_PRUNING, limits);
    block_on(s.register("a", &names(&["A", "B", "C"]), 1)).unwrap();
    // Refreshing what it holds is always fine; one more is not.
    block_on(s.register("a", &names(&["A", "B", "C"]), 1)).unwrap();
    let err = block_on(s.register("a", &names(&["D"]), 1)).unwrap_err();
    assert!(err.contains("limit 3"), "{err}");
    block_on(s.register("b", &names(&["A", "B"]), 1)).unwrap();
    let err = block_on(s.register("c", &names(&["A"]), 1)).unwrap_err();
    assert!(err.contains("full"), "{err}");
    // Unregistering frees the host's quota.
    block_on(s.unregister("a", 1)).unwrap();
    block_on(s.register("c", &names(&["A"]), 1)).unwrap();
}

#[test]
fn expired_entries_go_on_prune_and_on_query() {
    let s = MemoryStore::new(Duration::from_millis(1), Limits::default());
    block_on(s.register("h", &names(&["OLD"]), 1)).unwrap();
    block_on(s.register("h", &names(&["OTHER"]), 2)).unwrap();
    std::thread::sleep(Duration::from_millis(5));
    assert!(block_on(s.query("OLD")).unwrap().is_empty());
    // OTHER was never queried: the timer's prune drops it from LIST too.
    assert_eq!(block_on(s.list(None)).unwrap(), ["OTHER"]);
    s.prune();
    assert!(block_on(s.list(None)).unwrap().is_empty());
    // And the host's quota is back.
    assert_eq!(s.table.lock().entries, 0);
    assert!(s.table.lock().per_host.is_empty());
}
