//! RPyC over a child process's standard input and output, as Python's
//! `rpyc.utils.factory.connect_subproc` does: the peer is a program we start
//! (`rpyc-server --stdio`, Python's `rpyc_classic.py -m stdio`), not a socket.
//!
//! The child's stdout is the stream we read, its stdin the one we write; its stderr is
//! inherited, so its logs show. The child is ours for the life of the connection: when the
//! connection ends — closed, dropped by every handle, or ended by the child — its stdin is
//! closed, it gets [`EXIT_GRACE`] to exit by itself (an RPyC server exits at end of input),
//! then it is killed; either way it is reaped, never left a zombie.

use std::sync::Arc;
use std::time::Duration;

use rpyc_core::Config;
use tokio::process::Command;

use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::service::{Service, VoidService};

/// How long a child has to exit after its connection ended, before it is killed.
pub const EXIT_GRACE: Duration = Duration::from_secs(2);

/// Starts `cmd` and connects to it over its stdin/stdout, with no service of our own.
///
/// ```no_run
/// # async fn demo() -> rpyc::Result<()> {
/// let mut cmd = std::process::Command::new("rpyc-server");
/// cmd.args(["--stdio", "--service", "calc"]);
/// let conn = rpyc::connect_subprocess(cmd).await?;
/// let sum: i64 = conn.root().await?.call_method("add", (40, 2)).await?.extract()?;
/// assert_eq!(sum, 42);
/// conn.close().await // the child exits and is reaped
/// # }
/// ```
pub async fn connect_subprocess(cmd: impl Into<Command>) -> Result<Connection> {
    connect_subprocess_with(cmd, VoidService, Config::default()).await
}

/// Starts `cmd` and connects to it over its stdin/stdout, serving `service` to it.
///
/// A program that cannot be started is an [`Error::Connect`] naming it. The pipes are local:
/// no compression unless `config` asks for it by `compress_local`.
pub async fn connect_subprocess_with<S: Service>(
    cmd: impl Into<Command>,
    service: S,
    config: Config,
) -> Result<Connection> {
    let mut cmd: Command = cmd.into();
    let program = cmd.as_std().get_program().to_string_lossy().into_owned();
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::connect(program.clone(), e))?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(Error::connect(
            program,
            std::io::Error::other("the child's pipes were not created"),
        ));
    };
    let config = crate::transport::local_peer_config(config, true);
    let conn = Connection::from_parts(stdout, stdin, Arc::new(service), config);
    let ended = conn.end_token();
    tokio::spawn(async move {
        tokio::select! {
            _ = child.wait() => {}
            _ = ended.cancelled() => {
                // Our side is done and the child's stdin closed: it exits at end of input,
                // or is killed once the grace is over. Reaped either way.
                if tokio::time::timeout(EXIT_GRACE, child.wait()).await.is_err() {
                    let _ = child.kill().await;
                }
            }
        }
    });
    Ok(conn)
}
