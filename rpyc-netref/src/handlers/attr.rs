//! GETATTR, SETATTR, DELATTR: every access goes through the owner's policy
//! (`rpyc_core::policy::check_attr`) unless the object overrides it (`rpyc_getattr`, …).

use std::sync::Arc;

use rpyc_core::policy::{check_attr, Permission};
use rpyc_core::{RemoteException, Value};

use super::{no_attribute, Prepared};
use crate::connection::ConnInner;
use crate::object::{export, BoundMethod, Member, RemoteObject};

/// Resolves `name` on `obj` for reading: the override, or the policy then the member table.
/// Returns the real member name and what it is.
pub(crate) fn lookup(
    inner: &ConnInner,
    obj: &Arc<dyn RemoteObject>,
    name: &str,
) -> Result<(String, Member), RemoteException> {
    if let Some(r) = obj.rpyc_getattr(name) {
        return r.map(|m| (name.to_string(), m));
    }
    let real = check_attr(inner.config(), name, Permission::Get, |n| obj.has_member(n))?;
    match obj.get_member(&real) {
        Some(m) => Ok((real.into_owned(), m)),
        None => Err(no_attribute(obj, name)),
    }
}

/// HANDLE_GETATTR: a data member's value, or a bound method by reference.
pub(crate) fn getattr(
    inner: &Arc<ConnInner>,
    obj: Arc<dyn RemoteObject>,
    name: String,
) -> Prepared {
    let result = lookup(inner, &obj, &name).map(|(real, member)| match member {
        Member::Value(v) => v,
        Member::Method => export(BoundMethod { obj, name: real }),
    });
    Prepared::Done(result, "getattr")
}

/// HANDLE_SETATTR.
pub(crate) fn setattr(
    inner: &Arc<ConnInner>,
    obj: Arc<dyn RemoteObject>,
    name: &str,
    value: Value,
) -> Prepared {
    let result = match obj.rpyc_setattr(name, &value) {
        Some(r) => r,
        None => check_attr(inner.config(), name, Permission::Set, |n| obj.has_member(n))
            .map_err(RemoteException::from)
            .and_then(|real| obj.set_member(&real, value)),
    };
    Prepared::Done(result.map(|()| Value::None), "setattr")
}

/// HANDLE_DELATTR.
pub(crate) fn delattr(inner: &Arc<ConnInner>, obj: Arc<dyn RemoteObject>, name: &str) -> Prepared {
    let result = match obj.rpyc_delattr(name) {
        Some(r) => r,
        None => check_attr(inner.config(), name, Permission::Del, |n| obj.has_member(n))
            .map_err(RemoteException::from)
            .and_then(|real| obj.del_member(&real)),
    };
    Prepared::Done(result.map(|()| Value::None), "delattr")
}
