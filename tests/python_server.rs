//! Rust client → real Python rpyc 6.0.2 server.
//!
//! Every test starts its own `tests/python/py_server.py` (a stock `ThreadedServer`) from the
//! venv that `scripts/setup-python.sh` creates (run on first use by `support::python`), and
//! talks to it only through the public `rpyc` API, the way a user's program would. A venv that
//! cannot be made or a missing `rpyc` package is a test failure (with instructions), never a
//! skip.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "support/python.rs"]
mod support;

use rpyc::{
    Args, AsyncResult, CallContext, Callback, Connection, Error, NetRef, RemoteException, Value,
};

// ---------------------------------------------------------------------------------------------
// The Python server process
// ---------------------------------------------------------------------------------------------

const SETUP_HINT: &str = "run `scripts/setup-python.sh` (from the repository root) to create \
                          .venv with rpyc 6.0.2";

/// A running `py_server.py`; the process is killed when this guard is dropped.
struct PyServer {
    child: Child,
    addr: String,
    stderr: Arc<Mutex<String>>,
}

impl PyServer {
    /// Starts `py_server.py --port 0` (plus `--classic` if asked) and waits (30 s at most) for
    /// its `listening on HOST:PORT` line.
    fn start(classic: bool) -> PyServer {
        let root = support::repo_root();
        let python = support::python();
        let script = root.join("tests/python/py_server.py");
        let mut cmd = Command::new(&python);
        cmd.arg(&script).args(["--port", "0"]);
        if classic {
            cmd.arg("--classic");
        }
        let mut child = cmd
            .current_dir(&root)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}; {SETUP_HINT}", python.display()));

        // Drain stderr for the whole life of the process (a full pipe would block Python) and
        // keep it for failure messages.
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("piped stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });

        // Read stdout on a thread so the wait can time out.
        let out_pipe = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out_pipe).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });

        let mut server = PyServer {
            child,
            addr: String::new(),
            stderr,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = line.trim().strip_prefix("listening on ") {
                        server.addr = addr.to_string();
                        return server;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    server.fail("did not print `listening on HOST:PORT` within 30 s")
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // Give the stderr thread a moment to collect the traceback.
                    let _ = server.child.wait();
                    std::thread::sleep(Duration::from_millis(100));
                    server.fail("exited before listening")
                }
            }
        }
    }

    fn fail(&self, what: &str) -> ! {
        let stderr = self.stderr.lock().unwrap().clone();
        let hint = if stderr.contains("No module named") {
            format!("the venv lacks the `rpyc` package: {SETUP_HINT}")
        } else {
            format!("if the venv is broken, {SETUP_HINT}")
        };
        panic!("tests/python/py_server.py {what}; {hint}\n--- server stderr ---\n{stderr}");
    }

    /// A new client connection to this server.
    async fn connect(&self) -> Connection {
        rpyc::connect(self.addr.as_str())
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the Python server at {}: {e}", self.addr))
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server, a connection to it and the connection's root (`conn.root`).
async fn session(classic: bool) -> (PyServer, Connection, NetRef) {
    let server = PyServer::start(classic);
    let conn = server.connect().await;
    let root = conn.root().await.expect("conn.root");
    (server, conn, root)
}

fn int(v: Value) -> i64 {
    v.extract::<i64>().expect("an int")
}

fn string(v: Value) -> String {
    v.extract::<String>().expect("a str")
}

// ---------------------------------------------------------------------------------------------
// PyTestService
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn calls_with_positional_and_keyword_arguments() {
    let (_server, _conn, root) = session(false).await;

    assert_eq!(int(root.call_method("add", (2, 3)).await.unwrap()), 5);
    assert_eq!(
        string(root.call_method("add", ("ab", "cd")).await.unwrap()),
        "abcd"
    );
    // greet(name, greeting="hello")
    assert_eq!(
        string(root.call_method("greet", ("ann",)).await.unwrap()),
        "hello, ann!"
    );
    let hi = root
        .call_method("greet", Args::new().arg("bob").kwarg("greeting", "hi"))
        .await
        .unwrap();
    assert_eq!(string(hi), "hi, bob!");
    // Every argument by keyword.
    let by_kw = root
        .call_method(
            "greet",
            Args::new().kwarg("greeting", "hey").kwarg("name", "cy"),
        )
        .await
        .unwrap();
    assert_eq!(string(by_kw), "hey, cy!");
    // The `exposed_` name works too.
    assert_eq!(
        int(root.call_method("exposed_add", (1, 1)).await.unwrap()),
        2
    );
    // A bad call is Python's TypeError.
    let err = root.call_method("add", (1,)).await.unwrap_err();
    assert!(err.is_remote("TypeError"), "{err:?}");
}

#[tokio::test]
async fn reads_the_exposed_attribute_and_service_name() {
    let (_server, _conn, root) = session(false).await;

    assert_eq!(root.attr::<i64>("the_answer").await.unwrap(), 42);
    assert_eq!(root.getattr("the_answer").await.unwrap(), Value::Int(42));
    assert_eq!(
        string(root.call_method("get_service_name", ()).await.unwrap()),
        "PYTEST"
    );
    // A method read as an attribute is a callable reference.
    let add: NetRef = root.getattr("add").await.unwrap().extract().unwrap();
    assert_eq!(int(add.call((20, 22)).await.unwrap()), 42);
    // Unknown attributes are Python's AttributeError.
    let err = root.getattr("no_such_thing").await.unwrap_err();
    assert!(err.is_remote("AttributeError"), "{err:?}");
}

#[tokio::test]
async fn plain_values_round_trip_by_value() {
    let (_server, _conn, root) = session(false).await;

    let big = "123456789012345678901234567890"
        .parse::<num_bigint::BigInt>()
        .unwrap();
    let values = [
        Value::None,
        Value::Bool(true),
        Value::Int(-7),
        Value::from_bigint(big),
        Value::Float(2.5),
        Value::str("héllo"),
        Value::bytes(&b"\x00\xffraw"[..]),
        Value::Tuple(vec![Value::Int(1), Value::str("two"), Value::Tuple(vec![])]),
        Value::FrozenSet(vec![Value::Int(3)]),
    ];
    for v in values {
        assert_eq!(root.call_method("echo", (v.clone(),)).await.unwrap(), v);
    }
}

#[tokio::test]
async fn python_list_by_reference() {
    let (_server, _conn, root) = session(false).await;

    let list: NetRef = root
        .call_method("get_list", ())
        .await
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(list.type_name(), "builtins.list");
    assert_eq!(list.len().await.unwrap(), 3);
    assert_eq!(list.getitem(0).await.unwrap(), Value::Int(1));
    assert_eq!(list.getitem(-1).await.unwrap(), Value::Int(3));
    assert!(list.getitem(10).await.unwrap_err().is_remote("IndexError"));
    assert!(list.contains(2).await.unwrap());
    assert!(!list.contains(9).await.unwrap());
    assert_eq!(
        list.collect().await.unwrap(),
        vec![Value::Int(1), Value::Int(2), Value::Int(3)]
    );
    assert_eq!(list.repr().await.unwrap(), "[1, 2, 3]");
    assert_eq!(list.str().await.unwrap(), "[1, 2, 3]");
    assert!(list.dir().await.unwrap().iter().any(|n| n == "append"));

    // The server allows public attributes: the list can be changed through its methods.
    list.call_method("append", (4,)).await.unwrap();
    list.setitem(0, 10).await.unwrap();
    assert_eq!(list.len().await.unwrap(), 4);
    assert_eq!(list.repr().await.unwrap(), "[10, 2, 3, 4]");

    // Passing the reference back gives Python its own object, and it comes back to us as the
    // same proxy.
    let echoed: NetRef = root
        .call_method("echo", (&list,))
        .await
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(echoed, list);
}

#[tokio::test]
async fn python_dict_by_reference() {
    let (_server, _conn, root) = session(false).await;

    let d: NetRef = root
        .call_method("get_dict", ())
        .await
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(d.type_name(), "builtins.dict");
    assert_eq!(d.len().await.unwrap(), 2);
    assert_eq!(d.getitem("a").await.unwrap(), Value::Int(1));
    assert_eq!(d.getitem("b").await.unwrap(), Value::Int(2));
    assert!(d.contains("a").await.unwrap());
    assert!(!d.contains("zz").await.unwrap());

    let missing = d.getitem("zz").await.unwrap_err();
    assert!(missing.is_remote("KeyError"), "{missing:?}");

    // Iterating a dict yields its keys.
    assert_eq!(
        d.collect().await.unwrap(),
        vec![Value::str("a"), Value::str("b")]
    );
    // keys() is a public attribute: a dict_keys view, by reference.
    let keys: NetRef = d.call_method("keys", ()).await.unwrap().extract().unwrap();
    assert_eq!(
        keys.collect().await.unwrap(),
        vec![Value::str("a"), Value::str("b")]
    );
    // items() and get() with a default.
    let items: NetRef = d.call_method("items", ()).await.unwrap().extract().unwrap();
    assert_eq!(
        items.collect().await.unwrap(),
        vec![
            Value::Tuple(vec![Value::str("a"), Value::Int(1)]),
            Value::Tuple(vec![Value::str("b"), Value::Int(2)]),
        ]
    );
    assert_eq!(
        d.call_method("get", ("zz", 0)).await.unwrap(),
        Value::Int(0)
    );

    d.setitem("c", 3).await.unwrap();
    d.delitem("a").await.unwrap();
    assert_eq!(d.repr().await.unwrap(), "{'b': 2, 'c': 3}");
}

#[tokio::test]
async fn python_calls_rust_callbacks() {
    let (_server, _conn, root) = session(false).await;

    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let double = Callback::sync(move |mut args| {
        seen.fetch_add(1, Ordering::SeqCst);
        args.take::<i64>(0, "x").map(|x| x * 2)
    })
    .named("double");

    // call_me(f, x) == f(x)
    assert_eq!(
        int(root
            .call_method("call_me", (double.clone(), 21))
            .await
            .unwrap()),
        42
    );
    // call_me_twice(f, x) == f(f(x))
    assert_eq!(
        int(root
            .call_method("call_me_twice", (double, 3))
            .await
            .unwrap()),
        12
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    // An async closure works the same way.
    let shout = Callback::new(|_ctx: CallContext, mut args: Args| async move {
        args.take::<String>(0, "s").map(|s| s.to_uppercase())
    });
    assert_eq!(
        string(root.call_method("call_me", (shout, "quiet")).await.unwrap()),
        "QUIET"
    );
}

#[tokio::test]
async fn nested_callback_calls_back_into_python() {
    let (_server, _conn, root) = session(false).await;

    // While Python waits for this callback, the callback calls Python's `add` on the same
    // connection, through the connection it was called on.
    let add_100 = Callback::new(|ctx: CallContext, mut args: Args| async move {
        let x: i64 = args.take(0, "x")?;
        let py_root = ctx.conn().root().await?;
        let sum = py_root.call_method("add", (x, 100)).await?;
        Ok::<_, RemoteException>(sum)
    });
    assert_eq!(
        int(root
            .call_method("call_me", (add_100.clone(), 1))
            .await
            .unwrap()),
        101
    );
    assert_eq!(
        int(root
            .call_method("call_me_twice", (add_100, 1))
            .await
            .unwrap()),
        201
    );

    // Two levels deep: Python → Rust → Python → Rust.
    let inner = Callback::sync(|mut args| args.take::<i64>(0, "x").map(|x| x + 1));
    let outer = Callback::new(move |ctx: CallContext, mut args: Args| {
        let inner = inner.clone();
        async move {
            let x: i64 = args.take(0, "x")?;
            let py_root = ctx.conn().root().await?;
            let r = py_root.call_method("call_me", (inner, x * 10)).await?;
            Ok::<_, RemoteException>(r)
        }
    });
    assert_eq!(
        int(root.call_method("call_me", (outer, 4)).await.unwrap()),
        41
    );
}

#[tokio::test]
async fn callback_errors_travel_through_python_and_back() {
    let (_server, _conn, root) = session(false).await;

    let refuse = Callback::sync(|_args| -> Result<Value, RemoteException> {
        Err(RemoteException::value_error("not today"))
    });
    let err = root.call_method("call_me", (refuse, 1)).await.unwrap_err();
    let exc = err
        .remote()
        .unwrap_or_else(|| panic!("expected a remote error, got {err:?}"));
    assert!(exc.is("ValueError"), "{exc:?}");
    assert!(exc.message().contains("not today"), "{exc:?}");
}

#[tokio::test]
async fn python_exceptions_arrive_as_remote_errors() {
    let (_server, _conn, root) = session(false).await;

    let err = root.call_method("fail", ("boom",)).await.unwrap_err();
    assert!(matches!(err, Error::Remote(_)), "{err:?}");
    assert!(err.is_remote("ValueError"));
    assert!(!err.is_remote("KeyError"));
    let exc = err.remote().unwrap();
    assert_eq!(exc.module, "builtins");
    assert_eq!(exc.type_name(), "ValueError");
    assert_eq!(exc.message(), "boom");
    assert_eq!(exc.args, vec![Value::str("boom")]);
    // The traceback is Python's, pointing at the service method in py_server.py.
    assert!(exc.traceback.contains("Traceback"), "{}", exc.traceback);
    assert!(exc.traceback.contains("py_server.py"), "{}", exc.traceback);
    assert!(exc.traceback.contains("exposed_fail"), "{}", exc.traceback);
    assert!(err.to_string().contains("boom"), "{err}");

    let err = root.call_method("fail_key", ("k1",)).await.unwrap_err();
    assert!(err.is_remote("KeyError"), "{err:?}");
    let exc = err.remote().unwrap();
    assert_eq!(exc.args, vec![Value::str("k1")]);
    assert!(exc.traceback.contains("py_server.py"), "{}", exc.traceback);

    // The connection is fine afterwards.
    assert_eq!(int(root.call_method("add", (1, 2)).await.unwrap()), 3);
}

#[tokio::test]
async fn async_calls_in_flight() {
    let (_server, _conn, root) = session(false).await;

    // Python serves one request at a time per connection: the sleep holds up the adds behind
    // it, but they are all in flight at once.
    let slow: AsyncResult = root.async_call_method("sleep", (0.3,));
    let sums: Vec<AsyncResult> = (0..10)
        .map(|i| root.async_call_method("add", (i, 100)))
        .collect();
    let greeting = root.async_call_method("greet", Args::new().arg("dee").kwarg("greeting", "yo"));
    let failing = root.async_call_method("fail", ("async boom",));

    assert!(!slow.ready());
    assert!(!slow.error());
    assert!(!slow.expired());
    let notified = Arc::new(AtomicUsize::new(0));
    let n = notified.clone();
    slow.add_callback(move |r| {
        assert!(r.ready());
        n.fetch_add(1, Ordering::SeqCst);
    });

    slow.wait().await.unwrap();
    assert!(slow.ready() && !slow.error());
    assert_eq!(notified.load(Ordering::SeqCst), 1);
    assert_eq!(slow.value().await.unwrap(), Value::Float(0.3));
    assert_eq!(slow.try_value().unwrap().unwrap(), Value::Float(0.3));

    for (i, r) in sums.into_iter().enumerate() {
        assert_eq!(int(r.await.unwrap()), i as i64 + 100);
    }
    assert_eq!(string(greeting.value().await.unwrap()), "yo, dee!");

    failing.wait_timeout(Duration::from_secs(10)).await.unwrap();
    assert!(failing.ready() && failing.error());
    let err = failing.value().await.unwrap_err();
    assert!(err.is_remote("ValueError"), "{err:?}");
}

#[tokio::test]
async fn async_calls_on_several_connections_run_in_parallel() {
    let server = PyServer::start(false);
    // ThreadedServer serves each connection in its own thread: while three connections are
    // inside a long `sleep`, a fourth one is answered (no clock involved: the sleeps are still
    // pending when the answer arrives).
    let mut conns = Vec::new();
    let mut roots = Vec::new();
    for _ in 0..4 {
        let c = server.connect().await;
        roots.push(c.root().await.unwrap());
        conns.push(c);
    }
    let sleepers: Vec<AsyncResult> = roots[..3]
        .iter()
        .map(|r| r.async_call_method("sleep", (60.0,)))
        .collect();
    assert_eq!(int(roots[3].call_method("add", (1, 2)).await.unwrap()), 3);
    assert!(sleepers.iter().all(|p| !p.ready()));
}

#[tokio::test]
async fn ping() {
    let (_server, conn, _root) = session(false).await;
    conn.ping().await.unwrap();
    conn.ping_with(Value::str("custom payload"), Some(Duration::from_secs(5)))
        .await
        .unwrap();
}

#[tokio::test]
async fn per_call_timeout_leaves_the_connection_usable() {
    let server = PyServer::start(false);
    let conn = server.connect().await;
    let root = conn.root().await.unwrap();

    let err = root
        .with_timeout(Some(Duration::from_millis(200)))
        .call_method("sleep", (2,))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Timeout(d) if d == Duration::from_millis(200)),
        "{err:?}"
    );
    assert!(!conn.is_closed());

    // Python is still sleeping on that connection; another connection is served meanwhile.
    let other = server.connect().await;
    other.ping().await.unwrap();
    let other_root = other.root().await.unwrap();
    assert_eq!(int(other_root.call_method("add", (2, 2)).await.unwrap()), 4);

    // The first connection answers once the sleep is over; the late reply of the timed-out
    // call is dropped, not mistaken for this one's.
    assert_eq!(int(root.call_method("add", (1, 2)).await.unwrap()), 3);
    conn.ping().await.unwrap();
    // `None` waits as long as it takes.
    assert_eq!(
        root.with_timeout(None)
            .call_method("sleep", (0.1,))
            .await
            .unwrap(),
        Value::Float(0.1)
    );
}

#[tokio::test]
async fn dropped_references_are_released() {
    let (_server, conn, root) = session(false).await;

    let baseline = conn.proxy_count();
    for _ in 0..1000 {
        let list: NetRef = root
            .call_method("get_list", ())
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(list.len().await.unwrap(), 3);
        drop(list);
    }
    assert_eq!(conn.proxy_count(), baseline);

    // Clones share one proxy; it goes away with the last clone.
    let d: NetRef = root
        .call_method("get_dict", ())
        .await
        .unwrap()
        .extract()
        .unwrap();
    let d2 = d.clone();
    assert_eq!(conn.proxy_count(), baseline + 1);
    drop(d);
    assert_eq!(d2.len().await.unwrap(), 2);
    drop(d2);
    assert_eq!(conn.proxy_count(), baseline);
    // Still healthy after all the releases.
    conn.ping().await.unwrap();
}

#[tokio::test]
async fn close_is_clean_and_idempotent() {
    let server = PyServer::start(false);
    let conn = server.connect().await;
    let root = conn.root().await.unwrap();
    assert_eq!(int(root.call_method("add", (1, 2)).await.unwrap()), 3);

    conn.close().await.unwrap();
    assert!(conn.is_closed());
    conn.close().await.unwrap(); // a second close is a no-op

    let err = root.call_method("add", (1, 2)).await.unwrap_err();
    assert!(matches!(err, Error::ConnectionClosed(_)), "{err:?}");
    assert!(matches!(conn.ping().await, Err(Error::ConnectionClosed(_))));
    drop(root); // releasing a proxy of a closed connection is harmless
                // (While a root reference is alive, `conn.root()` returns it from the cache, as Python's
                // `conn.root` does; once it is gone, asking for it needs the closed connection.)
    assert!(matches!(conn.root().await, Err(Error::ConnectionClosed(_))));

    // The server is unaffected: a new connection works.
    let again = server.connect().await;
    let root = again.root().await.unwrap();
    assert_eq!(int(root.call_method("add", (3, 4)).await.unwrap()), 7);
    again.close().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Classic mode (SlaveService)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn classic_eval_and_execute() {
    let (_server, _conn, root) = session(true).await;

    assert_eq!(int(root.call_method("eval", ("1+2",)).await.unwrap()), 3);
    root.call_method("execute", ("x = 40 + 2\ndef sq(n):\n    return n * n",))
        .await
        .unwrap();
    assert_eq!(int(root.call_method("eval", ("x",)).await.unwrap()), 42);
    assert_eq!(
        int(root.call_method("eval", ("sq(x)",)).await.unwrap()),
        1764
    );

    // A function defined remotely, called from Rust.
    let sq: NetRef = root
        .call_method("eval", ("sq",))
        .await
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(int(sq.call((9,)).await.unwrap()), 81);

    let err = root.call_method("eval", ("1/0",)).await.unwrap_err();
    assert!(err.is_remote("ZeroDivisionError"), "{err:?}");
    let err = root
        .call_method("execute", ("def broken(:",))
        .await
        .unwrap_err();
    assert!(err.is_remote("SyntaxError"), "{err:?}");
}

#[tokio::test]
async fn classic_modules() {
    let (_server, _conn, root) = session(true).await;

    let sys: NetRef = root
        .call_method("getmodule", ("sys",))
        .await
        .unwrap()
        .extract()
        .unwrap();
    let version: String = sys.attr("version").await.unwrap();
    assert!(version.starts_with("3."), "{version}");
    let version_info: NetRef = sys.attr("version_info").await.unwrap();
    assert_eq!(version_info.getitem(0).await.unwrap(), Value::Int(3));

    let os_path: NetRef = root
        .call_method("getmodule", ("os.path",))
        .await
        .unwrap()
        .extract()
        .unwrap();
    let joined = os_path.call_method("join", ("a", "b")).await.unwrap();
    assert_eq!(string(joined), "a/b");

    let err = root
        .call_method("getmodule", ("no_such_module_xyz",))
        .await
        .unwrap_err();
    assert!(err.is_remote("ModuleNotFoundError"), "{err:?}");
}

#[tokio::test]
async fn classic_namespace() {
    let (_server, _conn, root) = session(true).await;

    root.call_method("execute", ("greeting = 'hi'",))
        .await
        .unwrap();
    let ns: NetRef = root.attr("namespace").await.unwrap();
    assert_eq!(ns.type_name(), "builtins.dict");
    assert_eq!(string(ns.getitem("greeting").await.unwrap()), "hi");
    assert!(ns.contains("greeting").await.unwrap());
    assert!(!ns.contains("nope").await.unwrap());

    // Values put in the namespace from Rust are visible to remote code.
    ns.setitem("n", 5).await.unwrap();
    assert_eq!(int(root.call_method("eval", ("n * 2",)).await.unwrap()), 10);
    let keys = ns.collect().await.unwrap();
    assert!(keys.contains(&Value::str("n")), "{keys:?}");
    assert!(ns.getitem("nope").await.unwrap_err().is_remote("KeyError"));
}

#[tokio::test]
async fn classic_dropped_references_are_released_on_the_python_side() {
    let (_server, conn, root) = session(true).await;

    // Put Python's own connection object in the namespace so remote code can count the objects
    // it holds for us (`conn._local_objects`).
    let py_conn = root.call_method("getconn", ()).await.unwrap();
    let ns: NetRef = root.attr("namespace").await.unwrap();
    ns.setitem("pyconn", py_conn).await.unwrap();
    let held = || async {
        int(root
            .call_method("eval", ("len(pyconn._local_objects._dict)",))
            .await
            .unwrap())
    };

    let baseline = held().await;
    let proxies = conn.proxy_count();
    let kept: NetRef = root
        .call_method("eval", ("[1, 2]",))
        .await
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(held().await, baseline + 1);
    drop(kept);
    assert_eq!(held().await, baseline);

    for i in 0..300 {
        let list: NetRef = root
            .call_method("eval", (format!("[{i}]"),))
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(list.getitem(0).await.unwrap(), Value::Int(i));
    }
    // Each DEL went out before the next request on the same connection, and Python handles
    // one connection's messages in order: every list is gone.
    assert_eq!(held().await, baseline);
    assert_eq!(conn.proxy_count(), proxies);
}

// ---------------------------------------------------------------------------------------------
// Fetching Python containers into Rust values (NetRef::fetch)
// ---------------------------------------------------------------------------------------------

/// `eval(expr)` on a classic server, as a reference.
async fn eval_ref(root: &NetRef, expr: &str) -> NetRef {
    root.call_method("eval", (expr,))
        .await
        .unwrap()
        .extract()
        .unwrap()
}

#[derive(serde::Deserialize, Debug, PartialEq)]
struct Point {
    x: i64,
    tags: Vec<String>,
}

#[tokio::test]
async fn python_containers_fetch_into_rust_values() {
    use std::collections::{BTreeMap, HashMap, HashSet};
    let (_server, conn, root) = session(true).await;
    let baseline = conn.proxy_count();

    let xs: Vec<i64> = eval_ref(&root, "[1, 2, 3]").await.fetch().await.unwrap();
    assert_eq!(xs, vec![1, 2, 3]);
    let nested: Vec<Vec<i64>> = eval_ref(&root, "[[1, 2], [], [3]]")
        .await
        .fetch()
        .await
        .unwrap();
    assert_eq!(nested, vec![vec![1, 2], vec![], vec![3]]);
    let set: HashSet<i64> = eval_ref(&root, "{4, 5}").await.fetch().await.unwrap();
    assert_eq!(set, HashSet::from([4, 5]));
    let gen: Vec<i64> = eval_ref(&root, "(i for i in range(3000))")
        .await
        .fetch()
        .await
        .unwrap();
    assert_eq!(gen, (0..3000).collect::<Vec<_>>());
    let map: HashMap<String, Vec<i64>> = eval_ref(&root, "{'a': [1, 2], 'b': []}")
        .await
        .fetch()
        .await
        .unwrap();
    assert_eq!(map["a"], vec![1, 2]);
    assert!(map["b"].is_empty());
    let ordered: BTreeMap<i64, String> = eval_ref(&root, "{2: 'two', 1: 'one'}")
        .await
        .fetch()
        .await
        .unwrap();
    assert_eq!(
        ordered.into_iter().collect::<Vec<_>>(),
        [(1, "one".into()), (2, "two".into())]
    );
    let rpyc::Serde(p): rpyc::Serde<Point> = eval_ref(&root, "{'x': 3, 'tags': ['a', 'b']}")
        .await
        .fetch()
        .await
        .unwrap();
    assert_eq!(
        p,
        Point {
            x: 3,
            tags: vec!["a".into(), "b".into()]
        }
    );

    // A wrong element names its place.
    let err = eval_ref(&root, "[1, 'x']")
        .await
        .fetch::<Vec<i64>>()
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "item 1: expected int, got str");
    let err = eval_ref(&root, "{'k': [1, None]}")
        .await
        .fetch::<HashMap<String, Vec<i64>>>()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "value of key 'k': item 1: expected int, got NoneType"
    );

    // A list that contains itself ends with an error, not a hang.
    let err = eval_ref(&root, "(lambda l: (l.append(l), l)[1])([])")
        .await
        .fetch::<rpyc::Serde<Nest>>()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("nested deeper than"), "{err}");

    // Every reference the fetches made (containers, iterators) is released.
    assert_eq!(conn.proxy_count(), baseline);
}

/// A list of lists of lists…, for the self-containing list.
#[derive(serde::Deserialize, Debug)]
#[allow(dead_code)]
struct Nest(Vec<Nest>);

#[test]
fn blocking_fetch_of_python_containers() {
    let server = PyServer::start(true);
    let conn = rpyc::blocking::connect(server.addr.as_str()).unwrap();
    let root = conn.root().unwrap();
    let list: rpyc::blocking::NetRef = root
        .call_method("eval", ("{'a': [1, 2], 'b': [3]}",))
        .unwrap()
        .extract()
        .unwrap();
    let m: std::collections::BTreeMap<String, Vec<i64>> = list.fetch().unwrap();
    assert_eq!(m["a"], vec![1, 2]);
    assert_eq!(m["b"], vec![3]);
    conn.close().unwrap();
}
