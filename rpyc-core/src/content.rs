//! What a Rust type needs from a value that arrived by reference: [`Content`], and [`Dict`],
//! the fetched content of a mapping.
//!
//! A Python client passes its lists, dicts and sets by reference (RPyC boxes only brine's
//! immutable types by value). A Rust parameter of a by-value type (`Vec<T>`, `HashMap<K, V>`,
//! a serde struct) cannot be filled from a reference directly: its content must be fetched
//! first. This module is the protocol-free half of that: each [`crate::FromValue`] type says,
//! through [`crate::FromValue::content`], which parts of a value it wants as content; the
//! connection (`rpyc-netref`) fetches exactly those parts, in bulk, and then converts as usual.
//!
//! ```
//! use std::collections::HashMap;
//! use rpyc::{Content, FromValue, Value};
//! // A `Vec<i64>` wants a sequence of plain items; a `Value` takes whatever came.
//! assert_eq!(Vec::<i64>::content(), Content::Seq(Box::new(Content::AsIs)));
//! assert_eq!(Value::content(), Content::AsIs);
//! assert!(matches!(HashMap::<String, i64>::content(), Content::Map(..)));
//! // Nothing is fetched for values that hold no reference.
//! assert!(!Vec::<i64>::content().wants_fetch(&Value::Tuple(vec![Value::Int(1)])));
//! ```

use std::any::Any;
use std::sync::Arc;

use crate::value::{Object, Opaque, Value};

/// Which parts of a value a Rust type needs as content (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Content {
    /// The value as it arrived: a reference stays a reference (scalars, `Value`, `NetRef`).
    AsIs,
    /// A sequence: a by-reference iterable is read by iteration (`__iter__`, then BUFFITER
    /// batches); each item as the inner `Content` says.
    Seq(Box<Content>),
    /// A mapping: a by-reference mapping is read as its keys (by iteration), then every value
    /// (`__getitem__`, all requests in one burst); keys and values as the inner `Content`s say.
    /// A by-reference sequence (a list of pairs) is read as a sequence of `(key, value)` pairs.
    Map(Box<Content>, Box<Content>),
    /// A fixed-size tuple whose items are read positionally (a Python list for a Rust tuple).
    Tuple(Vec<Content>),
    /// Every by-reference builtin container, recursively (serde types, whose shape is known
    /// only while they deserialize). Mappings become [`Dict`]s; other objects stay references.
    Deep,
}

/// How a by-reference object is read when its content is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    /// A mapping: iteration gives its keys, `obj[key]` its values (`dict`, `OrderedDict`, …).
    Mapping,
    /// An iterable whose items are the content (`list`, `set`, `range`, a generator, …).
    Iterable,
    /// An object whose attributes are its content: `dir(obj)` names them, `obj.name` reads
    /// each (a struct rpyc-rs sends by reference, `rpyc::ByRef`). Read as a mapping of
    /// attribute names to values, which serde structs read fields from by name.
    Record,
    /// Anything else: read only when the Rust type asks for a container there.
    Other,
}

/// Classifies a remote type by its dotted name (`"builtins.dict"`, `"builtins.list"`).
///
/// Only the names of Python's builtin containers are known; a type of another name is
/// [`ContainerKind::Other`] and is read as a container only where the Rust type says so.
pub fn container_kind(type_name: &str) -> ContainerKind {
    const MAPPINGS: &[&str] = &[
        "builtins.dict",
        "builtins.mappingproxy",
        "collections.OrderedDict",
        "collections.defaultdict",
        "collections.Counter",
        "collections.ChainMap",
    ];
    const ITERABLES: &[&str] = &[
        "list",
        "tuple",
        "set",
        "frozenset",
        "range",
        "dict_keys",
        "dict_values",
        "dict_items",
        "generator",
        "list_iterator",
        "list_reverseiterator",
        "tuple_iterator",
        "set_iterator",
        "range_iterator",
        "dict_keyiterator",
        "dict_valueiterator",
        "dict_itemiterator",
        "map",
        "filter",
        "zip",
        "enumerate",
        "reversed",
    ];
    if MAPPINGS.contains(&type_name) {
        return ContainerKind::Mapping;
    }
    // rpyc-rs' own iterators and dict views (`rpyc_netref::views`) iterate like Python's;
    // its by-reference data (`rpyc_netref::by_ref`) reads as a dict, a list or a record.
    const OURS: &[&str] = &["iterator", "dict_view", "sequence"];
    if type_name == "rpyc_rs.mapping" {
        return ContainerKind::Mapping;
    }
    if type_name.starts_with("rpyc_rs.record.") {
        return ContainerKind::Record;
    }
    match (
        type_name.strip_prefix("builtins."),
        type_name.strip_prefix("rpyc_rs."),
    ) {
        (Some(short), _) if ITERABLES.contains(&short) => ContainerKind::Iterable,
        (_, Some(short)) if OURS.contains(&short) => ContainerKind::Iterable,
        _ if type_name == "collections.deque" => ContainerKind::Iterable,
        _ => ContainerKind::Other,
    }
}

impl Content {
    /// True when `v` holds a reference where this content expects a container, so that its
    /// content must be fetched before conversion. Cheap when `v` holds no reference at all.
    pub fn wants_fetch(&self, v: &Value) -> bool {
        match (self, v) {
            (Content::AsIs, _) => false,
            (Content::Deep, Value::Object(o)) => {
                Dict::from_object(o).is_none()
                    && container_kind(o.type_name()) != ContainerKind::Other
            }
            (_, Value::Object(o)) => Dict::from_object(o).is_none(),
            (Content::Seq(item), Value::Tuple(items) | Value::FrozenSet(items)) => {
                items.iter().any(|i| item.wants_fetch(i))
            }
            (Content::Map(k, v), Value::Tuple(pairs)) => pairs.iter().any(|p| match p {
                Value::Tuple(kv) if kv.len() == 2 => k.wants_fetch(&kv[0]) || v.wants_fetch(&kv[1]),
                other => Content::AsIs.wants_fetch(other),
            }),
            (Content::Tuple(parts), Value::Tuple(items)) => {
                parts.iter().zip(items).any(|(c, i)| c.wants_fetch(i))
            }
            (Content::Deep, Value::Tuple(items) | Value::FrozenSet(items)) => {
                items.iter().any(|i| Content::Deep.wants_fetch(i))
            }
            _ => false,
        }
    }

    /// The content wanted of item `index` of a sequence or tuple.
    pub fn item(&self, index: usize) -> &Content {
        match self {
            Content::Seq(item) => item,
            Content::Tuple(parts) => parts.get(index).unwrap_or(&Content::AsIs),
            Content::Deep => &Content::Deep,
            _ => &Content::AsIs,
        }
    }
}

/// The content of a mapping fetched from the peer: its `(key, value)` pairs in iteration order.
///
/// It travels inside a [`Value`] as an object (type name `dict`) so that conversions can tell a
/// mapping from a sequence of pairs: maps (`HashMap`, `BTreeMap`) accept both, serde structs
/// read their fields from it by name. It never goes back on the wire. As a parameter type it
/// takes any mapping with keys and values as they came (`Value`s).
///
/// ```
/// use std::collections::BTreeMap;
/// use rpyc::{Dict, FromValue, Value};
/// let d = Dict(vec![(Value::str("a"), Value::Int(1))]).into_value();
/// let m = BTreeMap::<String, i64>::from_value(d).unwrap();
/// assert_eq!(m["a"], 1);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dict(pub Vec<(Value, Value)>);

impl Dict {
    /// The dict as a [`Value`].
    pub fn into_value(self) -> Value {
        Value::Object(Object::new(self))
    }

    /// The dict an object holds, if it holds one.
    pub fn from_object(o: &Object) -> Option<&Dict> {
        o.downcast_ref::<Dict>()
    }

    /// The pairs of a dict value, or the value back if it is not a dict.
    pub fn take_pairs(v: Value) -> Result<Vec<(Value, Value)>, Value> {
        match &v {
            Value::Object(o) => match o.downcast_arc::<Dict>() {
                Some(d) => Ok(Arc::try_unwrap(d).unwrap_or_else(|d| (*d).clone()).0),
                None => Err(v),
            },
            _ => Err(v),
        }
    }
}

impl crate::FromValue for Dict {
    /// Any mapping: a fetched dict, or a tuple of `(key, value)` pairs.
    fn from_value(v: Value) -> Result<Self, crate::ConvertError> {
        match Dict::take_pairs(v) {
            Ok(pairs) => Ok(Dict(pairs)),
            Err(v) => <Vec<(Value, Value)>>::from_value(v)
                .map(Dict)
                .map_err(|e| match e {
                    crate::ConvertError::Type { actual, .. } => crate::ConvertError::Type {
                        expected: "a mapping".into(),
                        actual,
                    },
                    other => other,
                }),
        }
    }
    fn content() -> Content {
        Content::Map(Box::new(Content::AsIs), Box::new(Content::AsIs))
    }
}

impl Opaque for Dict {
    fn type_name(&self) -> &str {
        "dict"
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_arc(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_builtin_containers() {
        assert_eq!(container_kind("builtins.dict"), ContainerKind::Mapping);
        assert_eq!(container_kind("builtins.list"), ContainerKind::Iterable);
        assert_eq!(
            container_kind("builtins.generator"),
            ContainerKind::Iterable
        );
        assert_eq!(container_kind("calc.Counter"), ContainerKind::Other);
        assert_eq!(container_kind("list"), ContainerKind::Other);
        assert_eq!(container_kind("rpyc_rs.mapping"), ContainerKind::Mapping);
        assert_eq!(container_kind("rpyc_rs.sequence"), ContainerKind::Iterable);
        assert_eq!(container_kind("rpyc_rs.record.User"), ContainerKind::Record);
    }

    #[test]
    fn fetch_is_wanted_only_where_a_container_is_expected() {
        let obj = Value::Object(Object::new(Dict::default()));
        // A fetched dict is content already.
        assert!(!Content::Seq(Box::new(Content::AsIs)).wants_fetch(&obj));
        let seq = Content::Seq(Box::new(Content::Seq(Box::new(Content::AsIs))));
        assert!(!seq.wants_fetch(&Value::Tuple(vec![Value::Tuple(vec![])])));
        assert!(!Content::AsIs.wants_fetch(&obj));
        assert_eq!(seq.item(3), &Content::Seq(Box::new(Content::AsIs)));
    }
}
