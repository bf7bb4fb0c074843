//! Calls sent without waiting (`async_call_method` → `AsyncResult`): its state methods,
//! waiting, expiry, callbacks, `.await`; many calls in flight on one connection; and a coarse
//! proof that the server runs them concurrently.

#[macro_use]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{connect_default, within, Transport};
use rpyc::{AsyncResult, Error, NetRef, RemoteException, Value};
use tokio::sync::{Barrier, Mutex};

#[derive(Default)]
struct WorkService {
    barrier: Mutex<Option<Arc<Barrier>>>,
}

#[rpyc::service]
impl WorkService {
    /// Waits `seconds`, then returns them.
    #[exposed]
    async fn sleep(&self, seconds: f64) -> f64 {
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        seconds
    }

    #[exposed]
    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    #[exposed]
    fn fail(&self, msg: String) -> Result<(), RemoteException> {
        Err(RemoteException::value_error(msg))
    }

    /// The next `n` calls of `meet` return only once all `n` are running at the same time.
    #[exposed]
    async fn arm(&self, n: usize) {
        *self.barrier.lock().await = Some(Arc::new(Barrier::new(n)));
    }

    /// Waits at the barrier, then returns `i * 2`.
    #[exposed]
    async fn meet(&self, i: i64) -> Result<i64, RemoteException> {
        let barrier = self
            .barrier
            .lock()
            .await
            .clone()
            .ok_or_else(|| RemoteException::runtime_error("not armed"))?;
        barrier.wait().await;
        Ok(i * 2)
    }
}

async fn result_states(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, WorkService::default).await;
    let root = conn.root().await?;

    let res: AsyncResult = root.async_call_method("sleep", (0.3,));
    assert!(!res.ready(), "a 0.3 s call cannot be ready yet");
    assert!(!res.error() && !res.expired());
    assert!(res.try_value().is_none());
    res.wait().await?;
    assert!(res.ready() && !res.error() && !res.expired());
    assert_eq!(res.value().await?, Value::Float(0.3));
    assert_eq!(
        res.value().await?,
        Value::Float(0.3),
        "value() can be read again"
    );
    assert!(matches!(res.try_value(), Some(Ok(Value::Float(_)))));

    // An exception: ready, error(), the remote exception from value().
    let res = root.async_call_method("fail", ("nope",));
    let e = res.value().await.unwrap_err();
    assert!(e.is_remote("ValueError"), "{e:?}");
    assert!(res.ready() && res.error() && !res.expired());
    assert!(matches!(res.try_value(), Some(Err(Error::Remote(_)))));

    // `.await` gives the value directly.
    assert_eq!(
        root.async_call_method("add", (20, 22)).await?,
        Value::Int(42)
    );
    let e = root.async_call_method("fail", ("x",)).await.unwrap_err();
    assert!(e.is_remote("ValueError"));

    // The object itself called without waiting.
    let add = root.getattr("add").await?.extract::<NetRef>()?;
    assert_eq!(add.async_call((1, 2)).await?, Value::Int(3));
    Ok(())
}

async fn wait_timeout(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, WorkService::default).await;
    let root = conn.root().await?;

    let res = root.async_call_method("sleep", (0.5,));
    let e = res
        .wait_timeout(Duration::from_millis(20))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Timeout(d) if d == Duration::from_millis(20)),
        "{e:?}"
    );
    assert!(
        !res.ready() && !res.expired(),
        "still pending after wait_timeout"
    );
    // It still completes.
    res.wait_timeout(Duration::from_secs(10)).await?;
    assert!(res.ready());
    assert_eq!(res.value().await?, Value::Float(0.5));
    Ok(())
}

async fn expiry(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, WorkService::default).await;
    let root = conn.root().await?;

    let res = root.async_call_method("sleep", (0.3,));
    res.set_expiry(Some(Duration::from_millis(20)));
    let e = res.wait().await.unwrap_err();
    assert!(matches!(e, Error::Expired), "{e:?}");
    assert!(res.expired() && !res.ready());
    assert!(matches!(res.value().await, Err(Error::Expired)));
    // The reply arrives later and is dropped: the result stays expired.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(res.expired() && !res.ready(), "a late reply is ignored");
    assert!(res.try_value().is_none());

    // No expiry: waits as long as it takes.
    let res = root.async_call_method("sleep", (0.1,));
    res.set_expiry(Some(Duration::from_millis(1)));
    res.set_expiry(None);
    assert_eq!(res.value().await?, Value::Float(0.1));
    assert!(!res.expired());

    // The connection is unharmed by the dropped reply.
    assert_eq!(root.call_method("add", (1, 2)).await?, Value::Int(3));
    Ok(())
}

async fn callbacks(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, WorkService::default).await;
    let root = conn.root().await?;

    let (tx, rx) = tokio::sync::oneshot::channel();
    let res = root.async_call_method("sleep", (0.1,));
    res.add_callback(move |r| {
        let _ = tx.send((r.ready(), r.try_value()));
    });
    let (ready, value) = within("the callback", Duration::from_secs(10), rx)
        .await
        .expect("the callback ran");
    assert!(ready);
    assert!(matches!(value, Some(Ok(Value::Float(f))) if f == 0.1));

    // Added after completion: runs at once.
    let (tx, mut rx) = tokio::sync::oneshot::channel();
    res.add_callback(move |r| {
        let _ = tx.send(r.ready());
    });
    assert_eq!(rx.try_recv(), Ok(true));

    // A failing call runs its callbacks too.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let res = root.async_call_method("fail", ("late",));
    res.add_callback(move |r| {
        let _ = tx.send(r.error());
    });
    assert!(within("the callback", Duration::from_secs(10), rx)
        .await
        .expect("the callback ran"));
    Ok(())
}

/// `n` calls are sent before any is awaited; each can only return once all `n` are running
/// on the server at the same time.
async fn in_flight(t: Transport, n: usize) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, WorkService::default).await;
    let root = conn.root().await?;
    root.call_method("arm", (n,)).await?;
    let pending: Vec<AsyncResult> = (0..n as i64)
        .map(|i| root.async_call_method("meet", (i,)))
        .collect();
    for (i, res) in pending.into_iter().enumerate() {
        let v = within("calls in flight", Duration::from_secs(60), async {
            res.await
        })
        .await?;
        assert_eq!(v, Value::Int(2 * i as i64));
    }
    // And plain calls in flight, checked one by one.
    let sums: Vec<AsyncResult> = (0..n as i64)
        .map(|i| root.async_call_method("add", (i, 1000)))
        .collect();
    for (i, res) in sums.into_iter().enumerate() {
        assert_eq!(res.await?, Value::Int(i as i64 + 1000));
    }
    Ok(())
}

async fn in_flight_64(t: Transport) -> rpyc::Result<()> {
    in_flight(t, 64).await
}

async fn in_flight_500(t: Transport) -> rpyc::Result<()> {
    in_flight(t, 500).await
}

/// 20 calls of `sleep(0.3)` would take 6 s one after the other; concurrently, far less.
async fn concurrency(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, WorkService::default).await;
    let root = conn.root().await?;
    let start = Instant::now();
    let pending: Vec<AsyncResult> = (0..20)
        .map(|_| root.async_call_method("sleep", (0.3,)))
        .collect();
    for res in pending {
        assert_eq!(res.await?, Value::Float(0.3));
    }
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "20 concurrent sleep(0.3) calls took {took:?}: they ran one after the other"
    );
    Ok(())
}

transport_tests!(
    result_states,
    wait_timeout,
    expiry,
    callbacks,
    in_flight_64,
    in_flight_500,
    concurrency,
);
