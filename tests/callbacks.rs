//! Callbacks: Rust closures (sync and async) passed as arguments and called back by the
//! server; calls nested ten deep between two sides that both serve a service; errors raised at
//! the bottom of a nest coming back up with their class intact.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{connect_default, connect_full, within, Transport};
use rpyc::{Args, CallContext, Callback, Config, NetRef, RemoteException, Value};

struct MathService;

#[rpyc::service]
impl MathService {
    /// `f(x)`.
    #[exposed]
    async fn apply(&self, f: NetRef, x: Value) -> Result<Value, RemoteException> {
        Ok(f.call((x,)).await?)
    }

    /// `f(x=x, scale=scale)`.
    #[exposed]
    async fn apply_kw(&self, f: NetRef, x: i64, scale: i64) -> Result<Value, RemoteException> {
        Ok(f.call(Args::new().kwarg("x", x).kwarg("scale", scale))
            .await?)
    }

    /// `[f(x) for x in xs]`, one call after the other.
    #[exposed]
    async fn map(&self, f: NetRef, xs: Vec<i64>) -> Result<Vec<Value>, RemoteException> {
        let mut out = Vec::new();
        for x in xs {
            out.push(f.call((x,)).await?);
        }
        Ok(out)
    }

    /// `f(g)`: hands the client's second callback to its first.
    #[exposed]
    async fn compose(&self, f: NetRef, g: NetRef, x: i64) -> Result<Value, RemoteException> {
        let gx = g.call((x,)).await?;
        Ok(f.call((gx,)).await?)
    }

    /// `repr(f)` as seen by the server.
    #[exposed]
    async fn describe(&self, f: NetRef) -> Result<String, RemoteException> {
        Ok(f.repr().await?)
    }

    #[exposed]
    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

fn square() -> Callback {
    Callback::sync(|mut args| args.take::<i64>(0, "x").map(|x| x * x)).named("square")
}

async fn sync_callback(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, || MathService).await;
    let root = conn.root().await?;

    assert_eq!(
        root.call_method("apply", (square(), 7)).await?,
        Value::Int(49)
    );
    assert_eq!(
        root.call_method("describe", (square(),)).await?,
        Value::str("<function square>")
    );

    // A closure with state, called many times.
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let triple = Callback::sync(move |mut args| {
        seen.fetch_add(1, Ordering::SeqCst);
        args.take::<i64>(0, "x").map(|x| 3 * x)
    });
    let out: Vec<i64> = root
        .call_method("map", (triple.clone(), vec![1, 2, 3, 4]))
        .await?
        .extract()?;
    assert_eq!(out, [3, 6, 9, 12]);
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    // The same callback again.
    assert_eq!(
        root.call_method("apply", (triple, 5)).await?,
        Value::Int(15)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 5);

    // Keyword arguments reach the callback.
    let scaled = Callback::sync(|mut args| {
        let x: i64 = args.take(0, "x")?;
        let scale: i64 = args.take(1, "scale")?;
        Ok::<_, RemoteException>(x * scale)
    });
    assert_eq!(
        root.call_method("apply_kw", (scaled, 6, 7)).await?,
        Value::Int(42)
    );

    // A wrong argument type inside the callback is a TypeError for the server, which lets it
    // propagate back to us.
    let e = root
        .call_method("apply", (square(), "seven"))
        .await
        .unwrap_err();
    assert!(e.is_remote("TypeError"), "{e:?}");
    assert!(e.remote().unwrap().message().contains("'x'"), "{e:?}");

    // Two callbacks, one fed to the other.
    let inc = Callback::sync(|mut args| args.take::<i64>(0, "x").map(|x| x + 1));
    assert_eq!(
        root.call_method("compose", (square(), inc, 4)).await?,
        Value::Int(25)
    );
    Ok(())
}

async fn async_callback(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, || MathService).await;
    let root = conn.root().await?;

    let slow_double = Callback::new(|_ctx: CallContext, mut args: Args| async move {
        let x: i64 = args.take(0, "x")?;
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok::<_, RemoteException>(2 * x)
    });
    assert_eq!(
        root.call_method("apply", (slow_double.clone(), 21)).await?,
        Value::Int(42)
    );
    let out: Vec<i64> = root
        .call_method("map", (slow_double, vec![1, 2, 3]))
        .await?
        .extract()?;
    assert_eq!(out, [2, 4, 6]);

    // An async callback that calls back into the server while the server waits for it.
    let add_on_server = Callback::new(|ctx: CallContext, mut args: Args| async move {
        let x: i64 = args.take(0, "x")?;
        let server = ctx.conn().root().await?;
        let sum = server.call_method("add", (x, 100)).await?;
        Ok::<_, RemoteException>(sum)
    });
    assert_eq!(
        root.call_method("apply", (add_on_server, 1)).await?,
        Value::Int(101)
    );
    Ok(())
}

async fn callback_errors(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, || MathService).await;
    let root = conn.root().await?;

    let picky = Callback::sync(|mut args| {
        let x: i64 = args.take(0, "x")?;
        if x < 0 {
            return Err(RemoteException::value_error(format!("negative: {x}")));
        }
        Ok(x)
    });
    assert_eq!(
        root.call_method("apply", (picky.clone(), 3)).await?,
        Value::Int(3)
    );
    let e = root
        .call_method("apply", (picky.clone(), -3))
        .await
        .unwrap_err();
    assert!(e.is_remote("ValueError"), "{e:?}");
    assert_eq!(e.remote().unwrap().message(), "negative: -3");

    // A custom exception class (module and class) survives the trip.
    let custom = Callback::new(|_ctx: CallContext, _args: Args| async move {
        Err::<Value, _>(RemoteException::new(
            "inventory",
            "OutOfStock",
            "no more apples",
        ))
    });
    let e = root.call_method("apply", (custom, 1)).await.unwrap_err();
    let exc = e.remote().expect("a remote exception");
    assert_eq!(
        (exc.module.as_str(), exc.class.as_str()),
        ("inventory", "OutOfStock")
    );
    assert_eq!(exc.message(), "no more apples");

    // The error in the middle of `map` stops it there.
    let e = root
        .call_method("map", (picky, vec![1, -2, 3]))
        .await
        .unwrap_err();
    assert!(e.is_remote("ValueError"), "{e:?}");
    assert_eq!(e.remote().unwrap().message(), "negative: -2");

    // The connection is fine afterwards.
    assert_eq!(root.call_method("add", (1, 2)).await?, Value::Int(3));
    Ok(())
}

/// Both sides serve this: `bounce(depth)` calls the peer's `bounce(depth - 1)` until 0.
struct Bouncer {
    side: &'static str,
    trail: Arc<Mutex<Vec<String>>>,
}

#[rpyc::service]
impl Bouncer {
    /// Returns the path taken, e.g. `"server@2 > client@1 > server@0"`. With `fail`, the
    /// innermost level raises `bouncer.DeepError`.
    #[exposed]
    async fn bounce(
        &self,
        ctx: CallContext,
        depth: i64,
        fail: Option<bool>,
    ) -> Result<String, RemoteException> {
        self.trail
            .lock()
            .unwrap()
            .push(format!("{}@{depth}", self.side));
        let here = format!("{}@{depth}", self.side);
        if depth == 0 {
            if fail == Some(true) {
                return Err(RemoteException::new(
                    "bouncer",
                    "DeepError",
                    format!("bottom reached on the {}", self.side),
                ));
            }
            return Ok(here);
        }
        let peer = ctx.conn().root().await?;
        let rest: String = peer
            .call_method("bounce", Args::new().arg(depth - 1).kwarg("fail", fail))
            .await?
            .extract()?;
        Ok(format!("{here} > {rest}"))
    }
}

/// A client serving a `Bouncer` too, over every transport.
async fn bouncing_pair(
    t: Transport,
) -> (
    rpyc::Connection,
    common::Guard,
    Arc<Mutex<Vec<String>>>,
    Arc<Mutex<Vec<String>>>,
) {
    let server_trail = Arc::new(Mutex::new(Vec::new()));
    let client_trail = Arc::new(Mutex::new(Vec::new()));
    let st = server_trail.clone();
    let client_service = Arc::new(Bouncer {
        side: "client",
        trail: client_trail.clone(),
    });
    let (conn, guard) = connect_full(
        t,
        move || Bouncer {
            side: "server",
            trail: st.clone(),
        },
        Config::default(),
        Some(client_service),
        Config::default(),
    )
    .await;
    (conn, guard, server_trail, client_trail)
}

/// `"first@depth > second@depth-1 > first@…"` down to 0.
fn path_from(first: &str, second: &str, depth: i64) -> String {
    (0..=depth)
        .rev()
        .enumerate()
        .map(|(i, d)| format!("{}@{d}", if i % 2 == 0 { first } else { second }))
        .collect::<Vec<_>>()
        .join(" > ")
}

fn expected_path(depth: i64) -> String {
    path_from("server", "client", depth)
}

async fn nested_ten_deep(t: Transport) -> rpyc::Result<()> {
    let (conn, _server, server_trail, client_trail) = bouncing_pair(t).await;
    let root = conn.root().await?;

    let path: String = within(
        "ten nested calls",
        Duration::from_secs(30),
        root.call_method("bounce", (10,)),
    )
    .await?
    .extract()?;
    assert_eq!(path, expected_path(10));
    assert_eq!(
        server_trail.lock().unwrap().len(),
        6,
        "server levels 10, 8, …, 0"
    );
    assert_eq!(
        client_trail.lock().unwrap().len(),
        5,
        "client levels 9, 7, …, 1"
    );

    // Several nests at once on the same connection.
    let pending: Vec<_> = (0..5)
        .map(|_| root.async_call_method("bounce", (10,)))
        .collect();
    for p in pending {
        let path: String = within("concurrent nests", Duration::from_secs(30), async {
            p.await
        })
        .await?
        .extract()?;
        assert_eq!(path, expected_path(10));
    }
    Ok(())
}

async fn nested_error_propagates(t: Transport) -> rpyc::Result<()> {
    let (conn, _server, _st, client_trail) = bouncing_pair(t).await;
    let root = conn.root().await?;

    // Depth 10 ends on the server; depth 9 on the client (the innermost callback is ours).
    for (depth, bottom) in [(10, "server"), (9, "client")] {
        let e = within(
            "a failing nest",
            Duration::from_secs(30),
            root.call_method("bounce", Args::new().arg(depth).kwarg("fail", true)),
        )
        .await
        .unwrap_err();
        let exc = e
            .remote()
            .unwrap_or_else(|| panic!("expected a remote exception, got {e:?}"));
        assert_eq!(exc.module, "bouncer", "{e:?}");
        assert_eq!(exc.class, "DeepError", "{e:?}");
        assert_eq!(exc.message(), format!("bottom reached on the {bottom}"));
    }
    assert!(client_trail
        .lock()
        .unwrap()
        .contains(&"client@0".to_string()));

    // Everything still works.
    let path: String = root.call_method("bounce", (3,)).await?.extract()?;
    assert_eq!(path, expected_path(3));
    Ok(())
}

transport_tests!(
    sync_callback,
    async_callback,
    callback_errors,
    nested_ten_deep,
    nested_error_propagates,
);

/// The same ten-deep nest with both ends built by hand with `Connection::new` over an
/// in-memory stream, on a single-threaded runtime: no level may block the connection.
#[tokio::test(flavor = "current_thread")]
async fn nested_ten_deep_on_one_thread() -> rpyc::Result<()> {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let trail = Arc::new(Mutex::new(Vec::new()));
    let server = rpyc::Connection::new(
        b,
        Arc::new(Bouncer {
            side: "server",
            trail: trail.clone(),
        }),
        Config::default(),
    );
    let client = rpyc::Connection::new(
        a,
        Arc::new(Bouncer {
            side: "client",
            trail: trail.clone(),
        }),
        Config::default(),
    );
    let root = client.root().await?;
    let path: String = within(
        "ten nested calls on one thread",
        Duration::from_secs(30),
        root.call_method("bounce", (10,)),
    )
    .await?
    .extract()?;
    assert_eq!(path, expected_path(10));
    assert_eq!(trail.lock().unwrap().len(), 11);

    // And from the other side: the server starts the nest.
    let client_root = server.root().await?;
    let path: String = client_root.call_method("bounce", (10,)).await?.extract()?;
    assert_eq!(path, path_from("client", "server", 10));
    Ok(())
}
