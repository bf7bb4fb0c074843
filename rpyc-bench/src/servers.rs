//! The server processes of a run: `rpyc-server` (A, and B for A/B runs), Python's
//! `ThreadedServer` (`python/bench_server.py`, also with `--nodelay`) and the floor's echo server, started as children
//! and stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::cli::Cli;
use crate::procs::ChildProc;
use crate::stacks::Stack;
use crate::{script_dir, workspace_root, Res};

/// How to start one `rpyc-server`: its binary, extra environment and extra arguments.
#[derive(Debug, Clone)]
pub(crate) struct ServerCmd {
    pub(crate) bin: PathBuf,
    env: Vec<String>,
    args: Vec<String>,
}

impl ServerCmd {
    /// The server under test.
    pub(crate) fn a(bin: &Path) -> ServerCmd {
        ServerCmd {
            bin: bin.to_path_buf(),
            env: Vec::new(),
            args: Vec::new(),
        }
    }

    /// The `--server-b` binary with its `--server-b-env` and `--server-b-args`, if given.
    pub(crate) fn b(cli: &Cli) -> Option<ServerCmd> {
        Some(ServerCmd {
            bin: cli.server_b.clone()?,
            env: cli.server_b_env.clone(),
            args: cli.server_b_args.clone(),
        })
    }

    /// Starts it on a free loopback port with the `test` service; (process, address).
    pub(crate) fn start(&self) -> Res<(ChildProc, String)> {
        let mut cmd = Command::new(&self.bin);
        for kv in &self.env {
            let (k, v) = kv.split_once('=').ok_or("--server-b-env takes KEY=VALUE")?;
            cmd.env(k, v);
        }
        cmd.args(["--service", "test", "--host", "127.0.0.1", "--port", "0"])
            .args(["--max-connections", "15000"])
            .args(&self.args);
        let mut p = ChildProc::spawn("rpyc-server", cmd)?;
        let addr = p.wait_listening(Duration::from_secs(10))?;
        Ok((p, addr))
    }
}

/// A server process and the address it listens on.
pub(crate) struct Running {
    pub(crate) proc: ChildProc,
    pub(crate) addr: String,
}

/// The floor's echo server: TCP at `addr`, and a Unix socket at `sock`.
pub(crate) struct FloorServer {
    _proc: ChildProc,
    pub(crate) addr: String,
    pub(crate) sock: PathBuf,
}

impl Drop for FloorServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.sock);
    }
}

/// The long-lived servers of scenarios 1-7, each started only if a chosen stack needs it.
pub(crate) struct Servers {
    pub(crate) rs: Option<Running>,
    pub(crate) rs_b: Option<Running>,
    pub(crate) py: Option<Running>,
    /// Python's server with `TCP_NODELAY` on its accepted sockets.
    pub(crate) py_n: Option<Running>,
    /// The peer stacks' servers (`--peers`).
    pub(crate) peers: Vec<(Stack, Running)>,
    pub(crate) floor: Option<FloorServer>,
}

impl Servers {
    /// Starts what `stacks` talk to (the peers' servers from `peer_bin`); the floor's server
    /// too if `with_floor`.
    pub(crate) fn start(
        (a, b): (&ServerCmd, Option<&ServerCmd>),
        python: Option<&Path>,
        peer_bin: Option<&Path>,
        stacks: &[Stack],
        with_floor: bool,
    ) -> Res<Servers> {
        let run = |r: Res<(ChildProc, String)>| r.map(|(proc, addr)| Running { proc, addr });
        let rs = if stacks.iter().any(|s| s.rust_server() && !s.b_server()) {
            Some(run(a.start())?)
        } else {
            None
        };
        let rs_b = match (b, stacks.iter().any(|s| s.b_server())) {
            (Some(b), true) => Some(run(b.start())?),
            _ => None,
        };
        let py_server = |nodelay: bool| -> Res<Option<Running>> {
            let wanted = stacks
                .iter()
                .any(|s| s.python_server() && s.nodelay_python() == nodelay);
            match (python, wanted) {
                (Some(py), true) => Ok(Some(run(start_python_server(py, nodelay))?)),
                _ => Ok(None),
            }
        };
        let py = py_server(false)?;
        let py_n = py_server(true)?;
        let mut peers = Vec::new();
        for &s in stacks.iter().filter(|s| s.peer().is_some()) {
            let bin = peer_bin.ok_or("peer stacks need the rpyc-bench-peers binary")?;
            peers.push((s, run(crate::peers::start_server(bin, s))?));
        }
        let floor = if with_floor {
            let sock =
                std::env::temp_dir().join(format!("rpyc-bench-floor-{}.sock", std::process::id()));
            let mut cmd = Command::new(std::env::current_exe()?);
            cmd.arg("floor-server").arg("--unix").arg(&sock);
            let mut p = ChildProc::spawn("floor server", cmd)?;
            let addr = p.wait_listening(Duration::from_secs(10))?;
            Some(FloorServer {
                _proc: p,
                addr,
                sock,
            })
        } else {
            None
        };
        Ok(Servers {
            rs,
            rs_b,
            py,
            py_n,
            peers,
            floor,
        })
    }

    /// The server that `stack` talks to.
    pub(crate) fn of(&self, stack: Stack) -> Res<&Running> {
        if stack.peer().is_some() {
            self.peers.iter().find(|(s, _)| *s == stack).map(|(_, r)| r)
        } else if stack.b_server() {
            self.rs_b.as_ref()
        } else if stack.rust_server() {
            self.rs.as_ref()
        } else if stack.nodelay_python() {
            self.py_n.as_ref()
        } else {
            self.py.as_ref()
        }
        .ok_or_else(|| format!("no server for {}", stack.id()).into())
    }

    /// Every server's process id (for placement).
    pub(crate) fn pids(&self) -> Vec<u32> {
        [&self.rs, &self.rs_b, &self.py, &self.py_n]
            .into_iter()
            .flatten()
            .chain(self.peers.iter().map(|(_, r)| r))
            .map(|r| r.proc.pid())
            .chain(self.floor.as_ref().map(|f| f._proc.pid()))
            .collect()
    }
}

/// The `rpyc-server` binary: given, or beside this executable (built first when run by cargo).
pub(crate) fn locate_server(cli: &Cli) -> Res<PathBuf> {
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
pub(crate) fn locate_python(cli: &Cli) -> Option<(PathBuf, String)> {
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

/// Python's `ThreadedServer` (`bench_server.py`), with `TCP_NODELAY` on its accepted sockets
/// if `nodelay`.
pub(crate) fn start_python_server(py: &Path, nodelay: bool) -> Res<(ChildProc, String)> {
    let mut cmd = Command::new(py);
    cmd.arg("-u")
        .arg(script_dir().join("bench_server.py"))
        .args(["--host", "127.0.0.1", "--port", "0"]);
    if nodelay {
        cmd.arg("--nodelay");
    }
    let mut p = ChildProc::spawn("python server", cmd)?;
    let addr = p.wait_listening(Duration::from_secs(20))?;
    Ok((p, addr))
}

pub(crate) fn split_addr(addr: &str) -> Res<(String, u16)> {
    let (h, p) = addr.rsplit_once(':').ok_or("bad address")?;
    Ok((
        h.trim_matches(|c| c == '[' || c == ']').to_string(),
        p.parse()?,
    ))
}
