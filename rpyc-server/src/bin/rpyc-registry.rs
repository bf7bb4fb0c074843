//! The `rpyc-registry` binary: a registry server for service discovery, compatible with
//! Python's `rpyc_registry.py` and its clients.
//!
//! ```text
//! rpyc-registry --mode udp --host 127.0.0.1 --port 18811 --listing
//! ```
//!
//! Prints `listening on HOST:PORT` once bound and serves until SIGINT/SIGTERM.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use rpyc_server::registry::{RegistryServer, DEFAULT_PRUNING_TIMEOUT, REGISTRY_PORT};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mode {
    /// One datagram per request (Python's default).
    Udp,
    /// One short TCP connection per request.
    Tcp,
}

/// What `rpyc-registry --help` opens with: what the binary does, before its options.
const ABOUT: &str = "Serve an RPyC registry (service discovery, over UDP or TCP), compatible with \
                     Python's `rpyc_registry.py` and its clients.";

/// The command line of `rpyc-registry`.
#[derive(Debug, Parser)]
#[command(name = "rpyc-registry", version, about = ABOUT)]
struct Cli {
    /// Transport.
    #[arg(long, value_enum, default_value = "udp")]
    mode: Mode,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to bind.
    #[arg(long, default_value_t = REGISTRY_PORT)]
    port: u16,
    /// Seconds after which a registration that was not refreshed is dropped.
    #[arg(long, default_value_t = DEFAULT_PRUNING_TIMEOUT.as_secs_f64())]
    timeout: f64,
    /// Answer LIST requests.
    #[arg(long)]
    listing: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rpyc-registry: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rpyc_server::cli::exit_code("rpyc-registry", rt.block_on(run(cli)))
}

async fn run(cli: Cli) -> std::io::Result<()> {
    let host = rpyc_server::cli::unbracket(&cli.host);
    let server = match cli.mode {
        Mode::Udp => RegistryServer::bind_udp((host, cli.port)).await?,
        Mode::Tcp => RegistryServer::bind_tcp((host, cli.port)).await?,
    };
    let server = server
        .allow_listing(cli.listing)
        .pruning_timeout(Duration::from_secs_f64(cli.timeout.max(0.0)));
    let addr = server.local_addr();
    rpyc_server::cli::announce_and_stop_on_signal(
        &format!("{}:{}", addr.ip(), addr.port()),
        server.shutdown_handle(),
    )?;
    server.serve().await
}
