//! The output budget, seen from the wire: a peer that sends many requests for large replies
//! and reads nothing makes the connection start only as many as its budget allows; once the
//! peer reads, every reply arrives, none lost.

mod wire;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rpyc::core::message::{Boxed, Message};
use rpyc::core::{Config, Value};
use tokio::io::AsyncWriteExt;
use wire::{call, get_root, read_message};

/// Hands out blobs and counts how many it made.
#[derive(Default)]
struct Blobs {
    made: Arc<AtomicUsize>,
}

#[rpyc::service]
impl Blobs {
    /// `n` zero bytes, after some work (a synchronous method, as a user writes one).
    #[exposed]
    fn blob(&self, n: i64) -> Value {
        self.made.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(10));
        Value::Bytes(vec![0u8; n as usize].into())
    }
}

/// Waits until `count` stops changing (the connection has started all it will start).
async fn settled(count: &AtomicUsize) -> usize {
    let mut last = usize::MAX;
    let mut same = 0;
    for _ in 0..400 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        let now = count.load(Ordering::SeqCst);
        same = if now == last { same + 1 } else { 0 };
        if same == 8 {
            return now;
        }
        last = now;
    }
    panic!("the number of requests started never settled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_reads_nothing_gets_no_more_work_than_the_budget_and_then_every_reply() {
    const BLOB: usize = 256 << 10;
    const CALLS: i64 = 64;
    // A small socket buffer, so the replies back up at once.
    let (mut peer, ours) = tokio::io::duplex(64 << 10);
    let service = Blobs::default();
    let made = service.made.clone();
    let mut config = Config::default();
    config.max_queued_output = 1 << 20;
    // Zeros would compress to almost nothing.
    config.compress = false;
    let _conn = rpyc::Connection::new(ours, Arc::new(service), config);

    // 64 calls of blob(256 KiB): 16 MiB of replies, all requested at once.
    let root = get_root(&mut peer).await;
    let mut burst = Vec::new();
    for seq in 1..=CALLS {
        call(
            &mut burst,
            seq,
            &root,
            "blob",
            vec![Value::Int(BLOB as i64)],
        );
    }
    peer.write_all(&burst).await.unwrap();

    // Budget 1 MiB = 4 replies, plus those already running when it filled (the 8 synchronous
    // slots, twice over at most: a slot is free again before its reply is queued).
    let started = settled(&made).await;
    assert!(
        started <= 4 + 2 * 8,
        "{started} of {CALLS} requests started while the peer read nothing"
    );

    // Now read: every reply arrives, in full.
    let mut answered = Vec::new();
    for _ in 0..CALLS {
        match read_message(&mut peer).await {
            Message::Reply {
                seq,
                value: Boxed::Value(Value::Bytes(b)),
            } => {
                assert_eq!(b.len(), BLOB);
                answered.push(seq);
            }
            other => panic!("expected a blob, got {other:?}"),
        }
    }
    answered.sort();
    assert_eq!(answered, (1..=CALLS).collect::<Vec<_>>());
    assert_eq!(made.load(Ordering::SeqCst), CALLS as usize);
}
