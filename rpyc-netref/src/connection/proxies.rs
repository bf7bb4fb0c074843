//! The proxy cache: at most one live [`NetRef`](crate::NetRef) per remote object id.
//!
//! RPyC keeps one proxy per remote id (its `_proxy_cache`), so a reference received twice is
//! the same object to the user, and one `HANDLE_DEL` releases all the references it carries.
//! The cache holds proxies weakly: a proxy lives while the user holds it, and its entry goes
//! when it is released (or at the next sweep). Boxing (`boxing.rs`) fills it as references
//! arrive; `Connection::root` and the release path read it.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use rpyc_core::IdPack;

use crate::netref::NetRefInner;

/// Live proxies by remote id (weak: the user's handles own them).
#[derive(Default)]
pub(super) struct ProxyCache {
    by_id: Mutex<HashMap<IdPack, Weak<NetRefInner>>>,
}

/// Entries above this count are swept of dead proxies each time the count reaches a power of
/// two, so a peer that sends many short-lived references does not grow the map for ever.
const SWEEP_ABOVE: usize = 1024;

impl ProxyCache {
    /// The live proxy of `id`, counting one more reference received; or a new one from `make`.
    pub(super) fn received<E>(
        &self,
        id: IdPack,
        make: impl FnOnce(IdPack) -> Result<Arc<NetRefInner>, E>,
    ) -> Result<Arc<NetRefInner>, E> {
        use std::collections::hash_map::Entry;
        let mut by_id = self.by_id.lock();
        let sweep = by_id.len() > SWEEP_ABOVE && by_id.len().is_power_of_two();
        // One lookup per reference received (it happens per call that passes an object).
        let id = match by_id.entry(id) {
            Entry::Occupied(mut e) => {
                if let Some(existing) = e.get().upgrade() {
                    existing.received.fetch_add(1, Ordering::Relaxed);
                    return Ok(existing);
                }
                let inner = make(e.key().clone())?;
                e.insert(Arc::downgrade(&inner));
                return Ok(inner);
            }
            Entry::Vacant(v) if !sweep => {
                let inner = make(v.key().clone())?;
                v.insert(Arc::downgrade(&inner));
                return Ok(inner);
            }
            Entry::Vacant(v) => v.into_key(),
        };
        let inner = make(id.clone())?;
        by_id.retain(|_, w| w.strong_count() > 0);
        by_id.insert(id, Arc::downgrade(&inner));
        Ok(inner)
    }

    /// The live proxy of `id`, if the user still holds one.
    pub(super) fn get(&self, id: &IdPack) -> Option<Arc<NetRefInner>> {
        self.by_id.lock().get(id).and_then(Weak::upgrade)
    }

    /// Forgets `id` if its proxy is gone (its last handle just dropped); a proxy made again
    /// since stays.
    pub(super) fn forget_dead(&self, id: &IdPack) {
        let mut by_id = self.by_id.lock();
        // One lookup in the usual case (the proxy is gone); one more to put back a live one.
        if let Some((key, w)) = by_id.remove_entry(id) {
            if w.strong_count() > 0 {
                by_id.insert(key, w);
            }
        }
    }

    /// How many proxies are alive.
    pub(super) fn live(&self) -> usize {
        self.by_id
            .lock()
            .values()
            .filter(|w| w.strong_count() > 0)
            .count()
    }
}
