//! Our calls waiting for the peer's answer: [`InFlight`] owns their sequence numbers, the
//! waiters ([`AsyncResult`]s) and their deadlines, as tarpc's in-flight requests do. The
//! connection starts a call, completes it from the reader, arms its timeout, and fails them all
//! when it closes — or as soon as the peer has stopped sending (EOF), when no reply can come:
//! from then on a new call fails at once. Nothing else touches the map.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use super::deadlines::{Armed, Deadlines};
use crate::async_result::AsyncResult;
use crate::error::{Error, Result};
use crate::observe::CallObs;
use rpyc_core::Value;

/// The calls of one connection that await a reply.
#[derive(Default)]
pub(super) struct InFlight {
    /// The next sequence number (never reused on a connection, so a late reply can never reach
    /// a newer call).
    seq: AtomicI64,
    /// Waiters by sequence number, and why no more can wait once that is known.
    pending: Mutex<Pending>,
    /// Their timeouts (one sweeper per connection).
    deadlines: Deadlines,
}

#[derive(Default)]
struct Pending {
    /// The waiters, each with its `rpyc.call` span when one is recorded.
    waiting: HashMap<i64, Waiter>,
    /// How many waiters have a span (the requests of the peer look for one only then).
    spans: usize,
    /// Set when no reply can come any more (the peer stopped sending): the error new calls get.
    ended: Option<String>,
}

/// A call awaiting its reply.
struct Waiter {
    res: AsyncResult,
    obs: Option<Box<CallObs>>,
}

impl Waiter {
    /// Completes the call with `result`, ending its span.
    fn complete(self, result: Result<Value>) {
        if let Some(obs) = self.obs {
            obs.finish(result.as_ref().map(|_| ()));
        }
        self.res.complete(result);
    }
}

impl Pending {
    fn remove(&mut self, seq: i64) -> Option<Waiter> {
        let w = self.waiting.remove(&seq)?;
        self.spans -= usize::from(w.obs.is_some());
        Some(w)
    }
}

impl InFlight {
    /// A sequence number for a request that awaits no reply (DEL).
    pub(super) fn next_seq(&self) -> i64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// Starts a call (observed by `obs`, if it is): its sequence number and the waiter its
    /// reply completes.
    pub(super) fn start(&self, obs: Option<Box<CallObs>>) -> (i64, AsyncResult) {
        let seq = self.next_seq();
        let res = AsyncResult::new();
        if let Some(o) = &obs {
            o.sent(seq);
        }
        let w = Waiter {
            res: res.clone(),
            obs,
        };
        let mut p = self.pending.lock();
        if let Some(reason) = p.ended.clone() {
            drop(p);
            w.complete(Err(Error::ConnectionClosed(reason)));
        } else {
            p.spans += usize::from(w.obs.is_some());
            p.waiting.insert(seq, w);
        }
        (seq, res)
    }

    /// The span of the one call still waiting, if exactly one waits and it is observed: the
    /// parent of a request the peer sends meanwhile (a callback it caused). With several
    /// calls waiting, RPyC says nothing of which one caused it, so none is guessed.
    pub(super) fn only_span(&self) -> Option<tracing::Id> {
        let p = self.pending.lock();
        if p.spans == 0 || p.waiting.len() != 1 {
            return None;
        }
        p.waiting.values().next()?.obs.as_ref()?.id()
    }

    /// Completes call `seq` with `result`; false (and `result` dropped) if no such call waits
    /// (a late reply after a timeout, or a reply to a seq never sent).
    pub(super) fn complete(&self, seq: i64, result: impl FnOnce() -> Result<Value>) -> bool {
        let Some(w) = self.pending.lock().remove(seq) else {
            return false;
        };
        w.complete(result());
        true
    }

    /// True if `seq` was handed out on this connection (whether or not its call still waits).
    /// A reply to a seq never sent answers nothing and carries no reference we could owe a
    /// DEL for, so it is dropped without decoding; a late reply (after a timeout) is decoded,
    /// so that the references it carries are released.
    pub(super) fn was_sent(&self, seq: i64) -> bool {
        (0..self.seq.load(Ordering::Relaxed)).contains(&seq)
    }

    /// Gives up call `seq` with `err` (it could not be sent).
    pub(super) fn fail(&self, seq: i64, err: Error) {
        let w = self.pending.lock().remove(seq);
        if let Some(w) = w {
            w.complete(Err(err));
        }
    }

    /// Fails every waiting call (the connection closed).
    pub(super) fn fail_all(&self, err: impl Fn() -> Error) {
        let pending: Vec<Waiter> = {
            let mut p = self.pending.lock();
            p.spans = 0;
            p.waiting.drain().map(|(_, w)| w).collect()
        };
        for r in pending {
            r.complete(Err(err()));
        }
    }

    /// No reply can come any more (`reason`): fails every waiting call with
    /// [`Error::ConnectionClosed`], and every call started from now on.
    pub(super) fn end(&self, reason: &str) {
        self.pending
            .lock()
            .ended
            .get_or_insert_with(|| reason.to_string());
        self.fail_all(|| Error::ConnectionClosed(reason.to_string()));
    }

    /// How many calls wait for a reply.
    pub(super) fn waiting(&self) -> usize {
        self.pending.lock().waiting.len()
    }

    /// Arms call `seq`'s timeout; disarmed when the guard drops.
    pub(super) fn arm(&self, seq: i64, timeout: Duration) -> Option<Armed<'_>> {
        self.deadlines.arm(seq, timeout)
    }

    /// The sweeper: fails calls whose deadline passed with [`Error::Timeout`], until `cancel`.
    pub(super) async fn expire(&self, cancel: &CancellationToken) {
        self.deadlines
            .run(cancel, |seq, timeout| {
                self.fail(seq, Error::Timeout(timeout));
            })
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_completes_once_and_a_late_reply_finds_nothing() {
        let f = InFlight::default();
        let (seq, res) = f.start(None);
        assert!(f.complete(seq, || Ok(Value::Int(1))));
        assert!(!f.complete(seq, || Ok(Value::Int(2))));
        assert_eq!(res.take().unwrap().unwrap(), Value::Int(1));
        // Sequence numbers never repeat.
        let (next, _) = f.start(None);
        assert!(next > seq);
        assert!(f.next_seq() > next);
        // Sent, answered or not: known; never handed out: not.
        assert!(f.was_sent(seq) && f.was_sent(next));
        assert!(!f.was_sent(next + 2) && !f.was_sent(-1));
    }

    #[tokio::test]
    async fn an_expired_call_fails_with_its_timeout_and_its_reply_is_then_unknown() {
        let f = std::sync::Arc::new(InFlight::default());
        let cancel = CancellationToken::new();
        let sweeper = {
            let (f, cancel) = (f.clone(), cancel.clone());
            tokio::spawn(async move { f.expire(&cancel).await })
        };
        let (seq, res) = f.start(None);
        let armed = f.arm(seq, Duration::from_millis(20));
        res.wait().await.unwrap();
        assert!(
            matches!(res.take(), Some(Err(Error::Timeout(d))) if d == Duration::from_millis(20))
        );
        drop(armed);
        assert!(!f.complete(seq, || Ok(Value::None)));
        cancel.cancel();
        sweeper.await.unwrap();
    }

    #[test]
    fn after_the_end_a_new_call_fails_at_once() {
        let f = InFlight::default();
        let (_, before) = f.start(None);
        assert_eq!(f.waiting(), 1);
        f.end("the peer closed the connection");
        let (_, after) = f.start(None);
        for r in [before, after] {
            assert!(
                matches!(r.take(), Some(Err(Error::ConnectionClosed(m))) if m.contains("peer closed"))
            );
        }
        assert_eq!(f.waiting(), 0);
    }

    #[test]
    fn closing_fails_every_call() {
        let f = InFlight::default();
        let calls: Vec<AsyncResult> = (0..3).map(|_| f.start(None).1).collect();
        f.fail_all(|| Error::ConnectionClosed("gone".into()));
        for r in calls {
            assert!(matches!(r.take(), Some(Err(Error::ConnectionClosed(_)))));
        }
    }
}
