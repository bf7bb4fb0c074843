//! Conversions of containers: `Vec`, `Option`, maps, sets and tuples, with the [`Content`]
//! each wants when its value arrives by reference. A failing item is named in the error by its
//! index (`item 2: expected int, got str`) or its key (`value of key 'b': …`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::Hash;

use super::{FromValue, IntoValue};
use crate::content::{Content, Dict};
use crate::error::ConvertError;
use crate::value::Value;

/// A key as an error shows it: its repr, cut to 60 characters.
fn key_text(k: &Value) -> String {
    let r = k.repr();
    match r.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &r[..cut]),
        None => r,
    }
}

impl<T: IntoValue> IntoValue for Vec<T> {
    fn into_value(self) -> Value {
        T::vec_into_value(self)
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(v: Value) -> Result<Self, ConvertError> {
        T::vec_from_value(v)
    }
    fn content() -> Content {
        T::vec_content()
    }
}

impl<T: IntoValue> IntoValue for Option<T> {
    fn into_value(self) -> Value {
        match self {
            Some(v) => v.into_value(),
            None => Value::None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: Value) -> Result<Self, ConvertError> {
        match v {
            Value::None => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
    fn from_missing() -> Option<Self> {
        Some(None)
    }
    fn content() -> Content {
        T::content()
    }
}

/// A map as a tuple of `(key, value)` pairs.
fn pairs_into_value<K: IntoValue, V: IntoValue>(map: impl IntoIterator<Item = (K, V)>) -> Value {
    Value::Tuple(
        map.into_iter()
            .map(|(k, v)| Value::Tuple(vec![k.into_value(), v.into_value()]))
            .collect(),
    )
}

/// One entry of a map, each half named in its error.
fn entry_from<K: FromValue, V: FromValue>(k: Value, v: Value) -> Result<(K, V), ConvertError> {
    let key = K::from_value(k.clone()).map_err(|e| e.at(format!("key {}", key_text(&k))))?;
    let value = V::from_value(v).map_err(|e| e.at(format!("value of key {}", key_text(&k))))?;
    Ok((key, value))
}

/// A map from a fetched [`Dict`] or a tuple of `(key, value)` pairs.
fn pairs_from_value<K: FromValue, V: FromValue, M: FromIterator<(K, V)>>(
    v: Value,
) -> Result<M, ConvertError> {
    match Dict::take_pairs(v) {
        Ok(pairs) => pairs.into_iter().map(|(k, v)| entry_from(k, v)).collect(),
        Err(Value::Tuple(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, pair)| match pair {
                Value::Tuple(kv) if kv.len() == 2 => {
                    let mut kv = kv.into_iter();
                    let k = kv.next().unwrap_or_default();
                    entry_from(k, kv.next().unwrap_or_default())
                }
                other => Err(ConvertError::type_mismatch("a (key, value) pair", &other)
                    .at(format!("item {i}"))),
            })
            .collect(),
        Err(other) => Err(ConvertError::type_mismatch(
            "tuple of (key, value) pairs",
            &other,
        )),
    }
}

fn map_content<K: FromValue, V: FromValue>() -> Content {
    Content::Map(Box::new(K::content()), Box::new(V::content()))
}

impl<K: IntoValue, V: IntoValue, S> IntoValue for HashMap<K, V, S> {
    fn into_value(self) -> Value {
        pairs_into_value(self)
    }
}

impl<K: IntoValue, V: IntoValue> IntoValue for BTreeMap<K, V> {
    fn into_value(self) -> Value {
        pairs_into_value(self)
    }
}

impl<K: FromValue + Eq + Hash, V: FromValue> FromValue for HashMap<K, V> {
    fn from_value(v: Value) -> Result<Self, ConvertError> {
        pairs_from_value(v)
    }
    fn content() -> Content {
        map_content::<K, V>()
    }
}

impl<K: FromValue + Ord, V: FromValue> FromValue for BTreeMap<K, V> {
    fn from_value(v: Value) -> Result<Self, ConvertError> {
        pairs_from_value(v)
    }
    fn content() -> Content {
        map_content::<K, V>()
    }
}

impl<T: IntoValue, S> IntoValue for HashSet<T, S> {
    fn into_value(self) -> Value {
        Value::FrozenSet(self.into_iter().map(IntoValue::into_value).collect())
    }
}

impl<T: IntoValue> IntoValue for BTreeSet<T> {
    fn into_value(self) -> Value {
        Value::FrozenSet(self.into_iter().map(IntoValue::into_value).collect())
    }
}

/// A set from a frozenset (or a tuple).
fn set_from_value<T: FromValue, C: FromIterator<T>>(v: Value) -> Result<C, ConvertError> {
    match v {
        Value::FrozenSet(items) | Value::Tuple(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| T::from_value(item).map_err(|e| e.at(format!("item {i}"))))
            .collect(),
        other => Err(ConvertError::type_mismatch("frozenset", &other)),
    }
}

impl<T: FromValue + Eq + Hash> FromValue for HashSet<T> {
    fn from_value(v: Value) -> Result<Self, ConvertError> {
        set_from_value(v)
    }
    fn content() -> Content {
        Content::Seq(Box::new(T::content()))
    }
}

impl<T: FromValue + Ord> FromValue for BTreeSet<T> {
    fn from_value(v: Value) -> Result<Self, ConvertError> {
        set_from_value(v)
    }
    fn content() -> Content {
        Content::Seq(Box::new(T::content()))
    }
}

macro_rules! tuple_impls {
    ($( ($($n:tt $t:ident),+) ),* $(,)?) => {
        $(
            impl<$($t: IntoValue),+> IntoValue for ($($t,)+) {
                fn into_value(self) -> Value {
                    Value::Tuple(vec![$(self.$n.into_value()),+])
                }
            }
            impl<$($t: FromValue),+> FromValue for ($($t,)+) {
                fn from_value(v: Value) -> Result<Self, ConvertError> {
                    const N: usize = [$($n),+].len();
                    match v {
                        Value::Tuple(items) => {
                            if items.len() != N {
                                return Err(ConvertError::Length { expected: N, actual: items.len() });
                            }
                            let mut it = items.into_iter();
                            Ok(($($t::from_value(it.next().unwrap_or_default())
                                .map_err(|e| e.at(concat!("item ", stringify!($n))))?,)+))
                        }
                        other => Err(ConvertError::type_mismatch(format!("tuple of {N} items"), &other)),
                    }
                }
                fn content() -> Content {
                    Content::Tuple(vec![$($t::content()),+])
                }
            }
        )*
    };
}
tuple_impls! {
    (0 A),
    (0 A, 1 B),
    (0 A, 1 B, 2 C),
    (0 A, 1 B, 2 C, 3 D),
    (0 A, 1 B, 2 C, 3 D, 4 E),
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F),
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G),
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers() {
        let v = vec![1i64, 2, 3].into_value();
        assert_eq!(
            v,
            Value::Tuple(vec![Value::Int(1), Value::Int(2), Value::Int(3)])
        );
        assert_eq!(
            Vec::<u8>::from_value(Value::bytes(&b"ab"[..])).unwrap(),
            b"ab"
        );
        assert_eq!(
            Vec::<u8>::from_value(Value::Int(1))
                .unwrap_err()
                .to_string(),
            "expected bytes, got int"
        );
        let mut m = BTreeMap::new();
        m.insert("a".to_string(), 1i64);
        let v = m.clone().into_value();
        assert_eq!(
            v,
            Value::Tuple(vec![Value::Tuple(vec![Value::str("a"), Value::Int(1)])])
        );
        assert_eq!(BTreeMap::<String, i64>::from_value(v).unwrap(), m);
        assert_eq!(Option::<i64>::from_value(Value::None).unwrap(), None);
        assert_eq!(
            <(i64, i64)>::from_value(Value::Tuple(vec![Value::Int(1)])).unwrap_err(),
            ConvertError::Length {
                expected: 2,
                actual: 1
            }
        );
        let s: HashSet<i64> =
            HashSet::from_value(Value::FrozenSet(vec![Value::Int(1), Value::Int(2)])).unwrap();
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn failing_items_are_named() {
        let v = Value::Tuple(vec![Value::Int(1), Value::str("x")]);
        assert_eq!(
            Vec::<i64>::from_value(v).unwrap_err().to_string(),
            "item 1: expected int, got str"
        );
        let d = Dict(vec![(Value::str("b"), Value::str("two"))]).into_value();
        assert_eq!(
            HashMap::<String, i64>::from_value(d)
                .unwrap_err()
                .to_string(),
            "value of key 'b': expected int, got str"
        );
        let nested = Value::Tuple(vec![Value::Tuple(vec![Value::None])]);
        assert_eq!(
            Vec::<Vec<i64>>::from_value(nested).unwrap_err().to_string(),
            "item 0: item 0: expected int, got NoneType"
        );
    }

    #[test]
    fn containers_say_what_content_they_want() {
        let seq = |c| Content::Seq(Box::new(c));
        assert_eq!(Vec::<Vec<i64>>::content(), seq(seq(Content::AsIs)));
        assert_eq!(Vec::<u8>::content(), Content::AsIs);
        assert_eq!(Option::<HashSet<i64>>::content(), seq(Content::AsIs));
        assert_eq!(
            <(i64, Vec<String>)>::content(),
            Content::Tuple(vec![Content::AsIs, seq(Content::AsIs)])
        );
        assert_eq!(
            BTreeMap::<String, Vec<i64>>::content(),
            Content::Map(Box::new(Content::AsIs), Box::new(seq(Content::AsIs)))
        );
    }
}
