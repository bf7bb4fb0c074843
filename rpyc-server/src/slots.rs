//! Connection slots: the server's cap on open connections, who makes room when it is reached,
//! and the optional per-peer limit.
//!
//! When every slot is taken, a newcomer evicts the oldest connection that has never sent a
//! complete frame (it holds nothing: no object, no call; a peer that connects and stays silent
//! cannot lock everyone else out). If every connection has sent one, the newcomer waits, in
//! arrival order, for a slot to free up. A live connection that has spoken is never evicted.
//!
//! The per-peer limit (off by default) counts connections by IP address (every Unix-socket
//! peer is the same peer): beyond it, a newcomer from that address is closed at once.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;
use rpyc_netref::Connection;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// Why a newcomer got no slot.
#[derive(Debug)]
pub(crate) enum Refused {
    /// Its address already has the most connections allowed.
    PerPeer(usize),
    /// The server is shutting down.
    ShuttingDown,
}

/// The slots of one server.
pub(crate) struct Slots {
    permits: Arc<Semaphore>,
    per_peer: Option<usize>,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    next: u64,
    /// In arrival order.
    by_arrival: BTreeMap<u64, Entry>,
    by_peer: HashMap<String, usize>,
}

struct Entry {
    peer: String,
    /// Set once the connection has started (after a TLS handshake, say).
    conn: Option<Connection>,
    /// Cancelled to evict the connection.
    evict: CancellationToken,
}

impl Entry {
    /// Whether it has never sent a complete frame (and is not already being evicted).
    fn evictable(&self) -> bool {
        !self.evict.is_cancelled() && self.conn.as_ref().is_none_or(|c| c.frames_received() == 0)
    }
}

/// One connection's slot; given back when dropped.
pub(crate) struct Slot {
    slots: Arc<Slots>,
    id: u64,
    _permit: OwnedSemaphorePermit,
    /// Cancelled when a newcomer evicts this connection.
    pub(crate) evicted: CancellationToken,
}

impl Slots {
    /// `max` slots, at most `per_peer` of them for one address.
    pub(crate) fn new(max: usize, per_peer: Option<usize>) -> Arc<Slots> {
        Arc::new(Slots {
            permits: Arc::new(Semaphore::new(max.max(1))),
            per_peer,
            open: Mutex::default(),
        })
    }

    /// A slot for a newcomer from `peer` (an IP address, or `"unix"`): a free one, or one
    /// made by evicting the oldest silent connection, or the next to free up.
    pub(crate) async fn take(
        self: &Arc<Self>,
        peer: &str,
        shutdown: &CancellationToken,
    ) -> Result<Slot, Refused> {
        if let Some(limit) = self.per_peer {
            if self.open.lock().by_peer.get(peer).copied().unwrap_or(0) >= limit {
                return Err(Refused::PerPeer(limit));
            }
        }
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                self.evict_oldest_silent();
                tokio::select! {
                    p = self.permits.clone().acquire_owned() => p.map_err(|_| Refused::ShuttingDown)?,
                    _ = shutdown.cancelled() => return Err(Refused::ShuttingDown),
                }
            }
        };
        let evict = CancellationToken::new();
        let mut open = self.open.lock();
        let id = open.next;
        open.next += 1;
        *open.by_peer.entry(peer.to_string()).or_default() += 1;
        open.by_arrival.insert(
            id,
            Entry {
                peer: peer.to_string(),
                conn: None,
                evict: evict.clone(),
            },
        );
        Ok(Slot {
            slots: self.clone(),
            id,
            _permit: permit,
            evicted: evict,
        })
    }

    /// Evicts the oldest connection that has never sent a complete frame, if there is one.
    fn evict_oldest_silent(&self) {
        let open = self.open.lock();
        if let Some(e) = open.by_arrival.values().find(|e| e.evictable()) {
            tracing::info!(peer = %e.peer, "evicting a connection that never sent a frame: every slot is taken");
            e.evict.cancel();
        }
    }
}

impl Slot {
    /// The connection holding this slot has started.
    pub(crate) fn attach(&self, conn: &Connection) {
        if let Some(e) = self.slots.open.lock().by_arrival.get_mut(&self.id) {
            e.conn = Some(conn.clone());
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let entry = {
            let mut open = self.slots.open.lock();
            let entry = open.by_arrival.remove(&self.id);
            if let Some(e) = &entry {
                if let Some(n) = open.by_peer.get_mut(&e.peer) {
                    *n -= 1;
                    if *n == 0 {
                        open.by_peer.remove(&e.peer);
                    }
                }
            }
            entry
        };
        drop(entry); // Outside the lock: it may hold the last handle of its connection.
    }
}

/// The address a peer is counted under: its IP (any port), or `"unix"`.
pub(crate) fn peer_key(peer: &str) -> String {
    peer.parse::<std::net::SocketAddr>()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|_| peer.to_string())
}
