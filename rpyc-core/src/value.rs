//! The value model: everything brine carries, plus opaque objects that travel by reference.
//!
//! [`Value`] mirrors the closed set of immutable Python values that RPyC 6 sends *by value*
//! (`None`, `bool`, `int` of any size, `float`, `complex`, `str`, `bytes`, `tuple`,
//! `frozenset`, `slice`, `Ellipsis`, `NotImplemented`). Anything else — a remote proxy, a local
//! object exported by reference, a callback — is a [`Value::Object`]: brine refuses to dump it,
//! and the connection layer boxes it as a reference instead, exactly like Python's `_box`.

use std::any::Any;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use bytes::Bytes;
use num_bigint::BigInt;
use num_traits::ToPrimitive;

/// An object that cannot travel by value: a remote proxy or a local object exported by
/// reference. The connection layer (`rpyc-netref`) implements this for its handle types.
pub trait Opaque: Any + Send + Sync + fmt::Debug {
    /// The Python-style type name shown in errors and `repr`s (e.g. `"netref"`, `"Counter"`).
    fn type_name(&self) -> &str;
    /// Upcast used for downcasting to the concrete handle type.
    fn as_any(&self) -> &dyn Any;
    /// Upcast of the shared handle, used to recover an `Arc` of the concrete type.
    fn as_any_arc(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

/// A shared, cheaply clonable handle to an [`Opaque`] object.
///
/// Two `Object`s are equal when they point at the same allocation (identity, like Python's
/// `is`).
#[derive(Clone)]
pub struct Object(pub Arc<dyn Opaque>);

impl Object {
    /// Wraps an opaque object.
    pub fn new<T: Opaque>(obj: T) -> Self {
        Object(Arc::new(obj))
    }

    /// Downcasts to a concrete handle type.
    pub fn downcast_ref<T: Opaque>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref::<T>()
    }

    /// The object's type name.
    pub fn type_name(&self) -> &str {
        self.0.type_name()
    }

    /// Recovers the concrete `Arc` if the object is a `T`.
    pub fn downcast_arc<T: Opaque>(&self) -> Option<Arc<T>> {
        self.0.clone().as_any_arc().downcast::<T>().ok()
    }
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&self.0), Arc::as_ptr(&other.0))
    }
}

/// A Python value as RPyC sees it.
///
/// Integers use an `i64` fast path ([`Value::Int`]) and switch to arbitrary precision
/// ([`Value::BigInt`]) only outside the `i64` range; constructors and the decoder keep this
/// normal form, so equal numbers always compare equal.
///
/// Equality is structural; floats compare by bit pattern (so `NaN == NaN` and `0.0 != -0.0`,
/// which is what a round-trip test wants), frozensets ignore order, objects compare by identity.
#[derive(Clone, Debug, Default)]
pub enum Value {
    /// Python `None`.
    #[default]
    None,
    /// Python `bool`.
    Bool(bool),
    /// Python `int` within the `i64` range.
    Int(i64),
    /// Python `int` outside the `i64` range (never holds a value that fits in `i64`).
    BigInt(BigInt),
    /// Python `float` (IEEE-754 binary64).
    Float(f64),
    /// Python `complex` as `(real, imag)`.
    Complex(f64, f64),
    /// Python `bytes`.
    Bytes(Bytes),
    /// Python `str`.
    Str(String),
    /// Python `tuple`.
    Tuple(Vec<Value>),
    /// Python `frozenset`; element order is the wire order and carries no meaning.
    FrozenSet(Vec<Value>),
    /// Python `slice(start, stop, step)`.
    Slice(Box<[Value; 3]>),
    /// Python `Ellipsis`.
    Ellipsis,
    /// Python `NotImplemented`.
    NotImplemented,
    /// Anything that travels by reference (a proxy, an exported object, a callback).
    Object(Object),
}

impl Value {
    /// The Python type name of this value (`"int"`, `"str"`, `"tuple"`, …).
    pub fn type_name(&self) -> &str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::Complex(..) => "complex",
            Value::Bytes(_) => "bytes",
            Value::Str(_) => "str",
            Value::Tuple(_) => "tuple",
            Value::FrozenSet(_) => "frozenset",
            Value::Slice(_) => "slice",
            Value::Ellipsis => "ellipsis",
            Value::NotImplemented => "NotImplementedType",
            Value::Object(o) => o.type_name(),
        }
    }

    /// Builds an int in normal form (the `i64` fast path when it fits).
    pub fn from_bigint(v: BigInt) -> Value {
        match v.to_i64() {
            Some(i) => Value::Int(i),
            None => Value::BigInt(v),
        }
    }

    /// Builds a `str` value.
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    /// Builds a `bytes` value.
    pub fn bytes(b: impl Into<Bytes>) -> Value {
        Value::Bytes(b.into())
    }

    /// Builds a `slice(start, stop, step)`.
    pub fn slice(start: Value, stop: Value, step: Value) -> Value {
        Value::Slice(Box::new([start, stop, step]))
    }

    /// True if brine can dump this value (no [`Value::Object`] anywhere inside it).
    pub fn is_dumpable(&self) -> bool {
        match self {
            Value::Object(_) => false,
            Value::Tuple(items) | Value::FrozenSet(items) => items.iter().all(Value::is_dumpable),
            Value::Slice(parts) => parts.iter().all(Value::is_dumpable),
            _ => true,
        }
    }

    /// Python truthiness (`bool(v)`); objects are truthy.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::None | Value::NotImplemented => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::BigInt(_) => true,
            Value::Float(f) => *f != 0.0,
            Value::Complex(r, i) => *r != 0.0 || *i != 0.0,
            Value::Bytes(b) => !b.is_empty(),
            Value::Str(s) => !s.is_empty(),
            Value::Tuple(t) | Value::FrozenSet(t) => !t.is_empty(),
            Value::Slice(_) | Value::Ellipsis | Value::Object(_) => true,
        }
    }

    /// The string slice if this is a `str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The `i64` if this is an int that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The items if this is a tuple.
    pub fn as_tuple(&self) -> Option<&[Value]> {
        match self {
            Value::Tuple(t) => Some(t),
            _ => None,
        }
    }

    /// Converts into a Rust type (see [`crate::FromValue`]).
    pub fn extract<T: crate::FromValue>(self) -> Result<T, crate::ConvertError> {
        T::from_value(self)
    }

    /// The object handle if this is an object.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// A Python-like `repr` of the value (objects show their type name).
    pub fn repr(&self) -> String {
        let mut s = String::new();
        self.write_repr(&mut s);
        s
    }

    fn write_repr(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            Value::None => out.push_str("None"),
            Value::Bool(true) => out.push_str("True"),
            Value::Bool(false) => out.push_str("False"),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::BigInt(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => out.push_str(&float_repr(*f)),
            Value::Complex(r, i) => {
                let _ = write!(
                    out,
                    "({}{}{}j)",
                    float_repr(*r),
                    if *i < 0.0 || (*i == 0.0 && i.is_sign_negative()) {
                        ""
                    } else {
                        "+"
                    },
                    float_repr(*i)
                );
            }
            Value::Bytes(b) => {
                out.push_str("b'");
                for &c in b.iter() {
                    match c {
                        b'\\' => out.push_str("\\\\"),
                        b'\'' => out.push_str("\\'"),
                        b'\n' => out.push_str("\\n"),
                        b'\r' => out.push_str("\\r"),
                        b'\t' => out.push_str("\\t"),
                        0x20..=0x7e => out.push(c as char),
                        _ => {
                            let _ = write!(out, "\\x{c:02x}");
                        }
                    }
                }
                out.push('\'');
            }
            Value::Str(s) => {
                let _ = write!(
                    out,
                    "'{}'",
                    s.replace('\\', "\\\\")
                        .replace('\'', "\\'")
                        .replace('\n', "\\n")
                );
            }
            Value::Tuple(items) => {
                out.push('(');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write_repr(out);
                }
                if items.len() == 1 {
                    out.push(',');
                }
                out.push(')');
            }
            Value::FrozenSet(items) => {
                if items.is_empty() {
                    out.push_str("frozenset()");
                    return;
                }
                out.push_str("frozenset({");
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write_repr(out);
                }
                out.push_str("})");
            }
            Value::Slice(p) => {
                out.push_str("slice(");
                p[0].write_repr(out);
                out.push_str(", ");
                p[1].write_repr(out);
                out.push_str(", ");
                p[2].write_repr(out);
                out.push(')');
            }
            Value::Ellipsis => out.push_str("Ellipsis"),
            Value::NotImplemented => out.push_str("NotImplemented"),
            Value::Object(o) => {
                let _ = write!(out, "<{}>", o.type_name());
            }
        }
    }
}

/// Python's `repr(float)` for the common cases (shortest round-trip digits).
fn float_repr(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else if f == f.trunc() && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            other => f.write_str(&other.repr()),
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::None, Value::None) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::BigInt(a), Value::BigInt(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::Complex(a, b), Value::Complex(c, d)) => {
                a.to_bits() == c.to_bits() && b.to_bits() == d.to_bits()
            }
            (Value::Bytes(a), Value::Bytes(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Tuple(a), Value::Tuple(b)) => a == b,
            (Value::FrozenSet(a), Value::FrozenSet(b)) => set_eq(a, b),
            (Value::Slice(a), Value::Slice(b)) => a == b,
            (Value::Ellipsis, Value::Ellipsis) => true,
            (Value::NotImplemented, Value::NotImplemented) => true,
            (Value::Object(a), Value::Object(b)) => a == b,
            _ => false,
        }
    }
}

/// `Value` equality is reflexive (floats compare by bit pattern), so values can be map keys.
impl Eq for Value {}

/// Consistent with `==`: equal values hash equally (a frozenset's hash ignores the order of its
/// elements; an object hashes by identity). Python's cross-type equalities (`1 == 1.0 ==
/// True`) are not `Value` equalities, so they do not share a hash either.
impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Value::None | Value::Ellipsis | Value::NotImplemented => {}
            Value::Bool(b) => b.hash(state),
            Value::Int(i) => i.hash(state),
            Value::BigInt(i) => i.hash(state),
            Value::Float(f) => f.to_bits().hash(state),
            Value::Complex(r, i) => (r.to_bits(), i.to_bits()).hash(state),
            Value::Bytes(b) => b.hash(state),
            Value::Str(s) => s.hash(state),
            Value::Tuple(items) => items.hash(state),
            Value::FrozenSet(items) => {
                // Order-independent: the wrapping sum of each element's own hash.
                let sum = items.iter().fold(0u64, |acc, item| {
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    item.hash(&mut h);
                    acc.wrapping_add(h.finish())
                });
                (items.len(), sum).hash(state);
            }
            Value::Slice(parts) => parts.hash(state),
            Value::Object(o) => (Arc::as_ptr(&o.0) as *const () as usize).hash(state),
        }
    }
}

/// Order-independent comparison of two element lists (multiset equality).
fn set_eq(a: &[Value], b: &[Value]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut used = vec![false; b.len()];
    'outer: for x in a {
        for (j, y) in b.iter().enumerate() {
            if !used[j] && x == y {
                used[j] = true;
                continue 'outer;
            }
        }
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozenset_equality_ignores_order() {
        let a = Value::FrozenSet(vec![Value::Int(1), Value::str("x")]);
        let b = Value::FrozenSet(vec![Value::str("x"), Value::Int(1)]);
        assert_eq!(a, b);
        assert_ne!(a, Value::FrozenSet(vec![Value::Int(1)]));
    }

    #[test]
    fn equal_values_hash_equally() {
        use std::collections::HashSet;
        let a = Value::FrozenSet(vec![Value::Int(1), Value::str("x")]);
        let b = Value::FrozenSet(vec![Value::str("x"), Value::Int(1)]);
        let keys: HashSet<Value> = [a, Value::Tuple(vec![Value::bytes(&b"k"[..])])].into();
        assert!(keys.contains(&b));
        assert!(keys.contains(&Value::Tuple(vec![Value::bytes(&b"k"[..])])));
        assert!(!keys.contains(&Value::Int(1)));
    }

    #[test]
    fn bigint_normal_form() {
        assert_eq!(Value::from_bigint(BigInt::from(5)), Value::Int(5));
        let big = BigInt::from(i64::MAX) + 1;
        assert!(matches!(Value::from_bigint(big), Value::BigInt(_)));
    }

    #[test]
    fn repr_like_python() {
        let v = Value::Tuple(vec![
            Value::Int(1),
            Value::str("a"),
            Value::bytes(&b"b\x00"[..]),
            Value::Float(1.5),
            Value::Tuple(vec![Value::None]),
        ]);
        assert_eq!(v.repr(), "(1, 'a', b'b\\x00', 1.5, (None,))");
        assert_eq!(Value::Float(2.0).repr(), "2.0");
        assert_eq!(Value::Complex(1.0, -2.0).repr(), "(1.0-2.0j)");
    }
}
