//! `rpyc::classic::ClassicClientService` in-process: what a classic server sees of a Rust
//! classic client's root — `getmodule` answering placeholders that refuse every attribute,
//! `eval`/`execute`/`namespace` as `None`, and nothing else.

use rpyc::classic::ClassicClientService;
use rpyc::{Config, NetRef, Value};

/// The client's root as the server sees it (the service runs on the pair's server side here).
async fn client_root() -> (rpyc::Connection, rpyc::Connection, NetRef) {
    let (peer, client) = rpyc::connect_pair_with(ClassicClientService, Config::default()).await;
    let root = peer.root().await.unwrap();
    (peer, client, root)
}

#[tokio::test]
async fn eval_execute_and_namespace_read_as_none() {
    let (_peer, _client, root) = client_root().await;
    for name in ["eval", "execute", "namespace"] {
        assert_eq!(root.getattr(name).await.unwrap(), Value::None, "{name}");
        // Under their exposed_ names too, as Python's FakeSlaveService.
        let exposed = format!("exposed_{name}");
        assert_eq!(root.getattr(&exposed).await.unwrap(), Value::None);
    }
    assert_eq!(
        root.call_method("get_service_name", ()).await.unwrap(),
        Value::str("CLASSICCLIENT")
    );
}

#[tokio::test]
async fn getmodule_answers_a_placeholder_that_refuses_every_attribute() {
    let (_peer, _client, root) = client_root().await;
    let os: NetRef = root
        .call_method("getmodule", ("os",))
        .await
        .unwrap()
        .extract()
        .unwrap();
    for attr in ["system", "path", "__dict__", "__class__", "__name__"] {
        let err = os.getattr(attr).await.unwrap_err();
        assert!(err.is_remote("AttributeError"), "{attr}: {err:?}");
    }
    assert!(os
        .setattr("x", 1)
        .await
        .unwrap_err()
        .is_remote("AttributeError"));
    assert!(os
        .delattr("x")
        .await
        .unwrap_err()
        .is_remote("AttributeError"));
    assert!(os.call(()).await.unwrap_err().is_remote("TypeError"));
    assert!(os.repr().await.unwrap().contains("serves no modules"));

    // A tuple of parts, as Python's getmodule accepts, and wrong arguments.
    let m: NetRef = root
        .call_method(
            "getmodule",
            (Value::Tuple(vec![Value::str("os"), Value::str("path")]),),
        )
        .await
        .unwrap()
        .extract()
        .unwrap();
    let err = m.getattr("join").await.unwrap_err();
    assert!(err.to_string().contains("os.path"), "{err}");
    let err = root.call_method("getmodule", (1,)).await.unwrap_err();
    assert!(err.is_remote("TypeError"), "{err:?}");
    let err = root.call_method("getmodule", ()).await.unwrap_err();
    assert!(err.is_remote("TypeError"), "{err:?}");
    let err = root.call_method("getmodule", ("a", "b")).await.unwrap_err();
    assert!(err.is_remote("TypeError"), "{err:?}");
}

#[tokio::test]
async fn nothing_else_is_exposed() {
    let (_peer, _client, root) = client_root().await;
    for name in ["getconn", "modules", "builtins", "upload", "teleport"] {
        let err = root.getattr(name).await.unwrap_err();
        assert!(err.is_remote("AttributeError"), "{name}: {err:?}");
    }
    let names = root.dir().await.unwrap();
    for name in &names {
        assert!(
            !name.starts_with("exposed_")
                || [
                    "exposed_getmodule",
                    "exposed_eval",
                    "exposed_execute",
                    "exposed_namespace",
                    "exposed_get_service_name",
                    "exposed_get_service_aliases"
                ]
                .contains(&name.as_str()),
            "{name} in {names:?}"
        );
    }
    // The root refuses writes, as every service root does.
    assert!(root
        .setattr("eval", 1)
        .await
        .unwrap_err()
        .is_remote("AttributeError"));
}
