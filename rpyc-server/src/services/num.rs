//! Python arithmetic on [`Value`]s: exact ints of any size, floats, and the mixes Python allows.

use num_bigint::BigInt;
use num_traits::{ToPrimitive, Zero};
use rpyc_core::{RemoteException, Value};

/// A number as Python sees it (bool counts as int).
enum Num {
    Int(BigInt),
    Float(f64),
}

fn num(v: &Value) -> Option<Num> {
    match v {
        Value::Bool(b) => Some(Num::Int(BigInt::from(*b as i64))),
        Value::Int(i) => Some(Num::Int(BigInt::from(*i))),
        Value::BigInt(b) => Some(Num::Int(b.clone())),
        Value::Float(f) => Some(Num::Float(*f)),
        _ => None,
    }
}

fn to_f64(b: &BigInt) -> Result<f64, RemoteException> {
    b.to_f64()
        .filter(|f| f.is_finite())
        .ok_or_else(|| RemoteException::overflow_error("int too large to convert to float"))
}

fn unsupported(op: &str, a: &Value, b: &Value) -> RemoteException {
    RemoteException::type_error(format!(
        "unsupported operand type(s) for {op}: '{}' and '{}'",
        a.type_name(),
        b.type_name()
    ))
}

/// Fast path for two small ints, falling back to exact big-int arithmetic.
fn int_op(
    a: &Value,
    b: &Value,
    small: fn(i64, i64) -> Option<i64>,
    big: fn(BigInt, BigInt) -> BigInt,
) -> Option<Value> {
    if let (Value::Int(x), Value::Int(y)) = (a, b) {
        if let Some(r) = small(*x, *y) {
            return Some(Value::Int(r));
        }
    }
    match (num(a)?, num(b)?) {
        (Num::Int(x), Num::Int(y)) => Some(Value::from_bigint(big(x, y))),
        _ => None,
    }
}

fn float_pair(a: &Value, b: &Value) -> Result<Option<(f64, f64)>, RemoteException> {
    Ok(match (num(a), num(b)) {
        (Some(Num::Float(x)), Some(Num::Float(y))) => Some((x, y)),
        (Some(Num::Float(x)), Some(Num::Int(y))) => Some((x, to_f64(&y)?)),
        (Some(Num::Int(x)), Some(Num::Float(y))) => Some((to_f64(&x)?, y)),
        _ => None,
    })
}

/// `a + b`: numbers, and str+str, bytes+bytes, tuple+tuple; other mixes raise `TypeError`.
pub fn add(a: Value, b: Value) -> Result<Value, RemoteException> {
    if let Some(v) = int_op(&a, &b, i64::checked_add, |x, y| x + y) {
        return Ok(v);
    }
    if let Some((x, y)) = float_pair(&a, &b)? {
        return Ok(Value::Float(x + y));
    }
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Ok(Value::Str(x + &y)),
        (Value::Bytes(x), Value::Bytes(y)) => {
            let mut v = Vec::with_capacity(x.len() + y.len());
            v.extend_from_slice(&x);
            v.extend_from_slice(&y);
            Ok(Value::bytes(v))
        }
        (Value::Tuple(mut x), Value::Tuple(y)) => {
            x.extend(y);
            Ok(Value::Tuple(x))
        }
        (Value::Str(_), other) => Err(RemoteException::type_error(format!(
            "can only concatenate str (not \"{}\") to str",
            other.type_name()
        ))),
        (a, b) => Err(unsupported("+", &a, &b)),
    }
}

/// `a * b` for numbers.
pub fn multiply(a: Value, b: Value) -> Result<Value, RemoteException> {
    if let Some(v) = int_op(&a, &b, i64::checked_mul, |x, y| x * y) {
        return Ok(v);
    }
    if let Some((x, y)) = float_pair(&a, &b)? {
        return Ok(Value::Float(x * y));
    }
    Err(unsupported("*", &a, &b))
}

/// `a / b` (true division, a float); `ZeroDivisionError` when `b` is zero.
pub fn divide(a: Value, b: Value) -> Result<Value, RemoteException> {
    let (x, y) = match (num(&a), num(&b)) {
        (Some(Num::Int(x)), Some(Num::Int(y))) => {
            if y.is_zero() {
                return Err(RemoteException::zero_division_error("division by zero"));
            }
            (to_f64(&x)?, to_f64(&y)?)
        }
        _ => float_pair(&a, &b)?.ok_or_else(|| unsupported("/", &a, &b))?,
    };
    if y == 0.0 {
        return Err(RemoteException::zero_division_error(
            "float division by zero",
        ));
    }
    Ok(Value::Float(x / y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_semantics() {
        assert_eq!(
            add(Value::Int(i64::MAX), Value::Int(1)).unwrap(),
            Value::from_bigint(BigInt::from(i64::MAX) + 1)
        );
        assert_eq!(
            add(Value::Int(1), Value::Float(0.5)).unwrap(),
            Value::Float(1.5)
        );
        assert_eq!(
            add(Value::Bool(true), Value::Int(1)).unwrap(),
            Value::Int(2)
        );
        assert_eq!(
            add(Value::str("a"), Value::str("b")).unwrap(),
            Value::str("ab")
        );
        assert!(add(Value::Int(1), Value::str("b"))
            .unwrap_err()
            .is("TypeError"));
        assert!(add(Value::str("a"), Value::bytes(vec![1u8]))
            .unwrap_err()
            .is("TypeError"));
        assert_eq!(
            multiply(Value::Int(1 << 40), Value::Int(1 << 40)).unwrap(),
            Value::from_bigint(BigInt::from(1u128 << 80))
        );
        assert_eq!(
            divide(Value::Int(1), Value::Int(4)).unwrap(),
            Value::Float(0.25)
        );
        assert!(divide(Value::Int(1), Value::Int(0))
            .unwrap_err()
            .is("ZeroDivisionError"));
        assert!(divide(Value::Float(1.0), Value::Float(0.0))
            .unwrap_err()
            .is("ZeroDivisionError"));
    }
}
