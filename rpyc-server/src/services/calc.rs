//! The `calc` service (`CALCULATOR`): `add`, `multiply`, and a per-connection history.

use parking_lot::Mutex;
use rpyc_core::{RemoteException, Value};

use super::num;

/// The README's demo service: arithmetic with a history of results per connection.
#[derive(Debug, Default)]
pub struct CalculatorService {
    history: Mutex<Vec<Value>>,
}

impl CalculatorService {
    /// A fresh calculator with an empty history (the server makes one per connection).
    pub fn new() -> Self {
        Self::default()
    }

    fn record(&self, r: Result<Value, RemoteException>) -> Result<Value, RemoteException> {
        if let Ok(v) = &r {
            self.history.lock().push(v.clone());
        }
        r
    }
}

#[rpyc_macros::service(name = "rpyc_rs.CalculatorService", aliases = ["CALCULATOR"], crate = ::rpyc_netref)]
impl CalculatorService {
    /// `a + b` (exact for ints of any size). Cheap: runs on the runtime.
    #[exposed(inline)]
    fn add(&self, a: Value, b: Value) -> Result<Value, RemoteException> {
        self.record(num::add(a, b))
    }

    /// `a * b`.
    #[exposed]
    fn multiply(&self, a: Value, b: Value) -> Result<Value, RemoteException> {
        self.record(num::multiply(a, b))
    }

    /// The results computed so far on this connection, as a tuple.
    #[exposed]
    fn get_history(&self) -> Value {
        Value::Tuple(self.history.lock().clone())
    }
}
