//! CALL and CALLATTR.

use std::sync::Arc;

use rpyc_core::{RemoteException, Value};

use super::{attr, tri, Prepared};
use crate::connection::ConnInner;
use crate::netref::NetRef;
use crate::object::{Args, Exported, Member, RemoteObject};

/// HANDLE_CALL: call the object itself (no attribute policy, as in RPyC: whoever holds a
/// reference may call it).
pub(crate) fn call(inner: &Arc<ConnInner>, obj: Arc<dyn RemoteObject>, args: Args) -> Prepared {
    let ctx = tri!(inner.context(), "call");
    Prepared::Spawn(Box::new(move || obj.call(ctx, args)), "call")
}

/// HANDLE_CALLATTR: `getattr` under the policy, then call — one round trip.
pub(crate) fn callattr(
    inner: &Arc<ConnInner>,
    obj: Arc<dyn RemoteObject>,
    name: String,
    args: Args,
) -> Prepared {
    let (real, member) = tri!(attr::lookup(inner, &obj, name), "callattr");
    let ctx = tri!(inner.context(), "callattr");
    match member {
        Member::Method => Prepared::Spawn(
            Box::new(move || obj.call_method(&real, ctx, args)),
            "callattr",
        ),
        Member::Value(v) => call_value(v, ctx, args),
    }
}

/// Calls an attribute's value: a local callable object or a remote one.
fn call_value(v: Value, ctx: crate::object::CallContext, args: Args) -> Prepared {
    if let Some(obj) = Exported::from_value_ref(&v).cloned() {
        return Prepared::Spawn(Box::new(move || obj.call(ctx, args)), "callattr");
    }
    if let Ok(nr) = v.clone().extract::<NetRef>() {
        return Prepared::Spawn(
            Box::new(move || {
                Box::pin(async move { nr.call(args).await.map_err(RemoteException::from) })
            }),
            "callattr",
        );
    }
    Prepared::Done(
        Err(RemoteException::type_error(format!(
            "'{}' object is not callable",
            v.type_name()
        ))),
        "callattr",
    )
}
