//! What each figure is (`SCNS`: id, label, unit, direction) and how a client's answer gives it.

use serde_json::{json, Value as Json};

use crate::Res;

/// What a figure is.
pub(crate) struct Scn {
    pub(crate) id: &'static str,
    pub(crate) label: &'static str,
    pub(crate) unit: &'static str,
    pub(crate) higher_is_better: bool,
}

pub(crate) const SCNS: &[Scn] = &[
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
        id: "async64_cpu",
        label: "(3) client CPU per call, 64 in flight",
        unit: "µs",
        higher_is_better: false,
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

/// The figure `id` (a known one).
pub(crate) fn scn(id: &str) -> &'static Scn {
    SCNS.iter().find(|s| s.id == id).expect("known scenario")
}

/// The figure of scenario `scenario` in a client's answer.
pub(crate) fn figure(scenario: &str, res: &Json) -> Res<f64> {
    let key = match scenario {
        "echo_rand" | "echo_zero" => "mb_per_s",
        "async64" | "concurrent" | "objects" => "rate",
        _ => "median_us",
    };
    res.get(key)
        .and_then(Json::as_f64)
        .ok_or_else(|| format!("no {key} in {res}").into())
}

/// Scenarios 1-6: (figure id, the client command before host, port, seconds and n).
pub(crate) fn per_call() -> [(&'static str, Json); 9] {
    [
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
    ]
}

/// The figures of scenarios 1-6, each measured against the floor in the same round.
pub(crate) const FLOOR_PAIRED: [&str; 9] = [
    "call",
    "call_typed",
    "call_sync",
    "ping",
    "async64",
    "callback",
    "echo_rand",
    "echo_zero",
    "getattr",
];

/// The `--only` name a figure answers to (both echoes are `echo`).
pub(crate) fn family(id: &str) -> &str {
    if id.starts_with("echo") {
        "echo"
    } else {
        id
    }
}

/// The floor measurements rs-rs is paired with for figure `id`: the first is measured
/// interleaved with ours (A B A B … in chunks of a few ms, see `rsclient::paired`), the rest
/// beside it. The machine's wake-up latency drifts within seconds, so only a floor measured in
/// the same window gives a meaningful ratio.
pub(crate) fn paired_floors(id: &str) -> &'static [&'static str] {
    match id {
        "call" | "call_typed" | "call_sync" | "ping" | "callback" | "getattr" => &["floor_rt1"],
        "async64" => &["floor_64_nw", "floor_64_1w"],
        "echo_rand" | "echo_zero" => &["floor_echo"],
        _ => &[],
    }
}
