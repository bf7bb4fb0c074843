//! The object table: local objects the peer holds references to, refcounted like RPyC's
//! `_local_objects`.
//!
//! Each by-reference send (label 4) counts one; a `HANDLE_DEL(obj, k)` from the peer subtracts
//! `k`, and the entry goes when the count reaches zero. Exporting the same object again while
//! it is in the table reuses its id, so the peer's proxy cache (and Python's `is`) sees one
//! object. The root service is pinned: it stays until the connection closes.
//!
//! Two caps bound the tables: one per connection (`Config::max_exported_objects`) and one
//! across every connection of the process (`Config::max_exported_objects_total`, counted in
//! [`EXPORTED_TOTAL`]), so many peers together cannot make the process hold more than it
//! allows.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use rpyc_core::IdPack;

use crate::object::LocalObject;

struct Entry {
    obj: Arc<dyn LocalObject>,
    id: IdPack,
    count: i64,
    pinned: bool,
}

#[derive(Default)]
struct Inner {
    by_id: HashMap<u64, Entry>,
    by_ptr: HashMap<usize, u64>,
    next_id: u64,
}

/// The table of exported local objects of one connection.
pub(crate) struct ObjectTable {
    inner: Mutex<Inner>,
    /// Where the process-wide count is kept ([`EXPORTED_TOTAL`] but in tests).
    total: &'static AtomicUsize,
}

impl Default for ObjectTable {
    fn default() -> Self {
        ObjectTable::counted_in(&EXPORTED_TOTAL)
    }
}

/// Objects exported by every connection of this process (pinned roots included).
static EXPORTED_TOTAL: AtomicUsize = AtomicUsize::new(0);

/// The most objects a table may hold: `per_connection` in it, `total` across the process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExportLimits {
    pub(crate) per_connection: usize,
    pub(crate) total: usize,
}

/// A stable, non-zero class id derived from the type name (FNV-1a).
fn class_id(name: &str) -> i128 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    ((h >> 1) | 1) as i128
}

fn ptr_key(obj: &Arc<dyn LocalObject>) -> usize {
    Arc::as_ptr(obj) as *const () as usize
}

impl ObjectTable {
    /// An empty table whose entries count in `total`.
    fn counted_in(total: &'static AtomicUsize) -> Self {
        ObjectTable {
            inner: Mutex::default(),
            total,
        }
    }

    /// Records one by-reference send of `obj` and returns its id pack, or `None` when a new
    /// entry would pass one of the `limits`.
    pub(crate) fn export(
        &self,
        obj: &Arc<dyn LocalObject>,
        limits: ExportLimits,
    ) -> Option<IdPack> {
        self.insert(obj, limits, false)
    }

    /// Exports the root object, pinned for the life of the connection.
    pub(crate) fn export_pinned(&self, obj: &Arc<dyn LocalObject>) -> IdPack {
        let unlimited = ExportLimits {
            per_connection: usize::MAX,
            total: usize::MAX,
        };
        self.insert(obj, unlimited, true)
            .unwrap_or_else(|| IdPack::new(obj.type_name(), class_id(obj.type_name()), 0))
    }

    fn insert(
        &self,
        obj: &Arc<dyn LocalObject>,
        limits: ExportLimits,
        pinned: bool,
    ) -> Option<IdPack> {
        let mut t = self.inner.lock();
        let key = ptr_key(obj);
        if let Some(&id) = t.by_ptr.get(&key) {
            if let Some(e) = t.by_id.get_mut(&id) {
                e.count = e.count.saturating_add(1);
                e.pinned |= pinned;
                return Some(e.id.clone());
            }
        }
        if t.by_id.len() >= limits.per_connection {
            return None;
        }
        // Taken before the entry is made; given back if the process is over its total.
        if self.total.fetch_add(1, Ordering::Relaxed) >= limits.total {
            self.total.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        t.next_id += 1;
        let n = t.next_id;
        let name = obj.type_name();
        let id = IdPack::new(name, class_id(name), n as i128);
        t.by_id.insert(
            n,
            Entry {
                obj: obj.clone(),
                id: id.clone(),
                count: 1,
                pinned,
            },
        );
        t.by_ptr.insert(key, n);
        Some(id)
    }

    /// The object an id pack names, if the table holds it (the whole id pack must match).
    pub(crate) fn get(&self, id: &IdPack) -> Option<Arc<dyn LocalObject>> {
        let n = u64::try_from(id.instance_id).ok()?;
        let t = self.inner.lock();
        t.by_id
            .get(&n)
            .filter(|e| e.id == *id)
            .map(|e| e.obj.clone())
    }

    /// Releases `count` references (saturating: no count can wrap); `false` if the id is
    /// unknown.
    pub(crate) fn decref(&self, id: &IdPack, count: i64) -> bool {
        let Ok(n) = u64::try_from(id.instance_id) else {
            return false;
        };
        let mut t = self.inner.lock();
        let Some(e) = t.by_id.get_mut(&n).filter(|e| e.id == *id) else {
            return false;
        };
        e.count = e.count.saturating_sub(count);
        if e.count <= 0 && !e.pinned {
            if let Some(e) = t.by_id.remove(&n) {
                let key = ptr_key(&e.obj);
                t.by_ptr.remove(&key);
                self.total.fetch_sub(1, Ordering::Relaxed);
            }
        }
        true
    }

    /// Number of objects held.
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().by_id.len()
    }

    /// Drops every object (connection closed). Objects are dropped outside the lock.
    pub(crate) fn clear(&self) {
        let old = {
            let mut t = self.inner.lock();
            t.by_ptr.clear();
            std::mem::take(&mut t.by_id)
        };
        self.total.fetch_sub(old.len(), Ordering::Relaxed);
        drop(old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::VoidService;

    #[test]
    fn refcounting_like_rpyc() {
        let t = ObjectTable::default();
        let a: Arc<dyn LocalObject> = Arc::new(VoidService);
        let b: Arc<dyn LocalObject> = Arc::new(VoidService);
        let ten = ExportLimits {
            per_connection: 10,
            total: usize::MAX,
        };
        let ida = t.export(&a, ten).unwrap();
        assert_eq!(t.export(&a, ten).unwrap(), ida, "same object, same id");
        let idb = t.export(&b, ten).unwrap();
        assert_ne!(ida, idb);
        assert_eq!(t.len(), 2);
        assert!(t.decref(&ida, 1));
        assert!(t.get(&ida).is_some(), "sent twice, released once");
        assert!(t.decref(&ida, 1));
        assert!(t.get(&ida).is_none());
        assert!(!t.decref(&ida, 1), "unknown id");
        let forged = IdPack::new("other.Name", idb.class_id, idb.instance_id);
        assert!(t.get(&forged).is_none(), "the whole id pack must match");
        let one = ExportLimits {
            per_connection: 1,
            total: usize::MAX,
        };
        assert!(t.export(&a, one).is_none(), "limit reached");
        let root = t.export_pinned(&a);
        assert!(t.decref(&root, 5));
        assert!(t.get(&root).is_some(), "pinned");
        t.clear();
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn the_total_across_tables_is_capped_and_given_back() {
        static TOTAL: AtomicUsize = AtomicUsize::new(0);
        let (t1, t2) = (
            ObjectTable::counted_in(&TOTAL),
            ObjectTable::counted_in(&TOTAL),
        );
        let objs: Vec<Arc<dyn LocalObject>> = (0..3).map(|_| Arc::new(VoidService) as _).collect();
        let limits = ExportLimits {
            per_connection: 10,
            total: 2,
        };
        let id0 = t1.export(&objs[0], limits).unwrap();
        t2.export(&objs[1], limits).unwrap();
        assert!(
            t2.export(&objs[2], limits).is_none(),
            "the process total is reached"
        );
        assert!(t1.decref(&id0, 1));
        assert!(
            t2.export(&objs[2], limits).is_some(),
            "a release makes room"
        );
        assert_eq!(TOTAL.load(Ordering::Relaxed), 2);
        t2.clear();
        t1.clear();
        assert_eq!(
            TOTAL.load(Ordering::Relaxed),
            0,
            "closing gives everything back"
        );
    }
}
