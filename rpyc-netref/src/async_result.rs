//! [`AsyncResult`]: the handle of a request whose reply has not arrived yet (RPyC's `async_`).
//!
//! ```
//! # tokio_test_block(async {
//! use std::time::Duration;
//! let (client, _server) = rpyc::connect_pair_with(rpyc::testing::EchoService, Default::default()).await;
//! let root = client.root().await.unwrap();
//! let res = root.async_call_method("echo", (7,));
//! res.add_callback(|r| assert!(r.ready()));
//! res.wait_timeout(Duration::from_secs(5)).await.unwrap();
//! assert!(res.ready() && !res.error() && !res.expired());
//! assert_eq!(res.value().await.unwrap(), rpyc::Value::Int(7));
//! # });
//! # fn tokio_test_block<F: std::future::Future>(f: F) { tokio::runtime::Runtime::new().unwrap().block_on(f); }
//! ```

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rpyc_core::Value;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::error::{Error, Result};

type Callback = Box<dyn FnOnce(&AsyncResult) + Send>;

#[derive(Default)]
struct State {
    result: Option<Result<Value>>,
    expiry: Option<Instant>,
    callbacks: Vec<Callback>,
}

pub(crate) struct Slot {
    state: Mutex<State>,
    notify: Notify,
}

/// The pending result of a request sent without waiting.
///
/// It is ready when the reply (or an exception) arrives. Waiting never blocks the
/// connection: replies and incoming requests are served by the connection's reader task.
/// Await it directly (`res.await`) to get the value.
#[derive(Clone)]
pub struct AsyncResult {
    slot: Arc<Slot>,
}

impl std::fmt::Debug for AsyncResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncResult")
            .field("ready", &self.ready())
            .field("expired", &self.expired())
            .finish()
    }
}

impl AsyncResult {
    pub(crate) fn new() -> AsyncResult {
        AsyncResult {
            slot: Arc::new(Slot {
                state: Mutex::new(State::default()),
                notify: Notify::new(),
            }),
        }
    }

    /// A result that is already complete (used when a request could not even be sent).
    pub(crate) fn completed(r: Result<Value>) -> AsyncResult {
        let a = AsyncResult::new();
        a.slot.state.lock().result = Some(r);
        a
    }

    /// Delivers the reply. Ignored when the result has expired (a late reply is dropped).
    pub(crate) fn complete(&self, r: Result<Value>) {
        let callbacks = {
            let mut st = self.slot.state.lock();
            if st.result.is_some() || st.expiry.is_some_and(|e| Instant::now() >= e) {
                return;
            }
            st.result = Some(r);
            std::mem::take(&mut st.callbacks)
        };
        // Callbacks first: a waiter that wakes up sees them done, as in RPyC.
        for cb in callbacks {
            cb(self);
        }
        self.slot.notify.notify_waiters();
    }

    /// Fire-and-forget: gives up this handle of a call whose result is not wanted. The request
    /// is already sent; its reply, when it comes, is still consumed, and the references it
    /// carries are released at once (HANDLE_DEL), so nothing is left behind on either side.
    /// (Dropping the handle does the same; this says so in the caller's code.) Typed calls are
    /// detached with `tokio::spawn(async move { client.method(..).await })`.
    pub fn detach(self) {}

    /// True once the reply (or an error) has arrived.
    pub fn ready(&self) -> bool {
        self.slot.state.lock().result.is_some()
    }

    /// True if ready and the request failed.
    pub fn error(&self) -> bool {
        matches!(self.slot.state.lock().result, Some(Err(_)))
    }

    /// True if not ready and the expiry set with [`AsyncResult::set_expiry`] has passed.
    pub fn expired(&self) -> bool {
        let st = self.slot.state.lock();
        st.result.is_none() && st.expiry.is_some_and(|e| Instant::now() >= e)
    }

    /// Sets the expiry to `timeout` from now (`None`: never expires). A reply arriving after the
    /// expiry is ignored.
    pub fn set_expiry(&self, timeout: Option<Duration>) {
        self.slot.state.lock().expiry = timeout.map(|t| Instant::now() + t);
        self.slot.notify.notify_waiters();
    }

    /// Calls `f` when the reply arrives (on the connection's reader task: keep it short), or
    /// right away if it already has.
    pub fn add_callback(&self, f: impl FnOnce(&AsyncResult) + Send + 'static) {
        {
            let mut st = self.slot.state.lock();
            if st.result.is_none() {
                st.callbacks.push(Box::new(f));
                return;
            }
        }
        f(self);
    }

    /// Waits until ready; fails with [`Error::Expired`] if the expiry passes first.
    pub async fn wait(&self) -> Result<()> {
        loop {
            let notified = self.slot.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let expiry = {
                let st = self.slot.state.lock();
                if st.result.is_some() {
                    return Ok(());
                }
                st.expiry
            };
            match expiry {
                Some(e) if Instant::now() >= e => return Err(Error::Expired),
                Some(e) => {
                    tokio::select! {
                        _ = notified => {}
                        _ = tokio::time::sleep_until(e) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Waits at most `timeout`; fails with [`Error::Timeout`] if the reply has not arrived by
    /// then (the result stays pending and may still become ready).
    pub async fn wait_timeout(&self, timeout: Duration) -> Result<()> {
        match tokio::time::timeout(timeout, self.wait()).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout(timeout)),
        }
    }

    /// Waits, then returns the value or the error (a remote exception is [`Error::Remote`]).
    pub async fn value(&self) -> Result<Value> {
        self.wait().await?;
        self.try_value().unwrap_or(Err(Error::Expired))
    }

    /// The outcome if ready, without waiting.
    pub fn try_value(&self) -> Option<Result<Value>> {
        self.slot.state.lock().result.clone()
    }

    /// Takes the outcome out (the value is not cloned); later calls see `Expired`.
    pub(crate) fn take(&self) -> Option<Result<Value>> {
        self.slot.state.lock().result.take()
    }
}

impl IntoFuture for AsyncResult {
    type Output = Result<Value>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Value>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            self.wait().await?;
            self.take().unwrap_or(Err(Error::Expired))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lifecycle() {
        let r = AsyncResult::new();
        assert!(!r.ready() && !r.error() && !r.expired());
        let seen = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s2 = seen.clone();
        r.add_callback(move |a| s2.store(a.ready(), std::sync::atomic::Ordering::SeqCst));
        let r2 = r.clone();
        tokio::spawn(async move { r2.complete(Ok(Value::Int(1))) });
        assert_eq!(r.value().await.unwrap(), Value::Int(1));
        assert!(seen.load(std::sync::atomic::Ordering::SeqCst));
        // Callbacks added after completion run at once.
        let again = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let a2 = again.clone();
        r.add_callback(move |_| a2.store(true, std::sync::atomic::Ordering::SeqCst));
        assert!(again.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[tokio::test]
    async fn expiry_drops_late_replies() {
        let r = AsyncResult::new();
        r.set_expiry(Some(Duration::from_millis(20)));
        assert!(matches!(r.wait().await, Err(Error::Expired)));
        assert!(r.expired());
        r.complete(Ok(Value::None));
        assert!(!r.ready());
        let e = AsyncResult::new();
        e.complete(Err(Error::Expired));
        assert!(e.error());
        assert!(matches!(
            AsyncResult::new()
                .wait_timeout(Duration::from_millis(10))
                .await,
            Err(Error::Timeout(_))
        ));
    }
}
