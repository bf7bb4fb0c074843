//! Positive tests: objects and services defined with the macros, used through the generated
//! trait impls directly and through a real in-process connection.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rpyc_core::{FromValue, IntoValue, RemoteException, Value};
use rpyc_netref::{
    connect_pair, connect_pair_with, Args, CallContext, Connection, Exported, LocalObject, Member,
    NetRef, Rest, Service,
};

#[derive(Default)]
struct Counter {
    n: AtomicI64,
    extra: Mutex<Vec<(String, Value)>>,
}

#[rpyc_macros::object(name = "calc.Counter", crate = ::rpyc_netref)]
impl Counter {
    /// Exposed by its prefix only.
    fn exposed_incr(&self, by: Option<i64>) -> i64 {
        let by = by.unwrap_or(1);
        self.n.fetch_add(by, Ordering::SeqCst) + by
    }

    #[exposed(attr)]
    fn value(&self) -> i64 {
        self.n.load(Ordering::SeqCst)
    }

    #[exposed(attr, name = "label")]
    fn the_label(&self) -> String {
        format!("counter at {}", self.value())
    }

    #[exposed(name = "__len__")]
    fn len(&self) -> usize {
        self.n.load(Ordering::SeqCst) as usize
    }

    #[exposed(name = "__getitem__")]
    fn getitem(&self, i: i64) -> Result<i64, RemoteException> {
        if (0..self.value()).contains(&i) {
            Ok(i * 10)
        } else {
            Err(RemoteException::index_error("counter index out of range"))
        }
    }

    #[exposed]
    async fn slow_double(&self, x: i64) -> i64 {
        tokio::task::yield_now().await;
        x * 2
    }

    /// `scale` comes after `Rest`: keyword-only.
    #[exposed]
    fn sum(&self, first: i64, rest: Rest, scale: Option<i64>) -> Result<i64, RemoteException> {
        let mut total = first;
        for v in rest.into_vec() {
            total += i64::from_value(v)?;
        }
        Ok(total * scale.unwrap_or(1))
    }

    #[exposed]
    fn whoami(&self, ctx: &CallContext, conn: Connection, also: &Connection) -> u64 {
        assert_eq!(ctx.conn().id(), conn.id());
        assert_eq!(also.id(), conn.id());
        conn.id()
    }

    #[exposed]
    async fn ctx_async(&self, ctx: CallContext, x: i64) -> u64 {
        tokio::task::yield_now().await;
        ctx.conn().id() + x as u64
    }

    /// Returned by reference (the macro implements `IntoValue` through `export`).
    #[exposed]
    fn child(&self) -> Counter {
        Counter {
            n: AtomicI64::new(100),
            ..Default::default()
        }
    }

    #[rpyc(repr)]
    fn show(&self) -> String {
        format!("<Counter {}>", self.value())
    }

    #[rpyc(hash)]
    fn h(&self) -> i64 {
        self.value() * 7
    }

    #[rpyc(setattr)]
    fn set(&self, name: &str, value: Value) -> Result<(), RemoteException> {
        if name == "readonly" {
            return Err(RemoteException::attribute_error("readonly"));
        }
        self.extra.lock().unwrap().push((name.to_string(), value));
        Ok(())
    }

    #[rpyc(delattr)]
    fn del(&self, name: &str) -> Result<(), RemoteException> {
        let mut extra = self.extra.lock().unwrap();
        let before = extra.len();
        extra.retain(|(k, _)| k != name);
        if extra.len() == before {
            Err(RemoteException::attribute_error(name.to_string()))
        } else {
            Ok(())
        }
    }

    #[rpyc(call)]
    fn invoke(&self, x: i64) -> i64 {
        x + self.value()
    }

    /// Not exposed: must not be a member.
    fn secret(&self) -> i64 {
        42
    }
}

/// No members at all, separate `repr` / `str` hooks, a `&Value` setattr.
struct Bare;

#[rpyc_macros::object(crate = ::rpyc_netref)]
impl Bare {
    #[rpyc(repr)]
    fn r(&self) -> &'static str {
        "Bare()"
    }

    #[rpyc(str)]
    fn s(&self) -> String {
        "a bare object".into()
    }

    #[rpyc(setattr)]
    fn set(&self, _name: &str, _value: &Value) -> Result<(), RemoteException> {
        Ok(())
    }
}

/// `#[rpyc(repr)]` alone also gives `str`; methods named like trait methods are fine.
struct Named;

#[rpyc_macros::object(crate = ::rpyc_netref)]
impl Named {
    #[rpyc(repr)]
    fn repr(&self) -> String {
        "Named!".into()
    }

    #[exposed]
    fn type_name(&self) -> &'static str {
        "not the rpyc type name"
    }

    #[exposed]
    fn exposed_both(&self) -> i64 {
        1
    }

    #[exposed(name = "__call__")]
    fn dunder_call(&self) -> i64 {
        2
    }

    /// Several roles on one method.
    #[exposed]
    #[rpyc(call, hash)]
    fn ping(&self) -> i64 {
        3
    }
}

struct CalculatorService {
    connects: Arc<AtomicUsize>,
    disconnects: Arc<AtomicUsize>,
}

#[rpyc_macros::service(crate = ::rpyc_netref)]
impl CalculatorService {
    #[exposed]
    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    #[exposed]
    fn counter(&self, start: Option<i64>) -> Counter {
        Counter {
            n: AtomicI64::new(start.unwrap_or(0)),
            ..Default::default()
        }
    }

    #[exposed]
    async fn fail(&self, msg: String) -> Result<(), RemoteException> {
        Err(RemoteException::value_error(msg))
    }

    #[on_connect]
    fn hello(&self, _conn: &Connection) {
        self.connects.fetch_add(1, Ordering::SeqCst);
    }

    #[on_disconnect]
    fn bye(&self, _conn: &Connection) {
        self.disconnects.fetch_add(1, Ordering::SeqCst);
    }
}

struct Aliased;

#[rpyc_macros::service(name = "demo.Thing", aliases = ["calc", "Calculator"], crate = ::rpyc_netref)]
impl Aliased {}

struct PlainService;

#[rpyc_macros::service(crate = "::rpyc_netref")]
impl PlainService {}

fn names(obj: &dyn LocalObject) -> Vec<String> {
    let mut n = obj.member_names();
    n.sort();
    n
}

async fn call(
    obj: Arc<dyn LocalObject>,
    ctx: &CallContext,
    name: &str,
    args: Args,
) -> Result<Value, RemoteException> {
    obj.call_method(name, ctx.clone(), args).await
}

fn type_error_message(r: Result<Value, RemoteException>) -> String {
    let e = r.expect_err("expected an error");
    assert!(e.is("TypeError"), "expected TypeError, got {e:?}");
    e.message()
}

#[test]
fn member_registration() {
    let c = Counter::default();
    assert_eq!(c.type_name(), "calc.Counter");
    assert_eq!(
        names(&c),
        [
            "__getitem__",
            "__len__",
            "child",
            "ctx_async",
            "exposed_child",
            "exposed_ctx_async",
            "exposed_incr",
            "exposed_label",
            "exposed_slow_double",
            "exposed_sum",
            "exposed_value",
            "exposed_whoami",
            "label",
            "slow_double",
            "sum",
            "value",
            "whoami",
        ]
    );
    for n in c.member_names() {
        assert!(c.has_member(&n), "{n}");
        assert!(c.get_member(&n).is_some(), "{n}");
    }
    // Prefix-exposed methods are registered under their real name only.
    assert!(!c.has_member("incr"));
    // Not exposed, hooks, and trait methods are not members.
    for n in [
        "secret",
        "exposed_secret",
        "show",
        "h",
        "set",
        "del",
        "invoke",
        "repr",
        "__call__",
        "getitem",
        "len",
    ] {
        assert!(!c.has_member(n), "{n}");
        assert!(c.get_member(n).is_none(), "{n}");
    }
    assert!(matches!(c.get_member("exposed_incr"), Some(Member::Method)));
    assert!(matches!(c.get_member("__len__"), Some(Member::Method)));
    c.n.store(3, Ordering::SeqCst);
    assert!(matches!(
        c.get_member("value"),
        Some(Member::Value(Value::Int(3)))
    ));
    assert!(matches!(
        c.get_member("exposed_value"),
        Some(Member::Value(Value::Int(3)))
    ));
    match c.get_member("label") {
        Some(Member::Value(v)) => assert_eq!(v.as_str(), Some("counter at 3")),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.protocol_methods(), ["__len__", "__getitem__"]);
    assert_eq!(c.repr(), "<Counter 3>");
    assert_eq!(c.str(), "<Counter 3>");
    assert_eq!(c.hash(), Some(21));
    assert!(c.is_callable());
}

#[test]
fn hooks_and_edge_cases() {
    let b = Bare;
    assert!(b.member_names().is_empty());
    assert!(!b.has_member("anything"));
    assert!(b.get_member("anything").is_none());
    assert_eq!(b.repr(), "Bare()");
    assert_eq!(b.str(), "a bare object");
    assert_eq!(b.hash(), None);
    assert!(!b.is_callable());
    assert_eq!(b.type_name(), concat!(env!("CARGO_CRATE_NAME"), ".Bare"));
    assert!(b.rpyc_setattr("x", &Value::None).unwrap().is_ok());
    assert!(b.rpyc_delattr("x").is_none());

    let n = Named;
    assert_eq!(LocalObject::type_name(&n), "expand.Named");
    assert_eq!(n.repr(), "Named!");
    assert_eq!(n.str(), "Named!");
    assert_eq!(
        names(&n),
        [
            "__call__",
            "both",
            "exposed_both",
            "exposed_ping",
            "exposed_type_name",
            "ping",
            "type_name"
        ]
    );
    assert!(n.is_callable());
    assert_eq!(n.hash(), Some(3));

    let c = Counter::default();
    assert!(c.rpyc_setattr("a", &Value::Int(1)).unwrap().is_ok());
    let err = c
        .rpyc_setattr("readonly", &Value::Int(1))
        .unwrap()
        .unwrap_err();
    assert!(err.is("AttributeError"));
    assert!(c.rpyc_delattr("a").unwrap().is_ok());
    assert!(c.rpyc_delattr("a").unwrap().is_err());
    assert!(c.rpyc_getattr("value").is_none());

    // Returning the object sends it by reference.
    let v = Counter::default().into_value();
    let exported = Exported::from_value_ref(&v).expect("exported by reference");
    assert_eq!(exported.type_name(), "calc.Counter");
}

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
async fn call_method_directly() {
    let (client, _server) = connect_pair().await;
    let ctx = CallContext::new(client.clone());
    let c: Arc<Counter> = Arc::new(Counter::default());
    let obj: Arc<dyn LocalObject> = c.clone();

    assert_eq!(
        call(obj.clone(), &ctx, "exposed_incr", Args::new())
            .await
            .unwrap(),
        Value::Int(1)
    );
    assert_eq!(
        call(obj.clone(), &ctx, "exposed_incr", Args::from((5i64,)))
            .await
            .unwrap(),
        Value::Int(6)
    );
    assert_eq!(
        call(
            obj.clone(),
            &ctx,
            "exposed_incr",
            Args::new().kwarg("by", 4i64)
        )
        .await
        .unwrap(),
        Value::Int(10)
    );
    assert_eq!(
        call(obj.clone(), &ctx, "slow_double", Args::from((21i64,)))
            .await
            .unwrap(),
        Value::Int(42)
    );
    assert_eq!(
        call(
            obj.clone(),
            &ctx,
            "exposed_slow_double",
            Args::new().kwarg("x", 2i64)
        )
        .await
        .unwrap(),
        Value::Int(4)
    );
    assert_eq!(
        call(obj.clone(), &ctx, "__len__", Args::new())
            .await
            .unwrap(),
        Value::Int(10)
    );
    assert_eq!(
        call(obj.clone(), &ctx, "__getitem__", Args::from((3i64,)))
            .await
            .unwrap(),
        Value::Int(30)
    );
    let e = call(obj.clone(), &ctx, "__getitem__", Args::from((99i64,)))
        .await
        .unwrap_err();
    assert!(e.is("IndexError"), "{e:?}");

    // Rest and keyword-only parameters.
    assert_eq!(
        call(obj.clone(), &ctx, "sum", Args::from((1i64, 2i64, 3i64)))
            .await
            .unwrap(),
        Value::Int(6)
    );
    assert_eq!(
        call(obj.clone(), &ctx, "sum", Args::from((1i64,)))
            .await
            .unwrap(),
        Value::Int(1)
    );
    assert_eq!(
        call(
            obj.clone(),
            &ctx,
            "sum",
            Args::from((1i64, 2i64)).kwarg("scale", 10i64)
        )
        .await
        .unwrap(),
        Value::Int(30)
    );
    let e = call(obj.clone(), &ctx, "sum", Args::from((1i64, "x")))
        .await
        .unwrap_err();
    assert!(e.is("TypeError"), "{e:?}");

    // Context and connection parameters.
    let id = client.id();
    assert_eq!(
        call(obj.clone(), &ctx, "whoami", Args::new())
            .await
            .unwrap(),
        Value::Int(id as i64)
    );
    assert_eq!(
        call(obj.clone(), &ctx, "ctx_async", Args::from((1i64,)))
            .await
            .unwrap(),
        Value::Int(id as i64 + 1)
    );

    // Argument errors: TypeErrors, no panics.
    let msg = type_error_message(call(obj.clone(), &ctx, "slow_double", Args::new()).await);
    assert!(msg.contains("missing required argument: 'x'"), "{msg}");
    let msg = type_error_message(call(obj.clone(), &ctx, "slow_double", Args::from(("no",))).await);
    assert!(msg.contains("argument 'x'"), "{msg}");
    let msg =
        type_error_message(call(obj.clone(), &ctx, "slow_double", Args::from((1i64, 2i64))).await);
    assert!(
        msg.contains("slow_double() takes 1 positional arguments but 2 were given"),
        "{msg}"
    );
    let msg = type_error_message(
        call(
            obj.clone(),
            &ctx,
            "exposed_incr",
            Args::new().kwarg("bogus", 1i64),
        )
        .await,
    );
    assert!(
        msg.contains("incr() got an unexpected keyword argument 'bogus'"),
        "{msg}"
    );
    let msg = type_error_message(
        call(
            obj.clone(),
            &ctx,
            "sum",
            Args::from((1i64,)).kwarg("bogus", 1i64),
        )
        .await,
    );
    assert!(msg.contains("unexpected keyword argument 'bogus'"), "{msg}");

    // Unknown or unexposed names are AttributeErrors.
    for n in ["secret", "incr", "value", "nope"] {
        let e = call(obj.clone(), &ctx, n, Args::new()).await.unwrap_err();
        assert!(e.is("AttributeError"), "{n}: {e:?}");
    }

    // The callable hook.
    assert_eq!(
        obj.clone()
            .call(ctx.clone(), Args::from((5i64,)))
            .await
            .unwrap(),
        Value::Int(15)
    );
    let msg = type_error_message(obj.clone().call(ctx.clone(), Args::new()).await);
    assert!(msg.contains("'x'"), "{msg}");
    let msg = type_error_message(
        obj.clone()
            .call(ctx.clone(), Args::from((1i64, 2i64)))
            .await,
    );
    assert!(
        msg.contains("__call__() takes 1 positional arguments"),
        "{msg}"
    );

    // Returning an object: by reference.
    let v = call(obj.clone(), &ctx, "child", Args::new()).await.unwrap();
    let child = Exported::from_value_ref(&v).expect("by reference");
    assert_eq!(child.repr(), "<Counter 100>");
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
