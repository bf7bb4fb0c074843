//! The reader's deadlines, seen from the wire: a frame that trickles in is cut; a silent
//! connection is never cut by default, and is when an idle deadline is set.

use std::sync::Arc;
use std::time::Duration;

use rpyc::core::Config;
use tokio::io::AsyncWriteExt;

/// Waits (boundedly) for `conn` to close and returns why.
async fn closed(conn: &rpyc::Connection) -> String {
    for _ in 0..500 {
        if let Some(reason) = conn.close_reason() {
            return reason;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the connection did not close");
}

fn served(config: Config) -> (tokio::io::DuplexStream, rpyc::Connection) {
    let (peer, ours) = tokio::io::duplex(1 << 16);
    let conn = rpyc::Connection::new(ours, Arc::new(rpyc::testing::EchoService), config);
    (peer, conn)
}

#[tokio::test]
async fn a_frame_that_trickles_in_is_cut() {
    let mut config = Config::default();
    config.frame_progress_timeout = Some(Duration::from_millis(50));
    config.frame_progress_bytes = 4096;
    let (mut peer, conn) = served(config);
    // A header announcing 1 MiB, then a byte now and then.
    peer.write_all(&[0, 16, 0, 0, 0]).await.unwrap();
    let trickle = tokio::spawn(async move {
        for _ in 0..200 {
            if peer.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let reason = closed(&conn).await;
    assert!(reason.contains("frame stalled"), "{reason}");
    trickle.abort();
}

#[tokio::test]
async fn a_silent_connection_is_kept_by_default_and_cut_with_an_idle_deadline() {
    let mut config = Config::default();
    config.frame_progress_timeout = Some(Duration::from_millis(20));
    let (_quiet, kept) = served(config.clone());
    config.idle_timeout = Some(Duration::from_millis(50));
    let (_quiet_too, cut) = served(config);
    let reason = closed(&cut).await;
    assert!(reason.contains("idle for"), "{reason}");
    // Many frame-progress ticks later, the first one is still open.
    assert!(!kept.is_closed(), "closed: {:?}", kept.close_reason());
}
