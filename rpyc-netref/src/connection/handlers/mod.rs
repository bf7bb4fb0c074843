//! One module per group of protocol handlers, behind [`prepare`].
//!
//! `prepare` runs on the reader task, in arrival order: it resolves every reference the request
//! carries and either answers at once (cheap handlers: PING, GETROOT, DEL, INSPECT, REPR, …) or
//! returns the future of a handler that may take time (CALL, CALLATTR, GETATTR of a property,
//! BUFFITER …) for the connection to run on its own task.
//!
//! | module | handlers |
//! |---|---|
//! | [`lifecycle`] | PING, CLOSE, GETROOT, DEL |
//! | [`attr`] | GETATTR, SETATTR, DELATTR (access policy applied) |
//! | [`call`] | CALL, CALLATTR, CTXEXIT |
//! | [`introspect`] | REPR, STR, HASH, DIR, CMP, INSPECT |
//! | [`buffiter`] | BUFFITER |
//! | [`refused`] | PICKLE, OLDSLICING, INSTANCECHECK |
//!
//! Each arm names its handler once, as the [`Handler`] it answers; the error tracebacks show
//! its `name()`.

use std::sync::Arc;

use rpyc_core::message::{Boxed, Handler, Request};
use rpyc_core::{RemoteException, Value};

use crate::connection::ConnInner;
use crate::object::{Args, BoxFuture, CallResult, LocalObject};

pub(crate) mod attr;
pub(crate) mod buffiter;
pub(crate) mod call;
pub(crate) mod introspect;
pub(crate) mod lifecycle;
pub(crate) mod refused;

/// What the reader does with a request.
pub(crate) enum Prepared {
    /// Answer now.
    Done(CallResult, Handler),
    /// No answer (CLOSE).
    NoReply,
    /// A request this build does not know (`Request` may grow): `NotImplementedError`.
    Unsupported,
    /// Run this job on its own task, then answer. The job itself (not only its future) runs
    /// there: a synchronous method body neither stalls nor, if it panics, kills the reader.
    Spawn(Job, Handler),
}

/// A handler's work, started on its own task.
pub(crate) type Job = Box<dyn FnOnce() -> BoxFuture<CallResult> + Send>;

macro_rules! tri {
    ($e:expr, $ctx:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Prepared::Done(Err(e), $ctx),
        }
    };
}
pub(crate) use tri;

/// Resolves a request's references and picks how to run it.
pub(crate) fn prepare(inner: &Arc<ConnInner>, req: Request) -> Prepared {
    match req {
        Request::Ping { data } => Prepared::Done(inner.unbox(data), Handler::Ping),
        Request::Close => lifecycle::close(inner),
        Request::GetRoot => lifecycle::getroot(inner),
        Request::Del { obj, count } => lifecycle::del(inner, obj, count),
        Request::GetAttr { obj, name } => {
            attr::getattr(inner, tri!(target(inner, obj), Handler::GetAttr), name)
        }
        Request::SetAttr { obj, name, value } => {
            let obj = tri!(target(inner, obj), Handler::SetAttr);
            attr::setattr(
                inner,
                obj,
                &name,
                tri!(inner.unbox(value), Handler::SetAttr),
            )
        }
        Request::DelAttr { obj, name } => {
            attr::delattr(inner, tri!(target(inner, obj), Handler::DelAttr), &name)
        }
        Request::Call { obj, args, kwargs } => {
            let obj = tri!(target(inner, obj), Handler::Call);
            call::call(
                inner,
                obj,
                tri!(call_args(inner, args, kwargs), Handler::Call),
            )
        }
        Request::CallAttr {
            obj,
            name,
            args,
            kwargs,
        } => {
            let obj = tri!(target(inner, obj), Handler::CallAttr);
            call::callattr(
                inner,
                obj,
                name,
                tri!(call_args(inner, args, kwargs), Handler::CallAttr),
            )
        }
        Request::Repr { obj } => introspect::repr(tri!(target(inner, obj), Handler::Repr)),
        Request::Str { obj } => introspect::str(tri!(target(inner, obj), Handler::Str)),
        Request::Hash { obj } => introspect::hash(tri!(target(inner, obj), Handler::Hash)),
        Request::Dir { obj } => introspect::dir(inner, tri!(target(inner, obj), Handler::Dir)),
        Request::Cmp { obj, other, op } => {
            let obj = tri!(target(inner, obj), Handler::Cmp);
            introspect::cmp(inner, obj, tri!(inner.unbox(other), Handler::Cmp), op)
        }
        Request::Inspect { id_pack } => introspect::inspect(inner, &id_pack),
        Request::BuffIter { obj, count } => {
            buffiter::buffiter(inner, tri!(target(inner, obj), Handler::BuffIter), count)
        }
        Request::CtxExit { obj, exc } => {
            let obj = tri!(target(inner, obj), Handler::CtxExit);
            call::ctxexit(inner, obj, tri!(inner.unbox(exc), Handler::CtxExit))
        }
        Request::InstanceCheck { .. } => refused::instancecheck(),
        Request::Pickle { .. } => refused::pickle(inner),
        Request::OldSlicing { .. } => refused::oldslicing(),
        _ => Prepared::Unsupported,
    }
}

/// The local object a request targets (it must be one of ours, sent back as label 3).
fn target(inner: &Arc<ConnInner>, obj: Boxed) -> Result<Arc<dyn LocalObject>, RemoteException> {
    if let Boxed::Local(id) = &obj {
        // The usual case: straight from the table.
        return inner
            .table
            .get(id)
            .ok_or_else(|| RemoteException::key_error(id.to_value()));
    }
    // Anything else is an error; unboxing it still gives a reference of the peer its proxy,
    // so it is released.
    let v = inner.unbox(obj)?;
    Err(RemoteException::type_error(format!(
        "the target of a request must be an object of the receiver, got {}",
        v.type_name()
    )))
}

/// Unboxes the `(args, kwargs_pairs)` of CALL/CALLATTR.
fn call_args(inner: &Arc<ConnInner>, args: Boxed, kwargs: Boxed) -> Result<Args, RemoteException> {
    let pos = match inner.unbox(args)? {
        Value::Tuple(items) => items,
        other => {
            return Err(RemoteException::type_error(format!(
                "call arguments must be a tuple, got {}",
                other.type_name()
            )))
        }
    };
    let kw = match inner.unbox(kwargs)? {
        Value::Tuple(pairs) => pairs
            .into_iter()
            .map(|p| match p {
                Value::Tuple(mut kv) if kv.len() == 2 => {
                    let v = kv.pop().unwrap_or_default();
                    match kv.pop() {
                        Some(Value::Str(k)) => Ok((k, v)),
                        _ => Err(RemoteException::type_error("keywords must be strings")),
                    }
                }
                _ => Err(RemoteException::type_error(
                    "keyword arguments must be (name, value) pairs",
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Value::None => Vec::new(),
        other => {
            return Err(RemoteException::type_error(format!(
                "keyword arguments must be a tuple, got {}",
                other.type_name()
            )))
        }
    };
    Ok(Args { pos, kw })
}
