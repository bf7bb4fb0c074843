//! Asynchronous calls: send many requests without waiting, then collect the results
//! (RPyC's `rpyc.async_`). Every call returns an `AsyncResult` at once.
//!
//! ```text
//! cargo run --example async_calls
//! ```
//!
//! A TCP server runs in this process on a free port, so the example needs nothing else.

use std::time::{Duration, Instant};

use rpyc::{AsyncResult, Printable, RemoteException};

/// A service with a slow method. The server runs each request of a connection on its own
/// task, so slow calls overlap.
struct SlowService;

#[rpyc::service]
impl SlowService {
    /// Waits `seconds`, then returns `x * 2`.
    #[exposed]
    async fn slow_double(&self, x: i64, seconds: f64) -> i64 {
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        x * 2
    }

    /// Fails with `ValueError`.
    #[exposed]
    fn fail(&self, msg: String) -> Result<(), RemoteException> {
        Err(RemoteException::value_error(msg))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // An in-process server on a free port.
    let server = rpyc::Server::bind("127.0.0.1:0").await?;
    let addr = server.local_addr().expect("a TCP address");
    let stop = server.shutdown_handle();
    let serving = tokio::spawn(server.serve(|| SlowService));

    let conn = rpyc::connect(addr).await?;
    let root = conn.root().await?;

    // 1. Twenty half-second calls in flight at once: they take about half a second in total.
    let started = Instant::now();
    let pending: Vec<AsyncResult> = (0..20)
        .map(|i| root.async_call_method("slow_double", (i, 0.5)))
        .collect();
    println!(
        "sent {} calls in {:?}; first ready yet? {}",
        pending.len(),
        started.elapsed(),
        pending[0].ready()
    );
    let mut results = Vec::new();
    for res in pending {
        // Awaiting an AsyncResult gives the value (or the error).
        results.push(res.await?.extract::<i64>()?);
    }
    println!("results {results:?} after {:?}", started.elapsed());

    // 2. The AsyncResult API: poll with `ready()`, `wait()` for it, read it with `value()`,
    //    get notified with `add_callback` (it runs on the connection's reader task when the
    //    reply arrives, so keep it short; here it just hands the value over a channel).
    let res = root.async_call_method("slow_double", (21, 0.2));
    let (tx, rx) = tokio::sync::oneshot::channel();
    res.add_callback(move |r| {
        let _ = tx.send(r.try_value().map(|v| v.map(|v| v.repr())));
    });
    println!("ready right after sending: {}", res.ready());
    res.wait().await?;
    println!(
        "after wait(): ready={} error={} value={}",
        res.ready(),
        res.error(),
        Printable(res.value().await?.repr())
    );
    println!("the callback saw {:?}", rx.await?);

    // 3. Bounded waits: `wait_timeout` gives up (the call stays pending); an expiry makes the
    //    result give up for good (a late reply is dropped).
    let res = root.async_call_method("slow_double", (1, 1.0));
    match res.wait_timeout(Duration::from_millis(100)).await {
        Err(rpyc::Error::Timeout(t)) => println!("not ready within {t:?}; still pending"),
        other => println!("unexpected: {other:?}"),
    }
    res.set_expiry(Some(Duration::from_millis(100)));
    tokio::time::sleep(Duration::from_millis(150)).await;
    println!(
        "expired: {} (wait() -> {:?})",
        res.expired(),
        res.wait().await.err()
    );

    // 4. Errors are delivered like values.
    let res = root.async_call_method("fail", ("nope",));
    res.wait().await?;
    let err = res.value().await.unwrap_err();
    println!("error={} -> {}", res.error(), Printable(&err));

    conn.close().await?;
    stop.shutdown();
    serving.await??;
    Ok(())
}
