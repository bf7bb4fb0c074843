//! Authenticators (issue 14 §2): `Server::authenticator` sees each accepted stream first and
//! refuses it (a clean close, the reason logged) or returns credentials the service reads
//! (`CallContext::credentials().auth`, here through `TestService::whoami`). The shared-token
//! `TokenAuthenticator` used by a Python client that sends the token first and by our client;
//! an authenticator after the mutual-TLS handshake that sees the client certificate.

use std::io::Write;
use std::sync::{Arc, Mutex};

use rpyc::Value;
use rpyc_server::auth::{Accepted, AuthFuture, AuthStream, Authenticator, TokenAuthenticator};
use rpyc_server::services::TestService;
use rpyc_server::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "../../tests/support/python.rs"]
mod support;

#[path = "../../tests/support/certs.rs"]
mod certs;

async fn serve(
    server: Server,
) -> (
    std::net::SocketAddr,
    rpyc_server::ShutdownHandle,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let addr = server.local_addr().unwrap();
    let stop = server.shutdown_handle();
    let task = tokio::spawn(server.serve(|| TestService::new(Default::default())));
    (addr, stop, task)
}

async fn run_python(script: &str, port: u16, dir: Option<&std::path::Path>) -> Vec<String> {
    let mut env = vec![("PORT", port.to_string())];
    env.extend(dir.map(|d| ("DIR", d.display().to_string())));
    support::run_python_script(script, &env).await
}

/// The README's Python side of the token authenticator.
const PYTHON_TOKEN: &str = r#"
import os, socket, rpyc
port = int(os.environ["PORT"])
def attempt(token):
    sock = socket.create_connection(("127.0.0.1", port))
    if token is not None:
        sock.sendall(token)
    try:
        conn = rpyc.connect_stream(rpyc.SocketStream(sock))
        peer, subject, sans, auth = conn.root.whoami()
        conn.close()
        return "ok %s %s" % (auth, peer.startswith("127.0.0.1:"))
    except Exception as e:
        return "refused %s" % type(e).__name__
for token in [b"s3cret\n", b"wrong\n", None, b"0ther\r\n", b"s3cret\n"]:
    print(attempt(token), flush=True)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_sends_the_token_first() {
    let auth = TokenAuthenticator::new("s3cret", "alice").token("0ther", "bob");
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .authenticator(auth);
    let (addr, stop, task) = serve(server).await;
    let lines = run_python(PYTHON_TOKEN, addr.port(), None).await;
    assert_eq!(
        lines,
        [
            "ok alice True",
            // A wrong token, and none (RPyC's first frame is no token): a clean close, which
            // Python's rpyc reports as EOFError.
            "refused EOFError",
            "refused EOFError",
            "ok bob True",
            "ok alice True",
        ]
    );
    stop.shutdown();
    task.await.unwrap().unwrap();
}

/// A log sink for the current thread's `tracing` events.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Our client: the token and the first request in one write (the authenticator reads past
/// the token; those bytes are the connection's first), a refused client, the reason logged.
#[tokio::test]
async fn our_client_sends_the_token_and_the_server_logs_refusals() {
    let log = Log::default();
    let sink = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .authenticator(TokenAuthenticator::new("s3cret", "alice"));
    let (addr, stop, task) = serve(server).await;

    // The connection writes into a pipe; the first thing it writes (its first request) goes
    // out in one TCP write with the token in front.
    let (tcp_r, mut tcp_w) = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap()
        .into_split();
    let (conn_w, mut pipe) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        let mut first = vec![0u8; 1 << 16];
        let n = pipe.read(&mut first).await.unwrap();
        let mut out = b"s3cret\n".to_vec();
        out.extend_from_slice(&first[..n]);
        tcp_w.write_all(&out).await.unwrap();
        let _ = tokio::io::copy(&mut pipe, &mut tcp_w).await;
    });
    let conn = rpyc::Connection::from_parts(
        tcp_r,
        conn_w,
        Arc::new(rpyc::VoidService),
        Default::default(),
    );
    let root = conn.root().await.unwrap();
    let who = root.call_method("whoami", ()).await.unwrap();
    assert_eq!(who.as_tuple().unwrap()[3], Value::str("alice"));

    // A wrong token: the server closes the connection cleanly.
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    sock.write_all(b"guess\n").await.unwrap();
    let mut rest = Vec::new();
    assert_eq!(sock.read_to_end(&mut rest).await.unwrap(), 0);
    drop(sock);

    // Still serving.
    assert_eq!(
        root.call_method("add", (2, 3)).await.unwrap(),
        Value::Int(5)
    );
    conn.close().await.unwrap();
    stop.shutdown();
    task.await.unwrap().unwrap();
    let text = log.text();
    assert!(
        text.contains("connection refused by the authenticator") && text.contains("wrong token"),
        "{text}"
    );
}

/// Lets in certificates whose common name is `alice`, after the mutual-TLS handshake.
struct AliceOnly;

impl Authenticator for AliceOnly {
    fn authenticate<'a>(
        &'a self,
        _stream: &'a mut AuthStream,
        accepted: &'a Accepted,
    ) -> AuthFuture<'a> {
        Box::pin(async move {
            let cn = accepted.tls.as_ref().and_then(|id| id.common_name());
            match cn {
                Some("alice") => Ok(Some(Value::str("cert:alice"))),
                other => Err(format!("{other:?} is not alice")),
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authenticator_sees_the_client_certificate() {
    let pki = certs::Pki::new("auth-tls");
    let (bob, bob_key) = pki.ca.leaf("bob", &["bob.example"]);
    std::fs::write(pki.dir().join("bob.pem"), bob).unwrap();
    std::fs::write(pki.dir().join("bob-key.pem"), bob_key).unwrap();
    let acceptor = rpyc_server::tls::mutual_acceptor_from_pem(
        &pki.read("server.pem"),
        &pki.read("server-key.pem"),
        &pki.read("ca.pem"),
    )
    .unwrap();
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .tls(acceptor)
        .authenticator(AliceOnly);
    let (addr, stop, task) = serve(server).await;
    let script = r#"
import os, rpyc
port, d = int(os.environ["PORT"]), os.environ["DIR"]
p = lambda n: os.path.join(d, n)
for who in ["alice", "bob", "alice"]:
    try:
        c = rpyc.ssl_connect("127.0.0.1", port, keyfile=p(who + "-key.pem"),
                             certfile=p(who + ".pem"), ca_certs=p("ca.pem"))
        peer, subject, sans, auth = c.root.whoami()
        c.close()
        print("ok", subject, auth)
    except Exception as e:
        print("refused", type(e).__name__)
"#;
    let lines = run_python(script, addr.port(), Some(pki.dir())).await;
    assert_eq!(
        lines,
        [
            "ok CN=alice, O=Example cert:alice",
            "refused EOFError",
            "ok CN=alice, O=Example cert:alice",
        ]
    );
    stop.shutdown();
    task.await.unwrap().unwrap();
}
