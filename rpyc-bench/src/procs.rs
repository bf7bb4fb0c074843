//! Child processes (servers, the Python client driver) and what `/proc` says about them.
//!
//! Every child is started with `PR_SET_PDEATHSIG = SIGKILL` (it dies with the harness, even
//! when the harness is killed) and is owned by a [`ChildProc`], whose drop kills and reaps it.
//! Children are spawned from the main thread only: the death signal follows the thread that
//! forked, and the main thread lives as long as the harness.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use crate::Res;

/// A child process killed (SIGKILL) and reaped on drop.
pub struct ChildProc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl ChildProc {
    /// Spawns `cmd` with piped stdin/stdout (stderr inherited), dying with the harness.
    pub fn spawn(name: &str, mut cmd: Command) -> Res<ChildProc> {
        use std::os::unix::process::CommandExt;
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {name} ({cmd:?}): {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let stdin = child.stdin.take();
        let (tx, lines) = mpsc::channel();
        // Drains stdout for the child's whole life (a full pipe would block it).
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(ChildProc {
            name: name.to_string(),
            child,
            stdin,
            lines,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the next stdout line.
    pub fn next_line(&mut self, timeout: Duration) -> Res<String> {
        match self.lines.recv_timeout(timeout) {
            Ok(l) => Ok(l),
            Err(RecvTimeoutError::Timeout) => {
                Err(format!("{}: no output within {timeout:?}", self.name).into())
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.child.try_wait().ok().flatten();
                Err(format!("{} exited ({status:?})", self.name).into())
            }
        }
    }

    /// Waits for `listening on ADDR` and returns ADDR.
    pub fn wait_listening(&mut self, timeout: Duration) -> Res<String> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self.next_line(left)?;
            if let Some(addr) = line.trim().strip_prefix("listening on ") {
                return Ok(addr.to_string());
            }
        }
    }

    /// Writes one line to the child's stdin.
    pub fn send_line(&mut self, line: &str) -> Res<()> {
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        stdin.write_all(line.as_bytes())?;
        stdin.write_all(b"\n")?;
        stdin.flush()?;
        Ok(())
    }
}

impl Drop for ChildProc {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `VmRSS` and `VmHWM` (peak RSS) of a process, in KiB.
pub fn mem_kib(pid: u32) -> Res<(u64, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> Res<u64> {
        let line = s
            .lines()
            .find(|l| l.starts_with(name))
            .ok_or_else(|| format!("{name} missing in /proc/{pid}/status"))?;
        Ok(line
            .split_whitespace()
            .nth(1)
            .ok_or("malformed /proc status")?
            .parse()?)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// CPU time (user + system) a process has used so far, in seconds.
pub fn cpu_seconds(pid: u32) -> Res<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may contain spaces: count fields after its closing ')'.
    let rest = &s[s.rfind(')').ok_or("malformed /proc stat")? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): utime is field 14, stime field 15.
    let utime: f64 = f.get(11).ok_or("short /proc stat")?.parse()?;
    let stime: f64 = f.get(12).ok_or("short /proc stat")?.parse()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Ok((utime + stime) / hz)
}

/// CPU time (ns) the live threads of process `pid` (`None`: this process) have used so far,
/// from each thread's `schedstat`: exact, where `/proc/PID/stat` counts 10 ms ticks. Threads
/// that have exited are not counted: use it around work whose threads outlive it.
pub fn threads_cpu_ns(pid: Option<u32>) -> Res<u64> {
    let dir = match pid {
        Some(p) => format!("/proc/{p}/task"),
        None => "/proc/self/task".to_string(),
    };
    let mut total = 0u64;
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path().join("schedstat");
        // A thread that exited meanwhile has no file any more.
        if let Ok(s) = std::fs::read_to_string(path) {
            total += s
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Ok(total)
}

/// The 1-minute load average.
pub fn load1() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// Pins every thread of process `pid` (`None`: this process) to the CPUs `cpus`, or lets them
/// run anywhere again (`cpus` = `None`). Threads started later inherit their creator's set.
pub fn pin(pid: Option<u32>, cpus: Option<&[usize]>) -> Res<()> {
    let all: Vec<usize> = (0..online_cpus()).collect();
    // SAFETY: cpu_set_t is a plain bit array; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &c in cpus.unwrap_or(&all) {
        // SAFETY: `c` < ncpu ≤ CPU_SETSIZE on the machines this runs on; `set` is valid.
        unsafe { libc::CPU_SET(c, &mut set) };
    }
    let dir = match pid {
        Some(p) => format!("/proc/{p}/task"),
        None => "/proc/self/task".to_string(),
    };
    for entry in std::fs::read_dir(&dir)? {
        let Ok(tid) = entry?.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        // SAFETY: `set` outlives the call and its size is passed; a thread that has exited
        // meanwhile only makes the call fail (ignored).
        unsafe { libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    }
    Ok(())
}

/// CPUs online (not only those this process may run on, as `available_parallelism` reports).
pub fn online_cpus() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).unwrap_or(1).max(1)
}
