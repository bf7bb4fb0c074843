//! The printed report: the table, the A/B section and the targets, also written as JSON lines.

use std::time::Duration;

use serde_json::json;

use crate::cli::Placement;
use crate::record::fmt_num;
use crate::run::Ctx;
use crate::scenarios::SCNS;
use crate::stacks::Stack;

/// The table, the ratios and the targets.
pub(crate) fn report(ctx: &mut Ctx, stacks: &[Stack], elapsed: Duration, placement: Placement) {
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
                // A stack that cannot express a figure measured in this run: "—" and why.
                let ran = stacks.iter().any(|x| rec.summary(s.id, x.id()).is_some());
                if let Some(why) = stacks
                    .iter()
                    .find(|x| x.id() == st)
                    .and_then(|x| x.measures(s.id).err())
                    .filter(|_| ran)
                {
                    println!("| {} | {st} | — | | {} | | {why} | |", s.label, s.unit);
                    summaries.push(json!({
                        "kind": "summary", "scenario": s.id, "stack": st, "unsupported": true,
                        "reason": why, "mode": plan.mode,
                    }));
                }
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

    // Our client against Python's client, both against a Python server (with Nagle on, as
    // stock rpyc leaves it, and with TCP_NODELAY on).
    if stacks
        .iter()
        .any(|s| matches!(s, Stack::RsPy | Stack::RsPyN))
    {
        println!(
            "\nOur client ÷ Python's client against a Python server (per-round ratios of the \
             figures, > 1 means ours is faster):\n"
        );
        println!("| scenario | rs-py ÷ py-py (Nagle on) | rs-pyN ÷ py-pyN (TCP_NODELAY) |");
        println!("|---|---:|---:|");
        for s in SCNS.iter().filter(|s| !s.id.starts_with("floor")) {
            let speedup = |rs: &str, py: &str| {
                if s.higher_is_better {
                    rec.paired((s.id, rs), (s.id, py))
                } else {
                    rec.paired((s.id, py), (s.id, rs))
                }
            };
            let a = speedup("rs-py", "py-py");
            let b = speedup("rs-pyN", "py-pyN");
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

    // rpyc-rs against each peer stack, per round.
    let peers: Vec<&str> = stacks
        .iter()
        .filter(|s| s.peer().is_some())
        .map(|s| s.id())
        .collect();
    if !peers.is_empty() {
        println!(
            "\nvs peers: rs-rs against each peer stack in the same round, per-round ratios \
             oriented so that > 1 means rpyc-rs is ahead (latency: peer ÷ rs-rs; rates and MB/s: \
             rs-rs ÷ peer):\n"
        );
        println!("| scenario | {} |", peers.join(" | "));
        println!("|---|{}", "---:|".repeat(peers.len()));
        // The figures of the calls themselves (not the server's CPU share during (7)).
        let figures = SCNS.iter().filter(|s| {
            !s.id.starts_with("floor") && !matches!(s.id, "concurrent_srv_cpu" | "objects_mem")
        });
        for s in figures.filter(|s| stacks.iter().any(|x| rec.summary(s.id, x.id()).is_some())) {
            let cells: Vec<String> = stacks
                .iter()
                .filter(|p| p.peer().is_some())
                .map(|p| {
                    if let Err(why) = p.measures(s.id) {
                        return format!("— ({why})");
                    }
                    let r = if s.higher_is_better {
                        rec.paired((s.id, "rs-rs"), (s.id, p.id()))
                    } else {
                        rec.paired((s.id, p.id()), (s.id, "rs-rs"))
                    };
                    if let Some(r) = r {
                        summaries.push(json!({
                            "kind": "vs_peer", "scenario": s.id, "peer": p.id(),
                            "ratio": r.0, "min": r.1, "max": r.2, "rounds": r.3,
                            "mode": plan.mode,
                        }));
                    }
                    fmt_ratio(r, 2)
                })
                .collect();
            if cells.iter().any(|c| !c.is_empty()) {
                println!("| {} | {} |", s.label, cells.join(" | "));
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
            "(1) rs→rs call ÷ floor round trip ≤ 1.1",
            ratio("call", "rs-rs", "floor-tcp"),
            "×",
            |r| r <= 1.1,
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
            "(3) rs→rs 64-in-flight rate ÷ floor rate with one write per 64 messages ≥ 0.5",
            ratio("async64", "rs-rs", "floor-tcp-1w"),
            "×",
            |r| r >= 0.5,
        ),
        target(
            "(3) rs→rs speed-up over py→py ≥ 6",
            ratio("async64", "rs-rs", "py-py"),
            "×",
            |r| r >= 6.0,
        ),
        target(
            "(4) rs→rs callback ÷ floor round trip ≤ 2.1",
            ratio("callback", "rs-rs", "floor-tcp"),
            "×",
            |r| r <= 2.1,
        ),
        target(
            "(5) rs→rs echo_rand ÷ a raw 1 MiB echo ≥ 0.8",
            ratio("echo_rand", "rs-rs", "floor-tcp"),
            "×",
            |r| r >= 0.8,
        ),
        target(
            "(5) rs→rs echo_zero ÷ a raw 1 MiB echo ≥ 0.8",
            ratio("echo_zero", "rs-rs", "floor-tcp"),
            "×",
            |r| r >= 0.8,
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
            "Python client: sequential root.add, ours ÷ Python's server ≥ 1",
            ratio("call", "py-py", "py-rs"),
            "×",
            |r| r >= 1.0,
        ),
        target(
            "Python client: 64 async in flight, ours ÷ Python's server ≥ 1",
            ratio("async64", "py-rs", "py-py"),
            "×",
            |r| r >= 1.0,
        ),
        target(
            "Python client: 1 MiB random echo, ours ÷ Python's server ≥ 1",
            ratio("echo_rand", "py-rs", "py-py"),
            "×",
            |r| r >= 1.0,
        ),
        target(
            "(9) our server's memory per idle connection ≤ 12 KiB",
            m("idle", "rs-rs").or(m("idle", "py-rs")),
            "KiB",
            |v| v <= 12.0,
        ),
    ];
    // Our client ahead of Python's against a Python server, either way it sets Nagle.
    let mut targets = targets.to_vec();
    for (server, rs, py) in [
        ("Nagle on", "rs-py", "py-py"),
        ("TCP_NODELAY", "rs-pyN", "py-pyN"),
    ] {
        for (sc, what, higher) in [
            ("call", "(1) root.add", false),
            ("async64", "(3) 64 async in flight", true),
            ("callback", "(4) callback", false),
            ("echo_rand", "(5) 1 MiB random echo", true),
        ] {
            let v = if higher {
                ratio(sc, rs, py)
            } else {
                ratio(sc, py, rs)
            };
            targets.push(target(
                &format!(
                    "{what}: our client ahead of Python's against a Python server ({server}), \
                     speed-up ≥ 1"
                ),
                v,
                "×",
                |r| r >= 1.0,
            ));
        }
    }
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
