//! Liveness and reconnecting: a `Reconnecting` client keeps calling while its server goes down
//! and comes back on the same port; `Connection::closed` and `on_close` report why a
//! connection ended; a reference from the old connection says it is gone.
//!
//! ```text
//! cargo run --example reconnecting
//! ```

use std::time::Duration;

use rpyc::server::services::CalculatorService;
use rpyc::{Backoff, Config, Reconnecting, Server};

/// Serves the calculator on `addr`; returns the bound address and the server's stop handle.
async fn serve(addr: &str) -> std::io::Result<(String, rpyc::server::ShutdownHandle)> {
    // Ping a client that has been silent for 5 s; close it if it then answers nothing in 10 s.
    let mut config = Config::default();
    config.ping_interval = Some(Duration::from_secs(5));
    config.ping_timeout = Duration::from_secs(10);
    let server = Server::bind(addr)
        .await?
        .config(config)
        .grace_period(Duration::ZERO);
    let bound = server.local_addr().expect("a TCP server").to_string();
    let stop = server.shutdown_handle();
    tokio::spawn(server.serve(CalculatorService::new));
    Ok((bound, stop))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (addr, stop) = serve("127.0.0.1:0").await?;
    println!("server on {addr}");

    let client = Reconnecting::tcp(addr.clone()).backoff(Backoff {
        min: Duration::from_millis(50),
        max: Duration::from_secs(2),
        ..Backoff::default()
    });
    let sum = client.call("add", (2, 3)).await?;
    println!("add(2, 3) = {sum:?} (connected lazily, at the first call)");

    // Why the connection ends, as a future and as a hook.
    let conn = client.connection().await?;
    conn.on_close(|reason| println!("on_close: {reason}"));
    let ended = tokio::spawn(conn.closed());
    let old_root = client.root().await?;

    stop.shutdown();
    println!("closed(): {}", ended.await?);
    // While the server is down, a plain call fails at once with a clear error.
    match client.call("add", (1, 1)).await {
        Ok(v) => println!("unexpected answer {v:?}"),
        Err(e) => println!("while down: {e}"),
    }

    // The server comes back on the same port; an idempotent call waits for it and retries.
    let restart = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        serve(&addr).await
    });
    let sum = client.call_idempotent("add", (40, 2)).await?;
    println!("after the restart: add(40, 2) = {sum:?}");

    // A reference from the old connection never reaches the new server.
    match old_root.call_method("add", (1, 1)).await {
        Ok(v) => println!("unexpected answer {v:?}"),
        Err(e) => println!("old reference: {e}"),
    }
    let (_, stop) = restart.await??;
    stop.shutdown();
    Ok(())
}
