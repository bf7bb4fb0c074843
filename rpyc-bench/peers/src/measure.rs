//! The measuring loops shared by the three stacks: one operation at a time (latency), a window
//! of calls in flight (rate), and many clients at once (rate). Each is bounded in count and
//! in time, and answers the same JSON fields as rpyc-bench's Rust client (`rsclient.rs`) and
//! Python driver (`bench_client.py`).

use std::future::Future;
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use serde_json::{json, Value as Json};

use crate::Res;

/// Runs `op` `warmup` times, then up to `n` times or until `budget` has passed; answers the
/// latency summary (`n`, `elapsed_s`, `median_us`, `mean_us`, `min_us`, `p99_us`).
pub async fn latency<F, Fut>(n: usize, budget: Duration, warmup: usize, mut op: F) -> Res<Json>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Res<()>>,
{
    for _ in 0..warmup {
        op().await?;
    }
    let mut ns: Vec<u64> = Vec::with_capacity(n.min(1 << 20));
    // One clock read per operation: its end is the next one's start and the budget check.
    let start = Instant::now();
    let mut last = start;
    for _ in 0..n {
        op().await?;
        let now = Instant::now();
        ns.push((now - last).as_nanos() as u64);
        last = now;
        if now - start > budget {
            break;
        }
    }
    Ok(summary(ns, last - start))
}

/// Median, mean, min and p99 in µs of per-operation nanoseconds, as `rsclient.rs` answers.
fn summary(mut ns: Vec<u64>, elapsed: Duration) -> Json {
    ns.sort_unstable();
    let us: Vec<f64> = ns.iter().map(|&n| n as f64 / 1e3).collect();
    let n = us.len();
    if n == 0 {
        return json!({"n": 0});
    }
    let median = if n % 2 == 1 {
        us[n / 2]
    } else {
        (us[n / 2 - 1] + us[n / 2]) / 2.0
    };
    json!({
        "n": n,
        "elapsed_s": elapsed.as_secs_f64(),
        "median_us": median,
        "mean_us": us.iter().sum::<f64>() / n as f64,
        "min_us": us[0],
        "p99_us": us[((n * 99) / 100).min(n - 1)],
    })
}

/// Adds the throughput of echoing `size` bytes at the summary's median latency.
pub fn add_mb_per_s(summary: &mut Json, size: usize) {
    if let Some(med) = summary.get("median_us").and_then(Json::as_f64) {
        summary["mb_per_s"] = json!(size as f64 / (med / 1e6) / 1e6);
    }
}

/// Keeps `window` calls of `op` in flight until `total` have completed or, given a
/// `deadline`, until the calls in flight when it passes have completed; returns how many did.
/// The calls are polled together (a `FuturesUnordered`), since some stacks send a request
/// only when its future is first polled.
pub async fn window<F, Fut>(
    window: usize,
    total: usize,
    deadline: Option<Instant>,
    mut op: F,
) -> Res<usize>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Res<()>>,
{
    let mut pending: FuturesUnordered<Fut> = (0..window.min(total)).map(|_| op()).collect();
    let mut sent = pending.len();
    let mut done = 0;
    while let Some(r) = pending.next().await {
        r?;
        done += 1;
        if sent < total && deadline.is_none_or(|d| Instant::now() < d) {
            pending.push(op());
            sent += 1;
        }
    }
    Ok(done)
}

/// `async64`: `warmup` full windows, then windows until `n` calls or `budget`; answers
/// `n`, `elapsed_s` and `rate` (calls/s).
pub async fn rate_in_flight<F, Fut>(
    width: usize,
    n: usize,
    budget: Duration,
    warmup: usize,
    mut op: F,
) -> Res<Json>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Res<()>>,
{
    for _ in 0..warmup {
        window(width, width, None, &mut op).await?;
    }
    let start = Instant::now();
    let done = window(width, n, Some(start + budget), &mut op).await?;
    let el = start.elapsed().as_secs_f64();
    Ok(json!({"n": done, "elapsed_s": el, "rate": done as f64 / el, "window": width}))
}

/// One client's part of `concurrent`: `calls` sequential calls of `op`, stopping early at
/// `deadline`; returns how many were made.
pub async fn sequential<F, Fut>(calls: usize, deadline: Instant, mut op: F) -> Res<usize>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Res<()>>,
{
    let mut done = 0;
    for _ in 0..calls {
        op().await?;
        done += 1;
        if Instant::now() > deadline {
            break;
        }
    }
    Ok(done)
}

/// Each client's loop in its own task on the multi-thread runtime (the clients are `Send`),
/// as `rsclient.rs` runs ours; answers the total number of calls.
pub async fn run_spawned<C, F, Fut>(
    conns: Vec<C>,
    calls: usize,
    deadline: Instant,
    op: F,
) -> Res<usize>
where
    C: Clone + Send + 'static,
    F: Fn(C) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Res<()>> + Send,
{
    let mut tasks = tokio::task::JoinSet::new();
    for c in conns {
        let op = op.clone();
        tasks.spawn(async move {
            sequential(calls, deadline, move || op(c.clone()))
                .await
                .map_err(|e| e.to_string())
        });
    }
    let mut total = 0;
    while let Some(r) = tasks.join_next().await {
        total += r??;
    }
    Ok(total)
}
