//! `rpyc-bench --soak`: one `rpyc-server --service test` under many clients doing mixed calls
//! for a bounded time, watching for what short measurements cannot show — memory that grows
//! with traffic, and latency that drifts as the run goes on.
//!
//! Each client (a connection of its own, in this process) loops until the deadline over a
//! weighted mix: `add`, `echo` of 64 B to 1 MiB, a callback (`call(f, x)`), a counter created,
//! used and released, a map read by reference, a batch of 16 `async_` calls, a ping, and now
//! and then a reconnect. Every op is checked and timed. The server's RSS (`VmRSS`) and CPU time
//! are sampled every second. The report gives, per interval and per phase (warm-up, then the
//! measured time in thirds), the RSS and the p50/p99/p99.9 latencies, and flags growth: the
//! median RSS of the last third above that of the first third by more than
//! `--soak-max-growth` percent. A flagged run, or any failed op, makes the command fail.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rpyc_core::Value;
use rpyc_netref::{Args, Callback, Connection, NetRef};
use serde_json::{json, Value as Json};

use crate::{procs, rsclient, Res};

/// What a soak run does.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Measured time (a warm-up of a tenth of it, at most 10 s, comes first).
    pub seconds: f64,
    /// Concurrent client connections.
    pub clients: usize,
    /// Largest accepted growth of the median RSS, last third over first third (%).
    pub max_growth_pct: f64,
}

/// The kinds of op of the mix, with their weights (out of 200) and names.
const KINDS: [(&str, u32); 8] = [
    ("add", 60),
    ("echo", 36),
    ("callback", 20),
    ("counter", 30),
    ("map", 10),
    ("async16", 30),
    ("ping", 13),
    ("reconnect", 1),
];

/// One timed op: when it ended (ms since the start), its kind, its duration (ns).
#[derive(Clone, Copy)]
struct Rec {
    at_ms: u32,
    kind: u8,
    ns: u64,
}

/// A client's connection, its root and its callback.
struct Client {
    addr: String,
    conn: Connection,
    root: NetRef,
    inc: Value,
}

impl Client {
    async fn open(addr: &str) -> Res<Client> {
        let conn = rpyc_netref::connect(addr).await?;
        let root = conn.root().await?;
        let inc = Callback::sync(|mut a: Args| a.take::<i64>(0, "x").map(|x| x + 1)).into_value();
        Ok(Client {
            addr: addr.to_string(),
            conn,
            root,
            inc,
        })
    }

    /// Runs one op of kind `kind`; `r` varies its arguments.
    async fn op(&mut self, kind: u8, r: u64, blob: &Bytes) -> Res<()> {
        let small = (r % 1000) as i64;
        match KINDS[kind as usize].0 {
            "add" => expect_int(
                self.root.call_method("add", (small, 7i64)).await?,
                small + 7,
            ),
            "echo" => {
                let size = match r % 100 {
                    0 => 1 << 20,
                    1..=18 => 64 << 10,
                    19..=48 => 4 << 10,
                    _ => 64,
                };
                let data = blob.slice(..size);
                match self.root.call_method("echo", (Value::Bytes(data),)).await? {
                    Value::Bytes(b) if b.len() == size => Ok(()),
                    other => Err(format!("echo returned {}", other.type_name()).into()),
                }
            }
            "callback" => {
                let v = self
                    .root
                    .call_method("call", (self.inc.clone(), small))
                    .await?;
                expect_int(v, small + 1)
            }
            "counter" => {
                let c: NetRef = self
                    .root
                    .call_method("make_counter", (small,))
                    .await?
                    .extract()?;
                expect_int(c.call_method("increment", (3i64,)).await?, small + 3)?;
                expect_int(Value::Int(c.attr::<i64>("value").await?), small + 3)
            }
            "map" => {
                let m: NetRef = self.root.call_method("make_map", ()).await?.extract()?;
                if m.len().await? != 2 {
                    return Err("make_map: len is not 2".into());
                }
                expect_int(m.getitem("b").await?, 2)
            }
            "async16" => {
                let pending: Vec<_> = (0..16i64)
                    .map(|i| self.root.async_call_method("add", (i, small)))
                    .collect();
                for (i, p) in (0..16i64).zip(pending) {
                    expect_int(p.await?, i + small)?;
                }
                Ok(())
            }
            "ping" => Ok(self.conn.ping().await?),
            _ => {
                let _ = self.conn.close().await;
                *self = Client::open(&self.addr).await?;
                Ok(())
            }
        }
    }
}

fn expect_int(v: Value, want: i64) -> Res<()> {
    match v {
        Value::Int(i) if i == want => Ok(()),
        other => Err(format!("expected {want}, got {}", other.repr()).into()),
    }
}

/// Picks a kind by weight from a random number.
fn pick(r: u64) -> u8 {
    let total: u32 = KINDS.iter().map(|k| k.1).sum();
    let mut x = (r % u64::from(total)) as u32;
    for (i, (_, w)) in KINDS.iter().enumerate() {
        if x < *w {
            return i as u8;
        }
        x -= w;
    }
    0
}

/// One client's loop until `end`; its timed ops.
async fn client_loop(
    addr: String,
    seed: u64,
    t0: Instant,
    end: Instant,
    blob: Bytes,
    ops: Arc<AtomicU64>,
) -> Res<Vec<Rec>> {
    let mut c = Client::open(&addr).await?;
    let mut recs = Vec::with_capacity(1 << 14);
    let mut x = seed | 1;
    while Instant::now() < end {
        // xorshift64*: a different, reproducible mix per client.
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let kind = pick(r >> 32);
        let start = Instant::now();
        c.op(kind, r, &blob)
            .await
            .map_err(|e| format!("{} failed: {e}", KINDS[kind as usize].0))?;
        let done = Instant::now();
        recs.push(Rec {
            at_ms: (done - t0).as_millis() as u32,
            kind,
            ns: (done - start).as_nanos() as u64,
        });
        ops.fetch_add(1, Ordering::Relaxed);
    }
    let _ = c.conn.close().await;
    Ok(recs)
}

/// One sample of the server: seconds since the start, RSS (KiB), CPU seconds, ops so far.
#[derive(Clone, Copy)]
struct Mem {
    t: f64,
    rss_kib: u64,
    cpu_s: f64,
    ops: u64,
}

/// p50, p99 and p99.9 (µs) of durations in ns (sorted here); zeros when empty.
fn percentiles(ns: &mut [u64]) -> [f64; 3] {
    if ns.is_empty() {
        return [0.0; 3];
    }
    ns.sort_unstable();
    [0.5, 0.99, 0.999].map(|q| ns[((ns.len() - 1) as f64 * q).round() as usize] as f64 / 1e3)
}

/// The median RSS (KiB) of the samples taken in `[from, to)` seconds.
fn median_rss(mem: &[Mem], from: f64, to: f64) -> u64 {
    let mut v: Vec<u64> = mem
        .iter()
        .filter(|m| m.t >= from && m.t < to)
        .map(|m| m.rss_kib)
        .collect();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Runs the soak against a fresh `rpyc-server` from `server_bin`; appends a `soak` JSON line
/// to `out` when given.
pub async fn run(server_bin: &Path, opts: &Opts, out: Option<PathBuf>) -> Res<()> {
    let (server, addr) = crate::servers::ServerCmd::a(server_bin).start()?;
    let pid = server.pid();
    let warmup = (opts.seconds / 10.0).min(10.0);
    let total = warmup + opts.seconds;
    eprintln!(
        "soak: {} clients for {:.0} s (+{warmup:.0} s warm-up) against rpyc-server pid {pid} at {addr}",
        opts.clients, opts.seconds
    );
    let blob = Bytes::from(rsclient::random_bytes(1 << 20));
    let ops = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs_f64(total);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..opts.clients {
        let seed = 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i as u64 + 1);
        let fut = client_loop(addr.clone(), seed, t0, end, blob.clone(), ops.clone());
        tasks.spawn(fut);
    }

    // The sampler: every second until the end, one line each.
    let mut mem = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    eprintln!(
        "  {:>5} {:>9} {:>9} {:>7}",
        "t(s)", "RSS MiB", "ops/s", "CPU %"
    );
    let mut last: Option<Mem> = None;
    while Instant::now() < end {
        tick.tick().await;
        let (rss_kib, _) = procs::mem_kib(pid)?;
        let m = Mem {
            t: t0.elapsed().as_secs_f64(),
            rss_kib,
            cpu_s: procs::cpu_seconds(pid)?,
            ops: ops.load(Ordering::Relaxed),
        };
        if let Some(l) = last {
            let dt = m.t - l.t;
            eprintln!(
                "  {:>5.0} {:>9.1} {:>9.0} {:>7.0}",
                m.t,
                mib(m.rss_kib),
                (m.ops - l.ops) as f64 / dt,
                (m.cpu_s - l.cpu_s) / dt * 100.0
            );
        }
        mem.push(m);
        last = Some(m);
    }
    let mut recs = Vec::new();
    let mut errors = Vec::new();
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(Ok(v)) => recs.extend(v),
            Ok(Err(e)) => errors.push(e.to_string()),
            Err(e) => errors.push(format!("client task: {e}")),
        }
    }
    // Every client has closed: what the server keeps now is what it did not give back.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (after_kib, peak_kib) = procs::mem_kib(pid)?;
    drop(server);

    let report = report(opts, warmup, &mem, &recs, after_kib, peak_kib);
    let flagged = report["growth_flagged"].as_bool().unwrap_or(true);
    if let Some(path) = out {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let mut line = report;
        line["kind"] = json!("soak");
        line["time"] = json!(crate::record::now_secs());
        line["errors"] = json!(errors);
        writeln!(f, "{line}")?;
    }
    if let Some(e) = errors.first() {
        return Err(format!("soak: {} client(s) failed; first: {e}", errors.len()).into());
    }
    if flagged {
        return Err(format!("soak: RSS grew by more than {}%", opts.max_growth_pct).into());
    }
    Ok(())
}

/// Prints the per-interval and per-phase figures; returns them as JSON.
fn report(opts: &Opts, warmup: f64, mem: &[Mem], recs: &[Rec], after: u64, peak: u64) -> Json {
    let total = warmup + opts.seconds;
    // Latencies per 1 s interval, all kinds together.
    let secs = total.ceil() as usize;
    let mut per_sec: Vec<Vec<u64>> = vec![Vec::new(); secs + 1];
    for r in recs {
        per_sec[(r.at_ms as usize / 1000).min(secs)].push(r.ns);
    }
    eprintln!(
        "\n  {:>5} {:>8} {:>9} {:>9} {:>9}",
        "t(s)", "ops", "p50 µs", "p99 µs", "p999 µs"
    );
    let mut intervals = Vec::new();
    for (t, v) in per_sec.iter_mut().enumerate().take(secs) {
        let n = v.len();
        let [p50, p99, p999] = percentiles(v);
        eprintln!("  {:>5} {n:>8} {p50:>9.0} {p99:>9.0} {p999:>9.0}", t + 1);
        intervals
            .push(json!({"t": t + 1, "ops": n, "p50_us": p50, "p99_us": p99, "p999_us": p999}));
    }

    // Phases: warm-up, then thirds of the measured time.
    let third = opts.seconds / 3.0;
    let phases = [
        ("warm-up", 0.0, warmup),
        ("first third", warmup, warmup + third),
        ("middle third", warmup + third, warmup + 2.0 * third),
        ("last third", warmup + 2.0 * third, total + 1.0),
    ];
    eprintln!(
        "\n  {:<13} {:<10} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "phase", "op", "ops", "ops/s", "p50 µs", "p99 µs", "p999 µs"
    );
    let mut phase_json = Vec::new();
    for (name, from, to) in phases {
        let in_phase = |r: &&Rec| (r.at_ms as f64 / 1e3) >= from && (r.at_ms as f64 / 1e3) < to;
        let dur = (to.min(total) - from).max(1e-9);
        let mut kinds = serde_json::Map::new();
        for k in (0..KINDS.len()).map(|k| k as u8).chain([u8::MAX]) {
            let mut v: Vec<u64> = recs
                .iter()
                .filter(in_phase)
                .filter(|r| k == u8::MAX || r.kind == k)
                .map(|r| r.ns)
                .collect();
            let n = v.len();
            let [p50, p99, p999] = percentiles(&mut v);
            let kname = KINDS.get(k as usize).map_or("all", |k| k.0);
            eprintln!(
                "  {name:<13} {kname:<10} {n:>9} {:>9.0} {p50:>9.0} {p99:>9.0} {p999:>9.0}",
                n as f64 / dur
            );
            kinds.insert(
                kname.into(),
                json!({"ops": n, "p50_us": p50, "p99_us": p99, "p999_us": p999}),
            );
        }
        let rss = median_rss(mem, from, to);
        phase_json.push(json!({"phase": name, "from_s": from, "to_s": to.min(total),
                               "median_rss_kib": rss, "latency": kinds}));
    }

    let first = median_rss(mem, warmup, warmup + third);
    let last = median_rss(mem, warmup + 2.0 * third, total + 1.0);
    let growth = (last as f64 / first.max(1) as f64 - 1.0) * 100.0;
    let flagged = growth > opts.max_growth_pct;
    let at = |frac: f64| {
        mem.iter()
            .min_by(|a, b| {
                (a.t - frac * total)
                    .abs()
                    .total_cmp(&(b.t - frac * total).abs())
            })
            .map_or(0, |m| m.rss_kib)
    };
    let (start, middle, end) = (at(0.0), at(0.5), at(1.0));
    eprintln!(
        "\n  server RSS: start {:.1} MiB, middle {:.1} MiB, end {:.1} MiB, peak {:.1} MiB, \
         1 s after every client closed {:.1} MiB",
        mib(start),
        mib(middle),
        mib(end),
        mib(peak),
        mib(after)
    );
    eprintln!(
        "  median RSS, last third vs first third: {:.1} → {:.1} MiB ({growth:+.1}%, limit {}%): {}",
        mib(first),
        mib(last),
        opts.max_growth_pct,
        if flagged { "GROWTH" } else { "ok" }
    );
    let cpu = match (mem.first(), mem.last()) {
        (Some(a), Some(b)) if b.t > a.t => (b.cpu_s - a.cpu_s) / (b.t - a.t) * 100.0,
        _ => 0.0,
    };
    json!({
        "clients": opts.clients, "seconds": opts.seconds, "warmup_s": warmup,
        "ops": recs.len(), "server_cpu_pct": cpu,
        "rss_kib": {"start": start, "middle": middle, "end": end, "peak": peak,
                    "after_close": after, "first_third_median": first,
                    "last_third_median": last},
        "growth_pct": growth, "max_growth_pct": opts.max_growth_pct, "growth_flagged": flagged,
        "intervals": intervals, "phases": phase_json,
        "samples": mem.iter().map(|m| json!([m.t, m.rss_kib])).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pick_follows_the_weights() {
        let total: u32 = KINDS.iter().map(|k| k.1).sum();
        let mut seen = [0u32; KINDS.len()];
        for r in 0..u64::from(total) {
            seen[pick(r) as usize] += 1;
        }
        assert_eq!(seen.to_vec(), KINDS.iter().map(|k| k.1).collect::<Vec<_>>());
    }

    #[test]
    fn percentiles_and_median_rss() {
        let mut v: Vec<u64> = (1..=1000).rev().map(|i| i * 1000).collect();
        assert_eq!(percentiles(&mut v), [501.0, 990.0, 999.0]);
        assert_eq!(percentiles(&mut []), [0.0; 3]);
        let mem: Vec<Mem> = [(0.5, 10), (1.5, 30), (2.5, 20), (3.5, 99)]
            .map(|(t, rss_kib)| Mem {
                t,
                rss_kib,
                cpu_s: 0.0,
                ops: 0,
            })
            .to_vec();
        assert_eq!(median_rss(&mem, 0.0, 3.0), 20);
        assert_eq!(median_rss(&mem, 5.0, 6.0), 0);
    }
}
