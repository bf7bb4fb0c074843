//! # rpyc-server — serving RPyC connections
//!
//! A [`Server`] accepts TCP (IPv4/IPv6) or Unix-socket connections and serves each with a
//! [`rpyc_netref::Service`]; the built-in [`services`] (`calc`, `test`) are what the
//! `rpyc-server` binary serves, so any RPyC 6 client can talk to a real server without writing
//! one.
//!
//! ## Layout
//!
//! | module | owns |
//! |---|---|
//! | [`server`] | [`Server`]: listeners, per-connection tasks, connection limit, graceful shutdown |
//! | [`services`] | the built-in `calc` and `test` services |
//! | [`tls`] | TLS acceptors from PEM certificate and key |
//! | [`registry`] | the registry server and client (service discovery, as `rpyc_registry.py`) |
//! | `main.rs`, `bin/rpyc-registry.rs` | the `rpyc-server` and `rpyc-registry` command lines |
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod registry;
pub mod server;
pub mod services;
pub mod tls;

pub use server::{ConnectionCounter, Server, ShutdownHandle};

/// What the binaries share: print `listening on ADDR` (the line scripts and tests wait for),
/// then shut `server` down on SIGINT/SIGTERM.
pub fn announce_and_stop_on_signal(addr: &str, server: ShutdownHandle) -> std::io::Result<()> {
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
            eprintln!("{program}: {e}");
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
