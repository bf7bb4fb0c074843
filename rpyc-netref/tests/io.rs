//! The frame I/O path over real TCP: large `bytes` values (spliced into frames by reference
//! and read in place into one buffer) come back intact, compressed or not, and a connection
//! holds no read or write buffer once nothing flows.

use std::sync::Arc;
use std::time::Duration;

use rpyc::core::{Config, Value};
use rpyc::testing::EchoService;
use rpyc::Connection;
use tokio::net::TcpListener;

/// A client and the server side of one TCP connection serving `EchoService`, both with
/// `config`.
async fn pair(config: Config) -> (Connection, Connection) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = {
        let config = config.clone();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            Connection::from_tcp(stream, Arc::new(EchoService), config)
        })
    };
    let client = rpyc::connect_with(addr, Arc::new(rpyc::VoidService), config)
        .await
        .unwrap();
    (client, accepted.await.unwrap())
}

/// `n` bytes that do not compress.
fn noise(n: usize) -> bytes::Bytes {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

/// Echoes `data` and checks that the very same bytes came back.
async fn echo(client: &Connection, data: bytes::Bytes) {
    let root = client.root().await.unwrap();
    match root
        .call_method("echo", (Value::Bytes(data.clone()),))
        .await
        .unwrap()
    {
        Value::Bytes(back) => {
            assert_eq!(back.len(), data.len());
            assert!(back == data, "the echoed bytes differ");
        }
        other => panic!("echo returned {}", other.type_name()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_mib_and_100_mib_bytes_echo_round_trip_intact_over_tcp() {
    let (client, _server) = pair(Config::default()).await;
    echo(&client, noise(1 << 20)).await;
    echo(&client, noise(100 << 20)).await;
    // Small values, and sizes around the splicing threshold, on the same connection.
    for n in [0, 5, 3000, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 70_000] {
        echo(&client, noise(n)).await;
    }
}

/// With compression on (a peer on this machine normally gets none), a large value spliced
/// into a frame is put back in place and compressed, and still comes back intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_values_in_compressed_frames_round_trip_intact() {
    let mut config = Config::default();
    config.compress_local = true;
    let (client, _server) = pair(config).await;
    let text: bytes::Bytes = b"the same words again and again, "
        .iter()
        .copied()
        .cycle()
        .take(1 << 20)
        .collect::<Vec<u8>>()
        .into();
    echo(&client, text).await;
    // Incompressible: sent as it is.
    echo(&client, noise(1 << 20)).await;
}

/// After a 1 MiB echo, both ends drop their large read and write buffers once nothing flows;
/// what an idle connection keeps is a small read buffer for the next call's request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_holds_no_large_buffers() {
    /// What an idle connection may hold: the small read buffer (2 KiB).
    const SMALL: usize = 2 * 1024;
    let (client, server) = pair(Config::default()).await;
    echo(&client, noise(1 << 20)).await;
    client.ping().await.unwrap();
    for (side, conn) in [("client", &client), ("server", &server)] {
        // The last write finishes in the background: wait for it (bounded, not timed).
        let mut held = conn.buffer_capacity();
        for _ in 0..500 {
            if held <= SMALL {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            held = conn.buffer_capacity();
        }
        assert!(
            held <= SMALL,
            "the {side} still holds {held} bytes of buffers"
        );
    }
    // And the connection still works.
    echo(&client, noise(100)).await;
}
