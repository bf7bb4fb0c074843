//! Boxing on the wire: [`Boxed`], the `(label, value)` tree of a message's values with
//! references still unresolved, and [`IdPack`], the identifier a reference carries. Both are
//! read straight from the decoder (charged against its heap budget) or from a decoded value.

use std::fmt;
use std::sync::Arc;

use super::{int, Reparse, RESHAPE};
use super::{LABEL_LOCAL_REF, LABEL_REMOTE_REF, LABEL_TUPLE, LABEL_VALUE};
use crate::brine::{self, Decoder};
use crate::convert::{FromValue, IntoValue};
use crate::error::{EncodeError, ProtocolError};
use crate::value::Value;

/// An object identifier on the wire: `(name_pack, class_id, instance_id)`.
///
/// Ids are echoed bit-exactly; `instance_id == 0` means the object is a class.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdPack {
    /// Dotted type name, e.g. `"builtins.method"`.
    pub name_pack: Arc<str>,
    /// Identifier of the object's class.
    pub class_id: i128,
    /// Identifier of the object (0 for classes).
    pub instance_id: i128,
}

impl IdPack {
    /// Builds an id pack.
    pub fn new(name_pack: impl Into<Arc<str>>, class_id: i128, instance_id: i128) -> Self {
        IdPack {
            name_pack: name_pack.into(),
            class_id,
            instance_id,
        }
    }

    /// The id pack as a brine value.
    pub fn to_value(&self) -> Value {
        Value::Tuple(vec![
            Value::Str(self.name_pack.to_string()),
            self.class_id.into_value(),
            self.instance_id.into_value(),
        ])
    }

    /// Parses an id pack from a brine value.
    pub fn from_value(v: &Value) -> Result<IdPack, ProtocolError> {
        let bad = || ProtocolError::Malformed(format!("invalid id_pack {}", v.repr()));
        let t = v.as_tuple().ok_or_else(bad)?;
        if t.len() != 3 {
            return Err(bad());
        }
        let name = match &t[0] {
            Value::Str(s) => s.as_str(),
            _ => return Err(bad()),
        };
        Ok(IdPack {
            name_pack: Arc::from(name),
            class_id: i128::from_value(t[1].clone()).map_err(|_| bad())?,
            instance_id: i128::from_value(t[2].clone()).map_err(|_| bad())?,
        })
    }

    /// Reads an id pack straight from the decoder; the name goes from the buffer into its
    /// `Arc<str>` in one allocation. Succeeds exactly where decoding a value and
    /// [`IdPack::from_value`] do, with the same result.
    pub(super) fn decode(d: &mut Decoder<'_>) -> Result<IdPack, Reparse> {
        if d.tuple_len()? != 3 {
            return Err(RESHAPE);
        }
        let start = d.position();
        let name = d.str_ref()?;
        d.charge(name.len() + 2 * std::mem::size_of::<usize>(), start)?;
        let name_pack = Arc::from(name);
        let class_id = i128::from_value(d.value()?).map_err(|_| RESHAPE)?;
        let instance_id = i128::from_value(d.value()?).map_err(|_| RESHAPE)?;
        d.end_tuple();
        Ok(IdPack {
            name_pack,
            class_id,
            instance_id,
        })
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(0x12);
        brine::encode_str(&self.name_pack, out)?;
        encode_i128(self.class_id, out);
        encode_i128(self.instance_id, out);
        Ok(())
    }
}

impl fmt::Display for IdPack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "('{}', {}, {})",
            self.name_pack, self.class_id, self.instance_id
        )
    }
}

fn encode_i128(v: i128, out: &mut Vec<u8>) {
    match i64::try_from(v) {
        Ok(i) => brine::encode_i64(i, out),
        Err(_) => {
            let _ = brine::encode(&Value::BigInt(v.into()), out);
        }
    }
}

/// A boxed value with references still unresolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Boxed {
    /// Label 1: the value itself (never contains objects).
    Value(Value),
    /// Label 2: a tuple with some by-reference members.
    Tuple(Vec<Boxed>),
    /// Label 3: an object that the *receiver* of this message owns.
    Local(IdPack),
    /// Label 4: an object that the *sender* of this message owns.
    Remote(IdPack),
}

impl Boxed {
    /// Boxes a dumpable value (`(1, v)`), a convenience for requests without references.
    pub fn value(v: impl Into<Value>) -> Boxed {
        Boxed::Value(v.into())
    }

    /// Appends the brine encoding of this box.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(0x11);
        match self {
            Boxed::Value(v) => {
                brine::encode_i64(LABEL_VALUE, out);
                brine::encode(v, out)?;
            }
            Boxed::Tuple(items) => {
                brine::encode_i64(LABEL_TUPLE, out);
                brine::encode_tuple_header(items.len(), out)?;
                for b in items {
                    b.encode(out)?;
                }
            }
            Boxed::Local(id) => {
                brine::encode_i64(LABEL_LOCAL_REF, out);
                id.encode(out)?;
            }
            Boxed::Remote(id) => {
                brine::encode_i64(LABEL_REMOTE_REF, out);
                id.encode(out)?;
            }
        }
        Ok(())
    }

    /// Parses a box from its decoded brine form.
    pub fn from_value(v: Value) -> Result<Boxed, ProtocolError> {
        let Value::Tuple(mut t) = v else {
            return Err(ProtocolError::Malformed(format!(
                "a box must be a (label, value) pair, got {}",
                v.type_name()
            )));
        };
        if t.len() != 2 {
            return Err(ProtocolError::Malformed(format!(
                "a box must be a (label, value) pair, got {} items",
                t.len()
            )));
        }
        let inner = t.pop().unwrap_or_default();
        match t[0] {
            Value::Int(LABEL_VALUE) => Ok(Boxed::Value(inner)),
            Value::Int(LABEL_TUPLE) => match inner {
                Value::Tuple(items) => Ok(Boxed::Tuple(
                    items
                        .into_iter()
                        .map(Boxed::from_value)
                        .collect::<Result<_, _>>()?,
                )),
                other => Err(ProtocolError::Malformed(format!(
                    "label 2 needs a tuple of boxes, got {}",
                    other.type_name()
                ))),
            },
            Value::Int(LABEL_LOCAL_REF) => Ok(Boxed::Local(IdPack::from_value(&inner)?)),
            Value::Int(LABEL_REMOTE_REF) => Ok(Boxed::Remote(IdPack::from_value(&inner)?)),
            ref other => Err(ProtocolError::Malformed(format!(
                "invalid box label {}",
                other.repr()
            ))),
        }
    }

    /// Reads a box straight from the decoder: labels are read as ints and a label-2 tuple
    /// becomes its `Vec<Boxed>` directly, without a `Value` tree in between. Succeeds exactly
    /// where decoding a value and [`Boxed::from_value`] do, with the same result.
    pub(super) fn decode(d: &mut Decoder<'_>) -> Result<Boxed, Reparse> {
        if d.tuple_len()? != 2 {
            return Err(RESHAPE);
        }
        let boxed = match int(d)? {
            LABEL_VALUE => Boxed::Value(d.value()?),
            LABEL_TUPLE => {
                let start = d.position();
                let n = d.tuple_len()?;
                let mut items = d.reserve_items(n, start)?;
                for _ in 0..n {
                    items.push(Boxed::decode(d)?);
                }
                d.end_tuple();
                Boxed::Tuple(items)
            }
            LABEL_LOCAL_REF => Boxed::Local(IdPack::decode(d)?),
            LABEL_REMOTE_REF => Boxed::Remote(IdPack::decode(d)?),
            _ => return Err(RESHAPE),
        };
        d.end_tuple();
        Ok(boxed)
    }

    /// Splits a boxed tuple into its boxed members (a label-1 tuple yields label-1 members).
    pub fn into_items(self) -> Option<Vec<Boxed>> {
        match self {
            Boxed::Value(Value::Tuple(items)) => {
                Some(items.into_iter().map(Boxed::Value).collect())
            }
            Boxed::Tuple(items) => Some(items),
            _ => None,
        }
    }
}
