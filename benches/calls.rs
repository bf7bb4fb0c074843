//! Call micro-benchmarks: one `root.add(1, 2)` round trip over the in-process pair
//! (`connect_pair_with`) and over TCP loopback to an in-process `rpyc::Server`, and 64
//! `async_call_method`s in flight on one connection.
//!
//! ```text
//! cargo bench --bench calls
//! ```
//!
//! These track regressions of the library alone; the comparison with Python RPyC and the
//! raw-socket floor is `cargo run --release -p rpyc-bench -- --quick`.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rpyc::server::services::TestService;
use rpyc::{Config, NetRef, Value};
use tokio::runtime::Runtime;

const IN_FLIGHT: usize = 64;

/// Runs `iters` rounds of `op` inside a spawned task and returns the time they took.
///
/// The calls are awaited on a runtime worker, as a server or an application task awaits them.
/// Awaiting them on the thread that runs `block_on` (criterion's `to_async(..).iter`) adds a
/// cross-thread wake-up per call that costs more than the call itself here (~150 µs against
/// ~35 µs in-process on a 2-vCPU VM): that would benchmark tokio's `block_on` hand-off.
async fn in_task<F, Fut>(iters: u64, root: &NetRef, op: F) -> Duration
where
    F: Fn(NetRef) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let root = root.clone();
    tokio::spawn(async move {
        let start = Instant::now();
        for _ in 0..iters {
            op(root.clone()).await;
        }
        start.elapsed()
    })
    .await
    .expect("bench task")
}

async fn add(root: NetRef) {
    let v = root.call_method("add", (1, 2)).await.expect("add");
    assert_eq!(v, Value::Int(3));
}

async fn add_64(root: NetRef) {
    let pending: Vec<_> = (0..IN_FLIGHT)
        .map(|_| root.async_call_method("add", (1, 2)))
        .collect();
    for r in pending {
        assert_eq!(r.await.expect("add"), Value::Int(3));
    }
}

fn calls(c: &mut Criterion) {
    let rt = Runtime::new().expect("runtime");

    // In-process pair over an in-memory duplex stream.
    let (pair_client, _pair_server, pair_root) = rt.block_on(async {
        let (client, server) =
            rpyc::connect_pair_with(TestService::default(), Config::default()).await;
        let root = client.root().await.expect("root");
        (client, server, root)
    });

    // TCP loopback to an in-process server.
    let (stop, tcp_client, tcp_root) = rt.block_on(async {
        let server = rpyc::Server::bind("127.0.0.1:0").await.expect("bind");
        let addr = server.local_addr().expect("tcp address");
        let stop = server.shutdown_handle();
        tokio::spawn(server.serve(TestService::default));
        let client = rpyc::connect(addr).await.expect("connect");
        let root = client.root().await.expect("root");
        (stop, client, root)
    });

    let mut g = c.benchmark_group("call root.add(1, 2)");
    g.sample_size(30)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    g.bench_function("pair", |b| {
        b.to_async(&rt)
            .iter_custom(|iters| in_task(iters, &pair_root, add))
    });
    g.bench_function("tcp loopback", |b| {
        b.to_async(&rt)
            .iter_custom(|iters| in_task(iters, &tcp_root, add))
    });
    g.finish();

    let mut g = c.benchmark_group("64 async calls in flight");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500))
        .throughput(Throughput::Elements(IN_FLIGHT as u64));
    g.bench_function("pair", |b| {
        b.to_async(&rt)
            .iter_custom(|iters| in_task(iters, &pair_root, add_64))
    });
    g.bench_function("tcp loopback", |b| {
        b.to_async(&rt)
            .iter_custom(|iters| in_task(iters, &tcp_root, add_64))
    });
    g.finish();

    rt.block_on(async {
        let _ = tcp_client.close().await;
        let _ = pair_client.close().await;
    });
    stop.shutdown();
}

criterion_group!(benches, calls);
criterion_main!(benches);
