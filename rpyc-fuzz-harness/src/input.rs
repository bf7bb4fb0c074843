//! The fuzz input, read as a program: a byte cursor and the decoding of one [`Op`] at a time.
//!
//! Every byte string is a valid program (an exhausted cursor reads zeros and the program ends),
//! so libFuzzer's mutations always reach the connection; the structure (handler ids, boxed
//! argument tuples, references to the objects the server exported) makes most of them
//! well-formed enough to get past the decoder into the handlers. Ops are decoded lazily, while
//! the program runs, because a reference picks among the ids the server has sent so far.

use rpyc::core::message::{Boxed, IdPack};
use rpyc::{RemoteException, Value};

/// Reads the fuzz input front to back; past the end every read is zero.
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Cursor { data, pos: 0 }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    pub(crate) fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn i64(&mut self) -> i64 {
        let mut b = [0u8; 8];
        b.iter_mut().for_each(|x| *x = self.byte());
        i64::from_le_bytes(b)
    }

    /// Up to `n` bytes of the input (fewer at its end).
    pub(crate) fn take(&mut self, n: usize) -> &'a [u8] {
        let start = self.pos.min(self.data.len());
        let end = (start + n).min(self.data.len());
        self.pos = start + n;
        &self.data[start..end]
    }
}

/// Names the service and its objects answer to, and a few they refuse: string arguments and
/// attribute names are drawn from here most of the time.
const NAMES: &[&str] = &[
    "echo",
    "add",
    "divide",
    "fail",
    "call",
    "call_n",
    "make_counter",
    "make_map",
    "total",
    "sum_values",
    "object_count",
    "connection_count",
    "the_answer",
    "increment",
    "value",
    "label",
    "get",
    "keys",
    "items",
    "values",
    "__getitem__",
    "__setitem__",
    "__delitem__",
    "__len__",
    "__iter__",
    "__next__",
    "__contains__",
    "__call__",
    "__class__",
    "__dict__",
    "__repr__",
    "exposed_echo",
    "get_service_name",
    "get_service_aliases",
    "secret",
    "_private",
    "block",
    "",
];

/// Exception classes for well-formed EXCEPTION replies.
const EXCEPTIONS: &[&str] = &["ValueError", "KeyError", "StopIteration", "TypeError"];

/// What the program knows when it decodes its next op.
pub(crate) struct Known<'a> {
    /// The root's id, from the GETROOT every run starts with.
    pub(crate) root: &'a IdPack,
    /// Every id the server sent by reference so far (its objects).
    pub(crate) server_ids: &'a [IdPack],
    /// Sequence numbers of the server's requests to us so far.
    pub(crate) server_seqs: &'a [i64],
}

/// One step of the program.
pub(crate) enum Op {
    /// A REQUEST frame (`seq: None`: the next fresh sequence number).
    Request {
        seq: Option<i64>,
        handler: i64,
        args: Boxed,
        compress: bool,
        /// Cut the frame after this many bytes (the stream is then misaligned).
        truncate: Option<usize>,
    },
    /// A REPLY or EXCEPTION frame, already encoded.
    Reply { payload: Vec<u8>, compress: bool },
    /// A frame around arbitrary payload bytes, with an arbitrary compression flag.
    RawFrame { flag: u8, payload: Vec<u8> },
    /// Bytes written as they are, outside any framing.
    RawBytes(Vec<u8>),
    /// Ping and wait for the answer: what the server sent so far becomes known.
    Settle,
}

impl Cursor<'_> {
    /// Decodes the next op.
    pub(crate) fn op(&mut self, k: &Known<'_>) -> Op {
        let sel = self.byte();
        match sel % 16 {
            0..=7 => self.request(k),
            8 | 9 => self.reply(k),
            10 => {
                let flag = match self.byte() % 4 {
                    0 => 0,
                    1 => 1,
                    _ => self.byte(),
                };
                let n = self.byte() as usize;
                let mut payload = vec![1 + self.byte() % 3];
                payload.extend_from_slice(self.take(n));
                Op::RawFrame { flag, payload }
            }
            11 => {
                let n = self.byte() as usize % 32;
                Op::RawBytes(self.take(n).to_vec())
            }
            _ => Op::Settle,
        }
    }

    fn request(&mut self, k: &Known<'_>) -> Op {
        let flags = self.byte();
        let seq = (flags & 0x01 != 0).then(|| self.i64() % 8);
        let compress = flags & 0x02 != 0;
        let truncate = (flags & 0xF0 == 0xF0).then(|| self.byte() as usize);
        let h = self.byte();
        let handler = match h % 24 {
            id @ 0..=19 => i64::from(id) + 1,
            20 => self.i64(),
            21 => 0,
            // The common calls, more often.
            22 => 8,
            _ => 4,
        };
        let args = if h >= 240 {
            // Any arity: the handlers must refuse the wrong ones.
            let n = self.byte() % 5;
            Boxed::Tuple((0..n).map(|_| self.boxed(k, 2)).collect())
        } else {
            self.args_for(handler, k)
        };
        Op::Request {
            seq,
            handler,
            args,
            compress,
            truncate,
        }
    }

    /// The argument tuple RPyC's handler `handler` takes, with fuzzed members.
    fn args_for(&mut self, handler: i64, k: &Known<'_>) -> Boxed {
        let obj = |c: &mut Self| Boxed::Local(c.id(k));
        let name = |c: &mut Self| Boxed::Value(Value::Str(c.name()));
        let items: Vec<Boxed> = match handler {
            1 => vec![Boxed::Value(self.value(2))],
            4 | 5 => vec![obj(self), name(self)],
            6 => vec![obj(self), name(self), self.boxed(k, 2)],
            7 => vec![obj(self), self.call_args(k), self.kwargs()],
            8 => vec![obj(self), name(self), self.call_args(k), self.kwargs()],
            11 => vec![obj(self), self.boxed(k, 1), name(self)],
            14 => vec![obj(self), Boxed::Value(Value::Int(self.byte().into()))],
            15 => {
                let count = match self.byte() % 4 {
                    0 => 1,
                    1 => self.i64(),
                    _ => i64::from(self.byte() as i8),
                };
                vec![obj(self), Boxed::Value(Value::Int(count))]
            }
            16 => vec![Boxed::Value(self.id(k).to_value())],
            17 => vec![obj(self), Boxed::Value(Value::Int(self.byte().into()))],
            19 | 20 => vec![obj(self), self.boxed(k, 1)],
            9 | 10 | 12 | 13 | 18 => vec![obj(self)],
            _ => Vec::new(),
        };
        Boxed::Tuple(items)
    }

    fn call_args(&mut self, k: &Known<'_>) -> Boxed {
        let n = self.byte() % 4;
        Boxed::Tuple((0..n).map(|_| self.boxed(k, 2)).collect())
    }

    fn kwargs(&mut self) -> Boxed {
        let n = self.byte() % 3;
        let pairs = (0..n)
            .map(|_| Value::Tuple(vec![Value::Str(self.name()), self.value(1)]))
            .collect();
        Boxed::Value(Value::Tuple(pairs))
    }

    fn reply(&mut self, k: &Known<'_>) -> Op {
        let b = self.byte();
        let seq = match (b % 4, k.server_seqs.is_empty()) {
            (0 | 1, false) => k.server_seqs[self.byte() as usize % k.server_seqs.len()],
            (2, _) => self.i64(),
            _ => i64::from(self.byte()),
        };
        let compress = b & 0x10 != 0;
        let mut payload = Vec::new();
        if b & 0x20 != 0 {
            let exc = if b & 0x40 != 0 {
                let class = EXCEPTIONS[self.byte() as usize % EXCEPTIONS.len()];
                RemoteException::builtin(class, self.name()).to_value()
            } else {
                self.value(2)
            };
            payload.push(rpyc::core::message::MSG_EXCEPTION);
            let body = Value::Tuple(vec![Value::Int(seq), exc]);
            payload.extend(rpyc::core::brine::dump(&body).unwrap_or_default());
        } else {
            let value = self.boxed(k, 2);
            let _ = rpyc::core::message::Message::encode_reply(seq, &value, &mut payload);
        }
        Op::Reply { payload, compress }
    }

    /// A boxed value: by value, a tuple of boxes, one of the server's objects (label 3), or an
    /// object of ours (label 4, which the server then calls back).
    fn boxed(&mut self, k: &Known<'_>, depth: u8) -> Boxed {
        match self.byte() % 8 {
            0..=3 => Boxed::Value(self.value(depth)),
            4 if depth > 0 => {
                let n = self.byte() % 4;
                Boxed::Tuple((0..n).map(|_| self.boxed(k, depth - 1)).collect())
            }
            5 => Boxed::Local(self.id(k)),
            _ => {
                let name =
                    ["fuzz.Callable", "builtins.list", "builtins.dict"][self.byte() as usize % 3];
                Boxed::Remote(IdPack::new(name, 7, i128::from(self.byte() % 4)))
            }
        }
    }

    /// An id the server knows, one it never gave out, or a near miss.
    fn id(&mut self, k: &Known<'_>) -> IdPack {
        let b = self.byte();
        let known = |c: &mut Self| match k.server_ids.len() {
            0 => k.root.clone(),
            n => k.server_ids[c.byte() as usize % n].clone(),
        };
        match b % 8 {
            0..=3 => known(self),
            4 => k.root.clone(),
            5 => {
                let mut id = known(self);
                id.instance_id += i128::from(self.byte() as i8);
                id
            }
            6 => {
                let mut id = known(self);
                id.class_id = i128::from(self.i64());
                id
            }
            _ => IdPack::new(self.name(), i128::from(self.i64()), i128::from(self.i64())),
        }
    }

    fn name(&mut self) -> String {
        let b = self.byte();
        if b < 240 {
            NAMES[b as usize % NAMES.len()].to_string()
        } else {
            let n = self.byte() as usize % 16;
            String::from_utf8_lossy(self.take(n)).into_owned()
        }
    }

    /// A plain value; `depth` bounds the nesting of tuples.
    fn value(&mut self, depth: u8) -> Value {
        match self.byte() % 12 {
            0 => Value::None,
            1 => Value::Bool(self.byte() & 1 == 1),
            2 => Value::Int(i64::from(self.byte() as i8)),
            3 => Value::Int(self.i64()),
            4 => Value::BigInt(num_bigint::BigInt::from(self.i64()) << (self.byte() as usize)),
            5 => Value::Float(f64::from_bits(self.i64() as u64)),
            6 => Value::Str(self.name()),
            7 => {
                // Up to 64 KiB, past the compression threshold: a repeated pattern.
                let n = self.u16() as usize;
                let pat = self.byte();
                Value::bytes(
                    (0..n)
                        .map(|i| pat.wrapping_add(i as u8))
                        .collect::<Vec<u8>>(),
                )
            }
            8 | 9 if depth > 0 => {
                let n = self.byte() % 4;
                Value::Tuple((0..n).map(|_| self.value(depth - 1)).collect())
            }
            10 => Value::Ellipsis,
            _ => Value::Str(String::from_utf8_lossy(self.take(8)).into_owned()),
        }
    }
}
