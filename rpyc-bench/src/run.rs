//! The run: which stacks and servers, then every round of every scenario, interleaved
//! (A B C D A B C D …, the order rotated each round), then the report.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use crate::cli::{wanted, Cli, Plan};
use crate::peers::PeerDriver;
use crate::pydriver::PyDriver;
use crate::record::{now_secs, Recorder};
use crate::scenarios::{self, FLOOR_PAIRED};
use crate::servers::{locate_python, locate_server, ServerCmd, Servers};
use crate::stacks::{Stack, STACKS};
use crate::workspace_root;
use crate::{chart, discovery, measure, peers, procs, report, rsclient, soak, streams};
use crate::{script_dir, Res};

/// What every measurement of a run shares: its sizes, its figures, the Python client driver.
pub(crate) struct Ctx {
    pub(crate) plan: Plan,
    pub(crate) rec: Recorder,
    pub(crate) py: Option<PyDriver>,
    /// The peer stacks' client drivers (`--peers`).
    pub(crate) peers: Vec<PeerDriver>,
}

impl Ctx {
    /// Runs one scenario command with the stack's client; the answer's JSON.
    pub(crate) async fn client(&mut self, stack: Stack, cmd: Json, timeout: Duration) -> Res<Json> {
        if let Some(d) = self.peers.iter_mut().find(|d| d.stack() == stack) {
            d.run(&cmd, timeout)
        } else if stack == Stack::RsRsMain {
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
pub(crate) async fn within<T>(timeout: Duration, fut: impl Future<Output = Res<T>>) -> Res<T> {
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| format!("timed out after {timeout:?}"))?
}

/// `fut` run in a spawned task, given at most `timeout`: its error, its panic or the timeout
/// (the task is left running then).
pub(crate) async fn spawn_within<T: Send + 'static>(
    timeout: Duration,
    fut: impl Future<Output = Res<T>> + Send + 'static,
) -> Res<T> {
    let task = tokio::spawn(fut);
    within(timeout, async { task.await? }).await
}

/// The whole run the command line asks for.
pub(crate) async fn run(cli: Cli) -> Res<()> {
    let plan = Plan::for_cli(&cli);
    let server_bin = locate_server(&cli)?;
    let out = (!cli.no_save).then(|| out_path(&cli));
    if cli.soak {
        let opts = soak::Opts {
            seconds: cli.soak_seconds.max(1.0),
            clients: cli.soak_clients.max(1),
            max_growth_pct: cli.soak_max_growth,
        };
        return soak::run(&server_bin, &opts, out).await;
    }
    if cli.streams {
        let opts = streams::Opts {
            items: cli.streams_items.max(1),
            max_growth_mib: cli.streams_max_growth,
        };
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
        return discovery::run(&server_bin, &opts, out).await;
    }
    scenarios(&cli, plan, &server_bin, out).await
}

/// Where JSON lines go: `--out`, relative to the workspace root unless absolute.
fn out_path(cli: &Cli) -> PathBuf {
    if cli.out.is_absolute() {
        cli.out.clone()
    } else {
        workspace_root().join(&cli.out)
    }
}

/// `git describe` of the workspace, or "" outside a checkout.
fn git_describe() -> String {
    Command::new("git")
        .arg("-C")
        .arg(workspace_root())
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// The CPU's model name from /proc/cpuinfo, or "".
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_default()
}

/// Scenarios 1-9 for the chosen stacks.
async fn scenarios(cli: &Cli, plan: Plan, server_bin: &Path, out: Option<PathBuf>) -> Res<()> {
    let python = locate_python(cli);
    let mut stacks: Vec<Stack> = STACKS
        .iter()
        .copied()
        .filter(|s| cli.stacks.is_empty() || cli.stacks.iter().any(|x| x == s.id()))
        .filter(|s| !s.b_server() || cli.server_b.is_some())
        .filter(|s| s.peer().is_none() || cli.peers || cli.stacks.iter().any(|x| x == s.id()))
        .collect();
    if python.is_none() {
        eprintln!(
            "warning: no Python with rpyc found (run scripts/setup-python.sh or pass --python): \
             Python stacks skipped"
        );
        stacks.retain(|s| !s.needs_python());
    }
    let run_id = format!("{}-{}", now_secs() as u64, std::process::id());
    let git = git_describe();
    let cpu_model = cpu_model();
    let ncpu = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut rec = Recorder::open(run_id.clone(), out.as_deref())?;
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
    let peer_bin = if stacks.iter().any(|s| s.peer().is_some()) {
        Some(peers::build()?)
    } else {
        None
    };
    let mut ctx = Ctx {
        plan: plan.clone(),
        rec,
        py: py_path.as_ref().map(|p| PyDriver::new(p, &script_dir())),
        peers: peer_bin
            .iter()
            .flat_map(|bin| {
                stacks
                    .iter()
                    .filter(|s| s.peer().is_some())
                    .map(|&s| PeerDriver::new(bin.clone(), s))
            })
            .collect(),
    };
    let started = Instant::now();

    // Long-lived servers for scenarios 1-7 (and the floor's echo server when a scenario
    // compares with it).
    let with_floor = wanted(cli, "floor")
        || FLOOR_PAIRED
            .iter()
            .any(|id| wanted(cli, scenarios::family(id)));
    let server_a = ServerCmd::a(server_bin);
    let server_b = ServerCmd::b(cli);
    let servers = Servers::start(
        (&server_a, server_b.as_ref()),
        py_path.as_deref(),
        peer_bin.as_deref(),
        &stacks,
        with_floor,
    )?;
    // Placement for scenarios 1-6: servers started above, clients in this process and in the
    // Python driver (started later by this process, so it inherits the clients' CPUs).
    let placed = cli.placement.cpus();
    if let Some((client_cpus, server_cpus)) = &placed {
        procs::pin(None, Some(client_cpus))?;
        for pid in servers.pids() {
            procs::pin(Some(pid), Some(server_cpus))?;
        }
        eprintln!(
            "placement {:?}: clients on CPU {client_cpus:?}, servers on CPU {server_cpus:?}",
            cli.placement
        );
    }

    // Scenarios 1-6 and the floor.
    for round in 1..=plan.rounds {
        eprintln!("round {round}/{} (load {:.2})", plan.rounds, procs::load1());
        if let (Some(floor), true) = (&servers.floor, wanted(cli, "floor")) {
            measure::floor(&mut ctx, round, &floor.addr, &floor.sock).await;
        }
        measure::per_call_round(&mut ctx, cli, &servers, &stacks, round).await?;
    }

    // Scenarios 7-9 use every CPU.
    if placed.is_some() {
        procs::pin(None, None)?;
        for pid in servers
            .pids()
            .into_iter()
            .chain(ctx.py.as_ref().and_then(PyDriver::pid))
            .chain(ctx.peers.iter().filter_map(PeerDriver::pid))
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
    if wanted(cli, "concurrent") {
        for round in 1..=plan.conc_rounds {
            eprintln!(
                "concurrent round {round}/{} (load {:.2})",
                plan.conc_rounds,
                procs::load1()
            );
            for i in 0..stacks7.len() {
                let stack = stacks7[(i + round) % stacks7.len()];
                measure::concurrent(&mut ctx, &servers, stack, round).await?;
            }
        }
    }
    drop(servers);

    // (8) and (9): a fresh server per measurement, so that its memory figures are its own.
    for (name, rounds) in [("objects", plan.obj_rounds), ("idle", plan.idle_rounds)] {
        if !wanted(cli, name) {
            continue;
        }
        for round in 1..=rounds {
            eprintln!("{name} round {round}/{rounds} (load {:.2})", procs::load1());
            let ours: Vec<Stack> = stacks7
                .iter()
                .copied()
                .filter(|s| s.peer().is_none())
                .collect();
            for i in 0..ours.len() {
                let stack = ours[(i + round) % ours.len()];
                let server = match (&server_b, stack.b_server()) {
                    (Some(b), true) => b,
                    _ => &server_a,
                };
                let r = measure::fresh_server_scenario(
                    &mut ctx,
                    name,
                    stack,
                    round,
                    server,
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
    report::report(&mut ctx, &stacks, elapsed, cli.placement);
    let chart_path = cli.chart.clone().or_else(|| {
        let out = out.as_ref()?;
        let stem = out.file_stem()?.to_string_lossy();
        Some(out.with_file_name(format!("{stem}-{run_id}.svg")))
    });
    if let Some(path) = chart_path {
        let ids: Vec<&str> = stacks.iter().map(|s| s.id()).collect();
        let title = format!(
            "rpyc-bench --{} {git}: cost ÷ the raw-socket floor",
            plan.mode
        );
        match chart::draw(&ctx.rec, &ids, &title, &path) {
            Ok(true) => println!("\nChart: {}", path.display()),
            Ok(false) => {}
            Err(e) => eprintln!("warning: chart {}: {e}", path.display()),
        }
    }
    if !ctx.rec.errors.is_empty() {
        println!("\n{} measurement(s) failed:", ctx.rec.errors.len());
        for e in &ctx.rec.errors {
            println!("  {}", e.lines().next().unwrap_or(""));
        }
    }
    if let Some(out) = out {
        println!(
            "\nJSON lines appended to {} (run_id {run_id})",
            out.display()
        );
    }
    Ok(())
}
