//! [`ByRef`]: plain Rust data sent **by reference**, shaped the way a Python client expects —
//! a map as a dict-like object, a struct as an object with attributes.
//!
//! By value (what a method's `HashMap` or `rpyc::Serde<T>` return does), brine has no dict and
//! no object: a map arrives in Python as a tuple of `(key, value)` pairs and a struct as a
//! plain tuple, its field names lost. It is one message, whatever the size. Wrapped in
//! [`ByRef`], the same data stays on this side and the client gets a proxy:
//!
//! | the value | what a Python client sees |
//! |---|---|
//! | a map (`HashMap`, `BTreeMap`, any serde map; or [`ByRef::map`] of `IntoValue` pairs) | a read-only mapping: `d["k"]` (`KeyError` when missing), `len(d)`, `"k" in d`, `d.keys()`, `d.values()`, `d.items()` (live views), `dict(d)`, `for k in d`, `d.get(k, default)`, `repr(d)` like a dict's |
//! | a serde struct | an object whose fields are attributes: `obj.name`, `dir(obj)` lists them, `repr(obj)` is `User(name='ann', ...)`; setting one raises `AttributeError`, unless declared writable ([`ByRef::writable`]) |
//! | a sequence (`Vec<T>`, a tuple) | a read-only sequence: `s[i]`, `len(s)`, `x in s`, `for x in s` |
//!
//! Inside, a nested struct or map is an object of its own (read-only), returned when its field
//! or key is read; a sequence field comes by value, as a tuple (its structs and maps, again,
//! as objects); scalars come by value. Each access is one round trip; nested objects show the
//! value as it was when they were read.
//!
//! Only these names answer: the fields (as RPyC's exposed names, so the default access policy
//! lets exactly them through), the mapping and sequence protocol, `keys`, `values`, `items`,
//! `get`. Nothing else is reachable (`obj.__dict__`, `obj.__class__.__init__`, private names:
//! `AttributeError`), whatever the value's type.
//!
//! ```
//! use std::collections::HashMap;
//! use rpyc::{ByRef, NetRef, Value};
//!
//! #[derive(serde::Serialize, serde::Deserialize, Clone)]
//! struct User {
//!     name: String,
//!     age: u32,
//! }
//!
//! struct Directory {
//!     me: ByRef<User>,
//! }
//!
//! #[rpyc::service]
//! impl Directory {
//!     /// Python: `d = conn.root.ages()`, `d["ann"]`, `dict(d)`, `for k, v in d.items()`.
//!     #[exposed]
//!     fn ages(&self) -> ByRef<HashMap<String, u32>> {
//!         ByRef::new(HashMap::from([("ann".to_string(), 7)]))
//!     }
//!
//!     /// Python: `u = conn.root.me()`, `u.name`, `u.name = "bo"` (`u.age = 1`: AttributeError).
//!     #[exposed]
//!     fn me(&self) -> ByRef<User> {
//!         self.me.clone()
//!     }
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let me = ByRef::new(User { name: "ann".into(), age: 7 }).writable(["name"]);
//! let service = Directory { me: me.clone() };
//! let (client, _server) = rpyc::connect_pair_with(service, rpyc::Config::default()).await;
//! let root = client.root().await?;
//!
//! let ages: NetRef = root.call_method("ages", ()).await?.extract()?;
//! assert_eq!(ages.getitem("ann").await?, Value::Int(7));
//! let all: HashMap<String, u32> = ages.fetch().await?;
//! assert_eq!(all["ann"], 7);
//!
//! let user: NetRef = root.call_method("me", ()).await?.extract()?;
//! assert_eq!(user.attr::<String>("name").await?, "ann");
//! user.setattr("name", "bo").await?;
//! assert_eq!(me.get().name, "bo"); // the service sees the client's write
//! assert!(user.setattr("age", 1).await.unwrap_err().is_remote("AttributeError"));
//! assert!(user.setattr("name", 1).await.unwrap_err().is_remote("TypeError"));
//! # Ok::<(), rpyc::Error>(())
//! # }).unwrap();
//! ```

mod shape;

use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;
use rpyc_core::{ConvertError, IntoValue, RemoteException, Value};
use serde::de::DeserializeOwned;
use serde::Serialize;

use self::shape::{MapNode, Node, RecordNode, SeqNode};
use crate::object::{export, Args, BoxFuture, CallContext, CallResult};
use crate::object::{LocalObject, Member};
use crate::views::{DictView, ItemIterator, ViewKind};

/// The longest `repr` of a by-reference value, in bytes, before the rest is shown as `...`.
const REPR_LIMIT: usize = 8 * 1024;

/// Plain data a service returns **by reference**: the Python client sees a map as a read-only
/// dict-like object and a struct as an object with attributes (see the [module
/// docs](crate::by_ref)). Cloning a `ByRef` shares the value: a clone kept by the service reads
/// what a client wrote ([`ByRef::get`]), and what the service changes ([`ByRef::set`],
/// [`ByRef::update`]) the client sees on its next access.
pub struct ByRef<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for ByRef<T> {
    fn clone(&self) -> Self {
        ByRef {
            shared: self.shared.clone(),
        }
    }
}

/// What a [`ByRef`] and the objects it exported share.
struct Shared<T> {
    state: Mutex<State<T>>,
    /// How the value is shown: through serde, or as a map of `IntoValue` pairs.
    shape: fn(&T) -> Result<Node, ConvertError>,
}

struct State<T> {
    value: T,
    /// The shape of `value`, built on first access after a change.
    shape: Option<Node>,
    /// Which fields the peer may set.
    writable: Writable,
    /// Reads `T` back from its by-value form with names (set by [`ByRef::writable`]).
    rebuild: Option<fn(Value) -> Result<T, ConvertError>>,
}

/// Which fields of a struct the peer may set.
enum Writable {
    None,
    Some(Vec<String>),
    All,
}

impl Writable {
    fn allows(&self, field: &str) -> bool {
        match self {
            Writable::None => false,
            Writable::Some(names) => names.iter().any(|n| n == field),
            Writable::All => true,
        }
    }
}

impl<T> State<T> {
    /// The current shape, built if the value changed since the last access.
    fn node(&mut self, shape: fn(&T) -> Result<Node, ConvertError>) -> Result<Node, ConvertError> {
        if let Some(node) = &self.shape {
            return Ok(node.clone());
        }
        let node = shape(&self.value)?;
        self.shape = Some(node.clone());
        Ok(node)
    }
}

impl<T: Serialize + Send + Sync + 'static> ByRef<T> {
    /// `value` by reference, shown through serde: a struct as an object with attributes, a
    /// map as a dict-like object, a sequence as a sequence; nested parts as the [module
    /// docs](crate::by_ref) say. Read-only until [`ByRef::writable`].
    pub fn new(value: T) -> ByRef<T> {
        ByRef::with_shape(value, |v| shape::shape_of(v))
    }
}

impl<T: Send + Sync + 'static> ByRef<T> {
    /// A map of keys and values that are not serde types (`Value`s, `NetRef`s, objects),
    /// by reference: a read-only dict-like object whose values are as `IntoValue` makes them
    /// (each is cloned when read). Works for `HashMap`, `BTreeMap`, and any type whose `&T`
    /// iterates over `(&K, &V)` pairs.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use rpyc::{ByRef, Value};
    /// let m = ByRef::map(BTreeMap::from([(1, Value::str("one"))]));
    /// assert_eq!(m.get()[&1], Value::str("one"));
    /// ```
    pub fn map<K, V>(value: T) -> ByRef<T>
    where
        for<'a> &'a T: IntoIterator<Item = (&'a K, &'a V)>,
        K: IntoValue + Clone + 'static,
        V: IntoValue + Clone + 'static,
    {
        ByRef::with_shape(value, |v| Ok(shape::shape_of_pairs(v)))
    }

    fn with_shape(value: T, shape: fn(&T) -> Result<Node, ConvertError>) -> ByRef<T> {
        ByRef {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    value,
                    shape: None,
                    writable: Writable::None,
                    rebuild: None,
                }),
                shape,
            }),
        }
    }

    /// Lets the peer set these fields of a struct (`obj.name = "x"` in Python). The new
    /// value is type-checked by deserializing the struct with it (`TypeError` if it does not
    /// fit, the value unchanged); values that Python sends by reference (a list, a dict)
    /// do not fit: send a tuple. Other fields stay read-only (`AttributeError`); nested
    /// structs and maps are always read-only. No effect on maps and sequences.
    pub fn writable<I, S>(self, fields: I) -> ByRef<T>
    where
        T: DeserializeOwned,
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let names = fields.into_iter().map(Into::into).collect();
        self.allow_writes(Writable::Some(names))
    }

    /// Lets the peer set every field of a struct (see [`ByRef::writable`]).
    pub fn writable_all(self) -> ByRef<T>
    where
        T: DeserializeOwned,
    {
        self.allow_writes(Writable::All)
    }

    fn allow_writes(self, writable: Writable) -> ByRef<T>
    where
        T: DeserializeOwned,
    {
        {
            let mut state = self.shared.state.lock();
            state.writable = writable;
            state.rebuild = Some(|v| rpyc_core::from_value(v));
        }
        self
    }

    /// A copy of the value now (with what the peer wrote).
    pub fn get(&self) -> T
    where
        T: Clone,
    {
        self.shared.state.lock().value.clone()
    }

    /// Runs `f` on the value now (the value is locked meanwhile: keep `f` short).
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.shared.state.lock().value)
    }

    /// Replaces the value; the peer sees the new one on its next access.
    pub fn set(&self, value: T) {
        self.update(|v| *v = value);
    }

    /// Changes the value in place; the peer sees the change on its next access.
    pub fn update<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mut state = self.shared.state.lock();
        state.shape = None;
        f(&mut state.value)
    }
}

impl<T: fmt::Debug> fmt::Debug for ByRef<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ByRef")
            .field(&self.shared.state.lock().value)
            .finish()
    }
}

/// Sends the value by reference. A value whose shape is a scalar (a number, a string, `None`)
/// has nothing to refer to and is sent by value; one that fails to serialize is sent as
/// `None`, as `rpyc::Serde` does.
impl<T: Send + Sync + 'static> IntoValue for ByRef<T> {
    fn into_value(self) -> Value {
        let node = self.shared.state.lock().node(self.shared.shape);
        let type_name = match node {
            Ok(Node::Map(_)) => MAP_TYPE.to_string(),
            Ok(Node::Seq(_)) => SEQ_TYPE.to_string(),
            Ok(Node::Record(r)) => r.type_name.clone(),
            Ok(Node::Leaf(v)) => return v,
            Err(_) => return Value::None,
        };
        export(Live {
            source: self.shared,
            type_name,
        })
    }
}

/// The type name a Python client sees for a map by reference.
const MAP_TYPE: &str = "rpyc_rs.mapping";
/// The type name a Python client sees for a sequence by reference.
const SEQ_TYPE: &str = "rpyc_rs.sequence";

/// The value of a [`ByRef`] as the exported objects reach it: its current shape, and the
/// writes the peer may make.
trait Source: Send + Sync + 'static {
    /// The current shape.
    fn node(&self) -> Result<Node, RemoteException>;
    /// `obj.<name> = value`, if `name` is a writable field (else `None`: the access policy
    /// decides, and refuses).
    fn set_field(&self, name: &str, value: &Value) -> Option<Result<(), RemoteException>>;
}

impl<T: Send + Sync + 'static> Source for Shared<T> {
    fn node(&self) -> Result<Node, RemoteException> {
        Ok(self.state.lock().node(self.shape)?)
    }

    fn set_field(&self, name: &str, value: &Value) -> Option<Result<(), RemoteException>> {
        let field = name.strip_prefix("exposed_").unwrap_or(name);
        let mut state = self.state.lock();
        let rebuild = state.rebuild?;
        if !state.writable.allows(field) {
            return None;
        }
        let Ok(Node::Record(record)) = state.node(self.shape) else {
            return None;
        };
        let at = record.position(field)?;
        let plain = record.to_plain_with(Some((at, value.clone())));
        Some(match rebuild(plain) {
            Ok(new) => {
                state.value = new;
                state.shape = None;
                Ok(())
            }
            Err(e) => Err(RemoteException::type_error(format!(
                "attribute '{field}': {e}"
            ))),
        })
    }
}

/// The object a [`ByRef`] is exported as: whatever its value's shape is now.
struct Live {
    source: Arc<dyn Source>,
    type_name: String,
}

impl Live {
    /// The current shape, or an empty one if the value cannot be shown.
    fn node(&self) -> Node {
        self.source.node().unwrap_or(Node::Leaf(Value::None))
    }
}

/// What each shape answers, for the objects that show it (a nested map or struct, or a
/// [`Live`] root). `this` is the object the peer holds, for the dict views it hands out.
trait Part {
    fn type_name(&self) -> &str;
    /// The protocol methods of the shape (a map's, a sequence's): its members, unless it says
    /// otherwise (a record's members are its fields).
    fn methods(&self) -> &'static [&'static str] {
        &[]
    }
    fn member_names(&self) -> Vec<String> {
        self.methods().iter().map(|m| m.to_string()).collect()
    }
    fn has_member(&self, name: &str) -> bool {
        self.methods().contains(&name)
    }
    fn get_member(&self, name: &str) -> Option<Member> {
        self.has_member(name).then_some(Member::Method)
    }
    fn call(&self, this: Arc<dyn LocalObject>, name: &str, args: Args) -> CallResult;
    fn repr(&self) -> String;
}

/// The mapping protocol, as Python's `dict` names it.
const MAP_METHODS: &[&str] = &[
    "__getitem__",
    "__len__",
    "__contains__",
    "__iter__",
    "exposed_keys",
    "exposed_values",
    "exposed_items",
    "exposed_get",
];

/// The sequence protocol.
const SEQ_METHODS: &[&str] = &["__getitem__", "__len__", "__contains__", "__iter__"];

fn no_method(type_name: &str, name: &str) -> RemoteException {
    RemoteException::no_attribute(type_name, name)
}

impl Part for MapNode {
    fn type_name(&self) -> &str {
        MAP_TYPE
    }
    fn methods(&self) -> &'static [&'static str] {
        MAP_METHODS
    }
    fn call(&self, this: Arc<dyn LocalObject>, name: &str, mut args: Args) -> CallResult {
        let view = |kind| Ok(export(DictView::new(this.clone(), kind)));
        let plain = name.strip_prefix("exposed_").unwrap_or(name);
        let arity = match plain {
            "__getitem__" | "__contains__" => 1,
            "get" => 2,
            _ => 0,
        };
        let key = if arity > 0 {
            Some(args.take::<Value>(0, "key")?)
        } else {
            None
        };
        let default = if plain == "get" {
            args.take::<Option<Value>>(1, "default")?
        } else {
            None
        };
        args.check_no_extra(arity, plain)?;
        let key = key.unwrap_or_default();
        match plain {
            "__getitem__" => self
                .get(&key)
                .map(Node::to_value)
                .ok_or_else(|| RemoteException::key_error(key)),
            "get" => Ok(self
                .get(&key)
                .map(Node::to_value)
                .unwrap_or(default.unwrap_or_default())),
            "__contains__" => Ok(Value::Bool(self.get(&key).is_some())),
            "__len__" => Ok(Value::Int(self.entries.len() as i64)),
            "__iter__" => Ok(export(ItemIterator::new(
                self.entries.iter().map(|(k, _)| k.clone()).collect(),
            ))),
            "keys" => view(ViewKind::Keys),
            "values" => view(ViewKind::Values),
            "items" => view(ViewKind::Items),
            _ => Err(no_method(MAP_TYPE, name)),
        }
    }
    fn repr(&self) -> String {
        let mut out = String::new();
        self.write_repr(&mut out, REPR_LIMIT);
        out
    }
}

impl Part for SeqNode {
    fn type_name(&self) -> &str {
        SEQ_TYPE
    }
    fn methods(&self) -> &'static [&'static str] {
        SEQ_METHODS
    }
    fn call(&self, _this: Arc<dyn LocalObject>, name: &str, mut args: Args) -> CallResult {
        let arity = usize::from(matches!(name, "__getitem__" | "__contains__"));
        let arg = if arity == 1 {
            args.take::<Value>(0, "index")?
        } else {
            Value::None
        };
        args.check_no_extra(arity, name)?;
        match name {
            "__getitem__" => {
                let Value::Int(i) = arg else {
                    return Err(RemoteException::type_error(format!(
                        "sequence indices must be integers, not {}",
                        arg.type_name()
                    )));
                };
                let len = self.items.len() as i64;
                let at = if i < 0 { i + len } else { i };
                usize::try_from(at)
                    .ok()
                    .and_then(|at| self.items.get(at))
                    .map(Node::to_value)
                    .ok_or_else(|| RemoteException::index_error("sequence index out of range"))
            }
            "__contains__" => Ok(Value::Bool(self.items.iter().any(|n| n.to_value() == arg))),
            "__len__" => Ok(Value::Int(self.items.len() as i64)),
            "__iter__" => Ok(export(ItemIterator::new(
                self.items.iter().map(Node::to_value).collect(),
            ))),
            _ => Err(no_method(SEQ_TYPE, name)),
        }
    }
    fn repr(&self) -> String {
        SeqNode::repr(self, REPR_LIMIT)
    }
}

impl Part for RecordNode {
    fn type_name(&self) -> &str {
        &self.type_name
    }
    /// Fields are listed under RPyC's exposed names, so the default policy lets exactly them
    /// through (`obj.name` resolves to `exposed_name`) and `dir(obj)` shows them plainly.
    fn member_names(&self) -> Vec<String> {
        self.fields
            .iter()
            .map(|(f, _)| format!("exposed_{f}"))
            .collect()
    }
    fn has_member(&self, name: &str) -> bool {
        name.strip_prefix("exposed_")
            .is_some_and(|field| self.position(field).is_some())
    }
    fn get_member(&self, name: &str) -> Option<Member> {
        let field = name.strip_prefix("exposed_")?;
        let at = self.position(field)?;
        Some(Member::Value(self.fields[at].1.to_value()))
    }
    fn call(&self, _this: Arc<dyn LocalObject>, name: &str, _args: Args) -> CallResult {
        Err(no_method(&self.type_name, name))
    }
    fn repr(&self) -> String {
        let mut out = String::new();
        self.write_repr(&mut out, REPR_LIMIT);
        out
    }
}

/// The part a node shows as an object (`None` for a scalar).
fn part_of(node: &Node) -> Option<&dyn Part> {
    match node {
        Node::Map(m) => Some(&**m),
        Node::Seq(s) => Some(&**s),
        Node::Record(r) => Some(&**r),
        Node::Leaf(_) => None,
    }
}

/// The [`LocalObject`] of a nested map, sequence or struct: its own part, `this` itself.
macro_rules! part_object {
    ($($ty:ty),*) => {$(
        impl LocalObject for $ty {
            fn type_name(&self) -> &str {
                Part::type_name(self)
            }
            fn member_names(&self) -> Vec<String> {
                Part::member_names(self)
            }
            fn has_member(&self, name: &str) -> bool {
                Part::has_member(self, name)
            }
            fn get_member(&self, name: &str) -> Option<Member> {
                Part::get_member(self, name)
            }
            fn call_method(
                self: Arc<Self>,
                name: &str,
                _ctx: CallContext,
                args: Args,
            ) -> BoxFuture<CallResult> {
                let result = Part::call(&*self, self.clone(), name, args);
                Box::pin(std::future::ready(result))
            }
            fn repr(&self) -> String {
                Part::repr(self)
            }
        }
    )*};
}

part_object!(MapNode, SeqNode, RecordNode);

impl LocalObject for Live {
    fn type_name(&self) -> &str {
        &self.type_name
    }
    fn member_names(&self) -> Vec<String> {
        let node = self.node();
        part_of(&node).map_or_else(Vec::new, |p| p.member_names())
    }
    fn has_member(&self, name: &str) -> bool {
        let node = self.node();
        part_of(&node).is_some_and(|p| p.has_member(name))
    }
    fn get_member(&self, name: &str) -> Option<Member> {
        let node = self.node();
        part_of(&node).and_then(|p| p.get_member(name))
    }
    fn call_method(
        self: Arc<Self>,
        name: &str,
        _ctx: CallContext,
        args: Args,
    ) -> BoxFuture<CallResult> {
        let result = self.source.node().and_then(|node| match part_of(&node) {
            Some(p) => p.call(self.clone(), name, args),
            None => Err(no_method(&self.type_name, name)),
        });
        Box::pin(std::future::ready(result))
    }
    /// Writes to the fields declared writable, bypassing the policy for them only (as
    /// RPyC's `_rpyc_setattr`); every other name goes through the policy, which refuses.
    fn rpyc_setattr(&self, name: &str, value: &Value) -> Option<Result<(), RemoteException>> {
        self.source.set_field(name, value)
    }
    fn repr(&self) -> String {
        let node = self.node();
        part_of(&node).map_or_else(|| "None".to_string(), |p| p.repr())
    }
}
