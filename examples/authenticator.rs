//! An authenticated server: every client sends a shared token (and `\n`) before speaking RPyC;
//! the service greets it by the name the token was issued to. Clients without the right token
//! are closed at once (the server logs why).
//!
//! ```text
//! cargo run --example authenticator               # serves on 127.0.0.1:18862 until Ctrl-C
//! cargo run --example authenticator -- --demo     # also plays the clients, then exits
//! ```
//!
//! From Python, the token goes first on the socket, then RPyC on the same socket:
//!
//! ```text
//! >>> import socket, rpyc
//! >>> sock = socket.create_connection(("127.0.0.1", 18862))
//! >>> sock.sendall(b"s3cret\n")
//! >>> conn = rpyc.connect_stream(rpyc.SocketStream(sock))
//! >>> conn.root.whoami()
//! 'hello, alice (from 127.0.0.1:…)'
//! ```
//!
//! The same server behind mutual TLS (`Server::tls` with
//! `rpyc::server::tls::mutual_acceptor_from_pem`) runs the authenticator after the handshake;
//! the client certificate's subject is then in `ctx.credentials()` too.

use std::sync::Arc;

use rpyc::server::auth::TokenAuthenticator;
use rpyc::{CallContext, Connection, VoidService};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The service: reads who is calling from the call's context.
struct Greeter;

#[rpyc::service]
impl Greeter {
    /// `conn.root.whoami()`: the name the client's token was issued to, and its address.
    #[exposed]
    fn whoami(&self, ctx: &CallContext) -> String {
        let Some(who) = ctx.credentials() else {
            return "hello, stranger".to_string();
        };
        let name = who.auth.as_ref().and_then(|v| v.as_str()).unwrap_or("?");
        format!("hello, {name} (from {})", who.peer)
    }
}

/// Connects with `token` sent first, as the Python snippet above does.
async fn connect_with_token(
    addr: std::net::SocketAddr,
    token: &[u8],
) -> std::io::Result<Connection> {
    let mut sock = tokio::net::TcpStream::connect(addr).await?;
    sock.write_all(token).await?;
    sock.write_all(b"\n").await?;
    Ok(Connection::from_tcp(
        sock,
        Arc::new(VoidService),
        Default::default(),
    ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let demo = std::env::args().any(|a| a == "--demo");
    let server = rpyc::Server::bind(if demo {
        "127.0.0.1:0"
    } else {
        "127.0.0.1:18862"
    })
    .await?
    .authenticator(TokenAuthenticator::new("s3cret", "alice").token("t0ken", "bob"));
    let addr = server.local_addr().expect("a TCP server");
    let stop = server.shutdown_handle();
    let serving = tokio::spawn(server.serve(|| Greeter));
    println!("listening on {addr} (tokens: s3cret for alice, t0ken for bob)");
    if !demo {
        tokio::signal::ctrl_c().await?;
        stop.shutdown();
        return Ok(serving.await??);
    }

    for token in [&b"s3cret"[..], b"t0ken"] {
        let conn = connect_with_token(addr, token).await?;
        let hello: String = conn
            .root()
            .await?
            .call_method("whoami", ())
            .await?
            .extract()?;
        println!("{}: {hello}", String::from_utf8_lossy(token));
        conn.close().await?;
    }
    // A wrong token: the server closes the connection (and logs a warning on stderr).
    let mut sock = tokio::net::TcpStream::connect(addr).await?;
    sock.write_all(b"guess\n").await?;
    let closed = sock.read(&mut [0u8; 16]).await? == 0;
    println!("guess: closed by the server: {closed}");
    stop.shutdown();
    Ok(serving.await??)
}
