//! The generated call bodies, driven through `LocalObject::call_method` and `call`: positional,
//! keyword and keyword-only arguments, `Rest`, `CallContext` and `Connection` parameters, async
//! methods, and the `TypeError`s of wrong arguments.

use std::sync::Arc;

use rpyc_core::{RemoteException, Value};
use rpyc_netref::{connect_pair, Args, CallContext, Exported, LocalObject};

use crate::Counter;

async fn call(
    obj: Arc<dyn LocalObject>,
    ctx: &CallContext,
    name: &str,
    args: Args,
) -> Result<Value, RemoteException> {
    obj.call_method(name, ctx.clone(), args).await
}

fn type_error_message(r: Result<Value, RemoteException>) -> String {
    let e = r.expect_err("expected an error");
    assert!(e.is("TypeError"), "expected TypeError, got {e:?}");
    e.message()
}

#[tokio::test]
async fn call_method_directly() {
    let (client, _server) = connect_pair().await;
    let ctx = CallContext::new(client.clone());
    let c: Arc<Counter> = Arc::new(Counter::default());
    let obj: Arc<dyn LocalObject> = c.clone();

    assert_eq!(
        call(obj.clone(), &ctx, "exposed_incr", Args::new())
            .await
            .unwrap(),
        Value::Int(1)
    );
    assert_eq!(
        call(obj.clone(), &ctx, "exposed_incr", Args::from((5i64,)))
            .await
            .unwrap(),
        Value::Int(6)
    );
    assert_eq!(
        call(
            obj.clone(),
            &ctx,
            "exposed_incr",
            Args::new().kwarg("by", 4i64)
        )
        .await
        .unwrap(),
        Value::Int(10)
    );
    assert_eq!(
        call(obj.clone(), &ctx, "slow_double", Args::from((21i64,)))
            .await
            .unwrap(),
        Value::Int(42)
    );
    assert_eq!(
        call(
            obj.clone(),
            &ctx,
            "exposed_slow_double",
            Args::new().kwarg("x", 2i64)
        )
        .await
        .unwrap(),
        Value::Int(4)
    );
    assert_eq!(
        call(obj.clone(), &ctx, "__len__", Args::new())
            .await
            .unwrap(),
        Value::Int(10)
    );
    assert_eq!(
        call(obj.clone(), &ctx, "__getitem__", Args::from((3i64,)))
            .await
            .unwrap(),
        Value::Int(30)
    );
    let e = call(obj.clone(), &ctx, "__getitem__", Args::from((99i64,)))
        .await
        .unwrap_err();
    assert!(e.is("IndexError"), "{e:?}");

    // Rest and keyword-only parameters.
    assert_eq!(
        call(obj.clone(), &ctx, "sum", Args::from((1i64, 2i64, 3i64)))
            .await
            .unwrap(),
        Value::Int(6)
    );
    assert_eq!(
        call(obj.clone(), &ctx, "sum", Args::from((1i64,)))
            .await
            .unwrap(),
        Value::Int(1)
    );
    assert_eq!(
        call(
            obj.clone(),
            &ctx,
            "sum",
            Args::from((1i64, 2i64)).kwarg("scale", 10i64)
        )
        .await
        .unwrap(),
        Value::Int(30)
    );
    let e = call(obj.clone(), &ctx, "sum", Args::from((1i64, "x")))
        .await
        .unwrap_err();
    assert!(e.is("TypeError"), "{e:?}");

    // Context and connection parameters.
    let id = client.id();
    assert_eq!(
        call(obj.clone(), &ctx, "whoami", Args::new())
            .await
            .unwrap(),
        Value::Int(id as i64)
    );
    assert_eq!(
        call(obj.clone(), &ctx, "ctx_async", Args::from((1i64,)))
            .await
            .unwrap(),
        Value::Int(id as i64 + 1)
    );

    // Argument errors: TypeErrors, no panics.
    let msg = type_error_message(call(obj.clone(), &ctx, "slow_double", Args::new()).await);
    assert!(msg.contains("missing required argument: 'x'"), "{msg}");
    let msg = type_error_message(call(obj.clone(), &ctx, "slow_double", Args::from(("no",))).await);
    assert!(msg.contains("argument 'x'"), "{msg}");
    let msg =
        type_error_message(call(obj.clone(), &ctx, "slow_double", Args::from((1i64, 2i64))).await);
    assert!(
        msg.contains("slow_double() takes 1 positional arguments but 2 were given"),
        "{msg}"
    );
    let msg = type_error_message(
        call(
            obj.clone(),
            &ctx,
            "exposed_incr",
            Args::new().kwarg("bogus", 1i64),
        )
        .await,
    );
    assert!(
        msg.contains("incr() got an unexpected keyword argument 'bogus'"),
        "{msg}"
    );
    let msg = type_error_message(
        call(
            obj.clone(),
            &ctx,
            "sum",
            Args::from((1i64,)).kwarg("bogus", 1i64),
        )
        .await,
    );
    assert!(msg.contains("unexpected keyword argument 'bogus'"), "{msg}");

    // Unknown or unexposed names are AttributeErrors.
    for n in ["secret", "incr", "value", "nope"] {
        let e = call(obj.clone(), &ctx, n, Args::new()).await.unwrap_err();
        assert!(e.is("AttributeError"), "{n}: {e:?}");
    }

    // The callable hook.
    assert_eq!(
        obj.clone()
            .call(ctx.clone(), Args::from((5i64,)))
            .await
            .unwrap(),
        Value::Int(15)
    );
    let msg = type_error_message(obj.clone().call(ctx.clone(), Args::new()).await);
    assert!(msg.contains("'x'"), "{msg}");
    let msg = type_error_message(
        obj.clone()
            .call(ctx.clone(), Args::from((1i64, 2i64)))
            .await,
    );
    assert!(
        msg.contains("__call__() takes 1 positional arguments"),
        "{msg}"
    );

    // Returning an object: by reference.
    let v = call(obj.clone(), &ctx, "child", Args::new()).await.unwrap();
    let child = Exported::from_value_ref(&v).expect("by reference");
    assert_eq!(child.repr(), "<Counter 100>");
}
