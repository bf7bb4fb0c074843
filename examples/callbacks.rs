//! Callbacks: the server calls closures the client passed to it, and a callback may itself
//! call back into the server (nested calls, on the same connection, while the first call is
//! still waiting).
//!
//! ```text
//! cargo run --example callbacks
//! ```
//!
//! Both sides run in this process, over an in-memory stream (`rpyc::connect_pair_with`); over
//! TCP, or with a Python peer, the code is the same.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rpyc::{Args, CallContext, Callback, NetRef, Printable, RemoteException, Value};

/// The server side. Functions it receives are `NetRef`s: calling one sends the call back to
/// the client.
struct WorkerService;

#[rpyc::service]
impl WorkerService {
    /// `f(x)`.
    #[exposed]
    async fn apply(&self, f: NetRef, x: i64) -> Result<Value, RemoteException> {
        Ok(f.call((x,)).await?)
    }

    /// `[f(x) for x in 0..n]`, one callback after the other.
    #[exposed]
    async fn map_range(&self, f: NetRef, n: i64) -> Result<Vec<Value>, RemoteException> {
        let mut out = Vec::new();
        for x in 0..n {
            out.push(f.call((x,)).await?);
        }
        Ok(out)
    }

    /// Reports progress to the client's `on_progress(done, total)` while "working".
    #[exposed]
    async fn long_job(&self, on_progress: NetRef, steps: i64) -> Result<String, RemoteException> {
        for done in 1..=steps {
            on_progress.call((done, steps)).await?;
        }
        Ok(format!("job of {steps} steps finished"))
    }

    /// A plain method, called from inside a client callback below.
    #[exposed]
    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

#[tokio::main]
async fn main() -> Result<(), rpyc::Error> {
    let (client, _server) = rpyc::connect_pair_with(WorkerService, rpyc::Config::default()).await;
    let root = client.root().await?;

    // 1. A synchronous closure. `args.take(index, name)` reads an argument given by position
    //    or by keyword; a wrong type becomes a `TypeError` on the caller's side.
    let square = Callback::sync(|mut args| args.take::<i64>(0, "x").map(|x| x * x));
    let r = root.call_method("apply", (square.clone(), 7)).await?;
    println!("apply(square, 7)       = {}", Printable(r.repr()));
    let r = root.call_method("map_range", (square, 5)).await?;
    println!("map_range(square, 5)   = {}", Printable(r.repr()));

    // 2. Closures can capture state: count progress reports.
    let reports = Arc::new(AtomicUsize::new(0));
    let seen = reports.clone();
    let progress = Callback::sync(move |mut args| {
        let done: i64 = args.take(0, "done")?;
        let total: i64 = args.take(1, "total")?;
        seen.fetch_add(1, Ordering::SeqCst);
        println!("  progress {done}/{total}");
        Ok::<_, RemoteException>(())
    })
    .named("on_progress");
    let msg: String = root
        .call_method("long_job", (progress, 3))
        .await?
        .extract()?;
    println!(
        "long_job -> {msg:?} ({} reports)",
        reports.load(Ordering::SeqCst)
    );

    // 3. Nested: an async callback that calls the server while the server is waiting for it.
    //    `ctx.conn()` is the connection the call arrived on.
    let add_ten = Callback::new(|ctx: CallContext, mut args: Args| async move {
        let x: i64 = args.take(0, "x")?;
        let server_root = ctx.conn().root().await?;
        let sum = server_root.call_method("add", (x, 10)).await?;
        Ok::<_, RemoteException>(sum)
    });
    let r = root.call_method("apply", (add_ten, 5)).await?;
    println!(
        "apply(add_ten, 5)      = {} (the callback called add(5, 10))",
        Printable(r.repr())
    );

    // 4. An error raised in a callback travels to the server and, unhandled there, back to
    //    the original caller.
    let picky = Callback::sync(|mut args| {
        let x: i64 = args.take(0, "x")?;
        if x < 0 {
            return Err(RemoteException::value_error(format!("{x} is negative")));
        }
        Ok(x)
    });
    let err = root.call_method("apply", (picky, -1)).await.unwrap_err();
    println!(
        "apply(picky, -1) raised {}: {}",
        Printable(err.remote().map(|e| e.type_name()).unwrap_or_default()),
        Printable(err.remote().map(|e| e.message()).unwrap_or_default())
    );

    client.close().await?;
    Ok(())
}
