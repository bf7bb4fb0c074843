//! One measurement at a time: the floor, a round of scenarios 1-6 on every stack, (7) many
//! clients, and (8)-(9) against a fresh server.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use crate::cli::{wanted, Cli, Plan};
use crate::floor as raw;
use crate::procs;
use crate::pydriver::PyDriver;
use crate::rsclient;
use crate::run::{spawn_within, Ctx};
use crate::scenarios::{family, figure, paired_floors, per_call};
use crate::servers::{split_addr, start_python_server, ServerCmd, Servers};
use crate::stacks::Stack;
use crate::Res;

/// The floor's own figures (TCP and Unix; 1 in flight, 64 in flight two ways) for one round.
pub(crate) async fn floor(ctx: &mut Ctx, round: usize, tcp_addr: &str, sock: &Path) {
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
pub(crate) async fn floor_as(
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
        let lat = raw::one_in_flight(s, n, budget).await?;
        let sum = lat.summary();
        Ok((sum["median_us"].as_f64().unwrap_or(f64::NAN), sum))
    } else {
        let (rate, msgs) = raw::pipelined(s, what == "floor_64_1w", n, budget).await?;
        Ok((
            rate,
            json!({"n": msgs, "rate": rate, "window": raw::WINDOW}),
        ))
    }
}

/// Scenario 8 or 9 for one stack against a fresh server process.
pub(crate) async fn fresh_server_scenario(
    ctx: &mut Ctx,
    name: &'static str,
    stack: Stack,
    round: usize,
    server: &ServerCmd,
    py: Option<&Path>,
) -> Res<()> {
    let (srv, addr) = if stack.rust_server() {
        server.start()?
    } else {
        start_python_server(py.ok_or("no python")?, stack.nodelay_python())?
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

/// Scenarios 1-6 of one round: every figure, every stack in turn (the order rotated each round).
pub(crate) async fn per_call_round(
    ctx: &mut Ctx,
    cli: &Cli,
    servers: &Servers,
    stacks: &[Stack],
    round: usize,
) -> Res<()> {
    for (id, base) in &per_call() {
        let family = family(id);
        if !wanted(cli, family) {
            continue;
        }
        let floor_addr = servers.floor.as_ref().map(|f| f.addr.as_str());
        for i in 0..stacks.len() {
            let stack = stacks[(i + round) % stacks.len()];
            if *id == "call_typed" && !stack.rust_client() {
                continue; // a typed client is a Rust client
            }
            if stack.measures(id) != Ok(true) {
                continue; // a peer's other figures; the table says why a peer cannot
            }
            let (host, port) = split_addr(&servers.of(stack)?.addr)?;
            let secs = if family == "echo" {
                ctx.plan.echo_seconds
            } else {
                ctx.plan.seconds
            };
            let mut cmd = base.clone();
            cmd["host"] = json!(host);
            cmd["port"] = json!(port);
            cmd["seconds"] = json!(secs);
            if cmd.get("n").is_none() {
                cmd["n"] = json!(if family == "echo" {
                    1000
                } else {
                    ctx.plan.lat_n
                });
            }
            let timeout = Duration::from_secs_f64(secs + 60.0);
            match (stack, floor_addr, paired_floors(id).split_first()) {
                (Stack::RsRs, Some(faddr), Some((first, rest))) => {
                    for what in rest {
                        floor_as(ctx, id, what, round, faddr).await;
                    }
                    paired_with_floor(ctx, (id, stack), round, cmd, (faddr, first), timeout).await;
                }
                _ => {
                    let load = procs::load1();
                    // The client's CPU time: this process, or the Python driver once started.
                    let cpu_pid = ctx.py.as_ref().and_then(PyDriver::pid);
                    let client_cpu = || {
                        procs::threads_cpu_ns(if stack.rust_client() { None } else { cpu_pid })
                            .ok()
                            .filter(|_| stack.rust_client() || cpu_pid.is_some())
                    };
                    let cpu0 = client_cpu();
                    match ctx.client(stack, cmd, timeout).await {
                        Ok(mut res) => match figure(id, &res) {
                            Ok(v) => {
                                let n = res["n"].as_f64().filter(|n| *n > 0.0);
                                if let (Some(c0), Some(c1), Some(n)) = (cpu0, client_cpu(), n) {
                                    let per_op = c1.saturating_sub(c0) as f64 / 1e3 / n;
                                    res["client_cpu_us_per_op"] = json!(per_op);
                                    if *id == "async64" {
                                        let detail = res.clone();
                                        ctx.rec.add(
                                            "async64_cpu",
                                            stack.id(),
                                            round,
                                            per_op,
                                            load,
                                            detail,
                                        );
                                    }
                                }
                                ctx.rec.add(id, stack.id(), round, v, load, res)
                            }
                            Err(e) => ctx.rec.error(id, stack.id(), round, &e),
                        },
                        Err(e) => ctx.rec.error(id, stack.id(), round, &e),
                    }
                }
            }
        }
    }
    Ok(())
}

/// Figure `id` of our client measured interleaved with the floor's `floor_what` (A B A B …):
/// both are recorded, the floor as stack `floor-tcp`.
async fn paired_with_floor(
    ctx: &mut Ctx,
    (id, stack): (&'static str, Stack),
    round: usize,
    cmd: Json,
    (faddr, floor_what): (&str, &'static str),
    timeout: Duration,
) {
    let load = procs::load1();
    let faddr = faddr.to_string();
    let r = spawn_within(timeout, async move {
        rsclient::paired(&cmd, &faddr, floor_what).await
    })
    .await;
    match r.and_then(|(ours, fl)| Ok((figure(id, &ours)?, ours, figure(id, &fl)?, fl))) {
        Ok((v, ours, fv, fl)) => {
            ctx.rec.add(id, "floor-tcp", round, fv, load, fl);
            ctx.rec.add(id, stack.id(), round, v, load, ours);
        }
        Err(e) => ctx.rec.error(id, stack.id(), round, &e),
    }
}

/// (7) for one stack: many clients at once, with the server's CPU time over the measurement.
pub(crate) async fn concurrent(
    ctx: &mut Ctx,
    servers: &Servers,
    stack: Stack,
    round: usize,
) -> Res<()> {
    let plan: &Plan = &ctx.plan;
    let server = servers.of(stack)?;
    let srv_pid = server.proc.pid();
    let (host, port) = split_addr(&server.addr)?;
    let cmd = json!({"scenario": "concurrent", "host": host, "port": port,
                     "clients": plan.conc_clients, "calls": plan.conc_calls,
                     "procs": plan.conc_clients, "seconds": plan.conc_seconds});
    let timeout = Duration::from_secs_f64(plan.conc_seconds + 120.0);
    let load = procs::load1();
    let cpu0 = procs::cpu_seconds(srv_pid)?;
    let r = ctx.client(stack, cmd, timeout).await;
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
    Ok(())
}
