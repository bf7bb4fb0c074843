//! Where synchronous methods run: [`run_blocking`], and the per-connection limit of
//! synchronous calls.
//!
//! RPyC users write blocking methods by habit (Python's `ThreadedServer` gives each connection
//! a thread): a `std::thread::sleep`, a blocking file read, a mutex wait. Run on a runtime
//! worker, such a method would stall every other request and connection served by that
//! worker. So a synchronous method runs where blocking is allowed, under these rules:
//!
//! * **At most [`Config::max_sync_calls`] (default 8) synchronous calls of one connection run
//!   at once.** The connection's further synchronous calls wait in arrival order (the order
//!   the reader received them: the reader reserves each request's place before handing it to
//!   its task, so tasks that run out of order never let a later call overtake an earlier one)
//!   and start as soon as one finishes — on the thread that finished, so a queue drains
//!   without a new hop. Other connections are not affected: each has its own slots, and only
//!   the runtime's blocking-thread limit (tokio's `max_blocking_threads`, 512 by default)
//!   bounds them all; beyond it, calls wait in the pool's queue, in arrival order.
//! * **Where:** a call that gets a slot at once runs right away on the runtime worker that
//!   received it, through tokio's `block_in_place` (the worker's other tasks move to another
//!   thread, so nothing waits for it); a call that waited for a slot, or any call on a
//!   current-thread runtime, runs on the blocking-thread pool (`spawn_blocking`).
//! * **A call waiting for its own call into the peer holds no slot.** A synchronous method
//!   that calls the peer through the blocking API ([`crate::blocking::NetRef`],
//!   [`crate::blocking::Connection`]) gives its slot to the next waiting call while it waits
//!   for the reply, and takes a slot back (before any call that arrived after it) once the
//!   reply is there. So callbacks nested to any depth never deadlock, whatever the limit.
//! * Async methods, and synchronous ones declared cheap (`#[exposed(inline)]`,
//!   [`crate::dispatcher::Dispatcher::inline_function`], [`crate::Callback::sync`]), run on the
//!   runtime as before: no hop, but a blocking body stalls its worker. The closures of
//!   `Callback::sync` are meant to be cheap (a client's callbacks: `lambda x: x * 2`), so they
//!   stay on the runtime; [`crate::Callback::blocking`] is the one for a closure that blocks.
//!
//! What it costs: running in place saves the two wake-ups of a hop to a blocking thread and
//! back (one for the blocking thread, one for the task that sends the reply). On the
//! project's 2-vCPU VM, one call through an unmarked synchronous method (the benchmark's
//! scenario (1s)) took 1.25× the raw TCP round trip against 1.17× for an inline method in the
//! same run, about 10 µs more; with a `spawn_blocking` hop and back it was 1.36× against
//! 1.17×, about 25 µs.
//!
//! [`Config::max_sync_calls`]: rpyc_core::Config::max_sync_calls

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::Arc;

use parking_lot::Mutex;
use rpyc_core::RemoteException;
use tokio::runtime::{Handle, RuntimeFlavor};

use crate::connection::panic_exception;
use crate::object::{BoxFuture, CallContext, CallResult};

/// Runs the synchronous call `f` on the runtime's blocking-thread pool, under the limit of
/// synchronous calls of `ctx`'s connection (see the [module docs](self)); the future of its
/// result.
///
/// This is what the `#[rpyc::object]` / `#[rpyc::service]` macros generate for a synchronous
/// method, and what [`crate::Callback::blocking`] and [`crate::dispatcher::Dispatcher::function`]
/// do. Use it in a hand-written [`crate::LocalObject`] whose method may block. `f` gets the
/// context back; a panic in it becomes a `RuntimeError` for the caller. Inside `f`, call the
/// peer through the blocking API ([`crate::blocking::NetRef`]): the call then holds no slot
/// while it waits for the peer's reply.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::sync::Arc;
/// use rpyc::{run_blocking, Args, BoxFuture, CallContext, CallResult, Member, LocalObject};
/// use rpyc::Value;
///
/// struct Disk;
/// impl LocalObject for Disk {
///     fn type_name(&self) -> &str { "demo.Disk" }
///     fn member_names(&self) -> Vec<String> { vec!["exposed_size".into()] }
///     fn get_member(&self, name: &str) -> Option<Member> {
///         (name == "exposed_size").then_some(Member::Method)
///     }
///     fn call_method(self: Arc<Self>, _name: &str, ctx: CallContext, mut args: Args)
///         -> BoxFuture<CallResult> {
///         let path = args.take::<String>(0, "path");
///         run_blocking(ctx, move |_ctx| {
///             // A blocking read is fine here: this runs on a blocking thread.
///             let len = std::fs::metadata(path?).map(|m| m.len() as i64).unwrap_or(-1);
///             Ok(Value::Int(len))
///         })
///     }
/// }
/// impl rpyc::Service for Disk {}
///
/// let (client, _server) = rpyc::connect_pair_with(Disk, Default::default()).await;
/// let root = client.root().await.unwrap();
/// assert_eq!(root.call_method("size", ("/nonexistent",)).await.unwrap(), Value::Int(-1));
/// # });
/// ```
pub fn run_blocking<F>(ctx: CallContext, f: F) -> BoxFuture<CallResult>
where
    F: FnOnce(CallContext) -> CallResult + Send + 'static,
{
    if TRYING_IN_PLACE.with(Cell::get) {
        // The reader is trying the handler in place: a synchronous call must not run there
        // (it would stall the connection), so it is put off until the request's own task
        // polls it, under the place the reader reserves for it then.
        let mut put_off = Some((ctx, f));
        let mut started: Option<BoxFuture<CallResult>> = None;
        return Box::pin(std::future::poll_fn(move |cx| {
            if let Some(fut) = &mut started {
                return fut.as_mut().poll(cx);
            }
            if TRYING_IN_PLACE.with(Cell::get) {
                // No waker needed: the reader hands the request to its task, which polls again.
                return std::task::Poll::Pending;
            }
            let Some((ctx, f)) = put_off.take() else {
                return std::task::Poll::Pending;
            };
            started.insert(submit_blocking(ctx, f)).as_mut().poll(cx)
        }));
    }
    submit_blocking(ctx, f)
}

/// Runs `f` on the runtime before the rest of a request's handler when it cannot wait (the
/// reader's attempt to answer a cheap request in place): a synchronous call submitted meanwhile
/// is put off until the request runs on its own task (see [`run_blocking`]).
pub(crate) fn trying_in_place<R>(f: impl FnOnce() -> R) -> R {
    /// Clears the mark, even on a panic.
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            TRYING_IN_PLACE.with(|t| t.set(false));
        }
    }
    TRYING_IN_PLACE.with(|t| t.set(true));
    let _clear = Clear;
    f()
}

/// [`run_blocking`] on the request's own task: the call is submitted to the connection's
/// slots now.
fn submit_blocking<F>(ctx: CallContext, f: F) -> BoxFuture<CallResult>
where
    F: FnOnce(CallContext) -> CallResult + Send + 'static,
{
    let calls = ctx.conn().sync_calls().clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    calls.submit(Box::new(move || {
        if tx.is_closed() {
            return; // The caller is gone: nothing to run for.
        }
        // Admission: while the peer is owed more than the output budget, the call does not
        // start (it keeps its slot, so the connection's further calls wait too).
        ctx.conn().wait_admitted_blocking();
        let r = std::panic::catch_unwind(AssertUnwindSafe(|| f(ctx)))
            .unwrap_or_else(|p| Err(panic_exception(p.as_ref())));
        let _ = tx.send(r);
    }));
    Box::pin(async move {
        rx.await.unwrap_or_else(|_| {
            Err(RemoteException::eof_error(
                "the connection closed before the call could start",
            ))
        })
    })
}

/// A synchronous call, ready to run on a blocking thread.
struct Job {
    /// Its place in the connection's queue (its request's arrival number).
    key: u64,
    run: Box<dyn FnOnce() + Send>,
}

/// A place in a connection's queue of requests.
enum Entry {
    /// A request handed to its task, which has not yet said whether it is a synchronous call:
    /// nothing that arrived after it may take a slot before it does.
    Reserved,
    /// A synchronous call waiting for a slot.
    Start(Job),
    /// A request that turned out not to be a synchronous call (or whose call was dropped): a
    /// place nothing waits for, removed once it reaches the front.
    Gone,
}

/// What [`SyncCalls::admit`] let through, acted on outside the lock.
enum Admitted {
    Start(Job),
    Wake(mpsc::SyncSender<()>),
}

#[derive(Default)]
struct State {
    /// Slots held: calls running (not waiting for the peer).
    running: usize,
    /// The connection closed: calls not started are dropped.
    closed: bool,
    /// The arrival number of `queue`'s first place.
    base: u64,
    /// Requests in arrival order from `base` on: reserved places and calls waiting for a
    /// slot. Arrival numbers are consecutive, so a place is found by its offset from `base`
    /// (no search and, in the steady state, no allocation: reserving and giving up a place is
    /// what every request of the connection does, synchronous or not).
    queue: VecDeque<Entry>,
    /// Calls back from their call into the peer, waiting for a slot again, by arrival number.
    /// Each had started, so it arrived before every request still in `queue`: it goes first.
    resumes: BTreeMap<u64, mpsc::SyncSender<()>>,
}

impl State {
    /// The place of arrival number `key`, if it is still in the queue.
    fn place(&mut self, key: u64) -> Option<&mut Entry> {
        let offset = usize::try_from(key.checked_sub(self.base)?).ok()?;
        self.queue.get_mut(offset)
    }

    /// The next arrival number, its place pushed at the back of the queue as `entry`.
    fn push(&mut self, entry: Entry) -> u64 {
        self.queue.push_back(entry);
        self.base + self.queue.len() as u64 - 1
    }
}

/// The synchronous calls of one connection: its slots and its queue.
pub(crate) struct SyncCalls {
    limit: usize,
    /// The runtime the connection runs on (its blocking pool runs the calls).
    handle: Handle,
    state: Mutex<State>,
}

/// The slot the current thread's synchronous call holds.
struct Held {
    calls: Arc<SyncCalls>,
    key: u64,
}

thread_local! {
    /// Set while this thread runs a synchronous call (see [`wait_for_peer`]).
    static CURRENT: RefCell<Option<Held>> = const { RefCell::new(None) };
    /// Set while a request's task starts its handler: the connection (by address) and the
    /// request's reserved place, which a synchronous call submitted meanwhile takes.
    static STARTING: Cell<Option<(usize, u64)>> = const { Cell::new(None) };
    /// Set while the reader tries a request's handler in place (`trying_in_place`).
    static TRYING_IN_PLACE: Cell<bool> = const { Cell::new(false) };
}

/// Clears [`STARTING`] and gives up the reservation when a handler has started (or panicked).
struct Starting<'a> {
    calls: &'a Arc<SyncCalls>,
    key: u64,
}

impl Drop for Starting<'_> {
    fn drop(&mut self) {
        STARTING.with(|s| s.set(None));
        self.calls.resolve(self.key);
    }
}

impl SyncCalls {
    /// The calls of a connection running on the current runtime, at most `limit` at once.
    pub(crate) fn new(limit: usize) -> Arc<SyncCalls> {
        Arc::new(SyncCalls {
            limit: limit.max(1),
            handle: Handle::current(),
            state: Mutex::new(State::default()),
        })
    }

    /// Reserves the next place in the queue for a request about to be handed to its task
    /// (called by the reader, in arrival order); the task passes it to [`SyncCalls::starting`].
    pub(crate) fn reserve(&self) -> u64 {
        self.state.lock().push(Entry::Reserved)
    }

    /// Starts the handler of the request that reserved `key` (`start` returns its future): a
    /// synchronous call it submits takes that place; if it submits none, the place is given
    /// up when `start` returns.
    pub(crate) fn starting<R>(self: &Arc<Self>, key: u64, start: impl FnOnce() -> R) -> R {
        let _starting = Starting { calls: self, key };
        STARTING.with(|s| s.set(Some((Arc::as_ptr(self) as usize, key))));
        start()
    }

    /// Gives up the reservation `key` if no synchronous call took it.
    fn resolve(self: &Arc<Self>, key: u64) {
        let mut admitted = Vec::new();
        {
            let mut st = self.state.lock();
            match st.place(key) {
                Some(place @ Entry::Reserved) => *place = Entry::Gone,
                _ => return,
            }
            self.admit(&mut st, &mut admitted);
        }
        self.act(admitted, false);
    }

    /// Forgets the calls that have not started (the connection closed): their callers see an
    /// `EOFError`, which goes nowhere. Calls running or back from the peer finish.
    pub(crate) fn close(&self) {
        let dropped: Vec<Entry> = {
            let mut st = self.state.lock();
            st.closed = true;
            st.queue
                .iter_mut()
                .filter(|e| matches!(e, Entry::Start(_)))
                .map(|e| std::mem::replace(e, Entry::Gone))
                .collect()
        };
        drop(dropped); // Outside the lock: dropping a job drops what it captured.
    }

    fn submit(self: &Arc<Self>, run: Box<dyn FnOnce() + Send>) {
        let me = Arc::as_ptr(self) as usize;
        let reserved = STARTING.with(|s| match s.get() {
            Some((calls, key)) if calls == me => {
                s.set(None);
                Some(key)
            }
            _ => None,
        });
        let mut admitted = Vec::new();
        {
            let mut st = self.state.lock();
            if st.closed {
                drop(st);
                return drop(run);
            }
            let key = match reserved {
                Some(key) if matches!(st.place(key), Some(Entry::Reserved)) => key,
                _ => st.push(Entry::Gone),
            };
            if let Some(place) = st.place(key) {
                *place = Entry::Start(Job { key, run });
            }
            self.admit(&mut st, &mut admitted);
        }
        // Admitted at once on a worker of a multi-threaded runtime: run it right here, the
        // worker's other tasks handed to another thread (`block_in_place`), so the call and
        // its reply cost no wake-up of another thread.
        let own = admitted.iter().position(|a| match a {
            Admitted::Start(job) => reserved == Some(job.key),
            Admitted::Wake(_) => false,
        });
        match own {
            Some(i) if in_place_allowed() => {
                let Admitted::Start(job) = admitted.swap_remove(i) else {
                    unreachable!("found above")
                };
                self.act(admitted, false);
                tokio::task::block_in_place(|| self.run_held(job));
                self.release(false);
            }
            _ => {
                self.act(admitted, false);
            }
        }
    }

    /// Runs `job` on this thread, which holds its slot.
    fn run_held(self: &Arc<Self>, job: Job) {
        CURRENT.with(|c| {
            *c.borrow_mut() = Some(Held {
                calls: self.clone(),
                key: job.key,
            })
        });
        (job.run)();
        CURRENT.with(|c| c.borrow_mut().take());
    }

    /// Lets waiting calls take the free slots, in arrival order (calls back from the peer
    /// first), up to the first request whose task has not said yet whether it is a
    /// synchronous call; drops the places nothing waits for from the front.
    fn admit(&self, st: &mut State, out: &mut Vec<Admitted>) {
        while st.running < self.limit {
            let Some((_, wake)) = st.resumes.pop_first() else {
                break;
            };
            st.running += 1;
            out.push(Admitted::Wake(wake));
        }
        loop {
            match st.queue.front() {
                Some(Entry::Gone) => {}
                Some(Entry::Start(_)) if st.running < self.limit => {}
                _ => break,
            }
            if let Some(Entry::Start(job)) = st.queue.pop_front() {
                st.running += 1;
                out.push(Admitted::Start(job));
            }
            st.base += 1;
        }
    }

    /// Acts on what `admit` let through: wakes the calls back from the peer and starts the new
    /// ones on blocking threads — except the first when `keep_one`, returned for the caller's
    /// own thread to run.
    fn act(self: &Arc<Self>, admitted: Vec<Admitted>, mut keep_one: bool) -> Option<Job> {
        let mut kept = None;
        for a in admitted {
            match a {
                Admitted::Wake(wake) => {
                    let _ = wake.send(());
                }
                Admitted::Start(job) if keep_one => {
                    keep_one = false;
                    kept = Some(job);
                }
                Admitted::Start(job) => {
                    let calls = self.clone();
                    self.handle.spawn_blocking(move || calls.work(job));
                }
            }
        }
        kept
    }

    /// Runs `job` (which holds a slot), then every queued call this thread's slot passes to.
    fn work(self: Arc<Self>, mut job: Job) {
        loop {
            self.run_held(job);
            match self.release(true) {
                Some(next) => job = next,
                None => return,
            }
        }
    }

    /// Gives up a slot, to the first waiting call if there is one. With `keep_one`, a call to
    /// start that takes it is returned, for this thread to run.
    fn release(self: &Arc<Self>, keep_one: bool) -> Option<Job> {
        let mut admitted = Vec::new();
        {
            let mut st = self.state.lock();
            st.running -= 1;
            self.admit(&mut st, &mut admitted);
        }
        self.act(admitted, keep_one)
    }

    /// Takes a slot again for the call `key`, back from the peer, blocking this thread until
    /// it has one; it goes before every call that arrived after it.
    fn reacquire(self: &Arc<Self>, key: u64) {
        let (wake, woken) = mpsc::sync_channel(1);
        let mut admitted = Vec::new();
        {
            let mut st = self.state.lock();
            st.resumes.insert(key, wake);
            self.admit(&mut st, &mut admitted);
        }
        self.act(admitted, false);
        let _ = woken.recv();
    }
}

/// True when a synchronous call may run on this thread through `block_in_place`: a worker
/// (or `block_on` thread) of a multi-threaded runtime that runs no synchronous call already.
fn in_place_allowed() -> bool {
    Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread)
        && CURRENT.with(|c| c.borrow().is_none())
}

/// Runs `fut` to completion if this thread runs a synchronous call, giving the call's slot
/// to the next waiting call meanwhile; `Err(fut)` on any other thread.
///
/// This is how the blocking API waits for the peer from inside a synchronous method: the
/// future runs on the connection's runtime (this thread only waits), and the slot is free
/// for other calls — the peer's callbacks into us among them — until the reply is there.
pub(crate) fn wait_for_peer<F: Future>(fut: F) -> Result<F::Output, F> {
    let Some(held) = CURRENT.with(|c| c.borrow_mut().take()) else {
        return Err(fut);
    };
    held.calls.release(false);
    let out = std::panic::catch_unwind(AssertUnwindSafe(|| held.calls.handle.block_on(fut)));
    held.calls.reacquire(held.key);
    CURRENT.with(|c| *c.borrow_mut() = Some(held));
    match out {
        Ok(v) => Ok(v),
        Err(p) => std::panic::resume_unwind(p),
    }
}
