//! tarpc over TCP with its serde transport and the bincode codec (bincode 1.3, through
//! `tokio-serde`'s `bincode` feature): the `Bench` service's `add` and `echo`. tarpc has no
//! way to pass a callable to the server, so `callback` is answered as unsupported.

use std::time::Instant;

use bytes::Bytes;
use futures::{Future, StreamExt};
use tarpc::server::{BaseChannel, Channel};
use tarpc::tokio_serde::formats::Bincode;
use tarpc::tokio_util::codec::{Framed, LengthDelimitedCodec};
use tarpc::{client, context, serde_transport};
use tokio::net::{TcpListener, TcpStream};

use crate::driver::{expect, Stack};
use crate::{measure, Res};

/// The largest frame either side accepts: a 1 MiB echo and its envelope fit with room.
const MAX_FRAME: usize = 64 << 20;

/// The benchmark service, as tarpc declares it.
#[tarpc::service]
pub trait Bench {
    /// `a + b`.
    async fn add(a: i64, b: i64) -> i64;
    /// The same bytes back (`Bytes` is serialized as one byte string).
    async fn echo(data: Bytes) -> Bytes;
}

/// The server side of [`Bench`].
#[derive(Clone)]
struct BenchServer;

impl Bench for BenchServer {
    async fn add(self, _: context::Context, a: i64, b: i64) -> i64 {
        a + b
    }

    async fn echo(self, _: context::Context, data: Bytes) -> Bytes {
        data
    }
}

fn framed(stream: TcpStream) -> Framed<TcpStream, LengthDelimitedCodec> {
    let codec = LengthDelimitedCodec::builder()
        .max_frame_length(MAX_FRAME)
        .new_codec();
    Framed::new(stream, codec)
}

/// Serves every connection accepted on `listener`, each in its own task, each request in its
/// own task (tarpc's usual `execute(…).for_each(spawn)`).
pub async fn serve(listener: TcpListener) -> Res<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let transport = serde_transport::new(framed(stream), Bincode::default());
            BaseChannel::with_defaults(transport)
                .execute(BenchServer.serve())
                .for_each(|call| async {
                    tokio::spawn(call);
                })
                .await;
        });
    }
}

/// The tarpc stack for the driver.
pub struct Tarpc;

impl Stack for Tarpc {
    const NAME: &'static str = "tarpc";
    const NO_CALLBACKS: Option<&'static str> = Some("tarpc has no callbacks");
    type Conn = BenchClient;
    type Callback = ();

    async fn connect(addr: &str) -> Res<BenchClient> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let transport = serde_transport::new(framed(stream), Bincode::default());
        Ok(BenchClient::new(client::Config::default(), transport).spawn())
    }

    async fn add(conn: &BenchClient, a: i64, b: i64) -> Res<i64> {
        Ok(conn.add(context::current(), a, b).await?)
    }

    async fn echo(conn: &BenchClient, data: &Bytes) -> Res<usize> {
        Ok(conn.echo(context::current(), data.clone()).await?.len())
    }

    fn callback(_: &BenchClient) -> Res<()> {
        Err("tarpc has no callbacks".into())
    }

    async fn call(_: &BenchClient, _: &(), _: i64) -> Res<i64> {
        Err("tarpc has no callbacks".into())
    }

    fn run_clients(
        conns: Vec<BenchClient>,
        calls: usize,
        deadline: Instant,
    ) -> impl Future<Output = Res<usize>> {
        measure::run_spawned(conns, calls, deadline, |c| async move {
            expect(c.add(context::current(), 1, 2).await?, 3)
        })
    }
}
