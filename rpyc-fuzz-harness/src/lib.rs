//! # rpyc-fuzz-harness — the connection state machine under arbitrary input
//!
//! One function, [`run`], shared by the `connection` fuzz target (`fuzz/`, libFuzzer on
//! nightly) and the corpus replay test (`tests/replay.rs`, plain `cargo test` on stable), so
//! that every input the fuzzer found interesting keeps being checked by the normal suite.
//!
//! [`run`] starts a live [`rpyc::Connection`] serving the server's `test` service (see
//! [`BoundedTestService`]) over an in-memory duplex stream, plays the other end as a raw peer
//! — frames built from the fuzz input: requests with any handler id and arity, boxed
//! arguments naming the objects the server exported or forged ids, DELs of any count, replies
//! and exceptions to the server's callbacks or to sequence numbers never used, compressed or
//! not, truncated frames, garbage frames, bytes outside any framing — and checks:
//!
//! * no panic anywhere in the process while it runs (the connection turns a handler's panic
//!   into an exception, so any panic at all is a bug the hook below sees);
//! * the server answers the first GETROOT with a reference;
//! * every frame the server sends decodes;
//! * while the stream is still frame-aligned, a ping is answered with its own payload, or the
//!   connection has closed with a reason;
//! * once the peer's side closes, the connection closes with a reason;
//! * when the runtime is gone, nothing of the connection is left (the service it held is
//!   freed: no reference cycle keeps the connection alive).
//!
//! Waits are bounded by a watchdog (30 s) that turns a hang into a [`Violation`]; nothing here
//! waits on a timer otherwise.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod input;
mod peer;
mod service;

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};

use parking_lot::Mutex;
use rpyc::core::frame::{compress_into, FrameLimits, HEADER_LEN};
use rpyc::core::message::{Boxed, Message};
use rpyc::{Config, Connection, Value};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use input::{Cursor, Known, Op};
use peer::{echoed, Shared, WATCHDOG};
pub use service::BoundedTestService;

/// The most ops one input runs (longer inputs stop there).
const MAX_OPS: usize = 256;

/// An invariant the connection broke on one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation(pub String);

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Violation {}

/// How a run that broke nothing ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Ops run from the input.
    pub ops: usize,
    /// Pings the server answered (the final one included).
    pub pings_answered: usize,
    /// True if the server was still open, and answering, when the input ran out.
    pub open_at_end: bool,
    /// The reason the server's connection gave for closing.
    pub close_reason: String,
}

/// Panics seen by the hook [`count_panics`] installs, and the first one's message.
static PANICS: AtomicUsize = AtomicUsize::new(0);
static FIRST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Counts every panic of the process (then runs the previous hook): tokio and the connection
/// catch panics in tasks and handlers, so a caught panic would otherwise go unseen.
fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            FIRST_PANIC.lock().get_or_insert_with(|| info.to_string());
            previous(info);
        }));
    });
}

/// Runs one fuzz input against a fresh connection; `Err` names the invariant it broke.
pub fn run(data: &[u8]) -> Result<Outcome, Violation> {
    count_panics();
    let panics = PANICS.load(Ordering::SeqCst);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Violation(format!("cannot start a runtime: {e}")))?;
    let service = Arc::new(BoundedTestService::default());
    let weak = Arc::downgrade(&service);
    let outcome = rt.block_on(drive(data, service));
    rt.shutdown_timeout(WATCHDOG);
    if PANICS.load(Ordering::SeqCst) != panics {
        let first = FIRST_PANIC.lock().take().unwrap_or_default();
        return Err(Violation(format!("a panic during the run: {first}")));
    }
    let outcome = outcome?;
    if weak.upgrade().is_some() {
        return Err(Violation(
            "the connection outlived its runtime and last handle (its service is still held)"
                .into(),
        ));
    }
    Ok(outcome)
}

/// The raw peer's writing side and what the program has learned.
struct Program<W> {
    w: W,
    shared: Arc<Shared>,
    server: Connection,
    next_seq: i64,
    /// Every byte written so far was whole frames.
    aligned: bool,
    /// The server has not closed (as far as writing goes).
    open: bool,
    pings: usize,
}

impl<W: AsyncWrite + Unpin> Program<W> {
    /// Writes `bytes`, unless the server closes first (then `open` goes false).
    async fn write(&mut self, bytes: &[u8]) -> Result<(), Violation> {
        if !self.open || self.server.is_closed() {
            self.open = false;
            return Ok(());
        }
        let write = async {
            tokio::select! {
                r = self.w.write_all(bytes) => r.is_ok(),
                _ = self.server.serve_all() => false,
            }
        };
        match tokio::time::timeout(WATCHDOG, write).await {
            Ok(true) => Ok(()),
            Ok(false) => {
                self.open = false;
                Ok(())
            }
            Err(_) => Err(Violation(
                "the server stopped reading and did not close".into(),
            )),
        }
    }

    /// Frames `payload` (flag 1: zlib, whatever its size) and writes it, or the first
    /// `truncate` bytes of the frame.
    async fn frame(
        &mut self,
        payload: &[u8],
        compress: bool,
        truncate: Option<usize>,
    ) -> Result<(), Violation> {
        let mut body = Vec::new();
        let (flag, body) = if compress {
            compress_into(payload, &mut body);
            (1, &body[..])
        } else {
            (0, payload)
        };
        self.raw_frame(flag, body, truncate).await
    }

    async fn raw_frame(
        &mut self,
        flag: u8,
        body: &[u8],
        truncate: Option<usize>,
    ) -> Result<(), Violation> {
        let mut frame = Vec::with_capacity(body.len() + HEADER_LEN + 1);
        frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
        frame.push(flag);
        frame.extend_from_slice(body);
        frame.push(b'\n');
        if let Some(t) = truncate.filter(|&t| t < frame.len()) {
            frame.truncate(t);
            self.aligned = false;
        }
        self.write(&frame).await
    }

    /// Sends a REQUEST; returns its sequence number.
    async fn request(
        &mut self,
        seq: Option<i64>,
        handler: i64,
        args: &Boxed,
        compress: bool,
        truncate: Option<usize>,
    ) -> Result<i64, Violation> {
        let seq = seq.unwrap_or_else(|| {
            self.next_seq += 1;
            self.next_seq
        });
        let mut payload = Vec::new();
        let msg = Message::Request {
            seq,
            handler,
            args: args.clone(),
        };
        if msg.encode(&mut payload).is_ok() {
            self.frame(&payload, compress, truncate).await?;
        }
        Ok(seq)
    }

    /// Waits until `seq` is answered or the server closes; true if it was answered.
    async fn answered(&mut self, seq: i64) -> Result<bool, Violation> {
        let server = self.server.clone();
        let wait = async {
            tokio::select! {
                r = self.shared.wait(|s| s.replies.contains_key(&seq) || s.eof) => r,
                _ = server.serve_all() => Ok(()),
            }
        };
        wait.await.map_err(|()| {
            Violation(format!(
                "request {seq} was neither answered nor the connection closed"
            ))
        })?;
        Ok(self.shared.seen.lock().replies.contains_key(&seq))
    }

    /// Pings (if the stream is aligned): answered with its payload, or the server closed.
    async fn ping(&mut self) -> Result<(), Violation> {
        if !self.aligned || !self.open {
            return Ok(());
        }
        let data = Value::Str(format!("ping {}", self.pings));
        let seq = self
            .request(
                None,
                1,
                &Boxed::Tuple(vec![Boxed::Value(data.clone())]),
                false,
                None,
            )
            .await?;
        if self.answered(seq).await? {
            if !echoed(&self.shared.seen.lock(), seq, &data) {
                return Err(Violation(format!(
                    "ping {seq} answered with something else"
                )));
            }
            self.pings += 1;
        } else {
            self.open = false;
            if self.server.close_reason().is_none() {
                return Err(Violation("ping unanswered, closed without a reason".into()));
            }
        }
        Ok(())
    }

    async fn exec(&mut self, op: Op) -> Result<(), Violation> {
        match op {
            Op::Request {
                seq,
                handler,
                args,
                compress,
                truncate,
            } => self
                .request(seq, handler, &args, compress, truncate)
                .await
                .map(drop),
            Op::Reply { payload, compress } => self.frame(&payload, compress, None).await,
            Op::RawFrame { flag, payload } => self.raw_frame(flag, &payload, None).await,
            Op::RawBytes(bytes) => {
                self.aligned &= bytes.is_empty();
                self.write(&bytes).await
            }
            Op::Settle => self.ping().await,
        }
    }
}

/// The run itself, inside the runtime.
async fn drive(data: &[u8], service: Arc<BoundedTestService>) -> Result<Outcome, Violation> {
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let mut config = Config::default();
    config.frame_limits = FrameLimits::new(1 << 20, 4 << 20);
    let server = Connection::new(theirs, service, config);
    let (r, w) = tokio::io::split(ours);
    let shared = Arc::new(Shared::default());
    let reader = tokio::spawn(peer::read_server(r, shared.clone()));
    let mut p = Program {
        w,
        shared: shared.clone(),
        server: server.clone(),
        next_seq: 1 << 20,
        aligned: true,
        open: true,
        pings: 0,
    };

    let seq = p
        .request(None, 3, &Boxed::Tuple(Vec::new()), false, None)
        .await?;
    p.answered(seq).await?;
    let root = match shared.seen.lock().replies.get(&seq) {
        Some(Ok(Boxed::Remote(id))) => id.clone(),
        other => return Err(Violation(format!("GETROOT answered with {other:?}"))),
    };

    let mut cur = Cursor::new(data);
    let mut ops = 0;
    while !cur.is_empty() && p.open && ops < MAX_OPS {
        let op = {
            let seen = shared.seen.lock();
            cur.op(&Known {
                root: &root,
                server_ids: &seen.ids,
                server_seqs: &seen.requests,
            })
        };
        p.exec(op).await?;
        ops += 1;
    }
    p.ping().await?;
    let open_at_end = p.open && p.aligned;

    // Our side closes: the server must follow, with a reason.
    let pings = p.pings;
    let _ = p.w.shutdown().await;
    drop(p);
    tokio::time::timeout(WATCHDOG, server.serve_all())
        .await
        .map_err(|_| Violation("the peer closed, the connection stayed open".into()))?;
    let close_reason = server
        .close_reason()
        .ok_or_else(|| Violation("closed without a reason".into()))?;
    drop(server);
    reader.abort();
    if let Some(bad) = shared.seen.lock().bad.take() {
        return Err(Violation(bad));
    }
    Ok(Outcome {
        ops,
        pings_answered: pings,
        open_at_end,
        close_reason,
    })
}
