//! From frame to message: what the reader does with each frame before handling it. A frame's
//! payload is inflated and decoded under the connection's limits; cheap frames inline, the
//! rest on tokio's blocking threads under a process-wide budget, so that one connection's
//! heavy frame never stalls the runtime's workers (and every other connection with them).
//! A frame is cheap when it is small, or when a bounded pre-scan finds few items in it
//! (`brine::cheap_to_decode`): a large `bytes` value decodes into a slice of the frame, so a
//! 1 MiB echo decodes inline, with no hop to a blocking thread and back.
//!
//! The envelope (message type and seq) is read before the body, so that a reply to a seq never
//! sent is dropped undecoded, and a body refused by a limit on memory costs only its own
//! message: a request is answered with `MemoryError` naming the limit, a reply fails its call,
//! and the connection goes on.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use parking_lot::Mutex;
use rpyc_core::frame::Frame;
use rpyc_core::message::{Envelope, Message, MSG_REQUEST};
use rpyc_core::{DecodeError, FrameError, ProtocolError, RemoteException};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::ConnInner;
use crate::error::Error;

/// Frames larger than this, on the wire or once inflated, are inflated and decoded on tokio's
/// blocking threads. 64 KiB decodes in well under a millisecond, so small calls keep their
/// latency (no thread hop); a frame of hundreds of MiB can take seconds.
pub(super) const LARGE_FRAME: usize = 64 * 1024;

/// A large uncompressed frame decodes inline if the pre-scan finds at most this many items
/// (and at most [`LARGE_FRAME`] bytes of str and int text) in it: what a small frame may cost
/// at most, for a few microseconds of scanning.
const CHEAP_ITEMS: usize = 1024;

/// The most a zlib stream inflates per byte (deflate's limit is about 1032:1): a compressed
/// frame is charged this against the budget (at most the inflated-size limit) until inflated.
const MAX_ZLIB_RATIO: usize = 1032;

/// What a frame decoded into.
pub(super) enum Incoming {
    /// A message to handle.
    Message(Message),
    /// A message whose body a limit on memory refused; its envelope was read first.
    Refused {
        /// The message's type and seq.
        envelope: Envelope,
        /// The limit it met.
        error: DecodeError,
    },
    /// A reply (or exception) to a seq never sent, dropped undecoded.
    Unsolicited(Envelope),
}

impl ConnInner {
    // One frame is decoded in two steps, so that the reader's per-frame path holds no future:
    // `decode_small` (inline), else `decode_large` — which waits for its share of the
    // process-wide budget (`Config::max_decoding_bytes`), in arrival order, and decodes on a
    // blocking thread. `Err` (a corrupt frame) closes the connection.

    /// Decodes a cheap frame right here (`Ok`): a small one, or a large uncompressed one of few
    /// items (its `bytes` values become slices of it). Any other is given back (`Err`) for
    /// [`ConnInner::decode_large`]. What the reader does per frame, with no future.
    pub(super) fn decode_small(&self, frame: Frame) -> Result<Result<Incoming, String>, Frame> {
        let max = self.config.frame_limits.max_decompressed_size;
        if frame.data.len() <= LARGE_FRAME {
            // Inflated inline as far as a small frame goes; beyond, it is a large one (the
            // little inflated so far is done again off the workers).
            match frame.payload(max.min(LARGE_FRAME)) {
                Ok(payload) => return Ok(self.decode_payload(&payload)),
                Err(FrameError::DecompressedTooLarge { .. }) if max > LARGE_FRAME => {}
                Err(e) => return Ok(Err(e.to_string())),
            }
        } else if !frame.compressed && cheap(&frame.data) {
            return Ok(self.decode_payload(&frame.data));
        }
        Err(frame)
    }

    /// Decodes a large frame off the runtime's workers, under the process-wide budget;
    /// `before_wait` runs before it waits.
    pub(super) async fn decode_large(
        self: &Arc<Self>,
        frame: Frame,
        before_wait: impl FnOnce(),
    ) -> Result<Incoming, String> {
        let max = self.config.frame_limits.max_decompressed_size;
        before_wait();
        let charge = if frame.compressed {
            frame.data.len().saturating_mul(MAX_ZLIB_RATIO).min(max)
        } else {
            frame.data.len()
        };
        let mut share = Budget::shared(self.config.max_decoding_bytes)
            .take(charge)
            .await;
        let inner = self.clone();
        let decoded = tokio::task::spawn_blocking(move || {
            let payload = frame.payload(max).map_err(|e| e.to_string())?;
            share.trim(payload.len());
            inner.decode_payload(&payload)
        });
        decoded
            .await
            .map_err(|e| format!("decoding a frame failed: {e}"))?
    }

    /// Decodes a payload: the envelope first, then (unless nobody can want it) the body.
    fn decode_payload(&self, payload: &Bytes) -> Result<Incoming, String> {
        let envelope = Message::envelope(payload);
        if let Some(env) = envelope {
            if env.msg != MSG_REQUEST && !self.calls.was_sent(env.seq) {
                return Ok(Incoming::Unsolicited(env));
            }
        }
        match (
            Message::decode(payload, self.config.decode_limits),
            envelope,
        ) {
            (Ok(m), _) => Ok(Incoming::Message(m)),
            (
                Err(ProtocolError::Decode(
                    error @ (DecodeError::HeapExceeded { .. } | DecodeError::OutOfMemory { .. }),
                )),
                Some(envelope),
            ) => Ok(Incoming::Refused { envelope, error }),
            (Err(e), _) => Err(e.to_string()),
        }
    }

    /// Settles a message that was not decoded: a refused request is answered with
    /// `MemoryError` naming the limit, a refused reply fails its call with
    /// [`Error::Protocol`], a reply nobody asked for is dropped. True if a caller was woken.
    pub(super) fn settle(&self, incoming: Incoming) -> bool {
        match incoming {
            Incoming::Message(_) => false,
            Incoming::Refused { envelope, error } if envelope.msg == MSG_REQUEST => {
                let exc =
                    RemoteException::builtin("MemoryError", format!("request refused: {error}"));
                self.send_reply(envelope.seq, Err(exc), "decode");
                false
            }
            Incoming::Refused { envelope, error } => self.calls.complete(envelope.seq, || {
                Err(Error::Protocol(format!("reply refused: {error}")))
            }),
            Incoming::Unsolicited(env) => {
                tracing::debug!(
                    conn = self.id,
                    seq = env.seq,
                    "reply to a request never sent dropped"
                );
                false
            }
        }
    }
}

/// Whether an uncompressed payload (`u8 msg ‖ brine`) decodes as cheaply as a small frame.
fn cheap(payload: &[u8]) -> bool {
    rpyc_core::brine::cheap_to_decode(
        payload.get(1..).unwrap_or_default(),
        CHEAP_ITEMS,
        LARGE_FRAME,
    )
}

/// The process-wide budget of bytes being decoded off the workers: a fair semaphore (a frame
/// waits its turn in arrival order) counting KiB, so that totals beyond 4 GiB fit its `u32`
/// permits.
struct Budget {
    permits: Arc<Semaphore>,
    total_kib: u32,
}

/// A frame's share of the [`Budget`], returned when dropped.
struct Share(OwnedSemaphorePermit);

impl Budget {
    /// The budget of `total` bytes, shared by every connection configured with that total.
    fn shared(total: usize) -> Arc<Budget> {
        static BUDGETS: OnceLock<Mutex<HashMap<usize, Arc<Budget>>>> = OnceLock::new();
        let mut budgets = BUDGETS.get_or_init(Default::default).lock();
        budgets
            .entry(total)
            .or_insert_with(|| {
                let total_kib = u32::try_from(total / 1024).unwrap_or(u32::MAX).max(1);
                Arc::new(Budget {
                    permits: Arc::new(Semaphore::new(total_kib as usize)),
                    total_kib,
                })
            })
            .clone()
    }

    /// `bytes` rounded up to KiB, at most the whole budget (so any frame can be decoded).
    fn kib(&self, bytes: usize) -> u32 {
        u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, self.total_kib)
    }

    /// Waits for `bytes` of the budget, after every frame that asked before.
    async fn take(&self, bytes: usize) -> Share {
        let permits = self
            .permits
            .clone()
            .acquire_many_owned(self.kib(bytes))
            .await;
        // The semaphore lives in a static and is never closed.
        Share(permits.unwrap_or_else(|_| unreachable!("the decode budget is never closed")))
    }
}

impl Share {
    /// Gives back what is beyond `bytes` (a compressed frame, once its size is known).
    fn trim(&mut self, bytes: usize) {
        let keep = (bytes.div_ceil(1024)).max(1);
        if let Some(extra) = self.0.num_permits().checked_sub(keep) {
            drop(self.0.split(extra));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shares_wait_their_turn_and_trimmed_bytes_come_back() {
        // A total of its own, so no other test shares it.
        let budget = Budget::shared(10 * 1024 + 17);
        assert_eq!(budget.total_kib, 10);
        let mut first = budget.take(8 * 1024).await;
        // More than the whole budget is the whole budget: it waits for `first`.
        let second = budget.take(1 << 30);
        tokio::pin!(second);
        assert!(futures_util::poll!(second.as_mut()).is_pending());
        first.trim(1024);
        assert!(futures_util::poll!(second.as_mut()).is_pending());
        drop(first);
        let second = second.await;
        assert_eq!(second.0.num_permits(), 10);
    }
}
