//! The `Service` impl the macros generate: names and aliases, and the connection hooks seen
//! through a real in-process connection.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rpyc_core::{FromValue, Value};
use rpyc_netref::{connect_pair_with, Args, LocalObject, NetRef, Service};

use crate::{names, Aliased, CalculatorService, PlainService};

#[test]
fn services() {
    let svc = CalculatorService {
        connects: Default::default(),
        disconnects: Default::default(),
    };
    assert_eq!(LocalObject::type_name(&svc), "expand.CalculatorService");
    assert_eq!(svc.service_aliases(), ["CALCULATOR"]);
    assert_eq!(
        names(&svc),
        [
            "add",
            "counter",
            "exposed_add",
            "exposed_counter",
            "exposed_fail",
            "fail"
        ]
    );
    assert!(!svc.has_member("hello") && !svc.has_member("bye"));

    let a = Aliased;
    assert_eq!(a.type_name(), "demo.Thing");
    assert_eq!(a.service_aliases(), ["CALC", "CALCULATOR"]);
    assert_eq!(PlainService.service_aliases(), ["PLAIN"]);
}

#[tokio::test]
async fn through_a_connection() {
    let connects = Arc::new(AtomicUsize::new(0));
    let disconnects = Arc::new(AtomicUsize::new(0));
    let svc = CalculatorService {
        connects: connects.clone(),
        disconnects: disconnects.clone(),
    };
    let (client, server) = connect_pair_with(svc, Default::default()).await;
    let root = client.root().await.unwrap();

    assert_eq!(
        root.call_method("add", (2i64, 3i64)).await.unwrap(),
        Value::Int(5)
    );
    assert_eq!(
        root.call_method("exposed_add", Args::new().kwarg("b", 1i64).kwarg("a", 2i64))
            .await
            .unwrap(),
        Value::Int(3)
    );
    assert_eq!(
        root.call_method("get_service_name", ()).await.unwrap(),
        Value::str("CALCULATOR")
    );
    let err = root.call_method("fail", ("boom",)).await.unwrap_err();
    assert!(err.is_remote("ValueError"), "{err:?}");
    let err = root.call_method("add", (1i64,)).await.unwrap_err();
    assert!(err.is_remote("TypeError"), "{err:?}");
    let err = root.call_method("hello", ()).await.unwrap_err();
    assert!(err.is_remote("AttributeError"), "{err:?}");

    // A returned object is a reference the client can use.
    let counter: NetRef =
        NetRef::from_value(root.call_method("counter", (5i64,)).await.unwrap()).unwrap();
    assert_eq!(counter.type_name(), "calc.Counter");
    assert_eq!(
        counter.call_method("incr", ()).await.unwrap(),
        Value::Int(6)
    );
    assert_eq!(counter.attr::<i64>("value").await.unwrap(), 6);
    assert_eq!(counter.len().await.unwrap(), 6);
    assert_eq!(counter.getitem(2i64).await.unwrap(), Value::Int(20));
    assert_eq!(counter.repr().await.unwrap(), "<Counter 6>");
    assert_eq!(counter.call((1i64,)).await.unwrap(), Value::Int(7));
    counter.setattr("colour", "red").await.unwrap();
    assert!(counter.setattr("readonly", 1i64).await.is_err());
    counter.delattr("colour").await.unwrap();
    assert!(counter.getattr("secret").await.is_err());
    assert!(counter.call_method("secret", ()).await.is_err());

    assert_eq!(connects.load(Ordering::SeqCst), 1);
    client.close().await.unwrap();
    drop(root);
    drop(counter);
    for _ in 0..100 {
        if disconnects.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(disconnects.load(Ordering::SeqCst), 1);
    drop(server);
}

/// A generic block: one impl serves every `T` (what `#[rpyc::remote]`'s `XServer<T>` is).
struct Wrapper<T>(T);

#[rpyc_macros::service(crate = ::rpyc_netref, aliases = ["WRAPPED"])]
impl<T: std::fmt::Display + Send + Sync + 'static> Wrapper<T> {
    #[exposed]
    fn show(&self) -> String {
        self.0.to_string()
    }
}

#[tokio::test]
async fn a_generic_block_serves_every_type() {
    let (client, _server) = connect_pair_with(Wrapper(42u8), Default::default()).await;
    let root = client.root().await.unwrap();
    assert_eq!(
        root.call_method("show", ()).await.unwrap(),
        Value::str("42")
    );
    let (client, _server) = connect_pair_with(Wrapper("x"), Default::default()).await;
    let root = client.root().await.unwrap();
    assert_eq!(root.call_method("show", ()).await.unwrap(), Value::str("x"));
    assert_eq!(Wrapper(1.5).service_aliases(), ["WRAPPED"]);
}
