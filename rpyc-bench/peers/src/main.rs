//! `rpyc-bench-peers`: the peer RPC stacks that rpyc-bench compares rpyc-rs with (tarpc,
//! capnp-rpc, remoc), each as a server and as a client driver speaking rpyc-bench's
//! JSON-lines protocol. It is its own workspace, built only by `rpyc-bench --peers`.
//!
//! ```text
//! rpyc-bench-peers server --stack tarpc|capnp|remoc [--host 127.0.0.1] [--port 0]
//! rpyc-bench-peers client --stack tarpc|capnp|remoc
//! ```
//!
//! The server prints `listening on HOST:PORT` (one line, flushed) and serves until killed;
//! the client reads commands on stdin and answers on stdout (see [`driver`]).
//!
//! | module          | what                                                      |
//! |-----------------|-----------------------------------------------------------|
//! | `driver`        | the JSON-lines client driver and the scenarios            |
//! | `measure`       | latency / in-flight / many-clients loops                  |
//! | `tarpc_stack`   | tarpc, serde transport, bincode 1.3 codec                 |
//! | `capnp_stack`   | capnp-rpc, two-party over TCP                             |
//! | `remoc_stack`   | remoc `rtc` + `rfn`, Postbag codec                        |
//! | `bench_capnp`   | the Rust code `capnpc` generated for `schema/bench.capnp` |

mod capnp_stack;
mod driver;
mod measure;
mod remoc_stack;
mod tarpc_stack;

#[rustfmt::skip]
#[allow(clippy::all, unused, unsafe_code, missing_docs)]
mod bench_capnp;

use std::io::Write;

use tokio::net::TcpListener;

/// The error type of the crate: anything displayable, across threads.
pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const USAGE: &str = "usage: rpyc-bench-peers server --stack tarpc|capnp|remoc \
                     [--host 127.0.0.1] [--port 0]\n       \
                     rpyc-bench-peers client --stack tarpc|capnp|remoc";

/// The three stacks.
#[derive(Clone, Copy)]
enum Which {
    Tarpc,
    Capnp,
    Remoc,
}

struct Args {
    server: bool,
    stack: Which,
    host: String,
    port: u16,
}

fn parse_args() -> Res<Args> {
    let mut it = std::env::args().skip(1);
    let server = match it.next().as_deref() {
        Some("server") => true,
        Some("client") => false,
        _ => return Err(USAGE.into()),
    };
    let (mut stack, mut host, mut port) = (None, "127.0.0.1".to_string(), 0u16);
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{a} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--stack" => {
                stack = Some(match value()?.as_str() {
                    "tarpc" => Which::Tarpc,
                    "capnp" => Which::Capnp,
                    "remoc" => Which::Remoc,
                    other => return Err(format!("unknown stack {other}\n{USAGE}").into()),
                })
            }
            "--host" => host = value()?,
            "--port" => port = value()?.parse()?,
            other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
        }
    }
    let stack = stack.ok_or_else(|| format!("--stack is required\n{USAGE}"))?;
    Ok(Args {
        server,
        stack,
        host,
        port,
    })
}

fn main() {
    let r = parse_args().and_then(|args| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        if args.server {
            rt.block_on(serve(&args))
        } else {
            client(&rt, args.stack)
        }
    });
    if let Err(e) = r {
        eprintln!("rpyc-bench-peers: {e}");
        std::process::exit(2);
    }
}

/// Binds, says where, and serves the stack until killed.
async fn serve(args: &Args) -> Res<()> {
    let listener = TcpListener::bind((args.host.as_str(), args.port)).await?;
    let addr = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {addr}")?;
        out.flush()?;
    }
    match args.stack {
        Which::Tarpc => tarpc_stack::serve(listener).await,
        Which::Remoc => remoc_stack::serve(listener).await,
        // capnp-rpc's objects are !Send: all its connections share one LocalSet.
        Which::Capnp => {
            tokio::task::LocalSet::new()
                .run_until(capnp_stack::serve(listener))
                .await
        }
    }
}

/// Answers the commands on stdin, one at a time, on the runtime's threads (capnp's inside a
/// `LocalSet` on this thread).
fn client(rt: &tokio::runtime::Runtime, stack: Which) -> Res<()> {
    driver::serve_stdin(|cmd| match stack {
        Which::Tarpc => rt.block_on(driver::run::<tarpc_stack::Tarpc>(cmd)),
        Which::Remoc => rt.block_on(driver::run::<remoc_stack::Remoc>(cmd)),
        Which::Capnp => {
            let local = tokio::task::LocalSet::new();
            rt.block_on(local.run_until(driver::run::<capnp_stack::Capnp>(cmd)))
        }
    })
}
