//! GETATTR, SETATTR, DELATTR: every access goes through the owner's policy
//! (`rpyc_core::policy::check_attr`) unless the object overrides it (`rpyc_getattr`, …).

use std::borrow::Cow;
use std::sync::Arc;

use rpyc_core::message::Handler;

use rpyc_core::policy::{check_attr, Permission};
use rpyc_core::{RemoteException, Value};

use super::Prepared;
use crate::connection::ConnInner;
use crate::object::{export, BoundMethod, LocalObject, Member};

/// Resolves `name` on `obj` for reading: the override, or the policy then the member table.
/// Returns the real member name (`name` itself when the policy keeps it) and what it is.
pub(crate) fn lookup(
    inner: &ConnInner,
    obj: &Arc<dyn LocalObject>,
    name: String,
) -> Result<(String, Member), RemoteException> {
    if let Some(r) = obj.rpyc_getattr(&name) {
        return r.map(|m| (name, m));
    }
    let renamed = match check_attr(inner.config(), &name, Permission::Get, |n| {
        obj.has_member(n)
    })? {
        Cow::Owned(real) => Some(real),
        Cow::Borrowed(_) => None,
    };
    match obj.get_member(renamed.as_deref().unwrap_or(&name)) {
        Some(m) => Ok((renamed.unwrap_or(name), m)),
        None => Err(RemoteException::no_attribute(obj.type_name(), &name)),
    }
}

/// HANDLE_GETATTR: a data member's value, or a bound method by reference.
pub(crate) fn getattr(inner: &Arc<ConnInner>, obj: Arc<dyn LocalObject>, name: String) -> Prepared {
    let result = lookup(inner, &obj, name).map(|(real, member)| match member {
        Member::Value(v) => v,
        Member::Method => export(BoundMethod { obj, name: real }),
    });
    Prepared::Done(result, Handler::GetAttr)
}

/// HANDLE_SETATTR.
pub(crate) fn setattr(
    inner: &Arc<ConnInner>,
    obj: Arc<dyn LocalObject>,
    name: &str,
    value: Value,
) -> Prepared {
    let result = match obj.rpyc_setattr(name, &value) {
        Some(r) => r,
        None => check_attr(inner.config(), name, Permission::Set, |n| obj.has_member(n))
            .map_err(RemoteException::from)
            .and_then(|real| obj.set_member(&real, value)),
    };
    Prepared::Done(result.map(|()| Value::None), Handler::SetAttr)
}

/// HANDLE_DELATTR.
pub(crate) fn delattr(inner: &Arc<ConnInner>, obj: Arc<dyn LocalObject>, name: &str) -> Prepared {
    let result = match obj.rpyc_delattr(name) {
        Some(r) => r,
        None => check_attr(inner.config(), name, Permission::Del, |n| obj.has_member(n))
            .map_err(RemoteException::from)
            .and_then(|real| obj.del_member(&real)),
    };
    Prepared::Done(result.map(|()| Value::None), Handler::DelAttr)
}
