//! The services and objects of the root-and-calls tests (`root_and_calls.rs`,
//! `root_attributes.rs`, `objects_by_reference.rs`, `connection_hooks.rs`, each through
//! `#[path = "support/shop.rs"] mod shop;`): a shop service with attributes, methods of every
//! argument shape, protocol hooks and connection hooks, the cart it returns by reference, and a
//! plain service with default naming. The macros expand in the including test crate, so a
//! default type name is that crate's (`root_and_calls.PlainService`).
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rpyc::{Connection, RemoteException, Rest, Value};

/// What the service's hooks saw, shared with the test.
#[derive(Default)]
pub struct Hooks {
    /// `on_connect` calls.
    pub connected: AtomicUsize,
    /// `on_disconnect` calls.
    pub disconnected: AtomicUsize,
}

/// The shop: `version` and `motto` attributes, `add`, `greet`, `total`, `count`, `open_cart`,
/// `echo`; a `motto`-only setattr, repr and str hooks, connection hooks counted in `hooks`.
pub struct ShopService {
    hooks: Arc<Hooks>,
    motto: Mutex<String>,
}

impl ShopService {
    /// A shop whose connection hooks count into `hooks`.
    pub fn new(hooks: Arc<Hooks>) -> Self {
        ShopService {
            hooks,
            motto: Mutex::new("buy low".into()),
        }
    }

    /// Not exposed: no peer can reach it.
    #[allow(dead_code)]
    fn restock(&self) -> &'static str {
        "restocked"
    }
}

#[rpyc::service(name = "shop.ShopService", aliases = ["SHOP", "store"])]
impl ShopService {
    #[exposed(attr)]
    fn version(&self) -> i64 {
        3
    }

    #[exposed(attr)]
    fn motto(&self) -> String {
        self.motto.lock().unwrap().clone()
    }

    #[exposed]
    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    #[exposed]
    fn greet(&self, name: String, greeting: Option<String>, times: Option<i64>) -> String {
        let one = format!("{}, {name}!", greeting.unwrap_or_else(|| "Hello".into()));
        vec![one; times.unwrap_or(1).max(0) as usize].join(" ")
    }

    /// Exposed by its prefix: reachable as `total` and `exposed_total`.
    fn exposed_total(&self, prices: Vec<f64>) -> f64 {
        prices.iter().fold(0.0, |a, b| a + b)
    }

    #[exposed]
    fn count(&self, label: String, items: Rest) -> String {
        format!("{label}: {}", items.len())
    }

    #[exposed]
    fn open_cart(&self, owner: String) -> Cart {
        Cart {
            owner,
            items: Mutex::new(Vec::new()),
        }
    }

    #[exposed]
    fn echo(&self, x: Value) -> Value {
        x
    }

    /// Only `motto` may be set, and only to a str.
    #[rpyc(setattr)]
    fn set_attribute(&self, name: &str, value: Value) -> Result<(), RemoteException> {
        match (name, value) {
            ("motto", Value::Str(s)) => {
                *self.motto.lock().unwrap() = s;
                Ok(())
            }
            ("motto", other) => Err(RemoteException::type_error(format!(
                "motto must be a str, not {}",
                other.type_name()
            ))),
            (other, _) => Err(RemoteException::attribute_error(format!(
                "cannot set attribute '{other}'"
            ))),
        }
    }

    #[rpyc(repr)]
    fn show(&self) -> String {
        "<ShopService v3>".into()
    }

    #[rpyc(str)]
    fn text(&self) -> String {
        "the shop".into()
    }

    #[on_connect]
    fn hello(&self, _conn: &Connection) {
        self.hooks.connected.fetch_add(1, Ordering::SeqCst);
    }

    #[on_disconnect]
    fn bye(&self, _conn: &Connection) {
        self.hooks.disconnected.fetch_add(1, Ordering::SeqCst);
    }
}

/// A cart, returned by reference from `open_cart`.
struct Cart {
    owner: String,
    items: Mutex<Vec<(String, i64)>>,
}

#[rpyc::object(name = "shop.Cart")]
impl Cart {
    #[exposed(attr)]
    fn owner(&self) -> String {
        self.owner.clone()
    }

    /// Adds `qty` (default 1) of `item`; returns the number of pieces in the cart.
    #[exposed]
    fn put(&self, item: String, qty: Option<i64>) -> i64 {
        let mut items = self.items.lock().unwrap();
        items.push((item, qty.unwrap_or(1)));
        items.iter().map(|(_, q)| q).sum()
    }

    #[exposed]
    fn items(&self) -> Vec<(String, i64)> {
        self.items.lock().unwrap().clone()
    }

    #[exposed(name = "__len__")]
    fn len(&self) -> usize {
        self.items.lock().unwrap().len()
    }

    #[exposed(name = "__getitem__")]
    fn item(&self, index: i64) -> Result<String, RemoteException> {
        let items = self.items.lock().unwrap();
        usize::try_from(index)
            .ok()
            .and_then(|i| items.get(i))
            .map(|(name, _)| name.clone())
            .ok_or_else(|| RemoteException::index_error("cart index out of range"))
    }

    /// The end of a `with` block: empties the cart; never swallows the exception.
    #[exposed(name = "__exit__")]
    fn exit(&self, _typ: Value, _value: Value, _tb: Value) -> bool {
        self.items.lock().unwrap().clear();
        false
    }

    #[rpyc(repr)]
    fn show(&self) -> String {
        format!(
            "<Cart of {} with {} items>",
            self.owner,
            self.items.lock().unwrap().len()
        )
    }
}

/// A service with no hooks and default naming.
pub struct PlainService;

#[rpyc::service]
impl PlainService {
    #[exposed]
    fn ping(&self) -> &'static str {
        "pong"
    }
}

/// A shop whose hook counts nobody reads.
pub fn shop() -> ShopService {
    ShopService::new(Arc::default())
}

/// The remote exception `e` carries (panics if it is another error).
pub fn remote(e: &rpyc::Error) -> &RemoteException {
    e.remote()
        .unwrap_or_else(|| panic!("expected a remote exception, got {e:?}"))
}
