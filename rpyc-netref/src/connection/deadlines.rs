//! Request timeouts: one timer per connection, not one per call.
//!
//! A tokio timer per request costs a timer-wheel insert and removal on every call and, whenever
//! the runtime's driver is parked with no earlier timer, a wake-up of the driver (an `eventfd`
//! write). Here a call only records its deadline; one sweeper task per connection sleeps until
//! the earliest deadline it knows of. With the usual single timeout (30 s), each new deadline
//! lies after the one the sweeper already sleeps until, so arming a call touches no timer and
//! wakes nobody: the sweeper wakes at most once per timeout period, finds the calls that were
//! answered gone, and expires the rest.

use std::collections::BTreeMap;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A call's entry: its deadline, then its sequence number (unique).
type Key = (Instant, i64);

#[derive(Default)]
struct State {
    /// Armed calls, earliest deadline first, with the timeout to report.
    due: BTreeMap<Key, Duration>,
    /// When the sweeper wakes next (`None`: it waits to be told).
    wakes_at: Option<Instant>,
}

/// The deadlines of one connection's calls.
#[derive(Default)]
pub(crate) struct Deadlines {
    state: Mutex<State>,
    wake: Notify,
}

/// An armed deadline; disarmed when dropped (the call was answered, or given up).
pub(crate) struct Armed<'a> {
    deadlines: &'a Deadlines,
    key: Key,
}

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        self.deadlines.state.lock().due.remove(&self.key);
    }
}

impl Deadlines {
    /// Arms call `seq` to expire after `timeout` (`None` if that lies beyond the clock's
    /// range: it never expires).
    pub(crate) fn arm(&self, seq: i64, timeout: Duration) -> Option<Armed<'_>> {
        let key = (Instant::now().checked_add(timeout)?, seq);
        let wake = {
            let mut st = self.state.lock();
            st.due.insert(key, timeout);
            // Only a deadline earlier than the sweeper's next wake needs it to reset its timer.
            let wake = st.wakes_at.is_none_or(|at| key.0 < at);
            if wake {
                st.wakes_at = Some(key.0);
            }
            wake
        };
        if wake {
            self.wake.notify_one();
        }
        Some(Armed {
            deadlines: self,
            key,
        })
    }

    /// The sweeper: calls `expire(seq, timeout)` for each call whose deadline passed, until
    /// `closing` is cancelled.
    pub(crate) async fn run(&self, closing: &CancellationToken, expire: impl Fn(i64, Duration)) {
        loop {
            let (expired, next) = {
                let mut st = self.state.lock();
                let now = Instant::now();
                let mut expired = Vec::new();
                while let Some(entry) = st.due.first_entry() {
                    if entry.key().0 > now {
                        break;
                    }
                    let ((_, seq), timeout) = entry.remove_entry();
                    expired.push((seq, timeout));
                }
                let next = st.due.first_key_value().map(|((at, _), _)| *at);
                st.wakes_at = next;
                (expired, next)
            };
            for (seq, timeout) in expired {
                expire(seq, timeout);
            }
            let sleep = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = sleep => {}
                _ = self.wake.notified() => {}
                _ = closing.cancelled() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn expires_only_what_is_still_armed() {
        let d = Arc::new(Deadlines::default());
        let closing = CancellationToken::new();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let sweeper = {
            let (d, closing) = (d.clone(), closing.clone());
            tokio::spawn(async move { d.run(&closing, |seq, t| tx.send((seq, t)).unwrap()).await })
        };
        let answered = d.arm(1, Duration::from_millis(20));
        let slow = d.arm(2, Duration::from_millis(40));
        assert!(
            d.arm(5, Duration::MAX).is_none(),
            "beyond the clock: never expires"
        );
        drop(answered);
        let got = rx.recv().await.unwrap();
        assert_eq!(got, (2, Duration::from_millis(40)));
        drop(slow);
        // An earlier deadline armed while the sweeper sleeps until a later one still fires.
        let _late = d.arm(3, Duration::from_secs(3600));
        let _soon = d.arm(4, Duration::from_millis(10));
        assert_eq!(rx.recv().await.unwrap().0, 4);
        closing.cancel();
        sweeper.await.unwrap();
    }
}
