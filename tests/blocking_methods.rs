//! Synchronous methods that block: they run on the blocking-thread pool, so other requests
//! and connections are still served; at most `max_sync_calls` of one connection run at once
//! and the rest start in arrival order; a call waiting on its own callback into the peer holds
//! no slot, so nested callbacks through synchronous methods never deadlock.
//!
//! No assertion here is about time: blockers wait on gates that the test opens only after
//! it has seen what it checks (another call answered, the right call started).

#[macro_use]
mod common;

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use common::{connect, connect_full, wait_until, within, Transport};
use rpyc::{blocking, CallContext, Config, NetRef, RemoteException, Value};

/// Gates the blockers wait on, and what the test observes of them.
#[derive(Default)]
struct Gates {
    state: Mutex<GateState>,
    changed: Condvar,
}

#[derive(Default)]
struct GateState {
    /// Every gate is open.
    all_open: bool,
    /// Gates opened one by one (by the caller's key).
    opened: HashSet<i64>,
    /// Keys of the calls that started, in the order they started.
    started: Vec<i64>,
    /// Calls that returned.
    finished: usize,
}

impl Gates {
    /// Blocks this thread (a plain `Condvar` wait) until gate `key` opens.
    fn pass(&self, key: i64) {
        let mut st = self.state.lock().unwrap();
        st.started.push(key);
        self.changed.notify_all();
        while !st.all_open && !st.opened.contains(&key) {
            st = self.changed.wait(st).unwrap();
        }
        st.finished += 1;
    }

    fn open(&self, key: i64) {
        self.state.lock().unwrap().opened.insert(key);
        self.changed.notify_all();
    }

    fn open_all(&self) {
        self.state.lock().unwrap().all_open = true;
        self.changed.notify_all();
    }

    fn started(&self) -> Vec<i64> {
        self.state.lock().unwrap().started.clone()
    }

    fn finished(&self) -> usize {
        self.state.lock().unwrap().finished
    }
}

/// Opens every gate when dropped: a failing test never leaves a blocker (and so the
/// runtime's shutdown) hanging.
struct OpenOnDrop(Arc<Gates>);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open_all();
    }
}

struct GateService {
    gates: Arc<Gates>,
}

#[rpyc::service]
impl GateService {
    /// Blocks its thread until gate `key` opens; returns `key`.
    #[exposed]
    fn wait(&self, key: i64) -> i64 {
        self.gates.pass(key);
        key
    }

    /// Cheap: on the runtime.
    #[exposed(inline)]
    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    /// Synchronous, not marked inline: on the blocking pool, like `wait`.
    #[exposed]
    fn echo(&self, x: Value) -> Value {
        x
    }
}

/// With more blocked calls than the runtime has workers (2), and more than 8 on one
/// connection, a call of another client is answered while every blocker is still blocked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_calls_do_not_stall_other_clients() -> rpyc::Result<()> {
    let gates = Arc::new(Gates::default());
    let _open = OpenOnDrop(gates.clone());
    let g = gates.clone();
    let server = rpyc::Server::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0")
        .grace_period(Duration::from_millis(100));
    let addr = server.local_addr().expect("a TCP address");
    let shutdown = server.shutdown_handle();
    let task = tokio::spawn(server.serve(move || GateService { gates: g.clone() }));

    // One connection with 10 blockers (8 run, 2 wait for a slot), two with 3 each.
    let mut pending = Vec::new();
    let mut conns = Vec::new();
    for (c, n) in [(0, 10), (1, 3), (2, 3)] {
        let conn = rpyc::connect(addr).await?;
        let root = conn.root().await?;
        for i in 0..n {
            pending.push(root.async_call_method("wait", (c * 100 + i,)));
        }
        conns.push(conn);
    }
    wait_until("8 + 3 + 3 blockers run", Duration::from_secs(30), || {
        gates.started().len() == 14
    })
    .await;

    let other = rpyc::connect(addr).await?;
    let root = other.root().await?;
    let answered = within(
        "add(1, 2) beside the blockers",
        Duration::from_secs(30),
        async { root.call_method("add", (1, 2)).await },
    )
    .await?;
    assert_eq!(answered, Value::Int(3));
    // A synchronous call of another connection has slots of its own.
    let echoed = within("echo beside the blockers", Duration::from_secs(30), async {
        root.call_method("echo", ("x",)).await
    })
    .await?;
    assert_eq!(echoed, Value::str("x"));
    // Answered while every blocker was still blocked.
    assert_eq!(gates.finished(), 0);
    assert_eq!(
        gates.started().len(),
        14,
        "the two queued calls have not started"
    );

    gates.open_all();
    let mut keys = Vec::new();
    for p in pending {
        keys.push(within("a blocker", Duration::from_secs(30), async { p.await }).await?);
    }
    assert_eq!(keys.len(), 16);
    assert_eq!(gates.finished(), 16);
    shutdown.shutdown();
    let _ = task.await;
    Ok(())
}

/// The reader answers a cheap call in place, but never runs a synchronous method there: while
/// one blocks, the same connection's next calls (cheap, and synchronous) are still answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_call_holds_back_no_other_call_of_its_connection() -> rpyc::Result<()> {
    let gates = Arc::new(Gates::default());
    let _open = OpenOnDrop(gates.clone());
    let g = gates.clone();
    let (client, _server) = connect(
        Transport::Tcp,
        move || GateService { gates: g.clone() },
        Config::default(),
    )
    .await;
    let root = client.root().await?;
    let blocked = root.async_call_method("wait", (7,));
    wait_until("the blocker runs", Duration::from_secs(30), || {
        gates.started() == [7]
    })
    .await;
    for i in 0..20i64 {
        let sum = within("add beside the blocker", Duration::from_secs(30), async {
            root.call_method("add", (i, 1)).await
        })
        .await?;
        assert_eq!(sum, Value::Int(i + 1));
    }
    let echoed = within("echo beside the blocker", Duration::from_secs(30), async {
        root.call_method("echo", ("x",)).await
    })
    .await?;
    assert_eq!(echoed, Value::str("x"));
    assert_eq!(gates.finished(), 0, "the blocker is still blocked");
    gates.open(7);
    let key = within("the blocker", Duration::from_secs(30), async {
        blocked.await
    })
    .await?;
    assert_eq!(key, Value::Int(7));
    Ok(())
}

/// The 9th synchronous call of a connection waits until one of the 8 running finishes, and
/// waiting calls start in the order they arrived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ninth_sync_call_waits_for_a_slot_in_order() -> rpyc::Result<()> {
    let gates = Arc::new(Gates::default());
    let _open = OpenOnDrop(gates.clone());
    let g = gates.clone();
    let (conn, _guard) = connect(
        Transport::Pair,
        move || GateService { gates: g.clone() },
        Config::default(),
    )
    .await;
    let root = conn.root().await?;
    let pending: Vec<_> = (0..11)
        .map(|i| root.async_call_method("wait", (i,)))
        .collect();
    wait_until("8 calls run", Duration::from_secs(30), || {
        gates.started().len() == 8
    })
    .await;
    let mut first: Vec<i64> = gates.started();
    first.sort();
    assert_eq!(
        first,
        (0..8).collect::<Vec<_>>(),
        "the first 8 to arrive run"
    );
    // The others wait even though the connection still answers.
    assert_eq!(
        root.call_method("add", (1, 2)).await?,
        Value::Int(3),
        "an inline call is not queued"
    );
    assert_eq!(gates.started().len(), 8);

    // Each call that finishes lets the next in arrival order start.
    for (done, next) in [(5, 8), (0, 9), (7, 10)] {
        gates.open(done);
        wait_until("the next call starts", Duration::from_secs(30), || {
            gates.started().len() == next as usize + 1
        })
        .await;
        assert_eq!(gates.started().last(), Some(&next));
    }
    gates.open_all();
    for (i, p) in pending.into_iter().enumerate() {
        let v = within("a call", Duration::from_secs(30), async { p.await }).await?;
        assert_eq!(v, Value::Int(i as i64));
    }
    Ok(())
}

/// `max_sync_calls` is a per-connection setting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_is_configurable() -> rpyc::Result<()> {
    let gates = Arc::new(Gates::default());
    let _open = OpenOnDrop(gates.clone());
    let g = gates.clone();
    let config = Config::builder().max_sync_calls(2).build();
    let (conn, _guard) = connect(
        Transport::Pair,
        move || GateService { gates: g.clone() },
        config,
    )
    .await;
    let root = conn.root().await?;
    let pending: Vec<_> = (0..4)
        .map(|i| root.async_call_method("wait", (i,)))
        .collect();
    wait_until("2 calls run", Duration::from_secs(30), || {
        gates.started().len() == 2
    })
    .await;
    // A round trip through the connection: the queued calls had every chance to start.
    assert_eq!(root.call_method("add", (1, 2)).await?, Value::Int(3));
    assert_eq!(gates.started().len(), 2);
    gates.open_all();
    for p in pending {
        within("a call", Duration::from_secs(30), async { p.await }).await?;
    }
    Ok(())
}

/// Both sides serve this: `bounce(depth)` calls the peer's `bounce(depth - 1)` from a
/// synchronous method, through the blocking API.
struct SyncBouncer {
    side: &'static str,
}

#[rpyc::service]
impl SyncBouncer {
    #[exposed]
    fn bounce(&self, ctx: &CallContext, depth: i64) -> Result<String, RemoteException> {
        let here = format!("{}@{depth}", self.side);
        if depth == 0 {
            return Ok(here);
        }
        let peer = blocking::Connection::from_async(ctx.conn().clone()).root()?;
        let rest: String = peer.call_method("bounce", (depth - 1,))?.extract()?;
        Ok(format!("{here} > {rest}"))
    }

    /// `f(x)`, the callback called through a blocking reference.
    #[exposed]
    fn apply(&self, f: blocking::NetRef, x: i64) -> Result<Value, RemoteException> {
        Ok(f.call((x,))?)
    }
}

fn expected_path(first: &str, second: &str, depth: i64) -> String {
    (0..=depth)
        .rev()
        .enumerate()
        .map(|(i, d)| format!("{}@{d}", if i % 2 == 0 { first } else { second }))
        .collect::<Vec<_>>()
        .join(" > ")
}

/// Ten-deep nests through synchronous methods on both sides, each side allowing a single
/// synchronous call at a time: only possible because a call waiting on the peer holds no slot.
async fn nested_sync_callbacks(t: Transport) -> rpyc::Result<()> {
    let one = Config::builder().max_sync_calls(1).build();
    let (conn, _guard) = connect_full(
        t,
        || SyncBouncer { side: "server" },
        one.clone(),
        Some(Arc::new(SyncBouncer { side: "client" })),
        one,
    )
    .await;
    let root = conn.root().await?;
    let path: String = within(
        "ten nested synchronous calls",
        Duration::from_secs(30),
        root.call_method("bounce", (10,)),
    )
    .await?
    .extract()?;
    assert_eq!(path, expected_path("server", "client", 10));

    // Several nests at once on the same connection.
    let pending: Vec<_> = (0..5)
        .map(|_| root.async_call_method("bounce", (10,)))
        .collect();
    for p in pending {
        let path: String = within("concurrent nests", Duration::from_secs(30), async {
            p.await
        })
        .await?
        .extract()?;
        assert_eq!(path, expected_path("server", "client", 10));
    }

    // A client callback called through a `blocking::NetRef` parameter.
    let triple = rpyc::Callback::sync(|mut a| a.take::<i64>(0, "x").map(|x| 3 * x));
    assert_eq!(
        root.call_method("apply", (triple, 14)).await?,
        Value::Int(42)
    );
    Ok(())
}

transport_tests!(nested_sync_callbacks);

/// The same on a single-threaded runtime: the blocking threads only wait, the one runtime
/// thread drives both ends.
#[tokio::test(flavor = "current_thread")]
async fn nested_sync_callbacks_on_one_thread() -> rpyc::Result<()> {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let one = Config::builder().max_sync_calls(1).build();
    let _server = rpyc::Connection::new(b, Arc::new(SyncBouncer { side: "server" }), one.clone());
    let client = rpyc::Connection::new(a, Arc::new(SyncBouncer { side: "client" }), one);
    let root: NetRef = client.root().await?;
    let path: String = within(
        "ten nested synchronous calls on one thread",
        Duration::from_secs(30),
        root.call_method("bounce", (10,)),
    )
    .await?
    .extract()?;
    assert_eq!(path, expected_path("server", "client", 10));
    Ok(())
}

/// A `Dispatcher::function` runs off the runtime like a synchronous method; an
/// `inline_function` answers beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatcher_functions_follow_the_same_rule() -> rpyc::Result<()> {
    let gates = Arc::new(Gates::default());
    let _open = OpenOnDrop(gates.clone());
    let g = gates.clone();
    let service = rpyc::dispatcher::Dispatcher::new("demo.Gates")
        .function("wait", move |key: i64| {
            g.pass(key);
            key
        })
        .inline_function("add", |a: i64, b: i64| a + b)
        .into_service(&["GATES"]);
    let (conn, _server) = rpyc::connect_pair_with(service, Config::default()).await;
    let root = conn.root().await?;
    let pending: Vec<_> = (0..4)
        .map(|i| root.async_call_method("wait", (i,)))
        .collect();
    wait_until("4 functions run", Duration::from_secs(30), || {
        gates.started().len() == 4
    })
    .await;
    let sum = within(
        "add beside the blocked functions",
        Duration::from_secs(30),
        async { root.call_method("add", (1, 2)).await },
    )
    .await?;
    assert_eq!(sum, Value::Int(3));
    assert_eq!(gates.finished(), 0);
    gates.open_all();
    for p in pending {
        within("a function", Duration::from_secs(30), async { p.await }).await?;
    }
    Ok(())
}
