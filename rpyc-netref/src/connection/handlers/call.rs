//! CALL and CALLATTR.

use std::sync::Arc;

use rpyc_core::message::Handler;

use rpyc_core::{RemoteException, Value};

use super::{attr, tri, Prepared};
use crate::connection::ConnInner;
use crate::netref::NetRef;
use crate::object::{Args, Exported, LocalObject, Member};

/// HANDLE_CALL: call the object itself (no attribute policy, as in RPyC: whoever holds a
/// reference may call it).
pub(crate) fn call(inner: &Arc<ConnInner>, obj: Arc<dyn LocalObject>, args: Args) -> Prepared {
    let ctx = tri!(inner.context(), Handler::Call);
    Prepared::Spawn(Box::new(move || obj.call(ctx, args)), Handler::Call)
}

/// HANDLE_CALLATTR: `getattr` under the policy, then call — one round trip.
pub(crate) fn callattr(
    inner: &Arc<ConnInner>,
    obj: Arc<dyn LocalObject>,
    name: String,
    args: Args,
) -> Prepared {
    let (real, member) = tri!(attr::lookup(inner, &obj, name), Handler::CallAttr);
    let ctx = tri!(inner.context(), Handler::CallAttr);
    match member {
        Member::Method => Prepared::Spawn(
            Box::new(move || obj.call_method(&real, ctx, args)),
            Handler::CallAttr,
        ),
        Member::Value(v) => call_value(v, ctx, args),
    }
}

/// Calls an attribute's value: a local callable object or a remote one.
fn call_value(v: Value, ctx: crate::object::CallContext, args: Args) -> Prepared {
    if let Some(obj) = Exported::from_value_ref(&v).cloned() {
        return Prepared::Spawn(Box::new(move || obj.call(ctx, args)), Handler::CallAttr);
    }
    if let Ok(nr) = v.clone().extract::<NetRef>() {
        return Prepared::Spawn(
            Box::new(move || {
                Box::pin(async move { nr.call(args).await.map_err(RemoteException::from) })
            }),
            Handler::CallAttr,
        );
    }
    Prepared::Done(
        Err(RemoteException::type_error(format!(
            "'{}' object is not callable",
            v.type_name()
        ))),
        Handler::CallAttr,
    )
}

/// HANDLE_CTXEXIT: `obj.__exit__(exc, None, None)` under the policy, as Python's handler (a
/// GETATTR then a call) — exactly a CALLATTR.
pub(crate) fn ctxexit(inner: &Arc<ConnInner>, obj: Arc<dyn LocalObject>, exc: Value) -> Prepared {
    let args = Args {
        pos: vec![exc, Value::None, Value::None],
        kw: Vec::new(),
    };
    callattr(inner, obj, "__exit__".to_string(), args)
}
