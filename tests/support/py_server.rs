//! A real Python rpyc 6.0.2 server for the `python_server_*.rs` tests
//! (`#[path = "support/py_server.rs"] mod py_server;`).
//!
//! Every test starts its own `tests/python/py_server.py` (a stock `ThreadedServer`, classic
//! mode on request) from the venv that `scripts/setup-python.sh` creates (run on first use by
//! `python.rs`), and talks to it only through the public `rpyc` API, the way a user's program
//! would. A venv that cannot be made or a missing `rpyc` package is a test failure (with
//! instructions), never a skip.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "python.rs"]
pub mod python;

use rpyc::{Connection, NetRef, Value};

const SETUP_HINT: &str = "run `scripts/setup-python.sh` (from the repository root) to create \
                          .venv with rpyc 6.0.2";

/// A running `py_server.py`; the process is killed when this guard is dropped.
pub struct PyServer {
    child: Child,
    /// `HOST:PORT`, as the server printed it.
    pub addr: String,
    stderr: Arc<Mutex<String>>,
}

impl PyServer {
    /// Starts `py_server.py --port 0` (plus `--classic` if asked) and waits (30 s at most) for
    /// its `listening on HOST:PORT` line.
    pub fn start(classic: bool) -> PyServer {
        PyServer::start_args(if classic { &["--classic"] } else { &[] })
    }

    /// Starts `py_server.py --port 0` with more arguments (`--classic-peer`,
    /// `--default-config`, `--unix PATH`, …) and waits (30 s at most) for its `listening on …`
    /// line; `addr` is what follows it.
    pub fn start_args(args: &[&str]) -> PyServer {
        let root = python::repo_root();
        let python = python::python();
        let script = root.join("tests/python/py_server.py");
        let mut cmd = Command::new(&python);
        cmd.arg(&script).args(["--port", "0"]).args(args);
        let mut child = cmd
            .current_dir(&root)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}; {SETUP_HINT}", python.display()));

        // Drain stderr for the whole life of the process (a full pipe would block Python) and
        // keep it for failure messages.
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("piped stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });

        // Read stdout on a thread so the wait can time out.
        let out_pipe = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out_pipe).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });

        let mut server = PyServer {
            child,
            addr: String::new(),
            stderr,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = line.trim().strip_prefix("listening on ") {
                        server.addr = addr.to_string();
                        return server;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    server.fail("did not print `listening on HOST:PORT` within 30 s")
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // Give the stderr thread a moment to collect the traceback.
                    let _ = server.child.wait();
                    std::thread::sleep(Duration::from_millis(100));
                    server.fail("exited before listening")
                }
            }
        }
    }

    fn fail(&self, what: &str) -> ! {
        let stderr = self.stderr.lock().unwrap().clone();
        let hint = if stderr.contains("No module named") {
            format!("the venv lacks the `rpyc` package: {SETUP_HINT}")
        } else {
            format!("if the venv is broken, {SETUP_HINT}")
        };
        panic!("tests/python/py_server.py {what}; {hint}\n--- server stderr ---\n{stderr}");
    }

    /// A new client connection to this server.
    pub async fn connect(&self) -> Connection {
        rpyc::connect(self.addr.as_str())
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the Python server at {}: {e}", self.addr))
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server, a connection to it and the connection's root (`conn.root`).
pub async fn session(classic: bool) -> (PyServer, Connection, NetRef) {
    let server = PyServer::start(classic);
    let conn = server.connect().await;
    let root = conn.root().await.expect("conn.root");
    (server, conn, root)
}

/// `v` as an int (panics otherwise).
pub fn int(v: Value) -> i64 {
    v.extract::<i64>().expect("an int")
}

/// `v` as a str (panics otherwise).
pub fn string(v: Value) -> String {
    v.extract::<String>().expect("a str")
}
