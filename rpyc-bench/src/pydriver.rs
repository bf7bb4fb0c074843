//! Client driver processes: one long-lived child that runs scenario commands (JSON lines in,
//! one JSON answer each), so that its start-up is paid once. The Python client
//! (`python/bench_client.py --serve`) and the peer stacks' clients (`rpyc-bench-peers client`)
//! are both driven this way.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value as Json;

use crate::procs::ChildProc;
use crate::Res;

/// A client driver process, started on first use and replaced after a failure.
pub struct Driver {
    program: OsString,
    args: Vec<OsString>,
    /// What it is, in messages (`python client`, `tarpc client`).
    label: String,
    proc: Option<ChildProc>,
}

/// The Python client driver.
pub type PyDriver = Driver;

impl Driver {
    /// A driver that runs `program args…`.
    pub fn command(program: impl Into<OsString>, args: &[OsString], label: &str) -> Self {
        Driver {
            program: program.into(),
            args: args.to_vec(),
            label: label.to_string(),
            proc: None,
        }
    }

    /// The Python client driver: `python -u script_dir/bench_client.py --serve`.
    pub fn new(python: &Path, script_dir: &Path) -> Self {
        let script = script_dir.join("bench_client.py");
        Driver::command(
            python,
            &["-u".into(), script.into_os_string(), "--serve".into()],
            "python client",
        )
    }

    /// The driver's process id, once started.
    pub fn pid(&self) -> Option<u32> {
        self.proc.as_ref().map(ChildProc::pid)
    }

    fn proc(&mut self) -> Res<&mut ChildProc> {
        if self.proc.is_none() {
            let mut cmd = Command::new(&self.program);
            cmd.args(&self.args);
            self.proc = Some(ChildProc::spawn(&format!("{} driver", self.label), cmd)?);
        }
        Ok(self.proc.as_mut().expect("just set"))
    }

    /// Sends a command and waits (at most `timeout`) for its JSON answer; an answer without
    /// `"ok": true` is an error (with its reason and, from Python, its traceback).
    pub fn run(&mut self, cmd: &Json, timeout: Duration) -> Res<Json> {
        let r = self.exchange(&cmd.to_string(), timeout);
        if r.is_err() {
            // A hung or dead driver is replaced for the next command.
            self.proc = None;
        }
        let v = r?;
        if v.get("ok").and_then(Json::as_bool) != Some(true) {
            let err = v.get("error").and_then(Json::as_str).unwrap_or("?");
            let tb = v.get("traceback").and_then(Json::as_str).unwrap_or("");
            return Err(format!("{}: {err}\n{tb}", self.label).into());
        }
        Ok(v)
    }

    fn exchange(&mut self, line: &str, timeout: Duration) -> Res<Json> {
        let label = self.label.clone();
        let p = self.proc()?;
        p.send_line(line)?;
        let answer = p.next_line(timeout)?;
        Ok(serde_json::from_str(&answer).map_err(|e| format!("{label} said {answer:?}: {e}"))?)
    }

    /// After an `idle` command answered `holding`: lets its connections go, returns the final
    /// answer.
    pub fn release(&mut self, timeout: Duration) -> Res<Json> {
        let r = self.exchange("release", timeout);
        if r.is_err() {
            self.proc = None;
        }
        r
    }
}
