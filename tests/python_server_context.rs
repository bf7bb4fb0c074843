//! Rust client → real Python rpyc 6.0.2 servers (`support/py_server.rs`): remote context
//! managers (`NetRef::with_context`, a `@contextmanager` of a `ThreadedServer` service and one
//! on a classic server), and `isinstance` and types of remote objects.

#[path = "support/py_server.rs"]
mod py_server;

use py_server::{session, string, PyServer};
use rpyc::{Error, NetRef, Value};

/// What the service's context managers noted so far.
async fn events(root: &NetRef, call: &str) -> Vec<String> {
    root.call_method(call, ()).await.unwrap().extract().unwrap()
}

/// A `@contextmanager` method of a default-config `ThreadedServer` service: `__enter__`'s
/// value reaches the body, `__exit__` always runs, errors come back unchanged, suppression is
/// honoured, and on failure the generator sees the `TypeError` Python's CTXEXIT handler makes.
#[tokio::test]
async fn context_manager_of_a_python_service() {
    let server = PyServer::start_args(&["--default-config"]);
    let conn = server.connect().await;
    let root = conn.root().await.unwrap();
    let managed = |name: &'static str| {
        let root = root.clone();
        async move { root.call_method("managed", (name,)).await.unwrap() }
    };
    let cm: NetRef = managed("a").await.extract().unwrap();

    let got = cm
        .with_context(|v| async move { Ok::<_, Error>(v.extract::<String>()?) })
        .await
        .unwrap();
    assert_eq!(got.as_deref(), Some("resource a"));
    assert_eq!(events(&root, "events").await, ["enter a", "exit a"]);

    // The body fails: its own error comes back; __exit__ ran and saw a TypeError.
    let cm: NetRef = managed("b").await.extract().unwrap();
    let err = cm
        .with_context(|_| async { Err::<(), _>(Error::Protocol("body gave up".into())) })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Protocol(m) if m == "body gave up"),
        "{err:?}"
    );
    let seen = events(&root, "events").await;
    assert_eq!(seen[2], "enter b");
    assert!(
        seen[3].starts_with("error TypeError: exceptions must derive from BaseException"),
        "{seen:?}"
    );
    assert_eq!(seen.len(), 4);

    // A remote error of the body keeps its type for Rust.
    let cm: NetRef = managed("c").await.extract().unwrap();
    let err = cm
        .with_context(|_| async { root.call_method("fail_key", ("k",)).await })
        .await
        .unwrap_err();
    assert!(err.is_remote("KeyError"), "{err:?}");

    // Suppressed: the call returns Ok(None).
    let cm: NetRef = managed("suppress").await.extract().unwrap();
    let out = cm
        .with_context(|_| async { Err::<i64, _>(Error::Protocol("hidden".into())) })
        .await
        .unwrap();
    assert_eq!(out, None);
    let seen = events(&root, "events").await;
    assert_eq!(seen[seen.len() - 2], "enter suppress");
    assert!(
        seen[seen.len() - 1].starts_with("error TypeError"),
        "{seen:?}"
    );

    // A body dropped before it ends still sends __exit__.
    let cm: NetRef = managed("dropped").await.extract().unwrap();
    let timed_out = tokio::time::timeout(
        std::time::Duration::from_millis(50),
        cm.with_context(|_| async {
            std::future::pending::<()>().await;
            Ok::<_, Error>(())
        }),
    )
    .await;
    assert!(timed_out.is_err());
    let seen = events(&root, "events").await;
    assert_eq!(seen[seen.len() - 2], "enter dropped");
    assert!(
        seen[seen.len() - 1].starts_with("error TypeError"),
        "{seen:?}"
    );
    conn.close().await.unwrap();
}

/// On a classic server `__exit__` sees a real exception built on the server: the builtin type
/// of a remote error, `RuntimeError` for any other error.
#[tokio::test]
async fn context_manager_on_a_classic_server() {
    let (_server, conn, root) = session(true).await;
    root.call_method(
        "execute",
        (r#"
import contextlib
events = []
@contextlib.contextmanager
def managed(name):
    events.append(f"enter {name}")
    try:
        yield name.upper()
    except BaseException as e:
        events.append(f"error {type(e).__name__}: {e}")
        if name == "suppress":
            return
        raise
    events.append(f"exit {name}")
"#,),
    )
    .await
    .unwrap();
    let cm = |name: &'static str| {
        let root = root.clone();
        async move {
            root.call_method("eval", (format!("managed({name:?})"),))
                .await
                .unwrap()
                .extract::<NetRef>()
                .unwrap()
        }
    };
    let events = || async {
        root.call_method("eval", ("tuple(events)",))
            .await
            .unwrap()
            .extract::<Vec<String>>()
            .unwrap()
    };

    let out = cm("ok")
        .await
        .with_context(|v| async move { Ok::<_, Error>(string(v)) })
        .await
        .unwrap();
    assert_eq!(out.as_deref(), Some("OK"));

    let err = cm("key")
        .await
        .with_context(|_| async { root.call_method("eval", ("{}['k']",)).await })
        .await
        .unwrap_err();
    assert!(err.is_remote("KeyError"), "{err:?}");

    let err = cm("plain")
        .await
        .with_context(|_| async { Err::<(), _>(Error::Protocol("no luck".into())) })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Protocol(_)));

    let out = cm("suppress")
        .await
        .with_context(|_| async {
            Err::<(), _>(Error::from(rpyc::RemoteException::value_error("bad value")))
        })
        .await
        .unwrap();
    assert_eq!(out, None);

    assert_eq!(
        events().await,
        [
            "enter ok",
            "exit ok",
            "enter key",
            "error KeyError: 'k'",
            "enter plain",
            "error RuntimeError: protocol error: no luck",
            "enter suppress",
            "error ValueError: bad value",
        ]
    );
    conn.close().await.unwrap();
}

/// The blocking form, against the service's `@contextmanager`.
#[test]
fn blocking_context_manager() {
    let server = PyServer::start(false);
    let conn = rpyc::blocking::connect(server.addr.as_str()).unwrap();
    let root = conn.root().unwrap();
    let cm: rpyc::blocking::NetRef = root
        .call_method("managed", ("x",))
        .unwrap()
        .extract()
        .unwrap();
    let n = cm
        .with_context(|v| Ok::<_, Error>(v.extract::<String>()?.len()))
        .unwrap();
    assert_eq!(n, Some(10));
    let cm: rpyc::blocking::NetRef = root
        .call_method("managed", ("y",))
        .unwrap()
        .extract()
        .unwrap();
    let err = cm
        .with_context(|_| root.call_method("fail", ("boom",)))
        .unwrap_err();
    assert!(err.is_remote("ValueError"));
    let seen: Vec<String> = root.call_method("events", ()).unwrap().extract().unwrap();
    assert_eq!(seen[..3], ["enter x", "exit x", "enter y"]);
    assert!(seen[3].starts_with("error TypeError"), "{seen:?}");
    conn.close().unwrap();
}

/// `isinstance` by qualified name (local), against remote classes (HANDLE_INSTANCECHECK when
/// the class ids differ), the class id pack and the remote class, on a classic server.
#[tokio::test]
async fn isinstance_and_types_on_a_classic_server() {
    let (_server, conn, root) = session(true).await;
    let eval = |expr: &'static str| {
        let root = root.clone();
        async move {
            root.call_method("eval", (expr,))
                .await
                .unwrap()
                .extract::<NetRef>()
                .unwrap()
        }
    };
    let list = eval("[1, 2]").await;
    let key_error = eval("KeyError('k')").await;
    let list_class = eval("list").await;
    let object_class = eval("object").await;
    let dict_class = eval("dict").await;

    // By name, locally.
    assert_eq!(list.type_name(), "builtins.list");
    assert!(list.is_instance_of("list") && list.is_instance_of("builtins.object"));
    assert!(!list.is_instance_of("dict"));
    assert!(key_error.is_instance_of("LookupError") && key_error.is_instance_of("Exception"));
    assert!(!key_error.is_instance_of("ValueError"));
    assert!(list_class.is_class() && !list.is_class());
    assert!(list_class.is_instance_of("type") && !list_class.is_instance_of("list"));

    // Against remote classes: the same class id answers locally; the rest asks the server.
    assert!(list.isinstance(&list_class).await.unwrap());
    assert!(!list_class.isinstance(&list_class).await.unwrap());
    assert!(list.isinstance(&object_class).await.unwrap());
    assert!(!list.isinstance(&dict_class).await.unwrap());
    let err = list.isinstance(&key_error).await.unwrap_err();
    assert!(err.is_remote("TypeError"), "{err:?}");

    // The class: its id pack without a request, the class itself through `__class__`.
    assert_eq!(list.class_id_pack(), *list_class.id_pack());
    let class = list.remote_type().await.unwrap();
    assert_eq!(class.id_pack(), list_class.id_pack());
    assert_eq!(class, list_class);

    // The connection is still fine after the server's instance checks.
    assert_eq!(
        root.call_method("eval", ("1 + 1",)).await.unwrap(),
        Value::Int(2)
    );
    conn.close().await.unwrap();
}

/// A default-config service refuses `__class__`; the local answers need no request.
#[tokio::test]
async fn types_on_a_default_config_service() {
    let server = PyServer::start_args(&["--default-config"]);
    let conn = server.connect().await;
    let root = conn.root().await.unwrap();
    let list: NetRef = root
        .call_method("get_list", ())
        .await
        .unwrap()
        .extract()
        .unwrap();
    assert!(list.is_instance_of("list"));
    assert_eq!(list.class_id_pack().instance_id, 0);
    let err = list.remote_type().await.unwrap_err();
    assert!(err.is_remote("AttributeError"), "{err:?}");
    conn.close().await.unwrap();
}
