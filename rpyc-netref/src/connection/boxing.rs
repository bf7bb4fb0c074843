//! RPyC's `_box` / `_unbox`: values to send become brine values or object references (local
//! objects counted in the table, the peer's own objects sent back by id); references received
//! become [`NetRef`](crate::NetRef) proxies, one per remote object (through the proxy cache,
//! `proxies.rs`).

use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use rpyc_core::message::Boxed;
use rpyc_core::{IdPack, IntoValue, Object, RemoteException, Value};

use super::ConnInner;
use crate::netref::NetRefInner;
use crate::object::{Exported, LocalObject};
use crate::table::ExportLimits;
impl ConnInner {
    /// Boxes a value for sending (RPyC's `_box`): plain data by value, local objects by
    /// reference (counted in the table), the peer's own objects as label 3. The objects are
    /// moved to `keep`, which the caller drops only after the frame is queued.
    pub(crate) fn box_value(
        &self,
        v: Value,
        keep: &mut Vec<Object>,
    ) -> std::result::Result<Boxed, RemoteException> {
        if v.is_dumpable() {
            return Ok(Boxed::Value(v));
        }
        match v {
            Value::Tuple(items) => Ok(Boxed::Tuple(
                items
                    .into_iter()
                    .map(|i| self.box_value(i, keep))
                    .collect::<std::result::Result<_, _>>()?,
            )),
            Value::Object(obj) => {
                let b = self.box_object(&obj);
                keep.push(obj);
                b
            }
            other => Err(RemoteException::type_error(format!(
                "cannot send a {} holding objects by reference",
                other.type_name()
            ))),
        }
    }

    pub(super) fn box_object(&self, obj: &Object) -> std::result::Result<Boxed, RemoteException> {
        if let Some(nr) = obj.downcast_ref::<NetRefInner>() {
            if std::ptr::eq(Arc::as_ptr(&nr.conn.inner), self as *const ConnInner) {
                return Ok(Boxed::Local(nr.id.clone()));
            }
            return Err(RemoteException::type_error(format!(
                "cannot send {}: it is a reference of another connection",
                nr.id
            )));
        }
        if let Some(ex) = obj.downcast_ref::<Exported>() {
            return self.export(&ex.0);
        }
        Err(RemoteException::type_error(format!(
            "cannot send an object of type {}",
            obj.type_name()
        )))
    }

    pub(super) fn export(
        &self,
        obj: &Arc<dyn LocalObject>,
    ) -> std::result::Result<Boxed, RemoteException> {
        let limits = ExportLimits {
            per_connection: self.config.max_exported_objects,
            total: self.config.max_exported_objects_total,
        };
        self.table
            .export(obj, limits)
            .map(Boxed::Remote)
            .ok_or_else(|| {
                RemoteException::builtin(
                    "MemoryError",
                    format!(
                        "too many exported objects (limits: {} on this connection, {} in the process)",
                        limits.per_connection, limits.total
                    ),
                )
            })
    }

    /// Unboxes a received value (RPyC's `_unbox`): label 3 resolves in the local table, label 4
    /// becomes a proxy.
    pub(crate) fn unbox(self: &Arc<Self>, b: Boxed) -> std::result::Result<Value, RemoteException> {
        match b {
            Boxed::Value(v) => Ok(v),
            Boxed::Tuple(items) => Ok(Value::Tuple(
                items
                    .into_iter()
                    .map(|i| self.unbox(i))
                    .collect::<std::result::Result<_, _>>()?,
            )),
            Boxed::Local(id) => match self.table.get(&id) {
                Some(obj) => Ok(Exported(obj).into_value()),
                None => Err(RemoteException::key_error(id.to_value())),
            },
            Boxed::Remote(id) => self.proxy(id).map(|nr| Value::Object(Object(nr))),
        }
    }

    pub(super) fn proxy(
        self: &Arc<Self>,
        id: IdPack,
    ) -> std::result::Result<Arc<NetRefInner>, RemoteException> {
        self.proxies.received(id, |id| {
            let conn = self
                .connection()
                .ok_or_else(|| RemoteException::eof_error("connection is closing"))?;
            Ok(Arc::new(NetRefInner {
                conn,
                id,
                received: AtomicI64::new(1),
            }))
        })
    }
}
