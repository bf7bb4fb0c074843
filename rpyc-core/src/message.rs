//! Messages: `u8 msg ‖ brine((seq, body))`, handler ids with typed argument layouts, boxing.
//!
//! A REQUEST body is `(handler_id, boxed_args)`, a REPLY body is a boxed result and an
//! EXCEPTION body is a vinegar payload ([`crate::vinegar`]). Boxing (`(label, value)`) says
//! whether something travels by value (label 1), as a tuple of boxes (2), as a reference to the
//! receiver's own object (3) or as a reference to the sender's object (4); [`Boxed`] is that
//! tree with id packs still unresolved — resolving them against object tables is the
//! connection's job.
//!
//! ```
//! use rpyc::core::message::{Boxed, Handler, Message};
//! use rpyc::Value;
//! // The GETROOT request of §11.1: msg 1, (seq 0, (3, (1, ()))).
//! let mut buf = Vec::new();
//! Message::encode_request(0, Handler::GetRoot, &Boxed::Value(Value::Tuple(vec![])), &mut buf).unwrap();
//! assert_eq!(buf, b"\x01\x11\x50\x11\x53\x11\x51\x02");
//! let msg = Message::decode(&bytes::Bytes::from(buf), Default::default()).unwrap();
//! assert!(matches!(msg, Message::Request { seq: 0, handler: 3, .. }));
//! ```

use bytes::Bytes;

use crate::brine::{self, Decoder, Limits};
use crate::error::{DecodeError, EncodeError, ProtocolError};
use crate::value::Value;
use crate::vinegar::ExceptionPayload;

mod boxed;
mod request;
#[cfg(test)]
mod tests;

pub use boxed::{Boxed, IdPack};
pub use request::{ArgError, Handler, Request};

/// Message type byte of a request.
pub const MSG_REQUEST: u8 = 1;
/// Message type byte of a reply.
pub const MSG_REPLY: u8 = 2;
/// Message type byte of an exception.
pub const MSG_EXCEPTION: u8 = 3;

/// Box label: the value travels by value.
pub const LABEL_VALUE: i64 = 1;
/// Box label: a tuple whose members are boxed one by one.
pub const LABEL_TUPLE: i64 = 2;
/// Box label: a reference to an object the *receiver* owns.
pub const LABEL_LOCAL_REF: i64 = 3;
/// Box label: a reference to an object the *sender* owns.
pub const LABEL_REMOTE_REF: i64 = 4;

/// The direct readers met an error or a shape they leave to the `Value`-based parsers, which
/// then report it as they always have; except a limit on memory (`Some`), which decoding again
/// would only meet again: that error is the answer. Boxed, so that every direct reader's
/// `Result` stays the size of its value: `cargo bench --bench codec` decoded `add(1, 2)`'s
/// request in 626 ns with the error inline, 451 ns boxed (with the short-int fast path of
/// `parse_python_int`).
pub(crate) struct Reparse(Option<Box<DecodeError>>);

pub(crate) const RESHAPE: Reparse = Reparse(None);

impl From<DecodeError> for Reparse {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::HeapExceeded { .. } | DecodeError::OutOfMemory { .. } => {
                Reparse(Some(Box::new(e)))
            }
            _ => RESHAPE,
        }
    }
}

/// Reads an int that fits `i64` (what `Value::Int` holds), as seq, handler ids and labels are.
pub(crate) fn int(d: &mut Decoder<'_>) -> Result<i64, Reparse> {
    match d.value()? {
        Value::Int(i) => Ok(i),
        _ => Err(RESHAPE),
    }
}

/// The start of a message: its type ([`MSG_REQUEST`], [`MSG_REPLY`] or [`MSG_EXCEPTION`])
/// and seq, read by [`Message::envelope`] before the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope {
    /// The message type byte.
    pub msg: u8,
    /// The sequence number: of the request, or of the request a reply answers.
    pub seq: i64,
}

/// One decoded message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request: handler id (possibly unknown) and boxed argument tuple.
    Request {
        /// Sequence number chosen by the sender.
        seq: i64,
        /// Handler id as sent (see [`Handler::from_id`]).
        handler: i64,
        /// The boxed argument tuple.
        args: Boxed,
    },
    /// A successful reply.
    Reply {
        /// Sequence number of the request answered.
        seq: i64,
        /// The boxed result.
        value: Boxed,
    },
    /// An exception reply.
    Exception {
        /// Sequence number of the request answered.
        seq: i64,
        /// The vinegar payload.
        payload: ExceptionPayload,
    },
}

impl Message {
    /// Decodes a frame payload (already decompressed).
    pub fn decode(payload: &Bytes, limits: Limits) -> Result<Message, ProtocolError> {
        let Some(&msg) = payload.first() else {
            return Err(ProtocolError::Empty);
        };
        match msg {
            MSG_REQUEST | MSG_REPLY | MSG_EXCEPTION => {}
            // A 5.x payload is brine((msg, seq, body)): TUP3 then an immediate 1..3.
            0x12 if matches!(payload.get(1), Some(0x51..=0x53)) => {
                return Err(ProtocolError::LegacyPeer)
            }
            other => return Err(ProtocolError::InvalidMessageType(other)),
        }
        // The direct reader handles every well-formed message; for anything it refuses, the
        // `Value`-based parser decides, so errors (and their precedence: brine errors anywhere,
        // then trailing bytes, then the shape) are exactly those of a full decode. A limit on
        // memory is the exception: it is reported as met, without decoding again.
        match Self::decode_direct(&mut Decoder::with_offset(payload, 1, limits), msg) {
            Ok(m) => Ok(m),
            Err(Reparse(Some(limit))) => Err((*limit).into()),
            Err(Reparse(None)) => Self::decode_value(payload, msg, limits),
        }
    }

    /// Reads only the message type and the seq at the start of a payload, before its body:
    /// enough to answer a request whose body a limit refuses, or to drop a reply nobody
    /// waits for without decoding it. `None` if the payload does not start like an RPyC 6
    /// message (then [`Message::decode`] says why).
    ///
    /// ```
    /// use rpyc::core::message::{Boxed, Envelope, Message, MSG_REPLY};
    /// let mut payload = Vec::new();
    /// Message::encode_reply(7, &Boxed::value("a long value"), &mut payload).unwrap();
    /// let env = Message::envelope(&payload.into()).unwrap();
    /// assert_eq!(env, Envelope { msg: MSG_REPLY, seq: 7 });
    /// ```
    pub fn envelope(payload: &Bytes) -> Option<Envelope> {
        let msg = *payload.first()?;
        if !matches!(msg, MSG_REQUEST | MSG_REPLY | MSG_EXCEPTION) {
            return None;
        }
        let mut d = Decoder::with_offset(payload, 1, Limits::default());
        if d.tuple_len().ok()? != 2 {
            return None;
        }
        let seq = int(&mut d).ok()?;
        Some(Envelope { msg, seq })
    }

    /// Reads the envelope, request body and boxes without building a `Value` tree for them
    /// (label-1 values and the EXCEPTION body are still decoded as values).
    fn decode_direct(d: &mut Decoder<'_>, msg: u8) -> Result<Message, Reparse> {
        if d.tuple_len()? != 2 {
            return Err(RESHAPE);
        }
        let seq = int(d)?;
        let m = match msg {
            MSG_REQUEST => {
                if d.tuple_len()? != 2 {
                    return Err(RESHAPE);
                }
                let handler = int(d)?;
                let args = Boxed::decode(d)?;
                d.end_tuple();
                Message::Request { seq, handler, args }
            }
            MSG_REPLY => Message::Reply {
                seq,
                value: Boxed::decode(d)?,
            },
            _ => Message::Exception {
                seq,
                payload: ExceptionPayload::from_value(d.value()?).map_err(|_| RESHAPE)?,
            },
        };
        d.end_tuple();
        d.finish()?;
        Ok(m)
    }

    /// Decodes the payload as one `Value`, then takes it apart: the reference parser, which
    /// also words every error.
    fn decode_value(payload: &Bytes, msg: u8, limits: Limits) -> Result<Message, ProtocolError> {
        let mut d = Decoder::with_offset(payload, 1, limits);
        let v = d.value()?;
        d.finish()?;
        let Value::Tuple(mut t) = v else {
            return Err(ProtocolError::Malformed(
                "message must be a (seq, body) pair".into(),
            ));
        };
        if t.len() != 2 {
            return Err(ProtocolError::Malformed(
                "message must be a (seq, body) pair".into(),
            ));
        }
        let body = t.pop().unwrap_or_default();
        let seq = match t[0] {
            Value::Int(s) => s,
            ref other => {
                return Err(ProtocolError::Malformed(format!(
                    "seq must be an int, got {}",
                    other.type_name()
                )))
            }
        };
        match msg {
            MSG_REQUEST => {
                let Value::Tuple(mut b) = body else {
                    return Err(ProtocolError::Malformed(
                        "request body must be (handler, args)".into(),
                    ));
                };
                if b.len() != 2 {
                    return Err(ProtocolError::Malformed(
                        "request body must be (handler, args)".into(),
                    ));
                }
                let args = Boxed::from_value(b.pop().unwrap_or_default())?;
                let handler = match b[0] {
                    Value::Int(h) => h,
                    ref other => {
                        return Err(ProtocolError::Malformed(format!(
                            "handler id must be an int, got {}",
                            other.type_name()
                        )))
                    }
                };
                Ok(Message::Request { seq, handler, args })
            }
            MSG_REPLY => Ok(Message::Reply {
                seq,
                value: Boxed::from_value(body)?,
            }),
            _ => Ok(Message::Exception {
                seq,
                payload: ExceptionPayload::from_value(body)?,
            }),
        }
    }

    /// Appends the payload of a REQUEST.
    pub fn encode_request(
        seq: i64,
        handler: Handler,
        args: &Boxed,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        Self::encode_request_id(seq, handler.id(), args, out)
    }

    /// A REQUEST with a raw handler id (which may be unknown to [`Handler`]).
    fn encode_request_id(
        seq: i64,
        id: i64,
        args: &Boxed,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        out.extend_from_slice(&[MSG_REQUEST, 0x11]);
        brine::encode_i64(seq, out);
        out.push(0x11);
        brine::encode_i64(id, out);
        args.encode(out)
    }

    /// Appends the payload of a REPLY.
    pub fn encode_reply(seq: i64, value: &Boxed, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&[MSG_REPLY, 0x11]);
        brine::encode_i64(seq, out);
        value.encode(out)
    }

    /// Appends the payload of an EXCEPTION.
    pub fn encode_exception(
        seq: i64,
        payload: &ExceptionPayload,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        out.extend_from_slice(&[MSG_EXCEPTION, 0x11]);
        brine::encode_i64(seq, out);
        payload.encode(out)
    }

    /// Encodes this message's payload.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            Message::Request { seq, handler, args } => {
                Self::encode_request_id(*seq, *handler, args, out)
            }
            Message::Reply { seq, value } => Self::encode_reply(*seq, value, out),
            Message::Exception { seq, payload } => Self::encode_exception(*seq, payload, out),
        }
    }
}
