//! The `rpyc-registry` binary: a registry server for service discovery, compatible with
//! Python's `rpyc_registry.py` and its clients.
//!
//! ```text
//! rpyc-registry --mode udp --host 127.0.0.1 --port 18811 --listing
//! rpyc-registry --backend etcd://127.0.0.1:2379     # state in etcd (feature `etcd`)
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
    /// Keep registrations in etcd (`etcd://HOST:PORT[,HOST:PORT…]`) instead of this process,
    /// so that several registry processes answer alike (builds with `--features etcd`). The
    /// pruning timeout becomes each registration's lease.
    #[arg(long, value_name = "URL")]
    backend: Option<String>,
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
    let pruning = Duration::from_secs_f64(cli.timeout.max(0.0));
    let server = server.allow_listing(cli.listing).pruning_timeout(pruning);
    let server = match &cli.backend {
        None => server,
        Some(url) => server.store(etcd_store(url, pruning)?),
    };
    let addr = server.local_addr();
    rpyc_server::cli::announce_and_stop_on_signal(
        &format!("{}:{}", addr.ip(), addr.port()),
        server.shutdown_handle(),
    )?;
    server.serve().await
}

/// The `--backend` store.
#[cfg(feature = "etcd")]
fn etcd_store(
    url: &str,
    pruning: Duration,
) -> std::io::Result<std::sync::Arc<dyn rpyc_server::registry::RegistryStore>> {
    use rpyc_server::discovery::etcd::EtcdDiscovery;
    use rpyc_server::registry::{EtcdStore, Limits};
    let rest = url.strip_prefix("etcd://").ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("--backend wants etcd://HOST:PORT[,HOST:PORT…], got {url:?}"),
        )
    })?;
    let etcd = EtcdDiscovery::from_url_rest(rest)?;
    Ok(std::sync::Arc::new(EtcdStore::new(
        etcd,
        pruning,
        Limits::default(),
    )))
}

/// Without the `etcd` feature there is no backend to use: say how to get one.
#[cfg(not(feature = "etcd"))]
fn etcd_store(
    url: &str,
    _pruning: Duration,
) -> std::io::Result<std::sync::Arc<dyn rpyc_server::registry::RegistryStore>> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        format!(
            "--backend {url}: this build has no etcd support; rebuild with `--features etcd` \
             (cargo build -p rpyc-server --features etcd)"
        ),
    ))
}
