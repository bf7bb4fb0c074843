//! Conversions between Rust types and [`Value`].
//!
//! [`IntoValue`] and [`FromValue`] cover the integers, floats, `bool`, `String`/`&str`,
//! `Vec<u8>`/[`Bytes`] (as `bytes`), `Option<T>` (as `None` or the value), tuples, `Vec<T>` (as a
//! tuple), maps (as a tuple of `(key, value)` pairs), sets (as a frozenset) and `BigInt`. Any
//! serde type converts through [`crate::to_value`] / [`crate::from_value`] or the [`Serde`]
//! wrapper. A wrong type is a [`ConvertError`] naming the expected and the actual type (and,
//! inside a container, the item's index or key).
//!
//! | module | owns |
//! |---|---|
//! | this one | the traits, scalars, strings, bytes, [`IntoReturn`], [`Serde`] |
//! | `containers` | `Vec`, `Option`, maps, sets, tuples (and the [`Content`] each wants) |
//!
//! ```
//! use rpyc::{FromValue, IntoValue, Value};
//! let v = (1i32, "two", vec![3u8, 4]).into_value();
//! assert_eq!(v, Value::Tuple(vec![Value::Int(1), Value::str("two"), Value::bytes(vec![3u8, 4])]));
//! let back: (i64, String, Vec<u8>) = FromValue::from_value(v).unwrap();
//! assert_eq!(back, (1, "two".to_string(), vec![3, 4]));
//! let err = i64::from_value(Value::str("x")).unwrap_err();
//! assert_eq!(err.to_string(), "expected int, got str");
//! ```

use bytes::Bytes;
use num_bigint::BigInt;
use num_traits::ToPrimitive;

use crate::content::Content;
use crate::error::ConvertError;
use crate::value::Value;
use crate::vinegar::RemoteException;

/// Converts a Rust value into a [`Value`].
///
/// A type of one's own gets it from `#[rpyc::object]` (the peer receives a proxy) or through
/// [`Serde`] (the peer receives a copy); the compiler's error for a missing impl says so.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent to an RPyC peer: it does not implement `rpyc::IntoValue`",
    label = "not convertible to an RPyC value",
    note = "to send it by reference (the peer gets a proxy whose methods it calls), put `#[rpyc::object]` on an `impl` block of the type",
    note = "to send a copy by value, derive `serde::Serialize` and wrap it: return `rpyc::Serde<T>` (`rpyc::Serde(value)`)"
)]
pub trait IntoValue {
    /// Performs the conversion.
    fn into_value(self) -> Value;

    /// How a `Vec<Self>` converts; `u8` overrides it to produce `bytes`.
    #[doc(hidden)]
    fn vec_into_value(v: Vec<Self>) -> Value
    where
        Self: Sized,
    {
        Value::Tuple(v.into_iter().map(IntoValue::into_value).collect())
    }
}

/// Extracts a Rust value from a [`Value`].
pub trait FromValue: Sized {
    /// Performs the conversion.
    fn from_value(v: Value) -> Result<Self, ConvertError>;

    /// The value of a missing optional argument: `Some(None)` for `Option<T>`, `None` (the
    /// argument is required) for everything else.
    #[doc(hidden)]
    fn from_missing() -> Option<Self> {
        None
    }

    /// How a `Vec<Self>` is extracted; `u8` overrides it to read `bytes`.
    #[doc(hidden)]
    fn vec_from_value(v: Value) -> Result<Vec<Self>, ConvertError> {
        match v {
            Value::Tuple(items) | Value::FrozenSet(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| Self::from_value(item).map_err(|e| e.at(format!("item {i}"))))
                .collect(),
            other => Err(ConvertError::type_mismatch("tuple", &other)),
        }
    }

    /// Which parts of a value this type wants as content when they arrive by reference (see
    /// [`crate::content`]): containers say so, everything else takes the value as it is.
    fn content() -> Content {
        Content::AsIs
    }

    /// The content a `Vec<Self>` wants; `u8` overrides it (`Vec<u8>` reads `bytes`).
    #[doc(hidden)]
    fn vec_content() -> Content {
        Content::Seq(Box::new(Self::content()))
    }
}

impl IntoValue for Value {
    fn into_value(self) -> Value {
        self
    }
}

impl FromValue for Value {
    fn from_value(v: Value) -> Result<Self, ConvertError> {
        Ok(v)
    }
}

macro_rules! from_impls {
    ($($t:ty),*) => {
        $(impl From<$t> for Value {
            fn from(v: $t) -> Value {
                v.into_value()
            }
        })*
    };
}
from_impls!(
    bool,
    i8,
    u8,
    i16,
    i32,
    i64,
    isize,
    u16,
    u32,
    u64,
    usize,
    i128,
    u128,
    f32,
    f64,
    String,
    &str,
    Bytes,
    Vec<u8>,
    BigInt,
    ()
);

impl IntoValue for () {
    fn into_value(self) -> Value {
        Value::None
    }
}

impl FromValue for () {
    fn from_value(v: Value) -> Result<Self, ConvertError> {
        match v {
            Value::None => Ok(()),
            other => Err(ConvertError::type_mismatch("None", &other)),
        }
    }
}

impl IntoValue for bool {
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}

impl FromValue for bool {
    fn from_value(v: Value) -> Result<Self, ConvertError> {
        match v {
            Value::Bool(b) => Ok(b),
            other => Err(ConvertError::type_mismatch("bool", &other)),
        }
    }
}

macro_rules! int_impls {
    ($($t:ty),*) => {
        $(
            impl IntoValue for $t {
                fn into_value(self) -> Value {
                    match i64::try_from(self) {
                        Ok(i) => Value::Int(i),
                        Err(_) => Value::from_bigint(BigInt::from(self)),
                    }
                }
            }
            impl FromValue for $t {
                fn from_value(v: Value) -> Result<Self, ConvertError> {
                    int_from_value(v, stringify!($t))
                }
            }
        )*
    };
}
int_impls!(i8, i16, i32, i64, isize, u16, u32, u64, usize, i128, u128);

/// An int (or bool, as Python's `int` accepts) that fits in `T`; `target` names `T` in errors.
fn int_from_value<T>(v: Value, target: &'static str) -> Result<T, ConvertError>
where
    T: TryFrom<i64> + for<'b> TryFrom<&'b BigInt> + From<bool>,
{
    let out_of_range = |v: &Value| ConvertError::Range {
        value: v.repr(),
        target,
    };
    match &v {
        Value::Int(i) => T::try_from(*i).map_err(|_| out_of_range(&v)),
        Value::BigInt(b) => T::try_from(b).map_err(|_| out_of_range(&v)),
        Value::Bool(b) => Ok(T::from(*b)),
        other => Err(ConvertError::type_mismatch("int", other)),
    }
}

impl IntoValue for u8 {
    fn into_value(self) -> Value {
        Value::Int(self as i64)
    }
    fn vec_into_value(v: Vec<u8>) -> Value {
        Value::Bytes(Bytes::from(v))
    }
}

impl FromValue for u8 {
    fn from_value(v: Value) -> Result<Self, ConvertError> {
        int_from_value(v, "u8")
    }
    fn vec_from_value(v: Value) -> Result<Vec<u8>, ConvertError> {
        match v {
            Value::Bytes(b) => Ok(b.to_vec()),
            other => Err(ConvertError::type_mismatch("bytes", &other)),
        }
    }
    fn vec_content() -> Content {
        Content::AsIs
    }
}

impl IntoValue for BigInt {
    fn into_value(self) -> Value {
        Value::from_bigint(self)
    }
}

impl FromValue for BigInt {
    fn from_value(v: Value) -> Result<Self, ConvertError> {
        match v {
            Value::Int(i) => Ok(BigInt::from(i)),
            Value::BigInt(b) => Ok(b),
            Value::Bool(b) => Ok(BigInt::from(b as i64)),
            other => Err(ConvertError::type_mismatch("int", &other)),
        }
    }
}

impl IntoValue for f64 {
    fn into_value(self) -> Value {
        Value::Float(self)
    }
}

impl IntoValue for f32 {
    fn into_value(self) -> Value {
        Value::Float(self as f64)
    }
}

impl FromValue for f64 {
    /// Accepts floats and ints (as Python does where a float is expected).
    fn from_value(v: Value) -> Result<Self, ConvertError> {
        match v {
            Value::Float(f) => Ok(f),
            Value::Int(i) => Ok(i as f64),
            Value::BigInt(ref b) => b.to_f64().ok_or_else(|| ConvertError::Range {
                value: v.repr(),
                target: "f64",
            }),
            Value::Bool(b) => Ok(b as i64 as f64),
            other => Err(ConvertError::type_mismatch("float", &other)),
        }
    }
}

impl FromValue for f32 {
    fn from_value(v: Value) -> Result<Self, ConvertError> {
        f64::from_value(v).map(|f| f as f32)
    }
}

impl IntoValue for String {
    fn into_value(self) -> Value {
        Value::Str(self)
    }
}

impl IntoValue for &str {
    fn into_value(self) -> Value {
        Value::Str(self.to_string())
    }
}

impl IntoValue for &String {
    fn into_value(self) -> Value {
        Value::Str(self.clone())
    }
}

impl IntoValue for char {
    fn into_value(self) -> Value {
        Value::Str(self.to_string())
    }
}

impl FromValue for String {
    fn from_value(v: Value) -> Result<Self, ConvertError> {
        match v {
            Value::Str(s) => Ok(s),
            other => Err(ConvertError::type_mismatch("str", &other)),
        }
    }
}

impl IntoValue for Bytes {
    fn into_value(self) -> Value {
        Value::Bytes(self)
    }
}

impl FromValue for Bytes {
    fn from_value(v: Value) -> Result<Self, ConvertError> {
        match v {
            Value::Bytes(b) => Ok(b),
            other => Err(ConvertError::type_mismatch("bytes", &other)),
        }
    }
}

impl IntoValue for &[u8] {
    fn into_value(self) -> Value {
        Value::Bytes(Bytes::copy_from_slice(self))
    }
}

/// What a service method may return: any [`IntoValue`] type, or a `Result` of one whose error
/// converts into a [`RemoteException`] (which the caller then sees raised).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned to an RPyC peer: it does not implement `rpyc::IntoReturn`",
    label = "return a type rpyc can send (`rpyc::IntoValue`), or a `Result` of one",
    note = "to send it by reference (the peer gets a proxy whose methods it calls), put `#[rpyc::object]` on an `impl` block of the type",
    note = "to send a copy by value, derive `serde::Serialize` and wrap it: return `rpyc::Serde<T>` (`rpyc::Serde(value)`)",
    note = "in a `Result<T, E>`, `E` must convert into `rpyc::RemoteException`"
)]
pub trait IntoReturn {
    /// Performs the conversion.
    fn into_return(self) -> Result<Value, RemoteException>;
}

impl<T: IntoValue> IntoReturn for T {
    fn into_return(self) -> Result<Value, RemoteException> {
        Ok(self.into_value())
    }
}

impl<T: IntoValue, E: Into<RemoteException>> IntoReturn for Result<T, E> {
    fn into_return(self) -> Result<Value, RemoteException> {
        self.map(IntoValue::into_value).map_err(Into::into)
    }
}

impl From<ConvertError> for RemoteException {
    fn from(e: ConvertError) -> Self {
        RemoteException::type_error(e.to_string())
    }
}

/// Wraps a serde type so it converts through [`crate::to_value`] / [`crate::from_value`].
///
/// ```
/// use rpyc::core::{convert::Serde, FromValue, IntoValue, Value};
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct User { name: String, age: u32 }
/// let v = Serde(User { name: "ann".into(), age: 7 }).into_value();
/// assert_eq!(v, Value::Tuple(vec![Value::str("ann"), Value::Int(7)]));
/// let Serde(u) = Serde::<User>::from_value(v).unwrap();
/// assert_eq!(u.age, 7);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Serde<T>(pub T);

impl<T: serde::Serialize> IntoValue for Serde<T> {
    fn into_value(self) -> Value {
        // Serialization to Value fails only for types serde cannot describe (e.g. maps with
        // non-serializable keys); fall back to None rather than panic.
        crate::ser::to_value(&self.0).unwrap_or(Value::None)
    }
}

impl<T: serde::de::DeserializeOwned> FromValue for Serde<T> {
    fn from_value(v: Value) -> Result<Self, ConvertError> {
        crate::de::from_value(v).map(Serde)
    }
    fn content() -> Content {
        Content::Deep
    }
}

mod containers;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_exact() {
        assert_eq!(u64::MAX.into_value(), Value::BigInt(BigInt::from(u64::MAX)));
        assert_eq!(
            u64::from_value(Value::BigInt(BigInt::from(u64::MAX))).unwrap(),
            u64::MAX
        );
        assert!(matches!(
            i8::from_value(Value::Int(300)),
            Err(ConvertError::Range { target: "i8", .. })
        ));
        assert!(matches!(
            u32::from_value(Value::Int(-1)),
            Err(ConvertError::Range { .. })
        ));
        let big: BigInt = "123456789012345678901234567890".parse().unwrap();
        assert!(i128::from_value(Value::BigInt(big.clone())).is_ok());
        assert!(i64::from_value(Value::BigInt(big)).is_err());
        // u8 reads ints exactly like the other widths.
        assert_eq!(u8::from_value(Value::Bool(true)).unwrap(), 1);
        assert_eq!(u8::from_value(Value::BigInt(BigInt::from(7))).unwrap(), 7);
        assert!(matches!(
            u8::from_value(Value::Int(256)),
            Err(ConvertError::Range { target: "u8", .. })
        ));
        assert_eq!(Value::from(200u8), Value::Int(200));
    }
}
