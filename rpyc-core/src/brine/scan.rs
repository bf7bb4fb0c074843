//! A bounded pre-scan of brine data: whether decoding it is cheap, found without decoding it.
//!
//! What costs time in decoding is the number of items (each one a `Value` built, a tuple slot
//! reserved) and the bytes copied into them (str text is validated and copied, long int text
//! parsed), not the length of `bytes` values: those decode into slices of the buffer. So a
//! frame of 1 MiB that is a few items around one `bytes` value decodes as fast as a small one,
//! and a connection can decode it where it decodes small frames (with no thread hop), while a
//! frame of many items still goes where slow decodes go. The scan walks the same grammar as
//! [`super::Decoder`], skips `bytes` payloads by their length prefix, counts the items tuple
//! headers announce, and stops as soon as it has seen more than it allows: its own cost is
//! bounded by the budget, whatever the data.

use super::*;

/// Int text longer than this is parsed as a big int (as [`super::Decoder`] does), and counted
/// as copied text.
const SHORT_INT_TEXT: usize = 20;

/// Whether the brine value at the start of `data` decodes cheaply: at most `max_items` items
/// (counting every item a tuple header announces, read or not) and at most `max_text` bytes of
/// str text and long int text. `bytes` values cost nothing here, whatever their length.
///
/// Malformed or truncated data within the budget is cheap too: decoding stops at the same
/// place, with an error. Bytes after the value are not looked at (decoding refuses them).
///
/// ```
/// use rpyc::core::{brine, Value};
/// // (1, b"..." × 1 MiB): two items and a payload the decoder only slices.
/// let big = Value::Tuple(vec![Value::Int(1), Value::Bytes(vec![7u8; 1 << 20].into())]);
/// assert!(brine::cheap_to_decode(&brine::dump(&big).unwrap(), 16, 1024));
/// // 100 ints: more items than 16.
/// let many = Value::Tuple((0..100).map(Value::Int).collect());
/// assert!(!brine::cheap_to_decode(&brine::dump(&many).unwrap(), 16, 1024));
/// // A str is copied: 2000 bytes of text are more than 1024.
/// let text = Value::str("x".repeat(2000));
/// assert!(!brine::cheap_to_decode(&brine::dump(&text).unwrap(), 16, 1024));
/// ```
pub fn cheap_to_decode(data: &[u8], max_items: usize, max_text: usize) -> bool {
    let mut pos = 0usize;
    // Values announced and not read yet.
    let mut pending = 1usize;
    let mut items = 0usize;
    let mut text = 0usize;
    // The last tag was a str's: the bytes value it wraps is copied text.
    let mut in_str = false;
    while pending > 0 {
        let Some(&tag) = data.get(pos) else {
            return true; // truncated: decoding stops here
        };
        pos += 1;
        pending -= 1;
        items += 1;
        let wrapped = std::mem::take(&mut in_str);
        // Bytes that follow the tag and are skipped; their length (and whether it is text).
        let (skip, is_text) = match tag {
            0x20..=0xef
            | TAG_NONE
            | TAG_EMPTY_STR
            | TAG_EMPTY_TUPLE
            | TAG_TRUE
            | TAG_FALSE
            | TAG_NOT_IMPLEMENTED
            | TAG_ELLIPSIS => (0, false),
            TAG_UNICODE => {
                in_str = true;
                pending += 1;
                (0, false)
            }
            0x0a..=0x0d => ((tag - TAG_STR1 + 1) as usize, wrapped),
            TAG_STR_L1 | TAG_INT_L1 => match data.get(pos) {
                Some(&n) => {
                    pos += 1;
                    (n as usize, wrapped || tag == TAG_INT_L1)
                }
                None => return true,
            },
            TAG_STR_L4 | TAG_INT_L4 => match data.get(pos..pos + 4) {
                Some(n) => {
                    pos += 4;
                    let n = u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize;
                    (n, wrapped || tag == TAG_INT_L4)
                }
                None => return true,
            },
            0x10..=0x13 => {
                pending += (tag - TAG_TUP1 + 1) as usize;
                (0, false)
            }
            TAG_TUP_L1 => match data.get(pos) {
                Some(&n) => {
                    pos += 1;
                    pending += n as usize;
                    (0, false)
                }
                None => return true,
            },
            TAG_TUP_L4 => match data.get(pos..pos + 4) {
                Some(n) => {
                    pos += 4;
                    pending = pending
                        .saturating_add(u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize);
                    (0, false)
                }
                None => return true,
            },
            TAG_FLOAT => (8, false),
            TAG_COMPLEX => (16, false),
            // Each wraps one value (a tuple).
            TAG_SLICE | TAG_FSET => {
                pending += 1;
                (0, false)
            }
            _ => return true, // a bad tag: decoding stops here
        };
        if is_text && ((tag != TAG_INT_L1 && tag != TAG_INT_L4) || skip > SHORT_INT_TEXT) {
            text = text.saturating_add(skip);
        }
        if items.saturating_add(pending) > max_items || text > max_text {
            return false;
        }
        pos = match pos.checked_add(skip) {
            Some(p) if p <= data.len() => p,
            _ => return true, // truncated
        };
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump(v: &Value) -> Vec<u8> {
        super::super::dump(v).unwrap()
    }

    #[test]
    fn items_are_counted_bytes_are_skipped_and_text_is_charged() {
        let big = Value::Bytes(vec![1u8; 100_000].into());
        // (seq, (1, big)): 5 items.
        let msg = Value::Tuple(vec![
            Value::Int(3),
            Value::Tuple(vec![Value::Int(1), big.clone()]),
        ]);
        let data = dump(&msg);
        assert!(cheap_to_decode(&data, 5, 0));
        assert!(!cheap_to_decode(&data, 4, 0));
        // Every length class of bytes, a float, a complex, a slice, a frozenset, small ints.
        let mixed = Value::Tuple(vec![
            Value::Bytes(vec![2u8; 3].into()),
            Value::Bytes(vec![2u8; 200].into()),
            Value::Float(1.5),
            Value::Complex(1.0, 2.0),
            Value::slice(Value::Int(1), Value::None, Value::Int(-1)),
            Value::FrozenSet(vec![Value::Int(1_000_000_000_000)]),
            Value::Ellipsis,
        ]);
        let data = dump(&mixed);
        // 1 + 7 + the slice's tuple and its 3 items + the frozenset's tuple and its item.
        assert!(cheap_to_decode(&data, 14, 0));
        assert!(!cheap_to_decode(&data, 13, 0));
        // A str's text counts, an i64's text does not, a big int's does.
        let text = dump(&Value::Tuple(vec![
            Value::str("abcd"),
            Value::Int(i64::MAX),
        ]));
        assert!(cheap_to_decode(&text, 8, 4));
        assert!(!cheap_to_decode(&text, 8, 3));
        let big_int = dump(&parse_python_int(&[b'9'; 30]).unwrap());
        assert!(cheap_to_decode(&big_int, 1, 30));
        assert!(!cheap_to_decode(&big_int, 1, 29));
    }

    #[test]
    fn announced_items_count_before_they_are_read() {
        // A tuple announcing 2^32 - 1 items, none present: refused at its header.
        let mut data = vec![TAG_TUP_L4];
        data.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(!cheap_to_decode(&data, 1 << 20, 0));
        // Many nested tuples of one item: each level is an item.
        let deep = [[0x10u8; 300].as_slice(), &[0x50]].concat();
        assert!(!cheap_to_decode(&deep, 100, 0));
        assert!(cheap_to_decode(&deep, 301, 0));
    }

    #[test]
    fn malformed_data_within_the_budget_is_cheap() {
        // Truncated inside a length, inside a payload, or before an announced item; a bad tag.
        for data in [
            &[TAG_STR_L4, 0, 0][..],
            &[TAG_STR_L1, 9, 1, 2][..],
            &[0x11, 0x50][..],
            &[0x11, 0xff, 0x50][..],
            &[][..],
        ] {
            assert!(cheap_to_decode(data, 4, 4), "{data:?}");
        }
        // A length that overflows the position.
        let mut data = vec![TAG_STR_L4];
        data.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(cheap_to_decode(&data, 4, 4));
    }
}
