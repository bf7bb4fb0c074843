//! The shape of a value shown by reference: a tree of [`Node`]s that keeps what brine's
//! by-value form loses (struct field names, that a map is a map), built by a serde serializer
//! ([`shape_of`]) or from any map of `IntoValue` pairs ([`shape_of_pairs`]).
//!
//! Leaves (numbers, strings, bytes, `None`, unit enum variants) are plain [`Value`]s;
//! sequences stay sequences; maps and structs become [`MapNode`]s and [`RecordNode`]s, which
//! `by_ref` serves as objects. A node also knows its by-value form with names
//! ([`Node::to_plain`]), the form a serde type deserializes back from.

use std::collections::HashMap;
use std::sync::Arc;

use rpyc_core::ser::ValueSerializer;
use rpyc_core::{ConvertError, Dict, IntoValue, Value};
use serde::ser::{self, Serialize};

use crate::object::export_arc;

/// One part of a value shown by reference.
#[derive(Clone)]
pub(crate) enum Node {
    /// A scalar (or anything that travels as it is).
    Leaf(Value),
    /// A sequence (a `Vec`, a tuple, a tuple struct).
    Seq(Arc<SeqNode>),
    /// A map: a dict-like object.
    Map(Arc<MapNode>),
    /// A struct: an object whose fields are attributes.
    Record(Arc<RecordNode>),
}

/// The items of a sequence.
pub(crate) struct SeqNode {
    pub(crate) items: Vec<Node>,
}

/// The entries of a map, in their order, with an index by key.
pub(crate) struct MapNode {
    pub(crate) entries: Vec<(Value, Node)>,
    /// [`lookup_key`] of each key → its entry (the first, if two keys are equal in Python).
    index: HashMap<Value, usize>,
}

/// The fields of a struct (or of an enum's struct variant).
pub(crate) struct RecordNode {
    /// `rpyc_rs.record.<Name>`: the type name the peer sees.
    pub(crate) type_name: String,
    /// The struct's name (`User`), or the variant's (for `repr`).
    pub(crate) name: &'static str,
    /// The variant, when this is an enum's struct variant (its by-value form is
    /// `(variant, fields)`).
    variant: Option<&'static str>,
    pub(crate) fields: Vec<(&'static str, Node)>,
}

impl Node {
    /// The part as the peer receives it when it reads it: leaves and sequences by value (a
    /// sequence as a tuple), maps and structs by reference.
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Node::Leaf(v) => v.clone(),
            Node::Seq(s) => Value::Tuple(s.items.iter().map(Node::to_value).collect()),
            Node::Map(m) => export_arc(m.clone()),
            Node::Record(r) => export_arc(r.clone()),
        }
    }

    /// The part by value, with names: structs and maps as [`Dict`]s (fields by name), what
    /// `rpyc::from_value` reads a serde type from.
    pub(crate) fn to_plain(&self) -> Value {
        match self {
            Node::Leaf(v) => v.clone(),
            Node::Seq(s) => Value::Tuple(s.items.iter().map(Node::to_plain).collect()),
            Node::Map(m) => Dict(
                m.entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_plain()))
                    .collect(),
            )
            .into_value(),
            Node::Record(r) => r.to_plain_with(None),
        }
    }

    /// Appends a Python-like `repr` of the part to `out`, eliding what comes after `limit`
    /// bytes.
    pub(crate) fn write_repr(&self, out: &mut String, limit: usize) {
        match self {
            Node::Leaf(v) => out.push_str(&v.repr()),
            Node::Seq(s) => {
                out.push('(');
                write_list(out, limit, s.items.iter(), |out, n| {
                    n.write_repr(out, limit)
                });
                if s.items.len() == 1 {
                    out.push(',');
                }
                out.push(')');
            }
            Node::Map(m) => m.write_repr(out, limit),
            Node::Record(r) => r.write_repr(out, limit),
        }
    }
}

/// Writes `items` separated by `, `, or `...` once `out` is longer than `limit`.
fn write_list<I: Iterator>(
    out: &mut String,
    limit: usize,
    items: I,
    mut each: impl FnMut(&mut String, I::Item),
) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if out.len() > limit {
            out.push_str("...");
            return;
        }
        each(out, item);
    }
}

impl SeqNode {
    /// `[a, b]`, as Python shows a list.
    pub(crate) fn repr(&self, limit: usize) -> String {
        let mut out = String::from("[");
        write_list(&mut out, limit, self.items.iter(), |out, n| {
            n.write_repr(out, limit)
        });
        out.push(']');
        out
    }
}

impl MapNode {
    fn new(entries: Vec<(Value, Node)>) -> MapNode {
        let mut index = HashMap::with_capacity(entries.len());
        for (i, (k, _)) in entries.iter().enumerate() {
            index.entry(lookup_key(k)).or_insert(i);
        }
        MapNode { entries, index }
    }

    /// The entry whose key equals `key` as Python compares keys.
    pub(crate) fn get(&self, key: &Value) -> Option<&Node> {
        self.index
            .get(&lookup_key(key))
            .map(|&i| &self.entries[i].1)
    }

    /// `{k: v, ...}`, as Python shows a dict.
    pub(crate) fn write_repr(&self, out: &mut String, limit: usize) {
        out.push('{');
        write_list(out, limit, self.entries.iter(), |out, (k, v)| {
            out.push_str(&k.repr());
            out.push_str(": ");
            v.write_repr(out, limit);
        });
        out.push('}');
    }
}

impl RecordNode {
    /// The position of field `name`.
    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|(f, _)| *f == name)
    }

    /// The struct by value with names (see [`Node::to_plain`]), field `replace.0` replaced
    /// by the value `replace.1`.
    pub(crate) fn to_plain_with(&self, replace: Option<(usize, Value)>) -> Value {
        let mut replace = replace;
        let fields = self
            .fields
            .iter()
            .enumerate()
            .map(|(i, (name, node))| {
                let value = match replace.take_if(|(at, _)| *at == i) {
                    Some((_, v)) => v,
                    None => node.to_plain(),
                };
                (Value::str(*name), value)
            })
            .collect();
        let dict = Dict(fields).into_value();
        match self.variant {
            Some(variant) => Value::Tuple(vec![Value::str(variant), dict]),
            None => dict,
        }
    }

    /// `Name(field=value, ...)`, as Python shows a dataclass.
    pub(crate) fn write_repr(&self, out: &mut String, limit: usize) {
        out.push_str(self.name);
        out.push('(');
        write_list(out, limit, self.fields.iter(), |out, (name, node)| {
            out.push_str(name);
            out.push('=');
            node.write_repr(out, limit);
        });
        out.push(')');
    }
}

/// The form of a key under which Python's equal keys meet: `True` and `1.0` are the key `1`
/// (Python's `{1: "a"}[True]` is `"a"`), inside tuples and frozensets too. Other keys are
/// compared as [`Value`]s are (`str`, `bytes`, ints, tuples of them, …).
pub(crate) fn lookup_key(v: &Value) -> Value {
    match v {
        Value::Bool(b) => Value::Int(*b as i64),
        // Integral floats within i64 (and -0.0) are the int of the same value.
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Value::Int(*f as i64),
        Value::Tuple(items) => Value::Tuple(items.iter().map(lookup_key).collect()),
        Value::FrozenSet(items) => Value::FrozenSet(items.iter().map(lookup_key).collect()),
        other => other.clone(),
    }
}

/// The shape of a serde value (see the module docs).
pub(crate) fn shape_of<T: Serialize + ?Sized>(v: &T) -> Result<Node, ConvertError> {
    v.serialize(Shaper)
}

/// The shape of a map of `IntoValue` keys and values: a [`MapNode`] whose values are leaves
/// (each as `IntoValue` makes it).
pub(crate) fn shape_of_pairs<'a, K, V>(pairs: impl IntoIterator<Item = (&'a K, &'a V)>) -> Node
where
    K: IntoValue + Clone + 'a,
    V: IntoValue + Clone + 'a,
{
    let entries = pairs
        .into_iter()
        .map(|(k, v)| (k.clone().into_value(), Node::Leaf(v.clone().into_value())))
        .collect();
    Node::Map(Arc::new(MapNode::new(entries)))
}

/// The serializer behind [`shape_of`]: scalars as `rpyc::to_value` makes them, containers as
/// nodes.
struct Shaper;

/// Collects a sequence (or a tuple variant's fields).
struct SeqShaper {
    items: Vec<Node>,
    variant: Option<&'static str>,
}

impl SeqShaper {
    fn done(self) -> Node {
        let seq = Node::Seq(Arc::new(SeqNode { items: self.items }));
        match self.variant {
            // As `rpyc::to_value`: `(variant, (fields...))`.
            Some(v) => Node::Seq(Arc::new(SeqNode {
                items: vec![Node::Leaf(Value::str(v)), seq],
            })),
            None => seq,
        }
    }
}

/// Collects a map's entries.
struct MapShaper {
    entries: Vec<(Value, Node)>,
    key: Option<Value>,
}

/// Collects a struct's fields.
struct RecordShaper {
    record: RecordNode,
}

fn leaf(v: Result<Value, ConvertError>) -> Result<Node, ConvertError> {
    v.map(Node::Leaf)
}

macro_rules! leaves {
    ($($method:ident($t:ty);)*) => {
        $(fn $method(self, v: $t) -> Result<Node, ConvertError> {
            leaf(ser::Serializer::$method(ValueSerializer, v))
        })*
    };
}

impl ser::Serializer for Shaper {
    type Ok = Node;
    type Error = ConvertError;
    type SerializeSeq = SeqShaper;
    type SerializeTuple = SeqShaper;
    type SerializeTupleStruct = SeqShaper;
    type SerializeTupleVariant = SeqShaper;
    type SerializeMap = MapShaper;
    type SerializeStruct = RecordShaper;
    type SerializeStructVariant = RecordShaper;

    leaves! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_i128(i128);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_u128(u128);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_str(&str);
        serialize_bytes(&[u8]);
    }

    fn serialize_none(self) -> Result<Node, ConvertError> {
        Ok(Node::Leaf(Value::None))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Node, ConvertError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Node, ConvertError> {
        Ok(Node::Leaf(Value::None))
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Node, ConvertError> {
        Ok(Node::Leaf(Value::None))
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _idx: u32,
        variant: &'static str,
    ) -> Result<Node, ConvertError> {
        Ok(Node::Leaf(Value::str(variant)))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        v: &T,
    ) -> Result<Node, ConvertError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _idx: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Node, ConvertError> {
        let items = vec![Node::Leaf(Value::str(variant)), v.serialize(self)?];
        Ok(Node::Seq(Arc::new(SeqNode { items })))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqShaper, ConvertError> {
        Ok(SeqShaper {
            items: Vec::with_capacity(len.unwrap_or(0)),
            variant: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqShaper, ConvertError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SeqShaper, ConvertError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _idx: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqShaper, ConvertError> {
        Ok(SeqShaper {
            items: Vec::with_capacity(len),
            variant: Some(variant),
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapShaper, ConvertError> {
        Ok(MapShaper {
            entries: Vec::with_capacity(len.unwrap_or(0)),
            key: None,
        })
    }
    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<RecordShaper, ConvertError> {
        Ok(RecordShaper {
            record: RecordNode {
                type_name: format!("rpyc_rs.record.{name}"),
                name,
                variant: None,
                fields: Vec::with_capacity(len),
            },
        })
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _idx: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<RecordShaper, ConvertError> {
        Ok(RecordShaper {
            record: RecordNode {
                type_name: format!("rpyc_rs.record.{name}.{variant}"),
                name: variant,
                variant: Some(variant),
                fields: Vec::with_capacity(len),
            },
        })
    }
}

impl ser::SerializeSeq for SeqShaper {
    type Ok = Node;
    type Error = ConvertError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ConvertError> {
        self.items.push(v.serialize(Shaper)?);
        Ok(())
    }
    fn end(self) -> Result<Node, ConvertError> {
        Ok(self.done())
    }
}

/// The tuple-like serializer traits all append one item.
macro_rules! seq_like {
    ($($tr:ident :: $method:ident;)*) => {
        $(
            impl ser::$tr for SeqShaper {
                type Ok = Node;
                type Error = ConvertError;
                fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ConvertError> {
                    ser::SerializeSeq::serialize_element(self, v)
                }
                fn end(self) -> Result<Node, ConvertError> {
                    Ok(self.done())
                }
            }
        )*
    };
}

seq_like! {
    SerializeTuple::serialize_element;
    SerializeTupleStruct::serialize_field;
    SerializeTupleVariant::serialize_field;
}

impl ser::SerializeMap for MapShaper {
    type Ok = Node;
    type Error = ConvertError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), ConvertError> {
        // Keys travel by value (Python's keys are hashable, immutable values).
        self.key = Some(rpyc_core::to_value(k)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ConvertError> {
        let k = self
            .key
            .take()
            .ok_or_else(|| ConvertError::Custom("map value without a key".into()))?;
        self.entries.push((k, v.serialize(Shaper)?));
        Ok(())
    }
    fn end(self) -> Result<Node, ConvertError> {
        Ok(Node::Map(Arc::new(MapNode::new(self.entries))))
    }
}

/// Both struct serializer traits add one named field.
macro_rules! record_like {
    ($($tr:ident;)*) => {
        $(
            impl ser::$tr for RecordShaper {
                type Ok = Node;
                type Error = ConvertError;
                fn serialize_field<T: Serialize + ?Sized>(
                    &mut self,
                    key: &'static str,
                    v: &T,
                ) -> Result<(), ConvertError> {
                    self.record.fields.push((key, v.serialize(Shaper)?));
                    Ok(())
                }
                fn end(self) -> Result<Node, ConvertError> {
                    Ok(Node::Record(Arc::new(self.record)))
                }
            }
        )*
    };
}

record_like! {
    SerializeStruct;
    SerializeStructVariant;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_equal_keys_meet() {
        let map = MapNode::new(vec![
            (Value::Int(1), Node::Leaf(Value::str("one"))),
            (
                Value::Tuple(vec![Value::Int(0), Value::str("a")]),
                Node::Leaf(Value::str("pair")),
            ),
            (Value::bytes(&b"k"[..]), Node::Leaf(Value::str("bytes"))),
        ]);
        let found = |k: Value| map.get(&k).map(Node::to_value);
        assert_eq!(found(Value::Bool(true)), Some(Value::str("one")));
        assert_eq!(found(Value::Float(1.0)), Some(Value::str("one")));
        let key = Value::Tuple(vec![Value::Bool(false), Value::str("a")]);
        assert_eq!(found(key), Some(Value::str("pair")));
        assert_eq!(found(Value::bytes(&b"k"[..])), Some(Value::str("bytes")));
        assert_eq!(found(Value::str("k")), None);
        assert_eq!(found(Value::Float(1.5)), None);
    }

    #[derive(serde::Serialize)]
    struct Inner {
        x: i64,
    }

    #[derive(serde::Serialize)]
    struct Outer {
        name: String,
        inner: Inner,
        tags: Vec<String>,
        scores: std::collections::BTreeMap<String, i64>,
    }

    #[test]
    fn structs_keep_their_field_names() {
        let v = Outer {
            name: "ann".into(),
            inner: Inner { x: 7 },
            tags: vec!["a".into()],
            scores: [("math".to_string(), 3)].into(),
        };
        let Node::Record(r) = shape_of(&v).unwrap() else {
            panic!("not a record")
        };
        assert_eq!(r.type_name, "rpyc_rs.record.Outer");
        let names: Vec<_> = r.fields.iter().map(|f| f.0).collect();
        assert_eq!(names, ["name", "inner", "tags", "scores"]);
        let mut repr = String::new();
        Node::Record(r.clone()).write_repr(&mut repr, 1000);
        assert_eq!(
            repr,
            "Outer(name='ann', inner=Inner(x=7), tags=('a',), scores={'math': 3})"
        );
        assert!(matches!(r.fields[1].1, Node::Record(_)));
        assert!(matches!(r.fields[3].1, Node::Map(_)));
        assert_eq!(
            r.fields[2].1.to_value(),
            Value::Tuple(vec![Value::str("a")])
        );
    }
}
