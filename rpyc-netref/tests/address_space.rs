//! Memory follows the data, not what a header announces: a server whose address space is
//! limited (`prlimit --as`) below what a few headers announcing 250 MiB would reserve keeps
//! running, and answers a bystander's call.
//!
//! The server is this test binary run again (`child_server`, selected by an environment
//! variable) under util-linux `prlimit`, so the limit applies to it alone. Loopback only.

mod wire;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rpyc::core::message::{Boxed, Message};
use rpyc::core::Value;
use wire::{accept_echo, ping, read_blocking};

/// Set in the child's environment: `child_server` serves instead of returning.
const CHILD: &str = "RPYC_ADDRESS_SPACE_CHILD";

/// The child's address-space limit: room for its runtime and a few MiB of frames, well below
/// the 1.5 GiB six headers announce.
const ADDRESS_SPACE: u64 = 1 << 30;

/// How many connections announce 250 MiB frames.
const ANNOUNCERS: usize = 6;

/// The server run under `prlimit` by the test below; passes at once in a normal test run.
#[test]
fn child_server() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    // Two workers whatever the machine: thread stacks count against the limit too.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("listening on {}", listener.local_addr().unwrap());
        // Serves until killed.
        accept_echo(&listener, usize::MAX).await;
    });
}

/// Kills the child when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `child_server` under `prlimit --as` and returns it with its address.
fn start_limited_server() -> (Server, String) {
    let exe = std::env::current_exe().unwrap();
    let child = Command::new("prlimit")
        .arg(format!("--as={ADDRESS_SPACE}"))
        .arg("--")
        .arg(exe)
        .args(["--exact", "child_server", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("util-linux `prlimit` runs the server (apt-get install util-linux)");
    let mut server = Server(child);
    let stdout = server.0.stdout.take().unwrap();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        // The harness prints the test's name on the same line first.
        if let Some((_, addr)) = line.split_once("listening on ") {
            return (server, addr.to_string());
        }
    }
    panic!("the server ended before listening: {:?}", server.0.wait());
}

#[test]
fn headers_announcing_250_mib_cost_nothing_under_an_address_space_limit() {
    let (mut server, addr) = start_limited_server();
    // Each announces a 250 MiB frame and sends its first bytes.
    let mut announcers = Vec::new();
    for _ in 0..ANNOUNCERS {
        let mut s = TcpStream::connect(&addr).unwrap();
        let mut start = (250u32 << 20).to_be_bytes().to_vec();
        start.push(0);
        start.extend_from_slice(&[0x01, 0x11, 0x50]);
        s.write_all(&start).unwrap();
        announcers.push(s);
    }
    // A bystander's real call, made after them, is answered.
    let mut bystander = TcpStream::connect(&addr).unwrap();
    // A safety net against a hung server, not a measure: the answer comes in milliseconds.
    bystander
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    bystander.write_all(&ping(0, Value::Int(42))).unwrap();
    match read_blocking(&mut bystander) {
        Message::Reply { seq: 0, value } => assert_eq!(value, Boxed::value(42)),
        other => panic!("expected the echo, got {other:?}"),
    }
    assert!(server.0.try_wait().unwrap().is_none(), "the server died");
    // The announcers' connections are still open: nothing was sent to them, nor closed.
    for s in &mut announcers {
        s.set_nonblocking(true).unwrap();
        let open = s.read(&mut [0u8; 1]).map_err(|e| e.kind());
        assert_eq!(open.unwrap_err(), std::io::ErrorKind::WouldBlock);
    }
    // A frame that does arrive whole is still served on the same limited server.
    let big = Value::bytes(vec![1u8; 4 << 20]);
    bystander.write_all(&ping(1, big.clone())).unwrap();
    match read_blocking(&mut bystander) {
        Message::Reply { seq: 1, value } => assert_eq!(value, Boxed::Value(big)),
        other => panic!("expected the echo, got {other:?}"),
    }
}
