//! `rpyc-bench --streams`: lazy iteration of 10^6 items, read the way each side reads a
//! stream, with the serving process's memory watched.
//!
//! Three runs, each against a fresh server process:
//!
//! * rs → rs: our client streams the `test` service's `numbers(n)` (a `rpyc::LazyIter`) with
//!   `NetRef::stream` (chunks 10, 20, … up to `Config::stream_max_chunk`, one ahead);
//! * rs → py client: a stock RPyC client reads the same `numbers(n)` with `rpyc.buffiter`;
//! * py → rs: our client streams a Python generator (`bench_server.py`'s `numbers(n)`).
//!
//! For each: items/s (wall clock, first request to last item) and the server's RSS before
//! the stream, its highest sample during the stream (every 50,000 items on the Rust side;
//! every 100 ms for the Python client) and after. The iterator holds O(1) memory, so the
//! RSS must not grow with `n`: the report flags a run whose RSS during or after the stream
//! exceeds the before figure by more than `--streams-max-growth` MiB. When the reader is our
//! client (this process), its own RSS growth is reported and flagged the same way.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rpyc_netref::NetRef;
use serde_json::{json, Value as Json};

use crate::{procs, Res};

/// What a streams run does.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Items per stream.
    pub items: u64,
    /// Largest accepted RSS growth of a server during or after a stream (MiB).
    pub max_growth_mib: f64,
}

/// One run's figures.
struct Run {
    name: &'static str,
    items: u64,
    seconds: f64,
    rss_before_kib: u64,
    rss_peak_kib: u64,
    rss_after_kib: u64,
    /// The reading process's RSS growth (peak over before, KiB) when the reader is our client
    /// (this process): a stream holds at most two chunks, whatever `n`.
    client_growth_kib: Option<u64>,
}

impl Run {
    fn rate(&self) -> f64 {
        self.items as f64 / self.seconds
    }

    fn growth_mib(&self) -> f64 {
        (self.rss_peak_kib.max(self.rss_after_kib) as f64 - self.rss_before_kib as f64) / 1024.0
    }

    fn json(&self) -> Json {
        json!({
            "run": self.name,
            "items": self.items,
            "seconds": self.seconds,
            "items_per_s": self.rate(),
            "rss_before_kib": self.rss_before_kib,
            "rss_peak_kib": self.rss_peak_kib,
            "rss_after_kib": self.rss_after_kib,
            "client_rss_growth_kib": self.client_growth_kib,
        })
    }
}

fn rss(pid: u32) -> Res<u64> {
    Ok(procs::mem_kib(pid)?.0)
}

/// Streams `numbers(items)` of the server at `addr` (pid `pid`) with our client.
async fn rust_client(name: &'static str, addr: &str, pid: u32, items: u64) -> Res<Run> {
    let conn = rpyc_netref::connect(addr).await?;
    let root = conn.root().await?;
    // Warm the connection (first requests, proxy classes) before the "before" figure.
    root.call_method("numbers", (10,))
        .await?
        .extract::<NetRef>()?
        .collect()
        .await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_before_kib = rss(pid)?;
    let mut rss_peak_kib = rss_before_kib;
    let me = std::process::id();
    let client_before_kib = rss(me)?;
    let mut client_peak_kib = client_before_kib;
    let t0 = Instant::now();
    let numbers: NetRef = root.call_method("numbers", (items,)).await?.extract()?;
    let mut stream = numbers.stream();
    drop(numbers);
    let (mut n, mut next_sample) = (0u64, 50_000u64);
    while let Some(x) = stream.next().await {
        let x: u64 = x?.extract()?;
        if x != n {
            return Err(format!("{name}: item {n} was {x}").into());
        }
        n += 1;
        if n == next_sample {
            next_sample += 50_000;
            rss_peak_kib = rss_peak_kib.max(rss(pid)?);
            client_peak_kib = client_peak_kib.max(rss(me)?);
        }
    }
    let seconds = t0.elapsed().as_secs_f64();
    if n != items {
        return Err(format!("{name}: {n} items of {items}").into());
    }
    drop(stream);
    conn.close().await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(Run {
        name,
        items,
        seconds,
        rss_before_kib,
        rss_peak_kib,
        rss_after_kib: rss(pid)?,
        client_growth_kib: Some(client_peak_kib.saturating_sub(client_before_kib)),
    })
}

/// A stock RPyC client reads `numbers(items)` with `rpyc.buffiter`; it prints the seconds.
const PY_CLIENT: &str = r#"
import sys, time, rpyc
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = rpyc.connect(host, port)
sum(rpyc.buffiter(c.root.numbers(10)))
print("ready", flush=True)
sys.stdin.readline()
t0 = time.perf_counter()
count = total = 0
for x in rpyc.buffiter(c.root.numbers(n)):
    count += 1
    total += x
dt = time.perf_counter() - t0
assert (count, total) == (n, n * (n - 1) // 2), (count, total)
c.close()
print(dt, flush=True)
"#;

async fn python_client(py: &Path, addr: &str, pid: u32, items: u64) -> Res<Run> {
    let (host, port) = crate::servers::split_addr(addr)?;
    let mut cmd = Command::new(py);
    cmd.args([
        "-u",
        "-c",
        PY_CLIENT,
        &host,
        &port.to_string(),
        &items.to_string(),
    ]);
    let mut child = crate::procs::ChildProc::spawn("python stream client", cmd)?;
    let ready = child.next_line(Duration::from_secs(20))?;
    if ready.trim() != "ready" {
        return Err(format!("python client: {ready}").into());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_before_kib = rss(pid)?;
    let mut rss_peak_kib = rss_before_kib;
    child.send_line("go")?;
    // Sample while the client reads; its line is the elapsed time.
    let (tx, mut rx) = tokio::sync::oneshot::channel();
    let reader = std::thread::spawn(move || {
        let line = child.next_line(Duration::from_secs(600));
        let _ = tx.send(());
        (child, line)
    });
    loop {
        tokio::select! {
            _ = &mut rx => break,
            _ = tokio::time::sleep(Duration::from_millis(100)) => {
                rss_peak_kib = rss_peak_kib.max(rss(pid)?);
            }
        }
    }
    let (child, line) = reader.join().map_err(|_| "python client reader panicked")?;
    let seconds: f64 = line?.trim().parse()?;
    drop(child);
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(Run {
        name: "rs server → py client (rpyc.buffiter)",
        items,
        seconds,
        rss_before_kib,
        rss_peak_kib,
        rss_after_kib: rss(pid)?,
        client_growth_kib: None,
    })
}

/// Runs the three streams; prints the table and appends a `streams` JSON line to `out`.
pub async fn run(
    server_bin: &Path,
    python: Option<&Path>,
    opts: &Opts,
    out: Option<std::path::PathBuf>,
) -> Res<()> {
    let mut runs = Vec::new();

    let (server, addr) = crate::servers::ServerCmd::a(server_bin).start()?;
    runs.push(rust_client("rs server → rs client", &addr, server.pid(), opts.items).await?);
    drop(server);

    match python {
        Some(py) => {
            let (server, addr) = crate::servers::ServerCmd::a(server_bin).start()?;
            runs.push(python_client(py, &addr, server.pid(), opts.items).await?);
            drop(server);
            let (server, addr) = crate::servers::start_python_server(py)?;
            runs.push(
                rust_client(
                    "py server (generator) → rs client",
                    &addr,
                    server.pid(),
                    opts.items,
                )
                .await?,
            );
            drop(server);
        }
        None => eprintln!("streams: no Python with rpyc: the Python runs are skipped"),
    }

    println!(
        "{:<40} {:>10} {:>12} {:>10} {:>10} {:>10} {:>14}",
        "stream", "items", "items/s", "RSS before", "peak", "after", "our client +"
    );
    let mut flagged = Vec::new();
    for r in &runs {
        let client = r
            .client_growth_kib
            .map_or("-".to_string(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
        println!(
            "{:<40} {:>10} {:>12.0} {:>7.1} MiB {:>6.1} MiB {:>6.1} MiB {:>14}",
            r.name,
            r.items,
            r.rate(),
            r.rss_before_kib as f64 / 1024.0,
            r.rss_peak_kib as f64 / 1024.0,
            r.rss_after_kib as f64 / 1024.0,
            client,
        );
        if let Some(k) = r
            .client_growth_kib
            .filter(|&k| k as f64 / 1024.0 > opts.max_growth_mib)
        {
            flagged.push(format!(
                "{}: our client's RSS grew by {:.1} MiB",
                r.name,
                k as f64 / 1024.0
            ));
        }
        if r.growth_mib() > opts.max_growth_mib {
            flagged.push(format!(
                "{}: the server's RSS grew by {:.1} MiB",
                r.name,
                r.growth_mib()
            ));
        }
    }
    if let Some(path) = out {
        use std::io::Write;
        let line = json!({
            "kind": "streams",
            "at": crate::record::now_secs(),
            "max_growth_mib": opts.max_growth_mib,
            "runs": runs.iter().map(Run::json).collect::<Vec<_>>(),
            "flagged": flagged,
        });
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        writeln!(f, "{line}")?;
    }
    if flagged.is_empty() {
        Ok(())
    } else {
        Err(flagged.join("; ").into())
    }
}
