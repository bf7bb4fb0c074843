//! Object lifetime across the connection: every reference the client drops is released on the
//! server (refcounting, like RPyC's `_local_objects`), the same object is one proxy, and
//! closing the connection frees everything.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{connect_default, wait_until, Transport};
use rpyc::{AsyncResult, CallContext, Callback, LocalObject, NetRef, Value};

/// A widget the server hands out by reference; counts the live ones.
struct Widget {
    n: i64,
    live: Arc<AtomicUsize>,
}

impl Widget {
    fn new(n: i64, live: &Arc<AtomicUsize>) -> Widget {
        live.fetch_add(1, Ordering::SeqCst);
        Widget {
            n,
            live: live.clone(),
        }
    }
}

impl Drop for Widget {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

#[rpyc::object(name = "factory.Widget")]
impl Widget {
    #[exposed(attr)]
    fn n(&self) -> i64 {
        self.n
    }
}

struct FactoryService {
    live: Arc<AtomicUsize>,
    /// One object shared by every call of `keeper` (not counted in `live`).
    keeper: Arc<dyn LocalObject>,
}

impl FactoryService {
    fn new(live: Arc<AtomicUsize>) -> Self {
        let keeper = Arc::new(Widget::new(-1, &Arc::new(AtomicUsize::new(0))));
        FactoryService { live, keeper }
    }
}

#[rpyc::service]
impl FactoryService {
    /// A fresh widget on every call.
    #[exposed]
    fn make(&self, n: i64) -> Widget {
        Widget::new(n, &self.live)
    }

    /// `count` fresh widgets in one reply.
    #[exposed]
    fn make_many(&self, count: i64) -> Vec<Widget> {
        (0..count).map(|n| Widget::new(n, &self.live)).collect()
    }

    /// The same object every time.
    #[exposed]
    fn keeper(&self) -> Value {
        rpyc::export_arc(self.keeper.clone())
    }

    /// The same object twice in one reply.
    #[exposed]
    fn keeper_twice(&self) -> (Value, Value) {
        (self.keeper(), self.keeper())
    }

    /// Calls `f(i)` and forgets it.
    #[exposed]
    async fn call(&self, f: NetRef, i: i64) -> Result<Value, rpyc::RemoteException> {
        Ok(f.call((i,)).await?)
    }

    /// A fresh widget, after `seconds`.
    #[exposed]
    async fn slow_make(&self, seconds: f64) -> Widget {
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        Widget::new(0, &self.live)
    }

    /// How many objects the client holds on this connection (the root included).
    #[exposed]
    fn object_count(&self, ctx: &CallContext) -> usize {
        ctx.conn().object_count()
    }

    #[exposed]
    fn live_widgets(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }
}

/// The server's object count, after a round trip (so that every DEL sent before it has been
/// processed), polled briefly until it reaches `expected`.
async fn settle_object_count(root: &NetRef, expected: usize) -> rpyc::Result<usize> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let n: usize = root.call_method("object_count", ()).await?.extract()?;
        if n == expected || tokio::time::Instant::now() >= deadline {
            return Ok(n);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn hundred_thousand_references(t: Transport) -> rpyc::Result<()> {
    let live = Arc::new(AtomicUsize::new(0));
    let l = live.clone();
    let (conn, _server) = connect_default(t, move || FactoryService::new(l.clone())).await;
    let root = conn.root().await?;
    let baseline: usize = root.call_method("object_count", ()).await?.extract()?;
    assert_eq!(baseline, 1, "only the root");
    let proxies = conn.proxy_count();

    const BATCH: usize = 1000;
    let mut created = 0;
    for round in 0..100 {
        let batch: Vec<NetRef> = if round % 2 == 0 {
            // One call returning a thousand fresh objects.
            root.call_method("make_many", (BATCH,)).await?.extract()?
        } else {
            // A thousand calls in flight, each returning a fresh object.
            let pending: Vec<AsyncResult> = (0..BATCH)
                .map(|i| root.async_call_method("make", (i,)))
                .collect();
            let mut batch = Vec::with_capacity(BATCH);
            for p in pending {
                batch.push(p.await?.extract::<NetRef>()?);
            }
            batch
        };
        created += batch.len();
        if round % 10 == 0 || round == 99 {
            assert_eq!(
                root.call_method("object_count", ()).await?,
                Value::Int((baseline + BATCH) as i64),
                "round {round}: each live reference holds one object"
            );
            assert_eq!(conn.proxy_count(), proxies + BATCH);
            assert_eq!(live.load(Ordering::SeqCst), BATCH);
            let last = batch.last().unwrap();
            assert_eq!(last.attr::<i64>("n").await?, BATCH as i64 - 1);
        }
        drop(batch);
        assert_eq!(conn.proxy_count(), proxies, "round {round}");
    }
    assert_eq!(created, 100_000);

    assert_eq!(settle_object_count(&root, baseline).await?, baseline);
    assert_eq!(conn.proxy_count(), proxies);
    wait_until("every widget was freed", Duration::from_secs(5), || {
        live.load(Ordering::SeqCst) == 0
    })
    .await;
    Ok(())
}

async fn callbacks_are_released_by_the_server(t: Transport) -> rpyc::Result<()> {
    let live = Arc::new(AtomicUsize::new(0));
    let l = live.clone();
    let (conn, _server) = connect_default(t, move || FactoryService::new(l.clone())).await;
    let root = conn.root().await?;
    let baseline = conn.object_count();
    assert_eq!(baseline, 1, "the client's root");

    let pending: Vec<AsyncResult> = (0..1000i64)
        .map(|i| {
            let f = Callback::sync(move |_args| i * 2);
            root.async_call_method("call", (f, i))
        })
        .collect();
    for (i, p) in pending.into_iter().enumerate() {
        assert_eq!(p.await?, Value::Int(2 * i as i64));
    }
    // The server dropped each callback after using it: its DELs free our table.
    root.call_method("object_count", ()).await?;
    wait_until(
        "the server released every callback",
        Duration::from_secs(5),
        || conn.object_count() == baseline,
    )
    .await;
    Ok(())
}

async fn the_same_object_is_one_proxy(t: Transport) -> rpyc::Result<()> {
    let live = Arc::new(AtomicUsize::new(0));
    let l = live.clone();
    let (conn, _server) = connect_default(t, move || FactoryService::new(l.clone())).await;
    let root = conn.root().await?;
    let baseline: usize = root.call_method("object_count", ()).await?.extract()?;
    let proxies = conn.proxy_count();

    let a: NetRef = root.call_method("keeper", ()).await?.extract()?;
    let b: NetRef = root.call_method("keeper", ()).await?.extract()?;
    assert_eq!(a, b, "the same object, the same proxy");
    assert_eq!(a.id_pack(), b.id_pack());
    assert_eq!(conn.proxy_count(), proxies + 1);
    assert_eq!(
        settle_object_count(&root, baseline + 1).await?,
        baseline + 1
    );

    // A fresh widget is another object.
    let w: NetRef = root.call_method("make", (7,)).await?.extract()?;
    assert_ne!(w, a);
    drop(w);

    // One handle dropped: the other still works; the object stays.
    drop(a);
    assert_eq!(b.attr::<i64>("n").await?, -1);
    assert_eq!(
        settle_object_count(&root, baseline + 1).await?,
        baseline + 1
    );

    // The same object twice in one reply.
    let (c, d): (NetRef, NetRef) = root.call_method("keeper_twice", ()).await?.extract()?;
    assert_eq!(c, d);
    assert_eq!(c, b);
    assert_eq!(conn.proxy_count(), proxies + 1);
    drop((c, d));

    // The last handle goes: every reference received (four sends) is released at once.
    drop(b);
    assert_eq!(conn.proxy_count(), proxies);
    assert_eq!(settle_object_count(&root, baseline).await?, baseline);

    // It can be fetched again afterwards, as a new proxy.
    let again: NetRef = root.call_method("keeper", ()).await?.extract()?;
    assert_eq!(again.attr::<i64>("n").await?, -1);
    assert_eq!(
        settle_object_count(&root, baseline + 1).await?,
        baseline + 1
    );
    drop(again);
    assert_eq!(settle_object_count(&root, baseline).await?, baseline);
    Ok(())
}

async fn closing_frees_everything(t: Transport) -> rpyc::Result<()> {
    let live = Arc::new(AtomicUsize::new(0));
    let l = live.clone();
    let (conn, server) = connect_default(t, move || FactoryService::new(l.clone())).await;
    let root = conn.root().await?;
    let proxies_before_root = conn.proxy_count() - 1;

    let widgets: Vec<NetRef> = root.call_method("make_many", (50,)).await?.extract()?;
    let keeper: NetRef = root.call_method("keeper", ()).await?.extract()?;
    assert_eq!(live.load(Ordering::SeqCst), 50);
    assert_eq!(
        root.call_method("object_count", ()).await?,
        Value::Int(52),
        "root + keeper + 50 widgets"
    );
    if let Some(server_conn) = server.server_conn() {
        assert_eq!(server_conn.object_count(), 52);
    }

    conn.close().await?;
    wait_until(
        "the server freed every widget",
        Duration::from_secs(10),
        || live.load(Ordering::SeqCst) == 0,
    )
    .await;
    if let Some(server_conn) = server.server_conn() {
        wait_until("the server side closed", Duration::from_secs(5), || {
            server_conn.is_closed()
        })
        .await;
        assert!(
            server_conn.object_count() <= 1,
            "nothing but the root may remain: {}",
            server_conn.object_count()
        );
    }

    // Our proxies die with their handles (no DEL is sent on a closed connection).
    drop(widgets);
    drop(keeper);
    drop(root);
    assert_eq!(conn.proxy_count(), proxies_before_root);
    Ok(())
}

async fn dropping_the_client_frees_everything(t: Transport) -> rpyc::Result<()> {
    let live = Arc::new(AtomicUsize::new(0));
    let l = live.clone();
    let (conn, _server) = connect_default(t, move || FactoryService::new(l.clone())).await;
    let root = conn.root().await?;
    let widgets: Vec<NetRef> = root.call_method("make_many", (20,)).await?.extract()?;
    assert_eq!(live.load(Ordering::SeqCst), 20);
    drop(conn);
    drop(root);
    // The widgets still hold the connection.
    assert_eq!(widgets[3].attr::<i64>("n").await?, 3);
    assert_eq!(live.load(Ordering::SeqCst), 20);
    drop(widgets);
    wait_until(
        "the server freed every widget",
        Duration::from_secs(10),
        || live.load(Ordering::SeqCst) == 0,
    )
    .await;
    Ok(())
}

/// Many tasks fetch the shared object and drop it at once, while replies carrying it are
/// still arriving: the counts stay consistent and everything is released in the end.
async fn churn_on_one_object(t: Transport) -> rpyc::Result<()> {
    let live = Arc::new(AtomicUsize::new(0));
    let l = live.clone();
    let (conn, _server) = connect_default(t, move || FactoryService::new(l.clone())).await;
    let root = conn.root().await?;
    let baseline: usize = root.call_method("object_count", ()).await?.extract()?;

    let mut tasks = Vec::new();
    for _ in 0..4 {
        let root = root.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                let pending: Vec<AsyncResult> = (0..100)
                    .map(|_| root.async_call_method("keeper", ()))
                    .collect();
                for p in pending {
                    let k: NetRef = p.await?.extract()?;
                    drop(k);
                }
            }
            Ok::<(), rpyc::Error>(())
        }));
    }
    for task in tasks {
        task.await.expect("a task panicked")?;
    }
    assert_eq!(settle_object_count(&root, baseline).await?, baseline);
    let k: NetRef = root.call_method("keeper", ()).await?.extract()?;
    assert_eq!(k.attr::<i64>("n").await?, -1);
    Ok(())
}

/// A reply that arrives after its call timed out (or its result expired) still carries
/// references: they must be released, not leaked on the server (Python unboxes every reply,
/// and the proxies it creates are collected at once).
async fn late_replies_release_their_objects(t: Transport) -> rpyc::Result<()> {
    let live = Arc::new(AtomicUsize::new(0));
    let l = live.clone();
    let cfg = rpyc::Config::builder()
        .sync_request_timeout(Some(Duration::from_millis(100)))
        .build();
    let (conn, _server) = common::connect(t, move || FactoryService::new(l.clone()), cfg).await;
    let root = conn.root().await?;
    let baseline: usize = root.call_method("object_count", ()).await?.extract()?;

    // An expired async result.
    let res = root.async_call_method("slow_make", (0.2,));
    res.set_expiry(Some(Duration::from_millis(10)));
    assert!(matches!(res.wait().await, Err(rpyc::Error::Expired)));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        settle_object_count(&root, baseline).await?,
        baseline,
        "the object of an expired result leaked"
    );

    // A call that timed out.
    let e = root.call_method("slow_make", (0.3,)).await.unwrap_err();
    assert!(matches!(e, rpyc::Error::Timeout(_)), "{e:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        settle_object_count(&root, baseline).await?,
        baseline,
        "the object of a timed-out call leaked"
    );
    wait_until("every widget was freed", Duration::from_secs(5), || {
        live.load(Ordering::SeqCst) == 0
    })
    .await;
    Ok(())
}

transport_tests!(
    churn_on_one_object,
    late_replies_release_their_objects,
    hundred_thousand_references,
    callbacks_are_released_by_the_server,
    the_same_object_is_one_proxy,
    closing_frees_everything,
    dropping_the_client_frees_everything,
);
