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
}

pub(crate) const STACKS: [Stack; 7] = [
    Stack::RsRs,
    Stack::RsRsMain,
    Stack::PyPy,
    Stack::PyRs,
    Stack::RsPy,
    Stack::RsRsB,
    Stack::PyRsB,
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
        }
    }
    pub(crate) fn rust_client(self) -> bool {
        matches!(
            self,
            Stack::RsRs | Stack::RsRsMain | Stack::RsPy | Stack::RsRsB
        )
    }
    pub(crate) fn rust_server(self) -> bool {
        !matches!(self, Stack::PyPy | Stack::RsPy)
    }
    pub(crate) fn needs_python(self) -> bool {
        !matches!(self, Stack::RsRs | Stack::RsRsMain | Stack::RsRsB)
    }
    /// Served by the `--server-b` binary.
    pub(crate) fn b_server(self) -> bool {
        matches!(self, Stack::RsRsB | Stack::PyRsB)
    }
}
