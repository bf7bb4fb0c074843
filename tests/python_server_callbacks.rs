//! Rust client → real Python rpyc 6.0.2 server (`support/py_server.rs`): Rust callbacks
//! called by Python, callbacks that call back into Python, and their errors.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[path = "support/py_server.rs"]
mod py_server;

use py_server::{int, session, string};
use rpyc::{Args, CallContext, Callback, RemoteException, Value};

#[tokio::test]
async fn python_calls_rust_callbacks() {
    let (_server, _conn, root) = session(false).await;

    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let double = Callback::sync(move |mut args| {
        seen.fetch_add(1, Ordering::SeqCst);
        args.take::<i64>(0, "x").map(|x| x * 2)
    })
    .named("double");

    // call_me(f, x) == f(x)
    assert_eq!(
        int(root
            .call_method("call_me", (double.clone(), 21))
            .await
            .unwrap()),
        42
    );
    // call_me_twice(f, x) == f(f(x))
    assert_eq!(
        int(root
            .call_method("call_me_twice", (double, 3))
            .await
            .unwrap()),
        12
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    // An async closure works the same way.
    let shout = Callback::new(|_ctx: CallContext, mut args: Args| async move {
        args.take::<String>(0, "s").map(|s| s.to_uppercase())
    });
    assert_eq!(
        string(root.call_method("call_me", (shout, "quiet")).await.unwrap()),
        "QUIET"
    );
}

#[tokio::test]
async fn nested_callback_calls_back_into_python() {
    let (_server, _conn, root) = session(false).await;

    // While Python waits for this callback, the callback calls Python's `add` on the same
    // connection, through the connection it was called on.
    let add_100 = Callback::new(|ctx: CallContext, mut args: Args| async move {
        let x: i64 = args.take(0, "x")?;
        let py_root = ctx.conn().root().await?;
        let sum = py_root.call_method("add", (x, 100)).await?;
        Ok::<_, RemoteException>(sum)
    });
    assert_eq!(
        int(root
            .call_method("call_me", (add_100.clone(), 1))
            .await
            .unwrap()),
        101
    );
    assert_eq!(
        int(root
            .call_method("call_me_twice", (add_100, 1))
            .await
            .unwrap()),
        201
    );

    // Two levels deep: Python → Rust → Python → Rust.
    let inner = Callback::sync(|mut args| args.take::<i64>(0, "x").map(|x| x + 1));
    let outer = Callback::new(move |ctx: CallContext, mut args: Args| {
        let inner = inner.clone();
        async move {
            let x: i64 = args.take(0, "x")?;
            let py_root = ctx.conn().root().await?;
            let r = py_root.call_method("call_me", (inner, x * 10)).await?;
            Ok::<_, RemoteException>(r)
        }
    });
    assert_eq!(
        int(root.call_method("call_me", (outer, 4)).await.unwrap()),
        41
    );
}

#[tokio::test]
async fn callback_errors_travel_through_python_and_back() {
    let (_server, _conn, root) = session(false).await;

    let refuse = Callback::sync(|_args| -> Result<Value, RemoteException> {
        Err(RemoteException::value_error("not today"))
    });
    let err = root.call_method("call_me", (refuse, 1)).await.unwrap_err();
    let exc = err
        .remote()
        .unwrap_or_else(|| panic!("expected a remote error, got {err:?}"));
    assert!(exc.is("ValueError"), "{exc:?}");
    assert!(exc.message().contains("not today"), "{exc:?}");
}
