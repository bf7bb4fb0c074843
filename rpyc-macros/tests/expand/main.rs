//! Positive tests: objects and services defined with the macros, used through the generated
//! trait impls directly and through a real in-process connection.
//!
//! One test binary (its crate name, `expand`, is part of the default type names asserted), a
//! module a concern, mirroring `src/expand/`:
//!
//! | module | covers |
//! |---|---|
//! | `members` | `expand::members`, `expand::analyze`: the member table and its names |
//! | `protocol` | `expand::protocol`, `expand::object`: protocol hooks, type names, `IntoValue` |
//! | `service` | `expand::service`: names, aliases, connection hooks, a real connection |
//! | `invoke` | `expand::invoke`, `expand::signature`: calls, argument conversion and errors |
//!
//! The fixture types below are shared by every module.

mod invoke;
mod members;
mod protocol;
mod service;

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rpyc_core::{FromValue, RemoteException, Value};
use rpyc_netref::{CallContext, Connection, LocalObject, Rest};

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
