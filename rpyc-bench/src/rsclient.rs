//! The Rust client side of each scenario, run in the harness's own tokio runtime (what a user
//! of rpyc-rs writes), taking the same JSON command as the Python driver and answering the
//! same JSON fields.

use std::collections::VecDeque;
use std::future::Future;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rpyc_core::Value;
use rpyc_netref::{Args, Callback, Connection, NetRef};
use serde_json::{json, Value as Json};

use crate::stats::Latencies;
use crate::Res;

fn param(cmd: &Json, name: &str, default: u64) -> u64 {
    cmd.get(name).and_then(Json::as_u64).unwrap_or(default)
}

fn seconds(cmd: &Json, default: f64) -> Duration {
    Duration::from_secs_f64(cmd.get("seconds").and_then(Json::as_f64).unwrap_or(default))
}

fn addr(cmd: &Json) -> Res<String> {
    let host = cmd["host"].as_str().ok_or("host missing")?;
    let port = cmd["port"].as_u64().ok_or("port missing")?;
    if !matches!(host, "127.0.0.1" | "localhost" | "::1") {
        return Err(format!("refusing non-loopback host {host}").into());
    }
    Ok(format!("{host}:{port}"))
}

/// Runs one scenario command.
pub async fn run(cmd: &Json) -> Res<Json> {
    let scenario = cmd["scenario"].as_str().ok_or("scenario missing")?;
    let addr = addr(cmd)?;
    let mut out = match scenario {
        "concurrent" => concurrent(cmd, &addr).await?,
        _ => {
            let conn = rpyc_netref::connect(addr.as_str()).await?;
            let r = with_conn(cmd, scenario, &conn).await;
            let _ = conn.close().await;
            r?
        }
    };
    out["ok"] = json!(true);
    out["scenario"] = json!(scenario);
    Ok(out)
}

/// `rpyc-bench client JSON`: runs the command `json` in a spawned task (as the harness does)
/// and adds this process's CPU time per operation (`client_cpu_us_per_op`).
pub async fn run_alone(json: &str) -> Res<Json> {
    let cmd: Json = serde_json::from_str(json)?;
    let cpu0 = crate::procs::threads_cpu_ns(None)?;
    let mut out = tokio::spawn(async move { run(&cmd).await }).await??;
    let cpu = crate::procs::threads_cpu_ns(None)?.saturating_sub(cpu0);
    if let Some(n) = out["n"].as_f64().filter(|n| *n > 0.0) {
        out["client_cpu_us_per_op"] = json!(cpu as f64 / 1e3 / n);
    }
    Ok(out)
}

async fn with_conn(cmd: &Json, scenario: &str, conn: &Connection) -> Res<Json> {
    let root = conn.root().await?;
    let root = &root;
    let n = param(cmd, "n", 20_000) as usize;
    let budget = seconds(cmd, 0.5);
    let warmup = param(cmd, "warmup", 50) as usize;
    Ok(match scenario {
        "call" | "call_typed" | "call_sync" | "ping" | "getattr" | "callback" => {
            let op = LatOp::new(scenario, root)?;
            let op = &op;
            timed(n, budget, warmup, || op.run(conn, root))
                .await?
                .summary()
        }
        "echo" => {
            let data = echo_payload(cmd);
            let data = &data;
            let lat = timed(n, budget, warmup, || echo_once(root, data)).await?;
            let mut s = lat.summary();
            add_mb_per_s(&mut s, data.len());
            s
        }
        "async64" => {
            let window = param(cmd, "window", 64) as usize;
            let n = param(cmd, "n", 100_000) as usize;
            for _ in 0..param(cmd, "warmup", 2) {
                async_window(root, window, window, None).await?;
            }
            let start = Instant::now();
            let done = async_window(root, window, n, Some(start + budget)).await?;
            let el = start.elapsed().as_secs_f64();
            json!({"n": done, "elapsed_s": el, "rate": done as f64 / el})
        }
        "objects" => {
            let n = param(cmd, "n", 10_000) as usize;
            for _ in 0..warmup.min(10) {
                drop(root.call_method("make_counter", ()).await?);
            }
            let start = Instant::now();
            let mut done = 0usize;
            while done < n {
                // Created on the server, proxied here, released (DEL) when dropped.
                let c = root.call_method("make_counter", ()).await?;
                drop(c);
                done += 1;
                if start.elapsed() > budget {
                    break;
                }
            }
            conn.ping().await?; // the last DEL has been handled
            let el = start.elapsed().as_secs_f64();
            json!({"n": done, "elapsed_s": el, "rate": done as f64 / el})
        }
        other => return Err(format!("unknown scenario {other}").into()),
    })
}

/// `clients` connections, each making `calls` sequential `add(1, 2)` calls at once.
async fn concurrent(cmd: &Json, addr: &str) -> Res<Json> {
    let clients = param(cmd, "clients", 100) as usize;
    let calls = param(cmd, "calls", 1000) as usize;
    let budget = seconds(cmd, 60.0);
    let mut conns = Vec::with_capacity(clients);
    for _ in 0..clients {
        let c = rpyc_netref::connect(addr).await?;
        let root = c.root().await?;
        conns.push((c, root));
    }
    let start = Instant::now();
    let deadline = start + budget;
    let mut tasks = tokio::task::JoinSet::new();
    for (_, root) in &conns {
        let root = root.clone();
        tasks.spawn(async move {
            let mut done = 0usize;
            for _ in 0..calls {
                expect_int(root.call_method("add", (1i64, 2i64)).await?, 3)?;
                done += 1;
                if Instant::now() > deadline {
                    break;
                }
            }
            Ok::<_, crate::Error>(done)
        });
    }
    let mut total = 0usize;
    while let Some(r) = tasks.join_next().await {
        total += r??;
    }
    let el = start.elapsed().as_secs_f64();
    for (c, _) in &conns {
        let _ = c.close().await;
    }
    Ok(
        json!({"n": total, "elapsed_s": el, "rate": total as f64 / el,
              "clients": clients, "calls": calls}),
    )
}

/// Opens `n` connections, pinging each once, and returns them (held open by the caller).
pub async fn open_idle(cmd: &Json) -> Res<Vec<Connection>> {
    let addr = addr(cmd)?;
    let n = param(cmd, "n", 1000) as usize;
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        let c = rpyc_netref::connect(addr.as_str()).await?;
        c.ping().await?;
        conns.push(c);
    }
    Ok(conns)
}

/// Runs `op` `warmup` times, then up to `n` times or until `budget` has passed.
async fn timed<F, Fut>(n: usize, budget: Duration, warmup: usize, mut op: F) -> Res<Latencies>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Res<()>>,
{
    for _ in 0..warmup {
        op().await?;
    }
    let mut lat = Latencies::with_capacity(n);
    // One clock read per operation: its end is the next one's start and the budget check.
    let start = Instant::now();
    let mut last = start;
    for _ in 0..n {
        op().await?;
        let now = Instant::now();
        lat.push(now - last);
        last = now;
        if now - start > budget {
            break;
        }
    }
    lat.elapsed = last - start;
    Ok(lat)
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

/// One `root.echo(data)`, checking that as many bytes came back.
async fn echo_once(root: &NetRef, data: &Bytes) -> Res<()> {
    match root
        .call_method("echo", (Value::Bytes(data.clone()),))
        .await?
    {
        Value::Bytes(b) if b.len() == data.len() => Ok(()),
        other => Err(format!("echo returned {}", other.type_name()).into()),
    }
}

/// Adds the throughput of echoing `size` bytes at the summary's median latency.
fn add_mb_per_s(summary: &mut Json, size: usize) {
    if let Some(med) = summary.get("median_us").and_then(Json::as_f64) {
        summary["mb_per_s"] = json!(size as f64 / (med / 1e6) / 1e6);
    }
}

fn expect_int(v: Value, want: i64) -> Res<()> {
    match v {
        Value::Int(i) if i == want => Ok(()),
        other => Err(format!("expected {want}, got {}", other.repr()).into()),
    }
}

/// Incompressible bytes (xorshift64*; no need for a cryptographic source).
pub fn random_bytes(n: usize) -> Vec<u8> {
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

/// The operation of a latency scenario.
/// The test service's `add`, as a typed client sees it (scenario (1t)).
#[rpyc_macros::remote(crate = ::rpyc_netref)]
pub trait Adder {
    /// `a + b`.
    fn add(&self, a: i64, b: i64) -> rpyc_netref::Result<i64>;
}

enum LatOp {
    Call,
    /// `add(1, 2)` through the typed client of [`Adder`].
    CallTyped(AdderClient),
    /// `block(0)`: a synchronous method, run on the server's blocking pool.
    CallSync,
    Ping,
    GetAttr,
    Callback(Value),
}

impl LatOp {
    fn new(scenario: &str, root: &NetRef) -> Res<LatOp> {
        Ok(match scenario {
            "call" => LatOp::Call,
            "call_typed" => LatOp::CallTyped(AdderClient::from_netref(root.clone())),
            "call_sync" => LatOp::CallSync,
            "ping" => LatOp::Ping,
            "getattr" => LatOp::GetAttr,
            "callback" => {
                LatOp::Callback(Callback::sync(|mut a: Args| a.take::<i64>(0, "x")).into_value())
            }
            other => return Err(format!("{other} is not a latency scenario").into()),
        })
    }

    async fn run(&self, conn: &Connection, root: &NetRef) -> Res<()> {
        match self {
            LatOp::Call => expect_int(root.call_method("add", (1i64, 2i64)).await?, 3),
            LatOp::CallTyped(adder) => expect_int(Value::Int(adder.add(1, 2).await?), 3),
            LatOp::CallSync => expect_int(root.call_method("block", (0i64,)).await?, 0),
            LatOp::Ping => Ok(conn.ping().await?),
            LatOp::GetAttr => expect_int(root.getattr("the_answer").await?, 42),
            LatOp::Callback(f) => expect_int(root.call_method("call", (f.clone(), 1i64)).await?, 1),
        }
    }
}

/// Operations per turn of the A B A B … interleaving.
const CHUNK: usize = 8;

/// A scenario of our stack and the raw TCP floor, interleaved in chunks of a few milliseconds
/// within one measurement window, so both see the same machine: the ratio of the two is then
/// meaningful even while the machine's wake-up latency drifts (it does, by 10× within
/// seconds, on a shared VM). `floor` is `floor_rt1` for the latency scenarios, or
/// `floor_64_nw` / `floor_64_1w` for `async64`. Returns (ours, floor) answers.
pub async fn paired(cmd: &Json, floor_addr: &str, floor: &str) -> Res<(Json, Json)> {
    let scenario = cmd["scenario"].as_str().ok_or("scenario missing")?;
    let addr = addr(cmd)?;
    let n = param(cmd, "n", 20_000) as usize;
    let budget = seconds(cmd, 0.5);
    let conn = rpyc_netref::connect(addr.as_str()).await?;
    let root = conn.root().await?;
    let mut tcp = tokio::net::TcpStream::connect(floor_addr).await?;
    tcp.set_nodelay(true)?;
    let out = if scenario == "echo" {
        // One echo through rpyc, then one raw echo of the same bytes, and again.
        let data = echo_payload(cmd);
        let mut back = vec![0u8; data.len()];
        for _ in 0..param(cmd, "warmup", 3) {
            echo_once(&root, &data).await?;
            crate::floor::bulk_echo(&mut tcp, &data, &mut back).await?;
        }
        let mut ours = Latencies::with_capacity(1024);
        let mut fl = Latencies::with_capacity(1024);
        let start = Instant::now();
        let mut count = 0;
        while count < 3 || (start.elapsed() < budget && count < n) {
            let t = Instant::now();
            echo_once(&root, &data).await?;
            ours.push(t.elapsed());
            fl.push(crate::floor::bulk_echo(&mut tcp, &data, &mut back).await?);
            count += 1;
        }
        let el = start.elapsed();
        ours.elapsed = el;
        fl.elapsed = el;
        let (mut a, mut b) = (ours.summary(), fl.summary());
        for s in [&mut a, &mut b] {
            s["interleaved"] = json!(true);
            add_mb_per_s(s, data.len());
        }
        (a, b)
    } else if scenario == "async64" {
        let coalesced = floor == "floor_64_1w";
        let window = param(cmd, "window", 64) as usize;
        let (mut ours_n, mut ours_t) = (0usize, Duration::ZERO);
        let (mut floor_n, mut floor_t) = (0u64, Duration::ZERO);
        let start = Instant::now();
        let mut first = true;
        while start.elapsed() < budget && ours_n < n {
            // 16 windows of calls, then 16 windows of raw messages.
            let t = Instant::now();
            let done = async_window(&root, window, window * 16, None).await?;
            if !first {
                ours_t += t.elapsed();
                ours_n += done;
            }
            let (_, msgs, el) = crate::floor::pipelined_batches(&mut tcp, coalesced, 16).await?;
            if !first {
                floor_t += el;
                floor_n += msgs;
            }
            first = false;
        }
        let ours = ours_n as f64 / ours_t.as_secs_f64();
        let fl = floor_n as f64 / floor_t.as_secs_f64();
        (
            json!({"n": ours_n, "elapsed_s": ours_t.as_secs_f64(), "rate": ours, "interleaved": true}),
            json!({"n": floor_n, "elapsed_s": floor_t.as_secs_f64(), "rate": fl, "interleaved": true}),
        )
    } else {
        let op = LatOp::new(scenario, &root)?;
        for _ in 0..param(cmd, "warmup", 50) {
            op.run(&conn, &root).await?;
        }
        let mut ours = Latencies::with_capacity(n);
        let mut fl = Latencies::with_capacity(n);
        let (msg, mut back) = ([7u8; 8], [0u8; 8]);
        let start = Instant::now();
        let mut count = 0;
        while start.elapsed() < budget && count < n {
            for _ in 0..CHUNK {
                let t = Instant::now();
                op.run(&conn, &root).await?;
                ours.push(t.elapsed());
            }
            for _ in 0..CHUNK {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let t = Instant::now();
                tcp.write_all(&msg).await?;
                tcp.read_exact(&mut back).await?;
                fl.push(t.elapsed());
            }
            count += CHUNK;
        }
        let el = start.elapsed();
        ours.elapsed = el;
        fl.elapsed = el;
        let (mut a, mut b) = (ours.summary(), fl.summary());
        a["interleaved"] = json!(true);
        b["interleaved"] = json!(true);
        (a, b)
    };
    let _ = conn.close().await;
    Ok(out)
}

/// Keeps `window` `add(1, 2)` calls in flight until `total` have completed, or, given a
/// `deadline`, until the calls in flight when it passes have completed; returns how many did.
async fn async_window(
    root: &NetRef,
    window: usize,
    total: usize,
    deadline: Option<Instant>,
) -> Res<usize> {
    let mut pending: VecDeque<_> = (0..window.min(total))
        .map(|_| root.async_call_method("add", (1i64, 2i64)))
        .collect();
    let mut sent = pending.len();
    let mut done = 0;
    while let Some(r) = pending.pop_front() {
        expect_int(r.await?, 3)?;
        done += 1;
        if sent < total && deadline.is_none_or(|d| Instant::now() < d) {
            pending.push_back(root.async_call_method("add", (1i64, 2i64)));
            sent += 1;
        }
    }
    Ok(done)
}
