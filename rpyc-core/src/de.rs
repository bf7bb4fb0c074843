//! A serde deserializer reading [`Value`] (like `serde_json::from_value`), the inverse of
//! [`crate::ser`]: tuples feed sequences, structs (by field order) and maps (as `(key, value)`
//! pairs); a `str` selects a unit enum variant, a `(name, payload)` tuple any other variant.
//!
//! ```
//! #[derive(serde::Deserialize, Debug, PartialEq)]
//! struct User { name: String, age: u8 }
//! use rpyc::Value;
//! let v = Value::Tuple(vec![Value::str("ann"), Value::Int(7)]);
//! let u: User = rpyc::from_value(v).unwrap();
//! assert_eq!(u, User { name: "ann".into(), age: 7 });
//! ```

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

use crate::content::Dict;
use crate::convert::FromValue;
use crate::error::ConvertError;
use crate::value::Value;

impl de::Error for ConvertError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ConvertError::Custom(msg.to_string())
    }
}

/// Deserializes a `DeserializeOwned` type from a [`Value`].
pub fn from_value<T: DeserializeOwned>(v: Value) -> Result<T, ConvertError> {
    T::deserialize(v)
}

struct SeqAccess {
    it: std::vec::IntoIter<Value>,
}

impl<'de> de::SeqAccess<'de> for SeqAccess {
    type Error = ConvertError;
    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ConvertError> {
        match self.it.next() {
            Some(v) => seed.deserialize(v).map(Some),
            None => Ok(None),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.it.len())
    }
}

/// A map's `(key, value)` pairs from a tuple of 2-tuples.
fn pairs_of(items: Vec<Value>) -> Result<Vec<(Value, Value)>, ConvertError> {
    items
        .into_iter()
        .map(|pair| {
            <(Value, Value)>::from_value(pair)
                .map_err(|_| ConvertError::Custom("map entries must be (key, value) pairs".into()))
        })
        .collect()
}

/// The entries of a map (a fetched [`Dict`] or a tuple of pairs); an error names the key.
struct MapAccess {
    it: std::vec::IntoIter<(Value, Value)>,
    value: Option<(String, Value)>,
}

impl MapAccess {
    fn new(pairs: Vec<(Value, Value)>) -> Self {
        MapAccess {
            it: pairs.into_iter(),
            value: None,
        }
    }
}

impl<'de> de::MapAccess<'de> for MapAccess {
    type Error = ConvertError;
    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ConvertError> {
        match self.it.next() {
            Some((k, v)) => {
                let name = k.repr();
                self.value = Some((name.clone(), v));
                seed.deserialize(k)
                    .map(Some)
                    .map_err(|e| e.at(format!("key {name}")))
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ConvertError> {
        let (name, v) = self
            .value
            .take()
            .ok_or_else(|| ConvertError::Custom("map value without a key".into()))?;
        seed.deserialize(v)
            .map_err(|e| e.at(format!("value of key {name}")))
    }
}

struct EnumAccess {
    variant: String,
    payload: Option<Value>,
}

impl<'de> de::EnumAccess<'de> for EnumAccess {
    type Error = ConvertError;
    type Variant = VariantAccess;
    fn variant_seed<V: de::DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, VariantAccess), ConvertError> {
        let name: de::value::StringDeserializer<ConvertError> = self.variant.into_deserializer();
        Ok((
            seed.deserialize(name)?,
            VariantAccess {
                payload: self.payload,
            },
        ))
    }
}

struct VariantAccess {
    payload: Option<Value>,
}

impl<'de> de::VariantAccess<'de> for VariantAccess {
    type Error = ConvertError;
    fn unit_variant(self) -> Result<(), ConvertError> {
        match self.payload {
            None | Some(Value::None) => Ok(()),
            Some(other) => Err(ConvertError::type_mismatch("unit variant", &other)),
        }
    }
    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, ConvertError> {
        seed.deserialize(self.payload.unwrap_or_default())
    }
    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ConvertError> {
        de::Deserializer::deserialize_seq(self.payload.unwrap_or_default(), visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ConvertError> {
        de::Deserializer::deserialize_seq(self.payload.unwrap_or_default(), visitor)
    }
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = ConvertError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
        match self {
            Value::None => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Int(i) => visitor.visit_i64(i),
            Value::BigInt(ref b) => {
                if let Ok(u) = u64::try_from(b) {
                    visitor.visit_u64(u)
                } else if let Ok(i) = i128::try_from(b) {
                    visitor.visit_i128(i)
                } else if let Ok(u) = u128::try_from(b) {
                    visitor.visit_u128(u)
                } else {
                    Err(ConvertError::Range {
                        value: self.repr(),
                        target: "i128",
                    })
                }
            }
            Value::Float(f) => visitor.visit_f64(f),
            Value::Complex(r, i) => visitor.visit_seq(SeqAccess {
                it: vec![Value::Float(r), Value::Float(i)].into_iter(),
            }),
            Value::Bytes(b) => visitor.visit_byte_buf(b.to_vec()),
            Value::Str(s) => visitor.visit_string(s),
            Value::Tuple(items) | Value::FrozenSet(items) => visitor.visit_seq(SeqAccess {
                it: items.into_iter(),
            }),
            Value::Slice(parts) => visitor.visit_seq(SeqAccess {
                it: Vec::from(*parts).into_iter(),
            }),
            Value::Ellipsis | Value::NotImplemented => visitor.visit_unit(),
            Value::Object(_) => match Dict::take_pairs(self) {
                Ok(pairs) => visitor.visit_map(MapAccess::new(pairs)),
                Err(v) => Err(ConvertError::Type {
                    expected: "a value".into(),
                    actual: v.type_name().to_string(),
                }),
            },
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
        match self {
            Value::None => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
        match Dict::take_pairs(self) {
            Ok(pairs) => visitor.visit_map(MapAccess::new(pairs)),
            Err(Value::Tuple(items)) => visitor.visit_map(MapAccess::new(pairs_of(items)?)),
            Err(other) => Err(ConvertError::type_mismatch(
                "tuple of (key, value) pairs",
                &other,
            )),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ConvertError> {
        match Dict::take_pairs(self) {
            // A dict (fetched from the peer): fields by name.
            Ok(pairs) => visitor.visit_map(MapAccess::new(pairs)),
            Err(Value::Tuple(items)) => visitor.visit_seq(SeqAccess {
                it: items.into_iter(),
            }),
            Err(other) => Err(ConvertError::type_mismatch(
                "tuple (struct fields in order)",
                &other,
            )),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ConvertError> {
        match self {
            Value::Str(s) => visitor.visit_enum(EnumAccess {
                variant: s,
                payload: None,
            }),
            Value::Tuple(mut items) if items.len() == 2 && matches!(items[0], Value::Str(_)) => {
                let payload = items.pop();
                match items.pop() {
                    Some(Value::Str(s)) => visitor.visit_enum(EnumAccess {
                        variant: s,
                        payload,
                    }),
                    _ => Err(ConvertError::Custom(
                        "enum variant name must be a str".into(),
                    )),
                }
            }
            other => Err(ConvertError::type_mismatch(
                "str or (variant, payload)",
                &other,
            )),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ConvertError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
        match self {
            Value::Bytes(b) => visitor.visit_byte_buf(b.to_vec()),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConvertError> {
        self.deserialize_bytes(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        unit unit_struct seq tuple tuple_struct identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, ConvertError> for Value {
    type Deserializer = Value;
    fn into_deserializer(self) -> Value {
        self
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::ser::to_value;

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
    enum Kind {
        Admin,
        Guest(u32),
        Team { id: u8, name: String },
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
    struct User {
        name: String,
        age: u32,
        email: Option<String>,
        kinds: Vec<Kind>,
        scores: BTreeMap<String, f64>,
        #[serde(with = "serde_bytes_shim")]
        avatar: Vec<u8>,
        big: u64,
    }

    mod serde_bytes_shim {
        pub fn serialize<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(b)
        }
        pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
            struct V;
            impl serde::de::Visitor<'_> for V {
                type Value = Vec<u8>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("bytes")
                }
                fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                    Ok(v)
                }
            }
            d.deserialize_byte_buf(V)
        }
    }

    #[test]
    fn struct_roundtrip_as_python_sees_it() {
        let mut scores = BTreeMap::new();
        scores.insert("math".to_string(), 9.5);
        let u = User {
            name: "ann".into(),
            age: 31,
            email: None,
            kinds: vec![
                Kind::Admin,
                Kind::Guest(3),
                Kind::Team {
                    id: 1,
                    name: "x".into(),
                },
            ],
            scores,
            avatar: vec![1, 2],
            big: u64::MAX,
        };
        let v = to_value(&u).unwrap();
        assert_eq!(
            v.repr(),
            "('ann', 31, None, ('Admin', ('Guest', 3), ('Team', (1, 'x'))), (('math', 9.5),), b'\\x01\\x02', 18446744073709551615)"
        );
        assert!(v.is_dumpable());
        let back: User = from_value(v).unwrap();
        assert_eq!(back, u);
    }

    #[test]
    fn wrong_shapes_are_clear_errors() {
        let e = from_value::<User>(Value::Int(3)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "expected tuple (struct fields in order), got int"
        );
        let e = from_value::<Vec<String>>(Value::Tuple(vec![Value::Int(1)])).unwrap_err();
        assert!(e.to_string().contains("invalid type"), "{e}");
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Point {
        x: i64,
        tags: Vec<String>,
    }

    #[test]
    fn structs_read_fields_by_name_from_a_fetched_dict() {
        let d = Dict(vec![
            (Value::str("tags"), Value::Tuple(vec![Value::str("a")])),
            (Value::str("x"), Value::Int(3)),
        ])
        .into_value();
        let p: Point = from_value(d).unwrap();
        assert_eq!(
            p,
            Point {
                x: 3,
                tags: vec!["a".into()]
            }
        );
        let bad = Dict(vec![
            (Value::str("x"), Value::str("three")),
            (Value::str("tags"), Value::Tuple(vec![])),
        ])
        .into_value();
        let err = from_value::<Point>(bad).unwrap_err().to_string();
        assert!(err.starts_with("value of key 'x': "), "{err}");
        let m: BTreeMap<String, i64> =
            from_value(Dict(vec![(Value::str("k"), Value::Int(1))]).into_value()).unwrap();
        assert_eq!(m["k"], 1);
    }
}
