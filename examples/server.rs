//! A server: define a service with `#[rpyc::service]` and serve it over TCP.
//!
//! ```text
//! cargo run --example server                  # 127.0.0.1:18861
//! cargo run --example server 127.0.0.1:0      # any free port
//! ```
//!
//! Then talk to it with `cargo run --example client`, or from Python:
//!
//! ```text
//! >>> import rpyc
//! >>> conn = rpyc.connect("127.0.0.1", 18861)
//! >>> conn.root.add(2, 3), conn.root.multiply(6, 7), conn.root.get_history()
//! (5, 42, (5, 42))
//! ```
//!
//! Ctrl-C stops it gracefully (calls in flight get a moment to finish).

use std::sync::Mutex;

use rpyc::{Connection, RemoteException};

/// The service: one instance per connection, so each client has its own history.
#[derive(Default)]
struct CalculatorService {
    history: Mutex<Vec<i64>>,
}

impl CalculatorService {
    fn record(&self, result: i64) -> i64 {
        self.history.lock().unwrap().push(result);
        result
    }
}

// Without `aliases`, the service is named after the type: `CalculatorService` → `CALCULATOR`.
#[rpyc::service]
impl CalculatorService {
    /// `conn.root.add(a, b)`; Python sees a `TypeError` if an argument is not an int.
    #[exposed]
    fn add(&self, a: i64, b: i64) -> i64 {
        self.record(a + b)
    }

    /// `conn.root.multiply(a, b)`; an error result is raised on the caller's side.
    #[exposed]
    fn multiply(&self, a: i64, b: i64) -> Result<i64, RemoteException> {
        let p = a
            .checked_mul(b)
            .ok_or_else(|| RemoteException::overflow_error("result does not fit in 64 bits"))?;
        Ok(self.record(p))
    }

    /// The results so far on this connection (a tuple on the Python side).
    #[exposed]
    fn get_history(&self) -> Vec<i64> {
        self.history.lock().unwrap().clone()
    }

    /// A data attribute: `conn.root.version` reads it (no call).
    #[exposed(attr)]
    fn version(&self) -> String {
        "1.0".to_string()
    }

    /// Not marked: no client can reach it, whatever its configuration (and no `dead_code`
    /// warning: the macro knows it is left out on purpose).
    fn internal(&self) {}

    #[on_connect]
    fn connected(&self, conn: &Connection) {
        println!("client connected (connection {})", conn.id());
    }

    #[on_disconnect]
    fn disconnected(&self, conn: &Connection) {
        println!("client gone (connection {})", conn.id());
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18861".to_string());

    let server = rpyc::Server::bind(addr.as_str()).await?;
    println!(
        "listening on {}",
        server.local_addr().expect("a TCP address")
    );

    // Stop on Ctrl-C.
    let stop = server.shutdown_handle();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            println!("shutting down");
            stop.shutdown();
        }
    });

    // A fresh service for every connection.
    server.serve(CalculatorService::default).await
}
