//! The requests rpyc-rs refuses by design: PICKLE (it neither pickles nor unpickles),
//! OLDSLICING (Python 2), and INSTANCECHECK (answered `False`: no class of ours is a peer's).

use std::sync::Arc;

use rpyc_core::message::Handler;
use rpyc_core::{RemoteException, Value};

use super::Prepared;
use crate::connection::ConnInner;

/// HANDLE_PICKLE: never served (rpyc-rs neither pickles nor unpickles).
pub(crate) fn pickle(inner: &Arc<ConnInner>) -> Prepared {
    let msg = if inner.config().allow_pickle {
        "pickling is not supported by rpyc-rs"
    } else {
        "pickling is disabled"
    };
    Prepared::Done(Err(RemoteException::value_error(msg)), Handler::Pickle)
}

/// HANDLE_OLDSLICING: Python 2's slicing protocol, never served.
pub(crate) fn oldslicing() -> Prepared {
    let err = RemoteException::type_error("old-style slicing is not supported");
    Prepared::Done(Err(err), Handler::OldSlicing)
}

/// HANDLE_INSTANCECHECK: `False` (a peer's class is never one of ours).
pub(crate) fn instancecheck() -> Prepared {
    Prepared::Done(Ok(Value::Bool(false)), Handler::InstanceCheck)
}
