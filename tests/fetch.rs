//! Containers that arrive by reference, as arguments of Rust methods (`rpyc::fetch`).
//!
//! The client passes its own objects by reference (a list-like iterator, a map), as a Python
//! client passes its lists and dicts; the service's parameters are ordinary Rust types. Every
//! scenario runs over the in-process pair, TCP and a Unix socket.

#[macro_use]
mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{connect_default, within, Transport};
use rpyc::views::ItemIterator;
use rpyc::{Args, CallContext, Dict, NetRef, RemoteException, Serde, Value};

#[derive(serde::Deserialize)]
struct Point {
    x: i64,
    tags: Vec<String>,
}

#[derive(Default)]
struct Sums;

#[rpyc::service]
impl Sums {
    #[exposed]
    fn total(&self, xs: Vec<i64>) -> i64 {
        xs.iter().sum()
    }

    #[exposed]
    fn nested(&self, xs: Vec<Vec<i64>>) -> Vec<usize> {
        xs.iter().map(Vec::len).collect()
    }

    #[exposed]
    fn keys(&self, m: BTreeMap<String, Value>) -> Vec<String> {
        m.into_keys().collect()
    }

    #[exposed]
    fn value_sum(&self, m: HashMap<String, Vec<i64>>) -> i64 {
        m.values().flatten().sum()
    }

    #[exposed]
    fn distinct(&self, s: HashSet<i64>) -> usize {
        s.len()
    }

    #[exposed]
    fn point(&self, p: Serde<Point>) -> String {
        format!("{} {}", p.0.x, p.0.tags.join(","))
    }

    #[exposed]
    fn pair(&self, t: (i64, String)) -> String {
        format!("{}{}", t.0, t.1)
    }

    #[exposed]
    fn maybe(&self, xs: Option<Vec<i64>>) -> i64 {
        xs.map_or(-1, |v| v.len() as i64)
    }

    /// A parameter that keeps references: nothing is fetched.
    #[exposed]
    fn first_type(&self, xs: Vec<NetRef>) -> String {
        xs.first()
            .map(|r| r.type_name().to_string())
            .unwrap_or_default()
    }

    /// A map of the server's own, handed out by reference.
    #[exposed]
    fn make_map(&self) -> Table {
        Table::new(&[("a", 1), ("b", 2)])
    }

    /// Conversion by hand, after fetching.
    #[exposed]
    async fn by_hand(
        &self,
        ctx: &CallContext,
        mut args: rpyc::Rest,
    ) -> Result<i64, RemoteException> {
        let mut a = rpyc::IntoArgs::into_args(std::mem::take(&mut args.0));
        let xs: Vec<i64> = a.take_fetched(ctx, 0, "xs").await?;
        Ok(xs.iter().sum())
    }

    #[exposed]
    fn any_map(&self, d: Dict) -> usize {
        d.0.len()
    }
}

/// A small map object: keys iterate, values by `[]`, the three dict views from `mapping`.
struct Table {
    entries: std::sync::Mutex<Vec<(String, i64)>>,
    /// When set, `__getitem__` waits until this many lookups are in progress at once.
    barrier: Option<Arc<tokio::sync::Barrier>>,
    lookups: AtomicUsize,
}

impl Table {
    fn new(entries: &[(&str, i64)]) -> Table {
        Table {
            entries: std::sync::Mutex::new(
                entries.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            ),
            barrier: None,
            lookups: AtomicUsize::new(0),
        }
    }
}

#[rpyc::object(name = "tests.Table", mapping)]
impl Table {
    #[exposed(name = "__getitem__")]
    async fn getitem(&self, key: String) -> Result<Vec<i64>, RemoteException> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        if let Some(b) = &self.barrier {
            b.wait().await;
        }
        let v = self
            .entries
            .lock()
            .unwrap()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v);
        v.map(|v| vec![v])
            .ok_or_else(|| RemoteException::key_error(Value::str(&key)))
    }

    #[exposed(name = "__iter__")]
    fn iter(&self) -> ItemIterator {
        ItemIterator::new(
            self.entries
                .lock()
                .unwrap()
                .iter()
                .map(|(k, _)| Value::str(k))
                .collect(),
        )
    }

    #[exposed(name = "__len__")]
    fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}

fn items(values: impl IntoIterator<Item = Value>) -> Value {
    rpyc::export(ItemIterator::new(values.into_iter().collect()))
}

fn ints(r: std::ops::Range<i64>) -> Value {
    items(r.map(Value::Int))
}

async fn arguments_by_reference(t: Transport) -> rpyc::Result<()> {
    let (conn, _guard) = connect_default(t, || Sums).await;
    let root = conn.root().await?;
    let call = |name: &'static str, arg: Value| {
        let root = root.clone();
        async move { root.call_method(name, (arg,)).await }
    };

    assert_eq!(call("total", ints(0..5000)).await?, Value::Int(12_497_500));
    assert_eq!(call("total", ints(0..0)).await?, Value::Int(0));
    // By value still works, and a tuple holding references is read item by item.
    assert_eq!(
        call("total", rpyc::IntoValue::into_value(vec![1i64, 2])).await?,
        Value::Int(3)
    );
    let lists = items([ints(0..3), ints(0..0), Value::Tuple(vec![Value::Int(9)])]);
    assert_eq!(
        call("nested", lists).await?,
        Value::Tuple(vec![Value::Int(3), Value::Int(0), Value::Int(1)])
    );
    let mixed = Value::Tuple(vec![ints(0..2), Value::Tuple(vec![])]);
    assert_eq!(
        call("nested", mixed).await?,
        Value::Tuple(vec![Value::Int(2), Value::Int(0)])
    );
    let table = rpyc::export(Table::new(&[("b", 2), ("a", 1)]));
    assert_eq!(
        call("keys", table.clone()).await?,
        Value::Tuple(vec![Value::str("a"), Value::str("b")])
    );
    assert_eq!(call("value_sum", table.clone()).await?, Value::Int(3));
    assert_eq!(call("any_map", table).await?, Value::Int(2));
    assert_eq!(
        call("distinct", items([1, 1, 2].map(Value::Int))).await?,
        Value::Int(2)
    );
    assert_eq!(
        call("pair", items([Value::Int(4), Value::str("x")])).await?,
        Value::str("4x")
    );
    assert_eq!(call("maybe", Value::None).await?, Value::Int(-1));
    assert_eq!(call("maybe", ints(0..4)).await?, Value::Int(4));
    // A list of references stays a list of references.
    let refs = items([rpyc::export(Table::new(&[]))]);
    assert_eq!(call("first_type", refs).await?, Value::str("tests.Table"));
    // Keyword arguments too.
    let kw = root
        .call_method("total", Args::new().kwarg("xs", ints(0..3)))
        .await?;
    assert_eq!(kw, Value::Int(3));
    // By hand.
    assert_eq!(call("by_hand", ints(0..4)).await?, Value::Int(6));
    Ok(())
}

async fn a_serde_struct_reads_a_map(t: Transport) -> rpyc::Result<()> {
    let (conn, _guard) = connect_default(t, || Sums).await;
    let root = conn.root().await?;
    // A struct's fields from the entries of a map object (key order does not matter).
    struct Fields;
    #[rpyc::object(name = "builtins.dict")]
    impl Fields {
        #[exposed(name = "__iter__")]
        fn iter(&self) -> ItemIterator {
            ItemIterator::new(vec![Value::str("tags"), Value::str("x")])
        }
        #[exposed(name = "__getitem__")]
        fn get(&self, k: String) -> Value {
            match k.as_str() {
                "x" => Value::Int(7),
                _ => items([Value::str("p"), Value::str("q")]),
            }
        }
    }
    let r = root.call_method("point", (rpyc::export(Fields),)).await?;
    assert_eq!(r, Value::str("7 p,q"));
    Ok(())
}

async fn the_servers_own_objects_come_back(t: Transport) -> rpyc::Result<()> {
    let (conn, _guard) = connect_default(t, || Sums).await;
    let root = conn.root().await?;
    let m: NetRef = root.call_method("make_map", ()).await?.extract()?;
    assert_eq!(root.call_method("value_sum", (&m,)).await?, Value::Int(3));
    assert_eq!(
        root.call_method("keys", (&m,)).await?,
        Value::Tuple(vec![Value::str("a"), Value::str("b")])
    );
    // And its dict views, fetched by the client.
    let keys: Vec<String> = m
        .call_method("keys", ())
        .await?
        .extract::<NetRef>()?
        .fetch()
        .await?;
    assert_eq!(keys, ["a", "b"]);
    let fetched: BTreeMap<String, Vec<i64>> = m.fetch().await?;
    assert_eq!(fetched["b"], vec![2]);
    Ok(())
}

async fn wrong_items_are_named(t: Transport) -> rpyc::Result<()> {
    let (conn, _guard) = connect_default(t, || Sums).await;
    let root = conn.root().await?;
    let bad = items([Value::Int(1), Value::str("two")]);
    let err = root.call_method("total", (bad,)).await.unwrap_err();
    assert!(err.is_remote("TypeError"), "{err}");
    assert!(
        err.to_string()
            .contains("argument 'xs': item 1: expected int, got str"),
        "{err}"
    );
    let nested = items([ints(0..1), items([Value::None])]);
    let err = root.call_method("nested", (nested,)).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("argument 'xs': item 1: item 0: expected int, got NoneType"),
        "{err}"
    );
    // Not a container at all: the error says what it got.
    let err = root
        .call_method(
            "total",
            (rpyc::Callback::sync(|_| Ok::<_, RemoteException>(1)),),
        )
        .await
        .unwrap_err();
    assert!(
        err.is_remote("AttributeError") || err.is_remote("TypeError"),
        "{err}"
    );
    // The connection is still fine.
    assert_eq!(
        root.call_method("total", (ints(0..3),)).await?,
        Value::Int(3)
    );
    Ok(())
}

/// The values of a map are asked for in one burst: `__getitem__` waits until every lookup is
/// in progress at once, which only happens if none waits for the previous one's answer.
async fn map_values_in_one_burst(t: Transport) -> rpyc::Result<()> {
    let (conn, _guard) = connect_default(t, || Sums).await;
    let root = conn.root().await?;
    let n = 50;
    let entries: Vec<(String, i64)> = (0..n).map(|i| (format!("k{i}"), i)).collect();
    let table = Table {
        entries: std::sync::Mutex::new(entries),
        barrier: Some(Arc::new(tokio::sync::Barrier::new(n as usize))),
        lookups: AtomicUsize::new(0),
    };
    let r = within(
        "a map whose values are fetched in one burst",
        Duration::from_secs(60),
        root.call_method("value_sum", (rpyc::export(table),)),
    )
    .await?;
    assert_eq!(r, Value::Int((0..n).sum()));
    Ok(())
}

async fn dispatcher_functions_fetch(t: Transport) -> rpyc::Result<()> {
    let make = || {
        rpyc::dispatcher::Dispatcher::new("tests.D")
            .function("total", |xs: Vec<i64>| xs.iter().sum::<i64>())
            .function("count", |m: HashMap<String, Vec<i64>>| m.len() as i64)
            .into_service(&["D"])
    };
    let (conn, _guard) = connect_default(t, make).await;
    let root = conn.root().await?;
    assert_eq!(
        root.call_method("total", (ints(0..10),)).await?,
        Value::Int(45)
    );
    let table = rpyc::export(Table::new(&[("a", 1)]));
    assert_eq!(root.call_method("count", (table,)).await?, Value::Int(1));
    let err = root
        .call_method("total", (items([Value::str("x")]),))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("argument 'arg0': item 0: expected int, got str"),
        "{err}"
    );
    Ok(())
}

async fn fetched_references_are_released(t: Transport) -> rpyc::Result<()> {
    let (conn, guard) = connect_default(t, || Sums).await;
    let root = conn.root().await?;
    let before = conn.object_count();
    for _ in 0..20 {
        root.call_method("total", (ints(0..3),)).await?;
        root.call_method("value_sum", (rpyc::export(Table::new(&[("a", 1)])),))
            .await?;
    }
    // The server released every reference it received (the client's table is back where
    // it was; DELs travel before the next request's reply).
    root.call_method("total", (Value::Tuple(vec![]),)).await?;
    common::wait_until(
        "the client's objects released",
        Duration::from_secs(10),
        || conn.object_count() == before,
    )
    .await;
    drop(guard);
    Ok(())
}

transport_tests!(
    arguments_by_reference,
    a_serde_struct_reads_a_map,
    the_servers_own_objects_come_back,
    wrong_items_are_named,
    map_values_in_one_burst,
    dispatcher_functions_fetch,
    fetched_references_are_released,
);
