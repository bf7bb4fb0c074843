//! A client: connect to a calculator server and call it like a local object.
//!
//! This example needs a server running. Start one in another terminal, either the
//! `rpyc-server` binary (serves the built-in calculator on 127.0.0.1:18861 by default):
//!
//! ```text
//! cargo run -p rpyc-server
//! ```
//!
//! or the `server` example (the same service, written with `#[rpyc::service]`):
//!
//! ```text
//! cargo run --example server
//! ```
//!
//! then run the client, optionally with the server's address:
//!
//! ```text
//! cargo run --example client                 # 127.0.0.1:18861
//! cargo run --example client 127.0.0.1:9000
//! ```
//!
//! In Python this whole program is:
//!
//! ```text
//! conn = rpyc.connect("127.0.0.1", 18861)
//! conn.root.add(2, 3); conn.root.multiply(6, 7); conn.root.get_history()
//! ```

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18861".to_string());
    match run(&addr).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", rpyc::Printable(&e));
            if matches!(e, rpyc::Error::Connect { .. }) {
                eprintln!(
                    "is a server running at {addr}? start one with `cargo run -p rpyc-server` \
                     or `cargo run --example server`"
                );
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(addr: &str) -> Result<(), rpyc::Error> {
    // Connect and get the server's root object: the service itself.
    let conn = rpyc::connect(addr).await?;
    let root = conn.root().await?;

    // Text chosen by the server (names, reprs, error messages) is printed through
    // `rpyc::Printable`: a hostile server cannot retitle or clear this terminal.
    let name: String = root.call_method("get_service_name", ()).await?.extract()?;
    println!("connected to {addr}, service {}", rpyc::Printable(&name));

    // Each call is one round trip; results come back as `rpyc::Value`s, converted with
    // `extract` to whatever Rust type fits.
    let sum: i64 = root.call_method("add", (2, 3)).await?.extract()?;
    println!("add(2, 3)       = {sum}");
    let product: i64 = root.call_method("multiply", (6, 7)).await?.extract()?;
    println!("multiply(6, 7)  = {product}");

    // The calculator keeps a history of results per connection.
    let history: Vec<i64> = root.call_method("get_history", ()).await?.extract()?;
    println!("get_history()   = {history:?}");

    // Server-side errors arrive as `rpyc::Error::Remote`, carrying the exception.
    match root.call_method("add", (1, "one")).await {
        Err(e) if e.is_remote("TypeError") => {
            println!("add(1, \"one\") raised {}", rpyc::Printable(&e))
        }
        other => println!("add(1, \"one\") -> {other:?}"),
    }

    conn.close().await?;
    Ok(())
}
