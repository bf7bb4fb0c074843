//! The `test` service (`TEST`): the interop and acceptance contract of
//! `design/test-service.md`, exercised by real Python `rpyc` clients.

use std::sync::Arc;
use std::time::Duration;

use num_bigint::BigInt;
use parking_lot::Mutex;
use rpyc_core::{Dict, FromValue, RemoteException, Value};
use rpyc_netref::{CallContext, LazyIter, NetRef, Rest};

use super::num;
use crate::server::ConnectionCounter;

/// The largest `n` of `numbers(n)` (design/test-service.md: "n up to 10⁹").
pub const MAX_NUMBERS: i64 = 1_000_000_000;

/// The acceptance-test service. One instance per connection.
#[derive(Debug, Default)]
pub struct TestService {
    connections: ConnectionCounter,
}

impl TestService {
    /// A service reporting `connections` from `connection_count()`.
    pub fn new(connections: ConnectionCounter) -> Self {
        TestService { connections }
    }

    /// Never exposed: the contract checks that no path reaches it.
    pub fn secret(&self) -> &'static str {
        "the secret"
    }
}

#[rpyc_macros::service(name = "rpyc_rs.TestService", aliases = ["TEST"], crate = ::rpyc_netref)]
impl TestService {
    /// The int 42.
    #[exposed(attr)]
    fn the_answer(&self) -> i64 {
        42
    }

    /// Returns `x` unchanged (a reference the client sent comes back as the client's object).
    /// Inline: it cannot block (it moves a value), so it needs no blocking thread.
    #[exposed(inline)]
    fn echo(&self, x: Value) -> Value {
        x
    }

    /// `a + b` with Python's rules for int, float, str, bytes and tuple. Cheap and never
    /// blocks, so it runs on the runtime (the benchmark's scenario (1) measures it).
    #[exposed(inline)]
    fn add(&self, a: Value, b: Value) -> Result<Value, RemoteException> {
        num::add(a, b)
    }

    /// True division as a float; `ZeroDivisionError` for `b == 0`.
    #[exposed(inline)]
    fn divide(&self, a: Value, b: Value) -> Result<Value, RemoteException> {
        num::divide(a, b)
    }

    /// Raises `ValueError(msg)`.
    #[exposed(inline)]
    fn fail(&self, msg: Value) -> Result<Value, RemoteException> {
        let text = match msg {
            Value::Str(s) => s,
            other => other.repr(),
        };
        Err(RemoteException::value_error(text))
    }

    /// Calls the client's `f(*args)` and returns its result (its exceptions come back).
    #[exposed]
    async fn call(&self, f: NetRef, args: Rest) -> Result<Value, RemoteException> {
        Ok(f.call(args.into_vec()).await?)
    }

    /// Calls `f(i)` for `i` in `0..n`, in order; a tuple of the results.
    #[exposed]
    async fn call_n(&self, f: NetRef, n: i64) -> Result<Value, RemoteException> {
        let mut out = Vec::with_capacity(n.clamp(0, 1 << 16) as usize);
        for i in 0..n.max(0) {
            out.push(f.call((i,)).await?);
        }
        Ok(Value::Tuple(out))
    }

    /// Waits `seconds` without blocking anything else, then returns `seconds`.
    #[exposed]
    async fn sleep(&self, seconds: Value) -> Result<Value, RemoteException> {
        let s: f64 = seconds.clone().extract()?;
        if !(0.0..=3600.0).contains(&s) {
            return Err(RemoteException::value_error(
                "sleep length must be between 0 and 3600 seconds",
            ));
        }
        tokio::time::sleep(Duration::from_secs_f64(s)).await;
        Ok(seconds)
    }

    /// Blocks the thread that runs it for `seconds` (at most 30), then returns `seconds`: a
    /// synchronous method written the simple way. It runs on the blocking-thread pool like
    /// every synchronous method not marked `inline`, so other requests and connections are
    /// still served meanwhile (the benchmark's scenario (1s) measures the hop with `block(0)`).
    #[exposed]
    fn block(&self, seconds: Value) -> Result<Value, RemoteException> {
        let s = match &seconds {
            Value::Int(i) => *i as f64,
            Value::Float(f) => *f,
            Value::BigInt(_) => f64::INFINITY,
            other => {
                return Err(RemoteException::value_error(format!(
                    "block takes a number of seconds, got {}",
                    other.type_name()
                )))
            }
        };
        if !(0.0..=30.0).contains(&s) {
            return Err(RemoteException::value_error(
                "block length must be between 0 and 30 seconds",
            ));
        }
        std::thread::sleep(Duration::from_secs_f64(s));
        Ok(seconds)
    }

    /// A new [`Counter`], by reference.
    #[exposed(inline)]
    fn make_counter(&self, start: Option<i64>) -> Counter {
        Counter {
            state: Mutex::new((start.unwrap_or(0), String::new())),
        }
    }

    /// A new [`MapObject`] holding `{"a": 1, "b": 2}`, by reference.
    #[exposed(inline)]
    fn make_map(&self) -> MapObject {
        MapObject {
            entries: Arc::new(Mutex::new(vec![
                ("a".into(), Value::Int(1)),
                ("b".into(), Value::Int(2)),
            ])),
        }
    }

    /// `n` bytes, byte `i` being `i % 256`.
    #[exposed]
    fn blob(&self, n: i64) -> Result<Value, RemoteException> {
        if !(0..=(256 << 20)).contains(&n) {
            return Err(RemoteException::value_error(
                "blob size must be between 0 and 256 MiB",
            ));
        }
        Ok(Value::bytes(
            (0..n).map(|i| (i % 256) as u8).collect::<Vec<u8>>(),
        ))
    }

    /// The sum of the ints in `xs`: a tuple, or whatever a Python client passes by reference
    /// that iterates ints (a list, a set, a dict's keys, a `range`, a generator), fetched in
    /// bulk. A non-int element is a `TypeError` naming its index.
    #[exposed]
    fn total(&self, xs: Vec<BigInt>) -> BigInt {
        xs.into_iter().sum()
    }

    /// The sum of the int values of the mapping `d` (a Python dict by reference, or this
    /// server's own map object). A non-int value is a `TypeError` naming its key.
    #[exposed]
    fn sum_values(&self, d: Dict) -> Result<BigInt, RemoteException> {
        let mut sum = BigInt::default();
        for (k, v) in d.0 {
            sum += BigInt::from_value(v)
                .map_err(|e| e.at(format!("value of key {}", k.repr())))
                .map_err(|e| RemoteException::type_error(format!("argument 'd': {e}")))?;
        }
        Ok(sum)
    }

    /// A lazy iterator over the ints `0..n`, by reference: nothing is computed before the
    /// client asks, and the iterator holds O(1) memory whatever `n` (a range). `n` must be an
    /// int with `0 <= n <= 10**9`: another int is a `ValueError`, another type a `TypeError`.
    #[exposed(inline)]
    fn numbers(&self, n: Value) -> Result<LazyIter, RemoteException> {
        let n = match n {
            Value::Int(n) if (0..=MAX_NUMBERS).contains(&n) => n,
            Value::Int(_) | Value::BigInt(_) => {
                return Err(RemoteException::value_error(format!(
                    "numbers(n) takes 0 <= n <= {MAX_NUMBERS}, got {}",
                    n.repr()
                )))
            }
            other => {
                return Err(RemoteException::type_error(format!(
                    "numbers(n) takes an int, not {}",
                    other.type_name()
                )))
            }
        };
        Ok(LazyIter::new(0..n))
    }

    /// How many objects this connection's object table holds (the root included).
    #[exposed(inline)]
    fn object_count(&self, ctx: &CallContext) -> i64 {
        ctx.conn().object_count() as i64
    }

    /// Who the server says is calling: `(peer, subject, sans, auth)` from the connection's
    /// credentials — the peer's address, the verified client certificate's subject (`None`
    /// without one) and alternative names (a tuple), what the authenticator returned (`None`
    /// without one).
    #[exposed(inline)]
    fn whoami(&self, ctx: &CallContext) -> Value {
        let Some(c) = ctx.credentials() else {
            return Value::None;
        };
        let (subject, sans) = match &c.tls {
            Some(id) => (
                Value::str(&id.subject),
                Value::Tuple(id.sans.iter().map(Value::str).collect()),
            ),
            None => (Value::None, Value::Tuple(Vec::new())),
        };
        let auth = c.auth.clone().unwrap_or(Value::None);
        Value::Tuple(vec![Value::str(&c.peer), subject, sans, auth])
    }

    /// How many connections the server has open.
    #[exposed(inline)]
    fn connection_count(&self) -> i64 {
        self.connections.get() as i64
    }
}

/// A counter returned by reference from `make_counter`.
#[derive(Debug)]
pub struct Counter {
    state: Mutex<(i64, String)>,
}

#[rpyc_macros::object(name = "rpyc_rs.Counter", crate = ::rpyc_netref)]
impl Counter {
    /// The current value.
    #[exposed(attr)]
    fn value(&self) -> i64 {
        self.state.lock().0
    }

    /// A free-form label, settable by the client (str only).
    #[exposed(attr)]
    fn label(&self) -> String {
        self.state.lock().1.clone()
    }

    /// Adds `by` (default 1) and returns the new value.
    #[exposed(inline)]
    fn increment(&self, by: Option<i64>) -> Result<i64, RemoteException> {
        let mut st = self.state.lock();
        st.0 =
            st.0.checked_add(by.unwrap_or(1))
                .ok_or_else(|| RemoteException::overflow_error("counter overflow"))?;
        Ok(st.0)
    }

    /// Only `label` may be set, and only to a str.
    #[rpyc(setattr)]
    fn set_attribute(&self, name: &str, value: Value) -> Result<(), RemoteException> {
        match (name, value) {
            ("label", Value::Str(s)) => {
                self.state.lock().1 = s;
                Ok(())
            }
            ("label", other) => Err(RemoteException::type_error(format!(
                "label must be a str, not {}",
                other.type_name()
            ))),
            (other, _) => Err(RemoteException::attribute_error(format!(
                "cannot set attribute '{other}'"
            ))),
        }
    }

    /// Nothing may be deleted.
    #[rpyc(delattr)]
    fn del_attribute(&self, name: &str) -> Result<(), RemoteException> {
        Err(RemoteException::attribute_error(format!(
            "cannot delete attribute '{name}'"
        )))
    }

    /// `Counter(value=N)`.
    #[rpyc(repr)]
    fn show(&self) -> String {
        format!("Counter(value={})", self.state.lock().0)
    }
}

type Entries = Arc<Mutex<Vec<(String, Value)>>>;

/// A mutable str → value map returned by reference from `make_map`; Python uses it like a dict.
#[derive(Debug)]
pub struct MapObject {
    entries: Entries,
}

fn key_str(key: Value) -> Result<String, RemoteException> {
    match key {
        Value::Str(s) => Ok(s),
        other => Err(RemoteException::key_error(other)),
    }
}

/// `keys()`, `values()` and `items()` are live dict views (`mapping`).
#[rpyc_macros::object(name = "rpyc_rs.Map", mapping, crate = ::rpyc_netref)]
impl MapObject {
    /// `m[key]`; `KeyError` if missing.
    #[exposed(name = "__getitem__", inline)]
    fn getitem(&self, key: Value) -> Result<Value, RemoteException> {
        let k = key_str(key)?;
        self.entries
            .lock()
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| RemoteException::key_error(Value::Str(k)))
    }

    /// `m[key] = value`.
    #[exposed(name = "__setitem__", inline)]
    fn setitem(&self, key: Value, value: Value) -> Result<(), RemoteException> {
        let k = match key {
            Value::Str(s) => s,
            other => {
                return Err(RemoteException::type_error(format!(
                    "keys must be str, not {}",
                    other.type_name()
                )))
            }
        };
        let mut e = self.entries.lock();
        match e.iter_mut().find(|(n, _)| *n == k) {
            Some(slot) => slot.1 = value,
            None => e.push((k, value)),
        }
        Ok(())
    }

    /// `del m[key]`; `KeyError` if missing.
    #[exposed(name = "__delitem__", inline)]
    fn delitem(&self, key: Value) -> Result<(), RemoteException> {
        let k = key_str(key)?;
        let mut e = self.entries.lock();
        match e.iter().position(|(n, _)| *n == k) {
            Some(i) => {
                e.remove(i);
                Ok(())
            }
            None => Err(RemoteException::key_error(Value::Str(k))),
        }
    }

    /// `len(m)`.
    #[exposed(name = "__len__", inline)]
    fn len(&self) -> i64 {
        self.entries.lock().len() as i64
    }

    /// `key in m`.
    #[exposed(name = "__contains__", inline)]
    fn contains(&self, key: Value) -> bool {
        matches!(key, Value::Str(k) if self.entries.lock().iter().any(|(n, _)| *n == k))
    }

    /// `iter(m)`: an iterator over a snapshot of the keys.
    #[exposed(name = "__iter__", inline)]
    fn iter(&self) -> KeyIterator {
        let keys = self
            .entries
            .lock()
            .iter()
            .map(|(k, _)| Value::Str(k.clone()))
            .collect::<Vec<_>>();
        KeyIterator {
            items: Mutex::new(keys.into_iter()),
        }
    }

    /// `m.get(key, default=None)`.
    #[exposed(inline)]
    fn get(&self, key: Value, default: Option<Value>) -> Value {
        match key {
            Value::Str(k) => self
                .entries
                .lock()
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or(default.unwrap_or_default()),
            _ => default.unwrap_or_default(),
        }
    }

    /// Like a dict's repr.
    #[rpyc(repr)]
    fn show(&self) -> String {
        let e = self.entries.lock();
        let body: Vec<String> = e
            .iter()
            .map(|(k, v)| format!("{}: {}", Value::Str(k.clone()).repr(), v.repr()))
            .collect();
        format!("{{{}}}", body.join(", "))
    }
}

/// The iterator `iter(map)` returns (its `__iter__`, returning itself, comes from the macro).
#[derive(Debug)]
pub struct KeyIterator {
    items: Mutex<std::vec::IntoIter<Value>>,
}

#[rpyc_macros::object(name = "rpyc_rs.KeyIterator", crate = ::rpyc_netref)]
impl KeyIterator {
    /// The next key; `StopIteration` at the end.
    #[exposed(name = "__next__", inline)]
    fn next(&self) -> Result<Value, RemoteException> {
        self.items
            .lock()
            .next()
            .ok_or_else(RemoteException::stop_iteration)
    }
}
