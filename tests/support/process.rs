//! A child process that announces itself with `listening on ADDR` (our binaries, and the
//! Python peers of the tests), killed and reaped when dropped. Shared by the test crates of
//! the workspace: `#[path = ".../tests/support/process.rs"] mod process;`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

/// A child process that prints `listening on ADDR` first; killed when dropped.
pub struct Listening {
    /// The process.
    pub child: Child,
    /// What followed `listening on `.
    pub addr: String,
}

impl Listening {
    /// Runs `cmd` (stdout piped; stderr as the caller set it) and waits for its
    /// `listening on` line.
    pub fn start(mut cmd: Command) -> Listening {
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the process");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Listening { child, addr }
    }

    /// `addr` as a socket address.
    pub fn socket_addr(&self) -> SocketAddr {
        self.addr.parse().unwrap()
    }

    /// The port of `addr`.
    pub fn port(&self) -> u16 {
        self.addr.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Sends a signal (`"KILL"`, `"TERM"`).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig}");
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
