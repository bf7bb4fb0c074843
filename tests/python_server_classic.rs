//! Rust client → real Python rpyc 6.0.2 classic server (SlaveService, `support/py_server.rs`):
//! eval and execute, modules, the namespace, and references released on the Python side.

#[path = "support/py_server.rs"]
mod py_server;

use py_server::{int, session, string};
use rpyc::{NetRef, Value};

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
