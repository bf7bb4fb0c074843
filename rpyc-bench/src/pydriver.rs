//! The Python client driver (`python/bench_client.py --serve`), one long-lived process that
//! runs scenario commands (JSON lines) so that Python's start-up is paid once.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value as Json;

use crate::procs::ChildProc;
use crate::Res;

pub struct PyDriver {
    python: PathBuf,
    script: PathBuf,
    proc: Option<ChildProc>,
}

impl PyDriver {
    pub fn new(python: &Path, script_dir: &Path) -> Self {
        PyDriver {
            python: python.to_path_buf(),
            script: script_dir.join("bench_client.py"),
            proc: None,
        }
    }

    /// The driver's process id, once started.
    pub fn pid(&self) -> Option<u32> {
        self.proc.as_ref().map(ChildProc::pid)
    }

    fn proc(&mut self) -> Res<&mut ChildProc> {
        if self.proc.is_none() {
            let mut cmd = Command::new(&self.python);
            cmd.arg("-u").arg(&self.script).arg("--serve");
            self.proc = Some(ChildProc::spawn("python client driver", cmd)?);
        }
        Ok(self.proc.as_mut().expect("just set"))
    }

    /// Sends a command and waits (at most `timeout`) for its JSON answer.
    pub fn run(&mut self, cmd: &Json, timeout: Duration) -> Res<Json> {
        let r = self.exchange(cmd, timeout);
        if r.is_err() {
            // A hung or dead driver is replaced for the next command.
            self.proc = None;
        }
        let v = r?;
        if v.get("ok").and_then(Json::as_bool) != Some(true) {
            let err = v.get("error").and_then(Json::as_str).unwrap_or("?");
            let tb = v.get("traceback").and_then(Json::as_str).unwrap_or("");
            return Err(format!("python client: {err}\n{tb}").into());
        }
        Ok(v)
    }

    fn exchange(&mut self, cmd: &Json, timeout: Duration) -> Res<Json> {
        let p = self.proc()?;
        p.send_line(&cmd.to_string())?;
        let line = p.next_line(timeout)?;
        Ok(serde_json::from_str(&line).map_err(|e| format!("python client said {line:?}: {e}"))?)
    }

    /// After an `idle` command answered `holding`: lets its connections go, returns the final
    /// answer.
    pub fn release(&mut self, timeout: Duration) -> Res<Json> {
        let r = (|| {
            let p = self.proc()?;
            p.send_line("release")?;
            let line = p.next_line(timeout)?;
            Ok::<Json, crate::Error>(serde_json::from_str(&line)?)
        })();
        if r.is_err() {
            self.proc = None;
        }
        r
    }
}
