//! Rust client → real Python rpyc 6.0.2 classic server (`support/py_server.rs`): a Python
//! generator read lazily with `NetRef::stream`. The server's own BUFFITER handler is wrapped
//! (per connection, through classic mode) to record the count of every request, so the chunk
//! sizes are checked as Python received them; the generator reports what it produced and
//! whether it was closed.

#[path = "support/py_server.rs"]
mod py_server;

use py_server::{int, session};
use rpyc::{NetRef, Value};

/// Runs `code` in the classic server's namespace.
async fn execute(root: &NetRef, code: &str) {
    root.call_method("execute", (code,)).await.unwrap();
}

async fn eval(root: &NetRef, expr: &str) -> Value {
    root.call_method("eval", (expr,)).await.unwrap()
}

/// A Python generator of `range(n)` that counts what it produced and notes when it is closed,
/// and a BUFFITER handler on this connection that records every count asked for.
const SETUP: &str = r#"
import itertools
from rpyc.core import consts
state = {"produced": 0, "closed": False}
def gen(n):
    try:
        for i in range(n):
            state["produced"] += 1
            yield i
    finally:
        state["closed"] = True
counts = []
def counting_buffiter(self, obj, count):
    counts.append(count)
    return tuple(itertools.islice(obj, count))
pyconn._HANDLERS[consts.HANDLE_BUFFITER] = counting_buffiter
"#;

async fn setup(root: &NetRef) {
    let py_conn = root.call_method("getconn", ()).await.unwrap();
    let ns: NetRef = root.attr("namespace").await.unwrap();
    ns.setitem("pyconn", py_conn).await.unwrap();
    execute(root, SETUP).await;
}

async fn held(root: &NetRef) -> i64 {
    int(eval(root, "len(pyconn._local_objects._dict)").await)
}

#[tokio::test]
async fn a_python_generator_of_a_million_items_is_streamed_in_growing_chunks() {
    let (_server, _conn, root) = session(true).await;
    setup(&root).await;
    let baseline = held(&root).await;

    let generator: NetRef = eval(&root, "gen(10**6)").await.extract().unwrap();
    let mut stream = generator.stream();
    drop(generator);
    let mut n = 0i64;
    while let Some(x) = stream.next().await {
        assert_eq!(x.unwrap(), Value::Int(n));
        n += 1;
        if n % 100_000 == 0 {
            // Bounded: the generator runs at most two chunks ahead of the reader.
            let produced = int(eval(&root, "state['produced']").await);
            assert!(produced <= n + 2000, "{produced} produced, {n} read");
        }
    }
    assert_eq!(n, 1_000_000);

    // What Python's handler was asked: 10, 20, …, 640, then 1000 (the default cap) until a
    // short chunk (1,270 + 998 × 1000 + 730).
    let counts: Vec<i64> = eval(&root, "tuple(counts)").await.extract().unwrap();
    let mut expected = vec![10, 20, 40, 80, 160, 320, 640];
    expected.resize(7 + 999, 1000);
    assert_eq!(counts, expected);
    assert_eq!(stream.requests(), counts.len());

    // The generator ran to its end and was released.
    assert!(eval(&root, "state['closed']").await.is_truthy());
    assert_eq!(held(&root).await, baseline);
}

#[tokio::test]
async fn a_stream_dropped_half_way_closes_the_python_generator() {
    let (_server, _conn, root) = session(true).await;
    setup(&root).await;
    let baseline = held(&root).await;

    let config_cap = 100;
    let generator: NetRef = eval(&root, "gen(10**9)").await.extract().unwrap();
    let mut stream = generator.stream().max_chunk(config_cap);
    drop(generator);
    for i in 0..1000 {
        assert_eq!(stream.next().await.unwrap().unwrap(), Value::Int(i));
    }
    assert_eq!(held(&root).await, baseline + 1);
    assert!(!eval(&root, "state['closed']").await.is_truthy());
    drop(stream);

    // Released (DEL), so Python drops its last reference and the generator is closed.
    assert_eq!(held(&root).await, baseline);
    assert!(eval(&root, "state['closed']").await.is_truthy());
    let produced = int(eval(&root, "state['produced']").await);
    assert!((1000..=1200).contains(&produced), "{produced}");
    let counts: Vec<i64> = eval(&root, "tuple(counts)").await.extract().unwrap();
    assert_eq!(&counts[..4], [10, 20, 40, 80]);
    assert!(counts[4..].iter().all(|&c| c == 100), "{counts:?}");
}

#[tokio::test]
async fn a_python_exception_ends_the_stream() {
    let (_server, _conn, root) = session(true).await;
    setup(&root).await;
    execute(
        &root,
        "def bad():\n    yield 1\n    raise KeyError('gone')\n",
    )
    .await;
    let mut stream = eval(&root, "bad()")
        .await
        .extract::<NetRef>()
        .unwrap()
        .stream();
    let err = stream.next().await.unwrap().unwrap_err();
    assert!(err.is_remote("KeyError"), "{err:?}");
    assert!(stream.next().await.is_none());

    // A list streams as any iterable (its iterator is what is read).
    let list: NetRef = eval(&root, "list(range(25))").await.extract().unwrap();
    let items: Vec<Value> = {
        let mut s = list.stream();
        let mut v = Vec::new();
        while let Some(x) = s.next().await {
            v.push(x.unwrap());
        }
        v
    };
    assert_eq!(items, (0..25).map(Value::Int).collect::<Vec<_>>());
    // The list itself is untouched and can be streamed again.
    assert_eq!(list.len().await.unwrap(), 25);
}
