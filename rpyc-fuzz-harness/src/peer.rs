//! The fuzzer's end of the stream: what the server sent, as a raw peer sees it.
//!
//! A task reads the server's frames for the whole run (the server must never stall for want of
//! a reader), decodes each one, and records what the program needs next: replies by sequence
//! number, the server's own requests (callbacks into us, whose sequence numbers the program may
//! answer), and every object id the server sent by reference. A frame the server sent that does
//! not decode is a violation: a correct peer only sends what it can read itself.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use parking_lot::Mutex;
use rpyc::core::frame::{FrameCodec, FrameLimits};
use rpyc::core::message::{Boxed, IdPack, Message};
use rpyc::Value;
use tokio::io::AsyncRead;
use tokio::sync::Notify;
use tokio_util::codec::FramedRead;

/// How long the harness waits for the server to do something it must do (answer a ping, close
/// after EOF, read what we write) before calling it hung. Nothing legitimate takes more than
/// milliseconds here: this is a hang detector, not a performance bound.
pub(crate) const WATCHDOG: Duration = Duration::from_secs(30);

/// What the server's side of the stream showed so far.
#[derive(Default)]
pub(crate) struct Seen {
    /// Replies and exceptions, by the sequence number they answer: `Ok(value)` or `Err(())`.
    pub(crate) replies: HashMap<i64, Result<Boxed, ()>>,
    /// Sequence numbers of the server's requests to us, in arrival order.
    pub(crate) requests: Vec<i64>,
    /// Ids of the server's objects it sent us (label 4 in what it sends), first sight order.
    pub(crate) ids: Vec<IdPack>,
    /// The server closed its side (EOF or a read error).
    pub(crate) eof: bool,
    /// A frame or message from the server that did not decode.
    pub(crate) bad: Option<String>,
}

/// `Seen`, shared with the reader task, and a wake-up for whoever waits on it.
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) seen: Mutex<Seen>,
    pub(crate) changed: Notify,
}

impl Shared {
    /// Waits until `done` holds for what was seen, or the watchdog fires (`Err`).
    pub(crate) async fn wait(&self, done: impl Fn(&Seen) -> bool) -> Result<(), ()> {
        let waiting = async {
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if done(&self.seen.lock()) {
                    return;
                }
                changed.await;
            }
        };
        tokio::time::timeout(WATCHDOG, waiting)
            .await
            .map_err(|_| ())
    }
}

/// Collects the ids the sender owns (label 4) in a box it sent.
fn collect_ids(b: &Boxed, ids: &mut Vec<IdPack>) {
    match b {
        Boxed::Remote(id) if !ids.contains(id) => ids.push(id.clone()),
        Boxed::Tuple(items) => items.iter().for_each(|i| collect_ids(i, ids)),
        _ => {}
    }
}

/// Reads the server's frames until it closes, recording them in `shared`.
pub(crate) async fn read_server<R: AsyncRead + Unpin + Send + 'static>(
    reader: R,
    shared: Arc<Shared>,
) {
    let mut frames = FramedRead::new(reader, FrameCodec::new(FrameLimits::default()));
    loop {
        let next = frames.next().await;
        {
            let mut seen = shared.seen.lock();
            match next {
                None => seen.eof = true,
                Some(Err(e)) => {
                    seen.bad
                        .get_or_insert(format!("server sent a bad frame: {e}"));
                    seen.eof = true;
                }
                Some(Ok(frame)) => match frame.payload(usize::MAX) {
                    Err(e) => {
                        seen.bad
                            .get_or_insert(format!("server sent a frame it cannot inflate: {e}"));
                    }
                    Ok(payload) => {
                        match Message::decode(&payload, rpyc::core::brine::Limits::default()) {
                            Ok(Message::Reply { seq, value }) => {
                                collect_ids(&value, &mut seen.ids);
                                seen.replies.insert(seq, Ok(value));
                            }
                            Ok(Message::Exception { seq, .. }) => {
                                seen.replies.insert(seq, Err(()));
                            }
                            Ok(Message::Request { seq, args, .. }) => {
                                collect_ids(&args, &mut seen.ids);
                                seen.requests.push(seq);
                            }
                            Err(e) => {
                                let head = &payload[..payload.len().min(32)];
                                seen.bad.get_or_insert(format!(
                                "server sent a message it cannot decode itself: {e} ({head:02x?})"
                            ));
                            }
                        }
                    }
                },
            }
        }
        shared.changed.notify_waiters();
        if shared.seen.lock().eof {
            return;
        }
    }
}

/// True if `seq` was answered with exactly `data` (a ping's echo).
pub(crate) fn echoed(seen: &Seen, seq: i64, data: &Value) -> bool {
    matches!(seen.replies.get(&seq), Some(Ok(Boxed::Value(v))) if v == data)
}
