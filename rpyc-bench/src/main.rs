//! `rpyc-bench`: rpyc-rs beside Python RPyC 6 and the raw-socket floor, measured in one run on
//! one machine, interleaved, reported as medians, min–max and ratios.
//!
//! ```text
//! cargo run --release -p rpyc-bench -- --quick     # ~2-3 minutes, scaled-down 7-9
//! cargo run --release -p rpyc-bench -- --full      # the issue's sizes
//! cargo run --release -p rpyc-bench -- --soak      # 100 clients, 60 s, RSS growth check
//! cargo run --release -p rpyc-bench -- --streams   # 10^6 items streamed each way, RSS watched
//! cargo run --release -p rpyc-bench --features etcd -- --discovery   # by name vs by address, failover
//! cargo run --release -p rpyc-bench -- --peers    # also tarpc, capnp-rpc, remoc (rpyc-bench/peers)
//! ```
//!
//! Stacks: the floor (raw tokio TCP / Unix ping-pong), rs→rs (our client → `rpyc-server
//! --service test`), py→py (stock RPyC client → stock `ThreadedServer`), and the mixed pairs
//! py→rs and rs→py, and py→pyN, rs→pyN against Python's server with `TCP_NODELAY` on. Servers run as child processes; Rust clients run in this process, Python
//! clients in `python/bench_client.py`. Results are printed as a table and appended as JSON
//! lines to `bench-results/results.jsonl`. See `README.md` beside this crate.
//!
//! # Layout
//!
//! | module | what it holds |
//! |---|---|
//! | `cli` | the command line, placement of processes on CPUs, the sizes of a run (`Plan`) |
//! | `run` | one run: stacks and servers, then every round of every scenario, interleaved |
//! | `measure` | one measurement: the floor, a round of scenarios 1-6, (7), (8)-(9) on a fresh server |
//! | `scenarios` | what each figure is, its client command, the floor it is paired with |
//! | `stacks` | the client → server pairings |
//! | `servers` | the server processes (`rpyc-server` A and B, Python's, the floor's) |
//! | `record` | every figure as a JSON line, and the per-round ratios |
//! | `report` | the printed table, the A/B section and the targets |
//! | `chart` | the run's SVG chart: each stack's cost ÷ the floor, per scenario |
//! | `rsclient` | our client's side of every scenario (also alone: `rpyc-bench client JSON`) |
//! | `pydriver` | client driver processes (JSON lines): the Python client and the peer stacks' clients |
//! | `peers` | `--peers`: builds `rpyc-bench/peers` (tarpc, capnp-rpc, remoc), runs its drivers |
//! | `floor` | the raw-socket floor: its echo server and its client loops |
//! | `procs` | child processes, CPU pinning, RSS and CPU time from /proc |
//! | `stats` | medians, quantiles |
//! | `soak`, `streams`, `discovery` | the `--soak`, `--streams` and `--discovery` modes |

mod chart;
mod cli;
mod discovery;
mod floor;
mod measure;
mod peers;
mod procs;
mod pydriver;
mod record;
mod report;
mod rsclient;
mod run;
mod scenarios;
mod servers;
mod soak;
mod stacks;
mod stats;
mod streams;

use std::path::{Path, PathBuf};

use clap::Parser;

use crate::cli::{Cli, Cmd};

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Res<T> = Result<T, Error>;

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
    if let Some(Cmd::Client { json }) = &cli.cmd {
        return match rt.block_on(rsclient::run_alone(json)) {
            Ok(out) => {
                println!("{out}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("rpyc-bench client: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    match rt.block_on(run::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rpyc-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
