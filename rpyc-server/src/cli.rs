//! What the `rpyc-server` and `rpyc-registry` binaries share: the `listening on` line, signal
//! handling, exit codes, host parsing.
//!
//! These helpers exist for the binaries only (each `main.rs` stays a thin clap parser that
//! calls into the library, as in mini-redis). They are `pub` because a binary is a separate
//! crate, and `#[doc(hidden)]` because they are not part of the library's API.

/// Prints `listening on ADDR` (the line scripts and tests wait for), then shuts `server` down
/// on SIGINT/SIGTERM.
pub fn announce_and_stop_on_signal(
    addr: &str,
    server: crate::ShutdownHandle,
) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {addr}")?;
    out.flush()?;
    tokio::spawn(async move {
        wait_for_signal().await;
        server.shutdown();
    });
    Ok(())
}

/// A binary's exit: success, or the error on stderr after the program's name.
pub fn exit_code(program: &str, result: std::io::Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {}", rpyc_core::Printable(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// A host as typed on a command line, without the brackets of an IPv6 literal (`[::1]`).
pub fn unbracket(host: &str) -> &str {
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Waits for SIGINT or SIGTERM (Ctrl-C elsewhere): how the binaries know to shut down.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut i), Ok(mut t)) => {
                tokio::select! {
                    _ = i.recv() => {}
                    _ = t.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unbracket_strips_ipv6_brackets_only() {
        assert_eq!(unbracket("[::1]"), "::1");
        assert_eq!(unbracket("127.0.0.1"), "127.0.0.1");
        assert_eq!(unbracket("localhost"), "localhost");
    }
}
