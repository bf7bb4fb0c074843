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

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use crate::brine::{self, Decoder, Limits};
use crate::convert::{FromValue, IntoValue};
use crate::error::{DecodeError, EncodeError, ProtocolError};
use crate::value::Value;
use crate::vinegar::ExceptionPayload;

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

/// The handler ids of RPyC 6 (`rpyc.core.consts.HANDLE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum Handler {
    /// `(data,)` → data.
    Ping = 1,
    /// `()` → no reply in practice.
    Close = 2,
    /// `()` → the root object by reference.
    GetRoot = 3,
    /// `(obj, name)` → attribute.
    GetAttr = 4,
    /// `(obj, name)` → None.
    DelAttr = 5,
    /// `(obj, name, value)` → None.
    SetAttr = 6,
    /// `(obj, args, kwargs=())` → result.
    Call = 7,
    /// `(obj, name, args, kwargs=())` → result.
    CallAttr = 8,
    /// `(obj,)` → str.
    Repr = 9,
    /// `(obj,)` → str.
    Str = 10,
    /// `(obj, other, op)` → bool or NotImplemented.
    Cmp = 11,
    /// `(obj,)` → int.
    Hash = 12,
    /// `(obj,)` → tuple of str.
    Dir = 13,
    /// `(obj, proto)` → bytes (always refused by rpyc-rs).
    Pickle = 14,
    /// `(obj, count=1)` → None.
    Del = 15,
    /// `(id_pack,)` → tuple of `(name, doc)`.
    Inspect = 16,
    /// `(obj, count)` → tuple of the next items.
    BuffIter = 17,
    /// `(obj, attempt, fallback, start, stop, args)` (Python-2 slicing).
    OldSlicing = 18,
    /// `(obj, exc)` → result of `__exit__`.
    CtxExit = 19,
    /// `(obj, other_id_pack)` → bool.
    InstanceCheck = 20,
}

impl Handler {
    /// The handler's name as RPyC's `consts` spells it after `HANDLE_`, in lower case
    /// (`"getattr"`, `"callattr"`); shown in the synthetic tracebacks of errors it raises.
    pub fn name(self) -> &'static str {
        use Handler::*;
        match self {
            Ping => "ping",
            Close => "close",
            GetRoot => "getroot",
            Del => "del",
            GetAttr => "getattr",
            SetAttr => "setattr",
            DelAttr => "delattr",
            Call => "call",
            CallAttr => "callattr",
            Repr => "repr",
            Str => "str",
            Hash => "hash",
            Dir => "dir",
            Cmp => "cmp",
            Inspect => "inspect",
            BuffIter => "buffiter",
            CtxExit => "ctxexit",
            InstanceCheck => "instancecheck",
            Pickle => "pickle",
            OldSlicing => "oldslicing",
        }
    }

    /// The handler for an id, if it exists.
    pub fn from_id(id: i64) -> Option<Handler> {
        use Handler::*;
        Some(match id {
            1 => Ping,
            2 => Close,
            3 => GetRoot,
            4 => GetAttr,
            5 => DelAttr,
            6 => SetAttr,
            7 => Call,
            8 => CallAttr,
            9 => Repr,
            10 => Str,
            11 => Cmp,
            12 => Hash,
            13 => Dir,
            14 => Pickle,
            15 => Del,
            16 => Inspect,
            17 => BuffIter,
            18 => OldSlicing,
            19 => CtxExit,
            20 => InstanceCheck,
            _ => return None,
        })
    }

    /// The wire id.
    pub fn id(self) -> i64 {
        self as u8 as i64
    }
}

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
    fn decode(d: &mut Decoder<'_>) -> Result<IdPack, Reparse> {
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

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
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

/// The direct readers met an error or a shape they leave to the `Value`-based parsers, which
/// then report it as they always have; except a limit on memory (`Some`), which decoding again
/// would only meet again: that error is the answer.
struct Reparse(Option<DecodeError>);

const RESHAPE: Reparse = Reparse(None);

impl From<DecodeError> for Reparse {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::HeapExceeded { .. } | DecodeError::OutOfMemory { .. } => Reparse(Some(e)),
            _ => RESHAPE,
        }
    }
}

/// Reads an int that fits `i64` (what `Value::Int` holds), as seq, handler ids and labels are.
fn int(d: &mut Decoder<'_>) -> Result<i64, Reparse> {
    match d.value()? {
        Value::Int(i) => Ok(i),
        _ => Err(RESHAPE),
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
    fn decode(d: &mut Decoder<'_>) -> Result<Boxed, Reparse> {
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
            Err(Reparse(Some(limit))) => Err(limit.into()),
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

/// A request's arguments, laid out per handler, with objects still boxed.
///
/// Parsing checks the arity the way Python's `handler(*args)` does; a mismatch is an
/// [`ArgError`] that the receiver answers with `TypeError`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Request {
    /// HANDLE_PING.
    Ping {
        /// Data to echo.
        data: Boxed,
    },
    /// HANDLE_CLOSE.
    Close,
    /// HANDLE_GETROOT.
    GetRoot,
    /// HANDLE_GETATTR.
    GetAttr {
        /// Target object.
        obj: Boxed,
        /// Attribute name.
        name: String,
    },
    /// HANDLE_DELATTR.
    DelAttr {
        /// Target object.
        obj: Boxed,
        /// Attribute name.
        name: String,
    },
    /// HANDLE_SETATTR.
    SetAttr {
        /// Target object.
        obj: Boxed,
        /// Attribute name.
        name: String,
        /// New value.
        value: Boxed,
    },
    /// HANDLE_CALL.
    Call {
        /// The callable.
        obj: Boxed,
        /// Positional arguments (a boxed tuple).
        args: Boxed,
        /// Keyword arguments (a boxed tuple of `(name, value)` pairs).
        kwargs: Boxed,
    },
    /// HANDLE_CALLATTR.
    CallAttr {
        /// Target object.
        obj: Boxed,
        /// Method name.
        name: String,
        /// Positional arguments.
        args: Boxed,
        /// Keyword arguments.
        kwargs: Boxed,
    },
    /// HANDLE_REPR.
    Repr {
        /// Target object.
        obj: Boxed,
    },
    /// HANDLE_STR.
    Str {
        /// Target object.
        obj: Boxed,
    },
    /// HANDLE_CMP.
    Cmp {
        /// Left operand (an object of the receiver).
        obj: Boxed,
        /// Right operand.
        other: Boxed,
        /// Comparison method name, e.g. `"__eq__"`.
        op: String,
    },
    /// HANDLE_HASH.
    Hash {
        /// Target object.
        obj: Boxed,
    },
    /// HANDLE_DIR.
    Dir {
        /// Target object.
        obj: Boxed,
    },
    /// HANDLE_PICKLE.
    Pickle {
        /// Target object.
        obj: Boxed,
        /// Pickle protocol.
        proto: Boxed,
    },
    /// HANDLE_DEL.
    Del {
        /// Target object.
        obj: Boxed,
        /// How many references the peer releases.
        count: i64,
    },
    /// HANDLE_INSPECT.
    Inspect {
        /// The id pack, sent by value.
        id_pack: IdPack,
    },
    /// HANDLE_BUFFITER.
    BuffIter {
        /// The iterator.
        obj: Boxed,
        /// Maximum number of items.
        count: i64,
    },
    /// HANDLE_OLDSLICING (never generated by Python 3 peers for rpyc-rs objects).
    OldSlicing {
        /// Target object.
        obj: Boxed,
    },
    /// HANDLE_CTXEXIT.
    CtxExit {
        /// Target object.
        obj: Boxed,
        /// The exception class (or None) of the `with` block.
        exc: Boxed,
    },
    /// HANDLE_INSTANCECHECK.
    InstanceCheck {
        /// The class object.
        obj: Boxed,
        /// The other object's id pack.
        other: Boxed,
    },
}

/// A request's arguments do not fit its handler; answered with `TypeError` or `KeyError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    /// Unknown handler id (Python answers `KeyError(handler_id)`).
    #[error("unknown handler id {0}")]
    UnknownHandler(i64),
    /// Wrong argument count or type (Python answers `TypeError`).
    #[error("{0}")]
    Type(String),
}

fn name_arg(b: Boxed) -> Result<String, ArgError> {
    match b {
        Boxed::Value(Value::Str(s)) => Ok(s),
        Boxed::Value(Value::Bytes(b)) => String::from_utf8(b.to_vec())
            .map_err(|_| ArgError::Type("name must be a string".into())),
        _ => Err(ArgError::Type("name must be a string".into())),
    }
}

fn int_arg(b: Boxed, what: &str) -> Result<i64, ArgError> {
    match b {
        Boxed::Value(Value::Int(i)) => Ok(i),
        Boxed::Value(Value::Bool(v)) => Ok(v as i64),
        _ => Err(ArgError::Type(format!("{what} must be an int"))),
    }
}

impl Request {
    /// Lays out the unboxed-at-top-level arguments of a request for `handler`.
    pub fn parse(handler: i64, args: Boxed) -> Result<Request, ArgError> {
        let h = Handler::from_id(handler).ok_or(ArgError::UnknownHandler(handler))?;
        let items = args
            .into_items()
            .ok_or_else(|| ArgError::Type("request arguments must be a tuple".into()))?;
        let n = items.len();
        let arity = |min: usize, max: usize, name: &str| -> Result<(), ArgError> {
            if n < min || n > max {
                let want = if min == max {
                    format!("{min}")
                } else {
                    format!("{min} to {max}")
                };
                Err(ArgError::Type(format!(
                    "{name}() takes {want} positional arguments but {n} were given"
                )))
            } else {
                Ok(())
            }
        };
        let mut it = items.into_iter();
        let mut next = || it.next().unwrap_or(Boxed::Value(Value::None));
        Ok(match h {
            Handler::Ping => {
                arity(1, 1, "_handle_ping")?;
                Request::Ping { data: next() }
            }
            Handler::Close => Request::Close,
            Handler::GetRoot => {
                arity(0, 0, "_handle_getroot")?;
                Request::GetRoot
            }
            Handler::GetAttr => {
                arity(2, 2, "_handle_getattr")?;
                Request::GetAttr {
                    obj: next(),
                    name: name_arg(next())?,
                }
            }
            Handler::DelAttr => {
                arity(2, 2, "_handle_delattr")?;
                Request::DelAttr {
                    obj: next(),
                    name: name_arg(next())?,
                }
            }
            Handler::SetAttr => {
                arity(3, 3, "_handle_setattr")?;
                Request::SetAttr {
                    obj: next(),
                    name: name_arg(next())?,
                    value: next(),
                }
            }
            Handler::Call => {
                arity(2, 3, "_handle_call")?;
                let obj = next();
                let args = next();
                let kwargs = if n == 3 {
                    next()
                } else {
                    Boxed::Value(Value::Tuple(vec![]))
                };
                Request::Call { obj, args, kwargs }
            }
            Handler::CallAttr => {
                arity(3, 4, "_handle_callattr")?;
                let obj = next();
                let name = name_arg(next())?;
                let args = next();
                let kwargs = if n == 4 {
                    next()
                } else {
                    Boxed::Value(Value::Tuple(vec![]))
                };
                Request::CallAttr {
                    obj,
                    name,
                    args,
                    kwargs,
                }
            }
            Handler::Repr => {
                arity(1, 1, "_handle_repr")?;
                Request::Repr { obj: next() }
            }
            Handler::Str => {
                arity(1, 1, "_handle_str")?;
                Request::Str { obj: next() }
            }
            Handler::Cmp => {
                arity(2, 3, "_handle_cmp")?;
                let obj = next();
                let other = next();
                let op = if n == 3 {
                    name_arg(next())?
                } else {
                    "__cmp__".to_string()
                };
                Request::Cmp { obj, other, op }
            }
            Handler::Hash => {
                arity(1, 1, "_handle_hash")?;
                Request::Hash { obj: next() }
            }
            Handler::Dir => {
                arity(1, 1, "_handle_dir")?;
                Request::Dir { obj: next() }
            }
            Handler::Pickle => {
                arity(2, 2, "_handle_pickle")?;
                Request::Pickle {
                    obj: next(),
                    proto: next(),
                }
            }
            Handler::Del => {
                arity(1, 2, "_handle_del")?;
                let obj = next();
                let count = if n == 2 { int_arg(next(), "count")? } else { 1 };
                Request::Del { obj, count }
            }
            Handler::Inspect => {
                arity(1, 1, "_handle_inspect")?;
                match next() {
                    Boxed::Value(v) => Request::Inspect {
                        id_pack: IdPack::from_value(&v)
                            .map_err(|e| ArgError::Type(e.to_string()))?,
                    },
                    _ => return Err(ArgError::Type("inspect takes an id_pack by value".into())),
                }
            }
            Handler::BuffIter => {
                arity(2, 2, "_handle_buffiter")?;
                let obj = next();
                Request::BuffIter {
                    obj,
                    count: int_arg(next(), "count")?,
                }
            }
            Handler::OldSlicing => {
                arity(6, 6, "_handle_oldslicing")?;
                Request::OldSlicing { obj: next() }
            }
            Handler::CtxExit => {
                arity(2, 2, "_handle_ctxexit")?;
                Request::CtxExit {
                    obj: next(),
                    exc: next(),
                }
            }
            Handler::InstanceCheck => {
                arity(2, 2, "_handle_instancecheck")?;
                Request::InstanceCheck {
                    obj: next(),
                    other: next(),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vinegar::RemoteException;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Strips the frame header and trailer of a §11 vector.
    fn payload(frame_hex: &str) -> Bytes {
        let f = hex(frame_hex);
        Bytes::from(f[5..f.len() - 1].to_vec())
    }

    fn reencode(m: &Message) -> Vec<u8> {
        let mut out = Vec::new();
        m.encode(&mut out).unwrap();
        out
    }

    /// Every frame of §11.5 (real rpyc client ↔ spec-conformant peer) decodes and re-encodes
    /// byte for byte.
    #[test]
    fn section_11_5_vectors_roundtrip() {
        for f in SECTION_11_5 {
            let p = payload(f);
            let m = Message::decode(&p, Limits::default()).unwrap();
            assert_eq!(reencode(&m), p.to_vec(), "frame {f}");
            let full = crate::frame::encode_frame(&p, true).unwrap();
            assert_eq!(full, hex(f));
        }
    }

    /// Every frame of §11.5 (real rpyc client ↔ spec-conformant peer).
    const SECTION_11_5: [&str; 15] = [
        "000000080001115011531151020a",
        "0000001d00021150115412080e0d72757374706565722e526f6f74511604313030300a",
        "0000002000011151116011511012080e0d72757374706565722e526f6f74511604313030300a",
        "00000006000211511151020a",
        "00000031000111521154115211115312080e0d72757374706565722e526f6f74511604313030301151080e0a6765745f616e737765720a",
        "0000001f00021152115412080e0f6275696c74696e732e6d6574686f64521604313030310a",
        "0000002a000111531157115212115312080e0f6275696c74696e732e6d6574686f64521604313030311151021151020a",
        "000000060002115311517a0a",
        "0000002700011154115f115211115312080e0f6275696c74696e732e6d6574686f64521604313030311151510a",
        "00000006000211541151000a",
        "0000000c000111551151115110080b68690a",
        "00000009000211551151080b68690a",
        "00000060000311571311080e086275696c74696e73080e0a56616c75654572726f7210080e096261642076616c756502080e3254726163656261636b202866726f6d20727573742070656572293a0a56616c75654572726f723a206261642076616c75650a0a",
        "000000710003115a1311080e0f72757374706565722e6572726f7273080e0d51756f7461457863656564656410080e076c696d697420351011080d636f64657a080e3354726163656261636b202866726f6d20727573742070656572293a0a51756f746145786365656465643a206c696d697420350a0a",
        "000000080001115c11521151020a",
    ];

    #[test]
    fn typed_layouts() {
        // §11.5 GETATTR seq=2 on the root.
        let p = payload("00000031000111521154115211115312080e0d72757374706565722e526f6f74511604313030301151080e0a6765745f616e737765720a");
        let Message::Request { seq, handler, args } =
            Message::decode(&p, Limits::default()).unwrap()
        else {
            panic!()
        };
        assert_eq!((seq, handler), (2, 4));
        let r = Request::parse(handler, args).unwrap();
        assert_eq!(
            r,
            Request::GetAttr {
                obj: Boxed::Local(IdPack::new("rustpeer.Root", 1, 1000)),
                name: "get_answer".into()
            }
        );
        // CALL with its kwargs defaulted.
        let args = Boxed::Tuple(vec![
            Boxed::Local(IdPack::new("builtins.method", 2, 1001)),
            Boxed::value(Value::Tuple(vec![])),
        ]);
        assert!(matches!(
            Request::parse(7, args).unwrap(),
            Request::Call { .. }
        ));
        // DEL count and INSPECT id pack.
        let p =
            payload("0000002000011151116011511012080e0d72757374706565722e526f6f74511604313030300a");
        let Message::Request { handler, args, .. } =
            Message::decode(&p, Limits::default()).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            Request::parse(handler, args).unwrap(),
            Request::Inspect {
                id_pack: IdPack::new("rustpeer.Root", 1, 1000)
            }
        );
    }

    #[test]
    fn argument_errors() {
        assert_eq!(
            Request::parse(99, Boxed::value(Value::Tuple(vec![]))),
            Err(ArgError::UnknownHandler(99))
        );
        assert!(matches!(
            Request::parse(4, Boxed::value(Value::Tuple(vec![Value::Int(1)]))),
            Err(ArgError::Type(_))
        ));
        let bad_name = Boxed::Tuple(vec![
            Boxed::Local(IdPack::new("a.B", 1, 2)),
            Boxed::value(5),
        ]);
        assert_eq!(
            Request::parse(4, bad_name),
            Err(ArgError::Type("name must be a string".into()))
        );
    }

    #[test]
    fn legacy_and_garbage_payloads() {
        let legacy = payload("000000080012515011531151020a");
        assert_eq!(
            Message::decode(&legacy, Limits::default()),
            Err(ProtocolError::LegacyPeer)
        );
        assert_eq!(
            Message::decode(&Bytes::from_static(b"GET / HTTP/1.1"), Limits::default()),
            Err(ProtocolError::InvalidMessageType(b'G'))
        );
        assert_eq!(
            Message::decode(&Bytes::new(), Limits::default()),
            Err(ProtocolError::Empty)
        );
        assert!(matches!(
            Message::decode(&Bytes::from_static(b"\x01\x51"), Limits::default()),
            Err(ProtocolError::Malformed(_))
        ));
        assert!(matches!(
            Message::decode(
                &Bytes::from_static(b"\x02\x11\x51\x11\x59\x00"),
                Limits::default()
            ),
            Err(ProtocolError::Malformed(_))
        ));
    }

    /// The direct reader accepts exactly what the `Value`-based parser accepts, with the same
    /// message, so that falling back on refusal changes nothing: checked over every §11.5
    /// frame and hand-made non-canonical messages, all their truncations and single-byte
    /// substitutions, insertions and deletions, random multi-byte mutations, and tight depth and
    /// int-digit limits.
    #[test]
    fn direct_decode_agrees_with_value_decode() {
        let mut corpus: Vec<Vec<u8>> = SECTION_11_5.iter().map(|f| payload(f).to_vec()).collect();
        // Non-canonical lengths everywhere: TUP_L1/TUP_L4 envelopes, int text for seq and
        // handler, `()` as 0x02 and as an explicit 0-length tuple under label 2, a STR_L4 name,
        // ids as a bool, as int text and beyond i64.
        corpus.push(hex("0114025115000000025711521400"));
        corpus.push(hex("0111160531323334351116022037115202"));
        corpus.push(hex(
            "021153115312080f00000003612e4203160b2b31303030303030303030",
        ));
        corpus.push(hex("02115211541208015152"));
        let mut big = Vec::new();
        let big_id = IdPack::new("m.Big", 1 << 100, -(1 << 90));
        Message::encode_reply(1, &Boxed::Remote(big_id), &mut big).unwrap();
        corpus.push(big);
        let mut nested = Vec::new();
        let inner = Boxed::Tuple(vec![
            Boxed::Tuple(vec![
                Boxed::Local(IdPack::new("a.B", 1, 2)),
                Boxed::value(3),
            ]),
            Boxed::Tuple(vec![]),
            Boxed::value(Value::Tuple(vec![Value::str("x"), Value::Tuple(vec![])])),
        ]);
        Message::encode_request(5, Handler::Call, &inner, &mut nested).unwrap();
        corpus.push(nested);
        let mut exc = Vec::new();
        Message::encode_exception(9, &ExceptionPayload::StopIteration, &mut exc).unwrap();
        corpus.push(exc);

        let limits = [
            Limits::default(),
            Limits::new(1, 4300),
            Limits::new(2, 4300),
            Limits::new(3, 4300),
            Limits::new(4, 4300),
            Limits::new(5, 4300),
            Limits::new(256, 2),
        ];
        let mut direct_ok = 0usize;
        let mut check = |p: &[u8]| {
            let Some(&msg) = p.first() else { return };
            let payload = Bytes::copy_from_slice(p);
            for &l in &limits {
                let direct =
                    Message::decode_direct(&mut Decoder::with_offset(&payload, 1, l), msg).ok();
                let value = Message::decode_value(&payload, msg, l);
                assert_eq!(direct, value.clone().ok(), "{p:02x?} {l:?}");
                if (1..=3).contains(&msg) {
                    assert_eq!(Message::decode(&payload, l), value, "{p:02x?} {l:?}");
                }
                direct_ok += direct.is_some() as usize;
            }
        };
        for p in &corpus {
            let m = Message::decode_direct(
                &mut Decoder::with_offset(&Bytes::from(p.clone()), 1, Limits::default()),
                p[0],
            );
            assert!(m.is_ok(), "direct refuses {p:02x?}");
        }
        let interesting = [
            0x00u8, 0x01, 0x02, 0x03, 0x04, 0x08, 0x0a, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13,
            0x14, 0x15, 0x16, 0x17, 0x19, 0x1a, 0x20, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55,
            0x59, 0xff,
        ];
        for p in &corpus {
            for cut in 0..=p.len() {
                check(&p[..cut]);
            }
            for i in 0..p.len() {
                let mut d = p.clone();
                d.remove(i);
                check(&d);
                for b in interesting.iter().copied().chain([
                    p[i] ^ 1,
                    p[i].wrapping_add(1),
                    p[i].wrapping_sub(1),
                ]) {
                    let mut m = p.clone();
                    m[i] = b;
                    check(&m);
                    let mut ins = p.clone();
                    ins.insert(i, b);
                    check(&ins);
                }
            }
        }
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..5000 {
            let mut m = corpus[rand(corpus.len())].clone();
            for _ in 0..1 + rand(4) {
                let i = rand(m.len());
                m[i] = if rand(2) == 0 {
                    interesting[rand(interesting.len())]
                } else {
                    rand(256) as u8
                };
            }
            check(&m);
        }
        assert!(direct_ok > 10_000, "{direct_ok}");
    }

    #[test]
    fn exception_message() {
        let exc = RemoteException::new("builtins", "ValueError", "bad value")
            .with_traceback("Traceback (from rust peer):\nValueError: bad value\n");
        let mut out = Vec::new();
        Message::encode_exception(7, &ExceptionPayload::Exception(exc), &mut out).unwrap();
        let expected = payload("00000060000311571311080e086275696c74696e73080e0a56616c75654572726f7210080e096261642076616c756502080e3254726163656261636b202866726f6d20727573742070656572293a0a56616c75654572726f723a206261642076616c75650a0a");
        assert_eq!(out, expected.to_vec());
    }
}
