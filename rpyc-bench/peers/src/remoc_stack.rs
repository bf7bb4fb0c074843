//! remoc over TCP: the `Bench` remote trait (`rtc`), served with `BenchServerShared` and
//! handed to the client at connect time (`Connect::io(…).provide` / `consume`), with remoc's
//! default configuration and default codec (Postbag). `call` takes a remote function
//! (`rfn::RFn`) that runs on the client.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures::Future;
use remoc::prelude::*;
use remoc::rtc::CallError;
use tokio::net::{TcpListener, TcpStream};

use crate::driver::{expect, Stack};
use crate::{measure, Res};

/// The client's callback: a remote function of one `i64`.
pub type Callback = rfn::RFn<(i64,), Result<i64, rfn::CallError>>;

/// What `call` can fail with: the call itself, or the callback's call back.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub enum CallBackError {
    /// The call to the server failed.
    Call(CallError),
    /// The server's call of the client's callback failed.
    Callback(rfn::CallError),
}

impl From<CallError> for CallBackError {
    fn from(e: CallError) -> Self {
        CallBackError::Call(e)
    }
}

impl From<rfn::CallError> for CallBackError {
    fn from(e: rfn::CallError) -> Self {
        CallBackError::Callback(e)
    }
}

impl std::fmt::Display for CallBackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallBackError::Call(e) => write!(f, "{e}"),
            CallBackError::Callback(e) => write!(f, "callback: {e}"),
        }
    }
}

impl std::error::Error for CallBackError {}

/// The benchmark service, as a remoc remote trait.
#[rtc::remote]
pub trait Bench {
    /// `a + b`.
    async fn add(&self, a: i64, b: i64) -> Result<i64, CallError>;
    /// The same bytes back (`Bytes` is serialized as one byte string).
    async fn echo(&self, data: Bytes) -> Result<Bytes, CallError>;
    /// Calls the client's `f(x)` and returns its result.
    async fn call(&self, f: Callback, x: i64) -> Result<i64, CallBackError>;
}

/// The server's object.
struct BenchObj;

impl Bench for BenchObj {
    async fn add(&self, a: i64, b: i64) -> Result<i64, CallError> {
        Ok(a.wrapping_add(b))
    }

    async fn echo(&self, data: Bytes) -> Result<Bytes, CallError> {
        Ok(data)
    }

    async fn call(&self, f: Callback, x: i64) -> Result<i64, CallBackError> {
        Ok(f.call(x).await?)
    }
}

/// Serves every connection accepted on `listener`, each in its own task with its own
/// `BenchServerShared` (calls of a connection run concurrently, remoc's default parallelism).
pub async fn serve(listener: TcpListener) -> Res<()> {
    let obj = Arc::new(BenchObj);
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let obj = obj.clone();
        tokio::spawn(async move {
            let (rx, tx) = stream.into_split();
            let (server, client) = BenchServerShared::<_, remoc::codec::Default>::new(obj);
            if remoc::Connect::io(remoc::Cfg::default(), rx, tx)
                .provide(client)
                .await
                .is_ok()
            {
                // Ends when the client goes; its error concerns this connection only.
                let _ = server.serve().await;
            }
        });
    }
}

/// The remoc stack for the driver.
pub struct Remoc;

impl Stack for Remoc {
    const NAME: &'static str = "remoc";
    type Conn = BenchClient;
    type Callback = Callback;

    async fn connect(addr: &str) -> Res<BenchClient> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (rx, tx) = stream.into_split();
        let client: BenchClient = remoc::Connect::io(remoc::Cfg::default(), rx, tx)
            .consume()
            .await?;
        Ok(client)
    }

    async fn add(conn: &BenchClient, a: i64, b: i64) -> Res<i64> {
        Ok(conn.add(a, b).await?)
    }

    async fn echo(conn: &BenchClient, data: &Bytes) -> Res<usize> {
        Ok(conn.echo(data.clone()).await?.len())
    }

    fn callback(_: &BenchClient) -> Res<Callback> {
        Ok(rfn::RFn::new_1(|x: i64| async move { Ok(x) }))
    }

    async fn call(conn: &BenchClient, f: &Callback, x: i64) -> Res<i64> {
        Ok(conn.call(f.clone(), x).await?)
    }

    fn run_clients(
        conns: Vec<BenchClient>,
        calls: usize,
        deadline: Instant,
    ) -> impl Future<Output = Res<usize>> {
        measure::run_spawned(conns, calls, deadline, |c| async move {
            expect(c.add(1, 2).await?, 3)
        })
    }
}
