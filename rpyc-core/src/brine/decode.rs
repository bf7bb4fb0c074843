//! The brine decoder: tolerant of everything Python's `brine.load` accepts, bounded in depth,
//! int digits and the heap a message decodes into (see [`Limits`]). Kept apart from the
//! encoder (`brine.rs`) because it is where peer input is trusted or refused.

use bytes::Bytes;
use num_bigint::BigInt;

use super::*;
use crate::error::DecodeError;
use crate::value::Value;

/// Int text longer than this may not fit an `i64` (nor `i128`, which parses on the stack).
const BIG_INT_TEXT: usize = 20;

/// A streaming decoder over a shared buffer.
#[derive(Debug)]
pub struct Decoder<'a> {
    data: &'a Bytes,
    pos: usize,
    depth: usize,
    limits: Limits,
    /// Heap charged so far, and the most that may be (from the limits and the buffer's size).
    heap: usize,
    heap_limit: usize,
}

impl<'a> Decoder<'a> {
    /// Starts decoding `data` at offset 0; its heap budget is `limits.heap_limit(data.len())`.
    pub fn new(data: &'a Bytes, limits: Limits) -> Self {
        Self::with_offset(data, 0, limits)
    }

    /// Starts decoding at `offset` (the budget still counts the whole buffer).
    pub fn with_offset(data: &'a Bytes, offset: usize, limits: Limits) -> Self {
        Decoder {
            data,
            pos: offset,
            depth: 0,
            limits,
            heap: 0,
            heap_limit: limits.heap_limit(data.len()),
        }
    }

    /// The heap charged so far: what the values decoded until now hold (reserved capacity
    /// included; `bytes` values are slices of the buffer and cost nothing).
    pub fn heap_used(&self) -> usize {
        self.heap
    }

    /// Charges `bytes` of heap for the value at `offset`, refusing beyond the budget.
    pub(crate) fn charge(&mut self, bytes: usize, offset: usize) -> Result<(), DecodeError> {
        match self.heap.checked_add(bytes) {
            Some(total) if total <= self.heap_limit => {
                self.heap = total;
                Ok(())
            }
            _ => Err(DecodeError::HeapExceeded {
                limit: self.heap_limit,
                offset,
            }),
        }
    }

    /// An empty `Vec` with room for the `n` items a header at `offset` announced, paid for
    /// first. Every item takes at least one byte, so no more than the bytes left are reserved;
    /// a failed allocation is an error, not an abort.
    pub(crate) fn reserve_items<T>(
        &mut self,
        n: usize,
        offset: usize,
    ) -> Result<Vec<T>, DecodeError> {
        let n = n.min(self.remaining());
        let bytes = n.saturating_mul(std::mem::size_of::<T>());
        self.charge(bytes, offset)?;
        let mut items = Vec::new();
        items
            .try_reserve_exact(n)
            .map_err(|_| DecodeError::OutOfMemory { bytes, offset })?;
        Ok(items)
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
        let text = self.unicode_str(start)?;
        self.charge(text.len(), start)?;
        let mut s = String::new();
        s.try_reserve_exact(text.len())
            .map_err(|_| DecodeError::OutOfMemory {
                bytes: text.len(),
                offset: start,
            })?;
        s.push_str(text);
        Ok(Value::Str(s))
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
        self.charge(std::mem::size_of::<[Value; 3]>(), start)?;
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
        let mut items = match self.reserve_items(n, start) {
            Ok(items) => items,
            Err(e) => {
                self.depth -= 1;
                return Err(e);
            }
        };
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
        if n > BIG_INT_TEXT {
            // A big int holds fewer bytes than its decimal text (and parsing it copies the
            // text once): charge the text.
            self.charge(n, start)?;
        }
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
    // The common case (ids, seqs): up to 18 plain digits, which cannot overflow an `i64`.
    if t.len() <= 18 && t.iter().all(u8::is_ascii_digit) {
        let v = t
            .iter()
            .fold(0i64, |acc, &c| acc * 10 + i64::from(c - b'0'));
        return Some(Value::Int(if neg { -v } else { v }));
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
