//! [`Callback`]: a Rust closure the peer can call — Python sees a function. Passed as an
//! argument, it is how a client hands the server something to call back.

use std::future::Future;
use std::sync::Arc;

use rpyc_core::{IntoReturn, IntoValue, Value};

use crate::args::Args;
use crate::object::{export, BoxFuture, CallContext, CallResult, LocalObject};

type CallbackFn = dyn Fn(CallContext, Args) -> BoxFuture<CallResult> + Send + Sync;

/// A Rust closure the peer can call (Python sees a function).
///
/// ```
/// use rpyc::Callback;
/// let double = Callback::sync(|mut args| {
///     let x: i64 = args.take(0, "x")?;
///     Ok::<_, rpyc::RemoteException>(x * 2)
/// });
/// let _value = double.into_value();
/// ```
#[derive(Clone)]
pub struct Callback {
    f: Arc<CallbackFn>,
    name: Arc<str>,
}

impl Callback {
    /// A callback running an async closure.
    pub fn new<F, Fut, R>(f: F) -> Callback
    where
        F: Fn(CallContext, Args) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoReturn,
    {
        Callback {
            f: Arc::new(move |ctx, args| {
                let fut = f(ctx, args);
                Box::pin(async move { fut.await.into_return() })
            }),
            name: Arc::from("callback"),
        }
    }

    /// A callback running a synchronous closure, on the runtime like an async one: for cheap
    /// closures (no hop to another thread). A closure that may block (sleeps, blocking I/O,
    /// waits on a lock or on the peer) belongs in [`Callback::blocking`].
    pub fn sync<F, R>(f: F) -> Callback
    where
        F: Fn(Args) -> R + Send + Sync + 'static,
        R: IntoReturn,
    {
        Callback {
            f: Arc::new(move |_ctx, args| {
                let r = f(args).into_return();
                Box::pin(async move { r })
            }),
            name: Arc::from("callback"),
        }
    }

    /// A callback running a synchronous closure that may block, on the blocking-thread pool
    /// under the connection's limit of synchronous calls (see [`crate::run_blocking`]).
    pub fn blocking<F, R>(f: F) -> Callback
    where
        F: Fn(Args) -> R + Send + Sync + 'static,
        R: IntoReturn,
    {
        let f = Arc::new(f);
        Callback {
            f: Arc::new(move |ctx, args| {
                let f = f.clone();
                crate::sync_calls::run_blocking(ctx, move |_| f(args).into_return())
            }),
            name: Arc::from("callback"),
        }
    }

    /// A callback from a closure that returns the call's future itself.
    pub(crate) fn from_fn(
        f: impl Fn(CallContext, Args) -> BoxFuture<CallResult> + Send + Sync + 'static,
    ) -> Callback {
        Callback {
            f: Arc::new(f),
            name: Arc::from("callback"),
        }
    }

    /// Runs the closure.
    pub(crate) fn invoke(&self, ctx: CallContext, args: Args) -> BoxFuture<CallResult> {
        (self.f)(ctx, args)
    }

    /// Sets the name shown in `repr`.
    pub fn named(mut self, name: &str) -> Callback {
        self.name = Arc::from(name);
        self
    }

    /// The callback as a by-reference value.
    pub fn into_value(self) -> Value {
        export(self)
    }
}

impl IntoValue for Callback {
    fn into_value(self) -> Value {
        export(self)
    }
}

impl LocalObject for Callback {
    fn type_name(&self) -> &str {
        // A builtin name_pack: Python proxies it with its own function class, no INSPECT.
        "builtins.function"
    }
    fn call(self: Arc<Self>, ctx: CallContext, args: Args) -> BoxFuture<CallResult> {
        self.invoke(ctx, args)
    }
    fn is_callable(&self) -> bool {
        true
    }
    fn repr(&self) -> String {
        format!("<function {}>", self.name)
    }
}
