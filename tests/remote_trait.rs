//! `#[rpyc::remote]`: one trait, a Rust service implementing it, and the generated typed
//! clients — against that service over an in-process pair, TCP and a Unix socket, blocking,
//! against a stock Python `ThreadedServer`, and a real Python client against the Rust service.

#[path = "support/py_server.rs"]
mod py_server;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use rpyc::{RemoteException, Value};

/// A counter handed out by reference.
#[rpyc::remote(name = "typed.Counter")]
pub trait Counter {
    /// Adds `by` (default 1); the new value.
    fn increment(&self, by: Option<i64>) -> rpyc::Result<i64>;
    /// The current value, as a data attribute.
    #[rpyc(attr)]
    fn value(&self) -> i64;
}

/// The calculator of these tests: sync and async methods, a keyword, an attribute that can be
/// set, an error with a Python type, and an object returned by reference.
#[rpyc::remote(aliases = ["CALC", "CALCULATOR"])]
pub trait Calculator {
    /// The counters `make_counter` returns.
    type Counter: Counter;

    /// `a + b`; `OverflowError` when it does not fit.
    fn add(&self, a: i64, b: i64) -> rpyc::Result<i64>;
    /// `2 x`, after an await.
    async fn slow_double(&self, x: i64) -> rpyc::Result<i64>;
    /// `"hello, NAME" + punctuation` (default `"!"`), `punctuation` by keyword.
    fn greet(&self, name: String, punctuation: Option<String>) -> rpyc::Result<String>;
    /// The value stored under `key`; `KeyError` if none.
    fn lookup(&self, key: String) -> rpyc::Result<i64>;
    /// A label, read as an attribute.
    #[rpyc(attr)]
    fn label(&self) -> String;
    /// Sets the label: `calc.label = "x"`.
    #[rpyc(set = "label")]
    fn set_label(&self, label: String) -> rpyc::Result<()>;
    /// A new counter starting at `start`.
    fn make_counter(&self, start: i64) -> rpyc::Result<Self::Counter>;
    /// Sleeps `ms` milliseconds, then returns them.
    async fn nap(&self, ms: u64) -> rpyc::Result<u64>;
    /// `f(x)`, calling back into the caller.
    async fn apply(&self, f: rpyc::Func<(i64,), i64>, x: i64) -> rpyc::Result<i64>;
    /// The name is `total` on the wire.
    #[rpyc(name = "total", inline)]
    fn sum_of(&self, xs: Vec<i64>) -> i64;
}

struct MyCounter(AtomicI64);

impl Counter for MyCounter {
    fn increment(&self, by: Option<i64>) -> rpyc::Result<i64> {
        let by = by.unwrap_or(1);
        Ok(self.0.fetch_add(by, Ordering::SeqCst) + by)
    }
    fn value(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Default)]
struct MyCalc {
    label: Mutex<String>,
}

impl Calculator for MyCalc {
    type Counter = MyCounter;

    fn add(&self, a: i64, b: i64) -> rpyc::Result<i64> {
        a.checked_add(b)
            .ok_or_else(|| RemoteException::overflow_error("sum too large").into())
    }
    async fn slow_double(&self, x: i64) -> rpyc::Result<i64> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        Ok(x * 2)
    }
    fn greet(&self, name: String, punctuation: Option<String>) -> rpyc::Result<String> {
        Ok(format!(
            "hello, {name}{}",
            punctuation.unwrap_or_else(|| "!".into())
        ))
    }
    fn lookup(&self, key: String) -> rpyc::Result<i64> {
        match key.as_str() {
            "answer" => Ok(42),
            _ => Err(RemoteException::key_error(Value::str(&key)).into()),
        }
    }
    fn label(&self) -> String {
        self.label.lock().unwrap().clone()
    }
    fn set_label(&self, label: String) -> rpyc::Result<()> {
        if label.is_empty() {
            return Err(RemoteException::value_error("the label must not be empty").into());
        }
        *self.label.lock().unwrap() = label;
        Ok(())
    }
    fn make_counter(&self, start: i64) -> rpyc::Result<MyCounter> {
        Ok(MyCounter(AtomicI64::new(start)))
    }
    async fn apply(&self, f: rpyc::Func<(i64,), i64>, x: i64) -> rpyc::Result<i64> {
        f.call((x,)).await
    }
    async fn nap(&self, ms: u64) -> rpyc::Result<u64> {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(ms)
    }
    fn sum_of(&self, xs: Vec<i64>) -> i64 {
        xs.iter().sum()
    }
}

/// Everything a Rust user does with the typed client, asserted.
async fn exercise(calc: &CalculatorClient) {
    assert_eq!(calc.add(40, 2).await.unwrap(), 42);
    assert!(calc
        .add(i64::MAX, 1)
        .await
        .unwrap_err()
        .is_remote("OverflowError"));
    assert_eq!(calc.slow_double(21).await.unwrap(), 42);
    assert_eq!(calc.greet("ann".into(), None).await.unwrap(), "hello, ann!");
    assert_eq!(
        calc.greet("bob".into(), Some("?".into())).await.unwrap(),
        "hello, bob?"
    );
    assert_eq!(calc.lookup("answer".into()).await.unwrap(), 42);
    let err = calc.lookup("nope".into()).await.unwrap_err();
    assert!(err.is_remote("KeyError"), "{err}");
    assert_eq!(calc.label().await.unwrap(), "");
    calc.set_label("sums".into()).await.unwrap();
    assert_eq!(calc.label().await.unwrap(), "sums");
    assert!(calc
        .set_label(String::new())
        .await
        .unwrap_err()
        .is_remote("ValueError"));
    assert_eq!(calc.sum_of(vec![1, 2, 3]).await.unwrap(), 6);
    // A closure as a typed callback: the service calls it back, here.
    let triple = rpyc::Func::new(|x: i64| x * 3);
    assert_eq!(calc.apply(triple, 14).await.unwrap(), 42);

    let counter: CounterClient = calc.make_counter(10).await.unwrap();
    assert_eq!(counter.netref().type_name(), "typed.Counter");
    assert_eq!(counter.increment(None).await.unwrap(), 11);
    assert_eq!(counter.increment(Some(5)).await.unwrap(), 16);
    assert_eq!(counter.value().await.unwrap(), 16);
    // Per-call options: a deadline on a typed proxy, and fire-and-forget.
    let hurried = calc.with_timeout(Some(Duration::from_millis(50)));
    let err = hurried.nap(400).await.unwrap_err();
    assert!(matches!(err, rpyc::Error::Timeout(_)), "{err}");
    assert_eq!(calc.nap(1).await.unwrap(), 1);
    let conn = calc.netref().connection().clone();
    let before = conn.proxy_count();
    calc.netref()
        .async_call_method("make_counter", (1,))
        .detach();
    // The reply (a counter by reference) is consumed and released: no proxy is left.
    calc.netref().call_method("add", (0, 0)).await.unwrap();
    for _ in 0..1000 {
        if conn.proxy_count() == before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(conn.proxy_count(), before);
    // The dynamic API is one call away, for names only known at run time.
    assert_eq!(
        calc.netref().call_method("add", (1, 2)).await.unwrap(),
        Value::Int(3)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_client_and_service_over_a_pair() {
    let (client, _server) =
        rpyc::connect_pair_with(CalculatorServer::new(MyCalc::default()), Default::default()).await;
    let calc: CalculatorClient = client.root_as().await.unwrap();
    exercise(&calc).await;
    // Any reference can be viewed through a typed proxy.
    let again: CalculatorClient = client.root().await.unwrap().cast();
    assert_eq!(again.add(1, 1).await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_client_and_service_over_tcp_and_unix() {
    let server = rpyc::Server::bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    let shutdown = server.shutdown_handle();
    let task = tokio::spawn(server.serve(|| CalculatorServer::new(MyCalc::default())));
    let conn = rpyc::connect(addr).await.unwrap();
    exercise(&conn.root_as::<CalculatorClient>().await.unwrap()).await;
    shutdown.shutdown();
    let _ = task.await;

    let dir = std::env::temp_dir().join(format!("rpyc-remote-{}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    let server = rpyc::Server::bind_unix(&dir).await.unwrap();
    let shutdown = server.shutdown_handle();
    let task = tokio::spawn(server.serve(|| CalculatorServer::new(MyCalc::default())));
    let conn = rpyc::unix_connect(&dir).await.unwrap();
    exercise(&conn.root_as::<CalculatorClient>().await.unwrap()).await;
    shutdown.shutdown();
    let _ = task.await;
    let _ = std::fs::remove_file(&dir);
}

#[test]
fn the_blocking_twin() {
    let (client, _server) =
        rpyc::blocking::connect_pair_with(CalculatorServer::new(MyCalc::default())).unwrap();
    let calc: CalculatorBlockingClient = client.root_as().unwrap();
    assert_eq!(calc.add(2, 3).unwrap(), 5);
    assert_eq!(calc.slow_double(4).unwrap(), 8);
    assert_eq!(
        calc.greet("cy".into(), Some(".".into())).unwrap(),
        "hello, cy."
    );
    assert!(calc.lookup("x".into()).unwrap_err().is_remote("KeyError"));
    let counter: CounterBlockingClient = calc.make_counter(1).unwrap();
    assert_eq!(counter.increment(Some(2)).unwrap(), 3);
    assert_eq!(counter.value().unwrap(), 3);
    assert_eq!(calc.apply(rpyc::Func::new(|x: i64| -x), 5).unwrap(), -5);
    // From async code, the blocking client refuses rather than stall a worker.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt.block_on(async { calc.add(1, 1) }).unwrap_err();
    assert!(matches!(err, rpyc::Error::BlockingInRuntime(_)), "{err}");
}

/// The interface of `tests/python/py_server.py`'s service, as a Rust user would declare it.
#[rpyc::remote]
pub trait PyTest {
    fn add(&self, a: i64, b: i64) -> rpyc::Result<i64>;
    fn greet(&self, name: String, greeting: Option<String>) -> rpyc::Result<String>;
    fn fail_key(&self, k: String) -> rpyc::Result<()>;
    fn call_me(&self, f: rpyc::Func<(i64,), i64>, x: i64) -> rpyc::Result<i64>;
    /// Python's `def exposed_scale(self, x, *, factor=1)`: `factor` is keyword-only.
    fn scale(&self, x: i64, #[rpyc(keyword)] factor: i64) -> rpyc::Result<i64>;
    #[rpyc(attr)]
    fn the_answer(&self) -> i64;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_client_against_a_python_threaded_server() {
    let server = py_server::PyServer::start(false);
    let conn = server.connect().await;
    let py: PyTestClient = conn.root_as().await.unwrap();
    assert_eq!(py.add(40, 2).await.unwrap(), 42);
    assert_eq!(py.greet("ann".into(), None).await.unwrap(), "hello, ann!");
    assert_eq!(
        py.greet("bob".into(), Some("hi".into())).await.unwrap(),
        "hi, bob!"
    );
    assert_eq!(py.the_answer().await.unwrap(), 42);
    assert_eq!(py.scale(7, 6).await.unwrap(), 42);
    let add_one = rpyc::Func::new(|x: i64| x + 1);
    assert_eq!(py.call_me(add_one, 41).await.unwrap(), 42);
    let err = py.fail_key("k".into()).await.unwrap_err();
    assert!(err.is_remote("KeyError"), "{err}");
}

#[test]
fn a_python_client_uses_the_trait_implemented_service() {
    let script = r#"
import os, rpyc
c = rpyc.connect('127.0.0.1', int(os.environ['PORT']))
calc = c.root
assert c.root.get_service_name() == 'CALC', c.root.get_service_name()
assert calc.add(40, 2) == 42
assert calc.exposed_add(1, 2) == 3
assert calc.slow_double(21) == 42
assert calc.greet('ann') == 'hello, ann!'
assert calc.greet('bob', punctuation='?') == 'hello, bob?'
assert calc.greet('cy', '.') == 'hello, cy.'
assert calc.lookup('answer') == 42
try:
    calc.lookup('nope')
    raise SystemExit('no KeyError')
except KeyError as e:
    assert 'nope' in str(e), e
try:
    calc.add(2**63 - 1, 1)
    raise SystemExit('no OverflowError')
except OverflowError:
    pass
assert calc.label == ''
calc.label = 'sums'
assert calc.label == 'sums'
try:
    calc.label = 5
    raise SystemExit('no TypeError')
except TypeError:
    pass
try:
    calc.other = 1
    raise SystemExit('no AttributeError')
except AttributeError:
    pass
assert calc.total([1, 2, 3]) == 6
assert calc.apply(lambda x: x + 1, 41) == 42
k = calc.make_counter(10)
assert k.increment() == 11
assert k.increment(by=5) == 16
assert k.value == 16
try:
    calc.secret_method
    raise SystemExit('reached a name not in the trait')
except AttributeError:
    pass
print('ok')
"#;
    py_server::python::run_python_client(|| CalculatorServer::new(MyCalc::default()), script);
}

#[path = "support/process.rs"]
mod process;
#[path = "../examples/tutorial_client.rs"]
#[allow(dead_code)]
mod tutorial_client;

/// The tutorial example, against the tutorial's Python service, as its doc comment runs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tutorial_example_against_the_tutorial_service() {
    let root = py_server::python::repo_root();
    let mut cmd = Command::new(py_server::python::python());
    cmd.arg(root.join("examples/python/tutorial_service.py"))
        .args(["--port", "0"])
        .stderr(Stdio::null());
    let server = process::Listening::start(cmd);
    let addr = server.addr.clone();
    let out = tutorial_client::tutorial(&addr).await;
    drop(server);
    assert_eq!(
        out.unwrap(),
        [
            "get_answer() = 42",
            "the_real_answer_though = 43",
            "get_question is not exposed"
        ]
    );
}
