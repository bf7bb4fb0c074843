//! The `rpyc-server` binary and liveness: a `Reconnecting` client survives the server being
//! killed (SIGKILL) and started again on the same port; `--ping-interval`/`--ping-timeout`
//! cut a client that answers nothing and keep one that answers; the keepalive flags.

use std::process::{Command, Stdio};
use std::time::Duration;

use rpyc::{Backoff, Error, Reconnecting, Value};
use tokio::io::AsyncReadExt;

#[path = "../../tests/support/process.rs"]
mod process;
use process::Listening;

const SERVER: &str = env!("CARGO_BIN_EXE_rpyc-server");

/// Starts `rpyc-server --service calc --port PORT ARGS…` and waits for its `listening on` line.
fn start(port: u16, args: &[&str]) -> Listening {
    let mut cmd = Command::new(SERVER);
    cmd.args(["--service", "calc", "--port", &port.to_string()])
        .args(args)
        .stderr(Stdio::null());
    Listening::start(cmd)
}

#[tokio::test]
async fn a_reconnecting_client_survives_the_server_killed_and_restarted() {
    let server = start(0, &[]);
    let addr = server.socket_addr();
    let client = Reconnecting::tcp(addr.to_string()).backoff(Backoff {
        min: Duration::from_millis(20),
        max: Duration::from_millis(200),
        ..Backoff::default()
    });
    let old_root = client.root().await.unwrap();
    let caller = {
        let client = client.clone();
        tokio::spawn(async move {
            let (mut ok, mut failed) = (0u32, 0u32);
            for i in 0..300i64 {
                let r = tokio::time::timeout(Duration::from_secs(10), client.call("add", (i, 1)))
                    .await
                    .expect("a call hung");
                match r {
                    Ok(v) => {
                        assert_eq!(v, Value::Int(i + 1));
                        ok += 1;
                    }
                    Err(Error::ConnectionClosed(_) | Error::Connect { .. }) => failed += 1,
                    Err(e) => panic!("unclear error: {e:?}"),
                }
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
            (ok, failed)
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(server); // SIGKILL
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _server = start(addr.port(), &[]);
    let (ok, failed) = caller.await.unwrap();
    assert!(ok > 0 && failed > 0, "ok {ok}, failed {failed}");
    let sum = client.call_idempotent("add", (40, 2)).await.unwrap();
    assert_eq!(sum, Value::Int(42));
    let err = old_root.call_method("add", (1, 1)).await.unwrap_err();
    assert!(
        matches!(&err, Error::ConnectionClosed(m) if m.contains("is gone")),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_ping_flags_cut_a_silent_client_and_keep_a_live_one() {
    let server = start(
        0,
        &[
            "--ping-interval",
            "0.05",
            "--ping-timeout",
            "0.2",
            "--keepalive-idle",
            "30",
            "--keepalive-interval",
            "5",
            "--keepalive-probes",
            "3",
        ],
    );
    // A client that never answers: the server pings it, then closes it.
    let mut silent = tokio::net::TcpStream::connect(server.socket_addr())
        .await
        .unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 256];
        while matches!(silent.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await;
    assert!(closed.is_ok(), "the silent client was not cut");
    // A live client answers the pings and stays.
    let live = rpyc::connect(server.socket_addr()).await.unwrap();
    let root = live.root().await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(!live.is_closed(), "{:?}", live.close_reason());
    let v = root.call_method("add", (1, 2)).await.unwrap();
    assert_eq!(v, Value::Int(3));
}

#[tokio::test]
async fn keepalive_can_be_turned_off() {
    let server = start(0, &["--no-keepalive", "--idle-timeout", "60"]);
    let conn = rpyc::connect(server.socket_addr()).await.unwrap();
    let v = conn
        .root()
        .await
        .unwrap()
        .call_method("add", (2, 2))
        .await
        .unwrap();
    assert_eq!(v, Value::Int(4));
}
