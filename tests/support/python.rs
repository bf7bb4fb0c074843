//! The Python interpreter of the interop tests, shared by every test crate of the workspace
//! (`#[path = ".../tests/support/python.rs"] mod python;`).
//!
//! The interop tests run real Python `rpyc` 6.0.2 from `<repo>/.venv`. On a fresh clone that
//! venv does not exist yet: the first test that needs it creates it by running
//! `scripts/setup-python.sh` (idempotent; a no-op once the venv is ready). Test binaries run as
//! parallel processes, so the script runs under an exclusive lock on the script file itself:
//! one process creates the venv, the others wait for it and then find it ready.
//!
//! If the venv cannot be made (no Python 3, no network for pip, …), the test process prints
//! one line saying what to run and exits with a failure at once: a plain `cargo test` then
//! fails once, with that line, instead of failing every interop test. No interop test is ever
//! skipped, so `scripts/test.sh` runs all of them or fails.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository root: the nearest directory above this crate holding
/// `scripts/setup-python.sh`.
pub fn repo_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .find(|dir| dir.join("scripts/setup-python.sh").is_file())
        .unwrap_or_else(|| panic!("no scripts/setup-python.sh above {}", here.display()))
        .to_path_buf()
}

/// `<repo>/.venv/bin/python`, with rpyc 6.0.2 and pytest installed (created on first use).
pub fn python() -> PathBuf {
    static READY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match READY.get_or_init(prepare) {
        Ok(python) => python.clone(),
        Err(why) => {
            // Straight to the process's stderr (the test harness captures `eprintln!`), then
            // one failure for the whole binary instead of one per test.
            let line = format!(
                "\nerror: the Python interop tests need {}/.venv with rpyc 6.0.2: {why}; \
                 run `scripts/setup-python.sh` (needs Python 3 with venv and pip)\n",
                repo_root().display()
            );
            let _ = std::io::stderr().write_all(line.as_bytes());
            std::process::exit(101);
        }
    }
}

/// Runs `scripts/setup-python.sh` under the lock and checks the interpreter it leaves.
fn prepare() -> Result<PathBuf, String> {
    let root = repo_root();
    let script = root.join("scripts/setup-python.sh");
    let lock = std::fs::File::open(&script)
        .map_err(|e| format!("cannot open {}: {e}", script.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", script.display()))?;
    let out = Command::new("bash")
        .arg(&script)
        .current_dir(&root)
        .output()
        .map_err(|e| format!("cannot run scripts/setup-python.sh: {e}"))?;
    drop(lock);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        return Err(format!(
            "scripts/setup-python.sh failed ({}): {}",
            out.status,
            last.trim()
        ));
    }
    let python = root.join(".venv/bin/python");
    if !python.exists() {
        return Err(format!("{} is missing after setup", python.display()));
    }
    Ok(python)
}

/// Serves `factory`'s service on 127.0.0.1 (a free port) in this process, runs the Python
/// `script` from the venv with that port in `PORT`, and fails the test with the script's output
/// unless it exits 0. What the interop tests of a service defined in Rust share.
pub fn run_python_client<S, F>(factory: F, script: &str)
where
    S: rpyc::Service,
    F: Fn() -> S + Send + Sync + 'static,
{
    run_python_client_with(rpyc::Config::default(), factory, script)
}

/// [`run_python_client`] with the server's configuration.
pub fn run_python_client_with<S, F>(config: rpyc::Config, factory: F, script: &str)
where
    S: rpyc::Service,
    F: Fn() -> S + Send + Sync + 'static,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt
        .block_on(rpyc::Server::bind("127.0.0.1:0"))
        .unwrap()
        .config(config);
    let port = server.local_addr().unwrap().port();
    let shutdown = server.shutdown_handle();
    let task = rt.spawn(server.serve(factory));
    rt.block_on(run_python_script(script, &[("PORT", port.to_string())]));
    shutdown.shutdown();
    let _ = rt.block_on(task);
}

/// Runs the Python `script` from the venv with `env` set and stdin closed, without blocking
/// the runtime (a server of the test may run on it); fails the test with the script's output
/// unless it exits 0, else returns its stdout's lines.
pub async fn run_python_script(script: &str, env: &[(&str, String)]) -> Vec<String> {
    let out = tokio::process::Command::new(python())
        .arg("-c")
        .arg(script)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "the Python script failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}
