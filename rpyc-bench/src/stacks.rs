//! The client → server pairings (`Stack`): who the client is, who serves it.

/// A client → server pairing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stack {
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
    /// Python client → Python's server with `TCP_NODELAY` on its accepted sockets
    /// (`bench_server.py --nodelay`; stock rpyc leaves Nagle on).
    PyPyN,
    /// Our client → Python's server with `TCP_NODELAY` on.
    RsPyN,
    /// tarpc's client → tarpc's server (`--peers`; bincode over TCP).
    Tarpc,
    /// capnp-rpc's client → capnp-rpc's server (`--peers`; two-party over TCP).
    Capnp,
    /// remoc's client → remoc's server (`--peers`; `rtc` over TCP).
    Remoc,
}

pub(crate) const STACKS: [Stack; 12] = [
    Stack::RsRs,
    Stack::RsRsMain,
    Stack::PyPy,
    Stack::PyRs,
    Stack::RsPy,
    Stack::RsRsB,
    Stack::PyRsB,
    Stack::PyPyN,
    Stack::RsPyN,
    Stack::Tarpc,
    Stack::Capnp,
    Stack::Remoc,
];

/// The scenarios a peer stack is measured in: (1), (3), (4), (5) and (7).
const PEER_SCENARIOS: [&str; 6] = [
    "call",
    "async64",
    "callback",
    "echo_rand",
    "echo_zero",
    "concurrent",
];

impl Stack {
    pub(crate) fn id(self) -> &'static str {
        match self {
            Stack::RsRs => "rs-rs",
            Stack::RsRsMain => "rs-rs-main",
            Stack::RsRsB => "rs-rsB",
            Stack::PyRsB => "py-rsB",
            Stack::PyPy => "py-py",
            Stack::PyRs => "py-rs",
            Stack::RsPy => "rs-py",
            Stack::PyPyN => "py-pyN",
            Stack::RsPyN => "rs-pyN",
            Stack::Tarpc => "tarpc",
            Stack::Capnp => "capnp",
            Stack::Remoc => "remoc",
        }
    }

    /// A peer stack's name for `rpyc-bench-peers --stack` (None for ours and Python's).
    pub(crate) fn peer(self) -> Option<&'static str> {
        match self {
            Stack::Tarpc => Some("tarpc"),
            Stack::Capnp => Some("capnp"),
            Stack::Remoc => Some("remoc"),
            _ => None,
        }
    }

    /// Whether the stack is measured in figure `id`: `Err(reason)` when it cannot express
    /// it and the table says so, `Ok(false)` when the figure is simply not one of its own.
    pub(crate) fn measures(self, id: &str) -> Result<bool, &'static str> {
        match self {
            Stack::Tarpc if id == "callback" => Err("tarpc has no callbacks"),
            _ if self.peer().is_some() => Ok(PEER_SCENARIOS.contains(&id)),
            _ => Ok(true),
        }
    }

    pub(crate) fn rust_client(self) -> bool {
        matches!(
            self,
            Stack::RsRs | Stack::RsRsMain | Stack::RsPy | Stack::RsRsB | Stack::RsPyN
        )
    }

    /// Served by an `rpyc-server`.
    pub(crate) fn rust_server(self) -> bool {
        !self.python_server() && self.peer().is_none()
    }

    /// Served by Python's server (either one).
    pub(crate) fn python_server(self) -> bool {
        matches!(
            self,
            Stack::PyPy | Stack::RsPy | Stack::PyPyN | Stack::RsPyN
        )
    }

    pub(crate) fn needs_python(self) -> bool {
        self.python_server() || matches!(self, Stack::PyRs | Stack::PyRsB)
    }

    /// Served by the `--server-b` binary.
    pub(crate) fn b_server(self) -> bool {
        matches!(self, Stack::RsRsB | Stack::PyRsB)
    }

    /// Served by Python's server with `TCP_NODELAY` on (`bench_server.py --nodelay`).
    pub(crate) fn nodelay_python(self) -> bool {
        matches!(self, Stack::PyPyN | Stack::RsPyN)
    }
}
