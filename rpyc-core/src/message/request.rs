//! Handlers and their arguments: [`Handler`], the handler ids of RPyC 6, and [`Request`], a
//! request's arguments laid out per handler with the arity checks of Python's
//! `handler(*args)` ([`ArgError`] when they do not fit).

use super::{Boxed, IdPack};
use crate::value::Value;

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
