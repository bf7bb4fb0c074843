//! The `test` service's `numbers(n)` (design/test-service.md) served by a real `rpyc::Server`
//! on 127.0.0.1: read lazily by a Rust client (`NetRef::stream`, async and blocking) and by a
//! real Python rpyc 6.0.2 client (`for`, `rpyc.buffiter`, `itertools.islice`), with the
//! server's object table checked after each reader is done or gone.

#[path = "support/python.rs"]
mod support;

use rpyc::server::services::TestService;
use rpyc::{NetRef, Value};

/// Serves the `test` service on a free port of 127.0.0.1 on `rt`; returns its port and the
/// handle that stops it.
fn serve(rt: &tokio::runtime::Runtime) -> (u16, rpyc::server::ShutdownHandle) {
    let server = rt.block_on(rpyc::Server::bind("127.0.0.1:0")).unwrap();
    let port = server.local_addr().unwrap().port();
    let shutdown = server.shutdown_handle();
    let counter = server.connection_counter();
    rt.spawn(server.serve(move || TestService::new(counter.clone())));
    (port, shutdown)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn object_count(root: &NetRef) -> i64 {
    root.call_method("object_count", ())
        .await
        .unwrap()
        .extract()
        .unwrap()
}

#[test]
fn a_rust_client_streams_a_million_numbers_and_releases_the_iterator() {
    let rt = runtime();
    let (port, shutdown) = serve(&rt);
    rt.block_on(async {
        let conn = rpyc::connect(("127.0.0.1", port)).await.unwrap();
        let root = conn.root().await.unwrap();
        let baseline = object_count(&root).await;

        // All of it: every int once, in order.
        let numbers: NetRef = root
            .call_method("numbers", (1_000_000,))
            .await
            .unwrap()
            .extract()
            .unwrap();
        let mut stream = numbers.stream();
        drop(numbers);
        let (mut count, mut sum) = (0i64, 0i64);
        while let Some(x) = stream.next_as::<i64>().await {
            let x = x.unwrap();
            assert_eq!(x, count);
            count += 1;
            sum += x;
        }
        assert_eq!((count, sum), (1_000_000, 999_999 * 1_000_000 / 2));
        assert_eq!(
            stream.requests(),
            1006,
            "10, 20, …, 640, then chunks of 1000"
        );
        assert_eq!(object_count(&root).await, baseline);

        // Half of a billion-item iterator, then dropped: the server lets it go.
        let mut stream = root
            .call_method("numbers", (1_000_000_000,))
            .await
            .unwrap()
            .extract::<NetRef>()
            .unwrap()
            .stream();
        for i in 0..20_000 {
            assert_eq!(stream.next().await.unwrap().unwrap(), Value::Int(i));
        }
        assert_eq!(object_count(&root).await, baseline + 1);
        drop(stream);
        assert_eq!(object_count(&root).await, baseline);

        // Out of range, wrong type.
        for bad in [Value::Int(-1), Value::Int(1_000_000_001)] {
            let err = root.call_method("numbers", (bad,)).await.unwrap_err();
            assert!(err.is_remote("ValueError"), "{err:?}");
        }
        let err = root.call_method("numbers", ("10",)).await.unwrap_err();
        assert!(err.is_remote("TypeError"), "{err:?}");
        conn.close().await.unwrap();
    });

    // The blocking twin, from a plain thread.
    let conn = rpyc::blocking::connect(("127.0.0.1", port)).unwrap();
    let numbers: rpyc::blocking::NetRef = conn
        .root()
        .unwrap()
        .call_method("numbers", (100_000,))
        .unwrap()
        .extract()
        .unwrap();
    let evens = numbers
        .stream()
        .map(|x| x.unwrap().extract::<i64>().unwrap())
        .filter(|x| x % 2 == 0)
        .count();
    assert_eq!(evens, 50_000);
    conn.close().unwrap();
    shutdown.shutdown();
}

#[test]
fn a_python_client_iterates_numbers_lazily() {
    let script = r#"
import itertools, os, rpyc
c = rpyc.connect("127.0.0.1", int(os.environ["PORT"]))
root = c.root
baseline = root.object_count()

# for: one __next__ per item (a real loop over the first 2,000 of a million).
seen = 0
for x in root.numbers(10**6):
    assert x == seen, (x, seen)
    seen += 1
    if seen == 2000:
        break
assert seen == 2000

# rpyc.buffiter: the whole million, in growing chunks.
total = 0
count = 0
for x in rpyc.buffiter(root.numbers(10**6)):
    total += x
    count += 1
assert (count, total) == (10**6, sum(range(10**6))), (count, total)

# itertools.islice, on the biggest n: nothing is computed before it is asked for.
assert list(itertools.islice(root.numbers(10**9), 5, 10)) == [5, 6, 7, 8, 9]
it = root.numbers(10**9)
assert iter(it) == it
assert next(it) == 0 and next(it) == 1
assert list(itertools.islice(it, 3)) == [2, 3, 4]
assert list(root.numbers(5)) == [0, 1, 2, 3, 4]
assert list(root.numbers(0)) == []
e = root.numbers(3)
assert list(e) == [0, 1, 2] and list(e) == []   # an iterator, read once

for bad, exc in [(-1, ValueError), (10**9 + 1, ValueError), (2**70, ValueError), ("5", TypeError)]:
    try:
        root.numbers(bad)
    except exc:
        pass
    else:
        raise AssertionError(f"numbers({bad!r}) did not raise {exc.__name__}")

# Every iterator above is released once Python drops it.
del it, e, x
import gc; gc.collect()
assert root.object_count() == baseline, (root.object_count(), baseline)
print("ok")
"#;
    // The connection count is not part of this test: a counter of its own.
    support::run_python_client(|| TestService::new(Default::default()), script);
}
