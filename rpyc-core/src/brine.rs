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
use num_bigint::BigInt;

use crate::error::{DecodeError, EncodeError};
use crate::value::Value;

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
const IMM_MIN: i64 = -0x30;
const IMM_MAX: i64 = 0x9f;
const IMM_BASE: i64 = 0x50;

/// Decoder limits. The defaults match what a Python peer can produce while keeping memory and
/// stack use bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Maximum nesting depth of tuples/frozensets/slices/str wrappers (default 256; Python's
    /// recursion limit lets it reach about 1000, but real data nests far less).
    pub max_depth: usize,
    /// Maximum characters of an int's decimal text (default 4300, Python's
    /// `sys.get_int_max_str_digits()`).
    pub max_int_digits: usize,
}

impl Limits {
    /// Limits of `max_depth` nesting levels and `max_int_digits` characters of int text.
    pub fn new(max_depth: usize, max_int_digits: usize) -> Self {
        Limits {
            max_depth,
            max_int_digits,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 256,
            max_int_digits: 4300,
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
        Value::Bytes(b) => encode_bytes(b, out)?,
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

/// A streaming decoder over a shared buffer.
#[derive(Debug)]
pub struct Decoder<'a> {
    data: &'a Bytes,
    pos: usize,
    depth: usize,
    limits: Limits,
}

impl<'a> Decoder<'a> {
    /// Starts decoding `data` at offset 0.
    pub fn new(data: &'a Bytes, limits: Limits) -> Self {
        Decoder {
            data,
            pos: 0,
            depth: 0,
            limits,
        }
    }

    /// Starts decoding at `offset`.
    pub fn with_offset(data: &'a Bytes, offset: usize, limits: Limits) -> Self {
        Decoder {
            data,
            pos: offset,
            depth: 0,
            limits,
        }
    }

    /// The current offset.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Errors if bytes remain after the decoded value.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.pos < self.data.len() {
            return Err(DecodeError::TrailingBytes {
                offset: self.pos,
                count: self.data.len() - self.pos,
            });
        }
        Ok(())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let data: &'a Bytes = self.data;
        let avail = data.len() - self.pos;
        if avail < n {
            return Err(DecodeError::Truncated {
                offset: self.pos,
                needed: n - avail,
            });
        }
        let s = &data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<usize, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    fn f64(&mut self) -> Result<f64, DecodeError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_be_bytes(a))
    }

    /// Decodes the next value.
    pub fn value(&mut self) -> Result<Value, DecodeError> {
        let start = self.pos;
        let tag = self.byte()?;
        Ok(match tag {
            0x20..=0xef => Value::Int(tag as i64 - IMM_BASE),
            TAG_NONE => Value::None,
            TAG_EMPTY_STR => Value::Bytes(Bytes::new()),
            TAG_EMPTY_TUPLE => Value::Tuple(Vec::new()),
            TAG_TRUE => Value::Bool(true),
            TAG_FALSE => Value::Bool(false),
            TAG_NOT_IMPLEMENTED => Value::NotImplemented,
            TAG_ELLIPSIS => Value::Ellipsis,
            TAG_UNICODE => self.unicode(start)?,
            0x0a..=0x0d => self.bytes_value((tag - TAG_STR1 + 1) as usize)?,
            TAG_STR_L1 => {
                let n = self.byte()? as usize;
                self.bytes_value(n)?
            }
            TAG_STR_L4 => {
                let n = self.u32()?;
                self.bytes_value(n)?
            }
            0x10..=0x13 => self
                .tuple_items((tag - TAG_TUP1 + 1) as usize, start)
                .map(Value::Tuple)?,
            TAG_TUP_L1 => {
                let n = self.byte()? as usize;
                self.tuple_items(n, start).map(Value::Tuple)?
            }
            TAG_TUP_L4 => {
                let n = self.u32()?;
                self.tuple_items(n, start).map(Value::Tuple)?
            }
            TAG_INT_L1 => {
                let n = self.byte()? as usize;
                self.int_text(n, start)?
            }
            TAG_INT_L4 => {
                let n = self.u32()?;
                self.int_text(n, start)?
            }
            TAG_FLOAT => Value::Float(self.f64()?),
            TAG_COMPLEX => {
                let r = self.f64()?;
                let i = self.f64()?;
                Value::Complex(r, i)
            }
            TAG_SLICE => self.slice(start)?,
            TAG_FSET => self.frozenset(start)?,
            _ => return Err(DecodeError::BadTag { tag, offset: start }),
        })
    }

    #[inline(never)]
    fn unicode(&mut self, start: usize) -> Result<Value, DecodeError> {
        self.unicode_str(start).map(|s| Value::Str(s.to_owned()))
    }

    /// The text of a str whose `0x08` tag at `start` has been read, borrowed from the buffer.
    fn unicode_str(&mut self, start: usize) -> Result<&'a str, DecodeError> {
        self.enter(start)?;
        let inner = self.wrapped_bytes(start);
        self.depth -= 1;
        std::str::from_utf8(inner?).map_err(|_| DecodeError::InvalidUtf8 { offset: start })
    }

    /// The bytes value a str tag wraps. Anything else is decoded as a value first (its own
    /// errors come first) and then refused with `StrNotBytes`.
    fn wrapped_bytes(&mut self, start: usize) -> Result<&'a [u8], DecodeError> {
        let n = match self.data.get(self.pos).copied() {
            Some(TAG_EMPTY_STR) => {
                self.pos += 1;
                0
            }
            Some(tag @ 0x0a..=0x0d) => {
                self.pos += 1;
                (tag - TAG_STR1 + 1) as usize
            }
            Some(TAG_STR_L1) => {
                self.pos += 1;
                self.byte()? as usize
            }
            Some(TAG_STR_L4) => {
                self.pos += 1;
                self.u32()?
            }
            _ => {
                self.value()?;
                return Err(DecodeError::StrNotBytes { offset: start });
            }
        };
        self.take(n)
    }

    /// Reads the header of a tuple, in any length form [`Decoder::value`] accepts, and enters
    /// its nesting level exactly as decoding the tuple as a value does (a non-empty tuple, or
    /// one with an explicit length of 0, at the depth limit is `DepthExceeded`; `()` as `0x02`
    /// is never counted against the limit). The caller reads the items and then calls
    /// [`Decoder::end_tuple`]. Anything but a tuple is `Malformed { what: "tuple" }`.
    ///
    /// After an error the decoder's position and depth are unspecified: stop using it.
    pub(crate) fn tuple_len(&mut self) -> Result<usize, DecodeError> {
        let start = self.pos;
        let tag = self.byte()?;
        let n = match tag {
            TAG_EMPTY_TUPLE => {
                // `value()` does not count `()`; count it unchecked so `end_tuple` pairs up.
                self.depth += 1;
                return Ok(0);
            }
            0x10..=0x13 => (tag - TAG_TUP1 + 1) as usize,
            TAG_TUP_L1 => self.byte()? as usize,
            TAG_TUP_L4 => self.u32()?,
            _ => {
                return Err(DecodeError::Malformed {
                    what: "tuple",
                    offset: start,
                })
            }
        };
        self.enter(start)?;
        Ok(n)
    }

    /// Leaves the tuple of the last [`Decoder::tuple_len`] whose items have all been read.
    pub(crate) fn end_tuple(&mut self) {
        debug_assert!(self.depth > 0, "end_tuple without tuple_len");
        self.depth -= 1;
    }

    /// Reads a str value, borrowed from the buffer, with the nesting and errors of decoding it
    /// as a value. Anything but a str is `Malformed { what: "str" }`.
    pub(crate) fn str_ref(&mut self) -> Result<&'a str, DecodeError> {
        let start = self.pos;
        match self.byte()? {
            TAG_UNICODE => self.unicode_str(start),
            _ => Err(DecodeError::Malformed {
                what: "str",
                offset: start,
            }),
        }
    }

    /// Bytes not yet read: an upper bound on the items a tuple header can honestly announce.
    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    #[inline(never)]
    fn slice(&mut self, start: usize) -> Result<Value, DecodeError> {
        self.enter(start)?;
        let inner = self.value();
        self.depth -= 1;
        match inner? {
            Value::Tuple(t) if t.len() == 3 => {
                let mut it = t.into_iter();
                match (it.next(), it.next(), it.next()) {
                    (Some(a), Some(b), Some(c)) => Ok(Value::slice(a, b, c)),
                    _ => Err(DecodeError::Malformed {
                        what: "slice",
                        offset: start,
                    }),
                }
            }
            _ => Err(DecodeError::Malformed {
                what: "slice",
                offset: start,
            }),
        }
    }

    #[inline(never)]
    fn frozenset(&mut self, start: usize) -> Result<Value, DecodeError> {
        self.enter(start)?;
        let inner = self.value();
        self.depth -= 1;
        match inner? {
            Value::Tuple(t) => Ok(Value::FrozenSet(t)),
            _ => Err(DecodeError::Malformed {
                what: "frozenset",
                offset: start,
            }),
        }
    }

    fn enter(&mut self, offset: usize) -> Result<(), DecodeError> {
        if self.depth >= self.limits.max_depth {
            return Err(DecodeError::DepthExceeded {
                limit: self.limits.max_depth,
                offset,
            });
        }
        self.depth += 1;
        Ok(())
    }

    fn bytes_value(&mut self, n: usize) -> Result<Value, DecodeError> {
        let start = self.pos;
        self.take(n)?;
        Ok(Value::Bytes(self.data.slice(start..start + n)))
    }

    fn tuple_items(&mut self, n: usize, start: usize) -> Result<Vec<Value>, DecodeError> {
        self.enter(start)?;
        // Every item takes at least one byte: never reserve more than the input can hold.
        let mut items = Vec::with_capacity(n.min(self.remaining()));
        for _ in 0..n {
            match self.value() {
                Ok(v) => items.push(v),
                Err(e) => {
                    self.depth -= 1;
                    return Err(e);
                }
            }
        }
        self.depth -= 1;
        Ok(items)
    }

    fn int_text(&mut self, n: usize, start: usize) -> Result<Value, DecodeError> {
        if n > self.limits.max_int_digits {
            // Check availability first so truncated input still reports truncation.
            self.take(n)?;
            return Err(DecodeError::IntTooLong {
                offset: start,
                digits: n,
                limit: self.limits.max_int_digits,
            });
        }
        let text = self.take(n)?;
        parse_python_int(text).ok_or(DecodeError::InvalidInt { offset: start })
    }
}

/// Parses int text the way Python's `int(bytes)` does: optional surrounding ASCII whitespace,
/// an optional sign, decimal digits with single underscores between them.
pub fn parse_python_int(text: &[u8]) -> Option<Value> {
    let is_ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c');
    let start = text.iter().position(|c| !is_ws(c))?;
    let end = text.iter().rposition(|c| !is_ws(c))? + 1;
    let mut t = &text[start..end];
    let mut neg = false;
    if let Some((&c, rest)) = t.split_first() {
        if c == b'-' || c == b'+' {
            neg = c == b'-';
            t = rest;
        }
    }
    if t.is_empty() || t[0] == b'_' || t[t.len() - 1] == b'_' {
        return None;
    }
    let mut prev_us = false;
    let mut digits = 0usize;
    let mut acc: i128 = 0;
    let mut fits = true;
    for &c in t {
        match c {
            b'0'..=b'9' => {
                prev_us = false;
                digits += 1;
                if fits {
                    match acc
                        .checked_mul(10)
                        .and_then(|a| a.checked_add((c - b'0') as i128))
                    {
                        Some(a) => acc = a,
                        None => fits = false,
                    }
                }
            }
            b'_' if !prev_us => prev_us = true,
            _ => return None,
        }
    }
    if digits == 0 {
        return None;
    }
    if fits {
        let v = if neg { -acc } else { acc };
        if let Ok(i) = i64::try_from(v) {
            return Some(Value::Int(i));
        }
        return Some(Value::BigInt(BigInt::from(v)));
    }
    let clean: Vec<u8> = t.iter().copied().filter(|&c| c != b'_').collect();
    let mag = BigInt::parse_bytes(&clean, 10)?;
    Some(Value::from_bigint(if neg { -mag } else { mag }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn big(s: &str) -> Value {
        Value::from_bigint(s.parse::<BigInt>().unwrap())
    }

    /// The worked examples of the protocol notes, §2.5 (checked there against Python's brine).
    #[test]
    fn worked_examples() {
        let cases: Vec<(&str, Value)> = vec![
            (
                "12515211080a610a62",
                Value::Tuple(vec![
                    Value::Int(1),
                    Value::Int(2),
                    Value::Tuple(vec![Value::str("a"), Value::bytes(&b"b"[..])]),
                ]),
            ),
            ("00", Value::None),
            ("1603333030", Value::Int(300)),
            ("4f", Value::Int(-1)),
            (
                "161631313830353931363230373137343131333033343234",
                big("1180591620717411303424"),
            ),
            ("080e0668c3a96c6c6f", Value::str("héllo")),
            ("03", Value::Bool(true)),
            ("04", Value::Bool(false)),
            ("50", Value::Int(0)),
            ("ef", Value::Int(159)),
            ("1603313630", Value::Int(160)),
            ("20", Value::Int(-48)),
            ("16032d3439", Value::Int(-49)),
            (
                "16172d31313830353931363230373137343131333033343234",
                big("-1180591620717411303424"),
            ),
            ("183ff8000000000000", Value::Float(1.5)),
            (
                "1b3ff00000000000004000000000000000",
                Value::Complex(1.0, 2.0),
            ),
            ("01", Value::bytes(&b""[..])),
            ("0801", Value::str("")),
            ("080a61", Value::str("a")),
            ("0d61626364", Value::bytes(&b"abcd"[..])),
            ("0e056162636465", Value::bytes(&b"abcde"[..])),
            ("02", Value::Tuple(vec![])),
            ("1051", Value::Tuple(vec![Value::Int(1)])),
            (
                "14055152535455",
                Value::Tuple((1..=5).map(Value::Int).collect()),
            ),
            ("1a1055", Value::FrozenSet(vec![Value::Int(5)])),
            (
                "1912510052",
                Value::slice(Value::Int(1), Value::None, Value::Int(2)),
            ),
            ("06", Value::Ellipsis),
            ("05", Value::NotImplemented),
            (
                "1111080e0a6765745f616e737765720011080d6e616d6500",
                Value::Tuple(vec![
                    Value::Tuple(vec![Value::str("get_answer"), Value::None]),
                    Value::Tuple(vec![Value::str("name"), Value::None]),
                ]),
            ),
        ];
        for (h, v) in cases {
            assert_eq!(dump(&v).unwrap(), hex(h), "dump {v:?}");
            assert_eq!(load(&hex(h)).unwrap(), v, "load {h}");
        }
    }

    #[test]
    fn registry_vectors() {
        let reg = Value::Tuple(vec![
            Value::str("RPYC"),
            Value::str("REGISTER"),
            Value::Tuple(vec![
                Value::Tuple(vec![Value::str("FOO"), Value::str("BAR")]),
                Value::Int(18861),
            ]),
        ]);
        assert_eq!(
            dump(&reg).unwrap(),
            hex("12080d52505943080e0852454749535445521111080c464f4f080c42415216053138383631")
        );
    }

    #[test]
    fn length_classes() {
        for n in [0usize, 1, 4, 5, 255, 256, 70000] {
            let b = vec![7u8; n];
            let enc = dump(&Value::bytes(b.clone())).unwrap();
            let head = match n {
                0 => 1,
                1..=4 => 1,
                5..=255 => 2,
                _ => 5,
            };
            assert_eq!(enc.len(), head + n);
            assert_eq!(load(&enc).unwrap(), Value::bytes(b));
            let t = Value::Tuple(vec![Value::None; n]);
            assert_eq!(load(&dump(&t).unwrap()).unwrap(), t);
        }
    }

    #[test]
    fn non_canonical_forms_accepted() {
        assert_eq!(load(&hex("0e03616263")).unwrap(), Value::bytes(&b"abc"[..]));
        assert_eq!(
            load(&hex("14025152")).unwrap(),
            Value::Tuple(vec![Value::Int(1), Value::Int(2)])
        );
        assert_eq!(load(&hex("160135")).unwrap(), Value::Int(5));
        assert_eq!(load(b"\x16\x08 +1_000 ").unwrap(), Value::Int(1000));
        assert_eq!(load(b"\x16\x03007").unwrap(), Value::Int(7));
        assert!(load(b"\x16\x021__").is_err());
        assert!(load(b"\x16\x02_1").is_err());
        assert!(load(b"\x16\x01-").is_err());
    }

    #[test]
    fn bad_input_is_an_error() {
        assert_eq!(
            load(&[0x07]),
            Err(DecodeError::BadTag { tag: 7, offset: 0 })
        );
        assert_eq!(
            load(&[0x11, 0x51, 0xf3]),
            Err(DecodeError::BadTag {
                tag: 0xf3,
                offset: 2
            })
        );
        assert!(matches!(
            load(&[0x0f, 0xff, 0xff, 0xff, 0xff]),
            Err(DecodeError::Truncated { .. })
        ));
        assert!(matches!(
            load(&[0x15, 0xff, 0xff, 0xff, 0xff]),
            Err(DecodeError::Truncated { .. })
        ));
        assert!(matches!(
            load(&[0x08, 0x0a, 0xff]),
            Err(DecodeError::InvalidUtf8 { offset: 0 })
        ));
        assert!(matches!(
            load(&[0x08, 0x51]),
            Err(DecodeError::StrNotBytes { .. })
        ));
        assert!(matches!(
            load(&[0x19, 0x11, 0x51, 0x51]),
            Err(DecodeError::Malformed { what: "slice", .. })
        ));
        assert!(matches!(
            load(&[0x00, 0x00]),
            Err(DecodeError::TrailingBytes {
                offset: 1,
                count: 1
            })
        ));
        let deep = vec![0x10u8; 100_000];
        assert!(matches!(
            load(&deep),
            Err(DecodeError::DepthExceeded { limit: 256, .. })
        ));
        let mut long = vec![0x17, 0, 0, 0x13, 0x88];
        long.extend(std::iter::repeat_n(b'9', 5000));
        assert!(matches!(
            load(&long),
            Err(DecodeError::IntTooLong { digits: 5000, .. })
        ));
    }

    #[test]
    fn objects_are_not_dumpable() {
        #[derive(Debug)]
        struct Thing;
        impl crate::value::Opaque for Thing {
            fn type_name(&self) -> &str {
                "Thing"
            }
            fn as_any(&self) -> &dyn std::any::Any {
                self
            }
            fn as_any_arc(
                self: std::sync::Arc<Self>,
            ) -> std::sync::Arc<dyn std::any::Any + Send + Sync> {
                self
            }
        }
        let v = Value::Tuple(vec![Value::Object(crate::value::Object::new(Thing))]);
        assert_eq!(
            dump(&v),
            Err(EncodeError::NotDumpable {
                type_name: "Thing".into()
            })
        );
    }
}
