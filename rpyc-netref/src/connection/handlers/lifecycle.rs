//! PING (answered in `prepare`), CLOSE, GETROOT, DEL.

use std::sync::Arc;

use rpyc_core::message::Handler;

use rpyc_core::message::Boxed;
use rpyc_core::{RemoteException, Value};

use super::Prepared;
use crate::connection::ConnInner;
use crate::object::export_arc;

/// HANDLE_CLOSE: the peer is leaving; release everything, send nothing (as Python does).
pub(crate) fn close(inner: &Arc<ConnInner>) -> Prepared {
    inner.shutdown("closed by the peer");
    Prepared::NoReply
}

/// HANDLE_GETROOT: the root service object, by reference.
pub(crate) fn getroot(inner: &Arc<ConnInner>) -> Prepared {
    Prepared::Done(Ok(export_arc(inner.root.clone())), Handler::GetRoot)
}

/// HANDLE_DEL: the peer released `count` references to one of our objects. A count below 1
/// is refused (Python's peers always send at least 1).
pub(crate) fn del(inner: &Arc<ConnInner>, obj: Boxed, count: i64) -> Prepared {
    if count < 1 {
        let msg = format!("DEL needs a count of at least 1, got {count}");
        return Prepared::Done(Err(RemoteException::value_error(msg)), Handler::Del);
    }
    match obj {
        Boxed::Local(id) => {
            if inner.table.decref(&id, count) {
                Prepared::Done(Ok(Value::None), Handler::Del)
            } else {
                Prepared::Done(Err(RemoteException::key_error(id.to_value())), Handler::Del)
            }
        }
        _ => Prepared::Done(
            Err(RemoteException::type_error(
                "DEL needs a reference to an object of the receiver",
            )),
            Handler::Del,
        ),
    }
}
