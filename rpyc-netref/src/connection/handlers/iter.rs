//! BUFFITER, CTXEXIT, PICKLE (INSTANCECHECK and OLDSLICING are answered in `prepare`).

use std::sync::Arc;

use rpyc_core::{RemoteException, Value};

use super::{tri, Prepared};
use crate::connection::ConnInner;
use crate::fetch::{local_iterator, local_next_items};
use crate::object::{Args, RemoteObject};

/// HANDLE_BUFFITER: up to `count` items from an iterator (`__next__`), or from a fresh
/// iterator of an iterable (`__iter__`), like `tuple(islice(obj, count))`.
pub(crate) fn buffiter(inner: &Arc<ConnInner>, obj: Arc<dyn RemoteObject>, count: i64) -> Prepared {
    let ctx = tri!(inner.context(), "buffiter");
    let count = count.clamp(0, 1 << 20) as usize;
    Prepared::Spawn(
        Box::new(move || {
            Box::pin(async move {
                let it = local_iterator(&ctx, obj).await?;
                Ok(Value::Tuple(local_next_items(&ctx, &it, count).await?))
            })
        }),
        "buffiter",
    )
}

/// HANDLE_CTXEXIT: `obj.__exit__(exc, None, None)` under the policy, as Python's handler (a
/// GETATTR then a call) — exactly a CALLATTR.
pub(crate) fn ctxexit(inner: &Arc<ConnInner>, obj: Arc<dyn RemoteObject>, exc: Value) -> Prepared {
    let args = Args {
        pos: vec![exc, Value::None, Value::None],
        kw: Vec::new(),
    };
    super::call::callattr(inner, obj, "__exit__".to_string(), args)
}

/// HANDLE_PICKLE: never served (rpyc-rs neither pickles nor unpickles).
pub(crate) fn pickle(inner: &Arc<ConnInner>) -> Prepared {
    let msg = if inner.config().allow_pickle {
        "pickling is not supported by rpyc-rs"
    } else {
        "pickling is disabled"
    };
    Prepared::Done(Err(RemoteException::value_error(msg)), "pickle")
}
