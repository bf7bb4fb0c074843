//! Attribute macros that turn an `impl` block into an RPyC object or service.
//!
//! This crate is re-exported by `rpyc` as `rpyc::object` and `rpyc::service`; use it through
//! that facade. Two attribute macros are provided:
//!
//! * [`macro@object`] implements `LocalObject` (the trait of everything the peer reaches by
//!   reference) and `IntoValue` (so returning the type from a method sends it by reference);
//! * [`macro@service`] does the same and also implements `Service` (the root object of a
//!   connection, with its name, aliases and connection hooks).
//!
//! A third, [`macro@remote`], goes on a trait: see [Typed interfaces](#typed-interfaces-remote).
//!
//! Both go on an **inherent** impl block, `impl Type { ... }` (generic ones too:
//! `impl<T: Bound> Wrapper<T> { ... }` serves every `T`). The block is
//! re-emitted unchanged apart from the helper attributes described below, which are removed.
//! They are inert markers, only meaningful inside such a block.
//!
//! # Example
//!
//! ```
//! use std::sync::atomic::{AtomicI64, Ordering};
//! use rpyc::{CallContext, Rest};
//!
//! #[derive(Default)]
//! struct Counter { n: AtomicI64 }
//!
//! #[rpyc::object(name = "calc.Counter")]
//! impl Counter {
//!     // Exposed by its prefix: the peer calls `c.incr(5)` or `c.exposed_incr(by=5)`.
//!     fn exposed_incr(&self, by: Option<i64>) -> i64 {
//!         self.n.fetch_add(by.unwrap_or(1), Ordering::SeqCst) + by.unwrap_or(1)
//!     }
//!     // A data attribute: `c.value` reads it.
//!     #[exposed(attr)]
//!     fn value(&self) -> i64 { self.n.load(Ordering::SeqCst) }
//!     // A protocol method under its dunder name: `len(c)`.
//!     #[exposed(name = "__len__")]
//!     fn len(&self) -> usize { self.n.load(Ordering::SeqCst) as usize }
//!     #[rpyc(repr)]
//!     fn show(&self) -> String { format!("<Counter {}>", self.n.load(Ordering::SeqCst)) }
//!     // Not exposed: unreachable from the peer, whatever the configuration.
//!     fn reset(&self) { self.n.store(0, Ordering::SeqCst) }
//! }
//!
//! struct CalculatorService;
//!
//! #[rpyc::service(aliases = ["CALC", "CALCULATOR"])]
//! impl CalculatorService {
//!     #[exposed]
//!     fn add(&self, a: i64, b: i64) -> i64 { a + b }
//!     #[exposed]
//!     fn counter(&self) -> Counter { Counter::default() }   // sent by reference
//!     // `ctx` is filled from the call, `values` takes every positional argument after
//!     // `first`, and `sep` can only be given by keyword: `calc.join(1, 2, 3, sep="+")`.
//!     #[exposed]
//!     async fn join(&self, ctx: CallContext, first: String, values: Rest, sep: Option<String>) -> String {
//!         let _peer = ctx.conn();                            // call back into the peer here
//!         let sep = sep.unwrap_or_else(|| ",".into());
//!         values.iter().fold(first, |acc, v| format!("{acc}{sep}{}", v.repr()))
//!     }
//!     #[on_connect]
//!     fn hello(&self, conn: &rpyc::Connection) { println!("connected: {:?}", conn.id()); }
//! }
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! # let (client, _server) = rpyc::connect_pair_with(CalculatorService, Default::default()).await;
//! # let root = client.root().await?;
//! # assert_eq!(root.call_method("add", (2, 3)).await?, rpyc::Value::Int(5));
//! # let c: rpyc::NetRef = root.call_method("counter", ()).await?.extract()?;
//! # assert_eq!(c.call_method("incr", (5,)).await?, rpyc::Value::Int(5));
//! # assert_eq!(c.attr::<i64>("value").await?, 5);
//! # assert_eq!(c.len().await?, 5);
//! # assert_eq!(c.repr().await?, "<Counter 5>");
//! # let j = root.call_method("join", rpyc::Args::from(("a", 1, 2)).kwarg("sep", "+")).await?;
//! # assert_eq!(j, rpyc::Value::str("a+1+2"));
//! # Ok::<(), rpyc::Error>(())
//! # }).unwrap();
//! ```
//!
//! # Outer attribute arguments
//!
//! | argument | macros | meaning |
//! |---|---|---|
//! | `name = "pkg.Type"` | both | The type name the peer sees (the `name_pack` of the object's id; Python's proxy class is named after it). Default: `concat!(env!("CARGO_CRATE_NAME"), ".", "Type")`. |
//! | `aliases = ["A", "B"]` | `service` | The service's names, upper-cased; the first is its name (`get_service_name()`). Default: RPyC's rule, the type name's last component upper-cased minus a trailing `SERVICE` (`CalculatorService` → `CALCULATOR`). |
//! | `crate = path` | both | Where the runtime lives (default `::rpyc`). Use `crate = ::rpyc_netref` when depending on `rpyc-netref` directly. A string (`crate = "::rpyc_netref"`) is accepted too. |
//! | `mapping` | both | The type is a map (its `__iter__` yields keys, its `__getitem__` gives values): adds `keys()`, `values()` and `items()` returning live dict views (`rpyc::views::DictView`), unless the block defines them. Python's `dict(m)`, `sorted(m.keys())`, `for k, v in m.items()` then work. |
//! | `fields(a, b)` | both | Struct fields exposed as read-only data attributes (`obj.a`; the field is cloned and converted with `IntoValue` on each read). |
//!
//! # Which methods are members
//!
//! Only what is marked is reachable; any other method of the block is not a member at all, so
//! no configuration switch (`allow_all_attrs`, …) can reach it.
//!
//! | marker | registered under (real names) |
//! |---|---|
//! | method name `exposed_foo` (no attribute) | `exposed_foo` only (the access policy maps `foo` to it) |
//! | `#[exposed]` on `fn foo` | `exposed_foo` and `foo` (like Python's `@rpyc.exposed`) |
//! | `#[exposed(name = "bar")]` | `exposed_bar` and `bar` |
//! | `#[exposed(name = "__getitem__")]`, or `#[exposed]` on `fn __len__` | dunders (`__x__`) only under that exact name |
//! | `#[exposed(attr)]`, `#[exposed(attr, name = "x")]` | as above, but a data attribute (see below) |
//! | `#[exposed(inline)]`, `#[exposed(inline, name = "x")]` | as `#[exposed]`; a cheap synchronous method run on the runtime (see [Where methods run](#where-methods-run)) |
//! | `#[exposed] const ANSWER: T = …;` | `exposed_answer` and `answer` (an upper-case name is exposed in lower case; `name = "x"` renames) |
//! | `const exposed_answer: T = …;` (no attribute) | `exposed_answer` only, as RPyC's `exposed_answer = 43` |
//!
//! `#[exposed]` on a method already named `exposed_foo` registers `exposed_foo` and `foo`. Two
//! members registering the same name is a compile error.
//!
//! An unmarked method or constant of the block gets `#[allow(dead_code)]`: leaving it unmarked
//! is how it is kept off the remote surface, so an unused one is not reported. Put helpers you
//! want linted in a separate `impl` block.
//!
//! ## Exposed methods
//!
//! The receiver must be `&self` (objects are shared behind an `Arc`; keep state in a `Mutex`,
//! atomics, …). Methods may be `async fn`; their future must be `Send`. Parameters are filled
//! by their type:
//!
//! * `CallContext` or `&CallContext`: the context of the call (its connection, to call back);
//! * `Connection` or `&Connection`: the connection the call arrived on;
//! * `Rest`: every remaining positional argument (Python's `*args`); parameters after it can
//!   only be given by keyword (keyword-only, as in Python);
//! * anything else, `p: T` with `T: FromValue`: the argument named `p` if given by keyword,
//!   else the next positional one. `Option<T>` parameters are optional (missing → `None`).
//!
//! ### Containers that arrive by reference
//!
//! A Python client sends its lists, dicts, sets, ranges and generators **by reference** (RPyC
//! sends only immutable builtins by value). A parameter of a by-value container type —
//! `Vec<T>`, `HashSet<T>`/`BTreeSet<T>`, `HashMap<K, V>`/`BTreeMap<K, V>`, a tuple, `Option` of
//! one, `rpyc::Serde<T>` (a struct from a dict, fields by name), `rpyc::Dict` (any mapping),
//! nested in any way — accepts them: before the method runs, the content is fetched in bulk
//! (`__iter__`, then BUFFITER batches of 1024; a mapping's values with every `__getitem__`
//! written in one burst), a fixed number of round trips whatever the length, never one per
//! item. A wrong element is a `TypeError` naming the argument and the item
//! (`argument 'xs': item 2: expected int, got str`, `… value of key 'b': …`). An object of the
//! service's own that comes back (Python's `sum_values(c.root.make_map())`) is read the same
//! way, locally. Parameters of type `Value` or `NetRef` (and `Vec<NetRef>`'s items) keep the
//! references. What one argument may bring is bounded (`rpyc::fetch::MAX_FETCHED_ITEMS` items,
//! `rpyc::fetch::MAX_FETCH_DEPTH` levels). The same applies to `Dispatcher::function`; code
//! that converts by hand calls `Args::take_fetched`, and a client reads a peer's container
//! with `NetRef::fetch::<T>()`.
//!
//! ```
//! use std::collections::HashMap;
//!
//! struct Stats;
//!
//! #[rpyc::service]
//! impl Stats {
//!     // Python: `conn.root.total([1, 2, 3])`, `total({1, 2})`, `total(range(10))`, …
//!     #[exposed]
//!     fn total(&self, xs: Vec<i64>) -> i64 { xs.iter().sum() }
//!     // Python: `conn.root.longest({"a": [1, 2], "b": []})`
//!     #[exposed]
//!     fn longest(&self, groups: HashMap<String, Vec<i64>>) -> usize {
//!         groups.values().map(Vec::len).max().unwrap_or(0)
//!     }
//! }
//! ```
//!
//! These types are recognised by the last segment of their path (`rpyc::CallContext`,
//! `CallContext`, …), so do not give a regular parameter a type of your own with one of those
//! names. A wrong type or a missing required argument makes the peer see a `TypeError` naming
//! the parameter; so do extra positional arguments (unless there is a `Rest` parameter) and
//! unknown keyword arguments. Errors are returned, never panics.
//!
//! The return type can be anything implementing `IntoReturn`: any `IntoValue` type (returned by
//! value; a type with `#[object]` is returned by reference), or `Result<T, E>` with
//! `E: Into<RemoteException>`, whose error the peer sees raised.
//!
//! ## Where methods run
//!
//! RPyC users write blocking methods by habit — Python's `ThreadedServer` gives each
//! connection a thread — so a blocking body must never stall other requests or other
//! connections. The rule:
//!
//! * A **synchronous** method (`fn`, not marked `inline`) runs where blocking is allowed:
//!   `std::thread::sleep`, a blocking file read or a mutex wait in it stalls nobody else. At
//!   most `Config::max_sync_calls` (default 8) synchronous calls of one connection run at
//!   once; that connection's further synchronous calls wait, in the order they arrived, until
//!   one finishes. Other connections have their own slots; only the runtime's blocking-thread
//!   limit (tokio's `max_blocking_threads`, 512 by default) bounds them all, and beyond it
//!   calls wait in arrival order. Arguments are converted before, on the runtime (a wrong
//!   argument costs nothing more).
//! * To call the peer from a synchronous method (a callback), use the blocking API: take a
//!   `rpyc::blocking::NetRef` parameter and call it (`f.call((x,))?`), or wrap the call's
//!   connection (`rpyc::blocking::Connection::from_async(ctx.conn().clone())`). While it waits
//!   for the peer's reply, the call holds no slot, so callbacks nested to any depth never
//!   deadlock, whatever the limit.
//! * An **`async fn`** runs on the runtime as a task: it must not block (await instead).
//! * A synchronous method marked **`#[exposed(inline)]`** runs on the runtime too, in the
//!   task that handles the request, with no hop. Mark only methods that are cheap and can
//!   never block — arithmetic, reading a field, a short lock held by nobody for long. **The
//!   risk:** while an inline method runs, its runtime worker serves nothing else; one that
//!   blocks (a sleep, I/O, a contended lock, a call into the peer through the blocking API,
//!   which then fails) stalls every request and connection on that worker, and with as many
//!   blocked calls as workers, the whole server.
//! * `#[exposed(attr)]` getters and the `#[rpyc(...)]` hooks other than `call` (`repr`,
//!   `str`, `hash`, `setattr`, `delattr`) always run inline, in arrival order on the
//!   connection's reader: keep them cheap. The `#[rpyc(call)]` method follows the rule of
//!   exposed methods (synchronous: off the runtime; `async fn`: on it). `#[on_connect]` and
//!   `#[on_disconnect]` run where the connection starts and closes, on the runtime.
//!
//! What the hop costs: a synchronous call that finds a free slot runs at once on the worker
//! that received it, the worker's other tasks handed to another thread (tokio's
//! `block_in_place`); one that waited for a slot starts on a blocking thread. On the project's
//! 2-vCPU VM the benchmark's scenario (1s), `root.block(0)` through an unmarked synchronous
//! method, took 1.25× the raw TCP round trip against 1.17× for scenario (1)'s inline `add`
//! in the same run — about 10 µs more per call (a plain `spawn_blocking` hop and back measured
//! 1.36× against 1.17×, about 25 µs). Mark a hot, cheap method `inline` to save it.
//!
//! ## Data attributes
//!
//! `#[exposed(attr)]` on `fn foo(&self) -> T` (`T: IntoValue`, no other parameters, not async)
//! makes `foo` a data attribute: every read of `obj.foo` by the peer calls the getter.
//! An exposed associated constant is a data attribute too (`#[exposed] const VERSION: &str =
//! "1.2";` reads as `obj.version`), and so is a field named in `#[object(fields(...))]`. All
//! three are read-only: setting them raises `AttributeError` (use a `setattr` hook to allow it).
//!
//! ## Iterators
//!
//! An object with an exposed `__next__` and no `__iter__` gets an `__iter__` that returns the
//! object itself, as every Python iterator does, so `for x in it`, `list(it)` and
//! `iter(it) is it` work from Python. To hand out the items of a Rust iterator or stream,
//! computed only as the peer reads them, return `rpyc::LazyIter` instead of writing one.
//!
//! # Protocol hooks: `#[rpyc(...)]`
//!
//! At most one method per key; a method may carry several keys (`#[rpyc(repr, str)]`) and can
//! also be exposed. Hook methods that are not exposed are not members.
//!
//! | key | signature | implements |
//! |---|---|---|
//! | `call` | like an exposed method | `LocalObject::call` (the object is callable: `obj(...)`) |
//! | `repr` | `fn(&self) -> String` (any `Into<String>`) | `repr(obj)`; also `str(obj)` unless a `str` hook exists |
//! | `str` | `fn(&self) -> String` | `str(obj)` |
//! | `hash` | `fn(&self) -> i64` (any `Into<i64>`) | `hash(obj)` |
//! | `setattr` | `fn(&self, name: &str, value: Value) -> Result<(), E>` (or `value: &Value`) | `LocalObject::rpyc_setattr`, like Python's `_rpyc_setattr` |
//! | `delattr` | `fn(&self, name: &str) -> Result<(), E>` | `LocalObject::rpyc_delattr`, like Python's `_rpyc_delattr` |
//!
//! `E` is any `Into<RemoteException>`. The `setattr` and `delattr` hooks replace the access
//! policy check for those operations entirely (as in RPyC), so validate `name` yourself.
//! (`getattr` is deliberately not offered: use data attributes and exposed methods.)
//!
//! # Service hooks (`#[service]` only)
//!
//! `#[on_connect]` and `#[on_disconnect]` (at most one each) mark a method
//! `fn(&self, conn: &Connection)` as `Service::on_connect` / `Service::on_disconnect`. Hooks are
//! not members and cannot be exposed.
//!
//! # Typed interfaces: `#[remote]`
//!
//! `#[rpyc::remote]` on `trait Calculator` keeps the trait (what a service implements) and
//! generates three types beside it:
//!
//! | type | what it is |
//! |---|---|
//! | `CalculatorClient` | a typed proxy (`Clone`): one `async fn` per trait method, same name and parameters, returning `rpyc::Result<T>`. Get one with `conn.root_as::<CalculatorClient>()`, `netref.cast()` or `CalculatorClient::from_netref`; `.netref()` is the dynamic API, `.with_timeout(..)` a copy with a deadline per call. It works against any RPyC peer exposing the names, Python's included. |
//! | `CalculatorBlockingClient` | `client.blocking()`: the same methods, blocking (on `rpyc::blocking::block_on`). |
//! | `CalculatorServer<T>` | `CalculatorServer::new(my_impl)`: any `T: Calculator` served as an RPyC service (named after the trait, upper-cased, minus a trailing `SERVICE`, unless `aliases = [...]`) and object (type name `crate.Calculator` unless `name = "..."`); what `server.serve(|| CalculatorServer::new(..))` and `connect_pair_with` take. |
//!
//! The rules, each checked at compile time with a message at the token:
//!
//! * The trait is not generic; it becomes `Send + Sync + 'static`. Each method takes `&self`,
//!   has no default body and no generics, and returns a value `T` or a `Result<T, E>` (`E:
//!   Into<RemoteException>`, as `rpyc::Error` is). An `rpyc::Error::Remote` error reaches the
//!   caller as that Python exception (a Python client catches `KeyError`).
//! * `fn` methods are synchronous on the service side (they run where blocking is allowed, as
//!   `#[exposed]` methods do; `#[rpyc(inline)]` for cheap ones), `async fn` methods are async
//!   (their future must be `Send`: the trait declares them `-> impl Future + Send`). Clients
//!   are async either way.
//! * Parameters are sent positionally, except `Option<T>` ones: sent by keyword when `Some`,
//!   omitted when `None` (the service sees `None`, or Python's default), and those marked
//!   `#[rpyc(keyword)]`: always sent by keyword (for a Python keyword-only parameter, `def
//!   f(self, x, *, factor)`). `CallContext` /
//!   `Connection` parameters are filled by the server and not part of the client's signature.
//!   A callback parameter is an `rpyc::Func<(A, ..), R>`: the client passes
//!   `Func::new(|a: A| ..)`, the service calls `f.call((a,)).await`.
//! * `#[rpyc(name = "x")]` sets the wire name; `#[rpyc(attr)] fn label(&self) -> T` is a data
//!   attribute (read by clients with `calc.label().await`); `#[rpyc(set = "label")] fn
//!   set_label(&self, v: T) -> rpyc::Result<()>` makes it settable (`calc.label = v` in Python,
//!   `calc.set_label(v).await` in Rust); setting anything else is an `AttributeError`, a value
//!   of the wrong type a `TypeError`.
//! * An object returned by reference with its own interface is an associated type bound by
//!   another `#[remote]` trait: `type Counter: Counter;` and `fn make_counter(&self) ->
//!   rpyc::Result<Self::Counter>`. The service sets `type Counter = MyCounter;`; clients get a
//!   `CounterClient` (a `CounterBlockingClient` from the blocking twin); the wire carries a
//!   reference, so Python sees an object with `increment` and `value`.
//!
//! ```
//! #[rpyc::remote]
//! pub trait Counter {
//!     fn increment(&self, by: Option<i64>) -> rpyc::Result<i64>;
//!     #[rpyc(attr)]
//!     fn value(&self) -> i64;
//! }
//!
//! #[rpyc::remote]
//! pub trait Shop {
//!     type Counter: Counter;
//!     fn make_counter(&self, start: i64) -> rpyc::Result<Self::Counter>;
//! }
//!
//! struct MyCounter(std::sync::atomic::AtomicI64);
//! impl Counter for MyCounter {
//!     fn increment(&self, by: Option<i64>) -> rpyc::Result<i64> {
//!         let by = by.unwrap_or(1);
//!         Ok(self.0.fetch_add(by, std::sync::atomic::Ordering::SeqCst) + by)
//!     }
//!     fn value(&self) -> i64 { self.0.load(std::sync::atomic::Ordering::SeqCst) }
//! }
//! struct MyShop;
//! impl Shop for MyShop {
//!     type Counter = MyCounter;
//!     fn make_counter(&self, start: i64) -> rpyc::Result<MyCounter> {
//!         Ok(MyCounter(start.into()))
//!     }
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let (client, _server) = rpyc::connect_pair_with(ShopServer::new(MyShop), Default::default()).await;
//! let shop: ShopClient = client.root_as().await?;
//! let counter: CounterClient = shop.make_counter(10).await?;
//! assert_eq!(counter.increment(Some(5)).await?, 15);
//! assert_eq!(counter.value().await?, 15);
//! # Ok::<(), rpyc::Error>(())
//! # }).unwrap();
//! ```
//!
//! # Layout of this crate
//!
//! | module | owns |
//! |---|---|
//! | `lib.rs` | the two attribute macros and this manual |
//! | `args` | the outer arguments (`name`, `aliases`, `crate`, `mapping`, `fields`) |
//! | `attrs` | the inert helper attributes (`#[exposed]`, `#[rpyc(...)]`, hooks): parsing and stripping |
//! | `expand` | the pipeline: parse, analyze the impl block, generate the trait impls; `unraw`, `respan` |
//! | `expand::model` | what the analysis hands to generation: members, callables, hooks |
//! | `expand::analyze` | the walk over the block: which items are members, under which names |
//! | `expand::hook_roles` | lifecycle (`#[on_connect]`, `#[on_disconnect]`) and `#[rpyc(...)]` hook methods |
//! | `expand::signature` | signature checks (`&self`, shapes) and a callable's parameters |
//! | `expand::object` | the generated `LocalObject` and `IntoValue` impls, assembled |
//! | `expand::members` | generated `member_names`, `has_member`, `get_member`, `call_method`; `__iter__` and the dict views |
//! | `expand::protocol` | generated protocol hooks: `call`, `rpyc_setattr`, `rpyc_delattr`, `repr`, `str`, `hash` |
//! | `expand::invoke` | the generated body of one call: argument fetch and conversion, where the method runs |
//! | `expand::service` | the generated `Service` impl: connection hooks, aliases |
//! | `remote` | `#[remote]`: the trait's checks and rewrite, the typed clients, and the server's forwarding block (expanded by the pipeline above) |
//!
//! # Compile errors
//!
//! Misuse is reported at the offending tokens: `#[object]`/`#[service]` on a trait impl,
//! a receiver other than `&self`, an unknown `#[rpyc(...)]` key or outer argument, a getter with
//! parameters, duplicate hooks or member names, a non-identifier parameter pattern (the name is
//! the keyword), `&mut CallContext`, `&Rest`, generic or `unsafe` exposed methods. All errors of
//! one block are reported together.

#![warn(missing_docs)]

mod args;
mod attrs;
mod expand;
mod remote;

use proc_macro::TokenStream;

use args::Kind;

/// Implements `LocalObject` and `IntoValue` for the type of an inherent impl block.
///
/// Syntax: `#[object]`, `#[object(name = "pkg.Type")]`, `#[object(crate = ::rpyc_netref)]`, or
/// both arguments. Inside the block, methods are made members with `#[exposed]`,
/// `#[exposed(name = "...")]`, `#[exposed(attr)]` or an `exposed_` prefix, and protocol hooks
/// are marked `#[rpyc(call | repr | str | hash | setattr | delattr)]`. See the
/// [manual](crate) (`rpyc::macros`) for the full rules.
///
/// ```
/// struct Point { x: f64, y: f64 }
///
/// #[rpyc::object(name = "geo.Point")]
/// impl Point {
///     #[exposed(attr)]
///     fn x(&self) -> f64 { self.x }
///     #[exposed(attr)]
///     fn y(&self) -> f64 { self.y }
///     #[exposed]
///     fn norm(&self) -> f64 { self.x.hypot(self.y) }
///     #[rpyc(repr)]
///     fn repr(&self) -> String { format!("Point({}, {})", self.x, self.y) }
/// }
/// ```
#[proc_macro_attribute]
pub fn object(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(args.into(), item.into(), Kind::Object).into()
}

/// Like [`macro@object`], and also implements `Service`: the type can be a connection's root.
///
/// Syntax: `#[service]`, with any of `name = "pkg.Type"`, `aliases = ["NAME", ...]` and
/// `crate = path`. Besides everything `#[object]` accepts, the block may mark one method
/// `#[on_connect]` and one `#[on_disconnect]` (`fn(&self, conn: &Connection)`). Without
/// `aliases`, the service is named after its type (`CalculatorService` → `CALCULATOR`). See the
/// [manual](crate) (`rpyc::macros`) for the full rules.
///
/// ```
/// struct EchoService;
///
/// #[rpyc::service(aliases = ["ECHO"])]
/// impl EchoService {
///     #[exposed]
///     fn echo(&self, x: rpyc::Value) -> rpyc::Value { x }
///     #[on_disconnect]
///     fn bye(&self, _conn: &rpyc::Connection) { println!("bye") }
/// }
/// ```
#[proc_macro_attribute]
pub fn service(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(args.into(), item.into(), Kind::Service).into()
}

/// One trait for both sides of a typed interface: the service implements the trait, clients
/// call it through a generated typed proxy.
///
/// On `trait Calculator { ... }` it generates `CalculatorClient` (async methods over a
/// `NetRef`, the same names and parameters, each returning `rpyc::Result<T>`),
/// `CalculatorBlockingClient` (`client.blocking()`), and `CalculatorServer<T>`, which serves
/// any `T: Calculator` as an RPyC service — to Rust and Python clients alike. The client works
/// against a Python service that exposes the same names too. See the [manual](crate)
/// (`rpyc::macros`, "Typed interfaces") for every rule.
///
/// ```
/// #[rpyc::remote]
/// pub trait Calculator {
///     /// `a + b`.
///     fn add(&self, a: i64, b: i64) -> rpyc::Result<i64>;
/// }
///
/// struct Adder;
/// impl Calculator for Adder {
///     fn add(&self, a: i64, b: i64) -> rpyc::Result<i64> {
///         a.checked_add(b).ok_or_else(|| rpyc::RemoteException::overflow_error("too big").into())
///     }
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let (client, _server) =
///     rpyc::connect_pair_with(CalculatorServer::new(Adder), Default::default()).await;
/// let calc: CalculatorClient = client.root_as().await?;
/// assert_eq!(calc.add(40, 2).await?, 42);
/// assert!(calc.add(i64::MAX, 1).await.unwrap_err().is_remote("OverflowError"));
/// # Ok::<(), rpyc::Error>(())
/// # }).unwrap();
/// ```
#[proc_macro_attribute]
pub fn remote(args: TokenStream, item: TokenStream) -> TokenStream {
    remote::expand(args.into(), item.into()).into()
}
