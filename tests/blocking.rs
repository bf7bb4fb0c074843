//! The blocking API as a user of `rpyc` meets it: connecting with any socket address, turning
//! references and connections between the async and blocking shapes with `.into()`, the
//! container and text calls (`setitem`, `contains`, `dir`, `str`), per-handle timeouts, and
//! the error a call from inside a tokio runtime gets.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use rpyc::server::services::CalculatorService;
use rpyc::server::ShutdownHandle;
use rpyc::{blocking, Error, RemoteException, Server, Value};

/// A calculator server on 127.0.0.1 (a free port), served by its own runtime; dropping the
/// guard stops it.
struct Calc {
    addr: SocketAddr,
    stop: ShutdownHandle,
    _rt: tokio::runtime::Runtime,
}

impl Drop for Calc {
    fn drop(&mut self) {
        self.stop.shutdown();
    }
}

fn calc() -> Calc {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(Server::bind("127.0.0.1:0")).unwrap();
    let addr = server.local_addr().unwrap();
    let stop = server.shutdown_handle();
    rt.spawn(server.serve(CalculatorService::new));
    Calc {
        addr,
        stop,
        _rt: rt,
    }
}

fn add(conn: &blocking::Connection) -> Value {
    conn.root().unwrap().call_method("add", (2, 3)).unwrap()
}

#[test]
fn blocking_connect_takes_any_socket_address() {
    let server = calc();
    let port = server.addr.port();
    let text = format!("127.0.0.1:{port}");

    assert_eq!(
        add(&blocking::connect(text.as_str()).unwrap()),
        Value::Int(5)
    );
    assert_eq!(
        add(&blocking::connect(text.clone()).unwrap()),
        Value::Int(5)
    );
    assert_eq!(add(&blocking::connect(server.addr).unwrap()), Value::Int(5));
    assert_eq!(
        add(&blocking::connect(("127.0.0.1", port)).unwrap()),
        Value::Int(5)
    );
    let ip: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    assert_eq!(add(&blocking::connect((ip, port)).unwrap()), Value::Int(5));
}

#[test]
fn netrefs_and_connections_convert_with_into() {
    let server = calc();
    let rt = tokio::runtime::Runtime::new().unwrap();

    // Async → blocking.
    let (conn, root): (rpyc::Connection, rpyc::NetRef) = rt.block_on(async {
        let conn = rpyc::connect(server.addr).await.unwrap();
        let root = conn.root().await.unwrap();
        (conn, root)
    });
    let blocking_root: blocking::NetRef = root.clone().into();
    assert_eq!(
        blocking_root.call_method("add", (1, 2)).unwrap(),
        Value::Int(3)
    );
    let blocking_conn: blocking::Connection = conn.into();
    assert_eq!(add(&blocking_conn), Value::Int(5));

    // Blocking → async.
    let back: rpyc::NetRef = blocking_root.into();
    assert_eq!(back, root);
    let async_conn: rpyc::Connection = blocking_conn.into();
    rt.block_on(async {
        assert_eq!(
            back.call_method("multiply", (6, 7)).await.unwrap(),
            Value::Int(42)
        );
        async_conn.close().await.unwrap();
    });
}

#[test]
fn blocking_api_inside_a_runtime_says_so_and_what_to_use() {
    let server = calc();
    let conn = blocking::connect(server.addr).unwrap();
    let root = conn.root().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (call, connect) = rt.block_on(async {
        (
            root.call_method("add", (1, 2)).unwrap_err(),
            blocking::connect(server.addr).unwrap_err(),
        )
    });
    for err in [call, connect] {
        assert!(matches!(err, Error::BlockingInRuntime(_)), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("inside a tokio runtime"), "{msg}");
        assert!(msg.contains("use the async API"), "{msg}");
        assert!(msg.contains("rpyc::connect(addr).await"), "{msg}");
    }
    // The same handles work again outside the runtime.
    assert_eq!(root.call_method("add", (1, 2)).unwrap(), Value::Int(3));
}

/// A small shelf of named counts: a mapping with a `str`, and a call that never answers.
#[derive(Default)]
struct Shelf {
    items: Mutex<BTreeMap<String, i64>>,
}

#[rpyc::service]
impl Shelf {
    #[exposed(name = "__getitem__")]
    fn get(&self, key: String) -> Result<i64, RemoteException> {
        let found = self.items.lock().unwrap().get(&key).copied();
        found.ok_or_else(|| RemoteException::key_error(Value::str(&key)))
    }

    #[exposed(name = "__setitem__")]
    fn set(&self, key: String, value: i64) {
        self.items.lock().unwrap().insert(key, value);
    }

    #[exposed(name = "__delitem__")]
    fn remove(&self, key: String) {
        self.items.lock().unwrap().remove(&key);
    }

    #[exposed(name = "__contains__")]
    fn has(&self, key: String) -> bool {
        self.items.lock().unwrap().contains_key(&key)
    }

    #[rpyc(str)]
    fn shown(&self) -> String {
        format!("shelf of {}", self.items.lock().unwrap().len())
    }

    /// Never answers: what a per-handle timeout is for.
    #[exposed]
    async fn never(&self) -> i64 {
        std::future::pending().await
    }
}

#[test]
fn blocking_netref_sets_items_tests_membership_and_shows_itself() {
    let (client, _server) = blocking::connect_pair_with(Shelf::default()).unwrap();
    let shelf = client.root().unwrap();

    shelf.setitem("apples", 3).unwrap();
    shelf.setitem("pears", 5).unwrap();
    assert_eq!(shelf.getitem("apples").unwrap(), Value::Int(3));
    assert!(shelf.contains("pears").unwrap());
    assert!(!shelf.contains("plums").unwrap());
    assert_eq!(shelf.str().unwrap(), "shelf of 2");

    shelf.delitem("pears").unwrap();
    assert!(!shelf.contains("pears").unwrap());
    let err = shelf.getitem("pears").unwrap_err();
    assert!(err.is_remote("KeyError"), "{err:?}");

    let names = shelf.dir().unwrap();
    for name in ["__setitem__", "__contains__", "never"] {
        assert!(names.iter().any(|n| n == name), "{name} not in {names:?}");
    }
}

#[test]
fn blocking_netref_with_timeout_fails_its_own_calls_only() {
    let (client, _server) = blocking::connect_pair_with(Shelf::default()).unwrap();
    let shelf = client.root().unwrap();
    let impatient = shelf.with_timeout(Some(Duration::from_millis(50)));

    let err = impatient.call_method("never", ()).unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    // The handle it came from keeps the connection's timeout, and both name the same object.
    assert_eq!(impatient, shelf);
    shelf.setitem("figs", 1).unwrap();
    assert_eq!(impatient.getitem("figs").unwrap(), Value::Int(1));
    // And a handle that waits forever is still the same object.
    let patient = impatient.with_timeout(None);
    assert!(patient.contains("figs").unwrap());
}
