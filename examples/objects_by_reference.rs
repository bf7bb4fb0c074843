//! Objects by reference: a service method returns an `#[rpyc::object]`; the client gets a
//! `NetRef` to it, reads its attributes, calls its methods and sets attributes (through a
//! custom `#[rpyc(setattr)]` hook). Dropping the last `NetRef` releases the object on the
//! server, which `Connection::object_count` shows.
//!
//! ```text
//! cargo run --example objects_by_reference
//! ```
//!
//! Both sides run in this process, over an in-memory stream (`rpyc::connect_pair_with`).

use std::sync::Mutex;

use rpyc::{Printable, RemoteException, Value};

/// A bank account, living on the server; clients only ever hold references to it.
struct Account {
    state: Mutex<AccountState>,
}

struct AccountState {
    owner: String,
    balance: i64,
}

#[rpyc::object(name = "bank.Account")]
impl Account {
    /// `acct.owner`: a data attribute, read on every access.
    #[exposed(attr)]
    fn owner(&self) -> String {
        self.state.lock().unwrap().owner.clone()
    }

    /// `acct.balance`.
    #[exposed(attr)]
    fn balance(&self) -> i64 {
        self.state.lock().unwrap().balance
    }

    /// `acct.deposit(amount)`: returns the new balance.
    #[exposed]
    fn deposit(&self, amount: i64) -> Result<i64, RemoteException> {
        if amount <= 0 {
            return Err(RemoteException::value_error("deposit must be positive"));
        }
        let mut st = self.state.lock().unwrap();
        st.balance += amount;
        Ok(st.balance)
    }

    /// `acct.x = v` from the client. Only `owner` may be set, and only to a str; the hook
    /// replaces the access policy for setattr, so it checks the name itself.
    #[rpyc(setattr)]
    fn set_attribute(&self, name: &str, value: Value) -> Result<(), RemoteException> {
        match (name, value) {
            ("owner", Value::Str(s)) => {
                self.state.lock().unwrap().owner = s;
                Ok(())
            }
            ("owner", other) => Err(RemoteException::type_error(format!(
                "owner must be a str, not {}",
                other.type_name()
            ))),
            (other, _) => Err(RemoteException::attribute_error(format!(
                "cannot set attribute '{other}'"
            ))),
        }
    }

    /// `repr(acct)`.
    #[rpyc(repr)]
    fn show(&self) -> String {
        let st = self.state.lock().unwrap();
        format!("<Account {} balance={}>", st.owner, st.balance)
    }
}

struct BankService;

#[rpyc::service]
impl BankService {
    /// Returns a new `Account`: an `#[rpyc::object]` type is sent by reference.
    #[exposed]
    fn open_account(&self, owner: String) -> Account {
        Account {
            state: Mutex::new(AccountState { owner, balance: 0 }),
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), rpyc::Error> {
    let (client, server) = rpyc::connect_pair_with(BankService, rpyc::Config::default()).await;
    let root = client.root().await?;
    // `object_count` on the server: the local objects its peer holds references to (the
    // service root included).
    println!(
        "server objects held by the client: {}",
        server.object_count()
    );

    let acct: rpyc::NetRef = root
        .call_method("open_account", ("ann",))
        .await?
        .extract()?;
    println!(
        "got {} of type {}",
        Printable(acct.repr().await?),
        Printable(acct.type_name())
    );
    println!(
        "server objects held by the client: {}",
        server.object_count()
    );

    // Attributes and methods.
    let owner: String = acct.attr("owner").await?;
    println!(
        "owner = {owner:?}, balance = {}",
        acct.attr::<i64>("balance").await?
    );
    let balance: i64 = acct.call_method("deposit", (100,)).await?.extract()?;
    println!("deposit(100) -> {balance}");
    if let Err(e) = acct.call_method("deposit", (-5,)).await {
        println!("deposit(-5) raised {}", Printable(&e));
    }

    // setattr goes through the object's hook.
    acct.setattr("owner", "bob").await?;
    println!("after setattr: {}", Printable(acct.repr().await?));
    for (name, value) in [("owner", Value::Int(1)), ("balance", Value::Int(1_000_000))] {
        let err = acct.setattr(name, value).await.unwrap_err();
        println!("setattr({name:?}) raised {}", Printable(&err));
    }

    // Many references, then dropping them all: the server forgets each object once the
    // client's last reference to it is gone. (A clone of a NetRef shares one reference.)
    let mut accounts = Vec::new();
    for i in 0..10 {
        let a: rpyc::NetRef = root
            .call_method("open_account", (format!("customer {i}"),))
            .await?
            .extract()?;
        accounts.push(a);
    }
    let alias = acct.clone();
    println!("server objects with 11 accounts: {}", server.object_count());
    drop(accounts);
    drop(acct);
    // The releases are sent without waiting; a round trip makes sure they were handled.
    client.ping().await?;
    println!(
        "after dropping 10 (one still aliased): {}; {} is still usable",
        server.object_count(),
        Printable(alias.repr().await?)
    );
    drop(alias);
    client.ping().await?;
    println!("after dropping the last one: {}", server.object_count());

    client.close().await?;
    Ok(())
}
