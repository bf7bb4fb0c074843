//! A connection's life: ping, timeouts (configured and per call), a worker that serves its
//! master with `serve_all`, and a clean close.
//!
//! ```text
//! cargo run --example lifecycle
//! ```

use std::sync::Arc;
use std::time::Duration;

use rpyc::{Config, Connection, Error, Printable, RemoteException, Value};

/// What the worker offers to its master.
struct WorkerService;

#[rpyc::service]
impl WorkerService {
    /// Quick work.
    #[exposed]
    fn square(&self, x: i64) -> i64 {
        x * x
    }

    /// Slow work: waits `seconds`, then answers.
    #[exposed]
    async fn slow(&self, seconds: f64) -> Result<f64, RemoteException> {
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        Ok(seconds)
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    // The "master" listens; the worker connects and serves the master's requests until the
    // master hangs up — the way an RPyC worker process serves its master.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let worker = tokio::spawn(async move {
        let conn = rpyc::connect_with(addr, Arc::new(WorkerService), Config::default()).await?;
        conn.serve_all().await; // returns when the master closes the connection
        println!(
            "worker: master hung up ({})",
            Printable(conn.close_reason().unwrap_or_default())
        );
        Ok::<(), Error>(())
    });

    // Requests time out after 300 ms unless a call says otherwise.
    let config = Config::builder()
        .sync_request_timeout(Some(Duration::from_millis(300)))
        .build();
    let (stream, _) = listener.accept().await.expect("accept");
    let master = Connection::new(stream, Arc::new(rpyc::VoidService), config);
    let worker_root = master.root().await?;

    // Ping: RPyC's default payload, echoed (fails with Error::PingMismatch or a timeout).
    master.ping().await?;
    master
        .ping_with(Value::bytes(&b"any data"[..]), Some(Duration::from_secs(1)))
        .await?;
    println!("master: ping ok");

    println!(
        "master: square(12) = {}",
        Printable(worker_root.call_method("square", (12,)).await?)
    );

    // The configured timeout: a distinct error, and the connection stays usable.
    match worker_root.call_method("slow", (1.0,)).await {
        Err(Error::Timeout(after)) => println!("master: slow(1.0) timed out after {after:?}"),
        other => println!("master: unexpected {other:?}"),
    }
    // Per call: wait as long as it takes (None), or set another limit (Some(d)).
    let patient = worker_root.with_timeout(None);
    println!(
        "master: slow(0.5) with no timeout = {}",
        Printable(patient.call_method("slow", (0.5,)).await?)
    );

    // serve()/poll_all() report whether messages were served (the reader task serves them).
    let served = master.poll_all(Duration::from_millis(50)).await;
    println!("master: anything served in the last 50 ms? {served}");

    // Close: clean and idempotent; later calls fail with Error::ConnectionClosed.
    master.close().await?;
    master.close().await?;
    match worker_root.call_method("square", (2,)).await {
        Err(Error::ConnectionClosed(why)) => {
            println!(
                "master: after close: connection closed ({})",
                Printable(why)
            )
        }
        other => println!("master: unexpected {other:?}"),
    }
    worker.await.expect("worker task")?;
    Ok(())
}
