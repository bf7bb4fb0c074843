//! capnp-rpc, two-party over TCP (`twoparty::VatNetwork`, Cap'n Proto's standard framing):
//! the `Bench` interface of `schema/bench.capnp`, whose `call` takes a `Callback`
//! capability that the server calls back. capnp-rpc's objects are `!Send`, so, as its
//! examples do, the server runs every connection on one `LocalSet` and the client runs in
//! the driver's `LocalSet`.

use bytes::Bytes;
use capnp::capability::Rc;
use capnp_rpc::rpc_twoparty_capnp::Side;
use capnp_rpc::{twoparty, RpcSystem};
use futures::io::{BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};

use crate::bench_capnp::{bench, callback};
use crate::driver::Stack;
use crate::Res;

/// The server's object: `add`, `echo`, and `call`, which calls the client's capability.
struct BenchImpl;

impl bench::Server for BenchImpl {
    async fn add(
        self: Rc<Self>,
        params: bench::AddParams,
        mut results: bench::AddResults,
    ) -> Result<(), capnp::Error> {
        let p = params.get()?;
        results.get().set_sum(p.get_a().wrapping_add(p.get_b()));
        Ok(())
    }

    async fn echo(
        self: Rc<Self>,
        params: bench::EchoParams,
        mut results: bench::EchoResults,
    ) -> Result<(), capnp::Error> {
        results.get().set_data(params.get()?.get_data()?);
        Ok(())
    }

    async fn call(
        self: Rc<Self>,
        params: bench::CallParams,
        mut results: bench::CallResults,
    ) -> Result<(), capnp::Error> {
        let p = params.get()?;
        let mut req = p.get_f()?.call_request();
        req.get().set_x(p.get_x());
        let answer = req.send().promise.await?;
        results.get().set_result(answer.get()?.get_result());
        Ok(())
    }
}

/// The client's callback: `f(x) = x`.
struct Identity;

impl callback::Server for Identity {
    async fn call(
        self: Rc<Self>,
        params: callback::CallParams,
        mut results: callback::CallResults,
    ) -> Result<(), capnp::Error> {
        results.get().set_result(params.get()?.get_x());
        Ok(())
    }
}

/// The RPC system of one TCP connection, for `side`.
fn rpc_system(
    stream: TcpStream,
    side: Side,
    bootstrap: Option<capnp::capability::Client>,
) -> RpcSystem<Side> {
    let (r, w) = stream.into_split();
    let network = twoparty::VatNetwork::new(
        BufReader::new(r.compat()),
        BufWriter::new(w.compat_write()),
        side,
        capnp::message::ReaderOptions::default(),
    );
    RpcSystem::new(Box::new(network), bootstrap)
}

/// Serves every connection accepted on `listener`, each in its own local task; must run
/// inside a `LocalSet`.
pub async fn serve(listener: TcpListener) -> Res<()> {
    let bench: bench::Client = capnp_rpc::new_client(BenchImpl);
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let rpc = rpc_system(stream, Side::Server, Some(bench.clone().client));
        tokio::task::spawn_local(async move {
            // A connection's end (or error) concerns that connection only.
            let _ = rpc.await;
        });
    }
}

/// The capnp-rpc stack for the driver (run inside a `LocalSet`).
pub struct Capnp;

/// A client connection: the server's bootstrap capability and the connection's disconnector.
pub struct Conn {
    bench: bench::Client,
    disconnect: capnp_rpc::Disconnector<Side>,
}

impl Stack for Capnp {
    const NAME: &'static str = "capnp";
    type Conn = Conn;
    type Callback = callback::Client;

    async fn connect(addr: &str) -> Res<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut rpc = rpc_system(stream, Side::Client, None);
        let bench: bench::Client = rpc.bootstrap(Side::Server);
        let disconnect = rpc.get_disconnector();
        tokio::task::spawn_local(async move {
            let _ = rpc.await;
        });
        Ok(Conn { bench, disconnect })
    }

    async fn add(conn: &Conn, a: i64, b: i64) -> Res<i64> {
        let mut req = conn.bench.add_request();
        let mut p = req.get();
        p.set_a(a);
        p.set_b(b);
        Ok(req.send().promise.await?.get()?.get_sum())
    }

    async fn echo(conn: &Conn, data: &Bytes) -> Res<usize> {
        let mut req = conn.bench.echo_request();
        req.get().set_data(data);
        Ok(req.send().promise.await?.get()?.get_data()?.len())
    }

    fn callback(_: &Conn) -> Res<callback::Client> {
        Ok(capnp_rpc::new_client(Identity))
    }

    async fn call(conn: &Conn, f: &callback::Client, x: i64) -> Res<i64> {
        let mut req = conn.bench.call_request();
        let mut p = req.get();
        p.set_f(f.clone());
        p.set_x(x);
        Ok(req.send().promise.await?.get()?.get_result())
    }

    async fn close(conn: Conn) {
        drop(conn.bench);
        let _ = conn.disconnect.await;
    }
}
