//! A serde serializer producing [`Value`] (like `serde_json::to_value`).
//!
//! The mapping is chosen so that a Python peer reads the result naturally and it travels by
//! value in one message: structs and sequences become tuples (struct fields in declaration
//! order), maps become tuples of `(key, value)` pairs, `Option::None` and `()` become `None`,
//! unit enum variants become their name as a `str`, other variants `(name, payload)`.
//!
//! ```
//! #[derive(serde::Serialize)]
//! struct User { name: String, tags: Vec<String> }
//! let v = rpyc::to_value(&User { name: "ann".into(), tags: vec!["x".into()] }).unwrap();
//! assert_eq!(v.repr(), "('ann', ('x',))");
//! ```

use bytes::Bytes;
use serde::ser::{self, Serialize};

use crate::convert::IntoValue;
use crate::error::ConvertError;
use crate::value::Value;

impl ser::Error for ConvertError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ConvertError::Custom(msg.to_string())
    }
}

/// Serializes any `Serialize` type into a [`Value`].
pub fn to_value<T: Serialize + ?Sized>(v: &T) -> Result<Value, ConvertError> {
    v.serialize(ValueSerializer)
}

/// The serializer behind [`to_value`].
#[derive(Debug, Clone, Copy)]
pub struct ValueSerializer;

/// Collects the items of a sequence, tuple or struct.
#[derive(Debug)]
pub struct SeqCollector {
    items: Vec<Value>,
    variant: Option<&'static str>,
}

impl SeqCollector {
    fn done(self) -> Value {
        let t = Value::Tuple(self.items);
        match self.variant {
            Some(name) => Value::Tuple(vec![Value::str(name), t]),
            None => t,
        }
    }
}

/// Collects the entries of a map.
#[derive(Debug)]
pub struct MapCollector {
    items: Vec<Value>,
    key: Option<Value>,
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = ConvertError;
    type SerializeSeq = SeqCollector;
    type SerializeTuple = SeqCollector;
    type SerializeTupleStruct = SeqCollector;
    type SerializeTupleVariant = SeqCollector;
    type SerializeMap = MapCollector;
    type SerializeStruct = SeqCollector;
    type SerializeStructVariant = SeqCollector;

    fn serialize_bool(self, v: bool) -> Result<Value, ConvertError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, ConvertError> {
        Ok(Value::Int(v as i64))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, ConvertError> {
        Ok(Value::Int(v as i64))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, ConvertError> {
        Ok(Value::Int(v as i64))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, ConvertError> {
        Ok(Value::Int(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Value, ConvertError> {
        Ok(v.into_value())
    }
    fn serialize_u8(self, v: u8) -> Result<Value, ConvertError> {
        Ok(Value::Int(v as i64))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, ConvertError> {
        Ok(Value::Int(v as i64))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, ConvertError> {
        Ok(Value::Int(v as i64))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, ConvertError> {
        Ok(v.into_value())
    }
    fn serialize_u128(self, v: u128) -> Result<Value, ConvertError> {
        Ok(v.into_value())
    }
    fn serialize_f32(self, v: f32) -> Result<Value, ConvertError> {
        Ok(Value::Float(v as f64))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, ConvertError> {
        Ok(Value::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, ConvertError> {
        Ok(Value::Str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, ConvertError> {
        Ok(Value::Str(v.to_string()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, ConvertError> {
        Ok(Value::Bytes(Bytes::copy_from_slice(v)))
    }
    fn serialize_none(self) -> Result<Value, ConvertError> {
        Ok(Value::None)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, ConvertError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, ConvertError> {
        Ok(Value::None)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, ConvertError> {
        Ok(Value::None)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _idx: u32,
        variant: &'static str,
    ) -> Result<Value, ConvertError> {
        Ok(Value::str(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        v: &T,
    ) -> Result<Value, ConvertError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _idx: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Value, ConvertError> {
        Ok(Value::Tuple(vec![Value::str(variant), v.serialize(self)?]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqCollector, ConvertError> {
        Ok(SeqCollector {
            items: Vec::with_capacity(len.unwrap_or(0)),
            variant: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqCollector, ConvertError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SeqCollector, ConvertError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _idx: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqCollector, ConvertError> {
        Ok(SeqCollector {
            items: Vec::with_capacity(len),
            variant: Some(variant),
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapCollector, ConvertError> {
        Ok(MapCollector {
            items: Vec::with_capacity(len.unwrap_or(0)),
            key: None,
        })
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SeqCollector, ConvertError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _idx: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqCollector, ConvertError> {
        Ok(SeqCollector {
            items: Vec::with_capacity(len),
            variant: Some(variant),
        })
    }
}

impl ser::SerializeSeq for SeqCollector {
    type Ok = Value;
    type Error = ConvertError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ConvertError> {
        self.items.push(to_value(v)?);
        Ok(())
    }
    fn end(self) -> Result<Value, ConvertError> {
        Ok(self.done())
    }
}

/// The tuple-like serializer traits all append one element to the collector.
macro_rules! seq_like {
    ($($tr:ident :: $method:ident ($($key:ident: $kt:ty),*);)*) => {
        $(
            impl ser::$tr for SeqCollector {
                type Ok = Value;
                type Error = ConvertError;
                fn $method<T: Serialize + ?Sized>(&mut self, $($key: $kt,)* v: &T) -> Result<(), ConvertError> {
                    $(let _ = $key;)*
                    ser::SerializeSeq::serialize_element(self, v)
                }
                fn end(self) -> Result<Value, ConvertError> {
                    Ok(self.done())
                }
            }
        )*
    };
}

seq_like! {
    SerializeTuple::serialize_element();
    SerializeTupleStruct::serialize_field();
    SerializeTupleVariant::serialize_field();
    SerializeStruct::serialize_field(key: &'static str);
    SerializeStructVariant::serialize_field(key: &'static str);
}

impl ser::SerializeMap for MapCollector {
    type Ok = Value;
    type Error = ConvertError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), ConvertError> {
        self.key = Some(to_value(k)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ConvertError> {
        let k = self
            .key
            .take()
            .ok_or_else(|| ConvertError::Custom("map value without a key".into()))?;
        self.items.push(Value::Tuple(vec![k, to_value(v)?]));
        Ok(())
    }
    fn end(self) -> Result<Value, ConvertError> {
        Ok(Value::Tuple(self.items))
    }
}
