//! The blocking API as a user of `rpyc` meets it: connecting with any socket address, turning
//! references and connections between the async and blocking shapes with `.into()`, and the
//! error a call from inside a tokio runtime gets.

use std::net::SocketAddr;

use rpyc::server::services::CalculatorService;
use rpyc::server::ShutdownHandle;
use rpyc::{blocking, Error, Server, Value};

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
