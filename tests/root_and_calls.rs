//! The root object and calls: what a user sees after `conn.root()` — attributes, methods with
//! positional, keyword and optional arguments, argument errors, `repr`/`str`/`dir`, objects
//! returned by reference, the service's names, and the connection hooks.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{connect_default, wait_until, Transport};
use rpyc::{Args, Connection, NetRef, RemoteException, Rest, Value};

/// What the service's hooks saw, shared with the test.
#[derive(Default)]
struct Hooks {
    connected: AtomicUsize,
    disconnected: AtomicUsize,
}

struct ShopService {
    hooks: Arc<Hooks>,
    motto: Mutex<String>,
}

impl ShopService {
    fn new(hooks: Arc<Hooks>) -> Self {
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
struct PlainService;

#[rpyc::service]
impl PlainService {
    #[exposed]
    fn ping(&self) -> &'static str {
        "pong"
    }
}

fn shop() -> ShopService {
    ShopService::new(Arc::default())
}

fn remote(e: &rpyc::Error) -> &RemoteException {
    e.remote()
        .unwrap_or_else(|| panic!("expected a remote exception, got {e:?}"))
}

async fn root_and_service_names(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, shop).await;
    let root = conn.root().await?;
    assert_eq!(root.type_name(), "shop.ShopService");
    // While a reference is alive, `root()` gives the same proxy back.
    assert_eq!(conn.root().await?, root);

    assert_eq!(
        root.call_method("get_service_name", ()).await?,
        Value::str("SHOP")
    );
    let aliases: Vec<String> = root
        .call_method("get_service_aliases", ())
        .await?
        .extract()?;
    assert_eq!(
        aliases,
        ["SHOP", "STORE"],
        "aliases are upper-cased, in order"
    );
    // The exposed_ spelling works too, as in RPyC.
    assert_eq!(
        root.call_method("exposed_get_service_name", ()).await?,
        Value::str("SHOP")
    );

    // Default naming: the type name minus `Service`, upper-cased.
    let (plain, _server2) = connect_default(t, || PlainService).await;
    let proot = plain.root().await?;
    assert_eq!(proot.type_name(), "root_and_calls.PlainService");
    assert_eq!(
        proot.call_method("get_service_name", ()).await?,
        Value::str("PLAIN")
    );
    let aliases: Vec<String> = proot
        .call_method("get_service_aliases", ())
        .await?
        .extract()?;
    assert_eq!(aliases, ["PLAIN"]);
    assert_eq!(proot.call_method("ping", ()).await?, Value::str("pong"));
    Ok(())
}

async fn attributes(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, shop).await;
    let root = conn.root().await?;

    assert_eq!(root.attr::<i64>("version").await?, 3);
    assert_eq!(root.getattr("exposed_version").await?, Value::Int(3));
    assert_eq!(root.attr::<String>("motto").await?, "buy low");

    // The service's setattr hook allows `motto` (a str)...
    root.setattr("motto", "buy high").await?;
    assert_eq!(root.attr::<String>("motto").await?, "buy high");
    // ... refuses another type with its own error ...
    let e = root.setattr("motto", 5).await.unwrap_err();
    assert!(e.is_remote("TypeError"), "{e:?}");
    assert!(remote(&e).message().contains("must be a str"), "{e:?}");
    assert_eq!(root.attr::<String>("motto").await?, "buy high");
    // ... and every other name.
    let e = root.setattr("version", 4).await.unwrap_err();
    assert!(e.is_remote("AttributeError"), "{e:?}");
    assert_eq!(root.attr::<i64>("version").await?, 3);
    let e = root.delattr("motto").await.unwrap_err();
    assert!(e.is_remote("AttributeError"), "{e:?}");

    // A missing attribute.
    let e = root.getattr("nonexistent").await.unwrap_err();
    assert!(e.is_remote("AttributeError"), "{e:?}");
    assert!(remote(&e).message().contains("nonexistent"), "{e:?}");

    // A root without a setattr hook refuses setting anything.
    let (plain, _server2) = connect_default(t, || PlainService).await;
    let proot = plain.root().await?;
    let e = proot.setattr("anything", 1).await.unwrap_err();
    assert!(e.is_remote("AttributeError"), "{e:?}");
    let e = proot.setattr("ping", 1).await.unwrap_err();
    assert!(e.is_remote("AttributeError"), "{e:?}");
    assert_eq!(proot.call_method("ping", ()).await?, Value::str("pong"));

    // So does an object without one.
    let cart = root
        .call_method("open_cart", ("ann",))
        .await?
        .extract::<NetRef>()?;
    let e = cart.setattr("owner", "bob").await.unwrap_err();
    assert!(e.is_remote("AttributeError"), "{e:?}");
    assert_eq!(cart.attr::<String>("owner").await?, "ann");
    Ok(())
}

async fn positional_and_keyword_arguments(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, shop).await;
    let root = conn.root().await?;

    assert_eq!(root.call_method("add", (2, 3)).await?, Value::Int(5));
    let by_keyword = Args::new().kwarg("b", 40).kwarg("a", 2);
    assert_eq!(root.call_method("add", by_keyword).await?, Value::Int(42));
    let mixed = Args::new().arg(10).kwarg("b", -4);
    assert_eq!(root.call_method("add", mixed).await?, Value::Int(6));
    // Through the exposed_ name.
    assert_eq!(
        root.call_method("exposed_add", (1, 1)).await?,
        Value::Int(2)
    );

    // Optional parameters: omitted, given by position, given by keyword.
    assert_eq!(
        root.call_method("greet", ("Ann",)).await?,
        Value::str("Hello, Ann!")
    );
    assert_eq!(
        root.call_method("greet", ("Ann", "Hi")).await?,
        Value::str("Hi, Ann!")
    );
    assert_eq!(
        root.call_method("greet", Args::new().arg("Bob").kwarg("times", 2))
            .await?,
        Value::str("Hello, Bob! Hello, Bob!")
    );
    assert_eq!(
        root.call_method("greet", ("Cy", Value::None)).await?,
        Value::str("Hello, Cy!"),
        "None for an optional parameter is 'not given'"
    );

    // A method exposed by its prefix, under both names; a Vec from a tuple.
    assert_eq!(
        root.call_method("total", (vec![1.5, 2.25],)).await?,
        Value::Float(3.75)
    );
    assert_eq!(
        root.call_method("exposed_total", (Vec::<f64>::new(),))
            .await?,
        Value::Float(0.0)
    );

    // *args.
    assert_eq!(
        root.call_method("count", ("things", 1, "two", 3.0)).await?,
        Value::str("things: 3")
    );
    assert_eq!(
        root.call_method("count", ("nothing",)).await?,
        Value::str("nothing: 0")
    );

    // A method read as an attribute is a callable reference.
    let add = root.getattr("add").await?.extract::<NetRef>()?;
    assert_eq!(add.call((20, 22)).await?, Value::Int(42));
    assert_eq!(
        add.call(Args::new().kwarg("a", 1).kwarg("b", 2)).await?,
        Value::Int(3)
    );
    assert!(add.repr().await?.contains("add"), "{}", add.repr().await?);
    Ok(())
}

async fn wrong_arguments(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, shop).await;
    let root = conn.root().await?;

    // A wrong type names the argument, the expected and the actual type.
    let e = root.call_method("add", ("two", 3)).await.unwrap_err();
    assert!(e.is_remote("TypeError"), "{e:?}");
    let msg = remote(&e).message();
    assert!(msg.contains("'a'"), "{msg}");
    assert!(msg.contains("int") && msg.contains("str"), "{msg}");

    let e = root
        .call_method("add", Args::new().arg(1).kwarg("b", 2.5))
        .await
        .unwrap_err();
    assert!(e.is_remote("TypeError"), "{e:?}");
    let msg = remote(&e).message();
    assert!(msg.contains("'b'") && msg.contains("float"), "{msg}");

    let e = root
        .call_method("greet", ("Ann", Value::Int(7)))
        .await
        .unwrap_err();
    assert!(e.is_remote("TypeError"), "{e:?}");
    assert!(remote(&e).message().contains("'greeting'"), "{e:?}");

    // Missing, extra and unknown arguments.
    let e = root.call_method("add", (1,)).await.unwrap_err();
    assert!(e.is_remote("TypeError"), "{e:?}");
    assert!(remote(&e).message().contains("'b'"), "{e:?}");
    let e = root.call_method("add", (1, 2, 3)).await.unwrap_err();
    assert!(e.is_remote("TypeError"), "{e:?}");
    let e = root
        .call_method("add", Args::new().arg(1).arg(2).kwarg("c", 3))
        .await
        .unwrap_err();
    assert!(e.is_remote("TypeError"), "{e:?}");
    assert!(remote(&e).message().contains("'c'"), "{e:?}");

    // Unknown and non-exposed methods.
    let e = root.call_method("subtract", (1, 2)).await.unwrap_err();
    assert!(e.is_remote("AttributeError"), "{e:?}");
    let e = root.call_method("restock", ()).await.unwrap_err();
    assert!(e.is_remote("AttributeError"), "{e:?}");
    let e = root.call_method("exposed_restock", ()).await.unwrap_err();
    assert!(e.is_remote("AttributeError"), "{e:?}");

    // A data attribute is not callable.
    let e = root.call_method("version", ()).await.unwrap_err();
    assert!(e.is_remote("TypeError"), "{e:?}");

    // The connection is fine afterwards.
    assert_eq!(root.call_method("add", (1, 2)).await?, Value::Int(3));
    Ok(())
}

async fn repr_str_dir(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, shop).await;
    let root = conn.root().await?;
    assert_eq!(root.repr().await?, "<ShopService v3>");
    assert_eq!(root.str().await?, "the shop");

    let names = root.dir().await?;
    for expected in [
        "add",
        "greet",
        "total",
        "count",
        "open_cart",
        "echo",
        "version",
        "motto",
        "get_service_name",
        "get_service_aliases",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    for hidden in ["restock", "set_attribute", "show", "text", "hello", "bye"] {
        assert!(
            !names.iter().any(|n| n == hidden),
            "{hidden} listed in {names:?}"
        );
    }
    assert!(
        names.iter().all(|n| !n.starts_with("exposed_")),
        "exposed names are listed without their prefix: {names:?}"
    );
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, names, "dir is sorted, without duplicates");

    let cart = root
        .call_method("open_cart", ("ann",))
        .await?
        .extract::<NetRef>()?;
    assert_eq!(cart.repr().await?, "<Cart of ann with 0 items>");
    assert_eq!(
        cart.str().await?,
        "<Cart of ann with 0 items>",
        "str defaults to repr"
    );
    let cart_names = cart.dir().await?;
    for expected in ["owner", "put", "items", "__len__", "__getitem__"] {
        assert!(
            cart_names.iter().any(|n| n == expected),
            "{expected} missing from {cart_names:?}"
        );
    }
    assert!(!cart_names.iter().any(|n| n == "show"), "{cart_names:?}");
    Ok(())
}

async fn objects_by_reference(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, shop).await;
    let root = conn.root().await?;

    let cart = root
        .call_method("open_cart", ("ann",))
        .await?
        .extract::<NetRef>()?;
    assert_eq!(cart.type_name(), "shop.Cart");
    assert_eq!(cart.attr::<String>("owner").await?, "ann");
    assert_eq!(cart.call_method("put", ("apple",)).await?, Value::Int(1));
    assert_eq!(
        cart.call_method("put", Args::new().arg("pear").kwarg("qty", 4))
            .await?,
        Value::Int(5)
    );
    let items: Vec<(String, i64)> = cart.call_method("items", ()).await?.extract()?;
    assert_eq!(items, [("apple".to_string(), 1), ("pear".to_string(), 4)]);
    assert_eq!(cart.len().await?, 2);
    assert_eq!(cart.getitem(1).await?, Value::str("pear"));
    let e = cart.getitem(9).await.unwrap_err();
    assert!(e.is_remote("IndexError"), "{e:?}");
    assert_eq!(cart.repr().await?, "<Cart of ann with 2 items>");

    // Two carts are two objects.
    let other = root
        .call_method("open_cart", ("bob",))
        .await?
        .extract::<NetRef>()?;
    assert_ne!(other, cart);
    assert_eq!(other.len().await?, 0);

    // Sent back to its owner, a reference is the owner's own object again: it comes back as
    // the very same proxy.
    let back = root
        .call_method("echo", (cart.clone(),))
        .await?
        .extract::<NetRef>()?;
    assert_eq!(back, cart);
    assert_eq!(back.len().await?, 2);
    let pair = root.call_method("echo", ((&other, &cart),)).await?;
    let (a, b): (NetRef, NetRef) = pair.extract()?;
    assert_eq!((a, b), (other, cart));
    Ok(())
}

async fn connection_hooks(t: Transport) -> rpyc::Result<()> {
    let hooks = Arc::new(Hooks::default());
    let h = hooks.clone();
    let (conn, _server) = connect_default(t, move || ShopService::new(h.clone())).await;
    let root = conn.root().await?;
    assert_eq!(root.call_method("add", (1, 1)).await?, Value::Int(2));
    assert_eq!(hooks.connected.load(Ordering::SeqCst), 1);
    assert_eq!(hooks.disconnected.load(Ordering::SeqCst), 0);

    conn.close().await?;
    wait_until("on_disconnect ran", Duration::from_secs(5), || {
        hooks.disconnected.load(Ordering::SeqCst) == 1
    })
    .await;
    assert_eq!(hooks.connected.load(Ordering::SeqCst), 1);

    // More connections, each run the hooks once, whether the client closes or just drops
    // every handle.
    for i in 2..=10 {
        let h = hooks.clone();
        let (conn, _server) = connect_default(t, move || ShopService::new(h.clone())).await;
        let root = conn.root().await?;
        root.call_method("add", (i, 0)).await?;
        assert_eq!(hooks.connected.load(Ordering::SeqCst), i);
        if i % 2 == 0 {
            conn.close().await?;
        } else {
            drop(root);
            drop(conn);
        }
        wait_until(
            &format!("on_disconnect ran for connection {i}"),
            Duration::from_secs(5),
            || hooks.disconnected.load(Ordering::SeqCst) == i,
        )
        .await;
    }
    Ok(())
}

/// HANDLE_CTXEXIT (what Python's `with` sends at the end of the block) calls `__exit__` under
/// the policy with the exception class and two `None`s.
async fn context_manager_exit(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, shop).await;
    let root = conn.root().await?;
    let cart = root
        .call_method("open_cart", ("ann",))
        .await?
        .extract::<NetRef>()?;
    cart.call_method("put", ("apple",)).await?;
    let ctxexit = |obj: &NetRef| {
        conn.sync_request(
            rpyc::core::message::Handler::CtxExit,
            vec![rpyc::IntoValue::into_value(obj.clone()), Value::None],
        )
    };
    assert_eq!(ctxexit(&cart).await?, Value::Bool(false));
    assert_eq!(cart.len().await?, 0);
    // An object without `__exit__`: the attribute error of a failed lookup.
    let e = ctxexit(&root).await.unwrap_err();
    assert!(e.is_remote("AttributeError"), "{e:?}");
    Ok(())
}

transport_tests!(
    context_manager_exit,
    root_and_service_names,
    attributes,
    positional_and_keyword_arguments,
    wrong_arguments,
    repr_str_dir,
    objects_by_reference,
    connection_hooks,
);

/// The server side of an in-process pair drops its last handle while the client is still
/// connected: the connection closes, and the service's `on_disconnect` must run (as Python's
/// `Connection.__del__` → `close()` → `on_disconnect`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_disconnect_runs_when_the_serving_side_drops_its_last_handle() -> rpyc::Result<()> {
    let hooks = Arc::new(Hooks::default());
    let (client, server) =
        rpyc::connect_pair_with(ShopService::new(hooks.clone()), rpyc::Config::default()).await;
    let root = client.root().await?;
    assert_eq!(root.call_method("add", (1, 2)).await?, Value::Int(3));
    assert_eq!(hooks.connected.load(Ordering::SeqCst), 1);
    drop(server);
    wait_until("the client saw the close", Duration::from_secs(5), || {
        client.is_closed()
    })
    .await;
    assert_eq!(
        hooks.disconnected.load(Ordering::SeqCst),
        1,
        "on_disconnect did not run"
    );
    Ok(())
}
