//! Unit tests of the outbox: batching by the last producer, direct writes for a caller about
//! to wait, partial writes finished in order, and close while a write is blocked.

use super::*;
use crate::transport::Writer;
use tokio::io::AsyncWrite;

/// What the mock stream saw, and how it behaves.
#[derive(Default)]
struct Seen {
    data: Vec<u8>,
    /// `poll_write` calls that took bytes (one per syscall on a real socket).
    writes: usize,
    /// At most this many bytes per write (0: no limit).
    max_per_write: usize,
    /// While set, every write is `Pending`.
    blocked: bool,
    waker: Option<Waker>,
    shut_down: bool,
}

#[derive(Clone, Default)]
struct Mock(Arc<parking_lot::Mutex<Seen>>);

impl AsyncWrite for Mock {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut s = self.0.lock();
        if s.blocked {
            s.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = match s.max_per_write {
            0 => buf.len(),
            m => buf.len().min(m),
        };
        s.data.extend_from_slice(&buf[..n]);
        s.writes += 1;
        Poll::Ready(Ok(n))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.lock().shut_down = true;
        Poll::Ready(Ok(()))
    }
}

impl Writer for Mock {}

fn outbox() -> (Arc<Outbox>, Mock, CancellationToken) {
    let mock = Mock::default();
    let closing = CancellationToken::new();
    let budget = OutputBudget::new(usize::MAX, usize::MAX);
    let ob = Outbox::new(Box::pin(mock.clone()), closing.clone(), budget, None);
    let ob = Arc::new(ob);
    (ob, mock, closing)
}

fn frame(ob: &Outbox, payload: &[u8], now: bool) {
    ob.push(false, now, |buf| {
        buf.extend_from_slice(payload);
        Ok(())
    })
    .unwrap();
}

/// The payloads of the frames in `data`, in order.
fn payloads(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        out.push(rest[5..5 + len].to_vec());
        rest = &rest[5 + len + 1..];
    }
    out
}

#[test]
fn the_last_producer_writes_everything_in_one_write() {
    let (ob, mock, _closing) = outbox();
    ob.enter(true);
    ob.enter(false);
    {
        let _scope = ob.scope();
        frame(&ob, b"one", false);
        frame(&ob, b"two", false);
    }
    ob.exit(false);
    assert_eq!(
        mock.0.lock().writes,
        0,
        "a producer still runs: nothing written"
    );
    {
        let _scope = ob.scope();
        frame(&ob, b"three", false);
    }
    ob.exit(false);
    let seen = mock.0.lock();
    assert_eq!(seen.writes, 1);
    assert_eq!(payloads(&seen.data), [&b"one"[..], b"two", b"three"]);
}

#[test]
fn a_caller_about_to_wait_writes_at_once() {
    let (ob, mock, _closing) = outbox();
    frame(&ob, b"call", true);
    assert_eq!(payloads(&mock.0.lock().data), [b"call"]);
}

#[tokio::test]
async fn a_partial_write_is_finished_by_the_writer_task_in_order() {
    let (ob, mock, closing) = outbox();
    mock.0.lock().max_per_write = 5;
    let writer = tokio::spawn({
        let ob = ob.clone();
        async move { ob.run_writer().await }
    });
    frame(&ob, b"a fairly long first frame", true);
    frame(&ob, b"second", false);
    frame(&ob, b"third", true);
    while ob.queued() > 0 || mock.0.lock().data.len() < 3 * 6 + 25 + 6 + 5 {
        tokio::task::yield_now().await;
    }
    closing.cancel();
    ob.close();
    writer.await.unwrap().unwrap();
    let seen = mock.0.lock();
    assert_eq!(
        payloads(&seen.data),
        [&b"a fairly long first frame"[..], b"second", b"third"]
    );
    assert!(seen.shut_down);
}

#[tokio::test(start_paused = true)]
async fn closing_gives_up_a_write_blocked_on_a_peer_that_stopped_reading() {
    let (ob, mock, closing) = outbox();
    mock.0.lock().blocked = true;
    let writer = tokio::spawn({
        let ob = ob.clone();
        async move { ob.run_writer().await }
    });
    frame(&ob, b"never read", false);
    tokio::task::yield_now().await;
    closing.cancel();
    ob.close();
    // The paused clock runs the close deadline out: the writer stops by itself.
    writer.await.unwrap().unwrap();
    let seen = mock.0.lock();
    assert!(seen.data.is_empty());
    assert!(seen.shut_down);
}
