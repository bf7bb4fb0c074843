//! `rpyc-bench`: rpyc-rs beside Python RPyC 6 and the raw-socket floor, measured in one run on
//! one machine, interleaved, reported as medians, min–max and ratios.
//!
//! ```text
//! cargo run --release -p rpyc-bench -- --quick     # ~2-3 minutes, scaled-down 7-9
//! cargo run --release -p rpyc-bench -- --full      # the issue's sizes
//! cargo run --release -p rpyc-bench -- --soak      # 100 clients, 60 s, RSS growth check
//! cargo run --release -p rpyc-bench -- --streams   # 10^6 items streamed each way, RSS watched
//! cargo run --release -p rpyc-bench --features etcd -- --discovery   # by name vs by address, failover
//! ```
//!
//! Stacks: the floor (raw tokio TCP / Unix ping-pong), rs→rs (our client → `rpyc-server
//! --service test`), py→py (stock RPyC client → stock `ThreadedServer`), and the mixed pairs
//! py→rs and rs→py. Servers run as child processes; Rust clients run in this process, Python
//! clients in `python/bench_client.py`. Results are printed as a table and appended as JSON
//! lines to `bench-results/results.jsonl`. See `README.md` beside this crate.

mod discovery;
mod floor;
mod procs;
mod pydriver;
mod rsclient;
mod soak;
mod stats;
mod streams;

use std::fs::OpenOptions;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use serde_json::{json, Value as Json};

use crate::procs::ChildProc;
use crate::pydriver::PyDriver;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Res<T> = Result<T, Error>;

/// Compare rpyc-rs with Python RPyC 6 and the raw-socket floor, in one interleaved run.
#[derive(Debug, Parser)]
#[command(name = "rpyc-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// Quick run (the default): 5 rounds of short measurements; scenarios 7-9 scaled down
    /// (20 clients × 200 calls, 10,000 objects, 1,000 idle connections).
    #[arg(long, conflicts_with = "full")]
    quick: bool,
    /// Full run: 10 rounds; scenarios 7-9 at the issue's sizes (100 × 1,000 calls, 100,000
    /// objects, 10,000 idle connections).
    #[arg(long)]
    full: bool,
    /// Override the number of rounds of scenarios 1-6.
    #[arg(long)]
    rounds: Option<usize>,
    /// Override the time budget of each measurement of scenarios 1-6 (seconds).
    #[arg(long)]
    seconds: Option<f64>,
    /// Run only these scenarios (comma-separated): floor, call, call_sync, ping, async64,
    /// callback, echo, getattr, concurrent, objects, idle.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Run only these stacks (comma-separated): rs-rs, rs-rs-main, py-py, py-rs, rs-py (and
    /// rs-rsB, py-rsB with --server-b).
    #[arg(long, value_delimiter = ',')]
    stacks: Vec<String>,
    /// Python interpreter with rpyc 6.0.2 (default: `<workspace>/.venv/bin/python`, made by
    /// scripts/setup-python.sh; or $RPYC_BENCH_PYTHON).
    #[arg(long)]
    python: Option<PathBuf>,
    /// The `rpyc-server` binary (default: beside this executable).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// A second `rpyc-server` binary to compare with (adds the stacks rs-rsB and py-rsB, measured
    /// interleaved with the others, and a B ÷ A section): for A/B runs of a server change.
    #[arg(long)]
    server_b: Option<PathBuf>,
    /// Environment variables (KEY=VALUE, repeatable) for the `--server-b` processes only.
    #[arg(long, value_name = "KEY=VALUE")]
    server_b_env: Vec<String>,
    /// Do not run `cargo build -p rpyc-server` when started by `cargo run`.
    #[arg(long)]
    no_build: bool,
    /// JSON-lines file to append to (relative paths are from the workspace root).
    #[arg(long, default_value = "bench-results/results.jsonl")]
    out: PathBuf,
    /// Do not write JSON lines.
    #[arg(long)]
    no_save: bool,
    /// Worker threads of this process's runtime, where the Rust clients run (default: one per
    /// core, like `#[tokio::main]`).
    #[arg(long)]
    client_workers: Option<usize>,
    /// Where processes run during scenarios 1-6: `split` (the default) pins every client to
    /// the first CPU and every server to the last, `shared` pins them all to the first CPU,
    /// `free` leaves placement to the kernel. See "Placement" in the README.
    #[arg(long, value_enum, default_value_t = Placement::Split)]
    placement: Placement,
    /// Soak instead of the scenarios: one rpyc-server, --soak-clients clients doing mixed
    /// calls for --soak-seconds, the server's RSS sampled every second; fails on RSS growth
    /// (see src/soak.rs).
    #[arg(long, conflicts_with_all = ["quick", "full", "only", "stacks"])]
    soak: bool,
    /// Measured time of the soak (after a warm-up of a tenth of it, at most 10 s).
    #[arg(long, default_value_t = 60.0)]
    soak_seconds: f64,
    /// Concurrent clients of the soak.
    #[arg(long, default_value_t = 100)]
    soak_clients: usize,
    /// Largest accepted growth of the server's median RSS, last third over first third (%).
    #[arg(long, default_value_t = 10.0)]
    soak_max_growth: f64,
    /// Streams instead of the scenarios: `numbers(n)` of our server read by our client and by
    /// a Python client (`rpyc.buffiter`), and a Python generator read by our client; items/s
    /// and the server's RSS before, during and after (see src/streams.rs).
    #[arg(long, conflicts_with_all = ["quick", "full", "only", "stacks", "soak"])]
    streams: bool,
    /// Items per stream of --streams.
    #[arg(long, default_value_t = 1_000_000)]
    streams_items: u64,
    /// Largest accepted growth of a server's RSS during or after a stream (MiB).
    #[arg(long, default_value_t = 16.0)]
    streams_max_growth: f64,
    /// Discovery instead of the scenarios: connect by service name vs by address, and failover
    /// after SIGKILL, through RPyC's registry and (built with `--features etcd`) a real etcd
    /// (see src/discovery.rs).
    #[arg(long, conflicts_with_all = ["quick", "full", "only", "stacks", "soak", "streams"])]
    discovery: bool,
    /// etcd lease TTL of --discovery (seconds).
    #[arg(long, default_value_t = 3)]
    discovery_ttl: u64,
    /// Connects per stack and round of --discovery.
    #[arg(long, default_value_t = 100)]
    discovery_connects: usize,
    /// Kills per backend of --discovery.
    #[arg(long, default_value_t = 5)]
    discovery_failovers: usize,
}

/// Where the clients and servers of scenarios 1-6 run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum Placement {
    /// Clients on the first CPU, servers on the last: every message wakes the other CPU.
    Split,
    /// Everything on the first CPU: wake-ups are cheap, the figures are CPU work.
    Shared,
    /// The kernel decides (it may co-locate one server with the client and not another).
    Free,
}

impl Placement {
    /// (client CPUs, server CPUs), or `None` to leave placement alone.
    fn cpus(self) -> Option<(Vec<usize>, Vec<usize>)> {
        let n = procs::online_cpus();
        match self {
            Placement::Free => None,
            Placement::Shared => Some((vec![0], vec![0])),
            Placement::Split if n >= 2 => Some((vec![0], vec![n - 1])),
            Placement::Split => None,
        }
    }
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// (internal) the floor's echo server.
    #[command(hide = true)]
    FloorServer {
        #[arg(long)]
        unix: Option<PathBuf>,
    },
}

/// Sizes and budgets of a run.
#[derive(Debug, Clone, serde::Serialize)]
struct Plan {
    mode: &'static str,
    rounds: usize,
    /// Per-measurement time budget (s) of scenarios 1-4, 6 and the floor.
    seconds: f64,
    /// Most operations per latency measurement.
    lat_n: u64,
    echo_seconds: f64,
    conc_rounds: usize,
    conc_clients: u64,
    conc_calls: u64,
    conc_seconds: f64,
    obj_rounds: usize,
    obj_n: u64,
    obj_seconds: f64,
    idle_rounds: usize,
    idle_n: u64,
}

impl Plan {
    fn quick() -> Plan {
        Plan {
            mode: "quick",
            rounds: 5,
            seconds: 0.25,
            lat_n: 20_000,
            echo_seconds: 0.6,
            conc_rounds: 3,
            conc_clients: 20,
            conc_calls: 200,
            conc_seconds: 30.0,
            obj_rounds: 1,
            obj_n: 10_000,
            obj_seconds: 4.0,
            idle_rounds: 1,
            idle_n: 1_000,
        }
    }

    fn full() -> Plan {
        Plan {
            mode: "full",
            rounds: 10,
            seconds: 1.0,
            lat_n: 200_000,
            echo_seconds: 2.0,
            conc_rounds: 3,
            conc_clients: 100,
            conc_calls: 1_000,
            conc_seconds: 120.0,
            obj_rounds: 2,
            obj_n: 100_000,
            obj_seconds: 60.0,
            idle_rounds: 2,
            idle_n: 10_000,
        }
    }
}

/// A client → server pairing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stack {
    /// Our client (calls awaited in a spawned task) → our server.
    RsRs,
    /// Our client with the calls awaited on the runtime's `block_on` thread (what code in a
    /// `#[tokio::main]` function does) → our server.
    RsRsMain,
    PyPy,
    PyRs,
    RsPy,
    /// Our client → the `--server-b` binary (A/B runs of a server change).
    RsRsB,
    /// Python client → the `--server-b` binary.
    PyRsB,
}

const STACKS: [Stack; 7] = [
    Stack::RsRs,
    Stack::RsRsMain,
    Stack::PyPy,
    Stack::PyRs,
    Stack::RsPy,
    Stack::RsRsB,
    Stack::PyRsB,
];

impl Stack {
    fn id(self) -> &'static str {
        match self {
            Stack::RsRs => "rs-rs",
            Stack::RsRsMain => "rs-rs-main",
            Stack::RsRsB => "rs-rsB",
            Stack::PyRsB => "py-rsB",
            Stack::PyPy => "py-py",
            Stack::PyRs => "py-rs",
            Stack::RsPy => "rs-py",
        }
    }
    fn rust_client(self) -> bool {
        matches!(
            self,
            Stack::RsRs | Stack::RsRsMain | Stack::RsPy | Stack::RsRsB
        )
    }
    fn rust_server(self) -> bool {
        !matches!(self, Stack::PyPy | Stack::RsPy)
    }
    fn needs_python(self) -> bool {
        !matches!(self, Stack::RsRs | Stack::RsRsMain | Stack::RsRsB)
    }
    /// Served by the `--server-b` binary.
    fn b_server(self) -> bool {
        matches!(self, Stack::RsRsB | Stack::PyRsB)
    }
}

/// What a figure is.
struct Scn {
    id: &'static str,
    label: &'static str,
    unit: &'static str,
    higher_is_better: bool,
}

const SCNS: &[Scn] = &[
    Scn {
        id: "floor_rt1",
        label: "floor: 8-byte ping-pong, 1 in flight",
        unit: "µs",
        higher_is_better: false,
    },
    Scn {
        id: "floor_64_1w",
        label: "floor: 64 in flight, 1 write / 64 msgs",
        unit: "msg/s",
        higher_is_better: true,
    },
    Scn {
        id: "floor_64_nw",
        label: "floor: 64 in flight, 1 write / msg",
        unit: "msg/s",
        higher_is_better: true,
    },
    Scn {
        id: "call",
        label: "(1) root.add(1, 2)",
        unit: "µs",
        higher_is_better: false,
    },
    Scn {
        id: "call_typed",
        label: "(1t) root.add(1, 2), typed client (#[rpyc::remote])",
        unit: "µs",
        higher_is_better: false,
    },
    Scn {
        id: "call_sync",
        label: "(1s) root.block(0): a synchronous method",
        unit: "µs",
        higher_is_better: false,
    },
    Scn {
        id: "ping",
        label: "(2) conn.ping()",
        unit: "µs",
        higher_is_better: false,
    },
    Scn {
        id: "async64",
        label: "(3) add(1, 2), 64 async in flight",
        unit: "call/s",
        higher_is_better: true,
    },
    Scn {
        id: "callback",
        label: "(4) root.call(f, 1): server calls f",
        unit: "µs",
        higher_is_better: false,
    },
    Scn {
        id: "echo_rand",
        label: "(5) echo 1 MiB random bytes",
        unit: "MB/s",
        higher_is_better: true,
    },
    Scn {
        id: "echo_zero",
        label: "(5) echo 1 MiB zeros",
        unit: "MB/s",
        higher_is_better: true,
    },
    Scn {
        id: "getattr",
        label: "(6) root.the_answer",
        unit: "µs",
        higher_is_better: false,
    },
    Scn {
        id: "concurrent",
        label: "(7) N clients × K add() calls, total",
        unit: "call/s",
        higher_is_better: true,
    },
    Scn {
        id: "concurrent_srv_cpu",
        label: "(7) server CPU during it",
        unit: "% core",
        higher_is_better: false,
    },
    Scn {
        id: "objects",
        label: "(8) make_counter() + release",
        unit: "obj/s",
        higher_is_better: true,
    },
    Scn {
        id: "objects_mem",
        label: "(8) server peak RSS growth",
        unit: "MiB",
        higher_is_better: false,
    },
    Scn {
        id: "idle",
        label: "(9) idle connections: server RSS",
        unit: "KiB/conn",
        higher_is_better: false,
    },
];

fn scn(id: &str) -> &'static Scn {
    SCNS.iter().find(|s| s.id == id).expect("known scenario")
}

/// One figure of one measurement.
struct Sample {
    scenario: &'static str,
    stack: &'static str,
    round: usize,
    value: f64,
    load1: f64,
}

/// Collects figures, writing each as a JSON line as it comes.
struct Recorder {
    run_id: String,
    samples: Vec<Sample>,
    out: Option<std::fs::File>,
    errors: Vec<String>,
}

impl Recorder {
    fn write(&mut self, mut line: Json) {
        line["run_id"] = json!(self.run_id);
        if let Some(f) = self.out.as_mut() {
            let _ = writeln!(f, "{line}");
        }
    }

    fn add(
        &mut self,
        scenario: &'static str,
        stack: &'static str,
        round: usize,
        value: f64,
        load1: f64,
        detail: Json,
    ) {
        let s = scn(scenario);
        eprintln!(
            "  round {round}: {:<22} {:<10} {:>12} {:<8} (load {load1:.2})",
            s.id,
            stack,
            fmt_num(value),
            s.unit
        );
        self.write(json!({
            "kind": "sample", "time": now_secs(), "scenario": scenario, "stack": stack,
            "round": round, "value": value, "unit": s.unit, "load1": load1, "detail": detail,
        }));
        self.samples.push(Sample {
            scenario,
            stack,
            round,
            value,
            load1,
        });
    }

    fn error(&mut self, scenario: &str, stack: &str, round: usize, e: &Error) {
        let msg = format!("{scenario} {stack} round {round}: {e}");
        eprintln!("  ERROR {msg}");
        self.write(
            json!({"kind": "error", "time": now_secs(), "scenario": scenario,
                          "stack": stack, "round": round, "error": e.to_string()}),
        );
        self.errors.push(msg);
    }

    /// (median, min, max, median load, rounds) of a scenario × stack.
    fn summary(&self, scenario: &str, stack: &str) -> Option<(f64, f64, f64, f64, usize)> {
        let v: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| s.scenario == scenario && s.stack == stack)
            .collect();
        if v.is_empty() {
            return None;
        }
        let (med, min, max) = stats::med_min_max(&v.iter().map(|s| s.value).collect::<Vec<_>>());
        let (load, _, _) = stats::med_min_max(&v.iter().map(|s| s.load1).collect::<Vec<_>>());
        Some((med, min, max, load, v.len()))
    }

    fn median(&self, scenario: &str, stack: &str) -> Option<f64> {
        self.summary(scenario, stack).map(|s| s.0)
    }

    fn value(&self, scenario: &str, stack: &str, round: usize) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| s.scenario == scenario && s.stack == stack && s.round == round)
            .map(|s| s.value)
    }

    /// `a ÷ b` per round (both measured within seconds of each other), as (median, min, max,
    /// pairs): robust to the machine's drift from round to round.
    fn paired(&self, a: (&str, &str), b: (&str, &str)) -> Option<(f64, f64, f64, usize)> {
        let ratios: Vec<f64> = self
            .samples
            .iter()
            .filter(|s| s.scenario == a.0 && s.stack == a.1)
            .filter_map(|s| Some(s.value / self.value(b.0, b.1, s.round)?))
            .filter(|r| r.is_finite())
            .collect();
        if ratios.is_empty() {
            return None;
        }
        let (m, lo, hi) = stats::med_min_max(&ratios);
        Some((m, lo, hi, ratios.len()))
    }
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        "-".into()
    } else if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn script_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Some(Cmd::FloorServer { unix }) = cli.cmd {
        return match floor::serve(unix) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("floor-server: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    // A multi-thread runtime like `#[tokio::main]` (one worker per core); the harness's own
    // control flow runs on this (main) thread, which also spawns every child process.
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = cli.client_workers {
        builder.worker_threads(n.max(1));
    }
    let rt = match builder.build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rpyc-bench: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rpyc-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The `rpyc-server` binary: given, or beside this executable (built first when run by cargo).
fn locate_server(cli: &Cli) -> Res<PathBuf> {
    if let Some(p) = &cli.server_bin {
        return Ok(p.clone());
    }
    let exe = std::env::current_exe()?;
    let dir = exe.parent().ok_or("no executable directory")?;
    let candidate = dir.join("rpyc-server");
    if dir.file_name().and_then(|n| n.to_str()) != Some("release") {
        eprintln!(
            "warning: rpyc-bench is not a release build: numbers are meaningless (use --release)"
        );
    }
    // `cargo run` sets CARGO: build the server into the same target directory (a no-op when
    // it is up to date), so it matches the sources being benchmarked.
    if let (false, Ok(cargo), Some(target_dir)) =
        (cli.no_build, std::env::var("CARGO"), dir.parent())
    {
        let release = dir.file_name().and_then(|n| n.to_str()) == Some("release");
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-q", "-p", "rpyc-server", "--manifest-path"])
            .arg(workspace_root().join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", target_dir);
        if release {
            cmd.arg("--release");
        }
        // --discovery registers the servers in etcd when this harness was built to measure it.
        if cli.discovery && cfg!(feature = "etcd") {
            cmd.args(["--features", "etcd"]);
        }
        eprintln!(
            "building rpyc-server ({})",
            if release { "release" } else { "debug" }
        );
        let status = cmd.status()?;
        if !status.success() {
            return Err("cargo build -p rpyc-server failed".into());
        }
    }
    if candidate.exists() {
        Ok(candidate)
    } else {
        Err(format!(
            "{} not found: build both with `cargo build --release -p rpyc-server -p rpyc-bench` \
             (or pass --server-bin)",
            candidate.display()
        )
        .into())
    }
}

/// The Python interpreter, if it imports rpyc (its version is returned).
fn locate_python(cli: &Cli) -> Option<(PathBuf, String)> {
    let py = cli
        .python
        .clone()
        .or_else(|| std::env::var_os("RPYC_BENCH_PYTHON").map(PathBuf::from))
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"));
    let out = Command::new(&py)
        .args(["-c", "import rpyc; print(rpyc.__version__)"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some((py, String::from_utf8_lossy(&out.stdout).trim().to_string()))
}

fn start_rust_server(bin: &Path, env: &[String]) -> Res<(ChildProc, String)> {
    let mut cmd = Command::new(bin);
    for kv in env {
        let (k, v) = kv.split_once('=').ok_or("--server-b-env takes KEY=VALUE")?;
        cmd.env(k, v);
    }
    cmd.args(["--service", "test", "--host", "127.0.0.1", "--port", "0"])
        .args(["--max-connections", "15000"]);
    let mut p = ChildProc::spawn("rpyc-server", cmd)?;
    let addr = p.wait_listening(Duration::from_secs(10))?;
    Ok((p, addr))
}

fn start_python_server(py: &Path) -> Res<(ChildProc, String)> {
    let mut cmd = Command::new(py);
    cmd.arg("-u")
        .arg(script_dir().join("bench_server.py"))
        .args(["--host", "127.0.0.1", "--port", "0"]);
    let mut p = ChildProc::spawn("python server", cmd)?;
    let addr = p.wait_listening(Duration::from_secs(20))?;
    Ok((p, addr))
}

fn split_addr(addr: &str) -> Res<(String, u16)> {
    let (h, p) = addr.rsplit_once(':').ok_or("bad address")?;
    Ok((
        h.trim_matches(|c| c == '[' || c == ']').to_string(),
        p.parse()?,
    ))
}

struct Ctx {
    plan: Plan,
    rec: Recorder,
    py: Option<PyDriver>,
}

impl Ctx {
    /// Runs one scenario command with the stack's client; the answer's JSON.
    async fn client(&mut self, stack: Stack, cmd: Json, timeout: Duration) -> Res<Json> {
        if stack == Stack::RsRsMain {
            // Awaited right here, on the thread that runs `block_on`.
            within(timeout, rsclient::run(&cmd)).await
        } else if stack.rust_client() {
            // A spawned task, as a server or a real application runs its calls.
            spawn_within(timeout, async move { rsclient::run(&cmd).await }).await
        } else {
            self.py.as_mut().ok_or("no python")?.run(&cmd, timeout)
        }
    }
}

/// `fut`, given at most `timeout`: its error or the timeout.
async fn within<T>(timeout: Duration, fut: impl Future<Output = Res<T>>) -> Res<T> {
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| format!("timed out after {timeout:?}"))?
}

/// `fut` run in a spawned task, given at most `timeout`: its error, its panic or the timeout
/// (the task is left running then).
async fn spawn_within<T: Send + 'static>(
    timeout: Duration,
    fut: impl Future<Output = Res<T>> + Send + 'static,
) -> Res<T> {
    let task = tokio::spawn(fut);
    within(timeout, async { task.await? }).await
}

fn figure(scenario: &str, res: &Json) -> Res<f64> {
    let key = match scenario {
        "echo_rand" | "echo_zero" => "mb_per_s",
        "async64" | "concurrent" | "objects" => "rate",
        _ => "median_us",
    };
    res.get(key)
        .and_then(Json::as_f64)
        .ok_or_else(|| format!("no {key} in {res}").into())
}

fn wanted(cli: &Cli, name: &str) -> bool {
    cli.only.is_empty() || cli.only.iter().any(|o| o == name)
}

async fn run(cli: Cli) -> Res<()> {
    let mut plan = if cli.full {
        Plan::full()
    } else {
        Plan::quick()
    };
    if let Some(r) = cli.rounds {
        plan.rounds = r.max(1);
    }
    if let Some(s) = cli.seconds {
        plan.seconds = s.max(0.01);
        plan.echo_seconds = s.max(0.01);
        plan.lat_n = plan.lat_n.max((s * 200_000.0) as u64);
    }
    let server_bin = locate_server(&cli)?;
    if cli.soak {
        let opts = soak::Opts {
            seconds: cli.soak_seconds.max(1.0),
            clients: cli.soak_clients.max(1),
            max_growth_pct: cli.soak_max_growth,
        };
        let out = (!cli.no_save).then(|| workspace_root().join(&cli.out));
        return soak::run(&server_bin, &opts, out).await;
    }
    if cli.streams {
        let opts = streams::Opts {
            items: cli.streams_items.max(1),
            max_growth_mib: cli.streams_max_growth,
        };
        let out = (!cli.no_save).then(|| workspace_root().join(&cli.out));
        let python = locate_python(&cli).map(|p| p.0);
        return streams::run(&server_bin, python.as_deref(), &opts, out).await;
    }
    if cli.discovery {
        let opts = discovery::Opts {
            rounds: cli.rounds.unwrap_or(7).max(1),
            connects: cli.discovery_connects.max(1),
            failovers: cli.discovery_failovers.max(1),
            ttl: cli.discovery_ttl.max(2),
        };
        let out = (!cli.no_save).then(|| workspace_root().join(&cli.out));
        return discovery::run(&server_bin, &opts, out).await;
    }
    let python = locate_python(&cli);
    let mut stacks: Vec<Stack> = STACKS
        .iter()
        .copied()
        .filter(|s| cli.stacks.is_empty() || cli.stacks.iter().any(|x| x == s.id()))
        .filter(|s| !s.b_server() || cli.server_b.is_some())
        .collect();
    if python.is_none() {
        eprintln!(
            "warning: no Python with rpyc found (run scripts/setup-python.sh or pass --python): \
             Python stacks skipped"
        );
        stacks.retain(|s| !s.needs_python());
    }
    let any_rust_server = stacks.iter().any(|s| s.rust_server());
    let any_py_server = stacks.iter().any(|s| !s.rust_server());

    let ws = workspace_root();
    let out_path = if cli.out.is_absolute() {
        cli.out.clone()
    } else {
        ws.join(&cli.out)
    };
    let out = if cli.no_save {
        None
    } else {
        if let Some(d) = out_path.parent() {
            std::fs::create_dir_all(d)?;
        }
        Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&out_path)?,
        )
    };
    let run_id = format!("{}-{}", now_secs() as u64, std::process::id());
    let git = Command::new("git")
        .arg("-C")
        .arg(&ws)
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_default();
    let ncpu = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut rec = Recorder {
        run_id: run_id.clone(),
        samples: Vec::new(),
        out,
        errors: Vec::new(),
    };
    rec.write(json!({
        "kind": "run", "time": now_secs(), "git": git, "plan": plan, "cpus": ncpu,
        "cpu_model": cpu_model, "rpyc_python": python.as_ref().map(|p| p.1.clone()),
        "stacks": stacks.iter().map(|s| s.id()).collect::<Vec<_>>(), "load1": procs::load1(),
        "placement": cli.placement,
    }));
    eprintln!(
        "rpyc-bench {} run {run_id} ({git}), {ncpu} CPUs ({cpu_model}), Python rpyc {}",
        plan.mode,
        python.as_ref().map(|p| p.1.as_str()).unwrap_or("absent"),
    );
    let py_path = python.as_ref().map(|p| p.0.clone());
    let mut ctx = Ctx {
        plan: plan.clone(),
        rec,
        py: py_path.as_ref().map(|p| PyDriver::new(p, &script_dir())),
    };
    let started = Instant::now();

    // Long-lived servers for scenarios 1-7.
    let (rs_srv, rs_addr) = if any_rust_server {
        let (p, a) = start_rust_server(&server_bin, &[])?;
        (Some(p), a)
    } else {
        (None, String::new())
    };
    let (rs_b_srv, rs_b_addr) = match (&cli.server_b, stacks.iter().any(|s| s.b_server())) {
        (Some(b), true) => {
            let (p, a) = start_rust_server(b, &cli.server_b_env)?;
            (Some(p), a)
        }
        _ => (None, String::new()),
    };
    let (py_srv, py_addr) = match (&py_path, any_py_server) {
        (Some(py), true) => {
            let (p, a) = start_python_server(py)?;
            (Some(p), a)
        }
        _ => (None, String::new()),
    };
    let floor_sock =
        std::env::temp_dir().join(format!("rpyc-bench-floor-{}.sock", std::process::id()));
    let floor_srv = if [
        "floor",
        "call",
        "call_typed",
        "call_sync",
        "ping",
        "async64",
        "callback",
        "getattr",
        "echo",
    ]
    .iter()
    .any(|f| wanted(&cli, f))
    {
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.arg("floor-server").arg("--unix").arg(&floor_sock);
        let mut p = ChildProc::spawn("floor server", cmd)?;
        let a = p.wait_listening(Duration::from_secs(10))?;
        Some((p, a))
    } else {
        None
    };
    // Placement for scenarios 1-6: servers started above, clients in this process and in the
    // Python driver (started later by this process, so it inherits the clients' CPUs).
    let server_pids: Vec<u32> = [&rs_srv, &rs_b_srv, &py_srv]
        .into_iter()
        .flatten()
        .map(ChildProc::pid)
        .chain(floor_srv.as_ref().map(|(p, _)| p.pid()))
        .collect();
    let placed = cli.placement.cpus();
    if let Some((client_cpus, server_cpus)) = &placed {
        procs::pin(None, Some(client_cpus))?;
        for pid in &server_pids {
            procs::pin(Some(*pid), Some(server_cpus))?;
        }
        eprintln!(
            "placement {:?}: clients on CPU {client_cpus:?}, servers on CPU {server_cpus:?}",
            cli.placement
        );
    }
    let addr_of = |s: Stack| {
        if s.b_server() {
            rs_b_addr.clone()
        } else if s.rust_server() {
            rs_addr.clone()
        } else {
            py_addr.clone()
        }
    };

    let per_call: [(&'static str, Json); 9] = [
        ("call", json!({"scenario": "call"})),
        // The same call through the typed client `#[rpyc::remote]` generates (Rust clients only).
        ("call_typed", json!({"scenario": "call_typed"})),
        // The same round trip through a synchronous method not marked inline: the hop to a
        // blocking thread and back.
        ("call_sync", json!({"scenario": "call_sync"})),
        ("ping", json!({"scenario": "ping"})),
        (
            "async64",
            json!({"scenario": "async64", "window": 64, "n": 1_000_000}),
        ),
        ("callback", json!({"scenario": "callback"})),
        (
            "echo_rand",
            json!({"scenario": "echo", "kind": "rand", "size": 1 << 20, "warmup": 3}),
        ),
        (
            "echo_zero",
            json!({"scenario": "echo", "kind": "zero", "size": 1 << 20, "warmup": 3}),
        ),
        ("getattr", json!({"scenario": "getattr"})),
    ];

    // Scenarios 1-6 and the floor: every stack in turn within a round (A B C D A B C D …),
    // the order rotated each round.
    for round in 1..=plan.rounds {
        eprintln!("round {round}/{} (load {:.2})", plan.rounds, procs::load1());
        if let (Some((_, faddr)), true) = (&floor_srv, wanted(&cli, "floor")) {
            measure_floor(&mut ctx, round, faddr, &floor_sock).await;
        }
        for (id, base) in &per_call {
            let family = if id.starts_with("echo") { "echo" } else { id };
            if !wanted(&cli, family) {
                continue;
            }
            // rs-rs is measured interleaved with the raw TCP floor (A B A B … in chunks of a
            // few ms, see `rsclient::paired`): the machine's wake-up latency drifts within
            // seconds, so only a floor measured in the same window gives a meaningful ratio.
            let pair_floor: &[&'static str] = match (*id, &floor_srv) {
                (
                    "call" | "call_typed" | "call_sync" | "ping" | "callback" | "getattr",
                    Some(_),
                ) => &["floor_rt1"],
                ("async64", Some(_)) => &["floor_64_nw", "floor_64_1w"],
                ("echo_rand" | "echo_zero", Some(_)) => &["floor_echo"],
                _ => &[],
            };
            for i in 0..stacks.len() {
                let stack = stacks[(i + round) % stacks.len()];
                if *id == "call_typed" && stack.id().starts_with("py-") {
                    continue; // a typed client is a Rust client
                }
                let (host, port) = split_addr(&addr_of(stack))?;
                let mut cmd = base.clone();
                let secs = if family == "echo" {
                    plan.echo_seconds
                } else {
                    plan.seconds
                };
                cmd["host"] = json!(host);
                cmd["port"] = json!(port);
                cmd["seconds"] = json!(secs);
                if cmd.get("n").is_none() {
                    cmd["n"] = json!(if family == "echo" { 1000 } else { plan.lat_n });
                }
                let load = procs::load1();
                if let (Stack::RsRs, Some((_, faddr)), Some((first, rest))) =
                    (stack, &floor_srv, pair_floor.split_first())
                {
                    for what in rest {
                        measure_floor_as(&mut ctx, id, what, round, faddr).await;
                    }
                    let (faddr, first) = (faddr.clone(), *first);
                    let r = spawn_within(Duration::from_secs_f64(secs + 60.0), async move {
                        rsclient::paired(&cmd, &faddr, first).await
                    })
                    .await;
                    match r
                        .and_then(|(ours, fl)| Ok((figure(id, &ours)?, ours, figure(id, &fl)?, fl)))
                    {
                        Ok((v, ours, fv, fl)) => {
                            ctx.rec.add(id, "floor-tcp", round, fv, load, fl);
                            ctx.rec.add(id, stack.id(), round, v, load, ours);
                        }
                        Err(e) => ctx.rec.error(id, stack.id(), round, &e),
                    }
                    continue;
                }
                match ctx
                    .client(stack, cmd, Duration::from_secs_f64(secs + 60.0))
                    .await
                {
                    Ok(res) => match figure(id, &res) {
                        Ok(v) => ctx.rec.add(id, stack.id(), round, v, load, res),
                        Err(e) => ctx.rec.error(id, stack.id(), round, &e),
                    },
                    Err(e) => ctx.rec.error(id, stack.id(), round, &e),
                }
            }
        }
    }

    // Scenarios 7-9 use every CPU.
    if placed.is_some() {
        procs::pin(None, None)?;
        for pid in server_pids
            .iter()
            .copied()
            .chain(ctx.py.as_ref().and_then(PyDriver::pid))
        {
            procs::pin(Some(pid), None)?;
        }
    }

    // Scenarios 7-9 do not depend on where the client awaits: one Rust client stack.
    let stacks7: Vec<Stack> = stacks
        .iter()
        .copied()
        .filter(|s| *s != Stack::RsRsMain)
        .collect();

    // (7) Many clients at once.
    if wanted(&cli, "concurrent") {
        for round in 1..=plan.conc_rounds {
            eprintln!(
                "concurrent round {round}/{} (load {:.2})",
                plan.conc_rounds,
                procs::load1()
            );
            for i in 0..stacks7.len() {
                let stack = stacks7[(i + round) % stacks7.len()];
                let srv_pid = if stack.b_server() {
                    rs_b_srv.as_ref()
                } else if stack.rust_server() {
                    rs_srv.as_ref()
                } else {
                    py_srv.as_ref()
                }
                .map(ChildProc::pid)
                .ok_or("server missing")?;
                let (host, port) = split_addr(&addr_of(stack))?;
                let cmd = json!({"scenario": "concurrent", "host": host, "port": port,
                                 "clients": plan.conc_clients, "calls": plan.conc_calls,
                                 "procs": plan.conc_clients, "seconds": plan.conc_seconds});
                let load = procs::load1();
                let cpu0 = procs::cpu_seconds(srv_pid)?;
                let r = ctx
                    .client(
                        stack,
                        cmd,
                        Duration::from_secs_f64(plan.conc_seconds + 120.0),
                    )
                    .await;
                let cpu = procs::cpu_seconds(srv_pid)? - cpu0;
                match r {
                    Ok(mut res) => {
                        let el = res["elapsed_s"].as_f64().unwrap_or(f64::NAN);
                        let n = res["n"].as_f64().unwrap_or(f64::NAN);
                        res["server_cpu_s"] = json!(cpu);
                        res["server_cpu_us_per_call"] = json!(cpu / n * 1e6);
                        let v = res["rate"].as_f64().unwrap_or(f64::NAN);
                        let pct = cpu / el * 100.0;
                        ctx.rec
                            .add("concurrent", stack.id(), round, v, load, res.clone());
                        ctx.rec
                            .add("concurrent_srv_cpu", stack.id(), round, pct, load, res);
                    }
                    Err(e) => ctx.rec.error("concurrent", stack.id(), round, &e),
                }
            }
        }
    }
    drop(floor_srv);
    let _ = std::fs::remove_file(&floor_sock);
    drop(rs_srv);
    drop(rs_b_srv);
    drop(py_srv);

    // (8) and (9): a fresh server per measurement, so that its memory figures are its own.
    for (name, rounds) in [("objects", plan.obj_rounds), ("idle", plan.idle_rounds)] {
        if !wanted(&cli, name) {
            continue;
        }
        for round in 1..=rounds {
            eprintln!("{name} round {round}/{rounds} (load {:.2})", procs::load1());
            for i in 0..stacks7.len() {
                let stack = stacks7[(i + round) % stacks7.len()];
                let (bin, env) = match (&cli.server_b, stack.b_server()) {
                    (Some(b), true) => (b.clone(), cli.server_b_env.clone()),
                    _ => (server_bin.clone(), Vec::new()),
                };
                let r = fresh_server_scenario(
                    &mut ctx,
                    name,
                    stack,
                    round,
                    (&bin, &env),
                    py_path.as_deref(),
                )
                .await;
                if let Err(e) = r {
                    ctx.rec.error(name, stack.id(), round, &e);
                }
            }
        }
    }

    let elapsed = started.elapsed();
    report(&mut ctx, &stacks, elapsed, cli.placement);
    if !ctx.rec.errors.is_empty() {
        println!("\n{} measurement(s) failed:", ctx.rec.errors.len());
        for e in &ctx.rec.errors {
            println!("  {}", e.lines().next().unwrap_or(""));
        }
    }
    if !cli.no_save {
        println!(
            "\nJSON lines appended to {} (run_id {run_id})",
            out_path.display()
        );
    }
    Ok(())
}

async fn measure_floor(ctx: &mut Ctx, round: usize, tcp_addr: &str, sock: &Path) {
    for unix in [false, true] {
        let stack = if unix { "floor-unix" } else { "floor-tcp" };
        for what in ["floor_rt1", "floor_64_1w", "floor_64_nw"] {
            let load = procs::load1();
            match floor_measurement(&ctx.plan, what, tcp_addr, unix.then_some(sock)).await {
                Ok((v, detail)) => ctx.rec.add(what, stack, round, v, load, detail),
                Err(e) => ctx.rec.error(what, stack, round, &e),
            }
        }
    }
}

/// A TCP floor measurement recorded beside scenario `scenario` (stack `floor-tcp`, or
/// `floor-tcp-1w` for the coalesced pipelined variant), for the paired ratios.
async fn measure_floor_as(
    ctx: &mut Ctx,
    scenario: &'static str,
    what: &'static str,
    round: usize,
    tcp_addr: &str,
) {
    let stack = if what == "floor_64_1w" {
        "floor-tcp-1w"
    } else {
        "floor-tcp"
    };
    let load = procs::load1();
    match floor_measurement(&ctx.plan, what, tcp_addr, None).await {
        Ok((v, mut detail)) => {
            detail["floor"] = json!(what);
            ctx.rec.add(scenario, stack, round, v, load, detail)
        }
        Err(e) => ctx.rec.error(scenario, stack, round, &e),
    }
}

/// One floor measurement `what` on a fresh connection to the floor server: over TCP to
/// `tcp_addr`, or over the Unix socket `unix`. Returns (figure, detail).
async fn floor_measurement(
    plan: &Plan,
    what: &'static str,
    tcp_addr: &str,
    unix: Option<&Path>,
) -> Res<(f64, Json)> {
    let budget = Duration::from_secs_f64(plan.seconds);
    let n = plan.lat_n as usize;
    let tcp_addr = tcp_addr.to_string();
    let unix = unix.map(Path::to_path_buf);
    spawn_within(budget + Duration::from_secs(30), async move {
        match unix {
            Some(sock) => {
                let mut s = tokio::net::UnixStream::connect(&sock).await?;
                floor_one(&mut s, what, n, budget).await
            }
            None => {
                let mut s = tokio::net::TcpStream::connect(&tcp_addr).await?;
                s.set_nodelay(true)?;
                floor_one(&mut s, what, n, budget).await
            }
        }
    })
    .await
}

async fn floor_one<S>(s: &mut S, what: &str, n: usize, budget: Duration) -> Res<(f64, Json)>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if what == "floor_rt1" {
        let lat = floor::one_in_flight(s, n, budget).await?;
        let sum = lat.summary();
        Ok((sum["median_us"].as_f64().unwrap_or(f64::NAN), sum))
    } else {
        let (rate, msgs) = floor::pipelined(s, what == "floor_64_1w", n, budget).await?;
        Ok((
            rate,
            json!({"n": msgs, "rate": rate, "window": floor::WINDOW}),
        ))
    }
}

/// Scenario 8 or 9 for one stack against a fresh server process.
async fn fresh_server_scenario(
    ctx: &mut Ctx,
    name: &'static str,
    stack: Stack,
    round: usize,
    (server_bin, server_env): (&Path, &[String]),
    py: Option<&Path>,
) -> Res<()> {
    let (srv, addr) = if stack.rust_server() {
        start_rust_server(server_bin, server_env)?
    } else {
        start_python_server(py.ok_or("no python")?)?
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let pid = srv.pid();
    let (base_rss, _) = procs::mem_kib(pid)?;
    let (host, port) = split_addr(&addr)?;
    let load = procs::load1();
    if name == "objects" {
        let cmd = json!({"scenario": "objects", "host": host, "port": port,
                         "n": ctx.plan.obj_n, "seconds": ctx.plan.obj_seconds});
        let mut res = ctx
            .client(
                stack,
                cmd,
                Duration::from_secs_f64(ctx.plan.obj_seconds + 120.0),
            )
            .await?;
        let (rss, hwm) = procs::mem_kib(pid)?;
        res["server_base_rss_kib"] = json!(base_rss);
        res["server_peak_rss_kib"] = json!(hwm);
        res["server_rss_after_kib"] = json!(rss);
        let rate = figure("objects", &res)?;
        let peak_mib = hwm.saturating_sub(base_rss) as f64 / 1024.0;
        ctx.rec
            .add("objects", stack.id(), round, rate, load, res.clone());
        ctx.rec
            .add("objects_mem", stack.id(), round, peak_mib, load, res);
    } else {
        let n = ctx.plan.idle_n;
        let cmd = json!({"scenario": "idle", "host": host, "port": port, "n": n});
        let t0 = Instant::now();
        // Open and hold; then let the server settle and read its memory.
        let held = if stack.rust_client() {
            let conns = spawn_within(Duration::from_secs(300), async move {
                rsclient::open_idle(&cmd).await
            })
            .await
            .map_err(|e| format!("opening connections: {e}"))?;
            Some(conns)
        } else {
            ctx.py
                .as_mut()
                .ok_or("no python")?
                .run(&cmd, Duration::from_secs(300))?;
            None
        };
        let open_s = t0.elapsed().as_secs_f64();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (rss, hwm) = procs::mem_kib(pid)?;
        match held {
            Some(conns) => drop(conns),
            None => {
                ctx.py
                    .as_mut()
                    .ok_or("no python")?
                    .release(Duration::from_secs(120))?;
            }
        }
        let per_conn = rss.saturating_sub(base_rss) as f64 / n as f64;
        ctx.rec.add(
            "idle",
            stack.id(),
            round,
            per_conn,
            load,
            json!({
                "n": n, "server_base_rss_kib": base_rss, "server_rss_kib": rss,
                "server_peak_rss_kib": hwm, "open_s": open_s,
            }),
        );
    }
    drop(srv);
    Ok(())
}

/// The table, the ratios and the targets.
fn report(ctx: &mut Ctx, stacks: &[Stack], elapsed: Duration, placement: Placement) {
    let plan = &ctx.plan;
    let rec = &ctx.rec;
    println!();
    println!(
        "Placement of scenarios 1-6: {}.",
        match placement.cpus() {
            Some((c, s)) => format!("{placement:?} (clients on CPU {c:?}, servers on CPU {s:?})"),
            None => "free (the kernel's choice)".to_string(),
        }
    );
    println!(
        "rpyc-bench --{} ({} rounds{}), {:.0} s. Medians over rounds, min–max, and the 1-min \
         load average beside each figure.",
        plan.mode,
        plan.rounds,
        if plan.mode == "quick" {
            format!(
                "; QUICK: scenario 7 = {} clients × {} calls, 8 = {} objects, 9 = {} idle \
                 connections",
                plan.conc_clients, plan.conc_calls, plan.obj_n, plan.idle_n
            )
        } else {
            String::new()
        },
        elapsed.as_secs_f64()
    );
    println!(
        "Ratios are per round, median (min–max) over rounds. vs floor: latency ÷ the raw TCP \
         1-in-flight round trip (for (3): rate ÷ the raw rate with one write per message; for (5): \
         MB/s ÷ a raw 1 MiB echo); rs-rs is measured interleaved with the floor (A B A B …, 8 \
         operations a turn), the other stacks against the floor of the same round. vs py→py: \
         speed-up over Python RPyC in the same round (higher is better)."
    );
    println!();
    println!("| scenario | stack | median | min–max | unit | load | vs floor | vs py→py |");
    println!("|---|---|---:|---:|---|---:|---:|---:|");
    let mut summaries = Vec::new();
    let fmt_ratio = |r: Option<(f64, f64, f64, usize)>, digits: usize| {
        r.map(|(m, lo, hi, n)| {
            if n > 1 {
                format!("{m:.digits$}× ({lo:.digits$}–{hi:.digits$})")
            } else {
                format!("{m:.digits$}×")
            }
        })
        .unwrap_or_default()
    };
    for s in SCNS {
        let mut stack_ids: Vec<&str> = vec!["floor-tcp", "floor-tcp-1w", "floor-unix"];
        stack_ids.extend(stacks.iter().map(|s| s.id()));
        for st in stack_ids {
            let Some((med, min, max, load, n)) = rec.summary(s.id, st) else {
                continue;
            };
            let floor_ratio = match s.id {
                "call" | "call_typed" | "call_sync" | "ping" | "getattr" | "callback"
                | "async64" | "echo_rand" | "echo_zero"
                    if st != "floor-tcp" =>
                {
                    rec.paired((s.id, st), (s.id, "floor-tcp"))
                }
                _ => None,
            };
            let py_ratio = match s.id {
                _ if s.id.starts_with("floor") || st.starts_with("floor") => None,
                "objects_mem" | "idle" | "concurrent_srv_cpu" => None,
                _ if s.higher_is_better => rec.paired((s.id, st), (s.id, "py-py")),
                _ => rec.paired((s.id, "py-py"), (s.id, st)),
            };
            println!(
                "| {} | {} | {} | {}–{} | {} | {:.2} | {} | {} |",
                s.label,
                st,
                fmt_num(med),
                fmt_num(min),
                fmt_num(max),
                s.unit,
                load,
                fmt_ratio(floor_ratio, 2),
                fmt_ratio(py_ratio, 1),
            );
            summaries.push(json!({
                "kind": "summary", "scenario": s.id, "stack": st, "median": med, "min": min,
                "max": max, "rounds": n, "unit": s.unit, "load1_median": load,
                "vs_floor": floor_ratio.map(|r| r.0), "vs_python": py_ratio.map(|r| r.0),
                "mode": plan.mode,
            }));
        }
    }

    // A/B: the --server-b binary against the default one, per round.
    if stacks.iter().any(|s| s.b_server()) {
        println!(
            "\nB ÷ A (the --server-b binary against the default one; per-round ratios of the \
                  figures, > 1 means B is higher):\n"
        );
        println!("| scenario | rs-rsB ÷ rs-rs | py-rsB ÷ py-rs |");
        println!("|---|---:|---:|");
        for s in SCNS.iter().filter(|s| !s.id.starts_with("floor")) {
            let a = rec.paired((s.id, "rs-rsB"), (s.id, "rs-rs"));
            let b = rec.paired((s.id, "py-rsB"), (s.id, "py-rs"));
            if a.is_some() || b.is_some() {
                println!(
                    "| {} | {} | {} |",
                    s.label,
                    fmt_ratio(a, 2),
                    fmt_ratio(b, 2)
                );
            }
        }
    }

    // Targets of the issue, from this run's per-round ratios: (target, measured, unit, holds).
    let ratio = |sc: &str, a: &str, b: &str| rec.paired((sc, a), (sc, b)).map(|r| r.0);
    let m = |sc: &str, st: &str| rec.median(sc, st);
    let target = |name: &str, v: Option<f64>, unit: &'static str, holds: fn(f64) -> bool| {
        (name.to_string(), v, unit, v.map(holds))
    };
    let py_clients = ratio("concurrent", "py-rs", "py-py");
    let cpu = m("concurrent_srv_cpu", "py-rs");
    let targets = [
        target(
            "(1) rs→rs call ÷ floor round trip ≤ 1.2",
            ratio("call", "rs-rs", "floor-tcp"),
            "×",
            |r| r <= 1.2,
        ),
        target(
            "(1t) rs→rs typed call ÷ (1) call_method, per round ≤ 1.05",
            rec.paired(("call_typed", "rs-rs"), ("call", "rs-rs"))
                .map(|r| r.0),
            "×",
            |r| r <= 1.05,
        ),
        target(
            "(1s) rs→rs synchronous-method call ÷ floor round trip ≤ 1.3",
            ratio("call_sync", "rs-rs", "floor-tcp"),
            "×",
            |r| r <= 1.3,
        ),
        target(
            "(1) rs→rs speed-up over py→py ≥ 3",
            ratio("call", "py-py", "rs-rs"),
            "×",
            |r| r >= 3.0,
        ),
        target(
            "(3) rs→rs 64-in-flight rate ÷ floor rate with a write per message ≥ 1",
            ratio("async64", "rs-rs", "floor-tcp"),
            "×",
            |r| r >= 1.0,
        ),
        target(
            "(3) rs→rs speed-up over py→py ≥ 6",
            ratio("async64", "rs-rs", "py-py"),
            "×",
            |r| r >= 6.0,
        ),
        target(
            "(4) rs→rs callback ÷ floor round trip ≤ 2.5",
            ratio("callback", "rs-rs", "floor-tcp"),
            "×",
            |r| r <= 2.5,
        ),
        target(
            "(5) rs→rs echo_rand ≥ 1000 MB/s",
            m("echo_rand", "rs-rs"),
            "MB/s",
            |v| v >= 1000.0,
        ),
        target(
            "(5) rs→rs echo_zero ≥ 1000 MB/s",
            m("echo_zero", "rs-rs"),
            "MB/s",
            |v| v >= 1000.0,
        ),
        target(
            "(7) rs→rs total ÷ py→py total ≥ 20",
            ratio("concurrent", "rs-rs", "py-py"),
            "×",
            |r| r >= 20.0,
        ),
        (
            format!(
                "(7) Python clients not limited by our server (py→rs ≥ py→py, our server busy \
                 {}% of one core)",
                cpu.map(|c| format!("{c:.0}")).unwrap_or("?".into())
            ),
            py_clients,
            "×",
            py_clients.zip(cpu).map(|(r, c)| r >= 1.0 && c < 50.0),
        ),
        target(
            "(9) our server's memory per idle connection < 64 KiB",
            m("idle", "rs-rs").or(m("idle", "py-rs")),
            "KiB",
            |v| v < 64.0,
        ),
    ];
    println!("\nTargets (this run):\n");
    println!("| target | measured | holds |");
    println!("|---|---:|---|");
    let mut lines = Vec::new();
    for (name, v, unit, ok) in &targets {
        println!(
            "| {name} | {} {unit} | {} |",
            v.map(|v| format!("{v:.2}")).unwrap_or("-".into()),
            match ok {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "not measured",
            }
        );
        lines
            .push(json!({"kind": "target", "target": name, "value": v, "unit": unit, "holds": ok}));
    }
    for l in summaries.into_iter().chain(lines) {
        ctx.rec.write(l);
    }
}
