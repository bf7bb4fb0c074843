//! Remote context managers: Python's `with` block, with a Rust body.
//!
//! [`NetRef::with_context`] (and [`crate::blocking::NetRef::with_context`]) calls the remote
//! object's `__enter__`, runs the Rust body with what it returned, and then always calls
//! `__exit__` through HANDLE_CTXEXIT, as Python's netref does at the end of a `with` block:
//!
//! * the body succeeded: `__exit__(None, None, None)`; its answer is ignored, and an exception
//!   it raises is the call's error;
//! * the body failed: `__exit__` is told of the error (below); if it answers true, the error is
//!   suppressed (the call returns `Ok(None)`), otherwise the body's error comes back unchanged —
//!   also when `__exit__` itself raises (a `@contextmanager` re-raises what it was given);
//! * the body's future is dropped before it ends (a timeout, a cancelled task) or the blocking
//!   body panics: `__exit__` is still sent, told of a `RuntimeError`, without waiting for it.
//!
//! What `__exit__` sees of a failure depends on the peer, because Python's CTXEXIT handler does
//! `raise exc` on the value it receives and only a real exception object can be raised there:
//!
//! * a classic Python server (`SlaveService`, `rpyc_classic.py`): a real exception built on
//!   the server, `builtins.<Type>(message)` when the error is a remote exception of a builtin
//!   type (`KeyError`, `ValueError`, …), else `builtins.RuntimeError(message)` (a non-builtin
//!   type's name goes in front of the message). Two more round trips, on failure only;
//! * any other Python server: a `TypeError` ("exceptions must derive from BaseException"),
//!   the one Python itself produces there — Python to Python too, since a netref of an
//!   exception cannot be raised either;
//! * an rpyc-rs server: `__exit__(exc, None, None)` with `exc` the tuple
//!   `(type_name, message)`, e.g. `("ValueError", "boom")` or `("RuntimeError", "…")`.

use std::any::Any;
use std::fmt::Display;
use std::future::Future;

use rpyc_core::message::Handler;
use rpyc_core::{IntoValue, RemoteException, Value};

use crate::error::{Error, Result};
use crate::netref::NetRef;
use crate::types::is_subclass_by_name;

/// Root types of Python's classic servers: their root has `getmodule`.
const CLASSIC_ROOTS: &[&str] = &[
    "rpyc.core.service.SlaveService",
    "rpyc.core.service.ClassicService",
];

/// What `__exit__` is told of a failed body: a Python exception type and its message.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    class: String,
    message: String,
}

impl Failure {
    /// The failure of a body that returned `e`: a remote exception keeps its type and
    /// message, every other error is a `RuntimeError` with the error's text.
    pub(crate) fn of<E: Display + 'static>(e: &E) -> Failure {
        let any: &dyn Any = e;
        let remote = match any.downcast_ref::<Error>() {
            Some(Error::Remote(r)) => Some(r),
            _ => any.downcast_ref::<RemoteException>(),
        };
        match remote {
            Some(r) => Failure {
                class: r.type_name(),
                message: r.message(),
            },
            None => Failure::runtime(e.to_string()),
        }
    }

    /// A `RuntimeError` with `message`.
    pub(crate) fn runtime(message: impl Into<String>) -> Failure {
        Failure {
            class: "RuntimeError".into(),
            message: message.into(),
        }
    }

    /// `(type_name, message)`: what a peer that is not a classic server gets.
    fn as_tuple(&self) -> Value {
        Value::Tuple(vec![Value::str(&self.class), Value::str(&self.message)])
    }

    /// The builtin exception type and message to build on a classic server.
    fn builtin(&self) -> (String, String) {
        let short = self.class.strip_prefix("builtins.").unwrap_or(&self.class);
        if !short.contains('.') && is_subclass_by_name(short, "BaseException") {
            (short.to_string(), self.message.clone())
        } else {
            (
                "RuntimeError".to_string(),
                format!("{}: {}", self.class, self.message),
            )
        }
    }

    /// The value sent as HANDLE_CTXEXIT's `exc` to `cm`'s peer.
    async fn exception_for(&self, cm: &NetRef) -> Value {
        match self.build_on_classic(cm).await {
            Ok(Some(exc)) => exc,
            // Not a classic server, or building failed: the tuple.
            Ok(None) | Err(_) => self.as_tuple(),
        }
    }

    /// `builtins.<Type>(message)` built on a classic server, `None` elsewhere.
    async fn build_on_classic(&self, cm: &NetRef) -> Result<Option<Value>> {
        let root = cm.connection().root().await?;
        if !CLASSIC_ROOTS.contains(&root.type_name()) {
            return Ok(None);
        }
        let builtins: NetRef = root
            .call_method("getmodule", ("builtins",))
            .await?
            .extract()?;
        let (class, message) = self.builtin();
        Ok(Some(builtins.call_method(&class, (message,)).await?))
    }
}

/// Sends HANDLE_CTXEXIT to `cm` with `failure` (or `None`) and returns `__exit__`'s answer
/// as a truth value.
pub(crate) async fn exit(cm: NetRef, failure: Option<Failure>) -> Result<bool> {
    let exc = match &failure {
        None => Value::None,
        Some(f) => f.exception_for(&cm).await,
    };
    let answer = cm
        .request(Handler::CtxExit, vec![(&cm).into_value(), exc])
        .await?;
    Ok(answer.is_truthy())
}

/// Sends `__exit__` for a body that never finished, without waiting for the answer.
pub(crate) fn exit_abandoned(cm: &NetRef, why: &str) {
    let exc = Failure::runtime(why).as_tuple();
    drop(
        cm.connection()
            .async_request(Handler::CtxExit, vec![cm.into_value(), exc]),
    );
}

/// Calls `__exit__` for an abandoned body when dropped armed.
pub(crate) struct ExitGuard<'a> {
    cm: &'a NetRef,
    armed: bool,
    why: &'static str,
}

impl<'a> ExitGuard<'a> {
    pub(crate) fn new(cm: &'a NetRef, why: &'static str) -> Self {
        ExitGuard {
            cm,
            armed: true,
            why,
        }
    }

    pub(crate) fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for ExitGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            exit_abandoned(self.cm, self.why);
        }
    }
}

/// What a body's outcome and `__exit__`'s answer make of the call.
pub(crate) fn settle<T, E: From<Error>>(
    outcome: std::result::Result<T, E>,
    exited: Result<bool>,
) -> std::result::Result<Option<T>, E> {
    match (outcome, exited) {
        (Ok(t), Ok(_)) => Ok(Some(t)),
        (Ok(_), Err(e)) => Err(E::from(e)),
        (Err(_), Ok(true)) => Ok(None),
        (Err(e), _) => Err(e),
    }
}

impl NetRef {
    /// Python's `with obj as value: body` with a Rust body: `__enter__`, the body with its
    /// result, then always `__exit__` (HANDLE_CTXEXIT) — see [the module](crate::context) for
    /// what `__exit__` is told of an error on each kind of peer.
    ///
    /// Returns `Ok(Some(t))` when the body returned `Ok(t)`; the body's error, unchanged, when
    /// it failed; `Ok(None)` when it failed and `__exit__` answered true (the error was
    /// suppressed, as in Python). An error of `__enter__`, or of `__exit__` after a successful
    /// body, is returned as `E`.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use rpyc::Value;
    ///
    /// #[derive(Default)]
    /// struct Lock(AtomicBool);
    ///
    /// #[rpyc::object]
    /// impl Lock {
    ///     #[exposed(name = "__enter__")]
    ///     fn enter(&self) -> &'static str {
    ///         self.0.store(true, Ordering::SeqCst);
    ///         "held"
    ///     }
    ///     #[exposed(name = "__exit__")]
    ///     fn exit(&self, _exc: Value, _typ: Value, _tb: Value) -> bool {
    ///         self.0.store(false, Ordering::SeqCst);
    ///         false // never suppresses
    ///     }
    /// }
    ///
    /// struct Locks;
    ///
    /// #[rpyc::service]
    /// impl Locks {
    ///     #[exposed]
    ///     fn lock(&self) -> Lock {
    ///         Lock::default()
    ///     }
    /// }
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let (client, _server) = rpyc::connect_pair_with(Locks, Default::default()).await;
    /// let lock: rpyc::NetRef = client.root().await?.call_method("lock", ()).await?.extract()?;
    /// let n = lock
    ///     .with_context(|value| async move {
    ///         let state: String = value.extract()?;
    ///         Ok::<_, rpyc::Error>(state.len())
    ///     })
    ///     .await?;
    /// assert_eq!(n, Some(4));
    ///
    /// // The body's error comes back unchanged; `__exit__` ran all the same.
    /// let err = lock
    ///     .with_context(|_| async { Err::<(), _>(rpyc::Error::Protocol("gave up".into())) })
    ///     .await
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("gave up"));
    /// # Ok::<(), rpyc::Error>(()) }).unwrap();
    /// ```
    pub async fn with_context<T, E, F, Fut>(&self, body: F) -> std::result::Result<Option<T>, E>
    where
        F: FnOnce(Value) -> Fut,
        Fut: Future<Output = std::result::Result<T, E>>,
        E: From<Error> + Display + 'static,
    {
        let value = self.call_method("__enter__", ()).await?;
        let mut guard = ExitGuard::new(self, "the Rust body was cancelled");
        let outcome = body(value).await;
        guard.disarm();
        let failure = outcome.as_ref().err().map(Failure::of);
        let exited = exit(self.clone(), failure).await;
        settle(outcome, exited)
    }
}
