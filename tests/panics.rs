//! Panics in served code: the caller gets a `RuntimeError` naming the panic, and the
//! connection — with the other calls in flight — lives on. (The panic messages printed while
//! these tests run are expected.)

#[macro_use]
mod common;

use std::time::Duration;

use common::{connect_default, within, Transport};
use rpyc::{Args, CallContext, Callback, NetRef, RemoteException, Value};

struct FragileService;

#[rpyc::service]
impl FragileService {
    #[exposed]
    fn explode(&self, what: String) -> i64 {
        panic!("kaboom: {what}")
    }

    #[exposed]
    async fn explode_later(&self, what: String) -> i64 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        panic!("later: {what}")
    }

    #[exposed]
    async fn explode_at_once(&self) -> i64 {
        panic!("at once")
    }

    #[exposed(attr)]
    fn fuse(&self) -> i64 {
        panic!("fuse blown")
    }

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
    async fn call(&self, f: NetRef) -> Result<Value, RemoteException> {
        Ok(f.call(()).await?)
    }
}

const LIMIT: Duration = Duration::from_secs(10);

/// The outcome must be a `RuntimeError` whose message contains `needle`.
fn assert_runtime_error(r: rpyc::Result<Value>, needle: &str) {
    match r {
        Err(e) if e.is_remote("RuntimeError") => {
            let msg = e.remote().unwrap().message();
            assert!(msg.contains(needle), "{needle:?} not in {msg:?}");
        }
        other => panic!("expected a remote RuntimeError mentioning {needle:?}, got {other:?}"),
    }
}

/// Runs `panicking` while another call is in flight; both must end properly and the
/// connection must still work, twice in a row.
async fn survives(
    root: &NetRef,
    what: &str,
    needle: &str,
    panicking: impl Fn() -> rpyc::AsyncResult,
) -> rpyc::Result<()> {
    for round in 0..2 {
        let bystander = root.async_call_method("sleep", (0.2,));
        let r = within(what, LIMIT, async { panicking().await }).await;
        assert_runtime_error(r, needle);
        assert_eq!(
            within("the call in flight", LIMIT, async { bystander.await }).await?,
            Value::Float(0.2),
            "round {round}"
        );
        assert_eq!(
            within("a call afterwards", LIMIT, root.call_method("add", (1, 2))).await?,
            Value::Int(3),
            "round {round}"
        );
    }
    assert!(!root.connection().is_closed());
    Ok(())
}

async fn sync_method_panics(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, || FragileService).await;
    let root = conn.root().await?;
    survives(&root, "a panicking method", "kaboom: x", || {
        root.async_call_method("explode", ("x",))
    })
    .await
}

async fn async_method_panics_after_an_await(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, || FragileService).await;
    let root = conn.root().await?;
    survives(&root, "a panicking async method", "later: y", || {
        root.async_call_method("explode_later", ("y",))
    })
    .await
}

async fn async_method_panics_before_any_await(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, || FragileService).await;
    let root = conn.root().await?;
    survives(&root, "a panicking async method", "at once", || {
        root.async_call_method("explode_at_once", ())
    })
    .await
}

async fn getter_panics(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, || FragileService).await;
    let root = conn.root().await?;
    let r = within("a panicking getter", LIMIT, root.getattr("fuse")).await;
    assert_runtime_error(r, "fuse blown");
    assert_eq!(
        within("a call afterwards", LIMIT, root.call_method("add", (2, 2))).await?,
        Value::Int(4)
    );
    Ok(())
}

/// Our callback panics while the server calls it: the server gets a RuntimeError and passes
/// it back to us.
async fn sync_callback_panics(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, || FragileService).await;
    let root = conn.root().await?;
    let sync_bomb = Callback::sync(|_args| -> i64 { panic!("sync callback blew up") });
    survives(
        &root,
        "a panicking sync callback",
        "sync callback blew up",
        || root.async_call_method("call", (sync_bomb.clone(),)),
    )
    .await?;
    assert!(!conn.is_closed());
    Ok(())
}

async fn async_callback_panics(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, || FragileService).await;
    let root = conn.root().await?;
    let async_bomb = Callback::new(|_ctx: CallContext, _args: Args| async move {
        tokio::time::sleep(Duration::from_millis(10)).await;
        if true {
            panic!("async callback blew up");
        }
        0i64
    });
    survives(
        &root,
        "a panicking async callback",
        "async callback blew up",
        || root.async_call_method("call", (async_bomb.clone(),)),
    )
    .await?;
    assert!(!conn.is_closed());
    Ok(())
}

transport_tests!(
    sync_method_panics,
    async_method_panics_after_an_await,
    async_method_panics_before_any_await,
    getter_panics,
    sync_callback_panics,
    async_callback_panics,
);
