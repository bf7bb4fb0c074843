//! Remote context managers and types: Python's `with` block around a Rust body
//! (`NetRef::with_context`), and `isinstance` of remote objects.
//!
//! ```text
//! cargo run --example context_managers
//! ```
//!
//! The server's `Transaction` is a context manager: `__enter__` begins it, `__exit__` commits
//! when the block succeeded and rolls back when it failed. The client runs two Rust bodies
//! inside it, one that succeeds and one that fails; `__exit__` runs both times. Both sides run
//! in this process; the same client code drives a Python `@contextmanager` on a Python server
//! (there `__exit__` sees the error as described in `rpyc::context`).

use std::sync::Mutex;

use rpyc::{Error, NetRef, Printable, Value};

/// A transaction on a shared log of committed entries.
struct Transaction {
    pending: Mutex<Vec<String>>,
    committed: std::sync::Arc<Mutex<Vec<String>>>,
}

#[rpyc::object(name = "bank.Transaction")]
impl Transaction {
    /// Begins; what it returns is the `as` value of the `with` block.
    #[exposed(name = "__enter__")]
    fn enter(&self) -> &'static str {
        "begun"
    }

    /// Adds an entry to the transaction.
    #[exposed]
    fn record(&self, entry: String) {
        self.pending.lock().unwrap().push(entry);
    }

    /// Commits on success, rolls back on failure; never suppresses the error.
    #[exposed(name = "__exit__")]
    fn exit(&self, exc: Value, _typ: Value, _tb: Value) -> bool {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap());
        if exc == Value::None {
            self.committed.lock().unwrap().extend(pending);
        } else {
            // From a Rust client: `(type_name, message)` of the body's error.
            println!(
                "rolled back {} entries: {}",
                pending.len(),
                Printable(&exc.repr())
            );
        }
        false
    }
}

struct Bank {
    committed: std::sync::Arc<Mutex<Vec<String>>>,
}

#[rpyc::service]
impl Bank {
    /// A new transaction, by reference.
    #[exposed]
    fn transaction(&self) -> Transaction {
        Transaction {
            pending: Mutex::new(Vec::new()),
            committed: self.committed.clone(),
        }
    }

    /// What was committed so far.
    #[exposed]
    fn committed(&self) -> Vec<String> {
        self.committed.lock().unwrap().clone()
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let bank = Bank {
        committed: Default::default(),
    };
    let (client, _server) = rpyc::connect_pair_with(bank, rpyc::Config::default()).await;
    let root = client.root().await?;

    // with root.transaction() as state: ... — succeeds, so it commits.
    let tx: NetRef = root.call_method("transaction", ()).await?.extract()?;
    let state = tx
        .with_context(|state| {
            let tx = tx.clone();
            async move {
                tx.call_method("record", ("deposit 10",)).await?;
                tx.call_method("record", ("withdraw 3",)).await?;
                Ok::<_, Error>(state.extract::<String>()?)
            }
        })
        .await?;
    println!("body saw {state:?}");

    // A body that fails: rolled back, and the body's own error comes back unchanged.
    let tx: NetRef = root.call_method("transaction", ()).await?.extract()?;
    let err = tx
        .with_context(|_| {
            let tx = tx.clone();
            async move {
                tx.call_method("record", ("withdraw 1000",)).await?;
                Err::<(), _>(Error::Protocol("insufficient funds".into()))
            }
        })
        .await
        .unwrap_err();
    println!("body failed: {}", Printable(&err.to_string()));

    let committed: Vec<String> = root.call_method("committed", ()).await?.extract()?;
    println!("committed: {committed:?}");
    assert_eq!(committed, ["deposit 10", "withdraw 3"]);

    // Types: decided from the id pack, with no request.
    println!(
        "{} is a bank.Transaction: {}, an object: {}, a list: {}",
        tx.type_name(),
        tx.is_instance_of("bank.Transaction"),
        tx.is_instance_of("object"),
        tx.is_instance_of("list"),
    );
    client.close().await
}
