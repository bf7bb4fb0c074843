//! The client driver: a long-lived process that reads scenario commands (JSON, one per line)
//! on stdin and answers each with one JSON line on stdout, with the protocol and fields of
//! rpyc-bench's Python driver (`bench_client.py --serve`) and Rust client (`rsclient.rs`):
//!
//! | scenario     | what                                             | answer            |
//! |--------------|--------------------------------------------------|-------------------|
//! | `call`       | `add(1, 2)`, one at a time                       | `median_us`, …    |
//! | `async64`    | `add(1, 2)`, `window` (64) in flight             | `rate`            |
//! | `callback`   | `call(f, 1)`: the server calls the client's `f`  | `median_us`, …    |
//! | `echo`       | `echo(data)`, `size` bytes, `kind` rand or zero  | `mb_per_s`, …     |
//! | `concurrent` | `clients` connections × `calls` `add(1, 2)` each | `rate`            |
//!
//! Every answer carries `"ok"`; a failure is `{"ok": false, "error": …}`, and a scenario the
//! stack cannot express is `{"ok": false, "unsupported": true, "error": …}`. The scenarios
//! are written once here, over [`Stack`], which each stack module implements.

use std::future::Future;
use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{json, Value as Json};

use crate::measure;
use crate::Res;

/// What a stack offers the scenarios: a connection and its three calls.
pub trait Stack {
    /// The stack's name in answers and errors.
    const NAME: &'static str;
    /// Why `call(f, x)` cannot be expressed, for a stack without callbacks.
    const NO_CALLBACKS: Option<&'static str> = None;
    /// One client connection (with TCP_NODELAY set).
    type Conn;

    /// Connects to `addr` (`host:port`).
    fn connect(addr: &str) -> impl Future<Output = Res<Self::Conn>>;
    /// `add(a, b)`.
    fn add(conn: &Self::Conn, a: i64, b: i64) -> impl Future<Output = Res<i64>>;
    /// `echo(data)`, answering how many bytes came back.
    fn echo(conn: &Self::Conn, data: &Bytes) -> impl Future<Output = Res<usize>>;
    /// A callback the server will call, made once per connection.
    type Callback;
    /// Makes the callback `f(x) = x` for `conn`.
    fn callback(conn: &Self::Conn) -> Res<Self::Callback>;
    /// `call(f, x)`: the server calls `f(x)` and returns its result.
    fn call(conn: &Self::Conn, f: &Self::Callback, x: i64) -> impl Future<Output = Res<i64>>;
    /// Runs each client's loop concurrently and answers the total number of calls made. The
    /// default polls them all in the caller's task; stacks whose clients are `Send` spawn
    /// them onto the runtime's threads, as `rsclient.rs` does.
    fn run_clients(
        conns: Vec<Self::Conn>,
        calls: usize,
        deadline: Instant,
    ) -> impl Future<Output = Res<usize>> {
        async move {
            let loops = conns.iter().map(|c| {
                measure::sequential(calls, deadline, move || async move {
                    expect(Self::add(c, 1, 2).await?, 3)
                })
            });
            let mut total = 0;
            for r in futures::future::join_all(loops).await {
                total += r?;
            }
            Ok(total)
        }
    }
    /// Closes a connection (best effort).
    fn close(conn: Self::Conn) -> impl Future<Output = ()> {
        async move { drop(conn) }
    }
}

/// Checks a call's answer.
pub fn expect(got: i64, want: i64) -> Res<()> {
    if got == want {
        Ok(())
    } else {
        Err(format!("expected {want}, got {got}").into())
    }
}

fn param(cmd: &Json, name: &str, default: u64) -> u64 {
    cmd.get(name).and_then(Json::as_u64).unwrap_or(default)
}

fn seconds(cmd: &Json, default: f64) -> Duration {
    Duration::from_secs_f64(cmd.get("seconds").and_then(Json::as_f64).unwrap_or(default))
}

/// The command's `host:port`; only loopback hosts are accepted, as by the other drivers.
fn addr(cmd: &Json) -> Res<String> {
    let host = cmd["host"].as_str().ok_or("host missing")?;
    let port = cmd["port"].as_u64().ok_or("port missing")?;
    if !matches!(host, "127.0.0.1" | "localhost" | "::1") {
        return Err(format!("refusing non-loopback host {host}").into());
    }
    Ok(if host == "::1" {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    })
}

/// The bytes `echo` sends: `size` of them, zeros (`"kind": "zero"`) or incompressible.
fn echo_payload(cmd: &Json) -> Bytes {
    let size = param(cmd, "size", 1 << 20) as usize;
    if cmd.get("kind").and_then(Json::as_str) == Some("zero") {
        Bytes::from(vec![0u8; size])
    } else {
        Bytes::from(random_bytes(size))
    }
}

/// Incompressible bytes (xorshift64*, the generator `rsclient.rs` uses).
fn random_bytes(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ (n as u64);
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(n);
    out
}

/// Runs one scenario command with stack `S`, answering its JSON (with `ok` and `scenario`).
pub async fn run<S: Stack>(cmd: &Json) -> Json {
    let scenario = cmd["scenario"].as_str().unwrap_or("?").to_string();
    if scenario == "callback" {
        if let Some(why) = S::NO_CALLBACKS {
            return json!({"ok": false, "unsupported": true, "scenario": scenario,
                          "stack": S::NAME, "error": why});
        }
    }
    match run_scenario::<S>(cmd, &scenario).await {
        Ok(mut out) => {
            out["ok"] = json!(true);
            out["scenario"] = json!(scenario);
            out["stack"] = json!(S::NAME);
            out
        }
        Err(e) => json!({"ok": false, "scenario": scenario, "stack": S::NAME,
                         "error": format!("{}: {e}", S::NAME)}),
    }
}

async fn run_scenario<S: Stack>(cmd: &Json, scenario: &str) -> Res<Json> {
    let addr = addr(cmd)?;
    let budget = seconds(cmd, 0.5);
    if scenario == "concurrent" {
        let clients = param(cmd, "clients", 100) as usize;
        let calls = param(cmd, "calls", 1000) as usize;
        let mut conns = Vec::with_capacity(clients);
        for _ in 0..clients {
            let c = S::connect(&addr).await?;
            // Each connection answers once before the clock starts, as `root()` does in ours.
            expect(S::add(&c, 1, 2).await?, 3)?;
            conns.push(c);
        }
        let start = Instant::now();
        let total = S::run_clients(conns, calls, start + seconds(cmd, 60.0)).await?;
        let el = start.elapsed().as_secs_f64();
        return Ok(
            json!({"n": total, "elapsed_s": el, "rate": total as f64 / el,
                         "clients": clients, "calls": calls}),
        );
    }
    let conn = S::connect(&addr).await?;
    let c = &conn;
    let n = param(cmd, "n", 20_000) as usize;
    let warmup = param(cmd, "warmup", 50) as usize;
    let out = match scenario {
        "call" => {
            measure::latency(n, budget, warmup, || async move {
                expect(S::add(c, 1, 2).await?, 3)
            })
            .await
        }
        "callback" => {
            let f = S::callback(c)?;
            let f = &f;
            measure::latency(n, budget, warmup, || async move {
                expect(S::call(c, f, 1).await?, 1)
            })
            .await
        }
        "echo" => {
            let data = echo_payload(cmd);
            let d = &data;
            let mut s = measure::latency(n, budget, warmup, || async move {
                let got = S::echo(c, d).await?;
                if got == d.len() {
                    Ok(())
                } else {
                    Err(format!("echo returned {got} of {} bytes", d.len()).into())
                }
            })
            .await;
            if let Ok(s) = &mut s {
                measure::add_mb_per_s(s, data.len());
                s["size"] = json!(data.len());
            }
            s
        }
        "async64" => {
            let width = param(cmd, "window", 64) as usize;
            let n = param(cmd, "n", 100_000) as usize;
            let warmup = param(cmd, "warmup", 2) as usize;
            measure::rate_in_flight(width, n, budget, warmup, || async move {
                expect(S::add(c, 1, 2).await?, 3)
            })
            .await
        }
        other => Err(format!("unknown scenario {other}").into()),
    };
    S::close(conn).await;
    out
}

/// Reads commands from stdin until its end, answering each on stdout; `dispatch` runs one.
pub fn serve_stdin(mut dispatch: impl FnMut(&Json) -> Json) -> Res<()> {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<Json>(line) {
            Ok(cmd) => dispatch(&cmd),
            Err(e) => json!({"ok": false, "error": format!("bad command {line:?}: {e}")}),
        };
        writeln!(out, "{answer}")?;
        out.flush()?;
    }
    Ok(())
}
