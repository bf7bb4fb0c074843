//! brine: RPyC's serializer for immutable values, byte-identical with Python's `brine.dump`.
//!
//! The encoder emits the canonical form Python emits (small-int immediates, the shortest length
//! class for bytes/tuples, decimal text for big ints). The decoder accepts everything Python's
//! `brine.load` accepts (non-canonical length classes, `+`/`_`/whitespace in int text) and
//! rejects with a [`DecodeError`] what Python would choke on, plus truncation and excessive
//! nesting, which Python does not detect.
//!
//! ```
//! use rpyc::core::{brine, Value};
//! let v = Value::Tuple(vec![Value::Int(1), Value::Int(2), Value::str("a")]);
//! let bytes = brine::dump(&v).unwrap();
//! assert_eq!(bytes, b"\x12\x51\x52\x08\x0a\x61");
//! assert_eq!(brine::load(&bytes).unwrap(), v);
//! ```

use bytes::Bytes;

use crate::error::{DecodeError, EncodeError};
use crate::value::Value;

mod decode;
mod scan;
#[cfg(test)]
mod tests;

pub use decode::{parse_python_int, Decoder};
pub use scan::cheap_to_decode;

pub(crate) const TAG_NONE: u8 = 0x00;
pub(crate) const TAG_EMPTY_STR: u8 = 0x01;
pub(crate) const TAG_EMPTY_TUPLE: u8 = 0x02;
pub(crate) const TAG_TRUE: u8 = 0x03;
pub(crate) const TAG_FALSE: u8 = 0x04;
pub(crate) const TAG_NOT_IMPLEMENTED: u8 = 0x05;
pub(crate) const TAG_ELLIPSIS: u8 = 0x06;
pub(crate) const TAG_UNICODE: u8 = 0x08;
pub(crate) const TAG_STR1: u8 = 0x0a;
pub(crate) const TAG_STR_L1: u8 = 0x0e;
pub(crate) const TAG_STR_L4: u8 = 0x0f;
pub(crate) const TAG_TUP1: u8 = 0x10;
pub(crate) const TAG_TUP_L1: u8 = 0x14;
pub(crate) const TAG_TUP_L4: u8 = 0x15;
pub(crate) const TAG_INT_L1: u8 = 0x16;
pub(crate) const TAG_INT_L4: u8 = 0x17;
pub(crate) const TAG_FLOAT: u8 = 0x18;
pub(crate) const TAG_SLICE: u8 = 0x19;
pub(crate) const TAG_FSET: u8 = 0x1a;
pub(crate) const TAG_COMPLEX: u8 = 0x1b;
pub(crate) const IMM_MIN: i64 = -0x30;
pub(crate) const IMM_MAX: i64 = 0x9f;
pub(crate) const IMM_BASE: i64 = 0x50;

/// Decoder limits. The defaults match what a Python peer can produce while keeping memory and
/// stack use bounded.
///
/// The heap a message decodes into is charged as it decodes (the reserved capacity of every
/// tuple, the text of every str and big int, id packs): at most
/// `max(heap_factor × payload length, heap_floor)` bytes, refused beyond with
/// [`DecodeError::HeapExceeded`]. A count announced in the data reserves nothing it has not
/// paid for, and never more items than the bytes left could hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Maximum nesting depth of tuples/frozensets/slices/str wrappers (default 256; Python's
    /// recursion limit lets it reach about 1000, but real data nests far less).
    pub max_depth: usize,
    /// Maximum characters of an int's decimal text (default 4300, Python's
    /// `sys.get_int_max_str_digits()`).
    pub max_int_digits: usize,
    /// Heap a message may decode into, per byte of its (decompressed) payload (default 8).
    pub heap_factor: usize,
    /// Heap any message may decode into, however short (default 64 MiB): the budget is the
    /// larger of this and `heap_factor` × the payload's length.
    pub heap_floor: usize,
}

impl Limits {
    /// Limits of `max_depth` nesting levels and `max_int_digits` characters of int text (and
    /// the default heap budget).
    pub fn new(max_depth: usize, max_int_digits: usize) -> Self {
        Limits {
            max_depth,
            max_int_digits,
            ..Limits::default()
        }
    }

    /// These limits with a heap budget of `max(factor × payload length, floor)` bytes.
    pub fn with_heap(self, factor: usize, floor: usize) -> Self {
        Limits {
            heap_factor: factor,
            heap_floor: floor,
            ..self
        }
    }

    /// The heap a payload of `len` bytes may decode into.
    pub fn heap_limit(&self, len: usize) -> usize {
        len.saturating_mul(self.heap_factor).max(self.heap_floor)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 256,
            max_int_digits: 4300,
            heap_factor: 8,
            heap_floor: 64 << 20,
        }
    }
}

/// Encodes `v` into a new buffer.
pub fn dump(v: &Value) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(16);
    encode(v, &mut out)?;
    Ok(out)
}

/// Decodes exactly one value from `data` (trailing bytes are an error).
pub fn load(data: &[u8]) -> Result<Value, DecodeError> {
    load_bytes(&Bytes::copy_from_slice(data), Limits::default())
}

/// Decodes exactly one value from a shared buffer; `bytes` values are zero-copy slices of it.
pub fn load_bytes(data: &Bytes, limits: Limits) -> Result<Value, DecodeError> {
    let mut d = Decoder::new(data, limits);
    let v = d.value()?;
    d.finish()?;
    Ok(v)
}

/// Appends the brine encoding of `v` to `out`.
pub fn encode(v: &Value, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match v {
        Value::None => out.push(TAG_NONE),
        Value::Bool(true) => out.push(TAG_TRUE),
        Value::Bool(false) => out.push(TAG_FALSE),
        Value::Int(i) => encode_i64(*i, out),
        Value::BigInt(b) => encode_int_text(b.to_string().as_bytes(), out)?,
        Value::Float(f) => {
            out.push(TAG_FLOAT);
            out.extend_from_slice(&f.to_be_bytes());
        }
        Value::Complex(r, i) => {
            out.push(TAG_COMPLEX);
            out.extend_from_slice(&r.to_be_bytes());
            out.extend_from_slice(&i.to_be_bytes());
        }
        Value::Bytes(b) => encode_bytes_shared(b, out)?,
        Value::Str(s) => encode_str(s, out)?,
        Value::Tuple(items) | Value::FrozenSet(items) => {
            if let Value::FrozenSet(_) = v {
                out.push(TAG_FSET);
            }
            encode_tuple_header(items.len(), out)?;
            for item in items {
                encode(item, out)?;
            }
        }
        Value::Slice(parts) => {
            out.push(TAG_SLICE);
            out.push(TAG_TUP1 + 2);
            for p in parts.iter() {
                encode(p, out)?;
            }
        }
        Value::Ellipsis => out.push(TAG_ELLIPSIS),
        Value::NotImplemented => out.push(TAG_NOT_IMPLEMENTED),
        Value::Object(o) => {
            return Err(EncodeError::NotDumpable {
                type_name: o.type_name().to_string(),
            })
        }
    }
    Ok(())
}

/// Appends the canonical encoding of an `i64`.
pub fn encode_i64(i: i64, out: &mut Vec<u8>) {
    if (IMM_MIN..=IMM_MAX).contains(&i) {
        out.push((i + IMM_BASE) as u8);
        return;
    }
    // Decimal text without allocating: at most 20 characters for an i64.
    let mut buf = [0u8; 20];
    let mut pos = buf.len();
    let neg = i < 0;
    let mut n = i.unsigned_abs();
    while n > 0 {
        pos -= 1;
        buf[pos] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    if neg {
        pos -= 1;
        buf[pos] = b'-';
    }
    out.push(TAG_INT_L1);
    out.push((buf.len() - pos) as u8);
    out.extend_from_slice(&buf[pos..]);
}

fn encode_int_text(text: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if text.len() < 256 {
        out.push(TAG_INT_L1);
        out.push(text.len() as u8);
    } else {
        out.push(TAG_INT_L4);
        out.extend_from_slice(&len_u32(text.len(), "int text")?.to_be_bytes());
    }
    out.extend_from_slice(text);
    Ok(())
}

fn len_u32(len: usize, what: &'static str) -> Result<u32, EncodeError> {
    u32::try_from(len).map_err(|_| EncodeError::TooLong { what, len })
}

/// Appends the canonical encoding of a `bytes` value.
pub fn encode_bytes(b: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match b.len() {
        0 => out.push(TAG_EMPTY_STR),
        n @ 1..=4 => out.push(TAG_STR1 - 1 + n as u8),
        n @ 5..=255 => {
            out.push(TAG_STR_L1);
            out.push(n as u8);
        }
        n => {
            out.push(TAG_STR_L4);
            out.extend_from_slice(&len_u32(n, "bytes")?.to_be_bytes());
        }
    }
    out.extend_from_slice(b);
    Ok(())
}

/// Appends a shared `bytes` value: by reference while a splice collector runs
/// ([`crate::frame::splice`]) and it is large, else copied.
fn encode_bytes_shared(b: &Bytes, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if b.len() < crate::frame::splice::SPLICE_MIN {
        return encode_bytes(b, out);
    }
    let len = len_u32(b.len(), "bytes")?;
    out.push(TAG_STR_L4);
    out.extend_from_slice(&len.to_be_bytes());
    if !crate::frame::splice::offer(b, out) {
        out.extend_from_slice(b);
    }
    Ok(())
}

/// Appends the canonical header of a tuple of `n` items (the items follow).
pub fn encode_tuple_header(n: usize, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match n {
        0 => out.push(TAG_EMPTY_TUPLE),
        1..=4 => out.push(TAG_TUP1 - 1 + n as u8),
        5..=255 => {
            out.push(TAG_TUP_L1);
            out.push(n as u8);
        }
        _ => {
            out.push(TAG_TUP_L4);
            out.extend_from_slice(&len_u32(n, "tuple")?.to_be_bytes());
        }
    }
    Ok(())
}

/// Appends the encoding of a `str`.
pub fn encode_str(s: &str, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    out.push(TAG_UNICODE);
    encode_bytes(s.as_bytes(), out)
}
