//! REPR, STR, HASH, DIR, CMP, INSPECT.

use std::sync::Arc;

use rpyc_core::message::Handler;

use rpyc_core::policy::{check_attr, Permission};
use rpyc_core::{IdPack, RemoteException, Value};

use super::{tri, Prepared};
use crate::connection::ConnInner;
use crate::object::{Args, Exported, LocalObject, Member};

/// HANDLE_REPR.
pub(crate) fn repr(obj: Arc<dyn LocalObject>) -> Prepared {
    Prepared::Done(Ok(Value::Str(obj.repr())), Handler::Repr)
}

/// HANDLE_STR.
pub(crate) fn str(obj: Arc<dyn LocalObject>) -> Prepared {
    Prepared::Done(Ok(Value::Str(obj.str())), Handler::Str)
}

fn identity(obj: &Arc<dyn LocalObject>) -> usize {
    Arc::as_ptr(obj) as *const () as usize
}

/// HANDLE_HASH: the object's own hash, else [`identity_hash`].
pub(crate) fn hash(obj: Arc<dyn LocalObject>) -> Prepared {
    let h = obj.hash().unwrap_or_else(|| identity_hash(&obj));
    Prepared::Done(Ok(Value::Int(h)), Handler::Hash)
}

/// The hash of an object without one of its own: its identity under a keyed hash whose key is
/// random per process, so it is stable for the object's life (as Python expects of `hash`) and
/// tells the peer nothing about where the object lives in memory.
fn identity_hash(obj: &Arc<dyn LocalObject>) -> i64 {
    use std::hash::BuildHasher;
    static KEY: std::sync::OnceLock<std::collections::hash_map::RandomState> =
        std::sync::OnceLock::new();
    KEY.get_or_init(Default::default).hash_one(identity(obj)) as i64
}

/// HANDLE_DIR: the names the peer may access under this side's policy (exposed members are
/// listed without their prefix). Unlike Python's server, private names are not revealed.
pub(crate) fn dir(inner: &Arc<ConnInner>, obj: Arc<dyn LocalObject>) -> Prepared {
    let cfg = inner.config();
    if !cfg.allow_getattr {
        return Prepared::Done(Ok(Value::Tuple(Vec::new())), Handler::Dir);
    }
    let prefix = cfg.exposed_prefix.as_str();
    let mut names: Vec<String> = obj
        .member_names()
        .into_iter()
        .filter_map(|n| {
            if cfg.allow_exposed_attrs && !prefix.is_empty() {
                if let Some(plain) = n.strip_prefix(prefix) {
                    return Some(plain.to_string());
                }
            }
            let visible = check_attr(cfg, &n, Permission::Get, |m| obj.has_member(m))
                .is_ok_and(|real| real == n);
            visible.then_some(n)
        })
        .collect();
    names.sort();
    names.dedup();
    Prepared::Done(
        Ok(Value::Tuple(names.into_iter().map(Value::Str).collect())),
        Handler::Dir,
    )
}

/// HANDLE_CMP: `op` must pass the policy (the CVE-2019-16328 guard); an object without the
/// method compares by identity for `__eq__`/`__ne__`, answers `NotImplemented` for the other
/// rich comparisons (as Python's `object` does) and raises `AttributeError` for any other
/// operator (Python's `getattr(type(obj), op)` fails the same way).
pub(crate) fn cmp(
    inner: &Arc<ConnInner>,
    obj: Arc<dyn LocalObject>,
    other: Value,
    op: String,
) -> Prepared {
    let real = tri!(
        check_attr(inner.config(), &op, Permission::Get, |n| obj.has_member(n))
            .map_err(RemoteException::from),
        Handler::Cmp
    )
    .into_owned();
    if matches!(obj.get_member(&real), Some(Member::Method)) {
        let ctx = tri!(inner.context(), Handler::Cmp);
        let args = Args {
            pos: vec![other],
            kw: Vec::new(),
        };
        return Prepared::Spawn(
            Box::new(move || obj.call_method(&real, ctx, args)),
            Handler::Cmp,
        );
    }
    let same = Exported::from_value_ref(&other).is_some_and(|o| identity(o) == identity(&obj));
    let result = match real.as_str() {
        "__eq__" => Ok(Value::Bool(same)),
        "__ne__" => Ok(Value::Bool(!same)),
        "__lt__" | "__le__" | "__gt__" | "__ge__" => Ok(Value::NotImplemented),
        _ => Err(RemoteException::no_attribute(obj.type_name(), &op)),
    };
    Prepared::Done(result, Handler::Cmp)
}

/// HANDLE_INSPECT: the protocol methods Python needs to build its proxy class.
pub(crate) fn inspect(inner: &Arc<ConnInner>, id: &IdPack) -> Prepared {
    let Some(obj) = inner.table.get(id) else {
        return Prepared::Done(
            Err(RemoteException::key_error(id.to_value())),
            Handler::Inspect,
        );
    };
    let mut methods = obj.protocol_methods();
    if obj.is_callable() && !methods.iter().any(|m| m == "__call__") {
        methods.push("__call__".into());
    }
    let answer = methods
        .into_iter()
        .map(|m| Value::Tuple(vec![Value::Str(m), Value::None]))
        .collect();
    Prepared::Done(Ok(Value::Tuple(answer)), Handler::Inspect)
}
