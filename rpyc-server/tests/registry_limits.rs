//! The registry as a public service: what one sender can make it do is bounded (answer size,
//! answer rate, silent TCP clients, expired and invalid entries). Raw sockets, as an attacker
//! would use.

use std::net::SocketAddr;
use std::time::Duration;

use rpyc::server::registry::{RegistryClient, RegistryServer, ANSWER_BYTES_PER_SECOND, MAX_ANSWER};
use rpyc::server::ShutdownHandle;
use rpyc::Value;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpStream, UdpSocket};

async fn start(server: RegistryServer) -> (SocketAddr, ShutdownHandle) {
    let server = server.allow_listing(true);
    let addr = server.local_addr();
    let stop = server.shutdown_handle();
    tokio::spawn(server.serve());
    (addr, stop)
}

fn request(cmd: &str, args: Value) -> Vec<u8> {
    rpyc::core::brine::dump(&Value::Tuple(vec![
        Value::str("RPYC"),
        Value::str(cmd),
        args,
    ]))
    .unwrap()
}

/// Registers 1,000 servers of one name and 200 long names, over TCP.
async fn fill(client: &RegistryClient) {
    for port in 1..=1000u16 {
        assert!(client.register(&["BIG"], port).await.unwrap());
    }
    for i in 0..20 {
        let name = format!("{}{i:03}", "N".repeat(120));
        assert!(client.register(&[&name], 1).await.unwrap());
    }
}

#[tokio::test]
async fn a_small_udp_request_gets_at_most_one_datagram() {
    let (tcp, _stop_tcp) = start(RegistryServer::bind_tcp("127.0.0.1:0").await.unwrap()).await;
    fill(&RegistryClient::tcp(tcp)).await;
    // The same state, asked over UDP: a registry over TCP and one over UDP are separate, so
    // ask the TCP one with a raw request and check the answer's size there too.
    let mut s = TcpStream::connect(tcp).await.unwrap();
    let q = request("QUERY", Value::Tuple(vec![Value::str("big")]));
    tokio::io::AsyncWriteExt::write_all(&mut s, &q)
        .await
        .unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).await.unwrap();
    assert!(answer.len() <= MAX_ANSWER, "{} bytes", answer.len());
    let Value::Tuple(found) = rpyc::core::brine::load(&answer).unwrap() else {
        panic!()
    };
    assert!(found.len() > 30, "as many as fit: {}", found.len());
    assert_eq!(
        found[0].repr(),
        "('127.0.0.1', 1000)",
        "most recently refreshed first"
    );

    let (udp, _stop_udp) = start(RegistryServer::bind_udp("127.0.0.1:0").await.unwrap()).await;
    fill(&RegistryClient::udp(udp)).await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut buf = vec![0u8; 65536];
    for (cmd, args) in [
        ("QUERY", Value::Tuple(vec![Value::str("BIG")])),
        ("LIST", Value::Tuple(vec![Value::Tuple(vec![Value::None])])),
    ] {
        let q = request(cmd, args);
        sock.send_to(&q, udp).await.unwrap();
        let (n, _) = sock.recv_from(&mut buf).await.unwrap();
        assert!(
            n <= MAX_ANSWER,
            "{cmd}: {n}-byte answer to a {}-byte request",
            q.len()
        );
        assert!(rpyc::core::brine::load(&buf[..n]).is_ok());
    }
}

#[tokio::test]
async fn each_udp_source_gets_a_bounded_answer_rate() {
    let (udp, _stop) = start(RegistryServer::bind_udp("127.0.0.1:0").await.unwrap()).await;
    // Enough servers that every answer is a full datagram.
    let client = RegistryClient::udp(udp);
    for port in 1..=100u16 {
        assert!(client.register(&["BIG"], port).await.unwrap());
    }
    let flood = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let q = request("QUERY", Value::Tuple(vec![Value::str("BIG")]));
    let started = std::time::Instant::now();
    for _ in 0..2000 {
        flood.send_to(&q, udp).await.unwrap();
    }
    // Count what comes back until the registry has gone quiet.
    let mut bytes = 0;
    let mut buf = [0u8; 2048];
    while let Ok(Ok((n, _))) =
        tokio::time::timeout(Duration::from_millis(300), flood.recv_from(&mut buf)).await
    {
        bytes += n;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rate = ANSWER_BYTES_PER_SECOND as f64;
    let allowed = 2.0 * rate + rate * elapsed;
    assert!(
        bytes > 0 && (bytes as f64) <= allowed,
        "{bytes} bytes answered to {} bytes of requests in {elapsed:.2} s (allowed {allowed:.0})",
        2000 * q.len()
    );
    assert!(
        bytes < 2000 * MAX_ANSWER / 2,
        "the flood was cut: {bytes} bytes"
    );
    // Another source is answered meanwhile, and small answers are cheap for everyone.
    let other = RegistryClient::udp(udp);
    assert!(other.discover("NOTHING").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_silent_tcp_client_delays_nobody() {
    let (tcp, _stop) = start(RegistryServer::bind_tcp("127.0.0.1:0").await.unwrap()).await;
    let mut silent = TcpStream::connect(tcp).await.unwrap();
    let client = RegistryClient::tcp(tcp);
    assert!(client.register(&["A"], 5).await.unwrap());
    assert_eq!(client.discover("a").await.unwrap().len(), 1);
    // Served one at a time, the registry would have had to give up on the silent client (its
    // deadline closes the connection) before answering: it is still open.
    let mut byte = [0u8; 1];
    let still_open = tokio::time::timeout(Duration::from_millis(50), silent.read(&mut byte)).await;
    assert!(still_open.is_err(), "the silent client was not closed yet");
}

#[tokio::test]
async fn bad_ports_are_refused_and_do_not_spoil_lookups() {
    let (udp, _stop) = start(RegistryServer::bind_udp("127.0.0.1:0").await.unwrap()).await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut buf = [0u8; 2048];
    for port in [0, -1, 65536, i64::MAX] {
        let r = request(
            "REGISTER",
            Value::Tuple(vec![
                Value::Tuple(vec![Value::str("SVC")]),
                Value::Int(port),
            ]),
        );
        sock.send_to(&r, udp).await.unwrap();
        let (n, _) = sock.recv_from(&mut buf).await.unwrap();
        assert_eq!(
            rpyc::core::brine::load(&buf[..n]).unwrap(),
            Value::str("FAIL"),
            "port {port}"
        );
    }
    let client = RegistryClient::udp(udp);
    assert!(client.register(&["SVC"], 18861).await.unwrap());
    assert_eq!(
        client.discover("svc").await.unwrap(),
        [("127.0.0.1".to_string(), 18861)]
    );
}

#[tokio::test]
async fn expired_names_leave_the_list_without_being_queried() {
    let server = RegistryServer::bind_udp("127.0.0.1:0")
        .await
        .unwrap()
        .pruning_timeout(Duration::from_millis(300));
    let (udp, _stop) = start(server).await;
    let client = RegistryClient::udp(udp);
    assert!(client.register(&["GONE"], 1).await.unwrap());
    assert_eq!(client.list(None).await.unwrap().unwrap(), ["GONE"]);
    // Wait for the timer (every pruning / 8), never asking for the name itself.
    for _ in 0..100 {
        if client.list(None).await.unwrap().unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("an expired name stayed listed");
}
