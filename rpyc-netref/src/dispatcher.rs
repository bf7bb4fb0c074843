//! Composing a service from parts, without a macro: [`Dispatcher`] (tinyrpc's dispatcher,
//! aiomas' router).
//!
//! Register named functions (closures with ordinary typed parameters), plain values, and
//! sub-dispatchers or objects under a prefix. A peer reaches a mounted part as an attribute
//! (`conn.root.math.add(1, 2)` in Python) or by its dotted name (`root.call_method("math.add",
//! …)`); every registered name is exposed, and nothing else is: a dotted name reaches only the
//! exposed members of a mounted object, never what the access policy would refuse on it.
//!
//! Functions follow the rule of the macros' methods: a [`Dispatcher::function`] runs on the
//! blocking-thread pool (it may block), an [`Dispatcher::inline_function`] or an
//! [`Dispatcher::async_function`] on the runtime (see [`crate::sync_calls`]).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use rpyc::dispatcher::Dispatcher;
//! use rpyc::{RemoteException, Value};
//!
//! let math = Dispatcher::new("demo.Math")
//!     .inline_function("add", |a: i64, b: i64| a + b) // cheap: runs on the runtime
//!     .function("div", |a: f64, b: f64| {
//!         if b == 0.0 { Err(RemoteException::zero_division_error("division by zero")) } else { Ok(a / b) }
//!     });
//! let root = Dispatcher::new("demo.Root")
//!     .value("version", "1.2")
//!     .function("hello", |name: String| format!("hello, {name}"))
//!     .mount("math", math)
//!     .into_service(&["DEMO"]);
//!
//! let (client, _server) = rpyc::connect_pair_with(root, Default::default()).await;
//! let r = client.root().await.unwrap();
//! assert_eq!(r.call_method("hello", ("ann",)).await.unwrap(), Value::str("hello, ann"));
//! assert_eq!(r.call_method("math.add", (2, 3)).await.unwrap(), Value::Int(5));
//! let math: rpyc::NetRef = r.attr("math").await.unwrap();
//! assert!(math.call_method("div", (1.0, 0.0)).await.unwrap_err().is_remote("ZeroDivisionError"));
//! assert_eq!(r.attr::<String>("version").await.unwrap(), "1.2");
//! assert_eq!(r.call_method("get_service_name", ()).await.unwrap(), Value::str("DEMO"));
//! # });
//! ```

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use rpyc_core::{FromValue, IntoReturn, IntoValue, RemoteException, Value};

use crate::fetch::ArgContent;
use crate::object::{
    export_arc, Args, BoxFuture, CallContext, CallResult, Callback, LocalObject, Member,
};
use crate::service::{default_service_name, Service};

enum Entry {
    Function(Callback),
    Value(Value),
    Mount(Arc<dyn LocalObject>),
}

/// A service (or object) built from named parts.
pub struct Dispatcher {
    type_name: String,
    entries: BTreeMap<String, Entry>,
    /// Service names when used as a connection's root (see [`Dispatcher::into_service`]).
    aliases: Vec<String>,
}

/// A closure usable as a [`Dispatcher`] function: any `Fn(A, B, …) -> R` whose parameters
/// convert from values ([`FromValue`]; `Option<T>` is optional) and whose result is an
/// [`IntoReturn`] (a value, or a `Result` whose error the caller sees raised).
pub trait IntoFunction<Params>: Send + Sync + 'static {
    /// Calls the closure with the call's arguments.
    fn invoke(&self, args: Args, name: &str) -> CallResult;

    /// The content each parameter's type wants of an argument that arrived by reference (a
    /// Python list for a `Vec<T>` parameter is fetched before `invoke`, see [`crate::fetch`]).
    fn arg_contents(&self) -> Vec<ArgContent>;
}

/// The former name of [`IntoFunction`] (before 0.1: `rpyc::dispatch::Handler`).
#[doc(hidden)]
pub use IntoFunction as Handler;

macro_rules! handler_impls {
    ($( ($($p:ident $i:tt),*) ),* $(,)?) => {
        $(
            impl<F, R, $($p),*> IntoFunction<($($p,)*)> for F
            where
                F: Fn($($p),*) -> R + Send + Sync + 'static,
                R: IntoReturn,
                $($p: FromValue,)*
            {
                #[allow(unused_mut, unused_variables, non_snake_case)]
                fn invoke(&self, mut args: Args, name: &str) -> CallResult {
                    $(let $p: $p = args.take($i, concat!("arg", stringify!($i)))?;)*
                    args.check_no_extra(<[usize]>::len(&[$($i),*]), name)?;
                    (self)($($p),*).into_return()
                }
                fn arg_contents(&self) -> Vec<ArgContent> {
                    vec![$(ArgContent {
                        index: $i,
                        name: concat!("arg", stringify!($i)),
                        content: <$p as FromValue>::content,
                    }),*]
                }
            }
        )*
    };
}

handler_impls! {
    (),
    (A 0),
    (A 0, B 1),
    (A 0, B 1, C 2),
    (A 0, B 1, C 2, D 3),
    (A 0, B 1, C 2, D 3, E 4),
    (A 0, B 1, C 2, D 3, E 4, G 5),
}

impl Dispatcher {
    /// An empty dispatcher whose objects carry `type_name` on the wire (e.g. `"calc.Math"`).
    pub fn new(type_name: impl Into<String>) -> Self {
        Dispatcher {
            type_name: type_name.into(),
            entries: BTreeMap::new(),
            aliases: Vec::new(),
        }
    }

    /// Registers a synchronous function under `name` (see [`IntoFunction`]). It runs on the
    /// blocking-thread pool, like a synchronous `#[exposed]` method, so it may block (see
    /// [`crate::sync_calls`]). Arguments that arrived by reference where a parameter wants a
    /// container (a Python list for a `Vec<T>`) are fetched in bulk first (see
    /// [`crate::fetch`]).
    pub fn function<P, H: IntoFunction<P>>(mut self, name: &str, f: H) -> Self {
        let function = fetching_function(name, f, |ctx, run| {
            crate::sync_calls::run_blocking(ctx, move |_| run())
        });
        self.entries
            .insert(name.to_string(), Entry::Function(function));
        self
    }

    /// Registers a cheap synchronous function under `name`: like [`Dispatcher::function`], but
    /// it runs on the runtime (no hop to a blocking thread, like `#[exposed(inline)]`). It must
    /// never block: while it runs, its runtime worker serves nothing else.
    pub fn inline_function<P, H: IntoFunction<P>>(mut self, name: &str, f: H) -> Self {
        let function = fetching_function(name, f, |_ctx, run| Box::pin(std::future::ready(run())));
        self.entries
            .insert(name.to_string(), Entry::Function(function));
        self
    }

    /// Registers an async function taking the call context and the raw [`Args`].
    pub fn async_function<F, Fut, R>(mut self, name: &str, f: F) -> Self
    where
        F: Fn(CallContext, Args) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoReturn,
    {
        self.entries.insert(
            name.to_string(),
            Entry::Function(Callback::new(f).named(name)),
        );
        self
    }

    /// Registers a read-only attribute.
    pub fn value(mut self, name: &str, v: impl IntoValue) -> Self {
        self.entries
            .insert(name.to_string(), Entry::Value(v.into_value()));
        self
    }

    /// Mounts a sub-dispatcher or any object under `prefix`: reachable as the attribute
    /// `prefix`, and its members as `prefix.member`.
    pub fn mount(mut self, prefix: &str, part: impl LocalObject) -> Self {
        self.entries
            .insert(prefix.to_string(), Entry::Mount(Arc::new(part)));
        self
    }

    /// Turns the dispatcher into a service named by `aliases` (upper-cased; the first is its
    /// name). Without aliases, the name derives from the type name.
    pub fn into_service(mut self, aliases: &[&str]) -> Dispatcher {
        self.aliases = aliases.iter().map(|a| a.to_uppercase()).collect();
        self
    }

    /// Splits `a.b` into the mounted part `a` and the real name of its exposed member `b`
    /// (`exposed_b`; for a mounted dispatcher `b` may itself be dotted). Only exposed members
    /// are reachable this way, whatever the part's other members are.
    fn mounted(&self, name: &str) -> Option<(&Arc<dyn LocalObject>, String)> {
        let (head, rest) = name.split_once('.')?;
        match self.entries.get(head) {
            Some(Entry::Mount(part)) => Some((part, format!("exposed_{rest}"))),
            _ => None,
        }
    }
}

/// The callback of a dispatcher function: converts the arguments and calls `f` through `run`
/// (on a blocking thread or inline), after fetching the content of arguments that arrived by
/// reference where a parameter wants a container. Without such arguments, `run` is called at
/// once, while the request starts (a synchronous call keeps its place in arrival order).
fn fetching_function<P, H, R>(name: &str, f: H, run: R) -> Callback
where
    H: IntoFunction<P>,
    R: Fn(CallContext, Box<dyn FnOnce() -> CallResult + Send>) -> BoxFuture<CallResult>
        + Send
        + Sync
        + 'static,
{
    let owned: Arc<str> = Arc::from(name);
    let params: Arc<[ArgContent]> = f.arg_contents().into();
    let f = Arc::new(f);
    let run = Arc::new(run);
    let call = move |ctx: CallContext, args: Args| -> BoxFuture<CallResult> {
        let (f, owned) = (f.clone(), owned.clone());
        if !args.wants_fetch(&params) {
            return run(ctx, Box::new(move || f.invoke(args, &owned)));
        }
        let (params, run) = (params.clone(), run.clone());
        Box::pin(async move {
            let mut args = args;
            args.fetch(&ctx, &params).await?;
            run(ctx, Box::new(move || f.invoke(args, &owned))).await
        })
    };
    Callback::from_fn(call).named(name)
}

impl LocalObject for Dispatcher {
    fn type_name(&self) -> &str {
        &self.type_name
    }

    fn member_names(&self) -> Vec<String> {
        self.entries
            .keys()
            .map(|k| format!("exposed_{k}"))
            .collect()
    }

    fn has_member(&self, name: &str) -> bool {
        match name.strip_prefix("exposed_") {
            Some(n) => {
                self.entries.contains_key(n)
                    || self.mounted(n).is_some_and(|(p, rest)| p.has_member(&rest))
            }
            None => false,
        }
    }

    fn get_member(&self, name: &str) -> Option<Member> {
        let n = name.strip_prefix("exposed_")?;
        match self.entries.get(n) {
            Some(Entry::Function(_)) => Some(Member::Method),
            Some(Entry::Value(v)) => Some(Member::Value(v.clone())),
            Some(Entry::Mount(part)) => Some(Member::Value(export_arc(part.clone()))),
            None => {
                let (part, rest) = self.mounted(n)?;
                part.get_member(&rest)
            }
        }
    }

    fn call_method(
        self: Arc<Self>,
        name: &str,
        ctx: CallContext,
        args: Args,
    ) -> BoxFuture<CallResult> {
        let n = name.strip_prefix("exposed_").unwrap_or(name);
        if let Some(Entry::Function(f)) = self.entries.get(n) {
            return f.invoke(ctx, args);
        }
        if let Some((part, rest)) = self.mounted(n) {
            return part.clone().call_method(&rest, ctx, args);
        }
        let err = RemoteException::no_attribute(&self.type_name, n);
        Box::pin(async move { Err(err) })
    }

    fn repr(&self) -> String {
        format!("<{} with {} member(s)>", self.type_name, self.entries.len())
    }
}

impl Service for Dispatcher {
    fn service_aliases(&self) -> Vec<String> {
        if self.aliases.is_empty() {
            vec![default_service_name(&self.type_name)]
        } else {
            self.aliases.clone()
        }
    }
}
