//! Streams both ways over the in-process pair: a service returns a `LazyIter`, the client reads
//! it with `NetRef::stream` (async) or `blocking::NetRef::stream`. What is checked is what a
//! user sees: the items, that nothing is computed before it is asked for, the chunk sizes, the
//! end, errors, and that the server's object table is back to where it was once a stream ends
//! or is dropped half-way.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::StreamExt;
use rpyc::{Config, Connection, LazyIter, NetRef, RemoteException, Value};

/// Serves lazy iterators that count how many items were computed.
struct Source {
    computed: Arc<AtomicUsize>,
}

#[rpyc::service]
impl Source {
    /// `0..n`, each item counted when computed.
    #[exposed]
    fn numbers(&self, n: i64) -> LazyIter {
        let computed = self.computed.clone();
        LazyIter::new((0..n).inspect(move |_| {
            computed.fetch_add(1, Ordering::SeqCst);
        }))
    }

    /// `0..n`, then an error (as a Python generator that raises).
    #[exposed]
    fn failing(&self, n: i64) -> LazyIter {
        LazyIter::new(
            (0..n)
                .map(Ok)
                .chain([Err(RemoteException::value_error("record 3 is bad"))]),
        )
    }

    /// Strings of `len` bytes, forever.
    #[exposed]
    fn wide(&self, len: usize) -> LazyIter {
        LazyIter::new(std::iter::repeat("x".repeat(len)))
    }

    /// A stream that never yields.
    #[exposed]
    fn stuck(&self) -> LazyIter {
        LazyIter::from_stream(futures_util::stream::pending::<i64>())
    }

    /// The items of an async stream.
    #[exposed]
    fn async_items(&self, n: i64) -> LazyIter {
        LazyIter::from_stream(futures_util::stream::iter(0..n).then(|i| async move {
            tokio::task::yield_now().await;
            format!("item {i}")
        }))
    }
}

async fn pair(config: Config) -> (Connection, Connection, NetRef, Arc<AtomicUsize>) {
    let computed = Arc::new(AtomicUsize::new(0));
    let service = Source {
        computed: computed.clone(),
    };
    let (client, server) = rpyc::connect_pair_with(service, config).await;
    let root = client.root().await.unwrap();
    (client, server, root, computed)
}

async fn iterator(root: &NetRef, method: &str, arg: impl rpyc::IntoValue) -> NetRef {
    root.call_method(method, (arg.into_value(),))
        .await
        .unwrap()
        .extract()
        .unwrap()
}

/// A round trip: every frame sent before it (a DEL) has been handled by the server.
async fn sync(root: &NetRef) {
    root.call_method("get_service_name", ()).await.unwrap();
}

#[tokio::test]
async fn a_lazy_iterator_computes_only_what_buffiter_asks_for() {
    let (_client, _server, root, computed) = pair(Config::default()).await;
    let it = iterator(&root, "numbers", 1_000_000_000i64).await;
    assert_eq!(computed.load(Ordering::SeqCst), 0, "computed before asked");
    let first = it.buffiter(5).await.unwrap();
    assert_eq!(first, (0..5).map(Value::Int).collect::<Vec<_>>());
    assert_eq!(computed.load(Ordering::SeqCst), 5);
    let next = it.buffiter(3).await.unwrap();
    assert_eq!(next, (5..8).map(Value::Int).collect::<Vec<_>>());
    assert_eq!(computed.load(Ordering::SeqCst), 8);
    // `iter(it) is it`, `next(it)` continues where BUFFITER stopped.
    let again: NetRef = it
        .call_method("__iter__", ())
        .await
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(again, it);
    assert_eq!(it.call_method("__next__", ()).await.unwrap(), Value::Int(8));
}

#[tokio::test]
async fn a_stream_reads_a_million_items_in_growing_chunks() {
    let (_client, server, root, computed) = pair(Config::default()).await;
    let baseline = server.object_count();
    let it = iterator(&root, "numbers", 1_000_000i64).await;
    let mut stream = it.stream();
    drop(it);
    assert_eq!(stream.next_chunk(), 10);

    // The first item: the first chunk (10) and the one asked ahead (20), nothing more.
    assert_eq!(stream.next().await.unwrap().unwrap(), Value::Int(0));
    assert_eq!(stream.requests(), 2);
    assert_eq!(stream.next_chunk(), 40);
    sync(&root).await;
    assert!((10..=30).contains(&computed.load(Ordering::SeqCst)));

    let mut expected = 1i64;
    while let Some(item) = stream.next().await {
        assert_eq!(item.unwrap(), Value::Int(expected));
        expected += 1;
        assert!(stream.next_chunk() <= 1000);
        // Never more than two chunks ahead of the reader.
        assert!(computed.load(Ordering::SeqCst) <= expected as usize + 2000);
    }
    assert_eq!(expected, 1_000_000);
    assert!(stream.next().await.is_none(), "a stream stays ended");
    // 10, 20, …, 640 (1,270 items), then 1000 (Config::stream_max_chunk) until a short one:
    // 1,006 requests for a million.
    assert_eq!(stream.requests(), 7 + (1_000_000 - 1270) / 1000 + 1);
    assert_eq!(stream.next_chunk(), 1000);

    // The iterator was released when the iteration ended.
    sync(&root).await;
    assert_eq!(server.object_count(), baseline);
}

#[tokio::test]
async fn the_chunk_cap_is_a_config_key() {
    let config = Config::builder().stream_max_chunk(64).build();
    let (_client, _server, root, _) = pair(config).await;
    let it = iterator(&root, "numbers", 1000i64).await;
    let mut stream = it.stream();
    let mut seen = Vec::new();
    let mut n = 0;
    while let Some(item) = stream.next().await {
        item.unwrap();
        n += 1;
        seen.push(stream.next_chunk());
    }
    assert_eq!(n, 1000);
    assert!(seen.iter().all(|&c| c <= 64), "{seen:?}");
    assert!(seen.contains(&64));
    // 10 + 20 + 40 + 64 × 15 = 1030 ≥ 1000: 18 requests; the last one is short.
    assert_eq!(stream.requests(), 18);

    // Per stream, below the config's cap.
    let mut small = iterator(&root, "numbers", 100i64)
        .await
        .stream()
        .max_chunk(4);
    let mut n = 0;
    while let Some(item) = small.next().await {
        assert_eq!(item.unwrap(), Value::Int(n));
        n += 1;
    }
    // 25 full chunks of 4, then an empty one.
    assert_eq!((n, small.requests()), (100, 26));
}

#[tokio::test]
async fn large_items_keep_a_chunk_within_the_frame_limit() {
    // Frames of 1 MiB at most: a chunk may fill 64 KiB, about six items of 10,000 bytes.
    let mut config = Config::default();
    config.frame_limits.max_frame_size = 1 << 20;
    config.frame_limits.max_decompressed_size = 1 << 20;
    let (_client, _server, root, _) = pair(config).await;
    let it = iterator(&root, "wide", 10_000usize).await;
    let mut stream = it.stream();
    for _ in 0..500 {
        let item = stream.next().await.unwrap().unwrap();
        assert_eq!(item.extract::<String>().unwrap().len(), 10_000);
        assert!(stream.next_chunk() <= 20, "chunk {}", stream.next_chunk());
    }
    // 10 bytes short of 64 KiB / 10,005 bytes: six items a chunk.
    assert_eq!(stream.next_chunk(), 6);
}

#[tokio::test]
async fn dropping_a_stream_half_way_releases_the_remote_iterator() {
    let (client, server, root, computed) = pair(Config::default()).await;
    let baseline = server.object_count();
    let mut stream = iterator(&root, "numbers", 1_000_000_000i64).await.stream();
    for i in 0..5000 {
        assert_eq!(stream.next().await.unwrap().unwrap(), Value::Int(i));
    }
    sync(&root).await;
    assert_eq!(server.object_count(), baseline + 1);
    drop(stream);
    sync(&root).await;
    assert_eq!(server.object_count(), baseline);
    assert_eq!(client.proxy_count(), 1, "only the root is held");
    // Bounded: what was computed is what was read plus at most two chunks.
    assert!(computed.load(Ordering::SeqCst) <= 5000 + 2000);
}

#[tokio::test]
async fn an_error_is_yielded_once_and_ends_the_stream() {
    let (_client, server, root, _) = pair(Config::default()).await;
    let baseline = server.object_count();
    let mut stream = iterator(&root, "failing", 3i64).await.stream();
    // The failing chunk loses the items read before the error in it, as Python's
    // `tuple(islice(it, n))` does: the first chunk (10) is the one that fails.
    let err = stream.next().await.unwrap().unwrap_err();
    assert!(err.is_remote("ValueError"), "{err:?}");
    assert!(err.to_string().contains("record 3 is bad"), "{err}");
    assert!(stream.next().await.is_none());
    sync(&root).await;
    assert_eq!(server.object_count(), baseline);

    // Not iterable: the first item is the error.
    let mut stream = root.stream();
    let err = stream.next().await.unwrap().unwrap_err();
    assert!(
        err.is_remote("TypeError") || err.is_remote("AttributeError"),
        "{err:?}"
    );
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn a_stream_has_the_timeout_of_its_netref() {
    let (_client, server, root, _) = pair(Config::default()).await;
    let baseline = server.object_count();
    let stuck: NetRef = root
        .call_method("stuck", ())
        .await
        .unwrap()
        .extract()
        .unwrap();
    let mut stream = stuck
        .with_timeout(Some(std::time::Duration::from_millis(50)))
        .stream();
    drop(stuck);
    let err = stream.next().await.unwrap().unwrap_err();
    assert!(matches!(err, rpyc::Error::Timeout(_)), "{err:?}");
    assert!(stream.next().await.is_none());
    sync(&root).await;
    assert_eq!(server.object_count(), baseline);
}

#[tokio::test]
async fn typed_streams_and_the_stream_trait() {
    let (_client, _server, root, _) = pair(Config::default()).await;
    let it = iterator(&root, "numbers", 2500i64).await;
    let total: i64 = it
        .stream_as::<i64>()
        .map(|x| x.unwrap())
        .fold(0, |a, x| async move { a + x })
        .await;
    assert_eq!(total, (0..2500).sum::<i64>());

    // A wrong type is an error for that item; the stream goes on.
    let it = iterator(&root, "numbers", 3i64).await;
    let items: Vec<_> = it.stream_as::<String>().collect().await;
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|r| r.is_err()));

    // Items from an async stream on the server.
    let it = iterator(&root, "async_items", 30i64).await;
    let mut stream = it.stream();
    let mut got = Vec::new();
    while let Some(s) = stream.next_as::<String>().await {
        got.push(s.unwrap());
    }
    assert_eq!(
        got,
        (0..30).map(|i| format!("item {i}")).collect::<Vec<_>>()
    );
}

#[test]
fn the_blocking_api_has_an_iterator() {
    let computed = Arc::new(AtomicUsize::new(0));
    let (client, server) = rpyc::blocking::connect_pair_with(Source {
        computed: computed.clone(),
    })
    .unwrap();
    let root = client.root().unwrap();
    let baseline = server.as_async().object_count();
    let it: rpyc::blocking::NetRef = root
        .call_method("numbers", (100_000,))
        .unwrap()
        .extract()
        .unwrap();
    let sum: i64 = it
        .stream()
        .map(|x| x.unwrap().extract::<i64>().unwrap())
        .sum();
    assert_eq!(sum, (0..100_000).sum::<i64>());

    // An iterator is read once: streaming it again yields nothing.
    assert_eq!(it.stream().count(), 0);
    drop(it);

    // Half-way, then dropped.
    let it: rpyc::blocking::NetRef = root
        .call_method("numbers", (100_000,))
        .unwrap()
        .extract()
        .unwrap();
    let mut iter = it.stream();
    assert_eq!(iter.nth(99).unwrap().unwrap(), Value::Int(99));
    drop((iter, it));
    root.call_method("get_service_name", ()).unwrap();
    assert_eq!(server.as_async().object_count(), baseline);

    let failing: rpyc::blocking::NetRef = root
        .call_method("failing", (0,))
        .unwrap()
        .extract()
        .unwrap();
    let items: Vec<_> = failing.stream().collect();
    assert_eq!(items.len(), 1);
    assert!(items[0].as_ref().unwrap_err().is_remote("ValueError"));
}
