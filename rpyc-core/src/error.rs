//! Error types of the protocol layer. Every variant says what went wrong and where.

use thiserror::Error;

/// A brine buffer could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The buffer ended in the middle of a value.
    #[error("brine: truncated input at offset {offset}: needed {needed} more byte(s)")]
    Truncated {
        /// Offset where more bytes were needed.
        offset: usize,
        /// How many more bytes the value needed.
        needed: usize,
    },
    /// A byte that is not a brine tag (0x07, 0x09, 0x1c–0x1f, 0xf0–0xff).
    #[error("brine: invalid tag 0x{tag:02x} at offset {offset}")]
    BadTag {
        /// The offending byte.
        tag: u8,
        /// Its offset.
        offset: usize,
    },
    /// Tuples nested deeper than the configured limit.
    #[error("brine: nesting depth exceeds {limit} at offset {offset}")]
    DepthExceeded {
        /// The configured limit.
        limit: usize,
        /// Offset of the value that went too deep.
        offset: usize,
    },
    /// A str value whose bytes are not UTF-8.
    #[error("brine: invalid UTF-8 in str at offset {offset}")]
    InvalidUtf8 {
        /// Offset of the str value.
        offset: usize,
    },
    /// A `0x08` str tag not followed by a bytes value.
    #[error("brine: str at offset {offset} does not wrap a bytes value")]
    StrNotBytes {
        /// Offset of the str tag.
        offset: usize,
    },
    /// Int text that Python's `int()` would refuse.
    #[error("brine: invalid int literal at offset {offset}")]
    InvalidInt {
        /// Offset of the int value.
        offset: usize,
    },
    /// Int text longer than the configured digit limit (Python's default is 4300).
    #[error("brine: int at offset {offset} has {digits} digits, more than the limit {limit}")]
    IntTooLong {
        /// Offset of the int value.
        offset: usize,
        /// Number of characters in its text.
        digits: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A slice whose payload is not a 3-tuple, or a frozenset whose payload is not a tuple.
    #[error("brine: malformed {what} at offset {offset}")]
    Malformed {
        /// `"slice"` or `"frozenset"` (or, from the crate's direct readers of message
        /// envelopes, `"tuple"` or `"str"` where one was expected).
        what: &'static str,
        /// Offset of the value.
        offset: usize,
    },
    /// Decoding needs more heap than the limits allow this message (see
    /// [`crate::brine::Limits`]: `max(heap_factor × payload length, heap_floor)`).
    #[error("brine: decoding the value at offset {offset} goes beyond the decode limit of {limit} bytes of memory for this message")]
    HeapExceeded {
        /// The heap budget of this message, in bytes.
        limit: usize,
        /// Offset of the value that went beyond it.
        offset: usize,
    },
    /// An allocation the data asked for failed (the process is short of memory or address
    /// space); only this message is refused.
    #[error("brine: cannot allocate {bytes} bytes for the value at offset {offset}")]
    OutOfMemory {
        /// The size of the allocation that failed.
        bytes: usize,
        /// Offset of the value.
        offset: usize,
    },
    /// Bytes left over after the top-level value.
    #[error("brine: {count} trailing byte(s) after the value at offset {offset}")]
    TrailingBytes {
        /// Offset of the first extra byte.
        offset: usize,
        /// How many extra bytes.
        count: usize,
    },
}

/// A value could not be brine-encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The value (or something inside it) travels only by reference.
    #[error("brine: cannot dump a value of type {type_name}: it travels by reference")]
    NotDumpable {
        /// Type name of the offending value.
        type_name: String,
    },
    /// A length does not fit the u32 length field.
    #[error("brine: {what} of length {len} exceeds the u32 length field")]
    TooLong {
        /// What was too long.
        what: &'static str,
        /// Its length.
        len: usize,
    },
}

/// A frame could not be read or written.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The header announced a payload larger than the configured maximum.
    #[error("frame of {len} bytes exceeds the maximum frame size of {limit} bytes")]
    TooLarge {
        /// Announced payload length.
        len: u64,
        /// Configured limit.
        limit: usize,
    },
    /// A compressed payload inflates beyond the configured maximum (a zlib bomb).
    #[error("compressed frame inflates beyond the maximum of {limit} bytes")]
    DecompressedTooLarge {
        /// Configured limit.
        limit: usize,
    },
    /// A buffer for what the peer sent could not be allocated (the process is short of memory
    /// or address space): the stream it came from is given up, nothing else.
    #[error("cannot allocate {bytes} bytes for an incoming frame")]
    OutOfMemory {
        /// The size of the buffer that could not be had.
        bytes: usize,
    },
    /// The zlib stream is corrupt or truncated.
    #[error("invalid zlib stream in compressed frame: {0}")]
    Zlib(String),
    /// The stream closed in the middle of a frame.
    #[error("connection closed in the middle of a frame ({got} of {expected} bytes)")]
    UnexpectedEof {
        /// Bytes received of the frame.
        got: usize,
        /// Bytes the frame needed.
        expected: usize,
    },
    /// An I/O error of the underlying stream.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// A frame payload is not a valid RPyC 6 message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The payload was empty.
    #[error("empty message payload")]
    Empty,
    /// The payload starts like an rpyc <= 5.x message (`brine((msg, seq, body))`).
    #[error("peer speaks the rpyc 5.x (or older) wire format; rpyc-rs speaks rpyc 6")]
    LegacyPeer,
    /// The first byte is not REQUEST/REPLY/EXCEPTION.
    #[error("invalid message type {0} (expected 1, 2 or 3; is the peer using bind_threads or another protocol?)")]
    InvalidMessageType(u8),
    /// The brine part did not decode.
    #[error("undecodable message: {0}")]
    Decode(#[from] DecodeError),
    /// The decoded value does not have the shape of a message.
    #[error("malformed message: {0}")]
    Malformed(String),
}

/// A value could not be converted to the Rust type asked for.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// The value has the wrong type.
    #[error("expected {expected}, got {actual}")]
    Type {
        /// What was expected.
        expected: String,
        /// What the value was.
        actual: String,
    },
    /// The value has the right type but does not fit (e.g. an int out of range).
    #[error("{value} is out of range for {target}")]
    Range {
        /// Short text of the value.
        value: String,
        /// The Rust type.
        target: &'static str,
    },
    /// A tuple has the wrong number of items.
    #[error("expected a tuple of {expected} items, got {actual}")]
    Length {
        /// Expected length.
        expected: usize,
        /// Actual length.
        actual: usize,
    },
    /// A custom message (serde).
    #[error("{0}")]
    Custom(String),
    /// An item of a container failed to convert: `at` names it (`item 2`, `key 'a'`,
    /// `value of key 'a'`).
    #[error("{at}: {source}")]
    Item {
        /// Which item.
        at: String,
        /// Why it failed.
        source: Box<ConvertError>,
    },
}

impl ConvertError {
    /// A type mismatch between `expected` and the value's type.
    pub fn type_mismatch(expected: impl Into<String>, actual: &crate::Value) -> Self {
        ConvertError::Type {
            expected: expected.into(),
            actual: actual.type_name().to_string(),
        }
    }

    /// This error, as the error of the container item named `at`.
    pub fn at(self, at: impl Into<String>) -> Self {
        ConvertError::Item {
            at: at.into(),
            source: Box::new(self),
        }
    }
}

/// Any error of the protocol layer.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// See [`DecodeError`].
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// See [`EncodeError`].
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// See [`FrameError`].
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// See [`ProtocolError`].
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// See [`ConvertError`].
    #[error(transparent)]
    Convert(#[from] ConvertError),
}
