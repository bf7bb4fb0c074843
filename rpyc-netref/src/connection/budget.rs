//! The output budget: what a connection owes its peer (bytes framed and not yet taken by the
//! peer's socket), bounded per connection and across the process.
//!
//! A peer that sends requests and never reads the replies would otherwise make us hold every
//! reply. While a connection owes more than its budget (`Config::max_queued_output`), or the
//! process owes more than its total (`Config::max_queued_output_total`), the connection's
//! reader takes no further frame and no request of it starts: admission control. Frames
//! already admitted still queue their replies, so the overshoot is bounded by what the
//! requests running at that moment return. The outbox charges each frame it queues and pays
//! back what each write hands to the socket; a peer that takes nothing for
//! `Config::write_timeout` is closed by the writer (see `outbox.rs`).
//!
//! The process-wide total is shared by every connection, so it is not touched per frame: each
//! connection counts in it what it owes in whole steps of [`STEP`] bytes, moving its share
//! only when what it owes crosses a step (with half a step of slack downwards, so a connection
//! owing about a step does not flip it per frame). Connections answering small calls never
//! touch it; the total can be short by less than one step per connection.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Bytes owed by every connection of the process.
static OWED_TOTAL: AtomicUsize = AtomicUsize::new(0);

/// Woken when the process-wide total drops below a connection's total budget.
static TOTAL_DRAINED: Notify = Notify::const_new();

/// How often a connection held back by the process-wide budget looks again, in case the
/// connection that paid had a different total budget configured (and so did not wake it).
const TOTAL_RECHECK: Duration = Duration::from_millis(50);

/// The steps in which a connection counts what it owes in the process-wide total.
const STEP: usize = 16 * 1024;

/// What one connection owes its peer, and its limits.
pub(crate) struct OutputBudget {
    owed: AtomicUsize,
    /// This connection's share of [`OWED_TOTAL`]: a multiple of [`STEP`] near `owed`.
    counted: AtomicUsize,
    limit: usize,
    total_limit: usize,
    drained: Notify,
}

impl OutputBudget {
    /// A budget of `limit` bytes for this connection, `total_limit` for the process.
    pub(crate) fn new(limit: usize, total_limit: usize) -> Self {
        OutputBudget {
            owed: AtomicUsize::new(0),
            counted: AtomicUsize::new(0),
            limit: limit.max(1),
            total_limit: total_limit.max(1),
            drained: Notify::new(),
        }
    }

    /// `n` more bytes are queued for the peer.
    pub(crate) fn charge(&self, n: usize) {
        let owed = self.owed.fetch_add(n, Ordering::Relaxed) + n;
        if owed >= self.counted.load(Ordering::Relaxed) + STEP {
            self.settle();
        }
    }

    /// Moves this connection's share of the process-wide total to what it owes now, in whole
    /// steps. Each change of the share moves the total by exactly as much, so the total is
    /// always the sum of the shares; a charge or payment racing with it settles again.
    fn settle(&self) {
        loop {
            let owed = self.owed.load(Ordering::Relaxed);
            let counted = self.counted.load(Ordering::Relaxed);
            if owed < counted + STEP && owed + STEP / 2 >= counted {
                return;
            }
            let share = owed / STEP * STEP;
            if self
                .counted
                .compare_exchange(counted, share, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
            {
                continue;
            }
            if share > counted {
                OWED_TOTAL.fetch_add(share - counted, Ordering::Relaxed);
            } else {
                let less = counted - share;
                let before = OWED_TOTAL.fetch_sub(less, Ordering::Relaxed);
                if before >= self.total_limit && before - less < self.total_limit {
                    TOTAL_DRAINED.notify_waiters();
                }
            }
        }
    }

    /// `n` bytes went to the socket: wakes whoever waits for this connection or the process
    /// to come back under budget.
    pub(crate) fn paid(&self, n: usize) {
        if n == 0 {
            return;
        }
        let before = self.owed.fetch_sub(n, Ordering::Relaxed);
        if before >= self.limit && before - n < self.limit {
            self.drained.notify_waiters();
        }
        if before - n + STEP / 2 < self.counted.load(Ordering::Relaxed) {
            self.settle();
        }
    }

    /// Bytes owed now.
    pub(crate) fn owed(&self) -> usize {
        self.owed.load(Ordering::Relaxed)
    }

    /// Whether this connection, or the process, owes more than it may.
    pub(crate) fn over(&self) -> bool {
        self.owed() >= self.limit || OWED_TOTAL.load(Ordering::Relaxed) >= self.total_limit
    }

    /// Waits until neither this connection nor the process is over budget, or `closing`.
    pub(crate) async fn admit(&self, closing: &CancellationToken) {
        while self.over() && !closing.is_cancelled() {
            let mine = self.drained.notified();
            let total = TOTAL_DRAINED.notified();
            tokio::pin!(mine, total);
            mine.as_mut().enable();
            total.as_mut().enable();
            if !self.over() {
                return;
            }
            tokio::select! {
                _ = mine => {}
                _ = total => {}
                _ = closing.cancelled() => return,
                _ = tokio::time::sleep(TOTAL_RECHECK), if self.owed() < self.limit => {}
            }
        }
    }
}

impl Drop for OutputBudget {
    /// What a closed connection still owed is no longer the process's.
    fn drop(&mut self) {
        OWED_TOTAL.fetch_sub(*self.counted.get_mut(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_connection_over_its_budget_waits_until_it_is_paid_down() {
        let b = Arc::new(OutputBudget::new(100, usize::MAX));
        let closing = CancellationToken::new();
        b.charge(150);
        assert!(b.over());
        let waiter = {
            let (b, closing) = (b.clone(), closing.clone());
            tokio::spawn(async move { b.admit(&closing).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "over budget: no admission");
        b.paid(40);
        assert!(b.over(), "110 owed is still over 100");
        b.paid(20);
        waiter.await.unwrap();
        assert_eq!(b.owed(), 90);
        b.paid(90);
    }

    #[test]
    fn the_process_total_moves_in_steps_not_per_frame() {
        let b = OutputBudget::new(usize::MAX, usize::MAX);
        let share = |b: &OutputBudget| b.counted.load(Ordering::Relaxed);
        // Small frames in and out: the shared total is never touched.
        for _ in 0..1000 {
            b.charge(60);
            b.paid(60);
        }
        assert_eq!(share(&b), 0);
        b.charge(3 * STEP + 5);
        assert_eq!(share(&b), 3 * STEP);
        // Half a step of slack before giving a step back.
        b.paid(STEP / 4);
        assert_eq!(share(&b), 3 * STEP);
        b.paid(3 * STEP + 5 - STEP / 4);
        assert_eq!((b.owed(), share(&b)), (0, 0));
    }

    #[tokio::test]
    async fn closing_ends_the_wait() {
        let b = OutputBudget::new(10, usize::MAX);
        b.charge(10);
        let closing = CancellationToken::new();
        closing.cancel();
        b.admit(&closing).await;
        b.paid(10);
    }
}
