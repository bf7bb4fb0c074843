//! [`Func`]: a typed callable that travels by reference — a Rust closure handed to the peer as
//! a callback, or a callable the peer sent us, called the same way in both cases.
//!
//! It is what a `#[rpyc::remote]` trait takes for a callback parameter
//! (`fn apply(&self, f: rpyc::Func<(i64,), i64>, x: i64) -> rpyc::Result<i64>`): the client
//! passes `Func::new(|x: i64| x * 2)`, the service receives a `Func` that calls back into the
//! client; a Python client passes a plain function (`calc.apply(lambda x: x * 2, 21)`).
//! Untyped callbacks are [`crate::Callback`].

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use rpyc_core::{ConvertError, FromValue, IntoValue, RemoteException, Value};

use crate::args::Args;
use crate::callback::Callback;
use crate::error::Result;
use crate::netref::NetRef;

/// The arguments of a [`Func`], as a tuple: `()`, `(A,)`, `(A, B)`, … up to four, sent and
/// read positionally (a call with more arguments, or with keywords, is a `TypeError`).
pub trait FuncArgs: Sized + Send + 'static {
    /// Reads the arguments of a call.
    fn from_args(args: Args) -> std::result::Result<Self, RemoteException>;
    /// The arguments to send.
    fn into_args(self) -> Args;
}

/// A closure of the arity of `A` (`Fn(T1, T2) -> R` for `A = (T1, T2)`): what [`Func::new`]
/// takes.
pub trait IntoFunc<A, R> {
    /// The closure, taking its arguments as one tuple.
    fn into_fn(self) -> Arc<dyn Fn(A) -> R + Send + Sync>;
}

macro_rules! func_arity {
    ($($t:ident $i:tt),*) => {
        impl<$($t: FromValue + IntoValue + Send + 'static),*> FuncArgs for ($($t,)*) {
            #[allow(unused_mut, unused_variables)]
            fn from_args(mut args: Args) -> std::result::Result<Self, RemoteException> {
                let n = 0usize $(+ { let _ = stringify!($t); 1 })*;
                args.check_no_extra(n, "callback")?;
                Ok(($(args.take::<$t>($i, concat!("arg", stringify!($i)))?,)*))
            }
            #[allow(unused_mut)]
            fn into_args(self) -> Args {
                let mut args = Args::new();
                $(args = args.arg(self.$i);)*
                args
            }
        }

        impl<Fun, R, $($t),*> IntoFunc<($($t,)*), R> for Fun
        where
            Fun: Fn($($t),*) -> R + Send + Sync + 'static,
        {
            #[allow(non_snake_case)]
            fn into_fn(self) -> Arc<dyn Fn(($($t,)*)) -> R + Send + Sync> {
                Arc::new(move |($($t,)*)| self($($t),*))
            }
        }
    };
}

func_arity!();
func_arity!(A 0);
func_arity!(A 0, B 1);
func_arity!(A 0, B 1, C 2);
func_arity!(A 0, B 1, C 2, D 3);

enum Inner<A, R> {
    /// Ours: called directly here, exported as a callback when sent.
    Local(Arc<dyn Fn(A) -> R + Send + Sync>),
    /// The peer's: called over the connection.
    Remote(NetRef),
}

/// A typed callable taking the tuple of arguments `A` and returning `R` (see the
/// [module docs](self)).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use rpyc::Func;
/// let (client, _server) =
///     rpyc::connect_pair_with(rpyc::testing::EchoService, Default::default()).await;
/// let root = client.root().await?;
/// // EchoService's `call(f, x)` calls `f(x)` back: the closure runs here, in the client.
/// let double = Func::new(|x: i64| x * 2);
/// assert_eq!(root.call_method("call", (double.clone(), 21)).await?, rpyc::Value::Int(42));
/// assert_eq!(double.call((4,)).await?, 8);
/// # Ok::<(), rpyc::Error>(())
/// # }).unwrap();
/// ```
pub struct Func<A, R> {
    inner: Inner<A, R>,
    _types: PhantomData<fn(A) -> R>,
}

impl<A: FuncArgs, R: IntoValue + FromValue + 'static> Func<A, R> {
    /// A closure of the arity of `A` (`|x: i64| x * 2` for `A = (i64,)`), to be sent.
    pub fn new(f: impl IntoFunc<A, R>) -> Self {
        Func {
            inner: Inner::Local(f.into_fn()),
            _types: PhantomData,
        }
    }

    /// Calls it: a local closure right here, a remote callable through the peer (its result
    /// converted to `R`, its exception an [`crate::Error::Remote`]).
    pub async fn call(&self, args: A) -> Result<R> {
        match &self.inner {
            Inner::Local(f) => Ok(f(args)),
            Inner::Remote(r) => Ok(R::from_value(r.call(args.into_args()).await?)?),
        }
    }

    /// The peer's callable, if this is one (for the dynamic API).
    pub fn netref(&self) -> Option<&NetRef> {
        match &self.inner {
            Inner::Local(_) => None,
            Inner::Remote(r) => Some(r),
        }
    }
}

impl<A, R> Clone for Func<A, R> {
    fn clone(&self) -> Self {
        Func {
            inner: match &self.inner {
                Inner::Local(f) => Inner::Local(f.clone()),
                Inner::Remote(r) => Inner::Remote(r.clone()),
            },
            _types: PhantomData,
        }
    }
}

impl<A, R> fmt::Debug for Func<A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Local(_) => f.write_str("Func(local closure)"),
            Inner::Remote(r) => write!(f, "Func({})", r.type_name()),
        }
    }
}

impl<A: FuncArgs, R: IntoValue + 'static> IntoValue for Func<A, R> {
    fn into_value(self) -> Value {
        match self.inner {
            Inner::Local(f) => {
                Callback::sync(move |args: Args| A::from_args(args).map(|a| f(a).into_value()))
                    .into_value()
            }
            Inner::Remote(r) => r.into_value(),
        }
    }
}

impl<A, R> FromValue for Func<A, R> {
    fn from_value(v: Value) -> std::result::Result<Self, ConvertError> {
        NetRef::from_value(v).map(|r| Func {
            inner: Inner::Remote(r),
            _types: PhantomData,
        })
    }
}
