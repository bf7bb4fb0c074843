//! The peer RPC stacks (`--peers`): tarpc, capnp-rpc and remoc, from the crate
//! `rpyc-bench/peers` (its own workspace and lockfile, so the rpyc-rs workspace and CI never
//! compile them). This module builds that crate, and runs its client driver, one long-lived
//! `rpyc-bench-peers client --stack S` process per stack that answers the same JSON-lines
//! commands as the Python driver.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::Value as Json;

use crate::procs::ChildProc;
use crate::pydriver::Driver;
use crate::stacks::Stack;
use crate::{workspace_root, Res};

/// Builds the peer crate (release, into `target/peers` of the workspace) and returns its
/// binary.
pub(crate) fn build() -> Res<PathBuf> {
    let root = workspace_root();
    let target = root.join("target").join("peers");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("building rpyc-bench-peers (release, {})", target.display());
    let status = Command::new(cargo)
        .args(["build", "--release", "-q", "--manifest-path"])
        .arg(root.join("rpyc-bench/peers/Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .status()?;
    if !status.success() {
        return Err("cargo build --manifest-path rpyc-bench/peers/Cargo.toml failed".into());
    }
    let bin = target.join("release").join("rpyc-bench-peers");
    if !bin.exists() {
        return Err(format!("{} not found after its build", bin.display()).into());
    }
    Ok(bin)
}

/// Starts `rpyc-bench-peers server --stack S` on a free loopback port; (process, address).
pub(crate) fn start_server(bin: &std::path::Path, stack: Stack) -> Res<(ChildProc, String)> {
    let name = stack.peer().ok_or("not a peer stack")?;
    let mut cmd = Command::new(bin);
    cmd.args([
        "server",
        "--stack",
        name,
        "--host",
        "127.0.0.1",
        "--port",
        "0",
    ]);
    let mut p = ChildProc::spawn(&format!("{name} server"), cmd)?;
    let addr = p.wait_listening(Duration::from_secs(10))?;
    Ok((p, addr))
}

/// One peer stack's client driver process (`rpyc-bench-peers client --stack NAME`), started
/// on first use.
pub(crate) struct PeerDriver {
    stack: Stack,
    driver: Driver,
}

impl PeerDriver {
    pub(crate) fn new(bin: PathBuf, stack: Stack) -> Self {
        let name = stack.peer().unwrap_or("?");
        let args = ["client".into(), "--stack".into(), name.into()];
        PeerDriver {
            stack,
            driver: Driver::command(bin, &args, &format!("{name} client")),
        }
    }

    /// The stack it drives.
    pub(crate) fn stack(&self) -> Stack {
        self.stack
    }

    /// The driver's process id, once started.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.driver.pid()
    }

    /// Sends a command and waits (at most `timeout`) for its JSON answer.
    pub(crate) fn run(&mut self, cmd: &Json, timeout: Duration) -> Res<Json> {
        self.driver.run(cmd, timeout)
    }
}
