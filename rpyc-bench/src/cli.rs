//! The command line (`Cli`), where processes run (`Placement`) and the sizes of a run (`Plan`).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::procs;

/// Compare rpyc-rs with Python RPyC 6 and the raw-socket floor, in one interleaved run.
#[derive(Debug, Parser)]
#[command(name = "rpyc-bench", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) cmd: Option<Cmd>,
    /// Quick run (the default): 5 rounds of short measurements; scenarios 7-9 scaled down
    /// (20 clients × 200 calls, 10,000 objects, 1,000 idle connections).
    #[arg(long, conflicts_with = "full")]
    pub(crate) quick: bool,
    /// Full run: 10 rounds; scenarios 7-9 at the sizes (100 × 1,000 calls, 100,000
    /// objects, 10,000 idle connections).
    #[arg(long)]
    pub(crate) full: bool,
    /// Override the number of rounds of scenarios 1-6.
    #[arg(long)]
    pub(crate) rounds: Option<usize>,
    /// Override the number of rounds of scenario 7 (many clients at once).
    #[arg(long)]
    pub(crate) conc_rounds: Option<usize>,
    /// Override the time budget of each measurement of scenarios 1-6 (seconds).
    #[arg(long)]
    pub(crate) seconds: Option<f64>,
    /// Run only these scenarios (comma-separated): floor, call, call_sync, ping, async64,
    /// callback, echo, getattr, concurrent, objects, idle.
    #[arg(long, value_delimiter = ',')]
    pub(crate) only: Vec<String>,
    /// Run only these stacks (comma-separated): rs-rs, rs-rs-main, py-py, py-rs, rs-py,
    /// py-pyN, rs-pyN (Python's server with TCP_NODELAY on), rs-rsB, py-rsB (with
    /// --server-b), and tarpc, capnp, remoc (the peers, which naming one here also builds).
    #[arg(long, value_delimiter = ',')]
    pub(crate) stacks: Vec<String>,
    /// Python interpreter with rpyc 6.0.2 (default: `<workspace>/.venv/bin/python`, made by
    /// scripts/setup-python.sh; or $RPYC_BENCH_PYTHON).
    #[arg(long)]
    pub(crate) python: Option<PathBuf>,
    /// The `rpyc-server` binary (default: beside this executable).
    #[arg(long)]
    pub(crate) server_bin: Option<PathBuf>,
    /// A second `rpyc-server` binary to compare with (adds the stacks rs-rsB and py-rsB, measured
    /// interleaved with the others, and a B ÷ A section): for A/B runs of a server change.
    #[arg(long)]
    pub(crate) server_b: Option<PathBuf>,
    /// Environment variables (KEY=VALUE, repeatable) for the `--server-b` processes only.
    #[arg(long, value_name = "KEY=VALUE")]
    pub(crate) server_b_env: Vec<String>,
    /// Extra arguments for the `--server-b` processes only (repeatable; e.g. `--server-b-args
    /// --metrics --server-b-args 127.0.0.1:0` to measure the same binary with metrics on).
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub(crate) server_b_args: Vec<String>,
    /// Also measure the peer RPC stacks tarpc, capnp-rpc and remoc (stacks `tarpc`, `capnp`,
    /// `remoc`) in (1), (3), (4), (5) and (7); builds `rpyc-bench/peers` first (release, into
    /// `target/peers`).
    #[arg(long)]
    pub(crate) peers: bool,
    /// Do not run `cargo build -p rpyc-server` when started by `cargo run`.
    #[arg(long)]
    pub(crate) no_build: bool,
    /// JSON-lines file to append to (relative paths are from the workspace root).
    #[arg(long, default_value = "bench-results/results.jsonl")]
    pub(crate) out: PathBuf,
    /// Do not write JSON lines (nor the chart, unless --chart names it).
    #[arg(long)]
    pub(crate) no_save: bool,
    /// Where to draw the run's chart (SVG). Default: beside the JSON lines, named after the
    /// run (`bench-results/results-<run id>.svg`).
    #[arg(long, value_name = "PATH")]
    pub(crate) chart: Option<PathBuf>,
    /// Worker threads of this process's runtime, where the Rust clients run (default: one per
    /// core, like `#[tokio::main]`).
    #[arg(long)]
    pub(crate) client_workers: Option<usize>,
    /// Where processes run during scenarios 1-6: `split` (the default) pins every client to
    /// the first CPU and every server to the last, `shared` pins them all to the first CPU,
    /// `free` leaves placement to the kernel. See "Placement" in the README.
    #[arg(long, value_enum, default_value_t = Placement::Split)]
    pub(crate) placement: Placement,
    /// Soak instead of the scenarios: one rpyc-server, --soak-clients clients doing mixed
    /// calls for --soak-seconds, the server's RSS sampled every second; fails on RSS growth
    /// (see src/soak.rs).
    #[arg(long, conflicts_with_all = ["quick", "full", "only", "stacks"])]
    pub(crate) soak: bool,
    /// Measured time of the soak (after a warm-up of a tenth of it, at most 10 s).
    #[arg(long, default_value_t = 60.0)]
    pub(crate) soak_seconds: f64,
    /// Concurrent clients of the soak.
    #[arg(long, default_value_t = 100)]
    pub(crate) soak_clients: usize,
    /// Largest accepted growth of the server's median RSS, last third over first third (%).
    #[arg(long, default_value_t = 10.0)]
    pub(crate) soak_max_growth: f64,
    /// Streams instead of the scenarios: `numbers(n)` of our server read by our client and by
    /// a Python client (`rpyc.buffiter`), and a Python generator read by our client; items/s
    /// and the server's RSS before, during and after (see src/streams.rs).
    #[arg(long, conflicts_with_all = ["quick", "full", "only", "stacks", "soak"])]
    pub(crate) streams: bool,
    /// Items per stream of --streams.
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) streams_items: u64,
    /// Largest accepted growth of a server's RSS during or after a stream (MiB).
    #[arg(long, default_value_t = 16.0)]
    pub(crate) streams_max_growth: f64,
    /// Discovery instead of the scenarios: connect by service name vs by address, and failover
    /// after SIGKILL, through RPyC's registry and (built with `--features etcd`) a real etcd
    /// (see src/discovery.rs).
    #[arg(long, conflicts_with_all = ["quick", "full", "only", "stacks", "soak", "streams"])]
    pub(crate) discovery: bool,
    /// etcd lease TTL of --discovery (seconds).
    #[arg(long, default_value_t = 3)]
    pub(crate) discovery_ttl: u64,
    /// Connects per stack and round of --discovery.
    #[arg(long, default_value_t = 100)]
    pub(crate) discovery_connects: usize,
    /// Kills per backend of --discovery.
    #[arg(long, default_value_t = 5)]
    pub(crate) discovery_failovers: usize,
}

/// Where the clients and servers of scenarios 1-6 run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Placement {
    /// Clients on the first CPU, servers on the last: every message wakes the other CPU.
    Split,
    /// Everything on the first CPU: wake-ups are cheap, the figures are CPU work.
    Shared,
    /// The kernel decides (it may co-locate one server with the client and not another).
    Free,
}

impl Placement {
    /// (client CPUs, server CPUs), or `None` to leave placement alone.
    pub(crate) fn cpus(self) -> Option<(Vec<usize>, Vec<usize>)> {
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
pub(crate) enum Cmd {
    /// (internal) the floor's echo server.
    #[command(hide = true)]
    FloorServer {
        #[arg(long)]
        unix: Option<PathBuf>,
    },
    /// Runs one scenario command (the JSON the harness gives a client, e.g.
    /// `{"scenario":"async64","host":"127.0.0.1","port":18861,"seconds":2}`) with our client
    /// and prints its JSON answer with this process's CPU time per operation: for profiling
    /// our client alone (`strace -f -c`, `perf stat`, callgrind).
    Client {
        /// The command, as JSON.
        json: String,
    },
}

/// Sizes and budgets of a run.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Plan {
    pub(crate) mode: &'static str,
    pub(crate) rounds: usize,
    /// Per-measurement time budget (s) of scenarios 1-4, 6 and the floor.
    pub(crate) seconds: f64,
    /// Most operations per latency measurement.
    pub(crate) lat_n: u64,
    pub(crate) echo_seconds: f64,
    pub(crate) conc_rounds: usize,
    pub(crate) conc_clients: u64,
    pub(crate) conc_calls: u64,
    pub(crate) conc_seconds: f64,
    pub(crate) obj_rounds: usize,
    pub(crate) obj_n: u64,
    pub(crate) obj_seconds: f64,
    pub(crate) idle_rounds: usize,
    pub(crate) idle_n: u64,
}

impl Plan {
    /// `--quick` (the default) or `--full`, with `--rounds` and `--seconds` applied.
    pub(crate) fn for_cli(cli: &Cli) -> Plan {
        let mut plan = if cli.full {
            Plan::full()
        } else {
            Plan::quick()
        };
        if let Some(r) = cli.rounds {
            plan.rounds = r.max(1);
        }
        if let Some(r) = cli.conc_rounds {
            plan.conc_rounds = r.max(1);
        }
        if let Some(s) = cli.seconds {
            plan.seconds = s.max(0.01);
            plan.echo_seconds = s.max(0.01);
            plan.lat_n = plan.lat_n.max((s * 200_000.0) as u64);
        }
        plan
    }

    pub(crate) fn quick() -> Plan {
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

    pub(crate) fn full() -> Plan {
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

/// Whether `--only` asks for `name` (everything when it is absent).
pub(crate) fn wanted(cli: &Cli, name: &str) -> bool {
    cli.only.is_empty() || cli.only.iter().any(|o| o == name)
}
